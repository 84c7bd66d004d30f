//! The supervisor's (督办) views: time-limit alerts, 13710 tickets and statistics, and their
//! `--json` form.

use serde_json::{Value, json};
use tongban_proto::supervision::v1::{
    Alert, AlertKind, Statistics, SupervisionLevel, Ticket, TicketState,
};

use crate::output::{self, Lang, Table};

/// 督办层级 in `lang`; `-` when unspecified.
pub fn level_text(lang: Lang, value: i32) -> &'static str {
    match SupervisionLevel::try_from(value) {
        Ok(SupervisionLevel::County) => lang.pick_text("县级", "county"),
        Ok(SupervisionLevel::City) => lang.pick_text("市级", "city"),
        Ok(SupervisionLevel::Province) => lang.pick_text("省级", "province"),
        _ => "-",
    }
}

/// 督办单状态 in `lang`; `-` when unspecified.
pub fn state_text(lang: Lang, value: i32) -> &'static str {
    match TicketState::try_from(value) {
        Ok(TicketState::Open) => lang.pick_text("待签收", "open"),
        Ok(TicketState::Acknowledged) => lang.pick_text("已签收", "acknowledged"),
        Ok(TicketState::Reported) => lang.pick_text("已反馈", "reported"),
        Ok(TicketState::Resolved) => lang.pick_text("已办结", "resolved"),
        Ok(TicketState::Closed) => lang.pick_text("已销号", "closed"),
        _ => "-",
    }
}

/// The stage an alert is about; the whole case (整件) when it names none.
pub fn stage_text(lang: Lang, stage: &str) -> String {
    if stage.is_empty() {
        lang.pick_text("整件", "whole case").to_owned()
    } else {
        stage.to_owned()
    }
}

/// `--json` form of a time-limit alert.
pub fn alert_json(a: &Alert) -> Value {
    json!({
        "alert_id": a.alert_id, "case_id": a.case_id, "case_number": a.case_number,
        "kind": match a.kind() { AlertKind::Warning => "warning", AlertKind::Breach => "breach", AlertKind::Unspecified => "" },
        "stage": a.stage, "office_id": a.office_id,
        "due_at": output::rfc3339(a.due_at.as_ref()), "raised_at": output::rfc3339(a.raised_at.as_ref()),
        "level": a.level().as_str_name(), "scope": a.scope().as_str_name(),
    })
}

/// `--json` form of a 督办单 with its milestones.
pub fn ticket_json(t: &Ticket) -> Value {
    json!({
        "ticket_id": t.ticket_id, "case_id": t.case_id, "case_number": t.case_number,
        "office_id": t.office_id, "state": t.state().as_str_name(), "level": t.level().as_str_name(),
        "reason": t.reason, "opened_at": output::rfc3339(t.opened_at.as_ref()),
        "milestones": t.milestones.iter().map(|m| json!({
            "name": m.name, "due_at": output::rfc3339(m.due_at.as_ref()),
            "done_at": output::rfc3339(m.done_at.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

/// `--json` form of the statistics rows.
pub fn stats_json(s: &Statistics) -> Value {
    json!({ "rows": s.rows.iter().map(|r| json!({
        "key": r.key, "total": r.total, "completed": r.completed, "on_time": r.on_time,
        "on_time_rate": r.on_time_rate, "average_working_days": r.average_working_days,
        "p90_working_days": r.p90_working_days, "open": r.open, "overdue": r.overdue,
    })).collect::<Vec<_>>() })
}

/// 时限预警与超期: one line per alert.
pub fn alerts_view(lang: Lang, alerts: &[Alert]) -> String {
    if alerts.is_empty() {
        return format!(
            "{}\n",
            lang.pick_text("没有预警或超期", "no warnings or breaches")
        );
    }
    let mut table = Table::new([
        lang.pick_text("类别", "Kind"),
        lang.pick_text("办件编号", "Case number"),
        lang.pick_text("环节", "Stage"),
        lang.pick_text("单位", "Office"),
        lang.pick_text("层级", "Level"),
        lang.pick_text("时限", "Due"),
        lang.pick_text("发出时间", "Raised"),
    ]);
    for a in alerts {
        let kind = match a.kind() {
            AlertKind::Breach => lang.pick_text("超期", "breach"),
            _ => lang.pick_text("预警", "warning"),
        };
        table.row([
            kind.to_owned(),
            a.case_number.clone(),
            stage_text(lang, &a.stage),
            a.office_id.clone(),
            level_text(lang, a.level).to_owned(),
            output::time(a.due_at.as_ref()),
            output::time(a.raised_at.as_ref()),
        ]);
    }
    table.render(0)
}

/// 督办单: one line per ticket, its milestones beneath.
pub fn tickets_view(lang: Lang, tickets: &[Ticket]) -> String {
    if tickets.is_empty() {
        return format!("{}\n", lang.pick_text("没有督办单", "no tickets"));
    }
    let mut out = String::new();
    for t in tickets {
        out.push_str(&format!(
            "{}  {}  {}  {}  {}  {}\n",
            t.ticket_id,
            t.case_number,
            t.office_id,
            state_text(lang, t.state),
            level_text(lang, t.level),
            if t.reason == "complaint" {
                lang.pick_text("投诉", "complaint")
            } else if t.reason == "bad_rating" {
                lang.pick_text("差评", "bad rating")
            } else {
                lang.pick_text("超期", "breach")
            },
        ));
        let mut table = Table::new([
            lang.pick_text("节点", "Milestone"),
            lang.pick_text("时限", "Due"),
            lang.pick_text("完成", "Done"),
        ]);
        for m in &t.milestones {
            let name = match m.name.as_str() {
                "act" => lang.pick_text("签收", "act"),
                "report" => lang.pick_text("反馈", "report"),
                "settle" => lang.pick_text("办结", "settle"),
                "close" => lang.pick_text("销号", "close"),
                other => other,
            };
            table.row([
                name.to_owned(),
                output::time(m.due_at.as_ref()),
                m.done_at
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |d| output::time(Some(d))),
            ]);
        }
        out.push_str(&table.render(2));
    }
    out
}

/// 统计: one line per group.
pub fn stats_view(lang: Lang, s: &Statistics) -> String {
    if s.rows.is_empty() {
        return format!("{}\n", lang.pick_text("没有办件", "no cases"));
    }
    let mut table = Table::new([
        lang.pick_text("分组", "Group"),
        lang.pick_text("总数", "Total"),
        lang.pick_text("办结", "Completed"),
        lang.pick_text("按时", "On time"),
        lang.pick_text("按时率", "On-time rate"),
        lang.pick_text("平均工作日", "Avg days"),
        lang.pick_text("P90 工作日", "P90 days"),
        lang.pick_text("在办", "Open"),
        lang.pick_text("超期", "Overdue"),
    ]);
    for r in &s.rows {
        table.row([
            r.key.clone(),
            r.total.to_string(),
            r.completed.to_string(),
            r.on_time.to_string(),
            format!("{:.1}%", r.on_time_rate * 100.0),
            format!("{:.1}", r.average_working_days),
            format!("{:.1}", r.p90_working_days),
            r.open.to_string(),
            r.overdue.to_string(),
        ]);
    }
    table.render(0)
}
