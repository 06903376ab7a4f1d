//! Rate limits, per user (the JWT subject) and per socket, checked on the node that
//! receives the input, before anything is forwarded or proposed:
//! - lock attempts (acquire, takeover): over the limit answers 429 `rate_limited` with
//!   `Retry-After`. The same budget is checked again on the leader, which every write of the
//!   cluster passes ([`ClusterLockAttempts`]), so spreading attempts over the nodes does not
//!   multiply it (ADR 22);
//! - WebSocket frames, per socket and per user: over the limit a frame is refused with an
//!   error frame, and a flood closes the socket (`routes/updates.rs`).
//!
//! governor's GCRA runs on the node's injected clock (not its own), so the simulation and
//! tests control time (docs/design.md, pitfall 7).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::RateLimiter;
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use lockd_raft::clock::Clock;

/// A steady rate and a burst on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub per_second: u32,
    pub burst: u32,
}

impl Quota {
    /// Lock attempts: a person clicking "Start editing" or "Request Control" never comes
    /// close; a script hammering the leader does.
    pub const LOCK_ATTEMPTS: Quota = Quota { per_second: 5, burst: 20 };

    fn governor(self) -> governor::Quota {
        let per_second = NonZeroU32::new(self.per_second.max(1)).expect("at least 1");
        let burst = NonZeroU32::new(self.burst.max(1)).expect("at least 1");
        governor::Quota::per_second(per_second).allow_burst(burst)
    }
}

#[derive(Clone)]
struct InjectedClock(Arc<dyn Clock>);

impl GovernorClock for InjectedClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.0.now_ms().saturating_mul(1_000_000))
    }
}

/// Forget users idle this many checks apart, so the table stays bounded.
const SWEEP_EVERY_CHECKS: u64 = 4_096;

/// A limit per user.
pub struct UserLimiter {
    limiter: RateLimiter<String, DefaultKeyedStateStore<String>, InjectedClock, NoOpMiddleware<Nanos>>,
    clock: InjectedClock,
    checks: AtomicU64,
}

impl UserLimiter {
    pub fn new(quota: Quota, clock: Arc<dyn Clock>) -> Self {
        let clock = InjectedClock(clock);
        let limiter = RateLimiter::hashmap_with_clock(quota.governor(), clock.clone());
        UserLimiter { limiter, clock, checks: AtomicU64::new(0) }
    }

    /// `Ok` to go ahead, or how long the user must wait.
    pub fn check(&self, user_id: &str) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY_CHECKS == SWEEP_EVERY_CHECKS - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&user_id.to_owned()).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// The lock-attempt budget of each user across the whole cluster, checked on the leader
/// before a write is proposed (`LockNode::admit_writes_with`). The receiving node's own check
/// stops a flood before it costs a forwarding hop; this one holds the total.
pub struct ClusterLockAttempts {
    limiter: UserLimiter,
}

impl ClusterLockAttempts {
    pub fn new(quota: Quota, clock: Arc<dyn Clock>) -> Self {
        ClusterLockAttempts { limiter: UserLimiter::new(quota, clock) }
    }
}

impl lockd_raft::node::WriteAdmission for ClusterLockAttempts {
    fn admit(&self, op: &lockd_raft::sm::Op) -> Result<(), Duration> {
        match op {
            lockd_raft::sm::Op::Acquire { actor, .. } | lockd_raft::sm::Op::Takeover { actor, .. } => {
                self.limiter.check(&actor.user_id)
            }
            _ => Ok(()),
        }
    }
}

/// A limit for one socket.
pub struct SocketLimiter {
    limiter: RateLimiter<NotKeyed, InMemoryState, InjectedClock, NoOpMiddleware<Nanos>>,
}

impl SocketLimiter {
    pub fn new(quota: Quota, clock: Arc<dyn Clock>) -> Self {
        SocketLimiter { limiter: RateLimiter::direct_with_clock(quota.governor(), InjectedClock(clock)) }
    }

    pub fn allows(&self) -> bool {
        self.limiter.check().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    struct ManualClock(AtomicU64);

    impl Clock for ManualClock {
        fn now_ms(&self) -> u64 {
            self.0.load(Ordering::Relaxed)
        }
    }

    #[test]
    fn a_user_gets_the_burst_then_waits_while_others_are_unaffected() {
        let clock = Arc::new(ManualClock(AtomicU64::new(1_000_000)));
        let limiter = UserLimiter::new(Quota { per_second: 2, burst: 3 }, clock.clone());
        for _ in 0..3 {
            assert!(limiter.check("alice").is_ok());
        }
        let wait = limiter.check("alice").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500), "{wait:?}");
        assert!(limiter.check("bob").is_ok(), "limits are per user");
        clock.0.fetch_add(500, Ordering::Relaxed);
        assert!(limiter.check("alice").is_ok(), "half a second refills one attempt at 2/s");
        assert!(limiter.check("alice").is_err());
    }

    #[test]
    fn a_socket_gets_its_burst_then_its_rate() {
        let clock = Arc::new(ManualClock(AtomicU64::new(1_000_000)));
        let limiter = SocketLimiter::new(Quota { per_second: 10, burst: 5 }, clock.clone());
        assert_eq!((0..8).filter(|_| limiter.allows()).count(), 5, "the burst, then nothing at the same instant");
        clock.0.fetch_add(300, Ordering::Relaxed);
        assert_eq!((0..8).filter(|_| limiter.allows()).count(), 3, "300 ms at 10/s refill three");
    }
}
