//! 多地联办 at the window: the parts of a joint case as stored with it (`cases.parts`), their
//! view on the wire, and the plain-language timeline line of each part's step.
//!
//! The window does not decide a part's state: the review offices do, and report each step as
//! `case.part_updated`; the window only moves parts itself when its own action moves them
//! (补正 handed in, the case withdrawn).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tongban_domain::case::Decision;
use tongban_domain::catalog::{Locality, Matter, Scope};
use tongban_domain::joint::{PartState, initial_state};
use tongban_domain::reference::ReferenceData;
use tongban_domain::routing::JointRoute;
use tongban_domain::timeline::TimelineText;
use tongban_proto::common::v1 as pb;
use tongban_runtime::convert::{
    decision_from_pb, decision_to_pb, part_state_from_pb, part_state_to_pb, scope_to_pb, timestamp,
};

/// One part of a joint case as the window keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPart {
    /// The part's code within the matter (`QR`).
    pub code: String,
    /// 环节名称.
    pub name: String,
    pub name_en: String,
    pub department: String,
    /// Which of the applicant's localities decided the office.
    pub locality: Locality,
    /// That locality's GB/T 2260 code.
    pub division: String,
    /// The office handling the part.
    pub office_id: String,
    /// 通办范围 between the window and the part's office.
    pub scope: Scope,
    pub agreement_id: Option<String>,
    /// Parts that must be approved before this one starts.
    pub after: Vec<String>,
    pub state: PartState,
    pub decision: Option<Decision>,
    /// The decision's reason (empty until decided).
    #[serde(default)]
    pub reason: String,
    pub updated_at: DateTime<Utc>,
}

impl StoredPart {
    /// The part as sent in events and views.
    pub fn to_pb(&self) -> pb::CasePart {
        pb::CasePart {
            part_code: self.code.clone(),
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            department: self.department.clone(),
            office_id: self.office_id.clone(),
            scope: scope_to_pb(self.scope).into(),
            agreement_id: self.agreement_id.clone().unwrap_or_default(),
            after: self.after.clone(),
            state: part_state_to_pb(self.state).into(),
            decision: self
                .decision
                .map(decision_to_pb)
                .unwrap_or(pb::Decision::Unspecified)
                .into(),
            reason: self.reason.clone(),
            updated_at: Some(timestamp(self.updated_at)),
            locality: self.locality.as_str().to_owned(),
            division: self.division.clone(),
        }
    }
}

/// The parts of a routed joint case, each in its initial state (routed when it comes after no
/// other part, else waiting).
pub fn from_route(matter: &Matter, route: &JointRoute, at: DateTime<Utc>) -> Vec<StoredPart> {
    route
        .parts
        .iter()
        .map(|p| StoredPart {
            code: p.code.clone(),
            name: p.name.clone(),
            name_en: p.name_en.clone(),
            department: p.department.clone(),
            locality: p.locality,
            division: p.division.as_str().to_owned(),
            office_id: p.office_id.clone(),
            scope: p.scope,
            agreement_id: p.agreement_id.clone(),
            after: p.after.clone(),
            state: matter.part(&p.code).map_or_else(
                || {
                    if p.after.is_empty() {
                        PartState::Routed
                    } else {
                        PartState::Waiting
                    }
                },
                initial_state,
            ),
            decision: None,
            reason: String::new(),
            updated_at: at,
        })
        .collect()
}

/// The parts stored in a `parts` column.
///
/// # Errors
/// The column does not hold parts (only this service writes it, so this means corruption).
pub fn parse(value: &Value) -> Result<Vec<StoredPart>, serde_json::Error> {
    serde_json::from_value(value.clone())
}

/// The parts as stored in the `parts` column.
pub fn to_json(parts: &[StoredPart]) -> Value {
    serde_json::to_value(parts).unwrap_or_else(|_| Value::Array(Vec::new()))
}

/// The parts of a `parts` column as API messages (none when the column cannot be read, which
/// is logged).
pub fn to_pb(value: &Value) -> Vec<pb::CasePart> {
    match parse(value) {
        Ok(parts) => parts.iter().map(StoredPart::to_pb).collect(),
        Err(err) => {
            tracing::error!(error = %err, "stored parts do not parse");
            Vec::new()
        }
    }
}

/// Moves every part whose state is `from` to `to` (the window's own steps: 补正 handed in,
/// withdrawal); `from = None` means every part not done yet. Returns whether any moved.
pub fn move_parts(
    parts: &mut [StoredPart],
    from: Option<PartState>,
    to: PartState,
    at: DateTime<Utc>,
) -> bool {
    let mut moved = false;
    for part in parts.iter_mut() {
        let applies = match from {
            Some(state) => part.state == state,
            None => !part.state.is_done(),
        };
        if applies {
            part.state = to;
            part.updated_at = at;
            moved = true;
        }
    }
    moved
}

/// What `case.part_updated` did to the stored parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The part moved; its index.
    Moved(usize),
    /// Nothing to do: the part already is in that state, or the update is older than the
    /// stored one (a redelivery that crossed a later step).
    Stale,
}

/// Why a `case.part_updated` cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The event carries no part or no state.
    #[error("the event carries no part state")]
    Empty,
    /// The case has no part with that code.
    #[error("the case has no part {0}")]
    UnknownPart(String),
}

/// Applies a part's new state (with its decision and reason) as the review office reported it.
///
/// # Errors
/// [`UpdateError`] for an event that names no state or no part of the case.
pub fn apply_update(
    parts: &mut [StoredPart],
    update: &pb::CasePart,
    at: DateTime<Utc>,
) -> Result<Update, UpdateError> {
    let state = part_state_from_pb(update.state()).ok_or(UpdateError::Empty)?;
    let (index, part) = parts
        .iter_mut()
        .enumerate()
        .find(|(_, p)| p.code == update.part_code)
        .ok_or_else(|| UpdateError::UnknownPart(update.part_code.clone()))?;
    let updated_at = tongban_runtime::convert::datetime(update.updated_at.as_ref()).unwrap_or(at);
    if part.state == state || updated_at < part.updated_at {
        return Ok(Update::Stale);
    }
    part.state = state;
    part.updated_at = updated_at;
    if let Some(decision) = decision_from_pb(update.decision()) {
        part.decision = Some(decision);
        part.reason = update.reason.clone();
    }
    Ok(Update::Moved(index))
}

/// The timeline line of a part's step, e.g. 「迁入地审批」已准予（银川市公安局）.
pub fn line(reference: &ReferenceData, parts: &[StoredPart], part: &StoredPart) -> TimelineText {
    let office = reference
        .directory
        .office(&part.office_id)
        .map_or(part.office_id.as_str(), |o| o.name.as_str());
    let name = &part.name;
    let name_en = &part.name_en;
    let reason = &part.reason;
    let (zh, en) = match part.state {
        PartState::Waiting => {
            let awaited: Vec<&StoredPart> = part
                .after
                .iter()
                .filter_map(|code| parts.iter().find(|p| &p.code == code))
                .collect();
            let zh_names: Vec<&str> = awaited.iter().map(|p| p.name.as_str()).collect();
            let en_names: Vec<String> = awaited
                .iter()
                .map(|p| format!("\"{}\"", p.name_en))
                .collect();
            (
                format!(
                    "「{name}」将在「{}」办结后转{office}办理",
                    zh_names.join("」「")
                ),
                format!(
                    "Part \"{name_en}\" goes to {office} once {} is done",
                    en_names.join(", ")
                ),
            )
        }
        PartState::Routed => (
            format!("「{name}」已转{office}办理"),
            format!("Part \"{name_en}\" sent to {office}"),
        ),
        PartState::Claimed => (
            format!("「{name}」{office}已认领，正在审查"),
            format!("Part \"{name_en}\" is being reviewed by {office}"),
        ),
        PartState::SupplementRequested => (
            format!("「{name}」{office}要求补正材料"),
            format!("Part \"{name_en}\": {office} asked for more material"),
        ),
        PartState::Supplemented => (
            format!("「{name}」已补交材料"),
            format!("Part \"{name_en}\": material handed in"),
        ),
        PartState::Approved => (
            format!("「{name}」已准予（{office}）"),
            format!("Part \"{name_en}\" approved ({office})"),
        ),
        PartState::Denied => (
            format!("「{name}」不予（{office}）：{reason}"),
            format!("Part \"{name_en}\" denied ({office}): {reason}"),
        ),
        PartState::Cancelled => (
            format!("「{name}」已取消（其他环节不予办理）"),
            format!("Part \"{name_en}\" cancelled (another part was denied)"),
        ),
        PartState::Withdrawn => (
            format!("「{name}」已撤回"),
            format!("Part \"{name_en}\" withdrawn"),
        ),
    };
    TimelineText { zh, en }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(code: &str, after: &[&str], state: PartState) -> StoredPart {
        StoredPart {
            code: code.to_owned(),
            name: format!("环节{code}"),
            name_en: format!("Part {code}"),
            department: "gongan".to_owned(),
            locality: Locality::HomeDivision,
            division: "140922".to_owned(),
            office_id: format!("office-{code}"),
            scope: Scope::CrossProvince,
            agreement_id: None,
            after: after.iter().map(|s| (*s).to_owned()).collect(),
            state,
            decision: None,
            reason: String::new(),
            updated_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn parts_round_trip_through_json() {
        let parts = vec![
            part("QR", &[], PartState::Routed),
            part("QC", &["QR"], PartState::Waiting),
        ];
        let back = parse(&to_json(&parts)).expect("stored parts parse");
        assert_eq!(back, parts);
        assert_eq!(to_json(&parts)[1]["state"], "waiting");
    }

    #[test]
    fn updates_apply_once_and_in_order() {
        let mut parts = vec![
            part("QR", &[], PartState::Routed),
            part("QC", &["QR"], PartState::Waiting),
        ];
        let later = |state: pb::PartState, secs: i64| pb::CasePart {
            part_code: "QR".to_owned(),
            state: state.into(),
            decision: pb::Decision::Approve.into(),
            reason: "符合条件".to_owned(),
            updated_at: Some(prost_types::Timestamp {
                seconds: secs,
                nanos: 0,
            }),
            ..Default::default()
        };
        let at = Utc::now();
        assert_eq!(
            apply_update(
                &mut parts,
                &later(pb::PartState::Approved, 1_800_000_100),
                at
            ),
            Ok(Update::Moved(0))
        );
        assert_eq!(parts[0].state, PartState::Approved);
        assert_eq!(parts[0].decision, Some(Decision::Approve));
        assert_eq!(parts[0].reason, "符合条件");
        // The same state again, or an older step delivered late, changes nothing.
        assert_eq!(
            apply_update(
                &mut parts,
                &later(pb::PartState::Approved, 1_800_000_200),
                at
            ),
            Ok(Update::Stale)
        );
        assert_eq!(
            apply_update(
                &mut parts,
                &later(pb::PartState::Claimed, 1_800_000_050),
                at
            ),
            Ok(Update::Stale)
        );
        assert_eq!(parts[0].state, PartState::Approved);
        let unknown = pb::CasePart {
            part_code: "XX".to_owned(),
            state: pb::PartState::Claimed.into(),
            ..Default::default()
        };
        assert_eq!(
            apply_update(&mut parts, &unknown, at),
            Err(UpdateError::UnknownPart("XX".to_owned()))
        );
    }

    #[test]
    fn window_steps_move_only_the_parts_they_concern() {
        let at = Utc::now();
        let mut parts = vec![
            part("QR", &[], PartState::Approved),
            part("QC", &["QR"], PartState::SupplementRequested),
            part("QX", &["QR"], PartState::Waiting),
        ];
        assert!(move_parts(
            &mut parts,
            Some(PartState::SupplementRequested),
            PartState::Supplemented,
            at
        ));
        assert_eq!(parts[1].state, PartState::Supplemented);
        assert_eq!(parts[2].state, PartState::Waiting);
        assert!(move_parts(&mut parts, None, PartState::Withdrawn, at));
        assert_eq!(
            parts.iter().map(|p| p.state).collect::<Vec<_>>(),
            [
                PartState::Approved,
                PartState::Withdrawn,
                PartState::Withdrawn
            ]
        );
    }
}
