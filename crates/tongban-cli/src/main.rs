//! `tongban`: the command-line client of the tongban (通办) services.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tongban_cli::catalog::CatalogCommand;
use tongban_cli::cert::CertCommand;
use tongban_cli::client::Endpoints;
use tongban_cli::error::CliError;
use tongban_cli::hotline::HotlineCommand;
use tongban_cli::logistics::LogisticsCommand;
use tongban_cli::office::OfficeCommand;
use tongban_cli::ops::OpsCommand;
use tongban_cli::output::Lang;
use tongban_cli::supervise::{self, SuperviseCommand};
use tongban_cli::token::TokenCommand;
use tongban_cli::window::WindowCommand;
use tongban_cli::{Ctx, catalog, hotline, office, token, window};

/// 通办命令行：窗口受理、属地审批、12345 查询 / tongban: window intake, remote review, 12345 hotline.
#[derive(Debug, Parser)]
#[command(name = "tongban", version, propagate_version = true)]
struct Cli {
    /// 输出语言 / output language.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "TONGBAN_LANG",
        default_value = "zh"
    )]
    lang: Lang,
    /// 以 JSON 输出（供脚本使用）/ print responses as JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
    /// 访问令牌 / bearer token.
    #[arg(long, global = true, env = "TONGBAN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// 受理服务地址 / intake service (catalog and intake).
    #[arg(
        long,
        visible_alias = "intake-url",
        global = true,
        env = "TONGBAN_INTAKE_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    intake: String,
    /// 审查服务地址 / review service.
    #[arg(
        long,
        visible_alias = "review-url",
        global = true,
        env = "TONGBAN_REVIEW_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    review: String,
    /// 电子证照服务地址 / certificate service (`--certificate` alone is the e-certificate
    /// presented with `window submit`).
    #[arg(
        long = "certificate-url",
        global = true,
        env = "TONGBAN_CERTIFICATE_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    certificate: String,
    /// 寄递服务地址 / logistics service.
    #[arg(
        long,
        visible_alias = "logistics-url",
        global = true,
        env = "TONGBAN_LOGISTICS_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    logistics: String,
    /// 12345 热线服务地址 / hotline service.
    #[arg(
        long,
        visible_alias = "hotline-url",
        global = true,
        env = "TONGBAN_HOTLINE_URL",
        default_value = "http://127.0.0.1:50055"
    )]
    hotline: String,
    /// 督办服务地址 / supervision service.
    #[arg(
        long,
        visible_alias = "supervision-url",
        global = true,
        env = "TONGBAN_SUPERVISION_URL",
        default_value = "http://127.0.0.1:50056"
    )]
    supervision: String,
    /// 核验 https 服务证书所用的 CA（deploy/up.sh 生成于 var/state/tls/ca.pem）/ CA that
    /// verifies https services (deploy/up.sh writes var/state/tls/ca.pem).
    #[arg(long, global = true, env = "TONGBAN_TLS_CA")]
    tls_ca: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 令牌 / tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// 事项目录、部门目录、路由与时限 / catalog, offices, routing, due dates.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// 通办窗口：收件、查询、补正、撤回 / window: submit, show, supplement, withdraw.
    #[command(subcommand)]
    Window(WindowCommand),
    /// 属地审批：待办、认领、补正、决定 / responsible office: inbox, claim, supplement, decide.
    #[command(subcommand)]
    Office(OfficeCommand),
    /// 12345 热线 / hotline.
    #[command(subcommand)]
    Hotline(HotlineCommand),
    /// 电子证照：核验、查看、签发、变更状态 / e-certificates: verify, show, issue, revoke.
    #[command(subcommand)]
    Cert(CertCommand),
    /// 督办：时限预警、13710 督办单、统计 / supervision: alerts, 13710 tickets, statistics.
    #[command(subcommand)]
    Supervise(SuperviseCommand),
    /// 寄递：运单查询与物料流转 / courier: track waybills, chain of custody.
    #[command(subcommand)]
    Logistics(LogisticsCommand),
    /// 运维：消费死信与重放（管理员）/ operations: dead letters and replay (admin).
    #[command(subcommand)]
    Ops(OpsCommand),
    /// 审计：校验各服务的哈希链审计记录，按办件查阅 / audit: verify each service's hash-chained
    /// audit log, page through a case's audit.
    #[command(subcommand)]
    Audit(tongban_cli::audit::AuditCommand),
    /// 打印办件的链路追踪编号 / print the trace id of a case.
    Trace {
        /// 办件编号 / case number.
        case_number: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx {
        lang: cli.lang,
        json: cli.json,
        token: cli.token,
        endpoints: Endpoints {
            intake: cli.intake,
            review: cli.review,
            certificate: cli.certificate,
            logistics: cli.logistics,
            hotline: cli.hotline,
            supervision: cli.supervision,
            tls_ca: cli.tls_ca,
        },
    };
    let result: Result<(), CliError> = match cli.command {
        Command::Token(cmd) => token::run(cmd, &ctx),
        Command::Catalog(cmd) => catalog::run(cmd, &ctx).await,
        Command::Window(cmd) => window::run(cmd, &ctx).await,
        Command::Office(cmd) => office::run(cmd, &ctx).await,
        Command::Hotline(cmd) => hotline::run(cmd, &ctx).await,
        Command::Cert(cmd) => tongban_cli::cert::run(cmd, &ctx).await,
        Command::Supervise(cmd) => supervise::run(cmd, &ctx).await,
        Command::Logistics(cmd) => tongban_cli::logistics::run(cmd, &ctx).await,
        Command::Ops(cmd) => tongban_cli::ops::run(cmd, &ctx).await,
        Command::Audit(cmd) => tongban_cli::audit::run(cmd, &ctx).await,
        Command::Trace { case_number } => supervise::trace(&case_number, &ctx).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", err.render(ctx.lang));
            ExitCode::from(err.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
