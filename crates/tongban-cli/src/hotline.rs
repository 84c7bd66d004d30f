//! `tongban hotline …`: the 12345 hotline operator's commands (HotlineService).

use clap::Subcommand;
use tongban_proto::hotline::v1::QueryCaseStatusRequest;
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;

use crate::client::Service;
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
}

/// Runs a `hotline` subcommand.
///
/// # Errors
/// Connection and RPC errors, as [`CliError`].
pub async fn run(cmd: HotlineCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    match cmd {
        HotlineCommand::Status {
            case_number,
            verify,
        } => {
            let mut client = HotlineServiceClient::new(ctx.conn(Service::Hotline).await?);
            let request = QueryCaseStatusRequest {
                case_number: case_number.trim().to_owned(),
                verification: verify.trim().to_owned(),
            };
            let v = client
                .query_case_status(request)
                .await
                .map_err(CliError::rpc(Service::Hotline))?
                .into_inner();
            ctx.emit(json::status_view(&v), || views::status_view(lang, &v));
        }
    }
    Ok(())
}
