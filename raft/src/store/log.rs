//! The Raft log and vote in RocksDB.
//!
//! Durability rule (DESIGN pitfall 1): an append is acknowledged (`IOFlushed::io_completed`)
//! only after a sync of the WAL that began after the append's write, and `save_vote`,
//! truncation and purge sync before they return.
//!
//! Group commit (ADR 5): an append writes its batch without a sync, on the calling task, so
//! the entries are readable, and in call order, when `append` returns (openraft's contract);
//! a thread of its own then syncs the WAL and acknowledges every append written before that
//! sync began. openraft's core goes on batching client writes while the disk works, and the
//! appends that queue behind one sync share the next.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, mpsc};

use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use rocksdb::{DB, Direction, IteratorMode, WriteBatch, WriteOptions};

use super::{CF_LOGS, CF_META, rocks_error};
use crate::codec;
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
}

impl RocksLogStore {
    pub(super) fn new(db: Arc<DB>) -> io::Result<Self> {
        let syncer_db = db.clone();
        let syncer = WalSyncer::start(move || syncer_db.flush_wal(true).map_err(rocks_error))?;
        Ok(RocksLogStore { syncer: Arc::new(syncer), db })
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column families are created at open")
    }

    fn synced() -> WriteOptions {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        options
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
        let mut batch = WriteBatch::default();
        for entry in entries {
            batch.put_cf(self.cf(CF_LOGS), index_key(entry.log_id.index), codec::encode_entry(&entry));
        }
        if let Err(e) = self.db.write(batch) {
            let e = rocks_error(e);
            callback.io_completed(Err(same_error(&e)));
            return Err(e);
        }
        // Sent after the write returned, so the sync the syncer starts after receiving it
        // covers the write.
        self.syncer.submit(callback)
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |id| id.index + 1);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_LOGS), index_key(from), index_key(u64::MAX));
        batch.delete_cf(self.cf(CF_LOGS), index_key(u64::MAX));
        self.db.write_opt(batch, &Self::synced()).map_err(rocks_error)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        // The purge mark and the deletion are one atomic write: no reader sees a hole.
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META), KEY_LAST_PURGED, codec::encode_log_id(&log_id));
        batch.delete_range_cf(self.cf(CF_LOGS), index_key(0), index_key(log_id.index + 1));
        self.db.write_opt(batch, &Self::synced()).map_err(rocks_error)
    }
}

/// A thread that syncs the WAL for appends written without a sync, and acknowledges them.
struct WalSyncer {
    unsynced: Option<mpsc::Sender<IOFlushed<TypeConfig>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalSyncer {
    /// `sync` makes every write that returned before it began durable.
    fn start(sync: impl FnMut() -> io::Result<()> + Send + 'static) -> io::Result<Self> {
        let (unsynced, waiting) = mpsc::channel();
        let thread = std::thread::Builder::new().name("lockd-wal-sync".into()).spawn(move || sync_wal(sync, &waiting))?;
        Ok(WalSyncer { unsynced: Some(unsynced), thread: Some(thread) })
    }

    fn submit(&self, written: IOFlushed<TypeConfig>) -> io::Result<()> {
        let unsynced = self.unsynced.as_ref().expect("taken only on drop");
        unsynced.send(written).map_err(|_| io::Error::other("the WAL syncer stopped"))
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
fn sync_wal(mut sync: impl FnMut() -> io::Result<()>, waiting: &mpsc::Receiver<IOFlushed<TypeConfig>>) {
    while let Ok(first) = waiting.recv() {
        let covered: Vec<_> = std::iter::once(first).chain(waiting.try_iter()).collect();
        let synced = sync();
        for callback in covered {
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
            let syncer = WalSyncer::start(sync).expect("thread");
            // Bound after the syncer, so dropped before it: a failed assertion closes the gate
            // and the syncer's join on drop returns instead of hanging the test.
            let open = gate;
            let (first_tx, mut first) = TypeConfig::oneshot();
            syncer.submit(IOFlushed::signal(first_tx)).expect("running");
            while began.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            let mut queued = Vec::new();
            for _ in 0..3 {
                let (tx, rx) = TypeConfig::oneshot();
                syncer.submit(IOFlushed::signal(tx)).expect("running");
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

    /// A failed sync fails every append it covered, so openraft stops instead of counting
    /// them as durable.
    #[test]
    fn a_failed_sync_fails_the_appends_it_covered() {
        TypeConfig::run(async {
            let syncer = WalSyncer::start(|| Err(io::Error::other("disk gone"))).expect("thread");
            let (tx, rx) = TypeConfig::oneshot();
            syncer.submit(IOFlushed::signal(tx)).expect("running");
            let error = rx.await.expect("answered").expect_err("not durable");
            assert!(error.to_string().contains("disk gone"), "{error}");
        });
    }
}
