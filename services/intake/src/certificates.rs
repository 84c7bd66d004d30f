//! 两个免提交: asks the certificate service (over gRPC, with a deadline) whether a presented
//! e-certificate is valid and belongs to the applicant. Anything but a clear "valid" — a
//! failure, an unreachable service, a missed deadline — leaves the material unsatisfied
//! (fail closed).

use std::time::Duration;

use tongban_domain::i18n::Lang;
use tongban_proto::certificate::v1::certificate_service_client::CertificateServiceClient;
use tongban_proto::certificate::v1::{VerificationFailure, VerifyCertificateRequest};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// How long one verification may take, connection included.
const DEADLINE: Duration = Duration::from_secs(3);

/// What the certificate service said about one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Valid, of the applicant: its identifier and 证照类型代码.
    Verified {
        /// 电子证照标识.
        identifier: String,
        /// 证照类型代码.
        type_code: String,
    },
    /// Not valid, for these reasons.
    Refused(Vec<VerificationFailure>),
    /// No answer in time: the status could not be learnt.
    Unavailable,
}

/// A client of the certificate service.
#[derive(Clone)]
pub struct Verifier {
    client: Option<CertificateServiceClient<Channel>>,
}

impl Verifier {
    /// A lazily connecting client of `url` (`https://` verified against the CA in `ca`); a URL
    /// that does not parse, or an `https://` one without a usable CA, gives a verifier whose
    /// every answer is [`Outcome::Unavailable`] (logged once here).
    pub fn new(url: &str, ca: Option<&std::path::Path>) -> Self {
        let client = match tongban_runtime::tls::endpoint(url, ca) {
            Ok(endpoint) => Some(CertificateServiceClient::new(
                endpoint
                    .connect_timeout(DEADLINE)
                    .timeout(DEADLINE)
                    .connect_lazy(),
            )),
            Err(err) => {
                tracing::error!(%url, error = %err, "certificate service endpoint is unusable: e-certificates cannot be verified");
                None
            }
        };
        Self { client }
    }

    /// Verifies `token` as a certificate of `holder_id`, on behalf of the caller whose
    /// `authorization` header is forwarded.
    pub async fn verify(
        &self,
        token: &str,
        holder_id: &str,
        authorization: Option<&MetadataValue<tonic::metadata::Ascii>>,
    ) -> Outcome {
        let Some(mut client) = self.client.clone() else {
            return Outcome::Unavailable;
        };
        let mut request = tonic::Request::new(VerifyCertificateRequest {
            token: token.to_owned(),
            expected_holder_id_number: holder_id.to_owned(),
            expected_type: String::new(),
        });
        request.set_timeout(DEADLINE);
        // The verification joins the case's trace.
        tongban_telemetry::inject_metadata(&tracing::Span::current(), request.metadata_mut());
        if let Some(value) = authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        match tokio::time::timeout(DEADLINE, client.verify_certificate(request)).await {
            Ok(Ok(response)) => {
                let response = response.into_inner();
                let failures: Vec<VerificationFailure> = response.failures().collect();
                match (response.valid, response.certificate) {
                    (true, Some(certificate)) => Outcome::Verified {
                        identifier: certificate.identifier,
                        type_code: certificate.type_code,
                    },
                    _ => Outcome::Refused(failures),
                }
            }
            Ok(Err(status)) => {
                tracing::warn!(code = ?status.code(), "certificate verification failed: failing closed");
                Outcome::Unavailable
            }
            Err(_) => {
                tracing::warn!("certificate verification timed out: failing closed");
                Outcome::Unavailable
            }
        }
    }
}

/// The name of a verification failure, for the 一次性告知 of a refused case.
pub fn failure_text(failure: VerificationFailure, lang: Lang) -> String {
    use VerificationFailure as F;
    let (zh, en) = match failure {
        F::Unspecified => ("未通过核验", "not verified"),
        F::Malformed => ("证照令牌格式错误", "malformed token"),
        F::BadCheckCharacter => ("证照标识校验位错误", "bad check character"),
        F::BadSignature => ("签名无效", "bad signature"),
        F::UntrustedIssuer => ("颁发机构不在信任列表中", "untrusted issuer"),
        F::NotYetValid => ("尚未生效", "not yet valid"),
        F::Expired => ("已过有效期", "expired"),
        F::StatusSuspended => ("已暂扣", "suspended"),
        F::StatusRevoked => ("已撤销", "revoked"),
        F::StatusCancelled => ("已注销", "cancelled"),
        F::StatusInvalidated => ("已失效", "invalidated"),
        F::StatusTransferredOut => ("已办理转出", "transferred out"),
        F::StatusWithdrawn => ("已吊销", "withdrawn"),
        F::HolderMismatch => ("持证人与申请人不符", "holder is not the applicant"),
        F::TypeMismatch => ("证照类型不符", "wrong certificate type"),
        F::StatusUnavailable => ("证照状态无法核验", "status unavailable"),
    };
    format!("{}（{}）", lang.pick(zh, en), failure.as_str_name())
}

/// The refusal text of an outcome other than [`Outcome::Verified`].
pub fn refusal_text(outcome: &Outcome, lang: Lang) -> String {
    let failures = match outcome {
        Outcome::Verified { .. } => return String::new(),
        Outcome::Refused(failures) => failures.clone(),
        Outcome::Unavailable => vec![VerificationFailure::StatusUnavailable],
    };
    let listed = failures
        .into_iter()
        .map(|f| failure_text(f, lang))
        .collect::<Vec<_>>()
        .join(lang.pick("；", "; "));
    match lang {
        Lang::Zh => format!("电子证照核验未通过：{listed}"),
        Lang::En => format!("e-certificate not accepted: {listed}"),
    }
}
