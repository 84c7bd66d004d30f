//! 13710 督办 tickets as stored: opened for a breach or a complaint with four milestones (act,
//! report, settle, close), assigned to the office concerned; each milestone missed escalates the
//! ticket one level (county → city → province). What a step or a missed milestone does is the
//! domain's ([`TicketStep::apply`], [`stages::escalate`]); this module stores it and returns the
//! effects (events, audit entries) for the caller's step to apply.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row as _};
use tongban_domain::calendar::WorkingCalendar;
use tongban_domain::stages::{
    self, Escalation, Level, MILESTONE_NAMES, Milestone, TicketReason, TicketState, TicketStep,
};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_step::{CaseRef, Effects};
use uuid::Uuid;

use crate::config::Config;
use crate::error::SupervisionError;
use crate::repo::level;
use tongban_store::decoded;

/// A ticket as stored.
#[derive(Debug, Clone)]
pub struct TicketRow {
    pub ticket_id: Uuid,
    pub case_id: Uuid,
    pub case_number: String,
    pub office_id: String,
    pub state: TicketState,
    pub level: Level,
    pub reason: TicketReason,
    pub opened_at: DateTime<Utc>,
    pub traceparent: Option<String>,
}

impl<'r> FromRow<'r, PgRow> for TicketRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            ticket_id: row.try_get("ticket_id")?,
            case_id: row.try_get("case_id")?,
            case_number: row.try_get("case_number")?,
            office_id: row.try_get("office_id")?,
            state: decoded(row, "state")?,
            level: level(row, "level")?,
            reason: decoded(row, "reason")?,
            opened_at: row.try_get("opened_at")?,
            traceparent: row.try_get("traceparent")?,
        })
    }
}

impl TicketRow {
    /// The case the ticket is about, in the trace stored with the ticket.
    pub fn case_ref(&self) -> CaseRef {
        CaseRef::new(self.case_id, &self.case_number, self.traceparent.as_deref())
    }
}

/// A milestone as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MilestoneRow {
    pub seq: i16,
    pub name: String,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
}

impl From<MilestoneRow> for Milestone {
    fn from(row: MilestoneRow) -> Self {
        Self {
            seq: row.seq,
            name: row.name,
            due_at: row.due_at,
            done_at: row.done_at,
            escalated_at: row.escalated_at,
        }
    }
}

/// What opens a ticket.
#[derive(Debug)]
pub struct NewTicket<'a> {
    /// `breach:<case id>` or `complaint:<complaint id>`: a second opening from the same source
    /// opens nothing.
    pub source: String,
    /// The case.
    pub case: &'a CaseRef,
    /// The office the ticket is assigned to: the one complained of, or the one holding the
    /// case up when it breached.
    pub office_id: &'a str,
    /// Why.
    pub reason: TicketReason,
    /// Starting level.
    pub level: Level,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// The case's trace context (stored so escalations days later join the case's trace).
    pub traceparent: Option<String>,
}

const TICKET_COLUMNS: &str =
    "ticket_id, case_id, case_number, office_id, state, level, reason, opened_at, traceparent";

/// Opens the ticket with its milestones ([`stages::milestone_dues`]) and returns the
/// `supervision.ticket_opened` effect, unless its source already opened one (`Ok(None)`).
///
/// # Errors
/// A milestone without holiday data; a failing statement.
pub async fn open(
    conn: &mut PgConnection,
    cal: &WorkingCalendar,
    config: &Config,
    new: NewTicket<'_>,
) -> Result<Option<Effects>, SupervisionError> {
    let ticket_id = Uuid::now_v7();
    let dues = stages::milestone_dues(cal, new.opened_at, config.milestones)?;
    let inserted = sqlx::query(
        "INSERT INTO tickets (ticket_id, source, case_id, case_number, office_id, state, level,
            reason, opened_at, next_due_at, traceparent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (source) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(&new.source)
    .bind(new.case.case_id)
    .bind(&new.case.case_number)
    .bind(new.office_id)
    .bind(TicketState::Open.as_str())
    .bind(new.level.stored())
    .bind(new.reason.as_str())
    .bind(new.opened_at)
    .bind(dues.iter().min())
    .bind(&new.traceparent)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO ticket_milestones (ticket_id, seq, name, due_at)
         SELECT $1, (m.seq - 1)::smallint, m.name, m.due_at
         FROM UNNEST($2::text[], $3::timestamptz[]) WITH ORDINALITY AS m (name, due_at, seq)",
    )
    .bind(ticket_id)
    .bind(MILESTONE_NAMES.to_vec())
    .bind(dues.to_vec())
    .execute(&mut *conn)
    .await?;
    tracing::info!(
        case_number = %new.case.case_number,
        office = %new.office_id,
        reason = new.reason.as_str(),
        "督办 ticket opened"
    );
    let mut effects = Effects::new();
    effects.emit(
        new.case,
        Body::TicketOpened(ev::TicketOpened {
            ticket_id: ticket_id.to_string(),
            office_id: new.office_id.to_owned(),
            reason: new.reason.as_str().to_owned(),
            level: new.level.name().to_owned(),
        }),
    );
    Ok(Some(effects))
}

/// Opens the tickets of a batch in two statements (tickets, then their milestones), each with
/// the milestones `dues` (computed once for the batch: every ticket opens at the same moment).
/// Returns, in the order of `new`, the `supervision.ticket_opened` effects of each ticket
/// opened, or `None` where its source already opened one.
///
/// # Errors
/// A failing statement.
pub async fn open_many(
    conn: &mut PgConnection,
    dues: &[DateTime<Utc>; 4],
    new: &[NewTicket<'_>],
) -> Result<Vec<Option<Effects>>, sqlx::Error> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = new.iter().map(|_| Uuid::now_v7()).collect();
    let opened: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO tickets (ticket_id, source, case_id, case_number, office_id, state, level,
            reason, opened_at, next_due_at, traceparent)
         SELECT t.ticket_id, t.source, t.case_id, t.case_number, t.office_id, $6, t.level,
            t.reason, t.opened_at, $7, t.traceparent
         FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $8::smallint[],
            $9::text[], $10::timestamptz[], $11::text[])
            AS t (ticket_id, source, case_id, case_number, office_id, level, reason, opened_at,
                  traceparent)
         ON CONFLICT (source) DO NOTHING
         RETURNING ticket_id",
    )
    .bind(&ids)
    .bind(new.iter().map(|t| t.source.as_str()).collect::<Vec<_>>())
    .bind(new.iter().map(|t| t.case.case_id).collect::<Vec<_>>())
    .bind(
        new.iter()
            .map(|t| t.case.case_number.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(new.iter().map(|t| t.office_id).collect::<Vec<_>>())
    .bind(TicketState::Open.as_str())
    .bind(dues.iter().min())
    .bind(new.iter().map(|t| t.level.stored()).collect::<Vec<_>>())
    .bind(new.iter().map(|t| t.reason.as_str()).collect::<Vec<_>>())
    .bind(new.iter().map(|t| t.opened_at).collect::<Vec<_>>())
    .bind(
        new.iter()
            .map(|t| t.traceparent.as_deref())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await?;
    if opened.is_empty() {
        return Ok(new.iter().map(|_| None).collect());
    }
    sqlx::query(
        "INSERT INTO ticket_milestones (ticket_id, seq, name, due_at)
         SELECT t.ticket_id, (m.seq - 1)::smallint, m.name, m.due_at
         FROM UNNEST($1::uuid[]) AS t (ticket_id)
         CROSS JOIN UNNEST($2::text[], $3::timestamptz[]) WITH ORDINALITY AS m (name, due_at, seq)",
    )
    .bind(&opened)
    .bind(MILESTONE_NAMES.to_vec())
    .bind(dues.to_vec())
    .execute(&mut *conn)
    .await?;
    let opened: std::collections::HashSet<Uuid> = opened.into_iter().collect();
    Ok(new
        .iter()
        .zip(ids)
        .map(|(ticket, ticket_id)| {
            opened.contains(&ticket_id).then(|| {
                let mut effects = Effects::new();
                effects.emit(
                    ticket.case,
                    Body::TicketOpened(ev::TicketOpened {
                        ticket_id: ticket_id.to_string(),
                        office_id: ticket.office_id.to_owned(),
                        reason: ticket.reason.as_str().to_owned(),
                        level: ticket.level.name().to_owned(),
                    }),
                );
                effects
            })
        })
        .collect())
}

/// One ticket, locked for update when `lock`.
///
/// # Errors
/// A failing statement, or a stored ticket that does not decode.
pub async fn get(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    lock: bool,
) -> Result<Option<TicketRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE ticket_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ticket_id)
        .fetch_optional(&mut *conn)
        .await
}

/// The milestones of a ticket, in order.
///
/// # Errors
/// A failing statement.
pub async fn milestones(
    conn: &mut PgConnection,
    ticket_id: Uuid,
) -> Result<Vec<MilestoneRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, name, due_at, done_at, escalated_at FROM ticket_milestones
         WHERE ticket_id = $1 ORDER BY seq",
    )
    .bind(ticket_id)
    .fetch_all(&mut *conn)
    .await
}

/// Filters of ListTickets (`None`: any).
#[derive(Debug, Default)]
pub struct TicketFilter {
    pub office_id: Option<String>,
    pub state: Option<TicketState>,
    pub level: Option<Level>,
}

/// Tickets matching `filter`, newest first.
///
/// # Errors
/// A failing statement, or a stored ticket that does not decode.
pub async fn list(
    conn: &mut PgConnection,
    filter: &TicketFilter,
    limit: i64,
) -> Result<Vec<TicketRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets
         WHERE ($1::text IS NULL OR office_id = $1) AND ($2::text IS NULL OR state = $2)
           AND ($3::smallint IS NULL OR level = $3)
         ORDER BY opened_at DESC, ticket_id LIMIT $4"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&filter.office_id)
        .bind(filter.state.map(TicketState::as_str))
        .bind(filter.level.map(Level::stored))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
}

/// Stores `step` taken on the locked ticket `row` at `at`, the domain having moved it to
/// `row.state`: completes the step's milestone and the earlier ones, and moves the next due
/// milestone.
///
/// # Errors
/// A failing statement.
pub async fn store_step(
    conn: &mut PgConnection,
    row: &TicketRow,
    step: TicketStep,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ticket_milestones SET done_at = $3
         WHERE ticket_id = $1 AND seq <= $2 AND done_at IS NULL",
    )
    .bind(row.ticket_id)
    .bind(step.milestone())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE tickets SET state = $2, updated_at = now(),
            next_due_at = (SELECT min(due_at) FROM ticket_milestones
                           WHERE ticket_id = $1 AND done_at IS NULL AND escalated_at IS NULL)
         WHERE ticket_id = $1",
    )
    .bind(row.ticket_id)
    .bind(row.state.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A stored ticket that does not decode (a state, reason or level the domain does not know).
#[derive(Debug, thiserror::Error)]
#[error("ticket {ticket_id} does not decode")]
pub struct Undecodable {
    /// The ticket (nil when even that is unreadable).
    pub ticket_id: Uuid,
    /// Why.
    #[source]
    pub source: sqlx::Error,
}

/// Up to `limit` tickets with a milestone due at `now`, locked, skipping those another
/// evaluator holds (reads the `next_due_at` index only), each decoded on its own.
///
/// # Errors
/// A failing statement.
pub async fn lock_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Result<TicketRow, Undecodable>>, sqlx::Error> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE next_due_at <= $1
         ORDER BY next_due_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    );
    let rows: Vec<PgRow> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            TicketRow::from_row(row).map_err(|source| Undecodable {
                ticket_id: row.try_get("ticket_id").unwrap_or_default(),
                source,
            })
        })
        .collect())
}

/// Escalates the locked `ticket` for every milestone missed at `now` ([`stages::escalate`]),
/// stores the escalations and its new level, and returns their effects: one
/// `supervision.ticket_escalated` and one `ticket.escalate` audit entry each.
///
/// # Errors
/// A failing statement.
pub async fn escalate(
    conn: &mut PgConnection,
    ticket: &mut TicketRow,
    now: DateTime<Utc>,
) -> Result<(Vec<Escalation>, Effects), sqlx::Error> {
    let milestones: Vec<Milestone> = milestones(conn, ticket.ticket_id)
        .await?
        .into_iter()
        .map(Milestone::from)
        .collect();
    let (level, escalations) = stages::escalate(ticket.level, &milestones, now);
    ticket.level = level;
    let case = ticket.case_ref();
    let mut effects = Effects::new();
    for escalation in &escalations {
        sqlx::query(
            "UPDATE ticket_milestones SET escalated_at = $3 WHERE ticket_id = $1 AND seq = $2",
        )
        .bind(ticket.ticket_id)
        .bind(escalation.seq)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        effects
            .emit(
                &case,
                Body::TicketEscalated(ev::TicketEscalated {
                    ticket_id: ticket.ticket_id.to_string(),
                    office_id: ticket.office_id.clone(),
                    milestone: escalation.name.clone(),
                    level: escalation.level.name().to_owned(),
                }),
            )
            .audit(
                "ticket.escalate",
                "ticket",
                ticket.ticket_id.to_string(),
                None,
                Some(json!({
                    "milestone": escalation.name,
                    "level": escalation.level.name(),
                })),
            );
        tracing::warn!(
            milestone = %escalation.name,
            level = escalation.level.name(),
            "督办 milestone missed; escalated"
        );
    }
    sqlx::query(
        "UPDATE tickets SET level = $2, updated_at = now(),
            next_due_at = (SELECT min(due_at) FROM ticket_milestones
                           WHERE ticket_id = $1 AND done_at IS NULL AND escalated_at IS NULL)
         WHERE ticket_id = $1",
    )
    .bind(ticket.ticket_id)
    .bind(ticket.level.stored())
    .execute(&mut *conn)
    .await?;
    Ok((escalations, effects))
}
