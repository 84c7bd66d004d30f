//! The console's clients of the suite's gRPC services. Every call carries the caller's own
//! bearer token and language; the channels are shared and connect lazily.

use tongban_domain::i18n::Lang;
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::StartError;

/// Adds `authorization: Bearer …` and `accept-language` to every request.
#[derive(Debug, Clone)]
pub struct Bearer {
    authorization: Option<AsciiMetadataValue>,
    lang: AsciiMetadataValue,
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        request
            .metadata_mut()
            .insert("accept-language", self.lang.clone());
        Ok(request)
    }
}

/// A channel with the caller's metadata.
pub type Authed = InterceptedService<Channel, Bearer>;

/// The channels to the services.
#[derive(Debug, Clone)]
pub struct Backend {
    intake: Channel,
    review: Channel,
    hotline: Channel,
    supervision: Channel,
}

/// A channel to `url` (TLS verified against `ca` for `https://`, the suite's one endpoint builder).
fn lazy(url: &str, ca: Option<&std::path::Path>) -> Result<Channel, StartError> {
    tongban_access::tls::endpoint(url, ca)
        .map(|e: Endpoint| {
            e.connect_timeout(std::time::Duration::from_secs(5))
                .timeout(std::time::Duration::from_secs(30))
                .connect_lazy()
        })
        .map_err(|e| StartError::Address {
            url: url.to_owned(),
            reason: e.to_string(),
        })
}

impl Backend {
    /// Channels to the services (nothing is connected until the first call).
    ///
    /// # Errors
    /// [`StartError::Address`] for an address that is not a URI.
    pub fn new(
        intake: &str,
        review: &str,
        hotline: &str,
        supervision: &str,
        ca: Option<&std::path::Path>,
    ) -> Result<Self, StartError> {
        Ok(Self {
            intake: lazy(intake, ca)?,
            review: lazy(review, ca)?,
            hotline: lazy(hotline, ca)?,
            supervision: lazy(supervision, ca)?,
        })
    }

    fn bearer(token: &str, lang: Lang) -> Bearer {
        Bearer {
            // A token minted here is base64url with dots: always a valid header value.
            authorization: AsciiMetadataValue::try_from(format!("Bearer {token}")).ok(),
            lang: AsciiMetadataValue::from_static(match lang {
                Lang::Zh => "zh-CN",
                Lang::En => "en",
            }),
        }
    }

    /// CatalogService as `token`.
    #[must_use]
    pub fn catalog(&self, token: &str, lang: Lang) -> CatalogServiceClient<Authed> {
        CatalogServiceClient::with_interceptor(self.intake.clone(), Self::bearer(token, lang))
    }

    /// IntakeService as `token`.
    #[must_use]
    pub fn intake(&self, token: &str, lang: Lang) -> IntakeServiceClient<Authed> {
        IntakeServiceClient::with_interceptor(self.intake.clone(), Self::bearer(token, lang))
    }

    /// ReviewService as `token`.
    #[must_use]
    pub fn review(&self, token: &str, lang: Lang) -> ReviewServiceClient<Authed> {
        ReviewServiceClient::with_interceptor(self.review.clone(), Self::bearer(token, lang))
    }

    /// HotlineService as `token`.
    #[must_use]
    pub fn hotline(&self, token: &str, lang: Lang) -> HotlineServiceClient<Authed> {
        HotlineServiceClient::with_interceptor(self.hotline.clone(), Self::bearer(token, lang))
    }

    /// SupervisionService as `token`.
    #[must_use]
    pub fn supervision(&self, token: &str, lang: Lang) -> SupervisionServiceClient<Authed> {
        SupervisionServiceClient::with_interceptor(
            self.supervision.clone(),
            Self::bearer(token, lang),
        )
    }
}
