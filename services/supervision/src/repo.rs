//! The `supervision` schema: case clocks, alerts, tickets and milestones. Every stored code
//! (status, kind, scope, level, state, reason) decodes into the domain's type at this boundary;
//! a value the domain does not know fails the read, never turns into a default.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, Row as _};
use tongban_domain::catalog::{Mode, Scope};
use tongban_domain::stages::{AlertKind, Level, Supervised, Tracked};
use tongban_store::{decoded, decoded_optional};
use uuid::Uuid;

use crate::parts::KeptPart;

/// A stored 督办层级.
pub(crate) fn level(row: &PgRow, column: &str) -> Result<Level, sqlx::Error> {
    let stored: i16 = row.try_get(column)?;
    Level::try_from(stored).map_err(|err| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(err),
    })
}

/// A case as supervision tracks it.
#[derive(Debug, Clone)]
pub struct ClockRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub matter_code: String,
    /// 通办范围 (`None` when the routing named none: stored empty).
    pub scope: Option<Scope>,
    /// 办理模式 (`None` when the routing named none: stored empty).
    pub mode: Option<Mode>,
    pub window_office_id: String,
    pub responsible_office_id: String,
    pub accepted_at: DateTime<Utc>,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    /// 多地联办: the parts, in the matter's order (empty for any other case).
    pub parts: Json<Vec<KeptPart>>,
    /// The clock and what the domain decided about the case.
    pub case: Supervised,
}

impl<'r> FromRow<'r, PgRow> for ClockRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let tracked: Json<Tracked> = row.try_get("tracked")?;
        Ok(Self {
            case_id: row.try_get("case_id")?,
            case_number: row.try_get("case_number")?,
            matter_code: row.try_get("matter_code")?,
            scope: decoded_optional(row, "scope")?,
            mode: decoded_optional(row, "mode")?,
            window_office_id: row.try_get("window_office_id")?,
            responsible_office_id: row.try_get("responsible_office_id")?,
            accepted_at: row.try_get("accepted_at")?,
            traceparent: row.try_get("traceparent")?,
            tracestate: row.try_get("tracestate")?,
            parts: row.try_get("parts")?,
            case: Supervised {
                status: decoded(row, "status")?,
                tracked: tracked.0,
                case_breached: row.try_get("case_breached")?,
                breached_office_id: row.try_get("breached_office_id")?,
                completed_at: row.try_get("completed_at")?,
                working_days: row.try_get("working_days")?,
                on_time: row.try_get("on_time")?,
            },
        })
    }
}

impl ClockRow {
    /// The case as the step executor knows it (its trace is the one stored at routing).
    pub fn case_ref(&self) -> tongban_step::CaseRef {
        tongban_step::CaseRef::new(self.case_id, &self.case_number, self.traceparent.as_deref())
    }
}

const COLUMNS: &str = "case_id, case_number, matter_code, scope, mode, window_office_id,
    responsible_office_id, status, accepted_at, tracked, case_breached, completed_at, working_days,
    on_time, traceparent, tracestate, parts, breached_office_id";

/// The clock of `case_id`, locked for update when `lock`.
pub async fn get(
    conn: &mut PgConnection,
    case_id: Uuid,
    lock: bool,
) -> Result<Option<ClockRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM case_clocks WHERE case_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await
}

/// A stored case clock that does not decode (a status the domain does not know, a clock that
/// is not valid JSON of the domain's shape).
#[derive(Debug, thiserror::Error)]
#[error("case clock {case_id} does not decode")]
pub struct Undecodable {
    /// The case (nil when even that is unreadable).
    pub case_id: Uuid,
    /// Why.
    #[source]
    pub source: sqlx::Error,
}

/// Up to `limit` clocks with something due at `now`, locked, skipping those another
/// evaluator holds. Reads the `next_check_at` index only. Each row decodes on its own: one that
/// does not is returned as [`Undecodable`] for the caller to skip without holding up the others.
pub async fn lock_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Result<ClockRow, Undecodable>>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM case_clocks WHERE next_check_at <= $1
         ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    );
    let rows: Vec<PgRow> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            ClockRow::from_row(row).map_err(|source| Undecodable {
                case_id: row.try_get("case_id").unwrap_or_default(),
                source,
            })
        })
        .collect())
}

/// Starts tracking a case; `false` when it already is.
pub async fn insert(conn: &mut PgConnection, row: &ClockRow) -> Result<bool, sqlx::Error> {
    let case = &row.case;
    let done = sqlx::query(
        "INSERT INTO case_clocks (case_id, case_number, matter_code, scope, mode, window_office_id,
            responsible_office_id, status, accepted_at, tracked, due_at, next_check_at,
            traceparent, tracestate, parts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(row.case_id)
    .bind(&row.case_number)
    .bind(&row.matter_code)
    .bind(row.scope.map(Scope::as_str).unwrap_or_default())
    .bind(row.mode.map(Mode::as_str).unwrap_or_default())
    .bind(&row.window_office_id)
    .bind(&row.responsible_office_id)
    .bind(case.status.as_str())
    .bind(row.accepted_at)
    .bind(Json(&case.tracked))
    .bind(case.tracked.case_deadline().and_then(|d| d.due_at))
    .bind(case.tracked.next_check())
    .bind(&row.traceparent)
    .bind(&row.tracestate)
    .bind(&row.parts)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes back the clock and what derives from it (case due moment, next check).
pub async fn save(conn: &mut PgConnection, row: &ClockRow) -> Result<(), sqlx::Error> {
    let case = &row.case;
    sqlx::query(
        "UPDATE case_clocks SET status = $2, tracked = $3, due_at = $4, next_check_at = $5,
            case_breached = $6, completed_at = $7, working_days = $8, on_time = $9,
            parts = $10, breached_office_id = $11, updated_at = now()
         WHERE case_id = $1",
    )
    .bind(row.case_id)
    .bind(case.status.as_str())
    .bind(Json(&case.tracked))
    .bind(case.tracked.case_deadline().and_then(|d| d.due_at))
    .bind(case.tracked.next_check())
    .bind(case.case_breached)
    .bind(case.completed_at)
    .bind(case.working_days)
    .bind(case.on_time)
    .bind(&row.parts)
    .bind(&case.breached_office_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes back the clocks of a batch of locked cases in one statement (what [`save`] does for
/// one): a pass over many due cases costs one round trip here, not one per case.
///
/// # Errors
/// A failing statement.
pub async fn save_many(conn: &mut PgConnection, rows: &[ClockRow]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let cases = || rows.iter().map(|r| &r.case);
    sqlx::query(
        "UPDATE case_clocks c SET status = n.status, tracked = n.tracked, due_at = n.due_at,
            next_check_at = n.next_check_at, case_breached = n.case_breached,
            completed_at = n.completed_at, working_days = n.working_days, on_time = n.on_time,
            parts = n.parts, breached_office_id = n.breached_office_id, updated_at = now()
         FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[], $4::timestamptz[], $5::timestamptz[],
            $6::bool[], $7::timestamptz[], $8::int4[], $9::bool[], $10::jsonb[], $11::text[])
            AS n (case_id, status, tracked, due_at, next_check_at, case_breached, completed_at,
                  working_days, on_time, parts, breached_office_id)
         WHERE c.case_id = n.case_id",
    )
    .bind(rows.iter().map(|r| r.case_id).collect::<Vec<_>>())
    .bind(cases().map(|c| c.status.as_str()).collect::<Vec<_>>())
    .bind(cases().map(|c| Json(&c.tracked)).collect::<Vec<_>>())
    .bind(
        cases()
            .map(|c| c.tracked.case_deadline().and_then(|d| d.due_at))
            .collect::<Vec<_>>(),
    )
    .bind(cases().map(|c| c.tracked.next_check()).collect::<Vec<_>>())
    .bind(cases().map(|c| c.case_breached).collect::<Vec<_>>())
    .bind(cases().map(|c| c.completed_at).collect::<Vec<_>>())
    .bind(cases().map(|c| c.working_days).collect::<Vec<_>>())
    .bind(cases().map(|c| c.on_time).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| &r.parts).collect::<Vec<_>>())
    .bind(
        cases()
            .map(|c| c.breached_office_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A stored alert.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub alert_id: Uuid,
    pub case_id: Uuid,
    pub case_number: String,
    pub kind: AlertKind,
    pub stage: String,
    pub office_id: String,
    /// The case's scope (`None` when its routing named none).
    pub scope: Option<Scope>,
    pub level: Level,
    pub due_at: DateTime<Utc>,
    pub raised_at: DateTime<Utc>,
}

impl<'r> FromRow<'r, PgRow> for AlertRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            alert_id: row.try_get("alert_id")?,
            case_id: row.try_get("case_id")?,
            case_number: row.try_get("case_number")?,
            kind: decoded(row, "kind")?,
            stage: row.try_get("stage")?,
            office_id: row.try_get("office_id")?,
            scope: decoded_optional(row, "scope")?,
            level: level(row, "level")?,
            due_at: row.try_get("due_at")?,
            raised_at: row.try_get("raised_at")?,
        })
    }
}

/// Records alerts (of one case or of a whole batch) in one statement, skipping each (case,
/// stage, kind) raised before — the guarantee that each is published once. Returns the
/// (case, stage, kind) triples that are new.
pub async fn insert_alerts(
    conn: &mut PgConnection,
    alerts: &[AlertRow],
) -> Result<Vec<(Uuid, String, String)>, sqlx::Error> {
    if alerts.is_empty() {
        return Ok(Vec::new());
    }
    let column = |f: fn(&AlertRow) -> String| alerts.iter().map(f).collect::<Vec<String>>();
    sqlx::query_as(
        "INSERT INTO alerts (alert_id, case_id, case_number, kind, stage, office_id, scope, level,
            due_at, raised_at)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
            $6::text[], $7::text[], $8::smallint[], $9::timestamptz[], $10::timestamptz[])
         ON CONFLICT (case_id, stage, kind) DO NOTHING
         RETURNING case_id, stage, kind",
    )
    .bind(alerts.iter().map(|a| a.alert_id).collect::<Vec<_>>())
    .bind(alerts.iter().map(|a| a.case_id).collect::<Vec<_>>())
    .bind(column(|a| a.case_number.clone()))
    .bind(column(|a| a.kind.code().to_owned()))
    .bind(column(|a| a.stage.clone()))
    .bind(column(|a| a.office_id.clone()))
    .bind(column(|a| {
        a.scope.map(Scope::as_str).unwrap_or_default().to_owned()
    }))
    .bind(alerts.iter().map(|a| a.level.stored()).collect::<Vec<_>>())
    .bind(alerts.iter().map(|a| a.due_at).collect::<Vec<_>>())
    .bind(alerts.iter().map(|a| a.raised_at).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
}

/// Filters of ListAlerts (empty or `None`: any).
#[derive(Debug, Default)]
pub struct AlertFilter {
    pub office_id: Option<String>,
    pub level: Option<Level>,
    pub scope: Option<String>,
    pub kind: Option<AlertKind>,
}

/// Alerts matching `filter`, newest first, at most `limit`.
pub async fn list_alerts(
    conn: &mut PgConnection,
    filter: &AlertFilter,
    limit: i64,
) -> Result<Vec<AlertRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT alert_id, case_id, case_number, kind, stage, office_id, scope, level, due_at,
            raised_at
         FROM alerts
         WHERE ($1::text IS NULL OR office_id = $1) AND ($2::smallint IS NULL OR level = $2)
           AND ($3::text IS NULL OR scope = $3) AND ($4::text IS NULL OR kind = $4)
         ORDER BY raised_at DESC, alert_id LIMIT $5",
    )
    .bind(&filter.office_id)
    .bind(filter.level.map(Level::stored))
    .bind(&filter.scope)
    .bind(filter.kind.map(AlertKind::code))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}
