//! The real seed data under deploy/, loaded through `ReferenceData::load`, and its invariants.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::NaiveDate;
use tongban_domain::catalog::{Mode, Scope};
use tongban_domain::division::DivisionCode;
use tongban_domain::i18n::Lang;
use tongban_domain::notice::render_notice;
use tongban_domain::reference::ReferenceData;
use tongban_domain::routing::{RouteError, resolve_route};

fn reference() -> &'static ReferenceData {
    static REFERENCE: OnceLock<ReferenceData> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let deploy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        ReferenceData::load(&deploy).unwrap_or_else(|e| panic!("deploy/ loads: {e}"))
    })
}

fn code(raw: &str) -> DivisionCode {
    DivisionCode::parse(raw).unwrap()
}

fn on() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()
}

const WUTAI: &str = "140922-zwfw";

#[test]
fn catalog_invariants() {
    let r = reference();
    assert!(!r.catalog.version().is_empty());
    let matters: Vec<_> = r.catalog.matters().collect();
    assert!(matters.len() >= 20, "only {} matters", matters.len());
    for dept in [
        "gongan", "renshe", "yibao", "minzheng", "gjj", "weijian", "shichang", "jiaoyu", "sifa",
    ] {
        assert!(
            r.catalog.department(dept).is_some(),
            "department {dept} missing"
        );
    }
    for m in &matters {
        assert!(
            r.catalog.department(&m.department).is_some(),
            "{}: department",
            m.code
        );
        let days: u32 = m.stages.iter().map(|s| s.working_days).sum();
        assert_eq!(days, m.promised_limit_days, "{}: stage days", m.code);
        assert!(
            0 < m.promised_limit_days && m.promised_limit_days <= m.legal_limit_days,
            "{}",
            m.code
        );
        assert!(!m.scopes.is_empty() && !m.modes.is_empty(), "{}", m.code);
        assert!(
            m.review_points.iter().any(|p| p.required),
            "{}: required review point",
            m.code
        );
        assert!(
            m.materials.iter().any(|x| x.required),
            "{}: no required material",
            m.code
        );
        assert!(m.fee_fen >= 0, "{}", m.code);
    }
    // The work plan's items are there.
    for name in [
        "社会保障卡",
        "异地就医",
        "养老保险",
        "户口迁移",
        "住房公积金",
        "失业登记",
        "结婚登记",
        "生育登记",
    ] {
        assert!(
            matters.iter().any(|m| m.name.contains(name)),
            "no matter named …{name}…"
        );
    }
    assert!(
        matters
            .iter()
            .filter(|m| m.name.contains("户口迁移"))
            .count()
            >= 3,
        "several kinds of 户口迁移"
    );
    for scope in [Scope::ProvinceWide, Scope::CrossProvince, Scope::Regional] {
        assert!(
            matters.iter().any(|m| m.allows_scope(scope)),
            "no matter allows {scope}"
        );
    }
    for mode in [Mode::Online, Mode::Proxy, Mode::Joint] {
        assert!(
            matters.iter().any(|m| m.allows_mode(mode)),
            "no matter allows {mode}"
        );
    }
}

#[test]
fn directory_invariants() {
    let r = reference();
    let offices: Vec<_> = r.directory.offices().collect();
    let provinces: BTreeSet<DivisionCode> =
        offices.iter().map(|o| o.division.province_code()).collect();
    assert!(
        provinces.len() >= 8,
        "offices in only {} provinces",
        provinces.len()
    );
    for o in &offices {
        if o.is_window {
            assert!(
                r.divisions.get(&o.division).is_some(),
                "window {} division",
                o.id
            );
        }
        for d in &o.departments {
            assert!(r.catalog.department(d).is_some(), "{}: {d}", o.id);
        }
    }
    // One office per (division, department).
    let mut pairs = BTreeSet::new();
    for o in &offices {
        for d in &o.departments {
            assert!(
                pairs.insert((o.division.clone(), d.clone())),
                "{} {d} twice",
                o.division
            );
        }
    }
    // Every province with offices has a window.
    for p in &provinces {
        assert!(
            offices
                .iter()
                .any(|o| o.is_window && &o.division.province_code() == p),
            "no window in {p}"
        );
    }
    let wutai = r.directory.office(WUTAI).expect("五台 window");
    assert!(wutai.is_window);
    assert_eq!(wutai.division.as_str(), "140922");

    let agreements: Vec<_> = r.directory.agreements().collect();
    assert!(!agreements.is_empty());
    for a in &agreements {
        assert!(a.valid_from <= a.valid_until, "{}", a.id);
        assert!(a.parties.len() >= 2, "{}", a.id);
        for m in &a.matters {
            assert!(
                r.catalog.matter(m).is_some(),
                "{}: unknown matter {m}",
                a.id
            );
        }
        assert!(
            a.matters
                .iter()
                .any(|m| r.catalog.matter(m).unwrap().allows_scope(Scope::Regional)),
            "{}: lists no regional matter",
            a.id
        );
    }
    assert!(
        agreements.iter().any(|a| a.in_force(on())
            && a.covers_division(&code("140922"), &r.divisions)
            && a.covers_division(&code("150600"), &r.divisions)),
        "an agreement joins 五台 and 鄂尔多斯"
    );
}

#[test]
fn wutai_routes_to_the_plans_partners() {
    let r = reference();
    let ga = "GA-HJ-QY-GZDD";
    let route = resolve_route(r, ga, WUTAI, &code("640104"), on()).unwrap();
    assert_eq!(
        (route.scope, route.responsible_office_id.as_str()),
        (Scope::CrossProvince, "640100-gongan")
    );
    assert_eq!(route.agreement_id, None);

    let route = resolve_route(r, ga, WUTAI, &code("140105"), on()).unwrap();
    assert_eq!(
        (route.scope, route.responsible_office_id.as_str()),
        (Scope::ProvinceWide, "140100-gongan")
    );

    // The county's own office wins over 忻州's.
    let route = resolve_route(r, ga, WUTAI, &code("140922"), on()).unwrap();
    assert_eq!(
        (route.scope, route.responsible_office_id.as_str()),
        (Scope::Local, "140922-gongan")
    );
}

#[test]
fn wutai_to_ordos_is_regional_for_an_agreement_matter() {
    let r = reference();
    let regional_only = r
        .directory
        .agreement("XZ-EEDS-2021")
        .expect("忻州–鄂尔多斯 agreement")
        .matters
        .iter()
        .filter_map(|m| r.catalog.matter(m))
        .find(|m| m.allows_scope(Scope::Regional) && !m.allows_scope(Scope::CrossProvince))
        .expect("a regional-only matter in the agreement");
    let route = resolve_route(r, &regional_only.code, WUTAI, &code("150602"), on()).unwrap();
    assert_eq!(route.scope, Scope::Regional);
    assert!(
        route.responsible_office_id.starts_with("150600-"),
        "{route:?}"
    );
    assert_eq!(route.agreement_id.as_deref(), Some("XZ-EEDS-2021"));

    // After every agreement has ended the same case is refused.
    let later = NaiveDate::from_ymd_opt(2040, 1, 1).unwrap();
    assert!(matches!(
        resolve_route(r, &regional_only.code, WUTAI, &code("150602"), later),
        Err(RouteError::NoAgreement { .. })
    ));
}

#[test]
fn notices_render_for_every_matter() {
    let r = reference();
    let window = r.directory.office(WUTAI).unwrap();
    for m in r.catalog.matters() {
        let route = resolve_route(r, &m.code, WUTAI, &code("640104"), on());
        let text = render_notice(
            r,
            m,
            window,
            route.as_ref().ok(),
            route.as_ref().err(),
            Lang::Zh,
        );
        assert!(text.contains(&m.name) && text.contains(&m.code), "{text}");
        for material in &m.materials {
            assert!(
                text.contains(&material.name),
                "{}: {}",
                m.code,
                material.name
            );
        }
    }
}
