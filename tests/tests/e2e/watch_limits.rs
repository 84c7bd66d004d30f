//! WatchAssignments' limits (issue 13 item 3), each against the real review service started with
//! its own [`WatchLimits`]: the cap on an office's open streams (RESOURCE_EXHAUSTED naming it),
//! the idle timeout (the stream ends cleanly — on the service's manual clock, and on the system
//! clock), and a watcher that falls behind a tiny channel being resynced with the whole inbox
//! instead of silently missing changes.

use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tongban_e2e::{
    Authed, HOME, Intake, PROPAGATION, TAIYUAN_GONGAN, WINDOW, YINCHUAN_GONGAN, catalog,
    claim_when_routed, intake, review, reviewer, shut_down, submit_request,
};
use tongban_proto::common::v1::Mode;
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_proto::review::v1::{Assignment, ReassignCaseRequest, WatchAssignmentsRequest};
use tongban_review::WatchLimits;
use tongban_runtime::auth::Role;
use tongban_runtime::clock::SystemClock;
use tongban_runtime::settings::Settings;
use tongban_testkit::{Bearer, Running, Service, TestEnv, eventually};
use tonic::transport::Endpoint;
use tonic::{Code, Streaming};

use crate::TestResult;

/// The WatchAssignments limits (and clock) a test starts the review service with.
trait WatchConfig: Send + 'static {
    fn limits() -> WatchLimits;

    /// Whether the service runs on the system clock instead of the test's manual one.
    fn system_clock() -> bool {
        false
    }
}

/// The review service with the limits of `C`.
struct Watched<C>(tongban_review::Application, PhantomData<C>);

impl<C: WatchConfig> Service for Watched<C> {
    const NAME: &'static str = tongban_review::SERVICE;
    type Error = tongban_runtime::platform::StartError;

    async fn build(mut settings: Settings) -> Result<Self, Self::Error> {
        if C::system_clock() {
            settings.clock = Arc::new(SystemClock);
        }
        let app = tongban_review::Application::build(settings).await?;
        Ok(Self(app.with_watch_limits(C::limits()), PhantomData))
    }

    fn port(&self) -> u16 {
        self.0.port()
    }

    async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), Self::Error> {
        self.0.run_until_stopped(shutdown).await
    }
}

fn count(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

/// Two streams per office.
struct TwoPerOffice;
impl WatchConfig for TwoPerOffice {
    fn limits() -> WatchLimits {
        WatchLimits {
            streams_per_office: count(2),
            ..WatchLimits::default()
        }
    }
}

/// Ten minutes idle, on the test's manual clock.
struct TenMinutesIdle;
impl WatchConfig for TenMinutesIdle {
    fn limits() -> WatchLimits {
        WatchLimits {
            idle: Duration::from_secs(600),
            ..WatchLimits::default()
        }
    }
}

/// Two seconds idle, on the system clock.
struct TwoSecondsIdleSystemClock;
impl WatchConfig for TwoSecondsIdleSystemClock {
    fn limits() -> WatchLimits {
        WatchLimits {
            idle: Duration::from_secs(2),
            ..WatchLimits::default()
        }
    }

    fn system_clock() -> bool {
        true
    }
}

/// Channels one change deep.
struct TinyBuffer;
impl WatchConfig for TinyBuffer {
    fn limits() -> WatchLimits {
        WatchLimits {
            buffer: count(1),
            ..WatchLimits::default()
        }
    }
}

/// The next message of `stream` within [`PROPAGATION`]: `Some` message, or `None` when the stream
/// ended cleanly.
async fn next(
    stream: &mut Streaming<Assignment>,
    what: &str,
) -> Result<Option<Assignment>, String> {
    tokio::time::timeout(PROPAGATION, stream.message())
        .await
        .map_err(|_| format!("{what}: nothing within {PROPAGATION:?}"))?
        .map_err(|status| format!("{what}: the stream failed: {status:?}"))
}

/// The office's whole inbox as a request.
fn own_inbox() -> WatchAssignmentsRequest {
    WatchAssignmentsRequest::default()
}

/// Submits a 户籍证明 case routed to 银川公安 and returns its id.
async fn submit_one(env: &TestEnv, intake_port: u16, key: &str) -> Result<String, String> {
    let clerk = env.mint(Role::Clerk, WINDOW);
    let request = submit_request(
        &mut catalog(intake_port, &clerk),
        key,
        "GA-HJ-ZM",
        HOME,
        Mode::Proxy,
    )
    .await
    .map_err(|e| format!("{e:?}"))?;
    Ok(intake(intake_port, &clerk)
        .submit_case(request)
        .await
        .map_err(|e| format!("{e:?}"))?
        .into_inner()
        .case_id)
}

/// An office has at most its limit of open streams: one more is refused with
/// RESOURCE_EXHAUSTED naming the limit (in Chinese by default, in English on request); other
/// offices are not affected; once a stream is closed a new one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_watches_with_at_most_its_limit_of_streams() -> TestResult {
    let env = TestEnv::new().await?;
    let review_svc = env.spawn::<Watched<TwoPerOffice>>().await?;
    let port = review_svc.port();
    let mut inbox = reviewer(&env, port, YINCHUAN_GONGAN);

    let first = inbox.watch_assignments(own_inbox()).await?.into_inner();
    let second = inbox.watch_assignments(own_inbox()).await?.into_inner();
    let refused = inbox
        .watch_assignments(own_inbox())
        .await
        .err()
        .ok_or("a third stream of the office is accepted")?;
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("最多 2 个"),
        "the message names the limit: {refused:?}"
    );
    let mut request = tonic::Request::new(own_inbox());
    request
        .metadata_mut()
        .insert("accept-language", "en".parse()?);
    let english = inbox
        .watch_assignments(request)
        .await
        .err()
        .ok_or("a third stream is accepted in English")?;
    assert_eq!(english.code(), Code::ResourceExhausted);
    assert!(
        english.message().contains("at most 2 per office"),
        "{english:?}"
    );

    // The cap is per office: another office watches its own inbox.
    let other = reviewer(&env, port, TAIYUAN_GONGAN)
        .watch_assignments(own_inbox())
        .await?
        .into_inner();

    // A closed stream frees its place (the server learns of the close asynchronously).
    drop(first);
    let third = eventually(PROPAGATION, || {
        let mut inbox = inbox.clone();
        async move {
            inbox
                .watch_assignments(own_inbox())
                .await
                .ok()
                .map(tonic::Response::into_inner)
        }
    })
    .await?;

    drop((second, third, other));
    review_svc.stop().await?;
    env.cleanup().await?;
    Ok(())
}

/// On the service's (manual) clock: a stream that has had no change for the idle timeout ends
/// cleanly; a change before then is delivered and restarts the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_ends_cleanly_on_the_service_clock() -> TestResult {
    let env = TestEnv::new().await?;
    let intake_svc = env.spawn::<Intake>().await?;
    let review_svc = env.spawn::<Watched<TenMinutesIdle>>().await?;
    let mut inbox = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);
    let mut stream = inbox.watch_assignments(own_inbox()).await?.into_inner();

    // Nine minutes pass: still open, and a change arrives.
    env.clock().advance(chrono::TimeDelta::minutes(9));
    let case_id = submit_one(&env, intake_svc.port(), "idle-1").await?;
    let routed = next(&mut stream, "the routed case")
        .await?
        .ok_or("the stream ended before the change")?;
    assert_eq!(routed.case_id, case_id);

    // Nine more minutes after the change: still open (the wait restarted with the change) —
    // the next change still arrives.
    env.clock().advance(chrono::TimeDelta::minutes(9));
    let mut reviewer_client = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);
    claim_when_routed(&mut reviewer_client, &case_id, "the case is claimed").await?;
    let claimed = next(&mut stream, "the claimed case")
        .await?
        .ok_or("the stream ended before the claim")?;
    assert_eq!(claimed.case_id, case_id);

    // Eleven minutes with no change: the stream ends, cleanly (no error status).
    env.clock().advance(chrono::TimeDelta::minutes(11));
    let mut after = Vec::new();
    loop {
        match next(&mut stream, "the end of the idle stream").await? {
            None => break,
            // A duplicate of the claim (a change seen both in the snapshot and the feed) is
            // harmless; nothing else may come.
            Some(a) => after.push(a),
        }
    }
    assert!(
        after.iter().all(|a| a.case_id == case_id),
        "only the case: {after:?}"
    );

    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// On the system clock: a stream idle for its (short) timeout ends cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_ends_cleanly_on_the_system_clock() -> TestResult {
    let env = TestEnv::new().await?;
    let review_svc = env.spawn::<Watched<TwoSecondsIdleSystemClock>>().await?;
    let mut inbox = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);
    let mut stream = inbox.watch_assignments(own_inbox()).await?.into_inner();
    let ended = next(&mut stream, "the idle stream ends").await?;
    assert!(ended.is_none(), "the empty inbox sends nothing: {ended:?}");
    review_svc.stop().await?;
    env.cleanup().await?;
    Ok(())
}

/// A ReviewService client whose HTTP/2 receive window is tiny, so a watcher that does not read
/// soon backs the server up (instead of megabytes buffering in the transport).
fn slow_reader(
    port: u16,
    token: &str,
) -> Result<ReviewServiceClient<Authed>, tonic::transport::Error> {
    let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))?
        .initial_stream_window_size(1024)
        .connect_lazy();
    Ok(ReviewServiceClient::with_interceptor(
        channel,
        Bearer::new(token),
    ))
}

/// With channels one change deep, a watcher that does not read while the office head reassigns
/// a case 40 times falls behind: it is sent the whole inbox again marked `resync` (position 1 of
/// 1 — the office has one case) and ends up showing the last reviewer; it never silently misses
/// the outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_falls_behind_is_resynced() -> TestResult {
    let env = TestEnv::new().await?;
    let intake_svc = env.spawn::<Intake>().await?;
    let review_svc: Running = env.spawn::<Watched<TinyBuffer>>().await?;
    let port = review_svc.port();
    let case_id = submit_one(&env, intake_svc.port(), "lag-1").await?;
    let mut alice = review(port, &env.mint_as(Role::Reviewer, YINCHUAN_GONGAN, "alice"));
    claim_when_routed(&mut alice, &case_id, "alice claims").await?;

    let mut watcher = slow_reader(port, &env.mint(Role::Reviewer, YINCHUAN_GONGAN))?;
    let mut stream = watcher.watch_assignments(own_inbox()).await?.into_inner();
    let snapshot = next(&mut stream, "the snapshot")
        .await?
        .ok_or("the stream ended")?;
    assert_eq!(snapshot.claimed_by, "alice");
    assert!(snapshot.resync.is_none(), "the snapshot is no resync");

    // The head reassigns the case 40 times while the watcher reads nothing.
    let mut head = review(
        port,
        &env.mint_as(Role::OfficeHead, YINCHUAN_GONGAN, "head"),
    );
    const ROUNDS: usize = 40;
    for round in 1..=ROUNDS {
        let to = if round == ROUNDS {
            "last".to_owned()
        } else {
            format!("reviewer-{}", round % 2)
        };
        head.reassign_case(ReassignCaseRequest {
            case_id: case_id.clone(),
            reviewer: to,
            reason: "工作调整".to_owned(),
        })
        .await?;
    }

    // Now it reads: somewhere a resync of the whole inbox, and in the end the last reviewer.
    let mut seen = Vec::new();
    loop {
        let a = next(&mut stream, "the watcher catches up")
            .await?
            .ok_or("the stream ended")?;
        let last = a.claimed_by == "last";
        seen.push(a);
        if last && seen.iter().any(|a| a.resync.is_some()) {
            break;
        }
        assert!(
            seen.len() <= ROUNDS + 2,
            "no resync among {} messages: {:?}",
            seen.len(),
            seen.iter()
                .map(|a| (&a.claimed_by, a.resync))
                .collect::<Vec<_>>()
        );
    }
    let resyncs: Vec<_> = seen.iter().filter_map(|a| a.resync).collect();
    assert!(
        resyncs.iter().all(|r| r.position == 1 && r.total == 1),
        "each resync is the office's one case: {resyncs:?}"
    );
    assert!(
        seen.len() < ROUNDS,
        "changes the watcher fell behind on were replaced by the resync, not sent one by one: {}",
        seen.len()
    );
    assert!(seen.iter().all(|a| a.case_id == case_id));

    drop(stream);
    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}
