//! Issue 13: only the reviewer holding a case (or the office head) acts on it, and only the head
//! reassigns it (`assignment::check_holder`, `review_as`, `reassign`); carriers see their own
//! waybills and tracking numbers are random (`logistics`); the originals gate counts only
//! deliveries to the responsible office of the materials expected; field limits name the field
//! with its index (`field_limits`).
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use tongban_domain::assignment::{
    CaseReview, Command, Refusal, Reviewer, check_holder, reassign, review_as,
};
use tongban_domain::case::{CaseEvent, CaseStatus, Decision};
use tongban_domain::field_limits::{Exceeded, FieldLimit, Limit};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::logistics::{
    OriginalsDelivery, TrackingNumber, carried_by, originals_outstanding,
};

const ALICE: Reviewer<'static> = Reviewer {
    user: "alice",
    head: false,
};
const BOB: Reviewer<'static> = Reviewer {
    user: "bob",
    head: false,
};
const HEAD: Reviewer<'static> = Reviewer {
    user: "head",
    head: true,
};

fn single(status: CaseStatus) -> CaseReview {
    CaseReview {
        status,
        parts: Vec::new(),
    }
}

fn supplement() -> Command {
    Command::RequestSupplement {
        items: vec!["户口簿".to_owned()],
        reason: "不清晰".to_owned(),
    }
}

fn deny() -> Command {
    Command::Decide {
        decision: Decision::Deny,
        reason: "不符合条件".to_owned(),
        checklist: Vec::new(),
        originals_missing: None,
    }
}

fn claim(user: &str) -> Command {
    Command::Claim {
        reviewer: user.to_owned(),
    }
}

#[test]
fn only_the_holder_or_the_head_asks_for_supplement_or_decides() {
    let case = single(CaseStatus::Claimed);
    for command in [supplement(), deny()] {
        let refused = review_as(&case, 0, Some("alice"), BOB, &command, None).unwrap_err();
        assert_eq!(
            refused,
            Refusal::HeldByAnother {
                holder: "alice".to_owned()
            }
        );
        assert_eq!(refused.kind(), "CLAIMED_BY_ANOTHER");
        assert_eq!(refused.subject(), "claimed_by");
        assert!(refused.text(Lang::Zh).contains("alice"));
        assert!(refused.text(Lang::En).contains("held by alice"));
        assert!(review_as(&case, 0, Some("alice"), ALICE, &command, None).is_ok());
        assert!(review_as(&case, 0, Some("alice"), HEAD, &command, None).is_ok());
    }
    let decided = review_as(&case, 0, Some("alice"), HEAD, &deny(), None).unwrap();
    assert_eq!(decided.case_events, [CaseEvent::Decided(Decision::Deny)]);
}

#[test]
fn a_held_case_is_not_claimed_again_not_even_by_the_head() {
    assert!(check_holder(None, BOB, &claim("bob")).is_ok());
    assert!(check_holder(Some(""), BOB, &claim("bob")).is_ok());
    for by in [BOB, HEAD] {
        assert_eq!(
            check_holder(Some("alice"), by, &claim(by.user)),
            Err(Refusal::HeldByAnother {
                holder: "alice".to_owned()
            })
        );
    }
}

#[test]
fn the_head_reassigns_a_held_case_under_review() {
    for status in [
        CaseStatus::Claimed,
        CaseStatus::SupplementRequested,
        CaseStatus::Supplemented,
    ] {
        assert_eq!(reassign(&single(status), 0, Some("alice"), HEAD), Ok(()));
        assert_eq!(
            reassign(&single(status), 0, Some("alice"), BOB),
            Err(Refusal::HeadOnly)
        );
    }
    assert_eq!(
        reassign(&single(CaseStatus::Claimed), 0, None, HEAD),
        Err(Refusal::NotHeld)
    );
    for status in [
        CaseStatus::Routed,
        CaseStatus::Approved,
        CaseStatus::Withdrawn,
    ] {
        assert_eq!(
            reassign(&single(status), 0, Some("alice"), HEAD),
            Err(Refusal::NotHeld),
            "{status:?}"
        );
    }
}

#[test]
fn carriers_see_only_their_own_waybills() {
    assert!(carried_by("simulated", "simulated"));
    assert!(!carried_by("simulated", "sf-express"));
    assert!(!carried_by("", ""));
}

#[test]
fn random_tracking_numbers_keep_the_check_character() {
    let a = TrackingNumber::from_random(7_u64.to_le_bytes());
    assert_eq!(a, TrackingNumber::from_serial(7));
    let b = TrackingNumber::from_random(u64::MAX.to_le_bytes());
    assert_eq!(TrackingNumber::parse(b.as_str()), Ok(b.clone()));
    assert_eq!(b.as_str().len(), 13);
}

#[test]
fn originals_count_only_at_the_responsible_office_and_per_material() {
    let expected = vec!["DDZM".to_owned(), "HKB".to_owned()];
    let to = |office: &str, codes: &[&str]| OriginalsDelivery {
        recipient_office_id: office.to_owned(),
        material_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
    };
    assert_eq!(
        originals_outstanding(&expected, "640100-gongan", &[]),
        expected
    );
    // Delivered to another office: nothing cleared.
    assert_eq!(
        originals_outstanding(
            &expected,
            "640100-gongan",
            &[to("140100-gongan", &["DDZM", "HKB"])]
        ),
        expected
    );
    // Delivered here, but only one of the two materials.
    assert_eq!(
        originals_outstanding(
            &expected,
            "640100-gongan",
            &[to("640100-gongan", &["DDZM"])]
        ),
        ["HKB"]
    );
    // Both, by two waybills.
    assert!(
        originals_outstanding(
            &expected,
            "640100-gongan",
            &[
                to("640100-gongan", &["DDZM"]),
                to("640100-gongan", &["HKB", "OTHER"])
            ]
        )
        .is_empty()
    );
}

#[test]
fn a_nul_character_is_refused_within_the_length() {
    let office = FieldLimit::chars("office_id", 64);
    let refused = office.check_chars("640100\0-gongan", &[]).unwrap_err();
    assert_eq!(refused.field, "office_id");
    assert_eq!(refused.nul_at, Some(7));
    assert_eq!(refused.text(Lang::Zh), "不能包含 NUL 字符（第 7 个字符）");
    assert_eq!(
        refused.text(Lang::En),
        "must not contain a NUL character (character 7)"
    );
    assert!(office.check_chars("640100-gongan", &[]).is_ok());
}

#[test]
fn limits_name_the_field_with_its_index_and_the_reason() {
    let note = FieldLimit::chars("checklist[].note", 1000);
    assert!(note.check_chars(&"字".repeat(1000), &[2]).is_ok());
    let over = note.check_chars(&"字".repeat(1001), &[2]).unwrap_err();
    assert_eq!(
        over,
        Exceeded {
            field: "checklist[2].note".to_owned(),
            limit: Limit::Chars(1000),
            found: 1001,
            nul_at: None,
        }
    );
    assert_eq!(
        over.text(Lang::Zh),
        "超过长度限制：最多 1000 个字符，收到 1001 个"
    );
    assert_eq!(
        over.text(Lang::En),
        "too long: at most 1000 characters, got 1001"
    );
    let items = FieldLimit::items("items", 50);
    assert!(items.check_items(50, &[]).is_ok());
    let many = items.check_items(51, &[]).unwrap_err();
    assert_eq!(many.field, "items");
    assert_eq!(many.text(Lang::En), "too many: at most 50 items, got 51");
    assert_eq!(
        FieldLimit::chars("a[].b[].c", 5).field(&[1, 2]),
        "a[1].b[2].c"
    );
    assert_eq!(FieldLimit::chars("a[]", 5).field(&[]), "a[]");
}
