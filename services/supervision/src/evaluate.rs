//! The evaluation loop: at each tick, reads the clock (`state.clock`, so tests and the demo can
//! run "as of" another moment), finds through the `next_check_at` index every case with a
//! warning or breach due and every ticket with a milestone missed, and raises each in one
//! transaction with its alert row (unique per case, stage and kind) and its outbox event —
//! exactly once across redelivery, restarts and several replicas (`FOR UPDATE SKIP LOCKED`).
//! Alerts and tickets go to the office holding the case up at that moment: the responsible
//! office, or for a 多地联办 case the office of its first open part ([`parts::accountable_office`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tongban_domain::reference::ReferenceData;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_runtime::clock::SharedClock;
use tongban_runtime::convert::timestamp;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::clock::{AlertKind, Due, WHOLE_CASE};
use crate::config::Config;
use crate::level;
use crate::parts;
use crate::repo::{self, AlertRow, ClockRow};
use crate::tickets::{self, NewTicket, TicketError};

/// Cases (or tickets) handled per transaction.
const BATCH: i64 = 100;
/// Transactions of a pass running side by side (each on its own connection).
const WORKERS: usize = 4;

/// Why a pass failed (it is retried at the next tick).
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// A statement failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The outbox refused an event.
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
    /// A ticket could not be opened or escalated.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// A worker of the pass ended abnormally.
    #[error("evaluation worker failed: {0}")]
    Worker(String),
}

/// What one pass raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Cases looked at (something was due for each).
    pub cases: usize,
    /// `deadline.warning` events published.
    pub warnings: usize,
    /// `deadline.breached` events published.
    pub breaches: usize,
    /// Ticket escalations.
    pub escalations: usize,
}

/// Runs evaluation passes over the `supervision` schema.
#[derive(Clone)]
pub struct Evaluator {
    pool: PgPool,
    reference: Arc<ReferenceData>,
    config: Config,
}

impl Evaluator {
    /// An evaluator on `pool` (search path `supervision`).
    #[must_use]
    pub fn new(pool: PgPool, reference: Arc<ReferenceData>, config: Config) -> Self {
        Self {
            pool,
            reference,
            config,
        }
    }

    /// Runs a pass every tick until `shutdown` is cancelled; the pass in hand finishes first.
    pub async fn run(self, clock: SharedClock, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(self.config.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticks.tick() => {}
            }
            match self.pass(clock.now()).await {
                Ok(report) if report != PassReport::default() => {
                    tracing::debug!(?report, "evaluation pass");
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "evaluation pass failed; retrying at the next tick");
                }
            }
        }
    }

    /// One pass as of `now`: every warning and breach due, every ticket milestone missed.
    /// [`WORKERS`] transactions run side by side, each taking the next [`BATCH`] due cases
    /// (`SKIP LOCKED`), until none is left.
    ///
    /// # Errors
    /// See [`EvaluationError`]; what was committed before the failure stays raised.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<PassReport, EvaluationError> {
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..WORKERS {
            let evaluator = self.clone();
            workers.spawn(async move { evaluator.drain(now).await });
        }
        let mut report = PassReport::default();
        let mut failure = None;
        while let Some(joined) = workers.join_next().await {
            match joined {
                Ok(Ok(part)) => {
                    report.cases += part.cases;
                    report.warnings += part.warnings;
                    report.breaches += part.breaches;
                }
                Ok(Err(err)) => failure = Some(err),
                // A worker task cannot panic short of a bug; report it like a failed pass.
                Err(join) => failure = Some(EvaluationError::Worker(join.to_string())),
            }
        }
        if let Some(err) = failure {
            return Err(err);
        }
        loop {
            let mut tx = self.pool.begin().await?;
            let escalated = tickets::escalate_due(&mut tx, now, BATCH).await?;
            tx.commit().await?;
            report.escalations += escalated;
            if escalated == 0 {
                break;
            }
        }
        Ok(report)
    }

    /// One worker of a pass: batches of due cases until none is left.
    async fn drain(&self, now: DateTime<Utc>) -> Result<PassReport, EvaluationError> {
        let mut report = PassReport::default();
        loop {
            let mut tx = self.pool.begin().await?;
            let due = repo::lock_due(&mut tx, now, BATCH).await?;
            let count = due.len();
            for row in due {
                self.raise(&mut tx, row, now, &mut report).await?;
            }
            tx.commit().await?;
            report.cases += count;
            if i64::try_from(count).unwrap_or(i64::MAX) < BATCH {
                return Ok(report);
            }
        }
    }

    /// Raises what is due for one locked case and writes its clock back.
    async fn raise(
        &self,
        conn: &mut PgConnection,
        mut row: ClockRow,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<(), EvaluationError> {
        let due_moment = row.tracked.case_deadline().and_then(|d| d.due_at);
        let span = tracing::info_span!(
            "evaluate deadlines",
            tongban.case_number = %row.case_number,
            tongban.matter_code = %row.matter_code,
            tongban.stage = row.tracked.current_stage().unwrap_or_default(),
            tongban.due_at = due_moment.map(|d| d.to_rfc3339()).unwrap_or_default(),
        );
        if let Some(parent) = row.traceparent.as_deref() {
            // Days after acceptance, the check still joins the case's trace.
            tongban_telemetry::set_parent_from_traceparent(
                &span,
                parent,
                row.tracestate.as_deref(),
            );
        }
        async {
            let raised = row.tracked.0.take_due(now);
            if raised.is_empty() {
                repo::save(conn, &row).await?;
                return Ok(());
            }
            let office =
                parts::accountable_office(&row.parts, &row.responsible_office_id).to_owned();
            if office != row.responsible_office_id {
                tracing::info!(
                    office = %office,
                    responsible = %row.responsible_office_id,
                    "joint case held up by another part's office"
                );
            }
            let level = level::of_office(&self.reference, &office);
            let stored: Vec<AlertRow> = raised
                .iter()
                .map(|alert| AlertRow {
                    alert_id: Uuid::now_v7(),
                    case_id: row.case_id,
                    case_number: row.case_number.clone(),
                    kind: alert.kind.code().to_owned(),
                    stage: alert.stage.clone(),
                    office_id: office.clone(),
                    scope: row.scope.clone(),
                    level,
                    due_at: alert.due_at,
                    raised_at: now,
                })
                .collect();
            // Only what no earlier pass (before a crash, or another replica) raised.
            let new = repo::insert_alerts(conn, &stored).await?;
            let mut breached = false;
            for alert in &raised {
                if !new
                    .iter()
                    .any(|(stage, kind)| *stage == alert.stage && kind == alert.kind.code())
                {
                    continue;
                }
                self.publish(conn, &mut row, &office, alert, now).await?;
                match alert.kind {
                    AlertKind::Warning => report.warnings += 1,
                    AlertKind::Breach => {
                        report.breaches += 1;
                        breached = true;
                    }
                }
            }
            if breached {
                self.open_ticket(conn, &row, &office, level, now).await?;
            }
            repo::save(conn, &row).await?;
            Ok::<_, EvaluationError>(())
        }
        .instrument(span)
        .await
    }

    /// Publishes one newly recorded alert against `office` (a span event too).
    async fn publish(
        &self,
        conn: &mut PgConnection,
        row: &mut ClockRow,
        office: &str,
        alert: &Due,
        now: DateTime<Utc>,
    ) -> Result<(), EvaluationError> {
        let stage_label = if alert.stage == WHOLE_CASE {
            "case"
        } else {
            alert.stage.as_str()
        };
        let body = match alert.kind {
            AlertKind::Warning => {
                tracing::info!(
                    tongban.stage = stage_label,
                    tongban.due_at = %alert.due_at.to_rfc3339(),
                    description = "办理时限预警 / deadline warning",
                    "deadline.warning"
                );
                Body::DeadlineWarning(ev::DeadlineWarning {
                    stage: alert.stage.clone(),
                    due_at: Some(timestamp(alert.due_at)),
                    office_id: office.to_owned(),
                })
            }
            AlertKind::Breach => {
                // A tracing event inside the span: the breach is a span event of the case's trace.
                // Its message names the span event.
                tracing::warn!(
                    tongban.stage = stage_label,
                    tongban.due_at = %alert.due_at.to_rfc3339(),
                    description = "办理超期 / deadline breached",
                    "deadline.breached"
                );
                if alert.stage == WHOLE_CASE {
                    row.case_breached = true;
                    row.breached_office_id = Some(office.to_owned());
                }
                Body::DeadlineBreached(ev::DeadlineBreached {
                    stage: alert.stage.clone(),
                    due_at: Some(timestamp(alert.due_at)),
                    office_id: office.to_owned(),
                })
            }
        };
        crate::publish(conn, row.case_id, &row.case_number, now, body).await?;
        Ok(())
    }

    /// A breach opens the case's 督办 ticket for `office` (once per case: its source is the
    /// case).
    async fn open_ticket(
        &self,
        conn: &mut PgConnection,
        row: &ClockRow,
        office: &str,
        level: i16,
        now: DateTime<Utc>,
    ) -> Result<(), EvaluationError> {
        let opened = tickets::open(
            conn,
            &self.reference.calendar,
            &self.config,
            NewTicket {
                source: format!("breach:{}", row.case_id),
                case_id: row.case_id,
                case_number: &row.case_number,
                office_id: office,
                reason: "breach",
                level,
                opened_at: now,
                traceparent: row.traceparent.clone(),
            },
        )
        .await;
        match opened {
            Ok(_) => Ok(()),
            // Milestones beyond the holiday data: the breach stands, the ticket waits until the
            // data is there (the error is reported, never guessed around).
            Err(TicketError::Calendar(err)) => {
                tracing::error!(error = %err, "督办 ticket not opened: no holiday data");
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }
}
