//! End-to-end tests of time-limit supervision (issue 5), a test binary of its own:
//! `cargo test -p tongban-e2e --test supervision` (PostgreSQL on 127.0.0.1:5432 and NATS with
//! JetStream on 127.0.0.1:4222, or `TONGBAN_TEST_DATABASE_URL` / `TONGBAN_TEST_NATS_URL`).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod deadlines;
mod joint;

use std::time::Duration;

use tongban_e2e::Authed;
use tongban_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tongban_proto::supervision::v1::{
    GetStatisticsRequest, ListTicketsRequest, Statistics, Ticket,
};
use tongban_testkit::eventually;

/// Bound for events to travel and the evaluation loop to tick (a killed consumer's unacknowledged
/// deliveries come back after the 30 s ack wait).
const PROPAGATION: Duration = Duration::from_secs(60);

/// What every test returns: any error fails it with its Debug form.
type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The figures of every office (GetStatistics grouped by office).
async fn office_statistics(
    supervisor: &SupervisionServiceClient<Authed>,
) -> Result<Statistics, tonic::Status> {
    let request = GetStatisticsRequest {
        group_by: "office".to_owned(),
        ..Default::default()
    };
    Ok(supervisor
        .clone()
        .get_statistics(request)
        .await?
        .into_inner())
}

/// Waits for the 13710 ticket of case `case_id` opened for `reason` ("breach", "complaint",
/// "bad_rating").
async fn ticket_for(
    supervisor: &SupervisionServiceClient<Authed>,
    case_id: &str,
    reason: &str,
) -> Result<Ticket, String> {
    eventually(PROPAGATION, || async {
        supervisor
            .clone()
            .list_tickets(ListTicketsRequest::default())
            .await
            .ok()?
            .into_inner()
            .tickets
            .into_iter()
            .find(|t| t.case_id == case_id && t.reason == reason)
    })
    .await
    .map_err(|e| format!("a {reason} ticket: {e}"))
}
