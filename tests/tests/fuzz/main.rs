//! Input fuzzing through the real services: every RPC of every service of `proto/` (found in the
//! compiled descriptor set, so a new RPC is fuzzed without touching this file) gets random and
//! mutated requests with tokens of every role, over real gRPC to the six real services on
//! PostgreSQL and NATS JetStream. The properties:
//!
//! - no request makes a service panic, hang or answer INTERNAL / UNKNOWN / DATA_LOSS: bad input is
//!   the caller's error (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, …), never ours;
//! - every service still reports SERVING afterwards and answers a well-formed request.
//!
//! Requests are generated from each method's input message descriptor: fields present or not,
//! strings from a dictionary of real ids, edge cases (empty, 20,000 characters, NUL, invalid
//! UTF-8, right-to-left marks, SQL and path fragments), extreme numbers, unknown enum values,
//! out-of-range timestamps, long repeated fields; a quarter of them are then byte-mutated
//! (flipped, truncated, extended), which also exercises the protobuf decoding of every method.
//!
//! Bounded for CI by `TONGBAN_FUZZ_CASES` requests per method (default 30); run longer with e.g.
//! `TONGBAN_FUZZ_CASES=2000 cargo test -p tongban-e2e --test fuzz -- --nocapture`. The run's seed
//! is printed; `TONGBAN_FUZZ_SEED=<seed>` replays it.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::{Buf, BufMut};
use proptest::prelude::Rng;
use proptest::test_runner::{RngAlgorithm, TestRng};
use prost::Message as _;
use prost::encoding::{WireType, encode_key, encode_varint};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use tongban_e2e::{
    Certificate, Hotline, Intake, Logistics, Review, Supervision, WINDOW, YINCHUAN_GONGAN,
};
use tongban_proto::catalog::v1::ListMattersRequest;
use tongban_runtime::auth::Role;
use tongban_testkit::{Running, TestEnv, channel};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A codec that sends and receives message bodies as they are: the fuzzer builds the bytes.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

#[derive(Debug, Clone, Copy, Default)]
struct RawEncoder;

#[derive(Debug, Clone, Copy, Default)]
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut body = vec![0; src.remaining()];
        src.copy_to_slice(&mut body);
        Ok(Some(body))
    }
}

/// The messages and enums of the descriptor set, by full name (`.tongban.common.v1.Case`).
struct Schema {
    messages: HashMap<String, DescriptorProto>,
    enums: HashMap<String, Vec<i32>>,
}

impl Schema {
    fn new(set: &FileDescriptorSet) -> Self {
        let mut schema = Self {
            messages: HashMap::new(),
            enums: HashMap::new(),
        };
        for file in &set.file {
            let prefix = format!(".{}", file.package());
            for message in &file.message_type {
                schema.add_message(&prefix, message);
            }
            for e in &file.enum_type {
                schema.enums.insert(
                    format!("{prefix}.{}", e.name()),
                    e.value.iter().map(|v| v.number()).collect(),
                );
            }
        }
        schema
    }

    fn add_message(&mut self, prefix: &str, message: &DescriptorProto) {
        let name = format!("{prefix}.{}", message.name());
        for nested in &message.nested_type {
            self.add_message(&name, nested);
        }
        for e in &message.enum_type {
            self.enums.insert(
                format!("{name}.{}", e.name()),
                e.value.iter().map(|v| v.number()).collect(),
            );
        }
        self.messages.insert(name, message.clone());
    }
}

/// One RPC to fuzz.
struct Method {
    service: String,
    name: String,
    input: String,
    server_streaming: bool,
}

/// Builds random requests.
struct Generator<'a> {
    rng: TestRng,
    schema: &'a Schema,
    words: Vec<String>,
}

impl Generator<'_> {
    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn string(&mut self) -> Vec<u8> {
        match self.below(10) {
            0 => Vec::new(),
            1..=4 => {
                let i = self.below(self.words.len() as u64) as usize;
                self.words[i].clone().into_bytes()
            }
            5 => {
                let n = 1_000 + self.below(20_000) as usize;
                "长".repeat(n).into_bytes()
            }
            6 => {
                // Invalid UTF-8 in a string field.
                let mut bytes = b"caf".to_vec();
                bytes.extend([0xC3, 0x28, 0xFF, 0xFE]);
                bytes
            }
            _ => {
                const ODD: [&str; 12] = [
                    "\u{0}",
                    "\u{202E}",
                    "\u{FEFF}",
                    "😀",
                    "\r\n",
                    "' OR 1=1 --",
                    "../../..",
                    "%s%n",
                    "\\",
                    "\t",
                    "𠮷",
                    " ",
                ];
                let n = self.below(40) as usize;
                let mut s = String::new();
                for _ in 0..n {
                    match self.below(4) {
                        0 => s.push(char::from(b'0' + self.below(75) as u8)),
                        1 => s.push_str(ODD[self.below(ODD.len() as u64) as usize]),
                        2 => s.push(
                            char::from_u32(0x4E00 + self.below(0x5000) as u32).unwrap_or('通'),
                        ),
                        _ => s.push('-'),
                    }
                }
                s.into_bytes()
            }
        }
    }

    fn number(&mut self) -> u64 {
        const EDGES: [u64; 9] = [
            0,
            1,
            2,
            u64::MAX, // -1 as an int
            i64::MAX as u64,
            i64::MIN as u64,
            i32::MAX as u64,
            0xFFFF_FFFF_8000_0000, // i32::MIN sign-extended
            253_402_300_800,       // the first second after year 9999
        ];
        if self.chance(60) {
            EDGES[self.below(EDGES.len() as u64) as usize]
        } else {
            self.below(100)
        }
    }

    /// A random encoding of message `type_name`, `depth` levels down.
    fn message(&mut self, type_name: &str, depth: u32) -> Vec<u8> {
        let mut buf = Vec::new();
        let Some(message) = self.schema.messages.get(type_name) else {
            let n = self.below(16) as usize;
            return (0..n).map(|_| self.rng.next_u64() as u8).collect();
        };
        for field in &message.field {
            if !self.chance(70) {
                continue;
            }
            let count = if field.label() == Label::Repeated {
                match self.below(10) {
                    0 => 0,
                    1..=6 => 1 + self.below(3),
                    7 | 8 => 20 + self.below(60),
                    _ => 1_001,
                }
            } else {
                1
            };
            let tag = u32::try_from(field.number()).unwrap_or(1);
            for _ in 0..count {
                self.field(&mut buf, tag, field.r#type(), field.type_name(), depth);
                if buf.len() > 3 * 1024 * 1024 {
                    return buf;
                }
            }
        }
        buf
    }

    fn field(&mut self, buf: &mut Vec<u8>, tag: u32, kind: Type, type_name: &str, depth: u32) {
        match kind {
            Type::String | Type::Bytes => {
                let value = self.string();
                encode_key(tag, WireType::LengthDelimited, buf);
                encode_varint(value.len() as u64, buf);
                buf.extend(value);
            }
            Type::Message | Type::Group => {
                let value = if depth >= 4 {
                    Vec::new()
                } else {
                    self.message(type_name, depth + 1)
                };
                encode_key(tag, WireType::LengthDelimited, buf);
                encode_varint(value.len() as u64, buf);
                buf.extend(value);
            }
            Type::Enum => {
                let known = self
                    .schema
                    .enums
                    .get(type_name)
                    .cloned()
                    .unwrap_or_default();
                let value = if !known.is_empty() && self.chance(80) {
                    known[self.below(known.len() as u64) as usize] as i64 as u64
                } else {
                    self.number()
                };
                encode_key(tag, WireType::Varint, buf);
                encode_varint(value, buf);
            }
            Type::Double | Type::Fixed64 | Type::Sfixed64 => {
                encode_key(tag, WireType::SixtyFourBit, buf);
                buf.put_u64_le(self.number());
            }
            Type::Float | Type::Fixed32 | Type::Sfixed32 => {
                encode_key(tag, WireType::ThirtyTwoBit, buf);
                buf.put_u32_le(self.number() as u32);
            }
            _ => {
                encode_key(tag, WireType::Varint, buf);
                encode_varint(self.number(), buf);
            }
        }
    }

    /// A request for `method`: a generated message, a quarter of them byte-mutated.
    fn request(&mut self, method: &Method) -> Vec<u8> {
        let mut body = self.message(&method.input, 0);
        if self.chance(25) {
            match self.below(3) {
                0 if !body.is_empty() => {
                    let i = self.below(body.len() as u64) as usize;
                    body[i] ^= 1 << self.below(8);
                }
                1 if !body.is_empty() => {
                    let n = self.below(body.len() as u64) as usize;
                    body.truncate(n);
                }
                _ => {
                    let n = 1 + self.below(12) as usize;
                    body.extend((0..n).map(|_| self.rng.next_u64() as u8));
                }
            }
        }
        body
    }
}

/// The services of the descriptor set with the port that serves each.
fn methods(set: &FileDescriptorSet) -> Vec<Method> {
    set.file
        .iter()
        .filter(|f| f.package().starts_with("tongban."))
        .flat_map(|file| {
            file.service.iter().flat_map(move |service| {
                service.method.iter().map(move |m| Method {
                    service: format!("{}.{}", file.package(), service.name()),
                    name: m.name().to_owned(),
                    input: m.input_type().to_owned(),
                    server_streaming: m.server_streaming(),
                })
            })
        })
        .collect()
}

/// What a fuzzed call ended with: its code, or that it took longer than the bound.
async fn call(
    channel: Channel,
    method: &Method,
    body: Vec<u8>,
    token: &str,
) -> Result<Code, String> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| format!("not ready: {e}"))?;
    let path = PathAndQuery::try_from(format!("/{}/{}", method.service, method.name))
        .map_err(|e| e.to_string())?;
    let mut request = tonic::Request::new(body);
    request.set_timeout(Duration::from_secs(30));
    if !token.is_empty()
        && let Ok(value) = MetadataValue::try_from(format!("Bearer {token}"))
    {
        request.metadata_mut().insert("authorization", value);
    }
    let bound = Duration::from_secs(40);
    let outcome = if method.server_streaming {
        tokio::time::timeout(bound, async {
            match grpc.server_streaming(request, path, RawCodec).await {
                Ok(response) => {
                    let mut stream = response.into_inner();
                    // The first message or a short quiet: either way the stream was accepted.
                    match tokio::time::timeout(Duration::from_millis(300), stream.message()).await {
                        Ok(Err(status)) => status.code(),
                        _ => Code::Ok,
                    }
                }
                Err(status) => status.code(),
            }
        })
        .await
    } else {
        tokio::time::timeout(bound, async {
            match grpc.unary(request, path, RawCodec).await {
                Ok(_) => Code::Ok,
                Err(status) => status.code(),
            }
        })
        .await
    };
    outcome.map_err(|_| format!("no answer within {bound:?}"))
}

/// Whether a code says the service failed rather than refused the input.
fn ours(code: Code) -> bool {
    matches!(
        code,
        Code::Internal | Code::Unknown | Code::DataLoss | Code::Unimplemented | Code::Unavailable
    )
}

fn seed() -> u64 {
    std::env::var("TONGBAN_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_requests_never_fail_a_service() -> TestResult {
    tongban_testkit::init_telemetry();
    let env = TestEnv::new().await?;
    let running: Vec<(&str, Running)> = vec![
        ("certificate", env.spawn::<Certificate>().await?),
        ("intake", env.spawn::<Intake>().await?),
        ("review", env.spawn::<Review>().await?),
        ("logistics", env.spawn::<Logistics>().await?),
        ("hotline", env.spawn::<Hotline>().await?),
        ("supervision", env.spawn::<Supervision>().await?),
    ];
    let port = |name: &str| {
        running
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| r.port())
            .unwrap_or_default()
    };
    let ports_of = |service: &str| -> Vec<u16> {
        match service {
            "tongban.catalog.v1.CatalogService" | "tongban.intake.v1.IntakeService" => {
                vec![port("intake")]
            }
            "tongban.review.v1.ReviewService" => vec![port("review")],
            "tongban.certificate.v1.CertificateService" => vec![port("certificate")],
            "tongban.logistics.v1.LogisticsService" => vec![port("logistics")],
            "tongban.hotline.v1.HotlineService" => vec![port("hotline")],
            "tongban.supervision.v1.SupervisionService" => vec![port("supervision")],
            // Every service serves the operations service.
            _ => running.iter().map(|(_, r)| r.port()).collect(),
        }
    };

    // Real ids in the dictionary take requests past the first lookup.
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = tongban_e2e::catalog(port("intake"), &clerk);
    let submitted = tongban_e2e::intake(port("intake"), &clerk)
        .submit_case(
            tongban_e2e::submit_request(
                &mut catalog,
                "fuzz-seed-case",
                tongban_e2e::GZDD,
                tongban_e2e::HOME,
                tongban_proto::common::v1::Mode::Proxy,
            )
            .await?,
        )
        .await?
        .into_inner();
    let mut words: Vec<String> = [
        WINDOW,
        YINCHUAN_GONGAN,
        "640100-minzheng",
        "140000-gongan",
        "simulated",
        tongban_e2e::GZDD,
        "GA-HJ-ZM",
        "YJS-CS",
        tongban_e2e::HOME,
        "140922",
        tongban_e2e::ID_NUMBER,
        tongban_e2e::PHONE,
        tongban_e2e::NAME,
        "002X",
        "5678",
        "00000000-0000-0000-0000-000000000000",
        "2026-02-30",
        "9999-12-31",
        "-1",
        "113",
        "126",
        "R1",
        "1.2.156.3005.2.113.116401009755136411.000000000001.001.3",
        "SF1234567890",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    words.push(submitted.case_id.clone());
    words.push(submitted.case_number.clone());
    words.push(uuid::Uuid::new_v4().to_string());

    let offices = [WINDOW, YINCHUAN_GONGAN, "640100-minzheng", "140000-gongan"];
    let mut tokens = vec![String::new(), "not-a-token".to_owned()];
    for role in Role::ALL {
        for office in offices {
            tokens.push(env.mint(role, office));
        }
    }

    let set = FileDescriptorSet::decode(tongban_proto::FILE_DESCRIPTOR_SET)?;
    let schema = Schema::new(&set);
    let methods = methods(&set);
    assert!(
        methods.len() >= 50,
        "the descriptor set lists {} RPCs",
        methods.len()
    );
    let cases: u64 = std::env::var("TONGBAN_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed = seed();
    println!("fuzz seed {seed} (TONGBAN_FUZZ_SEED={seed} replays it), {cases} requests per method");
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut generator = Generator {
        rng: TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
        schema: &schema,
        words,
    };

    let mut codes: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut failures = Vec::new();
    for method in &methods {
        for port in ports_of(&method.service) {
            let channel = channel(port);
            for _ in 0..cases {
                let body = generator.request(method);
                let token = tokens[generator.below(tokens.len() as u64) as usize].clone();
                let head: String = body.iter().take(48).map(|b| format!("{b:02x}")).collect();
                let outcome = call(channel.clone(), method, body, &token).await;
                let label = match &outcome {
                    Ok(code) => format!("{code:?}"),
                    Err(e) => e.clone(),
                };
                *codes
                    .entry(format!("{}/{}", method.service, method.name))
                    .or_default()
                    .entry(label.clone())
                    .or_default() += 1;
                if outcome.map_or(true, ours) {
                    failures.push(format!(
                        "{}/{} on port {port}: {label} (request starts {head})",
                        method.service, method.name
                    ));
                }
            }
        }
    }
    for (method, by_code) in &codes {
        println!("{method}: {by_code:?}");
    }

    // Every service still answers: SERVING, and a well-formed request works.
    for (name, service) in &running {
        let status = HealthClient::new(channel(service.port()))
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{name} after fuzzing");
    }
    let matters = catalog
        .list_matters(ListMattersRequest::default())
        .await?
        .into_inner();
    assert!(!matters.matters.is_empty());

    assert!(
        failures.is_empty(),
        "seed {seed}: {} requests failed a service:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (_, service) in running {
        service.stop().await?;
    }
    env.cleanup().await?;
    Ok(())
}
