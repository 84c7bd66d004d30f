//! A stored status (or decision, or scope) that does not decode is an error, never a guess: the value is
//! written straight into PostgreSQL and QueryCaseStatus answers INTERNAL with a reference id
//! (the lookup is still audited). Run with `cargo test -p tongban-hotline --test stored_status`
//! (PostgreSQL and NATS as for the e2e tests).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use chrono::NaiveDate;
use tongban_domain::case_number::CaseNumber;
use tongban_domain::division::DivisionCode;
use tongban_proto::hotline::v1::QueryCaseStatusRequest;
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_runtime::auth::Role;
use tongban_runtime::pii::PiiKeys;
use tongban_runtime::verification::{VerificationKind, verification_digest};
use tongban_testkit::{Bearer, TestEnv, channel};
use uuid::Uuid;

const PHONE_TAIL: &str = "5678";

#[tokio::test]
async fn a_stored_status_or_decision_that_does_not_decode_is_an_error()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let service = env.spawn::<tongban_hotline::Application>().await?;
    let keys = PiiKeys::load_or_create(&env.settings("hotline").state_dir)?;
    let mut client = HotlineServiceClient::with_interceptor(
        channel(service.port()),
        Bearer::new(&env.mint(Role::Hotline, "12345")),
    );
    let pool = tongban_store::connect(env.database_url(), "hotline", 1).await?;
    let division = DivisionCode::parse("140922")?;
    let date = NaiveDate::from_ymd_opt(2026, 9, 14).unwrap();

    // A bad status, a bad decision, a bad scope: each fails the read.
    for (sequence, status, decision, scope) in [
        (1, "bogus", None, "cross_province"),
        (2, "approved", Some("maybe"), "cross_province"),
        (3, "claimed", None, "galaxy"),
    ] {
        let number = CaseNumber::new(&division, date, sequence)
            .as_str()
            .to_owned();
        let digest = verification_digest(&keys, VerificationKind::PhoneTail, &number, PHONE_TAIL);
        sqlx::query(
            "INSERT INTO case_status (case_id, case_number, matter_code, matter_name, scope, mode,
                 window_office_id, responsible_office_id, status, status_at, applicant_name_masked,
                 id_tail_digest, phone_tail_digest, accepted_at, decision)
             VALUES ($1, $2, 'GA-HJ-QY', '户口迁移', $6, 'online', '140922-zwfw',
                 '640100-gongan', $3, now(), '王*明', '', $4, now(), $5)",
        )
        .bind(Uuid::now_v7())
        .bind(&number)
        .bind(status)
        .bind(&digest)
        .bind(decision)
        .bind(scope)
        .execute(&pool)
        .await?;

        let refused = client
            .query_case_status(QueryCaseStatusRequest {
                case_number: number.clone(),
                verification: PHONE_TAIL.to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Internal, "{refused:?}");
        assert!(refused.message().contains("参考编号"), "{refused:?}");

        let audited: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM status_lookups WHERE case_number = $1 AND result = 'not_found'",
        )
        .bind(&number)
        .fetch_one(&pool)
        .await?;
        assert_eq!(
            audited, 0,
            "a row that does not decode is no failed verification"
        );
    }

    pool.close().await;
    service.stop().await?;
    env.cleanup().await?;
    Ok(())
}
