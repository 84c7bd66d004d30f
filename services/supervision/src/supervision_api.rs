//! SupervisionService: alerts, 13710 tickets and their steps, statistics. Supervisors and
//! administrators see every office; an office's reviewers and head see their own office only.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::FromRow;
use tongban_domain::i18n::Lang;
use tongban_domain::stages::{self, TicketStep as Step};
use tongban_proto::supervision::v1::supervision_service_server::SupervisionService;
use tongban_proto::supervision::v1::{
    Alert, AlertKind, GetStatisticsRequest, ListAlertsRequest, ListAlertsResponse,
    ListTicketsRequest, ListTicketsResponse, Milestone, Statistics, StatisticsRow, Ticket,
    TicketActionRequest, TicketState,
};
use tongban_runtime::auth::{Claims, Role, caller};
use tongban_runtime::convert::{datetime, scope_from_pb, scope_to_pb, timestamp};
use tongban_runtime::lang::request_lang;
use tongban_runtime::status::FieldViolation;
use tongban_step::{Actor, Effects};
use tonic::{Request, Response, Status};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::error::SupervisionError;
use crate::limits;
use crate::repo::{self, AlertFilter, AlertRow};
use crate::tickets::{self, TicketFilter, TicketRow};
use crate::{EXECUTOR, State, level};

/// Most rows of one list.
const LIST_LIMIT: i64 = 1000;

/// The SupervisionService handlers.
pub struct Supervision {
    state: State,
}

impl Supervision {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// Whether the caller sees every office.
fn sees_all(claims: &Claims) -> bool {
    matches!(claims.role, Role::Supervisor | Role::Admin)
}

/// The office filter a caller may use: any for supervisors, their own for an office.
fn office_filter(
    claims: &Claims,
    requested: &str,
    lang: Lang,
) -> Result<Option<String>, SupervisionError> {
    claims.require(
        &[
            Role::Supervisor,
            Role::Admin,
            Role::OfficeHead,
            Role::Reviewer,
        ],
        lang,
    )?;
    let mut errors = Vec::new();
    if !limits::chars(&limits::OFFICE_ID, requested, &[], lang, &mut errors) {
        return Err(SupervisionError::Invalid(errors));
    }
    let requested = requested.trim();
    if sees_all(claims) {
        return Ok((!requested.is_empty()).then(|| requested.to_owned()));
    }
    if requested.is_empty() || requested == claims.office {
        Ok(Some(claims.office.clone()))
    } else {
        Err(SupervisionError::OtherOffice)
    }
}

fn alert_pb(row: &AlertRow) -> Alert {
    Alert {
        alert_id: row.alert_id.to_string(),
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        kind: match row.kind {
            stages::AlertKind::Warning => AlertKind::Warning,
            stages::AlertKind::Breach => AlertKind::Breach,
        }
        .into(),
        stage: row.stage.clone(),
        office_id: row.office_id.clone(),
        due_at: Some(timestamp(row.due_at)),
        raised_at: Some(timestamp(row.raised_at)),
        level: level::to_pb(row.level).into(),
        // A case routed without a scope has none on the wire either.
        scope: row.scope.map(scope_to_pb).unwrap_or_default().into(),
    }
}

fn state_pb(state: stages::TicketState) -> TicketState {
    use stages::TicketState as S;
    match state {
        S::Open => TicketState::Open,
        S::Acknowledged => TicketState::Acknowledged,
        S::Reported => TicketState::Reported,
        S::Resolved => TicketState::Resolved,
        S::Closed => TicketState::Closed,
    }
}

fn state_from_pb(state: TicketState) -> Option<stages::TicketState> {
    use stages::TicketState as S;
    match state {
        TicketState::Open => Some(S::Open),
        TicketState::Acknowledged => Some(S::Acknowledged),
        TicketState::Reported => Some(S::Reported),
        TicketState::Resolved => Some(S::Resolved),
        TicketState::Closed => Some(S::Closed),
        TicketState::Unspecified => None,
    }
}

/// Answers a handler's result: the message, or the status of its error in `lang`.
fn answer<T>(lang: Lang, result: Result<T, SupervisionError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(|err| err.status(lang))
}

/// The one view of a ticket with its milestones.
async fn ticket_pb(conn: &mut sqlx::PgConnection, row: &TicketRow) -> Result<Ticket, sqlx::Error> {
    let milestones = tickets::milestones(conn, row.ticket_id).await?;
    Ok(Ticket {
        ticket_id: row.ticket_id.to_string(),
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        office_id: row.office_id.clone(),
        state: state_pb(row.state).into(),
        level: level::to_pb(row.level).into(),
        reason: row.reason.as_str().to_owned(),
        milestones: milestones
            .iter()
            .map(|m| Milestone {
                name: m.name.clone(),
                due_at: Some(timestamp(m.due_at)),
                done_at: m.done_at.map(timestamp),
            })
            .collect(),
        opened_at: Some(timestamp(row.opened_at)),
    })
}

/// One group of the statistics, as computed by PostgreSQL.
#[derive(Debug, FromRow)]
struct StatRow {
    key: String,
    total: i64,
    completed: i64,
    on_time: i64,
    average_working_days: Option<f64>,
    p90_working_days: Option<f64>,
    open: i64,
    overdue: i64,
}

/// The office a case counts for in the statistics: the one its whole-case breach was raised
/// against (for a 多地联办 case, the office of the part that held it up), else the responsible
/// office — the figures per office follow the alerts.
const OFFICE_OF_CASE: &str = "coalesce(breached_office_id, responsible_office_id)";

/// The grouping expression for `group_by` (a fixed list: nothing from the caller reaches SQL).
fn group_expression(group_by: &str) -> Option<&'static str> {
    match group_by.trim() {
        "" | "matter" => Some("matter_code"),
        "office" => Some(OFFICE_OF_CASE),
        "scope" => Some("scope"),
        "mode" => Some("mode"),
        "month" => Some("to_char(accepted_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"),
        _ => None,
    }
}

impl Supervision {
    async fn alerts(
        &self,
        claims: Claims,
        req: ListAlertsRequest,
        lang: Lang,
    ) -> Result<ListAlertsResponse, SupervisionError> {
        let filter = AlertFilter {
            office_id: office_filter(&claims, &req.office_id, lang)?,
            level: level::from_pb(req.level()),
            scope: scope_from_pb(req.scope()).map(|s| s.as_str().to_owned()),
            kind: match req.kind() {
                AlertKind::Warning => Some(stages::AlertKind::Warning),
                AlertKind::Breach => Some(stages::AlertKind::Breach),
                AlertKind::Unspecified => None,
            },
        };
        let mut conn = self.state.pool.acquire().await?;
        let rows = repo::list_alerts(&mut conn, &filter, LIST_LIMIT).await?;
        Ok(ListAlertsResponse {
            alerts: rows.iter().map(alert_pb).collect(),
        })
    }

    async fn tickets(
        &self,
        claims: Claims,
        req: ListTicketsRequest,
        lang: Lang,
    ) -> Result<ListTicketsResponse, SupervisionError> {
        let filter = TicketFilter {
            office_id: office_filter(&claims, &req.office_id, lang)?,
            state: state_from_pb(req.state()),
            level: level::from_pb(req.level()),
        };
        let mut conn = self.state.pool.acquire().await?;
        let rows = tickets::list(&mut conn, &filter, LIST_LIMIT).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(ticket_pb(&mut conn, row).await?);
        }
        Ok(ListTicketsResponse { tickets: out })
    }

    async fn statistics(
        &self,
        claims: Claims,
        req: GetStatisticsRequest,
        lang: Lang,
    ) -> Result<Statistics, SupervisionError> {
        claims.require(&[Role::Supervisor, Role::Admin, Role::OfficeHead], lang)?;
        let mut errors = Vec::new();
        if !limits::chars(&limits::GROUP_BY, &req.group_by, &[], lang, &mut errors) {
            return Err(SupervisionError::Invalid(errors));
        }
        let Some(key) = group_expression(&req.group_by) else {
            return Err(SupervisionError::Invalid(vec![FieldViolation::new(
                "group_by",
                lang.pick(
                    "应为 matter、office、scope、mode 或 month",
                    "one of matter, office, scope, mode, month",
                ),
            )]));
        };
        let from: Option<DateTime<Utc>> = datetime(req.from.as_ref());
        let to: Option<DateTime<Utc>> = datetime(req.to.as_ref());
        // An office head sees the figures of their own office only.
        let office = (!sees_all(&claims)).then(|| claims.office.clone());
        let sql = format!(
            "SELECT {key} AS key,
                count(*) AS total,
                count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status = 'completed' AND on_time) AS on_time,
                (avg(working_days) FILTER (WHERE status = 'completed'))::float8 AS average_working_days,
                (percentile_cont(0.9) WITHIN GROUP (ORDER BY working_days)
                    FILTER (WHERE status = 'completed'))::float8 AS p90_working_days,
                count(*) FILTER (WHERE status = 'open') AS open,
                count(*) FILTER (WHERE case_breached) AS overdue
             FROM case_clocks
             WHERE ($1::timestamptz IS NULL OR accepted_at >= $1)
               AND ($2::timestamptz IS NULL OR accepted_at < $2)
               AND ($3::text IS NULL OR {OFFICE_OF_CASE} = $3)
             GROUP BY 1 ORDER BY 1"
        );
        let mut conn = self.state.pool.acquire().await?;
        let rows: Vec<StatRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .bind(office)
            .fetch_all(&mut *conn)
            .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(Statistics {
            rows: rows
                .into_iter()
                .map(|r| StatisticsRow {
                    on_time_rate: if r.completed > 0 {
                        r.on_time as f64 / r.completed as f64
                    } else {
                        0.0
                    },
                    key: r.key,
                    total: count(r.total),
                    completed: count(r.completed),
                    on_time: count(r.on_time),
                    average_working_days: r.average_working_days.unwrap_or(0.0),
                    p90_working_days: r.p90_working_days.unwrap_or(0.0),
                    open: count(r.open),
                    overdue: count(r.overdue),
                })
                .collect(),
        })
    }

    /// Takes a ticket step for the caller: the ticket's office (reviewer or head) acknowledges,
    /// reports and resolves; a supervisor may take any step and alone closes. Anyone else's
    /// ticket is NOT_FOUND. The domain decides the new state ([`Step::apply`]); the step is
    /// taken through the executor, in the case's trace, with its audit entry.
    async fn step(
        &self,
        claims: Claims,
        req: TicketActionRequest,
        step: Step,
        lang: Lang,
    ) -> Result<Ticket, SupervisionError> {
        let allowed: &[Role] = if step == Step::Close {
            &[Role::Supervisor, Role::Admin]
        } else {
            &[
                Role::Supervisor,
                Role::Admin,
                Role::OfficeHead,
                Role::Reviewer,
            ]
        };
        claims.require(allowed, lang)?;
        let mut errors = Vec::new();
        let fits = limits::chars(&limits::TICKET_ID, &req.ticket_id, &[], lang, &mut errors);
        let ticket_id = Uuid::parse_str(req.ticket_id.trim()).ok();
        if fits && ticket_id.is_none() {
            errors.push(FieldViolation::new(
                "ticket_id",
                lang.pick(
                    "不是有效的督办单编号（UUID）",
                    "not a valid ticket id (UUID)",
                ),
            ));
        }
        let note = req.note.trim().to_owned();
        let fits = limits::chars(&limits::NOTE, &req.note, &[], lang, &mut errors);
        if fits && note.chars().any(|c| c.is_control() && c != '\n') {
            errors.push(FieldViolation::new(
                "note",
                lang.pick("不能含控制字符", "no control characters"),
            ));
        }
        let Some(ticket_id) = ticket_id.filter(|_| errors.is_empty()) else {
            return Err(SupervisionError::Invalid(errors));
        };
        let now = self.state.clock.now();
        let actor = Actor::person(&claims.user, claims.role.as_str(), &claims.office);
        let mut tx = EXECUTOR.begin(&self.state.pool, actor, now).await?;
        let mut row = tickets::get(tx.conn(), ticket_id, true)
            .await?
            .filter(|t| sees_all(&claims) || t.office_id == claims.office)
            .ok_or(SupervisionError::TicketNotFound)?;
        tracing::Span::current().record("tongban.case_number", row.case_number.as_str());
        let span = tx.join("ticket step", &row.case_ref());
        async {
            let before = row.state;
            row.state = step
                .apply(row.state)
                .map_err(|refused| SupervisionError::TicketState(refused.0))?;
            tickets::store_step(tx.conn(), &row, step, now).await?;
            let mut effects = Effects::new();
            effects.audit(
                step.action(),
                "ticket",
                row.ticket_id.to_string(),
                Some(json!({"state": before.as_str()})),
                Some(json!({"state": row.state.as_str(), "note": note})),
            );
            tx.apply(effects).await?;
            let ticket = ticket_pb(tx.conn(), &row).await?;
            tx.commit().await?;
            tracing::info!(state = row.state.as_str(), "督办 ticket step");
            Ok(ticket)
        }
        .instrument(span)
        .await
    }
}

#[tonic::async_trait]
impl SupervisionService for Supervision {
    #[tracing::instrument(name = "ListAlerts", skip_all)]
    async fn list_alerts(
        &self,
        request: Request<ListAlertsRequest>,
    ) -> Result<Response<ListAlertsResponse>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        answer(lang, self.alerts(claims, request.into_inner(), lang).await)
    }

    #[tracing::instrument(name = "ListTickets", skip_all)]
    async fn list_tickets(
        &self,
        request: Request<ListTicketsRequest>,
    ) -> Result<Response<ListTicketsResponse>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        answer(lang, self.tickets(claims, request.into_inner(), lang).await)
    }

    #[tracing::instrument(name = "GetStatistics", skip_all)]
    async fn get_statistics(
        &self,
        request: Request<GetStatisticsRequest>,
    ) -> Result<Response<Statistics>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        answer(
            lang,
            self.statistics(claims, request.into_inner(), lang).await,
        )
    }

    #[tracing::instrument(name = "AcknowledgeTicket", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn acknowledge_ticket(
        &self,
        request: Request<TicketActionRequest>,
    ) -> Result<Response<Ticket>, Status> {
        self.answer_step(request, Step::Acknowledge).await
    }

    #[tracing::instrument(name = "ReportTicket", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn report_ticket(
        &self,
        request: Request<TicketActionRequest>,
    ) -> Result<Response<Ticket>, Status> {
        self.answer_step(request, Step::Report).await
    }

    #[tracing::instrument(name = "ResolveTicket", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn resolve_ticket(
        &self,
        request: Request<TicketActionRequest>,
    ) -> Result<Response<Ticket>, Status> {
        self.answer_step(request, Step::Resolve).await
    }

    #[tracing::instrument(name = "CloseTicket", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn close_ticket(
        &self,
        request: Request<TicketActionRequest>,
    ) -> Result<Response<Ticket>, Status> {
        self.answer_step(request, Step::Close).await
    }
}

impl Supervision {
    async fn answer_step(
        &self,
        request: Request<TicketActionRequest>,
        step: Step,
    ) -> Result<Response<Ticket>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        answer(
            lang,
            self.step(claims, request.into_inner(), step, lang).await,
        )
    }
}
