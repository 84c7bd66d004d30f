//! `tongban ops` against a fake OperationsService over a real connection: dead letters in
//! Chinese by default, English with `--lang en`, JSON with `--json`; a replay; errors.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::process::{Command, Output};

use tongban_proto::ops::v1::operations_service_server::{
    OperationsService, OperationsServiceServer,
};
use tongban_proto::ops::v1::*;
use tonic::{Request, Response, Status};

struct Fake;

fn dead_letter(replayed: bool) -> DeadLetter {
    DeadLetter {
        id: 7,
        consumer: "review-case-events".to_owned(),
        stream_sequence: 42,
        subject: "case.routed".to_owned(),
        event_id: "01a23b2a-9dc3-728d-a5fb-a3073d6cf59b".to_owned(),
        case_number: "TB-140922-20261102-0001".to_owned(),
        kind: DeadLetterKind::MaxDeliveries.into(),
        reason: "已投递 10 次仍失败 / still failing after 10 deliveries: unknown case".to_owned(),
        deliveries: 10,
        dead_at: Some(prost_types::Timestamp {
            seconds: 1_793_581_200,
            nanos: 0,
        }),
        advised: true,
        replayed_at: replayed.then_some(prost_types::Timestamp {
            seconds: 1_793_584_800,
            nanos: 0,
        }),
        replay_result: if replayed {
            "applied".to_owned()
        } else {
            String::new()
        },
    }
}

#[tonic::async_trait]
impl OperationsService for Fake {
    async fn list_dead_letters(
        &self,
        request: Request<ListDeadLettersRequest>,
    ) -> Result<Response<ListDeadLettersResponse>, Status> {
        if request.metadata().get("authorization").is_none() {
            return Err(Status::unauthenticated("未提供访问令牌"));
        }
        Ok(Response::new(ListDeadLettersResponse {
            dead_letters: vec![dead_letter(false)],
            consumers: vec!["review-case-events".to_owned()],
        }))
    }

    async fn replay_dead_letter(
        &self,
        request: Request<ReplayDeadLetterRequest>,
    ) -> Result<Response<ReplayDeadLetterResponse>, Status> {
        if request.get_ref().id != 7 {
            return Err(Status::not_found("未找到该死信"));
        }
        Ok(Response::new(ReplayDeadLetterResponse {
            dead_letter: Some(dead_letter(true)),
            applied: true,
        }))
    }

    async fn rebuild_read_model(
        &self,
        request: Request<RebuildReadModelRequest>,
    ) -> Result<Response<RebuildReadModelResponse>, Status> {
        let request = request.into_inner();
        if request.schema != "review_rebuilt" {
            return Err(Status::failed_precondition(
                "模式 x 已存在，请指定一个新的模式",
            ));
        }
        Ok(Response::new(RebuildReadModelResponse {
            schema: request.schema,
            producer_schemas: if request.producer_schemas.is_empty() {
                vec!["intake".to_owned(), "review".to_owned()]
            } else {
                request.producer_schemas
            },
            events_read: 12,
            consumers: vec![ConsumerRebuild {
                consumer: "review-case-events".to_owned(),
                applied: 9,
                rejected: 1,
                failed: 0,
            }],
            read_model: vec![TableRows {
                table: "inbox_view".to_owned(),
                rows: 3,
            }],
        }))
    }
}

async fn serve() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let incoming = futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    });
    let server = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(OperationsServiceServer::new(Fake))
            .serve_with_incoming(incoming)
            .await
            .expect("the fake serves");
    });
    (url, server)
}

async fn cli(url: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tongban"));
    for var in ["TONGBAN_LANG", "TONGBAN_TOKEN", "TONGBAN_REVIEW_URL"] {
        cmd.env_remove(var);
    }
    cmd.args(args).args(["--review", url, "--token", "tb1.x.y"]);
    tokio::process::Command::from(cmd).output().await.unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn dead_letters_are_listed_in_chinese_english_and_json_and_replayed() {
    let (url, server) = serve().await;

    let out = ok(&cli(&url, &["ops", "dead-letters", "--service", "review"]).await);
    for expected in [
        "编号",
        "消费者",
        "超过投递次数",
        "TB-140922-20261102-0001",
        "待处理",
        "2026-11-02 09:00",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    let out = ok(&cli(
        &url,
        &["ops", "dead-letters", "--service", "review", "--lang", "en"],
    )
    .await);
    for expected in ["Consumer", "max deliveries", "open", "review-case-events"] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    let out = ok(&cli(
        &url,
        &["--json", "ops", "dead-letters", "--service", "review"],
    )
    .await);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = &json["dead_letters"][0];
    assert_eq!(first["service"], "review");
    assert_eq!(first["id"], 7);
    assert_eq!(first["kind"], "max_deliveries");
    assert_eq!(first["deliveries"], 10);

    let out = ok(&cli(&url, &["ops", "replay", "7", "--service", "review"]).await);
    assert!(
        out.contains("已重放死信 7") && out.contains("已重新处理并生效"),
        "{out}"
    );
    let out = ok(&cli(
        &url,
        &["ops", "replay", "7", "--service", "review", "--lang", "en"],
    )
    .await);
    assert!(
        out.contains("Replayed dead letter 7") && out.contains("took effect"),
        "{out}"
    );

    let o = cli(&url, &["ops", "replay", "8", "--service", "review"]).await;
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("未找到该死信"), "{err}");
    // The service holding it must be named.
    let o = cli(&url, &["ops", "replay", "7"]).await;
    assert_eq!(o.status.code(), Some(2));
    server.abort();
}

#[tokio::test]
async fn a_rebuild_reports_its_counts_in_chinese_english_and_json() {
    let (url, server) = serve().await;
    let out = ok(&cli(
        &url,
        &["ops", "rebuild", "review", "--schema", "review_rebuilt"],
    )
    .await);
    for expected in [
        "已重建读模型",
        "review_rebuilt",
        "读取的事件：12",
        "intake, review",
        "review-case-events",
        "已应用",
        "inbox_view",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    let out = ok(&cli(
        &url,
        &[
            "ops",
            "rebuild",
            "review",
            "--schema",
            "review_rebuilt",
            "--producer",
            "intake",
            "--lang",
            "en",
        ],
    )
    .await);
    for expected in [
        "Read model rebuilt",
        "events read",
        "Applied",
        "from intake",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    let out = ok(&cli(
        &url,
        &[
            "--json",
            "ops",
            "rebuild",
            "review",
            "--schema",
            "review_rebuilt",
        ],
    )
    .await);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["events_read"], 12);
    assert_eq!(json["consumers"][0]["applied"], 9);
    assert_eq!(json["consumers"][0]["rejected"], 1);
    assert_eq!(json["read_model"][0]["rows"], 3);
    let o = cli(&url, &["ops", "rebuild", "review", "--schema", "x"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("已存在"));
    // The schema must be named.
    let o = cli(&url, &["ops", "rebuild", "review"]).await;
    assert_eq!(o.status.code(), Some(2));
    server.abort();
}
