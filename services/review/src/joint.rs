//! 多地联办 in the review office: a joint case has one assignment per part, each in its own
//! office's inbox. A reviewer's claim, 补正 request or decision moves their own part (the
//! domain's `assignment::plan`, taken through [`crate::step`]); every part that changed is
//! published as `case.part_updated`. The case-level events (`case.claimed`,
//! `case.supplement_requested`, `case.decided`) are published only when the case as a whole
//! moves, so intake, certificate, logistics, supervision and hotline keep working from them
//! unchanged.

use chrono::{DateTime, Utc};
use tongban_proto::common::v1 as pb;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_runtime::convert::{part_state_to_pb, timestamp};

use crate::repo::{self, AssignmentRow};
use tongban_runtime::views::decision_pb;

/// `case.part_updated` for the part of `row`, moved by `reviewer` (empty when the part moved
/// because another did, or by the window's step).
pub(crate) fn part_updated(row: &AssignmentRow, reviewer: &str, at: DateTime<Utc>) -> Body {
    Body::CasePartUpdated(ev::CasePartUpdated {
        part: Some(case_part(row, at)),
        reviewer: reviewer.to_owned(),
    })
}

/// The part of `row` as published in `case.part_updated`.
pub(crate) fn case_part(row: &AssignmentRow, at: DateTime<Utc>) -> pb::CasePart {
    let scope: i32 = row
        .part_scope
        .map(tongban_runtime::convert::scope_to_pb)
        .unwrap_or_default()
        .into();
    pb::CasePart {
        part_code: row.part_code.clone(),
        name: row.part_name.clone(),
        name_en: row.route_text("name_en"),
        department: row.route_text("department"),
        office_id: row.office_id.clone(),
        scope,
        agreement_id: row.route_text("agreement_id"),
        after: repo::strings(&row.part_after),
        state: row
            .part_state()
            .map(part_state_to_pb)
            .unwrap_or_default()
            .into(),
        decision: decision_pb(row.decision).into(),
        reason: row.decision_reason.clone().unwrap_or_default(),
        updated_at: Some(timestamp(at)),
        locality: row.route_text("locality"),
        division: row.route_text("division"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tongban_domain::case::CaseStatus;
    use tongban_domain::case::Decision;
    use tongban_domain::catalog::{Locality, Mode, Scope};
    use tongban_domain::joint::PartState::{self, Denied};

    fn row(code: &str, office: &str, state: PartState, case_status: CaseStatus) -> AssignmentRow {
        let mut row = AssignmentRow {
            case_number: "140922-20261102-00001-4".to_owned(),
            office_id: office.to_owned(),
            matter_code: "GJJ-ZY-JX".to_owned(),
            matter_name: "住房公积金转移接续".to_owned(),
            scope: Some(Scope::CrossProvince),
            mode: Some(Mode::Joint),
            window_office_id: "140922-zwfw".to_owned(),
            home_division: "640104".to_owned(),
            routed_at: Utc::now(),
            part_code: code.to_owned(),
            part_name: format!("环节{code}"),
            part_route: json!({"scope": "province_wide", "locality": "home_division"}),
            part_locality: Some(Locality::HomeDivision),
            part_scope: Some(Scope::ProvinceWide),
            ..AssignmentRow::default()
        };
        row.set_part_state(state);
        row.set_status(case_status);
        row
    }

    #[test]
    fn the_published_part_carries_its_route_and_state() {
        let mut denied = row("A", "a", Denied, CaseStatus::Denied);
        denied.decision = Some(Decision::Deny);
        denied.decision_reason = Some("账户未开立".to_owned());
        let part = case_part(&denied, Utc::now());
        assert_eq!(part.state(), pb::PartState::Denied);
        assert_eq!(part.decision(), pb::Decision::Deny);
        assert_eq!(part.reason, "账户未开立");
        assert_eq!(part.scope(), pb::Scope::ProvinceWide);
        assert_eq!(part.locality, "home_division");
        assert_eq!(part.office_id, "a");
    }
}
