//! The evaluation loop: at each tick, reads the clock (`state.clock`, so tests and the demo can
//! run "as of" another moment), finds through the `next_check_at` index every case with a
//! warning or breach due and every ticket with a milestone missed, and raises each in the same
//! transaction as its alert row (unique per case, stage and kind) and its outbox event —
//! exactly once across redelivery, restarts and several replicas (`FOR UPDATE SKIP LOCKED`).
//! Due cases are raised set-based, a batch per transaction: one statement each for the locked
//! rows, the alerts, the tickets, their milestones and the clocks written back, so 1,000 cases
//! falling due at one midnight cost a few round trips besides their outbox rows.
//! Alerts and tickets go to the office holding the case up at that moment: the responsible
//! office, or for a 多地联办 case the office of its first open part ([`parts::accountable_office`]).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_domain::calendar::CalendarError;
use tongban_domain::reference::ReferenceData;
use tongban_domain::stages::{self, AlertKind, Due, Level, TicketReason, WHOLE_CASE};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_runtime::clock::SharedClock;
use tongban_runtime::convert::timestamp;
use tongban_step::{Actor, CaseRef, Effects, Step, Trace};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::config::Config;
use crate::error::SupervisionError;
use crate::repo::{self, AlertRow, ClockRow};
use crate::tickets::{self, NewTicket};
use crate::{EXECUTOR, SERVICE, level, parts};

/// Tickets handled per transaction.
const BATCH: usize = 100;
/// Due cases raised per transaction, set-based (one statement per table for the whole batch):
/// 1,000 cases falling due at one midnight take one batch per worker.
const CASE_BATCH: usize = 250;
/// Transactions of a pass running side by side (each on its own connection).
const WORKERS: usize = 4;

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
    /// Stored cases or tickets skipped because they do not decode (each logged with its cause;
    /// nothing is raised for them on a guess).
    pub skipped: usize,
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
    /// [`WORKERS`] steps run side by side, each taking the next [`BATCH`] due cases
    /// (`SKIP LOCKED`), until none is left.
    ///
    /// # Errors
    /// See [`SupervisionError`]; what was committed before the failure stays raised.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<PassReport, SupervisionError> {
        // Every ticket a pass opens opens at `now`: its milestones are worked out once.
        let dues = Arc::new(stages::milestone_dues(
            &self.reference.calendar,
            now,
            self.config.milestones,
        ));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..WORKERS {
            let evaluator = self.clone();
            let dues = Arc::clone(&dues);
            workers.spawn(async move { evaluator.drain(now, &dues).await });
        }
        let mut report = PassReport::default();
        let mut failure = None;
        // Workers may each meet the same undecodable row: it counts once per pass.
        let mut skipped = BTreeSet::new();
        while let Some(joined) = workers.join_next().await {
            match joined {
                Ok(Ok((part, undecodable))) => {
                    report.cases += part.cases;
                    report.warnings += part.warnings;
                    report.breaches += part.breaches;
                    skipped.extend(undecodable);
                }
                Ok(Err(err)) => failure = Some(err),
                // A worker task cannot panic short of a bug; report it like a failed pass.
                Err(join) => failure = Some(SupervisionError::Worker(join.to_string())),
            }
        }
        if let Some(err) = failure {
            return Err(err);
        }
        loop {
            let mut step = EXECUTOR
                .begin(&self.pool, Actor::service(SERVICE), now)
                .await?;
            let due = tickets::lock_due(step.conn(), now, limit()).await?;
            let fetched = due.len();
            let mut decoded = 0;
            let mut escalated = 0;
            for ticket in due {
                match ticket {
                    Ok(ticket) => {
                        decoded += 1;
                        escalated += escalate(&mut step, ticket, now).await?;
                    }
                    Err(err) => {
                        skipped.insert(err.ticket_id);
                        tracing::error!(
                            ticket_id = %err.ticket_id,
                            cause = %err.source,
                            "stored ticket does not decode; not escalated"
                        );
                    }
                }
            }
            step.commit().await?;
            report.escalations += escalated;
            // Undecodable tickets stay due: stop once a batch moved nothing that decodes.
            if escalated == 0 || decoded == 0 || fetched < BATCH {
                break;
            }
        }
        report.skipped = skipped.len();
        Ok(report)
    }

    /// One worker of a pass: steps of due cases until none is left. Returns what it raised and
    /// the cases it skipped because they do not decode. Each step takes [`CASE_BATCH`] due
    /// cases and raises them set-based ([`Evaluator::raise_batch`]).
    async fn drain(
        &self,
        now: DateTime<Utc>,
        dues: &Result<[DateTime<Utc>; 4], CalendarError>,
    ) -> Result<(PassReport, BTreeSet<Uuid>), SupervisionError> {
        let mut report = PassReport::default();
        let mut skipped = BTreeSet::new();
        loop {
            let mut step = EXECUTOR
                .begin(&self.pool, Actor::service(SERVICE), now)
                .await?;
            let due = repo::lock_due(step.conn(), now, case_limit()).await?;
            let fetched = due.len();
            let mut rows = Vec::with_capacity(fetched);
            for row in due {
                match row {
                    Ok(row) => rows.push(row),
                    Err(err) => {
                        skipped.insert(err.case_id);
                        tracing::error!(
                            case_id = %err.case_id,
                            cause = %err.source,
                            "stored case clock does not decode; nothing raised for it"
                        );
                    }
                }
            }
            let decoded = rows.len();
            self.raise_batch(&mut step, rows, now, dues, &mut report)
                .await?;
            step.commit().await?;
            report.cases += decoded;
            // Undecodable rows stay due: a batch of nothing else ends the worker.
            if fetched < CASE_BATCH || decoded == 0 {
                return Ok((report, skipped));
            }
        }
    }

    /// Raises what the domain says is due for a batch of locked cases and writes their clocks
    /// back, with one statement each for the alerts, the tickets, their milestones and the
    /// clocks; then each case's effects go through the executor in the case's trace (its span
    /// carries the `deadline.warning` / `deadline.breached` span events). Alerts go against the
    /// accountable office; a breach opens the case's 督办 ticket.
    async fn raise_batch(
        &self,
        step: &mut Step,
        mut rows: Vec<ClockRow>,
        now: DateTime<Utc>,
        dues: &Result<[DateTime<Utc>; 4], CalendarError>,
        report: &mut PassReport,
    ) -> Result<(), SupervisionError> {
        // What the domain says is due for each case (pure, in memory).
        let mut pending = Vec::with_capacity(rows.len());
        let mut stored = Vec::new();
        for row in &mut rows {
            let trace = Trace::of_case("evaluate deadlines", &row.case_ref());
            let span = trace.span().clone();
            let tracked = &row.case.tracked;
            span.record("tongban.matter_code", row.matter_code.as_str());
            span.record("tongban.stage", tracked.current_stage().unwrap_or_default());
            let due_moment = tracked.case_deadline().and_then(|d| d.due_at);
            span.record(
                "tongban.due_at",
                due_moment
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default()
                    .as_str(),
            );
            let raised = row.case.take_due(now);
            let office =
                parts::accountable_office(&row.parts, &row.responsible_office_id).to_owned();
            if !raised.is_empty() && office != row.responsible_office_id {
                span.in_scope(|| {
                    tracing::info!(
                        office = %office,
                        responsible = %row.responsible_office_id,
                        "joint case held up by another part's office"
                    );
                });
            }
            let level = level::of_office(&self.reference, &office);
            stored.extend(raised.iter().map(|alert| AlertRow {
                alert_id: Uuid::now_v7(),
                case_id: row.case_id,
                case_number: row.case_number.clone(),
                kind: alert.kind,
                stage: alert.stage.clone(),
                office_id: office.clone(),
                scope: row.scope,
                level,
                due_at: alert.due_at,
                raised_at: now,
            }));
            pending.push(Pending {
                trace,
                raised,
                office,
                level,
                opens_ticket: false,
                effects: Effects::new(),
            });
        }
        // Only what no earlier pass (before a crash, or another replica) raised.
        let new: HashSet<(Uuid, String, String)> = repo::insert_alerts(step.conn(), &stored)
            .await?
            .into_iter()
            .collect();
        let mut cases = Vec::with_capacity(rows.len());
        for (row, case) in rows.iter_mut().zip(&mut pending) {
            let raised = std::mem::take(&mut case.raised);
            let fresh: Vec<Due> = raised
                .into_iter()
                .filter(|alert| {
                    new.contains(&(
                        row.case_id,
                        alert.stage.clone(),
                        alert.kind.code().to_owned(),
                    ))
                })
                .collect();
            case.opens_ticket = row.case.raised(&fresh, &case.office);
            let case_ref = row.case_ref();
            case.trace.span().in_scope(|| {
                for alert in &fresh {
                    case.effects
                        .emit(&case_ref, alert_body(alert, &case.office));
                    match alert.kind {
                        AlertKind::Warning => report.warnings += 1,
                        AlertKind::Breach => report.breaches += 1,
                    }
                }
            });
            cases.push(case_ref);
        }
        self.open_tickets(step, &rows, &cases, &mut pending, now, dues)
            .await?;
        repo::save_many(step.conn(), &rows).await?;
        let actor = step.actor().clone();
        for case in pending {
            if case.effects.is_empty() {
                continue;
            }
            let span = case.trace.span().clone();
            tongban_step::apply(
                step.conn(),
                EXECUTOR.producer(),
                &actor,
                now,
                &case.trace,
                case.effects,
            )
            .instrument(span)
            .await?;
        }
        Ok(())
    }

    /// Opens the 督办 tickets of the cases of a batch whose breach asks for one, in one
    /// statement; each opened ticket's effect joins its case's effects.
    async fn open_tickets(
        &self,
        step: &mut Step,
        rows: &[ClockRow],
        cases: &[CaseRef],
        pending: &mut [Pending],
        now: DateTime<Utc>,
        dues: &Result<[DateTime<Utc>; 4], CalendarError>,
    ) -> Result<(), SupervisionError> {
        let opening: Vec<usize> = (0..pending.len())
            .filter(|&i| pending[i].opens_ticket)
            .collect();
        if opening.is_empty() {
            return Ok(());
        }
        let dues = match dues {
            Ok(dues) => dues,
            // Milestones beyond the holiday data: the breaches stand, the tickets wait until
            // the data is there (the error is reported, never guessed around).
            Err(err) => {
                for &i in &opening {
                    pending[i].trace.span().in_scope(|| {
                        tracing::error!(error = %err, "督办 ticket not opened: no holiday data");
                    });
                }
                return Ok(());
            }
        };
        let new: Vec<NewTicket<'_>> = opening
            .iter()
            .map(|&i| NewTicket {
                source: format!("breach:{}", rows[i].case_id),
                case: &cases[i],
                office_id: &pending[i].office,
                reason: TicketReason::Breach,
                level: pending[i].level,
                opened_at: now,
                traceparent: rows[i].traceparent.clone(),
            })
            .collect();
        let opened = tickets::open_many(step.conn(), dues, &new).await?;
        drop(new);
        for (&i, effects) in opening.iter().zip(opened) {
            let Some(effects) = effects else { continue };
            let case = &mut pending[i];
            case.trace.span().in_scope(|| {
                tracing::info!(
                    case_number = %cases[i].case_number,
                    office = %case.office,
                    reason = TicketReason::Breach.as_str(),
                    "督办 ticket opened"
                );
            });
            case.effects.extend(effects);
        }
        Ok(())
    }
}

/// One case of a batch being raised: its trace, what is due, against whom, and its effects.
struct Pending {
    trace: Trace,
    raised: Vec<Due>,
    office: String,
    level: Level,
    opens_ticket: bool,
    effects: Effects,
}

/// [`BATCH`] as a SQL limit.
fn limit() -> i64 {
    i64::try_from(BATCH).unwrap_or(i64::MAX)
}

/// [`CASE_BATCH`] as a SQL limit.
fn case_limit() -> i64 {
    i64::try_from(CASE_BATCH).unwrap_or(i64::MAX)
}

/// The event of one newly recorded alert against `office` (and a span event of the case's
/// trace: its message names the span event).
fn alert_body(alert: &Due, office: &str) -> Body {
    let stage_label = if alert.stage == WHOLE_CASE {
        "case"
    } else {
        alert.stage.as_str()
    };
    match alert.kind {
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
            tracing::warn!(
                tongban.stage = stage_label,
                tongban.due_at = %alert.due_at.to_rfc3339(),
                description = "办理超期 / deadline breached",
                "deadline.breached"
            );
            Body::DeadlineBreached(ev::DeadlineBreached {
                stage: alert.stage.clone(),
                due_at: Some(timestamp(alert.due_at)),
                office_id: office.to_owned(),
            })
        }
    }
}

/// Escalates one locked ticket in the case's trace; the audit entries name the service acting
/// for the ticket's office. Returns the number of escalations.
async fn escalate(
    step: &mut Step,
    mut ticket: tickets::TicketRow,
    now: DateTime<Utc>,
) -> Result<usize, SupervisionError> {
    let trace = Trace::of_case("escalate ticket", &ticket.case_ref());
    let span = trace.span().clone();
    async {
        tracing::debug!(tongban.ticket_id = %ticket.ticket_id, "checking ticket milestones");
        let (escalations, effects) = tickets::escalate(step.conn(), &mut ticket, now).await?;
        let actor = Actor {
            user: SERVICE.to_owned(),
            role: "system".to_owned(),
            office_id: ticket.office_id.clone(),
        };
        tongban_step::apply(
            step.conn(),
            EXECUTOR.producer(),
            &actor,
            now,
            &trace,
            effects,
        )
        .await?;
        Ok(escalations.len())
    }
    .instrument(span)
    .await
}
