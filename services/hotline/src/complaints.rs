//! 投诉 closed loop: 受理 → 转办 → 办理 → 回复 → 回访 → 办结, its history and who sees what.
//!
//! Hotline operators, supervisors and admins see every complaint; a reviewer or office head only
//! those with their office (another office's complaint is NOT_FOUND). Every step is kept in the
//! append-only `complaint_history`, audited, and published as `complaint.advanced`.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use tongban_domain::i18n::Lang;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::hotline::v1::{
    AdvanceComplaintRequest, Complaint, ComplaintState, ComplaintStep, GetComplaintRequest,
    ListComplaintsRequest, ListComplaintsResponse,
};
use tongban_runtime::auth::{Claims, Role};
use tongban_runtime::convert::timestamp;
use tongban_runtime::status::{self, FieldViolation, PreconditionViolation};
use tonic::Status;
use uuid::Uuid;

use crate::hotline_api::{Hotline, check_text, internal, store_internal};
use crate::rules::{self, Actor, AdvanceError};
use crate::{State, repo, view};

/// Default and largest page of a list.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// Largest page of a list.
pub(crate) const MAX_LIMIT: u32 = 500;

/// The page size asked for, within bounds.
pub(crate) fn page(limit: u32) -> i64 {
    i64::from(if limit == 0 {
        DEFAULT_LIMIT
    } else {
        limit.min(MAX_LIMIT)
    })
}

/// Roles that read complaints.
const READERS: [Role; 5] = [
    Role::Hotline,
    Role::Supervisor,
    Role::Admin,
    Role::Reviewer,
    Role::OfficeHead,
];

/// The only office whose items `claims` may see, `None` for every office.
pub(crate) fn own_office(claims: &Claims) -> Option<&str> {
    match claims.role {
        Role::Reviewer | Role::OfficeHead => Some(claims.office.as_str()),
        _ => None,
    }
}

/// One step of the history to insert.
pub(crate) struct NewStep<'a> {
    pub complaint_id: Uuid,
    pub from_state: Option<&'a str>,
    pub to_state: &'a str,
    pub claims: &'a Claims,
    pub note: &'a str,
    pub at: DateTime<Utc>,
}

/// Appends a step to a complaint's history.
pub(crate) async fn insert_step(
    conn: &mut PgConnection,
    step: &NewStep<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO complaint_history (complaint_id, from_state, to_state, actor, actor_role,
            actor_office_id, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(step.complaint_id)
    .bind(step.from_state)
    .bind(step.to_state)
    .bind(&step.claims.user)
    .bind(step.claims.role.as_str())
    .bind(&step.claims.office)
    .bind(step.note)
    .bind(step.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A complaint as stored (caller contact masked; the sealed forms are not read here).
#[derive(Debug, Clone, sqlx::FromRow)]
struct ComplaintRow {
    complaint_id: Uuid,
    case_id: Uuid,
    case_number: String,
    office_id: String,
    state: String,
    caller_name_masked: String,
    caller_phone_masked: String,
    content: String,
    filed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    matter_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct StepRow {
    complaint_id: Uuid,
    from_state: Option<String>,
    to_state: String,
    actor: String,
    actor_role: String,
    actor_office_id: String,
    note: String,
    at: DateTime<Utc>,
}

const SELECT: &str = "SELECT c.complaint_id, c.case_id, c.case_number, c.office_id, c.state,
    c.caller_name_masked, c.caller_phone_masked, c.content, c.filed_at, c.updated_at, s.matter_name
    FROM complaints c JOIN case_status s ON s.case_id = c.case_id";

async fn steps(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<StepRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT complaint_id, from_state, to_state, actor, actor_role, actor_office_id, note, at
         FROM complaint_history WHERE complaint_id = ANY($1) ORDER BY id",
    )
    .bind(ids)
    .fetch_all(conn)
    .await
}

fn to_pb(state: &State, row: &ComplaintRow, history: &[StepRow]) -> Complaint {
    Complaint {
        complaint_id: row.complaint_id.to_string(),
        case_number: row.case_number.clone(),
        office_id: row.office_id.clone(),
        state: rules::complaint_state(&row.state).into(),
        caller_name_masked: row.caller_name_masked.clone(),
        caller_phone_masked: row.caller_phone_masked.clone(),
        content: row.content.clone(),
        filed_at: Some(timestamp(row.filed_at)),
        history: history
            .iter()
            .filter(|s| s.complaint_id == row.complaint_id)
            .map(|s| ComplaintStep {
                from_state: s
                    .from_state
                    .as_deref()
                    .map_or(ComplaintState::Unspecified, rules::complaint_state)
                    .into(),
                to_state: rules::complaint_state(&s.to_state).into(),
                actor: s.actor.clone(),
                actor_role: s.actor_role.clone(),
                actor_office_id: s.actor_office_id.clone(),
                note: s.note.clone(),
                at: Some(timestamp(s.at)),
            })
            .collect(),
        updated_at: Some(timestamp(row.updated_at)),
        matter_name: row.matter_name.clone(),
        office_name: view::office_name(&state.reference, &row.office_id),
    }
}

fn bad_id(lang: Lang) -> Status {
    status::invalid_argument(
        lang,
        vec![FieldViolation::new(
            "complaint_id",
            lang.pick("应为投诉编号（UUID）", "must be a complaint id (UUID)"),
        )],
    )
}

fn no_complaint(lang: Lang) -> Status {
    status::not_found(lang, "该投诉", "complaint")
}

/// ListComplaints.
pub(crate) async fn list(
    state: &State,
    claims: &Claims,
    req: &ListComplaintsRequest,
    lang: Lang,
) -> Result<ListComplaintsResponse, Status> {
    claims.require(&READERS, lang)?;
    let wanted_state = match req.state() {
        ComplaintState::Unspecified => None,
        other => rules::complaint_code(other),
    };
    let office = match (own_office(claims), req.office_id.trim()) {
        (Some(own), "") => Some(own.to_owned()),
        (Some(own), asked) if asked == own => Some(own.to_owned()),
        // Another office's complaints: nothing to see.
        (Some(_), _) => return Ok(ListComplaintsResponse::default()),
        (None, "") => None,
        (None, asked) => Some(asked.to_owned()),
    };
    let number = req.case_number.trim();
    let sql = format!(
        "{SELECT} WHERE ($1::text IS NULL OR c.office_id = $1) AND ($2::text IS NULL OR c.state = $2)
           AND ($3 = '' OR c.case_number = $3)
         ORDER BY c.filed_at DESC, c.complaint_id DESC LIMIT $4"
    );
    let mut conn = state.pool.acquire().await.map_err(internal(lang))?;
    let rows: Vec<ComplaintRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(office)
        .bind(wanted_state)
        .bind(number)
        .bind(page(req.limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(internal(lang))?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.complaint_id).collect();
    let history = steps(&mut conn, &ids).await.map_err(internal(lang))?;
    Ok(ListComplaintsResponse {
        complaints: rows.iter().map(|r| to_pb(state, r, &history)).collect(),
    })
}

/// The complaint `id` if `claims` may see it.
async fn visible(
    conn: &mut PgConnection,
    claims: &Claims,
    id: Uuid,
    for_update: bool,
) -> Result<Option<ComplaintRow>, sqlx::Error> {
    let lock = if for_update { " FOR UPDATE OF c" } else { "" };
    let sql = format!("{SELECT} WHERE c.complaint_id = $1{lock}");
    let row: Option<ComplaintRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.filter(|r| own_office(claims).is_none_or(|own| own == r.office_id)))
}

/// GetComplaint.
pub(crate) async fn get(
    state: &State,
    claims: &Claims,
    req: &GetComplaintRequest,
    lang: Lang,
) -> Result<Complaint, Status> {
    claims.require(&READERS, lang)?;
    let id = Uuid::parse_str(req.complaint_id.trim()).map_err(|_| bad_id(lang))?;
    let mut conn = state.pool.acquire().await.map_err(internal(lang))?;
    let row = visible(&mut conn, claims, id, false)
        .await
        .map_err(internal(lang))?
        .ok_or_else(|| no_complaint(lang))?;
    let history = steps(&mut conn, &[id]).await.map_err(internal(lang))?;
    Ok(to_pb(state, &row, &history))
}

/// The refusal of a step the loop does not allow.
fn refused(err: AdvanceError, lang: Lang) -> Status {
    match err {
        AdvanceError::NotNext { from, to } => {
            let (from_zh, from_en) = rules::complaint_label(from);
            let (to_zh, to_en) = rules::complaint_label(to);
            let text = match lang {
                Lang::Zh => format!(
                    "投诉当前为“{from_zh}”，不能转为“{to_zh}”：须按 受理→转办→办理→回复→回访→办结 逐步推进"
                ),
                Lang::En => format!(
                    "the complaint is {from_en}; it cannot become {to_en}: it moves one step at a time, received → assigned → handling → replied → followed up → closed"
                ),
            };
            status::failed_precondition(
                text.clone(),
                vec![PreconditionViolation::new(
                    "COMPLAINT_STATE",
                    "to_state",
                    text,
                )],
            )
        }
        AdvanceError::WrongActor { required } => match required {
            Actor::Hotline => status::permission_denied(
                lang,
                "转办、回访、办结由 12345 热线办理",
                "assigning, following up and closing are done by the 12345 hotline",
            ),
            Actor::Office => status::permission_denied(
                lang,
                "办理、回复由承办单位的审批人员或负责人办理",
                "handling and replying are done by the office's reviewer or head",
            ),
        },
        AdvanceError::NoteRequired => status::invalid_argument(
            lang,
            vec![FieldViolation::new(
                "note",
                lang.pick("回复须填写答复内容", "a reply needs its text"),
            )],
        ),
    }
}

/// AdvanceComplaint.
pub(crate) async fn advance(
    state: &State,
    claims: &Claims,
    req: &AdvanceComplaintRequest,
    lang: Lang,
) -> Result<Complaint, Status> {
    claims.require(
        &[Role::Hotline, Role::Admin, Role::Reviewer, Role::OfficeHead],
        lang,
    )?;
    let Some(actor) = Actor::of(claims.role) else {
        return Err(status::permission_denied(
            lang,
            "无权处理投诉",
            "may not move complaints",
        ));
    };
    let mut errors = Vec::new();
    let id = Uuid::parse_str(req.complaint_id.trim())
        .map_err(|_| {
            errors.push(FieldViolation::new(
                "complaint_id",
                lang.pick("应为投诉编号（UUID）", "must be a complaint id (UUID)"),
            ));
        })
        .ok();
    let to = req.to_state();
    let to_code = rules::complaint_code(to);
    if to_code.is_none() {
        errors.push(FieldViolation::new(
            "to_state",
            lang.pick("必须选择下一状态", "choose the next state"),
        ));
    }
    let note = check_text(&req.note, "note", true, lang, &mut errors);
    let new_office = req.office_id.trim();
    if !new_office.is_empty() {
        if to != ComplaintState::Assigned {
            errors.push(FieldViolation::new(
                "office_id",
                lang.pick(
                    "只有转办时可以指定承办单位",
                    "an office is given only when assigning",
                ),
            ));
        } else if state.reference.directory.office(new_office).is_none() {
            errors.push(FieldViolation::new(
                "office_id",
                lang.pick("部门目录中没有该单位", "no such office in the directory"),
            ));
        }
    }
    let (Some(id), Some(to_code), true) = (id, to_code, errors.is_empty()) else {
        return Err(status::invalid_argument(lang, errors));
    };

    let now = state.clock.now();
    let mut tx = state.pool.begin().await.map_err(internal(lang))?;
    let mut row = visible(&mut tx, claims, id, true)
        .await
        .map_err(internal(lang))?
        .ok_or_else(|| no_complaint(lang))?;
    let from = rules::complaint_state(&row.state);
    rules::advance(from, to, actor, &note).map_err(|e| refused(e, lang))?;
    let before = json!({ "state": row.state, "office_id": row.office_id });
    let from_code = row.state.clone();
    if !new_office.is_empty() {
        row.office_id = new_office.to_owned();
    }
    row.state = to_code.to_owned();
    row.updated_at = now;
    sqlx::query(
        "UPDATE complaints SET state = $2, office_id = $3, updated_at = $4 WHERE complaint_id = $1",
    )
    .bind(id)
    .bind(to_code)
    .bind(&row.office_id)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(internal(lang))?;
    insert_step(
        &mut tx,
        &NewStep {
            complaint_id: id,
            from_state: Some(&from_code),
            to_state: to_code,
            claims,
            note: &note,
            at: now,
        },
    )
    .await
    .map_err(internal(lang))?;
    let case = repo::case_by_number(&mut tx, &row.case_number)
        .await
        .map_err(internal(lang))?
        .filter(|c| c.case_id == row.case_id);
    if let Some(case) = &case {
        Hotline::publish(
            &mut tx,
            case,
            &claims.user,
            now,
            Body::ComplaintAdvanced(ev::ComplaintAdvanced {
                complaint_id: id.to_string(),
                office_id: row.office_id.clone(),
                from_state: from_code.clone(),
                to_state: to_code.to_owned(),
            }),
        )
        .await
        .map_err(store_internal(lang))?;
    }
    tongban_store::audit(
        &mut tx,
        &tongban_store::AuditRecord {
            actor: &claims.user,
            role: claims.role.as_str(),
            office_id: &claims.office,
            action: "complaint.advance",
            entity: "complaint",
            entity_id: &id.to_string(),
            before: Some(before),
            after: Some(json!({ "state": to_code, "office_id": row.office_id, "note": note })),
        },
    )
    .await
    .map_err(store_internal(lang))?;
    let history = steps(&mut tx, &[id]).await.map_err(internal(lang))?;
    tx.commit().await.map_err(internal(lang))?;
    tracing::info!(case_number = %row.case_number, from = %from_code, to = to_code, "complaint advanced");
    Ok(to_pb(state, &row, &history))
}
