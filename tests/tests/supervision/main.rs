//! End-to-end tests of time-limit supervision (issue 5), a test binary of its own:
//! `cargo test -p tongban-e2e --test supervision` (PostgreSQL on 127.0.0.1:5432 and NATS with
//! JetStream on 127.0.0.1:4222, or `TONGBAN_TEST_DATABASE_URL` / `TONGBAN_TEST_NATS_URL`).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod deadlines;
mod joint;

/// What every test returns: any error fails it with its Debug form.
type TestResult = Result<(), Box<dyn std::error::Error>>;
