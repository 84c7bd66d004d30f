//! Publishing through the outbox: an event is written in the transaction of the change it
//! reports, with the trace context of the current span (the case's step span).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_proto::events::v1::event::Body;
use tongban_step::{Actor, CaseRef, Effects, Trace};
use tongban_store::StoreError;

use crate::repo::AssignmentRow;

/// Enqueues `body` (its subject follows from it) for the case of `row`.
pub(crate) async fn publish(
    conn: &mut PgConnection,
    row: &AssignmentRow,
    actor: &str,
    at: DateTime<Utc>,
    body: Body,
) -> Result<(), StoreError> {
    let case = CaseRef::new(row.case_id, &row.case_number, None);
    let mut effects = Effects::new();
    effects.emit(&case, body);
    tongban_step::apply(
        conn,
        crate::SERVICE,
        &Actor::person(actor, "", ""),
        at,
        &Trace::current(),
        effects,
    )
    .await
}
