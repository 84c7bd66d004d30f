//! The size limits of every string and repeated field of SupervisionService's requests, in one
//! table ([`TABLE`], the same numbers as the comments of
//! `proto/tongban/supervision/v1/supervision.proto`), and the check that reports a field over
//! its limit by name in the caller's language. Every check runs before a step begins: nothing
//! is written for a refused request.

use tongban_domain::field_limits::FieldLimit;
pub(crate) use tongban_runtime::input::limit_chars as chars;
pub use tongban_runtime::server::{MAX_DECODING_MESSAGE_BYTES, MAX_ENCODING_MESSAGE_BYTES};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_documented_in_the_proto() {
        let proto = include_str!("../../../proto/tongban/supervision/v1/supervision.proto");
        assert_eq!(
            tongban_domain::field_limits::undocumented(&TABLE, proto),
            Vec::<String>::new(),
            "supervision.proto documents every limit"
        );
    }
}
