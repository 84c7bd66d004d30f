//! Cases arrive in an office's inbox when intake routes them; the window's 补正, withdrawals and
//! completions keep the assignment in step.

use serde_json::json;
use sqlx::PgConnection;
use tongban_bus::{EventHandler, HandleError};
use tongban_domain::case::{self, CaseCommand, CaseStatus};
use tongban_proto::events::v1::{Event, event::Body};
use tongban_runtime::convert::datetime;
use uuid::Uuid;

use crate::State;
use crate::repo::{self, AssignmentRow};

/// Consumer of `case.>` for what concerns the review office.
pub struct CaseEvents {
    state: State,
}

impl CaseEvents {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

impl EventHandler for CaseEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        if event.producer == crate::SERVICE {
            // Our own claims and decisions were applied when they were made.
            return Ok(());
        }
        let case_id = Uuid::parse_str(&event.case_id)
            .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
        match &event.body {
            Some(Body::CaseRouted(routed)) => {
                let Some(summary) = &routed.summary else {
                    return Err(HandleError::Reject(
                        "routed event without a summary".to_owned(),
                    ));
                };
                let mut row = AssignmentRow {
                    case_id,
                    case_number: event.case_number.clone(),
                    office_id: summary.responsible_office_id.clone(),
                    matter_code: summary.matter_code.clone(),
                    matter_name: summary.matter_name.clone(),
                    scope: scope_name(summary.scope()),
                    mode: mode_name(summary.mode()),
                    state: String::new(),
                    case_status: String::new(),
                    window_office_id: summary.window_office_id.clone(),
                    applicant: summary.applicant.as_ref().map_or(json!({}), |a| {
                        json!({"name": a.name, "id_number_masked": a.id_number_masked, "phone_masked": a.phone_masked})
                    }),
                    home_division: summary.home_division.clone(),
                    materials: tongban_runtime::convert::materials_to_json(&summary.materials),
                    routed_at: datetime(event.occurred_at.as_ref()).unwrap_or_else(chrono::Utc::now),
                    due_at: datetime(summary.due_at.as_ref()),
                    claimed_by: None,
                    claimed_at: None,
                    decision: None,
                    decision_reason: None,
                    checklist: json!([]),
                    decided_at: None,
                    supplement_items: json!([]),
                    supplement_reason: None,
                    traceparent: tongban_telemetry::traceparent_of(&tracing::Span::current()),
                };
                row.set_status(CaseStatus::Routed);
                crate::originals::expect(conn, &self.state.reference, case_id, summary).await?;
                if repo::insert(conn, &row).await? {
                    tracing::info!(case_number = %row.case_number, office = %row.office_id, "case in the office's inbox");
                }
                Ok(())
            }
            Some(Body::CaseSupplemented(s)) => {
                let Some(mut row) = repo::get(conn, case_id, true).await? else {
                    return Err(HandleError::Retry(
                        "supplement for a case not yet in any inbox".into(),
                    ));
                };
                apply(&mut row, &CaseCommand::Supplement);
                row.due_at = datetime(s.due_at.as_ref());
                let mut materials = tongban_runtime::convert::materials_from_json(&row.materials);
                materials.retain(|m| {
                    !s.materials
                        .iter()
                        .any(|n| n.material_code == m.material_code)
                });
                materials.extend(s.materials.iter().cloned());
                row.materials = tongban_runtime::convert::materials_to_json(&materials);
                repo::update(conn, &row).await?;
                Ok(())
            }
            Some(Body::CaseWithdrawn(w)) => {
                let Some(mut row) = repo::get(conn, case_id, true).await? else {
                    // Withdrawn before it was routed: nothing in any inbox.
                    return Ok(());
                };
                apply(
                    &mut row,
                    &CaseCommand::Withdraw {
                        reason: w.reason.clone(),
                    },
                );
                repo::update(conn, &row).await?;
                Ok(())
            }
            Some(Body::CaseCompleted(_)) => {
                if let Some(mut row) = repo::get(conn, case_id, true).await? {
                    apply(&mut row, &CaseCommand::Complete);
                    repo::update(conn, &row).await?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Applies a transition the window already made; a step that no longer applies is logged only.
fn apply(row: &mut AssignmentRow, command: &CaseCommand) {
    match case::transition(row.status(), command) {
        Ok((next, _)) => row.set_status(next),
        Err(err) => {
            tracing::warn!(case_number = %row.case_number, error = %err, "window event does not apply; ignored")
        }
    }
}

fn scope_name(scope: tongban_proto::common::v1::Scope) -> String {
    tongban_runtime::convert::scope_from_pb(scope)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

fn mode_name(mode: tongban_proto::common::v1::Mode) -> String {
    tongban_runtime::convert::mode_from_pb(mode)
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default()
}
