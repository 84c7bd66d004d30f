//! The size limits of every string and repeated field of the IntakeService and CatalogService
//! requests, in one table ([`ALL`]), as the `.proto` comments document them (`At most N
//! characters.`). A request with a field over its limit is refused with INVALID_ARGUMENT
//! naming every such field (with the index of a repeated field's element, e.g.
//! `materials[3].certificate_token`) before anything else reads it, so no unbounded input is
//! checked further, stored or published.

use tongban_domain::i18n::Lang;
use tongban_domain::validate::MAX_NAME_CHARS;
use tongban_proto::catalog::v1 as catalog;
use tongban_proto::common::v1 as pb;
use tongban_proto::intake::v1 as intake;
use tongban_runtime::input::MAX_TEXT_CHARS;
use tongban_runtime::status::FieldViolation;

use crate::error::IntakeError;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Unicode scalar values of a string (surrounding white space included: it is input too).
    Characters,
    /// Elements of a repeated field.
    Items,
}

/// The most a request field may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    /// The field as the `.proto` comment documents it: a field of the request, or
    /// `parent.field` for a field of a message the request holds (documented on the parent).
    pub field: &'static str,
    /// At most this many [`Unit`]s.
    pub max: usize,
    pub unit: Unit,
}

const fn chars(field: &'static str, max: usize) -> Limit {
    Limit {
        field,
        max,
        unit: Unit::Characters,
    }
}

const fn items(field: &'static str, max: usize) -> Limit {
    Limit {
        field,
        max,
        unit: Unit::Items,
    }
}

/// Client-chosen idempotency key.
pub(crate) const IDEMPOTENCY_KEY: Limit = chars("idempotency_key", 128);
/// An office id (`640100-gongan`).
pub(crate) const OFFICE_ID: Limit = chars("window_office_id", 64);
/// A matter code of the catalog.
pub(crate) const MATTER_CODE: Limit = chars("matter_code", 64);
/// A bundle code (一件事, `YJS-CS`).
pub(crate) const BUNDLE_CODE: Limit = chars("bundle_code", 64);
/// A matter or bundle code of GetMatter and GetBundle.
pub(crate) const CODE: Limit = chars("code", 64);
/// A department code (`gongan`).
pub(crate) const DEPARTMENT: Limit = chars("department", 32);
/// A GB/T 2260 division code (six digits; room for twelve-digit statistical codes, which are
/// then refused as not current).
pub(crate) const HOME_DIVISION: Limit = chars("home_division", 12);
/// 迁入地 (转入地).
pub(crate) const DESTINATION_DIVISION: Limit = chars("destination_division", 12);
/// The start of division codes (ListOffices).
pub(crate) const DIVISION_PREFIX: Limit = chars("division_prefix", 12);
/// A case id (a UUID, hyphenated or as a URN).
pub(crate) const CASE_ID: Limit = chars("case_id", 64);
/// A case number (`140922-20261128-00001-7`).
pub(crate) const CASE_NUMBER: Limit = chars("case_number", 32);
/// A bundle id (a UUID).
pub(crate) const BUNDLE_ID: Limit = chars("bundle_id", 64);
/// A bundle number (same form as a case number).
pub(crate) const BUNDLE_NUMBER: Limit = chars("bundle_number", 32);
/// 补正 note.
pub(crate) const NOTE: Limit = chars("note", MAX_TEXT_CHARS);
/// 撤回 reason.
pub(crate) const REASON: Limit = chars("reason", MAX_TEXT_CHARS);
/// The applicant's name (the domain's own limit).
pub(crate) const APPLICANT_NAME: Limit = chars("applicant.name", MAX_NAME_CHARS);
/// 身份证号 (GB 11643: 18 characters).
pub(crate) const APPLICANT_ID_NUMBER: Limit = chars("applicant.id_number", 18);
/// A phone number, with room for a country code and separators.
pub(crate) const APPLICANT_PHONE: Limit = chars("applicant.phone", 20);
/// Postal address for delivery by mail.
pub(crate) const DELIVERY_ADDRESS: Limit = chars("delivery.address", 200);
/// Materials presented in one request.
pub(crate) const MATERIALS: Limit = items("materials", 100);
/// A material code of the matter.
pub(crate) const MATERIAL_CODE: Limit = chars("materials.material_code", 64);
/// A compact e-certificate token (the certificate crate reads no longer one).
pub(crate) const CERTIFICATE_TOKEN: Limit = chars(
    "materials.certificate_token",
    tongban_cert::token::MAX_TOKEN_CHARS,
);
/// Hex SHA-256 (64 hex characters).
pub(crate) const SHA256: Limit = chars("materials.sha256", 64);
/// Set by intake on a verified certificate; ignored in requests, still bounded.
pub(crate) const CERTIFICATE_IDENTIFIER: Limit = chars("materials.certificate_identifier", 64);
/// Set by intake on a verified certificate; ignored in requests, still bounded.
pub(crate) const CERTIFICATE_TYPE: Limit = chars("materials.certificate_type", 64);

/// Every limit, by request message: the table the `.proto` comments are checked against (the
/// request types' [`Bounded`] impls apply the same limits).
#[cfg(test)]
pub(crate) const ALL: &[(&str, &[Limit])] = &[
    (
        "SubmitCaseRequest",
        &[
            IDEMPOTENCY_KEY,
            OFFICE_ID,
            MATTER_CODE,
            APPLICANT_NAME,
            APPLICANT_ID_NUMBER,
            APPLICANT_PHONE,
            HOME_DIVISION,
            MATERIALS,
            MATERIAL_CODE,
            CERTIFICATE_TOKEN,
            SHA256,
            CERTIFICATE_IDENTIFIER,
            CERTIFICATE_TYPE,
            DELIVERY_ADDRESS,
            DESTINATION_DIVISION,
        ],
    ),
    ("GetCaseRequest", &[CASE_ID, CASE_NUMBER]),
    (
        "SupplementCaseRequest",
        &[
            CASE_ID,
            MATERIALS,
            MATERIAL_CODE,
            CERTIFICATE_TOKEN,
            SHA256,
            CERTIFICATE_IDENTIFIER,
            CERTIFICATE_TYPE,
            NOTE,
        ],
    ),
    ("WithdrawCaseRequest", &[CASE_ID, REASON]),
    ("ListCasesRequest", &[OFFICE_ID]),
    (
        "SubmitBundleRequest",
        &[
            IDEMPOTENCY_KEY,
            OFFICE_ID,
            BUNDLE_CODE,
            APPLICANT_NAME,
            APPLICANT_ID_NUMBER,
            APPLICANT_PHONE,
            HOME_DIVISION,
            MATERIALS,
            MATERIAL_CODE,
            CERTIFICATE_TOKEN,
            SHA256,
            CERTIFICATE_IDENTIFIER,
            CERTIFICATE_TYPE,
            DELIVERY_ADDRESS,
        ],
    ),
    ("GetBundleRequest", &[BUNDLE_ID, BUNDLE_NUMBER]),
    ("ListOfficesRequest", &[DIVISION_PREFIX, DEPARTMENT]),
    ("ListMattersRequest", &[DEPARTMENT]),
    ("GetMatterRequest", &[CODE]),
    (
        "GetNoticeRequest",
        &[MATTER_CODE, OFFICE_ID, HOME_DIVISION, DESTINATION_DIVISION],
    ),
    (
        "ResolveRouteRequest",
        &[MATTER_CODE, OFFICE_ID, HOME_DIVISION, DESTINATION_DIVISION],
    ),
    ("catalog.GetBundleRequest", &[CODE]),
    (
        "GetBundleNoticeRequest",
        &[BUNDLE_CODE, OFFICE_ID, HOME_DIVISION],
    ),
];

/// The violations of a request's limits, gathered field by field.
pub(crate) struct Over {
    lang: Lang,
    violations: Vec<FieldViolation>,
}

impl Over {
    fn new(lang: Lang) -> Self {
        Self {
            lang,
            violations: Vec::new(),
        }
    }

    /// `value` of the field at `path` within `limit` (a string).
    fn text(&mut self, limit: Limit, path: &str, value: &str) -> &mut Self {
        // Bytes bound characters from above: most values need no count.
        if value.len() > limit.max {
            let found = value.chars().count();
            if found > limit.max {
                self.push(limit, path, found);
            }
        }
        self
    }

    /// `value` of the field the limit names, at the top of the request.
    fn field(&mut self, limit: Limit, value: &str) -> &mut Self {
        self.text(limit, limit.field, value)
    }

    fn push(&mut self, limit: Limit, path: &str, found: usize) {
        let max = limit.max;
        let description = match (limit.unit, self.lang) {
            (Unit::Characters, Lang::Zh) => format!("最长 {max} 个字符，实为 {found} 个"),
            (Unit::Characters, Lang::En) => {
                format!("at most {max} characters, found {found}")
            }
            (Unit::Items, Lang::Zh) => format!("最多 {max} 项，实为 {found} 项"),
            (Unit::Items, Lang::En) => format!("at most {max} items, found {found}"),
        };
        self.violations.push(FieldViolation::new(path, description));
    }

    /// The applicant's fields.
    fn applicant(&mut self, applicant: Option<&pb::Applicant>) -> &mut Self {
        if let Some(a) = applicant {
            self.field(APPLICANT_NAME, &a.name)
                .field(APPLICANT_ID_NUMBER, &a.id_number)
                .field(APPLICANT_PHONE, &a.phone);
        }
        self
    }

    /// The delivery's address.
    fn delivery(&mut self, delivery: Option<&pb::Delivery>) -> &mut Self {
        if let Some(d) = delivery {
            self.field(DELIVERY_ADDRESS, &d.address);
        }
        self
    }

    /// The materials: how many, and each one's fields by index. Too many are not looked into.
    fn materials(&mut self, materials: &[pb::PresentedMaterial]) -> &mut Self {
        if materials.len() > MATERIALS.max {
            self.push(MATERIALS, MATERIALS.field, materials.len());
            return self;
        }
        for (i, m) in materials.iter().enumerate() {
            let path = |f: &str| format!("materials[{i}].{f}");
            self.text(MATERIAL_CODE, &path("material_code"), &m.material_code)
                .text(
                    CERTIFICATE_TOKEN,
                    &path("certificate_token"),
                    &m.certificate_token,
                )
                .text(SHA256, &path("sha256"), &m.sha256)
                .text(
                    CERTIFICATE_IDENTIFIER,
                    &path("certificate_identifier"),
                    &m.certificate_identifier,
                )
                .text(
                    CERTIFICATE_TYPE,
                    &path("certificate_type"),
                    &m.certificate_type,
                );
        }
        self
    }

    fn done(&mut self) -> Result<(), IntakeError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(IntakeError::Invalid(std::mem::take(&mut self.violations)))
        }
    }
}

/// A request whose string and repeated fields have limits.
pub(crate) trait Bounded {
    /// Adds the violations of its limits to `over`.
    fn bounds(&self, over: &mut Over);
}

/// Checks `request` against its limits.
///
/// # Errors
/// INVALID_ARGUMENT naming every field over its limit, with the limit and the size found.
pub(crate) fn check(request: &impl Bounded, lang: Lang) -> Result<(), IntakeError> {
    let mut over = Over::new(lang);
    request.bounds(&mut over);
    over.done()
}

impl Bounded for intake::SubmitCaseRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(IDEMPOTENCY_KEY, &self.idempotency_key)
            .field(OFFICE_ID, &self.window_office_id)
            .field(MATTER_CODE, &self.matter_code)
            .applicant(self.applicant.as_ref())
            .field(HOME_DIVISION, &self.home_division)
            .materials(&self.materials)
            .delivery(self.delivery.as_ref())
            .field(DESTINATION_DIVISION, &self.destination_division);
    }
}

impl Bounded for intake::GetCaseRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(CASE_ID, &self.case_id)
            .field(CASE_NUMBER, &self.case_number);
    }
}

impl Bounded for intake::SupplementCaseRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(CASE_ID, &self.case_id)
            .materials(&self.materials)
            .field(NOTE, &self.note);
    }
}

impl Bounded for intake::WithdrawCaseRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(CASE_ID, &self.case_id)
            .field(REASON, &self.reason);
    }
}

impl Bounded for intake::ListCasesRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(OFFICE_ID, &self.window_office_id);
    }
}

impl Bounded for intake::SubmitBundleRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(IDEMPOTENCY_KEY, &self.idempotency_key)
            .field(OFFICE_ID, &self.window_office_id)
            .field(BUNDLE_CODE, &self.bundle_code)
            .applicant(self.applicant.as_ref())
            .field(HOME_DIVISION, &self.home_division)
            .materials(&self.materials)
            .delivery(self.delivery.as_ref());
    }
}

impl Bounded for intake::GetBundleRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(BUNDLE_ID, &self.bundle_id)
            .field(BUNDLE_NUMBER, &self.bundle_number);
    }
}

impl Bounded for catalog::ListOfficesRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(DIVISION_PREFIX, &self.division_prefix)
            .field(DEPARTMENT, &self.department);
    }
}

impl Bounded for catalog::ListMattersRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(DEPARTMENT, &self.department);
    }
}

impl Bounded for catalog::GetMatterRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(CODE, &self.code);
    }
}

impl Bounded for catalog::GetNoticeRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(MATTER_CODE, &self.matter_code)
            .field(OFFICE_ID, &self.window_office_id)
            .field(HOME_DIVISION, &self.home_division)
            .field(DESTINATION_DIVISION, &self.destination_division);
    }
}

impl Bounded for catalog::ResolveRouteRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(MATTER_CODE, &self.matter_code)
            .field(OFFICE_ID, &self.window_office_id)
            .field(HOME_DIVISION, &self.home_division)
            .field(DESTINATION_DIVISION, &self.destination_division);
    }
}

impl Bounded for catalog::GetBundleRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(CODE, &self.code);
    }
}

impl Bounded for catalog::GetBundleNoticeRequest {
    fn bounds(&self, over: &mut Over) {
        over.field(BUNDLE_CODE, &self.bundle_code)
            .field(OFFICE_ID, &self.window_office_id)
            .field(HOME_DIVISION, &self.home_division);
    }
}

#[cfg(test)]
mod tests {
    use tongban_runtime::status;
    use tonic::Code;

    use super::*;

    /// The comment lines right above `field`'s declaration in `message` of `proto`, lower-cased.
    fn comment_of(proto: &str, message: &str, field: &str) -> Option<String> {
        let start = proto.find(&format!("message {message} {{"))?;
        let body = &proto[start..];
        let body = &body[..body.find("\n}")?];
        let lines: Vec<&str> = body.lines().map(str::trim).collect();
        let at = lines.iter().position(|l| {
            !l.starts_with("//")
                && l.split_whitespace()
                    .nth(if l.starts_with("repeated ") { 2 } else { 1 })
                    == Some(field)
        })?;
        let mut comment: Vec<&str> = lines[..at]
            .iter()
            .rev()
            .take_while(|l| l.starts_with("//"))
            .map(|l| l.trim_start_matches('/').trim())
            .collect();
        comment.reverse();
        Some(comment.join(" ").to_lowercase())
    }

    #[test]
    fn every_limit_is_documented_in_the_proto_comments() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/tongban");
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let intake = read("intake/v1/intake.proto");
        let catalog = read("catalog/v1/catalog.proto");
        for (message, limits) in ALL {
            let (proto, message) = match message.strip_prefix("catalog.") {
                Some(m) => (&catalog, m),
                None if intake.contains(&format!("message {message} {{")) => (&intake, *message),
                None => (&catalog, *message),
            };
            for limit in *limits {
                let (top, sub) = match limit.field.split_once('.') {
                    Some((top, sub)) => (top, format!("{sub}: ")),
                    None => (limit.field, String::new()),
                };
                let unit = match limit.unit {
                    Unit::Characters => "characters",
                    Unit::Items => "items",
                };
                let expected = format!("{sub}at most {} {unit}", limit.max);
                let comment = comment_of(proto, message, top)
                    .unwrap_or_else(|| panic!("{message}.{top} is not declared"));
                assert!(
                    comment.contains(&expected),
                    "{message}.{top}: its comment should say \"{expected}\": {comment}"
                );
            }
        }
    }

    #[test]
    fn every_field_over_its_limit_is_named_with_its_index() {
        let req = intake::SupplementCaseRequest {
            case_id: "x".repeat(65),
            materials: vec![
                pb::PresentedMaterial {
                    material_code: "HKB".to_owned(),
                    ..Default::default()
                },
                pb::PresentedMaterial {
                    material_code: "HKB".to_owned(),
                    certificate_token: "a".repeat(1_500_000),
                    ..Default::default()
                },
            ],
            note: "字".repeat(MAX_TEXT_CHARS + 1),
        };
        let refused = check(&req, Lang::Zh).unwrap_err().status(Lang::Zh);
        assert_eq!(refused.code(), Code::InvalidArgument);
        let (fields, _) = status::details(&refused);
        let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(named, ["case_id", "materials[1].certificate_token", "note"]);
        assert_eq!(fields[1].description, "最长 2048 个字符，实为 1500000 个");

        let many = intake::SubmitCaseRequest {
            materials: vec![pb::PresentedMaterial::default(); 101],
            ..Default::default()
        };
        let refused = check(&many, Lang::En).unwrap_err().status(Lang::En);
        let (fields, _) = status::details(&refused);
        assert_eq!(fields[0].field, "materials");
        assert_eq!(fields[0].description, "at most 100 items, found 101");
    }

    #[test]
    fn a_value_at_its_limit_passes_whatever_its_bytes() {
        let req = catalog::GetNoticeRequest {
            matter_code: "事".repeat(64),
            window_office_id: "o".repeat(64),
            home_division: "1".repeat(12),
            ..Default::default()
        };
        assert!(check(&req, Lang::Zh).is_ok());
        let over = catalog::GetNoticeRequest {
            matter_code: "事".repeat(65),
            ..req
        };
        assert!(check(&over, Lang::Zh).is_err());
    }
}
