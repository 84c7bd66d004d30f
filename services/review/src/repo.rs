//! The review schema: assignments of cases to responsible offices.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use tongban_domain::case::CaseStatus;
use tongban_proto::review::v1::AssignmentState;
use uuid::Uuid;

/// An assignment row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssignmentRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub office_id: String,
    pub matter_code: String,
    pub matter_name: String,
    pub scope: String,
    pub mode: String,
    pub state: String,
    pub case_status: String,
    pub window_office_id: String,
    pub applicant: Value,
    pub home_division: String,
    pub materials: Value,
    pub routed_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub checklist: Value,
    pub decided_at: Option<DateTime<Utc>>,
    pub supplement_items: Value,
    pub supplement_reason: Option<String>,
    pub traceparent: Option<String>,
}

impl AssignmentRow {
    /// The case status as review knows it (only this service writes it).
    pub fn status(&self) -> CaseStatus {
        self.case_status.parse().unwrap_or(CaseStatus::Routed)
    }

    /// Sets the case status and the inbox state derived from it.
    pub fn set_status(&mut self, status: CaseStatus) {
        self.case_status = status.as_str().to_owned();
        self.state = state_name(state_of(status)).to_owned();
    }
}

/// The inbox state of a case status.
pub fn state_of(status: CaseStatus) -> AssignmentState {
    match status {
        CaseStatus::Submitted | CaseStatus::Accepted | CaseStatus::Routed => {
            AssignmentState::Routed
        }
        CaseStatus::Claimed => AssignmentState::Claimed,
        CaseStatus::SupplementRequested => AssignmentState::SupplementRequested,
        CaseStatus::Supplemented => AssignmentState::Supplemented,
        CaseStatus::Approved | CaseStatus::Denied | CaseStatus::Completed => {
            AssignmentState::Decided
        }
        CaseStatus::Withdrawn => AssignmentState::Withdrawn,
    }
}

/// Stored name of an inbox state.
pub fn state_name(state: AssignmentState) -> &'static str {
    match state {
        AssignmentState::Unspecified | AssignmentState::Routed => "routed",
        AssignmentState::Claimed => "claimed",
        AssignmentState::SupplementRequested => "supplement_requested",
        AssignmentState::Supplemented => "supplemented",
        AssignmentState::Decided => "decided",
        AssignmentState::Withdrawn => "withdrawn",
    }
}

const COLUMNS: &str = "case_id, case_number, office_id, matter_code, matter_name, scope, mode, state, case_status,
    window_office_id, applicant, home_division, materials, routed_at, due_at, claimed_by, claimed_at, decision,
    decision_reason, checklist, decided_at, supplement_items, supplement_reason, traceparent";

/// Adds a routed case to its office's inbox; `false` if it was there already.
pub async fn insert(conn: &mut PgConnection, a: &AssignmentRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO assignments (case_id, case_number, office_id, matter_code, matter_name, scope, mode, state,
            case_status, window_office_id, applicant, home_division, materials, routed_at, due_at, traceparent)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(a.case_id)
    .bind(&a.case_number)
    .bind(&a.office_id)
    .bind(&a.matter_code)
    .bind(&a.matter_name)
    .bind(&a.scope)
    .bind(&a.mode)
    .bind(&a.state)
    .bind(&a.case_status)
    .bind(&a.window_office_id)
    .bind(&a.applicant)
    .bind(&a.home_division)
    .bind(&a.materials)
    .bind(a.routed_at)
    .bind(a.due_at)
    .bind(&a.traceparent)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An assignment by case id, optionally locked.
pub async fn get(
    conn: &mut PgConnection,
    case_id: Uuid,
    lock: bool,
) -> Result<Option<AssignmentRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assignments WHERE case_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(conn)
        .await
}

/// An office's assignments, oldest first, optionally only some states.
pub async fn list(
    conn: &mut PgConnection,
    office_id: &str,
    states: &[String],
    limit: i64,
) -> Result<Vec<AssignmentRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assignments WHERE office_id = $1 AND (cardinality($2::text[]) = 0 OR state = ANY($2))
         ORDER BY routed_at, case_number LIMIT $3"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(office_id)
        .bind(states)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Writes the changeable part back.
pub async fn update(conn: &mut PgConnection, a: &AssignmentRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE assignments SET state = $2, case_status = $3, due_at = $4, claimed_by = $5, claimed_at = $6,
            decision = $7, decision_reason = $8, checklist = $9, decided_at = $10, supplement_items = $11,
            supplement_reason = $12, materials = $13, updated_at = now()
         WHERE case_id = $1",
    )
    .bind(a.case_id)
    .bind(&a.state)
    .bind(&a.case_status)
    .bind(a.due_at)
    .bind(&a.claimed_by)
    .bind(a.claimed_at)
    .bind(&a.decision)
    .bind(&a.decision_reason)
    .bind(&a.checklist)
    .bind(a.decided_at)
    .bind(&a.supplement_items)
    .bind(&a.supplement_reason)
    .bind(&a.materials)
    .execute(conn)
    .await?;
    Ok(())
}
