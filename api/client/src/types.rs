//! What the API answers and takes, as the served OpenAPI document names it (its schemas of the
//! same names; `tests` below holds each type to the committed document). Unknown fields are
//! ignored, so a newer server's additions do not break an older client.

use serde::{Deserialize, Serialize};

/// A person in a tab: the lock holder, a waiter, a viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub user_id: String,
    pub session_id: String,
    pub name: String,
    pub email: String,
    /// `user` or `admin`.
    pub role: String,
}

/// An edit lock: who holds it, under which fencing token, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    pub appointment_id: String,
    pub holder: Person,
    /// Strictly increasing per appointment: send it with every write the lock guards.
    pub fencing_token: u64,
    pub acquired_at: String,
    pub last_activity_at: String,
    /// The leader's clock (RFC 3339); compare with `serverTime`, not the local clock.
    pub expires_at: String,
    pub ttl_ms: u64,
    /// Set while a lock handed from the queue waits for its holder to confirm.
    #[serde(default)]
    pub claim_by: Option<String>,
}

/// The answer to a granted acquire, a renewal or a takeover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockGranted {
    pub lock: Lock,
    pub fencing_token: u64,
    pub expires_at: String,
    pub renewed: bool,
    pub server_time: String,
}

/// A place in an appointment's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiter {
    pub person: Person,
    pub position: u32,
    pub enqueued_at: String,
    pub expires_at: String,
}

/// The answer to an acquire with `wait`: the caller is queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    pub queued: bool,
    pub position: u32,
    pub queue: Vec<Waiter>,
    pub server_time: String,
}

/// An appointment's lock and queue, read from any node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockStatus {
    pub locked: bool,
    #[serde(default)]
    pub lock: Option<Lock>,
    pub queue: Vec<Waiter>,
    pub server_time: String,
    #[serde(default)]
    pub applied_index: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: String,
    pub title: String,
    pub starts_at: String,
    pub ends_at: String,
    pub client: String,
    pub location: String,
    pub notes: String,
    /// `scheduled`, `confirmed`, `completed` or `cancelled`.
    pub status: String,
    /// Send it back as `If-Match` with an update (`Client::update` does).
    pub version: u64,
    pub updated_by: String,
    pub updated_by_name: String,
    pub updated_at: String,
}

/// An appointment as the list shows it: with its lock, queue length and viewers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentWithLock {
    #[serde(flatten)]
    pub appointment: Appointment,
    #[serde(default)]
    pub lock: Option<Lock>,
    pub queue_length: u64,
    pub viewers: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentList {
    pub appointments: Vec<AppointmentWithLock>,
    pub server_time: String,
}

/// What a create or an update sends. Times are RFC 3339.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentInput {
    /// Chosen by the caller on create (the server makes one when absent); on update it must
    /// be the path's id or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// One member of the cluster, as `/cluster/status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub node_id: u64,
    pub raft_addr: String,
    pub http_addr: String,
    pub voter: bool,
    pub leader: bool,
}

/// A node's view of the cluster (`/cluster/status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub node_id: u64,
    /// `Leader`, `Follower`, `Candidate`, `Learner` or `Shutdown`.
    pub state: String,
    pub term: u64,
    #[serde(default)]
    pub leader_id: Option<u64>,
    #[serde(default)]
    pub last_log_index: Option<u64>,
    #[serde(default)]
    pub committed_index: Option<u64>,
    #[serde(default)]
    pub applied_index: Option<u64>,
    #[serde(default)]
    pub snapshot_index: Option<u64>,
    /// The last index removed from the node's log (behind a snapshot).
    #[serde(default)]
    pub purged_index: Option<u64>,
    pub members: Vec<Member>,
}

/// An error answer (RFC 9457 problem+json). Branch on `code`, which is stable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// `https://lockd.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub status: u16,
    pub code: String,
    pub title: String,
    pub detail: String,
    /// The current lock, on `lock_held`.
    #[serde(default)]
    pub lock: Option<Lock>,
    #[serde(default)]
    pub server_time: Option<String>,
    /// Other members some codes carry (`retryAfterMs`, `current`, `leaderHttpAddr`).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    //! Each type against the schema of the same name in the committed OpenAPI document (held
    //! equal to the served one by `lockd-api`'s tests): an instance made from the schema's
    //! required properties must read, and what it writes back must name only properties the
    //! schema has, and every one of them.

    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Map, Value, json};

    fn document() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/packages/client/openapi.json");
        serde_json::from_str(&std::fs::read_to_string(path).expect("the committed OpenAPI document")).unwrap()
    }

    fn schema<'a>(document: &'a Value, reference: &str) -> &'a Value {
        let name = reference.trim_start_matches("#/components/schemas/");
        &document["components"]["schemas"][name]
    }

    /// A value of `schema` with every property present (nullable ones non-null).
    fn example(document: &Value, schema_value: &Value) -> Value {
        if let Some(reference) = schema_value["$ref"].as_str() {
            return example(document, schema(document, reference));
        }
        if let Some(choices) = schema_value["oneOf"].as_array().or(schema_value["anyOf"].as_array()) {
            let chosen = choices.iter().find(|c| c["type"] != "null").unwrap_or(&choices[0]);
            return example(document, chosen);
        }
        if let Some(parts) = schema_value["allOf"].as_array() {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(fields) = example(document, part) {
                    merged.extend(fields);
                }
            }
            return Value::Object(merged);
        }
        if let Some(values) = schema_value["enum"].as_array() {
            return values[0].clone();
        }
        let kind = match &schema_value["type"] {
            Value::Array(kinds) => kinds.iter().find(|k| *k != "null").cloned().unwrap_or(Value::Null),
            kind => kind.clone(),
        };
        match kind.as_str() {
            Some("object") => {
                let properties = schema_value["properties"].as_object().cloned().unwrap_or_default();
                Value::Object(properties.iter().map(|(name, p)| (name.clone(), example(document, p))).collect())
            }
            Some("array") => json!([example(document, &schema_value["items"])]),
            Some("integer") => json!(1),
            Some("boolean") => json!(true),
            Some("string") => json!("x"),
            _ => Value::Null,
        }
    }

    fn holds_to_schema<T: DeserializeOwned + Serialize>(name: &str) {
        let document = document();
        let schema_value = schema(&document, name);
        assert!(schema_value.is_object(), "no schema {name} in the document");
        let instance = example(&document, schema_value);
        let read: T = serde_json::from_value(instance.clone())
            .unwrap_or_else(|e| panic!("{name}: the client cannot read the schema's instance: {e}\n{instance}"));
        let written = serde_json::to_value(&read).unwrap();
        let names = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
        assert_eq!(names(&written), names(&instance), "{name}: the client's fields differ from the schema's");
    }

    #[test]
    fn every_type_has_the_fields_of_its_schema() {
        holds_to_schema::<super::Person>("Person");
        holds_to_schema::<super::Lock>("Lock");
        holds_to_schema::<super::LockGranted>("LockGranted");
        holds_to_schema::<super::Waiter>("Waiter");
        holds_to_schema::<super::Queued>("Queued");
        holds_to_schema::<super::LockStatus>("LockStatus");
        holds_to_schema::<super::Appointment>("Appointment");
        holds_to_schema::<super::AppointmentWithLock>("AppointmentWithLock");
        holds_to_schema::<super::AppointmentList>("AppointmentList");
        holds_to_schema::<super::AppointmentInput>("AppointmentInput");
        holds_to_schema::<super::Problem>("ProblemDoc");
        holds_to_schema::<super::Member>("Member");
        holds_to_schema::<super::ClusterStatus>("ClusterStatus");
    }

    #[test]
    fn a_required_field_the_server_stops_sending_is_noticed() {
        // The check above can fail: a lock without its token is not read.
        let document = document();
        let mut lock = example(&document, schema(&document, "Lock"));
        lock.as_object_mut().unwrap().remove("fencingToken");
        assert!(serde_json::from_value::<super::Lock>(lock).is_err());
    }
}
