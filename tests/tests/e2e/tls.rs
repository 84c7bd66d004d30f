//! gRPC over TLS: the certificate and intake services serve TLS with certificates made by
//! `deploy/lib/tls.sh` (what `deploy/up.sh` runs); a client holding the deployment's CA is
//! served, intake reaches the certificate service over https with that CA, and a client with
//! another CA — or none, in plaintext — is refused.

use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use tongban_e2e::{Authed, Certificate, ID_NUMBER, Intake, NAME, WINDOW, YINCHUAN_GONGAN};
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::certificate::v1::certificate_service_client::CertificateServiceClient;
use tongban_proto::certificate::v1::{CertificateField, IssueCertificateRequest};
use tongban_proto::common::v1::{MaterialForm, Mode, PresentedMaterial};
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_runtime::auth::Role;
use tongban_runtime::clock::Clock as _;
use tongban_runtime::convert::timestamp;
use tongban_runtime::tls::{ServerFiles, endpoint};
use tongban_testkit::{Bearer, Running, TestEnv};
use tonic::transport::Channel;

use crate::TestResult;

/// 户籍迁移（跨省）: its 户口簿 may be presented as an e-certificate.
const MIGRATION: &str = "GA-HJ-QY-GZDD";

/// Runs `deploy/lib/tls.sh dir services…`, the script `deploy/up.sh` makes its CA with.
fn make_certificates(dir: &Path, services: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/lib/tls.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(dir)
        .args(services)
        .status()?;
    if !status.success() {
        return Err(format!("deploy/lib/tls.sh failed: {status}").into());
    }
    Ok(())
}

fn files(dir: &Path, service: &str) -> ServerFiles {
    ServerFiles {
        cert: dir.join(format!("{service}.pem")),
        key: dir.join(format!("{service}.key")),
    }
}

/// A channel to `https://localhost:port` that trusts `ca`, connected now.
async fn tls_channel(port: u16, ca: &Path) -> Result<Channel, Box<dyn std::error::Error>> {
    Ok(endpoint(&format!("https://localhost:{port}"), Some(ca))?
        .connect()
        .await?)
}

#[tokio::test]
async fn services_serve_tls_that_only_the_deployment_ca_verifies() -> TestResult {
    let env = TestEnv::new().await?;
    let base = env.settings("certificate").state_dir;
    let tls: PathBuf = base.join("tls");
    let other: PathBuf = base.join("other-ca");
    make_certificates(&tls, &["certificate", "intake"])?;
    make_certificates(&other, &["certificate"])?;
    let ca = tls.join("ca.pem");
    for key in ["ca.key", "certificate.key", "intake.key"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(tls.join(key))?.permissions(),
        );
        assert_eq!(
            mode & 0o077,
            0,
            "{key} is readable by group or others: {mode:o}"
        );
    }

    let mut settings = env.settings(tongban_certificate::SERVICE);
    settings.tls = Some(files(&tls, "certificate"));
    let cert = Running::start::<Certificate>(settings).await?;
    let mut settings = env.settings(tongban_intake::SERVICE);
    settings.tls = Some(files(&tls, "intake"));
    settings.certificate_url = format!("https://127.0.0.1:{}", cert.port());
    settings.tls_ca = Some(ca.clone());
    let intake = Running::start::<Intake>(settings).await?;

    // A client with the deployment's CA is served (SAN localhost; 127.0.0.1 for intake below).
    let mut issuer = CertificateServiceClient::with_interceptor(
        tls_channel(cert.port(), &ca).await?,
        Bearer::new(&env.mint(Role::Issuer, YINCHUAN_GONGAN)),
    );
    let now = env.clock().now();
    let household = issuer
        .issue_certificate(IssueCertificateRequest {
            type_code: "112".to_owned(),
            holder_name: NAME.to_owned(),
            holder_id_number: ID_NUMBER.to_owned(),
            valid_from: Some(timestamp(now - TimeDelta::days(100))),
            valid_until: Some(timestamp(now + TimeDelta::days(3650))),
            fields: vec![CertificateField {
                name: "address".to_owned(),
                value: "银川市金凤区北京中路 1 号".to_owned(),
            }],
            case_id: String::new(),
        })
        .await?
        .into_inner();

    // Intake verifies the presented e-certificate by calling the certificate service over https
    // with the CA: the 户口簿 is satisfied and the case accepted.
    let clerk = env.mint(Role::Clerk, WINDOW);
    let intake_channel = endpoint(&format!("https://127.0.0.1:{}", intake.port()), Some(&ca))?
        .connect()
        .await?;
    let mut catalog =
        CatalogServiceClient::with_interceptor(intake_channel.clone(), Bearer::new(&clerk));
    let mut request = tongban_e2e::submit_request(
        &mut catalog,
        &format!("tls-{}", uuid::Uuid::new_v4().simple()),
        MIGRATION,
        "640104",
        Mode::Online,
    )
    .await?;
    let material = request
        .materials
        .iter_mut()
        .find(|m| m.material_code == "HKB")
        .ok_or("the matter has no HKB material")?;
    *material = PresentedMaterial {
        material_code: "HKB".to_owned(),
        form: MaterialForm::Certificate.into(),
        certificate_token: household.token.clone(),
        ..Default::default()
    };
    let mut window: IntakeServiceClient<Authed> =
        IntakeServiceClient::with_interceptor(intake_channel, Bearer::new(&clerk));
    let accepted = window.submit_case(request).await?.into_inner();
    assert!(!accepted.case_id.is_empty());

    // Another CA does not verify the server: the handshake fails, nothing is served.
    let refused = tls_channel(cert.port(), &other.join("ca.pem")).await;
    assert!(refused.is_err(), "a client with another CA was served");
    // Neither is a plaintext client.
    let mut plain = CertificateServiceClient::with_interceptor(
        tongban_testkit::channel(cert.port()),
        Bearer::new(&env.mint(Role::Issuer, YINCHUAN_GONGAN)),
    );
    let plain = plain
        .list_trusted_issuers(tongban_proto::certificate::v1::ListTrustedIssuersRequest::default())
        .await;
    assert!(plain.is_err(), "a plaintext client was served: {plain:?}");
    // And https without any CA is refused before a connection is made.
    assert!(endpoint(&format!("https://localhost:{}", cert.port()), None).is_err());

    tongban_e2e::shut_down(env, [intake, cert]).await?;
    Ok(())
}
