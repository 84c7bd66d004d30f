//! Validation at the boundary: 身份证号 (GB 11643), mobile phone numbers, 统一社会信用代码
//! (GB 32100), personal names and SHA-256 digests. Each value is a newtype built by a fallible
//! `parse`; once built it is trusted everywhere. Values holding personal data show only their
//! masked form in `Debug` output.

use std::fmt;

use chrono::NaiveDate;

use crate::division::Divisions;
use crate::i18n::{Lang, Localized};

/// ISO 7064 MOD 11-2 check character over `digits` (ASCII digits only; the callers have checked
/// that): `'0'..='9'` or `'X'` for ten. Used by ID numbers and case numbers.
pub(crate) fn mod11_2_check(digits: &str) -> char {
    debug_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    // Horner form of Σ dᵢ·2^(n−i+1) mod 11: the rightmost data digit weighs 2.
    let sum = digits
        .bytes()
        .fold(0u32, |acc, b| ((acc + u32::from(b - b'0')) * 2) % 11);
    match (12 - sum) % 11 {
        10 => 'X',
        // The value is below 10 here, so it is a decimal digit.
        n => char::from_digit(n, 10).unwrap_or('0'),
    }
}

/// Why text is not `len` ASCII characters of which `len - 1` are digits and the last a digit or
/// `X` (the shape of ID numbers and case numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckedDigitsError {
    /// It has this many characters.
    Length(usize),
    /// A character is not ASCII, or not a digit (not a digit or `X` at the end).
    Characters,
}

/// Splits upper-case `value` into its `len - 1` digits and its check character (a digit or `X`),
/// once it is `len` (at least 1) ASCII characters of that shape.
pub(crate) fn digits_and_check(value: &str, len: usize) -> Result<(&str, u8), CheckedDigitsError> {
    let count = value.chars().count();
    if count != len {
        return Err(CheckedDigitsError::Length(count));
    }
    if !value.is_ascii() {
        return Err(CheckedDigitsError::Characters);
    }
    // `len` ASCII characters: byte offsets are character offsets.
    let (digits, last) = (&value[..len - 1], value.as_bytes()[len - 1]);
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(last.is_ascii_digit() || last == b'X') {
        return Err(CheckedDigitsError::Characters);
    }
    Ok((digits, last))
}

/// Implements `Display` as the Chinese text of [`Localized`] (logs and `?` in binaries).
macro_rules! display_via_localized {
    ($($ty:ty),+ $(,)?) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text(Lang::default()))
            }
        }
    )+};
}

// ---------------------------------------------------------------------------------------------
// 身份证号
// ---------------------------------------------------------------------------------------------

/// 公民身份号码 (GB 11643): 6-digit region, 8-digit birth date, 3-digit sequence, check
/// character. `Debug` shows the masked form only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    value: String,
    birth_date: NaiveDate,
}

/// Why an ID number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 18 characters (the count found).
    Length(usize),
    /// The first 17 characters must be digits, the last a digit or X.
    Characters,
    /// The first six digits were never a division code usable for this birth year.
    UnknownRegion(String),
    /// Digits 7–14 are not a real date between 1900-01-01 and today.
    BadBirthDate,
    /// The ISO 7064 MOD 11-2 check character does not match.
    BadCheckCharacter {
        /// The character the first 17 digits call for.
        expected: char,
        /// The character given.
        found: char,
    },
}

impl IdNumber {
    /// Parses an ID number: trims, accepts lower-case x (normalised to X), then checks the
    /// length (18), the characters, the region (must be a code usable for the birth year, see
    /// [`Divisions::is_id_region`]), the birth date (a real date, not before 1900-01-01, not
    /// after `today`) and the ISO 7064 MOD 11-2 check character.
    ///
    /// # Errors
    /// The first [`IdNumberError`] found, in the order above.
    pub fn parse(
        raw: &str,
        divisions: &Divisions,
        today: NaiveDate,
    ) -> Result<Self, IdNumberError> {
        let value = raw.trim().to_ascii_uppercase();
        // 18 ASCII characters from here on: byte offsets are character offsets.
        let (body, last) = digits_and_check(&value, 18).map_err(|shape| match shape {
            CheckedDigitsError::Length(count) => IdNumberError::Length(count),
            CheckedDigitsError::Characters => IdNumberError::Characters,
        })?;
        let number = |range: std::ops::Range<usize>| {
            // Only ASCII digits remain, at most eight of them: the parse cannot fail.
            value[range].parse::<u32>().unwrap_or_default()
        };
        let year = i32::try_from(number(6..10)).unwrap_or_default();
        let region = &value[..6];
        if !divisions.is_id_region(region, year) {
            return Err(IdNumberError::UnknownRegion(region.to_owned()));
        }
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1);
        let birth_date = NaiveDate::from_ymd_opt(year, number(10..12), number(12..14))
            .filter(|d| Some(*d) >= earliest && *d <= today)
            .ok_or(IdNumberError::BadBirthDate)?;
        let expected = mod11_2_check(body);
        let found = char::from(last);
        if expected != found {
            return Err(IdNumberError::BadCheckCharacter { expected, found });
        }
        Ok(IdNumber { value, birth_date })
    }

    /// The 18 characters (upper-case X).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// `1409**********1234`: the first four, ten `*`, the last four ([`mask_id_number`]).
    pub fn masked(&self) -> String {
        mask_id_number(&self.value)
    }

    /// The last six characters (asked by the 12345 hotline to verify a caller).
    pub fn tail6(&self) -> &str {
        &self.value[12..]
    }

    /// The birth date (digits 7–14).
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The region code (first six digits), valid when the number was issued.
    pub fn region(&self) -> &str {
        &self.value[..6]
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

impl Localized for IdNumberError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (IdNumberError::Length(n), Lang::Zh) => {
                format!("身份证号长度错误：应为 18 位，实为 {n} 位")
            }
            (IdNumberError::Length(n), Lang::En) => {
                format!("ID number must have 18 characters, found {n}")
            }
            (IdNumberError::Characters, Lang::Zh) => {
                "身份证号含非法字符：前 17 位应为数字，末位应为数字或 X".to_owned()
            }
            (IdNumberError::Characters, Lang::En) => {
                "ID number has invalid characters: 17 digits then a digit or X expected".to_owned()
            }
            (IdNumberError::UnknownRegion(code), Lang::Zh) => {
                format!("身份证号地址码无效：{code} 不是该出生年份可用的行政区划代码")
            }
            (IdNumberError::UnknownRegion(code), Lang::En) => {
                format!("ID number region {code} is not a division code usable for that birth year")
            }
            (IdNumberError::BadBirthDate, Lang::Zh) => {
                "身份证号出生日期无效：应为 1900-01-01 至今天之间的真实日期".to_owned()
            }
            (IdNumberError::BadBirthDate, Lang::En) => {
                "ID number birth date is not a real date between 1900-01-01 and today".to_owned()
            }
            (IdNumberError::BadCheckCharacter { expected, found }, Lang::Zh) => {
                format!("身份证号校验码错误：应为 {expected}，实为 {found}")
            }
            (IdNumberError::BadCheckCharacter { expected, found }, Lang::En) => {
                format!("ID number check character is wrong: expected {expected}, found {found}")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 手机号
// ---------------------------------------------------------------------------------------------

/// A mainland mobile number: 11 digits matching `1[3-9]\d{9}`. `Debug` shows the masked form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Characters other than digits, spaces, `-` and a leading `+`.
    Characters,
    /// Not 11 digits once the country code is removed (the count found).
    Length(usize),
    /// Does not start with 13–19.
    Prefix,
}

impl PhoneNumber {
    /// Parses a mobile number after removing spaces, `-` and a `+86`, `0086` or `86` prefix.
    ///
    /// # Errors
    /// [`PhoneError`] naming the problem.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let digits = if let Some(rest) = compact.strip_prefix("+86") {
            rest
        } else if let Some(rest) = compact.strip_prefix("0086") {
            rest
        } else if compact.len() == 13 && compact.starts_with("86") {
            &compact[2..]
        } else {
            &compact
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Characters);
        }
        if digits.len() != 11 {
            return Err(PhoneError::Length(digits.len()));
        }
        let bytes = digits.as_bytes();
        if bytes[0] != b'1' || !(b'3'..=b'9').contains(&bytes[1]) {
            return Err(PhoneError::Prefix);
        }
        Ok(PhoneNumber(digits.to_owned()))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678` ([`mask_phone`]).
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }

    /// The last four digits (asked by the 12345 hotline to verify a caller).
    pub fn tail4(&self) -> &str {
        &self.0[7..]
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.masked()).finish()
    }
}

impl Localized for PhoneError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (PhoneError::Characters, Lang::Zh) => "手机号含非法字符".to_owned(),
            (PhoneError::Characters, Lang::En) => "phone number has invalid characters".to_owned(),
            (PhoneError::Length(n), Lang::Zh) => format!("手机号长度错误：应为 11 位，实为 {n} 位"),
            (PhoneError::Length(n), Lang::En) => {
                format!("phone number must have 11 digits, found {n}")
            }
            (PhoneError::Prefix, Lang::Zh) => "手机号号段错误：应以 13–19 开头".to_owned(),
            (PhoneError::Prefix, Lang::En) => {
                "phone number must start with 13 to 19 (mainland mobile)".to_owned()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 统一社会信用代码
// ---------------------------------------------------------------------------------------------

/// The 31 characters of GB 32100 (no I, O, S, V, Z), in value order.
const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights 3^i mod 31 of the first 17 positions.
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// 统一社会信用代码 (GB 32100): 18 characters with a MOD 31 check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

/// Why a unified social credit code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters (the count found).
    Length(usize),
    /// A character outside `0-9` and `A-Y` without I, O, S, V, Z.
    Characters,
    /// The check character does not match.
    BadCheckCharacter {
        /// The character the first 17 call for.
        expected: char,
        /// The character given.
        found: char,
    },
}

impl CreditCode {
    /// Parses a credit code: trims, accepts lower case (normalised to upper case), checks the
    /// alphabet and the check character.
    ///
    /// # Errors
    /// [`CreditCodeError`] naming the problem.
    pub fn parse(raw: &str) -> Result<Self, CreditCodeError> {
        let value = raw.trim().to_ascii_uppercase();
        let count = value.chars().count();
        if count != 18 {
            return Err(CreditCodeError::Length(count));
        }
        let values = value
            .bytes()
            .map(|b| CREDIT_ALPHABET.iter().position(|&a| a == b))
            .collect::<Option<Vec<usize>>>()
            .ok_or(CreditCodeError::Characters)?;
        let sum: u32 = values[..17]
            .iter()
            .zip(CREDIT_WEIGHTS)
            // Each value is below 31, so the cast is lossless.
            .map(|(&v, w)| v as u32 * w)
            .sum();
        let check = (31 - sum % 31) % 31;
        let expected = char::from(CREDIT_ALPHABET[check as usize]);
        let found = char::from(value.as_bytes()[17]);
        if expected != found {
            return Err(CreditCodeError::BadCheckCharacter { expected, found });
        }
        Ok(CreditCode(value))
    }

    /// The 18 characters (upper case).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Localized for CreditCodeError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (CreditCodeError::Length(n), Lang::Zh) => {
                format!("统一社会信用代码长度错误：应为 18 位，实为 {n} 位")
            }
            (CreditCodeError::Length(n), Lang::En) => {
                format!("unified social credit code must have 18 characters, found {n}")
            }
            (CreditCodeError::Characters, Lang::Zh) => {
                "统一社会信用代码含非法字符：只允许数字和除 I、O、S、V、Z 外的大写字母".to_owned()
            }
            (CreditCodeError::Characters, Lang::En) => {
                "unified social credit code has invalid characters: digits and A-Y without I, O, S, V, Z only"
                    .to_owned()
            }
            (CreditCodeError::BadCheckCharacter { expected, found }, Lang::Zh) => {
                format!("统一社会信用代码校验码错误：应为 {expected}，实为 {found}")
            }
            (CreditCodeError::BadCheckCharacter { expected, found }, Lang::En) => {
                format!(
                    "unified social credit code check character is wrong: expected {expected}, found {found}"
                )
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 姓名
// ---------------------------------------------------------------------------------------------

/// Longest accepted name, in characters.
pub const MAX_NAME_CHARS: usize = 50;

/// A person's name (姓名): trimmed, 1 to 50 characters, no control characters. `Debug` shows
/// the masked form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty or only whitespace.
    Empty,
    /// More than 50 characters (the count found).
    TooLong(usize),
    /// Contains a control character (line break, tab, …).
    ControlCharacter,
}

impl PersonName {
    /// Parses a name: trims, then checks it is 1 to 50 characters without control characters.
    ///
    /// # Errors
    /// [`NameError`] naming the problem.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        let count = name.chars().count();
        if count > MAX_NAME_CHARS {
            return Err(NameError::TooLong(count));
        }
        Ok(PersonName(name.to_owned()))
    }

    /// The name as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 王小明 → 王*明, 李四 → 李*, a single character → itself and `*`.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        match chars.as_slice() {
            [first, middle @ .., last] if !middle.is_empty() => {
                let mut masked = String::new();
                masked.push(*first);
                masked.extend(std::iter::repeat_n('*', middle.len()));
                masked.push(*last);
                masked
            }
            [first, ..] => format!("{first}*"),
            // A parsed name is never empty.
            [] => String::new(),
        }
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PersonName").field(&self.masked()).finish()
    }
}

impl Localized for NameError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (NameError::Empty, Lang::Zh) => "姓名不能为空".to_owned(),
            (NameError::Empty, Lang::En) => "name must not be empty".to_owned(),
            (NameError::TooLong(n), Lang::Zh) => {
                format!("姓名过长：最多 {MAX_NAME_CHARS} 个字符，实为 {n} 个")
            }
            (NameError::TooLong(n), Lang::En) => {
                format!("name is too long: at most {MAX_NAME_CHARS} characters, found {n}")
            }
            (NameError::ControlCharacter, Lang::Zh) => "姓名含控制字符（如换行）".to_owned(),
            (NameError::ControlCharacter, Lang::En) => {
                "name contains a control character (such as a line break)".to_owned()
            }
        }
    }
}

display_via_localized!(IdNumberError, PhoneError, CreditCodeError, NameError);

/// 身份证号 masked as `1409**********1234` (first four, last four), for any text: also a number
/// as typed, before a server has checked it. Text of eight characters or fewer is masked
/// entirely, so nothing of a mistyped number leaks either.
pub fn mask_id_number(raw: &str) -> String {
    mask_middle(raw, 4, 4)
}

/// 手机号 masked as `138****5678` (first three, last four), for any text as [`mask_id_number`].
pub fn mask_phone(raw: &str) -> String {
    mask_middle(raw, 3, 4)
}

/// `raw` (trimmed) with all but its first `head` and last `tail` characters replaced by `*`;
/// all of it when it is no longer than `head + tail`.
fn mask_middle(raw: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = raw.trim().chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Whether `s` is a SHA-256 digest in hex: exactly 64 hex digits (either case).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}
