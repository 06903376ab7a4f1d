//! Exactly-once retries (Raft thesis §6.3): the responses of recent requests per client
//! session, so a retried write with the same request id answers the same and applies once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::command::Response;
use super::types::SessionId;
use crate::limits;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionRecord {
    pub last_seen_ms: u64,
    /// Oldest first; at most `REQUESTS_REMEMBERED_PER_SESSION`.
    pub recent: VecDeque<Remembered>,
}

/// The answer to one request, kept for its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    pub request_id: String,
    /// What the request asked for (`digest::op_digest`); 0 when it was remembered before
    /// digests existed (an older snapshot).
    pub op_digest: u64,
    pub response: Response,
}

impl Remembered {
    /// Whether a request with this digest is a retry of the remembered one.
    pub fn answers(&self, op_digest: u64) -> bool {
        self.op_digest == 0 || self.op_digest == op_digest
    }
}

#[derive(Debug, Clone, Default)]
pub struct Sessions {
    records: BTreeMap<SessionId, SessionRecord>,
    /// Derived index (rebuilt on restore): sessions by last activity, oldest first.
    by_last_seen: BTreeSet<(u64, SessionId)>,
}

impl PartialEq for Sessions {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records
    }
}
impl Eq for Sessions {}

impl Sessions {
    pub fn from_records(records: BTreeMap<SessionId, SessionRecord>) -> Self {
        let by_last_seen = records.iter().map(|(id, r)| (r.last_seen_ms, id.clone())).collect();
        Sessions { records, by_last_seen }
    }

    pub fn records(&self) -> &BTreeMap<SessionId, SessionRecord> {
        &self.records
    }

    pub fn lookup(&self, session_id: &str, request_id: &str) -> Option<&Remembered> {
        let record = self.records.get(session_id)?;
        record.recent.iter().find(|r| r.request_id == request_id)
    }

    pub fn remember(&mut self, session_id: &str, request_id: &str, op_digest: u64, response: &Response, now_ms: u64) {
        let record = match self.records.get_mut(session_id) {
            Some(record) => {
                self.by_last_seen.remove(&(record.last_seen_ms, session_id.to_owned()));
                record
            }
            // Most sessions make a few requests: start small (a remembered answer is ~200 bytes).
            None => self
                .records
                .entry(session_id.to_owned())
                .or_insert_with(|| SessionRecord { last_seen_ms: now_ms, recent: VecDeque::with_capacity(1) }),
        };
        record.last_seen_ms = now_ms;
        record.recent.push_back(Remembered {
            request_id: request_id.to_owned(),
            op_digest,
            response: response.clone(),
        });
        while record.recent.len() > limits::REQUESTS_REMEMBERED_PER_SESSION {
            record.recent.pop_front();
        }
        self.by_last_seen.insert((now_ms, session_id.to_owned()));
        while self.records.len() > limits::SESSIONS_MAX {
            self.forget_oldest();
        }
        debug_assert_eq!(self.records.len(), self.by_last_seen.len());
    }

    /// The actors in remembered answers (granted locks, queues), to share with the state's.
    pub(super) fn actors_mut(&mut self) -> impl Iterator<Item = &mut std::sync::Arc<super::types::Actor>> {
        self.records.values_mut().flat_map(|r| r.recent.iter_mut()).flat_map(|remembered| {
            let (lock, queue) = match &mut remembered.response {
                Response::Granted { lock, .. } => (Some(lock), &mut [][..]),
                Response::Queued { queue, .. } => (None, queue.as_mut_slice()),
                _ => (None, &mut [][..]),
            };
            lock.into_iter().map(|l| &mut l.holder).chain(queue.iter_mut().map(|w| &mut w.actor))
        })
    }

    /// Forgets sessions idle for longer than `SESSION_IDLE_MS` of cluster time.
    pub fn forget_idle(&mut self, now_ms: u64) {
        while let Some((last_seen_ms, _)) = self.by_last_seen.first() {
            if last_seen_ms.saturating_add(limits::SESSION_IDLE_MS) > now_ms {
                break;
            }
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((_, session_id)) = self.by_last_seen.pop_first() {
            self.records.remove(&session_id);
        }
    }
}
