//! Each service's durable consumers receive exactly the event types their handlers act on, and
//! no service consumes an event type it produces itself (issue 12, "Consumers").
//!
//! With all six services running, the test reads every durable's subject filters from the
//! server and compares them with the event types its handler matches on. Then it publishes one
//! probe on every event subject there is (empty bodies, so handling them is harmless: the server
//! filters on the subject) and waits until every consumer has nothing pending. Each consumer's
//! inbox and dead letters then hold exactly the probes on its own subjects, and the server
//! counts exactly that many deliveries: the other probes never reached it.

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::HeaderMap;
use prost::Message as _;
use tongban_e2e::{Certificate, Hotline, Intake, Logistics, Review, Supervision};
use tongban_proto::events::v1::{self as ev, Event, event::Body};
use tongban_testkit::{TestEnv, eventually};
use uuid::Uuid;

use crate::TestResult;

/// One event of every type there is.
fn every_body() -> Vec<Body> {
    vec![
        Body::CaseSubmitted(ev::CaseSubmitted::default()),
        Body::CaseAccepted(ev::CaseAccepted::default()),
        Body::CaseRouted(ev::CaseRouted::default()),
        Body::CaseClaimed(ev::CaseClaimed::default()),
        Body::SupplementRequested(ev::SupplementRequested::default()),
        Body::CaseSupplemented(ev::CaseSupplemented::default()),
        Body::CaseDecided(ev::CaseDecided::default()),
        Body::CaseCompleted(ev::CaseCompleted::default()),
        Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
        Body::DeadlineExtended(ev::DeadlineExtended::default()),
        Body::ClockSuspended(ev::ClockSuspended::default()),
        Body::ClockResumed(ev::ClockResumed::default()),
        Body::CasePartUpdated(ev::CasePartUpdated::default()),
        Body::CertificateIssued(ev::CertificateIssued::default()),
        Body::CertificateRevoked(ev::CertificateRevoked::default()),
        Body::CertificateKeyRotated(ev::CertificateKeyRotated::default()),
        Body::LogisticsTracked(ev::LogisticsTracked::default()),
        Body::DeadlineWarning(ev::DeadlineWarning::default()),
        Body::DeadlineBreached(ev::DeadlineBreached::default()),
        Body::TicketOpened(ev::TicketOpened::default()),
        Body::TicketEscalated(ev::TicketEscalated::default()),
        Body::ComplaintFiled(ev::ComplaintFiled::default()),
        Body::ComplaintAdvanced(ev::ComplaintAdvanced::default()),
        Body::ServiceRated(ev::ServiceRated::default()),
    ]
}

/// The subjects of `bodies`, sorted.
fn subjects(bodies: &[Body]) -> BTreeSet<String> {
    bodies
        .iter()
        .map(|b| tongban_bus::subject_of(b).to_owned())
        .collect()
}

/// A durable consumer: its service (schema), name, the event types its handler acts on, and
/// the event types its service produces.
struct Expected {
    schema: &'static str,
    durable: &'static str,
    handles: BTreeSet<String>,
    produces: BTreeSet<String>,
}

/// What each service produces (its outbox), from the steps it takes.
fn produced_by(schema: &str) -> BTreeSet<String> {
    subjects(&match schema {
        "intake" => vec![
            Body::CaseSubmitted(ev::CaseSubmitted::default()),
            Body::CaseAccepted(ev::CaseAccepted::default()),
            Body::CaseRouted(ev::CaseRouted::default()),
            Body::CaseSupplemented(ev::CaseSupplemented::default()),
            Body::CaseCompleted(ev::CaseCompleted::default()),
            Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
        ],
        "review" => vec![
            Body::CaseClaimed(ev::CaseClaimed::default()),
            Body::SupplementRequested(ev::SupplementRequested::default()),
            Body::CaseDecided(ev::CaseDecided::default()),
            Body::CasePartUpdated(ev::CasePartUpdated::default()),
            Body::DeadlineExtended(ev::DeadlineExtended::default()),
            Body::ClockSuspended(ev::ClockSuspended::default()),
            Body::ClockResumed(ev::ClockResumed::default()),
        ],
        "certificate" => vec![
            Body::CertificateIssued(ev::CertificateIssued::default()),
            Body::CertificateRevoked(ev::CertificateRevoked::default()),
            Body::CertificateKeyRotated(ev::CertificateKeyRotated::default()),
        ],
        "logistics" => vec![
            Body::LogisticsTracked(ev::LogisticsTracked::default()),
            Body::ClockSuspended(ev::ClockSuspended::default()),
            Body::ClockResumed(ev::ClockResumed::default()),
        ],
        "hotline" => vec![
            Body::ComplaintFiled(ev::ComplaintFiled::default()),
            Body::ComplaintAdvanced(ev::ComplaintAdvanced::default()),
            Body::ServiceRated(ev::ServiceRated::default()),
        ],
        "supervision" => vec![
            Body::DeadlineWarning(ev::DeadlineWarning::default()),
            Body::DeadlineBreached(ev::DeadlineBreached::default()),
            Body::TicketOpened(ev::TicketOpened::default()),
            Body::TicketEscalated(ev::TicketEscalated::default()),
        ],
        _ => Vec::new(),
    })
}

/// Every durable of the suite with the event types its handler matches on.
fn expected() -> Vec<Expected> {
    let consumer = |schema: &'static str, durable: &'static str, handles: Vec<Body>| Expected {
        schema,
        durable,
        handles: subjects(&handles),
        produces: produced_by(schema),
    };
    vec![
        // events::ReviewEvents: the review office's steps, parts and clock changes.
        consumer(
            "intake",
            "intake-case-events",
            vec![
                Body::CaseClaimed(ev::CaseClaimed::default()),
                Body::SupplementRequested(ev::SupplementRequested::default()),
                Body::CaseDecided(ev::CaseDecided::default()),
                Body::CasePartUpdated(ev::CasePartUpdated::default()),
                Body::DeadlineExtended(ev::DeadlineExtended::default()),
                Body::ClockSuspended(ev::ClockSuspended::default()),
                Body::ClockResumed(ev::ClockResumed::default()),
            ],
        ),
        consumer(
            "intake",
            "intake-cert-issued",
            vec![Body::CertificateIssued(ev::CertificateIssued::default())],
        ),
        // events::CaseEvents and members::apply: the window's steps.
        consumer(
            "review",
            "review-case-events",
            vec![
                Body::CaseSubmitted(ev::CaseSubmitted::default()),
                Body::CaseAccepted(ev::CaseAccepted::default()),
                Body::CaseRouted(ev::CaseRouted::default()),
                Body::CaseSupplemented(ev::CaseSupplemented::default()),
                Body::CaseCompleted(ev::CaseCompleted::default()),
                Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
            ],
        ),
        consumer(
            "review",
            "review-logistics",
            vec![Body::LogisticsTracked(ev::LogisticsTracked::default())],
        ),
        consumer(
            "certificate",
            "certificate-case-events",
            vec![
                Body::CaseRouted(ev::CaseRouted::default()),
                Body::CaseDecided(ev::CaseDecided::default()),
            ],
        ),
        consumer(
            "logistics",
            "logistics-case-events",
            vec![
                Body::CaseRouted(ev::CaseRouted::default()),
                Body::CaseDecided(ev::CaseDecided::default()),
            ],
        ),
        // events::CaseEvents (change_of, submitted, part_updated): every step of a case.
        consumer(
            "hotline",
            "hotline-case-events",
            vec![
                Body::CaseSubmitted(ev::CaseSubmitted::default()),
                Body::CaseAccepted(ev::CaseAccepted::default()),
                Body::CaseRouted(ev::CaseRouted::default()),
                Body::CaseClaimed(ev::CaseClaimed::default()),
                Body::SupplementRequested(ev::SupplementRequested::default()),
                Body::CaseSupplemented(ev::CaseSupplemented::default()),
                Body::CaseDecided(ev::CaseDecided::default()),
                Body::CaseCompleted(ev::CaseCompleted::default()),
                Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
                Body::CasePartUpdated(ev::CasePartUpdated::default()),
            ],
        ),
        consumer(
            "hotline",
            "hotline-logistics",
            vec![Body::LogisticsTracked(ev::LogisticsTracked::default())],
        ),
        // events::CaseEvents: the steps that move a clock, from routing on.
        consumer(
            "supervision",
            "supervision-case-events",
            vec![
                Body::CaseRouted(ev::CaseRouted::default()),
                Body::CaseClaimed(ev::CaseClaimed::default()),
                Body::SupplementRequested(ev::SupplementRequested::default()),
                Body::CaseSupplemented(ev::CaseSupplemented::default()),
                Body::CasePartUpdated(ev::CasePartUpdated::default()),
                Body::ClockSuspended(ev::ClockSuspended::default()),
                Body::ClockResumed(ev::ClockResumed::default()),
                Body::DeadlineExtended(ev::DeadlineExtended::default()),
                Body::CaseDecided(ev::CaseDecided::default()),
                Body::CaseCompleted(ev::CaseCompleted::default()),
                Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
            ],
        ),
        // events::Complaints: a complaint filed, a rating (a bad one opens 督办).
        consumer(
            "supervision",
            "supervision-complaints",
            vec![Body::ComplaintFiled(ev::ComplaintFiled::default())],
        ),
        consumer(
            "supervision",
            "supervision-ratings",
            vec![Body::ServiceRated(ev::ServiceRated::default())],
        ),
    ]
}

/// Publishes a probe with no body on `subject` (below the root); its event id.
async fn probe(env: &TestEnv, subject: &str) -> Result<String, Box<dyn std::error::Error>> {
    let event = Event {
        event_id: Uuid::now_v7().to_string(),
        case_id: Uuid::now_v7().to_string(),
        case_number: "TB-FILTER-PROBE".to_owned(),
        producer: "test".to_owned(),
        actor: "test".to_owned(),
        ..Default::default()
    };
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", event.event_id.as_str());
    async_nats::jetstream::new(env.nats().clone())
        .publish_with_headers(
            format!("{}.{subject}", env.subject_root()),
            headers,
            event.encode_to_vec().into(),
        )
        .await?
        .await?;
    Ok(event.event_id)
}

/// The event ids `durable` recorded, in its inbox or as dead letters.
async fn recorded(
    pool: &sqlx::PgPool,
    schema: &str,
    durable: &str,
) -> Result<BTreeSet<String>, sqlx::Error> {
    // The schema is one of the fixed service names above.
    let sql = format!(
        "SELECT event_id::text FROM {schema}.inbox WHERE consumer = $1
         UNION SELECT event_id::text FROM {schema}.consumer_dead_letter
               WHERE consumer = $1 AND event_id IS NOT NULL"
    );
    let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(durable)
        .fetch_all(pool)
        .await?;
    Ok(ids.into_iter().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_consumer_receives_exactly_the_event_types_it_handles() -> TestResult {
    let env = TestEnv::new().await?;
    let services = [
        env.spawn::<Certificate>().await?,
        env.spawn::<Intake>().await?,
        env.spawn::<Review>().await?,
        env.spawn::<Logistics>().await?,
        env.spawn::<Hotline>().await?,
        env.spawn::<Supervision>().await?,
    ];
    let expected = expected();
    let jetstream = async_nats::jetstream::new(env.nats().clone());
    let stream = jetstream.get_stream(env.stream()).await?;

    // The server holds exactly the handler's event types for every durable, none of them one
    // its own service produces.
    for consumer in &expected {
        let info = stream
            .consumer_info(consumer.durable)
            .await
            .map_err(|e| format!("{}: {e}", consumer.durable))?;
        let filters: BTreeSet<String> =
            tongban_bus::consumer_filters(&info.config, env.subject_root())
                .into_iter()
                .collect();
        assert_eq!(
            filters, consumer.handles,
            "{}: subject filters on the server",
            consumer.durable
        );
        let own: Vec<&String> = filters.intersection(&consumer.produces).collect();
        assert!(
            own.is_empty(),
            "{} consumes events its own service produces: {own:?}",
            consumer.durable
        );
    }

    // One probe on every event subject.
    let mut probes: Vec<(String, String)> = Vec::new();
    for subject in subjects(&every_body()) {
        let id = probe(&env, &subject).await?;
        probes.push((subject, id));
    }

    // Wait until every consumer has taken and ended everything meant for it.
    let (stream_ref, expected_ref) = (&stream, &expected);
    eventually(Duration::from_secs(30), move || async move {
        for consumer in expected_ref {
            let info = stream_ref.consumer_info(consumer.durable).await.ok()?;
            let meant = u64::try_from(consumer.handles.len()).ok()?;
            if info.num_pending != 0
                || info.num_ack_pending != 0
                || info.delivered.consumer_sequence < meant
            {
                return None;
            }
        }
        Some(())
    })
    .await
    .map_err(|e| format!("every consumer done with its probes: {e}"))?;

    let pool = sqlx::PgPool::connect(env.database_url()).await?;
    for consumer in &expected {
        let got = recorded(&pool, consumer.schema, consumer.durable).await?;
        let meant: BTreeSet<String> = probes
            .iter()
            .filter(|(subject, _)| consumer.handles.contains(subject))
            .map(|(_, id)| id.clone())
            .collect();
        let stray: Vec<&String> = probes
            .iter()
            .filter(|(_, id)| got.contains(id) && !meant.contains(id))
            .map(|(subject, _)| subject)
            .collect();
        assert!(
            stray.is_empty(),
            "{} received event types it does not need: {stray:?}",
            consumer.durable
        );
        assert_eq!(
            got, meant,
            "{}: its probes recorded once each",
            consumer.durable
        );
        let info = stream.consumer_info(consumer.durable).await?;
        assert_eq!(
            info.delivered.consumer_sequence,
            u64::try_from(meant.len())?,
            "{}: the server delivered its probes and nothing else",
            consumer.durable
        );
    }
    pool.close().await;
    tongban_e2e::shut_down(env, services).await?;
    Ok(())
}
