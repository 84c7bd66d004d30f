//! The same-run floor (基线): what the deployment's PostgreSQL and JetStream can do at all, measured
//! by the same command just before the load, so the lifecycle rate can be read against it.
//!
//! Three measurements of equal length, each from `floor_connections` concurrent workers:
//! 1. PostgreSQL commits/s: BEGIN; one small INSERT; COMMIT — per iteration, into a table of a
//!    scratch schema `tongban_bench_<uuid>`. The table is a regular (WAL-logged) table, not a
//!    TEMPORARY one: a temporary table writes no WAL, so its commits would not wait for the WAL
//!    flush that every service commit waits for, and the floor would be overstated.
//! 2. Acknowledged JetStream publishes/s: publish (with a `Nats-Msg-Id`, as the outbox relay
//!    does) and await the ack, on a scratch stream `TONGBAN_BENCH_<uuid>` with the storage of
//!    the services' stream (file).
//! 3. Pairs/s: one commit, then one acknowledged publish, per iteration — the unit of work a
//!    state change costs (commit it with its outbox row, relay it).
//!
//! The scratch schema and stream are removed afterwards, also when a measurement fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use serde::Serialize;
use sqlx::{Connection as _, PgConnection};

use crate::BenchError;

/// The floor of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    /// Length of each measurement, seconds.
    pub seconds_each: f64,
    /// Concurrent workers of each measurement.
    pub connections: usize,
    /// PostgreSQL commits per second.
    pub pg_commits_per_sec: f64,
    /// Acknowledged JetStream publishes per second.
    pub acked_publishes_per_sec: f64,
    /// One commit then one acknowledged publish, per second.
    pub pairs_per_sec: f64,
}

/// Measures the floor.
///
/// # Errors
/// [`BenchError::Database`] or [`BenchError::Nats`] when a connection, the scratch objects or a
/// measurement fail (the scratch objects are removed in any case).
pub async fn measure(
    database_url: &str,
    nats_url: &str,
    each: Duration,
    connections: usize,
) -> Result<Floor, BenchError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let schema = format!("tongban_bench_{id}");
    let stream_name = format!("TONGBAN_BENCH_{id}");
    let subject = format!("tongban_bench_{id}.floor");

    let nats = async_nats::ConnectOptions::new()
        .name("tongban-bench-floor")
        .connection_timeout(Duration::from_secs(5))
        .connect(nats_url)
        .await
        .map_err(|e| nats_error("connect", &e))?;
    let js = jetstream::new(nats);

    let mut admin = PgConnection::connect(database_url)
        .await
        .map_err(db("connect"))?;
    // `schema` is a fixed prefix and 32 hex digits: a plain identifier.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .map_err(db("create the scratch schema"))?;

    let measured = async {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {schema}.commits (id bigserial PRIMARY KEY, worker integer NOT NULL, \
             at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)"
        )))
        .execute(&mut admin)
        .await
        .map_err(db("create the scratch table"))?;
        js.create_stream(stream::Config {
            name: stream_name.clone(),
            subjects: vec![format!("tongban_bench_{id}.>")],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            max_age: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .map_err(|e| nats_error("create the scratch stream", &e))?;

        let insert = format!("INSERT INTO {schema}.commits (worker, note) VALUES ($1, $2)");
        let pg = run_workers(connections, each, |worker| {
            let (url, insert) = (database_url.to_owned(), insert.clone());
            async move { Pg::connect(&url, insert, worker).await }
        })
        .await?;
        let acked = run_workers(connections, each, |_| {
            let (js, subject) = (js.clone(), subject.clone());
            async move { Ok(Publisher { js, subject }) }
        })
        .await?;
        let pairs = run_workers(connections, each, |worker| {
            let (url, insert) = (database_url.to_owned(), insert.clone());
            let (js, subject) = (js.clone(), subject.clone());
            async move {
                Ok(Pair {
                    pg: Pg::connect(&url, insert, worker).await?,
                    publisher: Publisher { js, subject },
                })
            }
        })
        .await?;
        Ok::<_, BenchError>(Floor {
            seconds_each: each.as_secs_f64(),
            connections,
            pg_commits_per_sec: pg,
            acked_publishes_per_sec: acked,
            pairs_per_sec: pairs,
        })
    }
    .await;

    // Clean up whatever happened above; report the first failure.
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut admin)
    .await
    .map_err(db("drop the scratch schema"));
    let _ = admin.close().await;
    let deleted = match js.delete_stream(&stream_name).await {
        Ok(_) => Ok(()),
        // Never created (the failure was earlier).
        Err(e) if e.to_string().contains("not found") => Ok(()),
        Err(e) => Err(nats_error("delete the scratch stream", &e)),
    };
    let floor = measured?;
    dropped?;
    deleted?;
    Ok(floor)
}

/// One unit of floor work, repeated by a worker.
trait Step: Send + 'static {
    fn step(&mut self, n: u64) -> impl Future<Output = Result<(), BenchError>> + Send;
}

struct Pg {
    conn: PgConnection,
    insert: String,
    worker: i32,
}

impl Pg {
    async fn connect(url: &str, insert: String, worker: usize) -> Result<Self, BenchError> {
        Ok(Self {
            conn: PgConnection::connect(url)
                .await
                .map_err(db("connect a floor worker"))?,
            insert,
            worker: i32::try_from(worker).unwrap_or(i32::MAX),
        })
    }
}

impl Step for Pg {
    async fn step(&mut self, _n: u64) -> Result<(), BenchError> {
        let mut tx = self.conn.begin().await.map_err(db("BEGIN"))?;
        sqlx::query(sqlx::AssertSqlSafe(self.insert.clone()))
            .bind(self.worker)
            .bind("floor")
            .execute(&mut *tx)
            .await
            .map_err(db("INSERT"))?;
        tx.commit().await.map_err(db("COMMIT"))
    }
}

struct Publisher {
    js: jetstream::Context,
    subject: String,
}

impl Step for Publisher {
    async fn step(&mut self, _n: u64) -> Result<(), BenchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            "Nats-Msg-Id",
            uuid::Uuid::new_v4().simple().to_string().as_str(),
        );
        // A payload about the size of a small event envelope.
        let payload = bytes_of(256);
        let ack = self
            .js
            .publish_with_headers(self.subject.clone(), headers, payload.into())
            .await
            .map_err(|e| nats_error("publish", &e))?;
        ack.await.map_err(|e| nats_error("await the ack", &e))?;
        Ok(())
    }
}

struct Pair {
    pg: Pg,
    publisher: Publisher,
}

impl Step for Pair {
    async fn step(&mut self, n: u64) -> Result<(), BenchError> {
        self.pg.step(n).await?;
        self.publisher.step(n).await
    }
}

fn bytes_of(len: usize) -> Vec<u8> {
    vec![b'x'; len]
}

/// Runs `connections` workers built by `make` for `each`; the rate of completed steps per second.
async fn run_workers<S, F, Fut>(
    connections: usize,
    each: Duration,
    make: F,
) -> Result<f64, BenchError>
where
    S: Step,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<S, BenchError>>,
{
    let mut workers = Vec::with_capacity(connections);
    for worker in 0..connections {
        workers.push(make(worker).await?);
    }
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + each;
    let mut tasks = tokio::task::JoinSet::new();
    for mut worker in workers {
        let done = done.clone();
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < end {
                worker.step(n).await?;
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, BenchError>(())
        });
    }
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(BenchError::Config(format!("floor worker failed: {e}")));
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(done.load(Ordering::Relaxed) as f64 / elapsed.max(f64::EPSILON))
}

fn db(what: &'static str) -> impl Fn(sqlx::Error) -> BenchError {
    move |source| BenchError::Database { what, source }
}

fn nats_error(what: &'static str, err: &dyn std::error::Error) -> BenchError {
    let mut reason = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        reason.push_str(&format!(" ← {cause}"));
        source = cause.source();
    }
    BenchError::Nats { what, reason }
}
