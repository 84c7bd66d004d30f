//! Prometheus metrics of a service (`/metrics`, text exposition format): every RPC counted by
//! service, method and status code and timed ([`RpcMetricsLayer`], on every tonic server), and
//! the backbone's own (`tongban_bus::metrics`: outbox depth and age, consumer lag, batch sizes,
//! deliveries), all in the process's default registry.
//!
//! **Port.** The endpoint listens on the gRPC listener's address with the port
//! [`PORT_OFFSET`] higher (intake 50051 → 51051). When that port cannot be bound (taken, or
//! past 65535 for an ephemeral gRPC port in tests) it listens on a free port instead and logs
//! it; [`metrics_port`] tells which.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tongban_bus::metrics::registered;
use tonic::codegen::http;

/// The metrics port is the gRPC port plus this.
pub const PORT_OFFSET: u16 = 1000;

/// RPCs answered, by gRPC service, method and status code (`Ok`, `InvalidArgument`, …).
pub static RPC_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    registered(IntCounterVec::new(
        Opts::new(
            "tongban_rpc_requests_total",
            "RPCs answered, by service, method and gRPC status code",
        ),
        &["service", "method", "code"],
    ))
});

/// Seconds from a request's arrival to its response headers, by service and method.
pub static RPC_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    registered(HistogramVec::new(
        HistogramOpts::new(
            "tongban_rpc_duration_seconds",
            "Seconds from a request's arrival to its response, by service and method",
        ),
        &["service", "method"],
    ))
});

/// Metrics port by gRPC port, for every endpoint this process serves.
static PORTS: LazyLock<Mutex<BTreeMap<u16, u16>>> = LazyLock::new(Mutex::default);

/// The port of the metrics endpoint of the server on gRPC port `grpc_port` in this process.
#[must_use]
pub fn metrics_port(grpc_port: u16) -> Option<u16> {
    PORTS.lock().ok()?.get(&grpc_port).copied()
}

/// Binds the metrics endpoint beside the gRPC `listener` (see the module doc); `None` when no
/// port can be bound at all (the service still serves, without metrics).
pub async fn bind_endpoint(listener: &TcpListener) -> Option<TcpListener> {
    let grpc = listener.local_addr().ok()?;
    let wanted = grpc
        .port()
        .checked_add(PORT_OFFSET)
        .map(|port| SocketAddr::new(grpc.ip(), port));
    let bound = match wanted {
        Some(addr) => match TcpListener::bind(addr).await {
            Ok(l) => Ok(l),
            Err(_) => TcpListener::bind(SocketAddr::new(grpc.ip(), 0)).await,
        },
        None => TcpListener::bind(SocketAddr::new(grpc.ip(), 0)).await,
    };
    match bound {
        Ok(metrics) => {
            let port = metrics.local_addr().map(|a| a.port()).unwrap_or(0);
            if wanted.map(|a| a.port()) != Some(port) {
                tracing::warn!(
                    grpc_port = grpc.port(),
                    metrics_port = port,
                    "the usual metrics port is taken; serving /metrics on another"
                );
            } else {
                tracing::info!(metrics_port = port, "serving /metrics");
            }
            if let Ok(mut ports) = PORTS.lock() {
                ports.insert(grpc.port(), port);
            }
            Some(metrics)
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for /metrics; serving without it");
            None
        }
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` is cancelled.
pub async fn serve_endpoint(listener: TcpListener, shutdown: CancellationToken) {
    let grpc_port = listener.local_addr().ok().map(|a| a.port());
    let app = axum::Router::new().route("/metrics", axum::routing::get(render));
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::warn!(error = %err, "metrics endpoint stopped");
    }
    if let (Some(port), Ok(mut ports)) = (grpc_port, PORTS.lock()) {
        ports.retain(|_, metrics| *metrics != port);
    }
}

/// Every metric of the default registry in the text exposition format.
async fn render() -> impl axum::response::IntoResponse {
    let mut body = String::new();
    let encoded = prometheus::TextEncoder::new().encode_utf8(&prometheus::gather(), &mut body);
    match encoded {
        Ok(()) => (
            http::StatusCode::OK,
            [(http::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
            body,
        ),
        Err(err) => {
            tracing::warn!(error = %err, "metrics not encoded");
            (
                http::StatusCode::INTERNAL_SERVER_ERROR,
                [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                String::new(),
            )
        }
    }
}

/// The tower layer that counts and times every RPC of a server.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> tower_layer::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics { inner }
    }
}

/// A server's routes wrapped by [`RpcMetricsLayer`].
#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or((path, ""));
        let (service, method) = (service.to_owned(), method.to_owned());
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            // An error status comes in the headers (trailers-only); a success carries its
            // status in the trailers, so a response without one in the headers is OK.
            let code = match &answer {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from),
                Err(_) => tonic::Code::Unavailable,
            };
            RPC_REQUESTS
                .with_label_values(&[service.as_str(), method.as_str(), &format!("{code:?}")])
                .inc();
            RPC_DURATION
                .with_label_values(&[service.as_str(), method.as_str()])
                .observe(started.elapsed().as_secs_f64());
            answer
        })
    }
}
