//! IntakeService: submit, show, supplement and withdraw cases at the 通办 window; submit and show
//! 一件事 bundles (see [`crate::bundles`]).

use chrono::Utc;
use prost::Message as _;
use tongban_domain::calendar::shanghai_date;
use tongban_domain::case::{self, CaseCommand, CaseEvent, CaseStatus};
use tongban_domain::case_number::CaseNumber;
use tongban_domain::clock::{CaseClock, SuspensionKind};
use tongban_domain::i18n::Lang;
use tongban_domain::i18n::Localized;
use tongban_domain::materials::{
    Form, check_materials, merge_supplemented, unsatisfied_certificates,
};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::intake::v1::intake_service_server::IntakeService;
use tongban_proto::intake::v1::{
    Bundle, Case, GetBundleRequest, GetCaseRequest, ListCasesRequest, ListCasesResponse,
    SubmitBundleRequest, SubmitCaseRequest, SubmitCaseResponse, SupplementCaseRequest,
    WithdrawCaseRequest,
};
use tongban_runtime::auth::{Claims, Role, authorize, caller_and_lang};
use tongban_runtime::convert::{status_to_pb, timestamp};
use tongban_runtime::input::{check_text, parse_case_id};
use tongban_runtime::parts;
use tongban_runtime::status::{FieldViolation, PreconditionViolation};
use tongban_step::Effects;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::accept::{self, Acceptance, Start};
use crate::error::{IntakeError, Unknown};
use crate::limits;
use crate::repo::{self, CaseRow};
use crate::validation::{MaterialIn, Submission, check_materials_in, check_submit};
use crate::view::{self, Step};
use crate::{EXECUTOR, State};
use tongban_domain::bundle::Ended;
use tongban_runtime::lang::request_lang;

/// The IntakeService handlers.
pub struct Intake {
    state: State,
}

impl Intake {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// Clerks see the cases of their own window; supervisors and admins see all.
fn may_see(claims: &Claims, row: &CaseRow) -> bool {
    may_see_window(claims, &row.window_office_id)
}

/// Whether the caller may see what window `window_office_id` accepted (cases, bundles).
pub(crate) fn may_see_window(claims: &Claims, window_office_id: &str) -> bool {
    match claims.role {
        Role::Admin | Role::Supervisor => true,
        Role::Clerk => claims.office == window_office_id,
        _ => false,
    }
}

/// A clerk submits at their own window only (admins at any).
pub(crate) fn submits_at_own_window(
    claims: &Claims,
    window_office_id: &str,
) -> Result<(), IntakeError> {
    if claims.role == Role::Clerk && claims.office != window_office_id {
        return Err(IntakeError::Forbidden {
            zh: "窗口人员只能在本窗口受理办件",
            en: "a clerk can submit cases only at their own window",
        });
    }
    Ok(())
}

/// Lower-case hex of `bytes` (request digests).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tonic::async_trait]
impl IntakeService for Intake {
    #[tracing::instrument(name = "SubmitCase", skip_all, fields(
        tongban.case_number = tracing::field::Empty,
        tongban.matter_code = %request.get_ref().matter_code,
        tongban.stage = "accept",
        tongban.due_at = tracing::field::Empty,
    ))]
    async fn submit_case(
        &self,
        request: Request<SubmitCaseRequest>,
    ) -> Result<Response<SubmitCaseResponse>, Status> {
        let lang = request_lang(request.metadata());
        self.submit_case_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    #[tracing::instrument(name = "GetCase", skip_all)]
    async fn get_case(&self, request: Request<GetCaseRequest>) -> Result<Response<Case>, Status> {
        let lang = request_lang(request.metadata());
        self.get_case_rpc(request).await.map_err(|e| e.status(lang))
    }

    #[tracing::instrument(name = "SupplementCase", skip_all, fields(tongban.case_number = tracing::field::Empty, tongban.stage = "supplement"))]
    async fn supplement_case(
        &self,
        request: Request<SupplementCaseRequest>,
    ) -> Result<Response<Case>, Status> {
        let lang = request_lang(request.metadata());
        self.supplement_case_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    #[tracing::instrument(name = "WithdrawCase", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn withdraw_case(
        &self,
        request: Request<WithdrawCaseRequest>,
    ) -> Result<Response<Case>, Status> {
        let lang = request_lang(request.metadata());
        self.withdraw_case_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    #[tracing::instrument(name = "ListCases", skip_all)]
    async fn list_cases(
        &self,
        request: Request<ListCasesRequest>,
    ) -> Result<Response<ListCasesResponse>, Status> {
        let lang = request_lang(request.metadata());
        self.list_cases_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    #[tracing::instrument(name = "SubmitBundle", skip_all, fields(
        tongban.bundle_code = %request.get_ref().bundle_code,
        tongban.stage = "accept",
    ))]
    async fn submit_bundle(
        &self,
        request: Request<SubmitBundleRequest>,
    ) -> Result<Response<Bundle>, Status> {
        let lang = request_lang(request.metadata());
        self.submit_bundle_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    #[tracing::instrument(name = "GetBundle", skip_all)]
    async fn get_bundle(
        &self,
        request: Request<GetBundleRequest>,
    ) -> Result<Response<Bundle>, Status> {
        let lang = request_lang(request.metadata());
        self.get_bundle_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }
}

impl Intake {
    async fn submit_case_rpc(
        &self,
        request: Request<SubmitCaseRequest>,
    ) -> Result<Response<SubmitCaseResponse>, IntakeError> {
        let (claims, lang) = authorize(&request, &[Role::Clerk, Role::Admin])?;
        limits::check(request.get_ref(), lang)?;
        // Forwarded to the certificate service: the clerk is the one verifying.
        let authorization = request.metadata().get("authorization").cloned();
        let req = request.into_inner();
        let reference = &*self.state.reference;
        let now = self.state.clock.now();
        let today = shanghai_date(now);
        let mut sub = check_submit(reference, &req, today, lang).map_err(IntakeError::Invalid)?;
        submits_at_own_window(&claims, &sub.window.id)?;
        let request_digest = self
            .state
            .pii
            .digest("intake-submit-request", &hex(&req.encode_to_vec()));
        {
            // One connection at a time per request: holding this one while opening the
            // transaction below could starve the pool under concurrent submissions.
            let mut conn = self.state.pool.acquire().await?;
            if let Some(existing) = replay(&mut conn, &sub, &request_digest).await? {
                return Ok(Response::new(submit_response(&existing)));
            }
        }

        // 一次性告知: the routing refusal and every missing material, all at once.
        let route = accept::route(reference, &sub, today, now);
        let mut refusals = Vec::new();
        if let Err(err) = &route {
            refusals.push(PreconditionViolation::new(
                "ROUTE_REFUSED",
                "home_division",
                err.text(lang),
            ));
        }
        refusals.extend(
            accept::verify_certificates(
                &self.state,
                &mut sub.materials,
                sub.applicant.id_number.as_str(),
                authorization.as_ref(),
                lang,
            )
            .await,
        );
        let (missing, problems) =
            check_materials(sub.matter, sub.mode, &accept::presented(&sub.materials));
        for m in &missing {
            refusals.push(PreconditionViolation::new(
                "MATERIAL_MISSING",
                m.code.clone(),
                m.text(lang),
            ));
        }
        for p in &problems {
            refusals.push(PreconditionViolation::new(
                "MATERIAL_INVALID",
                "materials",
                p.text(lang),
            ));
        }
        let routed = match route {
            Ok(routed) if refusals.is_empty() => routed,
            _ => return Err(IntakeError::Refused(refusals)),
        };
        let due_at = accept::due_after(reference, now, sub.matter.promised_limit_days)?;
        tracing::Span::current().record("tongban.due_at", due_at.to_rfc3339().as_str());

        // Taken before the transaction, so no lock is held while the case is stored.
        let number = accept::take_number(&self.state.pool, sub.window, now).await?;
        let mut step = EXECUTOR
            .begin(&self.state.pool, clerk(&claims), now)
            .await?;
        // The case's trace is the one this request runs in: no other to join.
        let (row, effects) = accept::open(
            step.conn(),
            &self.state,
            &sub,
            Acceptance {
                routed: &routed,
                claims: &claims,
                now,
                start: Start::Now { due_at },
                number,
                member: None,
            },
        )
        .await?;
        if !repo::insert_idempotency(
            step.conn(),
            &sub.window.id,
            &sub.key,
            &request_digest,
            row.case_id,
        )
        .await?
        {
            // A concurrent request with the same key won; answer as it did.
            drop(step);
            let mut conn = self.state.pool.acquire().await?;
            return match replay(&mut conn, &sub, &request_digest).await? {
                Some(existing) => Ok(Response::new(submit_response(&existing))),
                None => Err(IntakeError::Retry),
            };
        }
        step.apply(effects).await?;
        step.commit().await?;
        tracing::Span::current().record("tongban.case_number", row.case_number.as_str());
        tracing::info!(case_number = %row.case_number, scope = %row.scope, office = %row.responsible_office_id, "case accepted");
        Ok(Response::new(submit_response(&row)))
    }

    async fn get_case_rpc(
        &self,
        request: Request<GetCaseRequest>,
    ) -> Result<Response<Case>, IntakeError> {
        let (claims, lang) = caller_and_lang(&request)?;
        limits::check(request.get_ref(), lang)?;
        let req = request.into_inner();
        let mut conn = self.state.pool.acquire().await?;
        let row = if !req.case_id.trim().is_empty() {
            let case_id = parse_case_id(&req.case_id, lang)?;
            repo::case_by_id(&mut conn, case_id, false).await?
        } else {
            match CaseNumber::parse(&req.case_number) {
                Ok(number) => repo::case_by_number(&mut conn, number.as_str()).await?,
                Err(e) => {
                    return Err(IntakeError::Invalid(vec![FieldViolation::new(
                        "case_number",
                        e.text(lang),
                    )]));
                }
            }
        };
        let row = row
            .filter(|r| may_see(&claims, r))
            .ok_or_else(|| IntakeError::NotFound(Unknown::Case))?;
        let mut case = view::case_view(
            &mut conn,
            &self.state.reference,
            &row,
            self.state.clock.now(),
        )
        .await?;
        case.result_certificate_token =
            crate::results::token(&mut conn, &self.state.pii, row.case_id).await?;
        Ok(Response::new(case))
    }

    async fn supplement_case_rpc(
        &self,
        request: Request<SupplementCaseRequest>,
    ) -> Result<Response<Case>, IntakeError> {
        let (claims, lang) = authorize(&request, &[Role::Clerk, Role::Admin])?;
        limits::check(request.get_ref(), lang)?;
        // Forwarded to the certificate service: the clerk is the one verifying.
        let authorization = request.metadata().get("authorization").cloned();
        let req = request.into_inner();
        let case_id = parse_case_id(&req.case_id, lang)?;
        // The material is checked, and its e-certificates verified, before the step: the
        // certificate service is not called while the case's row is locked. What this reads
        // (matter, mode, applicant) never changes; the state is checked again under the lock.
        let seen = {
            let mut conn = self.state.pool.acquire().await?;
            repo::case_by_id(&mut conn, case_id, false)
                .await?
                .filter(|r| may_see(&claims, r))
                .ok_or_else(|| IntakeError::NotFound(Unknown::Case))?
        };
        let matter = self.state.reference.catalog.matter(&seen.matter_code);
        let mut errors = Vec::new();
        if req.materials.is_empty() {
            errors.push(FieldViolation::new(
                "materials",
                lang.pick("必须提交补正材料", "the requested material is required"),
            ));
        }
        let mut materials = check_materials_in(&req.materials, matter, lang, &mut errors);
        let note = req.note.trim().to_owned();
        if !errors.is_empty() {
            return Err(IntakeError::Invalid(errors));
        }
        case::transition(seen.status, &CaseCommand::Supplement)?;
        self.verify_handed_in(&seen, &mut materials, authorization.as_ref(), lang)
            .await?;
        let now = self.state.clock.now();
        let mut step = EXECUTOR
            .begin(&self.state.pool, clerk(&claims), now)
            .await?;
        let mut row = self.lock_case(step.conn(), &claims, case_id).await?;
        let (next, events) = case::transition(row.status, &CaseCommand::Supplement)?;
        repo::close_suspension(step.conn(), case_id, SuspensionKind::Supplement, now).await?;
        // Read after the close: the clock stays stopped while another suspension (originals
        // in transit, a special procedure) is still open.
        let clock = repo::clock(step.conn(), &row).await?;
        row.due_at = derive_due(&self.state, &clock)?;
        // Replace the materials handed in again, keep the others.
        let stored = std::mem::take(&mut row.materials);
        let merged = merge_supplemented(stored, materials.clone(), |m| m.code.as_str());
        row.materials = merged;
        // 多地联办: the part that asked for the material has it now.
        move_parts(&mut row, parts::supplemented, now);
        row.supplement_items.clear();
        let body = Body::CaseSupplemented(ev::CaseSupplemented {
            materials: view::materials_pb(&materials),
            note: note.clone(),
            due_at: row.due_at.map(timestamp),
        });
        let clerk_step = ClerkStep {
            events,
            status: next,
            detail: &note,
            body,
            action: "case.supplement",
            at: now,
        };
        self.commit_step(step, row, clerk_step, Effects::new())
            .await
    }

    async fn withdraw_case_rpc(
        &self,
        request: Request<WithdrawCaseRequest>,
    ) -> Result<Response<Case>, IntakeError> {
        let (claims, lang) = authorize(&request, &[Role::Clerk, Role::Admin])?;
        limits::check(request.get_ref(), lang)?;
        let req = request.into_inner();
        let case_id = parse_case_id(&req.case_id, lang)?;
        let mut errors = Vec::new();
        let reason = check_text(&req.reason, "reason", lang, &mut errors);
        if !errors.is_empty() {
            return Err(IntakeError::Invalid(errors));
        }
        let now = self.state.clock.now();
        let mut step = EXECUTOR
            .begin(&self.state.pool, clerk(&claims), now)
            .await?;
        let mut row = self.lock_case(step.conn(), &claims, case_id).await?;
        let (next, events) = case::transition(
            row.status,
            &CaseCommand::Withdraw {
                reason: reason.clone(),
            },
        )?;
        // 多地联办: every part not done ends with the case.
        move_parts(&mut row, parts::withdrawn, now);
        // 一件事: the members waiting for this one's result cannot be handled any more.
        let mut effects = Effects::new();
        let mut ended = row.clone();
        ended.status = next;
        crate::bundles::withdraw_waiting(
            step.conn(),
            &self.state.reference,
            &ended,
            Ended::Withdrawn,
            now,
            &mut effects,
        )
        .await?;
        let clerk_step = ClerkStep {
            events,
            status: next,
            detail: &reason,
            body: Body::CaseWithdrawn(ev::CaseWithdrawn {
                reason: reason.clone(),
            }),
            action: "case.withdraw",
            at: now,
        };
        self.commit_step(step, row, clerk_step, effects).await
    }

    async fn list_cases_rpc(
        &self,
        request: Request<ListCasesRequest>,
    ) -> Result<Response<ListCasesResponse>, IntakeError> {
        let (claims, lang) = authorize(&request, &[Role::Clerk, Role::Admin, Role::Supervisor])?;
        limits::check(request.get_ref(), lang)?;
        let req = request.into_inner();
        let window = if req.window_office_id.trim().is_empty() {
            claims.office.clone()
        } else {
            req.window_office_id.trim().to_owned()
        };
        if claims.role == Role::Clerk && window != claims.office {
            return Err(IntakeError::Forbidden {
                zh: "只能查看本窗口的办件",
                en: "you can list only your own window's cases",
            });
        }
        let limit = i64::from(if req.limit == 0 {
            50
        } else {
            req.limit.min(500)
        });
        let mut conn = self.state.pool.acquire().await?;
        let rows = repo::list_cases(&mut conn, &window, limit).await?;
        let cases = view::case_views(
            &mut conn,
            &self.state.reference,
            &rows,
            self.state.clock.now(),
        )
        .await?;
        Ok(Response::new(ListCasesResponse { cases }))
    }

    async fn submit_bundle_rpc(
        &self,
        request: Request<SubmitBundleRequest>,
    ) -> Result<Response<Bundle>, IntakeError> {
        limits::check(request.get_ref(), request_lang(request.metadata()))?;
        crate::bundles::submit(&self.state, request).await
    }

    async fn get_bundle_rpc(
        &self,
        request: Request<GetBundleRequest>,
    ) -> Result<Response<Bundle>, IntakeError> {
        limits::check(request.get_ref(), request_lang(request.metadata()))?;
        crate::bundles::get(&self.state, request).await
    }
}

/// A clerk's step on a case, as the state machine allowed it.
struct ClerkStep<'a> {
    /// What happened, in order.
    events: Vec<CaseEvent>,
    /// The case's status after it.
    status: CaseStatus,
    /// Shown on the timeline (reason, note).
    detail: &'a str,
    /// The body of every event published.
    body: Body,
    /// The audit record's action.
    action: &'static str,
    /// When.
    at: chrono::DateTime<Utc>,
}

impl Intake {
    /// 两个免提交 in 补正, exactly as at submission: each e-certificate handed in is verified
    /// as the applicant's ([`accept::verify_certificates`]: CERTIFICATE_INVALID when refused)
    /// and must be of a type that replaces its material (MATERIAL_MISSING otherwise). The
    /// tokens are dropped either way.
    ///
    /// # Errors
    /// FAILED_PRECONDITION listing every refused certificate; INTERNAL when the applicant's
    /// sealed ID number cannot be read.
    async fn verify_handed_in(
        &self,
        row: &CaseRow,
        materials: &mut [MaterialIn],
        authorization: Option<&MetadataValue<Ascii>>,
        lang: Lang,
    ) -> Result<(), IntakeError> {
        if !materials.iter().any(|m| m.form == Form::Certificate) {
            return Ok(());
        }
        let (id_sealed, _) = {
            let mut conn = self.state.pool.acquire().await?;
            repo::sealed_personal_data(&mut conn, row.case_id).await?
        };
        let holder = self.state.pii.open(&id_sealed, row.case_id.as_bytes())?;
        let mut refusals =
            accept::verify_certificates(&self.state, materials, &holder, authorization, lang).await;
        if let Some(matter) = self.state.reference.catalog.matter(&row.matter_code) {
            // A refused certificate is listed once, as refused.
            let judged: Vec<MaterialIn> = materials
                .iter()
                .filter(|m| !refusals.iter().any(|r| r.subject == m.code))
                .cloned()
                .collect();
            for m in unsatisfied_certificates(matter, row.mode, &accept::presented(&judged)) {
                refusals.push(PreconditionViolation::new(
                    "MATERIAL_MISSING",
                    m.code.clone(),
                    m.text(lang),
                ));
            }
        }
        if refusals.is_empty() {
            Ok(())
        } else {
            Err(IntakeError::Refused(refusals))
        }
    }

    /// The case `case_id`, locked for a step of the caller's; NOT_FOUND when it is not one of
    /// their window's, as if it did not exist.
    async fn lock_case(
        &self,
        tx: &mut sqlx::PgConnection,
        claims: &Claims,
        case_id: Uuid,
    ) -> Result<CaseRow, IntakeError> {
        let row = repo::case_by_id(tx, case_id, true)
            .await?
            .filter(|r| may_see(claims, r))
            .ok_or_else(|| IntakeError::NotFound(Unknown::Case))?;
        tracing::Span::current().record("tongban.case_number", row.case_number.as_str());
        Ok(row)
    }

    /// Moves `row` to the step's status and takes the step: a timeline line and an event at
    /// the window for each of its events, the row, the audit entry, then `effects` (the
    /// members it moved); commits and answers with the window's view of the case.
    async fn commit_step(
        &self,
        mut step: tongban_step::Step,
        mut row: CaseRow,
        clerk_step: ClerkStep<'_>,
        others: Effects,
    ) -> Result<Response<Case>, IntakeError> {
        let reference = &*self.state.reference;
        row.status = clerk_step.status;
        let mut effects = Effects::new();
        for event in clerk_step.events {
            view::record_step(
                step.conn(),
                reference,
                &row,
                Step {
                    event,
                    status: clerk_step.status,
                    office_id: &row.window_office_id,
                    detail: clerk_step.detail,
                    at: clerk_step.at,
                    body: clerk_step.body.clone(),
                },
                &mut effects,
            )
            .await?;
        }
        repo::update_case(step.conn(), &row).await?;
        view::audit(&mut effects, clerk_step.action, &row);
        // The members the step moved were recorded first (a withdrawal's cascade).
        let mut all = others;
        all.extend(effects);
        step.apply(all).await?;
        step.commit().await?;
        let mut conn = self.state.pool.acquire().await?;
        let case = view::case_view(&mut conn, reference, &row, clerk_step.at).await?;
        Ok(Response::new(case))
    }
}

/// A clerk at the window, as the step executor records them.
pub(crate) fn clerk(claims: &Claims) -> tongban_step::Actor {
    tongban_step::Actor::person(&claims.user, claims.role.as_str(), &claims.office)
}

fn submit_response(row: &CaseRow) -> SubmitCaseResponse {
    SubmitCaseResponse {
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        status: status_to_pb(row.status).into(),
        scope: tongban_runtime::convert::scope_to_pb(row.scope).into(),
        responsible_office_id: row.responsible_office_id.clone(),
        accepted_at: row.accepted_at.map(timestamp),
        due_at: row.due_at.map(timestamp),
        agreement_id: row.agreement_id.clone().unwrap_or_default(),
        parts: crate::parts::to_pb(&row.parts),
    }
}

/// The case an earlier identical request created, or ALREADY_EXISTS for a different request.
async fn replay(
    conn: &mut sqlx::PgConnection,
    sub: &Submission<'_>,
    request_digest: &str,
) -> Result<Option<CaseRow>, IntakeError> {
    let Some((digest, case_id)) = repo::find_idempotency(conn, &sub.window.id, &sub.key).await?
    else {
        return Ok(None);
    };
    if digest != request_digest {
        return Err(IntakeError::KeyReused);
    }
    Ok(repo::case_by_id(conn, case_id, false).await?)
}

/// Moves the stored parts of a joint case by the window's own step at `at`: `step` is
/// [`parts::supplemented`] (补正 handed in) or [`parts::withdrawn`].
fn move_parts(
    row: &mut CaseRow,
    step: fn(&mut [parts::KeptPart], parts::Step, parts::Origin) -> bool,
    at: chrono::DateTime<Utc>,
) {
    let stored = &mut row.parts;
    // The window acts on the locked case before its event exists: no event id.
    let own = parts::Step {
        at,
        event_id: uuid::Uuid::nil(),
    };
    step(stored, own, parts::Origin::Own);
}

/// The due moment derived from the clock (None while it is stopped).
pub(crate) fn derive_due(
    state: &State,
    clock: &CaseClock,
) -> Result<Option<chrono::DateTime<Utc>>, IntakeError> {
    clock
        .due_at(&state.reference.calendar)
        .map_err(|error| IntakeError::Calendar {
            subject: "due_at",
            error,
        })
}

/// Used by the review-event consumer: suspend the clock for a 补正.
pub(crate) async fn suspend_for_supplement(
    conn: &mut sqlx::PgConnection,
    row: &CaseRow,
    at: chrono::DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    repo::open_suspension(conn, row.case_id, SuspensionKind::Supplement, at, reason).await
}
