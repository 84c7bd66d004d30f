//! Time limits enforced (issue 5): the supervision service keeps each case's clock from the case
//! events, raises `deadline.warning` and `deadline.breached` exactly once — also when it is
//! killed and restarted mid-stream — opens a 13710 ticket for the breach and escalates an
//! ignored ticket county → city → province; 补正 and an extension across 国庆 move the deadline.
//! Days pass by moving the environment's clock, never by waiting.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone as _, Utc};
use tongban_e2e::{
    Authed, Hotline, Intake, Review, Supervision, WUTAI_GONGAN, YINCHUAN_GONGAN, alert_until,
    case_events, case_until_within, catalog, claim, intake, listed_until_within, review, shut_down,
    spawn_services, submit_request, supplement_request,
};
use tongban_proto::catalog::v1::ComputeDueDateRequest;
use tongban_proto::common::v1::{CaseStatus, Mode};
use tongban_proto::events::v1::event::Body;
use tongban_proto::intake::v1::{SubmitCaseResponse, SupplementCaseRequest};
use tongban_proto::review::v1::ExtendDeadlineRequest;
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tongban_proto::supervision::v1::{
    AlertKind, GetStatisticsRequest, ListAlertsRequest, ListTicketsRequest, SupervisionLevel,
    TicketActionRequest, TicketState,
};
use tongban_runtime::auth::Role;
use tongban_runtime::convert::{datetime, timestamp};
use tongban_testkit::{Bearer, TestEnv, channel, eventually};
use tonic::Code;

use crate::{PROPAGATION, TestResult, ticket_for};

/// 忻州市政务服务中心: a window of the same province as Wutai (全省通办).
const XINZHOU_WINDOW: &str = "140900-zwfw";
/// 开具户籍类证明: 5 working days (accept 1, review 3, decide 1).
const MATTER: &str = "GA-HJ-ZM";

fn supervision(port: u16, token: &str) -> SupervisionServiceClient<Authed> {
    SupervisionServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// `y-m-d h:00` in Asia/Shanghai.
fn shanghai(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|tz| tz.with_ymd_and_hms(y, m, d, h, 0, 0).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Submits a 开具户籍类证明 for a Wutai resident at the Xinzhou window (responsible: Wutai).
async fn submit(
    env: &TestEnv,
    intake_port: u16,
    key: &str,
) -> Result<SubmitCaseResponse, Box<dyn std::error::Error>> {
    let clerk = env.mint(Role::Clerk, XINZHOU_WINDOW);
    let mut request = submit_request(
        &mut catalog(intake_port, &clerk),
        key,
        MATTER,
        "140922",
        Mode::Online,
    )
    .await?;
    request.window_office_id = XINZHOU_WINDOW.to_owned();
    let accepted = intake(intake_port, &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    assert_eq!(accepted.responsible_office_id, WUTAI_GONGAN);
    Ok(accepted)
}

/// Waits until supervision tracks `count` cases of the matter.
async fn tracked(client: &SupervisionServiceClient<Authed>, count: u64) -> Result<(), String> {
    eventually(PROPAGATION, || async {
        let stats = client
            .clone()
            .get_statistics(GetStatisticsRequest {
                group_by: "matter".to_owned(),
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner();
        stats
            .rows
            .iter()
            .any(|r| r.key == MATTER && r.total >= count)
            .then_some(())
    })
    .await
    .map_err(|e| format!("supervision tracks the case: {e}"))
}

/// Waits for an alert of `kind` for the whole case (stage ""), returning its due moment.
async fn alert(
    client: &SupervisionServiceClient<Authed>,
    case_id: &str,
    kind: AlertKind,
) -> Result<DateTime<Utc>, String> {
    let found = alert_until(PROPAGATION, client, case_id, kind, "").await?;
    datetime(found.due_at.as_ref()).ok_or_else(|| format!("{kind:?} for the case has no due_at"))
}

/// Every deadline event of `case_id` on the test's stream: (kind, stage) → count.
async fn deadline_events(
    env: &TestEnv,
    case_id: &str,
) -> Result<BTreeMap<(String, String), usize>, Box<dyn std::error::Error>> {
    let mut counts = BTreeMap::new();
    for event in case_events(env, case_id).await? {
        let key = match &event.body {
            Some(Body::DeadlineWarning(w)) => ("warning".to_owned(), w.stage.clone()),
            Some(Body::DeadlineBreached(b)) => ("breach".to_owned(), b.stage.clone()),
            Some(Body::TicketEscalated(t)) => ("escalated".to_owned(), t.milestone.clone()),
            _ => continue,
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    Ok(counts)
}

/// Warning and breach are each published exactly once although the supervision service is
/// killed right after the case is submitted, after the warning and after the breach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_and_breach_exactly_once_across_kills() -> TestResult {
    let env = TestEnv::new().await?;
    env.clock().set(shanghai(2026, 9, 14, 10));
    let intake_svc = env.spawn::<Intake>().await?;
    let supervisor = env.mint(Role::Supervisor, "140922-zwfw");
    let watcher = env.spawn::<Supervision>().await?;
    let accepted = submit(&env, intake_svc.port(), "sv-once-1").await?;
    // Killed while the case events may be in flight: they are redelivered to the next one.
    watcher.kill().await;
    let watcher = env.spawn::<Supervision>().await?;
    let client = supervision(watcher.port(), &supervisor);
    tracked(&client, 1).await?;

    let due = datetime(accepted.due_at.as_ref()).ok_or("SubmitCase returns due_at")?;
    // The last working day: one working day (this one) or less remains.
    env.clock().set(due - chrono::TimeDelta::hours(1));
    let warned_due = alert(&client, &accepted.case_id, AlertKind::Warning).await?;
    assert_eq!(warned_due, due, "the warning names the case's due moment");

    watcher.kill().await;
    env.clock().set(due + chrono::TimeDelta::hours(1));
    let watcher = env.spawn::<Supervision>().await?;
    let client = supervision(watcher.port(), &supervisor);
    let breached_due = alert(&client, &accepted.case_id, AlertKind::Breach).await?;
    assert_eq!(breached_due, due);

    // Once more: killed after the breach, restarted, then stopped gracefully so that whatever
    // is in its outbox reaches the stream before counting.
    watcher.kill().await;
    let watcher = env.spawn::<Supervision>().await?;
    watcher.stop().await?;

    let counts = deadline_events(&env, &accepted.case_id).await?;
    assert_eq!(
        counts.get(&("warning".to_owned(), String::new())),
        Some(&1),
        "one case warning: {counts:?}"
    );
    assert_eq!(
        counts.get(&("breach".to_owned(), String::new())),
        Some(&1),
        "one case breach: {counts:?}"
    );
    for stage in ["accept", "review", "decide"] {
        assert_eq!(
            counts.get(&("breach".to_owned(), stage.to_owned())),
            Some(&1),
            "one breach of stage {stage}: {counts:?}"
        );
    }
    assert!(
        counts.values().all(|n| *n == 1),
        "nothing published twice: {counts:?}"
    );

    shut_down(env, [intake_svc]).await?;
    Ok(())
}

/// A breach opens a county-level 13710 ticket for the responsible office; each milestone it
/// ignores escalates the ticket one level; the office then acts and the supervisor closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_ticket_escalates_county_city_province() -> TestResult {
    let env = TestEnv::new().await?;
    env.clock().set(shanghai(2026, 9, 14, 10));
    let [intake_svc, watcher] = spawn_services::<(Intake, Supervision)>(&env).await?;
    let supervisor = supervision(watcher.port(), &env.mint(Role::Supervisor, "140922-zwfw"));
    let office = supervision(watcher.port(), &env.mint(Role::Reviewer, WUTAI_GONGAN));
    let stranger = supervision(watcher.port(), &env.mint(Role::Reviewer, YINCHUAN_GONGAN));
    let accepted = submit(&env, intake_svc.port(), "sv-escalate-1").await?;
    tracked(&supervisor, 1).await?;
    let due = datetime(accepted.due_at.as_ref()).ok_or("SubmitCase returns due_at")?;
    env.clock().set(due + chrono::TimeDelta::hours(1));

    let ticket_at = |level: SupervisionLevel| {
        let supervisor = supervisor.clone();
        let case_id = accepted.case_id.clone();
        async move {
            eventually(PROPAGATION, || async {
                let listed = supervisor
                    .clone()
                    .list_tickets(ListTicketsRequest::default())
                    .await
                    .ok()?
                    .into_inner();
                listed
                    .tickets
                    .into_iter()
                    .find(|t| t.case_id == case_id && t.level() == level)
            })
            .await
            .map_err(|e| format!("ticket at level {level:?}: {e}"))
        }
    };
    let ticket = ticket_at(SupervisionLevel::County).await?;
    assert_eq!(ticket.office_id, WUTAI_GONGAN);
    assert_eq!(ticket.reason, "breach");
    assert_eq!(ticket.state(), TicketState::Open);
    let names: Vec<&str> = ticket.milestones.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["act", "report", "settle", "close"]);
    let milestone_due = |i: usize| {
        ticket
            .milestones
            .get(i)
            .and_then(|m| datetime(m.due_at.as_ref()))
            .ok_or("milestone due moment")
    };

    // The office sees its ticket; another office sees nothing and cannot act on it.
    let own = office
        .clone()
        .list_tickets(ListTicketsRequest::default())
        .await?
        .into_inner();
    assert_eq!(own.tickets.len(), 1);
    let theirs = stranger
        .clone()
        .list_tickets(ListTicketsRequest::default())
        .await?
        .into_inner();
    assert!(theirs.tickets.is_empty());
    let refused = stranger
        .clone()
        .acknowledge_ticket(TicketActionRequest {
            ticket_id: ticket.ticket_id.clone(),
            note: String::new(),
        })
        .await
        .err()
        .ok_or("a stranger cannot acknowledge")?;
    assert_eq!(refused.code(), Code::NotFound);

    // Ignored past "act within 1 working day": city; past "report within 3": province.
    env.clock()
        .set(milestone_due(0)? + chrono::TimeDelta::hours(1));
    ticket_at(SupervisionLevel::City).await?;
    env.clock()
        .set(milestone_due(1)? + chrono::TimeDelta::hours(1));
    ticket_at(SupervisionLevel::Province).await?;

    let action = |note: &str| TicketActionRequest {
        ticket_id: ticket.ticket_id.clone(),
        note: note.to_owned(),
    };
    let acked = office
        .clone()
        .acknowledge_ticket(action("已签收"))
        .await?
        .into_inner();
    assert_eq!(acked.state(), TicketState::Acknowledged);
    let denied = office
        .clone()
        .close_ticket(action(""))
        .await
        .err()
        .ok_or("an office cannot close its own ticket")?;
    assert_eq!(denied.code(), Code::PermissionDenied);
    let resolved = office
        .clone()
        .resolve_ticket(action("已办结"))
        .await?
        .into_inner();
    assert_eq!(resolved.state(), TicketState::Resolved);
    let closed = supervisor
        .clone()
        .close_ticket(action("销号"))
        .await?
        .into_inner();
    assert_eq!(closed.state(), TicketState::Closed);
    assert!(closed.milestones.iter().all(|m| m.done_at.is_some()));

    let stats = crate::office_statistics(&supervisor).await?;
    let row = stats
        .rows
        .iter()
        .find(|r| r.key == WUTAI_GONGAN)
        .ok_or("statistics for the office")?;
    assert_eq!((row.total, row.open, row.overdue), (1, 1, 1));

    watcher.stop().await?;
    let counts = deadline_events(&env, &accepted.case_id).await?;
    assert_eq!(
        counts.get(&("escalated".to_owned(), "act".to_owned())),
        Some(&1)
    );
    assert_eq!(
        counts.get(&("escalated".to_owned(), "report".to_owned())),
        Some(&1)
    );
    shut_down(env, [intake_svc]).await?;
    Ok(())
}

/// 补正 stops the clock and an extension approved by the office head adds working days across
/// 国庆: the breach comes exactly at the moment derived from budget, suspension and extension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplement_and_extension_across_national_day() -> TestResult {
    let env = TestEnv::new().await?;
    // Monday 2026-09-21; 09-25..09-27 中秋, 10-01..10-07 国庆, 10-10 (Sat) a 调休 working day.
    env.clock().set(shanghai(2026, 9, 21, 10));
    let [intake_svc, review_svc, watcher] =
        spawn_services::<(Intake, Review, Supervision)>(&env).await?;
    let supervisor = supervision(watcher.port(), &env.mint(Role::Supervisor, "140922-zwfw"));
    let reviewer = review(review_svc.port(), &env.mint(Role::Reviewer, WUTAI_GONGAN));
    let head = review(review_svc.port(), &env.mint(Role::OfficeHead, WUTAI_GONGAN));
    let clerk = env.mint(Role::Clerk, XINZHOU_WINDOW);
    let accepted = submit(&env, intake_svc.port(), "sv-clock-1").await?;
    let accepted_at = datetime(accepted.accepted_at.as_ref()).ok_or("accepted_at")?;
    tracked(&supervisor, 1).await?;
    listed_until_within(
        PROPAGATION,
        &reviewer,
        &accepted.case_id,
        "the case reaches the office",
    )
    .await?;

    reviewer
        .clone()
        .claim_case(claim(&accepted.case_id))
        .await?;
    // 补正 asked on Tuesday 09-22, material handed in on Monday 09-28: the working days
    // 09-23, 09-24 and 09-28 do not count.
    env.clock().set(shanghai(2026, 9, 22, 9));
    reviewer
        .clone()
        .request_supplement(supplement_request(
            &accepted.case_id,
            &["HKB"],
            "户口簿页面不清晰",
        ))
        .await?;
    env.clock().set(shanghai(2026, 9, 28, 15));
    let mut window = intake(intake_svc.port(), &clerk);
    case_until_within(
        PROPAGATION,
        &window,
        &accepted.case_id,
        "the window sees the 补正 request",
        |case| case.status() == CaseStatus::SupplementRequested,
    )
    .await?;
    window
        .supplement_case(SupplementCaseRequest {
            case_id: accepted.case_id.clone(),
            materials: vec![tongban_e2e::presented("HKB", Mode::Online, false)],
            note: "已补正".to_owned(),
        })
        .await?;

    // The extension: the office head only, with a reason, at most 10 working days.
    let extend = |working_days: u32, reason: &str| ExtendDeadlineRequest {
        case_id: accepted.case_id.clone(),
        working_days,
        reason: reason.to_owned(),
    };
    let refused = reviewer
        .clone()
        .extend_deadline(extend(5, "需要实地核查"))
        .await
        .err()
        .ok_or("a reviewer cannot extend")?;
    assert_eq!(refused.code(), Code::PermissionDenied);
    let too_long = head
        .clone()
        .extend_deadline(extend(11, "需要实地核查"))
        .await
        .err()
        .ok_or("at most 10 working days")?;
    assert_eq!(too_long.code(), Code::InvalidArgument);
    let unexplained = head
        .clone()
        .extend_deadline(extend(5, " "))
        .await
        .err()
        .ok_or("a reason is required")?;
    assert_eq!(unexplained.code(), Code::InvalidArgument);
    env.clock().set(shanghai(2026, 9, 29, 9));
    head.clone()
        .extend_deadline(extend(5, "需要实地核查"))
        .await?;

    // Budget 5 + 3 suspended + 5 extended = 13 working days after acceptance, across 国庆.
    let expected = catalog(intake_svc.port(), &clerk)
        .compute_due_date(ComputeDueDateRequest {
            start_time: Some(timestamp(accepted_at)),
            working_days: 5 + 3 + 5,
        })
        .await?
        .into_inner()
        .due_time
        .and_then(|t| datetime(Some(&t)))
        .ok_or("ComputeDueDate")?;
    assert!(
        expected > shanghai(2026, 10, 8, 0),
        "beyond 国庆: {expected}"
    );
    // The window's view follows the same ledger (window show's remaining working days).
    case_until_within(
        PROPAGATION,
        &window,
        &accepted.case_id,
        "the window's due moment includes the extension",
        |case| datetime(case.due_at.as_ref()) == Some(expected),
    )
    .await?;
    // Nothing is breached an hour before; the breach comes right after.
    env.clock().set(expected - chrono::TimeDelta::hours(1));
    let warned = alert(&supervisor, &accepted.case_id, AlertKind::Warning).await?;
    assert_eq!(
        warned, expected,
        "the warning carries the derived due moment"
    );
    let early = supervisor
        .clone()
        .list_alerts(ListAlertsRequest {
            kind: AlertKind::Breach.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(
        !early
            .alerts
            .iter()
            .any(|a| a.case_id == accepted.case_id && a.stage.is_empty()),
        "no case breach before the derived due moment"
    );
    env.clock().set(expected + chrono::TimeDelta::hours(1));
    let breached = alert(&supervisor, &accepted.case_id, AlertKind::Breach).await?;
    assert_eq!(breached, expected);

    shut_down(env, [watcher, review_svc, intake_svc]).await?;
    Ok(())
}

/// A complaint filed at the 12345 hotline opens a county-level 13710 ticket for the office
/// complained of, once, whatever the case's deadlines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaints_and_bad_ratings_open_tickets() -> TestResult {
    let env = TestEnv::new().await?;
    env.clock().set(shanghai(2026, 9, 14, 10));
    let [intake_svc, hotline_svc, watcher] =
        spawn_services::<(Intake, Hotline, Supervision)>(&env).await?;
    let supervisor = supervision(watcher.port(), &env.mint(Role::Supervisor, "140922-zwfw"));
    let accepted = submit(&env, intake_svc.port(), "sv-complaint-1").await?;
    let operator = tongban_e2e::hotline(hotline_svc.port(), &env.mint(Role::Hotline, "12345"));
    let filed = eventually(PROPAGATION, || async {
        operator
            .clone()
            .file_complaint(tongban_proto::hotline::v1::FileComplaintRequest {
                case_number: accepted.case_number.clone(),
                verification: "5678".to_owned(),
                caller_name: "王小明".to_owned(),
                caller_phone: "13812345678".to_owned(),
                content: "办理进度太慢".to_owned(),
            })
            .await
            .ok()
    })
    .await
    .map_err(|e| format!("the hotline files the complaint: {e}"))?;
    assert!(!filed.get_ref().complaint_id.is_empty());

    let ticket = ticket_for(&supervisor, &accepted.case_id, "complaint").await?;
    assert_eq!(ticket.office_id, WUTAI_GONGAN);
    assert_eq!(ticket.level(), SupervisionLevel::County);
    assert_eq!(ticket.state(), TicketState::Open);
    assert_eq!(ticket.milestones.len(), 4);

    // A 非常不满意 rating opens a rectification item, and with it a 督办 ticket for the office.
    let rated = operator
        .clone()
        .rate_service(tongban_proto::hotline::v1::RateServiceRequest {
            case_number: accepted.case_number.clone(),
            verification: "5678".to_owned(),
            occasion: tongban_proto::hotline::v1::RatingOccasion::Acceptance.into(),
            level: tongban_proto::hotline::v1::RatingLevel::VeryDissatisfied.into(),
            comment: "窗口解释不清".to_owned(),
            scores: Vec::new(),
        })
        .await?
        .into_inner();
    assert!(!rated.rectification_id.is_empty());
    let bad = ticket_for(&supervisor, &accepted.case_id, "bad_rating").await?;
    assert_eq!(bad.office_id, WUTAI_GONGAN);
    assert_eq!(bad.state(), TicketState::Open);

    shut_down(env, [watcher, hotline_svc, intake_svc]).await?;
    Ok(())
}
