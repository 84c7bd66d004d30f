//! Issue 13 item 9 against the real service (PostgreSQL and NATS as for the e2e tests):
//! a tampered token never yields content; holder details only for the issuing office and an
//! admin; roots trusted only when pinned; a retired key refuses what it claims to sign later.
//! Run with `cargo test -p tongban-certificate --test hardening`.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use chrono::TimeDelta;
use tongban_cert::certificate::{Certificate, Draft, Field, HolderId};
use tongban_cert::identifier::CertificateId;
use tongban_cert::keys::{KeyPair, unhex};
use tongban_cert::trust::{Issuer, endorse, root_owner};
use tongban_proto::certificate::v1::certificate_service_client::CertificateServiceClient;
use tongban_proto::certificate::v1::{
    CertificateField, CertificateStatus, GetCertificateRequest, IssueCertificateRequest,
    IssueCertificateResponse, ListTrustedIssuersRequest, RotateIssuerKeyRequest,
    VerificationFailure, VerifyCertificateRequest,
};
use tongban_runtime::auth::Role;
use tongban_runtime::clock::Clock as _;
use tongban_testkit::{Bearer, TestEnv, channel};

/// 银川市民政局: issues 结婚证 (113).
const ISSUER: &str = "640100-minzheng";
/// A window of another province.
const WINDOW: &str = "140922-zwfw";
const HOLDER: &str = "11010519491231002X";

type Client = CertificateServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>,
>;

fn client(port: u16, token: &str) -> Client {
    CertificateServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

async fn issue(issuer: &mut Client, env: &TestEnv) -> IssueCertificateResponse {
    let now = env.clock().now();
    issuer
        .issue_certificate(IssueCertificateRequest {
            type_code: "113".to_owned(),
            holder_name: "王小明".to_owned(),
            holder_id_number: HOLDER.to_owned(),
            valid_from: Some(prost_types::Timestamp {
                seconds: (now - TimeDelta::days(1)).timestamp(),
                nanos: 0,
            }),
            valid_until: Some(prost_types::Timestamp {
                seconds: (now + TimeDelta::days(365)).timestamp(),
                nanos: 0,
            }),
            fields: vec![CertificateField {
                name: "spouse_name".to_owned(),
                value: "李红".to_owned(),
            }],
            case_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn in_protobuf_range(t: Option<&prost_types::Timestamp>) -> bool {
    t.is_none_or(|t| (-62_135_596_800..=253_402_300_799).contains(&t.seconds))
}

#[tokio::test]
async fn every_one_character_tampering_yields_failures_only()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let service = env.spawn::<tongban_certificate::Application>().await?;
    let mut issuer = client(service.port(), &env.mint(Role::Issuer, ISSUER));
    let mut window = client(service.port(), &env.mint(Role::Clerk, WINDOW));
    let token = issue(&mut issuer, &env).await.token;
    let chars: Vec<char> = token.chars().collect();
    let mut with_failures = 0;
    for i in 0..chars.len() {
        let mut changed = chars.clone();
        changed[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let answer = window
            .verify_certificate(VerifyCertificateRequest {
                token: changed.into_iter().collect(),
                ..Default::default()
            })
            .await?
            .into_inner();
        if answer.valid {
            continue;
        }
        with_failures += 1;
        assert!(!answer.failures.is_empty(), "position {i}");
        assert!(
            answer.certificate.is_none(),
            "position {i}: unverified content returned: {:?}",
            answer.certificate
        );
        if let Some(c) = &answer.certificate {
            for t in [&c.valid_from, &c.valid_until, &c.issued_at] {
                assert!(in_protobuf_range(t.as_ref()), "position {i}: {t:?}");
            }
        }
    }
    assert_eq!(with_failures, chars.len(), "no tampering verifies");
    service.stop().await?;
    env.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn only_the_issuing_office_and_an_admin_see_the_holder()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let service = env.spawn::<tongban_certificate::Application>().await?;
    let mut issuer = client(service.port(), &env.mint(Role::Issuer, ISSUER));
    let identifier = issue(&mut issuer, &env)
        .await
        .certificate
        .unwrap()
        .identifier;
    let request = || GetCertificateRequest {
        identifier: identifier.clone(),
    };
    for (role, office) in [
        (Role::Issuer, ISSUER),
        (Role::Clerk, ISSUER),
        (Role::Admin, "140922"),
    ] {
        let shown = client(service.port(), &env.mint(role, office))
            .get_certificate(request())
            .await?
            .into_inner();
        assert_eq!(shown.holder_name, "王小明", "{role:?}");
        assert_eq!(shown.holder_id_number, "1101**********002X", "{role:?}");
        assert_eq!(shown.fields.len(), 1, "{role:?}");
    }
    for (role, office) in [
        (Role::Clerk, WINDOW),
        (Role::Reviewer, "640100-gongan"),
        (Role::Hotline, "12345"),
    ] {
        let shown = client(service.port(), &env.mint(role, office))
            .get_certificate(request())
            .await?
            .into_inner();
        assert_eq!(shown.status(), CertificateStatus::Valid, "{role:?}");
        assert_eq!(shown.identifier, identifier);
        assert_eq!(shown.issuer_office_id, ISSUER);
        assert!(shown.holder_name.is_empty(), "{role:?}: {shown:?}");
        assert!(shown.holder_id_number.is_empty(), "{role:?}: {shown:?}");
        assert!(shown.fields.is_empty(), "{role:?}: {shown:?}");
    }
    service.stop().await?;
    env.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn a_root_in_the_database_that_is_not_pinned_is_not_trusted()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let service = env.spawn::<tongban_certificate::Application>().await?;
    let mut issuer = client(service.port(), &env.mint(Role::Issuer, ISSUER));
    let own = issue(&mut issuer, &env).await.token;
    service.stop().await?;

    // The database gains a root for 山西 (14) and an issuer it endorses: nobody pinned it.
    let root = KeyPair::from_secret(&root_owner("14"), &KeyPair::generate_secret()?)?;
    let office = "140100-minzheng";
    let key = KeyPair::from_secret(office, &KeyPair::generate_secret()?)?;
    let credit = tongban_cert::issuer_credit_code("140100", office).unwrap();
    let mut rogue = Issuer {
        office_id: office.to_owned(),
        name: "太原市民政局".to_owned(),
        credit_code: credit.clone(),
        province: "14".to_owned(),
        key_id: key.id().clone(),
        public_key: key.public(),
        valid_until: None,
        retired_at: None,
        root_signature: Vec::new(),
    };
    endorse(&root, &mut rogue);
    let pool = tongban_store::connect(env.database_url(), "certificate", 1).await?;
    sqlx::query("INSERT INTO trust_roots (province, key_id, public_key) VALUES ('14', $1, $2)")
        .bind(root.id().as_str())
        .bind(root.public().to_hex())
        .execute(&pool)
        .await?;
    sqlx::query(
        "INSERT INTO trust_issuers
             (key_id, office_id, name, credit_code, province, public_key, root_signature)
         VALUES ($1, $2, $3, $4, '14', $5, $6)",
    )
    .bind(rogue.key_id.as_str())
    .bind(office)
    .bind(&rogue.name)
    .bind(credit.as_str())
    .bind(key.public().to_hex())
    .bind(&rogue.root_signature)
    .execute(&pool)
    .await?;
    pool.close().await;
    let now = env.clock().now();
    let forged = Certificate::new(Draft {
        identifier: CertificateId::new(
            tongban_cert::identifier::TypeCode::parse("113")?,
            credit,
            1,
            1,
        )?,
        holder_name: "王小明".to_owned(),
        holder_id: HolderId::parse(HOLDER)?,
        issuer_office_id: office.to_owned(),
        issuer_name: rogue.name.clone(),
        valid_from: now - TimeDelta::days(1),
        valid_until: now + TimeDelta::days(30),
        issued_at: now,
        fields: Vec::new(),
        key_id: key.id().clone(),
    })?;
    let forged = tongban_cert::token::encode(&forged, &key)?;

    let service = env.spawn::<tongban_certificate::Application>().await?;
    let mut window = client(service.port(), &env.mint(Role::Clerk, WINDOW));
    let answer = window
        .verify_certificate(VerifyCertificateRequest {
            token: forged,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(!answer.valid);
    assert!(
        answer
            .failures
            .contains(&VerificationFailure::UntrustedIssuer.into()),
        "{answer:?}"
    );
    assert!(answer.certificate.is_none());
    let listed = window
        .list_trusted_issuers(ListTrustedIssuersRequest::default())
        .await?
        .into_inner();
    assert!(
        listed.roots.iter().all(|r| r.province != "14"),
        "{listed:?}"
    );
    assert!(listed.issuers.iter().all(|i| i.office_id != office));
    // The deployment's own root is pinned in the state directory and still trusted.
    let pins = std::fs::read_to_string(
        env.settings(tongban_certificate::SERVICE)
            .state_dir
            .join("certificate")
            .join("trust.toml"),
    )?;
    assert!(pins.contains("province = \"64\""), "{pins}");
    assert!(!pins.contains("province = \"14\""), "{pins}");
    let again = window
        .verify_certificate(VerifyCertificateRequest {
            token: own,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(again.valid, "{:?}", again.failures);
    service.stop().await?;
    env.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn a_rotated_out_key_refuses_certificates_dated_after_its_rotation()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let service = env.spawn::<tongban_certificate::Application>().await?;
    let mut issuer = client(service.port(), &env.mint(Role::Issuer, ISSUER));
    let mut window = client(service.port(), &env.mint(Role::Clerk, WINDOW));
    let before = issue(&mut issuer, &env).await;
    // The old private key, as someone who copied it before the rotation would hold it.
    let key_file = env
        .settings(tongban_certificate::SERVICE)
        .state_dir
        .join("certificate")
        .join("issuers")
        .join(format!("{ISSUER}.key"));
    let secret = unhex(std::fs::read_to_string(&key_file)?.trim()).ok_or("key file")?;
    let old = KeyPair::from_secret(ISSUER, &secret)?;
    issuer
        .rotate_issuer_key(RotateIssuerKeyRequest::default())
        .await?;
    let now = env.clock().now();

    // Same identifier (status 01 on record), signed with the old key, dated after the rotation.
    let shown = before.certificate.unwrap();
    let forged = Certificate::new(Draft {
        identifier: CertificateId::parse(&shown.identifier)?,
        holder_name: "王小明".to_owned(),
        holder_id: HolderId::parse(HOLDER)?,
        issuer_office_id: ISSUER.to_owned(),
        issuer_name: shown.issuer_name.clone(),
        valid_from: now - TimeDelta::days(1),
        valid_until: now + TimeDelta::days(30),
        issued_at: now + TimeDelta::minutes(1),
        fields: vec![Field {
            name: "spouse_name".to_owned(),
            value: "张三".to_owned(),
        }],
        key_id: old.id().clone(),
    })?;
    let forged = tongban_cert::token::encode(&forged, &old)?;
    let answer = window
        .verify_certificate(VerifyCertificateRequest {
            token: forged,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(
        !answer.valid,
        "a certificate dated after the rotation verified"
    );
    assert_eq!(
        answer.failures,
        [i32::from(VerificationFailure::UntrustedIssuer)],
        "{answer:?}"
    );
    assert!(answer.certificate.is_none());
    // What the key signed before its rotation still verifies.
    let kept = window
        .verify_certificate(VerifyCertificateRequest {
            token: before.token,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(kept.valid, "{:?}", kept.failures);
    service.stop().await?;
    env.cleanup().await?;
    Ok(())
}
