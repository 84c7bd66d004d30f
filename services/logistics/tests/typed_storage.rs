//! A stored waybill whose status the domain does not know is an error, never a default: the
//! API answers INTERNAL with a reference id, and the simulated carrier skips it (logged and
//! counted) while still moving the others.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is the test failing.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use tongban_domain::logistics::TrackingNumber;
use tongban_proto::logistics::v1 as pb;
use tongban_proto::logistics::v1::logistics_service_client::LogisticsServiceClient;
use tongban_runtime::auth::Role;
use tongban_runtime::clock::Clock as _;
use tongban_testkit::{Bearer, TestEnv, channel, eventually};
use uuid::Uuid;

async fn store_waybill(pool: &PgPool, serial: u64, status: &str, at: DateTime<Utc>) -> String {
    let number = TrackingNumber::from_serial(serial).as_str().to_owned();
    let party = serde_json::json!({
        "office_id": "140922-gongan", "name": "五台县公安局", "division": "140922",
        "address": "山西省忻州市五台县", "phone": ""
    });
    sqlx::query(
        "INSERT INTO waybills (tracking_number, case_id, case_number, purpose, status, furthest,
            sender, recipient, material_codes, fee_fen, carrier, created_by, created_at,
            updated_at)
         VALUES ($1, $2, 'TEST-1', 'other', $3, 'created', $4, $4, '[\"RESULT\"]', 0,
            'simulated', 'test', $5, $5)",
    )
    .bind(&number)
    .bind(Uuid::now_v7())
    .bind(status)
    .bind(&party)
    .bind(at)
    .execute(pool)
    .await
    .unwrap();
    number
}

async fn status_of(pool: &PgPool, number: &str) -> String {
    sqlx::query_scalar("SELECT status FROM waybills WHERE tracking_number = $1")
        .bind(number)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stored_status_the_domain_does_not_know_is_an_error() {
    let env = TestEnv::new().await.unwrap();
    let service = env.spawn::<tongban_logistics::Application>().await.unwrap();
    let pool = tongban_store::connect(env.database_url(), "logistics", 2)
        .await
        .unwrap();
    let now = env.clock().now();
    let bad = store_waybill(&pool, 1, "teleported", now).await;
    let good = store_waybill(&pool, 2, "created", now).await;

    // The API: INTERNAL with a reference id, not a waybill shown as 已下单.
    // The carrier the waybills were given to (another carrier would not see them).
    let token = env.mint(Role::Carrier, tongban_logistics::carrier::SIMULATED);
    let mut client = LogisticsServiceClient::with_interceptor(
        channel(service.port()),
        Bearer::new(&token).with_language("en"),
    );
    let err = client
        .get_waybill(pb::GetWaybillRequest {
            tracking_number: bad.clone(),
        })
        .await
        .expect_err("a waybill that does not decode");
    assert_eq!(err.code(), tonic::Code::Internal);
    assert!(err.message().contains("(ref "), "{}", err.message());
    let shown = client
        .get_waybill(pb::GetWaybillRequest {
            tracking_number: good.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shown.status(), pb::WaybillStatus::Created);

    // The simulated carrier: the good waybill is delivered, the bad one is left alone.
    env.clock().advance(TimeDelta::days(3));
    eventually(Duration::from_secs(20), || async {
        (status_of(&pool, &good).await == "delivered").then_some(())
    })
    .await
    .unwrap();
    assert_eq!(status_of(&pool, &bad).await, "teleported");
    let applied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tracking_events WHERE tracking_number = $1")
            .bind(&bad)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        applied, 0,
        "nothing recorded for a waybill that does not decode"
    );

    pool.close().await;
    service.stop().await.unwrap();
    env.cleanup().await.unwrap();
}
