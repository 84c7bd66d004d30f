//! The steps SubmitCase and SubmitBundle share: routing (one office, or one per part for
//! 多地联办), verifying presented e-certificates (两个免提交), the 一次性告知 refusal, the due
//! moment, and opening a case — its row, timeline, audit record and outbox events, written
//! in the caller's transaction.
//!
//! Opening a case submits it and, unless it is a 一件事 member waiting for other members'
//! results, accepts and routes it at once. A waiting member is accepted and routed later, when
//! the members it waits for are approved ([`crate::bundles`]), through the same
//! [`accept_row`] and [`record_steps`].

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use tongban_domain::calendar::shanghai_date;
use tongban_domain::case::{self, CaseCommand, CaseEvent, CaseStatus, TransitionError};
use tongban_domain::case_number::{CaseNumber, MAX_SEQUENCE};
use tongban_domain::catalog::{Matter, Mode, Scope};
use tongban_domain::division::DivisionCode;
use tongban_domain::i18n::Lang;
use tongban_domain::materials::{Form, Presented};
use tongban_domain::reference::ReferenceData;
use tongban_domain::routing::{RouteError, resolve_parts, resolve_route};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_runtime::auth::Claims;
use tongban_runtime::convert::timestamp;
use tongban_runtime::status::PreconditionViolation;
use tongban_runtime::verification::{VerificationKind, verification_digest};
use tongban_step::Effects;
use tongban_store::timeline::TimelineLine;
use tonic::metadata::{Ascii, MetadataValue};
use uuid::Uuid;

use crate::error::IntakeError;
use crate::parts::{self, KeptPart};
use crate::repo::{self, BundleRow, CaseRow, NewCase};
use crate::validation::{MaterialIn, Submission};
use crate::view::{self, Step};
use crate::{State, certificates};

/// Where a case goes: one responsible office, or (多地联办) one office per part, the first of
/// which is the case's responsible office.
#[derive(Debug, Clone)]
pub(crate) struct Routed {
    /// The case's scope (for a joint case, the widest of its parts').
    pub scope: Scope,
    pub responsible_office_id: String,
    pub agreement_id: Option<String>,
    /// Empty for a case of one office.
    pub parts: Vec<KeptPart>,
}

/// What routing needs to know about a case.
pub(crate) struct RouteInput<'a> {
    pub matter: &'a Matter,
    pub mode: Mode,
    pub window_office_id: &'a str,
    /// 户籍地 (迁出地, 转出地).
    pub home_division: &'a DivisionCode,
    /// 迁入地 (转入地), when given.
    pub destination_division: Option<&'a DivisionCode>,
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
    route_input(
        reference,
        &RouteInput {
            matter: sub.matter,
            mode: sub.mode,
            window_office_id: &sub.window.id,
            home_division: &sub.applicant.home_division,
            destination_division: sub.destination_division.as_ref(),
        },
        today,
        now,
    )
}

/// Routes a case as [`route`] does, from what routing needs (a stored case's fields, when a
/// waiting bundle member is accepted).
///
/// # Errors
/// The routing refusal.
pub(crate) fn route_input(
    reference: &ReferenceData,
    input: &RouteInput<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Routed, RouteError> {
    if input.mode == Mode::Joint {
        let joint = resolve_parts(
            reference,
            &input.matter.code,
            input.window_office_id,
            input.home_division,
            input.destination_division,
            today,
        )?;
        Ok(Routed {
            scope: joint.scope,
            responsible_office_id: joint.responsible_office_id.clone(),
            agreement_id: joint.agreement_id.clone(),
            parts: parts::from_route(input.matter, &joint, now),
        })
    } else {
        let single = resolve_route(
            reference,
            &input.matter.code,
            input.window_office_id,
            input.home_division,
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

/// 两个免提交: verifies each presented e-certificate with the certificate service as a
/// certificate of `holder` (the applicant's ID number), for SubmitCase, SubmitBundle and
/// SupplementCase alike. A verified one is kept by its identifier and type only; the token of
/// every one is dropped either way (it carries the holder's full ID number: it is never stored,
/// published or returned); each refused one gives a CERTIFICATE_INVALID refusal naming the
/// material.
pub(crate) async fn verify_certificates(
    state: &State,
    materials: &mut [MaterialIn],
    holder: &str,
    authorization: Option<&MetadataValue<Ascii>>,
    lang: Lang,
) -> Vec<PreconditionViolation> {
    let mut refusals = Vec::new();
    for m in materials.iter_mut().filter(|m| m.form == Form::Certificate) {
        let outcome = state
            .certificates
            .verify(&m.certificate_token, holder, authorization)
            .await;
        m.certificate_token.clear();
        match outcome {
            certificates::Outcome::Verified {
                identifier,
                type_code,
            } => {
                m.certificate_identifier = identifier;
                m.certificate_type = type_code;
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

/// The due moment of a case accepted `now` with `working_days` (承诺时限).
///
/// # Errors
/// FAILED_PRECONDITION when the holiday data does not cover the period.
pub(crate) fn due_after(
    reference: &ReferenceData,
    now: DateTime<Utc>,
    working_days: u32,
) -> Result<DateTime<Utc>, IntakeError> {
    reference
        .calendar
        .due_after(now, working_days)
        .map_err(|error| IntakeError::Calendar {
            subject: "due_at",
            error,
        })
}

/// 取号: takes `count` numbers of the window's daily sequence (Shanghai date of `now`), as case
/// (or bundle) numbers in ascending order.
///
/// Taken on the pool in a statement of their own before the submission's transaction begins
/// (see [`repo::take_sequences`]): no lock is held across the submission, and a submission
/// that fails afterwards leaves a gap in the day's numbers; numbers are never given twice. Call
/// it after the idempotency replay and the refusals, so that a retry or a refused request
/// takes nothing.
///
/// # Errors
/// UNAVAILABLE when fewer than `count` of the day's numbers are left (none is taken then);
/// INTERNAL when the store fails.
pub(crate) async fn take_numbers(
    pool: &sqlx::PgPool,
    window: &tongban_domain::directory::Office,
    now: DateTime<Utc>,
    count: usize,
) -> Result<Vec<CaseNumber>, IntakeError> {
    let day = shanghai_date(now);
    let limit = i32::try_from(MAX_SEQUENCE).unwrap_or(i32::MAX);
    let wanted = i32::try_from(count).unwrap_or(i32::MAX);
    let last = repo::take_sequences(pool, window.division.as_str(), day, wanted, limit)
        .await?
        .ok_or(IntakeError::NumbersUsedUp)?;
    (last - wanted + 1..=last)
        .map(|sequence| {
            let sequence = u32::try_from(sequence).map_err(|_| IntakeError::NumbersUsedUp)?;
            CaseNumber::try_new(&window.division, day, sequence)
                .map_err(|_| IntakeError::NumbersUsedUp)
        })
        .collect()
}

/// One number, as [`take_numbers`] takes them.
///
/// # Errors
/// As [`take_numbers`].
pub(crate) async fn take_number(
    pool: &sqlx::PgPool,
    window: &tongban_domain::directory::Office,
    now: DateTime<Utc>,
) -> Result<CaseNumber, IntakeError> {
    take_numbers(pool, window, now, 1)
        .await?
        .pop()
        .ok_or(IntakeError::NumbersUsedUp)
}

/// A bundle member's link to its bundle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    pub bundle: &'a BundleRow,
    /// Its place in the bundle's order, from 0.
    pub position: i32,
}

/// When a new case is accepted.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    /// 受理 and 分派 at once; due at this moment.
    Now { due_at: DateTime<Utc> },
    /// 一件事: submitted only, accepted and routed once these members (matter codes) are
    /// approved. The route is the one planned at submission; it is resolved again then.
    After { waits_for: Vec<String> },
}

/// Everything about opening a case besides the submission: where it goes and when it starts.
pub(crate) struct Acceptance<'a> {
    pub routed: &'a Routed,
    pub claims: &'a Claims,
    pub now: DateTime<Utc>,
    pub start: Start,
    /// Its 办件编号, taken beforehand with [`take_numbers`].
    pub number: CaseNumber,
    /// Set for a member case of a 一件事 bundle.
    pub member: Option<Member<'a>>,
}

/// Opens the case: submitted, and (for [`Start::Now`]) accepted and routed at once, each step on
/// the timeline; returns the case with the step's effects (its events and audit entry) for the
/// caller to apply in the current span, whose trace becomes the case's.
///
/// # Errors
/// INTERNAL when the store fails.
pub(crate) async fn open(
    tx: &mut sqlx::PgConnection,
    state: &State,
    sub: &Submission<'_>,
    acceptance: Acceptance<'_>,
) -> Result<(CaseRow, Effects), IntakeError> {
    let Acceptance {
        routed,
        claims,
        now,
        start,
        number,
        member,
    } = acceptance;
    let reference = &*state.reference;
    let case_id = Uuid::now_v7();
    let span = tracing::Span::current();
    let applicant = &sub.applicant;
    let (submitted, events) = case::submit();
    let mut row = CaseRow {
        case_id,
        case_number: number.as_str().to_owned(),
        matter_code: sub.matter.code.clone(),
        matter_name: sub.matter.name.clone(),
        mode: sub.mode,
        scope: routed.scope,
        status: submitted,
        window_office_id: sub.window.id.clone(),
        responsible_office_id: routed.responsible_office_id.clone(),
        agreement_id: routed.agreement_id.clone(),
        applicant_name: applicant.name.as_str().to_owned(),
        id_number_masked: applicant.id_number.masked(),
        phone_masked: applicant.phone.masked(),
        home_division: applicant.home_division.as_str().to_owned(),
        materials: sub.materials.clone(),
        delivery_method: sub.delivery.method,
        submitted_at: now,
        accepted_at: None,
        budget_days: sub.matter.promised_limit_days,
        due_at: None,
        decision: None,
        decision_reason: None,
        supplement_items: Vec::new(),
        supplement_reason: None,
        traceparent: tongban_telemetry::traceparent_of(&span).unwrap_or_default(),
        tracestate: None,
        parts: Vec::new(),
        destination_division: sub
            .destination_division
            .as_ref()
            .map(|d| d.as_str().to_owned()),
        bundle_id: member.map(|m| m.bundle.bundle_id),
        waits_for: Vec::new(),
    };
    let mut steps: Vec<(CaseEvent, CaseStatus)> =
        events.into_iter().map(|e| (e, submitted)).collect();
    match start {
        Start::Now { due_at } => {
            steps.extend(accept_row(&mut row, routed, now, due_at)?);
        }
        Start::After { waits_for } => row.waits_for = waits_for,
    }
    let aad = case_id.as_bytes();
    let address = sub.delivery.address.as_deref();
    let address_sealed = address.map(|a| state.pii.seal(a, aad));
    repo::insert_case(
        tx,
        &NewCase {
            row: &row,
            matter_version: &sub.matter.version,
            id_number_sealed: state.pii.seal(applicant.id_number.as_str(), aad),
            id_number_digest: state.pii.digest("id-number", applicant.id_number.as_str()),
            phone_sealed: state.pii.seal(applicant.phone.as_str(), aad),
            phone_digest: state.pii.digest("phone", applicant.phone.as_str()),
            address_sealed: address_sealed.clone(),
            created_by: &claims.user,
            bundle_position: member.map(|m| m.position),
        },
    )
    .await?;
    let mut summary = view::summary(
        &row,
        sub.matter.promised_limit_days,
        member.map(|m| m.bundle),
    );
    seal_summary(
        state,
        &mut summary,
        &row,
        applicant.name.as_str(),
        applicant.id_number.as_str(),
        address_sealed,
    );
    let submitted_body = ev::CaseSubmitted {
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
    };
    let mut effects = Effects::new();
    record_steps(
        tx,
        reference,
        &row,
        &steps,
        &Recorded {
            summary: &summary,
            submitted: Some(submitted_body),
            parts: &routed.parts,
            member: member.map(|m| m.bundle),
            at: now,
        },
        &mut effects,
    )
    .await?;
    if !row.waits_for.is_empty() {
        let line = waiting_line(reference, &row, now);
        repo::add_timeline(tx, row.case_id, &line).await?;
    }
    view::audit(&mut effects, "case.submit", &row);
    Ok((row, effects))
}

/// 受理 and 分派 of a submitted case `now`: the route, the acceptance moment and the due moment
/// go on the row, which is left routed; returns the steps to record.
///
/// # Errors
/// [`TransitionError`] when the case is no longer submitted.
pub(crate) fn accept_row(
    row: &mut CaseRow,
    routed: &Routed,
    now: DateTime<Utc>,
    due_at: DateTime<Utc>,
) -> Result<Vec<(CaseEvent, CaseStatus)>, TransitionError> {
    let mut status = row.status;
    let mut steps = Vec::new();
    for command in [CaseCommand::Accept, CaseCommand::Route] {
        let (next, events) = case::transition(status, &command)?;
        status = next;
        steps.extend(events.iter().map(|e| (*e, next)));
    }
    row.status = status;
    row.scope = routed.scope;
    row.responsible_office_id = routed.responsible_office_id.clone();
    row.agreement_id = routed.agreement_id.clone();
    row.parts.clone_from(&routed.parts);
    row.accepted_at = Some(now);
    row.due_at = Some(due_at);
    Ok(steps)
}

/// The summary's sealed fields: the holder of a result certificate, sealed for the
/// deployment's services (events carry no personal data in clear), and for 邮寄 the address,
/// sealed for the logistics service to open.
pub(crate) fn seal_summary(
    state: &State,
    summary: &mut ev::CaseSummary,
    row: &CaseRow,
    name: &str,
    id_number: &str,
    address_sealed: Option<Vec<u8>>,
) {
    summary.sealed_applicant = state.pii.seal(
        &json!({"name": name, "id_number": id_number}).to_string(),
        row.case_id.as_bytes(),
    );
    summary.sealed_address = address_sealed.unwrap_or_default();
}

/// What [`record_steps`] publishes with each step.
pub(crate) struct Recorded<'a> {
    /// The case as every consumer needs to know it, after the steps.
    pub summary: &'a ev::CaseSummary,
    /// The body of `case.submitted`, when the steps include it.
    pub submitted: Option<ev::CaseSubmitted>,
    /// 多地联办: the parts of the case as routed (empty for a case of one office).
    pub parts: &'a [KeptPart],
    /// The bundle of a member case.
    pub member: Option<&'a BundleRow>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Records the steps of opening or accepting a case: a timeline line and an outbox event each
/// (submitted at the window with the bundle's line for a member, accepted at the window, routed
/// at the responsible office with a line per part of a 多地联办 case).
///
/// # Errors
/// [`IntakeError`] when the store fails.
pub(crate) async fn record_steps(
    tx: &mut sqlx::PgConnection,
    reference: &ReferenceData,
    row: &CaseRow,
    steps: &[(CaseEvent, CaseStatus)],
    recorded: &Recorded<'_>,
    effects: &mut Effects,
) -> Result<(), IntakeError> {
    let now = recorded.at;
    for &(event, status) in steps {
        let (office, body) = match event {
            CaseEvent::Submitted => (
                row.window_office_id.clone(),
                Body::CaseSubmitted(recorded.submitted.clone().unwrap_or_else(|| {
                    ev::CaseSubmitted {
                        summary: Some(recorded.summary.clone()),
                        ..Default::default()
                    }
                })),
            ),
            CaseEvent::Accepted => (
                row.window_office_id.clone(),
                Body::CaseAccepted(ev::CaseAccepted {
                    accepted_at: row.accepted_at.map(timestamp),
                    due_at: row.due_at.map(timestamp),
                }),
            ),
            _ => (
                row.responsible_office_id.clone(),
                Body::CaseRouted(ev::CaseRouted {
                    summary: Some(recorded.summary.clone()),
                }),
            ),
        };
        view::record_step(
            tx,
            reference,
            row,
            Step {
                event,
                status,
                office_id: &office,
                detail: "",
                at: now,
                body,
            },
            effects,
        )
        .await?;
        match (event, recorded.member) {
            (CaseEvent::Submitted, Some(bundle)) => {
                let name_en = reference
                    .bundles
                    .get(&bundle.bundle_code)
                    .map_or(bundle.bundle_name.as_str(), |b| b.name_en.as_str());
                let line = TimelineLine {
                    at: now,
                    status: status.as_str().to_owned(),
                    description: format!(
                        "随「{}」一并申请（一件事编号 {}）",
                        bundle.bundle_name, bundle.bundle_number
                    ),
                    description_en: format!(
                        "Applied for with the bundle \"{name_en}\" ({})",
                        bundle.bundle_number
                    ),
                    office_id: row.window_office_id.clone(),
                };
                repo::add_timeline(tx, row.case_id, &line).await?;
            }
            (CaseEvent::Routed, _) => {
                // 多地联办: where each part went, and which wait for others.
                for part in recorded.parts {
                    view::add_part_line(tx, reference, row, recorded.parts, part, status, now)
                        .await?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The timeline line of a member that waits: which members it waits for.
fn waiting_line(reference: &ReferenceData, row: &CaseRow, at: DateTime<Utc>) -> TimelineLine {
    let awaited: Vec<(String, String)> = row
        .waits_for
        .iter()
        .map(|code| {
            reference.catalog.matter(code).map_or_else(
                || (code.clone(), code.clone()),
                |m| (m.name.clone(), m.name_en.clone()),
            )
        })
        .collect();
    let zh: Vec<&str> = awaited.iter().map(|(zh, _)| zh.as_str()).collect();
    let en: Vec<String> = awaited.iter().map(|(_, en)| format!("\"{en}\"")).collect();
    TimelineLine {
        at,
        status: row.status.as_str().to_owned(),
        description: format!("待本件事成员「{}」准予后受理并分派", zh.join("」「")),
        description_en: format!(
            "Accepted and routed once bundle member {} is approved",
            en.join(", ")
        ),
        office_id: row.window_office_id.clone(),
    }
}
