//! The event stream's retention limit against a real JetStream server: a new stream is created
//! with a 30-day `max_age`, and an existing stream without one (a deployment from before the
//! limit) gets it when a service connects.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use tongban_bus::{Bus, BusConfig};
use tongban_testkit::TestEnv;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const THIRTY_DAYS: Duration = Duration::from_secs(30 * 24 * 60 * 60);

fn nats_url() -> String {
    std::env::var("TONGBAN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

async fn max_age_of(env: &TestEnv) -> Result<Duration, Box<dyn std::error::Error>> {
    let client = async_nats::connect(nats_url()).await?;
    let mut stream = jetstream::new(client).get_stream(env.stream()).await?;
    Ok(stream.info().await?.config.max_age)
}

async fn connect(env: &TestEnv) -> Result<Bus, tongban_bus::BusError> {
    Bus::connect(BusConfig {
        url: nats_url(),
        stream: env.stream().to_owned(),
        subject_root: env.subject_root().to_owned(),
    })
    .await
}

#[tokio::test]
async fn a_new_stream_keeps_events_thirty_days() -> TestResult {
    let env = TestEnv::new().await?;
    let _bus = connect(&env).await?;
    assert_eq!(max_age_of(&env).await?, THIRTY_DAYS);
    env.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn an_unbounded_stream_gets_the_limit_when_a_service_connects() -> TestResult {
    let env = TestEnv::new().await?;
    let client = async_nats::connect(nats_url()).await?;
    jetstream::new(client)
        .create_stream(stream::Config {
            name: env.stream().to_owned(),
            subjects: vec![format!("{}.>", env.subject_root())],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await?;
    assert_eq!(max_age_of(&env).await?, Duration::ZERO, "unbounded before");
    let _bus = connect(&env).await?;
    assert_eq!(max_age_of(&env).await?, THIRTY_DAYS);
    env.cleanup().await?;
    Ok(())
}
