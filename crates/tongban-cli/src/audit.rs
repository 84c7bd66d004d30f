//! `tongban audit …`: the auditor's (审计人员) commands on each service's
//! `tongban.ops.v1.AuditService`. Auditor token required (`seal` also takes an admin token).
//!
//! `audit verify` does the verification here, in the client, not in the service: it pages
//! through a service's whole chain and its signed checkpoints over gRPC and recomputes every
//! hash with `tongban_cert::audit_chain`, checking each checkpoint's SM2 signature against the
//! service's public key pinned in the state directory (`audit-<service>.pub`). A service that
//! was tampered with cannot vouch for itself; the CLI links no database driver.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::json;
use tongban_cert::audit_chain::{self, ChainEntry, Checkpoint, Finding, Report, StoredEntry};
use tongban_cert::keys::PublicKey;
use tongban_proto::ops::v1::audit_service_client::AuditServiceClient;
use tongban_proto::ops::v1::{
    AuditCheckpoint, AuditEntry, ListAuditChainRequest, ListAuditCheckpointsRequest,
    ListAuditEntriesRequest, SealAuditRequest,
};

use crate::Ctx;
use crate::client::{Answer, Service};
use crate::error::CliError;
use crate::ops::ServiceArg;
use crate::output::{self, Lang, Table};

/// Entries asked for per page.
const PAGE: u32 = 1000;

/// `tongban audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// 校验审计链：重算各服务的哈希链并核对已签名检查点，指出第一条被篡改或缺失的记录 /
    /// verify the audit chains: recompute each service's hash chain, check its signed
    /// checkpoints, and name the first altered or missing entry.
    Verify {
        /// 服务（不填则校验全部服务）/ service (every service when omitted).
        #[arg(long, value_enum)]
        service: Option<ServiceArg>,
        /// 校验前先对当前链头签名检查点 / have each service sign a checkpoint of its head first.
        #[arg(long)]
        seal: bool,
        /// 固定公钥所在目录（audit-<服务>.pub）/ directory with the pinned public keys
        /// (audit-<service>.pub).
        #[arg(long, env = "TONGBAN_STATE_DIR", default_value = "./var/state")]
        state_dir: PathBuf,
    },
    /// 某办件在各服务的审计记录，按时间排列 / the audit entries of one case in every service,
    /// in time order.
    Case {
        /// 办件 ID（UUID）/ case id (UUID).
        case_id: String,
        /// 服务（不填则查询全部服务）/ service (every service when omitted).
        #[arg(long, value_enum)]
        service: Option<ServiceArg>,
    },
    /// 立即对链头签名检查点 / sign a checkpoint of the chain's head now.
    Seal {
        /// 服务（不填则全部服务）/ service (every service when omitted).
        #[arg(long, value_enum)]
        service: Option<ServiceArg>,
    },
}

const ALL: [Service; 6] = [
    Service::Intake,
    Service::Review,
    Service::Certificate,
    Service::Logistics,
    Service::Hotline,
    Service::Supervision,
];

fn services(one: Option<ServiceArg>) -> Vec<Service> {
    match one {
        Some(one) => vec![one.into()],
        None => ALL.to_vec(),
    }
}

async fn client(
    ctx: &Ctx,
    service: Service,
) -> Result<AuditServiceClient<crate::client::Conn>, CliError> {
    Ok(AuditServiceClient::new(ctx.conn(service).await?))
}

/// What verifying one service's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The service.
    pub service: Service,
    /// Whether a pinned public key was found and used.
    pub pinned: bool,
    /// The verification report.
    pub report: Report,
    /// Entries not yet chained are not counted; this is the chain's length as read.
    pub chain_len: usize,
}

/// Reads `service`'s pinned audit key from `state_dir`, if the file is there.
///
/// # Errors
/// The file exists but holds no SM2 public key.
pub fn pinned_key(state_dir: &Path, service: Service) -> Result<Option<PublicKey>, CliError> {
    let path = state_dir.join(format!("audit-{}.pub", service.name()));
    match std::fs::read_to_string(&path) {
        Ok(text) => PublicKey::from_hex(text.trim())
            .map(Some)
            .map_err(|err| CliError::Local(format!("{}: {err}", path.display()))),
        Err(_) => Ok(None),
    }
}

fn stored_entry(entry: &AuditEntry) -> StoredEntry {
    StoredEntry {
        entry: ChainEntry {
            seq: entry.seq,
            audit_id: entry.audit_id,
            at_micros: entry.at_micros,
            actor: entry.actor.clone(),
            role: entry.role.clone(),
            office_id: entry.office_id.clone(),
            action: entry.action.clone(),
            entity: entry.entity.clone(),
            entity_id: entry.entity_id.clone(),
            case_id: entry.case_id.clone(),
            before: entry.before.clone(),
            after: entry.after.clone(),
        },
        // A hash of the wrong size can never match: it is reported as an altered entry.
        stored_hash: entry
            .hash
            .as_slice()
            .try_into()
            .unwrap_or([0xff; audit_chain::HASH_LEN]),
        present: entry.present,
    }
}

fn checkpoint(cp: &AuditCheckpoint) -> Checkpoint {
    Checkpoint {
        service: cp.service.clone(),
        seq: cp.seq,
        // A head of the wrong size cannot match the recomputed chain.
        head_hash: cp
            .head_hash
            .as_slice()
            .try_into()
            .unwrap_or([0xff; audit_chain::HASH_LEN]),
        at_micros: cp.at_micros,
        key_id: cp.key_id.clone(),
        public_key: cp.public_key.clone(),
        signature: cp.signature.clone(),
    }
}

/// Verifies `service`'s chain: optionally seals it first, pages through every entry and
/// checkpoint, and recomputes the chain, pinning the key from `state_dir` when present.
///
/// # Errors
/// The service cannot be reached or refuses (an auditor token is needed), or the pinned key
/// file is unreadable.
pub async fn verify_service(
    ctx: &Ctx,
    service: Service,
    state_dir: &Path,
    seal: bool,
) -> Result<Verdict, CliError> {
    let pinned = pinned_key(state_dir, service)?;
    let mut audit = client(ctx, service).await?;
    if seal {
        audit
            .seal_audit(SealAuditRequest {})
            .answer(CliError::rpc(service))
            .await?;
    }
    let mut checkpoints = Vec::new();
    let mut token = String::new();
    loop {
        let page = audit
            .list_audit_checkpoints(ListAuditCheckpointsRequest {
                page_token: token,
                page_size: PAGE,
            })
            .answer(CliError::rpc(service))
            .await?;
        checkpoints.extend(page.checkpoints.iter().map(checkpoint));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut entries = Vec::new();
    let mut token = String::new();
    loop {
        let page = audit
            .list_audit_chain(ListAuditChainRequest {
                page_token: token,
                page_size: PAGE,
            })
            .answer(CliError::rpc(service))
            .await?;
        entries.extend(page.entries.iter().map(stored_entry));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let report = audit_chain::verify(&entries, &checkpoints, pinned.as_ref());
    Ok(Verdict {
        service,
        pinned: pinned.is_some(),
        report,
        chain_len: entries.len(),
    })
}

/// The finding in `lang`.
#[must_use]
pub fn finding_text(lang: Lang, finding: &Finding) -> String {
    match (lang, finding) {
        (Lang::Zh, Finding::Altered { seq, audit_id }) => {
            format!("第 {seq} 条记录（审计记录号 {audit_id}）已被篡改")
        }
        (Lang::En, Finding::Altered { seq, audit_id }) => {
            format!("entry {seq} (audit row {audit_id}) was altered")
        }
        (
            Lang::Zh,
            Finding::Missing {
                seq,
                audit_id: Some(id),
            },
        ) => {
            format!("第 {seq} 条记录（审计记录号 {id}）已被删除")
        }
        (
            Lang::En,
            Finding::Missing {
                seq,
                audit_id: Some(id),
            },
        ) => {
            format!("entry {seq} (audit row {id}) is missing: its row was deleted")
        }
        (
            Lang::Zh,
            Finding::Missing {
                seq,
                audit_id: None,
            },
        ) => {
            format!("链中缺少第 {seq} 条记录")
        }
        (
            Lang::En,
            Finding::Missing {
                seq,
                audit_id: None,
            },
        ) => {
            format!("entry {seq} is missing from the chain")
        }
        (
            Lang::Zh,
            Finding::CheckpointMismatch {
                from_seq,
                checkpoint_seq,
            },
        ) => format!(
            "第 {from_seq}–{checkpoint_seq} 条记录与第 {checkpoint_seq} 条处的已签名检查点不符（记录及其哈希均被改写）"
        ),
        (
            Lang::En,
            Finding::CheckpointMismatch {
                from_seq,
                checkpoint_seq,
            },
        ) => format!(
            "entries {from_seq}–{checkpoint_seq} disagree with the signed checkpoint at {checkpoint_seq} (entries and hashes were rewritten)"
        ),
        (Lang::Zh, Finding::BadSignature { checkpoint_seq }) => {
            format!("第 {checkpoint_seq} 条处的检查点签名无效")
        }
        (Lang::En, Finding::BadSignature { checkpoint_seq }) => {
            format!("the checkpoint at entry {checkpoint_seq} has an invalid signature")
        }
        (
            Lang::Zh,
            Finding::UnknownKey {
                checkpoint_seq,
                key_id,
            },
        ) => {
            format!("第 {checkpoint_seq} 条处的检查点由非固定密钥 {key_id} 签名")
        }
        (
            Lang::En,
            Finding::UnknownKey {
                checkpoint_seq,
                key_id,
            },
        ) => format!(
            "the checkpoint at entry {checkpoint_seq} is signed by {key_id}, not the pinned key"
        ),
    }
}

fn finding_json(finding: &Finding) -> serde_json::Value {
    match finding {
        Finding::Altered { seq, audit_id } => {
            json!({"kind": "altered", "seq": seq, "audit_id": audit_id})
        }
        Finding::Missing { seq, audit_id } => {
            json!({"kind": "missing", "seq": seq, "audit_id": audit_id})
        }
        Finding::CheckpointMismatch {
            from_seq,
            checkpoint_seq,
        } => {
            json!({"kind": "checkpoint_mismatch", "from_seq": from_seq, "checkpoint_seq": checkpoint_seq})
        }
        Finding::BadSignature { checkpoint_seq } => {
            json!({"kind": "bad_signature", "checkpoint_seq": checkpoint_seq})
        }
        Finding::UnknownKey {
            checkpoint_seq,
            key_id,
        } => {
            json!({"kind": "unknown_key", "checkpoint_seq": checkpoint_seq, "key_id": key_id})
        }
    }
}

/// One verdict as JSON.
#[must_use]
pub fn verdict_json(verdict: &Verdict) -> serde_json::Value {
    json!({
        "service": verdict.service.name(),
        "ok": verdict.report.finding.is_none(),
        "entries": verdict.chain_len,
        "verified": verdict.report.entries,
        "checkpoints": verdict.report.checkpoints_ok,
        "sealed_seq": verdict.report.sealed_seq,
        "pinned_key": verdict.pinned,
        "finding": verdict.report.finding.as_ref().map(finding_json),
    })
}

/// One line per service.
#[must_use]
pub fn verdicts_view(lang: Lang, verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for v in verdicts {
        let title = lang.pick(v.service.title());
        let line = match &v.report.finding {
            None => match lang {
                Lang::Zh => format!(
                    "{title}：审计链完好，共 {} 条，已由 {} 个签名检查点封存至第 {} 条",
                    v.report.entries, v.report.checkpoints_ok, v.report.sealed_seq
                ),
                Lang::En => format!(
                    "{title}: audit chain intact, {} entries, sealed up to entry {} by {} signed checkpoints",
                    v.report.entries, v.report.sealed_seq, v.report.checkpoints_ok
                ),
            },
            Some(finding) => format!(
                "{title}{}{}{}",
                lang.colon(),
                lang.pick(("审计链被篡改：", "audit chain TAMPERED: ")),
                finding_text(lang, finding)
            ),
        };
        out.push_str(&line);
        if !v.pinned {
            out.push_str(lang.pick((
                "（未找到固定公钥，检查点按其自带公钥核验）",
                " (no pinned public key found; checkpoints checked with the key they carry)",
            )));
        }
        out.push('\n');
    }
    out
}

/// One entry as JSON.
#[must_use]
pub fn entry_json(entry: &AuditEntry) -> serde_json::Value {
    let parse = |text: &str| -> serde_json::Value {
        serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
    };
    json!({
        "service": entry.service,
        "seq": entry.seq,
        "audit_id": entry.audit_id,
        "at": output::rfc3339(entry.at.as_ref()),
        "actor": entry.actor,
        "role": entry.role,
        "office_id": entry.office_id,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "case_id": entry.case_id,
        "before": parse(&entry.before),
        "after": parse(&entry.after),
        "hash": tongban_domain::hex::encode(&entry.hash),
    })
}

/// The entries as a table.
#[must_use]
pub fn entries_view(lang: Lang, entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return format!("{}\n", lang.pick(("没有审计记录。", "No audit entries.")));
    }
    let header = [
        ("时间", "When"),
        ("服务", "Service"),
        ("链序号", "Seq"),
        ("操作人", "Actor"),
        ("角色", "Role"),
        ("单位", "Office"),
        ("动作", "Action"),
        ("对象", "Entity"),
    ];
    let mut table = Table::new(header.iter().map(|pair| lang.pick(*pair)));
    for e in entries {
        table.row([
            output::time(e.at.as_ref()),
            e.service.clone(),
            if e.seq == 0 {
                lang.pick(("待入链", "pending")).to_owned()
            } else {
                e.seq.to_string()
            },
            e.actor.clone(),
            e.role.clone(),
            if e.office_id.is_empty() {
                "—".to_owned()
            } else {
                e.office_id.clone()
            },
            e.action.clone(),
            format!("{} {}", e.entity, e.entity_id),
        ]);
    }
    table.render(0)
}

/// Every audit entry of case `case_id` in `services`, merged in time order (then by service and
/// row id).
///
/// # Errors
/// A service cannot be reached or refuses the request.
pub async fn case_entries(
    ctx: &Ctx,
    case_id: &str,
    services: &[Service],
) -> Result<Vec<AuditEntry>, CliError> {
    let mut all = Vec::new();
    for service in services {
        let mut audit = client(ctx, *service).await?;
        let mut token = String::new();
        loop {
            let page = audit
                .list_audit_entries(ListAuditEntriesRequest {
                    case_id: case_id.trim().to_owned(),
                    page_token: token,
                    page_size: PAGE,
                })
                .answer(CliError::rpc(*service))
                .await?;
            all.extend(page.entries);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
    }
    all.sort_by(|a, b| {
        (a.at_micros, &a.service, a.audit_id).cmp(&(b.at_micros, &b.service, b.audit_id))
    });
    Ok(all)
}

/// Runs an `audit` subcommand.
///
/// # Errors
/// A service cannot be reached or refuses the request; for `verify`, also a chain that does
/// not verify (after every service was reported).
pub async fn run(cmd: AuditCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    match cmd {
        AuditCommand::Verify {
            service,
            seal,
            state_dir,
        } => {
            let mut verdicts = Vec::new();
            for service in services(service) {
                verdicts.push(verify_service(ctx, service, &state_dir, seal).await?);
            }
            ctx.emit(
                json!({"services": verdicts.iter().map(verdict_json).collect::<Vec<_>>()}),
                || verdicts_view(lang, &verdicts),
            );
            let tampered = verdicts
                .iter()
                .filter(|v| v.report.finding.is_some())
                .count();
            if tampered > 0 {
                return Err(CliError::Local(match lang {
                    Lang::Zh => format!("{tampered} 个服务的审计链未通过校验"),
                    Lang::En => {
                        format!("the audit chain of {tampered} service(s) failed verification")
                    }
                }));
            }
        }
        AuditCommand::Case { case_id, service } => {
            let entries = case_entries(ctx, &case_id, &services(service)).await?;
            ctx.emit(
                json!({"entries": entries.iter().map(entry_json).collect::<Vec<_>>()}),
                || entries_view(lang, &entries),
            );
        }
        AuditCommand::Seal { service } => {
            let mut sealed = Vec::new();
            for service in services(service) {
                let r = client(ctx, service)
                    .await?
                    .seal_audit(SealAuditRequest {})
                    .answer(CliError::rpc(service))
                    .await?;
                sealed.push((service, r));
            }
            ctx.emit(
                json!({"sealed": sealed.iter().map(|(s, r)| json!({
                    "service": s.name(),
                    "signed": r.signed,
                    "seq": r.checkpoint.as_ref().map(|c| c.seq),
                    "key_id": r.checkpoint.as_ref().map(|c| c.key_id.clone()),
                })).collect::<Vec<_>>()}),
                || {
                    let mut out = String::new();
                    for (s, r) in &sealed {
                        let title = lang.pick(s.title());
                        let line = match (&r.checkpoint, r.signed, lang) {
                            (None, _, Lang::Zh) => format!("{title}：审计链为空，无需签名"),
                            (None, _, Lang::En) => format!("{title}: the audit chain is empty"),
                            (Some(c), true, Lang::Zh) => format!(
                                "{title}：已签名检查点，封存至第 {} 条（{}）",
                                c.seq, c.key_id
                            ),
                            (Some(c), true, Lang::En) => format!(
                                "{title}: checkpoint signed up to entry {} ({})",
                                c.seq, c.key_id
                            ),
                            (Some(c), false, Lang::Zh) => {
                                format!("{title}：链头未变，最新检查点在第 {} 条", c.seq)
                            }
                            (Some(c), false, Lang::En) => format!(
                                "{title}: head unchanged; latest checkpoint at entry {}",
                                c.seq
                            ),
                        };
                        out.push_str(&line);
                        out.push('\n');
                    }
                    out
                },
            );
        }
    }
    Ok(())
}
