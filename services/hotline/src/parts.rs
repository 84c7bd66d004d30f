//! 多地联办 in the status read model: the parts of a joint case as the hotline keeps them (a JSONB
//! list on the case row), moved on by `case.part_updated` and by the case-level events that move
//! every part at once (补正材料已到, 撤回), and the plain-language timeline line of a part's step.
//! Pure: the event handler loads, applies and stores.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tongban_domain::case::Decision;
use tongban_domain::catalog::Scope;
use tongban_domain::joint::PartState;
use tongban_domain::timeline::TimelineText;
use tongban_proto::common::v1 as pb;
use tongban_runtime::convert::{
    datetime, decision_from_pb, decision_to_pb, part_state_from_pb, part_state_to_pb,
    scope_from_pb, scope_to_pb, timestamp,
};
use uuid::Uuid;

use crate::rules::mask_long_numbers;

/// The event a part's step comes from: its moment, then its id. Event ids are UUIDv7, made in
/// the order their producers made the steps, so they order the steps of one moment (a second
/// 补正 after a first one included) where the life cycle alone could not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Step {
    /// When the step happened.
    pub at: DateTime<Utc>,
    /// The event that carried it.
    pub event_id: Uuid,
}

/// One part of a joint case as stored: its route (office, scope) and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPart {
    /// Code of the part within the matter (`QR`).
    pub code: String,
    /// 环节名称 (`迁入地审批`).
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Department code of the part.
    pub department: String,
    /// The office handling the part.
    pub office_id: String,
    /// 通办范围 between the window and the part's office.
    pub scope: Option<Scope>,
    /// Set under 区域通办.
    pub agreement_id: String,
    /// Codes of the parts this one comes after.
    pub after: Vec<String>,
    /// Which locality decided the office (`home_division`, `destination_division`).
    pub locality: String,
    /// The GB/T 2260 code of that locality.
    pub division: String,
    /// Where the part stands.
    pub state: PartState,
    /// The part's decision once decided.
    pub decision: Option<Decision>,
    /// The reason given with the part's last step (long digit runs masked).
    pub reason: String,
    /// When the part last moved.
    pub updated_at: DateTime<Utc>,
    /// The event that last moved it (see [`Step`]).
    #[serde(default)]
    pub event_id: Uuid,
}

impl StoredPart {
    /// The part of a `CasePart` message carried by the event of `step`; the step's moment
    /// stands in for a missing `updated_at`, and a missing state is the one a part starts in
    /// (routed, or waiting when it comes after others). `None` for a part without a code.
    pub fn from_pb(part: &pb::CasePart, step: Step) -> Option<Self> {
        let code = part.part_code.trim();
        if code.is_empty() {
            return None;
        }
        let state = part_state_from_pb(part.state()).unwrap_or(if part.after.is_empty() {
            PartState::Routed
        } else {
            PartState::Waiting
        });
        Some(Self {
            code: code.to_owned(),
            name: part.name.clone(),
            name_en: part.name_en.clone(),
            department: part.department.clone(),
            office_id: part.office_id.clone(),
            scope: scope_from_pb(part.scope()),
            agreement_id: part.agreement_id.clone(),
            after: part.after.clone(),
            locality: part.locality.clone(),
            division: part.division.clone(),
            state,
            decision: decision_from_pb(part.decision()),
            // A phone or ID number typed into a reason is never kept in full.
            reason: mask_long_numbers(&part.reason),
            updated_at: datetime(part.updated_at.as_ref()).unwrap_or(step.at),
            event_id: step.event_id,
        })
    }

    /// The part as `common.v1.CasePart`.
    pub fn to_pb(&self) -> pb::CasePart {
        pb::CasePart {
            part_code: self.code.clone(),
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            department: self.department.clone(),
            office_id: self.office_id.clone(),
            scope: self
                .scope
                .map_or(pb::Scope::Unspecified, scope_to_pb)
                .into(),
            agreement_id: self.agreement_id.clone(),
            after: self.after.clone(),
            state: part_state_to_pb(self.state).into(),
            decision: self
                .decision
                .map_or(pb::Decision::Unspecified, decision_to_pb)
                .into(),
            reason: self.reason.clone(),
            updated_at: Some(timestamp(self.updated_at)),
            locality: self.locality.clone(),
            division: self.division.clone(),
        }
    }

    /// The step that last moved the part.
    fn step(&self) -> Step {
        Step {
            at: self.updated_at,
            event_id: self.event_id,
        }
    }

    /// Whether `step` is not older than the one the part shows (the same one again included):
    /// a step delivered late never moves the part back.
    fn is_not_newer_than(&self, step: Step) -> bool {
        self.step() <= step
    }

    fn moved(&mut self, state: PartState, step: Step) {
        self.state = state;
        self.updated_at = step.at;
        self.event_id = step.event_id;
    }
}

/// The parts of a case summary carried by the event of `step` (those without a code left out).
pub fn of_summary(parts: &[pb::CasePart], step: Step) -> Vec<StoredPart> {
    parts
        .iter()
        .filter_map(|p| StoredPart::from_pb(p, step))
        .collect()
}

/// Applies a part's update (`case.part_updated`): its state, decision, reason and moment, and
/// its route where the update carries one. A part not known yet is added. Returns `false` when
/// the update is older than what the part already shows (it is then left as it is).
pub fn apply(parts: &mut Vec<StoredPart>, update: StoredPart) -> bool {
    let Some(part) = parts.iter_mut().find(|p| p.code == update.code) else {
        parts.push(update);
        return true;
    };
    let step = update.step();
    if !part.is_not_newer_than(step) {
        return false;
    }
    let keep = |new: String, old: &mut String| {
        if !new.is_empty() {
            *old = new;
        }
    };
    keep(update.name, &mut part.name);
    keep(update.name_en, &mut part.name_en);
    keep(update.department, &mut part.department);
    keep(update.office_id, &mut part.office_id);
    keep(update.agreement_id, &mut part.agreement_id);
    keep(update.locality, &mut part.locality);
    keep(update.division, &mut part.division);
    if update.scope.is_some() {
        part.scope = update.scope;
    }
    if !update.after.is_empty() {
        part.after = update.after;
    }
    part.moved(update.state, step);
    part.reason = update.reason;
    if update.decision.is_some() {
        part.decision = update.decision;
    }
    true
}

/// 补正材料已到 (`case.supplemented`, the event of `step`): the part waiting for material is
/// supplemented.
pub fn supplemented(parts: &mut [StoredPart], step: Step) {
    for part in parts
        .iter_mut()
        .filter(|p| p.state == PartState::SupplementRequested && p.is_not_newer_than(step))
    {
        part.moved(PartState::Supplemented, step);
    }
}

/// 撤回 (`case.withdrawn`, the event of `step`): every part not done is withdrawn.
pub fn withdrawn(parts: &mut [StoredPart], step: Step) {
    for part in parts
        .iter_mut()
        .filter(|p| !p.state.is_done() && p.is_not_newer_than(step))
    {
        part.moved(PartState::Withdrawn, step);
    }
}

/// The timeline line of a part's step, read to the caller: `「迁入地审批」已准予（银川市公安局）`.
pub fn describe(part: &StoredPart, office_name: &str) -> TimelineText {
    let name = &part.name;
    let name_en = if part.name_en.is_empty() {
        &part.name
    } else {
        &part.name_en
    };
    let office = office_name;
    let with_reason = |zh: String, en: String| {
        if part.reason.is_empty() {
            (zh, en)
        } else {
            (
                format!("{zh}：{}", part.reason),
                format!("{en}: {}", part.reason),
            )
        }
    };
    let (zh, en) = match part.state {
        PartState::Waiting => (
            format!("「{name}」待前序环节办结（{office}）"),
            format!("\"{name_en}\" waits for the earlier parts ({office})"),
        ),
        PartState::Routed => (
            format!("「{name}」已转交办理（{office}）"),
            format!("\"{name_en}\" sent for handling ({office})"),
        ),
        PartState::Claimed => (
            format!("「{name}」审查中（{office}）"),
            format!("\"{name_en}\" under review ({office})"),
        ),
        PartState::SupplementRequested => with_reason(
            format!("「{name}」要求补正材料（{office}）"),
            format!("\"{name_en}\" asked for more material ({office})"),
        ),
        PartState::Supplemented => (
            format!("「{name}」已补正材料，恢复审查（{office}）"),
            format!("\"{name_en}\" material handed in; under review again ({office})"),
        ),
        PartState::Approved => (
            format!("「{name}」已准予（{office}）"),
            format!("\"{name_en}\" approved ({office})"),
        ),
        PartState::Denied => with_reason(
            format!("「{name}」不予办理（{office}）"),
            format!("\"{name_en}\" denied ({office})"),
        ),
        PartState::Cancelled => (
            format!("「{name}」已取消：其他环节不予办理（{office}）"),
            format!("\"{name_en}\" cancelled: another part was denied ({office})"),
        ),
        PartState::Withdrawn => (
            format!("「{name}」已撤回（{office}）"),
            format!("\"{name_en}\" withdrawn ({office})"),
        ),
    };
    TimelineText { zh, en }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn pb_part(code: &str, state: pb::PartState, after: &[&str]) -> pb::CasePart {
        pb::CasePart {
            part_code: code.to_owned(),
            name: format!("{code}环节"),
            name_en: format!("Part {code}"),
            department: "gongan".to_owned(),
            office_id: format!("{code}-office"),
            scope: pb::Scope::CrossProvince.into(),
            after: after.iter().map(|s| (*s).to_owned()).collect(),
            state: state.into(),
            locality: "home_division".to_owned(),
            division: "140922".to_owned(),
            ..Default::default()
        }
    }

    /// A step at `at` carried by a new event (ids made later sort later).
    fn step(at: DateTime<Utc>) -> Step {
        Step {
            at,
            event_id: Uuid::now_v7(),
        }
    }

    /// `part` moved to `state` at `at`, as a `case.part_updated` event carries it.
    fn update(part: &pb::CasePart, state: pb::PartState, at: DateTime<Utc>) -> pb::CasePart {
        pb::CasePart {
            state: state.into(),
            updated_at: Some(timestamp(at)),
            ..part.clone()
        }
    }

    #[test]
    fn parts_round_trip_and_start_where_the_rules_say() {
        let t = Utc::now();
        let submitted = step(t);
        let parts = of_summary(
            &[
                pb_part("QC", pb::PartState::Unspecified, &[]),
                pb_part("QR", pb::PartState::Unspecified, &["QC"]),
                pb_part("", pb::PartState::Routed, &[]),
            ],
            submitted,
        );
        assert_eq!(parts.len(), 2, "a part without a code is left out");
        assert_eq!(parts[0].state, PartState::Routed);
        assert_eq!(parts[1].state, PartState::Waiting);
        assert_eq!(parts[1].updated_at, t);
        let back = parts[1].to_pb();
        assert_eq!(back.state(), pb::PartState::Waiting);
        assert_eq!(back.scope(), pb::Scope::CrossProvince);
        assert_eq!(back.after, vec!["QC".to_owned()]);
        assert_eq!(
            StoredPart::from_pb(
                &back,
                Step {
                    at: t + TimeDelta::hours(1),
                    ..submitted
                }
            ),
            Some(parts[1].clone()),
            "the part's own updated_at wins over the event's moment"
        );
        // The stored form is the domain's names.
        let json = serde_json::to_value(&parts[1]).unwrap();
        assert_eq!(json["state"], "waiting");
        assert_eq!(json["scope"], "cross_province");
    }

    #[test]
    fn updates_apply_in_order_and_late_ones_are_ignored() {
        let t = Utc::now();
        let minutes = |m| t + TimeDelta::minutes(m);
        let qc = pb_part("QC", pb::PartState::Routed, &[]);
        let qr = pb_part("QR", pb::PartState::Waiting, &["QC"]);
        let mut parts = of_summary(&[qc.clone(), qr.clone()], step(t));

        // The claim is made first, delivered last.
        let claimed = StoredPart::from_pb(
            &update(&qc, pb::PartState::Claimed, minutes(1)),
            step(minutes(1)),
        )
        .unwrap();
        let mut approved = update(&qc, pb::PartState::Approved, minutes(2));
        approved.decision = pb::Decision::Approve.into();
        approved.reason = "材料齐全，联系电话13800138000".to_owned();
        let approved = StoredPart::from_pb(&approved, step(minutes(2))).unwrap();
        assert!(apply(&mut parts, approved.clone()));
        assert_eq!(parts[0].state, PartState::Approved);
        assert_eq!(parts[0].decision, Some(Decision::Approve));
        assert_eq!(parts[0].reason, "材料齐全，联系电话138****8000");
        assert!(!apply(&mut parts, claimed));
        assert_eq!(parts[0].state, PartState::Approved);
        // The same event again: same result.
        assert!(apply(&mut parts, approved));
        assert_eq!(parts[0].state, PartState::Approved);

        // Two rounds of 补正 on the second part within one moment (a clock that stands still):
        // the events' order decides, not the life cycle's.
        let now = minutes(3);
        let first = StoredPart::from_pb(
            &update(&qr, pb::PartState::SupplementRequested, now),
            step(now),
        )
        .unwrap();
        assert!(apply(&mut parts, first));
        supplemented(&mut parts, step(now));
        assert_eq!(parts[1].state, PartState::Supplemented);
        assert_eq!(
            parts[0].state,
            PartState::Approved,
            "only the part in 补正 moves"
        );
        let second = StoredPart::from_pb(
            &update(&qr, pb::PartState::SupplementRequested, now),
            step(now),
        )
        .unwrap();
        assert!(apply(&mut parts, second));
        assert_eq!(parts[1].state, PartState::SupplementRequested);

        // A withdrawal made before the 补正 and delivered after it changes nothing; a later
        // one withdraws every part not done.
        let early = Step {
            at: minutes(2),
            event_id: Uuid::now_v7(),
        };
        withdrawn(&mut parts, early);
        assert_eq!(parts[1].state, PartState::SupplementRequested);
        withdrawn(&mut parts, step(minutes(5)));
        assert_eq!(
            parts[0].state,
            PartState::Approved,
            "a done part stays done"
        );
        assert_eq!(parts[1].state, PartState::Withdrawn);

        // An unknown part is added.
        let extra = pb_part("ZZ", pb::PartState::Routed, &[]);
        assert!(apply(
            &mut parts,
            StoredPart::from_pb(&extra, step(t)).unwrap()
        ));
        assert_eq!(parts.len(), 3);
    }

    #[test]
    fn timeline_lines_name_the_part_and_office() {
        let mut part = StoredPart::from_pb(
            &pb_part("QR", pb::PartState::Approved, &[]),
            step(Utc::now()),
        )
        .unwrap();
        part.name = "迁入地审批".to_owned();
        part.name_en = "Move-in approval".to_owned();
        let line = describe(&part, "银川市公安局");
        assert_eq!(line.zh, "「迁入地审批」已准予（银川市公安局）");
        assert_eq!(line.en, "\"Move-in approval\" approved (银川市公安局)");
        part.state = PartState::Denied;
        part.reason = "迁入条件不符".to_owned();
        let line = describe(&part, "银川市公安局");
        assert_eq!(
            line.zh,
            "「迁入地审批」不予办理（银川市公安局）：迁入条件不符"
        );
        for state in PartState::ALL {
            part.state = state;
            let line = describe(&part, "银川市公安局");
            assert!(line.zh.contains("「迁入地审批」") && line.en.contains("Move-in approval"));
        }
    }
}
