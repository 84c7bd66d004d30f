//! 发证权限: which offices may issue which e-certificate (电子证照) types.
//!
//! Loaded from `deploy/directory/issuers.toml`: every office serving a listed department may
//! issue that department's types, and an office entry grants one office more. The rule is data,
//! not code, so a province adds a type to a department without a rebuild. Checked against the
//! catalog and the directory: departments and offices exist, type codes are 3-digit codes, and
//! every matter that issues a result certificate has a department allowed to issue it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::catalog::{Catalog, invalid, line_of, parse_toml};
use crate::data::{DataError, read_text};
use crate::directory::{Directory, Office};

/// Which certificate types each department's offices, and each listed office, may issue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuerRights {
    by_department: BTreeMap<String, BTreeSet<String>>,
    by_office: BTreeMap<String, BTreeSet<String>>,
}

/// Why an office may not issue a certificate type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueRefusal {
    /// The office has no right to issue this type at all (directory data).
    #[error("office {office} may not issue certificate type {type_code}")]
    TypeNotAllowed {
        /// The office asking.
        office: String,
        /// The certificate type it asked for.
        type_code: String,
    },
    /// A result certificate (办件结果证照) for a case must come from the case's responsible office.
    #[error("only the responsible office {responsible} may issue the case's result certificate")]
    NotResponsible {
        /// The case's responsible office.
        responsible: String,
    },
    /// A result certificate must be of the type the case's matter produces.
    #[error("the case's matter produces certificate type {expected}, not {type_code}")]
    WrongResultType {
        /// The matter's result certificate type.
        expected: String,
        /// The type asked for.
        type_code: String,
    },
}

/// The case a result certificate is issued for: who is responsible and what the matter produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultCase<'a> {
    /// The case's responsible office (属地办理).
    pub responsible_office_id: &'a str,
    /// The certificate type the matter produces for the applicant's delivery.
    pub result_type: &'a str,
}

impl IssuerRights {
    /// Parses and checks `issuers.toml` text (`source` names it in errors).
    ///
    /// # Errors
    /// [`DataError::Invalid`] naming the file, line and field: unknown department or office, a
    /// type code that is not 3 digits, a repeated entry, or a matter whose result certificate
    /// type its department may not issue.
    pub fn from_toml(
        text: &str,
        source: &str,
        catalog: &Catalog,
        directory: &Directory,
    ) -> Result<Self, DataError> {
        let raw: RawIssuers = parse_toml(text, source)?;
        let mut rights = Self::default();
        for entry in raw.department {
            let line = Some(line_of(text, entry.code.span().start));
            let code = entry.code.into_inner();
            if catalog.department(&code).is_none() {
                return Err(invalid(
                    source,
                    line,
                    format!("未知部门 {code} (unknown department {code})"),
                ));
            }
            let types = type_set(&entry.types).map_err(|r| invalid(source, line, r))?;
            if rights.by_department.insert(code.clone(), types).is_some() {
                return Err(invalid(
                    source,
                    line,
                    format!("部门 {code} 重复 (department {code} listed twice)"),
                ));
            }
        }
        for entry in raw.office {
            let line = Some(line_of(text, entry.id.span().start));
            let id = entry.id.into_inner();
            if directory.office(&id).is_none() {
                return Err(invalid(
                    source,
                    line,
                    format!("未知机构 {id} (unknown office {id})"),
                ));
            }
            let types = type_set(&entry.types).map_err(|r| invalid(source, line, r))?;
            if rights.by_office.insert(id.clone(), types).is_some() {
                return Err(invalid(
                    source,
                    line,
                    format!("机构 {id} 重复 (office {id} listed twice)"),
                ));
            }
        }
        for matter in catalog.matters() {
            let Some(result_type) = matter.result_certificate_type.as_deref() else {
                continue;
            };
            let allowed = rights
                .by_department
                .get(&matter.department)
                .is_some_and(|types| types.contains(result_type));
            if !allowed {
                return Err(invalid(
                    source,
                    None,
                    format!(
                        "事项 {m} 的结果证照 {result_type} 不在部门 {d} 的发证类型中 \
                         (matter {m} issues certificate type {result_type}, which department {d} may not issue)",
                        m = matter.code,
                        d = matter.department,
                    ),
                ));
            }
        }
        Ok(rights)
    }

    /// Reads `issuers.toml` from `directory_dir` and checks it as [`IssuerRights::from_toml`].
    ///
    /// # Errors
    /// [`DataError::Io`] when the file cannot be read; otherwise as `from_toml`.
    pub fn load(
        directory_dir: &Path,
        catalog: &Catalog,
        directory: &Directory,
    ) -> Result<Self, DataError> {
        let path = directory_dir.join("issuers.toml");
        let text = read_text(&path)?;
        Self::from_toml(&text, &path.display().to_string(), catalog, directory)
    }

    /// Whether `office` may issue certificates of `type_code` (through one of its departments
    /// or an entry of its own).
    pub fn may_issue(&self, office: &Office, type_code: &str) -> bool {
        let by_office = self
            .by_office
            .get(&office.id)
            .is_some_and(|types| types.contains(type_code));
        by_office
            || office.departments.iter().any(|dept| {
                self.by_department
                    .get(dept)
                    .is_some_and(|types| types.contains(type_code))
            })
    }

    /// The types `office` may issue, sorted.
    pub fn types_for(&self, office: &Office) -> BTreeSet<&str> {
        office
            .departments
            .iter()
            .filter_map(|dept| self.by_department.get(dept))
            .chain(self.by_office.get(&office.id))
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// Decides whether `office` may issue a certificate of `type_code`, for `case` when it is a
    /// case's result certificate: the office must hold the right for the type, and a result
    /// certificate must come from the case's responsible office and be of the matter's type.
    ///
    /// # Errors
    /// The first [`IssueRefusal`] that applies, in the order above.
    pub fn check(
        &self,
        office: &Office,
        type_code: &str,
        case: Option<ResultCase<'_>>,
    ) -> Result<(), IssueRefusal> {
        if !self.may_issue(office, type_code) {
            return Err(IssueRefusal::TypeNotAllowed {
                office: office.id.clone(),
                type_code: type_code.to_owned(),
            });
        }
        if let Some(case) = case {
            check_result(case, &office.id, type_code)?;
        }
        Ok(())
    }
}

/// Whether a result certificate issued by `issuer_office_id` with `type_code` may be the result
/// of `case`: what intake accepts as a case's result (办结凭证).
///
/// # Errors
/// [`IssueRefusal::NotResponsible`] or [`IssueRefusal::WrongResultType`].
pub fn check_result(
    case: ResultCase<'_>,
    issuer_office_id: &str,
    type_code: &str,
) -> Result<(), IssueRefusal> {
    if issuer_office_id != case.responsible_office_id {
        return Err(IssueRefusal::NotResponsible {
            responsible: case.responsible_office_id.to_owned(),
        });
    }
    if type_code != case.result_type {
        return Err(IssueRefusal::WrongResultType {
            expected: case.result_type.to_owned(),
            type_code: type_code.to_owned(),
        });
    }
    Ok(())
}

fn type_set(types: &[String]) -> Result<BTreeSet<String>, String> {
    let mut set = BTreeSet::new();
    for code in types {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "证照类型代码 {code:?} 应为 3 位数字 (type code {code:?} must be 3 digits)"
            ));
        }
        if !set.insert(code.clone()) {
            return Err(format!("证照类型 {code} 重复 (type {code} listed twice)"));
        }
    }
    if set.is_empty() {
        return Err("types 不能为空 (types must not be empty)".to_owned());
    }
    Ok(set)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuers {
    #[serde(default)]
    department: Vec<RawDepartmentRights>,
    #[serde(default)]
    office: Vec<RawOfficeRights>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartmentRights {
    code: toml::Spanned<String>,
    types: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOfficeRights {
    id: toml::Spanned<String>,
    types: Vec<String>,
}
