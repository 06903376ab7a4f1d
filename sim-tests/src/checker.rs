//! The oracle. It watches every entry every replica applies (through the store's
//! [`ApplyObserver`] seam) and every answer the simulated users get, and records a violation
//! the moment an invariant of docs/design.md breaks, not only at the end of a run.
//!
//! | invariant (docs/design.md) | checked in |
//! |---|---|
//! | 1 one holder | `Inner::applied`: grant events against each replica's view, view against state |
//! | 2 fencing | `applied`: every grant's token above all earlier ones on that replica; [`Checker::grant_acked`] |
//! | 3 protected writes | `applied`: an accepted update had the holder's token and the expected version |
//! | 4 nothing acknowledged lost | [`Checker::write_acked`], agreement per index, [`Checker::finish`] |
//! | 5 replicas agree, expiry via the log | `applied`: same entry and answer per index; state digests |
//! | 6 liveness | `finish`: a write acknowledged within the bound after the faults heal |
//! | 7 exactly once | `applied`: a request id seen again answers the same |
//! | 8 bounded expiry | `applied`: never before the deadline; [`Checker::leases_overdue`] after healing |
//! | 9 takeover + audit | `applied`: the takeover's entry holds its audit record |
//! | 10 events monotonic | [`Checker::notification`] on each replica's event stream |

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use lockd_raft::sm::{AuditAction, Command, Event, Lock, Op, Rejection, Response};
use lockd_raft::store::{Applied, ApplyObserver, Notification};
use lockd_raft::types::{LogId, NodeId};

/// Compare whole states every this many indexes (and at every snapshot load).
const STATE_DIGEST_EVERY: u64 = 8;

/// Counts for the end-of-run report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub entries_applied: u64,
    pub grants: u64,
    pub takeovers: u64,
    pub updates_accepted: u64,
    pub expiries: u64,
    pub writes_acked: u64,
    pub reads_checked: u64,
    pub state_digests_compared: u64,
}

#[derive(Default)]
pub struct Checker {
    inner: Mutex<Inner>,
    /// `SIM_VERBOSE=1`: print starts and snapshot installs. `SIM_VERBOSE_APPLY=1`: every apply.
    verbose: bool,
}

#[derive(Default)]
struct Inner {
    /// The first replica to apply each index, what it applied, and the digest of that.
    entries: BTreeMap<u64, (u64, NodeId, String)>,
    state_digests: BTreeMap<u64, (u64, NodeId)>,
    replicas: BTreeMap<NodeId, Replica>,
    /// A request (user/session/request id) → where it first applied, what it asked and what it
    /// answered.
    requests: BTreeMap<String, (u64, Op, Response)>,
    /// Fencing token → the session a user was told holds it.
    acked_tokens: BTreeMap<u64, String>,
    /// The largest log index of a write some user has heard back about.
    acked_index_max: u64,
    acked_at_ms: Vec<u64>,
    counts: Counts,
    violations: Vec<String>,
    /// Everything observed, in order: equal for equal seeds when the run is deterministic.
    trace: DefaultHasher,
    verbose_apply: bool,
}

/// What one replica holds, as its applied entries told the checker.
#[derive(Default)]
struct Replica {
    last_index: Option<u64>,
    locks: BTreeMap<String, Lock>,
    versions: BTreeMap<String, u64>,
    next_token: u64,
    /// The last event index its notification stream delivered.
    notified_index: u64,
}

fn digest(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

fn request_key(command: &Command) -> Option<String> {
    let actor = command.op.actor()?;
    Some(format!("{}/{}/{}", actor.user_id, actor.session_id, command.request_id.as_ref()?))
}

impl Replica {
    /// Rebuilds the view from a state loaded whole (start from a snapshot, or an install).
    fn load(&mut self, state: &Applied) {
        self.last_index = state.applied_index();
        self.locks = state.sm.locks().map(|l| (l.appointment_id.clone(), l.clone())).collect();
        self.versions = state.sm.appointments().map(|a| (a.id.clone(), a.version)).collect();
        self.next_token = state.sm.next_fencing_token();
    }
}

impl Checker {
    pub fn new() -> Arc<Self> {
        let inner = Inner { verbose_apply: std::env::var_os("SIM_VERBOSE_APPLY").is_some(), ..Inner::default() };
        Arc::new(Checker { inner: Mutex::new(inner), verbose: std::env::var_os("SIM_VERBOSE").is_some() })
    }

    pub fn observer(self: &Arc<Self>, node: NodeId) -> Arc<dyn ApplyObserver> {
        Arc::new(ReplicaObserver { node, checker: self.clone() })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().expect("the simulation is single-threaded"))
    }

    pub fn violations(&self) -> Vec<String> {
        self.with(|i| i.violations.clone())
    }

    pub fn counts(&self) -> Counts {
        self.with(|i| i.counts)
    }

    pub fn trace_digest(&self) -> u64 {
        self.with(|i| i.trace.finish())
    }

    /// A replica (re)started from what its disk kept.
    /// 4: a node restarted without log entries its disk had acknowledged (and had not removed
    /// on purpose): a write a majority acknowledged may be gone.
    pub fn appends_lost(&self, node: NodeId, lost: crate::disk::LostAppends) {
        self.with(|i| {
            i.violate(format!(
                "node {node} restarted without acknowledged log entries: appends were acknowledged up to {:?}, \
                 its disk kept up to {:?}",
                lost.acknowledged, lost.kept
            ))
        });
    }

    pub fn started(&self, node: NodeId, state: &Applied) {
        if self.verbose {
            eprintln!("node {node} starts at index {:?}", state.applied_index());
        }
        self.with(|i| {
            let replica = i.replicas.entry(node).or_default();
            replica.load(state);
            replica.notified_index = 0;
            i.compare_state(node, state);
        });
    }

    fn installed(&self, node: NodeId, state: &Applied) {
        if self.verbose {
            eprintln!("node {node} installs a snapshot at index {:?}", state.applied_index());
        }
        self.with(|i| {
            i.replicas.entry(node).or_default().load(state);
            i.compare_state(node, state);
        });
    }

    /// A notification a replica's event stream delivered (what a WebSocket would send).
    pub fn notification(&self, node: NodeId, notification: &Notification) {
        self.with(|i| {
            let replica = i.replicas.entry(node).or_default();
            let index = match notification {
                Notification::Event { log_index, .. } | Notification::Reset { log_index } => *log_index,
            };
            if index < replica.notified_index {
                let last = replica.notified_index;
                i.violate(format!("node {node}: event stream went back from index {last} to {index}"));
            } else {
                replica.notified_index = index;
            }
        });
    }

    /// A user heard that the write `key` succeeded (or was decided) at simulated time `at_ms`.
    pub fn write_acked(&self, key: &str, at_ms: u64) {
        self.with(|i| {
            i.counts.writes_acked += 1;
            i.acked_at_ms.push(at_ms);
            match i.requests.get(key) {
                Some((index, ..)) => i.acked_index_max = i.acked_index_max.max(*index),
                None => i.violate(format!("request {key} was acknowledged but no replica applied it")),
            }
        });
    }

    /// A user was told it holds `token`.
    pub fn grant_acked(&self, session_key: &str, token: u64) {
        self.with(|i| match i.acked_tokens.get(&token) {
            Some(other) if other != session_key => {
                let other = other.clone();
                i.violate(format!("fencing token {token} was granted to both {other} and {session_key}"))
            }
            _ => {
                i.acked_tokens.insert(token, session_key.to_owned());
            }
        });
    }

    /// The least index a linearizable read that starts now must reflect.
    pub fn read_floor(&self) -> u64 {
        self.with(|i| i.acked_index_max)
    }

    pub fn read_answered(&self, floor: u64, applied_index: u64, node: &str) {
        self.with(|i| {
            i.counts.reads_checked += 1;
            if applied_index < floor {
                i.violate(format!("stale read on {node}: applied index {applied_index}, but index {floor} was acknowledged before the read began"));
            }
        });
    }

    /// After healing: leases the leader's clock says are overdue by more than `bound_ms`,
    /// counting from their deadline or from when this leader took office, whichever is later.
    pub fn leases_overdue(
        &self,
        node: NodeId,
        state: &Applied,
        cluster_now_ms: u64,
        took_office_ms: u64,
        bound_ms: u64,
    ) {
        let overdue: Vec<String> = state
            .sm
            .locks()
            .filter(|l| l.expires_at_ms.max(took_office_ms).saturating_add(bound_ms) < cluster_now_ms)
            .map(|l| {
                format!(
                    "{} (token {}, due {} ms ago)",
                    l.appointment_id,
                    l.fencing_token,
                    cluster_now_ms - l.expires_at_ms
                )
            })
            .collect();
        if !overdue.is_empty() {
            self.with(|i| {
                i.violate(format!("node {node}: leases outlived their bound of {bound_ms} ms: {}", overdue.join(", ")))
            });
        }
    }

    /// End of run: the replicas' final states, and when the faults healed.
    pub fn finish(&self, finals: &[(NodeId, Option<u64>, u64)], healed_at_ms: u64, liveness_bound_ms: u64) {
        self.with(|i| {
            if !i.acked_at_ms.iter().any(|&at| at >= healed_at_ms && at <= healed_at_ms + liveness_bound_ms) {
                i.violate(format!(
                    "liveness: no write was acknowledged within {liveness_bound_ms} ms after the faults healed"
                ));
            }
            let indexes: Vec<Option<u64>> = finals.iter().map(|(_, index, _)| *index).collect();
            let digests: Vec<u64> = finals.iter().map(|(_, _, d)| *d).collect();
            if indexes.windows(2).any(|w| w[0] != w[1]) || digests.windows(2).any(|w| w[0] != w[1]) {
                i.violate(format!("replicas did not converge after healing: applied indexes {indexes:?}"));
            }
            let last = indexes.iter().flatten().min().copied().unwrap_or(0);
            if i.acked_index_max > last {
                let max = i.acked_index_max;
                i.violate(format!(
                    "acknowledged index {max} is beyond the final applied index {last}: an acknowledged write was lost"
                ));
            }
        });
    }
}

impl Inner {
    fn violate(&mut self, message: String) {
        if self.violations.len() < 20 {
            self.violations.push(message);
        }
    }

    fn compare_state(&mut self, node: NodeId, state: &Applied) {
        let Some(index) = state.applied_index() else { return };
        let state_digest = digest(&format!("{:?}", state.sm.to_parts()));
        self.counts.state_digests_compared += 1;
        match self.state_digests.get(&index) {
            Some((other, first)) if *other != state_digest => {
                let first = *first;
                self.violate(format!("node {node} and node {first} hold different states at index {index}"));
            }
            Some(_) => {}
            None => {
                self.state_digests.insert(index, (state_digest, node));
            }
        }
    }

    fn applied(
        &mut self,
        node: NodeId,
        log_id: &LogId,
        command: Option<&Command>,
        response: &Response,
        events: &[Event],
        after: &Applied,
    ) {
        let index = log_id.index;
        self.counts.entries_applied += 1;
        if self.verbose_apply {
            let version = |id: &str| after.sm.appointment(id).map(|a| a.version);
            eprintln!("node {node} applies {log_id}: {command:?} -> {response:?}; a0 now v{:?}", version("a0"));
        }
        let description = match command {
            Some(command) => format!("{command} -> {response:?}"),
            None => "blank or membership".to_owned(),
        };
        let entry_digest = digest(&format!("{log_id:?}|{command:?}|{response:?}|{events:?}"));
        (node, index, entry_digest).hash(&mut self.trace);

        // 5: every replica applies the same entry, with the same answer, at each index.
        match self.entries.get(&index) {
            Some((other, first, first_description)) if *other != entry_digest => {
                let message = format!(
                    "replicas disagree at index {index}: node {first} applied [{first_description}], node {node} applied [{description}]"
                );
                self.violate(message);
            }
            Some(_) => {}
            None => {
                self.entries.insert(index, (entry_digest, node, description));
            }
        }

        let mut problems = Vec::new();
        let replica = self.replicas.entry(node).or_default();
        if let Some(last) = replica.last_index
            && index != last + 1
        {
            problems.push(format!("node {node} applied index {index} after {last}"));
        }
        replica.last_index = Some(index);

        // A request applied before at another index is a retry the state machine answers from
        // its memory (exactly once); its answer is checked below, not its effect here.
        let key = command.and_then(request_key);
        let replay = key.as_ref().and_then(|k| self.requests.get(k)).is_some_and(|(first, ..)| *first != index);

        // 3: an accepted update carried the current holder's token and the expected version.
        if !replay
            && let Some(Command {
                op: Op::UpdateAppointment { actor, appointment_id, fencing_token, expected_version, .. },
                ..
            }) = command
            && let Response::AppointmentSaved(saved) = response
        {
            self.counts.updates_accepted += 1;
            // Leases due at this entry's time lapse before the update is looked at.
            let holder = replica.locks.get(appointment_id).filter(|l| l.expires_at_ms > after.sm.now_ms());
            match holder {
                Some(lock) if lock.fencing_token == *fencing_token && lock.holder.same_session(actor) => {}
                other => problems.push(format!(
                    "index {index}: update of {appointment_id} with token {fencing_token} accepted while the lock is {:?}",
                    other.map(|l| (l.fencing_token, &l.holder.user_id))
                )),
            }
            let version = replica.versions.get(appointment_id).copied();
            if version != Some(*expected_version) || saved.version != expected_version + 1 {
                problems.push(format!(
                    "node {node} index {index}: update of {appointment_id} expected version {expected_version}, found {version:?}, saved {}",
                    saved.version
                ));
            }
        }

        // 1, 2, 8: replay the lock events against this replica's view.
        for event in events {
            match event {
                Event::LockAcquired { lock } => {
                    if let Some(current) = replica.locks.get(&lock.appointment_id) {
                        problems.push(format!(
                            "index {index}: {} granted to {} (token {}) while {} holds it (token {})",
                            lock.appointment_id,
                            lock.holder.user_id,
                            lock.fencing_token,
                            current.holder.user_id,
                            current.fencing_token
                        ));
                    }
                    self.counts.grants += 1;
                    check_token(&mut problems, replica, index, lock);
                    replica.locks.insert(lock.appointment_id.clone(), lock.clone());
                }
                Event::LockTakenOver { lock, previous, .. } | Event::LockMoved { lock, previous } => {
                    if replica.locks.get(&lock.appointment_id).map(|l| l.fencing_token) != Some(previous.fencing_token)
                    {
                        problems.push(format!(
                            "index {index}: takeover of {} from a grant this replica does not hold",
                            lock.appointment_id
                        ));
                    }
                    if let Event::LockMoved { .. } = event
                        && lock.holder.user_id != previous.holder.user_id
                    {
                        problems.push(format!(
                            "index {index}: {} moved from {} to another person, {}",
                            lock.appointment_id, previous.holder.user_id, lock.holder.user_id
                        ));
                    }
                    self.counts.takeovers += 1;
                    check_token(&mut problems, replica, index, lock);
                    replica.locks.insert(lock.appointment_id.clone(), lock.clone());
                }
                Event::LockRenewed { lock } => match replica.locks.get(&lock.appointment_id) {
                    Some(current) if current.fencing_token == lock.fencing_token => {
                        replica.locks.insert(lock.appointment_id.clone(), lock.clone());
                    }
                    _ => problems
                        .push(format!("index {index}: renewal of token {} that is not the grant", lock.fencing_token)),
                },
                Event::LockReleased { previous, .. } | Event::LockExpired { previous } => {
                    if replica.locks.get(&previous.appointment_id).map(|l| l.fencing_token)
                        != Some(previous.fencing_token)
                    {
                        problems.push(format!(
                            "index {index}: {} ended a grant (token {}) it did not hold",
                            previous.appointment_id, previous.fencing_token
                        ));
                    }
                    if matches!(event, Event::LockExpired { .. }) {
                        self.counts.expiries += 1;
                        if after.sm.now_ms() < previous.expires_at_ms {
                            problems.push(format!(
                                "index {index}: token {} expired {} ms before its deadline in cluster time",
                                previous.fencing_token,
                                previous.expires_at_ms - after.sm.now_ms()
                            ));
                        }
                    }
                    replica.locks.remove(&previous.appointment_id);
                }
                Event::AppointmentCreated(appointment) | Event::AppointmentUpdated(appointment) => {
                    replica.versions.insert(appointment.id.clone(), appointment.version);
                }
                Event::QueueChanged { .. } => {}
            }
        }

        // The view the events built must be the state the replica holds.
        if let Some(id) = command.and_then(|c| c.op.appointment_id()) {
            let held = after.sm.lock(id).map(|l| l.fencing_token);
            let viewed = replica.locks.get(id).map(|l| l.fencing_token);
            if held != viewed {
                problems.push(format!(
                    "node {node} index {index}: {id} is held by token {held:?} but its events say {viewed:?}"
                ));
            }
        }
        for lock in after.sm.locks() {
            if replica.locks.get(&lock.appointment_id).map(|l| l.fencing_token) != Some(lock.fencing_token) {
                problems.push(format!(
                    "node {node} index {index}: {} holds token {} that no applied event granted",
                    lock.appointment_id, lock.fencing_token
                ));
            }
        }
        if replica.locks.len() != after.sm.locks().count() {
            problems.push(format!("node {node} index {index}: a lock vanished without an event"));
        }

        // 9: a takeover's audit record is in the same entry.
        if let Some(Command { op: Op::Takeover { appointment_id, .. }, .. }) = command
            && let Response::Granted { lock, renewed: false } = response
            && events.iter().any(|e| matches!(e, Event::LockTakenOver { .. }))
        {
            let audited = after
                .sm
                .audit(appointment_id)
                .any(|r| r.action == AuditAction::TakenOver && r.fencing_token == Some(lock.fencing_token));
            if !audited {
                problems.push(format!(
                    "index {index}: takeover of {appointment_id} (token {}) has no audit record",
                    lock.fencing_token
                ));
            }
        }

        // 7: a request id answers the same wherever and however often the same request is
        // applied; reused for another request, it is refused, never answered as the first.
        if let (Some(key), Some(command)) = (key, command) {
            match self.requests.get(&key) {
                Some((first_index, first_op, first_response)) if *first_op == command.op => {
                    if first_response != response {
                        problems.push(format!(
                            "request {key} applied again at index {index} with a different answer than at {first_index}: {first_response:?} then {response:?}"
                        ));
                    }
                }
                Some((first_index, first_op, _)) => {
                    if *response != Response::Rejected(Rejection::IdempotencyKeyReused) {
                        problems.push(format!(
                            "request {key} reused at index {index} for another operation than at {first_index} \
                             ({first_op:?} then {:?}) was answered {response:?}",
                            command.op
                        ));
                    }
                }
                None => {
                    self.requests.insert(key, (index, command.op.clone(), response.clone()));
                }
            }
        }

        for problem in problems {
            self.violate(problem);
        }
        if index.is_multiple_of(STATE_DIGEST_EVERY) {
            self.compare_state(node, after);
        }
    }
}

fn check_token(problems: &mut Vec<String>, replica: &mut Replica, index: u64, lock: &Lock) {
    if lock.fencing_token < replica.next_token {
        problems.push(format!(
            "index {index}: token {} granted after token {} (tokens must strictly increase)",
            lock.fencing_token,
            replica.next_token - 1
        ));
    }
    replica.next_token = replica.next_token.max(lock.fencing_token + 1);
}

struct ReplicaObserver {
    node: NodeId,
    checker: Arc<Checker>,
}

impl ApplyObserver for ReplicaObserver {
    fn applied(
        &self,
        log_id: &LogId,
        command: Option<&Command>,
        response: &Response,
        events: &[Event],
        after: &Applied,
    ) {
        self.checker.with(|i| i.applied(self.node, log_id, command, response, events, after));
    }

    fn installed(&self, after: &Applied) {
        self.checker.installed(self.node, after);
    }
}
