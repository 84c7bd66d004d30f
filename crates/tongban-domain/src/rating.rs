//! 好差评 (12345): when a case may be rated, what a rating sets off, and the rates reported.
//!
//! A case is rated at most once per occasion: at acceptance (受理评价) any time, at completion
//! (办结评价) only once it is decided. A 不满意 or 非常不满意 rating (差评) opens a rectification
//! item (差评整改) for the office, due [`RECTIFICATION_DAYS`] working days later; the hotline's
//! call-back (回访) to a satisfied rater closes it as 已整改, and a rectified item takes no more
//! call-backs.

use std::fmt;
use std::str::FromStr;

use crate::case::CaseStatus;

/// 差评整改 time limit, in working days.
pub const RECTIFICATION_DAYS: u32 = 15;

/// 好差评 indicators a score may be given for, each scored 1 to 5.
pub const INDICATORS: [&str; 4] = ["efficiency", "attitude", "guide_accuracy", "convenience"];

/// The lowest and highest score of an indicator.
pub const SCORES: std::ops::RangeInclusive<u32> = 1..=5;

/// A stored code that is none of the type's codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的评价代码：{0} (unknown rating code: {0})")]
pub struct UnknownCode(pub String);

macro_rules! coded {
    ($name:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored code.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownCode;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownCode(s.to_owned()))
            }
        }
    };
}

/// 评价等级, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RatingLevel {
    /// 非常满意.
    VerySatisfied,
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意.
    Dissatisfied,
    /// 非常不满意.
    VeryDissatisfied,
}

coded!(RatingLevel {
    VerySatisfied => "very_satisfied",
    Satisfied => "satisfied",
    BasicallySatisfied => "basically_satisfied",
    Dissatisfied => "dissatisfied",
    VeryDissatisfied => "very_dissatisfied",
});

impl RatingLevel {
    /// 差评: 不满意 or 非常不满意; it opens a rectification item.
    #[must_use]
    pub fn is_bad(self) -> bool {
        matches!(
            self,
            RatingLevel::Dissatisfied | RatingLevel::VeryDissatisfied
        )
    }

    /// 好评: 非常满意 or 满意.
    #[must_use]
    pub fn is_good(self) -> bool {
        matches!(self, RatingLevel::VerySatisfied | RatingLevel::Satisfied)
    }
}

/// 评价时机.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RatingOccasion {
    /// 受理评价: the service at the window.
    Acceptance,
    /// 办结评价: the outcome, once the case is decided.
    Completion,
}

coded!(RatingOccasion {
    Acceptance => "acceptance",
    Completion => "completion",
});

/// 整改状态 of a rectification item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RectificationState {
    /// 待整改.
    Open,
    /// 已整改: a call-back found the rater satisfied.
    Rectified,
}

coded!(RectificationState {
    Open => "open",
    Rectified => "rectified",
});

/// What is wrong with one indicator score of a rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreError {
    /// Not one of [`INDICATORS`].
    UnknownIndicator,
    /// The indicator was scored before in the same rating.
    Repeated,
    /// The score is outside [`SCORES`].
    OutOfRange,
}

/// Checks a rating's indicator scores `(indicator, score)` (indicators trimmed): known
/// indicators, once each, scored 1 to 5. Returns every problem with the index of its score, in
/// order (an indicator problem before a score problem of the same index).
#[must_use]
pub fn check_scores(scores: &[(&str, u32)]) -> Vec<(usize, ScoreError)> {
    let mut problems = Vec::new();
    for (i, (indicator, score)) in scores.iter().enumerate() {
        if !INDICATORS.contains(indicator) {
            problems.push((i, ScoreError::UnknownIndicator));
        } else if scores[..i].iter().any(|(earlier, _)| earlier == indicator) {
            problems.push((i, ScoreError::Repeated));
        }
        if !SCORES.contains(score) {
            problems.push((i, ScoreError::OutOfRange));
        }
    }
    problems
}

/// Why a rating or call-back is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RatingRefusal {
    /// A completion rating of a case not decided yet.
    #[error("办件尚未办结，暂不能进行办结评价 (the case is not completed yet)")]
    NotCompleted,
    /// A call-back about a rectification already confirmed.
    #[error("该整改事项已整改完毕 (this rectification is already confirmed)")]
    AlreadyRectified,
}

/// What a rating sets off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rated {
    /// Whether it opens a rectification item (差评整改).
    pub opens_rectification: bool,
}

/// Decides a rating of `level` at `occasion` of a case in `status`.
///
/// # Errors
/// [`RatingRefusal::NotCompleted`] for a completion rating before the case is decided.
pub fn rate(
    status: CaseStatus,
    occasion: RatingOccasion,
    level: RatingLevel,
) -> Result<Rated, RatingRefusal> {
    if occasion == RatingOccasion::Completion && !status.is_decided() {
        return Err(RatingRefusal::NotCompleted);
    }
    Ok(Rated {
        opens_rectification: level.is_bad(),
    })
}

/// The hotline's call-back (回访) about an item in `state`: a satisfied rater closes it, an
/// unsatisfied one leaves it open. Returns the state after the call.
///
/// # Errors
/// [`RatingRefusal::AlreadyRectified`] when the item is already closed.
pub fn callback(
    state: RectificationState,
    satisfied: bool,
) -> Result<RectificationState, RatingRefusal> {
    match (state, satisfied) {
        (RectificationState::Rectified, _) => Err(RatingRefusal::AlreadyRectified),
        (RectificationState::Open, true) => Ok(RectificationState::Rectified),
        (RectificationState::Open, false) => Ok(RectificationState::Open),
    }
}

/// Counts of one group of ratings, by level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// 非常满意.
    pub very_satisfied: u32,
    /// 满意.
    pub satisfied: u32,
    /// 基本满意.
    pub basically_satisfied: u32,
    /// 不满意.
    pub dissatisfied: u32,
    /// 非常不满意.
    pub very_dissatisfied: u32,
    /// Bad ratings whose rectification a call-back confirmed.
    pub rectified: u32,
}

impl Counts {
    /// Adds `n` ratings of `level`.
    pub fn add(&mut self, level: RatingLevel, n: u32) {
        let slot = match level {
            RatingLevel::VerySatisfied => &mut self.very_satisfied,
            RatingLevel::Satisfied => &mut self.satisfied,
            RatingLevel::BasicallySatisfied => &mut self.basically_satisfied,
            RatingLevel::Dissatisfied => &mut self.dissatisfied,
            RatingLevel::VeryDissatisfied => &mut self.very_dissatisfied,
        };
        *slot = slot.saturating_add(n);
    }

    /// Adds another group's counts.
    pub fn merge(&mut self, other: &Counts) {
        self.very_satisfied += other.very_satisfied;
        self.satisfied += other.satisfied;
        self.basically_satisfied += other.basically_satisfied;
        self.dissatisfied += other.dissatisfied;
        self.very_dissatisfied += other.very_dissatisfied;
        self.rectified += other.rectified;
    }

    /// Every rating.
    #[must_use]
    pub fn total(&self) -> u32 {
        self.very_satisfied
            + self.satisfied
            + self.basically_satisfied
            + self.dissatisfied
            + self.very_dissatisfied
    }

    /// 差评: 不满意 and 非常不满意.
    #[must_use]
    pub fn bad(&self) -> u32 {
        self.dissatisfied + self.very_dissatisfied
    }

    /// 好评率 = (非常满意 + 满意) / total; 0 without ratings.
    #[must_use]
    pub fn good_rate(&self) -> f64 {
        ratio(self.very_satisfied + self.satisfied, self.total()).unwrap_or(0.0)
    }

    /// 差评整改率 = rectified / bad; 1 without bad ratings (nothing left to rectify).
    #[must_use]
    pub fn rectification_rate(&self) -> f64 {
        ratio(self.rectified, self.bad()).unwrap_or(1.0)
    }
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}
