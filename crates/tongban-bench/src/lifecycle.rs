//! The lifecycle load: window clerks submit cases, each responsible office's reviewers take them
//! as their inbox's watch stream announces them, claim and approve them, and the run observes
//! each case until it completes (办结). Only the public gRPC API is used.
//!
//! Completion is observed on the same watch streams the reviewers already read: review updates
//! its copy of a case when intake publishes `case.completed`, and the stream shows the change
//! (`case_status` COMPLETED). That costs no extra call per case; it is one hop later than intake's
//! own commit, so the completion lag is an upper bound of intake's. A case the stream has not
//! shown completed a while after its decision is asked for with GetCase (counted separately),
//! and ROUTED cases the stream did not announce are found by a ListAssignments sweep, so a
//! lagging stream slows the run down but never loses a case.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tongban_access::auth::{Claims, Role, TokenKeys};
use tongban_proto::catalog::v1::GetNoticeRequest;
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::common::v1::{
    Applicant, CaseStatus, ChecklistItem, Decision, Delivery, DeliveryMethod, MaterialForm, Mode,
    PresentedMaterial,
};
use tongban_proto::hotline::v1::QueryCaseStatusRequest;
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::intake::v1::{GetCaseRequest, SubmitCaseRequest};
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_proto::review::v1::{
    Assignment, AssignmentState, ClaimCaseRequest, DecideCaseRequest, ListAssignmentsRequest,
    WatchAssignmentsRequest,
};
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status, Streaming};

use crate::BenchError;
use crate::applicant::{self, Rng};
use crate::config::{Combination, Config};
use crate::floor::{self, Floor};
use crate::report::{ErrorCount, FloorRatio, Latencies, Report};
use crate::stats::{Percentiles, Samples};

/// File name of the deployment's token signing key in the state directory.
const SIGNING_KEY_FILE: &str = "token-signing.key";
/// Look-ups of the hotline in flight at most; ticks beyond are skipped.
const HOTLINE_IN_FLIGHT: usize = 256;
/// Cases asked for with GetCase per sweep at most.
const POLL_BATCH: usize = 64;
/// How long a case may be ROUTED (SubmitCase answered) before the sweep takes it over from the
/// watch stream; well above a healthy routing latency, so the sweep picks up only what the
/// stream lost (its broadcast channel drops changes when a watcher lags).
const SWEEP_GRACE: Duration = Duration::from_secs(5);
/// Applicant names (synthetic).
const NAMES: [&str; 8] = [
    "王小明",
    "李华",
    "张伟",
    "刘洋",
    "陈静",
    "杨帆",
    "赵磊",
    "孙丽",
];

type Authed = InterceptedService<Channel, Auth>;

/// Adds `authorization: Bearer <token>` and `accept-language` to every call.
#[derive(Clone)]
struct Auth {
    authorization: AsciiMetadataValue,
    accept_language: AsciiMetadataValue,
}

impl Interceptor for Auth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let metadata = request.metadata_mut();
        metadata.insert("authorization", self.authorization.clone());
        metadata.insert("accept-language", self.accept_language.clone());
        Ok(request)
    }
}

/// Mints the tokens of the run's users with the deployment's key, like `tongban token mint`.
struct Minter {
    keys: TokenKeys,
    ttl: Duration,
    accept_language: AsciiMetadataValue,
}

impl Minter {
    fn load(config: &Config) -> Result<Self, BenchError> {
        let path = config.state_dir.join(SIGNING_KEY_FILE);
        // `load_or_create` would make a fresh key that the services do not know: refuse instead.
        if !path.is_file() {
            return Err(BenchError::NoSigningKey(path.display().to_string()));
        }
        let keys = TokenKeys::load_or_create(&config.state_dir)?;
        let accept_language = AsciiMetadataValue::from_static(config.lang.tag());
        Ok(Self {
            keys,
            ttl: config.duration + config.drain + config.floor * 3 + Duration::from_secs(3600),
            accept_language,
        })
    }

    fn auth(&self, role: Role, office: &str) -> Result<Auth, BenchError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let claims = Claims::new(
            format!("bench-{}@{office}", role.as_str()),
            role,
            office,
            self.ttl,
            now,
        );
        let token = self.keys.mint(&claims)?;
        let authorization = AsciiMetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| BenchError::Config("minted token is not ASCII".to_owned()))?;
        Ok(Auth {
            authorization,
            accept_language: self.accept_language.clone(),
        })
    }
}

/// A lazily connecting channel to `url`.
fn channel(url: &str) -> Result<Channel, BenchError> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| BenchError::Config(format!("{url}: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    Ok(endpoint.connect_lazy())
}

/// A combination as the catalog confirmed it.
#[derive(Debug, Clone)]
struct Planned {
    combo: Combination,
    office: String,
    materials: Vec<String>,
    checklist: Vec<ChecklistItem>,
}

/// Asks the catalog, as each window's clerk, for the one-time notice of every combination.
async fn plan(config: &Config, minter: &Minter) -> Result<Vec<Planned>, BenchError> {
    let mut planned = Vec::new();
    for combo in config.mode.combinations() {
        let auth = minter.auth(Role::Clerk, &combo.window_office_id)?;
        let mut catalog =
            CatalogServiceClient::with_interceptor(channel(&config.intake_url)?, auth);
        let what = format!(
            "GetNotice {} @ {} / {}",
            combo.matter_code, combo.window_office_id, combo.home_division
        );
        let notice = catalog
            .get_notice(GetNoticeRequest {
                matter_code: combo.matter_code.clone(),
                window_office_id: combo.window_office_id.clone(),
                home_division: combo.home_division.clone(),
                mode: Mode::Online.into(),
                destination_division: String::new(),
            })
            .await
            .map_err(|status| BenchError::setup(what.clone(), status))?
            .into_inner();
        let matter = notice
            .matter
            .ok_or_else(|| BenchError::Plan(format!("{what}: no matter in the notice")))?;
        let office = notice
            .responsible_office
            .map(|o| o.id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| BenchError::Plan(format!("{what}: no responsible office")))?;
        if !matter.modes().any(|m| m == Mode::Online) {
            return Err(BenchError::Plan(format!("{what}: not handled online")));
        }
        if !matter
            .delivery_methods()
            .any(|m| m == DeliveryMethod::WindowPickup)
        {
            return Err(BenchError::Plan(format!("{what}: no window pick-up")));
        }
        let required: Vec<_> = matter.materials.iter().filter(|m| m.required).collect();
        if let Some(paper) = required.iter().find(|m| m.paper_original_required) {
            return Err(BenchError::Plan(format!(
                "{what}: material {} needs a paper original",
                paper.code
            )));
        }
        planned.push(Planned {
            office,
            materials: required.iter().map(|m| m.code.clone()).collect(),
            checklist: matter
                .review_points
                .iter()
                .map(|p| ChecklistItem {
                    review_point_code: p.code.clone(),
                    passed: true,
                    note: "核查无误 / checked".to_owned(),
                })
                .collect(),
            combo,
        });
    }
    Ok(planned)
}

/// One case of the run, from its SubmitCase answer on.
#[derive(Debug)]
struct Track {
    plan: usize,
    window: String,
    case_number: String,
    verification: String,
    submitted: Instant,
    routed: Option<Instant>,
    routed_by_watch: bool,
    /// Whether the watch stream showed the case at all (any state).
    on_watch: bool,
    decided: Option<Instant>,
    completed: Option<Instant>,
}

/// A case for a reviewer to take.
#[derive(Debug)]
struct Work {
    case_id: String,
    plan: usize,
}

#[derive(Default)]
struct Tracker {
    cases: HashMap<String, Track>,
    /// ROUTED announcements of cases not (yet) known: the watch can be quicker than the
    /// SubmitCase answer. Others' cases stay here until pruned.
    early: HashMap<String, Instant>,
    /// Case ids in completion order, for the hotline.
    completed: Vec<String>,
    queues: HashMap<String, mpsc::UnboundedSender<Work>>,
}

impl Tracker {
    fn dispatch(&self, office: &str, work: Work) {
        if let Some(queue) = self.queues.get(office) {
            // The reviewers are gone only after the run; nothing is left to do then.
            let _ = queue.send(work);
        }
    }
}

/// What every task of the run shares.
struct Shared {
    plan: Vec<Planned>,
    tracker: Mutex<Tracker>,
    submit: Samples,
    claim: Samples,
    decide: Samples,
    hotline: Samples,
    errors: Mutex<BTreeMap<(&'static str, String), u64>>,
    claim_races: AtomicU64,
    routed_by_sweep: AtomicU64,
    completed_by_poll: AtomicU64,
    hotline_skipped: AtomicU64,
}

impl Shared {
    fn tracker(&self) -> MutexGuard<'_, Tracker> {
        // A poisoned lock means a task panicked; the bookkeeping itself is still consistent.
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn error(&self, rpc: &'static str, status: &Status) {
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors
            .entry((rpc, format!("{:?}", status.code())))
            .or_default() += 1;
    }

    /// A message of an office's watch stream.
    fn on_assignment(&self, a: &Assignment, now: Instant) {
        let mut tracker = self.tracker();
        let Some(track) = tracker.cases.get_mut(&a.case_id) else {
            if a.state() == AssignmentState::Routed {
                tracker.early.entry(a.case_id.clone()).or_insert(now);
            }
            return;
        };
        track.on_watch = true;
        let mut work = None;
        if a.state() == AssignmentState::Routed && track.routed.is_none() {
            track.routed = Some(now);
            track.routed_by_watch = true;
            work = Some((track.plan, a.office_id.clone()));
        }
        let completed = a.case_status() == CaseStatus::Completed && track.completed.is_none();
        if completed {
            track.completed = Some(now);
        }
        if completed {
            tracker.completed.push(a.case_id.clone());
        }
        if let Some((plan, office)) = work {
            tracker.dispatch(
                &office,
                Work {
                    case_id: a.case_id.clone(),
                    plan,
                },
            );
        }
    }
}

/// Runs the lifecycle benchmark: the floor first (unless `config.floor` is zero), then the load
/// for `config.duration`, then a drain of at most `config.drain` for the cases in flight.
///
/// # Errors
/// [`BenchError`] when the configuration is unusable, the signing key is missing, a set-up call
/// fails or the floor cannot be measured. Refusals during the load are counted in the report.
pub async fn run_lifecycle(config: &Config) -> Result<Report, BenchError> {
    config.validate()?;
    let minter = Minter::load(config)?;
    let plan = plan(config, &minter).await?;

    let floor = if config.floor.is_zero() {
        None
    } else {
        Some(
            floor::measure(
                &config.database_url,
                &config.nats_url,
                config.floor,
                config.floor_connections,
            )
            .await?,
        )
    };

    let mut offices: Vec<String> = plan.iter().map(|p| p.office.clone()).collect();
    offices.sort();
    offices.dedup();
    let shared = Arc::new(Shared {
        plan,
        tracker: Mutex::new(Tracker::default()),
        submit: Samples::default(),
        claim: Samples::default(),
        decide: Samples::default(),
        hotline: Samples::default(),
        errors: Mutex::new(BTreeMap::new()),
        claim_races: AtomicU64::new(0),
        routed_by_sweep: AtomicU64::new(0),
        completed_by_poll: AtomicU64::new(0),
        hotline_skipped: AtomicU64::new(0),
    });

    // Reviewers first: each office's watch is open (its snapshot taken) before any case exists.
    let stop_all = CancellationToken::new();
    let stop_load = CancellationToken::new();
    let mut background = JoinSet::new();
    for office in &offices {
        let auth = minter.auth(Role::Reviewer, office)?;
        let (sender, receiver) = mpsc::unbounded_channel();
        shared.tracker().queues.insert(office.clone(), sender);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let mut inbox =
            ReviewServiceClient::with_interceptor(channel(&config.review_url)?, auth.clone());
        let stream = inbox
            .watch_assignments(WatchAssignmentsRequest {
                office_id: office.clone(),
            })
            .await
            .map_err(|status| BenchError::setup(format!("WatchAssignments {office}"), status))?
            .into_inner();
        background.spawn(watch(
            shared.clone(),
            inbox.clone(),
            office.clone(),
            stream,
            stop_all.clone(),
        ));
        background.spawn(sweep(
            shared.clone(),
            inbox,
            office.clone(),
            config.sweep_interval,
            stop_all.clone(),
        ));
        for _ in 0..config.reviewers {
            let client =
                ReviewServiceClient::with_interceptor(channel(&config.review_url)?, auth.clone());
            background.spawn(reviewer(
                shared.clone(),
                client,
                receiver.clone(),
                stop_all.clone(),
            ));
        }
    }

    // Each window's clerks; each clerk works at one window, in turn over its combinations.
    let mut windows: Vec<String> = shared
        .plan
        .iter()
        .map(|p| p.combo.window_office_id.clone())
        .collect();
    windows.sort();
    windows.dedup();
    let mut window_clients = HashMap::new();
    for window in &windows {
        let auth = minter.auth(Role::Clerk, window)?;
        window_clients.insert(window.clone(), auth);
    }
    background.spawn(poll_completions(
        shared.clone(),
        window_clients
            .iter()
            .map(|(w, auth)| {
                Ok((
                    w.clone(),
                    IntakeServiceClient::with_interceptor(
                        channel(&config.intake_url)?,
                        auth.clone(),
                    ),
                ))
            })
            .collect::<Result<HashMap<_, _>, BenchError>>()?,
        config.sweep_interval,
        stop_all.clone(),
    ));

    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let start = Instant::now();
    let window_end = start + config.duration;
    let mut clerks = JoinSet::new();
    for clerk in 0..config.clerks {
        let window = &windows[clerk % windows.len()];
        let mine: Vec<usize> = (0..shared.plan.len())
            .filter(|&i| &shared.plan[i].combo.window_office_id == window)
            .collect();
        let auth = window_clients
            .get(window)
            .cloned()
            .ok_or_else(|| BenchError::Config(format!("no clerk for {window}")))?;
        let client = IntakeServiceClient::with_interceptor(channel(&config.intake_url)?, auth);
        clerks.spawn(clerk_loop(
            shared.clone(),
            client,
            mine,
            format!("bench-{run_id}-{clerk}"),
            clerk,
            stop_load.clone(),
        ));
    }
    let mut hotline_task = None;
    if config.hotline_rate > 0.0 {
        let auth = minter.auth(Role::Hotline, "12345")?;
        let client = HotlineServiceClient::with_interceptor(channel(&config.hotline_url)?, auth);
        hotline_task = Some(tokio::spawn(hotline(
            shared.clone(),
            client,
            config.hotline_rate,
            stop_load.clone(),
        )));
    }

    tokio::time::sleep_until(window_end.into()).await;
    stop_load.cancel();
    while clerks.join_next().await.is_some() {}
    if let Some(task) = hotline_task {
        let _ = task.await;
    }

    // Drain: wait for the cases in flight, at most `drain`.
    let drain_start = Instant::now();
    let drain_end = drain_start + config.drain;
    loop {
        let unfinished = shared
            .tracker()
            .cases
            .values()
            .filter(|t| t.completed.is_none())
            .count();
        if unfinished == 0 || Instant::now() >= drain_end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drain_secs = drain_start.elapsed().as_secs_f64();
    stop_all.cancel();
    while background.join_next().await.is_some() {}

    Ok(report(
        config, &shared, offices, start, window_end, drain_secs, floor,
    ))
}

/// Reads an office's watch stream until `stop`, reopening it when it ends or fails.
async fn watch(
    shared: Arc<Shared>,
    mut inbox: ReviewServiceClient<Authed>,
    office: String,
    mut stream: Streaming<Assignment>,
    stop: CancellationToken,
) {
    loop {
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = stream.message() => next,
            };
            match next {
                Ok(Some(a)) => shared.on_assignment(&a, Instant::now()),
                Ok(None) => break,
                Err(status) => {
                    shared.error("WatchAssignments", &status);
                    break;
                }
            }
        }
        // Reopen after a pause; the sweep covers what was missed meanwhile.
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        match inbox
            .watch_assignments(WatchAssignmentsRequest {
                office_id: office.clone(),
            })
            .await
        {
            Ok(response) => stream = response.into_inner(),
            Err(status) => shared.error("WatchAssignments", &status),
        }
    }
}

/// Every `interval`, the office's ROUTED cases of this run that the watch did not announce within
/// [`SWEEP_GRACE`] go to its reviewers; announcements of cases that are not this run's are forgotten after a minute.
async fn sweep(
    shared: Arc<Shared>,
    mut inbox: ReviewServiceClient<Authed>,
    office: String,
    interval: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let listed = inbox
            .list_assignments(ListAssignmentsRequest {
                office_id: office.clone(),
                states: vec![AssignmentState::Routed.into()],
                limit: 500,
            })
            .await;
        let now = Instant::now();
        match listed {
            Ok(response) => {
                let mut tracker = shared.tracker();
                for a in response.into_inner().assignments {
                    let Some(track) = tracker.cases.get_mut(&a.case_id) else {
                        continue;
                    };
                    // Accepted long enough ago that the watch should have shown it.
                    if track.routed.is_none()
                        && now.saturating_duration_since(track.submitted) >= SWEEP_GRACE
                    {
                        track.routed = Some(now);
                        let plan = track.plan;
                        shared.routed_by_sweep.fetch_add(1, Ordering::Relaxed);
                        tracker.dispatch(
                            &office,
                            Work {
                                case_id: a.case_id,
                                plan,
                            },
                        );
                    }
                }
                tracker
                    .early
                    .retain(|_, at| now.saturating_duration_since(*at) < Duration::from_secs(60));
            }
            Err(status) => shared.error("ListAssignments", &status),
        }
    }
}

/// Every `interval`, asks the window (GetCase) for cases decided a while ago and not yet seen
/// completed on a watch stream.
async fn poll_completions(
    shared: Arc<Shared>,
    mut windows: HashMap<String, IntakeServiceClient<Authed>>,
    interval: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let now = Instant::now();
        let due: Vec<(String, String)> = shared
            .tracker()
            .cases
            .iter()
            .filter(|(_, t)| {
                t.completed.is_none()
                    && t.decided
                        .is_some_and(|d| now.saturating_duration_since(d) >= interval * 2)
            })
            .take(POLL_BATCH)
            .map(|(id, t)| (id.clone(), t.window.clone()))
            .collect();
        for (case_id, window) in due {
            let Some(client) = windows.get_mut(&window) else {
                continue;
            };
            match client
                .get_case(GetCaseRequest {
                    case_id: case_id.clone(),
                    case_number: String::new(),
                })
                .await
            {
                Ok(case) if case.get_ref().status() == CaseStatus::Completed => {
                    let mut tracker = shared.tracker();
                    if let Some(track) = tracker.cases.get_mut(&case_id)
                        && track.completed.is_none()
                    {
                        track.completed = Some(Instant::now());
                        shared.completed_by_poll.fetch_add(1, Ordering::Relaxed);
                        tracker.completed.push(case_id);
                    }
                }
                Ok(_) => {}
                Err(status) => shared.error("GetCase", &status),
            }
        }
    }
}

/// A window clerk: submits one case after another until `stop`.
async fn clerk_loop(
    shared: Arc<Shared>,
    mut client: IntakeServiceClient<Authed>,
    mine: Vec<usize>,
    key_prefix: String,
    clerk: usize,
    stop: CancellationToken,
) {
    let mut rng = Rng::from_entropy();
    let mut seq = 0usize;
    while !stop.is_cancelled() && !mine.is_empty() {
        let plan_index = mine[(clerk + seq) % mine.len()];
        let planned = &shared.plan[plan_index];
        seq += 1;
        let home = &planned.combo.home_division;
        let Some(id_number) = applicant::id_number(home, &mut rng) else {
            return;
        };
        let request = SubmitCaseRequest {
            idempotency_key: format!("{key_prefix}-{seq}"),
            window_office_id: planned.combo.window_office_id.clone(),
            matter_code: planned.combo.matter_code.clone(),
            mode: Mode::Online.into(),
            applicant: Some(Applicant {
                name: NAMES[rng.between(0, NAMES.len() as u64 - 1) as usize].to_owned(),
                id_number: id_number.clone(),
                phone: applicant::phone(&mut rng),
            }),
            home_division: home.clone(),
            materials: planned
                .materials
                .iter()
                .map(|code| PresentedMaterial {
                    material_code: code.clone(),
                    form: MaterialForm::Electronic.into(),
                    sha256: format!(
                        "{:016x}{:016x}{:016x}{:016x}",
                        rng.next_u64(),
                        rng.next_u64(),
                        rng.next_u64(),
                        rng.next_u64()
                    ),
                    pages: 1,
                    ..Default::default()
                })
                .collect(),
            delivery: Some(Delivery {
                method: DeliveryMethod::WindowPickup.into(),
                address: String::new(),
            }),
            destination_division: String::new(),
        };
        let sent = Instant::now();
        match client.submit_case(request).await {
            Ok(response) => {
                let now = Instant::now();
                shared.submit.record(now - sent);
                let accepted = response.into_inner();
                let mut tracker = shared.tracker();
                let early = tracker.early.remove(&accepted.case_id);
                let office = accepted.responsible_office_id.clone();
                tracker.cases.insert(
                    accepted.case_id.clone(),
                    Track {
                        plan: plan_index,
                        window: planned.combo.window_office_id.clone(),
                        case_number: accepted.case_number,
                        verification: applicant::verification(&id_number),
                        submitted: now,
                        routed: early,
                        routed_by_watch: early.is_some(),
                        on_watch: early.is_some(),
                        decided: None,
                        completed: None,
                    },
                );
                if early.is_some() {
                    tracker.dispatch(
                        &office,
                        Work {
                            case_id: accepted.case_id,
                            plan: plan_index,
                        },
                    );
                }
            }
            Err(status) => {
                shared.error("SubmitCase", &status);
                // Do not spin on a service that refuses everything.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A reviewer of an office: takes the next announced case, claims it and approves it with every
/// review point passed.
async fn reviewer(
    shared: Arc<Shared>,
    mut client: ReviewServiceClient<Authed>,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Work>>>,
    stop: CancellationToken,
) {
    loop {
        let work = {
            let mut queue = tokio::select! {
                () = stop.cancelled() => return,
                queue = queue.lock() => queue,
            };
            tokio::select! {
                () = stop.cancelled() => return,
                work = queue.recv() => work,
            }
        };
        let Some(work) = work else { return };
        let sent = Instant::now();
        match client
            .claim_case(ClaimCaseRequest {
                case_id: work.case_id.clone(),
            })
            .await
        {
            Ok(_) => shared.claim.record(sent.elapsed()),
            // Another reviewer took it first: normal in an office with several reviewers.
            Err(status)
                if matches!(
                    status.code(),
                    Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted
                ) =>
            {
                shared.claim_races.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(status) => {
                shared.error("ClaimCase", &status);
                continue;
            }
        }
        let sent = Instant::now();
        match client
            .decide_case(DecideCaseRequest {
                case_id: work.case_id.clone(),
                decision: Decision::Approve.into(),
                reason: "符合条件，准予办理 / approved".to_owned(),
                checklist: shared.plan[work.plan].checklist.clone(),
            })
            .await
        {
            Ok(_) => {
                let now = Instant::now();
                shared.decide.record(now - sent);
                if let Some(track) = shared.tracker().cases.get_mut(&work.case_id) {
                    track.decided = Some(now);
                }
            }
            Err(status) => shared.error("DecideCase", &status),
        }
    }
}

/// 12345 look-ups at `rate` per second of cases already completed, verified with the last six
/// characters of the applicant's ID number, until `stop`.
async fn hotline(
    shared: Arc<Shared>,
    client: HotlineServiceClient<Authed>,
    rate: f64,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let permits = Arc::new(tokio::sync::Semaphore::new(HOTLINE_IN_FLIGHT));
    let mut rng = Rng::from_entropy();
    let mut calls = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticks.tick() => {}
        }
        while calls.try_join_next().is_some() {}
        let picked = {
            let tracker = shared.tracker();
            let n = tracker.completed.len() as u64;
            if n == 0 {
                None
            } else {
                let id = &tracker.completed[rng.between(0, n - 1) as usize];
                tracker
                    .cases
                    .get(id)
                    .map(|t| (t.case_number.clone(), t.verification.clone()))
            }
        };
        let (Some((case_number, verification)), Ok(permit)) =
            (picked, permits.clone().try_acquire_owned())
        else {
            shared.hotline_skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let (shared, mut client) = (shared.clone(), client.clone());
        calls.spawn(async move {
            let sent = Instant::now();
            match client
                .query_case_status(QueryCaseStatusRequest {
                    case_number,
                    verification,
                })
                .await
            {
                Ok(_) => shared.hotline.record(sent.elapsed()),
                Err(status) => shared.error("QueryCaseStatus", &status),
            }
            drop(permit);
        });
    }
    while calls.join_next().await.is_some() {}
}

/// The report of the run from its bookkeeping.
fn report(
    config: &Config,
    shared: &Shared,
    offices: Vec<String>,
    start: Instant,
    window_end: Instant,
    drain_secs: f64,
    floor: Option<Floor>,
) -> Report {
    let tracker = shared.tracker();
    let within = |at: Option<Instant>| at.is_some_and(|at| at <= window_end);
    let mut routing = Vec::new();
    let mut lag = Vec::new();
    let (mut submitted, mut decided, mut completed) = (0u64, 0u64, 0u64);
    let (mut decided_total, mut completed_total) = (0u64, 0u64);
    for t in tracker.cases.values() {
        submitted += u64::from(t.submitted <= window_end);
        // A case seen completed was decided even if the DecideCase answer came later.
        let decided_at = match (t.decided, t.completed) {
            (Some(d), Some(c)) => Some(d.min(c)),
            (d, c) => d.or(c),
        };
        decided += u64::from(within(decided_at));
        completed += u64::from(within(t.completed));
        decided_total += u64::from(decided_at.is_some());
        completed_total += u64::from(t.completed.is_some());
        if let (true, Some(routed)) = (t.routed_by_watch, t.routed) {
            routing.push(micros(routed.saturating_duration_since(t.submitted)));
        }
        if let (Some(d), Some(c)) = (t.decided, t.completed) {
            lag.push(micros(c.saturating_duration_since(d)));
        }
    }
    routing.sort_unstable();
    lag.sort_unstable();
    let submitted_total = tracker.cases.len() as u64;
    let never_on_watch = tracker.cases.values().filter(|t| !t.on_watch).count() as u64;
    let window_secs = window_end.saturating_duration_since(start).as_secs_f64();
    let per_sec = |n: u64| n as f64 / window_secs.max(f64::EPSILON);
    let lifecycles_per_sec = per_sec(completed);
    let errors = shared
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|((rpc, code), count)| ErrorCount {
            rpc: (*rpc).to_owned(),
            code: code.clone(),
            count: *count,
        })
        .collect();
    let floor_ratio = floor
        .as_ref()
        .map(|f| FloorRatio::new(lifecycles_per_sec, f, config.pairs_per_lifecycle));
    Report {
        mode: config.mode.as_str().to_owned(),
        clerks: config.clerks,
        reviewers: config.reviewers,
        offices,
        hotline_rate: config.hotline_rate,
        window_secs,
        drain_secs,
        submitted,
        decided,
        completed,
        submitted_total,
        decided_total,
        completed_total,
        unfinished: submitted_total - completed_total,
        submitted_per_sec: per_sec(submitted),
        decided_per_sec: per_sec(decided),
        lifecycles_per_sec,
        latency: Latencies {
            submit_case: shared.submit.percentiles(),
            routing: Percentiles::of_sorted(&routing),
            claim_case: shared.claim.percentiles(),
            decide_case: shared.decide.percentiles(),
            hotline: shared.hotline.percentiles(),
            completion_lag: Percentiles::of_sorted(&lag),
        },
        claim_races: shared.claim_races.load(Ordering::Relaxed),
        routed_by_sweep: shared.routed_by_sweep.load(Ordering::Relaxed),
        completed_by_poll: shared.completed_by_poll.load(Ordering::Relaxed),
        never_on_watch,
        hotline_skipped: shared.hotline_skipped.load(Ordering::Relaxed),
        errors,
        floor,
        floor_ratio,
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
