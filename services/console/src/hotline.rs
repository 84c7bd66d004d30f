//! 12345 热线: the verified status lookup. The caller's proof (the last six characters of the
//! ID number or the last four digits of the phone) is always asked for; the hotline service
//! refuses an unknown case and a wrong proof alike and locks a number after repeated failures.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tongban_access::auth::Role;
use tongban_domain::i18n::Lang;
use tongban_proto::hotline::v1::{CaseStatusView, QueryCaseStatusRequest};

use crate::labels;
use crate::web::{Page, Shared, Signed, render, rpc_message, when};

/// The hotline's routes.
pub fn routes() -> Router<Shared> {
    Router::new().route("/hotline", get(form).post(lookup))
}

/// A case's status as the hotline and the public lookup show it (masked).
#[derive(Debug, Clone)]
pub struct StatusView {
    /// 办件编号.
    pub number: String,
    /// 事项.
    pub matter: String,
    /// Masked applicant name.
    pub applicant: String,
    /// 状态.
    pub status: String,
    /// 当前环节.
    pub stage: String,
    /// 受理窗口.
    pub window: String,
    /// 办理部门.
    pub office: String,
    /// 受理时间.
    pub accepted: String,
    /// 承诺办结时间.
    pub due: String,
    /// 剩余工作日 (empty when not running).
    pub days_left: String,
    /// 审批结果.
    pub decision: String,
    /// History.
    pub timeline: Vec<(String, String)>,
}

impl StatusView {
    /// The view of `v` in `lang`.
    #[must_use]
    pub fn of(v: &CaseStatusView, lang: Lang) -> Self {
        StatusView {
            number: v.case_number.clone(),
            matter: v.matter_name.clone(),
            applicant: v.applicant_name_masked.clone(),
            status: labels::status(v.status, lang),
            stage: match lang {
                Lang::En if !v.stage_en.is_empty() => v.stage_en.clone(),
                _ => v.stage.clone(),
            },
            window: v.window_office_name.clone(),
            office: v.responsible_office_name.clone(),
            accepted: when(v.accepted_at.as_ref()),
            due: when(v.due_at.as_ref()),
            days_left: if v.due_at.is_some() {
                v.remaining_working_days.to_string()
            } else {
                String::new()
            },
            decision: labels::decision(v.decision, lang),
            timeline: v
                .timeline
                .iter()
                .map(|t| (when(t.at.as_ref()), t.description.clone()))
                .collect(),
        }
    }
}

/// The lookup page (hotline and public).
#[derive(Template)]
#[template(path = "lookup.html")]
pub struct LookupPage {
    /// Chrome.
    pub page: Page,
    /// Where the form posts.
    pub action: &'static str,
    /// The case number typed.
    pub number: String,
    /// The result.
    pub view: Option<StatusView>,
    /// The refusal.
    pub error: Option<String>,
}

/// What the lookup form sends.
#[derive(Debug, Deserialize)]
pub struct LookupForm {
    /// 办件编号.
    pub case_number: String,
    /// 核验信息.
    pub verification: String,
}

async fn form(signed: Signed) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Hotline]) {
        return denied;
    }
    render(&LookupPage {
        page: signed.page(("12345 办件查询", "12345 case lookup")),
        action: "/hotline",
        number: String::new(),
        view: None,
        error: None,
    })
}

/// Asks the hotline service with `token` and renders the answer on `page`.
pub async fn query(
    state: &Shared,
    token: &str,
    page: Page,
    action: &'static str,
    form: LookupForm,
) -> Response {
    let lang = page.lang;
    let number = form.case_number.trim().to_owned();
    let answer = state
        .backend
        .hotline(token, lang)
        .query_case_status(QueryCaseStatusRequest {
            case_number: number.clone(),
            verification: form.verification.trim().to_owned(),
        })
        .await;
    match answer {
        Ok(v) => render(&LookupPage {
            view: Some(StatusView::of(&v.into_inner(), lang)),
            page,
            action,
            number,
            error: None,
        }),
        Err(status) => {
            let code = match status.code() {
                tonic::Code::NotFound => StatusCode::NOT_FOUND,
                tonic::Code::ResourceExhausted | tonic::Code::FailedPrecondition => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            };
            (
                code,
                render(&LookupPage {
                    error: Some(rpc_message(lang, &status)),
                    page,
                    action,
                    number,
                    view: None,
                }),
            )
                .into_response()
        }
    }
}

async fn lookup(
    State(state): State<Shared>,
    signed: Signed,
    Form(form): Form<LookupForm>,
) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Hotline]) {
        return denied;
    }
    let page = signed.page(("12345 办件查询", "12345 case lookup"));
    query(&state, &signed.session.token, page, "/hotline", form).await
}
