//! 公开服务 (no sign-in): the 办事指南 with every matter's 五统一 fields and the 一次性告知清单 for
//! a chosen window and locality, the 办结公示 with masked names, and the case lookup by number
//! plus the applicant's proof (behind the hotline's lockout).
//!
//! The console reads these with a masked-view hotline token of its own; nothing here shows
//! more than the hotline's masked view.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tongban_proto::catalog::v1::{GetMatterRequest, GetNoticeRequest, ListMattersRequest};
use tongban_proto::hotline::v1::ListCompletionNoticesRequest;

use crate::hotline::{LookupForm, LookupPage, query};
use crate::web::{Page, Prefs, Shared, error_page, render, rpc_error, when};
use crate::window::{CatalogPage, Guide, GuidePage, matter_rows};

/// The public routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/public/guide", get(catalog))
        .route("/public/guide/{code}", get(guide))
        .route("/public/completed", get(completed))
        .route("/public/lookup", get(lookup_form).post(lookup))
}

fn token(state: &Shared, page: &Page) -> Result<String, Box<Response>> {
    state.public_token().map_err(|err| {
        tracing::error!(error = %err, "cannot mint the public token");
        Box::new(error_page(
            page,
            StatusCode::INTERNAL_SERVER_ERROR,
            page.t("服务暂不可用。", "Service unavailable.").to_owned(),
        ))
    })
}

async fn catalog(State(state): State<Shared>, prefs: Prefs) -> Response {
    let page = Page::new(prefs, "/public/guide", ("办事指南", "Service guide"), None);
    let token = match token(&state, &page) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match state
        .backend
        .catalog(&token, prefs.lang)
        .list_matters(ListMattersRequest::default())
        .await
    {
        Ok(r) => render(&CatalogPage {
            rows: matter_rows(&r.into_inner().matters, prefs.lang),
            page,
            base: "/public/guide",
        }),
        Err(status) => rpc_error(&page, &status),
    }
}

#[derive(Debug, Deserialize)]
struct Locality {
    home_division: Option<String>,
    window: Option<String>,
}

async fn guide(
    State(state): State<Shared>,
    prefs: Prefs,
    Path(code): Path<String>,
    Query(q): Query<Locality>,
) -> Response {
    let path = format!("/public/guide/{code}");
    let page = Page::new(prefs, &path, ("办事指南", "Service guide"), None);
    let token = match token(&state, &page) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let matter = match state
        .backend
        .catalog(&token, prefs.lang)
        .get_matter(GetMatterRequest { code: code.clone() })
        .await
    {
        Ok(m) => m.into_inner(),
        Err(status) => return rpc_error(&page, &status),
    };
    let home = q.home_division.unwrap_or_default().trim().to_owned();
    let window = q
        .window
        .filter(|w| !w.trim().is_empty())
        .unwrap_or_else(|| "140922-zwfw".to_owned());
    let notice = if home.is_empty() {
        None
    } else {
        Some(
            match state
                .backend
                .catalog(&token, prefs.lang)
                .get_notice(GetNoticeRequest {
                    matter_code: code.clone(),
                    window_office_id: window,
                    home_division: home.clone(),
                    ..Default::default()
                })
                .await
            {
                Ok(n) => {
                    let n = n.into_inner();
                    match prefs.lang {
                        tongban_domain::i18n::Lang::En if !n.text_en.is_empty() => n.text_en,
                        _ => n.text,
                    }
                }
                Err(status) => crate::web::rpc_message(prefs.lang, &status),
            },
        )
    };
    render(&GuidePage {
        guide: Guide::of(&matter, prefs.lang),
        apply: None,
        notice,
        home_division: home,
        action: path,
        page,
    })
}

#[derive(Template)]
#[template(path = "completed.html")]
struct CompletedPage {
    page: Page,
    rows: Vec<(String, String, String, String, String, String)>,
}

async fn completed(State(state): State<Shared>, prefs: Prefs) -> Response {
    let page = Page::new(
        prefs,
        "/public/completed",
        ("办结公示", "Completed cases"),
        None,
    );
    let token = match token(&state, &page) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match state
        .backend
        .hotline(&token, prefs.lang)
        .list_completion_notices(ListCompletionNoticesRequest {
            limit: 100,
            ..Default::default()
        })
        .await
    {
        Ok(r) => {
            let en = page.en();
            let rows = r
                .into_inner()
                .notices
                .into_iter()
                .map(|n| {
                    (
                        n.case_number,
                        n.matter_name,
                        n.applicant_name_masked,
                        n.responsible_office_name,
                        if en && !n.result_en.is_empty() {
                            n.result_en
                        } else {
                            n.result
                        },
                        when(n.completed_at.as_ref()),
                    )
                })
                .collect();
            render(&CompletedPage { page, rows })
        }
        Err(status) => rpc_error(&page, &status),
    }
}

async fn lookup_form(prefs: Prefs) -> Response {
    render(&LookupPage {
        page: Page::new(prefs, "/public/lookup", ("办件查询", "Case lookup"), None),
        action: "/public/lookup",
        number: String::new(),
        view: None,
        error: None,
    })
}

async fn lookup(
    State(state): State<Shared>,
    prefs: Prefs,
    Form(form): Form<LookupForm>,
) -> Response {
    let page = Page::new(prefs, "/public/lookup", ("办件查询", "Case lookup"), None);
    let token = match token(&state, &page) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    query(&state, &token, page, "/public/lookup", form).await
}
