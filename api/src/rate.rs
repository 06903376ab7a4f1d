//! Rate limits on lock attempts (acquire, takeover), per user: the JWT subject, checked on the
//! node that receives the request, before anything is forwarded or proposed. A caller over
//! the limit gets 429 `rate_limited` with `Retry-After`.
//!
//! governor's keyed GCRA runs on the node's injected clock (not its own), so the simulation
//! and tests control time (DESIGN pitfall 7).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::middleware::NoOpMiddleware;
use governor::{Quota, RateLimiter};
use lockd_raft::clock::Clock;

/// How many lock attempts a user may make: a steady rate and a burst on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockAttemptQuota {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for LockAttemptQuota {
    /// A person clicking "Start editing" or "Request Control" never comes close; a script
    /// hammering the leader does.
    fn default() -> Self {
        LockAttemptQuota { per_second: 5, burst: 20 }
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

pub struct LockAttemptLimiter {
    limiter: RateLimiter<String, DefaultKeyedStateStore<String>, InjectedClock, NoOpMiddleware<Nanos>>,
    clock: InjectedClock,
    checks: AtomicU64,
}

impl LockAttemptLimiter {
    pub fn new(quota: LockAttemptQuota, clock: Arc<dyn Clock>) -> Self {
        let per_second = NonZeroU32::new(quota.per_second.max(1)).expect("at least 1");
        let burst = NonZeroU32::new(quota.burst.max(1)).expect("at least 1");
        let clock = InjectedClock(clock);
        let limiter = RateLimiter::hashmap_with_clock(Quota::per_second(per_second).allow_burst(burst), clock.clone());
        LockAttemptLimiter { limiter, clock, checks: AtomicU64::new(0) }
    }

    /// `Ok` to go ahead, or how long the user must wait.
    pub fn check(&self, user_id: &str) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY_CHECKS == SWEEP_EVERY_CHECKS - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&user_id.to_owned()).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
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
        let limiter = LockAttemptLimiter::new(LockAttemptQuota { per_second: 2, burst: 3 }, clock.clone());
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
}
