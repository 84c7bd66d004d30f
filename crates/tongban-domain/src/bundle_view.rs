//! 一件事: the one view of a bundle beside one of its member cases. The window, the offices and
//! the hotline all see the same members, in the same order, with the same status and the same
//! `waiting_for` rule; only which ids each audience may read differs, and that is decided when
//! the view is turned into its wire form.

use crate::bundle::{Bundle, BundleStatus, member_status, waiting_for};
use crate::case::{CaseStatus, Decision};
use crate::catalog::Catalog;

/// What a service knows of one member case of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    /// The member case's id (its UUID's text; the domain keeps ids opaque).
    pub case_id: String,
    /// Its case number.
    pub case_number: String,
    /// Its matter.
    pub matter_code: String,
    /// The matter's name as stored with the case.
    pub matter_name: String,
    /// Its status.
    pub status: CaseStatus,
    /// Its decision, once made.
    pub decision: Option<Decision>,
    /// Its responsible (lead) office.
    pub responsible_office_id: String,
}

impl MemberFacts {
    /// The status it counts with in the bundle's status: a denial that was completed (办结) is
    /// still a denial.
    #[must_use]
    pub fn counts_as(&self) -> CaseStatus {
        member_status(self.status, self.decision)
    }
}

/// One line of the bundle view: a known member case, or a member matter of the bundle's
/// definition not heard of yet (it counts as submitted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLine<'a> {
    /// The member's matter.
    pub matter_code: String,
    /// The matter's name.
    pub matter_name: String,
    /// The status shown for it.
    pub status: CaseStatus,
    /// Names of the members it still waits for (while only submitted).
    pub waiting_for: Vec<String>,
    /// The member case, when known.
    pub case: Option<&'a MemberFacts>,
}

/// A bundle's status and its members, in the bundle's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleView<'a> {
    /// Derived from the members ([`BundleStatus::derive`]).
    pub status: BundleStatus,
    /// Every member: the definition's members in its order (unknown ones as submitted), then
    /// member cases of matters the definition no longer lists, in case-number order.
    pub members: Vec<MemberLine<'a>>,
}

/// What the view does with a member matter of the definition whose case the service has not
/// heard of yet (its `case.submitted` is still on its way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unheard {
    /// Listed as submitted, and counted so: an office sees the whole bundle from the start.
    AsSubmitted,
    /// Left out until its case is known: the window and the hotline show member cases only.
    Omitted,
}

/// Builds the view of a bundle from the member cases a service knows (`known`; cases of other
/// bundles must not be passed) and the bundle's definition (`None` when the catalog no longer
/// has it: then only the known members are shown).
#[must_use]
pub fn bundle_view<'a>(
    catalog: &Catalog,
    definition: Option<&Bundle>,
    known: &'a [MemberFacts],
    unheard: Unheard,
) -> BundleView<'a> {
    let order: &[String] = definition.map_or(&[], |b| b.matters.as_slice());
    let position = |matter: &str| {
        order
            .iter()
            .position(|m| m == matter)
            .unwrap_or(order.len())
    };
    let mut lines: Vec<(usize, MemberLine<'a>)> = known
        .iter()
        .map(|case| {
            (
                position(&case.matter_code),
                MemberLine {
                    matter_code: case.matter_code.clone(),
                    matter_name: case.matter_name.clone(),
                    status: case.status,
                    waiting_for: Vec::new(),
                    case: Some(case),
                },
            )
        })
        .collect();
    for (i, matter) in order.iter().enumerate() {
        if unheard == Unheard::AsSubmitted && !known.iter().any(|c| c.matter_code == *matter) {
            lines.push((
                i,
                MemberLine {
                    matter_code: matter.clone(),
                    matter_name: catalog
                        .matter(matter)
                        .map(|m| m.name.clone())
                        .unwrap_or_default(),
                    status: CaseStatus::Submitted,
                    waiting_for: Vec::new(),
                    case: None,
                },
            ));
        }
    }
    lines.sort_by(|(a, x), (b, y)| {
        (a, x.case.map(|c| c.case_number.as_str()))
            .cmp(&(b, y.case.map(|c| c.case_number.as_str())))
    });
    let mut members: Vec<MemberLine<'a>> = lines.into_iter().map(|(_, line)| line).collect();
    let counts_as = |line: &MemberLine<'_>| line.case.map_or(line.status, MemberFacts::counts_as);
    let outcomes: Vec<(String, CaseStatus)> = members
        .iter()
        .map(|line| (line.matter_code.clone(), counts_as(line)))
        .collect();
    let status = BundleStatus::derive(outcomes.iter().map(|(_, s)| *s));
    if let Some(bundle) = definition {
        for line in &mut members {
            line.waiting_for = waiting_for(catalog, bundle, &line.matter_code, line.status, |m| {
                outcomes.iter().find(|(code, _)| code == m).map(|(_, s)| *s)
            });
        }
    }
    BundleView { status, members }
}
