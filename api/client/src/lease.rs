//! Keeping a lease alive, and saying how sure the holder can be that it still holds it.
//!
//! The lease is counted on this process's monotonic clock from when the acquire (or the
//! renewal) was *sent*: the leader started it no earlier, so the local end comes no later
//! than the real one. A renewal is due a third of the way in; when none has succeeded by two
//! thirds the lease is at risk (finish or stop, start nothing new); at the end it is lost.
//! A process paused past its lease (GC, SIGSTOP, a swapped-out VM) wakes up to `Lost`, but
//! may already be past its last check: that is what the fencing token at the resource is for.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::client::{Client, Error, Released};

/// Where a lease stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// Held until at least `until` (this process's monotonic clock).
    Held { until: Instant },
    /// No renewal succeeded for two thirds of the lease: it ends at `until` unless one does.
    AtRisk { until: Instant, reason: String },
    /// Over: stop writing under its token.
    Lost(LossReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossReason {
    /// No renewal succeeded before the lease ended.
    Expired,
    /// The cluster says the lock is not this session's (it lapsed, or an admin took it over).
    NotHolder,
    /// Released by this process.
    Released,
}

/// The outcome of one renewal.
#[derive(Debug)]
pub(crate) enum Renewal {
    /// Renewed for `ttl` from when it was sent.
    Renewed {
        ttl: Duration,
    },
    NotHolder,
    /// No answer, or not one that says: try again.
    Failed(String),
}

/// What renews a lease (a heartbeat, or a test's script).
pub(crate) trait Renew: Send + Sync + 'static {
    fn renew(&self) -> impl Future<Output = Renewal> + Send;
}

/// A held lock whose lease is kept alive in the background; see the module's notes. Dropping
/// it stops the renewals (the lock then lapses after its ttl); `release` lets go at once.
pub struct Lease {
    client: Client,
    appointment_id: String,
    fencing_token: u64,
    state: watch::Receiver<LeaseState>,
    renewals: tokio::task::JoinHandle<()>,
}

impl Lease {
    pub(crate) fn start(
        client: Client,
        appointment_id: String,
        fencing_token: u64,
        ttl: Duration,
        sent_at: Instant,
        renewer: impl Renew,
    ) -> Lease {
        let (sender, state) = watch::channel(LeaseState::Held { until: sent_at + ttl });
        let renewals = tokio::spawn(keep_alive(renewer, ttl, sent_at, sender));
        Lease { client, appointment_id, fencing_token, state, renewals }
    }

    pub fn appointment_id(&self) -> &str {
        &self.appointment_id
    }

    /// The token to send with every write this lock guards.
    pub fn fencing_token(&self) -> u64 {
        self.fencing_token
    }

    pub fn state(&self) -> LeaseState {
        self.state.borrow().clone()
    }

    /// Held, or at risk but not yet over, now.
    pub fn is_held(&self) -> bool {
        match &*self.state.borrow() {
            LeaseState::Held { until } | LeaseState::AtRisk { until, .. } => Instant::now() < *until,
            LeaseState::Lost(_) => false,
        }
    }

    /// A receiver of every change, to `select!` on next to the work the lock guards.
    pub fn subscribe(&self) -> watch::Receiver<LeaseState> {
        self.state.clone()
    }

    /// Waits until the lease is lost; why.
    pub async fn lost(&mut self) -> LossReason {
        let lost = self.state.wait_for(|s| matches!(s, LeaseState::Lost(_))).await;
        match lost.as_deref() {
            Ok(LeaseState::Lost(reason)) => *reason,
            // The renewals ended without saying why: only when the runtime shuts down.
            _ => LossReason::Expired,
        }
    }

    /// Stops the renewals and releases the lock.
    pub async fn release(self) -> Result<Released, Error> {
        self.renewals.abort();
        self.client.release(&self.appointment_id, self.fencing_token).await
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewals.abort();
    }
}

/// The smallest pause between renewals that failed.
const RETRY_PAUSE_MIN: Duration = Duration::from_millis(50);

async fn keep_alive(renewer: impl Renew, mut ttl: Duration, sent_at: Instant, state: watch::Sender<LeaseState>) {
    let mut until = sent_at + ttl;
    let mut renew_at = sent_at + ttl / 3;
    let mut at_risk_at = until - ttl / 3;
    loop {
        tokio::time::sleep_until(renew_at.min(until)).await;
        if Instant::now() >= until {
            state.send_replace(LeaseState::Lost(LossReason::Expired));
            return;
        }
        let sent = Instant::now();
        let renewal = renewer.renew();
        tokio::pin!(renewal);
        // While the renewal is out, the lease may pass two thirds, then its end.
        let outcome = loop {
            let at_risk = !matches!(*state.borrow(), LeaseState::Held { .. });
            tokio::select! {
                outcome = &mut renewal => break Some(outcome),
                _ = tokio::time::sleep_until(until) => break None,
                _ = tokio::time::sleep_until(at_risk_at), if !at_risk => {
                    state.send_replace(LeaseState::AtRisk { until, reason: "no renewal answered yet".into() });
                }
            }
        };
        match outcome {
            None => {
                state.send_replace(LeaseState::Lost(LossReason::Expired));
                return;
            }
            Some(Renewal::Renewed { ttl: renewed }) => {
                ttl = renewed;
                until = sent + ttl;
                renew_at = sent + ttl / 3;
                at_risk_at = until - ttl / 3;
                state.send_replace(LeaseState::Held { until });
            }
            Some(Renewal::NotHolder) => {
                state.send_replace(LeaseState::Lost(LossReason::NotHolder));
                return;
            }
            Some(Renewal::Failed(reason)) => {
                if Instant::now() >= at_risk_at {
                    state.send_replace(LeaseState::AtRisk { until, reason });
                }
                renew_at = Instant::now() + (ttl / 10).max(RETRY_PAUSE_MIN);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! On tokio's paused clock: time moves only when every task waits, so each step below
    //! happens at an exact instant.

    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Answers renewals from a script: each entry is how long the answer takes and what it is.
    #[derive(Clone, Default)]
    struct Script {
        answers: Arc<Mutex<VecDeque<(Duration, Renewal)>>>,
        asked_at: Arc<Mutex<Vec<Instant>>>,
    }

    impl Script {
        fn new(answers: Vec<(u64, Renewal)>) -> Script {
            let answers = answers.into_iter().map(|(ms, r)| (Duration::from_millis(ms), r)).collect();
            Script { answers: Arc::new(Mutex::new(answers)), asked_at: Arc::default() }
        }
    }

    impl Renew for Script {
        async fn renew(&self) -> Renewal {
            self.asked_at.lock().unwrap().push(Instant::now());
            let next = self.answers.lock().unwrap().pop_front();
            let Some((takes, answer)) = next else { return std::future::pending().await };
            tokio::time::sleep(takes).await;
            answer
        }
    }

    const TTL: Duration = Duration::from_millis(3_000);

    fn renewed() -> Renewal {
        Renewal::Renewed { ttl: TTL }
    }

    /// Runs the keep-alive until `ms` after the start; every state it published, with when.
    async fn states_until(script: &Script, ms: u64) -> Vec<(u64, LeaseState)> {
        let start = Instant::now();
        let (sender, mut receiver) = watch::channel(LeaseState::Held { until: start + TTL });
        let task = tokio::spawn(keep_alive(script.clone(), TTL, start, sender));
        let mut seen = Vec::new();
        let end = start + Duration::from_millis(ms);
        while let Ok(Ok(())) = tokio::time::timeout_at(end, receiver.changed()).await {
            seen.push(((Instant::now() - start).as_millis() as u64, receiver.borrow_and_update().clone()));
        }
        task.abort();
        seen
    }

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[tokio::test(start_paused = true)]
    async fn renewals_a_third_of_the_way_in_keep_it_held() {
        let start = Instant::now();
        let script = Script::new(vec![(10, renewed()), (10, renewed()), (10, renewed())]);
        let seen = states_until(&script, 3_100).await;
        assert_eq!(
            seen,
            vec![
                (1_010, LeaseState::Held { until: at(start, 4_000) }),
                (2_010, LeaseState::Held { until: at(start, 5_000) }),
                (3_010, LeaseState::Held { until: at(start, 6_000) }),
            ]
        );
        let asked: Vec<u64> = script.asked_at.lock().unwrap().iter().map(|t| (*t - start).as_millis() as u64).collect();
        assert_eq!(asked, vec![1_000, 2_000, 3_000]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_that_hangs_is_at_risk_at_two_thirds_and_lost_at_the_end() {
        let start = Instant::now();
        let script = Script::new(vec![]);
        let seen = states_until(&script, 5_000).await;
        assert_eq!(
            seen,
            vec![
                (2_000, LeaseState::AtRisk { until: at(start, 3_000), reason: "no renewal answered yet".into() }),
                (3_000, LeaseState::Lost(LossReason::Expired)),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_renewals_are_retried_and_one_that_succeeds_ends_the_risk() {
        let start = Instant::now();
        let failed = || Renewal::Failed("no leader".into());
        // Fails at 1 s (not yet at risk), then every 300 ms; at 2.2 s a retry is late, so
        // the lease is at risk from 2 s; the retry at 2.5 s succeeds.
        let script = Script::new(vec![(0, failed()), (0, failed()), (0, failed()), (300, failed()), (0, renewed())]);
        let seen = states_until(&script, 2_600).await;
        assert_eq!(
            seen,
            vec![
                (2_000, LeaseState::AtRisk { until: at(start, 3_000), reason: "no renewal answered yet".into() }),
                (2_200, LeaseState::AtRisk { until: at(start, 3_000), reason: "no leader".into() }),
                (2_500, LeaseState::Held { until: at(start, 5_500) }),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_cluster_saying_not_holder_ends_it_at_once() {
        let script = Script::new(vec![(5, Renewal::NotHolder)]);
        let seen = states_until(&script, 10_000).await;
        assert_eq!(seen, vec![(1_005, LeaseState::Lost(LossReason::NotHolder))]);
    }
}
