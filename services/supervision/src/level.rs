//! 督办层级: the supervision level of an office, from its division code (GB/T 2260: `xx0000`
//! province, `xxxx00` prefecture-level city, otherwise county).

use tongban_domain::reference::ReferenceData;
use tongban_proto::supervision::v1::SupervisionLevel;

/// County level (1), the lowest.
pub const COUNTY: i16 = 1;
/// City level (2).
pub const CITY: i16 = 2;
/// Province level (3), the highest.
pub const PROVINCE: i16 = 3;

/// The level at which `office_id` is supervised; an office missing from the directory is
/// supervised at county level.
pub fn of_office(reference: &ReferenceData, office_id: &str) -> i16 {
    let Some(office) = reference.directory.office(office_id) else {
        return COUNTY;
    };
    let code = office.division.as_str();
    if code.ends_with("0000") {
        PROVINCE
    } else if code.ends_with("00") {
        CITY
    } else {
        COUNTY
    }
}

/// One level up, at most province.
pub fn up(level: i16) -> i16 {
    (level + 1).clamp(COUNTY, PROVINCE)
}

/// The stored level as the API's enum.
pub fn to_pb(level: i16) -> SupervisionLevel {
    match level {
        COUNTY => SupervisionLevel::County,
        CITY => SupervisionLevel::City,
        PROVINCE => SupervisionLevel::Province,
        _ => SupervisionLevel::Unspecified,
    }
}

/// The API's enum as stored; `None` for unspecified.
pub fn from_pb(level: SupervisionLevel) -> Option<i16> {
    match level {
        SupervisionLevel::County => Some(COUNTY),
        SupervisionLevel::City => Some(CITY),
        SupervisionLevel::Province => Some(PROVINCE),
        SupervisionLevel::Unspecified => None,
    }
}

/// `county`, `city`, `province` (events and logs).
pub fn name(level: i16) -> &'static str {
    match level {
        CITY => "city",
        PROVINCE => "province",
        _ => "county",
    }
}
