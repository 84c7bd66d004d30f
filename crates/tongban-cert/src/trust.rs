//! 证照互信: every province has a root key (省级根) that endorses its issuers' public keys; the
//! trust list of all provinces' roots and issuers is what every verifier checks against.
//!
//! An endorsement is the root's SM2 signature over [`endorsement_message`]. The list accepts
//! an issuer only if its province's root is in the list and the endorsement verifies, so a
//! tampered row in storage drops out of the list rather than being trusted (fail closed).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tongban_domain::validate::CreditCode;

use crate::keys::{KeyId, KeyPair, PublicKey};

/// Owner name of a province's root key (`root-64`).
pub fn root_owner(province: &str) -> String {
    format!("root-{province}")
}

/// A province's root of trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Two-digit province code (`64` 宁夏).
    pub province: String,
    /// The root key's id.
    pub key_id: KeyId,
    /// The root's public key.
    pub public_key: PublicKey,
}

/// An issuing office's key as endorsed by its province's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// Directory id of the office (`640100-minzheng`).
    pub office_id: String,
    /// 颁发机构名称.
    pub name: String,
    /// 颁发机构统一社会信用代码 (part of every identifier it issues).
    pub credit_code: CreditCode,
    /// Two-digit province code.
    pub province: String,
    /// The key's id (carried in every token it signs).
    pub key_id: KeyId,
    /// The office's public key.
    pub public_key: PublicKey,
    /// `None` for the office's current key; for a rotated-out key, the moment its last
    /// certificate expires, after which it no longer verifies anything.
    pub valid_until: Option<DateTime<Utc>>,
    /// `None` for the office's current key; for a rotated-out key, the moment it stopped
    /// signing (密钥轮换): a certificate it claims to have issued later is refused.
    pub retired_at: Option<DateTime<Utc>>,
    /// The root's signature over [`endorsement_message`].
    pub root_signature: Vec<u8>,
}

impl Issuer {
    /// Whether the key may vouch for a certificate at `now`.
    pub fn is_current_at(&self, now: DateTime<Utc>) -> bool {
        self.valid_until.is_none_or(|until| now <= until)
    }
}

/// The bytes a root signs to endorse `issuer` (everything but the signature itself).
///
/// A key with a retirement moment is endorsed with version 2 of the message, which adds it;
/// every other key keeps version 1, so endorsements stored before there was a retirement
/// moment still verify (and a retirement cannot be stripped: the v1 message of a retired key
/// is not what its root signed).
pub fn endorsement_message(issuer: &Issuer) -> Vec<u8> {
    let until = issuer
        .valid_until
        .map_or_else(|| "-".to_owned(), |t| t.timestamp().to_string());
    let version = if issuer.retired_at.is_some() { 2 } else { 1 };
    let mut message = format!(
        "tongban-issuer-endorsement-v{version}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        issuer.office_id,
        issuer.name,
        issuer.credit_code,
        issuer.province,
        issuer.key_id,
        issuer.public_key.to_hex(),
        until
    );
    if let Some(retired) = issuer.retired_at {
        message.push('\n');
        message.push_str(&retired.timestamp().to_string());
    }
    message.into_bytes()
}

/// Signs `issuer` with `root` (replacing its `root_signature`).
pub fn endorse(root: &KeyPair, issuer: &mut Issuer) {
    issuer.root_signature = root.sign(&endorsement_message(issuer)).to_vec();
}

/// The trust list: roots by province, endorsed issuers by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustList {
    roots: BTreeMap<String, Root>,
    issuers: BTreeMap<KeyId, Issuer>,
}

impl TrustList {
    /// Builds the list from stored roots and issuers. Issuers whose province has no root or
    /// whose endorsement does not verify are left out and returned as the second value.
    pub fn new(roots: Vec<Root>, issuers: Vec<Issuer>) -> (Self, Vec<KeyId>) {
        let mut list = Self {
            roots: roots.into_iter().map(|r| (r.province.clone(), r)).collect(),
            issuers: BTreeMap::new(),
        };
        let mut rejected = Vec::new();
        for issuer in issuers {
            if let Err(id) = list.add_issuer(issuer) {
                rejected.push(id);
            }
        }
        (list, rejected)
    }

    /// Adds a root (replacing the province's previous one). Issuers of the province that the
    /// new root does not endorse leave the list (returned): a trust decision made under the
    /// old root does not outlive it.
    pub fn add_root(&mut self, root: Root) -> Vec<KeyId> {
        let province = root.province.clone();
        self.roots.insert(province.clone(), root);
        let stale: Vec<KeyId> = self
            .issuers
            .values()
            .filter(|i| i.province == province && !self.endorses(i))
            .map(|i| i.key_id.clone())
            .collect();
        for key_id in &stale {
            self.issuers.remove(key_id);
        }
        stale
    }

    /// Whether `issuer`'s province root is in the list and its endorsement verifies.
    fn endorses(&self, issuer: &Issuer) -> bool {
        self.roots.get(&issuer.province).is_some_and(|root| {
            root.public_key
                .verifies(&endorsement_message(issuer), &issuer.root_signature)
        })
    }

    /// Adds an issuer if its province's root endorses it.
    ///
    /// # Errors
    /// The issuer's key id when it is not endorsed.
    pub fn add_issuer(&mut self, issuer: Issuer) -> Result<(), KeyId> {
        if self.endorses(&issuer) {
            self.issuers.insert(issuer.key_id.clone(), issuer);
            Ok(())
        } else {
            Err(issuer.key_id)
        }
    }

    /// The endorsed issuer with key `key_id`.
    pub fn issuer(&self, key_id: &KeyId) -> Option<&Issuer> {
        self.issuers.get(key_id)
    }

    /// Every root, by province.
    pub fn roots(&self) -> impl Iterator<Item = &Root> {
        self.roots.values()
    }

    /// Every endorsed issuer, by key id.
    pub fn issuers(&self) -> impl Iterator<Item = &Issuer> {
        self.issuers.values()
    }
}
