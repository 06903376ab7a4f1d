use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;

use super::*;
use crate::types::TypeConfig;

struct RocksBuilder;

impl StoreBuilder<TypeConfig, RocksLogStore, StateMachineStore, tempfile::TempDir> for RocksBuilder {
    async fn build(&self) -> Result<(tempfile::TempDir, RocksLogStore, StateMachineStore), StorageError<TypeConfig>> {
        let dir = tempfile::TempDir::new().map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        let (log, sm) = open_rocks(dir.path()).map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        Ok((dir, log, sm.allowing_gaps()))
    }
}

/// openraft's own storage conformance suite: vote, append, truncate, purge, log state,
/// membership from log and state machine, snapshot build/install/get.
#[test]
fn rocks_stores_pass_the_openraft_storage_suite() {
    TypeConfig::run(async {
        Suite::test_all(RocksBuilder).await.expect("storage suite");
    });
}

fn entry(index: u64) -> crate::types::Entry {
    use openraft::entry::RaftEntry;
    let log_id = crate::types::LogId::new(crate::types::LeaderId { term: 1, node_id: 1 }, index);
    crate::types::Entry::new(log_id, openraft::EntryPayload::Blank)
}

async fn apply_all(sm: &mut StateMachineStore, entries: Vec<crate::types::Entry>) -> std::io::Result<()> {
    use openraft::storage::RaftStateMachine;
    let stream = futures::stream::iter(entries.into_iter().map(|e| Ok((e, None))));
    sm.apply(stream).await
}

/// A hole in what is applied would run a command against the wrong state: refused loudly.
#[test]
fn apply_refuses_a_gap_in_the_log() {
    TypeConfig::run(async {
        let dir = tempfile::TempDir::new().unwrap();
        let (_, mut sm) = open_rocks(dir.path()).unwrap();
        apply_all(&mut sm, vec![entry(0), entry(1)]).await.unwrap();
        let error = apply_all(&mut sm, vec![entry(3)]).await.unwrap_err();
        assert!(error.to_string().contains("expected log index 2"), "{error}");
        assert_eq!(sm.shared().read(Applied::applied_index), Some(1));
    });
}

/// A snapshot built from an older state never replaces a newer one on disk (the builder runs
/// concurrently with installs).
#[test]
fn an_older_snapshot_never_replaces_a_newer_one() {
    use openraft::RaftSnapshotBuilder;
    use openraft::storage::RaftStateMachine;
    TypeConfig::run(async {
        let dir = tempfile::TempDir::new().unwrap();
        let (_, mut sm) = open_rocks(dir.path()).unwrap();
        apply_all(&mut sm, vec![entry(0), entry(1)]).await.unwrap();
        let early_builder = sm.get_snapshot_builder().await;
        apply_all(&mut sm, vec![entry(2), entry(3)]).await.unwrap();
        let newer = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
        assert_eq!(newer.meta.last_log_id.map(|id| id.index), Some(3));

        // Simulate the race: a build that read index 1 finishes after the newer save.
        let stale_state = crate::sm::LockStateMachine::new();
        let stale_meta = crate::types::SnapshotMeta { last_log_id: Some(entry(1).log_id), ..newer.meta.clone() };
        let wrote = early_builder
            .snapshots
            .save_if_newer(stale_meta.last_log_id, &crate::codec::encode_snapshot(&stale_meta, &stale_state, 0))
            .unwrap();
        assert!(!wrote);
        let current = sm.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(current.meta.last_log_id.map(|id| id.index), Some(3));
    });
}

/// A snapshot worker that keeps each job until the test runs it.
#[derive(Default)]
struct HeldJobs(std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>);

impl SnapshotWorker for HeldJobs {
    fn run(&self, job: Box<dyn FnOnce() + Send>) {
        self.0.lock().unwrap().push(job);
    }
}

/// While a snapshot is being built, `apply` waits without blocking its thread (on a
/// one-thread runtime, other tasks still run and readers still read), and the snapshot holds
/// the state from before that apply. At 100,000 locks a blocked apply thread stopped the
/// replica's heartbeats for most of a second (ADR 18).
#[test]
fn apply_waits_for_a_snapshot_being_built_without_blocking_its_thread() {
    use openraft::RaftSnapshotBuilder;
    use openraft::storage::RaftStateMachine;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::TempDir::new().unwrap();
        let held = Arc::new(HeldJobs::default());
        let (_, sm) = open_rocks(dir.path()).unwrap();
        let mut sm = sm.building_snapshots_on(held.clone());
        let shared = sm.shared();
        apply_all(&mut sm, vec![entry(0), entry(1)]).await.unwrap();
        let mut builder = sm.get_snapshot_builder().await;
        let build = tokio::spawn(async move { builder.build_snapshot().await });
        while held.0.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }

        let apply = tokio::spawn(async move { apply_all(&mut sm, vec![entry(2)]).await });
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(!apply.is_finished(), "apply went ahead while the snapshot was being built");
        assert_eq!(shared.read(Applied::applied_index), Some(1), "a reader was blocked or saw a write");

        let job = held.0.lock().unwrap().pop().unwrap();
        std::thread::spawn(job).join().unwrap();
        let snapshot = build.await.unwrap().unwrap();
        assert_eq!(snapshot.meta.last_log_id.map(|id| id.index), Some(1));
        apply.await.unwrap().unwrap();
        assert_eq!(shared.read(Applied::applied_index), Some(2));
    });
}

/// A built snapshot is on disk when the build returns (it bypasses the write-ahead log, so
/// only its flush makes it durable): a copy of the files taken then, as a crash would leave
/// them with the node still running, starts from it.
#[test]
fn a_built_snapshot_is_on_disk_when_the_build_returns() {
    use openraft::RaftSnapshotBuilder;
    use openraft::storage::RaftStateMachine;
    TypeConfig::run(async {
        let dir = tempfile::TempDir::new().unwrap();
        let crashed = tempfile::TempDir::new().unwrap();
        let (_log, mut sm) = open_rocks(dir.path()).unwrap();
        apply_all(&mut sm, vec![entry(0), entry(1), entry(2)]).await.unwrap();
        sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let file = file.unwrap();
            match std::fs::copy(file.path(), crashed.path().join(file.file_name())) {
                // RocksDB may delete an obsolete WAL meanwhile: a crash would not see it either.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                copied => {
                    copied.unwrap();
                }
            }
        }
        let (_, mut reopened) = open_rocks(crashed.path()).unwrap();
        assert_eq!(reopened.shared().read(Applied::applied_index), Some(2));
        let current = reopened.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(current.meta.last_log_id.map(|id| id.index), Some(2));
    });
}
