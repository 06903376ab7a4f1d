//! Each simulated host's wall clock: simulated time, plus a fixed skew, a drift, and jumps
//! the fault schedule injects. Only a leader's clock reaches the log (ADR 3), so skew and
//! jumps are exactly what the time model must survive.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use lockd_raft::clock::Clock;

/// Simulated time zero on every host's clock, before skew (2027-01-15).
pub const EPOCH_MS: u64 = 1_800_000_000_000;

#[derive(Debug)]
pub struct SimClock {
    /// Fixed skew plus every jump so far, in milliseconds.
    offset_ms: AtomicI64,
    /// Parts per million this clock runs fast (positive) or slow (negative).
    drift_ppm: i64,
}

impl SimClock {
    pub fn new(skew_ms: i64, drift_ppm: i64) -> Arc<Self> {
        Arc::new(SimClock { offset_ms: AtomicI64::new(skew_ms), drift_ppm })
    }

    /// An NTP step or an operator's mistake: the clock jumps by `delta_ms`, either way.
    pub fn jump(&self, delta_ms: i64) {
        self.offset_ms.fetch_add(delta_ms, Ordering::Relaxed);
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// Milliseconds of simulated time since the simulation began (the same on every host).
pub fn sim_elapsed_ms() -> u64 {
    turmoil::sim_elapsed().map_or(0, |d| d.as_millis() as u64)
}

impl SimClock {
    /// What this clock reads when `elapsed_ms` of simulated time have passed (the harness
    /// asks from outside any host, where turmoil has no current time).
    pub fn at(&self, elapsed_ms: u64) -> u64 {
        let elapsed = elapsed_ms as i64;
        let drifted = elapsed + elapsed * self.drift_ppm / 1_000_000;
        (EPOCH_MS as i64 + drifted + self.offset_ms()).max(0) as u64
    }
}

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.at(sim_elapsed_ms())
    }
}
