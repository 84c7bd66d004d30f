//! Personal data (身份证号, 手机号) encrypted at rest and looked up by keyed hash (DESIGN §8).
//!
//! Sealing uses SM4-GCM (国密 SM4 block cipher in Galois/Counter Mode) with a random 96-bit
//! nonce; lookups use HMAC-SM3, so a stolen database alone reveals neither the values nor a way
//! to test guesses against the lookup column. The keys are generated per deployment into the
//! state directory.

use std::fmt;
use std::path::Path;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use hmac::{Hmac, Mac};
use sm3::Sm3;
use sm4::Sm4;

use crate::keyfile::{self, KeyFileError};

/// SM4-GCM with the standard 12-byte nonce.
type Sm4Gcm = AesGcm<Sm4, U12>;
/// HMAC over SM3.
type HmacSm3 = Hmac<Sm3>;

/// Format version of sealed values (first byte).
const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const SM4_KEY_LEN: usize = 16;
const MAC_KEY_LEN: usize = 32;
/// File name of the key material inside the state directory.
const PII_KEY_FILE: &str = "pii.key";

/// Why personal data could not be unsealed, or the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    /// The key file could not be loaded or created.
    #[error("无法加载个人信息加密密钥 / cannot load the personal-data key")]
    KeyFile(#[from] KeyFileError),
    /// The operating system's random number generator failed.
    #[error("无法生成随机数 / the random number generator failed: {0}")]
    Random(getrandom::Error),
    /// The sealed value has an unknown version byte or is too short.
    #[error("密文格式无效 / sealed value is malformed")]
    Malformed,
    /// Authentication failed: wrong key, wrong record (aad), or the bytes were altered.
    #[error("密文校验失败 / sealed value failed authentication")]
    Tampered,
    /// The plaintext is not UTF-8 (cannot happen for values sealed by [`PiiKeys::seal`]).
    #[error("解密结果不是有效文本 / unsealed value is not UTF-8")]
    NotText,
}

/// The deployment's personal-data keys: an SM4 key for sealing and an HMAC-SM3 key for lookups.
pub struct PiiKeys {
    cipher: Sm4Gcm,
    mac_key: [u8; MAC_KEY_LEN],
}

impl fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiKeys { .. }")
    }
}

impl PiiKeys {
    /// Keys from 48 bytes: the SM4 key (16) followed by the HMAC-SM3 key (32).
    ///
    /// # Errors
    ///
    /// [`PiiError::Malformed`] if `material` is not exactly 48 bytes.
    pub fn from_bytes(material: &[u8]) -> Result<Self, PiiError> {
        if material.len() != SM4_KEY_LEN + MAC_KEY_LEN {
            return Err(PiiError::Malformed);
        }
        let (sm4_key, mac_key) = material.split_at(SM4_KEY_LEN);
        let cipher = Sm4Gcm::new_from_slice(sm4_key).map_err(|_| PiiError::Malformed)?;
        let mac_key: [u8; MAC_KEY_LEN] = mac_key.try_into().map_err(|_| PiiError::Malformed)?;
        Ok(Self { cipher, mac_key })
    }

    /// Fresh random keys that live only in memory (tests).
    ///
    /// # Errors
    ///
    /// [`PiiError::Random`] if the operating system cannot supply randomness.
    pub fn generate() -> Result<Self, PiiError> {
        Self::from_bytes(&random_material()?)
    }

    /// The deployment's keys from `<state_dir>/pii.key` (SM4 key and HMAC-SM3 key, 48 bytes as
    /// hex), generating the file on first use (never in production, `TONGBAN_MODE=production`).
    ///
    /// # Errors
    ///
    /// [`PiiError::KeyFile`] if the file cannot be read or created, has the wrong size, is
    /// readable by group or others, or is missing in production;
    /// [`PiiError::Random`] if no randomness is available.
    pub fn load_or_create(state_dir: &Path) -> Result<Self, PiiError> {
        let fresh = random_material()?;
        let path = state_dir.join(PII_KEY_FILE);
        let material = keyfile::load_or_create_exact_in(
            keyfile::Mode::from_env(),
            &path,
            SM4_KEY_LEN + MAC_KEY_LEN,
            move || fresh,
        )?;
        Self::from_bytes(&material)
    }

    /// Encrypts `plaintext` bound to `aad` (e.g. the case id, so a sealed value cannot be
    /// moved to another record). Output: version byte ‖ 12-byte nonce ‖ ciphertext ‖ 16-byte tag.
    pub fn seal(&self, plaintext: &str, aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        // Without an entropy source no secure operation is possible at all; the OS RNG does not
        // fail on the platforms tongban runs on, so this is an invariant, not an input error.
        getrandom::fill(&mut nonce).expect("the operating system random number generator failed");
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            // GCM refuses only plaintexts beyond 64 GiB; personal data is a few bytes.
            .expect("SM4-GCM encryption of a short value cannot fail");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(SEAL_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts a value made by [`PiiKeys::seal`] with the same keys and `aad`.
    ///
    /// # Errors
    ///
    /// [`PiiError::Malformed`] for an unknown version or a too-short value;
    /// [`PiiError::Tampered`] if the key, the aad or any byte differs.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<String, PiiError> {
        let (&version, rest) = sealed.split_first().ok_or(PiiError::Malformed)?;
        if version != SEAL_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(PiiError::Malformed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PiiError::Malformed)?;
        let plaintext = self
            .cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| PiiError::Tampered)?;
        String::from_utf8(plaintext).map_err(|_| PiiError::NotText)
    }

    /// Hex HMAC-SM3 of `purpose` ‖ 0x00 ‖ `value`: a stable lookup key (e.g. purpose
    /// `"id_number"`) that reveals nothing without the key. `purpose` separates domains so equal
    /// values of different kinds do not collide; it must not contain a NUL byte.
    pub fn digest(&self, purpose: &str, value: &str) -> String {
        let mut mac = <HmacSm3 as KeyInit>::new_from_slice(&self.mac_key)
            // HMAC accepts keys of any length.
            .expect("HMAC accepts a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        keyfile::hex_encode(&mac.finalize().into_bytes())
    }
}

fn random_material() -> Result<Vec<u8>, PiiError> {
    let mut material = vec![0u8; SM4_KEY_LEN + MAC_KEY_LEN];
    getrandom::fill(&mut material).map_err(PiiError::Random)?;
    Ok(material)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_nothing() {
        let keys = PiiKeys::from_bytes(&[5; 48]).unwrap();
        assert_eq!(format!("{keys:?}"), "PiiKeys { .. }");
    }

    #[test]
    fn wrong_key_length_is_rejected() {
        assert!(matches!(
            PiiKeys::from_bytes(&[0; 47]),
            Err(PiiError::Malformed)
        ));
    }
}
