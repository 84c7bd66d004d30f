//! The case clock of DESIGN §5: a budget of working days and a ledger of suspensions and
//! extensions. The due moment is always derived from them, never stored or set by hand.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkingCalendar, shanghai_date};
use crate::i18n::{Lang, Localized};

/// 延长: the most working days one extension may add (行政许可法 Art. 42).
pub const MAX_EXTENSION_DAYS: u32 = 10;

/// Why the clock stops (行政许可法 Art. 45 exclusions and 补正).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspensionKind {
    /// 补正: waiting for material the reviewer asked for.
    Supplement,
    /// 材料在途: paper originals travelling by courier.
    Transit,
    /// 鉴定: appraisal.
    Appraisal,
    /// 检测: inspection or testing.
    Inspection,
    /// 专家评审: expert review.
    ExpertReview,
    /// 公告: public notice.
    PublicNotice,
}

impl SuspensionKind {
    /// Every kind, in declaration order.
    pub const ALL: [SuspensionKind; 6] = [
        SuspensionKind::Supplement,
        SuspensionKind::Transit,
        SuspensionKind::Appraisal,
        SuspensionKind::Inspection,
        SuspensionKind::ExpertReview,
        SuspensionKind::PublicNotice,
    ];

    /// The stable code used in storage and events (`supplement`, `expert_review` …).
    pub fn code(self) -> &'static str {
        match self {
            SuspensionKind::Supplement => "supplement",
            SuspensionKind::Transit => "transit",
            SuspensionKind::Appraisal => "appraisal",
            SuspensionKind::Inspection => "inspection",
            SuspensionKind::ExpertReview => "expert_review",
            SuspensionKind::PublicNotice => "public_notice",
        }
    }

    /// The kind with this [`SuspensionKind::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// The name shown to clerks: 补正, 材料在途, 鉴定, 检测, 专家评审, 公告.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            SuspensionKind::Supplement => lang.pick("补正", "supplement"),
            SuspensionKind::Transit => lang.pick("材料在途", "materials in transit"),
            SuspensionKind::Appraisal => lang.pick("鉴定", "appraisal"),
            SuspensionKind::Inspection => lang.pick("检测", "inspection"),
            SuspensionKind::ExpertReview => lang.pick("专家评审", "expert review"),
            SuspensionKind::PublicNotice => lang.pick("公告", "public notice"),
        }
    }
}

/// One stop of the clock, from `from` until `until` (`None` while still stopped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// Why the clock stopped.
    pub kind: SuspensionKind,
    /// When it stopped.
    pub from: DateTime<Utc>,
    /// When it resumed (the material arrived, the appraisal ended …).
    pub until: Option<DateTime<Utc>>,
    /// The reason given.
    pub reason: String,
}

/// 延长: an approved extension of the time limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Working days added (1 to [`MAX_EXTENSION_DAYS`]).
    pub working_days: u32,
    /// The reason given.
    pub reason: String,
    /// Who approved it.
    pub approved_by: String,
    /// When it was approved.
    pub at: DateTime<Utc>,
}

/// A change the clock refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// A suspension of the same kind is already open.
    AlreadySuspended,
    /// No suspension of that kind is open.
    NotSuspended,
    /// The moment given is before acceptance or before the last entry of the ledger.
    OutOfOrder,
    /// An extension of 0 days, or of more than [`MAX_EXTENSION_DAYS`] (the days asked).
    ExtensionDays(u32),
    /// An extension without a reason or without an approver.
    ExtensionUnapproved,
}

impl Localized for ClockError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (ClockError::AlreadySuspended, Lang::Zh) => "办理时限已因同一事由暂停".to_owned(),
            (ClockError::AlreadySuspended, Lang::En) => {
                "the clock is already suspended for this reason".to_owned()
            }
            (ClockError::NotSuspended, Lang::Zh) => "办理时限未暂停，无法恢复".to_owned(),
            (ClockError::NotSuspended, Lang::En) => {
                "the clock is not suspended, nothing to resume".to_owned()
            }
            (ClockError::OutOfOrder, Lang::Zh) => "时间早于受理时间或上一条计时记录".to_owned(),
            (ClockError::OutOfOrder, Lang::En) => {
                "the time is before acceptance or before the last clock entry".to_owned()
            }
            (ClockError::ExtensionDays(days), Lang::Zh) => {
                format!("延长天数无效：应为 1 至 {MAX_EXTENSION_DAYS} 个工作日，实为 {days}")
            }
            (ClockError::ExtensionDays(days), Lang::En) => {
                format!("an extension must be 1 to {MAX_EXTENSION_DAYS} working days, got {days}")
            }
            (ClockError::ExtensionUnapproved, Lang::Zh) => "延长须注明理由和批准人".to_owned(),
            (ClockError::ExtensionUnapproved, Lang::En) => {
                "an extension needs a reason and an approver".to_owned()
            }
        }
    }
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

/// The clock of one case: accepted at `accepted_at` with `budget_days` working days, plus the
/// ledger of suspensions and extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClock {
    /// 受理时间: the clock starts the day after.
    pub accepted_at: DateTime<Utc>,
    /// 承诺时限 in working days.
    pub budget_days: u32,
    /// Every stop, in the order they began. Stops of different kinds may overlap (a 补正 while
    /// the originals are in transit); at most one of each kind is open.
    pub suspensions: Vec<Suspension>,
    /// Every approved extension, in order.
    pub extensions: Vec<Extension>,
}

impl CaseClock {
    /// A running clock with an empty ledger.
    pub fn new(accepted_at: DateTime<Utc>, budget_days: u32) -> Self {
        CaseClock {
            accepted_at,
            budget_days,
            suspensions: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// The earliest open suspension, if the clock is stopped.
    pub fn open_suspension(&self) -> Option<&Suspension> {
        self.suspensions.iter().find(|s| s.until.is_none())
    }

    /// Whether the clock is stopped (any suspension open).
    pub fn is_suspended(&self) -> bool {
        self.open_suspension().is_some()
    }

    /// The latest moment recorded for `kind`: acceptance or the end of its last suspension.
    fn last_moment(&self, kind: SuspensionKind) -> DateTime<Utc> {
        self.suspensions
            .iter()
            .rev()
            .find(|s| s.kind == kind)
            .map_or(self.accepted_at, |s| s.until.unwrap_or(s.from))
    }

    /// Stops the clock at `at`.
    ///
    /// # Errors
    /// [`ClockError::AlreadySuspended`] when a suspension of the same kind is open;
    /// [`ClockError::OutOfOrder`] when `at` is before acceptance or before the last resumption
    /// of that kind.
    pub fn suspend(
        &mut self,
        kind: SuspensionKind,
        at: DateTime<Utc>,
        reason: impl Into<String>,
    ) -> Result<(), ClockError> {
        if self
            .suspensions
            .iter()
            .any(|s| s.kind == kind && s.until.is_none())
        {
            return Err(ClockError::AlreadySuspended);
        }
        if at < self.last_moment(kind) {
            return Err(ClockError::OutOfOrder);
        }
        self.suspensions.push(Suspension {
            kind,
            from: at,
            until: None,
            reason: reason.into(),
        });
        Ok(())
    }

    /// Ends the open suspension of `kind` at `at` (the material arrived, the originals were
    /// delivered …); the clock runs again once no suspension is open.
    ///
    /// # Errors
    /// [`ClockError::NotSuspended`] when no suspension of that kind is open;
    /// [`ClockError::OutOfOrder`] when `at` is before the suspension began.
    pub fn resume(&mut self, kind: SuspensionKind, at: DateTime<Utc>) -> Result<(), ClockError> {
        let open = self
            .suspensions
            .iter_mut()
            .find(|s| s.kind == kind && s.until.is_none())
            .ok_or(ClockError::NotSuspended)?;
        if at < open.from {
            return Err(ClockError::OutOfOrder);
        }
        open.until = Some(at);
        Ok(())
    }

    /// Adds an approved extension to the budget.
    ///
    /// # Errors
    /// [`ClockError::ExtensionDays`] unless 1 to [`MAX_EXTENSION_DAYS`] days;
    /// [`ClockError::ExtensionUnapproved`] without a reason or approver;
    /// [`ClockError::OutOfOrder`] when approved before acceptance.
    pub fn extend(&mut self, ext: Extension) -> Result<(), ClockError> {
        if ext.working_days == 0 || ext.working_days > MAX_EXTENSION_DAYS {
            return Err(ClockError::ExtensionDays(ext.working_days));
        }
        if ext.reason.trim().is_empty() || ext.approved_by.trim().is_empty() {
            return Err(ClockError::ExtensionUnapproved);
        }
        if ext.at < self.accepted_at {
            return Err(ClockError::OutOfOrder);
        }
        self.extensions.push(ext);
        Ok(())
    }

    /// Working days added by extensions.
    pub fn extension_days(&self) -> u32 {
        self.extensions.iter().map(|e| e.working_days).sum()
    }

    /// Working days excluded by closed suspensions: for a suspension from S to R, the working
    /// days d with date(S) < d <= date(R) (Shanghai dates; the clock resumes the day after the
    /// material arrives). A day excluded by overlapping suspensions counts once. An open
    /// suspension is not counted.
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when a suspension spans a year without data.
    pub fn suspended_working_days(&self, cal: &WorkingCalendar) -> Result<u32, CalendarError> {
        let mut excluded = std::collections::BTreeSet::new();
        for suspension in &self.suspensions {
            let Some(until) = suspension.until else {
                continue;
            };
            // `until >= from` is enforced by `resume`; a hand-built ledger that breaks it
            // counts nothing rather than shortening the limit.
            let mut day = shanghai_date(suspension.from);
            let last = shanghai_date(until);
            while day < last {
                day = day.succ_opt().unwrap_or(last);
                if cal.is_working_day(day)? {
                    excluded.insert(day);
                }
            }
        }
        Ok(u32::try_from(excluded.len()).unwrap_or(u32::MAX))
    }

    /// The due moment: `due_after(accepted_at, budget + extensions + suspended working days)`.
    /// `None` while a suspension is open: the clock is stopped and there is no due moment until
    /// it resumes.
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when the count runs into a year without data.
    pub fn due_at(&self, cal: &WorkingCalendar) -> Result<Option<DateTime<Utc>>, CalendarError> {
        if self.is_suspended() {
            return Ok(None);
        }
        let days = self
            .budget_days
            .saturating_add(self.extension_days())
            .saturating_add(self.suspended_working_days(cal)?);
        cal.due_after(self.accepted_at, days).map(Some)
    }
}
