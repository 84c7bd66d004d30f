//! The office's say over the case clock: 延长 (行政许可法 Art. 42) by the office head, and the
//! Art. 45 special procedures (鉴定, 检测, 专家评审, 公告) that stop the clock. The clock itself is
//! kept from the events by the supervision service; the rules of these steps are the domain's
//! (`clock_steps`), taken through [`crate::step`]. Here: who may ask, and what a well-formed
//! request is.

use tongban_domain::clock::SuspensionKind;
use tongban_domain::clock_steps::extension_days_valid;
use tongban_domain::i18n::Lang;
use tongban_proto::review::v1::{
    Assignment, ExtendDeadlineRequest, ResumeClockRequest, SpecialProcedure, SuspendClockRequest,
};
use tongban_runtime::auth::{Claims, Role};
use tongban_runtime::status::FieldViolation;

use crate::State;
use crate::error::ReviewError;
use crate::step::{self, ClockAsk, Command};

/// The reason of a clock step: required (in words of its own), otherwise any free text.
fn check_reason(raw: &str, lang: Lang, errors: &mut Vec<FieldViolation>) -> String {
    if raw.trim().is_empty() {
        errors.push(FieldViolation::new(
            "reason",
            lang.pick("必须说明理由", "a reason is required"),
        ));
        return String::new();
    }
    crate::limits::text(&crate::limits::REASON, raw, lang, errors)
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

/// ExtendDeadline: the office head, with a reason, 1 to 10 working days and at most the
/// matter's allowance over the case.
pub(crate) async fn extend_deadline(
    state: &State,
    claims: &Claims,
    req: &ExtendDeadlineRequest,
    lang: Lang,
) -> Result<Assignment, ReviewError> {
    claims.require(&[Role::OfficeHead], lang)?;
    let case_id = crate::limits::case_id(&req.case_id, lang)?;
    let mut errors = Vec::new();
    let reason = check_reason(&req.reason, lang, &mut errors);
    if !extension_days_valid(req.working_days) {
        errors.push(FieldViolation::new(
            "working_days",
            lang.pick("应为 1 至 10 个工作日", "1 to 10 working days"),
        ));
    }
    if !errors.is_empty() {
        return Err(ReviewError::Invalid(errors));
    }
    let ask = ClockAsk::Extend {
        working_days: req.working_days,
        reason,
    };
    step::take(state, claims, case_id, Command::Clock(ask)).await
}

/// SuspendClock: the office's reviewer or head stops the clock for a special procedure while the
/// case is under review.
pub(crate) async fn suspend_clock(
    state: &State,
    claims: &Claims,
    req: &SuspendClockRequest,
    lang: Lang,
) -> Result<Assignment, ReviewError> {
    claims.require(&[Role::Reviewer, Role::OfficeHead], lang)?;
    let case_id = crate::limits::case_id(&req.case_id, lang)?;
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
        return Err(ReviewError::Invalid(errors));
    };
    let ask = ClockAsk::Suspend { kind, reason };
    step::take(state, claims, case_id, Command::Clock(ask)).await
}

/// ResumeClock: the special procedure ended; the clock runs again.
pub(crate) async fn resume_clock(
    state: &State,
    claims: &Claims,
    req: &ResumeClockRequest,
    lang: Lang,
) -> Result<Assignment, ReviewError> {
    claims.require(&[Role::Reviewer, Role::OfficeHead], lang)?;
    let case_id = crate::limits::case_id(&req.case_id, lang)?;
    step::take(state, claims, case_id, Command::Clock(ClockAsk::Resume)).await
}
