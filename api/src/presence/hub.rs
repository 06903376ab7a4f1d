//! Who is looking at which appointment, and where their pointer is: this node's own viewers
//! (one entry per tab, alive while its sockets are) and the viewers other nodes relay.
//!
//! Everything here is the latest state only. A socket or a peer that wakes up late reads
//! what is current, never a queue of what happened, so a slow reader costs nothing and
//! nothing grows without bound: the hub is the coalescing buffer.
//!
//! A room's messages are rendered once for all its sockets ([`PresenceHub::rendered_view`]):
//! sockets flush on a shared 30 Hz grid ([`PresenceHub::next_flush_at`]), so those that were
//! up to date read the same change and share its texts. Rendering per socket made a room of
//! N viewers cost N × N renders per flush (one user's 2,000 sockets took a node to 2 GiB).
//! Each room has its own lock: sockets of different rooms do not wait for each other.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use lockd_raft::clock::Clock;
use lockd_raft::sm::Actor;
use lockd_raft::types::NodeId;
use tokio::sync::watch;

use crate::limits;

/// A position over the appointment form, each axis normalised to 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pointer {
    pub x: f32,
    pub y: f32,
}

impl Pointer {
    /// Finite and within the form, or why not.
    pub fn checked(x: f64, y: f64) -> Result<Pointer, String> {
        let in_range = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if in_range(x) && in_range(y) {
            Ok(Pointer { x: x as f32, y: y as f32 })
        } else {
            Err("pointer x and y must be numbers from 0 to 1".into())
        }
    }
}

/// One tab viewing one appointment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ViewerKey {
    pub appointment_id: String,
    pub user_id: String,
    pub session_id: String,
}

impl ViewerKey {
    pub fn of(appointment_id: &str, actor: &Actor) -> Self {
        ViewerKey {
            appointment_id: appointment_id.to_owned(),
            user_id: actor.user_id.clone(),
            session_id: actor.session_id.clone(),
        }
    }
}

/// A viewer as sockets and peers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewer {
    pub actor: Actor,
    /// The node the tab is connected to.
    pub node_id: NodeId,
    pub pointer: Option<Pointer>,
    /// The room's sequence number when the pointer last changed.
    pub pointer_seq: u64,
}

/// What changed in one room since a reader's last look.
#[derive(Debug, Default)]
pub struct RoomView {
    /// The whole roster (one entry per tab), when it changed.
    pub roster: Option<Vec<Viewer>>,
    /// Viewers whose pointer moved, appeared or left the form.
    pub pointers: Vec<Viewer>,
    /// The room's sequence number and roster sequence number this view is current to: pass
    /// them back to [`PresenceHub::view`] next time to get only what changed since.
    pub seen_seq: u64,
    pub seen_roster_seq: u64,
}

/// Changes among this node's own viewers, for one peer.
#[derive(Debug, Default, PartialEq)]
pub struct LocalChanges {
    /// The peer may hold entries it should no longer (tombstones were trimmed): replace all.
    pub replace: bool,
    pub viewers: Vec<(String, Viewer)>,
    pub gone: Vec<ViewerKey>,
    /// Pass this back as `since` next time.
    pub upto: u64,
}

struct Local {
    viewer: Viewer,
    sockets: u32,
    /// The hub-wide local sequence number of the last change, for the relay.
    local_seq: u64,
}

struct Remote {
    viewer: Viewer,
    refreshed_at_ms: u64,
}

/// A `pointer` message, rendered once, and whose it is (a socket skips its own tab's).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPointer {
    pub user_id: String,
    pub session_id: String,
    pub text: Arc<str>,
}

/// What changed in one room since a reader's last look, as message texts.
#[derive(Debug, Default)]
pub struct RenderedView {
    /// The `presence` message (the whole roster), when the roster changed.
    pub roster: Option<Arc<str>>,
    /// `pointer` messages of the tabs whose pointer moved, appeared or left the form.
    pub pointers: Arc<[RenderedPointer]>,
    /// Pass back to [`PresenceHub::rendered_view`] next time, as with [`RoomView`].
    pub seen_seq: u64,
    pub seen_roster_seq: u64,
}

/// How a room's messages look on the wire (`routes/updates.rs` owns the format).
pub trait RenderPresence {
    fn roster(&self, appointment_id: &str, viewers: &[&Viewer]) -> String;
    fn pointer(&self, appointment_id: &str, viewer: &Viewer) -> String;
}

/// The texts last rendered for a room, keyed by the sequence numbers they answer for: a
/// newer change has a newer number, so a stale text is never matched.
#[derive(Default)]
struct RenderCache {
    roster: Option<(u64, Arc<str>)>,
    /// Pointers changed after the first number, up to the second.
    pointers: Option<(u64, u64, Arc<[RenderedPointer]>)>,
}

#[derive(Default)]
struct Room {
    local: BTreeMap<(String, String), Local>,
    /// By (user, session, node): the same tab may briefly show up through two nodes while it
    /// reconnects; the roster shows it once.
    remote: BTreeMap<(String, String, NodeId), Remote>,
    seq: u64,
    roster_seq: u64,
    changed: Option<watch::Sender<u64>>,
    rendered: RenderCache,
}

impl Room {
    fn bump(&mut self, roster: bool) -> u64 {
        self.seq += 1;
        if roster {
            self.roster_seq = self.seq;
        }
        if let Some(changed) = &self.changed {
            changed.send_replace(self.seq);
        }
        self.seq
    }

    fn is_idle(&self) -> bool {
        self.local.is_empty() && self.remote.is_empty() && self.changed.as_ref().is_none_or(|c| c.receiver_count() == 0)
    }

    /// One entry per tab: this node's own first, then the freshest relayed one.
    fn viewers(&self) -> Vec<&Viewer> {
        let mut by_tab: BTreeMap<(&str, &str), &Viewer> = BTreeMap::new();
        for ((user, session, _), remote) in &self.remote {
            let slot = by_tab.entry((user, session)).or_insert(&remote.viewer);
            if remote.viewer.pointer_seq > slot.pointer_seq {
                *slot = &remote.viewer;
            }
        }
        for ((user, session), local) in &self.local {
            by_tab.insert((user, session), &local.viewer);
        }
        by_tab.into_values().collect()
    }
}

/// The order of changes to this node's own viewers, for the relay to its peers.
struct LocalLog {
    local_seq: u64,
    /// Local viewers that left, newest last, so peers can be told; trimmed to a bound, after
    /// which a lagging peer gets a full replacement instead.
    gone: VecDeque<(u64, ViewerKey)>,
    /// The oldest `since` that `gone` can still answer exactly.
    gone_floor: u64,
}

type Rooms = BTreeMap<String, Mutex<Room>>;

/// Tabs viewing each appointment someone views, by appointment id.
pub type ViewerCounts = BTreeMap<String, usize>;

/// The presence state of this node, shared by its sockets and its relay.
///
/// Each room has a lock of its own, so sockets of different rooms never wait for each other.
/// The map of rooms is held shared while a room is used, and exclusively only to add or drop
/// a room (so nobody works on a room that is being dropped). Lock order: the map, then a
/// room, then the local log.
pub struct PresenceHub {
    node_id: NodeId,
    clock: Arc<dyn Clock>,
    rooms: RwLock<Rooms>,
    local_log: Mutex<LocalLog>,
    /// The last viewer counts and when (this hub's clock) they were counted: every list
    /// socket of the node reads the same count instead of walking every room itself.
    counts: Mutex<Option<(u64, Arc<ViewerCounts>)>>,
    local_changed: watch::Sender<u64>,
    /// The origin of the flush grid.
    flush_epoch: tokio::time::Instant,
}

impl PresenceHub {
    pub fn new(node_id: NodeId, clock: Arc<dyn Clock>) -> Arc<Self> {
        let (local_changed, _) = watch::channel(0);
        let local_log = LocalLog { local_seq: 0, gone: VecDeque::new(), gone_floor: 0 };
        let flush_epoch = tokio::time::Instant::now();
        Arc::new(PresenceHub {
            node_id,
            clock,
            rooms: RwLock::new(BTreeMap::new()),
            local_log: Mutex::new(local_log),
            counts: Mutex::new(None),
            local_changed,
            flush_epoch,
        })
    }

    /// The first tick of the node's 30 Hz flush grid at or after `earliest`. Sockets that
    /// flush on the same tick read the same change, and share its rendered texts.
    pub fn next_flush_at(&self, earliest: tokio::time::Instant) -> tokio::time::Instant {
        let step_ns = u128::from(limits::PRESENCE_FLUSH_MS) * 1_000_000;
        let since_ns = earliest.saturating_duration_since(self.flush_epoch).as_nanos();
        let ticks = since_ns.div_ceil(step_ns);
        let at_ns = u64::try_from(ticks * step_ns).unwrap_or(u64::MAX);
        self.flush_epoch + std::time::Duration::from_nanos(at_ns)
    }

    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    fn rooms(&self) -> RwLockReadGuard<'_, Rooms> {
        self.rooms.read().expect("presence lock poisoned")
    }

    fn rooms_mut(&self) -> RwLockWriteGuard<'_, Rooms> {
        self.rooms.write().expect("presence lock poisoned")
    }

    fn log(&self) -> MutexGuard<'_, LocalLog> {
        self.local_log.lock().expect("presence lock poisoned")
    }

    /// `f` on the room, if there is one.
    fn in_room<T>(&self, appointment_id: &str, f: impl FnOnce(&mut Room) -> T) -> Option<T> {
        self.in_room_with(appointment_id, f).ok()
    }

    /// `f` on the room, made first if there is none.
    fn in_room_or_new<T>(&self, appointment_id: &str, f: impl FnOnce(&mut Room) -> T) -> T {
        let f = match self.in_room_with(appointment_id, f) {
            Ok(done) => return done,
            Err(f) => f,
        };
        let mut rooms = self.rooms_mut();
        let room = rooms.entry(appointment_id.to_owned()).or_default();
        f(room.get_mut().expect("presence lock poisoned"))
    }

    /// `f` on an existing room, or `f` back.
    fn in_room_with<T, F: FnOnce(&mut Room) -> T>(&self, appointment_id: &str, f: F) -> Result<T, F> {
        let rooms = self.rooms();
        match rooms.get(appointment_id) {
            Some(room) => Ok(f(&mut room.lock().expect("presence lock poisoned"))),
            None => Err(f),
        }
    }

    /// Drops the rooms among `ids` that are idle by the time the map is ours.
    fn drop_if_idle(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let mut rooms = self.rooms_mut();
        for id in ids {
            if rooms.get_mut(id).is_some_and(|room| room.get_mut().expect("presence lock poisoned").is_idle()) {
                rooms.remove(id);
            }
        }
    }

    /// The next number of the local log (taken with the changed room's lock held, so the
    /// relay reads changes in the order they were made).
    fn local_change(&self, log: &mut LocalLog) -> u64 {
        log.local_seq += 1;
        self.local_changed.send_replace(log.local_seq);
        log.local_seq
    }

    /// A socket of `actor`'s tab opened on `appointment_id`. The tab stays present until
    /// every guard of it is dropped.
    pub fn join(self: &Arc<Self>, appointment_id: &str, actor: &Actor) -> ViewerGuard {
        self.in_room_or_new(appointment_id, |room| {
            let local_seq = self.local_change(&mut self.log());
            let tab = (actor.user_id.clone(), actor.session_id.clone());
            match room.local.get_mut(&tab) {
                Some(local) => {
                    local.sockets += 1;
                    local.local_seq = local_seq;
                }
                None => {
                    let viewer = Viewer { actor: actor.clone(), node_id: self.node_id, pointer: None, pointer_seq: 0 };
                    room.local.insert(tab, Local { viewer, sockets: 1, local_seq });
                    room.bump(true);
                }
            }
        });
        ViewerGuard { hub: self.clone(), key: ViewerKey::of(appointment_id, actor) }
    }

    fn leave(&self, key: &ViewerKey) {
        let idle = self.in_room(&key.appointment_id, |room| {
            let tab = (key.user_id.clone(), key.session_id.clone());
            let local = room.local.get_mut(&tab)?;
            local.sockets -= 1;
            if local.sockets > 0 {
                return None;
            }
            room.local.remove(&tab);
            room.bump(true);
            let mut log = self.log();
            let seq = self.local_change(&mut log);
            log.gone.push_back((seq, key.clone()));
            while log.gone.len() > limits::PRESENCE_GONE_KEPT_MAX {
                let (trimmed, _) = log.gone.pop_front().expect("longer than the bound");
                log.gone_floor = trimmed;
            }
            Some(room.is_idle())
        });
        if idle.flatten() == Some(true) {
            self.drop_if_idle(std::slice::from_ref(&key.appointment_id));
        }
    }

    /// The tab's pointer moved (or left the form, `None`). Unknown tabs are ignored.
    pub fn point(&self, key: &ViewerKey, pointer: Option<Pointer>) {
        self.in_room(&key.appointment_id, |room| {
            let tab = (key.user_id.clone(), key.session_id.clone());
            if !room.local.contains_key(&tab) {
                return;
            }
            let local_seq = self.local_change(&mut self.log());
            let seq = room.bump(false);
            let local = room.local.get_mut(&tab).expect("checked above");
            local.viewer.pointer = pointer;
            local.viewer.pointer_seq = seq;
            local.local_seq = local_seq;
        });
    }

    /// Tabs viewing `appointment_id` now (this node's and those peers relay), each once.
    pub fn viewer_count(&self, appointment_id: &str) -> usize {
        self.in_room(appointment_id, |room| room.viewers().len()).unwrap_or(0)
    }

    /// [`Self::viewer_count`] of every room someone is viewing, counted at most once per
    /// `VIEWER_COUNTS_FRESH_MS` for all readers: N list sockets polling cost one walk of the
    /// rooms, not N. Unchanged counts keep the same `Arc`, so a reader compares a pointer.
    pub fn viewer_counts(&self) -> Arc<ViewerCounts> {
        let now_ms = self.clock.now_ms();
        let mut cached = self.counts.lock().expect("presence lock poisoned");
        if let Some((at_ms, counts)) = cached.as_ref()
            && now_ms.saturating_sub(*at_ms) < limits::VIEWER_COUNTS_FRESH_MS
        {
            return counts.clone();
        }
        let fresh: ViewerCounts = self
            .rooms()
            .iter()
            .map(|(id, room)| (id.clone(), room.lock().expect("presence lock poisoned").viewers().len()))
            .filter(|(_, count)| *count > 0)
            .collect();
        let counts = match cached.take() {
            Some((_, same)) if *same == fresh => same,
            _ => Arc::new(fresh),
        };
        *cached = Some((now_ms, counts.clone()));
        counts
    }

    /// Whether the tab has a socket open on any node, as far as this node knows.
    pub fn is_present(&self, key: &ViewerKey) -> bool {
        self.in_room(&key.appointment_id, |room| {
            room.local.contains_key(&(key.user_id.clone(), key.session_id.clone()))
                || room.remote.keys().any(|(user, session, _)| *user == key.user_id && *session == key.session_id)
        })
        .unwrap_or(false)
    }

    /// Wakes with a new sequence number whenever the room changes.
    pub fn watch_room(&self, appointment_id: &str) -> watch::Receiver<u64> {
        self.in_room_or_new(appointment_id, |room| {
            let seq = room.seq;
            room.changed.get_or_insert_with(|| watch::channel(seq).0).subscribe()
        })
    }

    /// What changed in the room since `seen_seq` / `seen_roster_seq` (0, 0 for everything).
    /// `me` is left out of the pointers: a tab does not need its own.
    pub fn view(&self, appointment_id: &str, seen_seq: u64, seen_roster_seq: u64, me: Option<&ViewerKey>) -> RoomView {
        let view = self.in_room(appointment_id, |room| {
            let viewers = room.viewers();
            let is_me =
                |v: &Viewer| me.is_some_and(|k| k.user_id == v.actor.user_id && k.session_id == v.actor.session_id);
            let pointers =
                viewers.iter().filter(|v| v.pointer_seq > seen_seq && !is_me(v)).map(|v| (*v).clone()).collect();
            let roster_changed = room.roster_seq > seen_roster_seq || seen_roster_seq == 0;
            RoomView {
                roster: roster_changed.then(|| viewers.into_iter().cloned().collect()),
                pointers,
                seen_seq: room.seq,
                seen_roster_seq: room.roster_seq,
            }
        });
        view.unwrap_or_else(|| RoomView { roster: (seen_roster_seq == 0).then(Vec::new), ..RoomView::default() })
    }

    /// Like [`Self::view`], rendered: each text is made once per change of the room and
    /// shared by every reader that asks for the same change. A reader's own tab's pointer is
    /// in `pointers`; it skips it by `session_id`.
    pub fn rendered_view(
        &self,
        appointment_id: &str,
        seen_seq: u64,
        seen_roster_seq: u64,
        render: &dyn RenderPresence,
    ) -> RenderedView {
        let view = self.in_room(appointment_id, |room| {
            let (seq, roster_seq) = (room.seq, room.roster_seq);
            let roster_changed = roster_seq > seen_roster_seq || seen_roster_seq == 0;
            let pointers_changed = seq > seen_seq;
            if !roster_changed && !pointers_changed {
                return RenderedView { seen_seq: seq, seen_roster_seq: roster_seq, ..RenderedView::default() };
            }
            let cached_roster =
                room.rendered.roster.as_ref().filter(|(at, _)| *at == roster_seq).map(|(_, text)| text.clone());
            let cached_pointers = room
                .rendered
                .pointers
                .as_ref()
                .filter(|(since, upto, _)| *since == seen_seq && *upto == seq)
                .map(|(.., texts)| texts.clone());
            let roster = match (roster_changed, cached_roster) {
                (false, _) => None,
                (true, Some(text)) => Some(text),
                (true, None) => {
                    let text: Arc<str> = Arc::from(render.roster(appointment_id, &room.viewers()));
                    room.rendered.roster = Some((roster_seq, text.clone()));
                    Some(text)
                }
            };
            let pointers = match (pointers_changed, cached_pointers) {
                (false, _) => Arc::from(Vec::new()),
                (true, Some(texts)) => texts,
                (true, None) => {
                    let texts: Arc<[RenderedPointer]> = room
                        .viewers()
                        .into_iter()
                        .filter(|v| v.pointer_seq > seen_seq)
                        .map(|v| RenderedPointer {
                            user_id: v.actor.user_id.clone(),
                            session_id: v.actor.session_id.clone(),
                            text: Arc::from(render.pointer(appointment_id, v)),
                        })
                        .collect();
                    room.rendered.pointers = Some((seen_seq, seq, texts.clone()));
                    texts
                }
            };
            RenderedView { roster, pointers, seen_seq: seq, seen_roster_seq: roster_seq }
        });
        view.unwrap_or_else(|| {
            let roster = (seen_roster_seq == 0).then(|| Arc::from(render.roster(appointment_id, &[])));
            RenderedView { roster, ..RenderedView::default() }
        })
    }

    /// Wakes whenever one of this node's own viewers changes.
    pub fn watch_local(&self) -> watch::Receiver<u64> {
        self.local_changed.subscribe()
    }

    /// This node's viewers changed since `since` (0: all of them, replacing).
    pub fn local_changes(&self, since: u64) -> LocalChanges {
        self.local_changes_with(since, false)
    }

    /// Like [`Self::local_changes`], but every viewer, changed or not (not replacing), so a
    /// peer's copies are refreshed before they expire.
    pub fn local_refresh(&self, since: u64) -> LocalChanges {
        self.local_changes_with(since, true)
    }

    fn local_changes_with(&self, since: u64, every_viewer: bool) -> LocalChanges {
        // `upto` first: a change numbered after it may show in this batch too (viewers are
        // latest state, so twice is harmless), and is sent again in the next.
        let (upto, gone_floor) = {
            let log = self.log();
            (log.local_seq, log.gone_floor)
        };
        let replace = since == 0 || since < gone_floor;
        let mut viewers = Vec::new();
        for (appointment_id, room) in self.rooms().iter() {
            let room = room.lock().expect("presence lock poisoned");
            for local in room.local.values() {
                if replace || every_viewer || local.local_seq > since {
                    viewers.push((appointment_id.clone(), local.viewer.clone()));
                }
            }
        }
        let gone = if replace {
            Vec::new()
        } else {
            let log = self.log();
            let range = |seq: u64| seq > since && seq <= upto;
            log.gone.iter().filter(|(seq, _)| range(*seq)).map(|(_, key)| key.clone()).collect()
        };
        LocalChanges { replace, viewers, gone, upto }
    }

    /// A peer's batch. `replace` forgets what that peer told before.
    pub fn apply_remote(&self, from: NodeId, replace: bool, viewers: Vec<(String, Viewer)>, gone: &[ViewerKey]) {
        let now_ms = self.clock.now_ms();
        let mut emptied = if replace { self.forget_node_in_rooms(from) } else { Vec::new() };
        for key in gone {
            let idle = self.in_room(&key.appointment_id, |room| {
                if room.remote.remove(&(key.user_id.clone(), key.session_id.clone(), from)).is_some() {
                    room.bump(true);
                }
                room.is_idle()
            });
            if idle == Some(true) {
                emptied.push(key.appointment_id.clone());
            }
        }
        for (appointment_id, mut viewer) in viewers {
            self.in_room_or_new(&appointment_id, |room| {
                let tab = (viewer.actor.user_id.clone(), viewer.actor.session_id.clone(), from);
                viewer.node_id = from;
                match room.remote.get_mut(&tab) {
                    Some(remote) => {
                        remote.refreshed_at_ms = now_ms;
                        let moved = remote.viewer.pointer != viewer.pointer;
                        let renamed = remote.viewer.actor != viewer.actor;
                        let kept_seq = remote.viewer.pointer_seq;
                        if moved || renamed {
                            let seq = room.bump(renamed);
                            viewer.pointer_seq = if moved { seq } else { kept_seq };
                            room.remote.get_mut(&tab).expect("found above").viewer = viewer;
                        }
                    }
                    None => {
                        let seq = room.bump(true);
                        viewer.pointer_seq = if viewer.pointer.is_some() { seq } else { 0 };
                        room.remote.insert(tab, Remote { viewer, refreshed_at_ms: now_ms });
                    }
                }
            });
        }
        self.drop_if_idle(&emptied);
    }

    /// A peer's stream ended: its viewers are gone until it says otherwise.
    pub fn forget_node(&self, from: NodeId) {
        let emptied = self.forget_node_in_rooms(from);
        self.drop_if_idle(&emptied);
    }

    /// Drops relayed viewers not refreshed within the presence TTL, and idle rooms.
    pub fn sweep(&self) {
        let now_ms = self.clock.now_ms();
        let idle = self.each_room(|room| {
            let before = room.remote.len();
            room.remote.retain(|_, r| now_ms.saturating_sub(r.refreshed_at_ms) < limits::PRESENCE_REMOTE_TTL_MS);
            if room.remote.len() != before {
                room.bump(true);
            }
        });
        self.drop_if_idle(&idle);
    }

    /// How many tabs this node holds, own and relayed (for metrics).
    pub fn counts(&self) -> (usize, usize) {
        self.rooms().values().fold((0, 0), |(local, remote), room| {
            let room = room.lock().expect("presence lock poisoned");
            (local + room.local.len(), remote + room.remote.len())
        })
    }

    /// Removes `from`'s viewers from every room; the rooms left idle.
    fn forget_node_in_rooms(&self, from: NodeId) -> Vec<String> {
        self.each_room(|room| {
            let before = room.remote.len();
            room.remote.retain(|(_, _, node), _| *node != from);
            if room.remote.len() != before {
                room.bump(true);
            }
        })
    }

    /// `f` on every room in turn, one room's lock at a time; the rooms idle afterwards.
    fn each_room(&self, mut f: impl FnMut(&mut Room)) -> Vec<String> {
        let mut idle = Vec::new();
        for (id, room) in self.rooms().iter() {
            let mut room = room.lock().expect("presence lock poisoned");
            f(&mut room);
            if room.is_idle() {
                idle.push(id.clone());
            }
        }
        idle
    }
}

/// Keeps a tab present while a socket holds it.
pub struct ViewerGuard {
    hub: Arc<PresenceHub>,
    key: ViewerKey,
}

impl ViewerGuard {
    pub fn key(&self) -> &ViewerKey {
        &self.key
    }
}

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.hub.leave(&self.key);
    }
}

#[cfg(test)]
mod tests;
