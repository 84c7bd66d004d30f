//! The catalog as anyone reads it (`tongban catalog …`): matters with their 五统一 fields,
//! offices, routes and the 一件事 bundles.

use tongban_proto::catalog::v1::{
    BundleDefinition, JointPart, Matter, Office, ResolveRouteResponse,
};
use tongban_proto::common::v1::CasePart;

use super::common::{MatterNames, OfficeNames, named, part_name, quoted, review_points, section};
use crate::output::{
    Fields, Label, Lang, Table, delivery_method, fee, locality, mode, scope, t, working_days,
    yes_no,
};

/// A material of a bundle that a member's result stands for: `由「出生医学证明首次签发」出具` /
/// `issued by 出生医学证明首次签发 (WJ-CSYXZM-QF)`.
fn provided_by(lang: Lang, provider: &str, matters: &MatterNames) -> String {
    match lang {
        Lang::Zh => format!("由{}出具", quoted(lang, &[matters.name(provider)])),
        Lang::En => format!("issued by {}", matters.label(lang, provider)),
    }
}

/// When a bundle member is handled: `在「出生医学证明首次签发」准予后办理` / `after 出生医学证明首次签发
/// (WJ-CSYXZM-QF) is approved`, or at once when it waits for no member.
fn member_order(lang: Lang, after: &[String], matters: &MatterNames) -> String {
    if after.is_empty() {
        return t(lang, Label::AtOnce).to_owned();
    }
    match lang {
        Lang::Zh => {
            let names: Vec<&str> = after.iter().map(|c| matters.name(c)).collect();
            format!("在{}准予后办理", quoted(lang, &names))
        }
        Lang::En => {
            let labels: Vec<String> = after.iter().map(|c| matters.label(lang, c)).collect();
            let verb = if after.len() == 1 { "is" } else { "are" };
            format!("after {} {verb} approved", labels.join(", "))
        }
    }
}

fn list_of(lang: Lang, items: &[i32], name: fn(Lang, i32) -> String) -> String {
    let sep = lang.pick(("、", ", "));
    items
        .iter()
        .map(|v| name(lang, *v))
        .collect::<Vec<_>>()
        .join(sep)
}

/// A matter with all its 五统一 fields: materials, review points, stages, limits, fee, delivery.
pub fn matter(lang: Lang, m: &Matter) -> String {
    let mut f = Fields::new();
    f.add(t(lang, Label::MatterCode), &m.code)
        .add(t(lang, Label::MatterName), &m.name)
        .add(
            t(lang, Label::Department),
            named(lang, &m.department_name, &m.department),
        )
        .add_nonempty(t(lang, Label::Version), &m.version)
        .add_nonempty(t(lang, Label::ValidFrom), &m.valid_from)
        .add(t(lang, Label::Scopes), list_of(lang, &m.scopes, scope))
        .add(t(lang, Label::Modes), list_of(lang, &m.modes, mode))
        .add_nonempty(t(lang, Label::Conditions), &m.conditions)
        .add(
            t(lang, Label::LegalLimit),
            working_days(lang, m.legal_limit_days),
        )
        .add(
            t(lang, Label::PromisedLimit),
            working_days(lang, m.promised_limit_days),
        )
        .add(t(lang, Label::Fee), fee(lang, m.fee_fen))
        .add(
            t(lang, Label::DeliveryMethods),
            list_of(lang, &m.delivery_methods, delivery_method),
        )
        .add_nonempty(t(lang, Label::LegalBasis), &m.legal_basis);
    let mut out = f.render();

    let mut materials = Table::labelled(
        lang,
        [
            Label::Code,
            Label::Name,
            Label::Required,
            Label::PaperOriginal,
            Label::AcceptedCertificates,
            Label::Notes,
        ],
    );
    for x in &m.materials {
        materials.row([
            x.code.clone(),
            x.name.clone(),
            yes_no(lang, x.required).to_owned(),
            yes_no(lang, x.paper_original_required).to_owned(),
            x.accepted_certificate_types.join(", "),
            x.notes.clone(),
        ]);
    }
    section(&mut out, lang, Label::Materials, materials.render(2), true);
    section(
        &mut out,
        lang,
        Label::ReviewPoints,
        review_points(lang, &m.review_points),
        true,
    );

    section(
        &mut out,
        lang,
        Label::Parts,
        matter_parts(lang, &m.parts),
        !m.parts.is_empty(),
    );

    let mut stages = Table::labelled(
        lang,
        [Label::Step, Label::Code, Label::Stage, Label::WorkingDays],
    );
    for (i, s) in m.stages.iter().enumerate() {
        stages.row([
            (i + 1).to_string(),
            s.code.clone(),
            s.name.clone(),
            s.working_days.to_string(),
        ]);
    }
    section(&mut out, lang, Label::Stages, stages.render(2), true);
    out
}

/// One line per matter.
pub fn matters(lang: Lang, list: &[Matter], catalog_version: &str) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoMatters));
    }
    let mut table = Table::labelled(
        lang,
        [
            Label::Code,
            Label::Name,
            Label::Department,
            Label::Scopes,
            Label::PromisedLimit,
        ],
    );
    for m in list {
        let dept = if m.department_name.is_empty() {
            &m.department
        } else {
            &m.department_name
        };
        table.row([
            m.code.clone(),
            m.name.clone(),
            dept.clone(),
            list_of(lang, &m.scopes, scope),
            working_days(lang, m.promised_limit_days),
        ]);
    }
    let mut out = table.render(0);
    out.push('\n');
    out.push_str(&count_line(lang, list.len(), catalog_version));
    out
}

/// `共计：21  目录版本：2026.11.3`, the last line of a catalog listing.
fn count_line(lang: Lang, count: usize, catalog_version: &str) -> String {
    let colon = lang.colon();
    let mut line = format!("{}{colon}{count}", t(lang, Label::Count));
    if !catalog_version.is_empty() {
        line.push_str(&format!(
            "  {}{colon}{catalog_version}",
            t(lang, Label::CatalogVersion)
        ));
    }
    line.push('\n');
    line
}

/// One line per office.
pub fn offices(lang: Lang, list: &[Office]) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoOffices));
    }
    let mut table = Table::new([
        "ID",
        t(lang, Label::Name),
        t(lang, Label::Division),
        t(lang, Label::Departments),
        t(lang, Label::Window),
    ]);
    for o in list {
        table.row([
            o.id.clone(),
            o.name.clone(),
            named(lang, &o.division_name, &o.division),
            o.departments.join(", "),
            yes_no(lang, o.is_window).to_owned(),
        ]);
    }
    table.render(0)
}

/// Where a case would go; for 多地联办 also where each part goes.
pub fn route(lang: Lang, r: &ResolveRouteResponse, offices: &OfficeNames) -> String {
    let office = r.responsible_office.as_ref().map_or_else(
        || r.responsible_office_id.clone(),
        |o| named(lang, &o.name, &o.id),
    );
    let mut f = Fields::new();
    f.add(t(lang, Label::Scope), scope(lang, r.scope))
        .add(t(lang, Label::ResponsibleOffice), office)
        .add_nonempty(t(lang, Label::Agreement), &r.agreement_id);
    if let Some(o) = &r.responsible_office {
        f.add(
            t(lang, Label::Division),
            named(lang, &o.division_name, &o.division),
        );
    }
    let mut out = f.render();
    section(
        &mut out,
        lang,
        Label::Parts,
        route_parts(lang, &r.parts, offices),
        !r.parts.is_empty(),
    );
    out
}

/// Codes of the parts another comes after, or `—` when it starts at once.
fn after(lang: Lang, codes: &[String]) -> String {
    if codes.is_empty() {
        t(lang, Label::None).to_owned()
    } else {
        codes.join(lang.pick(("、", ", ")))
    }
}

/// 多地联办环节 as a matter defines them: department, locality, order, review points.
fn matter_parts(lang: Lang, list: &[JointPart]) -> String {
    let mut table = Table::labelled(
        lang,
        [
            Label::Code,
            Label::Part,
            Label::Department,
            Label::Locality,
            Label::After,
            Label::ReviewPoints,
        ],
    );
    for p in list {
        table.row([
            p.code.clone(),
            lang.pick_text(&p.name, &p.name_en).to_owned(),
            p.department.clone(),
            locality(lang, &p.locality),
            after(lang, &p.after),
            p.review_point_codes.join(", "),
        ]);
    }
    table.render(2)
}

/// Where each part of a 多地联办 case would go.
fn route_parts(lang: Lang, list: &[CasePart], offices: &OfficeNames) -> String {
    let mut table = Table::labelled(
        lang,
        [
            Label::Part,
            Label::Locality,
            Label::ResponsibleOffice,
            Label::Scope,
            Label::Agreement,
            Label::After,
        ],
    );
    for p in list {
        let place = if p.division.is_empty() {
            locality(lang, &p.locality)
        } else {
            format!("{} {}", locality(lang, &p.locality), p.division)
        };
        table.row([
            part_name(lang, &p.part_code, &p.name, &p.name_en),
            place,
            offices.label(lang, &p.office_id),
            scope(lang, p.scope),
            p.agreement_id.clone(),
            after(lang, &p.after),
        ]);
    }
    table.render(2)
}

/// A 一件事 of the catalog: its members (and, when some wait for another's result, the order),
/// the modes and delivery methods they all allow, and the union of their materials — each once,
/// with the members that need it and, for a member's result, the member issuing it.
pub fn bundle_definition(lang: Lang, b: &BundleDefinition, matters: &MatterNames) -> String {
    let sep = lang.pick(("、", ", "));
    let mut f = Fields::new();
    f.add(t(lang, Label::BundleCode), &b.code)
        .add(t(lang, Label::Name), lang.pick_text(&b.name, &b.name_en))
        .add_nonempty(t(lang, Label::Description), &b.description)
        .add(t(lang, Label::Modes), list_of(lang, &b.modes, mode))
        .add(
            t(lang, Label::DeliveryMethods),
            list_of(lang, &b.delivery_methods, delivery_method),
        );
    let mut out = f.render();
    // The order column only when some member waits for another.
    let ordered = !b.prerequisites.is_empty();
    let mut header = vec![t(lang, Label::Step), t(lang, Label::Matter)];
    if ordered {
        header.push(t(lang, Label::MemberOrder));
    }
    let mut members = Table::new(header);
    for (i, code) in b.matter_codes.iter().enumerate() {
        let mut row = vec![(i + 1).to_string(), matters.label(lang, code)];
        if ordered {
            let after = b
                .prerequisites
                .iter()
                .find(|o| &o.matter_code == code)
                .map_or(&[][..], |o| o.after.as_slice());
            row.push(member_order(lang, after, matters));
        }
        members.row(row);
    }
    section(
        &mut out,
        lang,
        Label::MemberMatters,
        members.render(2),
        !b.matter_codes.is_empty(),
    );
    let mut materials = Table::labelled(
        lang,
        [
            Label::Code,
            Label::Name,
            Label::Required,
            Label::AcceptedCertificates,
            Label::NeededBy,
        ],
    );
    for x in &b.materials {
        let Some(m) = &x.material else { continue };
        // A material a member's result stands for is not asked of the applicant.
        let required = if x.provided_by.is_empty() {
            yes_no(lang, m.required).to_owned()
        } else {
            provided_by(lang, &x.provided_by, matters)
        };
        materials.row([
            m.code.clone(),
            m.name.clone(),
            required,
            m.accepted_certificate_types.join(", "),
            x.matter_codes.join(sep),
        ]);
    }
    section(
        &mut out,
        lang,
        Label::Materials,
        materials.render(2),
        !materials.is_empty(),
    );
    out
}

/// Every 一件事 of the catalog, each as [`bundle_definition`].
pub fn bundles(
    lang: Lang,
    list: &[BundleDefinition],
    catalog_version: &str,
    matters: &MatterNames,
) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoBundles));
    }
    let rule = "-".repeat(72);
    let mut out = String::new();
    for b in list {
        out.push_str(&rule);
        out.push('\n');
        out.push_str(&bundle_definition(lang, b, matters));
    }
    out.push_str(&rule);
    out.push('\n');
    out.push_str(&count_line(lang, list.len(), catalog_version));
    out
}

#[cfg(test)]
mod tests {
    use tongban_proto::catalog::v1::{BundleMaterial, Material, ReviewPoint, Stage};
    use tongban_proto::common::v1::{PartState, Scope};

    use super::*;
    use crate::views::fixtures::{joint_parts, line_with, offices, ordered_birth_bundle};

    #[test]
    fn a_bundle_lists_each_material_once_with_the_members_needing_it() {
        let material = |code: &str, name: &str| Material {
            code: code.into(),
            name: name.into(),
            required: true,
            ..Default::default()
        };
        let b = BundleDefinition {
            code: "YJS-CS".into(),
            name: "出生一件事".into(),
            name_en: "Having a baby".into(),
            matter_codes: vec!["WJ-SY-DJ".into(), "GA-HJ-CSDJ".into()],
            materials: vec![
                BundleMaterial {
                    material: Some(material("SFZ", "居民身份证")),
                    matter_codes: vec!["WJ-SY-DJ".into(), "GA-HJ-CSDJ".into()],
                    ..Default::default()
                },
                BundleMaterial {
                    material: Some(material("HKB", "居民户口簿")),
                    matter_codes: vec!["GA-HJ-CSDJ".into()],
                    ..Default::default()
                },
            ],
            modes: vec![tongban_proto::common::v1::Mode::Online as i32],
            ..Default::default()
        };
        let names = MatterNames::from_matters(&[Matter {
            code: "WJ-SY-DJ".into(),
            name: "生育登记".into(),
            ..Default::default()
        }]);
        let text = bundles(Lang::Zh, std::slice::from_ref(&b), "2026.11.3", &names);
        assert_eq!(text.matches("SFZ").count(), 1, "{text}");
        for needle in [
            "出生一件事",
            "成员事项：",
            "生育登记（WJ-SY-DJ）",
            "GA-HJ-CSDJ",
            "所需事项",
            "WJ-SY-DJ、GA-HJ-CSDJ",
            "全程网办",
            "共计：1",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(bundle_definition(Lang::En, &b, &names).contains("Having a baby"));
        assert_eq!(bundles(Lang::En, &[], "", &names), "No bundles.\n");
    }

    #[test]
    fn a_joint_route_lists_each_part() {
        let mut parts = joint_parts(PartState::Routed, PartState::Waiting);
        parts[0].locality = "destination_division".into();
        parts[0].division = "140922".into();
        parts[1].locality = "home_division".into();
        parts[1].division = "640104".into();
        let r = ResolveRouteResponse {
            scope: Scope::CrossProvince as i32,
            responsible_office_id: "140922-gongan".into(),
            parts,
            ..Default::default()
        };
        let text = route(Lang::Zh, &r, &offices());
        for needle in [
            "迁入地（转入地） 140922",
            "户籍地（迁出地、转出地） 640104",
            "银川市公安局（640100-gongan）",
            "前序环节",
            "QR",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    fn birth_names() -> MatterNames {
        let matter = |code: &str, name: &str| Matter {
            code: code.into(),
            name: name.into(),
            ..Default::default()
        };
        MatterNames::from_matters(&[
            matter("WJ-CSYXZM-QF", "出生医学证明首次签发"),
            matter("WJ-SY-DJ", "生育登记"),
        ])
    }

    #[test]
    fn a_bundle_shows_which_member_issues_a_material_and_the_member_order() {
        let b = ordered_birth_bundle();
        let zh = bundle_definition(Lang::Zh, &b, &birth_names());
        let cszm = line_with(&zh, "CSZM");
        assert!(cszm.contains("由「出生医学证明首次签发」出具"), "{zh}");
        assert!(!cszm.contains(" 否 "), "not 必需 是/否: {zh}");
        assert!(line_with(&zh, "SFZ").contains("是"), "{zh}");
        for needle in ["办理顺序", "受理后即办理"] {
            assert!(zh.contains(needle), "missing {needle} in\n{zh}");
        }
        assert!(
            line_with(&zh, "生育登记（WJ-SY-DJ）").contains("在「出生医学证明首次签发」准予后办理"),
            "{zh}"
        );
        assert!(
            line_with(&zh, "RS-SBK-SL").contains("受理后即办理"),
            "a member without prerequisites starts at once: {zh}"
        );

        let en = bundle_definition(Lang::En, &b, &birth_names());
        assert!(
            line_with(&en, "CSZM").contains("issued by 出生医学证明首次签发 (WJ-CSYXZM-QF)"),
            "{en}"
        );
        assert!(
            line_with(&en, "生育登记 (WJ-SY-DJ)")
                .contains("after 出生医学证明首次签发 (WJ-CSYXZM-QF) is approved"),
            "{en}"
        );
        assert!(en.contains("Order") && en.contains("at once"), "{en}");

        // Without the catalog's names (a failed look-up) the codes stand in.
        let bare = bundle_definition(Lang::Zh, &b, &MatterNames::default());
        assert!(bare.contains("由「WJ-CSYXZM-QF」出具"), "{bare}");
        assert!(bare.contains("在「WJ-CSYXZM-QF」准予后办理"), "{bare}");
    }

    #[test]
    fn a_bundle_without_order_has_no_order_column() {
        let mut b = ordered_birth_bundle();
        b.prerequisites.clear();
        b.materials.retain(|m| m.provided_by.is_empty());
        let zh = bundle_definition(Lang::Zh, &b, &birth_names());
        assert!(!zh.contains("办理顺序") && !zh.contains("出具"), "{zh}");
    }

    #[test]
    fn matter_view_shows_every_section() {
        let m = Matter {
            code: "shebaoka".into(),
            name: "社保卡申领".into(),
            department_name: "人社".into(),
            department: "renshe".into(),
            scopes: vec![Scope::CrossProvince as i32, Scope::ProvinceWide as i32],
            materials: vec![Material {
                code: "id_card".into(),
                name: "居民身份证".into(),
                required: true,
                ..Default::default()
            }],
            review_points: vec![ReviewPoint {
                code: "identity".into(),
                question: "身份是否一致".into(),
                required: true,
            }],
            stages: vec![Stage {
                code: "review".into(),
                name: "审查".into(),
                working_days: 3,
            }],
            legal_limit_days: 20,
            promised_limit_days: 5,
            ..Default::default()
        };
        let text = matter(Lang::Zh, &m);
        for needle in [
            "社保卡申领",
            "人社（renshe）",
            "跨省通办、全省通办",
            "20 个工作日",
            "不收费",
            "申请材料：",
            "居民身份证",
            "审查要点：",
            "身份是否一致",
            "审批流程：",
            "审查",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
