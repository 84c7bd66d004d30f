//! 办件编号: the case number, read over the phone to the 12345 hotline, so short, grouped and
//! protected by a check character: `140922-20261128-00001-7` (window division, Shanghai date of
//! acceptance, daily sequence, ISO 7064 MOD 11-2 check character).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::division::DivisionCode;
use crate::i18n::{Lang, Localized};
use crate::validate::{CheckedDigitsError, digits_and_check, mod11_2_check};

/// The highest daily sequence number.
pub const MAX_SEQUENCE: u32 = 99_999;

/// 办件编号 in canonical form `DDDDDD-YYYYMMDD-NNNNN-C`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseNumber(String);

/// Why a case number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseNumberError {
    /// Not 20 characters once dashes and spaces are removed (the count found).
    Length(usize),
    /// The first 19 characters must be digits, the last a digit or X.
    Characters,
    /// The date part is not a real date.
    BadDate,
    /// The sequence is 0 (or, when building, above [`MAX_SEQUENCE`]).
    BadSequence,
    /// The check character does not match: a digit was misheard or mistyped.
    BadCheckCharacter {
        /// The character the 19 digits call for.
        expected: char,
        /// The character given.
        found: char,
    },
}

impl CaseNumber {
    /// Builds the number of the `sequence`th case accepted on `date` (Shanghai local date) at a
    /// window in `window_division`.
    ///
    /// # Panics
    /// When `sequence` is not in `1..=99999` or `date`'s year is not in `1..=9999`; use
    /// [`CaseNumber::try_new`] where that is not already guaranteed.
    pub fn new(window_division: &DivisionCode, date: NaiveDate, sequence: u32) -> Self {
        match Self::try_new(window_division, date, sequence) {
            Ok(number) => number,
            Err(err) => panic!("case number out of range: {}", err.text(Lang::En)),
        }
    }

    /// As [`CaseNumber::new`], without panicking.
    ///
    /// # Errors
    /// [`CaseNumberError::BadSequence`] or [`CaseNumberError::BadDate`] when out of range.
    pub fn try_new(
        window_division: &DivisionCode,
        date: NaiveDate,
        sequence: u32,
    ) -> Result<Self, CaseNumberError> {
        if !(1..=MAX_SEQUENCE).contains(&sequence) {
            return Err(CaseNumberError::BadSequence);
        }
        if !(1..=9999).contains(&date.year()) {
            return Err(CaseNumberError::BadDate);
        }
        let digits = format!(
            "{}{:04}{:02}{:02}{sequence:05}",
            window_division.as_str(),
            date.year(),
            date.month(),
            date.day()
        );
        Ok(Self::from_digits(&digits, mod11_2_check(&digits)))
    }

    fn from_digits(digits: &str, check: char) -> Self {
        CaseNumber(format!(
            "{}-{}-{}-{check}",
            &digits[..6],
            &digits[6..14],
            &digits[14..19]
        ))
    }

    /// Reads a case number with or without dashes and spaces, lower-case x accepted, and
    /// verifies the check character.
    ///
    /// # Errors
    /// [`CaseNumberError`] naming the problem.
    pub fn parse(raw: &str) -> Result<Self, CaseNumberError> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let (digits, last) = digits_and_check(&compact, 20).map_err(|shape| match shape {
            CheckedDigitsError::Length(count) => CaseNumberError::Length(count),
            CheckedDigitsError::Characters => CaseNumberError::Characters,
        })?;
        let number = |range: std::ops::Range<usize>| {
            // At most eight ASCII digits: the parse cannot fail.
            digits[range].parse::<u32>().unwrap_or_default()
        };
        let year = i32::try_from(number(6..10)).unwrap_or_default();
        if NaiveDate::from_ymd_opt(year, number(10..12), number(12..14)).is_none() {
            return Err(CaseNumberError::BadDate);
        }
        if number(14..19) == 0 {
            return Err(CaseNumberError::BadSequence);
        }
        let expected = mod11_2_check(digits);
        let found = char::from(last);
        if expected != found {
            return Err(CaseNumberError::BadCheckCharacter { expected, found });
        }
        Ok(Self::from_digits(digits, found))
    }

    /// The canonical form `140922-20261128-00001-7`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The division of the accepting window (first group).
    pub fn window_division(&self) -> DivisionCode {
        // The first group was six digits when the number was built or parsed.
        DivisionCode::parse(&self.0[..6]).expect("a case number starts with six digits")
    }

    /// The Shanghai local date of acceptance (second group).
    pub fn date(&self) -> NaiveDate {
        let part = |range: std::ops::Range<usize>| self.0[range].parse::<u32>().unwrap_or_default();
        let year = i32::try_from(part(7..11)).unwrap_or_default();
        // The date was checked to be real when the number was built or parsed.
        NaiveDate::from_ymd_opt(year, part(11..13), part(13..15))
            .expect("a case number holds a real date")
    }

    /// The daily sequence number (third group).
    pub fn sequence(&self) -> u32 {
        // Five digits, checked when the number was built or parsed.
        self.0[16..21].parse().unwrap_or_default()
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CaseNumber {
    type Err = CaseNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseNumber::parse(s)
    }
}

impl Serialize for CaseNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CaseNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        CaseNumber::parse(&raw).map_err(|e| serde::de::Error::custom(e.text(Lang::En)))
    }
}

impl Localized for CaseNumberError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (CaseNumberError::Length(n), Lang::Zh) => {
                format!("办件编号长度错误：去掉分隔符后应为 20 位，实为 {n} 位")
            }
            (CaseNumberError::Length(n), Lang::En) => {
                format!("case number must have 20 characters without dashes, found {n}")
            }
            (CaseNumberError::Characters, Lang::Zh) => {
                "办件编号含非法字符：前 19 位应为数字，末位应为数字或 X".to_owned()
            }
            (CaseNumberError::Characters, Lang::En) => {
                "case number has invalid characters: 19 digits then a digit or X expected"
                    .to_owned()
            }
            (CaseNumberError::BadDate, Lang::Zh) => "办件编号中的日期无效".to_owned(),
            (CaseNumberError::BadDate, Lang::En) => "case number holds an invalid date".to_owned(),
            (CaseNumberError::BadSequence, Lang::Zh) => {
                format!("办件编号流水号无效：应为 1 至 {MAX_SEQUENCE}")
            }
            (CaseNumberError::BadSequence, Lang::En) => {
                format!("case number sequence must be 1 to {MAX_SEQUENCE}")
            }
            (CaseNumberError::BadCheckCharacter { expected, found }, Lang::Zh) => {
                format!("办件编号校验码错误：应为 {expected}，实为 {found}，请核对编号")
            }
            (CaseNumberError::BadCheckCharacter { expected, found }, Lang::En) => format!(
                "case number check character is wrong: expected {expected}, found {found}; please check the number"
            ),
        }
    }
}

impl fmt::Display for CaseNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}
