//! A pass over many cases falling due at the same moment raises each breach exactly once,
//! set-based: every breach is one alert row and one `deadline.breached` outbox event, every
//! breached case one 督办 ticket (with its four milestones) and one `ticket_opened` event; two
//! evaluators passing at once (two replicas) raise nothing twice and lose nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is the test failing.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use sqlx::PgPool;
use tongban_domain::reference::ReferenceData;
use tongban_domain::stages::{StageShare, Supervised};
use tongban_runtime::clock::Clock as _;
use tongban_supervision::{Config, Evaluator, PassReport};
use tongban_testkit::TestEnv;

/// Cases falling due at once: more than one batch per worker.
const CASES: i64 = 300;

fn reference() -> ReferenceData {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    ReferenceData::load(&deploy).unwrap()
}

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// A fresh schema with [`CASES`] open cases accepted at `accepted` with a 3-day limit (one
/// stage), all due for a check at `accepted`.
async fn seeded(env: &TestEnv, accepted: chrono::DateTime<Utc>) -> PgPool {
    let pool = tongban_store::connect(env.database_url(), "supervision", 8)
        .await
        .unwrap();
    tongban_store::migrate(&pool, tongban_supervision::migrator())
        .await
        .unwrap();
    let mut case = Supervised::start(
        accepted,
        3,
        vec![StageShare {
            code: "review".into(),
            days: 3,
        }],
    );
    case.refresh(&reference().calendar, 1).unwrap();
    sqlx::query(
        "INSERT INTO case_clocks (case_id, case_number, matter_code, scope, mode,
            window_office_id, responsible_office_id, status, accepted_at, tracked, next_check_at)
         SELECT gen_random_uuid(), 'MANY-' || i, 'GA-HJ-ZM', 'province_wide', 'online',
            '140900-zwfw', '140922-gongan', 'open', $1, $2, $1
         FROM generate_series(1, $3::bigint) AS i",
    )
    .bind(accepted)
    .bind(serde_json::to_value(&case.tracked).unwrap())
    .bind(CASES)
    .execute(&pool)
    .await
    .unwrap();
    pool
}

/// Every breach once in the alerts, once in the outbox; one ticket per case.
async fn assert_each_once(pool: &PgPool, raised: &PassReport) {
    let alerts = scalar(pool, "SELECT count(*) FROM alerts WHERE kind = 'breach'").await;
    let events = scalar(
        pool,
        "SELECT count(*) FROM outbox WHERE subject LIKE '%deadline.breached'",
    )
    .await;
    assert_eq!(
        alerts,
        i64::try_from(raised.breaches).unwrap(),
        "{raised:?}"
    );
    assert_eq!(events, alerts, "one deadline.breached event per breach");
    let breached_cases = scalar(
        pool,
        "SELECT count(DISTINCT case_id) FROM alerts WHERE kind = 'breach'",
    )
    .await;
    assert_eq!(breached_cases, CASES, "every case breached");
    let tickets = scalar(pool, "SELECT count(*) FROM tickets").await;
    let ticket_cases = scalar(pool, "SELECT count(DISTINCT case_id) FROM tickets").await;
    let opened = scalar(
        pool,
        "SELECT count(*) FROM outbox WHERE subject LIKE '%ticket_opened'",
    )
    .await;
    assert_eq!((tickets, ticket_cases, opened), (CASES, CASES, CASES));
    let milestones = scalar(pool, "SELECT count(*) FROM ticket_milestones").await;
    assert_eq!(milestones, 4 * CASES, "four milestones per ticket");
    let still_due = scalar(
        pool,
        "SELECT count(*) FROM case_clocks WHERE case_breached = false",
    )
    .await;
    assert_eq!(still_due, 0, "every clock written back breached");
}

#[tokio::test]
async fn a_pass_over_many_due_cases_raises_each_breach_once() {
    let env = TestEnv::new().await.unwrap();
    let accepted = env.clock().now();
    let now = accepted + TimeDelta::days(14);
    let pool = seeded(&env, accepted).await;

    let evaluator = Evaluator::new(pool.clone(), Arc::new(reference()), Config::default());
    let report = evaluator.pass(now).await.unwrap();
    assert_eq!(report.cases, usize::try_from(CASES).unwrap(), "{report:?}");
    assert_each_once(&pool, &report).await;
    let again = evaluator.pass(now).await.unwrap();
    assert_eq!((again.breaches, again.warnings), (0, 0), "{again:?}");
    assert_each_once(&pool, &report).await;

    pool.close().await;
    env.cleanup().await.unwrap();
}

#[tokio::test]
async fn two_evaluators_at_once_raise_nothing_twice() {
    let env = TestEnv::new().await.unwrap();
    let accepted = env.clock().now();
    let now = accepted + TimeDelta::days(14);
    let pool = seeded(&env, accepted).await;

    let one = Evaluator::new(pool.clone(), Arc::new(reference()), Config::default());
    let other = one.clone();
    let (a, b) = tokio::join!(one.pass(now), other.pass(now));
    let (a, b) = (a.unwrap(), b.unwrap());
    let both = PassReport {
        cases: a.cases + b.cases,
        breaches: a.breaches + b.breaches,
        warnings: a.warnings + b.warnings,
        ..PassReport::default()
    };
    assert_each_once(&pool, &both).await;

    pool.close().await;
    env.cleanup().await.unwrap();
}
