//! The audit chainer on the real system clock: entries written by steps while it runs are
//! chained without the steps waiting for it, and a checkpoint is signed by time (not only by
//! count) once the policy's period has passed.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tongban_cert::audit_chain::{self, StoredEntry};
use tongban_cert::keys::PublicKey;
use tongban_runtime::audit::{AuditTrail, CheckpointPolicy, chain_entry, public_key_path};
use tongban_step::{Actor, Effects, Executor};
use tongban_testkit::{TestEnv, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chainer_chains_and_checkpoints_by_time_on_the_system_clock()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let settings = env.settings("audit_test");
    let pool = tongban_store::connect(env.database_url(), "audit_test", 4).await?;
    tongban_store::migrate(&pool, &sqlx::migrate::Migrator::with_migrations(Vec::new())).await?;
    // Far more entries than written here: only the period can trigger a checkpoint.
    let policy = CheckpointPolicy {
        entries: 1_000_000,
        every: Duration::from_millis(300),
        tick: Duration::from_millis(50),
    };
    let trail = AuditTrail::open("audit_test", pool.clone(), &settings.state_dir, policy)?;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(trail.clone().run(shutdown.clone()));

    let executor = Executor::new("audit_test");
    for round in 0..2 {
        for n in 0..3 {
            let mut step = executor
                .begin(
                    &pool,
                    Actor::person("clerk1", "clerk", "140922-zwfw"),
                    Utc::now(),
                )
                .await?;
            let mut effects = Effects::new();
            effects.audit(
                "thing.touch",
                "thing",
                format!("{round}-{n}"),
                None,
                Some(serde_json::json!({"n": n, "round": round})),
            );
            step.apply(effects).await?;
            step.commit().await?;
        }
        // Six entries at most: each round is sealed by time, by a checkpoint at its end.
        let want = 3 * (round + 1);
        let sealed = eventually(Duration::from_secs(20), || {
            let pool = pool.clone();
            async move {
                let mut conn = pool.acquire().await.ok()?;
                let last = tongban_store::audit_chain::last_checkpoint(&mut conn)
                    .await
                    .ok()??;
                (last.seq == want).then_some(last)
            }
        })
        .await?;
        assert_eq!(sealed.seq, want);
    }
    shutdown.cancel();
    running.await?;

    // What was stored verifies against the pinned key.
    let mut conn = pool.acquire().await?;
    let chained = tongban_store::audit_chain::list_chain(&mut conn, 0, 100).await?;
    let entries: Vec<StoredEntry> = chained
        .iter()
        .map(|c| StoredEntry {
            entry: chain_entry(c.seq, c.row.as_ref().unwrap()),
            stored_hash: c.hash.as_slice().try_into().unwrap(),
            present: c.row.is_some(),
        })
        .collect();
    let checkpoints: Vec<audit_chain::Checkpoint> =
        tongban_store::audit_chain::list_checkpoints(&mut conn, 0, 100)
            .await?
            .into_iter()
            .map(|c| audit_chain::Checkpoint {
                service: "audit_test".to_owned(),
                seq: c.seq,
                head_hash: c.head_hash.as_slice().try_into().unwrap(),
                at_micros: c.at_micros,
                key_id: c.key_id,
                public_key: c.public_key,
                signature: c.signature,
            })
            .collect();
    assert!(checkpoints.len() >= 2, "{checkpoints:?}");
    let pinned = std::fs::read_to_string(public_key_path(&settings.state_dir, "audit_test"))?;
    let pinned = PublicKey::from_hex(pinned.trim())?;
    let report = audit_chain::verify(&entries, &checkpoints, Some(&pinned));
    assert_eq!(report.finding, None);
    assert_eq!(report.entries, 6);
    assert_eq!(report.sealed_seq, 6);
    drop(conn);
    pool.close().await;
    env.cleanup().await?;
    Ok(())
}
