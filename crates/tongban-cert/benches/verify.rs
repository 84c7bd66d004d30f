//! Throughput of in-process certificate verification (decode + trust + SM2 verify + checks).
//! Run: `cargo bench -p tongban-cert --bench verify`.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::hint::black_box;

use chrono::{TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use sm2::dsa::signature::Verifier as _;
use sm2::dsa::{Signature, VerifyingKey};
use tongban_cert::certificate::{Certificate, CertificateStatus, Draft, HolderId};
use tongban_cert::identifier::{CertificateId, TypeCode};
use tongban_cert::keys::{DISTID, KeyPair, unhex};
use tongban_cert::trust::{Issuer, Root, TrustList, endorse, root_owner};
use tongban_cert::verify::{Expectations, StatusCheck, check};
use tongban_cert::{issuer_credit_code, token};

fn setup() -> (TrustList, String) {
    let root_key = KeyPair::from_secret(&root_owner("64"), &[7u8; 32]).expect("valid secret");
    let key = KeyPair::from_secret("640100-minzheng", &[9u8; 32]).expect("valid secret");
    let credit = issuer_credit_code("640100", "640100-minzheng").expect("six-digit division");
    let mut issuer = Issuer {
        office_id: "640100-minzheng".to_owned(),
        name: "银川市民政局".to_owned(),
        credit_code: credit.clone(),
        province: "64".to_owned(),
        key_id: key.id().clone(),
        public_key: key.public(),
        valid_until: None,
        retired_at: None,
        root_signature: Vec::new(),
    };
    endorse(&root_key, &mut issuer);
    let root = Root {
        province: "64".to_owned(),
        key_id: root_key.id().clone(),
        public_key: root_key.public(),
    };
    let (trust, _) = TrustList::new(vec![root], vec![issuer]);
    let now = Utc::now();
    let certificate = Certificate::new(Draft {
        identifier: CertificateId::new(TypeCode::parse("113").expect("3 digits"), credit, 1, 1)
            .expect("valid identifier"),
        holder_name: "王小明".to_owned(),
        holder_id: HolderId::parse("14092219900307001X").expect("valid shape"),
        issuer_office_id: "640100-minzheng".to_owned(),
        issuer_name: "银川市民政局".to_owned(),
        valid_from: now - TimeDelta::days(1),
        valid_until: now + TimeDelta::days(365),
        issued_at: now,
        fields: Vec::new(),
        key_id: key.id().clone(),
    })
    .expect("valid certificate");
    (
        trust,
        token::encode(&certificate, &key).expect("short fields"),
    )
}

fn bench(c: &mut Criterion) {
    let (trust, text) = setup();
    // The floor: one SM2 verification with the `sm2` crate alone (SM3 Z value and digest,
    // signature check), with the key already parsed. Full verification should beat twice this.
    let key = KeyPair::from_secret("640100-minzheng", &[9u8; 32]).expect("valid secret");
    let public = key.public();
    let sm2_key = VerifyingKey::from_sec1_bytes(DISTID, &unhex(&public.to_hex()).unwrap()).unwrap();
    let message = vec![0x5au8; 300];
    let signature = key.sign(&message);
    c.bench_function("sm2_verify_raw", |b| {
        b.iter(|| {
            let sig = Signature::from_slice(black_box(&signature)).unwrap();
            assert!(sm2_key.verify(black_box(&message), &sig).is_ok());
        });
    });
    // The same check with the key prepared (Z value and table of multiples, kept by the key).
    c.bench_function("sm2_verify_prepared", |b| {
        b.iter(|| assert!(public.verifies(black_box(&message), black_box(&signature))));
    });
    c.bench_function("verify_certificate_in_process", |b| {
        b.iter(|| {
            let decoded = token::decode(black_box(&text)).expect("valid token");
            let v = check(
                &decoded,
                &trust,
                Utc::now(),
                Expectations {
                    holder_id: Some("14092219900307001X"),
                    type_code: Some("113"),
                },
                StatusCheck::Known(CertificateStatus::Valid),
            );
            assert!(v.is_valid());
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
