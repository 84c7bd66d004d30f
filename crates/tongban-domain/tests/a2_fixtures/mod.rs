//! Reference data shared by the domain tests: a small catalog and directory (the TOML files
//! beside this module) on the real division codes and holiday calendar shipped under
//! deploy/data, the real seed data under deploy/, and builders of minimal inline matters and
//! bundles.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::NaiveDate;
use tongban_domain::calendar::WorkingCalendar;
use tongban_domain::catalog::Catalog;
use tongban_domain::data::DataError;
use tongban_domain::directory::Directory;
use tongban_domain::division::{DivisionCode, Divisions};
use tongban_domain::reference::ReferenceData;

/// The workspace's deploy directory.
pub fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The real division codes, loaded once per test binary.
pub fn divisions() -> &'static Divisions {
    static DIVISIONS: OnceLock<Divisions> = OnceLock::new();
    DIVISIONS.get_or_init(|| {
        Divisions::load(&deploy_dir().join("data/divisions")).expect("deploy/data/divisions loads")
    })
}

pub fn code(raw: &str) -> DivisionCode {
    DivisionCode::parse(raw).expect("six digits")
}

pub const DEPARTMENTS: &str = include_str!("departments.toml");

/// One matter per routing situation:
/// - GA-HJ-QY-GZDD: cross_province + province_wide (公安);
/// - JY-XJ-ZXZM: regional only (教育);
/// - RS-SYDJ: province_wide only (人社);
/// - SF-GZ-XL: cross_province only (司法).
pub const MATTERS: &str = include_str!("matters.toml");

pub const OFFICES: &str = include_str!("offices.toml");

pub const AGREEMENTS: &str = include_str!("agreements.toml");

pub fn catalog() -> Catalog {
    Catalog::from_toml(MATTERS, DEPARTMENTS).expect("fixture catalog is valid")
}

pub fn directory(catalog: &Catalog) -> Directory {
    Directory::from_toml(OFFICES, AGREEMENTS, divisions(), catalog)
        .expect("fixture directory is valid")
}

/// The inline catalog and directory with the real divisions and calendar.
pub fn reference() -> ReferenceData {
    let catalog = catalog();
    let directory = directory(&catalog);
    ReferenceData {
        divisions: divisions().clone(),
        calendar: WorkingCalendar::load(&deploy_dir().join("data/holidays"))
            .expect("deploy/data/holidays loads"),
        catalog,
        directory,
        bundles: Default::default(),
        issuers: Default::default(),
    }
}

/// The real seed data under deploy/, loaded once per test binary through `ReferenceData::load`.
pub fn seed() -> &'static ReferenceData {
    static REFERENCE: OnceLock<ReferenceData> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        ReferenceData::load(&deploy_dir()).unwrap_or_else(|e| panic!("deploy/ loads: {e}"))
    })
}

/// The day the routing and notice tests ask about: Monday 2 November 2026.
pub fn on() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()
}

/// One material of an inline matter.
pub struct InlineMaterial {
    pub code: String,
    pub name: String,
    pub required: bool,
    pub paper_original_required: bool,
}

impl InlineMaterial {
    pub fn new(code: &str, name: &str, required: bool, paper_original_required: bool) -> Self {
        Self {
            code: code.to_owned(),
            name: name.to_owned(),
            required,
            paper_original_required,
        }
    }
}

/// A minimal 公安 matter `code` offered under `modes` (a TOML array), picked up at the window,
/// with `materials` in the order given, one required review point and one review stage.
pub fn inline_matter(code: &str, modes: &str, materials: &[InlineMaterial]) -> String {
    let listed: String = materials
        .iter()
        .map(|m| {
            format!(
                r#"
[[matter.materials]]
code = "{}"
name = "{}"
required = {}
paper_original_required = {}
"#,
                m.code, m.name, m.required, m.paper_original_required
            )
        })
        .collect();
    format!(
        r#"
[[matter]]
code = "{code}"
name = "事项{code}"
name_en = "Matter {code}"
department = "gongan"
version = "1"
valid_from = "2026-01-01"
scopes = ["province_wide"]
modes = {modes}
conditions = "条件"
legal_basis = "依据"
legal_limit_days = 5
promised_limit_days = 5
fee_fen = 0
delivery_methods = ["window_pickup"]
{listed}
[[matter.review_points]]
code = "R1"
question = "是否符合条件？"
required = true

[[matter.stages]]
code = "review"
name = "审查"
working_days = 5
"#
    )
}

/// A catalog of the inline `matters` (each from [`inline_matter`]).
pub fn inline_catalog(matters: &[String]) -> Catalog {
    let text = format!("catalog_version = \"t\"\n{}", matters.concat());
    Catalog::from_toml(&text, DEPARTMENTS).expect("inline catalog is valid")
}

/// The bundles file of one 一件事 `YJS-T` of `members` (a TOML array), with the `provides` as
/// `(matter, material)`.
pub fn inline_bundle(members: &str, provides: &[(&str, &str)]) -> String {
    let provides: String = provides
        .iter()
        .map(|(matter, material)| {
            format!("\n[[bundle.provides]]\nmatter = \"{matter}\"\nmaterial = \"{material}\"\n")
        })
        .collect();
    format!(
        r#"
[[bundle]]
code = "YJS-T"
name = "测试一件事"
name_en = "Test bundle"
description = "几个事项一次办"
matters = {members}
{provides}"#
    )
}

/// `text` with `from` replaced by `to`; `from` must stand in `text` exactly once.
pub fn edit_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "fixture edit {from:?} must be unique"
    );
    text.replacen(from, to, 1)
}

/// The line number (from 1) of the first line of `text` that is exactly `line`.
pub fn line_of(text: &str, line: &str) -> usize {
    text.lines().position(|l| l == line).unwrap() + 1
}

/// Asserts that `err` refuses file `source` at line `line`.
pub fn assert_invalid_at(err: DataError, source: &str, line: usize) {
    match err {
        DataError::Invalid {
            source_name,
            line: at,
            ..
        } => {
            assert_eq!(source_name, source);
            assert_eq!(at, Some(line));
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// The error text of `parsed`, the result of a fixture edited from `from` to `to`, which must
/// have been refused.
pub fn refused<T, E: std::fmt::Display>(parsed: Result<T, E>, from: &str, to: &str) -> String {
    match parsed {
        Ok(_) => panic!("edit {from:?} → {to:?} should be refused"),
        Err(e) => e.to_string(),
    }
}
