//! The supervised clock of one case (DESIGN §5): the matter's stages with their shares of the
//! 承诺时限, the ledger of suspensions (补正, Art. 45 special procedures) and extensions (延长), and
//! the deadlines derived from them — one per stage and one for the whole case — with what has
//! been raised for each. Pure: no storage, no messaging; the shell stores it as JSON and indexes
//! [`Tracked::next_check`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tongban_domain::calendar::{CalendarError, WorkingCalendar, shanghai_date, shanghai_midnight};
use tongban_domain::clock::{CaseClock, ClockError, Extension, SuspensionKind};

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn calendar() -> WorkingCalendar {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/data/holidays");
        // The repository ships the holiday data; without it nothing here can be checked.
        WorkingCalendar::load(&dir).expect("holiday data in deploy/data/holidays")
    }

    fn shanghai(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        chrono::FixedOffset::east_opt(8 * 3600)
            .and_then(|tz| tz.with_ymd_and_hms(y, m, d, h, 0, 0).single())
            .map(|t| t.with_timezone(&Utc))
            .expect("a valid Shanghai time")
    }

    fn stages() -> Vec<StageShare> {
        vec![
            StageShare {
                code: "accept".into(),
                days: 1,
            },
            StageShare {
                code: "review".into(),
                days: 2,
            },
        ]
    }

    #[test]
    fn deadlines_per_stage_and_case_across_national_day() {
        let cal = calendar();
        let mut t = Tracked::new(shanghai(2026, 9, 29, 10), 3, stages());
        t.recompute(&cal, 1).unwrap();
        let due: Vec<_> = t.deadlines.iter().map(|d| d.due_at.unwrap()).collect();
        // Day 1 = 09-30; 10-01..10-07 off; day 2 = 10-08, day 3 = 10-09.
        assert_eq!(due[0], shanghai(2026, 10, 1, 0));
        assert_eq!(due[1], shanghai(2026, 10, 10, 0));
        assert_eq!(due[2], shanghai(2026, 10, 10, 0));
        // Warning: the day from which at most one working day remains (10-08 for the case).
        assert_eq!(t.deadlines[2].warn_at, Some(shanghai(2026, 10, 8, 0)));
        // The one-day accept stage is within its last working day from the start.
        assert_eq!(t.next_check(), Some(shanghai(2026, 9, 29, 0)));
    }

    #[test]
    fn each_alert_once_and_breach_only_when_late() {
        let cal = calendar();
        let mut t = Tracked::new(shanghai(2026, 9, 29, 10), 3, stages());
        t.recompute(&cal, 1).unwrap();
        let first = t.take_due(shanghai(2026, 9, 30, 9));
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].kind, first[0].stage.as_str()),
            (AlertKind::Warning, "accept")
        );
        assert!(t.take_due(shanghai(2026, 9, 30, 10)).is_empty());
        // Long after: the accept breach, and the review and case breaches without warnings.
        let late = t.take_due(shanghai(2026, 10, 12, 9));
        assert_eq!(late.len(), 3);
        assert!(late.iter().all(|d| d.kind == AlertKind::Breach));
        assert!(t.take_due(shanghai(2026, 10, 13, 9)).is_empty());
        assert_eq!(t.next_check(), None);
    }

    #[test]
    fn supplement_suspension_and_extension_move_the_deadlines() {
        let cal = calendar();
        let mut t = Tracked::new(shanghai(2026, 9, 21, 10), 3, stages());
        t.finish_stages(1);
        t.suspend(SuspensionKind::Supplement, shanghai(2026, 9, 22, 9), "补正")
            .unwrap();
        t.recompute(&cal, 1).unwrap();
        assert_eq!(
            t.case_deadline().unwrap().due_at,
            None,
            "stopped while suspended"
        );
        assert_eq!(t.next_check(), None);
        // Material arrives 09-25 (中秋, off): 09-23 and 09-24 are excluded (2 working days).
        t.resume(SuspensionKind::Supplement, shanghai(2026, 9, 25, 15))
            .unwrap();
        t.recompute(&cal, 1).unwrap();
        // 3 + 2 = 5 working days after 09-21: 09-22..09-24, 09-28, 09-29.
        assert_eq!(
            t.case_deadline().unwrap().due_at,
            Some(shanghai(2026, 9, 30, 0))
        );
        // 延长 5 working days across 国庆: 09-30, 10-08, 10-09, 10-10 (调休 Sat), 10-12.
        t.extend(Extension {
            working_days: 5,
            reason: "专家论证".into(),
            approved_by: "head".into(),
            at: shanghai(2026, 9, 28, 9),
        })
        .unwrap();
        t.recompute(&cal, 1).unwrap();
        assert_eq!(
            t.case_deadline().unwrap().due_at,
            Some(shanghai(2026, 10, 13, 0))
        );
        // The finished accept stage is not moved, the review stage is.
        assert_eq!(t.deadlines[1].budget_days, 8);
    }
}
