//! 一窗受理: the window clerk's screens — the catalog and a matter's 五统一 guide, the application
//! form with its live ID check and route preview, the 受理通知书 after submission, the
//! 一次性告知书 when something is missing, and the window's case list.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use tongban_access::auth::Role;
use tongban_access::status::details;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::validate::IdNumber;
use tongban_proto::catalog::v1::{
    ComputeDueDateRequest, GetMatterRequest, ListMattersRequest, Matter, ResolveRouteRequest,
};
use tongban_proto::common::v1::CaseStatus;
use tongban_proto::common::v1::{Applicant, Delivery, MaterialForm, PresentedMaterial};
use tongban_proto::intake::v1::{
    Case, GetCaseRequest, ListCasesRequest, SubmitCaseRequest, SupplementCaseRequest,
    WithdrawCaseRequest,
};

use crate::labels;
use crate::web::{Page, Shared, Signed, render, rpc_error, rpc_message, when};

/// The window's routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/window", get(cases))
        .route("/window/catalog", get(catalog))
        .route("/window/matters/{code}", get(guide))
        .route("/window/matters/{code}/apply", get(apply_form).post(apply))
        .route("/window/check-id", post(check_id))
        .route("/window/cases/{id}", get(receipt))
        .route("/window/cases/{id}/supplement", post(hand_in))
        .route("/window/cases/{id}/withdraw", post(withdraw))
}

/// One row of a case list.
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// Case id.
    pub id: String,
    /// 办件编号.
    pub number: String,
    /// 事项名称.
    pub matter: String,
    /// Masked applicant name.
    pub applicant: String,
    /// Status label.
    pub status: String,
    /// Working days left (empty when not running).
    pub days_left: String,
    /// Due moment.
    pub due: String,
}

impl CaseRow {
    fn of(case: &Case, lang: Lang) -> Self {
        let running = case.due_at.is_some();
        CaseRow {
            id: case.case_id.clone(),
            number: case.case_number.clone(),
            matter: case.matter_name.clone(),
            applicant: case
                .applicant
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            status: labels::status(case.status, lang),
            days_left: if running {
                case.remaining_working_days.to_string()
            } else {
                String::new()
            },
            due: when(case.due_at.as_ref()),
        }
    }
}

#[derive(Template)]
#[template(path = "window_cases.html")]
struct CasesPage {
    page: Page,
    rows: Vec<CaseRow>,
}

async fn cases(State(state): State<Shared>, signed: Signed) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let page = signed.page(("本窗口办件", "Cases of this window"));
    let lang = signed.prefs.lang;
    let listed = state
        .backend
        .intake(&signed.session.token, lang)
        .list_cases(ListCasesRequest {
            window_office_id: String::new(),
            limit: 200,
        })
        .await;
    match listed {
        Ok(r) => {
            let rows = r
                .into_inner()
                .cases
                .iter()
                .map(|c| CaseRow::of(c, lang))
                .collect();
            render(&CasesPage { page, rows })
        }
        Err(status) => rpc_error(&page, &status),
    }
}

/// One matter of the catalog list.
#[derive(Debug, Clone)]
pub struct MatterRow {
    /// 事项编码.
    pub code: String,
    /// 事项名称.
    pub name: String,
    /// 部门.
    pub department: String,
    /// 承诺时限.
    pub promised: u32,
    /// Scopes allowed.
    pub scopes: String,
}

/// The catalog as rows, for the window and the public guide.
pub fn matter_rows(matters: &[Matter], lang: Lang) -> Vec<MatterRow> {
    matters
        .iter()
        .map(|m| MatterRow {
            code: m.code.clone(),
            name: m.name.clone(),
            department: m.department_name.clone(),
            promised: m.promised_limit_days,
            scopes: m
                .scopes
                .iter()
                .map(|s| labels::scope(*s, lang))
                .collect::<Vec<_>>()
                .join("、"),
        })
        .collect()
}

/// The catalog page (window and public).
#[derive(Template)]
#[template(path = "catalog.html")]
pub struct CatalogPage {
    /// Chrome.
    pub page: Page,
    /// Where a matter's guide lives (`/window/matters` or `/public/guide`).
    pub base: &'static str,
    /// Matters.
    pub rows: Vec<MatterRow>,
}

async fn catalog(State(state): State<Shared>, signed: Signed) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let page = signed.page(("事项目录", "Catalog"));
    match state
        .backend
        .catalog(&signed.session.token, signed.prefs.lang)
        .list_matters(ListMattersRequest::default())
        .await
    {
        Ok(r) => render(&CatalogPage {
            rows: matter_rows(&r.into_inner().matters, page.lang),
            page,
            base: "/window/matters",
        }),
        Err(status) => rpc_error(&page, &status),
    }
}

/// A material of a matter as the pages show it.
#[derive(Debug, Clone)]
pub struct MaterialRow {
    /// 材料编码.
    pub code: String,
    /// 材料名称.
    pub name: String,
    /// Required.
    pub required: bool,
    /// A paper original is required (异地代收代办).
    pub paper: bool,
    /// Certificate types that replace it.
    pub certificates: String,
    /// Notes.
    pub notes: String,
}

/// A matter's 五统一 guide (window and public).
#[derive(Debug, Clone)]
pub struct Guide {
    /// 事项编码.
    pub code: String,
    /// 事项名称.
    pub name: String,
    /// 实施部门.
    pub department: String,
    /// 版本 and 生效日期.
    pub version: String,
    /// 通办范围.
    pub scopes: String,
    /// 办理模式.
    pub modes: String,
    /// 申请条件.
    pub conditions: String,
    /// 材料清单.
    pub materials: Vec<MaterialRow>,
    /// 审查要点 (question, required).
    pub review_points: Vec<(String, bool)>,
    /// 审批流程 (stage name, working days).
    pub stages: Vec<(String, u32)>,
    /// 法定时限.
    pub legal: u32,
    /// 承诺时限.
    pub promised: u32,
    /// 收费标准.
    pub fee: String,
    /// 发证方式.
    pub delivery: String,
    /// 设定依据.
    pub legal_basis: String,
}

impl Guide {
    /// The guide of `m` in `lang`.
    #[must_use]
    pub fn of(m: &Matter, lang: Lang) -> Self {
        let join = |items: Vec<String>| items.join("、");
        Guide {
            code: m.code.clone(),
            name: m.name.clone(),
            department: m.department_name.clone(),
            version: format!("{}（{}）", m.version, m.valid_from),
            scopes: join(m.scopes.iter().map(|s| labels::scope(*s, lang)).collect()),
            modes: join(m.modes.iter().map(|s| labels::mode(*s, lang)).collect()),
            conditions: m.conditions.clone(),
            materials: m
                .materials
                .iter()
                .map(|x| MaterialRow {
                    code: x.code.clone(),
                    name: x.name.clone(),
                    required: x.required,
                    paper: x.paper_original_required,
                    certificates: x.accepted_certificate_types.join("、"),
                    notes: x.notes.clone(),
                })
                .collect(),
            review_points: m
                .review_points
                .iter()
                .map(|p| (p.question.clone(), p.required))
                .collect(),
            stages: m
                .stages
                .iter()
                .map(|s| (s.name.clone(), s.working_days))
                .collect(),
            legal: m.legal_limit_days,
            promised: m.promised_limit_days,
            fee: labels::fee(m.fee_fen, lang),
            delivery: join(
                m.delivery_methods
                    .iter()
                    .map(|d| labels::delivery(*d, lang))
                    .collect(),
            ),
            legal_basis: m.legal_basis.clone(),
        }
    }
}

/// The guide page (window and public).
#[derive(Template)]
#[template(path = "guide.html")]
pub struct GuidePage {
    /// Chrome.
    pub page: Page,
    /// The guide.
    pub guide: Guide,
    /// Link to the application form (window only).
    pub apply: Option<String>,
    /// The 一次性告知清单 text for a locality (public page), if asked.
    pub notice: Option<String>,
    /// The locality asked for (public page).
    pub home_division: String,
    /// The public guide's own path (for the locality form).
    pub action: String,
}

async fn guide(State(state): State<Shared>, signed: Signed, Path(code): Path<String>) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let page = signed.page(("办事指南", "Service guide"));
    match get_matter(&state, &signed.session.token, page.lang, &code).await {
        Ok(m) => render(&GuidePage {
            guide: Guide::of(&m, page.lang),
            apply: Some(format!("/window/matters/{}/apply", m.code)),
            notice: None,
            home_division: String::new(),
            action: String::new(),
            page,
        }),
        Err(status) => rpc_error(&page, &status),
    }
}

async fn get_matter(
    state: &Shared,
    token: &str,
    lang: Lang,
    code: &str,
) -> Result<Matter, tonic::Status> {
    state
        .backend
        .catalog(token, lang)
        .get_matter(GetMatterRequest {
            code: code.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// What the clerk typed, kept to fill the form again.
#[derive(Debug, Clone, Default)]
pub struct Typed {
    /// Idempotency key of this form.
    pub key: String,
    /// 姓名.
    pub name: String,
    /// 身份证号.
    pub id_number: String,
    /// 手机号.
    pub phone: String,
    /// 户籍/所在地区划.
    pub home_division: String,
    /// 迁入/转入地 (多地联办).
    pub destination_division: String,
    /// Mode wire value.
    pub mode: i32,
    /// Delivery wire value.
    pub delivery: i32,
    /// Postal address.
    pub address: String,
    /// Ticked materials.
    pub ticked: BTreeMap<String, bool>,
    /// Pages per material.
    pub pages: BTreeMap<String, String>,
    /// E-certificate token per material.
    pub certs: BTreeMap<String, String>,
}

impl Typed {
    fn parse(fields: Vec<(String, String)>) -> (Self, String) {
        let mut t = Typed::default();
        let mut action = String::new();
        for (k, v) in fields {
            match k.as_str() {
                "key" => t.key = v,
                "name" => t.name = v.trim().to_owned(),
                "id_number" => t.id_number = v.trim().to_owned(),
                "phone" => t.phone = v.trim().to_owned(),
                "home_division" => t.home_division = v.trim().to_owned(),
                "destination_division" => t.destination_division = v.trim().to_owned(),
                "mode" => t.mode = v.parse().unwrap_or_default(),
                "delivery" => t.delivery = v.parse().unwrap_or_default(),
                "address" => t.address = v.trim().to_owned(),
                "action" => action = v,
                other => {
                    if let Some(code) = other.strip_prefix("m_") {
                        t.ticked.insert(code.to_owned(), true);
                    } else if let Some(code) = other.strip_prefix("pages_") {
                        t.pages.insert(code.to_owned(), v.trim().to_owned());
                    } else if let Some(code) = other.strip_prefix("cert_") {
                        t.certs.insert(code.to_owned(), v.trim().to_owned());
                    }
                }
            }
        }
        (t, action)
    }

    /// The materials as presented: an e-certificate where a token was given (两个免提交),
    /// otherwise the paper received at the window for every ticked item.
    fn presented(&self) -> Vec<PresentedMaterial> {
        let mut out = Vec::new();
        let codes: std::collections::BTreeSet<&String> =
            self.ticked.keys().chain(self.certs.keys()).collect();
        for code in codes {
            let token = self.certs.get(code).map(String::as_str).unwrap_or_default();
            if !token.is_empty() {
                out.push(PresentedMaterial {
                    material_code: code.clone(),
                    form: MaterialForm::Certificate.into(),
                    certificate_token: token.to_owned(),
                    ..Default::default()
                });
            } else if self.ticked.get(code).copied().unwrap_or_default() {
                let pages = self
                    .pages
                    .get(code)
                    .and_then(|p| p.parse::<u32>().ok())
                    .filter(|p| *p > 0)
                    .unwrap_or(1);
                out.push(PresentedMaterial {
                    material_code: code.clone(),
                    form: MaterialForm::Paper.into(),
                    pages,
                    ..Default::default()
                });
            }
        }
        out
    }

    /// Ticked or not, for the template.
    #[must_use]
    pub fn is_ticked(&self, code: &str) -> bool {
        self.ticked.get(code).copied().unwrap_or_default()
    }

    /// Pages typed for `code` (default 1).
    #[must_use]
    pub fn pages_of(&self, code: &str) -> String {
        self.pages
            .get(code)
            .cloned()
            .unwrap_or_else(|| "1".to_owned())
    }

    /// Certificate token typed for `code`.
    #[must_use]
    pub fn cert_of(&self, code: &str) -> String {
        self.certs.get(code).cloned().unwrap_or_default()
    }
}

/// The route the case would take (路由预览).
#[derive(Debug, Clone)]
pub struct Preview {
    /// 通办范围.
    pub scope: String,
    /// 属地办理部门.
    pub office: String,
    /// 合作协议 (区域通办), empty otherwise.
    pub agreement: String,
    /// 承诺时限, working days.
    pub promised: u32,
    /// When the case would be due if accepted now.
    pub due: String,
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    page: Page,
    guide: Guide,
    modes: Vec<(i32, String)>,
    deliveries: Vec<(i32, String)>,
    typed: Typed,
    errors: BTreeMap<String, String>,
    message: Option<String>,
    preview: Option<Preview>,
}

impl ApplyPage {
    /// The error for form field `field`, empty when none.
    fn error(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

fn choices(values: &[i32], label: impl Fn(i32) -> String) -> Vec<(i32, String)> {
    values.iter().map(|v| (*v, label(*v))).collect()
}

async fn apply_form(
    State(state): State<Shared>,
    signed: Signed,
    Path(code): Path<String>,
) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let page = signed.page(("受理登记", "Register an application"));
    let lang = page.lang;
    let matter = match get_matter(&state, &signed.session.token, lang, &code).await {
        Ok(m) => m,
        Err(status) => return rpc_error(&page, &status),
    };
    let typed = Typed {
        key: crate::session::random_id().unwrap_or_default(),
        mode: matter.modes.first().copied().unwrap_or_default(),
        delivery: matter.delivery_methods.first().copied().unwrap_or_default(),
        ..Typed::default()
    };
    render(&ApplyPage {
        modes: choices(&matter.modes, |v| labels::mode(v, lang)),
        deliveries: choices(&matter.delivery_methods, |v| labels::delivery(v, lang)),
        guide: Guide::of(&matter, lang),
        page,
        typed,
        errors: BTreeMap::new(),
        message: None,
        preview: None,
    })
}

/// Form field of an intake field violation (`applicant.id_number` → `id_number`).
fn form_field(field: &str) -> String {
    field
        .strip_prefix("applicant.")
        .unwrap_or(field)
        .split(['.', '['])
        .next()
        .unwrap_or(field)
        .to_owned()
}

async fn apply(
    State(state): State<Shared>,
    signed: Signed,
    Path(code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let page = signed.page(("受理登记", "Register an application"));
    let lang = page.lang;
    let token = signed.session.token.clone();
    let matter = match get_matter(&state, &token, lang, &code).await {
        Ok(m) => m,
        Err(status) => return rpc_error(&page, &status),
    };
    let (typed, action) = Typed::parse(fields);
    let mut errors = BTreeMap::new();
    let mut message = None;
    let mut preview = None;

    if action == "submit" {
        let request = SubmitCaseRequest {
            idempotency_key: typed.key.clone(),
            window_office_id: signed.session.office.clone(),
            matter_code: matter.code.clone(),
            mode: typed.mode,
            applicant: Some(Applicant {
                name: typed.name.clone(),
                id_number: typed.id_number.clone(),
                phone: typed.phone.clone(),
            }),
            home_division: typed.home_division.clone(),
            materials: typed.presented(),
            delivery: Some(Delivery {
                method: typed.delivery,
                address: typed.address.clone(),
            }),
            destination_division: typed.destination_division.clone(),
        };
        match state
            .backend
            .intake(&token, lang)
            .submit_case(request)
            .await
        {
            Ok(accepted) => {
                let accepted = accepted.into_inner();
                tracing::info!(case_number = %accepted.case_number, "case submitted from the console");
                return Redirect::to(&format!("/window/cases/{}?print=1", accepted.case_id))
                    .into_response();
            }
            Err(status) if status.code() == tonic::Code::InvalidArgument => {
                let (violations, _) = details(&status);
                for v in violations {
                    errors.entry(form_field(&v.field)).or_insert(v.description);
                }
                message = Some(status.message().to_owned());
            }
            Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                let (_, refusals) = details(&status);
                if refusals
                    .iter()
                    .any(|r| r.kind.starts_with("MATERIAL") || r.kind.starts_with("CERTIFICATE"))
                {
                    return missing_notice(&state, &signed, &matter, &typed, &refusals);
                }
                if let Some(route) = refusals.iter().find(|r| r.kind == "ROUTE_REFUSED") {
                    return refusal_notice(&state, &signed, &matter, &typed, &route.description);
                }
                message = Some(rpc_message(lang, &status));
            }
            Err(status) => message = Some(rpc_message(lang, &status)),
        }
    } else {
        // 路由预览: where the case would go, under which scope and limit.
        let route = state
            .backend
            .catalog(&token, lang)
            .resolve_route(ResolveRouteRequest {
                matter_code: matter.code.clone(),
                window_office_id: signed.session.office.clone(),
                home_division: typed.home_division.clone(),
                destination_division: typed.destination_division.clone(),
                ..Default::default()
            })
            .await;
        match route {
            Ok(route) => {
                let route = route.into_inner();
                let due = state
                    .backend
                    .catalog(&token, lang)
                    .compute_due_date(ComputeDueDateRequest {
                        start_time: Some(tongban_access::convert::timestamp(chrono::Utc::now())),
                        working_days: matter.promised_limit_days,
                    })
                    .await
                    .map(|r| when(r.into_inner().due_time.as_ref()))
                    .unwrap_or_default();
                preview = Some(Preview {
                    scope: labels::scope(route.scope, lang),
                    office: route.responsible_office.as_ref().map_or_else(
                        || state.office_name(&route.responsible_office_id),
                        |o| o.name.clone(),
                    ),
                    agreement: route.agreement_id,
                    promised: matter.promised_limit_days,
                    due,
                });
            }
            Err(status) => {
                if status.code() == tonic::Code::InvalidArgument {
                    for v in details(&status).0 {
                        errors.entry(form_field(&v.field)).or_insert(v.description);
                    }
                }
                message = Some(rpc_message(lang, &status));
            }
        }
    }
    let status = if message.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        render(&ApplyPage {
            modes: choices(&matter.modes, |v| labels::mode(v, lang)),
            deliveries: choices(&matter.delivery_methods, |v| labels::delivery(v, lang)),
            guide: Guide::of(&matter, lang),
            page,
            typed,
            errors,
            message,
            preview,
        }),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "notice_missing.html")]
struct MissingPage {
    page: Page,
    matter: String,
    office: String,
    applicant: String,
    date: String,
    items: Vec<(String, String)>,
    back: String,
}

/// 一次性告知书: every missing or refused material at once, printable.
fn missing_notice(
    state: &Shared,
    signed: &Signed,
    matter: &Matter,
    typed: &Typed,
    refusals: &[tongban_access::status::PreconditionViolation],
) -> Response {
    let page = signed.page(("一次性告知书", "One-time notice of missing items"));
    let names: BTreeMap<&str, &str> = matter
        .materials
        .iter()
        .map(|m| (m.code.as_str(), m.name.as_str()))
        .collect();
    let items = refusals
        .iter()
        .map(|r| {
            let name = names.get(r.subject.as_str()).copied().unwrap_or(&r.subject);
            (name.to_owned(), r.description.clone())
        })
        .collect();
    let applicant = tongban_domain::validate::PersonName::parse(&typed.name)
        .map(|n| n.masked())
        .unwrap_or_default();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&MissingPage {
            matter: matter.name.clone(),
            office: state.office_name(&signed.session.office),
            applicant,
            date: chrono::Utc::now()
                .with_timezone(&crate::web::shanghai())
                .format("%Y-%m-%d")
                .to_string(),
            items,
            back: format!("/window/matters/{}/apply", matter.code),
            page,
        }),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "notice_refused.html")]
struct RefusedPage {
    page: Page,
    matter: String,
    office: String,
    applicant: String,
    date: String,
    reason: String,
    back: String,
}

/// 不予受理通知书: the case cannot be taken at this window (no office or agreement serves the
/// applicant's locality for this matter), with the reason and the applicant's rights.
fn refusal_notice(
    state: &Shared,
    signed: &Signed,
    matter: &Matter,
    typed: &Typed,
    reason: &str,
) -> Response {
    let page = signed.page(("不予受理通知书", "Notice of non-acceptance"));
    let applicant = tongban_domain::validate::PersonName::parse(&typed.name)
        .map(|n| n.masked())
        .unwrap_or_default();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&RefusedPage {
            matter: matter.name.clone(),
            office: state.office_name(&signed.session.office),
            applicant,
            date: chrono::Utc::now()
                .with_timezone(&crate::web::shanghai())
                .format("%Y-%m-%d")
                .to_string(),
            reason: reason.to_owned(),
            back: format!("/window/matters/{}/apply", matter.code),
            page,
        }),
    )
        .into_response()
}

#[derive(Debug, serde::Deserialize)]
struct IdForm {
    id_number: String,
}

/// The live ID check (htmx): whether the number typed so far is a valid 身份证号; the number
/// itself is never echoed back.
async fn check_id(
    State(state): State<Shared>,
    signed: Signed,
    Form(form): Form<IdForm>,
) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let lang = signed.prefs.lang;
    let raw = form.id_number.trim();
    let today = chrono::Utc::now()
        .with_timezone(&crate::web::shanghai())
        .date_naive();
    let html = if raw.is_empty() {
        String::new()
    } else {
        match IdNumber::parse(raw, &state.reference.divisions, today) {
            Ok(id) => format!(
                "<span class=\"ok\">✓ {}</span>",
                escape(&match lang {
                    Lang::Zh => format!("身份证号有效（出生日期 {}）", id.birth_date()),
                    Lang::En => format!("valid ID number (born {})", id.birth_date()),
                })
            ),
            Err(err) => format!("<span class=\"bad\">✗ {}</span>", escape(&err.text(lang))),
        }
    };
    Html(html).into_response()
}

/// HTML-escapes `text`.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    page: Page,
    number: String,
    matter: String,
    applicant: String,
    status: String,
    scope: String,
    mode: String,
    window: String,
    office: String,
    accepted: String,
    due: String,
    promised: u32,
    days_left: String,
    materials: Vec<(String, String, u32)>,
    decision: String,
    decision_reason: String,
    timeline: Vec<(String, String)>,
    id: String,
    /// 补正: the items asked for (code, name) and the reviewer's reason, while open.
    supplement: Vec<(String, String)>,
    supplement_reason: String,
    /// Whether the applicant may still withdraw.
    can_withdraw: bool,
    message: Option<String>,
}

/// A case of this window with its printable 受理通知书 (materials received, limit, how to
/// follow the case).
async fn receipt(State(state): State<Shared>, signed: Signed, Path(id): Path<String>) -> Response {
    show_receipt(&state, &signed, id, None).await
}

async fn show_receipt(
    state: &Shared,
    signed: &Signed,
    id: String,
    message: Option<String>,
) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let page = signed.page(("受理通知书", "Acceptance notice"));
    let lang = page.lang;
    let token = &signed.session.token;
    let case = match state
        .backend
        .intake(token, lang)
        .get_case(GetCaseRequest {
            case_id: id,
            case_number: String::new(),
        })
        .await
    {
        Ok(c) => c.into_inner(),
        Err(status) => return rpc_error(&page, &status),
    };
    let matter = get_matter(state, token, lang, &case.matter_code).await.ok();
    let status = CaseStatus::try_from(case.status).unwrap_or(CaseStatus::Unspecified);
    let name_of = |code: &str| {
        matter
            .as_ref()
            .and_then(|m| m.materials.iter().find(|x| x.code == code))
            .map_or_else(|| code.to_owned(), |x| x.name.clone())
    };
    render(&ReceiptPage {
        number: case.case_number.clone(),
        matter: case.matter_name.clone(),
        applicant: case
            .applicant
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        status: labels::status(case.status, lang),
        scope: labels::scope(case.scope, lang),
        mode: labels::mode(case.mode, lang),
        window: state.office_name(&case.window_office_id),
        office: state.office_name(&case.responsible_office_id),
        accepted: when(case.accepted_at.as_ref()),
        due: when(case.due_at.as_ref()),
        promised: matter.as_ref().map_or(0, |m| m.promised_limit_days),
        days_left: if case.due_at.is_some() {
            case.remaining_working_days.to_string()
        } else {
            String::new()
        },
        materials: case
            .materials
            .iter()
            .map(|m| {
                (
                    name_of(&m.material_code),
                    labels::form(m.form, lang),
                    m.pages,
                )
            })
            .collect(),
        decision: labels::decision(case.decision, lang),
        decision_reason: case.decision_reason.clone(),
        timeline: case
            .timeline
            .iter()
            .map(|t| (when(t.at.as_ref()), t.description.clone()))
            .collect(),
        id: case.case_id.clone(),
        supplement: if status == CaseStatus::SupplementRequested {
            case.supplement_items
                .iter()
                .map(|code| (code.clone(), name_of(code)))
                .collect()
        } else {
            Vec::new()
        },
        supplement_reason: case.supplement_reason.clone(),
        can_withdraw: !matches!(
            status,
            CaseStatus::Approved
                | CaseStatus::Denied
                | CaseStatus::Completed
                | CaseStatus::Withdrawn
        ),
        message,
        page,
    })
}

/// After a 补正 hand-in or a withdrawal: the case page, with the refusal when there is one.
async fn after(
    state: &Shared,
    signed: &Signed,
    id: String,
    outcome: Result<tonic::Response<Case>, tonic::Status>,
) -> Response {
    match outcome {
        Ok(_) => Redirect::to(&format!("/window/cases/{id}")).into_response(),
        Err(status) => {
            let message = rpc_message(signed.prefs.lang, &status);
            let mut response = show_receipt(state, signed, id, Some(message)).await;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
        }
    }
}

/// 补正: the window hands in the items asked for (paper received, or an e-certificate).
async fn hand_in(
    State(state): State<Shared>,
    signed: Signed,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let note = fields
        .iter()
        .find(|(k, _)| k == "note")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let (typed, _) = Typed::parse(fields);
    let outcome = state
        .backend
        .intake(&signed.session.token, signed.prefs.lang)
        .supplement_case(SupplementCaseRequest {
            case_id: id.clone(),
            materials: typed.presented(),
            note,
        })
        .await;
    after(&state, &signed, id, outcome).await
}

#[derive(Debug, serde::Deserialize)]
struct WithdrawForm {
    reason: String,
}

/// 撤回: the applicant withdraws the case at the window, with a reason.
async fn withdraw(
    State(state): State<Shared>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Clerk]) {
        return denied;
    }
    let outcome = state
        .backend
        .intake(&signed.session.token, signed.prefs.lang)
        .withdraw_case(WithdrawCaseRequest {
            case_id: id.clone(),
            reason: form.reason.trim().to_owned(),
        })
        .await;
    after(&state, &signed, id, outcome).await
}
