//! `tongban-console`: the web console. `tongban-console hash-password` reads a password on
//! standard input and prints its Argon2 hash for the staff accounts file.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tongban_console::{Application, Config, DEFAULT_PORT};

#[derive(Debug, Parser)]
#[command(
    name = "tongban-console",
    about = "通办网上控制台 / the tongban web console"
)]
struct Args {
    /// 监听地址 / address to listen on.
    #[arg(long, env = "TONGBAN_CONSOLE_ADDR", default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    listen: SocketAddr,
    /// 受理服务 / intake service.
    #[arg(
        long,
        env = "TONGBAN_INTAKE_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    intake: String,
    /// 审查服务 / review service.
    #[arg(
        long,
        env = "TONGBAN_REVIEW_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    review: String,
    /// 12345 热线服务 / hotline service.
    #[arg(
        long,
        env = "TONGBAN_HOTLINE_URL",
        default_value = "http://127.0.0.1:50055"
    )]
    hotline: String,
    /// 督办服务 / supervision service.
    #[arg(
        long,
        env = "TONGBAN_SUPERVISION_URL",
        default_value = "http://127.0.0.1:50056"
    )]
    supervision: String,
    /// 状态目录（令牌签名密钥）/ state directory holding the token key.
    #[arg(long, env = "TONGBAN_STATE_DIR", default_value = "./var/state")]
    state_dir: PathBuf,
    /// 验证 https 服务地址的 CA / the CA that https service URLs are verified against.
    #[arg(long, env = "TONGBAN_TLS_CA")]
    tls_ca: Option<PathBuf>,
    /// 部署目录 / deploy directory.
    #[arg(long, env = "TONGBAN_DEPLOY_DIR", default_value = "deploy")]
    deploy_dir: PathBuf,
    /// 工作人员账号文件 / staff accounts (default <deploy>/directory/staff.toml).
    #[arg(long, env = "TONGBAN_CONSOLE_STAFF")]
    staff: Option<PathBuf>,
    /// 会话时长（分钟，最多 720）/ session and token lifetime in minutes (at most 720).
    #[arg(long, env = "TONGBAN_CONSOLE_SESSION_MINUTES", default_value_t = 240, value_parser = clap::value_parser!(u64).range(5..=720))]
    session_minutes: u64,
    /// 会话 Cookie 不加 Secure（仅限本机开发）/ drop `Secure` from the session cookie (local development only).
    #[arg(long, env = "TONGBAN_CONSOLE_INSECURE_COOKIE")]
    insecure_cookie: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 从标准输入读取密码并打印其 Argon2 哈希 / read a password on stdin, print its Argon2 hash.
    HashPassword,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::HashPassword) = args.command {
        let mut password = String::new();
        std::io::stdin().read_to_string(&mut password)?;
        let hash = tongban_console::staff::hash_password(password.trim_end_matches(['\r', '\n']))
            .map_err(anyhow::Error::msg)?;
        println!("{hash}");
        return Ok(());
    }
    let telemetry = tongban_telemetry::init("tongban-console");
    let config = Config {
        listen: args.listen,
        intake_url: args.intake,
        review_url: args.review,
        hotline_url: args.hotline,
        supervision_url: args.supervision,
        staff_file: args
            .staff
            .unwrap_or_else(|| args.deploy_dir.join("directory").join("staff.toml")),
        state_dir: args.state_dir,
        deploy_dir: args.deploy_dir,
        session_ttl: Duration::from_secs(args.session_minutes * 60),
        secure_cookie: !args.insecure_cookie,
        tls_ca: args.tls_ca,
    };
    let app = Application::build(config).await?;
    tracing::info!(port = app.port(), "console listening");
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        signal.cancel();
    });
    #[cfg(unix)]
    {
        let signal = shutdown.clone();
        tokio::spawn(async move {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                term.recv().await;
                signal.cancel();
            }
        });
    }
    let result = app.run_until_stopped(shutdown).await;
    telemetry.shutdown();
    Ok(result?)
}
