//! The bundle catalog's own rules, on a minimal inline catalog: the members must exist and
//! share a mode and a delivery method, and one paper original cannot travel to two offices.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{InlineMaterial, inline_bundle, inline_catalog, inline_matter};
use tongban_domain::bundle::{Bundles, bundle_materials};

/// A matter with material `SFZ` (paper original as given) and `own` material.
fn matter(code: &str, paper: bool, modes: &str) -> String {
    let own = format!("OWN_{}", code.replace('-', "_"));
    let materials = [
        InlineMaterial::new("SFZ", "居民身份证", true, paper),
        InlineMaterial::new(&own, "本事项材料", false, false),
    ];
    inline_matter(code, modes, &materials)
}

fn bundle(members: &str) -> String {
    inline_bundle(members, &[])
}

#[test]
fn a_shared_material_is_listed_once_for_every_member() {
    let c = inline_catalog(&[
        matter("A-1", false, r#"["online"]"#),
        matter("A-2", true, r#"["online", "proxy"]"#),
    ]);
    let bundles = Bundles::from_toml(&bundle(r#"["A-1", "A-2"]"#), "bundles.toml", &c).unwrap();
    let b = bundles.get("YJS-T").unwrap();
    let materials = bundle_materials(&c, b);
    let sfz: Vec<_> = materials
        .iter()
        .filter(|m| m.material.code == "SFZ")
        .collect();
    assert_eq!(sfz.len(), 1);
    assert_eq!(sfz[0].matter_codes, ["A-1", "A-2"]);
    assert!(sfz[0].material.paper_original_required);
    assert_eq!(materials.len(), 3, "SFZ once plus each member's own");
}

#[test]
fn one_paper_original_cannot_go_to_two_members() {
    let c = inline_catalog(&[
        matter("A-1", true, r#"["online", "proxy"]"#),
        matter("A-2", true, r#"["online", "proxy"]"#),
    ]);
    let err = Bundles::from_toml(&bundle(r#"["A-1", "A-2"]"#), "bundles.toml", &c)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("SFZ") && err.contains("A-1") && err.contains("A-2"),
        "{err}"
    );
    assert!(err.contains("YJS-T"), "{err}");
}

#[test]
fn members_must_exist_be_distinct_and_share_a_mode() {
    let c = inline_catalog(&[
        matter("A-1", false, r#"["online"]"#),
        matter("A-2", false, r#"["proxy"]"#),
    ]);
    for (members, expected) in [
        (r#"["A-1", "B-9"]"#, "B-9"),
        (r#"["A-1", "A-1"]"#, "A-1"),
        (r#"["A-1"]"#, "matters"),
        (r#"["A-1", "A-2"]"#, "mode"),
    ] {
        let err = Bundles::from_toml(&bundle(members), "bundles.toml", &c)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{members}: {err}");
    }
}
