//! 一件事 in the review office: a read model of every member case of the bundles review has
//! heard of, whether or not the member has reached an office. A member that waits for another
//! member's result is only submitted until that member is approved — and is withdrawn without
//! ever being routed when it is denied — so an office's view of its bundle cannot come from the
//! assignments alone.
//!
//! The window's steps arrive as case events ([`apply`]); review's own claims, 补正 requests and
//! decisions are written in the transaction that makes them ([`follow`]), since the consumer
//! skips review's own events.

use sqlx::PgConnection;
use tongban_bus::HandleError;
use tongban_domain::case::{self, CaseCommand, CaseStatus, Decision};
use tongban_domain::reference::ReferenceData;
use tongban_proto::events::v1::{CaseSummary, Event, event::Body};
use tongban_runtime::convert::decision_from_pb;
use uuid::Uuid;

use crate::repo::{RepoError, decode, decode_opt};

/// A member row as stored: its status and decision as text. It becomes a [`MemberRow`] only by
/// decoding ([`TryFrom`]).
#[derive(Debug, Clone, sqlx::FromRow)]
struct Stored {
    bundle_id: Uuid,
    case_id: Uuid,
    case_number: String,
    matter_code: String,
    matter_name: String,
    status: String,
    decision: Option<String>,
    position: i32,
}

/// One member case of a 一件事 bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub bundle_id: Uuid,
    pub case_id: Uuid,
    pub case_number: String,
    pub matter_code: String,
    pub matter_name: String,
    /// The member case's status as a whole (only this service writes it).
    pub status: CaseStatus,
    /// The member's decision, once decided.
    pub decision: Option<Decision>,
    pub position: i32,
}

impl TryFrom<Stored> for MemberRow {
    type Error = RepoError;

    fn try_from(s: Stored) -> Result<Self, RepoError> {
        Ok(Self {
            status: decode("bundle_members.status", &s.status)?,
            decision: decode_opt("bundle_members.decision", s.decision.as_deref())?,
            bundle_id: s.bundle_id,
            case_id: s.case_id,
            case_number: s.case_number,
            matter_code: s.matter_code,
            matter_name: s.matter_name,
            position: s.position,
        })
    }
}

impl MemberRow {
    /// What the one bundle view needs of the member (review does not know other members'
    /// offices; the view shows an office only its own case's).
    pub fn facts(&self) -> tongban_domain::bundle_view::MemberFacts {
        tongban_domain::bundle_view::MemberFacts {
            case_id: self.case_id.to_string(),
            case_number: self.case_number.clone(),
            matter_code: self.matter_code.clone(),
            matter_name: self.matter_name.clone(),
            status: self.status,
            decision: self.decision,
            responsible_office_id: String::new(),
        }
    }
}

/// The members of these bundles, each bundle's in the order of its definition at submission.
pub async fn of_bundles(
    conn: &mut PgConnection,
    bundle_ids: &[Uuid],
) -> Result<Vec<MemberRow>, RepoError> {
    let stored: Vec<Stored> = sqlx::query_as(
        "SELECT bundle_id, case_id, case_number, matter_code, matter_name, status, decision, position
         FROM bundle_members WHERE bundle_id = ANY($1)
         ORDER BY bundle_id, position, case_number",
    )
    .bind(bundle_ids)
    .fetch_all(conn)
    .await?;
    stored.into_iter().map(MemberRow::try_from).collect()
}

/// Review's own step on case `case_id` moved the case as a whole to `status` (with `decision`
/// when it was decided): the member row follows, in the step's transaction. Nothing happens
/// for a case that is no bundle's member.
pub async fn follow(
    conn: &mut PgConnection,
    case_id: Uuid,
    status: CaseStatus,
    decision: Option<Decision>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE bundle_members SET status = $2, decision = COALESCE($3, decision), updated_at = now()
         WHERE case_id = $1 AND (status <> $2 OR decision IS DISTINCT FROM COALESCE($3, decision))",
    )
    .bind(case_id)
    .bind(status.as_str())
    .bind(decision.map(Decision::as_str))
    .execute(conn)
    .await?;
    Ok(())
}

/// Applies a case event of another service to the members: `case.submitted` (and
/// `case.routed`, which carries the same summary) enters a bundle member; the other case-level
/// steps move a known member through the case's state machine. A step that does not apply to
/// the member's status (a late redelivery) is ignored.
///
/// # Errors
/// Reject when the summary names a bundle id that is not a UUID or a stored status does not
/// decode; Retry when the store fails.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    case_id: Uuid,
    event: &Event,
) -> Result<(), HandleError> {
    let Some(body) = &event.body else {
        return Ok(());
    };
    let (command, decision) = match body {
        Body::CaseSubmitted(submitted) => {
            if let Some(summary) = &submitted.summary {
                join(conn, reference, case_id, &event.case_number, summary, false).await?;
            }
            return Ok(());
        }
        Body::CaseRouted(routed) => {
            if let Some(summary) = &routed.summary {
                join(conn, reference, case_id, &event.case_number, summary, true).await?;
            }
            return Ok(());
        }
        Body::CaseAccepted(_) => (CaseCommand::Accept, None),
        Body::CaseClaimed(c) => (
            CaseCommand::Claim {
                reviewer: c.reviewer.clone(),
            },
            None,
        ),
        Body::SupplementRequested(s) => (
            CaseCommand::RequestSupplement {
                items: s.items.clone(),
                reason: s.reason.clone(),
            },
            None,
        ),
        Body::CaseSupplemented(_) => (CaseCommand::Supplement, None),
        Body::CaseDecided(d) => {
            let Some(decision) = decision_from_pb(d.decision()) else {
                return Ok(());
            };
            (CaseCommand::Decide { decision }, Some(decision))
        }
        Body::CaseCompleted(c) => (CaseCommand::Complete, decision_from_pb(c.decision())),
        Body::CaseWithdrawn(w) => (
            CaseCommand::Withdraw {
                reason: w.reason.clone(),
            },
            None,
        ),
        _ => return Ok(()),
    };
    step(conn, case_id, &command, decision).await?;
    Ok(())
}

/// Enters member `case_id` of the bundle `summary` names (nothing for a case of no bundle):
/// submitted, or routed when `routed` — a routed event also moves a member still submitted or
/// accepted on, and enters a member whose submitted event was not applied.
async fn join(
    conn: &mut PgConnection,
    reference: &ReferenceData,
    case_id: Uuid,
    case_number: &str,
    summary: &CaseSummary,
    routed: bool,
) -> Result<(), HandleError> {
    let bundle_id = summary.bundle_id.trim();
    if bundle_id.is_empty() {
        return Ok(());
    }
    let bundle_id = Uuid::parse_str(bundle_id)
        .map_err(|_| HandleError::Reject("bundle id is not a UUID".to_owned()))?;
    // The definition's order; a matter it does not list (the catalog changed) goes last.
    let position = reference.bundles.get(&summary.bundle_code).map_or(0, |b| {
        b.matters
            .iter()
            .position(|m| *m == summary.matter_code)
            .unwrap_or(b.matters.len())
    });
    let status = if routed {
        CaseStatus::Routed
    } else {
        CaseStatus::Submitted
    };
    let conflict = if routed {
        "ON CONFLICT (case_id) DO UPDATE SET status = EXCLUDED.status, updated_at = now()
         WHERE bundle_members.status IN ('submitted', 'accepted')"
    } else {
        "ON CONFLICT (case_id) DO NOTHING"
    };
    let sql = format!(
        "INSERT INTO bundle_members (bundle_id, case_id, case_number, matter_code, matter_name, status, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7) {conflict}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(bundle_id)
        .bind(case_id)
        .bind(case_number)
        .bind(&summary.matter_code)
        .bind(&summary.matter_name)
        .bind(status.as_str())
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a known member by `command` (with `decision` recorded when given); nothing for a case
/// that is no bundle's member, or when the step does not apply to the member's status.
async fn step(
    conn: &mut PgConnection,
    case_id: Uuid,
    command: &CaseCommand,
    decision: Option<Decision>,
) -> Result<(), RepoError> {
    let current: Option<(String,)> =
        sqlx::query_as("SELECT status FROM bundle_members WHERE case_id = $1 FOR UPDATE")
            .bind(case_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((current,)) = current else {
        return Ok(());
    };
    let current: CaseStatus = decode("bundle_members.status", &current)?;
    match case::transition(current, command) {
        Ok((next, _)) => Ok(follow(conn, case_id, next, decision).await?),
        Err(err) => {
            tracing::debug!(%case_id, error = %err, "case step does not apply to the bundle member; ignored");
            Ok(())
        }
    }
}
