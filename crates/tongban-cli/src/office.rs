//! `tongban office …`: the responsible office's remote reviewer (属地审批人员) commands
//! (ReviewService): inbox, live watch, claim (认领), 补正, decide with the 审查要点 checklist.

use clap::{ArgGroup, Subcommand};
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::catalog::v1::{GetMatterRequest, Matter};
use tongban_proto::common::v1::{ChecklistItem, Decision};
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_proto::review::v1::{
    AssignmentState, ClaimCaseRequest, DecideCaseRequest, GetAssignmentRequest,
    ListAssignmentsRequest, RequestSupplementRequest, WatchAssignmentsRequest,
};

use crate::args::{StateArg, is_uuid, parse_check};
use crate::client::{Answer, Conn, Service};
use crate::error::CliError;
use crate::output::{Label, t};
use crate::{Ctx, json, views};

/// How many assignments are searched to find a case by its number.
const LOOKUP_LIMIT: u32 = 1000;

/// `tongban office` subcommands.
#[derive(Debug, Subcommand)]
pub enum OfficeCommand {
    /// 待办 / the assignments routed to the office.
    Inbox {
        /// 部门编号（默认为令牌所属部门）/ office id (default: the token's office).
        #[arg(long)]
        office: Option<String>,
        /// 只列这些状态（可重复）/ only these states (repeatable).
        #[arg(long, value_enum)]
        state: Vec<StateArg>,
        /// 最多条数 / at most this many (0: the server's default).
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    /// 实时关注待办变化（Ctrl-C 结束）/ print each change of the inbox until Ctrl-C.
    Watch {
        /// 部门编号（默认为令牌所属部门）/ office id (default: the token's office).
        #[arg(long)]
        office: Option<String>,
    },
    /// 待办详情 / one assignment.
    Show {
        /// 办件标识或办件编号 / case id or case number.
        case: String,
    },
    /// 认领 / take a case for review.
    Claim {
        /// 办件标识或办件编号 / case id or case number.
        case: String,
    },
    /// 要求补正 / ask the window for more material (the clock stops).
    Supplement {
        /// 办件标识或办件编号 / case id or case number.
        case: String,
        /// 需补正的材料代码或事项（可重复）/ material codes or items asked for (repeatable).
        #[arg(long = "item", required = true, num_args = 1..)]
        items: Vec<String>,
        /// 补正原因 / reason.
        #[arg(long)]
        reason: String,
    },
    /// 审批决定 / approve or deny with the 审查要点 checklist.
    #[command(group(ArgGroup::new("verdict").required(true).args(["approve", "deny"])))]
    Decide {
        /// 办件标识或办件编号 / case id or case number.
        case: String,
        /// 准予 / approve.
        #[arg(long)]
        approve: bool,
        /// 不予 / deny.
        #[arg(long)]
        deny: bool,
        /// 决定理由 / reason.
        #[arg(long)]
        reason: String,
        /// 审查要点结果 CODE=pass|fail[:NOTE]（可重复）/ a review point outcome (repeatable).
        #[arg(long = "check", value_parser = parse_check)]
        checks: Vec<ChecklistItem>,
        /// 将事项所有必审要点记为通过（演示用；--check 优先）/ mark every required review point passed.
        #[arg(long)]
        check_all_pass: bool,
    },
}

/// Runs an `office` subcommand.
///
/// # Errors
/// Connection and RPC errors, as [`CliError`].
pub async fn run(cmd: OfficeCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let rpc = CliError::rpc(Service::Review);
    let mut client = ReviewServiceClient::new(ctx.conn(Service::Review).await?);
    let a = match cmd {
        OfficeCommand::Inbox {
            office,
            state,
            limit,
        } => {
            let request = ListAssignmentsRequest {
                office_id: office.unwrap_or_default(),
                states: state
                    .into_iter()
                    .map(|s| AssignmentState::from(s) as i32)
                    .collect(),
                limit,
            };
            let r = client.list_assignments(request).answer(rpc).await?;
            ctx.emit_list(&r.assignments, json::assignment, || {
                views::office::assignments(lang, &r.assignments)
            });
            return Ok(());
        }
        OfficeCommand::Watch { office } => {
            return watch(&mut client, office.unwrap_or_default(), ctx).await;
        }
        OfficeCommand::Show { case } => {
            let case_id = case_id_of(&mut client, &case, ctx).await?;
            let a = client
                .get_assignment(GetAssignmentRequest { case_id })
                .answer(rpc)
                .await?;
            // The questions of the 审查要点 come from the catalog; without it the codes are shown.
            let matter = if ctx.json {
                None
            } else {
                matter_of(&a.matter_code, ctx).await.ok()
            };
            ctx.emit(json::assignment(&a), || {
                views::office::assignment_with(lang, &a, matter.as_ref())
            });
            if !ctx.json {
                crate::output::out(&crate::logistics::custody_section(ctx, &a.case_id).await);
            }
            return Ok(());
        }
        OfficeCommand::Claim { case } => {
            let case_id = case_id_of(&mut client, &case, ctx).await?;
            client
                .claim_case(ClaimCaseRequest { case_id })
                .await
                .map_err(rpc)?
        }
        OfficeCommand::Supplement {
            case,
            items,
            reason,
        } => {
            let case_id = case_id_of(&mut client, &case, ctx).await?;
            let request = RequestSupplementRequest {
                case_id,
                items,
                reason,
            };
            client.request_supplement(request).await.map_err(rpc)?
        }
        OfficeCommand::Decide {
            case,
            approve,
            deny: _,
            reason,
            checks,
            check_all_pass,
        } => {
            let case_id = case_id_of(&mut client, &case, ctx).await?;
            let checklist = if check_all_pass {
                all_pass(&mut client, &case_id, checks, ctx).await?
            } else {
                checks
            };
            // clap's "verdict" group makes exactly one of --approve / --deny present.
            let decision = if approve {
                Decision::Approve
            } else {
                Decision::Deny
            };
            let request = DecideCaseRequest {
                case_id,
                decision: decision as i32,
                reason,
                checklist,
            };
            client.decide_case(request).await.map_err(rpc)?
        }
    }
    .into_inner();
    ctx.emit(json::assignment(&a), || views::office::assignment(lang, &a));
    Ok(())
}

/// The case id of `case`: a case id already, or a case number found among the office's
/// assignments (the review service knows cases by id only).
async fn case_id_of(
    client: &mut ReviewServiceClient<Conn>,
    case: &str,
    ctx: &Ctx,
) -> Result<String, CliError> {
    let case = case.trim();
    if is_uuid(case) {
        return Ok(case.to_owned());
    }
    let request = ListAssignmentsRequest {
        office_id: String::new(),
        states: Vec::new(),
        limit: LOOKUP_LIMIT,
    };
    let list = client
        .list_assignments(request)
        .answer(CliError::rpc(Service::Review))
        .await?;
    list.assignments
        .into_iter()
        .find(|a| a.case_number == case)
        .map(|a| a.case_id)
        .ok_or_else(|| {
            CliError::Local(format!(
                "{}{}{case}",
                t(ctx.lang, Label::CaseNotInInbox),
                ctx.lang.colon()
            ))
        })
}

/// Every required review point of the case's matter (of the office's part, for 多地联办) as
/// passed, except those given explicitly with `--check`, which win; explicit checks of other
/// points are kept too.
async fn all_pass(
    client: &mut ReviewServiceClient<Conn>,
    case_id: &str,
    explicit: Vec<ChecklistItem>,
    ctx: &Ctx,
) -> Result<Vec<ChecklistItem>, CliError> {
    let assignment = client
        .get_assignment(GetAssignmentRequest {
            case_id: case_id.to_owned(),
        })
        .answer(CliError::rpc(Service::Review))
        .await?;
    let matter = matter_of(&assignment.matter_code, ctx).await?;
    Ok(merge_checklist(
        required_points(&matter, &assignment.review_point_codes),
        explicit,
    ))
}

/// Codes of the required review points an office answers ([`views::office::own_review_points`]; the
/// server refuses another part's points).
fn required_points<'a>(matter: &'a Matter, own: &'a [String]) -> impl Iterator<Item = &'a str> {
    views::office::own_review_points(matter, own)
        .filter(|p| p.required)
        .map(|p| p.code.as_str())
}

/// The matter of the catalog with this code.
async fn matter_of(code: &str, ctx: &Ctx) -> Result<Matter, CliError> {
    let mut catalog = CatalogServiceClient::new(ctx.conn(Service::Intake).await?);
    catalog
        .get_matter(GetMatterRequest {
            code: code.to_owned(),
        })
        .await
        .map_err(CliError::rpc(Service::Intake))
        .map(tonic::Response::into_inner)
}

/// Required points passed, overridden by the explicit outcomes with the same code.
fn merge_checklist<'a>(
    required: impl Iterator<Item = &'a str>,
    explicit: Vec<ChecklistItem>,
) -> Vec<ChecklistItem> {
    let mut list: Vec<ChecklistItem> = required
        .filter(|code| !explicit.iter().any(|c| c.review_point_code == *code))
        .map(|code| ChecklistItem {
            review_point_code: code.to_owned(),
            passed: true,
            note: String::new(),
        })
        .collect();
    list.extend(explicit);
    list
}

/// Prints the office's assignments, then every change, one line each, until Ctrl-C or the end of
/// the stream.
async fn watch(
    client: &mut ReviewServiceClient<Conn>,
    office_id: String,
    ctx: &Ctx,
) -> Result<(), CliError> {
    let lang = ctx.lang;
    let mut stream = client
        .watch_assignments(WatchAssignmentsRequest { office_id })
        .answer(CliError::rpc(Service::Review))
        .await?;
    if !ctx.json {
        eprintln!("{}", t(lang, Label::WatchStarted));
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            next = stream.message() => match next.map_err(CliError::rpc(Service::Review))? {
                Some(a) if ctx.json => crate::output::out(&format!("{}\n", json::assignment(&a))),
                Some(a) => crate::output::out(&format!("{}\n", views::office::assignment_line(lang, &a))),
                None => {
                    if !ctx.json {
                        eprintln!("{}", t(lang, Label::WatchEnded));
                    }
                    return Ok(());
                }
            },
            _ = &mut ctrl_c => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_proto::catalog::v1::ReviewPoint;

    #[test]
    fn a_joint_part_passes_only_its_own_points() {
        let point = |code: &str, required: bool| ReviewPoint {
            code: code.into(),
            question: String::new(),
            required,
        };
        let matter = Matter {
            review_points: vec![
                point("R1", true),
                point("R2", true),
                point("R4", false),
                point("R_QC", true),
            ],
            ..Default::default()
        };
        let qr = ["R1".to_owned(), "R2".to_owned(), "R4".to_owned()];
        assert_eq!(
            required_points(&matter, &qr).collect::<Vec<_>>(),
            ["R1", "R2"]
        );
        let qc = ["R_QC".to_owned()];
        assert_eq!(required_points(&matter, &qc).collect::<Vec<_>>(), ["R_QC"]);
        assert_eq!(
            required_points(&matter, &[]).collect::<Vec<_>>(),
            ["R1", "R2", "R_QC"],
            "a case handled by one office answers every required point"
        );
    }

    #[test]
    fn explicit_checks_override_all_pass() {
        let explicit = vec![
            ChecklistItem {
                review_point_code: "residence".into(),
                passed: false,
                note: "过期".into(),
            },
            ChecklistItem {
                review_point_code: "extra".into(),
                passed: true,
                note: String::new(),
            },
        ];
        let merged = merge_checklist(["identity", "residence"].into_iter(), explicit);
        let codes: Vec<(&str, bool)> = merged
            .iter()
            .map(|c| (c.review_point_code.as_str(), c.passed))
            .collect();
        assert_eq!(
            codes,
            [("identity", true), ("residence", false), ("extra", true)]
        );
    }
}
