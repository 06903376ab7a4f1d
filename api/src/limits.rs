//! Bounds of the HTTP layer, with their reasons. The core's own bounds are in
//! `lockd_raft::limits`; these stop bad input before it costs a log entry.

/// Largest request body: an appointment at its field maxima is ~6 KiB of JSON.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// A bearer token longer than this is not one of ours.
pub const TOKEN_BYTES_MAX: usize = 4 * 1024;
/// Clock skew tolerated on a token's `exp`, in seconds.
pub const TOKEN_LEEWAY_SECS: u64 = 30;
/// Dev-mode tokens live this long.
pub const DEV_TOKEN_TTL_SECS: u64 = 12 * 60 * 60;
/// Default lease of a lock: the product's 5 minutes of inactivity.
pub const LOCK_TTL_MS_DEFAULT: u64 = 5 * 60 * 1_000;
/// Default lease of a place in a wait queue; the client renews it with heartbeats.
pub const WAITER_TTL_MS_DEFAULT: u64 = 60 * 1_000;
/// Audit records one request returns.
pub const AUDIT_PAGE_MAX: usize = 256;
/// Largest frame a client may send on a WebSocket (pointer and ping messages are tiny).
pub const WS_INBOUND_BYTES_MAX: usize = 4 * 1024;
/// A socket whose client does not take a frame within this is closed.
pub const WS_SEND_TIMEOUT_MS: u64 = 10_000;
