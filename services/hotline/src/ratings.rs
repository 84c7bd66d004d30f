//! 好差评 beyond the single rating: the summary by office and matter (好评率, 差评整改率), the 差评整改
//! items (due 15 working days after the bad rating) and their call-backs (回访).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use tongban_domain::i18n::Lang;
use tongban_domain::rating::{self, Counts, RatingLevel, RectificationState};
use tongban_proto::hotline::v1::{
    self as pb, Callback, GetRatingSummaryRequest, ListRectificationsRequest,
    ListRectificationsResponse, RatingSummary, RatingTally, RecordCallbackRequest, Rectification,
};
use tongban_runtime::auth::{Claims, Role};
use tongban_runtime::convert::{datetime, timestamp};
use tongban_runtime::status::FieldViolation;
use tongban_step::Effects;
use uuid::Uuid;

use crate::complaints::{own_office, page};
use crate::error::HotlineError;
use crate::hotline_api::{EXECUTOR, actor_of, check_text};
use crate::stored::Stored;
use crate::{State, view};

/// Roles that read ratings and rectifications.
const READERS: [Role; 5] = [
    Role::Hotline,
    Role::Supervisor,
    Role::Admin,
    Role::Reviewer,
    Role::OfficeHead,
];

/// The office filter `claims` may use: their own office for an office's staff (asking for
/// another one is refused), the asked one (or every office) for the others.
fn office_filter(claims: &Claims, asked: &str) -> Result<Option<String>, HotlineError> {
    let asked = asked.trim();
    match own_office(claims) {
        Some(own) if asked.is_empty() || asked == own => Ok(Some(own.to_owned())),
        Some(_) => Err(HotlineError::OtherOfficeRatings),
        None if asked.is_empty() => Ok(None),
        None => Ok(Some(asked.to_owned())),
    }
}

/// The wire form of a rating level.
fn level_to_pb(level: RatingLevel) -> pb::RatingLevel {
    match level {
        RatingLevel::VerySatisfied => pb::RatingLevel::VerySatisfied,
        RatingLevel::Satisfied => pb::RatingLevel::Satisfied,
        RatingLevel::BasicallySatisfied => pb::RatingLevel::BasicallySatisfied,
        RatingLevel::Dissatisfied => pb::RatingLevel::Dissatisfied,
        RatingLevel::VeryDissatisfied => pb::RatingLevel::VeryDissatisfied,
    }
}

/// The rating level asked for (`None` for UNSPECIFIED).
pub(crate) fn level_of_pb(level: pb::RatingLevel) -> Option<RatingLevel> {
    RatingLevel::ALL
        .iter()
        .copied()
        .find(|l| level_to_pb(*l) == level)
}

fn tally(
    state: &State,
    (office_id, matter_code, matter_name): (&str, &str, &str),
    c: &Counts,
) -> RatingTally {
    RatingTally {
        office_id: office_id.to_owned(),
        office_name: if office_id.is_empty() {
            String::new()
        } else {
            view::office_name(&state.reference, office_id)
        },
        matter_code: matter_code.to_owned(),
        matter_name: matter_name.to_owned(),
        very_satisfied: c.very_satisfied,
        satisfied: c.satisfied,
        basically_satisfied: c.basically_satisfied,
        dissatisfied: c.dissatisfied,
        very_dissatisfied: c.very_dissatisfied,
        total: c.total(),
        good_rate: c.good_rate(),
        bad: c.bad(),
        rectified: c.rectified,
        rectification_rate: c.rectification_rate(),
    }
}

#[derive(sqlx::FromRow)]
struct TallyRow {
    office_id: String,
    matter_code: String,
    matter_name: String,
    level: Stored<RatingLevel>,
    n: i64,
    rectified: i64,
}

/// GetRatingSummary.
pub(crate) async fn summary(
    state: &State,
    claims: &Claims,
    req: &GetRatingSummaryRequest,
    lang: Lang,
) -> Result<RatingSummary, HotlineError> {
    claims.require(&READERS, lang)?;
    crate::filters::office(&state.reference, "office_id", &req.office_id, lang)?;
    let matter = crate::filters::matter(&state.reference, "matter_code", &req.matter_code, lang)?
        .unwrap_or_default();
    let office = office_filter(claims, &req.office_id)?;
    let mut conn = state.pool.acquire().await?;
    let rows: Vec<TallyRow> = sqlx::query_as(
        "SELECT r.office_id, c.matter_code, max(c.matter_name) AS matter_name, r.level,
                count(*) AS n, count(*) FILTER (WHERE x.state = 'rectified') AS rectified
         FROM ratings r
         JOIN case_status c ON c.case_id = r.case_id
         LEFT JOIN rectifications x ON x.rating_id = r.rating_id
         WHERE ($1::text IS NULL OR r.office_id = $1) AND ($2 = '' OR c.matter_code = $2)
           AND ($3::timestamptz IS NULL OR r.rated_at >= $3)
           AND ($4::timestamptz IS NULL OR r.rated_at < $4)
         GROUP BY r.office_id, c.matter_code, r.level",
    )
    .bind(office)
    .bind(matter)
    .bind(datetime(req.from.as_ref()))
    .bind(datetime(req.to.as_ref()))
    .fetch_all(&mut *conn)
    .await?;
    let mut groups: BTreeMap<(String, String), (String, Counts)> = BTreeMap::new();
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    for row in &rows {
        let (_, counts) = groups
            .entry((row.office_id.clone(), row.matter_code.clone()))
            .or_insert_with(|| (row.matter_name.clone(), Counts::default()));
        counts.add(row.level.0, count(row.n));
        counts.rectified += count(row.rectified);
    }
    let mut all = Counts::default();
    let rows = groups
        .iter()
        .map(|((office, matter), (name, counts))| {
            all.merge(counts);
            tally(state, (office, matter, name), counts)
        })
        .collect();
    Ok(RatingSummary {
        rows,
        total: Some(tally(state, ("", "", ""), &all)),
    })
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    rectification_id: Uuid,
    rating_id: Uuid,
    case_number: String,
    office_id: String,
    matter_code: String,
    matter_name: String,
    level: Stored<RatingLevel>,
    comment: String,
    state: Stored<RectificationState>,
    opened_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    rectified_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct CallbackRow {
    rectification_id: Uuid,
    satisfied: bool,
    note: String,
    recorded_by: String,
    at: DateTime<Utc>,
}

const SELECT_ITEMS: &str = "SELECT x.rectification_id, x.rating_id, r.case_number, x.office_id,
    c.matter_code, c.matter_name, r.level, r.comment, x.state, x.opened_at, x.due_at, x.rectified_at
    FROM rectifications x
    JOIN ratings r ON r.rating_id = x.rating_id
    JOIN case_status c ON c.case_id = x.case_id";

async fn callbacks(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<CallbackRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT rectification_id, satisfied, note, recorded_by, at FROM rectification_callbacks
         WHERE rectification_id = ANY($1) ORDER BY id",
    )
    .bind(ids)
    .fetch_all(conn)
    .await
}

fn item_pb(
    state: &State,
    row: &ItemRow,
    calls: &[CallbackRow],
    now: DateTime<Utc>,
) -> Rectification {
    let rectified = row.state.0 == RectificationState::Rectified;
    Rectification {
        rectification_id: row.rectification_id.to_string(),
        rating_id: row.rating_id.to_string(),
        case_number: row.case_number.clone(),
        office_id: row.office_id.clone(),
        office_name: view::office_name(&state.reference, &row.office_id),
        matter_code: row.matter_code.clone(),
        matter_name: row.matter_name.clone(),
        level: level_to_pb(row.level.0).into(),
        // Numbers in the comment were stored as `138****5678`; the view hides the tail too.
        comment: crate::rules::mask_for_caller(&row.comment),
        state: if rectified {
            pb::RectificationState::Rectified
        } else {
            pb::RectificationState::Open
        }
        .into(),
        opened_at: Some(timestamp(row.opened_at)),
        due_at: Some(timestamp(row.due_at)),
        overdue: !rectified && now >= row.due_at,
        callbacks: calls
            .iter()
            .filter(|c| c.rectification_id == row.rectification_id)
            .map(|c| Callback {
                satisfied: c.satisfied,
                note: c.note.clone(),
                recorded_by: c.recorded_by.clone(),
                at: Some(timestamp(c.at)),
            })
            .collect(),
        rectified_at: row.rectified_at.map(timestamp),
    }
}

/// ListRectifications.
pub(crate) async fn list_rectifications(
    state: &State,
    claims: &Claims,
    req: &ListRectificationsRequest,
    lang: Lang,
) -> Result<ListRectificationsResponse, HotlineError> {
    claims.require(&READERS, lang)?;
    crate::filters::office(&state.reference, "office_id", &req.office_id, lang)?;
    let office = office_filter(claims, &req.office_id)?;
    let wanted = match req.state() {
        pb::RectificationState::Unspecified => None,
        pb::RectificationState::Open => Some(RectificationState::Open.as_str()),
        pb::RectificationState::Rectified => Some(RectificationState::Rectified.as_str()),
    };
    let sql = format!(
        "{SELECT_ITEMS} WHERE ($1::text IS NULL OR x.office_id = $1) AND ($2::text IS NULL OR x.state = $2)
         ORDER BY x.opened_at DESC, x.rectification_id DESC LIMIT $3"
    );
    let mut conn = state.pool.acquire().await?;
    let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(office)
        .bind(wanted)
        .bind(page(req.limit))
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.rectification_id).collect();
    let calls = callbacks(&mut conn, &ids).await?;
    let now = state.clock.now();
    Ok(ListRectificationsResponse {
        rectifications: rows
            .iter()
            .map(|r| item_pb(state, r, &calls, now))
            .collect(),
    })
}

/// RecordCallback: the hotline's 回访 about a rectification, as one step. The domain
/// ([`rating::callback`]) decides: a satisfied rater closes it as 已整改, an unsatisfied one
/// leaves it open (the call is kept either way).
pub(crate) async fn record_callback(
    state: &State,
    claims: &Claims,
    req: &RecordCallbackRequest,
    lang: Lang,
) -> Result<Rectification, HotlineError> {
    claims.require(&[Role::Hotline, Role::Admin], lang)?;
    let mut errors = Vec::new();
    let id = Uuid::parse_str(req.rectification_id.trim())
        .map_err(|_| {
            errors.push(FieldViolation::new(
                "rectification_id",
                lang.pick("应为整改编号（UUID）", "must be a rectification id (UUID)"),
            ));
        })
        .ok();
    let note = check_text(&req.note, "note", false, lang, &mut errors);
    let (Some(id), true) = (id, errors.is_empty()) else {
        return Err(HotlineError::Invalid(errors));
    };
    let now = state.clock.now();
    let mut step = EXECUTOR.begin(&state.pool, actor_of(claims), now).await?;
    let sql = format!("{SELECT_ITEMS} WHERE x.rectification_id = $1 FOR UPDATE OF x");
    let mut row: ItemRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(step.conn())
        .await?
        .ok_or(HotlineError::NoRectification)?;
    let before = row.state.0;
    let after = rating::callback(before, req.satisfied)?;
    sqlx::query(
        "INSERT INTO rectification_callbacks (rectification_id, satisfied, note, recorded_by, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(req.satisfied)
    .bind(&note)
    .bind(&claims.user)
    .bind(now)
    .execute(step.conn())
    .await?;
    if after != before {
        sqlx::query(
            "UPDATE rectifications SET state = $3, rectified_at = $2 WHERE rectification_id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(after.as_str())
        .execute(step.conn())
        .await?;
        row.state = Stored(after);
        row.rectified_at = Some(now);
    }
    let mut effects = Effects::new();
    effects.audit(
        "rectification.callback",
        "rectification",
        id.to_string(),
        Some(json!({ "state": before.as_str() })),
        Some(json!({ "state": after.as_str(), "satisfied": req.satisfied, "note": note })),
    );
    step.apply(effects).await?;
    let calls = callbacks(step.conn(), &[id]).await?;
    step.commit().await?;
    tracing::info!(case_number = %row.case_number, satisfied = req.satisfied, "rectification call-back");
    Ok(item_pb(state, &row, &calls, now))
}
