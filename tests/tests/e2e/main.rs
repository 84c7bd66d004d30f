//! End-to-end tests: the real services on port 0 against the real PostgreSQL and NATS
//! JetStream, each test in its own [`tongban_testkit::TestEnv`]. Run with
//! `cargo test -p tongban-e2e` (PostgreSQL on 127.0.0.1:5432 and NATS with JetStream on
//! 127.0.0.1:4222, or `TONGBAN_TEST_DATABASE_URL` / `TONGBAN_TEST_NATS_URL`).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod bundle;
mod bundle_order;
mod certificate;
mod events;
mod hotline;
mod intake;
mod intake_limits;
mod joint;
mod logistics;
mod platform;
mod review;
mod review_hardening;
mod tokens;
mod watch;

/// What every test returns: any error fails it with its Debug form.
type TestResult = Result<(), Box<dyn std::error::Error>>;
mod db_roles;
mod tls;
