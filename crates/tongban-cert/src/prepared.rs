//! SM2 verification with precomputed tables (issue 12): a verifier checks signatures of a few
//! issuer keys over and over, so each key gets, once, its Z value (GB/T 32918 user
//! information hash) and a table of multiples of its point; the generator has the same table
//! once per process. `[s]G + [t]P` is then about 130 mixed additions and 4 doublings, against
//! 256 doublings, 128 additions and two freshly built tables in the `sm2` crate's (constant
//! time) verify.
//!
//! Everything here is public data (keys, signatures, messages), so the arithmetic may take
//! variable time. The result is tested against the `sm2` crate's own verify on many random
//! signatures, valid and invalid.

use std::sync::LazyLock;

use sm2::dsa::Signature;
use sm2::elliptic_curve::group::Group as _;
use sm2::elliptic_curve::ops::Reduce as _;
use sm2::elliptic_curve::point::AffineCoordinates as _;
use sm2::{AffinePoint, ProjectivePoint, Scalar};
use sm3::{Digest as _, Sm3};

use crate::keys::DISTID;

/// Rows of a table: one per byte of a scalar, and one for the carry of the signed digits.
const ROWS: usize = 33;
/// Multiples per row: signed radix-16 digits are in `-8..=8`.
const MULTIPLES: usize = 8;

/// `rows[i][j] = (j + 1) · 256^i · P`, affine (for mixed additions).
struct Table {
    rows: Box<[[AffinePoint; MULTIPLES]; ROWS]>,
}

impl Table {
    fn new(point: ProjectivePoint) -> Self {
        let mut rows = Box::new([[AffinePoint::IDENTITY; MULTIPLES]; ROWS]);
        let mut base = point;
        for row in rows.iter_mut() {
            let mut multiple = base;
            for slot in row.iter_mut() {
                *slot = multiple.to_affine();
                multiple += base;
            }
            for _ in 0..8 {
                base = base.double();
            }
        }
        Self { rows }
    }

    /// Adds `digit · 256^row · P` to `acc`.
    fn add(&self, acc: &mut ProjectivePoint, row: usize, digit: i8) {
        let index = usize::from(digit.unsigned_abs());
        if index == 0 {
            return;
        }
        let point = &self.rows[row][index - 1];
        if digit > 0 {
            *acc += point;
        } else {
            *acc -= point;
        }
    }
}

/// The generator's table, built on first use.
static GENERATOR: LazyLock<Table> = LazyLock::new(|| Table::new(ProjectivePoint::GENERATOR));

/// Signed radix-16 digits `d` of `k` (`k = Σ d[j] · 16^j`, each in `-8..=8`), least
/// significant first.
fn digits(k: &Scalar) -> [i8; 2 * ROWS - 1] {
    let bytes = k.to_bytes();
    let mut d = [0i8; 2 * ROWS - 1];
    for (i, byte) in bytes.iter().rev().enumerate() {
        // Both nibbles are below 16: they fit an i8.
        d[2 * i] = i8::try_from(byte & 0x0f).unwrap_or_default();
        d[2 * i + 1] = i8::try_from(byte >> 4).unwrap_or_default();
    }
    for i in 0..d.len() - 1 {
        let carry = (d[i] + 8) >> 4;
        d[i] -= carry << 4;
        d[i + 1] += carry;
    }
    d
}

/// GB/T 32918 curve parameters a, b, x_G, y_G as they enter the Z value.
const CURVE: [&str; 4] = [
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
];

/// One public key made ready for repeated verification.
pub(crate) struct PreparedKey {
    z: [u8; 32],
    table: Table,
}

impl PreparedKey {
    /// Computes Z and the table of `point` (a few milliseconds, once per key).
    pub(crate) fn new(point: &AffinePoint, sec1_uncompressed: &[u8]) -> Self {
        let mut hasher = Sm3::new();
        // The distinguishing identifier is 16 bytes: 128 bits, as a big-endian u16.
        let entl = u16::try_from(DISTID.len() * 8).unwrap_or(u16::MAX);
        hasher.update(entl.to_be_bytes());
        hasher.update(DISTID.as_bytes());
        for parameter in CURVE {
            hasher.update(crate::keys::unhex(parameter).unwrap_or_default());
        }
        // 0x04 ‖ x ‖ y.
        hasher.update(sec1_uncompressed.get(1..).unwrap_or_default());
        let mut z = [0u8; 32];
        z.copy_from_slice(&hasher.finalize());
        Self {
            z,
            table: Table::new(ProjectivePoint::from(point)),
        }
    }

    /// Whether `signature` (r ‖ s) is this key's SM2 signature of `message` (GB/T 32918.2
    /// B1–B7).
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        // B1, B2: r and s in [1, n-1] (checked when the signature is read).
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        let r: Scalar = *signature.r();
        let s: Scalar = *signature.s();
        // B3, B4: e = SM3(Z ‖ M).
        let digest = Sm3::new_with_prefix(self.z)
            .chain_update(message)
            .finalize();
        let e = Scalar::reduce(&digest);
        // B5: t = r + s mod n, not zero.
        let t = r + s;
        if bool::from(t.is_zero()) {
            return false;
        }
        // B6: (x1, y1) = [s]G + [t]P, not the point at infinity.
        let (ds, dt) = (digits(&s), digits(&t));
        let generator = &*GENERATOR;
        let mut even = ProjectivePoint::IDENTITY;
        let mut odd = ProjectivePoint::IDENTITY;
        let top = ROWS - 1;
        generator.add(&mut even, top, ds[2 * top]);
        self.table.add(&mut even, top, dt[2 * top]);
        for i in (0..top).rev() {
            generator.add(&mut odd, i, ds[2 * i + 1]);
            self.table.add(&mut odd, i, dt[2 * i + 1]);
            generator.add(&mut even, i, ds[2 * i]);
            self.table.add(&mut even, i, dt[2 * i]);
        }
        for _ in 0..4 {
            odd = odd.double();
        }
        let point = even + odd;
        if bool::from(point.is_identity()) {
            return false;
        }
        // B7: r = e + x1 mod n.
        r == e + Scalar::reduce(&point.to_affine().x())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;
    use sm2::dsa::VerifyingKey;
    use sm2::dsa::signature::Verifier as _;

    fn sm2_crate(public: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|sig| public.verify(message, &sig).is_ok())
    }

    fn random(len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        getrandom::fill(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn digits_recompose_the_scalar() {
        for _ in 0..200 {
            let mut wide = [0u8; 32];
            getrandom::fill(&mut wide).unwrap();
            let k = Scalar::reduce(&sm2::FieldBytes::from(wide));
            let d = digits(&k);
            assert!(d.iter().all(|x| (-8..=8).contains(x)));
            let sixteen = Scalar::from(16u64);
            let back = d.iter().rev().fold(Scalar::ZERO, |acc, x| {
                let term = Scalar::from(u64::from(x.unsigned_abs()));
                acc * sixteen + if *x < 0 { -term } else { term }
            });
            assert_eq!(back, k);
        }
    }

    #[test]
    fn agrees_with_the_sm2_crate_on_random_signatures_valid_and_invalid() {
        for round in 0..8 {
            let key = KeyPair::from_secret("t", &KeyPair::generate_secret().unwrap()).unwrap();
            let other = KeyPair::from_secret("t", &KeyPair::generate_secret().unwrap()).unwrap();
            let hex = key.public().to_hex();
            let sec1 = crate::keys::unhex(&hex).unwrap();
            let public = VerifyingKey::from_sec1_bytes(DISTID, &sec1).unwrap();
            let prepared = PreparedKey::new(public.as_affine(), &sec1);
            for case in 0..50 {
                let message = random(1 + (round * 50 + case) % 400);
                let good = key.sign(&message);
                let mut cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
                    (message.clone(), good.to_vec()),
                    (random(message.len()), good.to_vec()),
                    (message.clone(), other.sign(&message).to_vec()),
                    (message.clone(), random(64)),
                    (message.clone(), [good[..32].to_vec(), random(32)].concat()),
                    (message.clone(), [random(32), good[32..].to_vec()].concat()),
                    (message.clone(), vec![0u8; 64]),
                    (message.clone(), vec![0xffu8; 64]),
                    (message.clone(), good[..63].to_vec()),
                ];
                let mut flipped = good;
                flipped[usize::from(good[0]) % 64] ^= 1 << (good[1] % 8);
                cases.push((message.clone(), flipped.to_vec()));
                for (i, (m, sig)) in cases.iter().enumerate() {
                    let expected = sm2_crate(&public, m, sig);
                    assert_eq!(
                        prepared.verifies(m, sig),
                        expected,
                        "round {round} case {i}"
                    );
                    if i == 0 {
                        assert!(expected, "a genuine signature verifies");
                    }
                }
            }
        }
    }
}
