//! Consumers: every case event keeps the case's clock (routing starts it; 补正, special
//! procedures and extensions move it; claims, decisions and completion finish stages) and, for a
//! 多地联办 case, the copy of its parts (routing lists them; `case.part_updated`, 补正材料已到 and
//! 撤回 move them); every complaint opens a 督办 ticket.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use tongban_bus::{EventHandler, HandleError};
use tongban_domain::clock::{Extension, SuspensionKind};
use tongban_proto::events::v1::{Event, event::Body};
use tongban_runtime::convert::{datetime, mode_from_pb, part_state_from_pb, scope_from_pb};
use tongban_runtime::parts::{self as kept, Applied, Origin};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::State;
use crate::clock::{StageShare, Tracked};
use crate::level;
use crate::parts::{KeptPart, Step};
use crate::repo::{self, ClockRow};
use crate::tickets::{self, NewTicket, TicketError};

/// Consumer of `case.>`.
pub struct CaseEvents {
    state: State,
}

impl CaseEvents {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
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
        let Some(mut row) = repo::get(conn, case_id, true).await? else {
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
        tongban.stage = row.tracked.current_stage().unwrap_or_default(),
        tongban.due_at = tracing::field::Empty,
    )
}

fn record_due(row: &ClockRow) {
    if let Some(due) = row.tracked.case_deadline().and_then(|d| d.due_at) {
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
            scope: scope_from_pb(summary.scope())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            mode: mode_from_pb(summary.mode())
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            window_office_id: summary.window_office_id.clone(),
            responsible_office_id: summary.responsible_office_id.clone(),
            status: "open".to_owned(),
            accepted_at,
            tracked: Json(Tracked::new(accepted_at, budget, stages)),
            case_breached: false,
            completed_at: None,
            working_days: None,
            on_time: None,
            traceparent: tongban_telemetry::traceparent_of(&span),
            tracestate: None,
            parts: Json(kept::of_summary(&summary.parts, step_of(event, at))),
            breached_office_id: None,
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

    /// Applies one event (the step `step`) to the clock and the parts. A step that no longer
    /// applies (the ledger already has it, a part already moved further) is logged and ignored:
    /// the event is still acknowledged.
    fn apply(&self, row: &mut ClockRow, body: &Body, step: Step) {
        let at = step.at;
        let tracked = &mut row.tracked.0;
        let result = match body {
            Body::CaseClaimed(_) => {
                tracked.finish_stages(1);
                Ok(())
            }
            Body::SupplementRequested(s) => {
                tracked.suspend(SuspensionKind::Supplement, at, &s.reason)
            }
            Body::CaseSupplemented(_) => {
                kept::supplemented(&mut row.parts.0, step, Origin::Event);
                tracked.resume(SuspensionKind::Supplement, at)
            }
            Body::CasePartUpdated(updated) => {
                let Some(part) = &updated.part else {
                    tracing::warn!("part update without a part; ignored");
                    return;
                };
                match KeptPart::from_pb(part, step).map(|p| kept::apply(&mut row.parts.0, p)) {
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
                Ok(())
            }
            Body::ClockSuspended(s) => match SuspensionKind::from_code(&s.kind) {
                Some(kind) => tracked.suspend(kind, at, &s.kind),
                None => {
                    tracing::warn!(kind = %s.kind, "unknown suspension kind; ignored");
                    Ok(())
                }
            },
            Body::ClockResumed(r) => match SuspensionKind::from_code(&r.kind) {
                Some(kind) => tracked.resume(kind, at),
                None => {
                    tracing::warn!(kind = %r.kind, "unknown suspension kind; ignored");
                    Ok(())
                }
            },
            Body::DeadlineExtended(e) => tracked.extend(Extension {
                working_days: e.working_days,
                reason: e.reason.clone(),
                approved_by: e.approved_by.clone(),
                at,
            }),
            Body::CaseDecided(_) => {
                let all_but_last = tracked.stages.len().saturating_sub(1);
                tracked.finish_stages(all_but_last);
                Ok(())
            }
            Body::CaseCompleted(c) => {
                let completed_at = datetime(c.completed_at.as_ref()).unwrap_or(at);
                let due = tracked.case_deadline().and_then(|d| d.due_at);
                row.working_days = tracked
                    .working_days_used(&self.state.reference.calendar, completed_at)
                    .ok()
                    .and_then(|d| i32::try_from(d).ok());
                row.on_time = Some(due.map_or(!row.case_breached, |due| completed_at <= due));
                row.completed_at = Some(completed_at);
                row.status = "completed".to_owned();
                tracked.finish_all();
                Ok(())
            }
            Body::CaseWithdrawn(_) => {
                kept::withdrawn(&mut row.parts.0, step, Origin::Event);
                row.status = "withdrawn".to_owned();
                tracked.finish_all();
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "clock change does not apply; ignored");
        }
    }

    fn recompute(&self, row: &mut ClockRow) {
        if let Err(err) = row
            .tracked
            .0
            .recompute(&self.state.reference.calendar, self.state.config.warn_days)
        {
            // Never guess working days: the case is not checked until the data is there.
            tracing::error!(error = %err, "deadline cannot be computed");
            for deadline in &mut row.tracked.0.deadlines {
                deadline.due_at = None;
                deadline.warn_at = None;
            }
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
                "complaint",
            ),
            Some(Body::ServiceRated(r)) if !r.rectification_id.is_empty() => (
                format!("rating:{}", r.rating_id),
                r.office_id.as_str(),
                "bad_rating",
            ),
            _ => return Ok(()),
        };
        let case_id = case_id_of(event)?;
        let at = datetime(event.occurred_at.as_ref()).unwrap_or_else(|| self.state.clock.now());
        let span = tracing::Span::current();
        let opened = tickets::open(
            conn,
            &self.state.reference.calendar,
            &self.state.config,
            NewTicket {
                source,
                case_id,
                case_number: &event.case_number,
                office_id,
                reason,
                level: level::of_office(&self.state.reference, office_id),
                opened_at: at,
                traceparent: tongban_telemetry::traceparent_of(&span),
            },
        )
        .await;
        match opened {
            Ok(_) => Ok(()),
            Err(TicketError::Sql(err)) => Err(err.into()),
            Err(TicketError::Store(err)) => Err(err.into()),
            Err(err) => Err(HandleError::Reject(err.to_string())),
        }
    }
}
