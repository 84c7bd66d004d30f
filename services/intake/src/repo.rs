//! The intake schema: cases, their clock ledger and timeline, idempotency keys, case numbers.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize as _;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use tongban_domain::bundle::MemberState;
use tongban_domain::case::{CaseStatus, Decision};
use tongban_domain::catalog::{DeliveryMethod, Mode, Scope};
use tongban_domain::clock::{CaseClock, Extension, Suspension, SuspensionKind};
use tongban_store::timeline::TimelineLine;
use uuid::Uuid;

use crate::parts::KeptPart;
use crate::validation::MaterialIn;

/// Why a row could not be read: the database failed, or a stored value does not decode (only
/// this service writes these columns, so that means corruption; never guessed at).
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A statement failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A stored value is not one this service writes.
    #[error("{entity} {id}: stored {column} {value:?} does not decode")]
    Corrupt {
        /// `case`, `bundle`, …
        entity: &'static str,
        /// Its id.
        id: Uuid,
        /// The column.
        column: &'static str,
        /// What it holds.
        value: String,
    },
}

impl From<RepoError> for tongban_bus::HandleError {
    /// A failing statement is retried; a corrupt row never gets better: rejected.
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Sql(err) => Self::Retry(Box::new(err)),
            corrupt @ RepoError::Corrupt { .. } => Self::Reject(corrupt.to_string()),
        }
    }
}

/// 一件事: the id of a bundle (never mixed up with a case's).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type, serde::Serialize,
)]
#[sqlx(transparent)]
pub struct BundleId(pub Uuid);

impl BundleId {
    /// A new bundle id (UUIDv7: ordered by creation).
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A case row as stored (personal data sealed), its stored names decoded into domain values.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub matter_code: String,
    pub matter_name: String,
    pub mode: Mode,
    pub scope: Scope,
    pub status: CaseStatus,
    pub window_office_id: String,
    pub responsible_office_id: String,
    pub agreement_id: Option<String>,
    pub applicant_name: String,
    pub id_number_masked: String,
    pub phone_masked: String,
    pub home_division: String,
    pub materials: Vec<MaterialIn>,
    pub delivery_method: DeliveryMethod,
    /// When the window submitted the case (with its bundle, for a member).
    pub submitted_at: DateTime<Utc>,
    /// 受理: `None` while a bundle member waits for other members (it is then only submitted).
    pub accepted_at: Option<DateTime<Utc>>,
    /// 承诺时限 in working days.
    pub budget_days: u32,
    pub due_at: Option<DateTime<Utc>>,
    pub decision: Option<Decision>,
    pub decision_reason: Option<String>,
    /// 补正: what the office asked for (empty when nothing is asked).
    pub supplement_items: Vec<String>,
    pub supplement_reason: Option<String>,
    pub traceparent: String,
    pub tracestate: Option<String>,
    /// 多地联办: the parts, empty for a case of one office.
    pub parts: Vec<KeptPart>,
    /// 迁入地 (转入地), when given.
    pub destination_division: Option<String>,
    /// 一件事: the bundle the case belongs to.
    pub bundle_id: Option<BundleId>,
    /// 一件事: the members (matter codes) whose result this member needs; it is accepted and
    /// routed once all of them are approved. Empty for a case that starts at once.
    pub waits_for: Vec<String>,
}

impl CaseRow {
    /// What the one bundle view needs of this member case.
    pub fn facts(&self) -> tongban_domain::bundle_view::MemberFacts {
        tongban_domain::bundle_view::MemberFacts {
            case_id: self.case_id.to_string(),
            case_number: self.case_number.clone(),
            matter_code: self.matter_code.clone(),
            matter_name: self.matter_name.clone(),
            status: self.status,
            decision: self.decision,
            responsible_office_id: self.responsible_office_id.clone(),
        }
    }

    /// The case as a member of its bundle, as the bundle's rules see it.
    pub fn member(&self) -> MemberState {
        MemberState {
            matter: self.matter_code.clone(),
            name: self.matter_name.clone(),
            status: self.status,
            decision: self.decision,
            waits_for: self.waits_for.clone(),
        }
    }
}

/// A case row as the database holds it; [`CaseRow`] is what the service works with.
#[derive(sqlx::FromRow)]
struct StoredCase {
    case_id: Uuid,
    case_number: String,
    matter_code: String,
    matter_name: String,
    mode: String,
    scope: String,
    status: String,
    window_office_id: String,
    responsible_office_id: String,
    agreement_id: Option<String>,
    applicant_name: String,
    id_number_masked: String,
    phone_masked: String,
    home_division: String,
    materials: Value,
    delivery_method: String,
    submitted_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    budget_days: i32,
    due_at: Option<DateTime<Utc>>,
    decision: Option<String>,
    decision_reason: Option<String>,
    supplement_items: Value,
    supplement_reason: Option<String>,
    traceparent: String,
    tracestate: Option<String>,
    parts: Value,
    destination_division: Option<String>,
    bundle_id: Option<BundleId>,
    waits_for: Vec<String>,
}

impl TryFrom<StoredCase> for CaseRow {
    type Error = RepoError;

    fn try_from(s: StoredCase) -> Result<Self, RepoError> {
        let id = s.case_id;
        let corrupt = |column: &'static str, value: &dyn fmt::Debug| RepoError::Corrupt {
            entity: "case",
            id,
            column,
            value: format!("{value:?}"),
        };
        fn decode<T: FromStr>(
            text: &str,
            column: &'static str,
            corrupt: &impl Fn(&'static str, &dyn fmt::Debug) -> RepoError,
        ) -> Result<T, RepoError> {
            text.parse().map_err(|_| corrupt(column, &text))
        }
        Ok(Self {
            mode: decode(&s.mode, "mode", &corrupt)?,
            scope: decode(&s.scope, "scope", &corrupt)?,
            status: decode(&s.status, "status", &corrupt)?,
            delivery_method: decode(&s.delivery_method, "delivery_method", &corrupt)?,
            decision: s
                .decision
                .as_deref()
                .map(|d| decode(d, "decision", &corrupt))
                .transpose()?,
            budget_days: u32::try_from(s.budget_days)
                .map_err(|_| corrupt("budget_days", &s.budget_days))?,
            parts: Vec::<KeptPart>::deserialize(&s.parts)
                .map_err(|_| corrupt("parts", &s.parts))?,
            case_id: s.case_id,
            case_number: s.case_number,
            matter_code: s.matter_code,
            matter_name: s.matter_name,
            window_office_id: s.window_office_id,
            responsible_office_id: s.responsible_office_id,
            agreement_id: s.agreement_id,
            applicant_name: s.applicant_name,
            id_number_masked: s.id_number_masked,
            phone_masked: s.phone_masked,
            home_division: s.home_division,
            materials: Vec::<MaterialIn>::deserialize(&s.materials)
                .map_err(|_| corrupt("materials", &s.materials))?,
            supplement_items: Vec::<String>::deserialize(&s.supplement_items)
                .map_err(|_| corrupt("supplement_items", &s.supplement_items))?,
            submitted_at: s.submitted_at,
            accepted_at: s.accepted_at,
            due_at: s.due_at,
            decision_reason: s.decision_reason,
            supplement_reason: s.supplement_reason,
            traceparent: s.traceparent,
            tracestate: s.tracestate,
            destination_division: s.destination_division,
            bundle_id: s.bundle_id,
            waits_for: s.waits_for,
        })
    }
}

/// Decodes stored case rows.
fn cases(rows: Vec<StoredCase>) -> Result<Vec<CaseRow>, RepoError> {
    rows.into_iter().map(CaseRow::try_from).collect()
}

/// Decodes a stored case row, if any.
fn case(row: Option<StoredCase>) -> Result<Option<CaseRow>, RepoError> {
    row.map(CaseRow::try_from).transpose()
}

const CASE_COLUMNS: &str = "case_id, case_number, matter_code, matter_name, mode, scope, status, window_office_id,
    responsible_office_id, agreement_id, applicant_name, id_number_masked, phone_masked, home_division, materials,
    delivery_method, accepted_at, budget_days, due_at, decision, decision_reason, supplement_items,
    supplement_reason, traceparent, tracestate, parts, destination_division, bundle_id, submitted_at,
    waits_for";

/// A case to insert.
pub struct NewCase<'a> {
    pub row: &'a CaseRow,
    pub matter_version: &'a str,
    pub id_number_sealed: Vec<u8>,
    pub id_number_digest: String,
    pub phone_sealed: Vec<u8>,
    pub phone_digest: String,
    pub address_sealed: Option<Vec<u8>>,
    pub created_by: &'a str,
    /// The member's place in its bundle (set with `row.bundle_id`).
    pub bundle_position: Option<i32>,
}

pub async fn insert_case(conn: &mut PgConnection, new: &NewCase<'_>) -> Result<(), RepoError> {
    let r = new.row;
    sqlx::query(
        "INSERT INTO cases (case_id, case_number, matter_code, matter_version, matter_name, mode, scope, status,
            window_office_id, responsible_office_id, agreement_id, applicant_name, id_number_sealed, id_number_digest,
            id_number_masked, phone_sealed, phone_digest, phone_masked, home_division, materials, delivery_method,
            delivery_address_sealed, accepted_at, budget_days, due_at, traceparent, tracestate, created_by,
            parts, destination_division, bundle_id, bundle_position, submitted_at, waits_for)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,
            $29,$30,$31,$32,$33,$34)",
    )
    .bind(r.case_id)
    .bind(&r.case_number)
    .bind(&r.matter_code)
    .bind(new.matter_version)
    .bind(&r.matter_name)
    .bind(r.mode.as_str())
    .bind(r.scope.as_str())
    .bind(r.status.as_str())
    .bind(&r.window_office_id)
    .bind(&r.responsible_office_id)
    .bind(&r.agreement_id)
    .bind(&r.applicant_name)
    .bind(&new.id_number_sealed)
    .bind(&new.id_number_digest)
    .bind(&r.id_number_masked)
    .bind(&new.phone_sealed)
    .bind(&new.phone_digest)
    .bind(&r.phone_masked)
    .bind(&r.home_division)
    .bind(json_of(&r.materials)?)
    .bind(r.delivery_method.as_str())
    .bind(&new.address_sealed)
    .bind(r.accepted_at)
    .bind(i32::try_from(r.budget_days).unwrap_or(i32::MAX))
    .bind(r.due_at)
    .bind(&r.traceparent)
    .bind(&r.tracestate)
    .bind(new.created_by)
    .bind(json_of(&r.parts)?)
    .bind(&r.destination_division)
    .bind(r.bundle_id)
    .bind(new.bundle_position)
    .bind(r.submitted_at)
    .bind(&r.waits_for)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes `count` consecutive numbers of a window's daily sequence and returns the last of them,
/// or `None` when fewer than `count` are left below `limit` (then nothing is taken).
///
/// The statement runs on its own, committed at once, never inside a submission's transaction:
/// the `(window_division, day)` row is locked only for this one statement, so submissions at
/// one window no longer wait for each other to commit. The price is gaps: a number taken by a
/// submission that then fails (or loses an idempotency race) is never used, as is usual for
/// government case numbers. A number is never given twice: each block is the row's previous
/// value plus one up to its new value, under the row lock.
///
/// # Errors
/// When the store fails.
pub async fn take_sequences(
    pool: &PgPool,
    window_division: &str,
    day: NaiveDate,
    count: i32,
    limit: i32,
) -> Result<Option<i32>, sqlx::Error> {
    if !(1..=limit).contains(&count) {
        return Ok(None);
    }
    sqlx::query_scalar(
        "INSERT INTO case_number_sequences AS s (window_division, day, last_value) VALUES ($1, $2, $3)
         ON CONFLICT (window_division, day) DO UPDATE SET last_value = s.last_value + $3
         WHERE s.last_value <= $4 - $3
         RETURNING last_value",
    )
    .bind(window_division)
    .bind(day)
    .bind(count)
    .bind(limit)
    .fetch_optional(pool)
    .await
}

/// A JSON column's value (parts, materials, 补正 items).
fn json_of<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, RepoError> {
    serde_json::to_value(value).map_err(|err| RepoError::Sql(sqlx::Error::Encode(Box::new(err))))
}

/// Records an idempotency key; `false` when the key was taken meanwhile by a concurrent request.
pub async fn insert_idempotency(
    conn: &mut PgConnection,
    window: &str,
    key: &str,
    digest: &str,
    case_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (window_office_id, key, request_digest, case_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(window)
    .bind(key)
    .bind(digest)
    .bind(case_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The request digest and case of an idempotency key.
pub async fn find_idempotency(
    conn: &mut PgConnection,
    window: &str,
    key: &str,
) -> Result<Option<(String, Uuid)>, sqlx::Error> {
    sqlx::query_as("SELECT request_digest, case_id FROM idempotency_keys WHERE window_office_id = $1 AND key = $2")
        .bind(window)
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// A case by id, optionally locked for update.
pub async fn case_by_id(
    conn: &mut PgConnection,
    case_id: Uuid,
    lock: bool,
) -> Result<Option<CaseRow>, RepoError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE case_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    case(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(case_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// A case by its number.
pub async fn case_by_number(
    conn: &mut PgConnection,
    number: &str,
) -> Result<Option<CaseRow>, RepoError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_number = $1");
    case(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(number)
            .fetch_optional(conn)
            .await?,
    )
}

/// The newest cases of a window.
pub async fn list_cases(
    conn: &mut PgConnection,
    window: &str,
    limit: i64,
) -> Result<Vec<CaseRow>, RepoError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE window_office_id = $1 ORDER BY submitted_at DESC LIMIT $2"
    );
    cases(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(window)
            .bind(limit)
            .fetch_all(conn)
            .await?,
    )
}

/// Writes the changeable part of a case back (the route and the acceptance moment change once,
/// when a waiting bundle member is accepted).
pub async fn update_case(conn: &mut PgConnection, row: &CaseRow) -> Result<(), RepoError> {
    sqlx::query(
        "UPDATE cases SET status = $2, due_at = $3, decision = $4, decision_reason = $5, supplement_items = $6,
            supplement_reason = $7, materials = $8, parts = $9, accepted_at = $10, scope = $11,
            responsible_office_id = $12, agreement_id = $13, updated_at = now()
         WHERE case_id = $1",
    )
    .bind(row.case_id)
    .bind(row.status.as_str())
    .bind(row.due_at)
    .bind(row.decision.map(Decision::as_str))
    .bind(&row.decision_reason)
    .bind(json_of(&row.supplement_items)?)
    .bind(&row.supplement_reason)
    .bind(json_of(&row.materials)?)
    .bind(json_of(&row.parts)?)
    .bind(row.accepted_at)
    .bind(row.scope.as_str())
    .bind(&row.responsible_office_id)
    .bind(&row.agreement_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The clock of a case: budget and ledger.
pub async fn clock(conn: &mut PgConnection, row: &CaseRow) -> Result<CaseClock, RepoError> {
    type Row = (String, DateTime<Utc>, Option<DateTime<Utc>>, String);
    let rows: Vec<Row> =
        sqlx::query_as("SELECT kind, from_at, until_at, reason FROM case_suspensions WHERE case_id = $1 ORDER BY seq")
            .bind(row.case_id)
            .fetch_all(&mut *conn)
            .await?;
    // A case not accepted yet has no clock running; its ledger is empty.
    let started = row.accepted_at.unwrap_or(row.submitted_at);
    let mut clock = CaseClock::new(started, row.budget_days);
    clock.suspensions = rows
        .into_iter()
        .map(|(kind, from, until, reason)| {
            Ok(Suspension {
                kind: SuspensionKind::from_code(&kind).ok_or_else(|| RepoError::Corrupt {
                    entity: "case",
                    id: row.case_id,
                    column: "case_suspensions.kind",
                    value: kind.clone(),
                })?,
                from,
                until,
                reason,
            })
        })
        .collect::<Result<_, RepoError>>()?;
    type ExtensionRow = (i32, String, String, DateTime<Utc>);
    let extensions: Vec<ExtensionRow> = sqlx::query_as(
        "SELECT working_days, reason, approved_by, at FROM case_extensions
         WHERE case_id = $1 ORDER BY seq",
    )
    .bind(row.case_id)
    .fetch_all(&mut *conn)
    .await?;
    clock.extensions = extensions
        .into_iter()
        .map(|(days, reason, approved_by, at)| {
            Ok(Extension {
                working_days: u32::try_from(days).map_err(|_| RepoError::Corrupt {
                    entity: "case",
                    id: row.case_id,
                    column: "case_extensions.working_days",
                    value: days.to_string(),
                })?,
                reason,
                approved_by,
                at,
            })
        })
        .collect::<Result<_, RepoError>>()?;
    Ok(clock)
}

/// Records an approved extension (延长) of the case's time limit.
pub async fn add_extension(
    conn: &mut PgConnection,
    case_id: Uuid,
    extension: &Extension,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_extensions (case_id, seq, working_days, reason, approved_by, at)
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM case_extensions
         WHERE case_id = $1",
    )
    .bind(case_id)
    .bind(i32::try_from(extension.working_days).unwrap_or(i32::MAX))
    .bind(&extension.reason)
    .bind(&extension.approved_by)
    .bind(extension.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens a suspension of the clock.
pub async fn open_suspension(
    conn: &mut PgConnection,
    case_id: Uuid,
    kind: SuspensionKind,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_suspensions (case_id, seq, kind, from_at, reason)
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM case_suspensions WHERE case_id = $1",
    )
    .bind(case_id)
    .bind(kind.code())
    .bind(at)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Closes the open suspension of `kind` (others, overlapping it, stay open).
pub async fn close_suspension(
    conn: &mut PgConnection,
    case_id: Uuid,
    kind: SuspensionKind,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_suspensions SET until_at = $2
         WHERE case_id = $1 AND kind = $3 AND until_at IS NULL",
    )
    .bind(case_id)
    .bind(at)
    .bind(kind.code())
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends a line to the timeline of a case.
pub async fn add_timeline(
    conn: &mut PgConnection,
    case_id: Uuid,
    line: &TimelineLine,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_timeline (case_id, at, status, description, description_en, office_id) VALUES ($1,$2,$3,$4,$5,$6)",
    )
    .bind(case_id)
    .bind(line.at)
    .bind(&line.status)
    .bind(&line.description)
    .bind(&line.description_en)
    .bind(&line.office_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The timeline of a case, in the order its lines were written.
pub async fn timeline(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<TimelineLine>, sqlx::Error> {
    sqlx::query_as("SELECT at, status, description, description_en, office_id FROM case_timeline WHERE case_id = $1 ORDER BY id")
        .bind(case_id)
        .fetch_all(conn)
        .await
}

/// A 一件事 bundle as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BundleRow {
    pub bundle_id: BundleId,
    pub bundle_number: String,
    pub bundle_code: String,
    pub bundle_name: String,
    pub window_office_id: String,
    pub submitted_at: DateTime<Utc>,
    pub request_digest: String,
}

const BUNDLE_COLUMNS: &str = "bundle_id, bundle_number, bundle_code, bundle_name, window_office_id, submitted_at, request_digest";

/// Inserts a bundle with its idempotency key; `false` (nothing written) when a concurrent
/// request took the key meanwhile.
pub async fn insert_bundle(
    conn: &mut PgConnection,
    bundle: &BundleRow,
    key: &str,
    created_by: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO bundles (bundle_id, bundle_number, bundle_code, bundle_name, window_office_id,
            submitted_at, idempotency_key, request_digest, created_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
         ON CONFLICT (window_office_id, idempotency_key) DO NOTHING",
    )
    .bind(bundle.bundle_id)
    .bind(&bundle.bundle_number)
    .bind(&bundle.bundle_code)
    .bind(&bundle.bundle_name)
    .bind(&bundle.window_office_id)
    .bind(bundle.submitted_at)
    .bind(key)
    .bind(&bundle.request_digest)
    .bind(created_by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The bundle an idempotency key of a window opened.
pub async fn bundle_by_key(
    conn: &mut PgConnection,
    window: &str,
    key: &str,
) -> Result<Option<BundleRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {BUNDLE_COLUMNS} FROM bundles WHERE window_office_id = $1 AND idempotency_key = $2"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(window)
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// A bundle by id.
pub async fn bundle_by_id(
    conn: &mut PgConnection,
    bundle_id: BundleId,
) -> Result<Option<BundleRow>, sqlx::Error> {
    let sql = format!("SELECT {BUNDLE_COLUMNS} FROM bundles WHERE bundle_id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(bundle_id)
        .fetch_optional(conn)
        .await
}

/// A bundle by its number.
pub async fn bundle_by_number(
    conn: &mut PgConnection,
    number: &str,
) -> Result<Option<BundleRow>, sqlx::Error> {
    let sql = format!("SELECT {BUNDLE_COLUMNS} FROM bundles WHERE bundle_number = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(number)
        .fetch_optional(conn)
        .await
}

/// The member cases of a bundle, in the bundle's order.
pub async fn bundle_members(
    conn: &mut PgConnection,
    bundle_id: BundleId,
) -> Result<Vec<CaseRow>, RepoError> {
    let sql =
        format!("SELECT {CASE_COLUMNS} FROM cases WHERE bundle_id = $1 ORDER BY bundle_position");
    cases(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(bundle_id)
            .fetch_all(conn)
            .await?,
    )
}

/// The bundles `ids` (in no particular order).
pub async fn bundles_by_ids(
    conn: &mut PgConnection,
    ids: &[BundleId],
) -> Result<Vec<BundleRow>, sqlx::Error> {
    let sql = format!("SELECT {BUNDLE_COLUMNS} FROM bundles WHERE bundle_id = ANY($1)");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ids)
        .fetch_all(conn)
        .await
}

/// The member cases of the bundles `ids`: each bundle's together, in the bundle's order.
pub async fn members_of_bundles(
    conn: &mut PgConnection,
    ids: &[BundleId],
) -> Result<Vec<CaseRow>, RepoError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE bundle_id = ANY($1) ORDER BY bundle_id, bundle_position"
    );
    cases(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(conn)
            .await?,
    )
}

/// The members of bundle `bundle_id` still waiting (submitted, not accepted) for the member
/// of matter `awaited`, locked for update, in the bundle's order.
pub async fn waiting_for_member(
    conn: &mut PgConnection,
    bundle_id: BundleId,
    awaited: &str,
) -> Result<Vec<CaseRow>, RepoError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases
         WHERE bundle_id = $1 AND status = 'submitted' AND $2 = ANY(waits_for)
         ORDER BY bundle_position FOR UPDATE"
    );
    cases(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(bundle_id)
            .bind(awaited)
            .fetch_all(conn)
            .await?,
    )
}

/// The sealed personal data of a case: ID number and, for delivery by mail, the address
/// (each sealed with the case id as associated data).
pub async fn sealed_personal_data(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<(Vec<u8>, Option<Vec<u8>>), sqlx::Error> {
    sqlx::query_as("SELECT id_number_sealed, delivery_address_sealed FROM cases WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(status: &str, decision: Option<&str>) -> StoredCase {
        StoredCase {
            case_id: Uuid::nil(),
            case_number: "140922-20261116-0001".to_owned(),
            matter_code: "M".to_owned(),
            matter_name: "事项".to_owned(),
            mode: "proxy".to_owned(),
            scope: "cross_province".to_owned(),
            status: status.to_owned(),
            window_office_id: "w".to_owned(),
            responsible_office_id: "o".to_owned(),
            agreement_id: None,
            applicant_name: "张*".to_owned(),
            id_number_masked: String::new(),
            phone_masked: String::new(),
            home_division: "140922".to_owned(),
            materials: Value::Array(Vec::new()),
            delivery_method: "window_pickup".to_owned(),
            submitted_at: DateTime::UNIX_EPOCH,
            accepted_at: None,
            budget_days: 5,
            due_at: None,
            decision: decision.map(str::to_owned),
            decision_reason: None,
            supplement_items: Value::Array(Vec::new()),
            supplement_reason: None,
            traceparent: String::new(),
            tracestate: None,
            parts: Value::Array(Vec::new()),
            destination_division: None,
            bundle_id: None,
            waits_for: Vec::new(),
        }
    }

    #[test]
    fn stored_names_decode_into_domain_values() {
        let row = CaseRow::try_from(stored("completed", Some("deny"))).expect("a valid row");
        assert_eq!(row.status, CaseStatus::Completed);
        assert_eq!(row.decision, Some(Decision::Deny));
        assert_eq!(row.mode, Mode::Proxy);
        assert_eq!(row.scope, Scope::CrossProvince);
        assert_eq!(row.delivery_method, DeliveryMethod::WindowPickup);
    }

    #[test]
    fn a_value_that_does_not_decode_is_an_error_never_a_default() {
        for (bad, column) in [
            (stored("lost", None), "status"),
            (stored("submitted", Some("maybe")), "decision"),
            (
                StoredCase {
                    budget_days: -1,
                    ..stored("submitted", None)
                },
                "budget_days",
            ),
            (
                StoredCase {
                    parts: serde_json::json!([{"code": "QR"}]),
                    ..stored("submitted", None)
                },
                "parts",
            ),
            (
                StoredCase {
                    materials: serde_json::json!([{"material_code": "SFZ", "form": "fax"}]),
                    ..stored("submitted", None)
                },
                "materials",
            ),
        ] {
            match CaseRow::try_from(bad) {
                Err(RepoError::Corrupt { column: c, .. }) => assert_eq!(c, column),
                other => panic!("expected a corrupt {column}, got {other:?}"),
            }
        }
    }
}
