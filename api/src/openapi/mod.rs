//! The OpenAPI 3.1 document of the HTTP contract, generated from the handlers' annotations
//! and the JSON types (utoipa), served at `GET /openapi.json`. The WebSocket message types
//! are described in `docs/api.md`; OpenAPI has no vocabulary for them.

mod exact;

use std::sync::OnceLock;

use axum::Json;
use axum::response::IntoResponse;
use serde_json::Value;
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

/// The document as served: utoipa's, made exact (`exact.rs`).
pub fn document_json() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document is JSON");
        exact::apply(&mut doc);
        doc
    })
}

pub async fn document() -> impl IntoResponse {
    Json(document_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route the router serves is in the document (and nothing else), so the document
    /// cannot quietly fall behind the code.
    #[test]
    fn the_document_lists_exactly_the_served_routes() {
        let doc = ApiDoc::openapi();
        let json = document_json();
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

    /// The bounds the server keeps are in the document: the id rule, a text field's refused
    /// characters, unsigned integers' range, the 422 of rules in words, the links from a
    /// created appointment.
    #[test]
    fn the_document_states_the_servers_bounds() {
        let json = document_json();
        let get = &json["paths"]["/appointments/{id}"]["get"];
        let id = get["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "id").unwrap();
        assert_eq!(id["schema"]["pattern"], exact::ID_PATTERN);
        assert_eq!(id["schema"]["maxLength"], 64);
        let update = json["paths"]["/appointments/{id}"]["put"]["parameters"].as_array().unwrap();
        let if_match = update.iter().find(|p| p["name"] == "If-Match").unwrap();
        assert_eq!(
            (&if_match["required"], &if_match["schema"]["pattern"]),
            (&true.into(), &exact::IF_MATCH_PATTERN.into())
        );
        let title = &json["components"]["schemas"]["AppointmentInput"]["properties"]["title"];
        let pattern = title["pattern"].as_str().unwrap();
        for refused in ['\u{202E}', '\u{200B}', '\u{2028}', '\u{0}'] {
            assert!(pattern.contains(refused), "{refused:?} is refused by the title's pattern");
        }
        assert!(!pattern.contains('\u{200D}'), "the zero-width joiner is allowed");
        let token = &json["components"]["schemas"]["Lock"]["properties"]["fencingToken"];
        assert_eq!(token["maximum"], serde_json::json!(u64::MAX));
        let create = &json["paths"]["/appointments"]["post"]["responses"];
        assert!(create["422"].is_object() && create["413"].is_object());
        assert_eq!(create["201"]["links"]["AcquireLock"]["operationId"], "acquire");
        assert_eq!(create["201"]["links"]["AcquireLock"]["parameters"]["id"], "$response.body#/id");
    }

    /// The web client's types are generated from a copy of the document
    /// (`web/packages/client/openapi.json`, ADR 27): it must be the served one. After a change
    /// to the API, `LOCKD_BLESS=1 cargo test -p lockd-api --lib openapi` writes it, then
    /// `npm run generate` in `web/` regenerates the types.
    #[test]
    fn the_web_clients_copy_is_the_served_document() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/packages/client/openapi.json");
        let served = document_json();
        if std::env::var_os("LOCKD_BLESS").is_some() {
            let text = serde_json::to_string_pretty(served).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        }
        let copy: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            &copy == served,
            "{} is not the served document: LOCKD_BLESS=1 cargo test -p lockd-api --lib openapi, then npm run generate in web/",
            path.display()
        );
    }

    /// The answers that wrap a list are documented as the object the server sends, not as
    /// the bare array or an untyped object.
    #[test]
    fn list_and_audit_answers_are_documented_as_the_objects_they_are() {
        let json = document_json();
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
