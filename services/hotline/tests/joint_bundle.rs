//! The 12345 view of 多地联办 and 一件事 cases. The events intake and review publish are put on
//! the real stream; the real hotline service (PostgreSQL, JetStream, gRPC on port 0) consumes
//! them and is asked with QueryCaseStatus as a hotline operator asks it. Run with
//! `cargo test -p tongban-hotline --test joint_bundle` (PostgreSQL and NATS as for the e2e tests).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use prost::Message as _;
use tongban_domain::case_number::CaseNumber;
use tongban_domain::division::DivisionCode;
use tongban_proto::common::v1 as pb;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_proto::hotline::v1::{CaseStatusView, QueryCaseStatusRequest};
use tongban_runtime::auth::Role;
use tongban_runtime::clock::Clock as _;
use tongban_runtime::convert::timestamp;
use tongban_runtime::pii::PiiKeys;
use tongban_runtime::verification::{VerificationKind, verification_digest};
use tongban_testkit::{Bearer, Running, TestEnv, channel, eventually};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Client = HotlineServiceClient<InterceptedService<Channel, Bearer>>;

/// Bound for an event to reach the read model.
const PROPAGATION: Duration = Duration::from_secs(20);
/// The applicant's ID number and phone: they must never appear in an answer.
const ID_NUMBER: &str = "11010519491231002X";
const PHONE: &str = "13812345678";
/// 五台县政务服务中心, 五台县公安局 (迁出地), 银川市公安局 (迁入地).
const WINDOW: &str = "140922-zwfw";
const WUTAI_GONGAN: &str = "140922-gongan";
const YINCHUAN_GONGAN: &str = "640100-gongan";

/// Publishes events of one case on the test's stream, acknowledged, with their ids as
/// `Nats-Msg-Id` (as the outbox relay does).
struct Publisher {
    subject_root: String,
    jetstream: async_nats::jetstream::Context,
    keys: PiiKeys,
}

/// The real hotline service on the test's own schema and subject prefix, a publisher on its
/// stream and a client acting as a 12345 hotline operator.
struct Harness {
    env: TestEnv,
    service: Running,
    publisher: Publisher,
    client: Client,
}

impl Harness {
    async fn start() -> Result<Self, Box<dyn std::error::Error>> {
        let env = TestEnv::new().await?;
        let service = env.spawn::<tongban_hotline::Application>().await?;
        let publisher = Publisher {
            subject_root: env.subject_root().to_owned(),
            jetstream: async_nats::jetstream::new(env.nats().clone()),
            keys: PiiKeys::load_or_create(&env.settings("hotline").state_dir)?,
        };
        let client = HotlineServiceClient::with_interceptor(
            channel(service.port()),
            Bearer::new(&env.mint(Role::Hotline, "12345")),
        );
        Ok(Self {
            env,
            service,
            publisher,
            client,
        })
    }

    /// Stops the service and removes the test's schema and stream.
    async fn stop(self) -> Result<(), Box<dyn std::error::Error>> {
        self.service.stop().await?;
        self.env.cleanup().await?;
        Ok(())
    }
}

/// One case as the events name it.
struct Case {
    id: Uuid,
    number: String,
}

impl Case {
    fn new(sequence: u32) -> Result<Self, Box<dyn std::error::Error>> {
        let division = DivisionCode::parse("140922")?;
        let date = NaiveDate::from_ymd_opt(2026, 9, 14).ok_or("date")?;
        Ok(Self {
            id: Uuid::now_v7(),
            number: CaseNumber::new(&division, date, sequence)
                .as_str()
                .to_owned(),
        })
    }
}

impl Publisher {
    /// Publishes `body` for `case` at `at` on the subject its event type names.
    async fn publish(
        &self,
        case: &Case,
        at: DateTime<Utc>,
        body: Body,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let suffix = subject_of(&body);
        let event = tongban_bus::new_event(case.id, &case.number, "test", "", at, body);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.event_id.as_str());
        self.jetstream
            .publish_with_headers(
                format!("{}.{suffix}", self.subject_root),
                headers,
                event.encode_to_vec().into(),
            )
            .await?
            .await?;
        Ok(())
    }

    /// `case.submitted` then `case.routed`, as intake publishes them.
    async fn open(
        &self,
        case: &Case,
        summary: ev::CaseSummary,
        at: DateTime<Utc>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let digest = |kind, value| verification_digest(&self.keys, kind, &case.number, value);
        self.publish(
            case,
            at,
            Body::CaseSubmitted(ev::CaseSubmitted {
                summary: Some(summary.clone()),
                id_tail_digest: digest(VerificationKind::IdTail, &ID_NUMBER[12..]),
                phone_tail_digest: digest(VerificationKind::PhoneTail, &PHONE[7..]),
            }),
        )
        .await?;
        self.publish(
            case,
            at,
            Body::CaseRouted(ev::CaseRouted {
                summary: Some(summary),
            }),
        )
        .await
    }

    /// `case.part_updated` for each `(part, state, at, reason)` of `steps`, in order.
    async fn parts(
        &self,
        case: &Case,
        steps: &[(&pb::CasePart, pb::PartState, DateTime<Utc>, &str)],
    ) -> Result<(), Box<dyn std::error::Error>> {
        for &(part, state, at, reason) in steps {
            self.part(case, part, state, at, reason).await?;
        }
        Ok(())
    }

    /// `case.part_updated` for `part` in `state` at `at`.
    async fn part(
        &self,
        case: &Case,
        part: &pb::CasePart,
        state: pb::PartState,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let decision = match state {
            pb::PartState::Approved => pb::Decision::Approve,
            pb::PartState::Denied => pb::Decision::Deny,
            _ => pb::Decision::Unspecified,
        };
        self.publish(
            case,
            at,
            Body::CasePartUpdated(ev::CasePartUpdated {
                part: Some(pb::CasePart {
                    state: state.into(),
                    decision: decision.into(),
                    reason: reason.to_owned(),
                    updated_at: Some(timestamp(at)),
                    ..part.clone()
                }),
                reviewer: "reviewer-1".to_owned(),
            }),
        )
        .await
    }
}

/// The subject (below the test's root) on which intake and review publish `body`.
fn subject_of(body: &Body) -> &'static str {
    match body {
        Body::CaseSubmitted(_) => "case.submitted",
        Body::CaseRouted(_) => "case.routed",
        Body::CasePartUpdated(_) => "case.part_updated",
        Body::CaseClaimed(_) => "case.claimed",
        Body::SupplementRequested(_) => "case.supplement_requested",
        Body::CaseSupplemented(_) => "case.supplemented",
        Body::CaseDecided(_) => "case.decided",
        Body::CaseWithdrawn(_) => "case.withdrawn",
        Body::CaseCompleted(_) => "case.completed",
        other => panic!("the test publishes no {other:?}"),
    }
}

fn summary(matter_code: &str, matter_name: &str, responsible: &str) -> ev::CaseSummary {
    ev::CaseSummary {
        matter_code: matter_code.to_owned(),
        matter_name: matter_name.to_owned(),
        mode: pb::Mode::Online.into(),
        scope: pb::Scope::CrossProvince.into(),
        window_office_id: WINDOW.to_owned(),
        responsible_office_id: responsible.to_owned(),
        applicant: Some(pb::MaskedApplicant {
            name: "王小明".to_owned(),
            id_number_masked: "1101**********002X".to_owned(),
            phone_masked: "138****5678".to_owned(),
        }),
        home_division: "140922".to_owned(),
        ..Default::default()
    }
}

/// 户口迁移 between 五台 (迁出地) and 银川 (迁入地): 迁出地审核 first, then 迁入地审批.
fn joint_parts() -> [pb::CasePart; 2] {
    let out = pb::CasePart {
        part_code: "QC".to_owned(),
        name: "迁出地审核".to_owned(),
        name_en: "Move-out check".to_owned(),
        department: "gongan".to_owned(),
        office_id: WUTAI_GONGAN.to_owned(),
        scope: pb::Scope::Local.into(),
        state: pb::PartState::Routed.into(),
        locality: "home_division".to_owned(),
        division: "140922".to_owned(),
        ..Default::default()
    };
    let into = pb::CasePart {
        part_code: "QR".to_owned(),
        name: "迁入地审批".to_owned(),
        name_en: "Move-in approval".to_owned(),
        department: "gongan".to_owned(),
        office_id: YINCHUAN_GONGAN.to_owned(),
        scope: pb::Scope::CrossProvince.into(),
        after: vec!["QC".to_owned()],
        state: pb::PartState::Waiting.into(),
        locality: "destination_division".to_owned(),
        division: "640104".to_owned(),
        ..Default::default()
    };
    [out, into]
}

fn joint_summary() -> ev::CaseSummary {
    ev::CaseSummary {
        mode: pb::Mode::Joint.into(),
        parts: joint_parts().to_vec(),
        destination_division: "640104".to_owned(),
        ..summary("GA-HJ-QY-ZFTJ", "户口迁移（夫妻投靠）", WUTAI_GONGAN)
    }
}

/// Asks for `number` (verified by the ID tail) until `done` holds for the view; every answer is
/// checked for the applicant's full ID number and phone.
async fn view_when(
    client: &Client,
    number: &str,
    done: impl Fn(&CaseStatusView) -> bool,
) -> Result<CaseStatusView, Box<dyn std::error::Error>> {
    let view = eventually(PROPAGATION, || {
        let mut client = client.clone();
        let done = &done;
        async move {
            let view = client
                .query_case_status(QueryCaseStatusRequest {
                    case_number: number.to_owned(),
                    verification: ID_NUMBER[12..].to_owned(),
                })
                .await
                .ok()?
                .into_inner();
            done(&view).then_some(view)
        }
    })
    .await?;
    let text = format!("{view:?}");
    assert!(
        !text.contains(ID_NUMBER) && !text.contains(PHONE) && !text.contains("13800138000"),
        "the view shows personal data: {text}"
    );
    Ok(view)
}

fn state_of(view: &CaseStatusView, code: &str) -> pb::PartState {
    view.parts
        .iter()
        .find(|p| p.part_code == code)
        .map_or(pb::PartState::Unspecified, pb::CasePart::state)
}

/// A joint case with sequential parts: each part's step shows in `parts` and in the timeline
/// with its office's name; 补正 and its material move the part in 补正; a late redelivery does
/// not move a part back; the case is approved when the last part is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_case_parts_in_the_status_view() -> TestResult {
    let harness = Harness::start().await?;
    let (env, publisher, client) = (&harness.env, &harness.publisher, &harness.client);
    let t0 = env.clock().now();
    let at = |minutes| t0 + TimeDelta::minutes(minutes);
    let [out, into] = joint_parts();
    let case = Case::new(1)?;

    publisher.open(&case, joint_summary(), t0).await?;
    let view = view_when(client, &case.number, |v| {
        v.status() == pb::CaseStatus::Routed
    })
    .await?;
    assert_eq!(view.mode(), pb::Mode::Joint);
    assert_eq!(view.parts.len(), 2);
    assert_eq!(state_of(&view, "QC"), pb::PartState::Routed);
    assert_eq!(state_of(&view, "QR"), pb::PartState::Waiting);
    assert_eq!(view.parts[1].office_id, YINCHUAN_GONGAN);
    assert_eq!(view.parts[1].after, ["QC"]);
    assert_eq!(view.parts[1].scope(), pb::Scope::CrossProvince);
    assert_eq!(view.parts[1].division, "640104");
    assert!(view.bundle.is_none());

    // 迁出地 claims and approves; 迁入地 starts.
    publisher
        .part(&case, &out, pb::PartState::Claimed, at(1), "")
        .await?;
    publisher
        .publish(
            &case,
            at(1),
            Body::CaseClaimed(ev::CaseClaimed {
                office_id: WUTAI_GONGAN.to_owned(),
                reviewer: "reviewer-1".to_owned(),
            }),
        )
        .await?;
    publisher
        .parts(
            &case,
            &[
                (&out, pb::PartState::Approved, at(2), "准予迁出"),
                (&into, pb::PartState::Routed, at(2), ""),
            ],
        )
        .await?;
    let view = view_when(client, &case.number, |v| {
        state_of(v, "QR") == pb::PartState::Routed
    })
    .await?;
    assert_eq!(view.status(), pb::CaseStatus::Claimed);
    assert_eq!(state_of(&view, "QC"), pb::PartState::Approved);
    assert_eq!(view.parts[0].decision(), pb::Decision::Approve);
    assert_eq!(view.parts[0].reason, "准予迁出");
    let lines: Vec<&str> = view
        .timeline
        .iter()
        .map(|l| l.description.as_str())
        .collect();
    assert!(
        lines.contains(&"「迁出地审核」已准予（五台县公安局）"),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"「迁入地审批」已转银川市公安局办理"),
        "{lines:?}"
    );
    let approved_line = view
        .timeline
        .iter()
        .find(|l| l.description.starts_with("「迁出地审核」已准予"))
        .ok_or("no line for the approval")?;
    assert_eq!(approved_line.office_id, WUTAI_GONGAN);
    assert!(
        approved_line
            .description_en
            .contains("\"Move-out check\" approved")
    );

    // 迁入地 asks for 补正 (a phone typed into the reason is masked); the material arrives.
    publisher
        .part(&case, &into, pb::PartState::Claimed, at(3), "")
        .await?;
    publisher
        .part(
            &case,
            &into,
            pb::PartState::SupplementRequested,
            at(4),
            "请补交结婚证，联系13800138000",
        )
        .await?;
    publisher
        .publish(
            &case,
            at(4),
            Body::SupplementRequested(ev::SupplementRequested {
                office_id: YINCHUAN_GONGAN.to_owned(),
                items: vec!["结婚证".to_owned()],
                reason: "请补交结婚证".to_owned(),
            }),
        )
        .await?;
    let view = view_when(client, &case.number, |v| {
        v.status() == pb::CaseStatus::SupplementRequested
            && state_of(v, "QR") == pb::PartState::SupplementRequested
    })
    .await?;
    // Read to a caller who proves themselves with the last four phone digits: none of a phone
    // number shows but its first three digits.
    assert_eq!(view.parts[1].reason, "请补交结婚证，联系138********");
    publisher
        .publish(
            &case,
            at(5),
            Body::CaseSupplemented(ev::CaseSupplemented {
                note: "已补交结婚证".to_owned(),
                ..Default::default()
            }),
        )
        .await?;
    let view = view_when(client, &case.number, |v| {
        v.status() == pb::CaseStatus::Supplemented
    })
    .await?;
    assert_eq!(state_of(&view, "QR"), pb::PartState::Supplemented);
    assert_eq!(state_of(&view, "QC"), pb::PartState::Approved);

    // 迁入地 approves; a claim of earlier, delivered late, changes nothing.
    publisher
        .part(&case, &into, pb::PartState::Approved, at(6), "准予迁入")
        .await?;
    publisher
        .publish(
            &case,
            at(6),
            Body::CaseDecided(ev::CaseDecided {
                office_id: WUTAI_GONGAN.to_owned(),
                decision: pb::Decision::Approve.into(),
                reason: "准予迁入".to_owned(),
                ..Default::default()
            }),
        )
        .await?;
    publisher
        .part(&case, &into, pb::PartState::Claimed, at(3), "")
        .await?;
    let view = view_when(client, &case.number, |v| {
        v.status() == pb::CaseStatus::Approved
            && v.timeline
                .iter()
                .filter(|l| l.description == "「迁入地审批」银川市公安局已认领，正在审查")
                .count()
                == 2
    })
    .await?;
    assert_eq!(state_of(&view, "QR"), pb::PartState::Approved);
    assert_eq!(state_of(&view, "QC"), pb::PartState::Approved);
    assert_eq!(view.parts[1].decision(), pb::Decision::Approve);

    // Withdrawn before the end: every part not done is withdrawn, a done one stays.
    let other = Case::new(2)?;
    publisher.open(&other, joint_summary(), t0).await?;
    publisher
        .parts(
            &other,
            &[
                (&out, pb::PartState::Approved, at(1), ""),
                (&into, pb::PartState::Routed, at(1), ""),
            ],
        )
        .await?;
    publisher
        .publish(
            &other,
            at(2),
            Body::CaseWithdrawn(ev::CaseWithdrawn {
                reason: "申请人撤回".to_owned(),
            }),
        )
        .await?;
    let view = view_when(client, &other.number, |v| {
        v.status() == pb::CaseStatus::Withdrawn
    })
    .await?;
    assert_eq!(state_of(&view, "QC"), pb::PartState::Approved);
    assert_eq!(state_of(&view, "QR"), pb::PartState::Withdrawn);

    harness.stop().await
}

/// Three member cases of 出生一件事, routed to different offices: the view of any one of them
/// lists every member (in the bundle's order, without case ids) and the status derived from
/// them, which follows the members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_members_and_status_in_the_status_view() -> TestResult {
    let harness = Harness::start().await?;
    let (env, publisher, client) = (&harness.env, &harness.publisher, &harness.client);
    let t0 = env.clock().now();
    let at = |minutes| t0 + TimeDelta::minutes(minutes);
    let bundle_id = Uuid::now_v7().to_string();
    let bundle_number = Case::new(10)?.number;
    let bundle = |s: ev::CaseSummary| ev::CaseSummary {
        bundle_id: bundle_id.clone(),
        bundle_number: bundle_number.clone(),
        bundle_code: "YJS-CS".to_owned(),
        bundle_name: "出生一件事".to_owned(),
        ..s
    };
    // Published out of the bundle's order on purpose.
    let card = Case::new(11)?;
    let birth = Case::new(12)?;
    let register = Case::new(13)?;
    for (case, matter, name, office) in [
        (&card, "RS-SBK-SL", "社会保障卡申领", "140922-renshe"),
        (&birth, "WJ-SY-DJ", "生育登记", "140922-weijian"),
        (&register, "GA-HJ-CSDJ", "出生登记", WUTAI_GONGAN),
    ] {
        let summary = bundle(summary(matter, name, office));
        publisher.open(case, summary, t0).await?;
    }
    let view = view_when(client, &card.number, |v| {
        v.bundle.as_ref().is_some_and(|b| b.members.len() == 3)
    })
    .await?;
    let summary_of = |v: &CaseStatusView| v.bundle.clone().unwrap_or_default();
    let b = summary_of(&view);
    assert_eq!(b.bundle_id, bundle_id);
    assert_eq!(b.bundle_code, "YJS-CS");
    assert_eq!(b.name, "出生一件事");
    assert_eq!(b.bundle_number, bundle_number);
    assert_eq!(b.status(), pb::BundleStatus::InProgress);
    let matters: Vec<&str> = b.members.iter().map(|m| m.matter_code.as_str()).collect();
    assert_eq!(matters, ["WJ-SY-DJ", "GA-HJ-CSDJ", "RS-SBK-SL"]);
    assert!(b.members.iter().all(|m| m.case_id.is_empty()));
    assert_eq!(b.members[1].case_number, register.number);
    assert_eq!(b.members[1].responsible_office_id, WUTAI_GONGAN);

    // One member waits for 补正: so does the bundle, whichever member the caller asks about.
    publisher
        .publish(
            &birth,
            at(1),
            Body::SupplementRequested(ev::SupplementRequested {
                office_id: "140922-weijian".to_owned(),
                items: vec!["结婚证".to_owned()],
                reason: "不清晰".to_owned(),
            }),
        )
        .await?;
    let view = view_when(client, &register.number, |v| {
        summary_of(v).status() == pb::BundleStatus::SupplementRequested
    })
    .await?;
    assert_eq!(
        summary_of(&view).members[0].status(),
        pb::CaseStatus::SupplementRequested
    );

    // Every member decided, one denied: partly denied.
    let decide = |decision: pb::Decision| {
        Body::CaseDecided(ev::CaseDecided {
            decision: decision.into(),
            reason: "审查完毕".to_owned(),
            ..Default::default()
        })
    };
    publisher
        .publish(&birth, at(2), decide(pb::Decision::Deny))
        .await?;
    publisher
        .publish(&register, at(2), decide(pb::Decision::Approve))
        .await?;
    publisher
        .publish(&card, at(3), decide(pb::Decision::Approve))
        .await?;
    let view = view_when(client, &card.number, |v| {
        summary_of(v).status() == pb::BundleStatus::PartlyDenied
    })
    .await?;
    // 办结 of every member (the denied one too) leaves the bundle partly denied.
    for (case, decision) in [
        (&birth, pb::Decision::Deny),
        (&register, pb::Decision::Approve),
        (&card, pb::Decision::Approve),
    ] {
        publisher
            .publish(
                case,
                at(4),
                Body::CaseCompleted(ev::CaseCompleted {
                    decision: decision.into(),
                    completed_at: Some(timestamp(at(4))),
                    certificate_identifier: String::new(),
                }),
            )
            .await?;
    }
    let completed = view_when(client, &birth.number, |v| {
        summary_of(v)
            .members
            .iter()
            .all(|m| m.status() == pb::CaseStatus::Completed)
    })
    .await?;
    assert_eq!(
        summary_of(&completed).status(),
        pb::BundleStatus::PartlyDenied
    );
    let statuses: Vec<pb::CaseStatus> = summary_of(&view)
        .members
        .iter()
        .map(pb::BundleMember::status)
        .collect();
    assert_eq!(
        statuses,
        [
            pb::CaseStatus::Denied,
            pb::CaseStatus::Approved,
            pb::CaseStatus::Approved
        ]
    );

    harness.stop().await
}
