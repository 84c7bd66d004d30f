//! 一件事 steps as pure rules: which waiting members start when a provider is approved, the
//! withdrawal cascade when one is denied or withdrawn, the bundle's 一次性告知 of missing
//! materials, and how 补正 material merges into a case's materials. The proptests drive random
//! legal member steps through the rules and check the bundle never reaches a state they forbid.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use proptest::prelude::*;
use tongban_domain::bundle::{
    Bundle, BundleStatus, Ended, MemberEffect, MemberState, Provision, is_consistent,
    member_approved, member_ended, member_refused, missing_materials,
};
use tongban_domain::case::{self, CaseCommand, CaseEvent, CaseStatus, Decision};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::materials::{MissingMaterial, MissingReason, merge_supplemented};

fn member(matter: &str, status: CaseStatus, waits_for: &[&str]) -> MemberState {
    MemberState {
        matter: matter.to_owned(),
        name: format!("事项{matter}"),
        status,
        decision: None,
        waits_for: waits_for.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn approved(mut m: MemberState) -> MemberState {
    m.status = CaseStatus::Approved;
    m.decision = Some(Decision::Approve);
    m
}

/// 出生一件事: A (出生医学证明) provides for B and C; D waits for B; E waits for A and F.
fn birth() -> Vec<MemberState> {
    vec![
        member("A", CaseStatus::Claimed, &[]),
        member("B", CaseStatus::Submitted, &["A"]),
        member("C", CaseStatus::Submitted, &["A"]),
        member("D", CaseStatus::Submitted, &["B"]),
        member("E", CaseStatus::Submitted, &["A", "F"]),
        member("F", CaseStatus::Routed, &[]),
    ]
}

#[test]
fn an_approved_provider_starts_the_members_it_alone_was_holding_back() {
    let mut members = birth();
    members[0] = approved(members[0].clone());
    let (next, effects) = member_approved(&members, 0).unwrap();
    let accepted = vec![CaseEvent::Accepted, CaseEvent::Routed];
    assert_eq!(
        effects,
        vec![
            MemberEffect::Accept {
                index: 1,
                events: accepted.clone()
            },
            MemberEffect::Accept {
                index: 2,
                events: accepted.clone()
            },
        ],
        "E still waits for F; D waits for B, not A"
    );
    assert_eq!(next[1].status, CaseStatus::Routed);
    assert_eq!(next[4].status, CaseStatus::Submitted);
    assert!(is_consistent(&next));

    // F's approval then starts E.
    let mut members = next;
    members[5] = approved(members[5].clone());
    let (next, effects) = member_approved(&members, 5).unwrap();
    assert_eq!(
        effects,
        vec![MemberEffect::Accept {
            index: 4,
            events: accepted
        }]
    );
    assert_eq!(next[4].status, CaseStatus::Routed);
}

#[test]
fn a_denied_provider_withdraws_its_waiting_members_and_theirs() {
    let mut members = birth();
    members[0].status = CaseStatus::Denied;
    members[0].decision = Some(Decision::Deny);
    let (next, effects) = member_ended(&members, 0, Ended::Denied).unwrap();
    let reasons: Vec<(usize, String)> = effects
        .iter()
        .map(|e| match e {
            MemberEffect::Withdraw {
                index,
                reason,
                events,
            } => {
                assert_eq!(events, &[CaseEvent::Withdrawn]);
                (*index, reason.clone())
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, "前序事项「事项A」不予办理，本事项无法办理".to_owned()),
            (2, "前序事项「事项A」不予办理，本事项无法办理".to_owned()),
            (4, "前序事项「事项A」不予办理，本事项无法办理".to_owned()),
            (3, "前序事项「事项B」已撤回，本事项无法办理".to_owned()),
        ]
    );
    assert_eq!(next[5].status, CaseStatus::Routed, "F waits for nobody");
    assert!(next[1..5].iter().all(|m| m.status == CaseStatus::Withdrawn));
    assert!(is_consistent(&next));
}

#[test]
fn a_member_that_cannot_be_accepted_is_withdrawn_with_its_reason() {
    let mut members = birth();
    members[0] = approved(members[0].clone());
    let (next, effects) = member_refused(&members, 1, "本事项无法分派：无受理机构").unwrap();
    assert_eq!(
        effects,
        vec![
            MemberEffect::Withdraw {
                index: 1,
                reason: "本事项无法分派：无受理机构".to_owned(),
                events: vec![CaseEvent::Withdrawn]
            },
            MemberEffect::Withdraw {
                index: 3,
                reason: "前序事项「事项B」已撤回，本事项无法办理".to_owned(),
                events: vec![CaseEvent::Withdrawn]
            },
        ]
    );
    assert!(is_consistent(&next));
    // A member no longer waiting is left alone.
    let (same, none) = member_refused(&next, 0, "x").unwrap();
    assert_eq!(same, next);
    assert!(none.is_empty());
}

fn missing(code: &str) -> MissingMaterial {
    MissingMaterial {
        code: code.to_owned(),
        name: format!("材料{code}"),
        reason: MissingReason::NotPresented,
    }
}

#[test]
fn each_missing_material_is_listed_once_with_every_member_needing_it() {
    let bundle = Bundle {
        code: "YJS-CS".to_owned(),
        name: "出生一件事".to_owned(),
        name_en: "Birth".to_owned(),
        description: String::new(),
        matters: vec!["A".to_owned(), "B".to_owned(), "C".to_owned()],
        provides: vec![Provision {
            matter: "A".to_owned(),
            material: "CSZM".to_owned(),
        }],
    };
    let listed = missing_materials(
        &bundle,
        [
            ("事项A", vec![missing("SFZ")]),
            (
                "事项B",
                vec![missing("SFZ"), missing("CSZM"), missing("HKB")],
            ),
            ("事项C", vec![missing("HKB")]),
        ],
    );
    let codes: Vec<(&str, Vec<&str>)> = listed
        .iter()
        .map(|m| {
            (
                m.material.code.as_str(),
                m.needed_by.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            ("SFZ", vec!["事项A", "事项B"]),
            ("HKB", vec!["事项B", "事项C"]),
        ],
        "CSZM is provided by member A"
    );
    assert_eq!(
        listed[0].text(Lang::Zh),
        "材料SFZ（SFZ）：未提交（需要该材料的事项：事项A、事项B）"
    );
    assert_eq!(
        listed[1].text(Lang::En),
        "材料HKB (HKB): not presented (needed for: 事项B, 事项C)"
    );
}

#[test]
fn supplemented_material_replaces_its_code_and_keeps_the_rest() {
    let stored = vec![("SFZ", 1), ("HKB", 1), ("CSZM", 1)];
    let handed_in = vec![("HKB", 2), ("ZP", 2)];
    assert_eq!(
        merge_supplemented(stored, handed_in, |m| m.0),
        vec![("SFZ", 1), ("CSZM", 1), ("HKB", 2), ("ZP", 2)]
    );
}

/// A step a member's case can take, as the window or an office would take it.
#[derive(Debug, Clone, Copy)]
enum Action {
    Claim,
    RequestSupplement,
    Supplement,
    Approve,
    Deny,
    Complete,
    Withdraw,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Claim),
        Just(Action::RequestSupplement),
        Just(Action::Supplement),
        Just(Action::Approve),
        Just(Action::Deny),
        Just(Action::Complete),
        Just(Action::Withdraw),
    ]
}

/// A bundle of 2 to 6 members, each waiting for some earlier ones (no cycles: the catalog
/// refuses them).
fn bundle_shape() -> impl Strategy<Value = Vec<MemberState>> {
    (2usize..=6)
        .prop_flat_map(|n| {
            proptest::collection::vec(proptest::collection::vec(any::<bool>(), n), n)
        })
        .prop_map(|edges| {
            let n = edges.len();
            (0..n)
                .map(|i| {
                    let code = format!("M{i}");
                    let waits: Vec<String> = (0..i)
                        .filter(|j| edges[i][*j])
                        .map(|j| format!("M{j}"))
                        .collect();
                    MemberState {
                        matter: code.clone(),
                        name: format!("事项{code}"),
                        status: if waits.is_empty() {
                            CaseStatus::Routed
                        } else {
                            CaseStatus::Submitted
                        },
                        decision: None,
                        waits_for: waits,
                    }
                })
                .collect()
        })
}

/// Takes `action` on member `index` if its case allows it, then the bundle's rules; `None`
/// when the step does not apply.
fn step(members: &[MemberState], index: usize, action: Action) -> Option<Vec<MemberState>> {
    let member = &members[index];
    if member.is_waiting() && !matches!(action, Action::Withdraw) {
        // A waiting member only starts through the bundle's rules.
        return None;
    }
    let command = match action {
        Action::Claim => CaseCommand::Claim {
            reviewer: "r".to_owned(),
        },
        Action::RequestSupplement => CaseCommand::RequestSupplement {
            items: vec!["户口簿".to_owned()],
            reason: "不清晰".to_owned(),
        },
        Action::Supplement => CaseCommand::Supplement,
        Action::Approve => CaseCommand::Decide {
            decision: Decision::Approve,
        },
        Action::Deny => CaseCommand::Decide {
            decision: Decision::Deny,
        },
        Action::Complete => CaseCommand::Complete,
        Action::Withdraw => CaseCommand::Withdraw {
            reason: "申请人撤回".to_owned(),
        },
    };
    let (status, _) = case::transition(member.status, &command).ok()?;
    let mut moved = members.to_vec();
    moved[index].status = status;
    if let CaseCommand::Decide { decision } = command {
        moved[index].decision = Some(decision);
    }
    let (next, effects) = match action {
        Action::Approve => member_approved(&moved, index),
        Action::Deny => member_ended(&moved, index, Ended::Denied),
        Action::Withdraw => member_ended(&moved, index, Ended::Withdrawn),
        _ => Ok((moved, Vec::new())),
    }
    .ok()?;
    for effect in &effects {
        match effect {
            MemberEffect::Accept { index, .. } => {
                assert_eq!(next[*index].status, CaseStatus::Routed);
            }
            MemberEffect::Withdraw { index, .. } => {
                assert_eq!(next[*index].status, CaseStatus::Withdrawn);
            }
        }
    }
    Some(next)
}

/// The bundle's status says what its members say.
fn status_agrees(members: &[MemberState]) -> bool {
    let outcomes: Vec<CaseStatus> = members.iter().map(MemberState::outcome).collect();
    let live: Vec<CaseStatus> = outcomes
        .iter()
        .copied()
        .filter(|s| *s != CaseStatus::Withdrawn)
        .collect();
    match BundleStatus::derive(outcomes.iter().copied()) {
        BundleStatus::Withdrawn => live.is_empty(),
        BundleStatus::SupplementRequested => live.contains(&CaseStatus::SupplementRequested),
        BundleStatus::InProgress => live.iter().any(|s| !s.is_decided()),
        BundleStatus::Completed => {
            !live.is_empty()
                && live
                    .iter()
                    .all(|s| matches!(s, CaseStatus::Approved | CaseStatus::Completed))
        }
        BundleStatus::Denied => !live.is_empty() && live.iter().all(|s| *s == CaseStatus::Denied),
        BundleStatus::PartlyDenied => {
            live.iter().all(|s| s.is_decided())
                && live.contains(&CaseStatus::Denied)
                && live.iter().any(|s| *s != CaseStatus::Denied)
        }
    }
}

proptest! {
    #[test]
    fn legal_member_steps_never_reach_an_illegal_bundle(
        start in bundle_shape(),
        steps in proptest::collection::vec((0usize..6, action()), 0..40),
    ) {
        let mut members = start;
        prop_assert!(is_consistent(&members));
        for (index, action) in steps {
            let index = index % members.len();
            if let Some(next) = step(&members, index, action) {
                members = next;
            }
            prop_assert!(is_consistent(&members), "{members:#?}");
            // No member is left waiting for members that are all approved.
            for m in members.iter().filter(|m| m.is_waiting()) {
                prop_assert!(
                    m.waits_for.iter().any(|c| members
                        .iter()
                        .any(|a| &a.matter == c && !a.is_approved())),
                    "{} waits for nothing: {members:#?}", m.matter
                );
            }
            prop_assert!(status_agrees(&members), "{members:#?}");
        }
    }
}

#[test]
fn a_waiting_member_names_the_members_it_still_waits_for() {
    let mut members = birth();
    assert_eq!(members[4].still_waiting_for(&members), ["事项A", "事项F"]);
    members[0] = approved(members[0].clone());
    assert_eq!(members[4].still_waiting_for(&members), ["事项F"]);
    members[4].waits_for.push("X".to_owned());
    assert_eq!(
        members[4].still_waiting_for(&members),
        ["事项F", "X"],
        "a member not in the bundle is named by its code"
    );
    assert!(members[0].still_waiting_for(&members).is_empty());
    assert!(
        members[5].still_waiting_for(&members).is_empty(),
        "F was accepted at once"
    );
}
