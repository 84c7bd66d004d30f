//! gRPC over TLS (rustls with ring): the server's certificate and key, and client endpoints that
//! verify the server against the deployment's own CA.
//!
//! `deploy/up.sh` creates the CA (`tls/ca.pem`) and one certificate per service
//! (`tls/<service>.pem`, key `tls/<service>.key`, mode 0600) in the state directory. A service
//! serves TLS when `TONGBAN_TLS_CERT` and `TONGBAN_TLS_KEY` are set; a client reaches an
//! `https://` URL only with a CA to verify it by (`TONGBAN_TLS_CA`, or the CLI's `--tls-ca`):
//! there is no fallback to the system's roots and no "insecure" switch.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

/// Why TLS cannot be set up. Each names the file or URL to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate, key or CA file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no PEM block of the expected kind.
    #[error("{path} holds no PEM {kind}")]
    NotPem {
        /// The file.
        path: PathBuf,
        /// What it should hold ("CERTIFICATE", "PRIVATE KEY").
        kind: &'static str,
    },
    /// Only one of the certificate and the key is set.
    #[error("TONGBAN_TLS_CERT and TONGBAN_TLS_KEY must be set together")]
    Incomplete,
    /// The address is not a URL.
    #[error("{url:?} is not a URL")]
    BadUrl {
        /// The address.
        url: String,
    },
    /// An `https://` address without a CA to verify the server by.
    #[error("{url} uses https but no CA is given (TONGBAN_TLS_CA / --tls-ca)")]
    NoCa {
        /// The address.
        url: String,
    },
    /// tonic refused the TLS configuration.
    #[error("TLS configuration refused")]
    Transport(#[from] tonic::transport::Error),
}

/// Where a server's certificate chain and private key are (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFiles {
    /// Certificate chain, leaf first (`TONGBAN_TLS_CERT`).
    pub cert: PathBuf,
    /// Private key (`TONGBAN_TLS_KEY`).
    pub key: PathBuf,
}

impl ServerFiles {
    /// The files named by `cert` and `key` (e.g. the values of `TONGBAN_TLS_CERT` and
    /// `TONGBAN_TLS_KEY`): `None` when neither is set (plaintext).
    ///
    /// # Errors
    /// [`TlsError::Incomplete`] when only one is set.
    pub fn from_pair(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
    ) -> Result<Option<Self>, TlsError> {
        match (cert, key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(Self { cert, key })),
            _ => Err(TlsError::Incomplete),
        }
    }

    /// Reads both files into a server configuration.
    ///
    /// # Errors
    /// A file is unreadable or holds no PEM block of its kind.
    pub fn load(&self) -> Result<ServerTlsConfig, TlsError> {
        let cert = read_pem(&self.cert, "CERTIFICATE")?;
        let key = read_pem(&self.key, "PRIVATE KEY")?;
        Ok(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
    }
}

/// An endpoint for `url`: plaintext for `http://`, TLS verified against the CA in the PEM file
/// `ca` for `https://` (the server's certificate must name the URL's host).
///
/// # Errors
/// The URL does not parse, it is `https://` without a CA, or the CA cannot be read.
pub fn endpoint(url: &str, ca: Option<&Path>) -> Result<Endpoint, TlsError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|_| TlsError::BadUrl {
        url: url.to_owned(),
    })?;
    if endpoint.uri().scheme_str() != Some("https") {
        return Ok(endpoint);
    }
    let Some(ca) = ca else {
        return Err(TlsError::NoCa {
            url: url.to_owned(),
        });
    };
    let ca = Certificate::from_pem(read_pem(ca, "CERTIFICATE")?);
    Ok(endpoint.tls_config(ClientTlsConfig::new().ca_certificate(ca))?)
}

/// The contents of `path`, which must hold a PEM block whose label ends in `kind`.
fn read_pem(path: &Path, kind: &'static str) -> Result<Vec<u8>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let labelled = text.lines().any(|line| {
        line.strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
            .is_some_and(|label| label.ends_with(kind))
    });
    if labelled {
        Ok(bytes)
    } else {
        Err(TlsError::NotPem {
            path: path.to_owned(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_needs_no_ca() {
        let endpoint = endpoint("http://127.0.0.1:50051", None).expect("http endpoint");
        assert_eq!(endpoint.uri().scheme_str(), Some("http"));
    }

    #[test]
    fn https_without_a_ca_is_refused() {
        let err = endpoint("https://127.0.0.1:50051", None).expect_err("no CA");
        assert!(matches!(err, TlsError::NoCa { .. }), "{err:?}");
        assert!(err.to_string().contains("TONGBAN_TLS_CA"), "{err}");
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let missing = Path::new("/nonexistent/tongban-ca.pem");
        let err = endpoint("https://127.0.0.1:50051", Some(missing)).expect_err("missing CA");
        assert!(
            err.to_string().contains("/nonexistent/tongban-ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_pem_is_refused() {
        let dir = std::env::temp_dir().join(format!("tongban-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("ca.pem");
        std::fs::write(&path, "not a certificate").expect("write");
        let err = endpoint("https://localhost:1", Some(&path)).expect_err("not PEM");
        assert!(
            matches!(
                err,
                TlsError::NotPem {
                    kind: "CERTIFICATE",
                    ..
                }
            ),
            "{err:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cert_and_key_come_together() {
        assert_eq!(ServerFiles::from_pair(None, None).ok(), Some(None));
        assert!(matches!(
            ServerFiles::from_pair(Some("c.pem".into()), None),
            Err(TlsError::Incomplete)
        ));
        assert!(matches!(
            ServerFiles::from_pair(None, Some("k.pem".into())),
            Err(TlsError::Incomplete)
        ));
    }
}
