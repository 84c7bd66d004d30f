//! Plain-language timeline lines for a case's history, as a window clerk or a hotline operator
//! reads them to the applicant.

use crate::case::{CaseEvent, Decision};

/// One line of a case's history in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineText {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

/// What the timeline needs to know to describe an event.
#[derive(Debug, Clone, Copy)]
pub struct TimelineContext<'a> {
    /// Name of the office that acted (window for intake steps, responsible office for review).
    pub office_name: &'a str,
    /// Items of a 补正 request, or the reason of a withdrawal or denial.
    pub detail: &'a str,
}

/// The line for `event`.
#[must_use]
pub fn describe(event: CaseEvent, ctx: TimelineContext<'_>) -> TimelineText {
    let office = ctx.office_name;
    let detail = ctx.detail;
    let (zh, en) = match event {
        CaseEvent::Submitted => (
            format!("已在{office}提交申请"),
            format!("Application submitted at {office}"),
        ),
        CaseEvent::Accepted => (format!("{office}已受理"), format!("Accepted by {office}")),
        CaseEvent::Routed => (
            format!("已转{office}审查"),
            format!("Sent to {office} for review"),
        ),
        CaseEvent::Claimed => (
            format!("{office}已认领，正在审查"),
            format!("{office} is reviewing the case"),
        ),
        CaseEvent::SupplementRequested => (
            format!("{office}要求补正材料：{detail}（补正期间暂停计时）"),
            format!("{office} asked for more material: {detail} (the clock is stopped meanwhile)"),
        ),
        CaseEvent::Supplemented => (
            format!("已在{office}补交材料，恢复计时"),
            format!("Material handed in at {office}; the clock runs again"),
        ),
        CaseEvent::Decided(Decision::Approve) => {
            (format!("{office}准予办理"), format!("Approved by {office}"))
        }
        CaseEvent::Decided(Decision::Deny) => (
            format!("{office}不予办理：{detail}"),
            format!("Denied by {office}: {detail}"),
        ),
        CaseEvent::Completed => ("已办结".to_owned(), "Completed".to_owned()),
        CaseEvent::Withdrawn => (
            format!("申请已撤回：{detail}"),
            format!("Application withdrawn: {detail}"),
        ),
    };
    TimelineText { zh, en }
}
