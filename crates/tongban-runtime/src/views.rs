//! Wire forms of the views every audience shares, built once: the 一件事 bundle summary and a
//! case's decision. Which ids an audience may read is decided here, by [`Audience`].

use tongban_domain::bundle_view::BundleView;
use tongban_domain::case::Decision;
use tongban_proto::common::v1 as pb;

use crate::convert::{bundle_status_to_pb, decision_to_pb, status_to_pb};

/// The proto decision of a case (`UNSPECIFIED` until one is made).
#[must_use]
pub fn decision_pb(decision: Option<Decision>) -> pb::Decision {
    decision.map_or(pb::Decision::Unspecified, decision_to_pb)
}

/// Who looks at a bundle, and so which member ids they may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'a> {
    /// The window that accepted the bundle: every member's id, number and office.
    Window,
    /// An office handling member case `case_id`: that case's id and number only, and its
    /// responsible office only when the office leads it (`lead`).
    Office {
        /// The office's own member case.
        case_id: &'a str,
        /// Whether the office is that case's lead (first part's) office.
        lead: bool,
        /// The office.
        office_id: &'a str,
    },
    /// The 12345 hotline, for a caller who proved to be the applicant of one member (every
    /// member is the same applicant's): numbers and offices, no case ids.
    Hotline,
}

/// Identity of the bundle itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleHeader<'a> {
    /// Bundle id.
    pub bundle_id: &'a str,
    /// 一件事编号.
    pub bundle_number: &'a str,
    /// Bundle definition code.
    pub bundle_code: &'a str,
    /// Bundle name.
    pub name: &'a str,
}

/// The bundle summary shown beside a member case to `audience`.
#[must_use]
pub fn bundle_summary_pb(
    header: BundleHeader<'_>,
    view: &BundleView<'_>,
    audience: Audience<'_>,
) -> pb::BundleSummary {
    pb::BundleSummary {
        bundle_id: header.bundle_id.to_owned(),
        bundle_number: header.bundle_number.to_owned(),
        bundle_code: header.bundle_code.to_owned(),
        name: header.name.to_owned(),
        status: bundle_status_to_pb(view.status).into(),
        members: view
            .members
            .iter()
            .map(|line| {
                let (case_id, case_number, office) = match (line.case, audience) {
                    (None, _) => (String::new(), String::new(), String::new()),
                    (Some(case), Audience::Window) => (
                        case.case_id.clone(),
                        case.case_number.clone(),
                        case.responsible_office_id.clone(),
                    ),
                    (Some(case), Audience::Hotline) => (
                        String::new(),
                        case.case_number.clone(),
                        case.responsible_office_id.clone(),
                    ),
                    (
                        Some(case),
                        Audience::Office {
                            case_id,
                            lead,
                            office_id,
                        },
                    ) if case.case_id == case_id => (
                        case.case_id.clone(),
                        case.case_number.clone(),
                        if lead {
                            office_id.to_owned()
                        } else {
                            String::new()
                        },
                    ),
                    (Some(_), Audience::Office { .. }) => {
                        (String::new(), String::new(), String::new())
                    }
                };
                pb::BundleMember {
                    case_id,
                    case_number,
                    matter_code: line.matter_code.clone(),
                    matter_name: line.matter_name.clone(),
                    status: status_to_pb(line.status).into(),
                    responsible_office_id: office,
                    waiting_for: line.waiting_for.clone(),
                }
            })
            .collect(),
    }
}
