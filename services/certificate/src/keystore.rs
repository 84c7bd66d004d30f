//! The deployment's SM2 keys and the trust list: one key per issuing office and one root per
//! province, generated at first use into the state directory (`certificate/issuers/<office>.key`,
//! `certificate/roots/<province>.key`, never committed); the public halves and the roots'
//! endorsements in the `trust_roots` / `trust_issuers` tables. Which roots are trusted is
//! configuration, not data: see [`crate::pins`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tongban_cert::keys::{KeyError, KeyId, KeyPair, PublicKey};
use tongban_cert::trust::{Issuer, Root, TrustList, endorse, root_owner};
use tongban_domain::directory::Office;
use tongban_domain::validate::CreditCode;
use tongban_runtime::keyfile::{self, KeyFileError};

use crate::pins::{self, Pins};

/// Why a key or the trust list could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// A key file could not be read or created.
    #[error("key file")]
    File(#[from] KeyFileError),
    /// A key is not a valid SM2 key.
    #[error("key")]
    Key(#[from] KeyError),
    /// The database failed.
    #[error("database")]
    Db(#[from] sqlx::Error),
    /// The stored root or current key of an office is not the one in the state directory
    /// (the state directory was replaced): refuse to sign rather than issue unverifiable
    /// certificates.
    #[error("the stored key {0} does not match the state directory")]
    Mismatch(String),
    /// The office's division does not give a credit code.
    #[error("office {0} has no usable division")]
    Office(String),
    /// The key file could not be moved into place or removed.
    #[error("key file {0}")]
    Io(String),
    /// A pin file (`trust.toml`) cannot be read or written, or pins two roots for a province.
    #[error("pinned roots: {0}")]
    Pin(String),
    /// Recording a rotation (event, audit) failed.
    #[error("store")]
    Store(#[from] tongban_store::StoreError),
}

/// What a key rotation (密钥轮换) did.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The office's new signing key, endorsed by its province's root.
    pub current: Issuer,
    /// The key it replaced, now verification-only until its `valid_until` (the moment the
    /// last certificate it signed expires); `None` when the office had no key before.
    pub previous: Option<Issuer>,
}

/// Keys and trust list of this deployment.
pub struct Keystore {
    dir: PathBuf,
    /// The pinned roots, and the state directory's pin file new roots are written to.
    pins: std::sync::Mutex<(Pins, PathBuf)>,
    trust: RwLock<TrustList>,
    signers: tokio::sync::Mutex<HashMap<String, Arc<KeyPair>>>,
}

impl Keystore {
    /// Loads the trust list: the roots pinned in `deploy_dir/certificate/trust.toml` and
    /// `state_dir/certificate/trust.toml`, the issuers from the database (each kept only if a
    /// pinned root endorses it); keys in `state_dir/certificate`. A root key in the state
    /// directory that is not pinned yet (a deployment from before pinning) is pinned first.
    ///
    /// # Errors
    /// The database fails, a pin file is unreadable, or a stored key does not parse.
    pub async fn load(
        pool: &PgPool,
        state_dir: PathBuf,
        deploy_dir: &Path,
    ) -> Result<Self, KeystoreError> {
        let dir = state_dir.join("certificate");
        let state_pins = dir.join(pins::FILE);
        let files = [
            deploy_dir.join("certificate").join(pins::FILE),
            state_pins.clone(),
        ];
        let mut pinned = Pins::load(&files)?;
        for (province, key) in own_roots(&dir.join("roots"))? {
            match pinned.root(&province) {
                Some(root) if root.public_key == key.public() => {}
                Some(root) => {
                    return Err(KeystoreError::Mismatch(root.key_id.to_string()));
                }
                None => {
                    pinned.pin(&state_pins, &province, &key.public())?;
                    tracing::info!(%province, key_id = %key.id(), "own root pinned");
                }
            }
        }
        let stored: Vec<(String, String)> =
            sqlx::query_as("SELECT province, public_key FROM trust_roots")
                .fetch_all(pool)
                .await?;
        for (province, public_key) in stored {
            let pinned_here = pinned.root(&province).is_some_and(|r| {
                r.public_key
                    .to_hex()
                    .eq_ignore_ascii_case(public_key.trim())
            });
            if !pinned_here {
                tracing::warn!(%province, "a root in the database is not pinned: not trusted");
            }
        }
        let roots: Vec<Root> = pinned.roots().cloned().collect();
        let rows: Vec<IssuerRow> = sqlx::query_as(
            "SELECT key_id, office_id, name, credit_code, province, public_key, valid_until,
                    retired_at, root_signature
             FROM trust_issuers",
        )
        .fetch_all(pool)
        .await?;
        let issuers = rows
            .into_iter()
            .filter_map(|row| {
                let key_id = row.0.clone();
                let issuer = row.into_issuer();
                if issuer.is_none() {
                    tracing::warn!(%key_id, "unreadable trust list row left out");
                }
                issuer
            })
            .collect();
        let (trust, rejected) = TrustList::new(roots, issuers);
        for key_id in rejected {
            tracing::warn!(%key_id, "issuer not endorsed by its root: left out of the trust list");
        }
        Ok(Self {
            dir,
            pins: std::sync::Mutex::new((pinned, state_pins)),
            trust: RwLock::new(trust),
            signers: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Runs `f` with the trust list.
    pub fn with_trust<T>(&self, f: impl FnOnce(&TrustList) -> T) -> T {
        // A poisoned lock means a writer panicked mid-insert; the map itself stays consistent
        // (BTreeMap insert is all-or-nothing), so reading it is still sound.
        let guard = self
            .trust
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&guard)
    }

    /// The current signing key of `office` and its trust-list entry, created (with its
    /// province's root) on first use.
    ///
    /// # Errors
    /// See [`KeystoreError`]; [`KeystoreError::Mismatch`] also when the key in the state
    /// directory has been rotated out (it verifies, but never signs again).
    pub async fn signer(
        &self,
        pool: &PgPool,
        office: &Office,
    ) -> Result<(Arc<KeyPair>, Issuer), KeystoreError> {
        let mut signers = self.signers.lock().await;
        if let Some(key) = signers.get(&office.id)
            && let Some(issuer) = self.with_trust(|t| t.issuer(key.id()).cloned())
        {
            return Ok((Arc::clone(key), issuer));
        }
        self.finish_pending(pool, &office.id).await?;
        // Drawn before the file is looked at so that a failing random source is an error,
        // never an empty key written to disk; unused when the file exists.
        let fresh = KeyPair::generate_secret()?;
        let secret = keyfile::load_or_create_exact(
            &self.dir.join("issuers").join(format!("{}.key", office.id)),
            tongban_cert::keys::SECRET_LEN,
            || fresh,
        )?;
        let key = Arc::new(KeyPair::from_secret(&office.id, &secret)?);
        let issuer = match self.with_trust(|t| t.issuer(key.id()).cloned()) {
            Some(issuer) if issuer.valid_until.is_some() => {
                return Err(KeystoreError::Mismatch(issuer.key_id.to_string()));
            }
            Some(issuer) => issuer,
            None => self.enroll(pool, office, &key).await?,
        };
        signers.insert(office.id.clone(), Arc::clone(&key));
        Ok((key, issuer))
    }

    /// Path of `office_id`'s current key file.
    fn key_path(&self, office_id: &str) -> PathBuf {
        self.dir.join("issuers").join(format!("{office_id}.key"))
    }

    /// Path of the key a rotation of `office_id` is installing.
    fn pending_path(&self, office_id: &str) -> PathBuf {
        self.dir
            .join("issuers")
            .join(format!("{office_id}.key.next"))
    }

    /// Settles a rotation of `office_id` interrupted between its commit and moving the new
    /// key file into place: the pending key is installed when the database names it the
    /// office's current key, and discarded otherwise (its transaction never committed).
    async fn finish_pending(&self, pool: &PgPool, office_id: &str) -> Result<(), KeystoreError> {
        let pending = self.pending_path(office_id);
        if !pending.exists() {
            return Ok(());
        }
        let secret =
            keyfile::load_or_create_exact(&pending, tongban_cert::keys::SECRET_LEN, || {
                // Only reached if the file vanished since the check; an empty key is refused as
                // the wrong length and nothing is installed.
                Vec::new()
            })?;
        let key = KeyPair::from_secret(office_id, &secret)?;
        let current: Option<(String,)> = sqlx::query_as(
            "SELECT key_id FROM trust_issuers WHERE office_id = $1 AND valid_until IS NULL",
        )
        .bind(office_id)
        .fetch_optional(pool)
        .await?;
        if current.is_some_and(|(id,)| id == key.id().as_str()) {
            std::fs::rename(&pending, self.key_path(office_id))
                .map_err(|err| KeystoreError::Io(err.to_string()))?;
            self.refresh(pool, office_id).await?;
            tracing::info!(office = %office_id, key_id = %key.id(), "interrupted key rotation completed");
        } else {
            std::fs::remove_file(&pending).map_err(|err| KeystoreError::Io(err.to_string()))?;
            tracing::warn!(office = %office_id, "uncommitted key rotation discarded");
        }
        Ok(())
    }

    /// Reloads `office_id`'s trust-list entries from the database.
    async fn refresh(&self, pool: &PgPool, office_id: &str) -> Result<(), KeystoreError> {
        let rows: Vec<IssuerRow> = sqlx::query_as(
            "SELECT key_id, office_id, name, credit_code, province, public_key, valid_until,
                    retired_at, root_signature
             FROM trust_issuers WHERE office_id = $1",
        )
        .bind(office_id)
        .fetch_all(pool)
        .await?;
        let mut trust = self
            .trust
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for issuer in rows.into_iter().filter_map(IntoIssuer::into_issuer) {
            if let Err(key_id) = trust.add_issuer(issuer) {
                tracing::warn!(%key_id, "issuer not endorsed by its root: left out of the trust list");
            }
        }
        Ok(())
    }

    /// 密钥轮换: gives `office` a new signing key endorsed by its province's root. The
    /// previous key is re-endorsed as verification-only until the last certificate it signed
    /// expires (at least `now`). `record` runs inside the same transaction (event, audit);
    /// issuing for the office waits until the rotation is done. The retired private key is
    /// overwritten: only its public half remains, in the trust list.
    ///
    /// # Errors
    /// See [`KeystoreError`]; nothing changes when an error is returned before the commit.
    pub async fn rotate(
        &self,
        pool: &PgPool,
        office: &Office,
        now: DateTime<Utc>,
        record: impl AsyncFnOnce(&mut PgConnection, &Rotation) -> Result<(), tongban_store::StoreError>,
    ) -> Result<Rotation, KeystoreError> {
        let mut signers = self.signers.lock().await;
        self.finish_pending(pool, &office.id).await?;
        let division = office.division.as_str();
        let province = division
            .get(..2)
            .ok_or_else(|| KeystoreError::Office(office.id.clone()))?
            .to_owned();
        let credit_code = tongban_cert::issuer_credit_code(division, &office.id)
            .ok_or_else(|| KeystoreError::Office(office.id.clone()))?;
        let root = self.root(pool, &province).await?;
        let fresh = KeyPair::generate_secret()?;
        let pending = self.pending_path(&office.id);
        let secret =
            keyfile::load_or_create_exact(&pending, tongban_cert::keys::SECRET_LEN, || fresh)?;
        let key = Arc::new(KeyPair::from_secret(&office.id, &secret)?);
        let committed = self
            .commit_rotation(
                pool,
                office,
                (&root, &key),
                (province, credit_code),
                now,
                record,
            )
            .await;
        let rotation = match committed {
            Ok(rotation) => rotation,
            Err(err) => {
                // The transaction rolled back: the pending key must never be installed. (A
                // failed commit whose outcome is unknown is settled by `finish_pending`.)
                if !matches!(err, KeystoreError::Db(_)) {
                    // Best effort: a pending file left behind is discarded by `finish_pending`.
                    let _ = std::fs::remove_file(&pending);
                }
                signers.remove(&office.id);
                return Err(err);
            }
        };
        // The old key must not sign again: until the new one is in place, the next signer
        // look-up goes through `finish_pending`.
        signers.remove(&office.id);
        std::fs::rename(&pending, self.key_path(&office.id))
            .map_err(|err| KeystoreError::Io(err.to_string()))?;
        {
            let mut trust = self
                .trust
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for issuer in rotation.previous.iter().chain([&rotation.current]) {
                trust
                    .add_issuer(issuer.clone())
                    .map_err(|id| KeystoreError::Mismatch(id.to_string()))?;
            }
        }
        signers.insert(office.id.clone(), key);
        tracing::info!(office = %office.id, key_id = %rotation.current.key_id,
            previous = ?rotation.previous.as_ref().map(|p| p.key_id.as_str()), "issuer key rotated");
        Ok(rotation)
    }

    /// The database half of [`Keystore::rotate`], in one transaction.
    async fn commit_rotation(
        &self,
        pool: &PgPool,
        office: &Office,
        (root, key): (&KeyPair, &KeyPair),
        (province, credit_code): (String, CreditCode),
        now: DateTime<Utc>,
        record: impl AsyncFnOnce(&mut PgConnection, &Rotation) -> Result<(), tongban_store::StoreError>,
    ) -> Result<Rotation, KeystoreError> {
        let mut tx = pool.begin().await?;
        // Waits for certificates being issued with the old key (they hold it FOR SHARE), so
        // the latest expiry below counts every one of them.
        let row: Option<IssuerRow> = sqlx::query_as(
            "SELECT key_id, office_id, name, credit_code, province, public_key, valid_until,
                    retired_at, root_signature
             FROM trust_issuers WHERE office_id = $1 AND valid_until IS NULL FOR UPDATE",
        )
        .bind(&office.id)
        .fetch_optional(&mut *tx)
        .await?;
        let previous = match row {
            None => None,
            Some(row) => {
                let key_id = row.0.clone();
                let mut previous = row
                    .into_issuer()
                    .ok_or_else(|| KeystoreError::Mismatch(key_id.clone()))?;
                let (last, last_issued): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
                    sqlx::query_as(
                        "SELECT max(valid_until), max(issued_at) FROM certificates
                         WHERE key_id = $1",
                    )
                    .bind(&key_id)
                    .fetch_one(&mut *tx)
                    .await?;
                previous.valid_until = Some(last.map_or(now, |last| last.max(now)));
                // Retired now, or at the latest certificate it signed if that is later (an
                // issue that took its lock before this rotation may carry a later clock).
                previous.retired_at = Some(last_issued.map_or(now, |last| last.max(now)));
                endorse(root, &mut previous);
                sqlx::query(
                    "UPDATE trust_issuers SET valid_until = $2, retired_at = $4,
                         root_signature = $3
                     WHERE key_id = $1",
                )
                .bind(&key_id)
                .bind(previous.valid_until)
                .bind(&previous.root_signature)
                .bind(previous.retired_at)
                .execute(&mut *tx)
                .await?;
                Some(previous)
            }
        };
        let mut current = Issuer {
            office_id: office.id.clone(),
            name: office.name.clone(),
            credit_code,
            province,
            key_id: key.id().clone(),
            public_key: key.public(),
            valid_until: None,
            retired_at: None,
            root_signature: Vec::new(),
        };
        endorse(root, &mut current);
        sqlx::query(
            "INSERT INTO trust_issuers
                 (key_id, office_id, name, credit_code, province, public_key, root_signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(current.key_id.as_str())
        .bind(&current.office_id)
        .bind(&current.name)
        .bind(current.credit_code.as_str())
        .bind(&current.province)
        .bind(current.public_key.to_hex())
        .bind(&current.root_signature)
        .execute(&mut *tx)
        .await?;
        let rotation = Rotation { current, previous };
        record(&mut tx, &rotation).await?;
        tx.commit().await?;
        Ok(rotation)
    }

    /// Endorses `key` as `office`'s current key with its province's root and stores it.
    async fn enroll(
        &self,
        pool: &PgPool,
        office: &Office,
        key: &KeyPair,
    ) -> Result<Issuer, KeystoreError> {
        let division = office.division.as_str();
        let province = division[..2].to_owned();
        let root = self.root(pool, &province).await?;
        let credit_code = tongban_cert::issuer_credit_code(division, &office.id)
            .ok_or_else(|| KeystoreError::Office(office.id.clone()))?;
        let mut issuer = Issuer {
            office_id: office.id.clone(),
            name: office.name.clone(),
            credit_code,
            province,
            key_id: key.id().clone(),
            public_key: key.public(),
            valid_until: None,
            retired_at: None,
            root_signature: Vec::new(),
        };
        endorse(&root, &mut issuer);
        let inserted = sqlx::query(
            "INSERT INTO trust_issuers
                 (key_id, office_id, name, credit_code, province, public_key, root_signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING",
        )
        .bind(issuer.key_id.as_str())
        .bind(&issuer.office_id)
        .bind(&issuer.name)
        .bind(issuer.credit_code.as_str())
        .bind(&issuer.province)
        .bind(issuer.public_key.to_hex())
        .bind(&issuer.root_signature)
        .execute(pool)
        .await?;
        if inserted.rows_affected() == 0 {
            let stored: Option<(String,)> = sqlx::query_as(
                "SELECT key_id FROM trust_issuers WHERE office_id = $1 AND valid_until IS NULL",
            )
            .bind(&office.id)
            .fetch_optional(pool)
            .await?;
            if stored.is_none_or(|(id,)| id != issuer.key_id.as_str()) {
                return Err(KeystoreError::Mismatch(issuer.key_id.to_string()));
            }
        }
        let mut trust = self
            .trust
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        trust
            .add_issuer(issuer.clone())
            .map_err(|id| KeystoreError::Mismatch(id.to_string()))?;
        tracing::info!(office = %office.id, key_id = %issuer.key_id, "issuer key enrolled");
        Ok(issuer)
    }

    /// The root key of `province`, created and published on first use.
    async fn root(&self, pool: &PgPool, province: &str) -> Result<KeyPair, KeystoreError> {
        let owner = root_owner(province);
        let fresh = KeyPair::generate_secret()?;
        let secret = keyfile::load_or_create_exact(
            &self.dir.join("roots").join(format!("{province}.key")),
            tongban_cert::keys::SECRET_LEN,
            || fresh,
        )?;
        let key = KeyPair::from_secret(&owner, &secret)?;
        let root = {
            let mut pins = self
                .pins
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (pinned, file) = &mut *pins;
            match pinned.root(province) {
                Some(root) if root.public_key == key.public() => root.clone(),
                // The state directory's root is not the pinned one: signing with it would
                // issue certificates nobody trusts.
                Some(root) => return Err(KeystoreError::Mismatch(root.key_id.to_string())),
                None => {
                    let root = pinned.pin(file, province, &key.public())?;
                    tracing::info!(%province, key_id = %root.key_id, "own root generated and pinned");
                    root
                }
            }
        };
        // The database keeps a record of the root (issuers reference it); trust comes from
        // the pin alone.
        sqlx::query(
            "INSERT INTO trust_roots (province, key_id, public_key) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(province)
        .bind(key.id().as_str())
        .bind(key.public().to_hex())
        .execute(pool)
        .await?;
        let mut trust = self
            .trust
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if trust.roots().all(|r| r.public_key != root.public_key) {
            for key_id in trust.add_root(root) {
                tracing::warn!(%key_id, "issuer not endorsed by the pinned root: left out");
            }
        }
        Ok(key)
    }
}

/// A `trust_issuers` row.
type IssuerRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Vec<u8>,
);

trait IntoIssuer {
    fn into_issuer(self) -> Option<Issuer>;
}

impl IntoIssuer for IssuerRow {
    fn into_issuer(self) -> Option<Issuer> {
        let (
            key_id,
            office_id,
            name,
            credit_code,
            province,
            public_key,
            valid_until,
            retired_at,
            sig,
        ) = self;
        Some(Issuer {
            office_id,
            name,
            credit_code: CreditCode::parse(&credit_code).ok()?,
            province,
            key_id: KeyId::parse(&key_id).ok()?,
            public_key: PublicKey::from_hex(&public_key).ok()?,
            valid_until,
            retired_at,
            root_signature: sig,
        })
    }
}

/// The root keys this deployment holds (`roots/<province>.key`), by province.
fn own_roots(dir: &Path) -> Result<Vec<(String, KeyPair)>, KeystoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(KeystoreError::Io(err.to_string())),
    };
    let mut roots = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|err| KeystoreError::Io(err.to_string()))?
            .path();
        let Some(province) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".key"))
            .filter(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
        else {
            continue;
        };
        // The file exists: nothing is created (an empty secret would be refused anyway).
        let secret =
            keyfile::load_or_create_exact(&path, tongban_cert::keys::SECRET_LEN, Vec::new)?;
        roots.push((
            province.clone(),
            KeyPair::from_secret(&root_owner(&province), &secret)?,
        ));
    }
    Ok(roots)
}
