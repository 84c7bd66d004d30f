//! 路由: which office reviews a case and under which 通办 scope (DESIGN §4).
//!
//! 1. The responsible office is the one serving the matter's department at the most specific
//!    level of the applicant's locality (`home_division`): county, then city, then province.
//! 2. The scope compares the window office and the responsible office: same county → 本地办理;
//!    same province → 全省通办; different provinces → 跨省通办 if the matter allows it, else
//!    区域通办 if an agreement in force covers both divisions and the matter, else refused.
//! 3. The mode requested by the clerk must be one the matter allows ([`check_mode`]).

use std::cmp::Reverse;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::catalog::{JointPart, Locality, Matter, Mode, Scope};
use crate::directory::Office;
use crate::division::DivisionCode;
use crate::i18n::{Lang, Localized};
use crate::reference::ReferenceData;

/// Where a case goes and under which arrangement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// 通办范围 of the case.
    pub scope: Scope,
    /// Id of the 属地 office that reviews and decides.
    pub responsible_office_id: String,
    /// The 区域通办 agreement that allows the case (only for [`Scope::Regional`]).
    pub agreement_id: Option<String>,
}

/// Why a case cannot be routed. Each message names the matter, offices or divisions involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No matter with this code in the catalog.
    UnknownMatter(String),
    /// No office with this id in the directory.
    UnknownWindow(String),
    /// The office exists but is not a 通办 window.
    NotAWindow(String),
    /// No office serves the department at the applicant's county, city or province.
    NoResponsibleOffice {
        /// The matter's department code.
        department: String,
        /// The applicant's locality.
        home_division: String,
    },
    /// The matter may not be handled under the scope the offices imply: same province but the
    /// matter does not allow 全省通办; different provinces and the matter allows neither
    /// 跨省通办 nor 区域通办.
    ScopeNotAllowed {
        /// The scope that would apply.
        scope: Scope,
        /// The matter code.
        matter: String,
    },
    /// Different provinces, the matter is not on the cross-province list, and no agreement in
    /// force on the day covers the window's and the responsible office's divisions and the matter.
    NoAgreement {
        /// The matter code.
        matter: String,
        /// Province code of the window office (`140000`).
        window_province: String,
        /// Province code of the responsible office (`640000`).
        office_province: String,
    },
    /// 多地联办 was asked for a matter that defines no parts.
    NotJoint(String),
    /// A part is decided by the destination (迁入地, 转入地) and none was given.
    MissingDestination {
        /// The matter code.
        matter: String,
        /// The part's name.
        part: String,
    },
    /// Two parts would go to the same office: joint handling needs an office per part.
    SameOffice {
        /// The office both parts would go to.
        office: String,
        /// The names of the two parts.
        parts: (String, String),
    },
    /// No office serves a part's department at its locality.
    NoPartOffice {
        /// The part's name.
        part: String,
        /// The part's department code.
        department: String,
        /// The locality's division.
        division: String,
    },
    /// The requested 办理模式 is not one the matter allows.
    ModeNotAllowed {
        /// The requested mode.
        mode: Mode,
        /// The matter code.
        matter: String,
    },
}

impl Localized for RouteError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (RouteError::UnknownMatter(code), Lang::Zh) => format!("事项目录中没有事项 {code}"),
            (RouteError::UnknownMatter(code), Lang::En) => {
                format!("no matter {code} in the catalog")
            }
            (RouteError::UnknownWindow(id), Lang::Zh) => format!("机构目录中没有机构 {id}"),
            (RouteError::UnknownWindow(id), Lang::En) => {
                format!("no office {id} in the directory")
            }
            (RouteError::NotAWindow(id), Lang::Zh) => format!("机构 {id} 不是通办窗口，不能受理"),
            (RouteError::NotAWindow(id), Lang::En) => {
                format!("office {id} is not a 通办 window and cannot accept cases")
            }
            (
                RouteError::NoResponsibleOffice {
                    department,
                    home_division,
                },
                Lang::Zh,
            ) => format!(
                "申请人所在地 {home_division} 的县、市、省三级均没有负责部门 {department} 的办理机构"
            ),
            (
                RouteError::NoResponsibleOffice {
                    department,
                    home_division,
                },
                Lang::En,
            ) => format!(
                "no office serves department {department} for {home_division} \
                 at county, city or province level"
            ),
            (RouteError::ScopeNotAllowed { scope, matter }, Lang::Zh) => {
                format!("事项 {matter} 不支持{}", scope.text(Lang::Zh))
            }
            (RouteError::ScopeNotAllowed { scope, matter }, Lang::En) => format!(
                "matter {matter} may not be handled as {}",
                scope.text(Lang::En).to_lowercase()
            ),
            (
                RouteError::NoAgreement {
                    matter,
                    window_province,
                    office_province,
                },
                Lang::Zh,
            ) => format!(
                "事项 {matter} 不在跨省通办清单内，且窗口所在省 {window_province} 与办理地所在省 \
                 {office_province} 之间没有在有效期内、涵盖该事项的区域通办合作协议"
            ),
            (
                RouteError::NoAgreement {
                    matter,
                    window_province,
                    office_province,
                },
                Lang::En,
            ) => format!(
                "matter {matter} is not on the cross-province list and no regional agreement in \
                 force between the window's province {window_province} and the responsible \
                 office's province {office_province} covers it"
            ),
            (RouteError::NotJoint(matter), Lang::Zh) => {
                format!("事项 {matter} 没有定义联办环节，不能多地联办")
            }
            (RouteError::NotJoint(matter), Lang::En) => {
                format!("matter {matter} defines no parts and cannot be handled jointly")
            }
            (RouteError::MissingDestination { matter, part }, Lang::Zh) => {
                format!(
                    "事项 {matter} 的联办环节「{part}」由迁入地（转入地）办理，须填写迁入地区划代码"
                )
            }
            (RouteError::MissingDestination { matter, part }, Lang::En) => format!(
                "the part {part} of matter {matter} is handled at the destination; \
                 give the destination division"
            ),
            (RouteError::SameOffice { office, parts }, Lang::Zh) => format!(
                "联办环节「{}」与「{}」将由同一机构 {office} 办理，无需多地联办，请改用其他模式",
                parts.0, parts.1
            ),
            (RouteError::SameOffice { office, parts }, Lang::En) => format!(
                "parts {} and {} would both go to office {office}; joint handling needs \
                 different offices, choose another mode",
                parts.0, parts.1
            ),
            (
                RouteError::NoPartOffice {
                    part,
                    department,
                    division,
                },
                Lang::Zh,
            ) => format!(
                "联办环节「{part}」：{division} 的县、市、省三级均没有负责部门 {department} 的办理机构"
            ),
            (
                RouteError::NoPartOffice {
                    part,
                    department,
                    division,
                },
                Lang::En,
            ) => format!(
                "part {part}: no office serves department {department} for {division} \
                 at county, city or province level"
            ),
            (RouteError::ModeNotAllowed { mode, matter }, Lang::Zh) => {
                format!("事项 {matter} 不支持{}模式", mode.text(Lang::Zh))
            }
            (RouteError::ModeNotAllowed { mode, matter }, Lang::En) => format!(
                "matter {matter} does not allow the mode {}",
                mode.text(Lang::En).to_lowercase()
            ),
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

/// Routes a case of `matter_code` accepted at `window_office_id` for an applicant whose record
/// lives in `home_division`, using the agreements in force on `on` (DESIGN §4).
///
/// # Errors
/// [`RouteError`] naming why: unknown matter or window, an office that is not a window, no
/// responsible office, a scope the matter does not allow, or no agreement for 区域通办.
pub fn resolve_route(
    reference: &ReferenceData,
    matter_code: &str,
    window_office_id: &str,
    home_division: &DivisionCode,
    on: NaiveDate,
) -> Result<Route, RouteError> {
    let matter = reference
        .catalog
        .matter(matter_code)
        .ok_or_else(|| RouteError::UnknownMatter(matter_code.to_owned()))?;
    let window = window_office(reference, window_office_id)?;
    let office = reference
        .directory
        .responsible_office(&matter.department, home_division, &reference.divisions)
        .ok_or_else(|| RouteError::NoResponsibleOffice {
            department: matter.department.clone(),
            home_division: home_division.to_string(),
        })?;
    let (scope, agreement_id) = scope_between(reference, matter, window, office, on)?;
    Ok(Route {
        scope,
        responsible_office_id: office.id.clone(),
        agreement_id,
    })
}

/// 多地联办: where one part of a joint case goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartRoute {
    /// The part's code within the matter.
    pub code: String,
    /// The part's name.
    pub name: String,
    /// The part's English name.
    pub name_en: String,
    /// Its department.
    pub department: String,
    /// The locality that decided the office.
    pub locality: Locality,
    /// That locality's division.
    pub division: DivisionCode,
    /// The office that handles the part.
    pub office_id: String,
    /// 通办范围 between the window and the part's office.
    pub scope: Scope,
    /// The 区域通办 agreement for this part, if any.
    pub agreement_id: Option<String>,
    /// Parts that must be approved before this one starts.
    pub after: Vec<String>,
}

/// 多地联办: the route of every part, and the case's own scope and lead office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JointRoute {
    /// The widest scope of the parts (跨省 over 区域 over 全省 over 本地).
    pub scope: Scope,
    /// The first part's office: it receives paper originals and issues the result.
    pub responsible_office_id: String,
    /// The agreement of the first part routed under 区域通办, if any.
    pub agreement_id: Option<String>,
    /// One route per part, in the matter's order.
    pub parts: Vec<PartRoute>,
}

/// Routes every part of a joint case (DESIGN §4, per part): each part goes to the office of
/// its department at its locality (`home_division` or `destination_division`), and its scope
/// is computed between the window and that office.
///
/// # Errors
/// [`RouteError`]: unknown matter or window, a matter without parts, a missing destination,
/// no office for a part, a scope a part's office implies that the matter does not allow, or
/// two parts going to the same office.
pub fn resolve_parts(
    reference: &ReferenceData,
    matter_code: &str,
    window_office_id: &str,
    home_division: &DivisionCode,
    destination_division: Option<&DivisionCode>,
    on: NaiveDate,
) -> Result<JointRoute, RouteError> {
    let matter = reference
        .catalog
        .matter(matter_code)
        .ok_or_else(|| RouteError::UnknownMatter(matter_code.to_owned()))?;
    check_mode(matter, Mode::Joint)?;
    if matter.parts.is_empty() {
        return Err(RouteError::NotJoint(matter.code.clone()));
    }
    let window = window_office(reference, window_office_id)?;
    let mut parts: Vec<PartRoute> = Vec::with_capacity(matter.parts.len());
    for part in &matter.parts {
        let route = route_part(
            reference,
            matter,
            window,
            part,
            home_division,
            destination_division,
            on,
        )?;
        if let Some(other) = parts.iter().find(|p| p.office_id == route.office_id) {
            return Err(RouteError::SameOffice {
                office: route.office_id,
                parts: (other.name.clone(), route.name),
            });
        }
        parts.push(route);
    }
    let widest = |scope: Scope| match scope {
        Scope::Local => 0,
        Scope::ProvinceWide => 1,
        Scope::Regional => 2,
        Scope::CrossProvince => 3,
    };
    let scope = parts
        .iter()
        .map(|p| p.scope)
        .max_by_key(|s| widest(*s))
        .unwrap_or(Scope::Local);
    Ok(JointRoute {
        scope,
        responsible_office_id: parts[0].office_id.clone(),
        agreement_id: parts.iter().find_map(|p| p.agreement_id.clone()),
        parts,
    })
}

fn route_part(
    reference: &ReferenceData,
    matter: &Matter,
    window: &Office,
    part: &JointPart,
    home_division: &DivisionCode,
    destination_division: Option<&DivisionCode>,
    on: NaiveDate,
) -> Result<PartRoute, RouteError> {
    let division = match part.locality {
        Locality::HomeDivision => home_division,
        Locality::DestinationDivision => {
            destination_division.ok_or_else(|| RouteError::MissingDestination {
                matter: matter.code.clone(),
                part: part.name.clone(),
            })?
        }
    };
    let office = reference
        .directory
        .responsible_office(&part.department, division, &reference.divisions)
        .ok_or_else(|| RouteError::NoPartOffice {
            part: part.name.clone(),
            department: part.department.clone(),
            division: division.to_string(),
        })?;
    let (scope, agreement_id) = scope_between(reference, matter, window, office, on)?;
    Ok(PartRoute {
        code: part.code.clone(),
        name: part.name.clone(),
        name_en: part.name_en.clone(),
        department: part.department.clone(),
        locality: part.locality,
        division: division.clone(),
        office_id: office.id.clone(),
        scope,
        agreement_id,
        after: part.after.clone(),
    })
}

/// The 通办 window `id` that accepts the case.
fn window_office<'a>(reference: &'a ReferenceData, id: &str) -> Result<&'a Office, RouteError> {
    let window = reference
        .directory
        .office(id)
        .ok_or_else(|| RouteError::UnknownWindow(id.to_owned()))?;
    if window.is_window {
        Ok(window)
    } else {
        Err(RouteError::NotAWindow(window.id.clone()))
    }
}

/// Step 2 of DESIGN §4: the scope between the window and the responsible office, with the
/// agreement that allows 区域通办.
fn scope_between(
    reference: &ReferenceData,
    matter: &Matter,
    window: &Office,
    office: &Office,
    on: NaiveDate,
) -> Result<(Scope, Option<String>), RouteError> {
    let refuse = |scope| RouteError::ScopeNotAllowed {
        scope,
        matter: matter.code.clone(),
    };
    if window.division == office.division {
        return Ok((Scope::Local, None));
    }
    if window.division.is_same_province(&office.division) {
        return if matter.allows_scope(Scope::ProvinceWide) {
            Ok((Scope::ProvinceWide, None))
        } else {
            Err(refuse(Scope::ProvinceWide))
        };
    }
    if matter.allows_scope(Scope::CrossProvince) {
        return Ok((Scope::CrossProvince, None));
    }
    if !matter.allows_scope(Scope::Regional) {
        return Err(refuse(Scope::CrossProvince));
    }
    let divisions = &reference.divisions;
    // Several agreements may apply (a bilateral city agreement and a provincial framework):
    // the most specific one wins, i.e. the one whose parties covering the two divisions lie
    // deepest in the hierarchy; ties go to the smallest id so the choice is stable.
    let specificity = |party: &DivisionCode| divisions.lineage(party).len();
    reference
        .directory
        .agreements()
        .filter(|a| a.in_force(on) && a.covers_matter(&matter.code))
        .filter_map(|a| {
            let window_party = a.party_covering(&window.division, divisions)?;
            let office_party = a.party_covering(&office.division, divisions)?;
            let score = specificity(window_party) + specificity(office_party);
            Some((Reverse(score), a.id.as_str()))
        })
        .min()
        .map(|(_, id)| (Scope::Regional, Some(id.to_owned())))
        .ok_or_else(|| RouteError::NoAgreement {
            matter: matter.code.clone(),
            window_province: window.division.province_code().to_string(),
            office_province: office.division.province_code().to_string(),
        })
}

/// Step 3 of DESIGN §4: the clerk's requested 办理模式 must be one the matter allows.
///
/// # Errors
/// [`RouteError::ModeNotAllowed`] naming the mode and the matter.
pub fn check_mode(matter: &Matter, mode: Mode) -> Result<(), RouteError> {
    if matter.allows_mode(mode) {
        Ok(())
    } else {
        Err(RouteError::ModeNotAllowed {
            mode,
            matter: matter.code.clone(),
        })
    }
}
