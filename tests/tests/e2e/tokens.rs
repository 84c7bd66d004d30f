//! Bearer tokens against a running intake (issue 13 item 13): a token revoked while the service
//! runs is refused from the next request on, and so are tokens of an office outside the
//! directory and tokens signed by another deployment's key.

use std::time::Duration;

use tongban_e2e::{Intake, WINDOW, catalog, shut_down, start};
use tongban_proto::catalog::v1::ListOfficesRequest;
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_runtime::auth::{Role, TokenKeys};
use tongban_testkit::{Bearer, TestEnv, channel};
use tonic::Code;

use crate::TestResult;

/// The answer of a running intake to `ListOffices` with `token`, asked in English.
async fn list_offices(port: u16, token: &str) -> Result<usize, tonic::Status> {
    let mut client = CatalogServiceClient::with_interceptor(
        channel(port),
        Bearer::new(token).with_language("en"),
    );
    let offices = client
        .list_offices(ListOfficesRequest {
            division_prefix: "140922".to_owned(),
            ..Default::default()
        })
        .await?;
    Ok(offices.into_inner().offices.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_unknown_office_and_foreign_tokens_are_refused_by_a_running_intake() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let port = service.port();
    let revoked = env.mint(Role::Clerk, WINDOW);
    let kept = env.mint(Role::Clerk, WINDOW);
    assert!(list_offices(port, &revoked).await? > 0);
    assert!(
        catalog(port, &kept)
            .list_offices(ListOfficesRequest::default())
            .await
            .is_ok()
    );

    // Revoked while the service runs: refused on the next request (system clock, no restart).
    env.revoke(&revoked)?;
    let refused = list_offices(port, &revoked).await.expect_err("revoked");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(
        refused.message().contains("revoked"),
        "{}",
        refused.message()
    );
    assert!(list_offices(port, &kept).await.is_ok());

    // An office the directory does not know.
    let stranger = env.mint(Role::Reviewer, "999999-gongan");
    let refused = list_offices(port, &stranger)
        .await
        .expect_err("unknown office");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(
        refused.message().contains("999999-gongan"),
        "{}",
        refused.message()
    );

    // Another deployment's key: refused by key id.
    let other = TokenKeys::generate()?;
    let foreign = TestEnv::mint_with(&other, Role::Clerk, WINDOW, Duration::from_secs(600))?;
    let refused = list_offices(port, &foreign).await.expect_err("foreign key");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(
        refused.message().contains(other.key_id()),
        "{}",
        refused.message()
    );
    // And nobody mints a day-long token.
    assert!(
        TestEnv::mint_with(&other, Role::Admin, "140922", Duration::from_secs(86_400)).is_err()
    );

    shut_down(env, [service]).await?;
    Ok(())
}
