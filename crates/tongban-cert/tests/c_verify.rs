//! Verification rules end to end within the crate: issue with an office key endorsed by its
//! province root, then every failure the issue lists.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use chrono::{DateTime, TimeDelta, Utc};
use tongban_cert::certificate::{Certificate, CertificateStatus, Draft, Field, HolderId};
use tongban_cert::identifier::{CertificateId, TypeCode};
use tongban_cert::keys::KeyPair;
use tongban_cert::trust::{Issuer, Root, TrustList, endorse, root_owner};
use tongban_cert::verify::{Expectations, Failure, StatusCheck, Verification, check};
use tongban_cert::{issuer_credit_code, token};

const HOLDER: &str = "14092219900307001X";

struct Office {
    key: KeyPair,
    issuer: Issuer,
}

fn office(root: &KeyPair, id: &str, division: &str, name: &str) -> Office {
    let key = KeyPair::from_secret(id, &KeyPair::generate_secret().unwrap()).unwrap();
    let mut issuer = Issuer {
        office_id: id.to_owned(),
        name: name.to_owned(),
        credit_code: issuer_credit_code(division, id).unwrap(),
        province: division[..2].to_owned(),
        key_id: key.id().clone(),
        public_key: key.public(),
        valid_until: None,
        retired_at: None,
        root_signature: Vec::new(),
    };
    endorse(root, &mut issuer);
    Office { key, issuer }
}

fn root(province: &str) -> (KeyPair, Root) {
    let key =
        KeyPair::from_secret(&root_owner(province), &KeyPair::generate_secret().unwrap()).unwrap();
    let root = Root {
        province: province.to_owned(),
        key_id: key.id().clone(),
        public_key: key.public(),
    };
    (key, root)
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T10:00:00+08:00")
        .unwrap()
        .to_utc()
}

fn issue(office: &Office, type_code: &str, from: DateTime<Utc>, until: DateTime<Utc>) -> String {
    let identifier = CertificateId::new(
        TypeCode::parse(type_code).unwrap(),
        office.issuer.credit_code.clone(),
        7,
        1,
    )
    .unwrap();
    let certificate = Certificate::new(Draft {
        identifier,
        holder_name: "王小明".to_owned(),
        holder_id: HolderId::parse(HOLDER).unwrap(),
        issuer_office_id: office.issuer.office_id.clone(),
        issuer_name: office.issuer.name.clone(),
        valid_from: from,
        valid_until: until,
        issued_at: from,
        fields: vec![Field {
            name: "spouse_name".to_owned(),
            value: "李红".to_owned(),
        }],
        key_id: office.key.id().clone(),
    })
    .unwrap();
    token::encode(&certificate, &office.key).unwrap()
}

struct World {
    trust: TrustList,
    yinchuan: Office,
    rogue: Office,
}

fn world() -> World {
    let (ningxia_key, ningxia) = root("64");
    let (shanxi_key, shanxi) = root("14");
    let (rogue_root_key, _) = root("64");
    let yinchuan = office(&ningxia_key, "640100-minzheng", "640100", "银川市民政局");
    let taiyuan = office(&shanxi_key, "140100-minzheng", "140100", "太原市民政局");
    let rogue = office(&rogue_root_key, "640100-minzheng", "640100", "银川市民政局");
    let (trust, rejected) = TrustList::new(
        vec![ningxia, shanxi],
        vec![
            yinchuan.issuer.clone(),
            taiyuan.issuer.clone(),
            rogue.issuer.clone(),
        ],
    );
    assert_eq!(rejected, vec![rogue.issuer.key_id.clone()]);
    World {
        trust,
        yinchuan,
        rogue,
    }
}

fn verify(world: &World, token: &str, status: StatusCheck, expect: Expectations) -> Verification {
    match token::decode(token) {
        Ok(decoded) => check(&decoded, &world.trust, now(), expect, status),
        Err(_) => Verification::malformed(),
    }
}

const OK: StatusCheck = StatusCheck::Known(CertificateStatus::Valid);

fn year_around(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (now - TimeDelta::days(30), now + TimeDelta::days(365))
}

#[test]
fn a_certificate_of_yinchuan_verifies_against_the_trust_list() {
    let w = world();
    let (from, until) = year_around(now());
    let token = issue(&w.yinchuan, "113", from, until);
    assert!(token.len() < 500, "token of {} chars", token.len());
    let v = verify(
        &w,
        &token,
        OK,
        Expectations {
            holder_id: Some("14092219900307001x"),
            type_code: Some("113"),
        },
    );
    assert!(v.is_valid(), "{:?}", v.failures);
    let certificate = v.certificate.unwrap();
    assert_eq!(certificate.issuer_office_id(), "640100-minzheng");
    assert_eq!(certificate.holder_id().masked(), "1409**********001X");
    assert!(!format!("{certificate:?}").contains(HOLDER));
}

#[test]
fn every_flipped_byte_and_changed_character_is_rejected() {
    let w = world();
    let (from, until) = year_around(now());
    let token = issue(&w.yinchuan, "113", from, until);
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = engine.decode(&token).unwrap();
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut flipped = bytes.clone();
            flipped[i] ^= bit;
            let v = verify(&w, &engine.encode(&flipped), OK, Expectations::default());
            assert!(!v.is_valid(), "byte {i} bit {bit:#x} accepted");
        }
    }
    let chars: Vec<char> = token.chars().collect();
    for i in 0..chars.len() {
        let mut changed = chars.clone();
        changed[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let changed: String = changed.into_iter().collect();
        assert!(!verify(&w, &changed, OK, Expectations::default()).is_valid());
    }
}

#[test]
fn each_failure_is_reported() {
    let w = world();
    let t = now();
    let (from, until) = year_around(t);
    let good = issue(&w.yinchuan, "113", from, until);
    let failures = |token: &str, status, expect| verify(&w, token, status, expect).failures;

    let expired = issue(
        &w.yinchuan,
        "113",
        t - TimeDelta::days(400),
        t - TimeDelta::days(1),
    );
    assert_eq!(
        failures(&expired, OK, Expectations::default()),
        [Failure::Expired]
    );
    let future = issue(
        &w.yinchuan,
        "113",
        t + TimeDelta::days(1),
        t + TimeDelta::days(400),
    );
    assert_eq!(
        failures(&future, OK, Expectations::default()),
        [Failure::NotYetValid]
    );
    for status in [CertificateStatus::Revoked, CertificateStatus::Suspended] {
        assert_eq!(
            failures(&good, StatusCheck::Known(status), Expectations::default()),
            [Failure::Status(status)]
        );
    }
    assert_eq!(
        failures(&good, StatusCheck::Unavailable, Expectations::default()),
        [Failure::StatusUnavailable]
    );
    assert_eq!(
        failures(
            &good,
            OK,
            Expectations {
                holder_id: Some("140922199003070028"),
                type_code: Some("112"),
            }
        ),
        [Failure::HolderMismatch, Failure::TypeMismatch]
    );
    let untrusted = issue(&w.rogue, "113", from, until);
    assert_eq!(
        failures(&untrusted, OK, Expectations::default()),
        [Failure::UntrustedIssuer]
    );
    assert_eq!(
        failures("not a token", OK, Expectations::default()),
        [Failure::Malformed]
    );
}

#[test]
fn a_rotated_key_verifies_until_its_certificates_expire() {
    let (ningxia_key, ningxia) = root("64");
    let mut old = office(&ningxia_key, "640100-minzheng", "640100", "银川市民政局");
    let new = office(&ningxia_key, "640100-minzheng", "640100", "银川市民政局");
    let t = now();
    let token = issue(
        &old,
        "113",
        t - TimeDelta::days(10),
        t + TimeDelta::days(20),
    );
    // Rotation: the old key stays on the list until its last certificate expires.
    old.issuer.valid_until = Some(t + TimeDelta::days(20));
    endorse(&ningxia_key, &mut old.issuer);
    let (trust, rejected) =
        TrustList::new(vec![ningxia], vec![old.issuer.clone(), new.issuer.clone()]);
    assert!(rejected.is_empty());
    let decoded = token::decode(&token).unwrap();
    assert!(check(&decoded, &trust, t, Expectations::default(), OK).is_valid());
    let later = check(
        &decoded,
        &trust,
        t + TimeDelta::days(21),
        Expectations::default(),
        OK,
    );
    assert!(later.failures.contains(&Failure::UntrustedIssuer));
    // Changing the retirement date without the root's signature drops the issuer.
    let mut forged = old.issuer.clone();
    forged.valid_until = None;
    let (_, rejected) = TrustList::new(
        vec![Root {
            province: "64".to_owned(),
            key_id: ningxia_key.id().clone(),
            public_key: ningxia_key.public(),
        }],
        vec![forged],
    );
    assert_eq!(rejected.len(), 1);
}

/// `google.protobuf.Timestamp`'s range, in Unix seconds (0001-01-01 to 9999-12-31).
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

#[test]
fn a_tampered_token_gives_failures_and_never_its_content() {
    let w = world();
    let (from, until) = year_around(now());
    let token = issue(&w.yinchuan, "113", from, until);
    let chars: Vec<char> = token.chars().collect();
    // A few replacements per position, of each kind of base64url character.
    let alphabet = ['A', 'q', '7', '_', 'B'];
    let mut tried = 0;
    for i in 0..chars.len() {
        for replacement in alphabet.iter().filter(|c| **c != chars[i]).take(4) {
            let mut changed = chars.clone();
            changed[i] = *replacement;
            let changed: String = changed.into_iter().collect();
            let v = verify(&w, &changed, OK, Expectations::default());
            tried += 1;
            assert!(!v.is_valid(), "position {i} → {replacement} accepted");
            assert!(!v.failures.is_empty());
            assert!(
                v.certificate.is_none(),
                "position {i} → {replacement}: content of a forged token returned: {:?}",
                v.certificate
            );
        }
    }
    assert_eq!(tried, chars.len() * 4);
}

#[test]
fn a_token_with_a_time_outside_the_protobuf_range_is_malformed() {
    // Signed by a trusted key, so only the decoder stands between the time and a client.
    let w = world();
    let (from, _) = year_around(now());
    let far = DateTime::from_timestamp(*TIMESTAMP_SECONDS.end() + 1, 0).unwrap();
    let identifier = CertificateId::new(
        TypeCode::parse("113").unwrap(),
        w.yinchuan.issuer.credit_code.clone(),
        9,
        1,
    )
    .unwrap();
    let certificate = Certificate::new(Draft {
        identifier,
        holder_name: "王小明".to_owned(),
        holder_id: HolderId::parse(HOLDER).unwrap(),
        issuer_office_id: w.yinchuan.issuer.office_id.clone(),
        issuer_name: w.yinchuan.issuer.name.clone(),
        valid_from: from,
        valid_until: far,
        issued_at: from,
        fields: Vec::new(),
        key_id: w.yinchuan.key.id().clone(),
    })
    .unwrap();
    assert!(token::encode(&certificate, &w.yinchuan.key).is_err());
}

#[test]
fn a_retired_key_does_not_vouch_for_what_it_claims_to_sign_after_its_retirement() {
    let (ningxia_key, ningxia) = root("64");
    let mut old = office(&ningxia_key, "640100-minzheng", "640100", "银川市民政局");
    let t = now();
    // Issued (issued_at = valid_from) ten days before the rotation, and one second after it.
    let before = issue(
        &old,
        "113",
        t - TimeDelta::days(10),
        t + TimeDelta::days(20),
    );
    let after = issue(
        &old,
        "113",
        t + TimeDelta::seconds(1),
        t + TimeDelta::days(20),
    );
    old.issuer.valid_until = Some(t + TimeDelta::days(20));
    old.issuer.retired_at = Some(t);
    endorse(&ningxia_key, &mut old.issuer);
    let (trust, rejected) = TrustList::new(vec![ningxia.clone()], vec![old.issuer.clone()]);
    assert!(rejected.is_empty());
    let at = t + TimeDelta::days(1);
    let v = check(
        &token::decode(&before).unwrap(),
        &trust,
        at,
        Expectations::default(),
        OK,
    );
    assert!(v.is_valid(), "{:?}", v.failures);
    let v = check(
        &token::decode(&after).unwrap(),
        &trust,
        at,
        Expectations::default(),
        OK,
    );
    assert_eq!(v.failures, [Failure::KeyRetired]);
    assert!(v.certificate.is_none());
    // The retirement is part of what the root signed: it cannot be moved or removed.
    for retired_at in [None, Some(t + TimeDelta::days(5))] {
        let mut forged = old.issuer.clone();
        forged.retired_at = retired_at;
        let (_, rejected) = TrustList::new(vec![ningxia.clone()], vec![forged]);
        assert_eq!(rejected.len(), 1, "{retired_at:?}");
    }
}

#[test]
fn a_new_root_for_a_province_drops_the_issuers_the_old_one_endorsed() {
    let w = world();
    let (_, other_root) = root("64");
    let mut trust = w.trust.clone();
    let dropped = trust.add_root(other_root);
    assert_eq!(dropped, vec![w.yinchuan.issuer.key_id.clone()]);
    assert!(trust.issuer(&w.yinchuan.issuer.key_id).is_none());
    // 山西's issuer is untouched.
    assert_eq!(trust.issuers().count(), 1);
}
