//! `tongban supervise …`: the supervisor's (督办) commands on SupervisionService — time-limit
//! alerts, 13710 tickets and their steps, statistics — and `tongban trace CASE_NUMBER`, which
//! prints the trace id of a case (from IntakeService.GetCase's stored `traceparent`).

use clap::{Subcommand, ValueEnum};
use serde_json::json;
use tongban_proto::common::v1::Scope;
use tongban_proto::intake::v1::GetCaseRequest;
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tongban_proto::supervision::v1::{
    AlertKind, GetStatisticsRequest, ListAlertsRequest, ListTicketsRequest, SupervisionLevel,
    TicketActionRequest, TicketState,
};

use crate::args::{Period, ScopeArg};
use crate::client::{Answer, Conn, Service};
use crate::error::CliError;
use crate::{Ctx, views};

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
    /// 统计（--from/--to 为受理时间）：按时办结率、平均与 P90 用时 / statistics of the cases
    /// accepted in --from..--to: on-time rate, average and p90 working days.
    Stats {
        /// 分组 / group by.
        #[arg(long = "by", value_enum, default_value = "matter")]
        group_by: GroupArg,
        #[command(flatten)]
        period: Period,
    },
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
                scope: scope.map_or(Scope::Unspecified, Scope::from).into(),
                kind: match kind {
                    Some(KindArg::Warning) => AlertKind::Warning,
                    Some(KindArg::Breach) => AlertKind::Breach,
                    None => AlertKind::Unspecified,
                }
                .into(),
            };
            let r = client(ctx).await?.list_alerts(request).answer(rpc).await?;
            ctx.emit(
                json!({"alerts": r.alerts.iter().map(views::supervision::alert_json).collect::<Vec<_>>()}),
                || views::supervision::alerts_view(lang, &r.alerts),
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
            let r = client(ctx).await?.list_tickets(request).answer(rpc).await?;
            ctx.emit(
                json!({"tickets": r.tickets.iter().map(views::supervision::ticket_json).collect::<Vec<_>>()}),
                || views::supervision::tickets_view(lang, &r.tickets),
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
            ctx.emit(views::supervision::ticket_json(&t), || {
                views::supervision::tickets_view(lang, std::slice::from_ref(&t))
            });
        }
        SuperviseCommand::Stats { group_by, period } => {
            let (from, to) = period.bounds();
            let request = GetStatisticsRequest {
                group_by: match group_by {
                    GroupArg::Matter => "matter",
                    GroupArg::Office => "office",
                    GroupArg::Scope => "scope",
                    GroupArg::Mode => "mode",
                    GroupArg::Month => "month",
                }
                .to_owned(),
                from,
                to,
            };
            let s = client(ctx)
                .await?
                .get_statistics(request)
                .answer(rpc)
                .await?;
            ctx.emit(views::supervision::stats_json(&s), || {
                views::supervision::stats_view(lang, &s)
            });
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
        .answer(CliError::rpc(Service::Intake))
        .await?;
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
