//! Why a review request fails, and the one mapping of it to the wire (STYLE habit 5: typed
//! errors inside, opaque errors on the wire). Every code, message and `google.rpc` detail the
//! ReviewService answers with is built in [`ReviewError::status`].

use tongban_domain::assignment::Refusal;
use tongban_domain::clock_steps::ClockRefusal;
use tongban_domain::i18n::{Lang, Localized};
use tongban_runtime::status::{self, FieldViolation, PreconditionViolation};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

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
    /// The office has its limit of open WatchAssignments streams.
    #[error("too many watchers of one office (at most {limit})")]
    TooManyWatchers {
        /// The limit per office.
        limit: usize,
    },
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
            ReviewError::TooManyWatchers { limit } => too_many_watchers(lang, limit),
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
            ReviewError::Refused(refusal @ Refusal::HeadOnly) => {
                status::permission_denied(lang, &refusal.text(Lang::Zh), &refusal.text(Lang::En))
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

/// RESOURCE_EXHAUSTED for one WatchAssignments stream too many, with a `QuotaFailure` naming
/// the limit.
fn too_many_watchers(lang: Lang, limit: usize) -> Status {
    let message = match lang {
        Lang::Zh => format!(
            "本机构同时打开的待办订阅（WatchAssignments）已达上限：每个机构最多 {limit} 个，请关闭不用的订阅后再试"
        ),
        Lang::En => format!(
            "too many open WatchAssignments streams: at most {limit} per office; close one and try again"
        ),
    };
    let mut details = ErrorDetails::new();
    details.add_quota_failure_violation("office_id", message.clone());
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// FAILED_PRECONDITION whose one violation repeats the message.
fn precondition(kind: &str, subject: &str, text: String) -> Status {
    status::failed_precondition(
        text.clone(),
        vec![PreconditionViolation::new(kind, subject, text)],
    )
}

#[cfg(test)]
mod tests {
    use tongban_domain::case::{CaseStatus, TransitionError};
    use tongban_domain::joint::PartState;
    use tongban_domain::review::ChecklistProblem;
    use tonic::Code;

    use super::*;

    fn answer(err: ReviewError, lang: Lang) -> (Code, String, Vec<PreconditionViolation>) {
        let status = err.status(lang);
        let (_, preconditions) = status::details(&status);
        (status.code(), status.message().to_owned(), preconditions)
    }

    #[test]
    fn each_refusal_kind_is_a_failed_precondition_naming_it() {
        let cases = [
            (
                Refusal::PartWaiting {
                    awaiting: vec!["迁入地审批".to_owned()],
                },
                "PART_WAITING",
                "case_id",
            ),
            (
                Refusal::PartClosed(PartState::Cancelled),
                "PART_CLOSED",
                "state",
            ),
            (
                Refusal::CaseState(TransitionError::Illegal {
                    from: CaseStatus::Routed,
                    command: "decide",
                }),
                "CASE_STATE",
                "state",
            ),
            (
                Refusal::CaseInSupplement {
                    part: "转出地".to_owned(),
                },
                "CASE_IN_SUPPLEMENT",
                "case_id",
            ),
        ];
        for (refusal, kind, subject) in cases {
            let text = refusal.text(Lang::En);
            let (code, message, preconditions) = answer(refusal.into(), Lang::En);
            assert_eq!(code, Code::FailedPrecondition);
            assert_eq!(message, text);
            assert_eq!(
                preconditions,
                vec![PreconditionViolation::new(kind, subject, text)]
            );
        }
    }

    #[test]
    fn missing_originals_list_each_material() {
        let refusal = Refusal::OriginalsNotDelivered {
            codes: vec!["M01".to_owned(), "M02".to_owned()],
        };
        let (code, message, preconditions) = answer(refusal.into(), Lang::Zh);
        assert_eq!(code, Code::FailedPrecondition);
        assert!(message.starts_with("纸质原件尚未送达本机关"), "{message}");
        let listed: Vec<(&str, &str)> = preconditions
            .iter()
            .map(|v| (v.kind.as_str(), v.subject.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("ORIGINAL_NOT_DELIVERED", "M01"),
                ("ORIGINAL_NOT_DELIVERED", "M02")
            ]
        );
    }

    #[test]
    fn a_checklist_problem_is_a_bad_checklist_field() {
        let err = ReviewError::Refused(Refusal::Checklist(vec![
            ChecklistProblem::DenyWithoutFailure,
        ]));
        let status = err.status(Lang::En);
        assert_eq!(status.code(), Code::InvalidArgument);
        let (fields, _) = status::details(&status);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field, "checklist");
    }

    #[test]
    fn a_clock_refusal_is_case_clock() {
        let (code, _, preconditions) = answer(ClockRefusal::NothingToResume.into(), Lang::En);
        assert_eq!(code, Code::FailedPrecondition);
        assert_eq!(preconditions[0].kind, "CASE_CLOCK");
        assert_eq!(preconditions[0].subject, "clock_suspension");
    }

    #[test]
    fn a_stored_value_that_does_not_decode_is_an_opaque_internal_error() {
        let err = ReviewError::Repo(RepoError::Decode {
            column: "case_status",
            value: "lost".to_owned(),
        });
        let (code, message, _) = answer(err, Lang::En);
        assert_eq!(code, Code::Internal);
        assert!(message.contains("(ref "), "{message}");
        assert!(!message.contains("lost"), "{message}");
    }

    #[test]
    fn one_watcher_too_many_is_resource_exhausted_naming_the_limit() {
        let status = ReviewError::TooManyWatchers { limit: 3 }.status(Lang::En);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(
            status.message().contains("at most 3 per office"),
            "{status:?}"
        );
        let zh = ReviewError::TooManyWatchers { limit: 3 }.status(Lang::Zh);
        assert!(zh.message().contains("最多 3 个"), "{zh:?}");
    }

    #[test]
    fn not_found_and_another_office() {
        assert_eq!(
            ReviewError::NotFound.status(Lang::Zh).message(),
            "未找到该办件"
        );
        assert_eq!(
            ReviewError::OtherOffice.status(Lang::En).code(),
            Code::PermissionDenied
        );
    }
}
