//! What the views of every audience share: office and matter names, the sections of a case
//! (多地联办 parts, 一件事 bundle, materials, 办理过程), decisions and remaining days.

use std::collections::HashMap;

use tongban_proto::catalog::v1::{Matter, Office, ReviewPoint};
use tongban_proto::common::v1::{
    BundleSummary, CasePart, MaskedApplicant, PresentedMaterial, TimelineEntry,
};

use crate::output::{
    Fields, Label, Lang, Table, bundle_status, case_status, decision, heading, material_form,
    part_state, scope, t, time, working_days, yes_no,
};

/// Office names by id from the directory (`ListOffices`), so that a part or a bundle member
/// reads `银川市公安局（640100-gongan）` rather than a bare id. Empty when the directory could not
/// be read: ids are shown then.
#[derive(Debug, Clone, Default)]
pub struct OfficeNames(HashMap<String, String>);

impl OfficeNames {
    /// The names of `offices`.
    pub fn from_offices(offices: &[Office]) -> Self {
        Self(
            offices
                .iter()
                .map(|o| (o.id.clone(), o.name.clone()))
                .collect(),
        )
    }

    /// `name（id）` when the name is known, else the id; empty for an empty id.
    pub fn label(&self, lang: Lang, id: &str) -> String {
        match self.0.get(id) {
            Some(name) if !id.is_empty() => named(lang, name, id),
            _ => id.to_owned(),
        }
    }
}

/// Matter names by code (from `ListMatters`), for bundle members; empty when unknown.
#[derive(Debug, Clone, Default)]
pub struct MatterNames(HashMap<String, String>);

impl MatterNames {
    /// The names of `matters`.
    pub fn from_matters(matters: &[Matter]) -> Self {
        Self(
            matters
                .iter()
                .map(|m| (m.code.clone(), m.name.clone()))
                .collect(),
        )
    }

    /// `name（code）` when the name is known, else the code.
    pub fn label(&self, lang: Lang, code: &str) -> String {
        self.0
            .get(code)
            .map_or_else(|| code.to_owned(), |name| named(lang, name, code))
    }

    /// The name alone when it is known, else the code.
    pub fn name<'a>(&'a self, code: &'a str) -> &'a str {
        self.0.get(code).map_or(code, String::as_str)
    }
}

/// `name（code）`, or whichever of the two is present; the code alone when the name is only
/// the code again (a service that knows no name sends the id in its place).
pub(super) fn named(lang: Lang, name: &str, code: &str) -> String {
    match (name.is_empty() || name == code, code.is_empty()) {
        (false, false) => format!("{name}{}", lang.paren(code)),
        (true, _) => code.to_owned(),
        (false, true) => name.to_owned(),
    }
}

/// Names in 「」 joined by `、` in Chinese (`「A」、「B」`); joined by `, ` in English.
pub(super) fn quoted(lang: Lang, names: &[&str]) -> String {
    match lang {
        Lang::Zh => names
            .iter()
            .map(|n| format!("「{n}」"))
            .collect::<Vec<_>>()
            .join("、"),
        Lang::En => names.join(", "),
    }
}

/// A bundle member's status, with the members it waits for while it does:
/// `已提交（待「出生医学证明首次签发」准予）` / `Submitted (waiting for 出生医学证明首次签发 to be
/// approved)`.
pub fn member_status(lang: Lang, status: i32, waiting_for: &[String]) -> String {
    let status = case_status(lang, status);
    if waiting_for.is_empty() {
        return status;
    }
    let names: Vec<&str> = waiting_for.iter().map(String::as_str).collect();
    let waiting = match lang {
        Lang::Zh => format!("待{}准予", quoted(lang, &names)),
        Lang::En => format!("waiting for {} to be approved", quoted(lang, &names)),
    };
    format!("{status}{}", lang.paren(waiting))
}

/// `王*明  1409**********1234  138****5678` (already masked by the server).
pub(super) fn applicant(a: Option<&MaskedApplicant>) -> String {
    a.map(|a| {
        [
            a.name.as_str(),
            a.id_number_masked.as_str(),
            a.phone_masked.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("  ")
    })
    .unwrap_or_default()
}

/// Remaining working days, or how far past due.
pub(super) fn remaining(lang: Lang, days: i32, overdue: bool) -> String {
    if days < 0 || overdue {
        format!(
            "{}{}",
            t(lang, Label::Overdue),
            lang.paren(working_days(lang, days.unsigned_abs()))
        )
    } else {
        working_days(lang, days)
    }
}

/// Presented materials (电子/纸质/电子证照), without certificate tokens.
pub fn presented(lang: Lang, materials: &[PresentedMaterial]) -> String {
    let mut table = Table::labelled(
        lang,
        [Label::Code, Label::Form, Label::Pages, Label::Sha256],
    );
    for m in materials {
        let pages = if m.pages == 0 {
            String::new()
        } else {
            m.pages.to_string()
        };
        // The first 16 hex digits identify a file well enough on screen; --json has all 64.
        let sha: String = m.sha256.chars().take(16).collect();
        let sha = if m.sha256.len() > 16 {
            format!("{sha}…")
        } else {
            sha
        };
        // 两个免提交: the certificate that satisfied the material, when one did.
        let form = if m.certificate_identifier.is_empty() {
            material_form(lang, m.form)
        } else {
            format!(
                "{} {}",
                material_form(lang, m.form),
                m.certificate_identifier
            )
        };
        table.row([m.material_code.clone(), form, pages, sha]);
    }
    table.render(2)
}

/// 办理过程: one line per step, the description in the chosen language.
pub fn timeline(lang: Lang, entries: &[TimelineEntry]) -> String {
    let mut table = Table::labelled(
        lang,
        [
            Label::Time,
            Label::Status,
            Label::Description,
            Label::Office,
        ],
    );
    for e in entries {
        table.row([
            time(e.at.as_ref()),
            case_status(lang, e.status),
            lang.pick_text(&e.description, &e.description_en).to_owned(),
            e.office_id.clone(),
        ]);
    }
    table.render(2)
}

pub(super) fn decision_line(lang: Lang, value: i32, reason: &str) -> String {
    if value == 0 {
        return String::new();
    }
    let d = decision(lang, value);
    if reason.is_empty() {
        d
    } else {
        format!("{d}{}{reason}", lang.colon())
    }
}

/// Appends a titled section when it has content.
pub(super) fn section(out: &mut String, lang: Lang, label: Label, body: String, has_rows: bool) {
    if has_rows {
        out.push('\n');
        out.push_str(&heading(lang, label));
        out.push('\n');
        out.push_str(&body);
    }
}

/// The 多地联办 parts and the 一件事 bundle of a case, each a section when the case has it; the
/// window's [`super::window::case`] and the hotline's [`super::hotline::status_view`] show them alike.
pub(super) fn joint_sections(
    out: &mut String,
    lang: Lang,
    list: &[CasePart],
    bundle: Option<&BundleSummary>,
    offices: &OfficeNames,
) {
    parts_section(out, lang, list, offices);
    bundle_section(out, lang, bundle, offices);
}

/// 多地联办环节 of a case as a section ([`parts`]); nothing for a case of one office.
pub fn parts_section(out: &mut String, lang: Lang, list: &[CasePart], offices: &OfficeNames) {
    section(
        out,
        lang,
        Label::Parts,
        parts(lang, list, offices),
        !list.is_empty(),
    );
}

/// The 一件事 a case belongs to, as a section; nothing when it belongs to none.
pub(super) fn bundle_section(
    out: &mut String,
    lang: Lang,
    bundle: Option<&BundleSummary>,
    offices: &OfficeNames,
) {
    if let Some(b) = bundle {
        section(
            out,
            lang,
            Label::Bundle,
            bundle_summary(lang, b, offices),
            true,
        );
    }
}

/// The presented materials as a section, when there are any.
pub(super) fn materials_section(out: &mut String, lang: Lang, materials: &[PresentedMaterial]) {
    section(
        out,
        lang,
        Label::Materials,
        presented(lang, materials),
        !materials.is_empty(),
    );
}

/// 办理过程 as a section, when it has steps.
pub(super) fn timeline_section(out: &mut String, lang: Lang, entries: &[TimelineEntry]) {
    section(
        out,
        lang,
        Label::Timeline,
        timeline(lang, entries),
        !entries.is_empty(),
    );
}

/// 审查要点: code, question, whether it must pass.
pub(super) fn review_points<'a>(
    lang: Lang,
    points: impl IntoIterator<Item = &'a ReviewPoint>,
) -> String {
    let mut table = Table::labelled(lang, [Label::Code, Label::Question, Label::Required]);
    for p in points {
        table.row([
            p.code.clone(),
            p.question.clone(),
            yes_no(lang, p.required).to_owned(),
        ]);
    }
    table.render(2)
}

/// `text` with every line indented by two spaces (a block under a section heading).
pub(super) fn indent(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_owned()
            } else {
                format!("  {line}\n")
            }
        })
        .collect()
}

/// A part's name in the chosen language with its code: `迁入地审批（QR）`.
pub(super) fn part_name(lang: Lang, code: &str, name: &str, name_en: &str) -> String {
    named(lang, lang.pick_text(name, name_en), code)
}

/// 多地联办环节 of a case: each part's office, scope, state and — once decided — the decision
/// with its reason.
pub fn parts(lang: Lang, list: &[CasePart], offices: &OfficeNames) -> String {
    let decided = list.iter().any(|p| p.decision != 0);
    let mut header = vec![
        t(lang, Label::Part),
        t(lang, Label::ResponsibleOffice),
        t(lang, Label::Scope),
        t(lang, Label::State),
    ];
    if decided {
        header.push(t(lang, Label::Decision));
    }
    let mut table = Table::new(header);
    for p in list {
        let mut row = vec![
            part_name(lang, &p.part_code, &p.name, &p.name_en),
            offices.label(lang, &p.office_id),
            scope(lang, p.scope),
            part_state(lang, p.state),
        ];
        if decided {
            row.push(decision_line(lang, p.decision, &p.reason));
        }
        table.row(row);
    }
    table.render(2)
}

/// The 一件事 a case belongs to: number, name, derived status and every member as the caller
/// may see it (a reviewer gets other members without case number or office).
pub fn bundle_summary(lang: Lang, b: &BundleSummary, offices: &OfficeNames) -> String {
    let mut f = Fields::new();
    f.add(t(lang, Label::BundleNumber), &b.bundle_number)
        .add(t(lang, Label::Name), named(lang, &b.name, &b.bundle_code))
        .add(t(lang, Label::BundleStatus), bundle_status(lang, b.status));
    let mut out = indent(&f.render());
    let mut table = Table::labelled(
        lang,
        [
            Label::CaseNumber,
            Label::Matter,
            Label::Status,
            Label::ResponsibleOffice,
        ],
    );
    for m in &b.members {
        table.row([
            m.case_number.clone(),
            named(lang, &m.matter_name, &m.matter_code),
            member_status(lang, m.status, &m.waiting_for),
            offices.label(lang, &m.responsible_office_id),
        ]);
    }
    out.push_str(&indent(&heading(lang, Label::Members)));
    out.push_str(&indent(&table.render(2)));
    out
}

#[cfg(test)]
mod tests {
    use tongban_proto::common::v1::{CaseStatus, PartState};

    use super::*;
    use crate::views::fixtures::{joint_parts, offices};

    #[test]
    fn parts_without_decisions_have_no_decision_column() {
        let text = parts(
            Lang::Zh,
            &joint_parts(PartState::Routed, PartState::Waiting),
            &offices(),
        );
        assert!(!text.contains("审批决定"), "{text}");
        assert!(text.contains("已分派") && text.contains("待前序环节办结"));
    }

    #[test]
    fn member_status_names_what_a_member_waits_for() {
        let submitted = CaseStatus::Submitted as i32;
        assert_eq!(member_status(Lang::Zh, submitted, &[]), "已提交");
        assert_eq!(
            member_status(Lang::Zh, submitted, &["出生医学证明首次签发".into()]),
            "已提交（待「出生医学证明首次签发」准予）"
        );
        assert_eq!(
            member_status(Lang::Zh, submitted, &["甲".into(), "乙".into()]),
            "已提交（待「甲」、「乙」准予）"
        );
        assert_eq!(
            member_status(Lang::En, submitted, &["出生医学证明首次签发".into()]),
            "Submitted (waiting for 出生医学证明首次签发 to be approved)"
        );
    }
}
