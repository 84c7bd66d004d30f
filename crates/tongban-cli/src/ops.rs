//! `tongban ops …`: the operator's (运维) commands on each service's OperationsService — the
//! dead letters of its consumers (消费死信) and their replay, and the rebuild of its read model
//! (读模型重建) into a fresh schema. Admin token required.

use clap::{Subcommand, ValueEnum};
use serde_json::json;
use tongban_proto::ops::v1::operations_service_client::OperationsServiceClient;
use tongban_proto::ops::v1::{
    DeadLetter, DeadLetterKind, ListDeadLettersRequest, RebuildReadModelRequest,
    RebuildReadModelResponse, ReplayDeadLetterRequest,
};

use crate::Ctx;
use crate::client::{Answer, Service};
use crate::error::CliError;
use crate::output::{self, Lang, Table};

/// `tongban ops` subcommands.
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// 消费死信：消费者放弃处理的事件，最新的在前 / dead letters: events a service's
    /// consumers gave up on, newest first.
    DeadLetters {
        /// 服务（不填则查询全部服务）/ service (every service when omitted).
        #[arg(long, value_enum)]
        service: Option<ServiceArg>,
        /// 只看该消费者 / only this consumer's.
        #[arg(long, default_value = "")]
        consumer: String,
        /// 每个服务最多条数 / at most this many per service.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// 重放死信：把保存的事件再次交给该服务的处理程序 / replay a dead letter: hand its stored
    /// event to the service's handler again.
    Replay {
        /// 死信编号 / dead letter id.
        id: i64,
        /// 死信所在服务 / the service holding it.
        #[arg(long, value_enum)]
        service: ServiceArg,
    },
    /// 重建读模型：把该服务消费的全部已发布事件（取自各生产方的发件箱）从头重放到一个新模式中，
    /// 并报告计数；在线数据不受影响 / rebuild a read model: replay, from the beginning, every
    /// published event the service consumes (read from the producers' outbox tables) into a
    /// fresh schema and report counts; the live schema is not touched.
    Rebuild {
        /// 服务（hotline、supervision 保存可重建的读模型）/ service (hotline and supervision
        /// keep a rebuildable read model).
        #[arg(value_enum)]
        service: ServiceArg,
        /// 新模式名，须尚不存在 / the fresh schema, which must not exist yet.
        #[arg(long)]
        schema: String,
        /// 读取其发件箱的模式（可重复；不填则为库中所有带发件箱的模式）/ schemas whose outbox
        /// tables are read (repeatable; every schema with an outbox table when omitted).
        #[arg(long = "producer")]
        producers: Vec<String>,
    },
}

/// 服务 / service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceArg {
    /// 受理服务.
    Intake,
    /// 审查服务.
    Review,
    /// 电子证照服务.
    Certificate,
    /// 寄递服务.
    Logistics,
    /// 12345 热线服务.
    Hotline,
    /// 督办服务.
    Supervision,
}

impl From<ServiceArg> for Service {
    fn from(s: ServiceArg) -> Self {
        match s {
            ServiceArg::Intake => Service::Intake,
            ServiceArg::Review => Service::Review,
            ServiceArg::Certificate => Service::Certificate,
            ServiceArg::Logistics => Service::Logistics,
            ServiceArg::Hotline => Service::Hotline,
            ServiceArg::Supervision => Service::Supervision,
        }
    }
}

const ALL: [Service; 6] = [
    Service::Intake,
    Service::Review,
    Service::Certificate,
    Service::Logistics,
    Service::Hotline,
    Service::Supervision,
];

fn kind(lang: Lang, value: i32) -> &'static str {
    let pair = match DeadLetterKind::try_from(value).unwrap_or(DeadLetterKind::Unspecified) {
        DeadLetterKind::Rejected => ("被拒绝", "rejected"),
        DeadLetterKind::Undecodable => ("无法解析", "undecodable"),
        DeadLetterKind::MaxDeliveries => ("超过投递次数", "max deliveries"),
        DeadLetterKind::Terminated => ("被终止", "terminated"),
        DeadLetterKind::Unspecified => ("未知", "unknown"),
    };
    lang.pick(pair)
}

fn kind_name(value: i32) -> &'static str {
    match DeadLetterKind::try_from(value).unwrap_or(DeadLetterKind::Unspecified) {
        DeadLetterKind::Rejected => "rejected",
        DeadLetterKind::Undecodable => "undecodable",
        DeadLetterKind::MaxDeliveries => "max_deliveries",
        DeadLetterKind::Terminated => "terminated",
        DeadLetterKind::Unspecified => "unspecified",
    }
}

fn state(lang: Lang, dead: &DeadLetter) -> String {
    match dead.replayed_at.as_ref() {
        None => lang.pick(("待处理", "open")).to_owned(),
        Some(at) => format!(
            "{} {}",
            lang.pick(("已重放", "replayed")),
            output::time(Some(at))
        ),
    }
}

/// One dead letter as JSON, with the service holding it.
#[must_use]
pub fn dead_letter_json(service: Service, dead: &DeadLetter) -> serde_json::Value {
    json!({
        "service": service.name(),
        "id": dead.id,
        "consumer": dead.consumer,
        "stream_sequence": dead.stream_sequence,
        "subject": dead.subject,
        "event_id": dead.event_id,
        "case_number": dead.case_number,
        "kind": kind_name(dead.kind),
        "reason": dead.reason,
        "deliveries": dead.deliveries,
        "dead_at": output::rfc3339(dead.dead_at.as_ref()),
        "advised": dead.advised,
        "replayed_at": output::rfc3339(dead.replayed_at.as_ref()),
        "replay_result": dead.replay_result,
    })
}

/// The dead letters as a table, or a line saying there are none.
#[must_use]
pub fn dead_letters_view(lang: Lang, rows: &[(Service, DeadLetter)]) -> String {
    if rows.is_empty() {
        return format!("{}\n", lang.pick(("没有死信。", "No dead letters.")));
    }
    let header = [
        ("服务", "Service"),
        ("编号", "ID"),
        ("消费者", "Consumer"),
        ("办件编号", "Case"),
        ("主题", "Subject"),
        ("类别", "Kind"),
        ("投递次数", "Deliveries"),
        ("时间", "When"),
        ("状态", "State"),
        ("原因", "Reason"),
    ];
    let mut table = Table::new(header.iter().map(|pair| lang.pick(*pair)));
    for (service, dead) in rows {
        table.row([
            service.name().to_owned(),
            dead.id.to_string(),
            dead.consumer.clone(),
            if dead.case_number.is_empty() {
                "—".to_owned()
            } else {
                dead.case_number.clone()
            },
            dead.subject.clone(),
            kind(lang, dead.kind).to_owned(),
            dead.deliveries.to_string(),
            output::time(dead.dead_at.as_ref()),
            state(lang, dead),
            dead.reason.replace('\n', " "),
        ]);
    }
    table.render(0)
}

/// One rebuild as JSON, with the service rebuilt.
#[must_use]
pub fn rebuild_json(service: Service, r: &RebuildReadModelResponse) -> serde_json::Value {
    json!({
        "service": service.name(),
        "schema": r.schema,
        "producer_schemas": r.producer_schemas,
        "events_read": r.events_read,
        "consumers": r.consumers.iter().map(|c| json!({
            "consumer": c.consumer,
            "applied": c.applied,
            "rejected": c.rejected,
            "failed": c.failed,
        })).collect::<Vec<_>>(),
        "read_model": r.read_model.iter().map(|t| json!({"table": t.table, "rows": t.rows})).collect::<Vec<_>>(),
    })
}

/// One rebuild as text: what was read, what each consumer applied, the rows of each table.
#[must_use]
pub fn rebuild_view(lang: Lang, service: Service, r: &RebuildReadModelResponse) -> String {
    let mut out = format!(
        "{}（{}）→ {}\n{}：{}（{} {}）\n",
        lang.pick(("已重建读模型", "Read model rebuilt")),
        lang.pick(service.title()),
        r.schema,
        lang.pick(("读取的事件", "events read")),
        r.events_read,
        lang.pick(("来自", "from")),
        r.producer_schemas.join(", "),
    );
    let mut consumers = Table::new(
        [
            ("消费者", "Consumer"),
            ("已应用", "Applied"),
            ("被拒绝", "Rejected"),
            ("未应用", "Failed"),
        ]
        .iter()
        .map(|pair| lang.pick(*pair)),
    );
    for c in &r.consumers {
        consumers.row([
            c.consumer.clone(),
            c.applied.to_string(),
            c.rejected.to_string(),
            c.failed.to_string(),
        ]);
    }
    out.push_str(&consumers.render(0));
    let mut tables = Table::new(
        [("读模型表", "Read-model table"), ("行数", "Rows")]
            .iter()
            .map(|pair| lang.pick(*pair)),
    );
    for t in &r.read_model {
        tables.row([t.table.clone(), t.rows.to_string()]);
    }
    out.push_str(&tables.render(0));
    out
}

async fn client(
    ctx: &Ctx,
    service: Service,
) -> Result<OperationsServiceClient<crate::client::Conn>, CliError> {
    Ok(OperationsServiceClient::new(ctx.conn(service).await?))
}

/// Runs an `ops` subcommand.
///
/// # Errors
/// The service cannot be reached or refuses the request (with every service, only when none
/// answers; the others' failures are printed to stderr).
pub async fn run(cmd: OpsCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    match cmd {
        OpsCommand::DeadLetters {
            service,
            consumer,
            limit,
        } => {
            let services: Vec<Service> = match service {
                Some(one) => vec![one.into()],
                None => ALL.to_vec(),
            };
            let mut rows = Vec::new();
            let mut failure = None;
            let mut answered = 0;
            for service in &services {
                let request = ListDeadLettersRequest {
                    consumer: consumer.trim().to_owned(),
                    limit,
                };
                let listed = async {
                    client(ctx, *service)
                        .await?
                        .list_dead_letters(request)
                        .answer(CliError::rpc(*service))
                        .await
                }
                .await;
                match listed {
                    Ok(r) => {
                        answered += 1;
                        rows.extend(r.dead_letters.into_iter().map(|d| (*service, d)));
                    }
                    Err(err) if services.len() > 1 => {
                        eprintln!("{}", err.render(lang));
                        failure = Some(err);
                    }
                    Err(err) => return Err(err),
                }
            }
            if answered == 0
                && let Some(err) = failure
            {
                return Err(err);
            }
            ctx.emit(
                json!({"dead_letters": rows.iter().map(|(s, d)| dead_letter_json(*s, d)).collect::<Vec<_>>()}),
                || dead_letters_view(lang, &rows),
            );
        }
        OpsCommand::Replay { id, service } => {
            let service = Service::from(service);
            let r = client(ctx, service)
                .await?
                .replay_dead_letter(ReplayDeadLetterRequest { id })
                .answer(CliError::rpc(service))
                .await?;
            let dead = r.dead_letter.unwrap_or_default();
            ctx.emit(
                json!({"applied": r.applied, "dead_letter": dead_letter_json(service, &dead)}),
                || {
                    let outcome = if r.applied {
                        lang.pick((
                            "事件已重新处理并生效。",
                            "the event was handled and took effect.",
                        ))
                    } else {
                        lang.pick((
                            "事件此前已生效，未重复处理。",
                            "the event had already taken effect; nothing was applied twice.",
                        ))
                    };
                    format!(
                        "{} {id}（{}）：{outcome}\n",
                        lang.pick(("已重放死信", "Replayed dead letter")),
                        lang.pick(service.title()),
                    )
                },
            );
        }
        OpsCommand::Rebuild {
            service,
            schema,
            producers,
        } => {
            let service = Service::from(service);
            let r = client(ctx, service)
                .await?
                .rebuild_read_model(RebuildReadModelRequest {
                    schema,
                    producer_schemas: producers,
                })
                .answer(CliError::rpc(service))
                .await?;
            ctx.emit(rebuild_json(service, &r), || {
                rebuild_view(lang, service, &r)
            });
        }
    }
    Ok(())
}
