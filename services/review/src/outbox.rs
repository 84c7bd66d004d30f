//! Publishing through the outbox: an event is written in the transaction of the change it
//! reports, with the trace context of the current span.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_proto::events::v1::event::Body;
use tongban_store::StoreError;

use crate::repo::AssignmentRow;

/// Enqueues `body` on `subject` (below the root) for the case of `row`.
pub(crate) async fn publish(
    conn: &mut PgConnection,
    row: &AssignmentRow,
    actor: &str,
    at: DateTime<Utc>,
    subject: &str,
    body: Body,
) -> Result<(), StoreError> {
    let event = tongban_bus::new_event(
        row.case_id,
        &row.case_number,
        crate::SERVICE,
        actor,
        at,
        body,
    );
    let headers = tongban_telemetry::headers_of(&tracing::Span::current());
    tongban_store::enqueue(conn, &tongban_bus::event_message(subject, &event, headers)).await
}
