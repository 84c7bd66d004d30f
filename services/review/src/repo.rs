//! The review schema: assignments of cases to responsible offices. A case handled by one office
//! has one row; a 多地联办 case has one row per part, each keyed by the part's office.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use tongban_domain::case::{CaseStatus, Decision};
use tongban_domain::catalog::{JointPart, Locality, Mode, Scope};
use tongban_domain::clock::SuspensionKind;
use tongban_domain::joint::PartState;
use tongban_proto::review::v1::AssignmentState;
use uuid::Uuid;

/// Why rows could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A statement failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A stored value does not decode into its domain type: the row is corrupt, never guessed.
    #[error("stored {column} {value:?} does not decode")]
    Decode {
        /// The column.
        column: &'static str,
        /// The value found.
        value: String,
    },
}

impl From<RepoError> for tongban_bus::HandleError {
    /// A failing statement is retried; a stored value that does not decode never will.
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Sql(err) => Self::Retry(Box::new(err)),
            err @ RepoError::Decode { .. } => Self::Reject(err.to_string()),
        }
    }
}

/// Decodes stored text into its domain type: an unknown value is [`RepoError::Decode`].
pub(crate) fn decode<T: std::str::FromStr>(
    column: &'static str,
    value: &str,
) -> Result<T, RepoError> {
    value.parse().map_err(|_| RepoError::Decode {
        column,
        value: value.to_owned(),
    })
}

/// Decodes optional stored text (`NULL` is `None`).
pub(crate) fn decode_opt<T: std::str::FromStr>(
    column: &'static str,
    value: Option<&str>,
) -> Result<Option<T>, RepoError> {
    value.map(|v| decode(column, v)).transpose()
}

/// Decodes stored text that is empty when intake sent no value (an unspecified scope or mode).
fn decode_unless_empty<T: std::str::FromStr>(
    column: &'static str,
    text: &str,
) -> Result<Option<T>, RepoError> {
    if text.is_empty() {
        Ok(None)
    } else {
        decode(column, text).map(Some)
    }
}

/// An assignment row as stored: its enums as text. It becomes an [`AssignmentRow`] only by
/// decoding ([`TryFrom`]).
#[derive(Debug, Clone, sqlx::FromRow)]
struct Stored {
    case_id: Uuid,
    case_number: String,
    office_id: String,
    matter_code: String,
    matter_name: String,
    scope: String,
    mode: String,
    state: String,
    case_status: String,
    window_office_id: String,
    applicant: Value,
    home_division: String,
    materials: Value,
    routed_at: DateTime<Utc>,
    due_at: Option<DateTime<Utc>>,
    claimed_by: Option<String>,
    claimed_at: Option<DateTime<Utc>>,
    decision: Option<String>,
    decision_reason: Option<String>,
    checklist: Value,
    decided_at: Option<DateTime<Utc>>,
    supplement_items: Value,
    supplement_reason: Option<String>,
    traceparent: Option<String>,
    part_code: String,
    part_name: String,
    part_state: Option<String>,
    part_seq: i32,
    part_after: Value,
    part_review_points: Value,
    part_route: Value,
    bundle_id: Option<Uuid>,
    bundle_number: Option<String>,
    bundle_code: Option<String>,
    bundle_name: Option<String>,
    extension_days: i32,
    clock_suspension: Option<String>,
}

/// An assignment: a case (or one 多地联办 part of it) in one office's inbox, its stored enums
/// decoded.
#[derive(Debug, Clone)]
pub struct AssignmentRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub office_id: String,
    pub matter_code: String,
    pub matter_name: String,
    /// 通办范围; `None` when intake sent none.
    pub scope: Option<Scope>,
    /// 办理模式; `None` when intake sent none.
    pub mode: Option<Mode>,
    /// The inbox state (derived from the part's state, else from the case status).
    pub state: AssignmentState,
    /// The status of the case as a whole as review knows it (only this service writes it; for
    /// a 多地联办 case every row holds the status derived from all parts).
    pub case_status: CaseStatus,
    pub window_office_id: String,
    pub applicant: Value,
    pub home_division: String,
    pub materials: Value,
    pub routed_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub decision: Option<Decision>,
    pub decision_reason: Option<String>,
    pub checklist: Value,
    pub decided_at: Option<DateTime<Utc>>,
    pub supplement_items: Value,
    pub supplement_reason: Option<String>,
    pub traceparent: Option<String>,
    pub part_code: String,
    pub part_name: String,
    /// 多地联办: the state of this office's part; `None` for a case handled by one office.
    pub part_state: Option<PartState>,
    pub part_seq: i32,
    pub part_after: Value,
    pub part_review_points: Value,
    pub part_route: Value,
    /// 多地联办: where the part's office is (from the part's route); `None` for a case
    /// handled by one office.
    pub part_locality: Option<Locality>,
    /// 多地联办: the part's own 通办范围 (from the part's route); `None` when intake sent none.
    pub part_scope: Option<Scope>,
    pub bundle_id: Option<Uuid>,
    pub bundle_number: Option<String>,
    pub bundle_code: Option<String>,
    pub bundle_name: Option<String>,
    /// Extension days (延长) this office granted; written by the clock steps only.
    pub extension_days: u32,
    /// The special procedure this office opened, if any; written by the clock steps only.
    pub clock_suspension: Option<SuspensionKind>,
}

impl TryFrom<Stored> for AssignmentRow {
    type Error = RepoError;

    fn try_from(s: Stored) -> Result<Self, RepoError> {
        let part_state: Option<PartState> = decode_opt("part_state", s.part_state.as_deref())?;
        let part_locality = match part_state {
            Some(_) => Some(decode(
                "part_route.locality",
                s.part_route
                    .get("locality")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )?),
            None => None,
        };
        let part_scope = decode_unless_empty(
            "part_route.scope",
            s.part_route
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )?;
        Ok(Self {
            part_scope,
            scope: decode_unless_empty("scope", &s.scope)?,
            mode: decode_unless_empty("mode", &s.mode)?,
            state: state_from_name(&s.state).ok_or_else(|| RepoError::Decode {
                column: "state",
                value: s.state.clone(),
            })?,
            case_status: decode("case_status", &s.case_status)?,
            decision: decode_opt("decision", s.decision.as_deref())?,
            part_state,
            part_locality,
            extension_days: u32::try_from(s.extension_days).map_err(|_| RepoError::Decode {
                column: "extension_days",
                value: s.extension_days.to_string(),
            })?,
            clock_suspension: match s.clock_suspension.as_deref() {
                None => None,
                Some(code) => {
                    Some(
                        SuspensionKind::from_code(code).ok_or_else(|| RepoError::Decode {
                            column: "clock_suspension",
                            value: code.to_owned(),
                        })?,
                    )
                }
            },
            case_id: s.case_id,
            case_number: s.case_number,
            office_id: s.office_id,
            matter_code: s.matter_code,
            matter_name: s.matter_name,
            window_office_id: s.window_office_id,
            applicant: s.applicant,
            home_division: s.home_division,
            materials: s.materials,
            routed_at: s.routed_at,
            due_at: s.due_at,
            claimed_by: s.claimed_by,
            claimed_at: s.claimed_at,
            decision_reason: s.decision_reason,
            checklist: s.checklist,
            decided_at: s.decided_at,
            supplement_items: s.supplement_items,
            supplement_reason: s.supplement_reason,
            traceparent: s.traceparent,
            part_code: s.part_code,
            part_name: s.part_name,
            part_seq: s.part_seq,
            part_after: s.part_after,
            part_review_points: s.part_review_points,
            part_route: s.part_route,
            bundle_id: s.bundle_id,
            bundle_number: s.bundle_number,
            bundle_code: s.bundle_code,
            bundle_name: s.bundle_name,
        })
    }
}

/// Decodes fetched rows.
fn decoded(rows: Vec<Stored>) -> Result<Vec<AssignmentRow>, RepoError> {
    rows.into_iter().map(AssignmentRow::try_from).collect()
}

impl Default for AssignmentRow {
    /// A routed row nothing has happened to yet: not claimed, asked or decided, no part, no
    /// bundle; its JSON columns hold what the table stores for "none" (`[]`, `{}`).
    fn default() -> Self {
        Self {
            case_id: Uuid::nil(),
            case_number: String::new(),
            office_id: String::new(),
            matter_code: String::new(),
            matter_name: String::new(),
            scope: None,
            mode: None,
            state: AssignmentState::Routed,
            case_status: CaseStatus::Routed,
            window_office_id: String::new(),
            applicant: Value::Object(serde_json::Map::new()),
            home_division: String::new(),
            materials: Value::Array(Vec::new()),
            routed_at: DateTime::<Utc>::UNIX_EPOCH,
            due_at: None,
            claimed_by: None,
            claimed_at: None,
            decision: None,
            decision_reason: None,
            checklist: Value::Array(Vec::new()),
            decided_at: None,
            supplement_items: Value::Array(Vec::new()),
            supplement_reason: None,
            traceparent: None,
            part_code: String::new(),
            part_name: String::new(),
            part_state: None,
            part_seq: 0,
            part_after: Value::Array(Vec::new()),
            part_review_points: Value::Array(Vec::new()),
            part_route: Value::Object(serde_json::Map::new()),
            part_locality: None,
            part_scope: None,
            bundle_id: None,
            bundle_number: None,
            bundle_code: None,
            bundle_name: None,
            extension_days: 0,
            clock_suspension: None,
        }
    }
}

impl AssignmentRow {
    /// The status of the case as a whole as review knows it.
    pub fn status(&self) -> CaseStatus {
        self.case_status
    }

    /// 多地联办: the state of this office's part; `None` for a case handled by one office.
    pub fn part_state(&self) -> Option<PartState> {
        self.part_state
    }

    /// Whether the row is one part of a 多地联办 case.
    pub fn is_joint(&self) -> bool {
        self.part_state.is_some()
    }

    /// Sets the case status and, for a case handled by one office, the inbox state derived from
    /// it (a part's inbox state follows its part state).
    pub fn set_status(&mut self, status: CaseStatus) {
        self.case_status = status;
        self.state = self.inbox_state();
    }

    /// 多地联办: sets the part's state and the inbox state derived from it.
    pub fn set_part_state(&mut self, state: PartState) {
        self.part_state = Some(state);
        self.state = self.inbox_state();
    }

    /// The inbox state: from the part's state for a part, else from the case status.
    pub fn inbox_state(&self) -> AssignmentState {
        match self.part_state() {
            Some(part) => part_inbox_state(part),
            None => state_of(self.status()),
        }
    }

    /// 多地联办: the part as it was routed with the case (kept with the row, so a later change
    /// of the catalog does not change a case under way).
    /// `None` for a case handled by one office.
    pub fn joint_part(&self) -> Option<JointPart> {
        Some(JointPart {
            code: self.part_code.clone(),
            name: self.part_name.clone(),
            name_en: self.route_text("name_en"),
            department: self.route_text("department"),
            locality: self.part_locality?,
            after: strings(&self.part_after),
            review_points: strings(&self.part_review_points),
        })
    }

    /// A text of the part's route (`division`, `scope`, `agreement_id`, …); empty when absent.
    pub fn route_text(&self, key: &str) -> String {
        self.part_route
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }
}

/// The strings of a JSON array of strings (anything else is skipped).
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
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

/// The inbox state of a 多地联办 part.
pub fn part_inbox_state(state: PartState) -> AssignmentState {
    match state {
        PartState::Waiting => AssignmentState::Waiting,
        PartState::Routed => AssignmentState::Routed,
        PartState::Claimed => AssignmentState::Claimed,
        PartState::SupplementRequested => AssignmentState::SupplementRequested,
        PartState::Supplemented => AssignmentState::Supplemented,
        PartState::Approved | PartState::Denied => AssignmentState::Decided,
        PartState::Cancelled => AssignmentState::Cancelled,
        PartState::Withdrawn => AssignmentState::Withdrawn,
    }
}

/// The inbox state of a stored name.
pub fn state_from_name(name: &str) -> Option<AssignmentState> {
    [
        AssignmentState::Routed,
        AssignmentState::Claimed,
        AssignmentState::SupplementRequested,
        AssignmentState::Supplemented,
        AssignmentState::Decided,
        AssignmentState::Withdrawn,
        AssignmentState::Waiting,
        AssignmentState::Cancelled,
    ]
    .into_iter()
    .find(|s| state_name(*s) == name)
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
        AssignmentState::Waiting => "waiting",
        AssignmentState::Cancelled => "cancelled",
    }
}

const COLUMNS: &str = "case_id, case_number, office_id, matter_code, matter_name, scope, mode, state, case_status,
    window_office_id, applicant, home_division, materials, routed_at, due_at, claimed_by, claimed_at, decision,
    decision_reason, checklist, decided_at, supplement_items, supplement_reason, traceparent, part_code,
    part_name, part_state, part_seq, part_after, part_review_points, part_route, bundle_id, bundle_number,
    bundle_code, bundle_name, extension_days, clock_suspension";

/// Adds a routed case (or one part of it) to its office's inbox; `false` if it was there
/// already.
pub async fn insert(conn: &mut PgConnection, a: &AssignmentRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO assignments (case_id, case_number, office_id, matter_code, matter_name, scope, mode, state,
            case_status, window_office_id, applicant, home_division, materials, routed_at, due_at, traceparent,
            part_code, part_name, part_state, part_seq, part_after, part_review_points, part_route, bundle_id,
            bundle_number, bundle_code, bundle_name)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27)
         ON CONFLICT (case_id, office_id) DO NOTHING",
    )
    .bind(a.case_id)
    .bind(&a.case_number)
    .bind(&a.office_id)
    .bind(&a.matter_code)
    .bind(&a.matter_name)
    .bind(a.scope.map_or("", Scope::as_str))
    .bind(a.mode.map_or("", Mode::as_str))
    .bind(state_name(a.state))
    .bind(a.case_status.as_str())
    .bind(&a.window_office_id)
    .bind(&a.applicant)
    .bind(&a.home_division)
    .bind(&a.materials)
    .bind(a.routed_at)
    .bind(a.due_at)
    .bind(&a.traceparent)
    .bind(&a.part_code)
    .bind(&a.part_name)
    .bind(a.part_state.map(PartState::as_str))
    .bind(a.part_seq)
    .bind(&a.part_after)
    .bind(&a.part_review_points)
    .bind(&a.part_route)
    .bind(a.bundle_id)
    .bind(&a.bundle_number)
    .bind(&a.bundle_code)
    .bind(&a.bundle_name)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The assignment of a case at one office, optionally locked.
pub async fn get(
    conn: &mut PgConnection,
    case_id: Uuid,
    office_id: &str,
    lock: bool,
) -> Result<Option<AssignmentRow>, RepoError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assignments WHERE case_id = $1 AND office_id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let stored: Option<Stored> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .bind(office_id)
        .fetch_optional(conn)
        .await?;
    stored.map(AssignmentRow::try_from).transpose()
}

/// The lead assignment of a case: its only row, or the first part's of a 多地联办 case (whose
/// office receives the originals and issues the result).
pub async fn lead(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<AssignmentRow>, RepoError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assignments WHERE case_id = $1 ORDER BY part_seq, office_id LIMIT 1"
    );
    let stored: Option<Stored> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(conn)
        .await?;
    stored.map(AssignmentRow::try_from).transpose()
}

/// Every row of a case in the parts' order (one row unless it is a 多地联办 case), locked when
/// the caller is about to act: all rows in one order, so two offices acting at once on the
/// same case queue instead of deadlocking.
pub async fn parts_of(
    conn: &mut PgConnection,
    case_id: Uuid,
    lock: bool,
) -> Result<Vec<AssignmentRow>, RepoError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assignments WHERE case_id = $1 ORDER BY part_seq, office_id{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let stored: Vec<Stored> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_all(conn)
        .await?;
    decoded(stored)
}

/// The rows of the 多地联办 parts of these cases, in the parts' order.
pub async fn parts_of_cases(
    conn: &mut PgConnection,
    case_ids: &[Uuid],
) -> Result<Vec<AssignmentRow>, RepoError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assignments WHERE case_id = ANY($1) AND part_state IS NOT NULL
         ORDER BY case_id, part_seq, office_id"
    );
    let stored: Vec<Stored> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case_ids)
        .fetch_all(conn)
        .await?;
    decoded(stored)
}

/// An office's rows that a change to `case_id` shows on: the office's own row of the case, and
/// its rows of the other members of the case's 一件事 bundle (their bundle status follows) —
/// also when the changed member never reached an office (a member withdrawn while it waited).
pub async fn touched_by(
    conn: &mut PgConnection,
    case_id: Uuid,
    office_id: &str,
) -> Result<Vec<AssignmentRow>, RepoError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assignments
         WHERE office_id = $2 AND (case_id = $1 OR bundle_id IN (
             SELECT bundle_id FROM assignments WHERE case_id = $1 AND bundle_id IS NOT NULL
             UNION
             SELECT bundle_id FROM bundle_members WHERE case_id = $1))
         ORDER BY routed_at, case_number"
    );
    let stored: Vec<Stored> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .bind(office_id)
        .fetch_all(conn)
        .await?;
    decoded(stored)
}

/// An office's assignments, oldest first, optionally only some states.
pub async fn list(
    conn: &mut PgConnection,
    office_id: &str,
    states: &[String],
    limit: i64,
) -> Result<Vec<AssignmentRow>, RepoError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assignments WHERE office_id = $1 AND (cardinality($2::text[]) = 0 OR state = ANY($2))
         ORDER BY routed_at, case_number LIMIT $3"
    );
    let stored: Vec<Stored> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(office_id)
        .bind(states)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    decoded(stored)
}

/// Writes the changeable part of one row back.
pub async fn update(conn: &mut PgConnection, a: &AssignmentRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE assignments SET state = $3, case_status = $4, due_at = $5, claimed_by = $6, claimed_at = $7,
            decision = $8, decision_reason = $9, checklist = $10, decided_at = $11, supplement_items = $12,
            supplement_reason = $13, materials = $14, part_state = $15, updated_at = now()
         WHERE case_id = $1 AND office_id = $2",
    )
    .bind(a.case_id)
    .bind(&a.office_id)
    .bind(state_name(a.state))
    .bind(a.case_status.as_str())
    .bind(a.due_at)
    .bind(&a.claimed_by)
    .bind(a.claimed_at)
    .bind(a.decision.map(Decision::as_str))
    .bind(&a.decision_reason)
    .bind(&a.checklist)
    .bind(a.decided_at)
    .bind(&a.supplement_items)
    .bind(&a.supplement_reason)
    .bind(&a.materials)
    .bind(a.part_state.map(PartState::as_str))
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes an office's clock entry (延长 days granted, special procedure open) back.
pub async fn update_clock(conn: &mut PgConnection, a: &AssignmentRow) -> Result<(), RepoError> {
    sqlx::query(
        "UPDATE assignments SET extension_days = $3, clock_suspension = $4, updated_at = now()
         WHERE case_id = $1 AND office_id = $2",
    )
    .bind(a.case_id)
    .bind(&a.office_id)
    .bind(i32::try_from(a.extension_days).unwrap_or(i32::MAX))
    .bind(a.clock_suspension.map(SuspensionKind::code))
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tongban_bus::HandleError;

    use super::*;

    /// A stored 多地联办 part, every value as this service writes it.
    fn stored() -> Stored {
        Stored {
            case_id: Uuid::from_u128(1),
            case_number: "140922-20261102-00001-4".to_owned(),
            office_id: "640100-gongan".to_owned(),
            matter_code: "GA-HJ-QY-GZDD".to_owned(),
            matter_name: "户口迁移".to_owned(),
            scope: "cross_province".to_owned(),
            mode: "joint".to_owned(),
            state: "claimed".to_owned(),
            case_status: "claimed".to_owned(),
            window_office_id: "140922-zwfw".to_owned(),
            applicant: json!({}),
            home_division: "640104".to_owned(),
            materials: json!([]),
            routed_at: DateTime::<Utc>::UNIX_EPOCH,
            due_at: None,
            claimed_by: Some("li".to_owned()),
            claimed_at: None,
            decision: None,
            decision_reason: None,
            checklist: json!([]),
            decided_at: None,
            supplement_items: json!([]),
            supplement_reason: None,
            traceparent: None,
            part_code: "QR".to_owned(),
            part_name: "迁入地审批".to_owned(),
            part_state: Some("claimed".to_owned()),
            part_seq: 0,
            part_after: json!([]),
            part_review_points: json!([]),
            part_route: json!({"locality": "home_division"}),
            bundle_id: None,
            bundle_number: None,
            bundle_code: None,
            bundle_name: None,
            extension_days: 3,
            clock_suspension: Some("appraisal".to_owned()),
        }
    }

    #[test]
    fn a_stored_row_decodes_into_domain_types() {
        let row = AssignmentRow::try_from(stored()).unwrap();
        assert_eq!(row.case_status, CaseStatus::Claimed);
        assert_eq!(row.state, AssignmentState::Claimed);
        assert_eq!(row.part_state, Some(PartState::Claimed));
        assert_eq!(row.scope, Some(Scope::CrossProvince));
        assert_eq!(row.extension_days, 3);
        assert_eq!(row.clock_suspension, Some(SuspensionKind::Appraisal));
        assert_eq!(
            row.joint_part().map(|p| p.locality),
            Some(Locality::HomeDivision)
        );
    }

    #[test]
    fn a_stored_value_that_does_not_decode_is_an_error_never_a_default() {
        type Spoil = fn(&mut Stored);
        let corrupt: [(&str, Spoil); 9] = [
            ("case_status", |s| s.case_status = "lost".to_owned()),
            ("state", |s| s.state = "lost".to_owned()),
            ("part_state", |s| s.part_state = Some("lost".to_owned())),
            ("decision", |s| s.decision = Some("maybe".to_owned())),
            ("scope", |s| s.scope = "nowhere".to_owned()),
            ("clock_suspension", |s| {
                s.clock_suspension = Some("nap".to_owned());
            }),
            ("extension_days", |s| s.extension_days = -1),
            ("part_route.locality", |s| s.part_route = json!({})),
            ("part_route.scope", |s| {
                s.part_route = json!({"locality": "home_division", "scope": "moon"});
            }),
        ];
        for (column, spoil) in corrupt {
            let mut row = stored();
            spoil(&mut row);
            match AssignmentRow::try_from(row) {
                Err(RepoError::Decode { column: found, .. }) => assert_eq!(found, column),
                other => panic!("{column}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_consumer_rejects_a_corrupt_row_and_retries_a_failing_statement() {
        let decode = RepoError::Decode {
            column: "case_status",
            value: "lost".to_owned(),
        };
        assert!(matches!(HandleError::from(decode), HandleError::Reject(_)));
        let sql = RepoError::Sql(sqlx::Error::PoolTimedOut);
        assert!(matches!(HandleError::from(sql), HandleError::Retry(_)));
    }
}
