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

use crate::stored::Stored;

/// The durable consumer of `logistics.tracked`.
pub(crate) fn consumer_spec() -> ConsumerSpec {
    ConsumerSpec::for_events(
        "hotline-logistics",
        &[Body::LogisticsTracked(
            tongban_proto::events::v1::LogisticsTracked::default(),
        )],
    )
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
        // Only a status the logistics service knows is kept: the read side decodes every row.
        if WaybillStatus::from_code(&tracked.status).is_none() {
            return Err(HandleError::Reject(format!(
                "unknown waybill status {:?}",
                tracked.status
            )));
        }
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

/// A waybill status as stored: its [`WaybillStatus::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Code(WaybillStatus);

impl std::str::FromStr for Code {
    type Err = UnknownWaybillStatus;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        WaybillStatus::from_code(code)
            .map(Code)
            .ok_or_else(|| UnknownWaybillStatus(code.to_owned()))
    }
}

/// A stored waybill status that is none of the known codes.
#[derive(Debug, thiserror::Error)]
#[error("unknown waybill status {0:?}")]
pub(crate) struct UnknownWaybillStatus(String);

/// The waybills of a case, oldest first.
///
/// # Errors
/// The database fails, or a stored status does not decode.
pub(crate) async fn list(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<WaybillStatusView>, sqlx::Error> {
    let rows: Vec<(String, String, Stored<Code>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT tracking_number, purpose, status, updated_at FROM waybills
         WHERE case_id = $1 ORDER BY tracking_number",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(tracking_number, purpose, Stored(Code(status)), updated_at)| WaybillStatusView {
                tracking_number,
                purpose,
                status_label: status.label(Lang::Zh).to_owned(),
                status_label_en: status.label(Lang::En).to_owned(),
                status: status.code().to_owned(),
                updated_at: Some(timestamp(updated_at)),
            },
        )
        .collect())
}
