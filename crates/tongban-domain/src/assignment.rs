//! 属地审批 steps on a case's assignment rows: what a reviewer's claim, 补正 request or decision
//! does to a case handled by one office ([`review`] on a case without parts) or to the parts of
//! a 多地联办 case ([`plan`]: one 补正 at a time, an approval starting the parts that are ready,
//! a denial cancelling the open parts), and what the window's 补正 hand-in, withdrawal or
//! completion does to the review rows ([`window_step`]). Pure: the review service loads and
//! locks the rows, asks these functions, and stores and publishes what they return.

use std::fmt;

use crate::case::{self, CaseCommand, CaseEvent, CaseStatus, Decision, TransitionError};
use crate::catalog::{JointPart, Matter};
use crate::i18n::{Lang, Localized};
use crate::joint::{self, PartError, PartState, PartView};
use crate::review::{ChecklistEntry, ChecklistProblem, check_decision, check_part_decision};

/// Why a review step does not happen. Each refusal has a stable [`Refusal::kind`] (the
/// `PreconditionFailure` type the API promises) and the request field it is about
/// ([`Refusal::subject`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 待前序环节: the part waits for the parts it comes after (their names, in order).
    PartWaiting {
        /// Names of the parts not yet approved.
        awaiting: Vec<String>,
    },
    /// The part was cancelled (another part was denied) or withdrawn.
    PartClosed(PartState),
    /// The case (or the part, as a case of its own) does not allow the step.
    CaseState(TransitionError),
    /// 补正 in progress: another part waits for 补正 material; one 补正 at a time per case,
    /// and no decision meanwhile.
    CaseInSupplement {
        /// The name of the part in 补正.
        part: String,
    },
    /// 纸质原件到达前不得准予: the paper originals (these material codes) have not been
    /// delivered to the lead office yet.
    OriginalsNotDelivered {
        /// Codes of the materials still in transit.
        codes: Vec<String>,
    },
    /// 审查要点: the checklist does not support the decision (every problem at once).
    Checklist(Vec<ChecklistProblem>),
    /// 已由他人认领: another reviewer holds the case (or the part); only they, or the office
    /// head, may ask for 补正 or decide, and only the head may give it to someone else
    /// ([`reassign`]).
    HeldByAnother {
        /// The user who holds it.
        holder: String,
    },
    /// 改派 is the office head's (科室负责人) alone.
    HeadOnly,
    /// 改派 needs a case that is held and not yet decided: nobody has claimed it, or it is
    /// decided, withdrawn or cancelled.
    NotHeld,
}

impl Refusal {
    /// The stable kind: `PART_WAITING`, `PART_CLOSED`, `CASE_STATE`, `CASE_IN_SUPPLEMENT`,
    /// `ORIGINAL_NOT_DELIVERED`, `CHECKLIST`, `CLAIMED_BY_ANOTHER`, `OFFICE_HEAD_ONLY` or
    /// `NOT_CLAIMED`.
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::PartWaiting { .. } => "PART_WAITING",
            Refusal::PartClosed(_) => "PART_CLOSED",
            Refusal::CaseState(_) => "CASE_STATE",
            Refusal::CaseInSupplement { .. } => "CASE_IN_SUPPLEMENT",
            Refusal::OriginalsNotDelivered { .. } => "ORIGINAL_NOT_DELIVERED",
            Refusal::Checklist(_) => "CHECKLIST",
            Refusal::HeldByAnother { .. } => "CLAIMED_BY_ANOTHER",
            Refusal::HeadOnly => "OFFICE_HEAD_ONLY",
            Refusal::NotHeld => "NOT_CLAIMED",
        }
    }

    /// The field the refusal is about: `case_id` (the case is not ready for it), `state` (its
    /// state does not allow it), `checklist`, or `claimed_by` (who holds it).
    pub fn subject(&self) -> &'static str {
        match self {
            Refusal::PartWaiting { .. }
            | Refusal::CaseInSupplement { .. }
            | Refusal::OriginalsNotDelivered { .. } => "case_id",
            Refusal::PartClosed(_) | Refusal::CaseState(_) | Refusal::NotHeld => "state",
            Refusal::Checklist(_) => "checklist",
            Refusal::HeldByAnother { .. } | Refusal::HeadOnly => "claimed_by",
        }
    }
}

impl From<PartError> for Refusal {
    fn from(err: PartError) -> Self {
        match err {
            PartError::Waiting { awaiting } => Refusal::PartWaiting { awaiting },
            PartError::Closed(state) => Refusal::PartClosed(state),
            PartError::Transition(err) => Refusal::CaseState(err),
        }
    }
}

impl Localized for Refusal {
    fn text(&self, lang: Lang) -> String {
        match self {
            Refusal::PartWaiting { awaiting } => PartError::Waiting {
                awaiting: awaiting.clone(),
            }
            .text(lang),
            Refusal::PartClosed(state) => PartError::Closed(*state).text(lang),
            Refusal::CaseState(err) => err.text(lang),
            Refusal::CaseInSupplement { part } => match lang {
                Lang::Zh => format!(
                    "联办环节「{part}」正在等待补正材料；补正期间其他环节不能要求补正或作出决定"
                ),
                Lang::En => format!(
                    "the part {part} is waiting for 补正 material; until it arrives no other \
                     part may ask for 补正 or decide"
                ),
            },
            Refusal::OriginalsNotDelivered { .. } => lang
                .pick(
                    "纸质原件尚未送达本机关，暂不能准予；可先依据扫描件审查",
                    "the paper originals have not been delivered to this office yet; approval \
                     must wait (review may proceed on the scans)",
                )
                .to_owned(),
            Refusal::Checklist(problems) => problems
                .iter()
                .map(|p| p.text(lang))
                .collect::<Vec<_>>()
                .join(lang.pick("；", "; ")),
            Refusal::HeldByAnother { holder } => match lang {
                Lang::Zh => format!(
                    "该办件已由 {holder} 认领；只有认领人或科室负责人可以要求补正或作出决定，\
                     改派请科室负责人使用 ReassignCase"
                ),
                Lang::En => format!(
                    "the case is held by {holder}; only they or the office head may ask for 补正 \
                     or decide (the office head reassigns it with ReassignCase)"
                ),
            },
            Refusal::HeadOnly => lang
                .pick(
                    "只有科室负责人可以改派办件",
                    "only the office head may reassign a case",
                )
                .to_owned(),
            Refusal::NotHeld => lang
                .pick(
                    "只能改派已认领且尚未决定的办件；未认领的办件由审批人员自行认领",
                    "only a claimed, undecided case can be reassigned; an unclaimed one is claimed \
                     by the reviewer",
                )
                .to_owned(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

impl std::error::Error for Refusal {}

/// What a reviewer asks of their case (or their part of a 多地联办 case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// 认领.
    Claim {
        /// The reviewer's user name.
        reviewer: String,
    },
    /// 补正通知 (一次性告知: every item at once).
    RequestSupplement {
        /// What is needed.
        items: Vec<String>,
        /// Why.
        reason: String,
    },
    /// 决定 against the matter's 审查要点.
    Decide {
        /// 准予 or 不予.
        decision: Decision,
        /// The reason given (required for 不予; the request checks that).
        reason: String,
        /// The reviewer's checklist.
        checklist: Vec<ChecklistEntry>,
        /// 纸质原件: codes of the originals still on their way to the lead office, when any
        /// must arrive before an approval.
        originals_missing: Option<Vec<String>>,
    },
}

impl Command {
    /// The case state machine's command.
    pub fn case_command(&self) -> CaseCommand {
        match self {
            Command::Claim { reviewer } => CaseCommand::Claim {
                reviewer: reviewer.clone(),
            },
            Command::RequestSupplement { items, reason } => CaseCommand::RequestSupplement {
                items: items.clone(),
                reason: reason.clone(),
            },
            Command::Decide { decision, .. } => CaseCommand::Decide {
                decision: *decision,
            },
        }
    }

    /// The step's name (`claim`, `request_supplement`, `decide`), for audit and spans.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Claim { .. } => "claim",
            Command::RequestSupplement { .. } => "request_supplement",
            Command::Decide { .. } => "decide",
        }
    }

    /// The stage of the case the step works in (`tongban.stage`): `decide` or `review`.
    pub fn stage(&self) -> &'static str {
        match self {
            Command::Decide { .. } => "decide",
            _ => "review",
        }
    }
}

/// A case as review holds it: its status as a whole and, for a 多地联办 case, its parts in
/// order (the first is the lead part: its office receives the originals and issues the
/// result). A case handled by one office has no parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReview {
    /// The status of the case as a whole.
    pub status: CaseStatus,
    /// 多地联办: the parts and where each stands; empty for a case handled by one office.
    pub parts: Vec<(JointPart, PartState)>,
}

impl CaseReview {
    /// Whether it is a 多地联办 case.
    pub fn is_joint(&self) -> bool {
        !self.parts.is_empty()
    }
}

/// What one review step does to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status of the case as a whole afterwards.
    pub status: CaseStatus,
    /// 多地联办: the state of every part afterwards, in the parts' order (empty otherwise).
    pub parts: Vec<PartState>,
    /// 多地联办: the parts that changed, the acting part first, then those that started or
    /// were cancelled (each is published as `case.part_updated`); empty otherwise.
    pub changed: Vec<usize>,
    /// The case-level events: none while the case as a whole does not move.
    pub case_events: Vec<CaseEvent>,
    /// 补正 stops the case's time limit (for every part) until the material arrives.
    pub stops_clock: bool,
}

impl Outcome {
    /// The case's decision, when this step decided the case as a whole.
    pub fn decided(&self) -> Option<Decision> {
        self.case_events.iter().find_map(|e| match e {
            CaseEvent::Decided(decision) => Some(*decision),
            _ => None,
        })
    }
}

/// Decides a reviewer's `command` on `case` by the office of part `acting` (0 for a case
/// handled by one office); `matter` is the case's matter, when the catalog still knows it (its
/// 审查要点 check the decision).
///
/// The state is checked first, then — for a decision — the originals (at the lead office
/// only, for an approval), then the checklist (a 多地联办 part answers its own 审查要点 only).
///
/// # Errors
/// The [`Refusal`] of the step.
pub fn review(
    case: &CaseReview,
    acting: usize,
    command: &Command,
    matter: Option<&Matter>,
) -> Result<Outcome, Refusal> {
    let case_command = command.case_command();
    let outcome = if case.is_joint() {
        let (parts, states): (Vec<JointPart>, Vec<PartState>) = case.parts.iter().cloned().unzip();
        let plan = plan(&parts, &states, acting, case.status, &case_command)?;
        Outcome {
            status: plan.case_status,
            parts: plan.states,
            changed: plan.changed,
            case_events: plan.case_events,
            stops_clock: false,
        }
    } else {
        let (status, case_events) =
            case::transition(case.status, &case_command).map_err(Refusal::CaseState)?;
        Outcome {
            status,
            parts: Vec::new(),
            changed: Vec::new(),
            case_events,
            stops_clock: false,
        }
    };
    match command {
        Command::Decide {
            decision,
            checklist,
            originals_missing,
            ..
        } => {
            if *decision == Decision::Approve
                && acting == 0
                && let Some(codes) = originals_missing
            {
                return Err(Refusal::OriginalsNotDelivered {
                    codes: codes.clone(),
                });
            }
            if let Some(matter) = matter {
                let checked = match case.parts.get(acting) {
                    Some((part, _)) => check_part_decision(matter, part, *decision, checklist),
                    None => check_decision(matter, *decision, checklist),
                };
                checked.map_err(Refusal::Checklist)?;
            }
            Ok(outcome)
        }
        Command::RequestSupplement { .. } => Ok(Outcome {
            stops_clock: true,
            ..outcome
        }),
        Command::Claim { .. } => Ok(outcome),
    }
}

/// Who takes a review step: the user in their token and whether they head the office
/// (科室负责人, role `office_head`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reviewer<'a> {
    /// The user name.
    pub user: &'a str,
    /// Whether they are the office head.
    pub head: bool,
}

/// 认领人负责: whether `by` may take `command` on a case (or part) held by `holder`. Nobody
/// holding it leaves the step to the state machine. The holder may do anything; the office
/// head may ask for 补正 and decide on anyone's case, but takes a case over only by
/// [`reassign`] — a claim never silently takes a held case, not even the head's.
///
/// # Errors
/// [`Refusal::HeldByAnother`] naming the holder.
pub fn check_holder(
    holder: Option<&str>,
    by: Reviewer<'_>,
    command: &Command,
) -> Result<(), Refusal> {
    let Some(holder) = holder.filter(|h| !h.is_empty() && *h != by.user) else {
        return Ok(());
    };
    match command {
        Command::RequestSupplement { .. } | Command::Decide { .. } if by.head => Ok(()),
        _ => Err(Refusal::HeldByAnother {
            holder: holder.to_owned(),
        }),
    }
}

/// [`review`] by `by` of a case (or part, `acting`) held by `holder`: [`check_holder`] first,
/// then the step.
///
/// # Errors
/// [`Refusal::HeldByAnother`], or the refusal of [`review`].
pub fn review_as(
    case: &CaseReview,
    acting: usize,
    holder: Option<&str>,
    by: Reviewer<'_>,
    command: &Command,
    matter: Option<&Matter>,
) -> Result<Outcome, Refusal> {
    check_holder(holder, by, command)?;
    review(case, acting, command, matter)
}

/// 改派: the office head gives a case (or part `acting`) held by `holder` to reviewer `to` (or
/// takes it themselves). Only a held case still under review moves — claimed, waiting for 补正
/// material or supplemented; the case's status does not change, only who holds it.
///
/// # Errors
/// [`Refusal::HeadOnly`] when `by` is not the office head; [`Refusal::NotHeld`] when nobody
/// holds it or it is decided, withdrawn or cancelled.
pub fn reassign(
    case: &CaseReview,
    acting: usize,
    holder: Option<&str>,
    by: Reviewer<'_>,
) -> Result<(), Refusal> {
    if !by.head {
        return Err(Refusal::HeadOnly);
    }
    let under_review = match case.parts.get(acting) {
        Some((_, state)) => matches!(
            state,
            PartState::Claimed | PartState::SupplementRequested | PartState::Supplemented
        ),
        None => matches!(
            case.status,
            CaseStatus::Claimed | CaseStatus::SupplementRequested | CaseStatus::Supplemented
        ),
    };
    if holder.is_none_or(str::is_empty) || !under_review {
        return Err(Refusal::NotHeld);
    }
    Ok(())
}

/// What one review step does to a 多地联办 case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
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

/// 多地联办: decides a review `command` on part `acting` of a joint case whose parts are in
/// `states` and whose case-level status is `case_before`. The part moves by its own rules; an
/// approval starts the parts that become ready; a denial cancels every part not yet done; the
/// case as a whole moves (and publishes its own event) only when its derived status changes —
/// a decision once the outcome is known.
///
/// # Errors
/// [`Refusal::PartWaiting`], [`Refusal::PartClosed`] or [`Refusal::CaseState`] when the part
/// may not take the step; [`Refusal::CaseInSupplement`] for a 补正 request or a decision while
/// another part waits for 补正; [`Refusal::CaseState`] when the case as a whole cannot move as
/// the parts would.
pub fn plan(
    parts: &[JointPart],
    states: &[PartState],
    acting: usize,
    case_before: CaseStatus,
    command: &CaseCommand,
) -> Result<Plan, Refusal> {
    let views = |states: &[PartState]| PartView::zip(parts, states);
    let Some(this) = parts.get(acting) else {
        return Err(Refusal::PartClosed(PartState::Cancelled));
    };
    let next = joint::transition(&views(states), &this.code, command)?;
    if matches!(
        command,
        CaseCommand::RequestSupplement { .. } | CaseCommand::Decide { .. }
    ) && let Some(other) = (0..parts.len())
        .find(|&i| i != acting && states.get(i) == Some(&PartState::SupplementRequested))
    {
        return Err(Refusal::CaseInSupplement {
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
    changed.extend((0..after.len()).filter(|&i| i != acting && after.get(i) != states.get(i)));
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
            Some(Err(err)) => return Err(Refusal::CaseState(err)),
        }
    };
    Ok(Plan {
        states: after,
        changed,
        case_status,
        case_events,
    })
}

/// 多地联办: the reason published with the case's denial names the part that denied.
pub fn denial_reason(part_name: &str, reason: &str) -> String {
    format!("「{part_name}」不予：{reason}")
}

/// What a step of the window (补正 arrived, withdrawn, completed) does to the review rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowOutcome {
    /// The status of the case as a whole afterwards.
    pub status: CaseStatus,
    /// 多地联办: the state of every part afterwards (empty for a case handled by one office).
    pub parts: Vec<PartState>,
    /// 多地联办: the parts that moved (each is published as `case.part_updated`).
    pub changed: Vec<usize>,
}

/// Applies a step the window made to the case review holds (`status`, and `parts` for a
/// 多地联办 case): the case status moves as the state machine allows; the part in 补正 is
/// supplemented; a withdrawal withdraws the parts not done.
///
/// # Errors
/// The state machine's refusal when the step does not apply (a late redelivery; the caller
/// ignores it).
pub fn window_step(
    status: CaseStatus,
    parts: &[PartState],
    command: &CaseCommand,
) -> Result<WindowOutcome, TransitionError> {
    let (next, _) = case::transition(status, command)?;
    let mut after = parts.to_vec();
    let mut changed = Vec::new();
    for (i, part) in after.iter_mut().enumerate() {
        let moved = match command {
            CaseCommand::Supplement if *part == PartState::SupplementRequested => {
                Some(PartState::Supplemented)
            }
            CaseCommand::Withdraw { .. } if !part.is_done() => Some(PartState::Withdrawn),
            _ => None,
        };
        if let Some(moved) = moved {
            *part = moved;
            changed.push(i);
        }
    }
    Ok(WindowOutcome {
        status: next,
        parts: after,
        changed,
    })
}
