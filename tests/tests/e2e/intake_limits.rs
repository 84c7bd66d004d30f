//! Issue 13: every string and repeated field of IntakeService and CatalogService requests has
//! a limit, refused with INVALID_ARGUMENT naming the field (and the element's index) before
//! anything is written; and an e-certificate handed in with 补正 is verified exactly as at
//! submission, its raw token (which carries the holder's full ID number) kept nowhere: not in
//! the case's row, not on the stream, not in GetCase or ListCases.

use chrono::TimeDelta;
use tonic::Code;

use tongban_e2e::{
    Authed, Certificate, ID_NUMBER, Intake, NAME, Review, WINDOW, YINCHUAN_GONGAN, case_events,
    case_until, catalog, claim, intake, listed_until, presented, review, shut_down, start,
    state_until, submit_request, supplement_request,
};
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::catalog::v1::{GetNoticeRequest, ListOfficesRequest};
use tongban_proto::certificate::v1::certificate_service_client::CertificateServiceClient;
use tongban_proto::certificate::v1::{CertificateField, IssueCertificateRequest};
use tongban_proto::common::v1::{CaseStatus, MaterialForm, Mode, PresentedMaterial};
use tongban_proto::events::v1::event::Body;
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::intake::v1::{
    GetCaseRequest, ListCasesRequest, SubmitBundleRequest, SupplementCaseRequest,
    WithdrawCaseRequest,
};
use tongban_proto::review::v1::{AssignmentState, ListAssignmentsRequest};
use tongban_runtime::auth::Role;
use tongban_runtime::clock::Clock as _;
use tongban_runtime::convert::timestamp;
use tongban_runtime::status::details;
use tongban_testkit::{Bearer, TestEnv, channel};

use crate::TestResult;

/// 户口迁移（工作调动）: its 户口簿 (HKB) accepts an e-certificate of type 112.
const MIGRATION: &str = "GA-HJ-QY-GZDD";

/// The fields a refusal names, with their descriptions.
fn named(status: &tonic::Status) -> Vec<(String, String)> {
    details(status)
        .0
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}

/// Asserts `answer` is INVALID_ARGUMENT naming exactly `fields` (in order), each with a
/// description containing `says`.
fn assert_over<T: std::fmt::Debug>(
    answer: Result<tonic::Response<T>, tonic::Status>,
    fields: &[&str],
    says: &str,
) {
    let refused = answer.expect_err("over its limit: refused");
    assert_eq!(
        refused.code(),
        Code::InvalidArgument,
        "{}",
        refused.message()
    );
    let named = named(&refused);
    let names: Vec<&str> = named.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(names, fields, "{named:?}");
    for (field, description) in &named {
        assert!(description.contains(says), "{field}: {description}");
    }
}

fn english_intake(port: u16, token: &str) -> IntakeServiceClient<Authed> {
    IntakeServiceClient::with_interceptor(channel(port), Bearer::new(token).with_language("en"))
}

fn english_catalog(port: u16, token: &str) -> CatalogServiceClient<Authed> {
    CatalogServiceClient::with_interceptor(channel(port), Bearer::new(token).with_language("en"))
}

/// The case's stored materials, as the intake schema holds them.
async fn stored_materials(env: &TestEnv, case_id: &str) -> Result<String, sqlx::Error> {
    let pool = sqlx::PgPool::connect(env.database_url()).await?;
    let id = uuid::Uuid::parse_str(case_id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let (materials,): (String,) =
        sqlx::query_as("SELECT materials::text FROM intake.cases WHERE case_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await?;
    pool.close().await;
    Ok(materials)
}

/// Submits a 户口迁移 case, has 银川市公安局 claim it and ask for the 户口簿 again (补正), and
/// returns its id once the window sees the request.
async fn case_awaiting_household(
    env: &TestEnv,
    intake_port: u16,
    review_port: u16,
    key: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let clerk = env.mint(Role::Clerk, WINDOW);
    let reviewer = env.mint(Role::Reviewer, YINCHUAN_GONGAN);
    let request = submit_request(
        &mut catalog(intake_port, &clerk),
        key,
        MIGRATION,
        "640104",
        Mode::Online,
    )
    .await?;
    let accepted = intake(intake_port, &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    let case_id = accepted.case_id;
    let mut inbox = review(review_port, &reviewer);
    listed_until(&inbox, &case_id, "the case reaches 银川市公安局").await?;
    inbox.claim_case(claim(&case_id)).await?;
    inbox
        .request_supplement(supplement_request(&case_id, &["HKB"], "请补充户口簿"))
        .await?;
    case_until(
        &intake(intake_port, &clerk),
        &case_id,
        "the window sees the 补正",
        |c| c.status() == CaseStatus::SupplementRequested,
    )
    .await?;
    Ok(case_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_over_its_limit_is_refused_by_name_and_nothing_is_written() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let case_id =
        case_awaiting_household(&env, intake_svc.port(), review_svc.port(), "limits-1").await?;
    let mut window = intake(intake_svc.port(), &clerk);
    let before = stored_materials(&env, &case_id).await?;

    // A 1.5 MB certificate token in a 补正, and an overlong note: refused, naming both.
    let huge = "x".repeat(1_500_000);
    let answer = window
        .supplement_case(SupplementCaseRequest {
            case_id: case_id.clone(),
            materials: vec![PresentedMaterial {
                material_code: "HKB".to_owned(),
                form: MaterialForm::Certificate.into(),
                certificate_token: huge.clone(),
                ..Default::default()
            }],
            note: "注".repeat(1001),
        })
        .await;
    assert_over(answer, &["materials[0].certificate_token", "note"], "最长");
    // Nothing was written: the case still awaits the material, no case.supplemented is on
    // the stream, the row is as it was.
    let case = window
        .get_case(GetCaseRequest {
            case_id: case_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(case.status(), CaseStatus::SupplementRequested);
    let events = case_events(&env, &case_id).await?;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.body, Some(Body::CaseSupplemented(_)))),
        "no case.supplemented"
    );
    assert!(
        events
            .iter()
            .all(|e| !format!("{e:?}").contains(&huge[..4096])),
        "the token is on no event"
    );
    assert_eq!(stored_materials(&env, &case_id).await?, before);

    // SubmitCase, in English: each overlong field by its path, a repeated field's element by
    // its index.
    let mut english = english_intake(intake_svc.port(), &clerk);
    let mut request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "limits-2",
        MIGRATION,
        "640104",
        Mode::Online,
    )
    .await?;
    request.matter_code = "M".repeat(65);
    if let Some(applicant) = request.applicant.as_mut() {
        applicant.name = "王".repeat(51);
    }
    request.materials[1].sha256 = "a".repeat(65);
    request.materials[0].certificate_token = "t".repeat(2049);
    assert_over(
        english.submit_case(request.clone()).await,
        &[
            "matter_code",
            "applicant.name",
            "materials[0].certificate_token",
            "materials[1].sha256",
        ],
        "at most",
    );
    request.materials = vec![presented("HKB", Mode::Online, false); 101];
    request.matter_code = MIGRATION.to_owned();
    request.applicant = None;
    assert_over(
        english.submit_case(request).await,
        &["materials"],
        "at most 100 items, found 101",
    );

    // The other IntakeService requests.
    assert_over(
        english
            .get_case(GetCaseRequest {
                case_number: "1".repeat(33),
                ..Default::default()
            })
            .await,
        &["case_number"],
        "at most 32 characters",
    );
    assert_over(
        english
            .withdraw_case(WithdrawCaseRequest {
                case_id: case_id.clone(),
                reason: "r".repeat(1001),
            })
            .await,
        &["reason"],
        "at most 1000 characters",
    );
    assert_over(
        english
            .list_cases(ListCasesRequest {
                window_office_id: "w".repeat(65),
                limit: 0,
            })
            .await,
        &["window_office_id"],
        "at most 64",
    );
    assert_over(
        english
            .submit_bundle(SubmitBundleRequest {
                idempotency_key: "k".repeat(129),
                bundle_code: "B".repeat(65),
                ..Default::default()
            })
            .await,
        &["idempotency_key", "bundle_code"],
        "at most",
    );

    // CatalogService.
    let mut catalog_en = english_catalog(intake_svc.port(), &clerk);
    assert_over(
        catalog_en
            .get_notice(GetNoticeRequest {
                matter_code: MIGRATION.to_owned(),
                window_office_id: WINDOW.to_owned(),
                home_division: "6".repeat(13),
                ..Default::default()
            })
            .await,
        &["home_division"],
        "at most 12 characters",
    );
    assert_over(
        catalog_en
            .list_offices(ListOfficesRequest {
                department: "d".repeat(33),
                ..Default::default()
            })
            .await,
        &["department"],
        "at most 32 characters",
    );

    // The case is untouched by all of it.
    let case = window
        .get_case(GetCaseRequest {
            case_id: case_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(case.status(), CaseStatus::SupplementRequested);
    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplemented_certificate_is_verified_and_its_token_kept_nowhere() -> TestResult {
    let (env, [cert]) = start::<(Certificate,)>().await?;
    let mut settings = env.settings(tongban_intake::SERVICE);
    settings.certificate_url = format!("http://127.0.0.1:{}", cert.port());
    let intake_svc =
        tongban_testkit::Running::start::<tongban_intake::Application>(settings).await?;
    let review_svc = env.spawn::<Review>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut window = intake(intake_svc.port(), &clerk);

    // 银川市公安局 issues the applicant's 居民户口簿 (112).
    let mut issuer = CertificateServiceClient::with_interceptor(
        channel(cert.port()),
        Bearer::new(&env.mint(Role::Issuer, YINCHUAN_GONGAN)),
    );
    let now = env.clock().now();
    let issued = issuer
        .issue_certificate(IssueCertificateRequest {
            type_code: "112".to_owned(),
            holder_name: NAME.to_owned(),
            holder_id_number: ID_NUMBER.to_owned(),
            valid_from: Some(timestamp(now - TimeDelta::days(100))),
            valid_until: Some(timestamp(now + TimeDelta::days(3650))),
            fields: vec![CertificateField {
                name: "address".to_owned(),
                value: "银川市金凤区北京中路 1 号".to_owned(),
            }],
            case_id: String::new(),
        })
        .await?
        .into_inner();
    let identifier = issued
        .certificate
        .as_ref()
        .ok_or("no certificate")?
        .identifier
        .clone();
    let token = issued.token.clone();

    let case_id =
        case_awaiting_household(&env, intake_svc.port(), review_svc.port(), "cert-sup-1").await?;
    let handing_in = |token: &str| SupplementCaseRequest {
        case_id: case_id.clone(),
        materials: vec![PresentedMaterial {
            material_code: "HKB".to_owned(),
            form: MaterialForm::Certificate.into(),
            certificate_token: token.to_owned(),
            ..Default::default()
        }],
        note: "以电子证照补正户口簿".to_owned(),
    };

    // A forged token (the valid one with its last character changed) is refused as SubmitCase
    // refuses it: FAILED_PRECONDITION, CERTIFICATE_INVALID naming the material.
    let mut forged = token.clone();
    let last = forged.pop().ok_or("empty token")?;
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let refused = window
        .supplement_case(handing_in(&forged))
        .await
        .expect_err("a forged certificate is refused");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let refusals = details(&refused).1;
    assert!(
        refusals
            .iter()
            .any(|v| v.kind == "CERTIFICATE_INVALID" && v.subject == "HKB"),
        "{refusals:?}"
    );
    let still = window
        .get_case(GetCaseRequest {
            case_id: case_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(still.status(), CaseStatus::SupplementRequested);

    // The valid one is accepted: kept by its identifier and type, never by its token.
    let supplemented = window
        .supplement_case(handing_in(&token))
        .await?
        .into_inner();
    assert_eq!(supplemented.status(), CaseStatus::Supplemented);
    let household = supplemented
        .materials
        .iter()
        .find(|m| m.material_code == "HKB")
        .ok_or("no HKB")?;
    assert_eq!(household.certificate_identifier, identifier);
    assert_eq!(household.certificate_type, "112");
    assert!(household.certificate_token.is_empty());

    // The reviewer sees which certificate satisfied the material.
    let reviewer = env.mint(Role::Reviewer, YINCHUAN_GONGAN);
    let inbox = review(review_svc.port(), &reviewer);
    state_until(
        &inbox,
        &case_id,
        "the reviewer sees SUPPLEMENTED",
        AssignmentState::Supplemented,
    )
    .await?;
    let listed = review(review_svc.port(), &reviewer)
        .list_assignments(ListAssignmentsRequest::default())
        .await?
        .into_inner();
    let shown = format!("{listed:?}");
    assert!(shown.contains(&identifier), "{shown}");

    // No token and no full ID number anywhere: the row, the case's events, GetCase, ListCases,
    // the reviewer's inbox.
    let stored = stored_materials(&env, &case_id).await?;
    let case = window
        .get_case(GetCaseRequest {
            case_id: case_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let cases = window
        .list_cases(ListCasesRequest::default())
        .await?
        .into_inner();
    let events = case_events(&env, &case_id).await?;
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.body, Some(Body::CaseSupplemented(s))
                if s.materials.iter().any(|m| m.certificate_identifier == identifier))),
        "case.supplemented names the certificate"
    );
    for (place, text) in [
        ("the stored materials", stored),
        ("the events", format!("{events:?}")),
        ("GetCase", format!("{case:?}")),
        ("ListCases", format!("{cases:?}")),
        ("ListAssignments", shown),
    ] {
        assert!(!text.contains(&token), "{place} hold the token");
        assert!(!text.contains(&forged), "{place} hold the forged token");
        assert!(!text.contains(ID_NUMBER), "{place} hold the ID number");
    }

    shut_down(env, [review_svc, intake_svc, cert]).await?;
    Ok(())
}
