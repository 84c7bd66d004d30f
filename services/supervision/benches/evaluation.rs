//! Benchmark: one evaluation pass of the supervisor over 1,000,000 open cases.
//!
//! ```text
//! cargo bench -p tongban-supervision --bench evaluation
//! ```
//!
//! Seeds a schema of its own (`supervision_bench`, dropped at the end) in the database of
//! `TONGBAN_BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) with
//! `TONGBAN_BENCH_CASES` open cases (default 1,000,000), of which `TONGBAN_BENCH_DUE` (default
//! 1,000) have a breach due now, the others due over the next 60 days. Then it times:
//! - the query that finds every case with something due (the `next_check_at` index), and its plan;
//! - one full pass (alerts, outbox events, 督办 tickets for the due cases);
//! - a second pass, with nothing left to raise;
//!
//! and prints the process's peak resident memory. The figures are in the README.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeDelta, TimeZone as _, Utc};
use sqlx::Row as _;
use tongban_domain::reference::ReferenceData;
use tongban_supervision::clock::{StageShare, Tracked};
use tongban_supervision::{Config, Evaluator};

const SCHEMA: &str = "supervision_bench";

fn env_number(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n: &i64| *n > 0)
        .unwrap_or(default)
}

/// Peak and current resident memory of this process, in MiB (Linux `/proc/self/status`).
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("TONGBAN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let cases = env_number("TONGBAN_BENCH_CASES", 1_000_000);
    let due_now = env_number("TONGBAN_BENCH_DUE", 1_000).min(cases);
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let reference = Arc::new(ReferenceData::load(&deploy)?);

    let admin = tongban_store::connect(&url, "public", 2).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"
    )))
    .execute(&admin)
    .await?;
    let pool = tongban_store::connect(&url, SCHEMA, 8).await?;
    tongban_store::migrate(&pool, tongban_supervision::migrator()).await?;

    // "Now": a Wednesday in 2026; the due cases were accepted two weeks earlier with 5 working
    // days, the others are due within the next 60 days.
    let now = chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|tz| tz.with_ymd_and_hms(2026, 6, 17, 10, 0, 0).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| anyhow::anyhow!("fixed moment"))?;
    let stages = vec![
        StageShare {
            code: "accept".into(),
            days: 1,
        },
        StageShare {
            code: "review".into(),
            days: 3,
        },
        StageShare {
            code: "decide".into(),
            days: 1,
        },
    ];
    let mut overdue = Tracked::new(now - TimeDelta::days(14), 5, stages.clone());
    overdue.recompute(&reference.calendar, 1)?;
    let mut running = Tracked::new(now, 20, stages);
    running.recompute(&reference.calendar, 1)?;

    println!("seeding {cases} open cases ({due_now} with a breach due now)…");
    let seeding = Instant::now();
    sqlx::query(
        "INSERT INTO case_clocks (case_id, case_number, matter_code, scope, mode,
            window_office_id, responsible_office_id, accepted_at, tracked, due_at, next_check_at)
         SELECT gen_random_uuid(), 'BENCH-' || i, 'GA-HJ-ZM', 'province_wide', 'online',
            '140900-zwfw', '140922-gongan', $1,
            CASE WHEN i <= $3 THEN $4::jsonb ELSE $5::jsonb END,
            $2 + make_interval(secs => (i % 5184000)),
            CASE WHEN i <= $3 THEN $2 - interval '1 hour'
                 ELSE $2 + make_interval(secs => 60 + (i * 7919) % 5184000) END
         FROM generate_series(1, $6::bigint) AS i",
    )
    .bind(now)
    .bind(now)
    .bind(due_now)
    .bind(serde_json::to_value(&overdue)?)
    .bind(serde_json::to_value(&running)?)
    .bind(cases)
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE case_clocks").execute(&pool).await?;
    println!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    let plan: Vec<String> = sqlx::query(
        "EXPLAIN SELECT case_id FROM case_clocks WHERE next_check_at <= $1
         ORDER BY next_check_at LIMIT 500 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .fetch_all(&pool)
    .await?
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    println!("plan of the due query:\n  {}", plan.join("\n  "));

    let finding = Instant::now();
    let found: i64 =
        sqlx::query_scalar("SELECT count(*) FROM case_clocks WHERE next_check_at <= $1")
            .bind(now)
            .fetch_one(&pool)
            .await?;
    let find_ms = finding.elapsed().as_secs_f64() * 1000.0;

    let evaluator = Evaluator::new(pool.clone(), reference, Config::default());
    let first = Instant::now();
    let report = evaluator.pass(now).await?;
    let first_ms = first.elapsed().as_secs_f64() * 1000.0;
    let second = Instant::now();
    let idle = evaluator.pass(now).await?;
    let second_ms = second.elapsed().as_secs_f64() * 1000.0;
    let (peak, current) = memory_mib();

    println!("cases open:                  {cases}");
    println!("found due (index count):     {found} in {find_ms:.1} ms");
    println!(
        "pass 1 (raise):              {first_ms:.1} ms — {} cases, {} breaches, {} warnings",
        report.cases, report.breaches, report.warnings
    );
    println!(
        "pass 2 (nothing due):        {second_ms:.1} ms — {} cases",
        idle.cases
    );
    println!("resident memory:             peak {peak:.0} MiB, now {current:.0} MiB");
    assert_eq!(found, due_now, "every due case found");
    assert_eq!(report.cases as i64, due_now, "every due case evaluated");

    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {SCHEMA} CASCADE")))
        .execute(&admin)
        .await?;
    Ok(())
}
