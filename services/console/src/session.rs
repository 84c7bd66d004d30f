//! Browser sessions and sign-in lockout.
//!
//! A session is an opaque random id (256 bits, hex) that the browser holds in its cookie; the
//! bearer token minted for the person stays here, in memory, and is sent only to the services.
//! Sessions end at sign-out, when their token expires, or when the console restarts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use tongban_access::auth::{AuthError, Claims, Role, TokenKeys};
use tongban_domain::lockout::{self, Verdict};

use crate::staff::Account;

/// Name of the session cookie.
pub const COOKIE: &str = "tongban_session";

/// A signed-in person as the pages see them (no token).
#[derive(Debug, Clone)]
pub struct Session {
    /// Login name.
    pub user: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Office id.
    pub office: String,
    /// Bearer token for the services (never rendered).
    pub token: String,
    /// Unix seconds after which the session is over.
    pub expires_at: i64,
}

/// The live sessions and the failed sign-ins of each login name.
#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

/// Unix seconds now.
#[must_use]
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Too many wrong passwords for this name: no check until the moment given.
    #[error("locked until {0}")]
    Locked(DateTime<Utc>),
    /// Wrong name or password.
    #[error("wrong user or password")]
    Wrong,
    /// The token could not be minted or the random source failed.
    #[error("cannot open a session: {0}")]
    Internal(String),
}

impl From<AuthError> for SignInError {
    fn from(err: AuthError) -> Self {
        SignInError::Internal(err.to_string())
    }
}

impl Sessions {
    /// Whether sign-in attempts for `user` are refused at `now` (核验锁定: five wrong
    /// passwords within an hour lock the name for an hour, the hotline's rule).
    #[must_use]
    pub fn lock(&self, user: &str, now: DateTime<Utc>) -> Verdict {
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let past = failures.get(user).map(Vec::as_slice).unwrap_or_default();
        lockout::decide(past, now)
    }

    /// Records a wrong password for `user` at `now` (old failures are dropped).
    pub fn record_failure(&self, user: &str, now: DateTime<Utc>) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = failures.entry(user.to_owned()).or_default();
        list.retain(|at| *at > now - lockout::lookback());
        list.push(now);
    }

    /// Opens a session for `account`: mints a token valid for `ttl` and returns the session id.
    ///
    /// # Errors
    /// [`SignInError::Internal`] when minting or the random source fails.
    pub fn open(
        &self,
        account: &Account,
        keys: &TokenKeys,
        ttl: Duration,
    ) -> Result<String, SignInError> {
        let now = now_secs();
        let claims = Claims::new(
            account.user.clone(),
            account.role,
            account.office.clone(),
            ttl,
            now,
        );
        let token = keys.mint(&claims)?;
        let id = random_id().map_err(SignInError::Internal)?;
        let session = Session {
            user: account.user.clone(),
            name: account.name.clone(),
            role: account.role,
            office: account.office.clone(),
            token,
            expires_at: claims.expires_at,
        };
        let mut live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        live.retain(|_, s| s.expires_at > now);
        live.insert(id.clone(), session);
        Ok(id)
    }

    /// The session with this id, if it is live.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<Session> {
        let live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        live.get(id).filter(|s| s.expires_at > now_secs()).cloned()
    }

    /// Ends the session with this id.
    pub fn close(&self, id: &str) {
        let mut live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        live.remove(id);
    }
}

/// 32 random bytes as 64 hex digits.
///
/// # Errors
/// The operating system's random source failed.
pub fn random_id() -> Result<String, String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(tongban_domain::hex::encode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_name() {
        let sessions = Sessions::default();
        let now = Utc::now();
        for _ in 0..lockout::MAX_FAILURES {
            assert!(!sessions.lock("clerk", now).is_locked());
            sessions.record_failure("clerk", now);
        }
        assert!(sessions.lock("clerk", now).is_locked());
        assert!(!sessions.lock("other", now).is_locked());
    }

    #[test]
    fn ids_are_random_hex() {
        let a = random_id().expect("random");
        let b = random_id().expect("random");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
