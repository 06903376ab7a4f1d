//! Every bound of the replicated core, in one place, with the reason for its size.
//!
//! The state machine enforces these itself (not only the HTTP layer): a command that
//! reaches the log from any path is checked against the same numbers on every replica.
//! Changing one is a protocol change: replicas applying the same log must agree.

/// Shortest lease a client may ask for. Below this a lock would lapse between two
/// renewals of a healthy client on a slow network.
pub const LOCK_TTL_MS_MIN: u64 = 1_000;
/// Longest lease a client may ask for: the product's "5 minutes without activity".
pub const LOCK_TTL_MS_MAX: u64 = 5 * 60 * 1_000;
/// Shortest and longest lease of a place in a wait queue.
pub const WAITER_TTL_MS_MIN: u64 = 1_000;
pub const WAITER_TTL_MS_MAX: u64 = 10 * 60 * 1_000;
/// How long a waiter handed the lock has to confirm it (or the lease, if shorter) before it
/// passes on: long enough to come back to a tab after a notification, short enough that the
/// next person does not wait a whole lease behind a tab nobody is looking at.
pub const CLAIM_WINDOW_MS: u64 = 60 * 1_000;

/// Appointments whose leases one applied entry lapses at most. A tick after a long pause
/// (a leader elected after minutes without one) could otherwise lapse every held lock in a
/// single apply, holding up the entries behind it; what is left stays due, and the leader
/// appends the next tick at once (its deadline has passed).
pub const EXPIRIES_PER_ENTRY_MAX: usize = 1_024;

/// Waiters per appointment. A queue longer than this is not a queue people wait in.
pub const QUEUE_LEN_MAX: usize = 64;
/// Appointments the cluster holds. Bounds snapshot size (~1 KiB each at the field maxima
/// below gives a few hundred MiB worst case).
pub const APPOINTMENTS_MAX: usize = 100_000;
/// Audit records kept per appointment; the oldest is dropped past this.
pub const AUDIT_RECORDS_PER_APPOINTMENT_MAX: usize = 256;
/// Drafts kept per appointment (one per user); the oldest is dropped past this.
pub const DRAFTS_PER_APPOINTMENT_MAX: usize = 32;

/// Request ids remembered per client session for exactly-once retries. A client retries
/// one request at a time, so a short window is enough.
pub const REQUESTS_REMEMBERED_PER_SESSION: usize = 16;
/// Sessions remembered at once; the least recently seen is forgotten past this.
pub const SESSIONS_MAX: usize = 100_000;
/// A session unseen for this long is forgotten, and a retry after that applies again.
/// Far longer than any client retry loop (seconds).
pub const SESSION_IDLE_MS: u64 = 60 * 60 * 1_000;

/// Field bounds, in characters (not bytes).
pub const ID_CHARS_MAX: usize = 64;
pub const TITLE_CHARS_MAX: usize = 200;
pub const SHORT_FIELD_CHARS_MAX: usize = 200;
pub const NOTES_CHARS_MAX: usize = 5_000;
pub const NAME_CHARS_MAX: usize = 100;
pub const EMAIL_CHARS_MAX: usize = 254;
pub const REASON_CHARS_MAX: usize = 500;
pub const REQUEST_ID_CHARS_MAX: usize = 64;
/// A draft's start or end as the person typed it (an RFC 3339 time is 20–35 characters).
pub const DRAFT_TIME_CHARS_MAX: usize = 64;

/// Applied-log notifications buffered for watchers (WebSocket streams). A watcher that falls
/// further behind is told it lagged and re-reads the whole state instead of seeing a gap.
pub const NOTIFICATIONS_BUFFERED_MAX: usize = 4_096;

/// Largest gRPC message between peers: a snapshot is sent whole (openraft's
/// `RaftNetworkV2::full_snapshot`), and an append batch is at most a few hundred entries.
pub const RAFT_MESSAGE_BYTES_MAX: usize = 512 * 1024 * 1024;
/// HTTP/2 pings on peer connections. A connection whose peer stops answering (a partition,
/// a frozen host) is closed after the timeout, and the next RPC dials a new one, instead of
/// waiting on a dead connection for the operating system's TCP timeout (minutes).
pub const PEER_KEEPALIVE_INTERVAL_MS: u64 = 1_000;
pub const PEER_KEEPALIVE_TIMEOUT_MS: u64 = 2_000;
/// A peer connection must finish its TLS handshake within this (loopback or a LAN: a few ms).
pub const PEER_TLS_HANDSHAKE_MS: u64 = 5_000;
/// The longest wait for a follower to append a batch of entries (a heartbeat keeps openraft's
/// shorter limit). Below the keepalive timeout, so a stalled follower is retried before its
/// connection is given up.
pub const APPEND_ENTRIES_TIMEOUT_MS: u64 = 1_000;
/// How long a client write may take end to end, forwarding and leader changes included,
/// before the caller is told there is no leader. A few election timeouts.
pub const SUBMIT_TIMEOUT_MS: u64 = 10_000;
/// How long a node that forwarded a write waits to apply it itself before answering
/// (read-your-writes). The write is committed whatever happens; a node that lags this far is
/// partitioned or overloaded, and its caller is better answered than kept waiting.
pub const READ_YOUR_WRITES_WAIT_MS_MAX: u64 = 1_000;
/// The longest a follower may take to receive and install one snapshot chunk. Snapshots are
/// sent whole (up to `RAFT_MESSAGE_BYTES_MAX`); 60 s covers hundreds of MiB on a slow link,
/// and a stalled transfer is retried after it rather than holding the follower back for ever.
pub const INSTALL_SNAPSHOT_TIMEOUT_MS: u64 = 60_000;
/// One attempt to forward a write to the leader.
pub const FORWARD_ATTEMPT_TIMEOUT_MS: u64 = 3_000;
/// Forwarded writes (`network::forward`): at most this many in one batch, a batch closed once
/// it holds this many bytes, this many batches in flight to the leader, and this many writes
/// waiting for a batch (a writer beyond that waits for room, within its attempt's time).
pub const FORWARD_BATCH_MAX: usize = 256;
pub const FORWARD_BATCH_BYTES_MAX: usize = 1024 * 1024;
pub const FORWARD_BATCHES_IN_FLIGHT: usize = 2;
pub const FORWARD_QUEUE_MAX: usize = 4_096;

/// The newest log entries a node keeps in memory besides RocksDB, for replication and apply,
/// which read entries moments after they are appended (`store::log`): at most this many,
/// and at most this many bytes encoded (a few times that in memory).
pub const RECENT_LOG_ENTRIES_MAX: usize = 1_024;
pub const RECENT_LOG_BYTES_MAX: usize = 1024 * 1024;
/// Retry pause after a failed attempt, doubling up to the maximum.
pub const SUBMIT_BACKOFF_MS_MIN: u64 = 20;
pub const SUBMIT_BACKOFF_MS_MAX: u64 = 500;
/// The ticker re-checks leadership and deadlines at least this often.
pub const TICKER_WAIT_MS_MAX: u64 = 1_000;
