//! Storage adapters: the Raft log and vote in RocksDB, and the state machine with its
//! snapshots. openraft's storage traits are the seam: the simulation brings its own.

mod log;
mod state;

use std::io;
use std::path::Path;
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

pub use log::RocksLogStore;
pub use state::{
    Applied, ApplyObserver, EventCounts, MemorySnapshotStore, Notification, SharedState, SnapshotStore, StateMachineStore,
};

const CF_LOGS: &str = "logs";
const CF_META: &str = "meta";
const CF_SNAPSHOT: &str = "snapshot";
const KEY_SNAPSHOT: &[u8] = b"current";

fn rocks_error(e: rocksdb::Error) -> io::Error {
    io::Error::other(e)
}

/// Opens (or creates) a node's RocksDB under `path`: the log store and the state machine,
/// recovered from what is on disk.
pub fn open_rocks(path: &Path) -> io::Result<(RocksLogStore, StateMachineStore)> {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    let families = [CF_LOGS, CF_META, CF_SNAPSHOT].map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
    let db = Arc::new(DB::open_cf_descriptors(&options, path, families).map_err(rocks_error)?);
    let snapshots = Arc::new(RocksSnapshotStore { db: db.clone() });
    Ok((RocksLogStore::new(db), StateMachineStore::open(snapshots)?))
}

struct RocksSnapshotStore {
    db: Arc<DB>,
}

impl SnapshotStore for RocksSnapshotStore {
    fn save(&self, bytes: &[u8]) -> io::Result<()> {
        let cf = self.db.cf_handle(CF_SNAPSHOT).expect("created at open");
        let mut batch = WriteBatch::default();
        batch.put_cf(cf, KEY_SNAPSHOT, bytes);
        let mut synced = WriteOptions::default();
        synced.set_sync(true);
        self.db.write_opt(batch, &synced).map_err(rocks_error)
    }

    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        let cf = self.db.cf_handle(CF_SNAPSHOT).expect("created at open");
        self.db.get_cf(cf, KEY_SNAPSHOT).map_err(rocks_error)
    }
}

#[cfg(test)]
mod tests;
