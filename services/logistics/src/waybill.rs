//! The two things that change waybills, shared by the consumers, the API and the simulated
//! carrier: making a waybill and applying a carrier report. Each writes its rows inside the
//! caller's step and returns the step's effects (events, audit entries) for the caller to apply
//! through the one executor; what a report does is decided by [`Waybill::track`].

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json;
use tongban_domain::clock::SuspensionKind;
use tongban_domain::logistics::{
    Tariff, TrackingNumber, TransitClock, Waybill, WaybillPurpose, WaybillStatus, carried_by,
    transit_reason,
};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_runtime::convert::timestamp;
use tongban_step::{CaseRef, Effects};
use uuid::Uuid;

use crate::error::LogisticsError;
use crate::repo::{self, CaseRow, CustodyRow, EventRow, Party, WaybillRow};

/// A waybill to make.
pub struct NewWaybill<'a> {
    pub case: &'a CaseRow,
    pub purpose: WaybillPurpose,
    pub sender: Party,
    pub recipient: Party,
    pub recipient_address_sealed: Option<Vec<u8>>,
    pub material_codes: Vec<String>,
    /// `routed:<case>` / `decided:<case>` for waybills made from events (made once).
    pub source: Option<String>,
    pub carrier: &'a str,
    /// Who makes it (stored as `created_by`).
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// The case a row of the `cases` table is, with its stored trace.
pub fn case_ref(case: &CaseRow) -> CaseRef {
    CaseRef::new(case.case_id, &case.case_number, case.traceparent.as_deref())
}

/// Tries to draw a tracking number no waybill has before giving up (each try collides with
/// one chance in 10¹⁰ per stored waybill).
const DRAWS: usize = 8;

/// A new random tracking number ([`TrackingNumber::from_random`]) from the operating system's
/// CSPRNG.
fn draw() -> TrackingNumber {
    // A v4 UUID is 122 bits from the OS's CSPRNG; its last 8 bytes hold 62 of them (two
    // variant bits are fixed), uniform modulo 10¹⁰ to within 10⁻⁸.
    let bytes = Uuid::new_v4().into_bytes();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes[8..]);
    TrackingNumber::from_random(first)
}

/// Makes a waybill with its postage from the tariff, under a random tracking number; its
/// effects are the `waybill.create` audit entry and `logistics.tracked` (created). `None` when
/// a waybill of the same source exists already.
///
/// # Errors
/// A failing statement; [`LogisticsError::NotStored`] when [`DRAWS`] random numbers in a row
/// were all taken (cannot happen short of a broken random source).
pub async fn create(
    conn: &mut PgConnection,
    tariff: &Tariff,
    new: NewWaybill<'_>,
) -> Result<Option<(WaybillRow, Effects)>, LogisticsError> {
    let number = draw();
    let fee_fen = tariff.fee_fen(&new.sender.division, &new.recipient.division);
    let row = WaybillRow {
        tracking_number: number.as_str().to_owned(),
        case_id: new.case.case_id,
        case_number: new.case.case_number.clone(),
        purpose: new.purpose,
        status: WaybillStatus::Created,
        furthest: WaybillStatus::Created,
        sender: Json(new.sender),
        recipient: Json(new.recipient),
        recipient_address_sealed: new.recipient_address_sealed,
        material_codes: Json(new.material_codes),
        fee_fen,
        carrier: new.carrier.to_owned(),
        clock_suspended: false,
        source: new.source,
        created_by: new.actor.to_owned(),
        created_at: new.now,
        updated_at: new.now,
    };
    let mut row = row;
    let mut stored = false;
    for _ in 0..DRAWS {
        if repo::insert_waybill(conn, &row).await? {
            stored = true;
            break;
        }
        if let Some(source) = &row.source
            && repo::source_exists(conn, source).await?
        {
            return Ok(None);
        }
        // The number was taken: draw again.
        row.tracking_number = draw().as_str().to_owned();
    }
    if !stored {
        return Err(LogisticsError::NotStored);
    }
    let mut effects = Effects::new();
    effects
        .audit(
            "waybill.create",
            "waybill",
            row.tracking_number.clone(),
            None,
            Some(json!({
                "case_id": row.case_id, "purpose": row.purpose.code(), "fee_fen": row.fee_fen,
                "sender": row.sender.office_id, "recipient": row.recipient.office_id,
                "materials": row.material_codes.0,
            })),
        )
        .emit(&case_ref(new.case), tracked(&row, "", new.now));
    tracing::info!(
        case_number = %row.case_number,
        tracking_number = %row.tracking_number,
        purpose = row.purpose.code(),
        fee_fen = row.fee_fen,
        "waybill created"
    );
    Ok(Some((row, effects)))
}

/// A carrier's report.
#[derive(Debug, Clone)]
pub struct CarrierReport {
    pub carrier_event_id: String,
    pub status: WaybillStatus,
    pub location: String,
    pub occurred_at: DateTime<Utc>,
}

/// What a carrier report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The waybill moved.
    Moved,
    /// Recorded as history only (a point already passed, or the waybill is final).
    Recorded,
    /// This carrier event id was seen before: nothing changed.
    Duplicate,
}

/// A carrier report applied: the waybill as it now stands and, when it moved, the case it
/// belongs to (whose trace the effects join) and the effects to apply.
pub struct Recorded {
    pub row: WaybillRow,
    pub outcome: Outcome,
    pub case: Option<CaseRef>,
    pub effects: Effects,
}

/// Applies a report of `carrier` to waybill `number`: recorded once per carrier event id; what
/// it changes ([`Waybill::track`]: the move, custody on pick-up and delivery, the case clock
/// stopped while paper originals travel) is stored here and returned as effects. A carrier
/// reports only on the waybills given to it ([`carried_by`]).
///
/// # Errors
/// [`LogisticsError::WaybillNotFound`], also for another carrier's waybill; a stored waybill
/// that does not decode; a failing statement.
pub async fn record(
    conn: &mut PgConnection,
    number: &TrackingNumber,
    report: &CarrierReport,
    carrier: &str,
    courier: &str,
    now: DateTime<Utc>,
) -> Result<Recorded, LogisticsError> {
    let mut row = repo::waybill(conn, number.as_str(), true)
        .await?
        .filter(|row| carried_by(&row.carrier, carrier))
        .ok_or(LogisticsError::WaybillNotFound)?;
    let event = EventRow {
        carrier_event_id: report.carrier_event_id.clone(),
        status: report.status,
        location: report.location.clone(),
        occurred_at: report.occurred_at,
    };
    let unchanged = |row, outcome| Recorded {
        row,
        outcome,
        case: None,
        effects: Effects::new(),
    };
    if !repo::insert_event(conn, number.as_str(), &event, now).await? {
        return Ok(unchanged(row, Outcome::Duplicate));
    }
    let at = report.occurred_at;
    let Some(moved) = waybill_of(&row).track(report.status, courier, at) else {
        tracing::info!(
            tracking_number = %row.tracking_number,
            status = report.status.code(),
            current = row.status.code(),
            "carrier event kept as history; the waybill does not move back"
        );
        return Ok(unchanged(row, Outcome::Recorded));
    };
    repo::mark_applied(conn, &report.carrier_event_id).await?;
    let before = json!({"status": row.status.code()});
    for hand_over in moved.custody {
        let record = CustodyRow {
            material_code: hand_over.material_code,
            from_party: hand_over.from_party,
            to_party: hand_over.to_party,
            at: hand_over.at,
        };
        repo::add_custody(conn, &row, &record).await?;
    }
    row.status = moved.waybill.tracking.status;
    row.furthest = moved.waybill.tracking.furthest;
    row.clock_suspended = moved.waybill.clock_suspended;
    row.updated_at = now;
    repo::update_tracking(conn, &row).await?;
    let mut effects = Effects::new();
    effects.audit(
        "waybill.track",
        "waybill",
        row.tracking_number.clone(),
        Some(before),
        Some(json!({"status": row.status.code(), "carrier_event_id": report.carrier_event_id})),
    );
    let case = repo::case(conn, row.case_id).await?.map(|c| case_ref(&c));
    if let Some(case) = &case {
        effects.emit(case, tracked(&row, &report.location, at));
        if let Some(change) = moved.clock {
            effects.emit(case, clock_body(&row, change));
        }
    }
    tracing::info!(
        tracking_number = %row.tracking_number,
        status = row.status.code(),
        "waybill moved"
    );
    Ok(Recorded {
        row,
        outcome: Outcome::Moved,
        case,
        effects,
    })
}

/// The waybill as its step rule sees it.
fn waybill_of(row: &WaybillRow) -> Waybill {
    Waybill {
        purpose: row.purpose,
        tracking: row.tracking(),
        clock_suspended: row.clock_suspended,
        material_codes: row.material_codes.0.clone(),
        sender: row.sender.name.clone(),
        recipient: row.recipient.name.clone(),
    }
}

/// The case-clock event of a transit change of `row`.
fn clock_body(row: &WaybillRow, change: TransitClock) -> Body {
    let office_id = row.recipient.office_id.clone();
    let kind = SuspensionKind::Transit.code().to_owned();
    match change {
        TransitClock::Suspend => Body::ClockSuspended(ev::ClockSuspended {
            office_id,
            kind,
            reason: transit_reason(&row.tracking_number),
        }),
        TransitClock::Resume => Body::ClockResumed(ev::ClockResumed { office_id, kind }),
    }
}

/// The `logistics.tracked` event of `row`'s move to its current status at `location`.
fn tracked(row: &WaybillRow, location: &str, at: DateTime<Utc>) -> Body {
    Body::LogisticsTracked(ev::LogisticsTracked {
        tracking_number: row.tracking_number.clone(),
        status: row.status.code().to_owned(),
        location: location.to_owned(),
        purpose: row.purpose.code().to_owned(),
        sender_office_id: row.sender.office_id.clone(),
        recipient_office_id: row.recipient.office_id.clone(),
        material_codes: row.material_codes.0.clone(),
        occurred_at: Some(timestamp(at)),
        fee_fen: row.fee_fen,
    })
}

/// The case id as the 16 bytes that seal its personal data.
pub fn aad(case_id: Uuid) -> [u8; 16] {
    *case_id.as_bytes()
}
