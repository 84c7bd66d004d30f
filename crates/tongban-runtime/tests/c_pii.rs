//! Personal data at rest: SM4-GCM sealing bound to its record, and keyed HMAC-SM3 lookups.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::path::PathBuf;

use tongban_runtime::pii::{PiiError, PiiKeys};

const ID_NUMBER: &str = "11010519491231002X";

/// A fresh state directory under the system temp dir, removed when dropped.
struct StateDir(PathBuf);

impl StateDir {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("tongban-c-pii-{}", uuid::Uuid::new_v4())))
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        // Best effort clean-up of a temp directory; a leftover does no harm.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn seal_open_round_trip() {
    let keys = PiiKeys::generate().unwrap();
    let sealed = keys.seal(ID_NUMBER, b"case-1");
    assert_eq!(sealed[0], 2);
    assert_eq!(sealed.len(), 1 + 4 + 12 + ID_NUMBER.len() + 16);
    // The key id follows the version.
    assert_eq!(
        tongban_runtime::keyfile::hex_encode(&sealed[1..5]),
        keys.key_id()
    );
    assert!(
        !sealed
            .windows(6)
            .any(|window| window == &ID_NUMBER.as_bytes()[..6])
    );
    assert_eq!(keys.open(&sealed, b"case-1").unwrap(), ID_NUMBER);

    // A fresh nonce every time: the same value never seals to the same bytes.
    assert_ne!(keys.seal(ID_NUMBER, b"case-1"), sealed);
    assert_eq!(keys.open(&keys.seal("", b""), b"").unwrap(), "");
    assert_eq!(keys.open(&keys.seal("张三", b"x"), b"x").unwrap(), "张三");
}

#[test]
fn wrong_aad_or_flipped_byte_fails() {
    let keys = PiiKeys::generate().unwrap();
    let sealed = keys.seal(ID_NUMBER, b"case-1");
    assert!(matches!(
        keys.open(&sealed, b"case-2"),
        Err(PiiError::Tampered)
    ));
    for index in 1..sealed.len() {
        let mut flipped = sealed.clone();
        flipped[index] ^= 0x80;
        // A flipped key id names a key that does not exist; any other byte fails the tag.
        let refused = match keys.open(&flipped, b"case-1") {
            Err(PiiError::UnknownKey(_)) => index < 5,
            Err(PiiError::Tampered) => index >= 5,
            _ => false,
        };
        assert!(refused, "flipping byte {index} went unnoticed");
    }
    let mut wrong_version = sealed.clone();
    wrong_version[0] = 3;
    assert!(matches!(
        keys.open(&wrong_version, b"case-1"),
        Err(PiiError::Malformed)
    ));
    assert!(matches!(
        keys.open(&sealed[..20], b"case-1"),
        Err(PiiError::Malformed)
    ));
    assert!(matches!(
        keys.open(&[], b"case-1"),
        Err(PiiError::Malformed)
    ));

    let other = PiiKeys::generate().unwrap();
    assert!(matches!(
        other.open(&sealed, b"case-1"),
        Err(PiiError::UnknownKey(_))
    ));
}

#[test]
fn digest_is_stable_keyed_and_purpose_bound() {
    let keys = PiiKeys::generate().unwrap();
    let first = keys.digest("id_number", ID_NUMBER);
    assert_eq!(first, keys.digest("id_number", ID_NUMBER));
    assert_eq!(first.len(), 64);
    assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(first, keys.digest("phone", ID_NUMBER));
    assert_ne!(first, keys.digest("id_number", "110105194912310021"));

    let other = PiiKeys::generate().unwrap();
    assert_ne!(first, other.digest("id_number", ID_NUMBER));
}

#[test]
fn keys_persist_in_the_state_directory() {
    let dir = StateDir::new();
    let keys = PiiKeys::load_or_create(&dir.0).unwrap();
    let sealed = keys.seal("13812345678", b"case-9");
    let digest = keys.digest("phone", "13812345678");

    let reloaded = PiiKeys::load_or_create(&dir.0).unwrap();
    assert_eq!(reloaded.open(&sealed, b"case-9").unwrap(), "13812345678");
    assert_eq!(reloaded.digest("phone", "13812345678"), digest);
    assert_eq!(format!("{reloaded:?}"), "PiiKeys { .. }");

    let text = std::fs::read_to_string(dir.0.join("pii.key")).unwrap();
    assert_eq!(text.len(), 48 * 2 + 1);
}

#[test]
fn sm3_hmac_matches_a_known_answer() {
    // HMAC-SM3 has no separate module here; check the construction against an independent
    // computation of HMAC (RFC 2104) over SM3 with a zero key: H((K^opad) || H((K^ipad) || m)).
    use sm3::{Digest, Sm3};
    let keys = PiiKeys::from_bytes(&[0u8; 48]).unwrap();
    let message = b"id_number\0abc";
    let block = 64;
    let ipad = vec![0x36u8; block];
    let opad = vec![0x5cu8; block];
    let inner = Sm3::new()
        .chain_update(&ipad)
        .chain_update(message)
        .finalize();
    let outer = Sm3::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    let expected: String = outer.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(keys.digest("id_number", "abc"), expected);
}

/// Writes `material` as a private key file at `path`.
fn write_key(path: &std::path::Path, material: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, tongban_runtime::keyfile::hex_encode(material)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn a_rotated_key_still_opens_what_it_sealed() {
    let state = StateDir::new();
    let old = PiiKeys::load_or_create(&state.0).unwrap();
    let sealed_before = old.seal(ID_NUMBER, b"case-1");
    let digest_before = old.digest("id_number", ID_NUMBER);

    // Rotation as documented: the old pii.key moves to pii-retired/, the new one keeps the
    // HMAC half so lookups stay valid.
    let old_material = std::fs::read_to_string(state.0.join("pii.key")).unwrap();
    let old_material = tongban_domain::hex::decode(old_material.trim()).unwrap();
    write_key(
        &state.0.join("pii-retired").join("2026-12.key"),
        &old_material,
    );
    let mut new_material = vec![0x5a; 16];
    new_material.extend_from_slice(&old_material[16..]);
    write_key(&state.0.join("pii.key"), &new_material);

    let rotated = PiiKeys::load_or_create(&state.0).unwrap();
    assert_ne!(rotated.key_id(), old.key_id());
    assert_eq!(rotated.open(&sealed_before, b"case-1").unwrap(), ID_NUMBER);
    let sealed_after = rotated.seal(ID_NUMBER, b"case-1");
    assert_eq!(
        tongban_runtime::keyfile::hex_encode(&sealed_after[1..5]),
        rotated.key_id()
    );
    assert_eq!(rotated.digest("id_number", ID_NUMBER), digest_before);
    // The old keys alone cannot open what the new key sealed, and without the retired key the
    // old value names a key that is gone.
    assert!(matches!(
        old.open(&sealed_after, b"case-1"),
        Err(PiiError::UnknownKey(_))
    ));
    let without_retired = PiiKeys::from_bytes(&new_material).unwrap();
    assert!(matches!(
        without_retired.open(&sealed_before, b"case-1"),
        Err(PiiError::UnknownKey(_))
    ));
}
