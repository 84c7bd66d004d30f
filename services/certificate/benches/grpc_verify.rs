//! VerifyCertificate throughput over gRPC: the real service on port 0 against PostgreSQL and
//! NATS (as the end-to-end tests run it), one certificate issued, then `TOTAL` verifications
//! from `CONCURRENCY` concurrent callers. Prints verifications per second overall and per core.
//!
//! Run: `cargo bench -p tongban-certificate --bench grpc_verify`.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::time::Instant;

use futures::StreamExt as _;
use tongban_proto::certificate::v1::certificate_service_client::CertificateServiceClient;
use tongban_proto::certificate::v1::{IssueCertificateRequest, VerifyCertificateRequest};
use tongban_runtime::auth::Role;
use tongban_testkit::{Bearer, TestEnv, channel};

const TOTAL: usize = 4000;
const CONCURRENCY: usize = 16;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let service = env.spawn::<tongban_certificate::Application>().await?;
    let issuer = env.mint(Role::Issuer, "640100-minzheng");
    let token =
        CertificateServiceClient::with_interceptor(channel(service.port()), Bearer::new(&issuer))
            .issue_certificate(IssueCertificateRequest {
                type_code: "113".to_owned(),
                holder_name: "王小明".to_owned(),
                holder_id_number: "11010519491231002X".to_owned(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .token;
    let clerk = env.mint(Role::Clerk, "140922-zwfw");
    let client =
        CertificateServiceClient::with_interceptor(channel(service.port()), Bearer::new(&clerk));
    let started = Instant::now();
    let valid = futures::stream::iter(0..TOTAL)
        .map(|_| {
            let mut client = client.clone();
            let token = token.clone();
            async move {
                client
                    .verify_certificate(VerifyCertificateRequest {
                        token,
                        expected_holder_id_number: "11010519491231002X".to_owned(),
                        expected_type: "113".to_owned(),
                    })
                    .await
                    .map(|r| r.into_inner().valid)
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|valid| std::future::ready(*valid))
        .count()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let rate = TOTAL as f64 / elapsed;
    println!(
        "VerifyCertificate over gRPC: {TOTAL} calls ({valid} valid) in {elapsed:.2} s = {rate:.0}/s on {cores} cores ({:.0}/s/core; client, server, PostgreSQL and NATS share them)",
        rate / cores as f64
    );
    assert_eq!(valid, TOTAL);
    service.stop().await?;
    env.cleanup().await?;
    Ok(())
}
