//! Appointment data: create, the fenced update, and drafts of displaced editors.

use super::LockStateMachine;
use super::command::{Event, Op, Rejection, Response};
use super::types::{Actor, Appointment, AppointmentFields, Draft, DraftText};
use crate::limits;

pub(super) fn check_appointment_input(op: &Op) -> Result<(), String> {
    match op {
        Op::CreateAppointment { fields, .. } | Op::UpdateAppointment { fields, .. } => fields.validate(),
        Op::SaveDraft { text, base, .. } => {
            text.validate()?;
            base.as_ref().map_or(Ok(()), DraftText::validate)
        }
        _ => Ok(()),
    }
}

impl LockStateMachine {
    pub(super) fn create_appointment(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        fields: &AppointmentFields,
        events: &mut Vec<Event>,
    ) -> Response {
        if let Some(current) = self.appointments.get(appointment_id) {
            return Response::Rejected(Rejection::AlreadyExists { current: current.clone() });
        }
        if self.appointments.len() >= limits::APPOINTMENTS_MAX {
            return Response::Rejected(Rejection::CapacityExceeded);
        }
        let appointment = Appointment {
            id: appointment_id.to_owned(),
            fields: fields.clone(),
            version: 1,
            updated_by: actor.user_id.clone(),
            updated_by_name: actor.name.clone(),
            updated_at_ms: self.now_ms,
        };
        let id = self.shared_id(appointment_id);
        self.appointments.insert(id, appointment.clone());
        events.push(Event::AppointmentCreated(appointment.clone()));
        Response::AppointmentSaved(appointment)
    }

    /// The fenced save gate: the write applies only with the current grant's token, from the
    /// holder's session, at the version the editor started from. Anything else changes
    /// nothing and answers with the current state.
    pub(super) fn update_appointment(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        fencing_token: u64,
        expected_version: u64,
        fields: &AppointmentFields,
        events: &mut Vec<Event>,
    ) -> Response {
        let Some(current) = self.appointments.get(appointment_id) else {
            return Response::Rejected(Rejection::NotFound);
        };
        // PLANTED BUG: neither token nor session is checked; any save is taken as the holder's.
        #[cfg(feature = "planted-bugs")]
        let unfenced = match (self.planted, self.locks.get(appointment_id)) {
            (Some(super::PlantedBug::UnfencedUpdate), Some(lock)) => {
                Some((lock.fencing_token, Actor::clone(&lock.holder)))
            }
            _ => None,
        };
        #[cfg(feature = "planted-bugs")]
        let (fencing_token, actor) = match &unfenced {
            Some((token, holder)) => (*token, holder),
            None => (fencing_token, actor),
        };
        match self.locks.get(appointment_id) {
            None if fencing_token < self.next_fencing_token => {
                return Response::Rejected(Rejection::StaleToken { lock: None });
            }
            None => return Response::Rejected(Rejection::NotHolder { lock: None }),
            Some(lock) if lock.fencing_token != fencing_token => {
                return Response::Rejected(Rejection::StaleToken { lock: Some(lock.clone()) });
            }
            Some(lock) if !lock.holder.same_session(actor) => {
                return Response::Rejected(Rejection::NotHolder { lock: Some(lock.clone()) });
            }
            Some(_) => {}
        }
        if current.version != expected_version {
            return Response::Rejected(Rejection::VersionConflict { current: current.clone() });
        }
        let updated = Appointment {
            id: appointment_id.to_owned(),
            fields: fields.clone(),
            version: current.version + 1,
            updated_by: actor.user_id.clone(),
            updated_by_name: actor.name.clone(),
            updated_at_ms: self.now_ms,
        };
        let id = self.shared_id(appointment_id);
        self.appointments.insert(id, updated.clone());
        // A saved form supersedes the editor's older draft.
        self.drafts.remove(&(appointment_id.to_owned(), actor.user_id.clone()));
        events.push(Event::AppointmentUpdated(updated.clone()));
        // Saving is editing activity: it renews the lease.
        let _ = self.renew(actor, appointment_id, false, events);
        Response::AppointmentSaved(updated)
    }

    pub(super) fn save_draft(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        base_version: u64,
        text: &DraftText,
        base: Option<&DraftText>,
    ) -> Response {
        if !self.appointments.contains_key(appointment_id) {
            return Response::Rejected(Rejection::NotFound);
        }
        let key = (appointment_id.to_owned(), actor.user_id.clone());
        let draft = Draft {
            appointment_id: appointment_id.to_owned(),
            user_id: actor.user_id.clone(),
            base_version,
            text: text.clone(),
            base: base.cloned(),
            saved_at_ms: self.now_ms,
        };
        self.drafts.insert(key, draft);
        let mut of_appointment: Vec<(u64, String)> = self
            .drafts
            .range((appointment_id.to_owned(), String::new())..)
            .take_while(|((id, _), _)| id == appointment_id)
            .filter(|((_, user), _)| *user != actor.user_id)
            .map(|((_, user), d)| (d.saved_at_ms, user.clone()))
            .collect();
        if of_appointment.len() + 1 > limits::DRAFTS_PER_APPOINTMENT_MAX {
            of_appointment.sort();
            let (_, oldest_user) = &of_appointment[0];
            self.drafts.remove(&(appointment_id.to_owned(), oldest_user.clone()));
        }
        Response::DraftSaved
    }

    /// Idempotent: discarding a draft that is not there answers the same.
    pub(super) fn discard_draft(&mut self, actor: &Actor, appointment_id: &str) -> Response {
        if !self.appointments.contains_key(appointment_id) {
            return Response::Rejected(Rejection::NotFound);
        }
        self.drafts.remove(&(appointment_id.to_owned(), actor.user_id.clone()));
        Response::Applied
    }
}
