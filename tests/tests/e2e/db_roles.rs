//! One PostgreSQL role per service (`deploy/lib/pg_roles.sh`, what `deploy/up.sh` runs): intake
//! and review migrate and serve as their own roles; afterwards the intake role can add to its
//! audit log but not change, delete, truncate or unprotect it, and cannot read review's schema
//! or create schemas.

use std::path::Path;

use sqlx::Connection as _;
use tongban_e2e::{Intake, Review, WINDOW};
use tongban_proto::common::v1::Mode;
use tongban_runtime::auth::Role;
use tongban_testkit::{Running, TestEnv};

use crate::TestResult;

/// Runs `deploy/lib/pg_roles.sh args…` with the role prefix `prefix`; its stdout.
fn pg_roles(prefix: &str, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/lib/pg_roles.sh");
    let output = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .env("TONGBAN_PG_ROLE_PREFIX", prefix)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "pg_roles.sh {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// The SQLSTATE `sql` fails with on `conn`, or "ok" when it succeeds.
async fn sqlstate(conn: &mut sqlx::PgConnection, sql: &'static str) -> String {
    match sqlx::raw_sql(sql).execute(&mut *conn).await {
        Ok(_) => "ok".to_owned(),
        Err(sqlx::Error::Database(db)) => db.code().map_or_else(String::new, |c| c.into_owned()),
        Err(other) => format!("{other}"),
    }
}

#[tokio::test]
async fn each_service_has_its_own_role_and_cannot_change_its_audit_log() -> TestResult {
    let env = TestEnv::new().await?;
    let admin = env.settings("intake").database_url;
    let prefix = format!("tb{}_", &env.id()[..12]);
    let passwords = env.settings("intake").state_dir.join("pg");
    let passwords = passwords.to_str().ok_or("state dir is not UTF-8")?;
    let outcome = async {
        pg_roles(&prefix, &["roles", &admin, passwords, "intake", "review"])?;
        let intake_url = pg_roles(&prefix, &["url", &admin, passwords, "intake"])?;
        let review_url = pg_roles(&prefix, &["url", &admin, passwords, "review"])?;
        assert!(intake_url.starts_with(&format!("postgres://{prefix}intake:")));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(Path::new(passwords).join("intake.password"))?.permissions(),
        );
        assert_eq!(
            mode & 0o077,
            0,
            "the password file is readable by others: {mode:o}"
        );

        // Both services migrate and serve as their own roles.
        let mut settings = env.settings(tongban_intake::SERVICE);
        settings.database_url.clone_from(&intake_url);
        let intake = Running::start::<Intake>(settings).await?;
        let mut settings = env.settings(tongban_review::SERVICE);
        settings.database_url.clone_from(&review_url);
        let review = Running::start::<Review>(settings).await?;
        pg_roles(&prefix, &["lock-audit", &admin, "intake", "review"])?;

        // After the lock-down intake still takes steps (each adds to its audit log).
        let clerk = env.mint(Role::Clerk, WINDOW);
        let mut catalog = tongban_e2e::catalog(intake.port(), &clerk);
        let request = tongban_e2e::submit_request(
            &mut catalog,
            &format!("roles-{}", uuid::Uuid::new_v4().simple()),
            tongban_e2e::GZDD,
            tongban_e2e::HOME,
            Mode::Online,
        )
        .await?;
        let accepted = tongban_e2e::intake(intake.port(), &clerk)
            .submit_case(request)
            .await?
            .into_inner();
        assert!(!accepted.case_id.is_empty());

        let mut conn = sqlx::PgConnection::connect(&intake_url).await?;
        let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM intake.audit_log")
            .fetch_one(&mut conn)
            .await?;
        assert!(audited > 0, "the submission was not audited");
        assert_eq!(
            sqlstate(
                &mut conn,
                "INSERT INTO intake.audit_log (actor, role, office_id, action, entity, entity_id) \
                 VALUES ('t', 'admin', 'x', 'probe', 'case', 'x')"
            )
            .await,
            "ok"
        );
        // 42501: insufficient privilege (also "must be owner").
        for sql in [
            "UPDATE intake.audit_log SET actor = 'forged'",
            "DELETE FROM intake.audit_log",
            "TRUNCATE intake.audit_log",
            "ALTER TABLE intake.audit_log DISABLE TRIGGER ALL",
            "DROP TABLE intake.audit_log",
            "CREATE OR REPLACE FUNCTION intake.audit_log_is_append_only() RETURNS trigger \
             LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$",
            "SELECT count(*) FROM review.assignments",
            "CREATE SCHEMA elsewhere",
        ] {
            assert_eq!(sqlstate(&mut conn, sql).await, "42501", "{sql}");
        }
        // Its own tables it reads and writes as usual.
        assert_eq!(
            sqlstate(&mut conn, "SELECT count(*) FROM intake.cases").await,
            "ok"
        );
        conn.close().await?;

        intake.stop().await?;
        review.stop().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;
    env.cleanup().await?;
    // The roles are cluster-wide: remove them once their database is gone.
    let mut admin = sqlx::PgConnection::connect(
        &std::env::var("TONGBAN_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
    )
    .await?;
    for svc in ["intake", "review"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP ROLE IF EXISTS {prefix}{svc}"
        )))
        .execute(&mut admin)
        .await?;
    }
    outcome
}
