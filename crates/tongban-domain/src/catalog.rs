//! 事项目录: the 五统一 catalog of service matters and the departments responsible for them.
//!
//! Loaded at run time from `deploy/catalog/matters.toml` and `deploy/catalog/departments.toml`
//! (format: `/work/briefs/schema.md`), so the catalog can change without a rebuild. Everything is
//! checked once when it is loaded; a [`Catalog`] that exists is internally consistent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::data::{DataError, read_text};
use crate::i18n::{Lang, Localized};

/// 电子证照类型代码 that a material may accept in place of paper (`accepted_certificate_types`).
///
/// The list is fixed by the reference-data schema; a code outside it is a data error.
pub const CERTIFICATE_TYPES: [(&str, &str, &str); 15] = [
    ("111", "居民身份证", "Resident identity card"),
    ("112", "居民户口簿", "Household register"),
    ("113", "结婚证", "Marriage certificate"),
    ("114", "离婚证", "Divorce certificate"),
    ("115", "出生医学证明", "Medical birth certificate"),
    ("116", "社会保障卡", "Social security card"),
    ("117", "营业执照", "Business licence"),
    ("118", "学历证书", "Academic certificate"),
    ("119", "机动车驾驶证", "Driving licence"),
    ("120", "不动产权证书", "Real property certificate"),
    ("121", "职称证书", "Professional title certificate"),
    ("122", "毕业证书", "Graduation certificate"),
    (
        "123",
        "参保缴费凭证",
        "Social insurance contribution record",
    ),
    (
        "124",
        "住房公积金缴存证明",
        "Housing provident fund deposit certificate",
    ),
    ("125", "准迁证", "Household relocation permit"),
];

/// The name of an e-certificate type (证照类型代码 → 名称), `None` for a code outside
/// [`CERTIFICATE_TYPES`].
pub fn certificate_type_name(code: &str, lang: Lang) -> Option<&'static str> {
    CERTIFICATE_TYPES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, zh, en)| match lang {
            Lang::Zh => *zh,
            Lang::En => *en,
        })
}

/// 通办范围: under which arrangement a case is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// 本地办理: window and responsible office are in the same county; not 通办.
    Local,
    /// 全省通办: same province, different county.
    ProvinceWide,
    /// 跨省通办: different provinces, the matter is on the cross-province list.
    CrossProvince,
    /// 区域通办: different provinces joined by a cooperation agreement that lists the matter.
    Regional,
}

impl Scope {
    /// Every scope, in declaration order.
    pub const ALL: [Scope; 4] = [
        Scope::Local,
        Scope::ProvinceWide,
        Scope::CrossProvince,
        Scope::Regional,
    ];

    /// The snake_case name used in data files and on the wire (`"cross_province"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Local => "local",
            Scope::ProvinceWide => "province_wide",
            Scope::CrossProvince => "cross_province",
            Scope::Regional => "regional",
        }
    }
}

impl Localized for Scope {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (Scope::Local, Lang::Zh) => "本地办理",
            (Scope::Local, Lang::En) => "Local",
            (Scope::ProvinceWide, Lang::Zh) => "全省通办",
            (Scope::ProvinceWide, Lang::En) => "Province-wide",
            (Scope::CrossProvince, Lang::Zh) => "跨省通办",
            (Scope::CrossProvince, Lang::En) => "Cross-province",
            (Scope::Regional, Lang::Zh) => "区域通办",
            (Scope::Regional, Lang::En) => "Regional",
        }
        .to_owned()
    }
}

named!(Scope, "scope");

/// 办理模式: how the work is split between the window and the responsible office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 全程网办: everything electronic; no paper moves.
    Online,
    /// 异地代收代办: the window receives and checks, the responsible office decides (收受分离);
    /// paper originals travel by courier.
    Proxy,
    /// 多地联办: several offices each do a part; the case ends when all parts end.
    Joint,
}

impl Mode {
    /// Every mode, in declaration order.
    pub const ALL: [Mode; 3] = [Mode::Online, Mode::Proxy, Mode::Joint];

    /// The snake_case name used in data files and on the wire (`"proxy"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Online => "online",
            Mode::Proxy => "proxy",
            Mode::Joint => "joint",
        }
    }
}

impl Localized for Mode {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (Mode::Online, Lang::Zh) => "全程网办",
            (Mode::Online, Lang::En) => "Fully online",
            (Mode::Proxy, Lang::Zh) => "异地代收代办",
            (Mode::Proxy, Lang::En) => "Remote acceptance by proxy",
            (Mode::Joint, Lang::Zh) => "多地联办",
            (Mode::Joint, Lang::En) => "Joint handling by several offices",
        }
        .to_owned()
    }
}

named!(Mode, "mode");

/// 发证方式: how the result reaches the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    /// 窗口领取: picked up at the window.
    WindowPickup,
    /// 邮寄: sent by courier.
    Mail,
    /// 电子证照: issued as an e-certificate.
    ECertificate,
}

impl DeliveryMethod {
    /// Every delivery method, in declaration order.
    pub const ALL: [DeliveryMethod; 3] = [
        DeliveryMethod::WindowPickup,
        DeliveryMethod::Mail,
        DeliveryMethod::ECertificate,
    ];

    /// The snake_case name used in data files and on the wire (`"e_certificate"`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMethod::WindowPickup => "window_pickup",
            DeliveryMethod::Mail => "mail",
            DeliveryMethod::ECertificate => "e_certificate",
        }
    }
}

impl Localized for DeliveryMethod {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (DeliveryMethod::WindowPickup, Lang::Zh) => "窗口领取",
            (DeliveryMethod::WindowPickup, Lang::En) => "Pick up at the window",
            (DeliveryMethod::Mail, Lang::Zh) => "邮寄",
            (DeliveryMethod::Mail, Lang::En) => "Mail",
            (DeliveryMethod::ECertificate, Lang::Zh) => "电子证照",
            (DeliveryMethod::ECertificate, Lang::En) => "E-certificate",
        }
        .to_owned()
    }
}

named!(DeliveryMethod, "delivery method");

/// A name that is not one of an enum's snake_case names (`"province"` for a [`Scope`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的{kind}：{value} (unknown {kind}: {value})")]
pub struct UnknownName {
    kind: &'static str,
    value: String,
}

impl UnknownName {
    pub(crate) fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.to_owned(),
        }
    }
}

/// Implements `Display` (the name `as_str` gives) and `FromStr` (back from that name, else an
/// [`UnknownName`] of `$kind`) for an enum with `ALL` and `as_str`. A macro because the two impls
/// are the same for every such enum and Rust allows no blanket impl of them over a trait;
/// `named!(parse T, …)` implements `FromStr` alone.
macro_rules! named {
    ($name:ty, $kind:literal) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::catalog::named!(parse $name, $kind);
    };
    (parse $name:ty, $kind:literal) => {
        impl ::std::str::FromStr for $name {
            type Err = $crate::catalog::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::catalog::UnknownName::new($kind, s))
            }
        }
    };
}
pub(crate) use named;

/// 部门: a line department (公安, 人社, …) that matters belong to and offices serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Department {
    /// Stable code, lower-case ASCII (`gongan`).
    pub code: String,
    /// 部门名称 (`公安`).
    pub name: String,
    /// English name (`Public Security`).
    pub name_en: String,
}

/// 申请材料: one material of a matter's standard list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Material {
    /// Code unique within the matter (`SFZ`).
    pub code: String,
    /// 材料名称 (`居民身份证`).
    pub name: String,
    /// 必要材料: the case cannot be accepted without it.
    pub required: bool,
    /// 需纸质原件: under 异地代收代办 the paper original must travel to the responsible office.
    pub paper_original_required: bool,
    /// 电子证照类型代码 whose verified e-certificate replaces this material (两个免提交).
    pub accepted_certificate_types: Vec<String>,
    /// 备注 for the window clerk; may be empty.
    pub notes: String,
}

impl Material {
    /// Whether a verified e-certificate of `certificate_type` replaces this material.
    pub fn accepts_certificate(&self, certificate_type: &str) -> bool {
        self.accepted_certificate_types
            .iter()
            .any(|t| t == certificate_type)
    }
}

/// 审查要点: one question the remote reviewer answers for every case of the matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewPoint {
    /// Code unique within the matter (`R1`).
    pub code: String,
    /// The question (`申请人身份与户籍信息是否一致？`).
    pub question: String,
    /// Whether the checklist must answer it (and, to approve, pass it).
    pub required: bool,
}

/// 审批环节: one stage of the matter's process with its share of the promised limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// Code unique within the matter (`accept`, `review`, `decide`, …).
    pub code: String,
    /// 环节名称 (`审查`).
    pub name: String,
    /// Working days allotted to this stage.
    pub working_days: u32,
}

/// 事项: one service matter with its 五统一 standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matter {
    /// Stable code, `[A-Z0-9-]+` (`GA-HJ-QY-GZDD`).
    pub code: String,
    /// 事项名称.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Code of the responsible [`Department`].
    pub department: String,
    /// Version of this matter's standard.
    pub version: String,
    /// First day the standard applies.
    pub valid_from: NaiveDate,
    /// 通办范围 the matter may be handled under (never [`Scope::Local`], which is always allowed).
    pub scopes: Vec<Scope>,
    /// 办理模式 the window may choose.
    pub modes: Vec<Mode>,
    /// 申请条件.
    pub conditions: String,
    /// 设定依据.
    pub legal_basis: String,
    /// 申请材料, in the order of the standard.
    pub materials: Vec<Material>,
    /// 审查要点, in the order of the standard.
    pub review_points: Vec<ReviewPoint>,
    /// 审批流程: ordered stages; their working days sum to `promised_limit_days`.
    pub stages: Vec<Stage>,
    /// 法定时限, working days.
    pub legal_limit_days: u32,
    /// 承诺时限, working days (`0 < promised <= legal`).
    pub promised_limit_days: u32,
    /// 收费标准 in 分 (0 = free).
    pub fee_fen: i64,
    /// 发证方式 offered.
    pub delivery_methods: Vec<DeliveryMethod>,
    /// 证照类型代码 of the result certificate (电子证照) the responsible office issues on approval
    /// when the applicant chose [`DeliveryMethod::ECertificate`]; `None` when the matter issues
    /// none. Only listed for matters offering e_certificate delivery.
    pub result_certificate_type: Option<String>,
    /// 延长: working days the time limit of a case may be extended by in all (行政许可法 Art.
    /// 42); [`MAX_EXTENSION_DAYS`](crate::clock::MAX_EXTENSION_DAYS) unless the matter sets less.
    pub extension_allowance_days: u32,
    /// 多地联办: the parts a joint case is split into, in order; empty unless the matter allows
    /// [`Mode::Joint`], which needs at least two.
    pub parts: Vec<JointPart>,
}

/// Which of the applicant's localities decides the office of a [`JointPart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locality {
    /// 户籍地 / 迁出地 / 转出地: the applicant's `home_division`.
    HomeDivision,
    /// 迁入地 / 转入地: the `destination_division` of the application.
    DestinationDivision,
}

impl Locality {
    /// Both localities, in declaration order.
    pub const ALL: [Locality; 2] = [Locality::HomeDivision, Locality::DestinationDivision];

    /// The snake_case name used in data files and on the wire (`"home_division"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Locality::HomeDivision => "home_division",
            Locality::DestinationDivision => "destination_division",
        }
    }
}

impl Localized for Locality {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (Locality::HomeDivision, Lang::Zh) => "户籍地（迁出地、转出地）",
            (Locality::HomeDivision, Lang::En) => "Home locality",
            (Locality::DestinationDivision, Lang::Zh) => "迁入地（转入地）",
            (Locality::DestinationDivision, Lang::En) => "Destination locality",
        }
        .to_owned()
    }
}

named!(Locality, "locality");

/// 多地联办: one part of a joint matter, handled by the office of its department at one of the
/// applicant's localities (e.g. 户口迁移: 迁入地审批, then 迁出地办理迁出).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JointPart {
    /// Code unique within the matter, `[A-Z0-9_]+` (`QR`).
    pub code: String,
    /// 环节名称 (`迁入地审批`).
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Code of the [`Department`] whose office handles the part.
    pub department: String,
    /// The locality whose office handles the part.
    pub locality: Locality,
    /// Parts (declared earlier) that must be approved before this one starts; empty: at once.
    pub after: Vec<String>,
    /// 审查要点 codes this part's office answers.
    pub review_points: Vec<String>,
}

impl Matter {
    /// The 证照类型代码 of the result certificate issued on approval for `method` delivery, if
    /// the matter issues one that way.
    pub fn result_certificate_for(&self, method: DeliveryMethod) -> Option<&str> {
        match method {
            DeliveryMethod::ECertificate if self.allows_delivery(method) => {
                self.result_certificate_type.as_deref()
            }
            _ => None,
        }
    }

    /// Whether the matter may be handled under `scope`. [`Scope::Local`] is always allowed:
    /// handling at home is not 通办 and needs no listing.
    pub fn allows_scope(&self, scope: Scope) -> bool {
        scope == Scope::Local || self.scopes.contains(&scope)
    }

    /// Whether the window may choose `mode` for this matter.
    pub fn allows_mode(&self, mode: Mode) -> bool {
        self.modes.contains(&mode)
    }

    /// Whether the result may be delivered by `method`.
    pub fn allows_delivery(&self, method: DeliveryMethod) -> bool {
        self.delivery_methods.contains(&method)
    }

    /// The material with this code.
    pub fn material(&self, code: &str) -> Option<&Material> {
        self.materials.iter().find(|m| m.code == code)
    }

    /// The review point with this code.
    pub fn review_point(&self, code: &str) -> Option<&ReviewPoint> {
        self.review_points.iter().find(|p| p.code == code)
    }

    /// The stage with this code.
    pub fn stage(&self, code: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.code == code)
    }

    /// The 多地联办 part with this code.
    pub fn part(&self, code: &str) -> Option<&JointPart> {
        self.parts.iter().find(|p| p.code == code)
    }
}

/// 事项目录: every matter and department, validated.
#[derive(Debug, Clone)]
pub struct Catalog {
    version: String,
    matters: BTreeMap<String, Matter>,
    departments: BTreeMap<String, Department>,
}

impl Catalog {
    /// Parses and validates the catalog: unique codes, known departments, non-empty scopes and
    /// modes, `0 < promised <= legal`, stage days summing to the promised limit, unique
    /// material/review-point/stage codes, at least one required review point, e-certificate
    /// types from [`CERTIFICATE_TYPES`].
    ///
    /// # Errors
    /// [`DataError::Invalid`] naming the file, the matter (or department) code and the field.
    pub fn from_toml(matters_toml: &str, departments_toml: &str) -> Result<Self, DataError> {
        Self::parse(
            matters_toml,
            "matters.toml",
            departments_toml,
            "departments.toml",
        )
    }

    /// Reads `matters.toml` and `departments.toml` from `catalog_dir` and validates them as
    /// [`Catalog::from_toml`] does.
    ///
    /// # Errors
    /// [`DataError::Io`] when a file cannot be read; [`DataError::Invalid`] as for `from_toml`.
    pub fn load(catalog_dir: &Path) -> Result<Self, DataError> {
        let matters_path = catalog_dir.join("matters.toml");
        let departments_path = catalog_dir.join("departments.toml");
        let matters = read_text(&matters_path)?;
        let departments = read_text(&departments_path)?;
        Self::parse(
            &matters,
            &matters_path.display().to_string(),
            &departments,
            &departments_path.display().to_string(),
        )
    }

    /// 目录版本 (`catalog_version`), bumped on every change.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The matter with this code.
    pub fn matter(&self, code: &str) -> Option<&Matter> {
        self.matters.get(code)
    }

    /// Every matter, sorted by code.
    pub fn matters(&self) -> impl Iterator<Item = &Matter> {
        self.matters.values()
    }

    /// The department with this code.
    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.get(code)
    }

    /// Every department, sorted by code.
    pub fn departments(&self) -> impl Iterator<Item = &Department> {
        self.departments.values()
    }

    fn parse(
        matters_toml: &str,
        matters_source: &str,
        departments_toml: &str,
        departments_source: &str,
    ) -> Result<Self, DataError> {
        let departments = parse_departments(departments_toml, departments_source)?;
        let raw: RawMatters = parse_toml(matters_toml, matters_source)?;
        let version = raw.catalog_version.trim().to_owned();
        if version.is_empty() {
            return Err(invalid(
                matters_source,
                None,
                "catalog_version 不能为空 (catalog_version must not be empty)".to_owned(),
            ));
        }
        let mut matters = BTreeMap::new();
        for raw_matter in raw.matter {
            let line = line_of(matters_toml, raw_matter.code.span().start);
            let matter = build_matter(raw_matter, &departments)
                .map_err(|reason| invalid(matters_source, Some(line), reason))?;
            if matters.contains_key(&matter.code) {
                return Err(invalid(
                    matters_source,
                    Some(line),
                    format!(
                        "事项编码 {code} 重复 (duplicate matter code {code})",
                        code = matter.code
                    ),
                ));
            }
            matters.insert(matter.code.clone(), matter);
        }
        Ok(Self {
            version,
            matters,
            departments,
        })
    }
}

fn parse_departments(
    toml_text: &str,
    source: &str,
) -> Result<BTreeMap<String, Department>, DataError> {
    let raw: RawDepartments = parse_toml(toml_text, source)?;
    let mut departments = BTreeMap::new();
    for dept in raw.department {
        let line = Some(line_of(toml_text, dept.code.span().start));
        let code = dept.code.into_inner();
        if !is_code(&code, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
        }) {
            return Err(invalid(
                source,
                line,
                format!(
                    "部门编码 {code:?} 须为小写字母、数字或下划线 (department code {code:?} must match [a-z0-9_]+)"
                ),
            ));
        }
        if dept.name.trim().is_empty() || dept.name_en.trim().is_empty() {
            return Err(invalid(
                source,
                line,
                format!(
                    "部门 {code} 字段 name/name_en 不能为空 (department {code}: name and name_en must not be empty)"
                ),
            ));
        }
        if departments.contains_key(&code) {
            return Err(invalid(
                source,
                line,
                format!("部门编码 {code} 重复 (duplicate department code {code})"),
            ));
        }
        departments.insert(
            code.clone(),
            Department {
                code,
                name: dept.name,
                name_en: dept.name_en,
            },
        );
    }
    Ok(departments)
}

/// Builds and checks one matter; the error is the reason text, naming the matter and the field.
fn build_matter(
    raw: RawMatter,
    departments: &BTreeMap<String, Department>,
) -> Result<Matter, String> {
    let code = raw.code.into_inner();
    let fail = |field: &str, zh: String, en: String| {
        format!("事项 {code} 字段 {field}：{zh} (matter {code}, field {field}: {en})")
    };

    if !is_code(&code, |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'
    }) {
        return Err(format!(
            "事项编码 {code:?} 须匹配 [A-Z0-9-]+ (matter code {code:?} must match [A-Z0-9-]+)"
        ));
    }
    for (field, value) in [
        ("name", &raw.name),
        ("name_en", &raw.name_en),
        ("version", &raw.version),
        ("conditions", &raw.conditions),
        ("legal_basis", &raw.legal_basis),
    ] {
        if value.trim().is_empty() {
            return Err(fail(field, "不能为空".into(), "must not be empty".into()));
        }
    }
    if !departments.contains_key(&raw.department) {
        return Err(fail(
            "department",
            format!("未知部门 {}", raw.department),
            format!("unknown department {}", raw.department),
        ));
    }
    let valid_from = parse_date(&raw.valid_from).map_err(|value| {
        fail(
            "valid_from",
            format!("日期无效 {value}"),
            format!("invalid date {value}"),
        )
    })?;

    let scopes = parse_names::<Scope>(&raw.scopes).map_err(|(zh, en)| fail("scopes", zh, en))?;
    if scopes.is_empty() {
        return Err(fail(
            "scopes",
            "不能为空".into(),
            "must not be empty".into(),
        ));
    }
    if scopes.contains(&Scope::Local) {
        return Err(fail(
            "scopes",
            "只能列出 province_wide、cross_province、regional（本地办理无需列出）".into(),
            "only province_wide, cross_province and regional may be listed (local needs no listing)"
                .into(),
        ));
    }
    let modes = parse_names::<Mode>(&raw.modes).map_err(|(zh, en)| fail("modes", zh, en))?;
    if modes.is_empty() {
        return Err(fail("modes", "不能为空".into(), "must not be empty".into()));
    }
    let delivery_methods = parse_names::<DeliveryMethod>(&raw.delivery_methods)
        .map_err(|(zh, en)| fail("delivery_methods", zh, en))?;
    if delivery_methods.is_empty() {
        return Err(fail(
            "delivery_methods",
            "不能为空".into(),
            "must not be empty".into(),
        ));
    }
    if let Some(type_code) = &raw.result_certificate_type {
        if type_code.len() != 3 || !type_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail(
                "result_certificate_type",
                "应为 3 位数字的证照类型代码".into(),
                "must be a 3-digit certificate type code".into(),
            ));
        }
        if !delivery_methods.contains(&DeliveryMethod::ECertificate) {
            return Err(fail(
                "result_certificate_type",
                "发证方式未列出 e_certificate".into(),
                "delivery_methods does not list e_certificate".into(),
            ));
        }
    }

    let extension_allowance_days = raw
        .extension_allowance_days
        .unwrap_or(crate::clock::MAX_EXTENSION_DAYS);
    if extension_allowance_days > crate::clock::MAX_EXTENSION_DAYS {
        return Err(fail(
            "extension_allowance_days",
            format!("不得超过 {} 个工作日", crate::clock::MAX_EXTENSION_DAYS),
            format!(
                "must not exceed {} working days",
                crate::clock::MAX_EXTENSION_DAYS
            ),
        ));
    }

    if raw.promised_limit_days == 0 || raw.promised_limit_days > raw.legal_limit_days {
        return Err(fail(
            "promised_limit_days",
            format!(
                "承诺时限 {} 须大于 0 且不超过法定时限 {}",
                raw.promised_limit_days, raw.legal_limit_days
            ),
            format!(
                "{} must be > 0 and <= legal_limit_days {}",
                raw.promised_limit_days, raw.legal_limit_days
            ),
        ));
    }
    if raw.fee_fen < 0 {
        return Err(fail(
            "fee_fen",
            format!("收费不能为负数 {}", raw.fee_fen),
            format!("must not be negative, got {}", raw.fee_fen),
        ));
    }

    let materials =
        build_materials(raw.materials).map_err(|(field, zh, en)| fail(&field, zh, en))?;
    let review_points =
        build_review_points(raw.review_points).map_err(|(field, zh, en)| fail(&field, zh, en))?;
    let stages = build_stages(raw.stages).map_err(|(field, zh, en)| fail(&field, zh, en))?;
    let parts = build_parts(raw.parts, &modes, &review_points, departments)
        .map_err(|(field, zh, en)| fail(&field, zh, en))?;
    let stage_days: u32 = stages.iter().map(|s| s.working_days).sum();
    if stage_days != raw.promised_limit_days {
        return Err(fail(
            "stages",
            format!(
                "各环节工作日之和 {stage_days} 不等于承诺时限 {}",
                raw.promised_limit_days
            ),
            format!(
                "stage working days sum to {stage_days}, promised_limit_days is {}",
                raw.promised_limit_days
            ),
        ));
    }

    Ok(Matter {
        name: raw.name,
        name_en: raw.name_en,
        department: raw.department,
        version: raw.version,
        valid_from,
        scopes,
        modes,
        conditions: raw.conditions,
        legal_basis: raw.legal_basis,
        materials,
        review_points,
        stages,
        legal_limit_days: raw.legal_limit_days,
        promised_limit_days: raw.promised_limit_days,
        fee_fen: raw.fee_fen,
        delivery_methods,
        result_certificate_type: raw.result_certificate_type,
        extension_allowance_days,
        parts,
        code,
    })
}

/// Checks the 多地联办 parts: present (at least two) exactly when the matter allows joint
/// handling; unique codes; known departments; `after` naming earlier parts only (so the order
/// has no cycle); at least one part starting at once; every review point answered by some part.
fn build_parts(
    raw: Vec<RawJointPart>,
    modes: &[Mode],
    review_points: &[ReviewPoint],
    departments: &BTreeMap<String, Department>,
) -> Result<Vec<JointPart>, FieldProblem> {
    let joint = modes.contains(&Mode::Joint);
    if !joint {
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        return Err((
            "parts".into(),
            "未列出 joint 模式的事项不能定义联办环节".into(),
            "only a matter whose modes list joint may define parts".into(),
        ));
    }
    if raw.len() < 2 {
        return Err((
            "parts".into(),
            "多地联办事项须定义至少两个联办环节".into(),
            "a matter allowing joint handling needs at least two parts".into(),
        ));
    }
    let mut out: Vec<JointPart> = Vec::with_capacity(raw.len());
    for p in raw {
        let field = format!("parts[{}]", p.code);
        if !is_code(&p.code, |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
        }) {
            return Err((
                field,
                "环节编码须匹配 [A-Z0-9_]+".into(),
                "part code must match [A-Z0-9_]+".into(),
            ));
        }
        if out.iter().any(|o| o.code == p.code) {
            return Err((field, "环节编码重复".into(), "duplicate part code".into()));
        }
        if p.name.trim().is_empty() || p.name_en.trim().is_empty() {
            return Err((
                field,
                "name/name_en 不能为空".into(),
                "name and name_en must not be empty".into(),
            ));
        }
        if !departments.contains_key(&p.department) {
            return Err((
                field,
                format!("未知部门 {}", p.department),
                format!("unknown department {}", p.department),
            ));
        }
        let locality: Locality = p.locality.parse().map_err(|_| {
            (
                field.clone(),
                format!(
                    "locality 须为 home_division 或 destination_division，而不是 {:?}",
                    p.locality
                ),
                format!(
                    "locality must be home_division or destination_division, not {:?}",
                    p.locality
                ),
            )
        })?;
        for before in &p.after {
            if !out.iter().any(|o| &o.code == before) {
                return Err((
                    field,
                    format!("after 中的 {before} 不是此前定义的环节"),
                    format!("after names {before}, which is not a part declared earlier"),
                ));
            }
        }
        if p.review_points.is_empty() {
            return Err((
                field,
                "review_points 不能为空".into(),
                "review_points must not be empty".into(),
            ));
        }
        for code in &p.review_points {
            if !review_points.iter().any(|r| &r.code == code) {
                return Err((
                    field,
                    format!("{code} 不是该事项的审查要点"),
                    format!("{code} is not a review point of the matter"),
                ));
            }
        }
        out.push(JointPart {
            code: p.code,
            name: p.name,
            name_en: p.name_en,
            department: p.department,
            locality,
            after: p.after,
            review_points: p.review_points,
        });
    }
    if !out.iter().any(|p| p.after.is_empty()) {
        return Err((
            "parts".into(),
            "至少一个联办环节须可立即开始（after 为空）".into(),
            "at least one part must start at once (empty after)".into(),
        ));
    }
    if let Some(orphan) = review_points
        .iter()
        .find(|r| !out.iter().any(|p| p.review_points.contains(&r.code)))
    {
        return Err((
            "parts".into(),
            format!("审查要点 {} 未分配给任何联办环节", orphan.code),
            format!("review point {} is answered by no part", orphan.code),
        ));
    }
    Ok(out)
}

/// A field-level problem: (field, Chinese reason, English reason).
type FieldProblem = (String, String, String);

fn build_materials(raw: Vec<RawMaterial>) -> Result<Vec<Material>, FieldProblem> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for m in raw {
        let field = format!("materials[{}]", m.code);
        if !is_code(&m.code, |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
        }) {
            return Err((
                field,
                "材料编码须匹配 [A-Z0-9_]+".into(),
                "material code must match [A-Z0-9_]+".into(),
            ));
        }
        if !seen.insert(m.code.clone()) {
            return Err((
                field,
                "材料编码重复".into(),
                "duplicate material code".into(),
            ));
        }
        if m.name.trim().is_empty() {
            return Err((
                field,
                "材料名称不能为空".into(),
                "name must not be empty".into(),
            ));
        }
        let mut types = BTreeSet::new();
        for t in &m.accepted_certificate_types {
            if certificate_type_name(t, Lang::Zh).is_none() {
                return Err((
                    field,
                    format!("未知的电子证照类型代码 {t}"),
                    format!("unknown e-certificate type code {t}"),
                ));
            }
            if !types.insert(t.as_str()) {
                return Err((
                    field,
                    format!("电子证照类型代码 {t} 重复"),
                    format!("duplicate e-certificate type code {t}"),
                ));
            }
        }
        out.push(Material {
            code: m.code,
            name: m.name,
            required: m.required,
            paper_original_required: m.paper_original_required,
            accepted_certificate_types: m.accepted_certificate_types,
            notes: m.notes,
        });
    }
    Ok(out)
}

fn build_review_points(raw: Vec<RawReviewPoint>) -> Result<Vec<ReviewPoint>, FieldProblem> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for p in raw {
        let field = format!("review_points[{}]", p.code);
        if !is_code(&p.code, |c| {
            c.is_ascii_alphanumeric() || c == '_' || c == '-'
        }) {
            return Err((
                field,
                "审查要点编码须为字母、数字、下划线或连字符".into(),
                "review point code must match [A-Za-z0-9_-]+".into(),
            ));
        }
        if !seen.insert(p.code.clone()) {
            return Err((
                field,
                "审查要点编码重复".into(),
                "duplicate review point code".into(),
            ));
        }
        if p.question.trim().is_empty() {
            return Err((
                field,
                "审查问题不能为空".into(),
                "question must not be empty".into(),
            ));
        }
        out.push(ReviewPoint {
            code: p.code,
            question: p.question,
            required: p.required,
        });
    }
    if !out.iter().any(|p| p.required) {
        return Err((
            "review_points".into(),
            "至少需要一个必审要点".into(),
            "at least one required review point is needed".into(),
        ));
    }
    Ok(out)
}

fn build_stages(raw: Vec<RawStage>) -> Result<Vec<Stage>, FieldProblem> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for s in raw {
        let field = format!("stages[{}]", s.code);
        if !is_code(&s.code, |c| c.is_ascii_lowercase() || c == '_') {
            return Err((
                field,
                "环节编码须匹配 [a-z_]+".into(),
                "stage code must match [a-z_]+".into(),
            ));
        }
        if !seen.insert(s.code.clone()) {
            return Err((field, "环节编码重复".into(), "duplicate stage code".into()));
        }
        if s.name.trim().is_empty() {
            return Err((
                field,
                "环节名称不能为空".into(),
                "name must not be empty".into(),
            ));
        }
        if s.working_days == 0 {
            return Err((
                field,
                "环节工作日须大于 0".into(),
                "working_days must be > 0".into(),
            ));
        }
        out.push(Stage {
            code: s.code,
            name: s.name,
            working_days: s.working_days,
        });
    }
    if out.is_empty() {
        return Err((
            "stages".into(),
            "不能为空".into(),
            "must not be empty".into(),
        ));
    }
    Ok(out)
}

/// Parses snake_case names, refusing unknown and repeated ones.
fn parse_names<T>(raw: &[String]) -> Result<Vec<T>, (String, String)>
where
    T: FromStr + PartialEq,
{
    let mut out: Vec<T> = Vec::with_capacity(raw.len());
    for name in raw {
        let value = name.parse::<T>().map_err(|_| {
            (
                format!("未知取值 {name:?}"),
                format!("unknown value {name:?}"),
            )
        })?;
        if out.contains(&value) {
            return Err((
                format!("取值 {name:?} 重复"),
                format!("duplicate value {name:?}"),
            ));
        }
        out.push(value);
    }
    Ok(out)
}

// ---- shared helpers for the reference-data loaders (also used by `directory`) ----

/// Parses TOML into `T`, turning a syntax or shape error into [`DataError::Invalid`] with its line.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    source: &str,
) -> Result<T, DataError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| line_of(text, span.start));
        invalid(
            source,
            line,
            format!("TOML 格式错误 (malformed TOML): {}", e.message().trim_end()),
        )
    })
}

/// The 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// A [`DataError::Invalid`].
pub(crate) fn invalid(source: &str, line: Option<usize>, reason: String) -> DataError {
    DataError::invalid(source, line, reason)
}

/// Whether `s` is non-empty and every character satisfies `allowed`.
pub(crate) fn is_code(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(allowed)
}

/// Reads a date written either as a TOML string (`"2025-01-01"`) or a TOML local date
/// (`2025-01-01`); the error carries the value as written.
pub(crate) fn parse_date(value: &toml::Value) -> Result<NaiveDate, String> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(dt) => dt.to_string(),
        other => return Err(other.to_string()),
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| text)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartments {
    #[serde(default)]
    department: Vec<RawDepartment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    code: toml::Spanned<String>,
    name: String,
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatters {
    catalog_version: String,
    #[serde(default)]
    matter: Vec<RawMatter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatter {
    code: toml::Spanned<String>,
    name: String,
    name_en: String,
    department: String,
    version: String,
    valid_from: toml::Value,
    scopes: Vec<String>,
    modes: Vec<String>,
    conditions: String,
    legal_basis: String,
    legal_limit_days: u32,
    promised_limit_days: u32,
    fee_fen: i64,
    delivery_methods: Vec<String>,
    #[serde(default)]
    result_certificate_type: Option<String>,
    #[serde(default)]
    extension_allowance_days: Option<u32>,
    #[serde(default)]
    materials: Vec<RawMaterial>,
    #[serde(default)]
    review_points: Vec<RawReviewPoint>,
    #[serde(default)]
    stages: Vec<RawStage>,
    #[serde(default)]
    parts: Vec<RawJointPart>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJointPart {
    code: String,
    name: String,
    name_en: String,
    department: String,
    locality: String,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    review_points: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaterial {
    code: String,
    name: String,
    required: bool,
    paper_original_required: bool,
    #[serde(default)]
    accepted_certificate_types: Vec<String>,
    #[serde(default)]
    notes: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReviewPoint {
    code: String,
    question: String,
    required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    code: String,
    name: String,
    working_days: u32,
}
