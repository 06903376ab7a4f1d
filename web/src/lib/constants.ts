// Every rate and timeout of the app, in one place, each with its reason. Durations in
// milliseconds (`_MS`), named with the qualifier last so related ones line up.

/** Pointer moves are sent at most this often (~30 Hz): smooth to the eye, light on the socket. */
export const POINTER_SEND_MS_MIN = 33;
/** A pointer that has not moved for this long fades: its owner is reading, not pointing. */
export const POINTER_IDLE_MS = 5_000;

/** Activity renews the lease at most this often, however long the lease (each renewal is a
 * Raft write). Shorter leases renew more often: see `lib/lease.ts`. */
export const RENEW_INTERVAL_MS_MAX = 30_000;
/** The "Still editing?" prompt opens at most this long before the lease lapses (shorter
 * leases: a quarter of the lease, `lib/lease.ts`). */
export const PROMPT_BEFORE_EXPIRY_MS_MAX = 60_000;
/** The countdown turns red this close to the end. */
export const COUNTDOWN_WARN_MS = 60_000;

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

/** Drafts kept in this browser (`editor/localDrafts.ts`), one per person and appointment:
 * at most this many; a new one beyond it pushes out the oldest. localStorage holds ~5 MB per
 * origin, shared with everything else the app keeps there. */
export const LOCAL_DRAFTS_MAX = 20;
/** One kept draft's JSON, in characters: the form's text and its base at the server's limits
 * (two times 200 + 64 + 64 + 200 + 200 + 5,000, ~11,500) and the envelope, with room to
 * spare. A larger entry is not the app's and is not written. */
export const LOCAL_DRAFT_CHARS_MAX = 16_000;

/** A new appointment's default length: the form starts it at the next whole hour, ending this
 * many minutes later (the person changes both as they need). */
export const NEW_APPOINTMENT_MINUTES = 30;

/** "Editing since … · idle 3 min" is said in whole minutes: read the clock this often. */
export const ACTIVITY_TICK_MS = 15_000;

/** "Recent takeovers" lists this many, newest first (the server gives at most 256). */
export const RECENT_TAKEOVERS_MAX = 50;
