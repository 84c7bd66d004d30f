//! Working days, due dates and the case clock against the real holiday files in
//! `deploy/data/holidays` (holiday-cn 2020–2026).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use tongban_domain::calendar::{CalendarError, WorkingCalendar, shanghai};
use tongban_domain::clock::{CaseClock, ClockError, Extension, SuspensionKind};
use tongban_domain::i18n::{Lang, Localized};

fn calendar() -> WorkingCalendar {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/data/holidays");
    WorkingCalendar::load(&dir).expect("the shipped holiday files load")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("test dates are valid")
}

/// An instant given as Shanghai local time, `"2026-09-30 10:00"`.
fn sh(s: &str) -> DateTime<Utc> {
    let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("valid time");
    local
        .and_local_timezone(shanghai())
        .single()
        .expect("a fixed offset has one mapping")
        .with_timezone(&Utc)
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("valid RFC 3339 instant")
}

/// Asserts `start + n` working days for every (n, due) pair.
fn assert_due(cal: &WorkingCalendar, start: DateTime<Utc>, cases: &[(u32, &str)]) {
    for &(n, due) in cases {
        assert_eq!(
            cal.due_after(start, n).unwrap(),
            utc(due),
            "start {start} + {n} working days"
        );
    }
}

/// Asserts that at `at` (Shanghai time) `days` working days remain until `due`.
fn assert_remaining(cal: &WorkingCalendar, due: DateTime<Utc>, at: &str, days: i32) {
    assert_eq!(
        cal.remaining_working_days(sh(at), due).unwrap(),
        days,
        "remaining at {at}"
    );
}

#[test]
fn loads_2020_to_2026() {
    assert_eq!(calendar().years(), (2020..=2026).collect::<Vec<_>>());
}

#[test]
fn design_examples() {
    let cal = calendar();
    // 10-01..10-07 are off, 10-08 (Thursday) is the first working day.
    for time in ["2026-09-30 00:00", "2026-09-30 09:15", "2026-09-30 23:59"] {
        assert_due(&cal, sh(time), &[(1, "2026-10-08T16:00:00Z")]);
    }
    // Friday; Sunday 09-20 is a 调休 working day.
    assert_due(&cal, sh("2026-09-18 10:00"), &[(1, "2026-09-20T16:00:00Z")]);
}

#[test]
fn zero_days_is_end_of_start_day() {
    let cal = calendar();
    assert_due(&cal, sh("2026-09-30 08:00"), &[(0, "2026-09-30T16:00:00Z")]);
    // 00:30 Shanghai is still the previous day in UTC; the Shanghai date counts.
    assert_due(
        &cal,
        utc("2025-01-23T16:30:00Z"),
        &[(0, "2025-01-24T16:00:00Z")],
    );
}

#[test]
fn spring_festival_2025() {
    let cal = calendar();
    // Fri 01-24; Sun 01-26 调休 working; 01-28..02-04 off; Sat 02-08 调休 working.
    let cases = [
        (1, "2025-01-26T16:00:00Z"),
        (2, "2025-01-27T16:00:00Z"),
        (3, "2025-02-05T16:00:00Z"),
        (5, "2025-02-07T16:00:00Z"),
        (6, "2025-02-08T16:00:00Z"),
        (7, "2025-02-10T16:00:00Z"),
    ];
    assert_due(&cal, sh("2025-01-24 15:00"), &cases);
    // The same Shanghai day, given early in the morning (still 01-23 in UTC).
    assert_due(&cal, utc("2025-01-23T16:30:00Z"), &cases);
}

#[test]
fn national_day_and_mid_autumn_2025() {
    let cal = calendar();
    // Tue 09-30; 10-01..10-08 off; Sat 10-11 调休 working; Sun 10-12 off.
    assert_due(
        &cal,
        sh("2025-09-30 11:00"),
        &[
            (1, "2025-10-09T16:00:00Z"),
            (2, "2025-10-10T16:00:00Z"),
            (3, "2025-10-11T16:00:00Z"),
            (4, "2025-10-13T16:00:00Z"),
        ],
    );
    // Fri 09-26; Sat 09-27 off; Sun 09-28 调休 working.
    assert_due(
        &cal,
        sh("2025-09-26 17:00"),
        &[
            (1, "2025-09-28T16:00:00Z"),
            (3, "2025-09-30T16:00:00Z"),
            (4, "2025-10-09T16:00:00Z"),
        ],
    );
}

#[test]
fn spring_festival_2026() {
    let cal = calendar();
    // Fri 02-13; Sat 02-14 调休 working; 02-15..02-23 off; Sat 02-28 调休 working.
    assert_due(
        &cal,
        sh("2026-02-13 09:00"),
        &[
            (1, "2026-02-14T16:00:00Z"),
            (2, "2026-02-24T16:00:00Z"),
            (6, "2026-02-28T16:00:00Z"),
            (7, "2026-03-02T16:00:00Z"),
        ],
    );
}

#[test]
fn national_day_and_mid_autumn_2026() {
    let cal = calendar();
    // 中秋 09-25..09-27 off; 国庆 10-01..10-07 off; Sat 10-10 调休 working.
    assert_due(&cal, sh("2026-09-24 16:00"), &[(1, "2026-09-28T16:00:00Z")]);
    assert_due(
        &cal,
        sh("2026-09-30 16:00"),
        &[
            (2, "2026-10-09T16:00:00Z"),
            (3, "2026-10-10T16:00:00Z"),
            (4, "2026-10-12T16:00:00Z"),
        ],
    );
}

#[test]
fn working_day_rules() {
    let cal = calendar();
    assert!(
        cal.is_working_day(date("2025-01-26")).unwrap(),
        "Sunday 调休"
    );
    assert!(
        !cal.is_working_day(date("2025-01-28")).unwrap(),
        "春节 on a Tuesday"
    );
    assert!(
        !cal.is_working_day(date("2025-03-01")).unwrap(),
        "ordinary Saturday"
    );
    assert!(
        cal.is_working_day(date("2025-03-03")).unwrap(),
        "ordinary Monday"
    );
    // 2022-12-31 is listed by 2023.json; 2022 has its own file, so it is covered.
    assert!(!cal.is_working_day(date("2022-12-31")).unwrap());
    assert_eq!(cal.holiday_name(date("2026-09-20")), Some("国庆节"));
}

#[test]
fn years_without_data_are_errors() {
    let cal = calendar();
    assert_eq!(
        cal.is_working_day(date("2027-01-04")),
        Err(CalendarError::NoData { year: 2027 })
    );
    assert_eq!(
        cal.is_working_day(date("2019-12-31")),
        Err(CalendarError::NoData { year: 2019 })
    );
    // Counting past the end of 2026 runs into 2027.
    assert_eq!(
        cal.due_after(sh("2026-12-31 10:00"), 1),
        Err(CalendarError::NoData { year: 2027 })
    );
    assert_eq!(
        cal.working_days_between(date("2019-12-30"), date("2020-01-03")),
        Err(CalendarError::NoData { year: 2019 })
    );
    let err = CalendarError::NoData { year: 2027 };
    assert_eq!(err.text(Lang::Zh), "缺少 2027 年节假日数据");
    assert_eq!(err.text(Lang::En), "no holiday data for 2027");
}

#[test]
fn from_json_decides_coverage_by_year_field() {
    let file = r#"{"year": 2030, "days": [
        {"name": "元旦", "date": "2029-12-31", "isOffDay": true},
        {"name": "元旦", "date": "2030-01-01", "isOffDay": true},
        {"name": "春节", "date": "2030-01-05", "isOffDay": false}]}"#;
    let cal = WorkingCalendar::from_json(&[file]).unwrap();
    assert_eq!(cal.years(), vec![2030]);
    assert!(!cal.is_working_day(date("2030-01-01")).unwrap());
    assert!(
        cal.is_working_day(date("2030-01-05")).unwrap(),
        "Saturday 调休"
    );
    assert_eq!(
        cal.is_working_day(date("2029-12-31")),
        Err(CalendarError::NoData { year: 2029 })
    );
    assert!(
        WorkingCalendar::from_json(&[file, file]).is_err(),
        "a year twice"
    );
    assert!(
        WorkingCalendar::from_json(&["{\"year\": 2030}"]).is_err(),
        "no days"
    );
}

#[test]
fn working_days_between_counts_half_open_span() {
    let cal = calendar();
    let (from, to) = (date("2025-09-30"), date("2025-10-13"));
    assert_eq!(cal.working_days_between(from, to).unwrap(), 4);
    assert_eq!(cal.working_days_between(to, from).unwrap(), -4);
    assert_eq!(cal.working_days_between(from, from).unwrap(), 0);
    assert_eq!(
        cal.working_days_between(date("2025-01-24"), date("2025-02-10"))
            .unwrap(),
        7
    );
}

#[test]
fn remaining_working_days() {
    let cal = calendar();
    let due = cal.due_after(sh("2026-09-30 10:00"), 1).unwrap(); // end of 10-08
    assert_remaining(&cal, due, "2026-09-30 11:00", 1);
    assert_remaining(&cal, due, "2026-10-03 10:00", 1);
    assert_remaining(&cal, due, "2026-10-08 14:00", 0);
    assert_remaining(&cal, due, "2026-10-09 09:00", -1);
    assert_remaining(&cal, due, "2026-10-10 09:00", -2);
    assert_remaining(&cal, due, "2026-10-11 09:00", -2);

    // Due at the end of Friday 09-18: the Saturday after is already overdue.
    let due = cal.due_after(sh("2026-09-17 10:00"), 1).unwrap();
    assert_eq!(due, utc("2026-09-18T16:00:00Z"));
    assert_remaining(&cal, due, "2026-09-18 23:59", 0);
    assert_remaining(&cal, due, "2026-09-19 10:00", -1);
    assert_remaining(&cal, due, "2026-09-21 10:00", -2);
}

// ----------------------------------------------------------------------------------------------
// Case clock
// ----------------------------------------------------------------------------------------------

/// Accepted Friday 2026-09-18 with 5 working days: 09-20 (调休), 09-21..09-24 → end of 09-24.
fn clock() -> CaseClock {
    CaseClock::new(sh("2026-09-18 10:00"), 5)
}

/// Stops `clock` for `kind` at `at` (Shanghai time) with `reason`.
fn suspend(clock: &mut CaseClock, kind: SuspensionKind, at: &str, reason: &str) {
    clock.suspend(kind, sh(at), reason).unwrap();
}

/// Restarts `clock` after `kind` at `at` (Shanghai time).
fn resume(clock: &mut CaseClock, kind: SuspensionKind, at: &str) {
    clock.resume(kind, sh(at)).unwrap();
}

/// Asserts that `clock` runs and is due at the instant `due` (RFC 3339).
fn assert_due_at(clock: &CaseClock, cal: &WorkingCalendar, due: &str) {
    assert_eq!(clock.due_at(cal).unwrap(), Some(utc(due)));
}

fn extension(days: u32) -> Extension {
    Extension {
        working_days: days,
        reason: "需现场核查".to_owned(),
        approved_by: "局长 张三".to_owned(),
        at: sh("2026-09-21 09:00"),
    }
}

#[test]
fn clock_without_ledger() {
    assert_eq!(
        clock().due_at(&calendar()).unwrap(),
        Some(utc("2026-09-24T16:00:00Z"))
    );
}

#[test]
fn suspension_shifts_due_by_suspended_working_days() {
    let cal = calendar();
    let mut clock = clock();
    suspend(
        &mut clock,
        SuspensionKind::Supplement,
        "2026-09-21 11:00",
        "缺户口簿",
    );
    assert!(clock.is_suspended());
    assert_eq!(
        clock.due_at(&cal).unwrap(),
        None,
        "stopped clock has no due moment"
    );
    assert_eq!(
        clock.suspend(SuspensionKind::Supplement, sh("2026-09-22 11:00"), "x"),
        Err(ClockError::AlreadySuspended)
    );
    resume(&mut clock, SuspensionKind::Supplement, "2026-09-23 15:00");
    assert!(!clock.is_suspended());
    // 09-22 and 09-23 excluded: 5 + 2 = 7 → 09-24, (中秋 09-25..27), 09-28, 09-29.
    assert_eq!(clock.suspended_working_days(&cal).unwrap(), 2);
    assert_due_at(&clock, &cal, "2026-09-29T16:00:00Z");

    // A second stop resumed the same day excludes nothing.
    suspend(
        &mut clock,
        SuspensionKind::Transit,
        "2026-09-24 09:00",
        "原件邮寄中",
    );
    resume(&mut clock, SuspensionKind::Transit, "2026-09-24 17:00");
    assert_due_at(&clock, &cal, "2026-09-29T16:00:00Z");
}

#[test]
fn extension_adds_budget() {
    let cal = calendar();
    let mut clock = clock();
    clock.extend(extension(3)).unwrap();
    // 8 working days: 09-24 is the 5th, then 09-28, 09-29, 09-30.
    assert_due_at(&clock, &cal, "2026-09-30T16:00:00Z");
    suspend(
        &mut clock,
        SuspensionKind::ExpertReview,
        "2026-09-21 11:00",
        "专家评审",
    );
    resume(&mut clock, SuspensionKind::ExpertReview, "2026-09-23 15:00");
    // 10 working days: 09-30 is the 8th, then 国庆, 10-08, 10-09.
    assert_due_at(&clock, &cal, "2026-10-09T16:00:00Z");

    assert_eq!(
        clock.extend(extension(0)),
        Err(ClockError::ExtensionDays(0))
    );
    assert_eq!(
        clock.extend(extension(11)),
        Err(ClockError::ExtensionDays(11))
    );
    let mut unapproved = extension(2);
    unapproved.approved_by = " ".to_owned();
    assert_eq!(
        clock.extend(unapproved),
        Err(ClockError::ExtensionUnapproved)
    );
    assert_eq!(clock.extensions.len(), 1);
}

#[test]
fn clock_ledger_errors() {
    let mut clock = clock();
    assert_eq!(
        clock.resume(SuspensionKind::Supplement, sh("2026-09-21 09:00")),
        Err(ClockError::NotSuspended)
    );
    assert_eq!(
        clock.suspend(
            SuspensionKind::Inspection,
            sh("2026-09-17 09:00"),
            "早于受理"
        ),
        Err(ClockError::OutOfOrder)
    );
    suspend(
        &mut clock,
        SuspensionKind::PublicNotice,
        "2026-09-21 09:00",
        "公告期",
    );
    assert_eq!(
        clock.resume(SuspensionKind::PublicNotice, sh("2026-09-20 09:00")),
        Err(ClockError::OutOfOrder)
    );
    assert_eq!(
        ClockError::NotSuspended.text(Lang::Zh),
        "办理时限未暂停，无法恢复"
    );
}

#[test]
fn clock_serde_round_trip() {
    let mut clock = clock();
    suspend(
        &mut clock,
        SuspensionKind::Supplement,
        "2026-09-21 11:00",
        "缺户口簿",
    );
    let json = serde_json::to_string(&clock).unwrap();
    assert!(json.contains("\"supplement\""));
    let back: CaseClock = serde_json::from_str(&json).unwrap();
    assert_eq!(back, clock);
    assert_eq!(
        SuspensionKind::from_code("expert_review"),
        Some(SuspensionKind::ExpertReview)
    );
    assert_eq!(SuspensionKind::Appraisal.label(Lang::Zh), "鉴定");
}

#[test]
fn overlapping_suspensions_count_each_day_once() {
    let cal = calendar();
    let mut clock = clock();
    // Originals in transit from Monday 09-21; a 补正 asked on 09-22 while they travel.
    suspend(
        &mut clock,
        SuspensionKind::Transit,
        "2026-09-21 10:00",
        "原件在途",
    );
    suspend(
        &mut clock,
        SuspensionKind::Supplement,
        "2026-09-22 11:00",
        "缺户口簿",
    );
    // The originals arrive on 09-23; the clock stays stopped for the 补正.
    resume(&mut clock, SuspensionKind::Transit, "2026-09-23 09:00");
    assert!(clock.is_suspended());
    assert_eq!(clock.due_at(&cal).unwrap(), None);
    assert_eq!(
        clock.resume(SuspensionKind::Transit, sh("2026-09-23 10:00")),
        Err(ClockError::NotSuspended)
    );
    resume(&mut clock, SuspensionKind::Supplement, "2026-09-24 16:00");
    assert!(!clock.is_suspended());
    // Transit excludes 09-22, 09-23; the 补正 09-23, 09-24: together 09-22..09-24, three days.
    assert_eq!(clock.suspended_working_days(&cal).unwrap(), 3);
}
