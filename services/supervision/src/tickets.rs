//! 13710 督办 tickets: opened for a breach or a complaint with four milestones (act, report,
//! settle, close), assigned to the responsible office; each milestone missed escalates the ticket
//! one level (county → city → province).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_domain::calendar::{CalendarError, WorkingCalendar};
use tongban_proto::events::v1::{self as ev, event::Body};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::config::{Config, MILESTONE_NAMES};
use crate::level;

/// A ticket as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRow {
    pub ticket_id: Uuid,
    pub case_id: Uuid,
    pub case_number: String,
    pub office_id: String,
    /// open, acknowledged, reported, resolved, closed
    pub state: String,
    pub level: i16,
    /// breach or complaint
    pub reason: String,
    pub opened_at: DateTime<Utc>,
    pub traceparent: Option<String>,
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

/// Why a ticket operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// A statement failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The outbox refused the event.
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
    /// A milestone falls in a year without holiday data.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The step does not apply in the ticket's state (the state).
    #[error("the ticket is {0}")]
    State(String),
}

/// What opens a ticket.
#[derive(Debug)]
pub struct NewTicket<'a> {
    /// `breach:<case id>` or `complaint:<complaint id>`: a second opening from the same source
    /// opens nothing.
    pub source: String,
    /// The case.
    pub case_id: Uuid,
    /// Its number.
    pub case_number: &'a str,
    /// The office the ticket is assigned to: the one complained of, or the one holding the
    /// case up when it breached.
    pub office_id: &'a str,
    /// `breach` or `complaint`.
    pub reason: &'static str,
    /// Starting level.
    pub level: i16,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// The case's trace context (stored so escalations days later join the case's trace).
    pub traceparent: Option<String>,
}

const TICKET_COLUMNS: &str =
    "ticket_id, case_id, case_number, office_id, state, level, reason, opened_at, traceparent";

/// Opens the ticket with its milestones and publishes `supervision.ticket_opened`, unless its
/// source already opened one (`Ok(None)`).
///
/// # Errors
/// See [`TicketError`].
pub async fn open(
    conn: &mut PgConnection,
    cal: &WorkingCalendar,
    config: &Config,
    new: NewTicket<'_>,
) -> Result<Option<TicketRow>, TicketError> {
    let ticket_id = Uuid::now_v7();
    let mut dues = Vec::with_capacity(4);
    for days in config.milestones {
        dues.push(cal.due_after(new.opened_at, days)?);
    }
    let inserted = sqlx::query(
        "INSERT INTO tickets (ticket_id, source, case_id, case_number, office_id, state, level,
            reason, opened_at, next_due_at, traceparent)
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10)
         ON CONFLICT (source) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(&new.source)
    .bind(new.case_id)
    .bind(new.case_number)
    .bind(new.office_id)
    .bind(new.level)
    .bind(new.reason)
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
    .bind(&dues)
    .execute(&mut *conn)
    .await?;
    crate::publish(
        conn,
        new.case_id,
        new.case_number,
        new.opened_at,
        Body::TicketOpened(ev::TicketOpened {
            ticket_id: ticket_id.to_string(),
            office_id: new.office_id.to_owned(),
            reason: new.reason.to_owned(),
            level: level::name(new.level).to_owned(),
        }),
    )
    .await?;
    tracing::info!(
        case_number = %new.case_number,
        office = %new.office_id,
        reason = new.reason,
        "督办 ticket opened"
    );
    Ok(Some(TicketRow {
        ticket_id,
        case_id: new.case_id,
        case_number: new.case_number.to_owned(),
        office_id: new.office_id.to_owned(),
        state: "open".to_owned(),
        level: new.level,
        reason: new.reason.to_owned(),
        opened_at: new.opened_at,
        traceparent: new.traceparent,
    }))
}

/// One ticket, locked for update when `lock`.
///
/// # Errors
/// A failing statement.
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
    pub state: Option<String>,
    pub level: Option<i16>,
}

/// Tickets matching `filter`, newest first.
///
/// # Errors
/// A failing statement.
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
        .bind(&filter.state)
        .bind(filter.level)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
}

/// A step of the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// 签收: the office takes it in hand (milestone act).
    Acknowledge,
    /// 反馈: the office reports back (milestone report).
    Report,
    /// 办结: the office settles it (milestone settle).
    Resolve,
    /// 销号: the supervisor closes it (milestone close).
    Close,
}

impl Step {
    /// Index of the milestone the step completes (earlier ones complete with it).
    fn milestone(self) -> i16 {
        match self {
            Step::Acknowledge => 0,
            Step::Report => 1,
            Step::Resolve => 2,
            Step::Close => 3,
        }
    }

    /// The state after the step.
    fn next_state(self) -> &'static str {
        match self {
            Step::Acknowledge => "acknowledged",
            Step::Report => "reported",
            Step::Resolve => "resolved",
            Step::Close => "closed",
        }
    }

    /// States the step applies in.
    fn applies_in(self, state: &str) -> bool {
        match self {
            Step::Acknowledge => state == "open",
            Step::Report => matches!(state, "open" | "acknowledged"),
            Step::Resolve => matches!(state, "open" | "acknowledged" | "reported"),
            Step::Close => state == "resolved",
        }
    }

    /// Audit action name.
    pub fn action(self) -> &'static str {
        match self {
            Step::Acknowledge => "ticket.acknowledge",
            Step::Report => "ticket.report",
            Step::Resolve => "ticket.resolve",
            Step::Close => "ticket.close",
        }
    }
}

/// Applies `step` to the locked ticket `row` at `at`: completes its milestone and the earlier
/// ones, moves the state and the next due milestone.
///
/// # Errors
/// [`TicketError::State`] when the step does not apply; a failing statement.
pub async fn apply(
    conn: &mut PgConnection,
    row: &mut TicketRow,
    step: Step,
    at: DateTime<Utc>,
) -> Result<(), TicketError> {
    if !step.applies_in(&row.state) {
        return Err(TicketError::State(row.state.clone()));
    }
    sqlx::query(
        "UPDATE ticket_milestones SET done_at = $3
         WHERE ticket_id = $1 AND seq <= $2 AND done_at IS NULL",
    )
    .bind(row.ticket_id)
    .bind(step.milestone())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    row.state = step.next_state().to_owned();
    sqlx::query(
        "UPDATE tickets SET state = $2, updated_at = now(),
            next_due_at = (SELECT min(due_at) FROM ticket_milestones
                           WHERE ticket_id = $1 AND done_at IS NULL AND escalated_at IS NULL)
         WHERE ticket_id = $1",
    )
    .bind(row.ticket_id)
    .bind(&row.state)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Escalates every ticket with a milestone missed at `now`, one level per missed milestone,
/// publishing `supervision.ticket_escalated` for each. Reads the `next_due_at` index only.
/// Returns the number of escalations.
///
/// # Errors
/// A failing statement.
pub async fn escalate_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<usize, TicketError> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE next_due_at <= $1
         ORDER BY next_due_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    );
    let due: Vec<TicketRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let mut escalations = 0;
    for ticket in due {
        let span = tracing::info_span!(
            "escalate ticket",
            tongban.case_number = %ticket.case_number,
            tongban.ticket_id = %ticket.ticket_id,
        );
        if let Some(parent) = ticket.traceparent.as_deref() {
            tongban_telemetry::set_parent_from_traceparent(&span, parent, None);
        }
        escalations += escalate_one(conn, ticket, now).instrument(span).await?;
    }
    Ok(escalations)
}

async fn escalate_one(
    conn: &mut PgConnection,
    mut ticket: TicketRow,
    now: DateTime<Utc>,
) -> Result<usize, TicketError> {
    let mut escalations = 0;
    for milestone in milestones(conn, ticket.ticket_id).await? {
        if milestone.done_at.is_some() || milestone.escalated_at.is_some() || milestone.due_at > now
        {
            continue;
        }
        sqlx::query(
            "UPDATE ticket_milestones SET escalated_at = $3 WHERE ticket_id = $1 AND seq = $2",
        )
        .bind(ticket.ticket_id)
        .bind(milestone.seq)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        ticket.level = level::up(ticket.level);
        crate::publish(
            conn,
            ticket.case_id,
            &ticket.case_number,
            now,
            Body::TicketEscalated(ev::TicketEscalated {
                ticket_id: ticket.ticket_id.to_string(),
                office_id: ticket.office_id.clone(),
                milestone: milestone.name.clone(),
                level: level::name(ticket.level).to_owned(),
            }),
        )
        .await?;
        tongban_store::audit(
            conn,
            &tongban_store::AuditRecord {
                actor: crate::SERVICE,
                role: "system",
                office_id: &ticket.office_id,
                action: "ticket.escalate",
                entity: "ticket",
                entity_id: &ticket.ticket_id.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "milestone": milestone.name,
                    "level": level::name(ticket.level),
                })),
            },
        )
        .await?;
        tracing::warn!(
            milestone = %milestone.name,
            level = level::name(ticket.level),
            "督办 milestone missed; escalated"
        );
        escalations += 1;
    }
    sqlx::query(
        "UPDATE tickets SET level = $2, updated_at = now(),
            next_due_at = (SELECT min(due_at) FROM ticket_milestones
                           WHERE ticket_id = $1 AND done_at IS NULL AND escalated_at IS NULL)
         WHERE ticket_id = $1",
    )
    .bind(ticket.ticket_id)
    .bind(ticket.level)
    .execute(&mut *conn)
    .await?;
    Ok(escalations)
}
