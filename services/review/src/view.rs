//! What an office sees of an assignment. A 多地联办 part shows its own part only (its review
//! points, its decision, the parts it waits for by name) with the shared materials and the
//! status of the case as a whole — never another part's office, decision or reason. A 一件事
//! member shows its bundle's derived status and the members' matters and statuses — every
//! member, routed or not ([`crate::members`]), a waiting one with the members it waits for;
//! case id, number and responsible office only of its own case.

use std::collections::BTreeSet;

use sqlx::PgConnection;
use tongban_domain::bundle_view::{MemberFacts, Unheard, bundle_view};
use tongban_domain::catalog::JointPart;
use tongban_domain::joint::{self, PartView};
use tongban_domain::reference::ReferenceData;
use tongban_domain::review::ChecklistEntry;
use tongban_proto::common::v1 as pb;
use tongban_proto::review::v1::Assignment;
use tongban_runtime::convert::{
    materials_from_json, mode_to_pb, scope_to_pb, status_to_pb, timestamp,
};
use tongban_runtime::views::{Audience, BundleHeader, bundle_summary_pb, decision_pb};
use uuid::Uuid;

use crate::members::{self, MemberRow};
use crate::repo::{self, AssignmentRow, RepoError, strings};

/// The views of `rows`, with what they need of other rows (a part's sibling parts, a member's
/// bundle) loaded in two queries at most.
pub(crate) async fn assignments(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    rows: &[AssignmentRow],
) -> Result<Vec<Assignment>, RepoError> {
    let joint: Vec<Uuid> = distinct(rows.iter().filter(|r| r.is_joint()).map(|r| r.case_id));
    let parts = if joint.is_empty() {
        Vec::new()
    } else {
        repo::parts_of_cases(conn, &joint).await?
    };
    let members = members_of(conn, rows).await?;
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
) -> Result<Assignment, RepoError> {
    let mut views = assignments(conn, reference, std::slice::from_ref(row)).await?;
    Ok(views.pop().unwrap_or_default())
}

/// The view of `row` when every row of its case (`case_rows`, each part of a 多地联办 case) is in
/// hand already, as in a step that locked them: only its bundle's members are read.
pub(crate) async fn assignment_in_case(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &AssignmentRow,
    case_rows: &[AssignmentRow],
) -> Result<Assignment, RepoError> {
    let members = members_of(conn, std::slice::from_ref(row)).await?;
    Ok(assignment_pb(row, case_rows, &members, reference))
}

/// The known members of the bundles of `rows` (none without a bundle, and then no query).
async fn members_of(
    conn: &mut PgConnection,
    rows: &[AssignmentRow],
) -> Result<Vec<MemberRow>, RepoError> {
    let bundles: Vec<Uuid> = distinct(rows.iter().filter_map(|r| r.bundle_id));
    if bundles.is_empty() {
        return Ok(Vec::new());
    }
    members::of_bundles(conn, &bundles).await
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
        scope: row.scope.map(scope_to_pb).unwrap_or_default().into(),
        mode: row.mode.map(mode_to_pb).unwrap_or_default().into(),
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
        decision: decision_pb(row.decision).into(),
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
        resync: None,
    }
}

/// 多地联办: names of the parts a waiting part waits for (nothing unless it waits).
fn waiting_for(row: &AssignmentRow, parts: &[AssignmentRow]) -> Vec<String> {
    let Some(part) = row.joint_part() else {
        return Vec::new();
    };
    if row.part_state() != Some(joint::PartState::Waiting) {
        return Vec::new();
    }
    let siblings: Vec<(JointPart, joint::PartState)> = parts
        .iter()
        .filter(|p| p.case_id == row.case_id)
        .filter_map(|p| Some((p.joint_part()?, p.part_state()?)))
        .collect();
    let views: Vec<PartView<'_>> = siblings
        .iter()
        .map(|(part, state)| PartView {
            part,
            state: *state,
        })
        .collect();
    joint::awaiting(&views, &part)
}

/// 一件事: the bundle of a member case as the office of `viewer` may see it — the one bundle
/// view every audience shares (members in the bundle's order, the status derived from them,
/// what a member waits for), with the case id and number only of the viewer's own case and the
/// responsible office only when the viewer leads it. `members` are the bundle's known member
/// cases (members of other bundles are ignored); a member the definition lists that review has
/// not heard of yet is shown, and counts, as submitted.
pub(crate) fn bundle_pb(
    viewer: &AssignmentRow,
    members: &[MemberRow],
    reference: &ReferenceData,
) -> Option<pb::BundleSummary> {
    let bundle_id = viewer.bundle_id?;
    let code = viewer.bundle_code.clone().unwrap_or_default();
    let known: Vec<MemberFacts> = members
        .iter()
        .filter(|m| m.bundle_id == bundle_id)
        .map(MemberRow::facts)
        .collect();
    let view = bundle_view(
        &reference.catalog,
        reference.bundles.get(&code),
        &known,
        Unheard::AsSubmitted,
    );
    let id = bundle_id.to_string();
    let own = viewer.case_id.to_string();
    Some(bundle_summary_pb(
        BundleHeader {
            bundle_id: &id,
            bundle_number: viewer.bundle_number.as_deref().unwrap_or_default(),
            bundle_code: &code,
            name: viewer.bundle_name.as_deref().unwrap_or_default(),
        },
        &view,
        Audience::Office {
            case_id: &own,
            // The case's responsible office is its lead office (the first part's, for a
            // 多地联办 member).
            lead: viewer.part_seq == 0,
            office_id: &viewer.office_id,
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use chrono::Utc;
    use tongban_domain::case::CaseStatus;
    use tongban_domain::catalog::{Mode, Scope};

    use super::*;

    /// 出生一件事: 出生医学证明首次签发 provides the 出生医学证明 that the next three members wait for.
    const BIRTH: &str = "YJS-CS";
    const PROVIDER: &str = "WJ-CSYXZM-QF";
    const WAITING: [&str; 3] = ["WJ-SY-DJ", "GA-HJ-CSDJ", "YB-CB-CXJM"];
    const SBK: &str = "RS-SBK-SL";

    fn reference() -> &'static ReferenceData {
        static DATA: OnceLock<ReferenceData> = OnceLock::new();
        DATA.get_or_init(|| {
            let deploy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
            ReferenceData::load(&deploy).unwrap_or_else(|e| panic!("deploy/ loads: {e}"))
        })
    }

    fn name(matter: &str) -> String {
        reference()
            .catalog
            .matter(matter)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| panic!("{matter} is in the catalog"))
    }

    fn bundle_id() -> Uuid {
        Uuid::from_u128(0xb)
    }

    /// Member `matter` of the bundle, case number ending in `n`, with `status` and `decision`.
    fn member(n: u128, matter: &str, status: CaseStatus, decision: Option<&str>) -> MemberRow {
        MemberRow {
            bundle_id: bundle_id(),
            case_id: Uuid::from_u128(n),
            case_number: format!("140922-20261102-0000{n}-1"),
            matter_code: matter.to_owned(),
            matter_name: name(matter),
            status,
            decision: decision.map(|d| d.parse().unwrap_or_else(|_| panic!("decision {d}"))),
            position: 0,
        }
    }

    /// The office's row of member `m`.
    fn viewer(m: &MemberRow, office: &str) -> AssignmentRow {
        AssignmentRow {
            case_id: m.case_id,
            case_number: m.case_number.clone(),
            office_id: office.to_owned(),
            matter_code: m.matter_code.clone(),
            matter_name: m.matter_name.clone(),
            scope: Some(Scope::CrossProvince),
            mode: Some(Mode::Online),
            case_status: m.status,
            window_office_id: "140922-zwfw".to_owned(),
            home_division: "640104".to_owned(),
            routed_at: Utc::now(),
            bundle_id: Some(bundle_id()),
            bundle_number: Some("140922-20261102-00009-3".to_owned()),
            bundle_code: Some(BIRTH.to_owned()),
            bundle_name: Some("出生一件事".to_owned()),
            ..AssignmentRow::default()
        }
    }

    fn summary(viewer: &AssignmentRow, members: &[MemberRow]) -> pb::BundleSummary {
        bundle_pb(viewer, members, reference()).unwrap_or_else(|| panic!("a member's bundle"))
    }

    fn shown<'a>(summary: &'a pb::BundleSummary, matter: &str) -> &'a pb::BundleMember {
        summary
            .members
            .iter()
            .find(|m| m.matter_code == matter)
            .unwrap_or_else(|| panic!("{matter} among {:?}", summary.members))
    }

    /// Just submitted: the provider and 社保卡 routed, the others waiting for the provider.
    fn submitted() -> Vec<MemberRow> {
        // Stored in another order than the definition's.
        let mut rows = vec![member(5, SBK, CaseStatus::Routed, None)];
        for (n, matter) in (2..).zip(WAITING) {
            rows.push(member(n, matter, CaseStatus::Submitted, None));
        }
        rows.push(member(1, PROVIDER, CaseStatus::Routed, None));
        rows
    }

    #[test]
    fn waiting_members_show_submitted_with_what_they_wait_for_in_the_definitions_order() {
        let rows = submitted();
        let sbk = viewer(&rows[0], "640100-renshe");
        let view = summary(&sbk, &rows);
        assert_eq!(view.status(), pb::BundleStatus::InProgress);
        let order: Vec<&str> = view
            .members
            .iter()
            .map(|m| m.matter_code.as_str())
            .collect();
        assert_eq!(order, [PROVIDER, WAITING[0], WAITING[1], WAITING[2], SBK]);
        for matter in WAITING {
            let m = shown(&view, matter);
            assert_eq!(m.status(), pb::CaseStatus::Submitted, "{m:?}");
            assert_eq!(m.waiting_for, [name(PROVIDER)], "{m:?}");
        }
        assert!(shown(&view, PROVIDER).waiting_for.is_empty());
        assert!(shown(&view, SBK).waiting_for.is_empty());
    }

    #[test]
    fn only_the_viewers_own_case_shows_its_id_number_and_office() {
        let rows = submitted();
        let sbk = viewer(&rows[0], "640100-renshe");
        let view = summary(&sbk, &rows);
        let own = shown(&view, SBK);
        assert_eq!(own.case_id, rows[0].case_id.to_string());
        assert_eq!(own.case_number, rows[0].case_number);
        assert_eq!(own.responsible_office_id, "640100-renshe");
        for m in view.members.iter().filter(|m| m.matter_code != SBK) {
            assert!(
                m.case_id.is_empty()
                    && m.case_number.is_empty()
                    && m.responsible_office_id.is_empty(),
                "{m:?}"
            );
        }
        // A 多地联办 part's office other than the lead's does not see the responsible office.
        let mut part = viewer(&rows[0], "640100-renshe-2");
        part.part_seq = 1;
        assert!(
            shown(&summary(&part, &rows), SBK)
                .responsible_office_id
                .is_empty()
        );
    }

    #[test]
    fn an_approved_provider_is_no_longer_waited_for() {
        let mut rows = submitted();
        rows[4] = member(1, PROVIDER, CaseStatus::Approved, Some("approve"));
        let view = summary(&viewer(&rows[0], "640100-renshe"), &rows);
        for matter in WAITING {
            assert!(shown(&view, matter).waiting_for.is_empty(), "{matter}");
        }
    }

    #[test]
    fn a_denied_provider_with_its_dependants_withdrawn_ends_the_bundle_as_the_rest_decides() {
        let mut rows = submitted();
        rows[4] = member(1, PROVIDER, CaseStatus::Completed, Some("deny"));
        for row in &mut rows[1..4] {
            row.status = CaseStatus::Withdrawn;
        }
        let sbk = viewer(&rows[0], "640100-renshe");
        assert_eq!(summary(&sbk, &rows).status(), pb::BundleStatus::InProgress);

        rows[0] = member(5, SBK, CaseStatus::Approved, Some("approve"));
        let view = summary(&sbk, &rows);
        assert_eq!(view.status(), pb::BundleStatus::PartlyDenied);
        for matter in WAITING {
            let m = shown(&view, matter);
            assert_eq!(m.status(), pb::CaseStatus::Withdrawn, "{m:?}");
            assert!(m.waiting_for.is_empty(), "{m:?}");
        }

        rows[0] = member(5, SBK, CaseStatus::Completed, Some("deny"));
        assert_eq!(summary(&sbk, &rows).status(), pb::BundleStatus::Denied);
    }

    #[test]
    fn every_member_withdrawn_is_withdrawn_and_an_unknown_member_counts_as_submitted() {
        let mut rows = submitted();
        for row in &mut rows {
            row.status = CaseStatus::Withdrawn;
        }
        let sbk = viewer(&rows[0], "640100-renshe");
        assert_eq!(summary(&sbk, &rows).status(), pb::BundleStatus::Withdrawn);

        // Review has heard of the provider only, approved: the others are still submitted.
        let provider = member(1, PROVIDER, CaseStatus::Approved, Some("approve"));
        let view = summary(&viewer(&provider, "640100-weijian"), &[provider]);
        assert_eq!(view.status(), pb::BundleStatus::InProgress);
        assert_eq!(view.members.len(), 5);
        assert_eq!(shown(&view, SBK).status(), pb::CaseStatus::Submitted);
        assert_eq!(shown(&view, SBK).matter_name, name(SBK));
    }
}
