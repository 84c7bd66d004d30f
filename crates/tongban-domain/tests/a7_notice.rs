//! 一次性告知清单 for 多地联办 (each part with its locality, office, scope and order) and for
//! 一件事一次办 (the merged materials once each, every member's office, limit and fee), on the
//! real seed data under deploy/.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{code, on, seed};

use tongban_domain::bundle::{Bundle, bundle_materials};
use tongban_domain::catalog::{Locality, Scope};
use tongban_domain::i18n::Lang;
use tongban_domain::notice::{
    MemberRoute, NoticeRoute, bundle_fee_fen, bundle_promised_limit_days, render_bundle_notice,
    render_matter_notice, route_bundle,
};
use tongban_domain::routing::{JointRoute, PartRoute, RouteError, resolve_parts};

/// 五台县政务服务中心.
const WUTAI: &str = "140922-zwfw";
/// 户口迁移（工作调动）: 迁入地审批 (QR), then 迁出地办理迁出 (QC).
const GZDD: &str = "GA-HJ-QY-GZDD";
/// 住房公积金转移接续: 转入地 (ZR) and 转出地 (ZC) at once.
const GJJ: &str = "GJJ-ZY-JX";
/// 出生一件事.
const BIRTH: &str = "YJS-CS";

/// The notice of `matter` handled jointly for a 银川 (640104) applicant moving to 五台 (140922).
fn joint_notice(matter: &str, lang: Lang) -> String {
    let r = seed();
    let route = resolve_parts(
        r,
        matter,
        WUTAI,
        &code("640104"),
        Some(&code("140922")),
        on(),
    )
    .unwrap();
    render_matter_notice(
        r,
        r.catalog.matter(matter).unwrap(),
        r.directory.office(WUTAI).unwrap(),
        NoticeRoute::Joint(&route),
        lang,
    )
}

/// The line of the notice that starts with `prefix` (after indentation).
fn line_starting<'t>(text: &'t str, prefix: &str) -> &'t str {
    text.lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{text}"))
}

#[test]
fn joint_notice_lists_each_part_with_its_locality_office_scope_and_order() {
    let text = joint_notice(GZDD, Lang::Zh);
    assert!(
        text.contains("通办范围：跨省通办（按各环节中范围最广者计）"),
        "{text}"
    );
    assert!(
        text.contains("结果出具机构：五台县公安局 [140922 山西省忻州市五台县]"),
        "the first part's office issues the result: {text}"
    );
    assert!(text.contains("联办环节："), "{text}");
    // One responsible office is not named: each part has its own.
    assert!(!text.lines().any(|l| l.starts_with("办理机构：")), "{text}");

    let qr = line_starting(&text, "1. 迁入地审批 (QR)");
    for expected in [
        "迁入地（转入地）：140922 山西省忻州市五台县",
        "办理机构：五台县公安局 [140922 山西省忻州市五台县]",
        "通办范围：本地办理",
        "受理后首先办理",
    ] {
        assert!(qr.contains(expected), "missing {expected:?} in {qr}");
    }
    let qc = line_starting(&text, "2. 迁出地办理迁出 (QC)");
    for expected in [
        "户籍地（迁出地、转出地）：640104 宁夏回族自治区银川市兴庆区",
        "办理机构：银川市公安局 [640100 宁夏回族自治区银川市]",
        "通办范围：跨省通办",
        "在「迁入地审批」准予后办理",
    ] {
        assert!(qc.contains(expected), "missing {expected:?} in {qc}");
    }
    // The rest of the notice is the matter's, as for any case.
    assert!(text.contains("1. 居民身份证 (SFZ) — 必要"), "{text}");
    assert!(
        text.contains("以上为全部所需材料与要求，一次性告知。"),
        "{text}"
    );

    let en = joint_notice(GZDD, Lang::En);
    assert!(
        en.contains("Scope: Cross-province (the widest of the parts)"),
        "{en}"
    );
    let qc = line_starting(&en, "2. Moving the record out at the home locality (QC)");
    assert!(
        qc.contains("after \"Approval at the destination\" is approved"),
        "{qc}"
    );
    assert!(
        qc.contains("office: 银川市公安局 [640100 宁夏回族自治区银川市]"),
        "{qc}"
    );
}

#[test]
fn joint_notice_says_parallel_parts_run_at_the_same_time() {
    let text = joint_notice(GJJ, Lang::Zh);
    let zr = line_starting(&text, "1. 转入地受理并核对账户 (ZR)");
    let zc = line_starting(&text, "2. 转出地核对并转出资金 (ZC)");
    for line in [zr, zc] {
        assert!(line.ends_with("与其他环节同时办理"), "{line}");
    }
    assert!(zr.contains("通办范围：全省通办"), "{zr}");
    assert!(zc.contains("通办范围：跨省通办"), "{zc}");
    let en = joint_notice(GJJ, Lang::En);
    assert!(en.contains("at the same time as the other parts"), "{en}");
}

#[test]
fn joint_notice_orders_mixed_parts_by_name() {
    // Three parts: A and B at once, C after both (no seed matter has three parts, so the
    // route is built by hand on top of a seed matter).
    let r = seed();
    let part = |part_code: &str, name: &str, office: &str, after: &[&str]| PartRoute {
        code: part_code.to_owned(),
        name: name.to_owned(),
        name_en: format!("Part {part_code}"),
        department: "gongan".to_owned(),
        locality: Locality::HomeDivision,
        division: code("640104"),
        office_id: office.to_owned(),
        scope: Scope::CrossProvince,
        agreement_id: None,
        after: after.iter().map(|s| (*s).to_owned()).collect(),
    };
    let route = JointRoute {
        scope: Scope::CrossProvince,
        responsible_office_id: "640100-gongan".to_owned(),
        agreement_id: None,
        parts: vec![
            part("A", "甲环节", "640100-gongan", &[]),
            part("B", "乙环节", "640100-renshe", &[]),
            part("C", "丙环节", "640100-yibao", &["A", "B"]),
        ],
    };
    let matter = r.catalog.matter(GZDD).unwrap();
    let window = r.directory.office(WUTAI).unwrap();
    let zh = render_matter_notice(r, matter, window, NoticeRoute::Joint(&route), Lang::Zh);
    assert!(
        line_starting(&zh, "1. 甲环节 (A)").ends_with("受理后即办理，与「乙环节」同时办理"),
        "{zh}"
    );
    assert!(
        line_starting(&zh, "3. 丙环节 (C)").ends_with("在「甲环节」、「乙环节」准予后办理"),
        "{zh}"
    );
    let en = render_matter_notice(r, matter, window, NoticeRoute::Joint(&route), Lang::En);
    assert!(
        line_starting(&en, "2. Part B (B)")
            .ends_with("from acceptance, at the same time as \"Part A\""),
        "{en}"
    );
    assert!(
        line_starting(&en, "3. Part C (C)")
            .ends_with("after \"Part A\" and \"Part B\" are approved"),
        "{en}"
    );
}

#[test]
fn joint_notice_prints_a_refusal_like_a_route_refusal() {
    let r = seed();
    let err = resolve_parts(r, GZDD, WUTAI, &code("640104"), None, on()).unwrap_err();
    let text = render_matter_notice(
        r,
        r.catalog.matter(GZDD).unwrap(),
        r.directory.office(WUTAI).unwrap(),
        NoticeRoute::Refused(&err),
        Lang::Zh,
    );
    assert!(
        text.contains(
            "不能通办：事项 GA-HJ-QY-GZDD 的联办环节「迁入地审批」由迁入地（转入地）办理"
        ),
        "{text}"
    );
    assert!(!text.contains("联办环节："), "{text}");
    // The materials are still listed: the applicant learns everything at once.
    assert!(text.contains("1. 居民身份证 (SFZ)"), "{text}");
}

#[test]
fn bundle_notice_lists_every_merged_material_once_and_every_member() {
    let r = seed();
    let bundle = r.bundles.get(BIRTH).unwrap();
    let window = r.directory.office(WUTAI).unwrap();
    let members = route_bundle(r, bundle, WUTAI, &code("640104"), on());
    assert_eq!(members.len(), bundle.matters.len());
    let text = render_bundle_notice(r, bundle, window, &members, Lang::Zh);

    for expected in [
        "一次性告知清单（一件事一次办）",
        "一件事：出生一件事",
        "一件事编码：YJS-CS",
        "说明：新生儿出生后",
        "目录版本：",
        "受理窗口：五台县政务服务中心 [140922 山西省忻州市五台县]",
        "办理模式：全程网办、异地代收代办",
        "合计收费：免费",
        "最长承诺时限：10 个工作日",
        "以上为全部所需材料与要求，一次性告知。",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }

    let merged = bundle_materials(&r.catalog, bundle);
    for m in &merged {
        let entry = format!("({}) — ", m.material.code);
        assert_eq!(
            text.matches(&entry).count(),
            1,
            "{} listed once in\n{text}",
            m.material.code
        );
    }
    let sfz = line_starting(&text, "1. 父母双方居民身份证 (SFZ)");
    assert!(
        sfz.contains("必要；无需纸质原件；可用电子证照替代：居民身份证 (111)"),
        "{sfz}"
    );
    assert!(
        sfz.contains(
            "用于：出生医学证明首次签发、生育登记、出生登记（新生儿入户）、\
             城乡居民基本医疗保险参保登记、社会保障卡申领"
        ),
        "{sfz}"
    );
    // The 出生医学证明 is the first member's result: not asked for, and its users wait.
    let cszm = line_starting(&text, "6. 出生医学证明 (CSZM)");
    assert!(
        cszm.contains("由「出生医学证明首次签发」办结后出具，无需申请人提交"),
        "{cszm}"
    );
    assert!(!cszm.contains("必要"), "{cszm}");

    for (i, member) in members.iter().enumerate() {
        let route = member.route.as_ref().unwrap();
        assert!(
            route.responsible_office_id.starts_with("640100-"),
            "{route:?}"
        );
        assert_eq!(route.scope, Scope::CrossProvince);
        let line = line_starting(
            &text,
            &format!("{}. {} ({})", i + 1, member.matter.name, member.matter.code),
        );
        let office = r.directory.office(&route.responsible_office_id).unwrap();
        for expected in [
            format!("办理机构：{} [640100 宁夏回族自治区银川市]", office.name),
            "通办范围：跨省通办".to_owned(),
            format!("承诺时限：{} 个工作日", member.matter.promised_limit_days),
            "收费：免费".to_owned(),
            if member.matter.materials.iter().any(|m| m.code == "CSZM") {
                "在「出生医学证明首次签发」准予后办理".to_owned()
            } else {
                "受理后即办理".to_owned()
            },
        ] {
            assert!(line.contains(&expected), "missing {expected:?} in {line}");
        }
    }

    let en = render_bundle_notice(r, bundle, window, &members, Lang::En);
    for expected in [
        "One-time notice (one application, several matters)",
        "Bundle: Having a baby (出生一件事)",
        "Total fee: Free",
        "Longest promised limit: 10 working days",
        "Childbirth registration (生育登记, WJ-SY-DJ) — office: ",
        "issued by \"First issuance of the medical birth certificate\" of this bundle",
        "after \"First issuance of the medical birth certificate\" is approved",
    ] {
        assert!(en.contains(expected), "missing {expected:?} in\n{en}");
    }
}

#[test]
fn bundle_notice_adds_the_fees_and_states_a_member_refusal() {
    // A bundle of the two 公证 matters (¥80.00 each), built by hand: the seed bundles are free.
    let r = seed();
    let bundle = Bundle {
        code: "T-GZ".to_owned(),
        name: "公证一件事".to_owned(),
        name_en: "Notarisations".to_owned(),
        description: "学历公证与驾驶证公证一次申请。".to_owned(),
        matters: vec!["SF-GZ-XL".to_owned(), "SF-GZ-JSZ".to_owned()],
        provides: Vec::new(),
    };
    let window = r.directory.office(WUTAI).unwrap();
    let mut members = route_bundle(r, &bundle, WUTAI, &code("640104"), on());
    assert_eq!(bundle_fee_fen(&members), 16_000);
    let longest = members
        .iter()
        .map(|m| m.matter.promised_limit_days)
        .max()
        .unwrap();
    assert_eq!(bundle_promised_limit_days(r, &bundle, &members), longest);

    let refusal = RouteError::NoResponsibleOffice {
        department: "sifa".to_owned(),
        home_division: "640104".to_owned(),
    };
    members[1] = MemberRoute {
        matter: members[1].matter,
        route: Err(refusal),
    };
    let text = render_bundle_notice(r, &bundle, window, &members, Lang::Zh);
    assert!(text.contains("合计收费：¥160.00"), "{text}");
    assert!(
        text.contains(&format!("最长承诺时限：{longest} 个工作日")),
        "{text}"
    );
    let refused = line_starting(&text, &format!("2. {} (SF-GZ-JSZ)", members[1].matter.name));
    assert!(
        refused.contains(
            "不能通办：申请人所在地 640104 的县、市、省三级均没有负责部门 sifa 的办理机构"
        ),
        "{refused}"
    );
    assert!(!refused.contains("办理机构："), "{refused}");
    assert!(refused.contains("收费：¥80.00"), "{refused}");
    let en = render_bundle_notice(r, &bundle, window, &members, Lang::En);
    assert!(en.contains("Total fee: ¥160.00"), "{en}");
    assert!(
        en.contains("cannot be handled here: no office serves"),
        "{en}"
    );
}

#[test]
fn bundle_notice_adds_the_limits_of_a_member_and_the_one_it_waits_for() {
    // 退休一件事: 退休提取公积金 and 医保待遇核定 wait for the 退休审批, whose result (退休证明)
    // they need.
    let r = seed();
    let bundle = r.bundles.get("YJS-TX").unwrap();
    let members = route_bundle(r, bundle, WUTAI, &code("640104"), on());
    let limit = |code: &str| r.catalog.matter(code).unwrap().promised_limit_days;
    let expected = limit("RS-YL-TXSP") + limit("YB-TX-DYHD").max(limit("GJJ-TQ-TX"));
    assert_eq!(bundle_promised_limit_days(r, bundle, &members), expected);
    let text = render_bundle_notice(
        r,
        bundle,
        r.directory.office(WUTAI).unwrap(),
        &members,
        Lang::Zh,
    );
    assert!(
        text.contains(&format!("最长承诺时限：{expected} 个工作日")),
        "{text}"
    );
    let gjj = line_starting(&text, "3. 正常退休提取住房公积金 (GJJ-TQ-TX)");
    assert!(
        gjj.contains("在「职工正常退休（基本养老金申领）」准予后办理"),
        "{gjj}"
    );
}
