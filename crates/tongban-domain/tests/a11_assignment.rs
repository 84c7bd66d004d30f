//! 属地审批 steps on a case's assignment rows (`assignment`): a case handled by one office, the
//! 多地联办 `plan` (one 补正 at a time, an approval starting the parts that are ready, a denial
//! cancelling the open parts), the decision's originals and checklist checks, the window's
//! steps reaching the review rows — and, by proptest, that no sequence of legal steps on any
//! joint matter reaches an illegal state.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use proptest::prelude::*;
use tongban_domain::assignment::{
    CaseReview, Command, Outcome, Refusal, denial_reason, plan, review, window_step,
};
use tongban_domain::case::{CaseCommand, CaseEvent, CaseStatus, Decision, TransitionError};
use tongban_domain::catalog::{JointPart, Locality};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::joint::{self, PartState, PartView};

use PartState::{
    Approved, Cancelled, Claimed, Denied, Routed, SupplementRequested, Supplemented, Waiting,
};

fn part(code: &str, after: &[&str]) -> JointPart {
    JointPart {
        code: code.to_owned(),
        name: format!("环节{code}"),
        name_en: format!("Part {code}"),
        department: "gongan".to_owned(),
        locality: Locality::HomeDivision,
        after: after.iter().map(|s| (*s).to_owned()).collect(),
        review_points: Vec::new(),
    }
}

fn claim() -> CaseCommand {
    CaseCommand::Claim {
        reviewer: "r".to_owned(),
    }
}

fn decide(decision: Decision) -> CaseCommand {
    CaseCommand::Decide { decision }
}

fn supplement() -> CaseCommand {
    CaseCommand::RequestSupplement {
        items: vec!["户口簿".to_owned()],
        reason: "不清晰".to_owned(),
    }
}

fn withdraw() -> CaseCommand {
    CaseCommand::Withdraw {
        reason: "申请人撤回".to_owned(),
    }
}

fn single(status: CaseStatus) -> CaseReview {
    CaseReview {
        status,
        parts: Vec::new(),
    }
}

fn approve_with(originals_missing: Option<Vec<String>>) -> Command {
    Command::Decide {
        decision: Decision::Approve,
        reason: String::new(),
        checklist: Vec::new(),
        originals_missing,
    }
}

// ---- one office -------------------------------------------------------------------------

#[test]
fn a_claim_on_one_office_moves_the_case() {
    let claimed = review(
        &single(CaseStatus::Routed),
        0,
        &Command::Claim {
            reviewer: "li".to_owned(),
        },
        None,
    )
    .unwrap();
    assert_eq!(
        claimed,
        Outcome {
            status: CaseStatus::Claimed,
            parts: Vec::new(),
            changed: Vec::new(),
            case_events: vec![CaseEvent::Claimed],
            stops_clock: false,
        }
    );
}

#[test]
fn a_supplement_request_stops_the_clock() {
    let asked = review(
        &single(CaseStatus::Claimed),
        0,
        &Command::RequestSupplement {
            items: vec!["户口簿".to_owned()],
            reason: "不清晰".to_owned(),
        },
        None,
    )
    .unwrap();
    assert_eq!(asked.status, CaseStatus::SupplementRequested);
    assert!(asked.stops_clock);
}

#[test]
fn a_step_the_state_does_not_allow_is_case_state() {
    let refused = review(&single(CaseStatus::Routed), 0, &approve_with(None), None);
    let Err(refusal) = refused else {
        panic!("refused: {refused:?}")
    };
    assert!(matches!(
        refusal,
        Refusal::CaseState(TransitionError::Illegal { .. })
    ));
    assert_eq!(refusal.kind(), "CASE_STATE");
    assert_eq!(refusal.subject(), "state");
}

#[test]
fn approval_waits_for_the_originals_at_the_lead_office_only() {
    let missing = Some(vec!["M01".to_owned()]);
    let refused = review(
        &single(CaseStatus::Claimed),
        0,
        &approve_with(missing.clone()),
        None,
    );
    assert_eq!(
        refused,
        Err(Refusal::OriginalsNotDelivered {
            codes: vec!["M01".to_owned()]
        })
    );
    // The state is checked first.
    assert!(matches!(
        review(
            &single(CaseStatus::Routed),
            0,
            &approve_with(missing.clone()),
            None
        ),
        Err(Refusal::CaseState(_))
    ));
    // A denial need not wait.
    let deny = Command::Decide {
        decision: Decision::Deny,
        reason: "不符".to_owned(),
        checklist: Vec::new(),
        originals_missing: missing.clone(),
    };
    assert_eq!(
        review(&single(CaseStatus::Claimed), 0, &deny, None)
            .unwrap()
            .decided(),
        Some(Decision::Deny)
    );
    // The second part's office does not receive the originals.
    let case = CaseReview {
        status: CaseStatus::Claimed,
        parts: vec![(part("A", &[]), Claimed), (part("B", &[]), Claimed)],
    };
    assert!(review(&case, 1, &approve_with(missing), None).is_ok());
}

// ---- 多地联办 -----------------------------------------------------------------------------

#[test]
fn a_waiting_part_cannot_be_claimed_and_names_what_it_waits_for() {
    let parts = [part("QR", &[]), part("QC", &["QR"])];
    let refused = plan(&parts, &[Routed, Waiting], 1, CaseStatus::Routed, &claim());
    assert_eq!(
        refused,
        Err(Refusal::PartWaiting {
            awaiting: vec!["环节QR".to_owned()]
        })
    );
    let refusal = refused.unwrap_err();
    assert_eq!(refusal.kind(), "PART_WAITING");
    assert_eq!(refusal.subject(), "case_id");
    assert_eq!(refusal.text(Lang::Zh), "须待「环节QR」办结后方可办理本环节");
}

#[test]
fn the_first_claim_claims_the_case_and_a_later_one_is_no_case_news() {
    let parts = [part("A", &[]), part("B", &[])];
    let first = plan(&parts, &[Routed, Routed], 0, CaseStatus::Routed, &claim()).unwrap();
    assert_eq!(first.states, vec![Claimed, Routed]);
    assert_eq!(first.case_status, CaseStatus::Claimed);
    assert_eq!(first.case_events, vec![CaseEvent::Claimed]);
    assert_eq!(first.changed, vec![0]);
    let second = plan(&parts, &[Claimed, Routed], 1, CaseStatus::Claimed, &claim()).unwrap();
    assert_eq!(second.states, vec![Claimed, Claimed]);
    assert!(second.case_events.is_empty());
}

#[test]
fn approving_the_first_part_starts_the_next_and_the_last_approval_decides_the_case() {
    let parts = [part("QR", &[]), part("QC", &["QR"])];
    let first = plan(
        &parts,
        &[Claimed, Waiting],
        0,
        CaseStatus::Claimed,
        &decide(Decision::Approve),
    )
    .unwrap();
    assert_eq!(first.states, vec![Approved, Routed]);
    assert_eq!(first.changed, vec![0, 1]);
    assert_eq!(first.case_status, CaseStatus::Claimed);
    assert!(first.case_events.is_empty());
    let last = plan(
        &parts,
        &[Approved, Claimed],
        1,
        CaseStatus::Claimed,
        &decide(Decision::Approve),
    )
    .unwrap();
    assert_eq!(last.case_status, CaseStatus::Approved);
    assert_eq!(
        last.case_events,
        vec![CaseEvent::Decided(Decision::Approve)]
    );
}

#[test]
fn a_denial_cancels_the_open_parts_and_denies_the_case() {
    let parts = [part("A", &[]), part("B", &[]), part("C", &["A", "B"])];
    let denied = plan(
        &parts,
        &[Approved, Claimed, Waiting],
        1,
        CaseStatus::Claimed,
        &decide(Decision::Deny),
    )
    .unwrap();
    assert_eq!(denied.states, vec![Approved, Denied, Cancelled]);
    assert_eq!(denied.changed, vec![1, 2]);
    assert_eq!(denied.case_status, CaseStatus::Denied);
    assert_eq!(denied.case_events, vec![CaseEvent::Decided(Decision::Deny)]);
    assert_eq!(
        denial_reason("环节B", "账户未开立"),
        "「环节B」不予：账户未开立"
    );
}

#[test]
fn one_supplement_at_a_time_and_no_decision_meanwhile() {
    let parts = [part("A", &[]), part("B", &[])];
    let asked = plan(
        &parts,
        &[Claimed, Claimed],
        0,
        CaseStatus::Claimed,
        &supplement(),
    )
    .unwrap();
    assert_eq!(asked.case_events, vec![CaseEvent::SupplementRequested]);
    assert_eq!(asked.case_status, CaseStatus::SupplementRequested);
    let states = [SupplementRequested, Claimed];
    for command in [supplement(), decide(Decision::Approve)] {
        let refused = plan(
            &parts,
            &states,
            1,
            CaseStatus::SupplementRequested,
            &command,
        );
        assert_eq!(
            refused,
            Err(Refusal::CaseInSupplement {
                part: "环节A".to_owned()
            })
        );
        assert_eq!(refused.unwrap_err().kind(), "CASE_IN_SUPPLEMENT");
    }
    // Claiming meanwhile is fine, and no news for the case.
    let claimed = plan(
        &parts,
        &[SupplementRequested, Routed],
        1,
        CaseStatus::SupplementRequested,
        &claim(),
    )
    .unwrap();
    assert!(claimed.case_events.is_empty());
    assert_eq!(claimed.case_status, CaseStatus::SupplementRequested);
}

#[test]
fn a_supplemented_part_may_ask_again_and_the_case_follows() {
    let parts = [part("A", &[]), part("B", &[])];
    let again = plan(
        &parts,
        &[Supplemented, Claimed],
        1,
        CaseStatus::Supplemented,
        &supplement(),
    )
    .unwrap();
    assert_eq!(again.case_events, vec![CaseEvent::SupplementRequested]);
}

#[test]
fn a_cancelled_part_is_closed() {
    let parts = [part("A", &[]), part("B", &[])];
    let refused = plan(
        &parts,
        &[Denied, Cancelled],
        1,
        CaseStatus::Denied,
        &claim(),
    );
    assert_eq!(refused, Err(Refusal::PartClosed(Cancelled)));
    assert_eq!(refused.unwrap_err().kind(), "PART_CLOSED");
}

#[test]
fn review_of_a_joint_case_goes_through_the_plan() {
    let case = CaseReview {
        status: CaseStatus::Claimed,
        parts: vec![(part("A", &[]), Claimed), (part("B", &["A"]), Waiting)],
    };
    let approved = review(&case, 0, &approve_with(None), None).unwrap();
    assert_eq!(approved.parts, vec![Approved, Routed]);
    assert_eq!(approved.changed, vec![0, 1]);
    assert_eq!(approved.decided(), None);
}

// ---- the window's steps -----------------------------------------------------------------

#[test]
fn the_supplement_arrives_for_the_part_that_asked_only() {
    let moved = window_step(
        CaseStatus::SupplementRequested,
        &[SupplementRequested, Claimed],
        &CaseCommand::Supplement,
    )
    .unwrap();
    assert_eq!(moved.status, CaseStatus::Supplemented);
    assert_eq!(moved.parts, vec![Supplemented, Claimed]);
    assert_eq!(moved.changed, vec![0]);
}

#[test]
fn a_withdrawal_withdraws_the_open_parts_and_a_decided_case_cannot_be_withdrawn() {
    let moved = window_step(
        CaseStatus::Claimed,
        &[Approved, Claimed, Waiting],
        &withdraw(),
    )
    .unwrap();
    assert_eq!(moved.status, CaseStatus::Withdrawn);
    assert_eq!(
        moved.parts,
        vec![Approved, PartState::Withdrawn, PartState::Withdrawn]
    );
    assert_eq!(moved.changed, vec![1, 2]);
    assert!(window_step(CaseStatus::Denied, &[Denied, Cancelled], &withdraw()).is_err());
}

#[test]
fn a_case_of_one_office_moves_with_the_window() {
    let moved = window_step(CaseStatus::Approved, &[], &CaseCommand::Complete).unwrap();
    assert_eq!(moved.status, CaseStatus::Completed);
    assert!(moved.parts.is_empty() && moved.changed.is_empty());
}

// ---- proptest: no sequence of legal steps reaches an illegal state -----------------------

/// A random joint matter: 1 to 5 parts, each coming after a random subset of the earlier ones.
fn matter() -> impl Strategy<Value = Vec<JointPart>> {
    (1_usize..=5)
        .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n))
        .prop_map(|masks| {
            let codes: Vec<String> = (0..masks.len()).map(|i| format!("P{i}")).collect();
            masks
                .iter()
                .enumerate()
                .map(|(i, mask)| {
                    let after: Vec<&str> = (0..i)
                        .filter(|j| mask & (1 << j) != 0)
                        .map(|j| codes[j].as_str())
                        .collect();
                    part(&codes[i], &after)
                })
                .collect()
        })
}

/// One step anyone may try: a reviewer's command on a part, or the window's.
#[derive(Debug, Clone)]
enum Try {
    Review(usize, CaseCommand),
    Window(CaseCommand),
}

fn tries() -> impl Strategy<Value = Vec<Try>> {
    let one = prop_oneof![
        (0_usize..5).prop_map(|i| Try::Review(i, claim())),
        (0_usize..5).prop_map(|i| Try::Review(i, supplement())),
        (0_usize..5).prop_map(|i| Try::Review(i, decide(Decision::Approve))),
        (0_usize..5).prop_map(|i| Try::Review(i, decide(Decision::Deny))),
        Just(Try::Window(CaseCommand::Supplement)),
        Just(Try::Window(withdraw())),
        Just(Try::Window(CaseCommand::Complete)),
    ];
    proptest::collection::vec(one, 0..40)
}

fn check_legal(parts: &[JointPart], states: &[PartState], status: CaseStatus) {
    let in_supplement = states.iter().filter(|s| **s == SupplementRequested).count();
    assert!(in_supplement <= 1, "two parts in 补正: {states:?}");
    if matches!(status, CaseStatus::Approved) {
        assert!(
            states.iter().all(|s| *s == Approved),
            "approved case with an unapproved part: {states:?}"
        );
    }
    if states.contains(&Denied) {
        assert!(
            matches!(status, CaseStatus::Denied | CaseStatus::Completed),
            "a denied part ends the case: {status:?} {states:?}"
        );
        assert!(
            states.iter().all(|s| s.is_done()),
            "a denied part leaves no part open: {states:?}"
        );
    }
    if status != CaseStatus::Completed {
        assert_eq!(
            joint::case_status(states.iter().copied()),
            status,
            "the case status is derived from the parts: {states:?}"
        );
    }
    let views = PartView::zip(parts, states);
    assert!(
        joint::ready(&views).is_empty(),
        "a part waits for nothing: {states:?}"
    );
}

proptest! {
    #[test]
    fn legal_steps_on_joint_parts_never_reach_an_illegal_state(
        parts in matter(),
        tries in tries(),
    ) {
        let mut states: Vec<PartState> = parts.iter().map(joint::initial_state).collect();
        let mut status = CaseStatus::Routed;
        check_legal(&parts, &states, status);
        for step in tries {
            match step {
                Try::Review(acting, command) => {
                    let acting = acting % parts.len();
                    let Ok(next) = plan(&parts, &states, acting, status, &command) else {
                        continue;
                    };
                    // The case moves (with its own event) exactly when its status changes.
                    prop_assert_eq!(next.case_events.is_empty(), next.case_status == status
                        || (matches!(command, CaseCommand::Decide { .. })
                            && joint::outcome(next.states.iter().copied()).is_none()));
                    if next.states[acting] == Denied {
                        prop_assert_eq!(next.case_status, CaseStatus::Denied);
                        prop_assert_eq!(
                            &next.case_events,
                            &vec![CaseEvent::Decided(Decision::Deny)]
                        );
                    }
                    prop_assert_eq!(next.changed.first(), Some(&acting));
                    states = next.states;
                    status = next.case_status;
                }
                Try::Window(command) => {
                    let parts_before = states.clone();
                    let Ok(next) = window_step(status, &states, &command) else {
                        continue;
                    };
                    for i in &next.changed {
                        prop_assert_ne!(parts_before[*i], next.parts[*i]);
                    }
                    states = next.parts;
                    status = next.status;
                }
            }
            check_legal(&parts, &states, status);
        }
    }
}
