//! tongban-bench: the lifecycle benchmark of a running tongban deployment.
//!
//! [`run_lifecycle`] drives only the public gRPC API — window clerks submit cases (SubmitCase),
//! each responsible office's reviewers take them from their inbox's watch stream
//! (WatchAssignments), claim and approve them (ClaimCase, DecideCase), optional 12345 look-ups
//! (QueryCaseStatus) run alongside — and observes each case until it completes (办结). Before
//! the load it measures the same-run floor (raw PostgreSQL commits and acknowledged JetStream
//! publishes, see [`floor`]) and reports the lifecycle rate against it. The `tongban-bench`
//! binary wraps it.

pub mod applicant;
pub mod config;
pub mod error;
pub mod floor;
pub mod lifecycle;
pub mod report;
pub mod stats;

pub use config::{Config, LoadMode};
pub use error::BenchError;
pub use lifecycle::run_lifecycle;
pub use report::Report;
