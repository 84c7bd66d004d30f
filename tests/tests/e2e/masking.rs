//! Personal data (issue 13 item 10): the events of a case carry the applicant's name masked —
//! never the full name, which stays sealed — and the hotline's complaint views hide the last four
//! phone digits, which are the proof a caller gives.

use tongban_e2e::{
    HOME, Hotline, Intake, NAME, PHONE, Review, WINDOW, YINCHUAN_GONGAN, catalog, hotline,
    hotline_until, intake, listed_until, read_stream, reviewer, shut_down, start, submit_request,
};
use tongban_proto::common::v1::Mode;
use tongban_proto::events::v1::event::Body;
use tongban_proto::hotline::v1::{
    FileComplaintRequest, GetComplaintRequest, ListComplaintsRequest,
};
use tongban_runtime::auth::Role;

use crate::TestResult;

/// 王小明's case, submitted and routed: the review inbox shows 王*明, and no event on the stream
/// holds the full name; case.submitted's summary carries 王*明.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_carry_the_applicant_name_masked() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "mask-name",
        "GA-HJ-ZM",
        HOME,
        Mode::Proxy,
    )
    .await?;
    let applicant = request.applicant.as_ref().ok_or("an applicant")?;
    assert_eq!(applicant.name, NAME);
    let accepted = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    let inbox = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);
    let routed = listed_until(&inbox, &accepted.case_id, "the case is routed").await?;
    assert_eq!(
        routed.applicant.as_ref().map(|a| a.name.as_str()),
        Some("王*明"),
        "{routed:?}"
    );

    let events = read_stream(&env).await?;
    let submitted = events
        .iter()
        .find_map(|p| match &p.event.body {
            Some(Body::CaseSubmitted(s)) => s.summary.clone(),
            _ => None,
        })
        .ok_or("case.submitted on the stream")?;
    assert_eq!(
        submitted.applicant.as_ref().map(|a| a.name.as_str()),
        Some("王*明")
    );
    assert!(
        !submitted.sealed_applicant.is_empty(),
        "the full name travels sealed"
    );
    for published in &events {
        let text = format!("{:?}", published.event);
        assert!(
            !text.contains(NAME),
            "{} carries the full name: {text}",
            published.subject
        );
    }
    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// A complaint filed by phone: the answer, GetComplaint and ListComplaints show the caller's
/// phone as 138******** and the phone typed into the content without its tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaint_views_hide_the_phone_tail() -> TestResult {
    let (env, [intake_svc, hotline_svc]) = start::<(Intake, Hotline)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "mask-phone",
        "GA-HJ-ZM",
        HOME,
        Mode::Proxy,
    )
    .await?;
    let accepted = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    let calls = hotline(hotline_svc.port(), &env.mint(Role::Hotline, "12345"));
    hotline_until(
        &calls,
        &accepted.case_number,
        "the hotline knows the case",
        |_| true,
    )
    .await?;
    let tail = &PHONE[PHONE.len() - 4..];
    let filed = calls
        .clone()
        .file_complaint(FileComplaintRequest {
            case_number: accepted.case_number.clone(),
            verification: tail.to_owned(),
            caller_name: NAME.to_owned(),
            caller_phone: PHONE.to_owned(),
            content: format!("请回电 {PHONE}"),
        })
        .await?
        .into_inner();
    let got = calls
        .clone()
        .get_complaint(GetComplaintRequest {
            complaint_id: filed.complaint_id.clone(),
        })
        .await?
        .into_inner();
    let listed = calls
        .clone()
        .list_complaints(ListComplaintsRequest::default())
        .await?
        .into_inner()
        .complaints;
    assert_eq!(listed.len(), 1);
    for (what, complaint) in [("filed", &filed), ("got", &got), ("listed", &listed[0])] {
        assert_eq!(complaint.caller_phone_masked, "138********", "{what}");
        assert_eq!(complaint.content, "请回电 138********", "{what}");
        assert_eq!(complaint.caller_name_masked, "王*明", "{what}");
        assert!(
            !format!("{complaint:?}").contains(tail),
            "{what}: {complaint:?}"
        );
    }
    shut_down(env, [hotline_svc, intake_svc]).await?;
    Ok(())
}
