//! 多地联办: a joint case is split into parts, one per office (DESIGN §2). Each part runs the
//! review steps of a case on its own ([`transition`]); a part that comes after others waits
//! until they are approved ([`ready`]); the case as a whole is approved when every part is,
//! and denied as soon as one part is — the parts not yet done are then cancelled
//! ([`outcome`], [`case_status`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::case::{self, CaseCommand, CaseStatus, Decision, TransitionError};
use crate::catalog::{JointPart, named};
use crate::i18n::{Lang, Localized};

/// Where one part of a joint case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartState {
    /// 待前序环节: waits for the parts it comes after; its office cannot act yet.
    Waiting,
    /// 已分派: in the office's inbox.
    Routed,
    /// 审查中.
    Claimed,
    /// 待补正.
    SupplementRequested,
    /// 已补正.
    Supplemented,
    /// 准予.
    Approved,
    /// 不予: ends the whole case.
    Denied,
    /// 已取消: another part was denied first.
    Cancelled,
    /// 已撤回: the applicant withdrew the case.
    Withdrawn,
}

impl PartState {
    /// Every state, in declaration order.
    pub const ALL: [PartState; 9] = [
        PartState::Waiting,
        PartState::Routed,
        PartState::Claimed,
        PartState::SupplementRequested,
        PartState::Supplemented,
        PartState::Approved,
        PartState::Denied,
        PartState::Cancelled,
        PartState::Withdrawn,
    ];

    /// The snake_case name stored and sent (`"waiting"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PartState::Waiting => "waiting",
            PartState::Routed => "routed",
            PartState::Claimed => "claimed",
            PartState::SupplementRequested => "supplement_requested",
            PartState::Supplemented => "supplemented",
            PartState::Approved => "approved",
            PartState::Denied => "denied",
            PartState::Cancelled => "cancelled",
            PartState::Withdrawn => "withdrawn",
        }
    }

    /// Whether nothing more happens to the part.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            PartState::Approved | PartState::Denied | PartState::Cancelled | PartState::Withdrawn
        )
    }

    /// The case status a part in this state would have as a case of its own (`None` while
    /// waiting or once cancelled).
    pub fn as_case_status(self) -> Option<CaseStatus> {
        Some(match self {
            PartState::Routed => CaseStatus::Routed,
            PartState::Claimed => CaseStatus::Claimed,
            PartState::SupplementRequested => CaseStatus::SupplementRequested,
            PartState::Supplemented => CaseStatus::Supplemented,
            PartState::Approved => CaseStatus::Approved,
            PartState::Denied => CaseStatus::Denied,
            PartState::Withdrawn => CaseStatus::Withdrawn,
            PartState::Waiting | PartState::Cancelled => return None,
        })
    }

    fn from_case_status(status: CaseStatus) -> Self {
        match status {
            CaseStatus::Submitted | CaseStatus::Accepted | CaseStatus::Routed => PartState::Routed,
            CaseStatus::Claimed => PartState::Claimed,
            CaseStatus::SupplementRequested => PartState::SupplementRequested,
            CaseStatus::Supplemented => PartState::Supplemented,
            CaseStatus::Approved | CaseStatus::Completed => PartState::Approved,
            CaseStatus::Denied => PartState::Denied,
            CaseStatus::Withdrawn => PartState::Withdrawn,
        }
    }
}

named!(PartState, "part state");

impl Localized for PartState {
    fn text(&self, lang: Lang) -> String {
        // A state a case has too reads as that case status; only the states a part alone has
        // (waiting, cancelled) have names of their own.
        if let Some(status) = self.as_case_status() {
            return status.text(lang);
        }
        let (zh, en) = if *self == PartState::Waiting {
            ("待前序环节办结", "Waiting for earlier parts")
        } else {
            ("已取消", "Cancelled")
        };
        lang.pick(zh, en).to_owned()
    }
}

/// Why a part cannot take a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartError {
    /// The part waits for earlier parts (their names, in the matter's order).
    Waiting {
        /// Names of the parts not yet approved that this one comes after.
        awaiting: Vec<String>,
    },
    /// The part was cancelled (another part was denied) or withdrawn.
    Closed(PartState),
    /// The step does not apply to the part's state.
    Transition(TransitionError),
}

impl Localized for PartError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (PartError::Waiting { awaiting }, Lang::Zh) => {
                format!("须待「{}」办结后方可办理本环节", awaiting.join("」「"))
            }
            (PartError::Waiting { awaiting }, Lang::En) => format!(
                "this part can be handled only after {} is done",
                awaiting.join(", ")
            ),
            (PartError::Closed(state), Lang::Zh) => {
                format!("本环节{}，不能再办理", state.text(Lang::Zh))
            }
            (PartError::Closed(state), Lang::En) => format!(
                "this part is {} and can no longer be handled",
                state.text(Lang::En).to_lowercase()
            ),
            (PartError::Transition(err), lang) => err.text(lang),
        }
    }
}

impl fmt::Display for PartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

impl std::error::Error for PartError {}

/// A part of a joint case as the rules need it: its definition and its state.
#[derive(Debug, Clone, Copy)]
pub struct PartView<'a> {
    /// The part as the matter defines it.
    pub part: &'a JointPart,
    /// Where it stands.
    pub state: PartState,
}

impl<'a> PartView<'a> {
    /// Pairs each of `parts` with its state in `states`, in order (the shorter of the two ends
    /// the list).
    pub fn zip(parts: &'a [JointPart], states: &[PartState]) -> Vec<PartView<'a>> {
        parts
            .iter()
            .zip(states)
            .map(|(part, state)| PartView {
                part,
                state: *state,
            })
            .collect()
    }
}

/// The state a part starts in when the case is routed: routed when it comes after no other
/// part, else waiting.
pub fn initial_state(part: &JointPart) -> PartState {
    if part.after.is_empty() {
        PartState::Routed
    } else {
        PartState::Waiting
    }
}

/// Applies a review command (claim, 补正, decide, supplement arrived, withdraw) to one part.
///
/// # Errors
/// [`PartError::Waiting`] naming the parts awaited, [`PartError::Closed`] for a cancelled or
/// withdrawn part, [`PartError::Transition`] when the command does not apply.
pub fn transition(
    parts: &[PartView<'_>],
    code: &str,
    command: &CaseCommand,
) -> Result<PartState, PartError> {
    let Some(this) = parts.iter().find(|p| p.part.code == code) else {
        return Err(PartError::Closed(PartState::Cancelled));
    };
    match this.state {
        PartState::Waiting => Err(PartError::Waiting {
            awaiting: awaiting(parts, this.part),
        }),
        PartState::Cancelled | PartState::Withdrawn => Err(PartError::Closed(this.state)),
        state => {
            let status = state.as_case_status().ok_or(PartError::Closed(state))?;
            case::transition(status, command)
                .map(|(next, _)| PartState::from_case_status(next))
                .map_err(PartError::Transition)
        }
    }
}

/// Names of the parts `part` comes after that are not approved yet.
pub fn awaiting(parts: &[PartView<'_>], part: &JointPart) -> Vec<String> {
    part.after
        .iter()
        .filter_map(|code| parts.iter().find(|p| &p.part.code == code))
        .filter(|p| p.state != PartState::Approved)
        .map(|p| p.part.name.clone())
        .collect()
}

/// Codes of the waiting parts whose every earlier part is approved: they start now.
pub fn ready(parts: &[PartView<'_>]) -> Vec<String> {
    parts
        .iter()
        .filter(|p| p.state == PartState::Waiting && awaiting(parts, p.part).is_empty())
        .map(|p| p.part.code.clone())
        .collect()
}

/// The case's decision once it is known: denied as soon as one part is, approved when every
/// part is; `None` while parts are still open.
pub fn outcome(states: impl IntoIterator<Item = PartState>) -> Option<Decision> {
    let states: Vec<PartState> = states.into_iter().collect();
    if states.contains(&PartState::Denied) {
        Some(Decision::Deny)
    } else if !states.is_empty() && states.iter().all(|s| *s == PartState::Approved) {
        Some(Decision::Approve)
    } else {
        None
    }
}

/// The status of the case as a whole, derived from its parts: denied once a part is denied,
/// approved once all are, withdrawn when withdrawn; otherwise 待补正 while a part waits for
/// material, 已补正 when it arrived, 审查中 once any part was claimed or decided, else 已分派.
pub fn case_status(states: impl IntoIterator<Item = PartState>) -> CaseStatus {
    let states: Vec<PartState> = states.into_iter().collect();
    let any = |s: PartState| states.contains(&s);
    match outcome(states.iter().copied()) {
        Some(Decision::Deny) => CaseStatus::Denied,
        Some(Decision::Approve) => CaseStatus::Approved,
        None if any(PartState::Withdrawn) => CaseStatus::Withdrawn,
        None if any(PartState::SupplementRequested) => CaseStatus::SupplementRequested,
        None if any(PartState::Supplemented) => CaseStatus::Supplemented,
        None if any(PartState::Claimed) || any(PartState::Approved) => CaseStatus::Claimed,
        None => CaseStatus::Routed,
    }
}
