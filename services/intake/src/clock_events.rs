//! The responsible office's say over the clock, kept in the window's ledger so the case's due
//! moment (and `window show`'s remaining working days) follow it: 延长 (`case.deadline_extended`)
//! and the Art. 45 special procedures (`case.clock_suspended` / `case.clock_resumed`).

use sqlx::PgConnection;
use tongban_bus::HandleError;
use tongban_domain::clock::{Extension, SuspensionKind};
use tongban_proto::events::v1::{Event, event::Body};
use uuid::Uuid;

use crate::State;
use crate::repo;

/// Whether `body` is a clock event handled here.
pub(crate) fn is_clock_event(body: Option<&Body>) -> bool {
    matches!(
        body,
        Some(Body::DeadlineExtended(_) | Body::ClockSuspended(_) | Body::ClockResumed(_))
    )
}

/// Applies a clock event to the case's ledger and derives the due moment again.
pub(crate) async fn apply(
    state: &State,
    conn: &mut PgConnection,
    event: &Event,
) -> Result<(), HandleError> {
    let case_id = Uuid::parse_str(&event.case_id)
        .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
    let Some(mut row) = repo::case_by_id(conn, case_id, true).await? else {
        return Err(HandleError::Reject(format!("unknown case {case_id}")));
    };
    let at = crate::view::occurred_at(event);
    let mut clock = repo::clock(conn, &row).await?;
    let applied = match &event.body {
        Some(Body::DeadlineExtended(e)) => {
            let extension = Extension {
                working_days: e.working_days,
                reason: e.reason.clone(),
                approved_by: e.approved_by.clone(),
                at,
            };
            match clock.extend(extension.clone()) {
                Ok(()) => repo::add_extension(conn, case_id, &extension)
                    .await
                    .map(|()| true)?,
                Err(err) => {
                    tracing::warn!(error = %err, "extension does not apply; ignored");
                    false
                }
            }
        }
        Some(Body::ClockSuspended(s)) => {
            let kind = SuspensionKind::from_code(&s.kind)
                .ok_or_else(|| HandleError::Reject(format!("unknown suspension {}", s.kind)))?;
            match clock.suspend(kind, at, &s.reason) {
                Ok(()) => repo::open_suspension(conn, case_id, kind, at, &s.reason)
                    .await
                    .map(|()| true)?,
                Err(err) => {
                    tracing::warn!(error = %err, "suspension does not apply; ignored");
                    false
                }
            }
        }
        Some(Body::ClockResumed(r)) => match SuspensionKind::from_code(&r.kind)
            .ok_or(tongban_domain::clock::ClockError::NotSuspended)
            .and_then(|kind| clock.resume(kind, at).map(|()| kind))
        {
            Ok(kind) => repo::close_suspension(conn, case_id, kind, at)
                .await
                .map(|()| true)?,
            Err(err) => {
                tracing::warn!(error = %err, "resumption does not apply; ignored");
                false
            }
        },
        _ => false,
    };
    if applied {
        row.due_at = clock
            .due_at(&state.reference.calendar)
            .map_err(|e| HandleError::Reject(e.to_string()))?;
        repo::update_case(conn, &row).await?;
    }
    Ok(())
}
