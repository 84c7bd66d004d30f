//! Boundary validation of SubmitCase and SubmitBundle: every bad field is reported at once, by its path in the
//! request, in the caller's language. What passes becomes a [`Submission`] of trusted values.

use chrono::NaiveDate;
use tongban_domain::bundle::{Bundle, common_delivery_methods, common_modes};
use tongban_domain::catalog::{DeliveryMethod, Locality, Matter, Mode};
use tongban_domain::directory::Office;
use tongban_domain::division::DivisionCode;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::materials::Form;
use tongban_domain::reference::ReferenceData;
use tongban_domain::validate::{IdNumber, PersonName, PhoneNumber, is_sha256_hex};
use tongban_proto::common::v1 as pb;
use tongban_proto::intake::v1::{SubmitBundleRequest, SubmitCaseRequest};
use tongban_runtime::convert::{delivery_from_pb, form_from_pb, mode_from_pb};
use tongban_runtime::status::FieldViolation;

/// Most pages of one scanned material.
const MAX_PAGES: u32 = 2000;

/// A validated material as presented; stored as such in the `materials` column (as a JSON
/// object with the names of `common.v1.PresentedMaterial`), without its certificate token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MaterialIn {
    #[serde(rename = "material_code")]
    pub code: String,
    pub form: Form,
    /// The e-certificate token as presented, held only until it is verified
    /// ([`crate::accept::verify_certificates`]): it carries the holder's full ID number, so it
    /// is never written to the column (rows stored before may still hold one: it is read and
    /// never shown).
    #[serde(default, skip_serializing)]
    pub certificate_token: String,
    #[serde(default)]
    pub sha256: String,
    #[serde(default)]
    pub pages: u32,
    /// Set once the certificate service verified the token: the certificate's identifier.
    #[serde(default)]
    pub certificate_identifier: String,
    /// Set with it: the certificate's 证照类型代码.
    #[serde(default)]
    pub certificate_type: String,
}

/// The applicant and their localities, checked.
#[derive(Clone)]
pub struct ApplicantIn {
    pub name: PersonName,
    pub id_number: IdNumber,
    pub phone: PhoneNumber,
    /// 户籍地 (迁出地, 转出地).
    pub home_division: DivisionCode,
}

/// How the result is handed over, checked.
#[derive(Debug, Clone)]
pub struct DeliveryIn {
    pub method: DeliveryMethod,
    /// Postal address (only for delivery by mail).
    pub address: Option<String>,
}

/// A SubmitCase request whose every field was checked (also built for each member of a
/// SubmitBundle, with the member's matter and materials).
pub struct Submission<'r> {
    pub key: String,
    pub window: &'r Office,
    pub matter: &'r Matter,
    pub mode: Mode,
    pub applicant: ApplicantIn,
    pub materials: Vec<MaterialIn>,
    pub delivery: DeliveryIn,
    /// 迁入地 (转入地), when given.
    pub destination_division: Option<DivisionCode>,
}

/// A SubmitBundle request whose every field was checked.
pub struct BundleSubmission<'r> {
    pub key: String,
    pub window: &'r Office,
    pub bundle: &'r Bundle,
    /// The member matters, in the bundle's order.
    pub members: Vec<&'r Matter>,
    pub mode: Mode,
    pub applicant: ApplicantIn,
    /// The union of the members' materials as presented, each once.
    pub materials: Vec<MaterialIn>,
    pub delivery: DeliveryIn,
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
    let key = check_key(&req.idempotency_key, lang, &mut errors);
    let window = check_window(reference, &req.window_office_id, lang, &mut errors);
    let matter = check_code(
        &req.matter_code,
        "matter_code",
        |code| reference.catalog.matter(code),
        ("事项目录中没有该事项", "no such matter in the catalog"),
        lang,
        &mut errors,
    );
    let mode = check_mode(req.mode, lang, &mut errors);
    if let (Some(mode), Some(m)) = (mode, matter)
        && !m.allows_mode(mode)
    {
        errors.push(AllowedBy::Matter.mode_refused(mode, &m.modes, lang));
    }
    let applicant = check_applicant(
        reference,
        req.applicant.as_ref(),
        &req.home_division,
        today,
        lang,
        &mut errors,
    );
    let destination_division = if req.destination_division.trim().is_empty() {
        let needed = mode == Some(Mode::Joint)
            && matter.is_some_and(|m| {
                m.parts
                    .iter()
                    .any(|p| p.locality == Locality::DestinationDivision)
            });
        if needed {
            errors.push(violation(
                lang,
                "destination_division",
                "必须填写迁入地（转入地）区划代码",
                "is required for joint handling of this matter",
            ));
        }
        None
    } else {
        reference
            .divisions
            .parse_current(req.destination_division.trim())
            .map_err(|e| errors.push(FieldViolation::new("destination_division", e.text(lang))))
            .ok()
    };
    let materials = check_materials_in(&req.materials, matter, lang, &mut errors);
    let delivery = check_delivery(req.delivery.as_ref(), lang, &mut errors);
    if let (Some(d), Some(m)) = (&delivery, matter)
        && !m.allows_delivery(d.method)
    {
        errors.push(AllowedBy::Matter.delivery_refused(d.method, lang));
    }
    match (window, matter, mode, applicant, delivery) {
        (Some(window), Some(matter), Some(mode), Some(applicant), Some(delivery))
            if errors.is_empty() =>
        {
            Ok(Submission {
                key,
                window,
                matter,
                mode,
                applicant,
                materials,
                delivery,
                destination_division,
            })
        }
        _ => Err(errors),
    }
}

/// Checks every field of a SubmitBundle request; returns all violations when any. The mode and
/// the delivery method must be ones every member allows; each presented material must be one
/// some member lists.
pub fn check_bundle<'r>(
    reference: &'r ReferenceData,
    req: &SubmitBundleRequest,
    today: NaiveDate,
    lang: Lang,
) -> Result<BundleSubmission<'r>, Vec<FieldViolation>> {
    let mut errors = Vec::new();
    let key = check_key(&req.idempotency_key, lang, &mut errors);
    let window = check_window(reference, &req.window_office_id, lang, &mut errors);
    let bundle = check_code(
        &req.bundle_code,
        "bundle_code",
        |code| reference.bundles.get(code),
        ("一件事目录中没有该一件事", "no such bundle in the catalog"),
        lang,
        &mut errors,
    );
    let members: Vec<&Matter> = bundle
        .map(|b| {
            b.matters
                .iter()
                .filter_map(|c| reference.catalog.matter(c))
                .collect()
        })
        .unwrap_or_default();
    let mode = check_mode(req.mode, lang, &mut errors);
    if let (Some(mode), Some(b)) = (mode, bundle) {
        let allowed = common_modes(&reference.catalog, b);
        if !allowed.contains(&mode) {
            errors.push(AllowedBy::Bundle.mode_refused(mode, &allowed, lang));
        }
    }
    let applicant = check_applicant(
        reference,
        req.applicant.as_ref(),
        &req.home_division,
        today,
        lang,
        &mut errors,
    );
    let materials = check_materials_in(&req.materials, None, lang, &mut errors);
    if bundle.is_some() {
        for (i, presented) in req.materials.iter().enumerate() {
            let code = presented.material_code.trim();
            if !code.is_empty() && !members.iter().any(|m| m.material(code).is_some()) {
                errors.push(FieldViolation::new(
                    format!("materials[{i}].material_code"),
                    match lang {
                        Lang::En => {
                            format!("{code} is not a material of any matter of this bundle")
                        }
                        Lang::Zh => format!("{code} 不是该一件事任何事项的申请材料"),
                    },
                ));
            }
        }
    }
    let delivery = check_delivery(req.delivery.as_ref(), lang, &mut errors);
    if let (Some(d), Some(b)) = (&delivery, bundle)
        && !common_delivery_methods(&reference.catalog, b).contains(&d.method)
    {
        errors.push(AllowedBy::Bundle.delivery_refused(d.method, lang));
    }
    match (window, bundle, mode, applicant, delivery) {
        (Some(window), Some(bundle), Some(mode), Some(applicant), Some(delivery))
            if errors.is_empty() =>
        {
            Ok(BundleSubmission {
                key,
                window,
                bundle,
                members,
                mode,
                applicant,
                materials,
                delivery,
            })
        }
        _ => Err(errors),
    }
}

/// A required catalog code, looked up by `find`; `unknown` (Chinese, English) says that there
/// is no such entry.
fn check_code<'r, T>(
    raw: &str,
    field: &str,
    find: impl FnOnce(&str) -> Option<&'r T>,
    unknown: (&str, &str),
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Option<&'r T> {
    let code = raw.trim();
    if code.is_empty() {
        errors.push(violation(lang, field, "必须填写", "is required"));
        return None;
    }
    let found = find(code);
    if found.is_none() {
        errors.push(violation(lang, field, unknown.0, unknown.1));
    }
    found
}

/// Who must allow the mode and offer the delivery method chosen: the matter of a case, or every
/// matter of a bundle (一件事).
#[derive(Debug, Clone, Copy)]
enum AllowedBy {
    Matter,
    Bundle,
}

impl AllowedBy {
    /// The start of the Chinese refusal, before the verb (不支持, 不提供).
    fn zh(self) -> &'static str {
        match self {
            AllowedBy::Matter => "该事项不",
            AllowedBy::Bundle => "该一件事的各事项不都",
        }
    }

    /// Whom the English refusal names.
    fn en(self) -> &'static str {
        match self {
            AllowedBy::Matter => "this matter",
            AllowedBy::Bundle => "every matter of this bundle",
        }
    }

    /// `mode` is not one of `allowed`, which the message lists.
    fn mode_refused(self, mode: Mode, allowed: &[Mode], lang: Lang) -> FieldViolation {
        let allowed: Vec<String> = allowed.iter().map(|x| x.text(lang)).collect();
        FieldViolation::new(
            "mode",
            match lang {
                Lang::En => format!(
                    "{} is not allowed for {} (allowed: {})",
                    mode.text(lang),
                    self.en(),
                    allowed.join(", ")
                ),
                Lang::Zh => format!(
                    "{}支持{}（可选：{}）",
                    self.zh(),
                    mode.text(lang),
                    allowed.join("、")
                ),
            },
        )
    }

    /// Delivery `method` is not offered.
    fn delivery_refused(self, method: DeliveryMethod, lang: Lang) -> FieldViolation {
        FieldViolation::new(
            "delivery.method",
            match lang {
                Lang::En => format!("{} is not offered for {}", method.text(lang), self.en()),
                Lang::Zh => format!("{}提供{}", self.zh(), method.text(lang)),
            },
        )
    }
}

/// The idempotency key: required, no control characters (its length is checked first, with
/// every limit: [`crate::limits`]).
fn check_key(raw: &str, lang: Lang, errors: &mut Vec<FieldViolation>) -> String {
    let key = raw.trim();
    if key.is_empty() {
        errors.push(violation(
            lang,
            "idempotency_key",
            "必须填写",
            "is required",
        ));
    } else if key.chars().any(char::is_control) {
        errors.push(violation(
            lang,
            "idempotency_key",
            "不能含控制字符",
            "no control characters",
        ));
    }
    key.to_owned()
}

/// The window office: known and a 通办 window.
fn check_window<'r>(
    reference: &'r ReferenceData,
    raw: &str,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Option<&'r Office> {
    match reference.directory.office(raw.trim()) {
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
        None if raw.trim().is_empty() => {
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
    }
}

/// A mode is chosen (whether the matter or bundle allows it is the caller's check).
fn check_mode(raw: i32, lang: Lang, errors: &mut Vec<FieldViolation>) -> Option<Mode> {
    let mode = pb::Mode::try_from(raw).ok().and_then(mode_from_pb);
    if mode.is_none() {
        errors.push(violation(
            lang,
            "mode",
            "必须选择办理模式",
            "a mode is required",
        ));
    }
    mode
}

/// The applicant's name, ID number (GB 11643), phone and home division (current GB/T 2260).
fn check_applicant(
    reference: &ReferenceData,
    applicant: Option<&pb::Applicant>,
    home_division: &str,
    today: NaiveDate,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Option<ApplicantIn> {
    let applicant = applicant.cloned().unwrap_or_default();
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
        .parse_current(home_division.trim())
        .map_err(|e| errors.push(FieldViolation::new("home_division", e.text(lang))))
        .ok();
    Some(ApplicantIn {
        name: name?,
        id_number: id_number?,
        phone: phone?,
        home_division: home_division?,
    })
}

/// A delivery method is chosen, and an address given (and sane) for delivery by mail (whether
/// the matter or bundle offers the method is the caller's check).
fn check_delivery(
    delivery: Option<&pb::Delivery>,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Option<DeliveryIn> {
    let delivery = delivery.cloned().unwrap_or_default();
    let method = pb::DeliveryMethod::try_from(delivery.method)
        .ok()
        .and_then(delivery_from_pb);
    if method.is_none() {
        errors.push(violation(
            lang,
            "delivery.method",
            "必须选择发证方式",
            "a delivery method is required",
        ));
    }
    let address = delivery.address.trim().to_owned();
    if method == Some(DeliveryMethod::Mail) && address.is_empty() {
        errors.push(violation(
            lang,
            "delivery.address",
            "邮寄送达必须填写地址",
            "an address is required for delivery by mail",
        ));
    }
    if address.chars().any(char::is_control) {
        errors.push(violation(
            lang,
            "delivery.address",
            "不能含控制字符",
            "no control characters",
        ));
    }
    Some(DeliveryIn {
        method: method?,
        address: (!address.is_empty()).then_some(address),
    })
}

/// Checks presented materials: known codes (when the matter is known), no duplicates, a form,
/// a SHA-256 for electronic copies, a token for certificates, a sane page count (sizes are
/// checked first, with every limit: [`crate::limits`]).
pub fn check_materials_in(
    materials: &[pb::PresentedMaterial],
    matter: Option<&Matter>,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Vec<MaterialIn> {
    if materials.len() > crate::limits::MATERIALS.max {
        // Refused by the limits before; never looked into.
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
            // Only a certificate's token is read (and verified); any other is dropped here.
            certificate_token: if form == Form::Certificate {
                m.certificate_token.trim().to_owned()
            } else {
                String::new()
            },
            sha256,
            pages: m.pages,
            certificate_identifier: String::new(),
            certificate_type: String::new(),
        });
    }
    out
}
