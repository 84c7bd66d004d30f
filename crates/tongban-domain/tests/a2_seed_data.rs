//! The real seed data under deploy/, loaded through `ReferenceData::load`, and its invariants.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{code, on, seed};
use std::collections::BTreeSet;

use chrono::NaiveDate;
use tongban_domain::catalog::{Mode, Scope};
use tongban_domain::division::DivisionCode;
use tongban_domain::i18n::Lang;
use tongban_domain::notice::render_notice;
use tongban_domain::routing::{JointRoute, RouteError, resolve_route};

const WUTAI: &str = "140922-zwfw";

/// Each part of `route` as (code, office, scope, the parts it waits for).
fn part_rows(route: &JointRoute) -> Vec<(&str, &str, Scope, Vec<String>)> {
    route
        .parts
        .iter()
        .map(|p| {
            (
                p.code.as_str(),
                p.office_id.as_str(),
                p.scope,
                p.after.clone(),
            )
        })
        .collect()
}

#[test]
fn catalog_invariants() {
    let r = seed();
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
    let r = seed();
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
    let r = seed();
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
    let r = seed();
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
    let r = seed();
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

/// 多地联办: every joint matter of the seed is split into parts that all route from 五台's
/// window for an applicant moving from 银川 (兴庆区, 640104) to 五台 (140922), each part to a
/// different office, and the part order is the one the real procedure has.
#[test]
fn joint_matters_route_every_part_from_wutai() {
    use tongban_domain::catalog::Locality;
    use tongban_domain::routing::resolve_parts;

    let r = seed();
    let home = code("640104");
    let destination = code("140922");
    let joint: Vec<_> = r
        .catalog
        .matters()
        .filter(|m| m.allows_mode(Mode::Joint))
        .collect();
    assert!(joint.len() >= 8, "only {} joint matters", joint.len());
    for m in r.catalog.matters() {
        if m.allows_mode(Mode::Joint) {
            assert!(m.parts.len() >= 2, "{}: parts", m.code);
        } else {
            assert!(m.parts.is_empty(), "{}: parts without joint", m.code);
        }
    }
    for m in &joint {
        let route = resolve_parts(r, &m.code, WUTAI, &home, Some(&destination), on())
            .unwrap_or_else(|e| panic!("{}: {e}", m.code));
        assert_eq!(route.scope, Scope::CrossProvince, "{}", m.code);
        assert_eq!(route.parts.len(), m.parts.len(), "{}", m.code);
        assert_eq!(route.responsible_office_id, route.parts[0].office_id);
        for (part, routed) in m.parts.iter().zip(&route.parts) {
            assert_eq!(part.code, routed.code, "{}", m.code);
            assert_eq!(part.after, routed.after, "{}/{}", m.code, part.code);
            let office = r.directory.office(&routed.office_id).unwrap();
            assert!(
                office.departments.contains(&part.department),
                "{}/{}: {} does not serve {}",
                m.code,
                part.code,
                office.id,
                part.department
            );
            // Each part goes to its own locality: 宁夏 for the home side, 山西 for the
            // destination side.
            let expected_province = match part.locality {
                Locality::HomeDivision => "640000",
                Locality::DestinationDivision => "140000",
            };
            assert_eq!(
                office.division.province_code().as_str(),
                expected_province,
                "{}/{}: {}",
                m.code,
                part.code,
                office.id
            );
        }
    }

    // 户口迁移 (one-stop, 跨省通办): 迁入地 approves first, then 迁出地 moves the record out.
    let gzdd = resolve_parts(r, "GA-HJ-QY-GZDD", WUTAI, &home, Some(&destination), on()).unwrap();
    assert_eq!(
        part_rows(&gzdd),
        [
            ("QR", "140922-gongan", Scope::Local, vec![]),
            (
                "QC",
                "640100-gongan",
                Scope::CrossProvince,
                vec!["QR".to_owned()]
            ),
        ]
    );
    assert_eq!(gzdd.responsible_office_id, "140922-gongan");
    assert_eq!(gzdd.agreement_id, None);
    // The 迁出 side answers its own review point only.
    let matter = r.catalog.matter("GA-HJ-QY-GZDD").unwrap();
    assert_eq!(matter.part("QC").unwrap().review_points, ["R_QC"]);
    assert!(matter.review_point("R_QC").unwrap().required);

    // 养老保险关系转移接续: 转出地 first, then 转入地.
    for code_ in ["RS-YL-QYZG-ZY", "RS-YL-CXJM-ZY"] {
        let route = resolve_parts(r, code_, WUTAI, &home, Some(&destination), on()).unwrap();
        let parts: Vec<_> = route
            .parts
            .iter()
            .map(|p| (p.code.as_str(), p.office_id.as_str(), p.after.clone()))
            .collect();
        assert_eq!(
            parts,
            [
                ("ZC", "640100-renshe", vec![]),
                ("ZR", "140922-renshe", vec!["ZC".to_owned()]),
            ],
            "{code_}"
        );
    }

    // 住房公积金异地转移接续: both sides start at once (五台 has no 公积金 office of its own, so
    // 忻州's serves it, 全省通办 from the window).
    let gjj = resolve_parts(r, "GJJ-ZY-JX", WUTAI, &home, Some(&destination), on()).unwrap();
    assert_eq!(
        part_rows(&gjj),
        [
            ("ZR", "140900-gjj", Scope::ProvinceWide, vec![]),
            ("ZC", "640100-gjj", Scope::CrossProvince, vec![]),
        ]
    );

    // Without a destination the 迁入地 part cannot be routed.
    assert!(matches!(
        resolve_parts(r, "GA-HJ-QY-GZDD", WUTAI, &home, None, on()),
        Err(RouteError::MissingDestination { .. })
    ));
}

/// 一件事一次办: every bundle's members route from 五台's window for a local applicant, share a
/// mode and a delivery method, and the materials several members need are asked for once.
#[test]
fn bundles_route_from_wutai_and_ask_shared_materials_once() {
    use tongban_domain::bundle::{bundle_materials, common_delivery_methods, common_modes};

    let r = seed();
    let expected = [
        (
            "YJS-CS",
            &[
                "WJ-CSYXZM-QF",
                "WJ-SY-DJ",
                "GA-HJ-CSDJ",
                "YB-CB-CXJM",
                "RS-SBK-SL",
            ][..],
        ),
        ("YJS-TX", &["RS-YL-TXSP", "YB-TX-DYHD", "GJJ-TQ-TX"][..]),
        (
            "YJS-QYKB",
            &["SC-QY-NZSL", "GA-YZ-KZBA", "RS-SB-DWDJ", "GJJ-DW-JCDJ"][..],
        ),
    ];
    assert_eq!(r.bundles.iter().count(), expected.len());
    let home = code("140922");
    for (bundle_code, members) in expected {
        let bundle = r
            .bundles
            .get(bundle_code)
            .unwrap_or_else(|| panic!("bundle {bundle_code}"));
        assert_eq!(bundle.matters, members, "{bundle_code}");
        assert!(
            bundle.description.contains("国发〔2024〕3号"),
            "{bundle_code}: cites the policy"
        );
        for member in members {
            let route = resolve_route(r, member, WUTAI, &home, on())
                .unwrap_or_else(|e| panic!("{bundle_code}/{member}: {e}"));
            assert!(
                matches!(route.scope, Scope::Local | Scope::ProvinceWide),
                "{bundle_code}/{member}: {route:?}"
            );
            assert!(
                route.responsible_office_id.starts_with("1409"),
                "{bundle_code}/{member}: {route:?}"
            );
        }
        assert!(
            !common_modes(&r.catalog, bundle).is_empty(),
            "{bundle_code}"
        );
        assert!(
            !common_delivery_methods(&r.catalog, bundle).is_empty(),
            "{bundle_code}"
        );

        let materials = bundle_materials(&r.catalog, bundle);
        let codes: Vec<&str> = materials.iter().map(|m| m.material.code.as_str()).collect();
        let unique: BTreeSet<&str> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len(), "{bundle_code}: {codes:?}");
        let sfz: Vec<_> = materials
            .iter()
            .filter(|m| m.material.code == "SFZ")
            .collect();
        assert_eq!(sfz.len(), 1, "{bundle_code}: SFZ once");
        assert!(
            sfz[0].matter_codes.len() >= 3,
            "{bundle_code}: SFZ shared by {:?}",
            sfz[0].matter_codes
        );
        assert!(sfz[0].material.required, "{bundle_code}");
        assert!(
            sfz[0].material.accepts_certificate("111"),
            "{bundle_code}: e-ID replaces SFZ"
        );
    }

    // 出生一件事: the parents' ID, the 出生医学证明, the 户口簿 and the 结婚证 are each asked for
    // once, and the paper 出生医学证明 travels (户口登记机关 keeps its 副页).
    let cs = r.bundles.get("YJS-CS").unwrap();
    let materials = bundle_materials(&r.catalog, cs);
    let shared = |code_: &str| {
        materials
            .iter()
            .find(|m| m.material.code == code_)
            .unwrap_or_else(|| panic!("YJS-CS lists {code_}"))
    };
    assert_eq!(shared("SFZ").matter_codes, cs.matters);
    assert_eq!(
        shared("CSZM").matter_codes,
        ["WJ-SY-DJ", "GA-HJ-CSDJ", "YB-CB-CXJM"]
    );
    // The 出生医学证明 is the result of the first member: the applicant is not asked for it.
    assert!(!shared("CSZM").material.required);
    assert_eq!(shared("CSZM").provided_by.as_deref(), Some("WJ-CSYXZM-QF"));
    assert!(shared("CSZM").material.paper_original_required);
    assert!(shared("HKB").matter_codes.len() >= 3);
    assert!(shared("JHZ").matter_codes.len() >= 3);

    // 退休一件事: the bank card for the pension and the withdrawal is asked for once.
    let tx = r.bundles.get("YJS-TX").unwrap();
    let materials = bundle_materials(&r.catalog, tx);
    let yhk = materials.iter().find(|m| m.material.code == "YHK").unwrap();
    assert_eq!(yhk.matter_codes, ["RS-YL-TXSP", "GJJ-TQ-TX"]);

    // 企业开办一件事: the business licence is shared by the three follow-up registrations.
    let kb = r.bundles.get("YJS-QYKB").unwrap();
    let materials = bundle_materials(&r.catalog, kb);
    let yyzz = materials
        .iter()
        .find(|m| m.material.code == "YYZZ")
        .unwrap();
    assert_eq!(
        yyzz.matter_codes,
        ["GA-YZ-KZBA", "RS-SB-DWDJ", "GJJ-DW-JCDJ"]
    );
}
