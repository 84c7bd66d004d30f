//! tongban-telemetry: logging and tracing set-up, and W3C trace-context propagation helpers.
//!
//! Every case is one trace (DESIGN §7): the `SubmitCase` span is its root and its context is
//! carried in every event's headers and every gRPC call's metadata, so spans of all services —
//! hours or days apart — join the same trace. [`init`] installs a `tracing` subscriber whose
//! spans get real OpenTelemetry (W3C) ids; the helpers below move those ids in and out of
//! header lists, stored `traceparent` strings and gRPC metadata.
//!
//! Export is optional: OTLP over gRPC when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) variable is set; nothing configured means no export
//! and never a failure.

use std::collections::HashMap;
use std::env;
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, fmt};

/// The filter used when `RUST_LOG` is not set (or cannot be parsed).
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,async_nats=warn,h2=warn,tower=warn";
/// How long [`TelemetryGuard::shutdown`] waits for buffered spans to be exported.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// W3C trace-context header names.
const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// What the first [`init`] of the process installed; later calls reuse it.
struct Installed {
    provider: SdkTracerProvider,
    /// Whether an OTLP exporter is attached (else flushing has nothing to do).
    exporting: bool,
    /// The runtime that drives the OTLP gRPC channel. It lives as long as the process so that
    /// exports keep working whichever (test) runtime called `init` first.
    _exporter_runtime: Option<tokio::runtime::Runtime>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Flushes buffered spans when the service stops. Returned by [`init`]; keep it alive in
/// `main` and call [`TelemetryGuard::shutdown`] last (dropping it does the same).
///
/// The tracer provider itself lives for the whole process: several services may run in one
/// test process, and a provider that was shut down would hand out spans without ids.
#[must_use = "dropping the guard flushes telemetry; keep it until the service stops"]
pub struct TelemetryGuard {
    flushed: bool,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("flushed", &self.flushed)
            .finish()
    }
}

impl TelemetryGuard {
    /// Exports the spans still buffered, waiting at most 5 s.
    pub fn shutdown(mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        if std::mem::replace(&mut self.flushed, true) {
            return;
        }
        let Some(installed) = INSTALLED.get().filter(|installed| installed.exporting) else {
            return;
        };
        let provider = installed.provider.clone();
        let (done, finished) = mpsc::channel();
        // `force_flush` blocks until the batch thread has exported; a dead collector must not
        // hold up shutdown, so wait on another thread under a deadline.
        let spawned = thread::Builder::new()
            .name("tongban-otel-flush".to_owned())
            .spawn(move || {
                // The receiver may have timed out and gone; nobody is left to tell.
                let _ = done.send(provider.force_flush());
            });
        if spawned.is_err() {
            eprintln!(
                "遥测数据未能导出：无法启动线程 / telemetry not flushed: cannot spawn thread"
            );
            return;
        }
        match finished.recv_timeout(FLUSH_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                eprintln!("遥测数据导出失败 / telemetry flush failed: {err}");
            }
            Err(_) => {
                eprintln!(
                    "遥测数据导出超时（5 秒） / telemetry flush timed out after 5 s; some spans may be lost"
                );
            }
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Sets up logging and tracing for the process.
///
/// - a `tracing-subscriber` registry with an `EnvFilter` from `RUST_LOG` (default
///   [`DEFAULT_FILTER`]), a fmt layer writing to stderr (JSON lines when
///   `TONGBAN_LOG_FORMAT=json`) and a `tracing-opentelemetry` layer;
/// - an OpenTelemetry tracer provider that always exists, so spans carry real W3C ids, with an
///   OTLP/gRPC batch exporter only when `OTEL_EXPORTER_OTLP_ENDPOINT` or
///   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set and `OTEL_SDK_DISABLED` is not `true`;
/// - `service.name` from `OTEL_SERVICE_NAME`, else `service_name`;
/// - the global W3C TraceContext propagator and the global tracer provider.
///
/// Calling it again in the same process (tests start several services) is harmless: the first
/// subscriber and provider stay in place and the new guard only flushes them.
pub fn init(service_name: &str) -> TelemetryGuard {
    INSTALLED.get_or_init(|| install(service_name));
    TelemetryGuard { flushed: false }
}

fn install(service_name: &str) -> Installed {
    let service_name = env::var("OTEL_SERVICE_NAME")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| service_name.to_owned());

    let mut builder = SdkTracerProvider::builder().with_resource(
        Resource::builder()
            .with_service_name(service_name.clone())
            .build(),
    );
    let mut exporter_runtime = None;
    let mut exporter_problem = None;
    if export_configured() {
        match build_exporter() {
            Ok((runtime, exporter)) => {
                builder = builder.with_batch_exporter(exporter);
                exporter_runtime = Some(runtime);
            }
            Err(problem) => exporter_problem = Some(problem),
        }
    }
    let exporting = exporter_runtime.is_some();
    let provider = builder.build();

    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json =
        env::var("TONGBAN_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let json_layer = json.then(|| fmt::layer().json().with_writer(std::io::stderr));
    let text_layer = (!json).then(|| fmt::layer().with_writer(std::io::stderr));
    let otel_layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("tongban"));
    let subscriber_installed = tracing_subscriber::registry()
        .with(filter)
        .with(json_layer)
        .with(text_layer)
        .with(otel_layer)
        .try_init()
        .is_ok();

    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());

    if !subscriber_installed {
        eprintln!(
            "已有全局日志订阅者，沿用之 / a global tracing subscriber was already set; keeping it"
        );
    }
    if let Some(problem) = exporter_problem {
        tracing::warn!(error = %problem, "OTLP exporter not started; spans will not be exported");
    }
    tracing::info!(service.name = %service_name, otlp.export = exporting, "telemetry initialised");

    Installed {
        provider,
        exporting,
        _exporter_runtime: exporter_runtime,
    }
}

/// Whether the environment asks for OTLP export.
fn export_configured() -> bool {
    let disabled =
        env::var("OTEL_SDK_DISABLED").is_ok_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let endpoint = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| env::var(name).is_ok_and(|value| !value.trim().is_empty()));
    endpoint && !disabled
}

/// The OTLP/gRPC span exporter, built inside a dedicated runtime: the tonic channel spawns its
/// worker on the runtime current at build time and the batch processor exports from its own
/// thread, so the channel needs a runtime that outlives whichever runtime called [`init`].
fn build_exporter() -> Result<(tokio::runtime::Runtime, opentelemetry_otlp::SpanExporter), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tongban-otlp")
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the exporter runtime: {err}"))?;
    let exporter = {
        let _entered = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|err| err.to_string())?
    };
    Ok((runtime, exporter))
}

/// Collects injected headers into a list.
struct HeaderList(Vec<(String, String)>);

impl Injector for HeaderList {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

/// Header lookup with names matched case-insensitively (async-nats keeps the sender's case).
struct HeaderLookup(HashMap<String, String>);

impl HeaderLookup {
    fn new<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            headers
                .into_iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
                .collect(),
        )
    }
}

impl Extractor for HeaderLookup {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(&key.to_ascii_lowercase()).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Reads gRPC metadata (whose keys are lower-case already).
struct MetadataLookup<'a>(&'a MetadataMap);

impl Extractor for MetadataLookup<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|key| match key {
                KeyRef::Ascii(key) => Some(key.as_str()),
                KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

/// Writes into gRPC metadata.
struct MetadataWriter<'a>(&'a mut MetadataMap);

impl Injector for MetadataWriter<'_> {
    fn set(&mut self, key: &str, value: String) {
        let key = MetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes());
        let value = MetadataValue::try_from(value.as_str());
        if let (Ok(key), Ok(value)) = (key, value) {
            self.0.insert(key, value);
        }
    }
}

/// The W3C headers (`traceparent`, and `tracestate` when not empty) of `span`'s OpenTelemetry
/// context; empty when the span has none (disabled, or no OpenTelemetry layer installed).
pub fn headers_of(span: &tracing::Span) -> Vec<(String, String)> {
    let mut headers = HeaderList(Vec::new());
    TraceContextPropagator::new().inject_context(&span.context(), &mut headers);
    headers.0.retain(|(_, value)| !value.is_empty());
    headers.0
}

/// The W3C `traceparent` of `span` (`00-<trace id>-<span id>-<flags>`), if it has one.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    headers_of(span)
        .into_iter()
        .find_map(|(name, value)| (name == TRACEPARENT).then_some(value))
}

/// The 32-hex-digit trace id of `span`, if it has a valid OpenTelemetry context.
pub fn trace_id_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Makes `span`'s parent the remote context found in `headers` (names matched
/// case-insensitively). Call it before the span is entered; headers without a valid
/// `traceparent` leave the span as it is.
pub fn set_parent_from_headers<'a>(
    span: &tracing::Span,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    set_parent(span, &HeaderLookup::new(headers));
}

/// Makes `span`'s parent the remote context of a stored `traceparent` (and optional
/// `tracestate`), e.g. the one kept with a case.
pub fn set_parent_from_traceparent(
    span: &tracing::Span,
    traceparent: &str,
    tracestate: Option<&str>,
) {
    let mut headers = vec![(TRACEPARENT, traceparent)];
    if let Some(tracestate) = tracestate {
        headers.push((TRACESTATE, tracestate));
    }
    set_parent_from_headers(span, headers);
}

/// gRPC server side: makes `span`'s parent the caller's context from the request metadata.
pub fn set_parent_from_metadata(span: &tracing::Span, metadata: &MetadataMap) {
    set_parent(span, &MetadataLookup(metadata));
}

/// gRPC client side: writes `span`'s context into outgoing request metadata.
pub fn inject_metadata(span: &tracing::Span, metadata: &mut MetadataMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut MetadataWriter(metadata));
}

tokio::task_local! {
    /// The gRPC server span of the request being handled (see [`in_request_span`]).
    static REQUEST_SPAN: tracing::Span;
}

/// Runs `future` (a gRPC server's handling of one request) with the current span — the
/// request's server span — remembered as [`request_span`], so that code deep in a handler can
/// reach it, e.g. to link it to the trace of the case the request turns out to be about.
pub async fn in_request_span<F: std::future::Future>(future: F) -> F::Output {
    REQUEST_SPAN.scope(tracing::Span::current(), future).await
}

/// The server span of the gRPC request being handled, when running inside [`in_request_span`].
#[must_use]
pub fn request_span() -> Option<tracing::Span> {
    REQUEST_SPAN.try_with(Clone::clone).ok()
}

/// Adds to `span` a link to the span a stored W3C `traceparent` names (e.g. the one kept with a
/// case): for a span that cannot change its parent any more — a request span, entered before
/// the case it is about was known — the link ties it to the case's trace. An invalid
/// `traceparent` adds nothing.
pub fn link_to_traceparent(span: &tracing::Span, traceparent: &str) {
    let context =
        TraceContextPropagator::new().extract(&HeaderLookup::new([(TRACEPARENT, traceparent)]));
    let linked = context.span().span_context().clone();
    if linked.is_valid() {
        span.add_link(linked);
    }
}

fn set_parent(span: &tracing::Span, extractor: &dyn Extractor) {
    let context = TraceContextPropagator::new().extract(extractor);
    if !context.span().span_context().is_valid() {
        return;
    }
    if let Err(err) = span.set_parent(context) {
        tracing::debug!(error = %err, "could not attach the remote trace context");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_through_headers() {
        let _first = init("tongban-telemetry-test");
        let _second = init("ignored-second-call");

        let upstream = tracing::info_span!("upstream");
        let headers = headers_of(&upstream);
        let traceparent = traceparent_of(&upstream).expect("an OpenTelemetry layer is installed");
        assert!(
            headers
                .iter()
                .any(|(name, value)| name == "traceparent" && *value == traceparent)
        );
        let trace_id = trace_id_of(&upstream).unwrap();
        assert_eq!(traceparent.split('-').nth(1), Some(trace_id.as_str()));

        // Names in another case (as a NATS publisher might send them) still match.
        let shouted: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_ascii_uppercase(), value.clone()))
            .collect();
        let downstream = tracing::info_span!("downstream");
        set_parent_from_headers(
            &downstream,
            shouted
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        assert_eq!(trace_id_of(&downstream), Some(trace_id.clone()));
        assert_ne!(traceparent_of(&downstream), Some(traceparent.clone()));

        let stored = tracing::info_span!("from_store");
        set_parent_from_traceparent(&stored, &traceparent, None);
        assert_eq!(trace_id_of(&stored), Some(trace_id.clone()));

        let mut metadata = MetadataMap::new();
        inject_metadata(&upstream, &mut metadata);
        let server = tracing::info_span!("server");
        set_parent_from_metadata(&server, &metadata);
        assert_eq!(trace_id_of(&server), Some(trace_id.clone()));

        let unrelated = tracing::info_span!("unrelated");
        set_parent_from_headers(&unrelated, [("traceparent", "garbage")]);
        assert_ne!(trace_id_of(&unrelated), Some(trace_id));
    }

    #[tokio::test]
    async fn the_request_span_is_known_inside_the_request_only() {
        let _guard = init("tongban-telemetry-test");
        assert!(request_span().is_none());
        let request = tracing::info_span!("request");
        // As tonic runs a request: the future polled inside the request's span.
        let seen = tracing::Instrument::instrument(
            in_request_span(async { request_span().and_then(|span| span.id()) }),
            request.clone(),
        )
        .await;
        assert_eq!(seen, request.id());
        assert!(request_span().is_none());

        // A link to a stored traceparent, or to garbage, never fails.
        let case = tracing::info_span!("case");
        let traceparent = traceparent_of(&case).expect("an OpenTelemetry layer is installed");
        link_to_traceparent(&request, &traceparent);
        link_to_traceparent(&request, "garbage");
    }
}
