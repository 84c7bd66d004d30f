//! Building event envelopes and their outbox messages.

use chrono::{DateTime, Utc};
use prost::Message as _;
use tongban_proto::events::v1::{Event, event::Body};
use tongban_store::OutboxMessage;
use uuid::Uuid;

/// A new envelope with a fresh time-ordered id.
#[must_use]
pub fn new_event(
    case_id: Uuid,
    case_number: &str,
    producer: &str,
    actor: &str,
    occurred_at: DateTime<Utc>,
    body: Body,
) -> Event {
    Event {
        event_id: Uuid::now_v7().to_string(),
        case_id: case_id.to_string(),
        case_number: case_number.to_owned(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: occurred_at.timestamp(),
            nanos: i32::try_from(occurred_at.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        producer: producer.to_owned(),
        actor: actor.to_owned(),
        body: Some(body),
    }
}

/// The outbox message for `event` on `subject_suffix` (e.g. `case.routed`), carrying the trace
/// context `headers` (the case's traceparent / tracestate).
///
/// # Panics
/// Never: `event.event_id` is always a UUID made by [`new_event`]; a malformed one is replaced.
#[must_use]
pub fn event_message(
    subject_suffix: &str,
    event: &Event,
    headers: Vec<(String, String)>,
) -> OutboxMessage {
    let event_id = Uuid::parse_str(&event.event_id).unwrap_or_else(|_| Uuid::now_v7());
    OutboxMessage {
        event_id,
        subject: subject_suffix.to_owned(),
        payload: event.encode_to_vec(),
        headers,
    }
}
