//! The `tongban` binary from the outside: help, token minting, usage errors and connection
//! errors. Use against running services is covered by the end-to-end tests and the demo.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use tongban_runtime::auth::{Role, TokenKeys};

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
    ] {
        cmd.env_remove(var);
    }
    cmd
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
    ] {
        let o = run(sub);
        assert!(o.status.success(), "{sub:?}: {}", stderr(&o));
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
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
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
            "140922-window",
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
    let o = run(&[
        "window",
        "submit",
        "--window",
        "w",
        "--matter",
        "m",
        "--mode",
        "proxy",
        "--name",
        "王小明",
        "--id-number",
        "140922199001011234",
        "--phone",
        "13812345678",
        "--home",
        "140922",
        "--material",
        "id_card:fax",
    ]);
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
        "window",
        "submit",
        "--intake",
        url.as_str(),
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
        "--material",
        "id_card:paper",
    ];
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

    let mut en = args.to_vec();
    en.extend(["--lang", "en"]);
    let o = run(&en);
    let err = stderr(&o);
    assert!(
        err.contains("cannot connect") && err.contains("intake service") && err.contains(&url),
        "{err}"
    );
}
