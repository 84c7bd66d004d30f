//! The window's side of the review office's work: claims, 补正 requests and decisions arrive as
//! events and move the case (and its clock) on; a decision completes the case. For a 多地联办
//! case each office's part step arrives as `case.part_updated` and is kept with the case. A
//! decision on a 一件事 member also moves the members waiting for its result.

use sqlx::PgConnection;
use tongban_bus::{EventHandler, HandleError};
use tongban_domain::case::{self, CaseCommand, Decision};
use tongban_proto::events::v1::{CasePartUpdated, Event, event::Body};
use tongban_runtime::convert::decision_from_pb;
use tongban_runtime::parts::Step;
use tongban_store::timeline::TimelineLine;
use uuid::Uuid;

use tongban_step::{Effects, Trace};

use crate::{SERVICE, State};
use crate::{parts, repo, view};

/// Consumer of `case.>` for the review office's events.
pub struct ReviewEvents {
    state: State,
}

impl ReviewEvents {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

impl EventHandler for ReviewEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        if crate::clock_events::is_clock_event(event.body.as_ref()) {
            return crate::clock_events::apply(&self.state, conn, event).await;
        }
        if let Some(Body::CasePartUpdated(update)) = &event.body {
            return self.part_updated(conn, event, update).await;
        }
        let command = match &event.body {
            Some(Body::CaseClaimed(c)) => CaseCommand::Claim {
                reviewer: c.reviewer.clone(),
            },
            Some(Body::SupplementRequested(s)) => CaseCommand::RequestSupplement {
                items: s.items.clone(),
                reason: s.reason.clone(),
            },
            Some(Body::CaseDecided(d)) => match decision_from_pb(d.decision()) {
                Some(decision) => CaseCommand::Decide { decision },
                None => return Err(HandleError::Reject("decision without a value".to_owned())),
            },
            _ => return Ok(()),
        };
        let case_id = Uuid::parse_str(&event.case_id)
            .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
        let Some(mut row) = repo::case_by_id(conn, case_id, true).await? else {
            return Err(HandleError::Reject(format!("unknown case {case_id}")));
        };
        let span = tracing::Span::current();
        span.record("tongban.case_number", row.case_number.as_str());
        let (next, events) = match case::transition(row.status, &command) {
            Ok(done) => done,
            Err(err) => {
                // E.g. a claim that crossed a withdrawal: the case has moved on; nothing to do.
                tracing::warn!(case_number = %row.case_number, error = %err, "event does not apply to the case's state; ignored");
                return Ok(());
            }
        };
        let reference = &*self.state.reference;
        let at = view::occurred_at(event);
        // The office that acted: for a 多地联办 case, the office of the part that moved the case
        // (the first part's office is the case's responsible office).
        let acting = match &event.body {
            Some(Body::CaseClaimed(c)) => c.office_id.as_str(),
            Some(Body::SupplementRequested(s)) => s.office_id.as_str(),
            Some(Body::CaseDecided(d)) => d.office_id.as_str(),
            _ => "",
        };
        let office = if acting.is_empty() {
            row.responsible_office_id.clone()
        } else {
            acting.to_owned()
        };
        let mut detail = String::new();
        let mut effects = Effects::new();
        match &event.body {
            Some(Body::SupplementRequested(s)) => {
                crate::intake_api::suspend_for_supplement(conn, &row, at, &s.reason).await?;
                row.due_at = None;
                row.supplement_items.clone_from(&s.items);
                row.supplement_reason = Some(s.reason.clone());
                detail = s.items.join("、");
            }
            Some(Body::CaseDecided(d)) => {
                row.decision = decision_from_pb(d.decision());
                row.decision_reason = Some(d.reason.clone());
                detail = d.reason.clone();
            }
            _ => {}
        }
        row.status = next;
        // Record the review office's step on the window's timeline; its event is already on the
        // stream (published by review), so only the timeline line is written here.
        let office_name = reference
            .directory
            .office(&office)
            .map_or(office.as_str(), |o| o.name.as_str());
        for step in &events {
            let text = tongban_domain::timeline::describe(
                *step,
                tongban_domain::timeline::TimelineContext {
                    office_name,
                    detail: &detail,
                },
            );
            repo::add_timeline(
                conn,
                row.case_id,
                &TimelineLine {
                    at,
                    status: next.as_str().to_owned(),
                    description: text.zh,
                    description_en: text.en,
                    office_id: office.clone(),
                },
            )
            .await?;
        }
        // A decision completes the case at the window (办结): the result is handed over as the
        // applicant chose. An approval whose result is an e-certificate waits for `cert.issued`
        // (crate::results) unless the certificate overtook the decision.
        let decided = match command {
            CaseCommand::Decide { decision } => Some(decision),
            _ => None,
        };
        if let Some(decision) = decided {
            let certificate = if decision == Decision::Approve {
                crate::results::identifier(conn, row.case_id).await?
            } else {
                None
            };
            let waits = decision == Decision::Approve
                && certificate.is_none()
                && crate::results::awaits_certificate(reference, &row);
            if !waits {
                crate::results::complete(
                    conn,
                    reference,
                    &mut row,
                    decision,
                    certificate,
                    at,
                    &mut effects,
                )
                .await?;
            }
        }
        repo::update_case(conn, &row).await?;
        tongban_step::apply(
            conn,
            SERVICE,
            &view::service_at(&row),
            at,
            &Trace::current(),
            effects,
        )
        .await?;
        // 一件事: the members waiting for this one's result move on with its decision.
        if let Some(decision) = decided
            && row.bundle_id.is_some()
        {
            crate::bundles::member_decided(&self.state, conn, &row, decision).await?;
        }
        Ok(())
    }
}

impl ReviewEvents {
    /// 多地联办: a review office moved its part. The stored part takes the new state (with the
    /// decision and reason) and the window's timeline says so in plain language, at the part's
    /// office; the case-level status moves with the case-level events, not here.
    async fn part_updated(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        update: &CasePartUpdated,
    ) -> Result<(), HandleError> {
        let Some(part) = &update.part else {
            return Err(HandleError::Reject("part update without a part".to_owned()));
        };
        let case_id = Uuid::parse_str(&event.case_id)
            .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
        let Some(mut row) = repo::case_by_id(conn, case_id, true).await? else {
            return Err(HandleError::Reject(format!("unknown case {case_id}")));
        };
        tracing::Span::current().record("tongban.case_number", row.case_number.as_str());
        let mut stored = row.parts.clone();
        let at = view::occurred_at(event);
        let step = Step {
            at,
            // An event id that is not a UUID orders first among the events of its moment.
            event_id: Uuid::parse_str(&event.event_id).unwrap_or_default(),
        };
        match parts::apply_update(&mut stored, part, step) {
            Ok(parts::Update::Moved(index)) => {
                view::add_part_line(
                    conn,
                    &self.state.reference,
                    &row,
                    &stored,
                    &stored[index],
                    row.status,
                    at,
                )
                .await?;
                row.parts = stored;
                repo::update_case(conn, &row).await?;
            }
            Ok(parts::Update::Stale) => {
                tracing::debug!(case_number = %row.case_number, part = %part.part_code, "part update already applied or overtaken; ignored");
            }
            Err(err) => return Err(HandleError::Reject(err.to_string())),
        }
        Ok(())
    }
}
