//! The case-event consumer rejects a delivery whose stored row does not decode: the bad status
//! is written straight into PostgreSQL and the handler is called with the next event.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::sync::Arc;

use chrono::Utc;
use sqlx::types::Json;
use tongban_bus::{EventHandler, HandleError};
use tongban_domain::case::CaseStatus;
use tongban_domain::reference::ReferenceData;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_runtime::pii::PiiKeys;
use tongban_testkit::TestEnv;
use uuid::Uuid;

use crate::events::CaseEvents;
use crate::repo::{self, StatusRow};
use crate::stored::{Stored, StoredOptional};
use crate::{MIGRATOR, SERVICE, State};

fn row(case_id: Uuid) -> StatusRow {
    let now = Utc::now();
    StatusRow {
        case_id,
        case_number: "14092220260914000001".to_owned(),
        matter_code: "GA-HJ-QY".to_owned(),
        matter_name: "户口迁移".to_owned(),
        scope: StoredOptional(None),
        mode: StoredOptional(None),
        window_office_id: "140922-zwfw".to_owned(),
        responsible_office_id: "640100-gongan".to_owned(),
        status: Stored(CaseStatus::Routed),
        status_at: now,
        applicant_name_masked: "王*明".to_owned(),
        id_tail_digest: String::new(),
        phone_tail_digest: String::new(),
        accepted_at: now,
        due_at: None,
        decision: None,
        decision_reason: None,
        parts: Json(Vec::new()),
        destination_division: String::new(),
        bundle_id: None,
        bundle_number: None,
        bundle_code: None,
        bundle_name: None,
    }
}

#[tokio::test]
async fn the_consumer_rejects_a_row_that_does_not_decode() {
    let env = TestEnv::new().await.unwrap();
    let settings = env.settings(SERVICE);
    let pool = tongban_store::connect(env.database_url(), SERVICE, 2)
        .await
        .unwrap();
    tongban_store::migrate(&pool, &MIGRATOR).await.unwrap();
    let state = State {
        reference: Arc::new(ReferenceData::load(&settings.deploy_dir).unwrap()),
        pool: pool.clone(),
        pii: Arc::new(PiiKeys::load_or_create(&settings.state_dir).unwrap()),
        clock: settings.clock.clone(),
        limiter: Arc::new(crate::throttle::LookupLimiter::new(crate::Limits::default())),
    };
    let case_id = Uuid::now_v7();
    let mut conn = pool.acquire().await.unwrap();
    repo::insert_case(&mut conn, &row(case_id)).await.unwrap();
    sqlx::query("UPDATE case_status SET status = 'bogus' WHERE case_id = $1")
        .bind(case_id)
        .execute(&mut *conn)
        .await
        .unwrap();

    let event = tongban_bus::new_event(
        case_id,
        "14092220260914000001",
        "review",
        "reviewer-1",
        Utc::now(),
        Body::CaseClaimed(ev::CaseClaimed::default()),
    );
    let mut tx = pool.begin().await.unwrap();
    let handled = CaseEvents::new(state)
        .handle(&mut tx, &event, "case.claimed")
        .await;
    assert!(
        matches!(&handled, Err(HandleError::Reject(reason)) if reason.contains("does not decode")),
        "{handled:?}"
    );
    drop(tx);
    drop(conn);
    pool.close().await;
    env.cleanup().await.unwrap();
}
