//! Unit tests for each transition, and property tests over random command sequences that
//! try to break the invariants of docs/design.md (1, 2, 3, 5, 7, 8, 9) on the model.

use super::*;
use crate::limits::LOCK_TTL_MS_MAX;

const TTL: u64 = 60_000;
const WAITER_TTL: u64 = 30_000;
const T0: u64 = 1_700_000_000_000;

fn actor(user: &str, session: &str, role: Role) -> Actor {
    Actor {
        user_id: user.into(),
        session_id: session.into(),
        name: format!("{user} name"),
        email: format!("{user}@example.com"),
        role,
    }
}

fn alice() -> Actor {
    actor("alice", "alice-tab1", Role::User)
}
fn bob() -> Actor {
    actor("bob", "bob-tab1", Role::User)
}
fn carol() -> Actor {
    actor("carol", "carol-tab1", Role::User)
}
fn admin() -> Actor {
    actor("root", "root-tab1", Role::Admin)
}
fn admin2() -> Actor {
    actor("ops", "ops-tab1", Role::Admin)
}

fn fields(title: &str) -> AppointmentFields {
    AppointmentFields {
        title: title.into(),
        starts_at_ms: T0 + 3_600_000,
        ends_at_ms: T0 + 7_200_000,
        client: "Ms. Client".into(),
        location: "Room 1".into(),
        notes: "line one\nline two".into(),
        status: AppointmentStatus::Scheduled,
    }
}

/// A form as typed: the start cleared, the end half-typed.
fn typed(title: &str) -> DraftText {
    DraftText {
        title: title.into(),
        starts_at: String::new(),
        ends_at: "2030-01-0".into(),
        client: "Ms. Client".into(),
        location: "Room 1".into(),
        notes: "line one\nline two".into(),
    }
}

fn cmd(at_ms: u64, op: Op) -> Command {
    Command { issued_at_ms: at_ms, request_id: None, op }
}

fn acquire(who: &Actor, wait: bool) -> Op {
    Op::Acquire { actor: who.clone(), appointment_id: "a1".into(), ttl_ms: TTL, wait, waiter_ttl_ms: WAITER_TTL }
}

fn release(who: &Actor, token: Option<u64>) -> Op {
    Op::Release {
        actor: who.clone(),
        appointment_id: "a1".into(),
        fencing_token: token,
        reason: ReleaseReason::Released,
    }
}

fn takeover(who: &Actor, expected: Option<u64>) -> Op {
    Op::Takeover {
        actor: who.clone(),
        appointment_id: "a1".into(),
        ttl_ms: TTL,
        reason: "client called".into(),
        expected_fencing_token: expected,
    }
}

fn update(who: &Actor, token: u64, version: u64, title: &str) -> Op {
    Op::UpdateAppointment {
        actor: who.clone(),
        appointment_id: "a1".into(),
        fencing_token: token,
        expected_version: version,
        fields: fields(title),
    }
}

/// A state machine with appointment `a1` created at `T0`.
fn with_appointment() -> LockStateMachine {
    let mut sm = LockStateMachine::new();
    let (response, _) = sm.apply(&cmd(
        T0,
        Op::CreateAppointment { actor: alice(), appointment_id: "a1".into(), fields: fields("Checkup") },
    ));
    assert!(matches!(response, Response::AppointmentSaved(_)), "{response:?}");
    sm
}

fn granted(response: &Response) -> Lock {
    match response {
        Response::Granted { lock, .. } => lock.clone(),
        other => panic!("expected a grant, got {other:?}"),
    }
}

#[test]
fn one_entry_lapses_at_most_the_bounded_number_of_leases_and_leaves_the_rest_due() {
    let bound = crate::limits::EXPIRIES_PER_ENTRY_MAX;
    let mut sm = LockStateMachine::new();
    for n in 0..bound + 5 {
        let id = format!("a{n}");
        let created = Op::CreateAppointment { actor: alice(), appointment_id: id.clone(), fields: fields("Checkup") };
        sm.apply(&cmd(T0, created));
        let op =
            Op::Acquire { actor: alice(), appointment_id: id, ttl_ms: TTL, wait: false, waiter_ttl_ms: WAITER_TTL };
        granted(&sm.apply(&cmd(T0, op)).0);
    }
    let (_, events) = sm.apply(&cmd(T0 + TTL, Op::Tick));
    assert_eq!(events.iter().filter(|e| matches!(e, Event::LockExpired { .. })).count(), bound);
    assert_eq!(sm.next_deadline_ms(), Some(T0 + TTL), "the rest are still due, so the leader ticks again at once");
    let (_, events) = sm.apply(&cmd(T0 + TTL, Op::Tick));
    assert_eq!(events.iter().filter(|e| matches!(e, Event::LockExpired { .. })).count(), 5);
    assert_eq!(sm.next_deadline_ms(), None);
}

#[test]
fn acquire_of_a_free_lock_grants_token_one_with_a_ttl_lease() {
    let mut sm = with_appointment();
    let (response, events) = sm.apply(&cmd(T0 + 10, acquire(&alice(), false)));
    let lock = granted(&response);
    assert_eq!(lock.fencing_token, 1);
    assert_eq!(*lock.holder, alice());
    assert_eq!(lock.acquired_at_ms, T0 + 10);
    assert_eq!(lock.expires_at_ms, T0 + 10 + TTL);
    assert_eq!(events, vec![Event::LockAcquired { lock: lock.clone() }]);
    assert_eq!(sm.lock("a1"), Some(&lock));
    assert_eq!(sm.next_deadline_ms(), Some(T0 + 10 + TTL));
}

#[test]
fn acquire_by_the_holder_session_renews_and_keeps_the_token() {
    let mut sm = with_appointment();
    let first = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (response, events) = sm.apply(&cmd(T0 + 5_000, acquire(&alice(), false)));
    assert_eq!(response, Response::Granted { lock: sm.lock("a1").unwrap().clone(), renewed: true });
    let renewed = granted(&response);
    assert_eq!(renewed.fencing_token, first.fencing_token);
    assert_eq!(renewed.expires_at_ms, T0 + 5_000 + TTL);
    assert!(matches!(events.as_slice(), [Event::LockRenewed { .. }]));
    assert_eq!(sm.next_fencing_token(), 2, "a renewal issues no token");
}

#[test]
fn acquire_of_a_held_lock_answers_lock_held_with_the_holder_and_changes_nothing() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let before = sm.clone();
    let (response, events) = sm.apply(&cmd(T0 + 1, acquire(&bob(), false)));
    assert_eq!(response, Response::Rejected(Rejection::LockHeld { lock }));
    assert!(events.is_empty());
    assert_eq!(sm.to_parts().locks, before.to_parts().locks);
    assert_eq!(sm.next_fencing_token(), before.next_fencing_token());
}

#[test]
fn a_second_tab_of_the_holder_is_a_viewer() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, acquire(&alice(), false)));
    let other_tab = actor("alice", "alice-tab2", Role::User);
    let (response, _) = sm.apply(&cmd(T0 + 1, acquire(&other_tab, false)));
    assert!(matches!(response, Response::Rejected(Rejection::LockHeld { .. })), "{response:?}");
}

#[test]
fn another_user_presenting_the_holders_session_id_is_not_the_holder() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let impostor = actor("mallory", &alice().session_id, Role::User);
    let (renew, _) =
        sm.apply(&cmd(T0 + 1, Op::Renew { actor: impostor.clone(), appointment_id: "a1".into(), waiting: false }));
    assert!(matches!(renew, Response::Rejected(Rejection::NotHolder { .. })), "{renew:?}");
    let (save, _) = sm.apply(&cmd(T0 + 2, update(&impostor, lock.fencing_token, 1, "x")));
    assert!(matches!(save, Response::Rejected(Rejection::NotHolder { .. })), "{save:?}");
    let (free, _) = sm.apply(&cmd(T0 + 3, release(&impostor, Some(lock.fencing_token))));
    assert!(matches!(free, Response::Rejected(Rejection::NotHolder { .. })), "{free:?}");
    assert_eq!(sm.lock("a1"), Some(&lock));
}

#[test]
fn acquire_of_an_unknown_appointment_is_not_found() {
    let mut sm = LockStateMachine::new();
    let (response, events) = sm.apply(&cmd(T0, acquire(&alice(), false)));
    assert_eq!(response, Response::Rejected(Rejection::NotFound));
    assert!(events.is_empty());
    assert_eq!(sm.next_fencing_token(), 1);
}

#[test]
fn the_queue_puts_admins_ahead_of_users_and_is_fifo_within_a_role() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, acquire(&alice(), false)));
    let (bob_queued, _) = sm.apply(&cmd(T0 + 1, acquire(&bob(), true)));
    assert!(matches!(bob_queued, Response::Queued { position: 1, .. }), "{bob_queued:?}");
    sm.apply(&cmd(T0 + 2, acquire(&carol(), true)));
    let (admin_queued, _) = sm.apply(&cmd(T0 + 3, acquire(&admin(), true)));
    assert!(matches!(admin_queued, Response::Queued { position: 1, .. }), "{admin_queued:?}");
    let (admin2_queued, _) = sm.apply(&cmd(T0 + 4, acquire(&admin2(), true)));
    assert!(matches!(admin2_queued, Response::Queued { position: 2, .. }), "{admin2_queued:?}");
    let order: Vec<&str> = sm.queue("a1").iter().map(|w| w.actor.user_id.as_str()).collect();
    assert_eq!(order, ["root", "ops", "bob", "carol"]);
}

#[test]
fn release_hands_the_lock_to_the_first_waiter_with_a_new_token_in_the_same_entry() {
    let mut sm = with_appointment();
    let first = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    sm.apply(&cmd(T0 + 1, acquire(&bob(), true)));
    let (response, events) = sm.apply(&cmd(T0 + 2, release(&alice(), Some(first.fencing_token))));
    assert_eq!(response, Response::Released);
    let next = sm.lock("a1").expect("handed over").clone();
    assert_eq!(*next.holder, bob());
    assert!(next.fencing_token > first.fencing_token);
    assert_eq!(next.expires_at_ms, T0 + 2 + TTL);
    assert!(sm.queue("a1").is_empty());
    assert!(matches!(events[0], Event::LockReleased { reason: ReleaseReason::Released, .. }));
    assert_eq!(events[1], Event::LockAcquired { lock: next });
    assert!(matches!(&events[2], Event::QueueChanged { queue, .. } if queue.is_empty()));
}

#[test]
fn release_with_an_old_token_never_frees_a_newer_grant() {
    let mut sm = with_appointment();
    let old = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    sm.apply(&cmd(T0 + 1, release(&alice(), None)));
    let newer = granted(&sm.apply(&cmd(T0 + 2, acquire(&alice(), false))).0);
    let (response, events) = sm.apply(&cmd(T0 + 3, release(&alice(), Some(old.fencing_token))));
    assert_eq!(response, Response::Rejected(Rejection::StaleToken { lock: Some(newer.clone()) }));
    assert!(events.is_empty());
    assert_eq!(sm.lock("a1"), Some(&newer));
}

#[test]
fn release_by_someone_else_is_not_holder_and_changes_nothing() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (response, events) = sm.apply(&cmd(T0 + 1, release(&bob(), None)));
    assert_eq!(response, Response::Rejected(Rejection::NotHolder { lock: Some(lock.clone()) }));
    assert!(events.is_empty());
    assert_eq!(sm.lock("a1"), Some(&lock));
}

#[test]
fn release_of_a_free_lock_answers_released() {
    let mut sm = with_appointment();
    let (response, events) = sm.apply(&cmd(T0, release(&alice(), None)));
    assert_eq!(response, Response::Released);
    assert!(events.is_empty());
}

#[test]
fn a_waiter_can_leave_the_queue_by_releasing() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, acquire(&alice(), false)));
    sm.apply(&cmd(T0 + 1, acquire(&bob(), true)));
    let (response, _) = sm.apply(&cmd(T0 + 2, release(&bob(), None)));
    assert_eq!(response, Response::Released);
    assert!(sm.queue("a1").is_empty());
    assert_eq!(*sm.lock("a1").unwrap().holder, alice(), "the holder keeps the lock");
}

#[test]
fn a_lease_expires_only_when_an_applied_command_reaches_its_expiry() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (_, events) = sm.apply(&cmd(lock.expires_at_ms - 1, Op::Tick));
    assert!(events.is_empty(), "not due yet: {events:?}");
    assert!(sm.lock("a1").is_some());
    let (_, events) = sm.apply(&cmd(lock.expires_at_ms, Op::Tick));
    assert_eq!(events, vec![Event::LockExpired { previous: lock.clone() }]);
    assert!(sm.lock("a1").is_none());
    assert_eq!(sm.next_deadline_ms(), None, "nothing left to expire, so no ticks");
    let last = sm.audit("a1").last().unwrap();
    assert_eq!(last.action, AuditAction::Expired);
    assert_eq!(last.from_fencing_token, Some(lock.fencing_token));
}

#[test]
fn any_command_past_the_deadline_expires_the_lease_before_it_acts() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (response, events) = sm.apply(&cmd(lock.expires_at_ms + 5, acquire(&bob(), false)));
    let bobs = granted(&response);
    assert_eq!(*bobs.holder, bob());
    assert!(matches!(events[0], Event::LockExpired { .. }));
    assert!(matches!(events[1], Event::LockAcquired { .. }));
}

#[test]
fn renew_extends_the_lease_from_the_renewal_and_a_non_holder_cannot_renew() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, acquire(&alice(), false)));
    let renewed = granted(
        &sm.apply(&cmd(T0 + 40_000, Op::Renew { actor: alice(), appointment_id: "a1".into(), waiting: false })).0,
    );
    assert_eq!(renewed.expires_at_ms, T0 + 40_000 + TTL);
    assert_eq!(renewed.last_activity_at_ms, T0 + 40_000);
    let (response, _) =
        sm.apply(&cmd(T0 + 40_001, Op::Renew { actor: bob(), appointment_id: "a1".into(), waiting: false }));
    assert!(matches!(response, Response::Rejected(Rejection::NotHolder { lock: Some(_) })), "{response:?}");
}

#[test]
fn an_expired_waiter_is_dropped_and_never_granted() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    sm.apply(&cmd(T0 + 1, acquire(&bob(), true)));
    sm.apply(&cmd(T0 + 20_000, acquire(&carol(), true)));
    assert_eq!(sm.next_deadline_ms(), Some(T0 + 1 + WAITER_TTL), "the waiter's lease is due first");
    let (_, events) = sm.apply(&cmd(T0 + 1 + WAITER_TTL, Op::Tick));
    assert!(matches!(&events[..], [Event::QueueChanged { queue, .. }] if queue.len() == 1));
    sm.apply(&cmd(T0 + 40_000, release(&alice(), Some(lock.fencing_token))));
    assert_eq!(*sm.lock("a1").unwrap().holder, carol());
}

#[test]
fn takeover_by_a_user_is_forbidden() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (response, events) = sm.apply(&cmd(T0 + 1, takeover(&bob(), None)));
    assert_eq!(response, Response::Rejected(Rejection::Forbidden));
    assert!(events.is_empty());
    assert_eq!(sm.lock("a1"), Some(&lock));
}

#[test]
fn takeover_displaces_the_holder_and_audits_it_in_the_same_apply() {
    let mut sm = with_appointment();
    let old = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let audit_before = sm.audit("a1").count();
    let (response, events) = sm.apply(&cmd(T0 + 100, takeover(&admin(), Some(old.fencing_token))));
    let new = granted(&response);
    assert_eq!(*new.holder, admin());
    assert!(new.fencing_token > old.fencing_token);
    assert_eq!(
        events,
        vec![Event::LockTakenOver { lock: new.clone(), previous: old.clone(), reason: "client called".into() }]
    );
    assert_eq!(sm.audit("a1").count(), audit_before + 1);
    let record = sm.audit("a1").last().unwrap().clone();
    assert_eq!(record.action, AuditAction::TakenOver);
    assert_eq!(record.by.as_deref(), Some(&admin()));
    assert_eq!(record.from.as_deref(), Some(&alice()));
    assert_eq!(record.from_fencing_token, Some(old.fencing_token));
    assert_eq!(record.fencing_token, Some(new.fencing_token));
    assert_eq!(record.reason, "client called");
    assert_eq!(record.at_ms, T0 + 100);
    // The displaced editor's token no longer saves.
    let (save, _) = sm.apply(&cmd(T0 + 101, update(&alice(), old.fencing_token, 1, "late")));
    assert!(matches!(save, Response::Rejected(Rejection::StaleToken { .. })), "{save:?}");
}

#[test]
fn of_two_simultaneous_takeovers_one_wins_and_the_other_is_told_who() {
    let mut sm = with_appointment();
    let old = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let won = granted(&sm.apply(&cmd(T0 + 1, takeover(&admin(), Some(old.fencing_token)))).0);
    let (response, events) = sm.apply(&cmd(T0 + 1, takeover(&admin2(), Some(old.fencing_token))));
    assert_eq!(response, Response::Rejected(Rejection::TakeoverConflict { lock: won.clone() }));
    assert!(events.is_empty());
    assert_eq!(sm.lock("a1"), Some(&won));
}

#[test]
fn takeover_of_a_free_lock_is_a_plain_grant() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, takeover(&admin(), Some(7)))).0);
    assert_eq!(*lock.holder, admin());
    assert_eq!(sm.audit("a1").last().unwrap().action, AuditAction::Granted);
}

fn move_to(who: &Actor, expected: Option<u64>) -> Op {
    Op::MoveLock { actor: who.clone(), appointment_id: "a1".into(), ttl_ms: TTL, expected_fencing_token: expected }
}

fn alice_second_tab() -> Actor {
    actor("alice", "alice-tab2", Role::User)
}

#[test]
fn a_lock_handed_from_the_queue_lapses_at_the_claim_window_unless_its_holder_confirms() {
    let long_ttl = 5 * 60_000;
    let mut sm = with_appointment();
    let first = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    for who in [bob(), carol()] {
        let wait = Op::Acquire {
            actor: who,
            appointment_id: "a1".into(),
            ttl_ms: long_ttl,
            wait: true,
            waiter_ttl_ms: WAITER_TTL,
        };
        sm.apply(&cmd(T0 + 1, wait));
    }
    sm.apply(&cmd(T0 + 2, release(&alice(), Some(first.fencing_token))));
    let handed = sm.lock("a1").expect("handed to bob").clone();
    assert_eq!(*handed.holder, bob());
    let claim_by_ms = T0 + 2 + crate::limits::CLAIM_WINDOW_MS;
    assert_eq!((handed.claim_by_ms, handed.expires_at_ms), (Some(claim_by_ms), claim_by_ms));
    // Carol's tab keeps her place (a waiter's lease is shorter) while Bob's tab sits unattended.
    for at_ms in [T0 + 25_000, T0 + 50_000] {
        sm.apply(&cmd(at_ms, Op::Renew { actor: carol(), appointment_id: "a1".into(), waiting: false }));
    }
    let (_, events) = sm.apply(&cmd(claim_by_ms, Op::Tick));
    assert!(matches!(&events[0], Event::LockExpired { previous } if previous.fencing_token == handed.fencing_token));
    let next = sm.lock("a1").expect("passed on to carol").clone();
    assert_eq!(*next.holder, carol());
    let unclaimed = sm.audit("a1").find(|r| r.action == AuditAction::Unclaimed).expect("audited as unclaimed");
    assert_eq!(unclaimed.from.as_deref(), Some(&bob()));
    // Carol confirms in time: the lease is her whole ttl from the confirmation, and stays.
    let confirmed = granted(
        &sm.apply(&cmd(claim_by_ms + 10, Op::Renew { actor: carol(), appointment_id: "a1".into(), waiting: false })).0,
    );
    assert_eq!(confirmed.claim_by_ms, None);
    assert_eq!(confirmed.expires_at_ms, claim_by_ms + 10 + long_ttl);
    assert_eq!(confirmed.fencing_token, next.fencing_token);
}

#[test]
fn a_waiting_tabs_renewal_that_crosses_the_hand_over_never_confirms_the_claim() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, acquire(&alice(), false)));
    sm.apply(&cmd(T0 + 1, acquire(&bob(), true)));
    sm.apply(&cmd(T0 + 2, release(&alice(), None)));
    let handed = sm.lock("a1").unwrap().clone();
    assert!(handed.claim_by_ms.is_some());
    // Bob's tab renews its place, not knowing it was handed the lock: told, nothing changes.
    let keep_place = Op::Renew { actor: bob(), appointment_id: "a1".into(), waiting: true };
    let (response, events) = sm.apply(&cmd(T0 + 3, keep_place.clone()));
    assert_eq!(response, Response::Granted { lock: handed.clone(), renewed: false });
    assert!(events.is_empty());
    assert_eq!(sm.lock("a1"), Some(&handed));
    // The person's own renewal confirms it.
    let confirm = Op::Renew { actor: bob(), appointment_id: "a1".into(), waiting: false };
    assert_eq!(granted(&sm.apply(&cmd(T0 + 4, confirm)).0).claim_by_ms, None);
    // Once confirmed, a waiting-flagged renewal is an ordinary one.
    assert!(matches!(sm.apply(&cmd(T0 + 5, keep_place)).0, Response::Granted { renewed: true, .. }));
}

#[test]
fn a_short_lease_is_its_own_claim_window_and_an_ordinary_grant_has_none() {
    let mut sm = with_appointment();
    let first = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    assert_eq!(first.claim_by_ms, None);
    let short = Op::Acquire {
        actor: bob(),
        appointment_id: "a1".into(),
        ttl_ms: 10_000,
        wait: true,
        waiter_ttl_ms: WAITER_TTL,
    };
    sm.apply(&cmd(T0 + 1, short));
    sm.apply(&cmd(T0 + 2, release(&alice(), None)));
    let handed = sm.lock("a1").unwrap();
    assert_eq!((handed.claim_by_ms, handed.expires_at_ms), (Some(T0 + 2 + 10_000), T0 + 2 + 10_000));
}

#[test]
fn continue_here_moves_the_lock_to_another_tab_of_the_same_person_under_a_new_token() {
    let mut sm = with_appointment();
    let old = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (response, events) = sm.apply(&cmd(T0 + 5, move_to(&alice_second_tab(), Some(old.fencing_token))));
    let moved = granted(&response);
    assert_eq!(*moved.holder, alice_second_tab());
    assert!(moved.fencing_token > old.fencing_token);
    assert_eq!(events, vec![Event::LockMoved { lock: moved.clone(), previous: old.clone() }]);
    let record = sm.audit("a1").last().unwrap();
    assert_eq!(record.action, AuditAction::Moved);
    assert_eq!((record.from_fencing_token, record.fencing_token), (Some(old.fencing_token), Some(moved.fencing_token)));
    // The first tab's late save is fenced off; the new tab saves.
    let (late, _) = sm.apply(&cmd(T0 + 6, update(&alice(), old.fencing_token, 1, "late")));
    assert!(matches!(late, Response::Rejected(Rejection::StaleToken { .. })), "{late:?}");
    let (saved, _) = sm.apply(&cmd(T0 + 7, update(&alice_second_tab(), moved.fencing_token, 1, "here")));
    assert!(matches!(saved, Response::AppointmentSaved(_)), "{saved:?}");
}

#[test]
fn continue_here_never_moves_another_persons_lock_nor_a_changed_one() {
    let mut sm = with_appointment();
    let held = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (response, events) = sm.apply(&cmd(T0 + 1, move_to(&bob(), None)));
    assert_eq!(response, Response::Rejected(Rejection::LockHeld { lock: held.clone() }));
    assert!(events.is_empty());
    let (response, _) = sm.apply(&cmd(T0 + 2, move_to(&alice_second_tab(), Some(held.fencing_token + 1))));
    assert_eq!(response, Response::Rejected(Rejection::TakeoverConflict { lock: held.clone() }));
    assert_eq!(sm.lock("a1"), Some(&held));
    // From the holder's own tab it is a renewal; on a free lock, a grant.
    let (response, _) = sm.apply(&cmd(T0 + 3, move_to(&alice(), None)));
    assert!(matches!(response, Response::Granted { renewed: true, .. }));
    sm.apply(&cmd(T0 + 4, release(&alice(), None)));
    let lock = granted(&sm.apply(&cmd(T0 + 5, move_to(&bob(), None))).0);
    assert_eq!(*lock.holder, bob());
}

#[test]
fn continue_here_takes_the_tab_out_of_the_queue_it_was_waiting_in() {
    let mut sm = with_appointment();
    let held = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    sm.apply(&cmd(T0 + 1, acquire(&alice_second_tab(), true)));
    assert_eq!(sm.queue("a1").len(), 1);
    sm.apply(&cmd(T0 + 2, move_to(&alice_second_tab(), Some(held.fencing_token))));
    assert!(sm.queue("a1").is_empty());
}

#[test]
fn a_discarded_draft_is_gone_and_discarding_none_answers_the_same() {
    let mut sm = with_appointment();
    let save =
        Op::SaveDraft { actor: alice(), appointment_id: "a1".into(), base_version: 1, text: typed("t"), base: None };
    sm.apply(&cmd(T0, save));
    let discard = || Op::DiscardDraft { actor: alice(), appointment_id: "a1".into() };
    assert_eq!(sm.apply(&cmd(T0 + 1, discard())).0, Response::Applied);
    assert!(sm.draft("a1", "alice").is_none());
    assert_eq!(sm.apply(&cmd(T0 + 2, discard())).0, Response::Applied);
    let unknown = Op::DiscardDraft { actor: alice(), appointment_id: "nope".into() };
    assert_eq!(sm.apply(&cmd(T0 + 3, unknown)).0, Response::Rejected(Rejection::NotFound));
}

#[test]
fn recent_audit_is_newest_first_across_appointments_filtered_and_bounded() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, Op::CreateAppointment { actor: alice(), appointment_id: "a2".into(), fields: fields("Two") }));
    let on = |id: &str, op: Op| match op {
        Op::Acquire { actor, ttl_ms, wait, waiter_ttl_ms, .. } => {
            Op::Acquire { actor, appointment_id: id.into(), ttl_ms, wait, waiter_ttl_ms }
        }
        Op::Takeover { actor, ttl_ms, reason, .. } => {
            Op::Takeover { actor, appointment_id: id.into(), ttl_ms, reason, expected_fencing_token: None }
        }
        other => other,
    };
    sm.apply(&cmd(T0 + 1, on("a1", acquire(&alice(), false))));
    sm.apply(&cmd(T0 + 2, on("a2", acquire(&bob(), false))));
    sm.apply(&cmd(T0 + 3, on("a1", takeover(&admin(), None))));
    sm.apply(&cmd(T0 + 4, on("a2", takeover(&admin2(), None))));
    let all: Vec<(u64, &str)> =
        sm.recent_audit(10, |_| true).iter().map(|r| (r.at_ms - T0, r.appointment_id.as_str())).collect();
    assert_eq!(all, vec![(4, "a2"), (3, "a1"), (2, "a2"), (1, "a1")]);
    let takeovers = sm.recent_audit(1, |r| r.action == AuditAction::TakenOver);
    assert_eq!(takeovers.len(), 1);
    assert_eq!((takeovers[0].appointment_id.as_str(), takeovers[0].by.as_deref()), ("a2", Some(&admin2())));
    assert!(sm.recent_audit(0, |_| true).is_empty());
}

#[test]
fn a_cancelled_appointment_is_an_edit_saved_by_its_holder_with_their_name() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&bob(), false))).0);
    let cancel = Op::UpdateAppointment {
        actor: bob(),
        appointment_id: "a1".into(),
        fencing_token: lock.fencing_token,
        expected_version: 1,
        fields: AppointmentFields { status: AppointmentStatus::Cancelled, ..fields("Checkup") },
    };
    let (response, _) = sm.apply(&cmd(T0 + 1, cancel));
    let Response::AppointmentSaved(saved) = response else { panic!("{response:?}") };
    assert_eq!(saved.fields.status, AppointmentStatus::Cancelled);
    assert_eq!((saved.updated_by.as_str(), saved.updated_by_name.as_str()), ("bob", "bob name"));
}

#[test]
fn update_with_the_current_token_and_version_applies_and_renews() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (response, events) = sm.apply(&cmd(T0 + 9_000, update(&alice(), lock.fencing_token, 1, "Renamed")));
    let Response::AppointmentSaved(saved) = response else { panic!("{response:?}") };
    assert_eq!(saved.version, 2);
    assert_eq!(saved.fields.title, "Renamed");
    assert_eq!(saved.updated_by, "alice");
    assert_eq!(sm.appointment("a1"), Some(&saved));
    assert!(matches!(events[0], Event::AppointmentUpdated(_)));
    assert!(matches!(events[1], Event::LockRenewed { .. }));
    assert_eq!(sm.lock("a1").unwrap().expires_at_ms, T0 + 9_000 + TTL);
}

#[test]
fn update_with_a_stale_token_is_rejected_and_changes_nothing() {
    let mut sm = with_appointment();
    let old = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    sm.apply(&cmd(T0 + 1, release(&alice(), None)));
    let current = granted(&sm.apply(&cmd(T0 + 2, acquire(&bob(), false))).0);
    let before = sm.appointment("a1").cloned();
    let (response, events) = sm.apply(&cmd(T0 + 3, update(&alice(), old.fencing_token, 1, "stale")));
    assert_eq!(response, Response::Rejected(Rejection::StaleToken { lock: Some(current) }));
    assert!(events.is_empty());
    assert_eq!(sm.appointment("a1").cloned(), before);
}

#[test]
fn update_at_the_wrong_version_is_a_conflict_with_the_current_appointment() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let current = sm.appointment("a1").unwrap().clone();
    let (response, events) = sm.apply(&cmd(T0 + 1, update(&alice(), lock.fencing_token, 7, "x")));
    assert_eq!(response, Response::Rejected(Rejection::VersionConflict { current: current.clone() }));
    assert!(events.is_empty());
    assert_eq!(sm.appointment("a1"), Some(&current));
}

#[test]
fn update_with_the_holders_token_from_another_session_is_not_holder() {
    let mut sm = with_appointment();
    let lock = granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    let (response, _) = sm.apply(&cmd(T0 + 1, update(&bob(), lock.fencing_token, 1, "x")));
    assert!(matches!(response, Response::Rejected(Rejection::NotHolder { .. })), "{response:?}");
    assert_eq!(sm.appointment("a1").unwrap().version, 1);
}

#[test]
fn update_without_any_lock_is_rejected() {
    let mut sm = with_appointment();
    let (never_issued, _) = sm.apply(&cmd(T0 + 1, update(&alice(), 1, 1, "x")));
    assert_eq!(never_issued, Response::Rejected(Rejection::NotHolder { lock: None }));
    let lock = granted(&sm.apply(&cmd(T0 + 2, acquire(&alice(), false))).0);
    sm.apply(&cmd(T0 + 3, release(&alice(), None)));
    let (after_release, _) = sm.apply(&cmd(T0 + 4, update(&alice(), lock.fencing_token, 1, "x")));
    assert_eq!(after_release, Response::Rejected(Rejection::StaleToken { lock: None }));
}

#[test]
fn creating_an_existing_id_answers_already_exists() {
    let mut sm = with_appointment();
    let (response, events) = sm.apply(&cmd(
        T0 + 1,
        Op::CreateAppointment { actor: bob(), appointment_id: "a1".into(), fields: fields("Other") },
    ));
    assert!(matches!(response, Response::Rejected(Rejection::AlreadyExists { .. })), "{response:?}");
    assert!(events.is_empty());
    assert_eq!(sm.appointment("a1").unwrap().fields.title, "Checkup");
}

#[test]
fn a_retried_request_id_applies_once_and_answers_the_same() {
    let mut sm = with_appointment();
    let first = Command { issued_at_ms: T0, request_id: Some("req-1".into()), op: acquire(&alice(), false) };
    let (response, _) = sm.apply(&first);
    sm.apply(&cmd(T0 + 1, release(&alice(), None)));
    let retried = Command { issued_at_ms: T0 + 2, ..first.clone() };
    let (again, events) = sm.apply(&retried);
    assert_eq!(again, response, "the retry answers what the first attempt answered");
    assert!(events.is_empty());
    assert!(sm.lock("a1").is_none(), "the retry did not grant a second time");
    assert_eq!(sm.next_fencing_token(), 2);
    // The same request id from another session is another request.
    let other = Command { issued_at_ms: T0 + 3, request_id: Some("req-1".into()), op: acquire(&bob(), false) };
    assert_eq!(*granted(&sm.apply(&other).0).holder, bob());
}

#[test]
fn a_request_id_reused_for_another_request_is_refused_and_changes_nothing() {
    let mut sm = with_appointment();
    let key = |at_ms, op| Command { issued_at_ms: at_ms, request_id: Some("key-1".into()), op };
    let lock = granted(&sm.apply(&key(T0, acquire(&alice(), false))).0);
    let before = sm.clone();
    // Another operation under the same key: a release that would free the lock.
    let (answer, events) = sm.apply(&key(T0, release(&alice(), Some(lock.fencing_token))));
    assert_eq!(answer, Response::Rejected(Rejection::IdempotencyKeyReused));
    assert!(events.is_empty());
    assert_eq!(sm, before, "nothing changed, not even what the session remembers");
    // Another body of the same operation: a fenced save under the key of a save with another text.
    let save = |title| update(&alice(), lock.fencing_token, 1, title);
    let Response::AppointmentSaved(saved) =
        sm.apply(&Command { request_id: Some("key-2".into()), ..cmd(T0, save("A")) }).0
    else {
        panic!("the first save applies")
    };
    let (answer, _) = sm.apply(&Command { request_id: Some("key-2".into()), ..cmd(T0, save("B")) });
    assert_eq!(answer, Response::Rejected(Rejection::IdempotencyKeyReused));
    assert_eq!(sm.appointment("a1").unwrap().fields.title, "A");
    // The true retries still answer what they first answered.
    assert_eq!(granted(&sm.apply(&key(T0, acquire(&alice(), false))).0), lock);
    let retried = sm.apply(&Command { request_id: Some("key-2".into()), ..cmd(T0, save("A")) }).0;
    assert_eq!(retried, Response::AppointmentSaved(saved));
}

#[test]
fn an_answer_remembered_without_a_digest_still_answers_its_retry() {
    let remembered = Remembered { request_id: "r".into(), op_digest: 0, response: Response::Released };
    assert!(remembered.answers(12_345), "an older snapshot's answer cannot tell requests apart");
    let digested = Remembered { op_digest: 7, ..remembered };
    assert!(digested.answers(7));
    assert!(!digested.answers(8));
}

#[test]
fn one_user_holds_one_place_in_a_queue_whatever_sessions_they_make_up() {
    let mut sm = with_appointment();
    granted(&sm.apply(&cmd(T0, acquire(&alice(), false))).0);
    for n in 0..crate::limits::QUEUE_LEN_MAX + 5 {
        let tab = actor("bob", &format!("made-up-{n}"), Role::User);
        let (answer, _) = sm.apply(&cmd(T0 + 1, acquire(&tab, true)));
        assert!(matches!(answer, Response::Queued { position: 1, .. }), "tab {n}: {answer:?}");
    }
    assert_eq!(sm.queue("a1").len(), 1, "all of Bob's tabs share his one place");
    // Someone else still gets in line.
    let (answer, _) = sm.apply(&cmd(T0 + 2, acquire(&carol(), true)));
    assert!(matches!(answer, Response::Queued { position: 2, .. }), "{answer:?}");
    // Another of Bob's tabs keeps the shared place alive; the lock goes to the tab that queued.
    let other_tab = actor("bob", "made-up-7", Role::User);
    assert!(matches!(
        sm.apply(&cmd(T0 + 3, Op::Renew { actor: other_tab, appointment_id: "a1".into(), waiting: false })).0,
        Response::Queued { .. }
    ));
    sm.apply(&cmd(T0 + 4, release(&alice(), None)));
    assert_eq!(sm.lock("a1").unwrap().holder.session_id, "made-up-0");
}

#[test]
fn cluster_time_never_goes_backwards() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0 + 1_000, Op::Tick));
    sm.apply(&cmd(T0 + 10, acquire(&alice(), false)));
    assert_eq!(sm.now_ms(), T0 + 1_000);
    assert_eq!(sm.lock("a1").unwrap().acquired_at_ms, T0 + 1_000, "a lagging leader's stamp does not rewind time");
}

#[test]
fn invalid_input_is_rejected_by_the_state_machine_itself() {
    let mut sm = with_appointment();
    let long_ttl = Op::Acquire {
        actor: alice(),
        appointment_id: "a1".into(),
        ttl_ms: LOCK_TTL_MS_MAX + 1,
        wait: false,
        waiter_ttl_ms: WAITER_TTL,
    };
    assert!(matches!(sm.apply(&cmd(T0, long_ttl)).0, Response::Rejected(Rejection::InvalidInput { .. })));
    let mut bad = fields("ok");
    bad.title = "bell\u{7}".into();
    let create = Op::CreateAppointment { actor: alice(), appointment_id: "a2".into(), fields: bad };
    assert!(matches!(sm.apply(&cmd(T0, create)).0, Response::Rejected(Rejection::InvalidInput { .. })));
    let mut backwards = fields("ok");
    backwards.ends_at_ms = backwards.starts_at_ms;
    let create = Op::CreateAppointment { actor: alice(), appointment_id: "a2".into(), fields: backwards };
    assert!(matches!(sm.apply(&cmd(T0, create)).0, Response::Rejected(Rejection::InvalidInput { .. })));
    assert!(sm.appointment("a2").is_none());
    assert!(sm.lock("a1").is_none());
}

#[test]
fn a_draft_keeps_what_was_typed_valid_or_not_within_its_bounds() {
    let mut sm = with_appointment();
    let base = DraftText { title: "Checkup".into(), ..typed("Checkup") };
    let half_typed = typed("");
    let save = |text: DraftText, base: Option<DraftText>| Op::SaveDraft {
        actor: alice(),
        appointment_id: "a1".into(),
        base_version: 1,
        text,
        base,
    };
    // An empty title, a cleared start, half an end: all kept as typed.
    assert_eq!(sm.apply(&cmd(T0, save(half_typed.clone(), Some(base.clone())))).0, Response::DraftSaved);
    let draft = sm.draft("a1", "alice").unwrap();
    assert_eq!((&draft.text, draft.base.as_ref()), (&half_typed, Some(&base)));
    // Bounded all the same, and nothing kept when a bound is broken.
    let long = DraftText { notes: "x".repeat(crate::limits::NOTES_CHARS_MAX + 1), ..typed("t") };
    assert!(matches!(sm.apply(&cmd(T0 + 1, save(long, None))).0, Response::Rejected(Rejection::InvalidInput { .. })));
    let long_base = DraftText { starts_at: "9".repeat(crate::limits::DRAFT_TIME_CHARS_MAX + 1), ..typed("t") };
    let answer = sm.apply(&cmd(T0 + 2, save(typed("t"), Some(long_base)))).0;
    assert!(matches!(answer, Response::Rejected(Rejection::InvalidInput { .. })));
    assert_eq!(sm.draft("a1", "alice").unwrap().text, half_typed, "the refused drafts changed nothing");
}

#[test]
fn a_draft_is_kept_for_its_author_and_cleared_by_their_next_save() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, acquire(&alice(), false)));
    sm.apply(&cmd(T0 + 1, takeover(&admin(), None)));
    let save = Op::SaveDraft {
        actor: alice(),
        appointment_id: "a1".into(),
        base_version: 1,
        text: typed("typed"),
        base: None,
    };
    assert_eq!(sm.apply(&cmd(T0 + 2, save)).0, Response::DraftSaved);
    assert_eq!(sm.draft("a1", "alice").unwrap().text.title, "typed");
    assert!(sm.draft("a1", "bob").is_none());
    sm.apply(&cmd(T0 + 3, release(&admin(), None)));
    let lock = granted(&sm.apply(&cmd(T0 + 4, acquire(&alice(), false))).0);
    sm.apply(&cmd(T0 + 5, update(&alice(), lock.fencing_token, 1, "typed")));
    assert!(sm.draft("a1", "alice").is_none());
}

#[test]
fn snapshot_parts_restore_the_same_state_and_deadlines() {
    let mut sm = with_appointment();
    sm.apply(&Command { issued_at_ms: T0, request_id: Some("r".into()), op: acquire(&alice(), false) });
    sm.apply(&cmd(T0 + 1, acquire(&bob(), true)));
    let restored = LockStateMachine::from_parts(sm.to_parts());
    assert_eq!(restored, sm);
    assert_eq!(restored.next_deadline_ms(), sm.next_deadline_ms());
    assert_eq!(restored.to_parts(), sm.to_parts());
}

#[test]
fn a_holder_and_its_audit_records_share_one_actor_live_and_after_a_restore() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, acquire(&alice(), false)));
    let restored = LockStateMachine::from_parts(sm.to_parts());
    for state in [&sm, &restored] {
        let holder = &state.lock("a1").unwrap().holder;
        let granted = state.audit("a1").last().unwrap().by.as_ref().unwrap();
        assert!(std::sync::Arc::ptr_eq(holder, granted), "a copy per record costs ~200 bytes per lock");
    }
}

#[test]
fn every_map_keyed_by_an_appointment_shares_one_id_live_and_after_a_restore() {
    let mut sm = with_appointment();
    sm.apply(&cmd(T0, acquire(&alice(), false)));
    sm.apply(&cmd(T0 + 1, acquire(&bob(), true)));
    let restored = LockStateMachine::from_parts(sm.to_parts());
    for state in [&sm, &restored] {
        let (appointment_key, _) = state.appointments.get_key_value("a1").unwrap();
        let keys = [
            state.locks.get_key_value("a1").unwrap().0,
            state.queues.get_key_value("a1").unwrap().0,
            state.audit.get_key_value("a1").unwrap().0,
            state.due.by_id.get_key_value("a1").unwrap().0,
            &state.due.by_time.first().unwrap().1,
        ];
        for key in keys {
            assert!(std::sync::Arc::ptr_eq(appointment_key, key), "a copy of the id per map costs ~250 bytes per lock");
        }
    }
}

mod properties {
    //! Random command sequences against the invariants. Each step builds its command from
    //! the current state so tokens and versions are sometimes right and sometimes stale.

    use proptest::prelude::*;

    use super::super::*;
    use super::{T0, actor, fields, typed};

    const APPOINTMENTS: [&str; 3] = ["a1", "a2", "a3"];

    fn actors() -> Vec<Actor> {
        vec![
            actor("u1", "u1-t1", Role::User),
            actor("u1", "u1-t2", Role::User),
            actor("u2", "u2-t1", Role::User),
            actor("u3", "u3-t1", Role::User),
            actor("ad1", "ad1-t1", Role::Admin),
            actor("ad2", "ad2-t1", Role::Admin),
        ]
    }

    #[derive(Debug, Clone)]
    struct Step {
        /// Time advance of the leader's stamp; negative values model a new leader whose
        /// clock lags (skew).
        dt_ms: i64,
        actor: usize,
        appointment: usize,
        kind: u8,
        token_pick: u8,
        version_pick: u8,
        request_id: Option<u8>,
        ttl_ms: u64,
        retry: bool,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            prop_oneof![3 => 0i64..5_000, 2 => 5_000i64..90_000, 1 => -3_000i64..0],
            0..6usize,
            0..3usize,
            0..12u8,
            0..4u8,
            0..3u8,
            proptest::option::weighted(0.5, 0..6u8),
            prop_oneof![Just(1_000u64), Just(20_000), Just(60_000)],
            proptest::bool::weighted(0.15),
        )
            .prop_map(
                |(dt_ms, actor, appointment, kind, token_pick, version_pick, request_id, ttl_ms, retry)| Step {
                    dt_ms,
                    actor,
                    appointment,
                    kind,
                    token_pick,
                    version_pick,
                    request_id,
                    ttl_ms,
                    retry,
                },
            )
    }

    fn build(sm: &LockStateMachine, step: &Step, actors: &[Actor]) -> Op {
        let who = actors[step.actor].clone();
        let id = APPOINTMENTS[step.appointment].to_string();
        let current = sm.lock(&id).map(|l| l.fencing_token);
        let token = match step.token_pick {
            0 => current.unwrap_or(1),
            1 => current.map_or(1, |t| t.saturating_sub(1).max(1)),
            2 => sm.next_fencing_token(),
            _ => 1,
        };
        let version = sm.appointment(&id).map_or(1, |a| a.version) + u64::from(step.version_pick == 2);
        match step.kind {
            0 | 1 => Op::Acquire {
                actor: who,
                appointment_id: id,
                ttl_ms: step.ttl_ms,
                wait: step.kind == 1,
                waiter_ttl_ms: 10_000,
            },
            2 => Op::Renew { actor: who, appointment_id: id, waiting: step.token_pick == 0 },
            3 => Op::Release {
                actor: who,
                appointment_id: id,
                fencing_token: (step.token_pick != 3).then_some(token),
                reason: ReleaseReason::Released,
            },
            4 => Op::Takeover {
                actor: who,
                appointment_id: id,
                ttl_ms: step.ttl_ms,
                reason: "prop".into(),
                expected_fencing_token: (step.token_pick != 3).then_some(token),
            },
            5 | 6 => Op::UpdateAppointment {
                actor: who,
                appointment_id: id,
                fencing_token: token,
                expected_version: version,
                fields: fields(&format!("v{version}")),
            },
            7 => Op::CreateAppointment { actor: who, appointment_id: id, fields: fields("new") },
            9 => Op::MoveLock {
                actor: who,
                appointment_id: id,
                ttl_ms: step.ttl_ms,
                expected_fencing_token: (step.token_pick != 3).then_some(token),
            },
            10 => Op::DiscardDraft { actor: who, appointment_id: id },
            8 => Op::SaveDraft {
                actor: who,
                appointment_id: id,
                base_version: version,
                text: typed("draft"),
                base: None,
            },
            _ => Op::Tick,
        }
    }

    /// What the test knows from events alone, checked against the state after every apply.
    #[derive(Default)]
    struct History {
        holders: std::collections::BTreeMap<String, Lock>,
        tokens_granted: Vec<u64>,
    }

    impl History {
        fn observe(&mut self, events: &[Event], now_before_ms: u64, now_ms: u64) {
            for event in events {
                match event {
                    Event::LockAcquired { lock } => {
                        // Invariant 1: a grant only onto a free lock.
                        assert!(
                            !self.holders.contains_key(&lock.appointment_id),
                            "second holder on {}: {:?} while {:?}",
                            lock.appointment_id,
                            lock.holder,
                            self.holders[&lock.appointment_id].holder
                        );
                        self.grant(lock);
                    }
                    Event::LockTakenOver { lock, previous, .. } | Event::LockMoved { lock, previous } => {
                        assert_eq!(self.holders.get(&lock.appointment_id), Some(previous), "took over a stale holder");
                        if let Event::LockMoved { .. } = event {
                            assert_eq!(lock.holder.user_id, previous.holder.user_id, "moved to another person");
                        }
                        self.holders.remove(&lock.appointment_id);
                        self.grant(lock);
                    }
                    Event::LockRenewed { lock } => {
                        let known = self.holders.get(&lock.appointment_id).expect("renewed a free lock");
                        assert_eq!(known.fencing_token, lock.fencing_token, "a renewal changed the token");
                        self.holders.insert(lock.appointment_id.clone(), lock.clone());
                    }
                    Event::LockReleased { previous, .. } => {
                        assert_eq!(self.holders.remove(&previous.appointment_id).as_ref(), Some(previous));
                    }
                    Event::LockExpired { previous } => {
                        // Invariant 8: never early, and at the first entry whose time passes it.
                        assert!(previous.expires_at_ms <= now_ms, "expired early");
                        assert!(
                            previous.expires_at_ms > now_before_ms,
                            "expiry was late: due before the previous entry"
                        );
                        assert_eq!(self.holders.remove(&previous.appointment_id).as_ref(), Some(previous));
                    }
                    Event::QueueChanged { .. } | Event::AppointmentCreated(_) | Event::AppointmentUpdated(_) => {}
                }
            }
        }

        fn grant(&mut self, lock: &Lock) {
            // Invariant 2: unique and strictly increasing in grant order.
            if let Some(last) = self.tokens_granted.last() {
                assert!(lock.fencing_token > *last, "token {} after {}", lock.fencing_token, last);
            }
            self.tokens_granted.push(lock.fencing_token);
            self.holders.insert(lock.appointment_id.clone(), lock.clone());
        }

        fn matches(&self, sm: &LockStateMachine) {
            let live: std::collections::BTreeMap<String, Lock> =
                sm.locks().map(|l| (l.appointment_id.clone(), l.clone())).collect();
            assert_eq!(live, self.holders, "events and state disagree");
            for lock in sm.locks() {
                assert!(lock.expires_at_ms > sm.now_ms(), "a lapsed lease survived an apply");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn random_histories_keep_every_invariant(steps in proptest::collection::vec(step(), 1..120)) {
            let actors = actors();
            let mut sm = LockStateMachine::new();
            let mut replica = LockStateMachine::new();
            let mut history = History::default();
            let mut log: Vec<Command> = Vec::new();
            for (i, id) in APPOINTMENTS.iter().enumerate().take(2) {
                let create = Command {
                    issued_at_ms: T0,
                    request_id: None,
                    op: Op::CreateAppointment { actor: actors[i].clone(), appointment_id: id.to_string(), fields: fields("seed") },
                };
                sm.apply(&create);
                log.push(create);
            }
            let mut stamp = T0;
            let mut last: Option<(Command, Response)> = None;

            for (i, step) in steps.iter().enumerate() {
                stamp = stamp.saturating_add_signed(step.dt_ms);
                if step.kind == 9
                    && let Some(due_ms) = sm.next_deadline_ms()
                {
                    // The leader's tick lands exactly on the deadline.
                    stamp = stamp.max(due_ms);
                }
                let command = match (&last, step.retry) {
                    (Some((previous, _)), true) if previous.request_id.is_some() => {
                        Command { issued_at_ms: stamp, ..previous.clone() }
                    }
                    _ => Command {
                        issued_at_ms: stamp,
                        request_id: step.request_id.map(|n| format!("s{i}-{n}")),
                        op: build(&sm, step, &actors),
                    },
                };
                let is_retry = last.as_ref().is_some_and(|(p, _)| p.request_id.is_some() && p.request_id == command.request_id && p.op == command.op);

                let before = sm.clone();
                let now_before_ms = sm.now_ms();
                let (response, events) = sm.apply(&command);

                // Cluster time never goes backwards.
                prop_assert!(sm.now_ms() >= now_before_ms);
                history.observe(&events, now_before_ms, sm.now_ms());
                history.matches(&sm);

                // Invariant 7: a retry answers the same and does nothing a bare tick would not.
                if is_retry {
                    let (_, previous_response) = last.as_ref().unwrap();
                    prop_assert_eq!(&response, previous_response);
                    let mut ticked = before.clone();
                    ticked.apply(&Command { issued_at_ms: stamp, request_id: None, op: Op::Tick });
                    prop_assert_eq!(&ticked, &sm);
                }

                // Invariant 3: protected writes.
                if let Op::UpdateAppointment { actor, appointment_id, fencing_token, expected_version, .. } = &command.op {
                    let mut ticked = before.clone();
                    ticked.apply(&Command { issued_at_ms: stamp, request_id: None, op: Op::Tick });
                    match &response {
                        Response::AppointmentSaved(saved) if !is_retry => {
                            let lock = ticked.lock(appointment_id).expect("saved without a lock");
                            prop_assert_eq!(lock.fencing_token, *fencing_token);
                            prop_assert_eq!(&lock.holder.session_id, &actor.session_id);
                            prop_assert_eq!(ticked.appointment(appointment_id).unwrap().version, *expected_version);
                            prop_assert_eq!(saved.version, expected_version + 1);
                        }
                        Response::Rejected(_) => {
                            prop_assert_eq!(sm.appointment(appointment_id), ticked.appointment(appointment_id));
                            prop_assert_eq!(sm.lock(appointment_id), ticked.lock(appointment_id));
                        }
                        _ => {}
                    }
                }

                // Invariant 9: a takeover event comes with its audit record, in this apply.
                for event in &events {
                    if let Event::LockTakenOver { lock, previous, .. } = event {
                        let record = sm.audit(&lock.appointment_id).last().expect("no audit record");
                        prop_assert_eq!(record.action, AuditAction::TakenOver);
                        prop_assert_eq!(record.fencing_token, Some(lock.fencing_token));
                        prop_assert_eq!(record.from_fencing_token, Some(previous.fencing_token));
                        prop_assert_eq!(record.at_ms, sm.now_ms());
                    }
                }

                log.push(command.clone());
                last = Some((command, response));
            }

            // Invariant 5: the same log gives the same state, also through a snapshot taken
            // half-way and restored.
            let half = log.len() / 2;
            for command in &log[..half] {
                replica.apply(command);
            }
            let mut restored = LockStateMachine::from_parts(replica.to_parts());
            for command in &log[half..] {
                let expected = replica.apply(command);
                prop_assert_eq!(restored.apply(command), expected);
            }
            prop_assert_eq!(&restored, &sm);
            prop_assert_eq!(&replica, &sm);
            prop_assert_eq!(restored.next_deadline_ms(), sm.next_deadline_ms());
        }

        /// Invariant 8 from the leader's side: with a tick appended as soon as a deadline
        /// passes (within `gap_ms`), no lease outlives its expiry by more than the gap.
        #[test]
        fn with_prompt_ticks_a_lease_lapses_within_the_tick_gap(
            ttls in proptest::collection::vec(1_000u64..30_000, 1..20),
            gap_ms in prop_oneof![Just(0u64), 0u64..2_000],
        ) {
            let actors = actors();
            let mut sm = LockStateMachine::new();
            for id in APPOINTMENTS {
                sm.apply(&Command { issued_at_ms: T0, request_id: None, op: Op::CreateAppointment { actor: actors[0].clone(), appointment_id: id.into(), fields: fields("x") } });
            }
            let mut now = T0;
            for (i, ttl_ms) in ttls.iter().enumerate() {
                let id = APPOINTMENTS[i % 3].to_string();
                now += 10;
                sm.apply(&Command { issued_at_ms: now, request_id: None, op: Op::Acquire { actor: actors[i % 6].clone(), appointment_id: id, ttl_ms: *ttl_ms, wait: true, waiter_ttl_ms: 60_000 } });
            }
            while let Some(due_ms) = sm.next_deadline_ms() {
                prop_assert!(due_ms > now, "a deadline passed without an entry");
                let tick_at = due_ms + gap_ms;
                now = tick_at;
                let (_, events) = sm.apply(&Command { issued_at_ms: tick_at, request_id: None, op: Op::Tick });
                for event in events {
                    if let Event::LockExpired { previous } = event {
                        prop_assert!(tick_at >= previous.expires_at_ms);
                        prop_assert!(tick_at - previous.expires_at_ms <= gap_ms);
                    }
                }
            }
            prop_assert_eq!(sm.locks().count(), 0);
        }
    }
}
