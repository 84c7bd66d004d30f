//! 多地联办 under 督办: the parts of a joint case as supervision keeps them (office and state of
//! each, in the matter's order), so that a warning or a breach is raised against the office
//! holding the case up — not against the first part's office when its part is long approved and
//! the case waits on another office. Pure: the consumer loads, applies and stores; the
//! evaluation loop asks [`accountable_office`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tongban_domain::joint::PartState;
use tongban_proto::common::v1 as pb;
use tongban_runtime::convert::{datetime, part_state_from_pb};
use uuid::Uuid;

/// The event a part's step comes from: its moment, then its id. Event ids are UUIDv7, made in
/// the order their producers made the steps, so they order the steps of one moment where the
/// moment alone could not (a second 补正 of the same part, a manual clock standing still).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Step {
    /// When the step happened.
    pub at: DateTime<Utc>,
    /// The event that carried it.
    pub event_id: Uuid,
}

/// One part of a joint case as tracked: who handles it and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedPart {
    /// Code of the part within the matter (`QR`).
    pub code: String,
    /// 环节名称 (`迁入地审批`), for logs.
    pub name: String,
    /// The office handling the part.
    pub office_id: String,
    /// Where the part stands.
    pub state: PartState,
    /// The step that last moved the part: an older one delivered late never moves it back.
    pub step: Step,
}

impl TrackedPart {
    /// The part of a `CasePart` message carried by the event of `step`; the part's own
    /// `updated_at` stands in for the event's moment when set, and a missing state is the one a
    /// part starts in (routed, or waiting when it comes after others). `None` for a part without
    /// a code.
    fn from_pb(part: &pb::CasePart, step: Step) -> Option<Self> {
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
            office_id: part.office_id.clone(),
            state,
            step: Step {
                at: datetime(part.updated_at.as_ref()).unwrap_or(step.at),
                event_id: step.event_id,
            },
        })
    }

    /// Whether the part's office has the case in hand: the part is in its inbox, under review or
    /// in 补正 — neither waiting for earlier parts nor done.
    #[must_use]
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            PartState::Routed
                | PartState::Claimed
                | PartState::SupplementRequested
                | PartState::Supplemented
        )
    }
}

/// The parts of a case summary (`case.routed`) carried by the event of `step`, in the matter's
/// order; empty for a case that is not 多地联办.
#[must_use]
pub fn of_summary(parts: &[pb::CasePart], step: Step) -> Vec<TrackedPart> {
    parts
        .iter()
        .filter_map(|p| TrackedPart::from_pb(p, step))
        .collect()
}

/// What a part's update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The part moved (or its office changed).
    Moved,
    /// The update is older than what the part shows: left as it is.
    Stale,
    /// The update names no part (no code): nothing to apply.
    Empty,
}

/// Applies a part's update (`case.part_updated`, the event of `step`): its state and office. A
/// part not known yet (a case tracked before its parts were) is added after the others.
pub fn apply(parts: &mut Vec<TrackedPart>, update: &pb::CasePart, step: Step) -> Applied {
    let Some(update) = TrackedPart::from_pb(update, step) else {
        return Applied::Empty;
    };
    let Some(part) = parts.iter_mut().find(|p| p.code == update.code) else {
        parts.push(update);
        return Applied::Moved;
    };
    if update.step < part.step {
        return Applied::Stale;
    }
    part.state = update.state;
    part.step = update.step;
    if !update.office_id.is_empty() {
        part.office_id = update.office_id;
    }
    if !update.name.is_empty() {
        part.name = update.name;
    }
    Applied::Moved
}

/// 补正材料已到 (`case.supplemented`, the event of `step`): the part waiting for material is
/// supplemented.
pub fn supplemented(parts: &mut [TrackedPart], step: Step) {
    for part in parts
        .iter_mut()
        .filter(|p| p.state == PartState::SupplementRequested && p.step <= step)
    {
        part.state = PartState::Supplemented;
        part.step = step;
    }
}

/// 撤回 (`case.withdrawn`, the event of `step`): every part not done is withdrawn.
pub fn withdrawn(parts: &mut [TrackedPart], step: Step) {
    for part in parts
        .iter_mut()
        .filter(|p| !p.state.is_done() && p.step <= step)
    {
        part.state = PartState::Withdrawn;
        part.step = step;
    }
}

/// The office a warning or breach of the case is raised against at this moment: the office of
/// the first part (in the matter's order) that is open ([`TrackedPart::is_open`]) — the one
/// holding the case up; `responsible_office_id` for a case without parts, or when no part is
/// open (every part done, or none started).
#[must_use]
pub fn accountable_office<'a>(parts: &'a [TrackedPart], responsible_office_id: &'a str) -> &'a str {
    parts
        .iter()
        .find(|p| p.is_open() && !p.office_id.is_empty())
        .map_or(responsible_office_id, |p| p.office_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    const QR_OFFICE: &str = "140922-gongan";
    const QC_OFFICE: &str = "640100-gongan";

    fn step(minute: u32) -> Step {
        Step {
            at: Utc
                .with_ymd_and_hms(2026, 11, 16, 2, minute, 0)
                .single()
                .unwrap_or_default(),
            event_id: Uuid::now_v7(),
        }
    }

    fn pb_part(code: &str, office: &str, after: &[&str], state: pb::PartState) -> pb::CasePart {
        pb::CasePart {
            part_code: code.to_owned(),
            name: format!("part {code}"),
            office_id: office.to_owned(),
            after: after.iter().map(|a| (*a).to_owned()).collect(),
            state: state.into(),
            ..Default::default()
        }
    }

    /// 户口迁移: 迁入地 QR at 五台, then 迁出地 QC at 银川, as routed.
    fn routed() -> Vec<TrackedPart> {
        of_summary(
            &[
                pb_part("QR", QR_OFFICE, &[], pb::PartState::Routed),
                pb_part("QC", QC_OFFICE, &["QR"], pb::PartState::Waiting),
            ],
            step(0),
        )
    }

    fn states(parts: &[TrackedPart]) -> Vec<PartState> {
        parts.iter().map(|p| p.state).collect()
    }

    #[test]
    fn the_first_open_part_is_accountable_and_moves_on_with_the_parts() {
        let mut parts = routed();
        assert_eq!(accountable_office(&parts, QR_OFFICE), QR_OFFICE);
        let approved = pb_part("QR", QR_OFFICE, &[], pb::PartState::Approved);
        let started = pb_part("QC", QC_OFFICE, &["QR"], pb::PartState::Routed);
        assert_eq!(apply(&mut parts, &approved, step(5)), Applied::Moved);
        // Between the two updates nobody is open: the responsible office answers.
        assert_eq!(accountable_office(&parts, QR_OFFICE), QR_OFFICE);
        assert_eq!(apply(&mut parts, &started, step(5)), Applied::Moved);
        assert_eq!(accountable_office(&parts, QR_OFFICE), QC_OFFICE);
        let done = pb_part("QC", QC_OFFICE, &["QR"], pb::PartState::Approved);
        apply(&mut parts, &done, step(9));
        assert_eq!(accountable_office(&parts, QR_OFFICE), QR_OFFICE);
    }

    #[test]
    fn parallel_parts_hold_the_first_open_one_in_order() {
        let mut parts = of_summary(
            &[
                pb_part("ZR", "140900-gjj", &[], pb::PartState::Routed),
                pb_part("ZC", "640100-gjj", &[], pb::PartState::Routed),
            ],
            step(0),
        );
        assert_eq!(accountable_office(&parts, "140900-gjj"), "140900-gjj");
        let approved = pb_part("ZR", "140900-gjj", &[], pb::PartState::Approved);
        apply(&mut parts, &approved, step(3));
        assert_eq!(accountable_office(&parts, "140900-gjj"), "640100-gjj");
    }

    #[test]
    fn a_late_update_never_moves_a_part_back() {
        let mut parts = routed();
        let claimed = pb_part("QR", QR_OFFICE, &[], pb::PartState::Claimed);
        let approved = pb_part("QR", QR_OFFICE, &[], pb::PartState::Approved);
        let (early, late) = (step(1), step(2));
        assert_eq!(apply(&mut parts, &approved, late), Applied::Moved);
        assert_eq!(apply(&mut parts, &claimed, early), Applied::Stale);
        assert_eq!(states(&parts)[0], PartState::Approved);
        // The same moment: the later event id wins.
        let again = Step {
            at: late.at,
            event_id: Uuid::now_v7(),
        };
        assert_eq!(apply(&mut parts, &claimed, again), Applied::Moved);
        assert_eq!(
            apply(&mut parts, &pb::CasePart::default(), step(3)),
            Applied::Empty
        );
    }

    #[test]
    fn a_missing_state_is_the_starting_one_and_the_updated_at_of_the_part_orders_it() {
        let mut unspecified = pb_part("QC", QC_OFFICE, &["QR"], pb::PartState::Unspecified);
        let parts = of_summary(
            &[
                pb_part("QR", QR_OFFICE, &[], pb::PartState::Unspecified),
                unspecified.clone(),
            ],
            step(0),
        );
        assert_eq!(states(&parts), [PartState::Routed, PartState::Waiting]);
        let at = step(7).at;
        unspecified.updated_at = Some(tongban_runtime::convert::timestamp(at));
        let mut parts = parts;
        apply(&mut parts, &unspecified, step(1));
        assert_eq!(parts[1].step.at, at);
    }

    #[test]
    fn supplement_and_withdrawal_move_the_open_parts_only() {
        let mut parts = routed();
        apply(
            &mut parts,
            &pb_part("QR", QR_OFFICE, &[], pb::PartState::SupplementRequested),
            step(1),
        );
        supplemented(&mut parts, step(2));
        assert_eq!(
            states(&parts),
            [PartState::Supplemented, PartState::Waiting]
        );
        assert_eq!(accountable_office(&parts, QR_OFFICE), QR_OFFICE);
        apply(
            &mut parts,
            &pb_part("QR", QR_OFFICE, &[], pb::PartState::Approved),
            step(3),
        );
        withdrawn(&mut parts, step(4));
        assert_eq!(states(&parts), [PartState::Approved, PartState::Withdrawn]);
        assert_eq!(accountable_office(&parts, QR_OFFICE), QR_OFFICE);
    }

    #[test]
    fn an_unknown_part_is_added_after_the_others() {
        let mut parts = Vec::new();
        assert_eq!(accountable_office(&parts, QR_OFFICE), QR_OFFICE);
        apply(
            &mut parts,
            &pb_part("QC", QC_OFFICE, &["QR"], pb::PartState::Routed),
            step(1),
        );
        assert_eq!(accountable_office(&parts, QR_OFFICE), QC_OFFICE);
    }
}
