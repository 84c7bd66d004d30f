//! 寄递 end to end with the simulated carrier: paper originals shipped from 五台 to the responsible
//! office, approval refused until they are delivered, the result mailed back, the hotline
//! showing every waybill; the carrier's callback idempotent and never moving a waybill back;
//! bad tracking numbers and wrong roles refused; postage free in the province and from the
//! tariff across provinces.

use std::time::Duration;

use chrono::TimeDelta;
use tongban_e2e::{
    Hotline, ID_NUMBER, Intake, Logistics, Review, TAIYUAN_GONGAN, WINDOW, YINCHUAN_GONGAN,
    catalog, claim, decide_request, hotline, intake, refusal, review, start, submit_request,
};
use tongban_proto::catalog::v1::GetMatterRequest;
use tongban_proto::common::v1::{ChecklistItem, Decision, Delivery, DeliveryMethod, Mode};
use tongban_proto::hotline::v1::QueryCaseStatusRequest;
use tongban_proto::intake::v1::GetCaseRequest;
use tongban_proto::logistics::v1::logistics_service_client::LogisticsServiceClient;
use tongban_proto::logistics::v1::{
    CreateWaybillRequest, GetWaybillRequest, ListWaybillsRequest, RecordTrackingEventRequest,
    Waybill, WaybillPurpose, WaybillStatus,
};
use tongban_runtime::auth::Role;
use tongban_runtime::status::details;
use tongban_testkit::{Bearer, channel, eventually};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::TestResult;

type Client = LogisticsServiceClient<InterceptedService<Channel, Bearer>>;

/// 户口迁移（工作调动）: the transfer order (DDZM) must travel as a paper original.
const MATTER: &str = "GA-HJ-QY-GZDD";
/// Bound for events to travel between services.
const PROPAGATION: Duration = Duration::from_secs(30);
/// The tariff's 山西 ↔ 宁夏 postage (deploy/logistics/tariff.toml).
const SHANXI_NINGXIA_FEN: i64 = 1800;

fn logistics(port: u16, token: &str) -> Client {
    LogisticsServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// The waybill of `purpose` of a case once it exists and `accept` holds for it.
async fn waybill_of(
    client: &Client,
    case_id: &str,
    purpose: WaybillPurpose,
    accept: impl Fn(&Waybill) -> bool,
    what: &str,
) -> Result<Waybill, String> {
    let accept = &accept;
    eventually(PROPAGATION, move || async move {
        let listed = client
            .clone()
            .list_waybills(ListWaybillsRequest {
                case_id: case_id.to_owned(),
            })
            .await
            .ok()?
            .into_inner();
        listed
            .waybills
            .into_iter()
            .find(|w| w.purpose() == purpose && accept(w))
    })
    .await
    .map_err(|e| format!("{what}: {e}"))
}

/// Originals travel 五台 → 银川; approval waits for them; the result is mailed back; the hotline
/// shows both waybills delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_gate_the_decision_and_the_result_is_mailed() -> TestResult {
    let (env, [intake_svc, review_svc, hotline_svc, logistics_svc]) =
        start::<(Intake, Review, Hotline, Logistics)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let reviewer = env.mint(Role::Reviewer, YINCHUAN_GONGAN);
    let operator = env.mint(Role::Hotline, "12345");
    let mut window = intake(intake_svc.port(), &clerk);
    let mut inbox = review(review_svc.port(), &reviewer);
    let desk = logistics(logistics_svc.port(), &clerk);
    let office = logistics(logistics_svc.port(), &reviewer);

    let mut request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "logistics-1",
        MATTER,
        "640104",
        Mode::Proxy,
    )
    .await?;
    request.delivery = Some(Delivery {
        method: DeliveryMethod::Mail.into(),
        address: "山西省忻州市五台县台城镇东街18号".to_owned(),
    });
    let accepted = window.submit_case(request).await?.into_inner();
    let case_id = accepted.case_id.clone();

    // The originals waybill is made from the routed case, with the tariff's postage.
    let originals = waybill_of(
        &desk,
        &case_id,
        WaybillPurpose::Originals,
        |_| true,
        "the originals waybill",
    )
    .await?;
    assert_eq!(originals.status(), WaybillStatus::Created);
    assert_eq!(originals.material_codes, ["DDZM"]);
    assert_eq!(
        originals.fee_fen, SHANXI_NINGXIA_FEN,
        "山西 → 宁夏 by the tariff"
    );
    let sender = originals.sender.clone().unwrap_or_default();
    let recipient = originals.recipient.clone().unwrap_or_default();
    assert_eq!(sender.office_id, WINDOW);
    assert_eq!(recipient.office_id, YINCHUAN_GONGAN);

    // Review starts on the scans.
    {
        let (inbox, case_id) = (&inbox, &case_id);
        eventually(PROPAGATION, move || async move {
            inbox.clone().claim_case(claim(case_id)).await.ok()
        })
        .await
        .map_err(|e| format!("the office claims the case: {e}"))?;
    }
    let matter = catalog(intake_svc.port(), &clerk)
        .get_matter(GetMatterRequest {
            code: MATTER.to_owned(),
        })
        .await?
        .into_inner();
    let checklist: Vec<ChecklistItem> = matter
        .review_points
        .iter()
        .map(|p| ChecklistItem {
            review_point_code: p.code.clone(),
            passed: true,
            note: "核查无误".to_owned(),
        })
        .collect();
    let approve = decide_request(
        &case_id,
        Decision::Approve,
        "符合条件，准予迁入 / approved",
        checklist,
    );

    // A day later the parcel is on the road: approval is refused, naming the material.
    env.clock().advance(TimeDelta::days(1));
    let moving = waybill_of(
        &desk,
        &case_id,
        WaybillPurpose::Originals,
        |w| w.status() == WaybillStatus::InTransit,
        "the originals in transit",
    )
    .await?;
    assert_eq!(
        moving.custody.len(),
        1,
        "window → courier: {:?}",
        moving.custody
    );
    assert_eq!(moving.custody[0].from_party, sender.name);
    let refused = refusal(
        inbox.decide_case(approve.clone()).await,
        Code::FailedPrecondition,
        "the originals are still travelling",
    )?;
    let (_, preconditions) = details(&refused);
    assert!(
        preconditions.iter().any(|p| p.subject == "DDZM"),
        "the refusal names the material: {refused:?}"
    );

    // Delivered two days later: the chain of custody ends at the office, approval goes through.
    env.clock().advance(TimeDelta::days(2));
    let delivered = waybill_of(
        &office,
        &case_id,
        WaybillPurpose::Originals,
        |w| w.status() == WaybillStatus::Delivered,
        "the originals delivered",
    )
    .await?;
    let chain: Vec<(&str, &str)> = delivered
        .custody
        .iter()
        .map(|c| (c.from_party.as_str(), c.to_party.as_str()))
        .collect();
    assert_eq!(chain.len(), 2, "{chain:?}");
    assert_eq!(chain[0].0, sender.name);
    assert_eq!(chain[1].1, recipient.name);
    assert_eq!(chain[0].1, chain[1].0, "the same courier");
    // 特殊环节: time in transit did not count; the window's due moment moved out.
    {
        let (window, case_id, before) = (&window, &case_id, accepted.due_at);
        eventually(PROPAGATION, move || async move {
            let case = window
                .clone()
                .get_case(GetCaseRequest {
                    case_id: case_id.clone(),
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner();
            let later =
                |a: &prost_types::Timestamp, b: &prost_types::Timestamp| a.seconds > b.seconds;
            matches!((&case.due_at, &before), (Some(now), Some(was)) if later(now, was))
                .then_some(())
        })
        .await
        .map_err(|e| format!("the transit does not count toward the time limit: {e}"))?;
    }
    {
        let (inbox, approve) = (&inbox, &approve);
        eventually(PROPAGATION, move || async move {
            inbox.clone().decide_case(approve.clone()).await.ok()
        })
        .await
        .map_err(|e| format!("approval once the originals arrived: {e}"))?;
    }

    // The result is mailed to the applicant: 宁夏 → 山西 by the tariff, the address masked.
    let result = waybill_of(
        &office,
        &case_id,
        WaybillPurpose::Result,
        |_| true,
        "the result waybill",
    )
    .await?;
    assert_eq!(result.fee_fen, SHANXI_NINGXIA_FEN);
    let to = result.recipient.clone().unwrap_or_default();
    assert!(to.address.ends_with("****"), "masked: {}", to.address);
    assert!(!to.address.contains("东街18号"));
    // The courier sees the whole address.
    let courier = logistics(
        logistics_svc.port(),
        &env.mint(Role::Carrier, tongban_logistics::carrier::SIMULATED),
    );
    let for_courier = courier
        .clone()
        .get_waybill(GetWaybillRequest {
            tracking_number: result.tracking_number.clone(),
        })
        .await?
        .into_inner();
    assert!(
        for_courier
            .recipient
            .unwrap_or_default()
            .address
            .contains("东街18号")
    );
    env.clock().advance(TimeDelta::days(3));
    waybill_of(
        &office,
        &case_id,
        WaybillPurpose::Result,
        |w| w.status() == WaybillStatus::Delivered,
        "the result delivered",
    )
    .await?;

    // The hotline shows both waybills delivered.
    let calls = hotline(hotline_svc.port(), &operator);
    let number = accepted.case_number.clone();
    let id_tail = ID_NUMBER[ID_NUMBER.len() - 6..].to_owned();
    let (calls, number, id_tail) = (&calls, &number, &id_tail);
    let shown = eventually(PROPAGATION, move || async move {
        let view = calls
            .clone()
            .query_case_status(QueryCaseStatusRequest {
                case_number: number.clone(),
                verification: id_tail.clone(),
            })
            .await
            .ok()?
            .into_inner();
        (view.waybills.len() == 2 && view.waybills.iter().all(|w| w.status == "delivered"))
            .then_some(view)
    })
    .await
    .map_err(|e| format!("the hotline shows both waybills delivered: {e}"))?;
    assert!(shown.waybills.iter().all(|w| w.status_label == "已签收"));
    Ok(())
}

/// The carrier's callback: duplicates change nothing, a late event never moves a delivered
/// waybill back; bad tracking numbers and wrong roles are refused; postage is free within the
/// province.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrier_callbacks_are_idempotent_and_guarded() -> TestResult {
    let (env, [intake_svc, logistics_svc]) = start::<(Intake, Logistics)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut window = intake(intake_svc.port(), &clerk);
    let desk = logistics(logistics_svc.port(), &clerk);
    let mut carrier = logistics(
        logistics_svc.port(),
        &env.mint(Role::Carrier, tongban_logistics::carrier::SIMULATED),
    );

    // 全省通办 (五台 → 太原): the originals travel free of charge.
    let request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "logistics-2",
        MATTER,
        "140105",
        Mode::Proxy,
    )
    .await?;
    let accepted = window.submit_case(request).await?.into_inner();
    assert_eq!(accepted.responsible_office_id, TAIYUAN_GONGAN);
    let waybill = waybill_of(
        &desk,
        &accepted.case_id,
        WaybillPurpose::Originals,
        |_| true,
        "the originals waybill",
    )
    .await?;
    assert_eq!(waybill.fee_fen, 0, "省内免费邮寄");
    let number = waybill.tracking_number.clone();
    let report = |status: WaybillStatus, id: &str| RecordTrackingEventRequest {
        tracking_number: number.clone(),
        status: status.into(),
        location: "太原转运中心".to_owned(),
        occurred_at: None,
        carrier_event_id: id.to_owned(),
    };

    use WaybillStatus::{Delivered, InTransit, OutForDelivery};
    // Each report in turn: the status the waybill then shows and, where it is the point, how
    // many events it keeps.
    for (status, id, shows, events, why) in [
        (
            InTransit,
            "ev-1",
            InTransit,
            None,
            "the first report moves it",
        ),
        (
            InTransit,
            "ev-1",
            InTransit,
            Some(1),
            "a duplicate is recorded once",
        ),
        (
            Delivered,
            "ev-1",
            InTransit,
            None,
            "the same event id with another status is still the same event",
        ),
        (Delivered, "ev-2", Delivered, None, "delivered"),
        (
            OutForDelivery,
            "ev-3",
            Delivered,
            Some(3),
            "never moves back; the late event is kept as history",
        ),
    ] {
        let waybill = carrier
            .record_tracking_event(report(status, id))
            .await?
            .into_inner();
        assert_eq!(waybill.status(), shows, "{status:?} {id}: {why}");
        if let Some(events) = events {
            assert_eq!(waybill.events.len(), events, "{status:?} {id}: {why}");
        }
    }

    // Bad tracking numbers.
    for bad in ["TB123", "XX12345678901", ""] {
        let mut request = report(WaybillStatus::InTransit, "ev-bad");
        request.tracking_number = bad.to_owned();
        let refused = carrier
            .record_tracking_event(request)
            .await
            .expect_err("malformed");
        assert_eq!(refused.code(), Code::InvalidArgument, "{bad}: {refused:?}");
        let (fields, _) = details(&refused);
        assert!(
            fields.iter().any(|f| f.field == "tracking_number"),
            "{refused:?}"
        );
    }
    let mut wrong_check = number.clone().into_bytes();
    let last = wrong_check.len() - 1;
    wrong_check[last] = if wrong_check[last] == b'0' {
        b'1'
    } else {
        b'0'
    };
    let mut request = report(WaybillStatus::InTransit, "ev-check");
    request.tracking_number = String::from_utf8(wrong_check)?;
    let refused = refusal(
        carrier.record_tracking_event(request).await,
        Code::InvalidArgument,
        "wrong check character",
    )?;
    assert!(refused.message().contains("校验位"), "{refused:?}");
    let mut request = report(WaybillStatus::InTransit, "ev-unknown");
    request.tracking_number = with_check("9999999999");
    refusal(
        carrier.record_tracking_event(request).await,
        Code::NotFound,
        "no such waybill",
    )?;

    // Wrong roles.
    refusal(
        desk.clone()
            .record_tracking_event(report(WaybillStatus::Delivered, "ev-clerk"))
            .await,
        Code::PermissionDenied,
        "only the carrier reports",
    )?;
    refusal(
        carrier
            .create_waybill(CreateWaybillRequest {
                case_id: accepted.case_id.clone(),
                purpose: WaybillPurpose::Other.into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "the carrier makes no waybills",
    )?;
    let stranger = logistics(
        logistics_svc.port(),
        &env.mint(Role::Reviewer, YINCHUAN_GONGAN),
    );
    refusal(
        stranger
            .clone()
            .list_waybills(ListWaybillsRequest {
                case_id: accepted.case_id.clone(),
            })
            .await,
        Code::NotFound,
        "another office's case",
    )?;

    // By hand: re-sending to the responsible office, recorded with the same free postage.
    let resent = desk
        .clone()
        .create_waybill(CreateWaybillRequest {
            case_id: accepted.case_id.clone(),
            purpose: WaybillPurpose::Other.into(),
            recipient: Some(tongban_proto::logistics::v1::Address {
                office_id: TAIYUAN_GONGAN.to_owned(),
                ..Default::default()
            }),
            material_codes: vec!["DDZM".to_owned()],
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(resent.fee_fen, 0);
    assert_ne!(resent.tracking_number, number);
    Ok(())
}

/// A well-formed tracking number of `digits` (ten): `TB`, the digits and their ISO 7064
/// MOD 11-2 check character.
fn with_check(digits: &str) -> String {
    let sum = digits.bytes().rev().enumerate().fold(0u32, |sum, (i, b)| {
        let weight = (1u32 << ((i + 1) % 10)) % 11;
        sum + u32::from(b - b'0') * weight
    });
    let check = match (12 - sum % 11) % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).unwrap_or('?'),
    };
    format!("TB{digits}{check}")
}
