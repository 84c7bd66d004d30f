//! Building event envelopes and their outbox messages. An event's subject is derived from its
//! body here, in one place: nothing else in the suite spells an event subject.

use chrono::{DateTime, Utc};
use prost::Message as _;
use tongban_proto::events::v1::{Event, event::Body};
use tongban_store::OutboxMessage;
use uuid::Uuid;

/// The subject below the configured root that events with `body` travel on
/// (`tongban.<aggregate>.<event>`, DESIGN §6).
#[must_use]
pub fn subject_of(body: &Body) -> &'static str {
    match body {
        Body::CaseSubmitted(_) => "case.submitted",
        Body::CaseAccepted(_) => "case.accepted",
        Body::CaseRouted(_) => "case.routed",
        Body::CaseClaimed(_) => "case.claimed",
        Body::SupplementRequested(_) => "case.supplement_requested",
        Body::CaseSupplemented(_) => "case.supplemented",
        Body::CaseDecided(_) => "case.decided",
        Body::CaseCompleted(_) => "case.completed",
        Body::CaseWithdrawn(_) => "case.withdrawn",
        Body::DeadlineExtended(_) => "case.deadline_extended",
        Body::ClockSuspended(_) => "case.clock_suspended",
        Body::ClockResumed(_) => "case.clock_resumed",
        Body::CasePartUpdated(_) => "case.part_updated",
        Body::CertificateIssued(_) => "cert.issued",
        Body::CertificateRevoked(_) => "cert.revoked",
        Body::CertificateKeyRotated(_) => "cert.key_rotated",
        Body::LogisticsTracked(_) => "logistics.tracked",
        Body::DeadlineWarning(_) => "deadline.warning",
        Body::DeadlineBreached(_) => "deadline.breached",
        Body::TicketOpened(_) => "supervision.ticket_opened",
        Body::TicketEscalated(_) => "supervision.ticket_escalated",
        Body::ComplaintFiled(_) => "complaint.filed",
        Body::ComplaintAdvanced(_) => "complaint.advanced",
        Body::ServiceRated(_) => "rating.recorded",
        Body::AuditCheckpointed(_) => "audit.checkpointed",
    }
}

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
            // Sub-second nanos are below 2·10⁹ and always fit.
            nanos: i32::try_from(occurred_at.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        producer: producer.to_owned(),
        actor: actor.to_owned(),
        body: Some(body),
    }
}

/// The outbox message for a new event with `body`, on the subject [`subject_of`] the body,
/// carrying the trace context `headers` (the case's traceparent / tracestate).
#[must_use]
pub fn event_message(
    case_id: Uuid,
    case_number: &str,
    producer: &str,
    actor: &str,
    occurred_at: DateTime<Utc>,
    body: Body,
    headers: Vec<(String, String)>,
) -> OutboxMessage {
    let subject = subject_of(&body);
    let event_id = Uuid::now_v7();
    let mut event = new_event(case_id, case_number, producer, actor, occurred_at, body);
    event.event_id = event_id.to_string();
    OutboxMessage {
        event_id,
        subject: subject.to_owned(),
        payload: event.encode_to_vec(),
        headers,
    }
}
