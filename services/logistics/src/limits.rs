//! The size limits of every string and repeated field of LogisticsService's requests, in one
//! table ([`TABLE`], the same numbers as the comments of
//! `proto/tongban/logistics/v1/logistics.proto`), and the check that reports a field over its
//! limit by name (with its index: `material_codes[3]`) in the caller's language. Every check
//! runs before a step begins: nothing is written for a refused request.

use tongban_domain::field_limits::FieldLimit;
pub(crate) use tongban_runtime::input::{limit_chars as chars, limit_items as items};
pub use tongban_runtime::server::{MAX_DECODING_MESSAGE_BYTES, MAX_ENCODING_MESSAGE_BYTES};

/// `case_id` of CreateWaybill and ListWaybills: a UUID.
pub const CASE_ID: FieldLimit = FieldLimit::chars("case_id", 64);
/// `tracking_number` of RecordTrackingEvent and GetWaybill (13 characters when well formed).
pub const TRACKING_NUMBER: FieldLimit = FieldLimit::chars("tracking_number", 32);
/// `sender.office_id`: the caller's own office (taken from the token).
pub const SENDER_OFFICE_ID: FieldLimit = FieldLimit::chars("sender.office_id", 64);
/// `sender.name`, `sender.division`, `sender.address`, `sender.phone`: ignored (the sender is
/// the caller's office as the directory knows it), bounded all the same.
pub const SENDER_NAME: FieldLimit = FieldLimit::chars("sender.name", 100);
/// See [`SENDER_NAME`].
pub const SENDER_DIVISION: FieldLimit = FieldLimit::chars("sender.division", 12);
/// See [`SENDER_NAME`].
pub const SENDER_ADDRESS: FieldLimit = FieldLimit::chars("sender.address", 200);
/// See [`SENDER_NAME`].
pub const SENDER_PHONE: FieldLimit = FieldLimit::chars("sender.phone", 32);
/// `recipient.office_id`: an office of the directory, or empty for the applicant.
pub const RECIPIENT_OFFICE_ID: FieldLimit = FieldLimit::chars("recipient.office_id", 64);
/// `recipient.name`, `recipient.division`, `recipient.phone`: ignored (taken from the directory
/// or the case), bounded all the same.
pub const RECIPIENT_NAME: FieldLimit = FieldLimit::chars("recipient.name", 100);
/// See [`RECIPIENT_NAME`].
pub const RECIPIENT_DIVISION: FieldLimit = FieldLimit::chars("recipient.division", 12);
/// `recipient.address`: the applicant's postal address when it differs from the case's.
pub const RECIPIENT_ADDRESS: FieldLimit = FieldLimit::chars("recipient.address", 200);
/// See [`RECIPIENT_NAME`].
pub const RECIPIENT_PHONE: FieldLimit = FieldLimit::chars("recipient.phone", 32);
/// `material_codes` of CreateWaybill.
pub const MATERIAL_CODES: FieldLimit = FieldLimit::items("material_codes", 50);
/// Each of `material_codes`.
pub const MATERIAL_CODE: FieldLimit = FieldLimit::chars("material_codes[]", 64);
/// `location` of RecordTrackingEvent.
pub const LOCATION: FieldLimit = FieldLimit::chars("location", 200);
/// `carrier_event_id` of RecordTrackingEvent (ASCII).
pub const CARRIER_EVENT_ID: FieldLimit = FieldLimit::chars("carrier_event_id", 128);

/// Every limit of the service, as documented in the proto.
pub const TABLE: [FieldLimit; 16] = [
    CASE_ID,
    TRACKING_NUMBER,
    SENDER_OFFICE_ID,
    SENDER_NAME,
    SENDER_DIVISION,
    SENDER_ADDRESS,
    SENDER_PHONE,
    RECIPIENT_OFFICE_ID,
    RECIPIENT_NAME,
    RECIPIENT_DIVISION,
    RECIPIENT_ADDRESS,
    RECIPIENT_PHONE,
    MATERIAL_CODES,
    MATERIAL_CODE,
    LOCATION,
    CARRIER_EVENT_ID,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_documented_in_the_proto() {
        let proto = include_str!("../../../proto/tongban/logistics/v1/logistics.proto");
        assert_eq!(
            tongban_domain::field_limits::undocumented(&TABLE, proto),
            Vec::<String>::new(),
            "logistics.proto documents every limit"
        );
    }
}
