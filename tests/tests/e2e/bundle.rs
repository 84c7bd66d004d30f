//! 一件事一次办 end to end: one submission with the union of the members' materials opens one
//! linked case per member, each routed to its own office; a shared material missing is asked
//! for once; the bundle's status follows its members at the window, at an office and at the
//! 12345 hotline, a withdrawn member not counting unless every member is withdrawn.

use std::collections::{BTreeMap, BTreeSet};

use tongban_e2e::{
    Authed, BIRTH, Hotline, Intake, RETIREMENT, Review, WINDOW, WUTAI, approve_passing,
    assignment_until, bundle_in, bundle_request, bundle_until, case_until, catalog, claim,
    claim_when_routed, decide_request, hotline_operator, hotline_until, passing_checklist,
    presented, refusal, reviewer, shut_down, start, state_until, supplement_request,
    unmasked_personal_data, window_clients,
};
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::catalog::v1::{GetBundleRequest, GetMatterRequest, Matter};
use tongban_proto::common::v1::{
    BundleMember, BundleStatus, BundleSummary, CaseStatus, Decision, Mode,
};
use tongban_proto::intake::v1::{
    Bundle, Case, GetCaseRequest, ListCasesRequest, SupplementCaseRequest, WithdrawCaseRequest,
};
use tongban_proto::review::v1::AssignmentState;
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_runtime::auth::Role;
use tongban_runtime::status::details;
use tongban_testkit::TestEnv;
use tonic::Code;

use crate::TestResult;

/// Each member matter of `codes`, from CatalogService.GetMatter, by code.
async fn matters(
    catalog: &mut CatalogServiceClient<Authed>,
    codes: &[String],
) -> Result<BTreeMap<String, Matter>, tonic::Status> {
    let mut out = BTreeMap::new();
    for code in codes {
        let matter = catalog
            .get_matter(GetMatterRequest { code: code.clone() })
            .await?
            .into_inner();
        out.insert(code.clone(), matter);
    }
    Ok(out)
}

/// A reviewer's client for every office a member of `bundle` was routed to.
fn offices(
    env: &TestEnv,
    port: u16,
    bundle: &Bundle,
) -> BTreeMap<String, ReviewServiceClient<Authed>> {
    bundle
        .cases
        .iter()
        .map(|c| {
            let office = c.responsible_office_id.clone();
            let client = reviewer(env, port, &office);
            (office, client)
        })
        .collect()
}

/// The office client of `office`.
fn office(
    offices: &BTreeMap<String, ReviewServiceClient<Authed>>,
    office: &str,
) -> Result<ReviewServiceClient<Authed>, String> {
    offices
        .get(office)
        .cloned()
        .ok_or_else(|| format!("no reviewer for {office}"))
}

/// Waits until the office `case` was routed to lists it ROUTED.
async fn reaches_its_office(
    offices: &BTreeMap<String, ReviewServiceClient<Authed>>,
    case: &Case,
) -> TestResult {
    let inbox = office(offices, &case.responsible_office_id)?;
    state_until(
        &inbox,
        &case.case_id,
        &format!(
            "{} reaches {}",
            case.matter_code, case.responsible_office_id
        ),
        AssignmentState::Routed,
    )
    .await?;
    Ok(())
}

/// One submission for 出生一件事: the shared 身份证 asked for once, one case per member routed to
/// different offices, idempotent on the key; the bundle's status follows a 补正 on one member and
/// the approval of all, at the window, at an office and at the hotline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_birth_end_to_end() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc]) = start::<(Intake, Review, Hotline)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let calls = hotline_operator(&env, hotline_svc.port());

    // The catalog lists the ID card once, needed by several members.
    let definition = catalog
        .get_bundle(GetBundleRequest {
            code: BIRTH.to_owned(),
        })
        .await?
        .into_inner();
    assert_eq!(definition.name, "出生一件事");
    let members = definition.matter_codes.clone();
    assert_eq!(members.len(), 5, "{members:?}");
    let codes: Vec<&str> = definition
        .materials
        .iter()
        .filter_map(|m| m.material.as_ref())
        .map(|m| m.code.as_str())
        .collect();
    let unique: BTreeSet<&str> = codes.iter().copied().collect();
    assert_eq!(unique.len(), codes.len(), "each material once: {codes:?}");
    let sfz: Vec<_> = definition
        .materials
        .iter()
        .filter(|m| m.material.as_ref().is_some_and(|x| x.code == "SFZ"))
        .collect();
    assert_eq!(sfz.len(), 1, "SFZ listed once");
    let sfz_members = sfz[0].matter_codes.clone();
    assert!(sfz_members.len() >= 2, "SFZ needed by {sfz_members:?}");
    assert!(sfz[0].material.as_ref().is_some_and(|m| m.required));
    let catalog_of = matters(&mut catalog, &members).await?;

    let (request, _) = bundle_request(&mut catalog, "birth-1", BIRTH, WUTAI).await?;
    assert_eq!(
        request
            .materials
            .iter()
            .filter(|m| m.material_code == "SFZ")
            .count(),
        1,
        "the window presents SFZ once"
    );

    // Without the ID card: one refusal, listing it once with the members that need it; nothing
    // is opened.
    let mut without = request.clone();
    "birth-missing".clone_into(&mut without.idempotency_key);
    without.materials.retain(|m| m.material_code != "SFZ");
    let refused = refusal(
        window.submit_bundle(without).await,
        Code::FailedPrecondition,
        "a missing shared material is refused",
    )?;
    let (_, preconditions) = details(&refused);
    assert_eq!(
        preconditions.len(),
        1,
        "only SFZ is missing, listed once: {preconditions:?}"
    );
    let missing = &preconditions[0];
    assert!(
        missing.subject.contains("SFZ") || missing.description.contains("SFZ"),
        "{missing:?}"
    );
    for member in &sfz_members {
        let name = catalog_of.get(member).map_or("", |m| m.name.as_str());
        let text = format!("{} {}", missing.subject, missing.description);
        assert!(
            text.contains(member.as_str()) || (!name.is_empty() && text.contains(name)),
            "the refusal names {member} ({name}) as needing SFZ: {missing:?}"
        );
    }
    let opened = window
        .list_cases(ListCasesRequest {
            window_office_id: WINDOW.to_owned(),
            limit: 100,
        })
        .await?
        .into_inner()
        .cases;
    assert!(opened.is_empty(), "nothing half-written: {opened:?}");

    // One case per member, each with its own route and the materials it lists.
    let bundle = window.submit_bundle(request.clone()).await?.into_inner();
    assert_eq!(bundle.bundle_code, BIRTH);
    assert_eq!(bundle.bundle_name, definition.name);
    assert_eq!(bundle.window_office_id, WINDOW);
    assert!(!bundle.bundle_number.is_empty() && !bundle.bundle_id.is_empty());
    assert_eq!(bundle.status(), BundleStatus::InProgress);
    let opened: Vec<&str> = bundle
        .cases
        .iter()
        .map(|c| c.matter_code.as_str())
        .collect();
    assert_eq!(opened, members, "one case per member, in order");
    // The window's list carries each member case with its bundle (read for all cases at once).
    let listed = window
        .list_cases(ListCasesRequest {
            window_office_id: WINDOW.to_owned(),
            limit: 100,
        })
        .await?
        .into_inner()
        .cases;
    assert_eq!(listed.len(), members.len(), "{listed:?}");
    for case in &listed {
        let summary = case
            .bundle
            .as_ref()
            .ok_or("a listed member carries its bundle")?;
        assert_eq!(summary.bundle_id, bundle.bundle_id, "{}", case.matter_code);
        assert_eq!(summary.status(), BundleStatus::InProgress);
        let listed_members = member_matters(summary);
        assert_eq!(
            listed_members, members,
            "{}: every member, in order",
            case.matter_code
        );
    }
    let numbers: BTreeSet<&str> = bundle
        .cases
        .iter()
        .map(|c| c.case_number.as_str())
        .collect();
    assert_eq!(numbers.len(), members.len(), "each its own case number");
    assert!(!numbers.contains(bundle.bundle_number.as_str()));
    let routed_to: BTreeSet<&str> = bundle
        .cases
        .iter()
        .map(|c| c.responsible_office_id.as_str())
        .collect();
    assert!(
        routed_to.len() >= 3,
        "members go to different offices: {routed_to:?}"
    );
    for case in &bundle.cases {
        let matter = catalog_of
            .get(&case.matter_code)
            .ok_or_else(|| format!("member {}", case.matter_code))?;
        let carried: BTreeSet<&str> = case
            .materials
            .iter()
            .map(|m| m.material_code.as_str())
            .collect();
        assert!(carried.contains("SFZ"), "{}: {carried:?}", case.matter_code);
        for m in &matter.materials {
            // The 出生医学证明 comes from the member 出生医学证明首次签发 (bundles.toml provides
            // it): the members listing it carry it once that member is approved.
            if m.required && m.code != "CSZM" {
                assert!(
                    carried.contains(m.code.as_str()),
                    "{} carries its required {}: {carried:?}",
                    case.matter_code,
                    m.code
                );
            }
        }
        for code in &carried {
            assert!(
                matter.materials.iter().any(|m| m.code == *code),
                "{} carries only materials it lists, not {code}",
                case.matter_code
            );
        }
    }

    // The same key and request: the same bundle.
    let again = window.submit_bundle(request.clone()).await?.into_inner();
    assert_eq!(again.bundle_id, bundle.bundle_id);
    assert_eq!(again.bundle_number, bundle.bundle_number);
    let ids = |b: &Bundle| {
        b.cases
            .iter()
            .map(|c| c.case_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&bundle));
    let mut changed = request.clone();
    if let Some(applicant) = changed.applicant.as_mut() {
        "李小红".clone_into(&mut applicant.name);
    }
    refusal(
        window.submit_bundle(changed).await,
        Code::AlreadyExists,
        "the same key with another request",
    )?;

    // A member case shows its bundle at the window.
    let first = &bundle.cases[0];
    let member = window
        .get_case(GetCaseRequest {
            case_id: first.case_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let summary = member
        .bundle
        .as_ref()
        .ok_or("the member shows its bundle")?;
    assert_eq!(summary.bundle_id, bundle.bundle_id);
    assert_eq!(summary.bundle_number, bundle.bundle_number);
    assert_eq!(summary.members.len(), members.len());

    // Each member routed at once reaches its own office; the members needing the 出生医学证明
    // wait for its member (see bundle_order.rs).
    let inboxes = offices(&env, review_svc.port(), &bundle);
    for case in bundle
        .cases
        .iter()
        .filter(|c| c.status() == CaseStatus::Routed)
    {
        reaches_its_office(&inboxes, case).await?;
    }

    // 补正 on the first member.
    let mut first_office = office(&inboxes, &first.responsible_office_id)?;
    first_office.claim_case(claim(&first.case_id)).await?;
    first_office
        .request_supplement(supplement_request(
            &first.case_id,
            &["SFZ"],
            "身份证影像不清晰，请重新扫描 / the ID scan is unreadable",
        ))
        .await?;

    // The window sees the bundle waiting for 补正.
    let waiting = bundle_until(
        &window,
        &bundle.bundle_id,
        "the window: SUPPLEMENT_REQUESTED",
        |b| b.status() == BundleStatus::SupplementRequested,
    )
    .await?;
    assert_eq!(waiting.cases[0].status(), CaseStatus::SupplementRequested);

    // Another member's office sees the bundle's status, the members' matters and statuses, and
    // no case id, number or office of members that are not its own.
    let other = bundle
        .cases
        .iter()
        .find(|c| {
            c.responsible_office_id != first.responsible_office_id
                && c.status() == CaseStatus::Routed
        })
        .ok_or("a member at another office")?;
    let other_office = office(&inboxes, &other.responsible_office_id)?;
    let seen = assignment_until(
        &other_office,
        &other.case_id,
        "another office: SUPPLEMENT_REQUESTED",
        |a| bundle_in(a.bundle.as_ref(), BundleStatus::SupplementRequested),
    )
    .await?;
    let summary = seen
        .bundle
        .as_ref()
        .ok_or("the assignment shows its bundle")?;
    assert_eq!(summary.bundle_id, bundle.bundle_id);
    let listed = member_matters(summary);
    assert_eq!(listed, members);
    for m in &summary.members {
        assert!(!m.matter_name.is_empty(), "{m:?}");
        if m.matter_code == other.matter_code {
            assert_eq!(m.case_id, other.case_id);
        } else {
            assert!(
                m.case_id.is_empty()
                    && m.case_number.is_empty()
                    && m.responsible_office_id.is_empty(),
                "another member's case is hidden from {}: {m:?}",
                other.responsible_office_id
            );
        }
        if m.matter_code == first.matter_code {
            assert_eq!(m.status(), CaseStatus::SupplementRequested);
        }
    }
    // The members waiting for the 出生医学证明 are in no inbox yet; the office shows them as the
    // window does: SUBMITTED, waiting for the member that issues it.
    let unrouted: Vec<&Case> = waiting
        .cases
        .iter()
        .filter(|c| c.status() == CaseStatus::Submitted)
        .collect();
    assert!(!unrouted.is_empty(), "members wait: {:?}", waiting.cases);
    for case in unrouted {
        let at_window = case
            .bundle
            .as_ref()
            .and_then(|b| b.members.iter().find(|m| m.matter_code == case.matter_code))
            .ok_or_else(|| format!("{} at the window", case.matter_code))?;
        let at_office = summary
            .members
            .iter()
            .find(|m| m.matter_code == case.matter_code)
            .ok_or_else(|| format!("{} at the office", case.matter_code))?;
        assert_eq!(at_office.status(), CaseStatus::Submitted, "{at_office:?}");
        assert_eq!(
            at_office.waiting_for,
            [first.matter_name.as_str()],
            "{} waits for {}",
            case.matter_code,
            first.matter_code
        );
        assert_eq!(
            at_office.waiting_for, at_window.waiting_for,
            "as the window says"
        );
    }

    // The hotline, asked about a third member, shows the whole bundle.
    let third = &bundle.cases[2];
    let view = hotline_until(
        &calls,
        &third.case_number,
        "the hotline: SUPPLEMENT_REQUESTED",
        |v| bundle_in(v.bundle.as_ref(), BundleStatus::SupplementRequested),
    )
    .await?;
    let summary = view.bundle.as_ref().ok_or("the hotline shows the bundle")?;
    assert_eq!(summary.bundle_number, bundle.bundle_number);
    let shown: BTreeSet<&str> = summary
        .members
        .iter()
        .map(|m| m.case_number.as_str())
        .collect();
    assert_eq!(shown, numbers, "every member with its case number");
    assert_eq!(
        unmasked_personal_data(&format!("{view:?}")),
        None,
        "the hotline view is masked"
    );

    // The 补正 arrives; every office approves its member.
    window
        .supplement_case(SupplementCaseRequest {
            case_id: first.case_id.clone(),
            materials: vec![presented("SFZ", Mode::Online, false)],
            note: "已重新扫描身份证".to_owned(),
        })
        .await?;
    state_until(
        &first_office,
        &first.case_id,
        "the first member: SUPPLEMENTED",
        AssignmentState::Supplemented,
    )
    .await?;
    for case in &bundle.cases {
        let mut inbox = office(&inboxes, &case.responsible_office_id)?;
        if case.case_id != first.case_id {
            // A waiting member is routed once the first member is approved.
            claim_when_routed(&mut inbox, &case.case_id, "the member is ROUTED").await?;
        }
        approve_passing(&mut inbox, &mut catalog, &case.case_id, &case.matter_code).await?;
    }

    // 已办结 at the window, at the office and at the hotline.
    let done = bundle_until(&window, &bundle.bundle_id, "the window: COMPLETED", |b| {
        b.status() == BundleStatus::Completed
    })
    .await?;
    for case in &done.cases {
        assert_decided_for(case);
    }
    let seen = assignment_until(
        &other_office,
        &other.case_id,
        "another office: COMPLETED",
        |a| bundle_in(a.bundle.as_ref(), BundleStatus::Completed),
    )
    .await?;
    let summary = seen.bundle.as_ref().ok_or("the assignment's bundle")?;
    assert_eq!(
        summary.status(),
        done.status(),
        "the office and the window agree"
    );
    for m in &summary.members {
        assert!(
            matches!(m.status(), CaseStatus::Approved | CaseStatus::Completed)
                && m.waiting_for.is_empty(),
            "{m:?}"
        );
    }
    hotline_until(&calls, &third.case_number, "the hotline: COMPLETED", |v| {
        bundle_in(v.bundle.as_ref(), BundleStatus::Completed)
    })
    .await?;

    shut_down(env, [hotline_svc, review_svc, intake_svc]).await?;
    Ok(())
}

/// 退休一件事 with one member denied: once every member is decided the bundle is partly denied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_partly_denied() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc]) = start::<(Intake, Review, Hotline)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let calls = hotline_operator(&env, hotline_svc.port());

    let (request, definition) = bundle_request(&mut catalog, "retire-1", RETIREMENT, WUTAI).await?;
    let bundle = window.submit_bundle(request).await?.into_inner();
    assert_eq!(bundle.cases.len(), definition.matter_codes.len());
    let inboxes = offices(&env, review_svc.port(), &bundle);
    let last = bundle.cases.len() - 1;
    for (i, case) in bundle.cases.iter().enumerate() {
        let mut inbox = office(&inboxes, &case.responsible_office_id)?;
        claim_when_routed(&mut inbox, &case.case_id, "the member is ROUTED").await?;
        let mut checklist = passing_checklist(&mut catalog, &case.matter_code, None).await?;
        let (decision, reason) = if i == last {
            let point = checklist.first_mut().ok_or("a review point")?;
            point.passed = false;
            (Decision::Deny, "不符合条件，不予办理 / denied")
        } else {
            (Decision::Approve, "符合条件，准予办理 / approved")
        };
        inbox
            .decide_case(decide_request(&case.case_id, decision, reason, checklist))
            .await?;
        // Until the last member is decided the bundle is in progress: once the window knows of
        // this member's decision, the bundle still is.
        if i < last {
            let midway = bundle_until(
                &window,
                &bundle.bundle_id,
                &format!("the window sees member {i} decided"),
                |b| {
                    b.cases
                        .get(i)
                        .is_some_and(|c| c.decision() == Decision::Approve)
                },
            )
            .await?;
            assert_eq!(
                midway.status(),
                BundleStatus::InProgress,
                "after member {i}"
            );
        }
    }

    let done = bundle_until(
        &window,
        &bundle.bundle_id,
        "the window: PARTLY_DENIED",
        |b| b.status() == BundleStatus::PartlyDenied,
    )
    .await?;
    // A denied member is 办结 at once when nothing is to be delivered.
    assert!(
        matches!(
            done.cases[last].status(),
            CaseStatus::Denied | CaseStatus::Completed
        ),
        "{:?}",
        done.cases[last]
    );
    assert_eq!(done.cases[last].decision(), Decision::Deny);
    for case in &done.cases[..last] {
        assert_eq!(case.decision(), Decision::Approve, "{}", case.matter_code);
    }
    let denied = &bundle.cases[last];
    case_until(&window, &denied.case_id, "the denied member", |c| {
        bundle_in(c.bundle.as_ref(), BundleStatus::PartlyDenied)
    })
    .await?;
    // The hotline (asked about an approved member) and the denying office show it too.
    hotline_until(
        &calls,
        &bundle.cases[0].case_number,
        "the hotline: PARTLY_DENIED",
        |v| bundle_in(v.bundle.as_ref(), BundleStatus::PartlyDenied),
    )
    .await?;
    let inbox = office(&inboxes, &denied.responsible_office_id)?;
    assignment_until(&inbox, &denied.case_id, "the office: PARTLY_DENIED", |a| {
        bundle_in(a.bundle.as_ref(), BundleStatus::PartlyDenied)
    })
    .await?;

    shut_down(env, [hotline_svc, review_svc, intake_svc]).await?;
    Ok(())
}

/// The matter of each member of a bundle summary, in the bundle's order.
fn member_matters(summary: &BundleSummary) -> Vec<&str> {
    summary
        .members
        .iter()
        .map(|m| m.matter_code.as_str())
        .collect()
}

/// Asserts that member `case` is approved (or already 办结).
fn assert_decided_for(case: &Case) {
    assert!(
        matches!(case.status(), CaseStatus::Approved | CaseStatus::Completed),
        "{}: {:?}",
        case.matter_code,
        case.status()
    );
}

/// The status of member `matter_code` in a bundle summary, `Unspecified` when it is not listed.
fn member_status(summary: &BundleSummary, matter_code: &str) -> CaseStatus {
    summary
        .members
        .iter()
        .find(|m| m.matter_code == matter_code)
        .map_or(CaseStatus::Unspecified, BundleMember::status)
}

/// 退休一件事 with one member withdrawn at the window: the withdrawn member does not count, so once
/// the others are approved the bundle is COMPLETED at the window and at an office, the withdrawn
/// member shown WITHDRAWN; a bundle whose every member is withdrawn is WITHDRAWN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_member_withdrawal_and_status() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let withdraw = |case_id: &str| WithdrawCaseRequest {
        case_id: case_id.to_owned(),
        reason: "申请人暂不办理该事项 / the applicant no longer applies".to_owned(),
    };

    let (request, definition) =
        bundle_request(&mut catalog, "retire-withdraw", RETIREMENT, WUTAI).await?;
    let bundle = window.submit_bundle(request).await?.into_inner();
    let opened: Vec<&str> = bundle
        .cases
        .iter()
        .map(|c| c.matter_code.as_str())
        .collect();
    assert_eq!(opened, definition.matter_codes, "one case per member");
    assert!(
        opened.len() >= 3,
        "退休一件事 has three members: {opened:?}"
    );
    let inboxes = offices(&env, review_svc.port(), &bundle);
    // The others wait for the 退休证明 of the first member (退休审批): approve it first.
    let provider = &bundle.cases[0];
    let mut provider_office = office(&inboxes, &provider.responsible_office_id)?;
    claim_when_routed(
        &mut provider_office,
        &provider.case_id,
        "the first member is ROUTED",
    )
    .await?;
    approve_passing(
        &mut provider_office,
        &mut catalog,
        &provider.case_id,
        &provider.matter_code,
    )
    .await?;
    for case in &bundle.cases[1..] {
        reaches_its_office(&inboxes, case).await?;
    }

    // The window withdraws the second member; the others are still being handled.
    let gone = &bundle.cases[1];
    let withdrawn = window
        .withdraw_case(withdraw(&gone.case_id))
        .await?
        .into_inner();
    assert_eq!(withdrawn.status(), CaseStatus::Withdrawn);
    let midway = bundle_until(
        &window,
        &bundle.bundle_id,
        "the window: the member WITHDRAWN",
        |b| {
            b.cases
                .get(1)
                .is_some_and(|c| c.status() == CaseStatus::Withdrawn)
        },
    )
    .await?;
    assert_eq!(midway.status(), BundleStatus::InProgress);
    let gone_office = office(&inboxes, &gone.responsible_office_id)?;
    state_until(
        &gone_office,
        &gone.case_id,
        "the withdrawn member's office: WITHDRAWN",
        AssignmentState::Withdrawn,
    )
    .await?;

    // Every other member is approved at its office.
    for case in bundle
        .cases
        .iter()
        .filter(|c| c.case_id != gone.case_id && c.case_id != provider.case_id)
    {
        let mut inbox = office(&inboxes, &case.responsible_office_id)?;
        inbox.claim_case(claim(&case.case_id)).await?;
        approve_passing(&mut inbox, &mut catalog, &case.case_id, &case.matter_code).await?;
    }

    // The window: COMPLETED, the withdrawn member WITHDRAWN and undecided.
    let done = bundle_until(&window, &bundle.bundle_id, "the window: COMPLETED", |b| {
        b.status() == BundleStatus::Completed
    })
    .await?;
    for case in &done.cases {
        if case.case_id == gone.case_id {
            assert_eq!(case.status(), CaseStatus::Withdrawn, "{case:?}");
            assert_eq!(case.decision(), Decision::Unspecified, "{case:?}");
        } else {
            assert_decided_for(case);
        }
    }
    let member = case_until(
        &window,
        &gone.case_id,
        "the withdrawn member shows its bundle COMPLETED",
        |c| bundle_in(c.bundle.as_ref(), BundleStatus::Completed),
    )
    .await?;
    let summary = member.bundle.as_ref().ok_or("the member's bundle")?;
    assert_eq!(
        member_status(summary, &gone.matter_code),
        CaseStatus::Withdrawn
    );

    // An office of an approved member sees the same.
    let kept = &bundle.cases[0];
    let kept_office = office(&inboxes, &kept.responsible_office_id)?;
    let seen = assignment_until(&kept_office, &kept.case_id, "an office: COMPLETED", |a| {
        bundle_in(a.bundle.as_ref(), BundleStatus::Completed)
    })
    .await?;
    let summary = seen.bundle.as_ref().ok_or("the assignment's bundle")?;
    assert_eq!(
        member_status(summary, &gone.matter_code),
        CaseStatus::Withdrawn,
        "{summary:?}"
    );

    // A second 退休一件事, every member withdrawn: WITHDRAWN, not before the last one.
    let (request, _) =
        bundle_request(&mut catalog, "retire-withdraw-all", RETIREMENT, WUTAI).await?;
    let all = window.submit_bundle(request).await?.into_inner();
    assert_ne!(all.bundle_id, bundle.bundle_id);
    let last = all
        .cases
        .len()
        .checked_sub(1)
        .ok_or("the second bundle has members")?;
    // The first member's office: its case routed, the others SUBMITTED, waiting for it — as the
    // window shows them.
    let first = &all.cases[0];
    let first_office = reviewer(&env, review_svc.port(), &first.responsible_office_id);
    let seen = state_until(
        &first_office,
        &first.case_id,
        "an office: the first member ROUTED",
        AssignmentState::Routed,
    )
    .await?;
    let summary = seen.bundle.as_ref().ok_or("the assignment's bundle")?;
    assert_eq!(summary.status(), BundleStatus::InProgress);
    for case in &all.cases[1..] {
        let m = summary
            .members
            .iter()
            .find(|m| m.matter_code == case.matter_code)
            .ok_or_else(|| format!("{} at the office: {summary:?}", case.matter_code))?;
        assert_eq!(m.status(), CaseStatus::Submitted, "{m:?}");
        assert_eq!(m.waiting_for, [first.matter_name.as_str()], "{m:?}");
    }
    // The members waiting for the first one are withdrawn first (withdrawing the first member
    // would withdraw them with it), the first member last.
    for (n, (i, case)) in all.cases.iter().enumerate().rev().enumerate() {
        if i == 0 {
            // The waiting members were withdrawn without ever reaching an office: the first
            // member's office shows them WITHDRAWN, the bundle still in progress.
            let seen = assignment_until(
                &first_office,
                &first.case_id,
                "an office: the waiting members WITHDRAWN",
                |a| {
                    a.bundle.as_ref().is_some_and(|b| {
                        b.members
                            .iter()
                            .filter(|m| m.matter_code != first.matter_code)
                            .all(|m| m.status() == CaseStatus::Withdrawn)
                    })
                },
            )
            .await?;
            let summary = seen.bundle.as_ref().ok_or("the assignment's bundle")?;
            assert_eq!(summary.status(), BundleStatus::InProgress, "{summary:?}");
            assert!(
                summary.members.iter().all(|m| m.waiting_for.is_empty()),
                "{summary:?}"
            );
        }
        window.withdraw_case(withdraw(&case.case_id)).await?;
        let now = bundle_until(
            &window,
            &all.bundle_id,
            &format!("member {i} of the second bundle WITHDRAWN"),
            |b| {
                b.cases
                    .get(i)
                    .is_some_and(|c| c.status() == CaseStatus::Withdrawn)
            },
        )
        .await?;
        let expected = if n == last {
            BundleStatus::Withdrawn
        } else {
            BundleStatus::InProgress
        };
        assert_eq!(now.status(), expected, "after member {i} withdrawn");
    }
    // The first member's office sees its case withdrawn and, as the window does, the bundle
    // WITHDRAWN (the other members never reached an office).
    let shown = window
        .get_bundle(tongban_proto::intake::v1::GetBundleRequest {
            bundle_id: all.bundle_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(shown.status(), BundleStatus::Withdrawn);
    let seen = assignment_until(&first_office, &first.case_id, "an office: WITHDRAWN", |a| {
        a.state() == AssignmentState::Withdrawn
            && a.bundle
                .as_ref()
                .is_some_and(|b| b.status() == shown.status())
    })
    .await?;
    let summary = seen.bundle.as_ref().ok_or("the assignment's bundle")?;
    assert!(
        summary
            .members
            .iter()
            .all(|m| m.status() == CaseStatus::Withdrawn),
        "{summary:?}"
    );

    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// CatalogService.GetBundleNotice: the 一次性告知清单 of 出生一件事 for a 银川 family at the 五台
/// window lists each merged material once (the ID card among them) and the five members, each
/// with its 银川 office; an unknown bundle is NOT_FOUND, a bad window or locality
/// INVALID_ARGUMENT naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_notice_lists_shared_materials_once_and_every_member() -> TestResult {
    use tongban_proto::catalog::v1::GetBundleNoticeRequest;

    let (env, [intake_svc]) = start::<(Intake,)>().await?;
    let mut catalog = catalog(intake_svc.port(), &env.mint(Role::Clerk, WINDOW));
    let request = |code: &str, window: &str, home: &str| GetBundleNoticeRequest {
        bundle_code: code.to_owned(),
        window_office_id: window.to_owned(),
        home_division: home.to_owned(),
    };

    let notice = catalog
        .get_bundle_notice(request(BIRTH, WINDOW, "640104"))
        .await?
        .into_inner();
    let definition = notice
        .bundle
        .as_ref()
        .ok_or("the notice carries the bundle")?;
    assert_eq!(definition.code, BIRTH);
    assert_eq!(
        notice.window_office.as_ref().map(|o| o.id.as_str()),
        Some(WINDOW)
    );
    assert!(
        notice.text.contains("一件事：出生一件事"),
        "{}",
        notice.text
    );
    for merged in definition
        .materials
        .iter()
        .filter_map(|m| m.material.as_ref())
    {
        let entry = format!("({}) — ", merged.code);
        assert_eq!(
            notice.text.matches(&entry).count(),
            1,
            "{} listed once in\n{}",
            merged.code,
            notice.text
        );
    }
    assert_eq!(
        notice.text.matches("(SFZ) — ").count(),
        1,
        "{}",
        notice.text
    );

    let members: Vec<&str> = notice
        .members
        .iter()
        .map(|m| m.matter_code.as_str())
        .collect();
    assert_eq!(members, definition.matter_codes, "five members, in order");
    assert_eq!(members.len(), 5);
    for member in &notice.members {
        assert!(member.refusal.is_empty(), "{member:?}");
        assert!(
            member.responsible_office_id.starts_with("640100-"),
            "{} goes to a 银川 office: {member:?}",
            member.matter_code
        );
        let office = member
            .responsible_office
            .as_ref()
            .ok_or("the member's office")?;
        assert!(
            notice.text.contains(&format!(
                "{} ({}) — 办理机构：{}",
                member.matter_name, member.matter_code, office.name
            )),
            "{} with its office in\n{}",
            member.matter_code,
            notice.text
        );
    }
    let member_codes: Vec<String> = members.iter().map(|&m| m.to_owned()).collect();
    let longest = matters(&mut catalog, &member_codes)
        .await?
        .values()
        .map(|m| m.promised_limit_days)
        .max()
        .ok_or("the bundle has members")?;
    assert_eq!(
        notice.longest_promised_limit_days, longest,
        "the longest of the members' promised limits"
    );
    assert!(
        notice.text.contains(&format!(
            "最长承诺时限：{} 个工作日",
            notice.longest_promised_limit_days
        )),
        "{}",
        notice.text
    );
    assert!(
        notice.text_en.contains("Bundle: Having a baby"),
        "{}",
        notice.text_en
    );

    refusal(
        catalog
            .get_bundle_notice(request("YJS-NO-SUCH", WINDOW, "640104"))
            .await,
        Code::NotFound,
        "an unknown bundle",
    )?;

    let bad = refusal(
        catalog
            .get_bundle_notice(request(BIRTH, "640100-gongan", "999999"))
            .await,
        Code::InvalidArgument,
        "a bad window and locality",
    )?;
    let (fields, _) = details(&bad);
    let named: BTreeSet<&str> = fields.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(
        named,
        BTreeSet::from(["window_office_id", "home_division"]),
        "{fields:?}"
    );

    shut_down(env, [intake_svc]).await?;
    Ok(())
}
