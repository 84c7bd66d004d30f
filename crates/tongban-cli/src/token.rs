//! `tongban token …`: signed bearer tokens for any role, minted with the deployment's key in the
//! state directory (the same key the services verify with).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use serde_json::json;
use tongban_access::auth::{Claims, Role, TokenKeys};

use crate::Ctx;
use crate::error::CliError;

/// `tongban token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// 签发令牌（只在标准输出打印令牌本身）/ mint a token; prints the token alone on stdout.
    Mint {
        /// 角色 / role: clerk, reviewer, hotline, supervisor, carrier, admin, office_head, issuer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// 部门编号 / office id (e.g. 640100-gongan).
        #[arg(long)]
        office: String,
        /// 用户名（默认 <角色>@<部门>）/ user name (default: <role>@<office>).
        #[arg(long)]
        user: Option<String>,
        /// 有效小时数 / hours the token is valid.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=24 * 366))]
        ttl_hours: u64,
        /// 状态目录（存放签名密钥）/ state directory holding the signing key.
        #[arg(long, env = "TONGBAN_STATE_DIR", default_value = "./var/state")]
        state_dir: PathBuf,
    },
}

/// Role names as clap values: the runtime's parser, whose message lists the valid roles.
fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|e| e.to_string())
}

/// Runs a `token` subcommand.
///
/// # Errors
/// [`CliError::Usage`] for an empty office or user, [`CliError::Local`] when the key cannot be
/// loaded or created.
pub fn run(cmd: TokenCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    match cmd {
        TokenCommand::Mint {
            role,
            office,
            user,
            ttl_hours,
            state_dir,
        } => {
            let office = office.trim().to_owned();
            if office.is_empty() {
                return Err(CliError::Usage(
                    lang.pick(("--office 不能为空", "--office must not be empty"))
                        .to_owned(),
                ));
            }
            let user = user
                .map(|u| u.trim().to_owned())
                .unwrap_or_else(|| format!("{role}@{office}"));
            if user.is_empty() {
                return Err(CliError::Usage(
                    lang.pick(("--user 不能为空", "--user must not be empty"))
                        .to_owned(),
                ));
            }
            let keys = TokenKeys::load_or_create(&state_dir).map_err(|e| local(&e, &state_dir))?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            let claims = Claims::new(
                user,
                role,
                office,
                Duration::from_secs(ttl_hours * 3600),
                now,
            );
            let token = keys.mint(&claims).map_err(|e| local(&e, &state_dir))?;
            if ctx.json {
                crate::output::print_json(&json!({
                    "token": token, "user": claims.user, "role": claims.role.as_str(),
                    "office": claims.office, "issued_at": claims.issued_at, "expires_at": claims.expires_at,
                }));
            } else {
                crate::output::out(&format!("{token}\n"));
            }
            Ok(())
        }
    }
}

/// A key error with its cause chain and the state directory it concerns.
fn local(err: &(dyn std::error::Error + 'static), state_dir: &std::path::Path) -> CliError {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(" ← {cause}"));
        source = cause.source();
    }
    CliError::Local(format!("{text} ({})", state_dir.display()))
}
