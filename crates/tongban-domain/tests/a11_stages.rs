//! 督办 rules: stage deadlines and their shares, suspension/resumption/extension effects, alerts
//! raised exactly once and never early (a property test over random clock events), the
//! accountable office, and the 13710 tickets' steps and escalations.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is the test failing.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use proptest::prelude::*;
use tongban_domain::calendar::WorkingCalendar;
use tongban_domain::clock::{Extension, SuspensionKind};
use tongban_domain::joint::PartState;
use tongban_domain::stages::*;

fn calendar() -> WorkingCalendar {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/data/holidays");
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

#[test]
fn case_events_move_the_supervised_case_and_completion_records_the_outcome() {
    let cal = calendar();
    let mut case = Supervised::start(shanghai(2026, 9, 21, 10), 3, stages());
    case.refresh(&cal, 1).unwrap();
    case.apply(&ClockEvent::Claimed, shanghai(2026, 9, 21, 11), &cal)
        .unwrap();
    assert_eq!(case.tracked.current_stage(), Some("review"));
    let requested = ClockEvent::SupplementRequested {
        reason: "补正".into(),
    };
    case.apply(&requested, shanghai(2026, 9, 22, 9), &cal)
        .unwrap();
    assert_eq!(
        case.apply(&requested, shanghai(2026, 9, 22, 10), &cal),
        Err(tongban_domain::clock::ClockError::AlreadySuspended),
        "a second 补正 while one is open does not apply"
    );
    case.refresh(&cal, 1).unwrap();
    assert_eq!(case.tracked.next_check(), None, "stopped");
    case.apply(&ClockEvent::Supplemented, shanghai(2026, 9, 25, 15), &cal)
        .unwrap();
    case.refresh(&cal, 1).unwrap();
    assert_eq!(
        case.tracked.case_deadline().unwrap().due_at,
        Some(shanghai(2026, 9, 30, 0))
    );
    case.apply(&ClockEvent::Decided, shanghai(2026, 9, 28, 9), &cal)
        .unwrap();
    let completed = shanghai(2026, 9, 29, 9);
    case.apply(&ClockEvent::Completed { at: completed }, completed, &cal)
        .unwrap();
    assert_eq!(case.status, TrackStatus::Completed);
    assert_eq!(case.on_time, Some(true));
    // After 09-21 up to 09-29: 5 working days (09-22, 09-23, 09-24, 09-28, 09-29; 09-25 中秋 is
    // off) less the 2 suspended (09-23, 09-24).
    assert_eq!(case.working_days, Some(3));
    assert!(case.tracked.deadlines.iter().all(|d| d.done));
}

#[test]
fn a_whole_case_breach_marks_the_case_against_the_office_and_opens_a_ticket() {
    let cal = calendar();
    let mut case = Supervised::start(shanghai(2026, 9, 29, 10), 3, stages());
    case.refresh(&cal, 1).unwrap();
    let warning = case.take_due(shanghai(2026, 9, 30, 9));
    assert!(
        !case.raised(&warning, "office-a"),
        "a warning opens no ticket"
    );
    assert!(!case.case_breached);
    let late = case.take_due(shanghai(2026, 10, 12, 9));
    assert!(case.raised(&late, "office-b"));
    assert!(case.case_breached);
    assert_eq!(case.breached_office_id.as_deref(), Some("office-b"));
}

#[test]
fn the_first_part_holding_the_case_is_accountable() {
    let parts = [
        (PartState::Approved, "qr"),
        (PartState::Waiting, "qc"),
        (PartState::Claimed, "zc"),
    ];
    assert_eq!(accountable_office(parts, "resp"), "zc");
    assert_eq!(
        accountable_office([(PartState::Approved, "qr")], "resp"),
        "resp"
    );
    assert_eq!(
        accountable_office([(PartState::Routed, "")], "resp"),
        "resp"
    );
    assert_eq!(accountable_office([], "resp"), "resp");
}

#[test]
fn ticket_steps_follow_the_13710_order() {
    use TicketState::*;
    use TicketStep::*;
    assert_eq!(Acknowledge.apply(Open), Ok(Acknowledged));
    assert_eq!(Report.apply(Open), Ok(Reported));
    assert_eq!(Report.apply(Acknowledged), Ok(Reported));
    assert_eq!(Resolve.apply(Reported), Ok(Resolved));
    assert_eq!(Close.apply(Resolved), Ok(Closed));
    assert_eq!(Close.apply(Open), Err(TicketStateRefused(Open)));
    assert_eq!(
        Acknowledge.apply(Reported),
        Err(TicketStateRefused(Reported))
    );
    for state in TicketState::ALL {
        assert!(Acknowledge.apply(state).is_ok() == (state == Open));
        assert_eq!(state.as_str().parse(), Ok(state));
    }
    assert!("lost".parse::<TicketState>().is_err());
    for reason in TicketReason::ALL {
        assert_eq!(reason.as_str().parse(), Ok(reason));
    }
}

#[test]
fn each_missed_milestone_escalates_once_up_to_province() {
    let cal = calendar();
    let opened = shanghai(2026, 11, 2, 9);
    let dues = milestone_dues(&cal, opened, [1, 3, 7, 10]).unwrap();
    assert_eq!(dues[0], shanghai(2026, 11, 4, 0));
    let mut milestones: Vec<Milestone> = dues
        .iter()
        .zip(MILESTONE_NAMES)
        .zip(0i16..)
        .map(|((due, name), seq)| Milestone {
            seq,
            name: name.to_owned(),
            due_at: *due,
            done_at: None,
            escalated_at: None,
        })
        .collect();
    let (level, none) = escalate(Level::County, &milestones, opened);
    assert_eq!((level, none.len()), (Level::County, 0));
    // Acted in time; report and settle missed a month later.
    milestones[0].done_at = Some(opened);
    let later = shanghai(2026, 11, 12, 9);
    let (level, escalations) = escalate(Level::County, &milestones, later);
    assert_eq!(level, Level::Province);
    let names: Vec<_> = escalations
        .iter()
        .map(|e| (e.name.as_str(), e.level))
        .collect();
    assert_eq!(
        names,
        [("report", Level::City), ("settle", Level::Province)]
    );
    for e in &escalations {
        milestones[usize::try_from(e.seq).unwrap()].escalated_at = Some(later);
    }
    assert!(
        escalate(level, &milestones, later).1.is_empty(),
        "once each"
    );
    assert_eq!(Level::Province.up(), Level::Province);
    for level in [Level::County, Level::City, Level::Province] {
        assert_eq!(Level::try_from(level.stored()), Ok(level));
    }
    assert!(Level::try_from(0).is_err());
}

/// One step of a random history of a case.
#[derive(Debug, Clone)]
enum Op {
    Event(ClockEvent),
    Evaluate,
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop::sample::select(SuspensionKind::ALL.to_vec());
    prop_oneof![
        4 => Just(Op::Evaluate),
        1 => Just(Op::Event(ClockEvent::Claimed)),
        1 => Just(Op::Event(ClockEvent::SupplementRequested { reason: "补正".into() })),
        1 => Just(Op::Event(ClockEvent::Supplemented)),
        1 => kind.clone().prop_map(|k| Op::Event(ClockEvent::Suspended(k))),
        1 => kind.prop_map(|k| Op::Event(ClockEvent::Resumed(k))),
        1 => (0u32..12).prop_map(|days| Op::Event(ClockEvent::Extended(Extension {
            working_days: days,
            reason: "论证".into(),
            approved_by: "head".into(),
            at: shanghai(2026, 9, 1, 9),
        }))),
        1 => Just(Op::Event(ClockEvent::Decided)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// For any history of clock events and evaluations, every warning and every breach of a
    /// deadline is raised at most once, and never before its moment (the warning moment for a
    /// warning, the due moment for a breach) as the clock stands when it is raised.
    #[test]
    fn each_alert_at_most_once_and_never_early(
        budget in 1u32..12,
        shares in prop::collection::vec(1u32..5, 1..4),
        warn_days in 0u32..3,
        history in prop::collection::vec((0i64..60, op()), 1..40),
    ) {
        let cal = calendar();
        let accepted = shanghai(2026, 9, 7, 10);
        let stages = shares
            .iter()
            .enumerate()
            .map(|(i, days)| StageShare { code: format!("s{i}"), days: *days })
            .collect();
        let mut case = Supervised::start(accepted, budget, stages);
        let _ = case.refresh(&cal, warn_days);
        let mut now = accepted;
        let mut raised = BTreeSet::new();
        for (hours, op) in history {
            now += TimeDelta::hours(hours);
            match op {
                Op::Event(event) => {
                    let event = match event {
                        ClockEvent::Extended(ext) => ClockEvent::Extended(Extension { at: now, ..ext }),
                        other => other,
                    };
                    // A change that does not apply leaves the case as it was.
                    let before = case.clone();
                    if case.apply(&event, now, &cal).is_err() {
                        prop_assert_eq!(&case, &before);
                    }
                    let _ = case.refresh(&cal, warn_days);
                }
                Op::Evaluate => {
                    let moments: Vec<_> = case
                        .tracked
                        .deadlines
                        .iter()
                        .map(|d| (d.stage.clone(), d.warn_at, d.due_at))
                        .collect();
                    for alert in case.take_due(now) {
                        let (_, warn_at, due_at) = moments
                            .iter()
                            .find(|(stage, _, _)| *stage == alert.stage)
                            .expect("an alert of a known deadline");
                        prop_assert_eq!(Some(alert.due_at), *due_at);
                        match alert.kind {
                            AlertKind::Warning => prop_assert!(warn_at.is_some_and(|w| w <= now)),
                            AlertKind::Breach => prop_assert!(alert.due_at <= now),
                        }
                        prop_assert!(
                            raised.insert((alert.stage.clone(), alert.kind.code())),
                            "{:?} of {:?} raised twice", alert.kind, alert.stage
                        );
                    }
                }
            }
        }
    }
}
