//! 一件事一次办 at the window: SubmitBundle opens one linked case per member matter from one
//! submission (the union of the members' materials, each presented once), all or none, and
//! GetBundle shows the bundle with its member cases and the status derived from them.

use chrono::{DateTime, Utc};
use prost::Message as _;
use tongban_domain::calendar::shanghai_date;
use tongban_domain::case_number::CaseNumber;
use tongban_domain::catalog::Matter;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::materials::{MissingMaterial, check_materials};
use tongban_domain::reference::ReferenceData;
use tongban_proto::intake::v1::{Bundle, GetBundleRequest, SubmitBundleRequest};
use tongban_runtime::auth::{Role, authorize, caller_and_lang};
use tongban_runtime::convert::timestamp;
use tongban_runtime::status::{
    self, FieldViolation, PreconditionViolation, internal_for as internal,
};
use tonic::{Request, Response, Status};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::State;
use crate::accept::{self, Acceptance, Member, Routed};
use crate::intake_api::{hex, may_see_window, submits_at_own_window};
use crate::repo::{self, BundleRow, CaseRow};
use crate::validation::{BundleSubmission, MaterialIn, Submission, check_bundle};
use crate::view;

fn bundle_not_found(lang: Lang) -> Status {
    status::not_found(lang, "该一件事", "bundle")
}

/// SubmitBundle: validates once, routes every member, checks the union of the required
/// materials once, verifies each presented e-certificate once, and opens one case per member
/// in one transaction. Idempotent on the window's key.
pub(crate) async fn submit(
    state: &State,
    request: Request<SubmitBundleRequest>,
) -> Result<Response<Bundle>, Status> {
    let (claims, lang) = authorize(&request, &[Role::Clerk, Role::Admin])?;
    // Forwarded to the certificate service: the clerk is the one verifying.
    let authorization = request.metadata().get("authorization").cloned();
    let req = request.into_inner();
    let reference = &*state.reference;
    let now = state.clock.now();
    let today = shanghai_date(now);
    let mut sub = check_bundle(reference, &req, today, lang)
        .map_err(|v| status::invalid_argument(lang, v))?;
    submits_at_own_window(&claims, &sub.window.id, lang)?;
    let request_digest = state
        .pii
        .digest("intake-bundle-request", &hex(&req.encode_to_vec()));
    {
        let mut conn = state.pool.acquire().await.map_err(internal(lang))?;
        if let Some(existing) = replay(&mut conn, &sub, &request_digest, lang).await? {
            let bundle = bundle_pb(&mut conn, reference, &existing, now)
                .await
                .map_err(internal(lang))?;
            return Ok(Response::new(bundle));
        }
    }

    // 一次性告知 for the whole bundle: every member's routing refusal, every refused
    // e-certificate (each verified once) and every missing material (each listed once).
    let mut refusals = accept::verify_certificates(
        state,
        &mut sub.materials,
        &sub.applicant.id_number,
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
    refusals.extend(material_refusals(&members, lang));
    let routes: Vec<Routed> = match routes.into_iter().collect::<Result<Vec<_>, _>>() {
        Ok(routes) if refusals.is_empty() => routes,
        _ => return Err(accept::refused(lang, refusals)),
    };
    let mut due = Vec::with_capacity(members.len());
    for member in &members {
        due.push(accept::due_after(
            reference,
            now,
            member.matter.promised_limit_days,
            lang,
        )?);
    }

    let mut tx = state.pool.begin().await.map_err(internal(lang))?;
    let number = accept::next_number(&mut tx, sub.window, now, lang).await?;
    let bundle = BundleRow {
        bundle_id: Uuid::now_v7(),
        bundle_number: number.as_str().to_owned(),
        bundle_code: sub.bundle.code.clone(),
        bundle_name: sub.bundle.name.clone(),
        window_office_id: sub.window.id.clone(),
        submitted_at: now,
        request_digest: request_digest.clone(),
    };
    if !repo::insert_bundle(&mut tx, &bundle, &sub.key, &claims.user)
        .await
        .map_err(internal(lang))?
    {
        // A concurrent request with the same key won; answer as it did.
        drop(tx);
        let mut conn = state.pool.acquire().await.map_err(internal(lang))?;
        return match replay(&mut conn, &sub, &request_digest, lang).await? {
            Some(existing) => Ok(Response::new(
                bundle_pb(&mut conn, reference, &existing, now)
                    .await
                    .map_err(internal(lang))?,
            )),
            None => Err(status::unavailable(lang, "请重试", "please retry")),
        };
    }
    let mut rows = Vec::with_capacity(members.len());
    for (position, ((member, routed), due_at)) in members.iter().zip(&routes).zip(due).enumerate() {
        // Each member's steps are recorded under a span of its own, a child of SubmitBundle:
        // the bundle's submission is the root of every member case's trace.
        let span = tracing::info_span!(
            "AcceptBundleMember",
            tongban.case_number = tracing::field::Empty,
            tongban.matter_code = %member.matter.code,
            tongban.stage = "accept",
            tongban.due_at = %due_at.to_rfc3339(),
        );
        let row = accept::accept(
            &mut tx,
            state,
            member,
            Acceptance {
                routed,
                claims: &claims,
                now,
                due_at,
                member: Some(Member {
                    bundle: &bundle,
                    position: i32::try_from(position).unwrap_or(i32::MAX),
                }),
            },
            lang,
        )
        .instrument(span.clone())
        .await?;
        span.record("tongban.case_number", row.case_number.as_str());
        rows.push(row);
    }
    tongban_store::audit(
        &mut tx,
        &tongban_store::AuditRecord {
            actor: &claims.user,
            role: claims.role.as_str(),
            office_id: &claims.office,
            action: "bundle.submit",
            entity: "bundle",
            entity_id: &bundle.bundle_id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "bundle_number": bundle.bundle_number,
                "bundle_code": bundle.bundle_code,
                "case_numbers": rows.iter().map(|r| r.case_number.as_str()).collect::<Vec<_>>(),
            })),
        },
    )
    .await
    .map_err(internal(lang))?;
    tx.commit().await.map_err(internal(lang))?;
    tracing::info!(bundle_number = %bundle.bundle_number, bundle_code = %bundle.bundle_code, cases = rows.len(), "bundle accepted");
    let mut conn = state.pool.acquire().await.map_err(internal(lang))?;
    let mut cases = Vec::with_capacity(rows.len());
    for row in &rows {
        cases.push(
            view::case_pb(&mut conn, reference, row, now)
                .await
                .map_err(internal(lang))?,
        );
    }
    Ok(Response::new(bundle_message(&bundle, &rows, cases)))
}

/// GetBundle by id or number: clerks of the bundle's window, supervisors and admins.
pub(crate) async fn get(
    state: &State,
    request: Request<GetBundleRequest>,
) -> Result<Response<Bundle>, Status> {
    let (claims, lang) = caller_and_lang(&request)?;
    let req = request.into_inner();
    let mut conn = state.pool.acquire().await.map_err(internal(lang))?;
    let bundle = if !req.bundle_id.trim().is_empty() {
        let Ok(id) = Uuid::parse_str(req.bundle_id.trim()) else {
            return Err(status::invalid_argument(
                lang,
                vec![FieldViolation::new(
                    "bundle_id",
                    lang.pick(
                        "不是有效的一件事编号（UUID）",
                        "not a valid bundle id (UUID)",
                    ),
                )],
            ));
        };
        repo::bundle_by_id(&mut conn, id)
            .await
            .map_err(internal(lang))?
    } else if !req.bundle_number.trim().is_empty() {
        match CaseNumber::parse(&req.bundle_number) {
            Ok(number) => repo::bundle_by_number(&mut conn, number.as_str())
                .await
                .map_err(internal(lang))?,
            Err(e) => {
                return Err(status::invalid_argument(
                    lang,
                    vec![FieldViolation::new("bundle_number", e.text(lang))],
                ));
            }
        }
    } else {
        return Err(status::invalid_argument(
            lang,
            vec![FieldViolation::new(
                "bundle_id",
                lang.pick(
                    "必须填写 bundle_id 或 bundle_number",
                    "bundle_id or bundle_number is required",
                ),
            )],
        ));
    };
    let bundle = bundle
        .filter(|b| may_see_window(&claims, &b.window_office_id))
        .ok_or_else(|| bundle_not_found(lang))?;
    let view = bundle_pb(&mut conn, &state.reference, &bundle, state.clock.now())
        .await
        .map_err(internal(lang))?;
    Ok(Response::new(view))
}

/// An earlier identical request's bundle, or ALREADY_EXISTS for a different request.
async fn replay(
    conn: &mut sqlx::PgConnection,
    sub: &BundleSubmission<'_>,
    request_digest: &str,
    lang: Lang,
) -> Result<Option<BundleRow>, Status> {
    let Some(existing) = repo::bundle_by_key(conn, &sub.window.id, &sub.key)
        .await
        .map_err(internal(lang))?
    else {
        return Ok(None);
    };
    if existing.request_digest != request_digest {
        return Err(status::already_exists(
            lang,
            "该幂等键已用于另一份不同的申请",
            "this idempotency key was already used for a different request",
        ));
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
/// needs it.
fn material_refusals(members: &[Submission<'_>], lang: Lang) -> Vec<PreconditionViolation> {
    let mut missing: Vec<(MissingMaterial, Vec<&Matter>)> = Vec::new();
    let mut refusals = Vec::new();
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
        for m in absent {
            match missing.iter_mut().find(|(known, _)| known.code == m.code) {
                Some((_, needing)) => needing.push(member.matter),
                None => missing.push((m, vec![member.matter])),
            }
        }
    }
    for (m, needing) in missing {
        let names: Vec<&str> = needing.iter().map(|x| x.name.as_str()).collect();
        let description = match lang {
            Lang::Zh => format!("{}（需要该材料的事项：{}）", m.text(lang), names.join("、")),
            Lang::En => format!("{} (needed for: {})", m.text(lang), names.join(", ")),
        };
        refusals.push(PreconditionViolation::new(
            "MATERIAL_MISSING",
            m.code.clone(),
            description,
        ));
    }
    refusals
}

/// The bundle with its member cases as the window sees them.
async fn bundle_pb(
    conn: &mut sqlx::PgConnection,
    reference: &ReferenceData,
    bundle: &BundleRow,
    now: DateTime<Utc>,
) -> Result<Bundle, sqlx::Error> {
    let rows = repo::bundle_members(conn, bundle.bundle_id).await?;
    let mut cases = Vec::with_capacity(rows.len());
    for row in &rows {
        cases.push(view::case_pb(conn, reference, row, now).await?);
    }
    Ok(bundle_message(bundle, &rows, cases))
}

fn bundle_message(
    bundle: &BundleRow,
    rows: &[CaseRow],
    cases: Vec<tongban_proto::intake::v1::Case>,
) -> Bundle {
    Bundle {
        bundle_id: bundle.bundle_id.to_string(),
        bundle_number: bundle.bundle_number.clone(),
        bundle_code: bundle.bundle_code.clone(),
        bundle_name: bundle.bundle_name.clone(),
        status: view::bundle_status(rows).into(),
        window_office_id: bundle.window_office_id.clone(),
        submitted_at: Some(timestamp(bundle.submitted_at)),
        cases,
    }
}
