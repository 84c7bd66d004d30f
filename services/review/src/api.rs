//! ReviewService: the responsible office's inbox, claims, 补正 requests and decisions. A
//! reviewer acts only on cases routed to the office in their token; any other case is
//! NOT_FOUND, exactly as if it did not exist.

use std::pin::Pin;

use chrono::Utc;
use futures::Stream;
use serde_json::json;
use tongban_domain::case::{self, CaseCommand, CaseEvent, Decision};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::review::{ChecklistEntry, check_decision, check_part_decision};
use tongban_proto::common::v1 as pb;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::review::v1::review_service_server::ReviewService;
use tongban_proto::review::v1::{
    Assignment, AssignmentState, ClaimCaseRequest, DecideCaseRequest, ExtendDeadlineRequest,
    GetAssignmentRequest, ListAssignmentsRequest, ListAssignmentsResponse,
    RequestSupplementRequest, ResumeClockRequest, SuspendClockRequest, WatchAssignmentsRequest,
};
use tongban_runtime::auth::{Claims, Role, caller_and_lang, delegate};
use tongban_runtime::convert::{decision_from_pb, decision_to_pb};
use tongban_runtime::input::{check_text, parse_case_id};
use tongban_runtime::status::{self, FieldViolation};
use tonic::{Request, Response, Status};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::State;
use crate::outbox::publish;
use crate::repo::{self, AssignmentRow, state_name};
use crate::view;
use tongban_runtime::status::internal_for as internal;

/// Most items in one 补正 request.
const MAX_ITEMS: usize = 50;

/// The ReviewService handlers.
pub struct Review {
    state: State,
}

impl Review {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

fn not_found(lang: Lang) -> Status {
    status::not_found(lang, "该办件", "case")
}

/// Roles that act on assignments, and the office whose inbox a caller may read.
fn office_of(claims: &Claims, requested: &str, lang: Lang) -> Result<String, Status> {
    claims.require(
        &[
            Role::Reviewer,
            Role::OfficeHead,
            Role::Supervisor,
            Role::Admin,
        ],
        lang,
    )?;
    let requested = requested.trim();
    match claims.role {
        Role::Supervisor | Role::Admin if !requested.is_empty() => Ok(requested.to_owned()),
        _ if requested.is_empty() || requested == claims.office => Ok(claims.office.clone()),
        _ => Err(status::permission_denied(
            lang,
            "只能查看本机构的待办",
            "you can see only your own office's inbox",
        )),
    }
}

fn may_act(claims: &Claims, row: &AssignmentRow) -> bool {
    matches!(claims.role, Role::Reviewer | Role::OfficeHead) && claims.office == row.office_id
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<Assignment, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl ReviewService for Review {
    #[tracing::instrument(name = "ListAssignments", skip_all)]
    async fn list_assignments(
        &self,
        request: Request<ListAssignmentsRequest>,
    ) -> Result<Response<ListAssignmentsResponse>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let req = request.into_inner();
        let office = office_of(&claims, &req.office_id, lang)?;
        let states: Vec<String> = req
            .states()
            .filter(|s| *s != AssignmentState::Unspecified)
            .map(|s| state_name(s).to_owned())
            .collect();
        let limit = i64::from(if req.limit == 0 {
            200
        } else {
            req.limit.min(1000)
        });
        let mut conn = self.state.pool.acquire().await.map_err(internal(lang))?;
        let rows = repo::list(&mut conn, &office, &states, limit)
            .await
            .map_err(internal(lang))?;
        let assignments = view::assignments(&mut conn, &self.state.reference, &rows)
            .await
            .map_err(internal(lang))?;
        Ok(Response::new(ListAssignmentsResponse { assignments }))
    }

    type WatchAssignmentsStream = WatchStream;

    #[tracing::instrument(name = "WatchAssignments", skip_all)]
    async fn watch_assignments(
        &self,
        request: Request<WatchAssignmentsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let office = office_of(&claims, &request.get_ref().office_id, lang)?;
        // Subscribe before reading the snapshot so no change falls between the two.
        let mut changes = self.state.changes.subscribe();
        let pool = self.state.pool.clone();
        let reference = self.state.reference.clone();
        let mut conn = pool.acquire().await.map_err(internal(lang))?;
        let rows = repo::list(&mut conn, &office, &[], 1000)
            .await
            .map_err(internal(lang))?;
        let snapshot = view::assignments(&mut conn, &reference, &rows)
            .await
            .map_err(internal(lang))?;
        drop(conn);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Assignment, Status>>(64);
        tokio::spawn(async move {
            for assignment in snapshot {
                if tx.send(Ok(assignment)).await.is_err() {
                    return;
                }
            }
            loop {
                let case_id = tokio::select! {
                    () = tx.closed() => return,
                    next = changes.recv() => match next {
                        Ok(id) => id,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                };
                // The office's own row of the case (a 多地联办 part changed elsewhere also moves the
                // case status shown on it) and its rows of the case's bundle members (their
                // bundle status follows).
                let views = match pool.acquire().await {
                    Ok(mut conn) => match repo::touched_by(&mut conn, case_id, &office).await {
                        Ok(rows) => view::assignments(&mut conn, &reference, &rows).await,
                        Err(err) => Err(err),
                    },
                    Err(err) => Err(err.into()),
                };
                match views {
                    Ok(views) => {
                        for assignment in views {
                            if tx.send(Ok(assignment)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(err) => {
                        let _ = tx.send(Err(status::internal(lang, &err))).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    #[tracing::instrument(name = "GetAssignment", skip_all)]
    async fn get_assignment(
        &self,
        request: Request<GetAssignmentRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let case_id = parse_case_id(&request.get_ref().case_id, lang)?;
        let mut conn = self.state.pool.acquire().await.map_err(internal(lang))?;
        // An office sees its own row (its own part of a 多地联办 case); supervision sees the lead;
        // anyone else sees nothing, as if the case did not exist.
        let row = match claims.role {
            Role::Supervisor | Role::Admin => repo::lead(&mut conn, case_id).await,
            Role::Reviewer | Role::OfficeHead => {
                repo::get(&mut conn, case_id, &claims.office, false).await
            }
            _ => Ok(None),
        }
        .map_err(internal(lang))?
        .ok_or_else(|| not_found(lang))?;
        let assignment = view::assignment(&mut conn, &self.state.reference, &row)
            .await
            .map_err(internal(lang))?;
        Ok(Response::new(assignment))
    }

    #[tracing::instrument(name = "ClaimCase", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.stage = "review"))]
    async fn claim_case(
        &self,
        request: Request<ClaimCaseRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let case_id = parse_case_id(&request.get_ref().case_id, lang)?;
        let command = CaseCommand::Claim {
            reviewer: claims.user.clone(),
        };
        let assignment = self
            .act(&claims, case_id, &command, lang, |row, now| {
                row.claimed_by = Some(claims.user.clone());
                row.claimed_at = Some(now);
                Body::CaseClaimed(ev::CaseClaimed {
                    office_id: row.office_id.clone(),
                    reviewer: claims.user.clone(),
                })
            })
            .await?;
        Ok(Response::new(assignment))
    }

    #[tracing::instrument(name = "RequestSupplement", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.stage = "review"))]
    async fn request_supplement(
        &self,
        request: Request<RequestSupplementRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let req = request.into_inner();
        let case_id = parse_case_id(&req.case_id, lang)?;
        let mut errors = Vec::new();
        let reason = check_text(&req.reason, "reason", lang, &mut errors);
        if req.items.is_empty() {
            errors.push(FieldViolation::new(
                "items",
                lang.pick("必须列出需要补正的材料", "list the material needed"),
            ));
        }
        if req.items.len() > MAX_ITEMS {
            errors.push(FieldViolation::new(
                "items",
                lang.pick("最多 50 项", "at most 50 items"),
            ));
        }
        let items: Vec<String> = req
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| check_text(item, &format!("items[{i}]"), lang, &mut errors))
            .collect();
        if !errors.is_empty() {
            return Err(status::invalid_argument(lang, errors));
        }
        let command = CaseCommand::RequestSupplement {
            items: items.clone(),
            reason: reason.clone(),
        };
        let assignment = self
            .act(&claims, case_id, &command, lang, |row, _| {
                row.supplement_items = json!(items);
                row.supplement_reason = Some(reason.clone());
                // The clock stops until the window hands the material in.
                row.due_at = None;
                Body::SupplementRequested(ev::SupplementRequested {
                    office_id: row.office_id.clone(),
                    items: items.clone(),
                    reason: reason.clone(),
                })
            })
            .await?;
        Ok(Response::new(assignment))
    }

    #[tracing::instrument(name = "DecideCase", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.stage = "decide"))]
    async fn decide_case(
        &self,
        request: Request<DecideCaseRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let req = request.into_inner();
        let case_id = parse_case_id(&req.case_id, lang)?;
        let mut errors = Vec::new();
        let decision = decision_from_pb(req.decision());
        if decision.is_none() {
            errors.push(FieldViolation::new(
                "decision",
                lang.pick("必须选择准予或不予", "choose APPROVE or DENY"),
            ));
        }
        let reason = req.reason.trim().to_owned();
        if decision == Some(Decision::Deny) || !reason.is_empty() {
            check_text(&reason, "reason", lang, &mut errors);
        }
        let checklist: Vec<ChecklistEntry> = req
            .checklist
            .iter()
            .map(|c| ChecklistEntry {
                review_point_code: c.review_point_code.trim().to_owned(),
                passed: c.passed,
                note: c.note.trim().to_owned(),
            })
            .collect();
        let Some(decision) = decision.filter(|_| errors.is_empty()) else {
            return Err(status::invalid_argument(lang, errors));
        };
        // 纸质原件: approval waits for the originals (checked once the case is known to be theirs).
        let originals_missing = if decision == Decision::Approve {
            crate::originals::outstanding(&self.state.pool, case_id)
                .await
                .map_err(internal(lang))?
        } else {
            None
        };
        // The checklist is checked against the matter once we know the case is the caller's.
        let reference = self.state.reference.clone();
        let assignment = self
            .act_checked(
                &claims,
                case_id,
                &CaseCommand::Decide { decision },
                lang,
                |row| {
                    // The originals go to the lead office only (the first part's, for 多地联办).
                    if let Some(codes) = originals_missing.as_ref().filter(|_| row.part_seq == 0) {
                        return Err(crate::originals::not_arrived(lang, codes));
                    }
                    let Some(matter) = reference.catalog.matter(&row.matter_code) else {
                        return Ok(());
                    };
                    // A 多地联办 part answers its own 审查要点 only.
                    let checked = if row.is_joint() {
                        match row.joint_part() {
                            Some(part) => check_part_decision(matter, &part, decision, &checklist),
                            None => check_decision(matter, decision, &checklist),
                        }
                    } else {
                        check_decision(matter, decision, &checklist)
                    };
                    checked.map_err(|problems| {
                        status::invalid_argument(
                            lang,
                            problems
                                .iter()
                                .map(|p| FieldViolation::new("checklist", p.text(lang)))
                                .collect(),
                        )
                    })
                },
                |row, now| {
                    row.decision = Some(decision);
                    row.decision_reason = Some(reason.clone());
                    row.checklist = serde_json::to_value(&checklist).unwrap_or_else(|_| json!([]));
                    row.decided_at = Some(now);
                    Body::CaseDecided(ev::CaseDecided {
                        office_id: row.office_id.clone(),
                        decision: decision_to_pb(decision).into(),
                        reason: reason.clone(),
                        checklist: checklist
                            .iter()
                            .map(|c| pb::ChecklistItem {
                                review_point_code: c.review_point_code.clone(),
                                passed: c.passed,
                                note: c.note.clone(),
                            })
                            .collect(),
                        reviewer: claims.user.clone(),
                    })
                },
            )
            .await?;
        Ok(Response::new(assignment))
    }

    #[tracing::instrument(name = "ExtendDeadline", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.matter_code = tracing::field::Empty, tongban.stage = "review"))]
    async fn extend_deadline(
        &self,
        request: Request<ExtendDeadlineRequest>,
    ) -> Result<Response<Assignment>, Status> {
        delegate(&self.state, request, crate::clock_api::extend_deadline).await
    }

    #[tracing::instrument(name = "SuspendClock", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.matter_code = tracing::field::Empty, tongban.stage = "review"))]
    async fn suspend_clock(
        &self,
        request: Request<SuspendClockRequest>,
    ) -> Result<Response<Assignment>, Status> {
        delegate(&self.state, request, crate::clock_api::suspend_clock).await
    }

    #[tracing::instrument(name = "ResumeClock", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.matter_code = tracing::field::Empty, tongban.stage = "review"))]
    async fn resume_clock(
        &self,
        request: Request<ResumeClockRequest>,
    ) -> Result<Response<Assignment>, Status> {
        delegate(&self.state, request, crate::clock_api::resume_clock).await
    }
}

/// One review step as the handlers and [`crate::joint`] see it.
pub(crate) struct Action<'a> {
    /// The caller.
    pub claims: &'a Claims,
    /// What they ask the case (their part) to do.
    pub command: &'a CaseCommand,
    /// The caller's language.
    pub lang: Lang,
    /// When it happens.
    pub now: chrono::DateTime<Utc>,
}

impl Review {
    async fn act(
        &self,
        claims: &Claims,
        case_id: Uuid,
        command: &CaseCommand,
        lang: Lang,
        change: impl FnOnce(&mut AssignmentRow, chrono::DateTime<Utc>) -> Body,
    ) -> Result<Assignment, Status> {
        self.act_checked(claims, case_id, command, lang, |_| Ok(()), change)
            .await
    }

    /// Loads the caller's assignment (NOT_FOUND when the case has no row for the caller's
    /// office), applies `command` through the state machine — the part's, through
    /// [`crate::joint::act`], for a 多地联办 case — lets `check` refuse it and `change` update the
    /// row and build the event, and stores rows, events and the audit record in one
    /// transaction. Returns the caller's view.
    async fn act_checked(
        &self,
        claims: &Claims,
        case_id: Uuid,
        command: &CaseCommand,
        lang: Lang,
        check: impl FnOnce(&AssignmentRow) -> Result<(), Status>,
        change: impl FnOnce(&mut AssignmentRow, chrono::DateTime<Utc>) -> Body,
    ) -> Result<Assignment, Status> {
        claims.require(&[Role::Reviewer, Role::OfficeHead], lang)?;
        let mut tx = self.state.pool.begin().await.map_err(internal(lang))?;
        // Every row of the case, locked in one order: the parts of a joint case move together.
        let mut rows = repo::parts_of(&mut tx, case_id, true)
            .await
            .map_err(internal(lang))?;
        let acting = rows
            .iter()
            .position(|r| may_act(claims, r))
            .ok_or_else(|| not_found(lang))?;
        let row = &rows[acting];
        let span = tracing::Span::current();
        span.record("tongban.case_number", row.case_number.as_str());
        // The step runs in a span of the case's trace: days later, the reviewer's work still
        // joins it (the request's own span cannot change its parent once entered).
        let step = tracing::info_span!(
            "review step",
            otel.name = command.name(),
            tongban.case_number = %row.case_number,
            tongban.matter_code = %row.matter_code,
            tongban.stage = stage_of(command),
            tongban.due_at = row.due_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
        );
        if let Some(parent) = row.traceparent.as_deref() {
            tongban_telemetry::set_parent_from_traceparent(&step, parent, None);
        }
        async {
            let action = Action {
                claims,
                command,
                lang,
                now: self.state.clock.now(),
            };
            let assignment = if rows[acting].is_joint() {
                crate::joint::act(&mut tx, &self.state, &action, rows, acting, check, change)
                    .await?
            } else {
                let row = rows.swap_remove(acting);
                self.act_single(&mut tx, &action, row, check, change)
                    .await?
            };
            tx.commit().await.map_err(internal(lang))?;
            Ok(assignment)
        }
        .instrument(step)
        .await
    }

    /// A step on a case handled by one office: the case's own state machine.
    async fn act_single(
        &self,
        tx: &mut sqlx::PgConnection,
        action: &Action<'_>,
        mut row: AssignmentRow,
        check: impl FnOnce(&AssignmentRow) -> Result<(), Status>,
        change: impl FnOnce(&mut AssignmentRow, chrono::DateTime<Utc>) -> Body,
    ) -> Result<Assignment, Status> {
        let Action {
            claims,
            command,
            lang,
            now,
        } = *action;
        let before = json!({"state": state_name(row.state), "case_status": row.case_status});
        let (next, events) = case::transition(row.status(), command)
            .map_err(|e| status::case_state(e.text(lang), "state"))?;
        check(&row)?;
        let body = change(&mut row, now);
        row.set_status(next);
        repo::update(tx, &row).await.map_err(internal(lang))?;
        let decision = match command {
            CaseCommand::Decide { decision } => Some(*decision),
            _ => None,
        };
        crate::members::follow(tx, row.case_id, next, decision)
            .await
            .map_err(internal(lang))?;
        for step in events {
            publish(tx, &row, &claims.user, now, body.clone())
                .await
                .map_err(|e| status::internal(lang, &e))?;
            log_step(&row, step);
        }
        tongban_store::audit(
            tx,
            &tongban_store::AuditRecord {
                actor: &claims.user,
                role: claims.role.as_str(),
                office_id: &claims.office,
                action: command.name(),
                entity: "case",
                entity_id: &row.case_id.to_string(),
                before: Some(before),
                after: Some(
                    json!({"state": state_name(row.state), "case_status": row.case_status, "decision": row.decision}),
                ),
            },
        )
        .await
        .map_err(|e| status::internal(lang, &e))?;
        view::assignment(tx, &self.state.reference, &row)
            .await
            .map_err(internal(lang))
    }
}

/// The stage a review command works in (`tongban.stage`).
fn stage_of(command: &CaseCommand) -> &'static str {
    match command {
        CaseCommand::Decide { .. } => "decide",
        _ => "review",
    }
}

pub(crate) fn log_step(row: &AssignmentRow, step: CaseEvent) {
    // Reasons and 补正 items are free text a reviewer typed: they stay out of the log (they may
    // hold personal data); the timeline users see carries them.
    tracing::info!(
        case_number = %row.case_number,
        office = %row.office_id,
        part = %row.part_code,
        step = step.subject_suffix(),
        "review step"
    );
}
