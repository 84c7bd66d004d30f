//! 纸质原件到达前不得准予: under 异地代收代办 the office may review on the scans, but may approve
//! only once the paper originals the matter requires have been delivered to it — to the case's
//! responsible office, each material expected (a waybill delivered to another office, or
//! carrying other materials, clears nothing). What is expected is set from `case.routed`; each
//! delivered originals waybill is kept from `logistics.tracked`; the two may arrive in either
//! order, and after each the codes still outstanding are worked out again by the domain
//! ([`originals_outstanding`]).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_bus::{ConsumerSpec, EventHandler, HandleError};
use tongban_domain::logistics::{
    OriginalsDelivery, WaybillStatus, originals_outstanding, originals_to_ship,
};
use tongban_domain::reference::ReferenceData;
use tongban_proto::events::v1::{CaseSummary, Event, event::Body};
use tongban_runtime::convert::{datetime, form_from_pb, mode_from_pb};
use uuid::Uuid;

/// The durable consumer of `logistics.tracked`.
pub(crate) fn consumer_spec() -> ConsumerSpec {
    ConsumerSpec::for_events(
        "review-logistics",
        &[Body::LogisticsTracked(
            tongban_proto::events::v1::LogisticsTracked::default(),
        )],
    )
}

/// Records, for a routed case, the originals that must arrive (nothing when none must).
pub(crate) async fn expect(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    case_id: Uuid,
    summary: &CaseSummary,
) -> Result<(), sqlx::Error> {
    let (Some(matter), Some(mode)) = (
        reference.catalog.matter(&summary.matter_code),
        mode_from_pb(summary.mode()),
    ) else {
        return Ok(());
    };
    let codes = originals_to_ship(
        matter,
        mode,
        summary
            .materials
            .iter()
            .filter_map(|m| form_from_pb(m.form()).map(|f| (m.material_code.as_str(), f))),
    );
    if codes.is_empty() {
        return Ok(());
    }
    // Deliveries seen first count, when they reached this office.
    let office = summary.responsible_office_id.as_str();
    let remaining = originals_outstanding(&codes, office, &deliveries(conn, case_id).await?);
    sqlx::query(
        "INSERT INTO originals (case_id, expected, office_id, material_codes, outstanding)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (case_id) DO UPDATE
           SET expected = EXCLUDED.expected, office_id = EXCLUDED.office_id,
               material_codes = EXCLUDED.material_codes, outstanding = EXCLUDED.outstanding",
    )
    .bind(case_id)
    .bind(serde_json::json!(codes))
    .bind(office)
    .bind(serde_json::json!(remaining))
    .bind(!remaining.is_empty())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The codes of a JSON array of strings (anything else holds none).
fn codes_of(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The delivered originals waybills of a case.
async fn deliveries(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<OriginalsDelivery>, sqlx::Error> {
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT recipient_office_id, material_codes FROM original_deliveries WHERE case_id = $1",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(recipient_office_id, codes)| OriginalsDelivery {
            recipient_office_id,
            material_codes: codes_of(&codes),
        })
        .collect())
}

/// The materials still on their way to the office, if any.
pub(crate) async fn outstanding(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let row: Option<(serde_json::Value,)> =
        sqlx::query_as("SELECT material_codes FROM originals WHERE case_id = $1 AND outstanding")
            .bind(case_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(codes,)| codes_of(&codes)))
}

/// Consumer of `logistics.tracked`: a delivered originals waybill is kept, and the codes still
/// outstanding are worked out again (a delivery to another office, or of other materials,
/// clears nothing).
pub struct Deliveries;

impl EventHandler for Deliveries {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        let Some(Body::LogisticsTracked(tracked)) = &event.body else {
            return Ok(());
        };
        if tracked.purpose != "originals"
            || WaybillStatus::from_code(&tracked.status) != Some(WaybillStatus::Delivered)
        {
            return Ok(());
        }
        let case_id = Uuid::parse_str(&event.case_id)
            .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
        let at: DateTime<Utc> = datetime(tracked.occurred_at.as_ref())
            .or_else(|| datetime(event.occurred_at.as_ref()))
            .unwrap_or_else(Utc::now);
        sqlx::query(
            "INSERT INTO original_deliveries
               (tracking_number, case_id, recipient_office_id, material_codes, delivered_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tracking_number) DO NOTHING",
        )
        .bind(&tracked.tracking_number)
        .bind(case_id)
        .bind(&tracked.recipient_office_id)
        .bind(serde_json::json!(tracked.material_codes))
        .bind(at)
        .execute(&mut *conn)
        .await?;
        // Not routed yet: `expect` works it out when the case arrives.
        let expected: Option<(Option<serde_json::Value>, Option<String>)> = sqlx::query_as(
            "SELECT expected, office_id FROM originals WHERE case_id = $1 FOR UPDATE",
        )
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
        // A case cleared before deliveries were kept has nothing expected any more.
        let Some((Some(expected), office)) = expected else {
            return Ok(());
        };
        let office = match office {
            Some(office) => Some(office),
            None => crate::repo::lead(&mut *conn, case_id)
                .await
                .map_err(|err| HandleError::Retry(Box::new(err)))?
                .map(|row| row.office_id),
        };
        let Some(office) = office else {
            return Ok(());
        };
        let remaining = originals_outstanding(
            &codes_of(&expected),
            &office,
            &deliveries(conn, case_id).await?,
        );
        sqlx::query(
            "UPDATE originals SET material_codes = $2, outstanding = $3,
                 tracking_number = $4, delivered_at = $5
             WHERE case_id = $1",
        )
        .bind(case_id)
        .bind(serde_json::json!(remaining))
        .bind(!remaining.is_empty())
        .bind(&tracked.tracking_number)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        if tracked.recipient_office_id == office {
            tracing::info!(
                case_number = %event.case_number,
                outstanding = remaining.len(),
                "paper originals delivered to the office"
            );
        } else {
            tracing::warn!(
                case_number = %event.case_number,
                "paper originals delivered to another office; they do not count here"
            );
        }
        Ok(())
    }
}
