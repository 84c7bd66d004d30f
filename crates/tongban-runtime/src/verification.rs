//! Hotline verification values (DESIGN §6): the last six characters of the ID number or the last
//! four digits of the phone, bound to one case number and kept only as keyed digests, so the
//! hotline can check a caller without ever holding the applicant's identity.

use crate::pii::PiiKeys;

/// Which verification value a digest is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationKind {
    /// Last six characters of the 身份证号.
    IdTail,
    /// Last four digits of the phone.
    PhoneTail,
}

/// The keyed digest of `value` as a verification of `case_number`.
#[must_use]
pub fn verification_digest(
    keys: &PiiKeys,
    kind: VerificationKind,
    case_number: &str,
    value: &str,
) -> String {
    let purpose = match kind {
        VerificationKind::IdTail => "hotline-verify-id-tail",
        VerificationKind::PhoneTail => "hotline-verify-phone-tail",
    };
    keys.digest(
        purpose,
        &format!("{case_number}:{}", value.trim().to_ascii_uppercase()),
    )
}
