//! The 12345 hotline end to end: verification lockout and its expiry, the 投诉 closed loop with
//! its roles, 好差评 with rectification and call-back, the summary, and the 办结公示 — every
//! response (and refusal) scanned for unmasked ID numbers and phones.

use std::fmt::Debug;

use chrono::TimeDelta;
use tongban_e2e::{
    Authed, Hotline, ID_NUMBER, Intake, NAME, PHONE, PROPAGATION, Published, Review,
    TAIYUAN_GONGAN, WINDOW, YINCHUAN_GONGAN, catalog, claim, decide_request, hotline,
    hotline_until, id_tail, intake, listed_until, read_stream, refusal, review, shut_down, start,
    submit_request, unknown_case_number, unmasked_personal_data,
};
use tongban_proto::catalog::v1::ComputeDueDateRequest;
use tongban_proto::common::v1::{CaseStatus, ChecklistItem, Decision, Mode};
use tongban_proto::events::v1::event::Body;
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_proto::hotline::v1::{
    AdvanceComplaintRequest, ComplaintState, FileComplaintRequest, GetComplaintRequest,
    GetRatingSummaryRequest, ListComplaintsRequest, ListCompletionNoticesRequest,
    ListRectificationsRequest, QueryCaseStatusRequest, RateServiceRequest, RatingLevel,
    RatingOccasion, RecordCallbackRequest, RectificationState,
};
use tongban_proto::intake::v1::WithdrawCaseRequest;
use tongban_runtime::auth::Role;
use tongban_runtime::clock::Clock as _;
use tongban_runtime::convert::timestamp;
use tongban_testkit::{TestEnv, eventually};
use tonic::Code;

use crate::TestResult;

/// Every hotline answer of a test, as text, to be scanned for personal data at the end.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    /// Keeps the answer (or the refusal) and passes it on.
    fn keep<T: Debug>(&mut self, answer: T) -> T {
        self.0.push(format!("{answer:?}"));
        answer
    }

    /// No answer showed an 18-character ID number or an 11-digit phone (the shared scan leaves
    /// UUIDs and trace ids out, whose digit runs are not personal data).
    fn assert_masked(&self) {
        assert!(!self.0.is_empty());
        for text in &self.0 {
            assert_eq!(
                unmasked_personal_data(text),
                None,
                "a hotline answer shows personal data: {text}"
            );
        }
    }
}

/// The `complaint.filed` and `complaint.advanced` events of complaint `id` on the test's stream,
/// in stream order: the state each leads to, and the event as text.
/// Each message's `Nats-Msg-Id` is checked to be its event id.
async fn complaint_events(
    env: &TestEnv,
    id: &str,
) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for Published { headers, event, .. } in read_stream(env).await? {
        let to = match &event.body {
            Some(Body::ComplaintFiled(f)) if f.complaint_id == id => "received".to_owned(),
            Some(Body::ComplaintAdvanced(a)) if a.complaint_id == id => a.to_state.clone(),
            _ => continue,
        };
        let msg_id = headers.iter().find(|(name, _)| name == "Nats-Msg-Id");
        assert_eq!(
            msg_id.map(|(_, v)| v.as_str()),
            Some(event.event_id.as_str())
        );
        out.push((to, format!("{event:?}")));
    }
    Ok(out)
}

fn query(number: &str, verification: &str) -> QueryCaseStatusRequest {
    QueryCaseStatusRequest {
        case_number: number.to_owned(),
        verification: verification.to_owned(),
    }
}

/// Waits until the hotline shows case `number` in a status `done` accepts.
async fn hotline_sees(
    calls: &HotlineServiceClient<Authed>,
    number: &str,
    done: impl Fn(CaseStatus) -> bool,
) -> TestResult {
    let what = format!("the hotline sees {number}");
    hotline_until(calls, number, &what, |view| done(view.status())).await?;
    Ok(())
}

/// Five failed verifications lock a case number for an hour, with answers identical to an
/// unknown case; the lock expires an hour later (the test's clock is moved, not waited for).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotline_lockout_and_expiry() -> TestResult {
    let (env, [intake_svc, hotline_svc]) = start::<(Intake, Hotline)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let operator = env.mint(Role::Hotline, "12345");
    let mut seen = Seen::default();

    let request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "lockout-1",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    let number = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner()
        .case_number;
    let mut calls = hotline(hotline_svc.port(), &operator);
    // The first query doubles as the wait for the read model; it succeeds, so it is no failure.
    hotline_sees(&calls, &number, |_| true).await?;

    // A wrong verification and an unknown case: the same refusal.
    let wrong = seen.keep(
        calls
            .query_case_status(query(&number, "000000"))
            .await
            .expect_err("a wrong verification is refused"),
    );
    let unknown = seen.keep(
        calls
            .query_case_status(query(&unknown_case_number(&number)?, &id_tail()))
            .await
            .expect_err("an unknown case is refused"),
    );
    assert_eq!(wrong.code(), Code::NotFound, "{wrong:?}");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert_eq!(wrong.message(), unknown.message());
    assert_eq!(wrong.details(), unknown.details());

    // Four more failures (five in all, by phone tail too) lock the number.
    for verification in ["0000", "111111", "2222", "333333"] {
        let refused = seen.keep(
            calls
                .query_case_status(query(&number, verification))
                .await
                .expect_err("wrong"),
        );
        assert_eq!(refused.code(), Code::NotFound);
    }
    // Now even the right proof gets the unknown-case answer, for every action.
    let locked = seen.keep(
        calls
            .query_case_status(query(&number, &id_tail()))
            .await
            .expect_err("locked"),
    );
    assert_eq!(locked.code(), Code::NotFound, "{locked:?}");
    assert_eq!(locked.message(), unknown.message());
    assert_eq!(locked.details(), unknown.details());
    let complaint = seen.keep(
        calls
            .file_complaint(FileComplaintRequest {
                case_number: number.clone(),
                verification: PHONE[PHONE.len() - 4..].to_owned(),
                caller_name: NAME.to_owned(),
                caller_phone: PHONE.to_owned(),
                content: "办理太慢".to_owned(),
            })
            .await
            .expect_err("locked"),
    );
    assert_eq!(complaint.code(), Code::NotFound);
    assert_eq!(complaint.message(), unknown.message());

    // Still locked 59 minutes on; open again after the hour.
    env.clock().advance(TimeDelta::minutes(59));
    let still = seen.keep(
        calls
            .query_case_status(query(&number, &id_tail()))
            .await
            .expect_err("still locked"),
    );
    assert_eq!(still.code(), Code::NotFound);
    env.clock().advance(TimeDelta::minutes(2));
    let view = seen.keep(
        calls
            .query_case_status(query(&number, &id_tail()))
            .await?
            .into_inner(),
    );
    assert_eq!(view.case_number, number);
    assert_eq!(view.applicant_name_masked, "王*明");

    seen.assert_masked();
    shut_down(env, [hotline_svc, intake_svc]).await?;
    Ok(())
}

/// Completed, withdrawn and open cases; 办结公示, 好差评 with 整改 and 回访, the summary, and a
/// complaint through 受理 → 转办 → 办理 → 回复 → 回访 → 办结 with each side's steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotline_complaints_ratings_and_notices() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc]) = start::<(Intake, Review, Hotline)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut window = intake(intake_svc.port(), &clerk);
    let mut inbox = review(
        review_svc.port(),
        &env.mint(Role::Reviewer, YINCHUAN_GONGAN),
    );
    let mut calls = hotline(hotline_svc.port(), &env.mint(Role::Hotline, "12345"));
    let mut office = hotline(
        hotline_svc.port(),
        &env.mint(Role::Reviewer, YINCHUAN_GONGAN),
    );
    let mut stranger = hotline(
        hotline_svc.port(),
        &env.mint(Role::Reviewer, TAIYUAN_GONGAN),
    );
    let mut seen = Seen::default();

    let template = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "notice",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    let mut submit = async |key: &str| {
        let mut request = template.clone();
        request.idempotency_key = key.to_owned();
        window.submit_case(request).await.map(|r| r.into_inner())
    };
    let done = submit("notice-done").await?;
    let gone = submit("notice-withdrawn").await?;
    let open = submit("notice-open").await?;

    // The completed one: claim and approve in Yinchuan.
    listed_until(&inbox, &done.case_id, "the case reaches the inbox").await?;
    inbox.claim_case(claim(&done.case_id)).await?;
    let point = |code: &str| ChecklistItem {
        review_point_code: code.to_owned(),
        passed: true,
        note: "核查无误".to_owned(),
    };
    inbox
        .decide_case(decide_request(
            &done.case_id,
            Decision::Approve,
            "符合条件，准予出具",
            vec![point("R1"), point("R2"), point("R3")],
        ))
        .await?;
    window
        .withdraw_case(WithdrawCaseRequest {
            case_id: gone.case_id.clone(),
            reason: "申请人不再需要".to_owned(),
        })
        .await?;
    hotline_sees(&calls, &done.case_number, |s| s == CaseStatus::Completed).await?;
    hotline_sees(&calls, &gone.case_number, |s| s == CaseStatus::Withdrawn).await?;
    hotline_sees(&calls, &open.case_number, |s| s != CaseStatus::Submitted).await?;

    // 办结公示: only the completed case, its applicant masked; filters by office and date.
    let now = env.clock().now();
    let notices = seen
        .keep(
            calls
                .list_completion_notices(ListCompletionNoticesRequest::default())
                .await?
                .into_inner(),
        )
        .notices;
    let numbers: Vec<&str> = notices.iter().map(|n| n.case_number.as_str()).collect();
    assert_eq!(
        numbers,
        vec![done.case_number.as_str()],
        "only the completed case"
    );
    assert_eq!(notices[0].applicant_name_masked, "王*明");
    assert_eq!(notices[0].decision(), Decision::Approve);
    assert_eq!(notices[0].result, "准予办理");
    assert_eq!(notices[0].responsible_office_id, YINCHUAN_GONGAN);
    let filtered = |office: &str, from: TimeDelta, to: TimeDelta| ListCompletionNoticesRequest {
        office_id: office.to_owned(),
        from: Some(timestamp(now + from)),
        to: Some(timestamp(now + to)),
        limit: 10,
    };
    let hour = TimeDelta::hours(1);
    let in_range = calls
        .list_completion_notices(filtered(YINCHUAN_GONGAN, -hour, hour))
        .await?
        .into_inner();
    assert_eq!(in_range.notices.len(), 1);
    let other_office = calls
        .list_completion_notices(filtered(TAIYUAN_GONGAN, -hour, hour))
        .await?
        .into_inner();
    assert!(other_office.notices.is_empty());
    let later = calls
        .list_completion_notices(filtered("", hour, hour * 2))
        .await?
        .into_inner();
    assert!(later.notices.is_empty());
    // Public: a window clerk reads it too.
    let public = hotline(hotline_svc.port(), &clerk)
        .list_completion_notices(ListCompletionNoticesRequest::default())
        .await?
        .into_inner();
    assert_eq!(public.notices.len(), 1);

    // 好差评: a bad completion rating opens a 整改 item; never twice per occasion.
    let rate = |number: &str, occasion: RatingOccasion, level: RatingLevel| RateServiceRequest {
        case_number: number.to_owned(),
        verification: id_tail(),
        occasion: occasion.into(),
        level: level.into(),
        comment: format!("等太久了，请回电 {PHONE}"),
        scores: Vec::new(),
    };
    let bad = seen.keep(
        calls
            .rate_service(rate(
                &done.case_number,
                RatingOccasion::Completion,
                RatingLevel::VeryDissatisfied,
            ))
            .await?
            .into_inner(),
    );
    assert!(!bad.rectification_id.is_empty(), "a 整改 item is opened");
    // The phone in the comment shows its first three digits only: its tail is the proof.
    assert!(bad.comment.contains("138********"), "{}", bad.comment);
    let twice = seen.keep(
        calls
            .rate_service(rate(
                &done.case_number,
                RatingOccasion::Completion,
                RatingLevel::Satisfied,
            ))
            .await
            .expect_err("one rating per occasion"),
    );
    assert_eq!(twice.code(), Code::AlreadyExists, "{twice:?}");
    let good = seen.keep(
        calls
            .rate_service(rate(
                &done.case_number,
                RatingOccasion::Acceptance,
                RatingLevel::Satisfied,
            ))
            .await?
            .into_inner(),
    );
    assert!(good.rectification_id.is_empty());
    let early = seen.keep(
        calls
            .rate_service(rate(
                &open.case_number,
                RatingOccasion::Completion,
                RatingLevel::Satisfied,
            ))
            .await
            .expect_err("not completed yet"),
    );
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");

    let items = seen
        .keep(
            office
                .list_rectifications(ListRectificationsRequest::default())
                .await?
                .into_inner(),
        )
        .rectifications;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item.rectification_id, bad.rectification_id);
    assert_eq!(item.state(), RectificationState::Open);
    assert_eq!(item.level(), RatingLevel::VeryDissatisfied);
    let opened = item.opened_at.ok_or("opened_at")?;
    let due = item.due_at.ok_or("due_at")?;
    // 整改 is due at the end of the 15th working day after the bad rating.
    let expected = catalog(intake_svc.port(), &clerk)
        .compute_due_date(ComputeDueDateRequest {
            start_time: Some(opened),
            working_days: 15,
        })
        .await?
        .into_inner()
        .due_time
        .ok_or("due_time")?;
    assert_eq!(due, expected, "due 15 working days after opening");
    let theirs = stranger
        .list_rectifications(ListRectificationsRequest::default())
        .await?
        .into_inner();
    assert!(theirs.rectifications.is_empty(), "Taiyuan sees none");

    let summary = |office_id: &str| GetRatingSummaryRequest {
        office_id: office_id.to_owned(),
        ..Default::default()
    };
    let before = seen.keep(
        calls
            .get_rating_summary(summary(YINCHUAN_GONGAN))
            .await?
            .into_inner(),
    );
    let total = before.total.clone().ok_or("total")?;
    assert_eq!(
        (
            total.total,
            total.satisfied,
            total.very_dissatisfied,
            total.bad
        ),
        (2, 1, 1, 1)
    );
    assert!((total.good_rate - 0.5).abs() < 1e-9, "{total:?}");
    assert_eq!(total.rectified, 0);
    assert!(total.rectification_rate.abs() < 1e-9);
    assert_eq!(before.rows.len(), 1);
    assert_eq!(before.rows[0].matter_code, "GA-HJ-ZM");
    refusal(
        stranger.get_rating_summary(summary(YINCHUAN_GONGAN)).await,
        Code::PermissionDenied,
        "another office's ratings",
    )?;

    // 回访: not yet satisfied, then satisfied; then nothing left to call back about.
    let callback = |satisfied: bool, note: &str| RecordCallbackRequest {
        rectification_id: bad.rectification_id.clone(),
        satisfied,
        note: note.to_owned(),
    };
    let first = seen.keep(
        calls
            .record_callback(callback(false, "尚未收到答复"))
            .await?
            .into_inner(),
    );
    assert_eq!(first.state(), RectificationState::Open);
    assert_eq!(first.callbacks.len(), 1);
    refusal(
        office.record_callback(callback(true, "已整改")).await,
        Code::PermissionDenied,
        "call-backs are the hotline's",
    )?;
    let second = seen.keep(
        calls
            .record_callback(callback(true, "已说明原因并致歉，群众满意"))
            .await?
            .into_inner(),
    );
    assert_eq!(second.state(), RectificationState::Rectified);
    assert_eq!(second.callbacks.len(), 2);
    refusal(
        calls.record_callback(callback(true, "再次回访")).await,
        Code::FailedPrecondition,
        "already rectified",
    )?;
    let after = calls
        .get_rating_summary(summary(""))
        .await?
        .into_inner()
        .total
        .ok_or("total")?;
    assert_eq!(after.rectified, 1);
    assert!((after.rectification_rate - 1.0).abs() < 1e-9);

    // 投诉 about the open case: caller contact masked, then the loop, each side its steps.
    let filed = seen.keep(
        calls
            .file_complaint(FileComplaintRequest {
                case_number: open.case_number.clone(),
                verification: PHONE[PHONE.len() - 4..].to_owned(),
                caller_name: NAME.to_owned(),
                caller_phone: PHONE.to_owned(),
                content: format!("一直没有进展，身份证 {ID_NUMBER}"),
            })
            .await?
            .into_inner(),
    );
    assert_eq!(filed.state(), ComplaintState::Received);
    // The caller's phone without its last four digits, which are the hotline's proof.
    assert_eq!(filed.caller_phone_masked, "138********");
    assert_eq!(filed.office_id, YINCHUAN_GONGAN);
    assert_eq!(filed.history.len(), 1);
    let id = filed.complaint_id.clone();
    let step = |to: ComplaintState, note: &str| AdvanceComplaintRequest {
        complaint_id: id.clone(),
        to_state: to.into(),
        note: note.to_owned(),
        office_id: String::new(),
    };
    refusal(
        office
            .advance_complaint(step(ComplaintState::Assigned, ""))
            .await,
        Code::PermissionDenied,
        "转办 is the hotline's",
    )?;
    refusal(
        calls
            .advance_complaint(step(ComplaintState::Handling, ""))
            .await,
        Code::FailedPrecondition,
        "one step at a time",
    )?;
    seen.keep(
        calls
            .advance_complaint(step(ComplaintState::Assigned, "转银川市公安局办理"))
            .await?
            .into_inner(),
    );
    refusal(
        calls
            .advance_complaint(step(ComplaintState::Handling, ""))
            .await,
        Code::PermissionDenied,
        "办理 is the office's",
    )?;
    refusal(
        stranger
            .get_complaint(GetComplaintRequest {
                complaint_id: id.clone(),
            })
            .await,
        Code::NotFound,
        "another office's complaint",
    )?;
    refusal(
        stranger
            .advance_complaint(step(ComplaintState::Handling, ""))
            .await,
        Code::NotFound,
        "another office's complaint",
    )?;
    assert!(
        stranger
            .list_complaints(ListComplaintsRequest::default())
            .await?
            .into_inner()
            .complaints
            .is_empty()
    );
    seen.keep(
        office
            .advance_complaint(step(ComplaintState::Handling, "已核实"))
            .await?
            .into_inner(),
    );
    refusal(
        office
            .advance_complaint(step(ComplaintState::Replied, " "))
            .await,
        Code::InvalidArgument,
        "a reply needs its text",
    )?;
    seen.keep(
        office
            .advance_complaint(step(
                ComplaintState::Replied,
                "材料已补齐，三个工作日内办结",
            ))
            .await?
            .into_inner(),
    );
    seen.keep(
        calls
            .advance_complaint(step(ComplaintState::FollowedUp, "群众表示认可"))
            .await?
            .into_inner(),
    );
    let closed = seen.keep(
        calls
            .advance_complaint(step(ComplaintState::Closed, ""))
            .await?
            .into_inner(),
    );
    assert_eq!(closed.state(), ComplaintState::Closed);
    let states: Vec<ComplaintState> = closed.history.iter().map(|s| s.to_state()).collect();
    assert_eq!(
        states,
        vec![
            ComplaintState::Received,
            ComplaintState::Assigned,
            ComplaintState::Handling,
            ComplaintState::Replied,
            ComplaintState::FollowedUp,
            ComplaintState::Closed,
        ]
    );
    assert_eq!(closed.history[2].actor_role, "reviewer");
    let listed = seen.keep(
        office
            .list_complaints(ListComplaintsRequest {
                state: ComplaintState::Closed.into(),
                ..Default::default()
            })
            .await?
            .into_inner(),
    );
    assert_eq!(listed.complaints.len(), 1);
    assert_eq!(listed.complaints[0].history.len(), 6);
    refusal(
        calls
            .advance_complaint(step(ComplaintState::Closed, ""))
            .await,
        Code::FailedPrecondition,
        "closed is the end",
    )?;

    // Each step went out on the stream, deduplicable by its event id, without personal data.
    let advanced = {
        let (env, id) = (&env, &id);
        eventually(PROPAGATION, move || async move {
            let steps = complaint_events(env, id).await.ok()?;
            (steps.len() == 6).then_some(steps)
        })
        .await
        .map_err(|e| format!("the complaint's events reach the stream: {e}"))?
    };
    let tos: Vec<&str> = advanced.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(
        tos,
        [
            "received",
            "assigned",
            "handling",
            "replied",
            "followed_up",
            "closed"
        ]
    );
    for (_, text) in &advanced {
        seen.keep(text);
    }

    // The case views read over the phone are masked too.
    for number in [&done.case_number, &gone.case_number, &open.case_number] {
        seen.keep(
            calls
                .query_case_status(query(number, &id_tail()))
                .await?
                .into_inner(),
        );
    }
    seen.assert_masked();

    shut_down(env, [hotline_svc, review_svc, intake_svc]).await?;
    Ok(())
}
