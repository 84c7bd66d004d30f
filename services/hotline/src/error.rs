//! The one error of the hotline service and its one mapping to a gRPC status.

use tongban_domain::complaint::{AdvanceError, Side};
use tongban_domain::i18n::Lang;
use tongban_domain::rating::RatingRefusal;
use tongban_runtime::status::{self, FieldViolation, PreconditionViolation};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Why a HotlineService call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HotlineError {
    /// The token does not allow the call (built by the auth layer, passed on as it is).
    #[error("not allowed: {}", .0.message())]
    Auth(Status),
    /// The request is malformed: one violation per bad field.
    #[error("invalid argument")]
    Invalid(Vec<FieldViolation>),
    /// Unknown case, wrong verification or a locked case number: one answer for all three.
    #[error("no such case, or the verification does not match")]
    NoMatch,
    /// 查询限流: the operator made as many status lookups as a minute allows.
    #[error("too many status lookups by this operator")]
    Throttled {
        /// Lookups allowed per minute.
        limit: u32,
        /// How long until the next lookup is admitted.
        retry_after: std::time::Duration,
    },
    /// No such complaint (or another office's).
    #[error("complaint not found")]
    NoComplaint,
    /// No such rectification item.
    #[error("rectification not found")]
    NoRectification,
    /// The caller's role never moves complaints.
    #[error("may not move complaints")]
    MayNotMoveComplaints,
    /// An office's staff asked for another office's ratings.
    #[error("another office's ratings")]
    OtherOfficeRatings,
    /// The case was already rated at that occasion.
    #[error("already rated at this occasion")]
    AlreadyRated,
    /// 好差评 refused by the domain.
    #[error(transparent)]
    Rating(#[from] RatingRefusal),
    /// 投诉 step refused by the domain.
    #[error(transparent)]
    Complaint(#[from] AdvanceError),
    /// The working-day calendar could not date the rectification.
    #[error("calendar")]
    Calendar(#[from] tongban_domain::calendar::CalendarError),
    /// The database failed (or a stored value does not decode).
    #[error("database")]
    Database(#[from] sqlx::Error),
    /// The outbox or audit log failed.
    #[error("store")]
    Store(#[from] tongban_store::StoreError),
}

impl From<Status> for HotlineError {
    fn from(status: Status) -> Self {
        Self::Auth(status)
    }
}

impl HotlineError {
    /// The gRPC status the caller gets, in `lang`: refusals with the google.rpc details the
    /// contract promises, internal failures as an opaque INTERNAL with a reference id.
    pub(crate) fn status(self, lang: Lang) -> Status {
        match self {
            Self::Auth(status) => status,
            Self::Invalid(violations) => status::invalid_argument(lang, violations),
            Self::NoMatch => Status::not_found(lang.pick(
                "未找到该办件，或核验信息不符",
                "no such case, or the verification does not match",
            )),
            Self::Throttled { limit, retry_after } => throttled(lang, limit, retry_after),
            Self::NoComplaint => status::not_found(lang, "该投诉", "complaint"),
            Self::NoRectification => status::not_found(lang, "该整改事项", "rectification"),
            Self::MayNotMoveComplaints => {
                status::permission_denied(lang, "无权处理投诉", "may not move complaints")
            }
            Self::OtherOfficeRatings => status::permission_denied(
                lang,
                "只能查看本单位的评价",
                "only your own office's ratings may be read",
            ),
            Self::AlreadyRated => status::already_exists(
                lang,
                "该办件已就此时机评价过",
                "this case has already been rated for this occasion",
            ),
            Self::Rating(RatingRefusal::NotCompleted) => {
                let text = lang.pick(
                    "办件尚未办结，暂不能进行办结评价",
                    "the case is not completed yet; it cannot be rated for completion",
                );
                status::case_state(text.to_owned(), "occasion")
            }
            Self::Rating(RatingRefusal::AlreadyRectified) => {
                let text = lang.pick(
                    "该整改事项已整改完毕，无需再回访",
                    "this rectification is already confirmed; no further call-back is needed",
                );
                status::failed_precondition(
                    text.to_owned(),
                    vec![PreconditionViolation::new(
                        "RECTIFICATION_STATE",
                        "rectification_id",
                        text,
                    )],
                )
            }
            Self::Complaint(refusal) => complaint_refusal(refusal, lang),
            internal @ (Self::Calendar(_) | Self::Database(_) | Self::Store(_)) => {
                status::internal(lang, &internal)
            }
        }
    }
}

/// RESOURCE_EXHAUSTED for an operator over the lookup rate, with `google.rpc.RetryInfo` (when
/// to try again) and a `QuotaFailure` naming the quota.
fn throttled(lang: Lang, limit: u32, retry_after: std::time::Duration) -> Status {
    let seconds = retry_after.as_secs().max(1);
    let message = match lang {
        Lang::Zh => {
            format!("查询过于频繁：每位话务员每分钟最多查询 {limit} 次，请 {seconds} 秒后再试")
        }
        Lang::En => format!(
            "too many status lookups: at most {limit} a minute per operator; try again in {seconds} s"
        ),
    };
    let mut details = ErrorDetails::with_retry_info(Some(retry_after));
    details.add_quota_failure_violation("operator", message.clone());
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// The refusal of a step the 投诉 loop does not allow.
fn complaint_refusal(refusal: AdvanceError, lang: Lang) -> Status {
    match refusal {
        AdvanceError::NotNext { from, to } => {
            let (from_zh, from_en) = from.label();
            let (to_zh, to_en) = to.label();
            let text = match lang {
                Lang::Zh => format!(
                    "投诉当前为“{from_zh}”，不能转为“{to_zh}”：须按 受理→转办→办理→回复→回访→办结 逐步推进"
                ),
                Lang::En => format!(
                    "the complaint is {from_en}; it cannot become {to_en}: it moves one step at a time, received → assigned → handling → replied → followed up → closed"
                ),
            };
            status::failed_precondition(
                text.clone(),
                vec![PreconditionViolation::new(
                    "COMPLAINT_STATE",
                    "to_state",
                    text,
                )],
            )
        }
        AdvanceError::WrongSide { required } => match required {
            Side::Hotline => status::permission_denied(
                lang,
                "转办、回访、办结由 12345 热线办理",
                "assigning, following up and closing are done by the 12345 hotline",
            ),
            Side::Office => status::permission_denied(
                lang,
                "办理、回复由承办单位的审批人员或负责人办理",
                "handling and replying are done by the office's reviewer or head",
            ),
        },
        AdvanceError::NoteRequired => status::invalid_argument(
            lang,
            vec![FieldViolation::new(
                "note",
                lang.pick("回复须填写答复内容", "a reply needs its text"),
            )],
        ),
    }
}
