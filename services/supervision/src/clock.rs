//! The supervised clock of one case. Its rules are the domain's
//! ([`tongban_domain::stages`]); this module keeps the names the benchmark and the shell use.

pub use tongban_domain::stages::{AlertKind, Deadline, Due, StageShare, Tracked, WHOLE_CASE};
