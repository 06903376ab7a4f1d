//! Bounds of the HTTP layer, with their reasons. The core's own bounds are in
//! `lockd_raft::limits`; these stop bad input before it costs a log entry.

/// Largest request body: an appointment at its field maxima is ~6 KiB of JSON.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// A bearer token longer than this is refused. Identity providers' tokens carry roles and
/// groups: 8 KiB holds a token with a hundred or so groups; a directory that puts more in a
/// token should map them to roles first.
pub const TOKEN_BYTES_MAX: usize = 8 * 1024;
/// An unknown `kid` fetches the IdP's key set again at most this often (per node): a
/// rotation is picked up within seconds, a flood of made-up kids costs the IdP nothing.
pub const JWKS_REFETCH_MIN_INTERVAL_MS: u64 = 5_000;
/// The key set is refreshed this often, so a key the IdP withdraws stops verifying.
pub const JWKS_REFRESH_EVERY_MS: u64 = 5 * 60 * 1_000;
/// While the IdP is unreachable its last key set is used this long after its last
/// successful fetch: an IdP outage over a night does not sign everyone out, and a key
/// withdrawn during one is not trusted forever.
pub const JWKS_STALE_MAX_MS: u64 = 24 * 60 * 60 * 1_000;
/// One discovery or key-set request to the IdP may take this long.
pub const JWKS_FETCH_TIMEOUT_MS: u64 = 5_000;
/// A discovery document or key set larger than this is refused.
pub const JWKS_BYTES_MAX: usize = 256 * 1024;
/// Clock skew tolerated on a token's `exp`, in seconds.
pub const TOKEN_LEEWAY_SECS: u64 = 30;
/// Dev-mode tokens live this long.
pub const DEV_TOKEN_TTL_SECS: u64 = 12 * 60 * 60;
/// Default lease of a lock: the product's 5 minutes of inactivity.
pub const LOCK_TTL_MS_DEFAULT: u64 = 5 * 60 * 1_000;
/// Default lease of a place in a wait queue; the client renews it with heartbeats.
pub const WAITER_TTL_MS_DEFAULT: u64 = 60 * 1_000;
/// A node being added must accept a connection on its peer port within this (one that was
/// just started has this long to open it).
pub const MEMBER_PROBE_TIMEOUT_MS: u64 = 5_000;
/// A node being added gets this long to catch up as a learner before it is made a voter; a
/// large log's snapshot over a slow link may need more: then the operator adds it again.
pub const MEMBER_CATCH_UP_MS_MAX: u64 = 60_000;
/// Audit records one request returns.
pub const AUDIT_PAGE_MAX: usize = 256;
/// A client gets this long to send a request's head; a kept-alive connection waiting for its
/// next request is closed after it too (hyper runs one timer for both). Ten seconds is ages
/// for a request head on any network a person edits from, and short enough that half-sent
/// requests cannot pile up.
pub const HTTP_HEADER_READ_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// A request body must arrive within this once its head has (a JSON body is at most
/// `BODY_BYTES_MAX`); a client trickling one is answered 408.
pub const HTTP_BODY_READ_TIMEOUT_MS: u64 = 10_000;
/// HTTP connections a node serves at once (WebSockets leave this count when upgraded; they
/// have their own caps). Each costs a task and buffers; with the systemd unit's 65,536 file
/// descriptors there is room for these, the sockets and the peers.
pub const HTTP_CONNECTIONS_MAX_DEFAULT: usize = 8_192;
/// After a failed `accept` (out of descriptors, most likely), wait this long before the next.
pub const HTTP_ACCEPT_RETRY_MS: u64 = 50;
/// A connection over the cap gets this long to take its 503 answer.
pub const HTTP_REFUSE_WRITE_MS: u64 = 1_000;
/// On shutdown, requests in progress get this long to finish.
pub const HTTP_DRAIN_MS: u64 = 5_000;
/// Open WebSockets of one user on one node: a person with a dozen tabs open (each an
/// appointment's socket, some the list's) stays well within it; 2,000 sockets of one user
/// took a node to 2 GiB before there was a cap.
pub const WS_SOCKETS_PER_USER_MAX_DEFAULT: u32 = 32;
/// Open WebSockets on one node, all users together. Measured at ~40 KiB of memory each
/// (docs/benchmarks.md), 10,000 stay within a few hundred MiB.
pub const WS_SOCKETS_PER_NODE_MAX_DEFAULT: u32 = 10_000;
/// Largest frame a client may send on a WebSocket (pointer and ping messages are tiny).
pub const WS_INBOUND_BYTES_MAX: usize = 4 * 1024;
/// What a socket reads per call. tungstenite zero-fills this much on every read attempt, and
/// a socket's reader is polled on every event the socket is sent: its 128 KiB default made
/// memset a tenth of a node's CPU with 64 sockets in a room, and 8 KiB still 3-4 % of the
/// machine's in the fan-out to 1,000 watchers. Client frames are at most 4 KiB (two reads);
/// pointer and ping frames, nearly all of them, are ~100 bytes.
pub const WS_READ_BUFFER_BYTES: usize = 2 * 1024;
/// A socket whose client does not take a frame within this is closed.
pub const WS_SEND_TIMEOUT_MS: u64 = 10_000;
/// The closing handshake gets this long: our Close frame out, the client's answer in. The
/// socket is ending either way, and a client that neither reads nor answers must not keep its
/// task alive.
pub const WS_CLOSE_HANDSHAKE_MS: u64 = 1_000;

/// A socket sends a protocol ping this often; browsers answer them by themselves.
pub const WS_PING_INTERVAL_MS: u64 = 3_000;
/// A socket whose peer sends nothing, not even a pong, for this long is dropped: its tab is
/// gone (the network lost without a close, a laptop asleep). Three pings unanswered.
pub const WS_SILENCE_MAX_MS: u64 = 10_000;

/// Presence (`presence/`): how often a socket or a peer stream is flushed at most (30 Hz).
pub const PRESENCE_FLUSH_MS: u64 = 33;
/// A node re-sends its whole roster this often, so peers' copies stay fresh.
pub const PRESENCE_REFRESH_MS: u64 = 5_000;
/// A relayed viewer not refreshed within this is dropped (a peer that went silent).
pub const PRESENCE_REMOTE_TTL_MS: u64 = 3 * PRESENCE_REFRESH_MS;
/// A socket that sends nothing (no heartbeat, ping or pointer) for this long is closed: the
/// tab is gone or asleep, and its viewer with it. The web app sends a heartbeat every 20 s.
pub const PRESENCE_IDLE_MS: u64 = 90_000;
/// How often the relay looks at the membership for peers to stream to.
pub const PRESENCE_MEMBERSHIP_POLL_MS: u64 = 1_000;
/// Batches a peer stream may buffer before the sender drops (and coalesces) instead.
pub const PRESENCE_STREAM_BATCHES: usize = 4;
/// Viewers (or departures) in one relay message, and the message's size bound.
pub const PRESENCE_BATCH_VIEWERS_MAX: usize = 256;
pub const PRESENCE_MESSAGE_BYTES_MAX: usize = 256 * 1024;
/// Departed viewers remembered for peers that lag; beyond this a peer gets a full roster.
pub const PRESENCE_GONE_KEPT_MAX: usize = 4_096;
/// Reconnect backoff of a peer stream. The ceiling is short: a peer that is back must get
/// this node's viewers well within the disconnect grace (its holders' tabs may be here), and
/// one connect attempt a second per peer costs nothing. A 5 s ceiling left a restarted peer
/// blind to this node's viewers for up to 5 s (seen as a flaky presence test).
pub const PRESENCE_RECONNECT_MS_MIN: u64 = 200;
pub const PRESENCE_RECONNECT_MS_MAX: u64 = 1_000;
/// A peer stream that lived this long was healthy: its next reconnect starts from the
/// shortest backoff. Several flushes and a refresh fit in it, so a peer that accepts a stream
/// and drops it at once keeps backing off.
pub const PRESENCE_STREAM_HEALTHY_MS: u64 = 5_000;
/// Frames a socket may send per second (pointer at 30 Hz plus heartbeats, with room), and
/// the burst. Frames over it are dropped with an error frame.
pub const WS_FRAMES_PER_SEC: u32 = 40;
pub const WS_FRAMES_BURST: u32 = 80;
/// All of one user's sockets together (several tabs).
pub const WS_USER_FRAMES_PER_SEC: u32 = 120;
pub const WS_USER_FRAMES_BURST: u32 = 240;
/// A socket that has this many frames refused within one flood window is closed (1008).
pub const WS_FLOOD_REFUSED_MAX: u32 = 100;
pub const WS_FLOOD_WINDOW_MS: u64 = 5_000;
/// Default wait after the lock holder's last socket closes before the lock is released
/// with reason `disconnected`. Long enough for an ordinary blip (a phone changing cells, a
/// train tunnel: a 5 s grace cost a typist the lock), a reload, or a reconnect through another
/// node; short enough that a tab really gone frees the lock well before its lease. Closing a
/// tab releases at once anyway (its fenced release on `pagehide`). Viewers are shown that the
/// holder's connection dropped meanwhile.
pub const DISCONNECT_GRACE_MS_DEFAULT: u64 = 20_000;

/// How often the list's socket looks at the viewer counts, and so the longest a count on
/// the list lags.
pub const VIEWER_COUNTS_POLL_MS: u64 = 1_000;
/// How long one count of the viewers serves every reader (list sockets, the list route).
pub const VIEWER_COUNTS_FRESH_MS: u64 = 250;
