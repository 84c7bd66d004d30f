//! The optional office and matter filters of list and summary requests: empty means every one;
//! anything else must name an office of the directory or a matter of the catalog, so a filter
//! never reaches the database with a value no row could hold (or one PostgreSQL refuses, such
//! as a NUL character).

use tongban_domain::i18n::Lang;
use tongban_domain::reference::ReferenceData;
use tongban_runtime::status::FieldViolation;

use crate::error::HotlineError;

/// The office filter `value` of `field`, trimmed: `None` when empty.
///
/// # Errors
/// INVALID_ARGUMENT naming `field` when it names no office of the directory.
pub(crate) fn office<'a>(
    reference: &ReferenceData,
    field: &str,
    value: &'a str,
    lang: Lang,
) -> Result<Option<&'a str>, HotlineError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if reference.directory.office(value).is_none() {
        return Err(HotlineError::Invalid(vec![FieldViolation::new(
            field,
            lang.pick("机构目录中没有此机构", "no such office in the directory"),
        )]));
    }
    Ok(Some(value))
}

/// The matter filter `value` of `field`, trimmed: `None` when empty.
///
/// # Errors
/// INVALID_ARGUMENT naming `field` when it names no matter of the catalog.
pub(crate) fn matter<'a>(
    reference: &ReferenceData,
    field: &str,
    value: &'a str,
    lang: Lang,
) -> Result<Option<&'a str>, HotlineError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if reference.catalog.matter(value).is_none() {
        return Err(HotlineError::Invalid(vec![FieldViolation::new(
            field,
            lang.pick("事项目录中没有此事项", "no such matter in the catalog"),
        )]));
    }
    Ok(Some(value))
}
