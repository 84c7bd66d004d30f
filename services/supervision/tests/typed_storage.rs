//! A stored value the domain does not know (a level, a ticket state, a case status) is an
//! error, never a default: the API answers INTERNAL with a reference id, and the evaluation
//! loop skips the row (logged and counted) while still raising everything else.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is the test failing.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use tongban_domain::reference::ReferenceData;
use tongban_domain::stages::{StageShare, Supervised};
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tongban_proto::supervision::v1::{ListAlertsRequest, ListTicketsRequest, TicketActionRequest};
use tongban_runtime::auth::Role;
use tongban_runtime::clock::Clock as _;
use tongban_supervision::{Config, Evaluator};
use tongban_testkit::{Bearer, TestEnv, channel};
use uuid::Uuid;

const OFFICE: &str = "140922-gongan";

/// Stores a case clock with `status`, accepted at `accepted` with a 3-day limit, due for a check
/// at `next_check` (none: never).
async fn store_case(
    pool: &PgPool,
    status: &str,
    accepted: DateTime<Utc>,
    next_check: Option<DateTime<Utc>>,
) -> Uuid {
    let reference = reference();
    let mut case = Supervised::start(
        accepted,
        3,
        vec![StageShare {
            code: "review".into(),
            days: 3,
        }],
    );
    case.refresh(&reference.calendar, 1).unwrap();
    let case_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO case_clocks (case_id, case_number, matter_code, scope, mode,
            window_office_id, responsible_office_id, status, accepted_at, tracked, next_check_at)
         VALUES ($1, $2, 'GA-HJ-ZM', 'province_wide', 'online', '140900-zwfw', $3, $4, $5, $6, $7)",
    )
    .bind(case_id)
    .bind(format!("TEST-{case_id}"))
    .bind(OFFICE)
    .bind(status)
    .bind(accepted)
    .bind(serde_json::to_value(&case.tracked).unwrap())
    .bind(next_check)
    .execute(pool)
    .await
    .unwrap();
    case_id
}

async fn store_ticket(pool: &PgPool, state: &str, level: i16, due: DateTime<Utc>) -> Uuid {
    let ticket_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tickets (ticket_id, source, case_id, case_number, office_id, state, level,
            reason, opened_at, next_due_at)
         VALUES ($1, $2, $3, 'TEST-T', $4, $5, $6, 'complaint', $7, $7)",
    )
    .bind(ticket_id)
    .bind(format!("complaint:{ticket_id}"))
    .bind(Uuid::now_v7())
    .bind(OFFICE)
    .bind(state)
    .bind(level)
    .bind(due)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO ticket_milestones (ticket_id, seq, name, due_at) VALUES ($1, 0, 'act', $2)",
    )
    .bind(ticket_id)
    .bind(due)
    .execute(pool)
    .await
    .unwrap();
    ticket_id
}

fn reference() -> ReferenceData {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    ReferenceData::load(&deploy).unwrap()
}

async fn count(pool: &PgPool, sql: &'static str, id: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_api_answers_internal_for_a_stored_value_the_domain_does_not_know() {
    let env = TestEnv::new().await.unwrap();
    let service = env
        .spawn::<tongban_supervision::Application>()
        .await
        .unwrap();
    let pool = tongban_store::connect(env.database_url(), "supervision", 2)
        .await
        .unwrap();
    let now = env.clock().now();
    let case_id = store_case(&pool, "open", now, None).await;
    sqlx::query(
        "INSERT INTO alerts (alert_id, case_id, case_number, kind, stage, office_id, scope, level,
            due_at, raised_at)
         VALUES ($1, $2, 'TEST', 'breach', '', $3, 'province_wide', 7, $4, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(case_id)
    .bind(OFFICE)
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    let lost = store_ticket(&pool, "lost", 1, now + TimeDelta::days(30)).await;

    let token = env.mint(Role::Supervisor, "140000-zwfw");
    let mut client = SupervisionServiceClient::with_interceptor(
        channel(service.port()),
        Bearer::new(&token).with_language("en"),
    );
    let internal = |status: tonic::Status| {
        assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
        assert!(status.message().contains("(ref "), "{}", status.message());
    };
    internal(
        client
            .list_alerts(ListAlertsRequest::default())
            .await
            .expect_err("an alert of level 7"),
    );
    internal(
        client
            .list_tickets(ListTicketsRequest::default())
            .await
            .expect_err("a ticket in state lost"),
    );
    internal(
        client
            .acknowledge_ticket(TicketActionRequest {
                ticket_id: lost.to_string(),
                note: String::new(),
            })
            .await
            .expect_err("a step on a ticket in state lost"),
    );
    let state: String = sqlx::query_scalar("SELECT state FROM tickets WHERE ticket_id = $1")
        .bind(lost)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "lost", "nothing was stepped on a guess");

    pool.close().await;
    service.stop().await.unwrap();
    env.cleanup().await.unwrap();
}

#[tokio::test]
async fn the_evaluation_loop_skips_and_counts_what_does_not_decode() {
    let env = TestEnv::new().await.unwrap();
    let pool = tongban_store::connect(env.database_url(), "supervision", 4)
        .await
        .unwrap();
    tongban_store::migrate(&pool, tongban_supervision::migrator())
        .await
        .unwrap();
    let accepted = env.clock().now();
    let now = accepted + TimeDelta::days(14);
    let bad = store_case(&pool, "paused", accepted, Some(accepted)).await;
    let good = store_case(&pool, "open", accepted, Some(accepted)).await;
    let bad_ticket = store_ticket(&pool, "lost", 1, accepted).await;
    let good_ticket = store_ticket(&pool, "open", 1, accepted).await;

    let evaluator = Evaluator::new(pool.clone(), Arc::new(reference()), Config::default());
    let report = evaluator.pass(now).await.unwrap();
    assert_eq!(report.skipped, 2, "{report:?}");
    assert!(report.breaches >= 1, "{report:?}");
    assert_eq!(report.escalations, 1, "{report:?}");
    let alerts = "SELECT count(*) FROM alerts WHERE case_id = $1";
    assert_eq!(count(&pool, alerts, bad).await, 0);
    assert!(count(&pool, alerts, good).await >= 1);
    let escalated =
        "SELECT count(*) FROM ticket_milestones WHERE ticket_id = $1 AND escalated_at IS NOT NULL";
    assert_eq!(count(&pool, escalated, bad_ticket).await, 0);
    assert_eq!(count(&pool, escalated, good_ticket).await, 1);
    // The next pass meets the same rows and skips them again: nothing is guessed or lost.
    let again = evaluator.pass(now).await.unwrap();
    assert_eq!((again.skipped, again.breaches), (2, 0), "{again:?}");

    pool.close().await;
    env.cleanup().await.unwrap();
}
