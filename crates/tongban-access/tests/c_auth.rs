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
    let verified = keys.verify(&token, NOW + 10).unwrap();
    assert_eq!(verified.key_id, keys.key_id());
    assert_eq!(
        verified,
        Claims {
            key_id: keys.key_id().to_owned(),
            ..claims.clone()
        }
    );
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
    let refused = keys.verify(&token, NOW).unwrap_err();
    assert!(
        matches!(&refused, AuthError::KeyMismatch { found, expected }
            if found == other.key_id() && expected == keys.key_id()),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("another key"), "{refused}");
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
    assert_eq!(
        auth::caller(&passed).unwrap(),
        Claims {
            key_id: keys.key_id().to_owned(),
            ..claims
        }
    );
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

/// A token over the JSON `payload`, signed with the seed `seed` as [`TokenKeys::mint`] would, so
/// that tests can sign claims `mint` would refuse to.
fn hand_signed(seed: [u8; 32], payload: &serde_json::Value) -> String {
    use ed25519_dalek::Signer as _;
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let signed = format!(
        "tb1.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap())
    );
    let signature = signing.sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// The payload of a token as JSON.
fn payload_of(token: &str) -> serde_json::Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A verifying interceptor's answer to `token`, asked in `lang` (`en` or `zh`).
fn intercepted(keys: &Arc<TokenKeys>, token: &str, lang: &str) -> Result<Claims, tonic::Status> {
    let mut intercept = auth::interceptor(Arc::clone(keys));
    let mut request = Request::new(());
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
        .metadata_mut()
        .insert("accept-language", lang.parse().unwrap());
    intercept(request).map(|passed| auth::caller(&passed).unwrap())
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[test]
fn tokens_carry_issuer_audience_key_id_and_token_id() {
    let keys = TokenKeys::from_seed([3; 32]);
    let token = keys.mint(&claims()).unwrap();
    let json = payload_of(&token);
    assert_eq!(json["iss"], "tongban");
    assert_eq!(json["aud"], "tongban-services");
    assert_eq!(json["kid"], keys.key_id());
    assert_eq!(keys.key_id().len(), 16);
    assert!(keys.key_id().bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(keys.key_id(), TokenKeys::from_seed([4; 32]).key_id());
    let jti = json["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 32);
    assert!(jti.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn a_token_of_another_key_id_is_refused_by_name() {
    let keys = Arc::new(TokenKeys::generate().unwrap());
    let other = TokenKeys::generate().unwrap();
    let mut claims = claims();
    claims.issued_at = now();
    claims.expires_at = claims.issued_at + 600;
    let token = other.mint(&claims).unwrap();
    let refused = intercepted(&keys, &token, "en").unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("another key") && refused.message().contains(other.key_id()),
        "{}",
        refused.message()
    );
    let refused = intercepted(&keys, &token, "zh").unwrap_err();
    assert!(
        refused.message().contains("另一把密钥"),
        "{}",
        refused.message()
    );

    // Another key claiming this key's id fails on the signature.
    let mut json = payload_of(&token);
    json["kid"] = serde_json::Value::from(keys.key_id());
    let forged = hand_signed([9; 32], &json);
    assert!(matches!(
        keys.verify(&forged, now()),
        Err(AuthError::BadSignature)
    ));
}

#[test]
fn a_wrong_issuer_or_audience_is_refused() {
    let keys = TokenKeys::from_seed([5; 32]);
    let token = keys.mint(&claims()).unwrap();
    assert!(
        keys.verify(&hand_signed([5; 32], &payload_of(&token)), NOW)
            .is_ok()
    );
    for (field, value) in [("iss", "elsewhere"), ("aud", "someone-else")] {
        let mut json = payload_of(&token);
        json[field] = serde_json::Value::from(value);
        let refused = keys.verify(&hand_signed([5; 32], &json), NOW).unwrap_err();
        assert!(
            matches!(&refused, AuthError::WrongIssuerOrAudience(named) if named == field),
            "{field}: {refused:?}"
        );
    }
    // Unsigned or without the new claims: refused.
    let mut json = payload_of(&token);
    json.as_object_mut().unwrap().remove("iss");
    assert!(matches!(
        keys.verify(&hand_signed([5; 32], &json), NOW),
        Err(AuthError::Malformed)
    ));
    let (signed, _) = token.rsplit_once('.').unwrap();
    assert!(keys.verify(&format!("{signed}."), NOW).is_err());
}

#[test]
fn tokens_live_at_most_twelve_hours() {
    let keys = TokenKeys::from_seed([6; 32]);
    let twelve = Claims::new(
        "li",
        Role::Clerk,
        "140922-zwfw",
        Duration::from_secs(12 * 3600),
        NOW,
    );
    assert!(keys.verify(&keys.mint(&twelve).unwrap(), NOW).is_ok());
    for role in Role::ALL {
        let longer = Claims::new(
            "li",
            role,
            "140922-zwfw",
            Duration::from_secs(12 * 3600 + 1),
            NOW,
        );
        assert!(
            matches!(keys.mint(&longer), Err(AuthError::TooLong { hours: 13 })),
            "{role}"
        );
    }
    // Signed all the same (by hand): refused on verification.
    let mut json = payload_of(&keys.mint(&twelve).unwrap());
    json["exp"] = serde_json::Value::from(NOW + 24 * 3600);
    json["expires_at"] = serde_json::Value::from(NOW + 24 * 3600);
    let refused = keys.verify(&hand_signed([6; 32], &json), NOW).unwrap_err();
    assert!(
        matches!(refused, AuthError::TooLong { hours: 24 }),
        "{refused:?}"
    );
}

/// The deployment's reference data from the workspace's `deploy` directory.
fn reference() -> Arc<tongban_domain::reference::ReferenceData> {
    let deploy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    Arc::new(tongban_domain::reference::ReferenceData::load(&deploy).unwrap())
}

#[test]
fn the_office_must_be_in_the_directory() {
    let reference = reference();
    let keys = Arc::new(
        TokenKeys::generate()
            .unwrap()
            .with_directory(Arc::clone(&reference)),
    );
    let token = |role: Role, office: &str| {
        keys.mint(&Claims::new(
            "li",
            role,
            office,
            Duration::from_secs(600),
            now(),
        ))
        .unwrap()
    };
    for (role, office) in [
        (Role::Clerk, "140922-zwfw"),
        (Role::Reviewer, "640100-gongan"),
        (Role::OfficeHead, "140900-gjj"),
        (Role::Issuer, "640100-minzheng"),
        (Role::Supervisor, "140922-zwfw"),
        (Role::Supervisor, "140000-zwfw"),
        (Role::Admin, "140922"),
        (Role::Hotline, "12345"),
        (Role::Hotline, "140900-12345"),
        (Role::Supervisor, "12345"),
        (Role::Carrier, "simulated"),
    ] {
        assert!(
            auth::office_admitted(&reference, role, office),
            "{role} {office}"
        );
        assert!(
            keys.verify(&token(role, office), now()).is_ok(),
            "{role} {office}"
        );
    }
    for (role, office) in [
        (Role::Clerk, "140922-window"),
        (Role::Reviewer, "999999-gongan"),
        (Role::Clerk, "140922"),
        (Role::Issuer, "12345"),
        (Role::Admin, "admin"),
        (Role::Supervisor, "999999"),
        (Role::Hotline, "140900-gongan-12345"),
    ] {
        assert!(
            !auth::office_admitted(&reference, role, office),
            "{role} {office}"
        );
        assert!(
            matches!(keys.verify(&token(role, office), now()), Err(AuthError::UnknownOffice(o)) if o == office),
            "{role} {office}"
        );
    }
    let refused = intercepted(&keys, &token(Role::Reviewer, "999999-gongan"), "en").unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("999999-gongan") && refused.message().contains("directory"),
        "{}",
        refused.message()
    );
    // Keys without a directory (tools, these unit tests) do not check offices.
    let bare = TokenKeys::generate().unwrap();
    let free = bare
        .mint(&Claims::new(
            "li",
            Role::Clerk,
            "anywhere",
            Duration::from_secs(60),
            now(),
        ))
        .unwrap();
    assert!(bare.verify(&free, now()).is_ok());
}

#[test]
fn a_revoked_token_is_refused_as_soon_as_the_list_changes() {
    let dir = StateDir::new();
    std::fs::create_dir_all(&dir.0).unwrap();
    let keys = Arc::new(TokenKeys::load_or_create(&dir.0).unwrap());
    let mint = || {
        let claims = Claims::new(
            "li",
            Role::Clerk,
            "140922-zwfw",
            Duration::from_secs(600),
            now(),
        );
        (keys.mint(&claims).unwrap(), claims.token_id)
    };
    let (revoked, revoked_id) = mint();
    let (kept, _) = mint();
    // No list yet: both accepted (and the empty state is remembered).
    assert!(intercepted(&keys, &revoked, "en").is_ok());
    assert!(intercepted(&keys, &kept, "en").is_ok());

    let path = auth::revoke(&dir.0, &revoked_id.to_uppercase()).unwrap();
    assert_eq!(path, dir.0.join(auth::REVOCATION_FILE));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{revoked_id}\n")
    );
    // The same running keys see the change on the next request.
    let refused = intercepted(&keys, &revoked, "en").unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("revoked"),
        "{}",
        refused.message()
    );
    let refused = intercepted(&keys, &revoked, "zh").unwrap_err();
    assert!(refused.message().contains("吊销"), "{}", refused.message());
    assert!(matches!(
        keys.verify(&revoked, now()),
        Err(AuthError::Revoked)
    ));
    assert!(intercepted(&keys, &kept, "en").is_ok());

    // Keys loaded afterwards honour it too; a list emptied again lets the token back in.
    let reloaded = TokenKeys::load_or_create(&dir.0).unwrap();
    assert!(matches!(
        reloaded.verify(&revoked, now()),
        Err(AuthError::Revoked)
    ));
    std::fs::write(&path, "# nothing revoked\n").unwrap();
    assert!(keys.verify(&revoked, now()).is_ok());

    assert!(matches!(
        auth::revoke(&dir.0, "not-a-token-id"),
        Err(AuthError::BadTokenId(_))
    ));
}
