//! 发证权限: which offices may issue which e-certificate types, as directory data, and the rule
//! that a case's result certificate comes from its responsible office, of its matter's type.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{deploy_dir, seed};
use tongban_domain::data::DataError;
use tongban_domain::issuers::{IssueRefusal, IssuerRights, ResultCase, check_result};

const SEED: &str = include_str!("../../../deploy/directory/issuers.toml");

fn rights_from(text: &str) -> Result<IssuerRights, DataError> {
    let seed = seed();
    IssuerRights::from_toml(text, "issuers.toml", &seed.catalog, &seed.directory)
}

fn reason(err: DataError) -> String {
    match err {
        DataError::Invalid { reason, .. } => reason,
        other => panic!("expected an invalid-data error, got {other}"),
    }
}

#[test]
fn departments_grant_their_offices_the_types_listed() {
    let seed = seed();
    let police = seed.directory.office("640100-gongan").unwrap();
    let civil = seed.directory.office("640100-minzheng").unwrap();
    assert!(seed.issuers.may_issue(police, "126"));
    assert!(seed.issuers.may_issue(police, "111"));
    assert!(!seed.issuers.may_issue(police, "113"));
    assert!(seed.issuers.may_issue(civil, "113"));
    assert!(!seed.issuers.may_issue(civil, "126"));
    assert!(seed.issuers.types_for(civil).contains("114"));
    // A window serves no department: it issues nothing.
    let window = seed.directory.office("140922-zwfw").unwrap();
    assert!(seed.issuers.types_for(window).is_empty());
}

#[test]
fn an_office_entry_adds_types_to_one_office_only() {
    let text = format!("{SEED}\n[[office]]\nid = \"640100-minzheng\"\ntypes = [\"126\"]\n");
    let rights = rights_from(&text).unwrap();
    let seed = seed();
    let civil = seed.directory.office("640100-minzheng").unwrap();
    let other_civil = seed.directory.office("640000-minzheng").unwrap();
    assert!(rights.may_issue(civil, "126"));
    assert!(!rights.may_issue(other_civil, "126"));
}

#[test]
fn check_refuses_in_order_type_then_office_then_result_type() {
    let seed = seed();
    let police = seed.directory.office("640100-gongan").unwrap();
    let province = seed.directory.office("640000-gongan").unwrap();
    let civil = seed.directory.office("640100-minzheng").unwrap();
    let case = ResultCase {
        responsible_office_id: "640100-gongan",
        result_type: "126",
    };
    assert_eq!(seed.issuers.check(police, "126", Some(case)), Ok(()));
    assert_eq!(seed.issuers.check(police, "112", None), Ok(()));
    assert!(matches!(
        seed.issuers.check(civil, "126", Some(case)),
        Err(IssueRefusal::TypeNotAllowed { .. })
    ));
    assert_eq!(
        seed.issuers.check(province, "126", Some(case)),
        Err(IssueRefusal::NotResponsible {
            responsible: "640100-gongan".to_owned()
        })
    );
    assert_eq!(
        seed.issuers.check(police, "112", Some(case)),
        Err(IssueRefusal::WrongResultType {
            expected: "126".to_owned(),
            type_code: "112".to_owned()
        })
    );
    assert!(check_result(case, "640100-gongan", "126").is_ok());
    assert!(check_result(case, "640000-gongan", "126").is_err());
}

#[test]
fn bad_issuers_data_is_refused_naming_what_is_wrong() {
    let unknown_department = SEED.replace("code = \"sifa\"", "code = \"nope\"");
    assert!(reason(rights_from(&unknown_department).unwrap_err()).contains("nope"));

    let bad_type = SEED.replace("[\"115\", \"199\"]", "[\"15\", \"199\"]");
    assert!(reason(rights_from(&bad_type).unwrap_err()).contains("3"));

    let repeated = SEED.replace("[\"124\", \"199\"]", "[\"124\", \"124\"]");
    assert!(reason(rights_from(&repeated).unwrap_err()).contains("124"));

    let unknown_office = format!("{SEED}\n[[office]]\nid = \"999999-none\"\ntypes = [\"199\"]\n");
    assert!(reason(rights_from(&unknown_office).unwrap_err()).contains("999999-none"));

    // GA-HJ-ZM produces a 户籍证明 (126): 公安 must be allowed to issue it.
    let without_126 = SEED.replace(
        "[\"111\", \"112\", \"119\", \"125\", \"126\", \"199\"]",
        "[\"111\", \"112\", \"119\", \"125\", \"199\"]",
    );
    let why = reason(rights_from(&without_126).unwrap_err());
    assert!(why.contains("126") && why.contains("gongan"), "{why}");
}

#[test]
fn the_seed_file_loads_from_the_deploy_directory() {
    let seed = seed();
    let loaded = IssuerRights::load(
        &deploy_dir().join("directory"),
        &seed.catalog,
        &seed.directory,
    )
    .unwrap();
    assert_eq!(loaded, seed.issuers);
}
