//! 一次性告知清单: the one-time notice printed at the window, generated from the matter's
//! 五统一 standard for a given window and (when known) the route to the responsible office.

use crate::catalog::{Matter, certificate_type_name};
use crate::directory::Office;
use crate::division::DivisionCode;
use crate::i18n::{Lang, Localized};
use crate::reference::ReferenceData;
use crate::routing::{Route, RouteError};

/// Renders the notice as plain text in `lang`: matter name, code and version, department,
/// conditions, every material (required or optional, paper original or not, which
/// e-certificates replace it), the scope and responsible office (or the refusal), the stages,
/// promised and legal limits in working days, fee, delivery methods and legal basis.
///
/// `route` and `route_error` come from [`resolve_route`](crate::routing::resolve_route) for the
/// applicant's locality; with neither, the notice says the scope depends on that locality.
pub fn render_notice(
    reference: &ReferenceData,
    matter: &Matter,
    window: &Office,
    route: Option<&Route>,
    route_error: Option<&RouteError>,
    lang: Lang,
) -> String {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let sep = t("：", ": ");
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };

    line(t("一次性告知清单", "One-time notice").to_owned());
    line(format!(
        "{}{sep}{}",
        t("事项", "Matter"),
        matter_title(matter, lang)
    ));
    line(match lang {
        Lang::Zh => format!(
            "事项编码：{}，标准第 {} 版，自 {} 起施行",
            matter.code, matter.version, matter.valid_from
        ),
        Lang::En => format!(
            "Matter code: {}, standard version {}, in force from {}",
            matter.code, matter.version, matter.valid_from
        ),
    });
    line(format!(
        "{}{sep}{}",
        t("目录版本", "Catalog version"),
        reference.catalog.version()
    ));
    let department = reference
        .catalog
        .department(&matter.department)
        .map_or_else(
            || matter.department.clone(),
            |d| lang.pick(&d.name, &d.name_en).to_owned(),
        );
    line(format!("{}{sep}{department}", t("主管部门", "Department")));
    line(format!(
        "{}{sep}{}",
        t("受理窗口", "Accepting window"),
        office_label(reference, window)
    ));

    match (route, route_error) {
        (Some(route), _) => {
            line(format!(
                "{}{sep}{}",
                t("通办范围", "Scope"),
                route.scope.text(lang)
            ));
            let office = reference
                .directory
                .office(&route.responsible_office_id)
                .map_or_else(
                    || route.responsible_office_id.clone(),
                    |o| office_label(reference, o),
                );
            line(format!(
                "{}{sep}{office}",
                t("办理机构", "Responsible office")
            ));
            if let Some(id) = &route.agreement_id {
                let agreement = reference
                    .directory
                    .agreement(id)
                    .map_or_else(|| id.clone(), |a| format!("{} ({id})", a.name));
                line(format!(
                    "{}{sep}{agreement}",
                    t("合作协议", "Cooperation agreement")
                ));
            }
        }
        (None, Some(error)) => {
            line(format!(
                "{}{sep}{}",
                t("不能通办", "Cannot be handled here"),
                error.text(lang)
            ));
        }
        (None, None) => {
            line(format!(
                "{}{sep}{}",
                t("通办范围", "Scope"),
                t("视申请人所在地而定", "depends on the applicant's locality")
            ));
        }
    }

    let modes: Vec<String> = matter.modes.iter().map(|m| m.text(lang)).collect();
    line(format!(
        "{}{sep}{}",
        t("办理模式", "Modes"),
        modes.join(t("、", ", "))
    ));
    let scopes: Vec<String> = matter.scopes.iter().map(|s| s.text(lang)).collect();
    line(format!(
        "{}{sep}{}",
        t("可通办范围", "Allowed scopes"),
        scopes.join(t("、", ", "))
    ));
    line(format!(
        "{}{sep}{}",
        t("申请条件", "Conditions"),
        matter.conditions
    ));

    line(format!("{}{}", t("申请材料", "Materials"), sep.trim_end()));
    for (i, material) in matter.materials.iter().enumerate() {
        let mut entry = format!(
            "  {}. {} ({}) — {}",
            i + 1,
            material.name,
            material.code,
            if material.required {
                t("必要", "required")
            } else {
                t("非必要", "optional")
            }
        );
        entry.push_str(t("；", "; "));
        entry.push_str(if material.paper_original_required {
            t(
                "需纸质原件（异地代收代办时寄递至办理机构）",
                "paper original needed (sent by courier under remote acceptance by proxy)",
            )
        } else {
            t("无需纸质原件", "no paper original needed")
        });
        if !material.accepted_certificate_types.is_empty() {
            let types: Vec<String> = material
                .accepted_certificate_types
                .iter()
                .map(|code| match certificate_type_name(code, lang) {
                    Some(name) => format!("{name} ({code})"),
                    None => code.clone(),
                })
                .collect();
            entry.push_str(t("；", "; "));
            entry.push_str(t("可用电子证照替代：", "replaced by the e-certificate: "));
            entry.push_str(&types.join(t("、", ", ")));
        }
        if !material.notes.trim().is_empty() {
            entry.push_str(t("；", "; "));
            entry.push_str(t("备注：", "notes: "));
            entry.push_str(&material.notes);
        }
        line(entry);
    }

    let stages: Vec<String> = matter
        .stages
        .iter()
        .map(|s| match lang {
            Lang::Zh => format!("{} {} 个工作日", s.name, s.working_days),
            Lang::En => format!("{} {} working day(s)", s.code, s.working_days),
        })
        .collect();
    line(format!(
        "{}{sep}{}",
        t("办理流程", "Stages"),
        stages.join(" → ")
    ));
    line(match lang {
        Lang::Zh => format!(
            "办理时限：承诺 {} 个工作日，法定 {} 个工作日（自受理次日起算，补正期间不计）",
            matter.promised_limit_days, matter.legal_limit_days
        ),
        Lang::En => format!(
            "Time limit: promised {} working days, legal {} working days (counted from the day \
             after acceptance; supplement periods excluded)",
            matter.promised_limit_days, matter.legal_limit_days
        ),
    });
    line(format!(
        "{}{sep}{}",
        t("收费标准", "Fee"),
        format_fee(matter.fee_fen, lang)
    ));
    let delivery: Vec<String> = matter
        .delivery_methods
        .iter()
        .map(|d| d.text(lang))
        .collect();
    line(format!(
        "{}{sep}{}",
        t("发证方式", "Delivery"),
        delivery.join(t("、", ", "))
    ));
    line(format!(
        "{}{sep}{}",
        t("设定依据", "Legal basis"),
        matter.legal_basis
    ));
    line(
        t(
            "以上为全部所需材料与要求，一次性告知。",
            "This notice lists everything needed, all at once.",
        )
        .to_owned(),
    );
    out
}

/// `户口迁移（工作调动）` in Chinese, the English name followed by the Chinese one in English.
fn matter_title(matter: &Matter, lang: Lang) -> String {
    match lang {
        Lang::Zh => matter.name.clone(),
        Lang::En => format!("{} ({})", matter.name_en, matter.name),
    }
}

/// `五台县政务服务中心 [140922 山西省忻州市五台县]`.
fn office_label(reference: &ReferenceData, office: &Office) -> String {
    format!(
        "{} [{}]",
        office.name,
        division_label(reference, &office.division)
    )
}

fn division_label(reference: &ReferenceData, code: &DivisionCode) -> String {
    format!("{code} {}", reference.divisions.full_name(code))
}

/// `免费` / `Free` for 0, otherwise `¥12.50`.
pub fn format_fee(fee_fen: i64, lang: Lang) -> String {
    if fee_fen == 0 {
        return lang.pick("免费", "Free").to_owned();
    }
    let sign = if fee_fen < 0 { "-" } else { "" };
    let abs = fee_fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", abs / 100, abs % 100)
}
