//! The `logistics` schema: cases, waybills, carrier events and custody records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, Row as _};
use tongban_domain::catalog::{DeliveryMethod, Mode};
use tongban_domain::logistics::{Tracking, WaybillPurpose, WaybillStatus};
use tongban_store::{decoded, decoded_optional};
use uuid::Uuid;

/// What logistics keeps of a routed case. Its mode and delivery method decode into the
/// domain's types (stored empty when the routing named none).
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub matter_code: String,
    pub mode: Option<Mode>,
    pub window_office_id: String,
    pub responsible_office_id: String,
    pub home_division: String,
    pub applicant_name_masked: String,
    pub phone_masked: String,
    pub delivery_method: Option<DeliveryMethod>,
    /// Sealed (SM4-GCM, associated data = case id); never shown.
    pub address_sealed: Option<Vec<u8>>,
    pub traceparent: Option<String>,
    pub routed_at: DateTime<Utc>,
}

impl<'r> FromRow<'r, PgRow> for CaseRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            case_id: row.try_get("case_id")?,
            case_number: row.try_get("case_number")?,
            matter_code: row.try_get("matter_code")?,
            mode: decoded_optional(row, "mode")?,
            window_office_id: row.try_get("window_office_id")?,
            responsible_office_id: row.try_get("responsible_office_id")?,
            home_division: row.try_get("home_division")?,
            applicant_name_masked: row.try_get("applicant_name_masked")?,
            phone_masked: row.try_get("phone_masked")?,
            delivery_method: decoded_optional(row, "delivery_method")?,
            address_sealed: row.try_get("address_sealed")?,
            traceparent: row.try_get("traceparent")?,
            routed_at: row.try_get("routed_at")?,
        })
    }
}

/// Sender or recipient of a waybill as stored: no unmasked personal data.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Party {
    /// Office id; empty for the applicant.
    pub office_id: String,
    pub name: String,
    pub division: String,
    /// The office's address, or the applicant's masked.
    pub address: String,
    /// Masked phone of the applicant; empty for offices.
    pub phone: String,
}

/// A waybill as stored; its status, furthest point and purpose decode into the domain's types
/// (a stored code the domain does not know fails the read, never turns into a default).
#[derive(Debug, Clone)]
pub struct WaybillRow {
    pub tracking_number: String,
    pub case_id: Uuid,
    pub case_number: String,
    pub purpose: WaybillPurpose,
    pub status: WaybillStatus,
    pub furthest: WaybillStatus,
    pub sender: Json<Party>,
    pub recipient: Json<Party>,
    pub recipient_address_sealed: Option<Vec<u8>>,
    pub material_codes: Json<Vec<String>>,
    pub fee_fen: i64,
    pub carrier: String,
    pub clock_suspended: bool,
    pub source: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WaybillRow {
    /// Where the waybill stands.
    pub fn tracking(&self) -> Tracking {
        Tracking {
            status: self.status,
            furthest: self.furthest,
        }
    }
}

/// A stored waybill that does not decode (a status or purpose the domain does not know).
#[derive(Debug, thiserror::Error)]
#[error("waybill {tracking_number} does not decode")]
pub struct Undecodable {
    /// Its tracking number (or empty when even that is unreadable).
    pub tracking_number: String,
    /// Why.
    #[source]
    pub source: sqlx::Error,
}

/// A carrier event as stored.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub carrier_event_id: String,
    pub status: WaybillStatus,
    pub location: String,
    pub occurred_at: DateTime<Utc>,
}

impl<'r> FromRow<'r, PgRow> for WaybillRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            tracking_number: row.try_get("tracking_number")?,
            case_id: row.try_get("case_id")?,
            case_number: row.try_get("case_number")?,
            purpose: decoded(row, "purpose")?,
            status: decoded(row, "status")?,
            furthest: decoded(row, "furthest")?,
            sender: row.try_get("sender")?,
            recipient: row.try_get("recipient")?,
            recipient_address_sealed: row.try_get("recipient_address_sealed")?,
            material_codes: row.try_get("material_codes")?,
            fee_fen: row.try_get("fee_fen")?,
            carrier: row.try_get("carrier")?,
            clock_suspended: row.try_get("clock_suspended")?,
            source: row.try_get("source")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

impl<'r> FromRow<'r, PgRow> for EventRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            carrier_event_id: row.try_get("carrier_event_id")?,
            status: decoded(row, "status")?,
            location: row.try_get("location")?,
            occurred_at: row.try_get("occurred_at")?,
        })
    }
}

/// A custody record as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustodyRow {
    pub material_code: String,
    pub from_party: String,
    pub to_party: String,
    pub at: DateTime<Utc>,
}

/// Stores a routed case once; `false` when it was already there.
pub async fn insert_case(conn: &mut PgConnection, row: &CaseRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO cases (case_id, case_number, matter_code, mode, window_office_id,
            responsible_office_id, home_division, applicant_name_masked, phone_masked,
            delivery_method, address_sealed, traceparent, routed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(row.case_id)
    .bind(&row.case_number)
    .bind(&row.matter_code)
    .bind(row.mode.map(Mode::as_str).unwrap_or_default())
    .bind(&row.window_office_id)
    .bind(&row.responsible_office_id)
    .bind(&row.home_division)
    .bind(&row.applicant_name_masked)
    .bind(&row.phone_masked)
    .bind(
        row.delivery_method
            .map(DeliveryMethod::as_str)
            .unwrap_or_default(),
    )
    .bind(&row.address_sealed)
    .bind(&row.traceparent)
    .bind(row.routed_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A case logistics knows.
pub async fn case(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<CaseRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM cases WHERE case_id = $1")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await
}

/// Stores a new waybill; `false` when one with the same `source` or the same tracking number
/// exists already ([`source_exists`] tells which).
pub async fn insert_waybill(conn: &mut PgConnection, w: &WaybillRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO waybills (tracking_number, case_id, case_number, purpose, status, furthest,
            sender, recipient, recipient_address_sealed, material_codes, fee_fen, carrier,
            clock_suspended, source, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT DO NOTHING",
    )
    .bind(&w.tracking_number)
    .bind(w.case_id)
    .bind(&w.case_number)
    .bind(w.purpose.code())
    .bind(w.status.code())
    .bind(w.furthest.code())
    .bind(&w.sender)
    .bind(&w.recipient)
    .bind(&w.recipient_address_sealed)
    .bind(&w.material_codes)
    .bind(w.fee_fen)
    .bind(&w.carrier)
    .bind(w.clock_suspended)
    .bind(&w.source)
    .bind(&w.created_by)
    .bind(w.created_at)
    .bind(w.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether a waybill made from `source` exists.
pub async fn source_exists(conn: &mut PgConnection, source: &str) -> Result<bool, sqlx::Error> {
    let (exists,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM waybills WHERE source = $1)")
            .bind(source)
            .fetch_one(&mut *conn)
            .await?;
    Ok(exists)
}

/// A waybill, locked for update when `lock`.
pub async fn waybill(
    conn: &mut PgConnection,
    tracking_number: &str,
    lock: bool,
) -> Result<Option<WaybillRow>, sqlx::Error> {
    let sql = if lock {
        "SELECT * FROM waybills WHERE tracking_number = $1 FOR UPDATE"
    } else {
        "SELECT * FROM waybills WHERE tracking_number = $1"
    };
    sqlx::query_as(sql)
        .bind(tracking_number)
        .fetch_optional(&mut *conn)
        .await
}

/// The waybills of a case, oldest first.
pub async fn waybills_of(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<WaybillRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM waybills WHERE case_id = $1 ORDER BY created_at, tracking_number")
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await
}

/// Waybills of `carrier` still on their way (not delivered, returned or held by an exception),
/// each decoded on its own: one that does not decode is returned as [`Undecodable`] so that the
/// caller can skip it without holding up the others.
pub async fn moving(
    conn: &mut PgConnection,
    carrier: &str,
) -> Result<Vec<Result<WaybillRow, Undecodable>>, sqlx::Error> {
    let rows: Vec<PgRow> = sqlx::query(
        "SELECT * FROM waybills WHERE carrier = $1
           AND status NOT IN ('delivered', 'returned', 'exception')
         ORDER BY created_at LIMIT 500",
    )
    .bind(carrier)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            WaybillRow::from_row(row).map_err(|source| Undecodable {
                tracking_number: row.try_get("tracking_number").unwrap_or_default(),
                source,
            })
        })
        .collect())
}

/// Saves a waybill's tracking state.
pub async fn update_tracking(conn: &mut PgConnection, w: &WaybillRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE waybills SET status = $2, furthest = $3, clock_suspended = $4, updated_at = $5
         WHERE tracking_number = $1",
    )
    .bind(&w.tracking_number)
    .bind(w.status.code())
    .bind(w.furthest.code())
    .bind(w.clock_suspended)
    .bind(w.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a carrier event once; `false` when its id was seen before (a duplicate).
pub async fn insert_event(
    conn: &mut PgConnection,
    tracking_number: &str,
    event: &EventRow,
    received_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO tracking_events (carrier_event_id, tracking_number, status, location,
            occurred_at, received_at, applied)
         VALUES ($1, $2, $3, $4, $5, $6, false)
         ON CONFLICT (carrier_event_id) DO NOTHING",
    )
    .bind(&event.carrier_event_id)
    .bind(tracking_number)
    .bind(event.status.code())
    .bind(&event.location)
    .bind(event.occurred_at)
    .bind(received_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a carrier event as the one that moved its waybill.
pub async fn mark_applied(
    conn: &mut PgConnection,
    carrier_event_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tracking_events SET applied = true WHERE carrier_event_id = $1")
        .bind(carrier_event_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The carrier events of a waybill in the order they happened.
pub async fn events_of(
    conn: &mut PgConnection,
    tracking_number: &str,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT carrier_event_id, status, location, occurred_at FROM tracking_events
         WHERE tracking_number = $1 ORDER BY occurred_at, received_at",
    )
    .bind(tracking_number)
    .fetch_all(&mut *conn)
    .await
}

/// Adds a custody record (物料流转备案).
pub async fn add_custody(
    conn: &mut PgConnection,
    w: &WaybillRow,
    record: &CustodyRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO custody (tracking_number, case_id, material_code, from_party, to_party, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&w.tracking_number)
    .bind(w.case_id)
    .bind(&record.material_code)
    .bind(&record.from_party)
    .bind(&record.to_party)
    .bind(record.at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The custody records of a waybill, in order.
pub async fn custody_of(
    conn: &mut PgConnection,
    tracking_number: &str,
) -> Result<Vec<CustodyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT material_code, from_party, to_party, at FROM custody
         WHERE tracking_number = $1 ORDER BY at, id",
    )
    .bind(tracking_number)
    .fetch_all(&mut *conn)
    .await
}
