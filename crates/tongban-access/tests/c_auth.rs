//! Bearer tokens: mint/verify round trip, every kind of bad token refused, the signing key
//! shared by concurrent first starts, and the interceptor's behaviour.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tongban_access::auth::{self, AuthError, Claims, Role, TokenKeys};
use tongban_domain::i18n::Lang;
use tonic::{Code, Request};

const NOW: i64 = 1_790_000_000;

fn claims() -> Claims {
    Claims::new(
        "li.clerk",
        Role::Clerk,
        "140922-zwfw",
        Duration::from_secs(3600),
        NOW,
    )
}

/// A fresh state directory under the system temp dir, removed when dropped.
struct StateDir(PathBuf);

impl StateDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("tongban-c-auth-{}", uuid::Uuid::new_v4()));
        Self(path)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        // Best effort clean-up of a temp directory; a leftover does no harm.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn mint_verify_round_trip() {
    let keys = TokenKeys::generate().unwrap();
    let claims = claims();
    let token = keys.mint(&claims).unwrap();
    assert!(token.starts_with("tb1."));
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(keys.verify(&token, NOW + 10).unwrap(), claims);
    assert_eq!(claims.token_id.len(), 32);
    assert_ne!(claims.token_id, self::claims().token_id);
}

#[test]
fn tampered_payload_is_refused() {
    let keys = TokenKeys::generate().unwrap();
    let token = keys.mint(&claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    json["role"] = serde_json::Value::from("admin");
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap());
    let forged = format!("tb1.{forged_payload}.{}", parts[2]);
    assert!(matches!(
        keys.verify(&forged, NOW),
        Err(AuthError::BadSignature)
    ));
}

#[test]
fn tampered_signature_is_refused() {
    let keys = TokenKeys::generate().unwrap();
    let token = keys.mint(&claims()).unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[10] ^= 0x01;
    let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes));
    assert!(matches!(
        keys.verify(&forged, NOW),
        Err(AuthError::BadSignature)
    ));
}

#[test]
fn expired_token_is_refused_after_leeway() {
    let keys = TokenKeys::generate().unwrap();
    let claims = claims();
    let token = keys.mint(&claims).unwrap();
    assert!(keys.verify(&token, claims.expires_at + 59).is_ok());
    assert!(matches!(
        keys.verify(&token, claims.expires_at + 61),
        Err(AuthError::Expired)
    ));
    assert!(matches!(
        keys.verify(&token, NOW - 3600),
        Err(AuthError::NotYetValid)
    ));
}

#[test]
fn wrong_key_is_refused() {
    let keys = TokenKeys::generate().unwrap();
    let other = TokenKeys::generate().unwrap();
    let token = other.mint(&claims()).unwrap();
    assert!(matches!(
        keys.verify(&token, NOW),
        Err(AuthError::BadSignature)
    ));
}

#[test]
fn garbage_is_refused() {
    let keys = TokenKeys::generate().unwrap();
    let token = keys.mint(&claims()).unwrap();
    let long = "a".repeat(10_000);
    let wrong_version = token.replacen("tb1.", "tb2.", 1);
    for garbage in [
        "",
        "tb1",
        "tb1..",
        "tb1.abc",
        "tb1.!!!.???",
        "not a token at all",
        long.as_str(),
        wrong_version.as_str(),
    ] {
        assert!(
            matches!(
                keys.verify(garbage, NOW),
                Err(AuthError::Malformed | AuthError::BadSignature)
            ),
            "{garbage:.40} was accepted"
        );
    }
}

#[test]
fn empty_office_or_user_is_refused() {
    let keys = TokenKeys::generate().unwrap();
    let no_office = Claims::new("li", Role::Clerk, " ", Duration::from_secs(60), NOW);
    let token = keys.mint(&no_office).unwrap();
    assert!(matches!(
        keys.verify(&token, NOW),
        Err(AuthError::EmptyClaim("office"))
    ));
    let no_user = Claims::new("", Role::Clerk, "140922-zwfw", Duration::from_secs(60), NOW);
    let token = keys.mint(&no_user).unwrap();
    assert!(matches!(
        keys.verify(&token, NOW),
        Err(AuthError::EmptyClaim("user"))
    ));
}

#[test]
fn concurrent_first_start_shares_one_key() {
    let dir = StateDir::new();
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let path = dir.0.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                TokenKeys::load_or_create(&path).unwrap()
            })
        })
        .collect();
    let keys: Vec<TokenKeys> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(keys[0].public_key_hex(), keys[1].public_key_hex());

    // A token minted by one verifies with the other, and with a later load.
    let token = keys[0].mint(&claims()).unwrap();
    assert!(keys[1].verify(&token, NOW).is_ok());
    let reloaded = TokenKeys::load_or_create(&dir.0).unwrap();
    assert!(reloaded.verify(&token, NOW).is_ok());

    let text = std::fs::read_to_string(dir.0.join("token-signing.key")).unwrap();
    assert_eq!(text.len(), 65);
    assert!(text.ends_with('\n'));
}

#[test]
fn interceptor_accepts_valid_and_refuses_others() {
    let keys = Arc::new(TokenKeys::generate().unwrap());
    let mut intercept = auth::interceptor(Arc::clone(&keys));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = Claims::new(
        "zhao.reviewer",
        Role::Reviewer,
        "640100-gaj",
        Duration::from_secs(600),
        i64::try_from(now).unwrap(),
    );
    let token = keys.mint(&claims).unwrap();

    let mut request = Request::new(());
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let passed = intercept(request).unwrap();
    assert_eq!(auth::caller(&passed).unwrap(), claims);
    assert!(
        auth::caller(&passed)
            .unwrap()
            .require(&[Role::Reviewer], Lang::Zh)
            .is_ok()
    );

    let missing = intercept(Request::new(())).unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert!(missing.message().starts_with("未认证"));

    let mut english = Request::new(());
    english
        .metadata_mut()
        .insert("authorization", "Bearer tb1.x.y".parse().unwrap());
    english
        .metadata_mut()
        .insert("accept-language", "en-US".parse().unwrap());
    let refused = intercept(english).unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.message().starts_with("unauthenticated"));

    let unverified = auth::caller(&Request::new(())).unwrap_err();
    assert_eq!(unverified.code(), Code::Unauthenticated);
}
