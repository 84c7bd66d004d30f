//! The responsible office's say over the case clock: 延长 (行政许可法 Art. 42) by the office
//! head, and the Art. 45 special procedures (鉴定, 检测, 专家评审, 公告) that stop the clock. The
//! clock itself ([`crate::clock::CaseClock`]) is kept from the events by supervision; review keeps
//! only what it needs to refuse a step that does not apply — the extension days each office
//! granted and the special procedure it opened — and decides each step here ([`clock_step`]).
//! The clock is the case's: a 多地联办 case's parts share one extension allowance and one special
//! procedure at a time.

use std::fmt;

use crate::case::CaseStatus;
use crate::catalog::Matter;
use crate::clock::{MAX_EXTENSION_DAYS, SuspensionKind};
use crate::i18n::{Lang, Localized};
use crate::joint::PartState;

/// 延长: the working days a case of `matter` may be extended by in all — the matter's own
/// allowance, or [`MAX_EXTENSION_DAYS`] when the catalog no longer knows the matter.
pub fn extension_allowance(matter: Option<&Matter>) -> u32 {
    matter.map_or(MAX_EXTENSION_DAYS, |m| m.extension_allowance_days)
}

/// 延长: whether one extension of `working_days` is allowed by Art. 42 (1 to
/// [`MAX_EXTENSION_DAYS`] working days).
pub fn extension_days_valid(working_days: u32) -> bool {
    (1..=MAX_EXTENSION_DAYS).contains(&working_days)
}

/// Whether an office may open `kind` as a special procedure (Art. 45: 鉴定, 检测, 专家评审,
/// 公告). 补正 and 材料在途 stop the clock by themselves, never by an office's request.
pub fn is_special_procedure(kind: SuspensionKind) -> bool {
    matches!(
        kind,
        SuspensionKind::Appraisal
            | SuspensionKind::Inspection
            | SuspensionKind::ExpertReview
            | SuspensionKind::PublicNotice
    )
}

/// The clock as one office of a case sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClockState {
    /// Extension days this office granted.
    pub extension_days: u32,
    /// Extension days granted over the case (every part's office).
    pub case_extension_days: u32,
    /// The special procedure this office opened, if any.
    pub suspension: Option<SuspensionKind>,
    /// Whether a special procedure is open on the case (by any part's office).
    pub case_suspended: bool,
}

impl ClockState {
    /// The state of the case whose offices' entries are `entries` (extension days granted,
    /// special procedure opened), as the office of entry `own` sees it.
    pub fn of(entries: &[(u32, Option<SuspensionKind>)], own: usize) -> Self {
        let (extension_days, suspension) = entries.get(own).copied().unwrap_or_default();
        Self {
            extension_days,
            case_extension_days: entries
                .iter()
                .fold(0_u32, |sum, (days, _)| sum.saturating_add(*days)),
            suspension,
            case_suspended: entries.iter().any(|(_, s)| s.is_some()),
        }
    }
}

/// A clock step an office asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockCommand {
    /// 延长 by `working_days` (already checked by [`extension_days_valid`]), within the
    /// matter's `allowance` ([`extension_allowance`]) over the case.
    Extend {
        /// Working days asked.
        working_days: u32,
        /// Working days allowed over the case in all.
        allowance: u32,
    },
    /// Opens a special procedure: the clock stops.
    Suspend {
        /// Which procedure.
        kind: SuspensionKind,
    },
    /// The special procedure ended: the clock runs again.
    Resume,
}

impl ClockCommand {
    /// The audit action of the step (`case.extend_deadline`, …).
    pub fn action(&self) -> &'static str {
        match self {
            ClockCommand::Extend { .. } => "case.extend_deadline",
            ClockCommand::Suspend { .. } => "case.suspend_clock",
            ClockCommand::Resume => "case.resume_clock",
        }
    }
}

/// What the office's entry holds after a clock step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockChange {
    /// Extension days this office granted, afterwards.
    pub extension_days: u32,
    /// The special procedure this office has open, afterwards.
    pub suspension: Option<SuspensionKind>,
    /// The procedure that ended, for a resumption.
    pub resumed: Option<SuspensionKind>,
}

/// Why a clock step is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockRefusal {
    /// The case is decided, completed or withdrawn: its time limit no longer runs.
    Closed,
    /// The extension would take the case past the matter's allowance (working days).
    OverAllowance {
        /// The matter's allowance.
        allowance: u32,
    },
    /// Only a case (a part) under review, with its clock running, may be suspended.
    NotSuspendable,
    /// Not one of the special procedures an office may open.
    NotSpecialProcedure(SuspensionKind),
    /// No special procedure of this office is open.
    NothingToResume,
}

impl ClockRefusal {
    /// The state the refusal is about: `state`, `extension_days` or `clock_suspension`.
    pub fn subject(&self) -> &'static str {
        match self {
            ClockRefusal::Closed => "state",
            ClockRefusal::OverAllowance { .. } => "extension_days",
            ClockRefusal::NotSuspendable
            | ClockRefusal::NotSpecialProcedure(_)
            | ClockRefusal::NothingToResume => "clock_suspension",
        }
    }
}

impl Localized for ClockRefusal {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (ClockRefusal::Closed, _) => lang
                .pick(
                    "办件已办结或撤回，时限不再计算",
                    "the case is closed; its time limit no longer runs",
                )
                .to_owned(),
            (ClockRefusal::OverAllowance { allowance }, Lang::Zh) => {
                format!("该事项延长总天数不得超过 {allowance} 个工作日")
            }
            (ClockRefusal::OverAllowance { allowance }, Lang::En) => {
                format!("extensions of this matter may add at most {allowance} working days in all")
            }
            (ClockRefusal::NotSuspendable, _) => lang
                .pick(
                    "只有审查中且时限未暂停的办件可以暂停计时",
                    "only a case under review with its clock running can be suspended",
                )
                .to_owned(),
            (ClockRefusal::NotSpecialProcedure(kind), Lang::Zh) => {
                format!("「{}」不是可由审批机关启动的特别程序", kind.label(Lang::Zh))
            }
            (ClockRefusal::NotSpecialProcedure(kind), Lang::En) => format!(
                "{} is not a special procedure an office may open",
                kind.label(Lang::En)
            ),
            (ClockRefusal::NothingToResume, _) => lang
                .pick(
                    "该办件没有进行中的特别程序",
                    "no special procedure is in progress",
                )
                .to_owned(),
        }
    }
}

impl fmt::Display for ClockRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

impl std::error::Error for ClockRefusal {}

/// Whether the time limit of a case in `status` still runs (routed and not yet decided).
pub fn is_running(status: CaseStatus) -> bool {
    matches!(
        status,
        CaseStatus::Routed
            | CaseStatus::Claimed
            | CaseStatus::SupplementRequested
            | CaseStatus::Supplemented
    )
}

/// Decides a clock step by an office of a case in `status` whose own part (多地联办) is in
/// `own_part`, given the clock as that office sees it.
///
/// # Errors
/// [`ClockRefusal::Closed`] once the time limit no longer runs; for an extension past the
/// allowance [`ClockRefusal::OverAllowance`]; for a suspension while a special procedure is
/// open or the case (the office's part) is not under review [`ClockRefusal::NotSuspendable`];
/// for a resumption without an open procedure [`ClockRefusal::NothingToResume`].
pub fn clock_step(
    status: CaseStatus,
    own_part: Option<PartState>,
    clock: &ClockState,
    command: ClockCommand,
) -> Result<ClockChange, ClockRefusal> {
    if !is_running(status) {
        return Err(ClockRefusal::Closed);
    }
    match command {
        ClockCommand::Extend {
            working_days,
            allowance,
        } => {
            if clock.case_extension_days.saturating_add(working_days) > allowance {
                return Err(ClockRefusal::OverAllowance { allowance });
            }
            Ok(ClockChange {
                extension_days: clock.extension_days.saturating_add(working_days),
                suspension: clock.suspension,
                resumed: None,
            })
        }
        ClockCommand::Suspend { kind } => {
            if !is_special_procedure(kind) {
                return Err(ClockRefusal::NotSpecialProcedure(kind));
            }
            // A 多地联办 office suspends while its own part is under review.
            let own = own_part.map_or(Some(status), PartState::as_case_status);
            let under_review = matches!(own, Some(CaseStatus::Claimed | CaseStatus::Supplemented));
            if clock.case_suspended || !under_review {
                return Err(ClockRefusal::NotSuspendable);
            }
            Ok(ClockChange {
                extension_days: clock.extension_days,
                suspension: Some(kind),
                resumed: None,
            })
        }
        ClockCommand::Resume => {
            let Some(kind) = clock.suspension else {
                return Err(ClockRefusal::NothingToResume);
            };
            Ok(ClockChange {
                extension_days: clock.extension_days,
                suspension: None,
                resumed: Some(kind),
            })
        }
    }
}
