//! Everything the CLI shows a person: the one labels table (Chinese and English), the names of
//! the proto enums in both languages (the domain's names, see [`Localized`]), times in
//! Asia/Shanghai, and aligned tables.

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, Timelike, Utc};
use prost_types::Timestamp;
use tongban_access::convert::{
    bundle_status_from_pb, decision_from_pb, delivery_from_pb, form_from_pb, mode_from_pb,
    part_state_from_pb, scope_from_pb, status_from_pb,
};
use tongban_domain::catalog::Locality;
use tongban_domain::i18n::{self, Localized};
use tongban_proto::review::v1::AssignmentState;

/// Language of everything printed for people (`--lang`, env `TONGBAN_LANG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    /// 简体中文 (default).
    #[default]
    #[value(alias = "zh-CN", alias = "zh_CN", alias = "zh-Hans")]
    Zh,
    /// English.
    #[value(alias = "en-US", alias = "en_US", alias = "en-GB")]
    En,
}

impl Lang {
    /// The `accept-language` tag sent to the servers, which localise their error text by it.
    pub fn accept_language(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks the text of this language from a `(zh, en)` pair.
    pub fn pick<'a>(self, pair: (&'a str, &'a str)) -> &'a str {
        match self {
            Lang::Zh => pair.0,
            Lang::En => pair.1,
        }
    }

    /// Picks the English text when wanted and present, else the Chinese one (servers fill the
    /// Chinese text always, the English one not always).
    pub fn pick_text<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::En if !en.is_empty() => en,
            _ => zh,
        }
    }

    /// `text` in brackets: full-width `（…）` in Chinese, ` (…)` in English.
    pub fn paren(self, text: impl std::fmt::Display) -> String {
        match self {
            Lang::Zh => format!("（{text}）"),
            Lang::En => format!(" ({text})"),
        }
    }

    /// The punctuation between a label and its value: full-width in Chinese.
    pub fn colon(self) -> &'static str {
        self.pick(("：", ": "))
    }
}

impl From<Lang> for i18n::Lang {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::Zh => i18n::Lang::Zh,
            Lang::En => i18n::Lang::En,
        }
    }
}

/// Every fixed piece of text the CLI prints, in one table (see [`Label::text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // each variant's meaning is its text in the table below
pub enum Label {
    CaseNumber,
    CaseId,
    Matter,
    MatterCode,
    MatterName,
    Department,
    Version,
    ValidFrom,
    Scopes,
    Scope,
    Modes,
    Mode,
    Status,
    State,
    Conditions,
    LegalLimit,
    PromisedLimit,
    Fee,
    Free,
    DeliveryMethods,
    Delivery,
    LegalBasis,
    Materials,
    ReviewPoints,
    Stages,
    Code,
    Name,
    Required,
    PaperOriginal,
    AcceptedCertificates,
    Notes,
    Question,
    Step,
    Stage,
    WorkingDays,
    WorkingDaysUnit,
    Yes,
    No,
    WindowOffice,
    ResponsibleOffice,
    Office,
    Agreement,
    Applicant,
    HomeDivision,
    AcceptedAt,
    DueAt,
    RoutedAt,
    DecidedAt,
    RemainingDays,
    Overdue,
    OverdueBy,
    NotOverdue,
    Decision,
    DecisionReason,
    SupplementItems,
    SupplementReason,
    Timeline,
    Form,
    Pages,
    Sha256,
    IdempotencyKey,
    Division,
    Window,
    Departments,
    ClaimedBy,
    Checklist,
    Passed,
    Failed,
    Time,
    Description,
    Count,
    CatalogVersion,
    DueTime,
    StartTime,
    Token,
    Expires,
    User,
    Role,
    None,
    Accepted,
    MaterialsMissing,
    ConnectFailed,
    ConnectHint,
    TokenHint,
    ErrorPrefix,
    FieldPrefix,
    WatchStarted,
    WatchEnded,
    NoAssignments,
    NoCases,
    NoMatters,
    NoOffices,
    CaseNotInInbox,
    Certificate,
    Electronic,
    Note,
    Traceparent,
    ApplicantName,
    Parts,
    Part,
    WaitingFor,
    Locality,
    After,
    DestinationDivision,
    Bundle,
    Bundles,
    BundleCode,
    BundleNumber,
    BundleStatus,
    /// The status of the case as a whole, beside an office's own inbox state.
    WholeCaseStatus,
    BundleAccepted,
    Members,
    MemberMatters,
    NeededBy,
    SubmittedAt,
    NoBundles,
    /// 办理顺序 of a bundle's members: which wait for another member's approval.
    MemberOrder,
    /// A member that starts as soon as the bundle is accepted.
    AtOnce,
}

impl Label {
    /// The text of this label as `(简体中文, English)`.
    pub fn text(self) -> (&'static str, &'static str) {
        use Label::*;
        match self {
            CaseNumber => ("办件编号", "Case number"),
            CaseId => ("办件标识", "Case id"),
            Matter => ("事项", "Matter"),
            MatterCode => ("事项编码", "Matter code"),
            MatterName => ("事项名称", "Matter name"),
            Department => ("主管部门", "Department"),
            Version => ("版本", "Version"),
            ValidFrom => ("生效日期", "Valid from"),
            Scopes => ("通办范围", "Scopes"),
            Scope => ("通办范围", "Scope"),
            Modes => ("办理模式", "Modes"),
            Mode => ("办理模式", "Mode"),
            Status => ("状态", "Status"),
            State => ("状态", "State"),
            Conditions => ("申请条件", "Conditions"),
            LegalLimit => ("法定时限", "Legal time limit"),
            PromisedLimit => ("承诺时限", "Promised time limit"),
            Fee => ("收费标准", "Fee"),
            Free => ("不收费", "free of charge"),
            DeliveryMethods => ("发证方式", "Delivery methods"),
            Delivery => ("发证方式", "Delivery"),
            LegalBasis => ("设定依据", "Legal basis"),
            Materials => ("申请材料", "Materials"),
            ReviewPoints => ("审查要点", "Review points"),
            Stages => ("审批流程", "Stages"),
            Code => ("编码", "Code"),
            Name => ("名称", "Name"),
            Required => ("必需", "Required"),
            PaperOriginal => ("需纸质原件", "Paper original"),
            AcceptedCertificates => ("可用电子证照", "E-certificates accepted"),
            Notes => ("备注", "Notes"),
            Question => ("要点", "Question"),
            Step => ("序号", "No."),
            Stage => ("环节", "Stage"),
            WorkingDays => ("工作日", "Working days"),
            WorkingDaysUnit => ("个工作日", "working days"),
            Yes => ("是", "yes"),
            No => ("否", "no"),
            WindowOffice => ("受理窗口", "Window office"),
            ResponsibleOffice => ("属地部门", "Responsible office"),
            Office => ("部门", "Office"),
            Agreement => ("合作协议", "Agreement"),
            Applicant => ("申请人", "Applicant"),
            HomeDivision => ("户籍/属地区划", "Home division"),
            AcceptedAt => ("受理时间", "Accepted at"),
            DueAt => ("办结时限", "Due at"),
            RoutedAt => ("分派时间", "Routed at"),
            DecidedAt => ("决定时间", "Decided at"),
            RemainingDays => ("剩余工作日", "Working days left"),
            Overdue => ("已超期", "overdue"),
            OverdueBy => ("已超期（工作日）", "Overdue by (working days)"),
            NotOverdue => ("未超期", "not overdue"),
            Decision => ("审批决定", "Decision"),
            DecisionReason => ("决定理由", "Reason"),
            SupplementItems => ("补正材料", "Supplement items"),
            SupplementReason => ("补正原因", "Supplement reason"),
            Timeline => ("办理过程", "Timeline"),
            Form => ("形式", "Form"),
            Pages => ("页数", "Pages"),
            Sha256 => ("SHA-256", "SHA-256"),
            IdempotencyKey => ("幂等键", "Idempotency key"),
            Division => ("行政区划", "Division"),
            Window => ("通办窗口", "Window"),
            Departments => ("部门类别", "Departments"),
            ClaimedBy => ("认领人", "Claimed by"),
            Checklist => ("审查记录", "Checklist"),
            Passed => ("通过", "passed"),
            Failed => ("不通过", "failed"),
            Time => ("时间", "Time"),
            Description => ("说明", "Description"),
            Count => ("共计", "Total"),
            CatalogVersion => ("目录版本", "Catalog version"),
            DueTime => ("截止时间", "Due at"),
            StartTime => ("起算时间", "Start"),
            Token => ("令牌", "Token"),
            Expires => ("有效期至", "Expires"),
            User => ("用户", "User"),
            Role => ("角色", "Role"),
            None => ("—", "—"),
            Accepted => ("办件已受理", "Case accepted"),
            MaterialsMissing => (
                "材料不齐，请一次性补齐以下材料：",
                "Materials are incomplete; please provide all of the following at once:",
            ),
            ConnectFailed => ("无法连接", "cannot connect to"),
            ConnectHint => (
                "请确认服务已启动，或用命令行参数/环境变量指定正确的地址。",
                "Check that the service is running, or pass the right address by flag or environment variable.",
            ),
            TokenHint => (
                "请用 --token 或环境变量 TONGBAN_TOKEN 提供有效令牌（可用 tongban token mint 签发）。",
                "Pass a valid token with --token or TONGBAN_TOKEN (tongban token mint issues one).",
            ),
            ErrorPrefix => ("错误", "error"),
            FieldPrefix => ("字段", "field"),
            WatchStarted => (
                "正在关注本部门待办（Ctrl-C 结束）……",
                "Watching the office inbox (Ctrl-C to stop)…",
            ),
            WatchEnded => ("服务端已结束推送。", "The server ended the stream."),
            NoAssignments => ("没有待办。", "No assignments."),
            NoCases => ("没有办件。", "No cases."),
            NoMatters => ("没有符合条件的事项。", "No matching matters."),
            NoOffices => ("没有符合条件的部门。", "No matching offices."),
            CaseNotInInbox => (
                "本部门待办中没有该办件编号",
                "no assignment of the office has the case number",
            ),
            Certificate => ("电子证照", "e-certificate"),
            Electronic => ("电子", "electronic"),
            Note => ("备注", "Note"),
            Traceparent => ("追踪标识", "Trace"),
            ApplicantName => ("申请人姓名", "Applicant name"),
            Parts => ("多地联办环节", "Joint parts"),
            Part => ("联办环节", "Joint part"),
            WaitingFor => ("待前序环节", "Waiting for"),
            Locality => ("属地依据", "Locality"),
            After => ("前序环节", "After"),
            DestinationDivision => ("迁入/转入地区划", "Destination division"),
            Bundle => ("一件事", "Bundle"),
            Bundles => ("一件事清单", "Bundles"),
            BundleCode => ("一件事编码", "Bundle code"),
            BundleNumber => ("一件事编号", "Bundle number"),
            BundleStatus => ("一件事状态", "Bundle status"),
            WholeCaseStatus => ("办件状态", "Case status"),
            BundleAccepted => ("一件事已受理", "Bundle accepted"),
            Members => ("成员办件", "Member cases"),
            MemberMatters => ("成员事项", "Member matters"),
            NeededBy => ("所需事项", "Needed by"),
            SubmittedAt => ("提交时间", "Submitted at"),
            NoBundles => ("没有一件事。", "No bundles."),
            MemberOrder => ("办理顺序", "Order"),
            AtOnce => ("受理后即办理", "at once"),
        }
    }
}

/// The text of `label` in `lang`.
pub fn t(lang: Lang, label: Label) -> &'static str {
    lang.pick(label.text())
}

/// `未知(n)`/`unknown(n)`: an enum value this client does not know (a newer server).
fn unknown(lang: Lang, value: i32) -> String {
    lang.pick(("未知", "unknown")).to_owned() + &format!("({value})")
}

/// Name of a proto enum value as people read it, from the domain's own name of the value
/// ([`Localized`]), so that the CLI says what the services say; `—` for the unspecified value
/// and [`unknown`] for a value this client does not know.
fn domain_text<P, D>(lang: Lang, value: i32, from_pb: fn(P) -> Option<D>) -> String
where
    P: TryFrom<i32>,
    D: Localized,
{
    match P::try_from(value) {
        Ok(known) => from_pb(known).map_or_else(
            || t(lang, Label::None).to_owned(),
            |domain| domain.text(lang.into()),
        ),
        Err(_) => unknown(lang, value),
    }
}

/// 办件状态: 已提交, 已受理, 已分派, 审查中, 待补正, 已补正, 准予, 不予, 已办结, 已撤回.
pub fn case_status(lang: Lang, value: i32) -> String {
    domain_text(lang, value, status_from_pb)
}

/// 通办范围: 本地办理, 全省通办, 跨省通办, 区域通办.
pub fn scope(lang: Lang, value: i32) -> String {
    domain_text(lang, value, scope_from_pb)
}

/// 办理模式: 全程网办, 异地代收代办, 多地联办.
pub fn mode(lang: Lang, value: i32) -> String {
    domain_text(lang, value, mode_from_pb)
}

/// 发证方式: 窗口领取, 邮寄, 电子证照.
pub fn delivery_method(lang: Lang, value: i32) -> String {
    domain_text(lang, value, delivery_from_pb)
}

/// 材料形式: 电子材料, 纸质原件, 电子证照.
pub fn material_form(lang: Lang, value: i32) -> String {
    domain_text(lang, value, form_from_pb)
}

/// 审批决定: 准予, 不予.
pub fn decision(lang: Lang, value: i32) -> String {
    domain_text(lang, value, decision_from_pb)
}

/// 待办状态 of an assignment at the responsible office. The review service's own state, which
/// the domain has no type for, so its names live here.
pub fn assignment_state(lang: Lang, value: i32) -> String {
    let pair = match AssignmentState::try_from(value) {
        Ok(AssignmentState::Unspecified) => return t(lang, Label::None).to_owned(),
        Ok(AssignmentState::Routed) => ("待认领", "routed"),
        Ok(AssignmentState::Claimed) => ("审查中", "claimed"),
        Ok(AssignmentState::SupplementRequested) => ("待补正", "supplement requested"),
        Ok(AssignmentState::Supplemented) => ("已补正", "supplemented"),
        Ok(AssignmentState::Decided) => ("已决定", "decided"),
        Ok(AssignmentState::Withdrawn) => ("已撤回", "withdrawn"),
        Ok(AssignmentState::Waiting) => ("待前序环节办结", "waiting for earlier parts"),
        Ok(AssignmentState::Cancelled) => ("已取消", "cancelled"),
        Err(_) => return unknown(lang, value),
    };
    lang.pick(pair).to_owned()
}

/// 多地联办环节的状态.
pub fn part_state(lang: Lang, value: i32) -> String {
    domain_text(lang, value, part_state_from_pb)
}

/// 一件事的状态, derived from its member cases.
pub fn bundle_status(lang: Lang, value: i32) -> String {
    domain_text(lang, value, bundle_status_from_pb)
}

/// Which of the applicant's localities decides a part's office: 户籍地（迁出地、转出地） or
/// 迁入地（转入地）; other values as they are.
pub fn locality(lang: Lang, value: &str) -> String {
    value
        .parse::<Locality>()
        .map_or_else(|_| value.to_owned(), |l| l.text(lang.into()))
}

/// `是`/`yes` or `否`/`no`.
pub fn yes_no(lang: Lang, value: bool) -> &'static str {
    t(lang, if value { Label::Yes } else { Label::No })
}

/// 收费标准 from 分: `不收费` for zero, else `12.50 元` / `CNY 12.50`.
pub fn fee(lang: Lang, fen: i64) -> String {
    if fen == 0 {
        return t(lang, Label::Free).to_owned();
    }
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let amount = format!("{sign}{}.{:02}", abs / 100, abs % 100);
    match lang {
        Lang::Zh => format!("{amount} 元"),
        Lang::En => format!("CNY {amount}"),
    }
}

/// `N 个工作日` / `N working days`.
pub fn working_days(lang: Lang, days: impl std::fmt::Display) -> String {
    format!("{days} {}", t(lang, Label::WorkingDaysUnit))
}

/// Asia/Shanghai (UTC+8; China has had no daylight saving time since 1991).
pub fn shanghai() -> FixedOffset {
    // 8 * 3600 seconds is well inside the ±86 400 s range FixedOffset accepts.
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// A protobuf timestamp as a moment in Asia/Shanghai; `None` when unset or out of range.
pub fn to_shanghai(ts: Option<&Timestamp>) -> Option<DateTime<FixedOffset>> {
    let ts = ts?;
    let nanos = u32::try_from(ts.nanos).ok()?;
    DateTime::<Utc>::from_timestamp(ts.seconds, nanos).map(|utc| utc.with_timezone(&shanghai()))
}

/// A moment as `YYYY-MM-DD HH:MM` in Asia/Shanghai; `—` when unset.
pub fn time(ts: Option<&Timestamp>) -> String {
    match to_shanghai(ts) {
        Some(at) => at.format("%Y-%m-%d %H:%M").to_string(),
        None => "—".to_owned(),
    }
}

/// A due moment: like [`time`], but a moment at midnight (00:00, or the last instant of the day
/// 23:59:59.x) is shown as `24:00` of the day that ends, which is how time limits are promised
/// (`2026-10-08 24:00`).
pub fn due(ts: Option<&Timestamp>) -> String {
    let Some(at) = to_shanghai(ts) else {
        return "—".to_owned();
    };
    let t = at.time();
    let day_end = if t == NaiveTime::MIN {
        Some(at.date_naive() - Duration::days(1))
    } else if t.hour() == 23 && t.minute() == 59 && t.second() == 59 {
        Some(at.date_naive())
    } else {
        None
    };
    match day_end {
        Some(day) => format!("{} 24:00", day.format("%Y-%m-%d")),
        None => at.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// A moment as RFC 3339 in Asia/Shanghai (for `--json`); `None` when unset.
pub fn rfc3339(ts: Option<&Timestamp>) -> Option<String> {
    to_shanghai(ts).map(|at| at.to_rfc3339())
}

/// Columns a character takes in a terminal: two for CJK and full-width forms, else one.
fn char_width(c: char) -> usize {
    let wide = matches!(u32::from(c),
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// Columns a string takes in a terminal.
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// `s` padded with spaces to `width` columns.
pub fn pad(s: &str, width: usize) -> String {
    let mut out = s.to_owned();
    out.push_str(&" ".repeat(width.saturating_sub(display_width(s))));
    out
}

/// Label/value lines with the values aligned, e.g. `办件编号  140922-…`.
#[derive(Debug, Default)]
pub struct Fields {
    rows: Vec<(String, String)>,
}

impl Fields {
    /// An empty set of lines.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a line.
    pub fn add(&mut self, label: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.rows.push((label.into(), value.into()));
        self
    }

    /// Adds a line unless `value` is empty.
    pub fn add_nonempty(
        &mut self,
        label: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        let value = value.into();
        if !value.is_empty() {
            self.rows.push((label.into(), value));
        }
        self
    }

    /// The lines, values aligned two columns after the widest label; a multi-line value is
    /// indented to the value column.
    pub fn render(&self) -> String {
        let width = self
            .rows
            .iter()
            .map(|(l, _)| display_width(l))
            .max()
            .unwrap_or(0)
            + 2;
        let mut out = String::new();
        for (label, value) in &self.rows {
            let mut lines = value.lines();
            out.push_str(&pad(label, width));
            out.push_str(lines.next().unwrap_or(""));
            out.push('\n');
            for line in lines {
                out.push_str(&" ".repeat(width));
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// A table with a header row and columns aligned by display width.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// A table whose column headers are `labels` in `lang`.
    pub fn labelled(lang: Lang, labels: impl IntoIterator<Item = Label>) -> Self {
        Self::new(labels.into_iter().map(|label| t(lang, label)))
    }

    /// Adds a row (missing cells are blank, extra cells are dropped).
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
        self
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table, each line indented by `indent` spaces, trailing blanks trimmed.
    pub fn render(&self, indent: usize) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| display_width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(display_width(cell));
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = " ".repeat(indent);
            for (cell, w) in row.iter().zip(&widths) {
                line.push_str(&pad(cell, *w));
                line.push_str("  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A section heading such as `申请材料：` / `Materials:`.
pub fn heading(lang: Lang, label: Label) -> String {
    format!("{}{}", t(lang, label), lang.pick(("：", ":")))
}

/// Prints a `serde_json::Value` pretty, for `--json`.
pub fn print_json(value: &serde_json::Value) {
    // Serialising a `Value` cannot fail: its map keys are strings.
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(value).unwrap_or_default()
    ));
}

/// Writes `text` to standard output. When the reader has gone away (`tongban … | head`) the
/// program ends quietly, as a Unix filter does, instead of panicking as `print!` would; any
/// other write error ends it with status 1.
pub fn out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("{err}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_proto::common::v1::{
        BundleStatus, CaseStatus, Decision, DeliveryMethod, Mode, PartState, Scope,
    };

    fn ts(rfc3339: &str) -> Timestamp {
        let at = DateTime::parse_from_rfc3339(rfc3339).unwrap();
        Timestamp {
            seconds: at.timestamp(),
            nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap(),
        }
    }

    #[test]
    fn due_at_midnight_reads_as_24_00_of_the_day_before() {
        assert_eq!(
            due(Some(&ts("2026-10-09T00:00:00+08:00"))),
            "2026-10-08 24:00"
        );
        assert_eq!(due(Some(&ts("2026-10-08T16:00:00Z"))), "2026-10-08 24:00");
        assert_eq!(
            due(Some(&ts("2026-10-08T23:59:59.999+08:00"))),
            "2026-10-08 24:00"
        );
        assert_eq!(
            due(Some(&ts("2026-10-08T17:30:00+08:00"))),
            "2026-10-08 17:30"
        );
        assert_eq!(due(None), "—");
    }

    #[test]
    fn times_are_shown_in_shanghai() {
        assert_eq!(time(Some(&ts("2026-09-30T02:05:00Z"))), "2026-09-30 10:05");
        assert_eq!(
            time(Some(&ts("2026-10-09T00:00:00+08:00"))),
            "2026-10-09 00:00"
        );
        assert_eq!(
            rfc3339(Some(&ts("2026-09-30T02:05:00Z"))).unwrap(),
            "2026-09-30T10:05:00+08:00"
        );
        assert_eq!(
            time(Some(&Timestamp {
                seconds: 0,
                nanos: -1
            })),
            "—"
        );
    }

    #[test]
    fn enums_in_both_languages() {
        assert_eq!(
            case_status(Lang::Zh, CaseStatus::SupplementRequested as i32),
            "待补正"
        );
        assert_eq!(
            case_status(Lang::En, CaseStatus::Claimed as i32),
            "Under review"
        );
        assert_eq!(scope(Lang::Zh, Scope::CrossProvince as i32), "跨省通办");
        assert_eq!(scope(Lang::Zh, Scope::Regional as i32), "区域通办");
        assert_eq!(mode(Lang::Zh, Mode::Proxy as i32), "异地代收代办");
        assert_eq!(
            delivery_method(Lang::Zh, DeliveryMethod::ECertificate as i32),
            "电子证照"
        );
        assert_eq!(decision(Lang::Zh, Decision::Deny as i32), "不予");
        assert_eq!(scope(Lang::Zh, 0), "—");
        assert_eq!(scope(Lang::Zh, 42), "未知(42)");
        assert_eq!(scope(Lang::En, 42), "unknown(42)");
        assert_eq!(
            assignment_state(Lang::Zh, AssignmentState::Waiting as i32),
            "待前序环节办结"
        );
        assert_eq!(
            assignment_state(Lang::Zh, AssignmentState::Cancelled as i32),
            "已取消"
        );
        assert_eq!(part_state(Lang::Zh, PartState::Cancelled as i32), "已取消");
        assert_eq!(part_state(Lang::En, PartState::Approved as i32), "Approved");
        assert_eq!(
            bundle_status(Lang::Zh, BundleStatus::InProgress as i32),
            "办理中"
        );
        assert_eq!(
            bundle_status(Lang::Zh, BundleStatus::PartlyDenied as i32),
            "部分不予"
        );
        assert_eq!(
            locality(Lang::Zh, "destination_division"),
            "迁入地（转入地）"
        );
        assert_eq!(locality(Lang::En, "elsewhere"), "elsewhere");
    }

    #[test]
    fn every_label_has_both_languages() {
        for label in [
            Label::CaseNumber,
            Label::MaterialsMissing,
            Label::TokenHint,
            Label::ConnectHint,
        ] {
            let (zh, en) = label.text();
            assert!(!zh.is_empty() && !en.is_empty());
        }
        assert_eq!(t(Lang::Zh, Label::CaseNumber), "办件编号");
        assert_eq!(t(Lang::En, Label::CaseNumber), "Case number");
    }

    #[test]
    fn fees_in_yuan() {
        assert_eq!(fee(Lang::Zh, 0), "不收费");
        assert_eq!(fee(Lang::Zh, 1250), "12.50 元");
        assert_eq!(fee(Lang::En, 5), "CNY 0.05");
        assert_eq!(working_days(Lang::Zh, 5), "5 个工作日");
        assert_eq!(Lang::Zh.paren("x"), "（x）");
        assert_eq!(Lang::En.paren("x"), " (x)");
    }

    #[test]
    fn width_counts_cjk_as_two_columns() {
        assert_eq!(display_width("办件编号"), 8);
        assert_eq!(display_width("Case"), 4);
        assert_eq!(display_width("（是）"), 6);
        assert_eq!(pad("状态", 6), "状态  ");
    }

    #[test]
    fn fields_and_tables_align() {
        let mut f = Fields::new();
        f.add("状态", "已受理")
            .add("办件编号", "X")
            .add_nonempty("合作协议", "");
        assert_eq!(f.render(), "状态      已受理\n办件编号  X\n");

        let mut table = Table::new(["编码", "名称"]);
        table.row(["a", "社保卡申领"]).row(["long-code", "x"]);
        assert_eq!(
            table.render(2),
            "  编码       名称\n  a          社保卡申领\n  long-code  x\n"
        );
    }

    #[test]
    fn multi_line_values_are_indented() {
        let mut f = Fields::new();
        f.add("条件", "第一行\n第二行");
        assert_eq!(f.render(), "条件  第一行\n      第二行\n");
    }
}
