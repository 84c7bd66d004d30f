//! 材料核验 with 一次性告知: the window learns every missing material at once, never one by one.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::{Material, Matter, Mode};
use crate::i18n::{Lang, Localized};

/// The form in which a material is presented at the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// 电子材料: a scan or electronic file.
    Electronic,
    /// 纸质原件: the paper original (scanned as well; under 异地代收代办 it travels by courier).
    Paper,
    /// 电子证照: an e-certificate, replacing the material when verified and of an accepted type.
    Certificate,
}

impl Form {
    /// The snake_case name (`"certificate"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Electronic => "electronic",
            Form::Paper => "paper",
            Form::Certificate => "certificate",
        }
    }
}

impl Localized for Form {
    fn text(&self, lang: Lang) -> String {
        match self {
            Form::Electronic => lang.pick("电子材料", "Electronic copy"),
            Form::Paper => lang.pick("纸质原件", "Paper original"),
            Form::Certificate => lang.pick("电子证照", "E-certificate"),
        }
        .to_owned()
    }
}

/// One material as presented by the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    /// Code of the matter's material.
    pub material_code: &'a str,
    /// How it was presented.
    pub form: Form,
    /// For [`Form::Certificate`]: the 证照类型代码 of the certificate once verified by the
    /// certificate service; `None` when it was not verified (or the form is not a certificate).
    pub certificate_type: Option<&'a str>,
}

/// A required material that is not satisfied, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingMaterial {
    /// The material's code.
    pub code: String,
    /// The material's name, for the notice to the applicant.
    pub name: String,
    /// Why it does not count.
    pub reason: MissingReason,
}

impl Localized for MissingMaterial {
    fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => format!("{}（{}）：{}", self.name, self.code, self.reason.text(lang)),
            Lang::En => format!("{} ({}): {}", self.name, self.code, self.reason.text(lang)),
        }
    }
}

/// Why a required material does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingReason {
    /// 未提交.
    NotPresented,
    /// Presented as an e-certificate that was not verified, or whose verified type cannot
    /// replace this material.
    CertificateNotVerified,
    /// 异地代收代办 needs the paper original, and only an electronic copy was presented.
    PaperOriginalRequired,
}

impl Localized for MissingReason {
    fn text(&self, lang: Lang) -> String {
        match self {
            MissingReason::NotPresented => lang.pick("未提交", "not presented"),
            MissingReason::CertificateNotVerified => lang.pick(
                "电子证照未通过核验或证照类型不能替代该材料",
                "the e-certificate was not verified or its type cannot replace this material",
            ),
            MissingReason::PaperOriginalRequired => lang.pick(
                "异地代收代办须提交纸质原件",
                "remote acceptance by proxy needs the paper original",
            ),
        }
        .to_owned()
    }
}

/// A presented entry that cannot be matched to the matter's list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaterialProblem {
    /// A material code the matter does not list.
    UnknownMaterial(String),
    /// The same material presented more than once.
    Duplicate(String),
}

impl Localized for MaterialProblem {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (MaterialProblem::UnknownMaterial(code), Lang::Zh) => {
                format!("{code} 不是该事项的申请材料")
            }
            (MaterialProblem::UnknownMaterial(code), Lang::En) => {
                format!("{code} is not a material of this matter")
            }
            (MaterialProblem::Duplicate(code), Lang::Zh) => format!("材料 {code} 重复提交"),
            (MaterialProblem::Duplicate(code), Lang::En) => {
                format!("material {code} is presented more than once")
            }
        }
    }
}

impl fmt::Display for MaterialProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

/// 一次性告知: every required material of `matter` that `presented` does not satisfy under
/// `mode`, in the matter's order, plus the presented entries that cannot be matched.
///
/// A required material is satisfied by an electronic copy or a paper original, or by an
/// e-certificate verified as one of its `accepted_certificate_types`. Under [`Mode::Proxy`] a
/// material with `paper_original_required` is not satisfied by an electronic copy alone (a
/// verified e-certificate still replaces it: 两个免提交). When a material is presented more than
/// once (reported as [`MaterialProblem::Duplicate`]), any entry that satisfies it is enough.
pub fn check_materials(
    matter: &Matter,
    mode: Mode,
    presented: &[Presented<'_>],
) -> (Vec<MissingMaterial>, Vec<MaterialProblem>) {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut reported = BTreeSet::new();
    for p in presented {
        if matter.material(p.material_code).is_none() {
            if reported.insert(p.material_code) {
                problems.push(MaterialProblem::UnknownMaterial(p.material_code.to_owned()));
            }
        } else if !seen.insert(p.material_code) && reported.insert(p.material_code) {
            problems.push(MaterialProblem::Duplicate(p.material_code.to_owned()));
        }
    }

    let missing = matter
        .materials
        .iter()
        .filter(|m| m.required)
        .filter_map(|material| {
            let reason = unsatisfied_reason(material, mode, presented)?;
            Some(MissingMaterial {
                code: material.code.clone(),
                name: material.name.clone(),
                reason,
            })
        })
        .collect();
    (missing, problems)
}

/// Why `material` is not satisfied by any of the presented entries, `None` when one satisfies it.
/// With several unsatisfying entries, the reason of the first is given.
fn unsatisfied_reason(
    material: &Material,
    mode: Mode,
    presented: &[Presented<'_>],
) -> Option<MissingReason> {
    let mut first_reason = None;
    for p in presented
        .iter()
        .filter(|p| p.material_code == material.code)
    {
        let reason = match p.form {
            Form::Paper => return None,
            Form::Electronic if mode == Mode::Proxy && material.paper_original_required => {
                MissingReason::PaperOriginalRequired
            }
            Form::Electronic => return None,
            Form::Certificate => match p.certificate_type {
                Some(t) if material.accepts_certificate(t) => return None,
                _ => MissingReason::CertificateNotVerified,
            },
        };
        first_reason.get_or_insert(reason);
    }
    Some(first_reason.unwrap_or(MissingReason::NotPresented))
}

/// 补正: the e-certificates handed in that do not satisfy the material they are presented for
/// (not verified, or of a type the material does not accept), as [`check_materials`] would
/// list them at submission (一次性告知). Only certificates are judged: 补正 hands in part of the
/// material, and what else it hands in is the reviewer's to judge.
pub fn unsatisfied_certificates(
    matter: &Matter,
    mode: Mode,
    handed_in: &[Presented<'_>],
) -> Vec<MissingMaterial> {
    handed_in
        .iter()
        .filter(|p| p.form == Form::Certificate)
        .filter_map(|p| {
            let material = matter.material(p.material_code)?;
            let reason = unsatisfied_reason(material, mode, std::slice::from_ref(p))?;
            Some(MissingMaterial {
                code: material.code.clone(),
                name: material.name.clone(),
                reason,
            })
        })
        .collect()
}

/// 补正: the case's materials after material was handed in again. A material handed in
/// replaces the one stored under its code; the others stay, in their order, and the materials
/// handed in follow them in the order given. `code` reads a material's code.
pub fn merge_supplemented<T>(
    stored: Vec<T>,
    handed_in: Vec<T>,
    code: impl Fn(&T) -> &str,
) -> Vec<T> {
    let mut merged: Vec<T> = stored
        .into_iter()
        .filter(|m| !handed_in.iter().any(|n| code(n) == code(m)))
        .collect();
    merged.extend(handed_in);
    merged
}
