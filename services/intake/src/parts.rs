//! 多地联办 at the window: the parts of a joint case as stored with it (`cases.parts`, the
//! shared [`KeptPart`]), their view on the wire, and the timeline line of each part's step.
//!
//! The window does not decide a part's state: the review offices do, and report each step as
//! `case.part_updated`; the window only moves parts itself when its own action moves them
//! (补正 handed in, the case withdrawn: [`tongban_runtime::parts::supplemented`] and
//! [`tongban_runtime::parts::withdrawn`] with [`Origin::Own`](tongban_runtime::parts::Origin)).

use chrono::{DateTime, Utc};
use tongban_domain::catalog::Matter;
use tongban_domain::joint::{PartState, initial_state};
use tongban_domain::reference::ReferenceData;
use tongban_domain::routing::JointRoute;
use tongban_domain::timeline::TimelineText;
use tongban_proto::common::v1 as pb;
pub use tongban_runtime::parts::KeptPart;
use tongban_runtime::parts::{self as kept, Applied, Step};
use uuid::Uuid;

/// The parts of a routed joint case, each in its initial state (routed when it comes after no
/// other part, else waiting).
pub fn from_route(matter: &Matter, route: &JointRoute, at: DateTime<Utc>) -> Vec<KeptPart> {
    route
        .parts
        .iter()
        .map(|p| KeptPart {
            code: p.code.clone(),
            name: p.name.clone(),
            name_en: p.name_en.clone(),
            department: p.department.clone(),
            locality: p.locality.as_str().to_owned(),
            division: p.division.as_str().to_owned(),
            office_id: p.office_id.clone(),
            scope: Some(p.scope),
            agreement_id: p.agreement_id.clone().unwrap_or_default(),
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
            event_id: Uuid::nil(),
        })
        .collect()
}

/// The parts as API messages.
pub fn to_pb(parts: &[KeptPart]) -> Vec<pb::CasePart> {
    parts.iter().map(kept::to_pb).collect()
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

/// Applies a part's new state (with its decision and reason) as the review office reported it
/// in the event of `step` (the event's moment stands in for a missing `updated_at`).
///
/// # Errors
/// [`UpdateError`] for an event that names no state or no part of the case.
pub fn apply_update(
    parts: &mut Vec<KeptPart>,
    update: &pb::CasePart,
    step: Step,
) -> Result<Update, UpdateError> {
    if update.state() == pb::PartState::Unspecified {
        return Err(UpdateError::Empty);
    }
    if !parts.iter().any(|p| p.code == update.part_code) {
        return Err(UpdateError::UnknownPart(update.part_code.clone()));
    }
    let update = kept::from_pb(update, step).ok_or(UpdateError::Empty)?;
    Ok(match kept::apply(parts, update) {
        Applied::Moved(index) => Update::Moved(index),
        Applied::Unchanged(_) | Applied::Stale(_) => Update::Stale,
    })
}

/// The timeline line of a part's step, e.g. 「迁入地审批」已准予（银川市公安局）.
pub fn line(reference: &ReferenceData, parts: &[KeptPart], part: &KeptPart) -> TimelineText {
    let office = reference
        .directory
        .office(&part.office_id)
        .map_or(part.office_id.as_str(), |o| o.name.as_str());
    kept::describe(parts, part, office)
}

#[cfg(test)]
mod tests {
    use tongban_domain::case::Decision;
    use tongban_domain::catalog::Scope;
    use tongban_runtime::parts::Origin;

    use super::*;

    fn part(code: &str, after: &[&str], state: PartState) -> KeptPart {
        KeptPart {
            code: code.to_owned(),
            name: format!("环节{code}"),
            name_en: format!("Part {code}"),
            department: "gongan".to_owned(),
            locality: "home_division".to_owned(),
            division: "140922".to_owned(),
            office_id: format!("office-{code}"),
            scope: Some(Scope::CrossProvince),
            agreement_id: String::new(),
            after: after.iter().map(|s| (*s).to_owned()).collect(),
            state,
            decision: None,
            reason: String::new(),
            updated_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            event_id: Uuid::nil(),
        }
    }

    #[test]
    fn parts_show_as_messages() {
        let parts = vec![
            part("QR", &[], PartState::Routed),
            part("QC", &["QR"], PartState::Waiting),
        ];
        let back = to_pb(&parts);
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].state(), pb::PartState::Waiting);
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
        let step = || Step {
            at: Utc::now(),
            event_id: Uuid::now_v7(),
        };
        assert_eq!(
            apply_update(
                &mut parts,
                &later(pb::PartState::Approved, 1_800_000_100),
                step()
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
                step()
            ),
            Ok(Update::Stale)
        );
        assert_eq!(
            apply_update(
                &mut parts,
                &later(pb::PartState::Claimed, 1_800_000_050),
                step()
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
            apply_update(&mut parts, &unknown, step()),
            Err(UpdateError::UnknownPart("XX".to_owned()))
        );
    }

    #[test]
    fn window_steps_move_only_the_parts_they_concern() {
        let own = Step {
            at: Utc::now(),
            event_id: Uuid::nil(),
        };
        let mut parts = vec![
            part("QR", &[], PartState::Approved),
            part("QC", &["QR"], PartState::SupplementRequested),
            part("QX", &["QR"], PartState::Waiting),
        ];
        assert!(kept::supplemented(&mut parts, own, Origin::Own));
        assert_eq!(parts[1].state, PartState::Supplemented);
        assert_eq!(parts[2].state, PartState::Waiting);
        assert!(kept::withdrawn(&mut parts, own, Origin::Own));
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
