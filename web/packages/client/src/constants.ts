// Every rate and timeout of the client, in one place, each with its reason. Durations in
// milliseconds (`_MS`), named with the qualifier last so related ones line up. An app keeps
// its own (drafts, words, layout) in its own constants.

/** Pointer moves are sent at most this often (~30 Hz): smooth to the eye, light on the socket
 * (the server flushes at most ~30 times a second anyway). */
export const POINTER_SEND_MS_MIN = 33;
/** A pointer that has not moved for this long fades: its owner is reading, not pointing. */
export const POINTER_IDLE_MS = 5_000;

/** Activity renews the lease at most this often, however long the lease (each renewal is a
 * Raft write). Shorter leases renew more often: see `lease.ts`. */
export const RENEW_INTERVAL_MS_MAX = 30_000;
/** The "Still editing?" prompt opens at most this long before the lease lapses (shorter
 * leases: a quarter of the lease, `lease.ts`). */
export const PROMPT_BEFORE_EXPIRY_MS_MAX = 60_000;

/** A queued tab renews its place this often (the server drops a place after 60 s unrenewed). */
export const QUEUE_RENEW_MS = 25_000;

/** The socket's presence heartbeat (the server drops a silent socket after 90 s). */
export const SOCKET_HEARTBEAT_MS = 20_000;
/** The socket's ping: a clock probe, and the proof the connection is alive. A socket can die
 * without closing (a phone leaves the network, a laptop sleeps): */
export const SOCKET_PING_MS = 2_000;
/** ...so one with nothing received this long after a ping is taken for dead and replaced:
 * with the ping interval, a silent loss shows within 5 s. */
export const SOCKET_PING_DEADLINE_MS = 3_000;

/** Reconnect delays start here and double, with jitter, up to the cap (`backoff.ts`): a
 * restarted node is not hit by every tab at once, and no tab waits long once it is back. */
export const RECONNECT_DELAY_MS_BASE = 250;
export const RECONNECT_DELAY_MS_MAX = 8_000;

/** A node that failed (network error, 503) is passed over for this long before it is tried
 * first again, unless every other node fails too (`nodes.ts`). */
export const NODE_RETRY_AFTER_MS = 10_000;
