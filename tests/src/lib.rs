//! tongban-e2e: helpers shared by the end-to-end tests in `tests/`. The tests use only the public
//! gRPC API, as a window clerk, a reviewer or a hotline operator would, plus NATS to inspect the
//! stream.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use prost::Message as _;
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::catalog::v1::{BundleDefinition, GetMatterRequest};
use tongban_proto::common::v1::{
    Applicant, BundleStatus, BundleSummary, CasePart, ChecklistItem, Decision, Delivery,
    DeliveryMethod, MaterialForm, Mode, PartState, PresentedMaterial,
};
use tongban_proto::events::v1::Event;
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_proto::hotline::v1::{CaseStatusView, QueryCaseStatusRequest};
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::intake::v1::{Bundle, Case, GetBundleRequest, GetCaseRequest};
use tongban_proto::intake::v1::{SubmitBundleRequest, SubmitCaseRequest};
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_proto::review::v1::{
    Assignment, AssignmentState, ClaimCaseRequest, DecideCaseRequest, GetAssignmentRequest,
    ListAssignmentsRequest, ListAssignmentsResponse, RequestSupplementRequest,
};
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tongban_proto::supervision::v1::{Alert, AlertKind, ListAlertsRequest, ListAlertsResponse};
use tongban_runtime::auth::Role;
use tongban_runtime::status::details;
use tongban_testkit::{Bearer, Running, Service, TestEnv, TestkitError, channel, eventually};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// 五台县政务服务中心: the 通办 window of the demo.
pub const WINDOW: &str = "140922-zwfw";
/// A valid 身份证号 (GB 11643 check digit X).
pub const ID_NUMBER: &str = "11010519491231002X";
/// A valid mobile number.
pub const PHONE: &str = "13812345678";
/// Applicant name used by the tests.
pub const NAME: &str = "王小明";

/// 户口迁移（工作调动）, handled as 多地联办: 迁入地审批 (QR), then 迁出地办理迁出 (QC); 10 working
/// days promised.
pub const GZDD: &str = "GA-HJ-QY-GZDD";
/// 住房公积金转移接续, handled as 多地联办: 转入地 (ZR) and 转出地 (ZC) in parallel.
pub const GJJ: &str = "GJJ-ZY-JX";
/// 出生一件事: five members (出生医学证明, 生育登记, 出生登记, 医保参保, 社保卡申领).
pub const BIRTH: &str = "YJS-CS";
/// 退休一件事: three members (退休, 医保待遇核定, 退休提取公积金).
pub const RETIREMENT: &str = "YJS-TX";

/// 银川市兴庆区: the home of the applicant who moves away (迁出地, 转出地).
pub const HOME: &str = "640104";
/// 五台县: the window's county; home of the 一件事 families (every member handled by an office
/// for 五台).
pub const WUTAI: &str = "140922";
/// Where the applicant moves to: 五台县 (迁入地, 转入地).
pub const DESTINATION: &str = WUTAI;

/// 五台县公安局 (county level): 迁入地审批 of a move to 五台, the first part of [`GZDD`].
pub const WUTAI_GONGAN: &str = "140922-gongan";
/// 银川市公安局 (city level): 开具户籍类证明 of [`HOME`] and 迁出地办理迁出 of a move from there.
pub const YINCHUAN_GONGAN: &str = "640100-gongan";
/// 太原市公安局: an office with no part in the cases of these tests.
pub const TAIYUAN_GONGAN: &str = "140100-gongan";
/// 忻州市住房公积金管理中心: 转入地 of a transfer to 五台 (五台 has no centre of its own).
pub const XINZHOU_GJJ: &str = "140900-gjj";
/// 银川住房公积金管理中心: 转出地 of a transfer from [`HOME`].
pub const YINCHUAN_GJJ: &str = "640100-gjj";

/// The intake service (通办 window, catalog, cases and bundles).
pub type Intake = tongban_intake::Application;
/// The review service (the responsible offices' inboxes).
pub type Review = tongban_review::Application;
/// The 12345 hotline service.
pub type Hotline = tongban_hotline::Application;
/// The supervision service (deadlines, alerts, 13710 tickets).
pub type Supervision = tongban_supervision::Application;
/// The logistics service (originals in transit, mail).
pub type Logistics = tongban_logistics::Application;

/// The certificate service (电子证照 issue and verification).
pub type Certificate = tongban_certificate::Application;

/// Bound for events to travel between services in the tests.
pub const PROPAGATION: Duration = Duration::from_secs(20);

/// A channel with the bearer interceptor, as every client here uses.
pub type Authed = InterceptedService<Channel, Bearer>;

/// CatalogService client on `port` sending `token`.
#[must_use]
pub fn catalog(port: u16, token: &str) -> CatalogServiceClient<Authed> {
    CatalogServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// IntakeService client on `port` sending `token`.
#[must_use]
pub fn intake(port: u16, token: &str) -> IntakeServiceClient<Authed> {
    IntakeServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// ReviewService client on `port` sending `token`.
#[must_use]
pub fn review(port: u16, token: &str) -> ReviewServiceClient<Authed> {
    ReviewServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// HotlineService client on `port` sending `token`.
#[must_use]
pub fn hotline(port: u16, token: &str) -> HotlineServiceClient<Authed> {
    HotlineServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// SupervisionService client on `port` sending `token`.
#[must_use]
pub fn supervision(port: u16, token: &str) -> SupervisionServiceClient<Authed> {
    SupervisionServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// The clients of the clerk at [`WINDOW`] on the intake service at `port`: CatalogService (read
/// as the window's client reads it) and IntakeService.
#[must_use]
pub fn window_clients(
    env: &TestEnv,
    port: u16,
) -> (CatalogServiceClient<Authed>, IntakeServiceClient<Authed>) {
    let clerk = env.mint(Role::Clerk, WINDOW);
    (catalog(port, &clerk), intake(port, &clerk))
}

/// HotlineService client on `port` for an operator (Role::Hotline) of the 12345 hotline.
#[must_use]
pub fn hotline_operator(env: &TestEnv, port: u16) -> HotlineServiceClient<Authed> {
    hotline(port, &env.mint(Role::Hotline, "12345"))
}

/// Services a test starts together: a tuple of [`Service`]s, started in the tuple's order.
pub trait Services {
    /// One [`Running`] per service, in the same order.
    type Running;

    /// Starts each service on `env`, in order.
    fn spawn(env: &TestEnv) -> impl Future<Output = Result<Self::Running, TestkitError>>;
}

impl<A: Service> Services for (A,) {
    type Running = [Running; 1];

    async fn spawn(env: &TestEnv) -> Result<Self::Running, TestkitError> {
        Ok([env.spawn::<A>().await?])
    }
}

impl<A: Service, B: Service> Services for (A, B) {
    type Running = [Running; 2];

    async fn spawn(env: &TestEnv) -> Result<Self::Running, TestkitError> {
        let a = env.spawn::<A>().await?;
        Ok([a, env.spawn::<B>().await?])
    }
}

impl<A: Service, B: Service, C: Service> Services for (A, B, C) {
    type Running = [Running; 3];

    async fn spawn(env: &TestEnv) -> Result<Self::Running, TestkitError> {
        let a = env.spawn::<A>().await?;
        let b = env.spawn::<B>().await?;
        Ok([a, b, env.spawn::<C>().await?])
    }
}

impl<A: Service, B: Service, C: Service, D: Service> Services for (A, B, C, D) {
    type Running = [Running; 4];

    async fn spawn(env: &TestEnv) -> Result<Self::Running, TestkitError> {
        let a = env.spawn::<A>().await?;
        let b = env.spawn::<B>().await?;
        let c = env.spawn::<C>().await?;
        Ok([a, b, c, env.spawn::<D>().await?])
    }
}

/// Starts services `S` on `env`, in order (for a test that sets up `env` first, e.g. its clock).
///
/// # Errors
/// A service did not start.
pub async fn spawn_services<S: Services>(env: &TestEnv) -> Result<S::Running, TestkitError> {
    S::spawn(env).await
}

/// The start of a test: a fresh [`TestEnv`] (its own schema, stream and clock) with services `S`
/// started on it, in order.
///
/// # Errors
/// The environment could not be set up, or a service did not start.
pub async fn start<S: Services>() -> Result<(TestEnv, S::Running), TestkitError> {
    let env = TestEnv::new().await?;
    let running = S::spawn(&env).await?;
    Ok((env, running))
}

/// The end of a test: stops `services` in the order given, then removes the test's schema and
/// streams ([`TestEnv::cleanup`]).
///
/// # Errors
/// A service did not stop cleanly, or the clean-up failed.
pub async fn shut_down<const N: usize>(
    env: TestEnv,
    services: [Running; N],
) -> Result<(), TestkitError> {
    for service in services {
        service.stop().await?;
    }
    env.cleanup().await
}

/// ReviewService client on `port` for a reviewer (Role::Reviewer) of `office`.
#[must_use]
pub fn reviewer(env: &TestEnv, port: u16, office: &str) -> ReviewServiceClient<Authed> {
    review(port, &env.mint(Role::Reviewer, office))
}

/// 认领: the ClaimCase request of case `case_id`.
#[must_use]
pub fn claim(case_id: &str) -> ClaimCaseRequest {
    ClaimCaseRequest {
        case_id: case_id.to_owned(),
    }
}

/// The DecideCase request deciding case `case_id` as `decision` for `reason`, with `checklist`.
#[must_use]
pub fn decide_request(
    case_id: &str,
    decision: Decision,
    reason: &str,
    checklist: Vec<ChecklistItem>,
) -> DecideCaseRequest {
    DecideCaseRequest {
        case_id: case_id.to_owned(),
        decision: decision.into(),
        reason: reason.to_owned(),
        checklist,
    }
}

/// 准予: the DecideCase request approving case `case_id` with `checklist`.
#[must_use]
pub fn approve(case_id: &str, checklist: Vec<ChecklistItem>) -> DecideCaseRequest {
    decide_request(
        case_id,
        Decision::Approve,
        "符合条件，准予办理 / approved",
        checklist,
    )
}

/// 补正: the RequestSupplement request asking for `items` of case `case_id` for `reason`.
#[must_use]
pub fn supplement_request(case_id: &str, items: &[&str], reason: &str) -> RequestSupplementRequest {
    RequestSupplementRequest {
        case_id: case_id.to_owned(),
        items: items.iter().map(|&item| item.to_owned()).collect(),
        reason: reason.to_owned(),
    }
}

/// The office of `inbox` approves case `case_id` of `matter` (already claimed) with every 审查要点
/// of the matter passed ([`passing_checklist`]).
///
/// # Errors
/// GetMatter or DecideCase failed.
pub async fn approve_passing(
    inbox: &mut ReviewServiceClient<Authed>,
    catalog: &mut CatalogServiceClient<Authed>,
    case_id: &str,
    matter: &str,
) -> Result<(), tonic::Status> {
    let checklist = passing_checklist(catalog, matter, None).await?;
    inbox.decide_case(approve(case_id, checklist)).await?;
    Ok(())
}

/// The part `code` of a 多地联办 case's parts.
///
/// # Errors
/// There is no such part.
pub fn part<'a>(parts: &'a [CasePart], code: &str) -> Result<&'a CasePart, String> {
    parts
        .iter()
        .find(|p| p.part_code == code)
        .ok_or_else(|| format!("no part {code} among {parts:?}"))
}

/// The state of part `code`, `Unspecified` when the case has no such part.
#[must_use]
pub fn state_of(parts: &[CasePart], code: &str) -> PartState {
    parts
        .iter()
        .find(|p| p.part_code == code)
        .map_or(PartState::Unspecified, CasePart::state)
}

/// Whether a refusal has `code` and names `words` (in its message or a violation).
#[must_use]
pub fn refused_naming(status: &tonic::Status, code: Code, words: &str) -> bool {
    let (fields, preconditions) = details(status);
    status.code() == code
        && (status.message().contains(words)
            || fields.iter().any(|v| v.description.contains(words))
            || preconditions
                .iter()
                .any(|v| v.description.contains(words) || v.subject.contains(words)))
}

/// The refusal `answer` holds, which must carry `code`; `what` names the step for the failure
/// message.
///
/// # Errors
/// The step was not refused, or was refused with another code.
pub fn refusal<T>(
    answer: Result<T, tonic::Status>,
    code: Code,
    what: &str,
) -> Result<tonic::Status, String> {
    match answer {
        Ok(_) => Err(format!("{what}: not refused")),
        Err(refused) if refused.code() == code => Ok(refused),
        Err(refused) => Err(format!("{what}: refused with {refused:?}, not {code:?}")),
    }
}

/// A 64-hex-digit stand-in for the SHA-256 of a scanned file, distinct per call.
#[must_use]
pub fn fake_sha256() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// How the clerk presents material `code` under `mode`: 异地代收代办 needs paper originals where the
/// catalog says so; everything else is an electronic scan.
#[must_use]
pub fn presented(code: &str, mode: Mode, paper_original_required: bool) -> PresentedMaterial {
    if mode == Mode::Proxy && paper_original_required {
        PresentedMaterial {
            material_code: code.to_owned(),
            form: MaterialForm::Paper.into(),
            pages: 1,
            ..Default::default()
        }
    } else {
        PresentedMaterial {
            material_code: code.to_owned(),
            form: MaterialForm::Electronic.into(),
            sha256: fake_sha256(),
            pages: 1,
            ..Default::default()
        }
    }
}

/// A complete SubmitCase request at [`WINDOW`] for `matter` and `home_division` under `mode`,
/// with every required material of the matter (read from CatalogService.GetMatter, as the
/// window's client would) and pick-up at the window.
///
/// # Errors
/// GetMatter failed.
pub async fn submit_request(
    catalog: &mut CatalogServiceClient<Authed>,
    key: &str,
    matter: &str,
    home_division: &str,
    mode: Mode,
) -> Result<SubmitCaseRequest, tonic::Status> {
    let found = catalog
        .get_matter(GetMatterRequest {
            code: matter.to_owned(),
        })
        .await?
        .into_inner();
    let materials = found
        .materials
        .iter()
        .filter(|m| m.required)
        .map(|m| presented(&m.code, mode, m.paper_original_required))
        .collect();
    Ok(SubmitCaseRequest {
        idempotency_key: key.to_owned(),
        window_office_id: WINDOW.to_owned(),
        matter_code: matter.to_owned(),
        mode: mode.into(),
        applicant: Some(Applicant {
            name: NAME.to_owned(),
            id_number: ID_NUMBER.to_owned(),
            phone: PHONE.to_owned(),
        }),
        home_division: home_division.to_owned(),
        materials,
        delivery: Some(Delivery {
            method: DeliveryMethod::WindowPickup.into(),
            address: String::new(),
        }),
        destination_division: String::new(),
    })
}

/// A complete 多地联办 SubmitCase request: as [`submit_request`] under MODE_JOINT, with the
/// applicant moving from `home_division` (迁出地, 转出地) to `destination_division` (迁入地, 转入地).
///
/// # Errors
/// GetMatter failed.
pub async fn joint_request(
    catalog: &mut CatalogServiceClient<Authed>,
    key: &str,
    matter: &str,
    home_division: &str,
    destination_division: &str,
) -> Result<SubmitCaseRequest, tonic::Status> {
    let mut request = submit_request(catalog, key, matter, home_division, Mode::Joint).await?;
    destination_division.clone_into(&mut request.destination_division);
    Ok(request)
}

/// A complete SubmitBundle request at [`WINDOW`] for bundle `code`, as the window's client
/// builds it from CatalogService.GetBundle: every required material of the union presented once,
/// the first mode every member allows (全程网办 when offered), pick-up at the window when every
/// member offers it (else the first common delivery method). Returns the definition with it.
///
/// # Errors
/// GetBundle failed.
pub async fn bundle_request(
    catalog: &mut CatalogServiceClient<Authed>,
    key: &str,
    code: &str,
    home_division: &str,
) -> Result<(SubmitBundleRequest, BundleDefinition), tonic::Status> {
    let definition = catalog
        .get_bundle(tongban_proto::catalog::v1::GetBundleRequest {
            code: code.to_owned(),
        })
        .await?
        .into_inner();
    let mode = if definition.modes().any(|m| m == Mode::Online) {
        Mode::Online
    } else {
        definition.modes().next().unwrap_or(Mode::Online)
    };
    let materials = definition
        .materials
        .iter()
        .filter_map(|m| m.material.as_ref())
        .filter(|m| m.required)
        .map(|m| presented(&m.code, mode, m.paper_original_required))
        .collect();
    let method = if definition
        .delivery_methods()
        .any(|m| m == DeliveryMethod::WindowPickup)
    {
        DeliveryMethod::WindowPickup
    } else {
        definition
            .delivery_methods()
            .next()
            .unwrap_or(DeliveryMethod::WindowPickup)
    };
    let address = if method == DeliveryMethod::Mail {
        "山西省忻州市五台县台城镇五台山路1号".to_owned()
    } else {
        String::new()
    };
    let request = SubmitBundleRequest {
        idempotency_key: key.to_owned(),
        window_office_id: WINDOW.to_owned(),
        bundle_code: code.to_owned(),
        mode: mode.into(),
        applicant: Some(Applicant {
            name: NAME.to_owned(),
            id_number: ID_NUMBER.to_owned(),
            phone: PHONE.to_owned(),
        }),
        home_division: home_division.to_owned(),
        materials,
        delivery: Some(Delivery {
            method: method.into(),
            address,
        }),
    };
    Ok((request, definition))
}

/// A checklist answering each 审查要点 the reviewer of `matter` answers — for a 多地联办 part
/// `part` only that part's points (CatalogService.GetMatter: `parts[].review_point_codes`) —
/// every one passed.
///
/// # Errors
/// GetMatter failed, or the matter has no part `part`.
pub async fn passing_checklist(
    catalog: &mut CatalogServiceClient<Authed>,
    matter: &str,
    part: Option<&str>,
) -> Result<Vec<ChecklistItem>, tonic::Status> {
    let found = catalog
        .get_matter(GetMatterRequest {
            code: matter.to_owned(),
        })
        .await?
        .into_inner();
    let codes: Vec<String> = match part {
        Some(code) => found
            .parts
            .iter()
            .find(|p| p.code == code)
            .map(|p| p.review_point_codes.clone())
            .ok_or_else(|| tonic::Status::not_found(format!("{matter} has no part {code}")))?,
        None => found.review_points.iter().map(|p| p.code.clone()).collect(),
    };
    Ok(codes
        .into_iter()
        .map(|code| ChecklistItem {
            review_point_code: code,
            passed: true,
            note: "核查无误 / checked".to_owned(),
        })
        .collect())
}

/// ISO 7064 MOD 11-2 check character of `digits` (as GB 11643 and the case number use).
#[must_use]
pub fn mod11_2(digits: &str) -> char {
    let sum = digits.bytes().rev().enumerate().fold(0u32, |sum, (i, b)| {
        let weight = (1u32 << ((i + 1) % 10)) % 11;
        sum + u32::from(b - b'0') * weight
    });
    match (12 - sum % 11) % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).unwrap_or('?'),
    }
}

/// The 19 digits of case number `real` before its check character, in order.
#[must_use]
pub fn case_number_digits(real: &str) -> String {
    real.chars().filter(char::is_ascii_digit).take(19).collect()
}

/// A well-formed case number of the same window and day as `real` that no case has (sequence
/// 99999).
///
/// # Errors
/// `real` does not hold 19 digits before its check character.
pub fn unknown_case_number(real: &str) -> Result<String, String> {
    let digits = case_number_digits(real);
    if digits.len() != 19 {
        return Err(format!("unexpected case number {real}"));
    }
    let unknown = format!("{}99999", &digits[..14]);
    Ok(format!(
        "{}-{}-{}-{}",
        &unknown[..6],
        &unknown[6..14],
        &unknown[14..19],
        mod11_2(&unknown)
    ))
}

/// One message of the test's stream, decoded.
#[derive(Debug)]
pub struct Published {
    /// The subject it was published on.
    pub subject: String,
    /// Its headers, the first value of each.
    pub headers: Vec<(String, String)>,
    /// The event it carries.
    pub event: Event,
}

impl Published {
    /// The first value of header `name`, compared case-insensitively.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every message on the stream of `env`, in stream order.
///
/// # Errors
/// The stream could not be read, or a message does not decode as an event.
pub async fn read_stream(env: &TestEnv) -> Result<Vec<Published>, Box<dyn std::error::Error>> {
    let jetstream = async_nats::jetstream::new(env.nats().clone());
    let mut stream = jetstream.get_stream(env.stream()).await?;
    let state = stream.info().await?.state.clone();
    let mut out = Vec::new();
    if state.messages == 0 {
        return Ok(out);
    }
    for sequence in state.first_sequence..=state.last_sequence {
        let raw = stream.get_raw_message(sequence).await?;
        let headers = raw
            .headers
            .iter()
            .filter_map(|(name, values)| {
                values
                    .first()
                    .map(|v| (name.to_string(), v.as_str().to_owned()))
            })
            .collect();
        let event = Event::decode(raw.payload.as_ref())?;
        out.push(Published {
            subject: raw.subject.to_string(),
            headers,
            event,
        });
    }
    Ok(out)
}

/// Every event of case `case_id` on the stream of `env`, in stream order.
///
/// # Errors
/// As [`read_stream`].
pub async fn case_events(
    env: &TestEnv,
    case_id: &str,
) -> Result<Vec<Event>, Box<dyn std::error::Error>> {
    Ok(read_stream(env)
        .await?
        .into_iter()
        .map(|p| p.event)
        .filter(|e| e.case_id == case_id)
        .collect())
}

/// What the caller tells the 12345 hotline to prove who they are: the last six characters of
/// [`ID_NUMBER`].
#[must_use]
pub fn id_tail() -> String {
    ID_NUMBER[ID_NUMBER.len() - 6..].to_owned()
}

/// Asks `ask` until its answer satisfies `want`, within [`PROPAGATION`]. On time-out the error
/// says `what` was awaited and shows the last answer (or refusal), so a failure tells what the
/// service showed instead.
///
/// # Errors
/// The condition did not hold in time.
pub async fn until<T, F, Fut>(what: &str, ask: F, want: impl Fn(&T) -> bool) -> Result<T, String>
where
    T: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    until_within(PROPAGATION, what, ask, want).await
}

/// As [`until`], within `bound` (for a test whose events travel through more services).
///
/// # Errors
/// The condition did not hold in time.
pub async fn until_within<T, F, Fut>(
    bound: Duration,
    what: &str,
    mut ask: F,
    want: impl Fn(&T) -> bool,
) -> Result<T, String>
where
    T: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let last: Mutex<String> = Mutex::new("no answer".to_owned());
    let (last_seen, want) = (&last, &want);
    let found = eventually(bound, || {
        let answer = ask();
        async move {
            let answer = answer.await;
            let keep = |text: String| {
                if let Ok(mut slot) = last_seen.lock() {
                    *slot = text;
                }
            };
            match answer {
                Ok(value) if want(&value) => Some(value),
                Ok(value) => {
                    keep(format!("{value:?}"));
                    None
                }
                Err(status) => {
                    keep(format!("{status:?}"));
                    None
                }
            }
        }
    })
    .await;
    found.map_err(|timed_out| {
        let seen = last.lock().map(|s| s.clone()).unwrap_or_default();
        format!("{what}: {timed_out}; last answer: {seen}")
    })
}

/// Asks `client` with `request` through `call` (one RPC) until the answer satisfies `want`,
/// within `bound`; every try asks a clone of `client` with a clone of `request`.
///
/// # Errors
/// As [`until`].
pub async fn answer_until_within<C, Q, T>(
    bound: Duration,
    what: &str,
    client: &C,
    request: &Q,
    call: impl AsyncFn(&mut C, Q) -> Result<tonic::Response<T>, tonic::Status>,
    want: impl Fn(&T) -> bool,
) -> Result<T, String>
where
    C: Clone,
    Q: Clone,
    T: Debug,
{
    let call = &call;
    until_within(
        bound,
        what,
        || {
            let (mut client, request) = (client.clone(), request.clone());
            async move {
                call(&mut client, request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        },
        want,
    )
    .await
}

/// Waits until the office of `inbox` shows case `case_id` (GetAssignment) as `want` accepts.
///
/// # Errors
/// As [`until`].
pub async fn assignment_until(
    inbox: &ReviewServiceClient<Authed>,
    case_id: &str,
    what: &str,
    want: impl Fn(&Assignment) -> bool,
) -> Result<Assignment, String> {
    let request = GetAssignmentRequest {
        case_id: case_id.to_owned(),
    };
    answer_until_within(
        PROPAGATION,
        what,
        inbox,
        &request,
        async |inbox, request| inbox.get_assignment(request).await,
        want,
    )
    .await
}

/// Waits until the office of `inbox` lists case `case_id` in its inbox (ListAssignments, first
/// page) and returns it there; `what` names the wait.
///
/// # Errors
/// As [`until`].
pub async fn listed_until(
    inbox: &ReviewServiceClient<Authed>,
    case_id: &str,
    what: &str,
) -> Result<Assignment, String> {
    listed_until_within(PROPAGATION, inbox, case_id, what).await
}

/// As [`listed_until`], within `bound`.
///
/// # Errors
/// As [`until`].
pub async fn listed_until_within(
    bound: Duration,
    inbox: &ReviewServiceClient<Authed>,
    case_id: &str,
    what: &str,
) -> Result<Assignment, String> {
    let listing = answer_until_within(
        bound,
        what,
        inbox,
        &ListAssignmentsRequest::default(),
        async |inbox, request| inbox.list_assignments(request).await,
        |listing: &ListAssignmentsResponse| {
            listing.assignments.iter().any(|a| a.case_id == case_id)
        },
    )
    .await?;
    listing
        .assignments
        .into_iter()
        .find(|a| a.case_id == case_id)
        .ok_or_else(|| format!("{what}: listed, then gone"))
}

/// Waits until the office of `inbox` shows case `case_id` in `state`; `what` names the wait.
///
/// # Errors
/// As [`until`].
pub async fn state_until(
    inbox: &ReviewServiceClient<Authed>,
    case_id: &str,
    what: &str,
    state: AssignmentState,
) -> Result<Assignment, String> {
    assignment_until(inbox, case_id, what, |a| a.state() == state).await
}

/// 认领 once ready: waits until the office of `inbox` shows case `case_id` ROUTED (`what` names
/// the wait), then claims it.
///
/// # Errors
/// As [`until`], or the claim was refused.
pub async fn claim_when_routed(
    inbox: &mut ReviewServiceClient<Authed>,
    case_id: &str,
    what: &str,
) -> Result<Assignment, String> {
    state_until(inbox, case_id, what, AssignmentState::Routed).await?;
    inbox
        .claim_case(claim(case_id))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|refused| format!("{what}: the claim was refused: {refused:?}"))
}

/// Whether `bundle` (the 一件事 summary a case, an assignment or a hotline view carries) is there
/// and in `status`.
#[must_use]
pub fn bundle_in(bundle: Option<&BundleSummary>, status: BundleStatus) -> bool {
    bundle.is_some_and(|b| b.status() == status)
}

/// Waits until the window shows case `case_id` (GetCase) as `want` accepts.
///
/// # Errors
/// As [`until`].
pub async fn case_until(
    window: &IntakeServiceClient<Authed>,
    case_id: &str,
    what: &str,
    want: impl Fn(&Case) -> bool,
) -> Result<Case, String> {
    case_until_within(PROPAGATION, window, case_id, what, want).await
}

/// As [`case_until`], within `bound`.
///
/// # Errors
/// As [`until`].
pub async fn case_until_within(
    bound: Duration,
    window: &IntakeServiceClient<Authed>,
    case_id: &str,
    what: &str,
    want: impl Fn(&Case) -> bool,
) -> Result<Case, String> {
    let request = GetCaseRequest {
        case_id: case_id.to_owned(),
        ..Default::default()
    };
    answer_until_within(
        bound,
        what,
        window,
        &request,
        async |window, request| window.get_case(request).await,
        want,
    )
    .await
}

/// Waits until the window shows bundle `bundle_id` (GetBundle) as `want` accepts.
///
/// # Errors
/// As [`until`].
pub async fn bundle_until(
    window: &IntakeServiceClient<Authed>,
    bundle_id: &str,
    what: &str,
    want: impl Fn(&Bundle) -> bool,
) -> Result<Bundle, String> {
    let request = GetBundleRequest {
        bundle_id: bundle_id.to_owned(),
        ..Default::default()
    };
    answer_until_within(
        PROPAGATION,
        what,
        window,
        &request,
        async |window, request| window.get_bundle(request).await,
        want,
    )
    .await
}

/// Waits until the 12345 hotline shows case `case_number` (QueryCaseStatus, verified with
/// [`id_tail`]) as `want` accepts. Every query of a number the hotline does not know yet counts
/// towards its verification lock-out (5 an hour), so call this only once the hotline has had
/// time to learn of the case.
///
/// # Errors
/// As [`until`].
pub async fn hotline_until(
    calls: &HotlineServiceClient<Authed>,
    case_number: &str,
    what: &str,
    want: impl Fn(&CaseStatusView) -> bool,
) -> Result<CaseStatusView, String> {
    let request = QueryCaseStatusRequest {
        case_number: case_number.to_owned(),
        verification: id_tail(),
    };
    answer_until_within(
        PROPAGATION,
        what,
        calls,
        &request,
        async |calls, request| calls.query_case_status(request).await,
        want,
    )
    .await
}

/// Waits within `bound` until supervision lists (ListAlerts of `kind`) an alert of case `case_id`
/// for `stage` ("" for the whole case) and returns it.
///
/// # Errors
/// As [`until`].
pub async fn alert_until(
    bound: Duration,
    supervisor: &SupervisionServiceClient<Authed>,
    case_id: &str,
    kind: AlertKind,
    stage: &str,
) -> Result<Alert, String> {
    let is_it = |a: &Alert| a.case_id == case_id && a.stage == stage;
    let request = ListAlertsRequest {
        kind: kind.into(),
        ..Default::default()
    };
    let listing = answer_until_within(
        bound,
        &format!("{kind:?} for stage {stage:?} of the case"),
        supervisor,
        &request,
        async |supervisor, request| supervisor.list_alerts(request).await,
        |listing: &ListAlertsResponse| listing.alerts.iter().any(is_it),
    )
    .await?;
    listing
        .alerts
        .into_iter()
        .find(is_it)
        .ok_or_else(|| format!("{kind:?} of the case: listed, then gone"))
}

/// Where `text` shows personal data in full: the test ID number or phone, or any number of 11 or
/// more digits (an unmasked phone or ID number). `None` when it shows none.
#[must_use]
pub fn unmasked_personal_data(text: &str) -> Option<String> {
    if text.contains(ID_NUMBER) || text.contains(&ID_NUMBER.to_ascii_lowercase()) {
        return Some("the full ID number".to_owned());
    }
    if text.contains(PHONE) {
        return Some("the full phone number".to_owned());
    }
    // Whole tokens only: hex digests, UUIDs and trace ids may hold long runs of decimal digits
    // (the last group of a UUID is all digits about once in 300), so they are left out first.
    let tokens = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|t| uuid::Uuid::parse_str(t).is_err() && !is_traceparent(t))
        .flat_map(|t| t.split('-'));
    for token in tokens {
        let digits = token.strip_suffix(['X', 'x']).unwrap_or(token);
        if digits.len() >= 11 && digits.chars().all(|c| c.is_ascii_digit()) {
            return Some(format!(
                "a number of {} digits ({}…)",
                token.len(),
                &token[..4]
            ));
        }
    }
    None
}

/// Whether `value` is a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`, ids not all zero).
#[must_use]
pub fn is_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    };
    let nonzero = |s: &str| s.chars().any(|c| c != '0');
    matches!(parts.as_slice(), [version, trace, span, flags]
        if hex(version, 2) && *version != "ff" && hex(trace, 32) && nonzero(trace) && hex(span, 16) && nonzero(span) && hex(flags, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_found() {
        assert!(
            unmasked_personal_data("id: \"110105********002X\", phone: \"138****5678\"").is_none()
        );
        assert!(unmasked_personal_data("seconds: 1764000000, nanos: 123456789").is_none());
        assert!(
            unmasked_personal_data("case_id: \"01a2228c-6755-72c7-8207-813147758190\"").is_none()
        );
        assert!(unmasked_personal_data("phone: 13900001111").is_some());
        assert!(unmasked_personal_data("sha256: \"a684312345678901234b\"").is_none());
        assert!(unmasked_personal_data(&format!("x {ID_NUMBER} y")).is_some());
        assert!(unmasked_personal_data("tel 13900001111.").is_some());
        assert!(unmasked_personal_data("11010519491231002").is_some());
    }

    #[test]
    fn traceparents() {
        assert!(is_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(!is_traceparent(
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        ));
        assert!(!is_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
        ));
        assert!(!is_traceparent(
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"
        ));
    }
}
