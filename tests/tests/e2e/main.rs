//! End-to-end tests: the real services on port 0 against the real PostgreSQL and NATS
//! JetStream, each test in its own [`tongban_testkit::TestEnv`]. Run with
//! `cargo test -p tongban-e2e` (PostgreSQL on 127.0.0.1:5432 and nats-server >= 2.10 with
//! JetStream on 127.0.0.1:4223 as `deploy/lib/deps.sh` starts it, or
//! `TONGBAN_TEST_DATABASE_URL` / `TONGBAN_TEST_NATS_URL`).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod audit;
mod bundle;
mod bundle_order;
mod certificate;
mod consumer_filters;
mod events;
mod hotline;
mod intake;
mod intake_limits;
mod joint;
mod logistics;
mod masking;
mod metrics;
mod platform;
mod rebuild;
mod review;
mod review_hardening;
mod tokens;
mod watch;
mod watch_limits;

/// What every test returns: any error fails it with its Debug form.
type TestResult = Result<(), Box<dyn std::error::Error>>;
mod db_roles;
mod tls;
