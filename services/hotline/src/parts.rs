//! 多地联办 in the status read model: the parts of a joint case as the hotline keeps them (a JSONB
//! list of the shared [`KeptPart`] on the case row), moved on by `case.part_updated` and by the
//! case-level events that move every part at once (补正材料已到, 撤回,
//! [`tongban_runtime::parts`]). What is the hotline's own: a reason read to callers never shows
//! a phone or ID number in full.

use tongban_proto::common::v1 as pb;
pub use tongban_runtime::parts::{KeptPart, Step};

use crate::rules::mask_long_numbers;

/// The part of a `CasePart` message carried by the event of `step` (see
/// [`tongban_runtime::parts::from_pb`]), its reason's long digit runs masked. `None` for a part without a
/// code.
pub fn received(part: &pb::CasePart, step: Step) -> Option<KeptPart> {
    tongban_runtime::parts::from_pb(part, step).map(|mut part| {
        // A phone or ID number typed into a reason is never kept in full.
        part.reason = mask_long_numbers(&part.reason);
        part
    })
}

/// The parts of a case summary carried by the event of `step` (those without a code left out).
pub fn of_summary(parts: &[pb::CasePart], step: Step) -> Vec<KeptPart> {
    parts.iter().filter_map(|p| received(p, step)).collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn reasons_are_kept_masked() {
        let step = Step {
            at: Utc::now(),
            event_id: Uuid::now_v7(),
        };
        let part = pb::CasePart {
            part_code: "QC".to_owned(),
            state: pb::PartState::Approved.into(),
            reason: "材料齐全，联系电话13800138000".to_owned(),
            ..Default::default()
        };
        let kept = of_summary(&[part.clone(), pb::CasePart::default()], step);
        assert_eq!(kept.len(), 1, "a part without a code is left out");
        assert_eq!(kept[0].reason, "材料齐全，联系电话138****8000");
        assert_eq!(received(&part, step), Some(kept[0].clone()));
    }
}
