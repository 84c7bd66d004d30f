//! The caller's proof of identity (核验): the last six characters of the applicant's ID number
//! or the last four digits of their phone, checked against the keyed digests the hotline holds.

use std::fmt;

use tongban_domain::i18n::Lang;
use tongban_runtime::pii::PiiKeys;
use tongban_runtime::verification::{VerificationKind, verification_digest};

use crate::repo::StatusRow;

/// A well-formed verification value. `Debug` shows only its kind.
#[derive(Clone, PartialEq, Eq)]
pub struct Verification {
    kind: VerificationKind,
    value: String,
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verification")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The verification value is neither four digits nor six characters of `0-9`/`X`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "核验信息应为身份证号后六位或手机号后四位 (verification must be the last six characters of the ID number or the last four digits of the phone)"
)]
pub struct VerificationError;

impl VerificationError {
    /// The message in `lang`.
    pub fn text(self, lang: Lang) -> &'static str {
        lang.pick(
            "应为身份证号后六位或手机号后四位",
            "must be the last six characters of the ID number or the last four digits of the phone",
        )
    }
}

impl Verification {
    /// Four ASCII digits (phone) or six characters of `0-9`, `X`, `x` (ID number), after trimming.
    ///
    /// # Errors
    /// [`VerificationError`] for anything else.
    pub fn parse(raw: &str) -> Result<Self, VerificationError> {
        let value = raw.trim();
        let kind = match value.len() {
            4 if value.bytes().all(|b| b.is_ascii_digit()) => VerificationKind::PhoneTail,
            6 if value
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'X' || b == b'x') =>
            {
                VerificationKind::IdTail
            }
            _ => return Err(VerificationError),
        };
        Ok(Self {
            kind,
            value: value.to_ascii_uppercase(),
        })
    }

    /// Whether this value matches the digest `row` holds for its kind (compared in constant
    /// time, so the answer's timing tells nothing about how much matched).
    pub fn matches(&self, keys: &PiiKeys, row: &StatusRow) -> bool {
        let presented = verification_digest(keys, self.kind, &row.case_number, &self.value);
        let stored = match self.kind {
            VerificationKind::IdTail => &row.id_tail_digest,
            VerificationKind::PhoneTail => &row.phone_tail_digest,
        };
        constant_time_eq(presented.as_bytes(), stored.as_bytes())
    }
}

/// Byte-by-byte comparison without an early exit. Lengths are public (hex digests of one size).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_two_forms() {
        assert_eq!(
            Verification::parse(" 5678 ").map(|v| v.kind),
            Ok(VerificationKind::PhoneTail)
        );
        let id = Verification::parse("31002x").unwrap();
        assert_eq!(id.kind, VerificationKind::IdTail);
        assert_eq!(id.value, "31002X");
        for bad in ["", "123", "12345", "1234567", "12a4", "31002Y", "５６７８"] {
            assert_eq!(Verification::parse(bad), Err(VerificationError), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_value() {
        let v = Verification::parse("5678").unwrap();
        assert!(!format!("{v:?}").contains("5678"));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abcd", b"abcd"));
        assert!(!constant_time_eq(b"abcd", b"abce"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
    }
}
