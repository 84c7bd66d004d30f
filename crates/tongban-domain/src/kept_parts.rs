//! 多地联办: a joint case's parts as a service keeps its own copy of them (intake, hotline,
//! supervision), moved on by `case.part_updated` and by the case-level steps that move every
//! part at once (补正材料已到, 撤回), and the plain-language timeline line of a part's step.
//! Pure: each service loads, applies and stores; the message form of a part (proto) is the
//! shell's (`tongban_runtime::parts`).
//!
//! A step never moves a part back: steps are ordered by their moment, then by the id of the
//! event that carried them (event ids are UUIDv7, made in the order their producers made the
//! steps, so they order the steps of one moment — a second 补正 after a first one, a manual
//! clock standing still — where the moment alone could not).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::case::Decision;
use crate::catalog::Scope;
use crate::joint::PartState;
use crate::timeline::TimelineText;

/// The event a part's step comes from: its moment, then its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Step {
    /// When the step happened.
    pub at: DateTime<Utc>,
    /// The event that carried it (nil for a step the service made itself).
    pub event_id: Uuid,
}

/// One part of a joint case as a service keeps it: its route (office, scope) and where it
/// stands.
///
/// Stored as JSON; [`KeptPart`] reads every shape the services stored before they shared it
/// (see [`StoredShape`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredShape")]
pub struct KeptPart {
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
    /// Set under 区域通办 (empty otherwise).
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
    /// The decision's reason (empty until decided).
    pub reason: String,
    /// When the part last moved.
    pub updated_at: DateTime<Utc>,
    /// The event that last moved it (see [`Step`]).
    pub event_id: Uuid,
}

/// What the services stored before they shared [`KeptPart`], read leniently:
/// - intake: `agreement_id` `null` when none, no `event_id`;
/// - hotline: the shape of [`KeptPart`] itself;
/// - supervision: only `code`, `name`, `office_id`, `state` and `step: {at, event_id}`.
#[derive(Deserialize)]
struct StoredShape {
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    office_id: String,
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    agreement_id: Option<String>,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    division: String,
    state: PartState,
    #[serde(default)]
    decision: Option<Decision>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    event_id: Option<Uuid>,
    /// Supervision's former `{at, event_id}`.
    #[serde(default)]
    step: Option<Step>,
}

impl From<StoredShape> for KeptPart {
    fn from(s: StoredShape) -> Self {
        Self {
            code: s.code,
            name: s.name,
            name_en: s.name_en,
            department: s.department,
            office_id: s.office_id,
            scope: s.scope,
            agreement_id: s.agreement_id.unwrap_or_default(),
            after: s.after,
            locality: s.locality,
            division: s.division,
            state: s.state,
            decision: s.decision,
            reason: s.reason,
            updated_at: s
                .updated_at
                .or(s.step.map(|step| step.at))
                .unwrap_or_default(),
            event_id: s
                .event_id
                .or(s.step.map(|step| step.event_id))
                .unwrap_or_default(),
        }
    }
}

impl KeptPart {
    /// The step that last moved the part.
    #[must_use]
    pub fn step(&self) -> Step {
        Step {
            at: self.updated_at,
            event_id: self.event_id,
        }
    }

    fn moved(&mut self, state: PartState, step: Step) {
        self.state = state;
        self.updated_at = step.at;
        self.event_id = step.event_id;
    }
}

/// What a part's update did; each carries the part's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The part moved to another state (or was added: a part not known yet).
    Moved(usize),
    /// The part already was in that state (a redelivery, or a step that changed no state); its
    /// route and step were refreshed.
    Unchanged(usize),
    /// The update is older than what the part shows: the part is left as it is.
    Stale(usize),
}

/// Applies a part's update (`case.part_updated`): its state, decision and reason, its step, and
/// its route where the update carries one. A part not known yet is added after the others.
pub fn apply(parts: &mut Vec<KeptPart>, update: KeptPart) -> Applied {
    let Some(index) = parts.iter().position(|p| p.code == update.code) else {
        parts.push(update);
        return Applied::Moved(parts.len() - 1);
    };
    let part = &mut parts[index];
    let step = update.step();
    if step < part.step() {
        return Applied::Stale(index);
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
    if update.decision.is_some() {
        part.decision = update.decision;
        part.reason = update.reason;
    } else {
        keep(update.reason, &mut part.reason);
    }
    let changed = part.state != update.state;
    part.moved(update.state, step);
    if changed {
        Applied::Moved(index)
    } else {
        Applied::Unchanged(index)
    }
}

/// Who makes a case-level step that moves parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The service makes the step itself on the locked case (the window handing in 补正,
    /// withdrawing): nothing it holds can be newer, so every concerned part moves.
    Own,
    /// The service follows the step's event: a part showing a newer step stays as it is.
    Event,
}

fn move_where(
    parts: &mut [KeptPart],
    concerned: impl Fn(&KeptPart) -> bool,
    to: PartState,
    step: Step,
    origin: Origin,
) -> bool {
    let mut moved = false;
    for part in parts
        .iter_mut()
        .filter(|p| concerned(p) && (origin == Origin::Own || p.step() <= step))
    {
        part.moved(to, step);
        moved = true;
    }
    moved
}

/// 补正材料已到 (`case.supplemented`, at `step`): the part waiting for material is supplemented.
/// Returns whether a part moved.
pub fn supplemented(parts: &mut [KeptPart], step: Step, origin: Origin) -> bool {
    move_where(
        parts,
        |p| p.state == PartState::SupplementRequested,
        PartState::Supplemented,
        step,
        origin,
    )
}

/// 撤回 (`case.withdrawn`, at `step`): every part not done is withdrawn. Returns whether a part
/// moved.
pub fn withdrawn(parts: &mut [KeptPart], step: Step, origin: Origin) -> bool {
    move_where(
        parts,
        |p| !p.state.is_done(),
        PartState::Withdrawn,
        step,
        origin,
    )
}

/// The timeline line of a part's step as the window and the hotline show it, e.g.
/// `「迁入地审批」已准予（银川市公安局）`; `all` names the parts a waiting part waits for.
#[must_use]
pub fn describe(all: &[KeptPart], part: &KeptPart, office: &str) -> TimelineText {
    let name = &part.name;
    let name_en = if part.name_en.is_empty() {
        &part.name
    } else {
        &part.name_en
    };
    let reason = &part.reason;
    let (zh, en) = match part.state {
        PartState::Waiting => {
            let awaited: Vec<&KeptPart> = part
                .after
                .iter()
                .filter_map(|code| all.iter().find(|p| &p.code == code))
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
    use chrono::TimeDelta;

    use super::*;

    fn part(code: &str, state: PartState, after: &[&str], at: DateTime<Utc>) -> KeptPart {
        KeptPart {
            code: code.to_owned(),
            name: format!("{code}环节"),
            name_en: format!("Part {code}"),
            department: "gongan".to_owned(),
            office_id: format!("{code}-office"),
            scope: Some(Scope::CrossProvince),
            agreement_id: String::new(),
            after: after.iter().map(|s| (*s).to_owned()).collect(),
            locality: "home_division".to_owned(),
            division: "140922".to_owned(),
            state,
            decision: None,
            reason: String::new(),
            updated_at: at,
            event_id: Uuid::now_v7(),
        }
    }

    /// A step at `at` carried by a new event (ids made later sort later).
    fn step(at: DateTime<Utc>) -> Step {
        Step {
            at,
            event_id: Uuid::now_v7(),
        }
    }

    /// `part` moved to `state` by a new event at `at`, with no route of its own.
    fn update(part: &KeptPart, state: PartState, at: DateTime<Utc>) -> KeptPart {
        KeptPart {
            state,
            updated_at: at,
            event_id: Uuid::now_v7(),
            ..part.clone()
        }
    }

    #[test]
    fn parts_serialize_as_stored() {
        let parts = vec![
            part("QC", PartState::Routed, &[], Utc::now()),
            part("QR", PartState::Waiting, &["QC"], Utc::now()),
        ];
        let json = serde_json::to_value(&parts).expect("parts serialize");
        assert_eq!(json[1]["state"], "waiting");
        assert_eq!(json[1]["scope"], "cross_province");
        let back: Vec<KeptPart> = serde_json::from_value(json).expect("parts read back");
        assert_eq!(back, parts);
    }

    #[test]
    fn the_shapes_stored_before_are_read() {
        let id = Uuid::now_v7();
        // The window's (intake) shape.
        let intake: KeptPart = serde_json::from_value(serde_json::json!({
            "code": "QR", "name": "迁入地审批", "name_en": "Move-in approval",
            "department": "gongan", "locality": "home_division", "division": "140922",
            "office_id": "140922-gongan", "scope": "cross_province", "agreement_id": null,
            "after": [], "state": "approved", "decision": "approve", "reason": "符合条件",
            "updated_at": "2026-11-16T02:05:00Z"
        }))
        .expect("intake's shape reads");
        assert_eq!(intake.agreement_id, "");
        assert_eq!(intake.scope, Some(Scope::CrossProvince));
        assert_eq!(intake.decision, Some(Decision::Approve));
        assert_eq!(intake.event_id, Uuid::nil());
        // Supervision's shape.
        let supervision: KeptPart = serde_json::from_value(serde_json::json!({
            "code": "QC", "name": "迁出地审批", "office_id": "640100-gongan",
            "state": "routed", "step": {"at": "2026-11-16T02:07:00Z", "event_id": id}
        }))
        .expect("supervision's shape reads");
        assert_eq!(supervision.state, PartState::Routed);
        assert_eq!(supervision.event_id, id);
        assert_eq!(
            supervision.updated_at.to_rfc3339(),
            "2026-11-16T02:07:00+00:00"
        );
        assert_eq!(supervision.scope, None);
    }

    #[test]
    fn updates_apply_in_order_and_late_ones_are_ignored() {
        let t = Utc::now();
        let minutes = |m| t + TimeDelta::minutes(m);
        let qc = part("QC", PartState::Routed, &[], t);
        let qr = part("QR", PartState::Waiting, &["QC"], t);
        let mut parts = vec![qc.clone(), qr.clone()];

        // The claim is made first, delivered last.
        let claimed = update(&qc, PartState::Claimed, minutes(1));
        let mut approved = update(&qc, PartState::Approved, minutes(2));
        approved.decision = Some(Decision::Approve);
        approved.reason = "材料齐全".to_owned();
        assert_eq!(apply(&mut parts, approved.clone()), Applied::Moved(0));
        assert_eq!(parts[0].decision, Some(Decision::Approve));
        assert_eq!(parts[0].reason, "材料齐全");
        assert_eq!(apply(&mut parts, claimed), Applied::Stale(0));
        assert_eq!(parts[0].state, PartState::Approved);
        // The same event again changes nothing.
        assert_eq!(apply(&mut parts, approved), Applied::Unchanged(0));
        assert_eq!(parts[0].state, PartState::Approved);

        // Two rounds of 补正 within one moment: the events' order decides.
        let now = minutes(3);
        let first = update(&qr, PartState::SupplementRequested, now);
        assert_eq!(apply(&mut parts, first), Applied::Moved(1));
        assert!(supplemented(&mut parts, step(now), Origin::Event));
        assert_eq!(parts[1].state, PartState::Supplemented);
        assert_eq!(
            parts[0].state,
            PartState::Approved,
            "only the part in 补正 moves"
        );
        let second = update(&qr, PartState::SupplementRequested, now);
        assert_eq!(apply(&mut parts, second), Applied::Moved(1));

        // A withdrawal made before the 补正 and delivered after it changes nothing; a later
        // one withdraws every part not done.
        let early = Step {
            at: minutes(2),
            event_id: Uuid::now_v7(),
        };
        assert!(!withdrawn(&mut parts, early, Origin::Event));
        assert_eq!(parts[1].state, PartState::SupplementRequested);
        assert!(withdrawn(&mut parts, step(minutes(5)), Origin::Event));
        assert_eq!(
            parts[0].state,
            PartState::Approved,
            "a done part stays done"
        );
        assert_eq!(parts[1].state, PartState::Withdrawn);

        // An unknown part is added after the others.
        let extra = part("ZZ", PartState::Routed, &[], t);
        assert_eq!(apply(&mut parts, extra), Applied::Moved(2));
    }

    #[test]
    fn the_window_moves_its_parts_whatever_they_show() {
        let t = Utc::now();
        let qr = part("QR", PartState::Routed, &[], t);
        let mut parts = vec![qr.clone()];
        assert_eq!(
            apply(&mut parts, update(&qr, PartState::SupplementRequested, t)),
            Applied::Moved(0)
        );
        // The window's own step at the same moment, made without an event id yet.
        let own = Step {
            at: t,
            event_id: Uuid::nil(),
        };
        assert!(!supplemented(&mut parts.clone(), own, Origin::Event));
        assert!(supplemented(&mut parts, own, Origin::Own));
        assert_eq!(parts[0].state, PartState::Supplemented);
    }

    #[test]
    fn timeline_lines_name_the_part_and_office() {
        let t = Utc::now();
        let mut parts = vec![
            part("QR", PartState::Approved, &[], t),
            part("QC", PartState::Waiting, &["QR"], t),
        ];
        parts[0].name = "迁入地审批".to_owned();
        parts[0].name_en = "Move-in approval".to_owned();
        let line = describe(&parts, &parts[0], "银川市公安局");
        assert_eq!(line.zh, "「迁入地审批」已准予（银川市公安局）");
        assert_eq!(line.en, "Part \"Move-in approval\" approved (银川市公安局)");
        let line = describe(&parts, &parts[1], "五台县公安局");
        assert_eq!(
            line.zh,
            "「QC环节」将在「迁入地审批」办结后转五台县公安局办理"
        );
        let mut part = parts[0].clone();
        part.state = PartState::Denied;
        part.reason = "迁入条件不符".to_owned();
        let line = describe(&parts, &part, "银川市公安局");
        assert_eq!(line.zh, "「迁入地审批」不予（银川市公安局）：迁入条件不符");
        part.name_en.clear();
        for state in PartState::ALL {
            part.state = state;
            let line = describe(&parts, &part, "银川市公安局");
            assert!(line.zh.contains("「迁入地审批」") && line.en.contains("迁入地审批"));
        }
    }
}
