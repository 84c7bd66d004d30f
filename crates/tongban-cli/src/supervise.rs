//! `tongban supervise …`: the supervisor's (督办) commands on SupervisionService — time-limit
//! alerts, 13710 tickets and their steps, statistics — and `tongban trace CASE_NUMBER`, which
//! prints the trace id of a case (from IntakeService.GetCase's stored `traceparent`).

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use tongban_proto::intake::v1::GetCaseRequest;
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tongban_proto::supervision::v1::{
    Alert, AlertKind, GetStatisticsRequest, ListAlertsRequest, ListTicketsRequest, Statistics,
    SupervisionLevel, Ticket, TicketActionRequest, TicketState,
};

use crate::Ctx;
use crate::args::{parse_moment, timestamp};
use crate::client::{Conn, Service};
use crate::error::CliError;
use crate::output::{self, Lang, Table};

/// `tongban supervise` subcommands.
#[derive(Debug, Subcommand)]
pub enum SuperviseCommand {
    /// 时限预警与超期 / deadline warnings and breaches, newest first.
    Alerts {
        /// 单位 / responsible office id.
        #[arg(long, default_value = "")]
        office: String,
        /// 督办层级 / supervision level.
        #[arg(long, value_enum)]
        level: Option<LevelArg>,
        /// 通办范围 / scope.
        #[arg(long, value_enum)]
        scope: Option<ScopeArg>,
        /// 类别 / kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
    /// 13710 督办单 / supervision tickets.
    Tickets {
        /// 单位 / assigned office id.
        #[arg(long, default_value = "")]
        office: String,
        /// 状态 / state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// 督办层级 / level.
        #[arg(long, value_enum)]
        level: Option<LevelArg>,
    },
    /// 督办单推进：签收、反馈、办结、销号 / move a ticket on: acknowledge, report, resolve, close.
    Ticket {
        /// 督办单编号 / ticket id.
        ticket_id: String,
        /// 操作 / step.
        #[arg(long = "step", value_enum)]
        step: StepArg,
        /// 说明 / note.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 统计：按时办结率、平均与 P90 用时 / statistics: on-time rate, average and p90 working days.
    Stats {
        /// 分组 / group by.
        #[arg(long = "by", value_enum, default_value = "matter")]
        group_by: GroupArg,
        #[command(flatten)]
        period: Period,
    },
}

/// `--from` / `--to` of the acceptance period (Asia/Shanghai unless an offset is given).
#[derive(Debug, Args)]
pub struct Period {
    /// 受理时间起（含）/ accepted from (inclusive): RFC 3339, "YYYY-MM-DD HH:MM" or "YYYY-MM-DD".
    #[arg(long, value_parser = parse_moment)]
    from: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// 受理时间止（不含）/ accepted before (exclusive).
    #[arg(long, value_parser = parse_moment)]
    to: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// 督办层级 / level.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LevelArg {
    /// 县级.
    County,
    /// 市级.
    City,
    /// 省级.
    Province,
}

/// 通办范围 / scope.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    /// 本地办理.
    Local,
    /// 全省通办.
    ProvinceWide,
    /// 跨省通办.
    CrossProvince,
    /// 区域通办.
    Regional,
}

/// 类别 / kind of alert.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// 预警.
    Warning,
    /// 超期.
    Breach,
}

/// 督办单状态 / ticket state.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StateArg {
    /// 待签收.
    Open,
    /// 已签收.
    Acknowledged,
    /// 已反馈.
    Reported,
    /// 已办结.
    Resolved,
    /// 已销号.
    Closed,
}

/// 督办单操作 / ticket step.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StepArg {
    /// 签收 (1 个工作日内).
    Acknowledge,
    /// 反馈 (3 个工作日内).
    Report,
    /// 办结 (7 个工作日内).
    Resolve,
    /// 销号 (10 个工作日内，督办人员).
    Close,
}

/// 分组 / group by.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupArg {
    /// 事项.
    Matter,
    /// 单位.
    Office,
    /// 通办范围.
    Scope,
    /// 办理模式.
    Mode,
    /// 月份.
    Month,
}

fn level_pb(level: Option<LevelArg>) -> SupervisionLevel {
    match level {
        Some(LevelArg::County) => SupervisionLevel::County,
        Some(LevelArg::City) => SupervisionLevel::City,
        Some(LevelArg::Province) => SupervisionLevel::Province,
        None => SupervisionLevel::Unspecified,
    }
}

fn level_text(lang: Lang, value: i32) -> &'static str {
    match SupervisionLevel::try_from(value) {
        Ok(SupervisionLevel::County) => lang.pick_text("县级", "county"),
        Ok(SupervisionLevel::City) => lang.pick_text("市级", "city"),
        Ok(SupervisionLevel::Province) => lang.pick_text("省级", "province"),
        _ => "-",
    }
}

fn state_text(lang: Lang, value: i32) -> &'static str {
    match TicketState::try_from(value) {
        Ok(TicketState::Open) => lang.pick_text("待签收", "open"),
        Ok(TicketState::Acknowledged) => lang.pick_text("已签收", "acknowledged"),
        Ok(TicketState::Reported) => lang.pick_text("已反馈", "reported"),
        Ok(TicketState::Resolved) => lang.pick_text("已办结", "resolved"),
        Ok(TicketState::Closed) => lang.pick_text("已销号", "closed"),
        _ => "-",
    }
}

fn stage_text(lang: Lang, stage: &str) -> String {
    if stage.is_empty() {
        lang.pick_text("整件", "whole case").to_owned()
    } else {
        stage.to_owned()
    }
}

fn alert_json(a: &Alert) -> Value {
    json!({
        "alert_id": a.alert_id, "case_id": a.case_id, "case_number": a.case_number,
        "kind": match a.kind() { AlertKind::Warning => "warning", AlertKind::Breach => "breach", AlertKind::Unspecified => "" },
        "stage": a.stage, "office_id": a.office_id,
        "due_at": output::rfc3339(a.due_at.as_ref()), "raised_at": output::rfc3339(a.raised_at.as_ref()),
        "level": a.level().as_str_name(), "scope": a.scope().as_str_name(),
    })
}

fn ticket_json(t: &Ticket) -> Value {
    json!({
        "ticket_id": t.ticket_id, "case_id": t.case_id, "case_number": t.case_number,
        "office_id": t.office_id, "state": t.state().as_str_name(), "level": t.level().as_str_name(),
        "reason": t.reason, "opened_at": output::rfc3339(t.opened_at.as_ref()),
        "milestones": t.milestones.iter().map(|m| json!({
            "name": m.name, "due_at": output::rfc3339(m.due_at.as_ref()),
            "done_at": output::rfc3339(m.done_at.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

fn stats_json(s: &Statistics) -> Value {
    json!({ "rows": s.rows.iter().map(|r| json!({
        "key": r.key, "total": r.total, "completed": r.completed, "on_time": r.on_time,
        "on_time_rate": r.on_time_rate, "average_working_days": r.average_working_days,
        "p90_working_days": r.p90_working_days, "open": r.open, "overdue": r.overdue,
    })).collect::<Vec<_>>() })
}

fn alerts_view(lang: Lang, alerts: &[Alert]) -> String {
    if alerts.is_empty() {
        return format!(
            "{}\n",
            lang.pick_text("没有预警或超期", "no warnings or breaches")
        );
    }
    let mut table = Table::new([
        lang.pick_text("类别", "Kind"),
        lang.pick_text("办件编号", "Case number"),
        lang.pick_text("环节", "Stage"),
        lang.pick_text("单位", "Office"),
        lang.pick_text("层级", "Level"),
        lang.pick_text("时限", "Due"),
        lang.pick_text("发出时间", "Raised"),
    ]);
    for a in alerts {
        let kind = match a.kind() {
            AlertKind::Breach => lang.pick_text("超期", "breach"),
            _ => lang.pick_text("预警", "warning"),
        };
        table.row([
            kind.to_owned(),
            a.case_number.clone(),
            stage_text(lang, &a.stage),
            a.office_id.clone(),
            level_text(lang, a.level).to_owned(),
            output::time(a.due_at.as_ref()),
            output::time(a.raised_at.as_ref()),
        ]);
    }
    table.render(0)
}

fn tickets_view(lang: Lang, tickets: &[Ticket]) -> String {
    if tickets.is_empty() {
        return format!("{}\n", lang.pick_text("没有督办单", "no tickets"));
    }
    let mut out = String::new();
    for t in tickets {
        out.push_str(&format!(
            "{}  {}  {}  {}  {}  {}\n",
            t.ticket_id,
            t.case_number,
            t.office_id,
            state_text(lang, t.state),
            level_text(lang, t.level),
            if t.reason == "complaint" {
                lang.pick_text("投诉", "complaint")
            } else if t.reason == "bad_rating" {
                lang.pick_text("差评", "bad rating")
            } else {
                lang.pick_text("超期", "breach")
            },
        ));
        let mut table = Table::new([
            lang.pick_text("节点", "Milestone"),
            lang.pick_text("时限", "Due"),
            lang.pick_text("完成", "Done"),
        ]);
        for m in &t.milestones {
            let name = match m.name.as_str() {
                "act" => lang.pick_text("签收", "act"),
                "report" => lang.pick_text("反馈", "report"),
                "settle" => lang.pick_text("办结", "settle"),
                "close" => lang.pick_text("销号", "close"),
                other => other,
            };
            table.row([
                name.to_owned(),
                output::time(m.due_at.as_ref()),
                m.done_at
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |d| output::time(Some(d))),
            ]);
        }
        out.push_str(&table.render(2));
    }
    out
}

fn stats_view(lang: Lang, s: &Statistics) -> String {
    if s.rows.is_empty() {
        return format!("{}\n", lang.pick_text("没有办件", "no cases"));
    }
    let mut table = Table::new([
        lang.pick_text("分组", "Group"),
        lang.pick_text("总数", "Total"),
        lang.pick_text("办结", "Completed"),
        lang.pick_text("按时", "On time"),
        lang.pick_text("按时率", "On-time rate"),
        lang.pick_text("平均工作日", "Avg days"),
        lang.pick_text("P90 工作日", "P90 days"),
        lang.pick_text("在办", "Open"),
        lang.pick_text("超期", "Overdue"),
    ]);
    for r in &s.rows {
        table.row([
            r.key.clone(),
            r.total.to_string(),
            r.completed.to_string(),
            r.on_time.to_string(),
            format!("{:.1}%", r.on_time_rate * 100.0),
            format!("{:.1}", r.average_working_days),
            format!("{:.1}", r.p90_working_days),
            r.open.to_string(),
            r.overdue.to_string(),
        ]);
    }
    table.render(0)
}

async fn client(ctx: &Ctx) -> Result<SupervisionServiceClient<Conn>, CliError> {
    Ok(SupervisionServiceClient::new(
        ctx.conn(Service::Supervision).await?,
    ))
}

/// Runs a `supervise` subcommand.
///
/// # Errors
/// The service cannot be reached or refuses the request.
pub async fn run(cmd: SuperviseCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let rpc = CliError::rpc(Service::Supervision);
    match cmd {
        SuperviseCommand::Alerts {
            office,
            level,
            scope,
            kind,
        } => {
            let request = ListAlertsRequest {
                office_id: office.trim().to_owned(),
                level: level_pb(level).into(),
                scope: match scope {
                    Some(ScopeArg::Local) => tongban_proto::common::v1::Scope::Local,
                    Some(ScopeArg::ProvinceWide) => tongban_proto::common::v1::Scope::ProvinceWide,
                    Some(ScopeArg::CrossProvince) => {
                        tongban_proto::common::v1::Scope::CrossProvince
                    }
                    Some(ScopeArg::Regional) => tongban_proto::common::v1::Scope::Regional,
                    None => tongban_proto::common::v1::Scope::Unspecified,
                }
                .into(),
                kind: match kind {
                    Some(KindArg::Warning) => AlertKind::Warning,
                    Some(KindArg::Breach) => AlertKind::Breach,
                    None => AlertKind::Unspecified,
                }
                .into(),
            };
            let r = client(ctx)
                .await?
                .list_alerts(request)
                .await
                .map_err(rpc)?
                .into_inner();
            ctx.emit(
                json!({"alerts": r.alerts.iter().map(alert_json).collect::<Vec<_>>()}),
                || alerts_view(lang, &r.alerts),
            );
        }
        SuperviseCommand::Tickets {
            office,
            state,
            level,
        } => {
            let request = ListTicketsRequest {
                office_id: office.trim().to_owned(),
                state: match state {
                    Some(StateArg::Open) => TicketState::Open,
                    Some(StateArg::Acknowledged) => TicketState::Acknowledged,
                    Some(StateArg::Reported) => TicketState::Reported,
                    Some(StateArg::Resolved) => TicketState::Resolved,
                    Some(StateArg::Closed) => TicketState::Closed,
                    None => TicketState::Unspecified,
                }
                .into(),
                level: level_pb(level).into(),
            };
            let r = client(ctx)
                .await?
                .list_tickets(request)
                .await
                .map_err(rpc)?
                .into_inner();
            ctx.emit(
                json!({"tickets": r.tickets.iter().map(ticket_json).collect::<Vec<_>>()}),
                || tickets_view(lang, &r.tickets),
            );
        }
        SuperviseCommand::Ticket {
            ticket_id,
            step,
            note,
        } => {
            let request = TicketActionRequest {
                ticket_id: ticket_id.trim().to_owned(),
                note,
            };
            let mut c = client(ctx).await?;
            let t = match step {
                StepArg::Acknowledge => c.acknowledge_ticket(request).await,
                StepArg::Report => c.report_ticket(request).await,
                StepArg::Resolve => c.resolve_ticket(request).await,
                StepArg::Close => c.close_ticket(request).await,
            }
            .map_err(rpc)?
            .into_inner();
            ctx.emit(ticket_json(&t), || {
                tickets_view(lang, std::slice::from_ref(&t))
            });
        }
        SuperviseCommand::Stats { group_by, period } => {
            let request = GetStatisticsRequest {
                group_by: match group_by {
                    GroupArg::Matter => "matter",
                    GroupArg::Office => "office",
                    GroupArg::Scope => "scope",
                    GroupArg::Mode => "mode",
                    GroupArg::Month => "month",
                }
                .to_owned(),
                from: period.from.as_ref().map(timestamp),
                to: period.to.as_ref().map(timestamp),
            };
            let s = client(ctx)
                .await?
                .get_statistics(request)
                .await
                .map_err(rpc)?
                .into_inner();
            ctx.emit(stats_json(&s), || stats_view(lang, &s));
        }
    }
    Ok(())
}

/// The trace id (32 hex digits) inside a W3C `traceparent`, if it is one.
#[must_use]
pub fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (_version, trace, _span) = (parts.next()?, parts.next()?, parts.next()?);
    (trace.len() == 32
        && trace.chars().all(|c| c.is_ascii_hexdigit())
        && trace.chars().any(|c| c != '0'))
    .then_some(trace)
}

/// `tongban trace CASE_NUMBER`: prints the case's trace id alone on stdout (with `--json`, the
/// case number, trace id and traceparent).
///
/// # Errors
/// The intake service cannot be reached, refuses the request, or the case has no trace context.
pub async fn trace(case_number: &str, ctx: &Ctx) -> Result<(), CliError> {
    let request = GetCaseRequest {
        case_number: case_number.trim().to_owned(),
        ..Default::default()
    };
    let case = IntakeServiceClient::new(ctx.conn(Service::Intake).await?)
        .get_case(request)
        .await
        .map_err(CliError::rpc(Service::Intake))?
        .into_inner();
    let Some(trace) = trace_id(&case.traceparent) else {
        return Err(CliError::Local(format!(
            "{} / case {} has no trace context",
            format_args!("办件 {} 没有链路追踪上下文", case.case_number),
            case.case_number
        )));
    };
    ctx.emit(
        json!({"case_number": case.case_number, "trace_id": trace, "traceparent": case.traceparent}),
        || format!("{trace}\n"),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::trace_id;

    #[test]
    fn trace_ids() {
        assert_eq!(
            trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(trace_id(""), None);
    }
}
