//! 一件事 members that need another member's result: the loader's rules for
//! `[[bundle.provides]]` on a minimal inline catalog, what the applicant is asked for, and the
//! members each member waits for ([`prerequisites`]) in the seed bundles under deploy/.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{InlineMaterial, inline_bundle, inline_catalog, inline_matter, seed};
use tongban_domain::bundle::{Bundles, Provision, bundle_materials, prerequisites};
use tongban_domain::catalog::Catalog;

/// A matter listing `SFZ` (required) and each of `materials` as `(code, required)`.
fn matter(code: &str, materials: &[(&str, bool)]) -> String {
    let mut listed = vec![InlineMaterial::new("SFZ", "居民身份证", true, false)];
    listed.extend(
        materials
            .iter()
            .map(|(m, required)| InlineMaterial::new(m, &format!("材料{m}"), *required, false)),
    );
    inline_matter(code, r#"["online"]"#, &listed)
}

/// P issues the licence `ZZ` that A requires and B lists as optional; Q issues `QQ` that B
/// requires; C lists neither.
fn catalog() -> Catalog {
    let matters = [
        matter("P-1", &[("OWN_P", true)]),
        matter("Q-1", &[("ZZ", false)]),
        matter("A-1", &[("ZZ", true)]),
        matter("B-1", &[("ZZ", false), ("QQ", true)]),
        matter("C-1", &[("OWN_C", true)]),
    ];
    inline_catalog(&matters)
}

fn load(members: &str, provides: &[(&str, &str)]) -> Result<Bundles, String> {
    Bundles::from_toml(
        &inline_bundle(members, provides),
        "bundles.toml",
        &catalog(),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_provided_material_is_listed_but_not_asked_for() {
    let c = catalog();
    let bundles = load(r#"["P-1", "A-1", "B-1", "C-1"]"#, &[("P-1", "ZZ")]).expect("loads");
    let b = bundles.get("YJS-T").expect("the bundle");
    assert_eq!(
        b.provides,
        [Provision {
            matter: "P-1".to_owned(),
            material: "ZZ".to_owned(),
        }]
    );
    assert_eq!(b.provider_of("ZZ"), Some("P-1"));
    assert_eq!(b.provider_of("SFZ"), None);

    let materials = bundle_materials(&c, b);
    let zz = materials
        .iter()
        .find(|m| m.material.code == "ZZ")
        .expect("ZZ stays in the list");
    assert!(!zz.material.required, "the applicant is not asked for ZZ");
    assert_eq!(zz.provided_by.as_deref(), Some("P-1"));
    assert_eq!(zz.matter_codes, ["A-1", "B-1"]);
    // Everything else as before: required when a member requires it, no provider.
    for m in materials.iter().filter(|m| m.material.code != "ZZ") {
        assert_eq!(m.provided_by, None, "{}", m.material.code);
    }
    let sfz = materials
        .iter()
        .find(|m| m.material.code == "SFZ")
        .expect("SFZ");
    assert!(sfz.material.required);

    // A and B list ZZ: they wait for P. P and C wait for nobody.
    assert_eq!(prerequisites(&c, b, "A-1"), ["P-1"]);
    assert_eq!(
        prerequisites(&c, b, "B-1"),
        ["P-1"],
        "an optional ZZ counts"
    );
    assert!(prerequisites(&c, b, "P-1").is_empty());
    assert!(prerequisites(&c, b, "C-1").is_empty());
    assert!(prerequisites(&c, b, "X-9").is_empty(), "not a matter");
}

#[test]
fn a_member_may_wait_for_several_providers() {
    let c = catalog();
    let bundles = load(r#"["P-1", "Q-1", "B-1"]"#, &[("P-1", "ZZ"), ("Q-1", "QQ")]);
    // Q lists ZZ too, so Q waits for P, and B waits for both: a chain, not a cycle.
    let bundles = bundles.expect("a chain loads");
    let b = bundles.get("YJS-T").expect("the bundle");
    assert_eq!(prerequisites(&c, b, "B-1"), ["P-1", "Q-1"]);
    assert_eq!(prerequisites(&c, b, "Q-1"), ["P-1"]);
    assert!(prerequisites(&c, b, "P-1").is_empty());
}

#[test]
fn the_loader_refuses_provisions_that_do_not_hold() {
    for (members, provides, expected) in [
        // The provider is not a member.
        (r#"["A-1", "C-1"]"#, &[("P-1", "ZZ")][..], "P-1"),
        // No other member lists the material.
        (r#"["P-1", "C-1"]"#, &[("P-1", "ZZ")][..], "ZZ"),
        // The provider requires the material itself.
        (r#"["A-1", "B-1"]"#, &[("A-1", "ZZ")][..], "A-1"),
        // Two members provide the same material.
        (
            r#"["P-1", "Q-1", "A-1"]"#,
            &[("P-1", "ZZ"), ("Q-1", "ZZ")][..],
            "ZZ",
        ),
    ] {
        let err = load(members, provides).expect_err(&format!("{members} {provides:?} is refused"));
        assert!(
            err.contains("provides") && err.contains("YJS-T") && err.contains(expected),
            "{members} {provides:?}: {err}"
        );
    }
    // An unknown key in a provision is a TOML error, not silently ignored.
    let text = inline_bundle(r#"["P-1", "A-1"]"#, &[])
        + "\n[[bundle.provides]]\nmatter = \"P-1\"\nmaterial = \"ZZ\"\nafter = \"A-1\"\n";
    assert!(Bundles::from_toml(&text, "bundles.toml", &catalog()).is_err());
}

#[test]
fn members_cannot_wait_for_themselves() {
    // Q provides QQ, which B requires; B provides ZZ, which Q lists: each waits for the other.
    let err =
        load(r#"["Q-1", "B-1"]"#, &[("Q-1", "QQ"), ("B-1", "ZZ")]).expect_err("a cycle is refused");
    assert!(
        err.contains("provides") && err.contains("Q-1") && err.contains("B-1"),
        "{err}"
    );
    assert!(err.contains('→'), "the cycle is shown: {err}");
}

/// The seed bundles: the 出生医学证明, the 退休证明 and the 营业执照 come from a member, and the
/// members that list them wait for it.
#[test]
fn seed_bundles_run_the_providing_member_first() {
    let r = seed();
    for (code, provider, material, waiting, at_once) in [
        (
            "YJS-CS",
            "WJ-CSYXZM-QF",
            "CSZM",
            &["WJ-SY-DJ", "GA-HJ-CSDJ", "YB-CB-CXJM"][..],
            &["WJ-CSYXZM-QF", "RS-SBK-SL"][..],
        ),
        (
            "YJS-TX",
            "RS-YL-TXSP",
            "TXZM",
            &["YB-TX-DYHD", "GJJ-TQ-TX"][..],
            &["RS-YL-TXSP"][..],
        ),
        (
            "YJS-QYKB",
            "SC-QY-NZSL",
            "YYZZ",
            &["GA-YZ-KZBA", "RS-SB-DWDJ", "GJJ-DW-JCDJ"][..],
            &["SC-QY-NZSL"][..],
        ),
    ] {
        let bundle = r.bundles.get(code).unwrap_or_else(|| panic!("{code}"));
        assert_eq!(bundle.provider_of(material), Some(provider), "{code}");
        for member in waiting {
            assert_eq!(
                prerequisites(&r.catalog, bundle, member),
                [provider],
                "{code}/{member}"
            );
        }
        for member in at_once {
            assert!(
                prerequisites(&r.catalog, bundle, member).is_empty(),
                "{code}/{member} starts at once"
            );
        }
        let materials = bundle_materials(&r.catalog, bundle);
        let provided = materials
            .iter()
            .find(|m| m.material.code == material)
            .unwrap_or_else(|| panic!("{code} lists {material}"));
        assert!(!provided.material.required, "{code}/{material}");
        assert_eq!(provided.provided_by.as_deref(), Some(provider));
        assert_eq!(provided.matter_codes, waiting, "{code}/{material}");
    }
}
