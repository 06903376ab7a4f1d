//! How long each stage of a client write takes on this node: a count and a sum per stage,
//! read by `/metrics` and by the benchmark's stage breakdown (docs/benchmarks.md), which
//! divides one by the other. Measured on the local monotonic clock; nothing decides by it.
//!
//! A write entered through a follower passes, in order: [`Stage::Forward`] there (its round
//! trip to the leader, which contains the leader's [`Stage::Propose`]); on the leader,
//! [`Stage::LogWrite`] and [`Stage::LogSync`] beside the replication to the followers, then
//! [`Stage::AppendToApply`] (until a quorum has it and it is applied) and [`Stage::Apply`];
//! back on the receiving node, [`Stage::ReadYourWrites`] (until it has applied it too).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Writing an append's entries to RocksDB, without a sync.
    LogWrite,
    /// From handing an append to the WAL syncer until the sync covering it returned (its wait
    /// behind a sync in progress included).
    LogSync,
    /// From an append starting on this node until its last entry is applied here: on the
    /// leader, replication and the quorum; on a follower, also the commit notice.
    AppendToApply,
    /// Applying one entry to the state machine and publishing its events.
    Apply,
    /// On the leader, openraft's `client_write`: from proposing until the answer.
    Propose,
    /// On a follower, one forward attempt: from queueing the write until the leader's answer.
    Forward,
    /// On the receiving node, after the answer: the wait until this node has applied the write.
    ReadYourWrites,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::LogWrite,
        Stage::LogSync,
        Stage::AppendToApply,
        Stage::Apply,
        Stage::Propose,
        Stage::Forward,
        Stage::ReadYourWrites,
    ];

    /// The label `/metrics` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::LogWrite => "log_write",
            Stage::LogSync => "log_sync",
            Stage::AppendToApply => "append_to_apply",
            Stage::Apply => "apply",
            Stage::Propose => "propose",
            Stage::Forward => "forward",
            Stage::ReadYourWrites => "read_your_writes",
        }
    }
}

/// Appends remembered until applied; more (a follower far behind) are dropped unmeasured.
const APPENDS_REMEMBERED_MAX: usize = 1_024;

#[derive(Default)]
struct Tally {
    count: AtomicU64,
    total_ns: AtomicU64,
}

/// One node's stage times, shared by its log store, its state machine and `LockNode`.
#[derive(Default)]
pub struct WriteStages {
    tallies: [Tally; Stage::ALL.len()],
    /// (last index of an append, when it started), oldest first.
    appends: Mutex<VecDeque<(u64, Instant)>>,
}

impl std::fmt::Debug for WriteStages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteStages")
    }
}

impl WriteStages {
    pub fn record(&self, stage: Stage, took: Duration) {
        let tally = &self.tallies[stage as usize];
        tally.count.fetch_add(1, Ordering::Relaxed);
        tally.total_ns.fetch_add(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// How many times `stage` was passed, and the time spent in it altogether.
    pub fn read(&self, stage: Stage) -> (u64, Duration) {
        let tally = &self.tallies[stage as usize];
        (tally.count.load(Ordering::Relaxed), Duration::from_nanos(tally.total_ns.load(Ordering::Relaxed)))
    }

    /// An append of entries up to `last_index` started at `at`.
    pub(crate) fn appending(&self, last_index: u64, at: Instant) {
        let mut appends = self.appends.lock().expect("not poisoned");
        // A truncated and rewritten log appends an index again: the older start is moot.
        while appends.back().is_some_and(|(index, _)| *index >= last_index) {
            appends.pop_back();
        }
        if appends.len() < APPENDS_REMEMBERED_MAX {
            appends.push_back((last_index, at));
        }
    }

    /// Entry `index` was applied at `at`: every append it completes passed `AppendToApply`.
    pub(crate) fn applied(&self, index: u64, at: Instant) {
        let mut appends = self.appends.lock().expect("not poisoned");
        while let Some((last_index, started)) = appends.front().copied()
            && last_index <= index
        {
            appends.pop_front();
            self.record(Stage::AppendToApply, at.saturating_duration_since(started));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_append_is_timed_until_its_last_entry_is_applied() {
        let stages = WriteStages::default();
        let start = Instant::now();
        stages.appending(3, start);
        stages.appending(5, start + Duration::from_millis(1));
        stages.applied(2, start + Duration::from_millis(2));
        assert_eq!(stages.read(Stage::AppendToApply), (0, Duration::ZERO), "entry 3 is not applied yet");
        stages.applied(3, start + Duration::from_millis(4));
        assert_eq!(stages.read(Stage::AppendToApply), (1, Duration::from_millis(4)));
        stages.applied(5, start + Duration::from_millis(7));
        assert_eq!(stages.read(Stage::AppendToApply), (2, Duration::from_millis(10)));
    }

    #[test]
    fn a_rewritten_index_forgets_the_older_append() {
        let stages = WriteStages::default();
        let start = Instant::now();
        stages.appending(4, start);
        // A new leader truncated the log at 3 and this node appends 3..=4 again.
        stages.appending(4, start + Duration::from_millis(5));
        stages.applied(4, start + Duration::from_millis(6));
        assert_eq!(stages.read(Stage::AppendToApply), (1, Duration::from_millis(1)));
    }

    #[test]
    fn stages_sum_what_they_record() {
        let stages = WriteStages::default();
        stages.record(Stage::LogSync, Duration::from_micros(250));
        stages.record(Stage::LogSync, Duration::from_micros(350));
        assert_eq!(stages.read(Stage::LogSync), (2, Duration::from_micros(600)));
        assert_eq!(stages.read(Stage::Apply), (0, Duration::ZERO));
    }
}
