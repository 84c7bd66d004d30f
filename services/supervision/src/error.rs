//! The one error of the supervision service and its one mapping to `tonic::Status`.

use tongban_domain::calendar::CalendarError;
use tongban_domain::i18n::Lang;
use tongban_domain::stages::TicketState;
use tongban_runtime::status::{self, FieldViolation, PreconditionViolation};
use tonic::Status;

/// Why a supervision step, read or evaluation pass failed.
#[derive(Debug, thiserror::Error)]
pub enum SupervisionError {
    /// The caller was refused by the shared authentication guard (no token, wrong role); the
    /// status is already the one the contract promises.
    #[error("refused by the authentication guard: {}", .0.message())]
    Auth(Status),
    /// The request has invalid fields (google.rpc.BadRequest).
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// An office's user asked for another office's records.
    #[error("another office's records")]
    OtherOffice,
    /// No such ticket (or the caller may not know it exists).
    #[error("no such ticket")]
    TicketNotFound,
    /// The step does not apply in the ticket's state (google.rpc.PreconditionFailure
    /// `TICKET_STATE`).
    #[error("the ticket is {0}")]
    TicketState(TicketState),
    /// A milestone falls in a year without holiday data.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// A statement failed, or a stored row does not decode into the domain's types.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The outbox or audit log refused the step's effects.
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
    /// A worker of an evaluation pass ended abnormally.
    #[error("evaluation worker failed: {0}")]
    Worker(String),
}

impl From<Status> for SupervisionError {
    fn from(status: Status) -> Self {
        Self::Auth(status)
    }
}

impl SupervisionError {
    /// The status answered for this error in `lang`; causes inside the service are logged once
    /// and answered as an opaque INTERNAL with a reference id.
    pub fn status(self, lang: Lang) -> Status {
        match self {
            Self::Auth(status) => status,
            Self::Invalid(violations) => status::invalid_argument(lang, violations),
            Self::OtherOffice => status::permission_denied(
                lang,
                "只能查看本机构的督办信息",
                "you can see only your own office's supervision records",
            ),
            Self::TicketNotFound => status::not_found(lang, "该督办单", "ticket"),
            Self::TicketState(state) => status::failed_precondition(
                lang.pick(
                    "督办单当前状态不允许此操作",
                    "the ticket's state does not allow this step",
                )
                .to_owned(),
                vec![PreconditionViolation::new(
                    "TICKET_STATE",
                    "state",
                    state.as_str(),
                )],
            ),
            err @ (Self::Calendar(_) | Self::Sql(_) | Self::Store(_) | Self::Worker(_)) => {
                status::internal(lang, &err)
            }
        }
    }
}
