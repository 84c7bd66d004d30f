//! Prometheus metrics end to end: intake and the hotline serve `/metrics` beside gRPC; after a
//! submission, a refused request and a hotline lookup, the RPC counters (by method and code),
//! the RPC duration histogram, the relay's outbox counters and gauges and the hotline consumer's
//! batch sizes, lag and deliveries have moved. Values only: counters are process-wide and other
//! tests run beside this one, so each is compared with its value before.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tongban_e2e::{
    Hotline, Intake, WINDOW, catalog, hotline, hotline_until, intake, shut_down, start,
    submit_request,
};
use tongban_proto::common::v1::Mode;
use tongban_proto::hotline::v1::QueryCaseStatusRequest;
use tongban_runtime::auth::Role;
use tongban_testkit::eventually;

use crate::TestResult;

/// The body of `GET /metrics` on `port`, over plain HTTP/1.1.
async fn scrape(port: u16) -> Result<String, Box<dyn std::error::Error>> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("no HTTP header end")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    Ok(body.to_owned())
}

/// The value of the sample `name{labels}` (labels as the exposition writes them, sorted), 0
/// when absent.
fn sample(body: &str, name: &str, labels: &str) -> f64 {
    let key = if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{labels}}}")
    };
    body.lines()
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0.0)
}

/// Whether some sample of `name` has a label set containing `part`.
fn has_sample(body: &str, name: &str, part: &str) -> bool {
    body.lines()
        .any(|line| line.starts_with(&format!("{name}{{")) && line.contains(part))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_rpcs_outbox_and_consumers() -> TestResult {
    let (env, [intake_svc, hotline_svc]) = start::<(Intake, Hotline)>().await?;
    // Each endpoint is bound as its server starts serving, just after the service is built.
    let endpoint = async |grpc: u16| {
        eventually(Duration::from_secs(20), || async {
            tongban_runtime::metrics::metrics_port(grpc)
        })
        .await
    };
    let intake_metrics = endpoint(intake_svc.port()).await?;
    let hotline_metrics = endpoint(hotline_svc.port()).await?;

    const SUBMIT: &str =
        "code=\"Ok\",method=\"SubmitCase\",service=\"tongban.intake.v1.IntakeService\"";
    const REFUSED: &str = "code=\"NotFound\",method=\"QueryCaseStatus\",service=\"tongban.hotline.v1.HotlineService\"";
    const CONSUMER: &str = "consumer=\"hotline-case-events\"";
    let before = scrape(intake_metrics).await?;
    let submitted_before = sample(&before, "tongban_rpc_requests_total", SUBMIT);
    let relayed_before = sample(
        &before,
        "tongban_outbox_published_total",
        "schema=\"intake\"",
    );
    let hotline_before = scrape(hotline_metrics).await?;
    let refused_before = sample(&hotline_before, "tongban_rpc_requests_total", REFUSED);
    let batches_before = sample(
        &hotline_before,
        "tongban_consumer_batch_size_count",
        CONSUMER,
    );
    let acked_before = sample(
        &hotline_before,
        "tongban_consumer_deliveries_total",
        "consumer=\"hotline-case-events\",outcome=\"ack\"",
    );

    let clerk = env.mint(Role::Clerk, WINDOW);
    let request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "metrics-1",
        "GA-HJ-ZM",
        "640104",
        Mode::Online,
    )
    .await?;
    let number = intake(intake_svc.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner()
        .case_number;
    let mut calls = hotline(hotline_svc.port(), &env.mint(Role::Hotline, "12345"));
    hotline_until(&calls, &number, "the hotline sees the case", |_| true).await?;
    let refused = calls
        .query_case_status(QueryCaseStatusRequest {
            case_number: number.clone(),
            verification: "000000".to_owned(),
        })
        .await
        .expect_err("a wrong verification is refused");
    assert_eq!(refused.code(), tonic::Code::NotFound);

    let after = scrape(intake_metrics).await?;
    assert!(
        sample(&after, "tongban_rpc_requests_total", SUBMIT) >= submitted_before + 1.0,
        "{after}"
    );
    assert!(
        has_sample(
            &after,
            "tongban_rpc_duration_seconds_count",
            "method=\"SubmitCase\""
        ),
        "{after}"
    );
    assert!(has_sample(
        &after,
        "tongban_outbox_depth",
        "schema=\"intake\""
    ));
    assert!(has_sample(
        &after,
        "tongban_outbox_age_seconds",
        "schema=\"intake\""
    ));
    // The relay counts what it published; it may count after the consumer saw the event.
    let relayed = eventually(Duration::from_secs(20), || async {
        let body = scrape(intake_metrics).await.ok()?;
        (sample(&body, "tongban_outbox_published_total", "schema=\"intake\"") > relayed_before)
            .then_some(())
    })
    .await;
    assert!(relayed.is_ok(), "the relay's counter never moved");

    let hotline_after = scrape(hotline_metrics).await?;
    assert!(
        sample(&hotline_after, "tongban_rpc_requests_total", REFUSED) >= refused_before + 1.0,
        "{hotline_after}"
    );
    assert!(
        has_sample(&hotline_after, "tongban_consumer_lag", CONSUMER),
        "{hotline_after}"
    );
    // A delivery is counted once it is acknowledged, just after its effect is visible.
    let consumed = eventually(Duration::from_secs(20), || async {
        let body = scrape(hotline_metrics).await.ok()?;
        let batches = sample(&body, "tongban_consumer_batch_size_count", CONSUMER);
        let acked = sample(
            &body,
            "tongban_consumer_deliveries_total",
            "consumer=\"hotline-case-events\",outcome=\"ack\"",
        );
        (batches > batches_before && acked > acked_before).then_some(())
    })
    .await;
    assert!(consumed.is_ok(), "the consumer's counters never moved");

    shut_down(env, [hotline_svc, intake_svc]).await?;
    Ok(())
}
