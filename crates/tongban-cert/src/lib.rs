//! tongban-cert: the rules of electronic certificates (电子证照), pure (no I/O).
//!
//! - [`identifier`]: `1.2.156.3005.2.{类型}.{颁发机构统一社会信用代码}.{流水号}.{版本}.{校验位}` with
//!   the ISO 7064 MOD 37,36 check character ([`check`]).
//! - [`certificate`]: holder, type, issuer, validity, typed fields; status codes 01–07.
//! - [`keys`]: SM2 (over SM3) key pairs with key ids; [`trust`]: provincial roots endorsing
//!   issuer keys, the trust list.
//! - [`token`]: the compact signed token (fits a QR code); [`verify`]: every check, failing
//!   closed.
//! - [`issuance`]: default and result validity, a result certificate's fields.
//! - [`status_change`]: which status a certificate may move to, and who may move it.
//! - [`audit_chain`]: the SM3 hash chain of a service's audit log, its SM2-signed checkpoints
//!   and their offline verification (审计链).

pub mod audit_chain;
pub mod certificate;
pub mod check;
pub mod identifier;
pub mod issuance;
pub mod keys;
mod prepared;
pub mod status_change;
pub mod token;
pub mod trust;
pub mod verify;

use sm3::{Digest as _, Sm3};
use tongban_domain::validate::CreditCode;

/// The 31 characters of GB 32100, in value order.
const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100 weights of the first 17 positions.
const CREDIT_WEIGHTS: [usize; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The 统一社会信用代码 this deployment uses for an office of the directory that has none on
/// file: `11` (机关) + its division + nine digits from the SM3 digest of its id + the GB 32100
/// check character. Stable for a given office; a real deployment lists the real codes.
/// `None` when `division` is not six digits.
pub fn issuer_credit_code(division: &str, office_id: &str) -> Option<CreditCode> {
    if division.len() != 6 || !division.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digest = Sm3::digest(office_id.as_bytes());
    let mut body = String::with_capacity(18);
    body.push_str("11");
    body.push_str(division);
    for byte in digest.iter().take(9) {
        body.push(char::from(b'0' + byte % 10));
    }
    let sum: usize = body
        .bytes()
        .zip(CREDIT_WEIGHTS)
        .map(|(b, w)| CREDIT_ALPHABET.iter().position(|&a| a == b).unwrap_or(0) * w)
        .sum();
    body.push(char::from(CREDIT_ALPHABET[(31 - sum % 31) % 31]));
    CreditCode::parse(&body).ok()
}
