//! 投诉 closed loop: 受理 → 转办 → 办理 → 回复 → 回访 → 办结, its history and who sees what.
//!
//! Hotline operators, supervisors and admins see every complaint; a reviewer or office head only
//! those with their office (another office's complaint is NOT_FOUND). Every step is kept in the
//! append-only `complaint_history`, audited, and published as `complaint.advanced`.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use tongban_domain::complaint::{self, ComplaintState, Side};
use tongban_domain::i18n::Lang;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::hotline::v1::{
    self as pb, AdvanceComplaintRequest, Complaint, ComplaintStep, GetComplaintRequest,
    ListComplaintsRequest, ListComplaintsResponse,
};
use tongban_runtime::auth::{Claims, Role};
use tongban_runtime::convert::timestamp;
use tongban_runtime::status::FieldViolation;
use tongban_step::Effects;
use uuid::Uuid;

use crate::error::HotlineError;
use crate::hotline_api::{EXECUTOR, actor_of, case_of, check_text};
use crate::stored::Stored;
use crate::{State, repo, view};

/// The wire form of a complaint state.
pub(crate) fn state_to_pb(state: ComplaintState) -> pb::ComplaintState {
    match state {
        ComplaintState::Received => pb::ComplaintState::Received,
        ComplaintState::Assigned => pb::ComplaintState::Assigned,
        ComplaintState::Handling => pb::ComplaintState::Handling,
        ComplaintState::Replied => pb::ComplaintState::Replied,
        ComplaintState::FollowedUp => pb::ComplaintState::FollowedUp,
        ComplaintState::Closed => pb::ComplaintState::Closed,
    }
}

/// The complaint state asked for (`None` for UNSPECIFIED).
fn state_from_pb(state: pb::ComplaintState) -> Option<ComplaintState> {
    ComplaintState::ALL
        .into_iter()
        .find(|s| state_to_pb(*s) == state)
}

/// The side `role` moves complaints as, `None` for roles that never move one.
fn side_of(role: Role) -> Option<Side> {
    match role {
        Role::Hotline | Role::Admin => Some(Side::Hotline),
        Role::Reviewer | Role::OfficeHead => Some(Side::Office),
        _ => None,
    }
}

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
    pub from_state: Option<ComplaintState>,
    pub to_state: ComplaintState,
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
    .bind(step.from_state.map(ComplaintState::as_str))
    .bind(step.to_state.as_str())
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
    /// Decoded at the row boundary: a stored code that is no state fails the read.
    state: Stored<ComplaintState>,
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
    from_state: Option<Stored<ComplaintState>>,
    to_state: Stored<ComplaintState>,
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
        state: state_to_pb(row.state.0).into(),
        caller_name_masked: row.caller_name_masked.clone(),
        // Rows stored before the proof was hidden hold `138****5678`: masked again here.
        caller_phone_masked: crate::rules::mask_for_caller(&row.caller_phone_masked),
        content: crate::rules::mask_for_caller(&row.content),
        filed_at: Some(timestamp(row.filed_at)),
        history: history
            .iter()
            .filter(|s| s.complaint_id == row.complaint_id)
            .map(|s| ComplaintStep {
                from_state: s
                    .from_state
                    .map_or(pb::ComplaintState::Unspecified, |f| state_to_pb(f.0))
                    .into(),
                to_state: state_to_pb(s.to_state.0).into(),
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

fn bad_id(lang: Lang) -> HotlineError {
    HotlineError::Invalid(vec![FieldViolation::new(
        "complaint_id",
        lang.pick("应为投诉编号（UUID）", "must be a complaint id (UUID)"),
    )])
}

/// ListComplaints.
pub(crate) async fn list(
    state: &State,
    claims: &Claims,
    req: &ListComplaintsRequest,
    lang: Lang,
) -> Result<ListComplaintsResponse, HotlineError> {
    claims.require(&READERS, lang)?;
    let wanted_state = state_from_pb(req.state()).map(ComplaintState::as_str);
    crate::filters::office(&state.reference, "office_id", &req.office_id, lang)?;
    let office = match (own_office(claims), req.office_id.trim()) {
        (Some(own), "") => Some(own.to_owned()),
        (Some(own), asked) if asked == own => Some(own.to_owned()),
        // Another office's complaints: nothing to see.
        (Some(_), _) => return Ok(ListComplaintsResponse::default()),
        (None, "") => None,
        (None, asked) => Some(asked.to_owned()),
    };
    let number = req.case_number.trim();
    if !number.is_empty() && tongban_domain::case_number::CaseNumber::parse(number).is_err() {
        return Err(HotlineError::Invalid(vec![FieldViolation::new(
            "case_number",
            lang.pick("不是有效的办件编号", "not a valid case number"),
        )]));
    }
    let sql = format!(
        "{SELECT} WHERE ($1::text IS NULL OR c.office_id = $1) AND ($2::text IS NULL OR c.state = $2)
           AND ($3 = '' OR c.case_number = $3)
         ORDER BY c.filed_at DESC, c.complaint_id DESC LIMIT $4"
    );
    let mut conn = state.pool.acquire().await?;
    let rows: Vec<ComplaintRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(office)
        .bind(wanted_state)
        .bind(number)
        .bind(page(req.limit))
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.complaint_id).collect();
    let history = steps(&mut conn, &ids).await?;
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
) -> Result<Complaint, HotlineError> {
    claims.require(&READERS, lang)?;
    let id = Uuid::parse_str(req.complaint_id.trim()).map_err(|_| bad_id(lang))?;
    let mut conn = state.pool.acquire().await?;
    let row = visible(&mut conn, claims, id, false)
        .await?
        .ok_or(HotlineError::NoComplaint)?;
    let history = steps(&mut conn, &[id]).await?;
    Ok(to_pb(state, &row, &history))
}

/// AdvanceComplaint: one step of the loop. The domain ([`complaint::advance`]) decides; this
/// stores the new state and its history line and applies `complaint.advanced` and the audit
/// entry.
pub(crate) async fn advance(
    state: &State,
    claims: &Claims,
    req: &AdvanceComplaintRequest,
    lang: Lang,
) -> Result<Complaint, HotlineError> {
    claims.require(
        &[Role::Hotline, Role::Admin, Role::Reviewer, Role::OfficeHead],
        lang,
    )?;
    let Some(side) = side_of(claims.role) else {
        return Err(HotlineError::MayNotMoveComplaints);
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
    let to = state_from_pb(req.to_state());
    if to.is_none() {
        errors.push(FieldViolation::new(
            "to_state",
            lang.pick("必须选择下一状态", "choose the next state"),
        ));
    }
    let note = check_text(&req.note, "note", true, lang, &mut errors);
    let new_office = req.office_id.trim();
    if !new_office.is_empty() {
        if !to.is_some_and(ComplaintState::takes_office) {
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
    let (Some(id), Some(to), true) = (id, to, errors.is_empty()) else {
        return Err(HotlineError::Invalid(errors));
    };

    let now = state.clock.now();
    let mut step = EXECUTOR.begin(&state.pool, actor_of(claims), now).await?;
    let mut row = visible(step.conn(), claims, id, true)
        .await?
        .ok_or(HotlineError::NoComplaint)?;
    let from = row.state.0;
    let to = complaint::advance(from, to, side, &note)?;
    let before = json!({ "state": from.as_str(), "office_id": row.office_id });
    if !new_office.is_empty() {
        row.office_id = new_office.to_owned();
    }
    row.state = Stored(to);
    row.updated_at = now;
    sqlx::query(
        "UPDATE complaints SET state = $2, office_id = $3, updated_at = $4 WHERE complaint_id = $1",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(&row.office_id)
    .bind(now)
    .execute(step.conn())
    .await?;
    insert_step(
        step.conn(),
        &NewStep {
            complaint_id: id,
            from_state: Some(from),
            to_state: to,
            claims,
            note: &note,
            at: now,
        },
    )
    .await?;
    let case = repo::case_by_number(step.conn(), &row.case_number)
        .await?
        .filter(|c| c.case_id == row.case_id);
    let mut effects = Effects::new();
    if let Some(case) = &case {
        effects.emit(
            &case_of(case),
            Body::ComplaintAdvanced(ev::ComplaintAdvanced {
                complaint_id: id.to_string(),
                office_id: row.office_id.clone(),
                from_state: from.as_str().to_owned(),
                to_state: to.as_str().to_owned(),
            }),
        );
    }
    effects.audit(
        "complaint.advance",
        "complaint",
        id.to_string(),
        Some(before),
        Some(json!({ "state": to.as_str(), "office_id": row.office_id, "note": note })),
    );
    step.apply(effects).await?;
    let history = steps(step.conn(), &[id]).await?;
    step.commit().await?;
    tracing::info!(case_number = %row.case_number, from = from.as_str(), to = to.as_str(), "complaint advanced");
    Ok(to_pb(state, &row, &history))
}
