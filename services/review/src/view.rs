//! What an office sees of an assignment. A 多地联办 part shows its own part only (its review
//! points, its decision, the parts it waits for by name) with the shared materials and the
//! status of the case as a whole — never another part's office, decision or reason. A 一件事
//! member shows its bundle's derived status and the members' matters and statuses; case id,
//! number and responsible office only of its own case.

use std::collections::BTreeSet;

use sqlx::PgConnection;
use tongban_domain::bundle::{BundleStatus, member_status};
use tongban_domain::case::{CaseStatus, Decision};
use tongban_domain::catalog::JointPart;
use tongban_domain::joint::{self, PartView};
use tongban_domain::reference::ReferenceData;
use tongban_domain::review::ChecklistEntry;
use tongban_proto::common::v1 as pb;
use tongban_proto::review::v1::Assignment;
use tongban_runtime::convert::{
    bundle_status_to_pb, materials_from_json, mode_to_pb, scope_to_pb, status_to_pb, timestamp,
};
use uuid::Uuid;

use crate::repo::{self, AssignmentRow, MemberRow, strings};

/// The views of `rows`, with what they need of other rows (a part's sibling parts, a member's
/// bundle) loaded in two queries at most.
pub(crate) async fn assignments(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    rows: &[AssignmentRow],
) -> Result<Vec<Assignment>, sqlx::Error> {
    let joint: Vec<Uuid> = distinct(rows.iter().filter(|r| r.is_joint()).map(|r| r.case_id));
    let parts = if joint.is_empty() {
        Vec::new()
    } else {
        repo::parts_of_cases(conn, &joint).await?
    };
    let bundles: Vec<Uuid> = distinct(rows.iter().filter_map(|r| r.bundle_id));
    let members = if bundles.is_empty() {
        Vec::new()
    } else {
        repo::by_bundles(conn, &bundles).await?
    };
    Ok(rows
        .iter()
        .map(|row| assignment_pb(row, &parts, &members, reference))
        .collect())
}

/// The view of one row.
pub(crate) async fn assignment(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &AssignmentRow,
) -> Result<Assignment, sqlx::Error> {
    let mut views = assignments(conn, reference, std::slice::from_ref(row)).await?;
    Ok(views.pop().unwrap_or_default())
}

fn distinct(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    ids.collect::<BTreeSet<_>>().into_iter().collect()
}

/// The public view of an assignment, given the rows of the 多地联办 parts and 一件事 members it
/// may refer to (rows of other cases are ignored).
fn assignment_pb(
    row: &AssignmentRow,
    parts: &[AssignmentRow],
    members: &[MemberRow],
    reference: &ReferenceData,
) -> Assignment {
    let text = |k: &str| {
        row.applicant
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let status = row.status();
    Assignment {
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        office_id: row.office_id.clone(),
        matter_code: row.matter_code.clone(),
        matter_name: row.matter_name.clone(),
        scope: row
            .scope
            .parse()
            .map(scope_to_pb)
            .unwrap_or_default()
            .into(),
        mode: row.mode.parse().map(mode_to_pb).unwrap_or_default().into(),
        state: row.inbox_state().into(),
        window_office_id: row.window_office_id.clone(),
        applicant: Some(pb::MaskedApplicant {
            name: text("name"),
            id_number_masked: text("id_number_masked"),
            phone_masked: text("phone_masked"),
        }),
        home_division: row.home_division.clone(),
        materials: materials_from_json(&row.materials),
        routed_at: Some(timestamp(row.routed_at)),
        due_at: row.due_at.map(timestamp),
        claimed_by: row.claimed_by.clone().unwrap_or_default(),
        decision: decision_pb(row.decision.as_deref()).into(),
        decision_reason: row.decision_reason.clone().unwrap_or_default(),
        checklist: serde_json::from_value::<Vec<ChecklistEntry>>(row.checklist.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|c| pb::ChecklistItem {
                review_point_code: c.review_point_code,
                passed: c.passed,
                note: c.note,
            })
            .collect(),
        supplement_items: serde_json::from_value(row.supplement_items.clone()).unwrap_or_default(),
        supplement_reason: row.supplement_reason.clone().unwrap_or_default(),
        case_status: status_to_pb(status).into(),
        decided_at: row.decided_at.map(timestamp),
        part_code: row.part_code.clone(),
        part_name: row.part_name.clone(),
        waiting_for: waiting_for(row, parts),
        bundle: bundle_pb(row, members, reference),
        review_point_codes: strings(&row.part_review_points),
    }
}

/// The stored decision name as a proto decision.
pub(crate) fn decision_pb(decision: Option<&str>) -> pb::Decision {
    match decision {
        Some("approve") => pb::Decision::Approve,
        Some("deny") => pb::Decision::Deny,
        _ => pb::Decision::Unspecified,
    }
}

/// 多地联办: names of the parts a waiting part waits for (nothing unless it waits).
fn waiting_for(row: &AssignmentRow, parts: &[AssignmentRow]) -> Vec<String> {
    if row.part_state() != Some(joint::PartState::Waiting) {
        return Vec::new();
    }
    let siblings: Vec<(JointPart, joint::PartState)> = parts
        .iter()
        .filter(|p| p.case_id == row.case_id)
        .filter_map(|p| p.part_state().map(|s| (p.joint_part(), s)))
        .collect();
    let views: Vec<PartView<'_>> = siblings
        .iter()
        .map(|(part, state)| PartView {
            part,
            state: *state,
        })
        .collect();
    joint::awaiting(&views, &row.joint_part())
}

/// 一件事: the bundle of a member case, its status derived from every member's, members in the
/// bundle's order. A member review has not seen routed yet counts as accepted.
fn bundle_pb(
    row: &AssignmentRow,
    members: &[MemberRow],
    reference: &ReferenceData,
) -> Option<pb::BundleSummary> {
    let bundle_id = row.bundle_id?;
    let rows: Vec<&MemberRow> = members
        .iter()
        .filter(|m| m.bundle_id == bundle_id)
        .collect();
    let code = row.bundle_code.clone().unwrap_or_default();
    let mut listed: Vec<(pb::BundleMember, CaseStatus)> = Vec::new();
    let mut seen: BTreeSet<Uuid> = BTreeSet::new();
    let order = reference
        .bundles
        .get(&code)
        .map(|b| b.matters.clone())
        .unwrap_or_default();
    for matter in &order {
        match rows.iter().find(|m| &m.matter_code == matter) {
            Some(m) => {
                seen.insert(m.case_id);
                listed.push(member_pb(row, m.case_id, &rows));
            }
            None => listed.push((
                pb::BundleMember {
                    matter_code: matter.clone(),
                    matter_name: reference
                        .catalog
                        .matter(matter)
                        .map(|m| m.name.clone())
                        .unwrap_or_default(),
                    status: status_to_pb(CaseStatus::Accepted).into(),
                    ..Default::default()
                },
                CaseStatus::Accepted,
            )),
        }
    }
    // Members the bundle's definition no longer lists (the catalog changed) still count.
    for case_id in rows.iter().map(|m| m.case_id) {
        if seen.insert(case_id) {
            listed.push(member_pb(row, case_id, &rows));
        }
    }
    let status = BundleStatus::derive(listed.iter().map(|(_, s)| *s));
    Some(pb::BundleSummary {
        bundle_id: bundle_id.to_string(),
        bundle_number: row.bundle_number.clone().unwrap_or_default(),
        bundle_code: code,
        name: row.bundle_name.clone().unwrap_or_default(),
        status: bundle_status_to_pb(status).into(),
        members: listed.into_iter().map(|(m, _)| m).collect(),
    })
}

/// One member case as the viewer of an assignment may see it (case id, number and responsible
/// office only for the assignment's own case), and the status it counts with in the bundle's.
fn member_pb(
    viewer: &AssignmentRow,
    case_id: Uuid,
    rows: &[&MemberRow],
) -> (pb::BundleMember, CaseStatus) {
    let case_rows: Vec<&&MemberRow> = rows.iter().filter(|m| m.case_id == case_id).collect();
    let lead = case_rows
        .iter()
        .min_by_key(|m| m.part_seq)
        .copied()
        .copied();
    let own = case_id == viewer.case_id;
    let Some(lead) = lead else {
        return (pb::BundleMember::default(), CaseStatus::Accepted);
    };
    let status = lead.status();
    // A denial the window completed (办结) still counts as a denial in the bundle's status (any
    // part's denial, for a 多地联办 member).
    let denied = case_rows
        .iter()
        .any(|m| m.decision.as_deref() == Some(Decision::Deny.as_str()));
    let counts_as = member_status(status, denied.then_some(Decision::Deny));
    (
        pb::BundleMember {
            case_id: if own {
                case_id.to_string()
            } else {
                String::new()
            },
            case_number: if own {
                lead.case_number.clone()
            } else {
                String::new()
            },
            matter_code: lead.matter_code.clone(),
            matter_name: lead.matter_name.clone(),
            status: status_to_pb(status).into(),
            responsible_office_id: if own && lead.office_id == viewer.office_id {
                lead.office_id.clone()
            } else {
                String::new()
            },
            waiting_for: Vec::new(),
        },
        counts_as,
    )
}
