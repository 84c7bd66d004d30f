//! Administrative divisions (行政区划, GB/T 2260): the codes in use today with their hierarchy,
//! and the 1981–2024 history that ID numbers need (an ID keeps the code valid when it was issued).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::data::{DataError, read_text};
use crate::i18n::{Lang, Localized};

/// File name of the current (2024) list inside the directory given to [`Divisions::load`].
pub const CURRENT_FILE: &str = "gb2260-2024.csv";
/// File name of the 1981–2024 history inside the directory given to [`Divisions::load`].
pub const HISTORY_FILE: &str = "gb2260-history-1981-2024.csv";

/// 行政区划代码: six ASCII digits (GB/T 2260), e.g. `140922` for 五台县.
///
/// A value only says the format is right; [`Divisions::parse_current`] also checks that the code
/// is in use today.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DivisionCode(String);

impl DivisionCode {
    /// Checks the format only (six ASCII digits after trimming).
    ///
    /// # Errors
    /// [`DivisionError::Format`] otherwise.
    pub fn parse(raw: &str) -> Result<Self, DivisionError> {
        let raw = raw.trim();
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(DivisionCode(raw.to_owned()))
        } else {
            Err(DivisionError::Format(raw.to_owned()))
        }
    }

    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The province-level code: `"14xxxx"` → `"140000"`.
    pub fn province_code(&self) -> DivisionCode {
        DivisionCode(format!("{}0000", &self.0[..2]))
    }

    /// The prefecture-level code by digits: `"140922"` → `"140900"` (a province gives itself).
    /// Municipal districts and 省直辖 counties have no prefecture in the current list; use
    /// [`Divisions::lineage`] for the real hierarchy.
    pub fn prefecture_code(&self) -> DivisionCode {
        DivisionCode(format!("{}00", &self.0[..4]))
    }

    /// Whether both codes lie in the same province (first two digits).
    pub fn is_same_province(&self, other: &DivisionCode) -> bool {
        self.0[..2] == other.0[..2]
    }

    /// Whether `self` is `other` or lies inside it by its digits (a province contains every
    /// code with its first two digits, a prefecture every code with its first four).
    pub fn is_within(&self, other: &DivisionCode) -> bool {
        let prefix = other.0.trim_end_matches("00");
        let prefix = if prefix.len() < 2 {
            &other.0[..2]
        } else {
            prefix
        };
        self.0.starts_with(prefix)
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DivisionCode {
    type Err = DivisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DivisionCode::parse(s)
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = DivisionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        DivisionCode::parse(&value)
    }
}

impl AsRef<str> for DivisionCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for DivisionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DivisionCode {
    /// Accepts a string of six digits (format check only).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        DivisionCode::parse(&raw).map_err(|e| serde::de::Error::custom(e.text(Lang::En)))
    }
}

/// 级别: the level of a division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 省级: province, autonomous region, municipality, SAR.
    Province,
    /// 地级: prefecture-level city, 自治州, 地区, 盟.
    Prefecture,
    /// 县级: county, district, county-level city, 旗.
    County,
}

/// One division in use today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    /// Its code.
    pub code: DivisionCode,
    /// Its own name, e.g. `五台县`.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// The division it belongs to (`None` for a province). A municipal district or a 省直辖
    /// county has the province as parent.
    pub parent: Option<DivisionCode>,
    /// The province-level division it lies in (itself for a province).
    pub province: DivisionCode,
}

/// One row of the history: a code with a name in use over a span of years.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HistoryRow {
    name: String,
    /// 启用时间 (inclusive).
    start: i32,
    /// 变更/弃用时间 (exclusive); `None` when still in use.
    end: Option<i32>,
}

/// The division codes: the current (2024) hierarchy plus the 1981–2024 history.
#[derive(Debug, Clone)]
pub struct Divisions {
    current: BTreeMap<DivisionCode, Division>,
    history: HashMap<String, Vec<HistoryRow>>,
}

/// Why a division code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    /// Not six ASCII digits.
    Format(String),
    /// Never a GB/T 2260 code (not in the 1981–2024 history).
    Unknown(String),
    /// A code no longer in use: `year` is when it was abolished or changed (变更/弃用时间).
    Abolished {
        /// The code.
        code: String,
        /// The year it went out of use.
        year: i32,
    },
}

impl Localized for DivisionError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (DivisionError::Format(raw), Lang::Zh) => {
                format!("行政区划代码格式错误：应为 6 位数字，实为“{raw}”")
            }
            (DivisionError::Format(raw), Lang::En) => {
                format!("division code must be 6 digits, got \"{raw}\"")
            }
            (DivisionError::Unknown(code), Lang::Zh) => format!("未知的行政区划代码：{code}"),
            (DivisionError::Unknown(code), Lang::En) => format!("unknown division code: {code}"),
            (DivisionError::Abolished { code, year }, Lang::Zh) => {
                format!("行政区划代码 {code} 已于 {year} 年停用")
            }
            (DivisionError::Abolished { code, year }, Lang::En) => {
                format!("division code {code} is no longer in use (since {year})")
            }
        }
    }
}

impl fmt::Display for DivisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

impl Divisions {
    /// Loads [`CURRENT_FILE`] and [`HISTORY_FILE`] from `dir` (e.g. `deploy/data/divisions`).
    ///
    /// # Errors
    /// [`DataError`] when a file cannot be read or a row is malformed.
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        let current_path = dir.join(CURRENT_FILE);
        let history_path = dir.join(HISTORY_FILE);
        let current = read_text(&current_path)?;
        let history = read_text(&history_path)?;
        Self::build(
            &current,
            &current_path.display().to_string(),
            &history,
            &history_path.display().to_string(),
        )
    }

    /// Builds from the text of the two CSV files (`code,name,level,parent_code,province_code`
    /// and `代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码`).
    ///
    /// # Errors
    /// [`DataError::Invalid`] naming the file and line of a malformed row.
    pub fn from_csv(current_csv: &str, history_csv: &str) -> Result<Self, DataError> {
        Self::build(current_csv, CURRENT_FILE, history_csv, HISTORY_FILE)
    }

    fn build(
        current_csv: &str,
        current_name: &str,
        history_csv: &str,
        history_name: &str,
    ) -> Result<Self, DataError> {
        let current = parse_current_csv(current_csv, current_name)?;
        let history = parse_history_csv(history_csv, history_name)?;
        Ok(Divisions { current, history })
    }

    /// A code in use today (the 2024 list).
    ///
    /// # Errors
    /// [`DivisionError::Format`] when not six digits, [`DivisionError::Abolished`] with the
    /// year for a code of the history no longer in use, [`DivisionError::Unknown`] otherwise.
    pub fn parse_current(&self, raw: &str) -> Result<DivisionCode, DivisionError> {
        let code = DivisionCode::parse(raw)?;
        if self.current.contains_key(&code) {
            return Ok(code);
        }
        let abolished_in = self
            .history
            .get(code.as_str())
            .and_then(|rows| rows.iter().filter_map(|row| row.end).max());
        match abolished_in {
            Some(year) => Err(DivisionError::Abolished { code: code.0, year }),
            None => Err(DivisionError::Unknown(code.0)),
        }
    }

    /// The division with this code in the current list.
    pub fn get(&self, code: &DivisionCode) -> Option<&Division> {
        self.current.get(code)
    }

    /// The code itself, then its parent, then the province (most specific first). Empty for a
    /// code not in the current list.
    pub fn lineage(&self, code: &DivisionCode) -> Vec<&Division> {
        let mut chain = Vec::with_capacity(3);
        let mut next = self.current.get(code);
        while let Some(division) = next {
            chain.push(division);
            // The hierarchy has at most three levels; the bound guards against a cyclic file.
            if chain.len() >= 3 {
                break;
            }
            next = division.parent.as_ref().and_then(|p| self.current.get(p));
        }
        chain
    }

    /// The full name from the province down, `山西省忻州市五台县` style. For a code no longer in
    /// use, its last name in the history; for an unknown code, the code itself.
    pub fn full_name(&self, code: &DivisionCode) -> String {
        let chain = self.lineage(code);
        if !chain.is_empty() {
            return chain.iter().rev().map(|d| d.name.as_str()).collect();
        }
        self.history
            .get(code.as_str())
            .and_then(|rows| rows.iter().max_by_key(|row| row.start))
            .map_or_else(|| code.0.clone(), |row| row.name.clone())
    }

    /// Whether `code` (6 digits) can be the region of an ID number (GB 11643) of someone born
    /// in `birth_year`: the code is in use now, or was in use in some year ≥ `birth_year`.
    ///
    /// A history row is in use from 启用时间 up to its 变更/弃用时间; the yearly lists are
    /// snapshots at 31 December, so a code was still in use for part of the year it went out of
    /// use, and someone born in that year may carry it. Codes in use before 1981 are not in the
    /// history; such IDs were re-issued under the codes of the 1980s.
    pub fn is_id_region(&self, code: &str, birth_year: i32) -> bool {
        let Ok(code) = DivisionCode::parse(code) else {
            return false;
        };
        if self.current.contains_key(&code) {
            return true;
        }
        self.history.get(code.as_str()).is_some_and(|rows| {
            rows.iter()
                .any(|row| row.end.is_none_or(|end| end >= birth_year))
        })
    }

    /// The divisions in use today, in code order.
    pub fn iter(&self) -> impl Iterator<Item = &Division> {
        self.current.values()
    }

    /// How many divisions are in use today.
    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// Whether the current list is empty.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.strip_prefix('\u{feff}').unwrap_or(text).as_bytes())
}

fn record_line(record: &csv::StringRecord) -> Option<usize> {
    record
        .position()
        .and_then(|p| usize::try_from(p.line()).ok())
}

fn csv_error(source_name: &str, err: &csv::Error) -> DataError {
    let line = err.position().and_then(|p| usize::try_from(p.line()).ok());
    DataError::invalid(source_name, line, format!("CSV: {err}"))
}

fn parse_current_csv(
    text: &str,
    source_name: &str,
) -> Result<BTreeMap<DivisionCode, Division>, DataError> {
    let mut reader = csv_reader(text);
    let mut current = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(source_name, &e))?;
        let line = record_line(&record);
        let invalid = |reason: String| DataError::invalid(source_name, line, reason);
        if record.len() != 5 {
            return Err(invalid(format!(
                "expected 5 columns, found {}",
                record.len()
            )));
        }
        let code_of = |field: &str, value: &str| {
            DivisionCode::parse(value)
                .map_err(|_| invalid(format!("{field}: bad code \"{value}\"")))
        };
        let code = code_of("code", &record[0])?;
        let name = record[1].trim().to_owned();
        if name.is_empty() {
            return Err(invalid(format!("{code}: empty name")));
        }
        let level = match record[2].trim() {
            "province" => Level::Province,
            "prefecture" => Level::Prefecture,
            "county" => Level::County,
            other => return Err(invalid(format!("{code}: unknown level \"{other}\""))),
        };
        let parent = match record[3].trim() {
            "" => None,
            raw => Some(code_of("parent_code", raw)?),
        };
        let province = code_of("province_code", &record[4])?;
        if (level == Level::Province) != parent.is_none() {
            return Err(invalid(format!(
                "{code}: a province has no parent and every other division has one"
            )));
        }
        if province != code.province_code() {
            return Err(invalid(format!(
                "{code}: province_code {province} does not match"
            )));
        }
        let division = Division {
            code: code.clone(),
            name,
            level,
            parent,
            province,
        };
        if current.insert(code.clone(), division).is_some() {
            return Err(invalid(format!("{code}: listed twice")));
        }
    }
    for division in current.values() {
        for needed in division.parent.iter().chain([&division.province]) {
            if !current.contains_key(needed) {
                return Err(DataError::invalid(
                    source_name,
                    None,
                    format!("{}: parent {needed} is not in the list", division.code),
                ));
            }
        }
    }
    Ok(current)
}

fn parse_history_csv(
    text: &str,
    source_name: &str,
) -> Result<HashMap<String, Vec<HistoryRow>>, DataError> {
    let mut reader = csv_reader(text);
    let mut history: HashMap<String, Vec<HistoryRow>> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(source_name, &e))?;
        let line = record_line(&record);
        let invalid = |reason: String| DataError::invalid(source_name, line, reason);
        if record.len() != 9 {
            return Err(invalid(format!(
                "expected 9 columns, found {}",
                record.len()
            )));
        }
        let code = DivisionCode::parse(&record[0])
            .map_err(|_| invalid(format!("代码: bad code \"{}\"", &record[0])))?;
        let year = |field: &str, value: &str| {
            value
                .trim()
                .parse::<i32>()
                .map_err(|_| invalid(format!("{code}: {field}: bad year \"{value}\"")))
        };
        let start = year("启用时间", &record[6])?;
        let end = match record[7].trim() {
            "" => None,
            raw => Some(year("变更/弃用时间", raw)?),
        };
        match (record[5].trim(), end) {
            ("在用", None) | ("弃用" | "变更", Some(_)) => {}
            (status, _) => {
                return Err(invalid(format!(
                    "{code}: 状态 \"{status}\" does not agree with 变更/弃用时间"
                )));
            }
        }
        if end.is_some_and(|end| end < start) {
            return Err(invalid(format!("{code}: ends before it starts")));
        }
        history.entry(code.0).or_default().push(HistoryRow {
            name: record[3].trim().to_owned(),
            start,
            end,
        });
    }
    Ok(history)
}
