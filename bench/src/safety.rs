//! The safety check from the outside, over what clients were told: the fencing tokens of a
//! lock belong to one tenure each and strictly increase in grant order, and no two
//! acknowledged tenures of one lock overlap. Used by the benchmark and the chaos tests.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One acknowledged grant, as its client saw it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub lock: String,
    pub client: usize,
    pub token: u64,
    /// When the client heard it holds the lock.
    pub acked_at: Instant,
    /// A lower bound of when the tenure ended: the release was sent, or the lease (counted
    /// from the first send of the acquire, before the server applied it) ran out.
    pub ended_by: Instant,
}

/// Every grant of a run, recorded from many tasks.
#[derive(Default)]
pub struct History {
    grants: Mutex<Vec<Grant>>,
}

impl History {
    pub fn record(&self, grant: Grant) {
        self.grants.lock().unwrap().push(grant);
    }

    pub fn len(&self) -> usize {
        self.grants.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest token acknowledged for `lock`.
    pub fn highest_token(&self, lock: &str) -> Option<u64> {
        self.grants.lock().unwrap().iter().filter(|g| g.lock == lock).map(|g| g.token).max()
    }

    pub fn violations(&self) -> Vec<String> {
        violations(&self.grants.lock().unwrap())
    }
}

/// The violations among `grants`, each described for a person; empty when the history is safe.
pub fn violations(grants: &[Grant]) -> Vec<String> {
    let mut by_lock: BTreeMap<&str, Vec<&Grant>> = BTreeMap::new();
    for grant in grants {
        by_lock.entry(&grant.lock).or_default().push(grant);
    }
    let mut found = Vec::new();
    for (lock, grants) in by_lock {
        // One tenure per token: a token acknowledged twice must be the same client (a renewal
        // or a retried acquire answered again).
        let mut tenures: BTreeMap<u64, Grant> = BTreeMap::new();
        for grant in grants {
            match tenures.get_mut(&grant.token) {
                None => {
                    tenures.insert(grant.token, grant.clone());
                }
                Some(tenure) if tenure.client == grant.client => {
                    tenure.acked_at = tenure.acked_at.min(grant.acked_at);
                    tenure.ended_by = tenure.ended_by.max(grant.ended_by);
                }
                Some(tenure) => found.push(format!(
                    "{lock}: token {} granted to clients {} and {}",
                    grant.token, tenure.client, grant.client
                )),
            }
        }
        // In token order, every earlier tenure ended before a later one was acknowledged: it
        // is enough to compare each tenure with the latest end among those before it.
        let mut latest_end: Option<&Grant> = None;
        for later in tenures.values() {
            if let Some(earlier) = latest_end
                && earlier.ended_by > later.acked_at
            {
                found.push(format!(
                    "{lock}: token {} (client {}) still held {:?} after token {} (client {}) was acknowledged",
                    earlier.token,
                    earlier.client,
                    earlier.ended_by - later.acked_at,
                    later.token,
                    later.client
                ));
            }
            if latest_end.is_none_or(|e| later.ended_by > e.ended_by) {
                latest_end = Some(later);
            }
        }
    }
    found
}

/// The end of a tenure as the checker counts it: the release was sent, or the lease ran out.
pub fn tenure_end(release_sent: Instant, acquire_first_sent: Instant, lease: Duration) -> Instant {
    release_sent.min(acquire_first_sent + lease)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(lock: &str, client: usize, token: u64, acked_ms: u64, ended_ms: u64, zero: Instant) -> Grant {
        Grant {
            lock: lock.into(),
            client,
            token,
            acked_at: zero + Duration::from_millis(acked_ms),
            ended_by: zero + Duration::from_millis(ended_ms),
        }
    }

    #[test]
    fn a_safe_history_has_no_violations() {
        let zero = Instant::now();
        let grants = vec![
            grant("a", 1, 1, 0, 10, zero),
            grant("a", 2, 2, 11, 20, zero),
            // A renewal: the same client hears its token again.
            grant("a", 2, 2, 15, 25, zero),
            grant("a", 1, 5, 26, 30, zero),
            // Another lock may overlap freely.
            grant("b", 2, 3, 0, 40, zero),
        ];
        assert_eq!(violations(&grants), Vec::<String>::new());
    }

    #[test]
    fn overlapping_tenures_and_shared_tokens_are_caught() {
        let zero = Instant::now();
        let overlap = vec![grant("a", 1, 1, 0, 10, zero), grant("a", 2, 2, 5, 20, zero)];
        assert_eq!(violations(&overlap).len(), 1, "{:?}", violations(&overlap));
        let shared = vec![grant("a", 1, 7, 0, 10, zero), grant("a", 2, 7, 20, 30, zero)];
        assert!(violations(&shared)[0].contains("token 7 granted to clients 1 and 2"));
        // A token that goes back in grant order: the lower token was acknowledged later while
        // the higher one was still held.
        let backwards = vec![grant("a", 1, 9, 0, 50, zero), grant("a", 2, 3, 10, 20, zero)];
        assert_eq!(violations(&backwards).len(), 1);
    }

    #[test]
    fn a_long_tenure_is_compared_with_every_later_one() {
        // Token 1 is held until 100 ms; token 2 ends early; token 3 starts at 50 ms and
        // overlaps token 1, not token 2. Comparing neighbours only would miss it.
        let zero = Instant::now();
        let grants = vec![grant("a", 1, 1, 0, 100, zero), grant("a", 2, 2, 0, 0, zero), grant("a", 3, 3, 50, 60, zero)];
        let found = violations(&grants);
        assert!(found.iter().any(|v| v.contains("token 1 (client 1)") && v.contains("token 3")), "{found:?}");
    }
}
