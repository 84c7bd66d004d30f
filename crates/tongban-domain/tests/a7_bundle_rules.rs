//! The bundle catalog's own rules, on a minimal inline catalog: the members must exist and
//! share a mode and a delivery method, and one paper original cannot travel to two offices.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use tongban_domain::bundle::{Bundles, bundle_materials};
use tongban_domain::catalog::Catalog;

const DEPARTMENTS: &str = r#"
[[department]]
code = "gongan"
name = "公安"
name_en = "Public Security"
"#;

/// A matter with material `SFZ` (paper original as given) and `own` material.
fn matter(code: &str, paper: bool, modes: &str) -> String {
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

[[matter.materials]]
code = "SFZ"
name = "居民身份证"
required = true
paper_original_required = {paper}

[[matter.materials]]
code = "OWN_{code_}"
name = "本事项材料"
required = false
paper_original_required = false

[[matter.review_points]]
code = "R1"
question = "是否符合条件？"
required = true

[[matter.stages]]
code = "review"
name = "审查"
working_days = 5
"#,
        code_ = code.replace('-', "_"),
    )
}

fn catalog(matters: &[String]) -> Catalog {
    let text = format!("catalog_version = \"t\"\n{}", matters.concat());
    Catalog::from_toml(&text, DEPARTMENTS).expect("inline catalog is valid")
}

fn bundle(members: &str) -> String {
    format!(
        r#"
[[bundle]]
code = "YJS-T"
name = "测试一件事"
name_en = "Test bundle"
description = "两个事项一次办"
matters = {members}
"#
    )
}

#[test]
fn a_shared_material_is_listed_once_for_every_member() {
    let c = catalog(&[
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
    let c = catalog(&[
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
    let c = catalog(&[
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
