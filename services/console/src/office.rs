//! 属地审批: the responsible office's inbox (refreshed in place whenever WatchAssignments reports
//! a change, relayed to the page as server-sent events), a case's
//! materials with the matter's 审查要点 checklist, 认领, 补正 and the decision with its reason.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use tongban_access::auth::Role;
use tongban_domain::i18n::Lang;
use tongban_proto::catalog::v1::GetMatterRequest;
use tongban_proto::common::v1::{ChecklistItem, Decision};
use tongban_proto::review::v1::{
    Assignment, AssignmentState, ClaimCaseRequest, DecideCaseRequest, GetAssignmentRequest,
    ListAssignmentsRequest, RequestSupplementRequest, WatchAssignmentsRequest,
};

use crate::labels;
use crate::web::{Page, Shared, Signed, render, rpc_error, when};

const OFFICE_ROLES: [Role; 2] = [Role::Reviewer, Role::OfficeHead];

/// The office's routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/office", get(inbox))
        .route("/office/inbox", get(inbox_rows))
        .route("/office/events", get(events))
        .route("/office/cases/{id}", get(case))
        .route("/office/cases/{id}/claim", post(claim))
        .route("/office/cases/{id}/supplement", post(supplement))
        .route("/office/cases/{id}/decide", post(decide))
}

/// 办理状态 of an assignment.
#[must_use]
pub fn state_label(value: i32, lang: Lang) -> &'static str {
    match AssignmentState::try_from(value).unwrap_or(AssignmentState::Unspecified) {
        AssignmentState::Routed => lang.pick("待认领", "To claim"),
        AssignmentState::Claimed => lang.pick("审查中", "Under review"),
        AssignmentState::SupplementRequested => lang.pick("待补正", "Supplement requested"),
        AssignmentState::Supplemented => lang.pick("已补正", "Supplemented"),
        AssignmentState::Decided => lang.pick("已决定", "Decided"),
        AssignmentState::Withdrawn => lang.pick("已撤回", "Withdrawn"),
        AssignmentState::Waiting => lang.pick("等待前序环节", "Waiting for other parts"),
        AssignmentState::Cancelled => lang.pick("已取消", "Cancelled"),
        AssignmentState::Unspecified => "",
    }
}

/// One inbox row.
#[derive(Debug, Clone)]
pub struct InboxRow {
    /// Case id.
    pub id: String,
    /// 办件编号.
    pub number: String,
    /// 事项.
    pub matter: String,
    /// 受理窗口.
    pub window: String,
    /// 范围.
    pub scope: String,
    /// State label.
    pub state: String,
    /// Due.
    pub due: String,
    /// Who claimed it.
    pub claimed_by: String,
}

#[derive(Template)]
#[template(path = "office_inbox.html")]
struct InboxPage {
    page: Page,
}

#[derive(Template)]
#[template(path = "office_rows.html")]
struct InboxRows {
    page: Page,
    rows: Vec<InboxRow>,
    error: Option<String>,
}

async fn inbox(signed: Signed) -> Response {
    if let Some(denied) = signed.refuse(&OFFICE_ROLES) {
        return denied;
    }
    render(&InboxPage {
        page: signed.page(("待办件", "Inbox")),
    })
}

/// The inbox table (htmx fragment, polled).
async fn inbox_rows(State(state): State<Shared>, signed: Signed) -> Response {
    if let Some(denied) = signed.refuse(&OFFICE_ROLES) {
        return denied;
    }
    let page = signed.page(("待办件", "Inbox"));
    let lang = page.lang;
    let listed = state
        .backend
        .review(&signed.session.token, lang)
        .list_assignments(ListAssignmentsRequest {
            limit: 200,
            ..Default::default()
        })
        .await;
    let (rows, error) = match listed {
        Ok(r) => (
            r.into_inner()
                .assignments
                .iter()
                .map(|a| InboxRow {
                    id: a.case_id.clone(),
                    number: a.case_number.clone(),
                    matter: if a.part_name.is_empty() {
                        a.matter_name.clone()
                    } else {
                        format!("{}（{}）", a.matter_name, a.part_name)
                    },
                    window: state.office_name(&a.window_office_id),
                    scope: labels::scope(a.scope, lang),
                    state: state_label(a.state, lang).to_owned(),
                    due: when(a.due_at.as_ref()),
                    claimed_by: a.claimed_by.clone(),
                })
                .collect(),
            None,
        ),
        Err(status) => (Vec::new(), Some(crate::web::rpc_message(lang, &status))),
    };
    render(&InboxRows { page, rows, error })
}

/// The office's inbox as it changes (server-sent events): one `assignment` event, carrying the
/// case number, for each assignment WatchAssignments reports — first the current ones, then
/// each change. The page refetches its table on each. The stream ends with the watch.
async fn events(State(state): State<Shared>, signed: Signed) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures::StreamExt as _;

    if let Some(denied) = signed.refuse(&OFFICE_ROLES) {
        return denied;
    }
    let page = signed.page(("待办件", "Inbox"));
    let watch = match state
        .backend
        .review(&signed.session.token, signed.prefs.lang)
        .watch_assignments(WatchAssignmentsRequest::default())
        .await
    {
        Ok(stream) => stream.into_inner(),
        Err(status) => return rpc_error(&page, &status),
    };
    let events = watch
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(|item| std::future::ready(item.ok()))
        .map(|a| {
            Ok::<_, std::convert::Infallible>(
                Event::default().event("assignment").data(a.case_number),
            )
        });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[derive(Template)]
#[template(path = "office_case.html")]
struct CasePage {
    page: Page,
    id: String,
    number: String,
    matter: String,
    applicant: String,
    window: String,
    scope: String,
    mode: String,
    state: String,
    due: String,
    claimed_by: String,
    can_claim: bool,
    can_act: bool,
    materials: Vec<(String, String, String, u32)>,
    points: Vec<(String, String, bool)>,
    decision: String,
    decision_reason: String,
    supplement_reason: String,
    message: Option<String>,
}

async fn case(State(state): State<Shared>, signed: Signed, Path(id): Path<String>) -> Response {
    show_case(&state, &signed, id, None).await
}

async fn show_case(
    state: &Shared,
    signed: &Signed,
    id: String,
    message: Option<String>,
) -> Response {
    if let Some(denied) = signed.refuse(&OFFICE_ROLES) {
        return denied;
    }
    let page = signed.page(("办件审查", "Case review"));
    let lang = page.lang;
    let token = &signed.session.token;
    let a: Assignment = match state
        .backend
        .review(token, lang)
        .get_assignment(GetAssignmentRequest { case_id: id })
        .await
    {
        Ok(a) => a.into_inner(),
        Err(status) => return rpc_error(&page, &status),
    };
    let matter = state
        .backend
        .catalog(token, lang)
        .get_matter(GetMatterRequest {
            code: a.matter_code.clone(),
        })
        .await
        .map(tonic::Response::into_inner)
        .ok();
    let material_names: BTreeMap<String, String> = matter
        .as_ref()
        .map(|m| {
            m.materials
                .iter()
                .map(|x| (x.code.clone(), x.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let points = matter
        .as_ref()
        .map(|m| {
            m.review_points
                .iter()
                .filter(|p| {
                    a.review_point_codes.is_empty() || a.review_point_codes.contains(&p.code)
                })
                .map(|p| (p.code.clone(), p.question.clone(), p.required))
                .collect()
        })
        .unwrap_or_default();
    let st = AssignmentState::try_from(a.state).unwrap_or(AssignmentState::Unspecified);
    let mine = a.claimed_by == signed.session.user;
    render(&CasePage {
        id: a.case_id.clone(),
        number: a.case_number.clone(),
        matter: a.matter_name.clone(),
        applicant: a
            .applicant
            .as_ref()
            .map(|x| x.name.clone())
            .unwrap_or_default(),
        window: state.office_name(&a.window_office_id),
        scope: labels::scope(a.scope, lang),
        mode: labels::mode(a.mode, lang),
        state: state_label(a.state, lang).to_owned(),
        due: when(a.due_at.as_ref()),
        claimed_by: a.claimed_by.clone(),
        can_claim: st == AssignmentState::Routed,
        can_act: mine && matches!(st, AssignmentState::Claimed | AssignmentState::Supplemented),
        materials: a
            .materials
            .iter()
            .map(|m| {
                (
                    m.material_code.clone(),
                    material_names
                        .get(&m.material_code)
                        .cloned()
                        .unwrap_or_else(|| m.material_code.clone()),
                    labels::form(m.form, lang),
                    m.pages,
                )
            })
            .collect(),
        points,
        decision: labels::decision(a.decision, lang),
        decision_reason: a.decision_reason.clone(),
        supplement_reason: a.supplement_reason.clone(),
        message,
        page,
    })
}

/// After an action: back to the case page, or the case page with the refusal.
async fn after(
    state: &Shared,
    signed: &Signed,
    id: String,
    outcome: Result<tonic::Response<Assignment>, tonic::Status>,
) -> Response {
    match outcome {
        Ok(_) => Redirect::to(&format!("/office/cases/{id}")).into_response(),
        Err(status) => {
            let message = crate::web::rpc_message(signed.prefs.lang, &status);
            let mut response = show_case(state, signed, id, Some(message)).await;
            *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            response
        }
    }
}

async fn claim(State(state): State<Shared>, signed: Signed, Path(id): Path<String>) -> Response {
    if let Some(denied) = signed.refuse(&OFFICE_ROLES) {
        return denied;
    }
    let outcome = state
        .backend
        .review(&signed.session.token, signed.prefs.lang)
        .claim_case(ClaimCaseRequest {
            case_id: id.clone(),
        })
        .await;
    after(&state, &signed, id, outcome).await
}

async fn supplement(
    State(state): State<Shared>,
    signed: Signed,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(denied) = signed.refuse(&OFFICE_ROLES) {
        return denied;
    }
    let mut items = Vec::new();
    let mut reason = String::new();
    for (k, v) in fields {
        match k.as_str() {
            "item" => items.push(v),
            "reason" => reason = v.trim().to_owned(),
            _ => {}
        }
    }
    let outcome = state
        .backend
        .review(&signed.session.token, signed.prefs.lang)
        .request_supplement(RequestSupplementRequest {
            case_id: id.clone(),
            items,
            reason,
        })
        .await;
    after(&state, &signed, id, outcome).await
}

async fn decide(
    State(state): State<Shared>,
    signed: Signed,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(denied) = signed.refuse(&OFFICE_ROLES) {
        return denied;
    }
    let mut decision = Decision::Unspecified;
    let mut reason = String::new();
    let mut points: Vec<String> = Vec::new();
    let mut passed = std::collections::BTreeSet::new();
    let mut notes = BTreeMap::new();
    for (k, v) in fields {
        match k.as_str() {
            "decision" => {
                decision = match v.as_str() {
                    "approve" => Decision::Approve,
                    "deny" => Decision::Deny,
                    _ => Decision::Unspecified,
                }
            }
            "reason" => reason = v.trim().to_owned(),
            "point" => points.push(v),
            other => {
                if let Some(code) = other.strip_prefix("pass_") {
                    passed.insert(code.to_owned());
                } else if let Some(code) = other.strip_prefix("note_") {
                    notes.insert(code.to_owned(), v.trim().to_owned());
                }
            }
        }
    }
    let checklist = points
        .into_iter()
        .map(|code| ChecklistItem {
            passed: passed.contains(&code),
            note: notes.remove(&code).unwrap_or_default(),
            review_point_code: code,
        })
        .collect();
    let outcome = state
        .backend
        .review(&signed.session.token, signed.prefs.lang)
        .decide_case(DecideCaseRequest {
            case_id: id.clone(),
            decision: decision.into(),
            reason,
            checklist,
        })
        .await;
    after(&state, &signed, id, outcome).await
}
