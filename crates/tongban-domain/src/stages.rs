//! 督办: the rules of supervision. The supervised clock of one case (DESIGN §5) — the matter's
//! stages with their shares of the 承诺时限, the ledger of suspensions (补正, Art. 45 special
//! procedures) and extensions (延长), and the deadlines derived from them, one per stage and one
//! for the whole case, with what has been raised for each; which case events move it; which
//! alerts fall due (each warning and breach exactly once, never before its moment); which office
//! is accountable; and the 13710 督办 tickets — when one opens, which steps apply in which state,
//! and how a missed milestone escalates it one level. Pure: the supervision service loads,
//! asks these functions, stores what they return and publishes their effects.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkingCalendar, shanghai_date, shanghai_midnight};
use crate::catalog::{UnknownName, named};
use crate::clock::{CaseClock, ClockError, Extension, SuspensionKind};
use crate::division::DivisionCode;
use crate::joint::PartState;

/// Stage code of the deadline of the whole case.
pub const WHOLE_CASE: &str = "";

/// 审批环节 as tracked: its code and working-day share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageShare {
    /// Stage code (`accept`, `review`, …).
    pub code: String,
    /// Working days of the stage.
    pub days: u32,
}

/// One deadline: a stage's or the whole case's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// Stage code, [`WHOLE_CASE`] for the case.
    pub stage: String,
    /// Cumulative working days from acceptance to the end of this stage.
    pub budget_days: u32,
    /// Derived due moment; `None` while the clock is stopped.
    pub due_at: Option<DateTime<Utc>>,
    /// From when a warning is due (start of the day from which at most `warn_days` working
    /// days remain); `None` while the clock is stopped.
    pub warn_at: Option<DateTime<Utc>>,
    /// A warning was raised.
    pub warned: bool,
    /// A breach was raised.
    pub breached: bool,
    /// The stage (or case) is finished: nothing more is raised for it.
    pub done: bool,
}

/// What falls due now for one deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// 预警: at most `warn_days` working days remain.
    Warning,
    /// 超期: the due moment has passed.
    Breach,
}

impl AlertKind {
    /// Storage code: `warning`, `breach`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            AlertKind::Warning => "warning",
            AlertKind::Breach => "breach",
        }
    }
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Warning or breach.
    pub kind: AlertKind,
    /// Stage code ([`WHOLE_CASE`] for the case).
    pub stage: String,
    /// The deadline's due moment.
    pub due_at: DateTime<Utc>,
}

/// The clock of a case as supervision tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    /// Budget and ledger (the case deadline's budget is `clock.budget_days`).
    pub clock: CaseClock,
    /// The matter's stages, in order.
    pub stages: Vec<StageShare>,
    /// How many stages (from the first) are finished.
    pub stages_done: usize,
    /// One deadline per stage, then the whole case's.
    pub deadlines: Vec<Deadline>,
}

impl Tracked {
    /// A running clock accepted at `accepted_at` with `budget_days` (承诺时限) and the matter's
    /// stages. Deadlines are computed by [`Tracked::recompute`].
    #[must_use]
    pub fn new(accepted_at: DateTime<Utc>, budget_days: u32, stages: Vec<StageShare>) -> Self {
        let mut deadlines = Vec::with_capacity(stages.len() + 1);
        let mut cumulative = 0u32;
        // A single-stage process has no stage deadline distinct from the case's.
        if stages.len() > 1 {
            for stage in &stages {
                cumulative = cumulative.saturating_add(stage.days);
                deadlines.push(Deadline::new(&stage.code, cumulative.min(budget_days)));
            }
        }
        deadlines.push(Deadline::new(WHOLE_CASE, budget_days));
        Self {
            clock: CaseClock::new(accepted_at, budget_days),
            stages,
            stages_done: 0,
            deadlines,
        }
    }

    /// The stage in hand (the first one not finished), or `None` when all are.
    #[must_use]
    pub fn current_stage(&self) -> Option<&str> {
        self.stages.get(self.stages_done).map(|s| s.code.as_str())
    }

    /// The whole case's deadline.
    #[must_use]
    pub fn case_deadline(&self) -> Option<&Deadline> {
        self.deadlines.iter().find(|d| d.stage == WHOLE_CASE)
    }

    /// Stops the clock (补正 or a special procedure) at `at`.
    ///
    /// # Errors
    /// See [`CaseClock::suspend`].
    pub fn suspend(
        &mut self,
        kind: SuspensionKind,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), ClockError> {
        self.clock.suspend(kind, at, reason)
    }

    /// Restarts the clock at `at`.
    ///
    /// # Errors
    /// See [`CaseClock::resume`].
    pub fn resume(&mut self, kind: SuspensionKind, at: DateTime<Utc>) -> Result<(), ClockError> {
        self.clock.resume(kind, at)
    }

    /// Adds an approved extension to the case and to every stage not yet finished.
    ///
    /// # Errors
    /// See [`CaseClock::extend`].
    pub fn extend(&mut self, extension: Extension) -> Result<(), ClockError> {
        let days = extension.working_days;
        self.clock.extend(extension)?;
        for deadline in self.deadlines.iter_mut().filter(|d| !d.done) {
            if deadline.stage != WHOLE_CASE {
                deadline.budget_days = deadline.budget_days.saturating_add(days);
            }
        }
        Ok(())
    }

    /// Marks the first `count` stages finished (later events never un-finish one).
    pub fn finish_stages(&mut self, count: usize) {
        let count = count.min(self.stages.len());
        if count <= self.stages_done {
            return;
        }
        self.stages_done = count;
        let finished: Vec<String> = self.stages[..count]
            .iter()
            .map(|s| s.code.clone())
            .collect();
        for deadline in &mut self.deadlines {
            if finished.contains(&deadline.stage) {
                deadline.done = true;
            }
        }
    }

    /// Finishes everything: the case ended (办结 or 撤回).
    pub fn finish_all(&mut self) {
        self.stages_done = self.stages.len();
        for deadline in &mut self.deadlines {
            deadline.done = true;
        }
    }

    /// Derives every open deadline's due and warning moments from the ledger.
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when a count runs into a year without holiday data.
    pub fn recompute(
        &mut self,
        cal: &WorkingCalendar,
        warn_days: u32,
    ) -> Result<(), CalendarError> {
        let extension_days = self.clock.extension_days();
        for deadline in &mut self.deadlines {
            // The case's budget carries the extensions through the clock itself; a stage's
            // budget had them added when they were approved.
            let budget = if deadline.stage == WHOLE_CASE {
                self.clock.budget_days
            } else {
                deadline.budget_days.saturating_sub(extension_days)
            };
            let clock = CaseClock {
                budget_days: budget,
                ..self.clock.clone()
            };
            deadline.due_at = clock.due_at(cal)?;
            deadline.warn_at = match deadline.due_at {
                Some(due) => Some(warn_moment(cal, due, warn_days)?),
                None => None,
            };
        }
        Ok(())
    }

    /// The earliest moment something falls due, for the index; `None` when nothing can (the
    /// clock is stopped or every deadline is finished or fully raised).
    #[must_use]
    pub fn next_check(&self) -> Option<DateTime<Utc>> {
        self.deadlines
            .iter()
            .filter(|d| !d.done && !d.breached)
            .filter_map(|d| if d.warned { d.due_at } else { d.warn_at })
            .min()
    }

    /// The alerts due at `now`, marking them raised. A deadline already past due gets its
    /// breach only: a warning after the fact would tell nobody anything.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Due> {
        let mut due = Vec::new();
        for deadline in self.deadlines.iter_mut().filter(|d| !d.done) {
            let (Some(due_at), Some(warn_at)) = (deadline.due_at, deadline.warn_at) else {
                continue;
            };
            if !deadline.breached && due_at <= now {
                deadline.breached = true;
                deadline.warned = true;
                due.push(Due {
                    kind: AlertKind::Breach,
                    stage: deadline.stage.clone(),
                    due_at,
                });
            } else if !deadline.warned && warn_at <= now {
                deadline.warned = true;
                due.push(Due {
                    kind: AlertKind::Warning,
                    stage: deadline.stage.clone(),
                    due_at,
                });
            }
        }
        due
    }

    /// Working days used between acceptance and `end`, suspensions excluded.
    ///
    /// # Errors
    /// [`CalendarError::NoData`] for a span without holiday data.
    pub fn working_days_used(
        &self,
        cal: &WorkingCalendar,
        end: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        let span =
            cal.working_days_between(shanghai_date(self.clock.accepted_at), shanghai_date(end))?;
        let suspended = i64::from(self.clock.suspended_working_days(cal)?);
        Ok((span - suspended).max(0))
    }
}

impl Deadline {
    fn new(stage: &str, budget_days: u32) -> Self {
        Self {
            stage: stage.to_owned(),
            budget_days,
            due_at: None,
            warn_at: None,
            warned: false,
            breached: false,
            done: false,
        }
    }
}

/// The start (00:00 Shanghai) of the `warn_days`th working day before the due day — from then
/// on, at most `warn_days` working days remain ([`WorkingCalendar::remaining_working_days`]).
fn warn_moment(
    cal: &WorkingCalendar,
    due: DateTime<Utc>,
    warn_days: u32,
) -> Result<DateTime<Utc>, CalendarError> {
    // The due moment is a midnight; the instant just before it lies on the due day.
    let mut day = shanghai_date(due - chrono::TimeDelta::nanoseconds(1));
    let mut left = warn_days;
    while left > 0 {
        day = day
            .pred_opt()
            .ok_or(CalendarError::NoData { year: i32::MIN })?;
        if cal.is_working_day(day)? {
            left -= 1;
        }
    }
    Ok(shanghai_midnight(day).min(due))
}

impl FromStr for AlertKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [AlertKind::Warning, AlertKind::Breach]
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| UnknownName::new("alert kind", s))
    }
}

/// Where a supervised case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackStatus {
    /// 在办: the clock is watched.
    Open,
    /// 办结.
    Completed,
    /// 撤回.
    Withdrawn,
}

impl TrackStatus {
    /// Every status.
    pub const ALL: [TrackStatus; 3] = [Self::Open, Self::Completed, Self::Withdrawn];

    /// Storage code: `open`, `completed`, `withdrawn`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Completed => "completed",
            Self::Withdrawn => "withdrawn",
        }
    }
}

named!(parse TrackStatus, "supervised case status");

/// A case event as it concerns the supervised clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockEvent {
    /// 认领: the first stage (acceptance into the office) is finished.
    Claimed,
    /// 补正 requested: the clock stops.
    SupplementRequested {
        /// The reviewer's reason.
        reason: String,
    },
    /// 补正材料已到: the clock runs again.
    Supplemented,
    /// A special procedure (or the originals' transit) stops the clock.
    Suspended(SuspensionKind),
    /// It ended: the clock runs again.
    Resumed(SuspensionKind),
    /// 延长 approved.
    Extended(Extension),
    /// 决定: every stage but the last (delivery) is finished.
    Decided,
    /// 办结 at the moment given.
    Completed {
        /// When the case was completed.
        at: DateTime<Utc>,
    },
    /// 撤回.
    Withdrawn,
}

/// A supervised case: its clock and what its end and its breaches left on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervised {
    /// Open, completed or withdrawn.
    pub status: TrackStatus,
    /// The clock with its deadlines.
    pub tracked: Tracked,
    /// The whole-case breach was raised.
    pub case_breached: bool,
    /// The office the whole-case breach was raised against, once raised.
    pub breached_office_id: Option<String>,
    /// When it was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Working days used, suspensions excluded (once completed; `None` without holiday data).
    pub working_days: Option<i32>,
    /// Whether it was completed in time.
    pub on_time: Option<bool>,
}

impl Supervised {
    /// A case whose clock starts at `accepted_at` with `budget_days` (承诺时限) and the matter's
    /// stages.
    #[must_use]
    pub fn start(accepted_at: DateTime<Utc>, budget_days: u32, stages: Vec<StageShare>) -> Self {
        Self {
            status: TrackStatus::Open,
            tracked: Tracked::new(accepted_at, budget_days, stages),
            case_breached: false,
            breached_office_id: None,
            completed_at: None,
            working_days: None,
            on_time: None,
        }
    }

    /// Applies case event `event` that happened at `at`: the clock stops, runs again or is
    /// extended; claims and decisions finish stages; completion records the working days used
    /// and whether it was in time; completion and withdrawal finish everything.
    ///
    /// # Errors
    /// The [`ClockError`] of a clock change that does not apply (a resumption with nothing
    /// suspended, an event out of order …); nothing changed then.
    pub fn apply(
        &mut self,
        event: &ClockEvent,
        at: DateTime<Utc>,
        cal: &WorkingCalendar,
    ) -> Result<(), ClockError> {
        let tracked = &mut self.tracked;
        match event {
            ClockEvent::Claimed => tracked.finish_stages(1),
            ClockEvent::SupplementRequested { reason } => {
                tracked.suspend(SuspensionKind::Supplement, at, reason)?;
            }
            ClockEvent::Supplemented => tracked.resume(SuspensionKind::Supplement, at)?,
            ClockEvent::Suspended(kind) => tracked.suspend(*kind, at, kind.code())?,
            ClockEvent::Resumed(kind) => tracked.resume(*kind, at)?,
            ClockEvent::Extended(extension) => tracked.extend(extension.clone())?,
            ClockEvent::Decided => {
                let all_but_last = tracked.stages.len().saturating_sub(1);
                tracked.finish_stages(all_but_last);
            }
            ClockEvent::Completed { at: completed_at } => {
                let due = tracked.case_deadline().and_then(|d| d.due_at);
                self.working_days = tracked
                    .working_days_used(cal, *completed_at)
                    .ok()
                    .and_then(|d| i32::try_from(d).ok());
                self.on_time = Some(due.map_or(!self.case_breached, |due| *completed_at <= due));
                self.completed_at = Some(*completed_at);
                self.status = TrackStatus::Completed;
                tracked.finish_all();
            }
            ClockEvent::Withdrawn => {
                self.status = TrackStatus::Withdrawn;
                tracked.finish_all();
            }
        }
        Ok(())
    }

    /// Derives every deadline again ([`Tracked::recompute`]). Working days are never guessed:
    /// without the holiday data every due and warning moment is cleared (nothing is checked
    /// until the data is there) and the error is returned for the shell to report.
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when a count runs into a year without holiday data.
    pub fn refresh(&mut self, cal: &WorkingCalendar, warn_days: u32) -> Result<(), CalendarError> {
        let result = self.tracked.recompute(cal, warn_days);
        if result.is_err() {
            for deadline in &mut self.tracked.deadlines {
                deadline.due_at = None;
                deadline.warn_at = None;
            }
        }
        result
    }

    /// The alerts due at `now`, marked raised ([`Tracked::take_due`]).
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Due> {
        self.tracked.take_due(now)
    }

    /// Records that `alerts` were raised against `office`: the whole case's breach marks the
    /// case breached against that office. Returns whether a 督办 ticket opens — on any breach
    /// (once per case: the ticket's source is the case).
    pub fn raised(&mut self, alerts: &[Due], office: &str) -> bool {
        let mut breached = false;
        for alert in alerts.iter().filter(|a| a.kind == AlertKind::Breach) {
            breached = true;
            if alert.stage == WHOLE_CASE {
                self.case_breached = true;
                self.breached_office_id = Some(office.to_owned());
            }
        }
        breached
    }
}

/// Whether a 多地联办 part's office has the case in hand: the part is in its inbox, under review
/// or in 补正 — neither waiting for earlier parts nor done.
#[must_use]
pub fn holds_the_case(state: PartState) -> bool {
    matches!(
        state,
        PartState::Routed
            | PartState::Claimed
            | PartState::SupplementRequested
            | PartState::Supplemented
    )
}

/// The office a warning or breach is raised against at this moment: of `parts` (state and
/// office, in the matter's order) the office of the first that holds the case
/// ([`holds_the_case`]) — the one holding it up; `responsible_office_id` for a case without
/// parts, or when no part holds it (every part done, or none started).
#[must_use]
pub fn accountable_office<'a>(
    parts: impl IntoIterator<Item = (PartState, &'a str)>,
    responsible_office_id: &'a str,
) -> &'a str {
    parts
        .into_iter()
        .find(|(state, office)| holds_the_case(*state) && !office.is_empty())
        .map_or(responsible_office_id, |(_, office)| office)
}

/// 督办层级: the level at which an office is supervised, escalated one step per missed
/// milestone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 县级 (stored as 1), the lowest.
    County,
    /// 市级 (2).
    City,
    /// 省级 (3), the highest.
    Province,
}

/// A stored level that is not 1, 2 or 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("未知的督办层级：{0} (unknown supervision level: {0})")]
pub struct UnknownLevel(pub i16);

impl Level {
    /// The level of an office in `division` (GB/T 2260: `xx0000` province, `xxxx00`
    /// prefecture-level city, otherwise county); an office missing from the directory (`None`)
    /// is supervised at county level.
    #[must_use]
    pub fn of_division(division: Option<&DivisionCode>) -> Self {
        let Some(code) = division.map(DivisionCode::as_str) else {
            return Self::County;
        };
        if code.ends_with("0000") {
            Self::Province
        } else if code.ends_with("00") {
            Self::City
        } else {
            Self::County
        }
    }

    /// One level up, at most province.
    #[must_use]
    pub fn up(self) -> Self {
        match self {
            Self::County => Self::City,
            Self::City | Self::Province => Self::Province,
        }
    }

    /// Storage value: 1, 2, 3.
    #[must_use]
    pub fn stored(self) -> i16 {
        match self {
            Self::County => 1,
            Self::City => 2,
            Self::Province => 3,
        }
    }

    /// `county`, `city`, `province` (events and logs).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::County => "county",
            Self::City => "city",
            Self::Province => "province",
        }
    }
}

impl TryFrom<i16> for Level {
    type Error = UnknownLevel;

    fn try_from(stored: i16) -> Result<Self, Self::Error> {
        match stored {
            1 => Ok(Self::County),
            2 => Ok(Self::City),
            3 => Ok(Self::Province),
            other => Err(UnknownLevel(other)),
        }
    }
}

/// Names of the four 13710 milestones, in order: act, report back, settle, close.
pub const MILESTONE_NAMES: [&str; 4] = ["act", "report", "settle", "close"];

/// The due moments of a ticket's milestones opened at `opened_at`: `days[i]` working days after.
///
/// # Errors
/// [`CalendarError::NoData`] when a milestone falls in a year without holiday data.
pub fn milestone_dues(
    cal: &WorkingCalendar,
    opened_at: DateTime<Utc>,
    days: [u32; 4],
) -> Result<[DateTime<Utc>; 4], CalendarError> {
    let mut dues = [opened_at; 4];
    for (due, days) in dues.iter_mut().zip(days) {
        *due = cal.due_after(opened_at, days)?;
    }
    Ok(dues)
}

/// Why a 督办 ticket was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketReason {
    /// 超期: the case breached its deadline.
    Breach,
    /// 投诉: a complaint about the office.
    Complaint,
    /// 差评: a bad rating (不满意, 非常不满意) opened a rectification item.
    BadRating,
}

impl TicketReason {
    /// Every reason.
    pub const ALL: [TicketReason; 3] = [Self::Breach, Self::Complaint, Self::BadRating];

    /// Storage and event code: `breach`, `complaint`, `bad_rating`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breach => "breach",
            Self::Complaint => "complaint",
            Self::BadRating => "bad_rating",
        }
    }
}

named!(parse TicketReason, "ticket reason");

/// Where a 督办 ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketState {
    /// 已立单.
    Open,
    /// 已签收.
    Acknowledged,
    /// 已反馈.
    Reported,
    /// 已办结.
    Resolved,
    /// 已销号.
    Closed,
}

impl TicketState {
    /// Every state, in order.
    pub const ALL: [TicketState; 5] = [
        Self::Open,
        Self::Acknowledged,
        Self::Reported,
        Self::Resolved,
        Self::Closed,
    ];

    /// Storage code: `open`, `acknowledged`, `reported`, `resolved`, `closed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Reported => "reported",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }
}

named!(TicketState, "ticket state");

/// A step of a 督办 ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStep {
    /// 签收: the office takes it in hand (milestone act).
    Acknowledge,
    /// 反馈: the office reports back (milestone report).
    Report,
    /// 办结: the office settles it (milestone settle).
    Resolve,
    /// 销号: the supervisor closes it (milestone close).
    Close,
}

/// A step the ticket's state does not allow (the state it is in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the ticket is {0}")]
pub struct TicketStateRefused(pub TicketState);

impl TicketStep {
    /// Index of the milestone the step completes (earlier ones complete with it).
    #[must_use]
    pub fn milestone(self) -> i16 {
        match self {
            Self::Acknowledge => 0,
            Self::Report => 1,
            Self::Resolve => 2,
            Self::Close => 3,
        }
    }

    /// Audit action name (`ticket.acknowledge` …).
    #[must_use]
    pub fn action(self) -> &'static str {
        match self {
            Self::Acknowledge => "ticket.acknowledge",
            Self::Report => "ticket.report",
            Self::Resolve => "ticket.resolve",
            Self::Close => "ticket.close",
        }
    }

    /// The state after the step taken in `state`.
    ///
    /// # Errors
    /// [`TicketStateRefused`] when the step does not apply in `state`: acknowledging an open
    /// ticket only, reporting before a report, resolving before a resolution, closing a
    /// resolved ticket only.
    pub fn apply(self, state: TicketState) -> Result<TicketState, TicketStateRefused> {
        use TicketState as S;
        let (applies, next) = match self {
            Self::Acknowledge => (state == S::Open, S::Acknowledged),
            Self::Report => (matches!(state, S::Open | S::Acknowledged), S::Reported),
            Self::Resolve => (
                matches!(state, S::Open | S::Acknowledged | S::Reported),
                S::Resolved,
            ),
            Self::Close => (state == S::Resolved, S::Closed),
        };
        if applies {
            Ok(next)
        } else {
            Err(TicketStateRefused(state))
        }
    }
}

/// A milestone of a ticket as the escalation rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    /// Its index (0 act … 3 close).
    pub seq: i16,
    /// Its name ([`MILESTONE_NAMES`]).
    pub name: String,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// When it was met.
    pub done_at: Option<DateTime<Utc>>,
    /// When missing it escalated the ticket.
    pub escalated_at: Option<DateTime<Utc>>,
}

/// One escalation: milestone `seq` (`name`) was missed and the ticket went up to `level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The milestone missed.
    pub seq: i16,
    /// Its name.
    pub name: String,
    /// The ticket's level after it.
    pub level: Level,
}

/// The escalations due at `now` for a ticket at `level` with `milestones`: one level up for each
/// milestone due, neither met nor escalated before, in order (each milestone escalates once).
/// Returns the new level and the escalations.
#[must_use]
pub fn escalate(
    level: Level,
    milestones: &[Milestone],
    now: DateTime<Utc>,
) -> (Level, Vec<Escalation>) {
    let mut level = level;
    let mut escalations = Vec::new();
    for milestone in milestones {
        if milestone.done_at.is_some() || milestone.escalated_at.is_some() || milestone.due_at > now
        {
            continue;
        }
        level = level.up();
        escalations.push(Escalation {
            seq: milestone.seq,
            name: milestone.name.clone(),
            level,
        });
    }
    (level, escalations)
}
