//! 多地联办 in the review office: a joint case has one assignment per part, each in its own
//! office's inbox. A reviewer's claim, 补正 request or decision moves their own part
//! ([`plan`], through the domain's `joint` rules); the parts that become ready start, a denial
//! cancels the parts not yet done, and every part that changed is published as
//! `case.part_updated`. The case-level events (`case.claimed`, `case.supplement_requested`,
//! `case.decided`) are published only when the case as a whole moves, so intake, certificate,
//! logistics, supervision and hotline keep working from them unchanged.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use tongban_domain::case::{self, CaseCommand, CaseEvent, CaseStatus, Decision, TransitionError};
use tongban_domain::catalog::JointPart;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::joint::{self, PartError, PartState, PartView};
use tongban_proto::common::v1 as pb;
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_proto::review::v1::Assignment;
use tongban_runtime::convert::{part_state_to_pb, timestamp};
use tongban_runtime::status::{self, PreconditionViolation};
use tonic::Status;

use crate::State;
use crate::api::{Action, log_step};
use crate::outbox::publish;
use crate::repo::{self, AssignmentRow};
use crate::view::decision_pb;
use tongban_runtime::status::internal_for as internal;

/// Why a part may not take a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The part's own rules refuse (waiting, closed, or the step does not apply).
    Part(PartError),
    /// Another part waits for 补正 material: one 补正 at a time per case, and no decision
    /// meanwhile.
    InSupplement {
        /// The name of the part in 补正.
        part: String,
    },
    /// The case as a whole cannot take the step.
    Case(TransitionError),
}

impl Refusal {
    /// FAILED_PRECONDITION naming the reason.
    pub(crate) fn status(&self, lang: Lang) -> Status {
        let (kind, subject, text) = match self {
            Refusal::Part(err @ PartError::Waiting { .. }) => {
                ("PART_WAITING", "case_id", err.text(lang))
            }
            Refusal::Part(err @ PartError::Closed(_)) => ("PART_CLOSED", "state", err.text(lang)),
            Refusal::Part(PartError::Transition(err)) | Refusal::Case(err) => {
                ("CASE_STATE", "state", err.text(lang))
            }
            Refusal::InSupplement { part } => (
                "CASE_IN_SUPPLEMENT",
                "case_id",
                match lang {
                    Lang::Zh => format!(
                        "联办环节「{part}」正在等待补正材料；补正期间其他环节不能要求补正或作出决定"
                    ),
                    Lang::En => format!(
                        "the part {part} is waiting for 补正 material; until it arrives no other \
                         part may ask for 补正 or decide"
                    ),
                },
            ),
        };
        status::failed_precondition(
            text.clone(),
            vec![PreconditionViolation::new(kind, subject, text)],
        )
    }
}

/// What one review step does to a joint case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The state of every part afterwards, in the parts' order.
    pub states: Vec<PartState>,
    /// The parts that changed: the acting part first, then those that started or were
    /// cancelled.
    pub changed: Vec<usize>,
    /// The status of the case as a whole afterwards.
    pub case_status: CaseStatus,
    /// The case-level events: none while the case as a whole does not move.
    pub case_events: Vec<CaseEvent>,
}

/// Decides a review `command` on part `acting` of a joint case whose parts are in `states` and
/// whose case-level status is `case_before`.
///
/// # Errors
/// [`Refusal::Part`] when the part may not take the step (it waits, it is closed, the step does
/// not apply); [`Refusal::InSupplement`] for a 补正 request or a decision while another part
/// waits for 补正; [`Refusal::Case`] when the case as a whole cannot move as the parts would.
pub(crate) fn plan(
    parts: &[JointPart],
    states: &[PartState],
    acting: usize,
    case_before: CaseStatus,
    command: &CaseCommand,
) -> Result<Plan, Refusal> {
    let views = |states: &[PartState]| -> Vec<PartView<'_>> {
        parts
            .iter()
            .zip(states)
            .map(|(part, state)| PartView {
                part,
                state: *state,
            })
            .collect()
    };
    let next =
        joint::transition(&views(states), &parts[acting].code, command).map_err(Refusal::Part)?;
    if matches!(
        command,
        CaseCommand::RequestSupplement { .. } | CaseCommand::Decide { .. }
    ) && let Some(other) =
        (0..parts.len()).find(|&i| i != acting && states[i] == PartState::SupplementRequested)
    {
        return Err(Refusal::InSupplement {
            part: parts[other].name.clone(),
        });
    }
    let mut after = states.to_vec();
    after[acting] = next;
    match next {
        PartState::Approved => {
            for code in joint::ready(&views(&after)) {
                if let Some(i) = parts.iter().position(|p| p.code == code) {
                    after[i] = PartState::Routed;
                }
            }
        }
        PartState::Denied => {
            for state in after.iter_mut().filter(|s| !s.is_done()) {
                *state = PartState::Cancelled;
            }
        }
        _ => {}
    }
    let mut changed = vec![acting];
    changed.extend((0..parts.len()).filter(|&i| i != acting && after[i] != states[i]));
    let case_status = joint::case_status(after.iter().copied());
    let case_events = if case_status == case_before {
        Vec::new()
    } else {
        // A decision moves the case only once its outcome is known; claims and 补正 are the
        // case's own steps.
        let case_command = match command {
            CaseCommand::Decide { .. } => joint::outcome(after.iter().copied())
                .map(|decision| CaseCommand::Decide { decision }),
            other => Some(other.clone()),
        };
        match case_command.map(|c| case::transition(case_before, &c)) {
            None => Vec::new(),
            Some(Ok((_, events))) => events,
            // A later claim of a case already under review is no news for the case.
            Some(Err(_)) if matches!(command, CaseCommand::Claim { .. }) => Vec::new(),
            Some(Err(err)) => return Err(Refusal::Case(err)),
        }
    };
    Ok(Plan {
        states: after,
        changed,
        case_status,
        case_events,
    })
}

/// The parts and their states, as the rows of a joint case hold them.
fn parts_and_states(rows: &[AssignmentRow]) -> Option<(Vec<JointPart>, Vec<PartState>)> {
    rows.iter()
        .map(|r| Some((r.joint_part()?, r.part_state()?)))
        .collect::<Option<Vec<_>>>()
        .map(|pairs| pairs.into_iter().unzip())
}

/// Runs a review step on the caller's part (`rows[acting]`) of a joint case whose rows are all
/// locked in `tx`: plans it, lets `check` refuse it and `change` fill in the acting row, stores
/// every row, publishes `case.part_updated` for each part that changed and the case-level
/// events, and records the audit entry. Returns the caller's view.
///
/// # Errors
/// FAILED_PRECONDITION for a [`Refusal`], whatever `check` returns, INTERNAL for storage.
pub(crate) async fn act(
    tx: &mut PgConnection,
    state: &State,
    action: &Action<'_>,
    mut rows: Vec<AssignmentRow>,
    acting: usize,
    check: impl FnOnce(&AssignmentRow) -> Result<(), Status>,
    change: impl FnOnce(&mut AssignmentRow, DateTime<Utc>) -> Body,
) -> Result<Assignment, Status> {
    let lang = action.lang;
    // A case's rows are all parts or none: a row without its part is corrupt.
    let (parts, states) = parts_and_states(&rows).ok_or_else(|| {
        status::internal(
            lang,
            &repo::RepoError::Decode {
                column: "part_state",
                value: String::new(),
            },
        )
    })?;
    let plan = plan(
        &parts,
        &states,
        acting,
        rows[acting].status(),
        action.command,
    )
    .map_err(|r| r.status(lang))?;
    check(&rows[acting])?;
    let before = json!({
        "part_state": rows[acting].part_state,
        "state": repo::state_name(rows[acting].state),
        "case_status": rows[acting].case_status,
    });
    let body = change(&mut rows[acting], action.now);
    // The time limit is the case's: a 补正 stops it for every part.
    let due_at = rows[acting].due_at;
    for (row, part_state) in rows.iter_mut().zip(&plan.states) {
        row.set_part_state(*part_state);
        row.set_status(plan.case_status);
        row.due_at = due_at;
        repo::update(tx, row).await.map_err(internal(lang))?;
    }
    // 一件事: the case as a whole, as its bundle counts it.
    let decided = plan.case_events.iter().find_map(|e| match e {
        CaseEvent::Decided(decision) => Some(*decision),
        _ => None,
    });
    crate::members::follow(tx, rows[acting].case_id, plan.case_status, decided)
        .await
        .map_err(internal(lang))?;
    let user = action.claims.user.as_str();
    for &i in &plan.changed {
        let part = Body::CasePartUpdated(ev::CasePartUpdated {
            part: Some(case_part(&rows[i], action.now)),
            reviewer: if i == acting {
                user.to_owned()
            } else {
                String::new()
            },
        });
        publish(tx, &rows[i], user, action.now, part)
            .await
            .map_err(|e| status::internal(lang, &e))?;
    }
    let lead_office = rows[0].office_id.clone();
    for step in &plan.case_events {
        let body = case_body(body.clone(), &rows[acting], &lead_office, *step);
        publish(tx, &rows[acting], user, action.now, body)
            .await
            .map_err(|e| status::internal(lang, &e))?;
        log_step(&rows[acting], *step);
    }
    let row = &rows[acting];
    tongban_store::audit(
        tx,
        &tongban_store::AuditRecord {
            actor: user,
            role: action.claims.role.as_str(),
            office_id: &action.claims.office,
            action: action.command.name(),
            entity: "case",
            entity_id: &row.case_id.to_string(),
            before: Some(before),
            after: Some(json!({
                "part_code": row.part_code,
                "part_state": row.part_state,
                "state": repo::state_name(row.state),
                "case_status": row.case_status,
                "decision": row.decision,
            })),
        },
    )
    .await
    .map_err(|e| status::internal(lang, &e))?;
    tracing::info!(
        case_number = %row.case_number,
        part = %row.part_code,
        part_state = row.part_state.map(PartState::as_str).unwrap_or_default(),
        case_status = %row.case_status,
        "joint part step"
    );
    // Every row of the case is in hand: the view reads only the bundle's members.
    crate::view::assignment_in_case(tx, &state.reference, row, &rows)
        .await
        .map_err(internal(lang))
}

/// The case-level body of a step: as the acting part's office built it, except that an
/// approval of the whole case is the lead office's (it issues the result) and a denial names
/// the part that denied.
fn case_body(body: Body, acting: &AssignmentRow, lead_office: &str, step: CaseEvent) -> Body {
    match (body, step) {
        (Body::CaseDecided(mut decided), CaseEvent::Decided(Decision::Approve)) => {
            lead_office.clone_into(&mut decided.office_id);
            Body::CaseDecided(decided)
        }
        (Body::CaseDecided(mut decided), CaseEvent::Decided(Decision::Deny)) => {
            decided.reason = format!("「{}」不予：{}", acting.part_name, decided.reason);
            Body::CaseDecided(decided)
        }
        (body, _) => body,
    }
}

/// The part of `row` as published in `case.part_updated`.
pub(crate) fn case_part(row: &AssignmentRow, at: DateTime<Utc>) -> pb::CasePart {
    let scope: i32 = row
        .route_text("scope")
        .parse()
        .map(tongban_runtime::convert::scope_to_pb)
        .unwrap_or_default()
        .into();
    pb::CasePart {
        part_code: row.part_code.clone(),
        name: row.part_name.clone(),
        name_en: row.route_text("name_en"),
        department: row.route_text("department"),
        office_id: row.office_id.clone(),
        scope,
        agreement_id: row.route_text("agreement_id"),
        after: repo::strings(&row.part_after),
        state: row
            .part_state()
            .map(part_state_to_pb)
            .unwrap_or_default()
            .into(),
        decision: decision_pb(row.decision.map(Decision::as_str)).into(),
        reason: row.decision_reason.clone().unwrap_or_default(),
        updated_at: Some(timestamp(at)),
        locality: row.route_text("locality"),
        division: row.route_text("division"),
    }
}

/// Applies a step the window made (补正 arrived, withdrawn, completed) to every row of a case:
/// the case status moves as the state machine allows; for a 多地联办 case the part in 补正 is
/// supplemented and the parts not done are withdrawn. Returns the rows whose part changed;
/// nothing changes when the step does not apply (it is logged).
pub(crate) fn window_step(rows: &mut [AssignmentRow], command: &CaseCommand) -> Vec<usize> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let next = match case::transition(first.status(), command) {
        Ok((next, _)) => next,
        Err(err) => {
            tracing::warn!(case_number = %first.case_number, error = %err, "window event does not apply; ignored");
            return Vec::new();
        }
    };
    let mut changed = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        let Some(part) = row.part_state() else {
            row.set_status(next);
            continue;
        };
        let moved = match command {
            CaseCommand::Supplement if part == PartState::SupplementRequested => {
                Some(PartState::Supplemented)
            }
            CaseCommand::Withdraw { .. } if !part.is_done() => Some(PartState::Withdrawn),
            _ => None,
        };
        if let Some(moved) = moved {
            row.set_part_state(moved);
            changed.push(i);
        }
        row.set_status(next);
    }
    changed
}

/// Publishes `case.part_updated` for the parts a window step changed (no reviewer moved them).
pub(crate) async fn publish_window_step(
    conn: &mut PgConnection,
    rows: &[AssignmentRow],
    changed: &[usize],
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), tongban_store::StoreError> {
    for &i in changed {
        let part = Body::CasePartUpdated(ev::CasePartUpdated {
            part: Some(case_part(&rows[i], at)),
            reviewer: String::new(),
        });
        publish(conn, &rows[i], actor, at, part).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_domain::catalog::{Locality, Mode, Scope};
    use tongban_proto::review::v1::AssignmentState;

    fn part(code: &str, after: &[&str]) -> JointPart {
        JointPart {
            code: code.to_owned(),
            name: format!("环节{code}"),
            name_en: format!("Part {code}"),
            department: "gongan".to_owned(),
            locality: Locality::HomeDivision,
            after: after.iter().map(|s| (*s).to_owned()).collect(),
            review_points: Vec::new(),
        }
    }

    fn claim() -> CaseCommand {
        CaseCommand::Claim {
            reviewer: "r".to_owned(),
        }
    }

    fn decide(decision: Decision) -> CaseCommand {
        CaseCommand::Decide { decision }
    }

    fn supplement() -> CaseCommand {
        CaseCommand::RequestSupplement {
            items: vec!["户口簿".to_owned()],
            reason: "不清晰".to_owned(),
        }
    }

    use PartState::{
        Approved, Cancelled, Claimed, Denied, Routed, SupplementRequested, Supplemented, Waiting,
    };

    #[test]
    fn a_waiting_part_cannot_be_claimed_and_names_what_it_waits_for() {
        let parts = [part("QR", &[]), part("QC", &["QR"])];
        let refused = plan(&parts, &[Routed, Waiting], 1, CaseStatus::Routed, &claim());
        assert_eq!(
            refused,
            Err(Refusal::Part(PartError::Waiting {
                awaiting: vec!["环节QR".to_owned()]
            }))
        );
    }

    #[test]
    fn the_first_claim_claims_the_case_and_a_later_one_is_no_case_news() {
        let parts = [part("A", &[]), part("B", &[])];
        let first = plan(&parts, &[Routed, Routed], 0, CaseStatus::Routed, &claim()).unwrap();
        assert_eq!(first.states, vec![Claimed, Routed]);
        assert_eq!(first.case_status, CaseStatus::Claimed);
        assert_eq!(first.case_events, vec![CaseEvent::Claimed]);
        assert_eq!(first.changed, vec![0]);
        let second = plan(&parts, &[Claimed, Routed], 1, CaseStatus::Claimed, &claim()).unwrap();
        assert_eq!(second.states, vec![Claimed, Claimed]);
        assert!(second.case_events.is_empty());
    }

    #[test]
    fn approving_the_first_part_starts_the_next_and_the_last_approval_decides_the_case() {
        let parts = [part("QR", &[]), part("QC", &["QR"])];
        let first = plan(
            &parts,
            &[Claimed, Waiting],
            0,
            CaseStatus::Claimed,
            &decide(Decision::Approve),
        )
        .unwrap();
        assert_eq!(first.states, vec![Approved, Routed]);
        assert_eq!(first.changed, vec![0, 1]);
        assert_eq!(first.case_status, CaseStatus::Claimed);
        assert!(first.case_events.is_empty());
        let last = plan(
            &parts,
            &[Approved, Claimed],
            1,
            CaseStatus::Claimed,
            &decide(Decision::Approve),
        )
        .unwrap();
        assert_eq!(last.case_status, CaseStatus::Approved);
        assert_eq!(
            last.case_events,
            vec![CaseEvent::Decided(Decision::Approve)]
        );
    }

    #[test]
    fn a_denial_cancels_the_open_parts_and_denies_the_case() {
        let parts = [part("A", &[]), part("B", &[]), part("C", &["A", "B"])];
        let denied = plan(
            &parts,
            &[Approved, Claimed, Waiting],
            1,
            CaseStatus::Claimed,
            &decide(Decision::Deny),
        )
        .unwrap();
        assert_eq!(denied.states, vec![Approved, Denied, Cancelled]);
        assert_eq!(denied.changed, vec![1, 2]);
        assert_eq!(denied.case_status, CaseStatus::Denied);
        assert_eq!(denied.case_events, vec![CaseEvent::Decided(Decision::Deny)]);
    }

    #[test]
    fn one_supplement_at_a_time_and_no_decision_meanwhile() {
        let parts = [part("A", &[]), part("B", &[])];
        let asked = plan(
            &parts,
            &[Claimed, Claimed],
            0,
            CaseStatus::Claimed,
            &supplement(),
        )
        .unwrap();
        assert_eq!(asked.case_events, vec![CaseEvent::SupplementRequested]);
        assert_eq!(asked.case_status, CaseStatus::SupplementRequested);
        let states = [SupplementRequested, Claimed];
        for command in [supplement(), decide(Decision::Approve)] {
            assert_eq!(
                plan(
                    &parts,
                    &states,
                    1,
                    CaseStatus::SupplementRequested,
                    &command
                ),
                Err(Refusal::InSupplement {
                    part: "环节A".to_owned()
                })
            );
        }
        // Claiming meanwhile is fine, and no news for the case.
        let claimed = plan(
            &parts,
            &[SupplementRequested, Routed],
            1,
            CaseStatus::SupplementRequested,
            &claim(),
        )
        .unwrap();
        assert!(claimed.case_events.is_empty());
        assert_eq!(claimed.case_status, CaseStatus::SupplementRequested);
    }

    #[test]
    fn a_supplemented_part_may_ask_again_and_the_case_follows() {
        let parts = [part("A", &[]), part("B", &[])];
        let again = plan(
            &parts,
            &[Supplemented, Claimed],
            1,
            CaseStatus::Supplemented,
            &supplement(),
        )
        .unwrap();
        assert_eq!(again.case_events, vec![CaseEvent::SupplementRequested]);
    }

    fn row(code: &str, office: &str, state: PartState, case_status: CaseStatus) -> AssignmentRow {
        let mut row = AssignmentRow {
            case_number: "140922-20261102-00001-4".to_owned(),
            office_id: office.to_owned(),
            matter_code: "GJJ-ZY-JX".to_owned(),
            matter_name: "住房公积金转移接续".to_owned(),
            scope: Some(Scope::CrossProvince),
            mode: Some(Mode::Joint),
            window_office_id: "140922-zwfw".to_owned(),
            home_division: "640104".to_owned(),
            routed_at: Utc::now(),
            part_code: code.to_owned(),
            part_name: format!("环节{code}"),
            part_route: json!({"scope": "province_wide", "locality": "home_division"}),
            part_locality: Some(Locality::HomeDivision),
            ..AssignmentRow::default()
        };
        row.set_part_state(state);
        row.set_status(case_status);
        row
    }

    #[test]
    fn the_supplement_arrives_for_the_part_that_asked_only() {
        let status = CaseStatus::SupplementRequested;
        let mut rows = [
            row("A", "a", SupplementRequested, status),
            row("B", "b", Claimed, status),
        ];
        assert_eq!(window_step(&mut rows, &CaseCommand::Supplement), vec![0]);
        assert_eq!(rows[0].part_state(), Some(Supplemented));
        assert_eq!(rows[0].state, AssignmentState::Supplemented);
        assert_eq!(rows[1].part_state(), Some(Claimed));
        assert!(rows.iter().all(|r| r.status() == CaseStatus::Supplemented));
    }

    #[test]
    fn a_withdrawal_withdraws_the_open_parts_and_a_decided_case_cannot_be_withdrawn() {
        let withdraw = CaseCommand::Withdraw {
            reason: "申请人撤回".to_owned(),
        };
        let status = CaseStatus::Claimed;
        let mut rows = [
            row("A", "a", Approved, status),
            row("B", "b", Claimed, status),
            row("C", "c", Waiting, status),
        ];
        assert_eq!(window_step(&mut rows, &withdraw), vec![1, 2]);
        assert_eq!(rows[0].part_state(), Some(Approved));
        assert_eq!(rows[2].state, AssignmentState::Withdrawn);
        assert!(rows.iter().all(|r| r.status() == CaseStatus::Withdrawn));

        let status = CaseStatus::Denied;
        let mut rows = [
            row("A", "a", Denied, status),
            row("B", "b", Cancelled, status),
        ];
        assert!(window_step(&mut rows, &withdraw).is_empty());
        assert!(rows.iter().all(|r| r.status() == CaseStatus::Denied));
        assert_eq!(rows[1].state, AssignmentState::Cancelled);
    }

    #[test]
    fn the_published_part_carries_its_route_and_state() {
        let mut denied = row("A", "a", Denied, CaseStatus::Denied);
        denied.decision = Some(Decision::Deny);
        denied.decision_reason = Some("账户未开立".to_owned());
        let part = case_part(&denied, Utc::now());
        assert_eq!(part.state(), pb::PartState::Denied);
        assert_eq!(part.decision(), pb::Decision::Deny);
        assert_eq!(part.reason, "账户未开立");
        assert_eq!(part.scope(), pb::Scope::ProvinceWide);
        assert_eq!(part.locality, "home_division");
        assert_eq!(part.office_id, "a");
    }

    #[test]
    fn a_cancelled_part_is_closed() {
        let parts = [part("A", &[]), part("B", &[])];
        assert_eq!(
            plan(
                &parts,
                &[Denied, Cancelled],
                1,
                CaseStatus::Denied,
                &claim()
            ),
            Err(Refusal::Part(PartError::Closed(Cancelled)))
        );
    }
}
