//! Catalog parsing and validation on inline TOML.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{DEPARTMENTS, MATTERS, assert_invalid_at, catalog, edit_once, line_of, refused};
use chrono::NaiveDate;
use tongban_domain::catalog::{Catalog, DeliveryMethod, Mode, Scope, certificate_type_name};
use tongban_domain::data::DataError;
use tongban_domain::i18n::{Lang, Localized};

/// Parses `MATTERS` with `from` replaced by `to` (exactly once) and returns the error text.
fn error_after(from: &str, to: &str) -> String {
    let edited = edit_once(MATTERS, from, to);
    refused(Catalog::from_toml(&edited, DEPARTMENTS), from, to)
}

/// Asserts that the edit `from` → `to` is refused with an error naming each of `words`.
fn error_after_naming(from: &str, to: &str, words: &[&str]) {
    let e = error_after(from, to);
    assert!(words.iter().all(|w| e.contains(w)), "{e}");
}

#[test]
fn parses_every_field() {
    let catalog = catalog();
    assert_eq!(catalog.version(), "2026.11.1");
    let codes: Vec<&str> = catalog.matters().map(|m| m.code.as_str()).collect();
    assert_eq!(
        codes,
        ["GA-HJ-QY-GZDD", "JY-XJ-ZXZM", "RS-SYDJ", "SF-GZ-XL"]
    );

    let m = catalog.matter("GA-HJ-QY-GZDD").unwrap();
    assert_eq!(m.name, "户口迁移（工作调动）");
    assert_eq!(m.department, "gongan");
    assert_eq!(m.version, "2");
    assert_eq!(m.valid_from, NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
    assert_eq!(m.scopes, [Scope::CrossProvince, Scope::ProvinceWide]);
    assert_eq!(m.modes, [Mode::Online, Mode::Proxy]);
    assert_eq!(m.legal_limit_days, 20);
    assert_eq!(m.promised_limit_days, 10);
    assert_eq!(m.fee_fen, 0);
    assert_eq!(
        m.delivery_methods,
        [DeliveryMethod::WindowPickup, DeliveryMethod::Mail]
    );
    assert_eq!(m.materials.len(), 4);
    let sfz = m.material("SFZ").unwrap();
    assert!(sfz.required && !sfz.paper_original_required);
    assert_eq!(sfz.accepted_certificate_types, ["111"]);
    assert_eq!(sfz.notes, "核验原件");
    assert_eq!(
        m.material("HKB").unwrap().notes,
        "",
        "notes default to empty"
    );
    assert!(m.material("NOPE").is_none());
    assert!(m.review_point("R1").unwrap().required);
    assert!(!m.review_point("R3").unwrap().required);
    let stages: Vec<(&str, u32)> = m
        .stages
        .iter()
        .map(|s| (s.code.as_str(), s.working_days))
        .collect();
    assert_eq!(stages, [("accept", 1), ("review", 7), ("decide", 2)]);

    // A TOML local date is read as well as a quoted one.
    let jy = catalog.matter("JY-XJ-ZXZM").unwrap();
    assert_eq!(jy.valid_from, NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
    assert_eq!(
        jy.delivery_methods,
        [DeliveryMethod::Mail, DeliveryMethod::ECertificate]
    );
    assert_eq!(jy.fee_fen, 1250);

    assert_eq!(catalog.department("gongan").unwrap().name, "公安");
    assert_eq!(
        catalog.department("sifa").unwrap().name_en,
        "Justice (notarisation)"
    );
    assert!(catalog.department("nope").is_none());
    assert_eq!(catalog.departments().count(), 4);
}

#[test]
fn scope_and_mode_queries() {
    let catalog = catalog();
    let ga = catalog.matter("GA-HJ-QY-GZDD").unwrap();
    assert!(
        ga.allows_scope(Scope::Local),
        "local handling needs no listing"
    );
    assert!(ga.allows_scope(Scope::CrossProvince));
    assert!(!ga.allows_scope(Scope::Regional));
    assert!(ga.allows_mode(Mode::Proxy));
    assert!(!ga.allows_mode(Mode::Joint));
}

#[test]
fn enum_names_and_texts() {
    assert_eq!(
        serde_json::to_string(&DeliveryMethod::ECertificate).unwrap(),
        "\"e_certificate\""
    );
    assert_eq!(
        serde_json::to_string(&Scope::CrossProvince).unwrap(),
        "\"cross_province\""
    );
    assert_eq!(
        serde_json::from_str::<Mode>("\"joint\"").unwrap(),
        Mode::Joint
    );
    assert_eq!(
        "province_wide".parse::<Scope>().unwrap(),
        Scope::ProvinceWide
    );
    assert!("provincewide".parse::<Scope>().is_err());
    assert_eq!(Scope::Local.text(Lang::Zh), "本地办理");
    assert_eq!(Scope::ProvinceWide.text(Lang::Zh), "全省通办");
    assert_eq!(Scope::CrossProvince.text(Lang::Zh), "跨省通办");
    assert_eq!(Scope::Regional.text(Lang::Zh), "区域通办");
    assert_eq!(Mode::Online.text(Lang::Zh), "全程网办");
    assert_eq!(Mode::Proxy.text(Lang::Zh), "异地代收代办");
    assert_eq!(Mode::Joint.text(Lang::Zh), "多地联办");
    assert_eq!(DeliveryMethod::WindowPickup.text(Lang::Zh), "窗口领取");
    assert_eq!(DeliveryMethod::Mail.text(Lang::Zh), "邮寄");
    assert_eq!(DeliveryMethod::ECertificate.text(Lang::Zh), "电子证照");
    assert_eq!(Scope::Regional.text(Lang::En), "Regional");
    assert_eq!(certificate_type_name("125", Lang::Zh), Some("准迁证"));
    assert_eq!(certificate_type_name("126", Lang::Zh), None);
}

#[test]
fn refuses_promised_over_legal_naming_matter_and_field() {
    error_after_naming(
        "legal_limit_days = 20",
        "legal_limit_days = 9",
        &["GA-HJ-QY-GZDD", "promised_limit_days"],
    );
}

#[test]
fn refuses_zero_promised_limit() {
    error_after_naming(
        "promised_limit_days = 1\n",
        "promised_limit_days = 0\n",
        &["RS-SYDJ", "promised_limit_days"],
    );
}

#[test]
fn refuses_stage_days_not_summing_to_promised() {
    error_after_naming(
        "working_days = 7",
        "working_days = 6",
        &["GA-HJ-QY-GZDD", "stages", "9"],
    );
}

#[test]
fn refuses_unknown_department() {
    error_after_naming(
        "department = \"sifa\"",
        "department = \"gongzheng\"",
        &["SF-GZ-XL", "department", "gongzheng"],
    );
}

#[test]
fn refuses_empty_scopes_local_scope_and_unknown_names() {
    error_after_naming(
        "scopes = [\"regional\"]",
        "scopes = []",
        &["JY-XJ-ZXZM", "scopes"],
    );
    error_after_naming(
        "scopes = [\"regional\"]",
        "scopes = [\"local\"]",
        &["JY-XJ-ZXZM", "scopes"],
    );
    error_after_naming(
        "scopes = [\"regional\"]",
        "scopes = [\"regional\", \"regional\"]",
        &["duplicate"],
    );
    error_after_naming(
        "modes = [\"proxy\"]",
        "modes = [\"courier\"]",
        &["JY-XJ-ZXZM", "modes", "courier"],
    );
    error_after_naming(
        "delivery_methods = [\"mail\"]",
        "delivery_methods = []",
        &["SF-GZ-XL", "delivery_methods"],
    );
}

#[test]
fn refuses_duplicate_codes() {
    // Duplicate matter code.
    error_after_naming(
        "code = \"RS-SYDJ\"",
        "code = \"SF-GZ-XL\"",
        &["SF-GZ-XL", "duplicate matter code"],
    );
    // Duplicate material code within a matter.
    error_after_naming(
        "code = \"HKB\"",
        "code = \"SFZ\"",
        &["GA-HJ-QY-GZDD", "materials[SFZ]"],
    );
    // Duplicate review point code.
    error_after_naming(
        "code = \"R3\"",
        "code = \"R2\"",
        &["GA-HJ-QY-GZDD", "review_points[R2]"],
    );
    // Duplicate stage code.
    error_after_naming(
        "code = \"decide\"",
        "code = \"review\"",
        &["GA-HJ-QY-GZDD", "stages[review]"],
    );
}

#[test]
fn refuses_matter_without_required_review_point() {
    error_after_naming(
        "question = \"学历证书是否真实？\"\nrequired = true",
        "question = \"学历证书是否真实？\"\nrequired = false",
        &["SF-GZ-XL", "review_points"],
    );
}

#[test]
fn refuses_bad_codes_and_certificate_types() {
    error_after_naming("code = \"SF-GZ-XL\"", "code = \"sf-gz-xl\"", &["sf-gz-xl"]);
    error_after_naming(
        "accepted_certificate_types = [\"118\", \"122\"]",
        "accepted_certificate_types = [\"999\"]",
        &["SF-GZ-XL", "999"],
    );
    error_after_naming(
        "valid_from = \"2025-01-01\"",
        "valid_from = \"2025-13-01\"",
        &["GA-HJ-QY-GZDD", "valid_from"],
    );
}

#[test]
fn errors_carry_file_and_line() {
    let edited = MATTERS.replacen("promised_limit_days = 10", "promised_limit_days = 21", 1);
    let err = Catalog::from_toml(&edited, DEPARTMENTS).unwrap_err();
    let expected_line = line_of(MATTERS, "code = \"GA-HJ-QY-GZDD\"");
    assert_invalid_at(err, "matters.toml", expected_line);

    // A field the schema does not know is refused (typos do not pass silently).
    let edited = MATTERS.replacen("fee_fen = 8000", "fee_fen = 8000\nfee_yuan = 80", 1);
    let err = Catalog::from_toml(&edited, DEPARTMENTS).unwrap_err();
    assert!(err.to_string().contains("fee_yuan"), "{err}");
    assert!(matches!(err, DataError::Invalid { line: Some(_), .. }));
}

#[test]
fn refuses_bad_departments() {
    let dup =
        format!("{DEPARTMENTS}\n[[department]]\ncode = \"sifa\"\nname = \"x\"\nname_en = \"x\"\n");
    let e = Catalog::from_toml(MATTERS, &dup).unwrap_err().to_string();
    assert!(e.contains("departments.toml") && e.contains("sifa"), "{e}");
    let bad = DEPARTMENTS.replacen("code = \"sifa\"", "code = \"Sifa\"", 1);
    let e = Catalog::from_toml(MATTERS, &bad).unwrap_err().to_string();
    assert!(e.contains("Sifa"), "{e}");
}

#[test]
fn load_reports_missing_file() {
    let err = Catalog::load(std::path::Path::new("/nonexistent/catalog")).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
}

#[test]
fn result_certificate_type_is_optional_and_needs_e_certificate_delivery() {
    // Absent: no result certificate.
    let plain = catalog();
    assert!(plain.matters().all(|m| {
        m.result_certificate_for(DeliveryMethod::ECertificate)
            .is_none()
    }));
    // Listed for a matter offering e_certificate: issued for that delivery only.
    let edited = MATTERS.replacen(
        "delivery_methods = [\"mail\", \"e_certificate\"]\n",
        "delivery_methods = [\"mail\", \"e_certificate\"]\nresult_certificate_type = \"126\"\n",
        1,
    );
    let with = Catalog::from_toml(&edited, DEPARTMENTS).expect("valid");
    let matter = with
        .matters()
        .find(|m| m.result_certificate_type.is_some())
        .expect("one matter issues a result certificate");
    assert_eq!(
        matter.result_certificate_for(DeliveryMethod::ECertificate),
        Some("126")
    );
    assert_eq!(matter.result_certificate_for(DeliveryMethod::Mail), None);
    // Refused: not three digits, or the matter does not deliver e-certificates.
    error_after_naming(
        "delivery_methods = [\"mail\", \"e_certificate\"]\n",
        "delivery_methods = [\"mail\", \"e_certificate\"]\nresult_certificate_type = \"12A\"\n",
        &["result_certificate_type"],
    );
    error_after_naming(
        "delivery_methods = [\"mail\"]\n",
        "delivery_methods = [\"mail\"]\nresult_certificate_type = \"126\"\n",
        &["e_certificate"],
    );
}

#[test]
fn extension_allowance_defaults_to_ten_and_may_only_be_lower() {
    assert!(
        catalog()
            .matters()
            .all(|m| m.extension_allowance_days == 10)
    );
    let edited = MATTERS.replacen(
        "delivery_methods = [\"mail\", \"e_certificate\"]\n",
        "delivery_methods = [\"mail\", \"e_certificate\"]\nextension_allowance_days = 5\n",
        1,
    );
    let with = Catalog::from_toml(&edited, DEPARTMENTS).expect("valid");
    assert_eq!(
        with.matters()
            .filter(|m| m.extension_allowance_days == 5)
            .count(),
        1
    );
    error_after_naming(
        "delivery_methods = [\"mail\", \"e_certificate\"]\n",
        "delivery_methods = [\"mail\", \"e_certificate\"]\nextension_allowance_days = 11\n",
        &["extension_allowance_days"],
    );
}
