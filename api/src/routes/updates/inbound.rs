//! What a client may send on a socket, parsed strictly, and how fast: the per-socket and
//! per-user rates and the flood window.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::presence::Pointer;
use crate::rate::SocketLimiter;
use crate::{AppState, limits};

/// What a client may send, as it arrives. Anything else is answered with an error frame.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum ClientMessage {
    /// Answered with `pong` (and the server time).
    Ping(NoFields),
    /// Keeps the tab present; never renews the lock (activity does, through the REST
    /// heartbeat).
    Heartbeat(NoFields),
    /// The pointer moved over the form.
    Pointer(PointerPosition),
    /// The pointer left the form.
    PointerLeave(NoFields),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PointerPosition {
    x: f64,
    y: f64,
}

/// A message body with nothing but its `type` (serde ignores `deny_unknown_fields` on a unit
/// variant of an internally tagged enum, so the check lives here).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

/// An accepted client frame, checked once: a pointer is on the form.
#[derive(Debug, PartialEq)]
pub enum ClientFrame {
    Ping,
    Heartbeat,
    Pointer(Pointer),
    PointerLeave,
}

/// Parses one inbound text frame strictly: known types, no unknown fields, pointers on the
/// form.
pub fn parse_client_message(text: &str) -> Result<ClientFrame, String> {
    if text.len() > limits::WS_INBOUND_BYTES_MAX {
        return Err("message too large".into());
    }
    let message: ClientMessage = serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))?;
    Ok(match message {
        ClientMessage::Ping(_) => ClientFrame::Ping,
        ClientMessage::Heartbeat(_) => ClientFrame::Heartbeat,
        ClientMessage::Pointer(PointerPosition { x, y }) => ClientFrame::Pointer(Pointer::checked(x, y)?),
        ClientMessage::PointerLeave(_) => ClientFrame::PointerLeave,
    })
}

/// Inbound limits of one socket: its own rate, its user's, and the flood window.
pub(super) struct Inbound {
    pub(super) frames: Option<SocketLimiter>,
    pub(super) refused_in_window: u32,
    pub(super) window_started: Instant,
}

pub(super) enum Verdict {
    Take,
    /// Refused; the first refusal of a window is told to the client.
    Refuse {
        tell: bool,
    },
    Flood,
}

impl Inbound {
    pub(super) fn judge(&mut self, state: &AppState, user_id: &str) -> Verdict {
        let allowed = self.frames.as_ref().is_none_or(SocketLimiter::allows) && state.user_frame(user_id);
        if allowed {
            return Verdict::Take;
        }
        state.metrics.ws_frames_refused.inc();
        if self.window_started.elapsed() > Duration::from_millis(limits::WS_FLOOD_WINDOW_MS) {
            self.window_started = Instant::now();
            self.refused_in_window = 0;
        }
        self.refused_in_window += 1;
        if self.refused_in_window > limits::WS_FLOOD_REFUSED_MAX {
            Verdict::Flood
        } else {
            Verdict::Refuse { tell: self.refused_in_window == 1 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_parsed_strictly() {
        assert_eq!(parse_client_message(r#"{"type":"ping"}"#), Ok(ClientFrame::Ping));
        assert_eq!(parse_client_message(r#"{"type":"heartbeat"}"#), Ok(ClientFrame::Heartbeat));
        assert_eq!(parse_client_message(r#"{"type":"pointerLeave"}"#), Ok(ClientFrame::PointerLeave));
        assert_eq!(
            parse_client_message(r#"{"type":"pointer","x":0.25,"y":1}"#),
            Ok(ClientFrame::Pointer(Pointer { x: 0.25, y: 1.0 }))
        );
        for bad in [
            r#"{"type":"ping","extra":1}"#,
            r#"{"type":"shout"}"#,
            "[]",
            "not json",
            r#"{"type":1}"#,
            r#"{"type":"pointer","x":0.5}"#,
            r#"{"type":"pointer","x":0.5,"y":1.5}"#,
            r#"{"type":"pointer","x":-0.1,"y":0.5}"#,
            r#"{"type":"pointer","x":"0.5","y":0.5}"#,
            r#"{"type":"pointer","x":0.5,"y":0.5,"userId":"someone-else"}"#,
            r#"{"type":"pointer","x":1e400,"y":0.5}"#,
        ] {
            assert!(parse_client_message(bad).is_err(), "{bad} was accepted");
        }
        let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(limits::WS_INBOUND_BYTES_MAX));
        assert_eq!(parse_client_message(&huge).unwrap_err(), "message too large");
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        /// JSON-looking text: objects with a few keys, including `type`, and odd values.
        fn json_like() -> impl Strategy<Value = String> {
            let key =
                prop_oneof![Just("type".to_owned()), Just("x".to_owned()), Just("y".to_owned()), "[a-zA-Z_]{0,8}"];
            let value = prop_oneof![
                Just("\"ping\"".to_owned()),
                Just("\"pointer\"".to_owned()),
                Just("\"heartbeat\"".to_owned()),
                Just("\"pointerLeave\"".to_owned()),
                (0.0..1.0f64).prop_map(|f| f.to_string()),
                any::<f64>().prop_map(|f| f.to_string()),
                any::<i64>().prop_map(|i| i.to_string()),
                Just("null".to_owned()),
                Just("[]".to_owned()),
                "\"[^\"\\\\]{0,12}\"",
            ];
            prop::collection::vec((key, value), 0..4).prop_map(|pairs| {
                let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", fields.join(","))
            })
        }

        proptest! {
            /// Any text parses without a panic, and what is accepted is exactly a known message:
            /// its type, its fields and nothing else, pointers on the form.
            #[test]
            fn only_well_formed_messages_are_accepted(text in prop_oneof![json_like(), any::<String>()]) {
                if parse_client_message(&text).is_ok() {
                    let value: serde_json::Value = serde_json::from_str(&text).expect("accepted text is JSON");
                    let object = value.as_object().expect("accepted text is an object");
                    match object["type"].as_str().expect("a string type") {
                        "ping" | "heartbeat" | "pointerLeave" => prop_assert_eq!(object.len(), 1),
                        "pointer" => {
                            prop_assert_eq!(object.len(), 3);
                            for axis in ["x", "y"] {
                                let v = object[axis].as_f64().expect("a number");
                                prop_assert!((0.0..=1.0).contains(&v));
                            }
                        }
                        other => prop_assert!(false, "accepted type {other}"),
                    }
                }
            }
        }
    }
}
