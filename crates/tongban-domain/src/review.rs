//! 审查要点核对: the reviewer's checklist against the matter's review points, checked before a
//! decision is recorded.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::case::Decision;
use crate::catalog::{JointPart, Matter};
use crate::i18n::{Lang, Localized};

/// One answered review point of a reviewer's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistEntry {
    /// Code of the matter's [`ReviewPoint`](crate::catalog::ReviewPoint).
    pub review_point_code: String,
    /// Whether the case satisfies the point.
    pub passed: bool,
    /// The reviewer's note; may be empty.
    pub note: String,
}

/// What is wrong with a checklist for a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecklistProblem {
    /// A required review point was not answered.
    Missing {
        /// The point's code.
        code: String,
        /// The point's question, so the reviewer sees what to answer.
        question: String,
    },
    /// A code that is not a review point of the matter.
    Unknown {
        /// The code as given.
        code: String,
    },
    /// A review point answered more than once.
    Duplicate {
        /// The point's code.
        code: String,
    },
    /// 准予 with a required point not passed.
    NotPassed {
        /// The point's code.
        code: String,
    },
    /// 不予 while every answered point passed: a denial must rest on at least one failed point,
    /// which is its reason.
    DenyWithoutFailure,
}

impl Localized for ChecklistProblem {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (ChecklistProblem::Missing { code, question }, Lang::Zh) => {
                format!("必审要点 {code}（{question}）未作答")
            }
            (ChecklistProblem::Missing { code, question }, Lang::En) => {
                format!("required review point {code} ({question}) is not answered")
            }
            (ChecklistProblem::Unknown { code }, Lang::Zh) => {
                format!("{code} 不是该事项的审查要点")
            }
            (ChecklistProblem::Unknown { code }, Lang::En) => {
                format!("{code} is not a review point of this matter")
            }
            (ChecklistProblem::Duplicate { code }, Lang::Zh) => {
                format!("审查要点 {code} 重复作答")
            }
            (ChecklistProblem::Duplicate { code }, Lang::En) => {
                format!("review point {code} is answered more than once")
            }
            (ChecklistProblem::NotPassed { code }, Lang::Zh) => {
                format!("必审要点 {code} 未通过，不能作出准予决定")
            }
            (ChecklistProblem::NotPassed { code }, Lang::En) => {
                format!("required review point {code} did not pass; the case cannot be approved")
            }
            (ChecklistProblem::DenyWithoutFailure, Lang::Zh) => {
                "作出不予决定须至少有一项审查要点未通过，作为不予理由".to_owned()
            }
            (ChecklistProblem::DenyWithoutFailure, Lang::En) => {
                "a denial needs at least one failed review point as its reason".to_owned()
            }
        }
    }
}

impl fmt::Display for ChecklistProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

/// Checks a full checklist for `decision`: every required review point answered exactly once,
/// no unknown codes; 准予 needs every required point passed; 不予 needs at least one failed point.
///
/// # Errors
/// Every problem found, at once: unknown and duplicate codes in checklist order (each once), then missing
/// and failed required points in the matter's order, then [`ChecklistProblem::DenyWithoutFailure`].
pub fn check_decision(
    matter: &Matter,
    decision: Decision,
    checklist: &[ChecklistEntry],
) -> Result<(), Vec<ChecklistProblem>> {
    check_points(matter, None, decision, checklist)
}

/// 多地联办: checks one part's checklist as [`check_decision`] does, against the review points
/// the part answers (a point of another part counts as unknown here).
///
/// # Errors
/// As [`check_decision`].
pub fn check_part_decision(
    matter: &Matter,
    part: &JointPart,
    decision: Decision,
    checklist: &[ChecklistEntry],
) -> Result<(), Vec<ChecklistProblem>> {
    check_points(matter, Some(part), decision, checklist)
}

fn check_points(
    matter: &Matter,
    part: Option<&JointPart>,
    decision: Decision,
    checklist: &[ChecklistEntry],
) -> Result<(), Vec<ChecklistProblem>> {
    let in_scope = |code: &str| {
        matter.review_point(code).is_some()
            && part.is_none_or(|p| p.review_points.iter().any(|c| c == code))
    };
    let mut problems = Vec::new();
    let mut answered = BTreeSet::new();
    let mut duplicates = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for entry in checklist {
        let code = entry.review_point_code.as_str();
        if !in_scope(code) {
            if unknown.insert(code) {
                problems.push(ChecklistProblem::Unknown {
                    code: code.to_owned(),
                });
            }
        } else if !answered.insert(code) && duplicates.insert(code) {
            problems.push(ChecklistProblem::Duplicate {
                code: code.to_owned(),
            });
        }
    }

    for point in matter
        .review_points
        .iter()
        .filter(|p| p.required && in_scope(&p.code))
    {
        let answers: Vec<&ChecklistEntry> = checklist
            .iter()
            .filter(|e| e.review_point_code == point.code)
            .collect();
        if answers.is_empty() {
            problems.push(ChecklistProblem::Missing {
                code: point.code.clone(),
                question: point.question.clone(),
            });
        } else if decision == Decision::Approve && answers.iter().any(|e| !e.passed) {
            problems.push(ChecklistProblem::NotPassed {
                code: point.code.clone(),
            });
        }
    }

    if decision == Decision::Deny {
        let any_failed = checklist
            .iter()
            .any(|e| !e.passed && in_scope(&e.review_point_code));
        if !any_failed {
            problems.push(ChecklistProblem::DenyWithoutFailure);
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
