//! The Raft log and vote in RocksDB.
//!
//! Durability rule (DESIGN pitfall 1): an append is acknowledged (`IOFlushed::io_completed`)
//! only after a synced write of the WAL, and `save_vote` syncs before it returns. The write
//! is synchronous on the calling task, with no helper thread, so its order and timing are
//! the caller's (this matters under simulation).

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

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
    db: Arc<DB>,
}

impl RocksLogStore {
    pub(super) fn new(db: Arc<DB>) -> Self {
        RocksLogStore { db }
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
        let result = self.db.write_opt(batch, &Self::synced()).map_err(rocks_error);
        let acknowledged = match &result {
            Ok(()) => Ok(()),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        callback.io_completed(acknowledged);
        result
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
