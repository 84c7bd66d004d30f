//! How the hotline's answers read to an operator on a call (Chinese by default, `--lang en`), and
//! their `--json` form. Everything shown is already masked by the server.

use serde_json::{Value, json};
use tongban_proto::common::v1::Decision;
use tongban_proto::hotline::v1::{
    Complaint, ComplaintState, CompletionNotice, IndicatorScore, Rating, RatingLevel,
    RatingOccasion, RatingSummary, RatingTally, Rectification, RectificationState,
};

use tongban_proto::hotline::v1::CaseStatusView;

use tongban_proto::logistics::v1::WaybillPurpose;

use super::common::{
    OfficeNames, decision_line, joint_sections, named, remaining, timeline_section,
};
use crate::json::{enum_name, ts};
use crate::logistics;
use crate::output::{Fields, Label, Lang, Table, case_status, due, mode, scope, t, time};

/// 投诉状态 in `lang`.
pub fn complaint_state(lang: Lang, value: i32) -> String {
    let pair = match ComplaintState::try_from(value) {
        Ok(ComplaintState::Received) => ("受理", "received"),
        Ok(ComplaintState::Assigned) => ("转办", "assigned"),
        Ok(ComplaintState::Handling) => ("办理", "handling"),
        Ok(ComplaintState::Replied) => ("回复", "replied"),
        Ok(ComplaintState::FollowedUp) => ("回访", "followed up"),
        Ok(ComplaintState::Closed) => ("办结", "closed"),
        Ok(ComplaintState::Unspecified) | Err(_) => ("—", "—"),
    };
    lang.pick(pair).to_owned()
}

/// 评价等级 in `lang`.
pub fn level(lang: Lang, value: i32) -> String {
    let pair = match RatingLevel::try_from(value) {
        Ok(RatingLevel::VerySatisfied) => ("非常满意", "very satisfied"),
        Ok(RatingLevel::Satisfied) => ("满意", "satisfied"),
        Ok(RatingLevel::BasicallySatisfied) => ("基本满意", "basically satisfied"),
        Ok(RatingLevel::Dissatisfied) => ("不满意", "dissatisfied"),
        Ok(RatingLevel::VeryDissatisfied) => ("非常不满意", "very dissatisfied"),
        Ok(RatingLevel::Unspecified) | Err(_) => ("—", "—"),
    };
    lang.pick(pair).to_owned()
}

fn occasion(lang: Lang, value: i32) -> String {
    let pair = match RatingOccasion::try_from(value) {
        Ok(RatingOccasion::Acceptance) => ("受理时", "at acceptance"),
        Ok(RatingOccasion::Completion) => ("办结时", "at completion"),
        Ok(RatingOccasion::Unspecified) | Err(_) => ("—", "—"),
    };
    lang.pick(pair).to_owned()
}

fn rectification_state(lang: Lang, value: i32) -> String {
    let pair = match RectificationState::try_from(value) {
        Ok(RectificationState::Open) => ("待整改", "open"),
        Ok(RectificationState::Rectified) => ("已整改", "rectified"),
        Ok(RectificationState::Unspecified) | Err(_) => ("—", "—"),
    };
    lang.pick(pair).to_owned()
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// A complaint with its history.
pub fn complaint(lang: Lang, c: &Complaint) -> String {
    let mut f = Fields::new();
    f.add(lang.pick(("投诉编号", "Complaint")), &c.complaint_id)
        .add(t(lang, Label::CaseNumber), &c.case_number)
        .add_nonempty(t(lang, Label::Matter), &c.matter_name)
        .add(
            lang.pick(("承办单位", "Office")),
            named(lang, &c.office_name, &c.office_id),
        )
        .add(t(lang, Label::State), complaint_state(lang, c.state))
        .add(
            lang.pick(("来电人", "Caller")),
            format!("{}  {}", c.caller_name_masked, c.caller_phone_masked),
        )
        .add(lang.pick(("投诉内容", "Content")), &c.content)
        .add(
            lang.pick(("登记时间", "Filed at")),
            time(c.filed_at.as_ref()),
        );
    let mut out = f.render();
    if !c.history.is_empty() {
        let mut table = Table::new([
            lang.pick(("时间", "When")),
            lang.pick(("环节", "Step")),
            lang.pick(("办理人", "By")),
            lang.pick(("说明", "Note")),
        ]);
        for s in &c.history {
            table.row([
                time(s.at.as_ref()),
                complaint_state(lang, s.to_state),
                format!("{}{}", s.actor, lang.paren(&s.actor_role)),
                s.note.clone(),
            ]);
        }
        out.push('\n');
        out.push_str(lang.pick(("办理记录：", "History:")));
        out.push('\n');
        out.push_str(&table.render(2));
    }
    out
}

/// Complaints, one line each.
pub fn complaints(lang: Lang, list: &[Complaint]) -> String {
    if list.is_empty() {
        return format!("{}\n", lang.pick(("没有投诉。", "No complaints.")));
    }
    let mut table = Table::new([
        lang.pick(("登记时间", "Filed")),
        t(lang, Label::State),
        t(lang, Label::CaseNumber),
        lang.pick(("承办单位", "Office")),
        lang.pick(("投诉编号", "Complaint")),
    ]);
    for c in list {
        table.row([
            time(c.filed_at.as_ref()),
            complaint_state(lang, c.state),
            c.case_number.clone(),
            named(lang, &c.office_name, &c.office_id),
            c.complaint_id.clone(),
        ]);
    }
    table.render(0)
}

/// A complaint as JSON.
pub fn complaint_json(c: &Complaint) -> Value {
    json!({
        "complaint_id": c.complaint_id, "case_number": c.case_number, "matter_name": c.matter_name,
        "office_id": c.office_id, "office_name": c.office_name,
        "state": enum_name(c.state, ComplaintState::as_str_name),
        "caller_name_masked": c.caller_name_masked, "caller_phone_masked": c.caller_phone_masked,
        "content": c.content, "filed_at": ts(c.filed_at.as_ref()), "updated_at": ts(c.updated_at.as_ref()),
        "history": c.history.iter().map(|s| json!({
            "from_state": enum_name(s.from_state, ComplaintState::as_str_name),
            "to_state": enum_name(s.to_state, ComplaintState::as_str_name),
            "actor": s.actor, "actor_role": s.actor_role, "actor_office_id": s.actor_office_id,
            "note": s.note, "at": ts(s.at.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

fn scores_line(scores: &[IndicatorScore]) -> String {
    scores
        .iter()
        .map(|s| format!("{}={}", s.indicator, s.score))
        .collect::<Vec<_>>()
        .join("  ")
}

/// A recorded rating.
pub fn rating(lang: Lang, r: &Rating) -> String {
    let mut f = Fields::new();
    f.add(t(lang, Label::CaseNumber), &r.case_number)
        .add(
            lang.pick(("评价时机", "Occasion")),
            occasion(lang, r.occasion),
        )
        .add(lang.pick(("评价等级", "Level")), level(lang, r.level))
        .add_nonempty(lang.pick(("评价内容", "Comment")), &r.comment)
        .add_nonempty(lang.pick(("分项评分", "Scores")), scores_line(&r.scores))
        .add(
            lang.pick(("评价时间", "Rated at")),
            time(r.rated_at.as_ref()),
        )
        .add_nonempty(
            lang.pick(("整改编号", "Rectification")),
            if r.rectification_id.is_empty() {
                String::new()
            } else {
                format!(
                    "{}{}",
                    r.rectification_id,
                    lang.paren(lang.pick(("差评已转整改", "opened by this bad rating")))
                )
            },
        );
    f.render()
}

/// A rating as JSON.
pub fn rating_json(r: &Rating) -> Value {
    json!({
        "rating_id": r.rating_id, "case_number": r.case_number,
        "occasion": enum_name(r.occasion, RatingOccasion::as_str_name),
        "level": enum_name(r.level, RatingLevel::as_str_name),
        "comment": r.comment,
        "scores": r.scores.iter().map(|s| json!({"indicator": s.indicator, "score": s.score})).collect::<Vec<_>>(),
        "rated_at": ts(r.rated_at.as_ref()), "rectification_id": r.rectification_id,
    })
}

fn tally_cells(lang: Lang, r: &RatingTally) -> Vec<String> {
    vec![
        if r.office_id.is_empty() {
            lang.pick(("合计", "Total")).to_owned()
        } else {
            named(lang, &r.office_name, &r.office_id)
        },
        if r.matter_code.is_empty() {
            String::new()
        } else {
            named(lang, &r.matter_name, &r.matter_code)
        },
        r.very_satisfied.to_string(),
        r.satisfied.to_string(),
        r.basically_satisfied.to_string(),
        r.dissatisfied.to_string(),
        r.very_dissatisfied.to_string(),
        r.total.to_string(),
        percent(r.good_rate),
        format!("{}/{}", r.rectified, r.bad),
        percent(r.rectification_rate),
    ]
}

/// 好差评统计 as a table, a total line last.
pub fn summary(lang: Lang, s: &RatingSummary) -> String {
    let mut table = Table::new([
        lang.pick(("单位", "Office")),
        t(lang, Label::Matter),
        lang.pick(("非常满意", "V.sat")),
        lang.pick(("满意", "Sat")),
        lang.pick(("基本满意", "Basic")),
        lang.pick(("不满意", "Dissat")),
        lang.pick(("非常不满意", "V.dissat")),
        lang.pick(("合计", "Total")),
        lang.pick(("好评率", "Good rate")),
        lang.pick(("已整改/差评", "Rectified/bad")),
        lang.pick(("差评整改率", "Rectif. rate")),
    ]);
    for row in &s.rows {
        table.row(tally_cells(lang, row));
    }
    if let Some(total) = &s.total {
        table.row(tally_cells(lang, total));
    }
    table.render(0)
}

fn tally_json(r: &RatingTally) -> Value {
    json!({
        "office_id": r.office_id, "office_name": r.office_name,
        "matter_code": r.matter_code, "matter_name": r.matter_name,
        "very_satisfied": r.very_satisfied, "satisfied": r.satisfied,
        "basically_satisfied": r.basically_satisfied, "dissatisfied": r.dissatisfied,
        "very_dissatisfied": r.very_dissatisfied, "total": r.total, "good_rate": r.good_rate,
        "bad": r.bad, "rectified": r.rectified, "rectification_rate": r.rectification_rate,
    })
}

/// The summary as JSON.
pub fn summary_json(s: &RatingSummary) -> Value {
    json!({
        "rows": s.rows.iter().map(tally_json).collect::<Vec<_>>(),
        "total": s.total.as_ref().map_or(Value::Null, tally_json),
    })
}

/// One rectification item with its call-backs.
pub fn rectification(lang: Lang, r: &Rectification) -> String {
    let mut f = Fields::new();
    f.add(
        lang.pick(("整改编号", "Rectification")),
        &r.rectification_id,
    )
    .add(t(lang, Label::CaseNumber), &r.case_number)
    .add(
        t(lang, Label::Matter),
        named(lang, &r.matter_name, &r.matter_code),
    )
    .add(
        lang.pick(("承办单位", "Office")),
        named(lang, &r.office_name, &r.office_id),
    )
    .add(lang.pick(("评价等级", "Level")), level(lang, r.level))
    .add_nonempty(lang.pick(("评价内容", "Comment")), &r.comment)
    .add(t(lang, Label::State), rectification_state(lang, r.state))
    .add(lang.pick(("整改期限", "Due")), {
        let mut d = due(r.due_at.as_ref());
        if r.overdue {
            d.push_str(&lang.paren(t(lang, Label::Overdue)));
        }
        d
    });
    let mut out = f.render();
    for c in &r.callbacks {
        out.push_str(&format!(
            "  {} {} {}{}{}\n",
            time(c.at.as_ref()),
            lang.pick(("回访", "call-back")),
            if c.satisfied {
                lang.pick(("满意", "satisfied"))
            } else {
                lang.pick(("不满意", "not satisfied"))
            },
            lang.colon(),
            c.note
        ));
    }
    out
}

/// Rectification items, one line each.
pub fn rectifications(lang: Lang, list: &[Rectification]) -> String {
    if list.is_empty() {
        return format!(
            "{}\n",
            lang.pick(("没有整改事项。", "No rectification items."))
        );
    }
    let mut table = Table::new([
        t(lang, Label::State),
        lang.pick(("整改期限", "Due")),
        t(lang, Label::CaseNumber),
        lang.pick(("评价等级", "Level")),
        lang.pick(("承办单位", "Office")),
        lang.pick(("整改编号", "Rectification")),
    ]);
    for r in list {
        let mut state = rectification_state(lang, r.state);
        if r.overdue {
            state.push_str(&lang.paren(t(lang, Label::Overdue)));
        }
        table.row([
            state,
            due(r.due_at.as_ref()),
            r.case_number.clone(),
            level(lang, r.level),
            named(lang, &r.office_name, &r.office_id),
            r.rectification_id.clone(),
        ]);
    }
    table.render(0)
}

/// A rectification item as JSON.
pub fn rectification_json(r: &Rectification) -> Value {
    json!({
        "rectification_id": r.rectification_id, "rating_id": r.rating_id,
        "case_number": r.case_number, "office_id": r.office_id, "office_name": r.office_name,
        "matter_code": r.matter_code, "matter_name": r.matter_name,
        "level": enum_name(r.level, RatingLevel::as_str_name), "comment": r.comment,
        "state": enum_name(r.state, RectificationState::as_str_name),
        "opened_at": ts(r.opened_at.as_ref()), "due_at": ts(r.due_at.as_ref()), "overdue": r.overdue,
        "rectified_at": ts(r.rectified_at.as_ref()),
        "callbacks": r.callbacks.iter().map(|c| json!({
            "satisfied": c.satisfied, "note": c.note, "recorded_by": c.recorded_by, "at": ts(c.at.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

/// 办结公示 as a table.
pub fn notices(lang: Lang, list: &[CompletionNotice]) -> String {
    if list.is_empty() {
        return format!("{}\n", lang.pick(("暂无办结公示。", "No completed cases.")));
    }
    let mut table = Table::new([
        lang.pick(("办结时间", "Completed")),
        t(lang, Label::CaseNumber),
        t(lang, Label::Matter),
        lang.pick(("办理单位", "Office")),
        lang.pick(("结果", "Result")),
        lang.pick(("申请人", "Applicant")),
    ]);
    for n in list {
        table.row([
            time(n.completed_at.as_ref()),
            n.case_number.clone(),
            named(lang, &n.matter_name, &n.matter_code),
            named(lang, &n.responsible_office_name, &n.responsible_office_id),
            lang.pick_text(&n.result, &n.result_en).to_owned(),
            n.applicant_name_masked.clone(),
        ]);
    }
    table.render(0)
}

/// A notice as JSON.
pub fn notice_json(n: &CompletionNotice) -> Value {
    json!({
        "case_number": n.case_number, "matter_code": n.matter_code, "matter_name": n.matter_name,
        "responsible_office_id": n.responsible_office_id, "responsible_office_name": n.responsible_office_name,
        "window_office_id": n.window_office_id, "window_office_name": n.window_office_name,
        "decision": enum_name(n.decision, Decision::as_str_name),
        "result": n.result, "result_en": n.result_en,
        "completed_at": ts(n.completed_at.as_ref()), "applicant_name_masked": n.applicant_name_masked,
    })
}

/// The hotline's masked view of a case, with its 多地联办 parts and 一件事 bundle.
pub fn status_view(lang: Lang, v: &CaseStatusView, offices: &OfficeNames) -> String {
    let office = |name: &str, id: &str| named(lang, name, id);
    let mut f = Fields::new();
    f.add(t(lang, Label::CaseNumber), &v.case_number)
        .add(
            t(lang, Label::Matter),
            named(lang, &v.matter_name, &v.matter_code),
        )
        .add_nonempty(t(lang, Label::ApplicantName), &v.applicant_name_masked)
        .add(t(lang, Label::Scope), scope(lang, v.scope))
        .add(t(lang, Label::Mode), mode(lang, v.mode))
        .add(
            t(lang, Label::WindowOffice),
            office(&v.window_office_name, &v.window_office_id),
        )
        .add(
            t(lang, Label::ResponsibleOffice),
            office(&v.responsible_office_name, &v.responsible_office_id),
        )
        .add(t(lang, Label::Status), case_status(lang, v.status))
        .add_nonempty(t(lang, Label::Stage), lang.pick_text(&v.stage, &v.stage_en))
        .add(t(lang, Label::AcceptedAt), time(v.accepted_at.as_ref()))
        .add(t(lang, Label::DueAt), due(v.due_at.as_ref()))
        .add(
            t(lang, Label::RemainingDays),
            remaining(lang, v.remaining_working_days, v.overdue),
        )
        .add(
            t(lang, Label::Overdue),
            t(
                lang,
                if v.overdue {
                    Label::Overdue
                } else {
                    Label::NotOverdue
                },
            ),
        )
        .add_nonempty(
            t(lang, Label::Decision),
            decision_line(lang, v.decision, &v.decision_reason),
        )
        .add_nonempty(
            lang.pick(("结果电子证照", "Result certificate")),
            &v.result_certificate_identifier,
        );
    // 寄递: each waybill and where it is.
    for w in &v.waybills {
        f.add(
            lang.pick(("运单", "Waybill")),
            format!(
                "{} {} {}",
                w.tracking_number,
                logistics::purpose(
                    lang,
                    // The hotline names the purpose in lower case; anything else reads as 其他.
                    match w.purpose.as_str() {
                        "originals" => WaybillPurpose::Originals,
                        "result" => WaybillPurpose::Result,
                        _ => WaybillPurpose::Other,
                    }
                ),
                lang.pick_text(&w.status_label, &w.status_label_en)
            ),
        );
    }
    let mut out = f.render();
    joint_sections(&mut out, lang, &v.parts, v.bundle.as_ref(), offices);
    timeline_section(&mut out, lang, &v.timeline);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_proto::hotline::v1::ComplaintStep;

    #[test]
    fn complaint_reads_in_both_languages() {
        let c = Complaint {
            complaint_id: "c1".into(),
            case_number: "140922-20261128-00001-7".into(),
            office_id: "640100-gongan".into(),
            office_name: "银川市公安局".into(),
            state: ComplaintState::Replied as i32,
            caller_name_masked: "王*明".into(),
            caller_phone_masked: "138****5678".into(),
            history: vec![ComplaintStep {
                to_state: ComplaintState::Received as i32,
                actor: "op1".into(),
                actor_role: "hotline".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let zh = complaint(Lang::Zh, &c);
        assert!(zh.contains("回复") && zh.contains("银川市公安局（640100-gongan）"));
        assert!(zh.contains("办理记录") && zh.contains("受理"));
        let en = complaint(Lang::En, &c);
        assert!(en.contains("replied") && en.contains("History:"));
        assert_eq!(complaint_json(&c)["state"], "COMPLAINT_STATE_REPLIED");
    }

    #[test]
    fn summary_shows_rates() {
        let s = RatingSummary {
            rows: vec![],
            total: Some(RatingTally {
                total: 4,
                satisfied: 2,
                dissatisfied: 2,
                bad: 2,
                rectified: 1,
                good_rate: 0.5,
                rectification_rate: 0.5,
                ..Default::default()
            }),
        };
        let zh = summary(Lang::Zh, &s);
        assert!(zh.contains("好评率") && zh.contains("50.0%") && zh.contains("1/2"));
    }
}
