//! ReviewService: the responsible office's inbox, claims, 补正 requests and decisions. A
//! reviewer acts only on cases routed to the office in their token; any other case is
//! NOT_FOUND, exactly as if it did not exist. Each handler checks who asks and what they ask,
//! then takes its step through [`crate::step`]; every failure is a [`ReviewError`], answered
//! through its one mapping.

use tongban_domain::assignment::Command as ReviewCommand;
use tongban_domain::case::Decision;
use tongban_domain::i18n::Lang;
use tongban_domain::review::ChecklistEntry;
use tongban_proto::review::v1::review_service_server::ReviewService;
use tongban_proto::review::v1::{
    Assignment, AssignmentState, ClaimCaseRequest, DecideCaseRequest, ExtendDeadlineRequest,
    GetAssignmentRequest, ListAssignmentsRequest, ListAssignmentsResponse, ReassignCaseRequest,
    RequestSupplementRequest, ResumeClockRequest, SuspendClockRequest, WatchAssignmentsRequest,
};
use tongban_runtime::auth::{Claims, Role, caller_and_lang};
use tongban_runtime::convert::decision_from_pb;
use tongban_runtime::input::check_text;
use tongban_runtime::status::FieldViolation;
use tonic::{Request, Response, Status};

use crate::State;
use crate::error::ReviewError;
use crate::limits;
use crate::repo::{self, state_name};
use crate::step::{self, Command};
use crate::view;
use crate::watch::WatchStream;

/// The ReviewService handlers.
pub struct Review {
    state: State,
}

impl Review {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// Roles that act on assignments, and the office whose inbox a caller may read.
fn office_of(claims: &Claims, requested: &str, lang: Lang) -> Result<String, ReviewError> {
    let mut errors = Vec::new();
    if !limits::chars(&limits::OFFICE_ID, requested, &[], lang, &mut errors) {
        return Err(ReviewError::Invalid(errors));
    }
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
        _ => Err(ReviewError::OtherOffice),
    }
}

/// The roles that take review steps (an office's reviewers and head).
fn may_act(claims: &Claims, lang: Lang) -> Result<(), ReviewError> {
    Ok(claims.require(&[Role::Reviewer, Role::OfficeHead], lang)?)
}

/// Answers a handler's outcome: the value, or the error's one mapping in the caller's language.
fn answer<T>(result: Result<T, ReviewError>, lang: Lang) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(|err| err.status(lang))
}

#[tonic::async_trait]
impl ReviewService for Review {
    #[tracing::instrument(name = "ListAssignments", skip_all)]
    async fn list_assignments(
        &self,
        request: Request<ListAssignmentsRequest>,
    ) -> Result<Response<ListAssignmentsResponse>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        answer(self.list(&claims, request.get_ref(), lang).await, lang)
    }

    type WatchAssignmentsStream = WatchStream;

    #[tracing::instrument(name = "WatchAssignments", skip_all)]
    async fn watch_assignments(
        &self,
        request: Request<WatchAssignmentsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        answer(self.watch(&claims, request.get_ref(), lang).await, lang)
    }

    #[tracing::instrument(name = "GetAssignment", skip_all)]
    async fn get_assignment(
        &self,
        request: Request<GetAssignmentRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        answer(self.get(&claims, request.get_ref(), lang).await, lang)
    }

    #[tracing::instrument(name = "ClaimCase", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.stage = "review"))]
    async fn claim_case(
        &self,
        request: Request<ClaimCaseRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        answer(self.claim(&claims, request.get_ref(), lang).await, lang)
    }

    #[tracing::instrument(name = "RequestSupplement", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.stage = "review"))]
    async fn request_supplement(
        &self,
        request: Request<RequestSupplementRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        answer(
            self.supplement(&claims, request.get_ref(), lang).await,
            lang,
        )
    }

    #[tracing::instrument(name = "DecideCase", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.stage = "decide"))]
    async fn decide_case(
        &self,
        request: Request<DecideCaseRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        answer(self.decide(&claims, request.get_ref(), lang).await, lang)
    }

    #[tracing::instrument(name = "ExtendDeadline", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.matter_code = tracing::field::Empty, tongban.stage = "review"))]
    async fn extend_deadline(
        &self,
        request: Request<ExtendDeadlineRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let result =
            crate::clock_api::extend_deadline(&self.state, &claims, request.get_ref(), lang).await;
        answer(result, lang)
    }

    #[tracing::instrument(name = "SuspendClock", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.matter_code = tracing::field::Empty, tongban.stage = "review"))]
    async fn suspend_clock(
        &self,
        request: Request<SuspendClockRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let result =
            crate::clock_api::suspend_clock(&self.state, &claims, request.get_ref(), lang).await;
        answer(result, lang)
    }

    #[tracing::instrument(name = "ResumeClock", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.matter_code = tracing::field::Empty, tongban.stage = "review"))]
    async fn resume_clock(
        &self,
        request: Request<ResumeClockRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        let result =
            crate::clock_api::resume_clock(&self.state, &claims, request.get_ref(), lang).await;
        answer(result, lang)
    }

    #[tracing::instrument(name = "ReassignCase", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.matter_code = tracing::field::Empty, tongban.stage = "review"))]
    async fn reassign_case(
        &self,
        request: Request<ReassignCaseRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let (claims, lang) = caller_and_lang(&request)?;
        answer(self.reassign(&claims, request.get_ref(), lang).await, lang)
    }
}

impl Review {
    async fn list(
        &self,
        claims: &Claims,
        req: &ListAssignmentsRequest,
        lang: Lang,
    ) -> Result<ListAssignmentsResponse, ReviewError> {
        let office = office_of(claims, &req.office_id, lang)?;
        let mut errors = Vec::new();
        if !limits::items(&limits::STATES, req.states.len(), lang, &mut errors) {
            return Err(ReviewError::Invalid(errors));
        }
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
        let mut conn = self.state.pool.acquire().await?;
        let rows = repo::list(&mut conn, &office, &states, limit).await?;
        let assignments = view::assignments(&mut conn, &self.state.reference, &rows).await?;
        Ok(ListAssignmentsResponse { assignments })
    }

    async fn watch(
        &self,
        claims: &Claims,
        req: &WatchAssignmentsRequest,
        lang: Lang,
    ) -> Result<WatchStream, ReviewError> {
        let office = office_of(claims, &req.office_id, lang)?;
        self.state.watchers.watch(office, lang).await
    }

    async fn get(
        &self,
        claims: &Claims,
        req: &GetAssignmentRequest,
        lang: Lang,
    ) -> Result<Assignment, ReviewError> {
        let case_id = limits::case_id(&req.case_id, lang)?;
        let mut conn = self.state.pool.acquire().await?;
        // An office sees its own row (its own part of a 多地联办 case); supervision sees the lead;
        // anyone else sees nothing, as if the case did not exist.
        let row = match claims.role {
            Role::Supervisor | Role::Admin => repo::lead(&mut conn, case_id).await?,
            Role::Reviewer | Role::OfficeHead => {
                repo::get(&mut conn, case_id, &claims.office, false).await?
            }
            _ => None,
        }
        .ok_or(ReviewError::NotFound)?;
        Ok(view::assignment(&mut conn, &self.state.reference, &row).await?)
    }

    async fn claim(
        &self,
        claims: &Claims,
        req: &ClaimCaseRequest,
        lang: Lang,
    ) -> Result<Assignment, ReviewError> {
        let case_id = limits::case_id(&req.case_id, lang)?;
        may_act(claims, lang)?;
        let command = ReviewCommand::Claim {
            reviewer: claims.user.clone(),
        };
        step::take(&self.state, claims, case_id, Command::Review(command)).await
    }

    async fn supplement(
        &self,
        claims: &Claims,
        req: &RequestSupplementRequest,
        lang: Lang,
    ) -> Result<Assignment, ReviewError> {
        let case_id = limits::case_id(&req.case_id, lang)?;
        let mut errors = Vec::new();
        let reason = limits::text(&limits::REASON, &req.reason, lang, &mut errors);
        if req.items.is_empty() {
            errors.push(FieldViolation::new(
                "items",
                lang.pick("必须列出需要补正的材料", "list the material needed"),
            ));
        }
        let mut items = Vec::new();
        if limits::items(&limits::ITEMS, req.items.len(), lang, &mut errors) {
            for (i, item) in req.items.iter().enumerate() {
                if limits::chars(&limits::ITEM, item, &[i], lang, &mut errors) {
                    items.push(check_text(item, &format!("items[{i}]"), lang, &mut errors));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ReviewError::Invalid(errors));
        }
        may_act(claims, lang)?;
        let command = ReviewCommand::RequestSupplement { items, reason };
        step::take(&self.state, claims, case_id, Command::Review(command)).await
    }

    async fn decide(
        &self,
        claims: &Claims,
        req: &DecideCaseRequest,
        lang: Lang,
    ) -> Result<Assignment, ReviewError> {
        let case_id = limits::case_id(&req.case_id, lang)?;
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
            limits::text(&limits::REASON, &reason, lang, &mut errors);
        }
        let mut checklist: Vec<ChecklistEntry> = Vec::new();
        if limits::items(&limits::CHECKLIST, req.checklist.len(), lang, &mut errors) {
            for (i, c) in req.checklist.iter().enumerate() {
                let code = &c.review_point_code;
                let fits = limits::chars(&limits::REVIEW_POINT_CODE, code, &[i], lang, &mut errors)
                    & limits::chars(&limits::NOTE, &c.note, &[i], lang, &mut errors);
                if fits {
                    checklist.push(ChecklistEntry {
                        review_point_code: code.trim().to_owned(),
                        passed: c.passed,
                        note: c.note.trim().to_owned(),
                    });
                }
            }
        }
        let Some(decision) = decision.filter(|_| errors.is_empty()) else {
            return Err(ReviewError::Invalid(errors));
        };
        may_act(claims, lang)?;
        // The originals and the checklist are checked in the step, once the case is known to
        // be the caller's.
        let command = ReviewCommand::Decide {
            decision,
            reason,
            checklist,
            originals_missing: None,
        };
        step::take(&self.state, claims, case_id, Command::Review(command)).await
    }

    async fn reassign(
        &self,
        claims: &Claims,
        req: &ReassignCaseRequest,
        lang: Lang,
    ) -> Result<Assignment, ReviewError> {
        let case_id = limits::case_id(&req.case_id, lang)?;
        let mut errors = Vec::new();
        let reviewer = limits::text(&limits::REVIEWER, &req.reviewer, lang, &mut errors);
        let reason = req.reason.trim().to_owned();
        if !reason.is_empty() {
            limits::text(&limits::REASON, &reason, lang, &mut errors);
        }
        if !errors.is_empty() {
            return Err(ReviewError::Invalid(errors));
        }
        // Only the office head reassigns (the domain says so too, for any caller that gets
        // this far); a reviewer learns it as PERMISSION_DENIED.
        claims.require(&[Role::OfficeHead], lang)?;
        let command = Command::Reassign { reviewer, reason };
        step::take(&self.state, claims, case_id, command).await
    }
}
