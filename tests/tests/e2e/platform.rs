//! What every server offers operators and generic clients: `grpc.health.v1` (SERVING while up)
//! and server reflection listing the tongban services, without a token — on all six servers.

use tokio_stream::StreamExt as _;
use tongban_e2e::{Certificate, Hotline, Intake, Logistics, Review, Supervision, start};
use tongban_testkit::channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::TestResult;

/// Health and the service names reflection lists on the server at `port`.
async fn probe(port: u16) -> Result<(ServingStatus, Vec<String>), Box<dyn std::error::Error>> {
    let mut health = HealthClient::new(channel(port));
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner()
        .status();
    let mut reflection = ServerReflectionClient::new(channel(port));
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    let mut names = Vec::new();
    if let Some(response) = responses.next().await
        && let Some(MessageResponse::ListServicesResponse(list)) = response?.message_response
    {
        names = list.service.into_iter().map(|s| s.name).collect();
    }
    Ok((status, names))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_on_every_server() -> TestResult {
    let (env, [intake, review, hotline]) = start::<(Intake, Review, Hotline)>().await?;
    let certificate = env.spawn::<Certificate>().await?;
    let logistics = env.spawn::<Logistics>().await?;
    let supervision = env.spawn::<Supervision>().await?;
    for (port, expected) in [
        (
            intake.port(),
            vec![
                "tongban.catalog.v1.CatalogService",
                "tongban.intake.v1.IntakeService",
            ],
        ),
        (review.port(), vec!["tongban.review.v1.ReviewService"]),
        (hotline.port(), vec!["tongban.hotline.v1.HotlineService"]),
        (
            certificate.port(),
            vec!["tongban.certificate.v1.CertificateService"],
        ),
        (
            logistics.port(),
            vec!["tongban.logistics.v1.LogisticsService"],
        ),
        (
            supervision.port(),
            vec!["tongban.supervision.v1.SupervisionService"],
        ),
    ] {
        let (status, names) = probe(port).await?;
        assert_eq!(status, ServingStatus::Serving, "port {port}");
        for name in expected {
            assert!(
                names.iter().any(|n| n == name),
                "{name} not listed by reflection on port {port}: {names:?}"
            );
        }
        assert!(
            names.iter().any(|n| n == "grpc.health.v1.Health"),
            "health not listed: {names:?}"
        );
    }
    env.cleanup().await?;
    Ok(())
}
