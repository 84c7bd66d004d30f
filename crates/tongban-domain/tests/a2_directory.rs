//! Directory parsing, validation and the responsible-office lookup on inline TOML.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{
    AGREEMENTS, OFFICES, assert_invalid_at, catalog, code, directory, divisions, edit_once,
    line_of, refused,
};
use chrono::NaiveDate;
use tongban_domain::directory::Directory;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn offices_error(from: &str, to: &str) -> String {
    let edited = edit_once(OFFICES, from, to);
    refused(
        Directory::from_toml(&edited, AGREEMENTS, divisions(), &catalog()),
        from,
        to,
    )
}

fn agreements_error(from: &str, to: &str) -> String {
    let edited = edit_once(AGREEMENTS, from, to);
    refused(
        Directory::from_toml(OFFICES, &edited, divisions(), &catalog()),
        from,
        to,
    )
}

/// Asserts that the edit `from` → `to` is refused with an error naming each of `words`.
fn offices_error_naming(from: &str, to: &str, words: &[&str]) {
    let e = offices_error(from, to);
    assert!(words.iter().all(|w| e.contains(w)), "{e}");
}

/// Asserts that the edit `from` → `to` is refused with an error naming each of `words`.
fn agreements_error_naming(from: &str, to: &str, words: &[&str]) {
    let e = agreements_error(from, to);
    assert!(words.iter().all(|w| e.contains(w)), "{e}");
}

#[test]
fn parses_offices_and_agreements() {
    let catalog = catalog();
    let dir = directory(&catalog);
    let window = dir.office("140922-zwfw").unwrap();
    assert_eq!(window.name, "五台县政务服务中心");
    assert_eq!(window.division.as_str(), "140922");
    assert!(window.is_window);
    assert!(window.departments.is_empty());
    assert_eq!(window.endpoint, "");
    assert_eq!(
        dir.office("640100-zwfw").unwrap().endpoint,
        "http://yinchuan.example:50051"
    );
    let both = dir.office("150600-renshe").unwrap();
    assert!(both.is_window && both.serves("renshe"));

    let ids: Vec<&str> = dir.offices().map(|o| o.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "offices() is sorted by id");
    assert_eq!(ids.len(), 13);

    let shanxi: Vec<&str> = dir
        .offices_with_prefix("14")
        .iter()
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(
        shanxi,
        [
            "140000-gongan",
            "140100-gongan",
            "140100-sifa",
            "140900-gongan",
            "140900-jiaoyu",
            "140922-gongan",
            "140922-zwfw"
        ]
    );
    let wutai: Vec<&str> = dir
        .offices_with_prefix("140922")
        .iter()
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(wutai, ["140922-gongan", "140922-zwfw"]);
    assert_eq!(dir.offices_with_prefix("").len(), 13);
    assert!(dir.offices_with_prefix("32").is_empty());

    let a = dir.agreement("XZ-EEDS-2021").unwrap();
    assert_eq!(a.parties, [code("140900"), code("150600")]);
    assert_eq!(a.matters, ["JY-XJ-ZXZM"]);
    assert_eq!(a.valid_from, date(2021, 6, 1));
    assert_eq!(a.valid_until, date(2027, 12, 31));
    assert_eq!(dir.agreements().count(), 3);
    assert_eq!(
        dir.agreement("XZ-XA-2020").unwrap().valid_until,
        date(2022, 12, 31)
    );
}

#[test]
fn agreement_validity_is_inclusive() {
    let catalog = catalog();
    let dir = directory(&catalog);
    let a = dir.agreement("XZ-EEDS-2021").unwrap();
    assert!(!a.in_force(date(2021, 5, 31)));
    assert!(a.in_force(date(2021, 6, 1)));
    assert!(a.in_force(date(2027, 12, 31)));
    assert!(!a.in_force(date(2028, 1, 1)));
}

#[test]
fn agreement_covers_divisions_within_its_parties() {
    let catalog = catalog();
    let dir = directory(&catalog);
    let a = dir.agreement("XZ-EEDS-2021").unwrap();
    let divs = divisions();
    assert!(a.covers_division(&code("140900"), divs), "the party itself");
    assert!(
        a.covers_division(&code("140922"), divs),
        "五台县 lies within 忻州市"
    );
    assert!(
        a.covers_division(&code("150602"), divs),
        "东胜区 lies within 鄂尔多斯市"
    );
    assert!(
        !a.covers_division(&code("140100"), divs),
        "太原 is not a party"
    );
    assert!(
        !a.covers_division(&code("140000"), divs),
        "the province is wider than the party"
    );
    assert!(!a.covers_division(&code("640100"), divs));
}

#[test]
fn responsible_office_prefers_the_most_specific_level() {
    let catalog = catalog();
    let dir = directory(&catalog);
    let divs = divisions();
    let id = |dept: &str, home: &str| {
        dir.responsible_office(dept, &code(home), divs)
            .map(|o| o.id.as_str())
    };
    assert_eq!(
        id("gongan", "140922"),
        Some("140922-gongan"),
        "county office over the city's"
    );
    assert_eq!(
        id("gongan", "140921"),
        Some("140900-gongan"),
        "定襄县 has none: the city's"
    );
    assert_eq!(
        id("gongan", "140302"),
        Some("140000-gongan"),
        "阳泉 has none: the province's"
    );
    assert_eq!(
        id("gongan", "140900"),
        Some("140900-gongan"),
        "a city locality"
    );
    assert_eq!(id("gongan", "640104"), Some("640100-gongan"));
    assert_eq!(id("gongan", "320102"), None, "nobody serves 南京");
    assert_eq!(id("renshe", "140922"), None);
    assert_eq!(id("nope", "140922"), None);
    assert_eq!(
        dir.office_for("gongan", &code("140921"))
            .map(|o| o.id.as_str()),
        None
    );
}

#[test]
fn refuses_duplicate_office_ids() {
    offices_error_naming(
        "id = \"140100-sifa\"",
        "id = \"140100-gongan\"",
        &["duplicate office id 140100-gongan"],
    );
    offices_error_naming(
        "id = \"610100-jiaoyu\"\nname = \"西安市教育局\"\ndivision = \"610100\"\ndepartments = [\"jiaoyu\"]",
        "id = \"140922-zwfw\"\nname = \"西安市教育局\"\ndivision = \"610100\"\ndepartments = [\"jiaoyu\"]",
        &["duplicate office id 140922-zwfw"],
    );
}

#[test]
fn refuses_two_offices_for_one_division_and_department() {
    offices_error_naming(
        "departments = [\"sifa\"]",
        "departments = [\"sifa\", \"gongan\"]",
        &["140100-sifa", "140100-gongan", "gongan"],
    );
}

#[test]
fn refuses_unknown_department_and_bad_divisions() {
    offices_error_naming(
        "departments = [\"sifa\"]",
        "departments = [\"gongzheng\"]",
        &["140100-sifa", "departments", "gongzheng"],
    );
    // 152700 伊克昭盟 was abolished in 2001.
    offices_error_naming(
        "division = \"610100\"",
        "division = \"152700\"",
        &["610100-jiaoyu", "division", "152700"],
    );
    offices_error_naming("division = \"610100\"", "division = \"61010\"", &["61010"]);
    offices_error_naming(
        "id = \"610100-jiaoyu\"",
        "id = \"610100_Jiaoyu\"",
        &["610100_Jiaoyu"],
    );
}

#[test]
fn refuses_bad_agreements() {
    agreements_error_naming(
        "matters = [\"JY-XJ-ZXZM\"]\nvalid_from = \"2021",
        "matters = [\"JY-NOPE\"]\nvalid_from = \"2021",
        &["XZ-EEDS-2021", "JY-NOPE"],
    );
    agreements_error_naming(
        "parties = [\"140900\", \"150600\"]",
        "parties = [\"140900\", \"152700\"]",
        &["XZ-EEDS-2021", "152700"],
    );
    agreements_error_naming(
        "parties = [\"140900\", \"150600\"]",
        "parties = [\"140900\"]",
        &["XZ-EEDS-2021", "parties"],
    );
    agreements_error_naming(
        "valid_until = \"2027-12-31\"",
        "valid_until = \"2020-12-31\"",
        &["XZ-EEDS-2021", "valid_until"],
    );
    agreements_error_naming(
        "id = \"XZ-XA-2020\"",
        "id = \"XZ-EEDS-2021\"",
        &["duplicate agreement id XZ-EEDS-2021"],
    );
}

#[test]
fn errors_carry_file_and_line() {
    let edited = OFFICES.replacen(
        "departments = [\"sifa\"]",
        "departments = [\"gongzheng\"]",
        1,
    );
    let err = Directory::from_toml(&edited, AGREEMENTS, divisions(), &catalog()).unwrap_err();
    let expected = line_of(OFFICES, "id = \"140100-sifa\"");
    assert_invalid_at(err, "offices.toml", expected);
}
