//! The state machine as openraft sees it: the pure [`LockStateMachine`] in memory, its
//! applied log id and membership, and snapshots.
//!
//! Persistence: the state machine reaches disk as a snapshot, written in one atomic put that
//! holds the state, the applied log id and the membership together (`encode_snapshot`).
//! After a restart the node loads the latest snapshot and openraft re-applies the committed
//! log after it; applying is deterministic, so the result is the state before the crash.
//! See `docs/adr/0005-storage.md`.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use tokio::sync::{broadcast, watch};

use crate::codec;
use crate::limits;
use crate::sm::{Command, Event, LockStateMachine, ReleaseReason, Response};
use crate::stages::{Stage, WriteStages};
use crate::types::{LogId, Snapshot, SnapshotData, SnapshotMeta, StoredMembership, TypeConfig};

/// Where snapshots rest. Synchronous: it is called from a [`SnapshotWorker`]'s job.
pub trait SnapshotStore: Send + Sync + 'static {
    /// Replaces the current snapshot, durably, before returning.
    fn save(&self, bytes: &[u8]) -> io::Result<()>;
    fn load(&self) -> io::Result<Option<Vec<u8>>>;
}

/// Where a snapshot is encoded and written. At 100,000 held locks that is most of a second
/// of CPU and a 26 MiB put: run on one of the replica runtime's two threads, with `apply`
/// waiting on the other, it stopped heartbeats and followers called elections (ADR 18).
/// The binary hands the work to a blocking thread ([`BlockingPool`]); unit tests run it
/// where it is asked for ([`Inline`]); the simulation runs it on a task of its own after a
/// seeded, simulated delay, which keeps it deterministic.
pub trait SnapshotWorker: Send + Sync + 'static {
    fn run(&self, job: Box<dyn FnOnce() + Send>);
}

/// Runs a snapshot's work on the calling thread.
pub struct Inline;

impl SnapshotWorker for Inline {
    fn run(&self, job: Box<dyn FnOnce() + Send>) {
        job();
    }
}

/// Runs `job` on `worker` and waits for its answer.
async fn on_worker<T: Send + 'static>(
    worker: &dyn SnapshotWorker,
    job: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    worker.run(Box::new(move || {
        // The waiting task may be gone (openraft shutting down): nobody to tell.
        let _ = answer.send(job());
    }));
    answered.await.map_err(|_| io::Error::other("a snapshot job ended without an answer"))?
}

/// Runs a snapshot's work on the current tokio runtime's blocking threads.
pub struct BlockingPool;

impl SnapshotWorker for BlockingPool {
    fn run(&self, job: Box<dyn FnOnce() + Send>) {
        // The job answers through its own channel; the handle is not needed.
        drop(tokio::task::spawn_blocking(job));
    }
}

/// Sees every entry this replica applies, in order, with its answer, its events and the
/// state after it. The simulation's checker plugs in here; the binary installs none.
pub trait ApplyObserver: Send + Sync + 'static {
    /// `command` is `None` for a blank or membership entry.
    fn applied(
        &self,
        log_id: &LogId,
        command: Option<&Command>,
        response: &Response,
        events: &[Event],
        after: &Applied,
    );
    /// The state was replaced by a snapshot (installed from the leader).
    fn installed(&self, after: &Applied);
}

/// What a watcher of the applied log receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// An event of the entry at `log_index`. Every watcher gets the same `Arc`s: `rendered`
    /// holds the one text rendering that all of this node's sockets send (the API fills it on
    /// first use), so an event watched by 1,000 sockets is cloned and serialised once, not
    /// 1,000 times (a queue of 63 waiters made that most of a node's CPU).
    Event { log_index: u64, event: Arc<Event>, rendered: Arc<std::sync::OnceLock<String>> },
    /// The state was replaced by a snapshot: watchers must re-read the whole state.
    Reset { log_index: u64 },
}

/// The applied state, shared between the apply loop (writer) and readers (HTTP, ticker).
#[derive(Debug, Default)]
pub struct Applied {
    pub sm: LockStateMachine,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
}

impl Applied {
    pub fn applied_index(&self) -> Option<u64> {
        self.last_applied.map(|id| id.index)
    }
}

/// Lock events this replica has applied since it started, by kind (for `/metrics`).
#[derive(Debug, Default)]
pub struct EventCounts {
    pub acquired: AtomicU64,
    pub renewed: AtomicU64,
    pub released: AtomicU64,
    pub released_disconnected: AtomicU64,
    pub expired: AtomicU64,
    pub taken_over: AtomicU64,
    pub moved: AtomicU64,
    pub queue_changed: AtomicU64,
    pub appointment_changed: AtomicU64,
}

impl EventCounts {
    fn count(&self, event: &Event) {
        let counter = match event {
            Event::LockAcquired { .. } => &self.acquired,
            Event::LockRenewed { .. } => &self.renewed,
            Event::LockReleased { reason: ReleaseReason::Released, .. } => &self.released,
            Event::LockReleased { reason: ReleaseReason::Disconnected, .. } => &self.released_disconnected,
            Event::LockExpired { .. } => &self.expired,
            Event::LockTakenOver { .. } => &self.taken_over,
            Event::LockMoved { .. } => &self.moved,
            Event::QueueChanged { .. } => &self.queue_changed,
            Event::AppointmentCreated(_) | Event::AppointmentUpdated(_) => &self.appointment_changed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A handle to the applied state and its change feeds. Cheap to clone.
#[derive(Clone)]
pub struct SharedState {
    applied: Arc<RwLock<Applied>>,
    /// Writers pass this gate (asynchronously) before taking `applied` for writing; a
    /// snapshot being encoded holds it open for reading. So `apply` waits for an encode
    /// without blocking its thread, and readers are never queued behind a blocked writer
    /// (`RwLock` makes new readers wait for a waiting writer). ADR 18.
    writers: Arc<tokio::sync::RwLock<()>>,
    notifications: broadcast::Sender<Notification>,
    applied_index: watch::Sender<Option<u64>>,
    event_counts: Arc<EventCounts>,
    stages: Arc<WriteStages>,
}

impl SharedState {
    fn new(applied: Applied) -> Self {
        let (notifications, _) = broadcast::channel(limits::NOTIFICATIONS_BUFFERED_MAX);
        let (applied_index, _) = watch::channel(applied.applied_index());
        SharedState {
            applied: Arc::new(RwLock::new(applied)),
            writers: Arc::default(),
            notifications,
            applied_index,
            event_counts: Arc::default(),
            stages: Arc::default(),
        }
    }

    pub fn event_counts(&self) -> &EventCounts {
        &self.event_counts
    }

    /// How long each stage of a write takes on this node.
    pub fn stages(&self) -> &Arc<WriteStages> {
        &self.stages
    }

    /// Runs `f` on the applied state. Never hold the view across an await.
    pub fn read<T>(&self, f: impl FnOnce(&Applied) -> T) -> T {
        f(&self.applied.read().expect("apply never panics while holding the lock"))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.notifications.subscribe()
    }

    pub fn watch_applied_index(&self) -> watch::Receiver<Option<u64>> {
        self.applied_index.subscribe()
    }

    // Both sides of the gate are taken without an await when it is free: an await would
    // spend the task's tokio budget and reorder the simulation's schedule.

    async fn write<T>(&self, f: impl FnOnce(&mut Applied) -> T) -> T {
        let _gate = match self.writers.try_write() {
            Ok(gate) => gate,
            Err(_) => self.writers.write().await,
        };
        f(&mut self.applied.write().expect("apply never panics while holding the lock"))
    }

    /// Keeps writers waiting at the gate until the guard is dropped; readers go on.
    async fn hold_writers(&self) -> tokio::sync::OwnedRwLockReadGuard<()> {
        match self.writers.clone().try_read_owned() {
            Ok(gate) => gate,
            Err(_) => self.writers.clone().read_owned().await,
        }
    }

    fn publish(&self, notification: Notification) {
        // No receivers is fine: nobody is watching.
        let _ = self.notifications.send(notification);
    }
}

/// The current snapshot on disk, only ever replaced by a newer one. The builder runs in its
/// own task, concurrently with an install: without this, a slow build of index X could
/// overwrite an installed snapshot of index Y > X whose log is already purged, and the node
/// could not restart.
pub(super) struct SnapshotSlot {
    store: Arc<dyn SnapshotStore>,
    saved: std::sync::Mutex<Saved>,
}

/// Which snapshot the store holds, and its size (the next build reserves about that much).
struct Saved {
    last_log_id: Option<LogId>,
    len_bytes: usize,
}

impl SnapshotSlot {
    /// Writes `bytes` if they are newer than what is saved; answers whether it wrote.
    pub(super) fn save_if_newer(&self, last_log_id: Option<LogId>, bytes: &[u8]) -> io::Result<bool> {
        let mut saved = self.saved.lock().expect("not poisoned");
        if saved.last_log_id.is_some() && last_log_id <= saved.last_log_id {
            return Ok(false);
        }
        self.store.save(bytes)?;
        *saved = Saved { last_log_id, len_bytes: bytes.len() };
        Ok(true)
    }

    /// Room for the next snapshot: the last one's size and an eighth more, for growth since.
    fn capacity_hint_bytes(&self) -> usize {
        let last = self.saved.lock().expect("not poisoned").len_bytes;
        last + last / 8
    }

    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        self.store.load()
    }
}

pub struct StateMachineStore {
    shared: SharedState,
    snapshots: Arc<SnapshotSlot>,
    snapshot_worker: Arc<dyn SnapshotWorker>,
    /// Refuse an entry that does not follow the last applied one. Off only for openraft's
    /// storage conformance suite, which feeds synthetic, non-consecutive entries.
    refuse_gaps: bool,
    observer: Option<Arc<dyn ApplyObserver>>,
    #[cfg(feature = "planted-bugs")]
    planted_local_expiry: Option<Arc<dyn crate::clock::Clock>>,
    #[cfg(feature = "planted-bugs")]
    planted_in_sm: Option<crate::sm::PlantedBug>,
}

impl StateMachineStore {
    /// Opens from the latest snapshot, if any.
    pub fn open(store: Arc<dyn SnapshotStore>) -> io::Result<Self> {
        let (applied, saved_len_bytes) = match store.load()? {
            Some(bytes) => {
                let (meta, sm) = codec::decode_snapshot(&bytes)?;
                (Applied { sm, last_applied: meta.last_log_id, membership: meta.last_membership }, bytes.len())
            }
            None => (Applied { sm: LockStateMachine::new(), ..Default::default() }, 0),
        };
        let saved = Saved { last_log_id: applied.last_applied, len_bytes: saved_len_bytes };
        let snapshots = Arc::new(SnapshotSlot { store, saved: std::sync::Mutex::new(saved) });
        Ok(StateMachineStore {
            shared: SharedState::new(applied),
            snapshots,
            snapshot_worker: Arc::new(Inline),
            refuse_gaps: true,
            observer: None,
            #[cfg(feature = "planted-bugs")]
            planted_local_expiry: None,
            #[cfg(feature = "planted-bugs")]
            planted_in_sm: None,
        })
    }

    #[cfg(test)]
    pub(super) fn allowing_gaps(mut self) -> Self {
        self.refuse_gaps = false;
        self
    }

    /// Buffers `events` notifications for watchers instead of the default; a watcher further
    /// behind re-reads the whole state. Call before anything subscribes.
    pub fn with_event_buffer(mut self, events: usize) -> Self {
        self.shared.notifications = broadcast::channel(events.max(1)).0;
        self
    }

    /// Builds snapshots on `worker` instead of the task openraft runs the build in.
    pub fn building_snapshots_on(mut self, worker: Arc<dyn SnapshotWorker>) -> Self {
        self.snapshot_worker = worker;
        self
    }

    /// Times stages into `stages`, shared with the node's log store.
    pub fn timing_stages_in(mut self, stages: Arc<WriteStages>) -> Self {
        self.shared.stages = stages;
        self
    }

    pub fn observed_by(mut self, observer: Arc<dyn ApplyObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// PLANTED BUG, for the simulation to prove its checker catches it: after each entry,
    /// expire leases by this replica's own clock, outside the log (docs/design.md, invariant 5).
    #[cfg(feature = "planted-bugs")]
    pub fn with_planted_local_expiry(mut self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        self.planted_local_expiry = Some(clock);
        self
    }

    /// PLANTED BUG in the state machine itself (planted before every apply, so a state
    /// restored from a snapshot has it too).
    #[cfg(feature = "planted-bugs")]
    pub fn with_planted_bug(mut self, bug: crate::sm::PlantedBug) -> Self {
        self.planted_in_sm = Some(bug);
        self
    }

    pub fn shared(&self) -> SharedState {
        self.shared.clone()
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok(self.shared.read(|a| (a.last_applied, a.membership.clone())))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let started = Instant::now();
            let log_id = entry.log_id;
            // A gap would apply a command to the wrong state and diverge this replica. (With
            // nothing applied yet, openraft starts wherever the log starts.)
            if self.refuse_gaps
                && let Some(previous) = self.shared.read(Applied::applied_index)
                && log_id.index != previous + 1
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("apply expected log index {}, got {}", previous + 1, log_id.index),
                ));
            }
            let (command, response, events) = self
                .shared
                .write(|applied| {
                    applied.last_applied = Some(log_id);
                    match entry.payload {
                        EntryPayload::Blank => (None, Response::Applied, Vec::new()),
                        EntryPayload::Normal(command) => {
                            #[cfg(feature = "planted-bugs")]
                            applied.sm.plant(self.planted_in_sm);
                            let (response, events) = applied.sm.apply(&command);
                            (Some(command), response, events)
                        }
                        EntryPayload::Membership(membership) => {
                            applied.membership = StoredMembership::new(Some(log_id), membership);
                            (None, Response::Applied, Vec::new())
                        }
                    }
                })
                .await;
            if let Some(observer) = &self.observer {
                self.shared.read(|after| observer.applied(&log_id, command.as_ref(), &response, &events, after));
            }
            #[cfg(feature = "planted-bugs")]
            if let Some(clock) = &self.planted_local_expiry {
                let tick = Command { issued_at_ms: clock.now_ms(), request_id: None, op: crate::sm::Op::Tick };
                self.shared.write(|applied| applied.sm.apply(&tick)).await;
            }
            for event in events {
                self.shared.event_counts.count(&event);
                self.shared.publish(Notification::Event {
                    log_index: log_id.index,
                    event: Arc::new(event),
                    rendered: Arc::default(),
                });
            }
            self.shared.applied_index.send_replace(Some(log_id.index));
            let done = Instant::now();
            self.shared.stages.record(Stage::Apply, done - started);
            self.shared.stages.applied(log_id.index, done);
            // Every responder must be answered, or the proposer waits for nothing.
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            shared: self.shared.clone(),
            snapshots: self.snapshots.clone(),
            worker: self.snapshot_worker.clone(),
        }
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: SnapshotData) -> Result<(), io::Error> {
        let started = std::time::Instant::now();
        let bytes = snapshot.len();
        // Decoding and writing 26 MiB take a second at 100,000 locks: on the worker (ADR 18).
        let (expected, snapshots) = (meta.last_log_id, self.snapshots.clone());
        let sm = on_worker(&*self.snapshot_worker, move || {
            let (decoded_meta, sm) = codec::decode_snapshot(&snapshot)?;
            if decoded_meta.last_log_id != expected {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "snapshot bytes do not match their metadata"));
            }
            snapshots.save_if_newer(expected, &snapshot)?;
            Ok(sm)
        })
        .await?;
        self.shared
            .write(|applied| {
                applied.sm = sm;
                applied.last_applied = meta.last_log_id;
                applied.membership = meta.last_membership.clone();
            })
            .await;
        let log_index = meta.last_log_id.map_or(0, |id| id.index);
        if let Some(observer) = &self.observer {
            self.shared.read(|after| observer.installed(after));
        }
        self.shared.publish(Notification::Reset { log_index });
        self.shared.applied_index.send_replace(meta.last_log_id.map(|id| id.index));
        // A follower that fell behind the leader's kept log: operators should see how often.
        tracing::info!(
            index = log_index,
            bytes,
            install_ms = started.elapsed().as_millis() as u64,
            "installed a snapshot from the leader"
        );
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let Some(bytes) = self.snapshots.load()? else { return Ok(None) };
        let meta = codec::decode_snapshot_meta(&bytes)?;
        Ok(Some(Snapshot { meta, snapshot: bytes }))
    }
}

pub struct SnapshotBuilder {
    shared: SharedState,
    pub(super) snapshots: Arc<SnapshotSlot>,
    worker: Arc<dyn SnapshotWorker>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let started = std::time::Instant::now();
        // Writers wait at the gate from here until the state is encoded; readers do not.
        let gate = self.shared.hold_writers().await;
        let gate_taken = std::time::Instant::now();
        let (shared, snapshots) = (self.shared.clone(), self.snapshots.clone());
        let (meta, bytes, held_up) = on_worker(&*self.worker, move || {
            // Data and metadata from one read of the state (docs/design.md, pitfall 2): the fencing
            // counter in the snapshot belongs to exactly the applied index it is labelled
            // with. Encoding in place under the read lock holds up `apply` for less time than
            // copying the state out did (100,000 locks, each in its own session: 0.45 s
            // against 0.9 s), and the copy doubled the node's memory while it was built.
            let (meta, bytes) = shared.read(|applied| {
                let meta =
                    SnapshotMeta { last_log_id: applied.last_applied, last_membership: applied.membership.clone() };
                let bytes = codec::encode_snapshot(&meta, &applied.sm, snapshots.capacity_hint_bytes());
                (meta, bytes)
            });
            drop(gate);
            let held_up = gate_taken.elapsed();
            // An older build than what is saved is still a valid answer; openraft ignores it.
            snapshots.save_if_newer(meta.last_log_id, &bytes)?;
            Ok((meta, bytes, held_up))
        })
        .await?;
        // Operators (and the benchmark) read how long a snapshot takes at this state's size,
        // and how long writes waited for it.
        let index = meta.last_log_id.map_or(0, |id| id.index);
        tracing::info!(
            index,
            bytes = bytes.len(),
            apply_held_ms = held_up.as_millis() as u64,
            build_ms = started.elapsed().as_millis() as u64,
            "built a snapshot"
        );
        Ok(Snapshot { meta, snapshot: bytes })
    }
}

/// Snapshots in memory: for tests, and for the simulation's model of a disk.
#[derive(Default)]
pub struct MemorySnapshotStore {
    current: std::sync::Mutex<Option<Vec<u8>>>,
}

impl SnapshotStore for MemorySnapshotStore {
    fn save(&self, bytes: &[u8]) -> io::Result<()> {
        *self.current.lock().expect("not poisoned") = Some(bytes.to_vec());
        Ok(())
    }

    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        Ok(self.current.lock().expect("not poisoned").clone())
    }
}
