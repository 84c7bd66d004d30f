//! The case state machine: every legal transition with its events, and the illegal ones.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use tongban_domain::case::{
    CaseCommand, CaseEvent, CaseStatus, Decision, TransitionError, submit, transition,
};
use tongban_domain::i18n::{Lang, Localized};

use CaseStatus as S;

fn claim() -> CaseCommand {
    CaseCommand::Claim {
        reviewer: "马红".into(),
    }
}
fn supplement_request() -> CaseCommand {
    CaseCommand::RequestSupplement {
        items: vec!["工作调动证明（加盖公章）".into(), "居民户口簿首页".into()],
        reason: "调动证明未盖章".into(),
    }
}
fn decide(decision: Decision) -> CaseCommand {
    CaseCommand::Decide { decision }
}
fn withdraw() -> CaseCommand {
    CaseCommand::Withdraw {
        reason: "申请人不再办理".into(),
    }
}

/// One command of each kind.
fn all_commands() -> Vec<CaseCommand> {
    vec![
        CaseCommand::Accept,
        CaseCommand::Route,
        claim(),
        supplement_request(),
        CaseCommand::Supplement,
        decide(Decision::Approve),
        decide(Decision::Deny),
        CaseCommand::Complete,
        withdraw(),
    ]
}

/// The legal transitions: (from, command, to, events).
fn legal() -> Vec<(CaseStatus, CaseCommand, CaseStatus, Vec<CaseEvent>)> {
    let mut table = vec![
        (
            S::Submitted,
            CaseCommand::Accept,
            S::Accepted,
            vec![CaseEvent::Accepted],
        ),
        (
            S::Accepted,
            CaseCommand::Route,
            S::Routed,
            vec![CaseEvent::Routed],
        ),
        (S::Routed, claim(), S::Claimed, vec![CaseEvent::Claimed]),
        (
            S::SupplementRequested,
            CaseCommand::Supplement,
            S::Supplemented,
            vec![CaseEvent::Supplemented],
        ),
    ];
    // Under review (claimed, or again after 补正): ask for 补正, or decide.
    for from in [S::Claimed, S::Supplemented] {
        table.push((
            from,
            supplement_request(),
            S::SupplementRequested,
            vec![CaseEvent::SupplementRequested],
        ));
        for (decision, to) in [
            (Decision::Approve, S::Approved),
            (Decision::Deny, S::Denied),
        ] {
            table.push((
                from,
                decide(decision),
                to,
                vec![CaseEvent::Decided(decision)],
            ));
        }
    }
    for from in [S::Approved, S::Denied] {
        table.push((
            from,
            CaseCommand::Complete,
            S::Completed,
            vec![CaseEvent::Completed],
        ));
    }
    for from in [
        S::Submitted,
        S::Accepted,
        S::Routed,
        S::Claimed,
        S::SupplementRequested,
        S::Supplemented,
    ] {
        table.push((from, withdraw(), S::Withdrawn, vec![CaseEvent::Withdrawn]));
    }
    table
}

#[test]
fn submit_starts_a_case() {
    assert_eq!(submit(), (S::Submitted, vec![CaseEvent::Submitted]));
}

#[test]
fn every_legal_transition_yields_its_status_and_events() {
    for (from, command, to, events) in legal() {
        assert_eq!(
            transition(from, &command),
            Ok((to, events)),
            "{from} --{}-->",
            command.name()
        );
    }
}

#[test]
fn every_other_pair_is_illegal() {
    let legal = legal();
    let mut illegal = 0;
    for from in CaseStatus::ALL {
        for command in all_commands() {
            if legal.iter().any(|(f, c, _, _)| *f == from && *c == command) {
                continue;
            }
            illegal += 1;
            assert_eq!(
                transition(from, &command),
                Err(TransitionError::Illegal {
                    from,
                    command: command.name()
                }),
                "{from} --{}--> must be illegal",
                command.name()
            );
        }
    }
    // 10 statuses × 9 commands − 18 legal pairs.
    assert_eq!(illegal, 72);
}

#[test]
fn some_illegal_transitions_spelled_out() {
    let table = [
        (S::Submitted, CaseCommand::Route, "route"),
        (S::Submitted, decide(Decision::Approve), "decide"),
        (S::Accepted, claim(), "claim"),
        (S::Routed, decide(Decision::Deny), "decide"),
        (S::SupplementRequested, decide(Decision::Approve), "decide"),
        (
            S::SupplementRequested,
            supplement_request(),
            "request_supplement",
        ),
        (S::Claimed, CaseCommand::Supplement, "supplement"),
        (S::Approved, withdraw(), "withdraw"),
        (S::Denied, decide(Decision::Approve), "decide"),
        (S::Completed, CaseCommand::Complete, "complete"),
        (S::Withdrawn, CaseCommand::Accept, "accept"),
        (S::Withdrawn, withdraw(), "withdraw"),
    ];
    for (from, command, name) in table {
        assert_eq!(
            transition(from, &command),
            Err(TransitionError::Illegal {
                from,
                command: name
            })
        );
    }
}

#[test]
fn supplement_request_needs_items_and_reason() {
    let empty_items = CaseCommand::RequestSupplement {
        items: vec![],
        reason: "缺材料".into(),
    };
    assert_eq!(
        transition(S::Claimed, &empty_items),
        Err(TransitionError::EmptyItems)
    );
    let blank_item = CaseCommand::RequestSupplement {
        items: vec!["户口簿".into(), "  ".into()],
        reason: "缺材料".into(),
    };
    assert_eq!(
        transition(S::Claimed, &blank_item),
        Err(TransitionError::EmptyItems)
    );
    let no_reason = CaseCommand::RequestSupplement {
        items: vec!["户口簿".into()],
        reason: " ".into(),
    };
    assert_eq!(
        transition(S::Supplemented, &no_reason),
        Err(TransitionError::EmptyReason)
    );
    // The status is checked first.
    assert!(matches!(
        transition(S::Routed, &empty_items),
        Err(TransitionError::Illegal { .. })
    ));
}

#[test]
fn withdrawal_needs_a_reason() {
    let no_reason = CaseCommand::Withdraw {
        reason: String::new(),
    };
    assert_eq!(
        transition(S::Accepted, &no_reason),
        Err(TransitionError::EmptyReason)
    );
    assert!(matches!(
        transition(S::Completed, &no_reason),
        Err(TransitionError::Illegal { .. })
    ));
}

#[test]
fn a_full_life_with_one_supplement() {
    let (mut status, mut events) = submit();
    for command in [
        CaseCommand::Accept,
        CaseCommand::Route,
        claim(),
        supplement_request(),
        CaseCommand::Supplement,
        decide(Decision::Approve),
        CaseCommand::Complete,
    ] {
        let (next, new_events) = transition(status, &command).unwrap();
        status = next;
        events.extend(new_events);
    }
    assert_eq!(status, S::Completed);
    let subjects: Vec<&str> = events.iter().map(CaseEvent::subject_suffix).collect();
    assert_eq!(
        subjects,
        [
            "case.submitted",
            "case.accepted",
            "case.routed",
            "case.claimed",
            "case.supplement_requested",
            "case.supplemented",
            "case.decided",
            "case.completed",
        ]
    );
    assert_eq!(CaseEvent::Withdrawn.subject_suffix(), "case.withdrawn");
    assert_eq!(
        CaseEvent::Decided(Decision::Deny).subject_suffix(),
        "case.decided"
    );
}

#[test]
fn status_names_round_trip_and_read_in_chinese() {
    let zh = [
        "已提交",
        "已受理",
        "已分派",
        "审查中",
        "待补正",
        "已补正",
        "准予",
        "不予",
        "已办结",
        "已撤回",
    ];
    for (status, zh) in CaseStatus::ALL.into_iter().zip(zh) {
        assert_eq!(status.as_str().parse::<CaseStatus>(), Ok(status));
        assert_eq!(status.text(Lang::Zh), zh);
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            format!("\"{}\"", status.as_str())
        );
    }
    assert_eq!(S::SupplementRequested.as_str(), "supplement_requested");
    assert!("SUBMITTED".parse::<CaseStatus>().is_err());
    assert!(S::Completed.is_terminal() && S::Withdrawn.is_terminal() && !S::Approved.is_terminal());
    assert!(S::SupplementRequested.is_suspended() && !S::Supplemented.is_suspended());
}

#[test]
fn errors_read_in_both_languages() {
    let e = TransitionError::Illegal {
        from: S::Completed,
        command: "withdraw",
    };
    assert_eq!(
        e.text(Lang::Zh),
        "办件当前状态为“已办结”，不能执行操作 withdraw"
    );
    assert_eq!(
        e.text(Lang::En),
        "a case in status completed does not allow the command withdraw"
    );
    assert_eq!(e.to_string(), e.text(Lang::Zh));
    assert_eq!(
        TransitionError::EmptyReason.text(Lang::En),
        "a reason is required"
    );
}
