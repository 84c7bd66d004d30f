//! The one error of the certificate service and its one mapping to a gRPC status.

use tongban_cert::certificate::UnknownStatusCode;
use tongban_cert::status_change::Refusal;
use tongban_domain::i18n::Lang;
use tongban_domain::issuers::IssueRefusal;
use tongban_runtime::status::{self, FieldViolation, PreconditionViolation};
use tonic::Status;

/// Why a CertificateService step failed (or, for the result consumer, why issuing did).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CertificateError {
    /// The request is malformed: one violation per bad field.
    #[error("invalid argument")]
    Invalid(Vec<FieldViolation>),
    /// No such certificate (or another office's, which the caller may not learn about).
    #[error("certificate not found")]
    NotFound,
    /// The caller's office is not in the directory: it cannot issue.
    #[error("the token's office is not in the directory")]
    OfficeNotInDirectory,
    /// Only the caller's own office's signing key may be rotated.
    #[error("another office's signing key")]
    NotOwnOffice,
    /// The status change is not allowed (证照状态变更).
    #[error("status change of {identifier} refused: {refusal}")]
    StatusChange {
        /// The certificate.
        identifier: String,
        /// The domain's refusal.
        refusal: Refusal,
    },
    /// The certificate's content is not acceptable.
    #[error("certificate: {0}")]
    Certificate(#[from] tongban_cert::certificate::CertificateError),
    /// A stored status code does not decode.
    #[error("stored certificate status")]
    StoredStatus(#[from] UnknownStatusCode),
    /// The office's signing key could not be had.
    #[error("signing key")]
    Keys(#[from] crate::keystore::KeystoreError),
    /// The database failed.
    #[error("database")]
    Database(#[from] sqlx::Error),
    /// The outbox or audit log failed.
    #[error("store")]
    Store(#[from] tongban_store::StoreError),
    /// The identifier could not be formed.
    #[error("identifier")]
    Identifier(#[from] tongban_cert::identifier::IdentifierError),
    /// The token could not be encoded.
    #[error("token")]
    Token(#[from] tongban_cert::token::Malformed),
    /// 发证权限: the office may not issue this type, or not this case's result certificate.
    #[error("issuing refused: {0}")]
    Issue(#[from] tongban_domain::issuers::IssueRefusal),
    /// IssueCertificate names a case that awaits no result certificate from this service (not
    /// routed here, or its applicant did not choose e-certificate delivery).
    #[error("the case awaits no result certificate")]
    NoResultAwaited,
    /// The signing key was rotated out while issuing, twice in a row.
    #[error("signing key {0} was rotated out")]
    KeyRetired(String),
}

impl CertificateError {
    /// The gRPC status the caller gets, in `lang`: refusals with their google.rpc details,
    /// internal failures as an opaque INTERNAL with a reference id (logged once).
    pub(crate) fn status(self, lang: Lang) -> Status {
        match self {
            Self::Invalid(violations) => status::invalid_argument(lang, violations),
            Self::NotFound
            | Self::StatusChange {
                refusal: Refusal::NotVisible,
                ..
            } => status::not_found(lang, "证照", "certificate"),
            Self::OfficeNotInDirectory => status::permission_denied(
                lang,
                "令牌所属机构不在机构目录中，不能发证",
                "the token's office is not in the directory; it cannot issue certificates",
            ),
            Self::NotOwnOffice => status::permission_denied(
                lang,
                "只能轮换本机构的签名密钥",
                "only your own office's signing key can be rotated",
            ),
            Self::StatusChange {
                identifier,
                refusal: Refusal::NotAllowed { from, to },
            } => {
                let text = match lang {
                    Lang::Zh => format!(
                        "证照状态为 {} {}，不能改为 {} {}",
                        from.code(),
                        from.label_zh(),
                        to.code(),
                        to.label_zh()
                    ),
                    Lang::En => format!(
                        "the certificate is {} ({}); it cannot become {} ({})",
                        from.code(),
                        from.label_en(),
                        to.code(),
                        to.label_en()
                    ),
                };
                status::failed_precondition(
                    text.clone(),
                    vec![PreconditionViolation::new(
                        "CERTIFICATE_STATUS",
                        identifier,
                        text,
                    )],
                )
            }
            Self::Issue(IssueRefusal::TypeNotAllowed { type_code, .. }) => {
                status::permission_denied(
                    lang,
                    &format!("本机构无权签发类型 {type_code} 的证照（见机构目录 issuers.toml）"),
                    &format!(
                        "your office may not issue certificates of type {type_code} (directory issuers.toml)"
                    ),
                )
            }
            Self::Issue(IssueRefusal::NotResponsible { responsible }) => status::permission_denied(
                lang,
                &format!("办件结果证照只能由该件的办理机构 {responsible} 签发"),
                &format!(
                    "only the case's responsible office {responsible} may issue its result certificate"
                ),
            ),
            Self::Issue(IssueRefusal::WrongResultType {
                expected,
                type_code,
            }) => status::invalid_argument(
                lang,
                vec![FieldViolation::new(
                    "type_code",
                    lang.pick(
                        &format!("该事项的结果证照类型为 {expected}，不是 {type_code}"),
                        &format!("the case's matter produces type {expected}, not {type_code}"),
                    ),
                )],
            ),
            Self::NoResultAwaited => {
                let text = lang
                    .pick(
                        "该办件不等待电子证照结果（未转来本服务或申请人未选择电子证照送达）",
                        "the case awaits no result certificate (not routed here, or the applicant did not choose e-certificate delivery)",
                    )
                    .to_owned();
                status::failed_precondition(
                    text.clone(),
                    vec![PreconditionViolation::new("CASE_STATE", "case_id", text)],
                )
            }
            Self::Certificate(err) => status::invalid_argument(
                lang,
                vec![FieldViolation::new("certificate", err.to_string())],
            ),
            internal @ (Self::StoredStatus(_)
            | Self::Keys(_)
            | Self::Database(_)
            | Self::Store(_)
            | Self::Identifier(_)
            | Self::Token(_)
            | Self::KeyRetired(_)) => status::internal(lang, &internal),
        }
    }
}
