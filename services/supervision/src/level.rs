//! 督办层级 as the API shows it; the rule (an office's level from its division, one level up per
//! missed milestone) is the domain's [`Level`].

use tongban_domain::reference::ReferenceData;
use tongban_domain::stages::Level;
use tongban_proto::supervision::v1::SupervisionLevel;

/// The level at which `office_id` is supervised ([`Level::of_division`]).
pub fn of_office(reference: &ReferenceData, office_id: &str) -> Level {
    Level::of_division(reference.directory.office(office_id).map(|o| &o.division))
}

/// The level as the API's enum.
pub fn to_pb(level: Level) -> SupervisionLevel {
    match level {
        Level::County => SupervisionLevel::County,
        Level::City => SupervisionLevel::City,
        Level::Province => SupervisionLevel::Province,
    }
}

/// The API's enum as a level; `None` for unspecified.
pub fn from_pb(level: SupervisionLevel) -> Option<Level> {
    match level {
        SupervisionLevel::County => Some(Level::County),
        SupervisionLevel::City => Some(Level::City),
        SupervisionLevel::Province => Some(Level::Province),
        SupervisionLevel::Unspecified => None,
    }
}
