//! 一件事 members that need another member's result: in 出生一件事 the 出生医学证明 (CSZM) is
//! issued by the member 出生医学证明首次签发, so 生育登记, 出生登记 and 医保参保 are submitted with
//! the bundle but accepted and routed only once that member is approved, carrying its result;
//! a denial or withdrawal of the provider withdraws them.

use chrono::TimeDelta;
use tongban_e2e::{
    Authed, BIRTH, Hotline, Intake, PROPAGATION, Review, WUTAI, assignment_until, bundle_request,
    bundle_until, claim_when_routed, decide_request, hotline_operator, hotline_until,
    passing_checklist, reviewer, shut_down, start, state_until, window_clients,
};
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::catalog::v1::{ComputeDueDateRequest, GetMatterRequest};
use tongban_proto::common::v1::{
    BundleMember, BundleStatus, BundleSummary, CaseStatus, Decision, MaterialForm,
};
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::intake::v1::{Bundle, Case, WithdrawCaseRequest};
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_proto::review::v1::{
    Assignment, AssignmentState, ListAssignmentsRequest, WatchAssignmentsRequest,
};
use tongban_runtime::clock::Clock as _;
use tongban_testkit::TestEnv;

use crate::TestResult;

/// The member that issues the 出生医学证明.
const PROVIDER: &str = "WJ-CSYXZM-QF";
/// Its name, as the waiting members name it.
const PROVIDER_NAME: &str = "出生医学证明首次签发";
/// The material it provides.
const CSZM: &str = "CSZM";
/// The members waiting for it.
const WAITING: [&str; 3] = ["WJ-SY-DJ", "GA-HJ-CSDJ", "YB-CB-CXJM"];
/// The members routed at once.
const AT_ONCE: [&str; 2] = [PROVIDER, "RS-SBK-SL"];

/// The member case of `matter` in `bundle`.
fn member<'a>(bundle: &'a Bundle, matter: &str) -> Result<&'a Case, String> {
    bundle
        .cases
        .iter()
        .find(|c| c.matter_code == matter)
        .ok_or_else(|| format!("{matter} is a member of {}", bundle.bundle_number))
}

/// What the bundle summary of `case` says member `matter` waits for.
fn waiting_for(case: &Case, matter: &str) -> Vec<String> {
    case.bundle
        .as_ref()
        .and_then(|b| b.members.iter().find(|m| m.matter_code == matter))
        .map(|m| m.waiting_for.clone())
        .unwrap_or_default()
}

/// Member `matter` of the bundle an office's assignment shows.
fn shown_member<'a>(assignment: &'a Assignment, matter: &str) -> Result<&'a BundleMember, String> {
    assignment
        .bundle
        .as_ref()
        .and_then(|b| b.members.iter().find(|m| m.matter_code == matter))
        .ok_or_else(|| format!("{matter} in the office's bundle: {:?}", assignment.bundle))
}

/// The status of the bundle an office's assignment shows.
fn shown_status(assignment: &Assignment) -> BundleStatus {
    assignment
        .bundle
        .as_ref()
        .map_or(BundleStatus::Unspecified, BundleSummary::status)
}

/// Whether the timeline of `case` has a line containing `text`.
fn has_line(case: &Case, text: &str) -> bool {
    case.timeline.iter().any(|t| t.description.contains(text))
}

/// The office of `case` claims it and decides: approves with every point passed, or denies.
async fn decide(
    inbox: &mut ReviewServiceClient<Authed>,
    catalog: &mut CatalogServiceClient<Authed>,
    case: &Case,
    decision: Decision,
) -> TestResult {
    claim_when_routed(inbox, &case.case_id, "the member is ROUTED").await?;
    let mut checklist = passing_checklist(catalog, &case.matter_code, None).await?;
    let reason = if decision == Decision::Deny {
        let point = checklist.first_mut().ok_or("a review point")?;
        point.passed = false;
        "出生医学证明信息与医疗机构记录不符，不予签发 / the record does not match"
    } else {
        "符合条件，准予办理 / approved"
    };
    inbox
        .decide_case(decide_request(&case.case_id, decision, reason, checklist))
        .await?;
    Ok(())
}

/// The office of the member issuing the 出生医学证明 in `bundle` claims and decides it.
async fn provider_decides(
    env: &TestEnv,
    port: u16,
    catalog: &mut CatalogServiceClient<Authed>,
    bundle: &Bundle,
    decision: Decision,
) -> TestResult {
    let provider = member(bundle, PROVIDER)?;
    let mut weijian = reviewer(env, port, &provider.responsible_office_id);
    decide(&mut weijian, catalog, provider, decision).await
}

/// Waits until the window shows every member of [`WAITING`] in `status`.
async fn waiting_at_window_until(
    window: &IntakeServiceClient<Authed>,
    bundle_id: &str,
    what: &str,
    status: CaseStatus,
) -> Result<Bundle, String> {
    bundle_until(window, bundle_id, what, |b| {
        WAITING.iter().all(|matter| {
            b.cases
                .iter()
                .any(|c| c.matter_code == *matter && c.status() == status)
        })
    })
    .await
}

/// Waits until the office of `inbox` shows, in the bundle of its case `case_id`, every member of
/// [`WAITING`] in `status`.
async fn waiting_at_office_until(
    inbox: &ReviewServiceClient<Authed>,
    case_id: &str,
    what: &str,
    status: CaseStatus,
) -> Result<Assignment, String> {
    assignment_until(inbox, case_id, what, |a| {
        WAITING
            .iter()
            .all(|matter| shown_member(a, matter).is_ok_and(|m| m.status() == status))
    })
    .await
}

/// Submits 出生一件事 without the 出生医学证明 under `key`.
async fn submit_birth(
    catalog: &mut CatalogServiceClient<Authed>,
    window: &mut IntakeServiceClient<Authed>,
    key: &str,
) -> Result<Bundle, Box<dyn std::error::Error>> {
    let (request, definition) = bundle_request(catalog, key, BIRTH, WUTAI).await?;
    let cszm = definition
        .materials
        .iter()
        .find(|m| m.material.as_ref().is_some_and(|x| x.code == CSZM))
        .ok_or("the bundle lists CSZM")?;
    assert!(
        cszm.material.as_ref().is_some_and(|m| !m.required),
        "the applicant is not asked for the 出生医学证明: {cszm:?}"
    );
    assert!(
        request.materials.iter().all(|m| m.material_code != CSZM),
        "the window presents no CSZM"
    );
    Ok(window.submit_bundle(request).await?.into_inner())
}

/// (a) The members needing the 出生医学证明 wait, unrouted, until its member is approved; then
/// they are accepted and routed at that moment, their clock starting then, carrying CSZM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_members_wait_for_the_provider() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc]) = start::<(Intake, Review, Hotline)>().await?;
    let calls = hotline_operator(&env, hotline_svc.port());
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());

    let bundle = submit_birth(&mut catalog, &mut window, "order-birth").await?;
    assert_eq!(bundle.status(), BundleStatus::InProgress);
    assert_eq!(bundle.cases.len(), AT_ONCE.len() + WAITING.len());
    for matter in AT_ONCE {
        let case = member(&bundle, matter)?;
        assert_eq!(case.status(), CaseStatus::Routed, "{matter} starts at once");
        assert!(
            case.accepted_at.is_some() && case.due_at.is_some(),
            "{case:?}"
        );
        assert!(
            waiting_for(case, matter).is_empty(),
            "{matter} waits for nobody"
        );
        let inbox = reviewer(&env, review_svc.port(), &case.responsible_office_id);
        state_until(
            &inbox,
            &case.case_id,
            &format!("{matter} is routed"),
            AssignmentState::Routed,
        )
        .await?;
    }
    for matter in WAITING {
        let case = member(&bundle, matter)?;
        assert_eq!(case.status(), CaseStatus::Submitted, "{matter} waits");
        assert!(
            case.accepted_at.is_none() && case.due_at.is_none(),
            "not accepted, no clock: {case:?}"
        );
        assert_eq!(case.remaining_working_days, 0, "{matter}");
        assert!(
            case.materials.iter().all(|m| m.material_code != CSZM),
            "{matter} has no CSZM yet"
        );
        assert_eq!(
            waiting_for(case, matter),
            [PROVIDER_NAME],
            "{matter} waits for the 出生医学证明"
        );
        assert!(
            has_line(case, PROVIDER_NAME),
            "{matter}'s timeline says what it waits for: {:?}",
            case.timeline
        );
    }
    // The 12345 hotline, asked about a waiting member (its events arrived while the routed
    // members reached their inboxes above), shows what it waits for.
    let waiting = member(&bundle, WAITING[0])?;
    let view = hotline_until(
        &calls,
        &waiting.case_number,
        "the hotline shows the waiting member",
        |v| v.status() == CaseStatus::Submitted && v.bundle.is_some(),
    )
    .await?;
    let bundle_view = view.bundle.as_ref().ok_or("the hotline shows the bundle")?;
    for matter in WAITING {
        let shown = bundle_view
            .members
            .iter()
            .find(|m| m.matter_code == matter)
            .ok_or_else(|| format!("{matter} at the hotline"))?;
        assert_eq!(
            shown.waiting_for,
            [PROVIDER_NAME],
            "{matter} at the hotline"
        );
    }
    // The routed members reached their inboxes above; the waiting ones are in none. Each is
    // planned for an office of its own department, which does not list it.
    for matter in WAITING {
        let case = member(&bundle, matter)?;
        let mut inbox = reviewer(&env, review_svc.port(), &case.responsible_office_id);
        let listed = inbox
            .list_assignments(ListAssignmentsRequest {
                office_id: case.responsible_office_id.clone(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .assignments;
        assert!(
            listed.iter().all(|a| a.case_id != case.case_id),
            "{matter} is in no inbox yet: {listed:?}"
        );
    }
    // An office of a member routed at once shows them as the window does: SUBMITTED, waiting
    // for the 出生医学证明.
    let sbk = member(&bundle, "RS-SBK-SL")?;
    let renshe = reviewer(&env, review_svc.port(), &sbk.responsible_office_id);
    let seen = assignment_until(
        &renshe,
        &sbk.case_id,
        "the 社保卡 member's office",
        |a| a.bundle.is_some(),
    )
    .await?;
    assert_eq!(shown_status(&seen), BundleStatus::InProgress);
    for matter in WAITING {
        let m = shown_member(&seen, matter)?;
        assert_eq!(m.status(), CaseStatus::Submitted, "{matter} at an office");
        assert_eq!(m.waiting_for, [PROVIDER_NAME], "{matter} at an office");
    }
    assert_eq!(shown_member(&seen, PROVIDER)?.status(), CaseStatus::Routed);
    // GetBundle shows the same.
    let shown = window
        .get_bundle(tongban_proto::intake::v1::GetBundleRequest {
            bundle_number: bundle.bundle_number.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    for matter in WAITING {
        let case = member(&shown, matter)?;
        assert_eq!(case.status(), CaseStatus::Submitted);
        assert_eq!(waiting_for(case, matter), [PROVIDER_NAME]);
    }

    // Two days later the 卫健 office approves the 出生医学证明.
    env.clock().advance(TimeDelta::days(2));
    let approved_at = env.clock().now();
    provider_decides(
        &env,
        review_svc.port(),
        &mut catalog,
        &bundle,
        Decision::Approve,
    )
    .await?;

    let moved = waiting_at_window_until(
        &window,
        &bundle.bundle_id,
        "the waiting members ROUTED",
        CaseStatus::Routed,
    )
    .await?;
    assert_eq!(moved.status(), BundleStatus::InProgress);
    for matter in WAITING {
        let case = member(&moved, matter)?;
        assert!(
            waiting_for(case, matter).is_empty(),
            "{matter} waits no more"
        );
        let accepted = case.accepted_at.ok_or("accepted_at")?;
        let accepted_at =
            chrono::DateTime::from_timestamp(accepted.seconds, u32::try_from(accepted.nanos)?)
                .ok_or("a valid accepted_at")?;
        assert_eq!(
            accepted_at, approved_at,
            "{matter}: accepted when the provider was approved"
        );
        let days = catalog
            .get_matter(GetMatterRequest {
                code: (*matter).to_owned(),
            })
            .await?
            .into_inner()
            .promised_limit_days;
        let expected = catalog
            .compute_due_date(ComputeDueDateRequest {
                start_time: Some(accepted),
                working_days: days,
            })
            .await?
            .into_inner()
            .due_time
            .ok_or("due_time")?;
        assert_eq!(
            case.due_at,
            Some(expected),
            "{matter}: the clock starts then"
        );
        let cszm = case
            .materials
            .iter()
            .find(|m| m.material_code == CSZM)
            .ok_or_else(|| format!("{matter} carries CSZM: {:?}", case.materials))?;
        assert_eq!(cszm.form(), MaterialForm::Electronic);
        assert!(
            has_line(case, &format!("由本件事成员「{PROVIDER_NAME}」出具")),
            "{matter}: {:?}",
            case.timeline
        );

        // Now in its office's inbox, due as the window says, with the 出生医学证明.
        let inbox = reviewer(&env, review_svc.port(), &case.responsible_office_id);
        let assignment = state_until(
            &inbox,
            &case.case_id,
            "routed to its office",
            AssignmentState::Routed,
        )
        .await?;
        assert_eq!(assignment.due_at, case.due_at, "{matter}");
        assert!(
            assignment.materials.iter().any(|m| m.material_code == CSZM),
            "{matter}: the office sees CSZM"
        );
    }
    // The 社保卡 member's office: they wait no more.
    let seen = waiting_at_office_until(
        &renshe,
        &sbk.case_id,
        "the waiting members ROUTED at an office",
        CaseStatus::Routed,
    )
    .await?;
    for matter in WAITING {
        assert!(
            shown_member(&seen, matter)?.waiting_for.is_empty(),
            "{matter}"
        );
    }
    assert_eq!(shown_status(&seen), BundleStatus::InProgress);

    shut_down(env, [hotline_svc, review_svc, intake_svc]).await?;
    Ok(())
}

/// (b) The 出生医学证明 is denied: the members waiting for it are withdrawn with the reason, and
/// the bundle ends as the remaining member decides — PARTLY_DENIED when it is approved,
/// DENIED when it is denied too. A provider withdrawn at the window withdraws them as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_provider_denied_or_withdrawn_ends_the_waiting_members() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc]) = start::<(Intake, Review, Hotline)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let calls = hotline_operator(&env, hotline_svc.port());

    for (key, last, expected) in [
        (
            "order-denied-1",
            Decision::Approve,
            BundleStatus::PartlyDenied,
        ),
        ("order-denied-2", Decision::Deny, BundleStatus::Denied),
    ] {
        let bundle = submit_birth(&mut catalog, &mut window, key).await?;
        provider_decides(
            &env,
            review_svc.port(),
            &mut catalog,
            &bundle,
            Decision::Deny,
        )
        .await?;

        let ended = waiting_at_window_until(
            &window,
            &bundle.bundle_id,
            "the waiting members WITHDRAWN",
            CaseStatus::Withdrawn,
        )
        .await?;
        assert_eq!(
            ended.status(),
            BundleStatus::InProgress,
            "{key}: the 社保卡 member is still open"
        );
        for matter in WAITING {
            let case = member(&ended, matter)?;
            assert!(
                has_line(
                    case,
                    &format!("前序事项「{PROVIDER_NAME}」不予办理，本事项无法办理")
                ),
                "{key}/{matter}: {:?}",
                case.timeline
            );
            assert!(
                case.accepted_at.is_none(),
                "{key}/{matter} was never accepted"
            );
            assert!(waiting_for(case, matter).is_empty(), "{key}/{matter}");
        }

        // The office of the 社保卡 member, routed at once, sees the waiting members WITHDRAWN
        // although they never reached an office, the bundle still in progress.
        let sbk = member(&bundle, "RS-SBK-SL")?;
        let mut renshe = reviewer(&env, review_svc.port(), &sbk.responsible_office_id);
        let seen = waiting_at_office_until(
            &renshe,
            &sbk.case_id,
            &format!("{key}: the waiting members WITHDRAWN at an office"),
            CaseStatus::Withdrawn,
        )
        .await?;
        assert_eq!(shown_status(&seen), BundleStatus::InProgress, "{key}");
        for matter in WAITING {
            assert!(
                shown_member(&seen, matter)?.waiting_for.is_empty(),
                "{key}/{matter}"
            );
        }

        decide(&mut renshe, &mut catalog, sbk, last).await?;
        let done = bundle_until(
            &window,
            &bundle.bundle_id,
            &format!("{key}: {expected:?}"),
            |b| b.status() == expected,
        )
        .await?;
        for matter in WAITING {
            assert_eq!(member(&done, matter)?.status(), CaseStatus::Withdrawn);
        }
        // The office ends the bundle as the window does, the dependants WITHDRAWN and the
        // provider denied.
        let seen = assignment_until(
            &renshe,
            &sbk.case_id,
            &format!("{key}: an office: {expected:?}"),
            |a| shown_status(a) == expected,
        )
        .await?;
        for matter in WAITING {
            assert_eq!(
                shown_member(&seen, matter)?.status(),
                CaseStatus::Withdrawn,
                "{key}/{matter}"
            );
        }
        assert!(
            matches!(
                shown_member(&seen, PROVIDER)?.status(),
                CaseStatus::Denied | CaseStatus::Completed
            ),
            "{key}: {:?}",
            seen.bundle
        );
        // The hotline, asked about a withdrawn member, shows it and the bundle's end.
        let waiting = member(&bundle, WAITING[1])?;
        let view = hotline_until(
            &calls,
            &waiting.case_number,
            &format!("the hotline: {expected:?}"),
            |v| {
                v.status() == CaseStatus::Withdrawn
                    && v.bundle.as_ref().is_some_and(|b| b.status() == expected)
            },
        )
        .await?;
        let at_hotline = view.bundle.as_ref().ok_or("the hotline shows the bundle")?;
        for matter in WAITING {
            let shown = at_hotline
                .members
                .iter()
                .find(|m| m.matter_code == matter)
                .ok_or_else(|| format!("{key}: {matter} at the hotline"))?;
            assert_eq!(shown.status(), CaseStatus::Withdrawn, "{key}/{matter}");
            assert!(shown.waiting_for.is_empty(), "{key}/{matter}: {shown:?}");
        }
    }

    // The window withdraws the 出生医学证明 member: the waiting members go with it.
    let bundle = submit_birth(&mut catalog, &mut window, "order-withdrawn").await?;
    let provider = member(&bundle, PROVIDER)?;
    window
        .withdraw_case(WithdrawCaseRequest {
            case_id: provider.case_id.clone(),
            reason: "申请人改为线下办理出生医学证明 / applying in person instead".to_owned(),
        })
        .await?;
    let shown = window
        .get_bundle(tongban_proto::intake::v1::GetBundleRequest {
            bundle_id: bundle.bundle_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    // The same transaction: nothing to wait for.
    for matter in WAITING {
        let case = member(&shown, matter)?;
        assert_eq!(case.status(), CaseStatus::Withdrawn, "{matter}");
        assert!(
            has_line(
                case,
                &format!("前序事项「{PROVIDER_NAME}」已撤回，本事项无法办理")
            ),
            "{matter}: {:?}",
            case.timeline
        );
    }
    assert_eq!(member(&shown, "RS-SBK-SL")?.status(), CaseStatus::Routed);
    assert_eq!(shown.status(), BundleStatus::InProgress);

    shut_down(env, [hotline_svc, review_svc, intake_svc]).await?;
    Ok(())
}

/// (c) A member withdrawn at the window while it waits never reached an office, yet an office
/// watching another member of the bundle receives that member again, the withdrawn one shown
/// WITHDRAWN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_office_learns_of_a_waiting_member_withdrawn() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());

    let bundle = submit_birth(&mut catalog, &mut window, "order-watch").await?;
    let sbk = member(&bundle, "RS-SBK-SL")?;
    let renshe = reviewer(&env, review_svc.port(), &sbk.responsible_office_id);
    state_until(
        &renshe,
        &sbk.case_id,
        "the 社保卡 member ROUTED",
        AssignmentState::Routed,
    )
    .await?;

    let mut stream = renshe
        .clone()
        .watch_assignments(WatchAssignmentsRequest::default())
        .await?
        .into_inner();
    let deadline = tokio::time::Instant::now() + PROPAGATION;
    let mut read = Vec::new();
    // Reads until the 社保卡 member arrives with its bundle as `want` accepts.
    let mut next_sbk = async |what: &str, want: &dyn Fn(&Assignment) -> bool| {
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = tokio::time::timeout(left, stream.message())
                .await
                .map_err(|_| format!("{what}: not in time; read {read:?}"))??
                .ok_or_else(|| format!("{what}: the stream ended"))?;
            read.push(next.clone());
            if next.case_id == sbk.case_id && want(&next) {
                return Ok::<Assignment, Box<dyn std::error::Error>>(next);
            }
        }
    };
    let snapshot = next_sbk("the snapshot", &|_| true).await?;
    let gone = WAITING[0];
    assert_eq!(
        shown_member(&snapshot, gone)?.status(),
        CaseStatus::Submitted
    );

    let case = member(&bundle, gone)?;
    window
        .withdraw_case(WithdrawCaseRequest {
            case_id: case.case_id.clone(),
            reason: "申请人暂不办理生育登记 / not now".to_owned(),
        })
        .await?;
    let followed = next_sbk(
        "the 社保卡 member again, the waiting member WITHDRAWN",
        &|a| shown_member(a, gone).is_ok_and(|m| m.status() == CaseStatus::Withdrawn),
    )
    .await?;
    assert_eq!(
        followed.state(),
        AssignmentState::Routed,
        "its own case untouched"
    );
    assert_eq!(shown_status(&followed), BundleStatus::InProgress);
    for matter in &WAITING[1..] {
        let m = shown_member(&followed, matter)?;
        assert_eq!(m.status(), CaseStatus::Submitted, "{matter}");
        assert_eq!(m.waiting_for, [PROVIDER_NAME], "{matter}");
    }

    drop(stream);
    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}
