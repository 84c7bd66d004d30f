//! The lifecycle benchmark for a few seconds against intake, review and hotline started in this
//! process (each on its own database schema and JetStream stream, see tongban-testkit).

use std::time::Duration;

use tongban_bench::{Config, LoadMode, run_lifecycle};
use tongban_domain::i18n::Lang;
use tongban_testkit::{Running, TestEnv};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn url(service: &Running) -> String {
    format!("http://127.0.0.1:{}", service.port())
}

async fn run(mode: LoadMode) -> TestResult {
    let env = TestEnv::new().await?;
    let intake = env.spawn::<tongban_intake::Application>().await?;
    let review = env.spawn::<tongban_review::Application>().await?;
    let hotline = env.spawn::<tongban_hotline::Application>().await?;
    let config = Config {
        intake_url: url(&intake),
        review_url: url(&review),
        hotline_url: url(&hotline),
        database_url: env.database_url().to_owned(),
        nats_url: std::env::var("TONGBAN_TEST_NATS_URL")
            .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned()),
        state_dir: env.settings("bench").state_dir,
        mode,
        clerks: 2,
        reviewers: 2,
        hotline_rate: 5.0,
        duration: Duration::from_secs(4),
        drain: Duration::from_secs(30),
        floor: Duration::from_millis(500),
        floor_connections: 2,
        pairs_per_lifecycle: 7.0,
        sweep_interval: Duration::from_secs(1),
        lang: Lang::En,
    };
    let report = run_lifecycle(&config).await;
    for service in [hotline, review, intake] {
        service.stop().await?;
    }
    env.cleanup().await?;
    let report = report?;
    println!("{}", report.render(Lang::En));
    println!("{}", report.render(Lang::Zh));

    assert!(
        report.completed_total >= 1,
        "no lifecycle completed: {report:#?}"
    );
    assert!(report.is_consistent(), "inconsistent: {report:#?}");
    assert!(report.submitted >= report.decided && report.decided >= report.completed);
    assert_eq!(
        report.unfinished, 0,
        "cases left after the drain: {report:#?}"
    );
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.rpc != "SubmitCase" && e.rpc != "DecideCase"),
        "requests refused: {:?}",
        report.errors
    );
    assert!(report.lifecycles_per_sec > 0.0 || report.completed == 0);
    assert_eq!(
        report.latency.submit_case.count, report.submitted_total,
        "one SubmitCase sample per accepted case"
    );
    let floor = report.floor.as_ref().ok_or("no floor")?;
    assert!(floor.pg_commits_per_sec > 0.0 && floor.acked_publishes_per_sec > 0.0);
    assert!(floor.pairs_per_sec > 0.0);
    let ratio = report.floor_ratio.as_ref().ok_or("no ratio")?;
    assert!(ratio.ratio >= 0.0 && ratio.formula.contains('/'));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_lifecycles_complete_with_consistent_numbers() -> TestResult {
    run(LoadMode::Mixed).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_window_lifecycles_complete() -> TestResult {
    run(LoadMode::SingleWindow).await
}
