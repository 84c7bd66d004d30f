//! 多地联办: the message form (`common.v1.CasePart`) of the parts a service keeps of a joint
//! case. The parts and every rule on them are the domain's ([`tongban_domain::kept_parts`],
//! re-exported here so that `tongban_runtime::parts::…` keeps naming them); only the
//! conversions to and from proto live here.

use tongban_domain::joint::PartState;
use tongban_proto::common::v1 as pb;

pub use tongban_domain::kept_parts::*;

use crate::convert::{
    datetime, decision_from_pb, decision_to_pb, part_state_from_pb, part_state_to_pb,
    scope_from_pb, scope_to_pb, timestamp,
};

/// The part of a `CasePart` message carried by the event of `step`; the part's own
/// `updated_at` stands in for the event's moment when set, and a missing state is the one a
/// part starts in (routed, or waiting when it comes after others). `None` for a part without
/// a code.
#[must_use]
pub fn from_pb(part: &pb::CasePart, step: Step) -> Option<KeptPart> {
    let code = part.part_code.trim();
    if code.is_empty() {
        return None;
    }
    let state = part_state_from_pb(part.state()).unwrap_or(if part.after.is_empty() {
        PartState::Routed
    } else {
        PartState::Waiting
    });
    Some(KeptPart {
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
        reason: part.reason.clone(),
        updated_at: datetime(part.updated_at.as_ref()).unwrap_or(step.at),
        event_id: step.event_id,
    })
}

/// The part as `common.v1.CasePart`.
#[must_use]
pub fn to_pb(part: &KeptPart) -> pb::CasePart {
    pb::CasePart {
        part_code: part.code.clone(),
        name: part.name.clone(),
        name_en: part.name_en.clone(),
        department: part.department.clone(),
        office_id: part.office_id.clone(),
        scope: part
            .scope
            .map_or(pb::Scope::Unspecified, scope_to_pb)
            .into(),
        agreement_id: part.agreement_id.clone(),
        after: part.after.clone(),
        state: part_state_to_pb(part.state).into(),
        decision: part
            .decision
            .map_or(pb::Decision::Unspecified, decision_to_pb)
            .into(),
        reason: part.reason.clone(),
        updated_at: Some(timestamp(part.updated_at)),
        locality: part.locality.clone(),
        division: part.division.clone(),
    }
}

/// The parts of a case summary carried by the event of `step`, in the matter's order (those
/// without a code left out); empty for a case that is not 多地联办.
#[must_use]
pub fn of_summary(parts: &[pb::CasePart], step: Step) -> Vec<KeptPart> {
    parts.iter().filter_map(|p| from_pb(p, step)).collect()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};
    use uuid::Uuid;

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

    fn step(at: DateTime<Utc>) -> Step {
        Step {
            at,
            event_id: Uuid::now_v7(),
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
        let back = to_pb(&parts[1]);
        assert_eq!(back.state(), pb::PartState::Waiting);
        assert_eq!(back.scope(), pb::Scope::CrossProvince);
        assert_eq!(
            from_pb(
                &back,
                Step {
                    at: t + TimeDelta::hours(1),
                    ..submitted
                }
            ),
            Some(parts[1].clone()),
            "the part's own updated_at wins over the event's moment"
        );
        // The domain's names for the same conversions.
        let again: pb::CasePart = to_pb(&parts[1]);
        assert_eq!(again, back);
        assert_eq!(from_pb(&back, submitted), from_pb(&back, submitted));
    }
}
