//! ReviewService.WatchAssignments end to end: an office's inbox as a server stream, first the
//! snapshot of its rows, then each row again whenever it changes — a 多地联办 part following the
//! parts of other offices, and a 一件事 member following its bundle when another member moves.

use tokio::time::Instant;
use tongban_e2e::{
    BIRTH, GZDD, HOME, Intake, PROPAGATION, Review, TAIYUAN_GONGAN, WINDOW, WUTAI, WUTAI_GONGAN,
    YINCHUAN_GONGAN, bundle_request, catalog, claim, claim_when_routed, decide_request, intake,
    joint_request, passing_checklist, reviewer, shut_down, start, state_until, submit_request,
    supplement_request, window_clients,
};
use tongban_proto::common::v1::{BundleStatus, CaseStatus, Decision, Mode};
use tongban_proto::review::v1::{Assignment, AssignmentState, WatchAssignmentsRequest};
use tongban_runtime::auth::Role;
use tonic::{Code, Streaming};

use crate::TestResult;

/// The whole inbox of the caller's own office.
fn own_inbox() -> WatchAssignmentsRequest {
    WatchAssignmentsRequest::default()
}

/// A short line per message read, for failure messages.
fn shown(seen: &[Assignment]) -> String {
    let lines: Vec<String> = seen
        .iter()
        .map(|a| {
            format!(
                "{} {} part={:?} {:?} case={:?} bundle={:?}",
                a.case_id,
                a.office_id,
                a.part_code,
                a.state(),
                a.case_status(),
                a.bundle.as_ref().map(|b| b.status()),
            )
        })
        .collect();
    format!("[{}]", lines.join("; "))
}

/// Reads `stream` until a message satisfies `want`, within [`PROPAGATION`] in all. Every message
/// read, the wanted one included, is appended to `seen`, so the caller can check what else the
/// stream said.
///
/// # Errors
/// Nothing wanted arrived in time, the stream failed or it ended.
async fn next_until(
    stream: &mut Streaming<Assignment>,
    seen: &mut Vec<Assignment>,
    what: &str,
    want: impl Fn(&Assignment) -> bool,
) -> Result<Assignment, String> {
    let deadline = Instant::now() + PROPAGATION;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let next = tokio::time::timeout(left, stream.message())
            .await
            .map_err(|_| {
                format!(
                    "{what}: not within {PROPAGATION:?}; read so far: {}",
                    shown(seen)
                )
            })?
            .map_err(|status| format!("{what}: the stream failed: {status:?}"))?
            .ok_or_else(|| format!("{what}: the stream ended; read: {}", shown(seen)))?;
        seen.push(next.clone());
        if want(&next) {
            return Ok(next);
        }
    }
}

/// An office watches its inbox from before the case exists: the (empty) snapshot, then the case
/// as it is routed and as it is claimed. A watcher opened later starts from the snapshot showing
/// the case claimed. Nobody may watch another office's inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_the_snapshot_then_each_change() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut window = intake(intake_svc.port(), &clerk);
    let mut inbox = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);

    // The watch is open (its snapshot taken) once the call answers.
    let mut stream = inbox.watch_assignments(own_inbox()).await?.into_inner();
    let mut seen = Vec::new();

    let request = submit_request(
        &mut catalog(intake_svc.port(), &clerk),
        "watch-1",
        "GA-HJ-ZM",
        HOME,
        Mode::Proxy,
    )
    .await?;
    let accepted = window.submit_case(request).await?.into_inner();
    let case_id = accepted.case_id.clone();

    let routed = next_until(&mut stream, &mut seen, "the case arrives ROUTED", |a| {
        a.case_id == case_id && a.state() == AssignmentState::Routed
    })
    .await?;
    assert_eq!(routed.case_number, accepted.case_number);
    assert_eq!(routed.office_id, YINCHUAN_GONGAN);
    assert_eq!(routed.matter_code, "GA-HJ-ZM");
    assert!(routed.claimed_by.is_empty(), "{routed:?}");
    assert!(
        seen.iter().all(|a| a.case_id == case_id),
        "the snapshot was empty and nothing but the case came: {}",
        shown(&seen)
    );

    // 认领: the stream shows the case claimed.
    let claimed = inbox.claim_case(claim(&case_id)).await?.into_inner();
    assert_eq!(claimed.state(), AssignmentState::Claimed);
    let streamed = next_until(&mut stream, &mut seen, "the case becomes CLAIMED", |a| {
        a.case_id == case_id && a.state() == AssignmentState::Claimed
    })
    .await?;
    assert_eq!(streamed.claimed_by, claimed.claimed_by);
    assert!(!streamed.claimed_by.is_empty(), "{streamed:?}");
    assert_eq!(streamed.case_status(), CaseStatus::Claimed);
    assert!(
        seen.iter().all(|a| a.case_id == case_id),
        "nothing but the case: {}",
        shown(&seen)
    );

    // A second watcher starts from the snapshot: the case, claimed.
    let mut later = inbox.watch_assignments(own_inbox()).await?.into_inner();
    let first = tokio::time::timeout(PROPAGATION, later.message())
        .await
        .map_err(|_| "the second watcher's snapshot did not come")??
        .ok_or("the second watcher's stream ended before its snapshot")?;
    assert_eq!(first.case_id, case_id, "{first:?}");
    assert_eq!(first.state(), AssignmentState::Claimed, "{first:?}");
    assert_eq!(first.claimed_by, claimed.claimed_by);

    // Another office's inbox is not the reviewer's to watch.
    let refused = inbox
        .watch_assignments(WatchAssignmentsRequest {
            office_id: TAIYUAN_GONGAN.to_owned(),
        })
        .await
        .err()
        .ok_or("a reviewer watches another office's inbox")?;
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    drop(stream);
    drop(later);
    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// 多地联办: 银川 watches while its 迁出 part waits; once 五台 has claimed and approved 迁入 the
/// stream shows 迁出 ROUTED. Every message is about 银川's own part: nothing of 五台's part, its
/// reviewer or its decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_joint_parts() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());
    let mut qr_office = reviewer(&env, review_svc.port(), WUTAI_GONGAN);
    let mut qc_office = reviewer(&env, review_svc.port(), YINCHUAN_GONGAN);

    let mut stream = qc_office.watch_assignments(own_inbox()).await?.into_inner();
    let mut seen = Vec::new();

    let request = joint_request(&mut catalog, "watch-joint", GZDD, HOME, WUTAI).await?;
    let accepted = window.submit_case(request).await?.into_inner();
    let case_id = accepted.case_id.clone();

    let waiting = next_until(&mut stream, &mut seen, "QC arrives WAITING", |a| {
        a.case_id == case_id && a.state() == AssignmentState::Waiting
    })
    .await?;
    assert_eq!(waiting.part_code, "QC");
    assert_eq!(waiting.part_name, "迁出地办理迁出");
    assert_eq!(waiting.waiting_for, ["迁入地审批"]);

    // 五台 claims and approves 迁入地审批.
    let qr_claimed = claim_when_routed(&mut qr_office, &case_id, "五台 lists QR as ROUTED").await?;
    let qr_reason = "迁入条件核实无误，准予迁入 / move-in approved";
    qr_office
        .decide_case(decide_request(
            &case_id,
            Decision::Approve,
            qr_reason,
            passing_checklist(&mut catalog, GZDD, Some("QR")).await?,
        ))
        .await?;

    let ready = next_until(&mut stream, &mut seen, "QC becomes ROUTED", |a| {
        a.case_id == case_id && a.state() == AssignmentState::Routed
    })
    .await?;
    assert!(ready.waiting_for.is_empty(), "{ready:?}");

    for a in &seen {
        assert_eq!(a.case_id, case_id, "only the case: {}", shown(&seen));
        assert_eq!(a.part_code, "QC", "only 银川's own part: {a:?}");
        assert_eq!(a.office_id, YINCHUAN_GONGAN, "{a:?}");
        assert_eq!(a.decision(), Decision::Unspecified, "{a:?}");
        assert!(
            a.decision_reason.is_empty() && a.checklist.is_empty() && a.claimed_by.is_empty(),
            "nothing of 五台's claim or decision: {a:?}"
        );
        let text = format!("{a:?}");
        assert!(
            !text.contains(WUTAI_GONGAN)
                && !text.contains(qr_reason)
                && !text.contains(&qr_claimed.claimed_by),
            "nothing of 五台's part: {a:?}"
        );
    }

    drop(stream);
    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}

/// 一件事: the office of one 出生一件事 member watches; when another office asks for 补正 on its
/// member, the watcher receives its own member again with the bundle SUPPLEMENT_REQUESTED — and
/// never the other office's case. (Both members are routed at once; the members needing the
/// 出生医学证明 wait for it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_the_bundle_of_its_members() -> TestResult {
    let (env, [intake_svc, review_svc]) = start::<(Intake, Review)>().await?;
    let (mut catalog, mut window) = window_clients(&env, intake_svc.port());

    let (request, _) = bundle_request(&mut catalog, "watch-birth", BIRTH, WUTAI).await?;
    let bundle = window.submit_bundle(request).await?.into_inner();
    let a = bundle.cases.first().ok_or("出生一件事 has members")?;
    let b = bundle
        .cases
        .iter()
        .find(|c| {
            c.responsible_office_id != a.responsible_office_id && c.status() == CaseStatus::Routed
        })
        .ok_or("a member routed at once to another office")?;
    let a_office = reviewer(&env, review_svc.port(), &a.responsible_office_id);
    let mut b_office = reviewer(&env, review_svc.port(), &b.responsible_office_id);
    state_until(
        &a_office,
        &a.case_id,
        "member A is ROUTED",
        AssignmentState::Routed,
    )
    .await?;
    state_until(
        &b_office,
        &b.case_id,
        "member B is ROUTED",
        AssignmentState::Routed,
    )
    .await?;

    // A's office watches: the snapshot shows A with its bundle in progress.
    let mut stream = a_office
        .clone()
        .watch_assignments(own_inbox())
        .await?
        .into_inner();
    let mut seen = Vec::new();
    let snapshot = next_until(&mut stream, &mut seen, "A in the snapshot", |x| {
        x.case_id == a.case_id
    })
    .await?;
    assert_eq!(
        snapshot.bundle.as_ref().map(|s| s.status()),
        Some(BundleStatus::InProgress),
        "{snapshot:?}"
    );

    // B's office claims B and asks for 补正.
    b_office.claim_case(claim(&b.case_id)).await?;
    b_office
        .request_supplement(supplement_request(
            &b.case_id,
            &["SFZ"],
            "身份证影像不清晰，请重新扫描 / the ID scan is unreadable",
        ))
        .await?;

    let followed = next_until(
        &mut stream,
        &mut seen,
        "A again, its bundle SUPPLEMENT_REQUESTED",
        |x| {
            x.case_id == a.case_id
                && x.bundle
                    .as_ref()
                    .is_some_and(|s| s.status() == BundleStatus::SupplementRequested)
        },
    )
    .await?;
    assert_eq!(
        followed.state(),
        AssignmentState::Routed,
        "A itself is untouched"
    );
    let summary = followed.bundle.as_ref().ok_or("A's bundle")?;
    assert_eq!(summary.bundle_id, bundle.bundle_id);
    let member = summary
        .members
        .iter()
        .find(|m| m.matter_code == b.matter_code)
        .ok_or_else(|| format!("B ({}) among {:?}", b.matter_code, summary.members))?;
    assert_eq!(member.status(), CaseStatus::SupplementRequested);
    assert!(
        member.case_id.is_empty()
            && member.case_number.is_empty()
            && member.responsible_office_id.is_empty(),
        "B's case is hidden from A's office: {member:?}"
    );
    for x in &seen {
        assert_eq!(
            x.office_id,
            a.responsible_office_id,
            "only A's office's rows: {}",
            shown(&seen)
        );
        assert_ne!(x.case_id, b.case_id, "never B's case: {x:?}");
    }

    drop(stream);
    shut_down(env, [review_svc, intake_svc]).await?;
    Ok(())
}
