//! 督办统计: the supervisor's dashboard — on-time rate, average and p90 working days, open and
//! overdue cases grouped by office, matter, scope, mode or month, from SupervisionService's
//! GetStatistics. The chart is SVG drawn on the server, and the same numbers are in a table.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tongban_access::auth::Role;
use tongban_proto::supervision::v1::{GetStatisticsRequest, StatisticsRow};

use crate::web::{Page, Shared, Signed, render, rpc_error};

/// The dashboard's routes.
pub fn routes() -> Router<Shared> {
    Router::new().route("/supervisor", get(dashboard))
}

/// The groupings GetStatistics knows, with their names.
const GROUPS: [(&str, &str, &str); 5] = [
    ("office", "按部门", "By office"),
    ("matter", "按事项", "By matter"),
    ("scope", "按通办范围", "By scope"),
    ("mode", "按办理模式", "By mode"),
    ("month", "按月份", "By month"),
];

/// Width of the chart's label column and of a full bar, in SVG units.
const LABEL_WIDTH: u32 = 240;
const BAR_WIDTH: u32 = 400;
const ROW_HEIGHT: u32 = 28;

/// One group's numbers as the table and the chart show them.
#[derive(Debug, Clone)]
pub struct Row {
    /// The group's name (an office's name for offices).
    pub label: String,
    /// Cases.
    pub total: u64,
    /// Completed.
    pub completed: u64,
    /// Completed on time.
    pub on_time: u64,
    /// On-time rate, percent with one decimal.
    pub rate: String,
    /// Average working days.
    pub average: String,
    /// p90 working days.
    pub p90: String,
    /// Still open.
    pub open: u64,
    /// Overdue.
    pub overdue: u64,
    /// Bar: top edge.
    pub y: u32,
    /// Bar: length.
    pub width: u32,
    /// Text baseline.
    pub text_y: u32,
    /// Where the value is written.
    pub value_x: u32,
}

impl Row {
    fn of(index: u32, row: &StatisticsRow, label: String) -> Self {
        let rate = row.on_time_rate.clamp(0.0, 1.0);
        // 0 ≤ rate ≤ 1: the product fits in u32.
        let width = (rate * f64::from(BAR_WIDTH)).round() as u32;
        let y = index * ROW_HEIGHT + 8;
        Row {
            label,
            total: row.total,
            completed: row.completed,
            on_time: row.on_time,
            rate: format!("{:.1}%", rate * 100.0),
            average: format!("{:.1}", row.average_working_days),
            p90: format!("{:.1}", row.p90_working_days),
            open: row.open,
            overdue: row.overdue,
            y,
            width,
            text_y: y + 16,
            value_x: LABEL_WIDTH + width + 6,
        }
    }
}

#[derive(Template)]
#[template(path = "supervisor.html")]
struct DashboardPage {
    page: Page,
    groups: Vec<(&'static str, &'static str, bool)>,
    rows: Vec<Row>,
    height: u32,
    width: u32,
    bar_x: u32,
}

#[derive(Debug, Deserialize)]
struct GroupQuery {
    group_by: Option<String>,
}

async fn dashboard(
    State(state): State<Shared>,
    signed: Signed,
    Query(q): Query<GroupQuery>,
) -> Response {
    if let Some(denied) = signed.refuse(&[Role::Supervisor, Role::Admin]) {
        return denied;
    }
    let page = signed.page(("督办统计", "Supervision dashboard"));
    let lang = page.lang;
    let group = q
        .group_by
        .filter(|g| GROUPS.iter().any(|(key, _, _)| key == g))
        .unwrap_or_else(|| "office".to_owned());
    let stats = match state
        .backend
        .supervision(&signed.session.token, lang)
        .get_statistics(GetStatisticsRequest {
            group_by: group.clone(),
            ..Default::default()
        })
        .await
    {
        Ok(s) => s.into_inner(),
        Err(status) => return rpc_error(&page, &status),
    };
    let rows: Vec<Row> = stats
        .rows
        .iter()
        .zip(0_u32..)
        .map(|(row, i)| {
            let label = if group == "office" {
                state.office_name(&row.key)
            } else {
                row.key.clone()
            };
            Row::of(i, row, label)
        })
        .collect();
    let count = u32::try_from(rows.len()).unwrap_or(u32::MAX / ROW_HEIGHT);
    render(&DashboardPage {
        groups: GROUPS
            .iter()
            .map(|(key, zh, en)| (*key, lang.pick(zh, en), *key == group))
            .collect(),
        height: count.saturating_mul(ROW_HEIGHT) + 16,
        width: LABEL_WIDTH + BAR_WIDTH + 80,
        bar_x: LABEL_WIDTH,
        rows,
        page,
    })
}
