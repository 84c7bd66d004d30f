//! DESIGN §4 routing on the inline fixtures (the seed data is checked in a2_seed_data.rs).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{code, on, reference};
use chrono::NaiveDate;
use tongban_domain::catalog::{Mode, Scope};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::reference::ReferenceData;
use tongban_domain::routing::{Route, RouteError, check_mode, resolve_route};

const WUTAI: &str = "140922-zwfw";
const GA: &str = "GA-HJ-QY-GZDD";
const JY: &str = "JY-XJ-ZXZM";

fn route(r: &ReferenceData, matter: &str, window: &str, home: &str) -> Result<Route, RouteError> {
    resolve_route(r, matter, window, &code(home), on())
}

fn ok(scope: Scope, office: &str, agreement: Option<&str>) -> Result<Route, RouteError> {
    Ok(Route {
        scope,
        responsible_office_id: office.to_owned(),
        agreement_id: agreement.map(str::to_owned),
    })
}

#[test]
fn wutai_to_yinchuan_is_cross_province() {
    let r = reference();
    assert_eq!(
        route(&r, GA, WUTAI, "640104"),
        ok(Scope::CrossProvince, "640100-gongan", None)
    );
    assert_eq!(
        route(&r, GA, WUTAI, "640100"),
        ok(Scope::CrossProvince, "640100-gongan", None)
    );
}

#[test]
fn wutai_to_taiyuan_is_province_wide() {
    let r = reference();
    assert_eq!(
        route(&r, GA, WUTAI, "140105"),
        ok(Scope::ProvinceWide, "140100-gongan", None)
    );
    // 定襄县 has no 公安 office of its own: 忻州市公安局, another division than 五台县.
    assert_eq!(
        route(&r, GA, WUTAI, "140921"),
        ok(Scope::ProvinceWide, "140900-gongan", None)
    );
    // 阳泉 has none at county or city level: the province's.
    assert_eq!(
        route(&r, GA, WUTAI, "140302"),
        ok(Scope::ProvinceWide, "140000-gongan", None)
    );
}

#[test]
fn same_county_is_local_and_county_office_wins() {
    let r = reference();
    assert_eq!(
        route(&r, GA, WUTAI, "140922"),
        ok(Scope::Local, "140922-gongan", None)
    );
}

#[test]
fn wutai_to_ordos_is_regional_via_the_agreement() {
    let r = reference();
    assert_eq!(
        route(&r, JY, WUTAI, "150602"),
        ok(Scope::Regional, "150600-jiaoyu", Some("XZ-EEDS-2021"))
    );
    // Last day in force.
    let last = NaiveDate::from_ymd_opt(2027, 12, 31).unwrap();
    assert_eq!(
        resolve_route(&r, JY, WUTAI, &code("150602"), last),
        ok(Scope::Regional, "150600-jiaoyu", Some("XZ-EEDS-2021"))
    );
}

#[test]
fn the_most_specific_agreement_wins() {
    let r = reference();
    // Both 忻州–鄂尔多斯 and the 晋蒙 framework cover 五台 → 东胜; the city agreement is chosen.
    assert_eq!(
        route(&r, JY, WUTAI, "150602"),
        ok(Scope::Regional, "150600-jiaoyu", Some("XZ-EEDS-2021"))
    );
    // Only the framework covers 呼和浩特.
    assert_eq!(
        route(&r, JY, WUTAI, "150102"),
        ok(Scope::Regional, "150100-jiaoyu", Some("JIN-MENG-2022"))
    );
}

#[test]
fn expired_or_missing_agreement_is_refused() {
    let r = reference();
    let no_agreement = |window: &str, office: &str| {
        Err(RouteError::NoAgreement {
            matter: JY.to_owned(),
            window_province: window.to_owned(),
            office_province: office.to_owned(),
        })
    };
    // The agreement ended on 2027-12-31.
    let after = NaiveDate::from_ymd_opt(2028, 1, 1).unwrap();
    assert_eq!(
        resolve_route(&r, JY, WUTAI, &code("150602"), after),
        no_agreement("140000", "150000")
    );
    // 忻州–西安 ended in 2022.
    assert_eq!(
        route(&r, JY, WUTAI, "610102"),
        no_agreement("140000", "610000")
    );
    // 银川's window is not a party of 忻州–鄂尔多斯, though 忻州 (the office) is.
    assert_eq!(
        route(&r, JY, "640100-zwfw", "140922"),
        no_agreement("640000", "140000")
    );
}

#[test]
fn scope_the_matter_does_not_allow_is_refused() {
    let r = reference();
    // 失业登记 is province-wide only; 鄂尔多斯 is another province.
    assert_eq!(
        route(&r, "RS-SYDJ", WUTAI, "150602"),
        Err(RouteError::ScopeNotAllowed {
            scope: Scope::CrossProvince,
            matter: "RS-SYDJ".into()
        })
    );
    // 学历公证 is cross-province only; 太原 is the same province.
    assert_eq!(
        route(&r, "SF-GZ-XL", WUTAI, "140105"),
        Err(RouteError::ScopeNotAllowed {
            scope: Scope::ProvinceWide,
            matter: "SF-GZ-XL".into()
        })
    );
    // 学籍证明 is regional only, but handling at home is always possible.
    assert_eq!(
        route(&r, JY, "150600-renshe", "150602"),
        ok(Scope::Local, "150600-jiaoyu", None),
        "same division is local even for a regional-only matter"
    );
}

#[test]
fn no_responsible_office() {
    let r = reference();
    assert_eq!(
        route(&r, GA, WUTAI, "320102"),
        Err(RouteError::NoResponsibleOffice {
            department: "gongan".into(),
            home_division: "320102".into()
        })
    );
}

#[test]
fn unknown_matter_unknown_window_and_non_window() {
    let r = reference();
    assert_eq!(
        route(&r, "XX-NOPE", WUTAI, "640104"),
        Err(RouteError::UnknownMatter("XX-NOPE".into()))
    );
    assert_eq!(
        route(&r, GA, "999999-zwfw", "640104"),
        Err(RouteError::UnknownWindow("999999-zwfw".into()))
    );
    assert_eq!(
        route(&r, GA, "140922-gongan", "640104"),
        Err(RouteError::NotAWindow("140922-gongan".into()))
    );
}

#[test]
fn mode_check() {
    let r = reference();
    let ga = r.catalog.matter(GA).unwrap();
    assert_eq!(check_mode(ga, Mode::Proxy), Ok(()));
    assert_eq!(
        check_mode(ga, Mode::Joint),
        Err(RouteError::ModeNotAllowed {
            mode: Mode::Joint,
            matter: GA.into()
        })
    );
}

#[test]
fn messages_name_what_is_involved() {
    let e = RouteError::NoAgreement {
        matter: JY.into(),
        window_province: "140000".into(),
        office_province: "610000".into(),
    };
    let zh = e.text(Lang::Zh);
    assert!(
        zh.contains(JY)
            && zh.contains("140000")
            && zh.contains("610000")
            && zh.contains("区域通办"),
        "{zh}"
    );
    let en = e.text(Lang::En);
    assert!(en.contains(JY) && en.contains("regional agreement"), "{en}");
    assert_eq!(e.to_string(), zh, "Display is the Chinese text");

    let e = RouteError::ScopeNotAllowed {
        scope: Scope::ProvinceWide,
        matter: "SF-GZ-XL".into(),
    };
    assert_eq!(e.text(Lang::Zh), "事项 SF-GZ-XL 不支持全省通办");
    let e = RouteError::ModeNotAllowed {
        mode: Mode::Joint,
        matter: GA.into(),
    };
    assert_eq!(e.text(Lang::Zh), "事项 GA-HJ-QY-GZDD 不支持多地联办模式");
    let e = RouteError::NoResponsibleOffice {
        department: "gongan".into(),
        home_division: "320102".into(),
    };
    assert!(e.text(Lang::Zh).contains("320102") && e.text(Lang::Zh).contains("gongan"));
    assert!(
        RouteError::NotAWindow("140922-gongan".into())
            .text(Lang::En)
            .contains("140922-gongan")
    );
}
