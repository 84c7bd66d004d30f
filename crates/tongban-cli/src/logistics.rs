//! `tongban logistics`: track a waybill (运单查询) and list a case's waybills; the chain of
//! custody (物料流转备案) that `window show` and `office show` append.

use clap::Subcommand;
use tongban_proto::logistics::v1::logistics_service_client::LogisticsServiceClient;
use tongban_proto::logistics::v1::{
    GetWaybillRequest, ListWaybillsRequest, RecordTrackingEventRequest, Waybill, WaybillPurpose,
    WaybillStatus,
};

use tongban_access::convert::waybill_status_from_pb;

use crate::Ctx;
use crate::client::{Answer, Service};
use crate::error::CliError;
use crate::output::{Lang, fee, time};

/// `tongban logistics …`.
#[derive(Debug, Subcommand)]
pub enum LogisticsCommand {
    /// 运单查询：状态、轨迹、物料流转 / track a waybill: status, events, chain of custody.
    Track {
        /// 运单号（TB + 10 位数字 + 校验位）/ tracking number.
        number: String,
    },
    /// 办件的全部运单 / every waybill of a case.
    List {
        /// 办件标识（UUID）/ case id.
        case_id: String,
    },
    /// 承运商回传轨迹（承运商角色）/ the carrier reports a tracking event (carrier role).
    Report {
        /// 运单号 / tracking number.
        number: String,
        /// 状态 / status.
        #[arg(long, value_enum)]
        status: StatusArg,
        /// 承运商事件编号（幂等键）/ the carrier's event id (idempotency key).
        #[arg(long)]
        event_id: String,
        /// 地点 / location.
        #[arg(long, default_value = "")]
        location: String,
    },
}

/// A waybill status on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StatusArg {
    /// 已揽收.
    PickedUp,
    /// 运输中.
    InTransit,
    /// 派送中.
    OutForDelivery,
    /// 已签收.
    Delivered,
    /// 异常.
    Exception,
    /// 已退回.
    Returned,
}

impl From<StatusArg> for WaybillStatus {
    fn from(arg: StatusArg) -> Self {
        match arg {
            StatusArg::PickedUp => WaybillStatus::PickedUp,
            StatusArg::InTransit => WaybillStatus::InTransit,
            StatusArg::OutForDelivery => WaybillStatus::OutForDelivery,
            StatusArg::Delivered => WaybillStatus::Delivered,
            StatusArg::Exception => WaybillStatus::Exception,
            StatusArg::Returned => WaybillStatus::Returned,
        }
    }
}

/// Runs a `logistics` command.
///
/// # Errors
/// The logistics service cannot be reached or refuses the request.
pub async fn run(cmd: LogisticsCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let rpc = CliError::rpc(Service::Logistics);
    let mut client = LogisticsServiceClient::new(ctx.conn(Service::Logistics).await?);
    match cmd {
        LogisticsCommand::Track { number } => {
            let w = client
                .get_waybill(GetWaybillRequest {
                    tracking_number: number,
                })
                .answer(rpc)
                .await?;
            ctx.emit(waybill_json(&w), || waybill_view(lang, &w));
        }
        LogisticsCommand::Report {
            number,
            status,
            event_id,
            location,
        } => {
            let request = RecordTrackingEventRequest {
                tracking_number: number,
                status: WaybillStatus::from(status).into(),
                location,
                occurred_at: None,
                carrier_event_id: event_id,
            };
            let w = client.record_tracking_event(request).answer(rpc).await?;
            ctx.emit(waybill_json(&w), || waybill_view(lang, &w));
        }
        LogisticsCommand::List { case_id } => {
            let r = client
                .list_waybills(ListWaybillsRequest { case_id })
                .answer(rpc)
                .await?;
            ctx.emit_list(&r.waybills, waybill_json, || {
                r.waybills.iter().map(|w| waybill_view(lang, w)).collect()
            });
        }
    }
    Ok(())
}

/// The 寄递 section of a case view: each waybill with its custody chain; a note when the
/// logistics service cannot be asked (the rest of the view stands on its own).
pub async fn custody_section(ctx: &Ctx, case_id: &str) -> String {
    let lang = ctx.lang;
    let listed = async {
        let mut client = LogisticsServiceClient::new(ctx.conn(Service::Logistics).await?);
        client
            .list_waybills(ListWaybillsRequest {
                case_id: case_id.to_owned(),
            })
            .await
            .map_err(CliError::rpc(Service::Logistics))
            .map(tonic::Response::into_inner)
    }
    .await;
    let heading = lang.pick(("寄递与物料流转", "Courier and chain of custody"));
    match listed {
        Ok(r) if r.waybills.is_empty() => format!(
            "\n{heading}: {}\n",
            lang.pick(("无寄递", "nothing shipped"))
        ),
        Ok(r) => {
            let mut out = format!("\n{heading}:\n");
            for w in &r.waybills {
                out.push_str(&waybill_view(lang, w));
            }
            out
        }
        // NOT_FOUND: nothing this caller may see was shipped — e.g. the office of a 多地联办 part
        // that is not the case's responsible office, to which no originals travel.
        Err(CliError::Rpc { status, .. }) if status.code() == tonic::Code::NotFound => format!(
            "\n{heading}: {}\n",
            lang.pick(("无寄递", "nothing shipped"))
        ),
        Err(err) => format!("\n{heading}: {}\n", err.render(lang).trim_end()),
    }
}

/// What a waybill carries: 纸质原件, 办理结果 or 其他; `—` when unspecified.
pub fn purpose(lang: Lang, value: WaybillPurpose) -> &'static str {
    match value {
        WaybillPurpose::Originals => lang.pick(("纸质原件", "paper originals")),
        WaybillPurpose::Result => lang.pick(("办理结果", "result")),
        WaybillPurpose::Other => lang.pick(("其他", "other")),
        WaybillPurpose::Unspecified => "—",
    }
}

/// 运单状态 by the domain's name of it; `—` when unspecified or unknown.
fn status(lang: Lang, value: i32) -> &'static str {
    WaybillStatus::try_from(value)
        .ok()
        .and_then(waybill_status_from_pb)
        .map_or("—", |s| s.label(lang.into()))
}

/// A waybill for people: number, purpose, status, route, postage, events and custody.
pub fn waybill_view(lang: Lang, w: &Waybill) -> String {
    let sender = w.sender.clone().unwrap_or_default();
    let recipient = w.recipient.clone().unwrap_or_default();
    let mut out = format!(
        "  {} {}  {}  {}\n",
        lang.pick(("运单", "waybill")),
        w.tracking_number,
        purpose(lang, w.purpose()),
        status(lang, w.status),
    );
    out.push_str(&format!(
        "    {}: {} → {} {}\n",
        lang.pick(("寄件/收件", "from/to")),
        sender.name,
        recipient.name,
        recipient.address,
    ));
    out.push_str(&format!(
        "    {}: {}   {}: {}   {}: {}\n",
        lang.pick(("材料", "materials")),
        w.material_codes.join(", "),
        lang.pick(("邮费", "postage")),
        fee(lang, w.fee_fen),
        lang.pick(("下单", "created")),
        time(w.created_at.as_ref()),
    ));
    for e in &w.events {
        out.push_str(&format!(
            "    {}  {}  {}\n",
            time(e.occurred_at.as_ref()),
            status(lang, e.status),
            e.location
        ));
    }
    for c in &w.custody {
        out.push_str(&format!(
            "    {} {}  {}: {} → {}\n",
            lang.pick(("交接", "handed over")),
            time(c.at.as_ref()),
            c.material_code,
            c.from_party,
            c.to_party
        ));
    }
    out
}

/// A waybill for scripts.
pub fn waybill_json(w: &Waybill) -> serde_json::Value {
    let party = |a: Option<&tongban_proto::logistics::v1::Address>| {
        let a = a.cloned().unwrap_or_default();
        serde_json::json!({"office_id": a.office_id, "name": a.name, "division": a.division, "address": a.address})
    };
    serde_json::json!({
        "tracking_number": w.tracking_number,
        "case_id": w.case_id,
        "case_number": w.case_number,
        "purpose": WaybillPurpose::try_from(w.purpose).unwrap_or_default().as_str_name(),
        "status": WaybillStatus::try_from(w.status).unwrap_or_default().as_str_name(),
        "sender": party(w.sender.as_ref()),
        "recipient": party(w.recipient.as_ref()),
        "material_codes": w.material_codes,
        "fee_fen": w.fee_fen,
        "events": w.events.iter().map(|e| serde_json::json!({
            "status": WaybillStatus::try_from(e.status).unwrap_or_default().as_str_name(),
            "location": e.location,
            "occurred_at": time(e.occurred_at.as_ref()),
            "carrier_event_id": e.carrier_event_id,
        })).collect::<Vec<_>>(),
        "custody": w.custody.iter().map(|c| serde_json::json!({
            "material_code": c.material_code,
            "from": c.from_party,
            "to": c.to_party,
            "at": time(c.at.as_ref()),
        })).collect::<Vec<_>>(),
    })
}
