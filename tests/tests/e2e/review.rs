//! Remote review across services: the responsible office's inbox, claim, 补正 and decision, the
//! window's and the hotline's view of the outcome, and a review service that crashes mid-stream.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tongban_e2e::{
    Hotline, Intake, PHONE, Review, TAIYUAN_GONGAN, WINDOW, YINCHUAN_GONGAN, case_number_digits,
    case_until, catalog, claim, decide_request, hotline, hotline_until, intake, listed_until,
    mod11_2, presented, refusal, review, shut_down, start, state_until, submit_request,
    supplement_request, unknown_case_number,
};
use tongban_proto::common::v1::{CaseStatus, ChecklistItem, Decision, Mode};
use tongban_proto::hotline::v1::QueryCaseStatusRequest;
use tongban_proto::intake::v1::SupplementCaseRequest;
use tongban_proto::review::v1::{AssignmentState, GetAssignmentRequest, ListAssignmentsRequest};
use tongban_runtime::auth::Role;
use tongban_runtime::status::details;
use tongban_testkit::eventually;
use tonic::Code;

use crate::TestResult;

/// Claim, 补正, supplement and approval by the responsible office, seen from the window and the
/// 12345 hotline; other offices see nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_flow() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc]) = start::<(Intake, Review, Hotline)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let reviewer = env.mint(Role::Reviewer, YINCHUAN_GONGAN);
    let stranger = env.mint(Role::Reviewer, TAIYUAN_GONGAN);
    let operator = env.mint(Role::Hotline, "12345");
    let mut window = intake(intake_svc.port(), &clerk);
    let mut inbox = review(review_svc.port(), &reviewer);
    let mut other = review(review_svc.port(), &stranger);
    let mut calls = hotline(hotline_svc.port(), &operator);

    let request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "flow-1",
        "GA-HJ-ZM",
        "640104",
        Mode::Proxy,
    )
    .await?;
    let accepted = window.submit_case(request).await?.into_inner();
    let case_id = accepted.case_id.clone();

    // The responsible office's inbox shows it.
    listed_until(
        &inbox,
        &case_id,
        &format!("the case reaches {YINCHUAN_GONGAN}'s inbox"),
    )
    .await?;

    // Another office sees nothing and cannot act.
    let theirs = other
        .list_assignments(ListAssignmentsRequest::default())
        .await?
        .into_inner();
    assert!(
        theirs.assignments.is_empty(),
        "{TAIYUAN_GONGAN} sees no case"
    );
    refusal(
        other.claim_case(claim(&case_id)).await,
        Code::NotFound,
        "not their case",
    )?;
    refusal(
        other
            .get_assignment(GetAssignmentRequest {
                case_id: case_id.clone(),
            })
            .await,
        Code::NotFound,
        "not their case",
    )?;

    // 认领, then 补正.
    let claimed = inbox.claim_case(claim(&case_id)).await?.into_inner();
    assert_eq!(claimed.state(), AssignmentState::Claimed);
    let asked = inbox
        .request_supplement(supplement_request(
            &case_id,
            &["HKB"],
            "请补充居民户口簿 / please add the household register",
        ))
        .await?
        .into_inner();
    assert_eq!(asked.state(), AssignmentState::SupplementRequested);

    // The window sees the 补正 and the clock stopped.
    {
        let case = case_until(
            &window,
            &case_id,
            "the window sees SUPPLEMENT_REQUESTED",
            |case| case.status() == CaseStatus::SupplementRequested,
        )
        .await?;
        assert_eq!(case.due_at, None, "the clock stops during 补正");
        assert!(
            case.supplement_items.iter().any(|i| i == "HKB"),
            "items asked: {:?}",
            case.supplement_items
        );
    }

    // The window hands the material in; the reviewer sees it.
    let supplemented = window
        .supplement_case(SupplementCaseRequest {
            case_id: case_id.clone(),
            materials: vec![presented("HKB", Mode::Proxy, false)],
            note: "已补充户口簿".to_owned(),
        })
        .await?
        .into_inner();
    assert_eq!(supplemented.status(), CaseStatus::Supplemented);
    assert!(supplemented.due_at.is_some(), "the clock runs again");
    state_until(
        &inbox,
        &case_id,
        "the reviewer sees SUPPLEMENTED",
        AssignmentState::Supplemented,
    )
    .await?;

    // Approval needs every required 审查要点 (R1 and R2 for this matter).
    let point = |code: &str| ChecklistItem {
        review_point_code: code.to_owned(),
        passed: true,
        note: "核查无误".to_owned(),
    };
    let refused = inbox
        .decide_case(decide_request(
            &case_id,
            Decision::Approve,
            "",
            vec![point("R1")],
        ))
        .await
        .expect_err("a required review point is missing");
    assert!(
        matches!(
            refused.code(),
            Code::FailedPrecondition | Code::InvalidArgument
        ),
        "{refused:?}"
    );
    let (fields, preconditions) = details(&refused);
    let named = refused.message().contains("R2")
        || fields
            .iter()
            .any(|v| v.description.contains("R2") || v.field.contains("R2"))
        || preconditions
            .iter()
            .any(|v| v.subject.contains("R2") || v.description.contains("R2"));
    assert!(named, "the refusal names R2: {refused:?}");

    let decided = inbox
        .decide_case(decide_request(
            &case_id,
            Decision::Approve,
            "符合条件，准予出具 / approved",
            vec![point("R1"), point("R2"), point("R3")],
        ))
        .await?
        .into_inner();
    assert_eq!(decided.state(), AssignmentState::Decided);
    assert_eq!(decided.decision(), Decision::Approve);

    // The window sees the case completed (办结).
    {
        let case = case_until(&window, &case_id, "the window sees COMPLETED", |case| {
            case.status() == CaseStatus::Completed
        })
        .await?;
        assert_eq!(case.decision(), Decision::Approve);
        assert_eq!(
            case.remaining_working_days, 0,
            "nothing left to count once decided"
        );
    }

    // 12345: the caller proves who they are with the tail of the ID number or of the phone.
    let number = accepted.case_number.clone();
    let id_tail = tongban_e2e::id_tail();
    let phone_tail = PHONE[PHONE.len() - 4..].to_owned();
    {
        let view = hotline_until(&calls, &number, "the hotline sees COMPLETED", |view| {
            view.status() == CaseStatus::Completed
        })
        .await?;
        assert_eq!(view.decision(), Decision::Approve);
        assert_eq!(view.remaining_working_days, 0);
        assert!(!view.overdue);
        assert_eq!(view.responsible_office_id, YINCHUAN_GONGAN);
        assert_eq!(
            tongban_e2e::unmasked_personal_data(&format!("{view:?}")),
            None,
            "the hotline view is masked"
        );
    }
    let by_phone = calls
        .query_case_status(QueryCaseStatusRequest {
            case_number: number.clone(),
            verification: phone_tail,
        })
        .await?
        .into_inner();
    assert_eq!(by_phone.status(), CaseStatus::Completed);
    assert_eq!(by_phone.decision(), Decision::Approve);

    // A wrong proof and an unknown case look the same.
    let wrong = calls
        .query_case_status(QueryCaseStatusRequest {
            case_number: number.clone(),
            verification: "000000".to_owned(),
        })
        .await
        .expect_err("a wrong verification is refused");
    // Self-check: the rule reproduces the real number's check character.
    assert_eq!(
        number.chars().last(),
        Some(mod11_2(&case_number_digits(&number))),
        "check character rule"
    );
    let unknown = calls
        .query_case_status(QueryCaseStatusRequest {
            case_number: unknown_case_number(&number)?,
            verification: id_tail,
        })
        .await
        .expect_err("an unknown case is refused");
    assert_eq!(wrong.code(), Code::NotFound, "{wrong:?}");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert_eq!(
        wrong.message(),
        unknown.message(),
        "the same answer for both"
    );

    shut_down(env, [hotline_svc, review_svc, intake_svc]).await?;
    Ok(())
}

/// The review service is killed while cases stream in; a new one on the same database and
/// stream ends up with every case in the inbox exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_restart() -> TestResult {
    const CASES: usize = 20;
    /// Submissions answered before the review service is killed.
    const BEFORE_KILL: usize = 3;
    /// A message the killed consumer held unacknowledged returns after the consumer's ack wait
    /// (30 s), so this bound is longer than the others.
    const RECOVERY: Duration = Duration::from_secs(60);

    let (env, [intake_svc, first_review]) = start::<(Intake, Review)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let template = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "restart",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    let window = intake(intake_svc.port(), &clerk);

    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..CASES {
        let mut client = window.clone();
        let mut request = template.clone();
        request.idempotency_key = format!("restart-{i}");
        let answered = answered_tx.clone();
        tokio::spawn(async move {
            let answer = client
                .submit_case(request)
                .await
                .map(|r| r.into_inner().case_id);
            let _ = answered.send(answer);
        });
    }
    drop(answered_tx);

    let mut expected = BTreeSet::new();
    while let Some(answer) = answered_rx.recv().await {
        expected.insert(answer?);
        if expected.len() == BEFORE_KILL {
            first_review.kill().await;
            break;
        }
    }
    while let Some(answer) = answered_rx.recv().await {
        expected.insert(answer?);
    }
    assert_eq!(expected.len(), CASES, "every submission made its own case");

    let second_review = env.spawn::<Review>().await?;
    let reviewer = env.mint(Role::Reviewer, YINCHUAN_GONGAN);
    let inbox = review(second_review.port(), &reviewer);
    let listed = {
        let (inbox, expected) = (&inbox, &expected);
        eventually(RECOVERY, move || async move {
            let request = ListAssignmentsRequest {
                limit: 1000,
                ..Default::default()
            };
            let listed = inbox
                .clone()
                .list_assignments(request)
                .await
                .ok()?
                .into_inner()
                .assignments;
            let seen: BTreeSet<&String> = listed.iter().map(|a| &a.case_id).collect();
            expected
                .iter()
                .all(|id| seen.contains(id))
                .then_some(listed)
        })
        .await
        .map_err(|e| format!("every case reaches the inbox after the restart: {e}"))?
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for assignment in &listed {
        *counts.entry(assignment.case_id.as_str()).or_default() += 1;
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "no case twice: {duplicated:?}");
    let extra: Vec<_> = counts
        .keys()
        .filter(|id| !expected.contains(**id))
        .collect();
    assert!(extra.is_empty(), "no unknown case: {extra:?}");
    assert_eq!(listed.len(), CASES);

    shut_down(env, [second_review, intake_svc]).await?;
    Ok(())
}
