//! Command-line values that map onto proto types, parsed by clap so that a mistake is a usage
//! error (exit code 2) naming the flag.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use tongban_proto::common::v1::{
    ChecklistItem, DeliveryMethod, MaterialForm, Mode, PresentedMaterial, Scope,
};
use tongban_proto::review::v1::AssignmentState;

use crate::output::shanghai;

/// `--scope` of `catalog list` and `supervise alerts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    /// 本地办理.
    #[value(name = "local")]
    Local,
    /// 跨省通办.
    #[value(name = "cross_province", alias = "cross-province")]
    CrossProvince,
    /// 全省通办.
    #[value(name = "province_wide", alias = "province-wide")]
    ProvinceWide,
    /// 区域通办.
    #[value(name = "regional")]
    Regional,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Local => Scope::Local,
            ScopeArg::CrossProvince => Scope::CrossProvince,
            ScopeArg::ProvinceWide => Scope::ProvinceWide,
            ScopeArg::Regional => Scope::Regional,
        }
    }
}

/// `--from` / `--to` of a period (Asia/Shanghai unless an offset is given); what the period
/// is of (acceptance, completion, rating) is the command's to say.
#[derive(Debug, clap::Args)]
pub struct Period {
    /// 起始时间（含）/ from (inclusive): now, RFC 3339, "YYYY-MM-DD HH:MM" or "YYYY-MM-DD".
    #[arg(long, value_parser = parse_moment)]
    from: Option<DateTime<FixedOffset>>,
    /// 截止时间（不含）/ to (exclusive).
    #[arg(long, value_parser = parse_moment)]
    to: Option<DateTime<FixedOffset>>,
}

impl Period {
    /// The period's two ends as proto timestamps; `None` for an open end.
    pub fn bounds(
        &self,
    ) -> (
        Option<prost_types::Timestamp>,
        Option<prost_types::Timestamp>,
    ) {
        (
            self.from.as_ref().map(timestamp),
            self.to.as_ref().map(timestamp),
        )
    }
}

/// `--mode` of `window submit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// 全程网办.
    Online,
    /// 异地代收代办.
    Proxy,
    /// 多地联办.
    Joint,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Online => Mode::Online,
            ModeArg::Proxy => Mode::Proxy,
            ModeArg::Joint => Mode::Joint,
        }
    }
}

/// `--delivery` of `window submit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeliveryArg {
    /// 窗口领取.
    Window,
    /// 邮寄 (give `--address`).
    Mail,
    /// 电子证照.
    Ecert,
}

impl From<DeliveryArg> for DeliveryMethod {
    fn from(d: DeliveryArg) -> Self {
        match d {
            DeliveryArg::Window => DeliveryMethod::WindowPickup,
            DeliveryArg::Mail => DeliveryMethod::Mail,
            DeliveryArg::Ecert => DeliveryMethod::ECertificate,
        }
    }
}

/// `--state` of `office inbox`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    /// 待认领.
    Routed,
    /// 审查中.
    Claimed,
    /// 待补正.
    #[value(name = "supplement_requested", alias = "supplement-requested")]
    SupplementRequested,
    /// 已补正.
    Supplemented,
    /// 已决定.
    Decided,
    /// 待前序环节办结 (多地联办: the part waits for earlier parts).
    Waiting,
    /// 已取消 (多地联办: another part was denied first).
    Cancelled,
}

impl From<StateArg> for AssignmentState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Routed => AssignmentState::Routed,
            StateArg::Claimed => AssignmentState::Claimed,
            StateArg::SupplementRequested => AssignmentState::SupplementRequested,
            StateArg::Supplemented => AssignmentState::Supplemented,
            StateArg::Decided => AssignmentState::Decided,
            StateArg::Waiting => AssignmentState::Waiting,
            StateArg::Cancelled => AssignmentState::Cancelled,
        }
    }
}

/// `--material CODE:FORM[:SHA256[:PAGES]]`, FORM `electronic` or `paper`.
///
/// # Errors
/// A message naming what is wrong (shown by clap as a usage error).
pub fn parse_material(spec: &str) -> Result<PresentedMaterial, String> {
    let mut parts = spec.split(':');
    let code = parts.next().unwrap_or_default().trim();
    if code.is_empty() {
        return Err("材料代码为空 / empty material code (CODE:FORM[:SHA256[:PAGES]])".to_owned());
    }
    let form = match parts.next().map(str::trim) {
        Some("electronic" | "e") => MaterialForm::Electronic,
        Some("paper" | "p") => MaterialForm::Paper,
        Some(other) => {
            return Err(format!(
                "材料形式应为 electronic 或 paper，而不是 \"{other}\" / form must be electronic or paper, not \"{other}\""
            ));
        }
        None => return Err("缺少材料形式 / missing form (CODE:FORM[:SHA256[:PAGES]])".to_owned()),
    };
    let sha256 = parts
        .next()
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let pages = match parts.next().map(str::trim) {
        Some(p) if !p.is_empty() => p.parse::<u32>().map_err(|_| {
            format!("页数应为非负整数：\"{p}\" / pages must be a whole number: \"{p}\"")
        })?,
        _ => 0,
    };
    if parts.next().is_some() {
        return Err("多余的字段 / too many fields (CODE:FORM[:SHA256[:PAGES]])".to_owned());
    }
    Ok(PresentedMaterial {
        material_code: code.to_owned(),
        form: form as i32,
        certificate_token: String::new(),
        sha256,
        pages,
        ..Default::default()
    })
}

/// `--certificate CODE:TOKEN`: an e-certificate (电子证照) presented instead of a material.
///
/// # Errors
/// A message naming what is wrong.
pub fn parse_certificate(spec: &str) -> Result<PresentedMaterial, String> {
    match spec.split_once(':') {
        Some((code, token)) if !code.trim().is_empty() && !token.trim().is_empty() => {
            Ok(PresentedMaterial {
                material_code: code.trim().to_owned(),
                form: MaterialForm::Certificate as i32,
                certificate_token: token.trim().to_owned(),
                sha256: String::new(),
                pages: 0,
                ..Default::default()
            })
        }
        _ => Err("应为 材料代码:证照令牌 / expected CODE:TOKEN".to_owned()),
    }
}

/// `--check CODE=pass|fail[:NOTE]`: one 审查要点 outcome.
///
/// # Errors
/// A message naming what is wrong.
pub fn parse_check(spec: &str) -> Result<ChecklistItem, String> {
    let Some((code, rest)) = spec.split_once('=') else {
        return Err("应为 要点代码=pass|fail[:备注] / expected CODE=pass|fail[:NOTE]".to_owned());
    };
    let (verdict, note) = rest.split_once(':').unwrap_or((rest, ""));
    let passed = match verdict.trim() {
        "pass" | "passed" | "ok" | "通过" => true,
        "fail" | "failed" | "不通过" => false,
        other => {
            return Err(format!(
                "\"{other}\" 应为 pass 或 fail / \"{other}\" must be pass or fail"
            ));
        }
    };
    if code.trim().is_empty() {
        return Err("要点代码为空 / empty review point code".to_owned());
    }
    Ok(ChecklistItem {
        review_point_code: code.trim().to_owned(),
        passed,
        note: note.trim().to_owned(),
    })
}

/// `--from`: `now`, RFC 3339 (`2026-09-30T10:00:00+08:00`), or a date/time in Asia/Shanghai
/// (`2026-09-30 10:00`, `2026-09-30`).
///
/// # Errors
/// A message with the accepted forms.
pub fn parse_moment(spec: &str) -> Result<DateTime<FixedOffset>, String> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("now") {
        return Ok(Utc::now().with_timezone(&shanghai()));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(spec) {
        return Ok(at);
    }
    let local = NaiveDateTime::parse_from_str(spec, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(spec, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            NaiveDate::parse_from_str(spec, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN))
        });
    local
        .ok()
        .and_then(|naive| naive.and_local_timezone(shanghai()).single())
        .ok_or_else(|| {
            format!(
                "无法识别的时间 \"{spec}\"：可用 now、RFC 3339 或 \"YYYY-MM-DD HH:MM\"（北京时间） / \
                 unrecognised time \"{spec}\": use now, RFC 3339 or \"YYYY-MM-DD HH:MM\" (Asia/Shanghai)"
            )
        })
}

/// A moment from [`parse_moment`] as a protobuf timestamp, in whole seconds.
pub fn timestamp(at: &DateTime<FixedOffset>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// True when `s` is a UUID (a case id) rather than a case number.
pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s.trim()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn materials_parse_with_optional_parts() {
        let m = parse_material("id_card:paper").unwrap();
        assert_eq!(
            (m.material_code.as_str(), m.form, m.pages),
            ("id_card", MaterialForm::Paper as i32, 0)
        );
        let sha = "AB".repeat(32);
        let m = parse_material(&format!("photo:electronic:{sha}:3")).unwrap();
        assert_eq!(m.sha256, "ab".repeat(32));
        assert_eq!(m.pages, 3);
        assert!(parse_material("photo").is_err());
        assert!(parse_material("photo:fax").is_err());
        assert!(parse_material(":paper").is_err());
        assert!(parse_material("a:paper:x:many").is_err());
        assert!(parse_material("a:paper:x:1:extra").is_err());
    }

    #[test]
    fn certificates_keep_colons_in_the_token() {
        let c = parse_certificate("hukou:tb.cert:abc").unwrap();
        assert_eq!(c.material_code, "hukou");
        assert_eq!(c.certificate_token, "tb.cert:abc");
        assert_eq!(c.form, MaterialForm::Certificate as i32);
        assert!(parse_certificate("hukou").is_err());
        assert!(parse_certificate("hukou:").is_err());
    }

    #[test]
    fn checks_parse_verdict_and_note() {
        let c = parse_check("identity=pass").unwrap();
        assert!(c.passed && c.note.is_empty());
        let c = parse_check("residence=fail:户籍证明过期: 需重开").unwrap();
        assert!(!c.passed);
        assert_eq!(c.note, "户籍证明过期: 需重开");
        assert!(parse_check("identity").is_err());
        assert!(parse_check("identity=maybe").is_err());
        assert!(parse_check("=pass").is_err());
    }

    #[test]
    fn moments_in_several_forms() {
        let a = parse_moment("2026-09-30T02:00:00Z").unwrap();
        let b = parse_moment("2026-09-30 10:00").unwrap();
        assert_eq!(a, b);
        let d = parse_moment("2026-09-30").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-09-30T00:00:00+08:00");
        assert!(parse_moment("now").is_ok());
        assert!(parse_moment("tomorrow").is_err());
    }

    #[test]
    fn uuid_or_case_number() {
        assert!(is_uuid("67e55044-10b1-426f-9247-bb680e5fe0c8"));
        assert!(!is_uuid("140922-20261128-00001-7"));
    }
}
