//! 纸质原件到达前不得准予: under 异地代收代办 the office may review on the scans, but may approve
//! only once the paper originals the matter requires have been delivered to it. The flag is set
//! from `case.routed` and cleared from `logistics.tracked`; the two may arrive in either order.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_bus::{ConsumerSpec, EventHandler, HandleError};
use tongban_domain::logistics::{WaybillStatus, originals_to_ship};
use tongban_domain::reference::ReferenceData;
use tongban_proto::events::v1::{CaseSummary, Event, event::Body};
use tongban_runtime::convert::{datetime, form_from_pb, mode_from_pb};
use uuid::Uuid;

/// The durable consumer of `logistics.>`.
pub(crate) fn consumer_spec() -> ConsumerSpec {
    ConsumerSpec {
        durable: "review-logistics".to_owned(),
        filter: "logistics.>".to_owned(),
    }
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
    // A delivery seen first already cleared it: keep that.
    sqlx::query(
        "INSERT INTO originals (case_id, material_codes, outstanding) VALUES ($1, $2, true)
         ON CONFLICT (case_id) DO UPDATE SET material_codes = EXCLUDED.material_codes",
    )
    .bind(case_id)
    .bind(serde_json::json!(codes))
    .execute(&mut *conn)
    .await?;
    Ok(())
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
    Ok(row.map(|(codes,)| {
        codes
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }))
}

/// Consumer of `logistics.tracked`: a delivered originals waybill clears the flag.
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
            "INSERT INTO originals (case_id, outstanding, tracking_number, delivered_at)
             VALUES ($1, false, $2, $3)
             ON CONFLICT (case_id) DO UPDATE
               SET outstanding = false, tracking_number = EXCLUDED.tracking_number,
                   delivered_at = EXCLUDED.delivered_at",
        )
        .bind(case_id)
        .bind(&tracked.tracking_number)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        tracing::info!(case_number = %event.case_number, "paper originals delivered to the office");
        Ok(())
    }
}
