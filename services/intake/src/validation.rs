//! Boundary validation of SubmitCase: every bad field is reported at once, by its path in the
//! request, in the caller's language. What passes becomes a [`Submission`] of trusted values.

use chrono::NaiveDate;
use tongban_domain::catalog::{DeliveryMethod, Matter, Mode};
use tongban_domain::directory::Office;
use tongban_domain::division::DivisionCode;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::materials::Form;
use tongban_domain::reference::ReferenceData;
use tongban_domain::validate::{IdNumber, PersonName, PhoneNumber, is_sha256_hex};
use tongban_proto::common::v1 as pb;
use tongban_proto::intake::v1::SubmitCaseRequest;
use tongban_runtime::convert::{delivery_from_pb, form_from_pb, mode_from_pb};
use tongban_runtime::status::FieldViolation;

/// Longest accepted idempotency key.
const MAX_KEY_LEN: usize = 128;
/// Most materials in one submission.
const MAX_MATERIALS: usize = 100;
/// Most pages of one scanned material.
const MAX_PAGES: u32 = 2000;
/// Longest postal address.
const MAX_ADDRESS_CHARS: usize = 200;
/// Longest free text (reasons, notes).
pub const MAX_TEXT_CHARS: usize = 1000;

/// A validated material as presented.
#[derive(Debug, Clone)]
pub struct MaterialIn {
    pub code: String,
    pub form: Form,
    pub certificate_token: String,
    pub sha256: String,
    pub pages: u32,
    /// Set once the certificate service verified the token: the certificate's identifier.
    pub certificate_identifier: String,
    /// Set with it: the certificate's 证照类型代码.
    pub certificate_type: String,
}

/// A SubmitCase request whose every field was checked.
pub struct Submission<'r> {
    pub key: String,
    pub window: &'r Office,
    pub matter: &'r Matter,
    pub mode: Mode,
    pub name: PersonName,
    pub id_number: IdNumber,
    pub phone: PhoneNumber,
    pub home_division: DivisionCode,
    pub materials: Vec<MaterialIn>,
    pub delivery: DeliveryMethod,
    pub address: Option<String>,
}

fn violation(lang: Lang, field: &str, zh: &str, en: &str) -> FieldViolation {
    FieldViolation::new(field, lang.pick(zh, en))
}

/// Checks every field of `req`; returns all violations when any.
pub fn check_submit<'r>(
    reference: &'r ReferenceData,
    req: &SubmitCaseRequest,
    today: NaiveDate,
    lang: Lang,
) -> Result<Submission<'r>, Vec<FieldViolation>> {
    let mut errors = Vec::new();
    let key = req.idempotency_key.trim();
    if key.is_empty() {
        errors.push(violation(
            lang,
            "idempotency_key",
            "必须填写",
            "is required",
        ));
    } else if key.chars().count() > MAX_KEY_LEN || key.chars().any(char::is_control) {
        errors.push(violation(
            lang,
            "idempotency_key",
            "最长 128 个字符，不能含控制字符",
            "at most 128 characters, no control characters",
        ));
    }
    let window = match reference.directory.office(req.window_office_id.trim()) {
        Some(office) if office.is_window => Some(office),
        Some(_) => {
            errors.push(violation(
                lang,
                "window_office_id",
                "该机构不是通办窗口",
                "this office is not a 通办 window",
            ));
            None
        }
        None if req.window_office_id.trim().is_empty() => {
            errors.push(violation(
                lang,
                "window_office_id",
                "必须填写",
                "is required",
            ));
            None
        }
        None => {
            errors.push(violation(
                lang,
                "window_office_id",
                "未知的机构",
                "unknown office",
            ));
            None
        }
    };
    let matter = if req.matter_code.trim().is_empty() {
        errors.push(violation(lang, "matter_code", "必须填写", "is required"));
        None
    } else {
        let found = reference.catalog.matter(req.matter_code.trim());
        if found.is_none() {
            errors.push(violation(
                lang,
                "matter_code",
                "事项目录中没有该事项",
                "no such matter in the catalog",
            ));
        }
        found
    };
    let mode = match pb::Mode::try_from(req.mode).ok().and_then(mode_from_pb) {
        None => {
            errors.push(violation(
                lang,
                "mode",
                "必须选择办理模式",
                "a mode is required",
            ));
            None
        }
        Some(mode) => {
            if let Some(m) = matter.filter(|m| !m.allows_mode(mode)) {
                let allowed: Vec<String> = m.modes.iter().map(|x| x.text(lang)).collect();
                errors.push(FieldViolation::new(
                    "mode",
                    match lang {
                        Lang::En => format!(
                            "{} is not allowed for this matter (allowed: {})",
                            mode.text(lang),
                            allowed.join(", ")
                        ),
                        Lang::Zh => format!(
                            "该事项不支持{}（可选：{}）",
                            mode.text(lang),
                            allowed.join("、")
                        ),
                    },
                ));
            }
            Some(mode)
        }
    };
    let applicant = req.applicant.clone().unwrap_or_default();
    let name = PersonName::parse(&applicant.name)
        .map_err(|e| errors.push(FieldViolation::new("applicant.name", e.text(lang))))
        .ok();
    let id_number = IdNumber::parse(&applicant.id_number, &reference.divisions, today)
        .map_err(|e| errors.push(FieldViolation::new("applicant.id_number", e.text(lang))))
        .ok();
    let phone = PhoneNumber::parse(&applicant.phone)
        .map_err(|e| errors.push(FieldViolation::new("applicant.phone", e.text(lang))))
        .ok();
    let home_division = reference
        .divisions
        .parse_current(req.home_division.trim())
        .map_err(|e| errors.push(FieldViolation::new("home_division", e.text(lang))))
        .ok();
    let materials = check_materials_in(&req.materials, matter, lang, &mut errors);
    let delivery = req.delivery.clone().unwrap_or_default();
    let method = match pb::DeliveryMethod::try_from(delivery.method)
        .ok()
        .and_then(delivery_from_pb)
    {
        None => {
            errors.push(violation(
                lang,
                "delivery.method",
                "必须选择发证方式",
                "a delivery method is required",
            ));
            None
        }
        Some(method) => {
            if matter.is_some_and(|m| !m.allows_delivery(method)) {
                errors.push(FieldViolation::new(
                    "delivery.method",
                    match lang {
                        Lang::En => format!("{} is not offered for this matter", method.text(lang)),
                        Lang::Zh => format!("该事项不提供{}", method.text(lang)),
                    },
                ));
            }
            Some(method)
        }
    };
    let address = delivery.address.trim().to_owned();
    if method == Some(DeliveryMethod::Mail) && address.is_empty() {
        errors.push(violation(
            lang,
            "delivery.address",
            "邮寄送达必须填写地址",
            "an address is required for delivery by mail",
        ));
    }
    if address.chars().count() > MAX_ADDRESS_CHARS || address.chars().any(char::is_control) {
        errors.push(violation(
            lang,
            "delivery.address",
            "最长 200 个字符，不能含控制字符",
            "at most 200 characters, no control characters",
        ));
    }
    match (
        window,
        matter,
        mode,
        name,
        id_number,
        phone,
        home_division,
        method,
    ) {
        (
            Some(window),
            Some(matter),
            Some(mode),
            Some(name),
            Some(id_number),
            Some(phone),
            Some(home_division),
            Some(delivery),
        ) if errors.is_empty() => Ok(Submission {
            key: key.to_owned(),
            window,
            matter,
            mode,
            name,
            id_number,
            phone,
            home_division,
            materials,
            delivery,
            address: (!address.is_empty()).then_some(address),
        }),
        _ => Err(errors),
    }
}

/// Checks presented materials: known codes (when the matter is known), no duplicates, a form,
/// a SHA-256 for electronic copies, a token for certificates, a sane page count.
pub fn check_materials_in(
    materials: &[pb::PresentedMaterial],
    matter: Option<&Matter>,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Vec<MaterialIn> {
    if materials.len() > MAX_MATERIALS {
        errors.push(violation(
            lang,
            "materials",
            "材料不能超过 100 项",
            "at most 100 materials",
        ));
        return Vec::new();
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (i, m) in materials.iter().enumerate() {
        let field = |f: &str| format!("materials[{i}].{f}");
        let code = m.material_code.trim();
        if code.is_empty() {
            errors.push(violation(
                lang,
                &field("material_code"),
                "必须填写",
                "is required",
            ));
            continue;
        }
        if let Some(matter) = matter
            && matter.material(code).is_none()
        {
            errors.push(FieldViolation::new(
                field("material_code"),
                match lang {
                    Lang::En => format!("{code} is not a material of this matter"),
                    Lang::Zh => format!("{code} 不是该事项的申请材料"),
                },
            ));
        }
        if !seen.insert(code.to_owned()) {
            errors.push(violation(
                lang,
                &field("material_code"),
                "同一材料重复提交",
                "material presented twice",
            ));
        }
        let Some(form) = pb::MaterialForm::try_from(m.form)
            .ok()
            .and_then(form_from_pb)
        else {
            errors.push(violation(
                lang,
                &field("form"),
                "必须选择材料形式（电子、纸质或电子证照）",
                "a form is required (electronic, paper or certificate)",
            ));
            continue;
        };
        let sha256 = m.sha256.trim().to_ascii_lowercase();
        if form == Form::Electronic && !is_sha256_hex(&sha256) {
            errors.push(violation(
                lang,
                &field("sha256"),
                "电子材料必须提供 64 位十六进制 SHA-256 摘要",
                "an electronic material needs its SHA-256 as 64 hex characters",
            ));
        } else if !sha256.is_empty() && !is_sha256_hex(&sha256) {
            errors.push(violation(
                lang,
                &field("sha256"),
                "SHA-256 摘要应为 64 位十六进制",
                "SHA-256 must be 64 hex characters",
            ));
        }
        if form == Form::Certificate && m.certificate_token.trim().is_empty() {
            errors.push(violation(
                lang,
                &field("certificate_token"),
                "电子证照必须提供证照令牌",
                "a certificate needs its token",
            ));
        }
        if m.pages > MAX_PAGES {
            errors.push(violation(
                lang,
                &field("pages"),
                "页数不能超过 2000",
                "at most 2000 pages",
            ));
        }
        out.push(MaterialIn {
            code: code.to_owned(),
            form,
            certificate_token: m.certificate_token.trim().to_owned(),
            sha256,
            pages: m.pages,
            certificate_identifier: String::new(),
            certificate_type: String::new(),
        });
    }
    out
}

/// Checks a free-text field: required, at most [`MAX_TEXT_CHARS`], no control characters but newlines.
pub fn check_text(
    value: &str,
    field: &str,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(violation(lang, field, "必须填写", "is required"));
    } else if value.chars().count() > MAX_TEXT_CHARS
        || value.chars().any(|c| c.is_control() && c != '\n')
    {
        errors.push(violation(
            lang,
            field,
            "最长 1000 个字符，不能含控制字符",
            "at most 1000 characters, no control characters",
        ));
    }
    value.to_owned()
}
