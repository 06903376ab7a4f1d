//! The Raft log and vote in RocksDB.
//!
//! Durability rule (docs/design.md, pitfall 1): an append is acknowledged (`IOFlushed::io_completed`)
//! only after a sync of the WAL that began after the append's write, and `save_vote`,
//! truncation and purge sync before they return.
//!
//! Group commit (ADR 5): an append writes its batch without a sync, on the calling task, so
//! the entries are readable, and in call order, when `append` returns (openraft's contract);
//! a thread of its own then syncs the WAL and acknowledges every append written before that
//! sync began. openraft's core goes on batching client writes while the disk works, and the
//! appends that queue behind one sync share the next.
//!
//! The newest entries are also kept in memory ([`RecentEntries`]): every entry is read back
//! soon after its append, by each follower's replication on a leader and by apply on every
//! node, and a RocksDB iterator and a decode per read were ~4 % of the cluster's CPU at 64
//! clients. Reads that start before the kept entries go to RocksDB.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use rocksdb::{DB, Direction, IteratorMode, WriteBatch, WriteOptions};

use super::{CF_LOGS, CF_META, rocks_error};
use crate::codec;
use crate::limits;
use crate::stages::{Stage, WriteStages};
use crate::types::{Entry, LogId, TypeConfig, Vote};

const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_LAST_PURGED: &[u8] = b"last_purged";

/// Big-endian, so RocksDB's byte order is index order.
fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

#[derive(Clone)]
pub struct RocksLogStore {
    // Dropped before `db`: the last store stops the syncer (and its handle on the database)
    // before it lets go of its own, so the database closes on the dropping thread.
    syncer: Arc<WalSyncer>,
    db: Arc<DB>,
    recent: Arc<Mutex<RecentEntries>>,
    stages: Arc<WriteStages>,
}

/// The newest entries of the log, contiguous and ending at its last entry (or none). Changed
/// by every append, truncation and purge, under its lock, so a read from it sees the log as
/// it was at one moment (openraft's reads must be atomic).
#[derive(Default)]
struct RecentEntries {
    entries: VecDeque<(Entry, usize)>,
    encoded_bytes: usize,
}

impl RecentEntries {
    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    fn push(&mut self, entry: Entry, encoded_bytes: usize) {
        let follows = self.entries.back().is_none_or(|(last, _)| last.log_id.index + 1 == entry.log_id.index);
        if !follows {
            // openraft truncates before it appends over a conflict; keep the kept entries
            // contiguous regardless.
            self.clear();
        }
        self.encoded_bytes += encoded_bytes;
        self.entries.push_back((entry, encoded_bytes));
        while self.entries.len() > limits::RECENT_LOG_ENTRIES_MAX || self.encoded_bytes > limits::RECENT_LOG_BYTES_MAX {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some((_, bytes)) = self.entries.pop_front() {
            self.encoded_bytes -= bytes;
        }
    }

    /// Keeps only the entries up to `last` (none for `None`).
    fn truncate_after(&mut self, last: Option<u64>) {
        while let Some((entry, bytes)) = self.entries.back() {
            if last.is_some_and(|last| entry.log_id.index <= last) {
                break;
            }
            self.encoded_bytes -= bytes;
            self.entries.pop_back();
        }
    }

    fn purge_up_to(&mut self, index: u64) {
        while self.first_index().is_some_and(|first| first <= index) {
            self.pop_front();
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.encoded_bytes = 0;
    }

    /// The entries of `start..end`, if the kept ones cover its beginning; entries past the
    /// last one are not in the log.
    fn read(&self, start: u64, end: u64) -> Option<Vec<Entry>> {
        let first = self.first_index()?;
        if start < first {
            return None;
        }
        let skip = usize::try_from(start - first).unwrap_or(usize::MAX);
        let wanted = usize::try_from(end.saturating_sub(start)).unwrap_or(usize::MAX);
        Some(self.entries.iter().skip(skip).take(wanted).map(|(e, _)| e.clone()).collect())
    }
}

impl RocksLogStore {
    pub(super) fn new(db: Arc<DB>, stages: Arc<WriteStages>) -> io::Result<Self> {
        let syncer_db = db.clone();
        let syncer = WalSyncer::start(move || syncer_db.flush_wal(true).map_err(rocks_error), stages.clone())?;
        Ok(RocksLogStore { syncer: Arc::new(syncer), db, recent: Arc::default(), stages })
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column families are created at open")
    }

    fn synced() -> WriteOptions {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        options
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, RecentEntries> {
        self.recent.lock().expect("no panic while held")
    }

    fn get_meta(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.db.get_cf(self.cf(CF_META), key).map_err(rocks_error)
    }

    fn last_purged(&self) -> io::Result<Option<LogId>> {
        self.get_meta(KEY_LAST_PURGED)?.map(|b| codec::decode_log_id(&b).map_err(io::Error::from)).transpose()
    }
}

impl RaftLogReader<TypeConfig> for RocksLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(i) => i.saturating_add(1),
            Bound::Excluded(i) => *i,
            Bound::Unbounded => u64::MAX,
        };
        if let Some(entries) = self.recent().read(start, end) {
            return Ok(entries);
        }
        let mut entries = Vec::new();
        let iter = self.db.iterator_cf(self.cf(CF_LOGS), IteratorMode::From(&index_key(start), Direction::Forward));
        for item in iter {
            let (key, value) = item.map_err(rocks_error)?;
            let index = u64::from_be_bytes(key.as_ref().try_into().map_err(|_| io::Error::other("bad log key"))?);
            if !range.contains(&index) {
                break;
            }
            entries.push(codec::decode_entry(&value)?);
        }
        Ok(entries)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.get_meta(KEY_VOTE)?.map(|b| codec::decode_vote(&b).map_err(io::Error::from)).transpose()
    }
}

impl RaftLogStorage<TypeConfig> for RocksLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let last_purged_log_id = self.last_purged()?;
        let last = self.db.iterator_cf(self.cf(CF_LOGS), IteratorMode::End).next().transpose().map_err(rocks_error)?;
        let last_log_id = match last {
            Some((_, value)) => Some(codec::decode_entry(&value)?.log_id),
            None => last_purged_log_id,
        };
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META), KEY_VOTE, codec::encode_vote(vote));
        self.db.write_opt(batch, &Self::synced()).map_err(rocks_error)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Not synced: losing it on a crash only means waiting for the leader to tell us again.
        match committed {
            Some(id) => self.db.put_cf(self.cf(CF_META), KEY_COMMITTED, codec::encode_log_id(&id)),
            None => self.db.delete_cf(self.cf(CF_META), KEY_COMMITTED),
        }
        .map_err(rocks_error)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        self.get_meta(KEY_COMMITTED)?.map(|b| codec::decode_log_id(&b).map_err(io::Error::from)).transpose()
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let started = Instant::now();
        let mut batch = WriteBatch::default();
        let mut written = Vec::new();
        for entry in entries {
            let encoded = codec::encode_entry(&entry);
            batch.put_cf(self.cf(CF_LOGS), index_key(entry.log_id.index), &encoded);
            written.push((entry, encoded.len()));
        }
        // A read meanwhile may miss these entries: allowed until `append` returns.
        if let Err(e) = self.db.write(batch) {
            // openraft stops on a storage error; reads go to RocksDB until then.
            self.recent().clear();
            let e = rocks_error(e);
            callback.io_completed(Err(same_error(&e)));
            return Err(e);
        }
        if let Some((last, _)) = written.last() {
            self.stages.appending(last.log_id.index, started);
        }
        let mut recent = self.recent();
        for (entry, encoded_bytes) in written {
            recent.push(entry, encoded_bytes);
        }
        drop(recent);
        let written_at = Instant::now();
        self.stages.record(Stage::LogWrite, written_at - started);
        // Sent after the write returned, so the sync the syncer starts after receiving it
        // covers the write.
        self.syncer.submit(callback, written_at)
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |id| id.index + 1);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_LOGS), index_key(from), index_key(u64::MAX));
        batch.delete_cf(self.cf(CF_LOGS), index_key(u64::MAX));
        // Memory first. Until the write below, a read that starts before the kept entries
        // still finds the truncated ones in RocksDB (the log before the call), one that
        // starts within them no longer does (the log after it): either is the log at one
        // moment, as openraft requires.
        self.recent().truncate_after(last_log_id.map(|id| id.index));
        self.db.write_opt(batch, &Self::synced()).map_err(rocks_error)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        // The purge mark and the deletion are one atomic write: no reader sees a hole.
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META), KEY_LAST_PURGED, codec::encode_log_id(&log_id));
        batch.delete_range_cf(self.cf(CF_LOGS), index_key(0), index_key(log_id.index + 1));
        self.recent().purge_up_to(log_id.index);
        self.db.write_opt(batch, &Self::synced()).map_err(rocks_error)
    }
}

/// A thread that syncs the WAL for appends written without a sync, and acknowledges them.
struct WalSyncer {
    /// Each append's acknowledgement, with when it was handed over.
    unsynced: Option<mpsc::Sender<(IOFlushed<TypeConfig>, Instant)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalSyncer {
    /// `sync` makes every write that returned before it began durable.
    fn start(sync: impl FnMut() -> io::Result<()> + Send + 'static, stages: Arc<WriteStages>) -> io::Result<Self> {
        let (unsynced, waiting) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("lockd-wal-sync".into())
            .spawn(move || sync_wal(sync, &waiting, &stages))?;
        Ok(WalSyncer { unsynced: Some(unsynced), thread: Some(thread) })
    }

    fn submit(&self, written: IOFlushed<TypeConfig>, at: Instant) -> io::Result<()> {
        let unsynced = self.unsynced.as_ref().expect("taken only on drop");
        unsynced.send((written, at)).map_err(|_| io::Error::other("the WAL syncer stopped"))
    }
}

impl Drop for WalSyncer {
    fn drop(&mut self) {
        // Closing the channel ends the thread after the appends already queued are synced.
        self.unsynced.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the WAL syncer panicked");
        }
    }
}

/// The syncer's loop: waits for an unsynced append, takes every other one already queued,
/// syncs the WAL once and acknowledges them all (or fails them all).
fn sync_wal(
    mut sync: impl FnMut() -> io::Result<()>,
    waiting: &mpsc::Receiver<(IOFlushed<TypeConfig>, Instant)>,
    stages: &WriteStages,
) {
    while let Ok(first) = waiting.recv() {
        let covered: Vec<_> = std::iter::once(first).chain(waiting.try_iter()).collect();
        let synced = sync();
        let done = Instant::now();
        for (callback, handed_over) in covered {
            stages.record(Stage::LogSync, done - handed_over);
            callback.io_completed(synced.as_ref().map_err(same_error).copied());
        }
    }
}

/// One error told to several waiters (`io::Error` does not clone).
fn same_error(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use openraft::type_config::TypeConfigExt;

    use super::*;

    /// A sync the test lets through one at a time, counting how many began.
    fn gated_sync() -> (impl FnMut() -> io::Result<()> + Send + 'static, mpsc::SyncSender<()>, Arc<AtomicUsize>) {
        let (open, gate) = mpsc::sync_channel::<()>(0);
        let began = Arc::new(AtomicUsize::new(0));
        let counter = began.clone();
        let sync = move || {
            counter.fetch_add(1, Ordering::SeqCst);
            gate.recv().map_err(|_| io::Error::other("gate closed"))
        };
        (sync, open, began)
    }

    /// Acknowledged only after a sync that began after the write; appends that queue behind
    /// a sync in progress share the next one.
    #[test]
    fn appends_are_acknowledged_after_a_sync_and_share_it() {
        TypeConfig::run(async {
            let (sync, gate, began) = gated_sync();
            let syncer = WalSyncer::start(sync, Arc::default()).expect("thread");
            // Bound after the syncer, so dropped before it: a failed assertion closes the gate
            // and the syncer's join on drop returns instead of hanging the test.
            let open = gate;
            let (first_tx, mut first) = TypeConfig::oneshot();
            syncer.submit(IOFlushed::signal(first_tx), Instant::now()).expect("running");
            while began.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            let mut queued = Vec::new();
            for _ in 0..3 {
                let (tx, rx) = TypeConfig::oneshot();
                syncer.submit(IOFlushed::signal(tx), Instant::now()).expect("running");
                queued.push(rx);
            }
            assert!(first.try_recv().is_err(), "acknowledged before its sync finished");
            open.send(()).expect("the first sync waits");
            first.await.expect("answered").expect("synced");
            for rx in &mut queued {
                assert!(rx.try_recv().is_err(), "acknowledged by a sync that began before its write");
            }
            open.send(()).expect("the second sync waits");
            for rx in queued {
                rx.await.expect("answered").expect("synced");
            }
            assert_eq!(began.load(Ordering::SeqCst), 2, "three queued appends share one sync");
        });
    }

    fn entry(term: u64, index: u64) -> Entry {
        use openraft::entry::RaftEntry;
        Entry::new(LogId::new(crate::types::LeaderId { term, node_id: 1 }, index), openraft::EntryPayload::Blank)
    }

    /// What `log` returns for `range`, and what RocksDB alone holds for it (a second store on
    /// the same database has nothing in memory).
    async fn both_reads(log: &mut RocksLogStore, range: std::ops::Range<u64>) -> (Vec<LogId>, Vec<LogId>) {
        let mut on_disk = RocksLogStore::new(log.db.clone(), Arc::default()).expect("store");
        let ids = |entries: Vec<Entry>| entries.into_iter().map(|e| e.log_id).collect::<Vec<_>>();
        (
            ids(log.try_get_log_entries(range.clone()).await.expect("read")),
            ids(on_disk.try_get_log_entries(range).await.expect("read")),
        )
    }

    /// The entries kept in memory answer exactly as RocksDB does: across where they begin,
    /// past the log's end, after a truncation and new entries over it, and after a purge.
    #[test]
    fn reads_from_memory_match_rocksdb() {
        TypeConfig::run(async {
            let dir = tempfile::TempDir::new().expect("dir");
            let (mut log, _) = super::super::open_rocks(dir.path()).expect("open");
            for first in (1..=1_500).step_by(100) {
                log.append((first..first + 100).map(|i| entry(1, i)), IOFlushed::noop()).await.expect("append");
            }
            assert_eq!(
                log.recent().first_index(),
                Some(1_501 - limits::RECENT_LOG_ENTRIES_MAX as u64),
                "kept entries are bounded"
            );
            let ranges = [1..1_501, 400..600, 477..1_501, 1_400..2_000, 1_500..1_501, 1_501..1_600, 0..u64::MAX];
            for range in ranges.clone() {
                let (read, on_disk) = both_reads(&mut log, range.clone()).await;
                assert_eq!(read, on_disk, "{range:?}");
                assert_eq!(read.len() as u64, range.end.min(1_501) - range.start.clamp(1, 1_501), "{range:?}");
            }

            log.truncate_after(Some(entry(1, 1_200).log_id)).await.expect("truncate");
            let (read, on_disk) = both_reads(&mut log, 1_150..1_300).await;
            assert_eq!((read.len(), on_disk.len()), (51, 51), "nothing after the truncation is read");
            log.append((1_201..=1_210).map(|i| entry(2, i)), IOFlushed::noop()).await.expect("append");
            let (read, on_disk) = both_reads(&mut log, 1_190..1_300).await;
            assert_eq!(read, on_disk);
            assert_eq!(
                read.iter().map(|id| id.leader_id.term).collect::<Vec<_>>(),
                [[1; 11].as_slice(), &[2; 10]].concat()
            );

            log.purge(entry(1, 1_195).log_id).await.expect("purge");
            for range in [0..u64::MAX, 1_196..1_211, 1_000..1_200] {
                let (read, on_disk) = both_reads(&mut log, range.clone()).await;
                assert_eq!(read, on_disk, "{range:?}");
            }
            assert_eq!(log.recent().first_index(), Some(1_196));
        });
    }

    /// A failed sync fails every append it covered, so openraft stops instead of counting
    /// them as durable.
    #[test]
    fn a_failed_sync_fails_the_appends_it_covered() {
        TypeConfig::run(async {
            let syncer = WalSyncer::start(|| Err(io::Error::other("disk gone")), Arc::default()).expect("thread");
            let (tx, rx) = TypeConfig::oneshot();
            syncer.submit(IOFlushed::signal(tx), Instant::now()).expect("running");
            let error = rx.await.expect("answered").expect_err("not durable");
            assert!(error.to_string().contains("disk gone"), "{error}");
        });
    }
}
