//! The console over real HTTP against the real intake, review and hotline services (real
//! PostgreSQL and NATS through `tongban-testkit`): sign-in and its lockout, the CSRF and session
//! checks, the window clerk's submission with its 受理通知书 and 一次性告知书, the reviewer's
//! claim and decision, the 12345 lookup, and the public pages.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, StatusCode};
use tokio_util::sync::CancellationToken;
use tongban_console::{Application, Config};
use tongban_testkit::{TestEnv, eventually};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// 五台县 window; the reviewer of 银川市公安局 gets 开具户籍类证明 for a 银川 applicant.
const MATTER: &str = "GA-HJ-ZM";
const HOME: &str = "640104";
const ID_NUMBER: &str = "11010519491231002X";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// The console's address and the cookie of the person signed in, if any.
#[derive(Clone)]
struct Browser {
    port: u16,
    cookie: Option<String>,
}

impl Browser {
    async fn send(
        &self,
        method: Method,
        path: &str,
        origin: Option<&str>,
        form: &[(&str, &str)],
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let body = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    tongban_console::web::encode(k),
                    tongban_console::web::encode(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("tongban_session={cookie}"));
        }
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(body)))?)
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8(body.to_vec())?,
        })
    }

    async fn get(&self, path: &str) -> Result<Answer, Box<dyn std::error::Error>> {
        self.send(Method::GET, path, None, &[]).await
    }

    /// A POST from the console's own page (Origin = the console).
    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        let origin = format!("http://127.0.0.1:{}", self.port);
        self.send(Method::POST, path, Some(&origin), form).await
    }

    /// Reads the server-sent events at `path` until their text holds `needle`.
    async fn sse_until(
        &self,
        path: &str,
        needle: &str,
    ) -> Result<String, Box<dyn std::error::Error>> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let mut request = hyper::Request::builder()
            .uri(path)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("accept", "text/event-stream");
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("tongban_session={cookie}"));
        }
        let response = sender
            .send_request(request.body(Full::new(Bytes::new()))?)
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
        let kind = response
            .headers()
            .get("content-type")
            .ok_or("no content type")?
            .to_str()?
            .to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        let mut body = response.into_body();
        let mut text = String::new();
        while !text.contains(needle) {
            let frame = body.frame().await.ok_or("the stream ended")??;
            if let Some(data) = frame.data_ref() {
                text.push_str(&String::from_utf8_lossy(data));
            }
        }
        Ok(text)
    }

    /// Signs in and keeps the session cookie.
    async fn sign_in(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Browser, Box<dyn std::error::Error>> {
        let answer = self
            .post(
                "/login",
                &[("user", user), ("password", password), ("next", "/")],
            )
            .await?;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let set = answer
            .headers
            .get("set-cookie")
            .ok_or("no session cookie")?
            .to_str()?
            .to_owned();
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
            assert!(set.contains(attribute), "{set} lacks {attribute}");
        }
        let id = set
            .strip_prefix("tongban_session=")
            .and_then(|rest| rest.split(';').next())
            .ok_or("cookie shape")?;
        assert_eq!(id.len(), 64, "an opaque 256-bit id, not the token");
        Ok(Browser {
            port: self.port,
            cookie: Some(id.to_owned()),
        })
    }
}

/// Every `name="<prefix>…"` (up to the closing quote) in `html`.
fn names_with(html: &str, prefix: &str) -> Vec<String> {
    let needle = format!("name=\"{prefix}");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest.split('"').next().map(str::to_owned)
        })
        .collect()
}

/// The value of the hidden field `name`.
fn hidden(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    html[start..].split('"').next().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_office_hotline_and_public() -> TestResult {
    let env = TestEnv::new().await?;
    let intake = env.spawn::<tongban_intake::Application>().await?;
    let review = env.spawn::<tongban_review::Application>().await?;
    let hotline = env.spawn::<tongban_hotline::Application>().await?;
    let supervision = env.spawn::<tongban_supervision::Application>().await?;
    let settings = env.settings("console");
    let config = Config::local(
        intake.port(),
        review.port(),
        hotline.port(),
        supervision.port(),
        settings.state_dir.clone(),
        settings.deploy_dir.clone(),
    );
    let app = Application::build(config).await?;
    let anonymous = Browser {
        port: app.port(),
        cookie: None,
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(stop.clone()));

    // The public guide needs no sign-in and carries the strict CSP.
    let guide = anonymous.get("/public/guide").await?;
    assert_eq!(guide.status, StatusCode::OK, "{}", guide.body);
    let csp = guide
        .headers
        .get("content-security-policy")
        .ok_or("no CSP")?
        .to_str()?;
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(guide.body.contains(MATTER), "the catalog lists {MATTER}");
    let matter = anonymous
        .get(&format!("/public/guide/{MATTER}?home_division={HOME}"))
        .await?;
    assert_eq!(matter.status, StatusCode::OK, "{}", matter.body);
    assert!(
        matter.body.contains("id=\"notice-text\""),
        "一次性告知清单 for the locality"
    );
    let english = anonymous.get("/public/guide?lang=en").await?;
    assert!(english.body.contains("Service guide"), "English on request");

    // Sign-in: no Origin is refused (CSRF), a foreign Origin too, a wrong password is refused.
    let no_origin = anonymous
        .send(
            Method::POST,
            "/login",
            None,
            &[("user", "wutai-clerk"), ("password", "demo-clerk-2026")],
        )
        .await?;
    assert_eq!(no_origin.status, StatusCode::FORBIDDEN);
    let foreign = anonymous
        .send(
            Method::POST,
            "/login",
            Some("http://evil.example"),
            &[("user", "wutai-clerk"), ("password", "demo-clerk-2026")],
        )
        .await?;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let wrong = anonymous
        .post("/login", &[("user", "wutai-clerk"), ("password", "nope")])
        .await?;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("login-error"));

    // Without the session cookie a staff page sends to sign-in and a POST is refused.
    let away = anonymous.get("/window").await?;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert!(
        away.headers
            .get("location")
            .ok_or("no location")?
            .to_str()?
            .starts_with("/login")
    );
    let refused = anonymous
        .post("/window/check-id", &[("id_number", ID_NUMBER)])
        .await?;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let clerk = anonymous.sign_in("wutai-clerk", "demo-clerk-2026").await?;
    // A clerk cannot open a reviewer page; a signed-in POST from another site is refused.
    assert_eq!(clerk.get("/office").await?.status, StatusCode::FORBIDDEN);
    let cross = clerk
        .send(
            Method::POST,
            "/window/check-id",
            Some("http://evil.example"),
            &[("id_number", ID_NUMBER)],
        )
        .await?;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    // The live ID check names the problem and never echoes the number.
    let bad = clerk
        .post("/window/check-id", &[("id_number", "110105194912310021")])
        .await?;
    assert!(bad.body.contains("class=\"bad\""), "{}", bad.body);
    assert!(!bad.body.contains("110105194912310021"));
    let good = clerk
        .post("/window/check-id", &[("id_number", ID_NUMBER)])
        .await?;
    assert!(good.body.contains("class=\"ok\""), "{}", good.body);

    // The form, then the route preview.
    let path = format!("/window/matters/{MATTER}/apply");
    let form = clerk.get(&path).await?;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let key = hidden(&form.body, "key").ok_or("no idempotency key")?;
    let materials = names_with(&form.body, "m_");
    assert!(!materials.is_empty(), "a materials checklist");
    let mode = "2"; // MODE_PROXY: 异地代收代办
    let base = [
        ("key", key.as_str()),
        ("name", "王小明"),
        ("id_number", ID_NUMBER),
        ("phone", "13812345678"),
        ("home_division", HOME),
        ("mode", mode),
        ("delivery", "1"),
    ];
    let mut preview = base.to_vec();
    preview.push(("action", "preview"));
    let previewed = clerk.post(&path, &preview).await?;
    assert_eq!(previewed.status, StatusCode::OK, "{}", previewed.body);
    assert!(
        previewed.body.contains("route-preview"),
        "{}",
        previewed.body
    );
    assert!(
        previewed.body.contains("银川市公安局"),
        "routed to 银川: {}",
        previewed.body
    );

    // Nothing ticked: the 一次性告知书 lists every required material at once.
    let mut nothing = base.to_vec();
    nothing.push(("action", "submit"));
    let missing = clerk.post(&path, &nothing).await?;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("一次性告知书") && missing.body.contains("id=\"missing-notice\"")
    );
    assert!(missing.body.contains("居民身份证"), "{}", missing.body);
    assert!(
        !missing.body.contains(ID_NUMBER),
        "no ID number on the notice"
    );

    // A locality no office serves for this matter: the 不予受理通知书 with the reason and the
    // applicant's rights.
    let ticked: Vec<String> = materials.iter().map(|code| format!("m_{code}")).collect();
    let mut nowhere: Vec<(&str, &str)> = base
        .iter()
        .filter(|(k, _)| *k != "home_division" && *k != "key")
        .copied()
        .collect();
    nowhere.push(("key", "console-test-refused"));
    nowhere.push(("home_division", "460105"));
    nowhere.extend(ticked.iter().map(|t| (t.as_str(), "1")));
    nowhere.push(("action", "submit"));
    let refused = clerk.post(&path, &nowhere).await?;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("id=\"refused-notice\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("行政复议"));

    // A bad ID number is named at its field.
    let mut wrong_id = base.to_vec();
    wrong_id.retain(|(k, _)| *k != "id_number");
    wrong_id.push(("id_number", "110105194912310021"));
    wrong_id.push(("action", "submit"));
    let named = clerk.post(&path, &wrong_id).await?;
    assert_eq!(named.status, StatusCode::BAD_REQUEST, "{}", named.body);
    assert!(
        named.body.contains("aria-invalid=\"true\""),
        "{}",
        named.body
    );

    // Everything ticked: accepted, and the 受理通知书 shows the case number.
    let ticks: Vec<String> = materials.iter().map(|code| format!("m_{code}")).collect();
    let mut complete = base.to_vec();
    complete.extend(ticks.iter().map(|t| (t.as_str(), "1")));
    complete.push(("action", "submit"));
    let accepted = clerk.post(&path, &complete).await?;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let receipt_path = accepted
        .headers
        .get("location")
        .ok_or("no location")?
        .to_str()?
        .to_owned();
    let receipt = clerk.get(&receipt_path).await?;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
    assert!(receipt.body.contains("受理通知书"));
    let number = receipt
        .body
        .split("id=\"case-number\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .ok_or("no case number")?
        .to_owned();
    assert!(!number.is_empty());
    let case_id = receipt_path
        .trim_start_matches("/window/cases/")
        .split('?')
        .next()
        .ok_or("case id")?
        .to_owned();
    let list = clerk.get("/window").await?;
    assert!(
        list.body.contains(&number),
        "the window's case list shows it"
    );

    // The reviewer of 银川市公安局 sees it in the inbox fragment, claims and approves it.
    let reviewer = anonymous
        .sign_in("yinchuan-reviewer", "demo-review-2026")
        .await?;
    assert_eq!(reviewer.get("/window").await?.status, StatusCode::FORBIDDEN);
    // The live inbox: WatchAssignments relayed as server-sent events names the case.
    let streamed = tokio::time::timeout(
        Duration::from_secs(30),
        reviewer.sse_until("/office/events", &number),
    )
    .await??;
    assert!(streamed.contains("event: assignment"), "{streamed}");
    let inbox = eventually(Duration::from_secs(30), || {
        let reviewer = reviewer.clone();
        let number = number.clone();
        async move {
            let rows = reviewer.get("/office/inbox").await.ok()?;
            rows.body.contains(&number).then_some(rows)
        }
    })
    .await?;
    assert!(inbox.body.contains(&case_id));
    let other = anonymous
        .sign_in("taiyuan-reviewer", "demo-review-2026")
        .await?;
    let theirs = other.get("/office/inbox").await?;
    assert!(
        !theirs.body.contains(&number),
        "another office sees nothing"
    );
    assert_eq!(
        other.get(&format!("/office/cases/{case_id}")).await?.status,
        StatusCode::NOT_FOUND
    );

    let claimed = reviewer
        .post(&format!("/office/cases/{case_id}/claim"), &[])
        .await?;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER, "{}", claimed.body);

    // 补正: the reviewer asks for a material; the window sees the request and hands it in.
    let item = materials.first().ok_or("a material")?.clone();
    let asked = reviewer
        .post(
            &format!("/office/cases/{case_id}/supplement"),
            &[("item", item.as_str()), ("reason", "请补充清晰的扫描件")],
        )
        .await?;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    eventually(Duration::from_secs(30), || {
        let clerk = clerk.clone();
        let receipt_path = receipt_path.clone();
        async move {
            let page = clerk.get(&receipt_path).await.ok()?;
            page.body.contains("id=\"supplement-form\"").then_some(())
        }
    })
    .await?;
    let tick = format!("m_{item}");
    let handed = clerk
        .post(
            &format!("/window/cases/{case_id}/supplement"),
            &[(tick.as_str(), "1"), ("note", "已补充")],
        )
        .await?;
    assert_eq!(handed.status, StatusCode::SEE_OTHER, "{}", handed.body);

    // Once the review service has the supplement, the decision form is offered again.
    let page = eventually(Duration::from_secs(30), || {
        let reviewer = reviewer.clone();
        let case_id = case_id.clone();
        async move {
            let page = reviewer
                .get(&format!("/office/cases/{case_id}"))
                .await
                .ok()?;
            page.body.contains("name=\"point\"").then_some(page)
        }
    })
    .await?;
    let points: Vec<String> = page
        .body
        .match_indices("name=\"point\" value=\"")
        .filter_map(|(i, m)| {
            page.body[i + m.len()..]
                .split('"')
                .next()
                .map(str::to_owned)
        })
        .collect();
    assert!(!points.is_empty(), "the 审查要点 checklist: {}", page.body);
    // Without the required points approval is refused with the service's reason.
    let incomplete = reviewer
        .post(
            &format!("/office/cases/{case_id}/decide"),
            &[("decision", "approve"), ("reason", "符合条件")],
        )
        .await?;
    assert_eq!(
        incomplete.status,
        StatusCode::BAD_REQUEST,
        "{}",
        incomplete.body
    );
    assert!(incomplete.body.contains("action-error"));
    let passes: Vec<String> = points.iter().map(|p| format!("pass_{p}")).collect();
    let mut decision = vec![("decision", "approve"), ("reason", "符合条件，准予办理")];
    for (p, pass) in points.iter().zip(&passes) {
        decision.push(("point", p.as_str()));
        decision.push((pass.as_str(), "1"));
    }
    let decided = reviewer
        .post(&format!("/office/cases/{case_id}/decide"), &decision)
        .await?;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    let after = reviewer.get(&format!("/office/cases/{case_id}")).await?;
    assert!(
        after.body.contains("id=\"case-decision\">准予"),
        "{}",
        after.body
    );

    // The window sees the result.
    eventually(Duration::from_secs(30), || {
        let clerk = clerk.clone();
        let receipt_path = receipt_path.clone();
        async move {
            let page = clerk.get(&receipt_path).await.ok()?;
            page.body
                .contains("id=\"case-decision\">准予")
                .then_some(())
        }
    })
    .await?;

    // 撤回: another case, withdrawn at the window with a reason.
    let again = clerk.get(&path).await?;
    let second_key = hidden(&again.body, "key").ok_or("no idempotency key")?;
    let mut second = complete.clone();
    second.retain(|(k, _)| *k != "key");
    second.push(("key", second_key.as_str()));
    let accepted = clerk.post(&path, &second).await?;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let second_path = accepted
        .headers
        .get("location")
        .ok_or("no location")?
        .to_str()?
        .to_owned();
    let second_id = second_path
        .trim_start_matches("/window/cases/")
        .split('?')
        .next()
        .ok_or("case id")?
        .to_owned();
    let withdrawn = clerk
        .post(
            &format!("/window/cases/{second_id}/withdraw"),
            &[("reason", "申请人不再需要")],
        )
        .await?;
    assert_eq!(
        withdrawn.status,
        StatusCode::SEE_OTHER,
        "{}",
        withdrawn.body
    );
    let shown = clerk.get(&format!("/window/cases/{second_id}")).await?;
    assert!(
        shown.body.contains("id=\"case-status\">已撤回"),
        "{}",
        shown.body
    );
    assert!(
        !shown.body.contains("id=\"withdraw-form\""),
        "no second withdrawal"
    );

    // 12345: a wrong proof and an unknown case are refused alike; the right proof shows it.
    let operator = anonymous
        .sign_in("hotline-operator", "demo-hotline-2026")
        .await?;
    let wrong_proof = operator
        .post(
            "/hotline",
            &[("case_number", number.as_str()), ("verification", "000000")],
        )
        .await?;
    let real = tongban_domain::case_number::CaseNumber::parse(&number)?;
    let nobody =
        tongban_domain::case_number::CaseNumber::new(&real.window_division(), real.date(), 99_999);
    let unknown = operator
        .post(
            "/hotline",
            &[("case_number", nobody.as_str()), ("verification", "000000")],
        )
        .await?;
    assert_eq!(wrong_proof.status, unknown.status, "refused the same way");
    assert!(wrong_proof.body.contains("lookup-error"));
    let message = |body: &str| {
        body.split("id=\"lookup-error\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .map(str::to_owned)
    };
    assert_eq!(message(&wrong_proof.body), message(&unknown.body));
    let found = eventually(Duration::from_secs(30), || {
        let operator = operator.clone();
        let number = number.clone();
        async move {
            let page = operator
                .post(
                    "/hotline",
                    &[
                        ("case_number", number.as_str()),
                        ("verification", &ID_NUMBER[12..]),
                    ],
                )
                .await
                .ok()?;
            (page.status == StatusCode::OK).then_some(page)
        }
    })
    .await?;
    assert!(found.body.contains("lookup-result"));
    assert!(!found.body.contains(ID_NUMBER), "masked view only");
    // The same lookup is open to the public without sign-in.
    let public = anonymous
        .post(
            "/public/lookup",
            &[
                ("case_number", number.as_str()),
                ("verification", &ID_NUMBER[12..]),
            ],
        )
        .await?;
    assert_eq!(public.status, StatusCode::OK, "{}", public.body);
    assert!(public.body.contains("lookup-result"));

    // The supervisor's dashboard counts the case for 银川市公安局, as a chart and as a table.
    let supervisor = anonymous
        .sign_in("wutai-supervisor", "demo-supervise-2026")
        .await?;
    assert_eq!(
        supervisor.get("/window").await?.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clerk.get("/supervisor").await?.status,
        StatusCode::FORBIDDEN
    );
    let dashboard = eventually(Duration::from_secs(30), || {
        let supervisor = supervisor.clone();
        async move {
            let page = supervisor.get("/supervisor?group_by=office").await.ok()?;
            (page.status == StatusCode::OK && page.body.contains("<th scope=\"row\">银川市公安局"))
                .then_some(page)
        }
    })
    .await?;
    assert!(dashboard.body.contains("<svg") && dashboard.body.contains("<rect"));
    assert!(dashboard.body.contains("id=\"stats-table\""));

    // Sign-out ends the session.
    let out = clerk.post("/logout", &[]).await?;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(clerk.get("/window").await?.status, StatusCode::SEE_OTHER);

    stop.cancel();
    server.await??;
    intake.stop().await?;
    review.stop().await?;
    hotline.stop().await?;
    supervision.stop().await?;
    env.cleanup().await?;
    Ok(())
}

/// Five wrong passwords lock the name for an hour, even against the right password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_the_account() -> TestResult {
    let env = TestEnv::new().await?;
    let settings = env.settings("console");
    // No service is needed for signing in: nothing listens on the discard port.
    let config = Config::local(
        9,
        9,
        9,
        9,
        settings.state_dir.clone(),
        settings.deploy_dir.clone(),
    );
    let app = Application::build(config).await?;
    let browser = Browser {
        port: app.port(),
        cookie: None,
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(stop.clone()));
    for _ in 0..5 {
        let wrong = browser
            .post(
                "/login",
                &[("user", "hotline-operator"), ("password", "guess")],
            )
            .await?;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    let locked = browser
        .post(
            "/login",
            &[
                ("user", "hotline-operator"),
                ("password", "demo-hotline-2026"),
            ],
        )
        .await?;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert!(locked.headers.get("set-cookie").is_none());
    // Another name is not affected.
    browser.sign_in("wutai-clerk", "demo-clerk-2026").await?;
    stop.cancel();
    server.await??;
    env.cleanup().await?;
    Ok(())
}
