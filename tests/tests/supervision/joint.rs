//! 督办 of a 多地联办 case (issue 7): the case keeps one clock, but a warning or breach goes to the
//! office holding the case up at that moment — the office of its first open part — not to the
//! first part's office once that part is approved. 户口迁移（工作调动） from 银川 to 五台: 五台's
//! 迁入地审批 (QR) is approved at once, 银川's 迁出地办理迁出 (QC) is left alone until the case is
//! overdue; the breach, its event, the 13710 ticket and the per-office statistics name 银川.
//! Days pass by moving the environment's clock, never by waiting.

use tongban_e2e::{
    Authed, DESTINATION, GZDD, HOME, Intake, Review, Supervision, WINDOW, WUTAI_GONGAN,
    YINCHUAN_GONGAN, case_events, catalog, claim_when_routed, decide_request, intake,
    joint_request, passing_checklist, reviewer, shut_down, start, state_until, supervision,
};
use tongban_proto::common::v1::{Decision, PartState};
use tongban_proto::events::v1::event::Body;
use tongban_proto::review::v1::AssignmentState;
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tongban_proto::supervision::v1::{
    Alert, AlertKind, ListAlertsRequest, ListTicketsRequest, SupervisionLevel, TicketState,
};
use tongban_runtime::auth::Role;
use tongban_runtime::convert::datetime;
use tongban_testkit::{TestEnv, eventually};

use crate::{PROPAGATION, TestResult, ticket_for};

/// Durable consumer of the case events in the supervision service.
const CASE_CONSUMER: &str = "supervision-case-events";

/// The alerts of `case_id` the caller sees.
async fn alerts_of(
    client: &SupervisionServiceClient<Authed>,
    case_id: &str,
) -> Result<Vec<Alert>, tonic::Status> {
    let listed = client
        .clone()
        .list_alerts(ListAlertsRequest::default())
        .await?
        .into_inner();
    Ok(listed
        .alerts
        .into_iter()
        .filter(|a| a.case_id == case_id)
        .collect())
}

/// Waits for an alert of `kind` for `stage` of the case ("" for the whole case).
async fn alert(
    client: &SupervisionServiceClient<Authed>,
    case_id: &str,
    kind: AlertKind,
    stage: &str,
) -> Result<Alert, String> {
    eventually(PROPAGATION, || async {
        alerts_of(client, case_id)
            .await
            .ok()?
            .into_iter()
            .find(|a| a.kind() == kind && a.stage == stage)
    })
    .await
    .map_err(|e| format!("{kind:?} for stage {stage:?} of the case: {e}"))
}

/// Waits until the stream holds the step that started 银川's part and the supervision service
/// has handled (committed and acknowledged) every case event, that one included: from then on
/// its copy of the parts shows QR approved and QC open.
async fn supervision_saw_qc_start(env: &TestEnv, case_id: &str) -> Result<(), String> {
    eventually(PROPAGATION, || async {
        let events = case_events(env, case_id).await.ok()?;
        let started = events.iter().any(|e| {
            matches!(
                &e.body,
                Some(Body::CasePartUpdated(u)) if u.part.as_ref().is_some_and(|p| {
                    p.part_code == "QC" && p.state() == PartState::Routed
                })
            )
        });
        if !started {
            return None;
        }
        let jetstream = async_nats::jetstream::new(env.nats().clone());
        let stream = jetstream.get_stream(env.stream()).await.ok()?;
        let mut consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.get_consumer(CASE_CONSUMER).await.ok()?;
        let info = consumer.info().await.ok()?;
        (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
    })
    .await
    .map_err(|e| format!("supervision handles the start of QC: {e}"))
}

/// 迁入地 QR approved promptly, 迁出地 QC left alone: the case's breach, its event and its 13710
/// ticket name 银川市公安局 (at city level), not 五台县公安局, the first part's office; the
/// figures per office count the overdue case for 银川.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_breach_goes_to_the_office_holding_the_case_up() -> TestResult {
    let (env, [intake_svc, review_svc, watcher]) = start::<(Intake, Review, Supervision)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let supervisor = supervision(watcher.port(), &env.mint(Role::Supervisor, WINDOW));
    let wutai_view = supervision(watcher.port(), &env.mint(Role::Reviewer, WUTAI_GONGAN));
    let yinchuan_view = supervision(watcher.port(), &env.mint(Role::Reviewer, YINCHUAN_GONGAN));
    let mut catalog = catalog(intake_svc.port(), &clerk);
    let qr_office = reviewer(&env, review_svc.port(), WUTAI_GONGAN);
    let qc_office = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);

    let request = joint_request(&mut catalog, "sv-joint-1", GZDD, HOME, DESTINATION).await?;
    let accepted = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    let case_id = accepted.case_id.clone();
    assert_eq!(accepted.responsible_office_id, WUTAI_GONGAN);
    let due = datetime(accepted.due_at.as_ref()).ok_or("SubmitCase returns due_at")?;

    // The one-day 受理 stage is within its last working day at once: while 五台's QR is the open
    // part, its warning goes to 五台.
    let accept_warning = alert(&supervisor, &case_id, AlertKind::Warning, "accept").await?;
    assert_eq!(accept_warning.office_id, WUTAI_GONGAN, "{accept_warning:?}");

    // 五台 approves 迁入 at once; 银川's 迁出 starts and is left alone.
    claim_when_routed(&mut qr_office.clone(), &case_id, "五台 lists QR as ROUTED").await?;
    qr_office
        .clone()
        .decide_case(decide_request(
            &case_id,
            Decision::Approve,
            "符合迁入条件，准予迁入 / approved",
            passing_checklist(&mut catalog, GZDD, Some("QR")).await?,
        ))
        .await?;
    state_until(
        &qc_office,
        &case_id,
        "银川's QC becomes ROUTED",
        AssignmentState::Routed,
    )
    .await?;
    supervision_saw_qc_start(&env, &case_id).await?;

    // Overdue: the whole case breaches while 银川 holds it.
    env.clock().set(due + chrono::TimeDelta::hours(1));
    let breach = alert(&supervisor, &case_id, AlertKind::Breach, "").await?;
    assert_eq!(breach.office_id, YINCHUAN_GONGAN, "{breach:?}");
    assert_eq!(breach.level(), SupervisionLevel::City, "{breach:?}");
    assert_eq!(datetime(breach.due_at.as_ref()), Some(due));
    // The stages still open breach with it, against the same office.
    let breaches: Vec<Alert> = alerts_of(&supervisor, &case_id)
        .await?
        .into_iter()
        .filter(|a| a.kind() == AlertKind::Breach)
        .collect();
    assert!(
        breaches.iter().all(|a| a.office_id == YINCHUAN_GONGAN),
        "every breach names 银川: {breaches:?}"
    );

    // The 13710 ticket is 银川's, at city level.
    let ticket = ticket_for(&supervisor, &case_id, "breach").await?;
    assert_eq!(ticket.office_id, YINCHUAN_GONGAN, "{ticket:?}");
    assert_eq!(ticket.level(), SupervisionLevel::City);
    assert_eq!(ticket.state(), TicketState::Open);

    // Each office sees what is its own: 银川 the ticket and the breach, 五台 neither.
    let theirs = yinchuan_view
        .clone()
        .list_tickets(ListTicketsRequest::default())
        .await?
        .into_inner();
    assert!(
        theirs
            .tickets
            .iter()
            .any(|t| t.ticket_id == ticket.ticket_id),
        "银川 sees its ticket: {theirs:?}"
    );
    let wutai_tickets = wutai_view
        .clone()
        .list_tickets(ListTicketsRequest::default())
        .await?
        .into_inner();
    assert!(
        wutai_tickets.tickets.is_empty(),
        "五台 has no ticket: {wutai_tickets:?}"
    );
    let wutai_alerts = alerts_of(&wutai_view, &case_id).await?;
    assert!(
        wutai_alerts
            .iter()
            .any(|a| a.alert_id == accept_warning.alert_id),
        "五台 sees its own 受理 warning: {wutai_alerts:?}"
    );
    assert!(
        wutai_alerts.iter().all(|a| a.kind() == AlertKind::Warning),
        "五台 has no breach of the case: {wutai_alerts:?}"
    );

    // The figures per office follow the alerts: the overdue case counts for 银川.
    let stats = crate::office_statistics(&supervisor).await?;
    let row = stats
        .rows
        .iter()
        .find(|r| r.key == YINCHUAN_GONGAN)
        .ok_or_else(|| format!("statistics for 银川: {stats:?}"))?;
    assert_eq!((row.total, row.open, row.overdue), (1, 1, 1), "{row:?}");
    assert!(
        stats
            .rows
            .iter()
            .all(|r| r.key != WUTAI_GONGAN || r.overdue == 0),
        "no overdue case for 五台: {stats:?}"
    );

    // On the stream (the outbox flushed by a graceful stop): the breach and the ticket name
    // 银川, once.
    watcher.stop().await?;
    let events = case_events(&env, &case_id).await?;
    let case_breaches: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.body {
            Some(Body::DeadlineBreached(b)) if b.stage.is_empty() => Some(b.office_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(case_breaches, [YINCHUAN_GONGAN], "{events:?}");
    let opened: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match &e.body {
            Some(Body::TicketOpened(t)) => Some((t.office_id.as_str(), t.level.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(opened, [(YINCHUAN_GONGAN, "city")], "{events:?}");

    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}
