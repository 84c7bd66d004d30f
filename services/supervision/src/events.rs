//! Consumers: every case event keeps the case's clock (routing starts it; 补正, special
//! procedures and extensions move it; claims, decisions and completion finish stages) and, for a
//! 多地联办 case, the copy of its parts (routing lists them; `case.part_updated`, 补正材料已到 and
//! 撤回 move them); every complaint opens a 督办 ticket.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use tongban_bus::{EventHandler, HandleError};
use tongban_domain::clock::{Extension, SuspensionKind};
use tongban_domain::stages::{ClockEvent, StageShare, Supervised, TicketReason};
use tongban_proto::events::v1::{Event, event::Body};
use tongban_runtime::convert::{datetime, mode_from_pb, part_state_from_pb, scope_from_pb};
use tongban_runtime::parts::{self as kept, Applied, Origin};
use tongban_step::{Actor, CaseRef, Trace};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::error::SupervisionError;
use crate::parts::Step;
use crate::repo::{self, ClockRow};
use crate::tickets::{self, NewTicket};
use crate::{EXECUTOR, SERVICE, State, level};

/// Consumer of `case.>`.
pub struct CaseEvents {
    state: State,
}

impl CaseEvents {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// A failed read of the stored clock: a row that does not decode can never be handled (the
/// event is rejected, never applied to a guessed state); anything else is retried.
fn stored(err: sqlx::Error) -> HandleError {
    match err {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            HandleError::Reject(format!("stored case clock does not decode: {err}"))
        }
        other => other.into(),
    }
}

fn case_id_of(event: &Event) -> Result<Uuid, HandleError> {
    Uuid::parse_str(&event.case_id)
        .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))
}

/// The step an event makes, ordering the part updates it carries (an event id that is not a
/// UUID orders first among the events of its moment).
fn step_of(event: &Event, at: DateTime<Utc>) -> Step {
    Step {
        at,
        event_id: Uuid::parse_str(&event.event_id).unwrap_or_default(),
    }
}

impl EventHandler for CaseEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        let Some(body) = &event.body else {
            return Ok(());
        };
        let at = datetime(event.occurred_at.as_ref()).unwrap_or_else(|| self.state.clock.now());
        if let Body::CaseRouted(routed) = body {
            return self.start(conn, event, routed, at).await;
        }
        // Everything before routing (submitted, accepted) concerns no clock yet.
        if matches!(body, Body::CaseSubmitted(_) | Body::CaseAccepted(_)) {
            return Ok(());
        }
        let case_id = case_id_of(event)?;
        let Some(mut row) = repo::get(conn, case_id, true).await.map_err(stored)? else {
            if matches!(body, Body::CaseWithdrawn(_)) {
                // Withdrawn before it was routed: there is no clock to stop.
                return Ok(());
            }
            return Err(HandleError::Retry(
                format!("{} for a case not yet routed", event.case_number).into(),
            ));
        };
        let span = case_span(&row);
        async {
            self.apply(&mut row, body, step_of(event, at));
            self.recompute(&mut row);
            record_due(&row);
            repo::save(conn, &row).await?;
            Ok(())
        }
        .instrument(span)
        .await
    }
}

/// The span of a tracked case, with the attributes every case span carries.
fn case_span(row: &ClockRow) -> tracing::Span {
    tracing::info_span!(
        "track case clock",
        tongban.case_number = %row.case_number,
        tongban.matter_code = %row.matter_code,
        tongban.stage = row.case.tracked.current_stage().unwrap_or_default(),
        tongban.due_at = tracing::field::Empty,
    )
}

fn record_due(row: &ClockRow) {
    if let Some(due) = row.case.tracked.case_deadline().and_then(|d| d.due_at) {
        tracing::Span::current().record("tongban.due_at", due.to_rfc3339().as_str());
    }
}

impl CaseEvents {
    /// case.routed: the clock starts with the matter's stages and the promised limit.
    async fn start(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        routed: &tongban_proto::events::v1::CaseRouted,
        at: DateTime<Utc>,
    ) -> Result<(), HandleError> {
        let case_id = case_id_of(event)?;
        let Some(summary) = &routed.summary else {
            return Err(HandleError::Reject(
                "routed event without a summary".to_owned(),
            ));
        };
        let matter = self.state.reference.catalog.matter(&summary.matter_code);
        let budget = if summary.promised_limit_days > 0 {
            summary.promised_limit_days
        } else {
            matter.map_or(0, |m| m.promised_limit_days)
        };
        if budget == 0 {
            return Err(HandleError::Reject(format!(
                "no time limit known for matter {}",
                summary.matter_code
            )));
        }
        let stages = matter
            .map(|m| {
                m.stages
                    .iter()
                    .map(|s| StageShare {
                        code: s.code.clone(),
                        days: s.working_days,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let accepted_at = datetime(summary.accepted_at.as_ref()).unwrap_or(at);
        let span = tracing::Span::current();
        let mut row = ClockRow {
            case_id,
            case_number: event.case_number.clone(),
            matter_code: summary.matter_code.clone(),
            scope: scope_from_pb(summary.scope()),
            mode: mode_from_pb(summary.mode()),
            window_office_id: summary.window_office_id.clone(),
            responsible_office_id: summary.responsible_office_id.clone(),
            accepted_at,
            traceparent: tongban_telemetry::traceparent_of(&span),
            tracestate: None,
            parts: Json(kept::of_summary(&summary.parts, step_of(event, at))),
            case: Supervised::start(accepted_at, budget, stages),
        };
        let span = case_span(&row);
        async {
            self.recompute(&mut row);
            record_due(&row);
            if repo::insert(conn, &row).await? {
                tracing::info!("case clock started");
            }
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// Applies one event (the step `step`) to the parts and, as the domain decides
    /// ([`Supervised::apply`]), to the clock. A step that no longer applies (the ledger already
    /// has it, a part already moved further) is logged and ignored: the event is still
    /// acknowledged.
    fn apply(&self, row: &mut ClockRow, body: &Body, step: Step) {
        let at = step.at;
        let event = match body {
            Body::CaseClaimed(_) => Some(ClockEvent::Claimed),
            Body::SupplementRequested(s) => Some(ClockEvent::SupplementRequested {
                reason: s.reason.clone(),
            }),
            Body::CaseSupplemented(_) => {
                kept::supplemented(&mut row.parts.0, step, Origin::Event);
                Some(ClockEvent::Supplemented)
            }
            Body::CasePartUpdated(updated) => {
                apply_part(row, updated.part.as_ref(), step);
                None
            }
            Body::ClockSuspended(s) => suspension_kind(&s.kind).map(ClockEvent::Suspended),
            Body::ClockResumed(r) => suspension_kind(&r.kind).map(ClockEvent::Resumed),
            Body::DeadlineExtended(e) => Some(ClockEvent::Extended(Extension {
                working_days: e.working_days,
                reason: e.reason.clone(),
                approved_by: e.approved_by.clone(),
                at,
            })),
            Body::CaseDecided(_) => Some(ClockEvent::Decided),
            Body::CaseCompleted(c) => Some(ClockEvent::Completed {
                at: datetime(c.completed_at.as_ref()).unwrap_or(at),
            }),
            Body::CaseWithdrawn(_) => {
                kept::withdrawn(&mut row.parts.0, step, Origin::Event);
                Some(ClockEvent::Withdrawn)
            }
            _ => None,
        };
        if let Some(event) = event
            && let Err(err) = row.case.apply(&event, at, &self.state.reference.calendar)
        {
            tracing::warn!(error = %err, "clock change does not apply; ignored");
        }
    }

    fn recompute(&self, row: &mut ClockRow) {
        if let Err(err) = row
            .case
            .refresh(&self.state.reference.calendar, self.state.config.warn_days)
        {
            // The domain never guesses working days: the case is not checked until the data
            // is there.
            tracing::error!(error = %err, "deadline cannot be computed");
        }
    }
}

/// The suspension kind of a clock event; an unknown kind is logged and the event ignored (it
/// comes from another service's newer contract, not from this service's storage).
fn suspension_kind(code: &str) -> Option<SuspensionKind> {
    let kind = SuspensionKind::from_code(code);
    if kind.is_none() {
        tracing::warn!(kind = %code, "unknown suspension kind; ignored");
    }
    kind
}

/// A 多地联办 part's update, applied to the kept parts.
fn apply_part(row: &mut ClockRow, part: Option<&tongban_proto::common::v1::CasePart>, step: Step) {
    let Some(part) = part else {
        tracing::warn!("part update without a part; ignored");
        return;
    };
    match tongban_runtime::parts::from_pb(part, step).map(|p| kept::apply(&mut row.parts.0, p)) {
        Some(Applied::Moved(_) | Applied::Unchanged(_)) => tracing::info!(
            part = %part.part_code,
            office = %part.office_id,
            state = part_state_from_pb(part.state()).map_or("unspecified", |s| s.as_str()),
            "joint part moved"
        ),
        Some(Applied::Stale(_)) => tracing::info!(
            part = %part.part_code,
            "part update older than the part's state; ignored"
        ),
        None => {
            tracing::warn!("part update without a part code; ignored");
        }
    }
}

/// Consumer of `complaint.>` and `rating.>`: each complaint, and each bad rating (不满意 or
/// 非常不满意, which opened a rectification item), opens a 督办 ticket for the office concerned.
pub struct Complaints {
    state: State,
}

impl Complaints {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

impl EventHandler for Complaints {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        // A complaint, or a bad rating (its rectification item), puts the office under 督办.
        let (source, office_id, reason) = match &event.body {
            Some(Body::ComplaintFiled(c)) => (
                format!("complaint:{}", c.complaint_id),
                c.office_id.as_str(),
                TicketReason::Complaint,
            ),
            Some(Body::ServiceRated(r)) if !r.rectification_id.is_empty() => (
                format!("rating:{}", r.rating_id),
                r.office_id.as_str(),
                TicketReason::BadRating,
            ),
            _ => return Ok(()),
        };
        let case_id = case_id_of(event)?;
        let at = datetime(event.occurred_at.as_ref()).unwrap_or_else(|| self.state.clock.now());
        let span = tracing::Span::current();
        let case = CaseRef::new(case_id, &event.case_number, None);
        let opened = tickets::open(
            conn,
            &self.state.reference.calendar,
            &self.state.config,
            NewTicket {
                source,
                case: &case,
                office_id,
                reason,
                level: level::of_office(&self.state.reference, office_id),
                opened_at: at,
                traceparent: tongban_telemetry::traceparent_of(&span),
            },
        )
        .await
        .map_err(|err| match err {
            SupervisionError::Sql(err) => err.into(),
            SupervisionError::Store(err) => err.into(),
            other => HandleError::Reject(other.to_string()),
        })?;
        if let Some(effects) = opened {
            // The consumer already holds the inbox transaction: the effects join it, in the
            // complaint's trace (the consumer's span).
            let actor = Actor::service(SERVICE);
            tongban_step::apply(
                conn,
                EXECUTOR.producer(),
                &actor,
                at,
                &Trace::current(),
                effects,
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tongban_domain::reference::ReferenceData;
    use tongban_proto::events::v1::CaseClaimed;

    use super::*;
    use crate::Config;

    /// A stored clock whose status the domain does not know: the event is rejected (terminated),
    /// not applied to a guessed state and not retried forever.
    #[tokio::test]
    async fn a_stored_clock_that_does_not_decode_rejects_the_event() {
        let env = tongban_testkit::TestEnv::new().await.unwrap();
        let pool = tongban_store::connect(env.database_url(), "supervision", 2)
            .await
            .unwrap();
        tongban_store::migrate(&pool, crate::migrator())
            .await
            .unwrap();
        let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        let settings = env.settings(SERVICE);
        let state = State {
            reference: Arc::new(ReferenceData::load(&deploy).unwrap()),
            pool: pool.clone(),
            clock: settings.clock.clone(),
            config: Config::default(),
        };
        let accepted = state.clock.now();
        let case = Supervised::start(accepted, 3, Vec::new());
        let case_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO case_clocks (case_id, case_number, matter_code, scope, mode,
                window_office_id, responsible_office_id, status, accepted_at, tracked)
             VALUES ($1, 'TEST-1', 'GA-HJ-ZM', '', '', 'w', 'r', 'paused', $2, $3)",
        )
        .bind(case_id)
        .bind(accepted)
        .bind(Json(&case.tracked))
        .execute(&pool)
        .await
        .unwrap();
        let event = Event {
            case_id: case_id.to_string(),
            case_number: "TEST-1".to_owned(),
            body: Some(Body::CaseClaimed(CaseClaimed::default())),
            ..Default::default()
        };
        let mut conn = pool.acquire().await.unwrap();
        let handled = CaseEvents::new(state)
            .handle(&mut conn, &event, "case.claimed")
            .await;
        assert!(
            matches!(&handled, Err(HandleError::Reject(reason)) if reason.contains("does not decode")),
            "{handled:?}"
        );
        drop(conn);
        pool.close().await;
        env.cleanup().await.unwrap();
    }
}
