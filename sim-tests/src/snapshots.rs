//! Snapshot builds and installs that take (simulated) time, as they do in the binary.
//!
//! The binary encodes and writes a snapshot on a blocking thread while writers wait at the
//! state's gate (ADR 18): at 100,000 locks `apply` waits ~350 ms while heartbeats, votes,
//! appends and reads go on. Run in place, a build would finish inside one poll and the
//! simulation would never see an entry wait at the gate, an install race a build, or a crash
//! land in the middle of either. Here each job waits a seeded draw of simulated time on a
//! task of its own first, holding whatever its caller holds (the gate, for a build).

use std::sync::Mutex;
use std::time::Duration;

use lockd_raft::store::SnapshotWorker;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Longest simulated time a job waits before it runs: several heartbeats, below the
/// election timeout, like a large state's build in the binary.
pub const JOB_DELAY_MS_MAX: u64 = 300;

/// A [`SnapshotWorker`] whose jobs run after a seeded, simulated delay.
pub struct DelayedJobs {
    draws: Mutex<SmallRng>,
}

impl DelayedJobs {
    pub fn new(seed: u64) -> Self {
        DelayedJobs { draws: Mutex::new(SmallRng::seed_from_u64(seed)) }
    }

    fn next_delay(&self) -> Duration {
        Duration::from_millis(self.draws.lock().expect("not poisoned").random_range(0..=JOB_DELAY_MS_MAX))
    }
}

impl SnapshotWorker for DelayedJobs {
    fn run(&self, job: Box<dyn FnOnce() + Send>) {
        let delay = self.next_delay();
        // On the host's runtime: a crash drops the task with the host, and the job with it,
        // as a crash kills the binary's blocking thread.
        drop(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            job();
        }));
    }
}
