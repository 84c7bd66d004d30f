//! The office's say over the case clock: 延长 (行政许可法 Art. 42) by the office head, and the
//! Art. 45 special procedures (鉴定, 检测, 专家评审, 公告) that stop the clock. The clock itself is
//! kept from the events by the supervision service; review keeps only what it needs to refuse a
//! step that does not apply (extension days granted so far, the open special procedure).

use serde_json::json;
use tongban_domain::case::CaseStatus;
use tongban_domain::clock::{MAX_EXTENSION_DAYS, SuspensionKind};
use tongban_domain::i18n::Lang;
use tongban_domain::joint::PartState;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::review::v1::{
    Assignment, ExtendDeadlineRequest, ResumeClockRequest, SpecialProcedure, SuspendClockRequest,
};
use tongban_runtime::auth::{Claims, Role};
use tongban_runtime::input::{check_text, parse_case_id};
use tongban_runtime::status::{self, FieldViolation, PreconditionViolation};
use tonic::Status;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::State;
use crate::outbox::publish;
use crate::repo::{self, AssignmentRow};
use crate::view;
use tongban_runtime::status::internal_for as internal;

/// The reason of a clock step: required (in words of its own), otherwise any free text.
fn check_reason(raw: &str, lang: Lang, errors: &mut Vec<FieldViolation>) -> String {
    if raw.trim().is_empty() {
        errors.push(FieldViolation::new(
            "reason",
            lang.pick("必须说明理由", "a reason is required"),
        ));
        return String::new();
    }
    check_text(raw, "reason", lang, errors)
}

fn precondition(lang: Lang, zh: &str, en: &str, subject: &str) -> Status {
    let message = lang.pick(zh, en).to_owned();
    status::failed_precondition(
        message.clone(),
        vec![PreconditionViolation::new("CASE_CLOCK", subject, message)],
    )
}

/// The clock fields review keeps beside the assignment. The clock is the case's: a 多地联办
/// case's parts share the extension allowance and one special procedure at a time.
struct ClockState {
    /// Extension days granted by this office.
    extension_days: u32,
    /// Extension days granted over the case (every part's office).
    case_extension_days: u32,
    /// The special procedure this office opened, if any.
    suspension: Option<SuspensionKind>,
    /// Whether a special procedure is open on the case (by any part's office).
    case_suspended: bool,
}

impl ClockState {
    /// The clock state of the case whose rows are `rows`, as the office of `own` sees it.
    fn of(rows: &[AssignmentRow], own: &AssignmentRow) -> Self {
        Self {
            extension_days: own.extension_days,
            case_extension_days: rows
                .iter()
                .fold(0_u32, |sum, r| sum.saturating_add(r.extension_days)),
            suspension: own.clock_suspension,
            case_suspended: rows.iter().any(|r| r.clock_suspension.is_some()),
        }
    }
}

/// The open statuses in which the time limit still runs.
fn is_open(status: CaseStatus) -> bool {
    matches!(
        status,
        CaseStatus::Routed
            | CaseStatus::Claimed
            | CaseStatus::SupplementRequested
            | CaseStatus::Supplemented
    )
}

fn procedure_kind(procedure: SpecialProcedure) -> Option<SuspensionKind> {
    match procedure {
        SpecialProcedure::Appraisal => Some(SuspensionKind::Appraisal),
        SpecialProcedure::Inspection => Some(SuspensionKind::Inspection),
        SpecialProcedure::ExpertReview => Some(SuspensionKind::ExpertReview),
        SpecialProcedure::PublicNotice => Some(SuspensionKind::PublicNotice),
        SpecialProcedure::Unspecified => None,
    }
}

/// What a clock step changes and publishes.
struct Change {
    action: &'static str,
    body: Body,
    extension_days: u32,
    suspension: Option<SuspensionKind>,
}

/// Loads the caller's open assignment (NOT_FOUND when the case has no row for the caller's
/// office; every row of the case locked, as the clock is the case's), lets `decide` check the
/// step against the clock state, stores it and publishes its event with the case's trace.
async fn clock_step(
    state: &State,
    claims: &Claims,
    case_id: Uuid,
    lang: Lang,
    decide: impl FnOnce(&AssignmentRow, &ClockState) -> Result<Change, Status>,
) -> Result<Assignment, Status> {
    let mut tx = state.pool.begin().await.map_err(internal(lang))?;
    let rows = repo::parts_of(&mut tx, case_id, true)
        .await
        .map_err(internal(lang))?;
    let row = rows
        .iter()
        .find(|r| claims.office == r.office_id)
        .ok_or_else(|| status::not_found(lang, "该办件", "case"))?;
    let span = tracing::Span::current();
    span.record("tongban.case_number", row.case_number.as_str());
    span.record("tongban.matter_code", row.matter_code.as_str());
    // The step runs in a span of the case's trace (the request's own span cannot change its
    // parent once entered).
    let step = tracing::info_span!(
        "case clock step",
        tongban.case_number = %row.case_number,
        tongban.matter_code = %row.matter_code,
        tongban.stage = "review",
        tongban.due_at = row.due_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
    );
    if let Some(parent) = row.traceparent.as_deref() {
        tongban_telemetry::set_parent_from_traceparent(&step, parent, None);
    }
    async {
        if !is_open(row.status()) {
            return Err(precondition(
                lang,
                "办件已办结或撤回，时限不再计算",
                "the case is closed; its time limit no longer runs",
                "state",
            ));
        }
        let before_clock = ClockState::of(&rows, row);
        let change = decide(row, &before_clock)?;
        sqlx::query(
            "UPDATE assignments SET extension_days = $3, clock_suspension = $4, updated_at = now()
             WHERE case_id = $1 AND office_id = $2",
        )
        .bind(case_id)
        .bind(&row.office_id)
        .bind(i32::try_from(change.extension_days).unwrap_or(i32::MAX))
        .bind(change.suspension.map(SuspensionKind::code))
        .execute(&mut *tx)
        .await
        .map_err(internal(lang))?;
        let now = state.clock.now();
        publish(&mut tx, row, &claims.user, now, change.body.clone())
            .await
            .map_err(|e| status::internal(lang, &e))?;
        tongban_store::audit(
            &mut tx,
            &tongban_store::AuditRecord {
                actor: &claims.user,
                role: claims.role.as_str(),
                office_id: &claims.office,
                action: change.action,
                entity: "case",
                entity_id: &row.case_id.to_string(),
                before: Some(json!({
                    "extension_days": before_clock.extension_days,
                    "clock_suspension": before_clock.suspension.map(SuspensionKind::code),
                })),
                after: Some(json!({
                    "extension_days": change.extension_days,
                    "clock_suspension": change.suspension.map(SuspensionKind::code),
                })),
            },
        )
        .await
        .map_err(|e| status::internal(lang, &e))?;
        let assignment = view::assignment_in_case(&mut tx, &state.reference, row, &rows)
            .await
            .map_err(internal(lang))?;
        tx.commit().await.map_err(internal(lang))?;
        tracing::info!(case_number = %row.case_number, action = change.action, "case clock step");
        Ok(assignment)
    }
    .instrument(step)
    .await
}

/// ExtendDeadline: the office head, with a reason, 1 to 10 working days and at most 10 over the
/// case.
pub(crate) async fn extend_deadline(
    state: &State,
    claims: &Claims,
    req: &ExtendDeadlineRequest,
    lang: Lang,
) -> Result<Assignment, Status> {
    claims.require(&[Role::OfficeHead], lang)?;
    let case_id = parse_case_id(&req.case_id, lang)?;
    let mut errors = Vec::new();
    let reason = check_reason(&req.reason, lang, &mut errors);
    if req.working_days == 0 || req.working_days > MAX_EXTENSION_DAYS {
        errors.push(FieldViolation::new(
            "working_days",
            lang.pick("应为 1 至 10 个工作日", "1 to 10 working days"),
        ));
    }
    if !errors.is_empty() {
        return Err(status::invalid_argument(lang, errors));
    }
    let days = req.working_days;
    let reference = state.reference.clone();
    clock_step(state, claims, case_id, lang, |row, clock| {
        let allowance = reference
            .catalog
            .matter(&row.matter_code)
            .map_or(MAX_EXTENSION_DAYS, |m| m.extension_allowance_days);
        if clock.case_extension_days.saturating_add(days) > allowance {
            let (zh, en) = (
                format!("该事项延长总天数不得超过 {allowance} 个工作日"),
                format!(
                    "extensions of this matter may add at most {allowance} working days in all"
                ),
            );
            return Err(precondition(lang, &zh, &en, "extension_days"));
        }
        Ok(Change {
            action: "case.extend_deadline",
            body: Body::DeadlineExtended(ev::DeadlineExtended {
                office_id: row.office_id.clone(),
                working_days: req.working_days,
                reason: reason.clone(),
                approved_by: claims.user.clone(),
            }),
            extension_days: clock.extension_days.saturating_add(days),
            suspension: clock.suspension,
        })
    })
    .await
}

/// SuspendClock: the office's reviewer or head stops the clock for a special procedure while the
/// case is under review.
pub(crate) async fn suspend_clock(
    state: &State,
    claims: &Claims,
    req: &SuspendClockRequest,
    lang: Lang,
) -> Result<Assignment, Status> {
    claims.require(&[Role::Reviewer, Role::OfficeHead], lang)?;
    let case_id = parse_case_id(&req.case_id, lang)?;
    let mut errors = Vec::new();
    let reason = check_reason(&req.reason, lang, &mut errors);
    let kind = procedure_kind(req.procedure());
    if kind.is_none() {
        errors.push(FieldViolation::new(
            "procedure",
            lang.pick(
                "应为鉴定、检测、专家评审或公告",
                "one of APPRAISAL, INSPECTION, EXPERT_REVIEW, PUBLIC_NOTICE",
            ),
        ));
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return Err(status::invalid_argument(lang, errors));
    };
    clock_step(state, claims, case_id, lang, |row, clock| {
        // A 多地联办 office suspends while its own part is under review.
        let own = row
            .part_state()
            .map_or(Some(row.status()), PartState::as_case_status);
        let under_review = matches!(own, Some(CaseStatus::Claimed | CaseStatus::Supplemented));
        if clock.case_suspended || !under_review {
            return Err(precondition(
                lang,
                "只有审查中且时限未暂停的办件可以暂停计时",
                "only a case under review with its clock running can be suspended",
                "clock_suspension",
            ));
        }
        Ok(Change {
            action: "case.suspend_clock",
            body: Body::ClockSuspended(ev::ClockSuspended {
                office_id: row.office_id.clone(),
                kind: kind.code().to_owned(),
                reason: reason.clone(),
            }),
            extension_days: clock.extension_days,
            suspension: Some(kind),
        })
    })
    .await
}

/// ResumeClock: the special procedure ended; the clock runs again.
pub(crate) async fn resume_clock(
    state: &State,
    claims: &Claims,
    req: &ResumeClockRequest,
    lang: Lang,
) -> Result<Assignment, Status> {
    claims.require(&[Role::Reviewer, Role::OfficeHead], lang)?;
    let case_id = parse_case_id(&req.case_id, lang)?;
    clock_step(state, claims, case_id, lang, |row, clock| {
        let Some(kind) = clock.suspension.map(|k| k.code().to_owned()) else {
            return Err(precondition(
                lang,
                "该办件没有进行中的特别程序",
                "no special procedure is in progress",
                "clock_suspension",
            ));
        };
        Ok(Change {
            action: "case.resume_clock",
            body: Body::ClockResumed(ev::ClockResumed {
                office_id: row.office_id.clone(),
                kind,
            }),
            extension_days: clock.extension_days,
            suspension: None,
        })
    })
    .await
}
