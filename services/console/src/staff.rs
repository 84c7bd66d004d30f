//! Staff accounts (工作人员账号) of the console: who may sign in, as which role, for which office,
//! and the Argon2 hash of their password. Read from a TOML file under `deploy/` so that accounts
//! change without a rebuild; passwords themselves are never stored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Deserialize;
use tongban_access::auth::{self, Role};
use tongban_domain::reference::ReferenceData;

/// Why the staff file was refused.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// The file cannot be read.
    #[error("cannot read the staff accounts {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("invalid staff accounts {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the account where there is one.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffFile {
    #[serde(default)]
    staff: Vec<Account>,
}

/// One person who may sign in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Login name (`wutai-clerk`).
    pub user: String,
    /// Name shown in the page header (`张敏`).
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The office they act for (an id of the office directory).
    pub office: String,
    /// Argon2 PHC string (`$argon2id$v=19$…`).
    pub password_hash: String,
}

/// Every staff account, by login name.
#[derive(Debug, Default)]
pub struct Staff {
    accounts: BTreeMap<String, Account>,
}

impl Staff {
    /// Reads `path` and checks every account: a unique login name, a parseable Argon2 hash and
    /// an office the directory admits for the role.
    ///
    /// # Errors
    /// [`StaffError`] naming the file and the first account that is wrong.
    pub fn load(path: &Path, reference: &ReferenceData) -> Result<Self, StaffError> {
        let text = std::fs::read_to_string(path).map_err(|source| StaffError::Read {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |reason: String| StaffError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let file: StaffFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let mut accounts = BTreeMap::new();
        for account in file.staff {
            if account.user.trim().is_empty() {
                return Err(invalid("an account has an empty user".to_owned()));
            }
            if PasswordHash::new(&account.password_hash).is_err() {
                return Err(invalid(format!(
                    "account {}: password_hash is not an Argon2 PHC string",
                    account.user
                )));
            }
            if !auth::office_admitted(reference, account.role, &account.office) {
                return Err(invalid(format!(
                    "account {}: office {} is not in the directory for role {}",
                    account.user,
                    account.office,
                    account.role.as_str()
                )));
            }
            let user = account.user.clone();
            if accounts.insert(user.clone(), account).is_some() {
                return Err(invalid(format!("account {user} appears twice")));
            }
        }
        Ok(Self { accounts })
    }

    /// The account `user` when `password` is its password. An unknown user costs a hash
    /// check too, so that timing does not tell which names exist.
    #[must_use]
    pub fn verify(&self, user: &str, password: &str) -> Option<&Account> {
        let Some(account) = self.accounts.get(user) else {
            // Spend about the same time as a real check; the answer is no either way.
            let _ = hash_password(password);
            return None;
        };
        let hash = PasswordHash::new(&account.password_hash).ok()?;
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .ok()
            .map(|()| account)
    }

    /// Every account (for listings; hashes included, never shown).
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }
}

/// The Argon2id PHC string of `password` with a fresh random salt (for `tongban-console
/// hash-password`).
///
/// # Errors
/// The operating system's random source failed, or hashing failed.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0_u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let hash = hash_password("窗口-demo").expect("hash");
        let parsed = PasswordHash::new(&hash).expect("PHC string");
        assert!(
            Argon2::default()
                .verify_password("窗口-demo".as_bytes(), &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }
}
