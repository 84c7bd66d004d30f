//! 寄递 in the status read model: each waybill's latest state from `logistics.tracked`. The
//! logistics service publishes only moves forward, so the last event applied is the state;
//! an event older than the one stored is still ignored (redelivery after a newer one).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_bus::{ConsumerSpec, EventHandler, HandleError};
use tongban_domain::i18n::Lang;
use tongban_domain::logistics::WaybillStatus;
use tongban_proto::events::v1::{Event, event::Body};
use tongban_proto::hotline::v1::WaybillStatusView;
use tongban_runtime::convert::{datetime, timestamp};
use uuid::Uuid;

/// The durable consumer of `logistics.>`.
pub(crate) fn consumer_spec() -> ConsumerSpec {
    ConsumerSpec {
        durable: "hotline-logistics".to_owned(),
        filter: "logistics.>".to_owned(),
    }
}

/// Consumer of `logistics.tracked`.
pub struct Waybills;

impl EventHandler for Waybills {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        let Some(Body::LogisticsTracked(tracked)) = &event.body else {
            return Ok(());
        };
        let case_id = Uuid::parse_str(&event.case_id)
            .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
        let at = datetime(tracked.occurred_at.as_ref())
            .or_else(|| datetime(event.occurred_at.as_ref()))
            .unwrap_or_else(Utc::now);
        sqlx::query(
            "INSERT INTO waybills (tracking_number, case_id, purpose, status, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tracking_number) DO UPDATE
               SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
             WHERE waybills.updated_at <= EXCLUDED.updated_at",
        )
        .bind(&tracked.tracking_number)
        .bind(case_id)
        .bind(&tracked.purpose)
        .bind(&tracked.status)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// The waybills of a case, oldest first.
pub(crate) async fn list(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<WaybillStatusView>, sqlx::Error> {
    let rows: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT tracking_number, purpose, status, updated_at FROM waybills
         WHERE case_id = $1 ORDER BY tracking_number",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(tracking_number, purpose, status, updated_at)| {
            let known = WaybillStatus::from_code(&status);
            WaybillStatusView {
                tracking_number,
                purpose,
                status_label: known.map_or_else(String::new, |s| s.label(Lang::Zh).to_owned()),
                status_label_en: known.map_or_else(String::new, |s| s.label(Lang::En).to_owned()),
                status,
                updated_at: Some(timestamp(updated_at)),
            }
        })
        .collect())
}
