//! Caps on open WebSockets, per user and per node. Each socket costs its task, buffers and a
//! place in its room's fan-out; without a cap one user opened 2,000 and took a node from
//! 64 MiB to 2 GiB. A socket takes a [`SocketPermit`] before it is upgraded and gives it back
//! when it ends; over a cap, the upgrade is refused with a problem that says which.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;

use crate::problem::Problem;

/// How many sockets may be open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketCaps {
    /// One user's sockets on this node (all their tabs: an appointment's and the list's).
    pub per_user: u32,
    /// Every socket on this node.
    pub per_node: u32,
}

impl Default for SocketCaps {
    fn default() -> Self {
        SocketCaps {
            per_user: crate::limits::WS_SOCKETS_PER_USER_MAX_DEFAULT,
            per_node: crate::limits::WS_SOCKETS_PER_NODE_MAX_DEFAULT,
        }
    }
}

/// The sockets open on this node, by user.
#[derive(Debug)]
pub struct OpenSockets {
    caps: SocketCaps,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    by_user: HashMap<String, u32>,
}

impl OpenSockets {
    pub fn new(caps: SocketCaps) -> Arc<Self> {
        Arc::new(OpenSockets { caps, counts: Mutex::default() })
    }

    /// A place for one more socket of `user_id`, or the problem that refuses it.
    pub fn admit(self: &Arc<Self>, user_id: &str) -> Result<SocketPermit, Problem> {
        let mut counts = self.counts.lock().expect("no panic while held");
        if counts.total >= self.caps.per_node {
            let mut problem = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_sockets_on_node",
                format!("this node serves its most live connections ({}); try another node", self.caps.per_node),
            );
            problem.retry_after_secs = Some(1);
            return Err(problem);
        }
        let mine = counts.by_user.get(user_id).copied().unwrap_or(0);
        if mine >= self.caps.per_user {
            return Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_sockets",
                format!(
                    "you have {mine} live connections open on this node, the most one person may; close a tab first"
                ),
            ));
        }
        counts.total += 1;
        *counts.by_user.entry(user_id.to_owned()).or_default() += 1;
        Ok(SocketPermit { sockets: self.clone(), user_id: user_id.to_owned() })
    }

    /// Open sockets on this node (for metrics and tests).
    pub fn total(&self) -> u32 {
        self.counts.lock().expect("no panic while held").total
    }

    fn release(&self, user_id: &str) {
        let mut counts = self.counts.lock().expect("no panic while held");
        counts.total -= 1;
        if let Some(mine) = counts.by_user.get_mut(user_id) {
            *mine -= 1;
            if *mine == 0 {
                counts.by_user.remove(user_id);
            }
        }
    }
}

/// One open socket's place; dropping it frees the place.
#[derive(Debug)]
pub struct SocketPermit {
    sockets: Arc<OpenSockets>,
    user_id: String,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        self.sockets.release(&self.user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_users_sockets_stop_at_their_cap_and_others_are_unaffected() {
        let sockets = OpenSockets::new(SocketCaps { per_user: 2, per_node: 10 });
        let a1 = sockets.admit("alice").unwrap();
        let _a2 = sockets.admit("alice").unwrap();
        let refused = sockets.admit("alice").unwrap_err();
        assert_eq!((refused.status, refused.code), (StatusCode::TOO_MANY_REQUESTS, "too_many_sockets"));
        let _b1 = sockets.admit("bob").unwrap();
        drop(a1);
        let _a3 = sockets.admit("alice").expect("a closed socket frees its place");
        assert_eq!(sockets.total(), 3, "the refused attempt and the dropped permit are not counted");
    }

    #[test]
    fn the_node_cap_holds_across_users_and_frees_with_each_socket() {
        let sockets = OpenSockets::new(SocketCaps { per_user: 10, per_node: 3 });
        let permits: Vec<_> = ["a", "b", "c"].iter().map(|u| sockets.admit(u).unwrap()).collect();
        let refused = sockets.admit("d").unwrap_err();
        assert_eq!((refused.status, refused.code), (StatusCode::SERVICE_UNAVAILABLE, "too_many_sockets_on_node"));
        assert_eq!(refused.retry_after_secs, Some(1));
        drop(permits);
        assert_eq!(sockets.total(), 0);
        assert!(sockets.counts.lock().unwrap().by_user.is_empty(), "no entry left behind per user");
    }
}
