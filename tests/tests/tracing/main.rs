//! One case, one trace (issue 5): a test OTLP receiver (a small tonic server implementing the
//! OTLP TraceService) collects the spans of an end-to-end run — submit, routing, claim, the
//! hotline's read model, a breach raised by the supervisor days later — and checks that the
//! case's spans from at least four services share one trace id, carry the stage attributes, hold
//! the breach as a span event and no personal data.
//!
//! The telemetry of a process is set up once, from `OTEL_EXPORTER_OTLP_ENDPOINT`, so the test
//! starts the receiver and then runs the flow in a child process of this same test binary with
//! the endpoint set (no environment is changed in-process). Run with
//! `cargo test -p tongban-e2e --test tracing`.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use tongban_e2e::{
    Hotline, Intake, Review, Supervision, alert_until, catalog, claim, claim_when_routed,
    decide_request, hotline, intake, listed_until_within, passing_checklist, review,
    spawn_services, submit_request, unmasked_personal_data,
};
use tongban_proto::common::v1::{Decision, Mode};
use tongban_proto::hotline::v1::QueryCaseStatusRequest;
use tongban_proto::supervision::v1::AlertKind;
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tongban_runtime::auth::Role;
use tongban_runtime::convert::datetime;
use tongban_testkit::{Bearer, TestEnv, channel, eventually};
use tonic::{Request, Response, Status};

/// What every test returns: any error fails it with its Debug form.
type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Set in the child process that runs the flow.
const CHILD: &str = "TONGBAN_TRACE_TEST_CHILD";
/// The line by which the child tells the case number.
const CASE_LINE: &str = "TRACE_TEST_CASE_NUMBER=";
/// 忻州市政务服务中心 (window) and 五台县公安局 (responsible office).
const WINDOW: &str = "140900-zwfw";
const OFFICE: &str = "140922-gongan";
const PROPAGATION: Duration = Duration::from_secs(60);

/// One span as received.
#[derive(Debug, Clone)]
struct Collected {
    trace_id: String,
    span_id: String,
    name: String,
    /// The (trace id, span id) of each span link.
    links: Vec<(String, String)>,
    attributes: BTreeMap<String, String>,
    events: Vec<String>,
}

impl Collected {
    /// The tongban service that produced the span: the crate of the code that opened it, or the
    /// durable consumer that received the event.
    fn service(&self) -> Option<String> {
        let from_module = self
            .attributes
            .get("code.module.name")
            .and_then(|m| m.split("::").next())
            .and_then(|c| c.strip_prefix("tongban_"))
            .filter(|c| ["intake", "review", "hotline", "supervision", "certificate"].contains(c));
        let from_consumer = self
            .attributes
            .get("messaging.consumer.group.name")
            .and_then(|g| g.split('-').next());
        from_module.or(from_consumer).map(str::to_owned)
    }
}

/// The test OTLP receiver.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Collected>>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut received = Vec::new();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    received.push(Collected {
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        name: span.name.clone(),
                        links: span
                            .links
                            .iter()
                            .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                            .collect(),
                        attributes: span
                            .attributes
                            .iter()
                            .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
                            .collect(),
                        events: span.events.iter().map(|e| e.name.clone()).collect(),
                    });
                }
            }
        }
        self.spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(received);
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn shanghai(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|tz| tz.with_ymd_and_hms(y, m, d, h, 0, 0).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Runs test `name` again in a child process of this binary whose telemetry exports to a test
/// OTLP receiver, and returns the case number the child printed and the spans received.
async fn traced_run(name: &str) -> Result<(String, Vec<Collected>), Box<dyn std::error::Error>> {
    let receiver = Receiver::default();
    let spans = Arc::clone(&receiver.spans);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                async {
                    let _ = stopped.await;
                },
            ),
    );

    let output = tokio::process::Command::new(std::env::current_exe()?)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .kill_on_drop(true)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the traced run succeeds:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let case_number = stdout
        .lines()
        // The harness prints "test … ..." on the same line before the test's own output.
        .find_map(|l| l.split(CASE_LINE).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| format!("the child prints the case number:\n{stdout}"))?
        .to_owned();
    let _ = stop.send(());
    server.await??;
    let spans = spans
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Ok((case_number, spans))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_case_one_trace_across_services() -> TestResult {
    if std::env::var_os(CHILD).is_some() {
        return run_case().await;
    }
    let (case_number, spans) = traced_run("one_case_one_trace_across_services").await?;
    let of_case: Vec<&Collected> = spans
        .iter()
        .filter(|s| s.attributes.get("tongban.case_number") == Some(&case_number))
        .collect();
    assert!(
        !of_case.is_empty(),
        "spans name the case ({} received)",
        spans.len()
    );
    // The case's trace is rooted at SubmitCase. A later caller's request span (a reviewer's
    // ClaimCase, an operator's QueryCaseStatus) belongs to the caller's own trace; the work it
    // does on the case runs in a child span of the case's trace (checked below by service).
    let trace = of_case
        .iter()
        .find(|s| s.name == "SubmitCase")
        .map(|s| s.trace_id.clone())
        .ok_or("a SubmitCase span")?;
    let later_request = |s: &Collected| {
        s.name != "SubmitCase" && s.name.starts_with(|c: char| c.is_ascii_uppercase())
    };
    let outside: Vec<(&str, Option<String>)> = of_case
        .iter()
        .filter(|s| s.trace_id != trace && !later_request(s))
        .map(|s| (s.name.as_str(), s.service()))
        .collect();
    assert!(
        outside.is_empty(),
        "every span of the case's work is in the case's trace; outside: {outside:?}"
    );
    let in_trace: Vec<&Collected> = spans.iter().filter(|s| s.trace_id == trace).collect();
    let services: BTreeSet<String> = in_trace.iter().filter_map(|s| s.service()).collect();
    assert!(
        services.len() >= 4
            && ["intake", "review", "hotline", "supervision"]
                .iter()
                .all(|s| services.contains(*s)),
        "spans of intake, review, hotline and supervision in the case's trace: {services:?}"
    );
    for service in ["intake", "review", "supervision"] {
        assert!(
            in_trace
                .iter()
                .any(|s| s.service().as_deref() == Some(service)
                    && s.attributes
                        .get("tongban.stage")
                        .is_some_and(|v| !v.is_empty())),
            "{service} spans carry tongban.stage"
        );
    }
    for attribute in ["tongban.matter_code", "tongban.due_at"] {
        assert!(
            in_trace
                .iter()
                .any(|s| s.attributes.get(attribute).is_some_and(|v| !v.is_empty())),
            "spans carry {attribute}"
        );
    }
    assert!(
        in_trace
            .iter()
            .any(|s| s.events.iter().any(|e| e == "deadline.breached")),
        "the breach is a span event of the case's trace: {:?}",
        in_trace
            .iter()
            .map(|s| (&s.name, &s.events))
            .collect::<Vec<_>>()
    );
    for span in &spans {
        for (key, value) in &span.attributes {
            assert!(
                unmasked_personal_data(value).is_none(),
                "no personal data in span {} attribute {key}",
                span.name
            );
        }
    }
    Ok(())
}

/// Item 15 of issue 13: a reviewer's ClaimCase and DecideCase arrive in traces of their own (the
/// reviewer's client started them); their gRPC server spans — the transport's
/// `tongban.review.v1.ReviewService/DecideCase` and the handler's `DecideCase` — carry a span
/// link to the case's trace (the one SubmitCase started), so a trace viewer leads from the
/// decision to the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_request_spans_link_to_the_case_trace() -> TestResult {
    if std::env::var_os(CHILD).is_some() {
        return run_decision().await;
    }
    let (case_number, spans) = traced_run("review_request_spans_link_to_the_case_trace").await?;
    let trace = spans
        .iter()
        .find(|s| {
            s.name == "SubmitCase" && s.attributes.get("tongban.case_number") == Some(&case_number)
        })
        .map(|s| s.trace_id.clone())
        .ok_or("a SubmitCase span of the case")?;
    for name in [
        "ClaimCase",
        "tongban.review.v1.ReviewService/ClaimCase",
        "DecideCase",
        "tongban.review.v1.ReviewService/DecideCase",
    ] {
        let span = spans
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("a {name} span among {} received", spans.len()))?;
        assert!(
            span.trace_id == trace || span.links.iter().any(|(t, _)| *t == trace),
            "{name} is in the case's trace {trace} or links to it: {span:?}"
        );
    }
    // The request came with no trace of its own case: it is a trace of its own, linked.
    let decide = spans
        .iter()
        .find(|s| s.name == "tongban.review.v1.ReviewService/DecideCase")
        .ok_or("the DecideCase server span")?;
    let (_, linked) = decide
        .links
        .iter()
        .find(|(t, _)| *t == trace)
        .ok_or_else(|| format!("the DecideCase server span carries the link: {decide:?}"))?;
    assert!(
        spans
            .iter()
            .any(|s| s.trace_id == trace && s.span_id == *linked),
        "the link names a span of the case's trace"
    );
    Ok(())
}

/// The decision flow, in the child process whose telemetry exports to the receiver: submit,
/// claim and approve.
async fn run_decision() -> TestResult {
    let env = TestEnv::new().await?;
    let [intake_svc, review_svc] = spawn_services::<(Intake, Review)>(&env).await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut matters = catalog(intake_svc.port(), &clerk);
    let mut request = submit_request(
        &mut matters,
        "trace-decide",
        "GA-HJ-ZM",
        "140922",
        Mode::Online,
    )
    .await?;
    request.window_office_id = WINDOW.to_owned();
    let accepted = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner();
    let mut reviewer = review(review_svc.port(), &env.mint(Role::Reviewer, OFFICE));
    claim_when_routed(&mut reviewer, &accepted.case_id, "the reviewer claims").await?;
    reviewer
        .decide_case(decide_request(
            &accepted.case_id,
            Decision::Approve,
            "材料齐全，准予办理 / approved",
            passing_checklist(&mut matters, "GA-HJ-ZM", None).await?,
        ))
        .await?;
    review_svc.stop().await?;
    intake_svc.stop().await?;
    println!("{CASE_LINE}{}", accepted.case_number);
    tongban_telemetry::init("tongban-tests").shutdown();
    env.cleanup().await?;
    Ok(())
}

/// The flow, in the child process whose telemetry exports to the receiver.
async fn run_case() -> TestResult {
    let env = TestEnv::new().await?;
    env.clock().set(shanghai(2026, 9, 14, 10));
    let [intake_svc, review_svc, hotline_svc, supervision_svc] =
        spawn_services::<(Intake, Review, Hotline, Supervision)>(&env).await?;

    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "trace-1",
        "GA-HJ-ZM",
        "140922",
        Mode::Online,
    )
    .await?;
    request.window_office_id = WINDOW.to_owned();
    let accepted = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner();

    let reviewer = review(review_svc.port(), &env.mint(Role::Reviewer, OFFICE));
    listed_until_within(
        PROPAGATION,
        &reviewer,
        &accepted.case_id,
        "the case reaches the office's inbox",
    )
    .await?;
    reviewer
        .clone()
        .claim_case(claim(&accepted.case_id))
        .await?;

    // The 12345 hotline answers from its read model (the last four digits of the phone).
    let operator = hotline(hotline_svc.port(), &env.mint(Role::Hotline, "12345"));
    eventually(PROPAGATION, || async {
        operator
            .clone()
            .query_case_status(QueryCaseStatusRequest {
                case_number: accepted.case_number.clone(),
                verification: "5678".to_owned(),
            })
            .await
            .ok()
    })
    .await?;

    // Days later the case is overdue; the supervisor's breach joins the case's trace.
    let due = datetime(accepted.due_at.as_ref()).ok_or("due_at")?;
    env.clock().set(due + chrono::TimeDelta::hours(1));
    let supervisor = SupervisionServiceClient::with_interceptor(
        channel(supervision_svc.port()),
        Bearer::new(&env.mint(Role::Supervisor, WINDOW)),
    );
    alert_until(
        PROPAGATION,
        &supervisor,
        &accepted.case_id,
        AlertKind::Breach,
        "",
    )
    .await?;

    supervision_svc.stop().await?;
    hotline_svc.stop().await?;
    review_svc.stop().await?;
    intake_svc.stop().await?;
    println!("{CASE_LINE}{}", accepted.case_number);
    // Export everything still buffered before the process ends.
    tongban_telemetry::init("tongban-tests").shutdown();
    env.cleanup().await?;
    Ok(())
}
