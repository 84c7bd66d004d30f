//! The steps SubmitCase and SubmitBundle share: routing (one office, or one per part for
//! 多地联办), verifying presented e-certificates (两个免提交), the 一次性告知 refusal, the due
//! moment, and accepting a case — its row, timeline, audit record and outbox events, written
//! in the caller's transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use tongban_domain::calendar::{CalendarError, shanghai_date};
use tongban_domain::case::{self, CaseCommand, CaseEvent, CaseStatus};
use tongban_domain::case_number::CaseNumber;
use tongban_domain::catalog::{Mode, Scope};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::materials::{Form, Presented};
use tongban_domain::reference::ReferenceData;
use tongban_domain::routing::{RouteError, resolve_parts, resolve_route};
use tongban_domain::validate::IdNumber;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_runtime::auth::Claims;
use tongban_runtime::convert::timestamp;
use tongban_runtime::status::{self, PreconditionViolation};
use tongban_runtime::verification::{VerificationKind, verification_digest};
use tongban_store::timeline::TimelineLine;
use tonic::Status;
use tonic::metadata::{Ascii, MetadataValue};
use uuid::Uuid;

use crate::intake_api::{audit, illegal};
use crate::parts::{self, StoredPart};
use crate::repo::{self, BundleRow, CaseRow, NewCase};
use crate::validation::{MaterialIn, Submission};
use crate::view::{self, Step};
use crate::{State, certificates};
use tongban_runtime::status::{internal_for as internal, internal_for as store_internal};

/// Where a case goes: one responsible office, or (多地联办) one office per part, the first of
/// which is the case's responsible office.
#[derive(Debug, Clone)]
pub(crate) struct Routed {
    /// The case's scope (for a joint case, the widest of its parts').
    pub scope: Scope,
    pub responsible_office_id: String,
    pub agreement_id: Option<String>,
    /// Empty for a case of one office.
    pub parts: Vec<StoredPart>,
}

/// Routes a checked submission: a 多地联办 case part by part (`resolve_parts`), any other case
/// to its one office (`resolve_route`).
///
/// # Errors
/// The routing refusal.
pub(crate) fn route(
    reference: &ReferenceData,
    sub: &Submission<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Routed, RouteError> {
    if sub.mode == Mode::Joint {
        let joint = resolve_parts(
            reference,
            &sub.matter.code,
            &sub.window.id,
            &sub.applicant.home_division,
            sub.destination_division.as_ref(),
            today,
        )?;
        Ok(Routed {
            scope: joint.scope,
            responsible_office_id: joint.responsible_office_id.clone(),
            agreement_id: joint.agreement_id.clone(),
            parts: parts::from_route(sub.matter, &joint, now),
        })
    } else {
        let single = resolve_route(
            reference,
            &sub.matter.code,
            &sub.window.id,
            &sub.applicant.home_division,
            today,
        )?;
        Ok(Routed {
            scope: single.scope,
            responsible_office_id: single.responsible_office_id,
            agreement_id: single.agreement_id,
            parts: Vec::new(),
        })
    }
}

/// 两个免提交: verifies each presented e-certificate with the certificate service. A verified
/// one is kept by its identifier and type only (the token carries the holder's full ID number:
/// it is not stored or published); each refused one gives a CERTIFICATE_INVALID refusal naming
/// the material.
pub(crate) async fn verify_certificates(
    state: &State,
    materials: &mut [MaterialIn],
    holder: &IdNumber,
    authorization: Option<&MetadataValue<Ascii>>,
    lang: Lang,
) -> Vec<PreconditionViolation> {
    let mut refusals = Vec::new();
    for m in materials.iter_mut().filter(|m| m.form == Form::Certificate) {
        let outcome = state
            .certificates
            .verify(&m.certificate_token, holder.as_str(), authorization)
            .await;
        match outcome {
            certificates::Outcome::Verified {
                identifier,
                type_code,
            } => {
                m.certificate_identifier = identifier;
                m.certificate_type = type_code;
                m.certificate_token.clear();
            }
            refused => refusals.push(PreconditionViolation::new(
                "CERTIFICATE_INVALID",
                m.code.clone(),
                certificates::refusal_text(&refused, lang),
            )),
        }
    }
    refusals
}

/// The materials as the domain's material check reads them.
pub(crate) fn presented(materials: &[MaterialIn]) -> Vec<Presented<'_>> {
    materials
        .iter()
        .map(|m| Presented {
            material_code: &m.code,
            form: m.form,
            certificate_type: (!m.certificate_type.is_empty())
                .then_some(m.certificate_type.as_str()),
        })
        .collect()
}

/// 一次性告知: FAILED_PRECONDITION listing every problem found at once.
pub(crate) fn refused(lang: Lang, refusals: Vec<PreconditionViolation>) -> Status {
    let message = match lang {
        Lang::En => format!(
            "the case cannot be accepted: {} problem(s), all listed",
            refusals.len()
        ),
        Lang::Zh => format!("暂不能受理：共 {} 项问题，已一次性列出", refusals.len()),
    };
    status::failed_precondition(message, refusals)
}

/// The due moment of a case accepted `now` with `working_days` (承诺时限).
///
/// # Errors
/// FAILED_PRECONDITION when the holiday data does not cover the period.
pub(crate) fn due_after(
    reference: &ReferenceData,
    now: DateTime<Utc>,
    working_days: u32,
    lang: Lang,
) -> Result<DateTime<Utc>, Status> {
    reference
        .calendar
        .due_after(now, working_days)
        .map_err(|e| calendar_refused(lang, "due_at", &e))
}

/// FAILED_PRECONDITION for a time limit the calendar cannot count (a year without holiday
/// data), about field `subject`.
pub(crate) fn calendar_refused(lang: Lang, subject: &str, err: &CalendarError) -> Status {
    status::failed_precondition(
        err.text(lang),
        vec![PreconditionViolation::new(
            "CALENDAR",
            subject,
            err.text(lang),
        )],
    )
}

/// The next number of the window's daily sequence, as a case (or bundle) number.
///
/// # Errors
/// UNAVAILABLE once the day's numbers are used up; INTERNAL when the store fails.
pub(crate) async fn next_number(
    tx: &mut sqlx::PgConnection,
    window: &tongban_domain::directory::Office,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<CaseNumber, Status> {
    let day = shanghai_date(now);
    let sequence = repo::next_sequence(tx, window.division.as_str(), day)
        .await
        .map_err(internal(lang))?;
    CaseNumber::try_new(
        &window.division,
        day,
        u32::try_from(sequence).unwrap_or(u32::MAX),
    )
    .map_err(|_| {
        status::unavailable(
            lang,
            "本窗口今日办件编号已用尽",
            "this window has used up today's case numbers",
        )
    })
}

/// A bundle member's link to its bundle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    pub bundle: &'a BundleRow,
    /// Its place in the bundle's order, from 0.
    pub position: i32,
}

/// Everything about the acceptance besides the submission: where it goes and when it is due.
pub(crate) struct Acceptance<'a> {
    pub routed: &'a Routed,
    pub claims: &'a Claims,
    pub now: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Set for a member case of a 一件事 bundle.
    pub member: Option<Member<'a>>,
}

/// Creates the case: submitted → accepted → routed, each step on the timeline and in the outbox
/// (with the trace context of the current span, which becomes the case's trace).
///
/// # Errors
/// INTERNAL when the store fails; UNAVAILABLE when the day's case numbers are used up.
pub(crate) async fn accept(
    tx: &mut sqlx::PgConnection,
    state: &State,
    sub: &Submission<'_>,
    acceptance: Acceptance<'_>,
    lang: Lang,
) -> Result<CaseRow, Status> {
    let Acceptance {
        routed,
        claims,
        now,
        due_at,
        member,
    } = acceptance;
    let reference = &*state.reference;
    let number = next_number(tx, sub.window, now, lang).await?;
    let case_id = Uuid::now_v7();
    let span = tracing::Span::current();
    let applicant = &sub.applicant;
    let mut row = CaseRow {
        case_id,
        case_number: number.as_str().to_owned(),
        matter_code: sub.matter.code.clone(),
        matter_name: sub.matter.name.clone(),
        mode: sub.mode.as_str().to_owned(),
        scope: routed.scope.as_str().to_owned(),
        status: String::new(),
        window_office_id: sub.window.id.clone(),
        responsible_office_id: routed.responsible_office_id.clone(),
        agreement_id: routed.agreement_id.clone(),
        applicant_name: applicant.name.as_str().to_owned(),
        id_number_masked: applicant.id_number.masked(),
        phone_masked: applicant.phone.masked(),
        home_division: applicant.home_division.as_str().to_owned(),
        materials: view::materials_json(&sub.materials),
        delivery_method: sub.delivery.method.as_str().to_owned(),
        accepted_at: now,
        budget_days: i32::try_from(sub.matter.promised_limit_days).unwrap_or(i32::MAX),
        due_at: Some(due_at),
        decision: None,
        decision_reason: None,
        supplement_items: json!([]),
        supplement_reason: None,
        traceparent: tongban_telemetry::traceparent_of(&span).unwrap_or_default(),
        tracestate: None,
        parts: parts::to_json(&routed.parts),
        destination_division: sub
            .destination_division
            .as_ref()
            .map(|d| d.as_str().to_owned()),
        bundle_id: member.map(|m| m.bundle.bundle_id),
    };
    let aad = case_id.as_bytes();
    let (mut status_now, steps) = case::submit();
    let mut all_steps: Vec<(CaseEvent, CaseStatus)> =
        steps.iter().map(|e| (*e, status_now)).collect();
    for command in [CaseCommand::Accept, CaseCommand::Route] {
        let (next, events) =
            case::transition(status_now, &command).map_err(|e| illegal(lang, &e))?;
        status_now = next;
        all_steps.extend(events.iter().map(|e| (*e, next)));
    }
    row.status = status_now.as_str().to_owned();
    let address = sub.delivery.address.as_deref();
    repo::insert_case(
        tx,
        &NewCase {
            row: &row,
            matter_version: &sub.matter.version,
            id_number_sealed: state.pii.seal(applicant.id_number.as_str(), aad),
            id_number_digest: state.pii.digest("id-number", applicant.id_number.as_str()),
            phone_sealed: state.pii.seal(applicant.phone.as_str(), aad),
            phone_digest: state.pii.digest("phone", applicant.phone.as_str()),
            address_sealed: address.map(|a| state.pii.seal(a, aad)),
            created_by: &claims.user,
            bundle_position: member.map(|m| m.position),
        },
    )
    .await
    .map_err(internal(lang))?;
    let mut summary = view::summary(
        &row,
        sub.matter.promised_limit_days,
        member.map(|m| m.bundle),
    );
    // The holder of a result certificate, sealed for the deployment's services (events carry no
    // personal data in clear).
    summary.sealed_applicant = state.pii.seal(
        &json!({"name": applicant.name.as_str(), "id_number": applicant.id_number.as_str()})
            .to_string(),
        aad,
    );
    // 邮寄: the address travels sealed, for the logistics service to open.
    summary.sealed_address = address.map(|a| state.pii.seal(a, aad)).unwrap_or_default();
    for (event, status) in all_steps {
        let (office, body) = match event {
            CaseEvent::Submitted => (
                row.window_office_id.clone(),
                Body::CaseSubmitted(ev::CaseSubmitted {
                    summary: Some(summary.clone()),
                    id_tail_digest: verification_digest(
                        &state.pii,
                        VerificationKind::IdTail,
                        &row.case_number,
                        applicant.id_number.tail6(),
                    ),
                    phone_tail_digest: verification_digest(
                        &state.pii,
                        VerificationKind::PhoneTail,
                        &row.case_number,
                        applicant.phone.tail4(),
                    ),
                }),
            ),
            CaseEvent::Accepted => (
                row.window_office_id.clone(),
                Body::CaseAccepted(ev::CaseAccepted {
                    accepted_at: Some(timestamp(now)),
                    due_at: Some(timestamp(due_at)),
                }),
            ),
            _ => (
                row.responsible_office_id.clone(),
                Body::CaseRouted(ev::CaseRouted {
                    summary: Some(summary.clone()),
                }),
            ),
        };
        view::record_step(
            tx,
            reference,
            &row,
            Step {
                event,
                status,
                office_id: &office,
                detail: "",
                actor: &claims.user,
                at: now,
                body,
            },
        )
        .await
        .map_err(store_internal(lang))?;
        match (event, member) {
            (CaseEvent::Submitted, Some(member)) => {
                let name_en = reference
                    .bundles
                    .get(&member.bundle.bundle_code)
                    .map_or(member.bundle.bundle_name.as_str(), |b| b.name_en.as_str());
                let line = TimelineLine {
                    at: now,
                    status: status.as_str().to_owned(),
                    description: format!(
                        "随「{}」一并申请（一件事编号 {}）",
                        member.bundle.bundle_name, member.bundle.bundle_number
                    ),
                    description_en: format!(
                        "Applied for with the bundle \"{name_en}\" ({})",
                        member.bundle.bundle_number
                    ),
                    office_id: row.window_office_id.clone(),
                };
                repo::add_timeline(tx, row.case_id, &line)
                    .await
                    .map_err(internal(lang))?;
            }
            (CaseEvent::Routed, _) => {
                // 多地联办: where each part went, and which wait for others.
                for part in &routed.parts {
                    view::add_part_line(tx, reference, &row, &routed.parts, part, status, now)
                        .await
                        .map_err(internal(lang))?;
                }
            }
            _ => {}
        }
    }
    audit(tx, claims, "case.submit", &row, lang).await?;
    Ok(row)
}
