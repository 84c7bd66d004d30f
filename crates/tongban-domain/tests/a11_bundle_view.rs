//! 一件事: the one bundle view every audience shares — members in the bundle's order, members
//! not heard of yet shown as submitted, one `waiting_for` rule, the status derived from the
//! members as they count (a completed denial is a denial).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::path::PathBuf;
use std::sync::OnceLock;

use tongban_domain::bundle::BundleStatus;
use tongban_domain::bundle_view::{MemberFacts, Unheard, bundle_view};
use tongban_domain::case::{CaseStatus, Decision};
use tongban_domain::reference::ReferenceData;

fn reference() -> &'static ReferenceData {
    static REFERENCE: OnceLock<ReferenceData> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let deploy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        ReferenceData::load(&deploy).unwrap_or_else(|e| panic!("deploy/ loads: {e}"))
    })
}

fn member(
    number: &str,
    matter: &str,
    status: CaseStatus,
    decision: Option<Decision>,
) -> MemberFacts {
    MemberFacts {
        case_id: format!("id-{number}"),
        case_number: number.to_owned(),
        matter_code: matter.to_owned(),
        matter_name: format!("名称{matter}"),
        status,
        decision,
        responsible_office_id: format!("office-{matter}"),
    }
}

const BIRTH: &str = "YJS-CS";
const CERTIFICATE: &str = "WJ-CSYXZM-QF";
const BIRTH_REGISTRATION: &str = "GA-HJ-CSDJ";

#[test]
fn members_follow_the_bundle_order_and_unknown_members_count_as_submitted() {
    let r = reference();
    let bundle = r.bundles.get(BIRTH).unwrap();
    // Known out of order: the registration first, then the certificate.
    let known = vec![
        member("B-2", BIRTH_REGISTRATION, CaseStatus::Submitted, None),
        member("B-1", CERTIFICATE, CaseStatus::Routed, None),
    ];
    let view = bundle_view(&r.catalog, Some(bundle), &known, Unheard::AsSubmitted);
    let order: Vec<&str> = view
        .members
        .iter()
        .map(|m| m.matter_code.as_str())
        .collect();
    assert_eq!(
        order,
        bundle
            .matters
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    for line in &view.members {
        let is_known = [CERTIFICATE, BIRTH_REGISTRATION].contains(&line.matter_code.as_str());
        assert_eq!(line.case.is_some(), is_known, "{}", line.matter_code);
        if !is_known {
            assert_eq!(line.status, CaseStatus::Submitted);
            let name = &r.catalog.matter(&line.matter_code).unwrap().name;
            assert_eq!(&line.matter_name, name);
        }
    }
    assert_eq!(view.status, BundleStatus::InProgress);

    // Left out, the unheard members neither show nor count.
    let view = bundle_view(&r.catalog, Some(bundle), &known, Unheard::Omitted);
    let order: Vec<&str> = view
        .members
        .iter()
        .map(|m| m.matter_code.as_str())
        .collect();
    assert_eq!(order, [CERTIFICATE, BIRTH_REGISTRATION]);
}

#[test]
fn a_member_waits_for_its_provider_until_the_provider_is_approved() {
    let r = reference();
    let bundle = r.bundles.get(BIRTH).unwrap();
    let certificate_name = r.catalog.matter(CERTIFICATE).unwrap().name.clone();
    let waiting = |provider: CaseStatus, decision: Option<Decision>| {
        let known = vec![
            member("B-1", CERTIFICATE, provider, decision),
            member("B-2", BIRTH_REGISTRATION, CaseStatus::Submitted, None),
        ];
        let view = bundle_view(&r.catalog, Some(bundle), &known, Unheard::AsSubmitted);
        view.members
            .iter()
            .find(|m| m.matter_code == BIRTH_REGISTRATION)
            .unwrap()
            .waiting_for
            .clone()
    };
    assert_eq!(
        waiting(CaseStatus::Claimed, None),
        vec![certificate_name.clone()]
    );
    assert_eq!(
        waiting(CaseStatus::Approved, Some(Decision::Approve)),
        Vec::<String>::new()
    );
    assert_eq!(
        waiting(CaseStatus::Completed, Some(Decision::Approve)),
        Vec::<String>::new()
    );
    // A completed denial is a denial: the member still waits (and will be withdrawn).
    assert_eq!(
        waiting(CaseStatus::Completed, Some(Decision::Deny)),
        vec![certificate_name]
    );
}

#[test]
fn the_status_counts_a_completed_denial_as_a_denial() {
    let r = reference();
    let bundle = r.bundles.get("YJS-TX").unwrap();
    let known: Vec<MemberFacts> = bundle
        .matters
        .iter()
        .enumerate()
        .map(|(i, matter)| {
            let decision = if i == 0 {
                Decision::Deny
            } else {
                Decision::Approve
            };
            member(
                &format!("T-{i}"),
                matter,
                CaseStatus::Completed,
                Some(decision),
            )
        })
        .collect();
    let view = bundle_view(&r.catalog, Some(bundle), &known, Unheard::AsSubmitted);
    assert_eq!(view.status, BundleStatus::PartlyDenied);
    // Shown as they are (办结), counted as they ended.
    assert!(
        view.members
            .iter()
            .all(|m| m.status == CaseStatus::Completed)
    );
}

#[test]
fn without_its_definition_a_bundle_shows_its_known_members_by_number() {
    let r = reference();
    let known = vec![
        member("Z-2", "B", CaseStatus::Withdrawn, None),
        member("Z-1", "A", CaseStatus::Withdrawn, None),
    ];
    let view = bundle_view(&r.catalog, None, &known, Unheard::Omitted);
    let numbers: Vec<&str> = view
        .members
        .iter()
        .map(|m| m.case.unwrap().case_number.as_str())
        .collect();
    assert_eq!(numbers, ["Z-1", "Z-2"]);
    assert!(view.members.iter().all(|m| m.waiting_for.is_empty()));
    assert_eq!(view.status, BundleStatus::Withdrawn);
}
