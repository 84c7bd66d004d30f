//! check_materials: 一次性告知 of every missing material at once.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use tongban_domain::catalog::{Matter, Mode};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::materials::{
    Form, MaterialProblem, MissingMaterial, MissingReason, Presented, check_materials,
    unsatisfied_certificates,
};

/// 户口迁移（工作调动）: SFZ (required, e-cert 111), HKB (required, paper original, e-cert 112),
/// DDZM (required, paper original, no e-cert), ZP (optional).
fn matter() -> Matter {
    a2_fixtures::catalog()
        .matter("GA-HJ-QY-GZDD")
        .unwrap()
        .clone()
}

fn p(code: &str, form: Form) -> Presented<'_> {
    Presented {
        material_code: code,
        form,
        certificate_type: None,
    }
}

fn cert<'a>(code: &'a str, verified_type: Option<&'a str>) -> Presented<'a> {
    Presented {
        material_code: code,
        form: Form::Certificate,
        certificate_type: verified_type,
    }
}

fn missing(code: &str, name: &str, reason: MissingReason) -> MissingMaterial {
    MissingMaterial {
        code: code.into(),
        name: name.into(),
        reason,
    }
}

#[test]
fn nothing_presented_lists_every_required_material_at_once() {
    let (missing_list, problems) = check_materials(&matter(), Mode::Online, &[]);
    assert_eq!(
        missing_list,
        [
            missing("SFZ", "居民身份证", MissingReason::NotPresented),
            missing("HKB", "居民户口簿", MissingReason::NotPresented),
            missing("DDZM", "工作调动证明", MissingReason::NotPresented),
        ]
    );
    assert!(problems.is_empty());
}

#[test]
fn electronic_copies_suffice_online() {
    let presented = [
        p("SFZ", Form::Electronic),
        p("HKB", Form::Electronic),
        p("DDZM", Form::Electronic),
    ];
    assert_eq!(
        check_materials(&matter(), Mode::Online, &presented),
        (vec![], vec![])
    );
}

#[test]
fn proxy_needs_paper_originals_where_required() {
    let presented = [
        p("SFZ", Form::Electronic),
        p("HKB", Form::Electronic),
        p("DDZM", Form::Electronic),
    ];
    let (missing_list, problems) = check_materials(&matter(), Mode::Proxy, &presented);
    assert_eq!(
        missing_list,
        [
            missing("HKB", "居民户口簿", MissingReason::PaperOriginalRequired),
            missing("DDZM", "工作调动证明", MissingReason::PaperOriginalRequired),
        ]
    );
    assert!(problems.is_empty());

    let presented = [
        p("SFZ", Form::Electronic),
        p("HKB", Form::Paper),
        p("DDZM", Form::Paper),
    ];
    assert_eq!(
        check_materials(&matter(), Mode::Proxy, &presented),
        (vec![], vec![])
    );
}

#[test]
fn verified_certificate_of_an_accepted_type_replaces_the_material() {
    // Even the paper original under proxy (两个免提交).
    let presented = [
        cert("SFZ", Some("111")),
        cert("HKB", Some("112")),
        p("DDZM", Form::Paper),
    ];
    assert_eq!(
        check_materials(&matter(), Mode::Proxy, &presented),
        (vec![], vec![])
    );
}

#[test]
fn unverified_or_wrong_type_certificates_do_not_count() {
    let presented = [
        cert("SFZ", None),         // not verified
        cert("HKB", Some("111")),  // verified, but an ID card is no household register
        cert("DDZM", Some("117")), // no e-certificate replaces the transfer letter
    ];
    let (missing_list, problems) = check_materials(&matter(), Mode::Online, &presented);
    assert_eq!(
        missing_list,
        [
            missing("SFZ", "居民身份证", MissingReason::CertificateNotVerified),
            missing("HKB", "居民户口簿", MissingReason::CertificateNotVerified),
            missing(
                "DDZM",
                "工作调动证明",
                MissingReason::CertificateNotVerified
            ),
        ]
    );
    assert!(problems.is_empty());
}

#[test]
fn optional_materials_are_never_missing() {
    let presented = [
        p("SFZ", Form::Paper),
        p("HKB", Form::Paper),
        p("DDZM", Form::Paper),
        cert("ZP", None),
    ];
    assert_eq!(
        check_materials(&matter(), Mode::Proxy, &presented),
        (vec![], vec![])
    );
}

#[test]
fn unknown_and_duplicate_codes_are_reported_separately() {
    let presented = [
        p("SFZ", Form::Electronic),
        p("XYZ", Form::Electronic),
        cert("HKB", None),
        p("HKB", Form::Paper),
        p("HKB", Form::Electronic),
        p("XYZ", Form::Paper),
    ];
    let (missing_list, problems) = check_materials(&matter(), Mode::Proxy, &presented);
    // HKB is satisfied by its paper original, whatever else came with it.
    assert_eq!(
        missing_list,
        [missing("DDZM", "工作调动证明", MissingReason::NotPresented)]
    );
    assert_eq!(
        problems,
        [
            MaterialProblem::UnknownMaterial("XYZ".into()),
            MaterialProblem::Duplicate("HKB".into())
        ]
    );
}

#[test]
fn texts_for_the_window() {
    let m = missing("HKB", "居民户口簿", MissingReason::PaperOriginalRequired);
    assert_eq!(
        m.text(Lang::Zh),
        "居民户口簿（HKB）：异地代收代办须提交纸质原件"
    );
    assert_eq!(MissingReason::NotPresented.text(Lang::En), "not presented");
    assert_eq!(
        MaterialProblem::Duplicate("HKB".into()).text(Lang::Zh),
        "材料 HKB 重复提交"
    );
    assert_eq!(
        MaterialProblem::UnknownMaterial("XYZ".into()).to_string(),
        "XYZ 不是该事项的申请材料"
    );
}

#[test]
fn supplemented_certificates_are_judged_as_at_submission_and_nothing_else_is() {
    // 补正 hands in part of the material: only the certificates among it are judged.
    let handed_in = [
        cert("SFZ", Some("111")),    // verified, accepted
        cert("HKB", Some("111")),    // verified, but not a household register
        p("DDZM", Form::Electronic), // not a certificate: the reviewer judges it
        cert("XX", Some("111")),     // not a material of the matter: the boundary check's
    ];
    assert_eq!(
        unsatisfied_certificates(&matter(), Mode::Proxy, &handed_in),
        [missing(
            "HKB",
            "居民户口簿",
            MissingReason::CertificateNotVerified
        )]
    );
    assert!(
        unsatisfied_certificates(&matter(), Mode::Proxy, &[cert("SFZ", Some("111"))]).is_empty()
    );
}
