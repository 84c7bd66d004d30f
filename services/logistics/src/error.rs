//! The one error of the logistics service and its one mapping to `tonic::Status`.

use tongban_domain::i18n::Lang;
use tongban_runtime::status::{self, FieldViolation};
use tonic::Status;

/// Why a logistics step or read failed.
#[derive(Debug, thiserror::Error)]
pub enum LogisticsError {
    /// The caller was refused by the shared authentication guard (no token, wrong role); the
    /// status is already the one the contract promises.
    #[error("refused by the authentication guard: {}", .0.message())]
    Auth(Status),
    /// The request has invalid fields (google.rpc.BadRequest).
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// No such waybill (or the caller may not know it exists).
    #[error("no such waybill")]
    WaybillNotFound,
    /// No such case (or the caller may not know it exists).
    #[error("no such case")]
    CaseNotFound,
    /// CreateWaybill named a sender office other than the caller's: the sender is the office
    /// in the token.
    #[error("another office as the sender")]
    OtherSender,
    /// A waybill made by hand (without a source) was not stored: cannot happen short of a bug.
    #[error("waybill without source not stored")]
    NotStored,
    /// A statement failed, or a stored row does not decode into the domain's types.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The outbox or audit log refused the step's effects.
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
}

impl From<Status> for LogisticsError {
    fn from(status: Status) -> Self {
        Self::Auth(status)
    }
}

impl LogisticsError {
    /// The status answered for this error in `lang`: INVALID_ARGUMENT with its field
    /// violations, NOT_FOUND, PERMISSION_DENIED, or an opaque INTERNAL with a reference id (the cause logged once).
    pub fn status(self, lang: Lang) -> Status {
        match self {
            Self::Auth(status) => status,
            Self::Invalid(violations) => status::invalid_argument(lang, violations),
            Self::WaybillNotFound => status::not_found(lang, "该运单", "waybill"),
            Self::CaseNotFound => status::not_found(lang, "该办件", "case"),
            Self::OtherSender => status::permission_denied(
                lang,
                "寄件机构只能是本机构（sender.office_id 取自令牌）",
                "the sender can only be your own office (sender.office_id comes from the token)",
            ),
            err @ (Self::NotStored | Self::Sql(_) | Self::Store(_)) => status::internal(lang, &err),
        }
    }
}
