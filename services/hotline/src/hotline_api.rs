//! HotlineService (12345): masked case status for a verified caller, 投诉 and 好差评.
//!
//! Every verification attempt is written to `status_lookups` before the answer goes out, whatever
//! the outcome, in one step with the lockout's check and count ([`lockout`]). An unknown case number and a wrong verification give
//! the same NOT_FOUND, so the hotline cannot be used to learn which case numbers exist.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use tongban_domain::case_number::CaseNumber;
use tongban_domain::complaint::ComplaintState;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::lockout::{self as lockout_rule, Verdict};
use tongban_domain::rating::{self, ScoreError};
use tongban_domain::validate::{PersonName, PhoneNumber};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::hotline::v1::hotline_service_server::HotlineService;
use tongban_proto::hotline::v1::{
    self as pb, AdvanceComplaintRequest, CaseStatusView, Complaint, ComplaintStep,
    FileComplaintRequest, GetComplaintRequest, GetRatingSummaryRequest, IndicatorScore,
    ListComplaintsRequest, ListComplaintsResponse, ListCompletionNoticesRequest,
    ListCompletionNoticesResponse, ListRectificationsRequest, ListRectificationsResponse,
    QueryCaseStatusRequest, RateServiceRequest, Rating, RatingOccasion, RatingSummary,
    RecordCallbackRequest, Rectification,
};
use tongban_runtime::auth::{Claims, Role, authorize, caller_and_lang};
use tongban_runtime::convert::timestamp;
use tongban_runtime::input;
use tongban_runtime::status::FieldViolation;
use tongban_step::{Actor, CaseRef, Effects, Executor};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::HotlineError;
use crate::repo::{self, Lookup, LookupAction, LookupResult, NewComplaint, NewRating, StatusRow};
use crate::verify::Verification;
use crate::{SERVICE, State, complaints, lockout, notices, ratings, rules, view};

/// The HotlineService handlers.
pub struct Hotline {
    state: State,
}

impl Hotline {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// A case number and verification that are well formed.
struct Proof {
    number: CaseNumber,
    verification: Verification,
}

/// Parses the case number and verification, adding a violation for each bad one.
fn parse_proof(
    case_number: &str,
    verification: &str,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Option<Proof> {
    let number = CaseNumber::parse(case_number)
        .map_err(|e| errors.push(FieldViolation::new("case_number", e.text(lang))))
        .ok();
    let verification = Verification::parse(verification)
        .map_err(|e| errors.push(FieldViolation::new("verification", e.text(lang))))
        .ok();
    Some(Proof {
        number: number?,
        verification: verification?,
    })
}

/// Checks a free-text field as [`input::check_text`] does, but required only unless `optional`;
/// a phone or ID number typed into it is never kept in full.
pub(crate) fn check_text(
    value: &str,
    field: &str,
    optional: bool,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> String {
    if optional && value.trim().is_empty() {
        return String::new();
    }
    rules::mask_long_numbers(&input::check_text(value, field, lang, errors))
}

impl Hotline {
    /// Records one verification attempt at `at`, in the transaction on `conn`.
    async fn record(
        &self,
        conn: &mut PgConnection,
        claims: &Claims,
        case_number: &str,
        result: LookupResult,
        action: LookupAction,
        at: DateTime<Utc>,
    ) -> Result<(), HotlineError> {
        tracing::info!(result = ?result, action = ?action, "hotline lookup");
        repo::record_lookup(
            conn,
            &Lookup {
                operator: &claims.user,
                role: claims.role.as_str(),
                office_id: &claims.office,
                case_number,
                result,
                action,
                at,
            },
        )
        .await?;
        Ok(())
    }

    /// Refuses bad input after recording the attempt as `bad_input` (committed without waiting
    /// for the disk: it counts toward no lock, see [`lockout`]).
    async fn refuse_input(
        &self,
        claims: &Claims,
        case_number: &str,
        action: LookupAction,
        errors: Vec<FieldViolation>,
    ) -> HotlineError {
        let recorded = async {
            let mut tx = self.state.pool.begin().await?;
            let now = self.state.clock.now();
            self.record(
                &mut tx,
                claims,
                case_number,
                LookupResult::BadInput,
                action,
                now,
            )
            .await?;
            lockout::commit_without_waiting(&mut tx).await?;
            tx.commit().await?;
            Ok::<_, HotlineError>(())
        }
        .await;
        match recorded {
            Ok(()) => HotlineError::Invalid(errors),
            Err(err) => err,
        }
    }

    /// The case `proof` opens, or the common NOT_FOUND; the attempt is recorded either way.
    ///
    /// One step per attempt (see [`lockout`] for why this makes five failures mean five): the
    /// number is taken, the domain decides on the failures so far, the proof is checked, the
    /// outcome recorded at the one moment the decision used, and a failure that reaches the
    /// limit leaves the lock's record and its audit entry.
    async fn verified_case(
        &self,
        claims: &Claims,
        proof: &Proof,
        action: LookupAction,
    ) -> Result<StatusRow, HotlineError> {
        let number = proof.number.as_str();
        let mut step = EXECUTOR
            .begin(&self.state.pool, actor_of(claims), self.state.clock.now())
            .await?;
        lockout::serialize(step.conn(), number).await?;
        // The attempt's one moment, read once the number is ours: the decision and the row
        // recorded use it alike.
        let now = self.state.clock.now();
        let mut failures = lockout::recent_failures(step.conn(), number, now).await?;
        // 核验锁定: a locked number is not even looked up; the answer is the common NOT_FOUND.
        if lockout_rule::decide(&failures, now).is_locked() {
            self.record(
                step.conn(),
                claims,
                number,
                LookupResult::Locked,
                action,
                now,
            )
            .await?;
            lockout::commit_without_waiting(step.conn()).await?;
            step.commit().await?;
            return Err(HotlineError::NoMatch);
        }
        let row = repo::case_by_number(step.conn(), number).await?;
        // Unknown case and wrong verification are one outcome; only the database knows which.
        if let Some(row) = row.filter(|r| proof.verification.matches(&self.state.pii, r)) {
            self.record(
                step.conn(),
                claims,
                number,
                LookupResult::Found,
                action,
                now,
            )
            .await?;
            lockout::commit_without_waiting(step.conn()).await?;
            step.commit().await?;
            return Ok(row);
        }
        self.record(
            step.conn(),
            claims,
            number,
            LookupResult::NotFound,
            action,
            now,
        )
        .await?;
        failures.push(now);
        if let Verdict::Locked { until } = lockout_rule::decide(&failures, now) {
            lockout::record_lock(step.conn(), number, now, until).await?;
            let mut effects = Effects::new();
            effects.audit(
                "verification.lock",
                "case_number",
                number,
                None,
                Some(json!({ "locked_at": now, "locked_until": until })),
            );
            step.apply(effects).await?;
            tracing::warn!(
                locked_until = %until,
                "case number locked after repeated failed verifications"
            );
        }
        // A failure is committed synchronously: the lockout counts it.
        step.commit().await?;
        Err(HotlineError::NoMatch)
    }

    /// QueryCaseStatus after authorization: 查询限流 first, then the verified lookup, then the
    /// view (read after the attempt's step committed).
    async fn query(
        &self,
        claims: &Claims,
        req: QueryCaseStatusRequest,
        lang: Lang,
    ) -> Result<CaseStatusView, HotlineError> {
        let limiter = &self.state.limiter;
        if let Err(wait) = limiter.admit(&claims.user, self.state.clock.as_ref()) {
            tracing::warn!(operator = %claims.user, limit = limiter.limit(), "status lookups throttled");
            return Err(HotlineError::Throttled {
                limit: limiter.limit(),
                retry_after: wait.to_std().unwrap_or(std::time::Duration::from_secs(1)),
            });
        }
        let mut errors = Vec::new();
        let Some(proof) = parse_proof(&req.case_number, &req.verification, lang, &mut errors)
        else {
            return Err(self
                .refuse_input(claims, &req.case_number, LookupAction::Status, errors)
                .await);
        };
        tracing::Span::current().record("tongban.case_number", proof.number.as_str());
        let row = self
            .verified_case(claims, &proof, LookupAction::Status)
            .await?;
        let mut conn = self.state.pool.acquire().await?;
        Ok(view::status_view(
            &mut conn,
            &self.state.reference,
            &row,
            self.state.clock.now(),
        )
        .await?)
    }

    /// FileComplaint after authorization: 受理 as one step (the complaint, its first history
    /// line, `complaint.filed` and the audit entry).
    async fn file(
        &self,
        claims: &Claims,
        req: FileComplaintRequest,
        lang: Lang,
    ) -> Result<Complaint, HotlineError> {
        let mut errors = Vec::new();
        let proof = parse_proof(&req.case_number, &req.verification, lang, &mut errors);
        let name = PersonName::parse(&req.caller_name)
            .map_err(|e| errors.push(FieldViolation::new("caller_name", e.text(lang))))
            .ok();
        let phone = PhoneNumber::parse(&req.caller_phone)
            .map_err(|e| errors.push(FieldViolation::new("caller_phone", e.text(lang))))
            .ok();
        let content = check_text(&req.content, "content", false, lang, &mut errors);
        let (Some(proof), Some(name), Some(phone), true) = (proof, name, phone, errors.is_empty())
        else {
            return Err(self
                .refuse_input(claims, &req.case_number, LookupAction::Complaint, errors)
                .await);
        };
        tracing::Span::current().record("tongban.case_number", proof.number.as_str());
        let row = self
            .verified_case(claims, &proof, LookupAction::Complaint)
            .await?;

        let complaint_id = Uuid::now_v7();
        let now = self.state.clock.now();
        let aad = complaint_id.as_bytes();
        let pii = &self.state.pii;
        let office_id = row.responsible_office_id.clone();
        let state = ComplaintState::FIRST;
        let complaint = Complaint {
            complaint_id: complaint_id.to_string(),
            case_number: row.case_number.clone(),
            office_id: office_id.clone(),
            state: complaints::state_to_pb(state).into(),
            caller_name_masked: name.masked(),
            // The phone's last four digits are the proof a caller gives: stored and shown
            // with only its first three digits (138********); the sealed form is kept.
            caller_phone_masked: rules::mask_for_caller(&phone.masked()),
            content: rules::mask_for_caller(&content),
            filed_at: Some(timestamp(now)),
            history: vec![ComplaintStep {
                from_state: pb::ComplaintState::Unspecified.into(),
                to_state: complaints::state_to_pb(state).into(),
                actor: claims.user.clone(),
                actor_role: claims.role.as_str().to_owned(),
                actor_office_id: claims.office.clone(),
                note: String::new(),
                at: Some(timestamp(now)),
            }],
            updated_at: Some(timestamp(now)),
            matter_name: row.matter_name.clone(),
            office_name: view::office_name(&self.state.reference, &office_id),
        };
        let mut step = EXECUTOR
            .begin(&self.state.pool, actor_of(claims), now)
            .await?;
        repo::insert_complaint(
            step.conn(),
            &NewComplaint {
                complaint_id,
                case: &row,
                office_id: &office_id,
                state: state.as_str(),
                caller_name_masked: &complaint.caller_name_masked,
                caller_name_sealed: pii.seal(name.as_str(), aad),
                caller_phone_masked: &complaint.caller_phone_masked,
                caller_phone_sealed: pii.seal(phone.as_str(), aad),
                caller_phone_digest: pii.digest("phone", phone.as_str()),
                content: &content,
                filed_by: &claims.user,
                filed_at: now,
            },
        )
        .await?;
        complaints::insert_step(
            step.conn(),
            &complaints::NewStep {
                complaint_id,
                from_state: None,
                to_state: state,
                claims,
                note: "",
                at: now,
            },
        )
        .await?;
        let mut effects = Effects::new();
        effects
            .emit(
                &case_of(&row),
                Body::ComplaintFiled(ev::ComplaintFiled {
                    complaint_id: complaint_id.to_string(),
                    office_id: office_id.clone(),
                }),
            )
            .audit(
                "complaint.file",
                "complaint",
                complaint.complaint_id.clone(),
                None,
                Some(json!({
                    "case_number": row.case_number,
                    "office_id": office_id,
                    "state": state.as_str(),
                    "caller_name_masked": complaint.caller_name_masked,
                    "caller_phone_masked": complaint.caller_phone_masked,
                })),
            );
        step.apply(effects).await?;
        step.commit().await?;
        tracing::info!(case_number = %row.case_number, office = %office_id, "complaint filed");
        Ok(complaint)
    }

    /// RateService after authorization: the domain decides whether the case may be rated now
    /// and whether the rating opens a rectification; one step stores it with
    /// `service.rated` and the audit entry.
    async fn rate(
        &self,
        claims: &Claims,
        req: RateServiceRequest,
        lang: Lang,
    ) -> Result<Rating, HotlineError> {
        let mut errors = Vec::new();
        let proof = parse_proof(&req.case_number, &req.verification, lang, &mut errors);
        let occasion = occasion_of(req.occasion());
        if occasion.is_none() {
            errors.push(FieldViolation::new(
                "occasion",
                lang.pick(
                    "必须选择评价时机（受理或办结）",
                    "choose the occasion (acceptance or completion)",
                ),
            ));
        }
        let level = ratings::level_of_pb(req.level());
        if level.is_none() {
            errors.push(FieldViolation::new(
                "level",
                lang.pick(
                    "必须选择评价等级（非常满意至非常不满意）",
                    "choose a level (very satisfied to very dissatisfied)",
                ),
            ));
        }
        let comment = check_text(&req.comment, "comment", true, lang, &mut errors);
        check_scores(&req.scores, lang, &mut errors);
        let (Some(proof), Some(occasion), Some(level), true) =
            (proof, occasion, level, errors.is_empty())
        else {
            return Err(self
                .refuse_input(claims, &req.case_number, LookupAction::Rating, errors)
                .await);
        };
        tracing::Span::current().record("tongban.case_number", proof.number.as_str());
        let row = self
            .verified_case(claims, &proof, LookupAction::Rating)
            .await?;
        let rated = rating::rate(row.status(), occasion, level)?;

        let rating_id = Uuid::now_v7();
        let now = self.state.clock.now();
        let scores: Vec<IndicatorScore> = req
            .scores
            .iter()
            .map(|s| IndicatorScore {
                indicator: s.indicator.trim().to_owned(),
                score: s.score,
            })
            .collect();
        let scores_json = json!(
            scores
                .iter()
                .map(|s| json!({ "indicator": s.indicator, "score": s.score }))
                .collect::<Vec<_>>()
        );
        let mut step = EXECUTOR
            .begin(&self.state.pool, actor_of(claims), now)
            .await?;
        let inserted = repo::insert_rating(
            step.conn(),
            &NewRating {
                rating_id,
                case: &row,
                occasion: occasion.as_str(),
                level: level.as_str(),
                comment: &comment,
                scores: scores_json.clone(),
                recorded_by: &claims.user,
                rated_at: now,
            },
        )
        .await?;
        if !inserted {
            return Err(HotlineError::AlreadyRated);
        }
        // 差评整改: the rectification item the domain asked for, due in working days.
        let rectification_id = if rated.opens_rectification {
            let id = Uuid::now_v7();
            let due = self
                .state
                .reference
                .calendar
                .due_after(now, rating::RECTIFICATION_DAYS)?;
            repo::open_rectification(step.conn(), id, rating_id, &row, now, due).await?;
            id.to_string()
        } else {
            String::new()
        };
        let mut effects = Effects::new();
        effects
            .emit(
                &case_of(&row),
                Body::ServiceRated(ev::ServiceRated {
                    rating_id: rating_id.to_string(),
                    level: level.as_str().to_owned(),
                    occasion: occasion.as_str().to_owned(),
                    office_id: row.responsible_office_id.clone(),
                    rectification_id: rectification_id.clone(),
                }),
            )
            .audit(
                "rating.record",
                "rating",
                rating_id.to_string(),
                None,
                Some(json!({
                    "case_number": row.case_number,
                    "occasion": occasion.as_str(),
                    "level": level.as_str(),
                    "scores": scores_json,
                    "rectification_id": rectification_id,
                })),
            );
        step.apply(effects).await?;
        step.commit().await?;
        tracing::info!(case_number = %row.case_number, level = level.as_str(), occasion = occasion.as_str(), "service rated");
        Ok(Rating {
            rating_id: rating_id.to_string(),
            case_number: row.case_number.clone(),
            occasion: req.occasion,
            level: req.level,
            comment: rules::mask_for_caller(&comment),
            scores,
            rated_at: Some(timestamp(now)),
            rectification_id,
        })
    }
}

/// The one step executor of this service.
pub(crate) const EXECUTOR: Executor = Executor::new(SERVICE);

/// The person a bearer token names, acting for their office.
pub(crate) fn actor_of(claims: &Claims) -> Actor {
    Actor::person(&claims.user, claims.role.as_str(), &claims.office)
}

/// The case a read-model row is about, for the events of a step on it.
pub(crate) fn case_of(row: &StatusRow) -> CaseRef {
    CaseRef::new(row.case_id, &row.case_number, None)
}

/// Runs a delegated handler for the caller of `request` and maps its error once.
async fn delegate<Req, Res>(
    state: &State,
    request: Request<Req>,
    handler: impl AsyncFnOnce(&State, &Claims, &Req, Lang) -> Result<Res, HotlineError>,
) -> Result<Response<Res>, Status> {
    let (claims, lang) = caller_and_lang(&request)?;
    handler(state, &claims, request.get_ref(), lang)
        .await
        .map(Response::new)
        .map_err(|err| err.status(lang))
}

/// The occasion asked for (`None` for UNSPECIFIED).
fn occasion_of(occasion: RatingOccasion) -> Option<rating::RatingOccasion> {
    match occasion {
        RatingOccasion::Unspecified => None,
        RatingOccasion::Acceptance => Some(rating::RatingOccasion::Acceptance),
        RatingOccasion::Completion => Some(rating::RatingOccasion::Completion),
    }
}

/// The domain's check of the indicator scores ([`rating::check_scores`]), as field violations.
fn check_scores(scores: &[IndicatorScore], lang: Lang, errors: &mut Vec<FieldViolation>) {
    let given: Vec<(&str, u32)> = scores
        .iter()
        .map(|s| (s.indicator.trim(), s.score))
        .collect();
    let indicators = rating::INDICATORS;
    for (i, problem) in rating::check_scores(&given) {
        errors.push(match problem {
            ScoreError::UnknownIndicator => FieldViolation::new(
                format!("scores[{i}].indicator"),
                match lang {
                    Lang::Zh => format!("未知的评价指标，可选：{}", indicators.join("、")),
                    Lang::En => format!("unknown indicator; one of: {}", indicators.join(", ")),
                },
            ),
            ScoreError::Repeated => FieldViolation::new(
                format!("scores[{i}].indicator"),
                lang.pick("评价指标重复", "indicator given twice"),
            ),
            ScoreError::OutOfRange => FieldViolation::new(
                format!("scores[{i}].score"),
                lang.pick("评分应为 1 到 5", "score must be 1 to 5"),
            ),
        });
    }
}

#[tonic::async_trait]
impl HotlineService for Hotline {
    #[tracing::instrument(name = "QueryCaseStatus", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn query_case_status(
        &self,
        request: Request<QueryCaseStatusRequest>,
    ) -> Result<Response<CaseStatusView>, Status> {
        let (claims, lang) = authorize(&request, &[Role::Hotline, Role::Supervisor, Role::Admin])?;
        self.query(&claims, request.into_inner(), lang)
            .await
            .map(Response::new)
            .map_err(|err| err.status(lang))
    }

    #[tracing::instrument(name = "FileComplaint", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn file_complaint(
        &self,
        request: Request<FileComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let (claims, lang) = authorize(&request, &[Role::Hotline, Role::Admin])?;
        self.file(&claims, request.into_inner(), lang)
            .await
            .map(Response::new)
            .map_err(|err| err.status(lang))
    }

    #[tracing::instrument(name = "RateService", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn rate_service(
        &self,
        request: Request<RateServiceRequest>,
    ) -> Result<Response<Rating>, Status> {
        let (claims, lang) = authorize(&request, &[Role::Hotline, Role::Admin])?;
        self.rate(&claims, request.into_inner(), lang)
            .await
            .map(Response::new)
            .map_err(|err| err.status(lang))
    }

    #[tracing::instrument(name = "ListComplaints", skip_all)]
    async fn list_complaints(
        &self,
        request: Request<ListComplaintsRequest>,
    ) -> Result<Response<ListComplaintsResponse>, Status> {
        delegate(&self.state, request, complaints::list).await
    }

    #[tracing::instrument(name = "GetComplaint", skip_all)]
    async fn get_complaint(
        &self,
        request: Request<GetComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        delegate(&self.state, request, complaints::get).await
    }

    #[tracing::instrument(name = "AdvanceComplaint", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn advance_complaint(
        &self,
        request: Request<AdvanceComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        delegate(&self.state, request, complaints::advance).await
    }

    #[tracing::instrument(name = "GetRatingSummary", skip_all)]
    async fn get_rating_summary(
        &self,
        request: Request<GetRatingSummaryRequest>,
    ) -> Result<Response<RatingSummary>, Status> {
        delegate(&self.state, request, ratings::summary).await
    }

    #[tracing::instrument(name = "ListRectifications", skip_all)]
    async fn list_rectifications(
        &self,
        request: Request<ListRectificationsRequest>,
    ) -> Result<Response<ListRectificationsResponse>, Status> {
        delegate(&self.state, request, ratings::list_rectifications).await
    }

    #[tracing::instrument(name = "RecordCallback", skip_all)]
    async fn record_callback(
        &self,
        request: Request<RecordCallbackRequest>,
    ) -> Result<Response<Rectification>, Status> {
        delegate(&self.state, request, ratings::record_callback).await
    }

    #[tracing::instrument(name = "ListCompletionNotices", skip_all)]
    async fn list_completion_notices(
        &self,
        request: Request<ListCompletionNoticesRequest>,
    ) -> Result<Response<ListCompletionNoticesResponse>, Status> {
        // Public: any authenticated caller (the interceptor has checked the token).
        delegate(&self.state, request, async |state, _claims, req, lang| {
            notices::list(state, req, lang).await
        })
        .await
    }
}
