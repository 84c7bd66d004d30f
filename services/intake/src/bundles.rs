//! 一件事一次办 at the window: SubmitBundle opens one linked case per member matter from one
//! submission (the union of the members' materials, each presented once), all or none, and
//! GetBundle shows the bundle with its member cases and the status derived from them.
//!
//! A member that needs another member's result (出生登记 needs the 出生医学证明 that 出生医学证明
//! 首次签发 issues) is only submitted with the bundle: it is accepted and routed, as SubmitCase
//! would do it at that moment, once every member it waits for is approved, and carries their
//! results; it is withdrawn when one of them is denied or withdrawn ([`member_decided`],
//! [`withdraw_waiting`]).

use chrono::{DateTime, Utc};
use prost::Message as _;
use serde_json::json;
use sqlx::PgConnection;
use tongban_bus::HandleError;
use tongban_domain::bundle::{
    self as bundle_rules, Ended, MemberEffect, MemberState, missing_materials, prerequisites,
};
use tongban_domain::calendar::shanghai_date;
use tongban_domain::case::Decision;
use tongban_domain::case_number::CaseNumber;
use tongban_domain::catalog::Matter;
use tongban_domain::division::DivisionCode;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::materials::{Form, check_materials};
use tongban_domain::reference::ReferenceData;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::intake::v1::{Bundle, GetBundleRequest, SubmitBundleRequest};
use tongban_runtime::auth::{Role, authorize, caller_and_lang};
use tongban_runtime::convert::timestamp;
use tongban_runtime::status::{FieldViolation, PreconditionViolation};
use tongban_step::{Effects, Trace};
use tongban_store::timeline::TimelineLine;
use tonic::{Request, Response};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::accept::{self, Acceptance, Member, Recorded, RouteInput, Routed, Start};
use crate::error::{IntakeError, Unknown};
use crate::intake_api::clerk;
use crate::intake_api::{hex, may_see_window, submits_at_own_window};
use crate::repo::{self, BundleId, BundleRow, CaseRow};
use crate::validation::{BundleSubmission, MaterialIn, Submission, check_bundle};
use crate::view::{self, Step};
use crate::{EXECUTOR, SERVICE, State};

/// SubmitBundle: validates once, routes every member, checks the union of the required
/// materials once (a material a member provides is not asked for), verifies each presented
/// e-certificate once, and opens one case per member in one transaction: accepted and routed
/// at once, or only submitted for a member waiting for others' results. Idempotent on the
/// window's key.
pub(crate) async fn submit(
    state: &State,
    request: Request<SubmitBundleRequest>,
) -> Result<Response<Bundle>, IntakeError> {
    let (claims, lang) = authorize(&request, &[Role::Clerk, Role::Admin])?;
    // Forwarded to the certificate service: the clerk is the one verifying.
    let authorization = request.metadata().get("authorization").cloned();
    let req = request.into_inner();
    let reference = &*state.reference;
    let now = state.clock.now();
    let today = shanghai_date(now);
    let mut sub = check_bundle(reference, &req, today, lang).map_err(IntakeError::Invalid)?;
    submits_at_own_window(&claims, &sub.window.id)?;
    let request_digest = state
        .pii
        .digest("intake-bundle-request", &hex(&req.encode_to_vec()));
    {
        let mut conn = state.pool.acquire().await?;
        if let Some(existing) = replay(&mut conn, &sub, &request_digest).await? {
            let bundle = bundle_pb(&mut conn, reference, &existing, now).await?;
            return Ok(Response::new(bundle));
        }
    }

    // 一次性告知 for the whole bundle: every member's routing refusal, every refused
    // e-certificate (each verified once) and every missing material (each listed once).
    let mut refusals = accept::verify_certificates(
        state,
        &mut sub.materials,
        sub.applicant.id_number.as_str(),
        authorization.as_ref(),
        lang,
    )
    .await;
    let members = member_submissions(&sub);
    let mut routes = Vec::with_capacity(members.len());
    for member in &members {
        let route = accept::route(reference, member, today, now);
        if let Err(err) = &route {
            refusals.push(PreconditionViolation::new(
                "ROUTE_REFUSED",
                format!("members[{}]", member.matter.code),
                err.text(lang),
            ));
        }
        routes.push(route);
    }
    refusals.extend(material_refusals(&members, sub.bundle, lang));
    let routes: Vec<Routed> = match routes.into_iter().collect::<Result<Vec<_>, _>>() {
        Ok(routes) if refusals.is_empty() => routes,
        _ => return Err(IntakeError::Refused(refusals)),
    };
    // A member listing what another member provides waits for it; the others start now.
    let mut starts = Vec::with_capacity(members.len());
    for member in &members {
        let waits_for = prerequisites(&reference.catalog, sub.bundle, &member.matter.code);
        starts.push(if waits_for.is_empty() {
            Start::Now {
                due_at: accept::due_after(reference, now, member.matter.promised_limit_days)?,
            }
        } else {
            Start::After { waits_for }
        });
    }

    // The bundle's number, then one per member, all taken before the transaction: no lock is
    // held while the bundle is stored.
    let mut numbers = accept::take_numbers(&state.pool, sub.window, now, members.len() + 1)
        .await?
        .into_iter();
    let number = numbers.next().ok_or(IntakeError::NumbersUsedUp)?;
    let mut step = EXECUTOR.begin(&state.pool, clerk(&claims), now).await?;
    let actor = step.actor().clone();
    let bundle = BundleRow {
        bundle_id: repo::BundleId::new(),
        bundle_number: number.as_str().to_owned(),
        bundle_code: sub.bundle.code.clone(),
        bundle_name: sub.bundle.name.clone(),
        window_office_id: sub.window.id.clone(),
        submitted_at: now,
        request_digest: request_digest.clone(),
    };
    if !repo::insert_bundle(step.conn(), &bundle, &sub.key, &claims.user).await? {
        // A concurrent request with the same key won; answer as it did.
        drop(step);
        let mut conn = state.pool.acquire().await?;
        return match replay(&mut conn, &sub, &request_digest).await? {
            Some(existing) => Ok(Response::new(
                bundle_pb(&mut conn, reference, &existing, now).await?,
            )),
            None => Err(IntakeError::Retry),
        };
    }
    let mut rows = Vec::with_capacity(members.len());
    for (position, ((member, routed), start)) in members.iter().zip(&routes).zip(starts).enumerate()
    {
        // Each member's steps are recorded under a span of its own, a child of SubmitBundle:
        // the bundle's submission is the root of every member case's trace.
        let due_at = match &start {
            Start::Now { due_at } => due_at.to_rfc3339(),
            Start::After { .. } => String::new(),
        };
        let span = tracing::info_span!(
            "AcceptBundleMember",
            tongban.case_number = tracing::field::Empty,
            tongban.matter_code = %member.matter.code,
            tongban.stage = "accept",
            tongban.due_at = %due_at,
        );
        let member_number = numbers.next().ok_or(IntakeError::NumbersUsedUp)?;
        let conn = step.conn();
        let row = async {
            let (row, effects) = accept::open(
                &mut *conn,
                state,
                member,
                Acceptance {
                    routed,
                    claims: &claims,
                    now,
                    start,
                    number: member_number,
                    member: Some(Member {
                        bundle: &bundle,
                        position: i32::try_from(position).unwrap_or(i32::MAX),
                    }),
                },
            )
            .await?;
            // The member's events carry its own span's trace: the root of the member's case.
            tongban_step::apply(conn, SERVICE, &actor, now, &Trace::current(), effects).await?;
            Ok::<_, IntakeError>(row)
        }
        .instrument(span.clone())
        .await?;
        span.record("tongban.case_number", row.case_number.as_str());
        rows.push(row);
    }
    let mut effects = Effects::new();
    effects.audit(
        "bundle.submit",
        "bundle",
        bundle.bundle_id.to_string(),
        None,
        Some(json!({
            "bundle_number": bundle.bundle_number,
            "bundle_code": bundle.bundle_code,
            "case_numbers": rows.iter().map(|r| r.case_number.as_str()).collect::<Vec<_>>(),
        })),
    );
    step.apply(effects).await?;
    step.commit().await?;
    tracing::info!(bundle_number = %bundle.bundle_number, bundle_code = %bundle.bundle_code, cases = rows.len(), "bundle accepted");
    let mut conn = state.pool.acquire().await?;
    let mut cases = Vec::with_capacity(rows.len());
    for row in &rows {
        cases.push(view::case_pb(&mut conn, reference, row, now).await?);
    }
    Ok(Response::new(bundle_message(
        reference, &bundle, &rows, cases,
    )))
}

/// GetBundle by id or number: clerks of the bundle's window, supervisors and admins.
pub(crate) async fn get(
    state: &State,
    request: Request<GetBundleRequest>,
) -> Result<Response<Bundle>, IntakeError> {
    let (claims, lang) = caller_and_lang(&request)?;
    let req = request.into_inner();
    let mut conn = state.pool.acquire().await?;
    let bundle = if !req.bundle_id.trim().is_empty() {
        let Ok(id) = Uuid::parse_str(req.bundle_id.trim()) else {
            return Err(IntakeError::Invalid(vec![FieldViolation::new(
                "bundle_id",
                lang.pick(
                    "不是有效的一件事编号（UUID）",
                    "not a valid bundle id (UUID)",
                ),
            )]));
        };
        repo::bundle_by_id(&mut conn, repo::BundleId(id)).await?
    } else if !req.bundle_number.trim().is_empty() {
        match CaseNumber::parse(&req.bundle_number) {
            Ok(number) => repo::bundle_by_number(&mut conn, number.as_str()).await?,
            Err(e) => {
                return Err(IntakeError::Invalid(vec![FieldViolation::new(
                    "bundle_number",
                    e.text(lang),
                )]));
            }
        }
    } else {
        return Err(IntakeError::Invalid(vec![FieldViolation::new(
            "bundle_id",
            lang.pick(
                "必须填写 bundle_id 或 bundle_number",
                "bundle_id or bundle_number is required",
            ),
        )]));
    };
    let bundle = bundle
        .filter(|b| may_see_window(&claims, &b.window_office_id))
        .ok_or_else(|| IntakeError::NotFound(Unknown::Bundle))?;
    let view = bundle_pb(&mut conn, &state.reference, &bundle, state.clock.now()).await?;
    Ok(Response::new(view))
}

/// An earlier identical request's bundle, or ALREADY_EXISTS for a different request.
async fn replay(
    conn: &mut sqlx::PgConnection,
    sub: &BundleSubmission<'_>,
    request_digest: &str,
) -> Result<Option<BundleRow>, IntakeError> {
    let Some(existing) = repo::bundle_by_key(conn, &sub.window.id, &sub.key).await? else {
        return Ok(None);
    };
    if existing.request_digest != request_digest {
        return Err(IntakeError::KeyReused);
    }
    Ok(Some(existing))
}

/// One submission per member matter: the shared applicant and delivery, and the presented
/// materials that member lists.
fn member_submissions<'r>(sub: &BundleSubmission<'r>) -> Vec<Submission<'r>> {
    sub.members
        .iter()
        .map(|matter| Submission {
            key: sub.key.clone(),
            window: sub.window,
            matter,
            mode: sub.mode,
            applicant: sub.applicant.clone(),
            materials: sub
                .materials
                .iter()
                .filter(|m| matter.material(&m.code).is_some())
                .cloned()
                .collect::<Vec<MaterialIn>>(),
            delivery: sub.delivery.clone(),
            destination_division: None,
        })
        .collect()
}

/// 一次性告知 of the bundle's materials: each missing material once, naming every member that
/// needs it (`missing_materials`). A material a member provides is not missing: the member
/// needing it waits for it.
fn material_refusals(
    members: &[Submission<'_>],
    bundle: &bundle_rules::Bundle,
    lang: Lang,
) -> Vec<PreconditionViolation> {
    let mut refusals = Vec::new();
    let mut checks = Vec::with_capacity(members.len());
    for member in members {
        let (absent, problems) = check_materials(
            member.matter,
            member.mode,
            &accept::presented(&member.materials),
        );
        for p in &problems {
            refusals.push(PreconditionViolation::new(
                "MATERIAL_INVALID",
                "materials",
                p.text(lang),
            ));
        }
        checks.push((member.matter.name.as_str(), absent));
    }
    for m in missing_materials(bundle, checks) {
        refusals.push(PreconditionViolation::new(
            "MATERIAL_MISSING",
            m.material.code.clone(),
            m.text(lang),
        ));
    }
    refusals
}

/// The bundle with its member cases as the window sees them, each with the bundle's summary
/// (members, statuses, and what a waiting member waits for).
async fn bundle_pb(
    conn: &mut sqlx::PgConnection,
    reference: &ReferenceData,
    bundle: &BundleRow,
    now: DateTime<Utc>,
) -> Result<Bundle, repo::RepoError> {
    let rows = repo::bundle_members(conn, bundle.bundle_id).await?;
    let mut cases = Vec::with_capacity(rows.len());
    for row in &rows {
        cases.push(view::case_pb(conn, reference, row, now).await?);
    }
    Ok(bundle_message(reference, bundle, &rows, cases))
}

fn bundle_message(
    reference: &ReferenceData,
    bundle: &BundleRow,
    rows: &[CaseRow],
    mut cases: Vec<tongban_proto::intake::v1::Case>,
) -> Bundle {
    let summary = view::bundle_summary(reference, bundle, rows);
    for case in &mut cases {
        case.bundle = Some(summary.clone());
    }
    Bundle {
        bundle_id: bundle.bundle_id.to_string(),
        bundle_number: bundle.bundle_number.clone(),
        bundle_code: bundle.bundle_code.clone(),
        bundle_name: bundle.bundle_name.clone(),
        status: summary.status,
        window_office_id: bundle.window_office_id.clone(),
        submitted_at: Some(timestamp(bundle.submitted_at)),
        cases,
    }
}

/// The members as the bundle's rules see them.
fn states(members: &[CaseRow]) -> Vec<MemberState> {
    members.iter().map(CaseRow::member).collect()
}

/// The place of case `case_id` among `members`.
fn position(members: &[CaseRow], case_id: Uuid) -> Option<usize> {
    members.iter().position(|m| m.case_id == case_id)
}

/// 一件事: member `decided` (of a bundle) was decided, in the consumer's transaction with the
/// decision itself. The bundle's rules decide what follows (`member_approved`: the waiting
/// members whose awaited members are all approved now are accepted and routed;
/// `member_ended`: the members waiting for a denied one are withdrawn); this applies it.
///
/// # Errors
/// Retry when the store fails; Reject when a waiting member's state does not allow the step.
pub(crate) async fn member_decided(
    state: &State,
    conn: &mut PgConnection,
    decided: &CaseRow,
    decision: Decision,
) -> Result<(), HandleError> {
    let Some(bundle_id) = decided.bundle_id else {
        return Ok(());
    };
    let now = state.clock.now();
    if decision == Decision::Deny {
        let mut effects = Effects::new();
        withdraw_waiting(
            conn,
            &state.reference,
            decided,
            Ended::Denied,
            now,
            &mut effects,
        )
        .await?;
        tongban_step::apply(
            conn,
            SERVICE,
            &view::service_at(decided),
            now,
            &Trace::current(),
            effects,
        )
        .await?;
        return Ok(());
    }
    let Some(bundle) = repo::bundle_by_id(conn, bundle_id).await? else {
        return Err(HandleError::Reject(format!("unknown bundle {bundle_id}")));
    };
    // Locked first, then the members' statuses read: a concurrent approval of another awaited
    // member either sees this one committed or waits for the lock and sees it then.
    let waiting = repo::waiting_for_member(conn, bundle_id, &decided.matter_code).await?;
    if waiting.is_empty() {
        return Ok(());
    }
    let members = repo::bundle_members(conn, bundle_id).await?;
    let Some(index) = position(&members, decided.case_id) else {
        return Err(HandleError::Reject(format!(
            "case {} is not a member of bundle {bundle_id}",
            decided.case_id
        )));
    };
    let (_, steps) = bundle_rules::member_approved(&states(&members), index)
        .map_err(|e| HandleError::Reject(e.to_string()))?;
    for step in steps {
        if let MemberEffect::Accept { index, .. } = step {
            accept_waiting(state, conn, &bundle, &members, members[index].clone(), now).await?;
        }
    }
    Ok(())
}

/// Accepts and routes a waiting member now, as SubmitCase would: routed at this moment, the
/// clock started now, `case.accepted` and `case.routed` with a full summary, in the member's
/// own trace. The results of the members it waited for are noted on its materials. A member
/// that cannot be routed or timed now (the directory, agreements or calendar changed since the
/// submission) is withdrawn with the reason instead, and so are the members waiting for it
/// (`member_refused`).
async fn accept_waiting(
    state: &State,
    conn: &mut PgConnection,
    bundle: &BundleRow,
    members: &[CaseRow],
    mut row: CaseRow,
    now: DateTime<Utc>,
) -> Result<(), HandleError> {
    let reference = &*state.reference;
    // Days after the bundle's submission, the acceptance joins the member case's trace.
    let trace = Trace::of_case("AcceptBundleMember", &view::case_ref(&row));
    let span = trace.span().clone();
    span.record("tongban.matter_code", row.matter_code.as_str());
    span.record("tongban.stage", "accept");
    async {
        let mut effects = Effects::new();
        let (routed, due_at, matter) = match plan(reference, &row, now) {
            Ok(planned) => planned,
            Err(reason) => {
                tracing::warn!(case_number = %row.case_number, %reason, "waiting bundle member cannot be accepted; withdrawn");
                refuse(conn, reference, &row, &reason, now, &mut effects).await?;
                tongban_step::apply(conn, SERVICE, &view::service_at(&row), now, &trace, effects)
                    .await?;
                return Ok(());
            }
        };
        tracing::Span::current().record("tongban.due_at", due_at.to_rfc3339().as_str());
        provided_materials(conn, reference, bundle, members, &mut row, now).await?;
        let steps = accept::accept_row(&mut row, &routed, now, due_at).map_err(IntakeError::from)?;
        let (id_sealed, address_sealed) = repo::sealed_personal_data(conn, row.case_id).await?;
        let id_number = state
            .pii
            .open(&id_sealed, row.case_id.as_bytes())
            .map_err(|e| HandleError::Reject(format!("sealed ID number: {e}")))?;
        let mut summary = view::summary(&row, matter.promised_limit_days, Some(bundle));
        accept::seal_summary(
            state,
            &mut summary,
            &row,
            &row.applicant_name,
            &id_number,
            address_sealed,
        );
        accept::record_steps(
            conn,
            reference,
            &row,
            &steps,
            &Recorded {
                summary: &summary,
                submitted: None,
                parts: &routed.parts,
                member: Some(bundle),
                at: now,
            },
            &mut effects,
        )
        .await?;
        repo::update_case(conn, &row).await?;
        view::audit(&mut effects, "case.accept", &row);
        tongban_step::apply(conn, SERVICE, &view::service_at(&row), now, &trace, effects).await?;
        tracing::info!(case_number = %row.case_number, office = %row.responsible_office_id, "waiting bundle member accepted");
        Ok(())
    }
    .instrument(span)
    .await
}

/// The route, due moment and matter of a waiting member accepted `now`, or why it cannot be
/// accepted (in Chinese: it becomes the withdrawal's reason).
fn plan<'r>(
    reference: &'r ReferenceData,
    row: &CaseRow,
    now: DateTime<Utc>,
) -> Result<(Routed, DateTime<Utc>, &'r Matter), String> {
    let matter = reference
        .catalog
        .matter(&row.matter_code)
        .ok_or_else(|| "事项目录中已没有该事项，本事项无法受理".to_owned())?;
    let mode = row.mode;
    let home = DivisionCode::parse(&row.home_division)
        .map_err(|e| format!("{}，本事项无法受理", e.text(Lang::Zh)))?;
    let destination = row
        .destination_division
        .as_deref()
        .map(DivisionCode::parse)
        .transpose()
        .map_err(|e| format!("{}，本事项无法受理", e.text(Lang::Zh)))?;
    let routed = accept::route_input(
        reference,
        &RouteInput {
            matter,
            mode,
            window_office_id: &row.window_office_id,
            home_division: &home,
            destination_division: destination.as_ref(),
        },
        shanghai_date(now),
        now,
    )
    .map_err(|e| format!("本事项无法分派：{}", e.text(Lang::Zh)))?;
    let due_at = reference
        .calendar
        .due_after(now, matter.promised_limit_days)
        .map_err(|e| format!("本事项无法计算办理时限：{}", e.text(Lang::Zh)))?;
    Ok((routed, due_at, matter))
}

/// Notes on a member's materials the results of the members it waited for: each material a
/// provider issued that the member lists (and was not presented anyway) is added as an
/// electronic material, with a timeline line naming the provider.
async fn provided_materials(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    bundle: &BundleRow,
    members: &[CaseRow],
    row: &mut CaseRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let (Some(definition), Some(matter)) = (
        reference.bundles.get(&bundle.bundle_code),
        reference.catalog.matter(&row.matter_code),
    ) else {
        return Ok(());
    };
    for provision in definition
        .provides
        .iter()
        .filter(|p| row.waits_for.contains(&p.matter))
    {
        let Some(material) = matter.material(&provision.material) else {
            continue;
        };
        let provider = members
            .iter()
            .find(|m| m.matter_code == provision.matter)
            .map_or(provision.matter.as_str(), |m| m.matter_name.as_str());
        let provider_en = reference
            .catalog
            .matter(&provision.matter)
            .map_or(provider, |m| m.name_en.as_str());
        if !row.materials.iter().any(|m| m.code == provision.material) {
            row.materials.push(MaterialIn {
                code: provision.material.clone(),
                form: Form::Electronic,
                certificate_token: String::new(),
                sha256: String::new(),
                pages: 0,
                certificate_identifier: String::new(),
                certificate_type: String::new(),
            });
        }
        repo::add_timeline(
            conn,
            row.case_id,
            &TimelineLine {
                at: now,
                status: row.status.as_str().to_owned(),
                description: format!("「{}」由本件事成员「{provider}」出具", material.name),
                description_en: format!(
                    "\"{}\" ({}) issued by bundle member \"{provider_en}\"",
                    material.name, material.code
                ),
                office_id: row.window_office_id.clone(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Locks the members of bundle `bundle_id` a withdrawal of member `matter` may end (those
/// waiting for it, and in turn those waiting for them), then reads the whole bundle.
async fn lock_cascade(
    conn: &mut PgConnection,
    bundle_id: BundleId,
    matter: &str,
) -> Result<Vec<CaseRow>, repo::RepoError> {
    let mut queue = vec![matter.to_owned()];
    while let Some(code) = queue.pop() {
        for row in repo::waiting_for_member(conn, bundle_id, &code).await? {
            queue.push(row.matter_code);
        }
    }
    repo::bundle_members(conn, bundle_id).await
}

/// Withdraws, in the caller's transaction, the members still waiting for member `ended` (as
/// the step leaves it: denied or withdrawn), and in turn those waiting for them, as the
/// bundle's rules say (`member_ended`): each gets `case.withdrawn` among `effects` with the
/// reason 「前序事项「…」不予办理/已撤回，本事项无法办理」, its timeline line and audit entry.
///
/// # Errors
/// [`IntakeError`] when the store fails.
pub(crate) async fn withdraw_waiting(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    ended: &CaseRow,
    how: Ended,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<(), IntakeError> {
    let Some(bundle_id) = ended.bundle_id else {
        return Ok(());
    };
    let mut members = lock_cascade(conn, bundle_id, &ended.matter_code).await?;
    let Some(index) = position(&members, ended.case_id) else {
        return Ok(());
    };
    members[index] = ended.clone();
    let (next, steps) = bundle_rules::member_ended(&states(&members), index, how)?;
    withdraw_members(conn, reference, &members, &next, steps, now, effects).await
}

/// The waiting member `row` cannot be accepted (`reason`): it is withdrawn with the reason, and
/// so are the members waiting for it (`member_refused`).
async fn refuse(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    row: &CaseRow,
    reason: &str,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<(), IntakeError> {
    let Some(bundle_id) = row.bundle_id else {
        return Ok(());
    };
    let members = lock_cascade(conn, bundle_id, &row.matter_code).await?;
    let Some(index) = position(&members, row.case_id) else {
        return Ok(());
    };
    let (next, steps) = bundle_rules::member_refused(&states(&members), index, reason)?;
    withdraw_members(conn, reference, &members, &next, steps, now, effects).await
}

/// Applies the withdrawals the bundle's rules decided: each member's status as `next` has it,
/// its `case.withdrawn` with the reason, its timeline line and the audit entry.
async fn withdraw_members(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    members: &[CaseRow],
    next: &[MemberState],
    steps: Vec<MemberEffect>,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<(), IntakeError> {
    for step in steps {
        let MemberEffect::Withdraw {
            index,
            reason,
            events,
        } = step
        else {
            continue;
        };
        let mut row = members[index].clone();
        row.status = next[index].status;
        for event in events {
            view::record_step(
                conn,
                reference,
                &row,
                Step {
                    event,
                    status: row.status,
                    office_id: &row.window_office_id,
                    detail: &reason,
                    at: now,
                    body: Body::CaseWithdrawn(ev::CaseWithdrawn {
                        reason: reason.clone(),
                    }),
                },
                effects,
            )
            .await?;
        }
        repo::update_case(conn, &row).await?;
        view::audit(effects, "case.withdraw", &row);
        tracing::info!(case_number = %row.case_number, "waiting bundle member withdrawn");
    }
    Ok(())
}
