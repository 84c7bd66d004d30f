//! 办件进度: a line of a case's timeline, as the services that show one keep it in their own
//! `case_timeline` table (intake for the window, hotline for its read model).
//!
//! Only the line is shared, not the statements: the tables differ. The hotline's is fed by
//! events that may arrive late, out of order or twice, so each of its lines carries the event's
//! id (written once) and is read in the order of event time; the intake's is written as the
//! window's own steps happen and read in that order.

use chrono::{DateTime, Utc};

/// One line of a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TimelineLine {
    /// When the step happened.
    pub at: DateTime<Utc>,
    /// The case's status after it (`CaseStatus::as_str`).
    pub status: String,
    /// What happened, in Chinese.
    pub description: String,
    /// What happened, in English.
    pub description_en: String,
    /// The office that acted.
    pub office_id: String,
}
