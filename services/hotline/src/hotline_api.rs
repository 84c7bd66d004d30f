//! HotlineService (12345): masked case status for a verified caller, 投诉 and 好差评.
//!
//! Every verification attempt is written to `status_lookups` in its own statement before the
//! answer goes out, whatever the outcome. An unknown case number and a wrong verification give
//! the same NOT_FOUND, so the hotline cannot be used to learn which case numbers exist.

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use tongban_domain::case_number::CaseNumber;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::validate::{PersonName, PhoneNumber};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::hotline::v1::hotline_service_server::HotlineService;
use tongban_proto::hotline::v1::{
    AdvanceComplaintRequest, CaseStatusView, Complaint, ComplaintState, ComplaintStep,
    FileComplaintRequest, GetComplaintRequest, GetRatingSummaryRequest, IndicatorScore,
    ListComplaintsRequest, ListComplaintsResponse, ListCompletionNoticesRequest,
    ListCompletionNoticesResponse, ListRectificationsRequest, ListRectificationsResponse,
    QueryCaseStatusRequest, RateServiceRequest, Rating, RatingLevel, RatingOccasion, RatingSummary,
    RecordCallbackRequest, Rectification,
};
use tongban_runtime::auth::{Claims, Role, authorize, caller_and_lang, delegate};
use tongban_runtime::convert::timestamp;
use tongban_runtime::input;
use tongban_runtime::status::{self, FieldViolation};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::repo::{self, Lookup, LookupAction, LookupResult, NewComplaint, NewRating, StatusRow};
use crate::verify::Verification;
use crate::{SERVICE, State, complaints, lockout, notices, ratings, rules, view};
pub(crate) use tongban_runtime::status::{
    internal_for as internal, internal_for as store_internal,
};

/// 好差评 indicators a score may be given for.
const INDICATORS: [&str; 4] = ["efficiency", "attitude", "guide_accuracy", "convenience"];

/// The HotlineService handlers.
pub struct Hotline {
    state: State,
}

impl Hotline {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// The one answer for an unknown case and a wrong verification alike.
fn no_match(lang: Lang) -> Status {
    Status::not_found(lang.pick(
        "未找到该办件，或核验信息不符",
        "no such case, or the verification does not match",
    ))
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
    /// Records one verification attempt in its own statement.
    async fn record(
        &self,
        conn: &mut PgConnection,
        claims: &Claims,
        case_number: &str,
        result: LookupResult,
        action: LookupAction,
        lang: Lang,
    ) -> Result<(), Status> {
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
                at: self.state.clock.now(),
            },
        )
        .await
        .map_err(internal(lang))
    }

    /// Refuses bad input after recording the attempt as `bad_input`.
    async fn refuse_input(
        &self,
        claims: &Claims,
        case_number: &str,
        action: LookupAction,
        errors: Vec<FieldViolation>,
        lang: Lang,
    ) -> Status {
        let recorded = async {
            let mut conn = self.state.pool.acquire().await.map_err(internal(lang))?;
            self.record(
                &mut conn,
                claims,
                case_number,
                LookupResult::BadInput,
                action,
                lang,
            )
            .await
        }
        .await;
        match recorded {
            Ok(()) => status::invalid_argument(lang, errors),
            Err(status) => status,
        }
    }

    /// The case `proof` opens, or the common NOT_FOUND; the attempt is recorded either way.
    async fn verified_case(
        &self,
        conn: &mut PgConnection,
        claims: &Claims,
        proof: &Proof,
        action: LookupAction,
        lang: Lang,
    ) -> Result<StatusRow, Status> {
        let number = proof.number.as_str();
        let now = self.state.clock.now();
        // 核验锁定: a locked number is not even looked up; the answer is the common NOT_FOUND.
        if lockout::is_locked(conn, number, now)
            .await
            .map_err(internal(lang))?
        {
            self.record(conn, claims, number, LookupResult::Locked, action, lang)
                .await?;
            return Err(no_match(lang));
        }
        let row = repo::case_by_number(conn, number)
            .await
            .map_err(internal(lang))?;
        // Unknown case and wrong verification are one outcome; only the database knows which.
        let row = row.filter(|r| proof.verification.matches(&self.state.pii, r));
        let result = if row.is_some() {
            LookupResult::Found
        } else {
            LookupResult::NotFound
        };
        self.record(conn, claims, number, result, action, lang)
            .await?;
        if row.is_none() {
            lockout::after_failure(conn, number, now)
                .await
                .map_err(internal(lang))?;
        }
        row.ok_or_else(|| no_match(lang))
    }

    /// Adds an event about `row` to the outbox, with the current trace context.
    pub(crate) async fn publish(
        conn: &mut PgConnection,
        row: &StatusRow,
        actor: &str,
        at: chrono::DateTime<Utc>,
        body: Body,
    ) -> Result<(), tongban_store::StoreError> {
        let case = tongban_step::CaseRef::new(row.case_id, &row.case_number, None);
        let mut effects = tongban_step::Effects::new();
        effects.emit(&case, body);
        tongban_step::apply(
            conn,
            SERVICE,
            &tongban_step::Actor::person(actor, "", ""),
            at,
            &tongban_step::Trace::current(),
            effects,
        )
        .await
    }
}

fn level_code(level: RatingLevel) -> Option<&'static str> {
    match level {
        RatingLevel::Unspecified => None,
        RatingLevel::VerySatisfied => Some("very_satisfied"),
        RatingLevel::Satisfied => Some("satisfied"),
        RatingLevel::BasicallySatisfied => Some("basically_satisfied"),
        RatingLevel::Dissatisfied => Some("dissatisfied"),
        RatingLevel::VeryDissatisfied => Some("very_dissatisfied"),
    }
}

fn occasion_code(occasion: RatingOccasion) -> Option<&'static str> {
    match occasion {
        RatingOccasion::Unspecified => None,
        RatingOccasion::Acceptance => Some("acceptance"),
        RatingOccasion::Completion => Some("completion"),
    }
}

/// Checks the indicator scores: known indicators, once each, 1 to 5.
fn check_scores(scores: &[IndicatorScore], lang: Lang, errors: &mut Vec<FieldViolation>) {
    for (i, score) in scores.iter().enumerate() {
        let indicator = score.indicator.trim();
        if !INDICATORS.contains(&indicator) {
            errors.push(FieldViolation::new(
                format!("scores[{i}].indicator"),
                match lang {
                    Lang::Zh => format!("未知的评价指标，可选：{}", INDICATORS.join("、")),
                    Lang::En => format!("unknown indicator; one of: {}", INDICATORS.join(", ")),
                },
            ));
        } else if scores[..i].iter().any(|s| s.indicator.trim() == indicator) {
            errors.push(FieldViolation::new(
                format!("scores[{i}].indicator"),
                lang.pick("评价指标重复", "indicator given twice"),
            ));
        }
        if !(1..=5).contains(&score.score) {
            errors.push(FieldViolation::new(
                format!("scores[{i}].score"),
                lang.pick("评分应为 1 到 5", "score must be 1 to 5"),
            ));
        }
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
        let req = request.into_inner();
        let mut errors = Vec::new();
        let Some(proof) = parse_proof(&req.case_number, &req.verification, lang, &mut errors)
        else {
            return Err(self
                .refuse_input(
                    &claims,
                    &req.case_number,
                    LookupAction::Status,
                    errors,
                    lang,
                )
                .await);
        };
        tracing::Span::current().record("tongban.case_number", proof.number.as_str());
        let mut conn = self.state.pool.acquire().await.map_err(internal(lang))?;
        let row = self
            .verified_case(&mut conn, &claims, &proof, LookupAction::Status, lang)
            .await?;
        let view = view::status_view(
            &mut conn,
            &self.state.reference,
            &row,
            self.state.clock.now(),
        )
        .await
        .map_err(internal(lang))?;
        Ok(Response::new(view))
    }

    #[tracing::instrument(name = "FileComplaint", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn file_complaint(
        &self,
        request: Request<FileComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let (claims, lang) = authorize(&request, &[Role::Hotline, Role::Admin])?;
        let req = request.into_inner();
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
                .refuse_input(
                    &claims,
                    &req.case_number,
                    LookupAction::Complaint,
                    errors,
                    lang,
                )
                .await);
        };
        tracing::Span::current().record("tongban.case_number", proof.number.as_str());
        let mut conn = self.state.pool.acquire().await.map_err(internal(lang))?;
        let row = self
            .verified_case(&mut conn, &claims, &proof, LookupAction::Complaint, lang)
            .await?;
        drop(conn);

        let complaint_id = Uuid::now_v7();
        let now = self.state.clock.now();
        let aad = complaint_id.as_bytes();
        let pii = &self.state.pii;
        let office_id = row.responsible_office_id.clone();
        let state = ComplaintState::Received;
        let complaint = Complaint {
            complaint_id: complaint_id.to_string(),
            case_number: row.case_number.clone(),
            office_id: office_id.clone(),
            state: state.into(),
            caller_name_masked: name.masked(),
            caller_phone_masked: phone.masked(),
            content: content.clone(),
            filed_at: Some(timestamp(now)),
            history: vec![ComplaintStep {
                from_state: ComplaintState::Unspecified.into(),
                to_state: state.into(),
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
        let mut tx = self.state.pool.begin().await.map_err(internal(lang))?;
        repo::insert_complaint(
            &mut tx,
            &NewComplaint {
                complaint_id,
                case: &row,
                office_id: &office_id,
                state: "received",
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
        .await
        .map_err(internal(lang))?;
        complaints::insert_step(
            &mut tx,
            &complaints::NewStep {
                complaint_id,
                from_state: None,
                to_state: "received",
                claims: &claims,
                note: "",
                at: now,
            },
        )
        .await
        .map_err(internal(lang))?;
        Self::publish(
            &mut tx,
            &row,
            &claims.user,
            now,
            Body::ComplaintFiled(ev::ComplaintFiled {
                complaint_id: complaint_id.to_string(),
                office_id: office_id.clone(),
            }),
        )
        .await
        .map_err(store_internal(lang))?;
        tongban_store::audit(
            &mut tx,
            &tongban_store::AuditRecord {
                actor: &claims.user,
                role: claims.role.as_str(),
                office_id: &claims.office,
                action: "complaint.file",
                entity: "complaint",
                entity_id: &complaint.complaint_id,
                before: None,
                after: Some(json!({
                    "case_number": row.case_number,
                    "office_id": office_id,
                    "state": "received",
                    "caller_name_masked": complaint.caller_name_masked,
                    "caller_phone_masked": complaint.caller_phone_masked,
                })),
            },
        )
        .await
        .map_err(store_internal(lang))?;
        tx.commit().await.map_err(internal(lang))?;
        tracing::info!(case_number = %row.case_number, office = %office_id, "complaint filed");
        Ok(Response::new(complaint))
    }

    #[tracing::instrument(name = "RateService", skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn rate_service(
        &self,
        request: Request<RateServiceRequest>,
    ) -> Result<Response<Rating>, Status> {
        let (claims, lang) = authorize(&request, &[Role::Hotline, Role::Admin])?;
        let req = request.into_inner();
        let mut errors = Vec::new();
        let proof = parse_proof(&req.case_number, &req.verification, lang, &mut errors);
        let occasion = occasion_code(req.occasion());
        if occasion.is_none() {
            errors.push(FieldViolation::new(
                "occasion",
                lang.pick(
                    "必须选择评价时机（受理或办结）",
                    "choose the occasion (acceptance or completion)",
                ),
            ));
        }
        let level = level_code(req.level());
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
                .refuse_input(
                    &claims,
                    &req.case_number,
                    LookupAction::Rating,
                    errors,
                    lang,
                )
                .await);
        };
        tracing::Span::current().record("tongban.case_number", proof.number.as_str());
        let mut conn = self.state.pool.acquire().await.map_err(internal(lang))?;
        let row = self
            .verified_case(&mut conn, &claims, &proof, LookupAction::Rating, lang)
            .await?;
        drop(conn);
        if req.occasion() == RatingOccasion::Completion && !row.status().is_decided() {
            let text = lang.pick(
                "办件尚未办结，暂不能进行办结评价",
                "the case is not completed yet; it cannot be rated for completion",
            );
            return Err(status::case_state(text.to_owned(), "occasion"));
        }

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
        let mut tx = self.state.pool.begin().await.map_err(internal(lang))?;
        let inserted = repo::insert_rating(
            &mut tx,
            &NewRating {
                rating_id,
                case: &row,
                occasion,
                level,
                comment: &comment,
                scores: scores_json.clone(),
                recorded_by: &claims.user,
                rated_at: now,
            },
        )
        .await
        .map_err(internal(lang))?;
        if !inserted {
            return Err(status::already_exists(
                lang,
                "该办件已就此时机评价过",
                "this case has already been rated for this occasion",
            ));
        }
        // 差评整改: a 不满意 or 非常不满意 rating opens a rectification item for the office.
        let rectification_id = if matches!(
            req.level(),
            RatingLevel::Dissatisfied | RatingLevel::VeryDissatisfied
        ) {
            let id = Uuid::now_v7();
            // 15 working days to rectify, to the end of the last one.
            let due = self
                .state
                .reference
                .calendar
                .due_after(now, ratings::RECTIFICATION_DAYS)
                .map_err(|err| status::internal(lang, &err))?;
            repo::open_rectification(&mut tx, id, rating_id, &row, now, due)
                .await
                .map_err(internal(lang))?;
            id.to_string()
        } else {
            String::new()
        };
        Self::publish(
            &mut tx,
            &row,
            &claims.user,
            now,
            Body::ServiceRated(ev::ServiceRated {
                rating_id: rating_id.to_string(),
                level: level.to_owned(),
                occasion: occasion.to_owned(),
                office_id: row.responsible_office_id.clone(),
                rectification_id: rectification_id.clone(),
            }),
        )
        .await
        .map_err(store_internal(lang))?;
        tongban_store::audit(
            &mut tx,
            &tongban_store::AuditRecord {
                actor: &claims.user,
                role: claims.role.as_str(),
                office_id: &claims.office,
                action: "rating.record",
                entity: "rating",
                entity_id: &rating_id.to_string(),
                before: None,
                after: Some(json!({
                    "case_number": row.case_number,
                    "occasion": occasion,
                    "level": level,
                    "scores": scores_json,
                    "rectification_id": rectification_id,
                })),
            },
        )
        .await
        .map_err(store_internal(lang))?;
        tx.commit().await.map_err(internal(lang))?;
        tracing::info!(case_number = %row.case_number, level, occasion, "service rated");
        Ok(Response::new(Rating {
            rating_id: rating_id.to_string(),
            case_number: row.case_number.clone(),
            occasion: req.occasion,
            level: req.level,
            comment,
            scores,
            rated_at: Some(timestamp(now)),
            rectification_id,
        }))
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
        let (_claims, lang) = caller_and_lang(&request)?;
        notices::list(&self.state, request.get_ref(), lang)
            .await
            .map(Response::new)
    }
}
