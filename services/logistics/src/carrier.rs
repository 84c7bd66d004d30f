//! Carrier adapters. A real carrier reports through `RecordTrackingEvent` (its callback); an
//! adapter may also report on its own schedule, read from the deployment's clock. The simulated
//! carrier (模拟快递) of the demo and the tests moves each waybill along a fixed timetable from
//! its creation, so advancing the clock moves the parcels.

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;
use tongban_domain::logistics::{Tracking, TrackingNumber, WaybillStatus};
use tongban_step::Actor;

use crate::error::LogisticsError;
use crate::repo;
use crate::waybill::{self, CarrierReport, Outcome};
use crate::{EXECUTOR, State};

/// Name of the simulated carrier as stored on its waybills.
pub const SIMULATED: &str = "simulated";

/// A courier company as tongban sees it.
pub trait Carrier: Send + Sync + 'static {
    /// Name stored on the waybills it carries.
    fn name(&self) -> &'static str;

    /// The courier as named in the chain of custody (物料流转备案).
    fn courier(&self) -> &'static str;

    /// The reports due by `now` for a waybill made at `created_at` that stands at `tracking`,
    /// oldest first. A carrier that only calls back returns none.
    fn due(
        &self,
        number: &TrackingNumber,
        created_at: DateTime<Utc>,
        tracking: Tracking,
        now: DateTime<Utc>,
    ) -> Vec<CarrierReport>;
}

/// 模拟快递: picks up 2 hours after the waybill is made, is in transit after 1 day, out for
/// delivery after 2 days and delivers 2 days 6 hours after it was made.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatedCarrier;

/// The simulated timetable: each step and its delay from creation.
pub const TIMETABLE: [(WaybillStatus, TimeDelta, &str); 4] = [
    (WaybillStatus::PickedUp, TimeDelta::hours(2), "揽收网点"),
    (WaybillStatus::InTransit, TimeDelta::days(1), "转运中心"),
    (
        WaybillStatus::OutForDelivery,
        TimeDelta::days(2),
        "派送网点",
    ),
    (
        WaybillStatus::Delivered,
        TimeDelta::hours(54),
        "收件机关收发室",
    ),
];

impl Carrier for SimulatedCarrier {
    fn name(&self) -> &'static str {
        SIMULATED
    }

    fn courier(&self) -> &'static str {
        "模拟快递寄递员 / simulated courier"
    }

    fn due(
        &self,
        number: &TrackingNumber,
        created_at: DateTime<Utc>,
        tracking: Tracking,
        now: DateTime<Utc>,
    ) -> Vec<CarrierReport> {
        let mut standing = tracking;
        let mut reports = Vec::new();
        for (status, delay, location) in TIMETABLE {
            let at = created_at + delay;
            if at > now {
                break;
            }
            if let Some(next) = standing.apply(status) {
                standing = next;
                reports.push(CarrierReport {
                    carrier_event_id: format!("sim-{number}-{}", status.code()),
                    status,
                    location: location.to_owned(),
                    occurred_at: at,
                });
            }
        }
        reports
    }
}

/// Runs `carrier` until `shutdown`: at every tick, each of its waybills on the way gets the
/// reports due by the clock.
pub(crate) async fn run<C: Carrier>(state: State, carrier: C, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(state.config.tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        if let Err(err) = pass(&state, &carrier).await {
            tracing::warn!(error = %err, carrier = carrier.name(), "carrier pass failed; retrying at the next tick");
        }
    }
}

/// What one pass of a carrier did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Waybills moved.
    pub moved: usize,
    /// Stored waybills skipped because they do not decode (each logged with its cause).
    pub skipped: usize,
}

/// One pass of `carrier` as of the clock's now: each report due is one step (its own
/// transaction, at the moment the carrier reports it). A stored waybill that does not decode is
/// logged and counted, never moved on a guess.
async fn pass<C: Carrier>(state: &State, carrier: &C) -> Result<PassReport, LogisticsError> {
    let now = state.clock.now();
    let mut conn = state.pool.acquire().await?;
    let moving = repo::moving(&mut conn, carrier.name()).await?;
    drop(conn);
    let mut report = PassReport::default();
    for row in moving {
        let row = match row {
            Ok(row) => row,
            Err(err) => {
                report.skipped += 1;
                tracing::error!(
                    tracking_number = %err.tracking_number,
                    cause = %err.source,
                    "stored waybill does not decode; skipped"
                );
                continue;
            }
        };
        let Ok(number) = TrackingNumber::parse(&row.tracking_number) else {
            continue;
        };
        for due in carrier.due(&number, row.created_at, row.tracking(), now) {
            let actor = Actor::person(carrier.name(), "carrier", "");
            let mut step = EXECUTOR.begin(&state.pool, actor, due.occurred_at).await?;
            let recorded = waybill::record(
                step.conn(),
                &number,
                &due,
                carrier.name(),
                carrier.courier(),
                now,
            )
            .await?;
            if let Some(case) = &recorded.case {
                step.join("waybill.track", case);
            }
            step.apply(recorded.effects).await?;
            step.commit().await?;
            if recorded.outcome == Outcome::Moved {
                report.moved += 1;
                tracing::debug!(tracking_number = %number, status = due.status.code(), "simulated carrier moved a waybill");
            }
        }
    }
    if report.skipped > 0 {
        tracing::warn!(
            skipped = report.skipped,
            carrier = carrier.name(),
            "carrier pass skipped undecodable waybills"
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timetable_follows_the_clock() {
        let number = TrackingNumber::from_serial(1);
        let made = DateTime::parse_from_rfc3339("2026-09-01T09:00:00+08:00")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let fresh = Tracking::created();
        assert!(SimulatedCarrier.due(&number, made, fresh, made).is_empty());
        let a_day = SimulatedCarrier.due(&number, made, fresh, made + TimeDelta::days(1));
        let steps: Vec<_> = a_day.iter().map(|r| r.status).collect();
        assert_eq!(steps, [WaybillStatus::PickedUp, WaybillStatus::InTransit]);
        let moved = fresh
            .apply(WaybillStatus::PickedUp)
            .and_then(|t| t.apply(WaybillStatus::InTransit))
            .unwrap_or(fresh);
        let later = SimulatedCarrier.due(&number, made, moved, made + TimeDelta::days(3));
        let steps: Vec<_> = later.iter().map(|r| r.status).collect();
        assert_eq!(
            steps,
            [WaybillStatus::OutForDelivery, WaybillStatus::Delivered]
        );
    }
}
