//! gRPC channels to the services and the metadata every request carries
//! (`authorization: Bearer <token>`, `accept-language`).

use std::path::Path;
use std::time::Duration;

use tongban_access::tls::TlsError;

use tonic::Status;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::error::CliError;
use crate::output::Lang;

/// The message a unary call answers with; what the service refused or failed with becomes a
/// [`CliError`] by `rpc` (usually [`CliError::rpc`], which names the service).
pub trait Answer<T> {
    /// Awaits the call.
    ///
    /// # Errors
    /// The status the call ended with, as `rpc` makes it.
    fn answer(
        self,
        rpc: impl FnOnce(Status) -> CliError,
    ) -> impl Future<Output = Result<T, CliError>>;
}

impl<T, F> Answer<T> for F
where
    F: Future<Output = Result<tonic::Response<T>, Status>>,
{
    async fn answer(self, rpc: impl FnOnce(Status) -> CliError) -> Result<T, CliError> {
        self.await.map(tonic::Response::into_inner).map_err(rpc)
    }
}

/// A tongban service the CLI talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// 受理服务: `CatalogService` and `IntakeService` (default port 50051).
    Intake,
    /// 审查服务: `ReviewService` (50052).
    Review,
    /// 电子证照服务: `CertificateService` (50053).
    Certificate,
    /// 寄递服务: `LogisticsService` (50054).
    Logistics,
    /// 12345 热线服务: `HotlineService` (50055).
    Hotline,
    /// 督办服务: `SupervisionService` (50056).
    Supervision,
}

impl Service {
    /// Short name (`intake`).
    pub fn name(self) -> &'static str {
        match self {
            Service::Intake => "intake",
            Service::Review => "review",
            Service::Certificate => "certificate",
            Service::Logistics => "logistics",
            Service::Hotline => "hotline",
            Service::Supervision => "supervision",
        }
    }

    /// Name for people, `(zh, en)`.
    pub fn title(self) -> (&'static str, &'static str) {
        match self {
            Service::Intake => ("受理服务", "intake service"),
            Service::Review => ("审查服务", "review service"),
            Service::Certificate => ("电子证照服务", "certificate service"),
            Service::Logistics => ("寄递服务", "logistics service"),
            Service::Hotline => ("12345 热线服务", "12345 hotline service"),
            Service::Supervision => ("督办服务", "supervision service"),
        }
    }

    /// The flag that sets the service's address (`--intake`, `--certificate-url` …).
    pub fn flag(self) -> &'static str {
        match self {
            Service::Intake => "--intake",
            Service::Review => "--review",
            Service::Certificate => "--certificate-url",
            Service::Logistics => "--logistics",
            Service::Hotline => "--hotline",
            Service::Supervision => "--supervision",
        }
    }

    /// Environment variable that overrides the service's address.
    pub fn env_var(self) -> &'static str {
        match self {
            Service::Intake => "TONGBAN_INTAKE_URL",
            Service::Review => "TONGBAN_REVIEW_URL",
            Service::Certificate => "TONGBAN_CERTIFICATE_URL",
            Service::Logistics => "TONGBAN_LOGISTICS_URL",
            Service::Hotline => "TONGBAN_HOTLINE_URL",
            Service::Supervision => "TONGBAN_SUPERVISION_URL",
        }
    }
}

/// Addresses of the services (from flags or environment).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `--intake`.
    pub intake: String,
    /// `--review`.
    pub review: String,
    /// `--certificate-url`.
    pub certificate: String,
    /// `--logistics`.
    pub logistics: String,
    /// `--hotline`.
    pub hotline: String,
    /// `--supervision`.
    pub supervision: String,
    /// `--tls-ca`: the CA that `https://` services are verified by.
    pub tls_ca: Option<std::path::PathBuf>,
}

impl Endpoints {
    /// The address of `service`.
    pub fn url(&self, service: Service) -> &str {
        match service {
            Service::Intake => &self.intake,
            Service::Review => &self.review,
            Service::Certificate => &self.certificate,
            Service::Logistics => &self.logistics,
            Service::Hotline => &self.hotline,
            Service::Supervision => &self.supervision,
        }
    }
}

/// Adds `authorization` (when there is a token) and `accept-language` to every request.
#[derive(Debug, Clone)]
pub struct Metadata {
    authorization: Option<AsciiMetadataValue>,
    accept_language: AsciiMetadataValue,
}

impl Metadata {
    /// Metadata for `token` and `lang`.
    ///
    /// # Errors
    /// [`CliError::Usage`] when the token holds characters a header cannot carry.
    pub fn new(token: Option<&str>, lang: Lang) -> Result<Self, CliError> {
        let authorization = match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(token) => Some(MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
                CliError::Usage(
                    lang.pick((
                        "令牌含有不能放入请求头的字符（--token / TONGBAN_TOKEN）",
                        "the token holds characters a request header cannot carry (--token / TONGBAN_TOKEN)",
                    ))
                    .to_owned(),
                )
            })?),
            None => None,
        };
        Ok(Self {
            authorization,
            accept_language: MetadataValue::from_static(lang.accept_language()),
        })
    }
}

impl Interceptor for Metadata {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        if let Some(auth) = &self.authorization {
            metadata.insert("authorization", auth.clone());
        }
        metadata.insert("accept-language", self.accept_language.clone());
        Ok(request)
    }
}

/// A channel that adds [`Metadata`] to every call; wrap it in any generated client with
/// `XClient::new(channel)`.
pub type Conn = InterceptedService<Channel, Metadata>;

/// Connects to `service` at `url` now, so that an unreachable service is reported once, clearly,
/// naming the service and the address. An `https://` address is verified against the CA in
/// `ca` (the server's certificate must be signed by it and name the host).
///
/// # Errors
/// [`CliError::BadUrl`] for an address that is not a URL; [`CliError::Usage`] for an `https://`
/// address without a usable CA; [`CliError::Connect`] when the connection cannot be made (a
/// server whose certificate does not verify included).
pub async fn connect(
    service: Service,
    url: &str,
    ca: Option<&Path>,
    metadata: Metadata,
    lang: Lang,
) -> Result<Conn, CliError> {
    let endpoint: Endpoint = tongban_access::tls::endpoint(url, ca)
        .map_err(|err| match err {
            TlsError::BadUrl { .. } => CliError::BadUrl {
                service,
                url: url.to_owned(),
            },
            TlsError::NoCa { .. } => CliError::Usage(format!(
                "{}{}",
                lang.pick((
                    "https 地址需要用于核验服务证书的 CA（--tls-ca / TONGBAN_TLS_CA）：",
                    "an https address needs the CA that verifies the service's certificate (--tls-ca / TONGBAN_TLS_CA): ",
                )),
                url
            )),
            other => CliError::Usage(format!(
                "{}{}",
                lang.pick(("TLS CA 不可用（--tls-ca / TONGBAN_TLS_CA）：", "the TLS CA cannot be used (--tls-ca / TONGBAN_TLS_CA): ")),
                chain(&other)
            )),
        })?
        .connect_timeout(Duration::from_secs(5))
        .tcp_keepalive(Some(Duration::from_secs(30)));
    let channel = endpoint.connect().await.map_err(|err| CliError::Connect {
        service,
        url: url.to_owned(),
        cause: root_cause(&err),
    })?;
    Ok(InterceptedService::new(channel, metadata))
}

/// Every message of an error chain, outermost first, joined by ": " (names the file and the
/// reason it cannot be used).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut current = err;
    while let Some(next) = current.source() {
        parts.push(next.to_string());
        current = next;
    }
    parts.join(": ")
}

/// The innermost message of an error chain (e.g. "Connection refused (os error 111)").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
