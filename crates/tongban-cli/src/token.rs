//! `tongban token …`: signed bearer tokens for any role, minted with the deployment's key in the
//! state directory (the same key the services verify with), and their revocation.
//!
//! A token lives at most 12 hours and must name an office the deployment's directory admits
//! (`TONGBAN_DEPLOY_DIR`, as the services read it; see `auth::office_admitted`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use serde_json::json;
use tongban_access::auth::{self, Claims, MAX_TOKEN_LIFETIME_SECS, Role, TokenKeys};
use tongban_domain::reference::ReferenceData;

use crate::Ctx;
use crate::error::CliError;

/// `tongban token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// 签发令牌（只在标准输出打印令牌本身）/ mint a token; prints the token alone on stdout.
    Mint {
        /// 角色 / role: clerk, reviewer, hotline, supervisor, carrier, admin, office_head, issuer, auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// 部门编号 / office id (e.g. 640100-gongan).
        #[arg(long)]
        office: String,
        /// 用户名（默认 <角色>@<部门>）/ user name (default: <role>@<office>).
        #[arg(long)]
        user: Option<String>,
        /// 有效小时数（最多 12）/ hours the token is valid (at most 12).
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=24 * 366))]
        ttl_hours: u64,
        /// 状态目录（存放签名密钥）/ state directory holding the signing key.
        #[arg(long, env = "TONGBAN_STATE_DIR", default_value = "./var/state")]
        state_dir: PathBuf,
        /// 部署目录（机构目录所在）/ deploy directory holding the office directory.
        #[arg(long, env = "TONGBAN_DEPLOY_DIR", default_value = "deploy")]
        deploy_dir: PathBuf,
    },
    /// 吊销令牌（按令牌编号 jti）/ revoke a token by its id (jti); services refuse it at once.
    Revoke {
        /// 令牌编号（32 位十六进制，见 token mint --json 的 token_id）/ token id (32 hex digits,
        /// `token_id` of `token mint --json`).
        token_id: String,
        /// 状态目录（存放吊销列表）/ state directory holding the revocation list.
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
/// [`CliError::Usage`] for an empty office or user, a lifetime over 12 hours, an office not in
/// the directory or a malformed token id; [`CliError::Local`] when the key, the directory or the
/// revocation list cannot be read or written.
pub fn run(cmd: TokenCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    match cmd {
        TokenCommand::Revoke {
            token_id,
            state_dir,
        } => {
            let path = auth::revoke(&state_dir, &token_id).map_err(|e| match e {
                auth::AuthError::BadTokenId(_) => CliError::Usage(e.to_string()),
                other => local(&other, &state_dir),
            })?;
            if ctx.json {
                crate::output::print_json(&json!({
                    "revoked": token_id.trim().to_ascii_lowercase(),
                    "list": path.display().to_string(),
                }));
            } else {
                crate::output::out(&format!(
                    "{}{}\n",
                    lang.pick(("已吊销令牌 ", "revoked token ")),
                    token_id.trim().to_ascii_lowercase()
                ));
            }
            Ok(())
        }
        TokenCommand::Mint {
            role,
            office,
            user,
            ttl_hours,
            state_dir,
            deploy_dir,
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
            let max_hours = MAX_TOKEN_LIFETIME_SECS / 3600;
            if i64::try_from(ttl_hours).map_or(true, |hours| hours > max_hours) {
                return Err(CliError::Usage(format!(
                    "令牌有效期最多 {max_hours} 小时（--ttl-hours {ttl_hours}）/ tokens live at most {max_hours} hours (--ttl-hours {ttl_hours})"
                )));
            }
            let reference = ReferenceData::load(&deploy_dir).map_err(|e| local(&e, &deploy_dir))?;
            if !auth::office_admitted(&reference, role, &office) {
                return Err(CliError::Usage(format!(
                    "机构目录中没有部门 \"{office}\"，无法为其签发{}令牌（{}）；见 tongban catalog offices / office \"{office}\" is not in the directory of {}: no {role} token for it (see tongban catalog offices)",
                    role.label_zh(),
                    deploy_dir.display(),
                    deploy_dir.display(),
                )));
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
                    "token_id": claims.token_id, "key_id": keys.key_id(),
                    "issuer": claims.issuer, "audience": claims.audience,
                }));
            } else {
                crate::output::out(&format!("{token}\n"));
            }
            Ok(())
        }
    }
}

/// A local error with its cause chain and the directory it concerns.
fn local(err: &(dyn std::error::Error + 'static), state_dir: &std::path::Path) -> CliError {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(" ← {cause}"));
        source = cause.source();
    }
    CliError::Local(format!("{text} ({})", state_dir.display()))
}
