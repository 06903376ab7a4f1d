//! Storage adapters: the Raft log and vote in RocksDB, and the state machine with its
//! snapshots. openraft's storage traits are the seam: the simulation brings its own.

mod log;
mod state;

use std::io;
use std::path::Path;
use std::sync::Arc;

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, FlushOptions, Options, ReadOptions, WriteBatch, WriteOptions,
};

use crate::stages::WriteStages;

pub use log::RocksLogStore;
pub use state::{
    Applied, ApplyObserver, BlockingPool, EventCounts, MemorySnapshotStore, Notification, SharedState, SnapshotStore,
    SnapshotWorker, StateMachineStore,
};

const CF_LOGS: &str = "logs";
const CF_META: &str = "meta";
const CF_SNAPSHOT: &str = "snapshot";
const KEY_SNAPSHOT: &[u8] = b"current";

fn rocks_error(e: rocksdb::Error) -> io::Error {
    io::Error::other(e)
}

/// The most memory RocksDB's write buffers and block cache take, per node. A node's memory
/// is mostly its state machine (ADR 17); RocksDB's defaults (64 MiB write buffers per column
/// family, a 32 MiB block cache each) would cost more than 100,000 held locks do.
const LOG_WRITE_BUFFER_BYTES: usize = 8 << 20;
const SMALL_WRITE_BUFFER_BYTES: usize = 1 << 20;
const BLOCK_CACHE_BYTES: usize = 8 << 20;

/// Opens (or creates) a node's RocksDB under `path`: the log store and the state machine,
/// recovered from what is on disk.
pub fn open_rocks(path: &Path) -> io::Result<(RocksLogStore, StateMachineStore)> {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
    let family = |name: &str, write_buffer_bytes: usize| {
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        let mut options = Options::default();
        options.set_block_based_table_factory(&table);
        options.set_write_buffer_size(write_buffer_bytes);
        options.set_max_write_buffer_number(2);
        ColumnFamilyDescriptor::new(name, options)
    };
    let families = [
        family(CF_LOGS, LOG_WRITE_BUFFER_BYTES),
        family(CF_META, SMALL_WRITE_BUFFER_BYTES),
        family(CF_SNAPSHOT, SMALL_WRITE_BUFFER_BYTES),
    ];
    let db = Arc::new(DB::open_cf_descriptors(&options, path, families).map_err(rocks_error)?);
    let snapshots = Arc::new(RocksSnapshotStore { db: db.clone() });
    let stages = Arc::new(WriteStages::default());
    Ok((RocksLogStore::new(db, stages.clone())?, StateMachineStore::open(snapshots)?.timing_stages_in(stages)))
}

struct RocksSnapshotStore {
    db: Arc<DB>,
}

impl SnapshotStore for RocksSnapshotStore {
    fn save(&self, bytes: &[u8]) -> io::Result<()> {
        let cf = self.db.cf_handle(CF_SNAPSHOT).expect("created at open");
        let mut batch = WriteBatch::default();
        batch.put_cf(cf, KEY_SNAPSHOT, bytes);
        // Not through the write-ahead log, which the Raft log shares: a 26 MiB snapshot there
        // made every append wait for its sync, and every restart read it again (ADR 18). The
        // flush below writes it to a table file and waits until that is durable; a crash
        // before then leaves the previous snapshot on disk, and openraft purges the log
        // behind a snapshot only after this returns.
        let mut unlogged = WriteOptions::default();
        unlogged.disable_wal(true);
        self.db.write_opt(batch, &unlogged).map_err(rocks_error)?;
        // Out of the write buffer at once, also so that it does not stay in memory on top of
        // the state it was taken from.
        let mut durable = FlushOptions::default();
        durable.set_wait(true);
        self.db.flush_cf_opt(cf, &durable).map_err(rocks_error)
    }

    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        let cf = self.db.cf_handle(CF_SNAPSHOT).expect("created at open");
        // Read once per restart or lagging follower: not worth a place in the block cache.
        let mut read = ReadOptions::default();
        read.fill_cache(false);
        self.db.get_cf_opt(cf, KEY_SNAPSHOT, &read).map_err(rocks_error)
    }
}

#[cfg(test)]
mod tests;
