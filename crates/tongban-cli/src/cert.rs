//! `tongban cert …`: electronic certificates (电子证照, CertificateService) — verify a token
//! (亮证), show one certificate, issue one (for seeding demo holders), change its status.

use clap::{Subcommand, ValueEnum};
use serde_json::json;
use tongban_proto::certificate::v1::certificate_service_client::CertificateServiceClient;
use tongban_proto::certificate::v1::{
    Certificate, CertificateField, CertificateStatus, GetCertificateRequest,
    IssueCertificateRequest, ListTrustedIssuersRequest, RevokeCertificateRequest,
    RotateIssuerKeyRequest, TrustedIssuer, VerifyCertificateRequest,
};

use crate::Ctx;
use crate::args::{parse_moment, timestamp};
use crate::client::{Answer, Conn, Service};
use crate::error::CliError;
use crate::output::{Lang, time};

/// `tongban cert` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// 核验电子证照（令牌或含令牌的文件）/ verify a certificate token, given as text or a file.
    Verify {
        /// 证照令牌，或含令牌的文件路径 / the token, or a file holding it.
        #[arg(value_name = "TOKEN|FILE")]
        token_or_file: String,
        /// 预期持证人身份证号 / expected holder ID number.
        #[arg(long, default_value = "")]
        holder: String,
        /// 预期证照类型代码 / expected type code.
        #[arg(long = "type", default_value = "")]
        type_code: String,
    },
    /// 查看电子证照（持证人脱敏）/ show one certificate by identifier (holder masked).
    Show {
        /// 证照标识 / identifier.
        identifier: String,
    },
    /// 签发电子证照（发证机关）/ issue a certificate with the token's office key.
    Issue {
        /// 证照类型代码（如 112 居民户口簿、113 结婚证）/ type code.
        #[arg(long = "type")]
        type_code: String,
        /// 持证人姓名 / holder name.
        #[arg(long)]
        name: String,
        /// 持证人身份证号 / holder ID number.
        #[arg(long)]
        id_number: String,
        /// 有效期起（RFC 3339、YYYY-MM-DD 或 now）/ valid from.
        #[arg(long, value_parser = parse_moment)]
        valid_from: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// 有效期止 / valid until.
        #[arg(long, value_parser = parse_moment)]
        valid_until: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// 证照字段 NAME=VALUE，可重复 / typed field, repeatable.
        #[arg(long = "field", value_parser = parse_field)]
        fields: Vec<CertificateField>,
        /// 仅输出令牌 / print the token alone.
        #[arg(long)]
        token_only: bool,
    },
    /// 变更证照状态（暂扣、撤销、注销…）/ change a certificate's status with a reason.
    Revoke {
        /// 证照标识 / identifier.
        identifier: String,
        /// 新状态 / new status.
        #[arg(long, value_enum, default_value = "revoked")]
        status: StatusArg,
        /// 原因 / reason.
        #[arg(long)]
        reason: String,
    },
    /// 轮换发证机关签名密钥（旧密钥仅用于核验，至其所签证照全部到期）/ rotate an office's
    /// signing key (the old key only verifies, until the last certificate it signed expires).
    Rotate {
        /// 机构标识，缺省为令牌所属机构；他机构仅限管理员 / office id; default the token's
        /// office; another office needs the admin role.
        #[arg(long = "office", default_value = "")]
        office: String,
    },
    /// 信任列表（各省根及发证机关）/ the trust list.
    Trust {
        /// 省级代码（两位）/ two-digit province code.
        #[arg(long, default_value = "")]
        province: String,
    },
}

/// A status a certificate may be moved to.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    /// 01 有效 (only from 02 暂扣).
    Valid,
    /// 02 暂扣.
    Suspended,
    /// 03 撤销.
    Revoked,
    /// 04 注销.
    Cancelled,
    /// 05 失效.
    Invalidated,
    /// 06 办理转出.
    TransferredOut,
    /// 07 吊销.
    Withdrawn,
}

impl StatusArg {
    fn to_pb(self) -> CertificateStatus {
        match self {
            StatusArg::Valid => CertificateStatus::Valid,
            StatusArg::Suspended => CertificateStatus::Suspended,
            StatusArg::Revoked => CertificateStatus::Revoked,
            StatusArg::Cancelled => CertificateStatus::Cancelled,
            StatusArg::Invalidated => CertificateStatus::Invalidated,
            StatusArg::TransferredOut => CertificateStatus::TransferredOut,
            StatusArg::Withdrawn => CertificateStatus::Withdrawn,
        }
    }
}

fn parse_field(spec: &str) -> Result<CertificateField, String> {
    match spec.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok(CertificateField {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
        }),
        _ => Err("应为 字段名=值 / expected NAME=VALUE".to_owned()),
    }
}

/// `01 有效` / `01 valid`.
fn status_text(lang: Lang, status: i32) -> String {
    let (code, zh, en) = match CertificateStatus::try_from(status) {
        Ok(CertificateStatus::Valid) => ("01", "有效", "valid"),
        Ok(CertificateStatus::Suspended) => ("02", "暂扣", "suspended"),
        Ok(CertificateStatus::Revoked) => ("03", "撤销", "revoked"),
        Ok(CertificateStatus::Cancelled) => ("04", "注销", "cancelled"),
        Ok(CertificateStatus::Invalidated) => ("05", "失效", "invalidated"),
        Ok(CertificateStatus::TransferredOut) => ("06", "办理转出", "transferred out"),
        Ok(CertificateStatus::Withdrawn) => ("07", "吊销", "withdrawn"),
        _ => ("--", "未知", "unknown"),
    };
    format!("{code} {}", lang.pick_text(zh, en))
}

fn certificate_json(c: &Certificate) -> serde_json::Value {
    json!({
        "identifier": c.identifier,
        "type_code": c.type_code,
        "type_name": c.type_name,
        "holder_name": c.holder_name,
        "holder_id_number": c.holder_id_number,
        "issuer_office_id": c.issuer_office_id,
        "issuer_name": c.issuer_name,
        "issuer_credit_code": c.issuer_credit_code,
        "status": status_text(Lang::En, c.status),
        "valid_from": time(c.valid_from.as_ref()),
        "valid_until": time(c.valid_until.as_ref()),
        "issued_at": time(c.issued_at.as_ref()),
        "key_id": c.key_id,
        "fields": c.fields.iter().map(|f| json!({"name": f.name, "value": f.value})).collect::<Vec<_>>(),
    })
}

fn certificate_view(lang: Lang, c: &Certificate) -> String {
    let l = |zh, en| lang.pick_text(zh, en);
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        out.push_str(&format!("{label}{}{value}\n", lang.colon()));
    };
    line(l("证照标识", "identifier"), &c.identifier);
    line(
        l("证照类型", "type"),
        &format!("{} {}", c.type_code, c.type_name),
    );
    line(
        l("持证人", "holder"),
        &format!("{} {}", c.holder_name, c.holder_id_number),
    );
    line(
        l("颁发机构", "issuer"),
        &format!(
            "{} ({}, {})",
            c.issuer_name, c.issuer_office_id, c.issuer_credit_code
        ),
    );
    line(l("状态", "status"), &status_text(lang, c.status));
    line(
        l("有效期", "validity"),
        &format!(
            "{} — {}",
            time(c.valid_from.as_ref()),
            time(c.valid_until.as_ref())
        ),
    );
    for f in &c.fields {
        line(&f.name, &f.value);
    }
    line(l("签名密钥", "key id"), &c.key_id);
    out
}

/// A trust-list issuer as JSON.
fn issuer_json(i: &TrustedIssuer) -> serde_json::Value {
    json!({
        "office_id": i.office_id,
        "name": i.name,
        "credit_code": i.credit_code,
        "province": i.province,
        "key_id": i.key_id,
        "valid_until": i.valid_until.as_ref().map(|t| time(Some(t))),
    })
}

async fn client(ctx: &Ctx) -> Result<CertificateServiceClient<Conn>, CliError> {
    Ok(CertificateServiceClient::new(
        ctx.conn(Service::Certificate).await?,
    ))
}

/// The token given on the command line, or read from the file it names.
fn token_of(arg: &str, lang: Lang) -> Result<String, CliError> {
    let path = std::path::Path::new(arg);
    if path.is_file() {
        std::fs::read_to_string(path)
            .map(|t| t.trim().to_owned())
            .map_err(|e| {
                CliError::Usage(format!(
                    "{} {arg}: {e}",
                    lang.pick_text("无法读取文件", "cannot read file")
                ))
            })
    } else {
        Ok(arg.trim().to_owned())
    }
}

/// Runs a `cert` subcommand.
///
/// # Errors
/// The service cannot be reached or refuses; a bad argument. A certificate that does not
/// verify is an error too (exit code 1), so scripts can test it.
pub async fn run(cmd: CertCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let rpc = CliError::rpc(Service::Certificate);
    match cmd {
        CertCommand::Verify {
            token_or_file,
            holder,
            type_code,
        } => {
            let v = client(ctx)
                .await?
                .verify_certificate(VerifyCertificateRequest {
                    token: token_of(&token_or_file, lang)?,
                    expected_holder_id_number: holder,
                    expected_type: type_code,
                })
                .answer(rpc)
                .await?;
            let failures: Vec<String> = v.failures().map(|f| f.as_str_name().to_owned()).collect();
            ctx.emit(
                json!({
                    "valid": v.valid,
                    "failures": failures,
                    "certificate": v.certificate.as_ref().map(certificate_json),
                }),
                || {
                    let mut out = if v.valid {
                        format!("{}\n", lang.pick_text("✔ 核验通过", "✔ valid"))
                    } else {
                        format!(
                            "{}{}{}\n",
                            lang.pick_text("✘ 核验未通过", "✘ not valid"),
                            lang.colon(),
                            failures.join(", ")
                        )
                    };
                    if let Some(c) = &v.certificate {
                        out.push_str(&certificate_view(lang, c));
                    }
                    out
                },
            );
            if !v.valid {
                return Err(CliError::Local(
                    lang.pick_text("电子证照核验未通过", "the certificate is not valid")
                        .to_owned(),
                ));
            }
        }
        CertCommand::Show { identifier } => {
            let c = client(ctx)
                .await?
                .get_certificate(GetCertificateRequest {
                    identifier: identifier.trim().to_owned(),
                })
                .answer(rpc)
                .await?;
            ctx.emit(certificate_json(&c), || certificate_view(lang, &c));
        }
        CertCommand::Issue {
            type_code,
            name,
            id_number,
            valid_from,
            valid_until,
            fields,
            token_only,
        } => {
            let issued = client(ctx)
                .await?
                .issue_certificate(IssueCertificateRequest {
                    type_code,
                    holder_name: name,
                    holder_id_number: id_number,
                    valid_from: valid_from.as_ref().map(timestamp),
                    valid_until: valid_until.as_ref().map(timestamp),
                    fields,
                    case_id: String::new(),
                })
                .answer(rpc)
                .await?;
            if token_only {
                crate::output::out(&format!("{}\n", issued.token));
            } else {
                ctx.emit(
                    json!({
                        "certificate": issued.certificate.as_ref().map(certificate_json),
                        "token": issued.token,
                    }),
                    || {
                        let mut out = issued
                            .certificate
                            .as_ref()
                            .map(|c| certificate_view(lang, c))
                            .unwrap_or_default();
                        out.push_str(&format!(
                            "{}{}{}\n",
                            lang.pick_text("证照令牌", "token"),
                            lang.colon(),
                            issued.token
                        ));
                        out
                    },
                );
            }
        }
        CertCommand::Revoke {
            identifier,
            status,
            reason,
        } => {
            let c = client(ctx)
                .await?
                .revoke_certificate(RevokeCertificateRequest {
                    identifier: identifier.trim().to_owned(),
                    status: status.to_pb().into(),
                    reason,
                })
                .answer(rpc)
                .await?;
            ctx.emit(certificate_json(&c), || certificate_view(lang, &c));
        }
        CertCommand::Rotate { office } => {
            let rotated = client(ctx)
                .await?
                .rotate_issuer_key(RotateIssuerKeyRequest { office_id: office })
                .answer(rpc)
                .await?;
            ctx.emit(
                json!({
                    "current": rotated.current.as_ref().map(issuer_json),
                    "previous": rotated.previous.as_ref().map(issuer_json),
                }),
                || {
                    let mut out = String::new();
                    if let Some(c) = &rotated.current {
                        out.push_str(&format!(
                            "{}{}{} {}  {}\n",
                            lang.pick_text("✔ 新签名密钥", "✔ new signing key"),
                            lang.colon(),
                            c.office_id,
                            c.name,
                            c.key_id
                        ));
                    }
                    if let Some(p) = &rotated.previous {
                        out.push_str(&format!(
                            "{}{}{}  {} {}\n",
                            lang.pick_text(
                                "  原密钥（仅用于核验）",
                                "  previous key (verification only)"
                            ),
                            lang.colon(),
                            p.key_id,
                            lang.pick_text("有效至", "valid until"),
                            time(p.valid_until.as_ref())
                        ));
                    }
                    out
                },
            );
        }
        CertCommand::Trust { province } => {
            let list = client(ctx)
                .await?
                .list_trusted_issuers(ListTrustedIssuersRequest { province })
                .answer(rpc)
                .await?;
            ctx.emit(
                json!({
                    "roots": list.roots.iter().map(|r| json!({"province": r.province, "key_id": r.key_id, "public_key": r.public_key})).collect::<Vec<_>>(),
                    "issuers": list.issuers.iter().map(issuer_json).collect::<Vec<_>>(),
                }),
                || {
                    let mut out = String::new();
                    for r in &list.roots {
                        out.push_str(&format!(
                            "{} {}  {}\n",
                            lang.pick_text("省级根", "root"),
                            r.province,
                            r.key_id
                        ));
                    }
                    for i in &list.issuers {
                        let retired = i
                            .valid_until
                            .as_ref()
                            .map(|t| {
                                format!(
                                    "  ({} {})",
                                    lang.pick_text("仅核验，至", "verification only, until"),
                                    time(Some(t))
                                )
                            })
                            .unwrap_or_default();
                        out.push_str(&format!(
                            "  {} {} {}  {}{retired}\n",
                            i.office_id, i.name, i.credit_code, i.key_id
                        ));
                    }
                    out
                },
            );
        }
    }
    Ok(())
}
