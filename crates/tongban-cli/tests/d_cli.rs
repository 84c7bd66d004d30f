//! The `tongban` binary from the outside: help, token minting, usage errors and connection
//! errors. Use against running services is covered by the end-to-end tests and the demo.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use tongban_access::auth::{Role, TokenKeys};

/// The binary with a clean environment for the variables it reads, so the caller's shell
/// cannot change the outcome.
fn tongban() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tongban"));
    for var in [
        "TONGBAN_LANG",
        "TONGBAN_TOKEN",
        "TONGBAN_STATE_DIR",
        "TONGBAN_INTAKE_URL",
        "TONGBAN_REVIEW_URL",
        "TONGBAN_HOTLINE_URL",
        "TONGBAN_TLS_CA",
        "TONGBAN_MODE",
    ] {
        cmd.env_remove(var);
    }
    // Offices are checked against the workspace's directory, as the services read it.
    cmd.env("TONGBAN_DEPLOY_DIR", deploy_dir());
    cmd
}

/// The workspace's deploy directory (reference data and the office directory).
fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn run(args: &[&str]) -> Output {
    tongban()
        .args(args)
        .output()
        .expect("the tongban binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The stdout of a run that must have succeeded (its stderr shown when it did not).
fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    stdout(o)
}

/// The JSON stdout of a run that must have succeeded.
fn ok_json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).expect("the answer is JSON")
}

/// `args` with `--lang en` appended.
fn in_english<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut en = args.to_vec();
    en.extend(["--lang", "en"]);
    en
}

/// `window submit` with a whole application but for its materials.
const SUBMIT: [&str; 16] = [
    "window",
    "submit",
    "--window",
    "140922-window",
    "--matter",
    "shebaoka",
    "--mode",
    "proxy",
    "--name",
    "王小明",
    "--id-number",
    "140922199001011234",
    "--phone",
    "13812345678",
    "--home",
    "640104",
];

/// A fresh state directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("tongban-cli-{tag}-{}-{nanos}", std::process::id()));
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[test]
fn help_works_for_every_group() {
    let top = run(&["--help"]);
    assert!(top.status.success(), "{}", stderr(&top));
    for group in ["token", "catalog", "window", "office", "hotline"] {
        assert!(stdout(&top).contains(group), "top-level help lists {group}");
        let o = run(&[group, "--help"]);
        assert!(o.status.success(), "{group} --help: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage"), "{group} --help prints usage");
    }
    for sub in [
        &["token", "mint", "--help"][..],
        &["catalog", "due", "--help"],
        &["window", "submit", "--help"],
        &["office", "decide", "--help"],
        &["hotline", "status", "--help"],
        &["window", "bundle", "submit", "--help"],
        &["window", "bundle", "show", "--help"],
        &["catalog", "bundles", "--help"],
        &["catalog", "bundle", "--help"],
        &["catalog", "matter", "--help"],
    ] {
        let o = run(sub);
        assert!(o.status.success(), "{sub:?}: {}", stderr(&o));
    }
    // 多地联办 needs the destination: both commands that route a joint case take it.
    for sub in [
        &["window", "submit", "--help"][..],
        &["catalog", "route", "--help"],
    ] {
        let o = run(sub);
        assert!(
            stdout(&o).contains("--destination"),
            "{sub:?}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn token_mint_prints_one_verifiable_token() {
    let dir = TempDir::new("mint");
    let state = dir.0.to_str().unwrap();
    let o = run(&[
        "token",
        "mint",
        "--role",
        "reviewer",
        "--office",
        "640100-gongan",
        "--state-dir",
        state,
    ]);
    let out = ok(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line: {out:?}");

    let keys = TokenKeys::load_or_create(&dir.0).unwrap();
    let claims = keys.verify(lines[0], now()).unwrap();
    assert_eq!(claims.role, Role::Reviewer);
    assert_eq!(claims.office, "640100-gongan");
    assert_eq!(claims.user, "reviewer@640100-gongan");
    assert_eq!(claims.expires_at - claims.issued_at, 12 * 3600);

    // The state directory also comes from the environment; --user and --ttl-hours are honoured.
    let o = tongban()
        .args([
            "token",
            "mint",
            "--role",
            "clerk",
            "--office",
            "140922-zwfw",
            "--user",
            "zhang",
            "--ttl-hours",
            "1",
        ])
        .env("TONGBAN_STATE_DIR", &dir.0)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let claims = keys.verify(stdout(&o).trim(), now()).unwrap();
    assert_eq!((claims.role, claims.user.as_str()), (Role::Clerk, "zhang"));
    assert_eq!(claims.expires_at - claims.issued_at, 3600);
}

#[test]
fn a_bad_role_is_a_usage_error_listing_the_roles() {
    let dir = TempDir::new("badrole");
    let o = run(&[
        "token",
        "mint",
        "--role",
        "mayor",
        "--office",
        "x",
        "--state-dir",
        dir.0.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("mayor") && err.contains("reviewer") && err.contains("clerk"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
    assert!(!dir.0.exists(), "no key is created for a refused command");
}

#[test]
fn bad_material_spec_is_a_usage_error() {
    let o = run(&[&SUBMIT[..], &["--material", "id_card:fax"]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("electronic"), "{}", stderr(&o));
}

#[test]
fn submit_against_a_closed_port_names_the_service_and_url() {
    // Bind and release a port so that nothing listens on it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let args = [
        &SUBMIT[..],
        &["--intake", url.as_str(), "--material", "id_card:paper"],
    ]
    .concat();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("无法连接") && err.contains("受理服务") && err.contains(&url),
        "{err}"
    );
    assert!(
        !err.contains("140922199001011234") && !err.contains("13812345678"),
        "no personal data: {err}"
    );

    let o = run(&in_english(&args));
    let err = stderr(&o);
    assert!(
        err.contains("cannot connect") && err.contains("intake service") && err.contains(&url),
        "{err}"
    );
}

/// A CatalogService that answers two calls and remembers the metadata it was sent, to check
/// the CLI over a real connection without the real services.
mod fake {
    use std::sync::{Arc, Mutex};

    use tongban_access::status::{PreconditionViolation, failed_precondition};
    use tongban_proto::catalog::v1::catalog_service_server::CatalogService;
    use tongban_proto::catalog::v1::*;
    use tonic::{Request, Response, Status};

    /// `(authorization, accept-language)` of each request.
    pub type Seen = Arc<Mutex<Vec<(String, String)>>>;

    pub struct Catalog(pub Seen);

    impl Catalog {
        fn note<T>(&self, request: &Request<T>) {
            let get = |key: &str| {
                request
                    .metadata()
                    .get(key)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            self.0
                .lock()
                .unwrap()
                .push((get("authorization"), get("accept-language")));
        }
    }

    fn not_here() -> Status {
        Status::unimplemented("not part of this fake")
    }

    #[tonic::async_trait]
    impl CatalogService for Catalog {
        async fn list_offices(
            &self,
            _: Request<ListOfficesRequest>,
        ) -> Result<Response<ListOfficesResponse>, Status> {
            Err(not_here())
        }
        async fn list_matters(
            &self,
            _: Request<ListMattersRequest>,
        ) -> Result<Response<ListMattersResponse>, Status> {
            Err(not_here())
        }
        async fn get_matter(
            &self,
            request: Request<GetMatterRequest>,
        ) -> Result<Response<Matter>, Status> {
            self.note(&request);
            Err(failed_precondition(
                "材料不齐".to_owned(),
                vec![
                    PreconditionViolation::new("MATERIAL_MISSING", "id_card", "居民身份证"),
                    PreconditionViolation::new("MATERIAL_MISSING", "hukou", "户口簿"),
                ],
            ))
        }
        async fn get_notice(
            &self,
            _: Request<GetNoticeRequest>,
        ) -> Result<Response<Notice>, Status> {
            Err(not_here())
        }
        async fn resolve_route(
            &self,
            _: Request<ResolveRouteRequest>,
        ) -> Result<Response<ResolveRouteResponse>, Status> {
            Err(not_here())
        }
        async fn compute_due_date(
            &self,
            request: Request<ComputeDueDateRequest>,
        ) -> Result<Response<ComputeDueDateResponse>, Status> {
            self.note(&request);
            // 2026-10-09T00:00:00+08:00: the end of 2026-10-08, whatever the start.
            let due = prost_types::Timestamp {
                seconds: 1_791_475_200,
                nanos: 0,
            };
            Ok(Response::new(ComputeDueDateResponse {
                due_time: Some(due),
            }))
        }
        async fn list_agreements(
            &self,
            _: Request<ListAgreementsRequest>,
        ) -> Result<Response<ListAgreementsResponse>, Status> {
            Err(not_here())
        }
        async fn list_bundles(
            &self,
            request: Request<ListBundlesRequest>,
        ) -> Result<Response<ListBundlesResponse>, Status> {
            self.note(&request);
            Ok(Response::new(ListBundlesResponse {
                bundles: vec![birth()],
                catalog_version: "2026.11.3".into(),
            }))
        }
        async fn get_bundle(
            &self,
            request: Request<GetBundleRequest>,
        ) -> Result<Response<BundleDefinition>, Status> {
            self.note(&request);
            if request.get_ref().code == "YJS-CS" {
                Ok(Response::new(birth()))
            } else {
                Err(Status::not_found("没有该一件事"))
            }
        }
        async fn get_bundle_notice(
            &self,
            request: Request<GetBundleNoticeRequest>,
        ) -> Result<Response<BundleNotice>, Status> {
            self.note(&request);
            let req = request.into_inner();
            if req.bundle_code != "YJS-CS" {
                return Err(Status::not_found("没有该一件事"));
            }
            // The text names what was asked, so the test sees the request arrive whole.
            let asked = format!("{} {}", req.window_office_id, req.home_division);
            Ok(Response::new(BundleNotice {
                bundle: Some(birth()),
                members: vec![BundleMemberRoute {
                    matter_code: "WJ-SY-DJ".into(),
                    responsible_office_id: "640100-weijian".into(),
                    promised_limit_days: 3,
                    ..Default::default()
                }],
                text: format!("一次性告知清单（一件事一次办）\n{asked}"),
                text_en: format!("One-time notice (one application, several matters)\n{asked}"),
                longest_promised_limit_days: 3,
                ..Default::default()
            }))
        }
    }

    /// 出生一件事 with two members sharing the ID card, and the 出生医学证明 issued by a third
    /// member that 出生登记 waits for.
    fn birth() -> BundleDefinition {
        let material = |code: &str, name: &str, required: bool| Material {
            code: code.into(),
            name: name.into(),
            required,
            ..Default::default()
        };
        BundleDefinition {
            code: "YJS-CS".into(),
            name: "出生一件事".into(),
            name_en: "Having a baby".into(),
            matter_codes: vec![
                "WJ-CSYXZM-QF".into(),
                "WJ-SY-DJ".into(),
                "GA-HJ-CSDJ".into(),
            ],
            materials: vec![
                BundleMaterial {
                    material: Some(material("SFZ", "居民身份证", true)),
                    matter_codes: vec!["WJ-SY-DJ".into(), "GA-HJ-CSDJ".into()],
                    provided_by: String::new(),
                },
                BundleMaterial {
                    material: Some(material("CSZM", "出生医学证明", false)),
                    matter_codes: vec!["GA-HJ-CSDJ".into()],
                    provided_by: "WJ-CSYXZM-QF".into(),
                },
            ],
            prerequisites: vec![BundleOrder {
                matter_code: "GA-HJ-CSDJ".into(),
                after: vec!["WJ-CSYXZM-QF".into()],
            }],
            ..Default::default()
        }
    }
}

/// The fake catalog served on a free local port, stopped when dropped.
struct FakeCatalog {
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl FakeCatalog {
    async fn serve(seen: fake::Seen) -> Self {
        use tongban_proto::catalog::v1::catalog_service_server::CatalogServiceServer;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let incoming = futures::stream::unfold(listener, |listener| async move {
            let accepted = listener.accept().await.map(|(stream, _)| stream);
            Some((accepted, listener))
        });
        let server = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(CatalogServiceServer::new(fake::Catalog(seen)))
                .serve_with_incoming(incoming)
                .await
                .expect("the fake catalog serves");
        });
        Self { url, server }
    }

    /// The binary run with `args` against this catalog as the intake service.
    fn cli(&self, args: &[&str]) -> impl Future<Output = Output> + use<> {
        let mut cmd = tokio::process::Command::from(tongban());
        cmd.args(args).args(["--intake", &self.url]);
        async move { cmd.output().await.unwrap() }
    }
}

impl Drop for FakeCatalog {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[tokio::test]
async fn requests_carry_token_and_language_and_errors_list_every_detail() {
    let seen = fake::Seen::default();
    let catalog = FakeCatalog::serve(seen.clone()).await;

    let o = catalog
        .cli(&[
            "catalog",
            "due",
            "--from",
            "2026-09-30 10:00",
            "--days",
            "1",
            "--token",
            "tb1.x.y",
        ])
        .await;
    let out = ok(&o);
    assert!(out.contains("2026-10-08 24:00"), "{out}");
    assert!(out.contains("2026-09-30 10:00"), "{out}");

    let o = catalog
        .cli(&["--json", "catalog", "due", "--days", "1"])
        .await;
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["due_time"], "2026-10-09T00:00:00+08:00");

    let o = catalog
        .cli(&[
            "catalog", "show", "shebaoka", "--lang", "en", "--token", "tb1.x.y",
        ])
        .await;
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("FAILED_PRECONDITION"), "{err}");
    assert!(
        err.contains("please provide all of the following at once"),
        "{err}"
    );
    assert!(
        err.contains("  - id_card: 居民身份证") && err.contains("  - hukou: 户口簿"),
        "{err}"
    );

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("Bearer tb1.x.y".to_owned(), "zh-CN".to_owned()),
            (String::new(), "zh-CN".to_owned()),
            ("Bearer tb1.x.y".to_owned(), "en".to_owned()),
        ]
    );
}

#[tokio::test]
async fn bundles_list_each_material_once_with_the_members_needing_it() {
    let catalog = FakeCatalog::serve(fake::Seen::default()).await;

    // The matter names are not served by the fake: the member codes are shown instead.
    let o = catalog.cli(&["catalog", "bundles"]).await;
    let out = ok(&o);
    assert_eq!(out.matches("SFZ").count(), 1, "{out}");
    for needle in [
        "出生一件事",
        "居民身份证",
        "WJ-SY-DJ、GA-HJ-CSDJ",
        "出生医学证明",
        "所需事项",
        "目录版本：2026.11.3",
        // The member order, and the material a member issues instead of 必需 是/否.
        "办理顺序",
        "在「WJ-CSYXZM-QF」准予后办理",
        "由「WJ-CSYXZM-QF」出具",
    ] {
        assert!(out.contains(needle), "missing {needle} in\n{out}");
    }

    let o = catalog
        .cli(&["--lang", "en", "catalog", "bundle", "YJS-CS"])
        .await;
    let out = ok(&o);
    for needle in [
        "Having a baby",
        "Order",
        "after WJ-CSYXZM-QF is approved",
        "issued by WJ-CSYXZM-QF",
    ] {
        assert!(out.contains(needle), "missing {needle} in\n{out}");
    }

    let o = catalog
        .cli(&["--json", "catalog", "bundle", "YJS-CS"])
        .await;
    let json = ok_json(&o);
    assert_eq!(json["code"], "YJS-CS");
    assert_eq!(json["materials"][0]["material"]["code"], "SFZ");
    assert_eq!(
        json["materials"][0]["matter_codes"],
        serde_json::json!(["WJ-SY-DJ", "GA-HJ-CSDJ"])
    );
    assert_eq!(json["materials"][0]["provided_by"], "");
    assert_eq!(json["materials"][1]["provided_by"], "WJ-CSYXZM-QF");
    assert_eq!(
        json["prerequisites"],
        serde_json::json!([{ "matter_code": "GA-HJ-CSDJ", "after": ["WJ-CSYXZM-QF"] }])
    );

    let o = catalog
        .cli(&["catalog", "bundle", "YJS-XX", "--lang", "en"])
        .await;
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("NOT_FOUND"), "{err}");
}

#[tokio::test]
async fn bundle_notice_prints_the_text_in_the_callers_language() {
    let catalog = FakeCatalog::serve(fake::Seen::default()).await;
    let args = [
        "catalog",
        "bundle-notice",
        "YJS-CS",
        "--window",
        "140922-zwfw",
        "--home",
        "640104",
    ];

    let o = catalog.cli(&args).await;
    assert_eq!(
        ok(&o),
        "一次性告知清单（一件事一次办）\n140922-zwfw 640104\n"
    );

    let o = catalog.cli(&in_english(&args)).await;
    assert!(
        stdout(&o).starts_with("One-time notice (one application, several matters)"),
        "{}",
        stdout(&o)
    );

    let mut json = vec!["--json"];
    json.extend(args);
    let o = catalog.cli(&json).await;
    let v = ok_json(&o);
    assert_eq!(v["bundle"]["code"], "YJS-CS");
    assert_eq!(v["members"][0]["responsible_office_id"], "640100-weijian");
    assert_eq!(v["longest_promised_limit_days"], 3);

    let o = catalog
        .cli(&[
            "catalog",
            "bundle-notice",
            "YJS-XX",
            "--window",
            "w",
            "--home",
            "1",
        ])
        .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("NOT_FOUND"), "{}", stderr(&o));
}

/// `token mint` for `role` at `office` with `extra` arguments, in the state directory `state`.
fn mint(state: &std::path::Path, role: &str, office: &str, extra: &[&str]) -> Output {
    tongban()
        .args(["token", "mint", "--role", role, "--office", office])
        .args(extra)
        .env("TONGBAN_STATE_DIR", state)
        .output()
        .unwrap()
}

#[test]
fn a_token_over_twelve_hours_is_refused_in_both_languages() {
    let dir = TempDir::new("ttl");
    for lang in ["zh", "en"] {
        let o = mint(
            &dir.0,
            "clerk",
            "140922-zwfw",
            &["--ttl-hours", "13", "--lang", lang],
        );
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
        let err = stderr(&o);
        assert!(
            err.contains("最多 12 小时") && err.contains("at most 12 hours"),
            "{err}"
        );
    }
    let o = mint(&dir.0, "admin", "140922", &["--ttl-hours", "12"]);
    let keys = TokenKeys::load_or_create(&dir.0).unwrap();
    let claims = keys.verify(ok(&o).trim(), now()).unwrap();
    assert_eq!(claims.expires_at - claims.issued_at, 12 * 3600);
}

#[test]
fn a_token_for_an_office_outside_the_directory_is_refused() {
    let dir = TempDir::new("office");
    for (role, office) in [
        ("clerk", "140922-window"),
        ("reviewer", "999999-gongan"),
        ("admin", "admin"),
    ] {
        let o = mint(&dir.0, role, office, &[]);
        assert_eq!(o.status.code(), Some(2), "{role} {office}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
        let err = stderr(&o);
        assert!(
            err.contains(office)
                && err.contains("机构目录中没有")
                && err.contains("not in the directory"),
            "{err}"
        );
    }
    // Every office id the demo and README use is admitted.
    for (role, office) in [
        ("clerk", "140922-zwfw"),
        ("hotline", "140900-12345"),
        ("reviewer", "640100-gongan"),
        ("issuer", "640100-gongan"),
        ("carrier", "simulated"),
        ("reviewer", "640100-weijian"),
        ("office_head", "640100-gongan"),
        ("supervisor", "140922-zwfw"),
        ("admin", "140922"),
    ] {
        let o = mint(&dir.0, role, office, &[]);
        assert_eq!(ok(&o).lines().count(), 1, "{role} {office}");
    }
    // Without the directory the office cannot be checked: refused, naming the directory.
    let o = mint(
        &dir.0,
        "clerk",
        "140922-zwfw",
        &["--deploy-dir", "/nonexistent-deploy"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent-deploy"), "{}", stderr(&o));
}

#[test]
fn a_revoked_token_no_longer_verifies() {
    let dir = TempDir::new("revoke");
    let minted = ok_json(&mint(&dir.0, "reviewer", "640100-gongan", &["--json"]));
    let keys = TokenKeys::load_or_create(&dir.0).unwrap();
    let token = minted["token"].as_str().unwrap();
    let claims = keys.verify(token, now()).unwrap();
    assert_eq!(minted["token_id"], claims.token_id.as_str());
    assert_eq!(minted["key_id"], keys.key_id());
    assert_eq!(minted["issuer"], "tongban");
    assert_eq!(minted["audience"], "tongban-services");

    let o = tongban()
        .args(["token", "revoke", &claims.token_id, "--lang", "en"])
        .env("TONGBAN_STATE_DIR", &dir.0)
        .output()
        .unwrap();
    assert!(ok(&o).contains(&claims.token_id));
    assert!(matches!(
        keys.verify(token, now()),
        Err(tongban_access::auth::AuthError::Revoked)
    ));
    let list = std::fs::read_to_string(dir.0.join("revoked-tokens.txt")).unwrap();
    assert_eq!(list, format!("{}\n", claims.token_id));

    let o = run(&[
        "token",
        "revoke",
        "nonsense",
        "--state-dir",
        dir.0.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("32"), "{}", stderr(&o));
}

#[test]
fn an_https_address_needs_a_ca() {
    let o = run(&["--intake", "https://127.0.0.1:1", "catalog", "list"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("TONGBAN_TLS_CA"), "{}", stderr(&o));
    assert!(stderr(&o).contains("https 地址需要"), "{}", stderr(&o));
    // A CA file that does not exist is named.
    let o = run(&[
        "--intake",
        "https://127.0.0.1:1",
        "--tls-ca",
        "/nonexistent/ca.pem",
        "--lang",
        "en",
        "catalog",
        "list",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent/ca.pem"), "{}", stderr(&o));
}

#[test]
fn production_mode_never_creates_the_signing_key() {
    let dir = TempDir::new("production");
    let o = tongban()
        .args([
            "token",
            "mint",
            "--role",
            "clerk",
            "--office",
            "140922-zwfw",
        ])
        .env("TONGBAN_STATE_DIR", &dir.0)
        .env("TONGBAN_MODE", "production")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("TONGBAN_MODE=production"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.0.join("token-signing.key").exists());
}

#[test]
fn a_signing_key_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("exposed");
    ok(&mint(&dir.0, "clerk", "140922-zwfw", &[]));
    let key = dir.0.join("token-signing.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = mint(&dir.0, "clerk", "140922-zwfw", &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
}
