//! 多地联办 under 督办: the parts of a joint case as supervision keeps them (the shared
//! [`KeptPart`], moved on as [`tongban_runtime::parts`] says), so that a warning or a breach is
//! raised against the office holding the case up — not against the first part's office when its
//! part is long approved and the case waits on another office. Pure: the consumer loads, applies
//! and stores; the evaluation loop asks [`accountable_office`].

use tongban_domain::stages;
pub use tongban_runtime::parts::{KeptPart, Step};

/// The office a warning or breach of the case is raised against at this moment: the domain's
/// [`stages::accountable_office`] over the kept parts.
#[must_use]
pub fn accountable_office<'a>(parts: &'a [KeptPart], responsible_office_id: &'a str) -> &'a str {
    stages::accountable_office(
        parts.iter().map(|p| (p.state, p.office_id.as_str())),
        responsible_office_id,
    )
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};
    use tongban_domain::joint::PartState;
    use tongban_proto::common::v1 as pb;
    use tongban_runtime::parts::{Applied, Origin, of_summary, supplemented, withdrawn};
    use uuid::Uuid;

    use super::*;

    /// Applies a part's update carried by the event of `step`.
    fn apply(parts: &mut Vec<KeptPart>, update: &pb::CasePart, step: Step) -> Option<Applied> {
        tongban_runtime::parts::from_pb(update, step)
            .map(|update| tongban_runtime::parts::apply(parts, update))
    }

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
    fn routed() -> Vec<KeptPart> {
        of_summary(
            &[
                pb_part("QR", QR_OFFICE, &[], pb::PartState::Routed),
                pb_part("QC", QC_OFFICE, &["QR"], pb::PartState::Waiting),
            ],
            step(0),
        )
    }

    fn states(parts: &[KeptPart]) -> Vec<PartState> {
        parts.iter().map(|p| p.state).collect()
    }

    #[test]
    fn the_first_open_part_is_accountable_and_moves_on_with_the_parts() {
        let mut parts = routed();
        assert_eq!(accountable_office(&parts, QR_OFFICE), QR_OFFICE);
        let approved = pb_part("QR", QR_OFFICE, &[], pb::PartState::Approved);
        let started = pb_part("QC", QC_OFFICE, &["QR"], pb::PartState::Routed);
        assert_eq!(
            apply(&mut parts, &approved, step(5)),
            Some(Applied::Moved(0))
        );
        // Between the two updates nobody is open: the responsible office answers.
        assert_eq!(accountable_office(&parts, QR_OFFICE), QR_OFFICE);
        assert_eq!(
            apply(&mut parts, &started, step(5)),
            Some(Applied::Moved(1))
        );
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
        assert_eq!(apply(&mut parts, &approved, late), Some(Applied::Moved(0)));
        assert_eq!(apply(&mut parts, &claimed, early), Some(Applied::Stale(0)));
        assert_eq!(states(&parts)[0], PartState::Approved);
        // The same moment: the later event id wins.
        let again = Step {
            at: late.at,
            event_id: Uuid::now_v7(),
        };
        assert_eq!(apply(&mut parts, &claimed, again), Some(Applied::Moved(0)));
        assert_eq!(apply(&mut parts, &pb::CasePart::default(), step(3)), None);
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
        assert_eq!(parts[1].updated_at, at);
    }

    #[test]
    fn supplement_and_withdrawal_move_the_open_parts_only() {
        let mut parts = routed();
        apply(
            &mut parts,
            &pb_part("QR", QR_OFFICE, &[], pb::PartState::SupplementRequested),
            step(1),
        );
        supplemented(&mut parts, step(2), Origin::Event);
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
        withdrawn(&mut parts, step(4), Origin::Event);
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
