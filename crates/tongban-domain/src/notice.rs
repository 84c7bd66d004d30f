//! 一次性告知清单: the one-time notice printed at the window, generated from the matter's
//! 五统一 standard for a given window and (when known) the route to the responsible office —
//! one office, one office per part (多地联办), or one office per member matter (一件事一次办).

use chrono::NaiveDate;

use crate::bundle::{
    Bundle, bundle_materials, common_delivery_methods, common_modes, prerequisites,
};
use crate::catalog::{DeliveryMethod, Material, Matter, Mode, Scope, certificate_type_name};
use crate::directory::Office;
use crate::division::DivisionCode;
use crate::i18n::{Lang, Localized};
use crate::reference::ReferenceData;
use crate::routing::{JointRoute, PartRoute, Route, RouteError, resolve_route};

/// Where the notice says the case goes.
#[derive(Debug, Clone, Copy)]
pub enum NoticeRoute<'a> {
    /// The applicant's locality is not known: the scope depends on it.
    Unknown,
    /// One responsible office (全程网办, 异地代收代办).
    Single(&'a Route),
    /// 多地联办: one office per part.
    Joint(&'a JointRoute),
    /// The case cannot be routed, for this reason.
    Refused(&'a RouteError),
}

/// Renders the notice of a single-office case; shorthand for [`render_matter_notice`] with
/// `route` ([`NoticeRoute::Single`]), else `route_error` ([`NoticeRoute::Refused`]), else
/// [`NoticeRoute::Unknown`].
///
/// `route` and `route_error` come from [`resolve_route`] for the applicant's locality.
pub fn render_notice(
    reference: &ReferenceData,
    matter: &Matter,
    window: &Office,
    route: Option<&Route>,
    route_error: Option<&RouteError>,
    lang: Lang,
) -> String {
    let route = match (route, route_error) {
        (Some(route), _) => NoticeRoute::Single(route),
        (None, Some(error)) => NoticeRoute::Refused(error),
        (None, None) => NoticeRoute::Unknown,
    };
    render_matter_notice(reference, matter, window, route, lang)
}

/// Renders the notice as plain text in `lang`: matter name, code and version, department,
/// conditions, every material (required or optional, paper original or not, which
/// e-certificates replace it), where the case goes (the scope and responsible office; for
/// 多地联办 each part with the locality deciding it, its office, scope, agreement and order; or
/// the refusal), the stages, promised and legal limits in working days, fee, delivery methods
/// and legal basis.
pub fn render_matter_notice(
    reference: &ReferenceData,
    matter: &Matter,
    window: &Office,
    route: NoticeRoute<'_>,
    lang: Lang,
) -> String {
    let mut out = Lines::new(lang);
    out.line(lang.pick("一次性告知清单", "One-time notice"));
    out.field("事项", "Matter", &matter_title(matter, lang));
    out.line(&match lang {
        Lang::Zh => format!(
            "事项编码：{}，标准第 {} 版，自 {} 起施行",
            matter.code, matter.version, matter.valid_from
        ),
        Lang::En => format!(
            "Matter code: {}, standard version {}, in force from {}",
            matter.code, matter.version, matter.valid_from
        ),
    });
    out.field("目录版本", "Catalog version", reference.catalog.version());
    let department = reference
        .catalog
        .department(&matter.department)
        .map_or_else(
            || matter.department.clone(),
            |d| lang.pick(&d.name, &d.name_en).to_owned(),
        );
    out.field("主管部门", "Department", &department);
    out.field(
        "受理窗口",
        "Accepting window",
        &office_label(reference, window),
    );

    match route {
        NoticeRoute::Single(route) => {
            out.field("通办范围", "Scope", &route.scope.text(lang));
            out.field(
                "办理机构",
                "Responsible office",
                &office_label_by_id(reference, &route.responsible_office_id),
            );
            if let Some(id) = &route.agreement_id {
                out.field(
                    "合作协议",
                    "Cooperation agreement",
                    &agreement_label(reference, id),
                );
            }
        }
        NoticeRoute::Joint(route) => joint_section(&mut out, reference, route),
        NoticeRoute::Refused(error) => {
            out.field("不能通办", "Cannot be handled here", &error.text(lang));
        }
        NoticeRoute::Unknown => {
            out.field(
                "通办范围",
                "Scope",
                lang.pick("视申请人所在地而定", "depends on the applicant's locality"),
            );
        }
    }

    out.field("办理模式", "Modes", &modes_text(&matter.modes, lang));
    let scopes: Vec<String> = matter.scopes.iter().map(|s| s.text(lang)).collect();
    out.field("可通办范围", "Allowed scopes", &join(&scopes, lang));
    out.field("申请条件", "Conditions", &matter.conditions);

    out.heading("申请材料", "Materials");
    for (i, material) in matter.materials.iter().enumerate() {
        out.line(&material_entry(i + 1, material, lang));
    }

    let stages: Vec<String> = matter
        .stages
        .iter()
        .map(|s| match lang {
            Lang::Zh => format!("{} {} 个工作日", s.name, s.working_days),
            Lang::En => format!("{} {} working day(s)", s.code, s.working_days),
        })
        .collect();
    out.field("办理流程", "Stages", &stages.join(" → "));
    out.line(&match lang {
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
    out.field("收费标准", "Fee", &format_fee(matter.fee_fen, lang));
    out.field(
        "发证方式",
        "Delivery",
        &delivery_text(&matter.delivery_methods, lang),
    );
    out.field("设定依据", "Legal basis", &matter.legal_basis);
    out.closing();
    out.into_string()
}

/// 多地联办: the case's scope (the widest of the parts), the office issuing the result, then
/// each part with the locality deciding it, its office, scope, agreement and order.
fn joint_section(out: &mut Lines, reference: &ReferenceData, route: &JointRoute) {
    let lang = out.lang;
    out.field(
        "通办范围",
        "Scope",
        &match lang {
            Lang::Zh => format!("{}（按各环节中范围最广者计）", route.scope.text(lang)),
            Lang::En => format!("{} (the widest of the parts)", route.scope.text(lang)),
        },
    );
    out.field(
        "联办说明",
        "Joint handling",
        lang.pick(
            "多地联办，各环节由各自的办理机构审批，全部环节准予后办结；任一环节不予，办件即终止",
            "each part is decided by its own office; the case is approved when every part is, \
             and ends as soon as one part is denied",
        ),
    );
    out.field(
        "结果出具机构",
        "Result issued by",
        &office_label_by_id(reference, &route.responsible_office_id),
    );
    out.heading("联办环节", "Parts");
    for (i, part) in route.parts.iter().enumerate() {
        let sep = lang.pick("；", "; ");
        let mut entry = format!(
            "  {}. {} — {}{}{}",
            i + 1,
            part_title(part, lang),
            part.locality.text(lang),
            lang.pick("：", ": "),
            division_label(reference, &part.division),
        );
        entry.push_str(sep);
        push_route(
            &mut entry,
            reference,
            &part.office_id,
            part.scope,
            part.agreement_id.as_deref(),
            lang,
        );
        entry.push_str(sep);
        entry.push_str(&part_order(part, &route.parts, lang));
        out.line(&entry);
    }
}

/// `迁入地审批 (QR)` in Chinese, `Approval at the destination (QR)` in English.
fn part_title(part: &PartRoute, lang: Lang) -> String {
    format!("{} ({})", lang.pick(&part.name, &part.name_en), part.code)
}

/// When a part is handled: after the parts it waits for (`在「迁入地审批」准予后办理`), or at
/// once — alone first, or together with the other parts that start at once.
fn part_order(part: &PartRoute, parts: &[PartRoute], lang: Lang) -> String {
    let quoted = |p: &PartRoute| match lang {
        Lang::Zh => format!("「{}」", p.name),
        Lang::En => format!("\"{}\"", p.name_en),
    };
    if !part.after.is_empty() {
        let before: Vec<String> = part
            .after
            .iter()
            .map(|code| {
                parts
                    .iter()
                    .find(|p| &p.code == code)
                    .map_or_else(|| code.clone(), quoted)
            })
            .collect();
        return after_text(&before, lang);
    }
    let peers: Vec<&PartRoute> = parts
        .iter()
        .filter(|p| p.code != part.code && p.after.is_empty())
        .collect();
    if peers.is_empty() {
        lang.pick("受理后首先办理", "first, from acceptance")
            .to_owned()
    } else if peers.len() + 1 == parts.len() {
        lang.pick("与其他环节同时办理", "at the same time as the other parts")
            .to_owned()
    } else {
        let names: Vec<String> = peers.into_iter().map(quoted).collect();
        match lang {
            Lang::Zh => format!("受理后即办理，与{}同时办理", names.join("、")),
            Lang::En => format!(
                "from acceptance, at the same time as {}",
                names.join(" and ")
            ),
        }
    }
}

/// `在「A」、「B」准予后办理` / `after "A" and "B" are approved`, the names already quoted.
fn after_text(quoted: &[String], lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("在{}准予后办理", quoted.join("、")),
        Lang::En => format!(
            "after {} {} approved",
            quoted.join(" and "),
            if quoted.len() == 1 { "is" } else { "are" }
        ),
    }
}

/// 一件事一次办: where one member matter of a bundle goes, or why it cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRoute<'a> {
    /// The member matter.
    pub matter: &'a Matter,
    /// Its route for the applicant's locality, or the refusal.
    pub route: Result<Route, RouteError>,
}

/// Routes every member of `bundle` on its own ([`resolve_route`]) for an applicant whose
/// record lives in `home_division`, in the bundle's order.
pub fn route_bundle<'r>(
    reference: &'r ReferenceData,
    bundle: &Bundle,
    window_office_id: &str,
    home_division: &DivisionCode,
    on: NaiveDate,
) -> Vec<MemberRoute<'r>> {
    bundle
        .matters
        .iter()
        .filter_map(|code| reference.catalog.matter(code))
        .map(|matter| MemberRoute {
            matter,
            route: resolve_route(reference, &matter.code, window_office_id, home_division, on),
        })
        .collect()
}

/// The fee of the whole bundle: the sum of its members' fees, in 分.
pub fn bundle_fee_fen(members: &[MemberRoute<'_>]) -> i64 {
    members.iter().map(|m| m.matter.fee_fen).sum()
}

/// The longest promised limit of the bundle, in working days: the members run at the same
/// time, each on its own clock, except that a member waiting for others (前序事项, whose result
/// it needs: [`prerequisites`]) comes after them, so a chain of members adds up.
pub fn bundle_promised_limit_days(
    reference: &ReferenceData,
    bundle: &Bundle,
    members: &[MemberRoute<'_>],
) -> u32 {
    fn chain(
        code: &str,
        reference: &ReferenceData,
        bundle: &Bundle,
        path: &mut Vec<String>,
    ) -> u32 {
        let Some(matter) = reference.catalog.matter(code) else {
            return 0;
        };
        // The loader refuses cycles; a hand-built bundle with one still gets an answer.
        if path.iter().any(|p| p == code) {
            return 0;
        }
        path.push(code.to_owned());
        let before = prerequisites(&reference.catalog, bundle, code)
            .iter()
            .map(|p| chain(p, reference, bundle, path))
            .max()
            .unwrap_or(0);
        path.pop();
        before + matter.promised_limit_days
    }
    members
        .iter()
        .map(|m| chain(&m.matter.code, reference, bundle, &mut Vec::new()))
        .max()
        .unwrap_or(0)
}

/// Renders the 一次性告知清单 of a 一件事 as plain text in `lang`: the bundle's name, code and
/// description, the catalog version, the window, the modes and delivery methods every member
/// allows, then the merged materials once each (required or optional, paper original, the
/// e-certificates replacing it, and the members needing it; or the member whose result it is),
/// then each member with its office, scope, order, promised limit and fee (or why it cannot be
/// routed), then the total fee and the longest promised limit.
///
/// `members` come from [`route_bundle`] for the applicant's locality.
pub fn render_bundle_notice(
    reference: &ReferenceData,
    bundle: &Bundle,
    window: &Office,
    members: &[MemberRoute<'_>],
    lang: Lang,
) -> String {
    let catalog = &reference.catalog;
    let mut out = Lines::new(lang);
    out.line(lang.pick(
        "一次性告知清单（一件事一次办）",
        "One-time notice (one application, several matters)",
    ));
    let title = match lang {
        Lang::Zh => bundle.name.clone(),
        Lang::En => format!("{} ({})", bundle.name_en, bundle.name),
    };
    out.field("一件事", "Bundle", &title);
    out.field("一件事编码", "Bundle code", &bundle.code);
    out.field("说明", "Description", &bundle.description);
    out.field("目录版本", "Catalog version", catalog.version());
    out.field(
        "受理窗口",
        "Accepting window",
        &office_label(reference, window),
    );
    out.field(
        "办理模式",
        "Modes",
        &modes_text(&common_modes(catalog, bundle), lang),
    );
    out.field(
        "发证方式",
        "Delivery",
        &delivery_text(&common_delivery_methods(catalog, bundle), lang),
    );

    let name_of = |code: &str| {
        catalog.matter(code).map_or_else(
            || code.to_owned(),
            |m| lang.pick(&m.name, &m.name_en).to_owned(),
        )
    };
    out.heading(
        "申请材料（各事项共用的材料只提交一次）",
        "Materials (a material several matters need is presented once)",
    );
    let quoted = |code: &str| match lang {
        Lang::Zh => format!("「{}」", name_of(code)),
        Lang::En => format!("\"{}\"", name_of(code)),
    };
    for (i, merged) in bundle_materials(catalog, bundle).iter().enumerate() {
        let sep = lang.pick("；", "; ");
        let users: Vec<String> = merged.matter_codes.iter().map(|c| name_of(c)).collect();
        if let Some(provider) = &merged.provided_by {
            // 前序事项出具: the result of another member, not asked of the applicant.
            let material = &merged.material;
            let mut entry = format!("  {}. {} ({}) — ", i + 1, material.name, material.code);
            entry.push_str(&match lang {
                Lang::Zh => format!("由{}办结后出具，无需申请人提交", quoted(provider)),
                Lang::En => format!(
                    "issued by {} of this bundle; the applicant need not present it",
                    quoted(provider)
                ),
            });
            entry.push_str(sep);
            entry.push_str(&labelled("用于", "for", &join(&users, lang), lang));
            out.line(&entry);
            continue;
        }
        let mut entry = material_entry(i + 1, &merged.material, lang);
        entry.push_str(sep);
        entry.push_str(&labelled("用于", "for", &join(&users, lang), lang));
        let original: Vec<String> = merged
            .matter_codes
            .iter()
            .filter(|code| {
                catalog
                    .matter(code)
                    .and_then(|m| m.material(&merged.material.code))
                    .is_some_and(|m| m.paper_original_required)
            })
            .map(|c| name_of(c))
            .collect();
        // Only worth saying when several members share the material: the one original goes
        // to one member's office.
        if merged.matter_codes.len() > 1 && !original.is_empty() {
            entry.push_str(sep);
            entry.push_str(&labelled(
                "原件用于",
                "paper original for",
                &join(&original, lang),
                lang,
            ));
        }
        out.line(&entry);
    }

    out.heading(
        "包含事项（每个事项单独立案、分别办理）",
        "Matters (each opened as a case of its own)",
    );
    for (i, member) in members.iter().enumerate() {
        let sep = lang.pick("；", "; ");
        let matter = member.matter;
        let mut entry = match lang {
            Lang::Zh => format!("  {}. {} ({}) — ", i + 1, matter.name, matter.code),
            Lang::En => format!(
                "  {}. {} ({}, {}) — ",
                i + 1,
                matter.name_en,
                matter.name,
                matter.code
            ),
        };
        match &member.route {
            Ok(route) => {
                push_route(
                    &mut entry,
                    reference,
                    &route.responsible_office_id,
                    route.scope,
                    route.agreement_id.as_deref(),
                    lang,
                );
            }
            Err(error) => {
                entry.push_str(&labelled(
                    "不能通办",
                    "cannot be handled here",
                    &error.text(lang),
                    lang,
                ));
            }
        }
        entry.push_str(sep);
        let awaited: Vec<String> = prerequisites(catalog, bundle, &matter.code)
            .iter()
            .map(|c| quoted(c))
            .collect();
        entry.push_str(&if awaited.is_empty() {
            lang.pick("受理后即办理", "from acceptance").to_owned()
        } else {
            after_text(&awaited, lang)
        });
        entry.push_str(sep);
        entry.push_str(&labelled(
            "承诺时限",
            "promised limit",
            &working_days(matter.promised_limit_days, lang),
            lang,
        ));
        entry.push_str(sep);
        entry.push_str(&labelled(
            "收费",
            "fee",
            &format_fee(matter.fee_fen, lang),
            lang,
        ));
        out.line(&entry);
    }
    out.field(
        "合计收费",
        "Total fee",
        &format_fee(bundle_fee_fen(members), lang),
    );
    let longest = working_days(bundle_promised_limit_days(reference, bundle, members), lang);
    out.field(
        "最长承诺时限",
        "Longest promised limit",
        &match lang {
            Lang::Zh => format!(
                "{longest}（各事项同时办理、分别计时，补正期间不计；须待前序事项准予的，\
                 时限与前序事项相加）"
            ),
            Lang::En => format!(
                "{longest} (the matters run at the same time, each on its own clock, supplement \
                 periods excluded; a matter waiting for another adds its limit to that one's)"
            ),
        },
    );
    out.closing();
    out.into_string()
}

/// The lines of a notice being written, in one language.
struct Lines {
    lang: Lang,
    out: String,
}

impl Lines {
    fn new(lang: Lang) -> Self {
        Self {
            lang,
            out: String::new(),
        }
    }

    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// `标签：值` / `Label: value`.
    fn field(&mut self, zh: &str, en: &str, value: &str) {
        let text = labelled(zh, en, value, self.lang);
        self.line(&text);
    }

    /// `标签：` / `Label:`, before an enumerated list.
    fn heading(&mut self, zh: &str, en: &str) {
        let text = format!("{}{}", self.lang.pick(zh, en), self.lang.pick("：", ":"));
        self.line(&text);
    }

    /// The last line: everything was said at once.
    fn closing(&mut self) {
        self.line(self.lang.pick(
            "以上为全部所需材料与要求，一次性告知。",
            "This notice lists everything needed, all at once.",
        ));
    }

    fn into_string(self) -> String {
        self.out
    }
}

/// Appends where a part or member goes — its office, 通办范围 and, under 区域通办, the
/// agreement — to a one-line `entry`, each labelled and separated as the entry's other fields.
fn push_route(
    entry: &mut String,
    reference: &ReferenceData,
    office_id: &str,
    scope: Scope,
    agreement_id: Option<&str>,
    lang: Lang,
) {
    let sep = lang.pick("；", "; ");
    entry.push_str(&labelled(
        "办理机构",
        "office",
        &office_label_by_id(reference, office_id),
        lang,
    ));
    entry.push_str(sep);
    entry.push_str(&labelled("通办范围", "scope", &scope.text(lang), lang));
    if let Some(id) = agreement_id {
        entry.push_str(sep);
        entry.push_str(&labelled(
            "合作协议",
            "agreement",
            &agreement_label(reference, id),
            lang,
        ));
    }
}

/// `标签：值` in Chinese, `Label: value` in English.
fn labelled(zh: &str, en: &str, value: &str, lang: Lang) -> String {
    format!("{}{}{value}", lang.pick(zh, en), lang.pick("：", ": "))
}

/// Items joined by `、` in Chinese, `, ` in English.
fn join(items: &[String], lang: Lang) -> String {
    items.join(lang.pick("、", ", "))
}

fn modes_text(modes: &[Mode], lang: Lang) -> String {
    let names: Vec<String> = modes.iter().map(|m| m.text(lang)).collect();
    join(&names, lang)
}

fn delivery_text(methods: &[DeliveryMethod], lang: Lang) -> String {
    let names: Vec<String> = methods.iter().map(|d| d.text(lang)).collect();
    join(&names, lang)
}

/// `10 个工作日` / `10 working days`.
fn working_days(days: u32, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{days} 个工作日"),
        Lang::En => format!("{days} working days"),
    }
}

/// One numbered material: name and code, required or optional, paper original or not, the
/// e-certificates that replace it, and the notes.
fn material_entry(number: usize, material: &Material, lang: Lang) -> String {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let mut entry = format!(
        "  {number}. {} ({}) — {}",
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
        entry.push_str(&join(&types, lang));
    }
    if !material.notes.trim().is_empty() {
        entry.push_str(t("；", "; "));
        entry.push_str(t("备注：", "notes: "));
        entry.push_str(&material.notes);
    }
    entry
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

/// The office with this id as [`office_label`] shows it, or the bare id when the directory
/// does not know it.
fn office_label_by_id(reference: &ReferenceData, id: &str) -> String {
    reference
        .directory
        .office(id)
        .map_or_else(|| id.to_owned(), |o| office_label(reference, o))
}

/// `忻州市与鄂尔多斯市政务服务“区域通办”合作协议 (XZ-EEDS-2021)`, or the bare id.
fn agreement_label(reference: &ReferenceData, id: &str) -> String {
    reference
        .directory
        .agreement(id)
        .map_or_else(|| id.to_owned(), |a| format!("{} ({id})", a.name))
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
