//! Issue 13 for review, logistics and supervision: oversize fields refused naming the field
//! (and its index), nothing written, and requests over the servers' message size refused by
//! tonic without harm (item 1); only the reviewer holding a case, or the office head, asks for
//! 补正 or decides, and the head reassigns (item 7); carriers see and report on their own
//! waybills only, tracking numbers are random, the sender is the caller's office, and the
//! originals gate counts only deliveries to the responsible office of the materials expected
//! (item 6).

use tongban_e2e::{
    GZDD, Intake, Logistics, Review, Supervision, WINDOW, YINCHUAN_GONGAN, approve,
    approve_passing, catalog, claim, claim_when_routed, intake, passing_checklist, refusal,
    refused_naming, review, start, submit_request, supervision, supplement_request,
};
use tongban_proto::common::v1::{ChecklistItem, Mode};
use tongban_proto::logistics::v1::logistics_service_client::LogisticsServiceClient;
use tongban_proto::logistics::v1::{
    Address, CreateWaybillRequest, GetWaybillRequest, ListWaybillsRequest,
    RecordTrackingEventRequest, Waybill, WaybillPurpose, WaybillStatus,
};
use tongban_proto::review::v1::{GetAssignmentRequest, ReassignCaseRequest};
use tongban_proto::supervision::v1::TicketActionRequest;
use tongban_runtime::auth::Role;
use tongban_runtime::status::details;
use tongban_testkit::{Bearer, channel};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::TestResult;

type LogisticsClient = LogisticsServiceClient<InterceptedService<Channel, Bearer>>;

/// 婚姻登记 (异地代收代办): three paper originals must reach the responsible office.
const MARRIAGE: &str = "MZ-HY-JHDJ";
/// Its originals.
const ORIGINALS: [&str; 3] = ["NAN_SFZ", "NV_SFZ", "HZ"];
/// A 太原 home: the case goes to 太原市民政局.
const TAIYUAN: &str = "140105";
/// An office of the same department that is not the case's.
const XINZHOU_MINZHENG: &str = "140900-minzheng";
/// Over the servers' 4 MiB decoding limit.
const OVER_DECODING_LIMIT: usize = 5 * 1024 * 1024;

fn logistics(port: u16, token: &str) -> LogisticsClient {
    LogisticsServiceClient::with_interceptor(channel(port), Bearer::new(token))
        .max_encoding_message_size(usize::MAX)
}

/// `message` asking for English.
fn in_english<T>(message: T) -> Result<tonic::Request<T>, Box<dyn std::error::Error>> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("accept-language", "en".parse()?);
    Ok(request)
}

/// Whether a status is INVALID_ARGUMENT with a BadRequest naming `field`.
fn names_field(status: &tonic::Status, field: &str) -> bool {
    let (fields, _) = details(status);
    status.code() == Code::InvalidArgument && fields.iter().any(|f| f.field == field)
}

/// Whether tonic refused a message for its size.
fn too_large(status: &tonic::Status) -> bool {
    matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted)
}

/// Item 1: a 1.5 MB checklist note is INVALID_ARGUMENT naming `checklist[2].note` (Chinese by
/// default, English by lang) and nothing is written; a 5 MB one is refused by the server's
/// decoding limit and the service goes on; the same for 补正 items and supervision notes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_fields_are_refused_naming_the_field() -> TestResult {
    let (env, [intake_svc, review_svc, supervision_svc]) =
        start::<(Intake, Review, Supervision)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut matters = catalog(intake_svc.port(), &clerk);
    let mut inbox = review(
        review_svc.port(),
        &env.mint(Role::Reviewer, YINCHUAN_GONGAN),
    )
    .max_encoding_message_size(usize::MAX);
    let request = submit_request(&mut matters, "i13-limits", GZDD, "640104", Mode::Online).await?;
    let case_id = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner()
        .case_id;
    claim_when_routed(&mut inbox, &case_id, "the case reaches 银川").await?;

    let mut checklist = passing_checklist(&mut matters, GZDD, None).await?;
    while checklist.len() < 3 {
        checklist.push(ChecklistItem {
            review_point_code: "EXTRA".to_owned(),
            passed: true,
            note: String::new(),
        });
    }
    let mut oversize = checklist.clone();
    oversize[2].note = "注".repeat(500_000); // 1.5 MB of UTF-8
    let refused = inbox
        .decide_case(approve(&case_id, oversize.clone()))
        .await
        .expect_err("a 1.5 MB note");
    assert!(names_field(&refused, "checklist[2].note"), "{refused:?}");
    let (fields, _) = details(&refused);
    assert!(
        fields[0].description.contains("最多 1000 个字符"),
        "{fields:?}"
    );
    let refused = inbox
        .decide_case(in_english(approve(&case_id, oversize))?)
        .await
        .expect_err("a 1.5 MB note");
    let (fields, _) = details(&refused);
    assert!(
        fields[0].description.contains("at most 1000 characters"),
        "{fields:?}"
    );

    // Too many 补正 items, and one item too long: each named.
    let many: Vec<String> = (0..51).map(|i| format!("M{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let refused = inbox
        .request_supplement(supplement_request(&case_id, &many, "不清晰"))
        .await
        .expect_err("51 items");
    assert!(names_field(&refused, "items"), "{refused:?}");
    let long = "字".repeat(201);
    let refused = inbox
        .request_supplement(supplement_request(&case_id, &["户口簿", &long], "不清晰"))
        .await
        .expect_err("a long item");
    assert!(names_field(&refused, "items[1]"), "{refused:?}");

    // Over the 4 MiB the server decodes: tonic refuses it; the service goes on.
    let mut huge = checklist.clone();
    huge[0].note = "x".repeat(OVER_DECODING_LIMIT);
    let refused = inbox
        .decide_case(approve(&case_id, huge))
        .await
        .expect_err("over the decoding limit");
    assert!(too_large(&refused), "{refused:?}");

    // Nothing was written: the case is still claimed, undecided.
    let still = inbox
        .get_assignment(GetAssignmentRequest {
            case_id: case_id.clone(),
        })
        .await?
        .into_inner();
    assert!(still.decision_reason.is_empty() && still.checklist.is_empty());
    assert!(still.supplement_items.is_empty());
    inbox.decide_case(approve(&case_id, checklist)).await?;

    // Supervision: a ticket note over its limit, and a request over the decoding limit.
    let mut supervisor = supervision(
        supervision_svc.port(),
        &env.mint(Role::Supervisor, "140922-zwfw"),
    )
    .max_encoding_message_size(usize::MAX);
    let step = |note: String| TicketActionRequest {
        ticket_id: uuid::Uuid::now_v7().to_string(),
        note,
    };
    let refused = supervisor
        .acknowledge_ticket(step("字".repeat(1001)))
        .await
        .expect_err("a long note");
    assert!(names_field(&refused, "note"), "{refused:?}");
    let refused = supervisor
        .acknowledge_ticket(step("x".repeat(OVER_DECODING_LIMIT)))
        .await
        .expect_err("over the decoding limit");
    assert!(too_large(&refused), "{refused:?}");
    let refused = supervisor
        .acknowledge_ticket(step(String::new()))
        .await
        .expect_err("no such ticket");
    assert_eq!(refused.code(), Code::NotFound, "still serving: {refused:?}");
    Ok(())
}

/// Item 7: a second reviewer of the office is refused naming the holder; the office head acts
/// and reassigns; after a reassignment the new holder acts and the old one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_holder_or_the_head_acts_on_a_claimed_case() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut matters = catalog(intake_svc.port(), &clerk);
    let port = review_svc.port();
    let mut alice = review(port, &env.mint_as(Role::Reviewer, YINCHUAN_GONGAN, "alice"));
    let mut bob = review(port, &env.mint_as(Role::Reviewer, YINCHUAN_GONGAN, "bob"));
    let mut head = review(
        port,
        &env.mint_as(Role::OfficeHead, YINCHUAN_GONGAN, "head"),
    );
    let mut window = intake(intake_svc.port(), &clerk);
    let mut submit = async |key: &str| -> Result<String, Box<dyn std::error::Error>> {
        let request = submit_request(&mut matters, key, GZDD, "640104", Mode::Online).await?;
        Ok(window.submit_case(request).await?.into_inner().case_id)
    };
    let first = submit("i13-claims-1").await?;
    let second = submit("i13-claims-2").await?;
    let claimed = claim_when_routed(&mut alice, &first, "alice claims").await?;
    assert_eq!(claimed.claimed_by, "alice");

    // Bob, a reviewer of the same office, may not take it over, ask for 补正 or decide.
    let checklist = passing_checklist(&mut catalog(intake_svc.port(), &clerk), GZDD, None).await?;
    let refused = refusal(
        bob.request_supplement(supplement_request(&first, &["户口簿"], "不清晰"))
            .await,
        Code::FailedPrecondition,
        "bob asks for 补正",
    )?;
    assert!(refused.message().contains("alice"), "{refused:?}");
    let (_, preconditions) = details(&refused);
    assert_eq!(preconditions[0].kind, "CLAIMED_BY_ANOTHER");
    let refused = refusal(
        bob.decide_case(approve(&first, checklist.clone())).await,
        Code::FailedPrecondition,
        "bob decides",
    )?;
    assert!(refused_naming(&refused, Code::FailedPrecondition, "alice"));
    refusal(
        bob.claim_case(claim(&first)).await,
        Code::FailedPrecondition,
        "bob claims a held case",
    )?;
    // Only the head reassigns.
    let reassign = |to: &str| ReassignCaseRequest {
        case_id: first.clone(),
        reviewer: to.to_owned(),
        reason: "工作调整".to_owned(),
    };
    refusal(
        alice.reassign_case(reassign("bob")).await,
        Code::PermissionDenied,
        "a reviewer reassigns",
    )?;
    let moved = head.reassign_case(reassign("bob")).await?.into_inner();
    assert_eq!(moved.claimed_by, "bob");
    // Now alice is the stranger, bob the holder.
    let refused = refusal(
        alice
            .request_supplement(supplement_request(&first, &["户口簿"], "不清晰"))
            .await,
        Code::FailedPrecondition,
        "alice after the reassignment",
    )?;
    assert!(refused.message().contains("bob"), "{refused:?}");
    bob.request_supplement(supplement_request(&first, &["户口簿"], "不清晰"))
        .await?;
    // The head gives it back while it waits for 补正.
    let back = head.reassign_case(reassign("alice")).await?.into_inner();
    assert_eq!(back.claimed_by, "alice");

    // The head decides a case alice holds; the claimer decides her own.
    claim_when_routed(&mut alice, &second, "alice claims the second").await?;
    approve_passing(
        &mut head,
        &mut catalog(intake_svc.port(), &clerk),
        &second,
        GZDD,
    )
    .await?;
    // A decided case is not reassigned.
    refusal(
        head.reassign_case(ReassignCaseRequest {
            case_id: second.clone(),
            reviewer: "bob".to_owned(),
            reason: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "reassigning a decided case",
    )?;
    Ok(())
}

/// Item 6: the sender is the caller's office; tracking numbers are random; a carrier sees and
/// reports on its own waybills only; the originals gate counts only deliveries to the
/// responsible office, material by material.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waybills_belong_to_their_carrier_and_originals_to_their_office() -> TestResult {
    let (env, [intake_svc, review_svc, logistics_svc]) =
        start::<(Intake, Review, Logistics)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut matters = catalog(intake_svc.port(), &clerk);
    let request = submit_request(
        &mut matters,
        "i13-originals",
        MARRIAGE,
        TAIYUAN,
        Mode::Proxy,
    )
    .await?;
    let accepted = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    let (case_id, office) = (accepted.case_id, accepted.responsible_office_id);
    let mut inbox = review(review_svc.port(), &env.mint(Role::Reviewer, &office));
    claim_when_routed(&mut inbox, &case_id, "the case reaches 太原").await?;

    let mut desk = logistics(logistics_svc.port(), &clerk);
    let send = |to: &str, codes: &[&str]| CreateWaybillRequest {
        case_id: case_id.clone(),
        purpose: WaybillPurpose::Originals.into(),
        recipient: Some(Address {
            office_id: to.to_owned(),
            ..Default::default()
        }),
        material_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        ..Default::default()
    };
    // Limits: the fourth material code too long.
    let mut long = send(&office, &ORIGINALS);
    long.material_codes.push("M".repeat(65));
    let refused = desk.create_waybill(long).await.expect_err("a long code");
    assert!(names_field(&refused, "material_codes[3]"), "{refused:?}");
    // The sender is the caller's office: naming another is refused.
    let mut other_sender = send(&office, &ORIGINALS);
    other_sender.sender = Some(Address {
        office_id: office.clone(),
        ..Default::default()
    });
    refusal(
        desk.create_waybill(other_sender).await,
        Code::PermissionDenied,
        "another office as the sender",
    )?;

    // Delivered to the wrong office (all three), then to the right one (one of three).
    let wrong = desk
        .create_waybill(send(XINZHOU_MINZHENG, &ORIGINALS))
        .await?
        .into_inner();
    assert_eq!(wrong.sender.clone().unwrap_or_default().office_id, WINDOW);
    let partial = desk
        .create_waybill(send(&office, &ORIGINALS[..1]))
        .await?
        .into_inner();
    let rest = desk
        .create_waybill(send(&office, &ORIGINALS[1..]))
        .await?
        .into_inner();
    // Random, not sequential.
    let digits = |w: &Waybill| w.tracking_number[2..12].parse::<i64>().unwrap_or_default();
    let numbers = [digits(&wrong), digits(&partial), digits(&rest)];
    assert!(
        numbers.windows(2).all(|p| (p[0] - p[1]).abs() > 1),
        "tracking numbers follow each other: {numbers:?}"
    );

    // Another carrier sees none of them and cannot report on them.
    let mut stranger = logistics(logistics_svc.port(), &env.mint(Role::Carrier, "sf-express"));
    let courier = logistics(
        logistics_svc.port(),
        &env.mint(Role::Carrier, tongban_logistics::carrier::SIMULATED),
    );
    let hidden = stranger
        .get_waybill(GetWaybillRequest {
            tracking_number: wrong.tracking_number.clone(),
        })
        .await
        .expect_err("another carrier's waybill");
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    let listed = stranger
        .list_waybills(ListWaybillsRequest {
            case_id: case_id.clone(),
        })
        .await?
        .into_inner();
    assert!(listed.waybills.is_empty(), "{listed:?}");
    let deliver = |w: &Waybill, id: &str| RecordTrackingEventRequest {
        tracking_number: w.tracking_number.clone(),
        status: WaybillStatus::Delivered.into(),
        location: "收发室".to_owned(),
        occurred_at: None,
        carrier_event_id: id.to_owned(),
    };
    let refused = stranger
        .record_tracking_event(deliver(&wrong, "sf-1"))
        .await
        .expect_err("another carrier's waybill");
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    let own = courier
        .clone()
        .list_waybills(ListWaybillsRequest {
            case_id: case_id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(own.waybills.len(), 4, "the routed one and three by hand");

    courier
        .clone()
        .record_tracking_event(deliver(&wrong, "sim-wrong"))
        .await?;
    courier
        .clone()
        .record_tracking_event(deliver(&partial, "sim-partial"))
        .await?;
    // The case's deliveries are handled in order: once the partial one counts, the wrong one
    // has been seen — and cleared nothing.
    let checklist = passing_checklist(&mut matters, MARRIAGE, None).await?;
    let still_missing = {
        let (inbox, checklist, case_id) = (&inbox, &checklist, &case_id);
        tongban_testkit::eventually(tongban_e2e::PROPAGATION, move || async move {
            let refused = inbox
                .clone()
                .decide_case(approve(case_id, checklist.clone()))
                .await
                .err()?;
            let (_, preconditions) = details(&refused);
            let missing: Vec<String> = preconditions.into_iter().map(|p| p.subject).collect();
            (missing.len() == 2).then_some(missing)
        })
        .await
        .map_err(|e| format!("the partial delivery counts, the wrong one does not: {e}"))?
    };
    assert_eq!(still_missing, ORIGINALS[1..]);

    courier
        .clone()
        .record_tracking_event(deliver(&rest, "sim-rest"))
        .await?;
    {
        let (inbox, checklist, case_id) = (&inbox, &checklist, &case_id);
        tongban_testkit::eventually(tongban_e2e::PROPAGATION, move || async move {
            inbox
                .clone()
                .decide_case(approve(case_id, checklist.clone()))
                .await
                .ok()
        })
        .await
        .map_err(|e| format!("approval once every original reached the office: {e}"))?;
    }
    Ok(())
}
