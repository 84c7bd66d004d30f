//! 办件状态机: the life of a case as a pure function, state + command → new state + events.
//!
//! Storage and messaging happen outside: the service loads the status, calls [`transition`],
//! stores the new status and publishes the returned events (subject
//! `tongban.<CaseEvent::subject_suffix>`).
//!
//! ```text
//! submitted → accepted → routed → claimed ⇄ supplement_requested → supplemented
//!                                    └──────────────┬──────────────────┘
//!                                          approved | denied → completed
//! any open status → withdrawn
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Localized};

/// 办件状态.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// 已提交: the window has submitted the application.
    Submitted,
    /// 已受理: the window has accepted it (the time-limit clock starts the next day).
    Accepted,
    /// 已分派: sent to the responsible office.
    Routed,
    /// 审查中: a reviewer of the responsible office has claimed it.
    Claimed,
    /// 待补正: the reviewer asked for more material; the clock stops.
    SupplementRequested,
    /// 已补正: the material arrived; review resumes.
    Supplemented,
    /// 准予: approved.
    Approved,
    /// 不予: denied.
    Denied,
    /// 已办结: the result has been delivered.
    Completed,
    /// 已撤回: withdrawn by the applicant before a decision.
    Withdrawn,
}

impl CaseStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [CaseStatus; 10] = [
        CaseStatus::Submitted,
        CaseStatus::Accepted,
        CaseStatus::Routed,
        CaseStatus::Claimed,
        CaseStatus::SupplementRequested,
        CaseStatus::Supplemented,
        CaseStatus::Approved,
        CaseStatus::Denied,
        CaseStatus::Completed,
        CaseStatus::Withdrawn,
    ];

    /// The snake_case name stored and sent on the wire (`"supplement_requested"`).
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Submitted => "submitted",
            CaseStatus::Accepted => "accepted",
            CaseStatus::Routed => "routed",
            CaseStatus::Claimed => "claimed",
            CaseStatus::SupplementRequested => "supplement_requested",
            CaseStatus::Supplemented => "supplemented",
            CaseStatus::Approved => "approved",
            CaseStatus::Denied => "denied",
            CaseStatus::Completed => "completed",
            CaseStatus::Withdrawn => "withdrawn",
        }
    }

    /// Whether no command can change the status any more (已办结, 已撤回).
    pub fn is_terminal(self) -> bool {
        matches!(self, CaseStatus::Completed | CaseStatus::Withdrawn)
    }

    /// Whether a decision has been made (准予, 不予, or 已办结 after one).
    pub fn is_decided(self) -> bool {
        matches!(
            self,
            CaseStatus::Approved | CaseStatus::Denied | CaseStatus::Completed
        )
    }

    /// Whether the time-limit clock is stopped in this status (待补正).
    pub fn is_suspended(self) -> bool {
        self == CaseStatus::SupplementRequested
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of [`CaseStatus::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的办件状态：{0} (unknown case status: {0})")]
pub struct UnknownStatus(pub String);

impl FromStr for CaseStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl Localized for CaseStatus {
    fn text(&self, lang: Lang) -> String {
        let (zh, en) = match self {
            CaseStatus::Submitted => ("已提交", "Submitted"),
            CaseStatus::Accepted => ("已受理", "Accepted"),
            CaseStatus::Routed => ("已分派", "Routed"),
            CaseStatus::Claimed => ("审查中", "Under review"),
            CaseStatus::SupplementRequested => ("待补正", "Supplement requested"),
            CaseStatus::Supplemented => ("已补正", "Supplemented"),
            CaseStatus::Approved => ("准予", "Approved"),
            CaseStatus::Denied => ("不予", "Denied"),
            CaseStatus::Completed => ("已办结", "Completed"),
            CaseStatus::Withdrawn => ("已撤回", "Withdrawn"),
        };
        lang.pick(zh, en).to_owned()
    }
}

/// 审批决定.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// 准予.
    Approve,
    /// 不予.
    Deny,
}

impl Decision {
    /// The snake_case name (`"approve"`, `"deny"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
        }
    }
}

impl FromStr for Decision {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Decision::Approve, Decision::Deny]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl Localized for Decision {
    fn text(&self, lang: Lang) -> String {
        match self {
            Decision::Approve => lang.pick("准予", "Approve"),
            Decision::Deny => lang.pick("不予", "Deny"),
        }
        .to_owned()
    }
}

/// What someone asks the case to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseCommand {
    /// 受理: the window accepts the submitted case.
    Accept,
    /// 分派: the case is sent to the responsible office.
    Route,
    /// 认领: a reviewer of the responsible office takes the case.
    Claim {
        /// The reviewer's user name.
        reviewer: String,
    },
    /// 补正通知: the reviewer asks for more material (一次性告知: every item at once).
    RequestSupplement {
        /// What is needed, one entry per item; not empty.
        items: Vec<String>,
        /// Why; not empty.
        reason: String,
    },
    /// 补正: the applicant delivered the requested material.
    Supplement,
    /// 决定: the reviewer approves or denies.
    Decide {
        /// The decision.
        decision: Decision,
    },
    /// 办结: the result has been delivered.
    Complete,
    /// 撤回: the applicant withdraws before a decision.
    Withdraw {
        /// Why; not empty.
        reason: String,
    },
}

impl CaseCommand {
    /// The snake_case name of the command (`"request_supplement"`), for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            CaseCommand::Accept => "accept",
            CaseCommand::Route => "route",
            CaseCommand::Claim { .. } => "claim",
            CaseCommand::RequestSupplement { .. } => "request_supplement",
            CaseCommand::Supplement => "supplement",
            CaseCommand::Decide { .. } => "decide",
            CaseCommand::Complete => "complete",
            CaseCommand::Withdraw { .. } => "withdraw",
        }
    }
}

/// What happened to a case; each becomes one message on `tongban.<subject_suffix>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseEvent {
    /// The case was submitted.
    Submitted,
    /// The case was accepted.
    Accepted,
    /// The case was routed to the responsible office.
    Routed,
    /// A reviewer claimed the case.
    Claimed,
    /// A supplement was requested (the clock stops).
    SupplementRequested,
    /// The supplement arrived (the clock resumes).
    Supplemented,
    /// A decision was made.
    Decided(Decision),
    /// The case was completed.
    Completed,
    /// The case was withdrawn.
    Withdrawn,
}

impl CaseEvent {
    /// The subject after the configured root: `"case.submitted"`, …, `"case.decided"`.
    pub fn subject_suffix(&self) -> &'static str {
        match self {
            CaseEvent::Submitted => "case.submitted",
            CaseEvent::Accepted => "case.accepted",
            CaseEvent::Routed => "case.routed",
            CaseEvent::Claimed => "case.claimed",
            CaseEvent::SupplementRequested => "case.supplement_requested",
            CaseEvent::Supplemented => "case.supplemented",
            CaseEvent::Decided(_) => "case.decided",
            CaseEvent::Completed => "case.completed",
            CaseEvent::Withdrawn => "case.withdrawn",
        }
    }
}

/// Why a command was refused; the status is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The command does not apply in the current status.
    Illegal {
        /// The current status.
        from: CaseStatus,
        /// [`CaseCommand::name`] of the refused command.
        command: &'static str,
    },
    /// A reason (补正理由 or 撤回理由) is required and was empty.
    EmptyReason,
    /// A supplement request listed no items (or a blank one).
    EmptyItems,
}

impl Localized for TransitionError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (TransitionError::Illegal { from, command }, Lang::Zh) => format!(
                "办件当前状态为“{}”，不能执行操作 {command}",
                from.text(Lang::Zh)
            ),
            (TransitionError::Illegal { from, command }, Lang::En) => format!(
                "a case in status {} does not allow the command {command}",
                from.as_str()
            ),
            (TransitionError::EmptyReason, Lang::Zh) => "必须填写理由".to_owned(),
            (TransitionError::EmptyReason, Lang::En) => "a reason is required".to_owned(),
            (TransitionError::EmptyItems, Lang::Zh) => {
                "补正通知必须一次性列出所需补正的每一项材料，且不能为空".to_owned()
            }
            (TransitionError::EmptyItems, Lang::En) => {
                "a supplement request must list every item needed, none of them blank".to_owned()
            }
        }
    }
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

/// The initial status of a new case and its event.
pub fn submit() -> (CaseStatus, Vec<CaseEvent>) {
    (CaseStatus::Submitted, vec![CaseEvent::Submitted])
}

/// Applies `command` to a case in `status`.
///
/// Legal moves: submitted→accepted (Accept), accepted→routed (Route), routed→claimed (Claim),
/// claimed|supplemented→supplement_requested (RequestSupplement), supplement_requested→
/// supplemented (Supplement), claimed|supplemented→approved|denied (Decide),
/// approved|denied→completed (Complete), any open status before a decision→withdrawn
/// (Withdraw). The status is checked before the command's arguments.
///
/// # Errors
/// [`TransitionError::Illegal`] for any other move; [`TransitionError::EmptyItems`] /
/// [`TransitionError::EmptyReason`] for a supplement request or withdrawal without items or
/// reason.
pub fn transition(
    status: CaseStatus,
    command: &CaseCommand,
) -> Result<(CaseStatus, Vec<CaseEvent>), TransitionError> {
    use CaseStatus as S;

    let illegal = || TransitionError::Illegal {
        from: status,
        command: command.name(),
    };
    let (next, event) = match (status, command) {
        (S::Submitted, CaseCommand::Accept) => (S::Accepted, CaseEvent::Accepted),
        (S::Accepted, CaseCommand::Route) => (S::Routed, CaseEvent::Routed),
        (S::Routed, CaseCommand::Claim { .. }) => (S::Claimed, CaseEvent::Claimed),
        (S::Claimed | S::Supplemented, CaseCommand::RequestSupplement { items, reason }) => {
            if items.is_empty() || items.iter().any(|item| item.trim().is_empty()) {
                return Err(TransitionError::EmptyItems);
            }
            if reason.trim().is_empty() {
                return Err(TransitionError::EmptyReason);
            }
            (S::SupplementRequested, CaseEvent::SupplementRequested)
        }
        (S::SupplementRequested, CaseCommand::Supplement) => {
            (S::Supplemented, CaseEvent::Supplemented)
        }
        (S::Claimed | S::Supplemented, CaseCommand::Decide { decision }) => {
            let next = match decision {
                Decision::Approve => S::Approved,
                Decision::Deny => S::Denied,
            };
            (next, CaseEvent::Decided(*decision))
        }
        (S::Approved | S::Denied, CaseCommand::Complete) => (S::Completed, CaseEvent::Completed),
        (
            S::Submitted
            | S::Accepted
            | S::Routed
            | S::Claimed
            | S::SupplementRequested
            | S::Supplemented,
            CaseCommand::Withdraw { reason },
        ) => {
            if reason.trim().is_empty() {
                return Err(TransitionError::EmptyReason);
            }
            (S::Withdrawn, CaseEvent::Withdrawn)
        }
        _ => return Err(illegal()),
    };
    Ok((next, vec![event]))
}
