//! The lock holder's tab went away: when its last socket closes and no socket of that tab
//! is back (on this node or, as the relay tells, on another) within the grace period, the
//! node proposes a release with reason `disconnected`, fenced by the token the holder had.
//!
//! The fencing token makes a late release harmless: if the tab reacquired, or someone else
//! holds the lock by then, the state machine refuses it. The request id is derived from the
//! token, so two nodes that both decide to release apply it once. A node that dies takes
//! this timer with it; the lease's inactivity expiry is the backstop.

use std::time::Duration;

use lockd_raft::sm::{Actor, Op, ReleaseReason};

use super::ViewerKey;
use crate::AppState;

/// Called when a socket of `actor`'s tab on `appointment_id` closed.
pub fn socket_closed(state: &AppState, appointment_id: &str, actor: Actor) {
    let Some(grace_ms) = state.config.disconnect_grace_ms else { return };
    let key = ViewerKey::of(appointment_id, &actor);
    if holders_token(state, &key).is_none() || state.presence.is_present(&key) {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(grace_ms)).await;
        if state.presence.is_present(&key) {
            return;
        }
        let Some(token) = holders_token(&state, &key) else { return };
        let op = Op::Release {
            actor,
            appointment_id: key.appointment_id.clone(),
            fencing_token: Some(token),
            reason: ReleaseReason::Disconnected,
        };
        // In a namespace no client can write (client keys have no `/`): a holder who used this key
        // first must not be able to keep the release from applying.
        let request_id = format!("lockd/disconnect/{}/{token}", key.appointment_id);
        match state.node.submit(request_id, op).await {
            Ok(applied) => tracing::info!(
                appointment = %key.appointment_id, user = %key.user_id, token, answer = ?applied.response,
                "released the lock of a disconnected holder"
            ),
            Err(e) => {
                tracing::warn!(appointment = %key.appointment_id, error = %e, "could not release a disconnected holder's lock")
            }
        }
    });
}

/// The fencing token of the lock, if this tab holds it (on this node's applied state).
fn holders_token(state: &AppState, key: &ViewerKey) -> Option<u64> {
    state.node.read(|applied| {
        applied
            .sm
            .lock(&key.appointment_id)
            .filter(|lock| lock.holder.user_id == key.user_id && lock.holder.session_id == key.session_id)
            .map(|lock| lock.fencing_token)
    })
}
