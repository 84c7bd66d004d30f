//! `tongban window …`: the 通办 window clerk's commands (IntakeService): submit a case, look it
//! up, list the window's cases, hand in 补正 material, withdraw.

use clap::Subcommand;
use tongban_domain::validate::{mask_id_number, mask_phone};
use tongban_proto::common::v1::{Applicant, Delivery, DeliveryMethod, Mode, PresentedMaterial};
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::intake::v1::{
    Bundle, Case, GetBundleRequest, GetCaseRequest, ListCasesRequest, SubmitBundleRequest,
    SubmitCaseRequest, SubmitCaseResponse, SupplementCaseRequest, WithdrawCaseRequest,
};

use crate::args::{DeliveryArg, ModeArg, is_uuid, parse_certificate, parse_material};
use crate::catalog::office_names;
use crate::client::{Answer, Conn, Service};
use crate::error::CliError;
use crate::output::{Fields, Label, Lang, case_status, display_width, due, scope, t, time};
use crate::views::OfficeNames;
use crate::{Ctx, json, views};

/// `tongban window` subcommands.
#[derive(Debug, Subcommand)]
pub enum WindowCommand {
    /// 收件受理 / submit a case at the window.
    Submit(SubmitArgs),
    /// 办件详情 / a case by id or case number, with its timeline.
    Show {
        /// 办件标识（UUID）或办件编号 / case id or case number.
        case: String,
        /// 把结果电子证照令牌写入此文件（含持证人身份证号，仅在需要时使用）/ write the result
        /// certificate's token to this file (it holds the holder's ID number).
        #[arg(long, value_name = "FILE")]
        token_out: Option<std::path::PathBuf>,
    },
    /// 本窗口办件 / cases accepted at a window, newest first.
    List {
        /// 受理窗口部门编号（默认为令牌所属部门）/ window office id (default: the token's office).
        #[arg(long)]
        window: Option<String>,
        /// 最多条数 / at most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// 补正 / hand in the material the reviewer asked for.
    Supplement {
        /// 办件标识或办件编号 / case id or case number.
        case: String,
        /// 材料 CODE:FORM[:SHA256[:PAGES]]，FORM 为 electronic 或 paper / a material.
        #[arg(long = "material", value_parser = parse_material, required_unless_present = "certificates")]
        materials: Vec<PresentedMaterial>,
        /// 电子证照 CODE:TOKEN / an e-certificate replacing a material.
        #[arg(long = "certificate", value_parser = parse_certificate)]
        certificates: Vec<PresentedMaterial>,
        /// 说明 / a note for the reviewer.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 撤回 / withdraw a case not yet decided.
    Withdraw {
        /// 办件标识或办件编号 / case id or case number.
        case: String,
        /// 撤回原因 / reason.
        #[arg(long)]
        reason: String,
    },
    /// 一件事一次办：一次申请、合并材料 / bundles (一件事): one submission, several cases.
    #[command(subcommand)]
    Bundle(BundleCommand),
}

/// What the applicant brings to the window, shared by `window submit` and
/// `window bundle submit`.
#[derive(Debug, clap::Args)]
pub struct ApplicationArgs {
    /// 受理窗口部门编号 / window office id (e.g. 140922-zwfw).
    #[arg(long)]
    window: String,
    /// 办理模式 / mode.
    #[arg(long, value_enum)]
    mode: ModeArg,
    /// 申请人姓名 / applicant's name.
    #[arg(long)]
    name: String,
    /// 申请人身份证号 / applicant's ID number (never printed in full).
    #[arg(long)]
    id_number: String,
    /// 申请人手机号 / applicant's mobile number (never printed in full).
    #[arg(long)]
    phone: String,
    /// 申请人户籍/属地区划代码 / applicant's home division (GB/T 2260).
    #[arg(long)]
    home: String,
    /// 材料 CODE:FORM[:SHA256[:PAGES]]，FORM 为 electronic 或 paper（可重复）/ a material (repeatable).
    #[arg(long = "material", value_parser = parse_material)]
    materials: Vec<PresentedMaterial>,
    /// 电子证照 CODE:TOKEN（可重复）/ an e-certificate replacing a material (repeatable).
    #[arg(long = "certificate", value_parser = parse_certificate)]
    certificates: Vec<PresentedMaterial>,
    /// 发证方式 / how the result reaches the applicant.
    #[arg(long, value_enum)]
    delivery: Option<DeliveryArg>,
    /// 邮寄地址 / postal address (with --delivery mail).
    #[arg(long)]
    address: Option<String>,
    /// 幂等键（默认新生成 UUID，会打印出来，重试时复用）/ idempotency key (default: a fresh UUID v4, printed).
    #[arg(long)]
    idempotency_key: Option<String>,
}

/// `tongban window submit` arguments.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// 事项编码 / matter code.
    #[arg(long)]
    matter: String,
    /// 迁入/转入地区划代码（多地联办时按事项要求提供）/ destination division (GB/T 2260) for
    /// joint handling (迁入地, 转入地).
    #[arg(long)]
    destination: Option<String>,
    #[command(flatten)]
    application: ApplicationArgs,
}

/// `tongban window bundle …` subcommands: 一件事一次办.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// 一件事一次申请：合并材料只交一次，每个成员事项各自成件 / one submission opening a case
    /// per member matter.
    Submit(Box<BundleSubmitArgs>),
    /// 一件事详情：成员办件及状态 / a bundle by number or id, with its member cases.
    Show {
        /// 一件事编号或标识 / bundle number or id.
        bundle: String,
    },
}

/// `tongban window bundle submit` arguments.
#[derive(Debug, clap::Args)]
pub struct BundleSubmitArgs {
    /// 一件事编码 / bundle code (e.g. YJS-CS; see `tongban catalog bundles`).
    #[arg(long)]
    bundle: String,
    #[command(flatten)]
    application: ApplicationArgs,
}

/// An application ready to send: the request parts and what the clerk is shown of it.
struct Application {
    idempotency_key: String,
    window_office_id: String,
    mode: Mode,
    applicant: Applicant,
    /// Name, masked ID number and masked phone, for the answer on screen.
    masked: String,
    home_division: String,
    materials: Vec<PresentedMaterial>,
    delivery: Option<Delivery>,
}

impl ApplicationArgs {
    /// The application, with a fresh idempotency key unless one was given.
    ///
    /// # Errors
    /// [`CliError::Usage`] for an empty `--idempotency-key`.
    fn into_application(self, lang: Lang) -> Result<Application, CliError> {
        let idempotency_key = match self.idempotency_key {
            Some(key) if key.trim().is_empty() => {
                return Err(CliError::Usage(
                    lang.pick((
                        "--idempotency-key 不能为空",
                        "--idempotency-key must not be empty",
                    ))
                    .to_owned(),
                ));
            }
            Some(key) => key.trim().to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let delivery = match (self.delivery, self.address) {
            (Some(method), address) => Some(Delivery {
                method: DeliveryMethod::from(method) as i32,
                address: address.unwrap_or_default(),
            }),
            // An address alone can only mean the result is to be mailed.
            (None, Some(address)) => Some(Delivery {
                method: DeliveryMethod::Mail as i32,
                address,
            }),
            (None, None) => None,
        };
        let masked = format!(
            "{}  {}  {}",
            self.name,
            mask_id_number(&self.id_number),
            mask_phone(&self.phone)
        );
        let mut materials = self.materials;
        materials.extend(self.certificates);
        Ok(Application {
            idempotency_key,
            window_office_id: self.window,
            mode: Mode::from(self.mode),
            applicant: Applicant {
                name: self.name,
                id_number: self.id_number,
                phone: self.phone,
            },
            masked,
            home_division: self.home,
            materials,
            delivery,
        })
    }
}

/// Runs a `window` subcommand.
///
/// # Errors
/// Connection and RPC errors, as [`CliError`].
pub async fn run(cmd: WindowCommand, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let rpc = CliError::rpc(Service::Intake);
    match cmd {
        WindowCommand::Submit(args) => submit(args, ctx).await,
        WindowCommand::Show { case, token_out } => {
            let mut client = IntakeServiceClient::new(ctx.conn(Service::Intake).await?);
            let c = client.get_case(get_case_request(&case)).answer(rpc).await?;
            if let Some(path) = token_out {
                write_result_token(lang, &c.result_certificate_token, &path)?;
            }
            emit_case(ctx, &c).await;
            if !ctx.json {
                crate::output::out(&crate::logistics::custody_section(ctx, &c.case_id).await);
            }
            Ok(())
        }
        WindowCommand::List { window, limit } => {
            let mut client = IntakeServiceClient::new(ctx.conn(Service::Intake).await?);
            let request = ListCasesRequest {
                window_office_id: window.unwrap_or_default(),
                limit,
            };
            let r = client.list_cases(request).answer(rpc).await?;
            ctx.emit_list(&r.cases, json::case, || {
                views::window::cases(lang, &r.cases)
            });
            Ok(())
        }
        WindowCommand::Supplement {
            case,
            mut materials,
            certificates,
            note,
        } => {
            let mut client = IntakeServiceClient::new(ctx.conn(Service::Intake).await?);
            let case_id = case_id_of(&mut client, &case).await?;
            materials.extend(certificates);
            let request = SupplementCaseRequest {
                case_id,
                materials,
                note,
            };
            let c = client.supplement_case(request).answer(rpc).await?;
            emit_case(ctx, &c).await;
            Ok(())
        }
        WindowCommand::Withdraw { case, reason } => {
            let mut client = IntakeServiceClient::new(ctx.conn(Service::Intake).await?);
            let case_id = case_id_of(&mut client, &case).await?;
            let c = client
                .withdraw_case(WithdrawCaseRequest { case_id, reason })
                .answer(rpc)
                .await?;
            emit_case(ctx, &c).await;
            Ok(())
        }
        WindowCommand::Bundle(BundleCommand::Submit(args)) => submit_bundle(*args, ctx).await,
        WindowCommand::Bundle(BundleCommand::Show { bundle }) => {
            let mut client = IntakeServiceClient::new(ctx.conn(Service::Intake).await?);
            let b = client
                .get_bundle(get_bundle_request(&bundle))
                .answer(rpc)
                .await?;
            let offices = office_names(ctx, true).await;
            ctx.emit(json::bundle(&b), || {
                views::window::bundle(lang, &b, &offices)
            });
            Ok(())
        }
    }
}

/// Prints a case as the window sees it, or its JSON. Office names are looked up only for a case
/// with 多地联办 parts or a 一件事 bundle; a plain case shows its offices by id.
async fn emit_case(ctx: &Ctx, c: &Case) {
    let offices = office_names(ctx, !c.parts.is_empty() || c.bundle.is_some()).await;
    ctx.emit(json::case(c), || views::window::case(ctx.lang, c, &offices));
}

/// GetBundle by id when `bundle` is a UUID, else by bundle number.
fn get_bundle_request(bundle: &str) -> GetBundleRequest {
    let (bundle_id, bundle_number) = id_or_number(bundle);
    GetBundleRequest {
        bundle_id,
        bundle_number,
    }
}

/// GetCase by id when `case` is a UUID, else by case number.
fn get_case_request(case: &str) -> GetCaseRequest {
    let (case_id, case_number) = id_or_number(case);
    GetCaseRequest {
        case_id,
        case_number,
    }
}

/// `(id, number)` for a look-up by either: `key` (trimmed) as the id when it is a UUID, else as
/// the number; the other one empty.
fn id_or_number(key: &str) -> (String, String) {
    let key = key.trim().to_owned();
    if is_uuid(&key) {
        (key, String::new())
    } else {
        (String::new(), key)
    }
}

/// The case id of `case` (a case id already, or a case number looked up with GetCase).
async fn case_id_of(
    client: &mut IntakeServiceClient<Conn>,
    case: &str,
) -> Result<String, CliError> {
    if is_uuid(case) {
        return Ok(case.trim().to_owned());
    }
    let c = client
        .get_case(get_case_request(case))
        .await
        .map_err(CliError::rpc(Service::Intake))?;
    Ok(c.into_inner().case_id)
}

async fn submit(args: SubmitArgs, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let app = args.application.into_application(lang)?;
    let request = SubmitCaseRequest {
        idempotency_key: app.idempotency_key.clone(),
        window_office_id: app.window_office_id,
        matter_code: args.matter.clone(),
        mode: app.mode as i32,
        applicant: Some(app.applicant),
        home_division: app.home_division,
        materials: app.materials,
        delivery: app.delivery,
        destination_division: args.destination.unwrap_or_default(),
    };
    let mut client = IntakeServiceClient::new(ctx.conn(Service::Intake).await?);
    let r = client
        .submit_case(request)
        .answer(CliError::rpc(Service::Intake))
        .await?;
    let offices = office_names(ctx, !r.parts.is_empty()).await;
    let key = app.idempotency_key;
    ctx.emit(json::submitted(&r, &key), || {
        submitted_view(lang, &r, &args.matter, &app.masked, &key, &offices)
    });
    Ok(())
}

async fn submit_bundle(args: BundleSubmitArgs, ctx: &Ctx) -> Result<(), CliError> {
    let lang = ctx.lang;
    let app = args.application.into_application(lang)?;
    let request = SubmitBundleRequest {
        idempotency_key: app.idempotency_key.clone(),
        window_office_id: app.window_office_id,
        bundle_code: args.bundle,
        mode: app.mode as i32,
        applicant: Some(app.applicant),
        home_division: app.home_division,
        materials: app.materials,
        delivery: app.delivery,
    };
    let mut client = IntakeServiceClient::new(ctx.conn(Service::Intake).await?);
    let b = client
        .submit_bundle(request)
        .answer(CliError::rpc(Service::Intake))
        .await?;
    let offices = office_names(ctx, true).await;
    let key = app.idempotency_key;
    ctx.emit(json::bundle_submitted(&b, &key), || {
        bundle_submitted_view(lang, &b, &app.masked, &key, &offices)
    });
    Ok(())
}

/// `办件已受理    办件编号：…` framed by rules of `=` above and below, so that the number cannot be
/// missed.
fn banner(lang: Lang, outcome: Label, number_label: Label, number: &str) -> String {
    let text = format!(
        "{}    {}{}{number}",
        t(lang, outcome),
        t(lang, number_label),
        lang.colon()
    );
    let rule = "=".repeat(display_width(&text) + 4);
    format!("{rule}\n  {text}\n{rule}\n")
}

/// The answer to a submission, the case number framed so it cannot be missed; for 多地联办 each
/// part with its office, scope and state.
fn submitted_view(
    lang: Lang,
    r: &SubmitCaseResponse,
    matter: &str,
    applicant: &str,
    key: &str,
    offices: &OfficeNames,
) -> String {
    let head = banner(lang, Label::Accepted, Label::CaseNumber, &r.case_number);
    let mut f = Fields::new();
    f.add(t(lang, Label::CaseId), &r.case_id)
        .add(t(lang, Label::Matter), matter)
        .add(t(lang, Label::Status), case_status(lang, r.status))
        .add(t(lang, Label::Scope), scope(lang, r.scope))
        .add(
            t(lang, Label::ResponsibleOffice),
            offices.label(lang, &r.responsible_office_id),
        )
        .add_nonempty(t(lang, Label::Agreement), &r.agreement_id)
        .add(t(lang, Label::Applicant), applicant)
        .add(t(lang, Label::AcceptedAt), time(r.accepted_at.as_ref()))
        .add(t(lang, Label::DueAt), due(r.due_at.as_ref()))
        .add(t(lang, Label::IdempotencyKey), key);
    let mut out = format!("{head}{}", f.render());
    views::parts_section(&mut out, lang, &r.parts, offices);
    out
}

/// The answer to a 一件事 submission: the bundle number framed, then every member case with its
/// number, office, scope and time limit.
fn bundle_submitted_view(
    lang: Lang,
    b: &Bundle,
    applicant: &str,
    key: &str,
    offices: &OfficeNames,
) -> String {
    let head = banner(
        lang,
        Label::BundleAccepted,
        Label::BundleNumber,
        &b.bundle_number,
    );
    let mut f = Fields::new();
    f.add(t(lang, Label::Applicant), applicant)
        .add(t(lang, Label::IdempotencyKey), key);
    format!(
        "{head}{}{}",
        views::window::bundle(lang, b, offices),
        f.render()
    )
}

/// Writes the result certificate token to `path` (owner-only where the platform allows): it
/// holds the holder's ID number, so it never goes to the terminal.
fn write_result_token(lang: Lang, token: &str, path: &std::path::Path) -> Result<(), CliError> {
    if token.is_empty() {
        return Err(CliError::Usage(
            lang.pick((
                "此办件没有结果电子证照（未准予，或发证方式不是电子证照）",
                "the case has no result certificate (not approved, or not e-certificate delivery)",
            ))
            .to_owned(),
        ));
    }
    let failed = |err: std::io::Error| {
        CliError::Local(match lang {
            Lang::Zh => format!("无法写入 {}：{err}", path.display()),
            Lang::En => format!("cannot write {}: {err}", path.display()),
        })
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(failed)?;
    std::io::Write::write_all(&mut file, format!("{token}\n").as_bytes()).map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_proto::catalog::v1::Office;
    use tongban_proto::common::v1::{BundleStatus, CasePart, CaseStatus, PartState, Scope};

    #[test]
    fn the_result_token_goes_to_a_file_only() {
        let path = std::env::temp_dir().join(format!("tongban-token-{}", std::process::id()));
        write_result_token(Lang::En, "tb.cert:abc", &path).expect("writable temp dir");
        let written = std::fs::read_to_string(&path).expect("just written");
        assert_eq!(written.trim(), "tb.cert:abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "owner only");
        }
        std::fs::remove_file(&path).expect("just written");
        let refused = write_result_token(Lang::Zh, "", &path).expect_err("no token");
        assert!(
            refused.to_string().contains("没有结果电子证照"),
            "{refused}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn case_argument_picks_id_or_number() {
        let r = get_case_request("67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert!(r.case_number.is_empty() && !r.case_id.is_empty());
        let r = get_case_request(" 140922-20261128-00001-7 ");
        assert_eq!(r.case_number, "140922-20261128-00001-7");
        assert!(r.case_id.is_empty());
    }

    #[test]
    fn submitted_view_frames_the_case_number() {
        let r = SubmitCaseResponse {
            case_number: "140922-20261128-00001-7".into(),
            status: CaseStatus::Accepted as i32,
            scope: Scope::CrossProvince as i32,
            ..Default::default()
        };
        let text = submitted_view(
            Lang::Zh,
            &r,
            "shebaoka",
            "王小明  1409**********1234  138****5678",
            "k",
            &OfficeNames::default(),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("====") && lines[2].starts_with("===="));
        assert!(lines[1].contains("办件编号：140922-20261128-00001-7"));
        assert!(text.contains("跨省通办") && text.contains("已受理"));
        assert!(!text.contains("多地联办环节"), "no parts, no section");
    }

    #[test]
    fn a_joint_submission_shows_each_part_with_its_office() {
        let part =
            |code: &str, name: &str, office: &str, scope: Scope, state: PartState| CasePart {
                part_code: code.into(),
                name: name.into(),
                office_id: office.into(),
                scope: scope as i32,
                state: state as i32,
                ..Default::default()
            };
        let r = SubmitCaseResponse {
            case_number: "140922-20261102-00001-7".into(),
            status: CaseStatus::Accepted as i32,
            scope: Scope::CrossProvince as i32,
            responsible_office_id: "140922-gongan".into(),
            parts: vec![
                part(
                    "QR",
                    "迁入地审批",
                    "140922-gongan",
                    Scope::Local,
                    PartState::Routed,
                ),
                part(
                    "QC",
                    "迁出地办理迁出",
                    "640100-gongan",
                    Scope::CrossProvince,
                    PartState::Waiting,
                ),
            ],
            ..Default::default()
        };
        let offices = OfficeNames::from_offices(&[Office {
            id: "640100-gongan".into(),
            name: "银川市公安局".into(),
            ..Default::default()
        }]);
        let text = submitted_view(Lang::Zh, &r, "GA-HJ-QY-GZDD", "王*明", "k", &offices);
        for needle in [
            "多地联办环节：",
            "迁入地审批（QR）",
            "迁出地办理迁出（QC）",
            "银川市公安局（640100-gongan）",
            "本地办理",
            "待前序环节办结",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn a_bundle_submission_frames_the_bundle_number() {
        let b = Bundle {
            bundle_number: "140922-20261102-00007-3".into(),
            bundle_code: "YJS-CS".into(),
            bundle_name: "出生一件事".into(),
            status: BundleStatus::InProgress as i32,
            cases: vec![Case {
                case_number: "140922-20261102-00008-1".into(),
                matter_code: "GA-HJ-CSDJ".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = bundle_submitted_view(Lang::Zh, &b, "王*明", "key-1", &OfficeNames::default());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("====") && lines[2].starts_with("===="));
        assert!(
            lines[1].contains("一件事已受理")
                && lines[1].contains("一件事编号：140922-20261102-00007-3"),
            "{text}"
        );
        assert!(text.contains("140922-20261102-00008-1") && text.contains("办理中"));
        assert!(text.contains("key-1"));
    }

    #[test]
    fn a_bundle_submission_shows_the_members_that_wait() {
        use tongban_proto::common::v1::{BundleMember, BundleSummary};
        let summary = BundleSummary {
            bundle_number: "140922-20261102-00007-3".into(),
            members: vec![
                BundleMember {
                    case_number: "140922-20261102-00008-1".into(),
                    matter_code: "WJ-CSYXZM-QF".into(),
                    matter_name: "出生医学证明首次签发".into(),
                    status: CaseStatus::Routed as i32,
                    ..Default::default()
                },
                BundleMember {
                    case_number: "140922-20261102-00009-X".into(),
                    matter_code: "GA-HJ-CSDJ".into(),
                    matter_name: "出生登记".into(),
                    status: CaseStatus::Submitted as i32,
                    waiting_for: vec!["出生医学证明首次签发".into()],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let b = Bundle {
            bundle_number: summary.bundle_number.clone(),
            status: BundleStatus::InProgress as i32,
            cases: summary
                .members
                .iter()
                .map(|m| Case {
                    case_number: m.case_number.clone(),
                    matter_code: m.matter_code.clone(),
                    matter_name: m.matter_name.clone(),
                    status: m.status,
                    bundle: Some(summary.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let text = bundle_submitted_view(Lang::Zh, &b, "王*明", "key-1", &OfficeNames::default());
        let waiting = text
            .lines()
            .find(|l| l.contains("140922-20261102-00009-X"))
            .unwrap_or_else(|| panic!("the waiting member in\n{text}"));
        assert!(
            waiting.contains("已提交（待「出生医学证明首次签发」准予）"),
            "{text}"
        );
        let text = bundle_submitted_view(Lang::En, &b, "王*明", "key-1", &OfficeNames::default());
        assert!(
            text.contains("Submitted (waiting for 出生医学证明首次签发 to be approved)"),
            "{text}"
        );
    }

    #[test]
    fn bundle_argument_picks_id_or_number() {
        let r = get_bundle_request("67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert!(r.bundle_number.is_empty() && !r.bundle_id.is_empty());
        let r = get_bundle_request("140922-20261102-00007-3");
        assert_eq!(r.bundle_number, "140922-20261102-00007-3");
        assert!(r.bundle_id.is_empty());
    }
}
