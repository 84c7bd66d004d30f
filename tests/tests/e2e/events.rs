//! What travels on the stream: every event of a case carries `Nats-Msg-Id` = its event id and the
//! case's W3C trace context, and the intake steps arrive in order.

use std::time::Duration;

use tongban_e2e::{
    Intake, Published, WINDOW, catalog, intake, is_traceparent, read_stream, shut_down, start,
    submit_request,
};
use tongban_proto::common::v1::Mode;
use tongban_proto::events::v1::event::Body;
use tongban_runtime::auth::Role;
use tongban_testkit::eventually;

use crate::TestResult;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_on_stream() -> TestResult {
    let (env, [service]) = start::<(Intake,)>().await?;
    let clerk = env.mint(Role::Clerk, WINDOW);
    let mut catalog = catalog(service.port(), &clerk);
    let request =
        submit_request(&mut catalog, "events-1", "GA-HJ-ZM", "640104", Mode::Online).await?;
    let accepted = intake(service.port(), &clerk)
        .submit_case(request)
        .await?
        .into_inner();

    let kind = |p: &Published| match &p.event.body {
        Some(Body::CaseSubmitted(_)) => "submitted",
        Some(Body::CaseAccepted(_)) => "accepted",
        Some(Body::CaseRouted(_)) => "routed",
        _ => "other",
    };
    let (env_ref, case_id) = (&env, &accepted.case_id);
    let published = eventually(Duration::from_secs(15), move || async move {
        let all = read_stream(env_ref).await.ok()?;
        let mine: Vec<Published> = all
            .into_iter()
            .filter(|p| &p.event.case_id == case_id)
            .collect();
        let kinds: Vec<&str> = mine.iter().map(kind).collect();
        ["submitted", "accepted", "routed"]
            .iter()
            .all(|k| kinds.contains(k))
            .then_some(mine)
    })
    .await
    .map_err(|e| format!("submitted, accepted and routed on the stream: {e}"))?;

    let root = format!("{}.", env.subject_root());
    let mut trace_ids = Vec::new();
    for message in &published {
        let what = kind(message);
        assert_eq!(
            message.event.case_number, accepted.case_number,
            "{what}: case number"
        );
        assert!(
            message.subject.starts_with(&root),
            "{what}: subject {} under the test's root",
            message.subject
        );
        if what != "other" {
            assert_eq!(
                message.subject,
                format!("{root}case.{what}"),
                "{what}: subject"
            );
        }
        assert_eq!(
            message.header("Nats-Msg-Id"),
            Some(message.event.event_id.as_str()),
            "{what}: Nats-Msg-Id = event_id"
        );
        let traceparent = message
            .header("traceparent")
            .ok_or_else(|| format!("{what}: a traceparent header"))?;
        assert!(
            is_traceparent(traceparent),
            "{what}: W3C traceparent, got {traceparent:?}"
        );
        trace_ids.push(traceparent.split('-').nth(1).unwrap_or_default().to_owned());
    }
    // One case, one trace.
    trace_ids.dedup();
    assert_eq!(
        trace_ids.len(),
        1,
        "every event of the case is in the case's trace: {trace_ids:?}"
    );

    let position = |wanted: &str| published.iter().position(|p| kind(p) == wanted);
    let (submitted, accepted_at, routed) = (
        position("submitted"),
        position("accepted"),
        position("routed"),
    );
    assert!(
        submitted < accepted_at && accepted_at < routed,
        "submitted, accepted, routed in this order"
    );

    shut_down(env, [service]).await?;
    Ok(())
}
