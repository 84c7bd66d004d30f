//! The HTTP side: the router, the security headers and the CSRF check every request passes,
//! sessions and preferences read from cookies, sign-in and the page chrome.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tongban_access::auth::{Claims, Role, TokenKeys};
use tongban_domain::i18n::Lang;
use tongban_domain::lockout::Verdict;
use tongban_domain::reference::ReferenceData;

use crate::backend::Backend;
use crate::session::{self, COOKIE, Session, Sessions, SignInError};
use crate::staff::Staff;
use crate::{Config, StartError};

/// The strict Content-Security-Policy of every response: only the console's own scripts and
/// styles, no inline code, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The vendored htmx (npm `htmx.org` 2.0.11), served under a versioned path.
pub const HTMX_PATH: &str = "/static/htmx-2.0.11.min.js";
const HTMX: &str = include_str!("../static/htmx.min.js");
/// The vendored htmx SSE extension (npm `htmx-ext-sse` 2.2.4), for the live inbox.
pub const SSE_PATH: &str = "/static/htmx-ext-sse-2.2.4.min.js";
const SSE: &str = include_str!("../static/htmx-ext-sse.min.js");
/// The console's style sheet, versioned with the crate.
pub const CSS_PATH: &str = concat!("/static/console-", env!("CARGO_PKG_VERSION"), ".css");
const CSS: &str = include_str!("../static/console.css");

/// Role and office of the account the public pages read the catalog and the 12345 lookup
/// with: the masked view of the hotline, behind the hotline's own lockout.
const PUBLIC_USER: &str = "console-public";
const PUBLIC_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Everything the handlers share.
pub struct AppState {
    /// The settings.
    pub config: Config,
    /// Staff accounts.
    pub staff: Staff,
    /// Live sessions and sign-in failures.
    pub sessions: Sessions,
    /// The deployment's token keys (the same the services verify with).
    pub keys: TokenKeys,
    /// Divisions, directory, catalog (for the live ID check and office names).
    pub reference: ReferenceData,
    /// The gRPC channels.
    pub backend: Backend,
    public_token: Mutex<Option<(String, i64)>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// Loads the reference data, the staff file and the key; makes the channels.
    ///
    /// # Errors
    /// What could not be loaded.
    pub fn load(config: &Config) -> Result<Self, StartError> {
        let reference = ReferenceData::load(&config.deploy_dir)?;
        let staff = Staff::load(&config.staff_file, &reference)?;
        let keys = TokenKeys::load_or_create(&config.state_dir)?;
        let backend = Backend::new(
            &config.intake_url,
            &config.review_url,
            &config.hotline_url,
            &config.supervision_url,
            config.tls_ca.as_deref(),
        )?;
        Ok(Self {
            config: config.clone(),
            staff,
            sessions: Sessions::default(),
            keys,
            reference,
            backend,
            public_token: Mutex::new(None),
        })
    }

    /// The token of the public pages (a masked-view hotline token of the console itself),
    /// minted anew when less than ten minutes are left.
    ///
    /// # Errors
    /// Minting failed.
    pub fn public_token(&self) -> Result<String, String> {
        let now = session::now_secs();
        let mut slot = self
            .public_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((token, expires_at)) = slot.as_ref()
            && *expires_at > now + 600
        {
            return Ok(token.clone());
        }
        let claims = Claims::new(
            PUBLIC_USER,
            Role::Hotline,
            tongban_access::auth::HOTLINE_OFFICE,
            PUBLIC_TOKEN_TTL,
            now,
        );
        let token = self.keys.mint(&claims).map_err(|e| e.to_string())?;
        *slot = Some((token.clone(), claims.expires_at));
        Ok(token)
    }

    /// An office's name from the directory, or its id.
    #[must_use]
    pub fn office_name(&self, id: &str) -> String {
        self.reference
            .directory
            .office(id)
            .map_or_else(|| id.to_owned(), |o| o.name.clone())
    }
}

/// Shared state as the handlers take it.
pub type Shared = Arc<AppState>;

/// The console's routes behind its security layer.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/prefs", get(prefs))
        .route(HTMX_PATH, get(htmx))
        .route(SSE_PATH, get(sse_ext))
        .route(CSS_PATH, get(css))
        .merge(crate::window::routes())
        .merge(crate::office::routes())
        .merge(crate::hotline::routes())
        .merge(crate::public::routes())
        .merge(crate::supervisor::routes())
        .layer(middleware::from_fn(guard))
        .with_state(state)
}

/// Refuses state-changing requests from another site (CSRF) and adds the security headers.
///
/// A request other than GET or HEAD must come from this console's own pages: a
/// `Sec-Fetch-Site` header, when present, must be `same-origin`, and an `Origin` header must
/// name the host the request was sent to; a request with neither is refused too.
async fn guard(request: Request, next: Next) -> Response {
    let mut response = if is_safe(request.method()) || same_origin(request.headers()) {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
        (
            StatusCode::FORBIDDEN,
            "跨站请求被拒绝 / cross-site request refused",
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn is_safe(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Whether a state-changing request comes from this console's own pages.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
    {
        return false;
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => {
            origin.strip_prefix("http://") == Some(host)
                || origin.strip_prefix("https://") == Some(host)
        }
        // No Origin: only a browser that says it is same-origin.
        (None, _) => headers.get("sec-fetch-site").is_some(),
        (Some(_), None) => false,
    }
}

async fn htmx() -> Response {
    static_asset(HTMX, "text/javascript; charset=utf-8")
}

async fn sse_ext() -> Response {
    static_asset(SSE, "text/javascript; charset=utf-8")
}

async fn css() -> Response {
    static_asset(CSS, "text/css; charset=utf-8")
}

fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// The reader's preferences: language and large text (适老化).
#[derive(Debug, Clone, Copy, Default)]
pub struct Prefs {
    /// Language of the page.
    pub lang: Lang,
    /// Large-text mode.
    pub large: bool,
}

/// The value of cookie `name`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl<S: Send + Sync> FromRequestParts<S> for Prefs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query_lang = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "lang")
                .map(|(_, v)| Lang::from_tag(v))
        });
        let lang = query_lang
            .or_else(|| cookie(&parts.headers, "lang").map(Lang::from_tag))
            .unwrap_or_default();
        let large = cookie(&parts.headers, "large") == Some("1");
        Ok(Prefs { lang, large })
    }
}

/// A signed-in request: the session and the preferences.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The session.
    pub session: Session,
    /// The session id (for sign-out).
    pub id: String,
    /// Preferences.
    pub prefs: Prefs,
    /// The path asked for (for the language and text-size links).
    pub path: String,
}

impl Signed {
    /// The page chrome for `title`.
    #[must_use]
    pub fn page(&self, title: (&str, &str)) -> Page {
        Page::new(self.prefs, &self.path, title, Some(&self.session))
    }

    /// The 403 page when the person holds none of `roles`; `None` when they may go on.
    #[must_use]
    pub fn refuse(&self, roles: &[Role]) -> Option<Response> {
        if roles.contains(&self.session.role) {
            None
        } else {
            Some(error_page(
                &self.page(("无权访问", "Not allowed")),
                StatusCode::FORBIDDEN,
                self.prefs
                    .lang
                    .pick(
                        "您的角色无权打开此页面。",
                        "Your role may not open this page.",
                    )
                    .to_owned(),
            ))
        }
    }
}

impl FromRequestParts<Shared> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let Ok(prefs) = Prefs::from_request_parts(parts, state).await;
        let path = parts.uri.path().to_owned();
        let found = cookie(&parts.headers, COOKIE)
            .and_then(|id| state.sessions.get(id).map(|s| (id.to_owned(), s)));
        match found {
            Some((id, session)) => Ok(Signed {
                session,
                id,
                prefs,
                path,
            }),
            None if parts.method == Method::GET => {
                Err(Redirect::to(&format!("/login?next={}", encode(&path))).into_response())
            }
            None => Err(error_page(
                &Page::new(prefs, &path, ("请先登录", "Please sign in"), None),
                StatusCode::UNAUTHORIZED,
                prefs
                    .lang
                    .pick(
                        "未登录或会话已过期，请重新登录。",
                        "Not signed in, or the session expired: please sign in again.",
                    )
                    .to_owned(),
            )),
        }
    }
}

/// One entry of the navigation bar.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Target.
    pub href: &'static str,
    /// Label.
    pub label: &'static str,
}

/// What every page shows around its content.
#[derive(Debug, Clone)]
pub struct Page {
    /// Language.
    pub lang: Lang,
    /// Large-text mode.
    pub large: bool,
    /// Page title in the chosen language.
    pub title: String,
    /// Signed-in person: display name, role label, office name.
    pub user: Option<(String, String, String)>,
    /// Navigation for the person's role.
    pub nav: Vec<NavItem>,
    /// The current path, percent-encoded for a query (`next=`).
    pub next: String,
}

impl Page {
    /// The chrome for a page at `path`.
    #[must_use]
    pub fn new(prefs: Prefs, path: &str, title: (&str, &str), session: Option<&Session>) -> Self {
        let lang = prefs.lang;
        let pick = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        let nav = match session.map(|s| s.role) {
            Some(Role::Clerk) => vec![
                NavItem {
                    href: "/window",
                    label: pick("本窗口办件", "Window cases"),
                },
                NavItem {
                    href: "/window/catalog",
                    label: pick("新办件", "New case"),
                },
            ],
            Some(Role::Reviewer | Role::OfficeHead) => vec![NavItem {
                href: "/office",
                label: pick("待办件", "Inbox"),
            }],
            Some(Role::Hotline) => vec![NavItem {
                href: "/hotline",
                label: pick("办件查询", "Case lookup"),
            }],
            Some(Role::Supervisor) => vec![NavItem {
                href: "/supervisor",
                label: pick("督办统计", "Supervision dashboard"),
            }],
            Some(_) => Vec::new(),
            None => vec![
                NavItem {
                    href: "/public/guide",
                    label: pick("办事指南", "Service guide"),
                },
                NavItem {
                    href: "/public/completed",
                    label: pick("办结公示", "Completed cases"),
                },
                NavItem {
                    href: "/public/lookup",
                    label: pick("办件查询", "Case lookup"),
                },
            ],
        };
        Page {
            lang,
            large: prefs.large,
            title: lang.pick(title.0, title.1).to_owned(),
            user: session.map(|s| {
                (
                    s.name.clone(),
                    role_label(s.role, lang).to_owned(),
                    s.office.clone(),
                )
            }),
            nav,
            next: encode(path),
        }
    }

    /// Text in the page's language.
    #[must_use]
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(zh, en)
    }

    /// `zh-CN` or `en`.
    #[must_use]
    pub fn tag(&self) -> &'static str {
        self.lang.tag()
    }

    /// Whether the page is in English.
    #[must_use]
    pub fn en(&self) -> bool {
        self.lang == Lang::En
    }
}

/// A role's name for people.
#[must_use]
pub fn role_label(role: Role, lang: Lang) -> &'static str {
    match role {
        Role::Clerk => lang.pick("窗口人员", "Window clerk"),
        Role::Reviewer => lang.pick("审批人员", "Reviewer"),
        Role::OfficeHead => lang.pick("部门负责人", "Office head"),
        Role::Hotline => lang.pick("12345 热线", "12345 hotline"),
        Role::Supervisor => lang.pick("督办人员", "Supervisor"),
        Role::Carrier => lang.pick("寄递人员", "Carrier"),
        Role::Admin => lang.pick("管理员", "Administrator"),
        Role::Issuer => lang.pick("发证机关", "Issuer"),
        Role::Auditor => lang.pick("审计人员", "Auditor"),
    }
}

/// Percent-encodes `text` for a query value.
#[must_use]
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A local path to return to: must start with one `/` (never another site).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p,
        _ => "/",
    }
}

/// Renders `template`, or a plain 500 when it cannot be rendered.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(body) => Html(body).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "页面渲染失败 / page failed",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: &'a Page,
    message: String,
}

/// An error page with `status` and `message`.
pub fn error_page(page: &Page, status: StatusCode, message: String) -> Response {
    (status, render(&ErrorPage { page, message })).into_response()
}

/// The page for a failed gRPC call: the service's own (localized, safe) message and field
/// violations; unavailable services are named as such.
pub fn rpc_error(page: &Page, status: &tonic::Status) -> Response {
    let code = match status.code() {
        tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::PermissionDenied => StatusCode::FORBIDDEN,
        tonic::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        tonic::Code::Unavailable => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error_page(page, code, rpc_message(page.lang, status))
}

/// A failed call in words: the service's message and every field violation.
#[must_use]
pub fn rpc_message(lang: Lang, status: &tonic::Status) -> String {
    if status.code() == tonic::Code::Unavailable {
        return lang
            .pick(
                "后台服务暂不可用，请稍后重试。",
                "A back-end service is unavailable; try again shortly.",
            )
            .to_owned();
    }
    let (fields, preconditions) = tongban_access::status::details(status);
    let mut text = status.message().to_owned();
    for f in fields {
        text.push_str(&format!("；{}: {}", f.field, f.description));
    }
    for p in preconditions {
        text.push_str(&format!("；{}", p.description));
    }
    text
}

async fn home(State(state): State<Shared>, headers: HeaderMap) -> Redirect {
    let session = cookie(&headers, COOKIE).and_then(|id| state.sessions.get(id));
    Redirect::to(match session.map(|s| s.role) {
        Some(Role::Clerk) => "/window",
        Some(Role::Reviewer | Role::OfficeHead) => "/office",
        Some(Role::Hotline) => "/hotline",
        Some(Role::Supervisor) => "/supervisor",
        _ => "/public/guide",
    })
}

#[derive(Debug, Deserialize)]
struct PrefsQuery {
    lang: Option<String>,
    large: Option<String>,
    next: Option<String>,
}

/// Sets the language or text-size cookie and goes back.
async fn prefs(Query(q): Query<PrefsQuery>) -> Response {
    let mut response = Redirect::to(local_path(q.next.as_deref())).into_response();
    let year = 365 * 24 * 3600;
    if let Some(lang) = q.lang {
        let tag = Lang::from_tag(&lang).tag();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "lang={tag}; Path=/; Max-Age={year}; SameSite=Strict"
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    if let Some(large) = q.large {
        let on = if large == "1" { "1" } else { "0" };
        if let Ok(v) = HeaderValue::from_str(&format!(
            "large={on}; Path=/; Max-Age={year}; SameSite=Strict"
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    next: String,
    user: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(prefs: Prefs, Query(q): Query<NextQuery>) -> Response {
    render(&LoginPage {
        page: Page::new(prefs, "/login", ("工作人员登录", "Staff sign-in"), None),
        next: local_path(q.next.as_deref()).to_owned(),
        user: String::new(),
        error: None,
    })
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    next: Option<String>,
}

async fn login(State(state): State<Shared>, prefs: Prefs, Form(form): Form<LoginForm>) -> Response {
    let lang = prefs.lang;
    let user = form.user.trim().to_owned();
    let now = chrono::Utc::now();
    let outcome = match state.sessions.lock(&user, now) {
        Verdict::Locked { until } => Err(SignInError::Locked(until)),
        Verdict::Allowed { .. } => {
            // Argon2 is deliberately slow: off the async workers.
            let checked = {
                let state = state.clone();
                let user = user.clone();
                let password = form.password.clone();
                tokio::task::spawn_blocking(move || state.staff.verify(&user, &password).cloned())
                    .await
                    .ok()
                    .flatten()
            };
            match checked {
                Some(account) => {
                    state
                        .sessions
                        .open(&account, &state.keys, state.config.session_ttl)
                }
                None => {
                    state.sessions.record_failure(&user, now);
                    Err(SignInError::Wrong)
                }
            }
        }
    };
    match outcome {
        Ok(id) => {
            tracing::info!(user = %user, "signed in");
            let secure = if state.config.secure_cookie {
                "; Secure"
            } else {
                ""
            };
            let ttl = state.config.session_ttl.as_secs();
            let mut response = Redirect::to(match local_path(form.next.as_deref()) {
                "/" | "/login" => "/",
                p => p,
            })
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{COOKIE}={id}; Path=/; Max-Age={ttl}; HttpOnly; SameSite=Strict{secure}"
            )) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(err) => {
            tracing::warn!(user = %user, reason = %err, "sign-in refused");
            let (status, message) = match err {
                SignInError::Locked(until) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    match lang {
                        Lang::Zh => format!(
                            "密码错误次数过多，账号已锁定至 {}。",
                            until.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M")
                        ),
                        Lang::En => format!(
                            "Too many wrong passwords: the account is locked until {} (Beijing time).",
                            until.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M")
                        ),
                    },
                ),
                SignInError::Wrong => (
                    StatusCode::UNAUTHORIZED,
                    lang.pick("用户名或密码错误。", "Wrong user name or password.")
                        .to_owned(),
                ),
                SignInError::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    lang.pick(
                        "暂时无法登录，请稍后重试。",
                        "Cannot sign in now; try again shortly.",
                    )
                    .to_owned(),
                ),
            };
            (
                status,
                render(&LoginPage {
                    page: Page::new(prefs, "/login", ("工作人员登录", "Staff sign-in"), None),
                    next: local_path(form.next.as_deref()).to_owned(),
                    user,
                    error: Some(message),
                }),
            )
                .into_response()
        }
    }
}

async fn logout(State(state): State<Shared>, signed: Signed) -> Response {
    state.sessions.close(&signed.id);
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("tongban_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
    );
    response
}

/// Asia/Shanghai (UTC+8, no daylight saving).
#[must_use]
pub fn shanghai() -> chrono::FixedOffset {
    // 8 hours is within ±24 h: the offset always exists.
    chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc))
}

/// A protobuf timestamp as Beijing time (`2026-11-02 09:00`), empty when absent. Midnight is
/// written as the end of the day before (`2026-12-10 24:00`), as due moments are stated.
#[must_use]
pub fn when(ts: Option<&prost_types::Timestamp>) -> String {
    tongban_access::convert::datetime(ts)
        .map(|t| {
            let local = t.with_timezone(&shanghai());
            let midnight = local.time() == chrono::NaiveTime::MIN;
            match local.date_naive().pred_opt() {
                Some(day) if midnight => format!("{} 24:00", day.format("%Y-%m-%d")),
                _ => local.format("%Y-%m-%d %H:%M").to_string(),
            }
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_match_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!same_origin(&h), "neither Origin nor Sec-Fetch-Site");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h));
    }

    #[test]
    fn midnight_is_the_end_of_the_day_before() {
        let at = |seconds| when(Some(&prost_types::Timestamp { seconds, nanos: 0 }));
        // 2026-12-10T16:00:00Z is 2026-12-11 00:00 in Beijing.
        assert_eq!(at(1_796_918_400), "2026-12-10 24:00");
        assert_eq!(at(1_796_918_400 + 3600), "2026-12-11 01:00");
        assert_eq!(when(None), "");
    }

    #[test]
    fn next_stays_local() {
        assert_eq!(local_path(Some("//evil.example/x")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(Some("/window")), "/window");
        assert_eq!(encode("/a b?x=1"), "/a%20b%3Fx%3D1");
    }
}
