//! The OpenAPI 3.1 document of the HTTP contract, generated from the handlers' annotations
//! and the JSON types (utoipa), served at `GET /openapi.json`. The WebSocket message types
//! are described in `docs/api.md`; OpenAPI has no vocabulary for them.

use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::responses as problems;
use crate::routes::{appointments, cluster, locks, login, updates};

#[derive(OpenApi)]
#[openapi(
    info(title = "lockd", description = "Appointment edit locks on a Raft-replicated lock cluster. Every node serves this API; writes are forwarded to the leader."),
    paths(
        appointments::list, appointments::get, appointments::create, appointments::update,
        appointments::save_draft, appointments::get_draft, appointments::discard_draft,
        locks::lock_status, locks::acquire, locks::heartbeat, locks::release, locks::takeover, locks::continue_here,
        locks::audit, locks::recent_audit,
        updates::appointment_updates, updates::all_updates,
        cluster::status, cluster::healthz, cluster::readyz, cluster::add_member, cluster::remove_member,
        login::dev_login, login::auth_config, login::me, crate::metrics::metrics,
    ),
    components(
        schemas(crate::problem::ProblemDoc),
        responses(
            problems::Unauthenticated, problems::Forbidden, problems::InvalidInput, problems::NoSuchAppointment,
            problems::RateLimited, problems::NoLeader, problems::NotLeader,
        ),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "appointments", description = "Appointments, fenced saves, drafts"),
        (name = "locks", description = "Edit locks: acquire or queue, renew, release, continue in another tab, admin takeover, audit"),
        (name = "live", description = "WebSocket streams"),
        (name = "cluster", description = "Health, status, membership, metrics"),
        (name = "auth", description = "How to sign in; demo sign-in (dev mode)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

pub async fn document() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route the router serves is in the document (and nothing else), so the document
    /// cannot quietly fall behind the code.
    #[test]
    fn the_document_lists_exactly_the_served_routes() {
        let doc = ApiDoc::openapi();
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"), "{}", json["openapi"]);
        let mut documented: Vec<String> = doc.paths.paths.keys().cloned().collect();
        documented.push("/openapi.json".into());
        documented.sort();
        let mut served: Vec<String> = crate::ROUTES.iter().map(|r| r.to_string()).collect();
        served.sort();
        assert_eq!(documented, served);
        let acquire = &json["paths"]["/appointments/{id}/acquire-lock"]["post"];
        for status in ["200", "202", "409", "429"] {
            assert!(acquire["responses"][status].is_object(), "acquire documents {status}");
        }
        assert!(json["components"]["schemas"]["LockGranted"]["properties"]["fencingToken"].is_object());
        assert!(json["components"]["securitySchemes"]["bearer"].is_object());
        // Shared problem answers are one component each, referenced by the operations.
        assert_eq!(acquire["responses"]["401"]["$ref"], "#/components/responses/Unauthenticated");
        let unauthenticated = &json["components"]["responses"]["Unauthenticated"];
        assert_eq!(
            unauthenticated["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/ProblemDoc"
        );
        assert!(unauthenticated["description"].as_str().is_some_and(|d| d.starts_with("No valid token")));
    }

    /// The answers that wrap a list are documented as the object the server sends, not as
    /// the bare array or an untyped object.
    #[test]
    fn list_and_audit_answers_are_documented_as_the_objects_they_are() {
        let json = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let body = |path: &str| {
            json["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].clone()
        };
        assert_eq!(body("/appointments"), "#/components/schemas/AppointmentList");
        assert_eq!(body("/appointments/{id}/audit"), "#/components/schemas/AuditTrail");
        assert_eq!(body("/audit"), "#/components/schemas/RecentAudit");
        let list = &json["components"]["schemas"]["AppointmentList"];
        assert_eq!(list["properties"]["appointments"]["type"], "array");
        assert!(list["properties"]["serverTime"].is_object());
        let audit = &json["paths"]["/appointments/{id}/audit"]["get"]["responses"];
        for status in ["401", "403", "404"] {
            assert!(audit[status].is_object(), "the audit trail documents {status}");
        }
    }
}
