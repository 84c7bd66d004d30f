//! The `supervision` schema: case clocks, alerts, tickets and milestones.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::clock::Tracked;
use crate::parts::KeptPart;

/// A case as supervision tracks it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClockRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub matter_code: String,
    pub scope: String,
    pub mode: String,
    pub window_office_id: String,
    pub responsible_office_id: String,
    /// open, completed, withdrawn
    pub status: String,
    pub accepted_at: DateTime<Utc>,
    pub tracked: Json<Tracked>,
    pub case_breached: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub working_days: Option<i32>,
    pub on_time: Option<bool>,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    /// 多地联办: the parts, in the matter's order (empty for any other case).
    pub parts: Json<Vec<KeptPart>>,
    /// The office the whole-case breach was raised against, once raised.
    pub breached_office_id: Option<String>,
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

/// Up to `limit` clocks with something due at `now`, locked, skipping those another
/// evaluator holds. Reads the `next_check_at` index only.
pub async fn lock_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClockRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM case_clocks WHERE next_check_at <= $1
         ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
}

/// Starts tracking a case; `false` when it already is.
pub async fn insert(conn: &mut PgConnection, row: &ClockRow) -> Result<bool, sqlx::Error> {
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
    .bind(&row.scope)
    .bind(&row.mode)
    .bind(&row.window_office_id)
    .bind(&row.responsible_office_id)
    .bind(&row.status)
    .bind(row.accepted_at)
    .bind(&row.tracked)
    .bind(row.tracked.case_deadline().and_then(|d| d.due_at))
    .bind(row.tracked.next_check())
    .bind(&row.traceparent)
    .bind(&row.tracestate)
    .bind(&row.parts)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes back the clock and what derives from it (case due moment, next check).
pub async fn save(conn: &mut PgConnection, row: &ClockRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_clocks SET status = $2, tracked = $3, due_at = $4, next_check_at = $5,
            case_breached = $6, completed_at = $7, working_days = $8, on_time = $9,
            parts = $10, breached_office_id = $11, updated_at = now()
         WHERE case_id = $1",
    )
    .bind(row.case_id)
    .bind(&row.status)
    .bind(&row.tracked)
    .bind(row.tracked.case_deadline().and_then(|d| d.due_at))
    .bind(row.tracked.next_check())
    .bind(row.case_breached)
    .bind(row.completed_at)
    .bind(row.working_days)
    .bind(row.on_time)
    .bind(&row.parts)
    .bind(&row.breached_office_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A stored alert.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub alert_id: Uuid,
    pub case_id: Uuid,
    pub case_number: String,
    pub kind: String,
    pub stage: String,
    pub office_id: String,
    pub scope: String,
    pub level: i16,
    pub due_at: DateTime<Utc>,
    pub raised_at: DateTime<Utc>,
}

/// Records alerts of one case in one statement, skipping each (case, stage, kind) raised
/// before — the guarantee that each is published once. Returns the (stage, kind) pairs that are
/// new.
pub async fn insert_alerts(
    conn: &mut PgConnection,
    alerts: &[AlertRow],
) -> Result<Vec<(String, String)>, sqlx::Error> {
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
         RETURNING stage, kind",
    )
    .bind(alerts.iter().map(|a| a.alert_id).collect::<Vec<_>>())
    .bind(alerts.iter().map(|a| a.case_id).collect::<Vec<_>>())
    .bind(column(|a| a.case_number.clone()))
    .bind(column(|a| a.kind.clone()))
    .bind(column(|a| a.stage.clone()))
    .bind(column(|a| a.office_id.clone()))
    .bind(column(|a| a.scope.clone()))
    .bind(alerts.iter().map(|a| a.level).collect::<Vec<_>>())
    .bind(alerts.iter().map(|a| a.due_at).collect::<Vec<_>>())
    .bind(alerts.iter().map(|a| a.raised_at).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
}

/// Filters of ListAlerts (empty or `None`: any).
#[derive(Debug, Default)]
pub struct AlertFilter {
    pub office_id: Option<String>,
    pub level: Option<i16>,
    pub scope: Option<String>,
    pub kind: Option<String>,
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
    .bind(filter.level)
    .bind(&filter.scope)
    .bind(&filter.kind)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}
