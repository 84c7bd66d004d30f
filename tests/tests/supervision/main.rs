//! End-to-end tests of time-limit supervision (issue 5), a test binary of its own:
//! `cargo test -p tongban-e2e --test supervision` (PostgreSQL on 127.0.0.1:5432 and NATS with
//! JetStream on 127.0.0.1:4222, or `TONGBAN_TEST_DATABASE_URL` / `TONGBAN_TEST_NATS_URL`).

mod deadlines;
mod joint;

/// What every test returns: any error fails it with its Debug form.
type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The figures of every office (GetStatistics grouped by office).
async fn office_statistics(
    supervisor: &tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient<
        tongban_e2e::Authed,
    >,
) -> Result<tongban_proto::supervision::v1::Statistics, tonic::Status> {
    let request = tongban_proto::supervision::v1::GetStatisticsRequest {
        group_by: "office".to_owned(),
        ..Default::default()
    };
    Ok(supervisor
        .clone()
        .get_statistics(request)
        .await?
        .into_inner())
}
