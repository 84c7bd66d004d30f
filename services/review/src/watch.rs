//! WatchAssignments: an office's inbox as a server stream.
//!
//! Every insert or update of an assignment NOTIFYs its case id (a trigger in the schema). One
//! listener per process ([`run_feed`]) puts the ids on one broadcast channel. Each office that
//! has watchers gets one fan-out task ([`Hub`]): it reads the ids, asks the database once which
//! of the office's rows a change touched, and broadcasts the resulting views to every watcher of
//! that office — one query per change per office, however many watchers it has.
//!
//! Three limits keep the stream bounded ([`WatchLimits`]): a cap on the open streams of one
//! office (one more is refused with RESOURCE_EXHAUSTED), an idle timeout (a stream with no
//! change for that long is ended cleanly), and the depth of the channels. A watcher — or an
//! office's fan-out task — that falls more than the depth behind is not left to silently miss
//! what it skipped: it is sent the office's whole current inbox again, each message marked
//! with `resync` (review.proto), and reads on from there.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::Stream;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tongban_domain::i18n::Lang;
use tongban_domain::reference::ReferenceData;
use tongban_proto::review::v1::{Assignment, WatchResync};
use tongban_runtime::clock::SharedClock;
use tongban_runtime::settings::SettingsError;
use tonic::Status;
use uuid::Uuid;

use crate::error::ReviewError;
use crate::repo;
use crate::view;

/// NOTIFY channel of the assignments trigger.
const CHANNEL: &str = "tongban_review_assignments";
/// The most rows a snapshot or a resync holds (as ListAssignments' largest page).
const INBOX_ROWS: i64 = 1000;
/// How often an open stream looks at its idle time, at most.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Variable of [`WatchLimits::streams_per_office`].
pub const STREAMS_PER_OFFICE_VAR: &str = "TONGBAN_REVIEW_WATCH_STREAMS_PER_OFFICE";
/// Variable of [`WatchLimits::idle`], in whole seconds.
pub const IDLE_SECS_VAR: &str = "TONGBAN_REVIEW_WATCH_IDLE_SECS";
/// Variable of [`WatchLimits::buffer`].
pub const BUFFER_VAR: &str = "TONGBAN_REVIEW_WATCH_BUFFER";

/// The limits of WatchAssignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchLimits {
    /// Open streams one office may have at once (`TONGBAN_REVIEW_WATCH_STREAMS_PER_OFFICE`,
    /// default 20); one more is refused with RESOURCE_EXHAUSTED.
    pub streams_per_office: NonZeroUsize,
    /// A stream with no change for this long is ended cleanly (`TONGBAN_REVIEW_WATCH_IDLE_SECS`,
    /// default 30 minutes), measured on the service's clock.
    pub idle: Duration,
    /// Depth of the change channels (`TONGBAN_REVIEW_WATCH_BUFFER`, default 256): how many
    /// changes a watcher may fall behind before it is resynced with the whole inbox.
    pub buffer: NonZeroUsize,
}

impl Default for WatchLimits {
    fn default() -> Self {
        Self {
            streams_per_office: NonZeroUsize::new(20).unwrap_or(NonZeroUsize::MIN),
            idle: Duration::from_secs(30 * 60),
            buffer: NonZeroUsize::new(256).unwrap_or(NonZeroUsize::MIN),
        }
    }
}

impl WatchLimits {
    /// The limits from the environment; an unset or empty variable keeps its default.
    ///
    /// # Errors
    /// A variable set to something other than a positive whole number.
    pub fn from_env() -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let streams = positive(STREAMS_PER_OFFICE_VAR)?.unwrap_or(defaults.streams_per_office);
        let idle = positive(IDLE_SECS_VAR)?
            .map_or(defaults.idle, |secs| Duration::from_secs(secs.get() as u64));
        let buffer = positive(BUFFER_VAR)?.unwrap_or(defaults.buffer);
        Ok(Self {
            streams_per_office: streams,
            idle,
            buffer,
        })
    }
}

/// A positive whole number from variable `name`, if set.
fn positive(name: &str) -> Result<Option<NonZeroUsize>, SettingsError> {
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => {
            raw.trim()
                .parse::<NonZeroUsize>()
                .map(Some)
                .map_err(|e| SettingsError {
                    name: name.to_owned(),
                    reason: format!("{raw:?} is not a positive whole number: {e}"),
                })
        }
        _ => Ok(None),
    }
}

/// What the listener tells the offices' fan-out tasks.
#[derive(Debug, Clone, Copy)]
enum Notice {
    /// An assignment of this case was inserted or updated.
    Changed(Uuid),
    /// The listener lost its connection and is back: changes in between may be unknown.
    Reconnected,
}

/// What an office's fan-out task sends its watchers.
#[derive(Clone)]
enum Update {
    /// The office's rows one change touched.
    Changed(Arc<Vec<Assignment>>),
    /// The fan-out task itself fell behind the feed: the office's whole inbox.
    Resync(Arc<Vec<Assignment>>),
    /// The rows of a change could not be read: the watchers end (and may watch again).
    Failed,
}

/// An office with watchers: its fan-out channel and task.
struct Office {
    updates: broadcast::Sender<Update>,
    watchers: usize,
    stop: CancellationToken,
}

struct Inner {
    changes: broadcast::Sender<Notice>,
    offices: Mutex<HashMap<String, Office>>,
    limits: WatchLimits,
    pool: PgPool,
    reference: Arc<ReferenceData>,
    clock: SharedClock,
    shutdown: CancellationToken,
}

/// The watchers of the process, by office.
#[derive(Clone)]
pub(crate) struct Hub {
    inner: Arc<Inner>,
}

/// The stream WatchAssignments answers with.
pub(crate) type WatchStream =
    Pin<Box<dyn Stream<Item = Result<Assignment, Status>> + Send + 'static>>;

impl Hub {
    /// A hub reading `pool` with `limits`; its tasks end on `shutdown`.
    pub(crate) fn new(
        pool: PgPool,
        reference: Arc<ReferenceData>,
        clock: SharedClock,
        limits: WatchLimits,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                changes: broadcast::channel(limits.buffer.get()).0,
                offices: Mutex::new(HashMap::new()),
                limits,
                pool,
                reference,
                clock,
                shutdown,
            }),
        }
    }

    /// Opens a watch of `office`'s inbox: the snapshot, then each change, until the caller goes
    /// away, the stream is idle for [`WatchLimits::idle`] or the service stops.
    ///
    /// # Errors
    /// [`ReviewError::TooManyWatchers`] when the office has its limit of streams open; a
    /// database error reading the snapshot.
    pub(crate) async fn watch(
        &self,
        office: String,
        lang: Lang,
    ) -> Result<WatchStream, ReviewError> {
        // Join the office's fan-out before reading the snapshot, so no change falls between
        // the two (a change in both is sent twice, which is harmless).
        let (updates, membership) = self.join(&office)?;
        let snapshot = inbox(&self.inner.pool, &self.inner.reference, &office).await?;
        let (tx, rx) = mpsc::channel(self.inner.limits.buffer.get());
        let watcher = Watcher {
            inner: Arc::clone(&self.inner),
            office,
            lang,
            tx,
            _membership: membership,
        };
        tokio::spawn(watcher.run(snapshot, updates));
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    /// Counts a new watcher of `office` (starting the office's fan-out task for its first),
    /// within the cap.
    fn join(&self, office: &str) -> Result<(broadcast::Receiver<Update>, Membership), ReviewError> {
        let limit = self.inner.limits.streams_per_office.get();
        let mut offices = self
            .inner
            .offices
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = offices.entry(office.to_owned()).or_insert_with(|| {
            let updates = broadcast::channel(self.inner.limits.buffer.get()).0;
            let stop = self.inner.shutdown.child_token();
            tokio::spawn(fan_out(
                self.inner.pool.clone(),
                Arc::clone(&self.inner.reference),
                office.to_owned(),
                self.inner.changes.subscribe(),
                updates.clone(),
                stop.clone(),
            ));
            Office {
                updates,
                watchers: 0,
                stop,
            }
        });
        if entry.watchers >= limit {
            return Err(ReviewError::TooManyWatchers { limit });
        }
        entry.watchers += 1;
        Ok((
            entry.updates.subscribe(),
            Membership {
                inner: Arc::clone(&self.inner),
                office: office.to_owned(),
            },
        ))
    }

    /// Listens for changes until shutdown; reconnects after errors.
    pub(crate) async fn run_feed(self) {
        let inner = &self.inner;
        let mut connected_before = false;
        loop {
            let mut listener = match PgListener::connect_with(&inner.pool).await {
                Ok(l) => l,
                Err(err) => {
                    tracing::warn!(error = %err, "assignment feed cannot connect; retrying");
                    tokio::select! {
                        () = inner.shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            if let Err(err) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %err, "assignment feed cannot LISTEN; retrying");
                continue;
            }
            if std::mem::replace(&mut connected_before, true) {
                // Notifications sent while no listener was connected are gone: every office
                // resyncs its watchers.
                let _ = inner.changes.send(Notice::Reconnected);
            }
            loop {
                tokio::select! {
                    () = inner.shutdown.cancelled() => return,
                    next = listener.recv() => match next {
                        Ok(n) => {
                            if let Ok(id) = Uuid::parse_str(n.payload()) {
                                // No receiver is fine: nobody is watching.
                                let _ = inner.changes.send(Notice::Changed(id));
                            }
                        }
                        Err(err) => {
                            // Changes made while reconnecting are not lost for good: every
                            // watcher is resynced once the feed is back (above).
                            tracing::warn!(error = %err, "assignment feed lost; reconnecting");
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// One watcher counted in its office; leaving (dropping it) stops the office's fan-out task
/// when it was the last.
struct Membership {
    inner: Arc<Inner>,
    office: String,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut offices = self
            .inner
            .offices
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = offices.get_mut(&self.office) {
            entry.watchers = entry.watchers.saturating_sub(1);
            if entry.watchers == 0 {
                entry.stop.cancel();
                offices.remove(&self.office);
            }
        }
    }
}

/// The office's whole current inbox, as the snapshot and a resync show it.
async fn inbox(
    pool: &PgPool,
    reference: &ReferenceData,
    office: &str,
) -> Result<Vec<Assignment>, ReviewError> {
    let mut conn = pool.acquire().await?;
    let rows = repo::list(&mut conn, office, &[], INBOX_ROWS).await?;
    Ok(view::assignments(&mut conn, reference, &rows).await?)
}

/// The office's rows a change of `case_id` touched: its own row of the case (a 多地联办 part
/// changed elsewhere also moves the case status shown on it) and its rows of the case's bundle
/// members (their bundle status follows).
async fn touched(
    pool: &PgPool,
    reference: &ReferenceData,
    case_id: Uuid,
    office: &str,
) -> Result<Vec<Assignment>, ReviewError> {
    let mut conn = pool.acquire().await?;
    let rows = repo::touched_by(&mut conn, case_id, office).await?;
    Ok(view::assignments(&mut conn, reference, &rows).await?)
}

/// The fan-out task of one office: one query per change, its result sent to every watcher of
/// the office. Ends when the office's last watcher leaves or at shutdown.
async fn fan_out(
    pool: PgPool,
    reference: Arc<ReferenceData>,
    office: String,
    mut changes: broadcast::Receiver<Notice>,
    updates: broadcast::Sender<Update>,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = changes.recv() => next,
        };
        let update = match next {
            Ok(Notice::Reconnected) => {
                tracing::info!(office = %office, "the assignment feed reconnected; resyncing the office's watchers");
                resync_of(&pool, &reference, &office).await
            }
            Ok(Notice::Changed(case_id)) => {
                match touched(&pool, &reference, case_id, &office).await {
                    Ok(rows) if rows.is_empty() => continue,
                    Ok(rows) => Update::Changed(Arc::new(rows)),
                    Err(err) => {
                        tracing::warn!(error = %err, office = %office, "cannot read a changed assignment; ending the office's watches");
                        Update::Failed
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, office = %office, "the office's watch fell behind the feed; resyncing its watchers");
                resync_of(&pool, &reference, &office).await
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        // No receiver is fine: the last watcher just left.
        let _ = updates.send(update);
    }
}

/// The office's whole inbox as a resync, or a failure.
async fn resync_of(pool: &PgPool, reference: &ReferenceData, office: &str) -> Update {
    match inbox(pool, reference, office).await {
        Ok(rows) => Update::Resync(Arc::new(rows)),
        Err(err) => {
            tracing::warn!(error = %err, office = %office, "cannot read the inbox to resync; ending the office's watches");
            Update::Failed
        }
    }
}

/// Every assignment of `rows` marked as a message of one resync.
fn marked(rows: &[Assignment]) -> Vec<Assignment> {
    let total = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    rows.iter()
        .zip(1..)
        .map(|(assignment, position)| Assignment {
            resync: Some(WatchResync { position, total }),
            ..assignment.clone()
        })
        .collect()
}

/// One open stream.
struct Watcher {
    inner: Arc<Inner>,
    office: String,
    lang: Lang,
    tx: mpsc::Sender<Result<Assignment, Status>>,
    _membership: Membership,
}

impl Watcher {
    /// Sends the snapshot, then each update, until the caller goes away, the stream is idle
    /// or the office's feed ends.
    async fn run(self, snapshot: Vec<Assignment>, mut updates: broadcast::Receiver<Update>) {
        if !self.send(snapshot).await {
            return;
        }
        let idle =
            chrono::TimeDelta::from_std(self.inner.limits.idle).unwrap_or(chrono::TimeDelta::MAX);
        let mut last_change = self.inner.clock.now();
        let mut check = tokio::time::interval(self.inner.limits.idle.min(IDLE_CHECK));
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch = tokio::select! {
                () = self.tx.closed() => return,
                () = self.inner.shutdown.cancelled() => return,
                _ = check.tick() => {
                    if self.inner.clock.now() - last_change >= idle {
                        tracing::debug!(office = %self.office, "watch idle; ending it");
                        return;
                    }
                    continue;
                }
                next = updates.recv() => match next {
                    Ok(Update::Changed(rows)) => rows.to_vec(),
                    Ok(Update::Resync(rows)) => marked(&rows),
                    Ok(Update::Failed) => {
                        let status = tongban_runtime::status::unavailable(
                            self.lang,
                            "待办变更推送暂不可用，请重新订阅",
                            "the inbox change feed is unavailable; watch again",
                        );
                        let _ = self.tx.send(Err(status)).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::info!(missed, office = %self.office, "a watcher fell behind; resyncing it");
                        match inbox(&self.inner.pool, &self.inner.reference, &self.office).await {
                            Ok(rows) => marked(&rows),
                            Err(err) => {
                                let _ = self.tx.send(Err(err.status(self.lang))).await;
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            last_change = self.inner.clock.now();
            if !self.send(batch).await {
                return;
            }
        }
    }

    /// Sends `assignments` in order; false once the caller has gone.
    async fn send(&self, assignments: Vec<Assignment>) -> bool {
        for assignment in assignments {
            if self.tx.send(Ok(assignment)).await.is_err() {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resync_numbers_its_messages() {
        let rows = vec![
            Assignment {
                case_id: "a".to_owned(),
                ..Assignment::default()
            },
            Assignment {
                case_id: "b".to_owned(),
                ..Assignment::default()
            },
        ];
        let marks: Vec<(String, Option<WatchResync>)> = marked(&rows)
            .into_iter()
            .map(|a| (a.case_id, a.resync))
            .collect();
        assert_eq!(
            marks,
            [
                (
                    "a".to_owned(),
                    Some(WatchResync {
                        position: 1,
                        total: 2
                    })
                ),
                (
                    "b".to_owned(),
                    Some(WatchResync {
                        position: 2,
                        total: 2
                    })
                ),
            ]
        );
    }

    #[test]
    fn the_defaults_bound_every_stream() {
        let limits = WatchLimits::default();
        assert_eq!(limits.streams_per_office.get(), 20);
        assert_eq!(limits.idle, Duration::from_secs(1800));
        assert_eq!(limits.buffer.get(), 256);
    }
}
