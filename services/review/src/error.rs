//! Why a review request fails, and the one mapping of it to the wire (STYLE habit 5: typed
//! errors inside, opaque errors on the wire). Every code, message and `google.rpc` detail the
//! ReviewService answers with is built in [`ReviewError::status`].

use tongban_domain::assignment::Refusal;
use tongban_domain::clock_steps::ClockRefusal;
use tongban_domain::i18n::{Lang, Localized};
use tongban_runtime::status::{self, FieldViolation, PreconditionViolation};
use tonic::Status;

use crate::repo::RepoError;

/// Why a review request fails.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReviewError {
    /// The shared checks of the runtime refused the caller (no token, a role that may not, a
    /// malformed case id): their answer is passed on as it is.
    #[error("request refused: {}", .0.message())]
    Caller(Status),
    /// Bad input, every field at once.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// No such case in the caller's office — or one the caller may not learn exists.
    #[error("case not found")]
    NotFound,
    /// Only supervision may read another office's inbox.
    #[error("another office's inbox")]
    OtherOffice,
    /// The domain refused the review step.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The domain refused the clock step.
    #[error(transparent)]
    Clock(#[from] ClockRefusal),
    /// Reading or decoding the rows failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// Writing the step's effects failed.
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
}

impl From<Status> for ReviewError {
    fn from(status: Status) -> Self {
        Self::Caller(status)
    }
}

impl From<sqlx::Error> for ReviewError {
    fn from(err: sqlx::Error) -> Self {
        Self::Repo(RepoError::Sql(err))
    }
}

impl ReviewError {
    /// The answer to the caller, in `lang`: INVALID_ARGUMENT with a `BadRequest`,
    /// FAILED_PRECONDITION with a `PreconditionFailure` naming the refusal's kind, NOT_FOUND,
    /// PERMISSION_DENIED, or an opaque INTERNAL with a reference id (the cause logged once).
    pub(crate) fn status(self, lang: Lang) -> Status {
        match self {
            ReviewError::Caller(status) => status,
            ReviewError::Invalid(violations) => status::invalid_argument(lang, violations),
            ReviewError::NotFound => status::not_found(lang, "该办件", "case"),
            ReviewError::OtherOffice => status::permission_denied(
                lang,
                "只能查看本机构的待办",
                "you can see only your own office's inbox",
            ),
            ReviewError::Refused(Refusal::Checklist(problems)) => status::invalid_argument(
                lang,
                problems
                    .iter()
                    .map(|p| FieldViolation::new("checklist", p.text(lang)))
                    .collect(),
            ),
            ReviewError::Refused(Refusal::OriginalsNotDelivered { codes }) => {
                let message = Refusal::OriginalsNotDelivered { codes: Vec::new() }.text(lang);
                let violations = codes
                    .into_iter()
                    .map(|code| {
                        PreconditionViolation::new(
                            "ORIGINAL_NOT_DELIVERED",
                            code,
                            lang.pick("纸质原件在途", "paper original in transit"),
                        )
                    })
                    .collect();
                status::failed_precondition(message, violations)
            }
            ReviewError::Refused(refusal @ Refusal::CaseState(_)) => {
                status::case_state(refusal.text(lang), refusal.subject())
            }
            ReviewError::Refused(refusal) => {
                precondition(refusal.kind(), refusal.subject(), refusal.text(lang))
            }
            ReviewError::Clock(refusal) => {
                precondition("CASE_CLOCK", refusal.subject(), refusal.text(lang))
            }
            ReviewError::Repo(err) => status::internal(lang, &err),
            ReviewError::Store(err) => status::internal(lang, &err),
        }
    }
}

/// FAILED_PRECONDITION whose one violation repeats the message.
fn precondition(kind: &str, subject: &str, text: String) -> Status {
    status::failed_precondition(
        text.clone(),
        vec![PreconditionViolation::new(kind, subject, text)],
    )
}
