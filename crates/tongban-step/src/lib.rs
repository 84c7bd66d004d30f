//! The one step executor every service takes its steps through.
//!
//! A step (an RPC handler's command or a consumer's event) always flows the same way:
//!
//! ```text
//! RPC / event ─► Executor::begin ─► lock rows ─► domain decides (pure: new state + effects)
//!                                        │
//!                                        ▼
//!                 store new state ─► Step::apply(effects): outbox rows + audit entries
//!                                        │            (subject from the event body,
//!                                        ▼             trace headers of the case's trace)
//!                                     commit (all of it, or none)
//! ```
//!
//! Outbox publishing, audit records and trace parenting each exist here and nowhere else: a
//! service hands the executor [`Effects`] and never builds an outbox message, an audit row or a
//! parent context itself.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tongban_proto::events::v1::event::Body;
use tongban_store::{AuditRecord, StoreError};
use tracing::Span;
use uuid::Uuid;

/// Who takes a step: a person from a bearer token, or a service acting on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// User name from the token, or the service's name.
    pub user: String,
    /// Role (`clerk`, `reviewer`, …, or `service`).
    pub role: String,
    /// The actor's office; empty for a service.
    pub office_id: String,
}

impl Actor {
    /// A person acting with the role and office of their token.
    #[must_use]
    pub fn person(user: &str, role: &str, office_id: &str) -> Self {
        Self {
            user: user.to_owned(),
            role: role.to_owned(),
            office_id: office_id.to_owned(),
        }
    }

    /// A service acting on its own (a consumer reacting to an event, a timer).
    #[must_use]
    pub fn service(name: &str) -> Self {
        Self {
            user: name.to_owned(),
            role: "service".to_owned(),
            office_id: String::new(),
        }
    }
}

/// The case a step is on: the trace it was submitted in joins every later step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRef {
    /// The case id (nil for steps on no case, such as a key rotation).
    pub case_id: Uuid,
    /// The case number (empty for steps on no case).
    pub case_number: String,
    /// The W3C `traceparent` stored with the case at submission, when known.
    pub traceparent: Option<String>,
}

impl CaseRef {
    /// A case with its stored trace.
    #[must_use]
    pub fn new(case_id: Uuid, case_number: &str, traceparent: Option<&str>) -> Self {
        Self {
            case_id,
            case_number: case_number.to_owned(),
            traceparent: traceparent.filter(|t| !t.is_empty()).map(str::to_owned),
        }
    }

    /// A step that concerns no case (certificate key rotation, …).
    #[must_use]
    pub fn none() -> Self {
        Self {
            case_id: Uuid::nil(),
            case_number: String::new(),
            traceparent: None,
        }
    }
}

/// One event a step publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    /// The case it is about (its id and number go into the envelope).
    pub case_id: Uuid,
    /// The case number.
    pub case_number: String,
    /// The body; it decides the subject.
    pub body: Body,
}

/// One audit entry a step leaves (审计: who, when, what, before/after). The who and when come
/// from the step.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// What was done, e.g. `case.claim`.
    pub action: String,
    /// Kind of thing changed, e.g. `case`.
    pub entity: &'static str,
    /// Its id.
    pub entity_id: String,
    /// State before (no unmasked personal data).
    pub before: Option<Value>,
    /// State after (no unmasked personal data).
    pub after: Option<Value>,
}

/// What a step does besides changing its own rows: events to publish and audit entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// Events, in the order they happened.
    pub events: Vec<Emit>,
    /// Audit entries.
    pub audit: Vec<AuditEntry>,
}

impl Effects {
    /// No effects yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an event about `case`.
    pub fn emit(&mut self, case: &CaseRef, body: Body) -> &mut Self {
        self.events.push(Emit {
            case_id: case.case_id,
            case_number: case.case_number.clone(),
            body,
        });
        self
    }

    /// Adds an audit entry about `entity` `entity_id`.
    pub fn audit(
        &mut self,
        action: impl Into<String>,
        entity: &'static str,
        entity_id: impl Into<String>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> &mut Self {
        self.audit.push(AuditEntry {
            action: action.into(),
            entity,
            entity_id: entity_id.into(),
            before,
            after,
        });
        self
    }

    /// Adds an audit entry about a case.
    pub fn audit_case(
        &mut self,
        action: impl Into<String>,
        case: &CaseRef,
        before: Option<Value>,
        after: Option<Value>,
    ) -> &mut Self {
        self.audit(action, "case", case.case_id.to_string(), before, after)
    }

    /// Appends `other`'s effects after these.
    pub fn extend(&mut self, other: Effects) -> &mut Self {
        self.events.extend(other.events);
        self.audit.extend(other.audit);
        self
    }

    /// Whether there is nothing to do.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.audit.is_empty()
    }
}

/// Makes `span` part of `case`'s trace: a step taken hours or days after submission still joins
/// the trace the `SubmitCase` span started (DESIGN §7). Call before the span is entered.
pub fn join_case_trace(span: &Span, case: &CaseRef) {
    if let Some(parent) = case.traceparent.as_deref() {
        tongban_telemetry::set_parent_from_traceparent(span, parent, None);
    }
}

/// Links the current span and, inside a gRPC server, the request's server span to `case`'s
/// trace (DESIGN §7): a reviewer's ClaimCase or DecideCase arrives in a trace of its own, and
/// the link lets a trace viewer go from that request to the case and back.
pub fn link_request_to_case(case: &CaseRef) {
    let Some(traceparent) = case.traceparent.as_deref() else {
        return;
    };
    let current = Span::current();
    tongban_telemetry::link_to_traceparent(&current, traceparent);
    if let Some(request) = tongban_telemetry::request_span()
        .filter(|request| request.id().is_some() && request.id() != current.id())
    {
        tongban_telemetry::link_to_traceparent(&request, traceparent);
    }
}

/// A span for step `name` on `case`, in the case's trace, carrying the case number.
#[must_use]
pub fn case_span(name: &'static str, case: &CaseRef) -> Span {
    let span = tracing::info_span!(
        "step",
        otel.name = name,
        tongban.case_number = %case.case_number,
        tongban.matter_code = tracing::field::Empty,
        tongban.stage = tracing::field::Empty,
        tongban.due_at = tracing::field::Empty,
    );
    join_case_trace(&span, case);
    span
}

/// The trace a step's events carry: the span the step runs in and, as a fallback when that span
/// has no OpenTelemetry context (telemetry off), the traceparent stored with the case, so that
/// consumers still join the case's trace.
#[derive(Debug, Clone)]
pub struct Trace {
    span: Span,
    stored: Option<String>,
    /// The case the step is on, written with its audit entries.
    case_id: Option<Uuid>,
}

impl Trace {
    /// The current span, with no stored fallback.
    #[must_use]
    pub fn current() -> Self {
        Self {
            span: Span::current(),
            stored: None,
            case_id: None,
        }
    }

    /// A new span for step `name` in `case`'s trace ([`case_span`]).
    #[must_use]
    pub fn of_case(name: &'static str, case: &CaseRef) -> Self {
        Self {
            span: case_span(name, case),
            stored: case.traceparent.clone(),
            case_id: Some(case.case_id).filter(|id| !id.is_nil()),
        }
    }

    /// The span to run the step in.
    #[must_use]
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The W3C headers the step's events carry.
    #[must_use]
    pub fn headers(&self) -> Vec<(String, String)> {
        let headers = tongban_telemetry::headers_of(&self.span);
        match (&self.stored, headers.is_empty()) {
            (Some(stored), true) => vec![("traceparent".to_owned(), stored.clone())],
            _ => headers,
        }
    }
}

/// Writes `effects` inside the caller's transaction: each event into the outbox (subject from
/// its body, the headers of `trace`), each audit entry into the audit log, both as `actor` at
/// `at`. This is the one place the suite does either. Audit entries name the case the step is
/// on: `trace`'s case, else the one case all its events are about.
///
/// # Errors
/// A failing statement; the caller's transaction then rolls back and nothing is half-written.
pub async fn apply(
    conn: &mut PgConnection,
    producer: &str,
    actor: &Actor,
    at: DateTime<Utc>,
    trace: &Trace,
    effects: Effects,
) -> Result<(), StoreError> {
    let case_id = trace.case_id.or_else(|| sole_case(&effects.events));
    if !effects.events.is_empty() {
        let headers = trace.headers();
        let messages: Vec<tongban_store::OutboxMessage> = effects
            .events
            .into_iter()
            .map(|emit| {
                tongban_bus::event_message(
                    emit.case_id,
                    &emit.case_number,
                    producer,
                    &actor.user,
                    at,
                    emit.body,
                    headers.clone(),
                )
            })
            .collect();
        // One statement for all of the step's events.
        tongban_store::enqueue_all(conn, &messages).await?;
    }
    for entry in effects.audit {
        tongban_store::audit(
            conn,
            &AuditRecord {
                actor: &actor.user,
                role: &actor.role,
                office_id: &actor.office_id,
                action: &entry.action,
                entity: entry.entity,
                entity_id: &entry.entity_id,
                before: entry.before,
                after: entry.after,
                case_id,
            },
        )
        .await?;
    }
    Ok(())
}

/// The one case all of `events` are about, if they name exactly one.
fn sole_case(events: &[Emit]) -> Option<Uuid> {
    let first = events.first()?.case_id;
    (!first.is_nil() && events.iter().all(|e| e.case_id == first)).then_some(first)
}

/// The executor of one service: it knows the service's name (the events' `producer`).
#[derive(Debug, Clone, Copy)]
pub struct Executor {
    producer: &'static str,
}

impl Executor {
    /// The executor of service `producer`.
    #[must_use]
    pub const fn new(producer: &'static str) -> Self {
        Self { producer }
    }

    /// The service name written as the events' producer.
    #[must_use]
    pub fn producer(&self) -> &'static str {
        self.producer
    }

    /// Starts a step by `actor` at `at`: a transaction in which the caller locks its rows, asks
    /// the domain, stores the new state, then [`Step::apply`]s the effects and commits.
    ///
    /// # Errors
    /// No connection could be had.
    pub async fn begin(
        &self,
        pool: &PgPool,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<Step, sqlx::Error> {
        Ok(Step {
            producer: self.producer,
            tx: pool.begin().await?,
            actor,
            at,
            trace: Trace::current(),
        })
    }
}

/// A step in progress: one open transaction.
#[derive(Debug)]
pub struct Step {
    producer: &'static str,
    tx: Transaction<'static, Postgres>,
    actor: Actor,
    at: DateTime<Utc>,
    trace: Trace,
}

impl Step {
    /// The transaction, to lock, read and store rows.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Who takes the step.
    #[must_use]
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// When the step happens.
    #[must_use]
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The span events are published in: the case's once [`Step::join`] was called.
    #[must_use]
    pub fn span(&self) -> &Span {
        self.trace.span()
    }

    /// Joins the step to `case`'s trace: its events carry the case's trace context from now on,
    /// and the returned span (named `name`) is the one to run the rest of the step in.
    ///
    /// The spans the step was begun in — the handler's span and the gRPC server span of the
    /// request, which started their own trace before the case was known — get a span link to
    /// the case's trace.
    pub fn join(&mut self, name: &'static str, case: &CaseRef) -> Span {
        link_request_to_case(case);
        self.trace = Trace::of_case(name, case);
        self.trace.span().clone()
    }

    /// Writes the step's effects (outbox and audit) into its transaction.
    ///
    /// # Errors
    /// A failing statement.
    pub async fn apply(&mut self, effects: Effects) -> Result<(), StoreError> {
        apply(
            &mut self.tx,
            self.producer,
            &self.actor,
            self.at,
            &self.trace,
            effects,
        )
        .await
    }

    /// Commits everything the step wrote.
    ///
    /// # Errors
    /// The commit failed; nothing was written.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
