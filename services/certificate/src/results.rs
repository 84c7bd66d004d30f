//! Results as certificates (电子证照): the certificate service follows `case.routed` (keeping the
//! sealed holder of each case) and `case.decided`. On 准予 (approve) of a case whose applicant
//! chose e_certificate delivery and whose matter issues a result certificate, it issues that
//! certificate signed with the responsible office's key and publishes `cert.issued` (token
//! sealed) in the same transaction as the delivery's inbox record.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use tongban_bus::{ConsumerSpec, EventHandler, HandleError};
use tongban_cert::certificate::HolderId;
use tongban_cert::identifier::TypeCode;
use tongban_cert::issuance;
use tongban_domain::catalog::DeliveryMethod;
use tongban_domain::issuers::ResultCase;
use tongban_domain::reference::ReferenceData;
use tongban_proto::common::v1 as common;
use tongban_proto::events::v1::{CaseSummary, Event, event::Body};
use tongban_runtime::convert::{datetime, delivery_from_pb};
use tongban_step::{Actor, Trace};
use uuid::Uuid;

use crate::api::{IssueInput, issue_in};
use crate::error::CertificateError;
use crate::{SERVICE, State};

/// The consumer of the case events this service needs.
pub(crate) fn consumer_spec() -> ConsumerSpec {
    use tongban_proto::events::v1 as ev;
    ConsumerSpec::for_events(
        "certificate-case-events",
        &[
            Body::CaseRouted(ev::CaseRouted::default()),
            Body::CaseDecided(ev::CaseDecided::default()),
        ],
    )
}

/// The holder as intake sealed it.
#[derive(Deserialize)]
struct SealedHolder {
    name: String,
    id_number: String,
}

/// The consumer of `case.routed` and `case.decided`.
pub struct CaseEvents {
    state: State,
}

impl CaseEvents {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

fn case_id_of(event: &Event) -> Result<Uuid, HandleError> {
    Uuid::parse_str(&event.case_id)
        .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))
}

impl EventHandler for CaseEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        match &event.body {
            Some(Body::CaseRouted(routed)) => match &routed.summary {
                Some(summary) => remember(conn, event, summary).await,
                None => Err(HandleError::Reject(
                    "case.routed without a summary".to_owned(),
                )),
            },
            Some(Body::CaseDecided(decided)) if decided.decision() == common::Decision::Approve => {
                self.issue_result(conn, event).await
            }
            _ => Ok(()),
        }
    }
}

/// Keeps what the result certificate needs, if the case may get one.
async fn remember(
    conn: &mut PgConnection,
    event: &Event,
    summary: &CaseSummary,
) -> Result<(), HandleError> {
    let case_id = case_id_of(event)?;
    let method = summary
        .delivery
        .as_ref()
        .and_then(|d| delivery_from_pb(d.method()));
    // Only e-certificate delivery can lead to a result certificate; keep nothing else.
    if method != Some(DeliveryMethod::ECertificate) || summary.sealed_applicant.is_empty() {
        return Ok(());
    }
    let at = datetime(event.occurred_at.as_ref()).unwrap_or_else(Utc::now);
    sqlx::query(
        "INSERT INTO case_holders (case_id, case_number, matter_code, matter_name,
             responsible_office_id, delivery_method, holder_sealed, routed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(case_id)
    .bind(&event.case_number)
    .bind(&summary.matter_code)
    .bind(&summary.matter_name)
    .bind(&summary.responsible_office_id)
    .bind(DeliveryMethod::ECertificate.as_str())
    .bind(&summary.sealed_applicant)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The result certificate a case awaits: its responsible office and the type its matter
/// produces for e-certificate delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AwaitedResult {
    responsible_office_id: String,
    result_type: String,
}

impl AwaitedResult {
    /// The case as the issuing-rights rule sees it.
    pub(crate) fn as_case(&self) -> ResultCase<'_> {
        ResultCase {
            responsible_office_id: &self.responsible_office_id,
            result_type: &self.result_type,
        }
    }
}

/// The result certificate `case_id` awaits, if this service followed its routing and its matter
/// issues one for the applicant's chosen delivery.
///
/// # Errors
/// The database failed.
pub(crate) async fn awaited(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    case_id: Uuid,
) -> Result<Option<AwaitedResult>, CertificateError> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT responsible_office_id, matter_code, delivery_method
         FROM case_holders WHERE case_id = $1",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await?;
    let Some((responsible_office_id, matter_code, method)) = row else {
        return Ok(None);
    };
    let Ok(method) = method.parse::<DeliveryMethod>() else {
        return Ok(None);
    };
    Ok(reference
        .catalog
        .matter(&matter_code)
        .and_then(|m| m.result_certificate_for(method))
        .map(|result_type| AwaitedResult {
            responsible_office_id,
            result_type: result_type.to_owned(),
        }))
}

/// A row of `case_holders`.
#[derive(sqlx::FromRow)]
struct HolderRow {
    case_number: String,
    matter_code: String,
    matter_name: String,
    responsible_office_id: String,
    delivery_method: String,
    holder_sealed: Vec<u8>,
}

impl CaseEvents {
    async fn issue_result(
        &self,
        conn: &mut PgConnection,
        event: &Event,
    ) -> Result<(), HandleError> {
        let case_id = case_id_of(event)?;
        let row: Option<HolderRow> = sqlx::query_as(
            "SELECT case_number, matter_code, matter_name, responsible_office_id,
                    delivery_method, holder_sealed
             FROM case_holders WHERE case_id = $1",
        )
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
        // Not an e-certificate case (or routed before this service listened): nothing to issue.
        let Some(row) = row else {
            return Ok(());
        };
        let reference = &self.state.reference;
        // Decoded at the row boundary: a stored method that is none is an error, not "no
        // certificate".
        let method: DeliveryMethod = row.delivery_method.parse().map_err(|_| {
            HandleError::Reject(format!(
                "stored delivery method {:?} does not decode",
                row.delivery_method
            ))
        })?;
        let Some(type_code) = reference
            .catalog
            .matter(&row.matter_code)
            .and_then(|m| m.result_certificate_for(method))
            .map(str::to_owned)
        else {
            return Ok(());
        };
        let already: Option<(String,)> =
            sqlx::query_as("SELECT identifier FROM certificates WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&mut *conn)
                .await?;
        if already.is_some() {
            return Ok(());
        }
        let Some(office) = reference
            .directory
            .office(&row.responsible_office_id)
            .cloned()
        else {
            return Err(HandleError::Reject(format!(
                "responsible office {} is not in the directory",
                row.responsible_office_id
            )));
        };
        let holder: SealedHolder = self
            .state
            .pii
            .open(&row.holder_sealed, case_id.as_bytes())
            .ok()
            .and_then(|json| serde_json::from_str(&json).ok())
            .ok_or_else(|| HandleError::Reject("sealed holder does not open".to_owned()))?;
        let holder_id = HolderId::parse(&holder.id_number)
            .map_err(|_| HandleError::Reject("sealed holder ID number is malformed".to_owned()))?;
        let type_code = TypeCode::parse(&type_code)
            .map_err(|_| HandleError::Reject(format!("bad result type code {type_code}")))?;
        // The directory's issuing rights hold for the service's own issuing too.
        reference
            .issuers
            .check(&office, type_code.as_str(), None)
            .map_err(|refusal| HandleError::Reject(refusal.to_string()))?;
        let now: DateTime<Utc> = self.state.clock.now();
        let fields =
            issuance::result_fields(type_code.as_str(), &row.case_number, &row.matter_name);
        let input = IssueInput {
            valid_until: now + issuance::result_validity(type_code.as_str()),
            type_code,
            holder_name: holder.name,
            holder_id,
            valid_from: now,
            fields,
            case_id: Some(case_id),
        };
        let issued = match issue_in(&self.state, conn, &office, input, now).await {
            Ok(issued) => issued,
            Err(CertificateError::Certificate(err)) => {
                return Err(HandleError::Reject(format!(
                    "result certificate refused: {err}"
                )));
            }
            Err(err) => return Err(HandleError::Retry(Box::new(err))),
        };
        // This service issues on its own, for the responsible office (the audit entry's).
        let actor = Actor::person(SERVICE, "service", &office.id);
        tongban_step::apply(
            conn,
            SERVICE,
            &actor,
            now,
            &Trace::current(),
            issued.effects,
        )
        .await?;
        tracing::info!(case_number = %row.case_number, "result certificate issued");
        Ok(())
    }
}
