//! The caller's verification at the 12345 hotline (issue 13 item 8): 核验锁定 after exactly five
//! failures under the system clock as under the manual one, five tries and no more for attempts
//! made at once, 查询限流 per operator, and a view that never shows what the caller is asked to
//! prove. Cases are written straight into the read model. Run with
//! `cargo test -p tongban-hotline --test verification` (PostgreSQL and NATS as for the e2e
//! tests).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tongban_domain::case_number::CaseNumber;
use tongban_domain::division::DivisionCode;
use tongban_proto::common::v1 as common;
use tongban_proto::hotline::v1::QueryCaseStatusRequest;
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_runtime::auth::Role;
use tongban_runtime::clock::SystemClock;
use tongban_runtime::parts::{Step, from_pb};
use tongban_runtime::pii::PiiKeys;
use tongban_runtime::verification::{VerificationKind, verification_digest};
use tongban_testkit::{Bearer, Running, TestEnv, channel};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Client = HotlineServiceClient<InterceptedService<Channel, Bearer>>;

const PHONE: &str = "13812345678";
const PHONE_TAIL: &str = "5678";
const ID_NUMBER: &str = "11010519491231002X";
const ID_TAIL: &str = "31002X";

/// Which clock the service under test reads.
#[derive(Clone, Copy, Debug)]
enum Time {
    /// The testkit's manual clock (stands still unless moved).
    Manual,
    /// The system clock, as in production.
    System,
}

struct Hotline {
    env: TestEnv,
    service: Running,
    pool: PgPool,
    keys: PiiKeys,
}

impl Hotline {
    async fn start(time: Time) -> Result<Self, Box<dyn std::error::Error>> {
        let env = TestEnv::new().await?;
        let mut settings = env.settings(tongban_hotline::SERVICE);
        if let Time::System = time {
            settings.clock = Arc::new(SystemClock);
        }
        let service = Running::start::<tongban_hotline::Application>(settings).await?;
        let keys = PiiKeys::load_or_create(&env.settings("hotline").state_dir)?;
        let pool = tongban_store::connect(env.database_url(), "hotline", 2).await?;
        Ok(Self {
            env,
            service,
            pool,
            keys,
        })
    }

    fn client(&self, role: Role) -> Client {
        HotlineServiceClient::with_interceptor(
            channel(self.service.port()),
            Bearer::new(&self.env.mint(role, "12345")),
        )
    }

    /// Writes a claimed case into the read model; its reason, timeline and part name the
    /// applicant's phone and ID number.
    async fn case(&self, sequence: u32) -> Result<String, Box<dyn std::error::Error>> {
        let division = DivisionCode::parse("140922")?;
        let date = NaiveDate::from_ymd_opt(2026, 9, 14).unwrap();
        let number = CaseNumber::new(&division, date, sequence)
            .as_str()
            .to_owned();
        let phone =
            verification_digest(&self.keys, VerificationKind::PhoneTail, &number, PHONE_TAIL);
        let id = verification_digest(&self.keys, VerificationKind::IdTail, &number, ID_TAIL);
        let part = from_pb(
            &common::CasePart {
                part_code: "QR".to_owned(),
                name: "迁入地审批".to_owned(),
                office_id: "640100-gongan".to_owned(),
                state: common::PartState::Claimed.into(),
                // As stored before: masked the usual way, the tail left.
                reason: "已电话联系 138****5678".to_owned(),
                ..Default::default()
            },
            Step {
                at: Utc::now(),
                event_id: Uuid::now_v7(),
            },
        )
        .unwrap();
        let case_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO case_status (case_id, case_number, matter_code, matter_name, scope, mode,
                 window_office_id, responsible_office_id, status, status_at, applicant_name_masked,
                 id_tail_digest, phone_tail_digest, accepted_at, decision, decision_reason, parts)
             VALUES ($1, $2, 'GA-HJ-QY', '户口迁移', 'cross_province', 'online', '140922-zwfw',
                 '640100-gongan', 'claimed', now(), '王*明', $3, $4, now(), NULL, $5, $6)",
        )
        .bind(case_id)
        .bind(&number)
        .bind(&id)
        .bind(&phone)
        .bind(format!(
            "申请人电话 {PHONE}，身份证 {ID_NUMBER}，亦可拨 138 1234 5678"
        ))
        .bind(sqlx::types::Json(vec![part]))
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO case_timeline (case_id, at, status, description, description_en, office_id, event_id)
             VALUES ($1, now(), 'supplement_requested', $2, $3, '640100-gongan', $4)",
        )
        .bind(case_id)
        .bind(format!("要求补正：请核对身份证 {ID_NUMBER} 与电话 {PHONE}"))
        .bind(format!("supplement: check ID {ID_NUMBER} and phone {PHONE}"))
        .bind(Uuid::now_v7())
        .execute(&self.pool)
        .await?;
        Ok(number)
    }

    /// How many lookups of `number` the audit holds with `result`.
    async fn audited(&self, number: &str, result: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT count(*) FROM status_lookups WHERE case_number = $1 AND result = $2",
        )
        .bind(number)
        .bind(result)
        .fetch_one(&self.pool)
        .await
    }

    async fn stop(self) -> TestResult {
        self.pool.close().await;
        self.service.stop().await?;
        self.env.cleanup().await?;
        Ok(())
    }
}

fn query(number: &str, verification: &str) -> QueryCaseStatusRequest {
    QueryCaseStatusRequest {
        case_number: number.to_owned(),
        verification: verification.to_owned(),
    }
}

/// Five wrong proofs, then the right one: refused with the locked (= unknown case) answer.
async fn sixth_attempt_is_refused(time: Time) -> TestResult {
    let hotline = Hotline::start(time).await?;
    let number = hotline.case(1).await?;
    let mut client = hotline.client(Role::Hotline);
    for wrong in ["0000", "000000", "1111", "111111", "2222"] {
        let refused = client
            .query_case_status(query(&number, wrong))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{time:?}: {refused:?}");
    }
    let sixth = client
        .query_case_status(query(&number, PHONE_TAIL))
        .await
        .expect_err("the sixth attempt is refused even with the right proof");
    assert_eq!(sixth.code(), Code::NotFound, "{time:?}: {sixth:?}");
    assert_eq!(hotline.audited(&number, "not_found").await?, 5, "{time:?}");
    assert_eq!(hotline.audited(&number, "locked").await?, 1, "{time:?}");
    assert_eq!(hotline.audited(&number, "found").await?, 0, "{time:?}");
    hotline.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixth_attempt_is_refused_under_the_system_clock() -> TestResult {
    sixth_attempt_is_refused(Time::System).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixth_attempt_is_refused_under_the_manual_clock() -> TestResult {
    sixth_attempt_is_refused(Time::Manual).await
}

/// Twenty wrong proofs at once: five are tried, fifteen refused as locked, and then the right
/// proof is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_at_once_get_five_tries() -> TestResult {
    let hotline = Hotline::start(Time::System).await?;
    let number = hotline.case(2).await?;
    let client = hotline.client(Role::Hotline);
    let mut attempts = JoinSet::new();
    for i in 0..20 {
        let mut client = client.clone();
        let request = query(&number, if i % 2 == 0 { "0000" } else { "000000" });
        attempts.spawn(async move { client.query_case_status(request).await });
    }
    while let Some(answer) = attempts.join_next().await {
        let refused = answer?.unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    }
    assert_eq!(hotline.audited(&number, "not_found").await?, 5);
    assert_eq!(hotline.audited(&number, "locked").await?, 15);
    let right = client
        .clone()
        .query_case_status(query(&number, ID_TAIL))
        .await
        .expect_err("locked");
    assert_eq!(right.code(), Code::NotFound, "{right:?}");
    assert_eq!(hotline.audited(&number, "found").await?, 0);
    hotline.stop().await
}

/// 60 lookups a minute per operator by default; the 61st is RESOURCE_EXHAUSTED with RetryInfo,
/// while another operator is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_are_limited_per_operator() -> TestResult {
    let hotline = Hotline::start(Time::System).await?;
    let number = hotline.case(3).await?;
    let mut client = hotline.client(Role::Hotline);
    for _ in 0..60 {
        client.query_case_status(query(&number, PHONE_TAIL)).await?;
    }
    let throttled = client
        .query_case_status(query(&number, PHONE_TAIL))
        .await
        .expect_err("the 61st lookup within a minute is refused");
    assert_eq!(throttled.code(), Code::ResourceExhausted, "{throttled:?}");
    assert!(
        throttled.message().contains("每分钟最多查询 60 次"),
        "{throttled:?}"
    );
    let retry = throttled.get_details_retry_info().expect("RetryInfo");
    let delay = retry.retry_delay.expect("a delay");
    assert!(delay.as_secs() >= 1 && delay.as_secs() <= 60, "{delay:?}");
    // In English when asked for.
    let mut request = tonic::Request::new(query(&number, PHONE_TAIL));
    request
        .metadata_mut()
        .insert("accept-language", "en".parse().unwrap());
    let english = client.query_case_status(request).await.unwrap_err();
    assert_eq!(english.code(), Code::ResourceExhausted);
    assert!(
        english.message().contains("at most 60 a minute"),
        "{english:?}"
    );
    // The refused lookups checked nothing and were not audited as attempts.
    assert_eq!(hotline.audited(&number, "found").await?, 60);
    // Another operator has their own minute.
    let mut other = hotline.client(Role::Supervisor);
    other.query_case_status(query(&number, ID_TAIL)).await?;
    hotline.stop().await
}

/// Neither the last four phone digits nor the last six ID characters show anywhere in the view,
/// whichever proof opened it, though the reason, the timeline and a part name both numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_never_shows_the_proof() -> TestResult {
    let hotline = Hotline::start(Time::Manual).await?;
    let number = hotline.case(4).await?;
    let mut client = hotline.client(Role::Hotline);
    for proof in [PHONE_TAIL, ID_TAIL] {
        let view = client
            .query_case_status(query(&number, proof))
            .await?
            .into_inner();
        let text = format!("{view:?}");
        assert!(
            !text.contains(PHONE_TAIL),
            "phone tail shown ({proof}): {text}"
        );
        assert!(!text.contains(ID_TAIL), "ID tail shown ({proof}): {text}");
        assert!(!text.contains("1002X"), "ID tail shown ({proof}): {text}");
        assert_eq!(
            view.decision_reason,
            "申请人电话 138********，身份证 110***************，亦可拨 138 **** ****"
        );
        assert_eq!(view.parts[0].reason, "已电话联系 138********");
        assert!(
            view.timeline[0].description.contains("138********"),
            "{:?}",
            view.timeline
        );
    }
    hotline.stop().await
}
