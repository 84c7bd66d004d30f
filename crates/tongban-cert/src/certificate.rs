//! The certificate (电子证照) itself: holder, type, issuer, validity, typed fields, and the
//! status codes 01–07.

use std::fmt;

use chrono::{DateTime, Utc};
use tongban_domain::validate::PersonName;

use crate::identifier::{CertificateId, TypeCode};
use crate::keys::KeyId;

/// Most typed fields a certificate carries.
pub const MAX_FIELDS: usize = 8;
/// Longest field value, in characters.
pub const MAX_FIELD_CHARS: usize = 100;
/// Longest issuer office id or name, in bytes (they travel in a QR code).
pub const MAX_OFFICE_BYTES: usize = 120;

/// Type code of the generic result certificate (办件结果通知书) issued for matters without a
/// specific certificate type.
pub const RESULT_NOTICE_TYPE: &str = "199";

/// The 证照类型 this crate knows: code, Chinese name, English name, typed fields allowed.
const TYPES: &[(&str, &str, &str, &[&str])] = &[
    ("111", "居民身份证", "Resident identity card", &["address"]),
    (
        "112",
        "居民户口簿",
        "Household register",
        &["address", "household_head", "relation"],
    ),
    (
        "113",
        "结婚证",
        "Marriage certificate",
        &["spouse_name", "registered_on"],
    ),
    (
        "114",
        "离婚证",
        "Divorce certificate",
        &["former_spouse_name", "registered_on"],
    ),
    (
        "115",
        "出生医学证明",
        "Medical birth certificate",
        &["child_name", "born_on", "mother_name"],
    ),
    (
        "116",
        "社会保障卡",
        "Social security card",
        &["card_number"],
    ),
    (
        "117",
        "营业执照",
        "Business licence",
        &["enterprise_name", "credit_code"],
    ),
    (
        "118",
        "学历证书",
        "Academic certificate",
        &["school", "major", "level"],
    ),
    ("119", "机动车驾驶证", "Driving licence", &["vehicle_class"]),
    (
        "120",
        "不动产权证书",
        "Real property certificate",
        &["address", "area"],
    ),
    (
        "121",
        "职称证书",
        "Professional title certificate",
        &["title", "speciality"],
    ),
    (
        "122",
        "毕业证书",
        "Graduation certificate",
        &["school", "major"],
    ),
    (
        "123",
        "参保缴费凭证",
        "Social insurance contribution record",
        &["insurance", "months"],
    ),
    (
        "124",
        "住房公积金缴存证明",
        "Housing provident fund deposit certificate",
        &["account", "months"],
    ),
    (
        "125",
        "准迁证",
        "Household relocation permit",
        &["from_division", "to_division", "address", "case_number"],
    ),
    (
        "126",
        "户籍证明",
        "Household registration certificate",
        &["case_number", "matter_name"],
    ),
    (
        "199",
        "办件结果通知书",
        "Case result notice",
        &["case_number", "matter_code", "matter_name", "decision"],
    ),
];

/// The Chinese and English names of a known certificate type.
pub fn type_name(code: &str) -> Option<(&'static str, &'static str)> {
    TYPES
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, zh, en, _)| (*zh, *en))
}

/// The typed fields a certificate of type `code` may carry (e.g. 结婚证: `spouse_name`).
pub fn allowed_fields(code: &str) -> &'static [&'static str] {
    TYPES
        .iter()
        .find(|(c, ..)| *c == code)
        .map_or(&[], |(.., fields)| fields)
}

/// 证照状态, with the two-digit codes of the standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    /// 01 有效.
    Valid,
    /// 02 暂扣.
    Suspended,
    /// 03 撤销.
    Revoked,
    /// 04 注销.
    Cancelled,
    /// 05 失效.
    Invalidated,
    /// 06 办理转出.
    TransferredOut,
    /// 07 吊销.
    Withdrawn,
}

impl CertificateStatus {
    /// Every status, in code order.
    pub const ALL: [CertificateStatus; 7] = [
        CertificateStatus::Valid,
        CertificateStatus::Suspended,
        CertificateStatus::Revoked,
        CertificateStatus::Cancelled,
        CertificateStatus::Invalidated,
        CertificateStatus::TransferredOut,
        CertificateStatus::Withdrawn,
    ];

    /// The two-digit code, `01` to `07`.
    pub fn code(self) -> &'static str {
        match self {
            CertificateStatus::Valid => "01",
            CertificateStatus::Suspended => "02",
            CertificateStatus::Revoked => "03",
            CertificateStatus::Cancelled => "04",
            CertificateStatus::Invalidated => "05",
            CertificateStatus::TransferredOut => "06",
            CertificateStatus::Withdrawn => "07",
        }
    }

    /// The status of a two-digit code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The Chinese name (有效, 暂扣, …).
    pub fn label_zh(self) -> &'static str {
        match self {
            CertificateStatus::Valid => "有效",
            CertificateStatus::Suspended => "暂扣",
            CertificateStatus::Revoked => "撤销",
            CertificateStatus::Cancelled => "注销",
            CertificateStatus::Invalidated => "失效",
            CertificateStatus::TransferredOut => "办理转出",
            CertificateStatus::Withdrawn => "吊销",
        }
    }

    /// The English name.
    pub fn label_en(self) -> &'static str {
        match self {
            CertificateStatus::Valid => "valid",
            CertificateStatus::Suspended => "suspended",
            CertificateStatus::Revoked => "revoked",
            CertificateStatus::Cancelled => "cancelled",
            CertificateStatus::Invalidated => "invalidated",
            CertificateStatus::TransferredOut => "transferred out",
            CertificateStatus::Withdrawn => "withdrawn",
        }
    }
}

/// A status code that is none of `01` to `07` (a stored value that does not decode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的证照状态代码：{0} (unknown certificate status code: {0})")]
pub struct UnknownStatusCode(pub String);

impl std::str::FromStr for CertificateStatus {
    type Err = UnknownStatusCode;

    /// The status of a two-digit code; anything else is an error, never a default.
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::from_code(code).ok_or_else(|| UnknownStatusCode(code.to_owned()))
    }
}

/// A holder's 身份证号 as carried in a certificate: 18 characters, digits and a final `X`.
/// `Debug` shows the masked form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HolderId(String);

impl HolderId {
    /// Parses an ID number's shape (the full GB 11643 check is the issuing service's job, with
    /// the division history at hand): 17 digits and a digit or `X`; lower-case `x` is
    /// normalised.
    ///
    /// # Errors
    /// [`CertificateError::HolderId`] otherwise.
    pub fn parse(raw: &str) -> Result<Self, CertificateError> {
        let value = raw.trim().to_ascii_uppercase();
        let bytes = value.as_bytes();
        let ok = bytes.len() == 18
            && bytes[..17].iter().all(u8::is_ascii_digit)
            && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
        if ok {
            Ok(Self(value))
        } else {
            Err(CertificateError::HolderId)
        }
    }

    /// The full number (for signing and comparing; never for display or logs).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `1409**********1234`.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }
}

impl fmt::Debug for HolderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HolderId").field(&self.masked()).finish()
    }
}

/// One typed field (e.g. `spouse_name` of a 结婚证).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Field name, one of [`allowed_fields`] of the type.
    pub name: String,
    /// Value, at most 100 characters, no control characters.
    pub value: String,
}

/// Why a certificate could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The type code is not one this deployment knows.
    #[error("未知的证照类型代码 {0} / unknown certificate type {0}")]
    UnknownType(String),
    /// The holder's name is empty, too long or has control characters.
    #[error("持证人姓名无效 / holder name is invalid")]
    HolderName,
    /// The holder's ID number is not 17 digits and a digit or X.
    #[error("持证人身份证号格式错误 / holder ID number is malformed")]
    HolderId,
    /// The issuing office's id or name is empty or too long.
    #[error("颁发机构无效 / issuing office is invalid")]
    Issuer,
    /// `valid_from` is not before `valid_until`.
    #[error("有效期无效：起始时间应早于截止时间 / validity: valid_from must be before valid_until")]
    Validity,
    /// More than [`MAX_FIELDS`] fields, a field not allowed for the type, given twice, or with
    /// a bad value.
    #[error("证照字段 {0} 无效 / certificate field {0} is invalid")]
    Field(String),
}

/// What an issuer fills in; [`Certificate::new`] checks it.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The identifier (carries type and issuer credit code).
    pub identifier: CertificateId,
    /// 持证人姓名.
    pub holder_name: String,
    /// 持证人身份证号.
    pub holder_id: HolderId,
    /// Directory id of the issuing office.
    pub issuer_office_id: String,
    /// 颁发机构名称.
    pub issuer_name: String,
    /// 有效期起.
    pub valid_from: DateTime<Utc>,
    /// 有效期止.
    pub valid_until: DateTime<Utc>,
    /// 签发时间.
    pub issued_at: DateTime<Utc>,
    /// Typed fields.
    pub fields: Vec<Field>,
    /// Key the certificate is (to be) signed with.
    pub key_id: KeyId,
}

/// A well-formed certificate (not yet known to be authentic: that is [`crate::verify`]'s job).
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    identifier: CertificateId,
    holder_name: PersonName,
    holder_id: HolderId,
    issuer_office_id: String,
    issuer_name: String,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    issued_at: DateTime<Utc>,
    fields: Vec<Field>,
    key_id: KeyId,
}

impl Certificate {
    /// Checks a draft: known type, holder, issuer, validity order and the type's fields.
    ///
    /// # Errors
    /// The first [`CertificateError`] found.
    pub fn new(draft: Draft) -> Result<Self, CertificateError> {
        let type_code = draft.identifier.type_code().as_str().to_owned();
        if type_name(&type_code).is_none() {
            return Err(CertificateError::UnknownType(type_code));
        }
        let holder_name =
            PersonName::parse(&draft.holder_name).map_err(|_| CertificateError::HolderName)?;
        for text in [&draft.issuer_office_id, &draft.issuer_name] {
            if text.trim().is_empty()
                || text.len() > MAX_OFFICE_BYTES
                || text.chars().any(char::is_control)
            {
                return Err(CertificateError::Issuer);
            }
        }
        if draft.valid_from >= draft.valid_until {
            return Err(CertificateError::Validity);
        }
        if draft.fields.len() > MAX_FIELDS {
            return Err(CertificateError::Field(format!("> {MAX_FIELDS}")));
        }
        let allowed = allowed_fields(&type_code);
        for (i, field) in draft.fields.iter().enumerate() {
            let bad = !allowed.contains(&field.name.as_str())
                || draft.fields[..i].iter().any(|f| f.name == field.name)
                || field.value.trim().is_empty()
                || field.value.chars().count() > MAX_FIELD_CHARS
                || field.value.chars().any(char::is_control);
            if bad {
                return Err(CertificateError::Field(field.name.clone()));
            }
        }
        Ok(Self {
            identifier: draft.identifier,
            holder_name,
            holder_id: draft.holder_id,
            issuer_office_id: draft.issuer_office_id,
            issuer_name: draft.issuer_name,
            valid_from: draft.valid_from,
            valid_until: draft.valid_until,
            issued_at: draft.issued_at,
            fields: draft.fields,
            key_id: draft.key_id,
        })
    }

    /// 电子证照标识.
    pub fn identifier(&self) -> &CertificateId {
        &self.identifier
    }

    /// 证照类型代码.
    pub fn type_code(&self) -> &TypeCode {
        self.identifier.type_code()
    }

    /// 持证人姓名.
    pub fn holder_name(&self) -> &PersonName {
        &self.holder_name
    }

    /// 持证人身份证号.
    pub fn holder_id(&self) -> &HolderId {
        &self.holder_id
    }

    /// Directory id of the issuing office.
    pub fn issuer_office_id(&self) -> &str {
        &self.issuer_office_id
    }

    /// 颁发机构名称.
    pub fn issuer_name(&self) -> &str {
        &self.issuer_name
    }

    /// 有效期起.
    pub fn valid_from(&self) -> DateTime<Utc> {
        self.valid_from
    }

    /// 有效期止.
    pub fn valid_until(&self) -> DateTime<Utc> {
        self.valid_until
    }

    /// 签发时间.
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }

    /// Typed fields.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The signing key's id.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("identifier", &self.identifier)
            .field("holder_name", &self.holder_name.masked())
            .field("holder_id", &self.holder_id)
            .field("issuer_office_id", &self.issuer_office_id)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}
