//! 机构目录: the offices (通办 windows and responsible offices) and the regional cooperation
//! agreements (区域通办合作协议) between divisions.
//!
//! Loaded at run time from `deploy/directory/offices.toml` and `deploy/directory/agreements.toml`
//! and checked against the division codes and the catalog, so a [`Directory`] that exists only
//! names divisions in use, departments and matters that exist.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, invalid, is_code, line_of, parse_date, parse_toml};
use crate::data::{DataError, read_text};
use crate::division::{DivisionCode, Divisions};

/// 机构: an office of the directory. It can be a 通办 window, responsible for departments, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Office {
    /// Unique id, `[a-z0-9-]+`; by convention `<division>-<department or zwfw>` (`140922-zwfw`).
    pub id: String,
    /// 机构名称 (`五台县政务服务中心`).
    pub name: String,
    /// The GB/T 2260 division the office belongs to.
    pub division: DivisionCode,
    /// Codes of the departments this office is responsible for (属地办理).
    pub departments: Vec<String>,
    /// 通办窗口: the office accepts cases.
    pub is_window: bool,
    /// Optional service endpoint; empty when none.
    pub endpoint: String,
}

impl Office {
    /// Whether the office is responsible for `department`.
    pub fn serves(&self, department: &str) -> bool {
        self.departments.iter().any(|d| d == department)
    }
}

/// 区域通办合作协议: divisions of different provinces agreeing to handle listed matters for each
/// other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agreement {
    /// Unique id (`XZ-EEDS-2021`).
    pub id: String,
    /// 协议名称.
    pub name: String,
    /// 协议各方: division codes (province, city or county); a division is covered by a party when
    /// it equals it or lies within it.
    pub parties: Vec<DivisionCode>,
    /// Codes of the matters covered.
    pub matters: Vec<String>,
    /// First day in force.
    pub valid_from: NaiveDate,
    /// Last day in force (inclusive).
    pub valid_until: NaiveDate,
    /// 双方职责.
    pub duties: String,
}

impl Agreement {
    /// Whether the agreement is in force on `on` (`valid_from <= on <= valid_until`).
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.valid_from <= on && on <= self.valid_until
    }

    /// Whether `d` equals one of the parties or lies within one (county within its city or
    /// province, city within its province).
    pub fn covers_division(&self, d: &DivisionCode, divisions: &Divisions) -> bool {
        self.party_covering(d, divisions).is_some()
    }

    /// The party that covers `d`, if any.
    pub fn party_covering(&self, d: &DivisionCode, divisions: &Divisions) -> Option<&DivisionCode> {
        let lineage = divisions.lineage(d);
        self.parties
            .iter()
            .find(|party| *party == d || lineage.iter().any(|div| &div.code == *party))
    }

    /// Whether the agreement lists the matter.
    pub fn covers_matter(&self, matter_code: &str) -> bool {
        self.matters.iter().any(|m| m == matter_code)
    }
}

/// 机构目录: every office and agreement, validated.
#[derive(Debug, Clone)]
pub struct Directory {
    offices: BTreeMap<String, Office>,
    agreements: BTreeMap<String, Agreement>,
    /// (division, department) → office id: at most one office per pair.
    responsible: HashMap<(DivisionCode, String), String>,
}

impl Directory {
    /// Parses and validates the directory: unique office and agreement ids, divisions in use
    /// (`Divisions::parse_current`), departments known to the catalog, at most one office per
    /// (division, department), agreement parties valid division codes (at least two, no
    /// repeats), agreement matters known to the catalog, `valid_from <= valid_until`.
    ///
    /// # Errors
    /// [`DataError::Invalid`] naming the file, the office or agreement id and the field.
    pub fn from_toml(
        offices_toml: &str,
        agreements_toml: &str,
        divisions: &Divisions,
        catalog: &Catalog,
    ) -> Result<Self, DataError> {
        Self::parse(
            offices_toml,
            "offices.toml",
            agreements_toml,
            "agreements.toml",
            divisions,
            catalog,
        )
    }

    /// Reads `offices.toml` and `agreements.toml` from `directory_dir` and validates them as
    /// [`Directory::from_toml`] does.
    ///
    /// # Errors
    /// [`DataError::Io`] when a file cannot be read; [`DataError::Invalid`] as for `from_toml`.
    pub fn load(
        directory_dir: &Path,
        divisions: &Divisions,
        catalog: &Catalog,
    ) -> Result<Self, DataError> {
        let offices_path = directory_dir.join("offices.toml");
        let agreements_path = directory_dir.join("agreements.toml");
        let offices = read_text(&offices_path)?;
        let agreements = read_text(&agreements_path)?;
        Self::parse(
            &offices,
            &offices_path.display().to_string(),
            &agreements,
            &agreements_path.display().to_string(),
            divisions,
            catalog,
        )
    }

    /// The office with this id.
    pub fn office(&self, id: &str) -> Option<&Office> {
        self.offices.get(id)
    }

    /// Every office, sorted by id.
    pub fn offices(&self) -> impl Iterator<Item = &Office> {
        self.offices.values()
    }

    /// Offices whose division code starts with `division_prefix` (`"14"`: every office in
    /// 山西; `""`: all), sorted by id.
    pub fn offices_with_prefix(&self, division_prefix: &str) -> Vec<&Office> {
        self.offices
            .values()
            .filter(|o| o.division.as_str().starts_with(division_prefix))
            .collect()
    }

    /// Every agreement, sorted by id.
    pub fn agreements(&self) -> impl Iterator<Item = &Agreement> {
        self.agreements.values()
    }

    /// The agreement with this id.
    pub fn agreement(&self, id: &str) -> Option<&Agreement> {
        self.agreements.get(id)
    }

    /// The office responsible for `department` in exactly `division` (no walking up).
    pub fn office_for(&self, department: &str, division: &DivisionCode) -> Option<&Office> {
        self.responsible
            .get(&(division.clone(), department.to_owned()))
            .and_then(|id| self.offices.get(id))
    }

    /// DESIGN §4 step 1: the office serving `department` at the most specific level of
    /// `home_division`: county, then city, then province (`Divisions::lineage` order).
    pub fn responsible_office(
        &self,
        department: &str,
        home_division: &DivisionCode,
        divisions: &Divisions,
    ) -> Option<&Office> {
        let lineage = divisions.lineage(home_division);
        if lineage.is_empty() {
            return self.office_for(department, home_division);
        }
        lineage
            .iter()
            .find_map(|level| self.office_for(department, &level.code))
    }

    fn parse(
        offices_toml: &str,
        offices_source: &str,
        agreements_toml: &str,
        agreements_source: &str,
        divisions: &Divisions,
        catalog: &Catalog,
    ) -> Result<Self, DataError> {
        let raw_offices: RawOffices = parse_toml(offices_toml, offices_source)?;
        let mut offices = BTreeMap::new();
        let mut responsible = HashMap::new();
        for raw in raw_offices.office {
            let line = Some(line_of(offices_toml, raw.id.span().start));
            let office = build_office(raw, divisions, catalog)
                .map_err(|reason| invalid(offices_source, line, reason))?;
            for dept in &office.departments {
                let key = (office.division.clone(), dept.clone());
                if let Some(other) = responsible.insert(key, office.id.clone()) {
                    return Err(invalid(
                        offices_source,
                        line,
                        format!(
                            "机构 {id} 与 {other} 在区划 {div} 同属部门 {dept}，每个区划每个部门只能有一个机构 \
                             (office {id} and {other} both serve department {dept} in division {div}; \
                             at most one office per division and department)",
                            id = office.id,
                            div = office.division,
                        ),
                    ));
                }
            }
            if offices.contains_key(&office.id) {
                return Err(invalid(
                    offices_source,
                    line,
                    format!(
                        "机构编号 {id} 重复 (duplicate office id {id})",
                        id = office.id
                    ),
                ));
            }
            offices.insert(office.id.clone(), office);
        }

        let raw_agreements: RawAgreements = parse_toml(agreements_toml, agreements_source)?;
        let mut agreements = BTreeMap::new();
        for raw in raw_agreements.agreement {
            let line = Some(line_of(agreements_toml, raw.id.span().start));
            let agreement = build_agreement(raw, divisions, catalog)
                .map_err(|reason| invalid(agreements_source, line, reason))?;
            if agreements.contains_key(&agreement.id) {
                return Err(invalid(
                    agreements_source,
                    line,
                    format!(
                        "协议编号 {id} 重复 (duplicate agreement id {id})",
                        id = agreement.id
                    ),
                ));
            }
            agreements.insert(agreement.id.clone(), agreement);
        }

        Ok(Self {
            offices,
            agreements,
            responsible,
        })
    }
}

/// Checks that each of `codes` is `known` and listed once; the error, made by `fail` for `field`,
/// names the first code that is unknown or repeated, called `noun` (`("部门", "department")`).
fn known_once<E>(
    codes: &[String],
    field: &str,
    (zh, en): (&str, &str),
    known: impl Fn(&str) -> bool,
    fail: impl Fn(&str, String, String) -> E,
) -> Result<(), E> {
    let mut seen = BTreeSet::new();
    for code in codes {
        if !known(code) {
            return Err(fail(
                field,
                format!("未知{zh} {code}"),
                format!("unknown {en} {code}"),
            ));
        }
        if !seen.insert(code.as_str()) {
            return Err(fail(
                field,
                format!("{zh} {code} 重复"),
                format!("duplicate {en} {code}"),
            ));
        }
    }
    Ok(())
}

fn build_office(
    raw: RawOffice,
    divisions: &Divisions,
    catalog: &Catalog,
) -> Result<Office, String> {
    let id = raw.id.into_inner();
    let fail = |field: &str, zh: String, en: String| {
        format!("机构 {id} 字段 {field}：{zh} (office {id}, field {field}: {en})")
    };
    if !is_code(&id, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    }) {
        return Err(format!(
            "机构编号 {id:?} 须匹配 [a-z0-9-]+ (office id {id:?} must match [a-z0-9-]+)"
        ));
    }
    if raw.name.trim().is_empty() {
        return Err(fail("name", "不能为空".into(), "must not be empty".into()));
    }
    let division = divisions.parse_current(&raw.division).map_err(|e| {
        fail(
            "division",
            format!("区划代码 {} 无效：{e}", raw.division),
            format!("invalid division code {}: {e}", raw.division),
        )
    })?;
    known_once(
        &raw.departments,
        "departments",
        ("部门", "department"),
        |dept| catalog.department(dept).is_some(),
        fail,
    )?;
    Ok(Office {
        name: raw.name,
        division,
        departments: raw.departments,
        is_window: raw.is_window,
        endpoint: raw.endpoint,
        id,
    })
}

fn build_agreement(
    raw: RawAgreement,
    divisions: &Divisions,
    catalog: &Catalog,
) -> Result<Agreement, String> {
    let id = raw.id.into_inner();
    let fail = |field: &str, zh: String, en: String| {
        format!("协议 {id} 字段 {field}：{zh} (agreement {id}, field {field}: {en})")
    };
    if id.trim().is_empty() {
        return Err("协议编号不能为空 (agreement id must not be empty)".to_owned());
    }
    if raw.name.trim().is_empty() {
        return Err(fail("name", "不能为空".into(), "must not be empty".into()));
    }
    let mut parties: Vec<DivisionCode> = Vec::with_capacity(raw.parties.len());
    for party in &raw.parties {
        let code = divisions.parse_current(party).map_err(|e| {
            fail(
                "parties",
                format!("区划代码 {party} 无效：{e}"),
                format!("invalid division code {party}: {e}"),
            )
        })?;
        if parties.contains(&code) {
            return Err(fail(
                "parties",
                format!("协议方 {party} 重复"),
                format!("duplicate party {party}"),
            ));
        }
        parties.push(code);
    }
    if parties.len() < 2 {
        return Err(fail(
            "parties",
            "至少需要两个协议方".into(),
            "at least two parties are needed".into(),
        ));
    }
    if raw.matters.is_empty() {
        return Err(fail(
            "matters",
            "不能为空".into(),
            "must not be empty".into(),
        ));
    }
    known_once(
        &raw.matters,
        "matters",
        ("事项", "matter"),
        |matter| catalog.matter(matter).is_some(),
        fail,
    )?;
    let valid_from = parse_date(&raw.valid_from).map_err(|v| {
        fail(
            "valid_from",
            format!("日期无效 {v}"),
            format!("invalid date {v}"),
        )
    })?;
    let valid_until = parse_date(&raw.valid_until).map_err(|v| {
        fail(
            "valid_until",
            format!("日期无效 {v}"),
            format!("invalid date {v}"),
        )
    })?;
    if valid_until < valid_from {
        return Err(fail(
            "valid_until",
            format!("截止日期 {valid_until} 早于生效日期 {valid_from}"),
            format!("{valid_until} is before valid_from {valid_from}"),
        ));
    }
    Ok(Agreement {
        name: raw.name,
        parties,
        matters: raw.matters,
        valid_from,
        valid_until,
        duties: raw.duties,
        id,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffices {
    #[serde(default)]
    office: Vec<RawOffice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffice {
    id: toml::Spanned<String>,
    name: String,
    division: String,
    #[serde(default)]
    departments: Vec<String>,
    is_window: bool,
    #[serde(default)]
    endpoint: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgreements {
    #[serde(default)]
    agreement: Vec<RawAgreement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgreement {
    id: toml::Spanned<String>,
    name: String,
    parties: Vec<String>,
    matters: Vec<String>,
    valid_from: toml::Value,
    valid_until: toml::Value,
    #[serde(default)]
    duties: String,
}
