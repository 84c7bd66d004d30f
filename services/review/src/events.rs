//! Cases arrive in an office's inbox when intake routes them (a 多地联办 case in the inbox of
//! every part's office); the window's 补正, withdrawals and completions keep the assignments in
//! step, and every step of a 一件事 member — routed or not — keeps its bundle's members in step.

use serde_json::json;
use sqlx::PgConnection;
use tongban_bus::{EventHandler, HandleError};
use tongban_domain::case::{CaseCommand, CaseStatus};
use tongban_domain::catalog::JointPart;
use tongban_domain::joint;
use tongban_proto::events::v1::{CaseSummary, CaseSupplemented, Event, event::Body};
use tongban_runtime::convert::{datetime, part_state_from_pb};
use uuid::Uuid;

use tongban_domain::assignment::window_step;
use tongban_step::{Actor, Effects, Trace};

use crate::State;
use crate::repo::{self, AssignmentRow};
use crate::step;

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
            // Our own claims and decisions were applied when they were made (to the assignments
            // and to the bundle members alike).
            return Ok(());
        }
        let case_id = Uuid::parse_str(&event.case_id)
            .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
        // 一件事: every member's steps, from its submission on, routed or not.
        crate::members::apply(conn, &self.state.reference, case_id, event).await?;
        match &event.body {
            Some(Body::CaseRouted(routed)) => {
                let Some(summary) = &routed.summary else {
                    return Err(HandleError::Reject(
                        "routed event without a summary".to_owned(),
                    ));
                };
                let rows = routed_rows(&self.state, case_id, event, summary)?;
                crate::originals::expect(conn, &self.state.reference, case_id, summary).await?;
                for row in &rows {
                    if repo::insert(conn, row).await? {
                        tracing::info!(
                            case_number = %row.case_number,
                            office = %row.office_id,
                            part = %row.part_code,
                            "case in the office's inbox"
                        );
                    }
                }
                Ok(())
            }
            Some(Body::CaseSupplemented(s)) => {
                self.window(conn, case_id, &CaseCommand::Supplement, event, Some(s))
                    .await
            }
            Some(Body::CaseWithdrawn(w)) => {
                let command = CaseCommand::Withdraw {
                    reason: w.reason.clone(),
                };
                self.window(conn, case_id, &command, event, None).await
            }
            Some(Body::CaseCompleted(_)) => {
                self.window(conn, case_id, &CaseCommand::Complete, event, None)
                    .await
            }
            _ => Ok(()),
        }
    }
}

impl CaseEvents {
    /// Applies a step the window made to every row of the case (the domain's
    /// `assignment::window_step`; with 补正 material, the case's material and time limit on every
    /// row) and, for a 多地联办 case, publishes `case.part_updated` for the parts it moved, in the
    /// delivery's transaction (so it is published exactly when the step is stored).
    ///
    /// A withdrawal or completion of a case in no inbox changes nothing (withdrawn before it
    /// was routed); 补正 material for such a case is retried, as its routing is still on its way.
    async fn window(
        &self,
        conn: &mut PgConnection,
        case_id: Uuid,
        command: &CaseCommand,
        event: &Event,
        supplemented: Option<&CaseSupplemented>,
    ) -> Result<(), HandleError> {
        let mut rows = repo::parts_of(conn, case_id, true).await?;
        let Some(first) = rows.first() else {
            if matches!(command, CaseCommand::Supplement) {
                return Err(HandleError::Retry(
                    "supplement for a case not yet in any inbox".into(),
                ));
            }
            return Ok(());
        };
        let parts = step::part_states(&rows)?;
        let changed = match window_step(first.status(), &parts, command) {
            Ok(moved) => {
                for (i, row) in rows.iter_mut().enumerate() {
                    if let Some(part) = moved.parts.get(i) {
                        row.set_part_state(*part);
                    }
                    row.set_status(moved.status);
                }
                moved.changed
            }
            Err(err) => {
                tracing::warn!(case_number = %first.case_number, error = %err, "window event does not apply; ignored");
                Vec::new()
            }
        };
        if let Some(s) = supplemented {
            // The material and the time limit are the case's: every part's row follows.
            let due_at = datetime(s.due_at.as_ref());
            let materials = rows
                .first()
                .map(|row| merged_materials(&row.materials, s))
                .unwrap_or_default();
            for row in &mut rows {
                row.due_at = due_at;
                row.materials = materials.clone();
            }
        }
        for row in &rows {
            repo::update(conn, row).await?;
        }
        if changed.is_empty() {
            return Ok(());
        }
        let at = datetime(event.occurred_at.as_ref()).unwrap_or_else(|| self.state.clock.now());
        let mut effects = Effects::new();
        for &i in &changed {
            effects.emit(
                &step::case_ref(&rows[i]),
                crate::joint::part_updated(&rows[i], "", at),
            );
        }
        tongban_step::apply(
            conn,
            crate::SERVICE,
            &Actor::person(&event.actor, "", ""),
            at,
            &Trace::current(),
            effects,
        )
        .await?;
        Ok(())
    }
}

/// The case's material after 补正: the material handed in replaces the earlier material of the
/// same code.
fn merged_materials(
    stored: &serde_json::Value,
    supplemented: &CaseSupplemented,
) -> serde_json::Value {
    let mut merged = tongban_runtime::convert::materials_from_json(stored);
    merged.retain(|m| {
        !supplemented
            .materials
            .iter()
            .any(|n| n.material_code == m.material_code)
    });
    merged.extend(supplemented.materials.iter().cloned());
    tongban_runtime::convert::materials_to_json(&merged)
}

/// The inbox rows of a routed case: one for a case handled by one office, one per part (each at
/// its part's office) for a 多地联办 case.
fn routed_rows(
    state: &State,
    case_id: Uuid,
    event: &Event,
    summary: &CaseSummary,
) -> Result<Vec<AssignmentRow>, HandleError> {
    let bundle_id = if summary.bundle_id.is_empty() {
        None
    } else {
        Some(
            Uuid::parse_str(&summary.bundle_id)
                .map_err(|_| HandleError::Reject("bundle id is not a UUID".to_owned()))?,
        )
    };
    let optional = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let base = AssignmentRow {
        case_id,
        case_number: event.case_number.clone(),
        office_id: summary.responsible_office_id.clone(),
        matter_code: summary.matter_code.clone(),
        matter_name: summary.matter_name.clone(),
        scope: tongban_runtime::convert::scope_from_pb(summary.scope()),
        mode: tongban_runtime::convert::mode_from_pb(summary.mode()),
        window_office_id: summary.window_office_id.clone(),
        applicant: summary.applicant.as_ref().map_or(json!({}), |a| {
            json!({"name": a.name, "id_number_masked": a.id_number_masked, "phone_masked": a.phone_masked})
        }),
        home_division: summary.home_division.clone(),
        materials: tongban_runtime::convert::materials_to_json(&summary.materials),
        routed_at: datetime(event.occurred_at.as_ref()).unwrap_or_else(chrono::Utc::now),
        due_at: datetime(summary.due_at.as_ref()),
        traceparent: tongban_telemetry::traceparent_of(&tracing::Span::current()),
        bundle_id,
        bundle_number: optional(&summary.bundle_number),
        bundle_code: optional(&summary.bundle_code),
        bundle_name: optional(&summary.bundle_name),
        ..AssignmentRow::default()
    };
    if summary.parts.is_empty() {
        let mut row = base;
        row.set_status(CaseStatus::Routed);
        return Ok(vec![row]);
    }
    let matter = state.reference.catalog.matter(&summary.matter_code);
    let mut rows = Vec::with_capacity(summary.parts.len());
    for (seq, part) in summary.parts.iter().enumerate() {
        if part.office_id.is_empty() || part.part_code.is_empty() {
            return Err(HandleError::Reject(format!(
                "part {seq} of the routed case names no office or code"
            )));
        }
        let locality = part.locality.parse().map_err(|_| {
            HandleError::Reject(format!(
                "part {seq} of the routed case names no known locality"
            ))
        })?;
        // The part's 审查要点 come from the catalog; the rest of its route from intake.
        let review_points = matter
            .and_then(|m| m.part(&part.part_code))
            .map(|p| p.review_points.clone())
            .unwrap_or_default();
        let mut row = AssignmentRow {
            office_id: part.office_id.clone(),
            part_code: part.part_code.clone(),
            part_name: part.name.clone(),
            part_seq: i32::try_from(seq).unwrap_or(i32::MAX),
            part_after: json!(part.after),
            part_review_points: json!(review_points),
            part_route: json!({
                "name_en": part.name_en,
                "department": part.department,
                "locality": part.locality,
                "division": part.division,
                "scope": scope_name(part.scope()),
                "agreement_id": part.agreement_id,
            }),
            part_locality: Some(locality),
            part_scope: tongban_runtime::convert::scope_from_pb(part.scope()),
            ..base.clone()
        };
        // Intake names the part's state; when it does not, the part starts as the domain says
        // (waiting while it comes after other parts).
        let initial = part_state_from_pb(part.state()).unwrap_or_else(|| {
            joint::initial_state(&JointPart {
                code: part.part_code.clone(),
                name: part.name.clone(),
                name_en: part.name_en.clone(),
                department: part.department.clone(),
                locality,
                after: part.after.clone(),
                review_points: Vec::new(),
            })
        });
        row.set_part_state(initial);
        row.set_status(CaseStatus::Routed);
        rows.push(row);
    }
    Ok(rows)
}

fn scope_name(scope: tongban_proto::common::v1::Scope) -> String {
    tongban_runtime::convert::scope_from_pb(scope)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}
