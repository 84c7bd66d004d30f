//! 证照状态变更 as a pure rule: every pair of statuses, both kinds of changer.

use tongban_cert::certificate::CertificateStatus;
use tongban_cert::status_change::{Changer, Current, Refusal, change, may_move, reason};

#[test]
fn final_statuses_never_move() {
    for from in [
        CertificateStatus::Revoked,
        CertificateStatus::Cancelled,
        CertificateStatus::Invalidated,
        CertificateStatus::TransferredOut,
        CertificateStatus::Withdrawn,
    ] {
        for to in CertificateStatus::ALL {
            assert!(!may_move(from, to), "{from:?} → {to:?}");
            let refused = change(
                Current {
                    status: from,
                    issuer_office_id: "a",
                },
                Changer::Admin,
                to,
                "r",
            );
            assert_eq!(refused, Err(Refusal::NotAllowed { from, to }));
        }
    }
}

#[test]
fn a_suspended_certificate_is_restored_or_ended() {
    let current = Current {
        status: CertificateStatus::Suspended,
        issuer_office_id: "a",
    };
    for to in CertificateStatus::ALL {
        let outcome = change(current, Changer::Office("a"), to, "原因");
        if to == CertificateStatus::Suspended {
            assert!(outcome.is_err());
        } else {
            let changed = outcome.expect("allowed");
            assert_eq!(
                (changed.from, changed.to),
                (CertificateStatus::Suspended, to)
            );
            assert_eq!(changed.reason, "原因");
        }
    }
}

#[test]
fn the_refusal_names_both_statuses_in_both_languages() {
    let refusal = Refusal::NotAllowed {
        from: CertificateStatus::Revoked,
        to: CertificateStatus::Valid,
    };
    let text = refusal.to_string();
    assert!(
        text.contains("03 撤销") && text.contains("01 有效"),
        "{text}"
    );
    assert!(text.contains("revoked") && text.contains("valid"), "{text}");
    assert_eq!(reason(""), None);
}
