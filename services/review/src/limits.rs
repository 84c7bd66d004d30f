//! The size limits of every string and repeated field of ReviewService's requests, in one table
//! ([`TABLE`], the same numbers as the comments of `proto/tongban/review/v1/review.proto`), and
//! the checks that report a field over its limit by name (with its index: `checklist[2].note`)
//! in the caller's language. Every check runs before the step begins: nothing is written for a
//! refused request.
//!
//! The whole message is bounded first by the server ([`MAX_DECODING_MESSAGE_BYTES`]): tonic
//! refuses a larger request before it is decoded.

use tongban_domain::field_limits::FieldLimit;
use tongban_domain::i18n::Lang;
use tongban_runtime::input::{check_text, parse_case_id};
pub(crate) use tongban_runtime::input::{limit_chars as chars, limit_items as items};
pub use tongban_runtime::server::{MAX_DECODING_MESSAGE_BYTES, MAX_ENCODING_MESSAGE_BYTES};
use tongban_runtime::status::FieldViolation;
use uuid::Uuid;

use crate::error::ReviewError;

/// `case_id` of every request: a UUID (surrounding white space allowed).
pub const CASE_ID: FieldLimit = FieldLimit::chars("case_id", 64);
/// `office_id` of ListAssignments and WatchAssignments.
pub const OFFICE_ID: FieldLimit = FieldLimit::chars("office_id", 64);
/// `states` of ListAssignments (the enum has 9 values).
pub const STATES: FieldLimit = FieldLimit::items("states", 16);
/// `reason` of RequestSupplement, DecideCase, ExtendDeadline, SuspendClock and ReassignCase.
pub const REASON: FieldLimit = FieldLimit::chars("reason", 1000);
/// `items` of RequestSupplement: the materials asked for (一次性告知, every one at once).
pub const ITEMS: FieldLimit = FieldLimit::items("items", 50);
/// Each of RequestSupplement's `items`: a material code or a short description.
pub const ITEM: FieldLimit = FieldLimit::chars("items[]", 200);
/// `checklist` of DecideCase: one entry per 审查要点.
pub const CHECKLIST: FieldLimit = FieldLimit::items("checklist", 100);
/// Each checklist entry's `review_point_code`.
pub const REVIEW_POINT_CODE: FieldLimit = FieldLimit::chars("checklist[].review_point_code", 64);
/// Each checklist entry's `note`.
pub const NOTE: FieldLimit = FieldLimit::chars("checklist[].note", 1000);
/// `reviewer` of ReassignCase: the user name the case goes to.
pub const REVIEWER: FieldLimit = FieldLimit::chars("reviewer", 64);

/// Every limit of the service, as documented in the proto.
pub const TABLE: [FieldLimit; 10] = [
    CASE_ID,
    OFFICE_ID,
    STATES,
    REASON,
    ITEMS,
    ITEM,
    CHECKLIST,
    REVIEW_POINT_CODE,
    NOTE,
    REVIEWER,
];

/// A required free-text field within `limit`: the limit first, then the shared text rules
/// (required, no control characters). Returns the value trimmed.
pub(crate) fn text(
    limit: &FieldLimit,
    value: &str,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> String {
    if chars(limit, value, &[], lang, errors) {
        check_text(value, limit.path, lang, errors)
    } else {
        String::new()
    }
}

/// The request's `case_id` within [`CASE_ID`], parsed.
///
/// # Errors
/// [`ReviewError::Invalid`] naming `case_id` when it is too long or not a UUID.
pub(crate) fn case_id(raw: &str, lang: Lang) -> Result<Uuid, ReviewError> {
    let mut errors = Vec::new();
    if !chars(&CASE_ID, raw, &[], lang, &mut errors) {
        return Err(ReviewError::Invalid(errors));
    }
    Ok(parse_case_id(raw, lang)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_documented_in_the_proto() {
        let proto = include_str!("../../../proto/tongban/review/v1/review.proto");
        assert_eq!(
            tongban_domain::field_limits::undocumented(&TABLE, proto),
            Vec::<String>::new(),
            "review.proto documents every limit"
        );
    }

    #[test]
    fn a_note_over_its_limit_is_named_with_its_index() {
        let mut errors = Vec::new();
        assert!(!chars(
            &NOTE,
            &"x".repeat(1001),
            &[2],
            Lang::En,
            &mut errors
        ));
        assert_eq!(
            errors,
            [FieldViolation::new(
                "checklist[2].note",
                "too long: at most 1000 characters, got 1001"
            )]
        );
    }
}
