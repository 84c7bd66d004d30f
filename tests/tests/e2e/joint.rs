//! 多地联办 (MODE_JOINT) end to end: a case split into parts, one per responsible office; parts in
//! order and in parallel; a denial of one part ending the case; each office seeing only its own
//! part; a withdrawal closing every part; the 延长 allowance counted over the case; and the
//! refusals of bad joint input.

use std::collections::BTreeSet;

use prost_types::Timestamp;
use tongban_e2e::{
    Authed, DESTINATION, GJJ, GZDD, HOME, Hotline, Intake, Review, TAIYUAN_GONGAN, WINDOW,
    WUTAI_GONGAN, XINZHOU_GJJ, YINCHUAN_GJJ, YINCHUAN_GONGAN, approve, assignment_until,
    case_until, catalog, claim, claim_when_routed, decide_request, hotline_operator, hotline_until,
    joint_request, part, passing_checklist, presented, refusal, refused_naming, review, reviewer,
    shut_down, start, state_of, state_until, supplement_request, unmasked_personal_data,
    window_clients,
};
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::catalog::v1::{ComputeDueDateRequest, GetMatterRequest};
use tongban_proto::common::v1::{CaseStatus, Decision, Mode, PartState, Scope};
use tongban_proto::intake::v1::{
    ListCasesRequest, SubmitBundleRequest, SupplementCaseRequest, WithdrawCaseRequest,
};
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_proto::review::v1::{
    Assignment, AssignmentState, ExtendDeadlineRequest, GetAssignmentRequest,
    ListAssignmentsRequest,
};
use tongban_runtime::auth::Role;
use tongban_runtime::status::details;
use tonic::Code;

use crate::TestResult;

/// Case `case_id` as listed in the office's inbox (ListAssignments), if listed.
async fn listed(
    inbox: &ReviewServiceClient<Authed>,
    case_id: &str,
) -> Result<Option<Assignment>, tonic::Status> {
    let all = inbox
        .clone()
        .list_assignments(ListAssignmentsRequest {
            limit: 1000,
            ..Default::default()
        })
        .await?
        .into_inner()
        .assignments;
    Ok(all.into_iter().find(|a| a.case_id == case_id))
}

/// Sequential parts: 户口迁移 from 银川 to 五台. 银川's 迁出 part waits until 五台 approved the
/// 迁入; only then can 银川 act, and the case is approved when both parts are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_sequential_parts() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let mut qr_office = reviewer(&env, review_svc.port(), WUTAI_GONGAN);
    let mut qc_office = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);

    let request = joint_request(&mut catalog, "joint-seq", GZDD, HOME, DESTINATION).await?;
    let accepted = window.submit_case(request).await?.into_inner();
    let case_id = accepted.case_id.clone();

    // The response routes each part to its own office; the first part's office leads.
    let codes: Vec<&str> = accepted
        .parts
        .iter()
        .map(|p| p.part_code.as_str())
        .collect();
    assert_eq!(codes, ["QR", "QC"], "{:?}", accepted.parts);
    let qr = part(&accepted.parts, "QR")?;
    assert_eq!(qr.office_id, WUTAI_GONGAN);
    assert_eq!(qr.state(), PartState::Routed);
    assert_eq!(qr.scope(), Scope::Local);
    assert!(qr.after.is_empty());
    assert_eq!(qr.division, DESTINATION);
    assert_eq!(qr.locality, "destination_division");
    let qc = part(&accepted.parts, "QC")?;
    assert_eq!(qc.office_id, YINCHUAN_GONGAN);
    assert_eq!(qc.state(), PartState::Waiting);
    assert_eq!(qc.scope(), Scope::CrossProvince);
    assert_eq!(qc.after, ["QR"]);
    assert_eq!(qc.division, HOME);
    assert_eq!(qc.locality, "home_division");
    assert_eq!(accepted.responsible_office_id, WUTAI_GONGAN);
    assert_eq!(
        accepted.scope(),
        Scope::CrossProvince,
        "the widest part scope"
    );

    // 银川 sees its part waiting for 迁入地审批 and can do nothing with it yet.
    let waiting = state_until(
        &qc_office,
        &case_id,
        "银川 lists QC as WAITING",
        AssignmentState::Waiting,
    )
    .await?;
    assert_eq!(waiting.part_code, "QC");
    assert_eq!(waiting.part_name, "迁出地办理迁出");
    assert_eq!(waiting.waiting_for, ["迁入地审批"]);
    assert_eq!(waiting.review_point_codes, ["R_QC"]);
    let in_list = listed(&qc_office, &case_id)
        .await?
        .ok_or("QC in 银川's list")?;
    assert_eq!(in_list.state(), AssignmentState::Waiting);

    let refused = refusal(
        qc_office.claim_case(claim(&case_id)).await,
        Code::FailedPrecondition,
        "a waiting part cannot be claimed",
    )?;
    let (_, preconditions) = details(&refused);
    assert!(
        preconditions.iter().any(|v| v.kind == "PART_WAITING"),
        "PART_WAITING among {preconditions:?}"
    );
    assert!(
        refused_naming(&refused, Code::FailedPrecondition, "迁入地审批"),
        "the refusal names the part awaited: {refused:?}"
    );
    let qc_points = passing_checklist(&mut catalog, GZDD, Some("QC")).await?;
    refusal(
        qc_office
            .decide_case(approve(&case_id, qc_points.clone()))
            .await,
        Code::FailedPrecondition,
        "a waiting part cannot be decided",
    )?;

    // 五台 claims and approves 迁入 with its own review points.
    let routed = state_until(
        &qr_office,
        &case_id,
        "五台 lists QR as ROUTED",
        AssignmentState::Routed,
    )
    .await?;
    assert_eq!(routed.part_code, "QR");
    assert_eq!(routed.part_name, "迁入地审批");
    assert!(routed.waiting_for.is_empty());
    let qr_points = passing_checklist(&mut catalog, GZDD, Some("QR")).await?;
    let qr_codes: Vec<&str> = qr_points
        .iter()
        .map(|c| c.review_point_code.as_str())
        .collect();
    assert_eq!(routed.review_point_codes, qr_codes);
    assert!(!qr_codes.contains(&"R_QC"), "{qr_codes:?}");
    let claimed = qr_office.claim_case(claim(&case_id)).await?.into_inner();
    assert_eq!(claimed.state(), AssignmentState::Claimed);
    let decided = qr_office
        .decide_case(approve(&case_id, qr_points))
        .await?
        .into_inner();
    assert_eq!(decided.state(), AssignmentState::Decided);
    assert_eq!(decided.decision(), Decision::Approve);

    // 迁出 starts now; the case as a whole is not approved yet.
    let ready = state_until(
        &qc_office,
        &case_id,
        "银川's QC becomes ROUTED",
        AssignmentState::Routed,
    )
    .await?;
    assert!(ready.waiting_for.is_empty(), "{ready:?}");
    let midway = case_until(&window, &case_id, "the window sees QR approved", |c| {
        state_of(&c.parts, "QR") == PartState::Approved
    })
    .await?;
    assert!(
        !matches!(
            midway.status(),
            CaseStatus::Approved | CaseStatus::Completed | CaseStatus::Denied
        ),
        "one part of two approved does not decide the case: {:?}",
        midway.status()
    );
    assert_eq!(midway.decision(), Decision::Unspecified);

    // 银川 claims and approves 迁出.
    let claimed = qc_office.claim_case(claim(&case_id)).await?.into_inner();
    assert_eq!(claimed.state(), AssignmentState::Claimed);
    let decided = qc_office
        .decide_case(approve(&case_id, qc_points))
        .await?
        .into_inner();
    assert_eq!(decided.state(), AssignmentState::Decided);

    // The window: approved (or already 办结), both parts approved, each in the timeline.
    let done = case_until(
        &window,
        &case_id,
        "the window sees the case approved",
        |c| {
            matches!(c.status(), CaseStatus::Approved | CaseStatus::Completed)
                && c.parts.iter().all(|p| p.state() == PartState::Approved)
        },
    )
    .await?;
    assert_eq!(done.decision(), Decision::Approve);
    assert_eq!(done.parts.len(), 2);
    assert_eq!(done.responsible_office_id, WUTAI_GONGAN);
    assert_eq!(done.destination_division, DESTINATION);
    for p in &done.parts {
        assert!(
            done.timeline.iter().any(|t| t.description.contains(&p.name)
                || (!p.name_en.is_empty() && t.description_en.contains(&p.name_en))),
            "the timeline shows part {}: {:?}",
            p.name,
            done.timeline
        );
    }

    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// Parallel parts: 住房公积金转移接续. Both centres work at once; one 补正 at a time holds the
/// other part's decision; the case is approved only when both parts are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_parallel_parts() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let mut zr_office = reviewer(&env, review_svc.port(), XINZHOU_GJJ);
    let mut zc_office = reviewer(&env, review_svc.port(), YINCHUAN_GJJ);

    let request = joint_request(&mut catalog, "joint-par", GJJ, HOME, DESTINATION).await?;
    let accepted = window.submit_case(request).await?.into_inner();
    let case_id = accepted.case_id.clone();
    let offices: Vec<(&str, &str, PartState)> = accepted
        .parts
        .iter()
        .map(|p| (p.part_code.as_str(), p.office_id.as_str(), p.state()))
        .collect();
    assert_eq!(
        offices,
        [
            ("ZR", XINZHOU_GJJ, PartState::Routed),
            ("ZC", YINCHUAN_GJJ, PartState::Routed),
        ]
    );
    assert_eq!(accepted.responsible_office_id, XINZHOU_GJJ);

    // Both offices can claim at once.
    for (office, code) in [(&zr_office, "ZR"), (&zc_office, "ZC")] {
        let routed = state_until(
            office,
            &case_id,
            &format!("{code} is ROUTED"),
            AssignmentState::Routed,
        )
        .await?;
        assert_eq!(routed.part_code, code);
    }
    let zr = zr_office.claim_case(claim(&case_id)).await?.into_inner();
    let zc = zc_office.claim_case(claim(&case_id)).await?.into_inner();
    assert_eq!(zr.state(), AssignmentState::Claimed);
    assert_eq!(zc.state(), AssignmentState::Claimed);

    // 转入地 asks for 补正: while it is open, 转出地 can neither decide nor ask for another.
    let asked = zr_office
        .request_supplement(supplement_request(
            &case_id,
            &["JCZM"],
            "请补充原缴存地缴存证明 / please add the contribution record",
        ))
        .await?
        .into_inner();
    assert_eq!(asked.state(), AssignmentState::SupplementRequested);
    let zc_points = passing_checklist(&mut catalog, GJJ, Some("ZC")).await?;
    refusal(
        zc_office
            .decide_case(approve(&case_id, zc_points.clone()))
            .await,
        Code::FailedPrecondition,
        "no decision while another part waits for 补正",
    )?;
    refusal(
        zc_office
            .request_supplement(supplement_request(
                &case_id,
                &["SFZ"],
                "请补充身份证 / please add the ID card",
            ))
            .await,
        Code::FailedPrecondition,
        "one 补正 at a time",
    )?;

    // The window sees the 补正 and hands the material in; 转入地 sees it arrive.
    let waiting = case_until(&window, &case_id, "the window sees 补正", |c| {
        c.status() == CaseStatus::SupplementRequested
    })
    .await?;
    assert_eq!(
        state_of(&waiting.parts, "ZR"),
        PartState::SupplementRequested
    );
    assert_eq!(waiting.due_at, None, "the clock stops during 补正");
    window
        .supplement_case(SupplementCaseRequest {
            case_id: case_id.clone(),
            materials: vec![presented("JCZM", Mode::Joint, false)],
            note: "已补充缴存证明".to_owned(),
        })
        .await?;
    state_until(
        &zr_office,
        &case_id,
        "ZR becomes SUPPLEMENTED",
        AssignmentState::Supplemented,
    )
    .await?;

    // 转出地 approves first: the case is not approved with one part of two.
    let decided = zc_office
        .decide_case(approve(&case_id, zc_points))
        .await?
        .into_inner();
    assert_eq!(decided.state(), AssignmentState::Decided);
    let midway = case_until(&window, &case_id, "the window sees ZC approved", |c| {
        state_of(&c.parts, "ZC") == PartState::Approved
    })
    .await?;
    assert!(
        !matches!(
            midway.status(),
            CaseStatus::Approved | CaseStatus::Completed | CaseStatus::Denied
        ),
        "one part of two approved does not decide the case: {:?}",
        midway.status()
    );
    assert_eq!(state_of(&midway.parts, "ZR"), PartState::Supplemented);
    let other = zr_office
        .get_assignment(GetAssignmentRequest {
            case_id: case_id.clone(),
        })
        .await?
        .into_inner();
    assert!(
        !matches!(
            other.case_status(),
            CaseStatus::Approved | CaseStatus::Completed
        ),
        "{other:?}"
    );

    // 转入地 approves: now the case is.
    let zr_points = passing_checklist(&mut catalog, GJJ, Some("ZR")).await?;
    zr_office.decide_case(approve(&case_id, zr_points)).await?;
    let done = case_until(
        &window,
        &case_id,
        "the window sees the case approved",
        |c| matches!(c.status(), CaseStatus::Approved | CaseStatus::Completed),
    )
    .await?;
    assert_eq!(done.decision(), Decision::Approve);
    assert!(
        done.parts.iter().all(|p| p.state() == PartState::Approved),
        "{:?}",
        done.parts
    );

    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// A denial of one part ends the case: the other part — already claimed — is cancelled, the
/// window sees the case denied with the denying part named, and the other office can no longer
/// act on its part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_denial_ends_the_case() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let mut zr_office = reviewer(&env, review_svc.port(), XINZHOU_GJJ);
    let mut zc_office = reviewer(&env, review_svc.port(), YINCHUAN_GJJ);

    let request = joint_request(&mut catalog, "joint-deny", GJJ, HOME, DESTINATION).await?;
    let case_id = window.submit_case(request).await?.into_inner().case_id;
    for office in [&zr_office, &zc_office] {
        state_until(
            office,
            &case_id,
            "the part is ROUTED",
            AssignmentState::Routed,
        )
        .await?;
    }
    zc_office.claim_case(claim(&case_id)).await?;
    zr_office.claim_case(claim(&case_id)).await?;

    // 转入地 (the first part) denies: its account is not open.
    let mut checklist = passing_checklist(&mut catalog, GJJ, Some("ZR")).await?;
    let first = checklist.first_mut().ok_or("ZR has a review point")?;
    first.passed = false;
    first.note = "转入地个人账户未开立".to_owned();
    let reason = "转入地个人账户未开立，不能办理转移";
    let denied = zr_office
        .decide_case(decide_request(&case_id, Decision::Deny, reason, checklist))
        .await?
        .into_inner();
    assert_eq!(denied.state(), AssignmentState::Decided);
    assert_eq!(denied.decision(), Decision::Deny);

    // The window: denied, the reason naming the part, the other part cancelled.
    let done = case_until(&window, &case_id, "the window sees the case denied", |c| {
        // A denial is 办结 at once when nothing is to be delivered.
        matches!(c.status(), CaseStatus::Denied | CaseStatus::Completed)
            && c.decision() == Decision::Deny
            && state_of(&c.parts, "ZC") == PartState::Cancelled
    })
    .await?;
    assert_eq!(done.decision(), Decision::Deny);
    assert_eq!(
        done.decision_reason,
        format!("「转入地受理并核对账户」不予：{reason}")
    );
    assert_eq!(state_of(&done.parts, "ZR"), PartState::Denied);

    // 转出地's inbox shows its part cancelled; it can no longer act on it.
    let cancelled = state_until(
        &zc_office,
        &case_id,
        "ZC becomes CANCELLED",
        AssignmentState::Cancelled,
    )
    .await?;
    assert_eq!(cancelled.part_code, "ZC");
    assert!(
        !cancelled.decision_reason.contains(reason),
        "the other office does not see the denying part's reason: {cancelled:?}"
    );
    let zc_points = passing_checklist(&mut catalog, GJJ, Some("ZC")).await?;
    refusal(
        zc_office.decide_case(approve(&case_id, zc_points)).await,
        Code::FailedPrecondition,
        "a cancelled part cannot be decided",
    )?;
    refusal(
        zc_office.claim_case(claim(&case_id)).await,
        Code::FailedPrecondition,
        "a cancelled part cannot be claimed",
    )?;

    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// Each office sees its own part only: its part code and review points, the shared materials,
/// and nothing of the other office (no office id, decision or reason of the other part in any
/// field); an office without a part sees nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_each_office_sees_only_its_part() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let mut qr_office = reviewer(&env, review_svc.port(), WUTAI_GONGAN);
    let qc_office = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);
    let mut stranger = reviewer(&env, review_svc.port(), TAIYUAN_GONGAN);

    let request = joint_request(&mut catalog, "joint-view", GZDD, HOME, DESTINATION).await?;
    let shared: BTreeSet<String> = request
        .materials
        .iter()
        .map(|m| m.material_code.clone())
        .collect();
    let case_id = window.submit_case(request).await?.into_inner().case_id;
    let matter = catalog
        .get_matter(GetMatterRequest {
            code: GZDD.to_owned(),
        })
        .await?
        .into_inner();
    let points = |code: &str| -> Result<Vec<String>, String> {
        matter
            .parts
            .iter()
            .find(|p| p.code == code)
            .map(|p| p.review_point_codes.clone())
            .ok_or_else(|| format!("{GZDD} has part {code}"))
    };

    // Each office's part, in GetAssignment and in ListAssignments alike.
    let views = [
        (&qr_office, "QR", WUTAI_GONGAN, YINCHUAN_GONGAN),
        (&qc_office, "QC", YINCHUAN_GONGAN, WUTAI_GONGAN),
    ];
    for (office, code, own, other) in views {
        let got = assignment_until(office, &case_id, &format!("{own} lists {code}"), |a| {
            a.part_code == code
        })
        .await?;
        let in_list = listed(office, &case_id)
            .await?
            .ok_or_else(|| format!("{own} lists the case"))?;
        for seen in [&got, &in_list] {
            assert_eq!(seen.part_code, code);
            assert_eq!(seen.office_id, own);
            assert_eq!(seen.review_point_codes, points(code)?);
            let materials: BTreeSet<String> = seen
                .materials
                .iter()
                .map(|m| m.material_code.clone())
                .collect();
            assert_eq!(materials, shared, "the shared materials");
            let text = format!("{seen:?}");
            assert!(
                !text.contains(other),
                "{own}'s view shows the other office {other}: {text}"
            );
        }
    }

    // After 迁入地审批 decided with its own reason and checklist, 迁出地 still sees none of it.
    let secret = "五台县公安局审批意见：调入单位集体户同意落户";
    let mut qr_points = passing_checklist(&mut catalog, GZDD, Some("QR")).await?;
    for item in &mut qr_points {
        item.note = format!("五台核查-{}", item.review_point_code);
    }
    claim_when_routed(&mut qr_office, &case_id, "QR is ROUTED").await?;
    qr_office
        .decide_case(decide_request(
            &case_id,
            Decision::Approve,
            secret,
            qr_points,
        ))
        .await?;
    let qc_view = state_until(
        &qc_office,
        &case_id,
        "QC becomes ROUTED",
        AssignmentState::Routed,
    )
    .await?;
    let text = format!("{qc_view:?}");
    for hidden in [secret, "五台核查", WUTAI_GONGAN] {
        assert!(
            !text.contains(hidden),
            "银川's view shows {hidden} of the other part: {text}"
        );
    }
    assert!(qc_view.checklist.is_empty(), "{qc_view:?}");
    assert_eq!(qc_view.decision(), Decision::Unspecified);
    assert_eq!(qc_view.review_point_codes, points("QC")?);
    let qr_view = qr_office
        .get_assignment(GetAssignmentRequest {
            case_id: case_id.clone(),
        })
        .await?
        .into_inner();
    assert!(
        !format!("{qr_view:?}").contains(YINCHUAN_GONGAN),
        "五台's view shows 银川: {qr_view:?}"
    );

    // An office with no part: nothing listed, nothing to get or claim.
    let theirs = stranger
        .list_assignments(ListAssignmentsRequest::default())
        .await?
        .into_inner();
    assert!(
        theirs.assignments.iter().all(|a| a.case_id != case_id),
        "{TAIYUAN_GONGAN} lists the case"
    );
    refusal(
        stranger
            .get_assignment(GetAssignmentRequest {
                case_id: case_id.clone(),
            })
            .await,
        Code::NotFound,
        "not their case",
    )?;
    refusal(
        stranger.claim_case(claim(&case_id)).await,
        Code::NotFound,
        "not their case",
    )?;

    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// Bad joint and bundle input: a missing or invalid destination, an unknown bundle, and joint
/// handling of a matter without parts. Nothing is opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_and_bundle_bad_input() -> TestResult {
    let (env, [intake_svc]) = start::<(Intake,)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());

    // 户口迁移 jointly without (or with a bad) 迁入地.
    for (key, destination) in [("no-destination", ""), ("bad-destination", "999999")] {
        let request = joint_request(&mut catalog, key, GZDD, HOME, destination).await?;
        let refused = window
            .submit_case(request)
            .await
            .expect_err("the destination is needed");
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "{destination:?}: {refused:?}"
        );
        let (fields, _) = details(&refused);
        assert!(
            fields
                .iter()
                .any(|v| v.field == "destination_division" && !v.description.is_empty()),
            "{destination:?}: destination_division among {fields:?}"
        );
    }

    // An unknown bundle.
    let (mut request, _) =
        tongban_e2e::bundle_request(&mut catalog, "bad-bundle", tongban_e2e::BIRTH, DESTINATION)
            .await?;
    "YJS-NO-SUCH".clone_into(&mut request.bundle_code);
    let refused = refusal(
        window.submit_bundle(request).await,
        Code::InvalidArgument,
        "an unknown bundle is refused",
    )?;
    let (fields, _) = details(&refused);
    assert!(
        fields.iter().any(|v| v.field == "bundle_code"),
        "bundle_code among {fields:?}"
    );
    let refused = refusal(
        window
            .submit_bundle(SubmitBundleRequest {
                bundle_code: "YJS-NO-SUCH".to_owned(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "an empty request is refused",
    )?;
    let (fields, _) = details(&refused);
    assert!(
        fields.iter().any(|v| v.field == "bundle_code"),
        "bundle_code among {fields:?}"
    );

    // 开具户籍类证明 has no parts and does not offer 多地联办: the refusal names the mode.
    let request = joint_request(&mut catalog, "not-joint", "GA-HJ-ZM", HOME, DESTINATION).await?;
    let refused = refusal(
        window.submit_case(request).await,
        Code::InvalidArgument,
        "a matter without parts cannot be joint",
    )?;
    let (fields, _) = details(&refused);
    assert!(
        fields
            .iter()
            .any(|v| v.field == "mode" && !v.description.is_empty()),
        "mode among {fields:?}"
    );

    // Nothing was opened by any of these.
    let cases = window
        .list_cases(ListCasesRequest {
            window_office_id: WINDOW.to_owned(),
            limit: 100,
        })
        .await?
        .into_inner()
        .cases;
    assert!(cases.is_empty(), "no case opened: {cases:?}");

    shut_down(env, [intake_svc]).await?;
    Ok(())
}

/// The 10 working days 行政许可法 Art. 42 allows at most; GJJ-ZY-JX sets no allowance of its own
/// (CatalogService.GetMatter does not show one), so the domain default applies.
const EXTENSION_ALLOWANCE: u32 = 10;

/// The due moment `working_days` working days after `start`, as the catalog computes it.
async fn due_after(
    catalog: &mut CatalogServiceClient<Authed>,
    start: Timestamp,
    working_days: u32,
) -> Result<Timestamp, Box<dyn std::error::Error>> {
    let due = catalog
        .compute_due_date(ComputeDueDateRequest {
            start_time: Some(start),
            working_days,
        })
        .await?
        .into_inner()
        .due_time
        .ok_or("ComputeDueDate answers a due_time")?;
    Ok(due)
}

/// 撤回 of a 多地联办 case: the window withdraws a 户口迁移 whose 迁入地审批 is claimed and whose
/// 迁出 still waits. Every part ends WITHDRAWN at the window, in both offices' inboxes and at the
/// 12345 hotline, and neither office can act on its part any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_withdrawal_closes_every_part() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc]) = start::<(Intake, Review, Hotline)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let mut qr_office = reviewer(&env, review_svc.port(), WUTAI_GONGAN);
    let mut qc_office = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);
    let calls = hotline_operator(&env, hotline_svc.port());

    let request = joint_request(&mut catalog, "joint-withdraw", GZDD, HOME, DESTINATION).await?;
    let accepted = window.submit_case(request).await?.into_inner();
    let case_id = accepted.case_id.clone();

    // 五台 claims 迁入地审批 while 银川's 迁出 waits for it.
    state_until(
        &qr_office,
        &case_id,
        "QR is ROUTED",
        AssignmentState::Routed,
    )
    .await?;
    state_until(
        &qc_office,
        &case_id,
        "QC is WAITING",
        AssignmentState::Waiting,
    )
    .await?;
    qr_office.claim_case(claim(&case_id)).await?;
    let claimed = case_until(&window, &case_id, "the window sees QR claimed", |c| {
        c.status() == CaseStatus::Claimed && state_of(&c.parts, "QR") == PartState::Claimed
    })
    .await?;
    assert_eq!(state_of(&claimed.parts, "QC"), PartState::Waiting);

    // The window withdraws the case: both parts end with it.
    let reason = "申请人工作调动取消，不再迁移户口";
    let withdrawn = window
        .withdraw_case(WithdrawCaseRequest {
            case_id: case_id.clone(),
            reason: reason.to_owned(),
        })
        .await?
        .into_inner();
    assert_eq!(withdrawn.status(), CaseStatus::Withdrawn);
    for code in ["QR", "QC"] {
        assert_eq!(
            state_of(&withdrawn.parts, code),
            PartState::Withdrawn,
            "part {code}: {:?}",
            withdrawn.parts
        );
    }
    let shown = case_until(&window, &case_id, "GetCase shows the case withdrawn", |c| {
        c.status() == CaseStatus::Withdrawn
    })
    .await?;
    assert_eq!(shown.parts.len(), 2, "{:?}", shown.parts);
    assert!(
        shown
            .parts
            .iter()
            .all(|p| p.state() == PartState::Withdrawn),
        "{:?}",
        shown.parts
    );
    assert_eq!(shown.decision(), Decision::Unspecified);

    // Each office's part is WITHDRAWN, the one that was claimed and the one that waited.
    for (office, code) in [(&qr_office, "QR"), (&qc_office, "QC")] {
        let seen = state_until(
            office,
            &case_id,
            &format!("{code} becomes WITHDRAWN"),
            AssignmentState::Withdrawn,
        )
        .await?;
        assert_eq!(seen.part_code, code);
        assert_eq!(seen.case_status(), CaseStatus::Withdrawn, "{seen:?}");
        assert!(seen.waiting_for.is_empty(), "{seen:?}");
        assert_eq!(seen.decision(), Decision::Unspecified);
    }

    // Neither office can act on its part any more.
    let qr_points = passing_checklist(&mut catalog, GZDD, Some("QR")).await?;
    let qc_points = passing_checklist(&mut catalog, GZDD, Some("QC")).await?;
    let refusals = [
        (
            "QR decided",
            qr_office.decide_case(approve(&case_id, qr_points)).await,
        ),
        (
            "QR 补正",
            qr_office
                .request_supplement(supplement_request(
                    &case_id,
                    &["SFZ"],
                    "请补充身份证 / please add the ID card",
                ))
                .await,
        ),
        ("QC claimed", qc_office.claim_case(claim(&case_id)).await),
        (
            "QC decided",
            qc_office.decide_case(approve(&case_id, qc_points)).await,
        ),
    ];
    for (what, answer) in refusals {
        let refused = answer.err().ok_or(format!("{what} after the withdrawal"))?;
        assert_eq!(
            refused.code(),
            Code::FailedPrecondition,
            "{what}: {refused:?}"
        );
    }

    // The 12345 hotline shows the case and both parts withdrawn, masked.
    let view = hotline_until(
        &calls,
        &accepted.case_number,
        "the hotline sees every part withdrawn",
        |v| {
            v.status() == CaseStatus::Withdrawn
                && v.parts.len() == 2
                && v.parts.iter().all(|p| p.state() == PartState::Withdrawn)
        },
    )
    .await?;
    let codes: BTreeSet<&str> = view.parts.iter().map(|p| p.part_code.as_str()).collect();
    assert_eq!(codes, BTreeSet::from(["QC", "QR"]));
    assert_eq!(
        unmasked_personal_data(&format!("{view:?}")),
        None,
        "the hotline view is masked"
    );

    shut_down(env, [hotline_svc, review_svc, intake_svc]).await?;
    Ok(())
}

/// 延长 (行政许可法 Art. 42) on a 多地联办 case is the case's: with both 住房公积金 parts under review,
/// each part's office head may extend, but together at most the allowance. The window's due
/// moment moves by exactly the working days granted; a reviewer may not extend at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_extension_is_counted_over_the_case() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let mut zr_office = reviewer(&env, review_svc.port(), XINZHOU_GJJ);
    let mut zc_office = reviewer(&env, review_svc.port(), YINCHUAN_GJJ);
    let mut zr_head = review(review_svc.port(), &env.mint(Role::OfficeHead, XINZHOU_GJJ));
    let mut zc_head = review(review_svc.port(), &env.mint(Role::OfficeHead, YINCHUAN_GJJ));

    let request = joint_request(&mut catalog, "joint-extend", GJJ, HOME, DESTINATION).await?;
    let accepted = window.submit_case(request).await?.into_inner();
    let case_id = accepted.case_id.clone();
    let for_case = |days: u32| ExtendDeadlineRequest {
        case_id: case_id.clone(),
        working_days: days,
        reason: "需要向原缴存地核实缴存记录 / the contribution record is being verified".to_owned(),
    };

    // Both parts are under review at once.
    for (office, code) in [(&zr_office, "ZR"), (&zc_office, "ZC")] {
        state_until(
            office,
            &case_id,
            &format!("{code} is ROUTED"),
            AssignmentState::Routed,
        )
        .await?;
    }
    zr_office.claim_case(claim(&case_id)).await?;
    zc_office.claim_case(claim(&case_id)).await?;

    // The promised limit counts from acceptance.
    let promised = catalog
        .get_matter(GetMatterRequest {
            code: GJJ.to_owned(),
        })
        .await?
        .into_inner()
        .promised_limit_days;
    let accepted_at = accepted.accepted_at.ok_or("accepted_at")?;
    let due = due_after(&mut catalog, accepted_at, promised).await?;
    assert_eq!(accepted.due_at, Some(due), "due after the promised limit");

    // A reviewer cannot extend, not even within the allowance.
    let refused = zr_office
        .extend_deadline(for_case(6))
        .await
        .err()
        .ok_or("a reviewer cannot extend")?;
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // 转入地's head extends by 6 working days: the window's due moment follows.
    zr_head.extend_deadline(for_case(6)).await?;
    let six = due_after(&mut catalog, accepted_at, promised + 6).await?;
    assert!(six.seconds > due.seconds, "{six:?} after {due:?}");
    case_until(
        &window,
        &case_id,
        "the window's due moment moves by 6",
        |c| c.due_at == Some(six),
    )
    .await?;

    // 转出地's head asks for 5 more: 6 + 5 is over the case's allowance, and the refusal names
    // it. (Nothing is granted: the 4 below would be refused after 6 + 5.)
    let refused = zc_head
        .extend_deadline(for_case(5))
        .await
        .err()
        .ok_or("6 + 5 working days are over the allowance")?;
    assert!(
        refused_naming(
            &refused,
            Code::FailedPrecondition,
            &format!("{EXTENSION_ALLOWANCE} 个工作日")
        ) || refused_naming(
            &refused,
            Code::FailedPrecondition,
            &format!("{EXTENSION_ALLOWANCE} working days")
        ),
        "refused naming the allowance of {EXTENSION_ALLOWANCE} working days: {refused:?}"
    );

    // 4 more fill the allowance exactly: the due moment moves by the 10 working days granted.
    zc_head.extend_deadline(for_case(4)).await?;
    let ten = due_after(&mut catalog, accepted_at, promised + EXTENSION_ALLOWANCE).await?;
    let extended = case_until(
        &window,
        &case_id,
        "the window's due moment moves by 6 + 4",
        |c| c.due_at == Some(ten),
    )
    .await?;
    assert_eq!(extended.status(), CaseStatus::Claimed);

    // The allowance is spent for every part's office.
    for (head, who) in [(&mut zr_head, XINZHOU_GJJ), (&mut zc_head, YINCHUAN_GJJ)] {
        let refused = head
            .extend_deadline(for_case(1))
            .await
            .err()
            .ok_or(format!("{who}: the allowance is spent"))?;
        assert_eq!(
            refused.code(),
            Code::FailedPrecondition,
            "{who}: {refused:?}"
        );
    }

    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// CatalogService.GetNotice with MODE_JOINT: the 一次性告知清单 lists each part with its own
/// office (五台 for 迁入地审批, 银川 for 迁出地办理迁出) and its order instead of one office; a
/// missing 迁入地 is stated in the notice; a bad one is INVALID_ARGUMENT naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_notice_lists_each_part_with_its_office() -> TestResult {
    use tongban_proto::catalog::v1::GetNoticeRequest;

    let (env, [intake_svc]) = start::<(Intake,)>().await?;
    let mut catalog = catalog(intake_svc.port(), &env.mint(Role::Clerk, WINDOW));
    let request = |mode: Mode, destination: &str| GetNoticeRequest {
        matter_code: GZDD.to_owned(),
        window_office_id: WINDOW.to_owned(),
        home_division: HOME.to_owned(),
        mode: mode.into(),
        destination_division: destination.to_owned(),
    };

    let notice = catalog
        .get_notice(request(Mode::Joint, DESTINATION))
        .await?
        .into_inner();
    let offices: Vec<(&str, &str)> = notice
        .parts
        .iter()
        .map(|p| (p.part_code.as_str(), p.office_id.as_str()))
        .collect();
    assert_eq!(
        offices,
        [("QR", WUTAI_GONGAN), ("QC", YINCHUAN_GONGAN)],
        "{notice:?}"
    );
    let qc = part(&notice.parts, "QC")?;
    assert_eq!(qc.after, ["QR"]);
    assert_eq!(qc.state(), PartState::Waiting);
    assert_eq!(qc.scope(), Scope::CrossProvince);
    assert_eq!(part(&notice.parts, "QR")?.state(), PartState::Routed);
    assert_eq!(
        notice.scope(),
        Scope::CrossProvince,
        "the widest part scope"
    );
    assert_eq!(
        notice.responsible_office.as_ref().map(|o| o.id.as_str()),
        Some(WUTAI_GONGAN),
        "the first part's office issues the result"
    );
    for expected in [
        "联办环节：",
        "1. 迁入地审批 (QR)",
        "办理机构：五台县公安局",
        "2. 迁出地办理迁出 (QC)",
        "办理机构：银川市公安局",
        "在「迁入地审批」准予后办理",
    ] {
        assert!(
            notice.text.contains(expected),
            "missing {expected:?} in\n{}",
            notice.text
        );
    }
    assert!(
        notice
            .text_en
            .contains("after \"Approval at the destination\" is approved"),
        "{}",
        notice.text_en
    );

    // Without the 迁入地 the notice still answers, stating why it cannot be routed.
    let refused = catalog
        .get_notice(request(Mode::Joint, ""))
        .await?
        .into_inner();
    assert!(refused.parts.is_empty(), "{refused:?}");
    assert!(
        refused.text.contains("不能通办：") && refused.text.contains("迁入地区划代码"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("1. 居民身份证 (SFZ)"),
        "{}",
        refused.text
    );

    // A 迁入地 that is not a valid code is bad input.
    let bad = refusal(
        catalog.get_notice(request(Mode::Joint, "999999")).await,
        Code::InvalidArgument,
        "a bad destination is refused",
    )?;
    let (fields, _) = details(&bad);
    assert!(
        fields.iter().any(|v| v.field == "destination_division"),
        "destination_division among {fields:?}"
    );

    // Without MODE_JOINT: one responsible office, as before.
    let single = catalog
        .get_notice(request(Mode::Unspecified, ""))
        .await?
        .into_inner();
    assert!(single.parts.is_empty());
    assert_eq!(
        single.responsible_office.as_ref().map(|o| o.id.as_str()),
        Some(YINCHUAN_GONGAN)
    );
    assert!(
        single.text.contains("办理机构：银川市公安局"),
        "{}",
        single.text
    );
    assert!(!single.text.contains("联办环节"), "{}", single.text);

    shut_down(env, [intake_svc]).await?;
    Ok(())
}
