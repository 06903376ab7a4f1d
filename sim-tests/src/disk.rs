//! A simulated disk: the Raft log and vote in memory, where a write becomes durable only when
//! synced, and a crash forgets everything written since the last sync. It lives outside the
//! host, so a crashed and restarted host reopens from what its disk kept.
//!
//! The correct store syncs before it acknowledges (docs/design.md, pitfall 1), like `RocksLogStore`.
//! The planted bug [`SimDisk::plant_ack_before_sync`] acknowledges first.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lockd_raft::store::{MemorySnapshotStore, SnapshotStore};
use lockd_raft::types::{Entry, LogId, TypeConfig, Vote};
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};

/// With the planted bug, only every this many appends is synced.
const PLANTED_SYNC_EVERY_APPENDS: u64 = 8;

#[derive(Debug, Clone, Default)]
struct LogImage {
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
    entries: BTreeMap<u64, Entry>,
}

#[derive(Default)]
pub struct SimDisk {
    /// What the OS has accepted (reads see it) and what survives a crash.
    written: Mutex<LogImage>,
    durable: Mutex<LogImage>,
    snapshots: Arc<MemorySnapshotStore>,
    /// Fault: every sync takes this long (a slow or overloaded disk).
    sync_latency_ms: AtomicU64,
    appends_in_flight: AtomicU64,
    ack_before_sync: AtomicBool,
    appends_since_sync: AtomicU64,
    /// The last appended entry acknowledged to openraft, while it is still in the log: a
    /// restart that does not find it (nor a purge past it) lost an acknowledged write.
    acknowledged: Mutex<Option<LogId>>,
}

/// A restart found less than the disk had acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostAppends {
    pub acknowledged: LogId,
    /// The last entry the disk kept, if any.
    pub kept: Option<LogId>,
}

impl SimDisk {
    pub fn new() -> Arc<Self> {
        Arc::new(SimDisk::default())
    }

    /// The crash: the unsynced part is gone. Called when the host starts again; tells whether
    /// an append the disk had acknowledged is gone with it (the store's durability rule,
    /// checked where it breaks rather than by its consequences).
    pub fn lose_unsynced(&self) -> Option<LostAppends> {
        let durable = self.durable.lock().expect("single-threaded").clone();
        let kept = durable.entries.values().next_back().map(|e| e.log_id);
        let acknowledged = self.acknowledged.lock().expect("single-threaded").take();
        let lost = acknowledged.filter(|ack| {
            let still_there = durable.entries.get(&ack.index).is_some_and(|e| e.log_id == *ack);
            let purged_past = durable.last_purged.is_some_and(|p| p.index >= ack.index);
            !still_there && !purged_past
        });
        *self.written.lock().expect("single-threaded") = durable;
        self.appends_in_flight.store(0, Ordering::Relaxed);
        lost.map(|acknowledged| LostAppends { acknowledged, kept })
    }

    /// Truncated entries from `from` on: the last acknowledged one still in the log is `kept`.
    fn forget_acknowledged_from(&self, from: u64, kept: Option<LogId>) {
        let mut acknowledged = self.acknowledged.lock().expect("single-threaded");
        if acknowledged.is_some_and(|ack| ack.index >= from) {
            *acknowledged = kept;
        }
    }

    fn acknowledge(&self, last: Option<LogId>) {
        if let Some(last) = last {
            *self.acknowledged.lock().expect("single-threaded") = Some(last);
        }
    }

    pub fn snapshots(&self) -> Arc<dyn SnapshotStore> {
        self.snapshots.clone()
    }

    pub fn set_sync_latency(&self, latency: Duration) {
        self.sync_latency_ms.store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// True while an append is written but not yet synced: the moment to crash a leader
    /// "mid-append".
    pub fn append_in_flight(&self) -> bool {
        self.appends_in_flight.load(Ordering::Relaxed) > 0
    }

    /// PLANTED BUG: acknowledge an append before it is synced.
    pub fn plant_ack_before_sync(&self) {
        self.ack_before_sync.store(true, Ordering::Relaxed);
    }

    fn write<T>(&self, f: impl FnOnce(&mut LogImage) -> T) -> T {
        f(&mut self.written.lock().expect("single-threaded"))
    }

    fn read<T>(&self, f: impl FnOnce(&LogImage) -> T) -> T {
        f(&self.written.lock().expect("single-threaded"))
    }

    /// fsync: after the disk's latency, everything written so far is durable.
    async fn sync(&self) {
        let latency_ms = self.sync_latency_ms.load(Ordering::Relaxed);
        if latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(latency_ms)).await;
        }
        let written = self.read(LogImage::clone);
        *self.durable.lock().expect("single-threaded") = written;
    }
}

/// openraft's log store over a [`SimDisk`].
#[derive(Clone)]
pub struct SimLogStore {
    disk: Arc<SimDisk>,
}

impl SimLogStore {
    pub fn new(disk: Arc<SimDisk>) -> Self {
        SimLogStore { disk }
    }
}

impl RaftLogReader<TypeConfig> for SimLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        Ok(self.disk.read(|image| image.entries.range(range).map(|(_, entry)| entry.clone()).collect()))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.disk.read(|image| image.vote))
    }
}

impl RaftLogStorage<TypeConfig> for SimLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        Ok(self.disk.read(|image| {
            let last_log_id = image.entries.values().next_back().map(|e| e.log_id).or(image.last_purged);
            LogState { last_purged_log_id: image.last_purged, last_log_id }
        }))
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.disk.write(|image| image.vote = Some(*vote));
        self.disk.sync().await;
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Like the RocksDB store: not synced, a crash may forget it.
        self.disk.write(|image| image.committed = committed);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.disk.read(|image| image.committed))
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let last = self.disk.write(|image| {
            let mut last = None;
            for entry in entries {
                last = Some(entry.log_id);
                image.entries.insert(entry.log_id.index, entry);
            }
            last
        });
        self.disk.appends_in_flight.fetch_add(1, Ordering::Relaxed);
        if self.disk.ack_before_sync.load(Ordering::Relaxed) {
            // The bug: acknowledge at once and leave the sync to a later call (a lazy
            // "group commit"); a crash before it loses what was acknowledged.
            self.disk.acknowledge(last);
            callback.io_completed(Ok(()));
            if self.disk.appends_since_sync.fetch_add(1, Ordering::Relaxed) + 1 >= PLANTED_SYNC_EVERY_APPENDS {
                self.disk.appends_since_sync.store(0, Ordering::Relaxed);
                self.disk.sync().await;
            }
        } else {
            self.disk.sync().await;
            self.disk.acknowledge(last);
            callback.io_completed(Ok(()));
        }
        self.disk.appends_in_flight.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |id| id.index + 1);
        self.disk.write(|image| image.entries.retain(|index, _| *index < from));
        // Entries removed on purpose (a new leader's log differs) are not lost writes.
        self.disk.forget_acknowledged_from(from, last_log_id);
        self.disk.sync().await;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        self.disk.write(|image| {
            image.last_purged = Some(log_id);
            image.entries.retain(|index, _| *index > log_id.index);
        });
        self.disk.sync().await;
        Ok(())
    }
}
