//! Shared test fixtures of the views (and of their `--json` forms): the directory, a 多地联办
//! case's parts, a 一件事 bundle as a case shows it and as the catalog defines it.

use tongban_proto::catalog::v1::{BundleDefinition, BundleMaterial, BundleOrder, Material, Office};
use tongban_proto::common::v1::{
    BundleMember, BundleStatus, BundleSummary, CasePart, CaseStatus, PartState, Scope,
};

use super::common::OfficeNames;

pub(super) fn offices() -> OfficeNames {
    let office = |id: &str, name: &str| Office {
        id: id.into(),
        name: name.into(),
        ..Default::default()
    };
    OfficeNames::from_offices(&[
        office("140922-gongan", "五台县公安局"),
        office("640100-gongan", "银川市公安局"),
    ])
}

pub(super) fn joint_parts(qr: PartState, qc: PartState) -> Vec<CasePart> {
    vec![
        CasePart {
            part_code: "QR".into(),
            name: "迁入地审批".into(),
            name_en: "Approval at the destination".into(),
            office_id: "140922-gongan".into(),
            scope: Scope::Local as i32,
            state: qr as i32,
            ..Default::default()
        },
        CasePart {
            part_code: "QC".into(),
            name: "迁出地办理迁出".into(),
            name_en: "Moving the record out at the home locality".into(),
            office_id: "640100-gongan".into(),
            scope: Scope::CrossProvince as i32,
            after: vec!["QR".into()],
            state: qc as i32,
            ..Default::default()
        },
    ]
}

pub(super) fn birth_bundle() -> BundleSummary {
    BundleSummary {
        bundle_id: "b-1".into(),
        bundle_number: "140922-20261102-00007-3".into(),
        bundle_code: "YJS-CS".into(),
        name: "出生一件事".into(),
        status: BundleStatus::PartlyDenied as i32,
        members: vec![
            BundleMember {
                case_number: "140922-20261102-00008-1".into(),
                matter_code: "GA-HJ-CSDJ".into(),
                matter_name: "出生登记（新生儿入户）".into(),
                status: CaseStatus::Approved as i32,
                responsible_office_id: "140922-gongan".into(),
                ..Default::default()
            },
            // As a reviewer of another office sees it: no case number, no office.
            BundleMember {
                matter_code: "RS-SBK-SL".into(),
                matter_name: "社会保障卡申领".into(),
                status: CaseStatus::Denied as i32,
                ..Default::default()
            },
        ],
    }
}

/// The line of `text` that contains `needle`.
pub(super) fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle} in\n{text}"))
}

/// 出生一件事 as the catalog serves it: CSZM issued by the 出生医学证明 member, and 生育登记
/// waiting for that member.
pub(crate) fn ordered_birth_bundle() -> BundleDefinition {
    let material = |code: &str, name: &str, required: bool| Material {
        code: code.into(),
        name: name.into(),
        required,
        ..Default::default()
    };
    BundleDefinition {
        code: "YJS-CS".into(),
        name: "出生一件事".into(),
        name_en: "Having a baby".into(),
        matter_codes: vec!["WJ-CSYXZM-QF".into(), "WJ-SY-DJ".into(), "RS-SBK-SL".into()],
        materials: vec![
            BundleMaterial {
                material: Some(material("SFZ", "居民身份证", true)),
                matter_codes: vec!["WJ-CSYXZM-QF".into(), "WJ-SY-DJ".into()],
                provided_by: String::new(),
            },
            BundleMaterial {
                material: Some(material("CSZM", "出生医学证明", false)),
                matter_codes: vec!["WJ-SY-DJ".into()],
                provided_by: "WJ-CSYXZM-QF".into(),
            },
        ],
        prerequisites: vec![BundleOrder {
            matter_code: "WJ-SY-DJ".into(),
            after: vec!["WJ-CSYXZM-QF".into()],
        }],
        ..Default::default()
    }
}
