//! The one error of the intake service's RPCs (IntakeService and CatalogService) and its one
//! mapping to `tonic::Status`: the codes, messages (Simplified Chinese, English by `lang`) and
//! google.rpc details the contract promises. Internal causes are logged once with their chain
//! and answered as an opaque INTERNAL with a reference id.

use tongban_domain::calendar::CalendarError;
use tongban_domain::case::TransitionError;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::routing::RouteError;
use tongban_runtime::status::{self, FieldViolation, PreconditionViolation};
use tonic::Status;

use crate::repo::RepoError;
use crate::results::TokenError;

/// What the caller asked for that does not exist (or they may not know exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// 办件.
    Case,
    /// 一件事.
    Bundle,
    /// 事项.
    Matter,
}

/// Why an RPC of this service did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IntakeError {
    /// A refusal the shared helpers answered (authorization, the common input checks), passed
    /// on as it is.
    #[error("refused by a shared check: {}", .0.message())]
    Shared(#[from] Status),
    /// INVALID_ARGUMENT with every field violation (BadRequest).
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// 一次性告知: FAILED_PRECONDITION listing every problem at once (PreconditionFailure:
    /// routing, every missing material, every refused e-certificate).
    #[error("refused")]
    Refused(Vec<PreconditionViolation>),
    /// ResolveRoute: no office can take the case (FAILED_PRECONDITION, ROUTE_REFUSED).
    #[error("route refused")]
    Route(RouteError),
    /// The calendar cannot count the time limit (FAILED_PRECONDITION, CALENDAR about
    /// `subject`).
    #[error("calendar")]
    Calendar {
        /// The request field the time limit counts from.
        subject: &'static str,
        /// Why it cannot be counted.
        error: CalendarError,
    },
    /// The case's state does not allow the step (FAILED_PRECONDITION, CASE_STATE).
    #[error(transparent)]
    Illegal(#[from] TransitionError),
    /// NOT_FOUND.
    #[error("not found")]
    NotFound(Unknown),
    /// PERMISSION_DENIED with the explanation.
    #[error("permission denied")]
    Forbidden {
        /// In Chinese.
        zh: &'static str,
        /// In English.
        en: &'static str,
    },
    /// ALREADY_EXISTS: the idempotency key was used for a different request.
    #[error("idempotency key used for another request")]
    KeyReused,
    /// UNAVAILABLE: a concurrent request with the same key won and its answer is not readable
    /// yet; the caller may retry.
    #[error("retry")]
    Retry,
    /// UNAVAILABLE: the window's case numbers of the day are used up.
    #[error("case numbers used up")]
    NumbersUsedUp,
    /// A row could not be read or written.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A statement failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The outbox, the audit log or the timeline failed.
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
    /// The stored result certificate token could not be read.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A sealed personal datum (the applicant's ID number) could not be opened.
    #[error(transparent)]
    Sealed(#[from] tongban_runtime::pii::PiiError),
}

impl From<IntakeError> for tongban_bus::HandleError {
    /// A consumer's step: a failing statement is retried; a step the case's state does not
    /// allow, or a row that does not decode, never gets better: rejected.
    fn from(err: IntakeError) -> Self {
        match err {
            IntakeError::Sql(err) => Self::Retry(Box::new(err)),
            IntakeError::Store(err) => Self::Retry(Box::new(err)),
            IntakeError::Repo(err) => err.into(),
            other => Self::Reject(other.to_string()),
        }
    }
}

impl IntakeError {
    /// The answer to the caller, in `lang`.
    pub(crate) fn status(self, lang: Lang) -> Status {
        match self {
            Self::Shared(status) => status,
            Self::Invalid(violations) => status::invalid_argument(lang, violations),
            Self::Refused(refusals) => {
                let message = match lang {
                    Lang::En => format!(
                        "the case cannot be accepted: {} problem(s), all listed",
                        refusals.len()
                    ),
                    Lang::Zh => format!("暂不能受理：共 {} 项问题，已一次性列出", refusals.len()),
                };
                status::failed_precondition(message, refusals)
            }
            Self::Route(err) => status::failed_precondition(
                err.text(lang),
                vec![PreconditionViolation::new(
                    "ROUTE_REFUSED",
                    "home_division",
                    err.text(lang),
                )],
            ),
            Self::Calendar { subject, error } => status::failed_precondition(
                error.text(lang),
                vec![PreconditionViolation::new(
                    "CALENDAR",
                    subject,
                    error.text(lang),
                )],
            ),
            Self::Illegal(err) => status::case_state(err.text(lang), "status"),
            Self::NotFound(Unknown::Case) => status::not_found(lang, "该办件", "case"),
            Self::NotFound(Unknown::Bundle) => status::not_found(lang, "该一件事", "bundle"),
            Self::NotFound(Unknown::Matter) => status::not_found(lang, "该事项", "matter"),
            Self::Forbidden { zh, en } => status::permission_denied(lang, zh, en),
            Self::KeyReused => status::already_exists(
                lang,
                "该幂等键已用于另一份不同的申请",
                "this idempotency key was already used for a different request",
            ),
            Self::Retry => status::unavailable(lang, "请重试", "please retry"),
            Self::NumbersUsedUp => status::unavailable(
                lang,
                "本窗口今日办件编号已用尽",
                "this window has used up today's case numbers",
            ),
            internal @ (Self::Repo(_)
            | Self::Sql(_)
            | Self::Store(_)
            | Self::Token(_)
            | Self::Sealed(_)) => status::internal(lang, &internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn every_refusal_keeps_its_code_message_and_details() {
        let refused = IntakeError::Refused(vec![
            PreconditionViolation::new("MATERIAL_MISSING", "SFZ", "居民身份证（SFZ）：未提交"),
            PreconditionViolation::new("MATERIAL_MISSING", "HKB", "户口簿（HKB）：未提交"),
        ])
        .status(Lang::Zh);
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert_eq!(refused.message(), "暂不能受理：共 2 项问题，已一次性列出");
        let (_, listed) = status::details(&refused);
        assert_eq!(
            listed
                .iter()
                .map(|v| v.subject.as_str())
                .collect::<Vec<_>>(),
            ["SFZ", "HKB"],
            "every missing material is listed"
        );

        let invalid =
            IntakeError::Invalid(vec![FieldViolation::new("reason", "必须填写")]).status(Lang::En);
        assert_eq!(invalid.code(), Code::InvalidArgument);
        let (fields, _) = status::details(&invalid);
        assert_eq!(fields[0].field, "reason");

        let reused = IntakeError::KeyReused.status(Lang::En);
        assert_eq!(reused.code(), Code::AlreadyExists);
        assert_eq!(
            reused.message(),
            "this idempotency key was already used for a different request"
        );

        let illegal = IntakeError::Illegal(TransitionError::EmptyReason).status(Lang::Zh);
        assert_eq!(illegal.code(), Code::FailedPrecondition);
        let (_, state) = status::details(&illegal);
        assert_eq!(state[0].kind, "CASE_STATE");

        assert_eq!(
            IntakeError::NotFound(Unknown::Bundle)
                .status(Lang::Zh)
                .message(),
            "未找到该一件事"
        );
        assert_eq!(
            IntakeError::NumbersUsedUp.status(Lang::Zh).code(),
            Code::Unavailable
        );
    }

    #[test]
    fn internal_causes_stay_inside_and_corrupt_rows_are_rejected() {
        let corrupt = || RepoError::Corrupt {
            entity: "case",
            id: uuid::Uuid::nil(),
            column: "status",
            value: "\"lost\"".to_owned(),
        };
        let status = IntakeError::Repo(corrupt()).status(Lang::En);
        assert_eq!(status.code(), Code::Internal);
        assert!(
            !status.message().contains("lost"),
            "the cause is logged, not sent: {}",
            status.message()
        );
        assert!(matches!(
            tongban_bus::HandleError::from(IntakeError::Repo(corrupt())),
            tongban_bus::HandleError::Reject(_)
        ));
        assert!(matches!(
            tongban_bus::HandleError::from(IntakeError::Sql(sqlx::Error::PoolTimedOut)),
            tongban_bus::HandleError::Retry(_)
        ));
    }
}
