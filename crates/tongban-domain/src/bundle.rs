//! 一件事一次办: bundles of matters applied for with one submission. The bundle catalog is
//! loaded from `deploy/catalog/bundles.toml`; a bundle's materials are the union of its
//! members' (a material several members need is asked for once, by its code), and a bundle's
//! status is derived from its member cases.
//!
//! A member may provide what others need (`[[bundle.provides]]`): its result is a material
//! other members list (出生医学证明 for 出生登记). The applicant is not asked for it; the members
//! that list it wait for the provider ([`prerequisites`]) and carry its result once it is
//! approved.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::case::{CaseCommand, CaseEvent, CaseStatus, Decision, TransitionError};
use crate::catalog::{Catalog, DeliveryMethod, Material, Mode, named};
use crate::catalog::{invalid, is_code, line_of, parse_toml};
use crate::data::{DataError, read_text};
use crate::i18n::{Lang, Localized};
use crate::materials::MissingMaterial;

/// 一件事: matters applied for together, each handled as its own linked case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bundle {
    /// Stable code, `[A-Z0-9-]+` (`YJS-CS`).
    pub code: String,
    /// 名称 (`出生一件事`).
    pub name: String,
    /// English name.
    pub name_en: String,
    /// What the bundle covers, for the window and the notice.
    pub description: String,
    /// Member matter codes, in order.
    pub matters: Vec<String>,
    /// What members provide to the others (their results other members list as materials).
    pub provides: Vec<Provision>,
}

impl Bundle {
    /// The member that provides `material`, if one does.
    pub fn provider_of(&self, material: &str) -> Option<&str> {
        self.provides
            .iter()
            .find(|p| p.material == material)
            .map(|p| p.matter.as_str())
    }
}

/// 前序事项出具: a member whose result is a material other members of the bundle list, so the
/// applicant is not asked for it and those members wait for this one (出生医学证明首次签发
/// provides CSZM to 出生登记).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    /// The providing member's matter code.
    pub matter: String,
    /// The material code its result stands for in the other members' lists.
    pub material: String,
}

/// A material of a bundle, asked for once and needed by the listed members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleMaterial {
    /// The material as the first member listing it defines it; `required` when any member
    /// requires it (and no member provides it), `paper_original_required` when any member
    /// needs the paper original.
    pub material: Material,
    /// Member matters that list the material.
    pub matter_codes: Vec<String>,
    /// The member whose result this material is (由「…」出具): the applicant is not asked for
    /// it, so `material.required` is false.
    pub provided_by: Option<String>,
}

/// The bundle catalog, checked against the matter catalog.
#[derive(Debug, Clone, Default)]
pub struct Bundles {
    bundles: BTreeMap<String, Bundle>,
}

impl Bundles {
    /// Parses and checks `bundles.toml`: unique codes, at least two distinct existing member
    /// matters, a mode (online or proxy) and a delivery method every member allows, no
    /// material whose paper original more than one member needs (there is only one original),
    /// and provisions that hold (a member providing a material another member lists, each
    /// material provided once, no member waiting for itself).
    ///
    /// # Errors
    /// [`DataError::Invalid`] naming the file, line, bundle and field.
    pub fn from_toml(text: &str, source: &str, catalog: &Catalog) -> Result<Self, DataError> {
        let raw: RawBundles = parse_toml(text, source)?;
        let mut bundles = BTreeMap::new();
        for b in raw.bundle {
            let line = Some(line_of(text, b.code.span().start));
            let code = b.code.into_inner();
            let fail = |field: &str, zh: String, en: String| {
                invalid(
                    source,
                    line,
                    format!(
                        "一件事 {code} 字段 {field}：{zh} (bundle {code}, field {field}: {en})"
                    ),
                )
            };
            if !is_code(&code, |c| {
                c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'
            }) {
                return Err(fail(
                    "code",
                    "须匹配 [A-Z0-9-]+".into(),
                    "must match [A-Z0-9-]+".into(),
                ));
            }
            if bundles.contains_key(&code) {
                return Err(fail("code", "编码重复".into(), "duplicate code".into()));
            }
            for (field, value) in [
                ("name", &b.name),
                ("name_en", &b.name_en),
                ("description", &b.description),
            ] {
                if value.trim().is_empty() {
                    return Err(fail(field, "不能为空".into(), "must not be empty".into()));
                }
            }
            if b.matters.len() < 2 {
                return Err(fail(
                    "matters",
                    "至少需要两个事项".into(),
                    "at least two member matters are needed".into(),
                ));
            }
            for (i, member) in b.matters.iter().enumerate() {
                if catalog.matter(member).is_none() {
                    return Err(fail(
                        "matters",
                        format!("事项目录中没有事项 {member}"),
                        format!("no matter {member} in the catalog"),
                    ));
                }
                if b.matters[..i].contains(member) {
                    return Err(fail(
                        "matters",
                        format!("事项 {member} 重复"),
                        format!("matter {member} is listed twice"),
                    ));
                }
            }
            let bundle = Bundle {
                code: code.clone(),
                name: b.name,
                name_en: b.name_en,
                description: b.description,
                matters: b.matters,
                provides: b.provides,
            };
            if let Err((zh, en)) = check_provides(catalog, &bundle) {
                return Err(fail("provides", zh, en));
            }
            if common_modes(catalog, &bundle).is_empty() {
                return Err(fail(
                    "matters",
                    "各事项没有共同支持的全程网办或异地代收代办模式".into(),
                    "the members share no online or proxy mode".into(),
                ));
            }
            // One paper original exists: under 异地代收代办 it can travel to one office only.
            if let Some((material, members)) = bundle_materials(catalog, &bundle)
                .into_iter()
                .map(|m| {
                    let members: Vec<String> = m
                        .matter_codes
                        .iter()
                        .filter(|code| {
                            catalog
                                .matter(code)
                                .and_then(|matter| matter.material(&m.material.code))
                                .is_some_and(|x| x.paper_original_required)
                        })
                        .cloned()
                        .collect();
                    (m.material.code, members)
                })
                .find(|(_, members)| members.len() > 1)
            {
                return Err(fail(
                    "matters",
                    format!(
                        "材料 {material} 在 {} 中都须提交纸质原件，而原件只有一份",
                        members.join("、")
                    ),
                    format!(
                        "material {material} needs the paper original in {}, but there is only one original",
                        members.join(", ")
                    ),
                ));
            }
            if common_delivery_methods(catalog, &bundle).is_empty() {
                return Err(fail(
                    "matters",
                    "各事项没有共同的发证方式".into(),
                    "the members share no delivery method".into(),
                ));
            }
            bundles.insert(code, bundle);
        }
        Ok(Self { bundles })
    }

    /// Reads `bundles.toml` from `catalog_dir`; a missing file is an empty bundle catalog.
    ///
    /// # Errors
    /// [`DataError::Io`] when the file exists but cannot be read; [`DataError::Invalid`] as
    /// for [`Bundles::from_toml`].
    pub fn load(catalog_dir: &Path, catalog: &Catalog) -> Result<Self, DataError> {
        let path = catalog_dir.join("bundles.toml");
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = read_text(&path)?;
        Self::from_toml(&text, &path.display().to_string(), catalog)
    }

    /// The bundle with this code.
    pub fn get(&self, code: &str) -> Option<&Bundle> {
        self.bundles.get(code)
    }

    /// Every bundle, sorted by code.
    pub fn iter(&self) -> impl Iterator<Item = &Bundle> {
        self.bundles.values()
    }
}

/// The rules of a bundle's provisions: each names a member and a material at least one OTHER
/// member lists; the provider does not require that material itself; a material is provided
/// by one member at most; and no member waits, through what it needs, for itself.
///
/// # Errors
/// The broken rule, in Chinese and English.
fn check_provides(catalog: &Catalog, bundle: &Bundle) -> Result<(), (String, String)> {
    for (i, p) in bundle.provides.iter().enumerate() {
        let (matter, material) = (&p.matter, &p.material);
        if !bundle.matters.contains(matter) {
            return Err((
                format!("出具材料 {material} 的事项 {matter} 不是本一件事的成员"),
                format!("{matter}, providing {material}, is not a member of the bundle"),
            ));
        }
        let provider = catalog.matter(matter);
        if provider
            .and_then(|m| m.material(material))
            .is_some_and(|m| m.required)
        {
            return Err((
                format!("事项 {matter} 自身须提交材料 {material}，不能由其出具"),
                format!("{matter} itself requires {material}, so it cannot provide it"),
            ));
        }
        let listed_by_other = bundle.matters.iter().any(|other| {
            other != matter
                && catalog
                    .matter(other)
                    .is_some_and(|m| m.material(material).is_some())
        });
        if !listed_by_other {
            return Err((
                format!("没有其他成员事项列有事项 {matter} 出具的材料 {material}"),
                format!("no other member lists {material}, which {matter} provides"),
            ));
        }
        if let Some(first) = bundle.provides[..i]
            .iter()
            .find(|q| q.material == *material)
        {
            return Err((
                format!(
                    "材料 {material} 由 {} 和 {matter} 重复出具，只能由一个成员出具",
                    first.matter
                ),
                format!(
                    "{material} is provided by both {} and {matter}; one member at most",
                    first.matter
                ),
            ));
        }
    }
    if let Some(cycle) = dependency_cycle(catalog, bundle) {
        return Err((
            format!("成员事项相互等待，形成循环：{}", cycle.join(" → ")),
            format!(
                "members wait for each other in a cycle: {}",
                cycle.join(" → ")
            ),
        ));
    }
    Ok(())
}

/// A member that, through the members it waits for, waits for itself: the path from it back
/// to it, when there is one.
fn dependency_cycle(catalog: &Catalog, bundle: &Bundle) -> Option<Vec<String>> {
    fn visit(
        member: &str,
        catalog: &Catalog,
        bundle: &Bundle,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == member) {
            let mut cycle = path[start..].to_vec();
            cycle.push(member.to_owned());
            return Some(cycle);
        }
        if done.contains(member) {
            return None;
        }
        path.push(member.to_owned());
        for awaited in prerequisites(catalog, bundle, member) {
            if let Some(cycle) = visit(&awaited, catalog, bundle, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(member.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    bundle
        .matters
        .iter()
        .find_map(|m| visit(m, catalog, bundle, &mut Vec::new(), &mut done))
}

/// The members `member` waits for: those providing a material `member` lists (required or
/// not), in the bundle's order. Empty for a member that can start at once.
pub fn prerequisites(catalog: &Catalog, bundle: &Bundle, member: &str) -> Vec<String> {
    let Some(matter) = catalog.matter(member) else {
        return Vec::new();
    };
    bundle
        .matters
        .iter()
        .filter(|provider| {
            provider.as_str() != member
                && bundle
                    .provides
                    .iter()
                    .any(|p| &p.matter == *provider && matter.material(&p.material).is_some())
        })
        .cloned()
        .collect()
}

/// The names of the members `member` still waits for while it is only submitted (not yet
/// accepted): its [`prerequisites`] not yet approved. `outcome` gives a member's status as
/// [`member_status`] counts it (`None`: not known). Empty once the member is accepted.
pub fn waiting_for(
    catalog: &Catalog,
    bundle: &Bundle,
    member: &str,
    status: CaseStatus,
    outcome: impl Fn(&str) -> Option<CaseStatus>,
) -> Vec<String> {
    if status != CaseStatus::Submitted {
        return Vec::new();
    }
    prerequisites(catalog, bundle, member)
        .into_iter()
        .filter(|provider| {
            !matches!(
                outcome(provider),
                Some(CaseStatus::Approved | CaseStatus::Completed)
            )
        })
        .map(|provider| {
            catalog
                .matter(&provider)
                .map_or(provider.clone(), |m| m.name.clone())
        })
        .collect()
}

/// The union of the members' materials, in member order: each material code once, required
/// when any member requires it — except a material a member provides, which the applicant is
/// not asked for: it is kept in the list, not required, with its provider in `provided_by`.
pub fn bundle_materials(catalog: &Catalog, bundle: &Bundle) -> Vec<BundleMaterial> {
    let mut out: Vec<BundleMaterial> = Vec::new();
    for matter in bundle.matters.iter().filter_map(|c| catalog.matter(c)) {
        for material in &matter.materials {
            match out.iter_mut().find(|m| m.material.code == material.code) {
                Some(known) => {
                    known.material.required |= material.required;
                    known.material.paper_original_required |= material.paper_original_required;
                    for t in &material.accepted_certificate_types {
                        if !known.material.accepted_certificate_types.contains(t) {
                            known.material.accepted_certificate_types.push(t.clone());
                        }
                    }
                    known.matter_codes.push(matter.code.clone());
                }
                None => out.push(BundleMaterial {
                    material: material.clone(),
                    matter_codes: vec![matter.code.clone()],
                    provided_by: None,
                }),
            }
        }
    }
    for m in &mut out {
        if let Some(provider) = bundle.provider_of(&m.material.code) {
            m.provided_by = Some(provider.to_owned());
            m.material.required = false;
        }
    }
    out
}

/// The modes (online, proxy) every member allows; joint handling is not offered for bundles.
pub fn common_modes(catalog: &Catalog, bundle: &Bundle) -> Vec<Mode> {
    [Mode::Online, Mode::Proxy]
        .into_iter()
        .filter(|mode| {
            bundle
                .matters
                .iter()
                .all(|c| catalog.matter(c).is_some_and(|m| m.allows_mode(*mode)))
        })
        .collect()
}

/// The delivery methods every member allows.
pub fn common_delivery_methods(catalog: &Catalog, bundle: &Bundle) -> Vec<DeliveryMethod> {
    DeliveryMethod::ALL
        .into_iter()
        .filter(|method| {
            bundle.matters.iter().all(|c| {
                catalog
                    .matter(c)
                    .is_some_and(|m| m.allows_delivery(*method))
            })
        })
        .collect()
}

/// A member case's status as [`BundleStatus::derive`] counts it: a denied case stays denied
/// once it is 办结 (completed), so pass its decision along.
pub fn member_status(status: CaseStatus, decision: Option<Decision>) -> CaseStatus {
    match (status, decision) {
        (CaseStatus::Completed, Some(Decision::Deny)) => CaseStatus::Denied,
        (status, _) => status,
    }
}

/// Status of a bundle, derived from its member cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleStatus {
    /// 办理中: some member is still being handled.
    InProgress,
    /// 待补正: some member waits for 补正 material.
    SupplementRequested,
    /// 已办结: every member not withdrawn was approved or completed.
    Completed,
    /// 部分不予: every member is decided, some were denied.
    PartlyDenied,
    /// 不予: every member was denied.
    Denied,
    /// 已撤回: every member was withdrawn.
    Withdrawn,
}

impl BundleStatus {
    /// Every status, in declaration order.
    pub const ALL: [BundleStatus; 6] = [
        BundleStatus::InProgress,
        BundleStatus::SupplementRequested,
        BundleStatus::Completed,
        BundleStatus::PartlyDenied,
        BundleStatus::Denied,
        BundleStatus::Withdrawn,
    ];

    /// The snake_case name (`"partly_denied"`).
    pub fn as_str(self) -> &'static str {
        match self {
            BundleStatus::InProgress => "in_progress",
            BundleStatus::SupplementRequested => "supplement_requested",
            BundleStatus::Completed => "completed",
            BundleStatus::PartlyDenied => "partly_denied",
            BundleStatus::Denied => "denied",
            BundleStatus::Withdrawn => "withdrawn",
        }
    }

    /// Derives the bundle's status from its members' statuses (each through [`member_status`],
    /// so a denied and then completed member counts as denied). Approved counts as done (the
    /// result is on its way); a withdrawn member does not count unless every member was
    /// withdrawn. No members at all is [`BundleStatus::InProgress`].
    pub fn derive(members: impl IntoIterator<Item = CaseStatus>) -> Self {
        let members: Vec<CaseStatus> = members.into_iter().collect();
        let live: Vec<CaseStatus> = members
            .iter()
            .copied()
            .filter(|s| *s != CaseStatus::Withdrawn)
            .collect();
        if !members.is_empty() && live.is_empty() {
            return BundleStatus::Withdrawn;
        }
        if live.contains(&CaseStatus::SupplementRequested) {
            return BundleStatus::SupplementRequested;
        }
        if live.is_empty() || !live.iter().all(|s| s.is_decided()) {
            return BundleStatus::InProgress;
        }
        let denied = live.iter().filter(|s| **s == CaseStatus::Denied).count();
        match denied {
            0 => BundleStatus::Completed,
            n if n == live.len() => BundleStatus::Denied,
            _ => BundleStatus::PartlyDenied,
        }
    }
}

named!(BundleStatus, "bundle status");

impl Localized for BundleStatus {
    fn text(&self, lang: Lang) -> String {
        let (zh, en) = match self {
            BundleStatus::InProgress => ("办理中", "In progress"),
            BundleStatus::SupplementRequested => ("待补正", "Supplement requested"),
            BundleStatus::Completed => ("已办结", "Completed"),
            BundleStatus::PartlyDenied => ("部分不予", "Partly denied"),
            BundleStatus::Denied => ("不予", "Denied"),
            BundleStatus::Withdrawn => ("已撤回", "Withdrawn"),
        };
        lang.pick(zh, en).to_owned()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBundles {
    #[serde(default)]
    bundle: Vec<RawBundle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBundle {
    code: toml::Spanned<String>,
    name: String,
    name_en: String,
    description: String,
    matters: Vec<String>,
    #[serde(default)]
    provides: Vec<Provision>,
}

/// A member case of a bundle as the bundle's rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// The member's matter code.
    pub matter: String,
    /// The member's matter name (named in the reasons of the members waiting for it).
    pub name: String,
    /// Its case's status.
    pub status: CaseStatus,
    /// Its case's decision, once decided.
    pub decision: Option<Decision>,
    /// 前序事项: the members (matter codes) whose result it needs ([`prerequisites`]); empty for
    /// a member that started at once.
    pub waits_for: Vec<String>,
}

impl MemberState {
    /// 准予 (and still so once 办结).
    pub fn is_approved(&self) -> bool {
        matches!(self.status, CaseStatus::Approved | CaseStatus::Completed)
            && self.decision == Some(Decision::Approve)
    }

    /// Only submitted with its bundle, waiting for other members' results.
    pub fn is_waiting(&self) -> bool {
        self.status == CaseStatus::Submitted && !self.waits_for.is_empty()
    }

    /// Its status as the bundle's status counts it ([`member_status`]).
    pub fn outcome(&self) -> CaseStatus {
        member_status(self.status, self.decision)
    }

    /// The names of the members of `members` it still waits for (those not approved yet; a
    /// code not among them by its code) while it is only submitted; empty otherwise.
    pub fn still_waiting_for(&self, members: &[MemberState]) -> Vec<String> {
        if self.status != CaseStatus::Submitted {
            return Vec::new();
        }
        self.waits_for
            .iter()
            .filter_map(|code| match members.iter().find(|m| &m.matter == code) {
                Some(awaited) if awaited.is_approved() => None,
                Some(awaited) => Some(awaited.name.clone()),
                None => Some(code.clone()),
            })
            .collect()
    }
}

/// How a member that others may wait for ended without its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// 不予办理.
    Denied,
    /// 已撤回.
    Withdrawn,
}

/// What the window does to a waiting member after another member's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberEffect {
    /// 受理 and 分派 of the waiting member at `index` (every member it waits for is approved):
    /// the shell routes it and starts its clock now, publishing `events` in order.
    Accept {
        /// The member's index in the bundle.
        index: usize,
        /// `case.accepted`, `case.routed`.
        events: Vec<CaseEvent>,
    },
    /// 撤回 of the waiting member at `index` with `reason`.
    Withdraw {
        /// The member's index in the bundle.
        index: usize,
        /// 「前序事项「…」不予办理/已撤回，本事项无法办理」, or why it could not be accepted.
        reason: String,
        /// `case.withdrawn`.
        events: Vec<CaseEvent>,
    },
}

/// The reason a member waiting for `provider` is withdrawn with, when `provider` ended `how`.
pub fn cascade_reason(provider: &str, how: Ended) -> String {
    match how {
        Ended::Denied => format!("前序事项「{provider}」不予办理，本事项无法办理"),
        Ended::Withdrawn => format!("前序事项「{provider}」已撤回，本事项无法办理"),
    }
}

/// 一件事: member `index` was approved. Each waiting member whose awaited members are all
/// approved now is accepted and routed (in the bundle's order). Returns the members after the
/// step and what the window does.
pub fn member_approved(
    members: &[MemberState],
    index: usize,
) -> Result<(Vec<MemberState>, Vec<MemberEffect>), TransitionError> {
    let mut next = members.to_vec();
    let mut effects = Vec::new();
    let Some(approved) = members.get(index) else {
        return Ok((next, effects));
    };
    for (i, member) in members.iter().enumerate() {
        if !member.is_waiting() || !member.waits_for.contains(&approved.matter) {
            continue;
        }
        let ready = member
            .waits_for
            .iter()
            .all(|code| members.iter().any(|m| &m.matter == code && m.is_approved()));
        if ready {
            let mut status = member.status;
            let mut events = Vec::new();
            for command in [CaseCommand::Accept, CaseCommand::Route] {
                let (to, happened) = crate::case::transition(status, &command)?;
                status = to;
                events.extend(happened);
            }
            next[i].status = status;
            effects.push(MemberEffect::Accept { index: i, events });
        }
    }
    Ok((next, effects))
}

/// 一件事: member `index` ended without its result (`how`). The members waiting for it are
/// withdrawn with the reason 「前序事项「…」不予办理/已撤回，本事项无法办理」, and in turn those
/// waiting for them. Returns the members after the step and what the window does.
pub fn member_ended(
    members: &[MemberState],
    index: usize,
    how: Ended,
) -> Result<(Vec<MemberState>, Vec<MemberEffect>), TransitionError> {
    let mut next = members.to_vec();
    let mut effects = Vec::new();
    cascade(&mut next, index, how, &mut effects)?;
    Ok((next, effects))
}

/// 一件事: the waiting member `index` cannot be accepted (`reason`: the directory, agreements or
/// calendar changed since the submission): it is withdrawn with the reason, and so are the
/// members waiting for it.
pub fn member_refused(
    members: &[MemberState],
    index: usize,
    reason: &str,
) -> Result<(Vec<MemberState>, Vec<MemberEffect>), TransitionError> {
    let mut next = members.to_vec();
    let mut effects = Vec::new();
    if next.get(index).is_some_and(MemberState::is_waiting) {
        withdraw(&mut next, index, reason.to_owned(), &mut effects)?;
        cascade(&mut next, index, Ended::Withdrawn, &mut effects)?;
    }
    Ok((next, effects))
}

fn withdraw(
    members: &mut [MemberState],
    index: usize,
    reason: String,
    effects: &mut Vec<MemberEffect>,
) -> Result<(), TransitionError> {
    let (status, events) = crate::case::transition(
        members[index].status,
        &CaseCommand::Withdraw {
            reason: reason.clone(),
        },
    )?;
    members[index].status = status;
    effects.push(MemberEffect::Withdraw {
        index,
        reason,
        events,
    });
    Ok(())
}

fn cascade(
    members: &mut [MemberState],
    ended: usize,
    how: Ended,
    effects: &mut Vec<MemberEffect>,
) -> Result<(), TransitionError> {
    let mut queue = vec![(ended, how)];
    while let Some((ended, how)) = queue.pop() {
        let Some(provider) = members.get(ended).cloned() else {
            continue;
        };
        let reason = cascade_reason(&provider.name, how);
        for i in 0..members.len() {
            if members[i].is_waiting() && members[i].waits_for.contains(&provider.matter) {
                withdraw(members, i, reason.clone(), effects)?;
                queue.push((i, Ended::Withdrawn));
            }
        }
    }
    Ok(())
}

/// 一次性告知 of a bundle's materials: one material missing for the whole bundle, with the
/// members needing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleMissing {
    /// The material and why it does not count (as the first member needing it found).
    pub material: MissingMaterial,
    /// Names of the members needing it, in the bundle's order.
    pub needed_by: Vec<String>,
}

impl Localized for BundleMissing {
    fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => format!(
                "{}（需要该材料的事项：{}）",
                self.material.text(lang),
                self.needed_by.join("、")
            ),
            Lang::En => format!(
                "{} (needed for: {})",
                self.material.text(lang),
                self.needed_by.join(", ")
            ),
        }
    }
}

/// The bundle's missing materials from each member's check (`(member name, its missing
/// materials)` in the bundle's order): each material once, naming every member needing it. A
/// material a member provides is not missing: the member needing it waits for it.
pub fn missing_materials<'a>(
    bundle: &Bundle,
    members: impl IntoIterator<Item = (&'a str, Vec<MissingMaterial>)>,
) -> Vec<BundleMissing> {
    let mut out: Vec<BundleMissing> = Vec::new();
    for (name, missing) in members {
        for m in missing
            .into_iter()
            .filter(|m| bundle.provider_of(&m.code).is_none())
        {
            match out.iter_mut().find(|known| known.material.code == m.code) {
                Some(known) => known.needed_by.push(name.to_owned()),
                None => out.push(BundleMissing {
                    material: m,
                    needed_by: vec![name.to_owned()],
                }),
            }
        }
    }
    out
}

/// Whether the members are in a state the bundle's rules allow: a member still waiting waits
/// for no member that was denied or withdrawn (it would have been withdrawn with it), and a
/// member that started after waiting did so only once every member it waited for was approved.
pub fn is_consistent(members: &[MemberState]) -> bool {
    let find = |code: &str| members.iter().find(|m| m.matter == code);
    members.iter().all(|member| {
        if member.waits_for.is_empty() {
            return true;
        }
        let awaited = || member.waits_for.iter().filter_map(|c| find(c));
        if member.is_waiting() {
            awaited().all(|a| !matches!(a.outcome(), CaseStatus::Denied | CaseStatus::Withdrawn))
        } else if member.status == CaseStatus::Withdrawn {
            true
        } else {
            awaited().all(MemberState::is_approved)
        }
    })
}
