//! 投诉 closed loop (12345): 受理 → 转办 → 办理 → 回复 → 回访 → 办结, one step at a time, each
//! step by the side it belongs to.
//!
//! The 12345 hotline receives (受理), assigns (转办), follows up (回访) and closes (办结); the
//! office the complaint is with handles (办理) and replies (回复), and a reply says what was
//! replied. The loop never goes back and never skips a step.

use std::fmt;
use std::str::FromStr;

/// 投诉状态, in loop order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComplaintState {
    /// 受理: the hotline took the complaint.
    Received,
    /// 转办: sent to the office it concerns.
    Assigned,
    /// 办理: the office is handling it.
    Handling,
    /// 回复: the office replied.
    Replied,
    /// 回访: the hotline called the complainant back.
    FollowedUp,
    /// 办结: closed.
    Closed,
}

impl ComplaintState {
    /// Every state, in loop order.
    pub const ALL: [ComplaintState; 6] = [
        ComplaintState::Received,
        ComplaintState::Assigned,
        ComplaintState::Handling,
        ComplaintState::Replied,
        ComplaintState::FollowedUp,
        ComplaintState::Closed,
    ];

    /// The state a complaint is filed in.
    pub const FIRST: ComplaintState = ComplaintState::Received;

    /// The stored code (`received`, `assigned`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintState::Received => "received",
            ComplaintState::Assigned => "assigned",
            ComplaintState::Handling => "handling",
            ComplaintState::Replied => "replied",
            ComplaintState::FollowedUp => "followed_up",
            ComplaintState::Closed => "closed",
        }
    }

    /// The state's name read to a caller, `(zh, en)`.
    #[must_use]
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            ComplaintState::Received => ("受理", "received"),
            ComplaintState::Assigned => ("转办", "assigned"),
            ComplaintState::Handling => ("办理", "handling"),
            ComplaintState::Replied => ("回复", "replied"),
            ComplaintState::FollowedUp => ("回访", "followed up"),
            ComplaintState::Closed => ("办结", "closed"),
        }
    }

    /// The state after this one; `None` once closed.
    #[must_use]
    pub fn next(self) -> Option<ComplaintState> {
        let position = Self::ALL.iter().position(|s| *s == self)?;
        Self::ALL.get(position + 1).copied()
    }

    /// Whether a step into this state may name the office the complaint goes to (only 转办).
    #[must_use]
    pub fn takes_office(self) -> bool {
        self == ComplaintState::Assigned
    }

    /// The side that moves a complaint into this state.
    #[must_use]
    pub fn side(self) -> Side {
        match self {
            ComplaintState::Handling | ComplaintState::Replied => Side::Office,
            _ => Side::Hotline,
        }
    }
}

impl fmt::Display for ComplaintState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored complaint state that is none of [`ComplaintState::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的投诉状态：{0} (unknown complaint state: {0})")]
pub struct UnknownComplaintState(pub String);

impl FromStr for ComplaintState {
    type Err = UnknownComplaintState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownComplaintState(s.to_owned()))
    }
}

/// Who moves a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// 12345 热线 (or an administrator): 受理, 转办, 回访, 办结.
    Hotline,
    /// The office the complaint is with (its reviewer or head): 办理, 回复.
    Office,
}

/// Why a complaint cannot move to the state asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdvanceError {
    /// Not the next state of the loop (it goes one step at a time, never back).
    #[error(
        "投诉只能按 受理→转办→办理→回复→回访→办结 逐步推进 (a complaint moves one step at a time)"
    )]
    NotNext {
        /// Where the complaint is.
        from: ComplaintState,
        /// Where it was asked to go.
        to: ComplaintState,
    },
    /// The caller's side may not make this step.
    #[error("此步骤不由当前角色办理 (this step belongs to the other side)")]
    WrongSide {
        /// The side that makes it.
        required: Side,
    },
    /// A 回复 without the reply's text.
    #[error("回复须填写答复内容 (a reply needs its text)")]
    NoteRequired,
}

/// One step of the loop: `to` must follow `from`, `side` must be the side that makes it, and a
/// 回复 must say what was replied. Returns the new state.
///
/// # Errors
/// [`AdvanceError`] naming the first rule broken.
pub fn advance(
    from: ComplaintState,
    to: ComplaintState,
    side: Side,
    note: &str,
) -> Result<ComplaintState, AdvanceError> {
    if from.next() != Some(to) {
        return Err(AdvanceError::NotNext { from, to });
    }
    let required = to.side();
    if side != required {
        return Err(AdvanceError::WrongSide { required });
    }
    if to == ComplaintState::Replied && note.trim().is_empty() {
        return Err(AdvanceError::NoteRequired);
    }
    Ok(to)
}
