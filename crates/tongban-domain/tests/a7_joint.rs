//! 多地联办 and 一件事一次办 rules on the real seed data under deploy/: the part state machine
//! (`joint`), the per-part routing (`routing::resolve_parts`), the per-part checklist
//! (`review::check_part_decision`) and the bundle status (`bundle::BundleStatus::derive`).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{code, on, seed};

use tongban_domain::bundle::{
    BundleStatus, bundle_materials, common_delivery_methods, common_modes,
};
use tongban_domain::case::{CaseCommand, CaseStatus, Decision, TransitionError};
use tongban_domain::catalog::{DeliveryMethod, JointPart, Locality, Matter, Mode, Scope};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::joint::{
    PartError, PartState, PartView, awaiting, case_status, initial_state, outcome, ready,
    transition,
};
use tongban_domain::review::{ChecklistEntry, ChecklistProblem, check_part_decision};
use tongban_domain::routing::{RouteError, resolve_parts};

/// 五台县政务服务中心.
const WUTAI: &str = "140922-zwfw";
/// 户口迁移（工作调动）: 迁入地审批 (QR), then 迁出地办理迁出 (QC).
const GZDD: &str = "GA-HJ-QY-GZDD";
/// 住房公积金转移接续: 转入地 (ZR) and 转出地 (ZC) at once.
const GJJ: &str = "GJJ-ZY-JX";

fn matter(code: &str) -> &'static Matter {
    seed()
        .catalog
        .matter(code)
        .unwrap_or_else(|| panic!("matter {code} in the seed catalog"))
}

fn part<'a>(matter: &'a Matter, code: &str) -> &'a JointPart {
    matter
        .part(code)
        .unwrap_or_else(|| panic!("{}: part {code}", matter.code))
}

/// The parts of `matter` in the states given, in the matter's order.
fn views<'a>(matter: &'a Matter, states: &[PartState]) -> Vec<PartView<'a>> {
    assert_eq!(matter.parts.len(), states.len(), "{}", matter.code);
    PartView::zip(&matter.parts, states)
}

fn claim() -> CaseCommand {
    CaseCommand::Claim {
        reviewer: "reviewer-1".to_owned(),
    }
}

fn decide(decision: Decision) -> CaseCommand {
    CaseCommand::Decide { decision }
}

fn entry(code: &str, passed: bool) -> ChecklistEntry {
    ChecklistEntry {
        review_point_code: code.to_owned(),
        passed,
        note: String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// joint: the part state machine
// ---------------------------------------------------------------------------------------------

#[test]
fn sequential_parts_start_in_order() {
    let m = matter(GZDD);
    let codes: Vec<&str> = m.parts.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["QR", "QC"]);
    assert_eq!(initial_state(part(m, "QR")), PartState::Routed);
    assert_eq!(initial_state(part(m, "QC")), PartState::Waiting);

    // At first only QR can act; QC names what it waits for.
    let start = views(m, &[PartState::Routed, PartState::Waiting]);
    assert_eq!(transition(&start, "QR", &claim()), Ok(PartState::Claimed));
    let refused = transition(&start, "QC", &claim()).unwrap_err();
    assert_eq!(
        refused,
        PartError::Waiting {
            awaiting: vec!["迁入地审批".to_owned()]
        }
    );
    assert!(
        refused.text(Lang::Zh).contains("「迁入地审批」"),
        "{refused}"
    );
    assert!(
        refused.text(Lang::En).contains("迁入地审批"),
        "{}",
        refused.text(Lang::En)
    );
    assert_eq!(awaiting(&start, part(m, "QC")), ["迁入地审批"]);
    assert!(awaiting(&start, part(m, "QR")).is_empty());
    assert!(ready(&start).is_empty(), "QC is not ready before QR");

    // Every other step is refused on a waiting part too.
    for command in [
        decide(Decision::Approve),
        decide(Decision::Deny),
        CaseCommand::RequestSupplement {
            items: vec!["HKB".to_owned()],
            reason: "请补充".to_owned(),
        },
    ] {
        assert!(
            matches!(
                transition(&start, "QC", &command),
                Err(PartError::Waiting { .. })
            ),
            "{command:?}"
        );
    }

    // QR claimed: still not ready.
    let claimed = views(m, &[PartState::Claimed, PartState::Waiting]);
    assert!(ready(&claimed).is_empty());
    assert_eq!(
        transition(&claimed, "QR", &decide(Decision::Approve)),
        Ok(PartState::Approved)
    );

    // QR approved: QC is ready; once routed it runs its own steps.
    let approved = views(m, &[PartState::Approved, PartState::Waiting]);
    assert_eq!(ready(&approved), ["QC"]);
    assert!(awaiting(&approved, part(m, "QC")).is_empty());
    let routed = views(m, &[PartState::Approved, PartState::Routed]);
    assert!(
        ready(&routed).is_empty(),
        "a routed part is not ready again"
    );
    assert_eq!(transition(&routed, "QC", &claim()), Ok(PartState::Claimed));
}

#[test]
fn parallel_parts_start_at_once() {
    let m = matter(GJJ);
    let codes: Vec<&str> = m.parts.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["ZR", "ZC"]);
    for p in &m.parts {
        assert!(p.after.is_empty(), "{}", p.code);
        assert_eq!(initial_state(p), PartState::Routed);
    }
    let start = views(m, &[PartState::Routed, PartState::Routed]);
    assert_eq!(transition(&start, "ZR", &claim()), Ok(PartState::Claimed));
    assert_eq!(transition(&start, "ZC", &claim()), Ok(PartState::Claimed));
    assert!(ready(&start).is_empty(), "nothing waits");
}

#[test]
fn a_part_runs_the_review_steps_of_a_case() {
    let m = matter(GJJ);
    let at = |zr: PartState| views(m, &[zr, PartState::Routed]);
    let ask = CaseCommand::RequestSupplement {
        items: vec!["JCZM".to_owned()],
        reason: "请补充原缴存地缴存证明".to_owned(),
    };
    assert_eq!(
        transition(&at(PartState::Claimed), "ZR", &ask),
        Ok(PartState::SupplementRequested)
    );
    assert_eq!(
        transition(
            &at(PartState::SupplementRequested),
            "ZR",
            &CaseCommand::Supplement
        ),
        Ok(PartState::Supplemented)
    );
    assert_eq!(
        transition(&at(PartState::Supplemented), "ZR", &decide(Decision::Deny)),
        Ok(PartState::Denied)
    );
    assert_eq!(
        transition(
            &at(PartState::Claimed),
            "ZR",
            &CaseCommand::Withdraw {
                reason: "申请人撤回".to_owned()
            }
        ),
        Ok(PartState::Withdrawn)
    );

    // Steps that do not apply are refused with the case's own transition error.
    assert_eq!(
        transition(&at(PartState::Routed), "ZR", &decide(Decision::Approve)),
        Err(PartError::Transition(TransitionError::Illegal {
            from: CaseStatus::Routed,
            command: "decide",
        }))
    );
    assert_eq!(
        transition(&at(PartState::Approved), "ZR", &claim()),
        Err(PartError::Transition(TransitionError::Illegal {
            from: CaseStatus::Approved,
            command: "claim",
        }))
    );
    assert_eq!(
        transition(
            &at(PartState::Claimed),
            "ZR",
            &CaseCommand::RequestSupplement {
                items: vec![],
                reason: "x".to_owned()
            }
        ),
        Err(PartError::Transition(TransitionError::EmptyItems))
    );

    // A cancelled or withdrawn part takes no step at all.
    for closed in [PartState::Cancelled, PartState::Withdrawn] {
        let refused = transition(&at(closed), "ZR", &claim()).unwrap_err();
        assert_eq!(refused, PartError::Closed(closed));
        assert!(refused.text(Lang::Zh).contains("不能再办理"), "{refused}");
    }
    // A part the matter does not have is refused, never applied.
    assert!(transition(&at(PartState::Routed), "XX", &claim()).is_err());
}

#[test]
fn the_case_outcome_follows_its_parts() {
    use PartState as P;

    assert_eq!(outcome([P::Approved, P::Approved]), Some(Decision::Approve));
    assert_eq!(outcome([P::Approved, P::Claimed]), None);
    assert_eq!(outcome([P::Approved, P::Waiting]), None);
    // One denial decides the case, whatever the others are doing.
    assert_eq!(outcome([P::Denied, P::Waiting]), Some(Decision::Deny));
    assert_eq!(outcome([P::Approved, P::Denied]), Some(Decision::Deny));
    assert_eq!(outcome([P::Denied, P::Cancelled]), Some(Decision::Deny));
    assert_eq!(outcome([]), None, "no parts, no outcome");

    assert_eq!(case_status([P::Routed, P::Waiting]), CaseStatus::Routed);
    assert_eq!(case_status([P::Routed, P::Routed]), CaseStatus::Routed);
    assert_eq!(case_status([P::Claimed, P::Waiting]), CaseStatus::Claimed);
    assert_eq!(case_status([P::Claimed, P::Routed]), CaseStatus::Claimed);
    // One part approved, the next not yet claimed: the case is still under review.
    assert_eq!(case_status([P::Approved, P::Routed]), CaseStatus::Claimed);
    assert_eq!(
        case_status([P::Approved, P::SupplementRequested]),
        CaseStatus::SupplementRequested
    );
    assert_eq!(
        case_status([P::Claimed, P::SupplementRequested]),
        CaseStatus::SupplementRequested
    );
    assert_eq!(
        case_status([P::Supplemented, P::Routed]),
        CaseStatus::Supplemented
    );
    assert_eq!(
        case_status([P::Approved, P::Approved]),
        CaseStatus::Approved
    );
    assert_eq!(case_status([P::Denied, P::Cancelled]), CaseStatus::Denied);
    assert_eq!(case_status([P::Approved, P::Denied]), CaseStatus::Denied);
    assert_eq!(
        case_status([P::Withdrawn, P::Withdrawn]),
        CaseStatus::Withdrawn
    );
}

#[test]
fn part_states_have_stable_names() {
    for state in PartState::ALL {
        assert_eq!(state.as_str().parse::<PartState>(), Ok(state));
        assert!(!state.text(Lang::Zh).is_empty() && !state.text(Lang::En).is_empty());
    }
    assert_eq!(
        PartState::SupplementRequested.as_str(),
        "supplement_requested"
    );
    assert!("unknown".parse::<PartState>().is_err());
    let done: Vec<PartState> = PartState::ALL.into_iter().filter(|s| s.is_done()).collect();
    assert_eq!(
        done,
        [
            PartState::Approved,
            PartState::Denied,
            PartState::Cancelled,
            PartState::Withdrawn
        ]
    );
    assert_eq!(PartState::Waiting.as_case_status(), None);
    assert_eq!(PartState::Cancelled.as_case_status(), None);
    assert_eq!(
        PartState::Claimed.as_case_status(),
        Some(CaseStatus::Claimed)
    );
}

// ---------------------------------------------------------------------------------------------
// routing::resolve_parts on the real directory
// ---------------------------------------------------------------------------------------------

#[test]
fn a_move_from_yinchuan_to_wutai_goes_to_both_public_security_offices() {
    let r = seed();
    let route =
        resolve_parts(r, GZDD, WUTAI, &code("640104"), Some(&code("140922")), on()).unwrap();
    // The widest part scope; the first part's office leads.
    assert_eq!(route.scope, Scope::CrossProvince);
    assert_eq!(route.responsible_office_id, "140922-gongan");
    assert_eq!(route.agreement_id, None);

    let [qr, qc] = route.parts.as_slice() else {
        panic!("two parts: {:?}", route.parts);
    };
    assert_eq!(qr.code, "QR");
    assert_eq!(qr.name, "迁入地审批");
    assert_eq!(qr.locality, Locality::DestinationDivision);
    assert_eq!(qr.division, code("140922"));
    assert_eq!(qr.office_id, "140922-gongan");
    assert_eq!(qr.scope, Scope::Local);
    assert!(qr.after.is_empty());

    assert_eq!(qc.code, "QC");
    assert_eq!(qc.locality, Locality::HomeDivision);
    assert_eq!(qc.division, code("640104"));
    assert_eq!(qc.office_id, "640100-gongan");
    assert_eq!(qc.scope, Scope::CrossProvince);
    assert_eq!(qc.after, ["QR"]);
}

#[test]
fn parallel_fund_transfer_routes_both_sides() {
    let r = seed();
    let route = resolve_parts(r, GJJ, WUTAI, &code("640104"), Some(&code("140922")), on()).unwrap();
    let offices: Vec<(&str, &str, Scope)> = route
        .parts
        .iter()
        .map(|p| (p.code.as_str(), p.office_id.as_str(), p.scope))
        .collect();
    assert_eq!(
        offices,
        [
            ("ZR", "140900-gjj", Scope::ProvinceWide),
            ("ZC", "640100-gjj", Scope::CrossProvince),
        ]
    );
    assert_eq!(route.scope, Scope::CrossProvince);
    assert_eq!(route.responsible_office_id, "140900-gjj");
}

#[test]
fn joint_routing_refusals() {
    let r = seed();
    let home = code("640104");
    let destination = code("140922");

    // No destination for a part decided there.
    let missing = resolve_parts(r, GZDD, WUTAI, &home, None, on()).unwrap_err();
    assert_eq!(
        missing,
        RouteError::MissingDestination {
            matter: GZDD.to_owned(),
            part: "迁入地审批".to_owned(),
        }
    );
    assert!(missing.text(Lang::Zh).contains("迁入地"), "{missing}");

    // Moving within one county: both parts would go to the same office.
    let same = resolve_parts(r, GZDD, WUTAI, &destination, Some(&destination), on()).unwrap_err();
    assert!(
        matches!(&same, RouteError::SameOffice { office, .. } if office == "140922-gongan"),
        "{same:?}"
    );
    assert!(same.text(Lang::Zh).contains("迁入地审批"), "{same}");

    // A matter that is not handled jointly.
    let not_joint = resolve_parts(r, "GA-HJ-ZM", WUTAI, &home, Some(&destination), on());
    assert!(
        matches!(
            not_joint,
            Err(RouteError::ModeNotAllowed { .. } | RouteError::NotJoint(_))
        ),
        "{not_joint:?}"
    );

    // Unknown matter, unknown window, an office that is not a window.
    assert_eq!(
        resolve_parts(r, "NO-SUCH", WUTAI, &home, Some(&destination), on()),
        Err(RouteError::UnknownMatter("NO-SUCH".to_owned()))
    );
    assert!(matches!(
        resolve_parts(r, GZDD, "000000-none", &home, Some(&destination), on()),
        Err(RouteError::UnknownWindow(_))
    ));
    assert!(matches!(
        resolve_parts(r, GZDD, "640100-gongan", &home, Some(&destination), on()),
        Err(RouteError::NotAWindow(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// review::check_part_decision
// ---------------------------------------------------------------------------------------------

#[test]
fn each_part_answers_its_own_review_points() {
    let m = matter(GZDD);
    let qr = part(m, "QR");
    let qc = part(m, "QC");
    assert_eq!(qr.review_points, ["R1", "R2", "R3", "R4"]);
    assert_eq!(qc.review_points, ["R_QC"]);

    // 迁入地: R1–R3 required, R4 optional; R_QC is not theirs to answer.
    let qr_ok = [entry("R1", true), entry("R2", true), entry("R3", true)];
    assert_eq!(
        check_part_decision(m, qr, Decision::Approve, &qr_ok),
        Ok(())
    );
    assert_eq!(
        check_part_decision(m, qr, Decision::Approve, &[entry("R1", true)]),
        Err(vec![
            ChecklistProblem::Missing {
                code: "R2".to_owned(),
                question: m.review_point("R2").unwrap().question.clone(),
            },
            ChecklistProblem::Missing {
                code: "R3".to_owned(),
                question: m.review_point("R3").unwrap().question.clone(),
            },
        ])
    );
    let mut with_other = qr_ok.to_vec();
    with_other.push(entry("R_QC", true));
    assert_eq!(
        check_part_decision(m, qr, Decision::Approve, &with_other),
        Err(vec![ChecklistProblem::Unknown {
            code: "R_QC".to_owned()
        }])
    );

    // 迁出地: only R_QC; the other side's points are unknown here.
    assert_eq!(
        check_part_decision(m, qc, Decision::Approve, &[entry("R_QC", true)]),
        Ok(())
    );
    assert_eq!(
        check_part_decision(m, qc, Decision::Approve, &qr_ok),
        Err(vec![
            ChecklistProblem::Unknown {
                code: "R1".to_owned()
            },
            ChecklistProblem::Unknown {
                code: "R2".to_owned()
            },
            ChecklistProblem::Unknown {
                code: "R3".to_owned()
            },
            ChecklistProblem::Missing {
                code: "R_QC".to_owned(),
                question: m.review_point("R_QC").unwrap().question.clone(),
            },
        ])
    );

    // A denial rests on a failed point of the part itself.
    assert_eq!(
        check_part_decision(
            m,
            qr,
            Decision::Deny,
            &[entry("R1", true), entry("R2", false), entry("R3", true)]
        ),
        Ok(())
    );
    assert_eq!(
        check_part_decision(
            m,
            qr,
            Decision::Approve,
            &[entry("R1", true), entry("R2", false), entry("R3", true)]
        ),
        Err(vec![ChecklistProblem::NotPassed {
            code: "R2".to_owned()
        }])
    );
    assert_eq!(
        check_part_decision(m, qc, Decision::Deny, &[entry("R_QC", true)]),
        Err(vec![ChecklistProblem::DenyWithoutFailure])
    );
}

#[test]
fn every_review_point_of_a_joint_matter_belongs_to_one_part() {
    for m in seed().catalog.matters().filter(|m| !m.parts.is_empty()) {
        for point in &m.review_points {
            let owners: Vec<&str> = m
                .parts
                .iter()
                .filter(|p| p.review_points.contains(&point.code))
                .map(|p| p.code.as_str())
                .collect();
            assert_eq!(owners.len(), 1, "{}/{}: {owners:?}", m.code, point.code);
        }
        // A full checklist of each part's required points, all passed, approves that part.
        for p in &m.parts {
            let checklist: Vec<ChecklistEntry> = m
                .review_points
                .iter()
                .filter(|r| r.required && p.review_points.contains(&r.code))
                .map(|r| entry(&r.code, true))
                .collect();
            assert_eq!(
                check_part_decision(m, p, Decision::Approve, &checklist),
                Ok(()),
                "{}/{}",
                m.code,
                p.code
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// bundle: the status derived from the members, and the shared materials
// ---------------------------------------------------------------------------------------------

#[test]
fn bundle_status_follows_its_members() {
    use BundleStatus as B;
    use CaseStatus as C;

    assert_eq!(
        B::derive([C::Routed, C::Claimed, C::Accepted]),
        B::InProgress
    );
    // One member decided, the others not: still in progress.
    assert_eq!(B::derive([C::Approved, C::Routed]), B::InProgress);
    assert_eq!(B::derive([C::Denied, C::Claimed]), B::InProgress);
    // A 补正 on any member shows, even next to decided members.
    assert_eq!(
        B::derive([C::Routed, C::SupplementRequested, C::Approved]),
        B::SupplementRequested
    );
    assert_eq!(B::derive([C::Supplemented, C::Claimed]), B::InProgress);
    // Approved counts as done.
    assert_eq!(
        B::derive([C::Approved, C::Completed, C::Approved]),
        B::Completed
    );
    assert_eq!(B::derive([C::Completed, C::Completed]), B::Completed);
    assert_eq!(
        B::derive([C::Approved, C::Denied, C::Completed]),
        B::PartlyDenied
    );
    assert_eq!(B::derive([C::Denied, C::Denied]), B::Denied);
    // A withdrawn member does not count unless every member was withdrawn.
    assert_eq!(B::derive([C::Withdrawn, C::Approved]), B::Completed);
    assert_eq!(B::derive([C::Withdrawn, C::Denied]), B::Denied);
    assert_eq!(B::derive([C::Withdrawn, C::Claimed]), B::InProgress);
    assert_eq!(B::derive([C::Withdrawn, C::Withdrawn]), B::Withdrawn);
    assert_eq!(B::derive([]), B::InProgress);

    for status in B::ALL {
        assert_eq!(status.as_str().parse::<B>(), Ok(status));
        assert!(!status.text(Lang::Zh).is_empty());
    }
}

#[test]
fn birth_bundle_asks_for_each_shared_material_once() {
    let r = seed();
    let bundle = r.bundles.get("YJS-CS").expect("出生一件事");
    assert_eq!(bundle.name, "出生一件事");
    let materials = bundle_materials(&r.catalog, bundle);

    // Each code once; SFZ shared by every member and required.
    let mut codes: Vec<&str> = materials.iter().map(|m| m.material.code.as_str()).collect();
    let listed = codes.len();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), listed, "a material code twice: {codes:?}");
    let sfz = materials
        .iter()
        .find(|m| m.material.code == "SFZ")
        .expect("SFZ");
    assert_eq!(sfz.matter_codes, bundle.matters);
    assert!(sfz.material.required);

    // The union is required when any member requires it (unless a member provides it), and
    // keeps each member's materials.
    for member in &bundle.matters {
        let m = matter(member);
        for own in &m.materials {
            let union = materials
                .iter()
                .find(|u| u.material.code == own.code)
                .unwrap_or_else(|| panic!("{member}/{} in the union", own.code));
            assert!(union.matter_codes.contains(member), "{member}/{}", own.code);
            if own.required && union.provided_by.is_none() {
                assert!(union.material.required, "{member}/{}", own.code);
            }
            if own.paper_original_required {
                assert!(
                    union.material.paper_original_required,
                    "{member}/{}",
                    own.code
                );
            }
        }
    }

    // Modes and delivery every member allows.
    let modes = common_modes(&r.catalog, bundle);
    assert!(modes.contains(&Mode::Online), "{modes:?}");
    assert!(!modes.contains(&Mode::Joint));
    let delivery = common_delivery_methods(&r.catalog, bundle);
    assert!(
        delivery.contains(&DeliveryMethod::WindowPickup),
        "{delivery:?}"
    );
    for member in &bundle.matters {
        let m = matter(member);
        for method in &delivery {
            assert!(m.allows_delivery(*method), "{member}: {method:?}");
        }
        for mode in &modes {
            assert!(m.allows_mode(*mode), "{member}: {mode:?}");
        }
    }
}
