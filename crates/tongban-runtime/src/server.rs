//! gRPC server bootstrap: health and reflection on every server, a span per request joined to
//! the caller's trace, and a graceful shutdown that reports NOT_SERVING first.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic_health::server::HealthReporter;

/// Largest request a server decodes: 4 MiB. The largest well-formed request of any service is
/// well under 1 MB; tonic refuses a larger one with OUT_OF_RANGE before it reaches a handler.
pub const MAX_DECODING_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Largest response a server encodes: 16 MiB, room for a full page of 1000 rows. A larger one
/// is an error (OUT_OF_RANGE), never a truncated answer.
pub const MAX_ENCODING_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Errors starting or running a server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Reflection could not be built from the descriptor sets.
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("gRPC server failed")]
    Transport(#[from] tonic::transport::Error),
    /// The TLS certificate or key cannot be loaded.
    #[error("TLS")]
    Tls(#[from] crate::tls::TlsError),
}

/// A bound listener and, when the service serves TLS, its certificate and key.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<tonic::transport::ServerTlsConfig>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("tcp", &self.tcp)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Listener {
    /// Serves TLS on `tcp` with the certificate and key in `files` (plaintext when `None`).
    /// The pair is checked here, so a bad certificate or key stops the start-up.
    ///
    /// # Errors
    /// A file cannot be read, holds no PEM certificate or key, or rustls refuses the pair.
    pub fn new(
        tcp: TcpListener,
        files: Option<&crate::tls::ServerFiles>,
    ) -> Result<Self, ServeError> {
        let tls = files.map(crate::tls::ServerFiles::load).transpose()?;
        if let Some(tls) = &tls {
            tonic::transport::Server::builder().tls_config(tls.clone())?;
        }
        Ok(Self { tcp, tls })
    }

    /// The address actually bound.
    ///
    /// # Errors
    /// The socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.tcp.local_addr()
    }
}

impl From<TcpListener> for Listener {
    /// A plaintext listener.
    fn from(tcp: TcpListener) -> Self {
        Self { tcp, tls: None }
    }
}

/// Health reporting for a server's services. The whole server (the empty service name) is
/// SERVING only while the server is up *and* every durable consumer runs: a service whose
/// consumer is down answers requests from a read model that no longer moves.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    overall: std::sync::Arc<tokio::sync::Mutex<Overall>>,
}

/// What the overall status is made of.
#[derive(Debug, Default)]
struct Overall {
    /// The server itself is up (set by [`serve`]).
    serving: bool,
    /// Consumers that are down, by durable name.
    consumers_down: std::collections::BTreeSet<String>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Health")
    }
}

impl Health {
    /// Marks `S` as serving.
    pub async fn serving<S: NamedService>(&self) {
        self.reporter.set_serving::<S>().await;
    }

    /// Marks `S` as not serving.
    pub async fn not_serving<S: NamedService>(&self) {
        self.reporter.set_not_serving::<S>().await;
    }

    /// Marks the server as up or not; the whole server (the empty service name) reports
    /// SERVING when it is up and no consumer is down.
    pub async fn overall(&self, serving: bool) {
        let mut overall = self.overall.lock().await;
        overall.serving = serving;
        self.publish(&overall).await;
    }

    /// Records that the consumer `durable` is down (`down`) or running again.
    pub async fn consumer(&self, durable: &str, down: bool) {
        let mut overall = self.overall.lock().await;
        let changed = if down {
            overall.consumers_down.insert(durable.to_owned())
        } else {
            overall.consumers_down.remove(durable)
        };
        if changed {
            self.publish(&overall).await;
        }
    }

    /// Sets the empty service name's status from `overall` (called with the lock held, so
    /// updates reach the reporter in the order they were made).
    async fn publish(&self, overall: &Overall) {
        let status = if overall.serving && overall.consumers_down.is_empty() {
            tonic_health::ServingStatus::Serving
        } else {
            tonic_health::ServingStatus::NotServing
        };
        self.reporter.set_service_status("", status).await;
    }
}

/// Routes with health and reflection already added; add the service's own with `add_service`.
///
/// # Errors
/// The reflection descriptor sets cannot be decoded.
pub fn base_routes() -> Result<(Routes, Health), ServeError> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tongban_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let routes = Routes::new(health_service).add_service(reflection);
    Ok((
        routes,
        Health {
            reporter,
            overall: std::sync::Arc::default(),
        },
    ))
}

/// Serves `routes` on `listener` until `shutdown` is cancelled: health turns NOT_SERVING first,
/// then requests in flight get up to ten seconds to finish. The listener decides TLS. Every RPC
/// is counted and timed, and `/metrics` is served beside it ([`crate::metrics`]).
///
/// # Errors
/// The transport fails or refuses the TLS configuration.
pub async fn serve(
    listener: impl Into<Listener>,
    routes: Routes,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let Listener { tcp, tls } = listener.into();
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    health.overall(true).await;
    let metrics = crate::metrics::bind_endpoint(&tcp)
        .await
        .map(|l| tokio::spawn(crate::metrics::serve_endpoint(l, shutdown.clone())));
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(tcp);
    let signal = {
        let shutdown = shutdown.clone();
        let health = health.clone();
        async move {
            shutdown.cancelled().await;
            health.overall(false).await;
        }
    };
    let server = builder
        .timeout(Duration::from_secs(60))
        .trace_fn(request_span)
        // Outermost first: the metrics see the status the caller gets.
        .layer(crate::metrics::RpcMetricsLayer)
        .layer(crate::decode_status::layer())
        .layer(tower_layer::layer_fn(RequestSpanScope))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, signal);
    let served = server.await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    served?;
    Ok(())
}

/// Runs each request's handling with its server span (entered by tonic around the call)
/// remembered as `tongban_telemetry::request_span`, so a step that learns which case the request
/// is about can link the server span to the case's trace.
#[derive(Debug, Clone)]
struct RequestSpanScope<S>(S);

impl<S, B> tonic::codegen::Service<http::Request<B>> for RequestSpanScope<S>
where
    S: tonic::codegen::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The future is first polled inside the request's span: that is the one remembered.
        Box::pin(tongban_telemetry::in_request_span(self.0.call(request)))
    }
}

/// The server span of one request, a child of the caller's trace when it sent `traceparent`.
fn request_span(request: &http::Request<()>) -> tracing::Span {
    let path = request.uri().path();
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path, ""));
    let span = tracing::info_span!(
        "grpc",
        otel.name = %format!("{service}/{method}"),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
    );
    tongban_telemetry::set_parent_from_headers(
        &span,
        request
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))),
    );
    span
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing.

    use super::*;
    use crate::tls::ServerFiles;

    /// A certificate made by deploy/lib/tls.sh in a fresh directory.
    fn certificate_dir(tag: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tongban-server-tls-{tag}-{}", uuid::Uuid::new_v4()));
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/lib/tls.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .arg(&dir)
            .arg("probe")
            .status()
            .unwrap();
        assert!(status.success());
        dir
    }

    #[tokio::test]
    async fn a_good_pair_serves_tls_and_a_bad_key_stops_the_start() {
        let dir = certificate_dir("pair");
        let good = ServerFiles {
            cert: dir.join("probe.pem"),
            key: dir.join("probe.key"),
        };
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert!(Listener::new(tcp, Some(&good)).unwrap().tls.is_some());

        let garbage = dir.join("garbage.key");
        std::fs::write(
            &garbage,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let bad = ServerFiles {
            cert: good.cert.clone(),
            key: garbage,
        };
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert!(Listener::new(tcp, Some(&bad)).is_err());

        let missing = ServerFiles {
            cert: dir.join("absent.pem"),
            key: good.key.clone(),
        };
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = Listener::new(tcp, Some(&missing)).unwrap_err();
        assert!(matches!(err, ServeError::Tls(_)), "{err:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
