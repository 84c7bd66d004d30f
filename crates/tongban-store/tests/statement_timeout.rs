//! Every pool connection carries a statement timeout: a statement that runs too long is
//! cancelled by PostgreSQL instead of holding its connection and locks.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::time::Duration;

use sqlx::Connection as _;

fn admin_url() -> String {
    std::env::var("TONGBAN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[tokio::test]
async fn a_statement_over_the_timeout_is_cancelled() {
    // A schema of its own in the shared database, dropped at the end.
    let schema = format!("timeout_{}", uuid::Uuid::new_v4().simple());
    let pool =
        tongban_store::connect_with_timeout(&admin_url(), &schema, 1, Duration::from_millis(200))
            .await
            .unwrap();
    let slow = sqlx::query("SELECT pg_sleep(2)").execute(&pool).await;
    let code = match &slow {
        Err(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    // 57014: query_canceled (statement timeout).
    assert_eq!(code.as_deref(), Some("57014"), "{slow:?}");
    let quick: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(quick, 1);
    pool.close().await;

    let default = tongban_store::connect(&admin_url(), &schema, 1)
        .await
        .unwrap();
    let shown: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&default)
        .await
        .unwrap();
    assert_eq!(shown, "30s");
    default.close().await;

    let mut admin = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .unwrap();
}
