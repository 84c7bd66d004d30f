//! The size limits of every string and repeated field of SupervisionService's requests, in one
//! table ([`TABLE`], the same numbers as the comments of
//! `proto/tongban/supervision/v1/supervision.proto`), and the check that reports a field over
//! its limit by name in the caller's language. Every check runs before a step begins: nothing
//! is written for a refused request.

use tongban_domain::field_limits::FieldLimit;
use tongban_domain::i18n::{Lang, Localized};
use tongban_runtime::status::FieldViolation;

/// Largest request the server decodes: 4 MiB (the largest well-formed request, a ticket step
/// with a 1000-character note, is about 3 KB); tonic refuses a larger one with OUT_OF_RANGE
/// before it reaches a handler.
pub const MAX_DECODING_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Largest response the server encodes: 16 MiB (a full page of 1000 tickets or alerts).
pub const MAX_ENCODING_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// `office_id` of ListAlerts and ListTickets.
pub const OFFICE_ID: FieldLimit = FieldLimit::chars("office_id", 64);
/// `group_by` of GetStatistics (one of five words).
pub const GROUP_BY: FieldLimit = FieldLimit::chars("group_by", 16);
/// `ticket_id` of the ticket steps: a UUID.
pub const TICKET_ID: FieldLimit = FieldLimit::chars("ticket_id", 64);
/// `note` of the ticket steps.
pub const NOTE: FieldLimit = FieldLimit::chars("note", 1000);

/// Every limit of the service, as documented in the proto.
pub const TABLE: [FieldLimit; 4] = [OFFICE_ID, GROUP_BY, TICKET_ID, NOTE];

/// Checks a string against `limit`; adds the violation to `errors` and returns `false` when it
/// is over.
pub(crate) fn chars(
    limit: &FieldLimit,
    value: &str,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> bool {
    match limit.check_chars(value, &[]) {
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
    fn every_limit_is_documented_in_the_proto() {
        let proto = include_str!("../../../proto/tongban/supervision/v1/supervision.proto");
        for limit in TABLE {
            let documented = format!("{}: at most {}", limit.path, limit.max());
            assert!(
                proto.contains(&documented),
                "supervision.proto documents `{documented}`"
            );
        }
    }
}
