//! The hotline's own rules, pure (no database, no clock of their own): the verification lockout
//! (核验锁定), the 投诉 closed loop and who may move it, the 好差评 rates, and the masking of long
//! digit runs in free text.

use chrono::{DateTime, TimeDelta, Utc};
use tongban_proto::hotline::v1::ComplaintState;
use tongban_runtime::auth::Role;

/// Failed verifications of one case number that lock it (核验锁定).
pub const MAX_FAILURES: i64 = 5;

/// How far back failures count, and how long a lock lasts.
pub fn lock_window() -> TimeDelta {
    TimeDelta::hours(1)
}

/// The moment a case number stays locked until, when `failures` failed verifications (this one
/// included) fell within the last [`lock_window`] at `now`; `None` while under the limit.
pub fn lock_until(failures: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (failures >= MAX_FAILURES).then(|| now + lock_window())
}

/// 投诉 states in loop order, with their stored code: 受理 → 转办 → 办理 → 回复 → 回访 → 办结.
const LOOP: [(ComplaintState, &str); 6] = [
    (ComplaintState::Received, "received"),
    (ComplaintState::Assigned, "assigned"),
    (ComplaintState::Handling, "handling"),
    (ComplaintState::Replied, "replied"),
    (ComplaintState::FollowedUp, "followed_up"),
    (ComplaintState::Closed, "closed"),
];

/// The stored code of a complaint state (`None` for UNSPECIFIED).
pub fn complaint_code(state: ComplaintState) -> Option<&'static str> {
    LOOP.iter().find(|(s, _)| *s == state).map(|(_, c)| *c)
}

/// The complaint state of a stored code (UNSPECIFIED for anything else).
pub fn complaint_state(code: &str) -> ComplaintState {
    LOOP.iter()
        .find(|(_, c)| *c == code)
        .map_or(ComplaintState::Unspecified, |(s, _)| *s)
}

/// The state's name read to a caller, `(zh, en)`.
pub fn complaint_label(state: ComplaintState) -> (&'static str, &'static str) {
    match state {
        ComplaintState::Unspecified => ("未知", "unknown"),
        ComplaintState::Received => ("受理", "received"),
        ComplaintState::Assigned => ("转办", "assigned"),
        ComplaintState::Handling => ("办理", "handling"),
        ComplaintState::Replied => ("回复", "replied"),
        ComplaintState::FollowedUp => ("回访", "followed up"),
        ComplaintState::Closed => ("办结", "closed"),
    }
}

/// Who moves a complaint into a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// 12345 热线 (or an admin): 受理, 转办, 回访, 办结.
    Hotline,
    /// The office the complaint is with (reviewer or office head): 办理, 回复.
    Office,
}

impl Actor {
    /// What `role` acts as, `None` for roles that never move a complaint.
    pub fn of(role: Role) -> Option<Actor> {
        match role {
            Role::Hotline | Role::Admin => Some(Actor::Hotline),
            Role::Reviewer | Role::OfficeHead => Some(Actor::Office),
            _ => None,
        }
    }
}

/// Why a complaint cannot move to the state asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdvanceError {
    /// Not the next state of the loop (the loop goes one step at a time, never back).
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
    WrongActor {
        /// Who makes the step.
        required: Actor,
    },
    /// A 回复 without the reply's text.
    #[error("回复须填写答复内容 (a reply needs its text)")]
    NoteRequired,
}

/// Who makes the step into `to`.
pub fn actor_of(to: ComplaintState) -> Actor {
    match to {
        ComplaintState::Handling | ComplaintState::Replied => Actor::Office,
        _ => Actor::Hotline,
    }
}

/// Checks one step of the loop: `to` must follow `from`, `actor` must be the side that makes it,
/// and a 回复 must say what was replied.
///
/// # Errors
/// [`AdvanceError`] naming the first rule broken.
pub fn advance(
    from: ComplaintState,
    to: ComplaintState,
    actor: Actor,
    note: &str,
) -> Result<(), AdvanceError> {
    let position = |s: ComplaintState| LOOP.iter().position(|(x, _)| *x == s);
    match (position(from), position(to)) {
        (Some(f), Some(t)) if t == f + 1 => {}
        _ => return Err(AdvanceError::NotNext { from, to }),
    }
    let required = actor_of(to);
    if actor != required {
        return Err(AdvanceError::WrongActor { required });
    }
    if to == ComplaintState::Replied && note.trim().is_empty() {
        return Err(AdvanceError::NoteRequired);
    }
    Ok(())
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
    /// Adds `n` ratings of the stored level code `level` (unknown codes are ignored).
    pub fn add(&mut self, level: &str, n: u32) {
        let slot = match level {
            "very_satisfied" => &mut self.very_satisfied,
            "satisfied" => &mut self.satisfied,
            "basically_satisfied" => &mut self.basically_satisfied,
            "dissatisfied" => &mut self.dissatisfied,
            "very_dissatisfied" => &mut self.very_dissatisfied,
            _ => return,
        };
        *slot += n;
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
    pub fn total(&self) -> u32 {
        self.very_satisfied
            + self.satisfied
            + self.basically_satisfied
            + self.dissatisfied
            + self.very_dissatisfied
    }

    /// 差评: 不满意 and 非常不满意.
    pub fn bad(&self) -> u32 {
        self.dissatisfied + self.very_dissatisfied
    }

    /// 好评率 = (非常满意 + 满意) / total; 0 without ratings.
    pub fn good_rate(&self) -> f64 {
        ratio(self.very_satisfied + self.satisfied, self.total()).unwrap_or(0.0)
    }

    /// 差评整改率 = rectified / bad; 1 without bad ratings (nothing left to rectify).
    pub fn rectification_rate(&self) -> f64 {
        ratio(self.rectified, self.bad()).unwrap_or(1.0)
    }
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

/// Masks every run of 11 or more digits (a trailing `X` included) in free text, keeping the
/// first three and last four characters (`138****5678`, `110***********002X`), so a phone or ID
/// number typed into a complaint or a note is never stored or shown in full.
pub fn mask_long_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i < chars.len() && matches!(chars[i], 'X' | 'x') && i - start == 17 {
            i += 1;
        }
        let run = &chars[start..i];
        if run.len() >= 11 {
            out.extend(&run[..3]);
            out.extend(std::iter::repeat_n('*', run.len() - 7));
            out.extend(&run[run.len() - 4..]);
        } else {
            out.extend(run);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_after_five_failures_for_an_hour() {
        let now = Utc::now();
        assert_eq!(lock_until(4, now), None);
        assert_eq!(lock_until(5, now), Some(now + TimeDelta::hours(1)));
        assert_eq!(lock_until(9, now), Some(now + TimeDelta::hours(1)));
    }

    #[test]
    fn the_loop_goes_one_step_at_a_time_by_the_right_side() {
        use ComplaintState as S;
        let steps = [
            (S::Received, S::Assigned, Actor::Hotline),
            (S::Assigned, S::Handling, Actor::Office),
            (S::Handling, S::Replied, Actor::Office),
            (S::Replied, S::FollowedUp, Actor::Hotline),
            (S::FollowedUp, S::Closed, Actor::Hotline),
        ];
        for (from, to, actor) in steps {
            assert_eq!(
                advance(from, to, actor, "已处理"),
                Ok(()),
                "{from:?}→{to:?}"
            );
            let other = if actor == Actor::Hotline {
                Actor::Office
            } else {
                Actor::Hotline
            };
            assert_eq!(
                advance(from, to, other, "已处理"),
                Err(AdvanceError::WrongActor { required: actor })
            );
        }
        assert!(matches!(
            advance(S::Received, S::Handling, Actor::Office, ""),
            Err(AdvanceError::NotNext { .. })
        ));
        assert!(matches!(
            advance(S::Replied, S::Handling, Actor::Office, ""),
            Err(AdvanceError::NotNext { .. })
        ));
        assert!(matches!(
            advance(S::Closed, S::Unspecified, Actor::Hotline, ""),
            Err(AdvanceError::NotNext { .. })
        ));
        assert_eq!(
            advance(S::Handling, S::Replied, Actor::Office, "  "),
            Err(AdvanceError::NoteRequired)
        );
    }

    #[test]
    fn codes_round_trip() {
        for (state, code) in LOOP {
            assert_eq!(complaint_code(state), Some(code));
            assert_eq!(complaint_state(code), state);
        }
        assert_eq!(complaint_code(ComplaintState::Unspecified), None);
        assert_eq!(complaint_state("nonsense"), ComplaintState::Unspecified);
        assert_eq!(Actor::of(Role::Clerk), None);
        assert_eq!(Actor::of(Role::OfficeHead), Some(Actor::Office));
    }

    #[test]
    fn rates() {
        let mut c = Counts::default();
        assert_eq!(c.good_rate(), 0.0);
        assert_eq!(c.rectification_rate(), 1.0);
        c.add("very_satisfied", 2);
        c.add("satisfied", 1);
        c.add("basically_satisfied", 1);
        c.add("dissatisfied", 1);
        c.add("very_dissatisfied", 1);
        c.add("unknown", 7);
        c.rectified = 1;
        assert_eq!(c.total(), 6);
        assert_eq!(c.bad(), 2);
        assert!((c.good_rate() - 0.5).abs() < 1e-9);
        assert!((c.rectification_rate() - 0.5).abs() < 1e-9);
        let mut all = Counts::default();
        all.merge(&c);
        all.merge(&c);
        assert_eq!(all.total(), 12);
        assert_eq!(all.rectified, 2);
    }

    #[test]
    fn long_numbers_are_masked() {
        assert_eq!(
            mask_long_numbers("请回电 13812345678，谢谢"),
            "请回电 138****5678，谢谢"
        );
        assert_eq!(
            mask_long_numbers("身份证11010519491231002X号"),
            "身份证110***********002X号"
        );
        assert_eq!(
            mask_long_numbers("第 3 次，等了 10 个工作日，编号 1234567890"),
            "第 3 次，等了 10 个工作日，编号 1234567890"
        );
        assert_eq!(mask_long_numbers("Xx12345678901x"), "Xx123****8901x");
    }
}
