//! 办件编号 allocation through the real service: numbers stay distinct under a burst at one
//! window, taking a number never waits for another submission's transaction, and the daily
//! limit still refuses with UNAVAILABLE.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use tongban_domain::case_number::CaseNumber;
use tongban_e2e::{Intake, WINDOW, catalog, intake, shut_down, start, submit_request};
use tongban_proto::common::v1::Mode;
use tongban_runtime::auth::Role;
use tongban_testkit::eventually;
use tonic::Code;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// How long a submission may take before the test calls it blocked.
const BOUND: Duration = Duration::from_secs(10);

/// 64 submissions at once at one window: every one accepted, every number valid and distinct.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_get_distinct_numbers() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(service.port(), &clerk);
    let intake = intake(service.port(), &clerk);

    let template =
        submit_request(&mut catalog, "burst", "GJJ-TQ-TX", "140105", Mode::Online).await?;
    let answers = join_all((0..64).map(|i| {
        let mut client = intake.clone();
        let mut request = template.clone();
        request.idempotency_key = format!("burst-{i}");
        async move {
            client
                .submit_case(request)
                .await
                .map(tonic::Response::into_inner)
        }
    }))
    .await;
    let mut numbers = BTreeSet::new();
    for answer in answers {
        let number = CaseNumber::parse(&answer?.case_number)?;
        assert_eq!(number.window_division().as_str(), "140922");
        assert!(numbers.insert(number.clone()), "{number:?} given twice");
    }
    assert_eq!(numbers.len(), 64);

    shut_down(env, [service]).await?;
    Ok(())
}

/// A submission whose transaction is held open after it took its number does not hold up the
/// next submission at the same window: numbers are taken outside the submission's transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_a_number_does_not_wait_for_an_open_submission() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(service.port(), &clerk);
    let mut intake = intake(service.port(), &clerk);
    let pool = sqlx::PgPool::connect(env.database_url()).await?;

    let seed = submit_request(&mut catalog, "seed", "GJJ-TQ-TX", "140105", Mode::Online).await?;
    let seeded = intake.submit_case(seed).await?.into_inner();
    let seeded_id = uuid::Uuid::parse_str(&seeded.case_id)?;

    // Hold, uncommitted, the idempotency key that submission A will record: A takes its number,
    // opens its case and then waits on this key inside its own transaction.
    let mut held = pool.begin().await?;
    sqlx::query(
        "INSERT INTO intake.idempotency_keys (window_office_id, key, request_digest, case_id)
         VALUES ($1, 'held-a', 'held', $2)",
    )
    .bind(WINDOW)
    .bind(seeded_id)
    .execute(&mut *held)
    .await?;

    let request_a =
        submit_request(&mut catalog, "held-a", "GJJ-TQ-TX", "140105", Mode::Online).await?;
    let mut client_a = intake.clone();
    let a = tokio::spawn(async move { client_a.submit_case(request_a).await });
    eventually(BOUND, || {
        let pool = pool.clone();
        async move {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&pool)
            .await
            .ok()?;
            (waiting > 0).then_some(())
        }
    })
    .await?;

    let request_b =
        submit_request(&mut catalog, "free-b", "GJJ-TQ-TX", "140105", Mode::Online).await?;
    let b = tokio::time::timeout(BOUND, intake.submit_case(request_b))
        .await
        .map_err(|_| "B waited for A's open transaction")??
        .into_inner();
    assert!(!a.is_finished(), "A is still held while B is accepted");

    held.rollback().await?;
    let a = tokio::time::timeout(BOUND, a)
        .await
        .map_err(|_| "A finishes once released")???
        .into_inner();
    let numbers: BTreeSet<CaseNumber> = [&seeded, &a, &b]
        .iter()
        .map(|r| CaseNumber::parse(&r.case_number))
        .collect::<Result<_, _>>()?;
    assert_eq!(numbers.len(), 3, "three distinct numbers: {numbers:?}");

    pool.close().await;
    shut_down(env, [service]).await?;
    Ok(())
}

/// The 99999th number of the day is the last: the next submission is refused with UNAVAILABLE
/// and takes nothing; a retry of an accepted submission still answers with its number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_limit_refuses_with_unavailable() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(service.port(), &clerk);
    let mut intake = intake(service.port(), &clerk);
    let pool = sqlx::PgPool::connect(env.database_url()).await?;

    let first = submit_request(&mut catalog, "first", "GJJ-TQ-TX", "140105", Mode::Online).await?;
    intake.submit_case(first).await?;
    let moved = sqlx::query("UPDATE intake.case_number_sequences SET last_value = 99998")
        .execute(&pool)
        .await?;
    assert_eq!(moved.rows_affected(), 1, "one window, one day");

    let last = submit_request(&mut catalog, "last", "GJJ-TQ-TX", "140105", Mode::Online).await?;
    let accepted = intake.submit_case(last.clone()).await?.into_inner();
    assert!(
        accepted.case_number.contains("-99999-"),
        "{}",
        accepted.case_number
    );

    let over = submit_request(&mut catalog, "over", "GJJ-TQ-TX", "140105", Mode::Online).await?;
    for _ in 0..2 {
        let refused = intake
            .submit_case(over.clone())
            .await
            .expect_err("the day's numbers are used up");
        assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    }
    let again = intake.submit_case(last).await?.into_inner();
    assert_eq!(again.case_number, accepted.case_number);
    let value: i32 = sqlx::query_scalar("SELECT last_value FROM intake.case_number_sequences")
        .fetch_one(&pool)
        .await?;
    assert_eq!(value, 99_999, "a refusal takes no number");

    pool.close().await;
    shut_down(env, [service]).await?;
    Ok(())
}
