//! 一次性告知清单 rendering on the inline fixtures.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use a2_fixtures::{code, on, reference};
use tongban_domain::i18n::Lang;
use tongban_domain::notice::{format_fee, render_notice};
use tongban_domain::routing::resolve_route;

#[test]
fn notice_for_a_cross_province_case_lists_everything() {
    let r = reference();
    let matter = r.catalog.matter("GA-HJ-QY-GZDD").unwrap();
    let window = r.directory.office("140922-zwfw").unwrap();
    let route = resolve_route(&r, &matter.code, &window.id, &code("640104"), on()).unwrap();
    let text = render_notice(&r, matter, window, Some(&route), None, Lang::Zh);
    for expected in [
        "一次性告知清单",
        "事项：户口迁移（工作调动）",
        "GA-HJ-QY-GZDD，标准第 2 版，自 2025-01-01 起施行",
        "目录版本：2026.11.1",
        "主管部门：公安",
        "受理窗口：五台县政务服务中心 [140922 山西省忻州市五台县]",
        "通办范围：跨省通办",
        "办理机构：银川市公安局 [640100 宁夏回族自治区银川市]",
        "办理模式：全程网办、异地代收代办",
        "申请条件：因工作调动需要迁移户口的职工及其随迁家属。",
        "1. 居民身份证 (SFZ) — 必要；无需纸质原件；可用电子证照替代：居民身份证 (111)；备注：核验原件",
        "2. 居民户口簿 (HKB) — 必要；需纸质原件",
        "3. 工作调动证明 (DDZM) — 必要；需纸质原件",
        "4. 近期免冠照片 (ZP) — 非必要；无需纸质原件",
        "办理流程：受理 1 个工作日 → 审查 7 个工作日 → 决定 2 个工作日",
        "承诺 10 个工作日，法定 20 个工作日",
        "收费标准：免费",
        "发证方式：窗口领取、邮寄",
        "设定依据：《中华人民共和国户口登记条例》第十条",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains("合作协议"), "{text}");
}

#[test]
fn notice_names_the_agreement_for_regional_cases_and_the_fee() {
    let r = reference();
    let matter = r.catalog.matter("JY-XJ-ZXZM").unwrap();
    let window = r.directory.office("140922-zwfw").unwrap();
    let route = resolve_route(&r, &matter.code, &window.id, &code("150602"), on()).unwrap();
    let zh = render_notice(&r, matter, window, Some(&route), None, Lang::Zh);
    assert!(zh.contains("通办范围：区域通办"), "{zh}");
    assert!(
        zh.contains("合作协议：忻州市与鄂尔多斯市政务服务“区域通办”合作协议 (XZ-EEDS-2021)"),
        "{zh}"
    );
    assert!(zh.contains("收费标准：¥12.50"), "{zh}");
    assert!(zh.contains("发证方式：邮寄、电子证照"), "{zh}");

    let en = render_notice(&r, matter, window, Some(&route), None, Lang::En);
    assert!(en.contains("One-time notice"), "{en}");
    assert!(
        en.contains("Matter: Student status certificate (学籍证明)"),
        "{en}"
    );
    assert!(en.contains("Scope: Regional"), "{en}");
    assert!(en.contains("Department: Education"), "{en}");
    assert!(en.contains("Fee: ¥12.50"), "{en}");
    assert!(
        en.contains("promised 5 working days, legal 10 working days"),
        "{en}"
    );
}

#[test]
fn notice_states_the_refusal() {
    let r = reference();
    let matter = r.catalog.matter("JY-XJ-ZXZM").unwrap();
    let window = r.directory.office("140922-zwfw").unwrap();
    let err = resolve_route(&r, &matter.code, &window.id, &code("610102"), on()).unwrap_err();
    let text = render_notice(&r, matter, window, None, Some(&err), Lang::Zh);
    assert!(
        text.contains("不能通办：事项 JY-XJ-ZXZM 不在跨省通办清单内"),
        "{text}"
    );
    assert!(!text.contains("办理机构"), "{text}");
    // Materials are still listed: the applicant learns everything at once.
    assert!(text.contains("1. 居民身份证 (SFZ)"), "{text}");
}

#[test]
fn notice_without_locality() {
    let r = reference();
    let matter = r.catalog.matter("SF-GZ-XL").unwrap();
    let window = r.directory.office("140922-zwfw").unwrap();
    let text = render_notice(&r, matter, window, None, None, Lang::Zh);
    assert!(text.contains("通办范围：视申请人所在地而定"), "{text}");
    assert!(
        text.contains("可用电子证照替代：学历证书 (118)、毕业证书 (122)"),
        "{text}"
    );
    assert!(text.contains("收费标准：¥80.00"), "{text}");
}

#[test]
fn fees() {
    assert_eq!(format_fee(0, Lang::Zh), "免费");
    assert_eq!(format_fee(0, Lang::En), "Free");
    assert_eq!(format_fee(5, Lang::Zh), "¥0.05");
    assert_eq!(format_fee(123_456, Lang::En), "¥1234.56");
}
