use std::sync::atomic::{AtomicU64, Ordering};

use lockd_raft::sm::Role;

use super::*;

struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

fn actor(user: &str, session: &str) -> Actor {
    Actor {
        user_id: user.into(),
        session_id: session.into(),
        name: format!("User {user}"),
        email: format!("{user}@example.com"),
        role: Role::User,
    }
}

fn hub(node: NodeId) -> (Arc<PresenceHub>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(AtomicU64::new(1_000_000)));
    (PresenceHub::new(node, clock.clone()), clock)
}

fn tabs(view: &RoomView) -> Vec<(String, String, NodeId)> {
    let roster = view.roster.as_ref().expect("a roster");
    roster.iter().map(|v| (v.actor.user_id.clone(), v.actor.session_id.clone(), v.node_id)).collect()
}

fn at(x: f32, y: f32) -> Option<Pointer> {
    Some(Pointer { x, y })
}

#[test]
fn a_tab_is_present_while_any_of_its_sockets_is_open() {
    let (hub, _) = hub(1);
    let first = hub.join("a1", &actor("alice", "t1"));
    let second = hub.join("a1", &actor("alice", "t1"));
    let key = first.key().clone();
    assert_eq!(tabs(&hub.view("a1", 0, 0, None)), vec![("alice".into(), "t1".into(), 1)]);
    drop(first);
    assert!(hub.is_present(&key), "the second socket keeps the tab");
    drop(second);
    assert!(!hub.is_present(&key));
    assert_eq!(tabs(&hub.view("a1", 0, 0, None)), vec![]);
}

#[test]
fn a_reader_sees_only_the_latest_pointer_of_each_other_tab() {
    let (hub, _) = hub(1);
    let alice = hub.join("a1", &actor("alice", "t1"));
    let bob = hub.join("a1", &actor("bob", "t2"));
    let first = hub.view("a1", 0, 0, Some(bob.key()));
    for step in 1..=10 {
        hub.point(alice.key(), at(step as f32 / 10.0, 0.5));
    }
    let view = hub.view("a1", first.seen_seq, first.seen_roster_seq, Some(bob.key()));
    assert!(view.roster.is_none(), "nobody came or went");
    assert_eq!(view.pointers.len(), 1, "ten moves coalesce into one");
    assert_eq!(view.pointers[0].pointer, at(1.0, 0.5));
    hub.point(bob.key(), at(0.2, 0.2));
    let own = hub.view("a1", view.seen_seq, view.seen_roster_seq, Some(bob.key()));
    assert!(own.pointers.is_empty(), "a tab is not sent its own pointer");
}

#[test]
fn a_pointer_for_a_tab_that_is_not_here_is_ignored() {
    let (hub, _) = hub(1);
    let _alice = hub.join("a1", &actor("alice", "t1"));
    let before = hub.view("a1", 0, 0, None);
    hub.point(&ViewerKey::of("a1", &actor("mallory", "t9")), at(0.5, 0.5));
    hub.point(&ViewerKey::of("a2", &actor("alice", "t1")), at(0.5, 0.5));
    assert_eq!(hub.view("a1", 0, 0, None).seen_seq, before.seen_seq);
}

#[test]
fn watchers_wake_on_changes_of_their_room_only() {
    let (hub, _) = hub(1);
    let mut room = hub.watch_room("a1");
    room.borrow_and_update();
    let _elsewhere = hub.join("a2", &actor("bob", "t2"));
    assert!(!room.has_changed().unwrap());
    let _alice = hub.join("a1", &actor("alice", "t1"));
    assert!(room.has_changed().unwrap());
}

#[test]
fn local_changes_carry_joins_moves_and_departures_once() {
    let (hub, _) = hub(1);
    let alice = hub.join("a1", &actor("alice", "t1"));
    let everything = hub.local_changes(0);
    assert!(everything.replace);
    assert_eq!(everything.viewers.len(), 1);
    assert_eq!(hub.local_changes(everything.upto), LocalChanges { upto: everything.upto, ..LocalChanges::default() });

    hub.point(alice.key(), at(0.3, 0.4));
    let moved = hub.local_changes(everything.upto);
    assert!(!moved.replace);
    assert_eq!(moved.viewers[0].1.pointer, at(0.3, 0.4));

    let key = alice.key().clone();
    drop(alice);
    let left = hub.local_changes(moved.upto);
    assert_eq!((left.viewers.len(), left.gone), (0, vec![key]));
}

#[test]
fn a_refresh_carries_every_viewer_without_replacing() {
    let (hub, _) = hub(1);
    let _alice = hub.join("a1", &actor("alice", "t1"));
    let bob = hub.join("a2", &actor("bob", "t2"));
    let start = hub.local_changes(0).upto;
    let key = bob.key().clone();
    drop(bob);
    let refresh = hub.local_refresh(start);
    assert!(!refresh.replace);
    assert_eq!(refresh.viewers.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["a1"], "unchanged, still sent");
    assert_eq!(refresh.gone, vec![key]);
}

#[test]
fn a_peer_lagging_past_the_kept_departures_is_sent_a_replacement() {
    let (hub, _) = hub(1);
    let stay = hub.join("a1", &actor("alice", "t1"));
    let start = hub.local_changes(0).upto;
    for n in 0..=limits::PRESENCE_GONE_KEPT_MAX {
        drop(hub.join("a1", &actor("bob", &format!("t{n}"))));
    }
    let changes = hub.local_changes(start);
    assert!(changes.replace, "departures were trimmed: only a full roster is exact");
    assert_eq!(changes.viewers.iter().map(|(_, v)| v.actor.user_id.as_str()).collect::<Vec<_>>(), ["alice"]);
    drop(stay);
}

#[test]
fn relayed_viewers_join_the_roster_and_leave_with_their_node() {
    let (hub, _) = hub(1);
    let _alice = hub.join("a1", &actor("alice", "t1"));
    let bob = Viewer { actor: actor("bob", "t2"), node_id: 0, pointer: at(0.9, 0.1), pointer_seq: 0 };
    hub.apply_remote(2, true, vec![("a1".into(), bob)], &[]);
    let view = hub.view("a1", 0, 0, None);
    assert_eq!(tabs(&view), vec![("alice".into(), "t1".into(), 1), ("bob".into(), "t2".into(), 2)]);
    assert_eq!(view.pointers.iter().map(|v| v.actor.user_id.as_str()).collect::<Vec<_>>(), ["bob"]);
    assert!(hub.is_present(&ViewerKey::of("a1", &actor("bob", "t2"))));

    hub.forget_node(2);
    assert_eq!(tabs(&hub.view("a1", 0, 0, None)), vec![("alice".into(), "t1".into(), 1)]);
}

#[test]
fn a_replacing_batch_drops_what_the_peer_no_longer_has() {
    let (hub, _) = hub(1);
    let viewer =
        |user: &str| ("a1".to_owned(), Viewer { actor: actor(user, "t"), node_id: 2, pointer: None, pointer_seq: 0 });
    hub.apply_remote(2, true, vec![viewer("bob"), viewer("carol")], &[]);
    hub.apply_remote(2, true, vec![viewer("carol")], &[]);
    assert_eq!(tabs(&hub.view("a1", 0, 0, None)), vec![("carol".into(), "t".into(), 2)]);
    hub.apply_remote(2, false, vec![], &[ViewerKey::of("a1", &actor("carol", "t"))]);
    assert_eq!(tabs(&hub.view("a1", 0, 0, None)), vec![]);
}

#[test]
fn relayed_viewers_not_refreshed_expire() {
    let (hub, clock) = hub(1);
    let bob = Viewer { actor: actor("bob", "t2"), node_id: 2, pointer: None, pointer_seq: 0 };
    hub.apply_remote(2, true, vec![("a1".into(), bob.clone())], &[]);
    clock.0.fetch_add(limits::PRESENCE_REMOTE_TTL_MS - 1, Ordering::Relaxed);
    hub.apply_remote(2, false, vec![("a1".into(), bob)], &[]);
    clock.0.fetch_add(limits::PRESENCE_REMOTE_TTL_MS - 1, Ordering::Relaxed);
    hub.sweep();
    assert_eq!(hub.counts(), (0, 1), "refreshed in time");
    clock.0.fetch_add(1, Ordering::Relaxed);
    hub.sweep();
    assert_eq!(hub.counts(), (0, 0));
}

#[test]
fn a_tab_seen_through_two_nodes_is_listed_once_and_its_own_node_wins() {
    let (hub, _) = hub(1);
    let _alice = hub.join("a1", &actor("alice", "t1"));
    let echo = Viewer { actor: actor("alice", "t1"), node_id: 2, pointer: at(0.5, 0.5), pointer_seq: 0 };
    hub.apply_remote(2, true, vec![("a1".into(), echo)], &[]);
    assert_eq!(tabs(&hub.view("a1", 0, 0, None)), vec![("alice".into(), "t1".into(), 1)]);
}

#[test]
fn pointers_must_lie_on_the_form() {
    assert!(Pointer::checked(0.0, 1.0).is_ok());
    for (x, y) in [(-0.01, 0.5), (0.5, 1.01), (f64::NAN, 0.5), (0.5, f64::INFINITY)] {
        assert!(Pointer::checked(x, y).is_err(), "({x}, {y}) was accepted");
    }
}

/// Counts what it renders.
#[derive(Default)]
struct CountingRender {
    rosters: AtomicU64,
    pointers: AtomicU64,
}

impl RenderPresence for CountingRender {
    fn roster(&self, _appointment_id: &str, viewers: &[&Viewer]) -> String {
        self.rosters.fetch_add(1, Ordering::Relaxed);
        format!("roster of {}", viewers.len())
    }

    fn pointer(&self, _appointment_id: &str, viewer: &Viewer) -> String {
        self.pointers.fetch_add(1, Ordering::Relaxed);
        format!("{} at {:?}", viewer.actor.user_id, viewer.pointer)
    }
}

#[test]
fn a_rooms_messages_are_rendered_once_for_every_reader_of_the_same_change() {
    let (hub, _) = hub(1);
    let render = CountingRender::default();
    // A socket watches the room, as each reader does: the room outlives its viewers.
    let _watching = hub.watch_room("a1");
    let guards: Vec<_> = (0..50).map(|n| hub.join("a1", &actor(&format!("u{n}"), &format!("t{n}")))).collect();
    let first: Vec<_> = (0..50).map(|_| hub.rendered_view("a1", 0, 0, &render)).collect();
    assert_eq!(render.rosters.load(Ordering::Relaxed), 1, "50 readers, one roster render");
    let roster = first[0].roster.clone().expect("a roster");
    assert!(first.iter().all(|v| Arc::ptr_eq(v.roster.as_ref().unwrap(), &roster)), "one shared text");
    assert_eq!(&*roster, "roster of 50");
    // Three tabs move; every reader that was up to date gets the same three texts.
    for guard in &guards[..3] {
        hub.point(guard.key(), at(0.5, 0.5));
    }
    let (seen, seen_roster) = (first[0].seen_seq, first[0].seen_roster_seq);
    let second: Vec<_> = (0..50).map(|_| hub.rendered_view("a1", seen, seen_roster, &render)).collect();
    assert_eq!(render.pointers.load(Ordering::Relaxed), 3, "each moved pointer rendered once");
    assert!(second.iter().all(|v| v.roster.is_none() && v.pointers.len() == 3));
    assert!(second.iter().all(|v| Arc::ptr_eq(&v.pointers, &second[0].pointers)));
    // A reader further behind is answered too (rendered for it), and nothing is lost.
    let behind = hub.rendered_view("a1", 0, seen_roster, &render);
    assert_eq!(behind.pointers.len(), 3);
    assert_eq!(render.rosters.load(Ordering::Relaxed), 1, "the roster did not change");
    // The roster changes: one render again.
    drop(guards);
    let after = hub.rendered_view("a1", second[0].seen_seq, second[0].seen_roster_seq, &render);
    assert_eq!(after.roster.as_deref(), Some("roster of 0"));
}

#[test]
fn sockets_flush_on_a_shared_grid() {
    let (hub, _) = hub(1);
    let now = tokio::time::Instant::now();
    let a = hub.next_flush_at(now);
    let b = hub.next_flush_at(now + std::time::Duration::from_millis(5));
    assert!(a >= now);
    assert!(a - now <= std::time::Duration::from_millis(limits::PRESENCE_FLUSH_MS));
    let step = std::time::Duration::from_millis(limits::PRESENCE_FLUSH_MS);
    assert!(b == a || b == a + step, "two sockets a few ms apart flush on the same tick or the next");
    assert_eq!(hub.next_flush_at(a), a, "a tick is its own next tick");
}

/// Renders a room's roster only after another thread has read and moved in another room, as
/// sockets of two rooms do at once: with one lock for the whole hub the other thread waits
/// for this render, and the render gives up waiting for it.
struct RenderWhileAnotherRoomIsUsed {
    hub: Arc<PresenceHub>,
    other: ViewerKey,
    other_room_served: std::sync::Mutex<Option<bool>>,
}

impl RenderPresence for RenderWhileAnotherRoomIsUsed {
    fn roster(&self, _appointment_id: &str, viewers: &[&Viewer]) -> String {
        let (hub, other) = (self.hub.clone(), self.other.clone());
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            hub.point(&other, at(0.3, 0.3));
            let roster = hub.view(&other.appointment_id, 0, 0, None).roster.unwrap_or_default();
            let _ = done_tx.send(roster.len());
        });
        let served = done_rx.recv_timeout(std::time::Duration::from_secs(5)) == Ok(1);
        *self.other_room_served.lock().unwrap() = Some(served);
        format!("roster of {}", viewers.len())
    }

    fn pointer(&self, _appointment_id: &str, viewer: &Viewer) -> String {
        viewer.actor.user_id.clone()
    }
}

#[test]
fn a_room_being_rendered_does_not_hold_up_another_room() {
    let (hub, _) = hub(1);
    let _a = hub.join("room-a", &actor("alice", "a1"));
    let b = hub.join("room-b", &actor("bob", "b1"));
    let render = RenderWhileAnotherRoomIsUsed {
        hub: hub.clone(),
        other: b.key().clone(),
        other_room_served: std::sync::Mutex::new(None),
    };
    let view = hub.rendered_view("room-a", 0, 0, &render);
    assert_eq!(view.roster.as_deref(), Some("roster of 1"));
    assert_eq!(*render.other_room_served.lock().unwrap(), Some(true), "room-b waited for room-a's render");
    assert_eq!(hub.view("room-b", 0, 0, None).pointers.len(), 1, "bob's move landed");
}

#[test]
fn viewer_counts_are_counted_once_for_every_reader_within_their_freshness() {
    let (hub, clock) = hub(1);
    let _a = hub.join("a1", &actor("alice", "t1"));
    let first = hub.viewer_counts();
    assert_eq!(*first, BTreeMap::from([("a1".to_owned(), 1)]));
    // A change within the window is not counted yet: every reader shares the one count.
    let _b = hub.join("a1", &actor("bob", "t2"));
    assert!(Arc::ptr_eq(&first, &hub.viewer_counts()));
    clock.0.fetch_add(limits::VIEWER_COUNTS_FRESH_MS, Ordering::Relaxed);
    let second = hub.viewer_counts();
    assert_eq!(second.get("a1"), Some(&2));
    // Counted again and unchanged: the same Arc, so a socket compares a pointer.
    clock.0.fetch_add(limits::VIEWER_COUNTS_FRESH_MS, Ordering::Relaxed);
    assert!(Arc::ptr_eq(&second, &hub.viewer_counts()));
}
