//! `tongban-bench`: load and measurement tools for a running tongban deployment.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tongban_bench::config::parse_duration;
use tongban_bench::{Config, LoadMode, run_lifecycle};
use tongban_domain::i18n::Lang;

/// 通办压测工具 / tongban benchmark tools.
#[derive(Debug, Parser)]
#[command(name = "tongban-bench", version)]
struct Cli {
    /// 输出语言 / output language.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "TONGBAN_LANG",
        default_value = "zh"
    )]
    lang: OutputLang,
    /// 以 JSON 输出报告 / print the report as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// Language of everything printed.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputLang {
    /// 简体中文 (default).
    #[value(alias = "zh-CN", alias = "zh_CN")]
    Zh,
    /// English.
    #[value(alias = "en-US", alias = "en_US")]
    En,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 全流程压测：受理→分派→认领→决定→办结 / the case lifecycle benchmark: submit, route, claim,
    /// decide, complete.
    Lifecycle(LifecycleArgs),
}

/// Which cases the clerks submit.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// 多事项、多范围、两个窗口 / several online matters and scopes from two windows.
    Mixed,
    /// 仅五台窗口的 GA-HJ-ZM，由银川市公安局决定 / GA-HJ-ZM at the 五台 window only.
    SingleWindow,
}

#[derive(Debug, clap::Args)]
struct LifecycleArgs {
    /// 受理服务地址 / intake service.
    #[arg(
        long,
        env = "TONGBAN_INTAKE_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    intake: String,
    /// 审查服务地址 / review service.
    #[arg(
        long,
        env = "TONGBAN_REVIEW_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    review: String,
    /// 12345 热线服务地址 / hotline service.
    #[arg(
        long,
        env = "TONGBAN_HOTLINE_URL",
        default_value = "http://127.0.0.1:50055"
    )]
    hotline: String,
    /// 基线测量用的 PostgreSQL / PostgreSQL for the floor (scratch schema created and dropped).
    #[arg(
        long,
        env = "TONGBAN_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/tongban",
        hide_env_values = true
    )]
    database_url: String,
    /// 基线测量用的 NATS / NATS for the floor (scratch stream created and deleted).
    #[arg(
        long,
        env = "TONGBAN_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats_url: String,
    /// 状态目录（令牌签名密钥）/ state directory holding the token signing key.
    #[arg(long, env = "TONGBAN_STATE_DIR", default_value = "./var/state")]
    state_dir: PathBuf,
    /// 负载组合 / load mix.
    #[arg(long, value_enum, default_value = "mixed")]
    mode: ModeArg,
    /// 并发窗口人员数 / concurrent window clerks.
    #[arg(long, default_value_t = 16)]
    clerks: usize,
    /// 每个属地部门的审批人员数 / reviewers per responsible office.
    #[arg(long, default_value_t = 8)]
    reviewers: usize,
    /// 每秒 12345 查询次数（0 为不查询）/ hotline look-ups per second (0: none).
    #[arg(long, default_value_t = 0.0)]
    hotline_rate: f64,
    /// 受理时长 / how long clerks submit (30s, 2m, …).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// 收尾等待上限 / how long cases in flight may still take to complete.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    drain: Duration,
    /// 每项基线测量的秒数（0 为跳过）/ seconds of each floor measurement (0: skip the floor).
    #[arg(long, default_value_t = 5.0)]
    floor_seconds: f64,
    /// 基线测量的并发连接数 / concurrent connections of the floor.
    #[arg(long, default_value_t = 8)]
    floor_connections: usize,
    /// 每个完整流程所需的“提交+确认发布”次数 / commit-then-acked-publish pairs per lifecycle.
    #[arg(long, default_value_t = 7.0)]
    pairs_per_lifecycle: f64,
    /// 收件箱补扫与办结轮询的间隔 / interval of the inbox sweep and the completion poll.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    sweep_interval: Duration,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = match cli.lang {
        OutputLang::Zh => Lang::Zh,
        OutputLang::En => Lang::En,
    };
    let Command::Lifecycle(args) = cli.command;
    let floor = match Duration::try_from_secs_f64(args.floor_seconds) {
        Ok(floor) => floor,
        Err(_) => {
            eprintln!(
                "{}",
                lang.pick(
                    "错误：--floor-seconds 必须是非负数",
                    "error: --floor-seconds must be a non-negative number"
                )
            );
            return ExitCode::from(2);
        }
    };
    let config = Config {
        intake_url: args.intake,
        review_url: args.review,
        hotline_url: args.hotline,
        database_url: args.database_url,
        nats_url: args.nats_url,
        state_dir: args.state_dir,
        mode: match args.mode {
            ModeArg::Mixed => LoadMode::Mixed,
            ModeArg::SingleWindow => LoadMode::SingleWindow,
        },
        clerks: args.clerks,
        reviewers: args.reviewers,
        hotline_rate: args.hotline_rate,
        duration: args.duration,
        drain: args.drain,
        floor,
        floor_connections: args.floor_connections,
        pairs_per_lifecycle: args.pairs_per_lifecycle,
        sweep_interval: args.sweep_interval,
        lang,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!(
                "{}: {err}",
                lang.pick("无法启动运行时", "cannot start the runtime")
            );
            return ExitCode::FAILURE;
        }
    };
    if !cli.json {
        eprintln!(
            "{}",
            lang.pick(
                "正在测量基线并施加负载……",
                "measuring the floor, then running the load…"
            )
        );
    }
    match runtime.block_on(run_lifecycle(&config)) {
        Ok(report) => {
            if cli.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(err) => {
                        eprintln!("{err}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", report.render(lang));
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                text.push_str(&format!(" ← {cause}"));
                source = cause.source();
            }
            eprintln!("{}: {text}", lang.pick("错误", "error"));
            ExitCode::FAILURE
        }
    }
}
