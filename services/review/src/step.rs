//! The one path an office's step on a case takes — ClaimCase, RequestSupplement, DecideCase,
//! ExtendDeadline, SuspendClock and ResumeClock alike:
//!
//! ```text
//! Executor::begin ─► lock every row of the case ─► the domain decides (assignment::review or
//! clock_steps::clock_step) ─► store the rows (and the bundle member) ─► Step::apply(effects)
//! ─► the caller's view ─► commit
//! ```
//!
//! The rows of a case are locked in one order, so two offices acting at once on the parts of a
//! 多地联办 case queue instead of deadlocking; the step runs in the case's trace.

use chrono::{DateTime, Utc};
use serde_json::json;
use tongban_domain::assignment::{self, CaseReview, Command as ReviewCommand, Outcome, Reviewer};
use tongban_domain::case::{CaseEvent, Decision};
use tongban_domain::clock::SuspensionKind;
use tongban_domain::clock_steps::{self, ClockChange, ClockCommand, ClockState};
use tongban_domain::joint::PartState;
use tongban_proto::common::v1 as pb;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::review::v1::Assignment;
use tongban_runtime::auth::Claims;
use tongban_runtime::auth::Role;
use tongban_runtime::convert::decision_to_pb;
use tongban_step::{Actor, CaseRef, Effects, Executor};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::State;
use crate::error::ReviewError;
use crate::repo::{self, AssignmentRow, RepoError, state_name};

/// The executor of review's steps.
pub(crate) const EXECUTOR: Executor = Executor::new(crate::SERVICE);

/// What an office asks of a case.
#[derive(Debug, Clone)]
pub(crate) enum Command {
    /// A reviewer's claim, 补正 request or decision.
    Review(ReviewCommand),
    /// The office's say over the case clock.
    Clock(ClockAsk),
    /// 改派 by the office head.
    Reassign {
        /// The user the case goes to.
        reviewer: String,
        /// Why (may be empty).
        reason: String,
    },
}

/// A clock step an office asks for.
#[derive(Debug, Clone)]
pub(crate) enum ClockAsk {
    /// 延长 by the office head.
    Extend {
        /// Working days asked (1 to 10, checked by the handler).
        working_days: u32,
        /// Why.
        reason: String,
    },
    /// A special procedure stops the clock.
    Suspend {
        /// Which procedure.
        kind: SuspensionKind,
        /// Why.
        reason: String,
    },
    /// The special procedure ended.
    Resume,
}

impl Command {
    /// The step's name in the case's trace.
    fn name(&self) -> &'static str {
        match self {
            Command::Review(command) => command.name(),
            Command::Clock(ClockAsk::Extend { .. }) => "extend_deadline",
            Command::Clock(ClockAsk::Suspend { .. }) => "suspend_clock",
            Command::Clock(ClockAsk::Resume) => "resume_clock",
            Command::Reassign { .. } => "reassign",
        }
    }

    /// The stage the step works in (`tongban.stage`).
    fn stage(&self) -> &'static str {
        match self {
            Command::Review(command) => command.stage(),
            Command::Clock(_) | Command::Reassign { .. } => "review",
        }
    }
}

/// The case a row belongs to, with the trace it was submitted in.
pub(crate) fn case_ref(row: &AssignmentRow) -> CaseRef {
    CaseRef::new(row.case_id, &row.case_number, row.traceparent.as_deref())
}

/// Takes `command` by the caller's office on case `case_id` and returns the caller's view.
///
/// # Errors
/// [`ReviewError::NotFound`] when the case has no row in the caller's office; the domain's
/// refusal; storage failures (nothing is written then).
pub(crate) async fn take(
    state: &State,
    claims: &Claims,
    case_id: Uuid,
    mut command: Command,
) -> Result<Assignment, ReviewError> {
    let now = state.clock.now();
    let actor = Actor::person(&claims.user, claims.role.as_str(), &claims.office);
    let mut step = EXECUTOR.begin(&state.pool, actor, now).await?;
    // Every row of the case, locked in one order: the parts of a joint case move together,
    // and the clock is the case's.
    let mut rows = repo::parts_of(step.conn(), case_id, true).await?;
    let acting = rows
        .iter()
        .position(|r| r.office_id == claims.office)
        .ok_or(ReviewError::NotFound)?;
    let row = &rows[acting];
    let request = tracing::Span::current();
    request.record("tongban.case_number", row.case_number.as_str());
    request.record("tongban.matter_code", row.matter_code.as_str());
    // The step runs in the case's trace: days later, the office's work still joins it (the
    // request's own span cannot change its parent once entered). The executor's span carries
    // the events' context; review's own span inside it names review as the service that did
    // the work.
    let joined = step.join(command.name(), &case_ref(row));
    joined.record("tongban.matter_code", row.matter_code.as_str());
    joined.record("tongban.stage", command.stage());
    let span = tracing::info_span!(
        parent: &joined,
        "review step",
        otel.name = command.name(),
        tongban.case_number = %row.case_number,
        tongban.matter_code = %row.matter_code,
        tongban.stage = command.stage(),
        tongban.due_at = row.due_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
    );
    async move {
        // 纸质原件: an approval waits for the originals (the domain knows whose they are).
        if let Command::Review(ReviewCommand::Decide {
            decision: Decision::Approve,
            originals_missing,
            ..
        }) = &mut command
        {
            *originals_missing = crate::originals::outstanding(step.conn(), case_id).await?;
        }
        let matter = state.reference.catalog.matter(&rows[acting].matter_code);
        // 认领人负责: who holds the office's row decides who may act on it.
        let by = Reviewer {
            user: &claims.user,
            head: claims.role == Role::OfficeHead,
        };
        let holder = rows[acting].claimed_by.clone();
        let effects = match &command {
            Command::Review(command) => {
                let outcome = assignment::review_as(
                    &case_review(&rows, &rows[acting])?,
                    acting,
                    holder.as_deref(),
                    by,
                    command,
                    matter,
                )?;
                let effects = record_review(&mut rows, acting, command, &outcome, claims, now);
                let stored = if outcome.parts.is_empty() {
                    std::slice::from_ref(&rows[acting])
                } else {
                    rows.as_slice()
                };
                for row in stored {
                    repo::update(step.conn(), row).await?;
                }
                // 一件事: the case as a whole, as its bundle counts it.
                crate::members::follow(step.conn(), case_id, outcome.status, outcome.decided())
                    .await?;
                effects
            }
            Command::Clock(ask) => {
                let command = clock_command(ask, matter);
                let entries: Vec<(u32, Option<SuspensionKind>)> = rows
                    .iter()
                    .map(|r| (r.extension_days, r.clock_suspension))
                    .collect();
                let before = ClockState::of(&entries, acting);
                let row = &rows[acting];
                let change =
                    clock_steps::clock_step(row.status(), row.part_state(), &before, command)?;
                let effects =
                    record_clock(&mut rows[acting], ask, command, &before, change, claims);
                repo::update_clock(step.conn(), &rows[acting]).await?;
                effects
            }
            Command::Reassign { reviewer, reason } => {
                assignment::reassign(
                    &case_review(&rows, &rows[acting])?,
                    acting,
                    holder.as_deref(),
                    by,
                )?;
                let row = &mut rows[acting];
                row.claimed_by = Some(reviewer.clone());
                row.claimed_at = Some(now);
                repo::update(step.conn(), row).await?;
                let mut effects = Effects::new();
                effects.audit_case(
                    "reassign",
                    &case_ref(row),
                    Some(json!({"claimed_by": holder})),
                    Some(json!({"claimed_by": reviewer, "reason": reason})),
                );
                tracing::info!(case_number = %row.case_number, office = %row.office_id, "case reassigned");
                effects
            }
        };
        step.apply(effects).await?;
        // Every row of the case is in hand: the view reads only the bundle's members.
        let view =
            crate::view::assignment_in_case(step.conn(), &state.reference, &rows[acting], &rows)
                .await?;
        step.commit().await?;
        Ok(view)
    }
    .instrument(span)
    .await
}

/// The case as the domain sees it from the office of `rows[acting]`: its status (every row of
/// a case holds it) and, for a 多地联办 case, its parts.
///
/// # Errors
/// [`RepoError::Decode`] when some rows of the case are parts and others are not.
fn case_review(rows: &[AssignmentRow], acting: &AssignmentRow) -> Result<CaseReview, RepoError> {
    let parts = part_states(rows)?;
    Ok(CaseReview {
        status: acting.status(),
        parts: rows
            .iter()
            .zip(parts)
            .filter_map(|(row, state)| Some((row.joint_part()?, state)))
            .collect(),
    })
}

/// 多地联办: the state of every part of the case (empty for a case handled by one office).
///
/// # Errors
/// [`RepoError::Decode`] when some rows of the case are parts and others are not (or a part
/// lost its route): the rows are corrupt.
pub(crate) fn part_states(rows: &[AssignmentRow]) -> Result<Vec<PartState>, RepoError> {
    let joint = rows.iter().filter(|r| r.joint_part().is_some()).count();
    if joint == 0 {
        return Ok(Vec::new());
    }
    if joint != rows.len() {
        return Err(RepoError::Decode {
            column: "part_state",
            value: format!("{joint} parts among {} rows", rows.len()),
        });
    }
    Ok(rows.iter().filter_map(AssignmentRow::part_state).collect())
}

/// Writes what the domain decided into the case's rows — the acting row records the command,
/// every part its new state, every row the case's status — and returns the step's events and
/// audit entry.
fn record_review(
    rows: &mut [AssignmentRow],
    acting: usize,
    command: &ReviewCommand,
    outcome: &Outcome,
    claims: &Claims,
    now: DateTime<Utc>,
) -> Effects {
    let joint = !outcome.parts.is_empty();
    let before = {
        let row = &rows[acting];
        if joint {
            json!({
                "part_state": row.part_state,
                "state": state_name(row.state),
                "case_status": row.case_status,
            })
        } else {
            json!({"state": state_name(row.state), "case_status": row.case_status})
        }
    };
    let row = &mut rows[acting];
    match command {
        ReviewCommand::Claim { reviewer } => {
            row.claimed_by = Some(reviewer.clone());
            row.claimed_at = Some(now);
        }
        ReviewCommand::RequestSupplement { items, reason } => {
            row.supplement_items = json!(items);
            row.supplement_reason = Some(reason.clone());
        }
        ReviewCommand::Decide {
            decision,
            reason,
            checklist,
            ..
        } => {
            row.decision = Some(*decision);
            row.decision_reason = Some(reason.clone());
            row.checklist = serde_json::to_value(checklist).unwrap_or_else(|_| json!([]));
            row.decided_at = Some(now);
        }
    }
    if outcome.stops_clock {
        // The clock stops until the window hands the material in.
        row.due_at = None;
    }
    let case = case_ref(row);
    let mut effects = Effects::new();
    if joint {
        // The time limit is the case's: a 补正 stops it for every part.
        let due_at = rows[acting].due_at;
        for (row, part_state) in rows.iter_mut().zip(&outcome.parts) {
            row.set_part_state(*part_state);
            row.set_status(outcome.status);
            row.due_at = due_at;
        }
        for &i in &outcome.changed {
            let reviewer = if i == acting {
                claims.user.as_str()
            } else {
                ""
            };
            effects.emit(&case, crate::joint::part_updated(&rows[i], reviewer, now));
        }
    } else {
        rows[acting].set_status(outcome.status);
    }
    let row = &rows[acting];
    for event in &outcome.case_events {
        let body = case_body(command, rows, acting, *event, claims);
        effects.emit(&case, body);
        log_step(row, *event);
    }
    let after = if joint {
        tracing::info!(
            case_number = %row.case_number,
            part = %row.part_code,
            part_state = row.part_state.map(PartState::as_str).unwrap_or_default(),
            case_status = %row.case_status,
            "joint part step"
        );
        json!({
            "part_code": row.part_code,
            "part_state": row.part_state,
            "state": state_name(row.state),
            "case_status": row.case_status,
            "decision": row.decision,
        })
    } else {
        json!({"state": state_name(row.state), "case_status": row.case_status, "decision": row.decision})
    };
    effects.audit_case(command.name(), &case, Some(before), Some(after));
    effects
}

/// The case-level event of a review step, as the acting office's; for a 多地联办 case an
/// approval of the whole case is the lead office's (it issues the result) and a denial names
/// the part that denied.
fn case_body(
    command: &ReviewCommand,
    rows: &[AssignmentRow],
    acting: usize,
    event: CaseEvent,
    claims: &Claims,
) -> Body {
    let row = &rows[acting];
    let joint = row.is_joint();
    match command {
        ReviewCommand::Claim { reviewer } => Body::CaseClaimed(ev::CaseClaimed {
            office_id: row.office_id.clone(),
            reviewer: reviewer.clone(),
        }),
        ReviewCommand::RequestSupplement { items, reason } => {
            Body::SupplementRequested(ev::SupplementRequested {
                office_id: row.office_id.clone(),
                items: items.clone(),
                reason: reason.clone(),
            })
        }
        ReviewCommand::Decide {
            decision,
            reason,
            checklist,
            ..
        } => {
            let (office_id, reason) = match event {
                CaseEvent::Decided(Decision::Approve) if joint => {
                    (rows[0].office_id.clone(), reason.clone())
                }
                CaseEvent::Decided(Decision::Deny) if joint => (
                    row.office_id.clone(),
                    assignment::denial_reason(&row.part_name, reason),
                ),
                _ => (row.office_id.clone(), reason.clone()),
            };
            Body::CaseDecided(ev::CaseDecided {
                office_id,
                decision: decision_to_pb(*decision).into(),
                reason,
                checklist: checklist
                    .iter()
                    .map(|c| pb::ChecklistItem {
                        review_point_code: c.review_point_code.clone(),
                        passed: c.passed,
                        note: c.note.clone(),
                    })
                    .collect(),
                reviewer: claims.user.clone(),
            })
        }
    }
}

/// The domain's clock command for a clock step on a case of `matter`.
fn clock_command(ask: &ClockAsk, matter: Option<&tongban_domain::catalog::Matter>) -> ClockCommand {
    match ask {
        ClockAsk::Extend { working_days, .. } => ClockCommand::Extend {
            working_days: *working_days,
            allowance: clock_steps::extension_allowance(matter),
        },
        ClockAsk::Suspend { kind, .. } => ClockCommand::Suspend { kind: *kind },
        ClockAsk::Resume => ClockCommand::Resume,
    }
}

/// Writes a clock change into the office's row and returns its event and audit entry.
fn record_clock(
    row: &mut AssignmentRow,
    ask: &ClockAsk,
    clock: ClockCommand,
    before: &ClockState,
    change: ClockChange,
    claims: &Claims,
) -> Effects {
    row.extension_days = change.extension_days;
    row.clock_suspension = change.suspension;
    let office_id = row.office_id.clone();
    let body = match ask {
        ClockAsk::Extend {
            working_days,
            reason,
        } => Body::DeadlineExtended(ev::DeadlineExtended {
            office_id,
            working_days: *working_days,
            reason: reason.clone(),
            approved_by: claims.user.clone(),
        }),
        ClockAsk::Suspend { kind, reason } => Body::ClockSuspended(ev::ClockSuspended {
            office_id,
            kind: kind.code().to_owned(),
            reason: reason.clone(),
        }),
        ClockAsk::Resume => Body::ClockResumed(ev::ClockResumed {
            office_id,
            // The domain resumes only an open procedure: it names it.
            kind: change
                .resumed
                .map(SuspensionKind::code)
                .unwrap_or_default()
                .to_owned(),
        }),
    };
    let case = case_ref(row);
    let mut effects = Effects::new();
    effects.emit(&case, body);
    effects.audit_case(
        clock.action(),
        &case,
        Some(json!({
            "extension_days": before.extension_days,
            "clock_suspension": before.suspension.map(SuspensionKind::code),
        })),
        Some(json!({
            "extension_days": change.extension_days,
            "clock_suspension": change.suspension.map(SuspensionKind::code),
        })),
    );
    tracing::info!(case_number = %row.case_number, action = clock.action(), "case clock step");
    effects
}

/// Logs a case-level step.
fn log_step(row: &AssignmentRow, step: CaseEvent) {
    // Reasons and 补正 items are free text a reviewer typed: they stay out of the log (they may
    // hold personal data); the timeline users see carries them.
    tracing::info!(
        case_number = %row.case_number,
        office = %row.office_id,
        part = %row.part_code,
        step = step.subject_suffix(),
        "review step"
    );
}
