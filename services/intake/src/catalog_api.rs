//! CatalogService: the 五统一 catalog, the office directory, routing and the calendar. Readable
//! by any authenticated caller.

use chrono::{DateTime, Utc};
use tongban_domain::bundle::{
    Bundle, bundle_materials, common_delivery_methods, common_modes, prerequisites,
};
use tongban_domain::calendar::shanghai_date;
use tongban_domain::catalog::{Material, Matter};
use tongban_domain::directory::{Agreement, Office};
use tongban_domain::division::DivisionCode;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::notice::{
    MemberRoute, NoticeRoute, bundle_fee_fen, bundle_promised_limit_days, render_bundle_notice,
    render_matter_notice, route_bundle,
};
use tongban_domain::reference::ReferenceData;
use tongban_domain::routing::{JointRoute, RouteError, resolve_parts, resolve_route};
use tongban_proto::catalog::v1 as api;
use tongban_proto::catalog::v1::catalog_service_server::CatalogService;
use tongban_proto::common::v1 as pb;
use tongban_runtime::auth::{caller, caller_and_lang};
use tongban_runtime::convert::{
    datetime, delivery_to_pb, mode_to_pb, scope_from_pb, scope_to_pb, timestamp,
};
use tongban_runtime::status::FieldViolation;
use tonic::{Request, Response, Status};

use crate::State;
use crate::error::{IntakeError, Unknown};
use tongban_runtime::lang::request_lang;

/// The CatalogService handlers.
pub struct Catalog {
    state: State,
}

impl Catalog {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

fn office_pb(reference: &ReferenceData, office: &Office) -> api::Office {
    api::Office {
        id: office.id.clone(),
        name: office.name.clone(),
        division: office.division.as_str().to_owned(),
        departments: office.departments.clone(),
        is_window: office.is_window,
        division_name: reference.divisions.full_name(&office.division),
        endpoint: office.endpoint.clone(),
        province: office.division.province_code().as_str().to_owned(),
    }
}

/// Office `id` of the directory as the API shows it, if there is one.
fn office_by_id(reference: &ReferenceData, id: &str) -> Option<api::Office> {
    reference
        .directory
        .office(id)
        .map(|o| office_pb(reference, o))
}

fn matter_pb(reference: &ReferenceData, matter: &Matter) -> api::Matter {
    api::Matter {
        code: matter.code.clone(),
        name: matter.name.clone(),
        department: matter.department.clone(),
        department_name: reference
            .catalog
            .department(&matter.department)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        version: matter.version.clone(),
        valid_from: matter.valid_from.to_string(),
        scopes: matter
            .scopes
            .iter()
            .map(|s| scope_to_pb(*s).into())
            .collect(),
        modes: matter.modes.iter().map(|m| mode_to_pb(*m).into()).collect(),
        conditions: matter.conditions.clone(),
        materials: matter.materials.iter().map(material_pb).collect(),
        review_points: matter
            .review_points
            .iter()
            .map(|r| api::ReviewPoint {
                code: r.code.clone(),
                question: r.question.clone(),
                required: r.required,
            })
            .collect(),
        stages: matter
            .stages
            .iter()
            .map(|s| api::Stage {
                code: s.code.clone(),
                name: s.name.clone(),
                working_days: s.working_days,
            })
            .collect(),
        legal_limit_days: matter.legal_limit_days,
        promised_limit_days: matter.promised_limit_days,
        fee_fen: matter.fee_fen,
        delivery_methods: matter
            .delivery_methods
            .iter()
            .map(|d| delivery_to_pb(*d).into())
            .collect(),
        legal_basis: matter.legal_basis.clone(),
        parts: matter
            .parts
            .iter()
            .map(|p| api::JointPart {
                code: p.code.clone(),
                name: p.name.clone(),
                name_en: p.name_en.clone(),
                department: p.department.clone(),
                locality: p.locality.as_str().to_owned(),
                after: p.after.clone(),
                review_point_codes: p.review_points.clone(),
            })
            .collect(),
    }
}

fn material_pb(m: &Material) -> api::Material {
    api::Material {
        code: m.code.clone(),
        name: m.name.clone(),
        required: m.required,
        paper_original_required: m.paper_original_required,
        accepted_certificate_types: m.accepted_certificate_types.clone(),
        notes: m.notes.clone(),
    }
}

/// A bundle as the catalog shows it: the union of its members' materials (a material a member
/// provides names it in `provided_by`) and, for each member that waits for others, their codes.
fn bundle_pb(reference: &ReferenceData, bundle: &Bundle) -> api::BundleDefinition {
    let catalog = &reference.catalog;
    api::BundleDefinition {
        code: bundle.code.clone(),
        name: bundle.name.clone(),
        name_en: bundle.name_en.clone(),
        description: bundle.description.clone(),
        matter_codes: bundle.matters.clone(),
        materials: bundle_materials(catalog, bundle)
            .iter()
            .map(|m| api::BundleMaterial {
                material: Some(material_pb(&m.material)),
                matter_codes: m.matter_codes.clone(),
                provided_by: m.provided_by.clone().unwrap_or_default(),
            })
            .collect(),
        modes: common_modes(catalog, bundle)
            .into_iter()
            .map(|m| mode_to_pb(m).into())
            .collect(),
        delivery_methods: common_delivery_methods(catalog, bundle)
            .into_iter()
            .map(|d| delivery_to_pb(d).into())
            .collect(),
        prerequisites: bundle
            .matters
            .iter()
            .filter_map(|member| {
                let after = prerequisites(catalog, bundle, member);
                (!after.is_empty()).then(|| api::BundleOrder {
                    matter_code: member.clone(),
                    after,
                })
            })
            .collect(),
    }
}

fn agreement_pb(a: &Agreement) -> api::Agreement {
    api::Agreement {
        id: a.id.clone(),
        name: a.name.clone(),
        parties: a.parties.iter().map(|p| p.as_str().to_owned()).collect(),
        matters: a.matters.clone(),
        valid_from: a.valid_from.to_string(),
        valid_until: a.valid_until.to_string(),
        duties: a.duties.clone(),
    }
}

/// The window office `id`, or a violation of `window_office_id` added to `errors`.
fn check_window<'r>(
    reference: &'r ReferenceData,
    id: &str,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Option<&'r Office> {
    let window = reference.directory.office(id.trim());
    match window {
        None => errors.push(FieldViolation::new(
            "window_office_id",
            lang.pick("未知的机构", "unknown office"),
        )),
        Some(o) if !o.is_window => {
            errors.push(FieldViolation::new(
                "window_office_id",
                lang.pick("该机构不是通办窗口", "this office is not a 通办 window"),
            ));
        }
        Some(_) => {}
    }
    window.filter(|o| o.is_window)
}

/// `raw` as a current GB/T 2260 code, or a violation of `field` added to `errors`.
fn check_division(
    reference: &ReferenceData,
    field: &str,
    raw: &str,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) -> Option<DivisionCode> {
    reference
        .divisions
        .parse_current(raw.trim())
        .map_err(|e| errors.push(FieldViolation::new(field, e.text(lang))))
        .ok()
}

/// The checked inputs of a route or notice request.
struct RouteInputs<'r> {
    matter: &'r Matter,
    window: &'r Office,
    home: DivisionCode,
    /// 迁入地/转入地, when one was asked for and given.
    destination: Option<DivisionCode>,
}

/// Checks the routing inputs, naming every bad one at once. `destination_division` is checked
/// only when given (`Some`, for 多地联办) and not empty.
fn route_inputs<'r>(
    reference: &'r ReferenceData,
    matter_code: &str,
    window_office_id: &str,
    home_division: &str,
    destination_division: Option<&str>,
    lang: Lang,
) -> Result<RouteInputs<'r>, IntakeError> {
    let mut errors = Vec::new();
    let matter = reference.catalog.matter(matter_code.trim());
    if matter.is_none() {
        errors.push(FieldViolation::new(
            "matter_code",
            lang.pick("事项目录中没有该事项", "no such matter in the catalog"),
        ));
    }
    let window = check_window(reference, window_office_id, lang, &mut errors);
    let home = check_division(reference, "home_division", home_division, lang, &mut errors);
    let destination = destination_division
        .filter(|raw| !raw.trim().is_empty())
        .and_then(|raw| check_division(reference, "destination_division", raw, lang, &mut errors));
    match (matter, window, home) {
        (Some(matter), Some(window), Some(home)) if errors.is_empty() => Ok(RouteInputs {
            matter,
            window,
            home,
            destination,
        }),
        _ => Err(IntakeError::Invalid(errors)),
    }
}

/// The parts of a joint route as the API shows them: each in the state it would start in,
/// with no time yet (a route is not a case: nothing has happened to the parts).
fn parts_pb(matter: &Matter, joint: &JointRoute, now: DateTime<Utc>) -> Vec<pb::CasePart> {
    crate::parts::from_route(matter, joint, now)
        .iter()
        .map(|p| {
            let mut part = tongban_runtime::parts::to_pb(p);
            part.updated_at = None;
            part
        })
        .collect()
}

fn member_route_pb(reference: &ReferenceData, member: &MemberRoute<'_>) -> api::BundleMemberRoute {
    let matter = member.matter;
    let mut out = api::BundleMemberRoute {
        matter_code: matter.code.clone(),
        matter_name: matter.name.clone(),
        matter_name_en: matter.name_en.clone(),
        promised_limit_days: matter.promised_limit_days,
        fee_fen: matter.fee_fen,
        ..Default::default()
    };
    match &member.route {
        Ok(route) => {
            out.scope = scope_to_pb(route.scope).into();
            out.responsible_office = office_by_id(reference, &route.responsible_office_id);
            out.responsible_office_id
                .clone_from(&route.responsible_office_id);
            out.agreement_id = route.agreement_id.clone().unwrap_or_default();
        }
        Err(e) => {
            out.refusal = e.text(Lang::Zh);
            out.refusal_en = e.text(Lang::En);
        }
    }
    out
}

#[tonic::async_trait]
impl CatalogService for Catalog {
    async fn list_offices(
        &self,
        request: Request<api::ListOfficesRequest>,
    ) -> Result<Response<api::ListOfficesResponse>, Status> {
        let lang = request_lang(request.metadata());
        self.list_offices_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn list_matters(
        &self,
        request: Request<api::ListMattersRequest>,
    ) -> Result<Response<api::ListMattersResponse>, Status> {
        let lang = request_lang(request.metadata());
        self.list_matters_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn get_matter(
        &self,
        request: Request<api::GetMatterRequest>,
    ) -> Result<Response<api::Matter>, Status> {
        let lang = request_lang(request.metadata());
        self.get_matter_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn get_notice(
        &self,
        request: Request<api::GetNoticeRequest>,
    ) -> Result<Response<api::Notice>, Status> {
        let lang = request_lang(request.metadata());
        self.get_notice_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn resolve_route(
        &self,
        request: Request<api::ResolveRouteRequest>,
    ) -> Result<Response<api::ResolveRouteResponse>, Status> {
        let lang = request_lang(request.metadata());
        self.resolve_route_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn compute_due_date(
        &self,
        request: Request<api::ComputeDueDateRequest>,
    ) -> Result<Response<api::ComputeDueDateResponse>, Status> {
        let lang = request_lang(request.metadata());
        self.compute_due_date_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn list_agreements(
        &self,
        request: Request<api::ListAgreementsRequest>,
    ) -> Result<Response<api::ListAgreementsResponse>, Status> {
        let lang = request_lang(request.metadata());
        self.list_agreements_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn list_bundles(
        &self,
        request: Request<api::ListBundlesRequest>,
    ) -> Result<Response<api::ListBundlesResponse>, Status> {
        let lang = request_lang(request.metadata());
        self.list_bundles_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn get_bundle(
        &self,
        request: Request<api::GetBundleRequest>,
    ) -> Result<Response<api::BundleDefinition>, Status> {
        let lang = request_lang(request.metadata());
        self.get_bundle_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }

    async fn get_bundle_notice(
        &self,
        request: Request<api::GetBundleNoticeRequest>,
    ) -> Result<Response<api::BundleNotice>, Status> {
        let lang = request_lang(request.metadata());
        self.get_bundle_notice_rpc(request)
            .await
            .map_err(|e| e.status(lang))
    }
}

impl Catalog {
    async fn list_offices_rpc(
        &self,
        request: Request<api::ListOfficesRequest>,
    ) -> Result<Response<api::ListOfficesResponse>, IntakeError> {
        caller(&request)?;
        crate::limits::check(request.get_ref(), request_lang(request.metadata()))?;
        let req = request.into_inner();
        let reference = &*self.state.reference;
        let prefix = req.division_prefix.trim();
        let offices = reference
            .directory
            .offices_with_prefix(prefix)
            .into_iter()
            .filter(|o| !req.windows_only || o.is_window)
            .filter(|o| req.department.is_empty() || o.serves(&req.department))
            .map(|o| office_pb(reference, o))
            .collect();
        Ok(Response::new(api::ListOfficesResponse { offices }))
    }

    async fn list_matters_rpc(
        &self,
        request: Request<api::ListMattersRequest>,
    ) -> Result<Response<api::ListMattersResponse>, IntakeError> {
        caller(&request)?;
        crate::limits::check(request.get_ref(), request_lang(request.metadata()))?;
        let req = request.into_inner();
        let reference = &*self.state.reference;
        let scope = scope_from_pb(req.scope());
        let matters = reference
            .catalog
            .matters()
            .filter(|m| req.department.is_empty() || m.department == req.department)
            .filter(|m| scope.is_none_or(|s| m.allows_scope(s)))
            .map(|m| matter_pb(reference, m))
            .collect();
        Ok(Response::new(api::ListMattersResponse {
            matters,
            catalog_version: reference.catalog.version().to_owned(),
        }))
    }

    async fn get_matter_rpc(
        &self,
        request: Request<api::GetMatterRequest>,
    ) -> Result<Response<api::Matter>, IntakeError> {
        let (_, lang) = caller_and_lang(&request)?;
        crate::limits::check(request.get_ref(), lang)?;
        let reference = &*self.state.reference;
        let matter = reference
            .catalog
            .matter(request.get_ref().code.trim())
            .ok_or_else(|| IntakeError::NotFound(Unknown::Matter))?;
        Ok(Response::new(matter_pb(reference, matter)))
    }

    async fn get_notice_rpc(
        &self,
        request: Request<api::GetNoticeRequest>,
    ) -> Result<Response<api::Notice>, IntakeError> {
        let (_, lang) = caller_and_lang(&request)?;
        crate::limits::check(request.get_ref(), lang)?;
        let req = request.into_inner();
        let reference = &*self.state.reference;
        let joint = req.mode() == pb::Mode::Joint;
        let RouteInputs {
            matter,
            window,
            home,
            destination,
        } = route_inputs(
            reference,
            &req.matter_code,
            &req.window_office_id,
            &req.home_division,
            joint.then_some(req.destination_division.as_str()),
            lang,
        )?;
        let now = self.state.clock.now();
        let today = shanghai_date(now);
        let mut notice = api::Notice {
            matter: Some(matter_pb(reference, matter)),
            window_office: Some(office_pb(reference, window)),
            ..Default::default()
        };
        let render = |route: NoticeRoute<'_>| {
            (
                render_matter_notice(reference, matter, window, route, Lang::Zh),
                render_matter_notice(reference, matter, window, route, Lang::En),
            )
        };
        // A refusal is not an error here: the notice states it, and still lists everything.
        let (text, text_en) = if joint {
            // 多地联办: each part with its own office; the case's office issues the result.
            match resolve_parts(
                reference,
                &matter.code,
                &window.id,
                &home,
                destination.as_ref(),
                today,
            ) {
                Ok(route) => {
                    notice.responsible_office =
                        office_by_id(reference, &route.responsible_office_id);
                    notice.scope = scope_to_pb(route.scope).into();
                    notice.agreement_id = route.agreement_id.clone().unwrap_or_default();
                    notice.parts = parts_pb(matter, &route, now);
                    render(NoticeRoute::Joint(&route))
                }
                Err(e) => render(NoticeRoute::Refused(&e)),
            }
        } else {
            match resolve_route(reference, &matter.code, &window.id, &home, today) {
                Ok(route) => {
                    notice.responsible_office =
                        office_by_id(reference, &route.responsible_office_id);
                    notice.scope = scope_to_pb(route.scope).into();
                    notice.agreement_id = route.agreement_id.clone().unwrap_or_default();
                    render(NoticeRoute::Single(&route))
                }
                Err(e) => render(NoticeRoute::Refused(&e)),
            }
        };
        notice.text = text;
        notice.text_en = text_en;
        Ok(Response::new(notice))
    }

    async fn resolve_route_rpc(
        &self,
        request: Request<api::ResolveRouteRequest>,
    ) -> Result<Response<api::ResolveRouteResponse>, IntakeError> {
        let (_, lang) = caller_and_lang(&request)?;
        crate::limits::check(request.get_ref(), lang)?;
        let req = request.into_inner();
        let reference = &*self.state.reference;
        let joint = req.mode() == pb::Mode::Joint;
        let RouteInputs {
            matter,
            window,
            home,
            destination,
        } = route_inputs(
            reference,
            &req.matter_code,
            &req.window_office_id,
            &req.home_division,
            joint.then_some(req.destination_division.as_str()),
            lang,
        )?;
        let now = self.state.clock.now();
        let today = shanghai_date(now);
        if !joint {
            let route = resolve_route(reference, &matter.code, &window.id, &home, today)
                .map_err(IntakeError::Route)?;
            return Ok(Response::new(api::ResolveRouteResponse {
                scope: scope_to_pb(route.scope).into(),
                responsible_office: office_by_id(reference, &route.responsible_office_id),
                responsible_office_id: route.responsible_office_id,
                agreement_id: route.agreement_id.unwrap_or_default(),
                parts: Vec::new(),
            }));
        }
        // 多地联办: every part routed on its own; the case's scope is the widest, its
        // responsible office the first part's.
        let joint = resolve_parts(
            reference,
            &matter.code,
            &window.id,
            &home,
            destination.as_ref(),
            today,
        )
        .map_err(|e| match e {
            RouteError::MissingDestination { .. } => {
                IntakeError::Invalid(vec![FieldViolation::new(
                    "destination_division",
                    e.text(lang),
                )])
            }
            other => IntakeError::Route(other),
        })?;
        let parts = parts_pb(matter, &joint, now);
        Ok(Response::new(api::ResolveRouteResponse {
            scope: scope_to_pb(joint.scope).into(),
            responsible_office: office_by_id(reference, &joint.responsible_office_id),
            responsible_office_id: joint.responsible_office_id,
            agreement_id: joint.agreement_id.unwrap_or_default(),
            parts,
        }))
    }

    async fn compute_due_date_rpc(
        &self,
        request: Request<api::ComputeDueDateRequest>,
    ) -> Result<Response<api::ComputeDueDateResponse>, IntakeError> {
        let (_, lang) = caller_and_lang(&request)?;
        let req = request.into_inner();
        let mut errors = Vec::new();
        let start = datetime(req.start_time.as_ref());
        if start.is_none() {
            errors.push(FieldViolation::new(
                "start_time",
                lang.pick("必须提供有效的开始时间", "a valid start time is required"),
            ));
        }
        if req.working_days > 3650 {
            errors.push(FieldViolation::new(
                "working_days",
                lang.pick("不能超过 3650 个工作日", "at most 3650 working days"),
            ));
        }
        let Some(start) = start.filter(|_| errors.is_empty()) else {
            return Err(IntakeError::Invalid(errors));
        };
        let due = self
            .state
            .reference
            .calendar
            .due_after(start, req.working_days)
            .map_err(|error| IntakeError::Calendar {
                subject: "start_time",
                error,
            })?;
        Ok(Response::new(api::ComputeDueDateResponse {
            due_time: Some(timestamp(due)),
        }))
    }

    async fn list_agreements_rpc(
        &self,
        request: Request<api::ListAgreementsRequest>,
    ) -> Result<Response<api::ListAgreementsResponse>, IntakeError> {
        caller(&request)?;
        let agreements = self
            .state
            .reference
            .directory
            .agreements()
            .map(agreement_pb)
            .collect();
        Ok(Response::new(api::ListAgreementsResponse { agreements }))
    }

    async fn list_bundles_rpc(
        &self,
        request: Request<api::ListBundlesRequest>,
    ) -> Result<Response<api::ListBundlesResponse>, IntakeError> {
        caller(&request)?;
        let reference = &*self.state.reference;
        let bundles = reference
            .bundles
            .iter()
            .map(|b| bundle_pb(reference, b))
            .collect();
        Ok(Response::new(api::ListBundlesResponse {
            bundles,
            catalog_version: reference.catalog.version().to_owned(),
        }))
    }

    async fn get_bundle_rpc(
        &self,
        request: Request<api::GetBundleRequest>,
    ) -> Result<Response<api::BundleDefinition>, IntakeError> {
        let (_, lang) = caller_and_lang(&request)?;
        crate::limits::check(request.get_ref(), lang)?;
        let reference = &*self.state.reference;
        let bundle = reference
            .bundles
            .get(request.get_ref().code.trim())
            .ok_or_else(|| IntakeError::NotFound(Unknown::Bundle))?;
        Ok(Response::new(bundle_pb(reference, bundle)))
    }

    async fn get_bundle_notice_rpc(
        &self,
        request: Request<api::GetBundleNoticeRequest>,
    ) -> Result<Response<api::BundleNotice>, IntakeError> {
        let (_, lang) = caller_and_lang(&request)?;
        crate::limits::check(request.get_ref(), lang)?;
        let req = request.into_inner();
        let reference = &*self.state.reference;
        let mut errors = Vec::new();
        let code = req.bundle_code.trim();
        if code.is_empty() {
            errors.push(FieldViolation::new(
                "bundle_code",
                lang.pick("必须填写一件事编码", "a bundle code is required"),
            ));
        }
        let window = check_window(reference, &req.window_office_id, lang, &mut errors);
        let home = check_division(
            reference,
            "home_division",
            &req.home_division,
            lang,
            &mut errors,
        );
        let (window, home) = match (window, home) {
            (Some(window), Some(home)) if errors.is_empty() => (window, home),
            _ => return Err(IntakeError::Invalid(errors)),
        };
        let bundle = reference
            .bundles
            .get(code)
            .ok_or_else(|| IntakeError::NotFound(Unknown::Bundle))?;
        let today = shanghai_date(self.state.clock.now());
        let members = route_bundle(reference, bundle, &window.id, &home, today);
        Ok(Response::new(api::BundleNotice {
            bundle: Some(bundle_pb(reference, bundle)),
            window_office: Some(office_pb(reference, window)),
            members: members
                .iter()
                .map(|m| member_route_pb(reference, m))
                .collect(),
            text: render_bundle_notice(reference, bundle, window, &members, Lang::Zh),
            text_en: render_bundle_notice(reference, bundle, window, &members, Lang::En),
            total_fee_fen: bundle_fee_fen(&members),
            longest_promised_limit_days: bundle_promised_limit_days(reference, bundle, &members),
            catalog_version: reference.catalog.version().to_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The seed 出生一件事 as the catalog shows it: CSZM issued by the 出生医学证明 member, and
    /// the members listing it waiting for that member.
    #[test]
    fn a_bundle_names_provided_materials_and_the_member_order() {
        let deploy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        let reference = ReferenceData::load(&deploy).unwrap_or_else(|e| panic!("deploy/: {e}"));
        let bundle = reference.bundles.get("YJS-CS").expect("seed bundle YJS-CS");
        let b = bundle_pb(&reference, bundle);
        let cszm = b
            .materials
            .iter()
            .find(|m| m.material.as_ref().is_some_and(|x| x.code == "CSZM"))
            .expect("YJS-CS lists CSZM");
        assert_eq!(cszm.provided_by, "WJ-CSYXZM-QF");
        assert!(!cszm.material.as_ref().is_some_and(|m| m.required));
        let sfz = b
            .materials
            .iter()
            .find(|m| m.material.as_ref().is_some_and(|x| x.code == "SFZ"))
            .expect("YJS-CS lists SFZ");
        assert!(sfz.provided_by.is_empty(), "the applicant presents SFZ");
        let order: Vec<(&str, &[String])> = b
            .prerequisites
            .iter()
            .map(|o| (o.matter_code.as_str(), o.after.as_slice()))
            .collect();
        let provider = ["WJ-CSYXZM-QF".to_owned()];
        assert_eq!(
            order,
            [
                ("WJ-SY-DJ", &provider[..]),
                ("GA-HJ-CSDJ", &provider[..]),
                ("YB-CB-CXJM", &provider[..]),
            ]
        );
    }
}
