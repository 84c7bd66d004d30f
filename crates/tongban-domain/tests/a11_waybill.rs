//! 寄递 step rules: a carrier report moves a waybill forward only, records the chain of custody
//! on pick-up and delivery, and stops the case clock while paper originals travel.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is the test failing.

use chrono::{DateTime, TimeZone as _, Utc};
use tongban_domain::logistics::{
    Tracking, TransitClock, Waybill, WaybillPurpose, WaybillStatus::*, transit_reason,
};

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, hour, 0, 0)
        .single()
        .unwrap()
}

fn waybill(purpose: WaybillPurpose) -> Waybill {
    Waybill {
        purpose,
        tracking: Tracking::created(),
        clock_suspended: false,
        material_codes: vec!["ID".to_owned(), "HK".to_owned()],
        sender: "五台县政务服务中心".to_owned(),
        recipient: "银川市公安局".to_owned(),
    }
}

#[test]
fn originals_stop_the_clock_from_pick_up_to_delivery_with_custody_at_both_ends() {
    let made = waybill(WaybillPurpose::Originals);
    let picked = made.track(PickedUp, "courier", at(1)).expect("moves");
    assert_eq!(picked.clock, Some(TransitClock::Suspend));
    assert!(picked.waybill.clock_suspended);
    let custody: Vec<_> = picked
        .custody
        .iter()
        .map(|h| {
            (
                h.material_code.as_str(),
                h.from_party.as_str(),
                h.to_party.as_str(),
            )
        })
        .collect();
    assert_eq!(
        custody,
        [
            ("ID", "五台县政务服务中心", "courier"),
            ("HK", "五台县政务服务中心", "courier")
        ]
    );
    // Moving on in transit changes neither the clock nor the custody.
    let moving = picked
        .waybill
        .track(InTransit, "courier", at(2))
        .expect("moves");
    assert_eq!((moving.clock, moving.custody.len()), (None, 0));
    // A duplicate or late report is history only.
    assert!(moving.waybill.track(PickedUp, "courier", at(3)).is_none());
    let delivered = moving
        .waybill
        .track(Delivered, "courier", at(4))
        .expect("moves");
    assert_eq!(delivered.clock, Some(TransitClock::Resume));
    assert!(!delivered.waybill.clock_suspended);
    assert!(
        delivered
            .custody
            .iter()
            .all(|h| h.from_party == "courier" && h.to_party == "银川市公安局" && h.at == at(4))
    );
    assert!(
        delivered
            .waybill
            .track(Delivered, "courier", at(5))
            .is_none()
    );
}

#[test]
fn a_delivery_straight_from_creation_hands_over_twice_and_never_stops_the_clock() {
    let made = waybill(WaybillPurpose::Originals);
    let delivered = made.track(Delivered, "courier", at(1)).expect("moves");
    assert_eq!(delivered.clock, None, "never in transit");
    assert_eq!(delivered.custody.len(), 4);
}

#[test]
fn results_and_others_never_touch_the_clock() {
    for purpose in [WaybillPurpose::Result, WaybillPurpose::Other] {
        let picked = waybill(purpose).track(PickedUp, "c", at(1)).expect("moves");
        assert_eq!(picked.clock, None);
        let returned = picked.waybill.track(Returned, "c", at(2)).expect("moves");
        assert_eq!(returned.clock, None);
        assert!(returned.custody.is_empty(), "a return is no delivery");
    }
}

#[test]
fn an_exception_keeps_the_clock_stopped_and_a_return_resumes_it() {
    let picked = waybill(WaybillPurpose::Originals)
        .track(InTransit, "c", at(1))
        .expect("moves");
    let held = picked.waybill.track(Exception, "c", at(2)).expect("moves");
    assert_eq!(held.clock, None);
    assert!(held.waybill.clock_suspended);
    let returned = held.waybill.track(Returned, "c", at(3)).expect("moves");
    assert_eq!(returned.clock, Some(TransitClock::Resume));
}

#[test]
fn stored_codes_decode_or_fail() {
    for status in tongban_domain::logistics::WaybillStatus::ALL {
        assert_eq!(status.code().parse(), Ok(status));
    }
    for purpose in WaybillPurpose::ALL {
        assert_eq!(purpose.code().parse(), Ok(purpose));
    }
    assert!(
        "teleported"
            .parse::<tongban_domain::logistics::WaybillStatus>()
            .is_err()
    );
    assert!("".parse::<WaybillPurpose>().is_err());
    assert_eq!(transit_reason("TB1"), "纸质原件寄递在途（运单 TB1）");
}
