//! 审计链 against a running intake (issue 16 item 4): the audit log is hash-chained in the
//! background and sealed by SM2-signed checkpoints; the CLI's verification (`tongban audit
//! verify`, through `tongban_cli::audit::verify_service`) names a row edited directly in
//! PostgreSQL, a deleted row, and a checkpoint whose signature was tampered with; an auditor
//! pages through a case's audit and other roles are refused.

use std::path::PathBuf;

use sqlx::Row as _;
use tongban_cert::audit_chain::Finding;
use tongban_cli::Ctx;
use tongban_cli::client::{Endpoints, Service};
use tongban_cli::output::Lang;
use tongban_e2e::{Intake, WINDOW, catalog, intake, shut_down, start, submit_request};
use tongban_proto::common::v1::Mode;
use tongban_proto::ops::v1::ListAuditEntriesRequest;
use tongban_proto::ops::v1::audit_service_client::AuditServiceClient;
use tongban_runtime::auth::Role;
use tongban_testkit::{Bearer, TestEnv, channel};
use tonic::Code;

use crate::TestResult;

/// The CLI's context for an auditor against intake on `port`.
fn auditor_ctx(env: &TestEnv, port: u16) -> Ctx {
    let url = format!("http://127.0.0.1:{port}");
    Ctx {
        lang: Lang::En,
        json: true,
        token: Some(env.mint(Role::Auditor, "140922")),
        endpoints: Endpoints {
            intake: url.clone(),
            review: url.clone(),
            certificate: url.clone(),
            logistics: url.clone(),
            hotline: url.clone(),
            supervision: url,
            tls_ca: None,
        },
    }
}

/// Runs `statement` on intake's schema with the audit triggers off, as a DBA with superuser
/// rights could.
async fn tamper(env: &TestEnv, statement: &str) -> Result<u64, sqlx::Error> {
    let pool = sqlx::PgPool::connect(env.database_url()).await?;
    let mut conn = pool.acquire().await?;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut *conn)
        .await?;
    // The connection goes back to the pool before the pool closes (close waits for it).
    drop(conn);
    pool.close().await;
    Ok(done.rows_affected())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_chain_names_an_edited_row_a_deleted_row_and_a_forged_checkpoint() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let port = service.port();
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(port, &clerk);
    for n in 0..3 {
        let request = submit_request(
            &mut catalog,
            &format!("audit-{n}"),
            "GA-HJ-ZM",
            "640104",
            Mode::Online,
        )
        .await?;
        intake(port, &clerk).submit_case(request).await?;
    }
    let state_dir: PathBuf = env.settings("intake").state_dir;
    assert!(
        state_dir.join("audit-intake.pub").exists(),
        "the service pins its public key for auditors"
    );
    let ctx = auditor_ctx(&env, port);

    // Sealed on request: every entry chained and covered by a checkpoint that verifies with the
    // pinned key.
    let verdict =
        tongban_cli::audit::verify_service(&ctx, Service::Intake, &state_dir, true).await?;
    assert_eq!(verdict.report.finding, None, "{verdict:?}");
    assert!(verdict.pinned);
    assert!(verdict.chain_len >= 3, "{verdict:?}");
    assert_eq!(verdict.report.entries, verdict.chain_len);
    assert_eq!(verdict.report.sealed_seq, i64::try_from(verdict.chain_len)?);
    let pool = sqlx::PgPool::connect(env.database_url()).await?;
    let published: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM intake.outbox WHERE subject = 'audit.checkpointed'",
    )
    .fetch_one(&pool)
    .await?;
    assert!(published >= 1, "the checkpoint is published as an event");

    // The chain's second entry, edited in place.
    let row = sqlx::query(
        "SELECT c.audit_id, a.actor FROM intake.audit_chain c
         JOIN intake.audit_log a ON a.id = c.audit_id WHERE c.seq = 2",
    )
    .fetch_one(&pool)
    .await?;
    let audit_id: i64 = row.try_get("audit_id")?;
    let actor: String = row.try_get("actor")?;
    tamper(
        &env,
        &format!("UPDATE intake.audit_log SET actor = 'someone-else' WHERE id = {audit_id}"),
    )
    .await?;
    let verdict =
        tongban_cli::audit::verify_service(&ctx, Service::Intake, &state_dir, false).await?;
    assert_eq!(
        verdict.report.finding,
        Some(Finding::Altered { seq: 2, audit_id }),
        "{verdict:?}"
    );
    let text = tongban_cli::audit::verdicts_view(Lang::En, std::slice::from_ref(&verdict));
    assert!(
        text.contains(&format!("entry 2 (audit row {audit_id}) was altered")),
        "{text}"
    );

    // Put back, the chain verifies again; then the third entry's row is deleted.
    tamper(
        &env,
        &format!("UPDATE intake.audit_log SET actor = '{actor}' WHERE id = {audit_id}"),
    )
    .await?;
    let verdict =
        tongban_cli::audit::verify_service(&ctx, Service::Intake, &state_dir, false).await?;
    assert_eq!(verdict.report.finding, None, "{verdict:?}");
    let third: i64 = sqlx::query_scalar("SELECT audit_id FROM intake.audit_chain WHERE seq = 3")
        .fetch_one(&pool)
        .await?;
    assert_eq!(
        tamper(
            &env,
            &format!("DELETE FROM intake.audit_log WHERE id = {third}")
        )
        .await?,
        1
    );
    let verdict =
        tongban_cli::audit::verify_service(&ctx, Service::Intake, &state_dir, false).await?;
    assert_eq!(
        verdict.report.finding,
        Some(Finding::Missing {
            seq: 3,
            audit_id: Some(third)
        }),
        "{verdict:?}"
    );

    // Deleting the chain's record of it too leaves a gap the verifier names.
    tamper(&env, "DELETE FROM intake.audit_chain WHERE seq = 3").await?;
    let verdict =
        tongban_cli::audit::verify_service(&ctx, Service::Intake, &state_dir, false).await?;
    assert_eq!(
        verdict.report.finding,
        Some(Finding::Missing {
            seq: 3,
            audit_id: None
        }),
        "{verdict:?}"
    );

    // A checkpoint whose signature was tampered with.
    tamper(
        &env,
        "UPDATE intake.audit_checkpoint SET signature = set_byte(signature, 0, get_byte(signature, 0) # 1)",
    )
    .await?;
    let verdict =
        tongban_cli::audit::verify_service(&ctx, Service::Intake, &state_dir, false).await?;
    assert!(
        matches!(verdict.report.finding, Some(Finding::BadSignature { .. })),
        "{verdict:?}"
    );
    pool.close().await;
    shut_down(env, [service]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_pages_through_a_case_and_other_roles_are_refused() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let port = service.port();
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(port, &clerk);
    let request = submit_request(
        &mut catalog,
        "audit-page",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    let case = intake(port, &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    let other = submit_request(
        &mut catalog,
        "audit-other",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    intake(port, &clerk).submit_case(other).await?;

    let ctx = auditor_ctx(&env, port);
    let all = tongban_cli::audit::case_entries(&ctx, &case.case_id, &[Service::Intake]).await?;
    assert!(!all.is_empty(), "submission leaves an audit entry");
    assert!(
        all.iter()
            .all(|e| e.case_id == case.case_id || e.entity_id == case.case_id),
        "only the case's entries: {all:?}"
    );

    // One entry per page: the pages, joined, are the whole listing.
    let mut auditor = AuditServiceClient::with_interceptor(
        channel(port),
        Bearer::new(&env.mint(Role::Auditor, "140922")).with_language("en"),
    );
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = auditor
            .list_audit_entries(ListAuditEntriesRequest {
                case_id: case.case_id.clone(),
                page_token: token,
                page_size: 1,
            })
            .await?
            .into_inner();
        assert!(page.entries.len() <= 1);
        paged.extend(page.entries);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let ids =
        |v: &[tongban_proto::ops::v1::AuditEntry]| v.iter().map(|e| e.audit_id).collect::<Vec<_>>();
    assert_eq!(ids(&paged), ids(&all));

    // A bad page token is named.
    let refused = auditor
        .list_audit_entries(ListAuditEntriesRequest {
            case_id: case.case_id.clone(),
            page_token: "next".to_owned(),
            page_size: 1,
        })
        .await
        .expect_err("bad token");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("page_token"),
        "{}",
        refused.message()
    );

    for (role, office) in [
        (Role::Clerk, WINDOW),
        (Role::Admin, "140922"),
        (Role::Supervisor, "140922"),
        (Role::Reviewer, "640100-gongan"),
    ] {
        let mut client = AuditServiceClient::with_interceptor(
            channel(port),
            Bearer::new(&env.mint(role, office)),
        );
        let refused = client
            .list_audit_entries(ListAuditEntriesRequest {
                case_id: case.case_id.clone(),
                ..Default::default()
            })
            .await
            .expect_err("not an auditor");
        assert_eq!(
            refused.code(),
            Code::PermissionDenied,
            "{role:?}: {refused:?}"
        );
    }
    shut_down(env, [service]).await?;
    Ok(())
}
