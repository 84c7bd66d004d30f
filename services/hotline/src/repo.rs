//! The hotline schema: the status read model and its timeline, the audit of lookups,
//! complaints, ratings and rectifications.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::types::Json;
use tongban_domain::case::{CaseStatus, Decision};
use tongban_domain::catalog::{Mode, Scope};
use tongban_store::timeline::TimelineLine;
use uuid::Uuid;

use crate::parts::KeptPart;
use crate::stored::{Stored, StoredOptional};

/// One case as the hotline sees it (no ID number or phone: only verification digests).
#[derive(Clone, sqlx::FromRow)]
pub struct StatusRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub matter_code: String,
    pub matter_name: String,
    /// 通办 scope; `None` when the events named none.
    pub scope: StoredOptional<Scope>,
    /// 办理 mode; `None` when the events named none.
    pub mode: StoredOptional<Mode>,
    pub window_office_id: String,
    pub responsible_office_id: String,
    /// Decoded at the row boundary: a stored code that is no status fails the read.
    pub status: Stored<CaseStatus>,
    pub status_at: DateTime<Utc>,
    pub applicant_name_masked: String,
    pub id_tail_digest: String,
    pub phone_tail_digest: String,
    pub accepted_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub decision: Option<Stored<Decision>>,
    pub decision_reason: Option<String>,
    /// 多地联办: the parts, one per office (empty for a case handled by one office).
    pub parts: Json<Vec<KeptPart>>,
    /// 迁入地 / 转入地 of a joint case (empty when none).
    pub destination_division: String,
    /// 一件事: the bundle the case belongs to.
    pub bundle_id: Option<String>,
    pub bundle_number: Option<String>,
    pub bundle_code: Option<String>,
    pub bundle_name: Option<String>,
}

impl std::fmt::Debug for StatusRow {
    // The digests are keyed and bound to the case, but they are verification secrets all the
    // same: leave them out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusRow")
            .field("case_id", &self.case_id)
            .field("case_number", &self.case_number)
            .field("status", &self.status)
            .field("applicant_name_masked", &self.applicant_name_masked)
            .finish_non_exhaustive()
    }
}

impl StatusRow {
    /// The case's status.
    pub fn status(&self) -> CaseStatus {
        self.status.0
    }

    /// The decision, once there is one.
    pub fn decision(&self) -> Option<Decision> {
        self.decision.map(|d| d.0)
    }
}

const COLUMNS: &str = "case_id, case_number, matter_code, matter_name, scope, mode, window_office_id,
    responsible_office_id, status, status_at, applicant_name_masked, id_tail_digest, phone_tail_digest,
    accepted_at, due_at, decision, decision_reason, parts, destination_division, bundle_id, bundle_number,
    bundle_code, bundle_name";

/// Inserts the row of a submitted case; `false` when it already exists.
pub async fn insert_case(conn: &mut PgConnection, row: &StatusRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO case_status (case_id, case_number, matter_code, matter_name, scope, mode, window_office_id,
            responsible_office_id, status, status_at, applicant_name_masked, id_tail_digest, phone_tail_digest,
            accepted_at, due_at, decision, decision_reason, parts, destination_division, bundle_id, bundle_number,
            bundle_code, bundle_name)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(row.case_id)
    .bind(&row.case_number)
    .bind(&row.matter_code)
    .bind(&row.matter_name)
    .bind(row.scope.0.map_or("", Scope::as_str))
    .bind(row.mode.0.map_or("", Mode::as_str))
    .bind(&row.window_office_id)
    .bind(&row.responsible_office_id)
    .bind(row.status().as_str())
    .bind(row.status_at)
    .bind(&row.applicant_name_masked)
    .bind(&row.id_tail_digest)
    .bind(&row.phone_tail_digest)
    .bind(row.accepted_at)
    .bind(row.due_at)
    .bind(row.decision().map(Decision::as_str))
    .bind(&row.decision_reason)
    .bind(&row.parts)
    .bind(&row.destination_division)
    .bind(&row.bundle_id)
    .bind(&row.bundle_number)
    .bind(&row.bundle_code)
    .bind(&row.bundle_name)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A case by id, locked for update (events of one case are applied one at a time).
pub async fn case_for_update(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<StatusRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM case_status WHERE case_id = $1 FOR UPDATE");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(conn)
        .await
}

/// A case by its number.
pub async fn case_by_number(
    conn: &mut PgConnection,
    number: &str,
) -> Result<Option<StatusRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM case_status WHERE case_number = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(number)
        .fetch_optional(conn)
        .await
}

/// Writes the changeable part of a case back.
pub async fn update_case(conn: &mut PgConnection, row: &StatusRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_status SET status = $2, status_at = $3, accepted_at = $4, due_at = $5, decision = $6,
            decision_reason = $7, parts = $8, destination_division = $9, bundle_id = $10, bundle_number = $11,
            bundle_code = $12, bundle_name = $13, updated_at = now()
         WHERE case_id = $1",
    )
    .bind(row.case_id)
    .bind(row.status().as_str())
    .bind(row.status_at)
    .bind(row.accepted_at)
    .bind(row.due_at)
    .bind(row.decision().map(Decision::as_str))
    .bind(&row.decision_reason)
    .bind(&row.parts)
    .bind(&row.destination_division)
    .bind(&row.bundle_id)
    .bind(&row.bundle_number)
    .bind(&row.bundle_code)
    .bind(&row.bundle_name)
    .execute(conn)
    .await?;
    Ok(())
}

/// One member case of a 一件事 bundle, as the hotline's read model has it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BundleMemberRow {
    pub case_number: String,
    pub matter_code: String,
    pub matter_name: String,
    pub status: Stored<CaseStatus>,
    pub responsible_office_id: String,
    pub decision: Option<Stored<Decision>>,
}

impl BundleMemberRow {
    /// What the one bundle view needs of the member (the read model keeps no case ids: the
    /// hotline shows none).
    pub fn facts(self) -> tongban_domain::bundle_view::MemberFacts {
        tongban_domain::bundle_view::MemberFacts {
            case_id: String::new(),
            case_number: self.case_number,
            matter_code: self.matter_code,
            matter_name: self.matter_name,
            status: self.status.0,
            decision: self.decision.map(|d| d.0),
            responsible_office_id: self.responsible_office_id,
        }
    }
}

/// The member cases of bundle `bundle_id` known to the read model, by case number.
pub async fn bundle_members(
    conn: &mut PgConnection,
    bundle_id: &str,
) -> Result<Vec<BundleMemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT case_number, matter_code, matter_name, status, responsible_office_id, decision
         FROM case_status WHERE bundle_id = $1 ORDER BY case_number",
    )
    .bind(bundle_id)
    .fetch_all(conn)
    .await
}

/// Appends a line unless the event already left one (events may come again).
pub async fn add_timeline(
    conn: &mut PgConnection,
    case_id: Uuid,
    event_id: Uuid,
    line: &TimelineLine,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_timeline (case_id, at, status, description, description_en, office_id, event_id)
         VALUES ($1,$2,$3,$4,$5,$6,$7)
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(case_id)
    .bind(line.at)
    .bind(&line.status)
    .bind(&line.description)
    .bind(&line.description_en)
    .bind(&line.office_id)
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The timeline of a case, in the order of event time (events may arrive out of order).
pub async fn timeline(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<TimelineLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at, status, description, description_en, office_id FROM case_timeline
         WHERE case_id = $1 ORDER BY at, id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await
}

/// What a verification attempt was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupAction {
    /// QueryCaseStatus.
    Status,
    /// FileComplaint.
    Complaint,
    /// RateService.
    Rating,
}

impl LookupAction {
    fn as_str(self) -> &'static str {
        match self {
            LookupAction::Status => "status",
            LookupAction::Complaint => "complaint",
            LookupAction::Rating => "rating",
        }
    }
}

/// How a lookup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupResult {
    /// The case exists and the verification matched.
    Found,
    /// Unknown case or wrong verification (not told apart, not even here).
    NotFound,
    /// Malformed case number or verification.
    BadInput,
    /// The case number is locked after too many failures (核验锁定); nothing was checked.
    Locked,
}

impl LookupResult {
    fn as_str(self) -> &'static str {
        match self {
            LookupResult::Found => "found",
            LookupResult::NotFound => "not_found",
            LookupResult::BadInput => "bad_input",
            LookupResult::Locked => "locked",
        }
    }
}

/// One audited lookup.
#[derive(Debug, Clone)]
pub struct Lookup<'a> {
    pub operator: &'a str,
    pub role: &'a str,
    pub office_id: &'a str,
    pub case_number: &'a str,
    pub result: LookupResult,
    pub action: LookupAction,
    /// When, by the service's clock (the lockout counts failures by it).
    pub at: DateTime<Utc>,
}

/// Longest case number kept in the lookup audit (input as typed may be anything).
const MAX_AUDITED_NUMBER_CHARS: usize = 64;

/// The case number as the lookup audit and the lockout key it: trimmed, no control characters,
/// at most 64 characters.
pub fn audited_number(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_AUDITED_NUMBER_CHARS)
        .collect()
}

/// Records a lookup in its own statement (it stays recorded whatever happens next).
pub async fn record_lookup(
    conn: &mut PgConnection,
    lookup: &Lookup<'_>,
) -> Result<(), sqlx::Error> {
    let number = audited_number(lookup.case_number);
    sqlx::query(
        "INSERT INTO status_lookups (operator, role, office_id, case_number, result, action, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(lookup.operator)
    .bind(lookup.role)
    .bind(lookup.office_id)
    .bind(number)
    .bind(lookup.result.as_str())
    .bind(lookup.action.as_str())
    .bind(lookup.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A complaint to insert.
pub struct NewComplaint<'a> {
    pub complaint_id: Uuid,
    pub case: &'a StatusRow,
    pub office_id: &'a str,
    pub state: &'a str,
    pub caller_name_masked: &'a str,
    pub caller_name_sealed: Vec<u8>,
    pub caller_phone_masked: &'a str,
    pub caller_phone_sealed: Vec<u8>,
    pub caller_phone_digest: String,
    pub content: &'a str,
    pub filed_by: &'a str,
    pub filed_at: DateTime<Utc>,
}

pub async fn insert_complaint(
    conn: &mut PgConnection,
    c: &NewComplaint<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO complaints (complaint_id, case_id, case_number, office_id, state, caller_name_masked,
            caller_name_sealed, caller_phone_masked, caller_phone_sealed, caller_phone_digest, content, filed_by,
            filed_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13)",
    )
    .bind(c.complaint_id)
    .bind(c.case.case_id)
    .bind(&c.case.case_number)
    .bind(c.office_id)
    .bind(c.state)
    .bind(c.caller_name_masked)
    .bind(&c.caller_name_sealed)
    .bind(c.caller_phone_masked)
    .bind(&c.caller_phone_sealed)
    .bind(&c.caller_phone_digest)
    .bind(c.content)
    .bind(c.filed_by)
    .bind(c.filed_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A rating to insert.
pub struct NewRating<'a> {
    pub rating_id: Uuid,
    pub case: &'a StatusRow,
    pub occasion: &'a str,
    pub level: &'a str,
    pub comment: &'a str,
    pub scores: Value,
    pub recorded_by: &'a str,
    pub rated_at: DateTime<Utc>,
}

/// Inserts a rating; `false` when the case was already rated at that occasion.
pub async fn insert_rating(
    conn: &mut PgConnection,
    r: &NewRating<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO ratings (rating_id, case_id, case_number, office_id, occasion, level, comment, scores,
            recorded_by, rated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
         ON CONFLICT (case_id, occasion) DO NOTHING",
    )
    .bind(r.rating_id)
    .bind(r.case.case_id)
    .bind(&r.case.case_number)
    .bind(&r.case.responsible_office_id)
    .bind(r.occasion)
    .bind(r.level)
    .bind(r.comment)
    .bind(&r.scores)
    .bind(r.recorded_by)
    .bind(r.rated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Opens a 整改 item for a poor rating.
pub async fn open_rectification(
    conn: &mut PgConnection,
    rectification_id: Uuid,
    rating_id: Uuid,
    case: &StatusRow,
    at: DateTime<Utc>,
    due_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rectifications (rectification_id, rating_id, case_id, office_id, opened_at, due_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(rectification_id)
    .bind(rating_id)
    .bind(case.case_id)
    .bind(&case.responsible_office_id)
    .bind(at)
    .bind(due_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the result certificate (电子证照) a case completed with.
pub async fn set_result_certificate(
    conn: &mut PgConnection,
    case_id: Uuid,
    identifier: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_status SET result_certificate_identifier = $2, updated_at = now()
         WHERE case_id = $1",
    )
    .bind(case_id)
    .bind(identifier)
    .execute(conn)
    .await?;
    Ok(())
}

/// The identifier of the result certificate a case completed with, if any.
pub async fn result_certificate(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT result_certificate_identifier FROM case_status WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(id,)| id))
}
