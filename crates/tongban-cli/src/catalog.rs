//! `tongban catalog …`: the 五统一 catalog, the 一次性告知清单, the office directory, routing and
//! the working-day calendar (CatalogService, served by the intake service).

use chrono::{DateTime, FixedOffset};
use clap::{Args, Subcommand};
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::catalog::v1::{
    ComputeDueDateRequest, GetBundleNoticeRequest, GetBundleRequest, GetMatterRequest,
    GetNoticeRequest, ListBundlesRequest, ListMattersRequest, ListOfficesRequest,
    ResolveRouteRequest,
};
use tongban_proto::common::v1::{Mode, Scope};

use crate::args::{ModeArg, ScopeArg, parse_moment};
use crate::client::{Answer, Conn, Service};
use crate::error::CliError;
use crate::output::{Fields, Label, Lang, due, t, time, working_days};
use crate::views::{MatterNames, OfficeNames};
use crate::{Ctx, json, views};

/// `tongban catalog` subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// 事项清单 / list the matters of the catalog.
    List {
        /// 只列此部门的事项 / only matters of this department (e.g. gongan, renshe).
        #[arg(long)]
        department: Option<String>,
        /// 只列可按此范围办理的事项 / only matters allowing this scope.
        #[arg(long, value_enum)]
        scope: Option<ScopeArg>,
    },
    /// 事项详情（五统一，含多地联办环节）/ one matter with all its standard fields and joint parts.
    #[command(visible_alias = "matter")]
    Show {
        /// 事项编码 / matter code.
        code: String,
    },
    /// 一次性告知清单 / the one-time notice for a window and an applicant's locality.
    Notice(Placement),
    /// 一件事一次性告知清单：合并材料与各事项去向 / the one-time notice of a bundle (一件事).
    BundleNotice {
        /// 一件事编码 / bundle code (e.g. YJS-CS).
        code: String,
        /// 受理窗口部门编号 / window office id.
        #[arg(long)]
        window: String,
        /// 申请人户籍/属地区划代码 / applicant's home division (GB/T 2260).
        #[arg(long)]
        home: String,
    },
    /// 部门目录 / the office directory.
    Offices {
        /// 区划代码前缀 / division code prefix (e.g. 1409).
        #[arg(long, default_value = "")]
        prefix: String,
        /// 只列通办窗口 / windows only.
        #[arg(long)]
        windows: bool,
        /// 只列此部门类别 / only offices handling this department.
        #[arg(long)]
        department: Option<String>,
    },
    /// 办件去向 / where a case would go and under which scope.
    Route(Placement),
    /// 一件事清单：成员事项与合并材料 / the bundles (一件事), their members and merged materials.
    Bundles,
    /// 一件事详情 / one bundle (一件事) by code.
    Bundle {
        /// 一件事编码 / bundle code (e.g. YJS-CS).
        code: String,
    },
    /// 计算办结时限 / the end of the Nth working day after a moment.
    Due {
        /// 起算时间：now、RFC 3339 或 "YYYY-MM-DD HH:MM"（北京时间）/ start moment.
        #[arg(long, default_value = "now", value_parser = parse_moment)]
        from: DateTime<FixedOffset>,
        /// 工作日数 / number of working days.
        #[arg(long)]
        days: u32,
    },
}

/// A matter asked for at a window by an applicant of a division, in a mode: what `catalog
/// notice` tells and `catalog route` resolves.
#[derive(Debug, Args)]
pub struct Placement {
    /// 事项编码 / matter code.
    code: String,
    /// 受理窗口部门编号 / window office id.
    #[arg(long)]
    window: String,
    /// 申请人户籍/属地区划代码 / applicant's home division (GB/T 2260).
    #[arg(long)]
    home: String,
    /// 办理模式：joint 时逐一列出每个联办环节的办理地、机构与顺序 / mode; `joint` covers every part.
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// 迁入/转入地区划代码（多地联办）/ destination division (joint handling).
    #[arg(long)]
    destination: Option<String>,
}

impl Placement {
    /// The request for the one-time notice (一次性告知).
    fn notice_request(self) -> GetNoticeRequest {
        let route = self.route_request();
        GetNoticeRequest {
            matter_code: route.matter_code,
            window_office_id: route.window_office_id,
            home_division: route.home_division,
            mode: route.mode,
            destination_division: route.destination_division,
        }
    }

    /// The request for the route (办件去向).
    fn route_request(self) -> ResolveRouteRequest {
        ResolveRouteRequest {
            matter_code: self.code,
            window_office_id: self.window,
            home_division: self.home,
            mode: self.mode.map_or(Mode::Unspecified, Mode::from) as i32,
            destination_division: self.destination.unwrap_or_default(),
        }
    }
}

/// Runs a `catalog` subcommand.
///
/// # Errors
/// Connection and RPC errors, as [`CliError`].
pub async fn run(cmd: CatalogCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let mut client = CatalogServiceClient::new(ctx.conn(Service::Intake).await?);
    let rpc = CliError::rpc(Service::Intake);
    match cmd {
        CatalogCommand::List { department, scope } => {
            let request = ListMattersRequest {
                department: department.unwrap_or_default(),
                scope: scope.map_or(Scope::Unspecified, Scope::from) as i32,
            };
            let r = client.list_matters(request).answer(rpc).await?;
            ctx.emit(json::matters(&r), || {
                views::catalog::matters(lang, &r.matters, &r.catalog_version)
            });
        }
        CatalogCommand::Show { code } => {
            let m = client
                .get_matter(GetMatterRequest { code })
                .answer(rpc)
                .await?;
            ctx.emit(json::matter(&m), || views::catalog::matter(lang, &m));
        }
        CatalogCommand::Notice(placement) => {
            let request = placement.notice_request();
            let n = client.get_notice(request).answer(rpc).await?;
            ctx.emit(json::notice(&n), || notice_text(lang, &n.text, &n.text_en));
        }
        CatalogCommand::BundleNotice { code, window, home } => {
            let request = GetBundleNoticeRequest {
                bundle_code: code,
                window_office_id: window,
                home_division: home,
            };
            let n = client.get_bundle_notice(request).answer(rpc).await?;
            ctx.emit(json::bundle_notice(&n), || {
                notice_text(lang, &n.text, &n.text_en)
            });
        }
        CatalogCommand::Offices {
            prefix,
            windows,
            department,
        } => {
            let request = ListOfficesRequest {
                division_prefix: prefix,
                windows_only: windows,
                department: department.unwrap_or_default(),
            };
            let r = client.list_offices(request).answer(rpc).await?;
            ctx.emit_list(&r.offices, json::office, || {
                views::catalog::offices(lang, &r.offices)
            });
        }
        CatalogCommand::Route(placement) => {
            let request = placement.route_request();
            let r = client.resolve_route(request).answer(rpc).await?;
            let offices = if r.parts.is_empty() || ctx.json {
                OfficeNames::default()
            } else {
                directory(&mut client).await
            };
            ctx.emit(json::route(&r), || {
                views::catalog::route(lang, &r, &offices)
            });
        }
        CatalogCommand::Bundles => {
            let r = client
                .list_bundles(ListBundlesRequest {})
                .answer(rpc)
                .await?;
            let matters = matter_names(ctx, &mut client).await;
            ctx.emit(json::bundles(&r), || {
                views::catalog::bundles(lang, &r.bundles, &r.catalog_version, &matters)
            });
        }
        CatalogCommand::Bundle { code } => {
            let b = client
                .get_bundle(GetBundleRequest { code })
                .answer(rpc)
                .await?;
            let matters = matter_names(ctx, &mut client).await;
            ctx.emit(json::bundle_definition(&b), || {
                views::catalog::bundle_definition(lang, &b, &matters)
            });
        }
        CatalogCommand::Due { from, days } => {
            let start = prost_types::Timestamp::from(std::time::SystemTime::from(from));
            let request = ComputeDueDateRequest {
                start_time: Some(start),
                working_days: days,
            };
            let r = client.compute_due_date(request).answer(rpc).await?;
            ctx.emit(json::due(&r), || {
                due_view(lang, &start, days, r.due_time.as_ref())
            });
        }
    }
    Ok(())
}

/// The office directory's names, to show next to office ids when a human view has offices to
/// name (`wanted`); none are looked up for `--json`, which carries the ids alone. Best effort: a
/// failure leaves the names out (the ids are still shown) rather than failing the command that
/// wanted them.
pub async fn office_names(ctx: &Ctx, wanted: bool) -> OfficeNames {
    if ctx.json || !wanted {
        return OfficeNames::default();
    }
    match ctx.conn(Service::Intake).await {
        Ok(conn) => directory(&mut CatalogServiceClient::new(conn)).await,
        Err(_) => OfficeNames::default(),
    }
}

async fn directory(client: &mut CatalogServiceClient<Conn>) -> OfficeNames {
    let request = ListOfficesRequest {
        division_prefix: String::new(),
        windows_only: false,
        department: String::new(),
    };
    client.list_offices(request).await.map_or_else(
        |_| OfficeNames::default(),
        |r| OfficeNames::from_offices(&r.into_inner().offices),
    )
}

/// The catalog's matter names, to show next to a bundle's member codes; none for `--json` and
/// best effort, like [`office_names`].
async fn matter_names(ctx: &Ctx, client: &mut CatalogServiceClient<Conn>) -> MatterNames {
    if ctx.json {
        return MatterNames::default();
    }
    let request = ListMattersRequest {
        department: String::new(),
        scope: Scope::Unspecified as i32,
    };
    client.list_matters(request).await.map_or_else(
        |_| MatterNames::default(),
        |r| MatterNames::from_matters(&r.into_inner().matters),
    )
}

/// A notice's printable text in the caller's language, ending with a newline.
fn notice_text(lang: Lang, zh: &str, en: &str) -> String {
    let mut text = lang.pick_text(zh, en).to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn due_view(
    lang: Lang,
    start: &prost_types::Timestamp,
    days: u32,
    due_time: Option<&prost_types::Timestamp>,
) -> String {
    let mut f = Fields::new();
    f.add(t(lang, Label::StartTime), time(Some(start)))
        .add(t(lang, Label::WorkingDays), working_days(lang, days))
        .add(t(lang, Label::DueTime), due(due_time));
    f.render()
}
