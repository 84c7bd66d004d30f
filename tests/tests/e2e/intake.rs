//! Intake at the 通办 window: routing under the three scopes, boundary validation, the
//! 一次性告知 of missing materials, authorisation, and idempotent submission.

use std::collections::BTreeSet;

use futures::future::join_all;
use tongban_e2e::{
    ID_NUMBER, Intake, PHONE, WINDOW, catalog, intake, refusal, shut_down, start, submit_request,
    unmasked_personal_data,
};
use tongban_proto::catalog::v1::GetMatterRequest;
use tongban_proto::common::v1::{Mode, Scope};
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::intake::v1::{GetCaseRequest, ListCasesRequest};
use tongban_runtime::auth::Role;
use tongban_runtime::status::details;
use tongban_testkit::{Bearer, channel};
use tonic::Code;

use crate::TestResult;

/// 跨省通办, 全省通办 and 区域通办 each reach the right office under the right scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_scopes() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(service.port(), &clerk);
    let mut intake = intake(service.port(), &clerk);

    let expected = [
        (
            "GA-HJ-ZM",
            "640104",
            Scope::CrossProvince,
            "640100-gongan",
            "",
        ),
        ("GJJ-TQ-TX", "140105", Scope::ProvinceWide, "140100-gjj", ""),
        (
            "JY-XJ-GZZM",
            "150602",
            Scope::Regional,
            "150600-jiaoyu",
            "XZ-EEDS-2021",
        ),
    ];
    let mut numbers = BTreeSet::new();
    for (matter, home, scope, office, agreement) in expected {
        let key = format!("scopes-{matter}");
        let request = submit_request(&mut catalog, &key, matter, home, Mode::Proxy).await?;
        let accepted = intake.submit_case(request).await?.into_inner();
        assert_eq!(accepted.scope(), scope, "{matter}: scope");
        assert_eq!(
            accepted.responsible_office_id, office,
            "{matter}: responsible office"
        );
        assert_eq!(accepted.agreement_id, agreement, "{matter}: agreement");
        assert!(!accepted.case_number.is_empty(), "{matter}: a case number");
        assert!(
            numbers.insert(accepted.case_number.clone()),
            "{matter}: case numbers are unique"
        );

        let case = intake
            .get_case(GetCaseRequest {
                case_id: accepted.case_id.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        assert_eq!(case.case_number, accepted.case_number);
        assert_eq!(case.scope(), scope);
        assert_eq!(case.responsible_office_id, office);
        let applicant = case
            .applicant
            .clone()
            .ok_or("GetCase shows the applicant")?;
        assert!(!applicant.id_number_masked.is_empty() && applicant.id_number_masked.contains('*'));
        assert!(!applicant.phone_masked.is_empty() && applicant.phone_masked.contains('*'));
        let shown = format!("{case:?}");
        assert_eq!(
            unmasked_personal_data(&shown),
            None,
            "{matter}: GetCase shows personal data"
        );
        let accepted_at = case.accepted_at.ok_or("accepted_at is set")?;
        let due_at = case.due_at.ok_or("due_at is set")?;
        assert!(
            (due_at.seconds, due_at.nanos) > (accepted_at.seconds, accepted_at.nanos),
            "{matter}: due_at after accepted_at"
        );

        // The same case by its number.
        let by_number = intake
            .get_case(GetCaseRequest {
                case_number: accepted.case_number.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        assert_eq!(by_number.case_id, accepted.case_id);
    }

    shut_down(env, [service]).await?;
    Ok(())
}

/// Bad input is refused with every bad field named at once; missing materials are all listed at
/// once; an expired agreement refuses the route; roles and tokens are enforced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_bad_input() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(service.port(), &clerk);
    let mut intake = intake(service.port(), &clerk);

    // Four bad fields in one request: check digit, phone, unknown division, no mode.
    let mut bad = submit_request(
        &mut catalog,
        "bad-fields",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    let applicant = bad
        .applicant
        .as_mut()
        .ok_or("the request has an applicant")?;
    applicant.id_number = format!("{}0", &ID_NUMBER[..17]);
    applicant.phone = "2381234567".to_owned();
    bad.home_division = "999999".to_owned();
    bad.mode = Mode::Unspecified.into();
    let refused = refusal(
        intake.submit_case(bad).await,
        Code::InvalidArgument,
        "bad input is refused",
    )?;
    let (fields, _) = details(&refused);
    let named: BTreeSet<&str> = fields.iter().map(|v| v.field.as_str()).collect();
    for field in [
        "applicant.id_number",
        "applicant.phone",
        "home_division",
        "mode",
    ] {
        assert!(named.contains(field), "{field} is named among {named:?}");
    }
    assert!(fields.iter().all(|v| !v.description.is_empty()));
    assert_eq!(
        unmasked_personal_data(&format!("{refused:?}")),
        None,
        "errors do not echo personal data"
    );

    // No materials at all: every required material is listed, once, in one answer.
    let matter = catalog
        .get_matter(GetMatterRequest {
            code: "GA-HJ-ZM".to_owned(),
        })
        .await?
        .into_inner();
    let required: BTreeSet<String> = matter
        .materials
        .iter()
        .filter(|m| m.required)
        .map(|m| m.code.clone())
        .collect();
    assert!(
        required.len() >= 2,
        "the demo matter has several required materials"
    );
    let mut empty = submit_request(
        &mut catalog,
        "no-materials",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    empty.materials.clear();
    let refused = refusal(
        intake.submit_case(empty).await,
        Code::FailedPrecondition,
        "missing materials are refused",
    )?;
    let (_, preconditions) = details(&refused);
    let missing: Vec<&str> = preconditions
        .iter()
        .filter(|v| v.kind == "MATERIAL_MISSING")
        .map(|v| v.subject.as_str())
        .collect();
    assert_eq!(
        missing.len(),
        required.len(),
        "one violation per missing material: {missing:?}"
    );
    assert_eq!(
        missing
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>(),
        required
    );

    // 区域通办 with 陕西 (610113): the agreement is no longer in force.
    let expired = submit_request(
        &mut catalog,
        "expired",
        "JY-XJ-GZZM",
        "610113",
        Mode::Online,
    )
    .await?;
    let refused = refusal(
        intake.submit_case(expired).await,
        Code::FailedPrecondition,
        "an expired agreement refuses the route",
    )?;
    let (_, preconditions) = details(&refused);
    assert!(
        preconditions
            .iter()
            .any(|v| v.kind == "ROUTE_REFUSED" && !v.description.is_empty()),
        "ROUTE_REFUSED among {preconditions:?}"
    );

    // A reviewer may not submit.
    let reviewer = env.mint(Role::Reviewer, "640100-gongan");
    let good = submit_request(
        &mut catalog,
        "wrong-role",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    refusal(
        tongban_e2e::intake(service.port(), &reviewer)
            .submit_case(good.clone())
            .await,
        Code::PermissionDenied,
        "a reviewer cannot submit",
    )?;

    // No token at all.
    let mut anonymous =
        IntakeServiceClient::with_interceptor(channel(service.port()), Bearer::anonymous());
    refusal(
        anonymous.submit_case(good.clone()).await,
        Code::Unauthenticated,
        "no token is refused",
    )?;

    // English on request.
    let mut english = IntakeServiceClient::with_interceptor(
        channel(service.port()),
        Bearer::anonymous().with_language("en"),
    );
    let refused = english
        .submit_case(good)
        .await
        .expect_err("no token is refused");
    assert!(
        refused.message().is_ascii(),
        "English message: {}",
        refused.message()
    );

    // Nothing was half-written: the window has no case.
    let listed = intake
        .list_cases(ListCasesRequest {
            window_office_id: WINDOW.to_owned(),
            limit: 50,
        })
        .await?
        .into_inner();
    assert!(
        listed.cases.is_empty(),
        "refused submissions leave no case: {}",
        listed.cases.len()
    );

    shut_down(env, [service]).await?;
    Ok(())
}

/// The same key and request give the same case; the same key with another request is refused;
/// ten identical submissions at once make one case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_idempotency() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(service.port(), &clerk);
    let mut intake = intake(service.port(), &clerk);

    let request = submit_request(&mut catalog, "idem-1", "GA-HJ-ZM", "640104", Mode::Proxy).await?;
    let first = intake.submit_case(request.clone()).await?.into_inner();
    let again = intake.submit_case(request.clone()).await?.into_inner();
    assert_eq!(again.case_id, first.case_id);
    assert_eq!(again.case_number, first.case_number);

    let mut different = request.clone();
    let applicant = different
        .applicant
        .as_mut()
        .ok_or("the request has an applicant")?;
    applicant.phone = "13912345678".to_owned();
    assert_ne!(applicant.phone, PHONE);
    refusal(
        intake.submit_case(different).await,
        Code::AlreadyExists,
        "a reused key with another request is refused",
    )?;

    let burst = submit_request(
        &mut catalog,
        "idem-burst",
        "GJJ-TQ-TX",
        "140105",
        Mode::Online,
    )
    .await?;
    let answers = join_all((0..10).map(|_| {
        let mut client = intake.clone();
        let request = burst.clone();
        async move {
            client
                .submit_case(request)
                .await
                .map(tonic::Response::into_inner)
        }
    }))
    .await;
    let mut case_ids = BTreeSet::new();
    for answer in answers {
        let answer = answer?;
        case_ids.insert(answer.case_id);
    }
    assert_eq!(
        case_ids.len(),
        1,
        "ten identical submissions make one case: {case_ids:?}"
    );
    let burst_case = case_ids.into_iter().next().ok_or("one case id")?;

    let listed = intake
        .list_cases(ListCasesRequest {
            window_office_id: WINDOW.to_owned(),
            limit: 100,
        })
        .await?
        .into_inner();
    let ids: Vec<&str> = listed.cases.iter().map(|c| c.case_id.as_str()).collect();
    assert_eq!(ids.len(), 2, "exactly the two cases exist: {ids:?}");
    assert_eq!(ids.iter().filter(|id| **id == burst_case).count(), 1);
    assert_eq!(ids.iter().filter(|id| **id == first.case_id).count(), 1);

    shut_down(env, [service]).await?;
    Ok(())
}
