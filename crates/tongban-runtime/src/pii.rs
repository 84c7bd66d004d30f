//! Personal data (身份证号, 手机号) encrypted at rest and looked up by keyed hash (DESIGN §8).
//!
//! Sealing uses SM4-GCM (国密 SM4 block cipher in Galois/Counter Mode) with a random 96-bit
//! nonce; lookups use HMAC-SM3, so a stolen database alone reveals neither the values nor a way
//! to test guesses against the lookup column. The keys are generated per deployment into the
//! state directory.
//!
//! A sealed value names the key that sealed it (version 2: a 4-byte key id, the first bytes of
//! SM3 of the SM4 key), so the sealing key can be rotated: move `pii.key` into
//! `pii-retired/<any name>.key` (mode 0600) and write a new `pii.key` whose SM4 half (the first
//! 32 hex digits) is fresh and whose HMAC half (the last 64) is the old one's — lookup digests
//! stay valid. New values are sealed with the new key; values sealed with a retired key still
//! open. Values of version 1 (no key id, sealed before key ids existed) open with the current
//! key or, after a rotation, with a retired one.

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

/// Format version of sealed values (first byte): version ‖ key id ‖ nonce ‖ ciphertext ‖ tag.
const SEAL_VERSION: u8 = 2;
/// The first format: version ‖ nonce ‖ ciphertext ‖ tag, no key id (still opened).
const SEAL_VERSION_UNNAMED: u8 = 1;
/// Length of the key id in a sealed value.
const KEY_ID_LEN: usize = 4;
/// Directory (in the state directory) of retired sealing keys, which still open old values.
const RETIRED_DIR: &str = "pii-retired";
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
    /// The value names a key that is neither current nor retired (`pii-retired/`).
    #[error(
        "密文所用密钥 {0} 不在当前或已退役密钥中 / sealed with key {0}, which is neither current nor retired"
    )]
    UnknownKey(String),
    /// The plaintext is not UTF-8 (cannot happen for values sealed by [`PiiKeys::seal`]).
    #[error("解密结果不是有效文本 / unsealed value is not UTF-8")]
    NotText,
}

/// The deployment's personal-data keys: an SM4 key for sealing (and retired ones that still
/// open old values) and an HMAC-SM3 key for lookups.
pub struct PiiKeys {
    current: SealKey,
    retired: Vec<SealKey>,
    mac_key: [u8; MAC_KEY_LEN],
}

/// One SM4 sealing key and its id.
struct SealKey {
    id: [u8; KEY_ID_LEN],
    cipher: Sm4Gcm,
}

impl SealKey {
    fn new(sm4_key: &[u8]) -> Result<Self, PiiError> {
        let cipher = Sm4Gcm::new_from_slice(sm4_key).map_err(|_| PiiError::Malformed)?;
        let digest = <Sm3 as sm3::Digest>::digest(sm4_key);
        let id: [u8; KEY_ID_LEN] = digest
            .get(..KEY_ID_LEN)
            .and_then(|id| id.try_into().ok())
            .ok_or(PiiError::Malformed)?;
        Ok(Self { id, cipher })
    }

    fn decrypt(&self, nonce: &[u8], ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>, PiiError> {
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PiiError::Malformed)?;
        self.cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| PiiError::Tampered)
    }
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
        let mac_key: [u8; MAC_KEY_LEN] = mac_key.try_into().map_err(|_| PiiError::Malformed)?;
        Ok(Self {
            current: SealKey::new(sm4_key)?,
            retired: Vec::new(),
            mac_key,
        })
    }

    /// These keys, also opening values sealed with the SM4 half of each of `retired` (48-byte
    /// key materials, as in `pii.key`; their HMAC halves are not used).
    ///
    /// # Errors
    ///
    /// [`PiiError::Malformed`] if a material is not exactly 48 bytes.
    pub fn with_retired(mut self, retired: &[Vec<u8>]) -> Result<Self, PiiError> {
        for material in retired {
            if material.len() != SM4_KEY_LEN + MAC_KEY_LEN {
                return Err(PiiError::Malformed);
            }
            let sm4_key = material.get(..SM4_KEY_LEN).ok_or(PiiError::Malformed)?;
            self.retired.push(SealKey::new(sm4_key)?);
        }
        Ok(self)
    }

    /// Hex id of the current sealing key (what new sealed values name).
    #[must_use]
    pub fn key_id(&self) -> String {
        keyfile::hex_encode(&self.current.id)
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
        Self::from_bytes(&material)?.with_retired(&retired_materials(state_dir)?)
    }

    /// Encrypts `plaintext` bound to `aad` (e.g. the case id, so a sealed value cannot be
    /// moved to another record). Output: version byte (2) ‖ 4-byte key id ‖ 12-byte nonce ‖
    /// ciphertext ‖ 16-byte tag.
    pub fn seal(&self, plaintext: &str, aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        // Without an entropy source no secure operation is possible at all; the OS RNG does not
        // fail on the platforms tongban runs on, so this is an invariant, not an input error.
        getrandom::fill(&mut nonce).expect("the operating system random number generator failed");
        let ciphertext = self
            .current
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
        let mut sealed = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + ciphertext.len());
        sealed.push(SEAL_VERSION);
        sealed.extend_from_slice(&self.current.id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts a value made by [`PiiKeys::seal`] with the same keys and `aad`: with the key it
    /// names, or for a value of the first format (no key id) the current key, then the retired
    /// ones.
    ///
    /// # Errors
    ///
    /// [`PiiError::Malformed`] for an unknown version or a too-short value;
    /// [`PiiError::UnknownKey`] for a key that is neither current nor retired;
    /// [`PiiError::Tampered`] if the key, the aad or any byte differs.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<String, PiiError> {
        let (&version, rest) = sealed.split_first().ok_or(PiiError::Malformed)?;
        let plaintext = match version {
            SEAL_VERSION if rest.len() >= KEY_ID_LEN + NONCE_LEN + TAG_LEN => {
                let (id, rest) = rest.split_at(KEY_ID_LEN);
                let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
                let key = std::iter::once(&self.current)
                    .chain(&self.retired)
                    .find(|key| key.id == id)
                    .ok_or_else(|| PiiError::UnknownKey(keyfile::hex_encode(id)))?;
                key.decrypt(nonce, ciphertext, aad)?
            }
            SEAL_VERSION_UNNAMED if rest.len() >= NONCE_LEN + TAG_LEN => {
                let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
                std::iter::once(&self.current)
                    .chain(&self.retired)
                    .find_map(|key| key.decrypt(nonce, ciphertext, aad).ok())
                    .ok_or(PiiError::Tampered)?
            }
            _ => return Err(PiiError::Malformed),
        };
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

/// The key materials in `<state_dir>/pii-retired/*.key`, in name order (none when the
/// directory does not exist). Each must be private (0600) like every key file.
fn retired_materials(state_dir: &Path) -> Result<Vec<Vec<u8>>, PiiError> {
    let dir = state_dir.join(RETIRED_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(PiiError::KeyFile(KeyFileError::Io { path: dir, source })),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| {
            PiiError::KeyFile(KeyFileError::Io {
                path: dir.clone(),
                source,
            })
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "key") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|path| {
            // The file exists: production mode makes sure nothing is created in its place.
            keyfile::load_or_create_exact_in(
                keyfile::Mode::Production,
                path,
                SM4_KEY_LEN + MAC_KEY_LEN,
                Vec::new,
            )
            .map_err(PiiError::from)
        })
        .collect()
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

    /// A value in the first format (no key id), as sealed before key ids existed.
    fn seal_unnamed(keys: &PiiKeys, plaintext: &str, aad: &[u8]) -> Vec<u8> {
        let nonce = [7u8; NONCE_LEN];
        let ciphertext = keys
            .current
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .unwrap();
        let mut sealed = vec![SEAL_VERSION_UNNAMED];
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    #[test]
    fn values_without_a_key_id_still_open_before_and_after_a_rotation() {
        let old_material = [3u8; 48];
        let old = PiiKeys::from_bytes(&old_material).unwrap();
        let sealed = seal_unnamed(&old, "11010519491231002X", b"case-1");
        assert_eq!(old.open(&sealed, b"case-1").unwrap(), "11010519491231002X");
        let rotated = PiiKeys::from_bytes(&[4u8; 48])
            .unwrap()
            .with_retired(&[old_material.to_vec()])
            .unwrap();
        assert_eq!(
            rotated.open(&sealed, b"case-1").unwrap(),
            "11010519491231002X"
        );
        assert!(matches!(
            rotated.open(&sealed, b"case-2"),
            Err(PiiError::Tampered)
        ));
        let stranger = PiiKeys::from_bytes(&[4u8; 48]).unwrap();
        assert!(matches!(
            stranger.open(&sealed, b"case-1"),
            Err(PiiError::Tampered)
        ));
    }

    #[test]
    fn wrong_key_length_is_rejected() {
        assert!(matches!(
            PiiKeys::from_bytes(&[0; 47]),
            Err(PiiError::Malformed)
        ));
    }
}
