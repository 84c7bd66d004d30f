//! Checks of request fields that every service reads the same way: case ids and free text
//! (reasons, notes). Each bad field is reported by name, in the caller's language.

use tongban_domain::field_limits::FieldLimit;
use tongban_domain::i18n::{Lang, Localized as _};
use tonic::Status;
use uuid::Uuid;

use crate::status::{self, FieldViolation};

/// Longest free text (reasons, notes, complaint content), in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// The `case_id` field of a request: a UUID, surrounding white space ignored.
///
/// # Errors
///
/// INVALID_ARGUMENT naming `case_id` when it is not a UUID.
pub fn parse_case_id(raw: &str, lang: Lang) -> Result<Uuid, Status> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        status::invalid_argument(
            lang,
            vec![FieldViolation::new(
                "case_id",
                lang.pick("不是有效的办件编号（UUID）", "not a valid case id (UUID)"),
            )],
        )
    })
}

/// Checks a required free-text `field`: at most [`MAX_TEXT_CHARS`], no control characters but
/// newlines; adds a violation to `errors` when it fails. Returns the value trimmed.
pub fn check_text(
    value: &str,
    field: &str,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldViolation::new(
            field,
            lang.pick("必须填写", "is required"),
        ));
    } else if value.chars().count() > MAX_TEXT_CHARS
        || value.chars().any(|c| c.is_control() && c != '\n')
    {
        errors.push(FieldViolation::new(
            field,
            lang.pick(
                "最长 1000 个字符，不能含控制字符",
                "at most 1000 characters, no control characters",
            ),
        ));
    }
    value.to_owned()
}

/// Checks a string field against its `limit` (element `indices` of a repeated field); adds the
/// violation, named with its index (`checklist[2].note`), to `errors` and returns `false` when
/// it is over.
pub fn limit_chars(
    limit: &FieldLimit,
    value: &str,
    indices: &[usize],
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> bool {
    match limit.check_chars(value, indices) {
        Ok(()) => true,
        Err(over) => {
            errors.push(FieldViolation::new(over.field.clone(), over.text(lang)));
            false
        }
    }
}

/// Checks a repeated field of `count` elements against its `limit`; adds the violation to
/// `errors` and returns `false` when it has too many (its elements are then not checked).
pub fn limit_items(
    limit: &FieldLimit,
    count: usize,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> bool {
    match limit.check_items(count, &[]) {
        Ok(()) => true,
        Err(over) => {
            errors.push(FieldViolation::new(over.field.clone(), over.text(lang)));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_is_a_uuid() {
        let id = Uuid::now_v7();
        assert_eq!(parse_case_id(&format!(" {id} "), Lang::Zh).unwrap(), id);
        let err = parse_case_id("WT-1", Lang::En).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            err.message(),
            "invalid request: case_id: not a valid case id (UUID)"
        );
    }

    #[test]
    fn text_is_required_short_and_without_control_characters() {
        let mut errors = Vec::new();
        assert_eq!(
            check_text("  材料齐全\n准予  ", "reason", Lang::Zh, &mut errors),
            "材料齐全\n准予"
        );
        assert!(errors.is_empty());

        check_text("   ", "reason", Lang::Zh, &mut errors);
        check_text("a\tb", "note", Lang::En, &mut errors);
        check_text(
            &"字".repeat(MAX_TEXT_CHARS + 1),
            "items[0]",
            Lang::Zh,
            &mut errors,
        );
        assert_eq!(
            check_text(&"字".repeat(MAX_TEXT_CHARS), "x", Lang::Zh, &mut errors)
                .chars()
                .count(),
            MAX_TEXT_CHARS
        );
        assert_eq!(
            errors,
            vec![
                FieldViolation::new("reason", "必须填写"),
                FieldViolation::new("note", "at most 1000 characters, no control characters"),
                FieldViolation::new("items[0]", "最长 1000 个字符，不能含控制字符"),
            ]
        );
    }
}
