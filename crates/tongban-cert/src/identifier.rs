//! 电子证照标识: `1.2.156.3005.2.{证照类型代码}.{颁发机构统一社会信用代码}.{流水号}.{版本号}.{校验位}`
//! (the form used by GB/T 36904 deployments) with an ISO 7064 MOD 37,36 check character.

use std::fmt;

use tongban_domain::validate::{CreditCode, CreditCodeError};

use crate::check::mod37_36;

/// The fixed object-identifier arc every 电子证照 identifier starts with.
pub const PREFIX: &str = "1.2.156.3005.2";
/// Most digits a 流水号 (serial) may have.
pub const MAX_SERIAL_DIGITS: usize = 20;

/// A 证照类型代码: three digits (`113` 结婚证).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeCode(String);

impl TypeCode {
    /// Parses a type code: exactly three ASCII digits.
    ///
    /// # Errors
    /// [`IdentifierError::TypeCode`] otherwise.
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdentifierError::TypeCode)
        }
    }

    /// The three digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// It does not start with `1.2.156.3005.2.`.
    #[error("证照标识应以 1.2.156.3005.2. 开头 / identifier must start with 1.2.156.3005.2.")]
    Prefix,
    /// Not five dot-separated parts after the prefix (the count found).
    #[error(
        "证照标识段数错误：前缀后应为 5 段，实为 {0} 段 / identifier must have 5 parts after the prefix, found {0}"
    )]
    Parts(usize),
    /// The type code is not three digits.
    #[error("证照类型代码应为 3 位数字 / type code must be 3 digits")]
    TypeCode,
    /// The issuer's credit code is not valid.
    #[error("颁发机构统一社会信用代码无效 / issuer credit code is invalid: {0:?}")]
    CreditCode(CreditCodeError),
    /// The serial is not 1 to 20 digits.
    #[error("流水号应为 1 到 20 位数字 / serial must be 1 to 20 digits")]
    Serial,
    /// The version is not three digits.
    #[error("版本号应为 3 位数字 / version must be 3 digits")]
    Version,
    /// The check character is not one character of `0-9A-Z`.
    #[error(
        "校验位应为 1 位数字或大写字母 / check character must be one digit or upper-case letter"
    )]
    CheckShape,
    /// The check character does not match.
    #[error(
        "证照标识校验位错误：应为 {expected}，实为 {found} / identifier check character is wrong: expected {expected}, found {found}"
    )]
    BadCheckCharacter {
        /// What the rest of the identifier calls for.
        expected: char,
        /// What was given.
        found: char,
    },
}

impl IdentifierError {
    /// Whether the failure is a wrong check character (of the identifier or of the issuer's
    /// credit code) rather than a wrong shape.
    pub fn is_check_failure(&self) -> bool {
        matches!(
            self,
            IdentifierError::BadCheckCharacter { .. }
                | IdentifierError::CreditCode(CreditCodeError::BadCheckCharacter { .. })
        )
    }
}

/// A parsed, checked 电子证照 identifier. Once built it is well formed and its check character
/// matches.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CertificateId {
    text: String,
    type_code: TypeCode,
    issuer: CreditCode,
    serial: String,
    version: u16,
}

impl CertificateId {
    /// Builds the identifier of certificate `serial` (version `version`, 1–999) of type
    /// `type_code` issued by `issuer`, computing its check character.
    ///
    /// # Errors
    /// [`IdentifierError::Serial`] or [`IdentifierError::Version`] when out of range.
    pub fn new(
        type_code: TypeCode,
        issuer: CreditCode,
        serial: u64,
        version: u16,
    ) -> Result<Self, IdentifierError> {
        if !(1..=999).contains(&version) {
            return Err(IdentifierError::Version);
        }
        let serial = format!("{serial:012}");
        let body = format!("{PREFIX}.{type_code}.{issuer}.{serial}.{version:03}");
        let check = mod37_36(&body).ok_or(IdentifierError::CheckShape)?;
        Ok(Self {
            text: format!("{body}.{check}"),
            type_code,
            issuer,
            serial,
            version,
        })
    }

    /// Parses an identifier exactly as written (no trimming, no case folding: an identifier is
    /// compared character by character).
    ///
    /// # Errors
    /// The first [`IdentifierError`] found: prefix, parts, type, credit code, serial, version,
    /// check character.
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        let rest = raw
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or(IdentifierError::Prefix)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts.as_slice() else {
            return Err(IdentifierError::Parts(parts.len()));
        };
        let type_code = TypeCode::parse(type_code)?;
        if issuer.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(IdentifierError::CreditCode(CreditCodeError::Characters));
        }
        let issuer = CreditCode::parse(issuer).map_err(IdentifierError::CreditCode)?;
        if serial.is_empty()
            || serial.len() > MAX_SERIAL_DIGITS
            || !serial.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(IdentifierError::Serial);
        }
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentifierError::Version);
        }
        let version_number: u16 = version.parse().map_err(|_| IdentifierError::Version)?;
        if version_number == 0 {
            return Err(IdentifierError::Version);
        }
        let found = match check.as_bytes() {
            [c] if c.is_ascii_digit() || c.is_ascii_uppercase() => char::from(*c),
            _ => return Err(IdentifierError::CheckShape),
        };
        let body = &raw[..raw.len() - 2];
        let expected = mod37_36(body).ok_or(IdentifierError::CheckShape)?;
        if expected != found {
            return Err(IdentifierError::BadCheckCharacter { expected, found });
        }
        Ok(Self {
            text: raw.to_owned(),
            type_code,
            issuer,
            serial: (*serial).to_owned(),
            version: version_number,
        })
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// 证照类型代码.
    pub fn type_code(&self) -> &TypeCode {
        &self.type_code
    }

    /// 颁发机构统一社会信用代码.
    pub fn issuer(&self) -> &CreditCode {
        &self.issuer
    }

    /// 流水号.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// 版本号 (1–999).
    pub fn version(&self) -> u16 {
        self.version
    }
}

impl fmt::Display for CertificateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for CertificateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CertificateId").field(&self.text).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer_credit_code;

    fn sample() -> CertificateId {
        let issuer = issuer_credit_code("640100", "640100-minzheng").unwrap();
        CertificateId::new(TypeCode::parse("113").unwrap(), issuer, 42, 1).unwrap()
    }

    #[test]
    fn round_trips() {
        let id = sample();
        assert!(id.as_str().starts_with("1.2.156.3005.2.113.11640100"));
        let parsed = CertificateId::parse(id.as_str()).unwrap();
        assert_eq!(parsed, id);
        assert_eq!(parsed.serial(), "000000000042");
        assert_eq!(parsed.version(), 1);
        assert_eq!(parsed.type_code().as_str(), "113");
    }

    /// Every character of an identifier replaced by every other printable ASCII character (and
    /// a few non-ASCII ones) gives an identifier that does not parse.
    #[test]
    fn every_single_character_change_is_rejected() {
        let id = sample();
        let text: Vec<char> = id.as_str().chars().collect();
        let replacements: Vec<char> = (0x20u8..0x7f)
            .map(char::from)
            .chain(['。', '一', 'Ａ', '\u{0}'])
            .collect();
        let mut tried = 0;
        for i in 0..text.len() {
            for &r in &replacements {
                if r == text[i] {
                    continue;
                }
                let mut changed = text.clone();
                changed[i] = r;
                let changed: String = changed.into_iter().collect();
                assert!(
                    CertificateId::parse(&changed).is_err(),
                    "accepted a changed identifier: {changed}"
                );
                tried += 1;
            }
        }
        assert!(tried > 5000);
    }

    #[test]
    fn names_the_failure() {
        let id = sample();
        let text = id.as_str();
        let last = text.chars().last().unwrap();
        let other = if last == '0' { '1' } else { '0' };
        let wrong = format!("{}{other}", &text[..text.len() - 1]);
        let err = CertificateId::parse(&wrong).unwrap_err();
        assert!(err.is_check_failure());
        assert!(matches!(
            CertificateId::parse("1.2.156.3005.2.113"),
            Err(IdentifierError::Parts(1))
        ));
        assert_eq!(
            CertificateId::parse("2.2.156.3005.2.113.x.1.001.A"),
            Err(IdentifierError::Prefix)
        );
    }
}
