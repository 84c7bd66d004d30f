//! 寄递: the rules of courier logistics — tracking numbers with a check character, the waybill
//! state machine that tolerates duplicate and out-of-order carrier events, and the tariff
//! (省内免费邮寄; cross-province by configuration).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::catalog::{Matter, Mode, UnknownName};
use crate::i18n::{Lang, Localized};
use crate::materials::Form;

/// Prefix of every tongban tracking number.
pub const TRACKING_PREFIX: &str = "TB";
/// Digits of the serial part of a tracking number.
pub const TRACKING_DIGITS: usize = 10;

/// 运单号: `TB` + 10 digits + an ISO 7064 MOD 11-2 check character (`0`–`9` or `X`), e.g.
/// `TB0000000001` + check. A mistyped digit or two swapped digits are caught. The digits of a
/// new waybill are random ([`TrackingNumber::from_random`]), so knowing one number tells
/// nothing of the next.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackingNumber(String);

/// Why a string is not a tracking number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackingNumberError {
    /// Not `TB` + 10 digits + one check character.
    #[error(
        "运单号格式应为 TB + 10 位数字 + 校验位 / a tracking number is TB, 10 digits and a check character"
    )]
    Format,
    /// The check character does not match the digits.
    #[error("运单号校验位错误 / the tracking number's check character is wrong")]
    CheckDigit,
}

impl Localized for TrackingNumberError {
    fn text(&self, lang: Lang) -> String {
        match self {
            Self::Format => lang
                .pick(
                    "运单号格式应为 TB + 10 位数字 + 校验位",
                    "a tracking number is TB, 10 digits and a check character",
                )
                .to_owned(),
            Self::CheckDigit => lang
                .pick(
                    "运单号校验位错误",
                    "the tracking number's check character is wrong",
                )
                .to_owned(),
        }
    }
}

/// ISO 7064 MOD 11-2 check character of a string of ASCII digits.
fn mod11_2(digits: &str) -> char {
    let sum = digits.bytes().rev().enumerate().fold(0u32, |sum, (i, b)| {
        let weight = (1u32 << ((i + 1) % 10)) % 11;
        sum + u32::from(b - b'0') * weight
    });
    match (12 - sum % 11) % 11 {
        10 => 'X',
        // The remainder is below 10 here, so it is a decimal digit.
        n => char::from_digit(n, 10).unwrap_or('0'),
    }
}

impl TrackingNumber {
    /// Parses a tracking number (surrounding spaces and a lower-case `tb`/`x` are accepted).
    ///
    /// # Errors
    /// [`TrackingNumberError`] naming what is wrong.
    pub fn parse(raw: &str) -> Result<Self, TrackingNumberError> {
        let upper = raw.trim().to_ascii_uppercase();
        let rest = upper
            .strip_prefix(TRACKING_PREFIX)
            .ok_or(TrackingNumberError::Format)?;
        if rest.len() != TRACKING_DIGITS + 1 || !rest.is_ascii() {
            return Err(TrackingNumberError::Format);
        }
        let (digits, check) = rest.split_at(TRACKING_DIGITS);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TrackingNumberError::Format);
        }
        let check = check.chars().next().ok_or(TrackingNumberError::Format)?;
        if !(check.is_ascii_digit() || check == 'X') {
            return Err(TrackingNumberError::Format);
        }
        if mod11_2(digits) != check {
            return Err(TrackingNumberError::CheckDigit);
        }
        Ok(Self(upper))
    }

    /// A new, unguessable tracking number from 8 random bytes (the caller draws them from the
    /// operating system's CSPRNG): their value modulo 10¹⁰ (the bias is below 10⁻⁹). Two
    /// waybills may draw the same digits (one chance in 10¹⁰ per pair): the caller retries on a
    /// collision.
    #[must_use]
    pub fn from_random(bytes: [u8; 8]) -> Self {
        Self::from_serial(u64::from_le_bytes(bytes))
    }

    /// The tracking number of serial `serial` (taken modulo 10¹⁰).
    #[must_use]
    pub fn from_serial(serial: u64) -> Self {
        let digits = format!("{:010}", serial % 10_000_000_000);
        let check = mod11_2(&digits);
        Self(format!("{TRACKING_PREFIX}{digits}{check}"))
    }

    /// The number as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackingNumber({})", self.0)
    }
}

/// 运单状态: where a waybill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaybillStatus {
    /// 已下单: created, waiting for the courier.
    Created,
    /// 已揽收: the courier has it.
    PickedUp,
    /// 运输中.
    InTransit,
    /// 派送中.
    OutForDelivery,
    /// 已签收: the recipient has it (final).
    Delivered,
    /// 异常: held up; a later progress event resumes it.
    Exception,
    /// 已退回: returned to the sender (final).
    Returned,
}

impl WaybillStatus {
    /// Every status, in order of the journey.
    pub const ALL: [WaybillStatus; 7] = [
        WaybillStatus::Created,
        WaybillStatus::PickedUp,
        WaybillStatus::InTransit,
        WaybillStatus::OutForDelivery,
        WaybillStatus::Delivered,
        WaybillStatus::Exception,
        WaybillStatus::Returned,
    ];

    /// Stable code used in storage and events (`created`, `picked_up` …).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::PickedUp => "picked_up",
            Self::InTransit => "in_transit",
            Self::OutForDelivery => "out_for_delivery",
            Self::Delivered => "delivered",
            Self::Exception => "exception",
            Self::Returned => "returned",
        }
    }

    /// The status with this [`WaybillStatus::code`].
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Name shown to people: 已下单, 已揽收, 运输中, 派送中, 已签收, 异常, 已退回.
    #[must_use]
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::Created => lang.pick("已下单", "created"),
            Self::PickedUp => lang.pick("已揽收", "picked up"),
            Self::InTransit => lang.pick("运输中", "in transit"),
            Self::OutForDelivery => lang.pick("派送中", "out for delivery"),
            Self::Delivered => lang.pick("已签收", "delivered"),
            Self::Exception => lang.pick("异常", "exception"),
            Self::Returned => lang.pick("已退回", "returned"),
        }
    }

    /// Whether nothing can follow (已签收, 已退回).
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Returned)
    }

    /// Position on the journey for progress statuses; `None` for 异常 and 已退回.
    fn rank(self) -> Option<u8> {
        match self {
            Self::Created => Some(0),
            Self::PickedUp => Some(1),
            Self::InTransit => Some(2),
            Self::OutForDelivery => Some(3),
            Self::Delivered => Some(4),
            Self::Exception | Self::Returned => None,
        }
    }
}

impl FromStr for WaybillStatus {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s).ok_or_else(|| UnknownName::new("waybill status", s))
    }
}

/// 寄递用途: why a waybill travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaybillPurpose {
    /// 纸质原件: window → responsible office (异地代收代办).
    Originals,
    /// 办理结果: responsible office → applicant (邮寄).
    Result,
    /// Anything else (re-sending, returns).
    Other,
}

impl WaybillPurpose {
    /// Every purpose.
    pub const ALL: [WaybillPurpose; 3] = [Self::Originals, Self::Result, Self::Other];

    /// Stable code used in storage and events (`originals`, `result`, `other`).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Originals => "originals",
            Self::Result => "result",
            Self::Other => "other",
        }
    }

    /// The purpose with this [`WaybillPurpose::code`].
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }
}

impl FromStr for WaybillPurpose {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s).ok_or_else(|| UnknownName::new("waybill purpose", s))
    }
}

/// Where a waybill stands: its status and the furthest point of the journey reached (so an
/// 异常 followed by a late, older event does not move it backwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracking {
    /// The current status.
    pub status: WaybillStatus,
    /// The furthest progress status reached.
    pub furthest: WaybillStatus,
}

impl Tracking {
    /// A new waybill: 已下单.
    #[must_use]
    pub fn created() -> Self {
        Self {
            status: WaybillStatus::Created,
            furthest: WaybillStatus::Created,
        }
    }

    /// Applies a carrier event reporting `incoming`. Returns the new tracking when the waybill
    /// moves, `None` when the event changes nothing: a final waybill never moves again, and an
    /// event for a point already passed (duplicate or arriving late) is only history.
    #[must_use]
    pub fn apply(self, incoming: WaybillStatus) -> Option<Self> {
        if self.status.is_final() {
            return None;
        }
        match incoming.rank() {
            None if incoming == self.status => None,
            None => Some(Self {
                status: incoming,
                ..self
            }),
            Some(rank) => {
                let furthest = self.furthest.rank().unwrap_or(0);
                let resumes = self.status == WaybillStatus::Exception && rank >= furthest;
                if rank > furthest || (resumes && rank > 0) {
                    Some(Self {
                        status: incoming,
                        furthest: incoming,
                    })
                } else {
                    None
                }
            }
        }
    }
}

/// 物料流转备案: one hand-over of a material in the chain of custody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOver {
    /// The material handed over.
    pub material_code: String,
    /// Who gave it.
    pub from_party: String,
    /// Who took it.
    pub to_party: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a waybill's move does to the case clock (特殊环节 `transit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitClock {
    /// 材料在途: the paper originals left the window; the case clock stops.
    Suspend,
    /// The originals arrived (or came back): the case clock runs again.
    Resume,
}

/// A waybill as its step rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waybill {
    /// Why it travels.
    pub purpose: WaybillPurpose,
    /// Where it stands.
    pub tracking: Tracking,
    /// Whether its journey holds the case clock stopped.
    pub clock_suspended: bool,
    /// The materials it carries.
    pub material_codes: Vec<String>,
    /// The sender as named in the chain of custody.
    pub sender: String,
    /// The recipient as named in the chain of custody.
    pub recipient: String,
}

/// What a carrier report did to a waybill that moved ([`Waybill::track`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The waybill after the report.
    pub waybill: Waybill,
    /// Hand-overs to record: sender → courier on pick-up, courier → recipient on delivery.
    pub custody: Vec<HandOver>,
    /// The change of the case clock, if any.
    pub clock: Option<TransitClock>,
}

impl Waybill {
    /// Applies a carrier report of `incoming` at `at`, scanned by `courier`. `None` when the
    /// waybill does not move ([`Tracking::apply`]: the report is history only). A move records
    /// custody on the first pick-up (sender → courier) and on delivery (courier → recipient); the
    /// paper originals' journey stops the case clock from pick-up until a final status.
    #[must_use]
    pub fn track(
        &self,
        incoming: WaybillStatus,
        courier: &str,
        at: DateTime<Utc>,
    ) -> Option<Moved> {
        let next = self.tracking.apply(incoming)?;
        let picked_up = |t: Tracking| t.furthest != WaybillStatus::Created;
        let mut custody = Vec::new();
        let mut hand_over = |from: &str, to: &str| {
            custody.extend(self.material_codes.iter().map(|code| HandOver {
                material_code: code.clone(),
                from_party: from.to_owned(),
                to_party: to.to_owned(),
                at,
            }));
        };
        if !picked_up(self.tracking) && picked_up(next) {
            hand_over(&self.sender, courier);
        }
        if next.status == WaybillStatus::Delivered {
            hand_over(courier, &self.recipient);
        }
        let originals = self.purpose == WaybillPurpose::Originals;
        let (clock_suspended, clock) =
            if originals && !self.clock_suspended && picked_up(next) && !next.status.is_final() {
                (true, Some(TransitClock::Suspend))
            } else if self.clock_suspended && next.status.is_final() {
                (false, Some(TransitClock::Resume))
            } else {
                (self.clock_suspended, None)
            };
        Some(Moved {
            waybill: Waybill {
                tracking: next,
                clock_suspended,
                ..self.clone()
            },
            custody,
            clock,
        })
    }
}

/// 承运商只见自己的运单: whether a carrier identified as `carrier` (the office of its token)
/// may see a waybill given to `waybill_carrier` and report on it. An empty identity sees
/// nothing.
#[must_use]
pub fn carried_by(waybill_carrier: &str, carrier: &str) -> bool {
    !carrier.is_empty() && waybill_carrier == carrier
}

/// A delivered originals waybill, as the responsible office hears of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalsDelivery {
    /// The office it was delivered to.
    pub recipient_office_id: String,
    /// The materials it carried.
    pub material_codes: Vec<String>,
}

/// 纸质原件送达本机关: the codes of the `expected` originals not yet delivered to `office` (the
/// case's responsible office, the lead office of a 多地联办 case), in the expected order. A
/// delivered waybill counts only when it went to that office, and only for the materials it
/// carried: originals delivered elsewhere, or another material delivered, clear nothing.
#[must_use]
pub fn originals_outstanding(
    expected: &[String],
    office: &str,
    delivered: &[OriginalsDelivery],
) -> Vec<String> {
    expected
        .iter()
        .filter(|code| {
            !delivered.iter().any(|d| {
                d.recipient_office_id == office && d.material_codes.iter().any(|c| c == *code)
            })
        })
        .cloned()
        .collect()
}

/// The reason given when the originals' journey stops the case clock.
#[must_use]
pub fn transit_reason(tracking_number: &str) -> String {
    format!("纸质原件寄递在途（运单 {tracking_number}）")
}

/// 资费表: free within a province; across provinces a base fee, overridden per province pair.
/// Read from `deploy/logistics/tariff.toml`:
///
/// ```toml
/// cross_province_fen = 2000
/// [[pair]]
/// provinces = ["14", "64"]
/// fee_fen = 1800
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tariff {
    cross_province_fen: i64,
    pairs: BTreeMap<(String, String), i64>,
}

/// Why a tariff file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TariffError {
    /// Not valid TOML of the expected shape.
    #[error("资费表格式错误 / malformed tariff: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A province code is not two digits, or a fee is negative.
    #[error("资费表内容错误 / invalid tariff: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TariffFile {
    cross_province_fen: i64,
    #[serde(default)]
    pair: Vec<PairFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairFile {
    provinces: [String; 2],
    fee_fen: i64,
}

fn ordered(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

impl Tariff {
    /// Parses a tariff file.
    ///
    /// # Errors
    /// [`TariffError`] when the text is malformed or holds a bad code or a negative fee.
    pub fn from_toml(text: &str) -> Result<Self, TariffError> {
        let file: TariffFile = toml::from_str(text)?;
        if file.cross_province_fen < 0 {
            return Err(TariffError::Invalid(
                "cross_province_fen 不能为负 / must not be negative".to_owned(),
            ));
        }
        let mut pairs = BTreeMap::new();
        for pair in file.pair {
            let [a, b] = &pair.provinces;
            let province = |p: &str| p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit());
            if !province(a) || !province(b) || a == b {
                return Err(TariffError::Invalid(format!(
                    "省份代码应为两位数字且不同 / provinces must be two different 2-digit codes: {a}, {b}"
                )));
            }
            if pair.fee_fen < 0 {
                return Err(TariffError::Invalid(format!(
                    "{a}-{b}: fee_fen 不能为负 / must not be negative"
                )));
            }
            pairs.insert(ordered(a, b), pair.fee_fen);
        }
        Ok(Self {
            cross_province_fen: file.cross_province_fen,
            pairs,
        })
    }

    /// The fee in 分 between two divisions (GB/T 2260 codes; the first two digits are the
    /// province): 0 within a province (省内免费邮寄), else the pair's fee or the base fee.
    #[must_use]
    pub fn fee_fen(&self, from_division: &str, to_division: &str) -> i64 {
        let (Some(from), Some(to)) = (from_division.get(..2), to_division.get(..2)) else {
            return self.cross_province_fen;
        };
        if from == to {
            return 0;
        }
        self.pairs
            .get(&ordered(from, to))
            .copied()
            .unwrap_or(self.cross_province_fen)
    }
}

/// 纸质原件寄递: the materials whose paper originals must travel from the window to the
/// responsible office — under 异地代收代办 ([`Mode::Proxy`]) only, those presented on paper that
/// the matter marks `paper_original_required`, in the order presented (each code once).
#[must_use]
pub fn originals_to_ship<'a>(
    matter: &Matter,
    mode: Mode,
    presented: impl IntoIterator<Item = (&'a str, Form)>,
) -> Vec<String> {
    if mode != Mode::Proxy {
        return Vec::new();
    }
    let mut codes: Vec<String> = Vec::new();
    for (code, form) in presented {
        let required = matter
            .materials
            .iter()
            .any(|m| m.code == code && m.paper_original_required);
        if form == Form::Paper && required && !codes.iter().any(|c| c == code) {
            codes.push(code.to_owned());
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;
    use WaybillStatus::*;

    #[test]
    fn tracking_numbers_carry_a_check_character() {
        let made = TrackingNumber::from_serial(1);
        assert_eq!(made.as_str().len(), 13);
        assert_eq!(TrackingNumber::parse(made.as_str()), Ok(made.clone()));
        assert_eq!(
            TrackingNumber::parse(&made.as_str().to_ascii_lowercase()),
            Ok(made.clone())
        );
        for serial in [0, 7, 42, 1_234_567_890, 9_999_999_999] {
            let n = TrackingNumber::from_serial(serial);
            assert!(TrackingNumber::parse(n.as_str()).is_ok(), "{n}");
            // One wrong digit is caught.
            let mut wrong = n.as_str().to_owned().into_bytes();
            wrong[5] = if wrong[5] == b'9' { b'0' } else { wrong[5] + 1 };
            let wrong = String::from_utf8(wrong).unwrap_or_default();
            assert_eq!(
                TrackingNumber::parse(&wrong),
                Err(TrackingNumberError::CheckDigit)
            );
        }
        for bad in [
            "",
            "TB123",
            "XX00000000011",
            "TB00000000A11",
            "TB000000000011",
        ] {
            assert_eq!(
                TrackingNumber::parse(bad),
                Err(TrackingNumberError::Format),
                "{bad}"
            );
        }
    }

    #[test]
    fn journey_moves_forward_only() {
        let t = Tracking::created();
        let t = t.apply(PickedUp).expect("picked up");
        assert_eq!(t.apply(PickedUp), None, "duplicate");
        let t = t.apply(OutForDelivery).expect("skips ahead");
        assert_eq!(t.apply(InTransit), None, "late in-transit");
        let t = t.apply(Delivered).expect("delivered");
        assert_eq!(t.status, Delivered);
        for late in WaybillStatus::ALL {
            assert_eq!(t.apply(late), None, "nothing after delivery: {late:?}");
        }
    }

    #[test]
    fn exceptions_hold_then_resume() {
        let t = Tracking::created().apply(InTransit).expect("in transit");
        let held = t.apply(Exception).expect("exception");
        assert_eq!(held.apply(Exception), None);
        assert_eq!(held.apply(PickedUp), None, "older event stays history");
        let resumed = held.apply(InTransit).expect("resumes where it was");
        assert_eq!(resumed.status, InTransit);
        let returned = resumed.apply(Returned).expect("returned");
        assert!(returned.status.is_final());
        assert_eq!(returned.apply(Delivered), None);
    }

    #[test]
    fn codes_round_trip() {
        for s in WaybillStatus::ALL {
            assert_eq!(WaybillStatus::from_code(s.code()), Some(s));
        }
    }

    #[test]
    fn tariff_is_free_in_province_and_configured_across() {
        let tariff = Tariff::from_toml(
            "cross_province_fen = 2000\n[[pair]]\nprovinces = [\"64\", \"14\"]\nfee_fen = 1800\n",
        )
        .expect("valid tariff");
        assert_eq!(tariff.fee_fen("140922", "140100"), 0);
        assert_eq!(tariff.fee_fen("140922", "640100"), 1800);
        assert_eq!(tariff.fee_fen("640100", "140922"), 1800);
        assert_eq!(tariff.fee_fen("140922", "150600"), 2000);
        assert!(Tariff::from_toml("cross_province_fen = -1").is_err());
        assert!(
            Tariff::from_toml(
                "cross_province_fen = 1\n[[pair]]\nprovinces = [\"1\", \"64\"]\nfee_fen = 1\n"
            )
            .is_err()
        );
    }
}
