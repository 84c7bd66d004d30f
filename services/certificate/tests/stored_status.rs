//! A stored certificate status that is none of 01–07 is an error, never a guess: the status is
//! written straight into PostgreSQL, and GetCertificate and RevokeCertificate answer INTERNAL
//! with a reference id while VerifyCertificate fails closed. Run with
//! `cargo test -p tongban-certificate --test stored_status` (PostgreSQL and NATS as for the e2e
//! tests).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use tongban_proto::certificate::v1::certificate_service_client::CertificateServiceClient;
use tongban_proto::certificate::v1::{
    CertificateStatus, GetCertificateRequest, IssueCertificateRequest, RevokeCertificateRequest,
    VerificationFailure, VerifyCertificateRequest,
};
use tongban_runtime::auth::Role;
use tongban_testkit::{Bearer, TestEnv, channel};

/// 银川市公安局: issues 居民户口簿 (112).
const ISSUER: &str = "640100-gongan";

fn is_internal_with_reference(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Internal && status.message().contains("参考编号")
}

#[tokio::test]
async fn a_stored_status_that_does_not_decode_is_an_error() -> Result<(), Box<dyn std::error::Error>>
{
    let env = TestEnv::new().await?;
    let service = env.spawn::<tongban_certificate::Application>().await?;
    let mut client = CertificateServiceClient::with_interceptor(
        channel(service.port()),
        Bearer::new(&env.mint(Role::Issuer, ISSUER)),
    );
    let issued = client
        .issue_certificate(IssueCertificateRequest {
            type_code: "112".to_owned(),
            holder_name: "王小明".to_owned(),
            holder_id_number: "11010519491231002X".to_owned(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let identifier = issued.certificate.unwrap().identifier;

    let pool = tongban_store::connect(env.database_url(), "certificate", 1).await?;
    sqlx::query("UPDATE certificates SET status = '99' WHERE identifier = $1")
        .bind(&identifier)
        .execute(&pool)
        .await?;
    pool.close().await;

    let read = client
        .get_certificate(GetCertificateRequest {
            identifier: identifier.clone(),
        })
        .await
        .unwrap_err();
    assert!(is_internal_with_reference(&read), "{read:?}");

    let changed = client
        .revoke_certificate(RevokeCertificateRequest {
            identifier: identifier.clone(),
            status: CertificateStatus::Revoked.into(),
            reason: "测试".to_owned(),
        })
        .await
        .unwrap_err();
    assert!(is_internal_with_reference(&changed), "{changed:?}");

    let verified = client
        .verify_certificate(VerifyCertificateRequest {
            token: issued.token,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(!verified.valid);
    assert!(
        verified
            .failures
            .contains(&VerificationFailure::StatusUnavailable.into()),
        "{verified:?}"
    );

    service.stop().await?;
    env.cleanup().await?;
    Ok(())
}
