//! The masked view a hotline operator reads to the caller.
//!
//! The caller proves who they are with the last four phone digits or the last six ID characters,
//! so the view must show neither: it holds no phone or ID field, and every free text in it (the
//! decision's reason, the timeline, each part's reason) passes through
//! [`rules::mask_for_caller`], which leaves only the first three characters of any phone or ID
//! number typed into it. The masking is done here, as the view is built, so text stored before
//! it (masked the usual way, `138****5678`) is covered too.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_domain::bundle_view::{MemberFacts, Unheard, bundle_view};
use tongban_domain::case::CaseStatus;
use tongban_domain::reference::ReferenceData;
use tongban_proto::common::v1 as pb;
use tongban_proto::hotline::v1::CaseStatusView;
use tongban_runtime::convert::{mode_to_pb, scope_to_pb, status_to_pb, timeline_entry, timestamp};
use tongban_runtime::views::{Audience, BundleHeader, bundle_summary_pb, decision_pb};

use crate::repo::{self, BundleMemberRow, StatusRow};
use crate::rules;

/// The stage in plain language, as read out on the phone (Chinese, English).
pub fn stage(status: CaseStatus) -> (&'static str, &'static str) {
    match status {
        CaseStatus::Submitted => ("已提交", "Submitted"),
        CaseStatus::Accepted => ("已受理", "Accepted"),
        CaseStatus::Routed => ("已转属地审查", "Sent to the responsible office for review"),
        CaseStatus::Claimed => ("审查中", "Under review"),
        CaseStatus::SupplementRequested => ("待补正材料", "Waiting for more material"),
        CaseStatus::Supplemented => ("已补正，审查中", "Material handed in; under review again"),
        CaseStatus::Approved => ("准予办理", "Approved"),
        CaseStatus::Denied => ("不予办理", "Denied"),
        CaseStatus::Completed => ("已办结", "Completed"),
        CaseStatus::Withdrawn => ("已撤回", "Withdrawn"),
    }
}

/// Whether a case is past its due moment while still open (neither decided nor withdrawn).
pub fn is_overdue(status: CaseStatus, due_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    due_at.is_some_and(|due| now >= due) && !status.is_decided() && !status.is_terminal()
}

/// The directory name of office `id` (the id itself when unknown).
pub fn office_name(reference: &ReferenceData, id: &str) -> String {
    reference
        .directory
        .office(id)
        .map_or_else(|| id.to_owned(), |o| o.name.clone())
}

/// 一件事: the bundle of `row`, with every member case the read model knows, in the one bundle
/// view every audience shares. The caller proved to be the applicant of one member, and every
/// member is the same applicant's, so each member's number and status is shown (case ids are
/// not).
async fn bundle_summary(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &StatusRow,
) -> Result<Option<pb::BundleSummary>, sqlx::Error> {
    let Some(bundle_id) = row.bundle_id.as_deref() else {
        return Ok(None);
    };
    let known: Vec<MemberFacts> = repo::bundle_members(conn, bundle_id)
        .await?
        .into_iter()
        .map(BundleMemberRow::facts)
        .collect();
    let code = row.bundle_code.clone().unwrap_or_default();
    let definition = reference.bundles.get(&code);
    let view = bundle_view(&reference.catalog, definition, &known, Unheard::Omitted);
    let name = row
        .bundle_name
        .clone()
        .or_else(|| definition.map(|b| b.name.clone()))
        .unwrap_or_default();
    Ok(Some(bundle_summary_pb(
        BundleHeader {
            bundle_id,
            bundle_number: row.bundle_number.as_deref().unwrap_or_default(),
            bundle_code: &code,
            name: &name,
        },
        &view,
        Audience::Hotline,
    )))
}

/// The masked status view of a case at `now`.
pub async fn status_view(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &StatusRow,
    now: DateTime<Utc>,
) -> Result<CaseStatusView, sqlx::Error> {
    let timeline = repo::timeline(conn, row.case_id).await?;
    let result_certificate = repo::result_certificate(conn, row.case_id).await?;
    let status = row.status();
    let (stage_zh, stage_en) = stage(status);
    // The time limit is met once the case is decided (or withdrawn): nothing is left to count.
    let open = !(status.is_decided() || status.is_terminal());
    let remaining = row
        .due_at
        .filter(|_| open)
        .and_then(|due| reference.calendar.remaining_working_days(now, due).ok())
        .unwrap_or(0);
    Ok(CaseStatusView {
        case_number: row.case_number.clone(),
        matter_code: row.matter_code.clone(),
        matter_name: row.matter_name.clone(),
        // Unspecified only when the events named none (stored as the empty code).
        scope: row
            .scope
            .0
            .map_or(pb::Scope::Unspecified, scope_to_pb)
            .into(),
        mode: row.mode.0.map_or(pb::Mode::Unspecified, mode_to_pb).into(),
        window_office_id: row.window_office_id.clone(),
        window_office_name: office_name(reference, &row.window_office_id),
        responsible_office_id: row.responsible_office_id.clone(),
        responsible_office_name: office_name(reference, &row.responsible_office_id),
        status: status_to_pb(status).into(),
        stage: stage_zh.to_owned(),
        stage_en: stage_en.to_owned(),
        accepted_at: Some(timestamp(row.accepted_at)),
        due_at: row.due_at.map(timestamp),
        remaining_working_days: remaining,
        overdue: is_overdue(status, row.due_at, now),
        decision: decision_pb(row.decision()).into(),
        decision_reason: rules::mask_for_caller(row.decision_reason.as_deref().unwrap_or_default()),
        timeline: timeline
            .iter()
            .map(|line| {
                let mut entry = timeline_entry(line)?;
                entry.description = rules::mask_for_caller(&entry.description);
                entry.description_en = rules::mask_for_caller(&entry.description_en);
                Ok(entry)
            })
            .collect::<Result<_, sqlx::Error>>()?,
        applicant_name_masked: row.applicant_name_masked.clone(),
        result_certificate_identifier: result_certificate.unwrap_or_default(),
        waybills: crate::waybills::list(conn, row.case_id).await?,
        parts: row
            .parts
            .iter()
            .map(|part| {
                let mut part = tongban_runtime::parts::to_pb(part);
                part.reason = rules::mask_for_caller(&part.reason);
                part
            })
            .collect(),
        bundle: bundle_summary(conn, reference, row).await?,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn every_status_has_a_stage() {
        for status in CaseStatus::ALL {
            let (zh, en) = stage(status);
            assert!(!zh.is_empty() && !en.is_empty());
        }
        assert_eq!(stage(CaseStatus::Supplemented).0, "已补正，审查中");
    }

    #[test]
    fn overdue_only_while_open() {
        let now = Utc::now();
        let past = Some(now - TimeDelta::hours(1));
        let future = Some(now + TimeDelta::hours(1));
        assert!(is_overdue(CaseStatus::Claimed, past, now));
        assert!(!is_overdue(CaseStatus::Claimed, future, now));
        assert!(!is_overdue(CaseStatus::SupplementRequested, None, now));
        for closed in [
            CaseStatus::Approved,
            CaseStatus::Denied,
            CaseStatus::Completed,
            CaseStatus::Withdrawn,
        ] {
            assert!(!is_overdue(closed, past, now));
        }
    }
}
