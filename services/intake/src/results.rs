//! Results as certificates (电子证照): when the applicant chose e_certificate delivery and the
//! matter issues a result certificate, an approval leaves the case 准予 (approved) until the
//! certificate service reports `cert.issued` for it; the case then completes (办结) with the
//! certificate's identifier, and its token (sealed here: it holds the holder's ID number) is
//! kept for the clerk. A denial, or any other delivery, completes at once.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_bus::{ConsumerSpec, EventHandler, HandleError};
use tongban_domain::case::{self, CaseCommand, CaseEvent, CaseStatus, Decision};
use tongban_domain::issuers::{ResultCase, check_result};
use tongban_domain::reference::ReferenceData;
use tongban_proto::events::v1::{self as ev, Event, event::Body};
use tongban_runtime::convert::{decision_to_pb, timestamp};
use tongban_step::{Effects, Trace};
use uuid::Uuid;

use crate::State;
use crate::repo::{self, CaseRow};
use crate::view::{self, Step};

/// The consumer of `cert.issued`.
pub(crate) fn consumer_spec() -> ConsumerSpec {
    ConsumerSpec::for_events(
        "intake-cert-issued",
        &[Body::CertificateIssued(ev::CertificateIssued::default())],
    )
}

/// Whether an approval of `row` waits for a result certificate.
pub(crate) fn awaits_certificate(reference: &ReferenceData, row: &CaseRow) -> bool {
    let method = row.delivery_method;
    reference
        .catalog
        .matter(&row.matter_code)
        .and_then(|m| m.result_certificate_for(method))
        .is_some()
}

/// The identifier of the result certificate stored for `case_id`, if one arrived.
pub(crate) async fn identifier(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT result_certificate_identifier FROM cases WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(id,)| id))
}

/// The identifier and sealed token of the result certificate of `case_id`, if any.
pub(crate) async fn stored(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<(String, Option<Vec<u8>>)>, sqlx::Error> {
    let row: Option<(Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT result_certificate_identifier, result_certificate_token_sealed
         FROM cases WHERE case_id = $1",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(id, token)| id.map(|id| (id, token))))
}

/// Completes a decided case (办结) at the window, with the result certificate when there is one:
/// its status and timeline line, and `case.completed` among `effects`.
pub(crate) async fn complete(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &mut CaseRow,
    decision: Decision,
    certificate_identifier: Option<String>,
    at: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<(), HandleError> {
    let (done, completed) = case::transition(row.status, &CaseCommand::Complete)
        .map_err(|e| HandleError::Reject(e.to_string()))?;
    row.status = done;
    let detail = certificate_identifier.clone().unwrap_or_default();
    for step in completed {
        debug_assert_eq!(step, CaseEvent::Completed);
        view::record_step(
            conn,
            reference,
            row,
            Step {
                event: step,
                status: done,
                office_id: &row.window_office_id.clone(),
                detail: &detail,
                at,
                body: Body::CaseCompleted(ev::CaseCompleted {
                    decision: decision_to_pb(decision).into(),
                    completed_at: Some(timestamp(at)),
                    certificate_identifier: detail.clone(),
                }),
            },
            effects,
        )
        .await?;
    }
    Ok(())
}

/// Consumer of `cert.issued`: stores a case's result certificate and completes the case when it
/// is approved and waiting for it (an issue that overtakes the decision is kept; the decision
/// then completes the case at once).
pub struct CertificateEvents {
    state: State,
}

impl CertificateEvents {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

impl EventHandler for CertificateEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        let Some(Body::CertificateIssued(issued)) = &event.body else {
            return Ok(());
        };
        // Certificates issued outside a case (seeding, 亮证 demos) carry the nil id.
        let Ok(case_id) = Uuid::parse_str(&event.case_id) else {
            return Ok(());
        };
        if case_id.is_nil() {
            return Ok(());
        }
        let Some(mut row) = repo::case_by_id(conn, case_id, true).await? else {
            // Another deployment's case, or one this window does not hold.
            return Ok(());
        };
        let Some(result_type) = self
            .state
            .reference
            .catalog
            .matter(&row.matter_code)
            .and_then(|m| m.result_certificate_for(row.delivery_method))
        else {
            return Ok(());
        };
        // Only the responsible office's certificate of the matter's type is the case's result;
        // anything else is refused (and shows among the consumer's dead letters).
        let case = ResultCase {
            responsible_office_id: &row.responsible_office_id,
            result_type,
        };
        if let Err(refusal) = check_result(case, &issued.issuer_office_id, &issued.type_code) {
            tracing::warn!(case_number = %row.case_number, identifier = %issued.identifier, %refusal, "result certificate refused");
            return Err(HandleError::Reject(format!(
                "result certificate {} refused: {refusal}",
                issued.identifier
            )));
        }
        if identifier(conn, case_id).await?.is_some() {
            tracing::warn!(case_number = %row.case_number, "a second result certificate for the case; ignored");
            return Ok(());
        }
        // The token travels sealed; open it to check it is this case's, then seal it again at
        // rest (same keys, same binding).
        let token_sealed = if issued.sealed_token.is_empty() {
            None
        } else {
            match self
                .state
                .pii
                .open(&issued.sealed_token, case_id.as_bytes())
            {
                Ok(_) => Some(issued.sealed_token.clone()),
                Err(err) => {
                    return Err(HandleError::Reject(format!(
                        "sealed result certificate token does not open: {err}"
                    )));
                }
            }
        };
        sqlx::query(
            "UPDATE cases SET result_certificate_identifier = $2,
                 result_certificate_token_sealed = $3, updated_at = now()
             WHERE case_id = $1",
        )
        .bind(case_id)
        .bind(&issued.identifier)
        .bind(&token_sealed)
        .execute(&mut *conn)
        .await?;
        tracing::info!(case_number = %row.case_number, identifier = %issued.identifier, "result certificate received");
        if row.status == CaseStatus::Approved {
            let at = view::occurred_at(event);
            let mut effects = Effects::new();
            complete(
                conn,
                &self.state.reference,
                &mut row,
                Decision::Approve,
                Some(issued.identifier.clone()),
                at,
                &mut effects,
            )
            .await?;
            repo::update_case(conn, &row).await?;
            tongban_step::apply(
                conn,
                crate::SERVICE,
                &view::service_at(&row),
                at,
                &Trace::current(),
                effects,
            )
            .await?;
        }
        Ok(())
    }
}

/// Why the stored result certificate token could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    /// The database failed.
    #[error("database")]
    Database(#[from] sqlx::Error),
    /// The sealed token does not open with this deployment's keys.
    #[error("sealed token")]
    Sealed(#[from] tongban_runtime::pii::PiiError),
}

/// The result certificate token of `case_id` (empty when there is none).
pub(crate) async fn token(
    conn: &mut PgConnection,
    pii: &tongban_runtime::pii::PiiKeys,
    case_id: Uuid,
) -> Result<String, TokenError> {
    match stored(conn, case_id).await? {
        Some((_, Some(sealed))) => Ok(pii.open(&sealed, case_id.as_bytes())?),
        _ => Ok(String::new()),
    }
}
