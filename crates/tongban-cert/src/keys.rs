//! SM2 key pairs (SM2 signatures over SM3 digests): one per issuing office (颁发机构) and one
//! root per province (省级根), each known by a key id derived from its public key.

use std::fmt;
use std::sync::{Arc, OnceLock};

use sm2::dsa::signature::Signer as _;
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm3::{Digest as _, Sm3};

use crate::prepared::PreparedKey;

/// The SM2 distinguishing identifier of GB/T 35276 (default user id).
pub const DISTID: &str = "1234567812345678";
/// Size of a secret key, in bytes.
pub const SECRET_LEN: usize = 32;
/// Size of an SM2 signature (r ‖ s), in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// A key id: `<owner>.<16 hex digits of SM3(public key)>` (`640100-minzheng.1f0c…`,
/// `root-64.9a3e…`); at most 100 bytes of `[A-Za-z0-9._-]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Parses a key id's shape.
    ///
    /// # Errors
    /// [`KeyError::KeyId`] for an empty, too long or oddly written id.
    pub fn parse(raw: &str) -> Result<Self, KeyError> {
        let ok = !raw.is_empty()
            && raw.len() <= 100
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(KeyError::KeyId)
        }
    }

    /// The id of `owner`'s key `public`.
    fn derive(owner: &str, public: &VerifyingKey) -> Result<Self, KeyError> {
        let digest = Sm3::digest(public.to_sec1_bytes());
        Self::parse(&format!("{owner}.{}", hex(&digest[..8])))
    }

    /// The id `owner`'s key `public` has (a pinned root's id, from its public key alone).
    ///
    /// # Errors
    /// [`KeyError::KeyId`] when `owner` makes an id of the wrong shape.
    pub fn of(owner: &str, public: &PublicKey) -> Result<Self, KeyError> {
        Self::derive(owner, &public.key)
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyId").field(&self.0).finish()
    }
}

/// Why a key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The secret is not a valid SM2 scalar (wrong length, zero or not below the order).
    #[error("SM2 私钥无效 / SM2 secret key is invalid")]
    Secret,
    /// The public key is not a valid SEC1 point on the SM2 curve.
    #[error("SM2 公钥无效 / SM2 public key is invalid")]
    Public,
    /// A key id that does not have the expected shape.
    #[error("密钥标识无效 / key id is invalid")]
    KeyId,
    /// The system random source failed.
    #[error("无法获取随机数 / random source failed")]
    Random,
}

/// A private SM2 key with its id. `Debug` shows only the id.
#[derive(Clone)]
pub struct KeyPair {
    id: KeyId,
    signing: SigningKey,
}

impl KeyPair {
    /// 32 fresh random bytes that make a valid SM2 secret (to store with
    /// `tongban_runtime::keyfile`).
    ///
    /// # Errors
    /// [`KeyError::Random`] when the system random source fails.
    pub fn generate_secret() -> Result<Vec<u8>, KeyError> {
        loop {
            let mut secret = [0u8; SECRET_LEN];
            getrandom::fill(&mut secret).map_err(|_| KeyError::Random)?;
            // Almost every 256-bit value is below the order; retry on the rare one that is not.
            if SigningKey::from_slice(DISTID, &secret).is_ok() {
                return Ok(secret.to_vec());
            }
        }
    }

    /// The key of `owner` (an office id, or `root-<province>`) with secret `secret`.
    ///
    /// # Errors
    /// [`KeyError::Secret`] when `secret` is not a valid SM2 scalar.
    pub fn from_secret(owner: &str, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() != SECRET_LEN {
            return Err(KeyError::Secret);
        }
        let signing = SigningKey::from_slice(DISTID, secret).map_err(|_| KeyError::Secret)?;
        let id = KeyId::derive(owner, signing.verifying_key())?;
        Ok(Self { id, signing })
    }

    /// The key id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey::new(self.signing.verifying_key().clone())
    }

    /// SM2 signature over the SM3 digest of `message` (with the Z value of GB/T 32918).
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let signature: Signature = self.signing.sign(message);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(&signature.to_bytes());
        out
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A public SM2 key. Its first verification prepares it (Z value, table of multiples, see
/// [`crate::prepared`]); clones share the preparation, so the trust list's few issuer keys
/// are prepared once each.
#[derive(Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    prepared: Arc<OnceLock<PreparedKey>>,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.key.to_sec1_bytes() == other.key.to_sec1_bytes()
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    fn new(key: VerifyingKey) -> Self {
        Self {
            key,
            prepared: Arc::new(OnceLock::new()),
        }
    }

    /// Reads a SEC1 point (uncompressed, 65 bytes, or compressed), as hex.
    ///
    /// # Errors
    /// [`KeyError::Public`] when the text is not hex or not a point on the curve.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = unhex(text).ok_or(KeyError::Public)?;
        VerifyingKey::from_sec1_bytes(DISTID, &bytes)
            .map(Self::new)
            .map_err(|_| KeyError::Public)
    }

    /// The uncompressed SEC1 point, lower-case hex.
    pub fn to_hex(&self) -> String {
        hex(&self.key.to_sec1_bytes())
    }

    /// Whether `signature` (r ‖ s) is this key's SM2 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.prepared
            .get_or_init(|| PreparedKey::new(self.key.as_affine(), &self.key.to_sec1_bytes()))
            .verifies(message, signature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.to_hex()).finish()
    }
}

/// Hex (either case) to bytes; `None` for odd length or a non-hex character.
pub use tongban_domain::hex::decode as unhex;
/// Lower-case hex.
pub use tongban_domain::hex::encode as hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let secret = KeyPair::generate_secret().unwrap();
        let key = KeyPair::from_secret("640100-minzheng", &secret).unwrap();
        assert!(key.id().as_str().starts_with("640100-minzheng."));
        let sig = key.sign(b"hello");
        let public = PublicKey::from_hex(&key.public().to_hex()).unwrap();
        assert!(public.verifies(b"hello", &sig));
        assert!(!public.verifies(b"hellO", &sig));
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(!public.verifies(b"hello", &bad));
        assert!(!public.verifies(b"hello", &sig[..63]));
        assert!(!format!("{key:?}").contains(&hex(&secret)));
        assert_eq!(
            KeyPair::from_secret("x", &secret).unwrap().public(),
            key.public()
        );
        assert!(KeyPair::from_secret("x", &[0u8; 32]).is_err());
    }
}
