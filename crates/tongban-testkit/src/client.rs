//! Reaching a started service as a client would: a channel and a bearer-token interceptor.

use std::fmt;

use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

/// A lazily connecting channel to `http://127.0.0.1:<port>` (the first call connects; the
/// service's listener is bound before its port is known, so no waiting is needed).
///
/// # Panics
/// Never: the URI is built from a fixed host and a port number.
#[must_use]
pub fn channel(port: u16) -> Channel {
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        // A literal scheme and host with a u16 port always form a valid URI.
        .expect("http://127.0.0.1:<port> is a valid URI");
    endpoint.connect_lazy()
}

/// A tonic interceptor that adds `authorization: Bearer <token>` and, when set,
/// `accept-language` to every request; [`Bearer::anonymous`] adds no token at all.
#[derive(Clone, Default)]
pub struct Bearer {
    authorization: Option<AsciiMetadataValue>,
    accept_language: Option<AsciiMetadataValue>,
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a credential: show only whether there is one.
        f.debug_struct("Bearer")
            .field("has_token", &self.authorization.is_some())
            .field("accept_language", &self.accept_language)
            .finish()
    }
}

impl Bearer {
    /// Sends `token` as `authorization: Bearer <token>`.
    ///
    /// # Panics
    /// When `token` holds characters that cannot appear in a header (minted tokens are
    /// base64url and dots).
    #[must_use]
    pub fn new(token: &str) -> Self {
        let authorization = MetadataValue::try_from(format!("Bearer {token}"))
            // Tokens minted by TokenKeys are ASCII; a test passing anything else is wrong.
            .expect("a bearer token is printable ASCII");
        Self {
            authorization: Some(authorization),
            accept_language: None,
        }
    }

    /// Sends no `authorization` header (to test that calls are refused).
    #[must_use]
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Also sends `accept-language: <tag>` (e.g. `en` for English messages).
    ///
    /// # Panics
    /// When `tag` holds characters that cannot appear in a header.
    #[must_use]
    pub fn with_language(mut self, tag: &str) -> Self {
        // Language tags are short ASCII strings chosen by the test itself.
        self.accept_language =
            Some(MetadataValue::try_from(tag).expect("a language tag is printable ASCII"));
        self
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        if let Some(value) = &self.accept_language {
            request
                .metadata_mut()
                .insert("accept-language", value.clone());
        }
        Ok(request)
    }
}
