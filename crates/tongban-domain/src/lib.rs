//! tongban's rules: divisions, validation of personal and organisation identifiers, the 五统一
//! catalog, the office directory and agreements, routing, the working-day calendar, the case
//! clock and the case state machine. Pure: no I/O beyond parsing data files handed to it, no
//! async runtime, no database, no messaging.

#![deny(missing_docs)]

pub mod assignment;
pub mod bundle;
pub mod bundle_view;
pub mod calendar;
pub mod case;
pub mod case_number;
pub mod catalog;
pub mod clock;
pub mod clock_steps;
pub mod complaint;
pub mod data;
pub mod directory;
pub mod division;
pub mod field_limits;
pub mod hex;
pub mod i18n;
pub mod issuers;
pub mod joint;
pub mod kept_parts;
pub mod lockout;
pub mod logistics;
pub mod materials;
pub mod notice;
pub mod rating;
pub mod reference;
pub mod review;
pub mod routing;
pub mod stages;
pub mod timeline;
pub mod validate;
