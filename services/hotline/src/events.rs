//! The status read model kept up to date from every case event: the submitted event creates a
//! case's row, every later one moves its status (and clock) on and adds a timeline line. For a
//! 多地联办 case, `case.part_updated` moves one part on (and adds its own timeline line) without
//! touching the case-level status, which follows the case-level events.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use tongban_bus::{EventHandler, HandleError};
use tongban_domain::case::{CaseEvent, CaseStatus, Decision};
use tongban_domain::timeline::{TimelineContext, describe};
use tongban_domain::validate::PersonName;
use tongban_proto::events::v1::{CasePartUpdated, CaseSubmitted, CaseSummary, Event, event::Body};
use tongban_runtime::convert::{datetime, decision_from_pb, mode_from_pb, scope_from_pb};
use tongban_runtime::parts::{self as kept, Applied, Origin};
use tongban_store::timeline::TimelineLine;
use uuid::Uuid;

use crate::State;
use crate::parts::{self, KeptPart, Step};
use crate::repo::{self, StatusRow};
use crate::stored::{Stored, StoredOptional, consumer_error};

/// Consumer of `case.>`: every case event.
pub struct CaseEvents {
    state: State,
}

impl CaseEvents {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// An event for a case whose submitted event has not been applied (yet).
#[derive(Debug, thiserror::Error)]
#[error("case {0} is not known yet: its submitted event has not been applied")]
struct UnknownCase(Uuid);

/// Which office acted, for the timeline.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// 通办窗口.
    Window,
    /// 属地办理机构.
    Responsible,
}

/// What the due moment becomes.
#[derive(Debug, Clone, Copy)]
enum Due {
    Keep,
    Set(Option<DateTime<Utc>>),
}

/// The effect of one event after the submitted one.
#[derive(Debug)]
struct Change {
    event: CaseEvent,
    status: CaseStatus,
    side: Side,
    detail: String,
    due: Due,
    accepted_at: Option<DateTime<Utc>>,
    decision: Option<Decision>,
    decision_reason: Option<String>,
}

impl Change {
    fn new(event: CaseEvent, status: CaseStatus, side: Side) -> Self {
        Self {
            event,
            status,
            side,
            detail: String::new(),
            due: Due::Keep,
            accepted_at: None,
            decision: None,
            decision_reason: None,
        }
    }
}

/// The change `body` makes, `Ok(None)` for events this read model does not track.
fn change_of(body: &Body) -> Result<Option<Change>, HandleError> {
    let change = match body {
        Body::CaseAccepted(a) => Change {
            due: Due::Set(datetime(a.due_at.as_ref())),
            accepted_at: datetime(a.accepted_at.as_ref()),
            ..Change::new(CaseEvent::Accepted, CaseStatus::Accepted, Side::Window)
        },
        Body::CaseRouted(_) => {
            Change::new(CaseEvent::Routed, CaseStatus::Routed, Side::Responsible)
        }
        Body::CaseClaimed(_) => {
            Change::new(CaseEvent::Claimed, CaseStatus::Claimed, Side::Responsible)
        }
        Body::SupplementRequested(s) => Change {
            detail: s.items.join("、"),
            // 补正 stops the clock: no due moment until the material arrives.
            due: Due::Set(None),
            ..Change::new(
                CaseEvent::SupplementRequested,
                CaseStatus::SupplementRequested,
                Side::Responsible,
            )
        },
        Body::CaseSupplemented(s) => Change {
            detail: s.note.clone(),
            due: Due::Set(datetime(s.due_at.as_ref())),
            ..Change::new(
                CaseEvent::Supplemented,
                CaseStatus::Supplemented,
                Side::Window,
            )
        },
        Body::CaseDecided(d) => {
            let Some(decision) = decision_from_pb(d.decision()) else {
                return Err(HandleError::Reject("decision without a value".to_owned()));
            };
            let status = match decision {
                Decision::Approve => CaseStatus::Approved,
                Decision::Deny => CaseStatus::Denied,
            };
            Change {
                detail: d.reason.clone(),
                decision: Some(decision),
                decision_reason: Some(d.reason.clone()),
                ..Change::new(CaseEvent::Decided(decision), status, Side::Responsible)
            }
        }
        Body::CaseCompleted(c) => Change {
            decision: decision_from_pb(c.decision()),
            ..Change::new(CaseEvent::Completed, CaseStatus::Completed, Side::Window)
        },
        Body::CaseWithdrawn(w) => Change {
            detail: w.reason.clone(),
            ..Change::new(CaseEvent::Withdrawn, CaseStatus::Withdrawn, Side::Window)
        },
        _ => return Ok(None),
    };
    Ok(Some(change))
}

/// Position of a status in the life cycle, to order events of the same moment (intake's
/// submitted, accepted and routed share one).
fn rank(status: CaseStatus) -> usize {
    CaseStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(0)
}

/// Whether an event at `at` leading to `next` is newer than what the row shows: a redelivery
/// that arrives late must not move a case back.
fn is_newer(row: &StatusRow, at: DateTime<Utc>, next: CaseStatus) -> bool {
    (at, rank(next)) >= (row.status_at, rank(row.status()))
}

/// Links the row to the bundle `summary` names, if any and not linked yet.
fn link_bundle(row: &mut StatusRow, summary: &CaseSummary) {
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    if row.bundle_id.is_none()
        && let Some(id) = text(&summary.bundle_id)
    {
        row.bundle_id = Some(id);
        row.bundle_number = text(&summary.bundle_number);
        row.bundle_code = text(&summary.bundle_code);
        row.bundle_name = text(&summary.bundle_name);
    }
}

/// Fills what the routed summary knows and the row does not (a row created from a submitted
/// summary without them): the parts, the destination and the bundle.
fn fill_from_summary(row: &mut StatusRow, summary: &CaseSummary, step: Step) {
    if row.parts.is_empty() {
        row.parts = Json(parts::of_summary(&summary.parts, step));
    }
    if row.destination_division.is_empty() {
        row.destination_division = summary.destination_division.clone();
    }
    link_bundle(row, summary);
}

impl CaseEvents {
    fn office_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.state
            .reference
            .directory
            .office(id)
            .map_or(id, |o| o.name.as_str())
    }

    async fn submitted(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        ids: (Uuid, Uuid),
        at: DateTime<Utc>,
        submitted: &CaseSubmitted,
    ) -> Result<(), HandleError> {
        let (case_id, event_id) = ids;
        let Some(summary) = &submitted.summary else {
            return Err(HandleError::Reject(
                "submitted event without a summary".to_owned(),
            ));
        };
        let applicant_name_masked = summary
            .applicant
            .as_ref()
            .and_then(|a| PersonName::parse(&a.name).ok())
            .map_or_else(|| "*".to_owned(), |n| n.masked());
        let mut row = StatusRow {
            case_id,
            case_number: event.case_number.clone(),
            matter_code: summary.matter_code.clone(),
            matter_name: summary.matter_name.clone(),
            scope: StoredOptional(scope_from_pb(summary.scope())),
            mode: StoredOptional(mode_from_pb(summary.mode())),
            window_office_id: summary.window_office_id.clone(),
            responsible_office_id: summary.responsible_office_id.clone(),
            status: Stored(CaseStatus::Submitted),
            status_at: at,
            applicant_name_masked,
            id_tail_digest: submitted.id_tail_digest.clone(),
            phone_tail_digest: submitted.phone_tail_digest.clone(),
            accepted_at: datetime(summary.accepted_at.as_ref()).unwrap_or(at),
            due_at: datetime(summary.due_at.as_ref()),
            decision: None,
            decision_reason: None,
            parts: Json(parts::of_summary(&summary.parts, Step { at, event_id })),
            destination_division: summary.destination_division.clone(),
            bundle_id: None,
            bundle_number: None,
            bundle_code: None,
            bundle_name: None,
        };
        link_bundle(&mut row, summary);
        if !repo::insert_case(conn, &row).await? {
            tracing::debug!("case already in the read model");
        }
        let text = describe(
            CaseEvent::Submitted,
            TimelineContext {
                office_name: self.office_name(&row.window_office_id),
                detail: "",
            },
        );
        repo::add_timeline(
            conn,
            case_id,
            event_id,
            &TimelineLine {
                at,
                status: CaseStatus::Submitted.as_str().to_owned(),
                description: text.zh,
                description_en: text.en,
                office_id: row.window_office_id.clone(),
            },
        )
        .await?;
        Ok(())
    }

    /// 多地联办: one part moved (`case.part_updated`). The part's state, decision and reason
    /// change and a timeline line names the part and its office; the case-level status is left
    /// to the case-level events.
    async fn part_updated(
        &self,
        conn: &mut PgConnection,
        ids: (Uuid, Uuid),
        at: DateTime<Utc>,
        updated: &CasePartUpdated,
    ) -> Result<(), HandleError> {
        let (case_id, event_id) = ids;
        let Some(update) = updated
            .part
            .as_ref()
            .and_then(|p| parts::received(p, Step { at, event_id }))
        else {
            return Err(HandleError::Reject(
                "part_updated event without a part code".to_owned(),
            ));
        };
        let Some(mut row) = repo::case_for_update(conn, case_id)
            .await
            .map_err(consumer_error)?
        else {
            return Err(HandleError::Retry(Box::new(UnknownCase(case_id))));
        };
        if let Applied::Stale(_) = kept::apply(&mut row.parts, update.clone()) {
            tracing::info!(
                case_number = %row.case_number,
                part = %update.code,
                late = %update.state,
                "late part update: timeline only, part kept"
            );
        }
        // The line describes this step (even a late one), with the route the row knows.
        let described = row
            .parts
            .iter()
            .find(|p| p.code == update.code)
            .map_or_else(
                || update.clone(),
                |known| KeptPart {
                    state: update.state,
                    reason: update.reason.clone(),
                    ..known.clone()
                },
            );
        let text = kept::describe(
            &row.parts,
            &described,
            self.office_name(&described.office_id),
        );
        repo::add_timeline(
            conn,
            case_id,
            event_id,
            &TimelineLine {
                at: update.updated_at,
                status: row.status().as_str().to_owned(),
                description: text.zh,
                description_en: text.en,
                office_id: described.office_id.clone(),
            },
        )
        .await?;
        repo::update_case(conn, &row).await?;
        Ok(())
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
            return Err(HandleError::Reject("event without a body".to_owned()));
        };
        let change = match body {
            Body::CaseSubmitted(_) | Body::CasePartUpdated(_) => None,
            other => match change_of(other)? {
                Some(change) => Some(change),
                None => return Ok(()),
            },
        };
        let case_id = Uuid::parse_str(&event.case_id)
            .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
        let event_id = Uuid::parse_str(&event.event_id)
            .map_err(|_| HandleError::Reject("event id is not a UUID".to_owned()))?;
        let at = datetime(event.occurred_at.as_ref()).unwrap_or_else(Utc::now);
        let Some(change) = change else {
            return match body {
                Body::CaseSubmitted(submitted) => {
                    self.submitted(conn, event, (case_id, event_id), at, submitted)
                        .await
                }
                Body::CasePartUpdated(updated) => {
                    self.part_updated(conn, (case_id, event_id), at, updated)
                        .await
                }
                _ => Ok(()),
            };
        };
        let Some(mut row) = repo::case_for_update(conn, case_id)
            .await
            .map_err(consumer_error)?
        else {
            // Intake publishes submitted first; until it has been applied (a retry in flight),
            // come back later.
            return Err(HandleError::Retry(Box::new(UnknownCase(case_id))));
        };
        if let Some(decision) = change.decision {
            // A decision is a fact whatever the order of arrival; completed repeats it.
            if change.decision_reason.is_some() || row.decision.is_none() {
                row.decision = Some(Stored(decision));
            }
        }
        if let Some(reason) = &change.decision_reason {
            row.decision_reason = Some(reason.clone());
        }
        // What the case-level event does to the parts of a joint case (the same transaction).
        match body {
            Body::CaseRouted(routed) => {
                if let Some(summary) = &routed.summary {
                    fill_from_summary(&mut row, summary, Step { at, event_id });
                }
            }
            Body::CaseSupplemented(_) => {
                kept::supplemented(&mut row.parts, Step { at, event_id }, Origin::Event);
            }
            Body::CaseWithdrawn(_) => {
                kept::withdrawn(&mut row.parts, Step { at, event_id }, Origin::Event);
            }
            _ => {}
        }
        if is_newer(&row, at, change.status) {
            row.status = Stored(change.status);
            row.status_at = at;
            if let Due::Set(due) = change.due {
                row.due_at = due;
            }
            if let Some(accepted_at) = change.accepted_at {
                row.accepted_at = accepted_at;
            }
        } else {
            tracing::info!(
                case_number = %row.case_number,
                status = %row.status(),
                late = %change.status,
                "late event: timeline only, status kept"
            );
        }
        let office_id = match change.side {
            Side::Window => row.window_office_id.clone(),
            Side::Responsible => row.responsible_office_id.clone(),
        };
        let text = describe(
            change.event,
            TimelineContext {
                office_name: self.office_name(&office_id),
                detail: &change.detail,
            },
        );
        repo::add_timeline(
            conn,
            case_id,
            event_id,
            &TimelineLine {
                at,
                status: change.status.as_str().to_owned(),
                description: text.zh,
                description_en: text.en,
                office_id,
            },
        )
        .await?;
        repo::update_case(conn, &row).await?;
        if let Body::CaseCompleted(c) = body
            && !c.certificate_identifier.is_empty()
        {
            repo::set_result_certificate(conn, case_id, &c.certificate_identifier).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use tongban_proto::events::v1 as ev;

    use super::*;

    fn row(status: CaseStatus, at: DateTime<Utc>) -> StatusRow {
        StatusRow {
            case_id: Uuid::nil(),
            case_number: String::new(),
            matter_code: String::new(),
            matter_name: String::new(),
            scope: StoredOptional(None),
            mode: StoredOptional(None),
            window_office_id: String::new(),
            responsible_office_id: String::new(),
            status: Stored(status),
            status_at: at,
            applicant_name_masked: "*".to_owned(),
            id_tail_digest: String::new(),
            phone_tail_digest: String::new(),
            accepted_at: at,
            due_at: None,
            decision: None,
            decision_reason: None,
            parts: Json(Vec::new()),
            destination_division: String::new(),
            bundle_id: None,
            bundle_number: None,
            bundle_code: None,
            bundle_name: None,
        }
    }

    #[test]
    fn late_events_do_not_move_a_case_back() {
        let t = Utc::now();
        let routed = row(CaseStatus::Routed, t);
        // Same moment (intake's three steps): ordered by the life cycle.
        assert!(!is_newer(&routed, t, CaseStatus::Accepted));
        assert!(is_newer(&routed, t, CaseStatus::Routed));
        assert!(is_newer(
            &routed,
            t + TimeDelta::seconds(1),
            CaseStatus::Claimed
        ));
        // A second 补正 after a first one: later in time, earlier in the list.
        let supplemented = row(CaseStatus::Supplemented, t);
        assert!(is_newer(
            &supplemented,
            t + TimeDelta::seconds(1),
            CaseStatus::SupplementRequested
        ));
        assert!(!is_newer(
            &supplemented,
            t - TimeDelta::seconds(1),
            CaseStatus::Claimed
        ));
    }

    #[test]
    fn changes_of_the_events() {
        let requested = change_of(&Body::SupplementRequested(ev::SupplementRequested {
            office_id: "640100-gongan".to_owned(),
            items: vec!["户口簿".to_owned(), "身份证".to_owned()],
            reason: "不清晰".to_owned(),
        }))
        .unwrap()
        .unwrap();
        assert_eq!(requested.status, CaseStatus::SupplementRequested);
        assert!(matches!(requested.due, Due::Set(None)));
        assert_eq!(requested.detail, "户口簿、身份证");

        let denied = change_of(&Body::CaseDecided(ev::CaseDecided {
            decision: tongban_proto::common::v1::Decision::Deny.into(),
            reason: "材料不符".to_owned(),
            ..Default::default()
        }))
        .unwrap()
        .unwrap();
        assert_eq!(denied.status, CaseStatus::Denied);
        assert_eq!(denied.decision, Some(Decision::Deny));

        assert!(matches!(
            change_of(&Body::CaseDecided(ev::CaseDecided::default())),
            Err(HandleError::Reject(_))
        ));
        assert!(
            change_of(&Body::LogisticsTracked(ev::LogisticsTracked::default()))
                .unwrap()
                .is_none()
        );
    }
}
