//! The two things that change waybills, shared by the consumers, the API and the simulated
//! carrier: making a waybill and applying a carrier event. Each runs inside the caller's
//! transaction and publishes through the outbox.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json;
use tongban_domain::clock::SuspensionKind;
use tongban_domain::logistics::{Tariff, Tracking, TrackingNumber, WaybillStatus};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_runtime::convert::timestamp;
use tongban_step::{Actor, CaseRef, Effects, Trace};
use uuid::Uuid;

use crate::SERVICE;
use crate::repo::{self, CaseRow, CustodyRow, EventRow, Party, WaybillRow};

/// 寄递用途.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// 纸质原件: window → responsible office.
    Originals,
    /// 办理结果: responsible office → applicant.
    Result,
    /// Anything else (re-sending, returns).
    Other,
}

impl Purpose {
    /// Stable code (`originals`, `result`, `other`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Originals => "originals",
            Self::Result => "result",
            Self::Other => "other",
        }
    }

    /// The purpose with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Originals, Self::Result, Self::Other]
            .into_iter()
            .find(|p| p.code() == code)
    }
}

/// A waybill to make.
pub struct NewWaybill<'a> {
    pub case: &'a CaseRow,
    pub purpose: Purpose,
    pub sender: Party,
    pub recipient: Party,
    pub recipient_address_sealed: Option<Vec<u8>>,
    pub material_codes: Vec<String>,
    /// `routed:<case>` / `decided:<case>` for waybills made from events (made once).
    pub source: Option<String>,
    pub carrier: &'a str,
    pub actor: &'a str,
    pub role: &'a str,
    pub office_id: &'a str,
    pub now: DateTime<Utc>,
}

/// Makes a waybill with its postage from the tariff and publishes `logistics.tracked`
/// (created). `None` when a waybill of the same source exists already.
pub async fn create(
    conn: &mut PgConnection,
    tariff: &Tariff,
    new: NewWaybill<'_>,
) -> Result<Option<WaybillRow>, WaybillError> {
    let serial = repo::next_serial(conn).await?;
    let number = TrackingNumber::from_serial(u64::try_from(serial).unwrap_or_default());
    let fee_fen = tariff.fee_fen(&new.sender.division, &new.recipient.division);
    let created = WaybillStatus::Created.code().to_owned();
    let row = WaybillRow {
        tracking_number: number.as_str().to_owned(),
        case_id: new.case.case_id,
        case_number: new.case.case_number.clone(),
        purpose: new.purpose.code().to_owned(),
        status: created.clone(),
        furthest: created,
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
    if !repo::insert_waybill(conn, &row).await? {
        return Ok(None);
    }
    let case = CaseRef::new(
        new.case.case_id,
        &new.case.case_number,
        new.case.traceparent.as_deref(),
    );
    let mut effects = Effects::new();
    effects
        .audit(
            "waybill.create",
            "waybill",
            row.tracking_number.clone(),
            None,
            Some(json!({
                "case_id": row.case_id, "purpose": row.purpose, "fee_fen": row.fee_fen,
                "sender": row.sender.office_id, "recipient": row.recipient.office_id,
                "materials": row.material_codes.0,
            })),
        )
        .emit(&case, tracked(&row, "", new.now));
    tongban_step::apply(
        conn,
        SERVICE,
        &Actor::person(new.actor, new.role, new.office_id),
        new.now,
        &Trace::of_case("waybill.create", &case),
        effects,
    )
    .await?;
    tracing::info!(
        case_number = %row.case_number,
        tracking_number = %row.tracking_number,
        purpose = %row.purpose,
        fee_fen = row.fee_fen,
        "waybill created"
    );
    Ok(Some(row))
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

/// Why a waybill change failed.
#[derive(Debug, thiserror::Error)]
pub enum WaybillError {
    /// No such waybill.
    #[error("no such waybill")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The outbox or audit failed.
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
}

/// Applies a carrier report to waybill `number`: recorded once per carrier event id; moves the
/// waybill only forward (see [`Tracking::apply`]); records custody on pick-up and delivery;
/// stops the case clock while paper originals travel and starts it again on delivery.
pub async fn record(
    conn: &mut PgConnection,
    number: &TrackingNumber,
    report: &CarrierReport,
    courier: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(WaybillRow, Outcome), WaybillError> {
    let mut row = repo::waybill(conn, number.as_str(), true)
        .await?
        .ok_or(WaybillError::NotFound)?;
    let event = EventRow {
        carrier_event_id: report.carrier_event_id.clone(),
        status: report.status.code().to_owned(),
        location: report.location.clone(),
        occurred_at: report.occurred_at,
    };
    if !repo::insert_event(conn, number.as_str(), &event, now).await? {
        return Ok((row, Outcome::Duplicate));
    }
    let current = Tracking {
        status: WaybillStatus::from_code(&row.status).unwrap_or(WaybillStatus::Created),
        furthest: WaybillStatus::from_code(&row.furthest).unwrap_or(WaybillStatus::Created),
    };
    let Some(next) = current.apply(report.status) else {
        tracing::info!(
            tracking_number = %row.tracking_number,
            status = report.status.code(),
            current = %row.status,
            "carrier event kept as history; the waybill does not move back"
        );
        return Ok((row, Outcome::Recorded));
    };
    repo::mark_applied(conn, &report.carrier_event_id).await?;
    let before = json!({"status": row.status});
    let at = report.occurred_at;
    let picked_up = |t: Tracking| t.furthest != WaybillStatus::Created;
    if !picked_up(current) && picked_up(next) {
        for code in &row.material_codes.0 {
            let record = CustodyRow {
                material_code: code.clone(),
                from_party: row.sender.name.clone(),
                to_party: courier.to_owned(),
                at,
            };
            repo::add_custody(conn, &row, &record).await?;
        }
    }
    if next.status == WaybillStatus::Delivered {
        for code in &row.material_codes.0 {
            let record = CustodyRow {
                material_code: code.clone(),
                from_party: courier.to_owned(),
                to_party: row.recipient.name.clone(),
                at,
            };
            repo::add_custody(conn, &row, &record).await?;
        }
    }
    let case = repo::case(conn, row.case_id).await?;
    let originals = row.purpose == Purpose::Originals.code();
    let mut clock = None;
    if originals && !row.clock_suspended && picked_up(next) && !next.status.is_final() {
        row.clock_suspended = true;
        clock = Some(Body::ClockSuspended(ev::ClockSuspended {
            office_id: row.recipient.office_id.clone(),
            kind: SuspensionKind::Transit.code().to_owned(),
            reason: format!("纸质原件寄递在途（运单 {}）", row.tracking_number),
        }));
    } else if row.clock_suspended && next.status.is_final() {
        row.clock_suspended = false;
        clock = Some(Body::ClockResumed(ev::ClockResumed {
            office_id: row.recipient.office_id.clone(),
            kind: SuspensionKind::Transit.code().to_owned(),
        }));
    }
    row.status = next.status.code().to_owned();
    row.furthest = next.furthest.code().to_owned();
    row.updated_at = now;
    repo::update_tracking(conn, &row).await?;
    let mut effects = Effects::new();
    effects.audit(
        "waybill.track",
        "waybill",
        row.tracking_number.clone(),
        Some(before),
        Some(json!({"status": row.status, "carrier_event_id": report.carrier_event_id})),
    );
    let trace = match &case {
        Some(case) => {
            let case_ref =
                CaseRef::new(case.case_id, &case.case_number, case.traceparent.as_deref());
            effects.emit(&case_ref, tracked(&row, &report.location, at));
            if let Some(body) = clock {
                effects.emit(&case_ref, body);
            }
            Trace::of_case("waybill.track", &case_ref)
        }
        None => Trace::current(),
    };
    tongban_step::apply(
        conn,
        SERVICE,
        &Actor::person(actor, "carrier", ""),
        at,
        &trace,
        effects,
    )
    .await?;
    tracing::info!(
        tracking_number = %row.tracking_number,
        status = %row.status,
        "waybill moved"
    );
    Ok((row, Outcome::Moved))
}

/// The `logistics.tracked` event of `row`'s move to its current status at `location`.
fn tracked(row: &WaybillRow, location: &str, at: DateTime<Utc>) -> Body {
    Body::LogisticsTracked(ev::LogisticsTracked {
        tracking_number: row.tracking_number.clone(),
        status: row.status.clone(),
        location: location.to_owned(),
        purpose: row.purpose.clone(),
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
