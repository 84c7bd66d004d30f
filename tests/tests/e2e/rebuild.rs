//! Read-model rebuild (读模型重建) end to end: cases run through intake, review, the hotline and
//! supervision; then each of the hotline and supervision rebuilds its read model into a fresh
//! schema from the producers' outbox tables, and the rebuilt tables equal the live ones row by
//! row.
//!
//! Columns left out of the comparison, because they legitimately differ:
//! - `updated_at` (hotline `case_status`, supervision `case_clocks`): the write's own `now()`;
//! - `id` of hotline `case_timeline`: a sequence, numbered in the order the rows were written,
//!   which interleaves cases differently live (several lanes) and in a rebuild (one);
//! - `traceparent`, `tracestate` of supervision `case_clocks`: the span the write ran in;
//! - the evaluation loop's marks on a supervision clock (`next_check_at`, `case_breached`, and
//!   each deadline's `warned` and `breached` inside `tracked`): they record when the loop ran,
//!   not what the events said, and are not part of the read model.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::types::JsonValue;
use tongban_e2e::{
    Hotline, Intake, Review, Supervision, WINDOW, YINCHUAN_GONGAN, catalog, claim, decide_request,
    hotline, hotline_until, intake, listed_until, review, shut_down, start, submit_request,
};
use tongban_proto::common::v1::{CaseStatus, ChecklistItem, Decision, Mode};
use tongban_proto::intake::v1::WithdrawCaseRequest;
use tongban_proto::ops::v1::operations_service_client::OperationsServiceClient;
use tongban_proto::ops::v1::{RebuildReadModelRequest, RebuildReadModelResponse};
use tongban_runtime::auth::Role;
use tongban_testkit::{Bearer, TestEnv, channel, eventually};
use tonic::Code;

use crate::TestResult;

/// How long the live consumers get to catch up with what the rebuild read.
const CATCH_UP: Duration = Duration::from_secs(30);

/// Every row of `schema.table` as JSON text without the `ignored` columns, sorted. A
/// `tracked` column (a supervision clock) loses each deadline's `warned` and `breached` marks.
async fn rows(
    pool: &PgPool,
    schema: &str,
    table: &str,
    ignored: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let ignored: Vec<String> = ignored.iter().map(|c| (*c).to_owned()).collect();
    // Test-made names: plain identifiers.
    let rows: Vec<JsonValue> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT to_jsonb(t) - $1::text[] FROM \"{schema}\".\"{table}\" t"
    )))
    .bind(ignored)
    .fetch_all(pool)
    .await?;
    let mut rows: Vec<String> = rows
        .into_iter()
        .map(|mut row| {
            let deadlines = row
                .get_mut("tracked")
                .and_then(|t| t.get_mut("deadlines"))
                .and_then(JsonValue::as_array_mut);
            for deadline in deadlines.into_iter().flatten() {
                if let Some(deadline) = deadline.as_object_mut() {
                    deadline.remove("warned");
                    deadline.remove("breached");
                }
            }
            row.to_string()
        })
        .collect();
    rows.sort();
    Ok(rows)
}

/// The inbox of `schema`: (consumer, event id, subject), sorted.
async fn inbox(pool: &PgPool, schema: &str) -> Result<Vec<String>, sqlx::Error> {
    rows(pool, schema, "inbox", &["received_at"]).await
}

/// Rows not yet published in any outbox of the database.
async fn unpublished(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'outbox'",
    )
    .fetch_all(pool)
    .await?;
    let mut total = 0;
    for schema in schemas {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{schema}\".outbox WHERE published_at IS NULL"
        )))
        .fetch_one(pool)
        .await?;
        total += n;
    }
    Ok(total)
}

/// Rebuilds `service`'s read model (ops on `port`) into `schema`, waits until the live schema
/// `live` has taken every event the rebuild applied, and compares each table (without its
/// `ignored` columns) row by row.
async fn rebuild_and_compare(
    env: &TestEnv,
    pool: &PgPool,
    port: u16,
    live: &str,
    schema: &str,
    tables: &[(&str, &[&str])],
) -> Result<RebuildReadModelResponse, Box<dyn std::error::Error>> {
    let mut ops = OperationsServiceClient::with_interceptor(
        channel(port),
        Bearer::new(&env.mint(Role::Admin, WINDOW)),
    );
    let rebuilt = ops
        .rebuild_read_model(RebuildReadModelRequest {
            schema: schema.to_owned(),
            producer_schemas: Vec::new(),
        })
        .await?
        .into_inner();
    assert_eq!(rebuilt.schema, schema);
    assert!(rebuilt.events_read > 0, "{rebuilt:?}");
    for consumer in &rebuilt.consumers {
        assert_eq!(consumer.rejected, 0, "{rebuilt:?}");
        assert_eq!(consumer.failed, 0, "{rebuilt:?}");
    }
    // The live consumers may still be behind: the rebuild read every published event, and no
    // new one comes, so the live inbox reaches the rebuilt one.
    let want = inbox(pool, schema).await?;
    let caught_up = eventually(CATCH_UP, || async {
        match inbox(pool, live).await {
            Ok(have) if have == want => Some(()),
            _ => None,
        }
    })
    .await;
    assert!(
        caught_up.is_ok(),
        "the live inbox of {live} never matched the rebuilt one: {:?} vs {want:?}",
        inbox(pool, live).await?
    );
    for (table, ignored) in tables {
        let live_rows = rows(pool, live, table, ignored).await?;
        let rebuilt_rows = rows(pool, schema, table, ignored).await?;
        assert_eq!(
            live_rows, rebuilt_rows,
            "{live}.{table} differs from its rebuild {schema}.{table}"
        );
        let counted = rebuilt
            .read_model
            .iter()
            .find(|t| t.table == *table)
            .map(|t| t.rows);
        assert_eq!(
            counted,
            Some(u64::try_from(rebuilt_rows.len())?),
            "{rebuilt:?}"
        );
    }
    Ok(rebuilt)
}

/// Three cases (one completed, one withdrawn, one open) through intake, review, the hotline and
/// supervision; both read models rebuilt into fresh schemas equal the live ones; a second
/// rebuild into an existing schema and a bad schema name are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_rebuild_equal_to_the_live_ones() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc, supervision_svc]) =
        start::<(Intake, Review, Hotline, Supervision)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut window = intake(intake_svc.port(), &clerk);
    let mut inbox_client = review(
        review_svc.port(),
        &env.mint(Role::Reviewer, YINCHUAN_GONGAN),
    );
    let calls = hotline(hotline_svc.port(), &env.mint(Role::Hotline, "12345"));

    let template = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "rebuild",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    let mut submit = async |key: &str| {
        let mut request = template.clone();
        request.idempotency_key = key.to_owned();
        window.submit_case(request).await.map(|r| r.into_inner())
    };
    let done = submit("rebuild-done").await?;
    let gone = submit("rebuild-withdrawn").await?;
    let open = submit("rebuild-open").await?;

    listed_until(&inbox_client, &done.case_id, "the case reaches the inbox").await?;
    inbox_client.claim_case(claim(&done.case_id)).await?;
    let point = |code: &str| ChecklistItem {
        review_point_code: code.to_owned(),
        passed: true,
        note: "核查无误".to_owned(),
    };
    inbox_client
        .decide_case(decide_request(
            &done.case_id,
            Decision::Approve,
            "符合条件，准予出具",
            vec![point("R1"), point("R2"), point("R3")],
        ))
        .await?;
    window
        .withdraw_case(WithdrawCaseRequest {
            case_id: gone.case_id.clone(),
            reason: "申请人不再需要".to_owned(),
        })
        .await?;
    for (number, want) in [
        (&done.case_number, CaseStatus::Completed),
        (&gone.case_number, CaseStatus::Withdrawn),
    ] {
        hotline_until(
            &calls,
            number,
            "the hotline sees the final status",
            |view| view.status() == want,
        )
        .await?;
    }
    hotline_until(
        &calls,
        &open.case_number,
        "the hotline sees the open case",
        |view| view.status() != CaseStatus::Submitted,
    )
    .await?;

    // Everything written is published: the rebuild reads the whole log.
    let pool = PgPool::connect(env.database_url()).await?;
    let published = eventually(CATCH_UP, || async {
        (unpublished(&pool).await.ok() == Some(0)).then_some(())
    })
    .await;
    assert!(published.is_ok(), "outbox rows stayed unpublished");

    let hotline_rebuilt = rebuild_and_compare(
        &env,
        &pool,
        hotline_svc.port(),
        "hotline",
        "hotline_rebuilt",
        &[
            ("case_status", &["updated_at"]),
            ("case_timeline", &["id"]),
            ("waybills", &[]),
        ],
    )
    .await?;
    let case_status = hotline_rebuilt
        .read_model
        .iter()
        .find(|t| t.table == "case_status")
        .map(|t| t.rows);
    assert_eq!(case_status, Some(3), "{hotline_rebuilt:?}");

    let supervision_rebuilt = rebuild_and_compare(
        &env,
        &pool,
        supervision_svc.port(),
        "supervision",
        "supervision_rebuilt",
        &[(
            "case_clocks",
            &[
                "updated_at",
                "traceparent",
                "tracestate",
                "next_check_at",
                "case_breached",
            ],
        )],
    )
    .await?;
    let clocks = supervision_rebuilt
        .read_model
        .iter()
        .find(|t| t.table == "case_clocks")
        .map(|t| t.rows);
    assert!(clocks.is_some_and(|n| n >= 2), "{supervision_rebuilt:?}");

    // A schema that exists is never overwritten; a name that is no identifier is refused.
    let mut ops = OperationsServiceClient::with_interceptor(
        channel(hotline_svc.port()),
        Bearer::new(&env.mint(Role::Admin, WINDOW)),
    );
    let again = ops
        .rebuild_read_model(RebuildReadModelRequest {
            schema: "hotline_rebuilt".to_owned(),
            producer_schemas: Vec::new(),
        })
        .await
        .expect_err("an existing schema is refused");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    let bad = ops
        .rebuild_read_model(RebuildReadModelRequest {
            schema: "Hotline; DROP".to_owned(),
            producer_schemas: Vec::new(),
        })
        .await
        .expect_err("a bad name is refused");
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    assert!(bad.message().contains("schema"), "{bad:?}");
    // Intake keeps no separable read model.
    let mut intake_ops = OperationsServiceClient::with_interceptor(
        channel(intake_svc.port()),
        Bearer::new(&env.mint(Role::Admin, WINDOW)),
    );
    let none = intake_ops
        .rebuild_read_model(RebuildReadModelRequest {
            schema: "intake_rebuilt".to_owned(),
            producer_schemas: Vec::new(),
        })
        .await
        .expect_err("intake has no rebuildable read model");
    assert_eq!(none.code(), Code::FailedPrecondition, "{none:?}");

    pool.close().await;
    shut_down(env, [supervision_svc, hotline_svc, review_svc, intake_svc]).await?;
    Ok(())
}
