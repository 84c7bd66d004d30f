//! `tongban hotline …`: the 12345 hotline operator's commands (HotlineService): status by phone,
//! 投诉 and its closed loop, 好差评 with 整改 and 回访, the summary, and the 办结公示.

use clap::{Subcommand, ValueEnum};
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_proto::hotline::v1::{
    AdvanceComplaintRequest, ComplaintState, FileComplaintRequest, GetComplaintRequest,
    GetRatingSummaryRequest, IndicatorScore, ListComplaintsRequest, ListCompletionNoticesRequest,
    ListRectificationsRequest, QueryCaseStatusRequest, RateServiceRequest, RatingLevel,
    RatingOccasion, RecordCallbackRequest, RectificationState,
};

use crate::args::Period;
use crate::client::{Answer, Conn, Service};
use crate::error::CliError;
use crate::{Ctx, json, views};

/// `tongban hotline` subcommands.
#[derive(Debug, Subcommand)]
pub enum HotlineCommand {
    /// 办件进度查询（脱敏）/ the masked status of a case, after the caller proves who they are.
    Status {
        /// 办件编号 / case number.
        case_number: String,
        /// 申请人身份证号后六位或手机号后四位 / last six of the ID number or last four of the phone.
        #[arg(long)]
        verify: String,
    },
    /// 登记投诉 / file a complaint about a case (the caller's contact is stored masked).
    Complain {
        /// 办件编号 / case number.
        case_number: String,
        /// 身份证号后六位或手机号后四位 / last six of the ID number or last four of the phone.
        #[arg(long)]
        verify: String,
        /// 来电人姓名 / caller's name.
        #[arg(long)]
        name: String,
        /// 来电人手机号 / caller's mobile number.
        #[arg(long)]
        phone: String,
        /// 投诉内容 / what the complaint is about.
        #[arg(long)]
        content: String,
    },
    /// 投诉办理：列表、详情、推进 / complaints: list, show, advance.
    #[command(subcommand)]
    Complaint(ComplaintCommand),
    /// 好差评 / rate the service of a case at acceptance or completion.
    Rate {
        /// 办件编号 / case number.
        case_number: String,
        /// 身份证号后六位或手机号后四位 / last six of the ID number or last four of the phone.
        #[arg(long)]
        verify: String,
        /// 评价时机 / occasion.
        #[arg(long, value_enum)]
        occasion: OccasionArg,
        /// 评价等级 / level.
        #[arg(long, value_enum)]
        level: LevelArg,
        /// 评价内容 / comment.
        #[arg(long, default_value = "")]
        comment: String,
        /// 分项评分 INDICATOR=1..5（efficiency 办事效率、attitude 服务态度、guide_accuracy
        /// 办事指南准确度、convenience 便捷度），可重复 / indicator score, repeatable.
        #[arg(long = "score", value_parser = parse_score)]
        scores: Vec<IndicatorScore>,
    },
    /// 好差评统计（好评率、差评整改率）/ ratings summary by office and matter.
    Summary {
        /// 单位 / office id.
        #[arg(long, default_value = "")]
        office: String,
        /// 事项编码 / matter code.
        #[arg(long, default_value = "")]
        matter: String,
        #[command(flatten)]
        period: Period,
    },
    /// 差评整改事项 / rectification items opened by bad ratings.
    Rectifications {
        /// 单位 / office id.
        #[arg(long, default_value = "")]
        office: String,
        /// 状态 / state.
        #[arg(long, value_enum)]
        state: Option<RectificationArg>,
        /// 条数上限 / at most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// 整改回访记录 / record the call-back (回访) about a rectification.
    Callback {
        /// 整改编号 / rectification id.
        rectification_id: String,
        /// 群众满意（确认已整改）/ the rater is satisfied (the item is rectified).
        #[arg(
            long,
            conflicts_with = "unsatisfied",
            required_unless_present = "unsatisfied"
        )]
        satisfied: bool,
        /// 群众不满意（继续整改）/ the rater is not satisfied (the item stays open).
        #[arg(long)]
        unsatisfied: bool,
        /// 回访情况 / what was said.
        #[arg(long)]
        note: String,
    },
    /// 办结公示 / public list of completed cases.
    Notices {
        /// 单位（办理或受理）/ office id (responsible or window).
        #[arg(long, default_value = "")]
        office: String,
        #[command(flatten)]
        period: Period,
        /// 条数上限 / at most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `tongban hotline complaint` subcommands.
#[derive(Debug, Subcommand)]
pub enum ComplaintCommand {
    /// 投诉列表 / complaints, newest first.
    List {
        /// 单位 / office id.
        #[arg(long, default_value = "")]
        office: String,
        /// 状态 / state.
        #[arg(long, value_enum)]
        state: Option<ComplaintArg>,
        /// 办件编号 / case number.
        #[arg(long = "case", default_value = "")]
        case_number: String,
        /// 条数上限 / at most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// 投诉详情与办理记录 / one complaint with its history.
    Show {
        /// 投诉编号 / complaint id.
        complaint_id: String,
    },
    /// 推进一步：转办、办理、回复、回访、办结 / move a complaint one step on.
    Advance {
        /// 投诉编号 / complaint id.
        complaint_id: String,
        /// 下一状态 / next state.
        #[arg(long = "to", value_enum)]
        to: ComplaintArg,
        /// 办理说明（回复时必填）/ note (required for a reply).
        #[arg(long, default_value = "")]
        note: String,
        /// 转办给此单位（仅转办）/ assign to this office (assigning only).
        #[arg(long, default_value = "")]
        office: String,
    },
}

/// 评价时机 / rating occasion.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OccasionArg {
    /// 受理时 / at acceptance.
    Acceptance,
    /// 办结时 / at completion.
    Completion,
}

/// 评价等级 / rating level.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LevelArg {
    /// 非常满意.
    #[value(alias = "5")]
    VerySatisfied,
    /// 满意.
    #[value(alias = "4")]
    Satisfied,
    /// 基本满意.
    #[value(alias = "3")]
    BasicallySatisfied,
    /// 不满意.
    #[value(alias = "2")]
    Dissatisfied,
    /// 非常不满意.
    #[value(alias = "1")]
    VeryDissatisfied,
}

/// 投诉状态 / complaint state.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ComplaintArg {
    /// 受理.
    Received,
    /// 转办.
    Assigned,
    /// 办理.
    Handling,
    /// 回复.
    Replied,
    /// 回访.
    FollowedUp,
    /// 办结.
    Closed,
}

impl ComplaintArg {
    fn state(self) -> ComplaintState {
        match self {
            ComplaintArg::Received => ComplaintState::Received,
            ComplaintArg::Assigned => ComplaintState::Assigned,
            ComplaintArg::Handling => ComplaintState::Handling,
            ComplaintArg::Replied => ComplaintState::Replied,
            ComplaintArg::FollowedUp => ComplaintState::FollowedUp,
            ComplaintArg::Closed => ComplaintState::Closed,
        }
    }
}

/// 整改状态 / rectification state.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RectificationArg {
    /// 待整改.
    Open,
    /// 已整改.
    Rectified,
}

/// `INDICATOR=SCORE`, e.g. `efficiency=5`.
fn parse_score(spec: &str) -> Result<IndicatorScore, String> {
    let bad = || {
        format!(
            "分项评分应为 指标=1..5，如 efficiency=5 / a score is INDICATOR=1..5, e.g. efficiency=5: \"{spec}\""
        )
    };
    let (indicator, score) = spec.split_once('=').ok_or_else(bad)?;
    let score: u32 = score.trim().parse().map_err(|_| bad())?;
    Ok(IndicatorScore {
        indicator: indicator.trim().to_owned(),
        score,
    })
}

async fn client(ctx: &Ctx) -> Result<HotlineServiceClient<Conn>, CliError> {
    Ok(HotlineServiceClient::new(ctx.conn(Service::Hotline).await?))
}

/// Runs a `hotline` subcommand.
///
/// # Errors
/// Connection and RPC errors, as [`CliError`].
pub async fn run(cmd: HotlineCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let rpc = CliError::rpc(Service::Hotline);
    match cmd {
        HotlineCommand::Status {
            case_number,
            verify,
        } => {
            let request = QueryCaseStatusRequest {
                case_number: case_number.trim().to_owned(),
                verification: verify.trim().to_owned(),
            };
            let v = client(ctx)
                .await?
                .query_case_status(request)
                .answer(rpc)
                .await?;
            let offices =
                crate::catalog::office_names(ctx, !v.parts.is_empty() || v.bundle.is_some()).await;
            ctx.emit(json::status_view(&v), || {
                views::hotline::status_view(lang, &v, &offices)
            });
        }
        HotlineCommand::Complain {
            case_number,
            verify,
            name,
            phone,
            content,
        } => {
            let request = FileComplaintRequest {
                case_number: case_number.trim().to_owned(),
                verification: verify.trim().to_owned(),
                caller_name: name,
                caller_phone: phone,
                content,
            };
            let c = client(ctx)
                .await?
                .file_complaint(request)
                .answer(rpc)
                .await?;
            ctx.emit(views::hotline::complaint_json(&c), || {
                views::hotline::complaint(lang, &c)
            });
        }
        HotlineCommand::Complaint(cmd) => run_complaint(cmd, ctx).await?,
        HotlineCommand::Rate {
            case_number,
            verify,
            occasion,
            level,
            comment,
            scores,
        } => {
            let request = RateServiceRequest {
                case_number: case_number.trim().to_owned(),
                verification: verify.trim().to_owned(),
                occasion: match occasion {
                    OccasionArg::Acceptance => RatingOccasion::Acceptance,
                    OccasionArg::Completion => RatingOccasion::Completion,
                }
                .into(),
                level: match level {
                    LevelArg::VerySatisfied => RatingLevel::VerySatisfied,
                    LevelArg::Satisfied => RatingLevel::Satisfied,
                    LevelArg::BasicallySatisfied => RatingLevel::BasicallySatisfied,
                    LevelArg::Dissatisfied => RatingLevel::Dissatisfied,
                    LevelArg::VeryDissatisfied => RatingLevel::VeryDissatisfied,
                }
                .into(),
                comment,
                scores,
            };
            let r = client(ctx).await?.rate_service(request).answer(rpc).await?;
            ctx.emit(views::hotline::rating_json(&r), || {
                views::hotline::rating(lang, &r)
            });
        }
        HotlineCommand::Summary {
            office,
            matter,
            period,
        } => {
            let (from, to) = period.bounds();
            let request = GetRatingSummaryRequest {
                office_id: office.trim().to_owned(),
                matter_code: matter.trim().to_owned(),
                from,
                to,
            };
            let s = client(ctx)
                .await?
                .get_rating_summary(request)
                .answer(rpc)
                .await?;
            ctx.emit(views::hotline::summary_json(&s), || {
                views::hotline::summary(lang, &s)
            });
        }
        HotlineCommand::Rectifications {
            office,
            state,
            limit,
        } => {
            let request = ListRectificationsRequest {
                office_id: office.trim().to_owned(),
                state: match state {
                    None => RectificationState::Unspecified,
                    Some(RectificationArg::Open) => RectificationState::Open,
                    Some(RectificationArg::Rectified) => RectificationState::Rectified,
                }
                .into(),
                limit,
            };
            let list = client(ctx)
                .await?
                .list_rectifications(request)
                .answer(rpc)
                .await?
                .rectifications;
            ctx.emit_list(&list, views::hotline::rectification_json, || {
                views::hotline::rectifications(lang, &list)
            });
        }
        HotlineCommand::Callback {
            rectification_id,
            satisfied,
            unsatisfied: _,
            note,
        } => {
            let request = RecordCallbackRequest {
                rectification_id: rectification_id.trim().to_owned(),
                satisfied,
                note,
            };
            let item = client(ctx)
                .await?
                .record_callback(request)
                .answer(rpc)
                .await?;
            ctx.emit(views::hotline::rectification_json(&item), || {
                views::hotline::rectification(lang, &item)
            });
        }
        HotlineCommand::Notices {
            office,
            period,
            limit,
        } => {
            let (from, to) = period.bounds();
            let request = ListCompletionNoticesRequest {
                office_id: office.trim().to_owned(),
                from,
                to,
                limit,
            };
            let list = client(ctx)
                .await?
                .list_completion_notices(request)
                .answer(rpc)
                .await?
                .notices;
            ctx.emit_list(&list, views::hotline::notice_json, || {
                views::hotline::notices(lang, &list)
            });
        }
    }
    Ok(())
}

async fn run_complaint(cmd: ComplaintCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let rpc = CliError::rpc(Service::Hotline);
    let c = match cmd {
        ComplaintCommand::List {
            office,
            state,
            case_number,
            limit,
        } => {
            let request = ListComplaintsRequest {
                office_id: office.trim().to_owned(),
                state: state
                    .map_or(ComplaintState::Unspecified, ComplaintArg::state)
                    .into(),
                case_number: case_number.trim().to_owned(),
                limit,
            };
            let list = client(ctx)
                .await?
                .list_complaints(request)
                .answer(rpc)
                .await?
                .complaints;
            ctx.emit_list(&list, views::hotline::complaint_json, || {
                views::hotline::complaints(lang, &list)
            });
            return Ok(());
        }
        ComplaintCommand::Show { complaint_id } => {
            client(ctx)
                .await?
                .get_complaint(GetComplaintRequest {
                    complaint_id: complaint_id.trim().to_owned(),
                })
                .answer(rpc)
                .await?
        }
        ComplaintCommand::Advance {
            complaint_id,
            to,
            note,
            office,
        } => {
            client(ctx)
                .await?
                .advance_complaint(AdvanceComplaintRequest {
                    complaint_id: complaint_id.trim().to_owned(),
                    to_state: to.state().into(),
                    note,
                    office_id: office.trim().to_owned(),
                })
                .answer(rpc)
                .await?
        }
    };
    ctx.emit(views::hotline::complaint_json(&c), || {
        views::hotline::complaint(lang, &c)
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse() {
        let s = parse_score("efficiency=5").unwrap();
        assert_eq!((s.indicator.as_str(), s.score), ("efficiency", 5));
        assert!(parse_score("efficiency").is_err());
        assert!(parse_score("efficiency=x").is_err());
    }
}
