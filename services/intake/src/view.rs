//! Rows to the public API's messages, and the events this service publishes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use tongban_domain::bundle_view::{MemberFacts, Unheard, bundle_view};
use tongban_domain::case::{CaseEvent, CaseStatus};
use tongban_domain::materials::Form;
use tongban_domain::reference::ReferenceData;
use tongban_domain::timeline::{TimelineContext, describe};
use tongban_domain::validate::PersonName;
use tongban_proto::common::v1 as pb;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::intake::v1 as api;
use tongban_runtime::convert::{datetime, status_to_pb, timeline_entry, timestamp};
use tongban_runtime::views::{Audience, BundleHeader, bundle_summary_pb, decision_pb};
use tongban_step::{Actor, CaseRef, Effects};
use tongban_store::timeline::TimelineLine;

use crate::repo::{self, BundleId, BundleRow, CaseRow, RepoError};
use crate::validation::MaterialIn;
use crate::{SERVICE, parts};

/// Materials as API messages and event bodies: an e-certificate by its verified identifier and
/// type, never by its token (it carries the holder's full ID number).
pub fn materials_pb(materials: &[MaterialIn]) -> Vec<pb::PresentedMaterial> {
    materials
        .iter()
        .map(|m| pb::PresentedMaterial {
            material_code: m.code.clone(),
            form: match m.form {
                Form::Electronic => pb::MaterialForm::Electronic,
                Form::Paper => pb::MaterialForm::Paper,
                Form::Certificate => pb::MaterialForm::Certificate,
            }
            .into(),
            certificate_token: String::new(),
            sha256: m.sha256.clone(),
            pages: m.pages,
            certificate_identifier: m.certificate_identifier.clone(),
            certificate_type: m.certificate_type.clone(),
        })
        .collect()
}

fn scope_pb(row: &CaseRow) -> pb::Scope {
    tongban_runtime::convert::scope_to_pb(row.scope)
}

fn mode_pb(row: &CaseRow) -> pb::Mode {
    tongban_runtime::convert::mode_to_pb(row.mode)
}

fn delivery_pb(row: &CaseRow) -> pb::DeliveryMethod {
    tongban_runtime::convert::delivery_to_pb(row.delivery_method)
}

/// The masked applicant of a row.
pub fn applicant_pb(row: &CaseRow) -> pb::MaskedApplicant {
    pb::MaskedApplicant {
        name: row.applicant_name.clone(),
        id_number_masked: row.id_number_masked.clone(),
        phone_masked: row.phone_masked.clone(),
    }
}

/// The applicant as events carry it: the name masked too (王小明 → 王*明), like the ID number and
/// the phone. Events go to every consumer and stay in the stream; a service that needs the full
/// name (the certificate issued to the holder) opens the summary's `sealed_applicant`.
pub fn event_applicant_pb(row: &CaseRow) -> pb::MaskedApplicant {
    pb::MaskedApplicant {
        name: PersonName::parse(&row.applicant_name)
            .map_or_else(|_| "*".to_owned(), |name| name.masked()),
        ..applicant_pb(row)
    }
}

/// The window's view of a case, with its bundle (一件事) when it is a member of one.
pub async fn case_view(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &CaseRow,
    now: DateTime<Utc>,
) -> Result<api::Case, RepoError> {
    let mut cases = case_views(conn, reference, std::slice::from_ref(row), now).await?;
    Ok(cases.remove(0))
}

/// The window's views of `rows`, each with its bundle (一件事) when it is a member of one: the
/// bundles and their members are read once for all of them.
pub async fn case_views(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    rows: &[CaseRow],
    now: DateTime<Utc>,
) -> Result<Vec<api::Case>, RepoError> {
    let summaries = bundle_summaries(conn, reference, rows).await?;
    let mut cases = Vec::with_capacity(rows.len());
    for row in rows {
        let mut case = case_pb(conn, reference, row, now).await?;
        case.bundle = row.bundle_id.and_then(|id| summaries.get(&id).cloned());
        cases.push(case);
    }
    Ok(cases)
}

/// The summaries of the bundles `rows` belong to, by bundle id: two queries for all of them.
async fn bundle_summaries(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    rows: &[CaseRow],
) -> Result<HashMap<BundleId, pb::BundleSummary>, RepoError> {
    let mut ids: Vec<BundleId> = rows.iter().filter_map(|r| r.bundle_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    ids.sort_unstable();
    ids.dedup();
    let bundles = repo::bundles_by_ids(conn, &ids).await?;
    let members = repo::members_of_bundles(conn, &ids).await?;
    Ok(summaries_by_bundle(reference, &bundles, &members))
}

/// Each bundle's summary, by bundle id, from `members` holding each bundle's members together
/// and in order ([`repo::members_of_bundles`]).
fn summaries_by_bundle(
    reference: &ReferenceData,
    bundles: &[BundleRow],
    members: &[CaseRow],
) -> HashMap<BundleId, pb::BundleSummary> {
    members
        .chunk_by(|a, b| a.bundle_id == b.bundle_id)
        .filter_map(|members| {
            let bundle = bundles
                .iter()
                .find(|b| Some(b.bundle_id) == members[0].bundle_id)?;
            Some((bundle.bundle_id, bundle_summary(reference, bundle, members)))
        })
        .collect()
}

/// A bundle with its members, as the window sees it beside one of its cases: the one bundle
/// view every audience shares, with every member's id, number and office.
pub fn bundle_summary(
    reference: &ReferenceData,
    bundle: &BundleRow,
    members: &[CaseRow],
) -> pb::BundleSummary {
    let known: Vec<MemberFacts> = members.iter().map(CaseRow::facts).collect();
    let view = bundle_view(
        &reference.catalog,
        reference.bundles.get(&bundle.bundle_code),
        &known,
        // The window opened every member case itself: none is unheard of.
        Unheard::Omitted,
    );
    let id = bundle.bundle_id.to_string();
    bundle_summary_pb(
        BundleHeader {
            bundle_id: &id,
            bundle_number: &bundle.bundle_number,
            bundle_code: &bundle.bundle_code,
            name: &bundle.bundle_name,
        },
        &view,
        Audience::Window,
    )
}

/// The window's view of a case (without its bundle: see [`case_view`]).
pub async fn case_pb(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &CaseRow,
    now: DateTime<Utc>,
) -> Result<api::Case, RepoError> {
    let timeline = repo::timeline(conn, row.case_id).await?;
    let result_certificate = crate::results::identifier(conn, row.case_id).await?;
    // The time limit is met once the case is decided (or withdrawn): nothing is left to count.
    let open = !(row.status.is_decided() || row.status.is_terminal());
    let remaining = row
        .due_at
        .filter(|_| open)
        .and_then(|due| reference.calendar.remaining_working_days(now, due).ok())
        .unwrap_or(0);
    Ok(api::Case {
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        matter_code: row.matter_code.clone(),
        matter_name: row.matter_name.clone(),
        mode: mode_pb(row).into(),
        scope: scope_pb(row).into(),
        status: status_to_pb(row.status).into(),
        window_office_id: row.window_office_id.clone(),
        responsible_office_id: row.responsible_office_id.clone(),
        agreement_id: row.agreement_id.clone().unwrap_or_default(),
        applicant: Some(event_applicant_pb(row)),
        home_division: row.home_division.clone(),
        materials: materials_pb(&row.materials),
        delivery: Some(pb::Delivery {
            method: delivery_pb(row).into(),
            address: String::new(),
        }),
        accepted_at: row.accepted_at.map(timestamp),
        due_at: row.due_at.map(timestamp),
        remaining_working_days: remaining,
        decision: decision_pb(row.decision).into(),
        decision_reason: row.decision_reason.clone().unwrap_or_default(),
        supplement_items: row.supplement_items.clone(),
        supplement_reason: row.supplement_reason.clone().unwrap_or_default(),
        timeline: timeline
            .iter()
            .map(timeline_entry)
            .collect::<Result<_, _>>()?,
        traceparent: row.traceparent.clone(),
        result_certificate_identifier: result_certificate.unwrap_or_default(),
        // Filled by GetCase only: the token holds the holder's ID number.
        result_certificate_token: String::new(),
        parts: parts::to_pb(&row.parts),
        destination_division: row.destination_division.clone().unwrap_or_default(),
        // Filled by case_view.
        bundle: None,
    })
}

/// What every consumer needs to know about a case (with its bundle when it is a member of one).
pub fn summary(
    row: &CaseRow,
    promised_limit_days: u32,
    bundle: Option<&BundleRow>,
) -> ev::CaseSummary {
    ev::CaseSummary {
        matter_code: row.matter_code.clone(),
        matter_name: row.matter_name.clone(),
        mode: mode_pb(row).into(),
        scope: scope_pb(row).into(),
        window_office_id: row.window_office_id.clone(),
        responsible_office_id: row.responsible_office_id.clone(),
        agreement_id: row.agreement_id.clone().unwrap_or_default(),
        applicant: Some(event_applicant_pb(row)),
        home_division: row.home_division.clone(),
        materials: materials_pb(&row.materials),
        delivery: Some(pb::Delivery {
            method: delivery_pb(row).into(),
            address: String::new(),
        }),
        accepted_at: row.accepted_at.map(timestamp),
        due_at: row.due_at.map(timestamp),
        promised_limit_days,
        sealed_applicant: Vec::new(),
        sealed_address: Vec::new(),
        parts: parts::to_pb(&row.parts),
        destination_division: row.destination_division.clone().unwrap_or_default(),
        bundle_id: bundle.map(|b| b.bundle_id.to_string()).unwrap_or_default(),
        bundle_number: bundle.map(|b| b.bundle_number.clone()).unwrap_or_default(),
        bundle_code: bundle.map(|b| b.bundle_code.clone()).unwrap_or_default(),
        bundle_name: bundle.map(|b| b.bundle_name.clone()).unwrap_or_default(),
    }
}

/// One step of a case to record.
pub struct Step<'a> {
    /// What happened.
    pub event: CaseEvent,
    /// The status after it.
    pub status: CaseStatus,
    /// Office that acted.
    pub office_id: &'a str,
    /// Items, reasons: shown in the timeline.
    pub detail: &'a str,
    /// When.
    pub at: DateTime<Utc>,
    /// The event body to publish.
    pub body: Body,
}

/// The case as the step executor knows it (its id and number; the events' envelope).
pub fn case_ref(row: &CaseRow) -> CaseRef {
    CaseRef::new(row.case_id, &row.case_number, Some(&row.traceparent))
}

/// Records one step of a case: its timeline line, and its event among the step's `effects`
/// (published by the step executor); the caller updates the row.
pub async fn record_step(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &CaseRow,
    step: Step<'_>,
    effects: &mut Effects,
) -> Result<(), sqlx::Error> {
    let office_name = reference
        .directory
        .office(step.office_id)
        .map_or(step.office_id, |o| o.name.as_str());
    let text = describe(
        step.event,
        TimelineContext {
            office_name,
            detail: step.detail,
        },
    );
    repo::add_timeline(
        conn,
        row.case_id,
        &TimelineLine {
            at: step.at,
            status: step.status.as_str().to_owned(),
            description: text.zh,
            description_en: text.en,
            office_id: step.office_id.to_owned(),
        },
    )
    .await?;
    effects.emit(&case_ref(row), step.body);
    Ok(())
}

/// The audit entry of a step on a case (审计: the case as it stands after it, no personal
/// data).
pub fn audit(effects: &mut Effects, action: &str, row: &CaseRow) {
    effects.audit_case(
        action,
        &case_ref(row),
        None,
        Some(json!({
            "case_number": row.case_number,
            "status": row.status.as_str(),
            "responsible_office_id": row.responsible_office_id,
            "due_at": row.due_at,
        })),
    );
}

/// This service acting on its own at the window of `row` (a consumer's step), as audited.
pub fn service_at(row: &CaseRow) -> Actor {
    Actor {
        user: SERVICE.to_owned(),
        role: "service".to_owned(),
        office_id: row.window_office_id.clone(),
    }
}

/// The time of an event (its `occurred_at`, or now when absent).
pub fn occurred_at(event: &ev::Event) -> DateTime<Utc> {
    datetime(event.occurred_at.as_ref()).unwrap_or_else(Utc::now)
}

/// Adds the timeline line of a part's step (多地联办), in the case's current `status`, at the
/// part's office.
pub async fn add_part_line(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &CaseRow,
    all: &[parts::KeptPart],
    part: &parts::KeptPart,
    status: CaseStatus,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let text = parts::line(reference, all, part);
    repo::add_timeline(
        conn,
        row.case_id,
        &TimelineLine {
            at,
            status: status.as_str().to_owned(),
            description: text.zh,
            description_en: text.en,
            office_id: part.office_id.clone(),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn bundle(id: BundleId, number: &str) -> BundleRow {
        BundleRow {
            bundle_id: id,
            bundle_number: number.to_owned(),
            bundle_code: "YJS-CS".to_owned(),
            bundle_name: "出生一件事".to_owned(),
            window_office_id: "140922-zwfw".to_owned(),
            submitted_at: DateTime::UNIX_EPOCH,
            request_digest: String::new(),
        }
    }

    fn member(bundle_id: BundleId, number: &str, matter: &str, status: CaseStatus) -> CaseRow {
        CaseRow {
            case_id: Uuid::now_v7(),
            case_number: number.to_owned(),
            matter_code: matter.to_owned(),
            matter_name: format!("{matter} name"),
            mode: tongban_domain::catalog::Mode::Proxy,
            scope: tongban_domain::catalog::Scope::Local,
            status,
            window_office_id: "140922-zwfw".to_owned(),
            responsible_office_id: "140922-office".to_owned(),
            agreement_id: None,
            applicant_name: "张*".to_owned(),
            id_number_masked: String::new(),
            phone_masked: String::new(),
            home_division: "140922".to_owned(),
            materials: Vec::new(),
            delivery_method: tongban_domain::catalog::DeliveryMethod::WindowPickup,
            submitted_at: DateTime::UNIX_EPOCH,
            accepted_at: None,
            budget_days: 5,
            due_at: None,
            decision: None,
            decision_reason: None,
            supplement_items: Vec::new(),
            supplement_reason: None,
            traceparent: String::new(),
            tracestate: None,
            parts: Vec::new(),
            destination_division: None,
            bundle_id: Some(bundle_id),
            waits_for: Vec::new(),
        }
    }

    #[test]
    fn each_bundle_is_summarised_with_its_own_members_in_order() {
        let (a, b, unknown) = (BundleId::new(), BundleId::new(), BundleId::new());
        let bundles = [bundle(b, "B-1"), bundle(a, "A-1")];
        // As members_of_bundles reads them: each bundle's members together, in order.
        let members = [
            member(a, "A-c1", "M1", CaseStatus::Accepted),
            member(a, "A-c2", "M2", CaseStatus::Submitted),
            member(b, "B-c1", "M3", CaseStatus::Withdrawn),
            member(unknown, "X-c1", "M4", CaseStatus::Accepted),
        ];
        let reference = ReferenceData::load(
            &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy"),
        )
        .unwrap();
        let summaries = summaries_by_bundle(&reference, &bundles, &members);
        assert_eq!(summaries.len(), 2, "no summary for a bundle not read");
        let numbers = |id: &BundleId| -> Vec<String> {
            summaries[id]
                .members
                .iter()
                .map(|m| m.case_number.clone())
                .collect()
        };
        assert_eq!(summaries[&a].bundle_number, "A-1");
        assert_eq!(numbers(&a), ["A-c1", "A-c2"]);
        assert_eq!(summaries[&a].status(), pb::BundleStatus::InProgress);
        assert_eq!(summaries[&b].bundle_number, "B-1");
        assert_eq!(numbers(&b), ["B-c1"]);
        assert_eq!(summaries[&b].status(), pb::BundleStatus::Withdrawn);
        assert_ne!(summaries[&a].status(), summaries[&b].status());
    }
}
