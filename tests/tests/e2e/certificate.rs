//! Electronic certificates (电子证照) over gRPC: issued by 银川 and verified at the 五台 window
//! against the trust list; revoked, suspended, expired, not-yet-valid, wrong holder, wrong type
//! and tampered tokens each give their failure; status changes travel as events.

use chrono::TimeDelta;

use tongban_e2e::{
    Authed, Certificate, Hotline, ID_NUMBER, Intake, NAME, Review, WINDOW, decide_request,
    read_stream, shut_down, start,
};
use tongban_proto::certificate::v1::certificate_service_client::CertificateServiceClient;
use tongban_proto::certificate::v1::{
    CertificateField, CertificateStatus, GetCertificateRequest, IssueCertificateRequest,
    IssueCertificateResponse, ListTrustedIssuersRequest, RevokeCertificateRequest,
    RotateIssuerKeyRequest, VerificationFailure as F, VerifyCertificateRequest,
};
use tongban_proto::events::v1::Event;
use tongban_proto::events::v1::event::Body;
use tongban_runtime::auth::Role;
use tongban_runtime::clock::Clock as _;
use tongban_runtime::convert::timestamp;
use tongban_testkit::{Bearer, TestEnv, channel};

use crate::TestResult;

/// 银川市民政局: issues 结婚证.
const YINCHUAN: &str = "640100-minzheng";

fn client(port: u16, token: &str) -> CertificateServiceClient<Authed> {
    CertificateServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

fn marriage(env: &TestEnv, from_days: i64, until_days: i64) -> IssueCertificateRequest {
    let now = env.clock().now();
    IssueCertificateRequest {
        type_code: "113".to_owned(),
        holder_name: NAME.to_owned(),
        holder_id_number: ID_NUMBER.to_owned(),
        valid_from: Some(timestamp(now + TimeDelta::days(from_days))),
        valid_until: Some(timestamp(now + TimeDelta::days(until_days))),
        fields: vec![CertificateField {
            name: "spouse_name".to_owned(),
            value: "李红".to_owned(),
        }],
        case_id: String::new(),
    }
}

/// Issues a 结婚证 as `issuer`, valid from yesterday for a year.
async fn issue_for_a_year(
    issuer: &mut CertificateServiceClient<Authed>,
    env: &TestEnv,
) -> Result<IssueCertificateResponse, tonic::Status> {
    Ok(issuer
        .issue_certificate(marriage(env, -1, 365))
        .await?
        .into_inner())
}

/// The id of the key that signed `issued`.
fn signing_key(issued: &IssueCertificateResponse) -> Option<&str> {
    issued.certificate.as_ref().map(|c| c.key_id.as_str())
}

/// Asserts that each of `tokens` verifies at `window` as the test holder's 结婚证, without a
/// failure.
async fn assert_verified(
    window: &mut CertificateServiceClient<Authed>,
    tokens: &[&String],
) -> TestResult {
    for token in tokens {
        assert_eq!(
            failures(window, token, ID_NUMBER, "113").await?,
            (true, vec![])
        );
    }
    Ok(())
}

/// The request moving certificate `identifier` to `status` for `reason` (暂扣, 撤销, 恢复).
fn status_change(
    identifier: &str,
    status: CertificateStatus,
    reason: &str,
) -> RevokeCertificateRequest {
    RevokeCertificateRequest {
        identifier: identifier.to_owned(),
        status: status.into(),
        reason: reason.to_owned(),
    }
}

async fn failures(
    verifier: &mut CertificateServiceClient<Authed>,
    token: &str,
    holder: &str,
    type_code: &str,
) -> Result<(bool, Vec<F>), tonic::Status> {
    let response = verifier
        .verify_certificate(VerifyCertificateRequest {
            token: token.to_owned(),
            expected_holder_id_number: holder.to_owned(),
            expected_type: type_code.to_owned(),
        })
        .await?
        .into_inner();
    Ok((response.valid, response.failures().collect()))
}

#[tokio::test]
async fn issued_in_yinchuan_verified_in_wutai_and_every_failure_reported() -> TestResult {
    let (env, [cert]) = start::<(Certificate,)>().await?;
    let mut issuer = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN));
    let mut window = client(cert.port(), &env.mint(Role::Clerk, WINDOW));

    // A clerk may verify but not issue.
    let refused = window
        .issue_certificate(marriage(&env, -1, 365))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    let IssueCertificateResponse { certificate, token } =
        issue_for_a_year(&mut issuer, &env).await?;
    let issued = certificate.ok_or("no certificate")?;
    assert!(issued.identifier.starts_with("1.2.156.3005.2.113.11640100"));
    assert_eq!(issued.holder_id_number, "1101**********002X");
    assert!(token.len() < 600, "token of {} characters", token.len());

    // 跨省: 银川's certificate verifies at the 五台 window against the trust list.
    let (valid, none) = failures(&mut window, &token, ID_NUMBER, "113").await?;
    assert!(valid, "{none:?}");
    let trust = window
        .list_trusted_issuers(ListTrustedIssuersRequest::default())
        .await?
        .into_inner();
    assert!(trust.roots.iter().any(|r| r.province == "64"));
    assert!(trust.issuers.iter().any(|i| i.office_id == YINCHUAN));

    // Wrong holder, wrong type.
    assert_eq!(
        failures(&mut window, &token, "110105194912310021", "112").await?,
        (false, vec![F::HolderMismatch, F::TypeMismatch])
    );
    // Every flipped byte of the token is rejected.
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = engine.decode(&token)?;
    for i in (0..bytes.len()).step_by(7) {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x20;
        let (valid, _) = failures(&mut window, &engine.encode(&flipped), "", "").await?;
        assert!(!valid, "byte {i} flipped was accepted");
    }
    // Not yet valid, expired.
    let future = issuer
        .issue_certificate(marriage(&env, 10, 400))
        .await?
        .into_inner();
    assert_eq!(
        failures(&mut window, &future.token, "", "").await?,
        (false, vec![F::NotYetValid])
    );
    let old = issuer
        .issue_certificate(marriage(&env, -800, -1))
        .await?
        .into_inner();
    assert_eq!(
        failures(&mut window, &old.token, "", "").await?,
        (false, vec![F::Expired])
    );

    // 暂扣 then 撤销: each status is reported by name; another office cannot touch it.
    let other = client(cert.port(), &env.mint(Role::Issuer, "140100-minzheng"));
    let hidden = other
        .clone()
        .revoke_certificate(status_change(
            &issued.identifier,
            CertificateStatus::Revoked,
            "测试",
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), tonic::Code::NotFound);
    for (status, failure) in [
        (CertificateStatus::Suspended, F::StatusSuspended),
        (CertificateStatus::Revoked, F::StatusRevoked),
    ] {
        let changed = issuer
            .revoke_certificate(status_change(
                &issued.identifier,
                status,
                "婚姻登记信息有误",
            ))
            .await?
            .into_inner();
        assert_eq!(changed.status(), status);
        assert_eq!(
            failures(&mut window, &token, ID_NUMBER, "113").await?,
            (false, vec![failure])
        );
    }
    // 撤销 is final.
    let again = issuer
        .revoke_certificate(status_change(
            &issued.identifier,
            CertificateStatus::Valid,
            "恢复",
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    let shown = window
        .get_certificate(GetCertificateRequest {
            identifier: issued.identifier.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(shown.status(), CertificateStatus::Revoked);

    // The issue and the status changes were published through the outbox.
    let events = published(&env, 4).await?;
    assert!(events.iter().any(|e| matches!(&e.body,
        Some(Body::CertificateIssued(i)) if i.identifier == issued.identifier)));
    assert!(events.iter().any(|e| matches!(&e.body,
        Some(Body::CertificateRevoked(r)) if r.identifier == issued.identifier && r.status == "03")));

    shut_down(env, [cert]).await?;
    Ok(())
}

#[tokio::test]
async fn a_certificate_of_another_deployment_fails_closed() -> TestResult {
    // Two deployments (two state directories and databases): the second has never heard of
    // the first one's issuers nor holds a status for its certificates.
    let env_a = TestEnv::new().await?;
    let env_b = TestEnv::new().await?;
    let a = env_a.spawn::<Certificate>().await?;
    let b = env_b.spawn::<Certificate>().await?;
    let issued = client(a.port(), &env_a.mint(Role::Issuer, YINCHUAN))
        .issue_certificate(marriage(&env_a, -1, 365))
        .await?
        .into_inner();
    let mut verifier = client(b.port(), &env_b.mint(Role::Clerk, WINDOW));
    let (valid, failures) = failures(&mut verifier, &issued.token, ID_NUMBER, "113").await?;
    assert!(!valid);
    assert_eq!(failures, vec![F::UntrustedIssuer, F::StatusUnavailable]);
    a.stop().await?;
    b.stop().await?;
    env_a.cleanup().await?;
    env_b.cleanup().await?;
    Ok(())
}

/// Waits until the stream holds at least `count` certificate events and returns them.
async fn published(env: &TestEnv, count: usize) -> Result<Vec<Event>, Box<dyn std::error::Error>> {
    let events = tongban_testkit::eventually(std::time::Duration::from_secs(20), || async {
        let out = read_stream(env).await.ok()?;
        (out.len() >= count).then(|| out.into_iter().map(|p| p.event).collect::<Vec<_>>())
    })
    .await?;
    Ok(events)
}

/// 银川市公安局: issues 居民户口簿.
const YINCHUAN_POLICE: &str = "640100-gongan";
/// 户口迁移（工作调动）: its 户口簿 material accepts an e-certificate of type 112.
const MIGRATION: &str = "GA-HJ-QY-GZDD";

/// The request of [`MIGRATION`] with the 户口簿 presented as an e-certificate.
async fn with_household_certificate(
    intake_port: u16,
    clerk: &str,
    token: &str,
) -> Result<tongban_proto::intake::v1::SubmitCaseRequest, Box<dyn std::error::Error>> {
    let mut catalog = tongban_e2e::catalog(intake_port, clerk);
    let key = format!("cert-{}", uuid::Uuid::new_v4().simple());
    let mut request = tongban_e2e::submit_request(
        &mut catalog,
        &key,
        MIGRATION,
        "640104",
        tongban_proto::common::v1::Mode::Online,
    )
    .await?;
    let household = request
        .materials
        .iter_mut()
        .find(|m| m.material_code == "HKB")
        .ok_or("the matter has no HKB material")?;
    *household = tongban_proto::common::v1::PresentedMaterial {
        material_code: "HKB".to_owned(),
        form: tongban_proto::common::v1::MaterialForm::Certificate.into(),
        certificate_token: token.to_owned(),
        ..Default::default()
    };
    Ok(request)
}

/// The CERTIFICATE_INVALID violations of a refused submission.
/// Submits the case with `token` as its 户口簿 and returns the refusals of it, which must be
/// FAILED_PRECONDITION with exactly one certificate refusal.
async fn one_certificate_refusal(
    intake_port: u16,
    clerk: &str,
    token: &str,
) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let request = with_household_certificate(intake_port, clerk, token).await?;
    let refused = tongban_e2e::intake(intake_port, clerk)
        .submit_case(request)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    let refusals = certificate_refusals(&refused);
    assert_eq!(refusals.len(), 1, "{refused:?}");
    Ok(refusals)
}

fn certificate_refusals(status: &tonic::Status) -> Vec<(String, String)> {
    tongban_runtime::status::details(status)
        .1
        .into_iter()
        .filter(|v| v.kind == "CERTIFICATE_INVALID")
        .map(|v| (v.subject, v.description))
        .collect()
}

#[tokio::test]
async fn a_verified_certificate_waives_the_paper_and_a_revoked_one_is_refused() -> TestResult {
    let (env, [cert]) = start::<(Certificate,)>().await?;
    let mut settings = env.settings(tongban_intake::SERVICE);
    settings.certificate_url = format!("http://127.0.0.1:{}", cert.port());
    let intake = tongban_testkit::Running::start::<tongban_intake::Application>(settings).await?;
    let review_svc = env.spawn::<Review>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut issuer = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN_POLICE));
    let now = env.clock().now();
    let household = issuer
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
    let identifier = household
        .certificate
        .as_ref()
        .ok_or("no certificate")?
        .identifier
        .clone();

    // Accepted: the household register needs no paper and no upload.
    let request = with_household_certificate(intake.port(), &clerk, &household.token).await?;
    let accepted = tongban_e2e::intake(intake.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    let case = tongban_e2e::intake(intake.port(), &clerk)
        .get_case(tongban_proto::intake::v1::GetCaseRequest {
            case_id: accepted.case_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let shown = format!("{case:?}");
    // The reviewer of 银川 sees which certificate satisfied the material.
    let reviewer = env.mint(Role::Reviewer, YINCHUAN_POLICE);
    let inbox = tongban_testkit::eventually(std::time::Duration::from_secs(20), || {
        let mut review = tongban_e2e::review(review_svc.port(), &reviewer);
        let case_id = accepted.case_id.clone();
        async move {
            let listed = review
                .list_assignments(tongban_proto::review::v1::ListAssignmentsRequest::default())
                .await
                .ok()?
                .into_inner();
            listed
                .assignments
                .into_iter()
                .find(|a| format!("{a:?}").contains(&case_id))
        }
    })
    .await?;
    assert!(
        format!("{inbox:?}").contains(&identifier),
        "the reviewer sees the certificate: {inbox:?}"
    );
    assert!(
        shown.contains(&identifier),
        "the case shows which certificate: {shown}"
    );
    assert!(!shown.contains(&household.token), "the token is not kept");

    // Revoked: refused with a clear reason next to the missing material.
    issuer
        .revoke_certificate(status_change(
            &identifier,
            CertificateStatus::Revoked,
            "户籍信息变更",
        ))
        .await?;
    let refusals = one_certificate_refusal(intake.port(), &clerk, &household.token).await?;
    assert_eq!(refusals[0].0, "HKB");
    assert!(refusals[0].1.contains("已撤销"), "{}", refusals[0].1);
    assert!(refusals[0].1.contains("STATUS_REVOKED"));

    shut_down(env, [review_svc, intake, cert]).await?;
    Ok(())
}

#[tokio::test]
async fn an_unreachable_certificate_service_fails_closed() -> TestResult {
    let (env, [cert]) = start::<(Certificate,)>().await?;
    let household = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN_POLICE))
        .issue_certificate(IssueCertificateRequest {
            type_code: "112".to_owned(),
            holder_name: NAME.to_owned(),
            holder_id_number: ID_NUMBER.to_owned(),
            ..Default::default()
        })
        .await?
        .into_inner();
    cert.stop().await?;
    // The test environment's intake points at a port where nothing listens.
    let intake = env.spawn::<Intake>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let refusals = one_certificate_refusal(intake.port(), &clerk, &household.token).await?;
    assert!(
        refusals[0].1.contains("STATUS_UNAVAILABLE"),
        "{}",
        refusals[0].1
    );
    shut_down(env, [intake]).await?;
    Ok(())
}

/// 开具户籍类证明: its result is a 户籍证明 (126) when the applicant chooses e_certificate delivery.
const HUJI_ZHENGMING: &str = "GA-HJ-ZM";
/// Bound for events to travel between services.
const PROPAGATION: std::time::Duration = std::time::Duration::from_secs(30);

/// Submits a [`HUJI_ZHENGMING`] case for a 银川 resident with e-certificate delivery.
async fn submit_e_certificate_case(
    intake_port: u16,
    clerk: &str,
    key: &str,
) -> Result<tongban_proto::intake::v1::SubmitCaseResponse, Box<dyn std::error::Error>> {
    let mut request = tongban_e2e::submit_request(
        &mut tongban_e2e::catalog(intake_port, clerk),
        key,
        HUJI_ZHENGMING,
        "640104",
        tongban_proto::common::v1::Mode::Proxy,
    )
    .await?;
    request.delivery = Some(tongban_proto::common::v1::Delivery {
        method: tongban_proto::common::v1::DeliveryMethod::ECertificate.into(),
        address: String::new(),
    });
    Ok(tongban_e2e::intake(intake_port, clerk)
        .submit_case(request)
        .await?
        .into_inner())
}

/// Claims `case_id` once it reached the reviewer's inbox, then decides it.
async fn claim_and_decide(
    review_port: u16,
    reviewer: &str,
    case_id: &str,
    decision: tongban_proto::common::v1::Decision,
) -> TestResult {
    use tongban_proto::review::v1::{ClaimCaseRequest, GetAssignmentRequest};
    tongban_testkit::eventually(PROPAGATION, || {
        let mut review = tongban_e2e::review(review_port, reviewer);
        let case_id = case_id.to_owned();
        async move {
            review
                .get_assignment(GetAssignmentRequest { case_id })
                .await
                .ok()
                .map(|_| ())
        }
    })
    .await
    .map_err(|e| format!("the case reaches the reviewer: {e}"))?;
    let mut review = tongban_e2e::review(review_port, reviewer);
    review
        .claim_case(ClaimCaseRequest {
            case_id: case_id.to_owned(),
        })
        .await?;
    let point = |code: &str| tongban_proto::common::v1::ChecklistItem {
        review_point_code: code.to_owned(),
        passed: decision == tongban_proto::common::v1::Decision::Approve,
        note: "核查 / checked".to_owned(),
    };
    review
        .decide_case(decide_request(
            case_id,
            decision,
            "审查结论 / review result",
            vec![point("R1"), point("R2"), point("R3")],
        ))
        .await?;
    Ok(())
}

/// The window's view of `case_id` once it is COMPLETED.
async fn completed_case(
    intake_port: u16,
    clerk: &str,
    case_id: &str,
) -> Result<tongban_proto::intake::v1::Case, Box<dyn std::error::Error>> {
    use tongban_proto::common::v1::CaseStatus;
    let case = tongban_testkit::eventually(PROPAGATION, || {
        let mut window = tongban_e2e::intake(intake_port, clerk);
        let case_id = case_id.to_owned();
        async move {
            let case = window
                .get_case(tongban_proto::intake::v1::GetCaseRequest {
                    case_id,
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner();
            (case.status() == CaseStatus::Completed).then_some(case)
        }
    })
    .await
    .map_err(|e| format!("the window sees COMPLETED: {e}"))?;
    Ok(case)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_e_certificate_case_completes_with_its_result_certificate() -> TestResult {
    use tongban_proto::common::v1::{CaseStatus, Decision};
    let (env, [cert, intake, review_svc, hotline_svc]) =
        start::<(Certificate, Intake, Review, Hotline)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let reviewer = env.mint(Role::Reviewer, YINCHUAN_POLICE);

    let approved = submit_e_certificate_case(intake.port(), &clerk, "result-approve").await?;
    let denied = submit_e_certificate_case(intake.port(), &clerk, "result-deny").await?;
    for (case, decision) in [(&approved, Decision::Approve), (&denied, Decision::Deny)] {
        claim_and_decide(review_svc.port(), &reviewer, &case.case_id, decision).await?;
    }

    // 准予: the case completes with the certificate the responsible office's key issued.
    let case = completed_case(intake.port(), &clerk, &approved.case_id).await?;
    assert_eq!(case.decision(), Decision::Approve);
    assert!(
        case.result_certificate_identifier
            .starts_with("1.2.156.3005.2.126."),
        "a 户籍证明: {}",
        case.result_certificate_identifier
    );
    assert!(
        !case.result_certificate_token.is_empty(),
        "the clerk gets the token"
    );
    let mut verifier = client(cert.port(), &clerk);
    let verified = verifier
        .verify_certificate(VerifyCertificateRequest {
            token: case.result_certificate_token.clone(),
            expected_holder_id_number: ID_NUMBER.to_owned(),
            expected_type: "126".to_owned(),
        })
        .await?
        .into_inner();
    assert!(verified.valid, "{:?}", verified.failures());
    let certificate = verified.certificate.ok_or("no certificate")?;
    assert_eq!(certificate.identifier, case.result_certificate_identifier);
    assert_eq!(certificate.issuer_office_id, YINCHUAN_POLICE);
    assert_eq!(certificate.holder_name, NAME);
    assert_ne!(
        certificate.holder_id_number, ID_NUMBER,
        "the holder is masked"
    );
    assert!(
        certificate
            .fields
            .iter()
            .any(|f| f.name == "case_number" && f.value == approved.case_number),
        "{:?}",
        certificate.fields
    );
    // Another holder's ID number does not match.
    let (valid, failed) = failures(
        &mut verifier,
        &case.result_certificate_token,
        "140922199003070028",
        "126",
    )
    .await?;
    assert!(!valid && failed.contains(&F::HolderMismatch), "{failed:?}");
    // ListCases does not carry the token.
    let listed = tongban_e2e::intake(intake.port(), &clerk)
        .list_cases(tongban_proto::intake::v1::ListCasesRequest::default())
        .await?
        .into_inner();
    let listed = listed
        .cases
        .iter()
        .find(|c| c.case_id == approved.case_id)
        .ok_or("listed")?;
    assert_eq!(
        listed.result_certificate_identifier,
        case.result_certificate_identifier
    );
    assert!(listed.result_certificate_token.is_empty());

    // 12345 shows the identifier (and nothing unmasked).
    let operator = env.mint(Role::Hotline, "12345");
    let view = tongban_testkit::eventually(PROPAGATION, || {
        let mut calls = tongban_e2e::hotline(hotline_svc.port(), &operator);
        let number = approved.case_number.clone();
        async move {
            let view = calls
                .query_case_status(tongban_proto::hotline::v1::QueryCaseStatusRequest {
                    case_number: number,
                    verification: ID_NUMBER[ID_NUMBER.len() - 6..].to_owned(),
                })
                .await
                .ok()?
                .into_inner();
            (view.status() == CaseStatus::Completed).then_some(view)
        }
    })
    .await
    .map_err(|e| format!("the hotline sees COMPLETED: {e}"))?;
    assert_eq!(
        view.result_certificate_identifier,
        case.result_certificate_identifier
    );
    // The identifier holds the issuer's 统一社会信用代码 (a long digit run), no personal data.
    assert_eq!(
        tongban_e2e::unmasked_personal_data(
            &format!("{view:?}").replace(&view.result_certificate_identifier, "")
        ),
        None
    );

    // 不予: completes at once, without a certificate.
    let case = completed_case(intake.port(), &clerk, &denied.case_id).await?;
    assert_eq!(case.decision(), Decision::Deny);
    assert!(case.result_certificate_identifier.is_empty());
    assert!(case.result_certificate_token.is_empty());

    shut_down(env, [hotline_svc, review_svc, intake, cert]).await?;
    Ok(())
}

/// The trust-list entries of `office`, as (key id, retired-until seconds).
async fn keys_of(
    client: &mut CertificateServiceClient<Authed>,
    office: &str,
) -> Result<Vec<(String, Option<i64>)>, tonic::Status> {
    Ok(client
        .list_trusted_issuers(ListTrustedIssuersRequest {
            province: "64".to_owned(),
        })
        .await?
        .into_inner()
        .issuers
        .into_iter()
        .filter(|i| i.office_id == office)
        .map(|i| (i.key_id, i.valid_until.map(|t| t.seconds)))
        .collect())
}

#[tokio::test]
async fn a_rotated_key_keeps_verifying_what_it_signed_and_the_new_key_signs() -> TestResult {
    let (env, [cert]) = start::<(Certificate,)>().await?;
    let mut issuer = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN));
    let mut window = client(cert.port(), &env.mint(Role::Clerk, WINDOW));

    let a = issue_for_a_year(&mut issuer, &env).await?;
    let a_key = a.certificate.as_ref().map(|c| c.key_id.clone());

    // A reviewer may not rotate; an issuer may not rotate another office's key.
    for (role, office, target) in [
        (Role::Reviewer, YINCHUAN, ""),
        (Role::Clerk, WINDOW, ""),
        (Role::Issuer, YINCHUAN, "140100-minzheng"),
    ] {
        let refused = client(cert.port(), &env.mint(role, office))
            .rotate_issuer_key(RotateIssuerKeyRequest {
                office_id: target.to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{role:?}");
    }

    let rotated = issuer
        .rotate_issuer_key(RotateIssuerKeyRequest::default())
        .await?
        .into_inner();
    let current = rotated.current.ok_or("no current key")?;
    let previous = rotated.previous.ok_or("no previous key")?;
    assert_eq!(Some(previous.key_id.clone()), a_key);
    assert_ne!(current.key_id, previous.key_id);
    assert_eq!(current.valid_until, None);
    // The old key verifies until the last certificate it signed expires.
    assert_eq!(
        previous.valid_until.as_ref().map(|t| t.seconds),
        a.certificate
            .as_ref()
            .and_then(|c| c.valid_until.as_ref())
            .map(|t| t.seconds)
    );

    let b = issue_for_a_year(&mut issuer, &env).await?;
    assert_eq!(signing_key(&b), Some(current.key_id.as_str()));
    assert_verified(&mut window, &[&a.token, &b.token]).await?;
    let keys = keys_of(&mut window, YINCHUAN).await?;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.contains(&(current.key_id.clone(), None)));
    assert!(
        keys.iter()
            .any(|(id, until)| *id == previous.key_id && until.is_some())
    );

    // An admin rotates any office's key; each rotation is published.
    let admin = client(cert.port(), &env.mint(Role::Admin, "140922"));
    let again = admin
        .clone()
        .rotate_issuer_key(RotateIssuerKeyRequest {
            office_id: YINCHUAN.to_owned(),
        })
        .await?
        .into_inner();
    let newest = again.current.ok_or("no current key")?;
    assert_eq!(
        again.previous.map(|p| p.key_id),
        Some(current.key_id.clone())
    );
    // Two issues and two rotations.
    let events = published(&env, 4).await?;
    let rotations: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.body {
            Some(Body::CertificateKeyRotated(r)) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rotations.len(), 2);
    assert!(rotations.iter().any(|r| r.office_id == YINCHUAN
        && r.key_id == newest.key_id
        && r.previous_key_id == current.key_id));

    // After a restart the newest key signs and all three keys still verify what they signed.
    cert.stop().await?;
    let cert = env.spawn::<Certificate>().await?;
    let mut issuer = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN));
    let mut window = client(cert.port(), &env.mint(Role::Clerk, WINDOW));
    let c = issue_for_a_year(&mut issuer, &env).await?;
    assert_eq!(signing_key(&c), Some(newest.key_id.as_str()));
    assert_verified(&mut window, &[&a.token, &b.token, &c.token]).await?;
    assert_eq!(keys_of(&mut window, YINCHUAN).await?.len(), 3);

    shut_down(env, [cert]).await?;
    Ok(())
}

#[tokio::test]
async fn an_interrupted_rotation_is_settled_at_the_next_start() -> TestResult {
    let (env, [cert]) = start::<(Certificate,)>().await?;
    let mut issuer = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN));
    let a = issue_for_a_year(&mut issuer, &env).await?;
    let current = issuer
        .rotate_issuer_key(RotateIssuerKeyRequest::default())
        .await?
        .into_inner()
        .current
        .ok_or("no current key")?;
    cert.stop().await?;

    // Committed, but the new key file was never moved into place: the file in place is some
    // other key and the new one waits under the pending name.
    let issuers = env
        .settings(tongban_certificate::SERVICE)
        .state_dir
        .join("certificate")
        .join("issuers");
    let key_file = issuers.join(format!("{YINCHUAN}.key"));
    let pending = issuers.join(format!("{YINCHUAN}.key.next"));
    std::fs::rename(&key_file, &pending)?;
    write_key(&key_file, &"11".repeat(32))?;
    let cert = env.spawn::<Certificate>().await?;
    let mut issuer = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN));
    let b = issue_for_a_year(&mut issuer, &env).await?;
    assert_eq!(signing_key(&b), Some(current.key_id.as_str()));
    assert!(!pending.exists());
    cert.stop().await?;

    // Never committed: a pending key the database does not name is discarded.
    write_key(&pending, &"22".repeat(32))?;
    let cert = env.spawn::<Certificate>().await?;
    let mut issuer = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN));
    let mut window = client(cert.port(), &env.mint(Role::Clerk, WINDOW));
    let c = issue_for_a_year(&mut issuer, &env).await?;
    assert_eq!(signing_key(&c), Some(current.key_id.as_str()));
    assert!(!pending.exists());
    assert_verified(&mut window, &[&a.token, &b.token, &c.token]).await?;
    assert_eq!(keys_of(&mut window, YINCHUAN).await?.len(), 2);

    shut_down(env, [cert]).await?;
    Ok(())
}

/// Publishes a `cert.issued` for `case_id` as if `issuer` had issued `identifier` of `type_code`
/// (a forged or misrouted event: the certificate service itself would refuse to issue it).
async fn publish_issued(
    env: &TestEnv,
    case_id: &str,
    case_number: &str,
    issuer: &str,
    type_code: &str,
    identifier: &str,
) -> TestResult {
    use prost::Message as _;
    let body = Body::CertificateIssued(tongban_proto::events::v1::CertificateIssued {
        identifier: identifier.to_owned(),
        type_code: type_code.to_owned(),
        issuer_office_id: issuer.to_owned(),
        sealed_token: Vec::new(),
    });
    let suffix = tongban_bus::subject_of(&body);
    let event = tongban_bus::new_event(
        uuid::Uuid::parse_str(case_id)?,
        case_number,
        "test",
        "",
        env.clock().now(),
        body,
    );
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", event.event_id.as_str());
    async_nats::jetstream::new(env.nats().clone())
        .publish_with_headers(
            format!("{}.{suffix}", env.subject_root()),
            headers,
            event.encode_to_vec().into(),
        )
        .await?
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_responsible_office_issues_a_case_result_of_the_matter_type() -> TestResult {
    use tongban_proto::intake::v1::GetCaseRequest;
    let (env, [cert, intake]) = start::<(Certificate, Intake)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let request = |type_code: &str, case_id: &str| IssueCertificateRequest {
        type_code: type_code.to_owned(),
        holder_name: NAME.to_owned(),
        holder_id_number: ID_NUMBER.to_owned(),
        case_id: case_id.to_owned(),
        ..Default::default()
    };
    let code = |r: Result<tonic::Response<IssueCertificateResponse>, tonic::Status>| {
        r.err().map(|s| s.code())
    };

    // 发证权限 is directory data: 民政 issues 结婚证, not 户籍证明.
    let mut minzheng = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN));
    let refused = minzheng.issue_certificate(request("126", "")).await;
    assert_eq!(code(refused), Some(tonic::Code::PermissionDenied));

    // A case the certificate service never saw routed awaits no result certificate.
    let mut police = client(cert.port(), &env.mint(Role::Issuer, YINCHUAN_POLICE));
    let unknown = uuid::Uuid::now_v7().to_string();
    let refused = police.issue_certificate(request("126", &unknown)).await;
    assert_eq!(code(refused), Some(tonic::Code::FailedPrecondition));

    // A GA-HJ-ZM case routed to 银川市公安局 with e-certificate delivery awaits a 户籍证明 (126).
    let case = submit_e_certificate_case(intake.port(), &clerk, "issuing-rights").await?;
    let mut province = client(cert.port(), &env.mint(Role::Issuer, "640000-gongan"));
    // Once the certificate service has the case: another 公安 office may not issue its result.
    let refused = tongban_testkit::eventually(PROPAGATION, || {
        let mut province = province.clone();
        let request = request("126", &case.case_id);
        async move {
            match province.issue_certificate(request).await {
                Err(s) if s.code() == tonic::Code::FailedPrecondition => None,
                other => Some(code(other)),
            }
        }
    })
    .await
    .map_err(|e| format!("the certificate service learns of the case: {e}"))?;
    assert_eq!(refused, Some(tonic::Code::PermissionDenied));
    let refused = province
        .issue_certificate(request("126", &case.case_id))
        .await;
    assert_eq!(code(refused), Some(tonic::Code::PermissionDenied));
    // The responsible office, but not the matter's type.
    let wrong_type = police
        .issue_certificate(request("112", &case.case_id))
        .await
        .err()
        .ok_or("a 居民户口簿 is not this case's result")?;
    assert_eq!(wrong_type.code(), tonic::Code::InvalidArgument);
    let (fields, _) = tongban_runtime::status::details(&wrong_type);
    assert!(fields.iter().any(|f| f.field == "type_code"), "{fields:?}");

    // Intake takes a result certificate only from the responsible office, of the matter's type:
    // a forged event from another office and one of another type are refused; the first that
    // qualifies becomes the case's result (one case's events are handled in order).
    publish_issued(
        &env,
        &case.case_id,
        &case.case_number,
        "640000-gongan",
        "126",
        "forged-office",
    )
    .await?;
    publish_issued(
        &env,
        &case.case_id,
        &case.case_number,
        YINCHUAN_POLICE,
        "112",
        "forged-type",
    )
    .await?;
    publish_issued(
        &env,
        &case.case_id,
        &case.case_number,
        YINCHUAN_POLICE,
        "126",
        "qualifies",
    )
    .await?;
    let stored = tongban_testkit::eventually(PROPAGATION, || {
        let mut window = tongban_e2e::intake(intake.port(), &clerk);
        let case_id = case.case_id.clone();
        async move {
            let case = window
                .get_case(GetCaseRequest {
                    case_id,
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner();
            (!case.result_certificate_identifier.is_empty())
                .then_some(case.result_certificate_identifier)
        }
    })
    .await
    .map_err(|e| format!("intake stores a result certificate: {e}"))?;
    assert_eq!(stored, "qualifies");

    // The responsible office issues the 户籍证明 itself.
    let issued = police
        .issue_certificate(request("126", &case.case_id))
        .await?
        .into_inner();
    assert!(
        issued
            .certificate
            .is_some_and(|c| c.issuer_office_id == YINCHUAN_POLICE)
    );
    shut_down(env, [cert, intake]).await?;
    Ok(())
}

/// Writes `hex` as a key file, private (0600) as the services require of every key file.
fn write_key(path: &std::path::Path, hex: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, hex)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}
