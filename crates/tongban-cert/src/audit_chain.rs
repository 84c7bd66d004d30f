//! 审计链 (tamper-evident audit trail): the hash chain over a service's audit entries, its signed
//! checkpoints, and the verification an auditor runs offline. Pure: no I/O.
//!
//! Each entry is linked to the one before it: `hash(n) = SM3(hash(n-1) ‖ canonical(entry n))`,
//! with `hash(0)` = 32 zero bytes ([`GENESIS`]). The canonical encoding ([`canonical`]) is a
//! fixed sequence of length-prefixed fields, so no two different entries encode alike. A
//! checkpoint (检查点) is the chain's sequence number and head hash at a moment, signed with
//! the service's SM2 key ([`checkpoint_message`]). [`verify`] recomputes the chain from the
//! entries a service hands out and names the first entry that was altered or is missing.

use std::fmt;

use sm3::{Digest as _, Sm3};

use crate::keys::{KeyPair, PublicKey};

/// Size of a chain hash (SM3), in bytes.
pub const HASH_LEN: usize = 32;
/// The hash before the first entry.
pub const GENESIS: [u8; HASH_LEN] = [0u8; HASH_LEN];
/// Domain separation of an entry's encoding (version 1).
const ENTRY_TAG: &[u8] = b"tongban.audit.entry.v1";
/// Domain separation of a checkpoint's signed message (version 1).
const CHECKPOINT_TAG: &[u8] = b"tongban.audit.checkpoint.v1";

/// One audit entry as the chain sees it: every column of the audit log, in its chain position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChainEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// The audit log row id.
    pub audit_id: i64,
    /// When the step happened, microseconds since the Unix epoch (UTC).
    pub at_micros: i64,
    /// Who.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// Their office.
    pub office_id: String,
    /// What was done (`case.claim`).
    pub action: String,
    /// Kind of thing changed.
    pub entity: String,
    /// Its id.
    pub entity_id: String,
    /// The case the step was on (empty when none).
    pub case_id: String,
    /// State before as JSON text (empty when none).
    pub before: String,
    /// State after as JSON text (empty when none).
    pub after: String,
}

/// The canonical encoding of `entry`: a tag, then each field length-prefixed (u32, big-endian)
/// in a fixed order. The chain position (`seq`) and row id are part of it, so moving an entry
/// changes its hash too.
#[must_use]
pub fn canonical(entry: &ChainEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + entry.before.len() + entry.after.len());
    field(&mut out, ENTRY_TAG);
    field(&mut out, &entry.seq.to_be_bytes());
    field(&mut out, &entry.audit_id.to_be_bytes());
    field(&mut out, &entry.at_micros.to_be_bytes());
    for text in [
        &entry.actor,
        &entry.role,
        &entry.office_id,
        &entry.action,
        &entry.entity,
        &entry.entity_id,
        &entry.case_id,
        &entry.before,
        &entry.after,
    ] {
        field(&mut out, text.as_bytes());
    }
    out
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    // An entry field longer than 4 GiB cannot come out of PostgreSQL (1 GiB limit); saturate
    // rather than wrap all the same.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The hash of `entry` following `previous`.
#[must_use]
pub fn link(previous: &[u8; HASH_LEN], entry: &ChainEntry) -> [u8; HASH_LEN] {
    let mut digest = Sm3::new();
    digest.update(previous);
    digest.update(canonical(entry));
    digest.finalize().into()
}

/// A signed checkpoint of one service's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The service (`intake`).
    pub service: String,
    /// The last entry covered.
    pub seq: i64,
    /// The chain hash of that entry.
    pub head_hash: [u8; HASH_LEN],
    /// When it was signed, microseconds since the Unix epoch.
    pub at_micros: i64,
    /// The signing key's id (`audit-intake.1f0c…`).
    pub key_id: String,
    /// The signing key's public half, SEC1 hex.
    pub public_key: String,
    /// SM2 signature (r ‖ s) over [`checkpoint_message`].
    pub signature: Vec<u8>,
}

/// The bytes a checkpoint's signature covers.
#[must_use]
pub fn checkpoint_message(
    service: &str,
    seq: i64,
    head_hash: &[u8; HASH_LEN],
    at_micros: i64,
    key_id: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    field(&mut out, CHECKPOINT_TAG);
    field(&mut out, service.as_bytes());
    field(&mut out, &seq.to_be_bytes());
    field(&mut out, head_hash);
    field(&mut out, &at_micros.to_be_bytes());
    field(&mut out, key_id.as_bytes());
    out
}

/// Signs a checkpoint of `service` at `seq` / `head_hash` with `key`.
#[must_use]
pub fn sign_checkpoint(
    key: &KeyPair,
    service: &str,
    seq: i64,
    head_hash: [u8; HASH_LEN],
    at_micros: i64,
) -> Checkpoint {
    let key_id = key.id().as_str().to_owned();
    let signature = key
        .sign(&checkpoint_message(
            service, seq, &head_hash, at_micros, &key_id,
        ))
        .to_vec();
    Checkpoint {
        service: service.to_owned(),
        seq,
        head_hash,
        at_micros,
        key_id,
        public_key: key.public().to_hex(),
        signature,
    }
}

/// An entry as a service hands it out for verification: the chain's record of it, and the audit
/// row when it still exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The entry as read now (`seq` and `audit_id` from the chain's record).
    pub entry: ChainEntry,
    /// The hash the chainer stored for it.
    pub stored_hash: [u8; HASH_LEN],
    /// False when the chain records the entry but its audit row is gone.
    pub present: bool,
}

/// The first thing wrong with a chain, in chain order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Entry `seq` was changed after it was chained: its hash no longer matches.
    Altered {
        /// Chain position.
        seq: i64,
        /// Audit row id.
        audit_id: i64,
    },
    /// Entry `seq` is missing: its audit row was deleted (`audit_id` known), or the chain skips
    /// the position altogether (`audit_id` `None`).
    Missing {
        /// Chain position.
        seq: i64,
        /// Audit row id, when the chain still records it.
        audit_id: Option<i64>,
    },
    /// The stored hashes were rewritten to match an altered entry, but the signed checkpoint at
    /// `checkpoint_seq` disagrees: an entry after `from_seq` (the previous good checkpoint) up to
    /// `checkpoint_seq` was changed.
    CheckpointMismatch {
        /// First position that may have been changed.
        from_seq: i64,
        /// The checkpoint that disagrees.
        checkpoint_seq: i64,
    },
    /// A checkpoint's signature does not verify with the pinned (or its own) key.
    BadSignature {
        /// The checkpoint's position.
        checkpoint_seq: i64,
    },
    /// A checkpoint is signed by a key other than the pinned one.
    UnknownKey {
        /// The checkpoint's position.
        checkpoint_seq: i64,
        /// The key id it names.
        key_id: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Altered { seq, audit_id } => write!(
                f,
                "第 {seq} 条审计记录（记录号 {audit_id}）已被篡改 / audit entry {seq} (row {audit_id}) was altered"
            ),
            Finding::Missing {
                seq,
                audit_id: Some(id),
            } => write!(
                f,
                "第 {seq} 条审计记录（记录号 {id}）已被删除 / audit entry {seq} (row {id}) is missing"
            ),
            Finding::Missing {
                seq,
                audit_id: None,
            } => write!(
                f,
                "审计链缺少第 {seq} 条记录 / audit entry {seq} is missing from the chain"
            ),
            Finding::CheckpointMismatch {
                from_seq,
                checkpoint_seq,
            } => write!(
                f,
                "第 {from_seq}–{checkpoint_seq} 条审计记录与已签名检查点不符 / audit entries {from_seq}–{checkpoint_seq} disagree with the signed checkpoint"
            ),
            Finding::BadSignature { checkpoint_seq } => write!(
                f,
                "第 {checkpoint_seq} 条处的检查点签名无效 / the checkpoint at entry {checkpoint_seq} has an invalid signature"
            ),
            Finding::UnknownKey {
                checkpoint_seq,
                key_id,
            } => write!(
                f,
                "第 {checkpoint_seq} 条处的检查点由未固定的密钥 {key_id} 签名 / the checkpoint at entry {checkpoint_seq} is signed by key {key_id}, not the pinned one"
            ),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Entries checked.
    pub entries: usize,
    /// Checkpoints whose signature verified and whose head matched.
    pub checkpoints_ok: usize,
    /// The last position a good checkpoint covers (0 when none).
    pub sealed_seq: i64,
    /// The first problem, in chain order; `None` when the chain is intact.
    pub finding: Option<Finding>,
}

/// Recomputes the chain over `entries` (every entry of one service, in `seq` order from 1) and
/// checks it against `checkpoints`: every checkpoint's signature (with `pinned` when given, else
/// with the key it carries) and head hash. Names the first entry altered or missing.
///
/// Entries after the last checkpoint are checked against their stored hashes only: until a
/// checkpoint seals them, a rewrite of both entry and stored hash cannot be told apart.
#[must_use]
pub fn verify(
    entries: &[StoredEntry],
    checkpoints: &[Checkpoint],
    pinned: Option<&PublicKey>,
) -> Report {
    let mut checkpoints: Vec<&Checkpoint> = checkpoints.iter().collect();
    checkpoints.sort_by_key(|c| c.seq);
    let mut report = Report {
        entries: 0,
        checkpoints_ok: 0,
        sealed_seq: 0,
        finding: None,
    };
    // Signatures first: a forged checkpoint proves nothing about the entries.
    for checkpoint in &checkpoints {
        if let Some(finding) = check_signature(checkpoint, pinned) {
            report.finding = Some(finding);
            return report;
        }
    }
    let mut next_checkpoint = checkpoints.iter().peekable();
    let mut previous = GENESIS;
    let mut expected = 1_i64;
    let mut last_good_checkpoint = 0_i64;
    for stored in entries {
        let entry = &stored.entry;
        if entry.seq != expected {
            report.finding = Some(Finding::Missing {
                seq: expected,
                audit_id: None,
            });
            return report;
        }
        if !stored.present {
            report.finding = Some(Finding::Missing {
                seq: entry.seq,
                audit_id: Some(entry.audit_id),
            });
            return report;
        }
        let hash = link(&previous, entry);
        if hash != stored.stored_hash {
            report.finding = Some(Finding::Altered {
                seq: entry.seq,
                audit_id: entry.audit_id,
            });
            return report;
        }
        report.entries += 1;
        while let Some(checkpoint) = next_checkpoint.next_if(|c| c.seq <= entry.seq) {
            if checkpoint.seq == entry.seq && checkpoint.head_hash != hash {
                report.finding = Some(Finding::CheckpointMismatch {
                    from_seq: last_good_checkpoint + 1,
                    checkpoint_seq: checkpoint.seq,
                });
                return report;
            }
            last_good_checkpoint = checkpoint.seq;
            report.checkpoints_ok += 1;
            report.sealed_seq = checkpoint.seq;
        }
        previous = hash;
        expected += 1;
    }
    // A checkpoint beyond the last entry: the tail of the chain was removed.
    if next_checkpoint.peek().is_some() {
        report.finding = Some(Finding::Missing {
            seq: expected,
            audit_id: None,
        });
    }
    report
}

fn check_signature(checkpoint: &Checkpoint, pinned: Option<&PublicKey>) -> Option<Finding> {
    let carried = PublicKey::from_hex(&checkpoint.public_key).ok();
    let key = match (pinned, carried) {
        (Some(pinned), Some(carried)) if *pinned != carried => {
            return Some(Finding::UnknownKey {
                checkpoint_seq: checkpoint.seq,
                key_id: checkpoint.key_id.clone(),
            });
        }
        (Some(pinned), _) => pinned.clone(),
        (None, Some(carried)) => carried,
        (None, None) => {
            return Some(Finding::BadSignature {
                checkpoint_seq: checkpoint.seq,
            });
        }
    };
    let message = checkpoint_message(
        &checkpoint.service,
        checkpoint.seq,
        &checkpoint.head_hash,
        checkpoint.at_micros,
        &checkpoint.key_id,
    );
    (!key.verifies(&message, &checkpoint.signature)).then_some(Finding::BadSignature {
        checkpoint_seq: checkpoint.seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyPair {
        let secret = KeyPair::generate_secret().unwrap();
        KeyPair::from_secret("audit-intake", &secret).unwrap()
    }

    fn entry(seq: i64) -> ChainEntry {
        ChainEntry {
            seq,
            audit_id: seq * 10,
            at_micros: 1_700_000_000_000_000 + seq,
            actor: "clerk".into(),
            role: "clerk".into(),
            office_id: "140922-zwfw".into(),
            action: "case.submit".into(),
            entity: "case".into(),
            entity_id: format!("case-{seq}"),
            case_id: String::new(),
            before: String::new(),
            after: format!("{{\"status\":\"s{seq}\"}}"),
        }
    }

    /// A chain of `n` entries with their stored hashes, and a checkpoint after each `every`.
    fn chain(n: i64, every: i64, key: &KeyPair) -> (Vec<StoredEntry>, Vec<Checkpoint>) {
        let mut previous = GENESIS;
        let mut entries = Vec::new();
        let mut checkpoints = Vec::new();
        for seq in 1..=n {
            let e = entry(seq);
            previous = link(&previous, &e);
            entries.push(StoredEntry {
                entry: e,
                stored_hash: previous,
                present: true,
            });
            if seq % every == 0 {
                checkpoints.push(sign_checkpoint(key, "intake", seq, previous, seq));
            }
        }
        (entries, checkpoints)
    }

    #[test]
    fn encoding_is_unambiguous() {
        let mut a = entry(1);
        let mut b = entry(1);
        a.actor = "ab".into();
        a.role = "c".into();
        b.actor = "a".into();
        b.role = "bc".into();
        assert_ne!(canonical(&a), canonical(&b));
        assert_ne!(link(&GENESIS, &a), link(&GENESIS, &b));
        assert_eq!(link(&GENESIS, &a), link(&GENESIS, &a.clone()));
    }

    #[test]
    fn an_intact_chain_verifies() {
        let key = key();
        let (entries, checkpoints) = chain(7, 3, &key);
        let report = verify(&entries, &checkpoints, Some(&key.public()));
        assert_eq!(report.finding, None);
        assert_eq!(report.entries, 7);
        assert_eq!(report.checkpoints_ok, 2);
        assert_eq!(report.sealed_seq, 6);
    }

    #[test]
    fn an_altered_entry_is_named() {
        let key = key();
        let (mut entries, checkpoints) = chain(7, 3, &key);
        entries[4].entry.after = "{\"status\":\"forged\"}".into();
        let report = verify(&entries, &checkpoints, None);
        assert_eq!(
            report.finding,
            Some(Finding::Altered {
                seq: 5,
                audit_id: 50
            })
        );
        assert_eq!(report.sealed_seq, 3);
    }

    #[test]
    fn rewritten_hashes_are_caught_by_the_checkpoint() {
        let key = key();
        let (mut entries, checkpoints) = chain(7, 3, &key);
        entries[4].entry.after = "{\"status\":\"forged\"}".into();
        // The forger recomputes every stored hash from the altered entry on.
        let mut previous = entries[3].stored_hash;
        for stored in &mut entries[4..] {
            previous = link(&previous, &stored.entry);
            stored.stored_hash = previous;
        }
        let report = verify(&entries, &checkpoints, Some(&key.public()));
        assert_eq!(
            report.finding,
            Some(Finding::CheckpointMismatch {
                from_seq: 4,
                checkpoint_seq: 6
            })
        );
    }

    #[test]
    fn deleted_rows_and_gaps_are_named() {
        let key = key();
        let (mut entries, checkpoints) = chain(7, 3, &key);
        entries[2].present = false;
        assert_eq!(
            verify(&entries, &checkpoints, None).finding,
            Some(Finding::Missing {
                seq: 3,
                audit_id: Some(30)
            })
        );
        let (mut entries, _) = chain(7, 3, &key);
        entries.remove(3);
        assert_eq!(
            verify(&entries, &checkpoints, None).finding,
            Some(Finding::Missing {
                seq: 4,
                audit_id: None
            })
        );
        let (mut entries, _) = chain(7, 3, &key);
        entries.truncate(5);
        assert_eq!(
            verify(&entries, &checkpoints, None).finding,
            Some(Finding::Missing {
                seq: 6,
                audit_id: None
            })
        );
    }

    #[test]
    fn checkpoint_signatures_are_checked() {
        let key = key();
        let (entries, mut checkpoints) = chain(6, 3, &key);
        checkpoints[1].at_micros += 1;
        assert_eq!(
            verify(&entries, &checkpoints, None).finding,
            Some(Finding::BadSignature { checkpoint_seq: 6 })
        );
        let (_, checkpoints) = chain(6, 3, &key);
        let other = self::key();
        assert!(matches!(
            verify(&entries, &checkpoints, Some(&other.public())).finding,
            Some(Finding::UnknownKey {
                checkpoint_seq: 3,
                ..
            })
        ));
        // A forger's own key carried in a checkpoint is refused once the real key is pinned.
        let (_, forged) = chain(6, 3, &other);
        assert!(verify(&entries, &forged, None).finding.is_none());
        assert!(matches!(
            verify(&entries, &forged, Some(&key.public())).finding,
            Some(Finding::UnknownKey { .. })
        ));
    }
}
