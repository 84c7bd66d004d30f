//! 发证 rules beyond the certificate's own checks: how long a certificate stays valid when the
//! issuer names no end, how long a case's result certificate stays valid, and which of a case's
//! facts a result certificate carries.

use chrono::{DateTime, TimeDelta, Utc};

use crate::certificate::{Field, allowed_fields};

/// Validity when the issuer gives no end (years).
pub const DEFAULT_VALIDITY_YEARS: i64 = 20;

/// The end of validity when the issuer names none: [`DEFAULT_VALIDITY_YEARS`] after the start.
#[must_use]
pub fn default_valid_until(valid_from: DateTime<Utc>) -> DateTime<Utc> {
    valid_from + TimeDelta::days(365 * DEFAULT_VALIDITY_YEARS)
}

/// How long a case's result certificate of `type_code` stays valid (deployment defaults): a
/// 准迁证 (125) must be used for the move within weeks, a 户籍证明 (126) is accepted for months,
/// anything else for a year.
#[must_use]
pub fn result_validity(type_code: &str) -> TimeDelta {
    match type_code {
        "125" => TimeDelta::days(40),
        "126" => TimeDelta::days(90),
        _ => TimeDelta::days(365),
    }
}

/// The typed fields of a case's result certificate of `type_code`: the case number and the
/// matter's name, each only where the type allows it and when known.
#[must_use]
pub fn result_fields(type_code: &str, case_number: &str, matter_name: &str) -> Vec<Field> {
    let allowed = allowed_fields(type_code);
    [("case_number", case_number), ("matter_name", matter_name)]
        .into_iter()
        .filter(|(name, value)| allowed.contains(name) && !value.is_empty())
        .map(|(name, value)| Field {
            name: name.to_owned(),
            value: value.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validities() {
        assert_eq!(result_validity("125"), TimeDelta::days(40));
        assert_eq!(result_validity("126"), TimeDelta::days(90));
        assert_eq!(result_validity("113"), TimeDelta::days(365));
        let from = Utc::now();
        assert_eq!(
            default_valid_until(from) - from,
            TimeDelta::days(365 * DEFAULT_VALIDITY_YEARS)
        );
    }

    #[test]
    fn result_fields_follow_the_type() {
        for code in ["125", "126", "113", crate::certificate::RESULT_NOTICE_TYPE] {
            let allowed = allowed_fields(code);
            for field in result_fields(code, "N-1", "户口迁移") {
                assert!(
                    allowed.contains(&field.name.as_str()),
                    "{code}: {}",
                    field.name
                );
            }
        }
        assert!(
            result_fields(crate::certificate::RESULT_NOTICE_TYPE, "", "")
                .iter()
                .all(|f| !f.value.is_empty())
        );
    }
}
