//! One isolated environment per test: its own database, stream, subject root and state
//! directory, removed afterwards even when the test fails.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::GetStreamErrorKind;
use sqlx::{Connection as _, PgConnection};
use tongban_runtime::auth::{Claims, Role, TokenKeys};
use tongban_runtime::settings::Settings;
use tongban_telemetry::TelemetryGuard;
use uuid::Uuid;

use crate::spawn::{Running, Service};
use crate::{TestkitError, error_chain};

/// Admin connection used to create and drop test databases (`TONGBAN_TEST_DATABASE_URL`).
const DATABASE_URL_VAR: &str = "TONGBAN_TEST_DATABASE_URL";
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// NATS server (>= 2.10) with JetStream (`TONGBAN_TEST_NATS_URL`).
const NATS_URL_VAR: &str = "TONGBAN_TEST_NATS_URL";
/// Where `deploy/lib/deps.sh` `ensure_nats` runs the pinned nats-server when no recent one
/// answers on 4222 (`deploy/test.sh` exports the one it chose).
const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4223";
/// Lifetime of minted test tokens.
const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// Bound on each step of the best-effort cleanup run from `Drop`.
const DROP_CLEANUP_TIMEOUT: Duration = Duration::from_secs(20);

/// Telemetry of the test process, set up once and kept for the whole process.
static TELEMETRY: OnceLock<TelemetryGuard> = OnceLock::new();

/// Sets up logging and tracing for the test process (`tongban-tests`); safe to call repeatedly.
/// [`TestEnv::new`] calls it.
pub fn init_telemetry() {
    TELEMETRY.get_or_init(|| tongban_telemetry::init("tongban-tests"));
}

/// The resources of one test: a database `tb_test_<uuid>`, a JetStream stream `TB_<uuid>` on the
/// subject root `tbt_<uuid>`, a state directory with this environment's keys, and the repository's
/// `deploy/` directory for reference data.
pub struct TestEnv {
    id: String,
    admin_url: String,
    database: String,
    database_url: String,
    nats_url: String,
    stream: String,
    subject_root: String,
    state_dir: PathBuf,
    deploy_dir: PathBuf,
    tokens: Arc<TokenKeys>,
    nats: async_nats::Client,
    clock: tongban_runtime::clock::ManualClock,
    cleaned: bool,
}

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("database", &self.database)
            .field("stream", &self.stream)
            .field("subject_root", &self.subject_root)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

/// Where every test environment's clock starts: Monday 2026-11-02 09:00 Shanghai. Fixed, so a
/// test's time limits never depend on the day it runs and never run past the holiday data.
fn test_epoch() -> chrono::DateTime<chrono::Utc> {
    // 2026-11-02T01:00:00Z is a valid instant.
    chrono::DateTime::from_timestamp(1_793_581_200, 0).unwrap_or_default()
}

impl TestEnv {
    /// Creates the database and the state directory (with fresh token keys) and connects to
    /// NATS. The stream itself is created by the first service that starts.
    ///
    /// # Errors
    /// PostgreSQL or NATS cannot be reached, or the directory or keys cannot be created; what was
    /// already created is removed again.
    pub async fn new() -> Result<Self, TestkitError> {
        init_telemetry();
        let id = Uuid::new_v4().simple().to_string();
        let admin_url = env_or(DATABASE_URL_VAR, DEFAULT_DATABASE_URL);
        let nats_url = env_or(NATS_URL_VAR, DEFAULT_NATS_URL);
        let database = format!("tb_test_{id}");
        let database_url = with_database(&admin_url, &database);
        let state_dir = std::env::temp_dir().join(format!("tongban-test-{id}"));

        let mut admin =
            PgConnection::connect(&admin_url)
                .await
                .map_err(|source| TestkitError::Database {
                    what: "connect as admin",
                    source,
                })?;
        // The name is `tb_test_` followed by 32 lower-case hex digits: a plain identifier.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .map_err(|source| TestkitError::Database {
                what: "create the test database",
                source,
            })?;
        let _ = admin.close().await;

        let rest = async {
            std::fs::create_dir_all(&state_dir).map_err(|source| TestkitError::Io {
                path: state_dir.display().to_string(),
                source,
            })?;
            let tokens = TokenKeys::load_or_create(&state_dir)?;
            let nats = async_nats::ConnectOptions::new()
                .name("tongban-tests")
                .connection_timeout(Duration::from_secs(5))
                .connect(&nats_url)
                .await
                .map_err(|err| TestkitError::Nats {
                    what: "connect",
                    reason: error_chain(&err),
                })?;
            Ok::<_, TestkitError>((tokens, nats))
        };
        let stream = format!("TB_{id}");
        let subject_root = format!("tbt_{id}");
        match rest.await {
            Ok((tokens, nats)) => Ok(Self {
                clock: tongban_runtime::clock::ManualClock::new(test_epoch()),
                id,
                admin_url,
                database,
                database_url,
                nats_url,
                stream,
                subject_root,
                state_dir,
                deploy_dir: deploy_dir(),
                tokens: Arc::new(tokens),
                nats,
                cleaned: false,
            }),
            Err(err) => {
                let _ = remove_all(&admin_url, &database, &nats_url, &stream, &state_dir).await;
                Err(err)
            }
        }
    }

    /// The random id shared by this environment's database, stream and directory names.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Settings for `service` (its schema is the service name) on this environment, listening on
    /// 127.0.0.1 with a port chosen by the system.
    #[must_use]
    pub fn settings(&self, service: &str) -> Settings {
        Settings {
            database_url: self.database_url.clone(),
            nats_url: self.nats_url.clone(),
            stream: self.stream.clone(),
            subject_root: self.subject_root.clone(),
            deploy_dir: self.deploy_dir.clone(),
            state_dir: self.state_dir.clone(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            schema: service.to_owned(),
            clock: Arc::new(self.clock.clone()),
            // Nothing listens on the discard port: a test that presents certificates points
            // this at its own certificate service; otherwise verification fails closed.
            certificate_url: "http://127.0.0.1:9".to_owned(),
            tls: None,
            tls_ca: None,
        }
    }

    /// The clock every service of this environment reads; tests move it to let days pass.
    #[must_use]
    pub fn clock(&self) -> &tongban_runtime::clock::ManualClock {
        &self.clock
    }

    /// Starts service `S` on this environment (see [`Running::start`]).
    ///
    /// # Errors
    /// The service failed to build.
    pub async fn spawn<S: Service>(&self) -> Result<Running, TestkitError> {
        Running::start::<S>(self.settings(S::NAME)).await
    }

    /// A bearer token for a user acting as `role` for `office`, valid for an hour, signed with
    /// this environment's keys (the services load the same keys from the state directory).
    ///
    /// # Panics
    /// Never in practice: minting fails only if the claims cannot be encoded as JSON.
    #[must_use]
    pub fn mint(&self, role: Role, office: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let claims = Claims::new(
            format!("test-{}", role.as_str()),
            role,
            office,
            TOKEN_TTL,
            now,
        );
        // Claims are plain strings and integers; encoding them as JSON cannot fail.
        self.tokens.mint(&claims).expect("claims encode as JSON")
    }

    /// A token for `role` at `office` for the user `user` (two reviewers of one office are two
    /// users; [`TestEnv::mint`] names every user of a role alike).
    ///
    /// # Panics
    /// Never: claims are plain strings and integers.
    #[must_use]
    pub fn mint_as(&self, role: Role, office: &str, user: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let claims = Claims::new(user.to_owned(), role, office, TOKEN_TTL, now);
        // Claims are plain strings and integers; encoding them as JSON cannot fail.
        self.tokens.mint(&claims).expect("claims encode as JSON")
    }

    /// A token for `role` at `office` valid for `ttl`, signed with `keys` (another deployment's,
    /// say): for tests of what the services refuse. [`TestEnv::mint`] is the usual way.
    ///
    /// # Errors
    /// What [`TokenKeys::mint`] refuses, e.g. a lifetime over 12 hours.
    pub fn mint_with(
        keys: &TokenKeys,
        role: Role,
        office: &str,
        ttl: Duration,
    ) -> Result<String, TestkitError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let claims = Claims::new(format!("test-{}", role.as_str()), role, office, ttl, now);
        Ok(keys.mint(&claims)?)
    }

    /// Revokes `token` (minted by this environment) as `tongban token revoke` would: its id is
    /// appended to the state directory's revocation list, which running services re-read.
    ///
    /// # Errors
    /// The token is not one of this environment's valid tokens, or the list cannot be written.
    pub fn revoke(&self, token: &str) -> Result<(), TestkitError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let claims = self.tokens.verify(token, now)?;
        tongban_runtime::auth::revoke(&self.state_dir, &claims.token_id)?;
        Ok(())
    }

    /// The test's NATS connection (for reading the stream).
    #[must_use]
    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    /// The JetStream stream name (`TB_<uuid>`).
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The subject root (`tbt_<uuid>`).
    #[must_use]
    pub fn subject_root(&self) -> &str {
        &self.subject_root
    }

    /// URL of this environment's database.
    #[must_use]
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Deletes the stream, drops the database (`WITH (FORCE)`, closing any connection left) and
    /// removes the state directory. Stop the services first.
    ///
    /// # Errors
    /// The first step that failed; the later steps are still attempted.
    pub async fn cleanup(mut self) -> Result<(), TestkitError> {
        self.cleaned = true;
        remove_all(
            &self.admin_url,
            &self.database,
            &self.nats_url,
            &self.stream,
            &self.state_dir,
        )
        .await
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        // A test that failed (or forgot `cleanup`): remove everything best-effort on a thread
        // with its own runtime, since the test's runtime may be single-threaded and busy here.
        let admin_url = self.admin_url.clone();
        let database = self.database.clone();
        let nats_url = self.nats_url.clone();
        let stream = self.stream.clone();
        let state_dir = self.state_dir.clone();
        let cleaner = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                eprintln!(
                    "测试环境清理失败：无法创建运行时 / test cleanup failed: no runtime for {database}"
                );
                return;
            };
            let removed = runtime.block_on(async {
                tokio::time::timeout(
                    DROP_CLEANUP_TIMEOUT,
                    remove_all(&admin_url, &database, &nats_url, &stream, &state_dir),
                )
                .await
            });
            match removed {
                Ok(Ok(())) => {}
                Ok(Err(err)) => eprintln!(
                    "测试环境清理失败 / test cleanup failed for {database}: {}",
                    error_chain(&err)
                ),
                Err(_) => eprintln!("测试环境清理超时 / test cleanup timed out for {database}"),
            }
        });
        let _ = cleaner.join();
    }
}

/// Removes the stream, the database and the directory; reports the first failure after trying
/// all three.
async fn remove_all(
    admin_url: &str,
    database: &str,
    nats_url: &str,
    stream: &str,
    state_dir: &Path,
) -> Result<(), TestkitError> {
    // The bus keeps the server's advisories about the stream's consumers beside it.
    let advisories_removed = delete_stream(
        nats_url,
        &tongban_bus::dead_letter::advisory_stream_name(stream),
    )
    .await;
    let stream_removed = delete_stream(nats_url, stream)
        .await
        .and(advisories_removed);
    let database_dropped = drop_database(admin_url, database).await;
    let dir_removed = match std::fs::remove_dir_all(state_dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(TestkitError::Io {
            path: state_dir.display().to_string(),
            source: err,
        }),
        _ => Ok(()),
    };
    stream_removed.and(database_dropped).and(dir_removed)
}

async fn delete_stream(nats_url: &str, stream: &str) -> Result<(), TestkitError> {
    let client = async_nats::ConnectOptions::new()
        .name("tongban-tests-cleanup")
        .connection_timeout(Duration::from_secs(5))
        .connect(nats_url)
        .await
        .map_err(|err| TestkitError::Nats {
            what: "connect for cleanup",
            reason: error_chain(&err),
        })?;
    let jetstream = async_nats::jetstream::new(client);
    match jetstream.delete_stream(stream).await {
        Ok(_) => Ok(()),
        // The stream was never created (no service started) or is gone already.
        Err(err) if matches!(err.kind(), GetStreamErrorKind::JetStream(ref js) if js.error_code() == ErrorCode::STREAM_NOT_FOUND) => {
            Ok(())
        }
        Err(err) => Err(TestkitError::Nats {
            what: "delete the test stream",
            reason: error_chain(&err),
        }),
    }
}

async fn drop_database(admin_url: &str, database: &str) -> Result<(), TestkitError> {
    let mut admin =
        PgConnection::connect(admin_url)
            .await
            .map_err(|source| TestkitError::Database {
                what: "connect as admin for cleanup",
                source,
            })?;
    // `database` is `tb_test_<32 hex>`, built by `TestEnv::new`: a plain identifier.
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .map(|_| ())
    .map_err(|source| TestkitError::Database {
        what: "drop the test database",
        source,
    });
    let _ = admin.close().await;
    dropped
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// `url` with its database name replaced by `database` (query parameters kept).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// `<workspace>/deploy`, found from this crate's manifest directory.
fn deploy_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The crate lives at <workspace>/crates/tongban-testkit.
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .join("deploy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "tb_test_1"),
            "postgres://postgres@127.0.0.1:5432/tb_test_1"
        );
        assert_eq!(
            with_database("postgres://u:p@db:5432?sslmode=disable", "tb_test_1"),
            "postgres://u:p@db:5432/tb_test_1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h/x?a=b", "y"),
            "postgres://h/y?a=b"
        );
    }

    #[test]
    fn deploy_dir_holds_the_catalog() {
        assert!(deploy_dir().join("catalog").is_dir());
    }
}
