//! What the handlers' annotations cannot say, said once over the whole document, so that it
//! describes exactly what the server accepts and answers (Schemathesis checks it against a
//! live node: `node/tests/contract.rs`):
//!
//! - every parameter's bounds (ids, session ids, idempotency keys, fencing tokens, versions,
//!   page sizes), from the same constants the checks use;
//! - every text field's length and the characters it refuses, the pattern rendered from the
//!   very predicate that refuses them (`text.rs`);
//! - unsigned integers as what they are: 0 up to `u64::MAX` (utoipa writes `int64`, whose
//!   bound the server does not keep);
//! - the answers every operation with input can give: 400 (`invalid_input`: the request
//!   breaks the document), 413 for a body over `BODY_BYTES_MAX`, 422 (`invalid_input`: the
//!   request fits the document but breaks a rule it states in words only, such as an end
//!   after the start) where a route has such rules;
//! - links from a created appointment to every operation on it, so a client (and
//!   Schemathesis's stateful phase) can follow them.
//!
//! Done on the JSON, not on utoipa's types: it is a walk over every schema, which the typed
//! model makes long-winded, and its result is what is served either way.

use lockd_raft::limits as core;
use serde_json::{Map, Value, json};

use crate::limits;
use crate::text;

/// Characters an id may hold (the core's rule), and not only dots (the edge's).
pub const ID_PATTERN: &str = "^[A-Za-z0-9_.@:-]*[A-Za-z0-9_@:-][A-Za-z0-9_.@:-]*$";
const SESSION_ID_PATTERN: &str = "^[A-Za-z0-9_.@:-]+$";
const IDEMPOTENCY_KEY_PATTERN: &str = "^[A-Za-z0-9_.:-]+$";
/// `If-Match`: the version as the `ETag` gives it (`"7"`, weak `W/"7"`) or bare (`7`).
pub const IF_MATCH_PATTERN: &str = r#"^(W/)?"[0-9]{1,19}"$|^[0-9]{1,19}$"#;
/// A member address: host (a name, an IPv4 address or a bracketed IPv6 one) and port. Which
/// names and ports are valid is said in words; a value of this shape breaking it is a 422.
const MEMBER_ADDR_PATTERN: &str = r"^\S+:[0-9]{1,5}$";

pub fn apply(doc: &mut Value) {
    unsigned_integers(doc);
    for (name, field) in body_fields() {
        if let Some(property) = doc.pointer_mut(&format!("/components/schemas/{name}/properties/{}", field.0)) {
            let nullable = is_nullable(property);
            *property = with_null(field.1.clone(), nullable);
        }
    }
    merge_all_of(doc);
    let has_422 = ["create", "update", "add_member"];
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        let Some(operation) = operation.as_object_mut() else { continue };
        for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
            exact_parameter(parameter);
        }
        let has_input = operation.contains_key("parameters") || operation.contains_key("requestBody");
        let takes_key = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|parameters| parameters.iter().any(|p| p["name"] == "Idempotency-Key"));
        let has_body = operation.contains_key("requestBody");
        let operation_id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
        let responses = operation.entry("responses").or_insert_with(|| json!({}));
        let Some(responses) = responses.as_object_mut() else { continue };
        if has_input {
            responses.entry("400").or_insert_with(|| json!({ "$ref": "#/components/responses/InvalidInput" }));
        }
        if has_body {
            responses.entry("413").or_insert_with(|| problem("The body is larger than 64 KiB (`payload_too_large`)."));
        }
        let mut unprocessable = Vec::new();
        if has_422.contains(&operation_id.as_str()) {
            unprocessable.push("the request fits this document but breaks a rule it states in words (`invalid_input`)");
        }
        if takes_key {
            unprocessable
                .push("the Idempotency-Key was used by this session for another request (`idempotency_key_reused`)");
        }
        if !unprocessable.is_empty() && !responses.contains_key("422") {
            responses.insert("422".into(), problem(&format!("{}.", unprocessable.join("; or "))));
        }
        if operation_id == "create" {
            links_from_created(responses);
        }
    }
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/ProblemDoc" } } },
    })
}

fn is_nullable(schema: &Value) -> bool {
    match &schema["type"] {
        Value::Array(types) => types.iter().any(|t| t == "null"),
        _ => schema["oneOf"].as_array().is_some_and(|v| v.iter().any(|s| s["type"] == "null")),
    }
}

fn with_null(mut schema: Value, nullable: bool) -> Value {
    if nullable && let Some(kind) = schema.get("type").cloned() {
        schema["type"] = json!([kind, "null"]);
    }
    schema
}

/// A pattern refusing the given characters: a negated class of them, written out as the
/// characters themselves (JSON escapes what needs escaping), which every regex dialect reads
/// alike.
fn refusing(ranges: &[(char, char)]) -> String {
    let mut class = String::new();
    for (start, end) in ranges {
        class.push(*start);
        if end != start {
            class.push('-');
            class.push(*end);
        }
    }
    format!("^[^{class}]*$")
}

fn string(chars_max: usize, pattern: String) -> Value {
    json!({ "type": "string", "maxLength": chars_max, "pattern": pattern })
}

fn id_schema() -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": core::ID_CHARS_MAX, "pattern": ID_PATTERN })
}

fn session_id_schema() -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": core::ID_CHARS_MAX, "pattern": SESSION_ID_PATTERN })
}

fn date_time() -> Value {
    json!({
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339; from 1970 on (an earlier time is a 422)",
    })
}

fn ttl_ms() -> Value {
    json!({
        "type": "integer",
        "format": "uint64",
        "minimum": core::LOCK_TTL_MS_MIN,
        "maximum": core::LOCK_TTL_MS_MAX,
        "description": "The lease in ms; the node's default (5 minutes) when absent",
    })
}

/// `(component, (property, schema))`: each text or bounded field of a request body.
fn body_fields() -> Vec<(&'static str, (&'static str, Value))> {
    // Each pattern scans the code space once (a million characters), then is reused.
    let (single_line_pattern, multi_line_pattern, typed_pattern) = (
        refusing(&text::single_line_refused_ranges()),
        refusing(&text::multi_line_refused_ranges()),
        refusing(&text::control_ranges()),
    );
    let single_line = |chars_max| string(chars_max, single_line_pattern.clone());
    let notes = || string(core::NOTES_CHARS_MAX, multi_line_pattern.clone());
    let typed = |chars_max| string(chars_max, typed_pattern.clone());
    let mut title = single_line(core::TITLE_CHARS_MAX);
    title["description"] = json!("Not blank (only spaces is a 422)");
    title["minLength"] = json!(1);
    let mut fields = vec![
        ("AppointmentInput", ("id", id_schema())),
        ("AppointmentInput", ("title", title)),
        ("AppointmentInput", ("startsAt", date_time())),
        (
            "AppointmentInput",
            (
                "endsAt",
                json!({ "type": "string", "format": "date-time", "description": "After startsAt (else a 422)" }),
            ),
        ),
        ("AppointmentInput", ("client", single_line(core::SHORT_FIELD_CHARS_MAX))),
        ("AppointmentInput", ("location", single_line(core::SHORT_FIELD_CHARS_MAX))),
        ("AppointmentInput", ("notes", notes())),
        ("AcquireInput", ("ttlMs", ttl_ms())),
        ("ContinueHereInput", ("ttlMs", ttl_ms())),
        ("TakeoverInput", ("reason", single_line(core::REASON_CHARS_MAX))),
        ("DevLogin", ("userId", session_id_schema())),
        ("DevLogin", ("name", single_line(core::NAME_CHARS_MAX))),
        ("DevLogin", ("email", single_line(core::EMAIL_CHARS_MAX))),
        ("DevLogin", ("role", json!({ "type": "string", "enum": ["user", "admin"] }))),
        ("AddMember", ("raftAddr", json!({ "type": "string", "pattern": MEMBER_ADDR_PATTERN }))),
        ("AddMember", ("httpAddr", json!({ "type": "string", "pattern": MEMBER_ADDR_PATTERN }))),
    ];
    // Answers: the closed sets the server writes as text.
    let role = || json!({ "type": "string", "enum": ["user", "admin"] });
    fields.extend([
        ("Person", ("role", role())),
        ("Me", ("role", role())),
        ("Appointment", ("status", json!({ "type": "string", "enum": ["scheduled", "cancelled"] }))),
        ("AuditRecord", ("action", audit_actions())),
    ]);
    // A draft keeps what was typed, valid or not: only the core's bounds apply.
    for component in ["DraftInput", "DraftText"] {
        fields.extend([
            (component, ("title", typed(core::TITLE_CHARS_MAX))),
            (component, ("startsAt", typed(core::DRAFT_TIME_CHARS_MAX))),
            (component, ("endsAt", typed(core::DRAFT_TIME_CHARS_MAX))),
            (component, ("client", typed(core::SHORT_FIELD_CHARS_MAX))),
            (component, ("location", typed(core::SHORT_FIELD_CHARS_MAX))),
            (component, ("notes", notes())),
        ]);
    }
    fields
}

/// A parameter's schema (and whether it is required) by where it is and its name.
fn exact_parameter(parameter: &mut Value) {
    let name = parameter["name"].as_str().unwrap_or_default().to_owned();
    let place = parameter["in"].as_str().unwrap_or_default().to_owned();
    let (schema, required) = match (place.as_str(), name.as_str()) {
        ("path", "id") => (id_schema(), true),
        ("path", "nodeId") => (uint64(), true),
        ("header", "X-Session-Id") => (session_id_schema(), true),
        ("query", "sessionId") => (session_id_schema(), false),
        ("query", "accessToken") => {
            (json!({ "type": "string", "minLength": 1, "maxLength": limits::TOKEN_BYTES_MAX }), false)
        }
        ("header", "Idempotency-Key") => (
            json!({
                "type": "string",
                "minLength": 1,
                "maxLength": core::REQUEST_ID_CHARS_MAX,
                "pattern": IDEMPOTENCY_KEY_PATTERN,
            }),
            false,
        ),
        ("header", "X-Fencing-Token") => (uint64(), parameter["required"] == true),
        ("header", "If-Match") => (json!({ "type": "string", "pattern": IF_MATCH_PATTERN }), true),
        ("query", "limit") => {
            (json!({ "type": "integer", "format": "uint64", "minimum": 1, "maximum": limits::AUDIT_PAGE_MAX }), false)
        }
        ("query", "action") => (audit_actions(), false),
        _ => return,
    };
    parameter["schema"] = schema;
    parameter["required"] = json!(required);
}

fn audit_actions() -> Value {
    json!({
        "type": "string",
        "enum": ["granted", "released", "disconnected", "expired", "taken_over", "moved", "unclaimed"],
    })
}

fn uint64() -> Value {
    json!({ "type": "integer", "format": "uint64", "minimum": 0, "maximum": u64::MAX })
}

/// utoipa writes Rust's unsigned integers as `int64`/`int32` with `minimum: 0`, which bounds
/// them at the signed maximum; the server takes every value of the unsigned type.
fn unsigned_integers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            unsigned(map);
            map.values_mut().for_each(unsigned_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(unsigned_integers),
        _ => {}
    }
}

fn unsigned(map: &mut Map<String, Value>) {
    let is_integer = match map.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    };
    if !is_integer || map.get("minimum") != Some(&json!(0)) {
        return;
    }
    let (format, maximum) = match map.get("format").and_then(Value::as_str) {
        Some("int32") => ("uint32", json!(u32::MAX)),
        _ => ("uint64", json!(u64::MAX)),
    };
    map.insert("format".into(), json!(format));
    map.entry("maximum").or_insert(maximum);
}

/// A component written as `allOf` (a flattened struct: `Draft` is `DraftText` and more) becomes
/// one object with every part's properties. `allOf` of a part that refuses unknown properties
/// (`DraftText`, which is also an input) would refuse the other parts' properties too: no
/// answer could match it.
fn merge_all_of(doc: &mut Value) {
    let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object).cloned() else { return };
    let resolve = |part: &Value| -> Value {
        match part["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
            Some(name) => schemas.get(name).cloned().unwrap_or_default(),
            None => part.clone(),
        }
    };
    for (name, schema) in &schemas {
        let Some(parts) = schema["allOf"].as_array() else { continue };
        let (mut properties, mut required) = (Map::new(), Vec::<Value>::new());
        for part in parts.iter().map(resolve) {
            properties.extend(part["properties"].as_object().cloned().unwrap_or_default());
            required.extend(part["required"].as_array().cloned().unwrap_or_default());
        }
        let mut merged = json!({ "type": "object", "properties": properties, "required": required });
        if let Some(description) = schema.get("description") {
            merged["description"] = description.clone();
        }
        doc["components"]["schemas"][name] = merged;
    }
}

/// A created appointment's id leads to every operation on it.
fn links_from_created(responses: &mut Map<String, Value>) {
    let Some(created) = responses.get_mut("201").and_then(Value::as_object_mut) else { return };
    let targets = [
        ("GetAppointment", "get"),
        ("UpdateAppointment", "update"),
        ("AcquireLock", "acquire"),
        ("Heartbeat", "heartbeat"),
        ("ReleaseLock", "release"),
        ("ContinueHere", "continue_here"),
        ("Takeover", "takeover"),
        ("LockStatus", "lock_status"),
        ("Audit", "audit"),
        ("SaveDraft", "save_draft"),
        ("GetDraft", "get_draft"),
        ("DiscardDraft", "discard_draft"),
    ];
    let links: Map<String, Value> = targets
        .iter()
        .map(|(name, operation_id)| {
            let link = json!({ "operationId": operation_id, "parameters": { "id": "$response.body#/id" } });
            ((*name).to_owned(), link)
        })
        .collect();
    created.insert("links".into(), Value::Object(links));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusing_pattern_names_ranges_once_each() {
        let pattern = refusing(&[('\u{0}', '\u{1f}'), ('\u{7f}', '\u{7f}')]);
        assert_eq!(pattern, "^[^\u{0}-\u{1f}\u{7f}]*$");
    }

    #[test]
    fn unsigned_integers_reach_their_types_maximum() {
        let mut doc = json!({
            "a": { "type": "integer", "format": "int64", "minimum": 0 },
            "b": { "type": ["integer", "null"], "format": "int32", "minimum": 0 },
            "c": { "type": "integer", "format": "int64" },
        });
        unsigned_integers(&mut doc);
        assert_eq!(doc["a"]["maximum"], json!(u64::MAX));
        assert_eq!(doc["a"]["format"], "uint64");
        assert_eq!(doc["b"]["maximum"], json!(u32::MAX));
        assert!(doc["c"].get("maximum").is_none(), "a signed integer keeps its bounds");
    }
}
