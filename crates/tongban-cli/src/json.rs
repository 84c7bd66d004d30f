//! `--json`: responses as JSON for scripts. Field names follow the proto (snake_case), enums are
//! their proto names (`SCOPE_CROSS_PROVINCE`), times RFC 3339 in Asia/Shanghai. Certificate
//! tokens are never printed (they name the holder); only whether one was presented.

use prost_types::Timestamp;
use serde_json::{Value, json};
use tongban_proto::catalog::v1::{
    BundleDefinition, BundleNotice, ComputeDueDateResponse, ListBundlesResponse,
    ListMattersResponse, Material, Matter, Notice, Office, ResolveRouteResponse,
};
use tongban_proto::common::v1::{
    BundleStatus, BundleSummary, CasePart, CaseStatus, ChecklistItem, Decision, Delivery,
    DeliveryMethod, MaskedApplicant, MaterialForm, Mode, PartState, PresentedMaterial, Scope,
    TimelineEntry,
};
use tongban_proto::hotline::v1::CaseStatusView;
use tongban_proto::intake::v1::{Bundle, Case, SubmitCaseResponse};
use tongban_proto::review::v1::{Assignment, AssignmentState};

use crate::output::rfc3339;

/// The proto name of an enum value (`"SCOPE_REGIONAL"`), or the number when this client does
/// not know it.
pub(crate) fn enum_name<E: TryFrom<i32>>(value: i32, name: fn(&E) -> &'static str) -> Value {
    E::try_from(value).map_or(Value::from(value), |e| Value::from(name(&e)))
}

/// A moment as RFC 3339 in Asia/Shanghai; `null` when unset.
pub(crate) fn ts(t: Option<&Timestamp>) -> Value {
    rfc3339(t).map_or(Value::Null, Value::from)
}

/// An office of the directory.
pub fn office(o: &Office) -> Value {
    json!({
        "id": o.id, "name": o.name, "division": o.division, "division_name": o.division_name,
        "province": o.province, "departments": o.departments, "is_window": o.is_window,
        "endpoint": o.endpoint,
    })
}

/// A matter with all its 五统一 fields.
pub fn matter(m: &Matter) -> Value {
    json!({
        "code": m.code, "name": m.name, "department": m.department,
        "department_name": m.department_name, "version": m.version, "valid_from": m.valid_from,
        "scopes": m.scopes.iter().map(|s| enum_name(*s, Scope::as_str_name)).collect::<Vec<_>>(),
        "modes": m.modes.iter().map(|s| enum_name(*s, Mode::as_str_name)).collect::<Vec<_>>(),
        "conditions": m.conditions,
        "materials": m.materials.iter().map(material_definition).collect::<Vec<_>>(),
        "review_points": m.review_points.iter().map(|p| json!({
            "code": p.code, "question": p.question, "required": p.required,
        })).collect::<Vec<_>>(),
        "stages": m.stages.iter().map(|s| json!({
            "code": s.code, "name": s.name, "working_days": s.working_days,
        })).collect::<Vec<_>>(),
        "legal_limit_days": m.legal_limit_days, "promised_limit_days": m.promised_limit_days,
        "fee_fen": m.fee_fen,
        "delivery_methods": m.delivery_methods.iter().map(|d| enum_name(*d, DeliveryMethod::as_str_name)).collect::<Vec<_>>(),
        "legal_basis": m.legal_basis,
        "parts": m.parts.iter().map(|p| json!({
            "code": p.code, "name": p.name, "name_en": p.name_en, "department": p.department,
            "locality": p.locality, "after": p.after, "review_point_codes": p.review_point_codes,
        })).collect::<Vec<_>>(),
    })
}

fn material_definition(x: &Material) -> Value {
    json!({
        "code": x.code, "name": x.name, "required": x.required,
        "paper_original_required": x.paper_original_required,
        "accepted_certificate_types": x.accepted_certificate_types, "notes": x.notes,
    })
}

/// 一件事 of the catalog: members, common modes and delivery methods, the union of materials
/// (`provided_by`: the member whose result a material is), the members that wait for others.
pub fn bundle_definition(b: &BundleDefinition) -> Value {
    json!({
        "code": b.code, "name": b.name, "name_en": b.name_en, "description": b.description,
        "matter_codes": b.matter_codes,
        "materials": b.materials.iter().map(|x| json!({
            "material": x.material.as_ref().map(material_definition),
            "matter_codes": x.matter_codes, "provided_by": x.provided_by,
        })).collect::<Vec<_>>(),
        "modes": b.modes.iter().map(|s| enum_name(*s, Mode::as_str_name)).collect::<Vec<_>>(),
        "delivery_methods": b.delivery_methods.iter().map(|d| enum_name(*d, DeliveryMethod::as_str_name)).collect::<Vec<_>>(),
        "prerequisites": b.prerequisites.iter().map(|o| json!({
            "matter_code": o.matter_code, "after": o.after,
        })).collect::<Vec<_>>(),
    })
}

/// Every 一件事 of the catalog.
pub fn bundles(r: &ListBundlesResponse) -> Value {
    json!({
        "catalog_version": r.catalog_version,
        "bundles": r.bundles.iter().map(bundle_definition).collect::<Vec<_>>(),
    })
}

/// One 多地联办 part of a case.
pub fn part(p: &CasePart) -> Value {
    json!({
        "part_code": p.part_code, "name": p.name, "name_en": p.name_en,
        "department": p.department, "office_id": p.office_id, "scope": enum_name(p.scope, Scope::as_str_name),
        "agreement_id": p.agreement_id, "after": p.after, "state": enum_name(p.state, PartState::as_str_name),
        "decision": enum_name(p.decision, Decision::as_str_name), "reason": p.reason,
        "updated_at": ts(p.updated_at.as_ref()), "locality": p.locality, "division": p.division,
    })
}

fn parts(list: &[CasePart]) -> Value {
    list.iter().map(part).collect()
}

/// The 一件事 a case belongs to, as shown beside the case.
pub fn bundle_summary(b: Option<&BundleSummary>) -> Value {
    b.map_or(Value::Null, |b| {
        json!({
            "bundle_id": b.bundle_id, "bundle_number": b.bundle_number, "bundle_code": b.bundle_code,
            "name": b.name, "status": enum_name(b.status, BundleStatus::as_str_name),
            "members": b.members.iter().map(|m| json!({
                "case_id": m.case_id, "case_number": m.case_number, "matter_code": m.matter_code,
                "matter_name": m.matter_name, "status": enum_name(m.status, CaseStatus::as_str_name),
                "responsible_office_id": m.responsible_office_id, "waiting_for": m.waiting_for,
            })).collect::<Vec<_>>(),
        })
    })
}

/// A 一件事 with its member cases, as the window sees it.
pub fn bundle(b: &Bundle) -> Value {
    json!({
        "bundle_id": b.bundle_id, "bundle_number": b.bundle_number, "bundle_code": b.bundle_code,
        "bundle_name": b.bundle_name, "status": enum_name(b.status, BundleStatus::as_str_name),
        "window_office_id": b.window_office_id, "submitted_at": ts(b.submitted_at.as_ref()),
        "cases": b.cases.iter().map(case).collect::<Vec<_>>(),
    })
}

/// The answer to a 一件事 submission, with the idempotency key used.
pub fn bundle_submitted(b: &Bundle, idempotency_key: &str) -> Value {
    let mut v = bundle(b);
    v["idempotency_key"] = Value::from(idempotency_key);
    v
}

/// The list of matters.
pub fn matters(r: &ListMattersResponse) -> Value {
    json!({
        "catalog_version": r.catalog_version,
        "matters": r.matters.iter().map(matter).collect::<Vec<_>>(),
    })
}

/// 一次性告知清单.
pub fn notice(n: &Notice) -> Value {
    json!({
        "matter": n.matter.as_ref().map(matter),
        "window_office": n.window_office.as_ref().map(office),
        "responsible_office": n.responsible_office.as_ref().map(office),
        "scope": enum_name(n.scope, Scope::as_str_name), "agreement_id": n.agreement_id,
        "parts": parts(&n.parts), "text": n.text, "text_en": n.text_en,
    })
}

/// 一次性告知清单 of a 一件事: the bundle, the window, where each member goes.
pub fn bundle_notice(n: &BundleNotice) -> Value {
    json!({
        "bundle": n.bundle.as_ref().map(bundle_definition),
        "window_office": n.window_office.as_ref().map(office),
        "members": n.members.iter().map(|m| json!({
            "matter_code": m.matter_code, "matter_name": m.matter_name,
            "matter_name_en": m.matter_name_en, "scope": enum_name(m.scope, Scope::as_str_name),
            "responsible_office_id": m.responsible_office_id,
            "responsible_office": m.responsible_office.as_ref().map(office),
            "agreement_id": m.agreement_id, "refusal": m.refusal, "refusal_en": m.refusal_en,
            "promised_limit_days": m.promised_limit_days, "fee_fen": m.fee_fen,
        })).collect::<Vec<_>>(),
        "total_fee_fen": n.total_fee_fen,
        "longest_promised_limit_days": n.longest_promised_limit_days,
        "catalog_version": n.catalog_version, "text": n.text, "text_en": n.text_en,
    })
}

/// A resolved route.
pub fn route(r: &ResolveRouteResponse) -> Value {
    json!({
        "scope": enum_name(r.scope, Scope::as_str_name), "responsible_office_id": r.responsible_office_id,
        "agreement_id": r.agreement_id, "responsible_office": r.responsible_office.as_ref().map(office),
        "parts": parts(&r.parts),
    })
}

/// A computed due moment.
pub fn due(r: &ComputeDueDateResponse) -> Value {
    json!({ "due_time": ts(r.due_time.as_ref()) })
}

/// The answer to a submission, with the idempotency key used.
pub fn submitted(r: &SubmitCaseResponse, idempotency_key: &str) -> Value {
    json!({
        "case_id": r.case_id, "case_number": r.case_number,
        "status": enum_name(r.status, CaseStatus::as_str_name), "scope": enum_name(r.scope, Scope::as_str_name),
        "responsible_office_id": r.responsible_office_id, "agreement_id": r.agreement_id,
        "accepted_at": ts(r.accepted_at.as_ref()), "due_at": ts(r.due_at.as_ref()),
        "parts": parts(&r.parts), "idempotency_key": idempotency_key,
    })
}

fn applicant(a: Option<&MaskedApplicant>) -> Value {
    a.map_or(Value::Null, |a| {
        json!({ "name": a.name, "id_number_masked": a.id_number_masked, "phone_masked": a.phone_masked })
    })
}

fn material(m: &PresentedMaterial) -> Value {
    json!({
        "material_code": m.material_code, "form": enum_name(m.form, MaterialForm::as_str_name),
        // The services keep the verified certificate's identifier, never its token.
        "certificate_presented": !m.certificate_identifier.is_empty(),
        "certificate_identifier": m.certificate_identifier,
        "sha256": m.sha256, "pages": m.pages,
    })
}

fn delivery(d: Option<&Delivery>) -> Value {
    d.map_or(
        Value::Null,
        |d| json!({ "method": enum_name(d.method, DeliveryMethod::as_str_name), "address": d.address }),
    )
}

fn timeline(entries: &[TimelineEntry]) -> Value {
    entries
        .iter()
        .map(|e| {
            json!({
                "at": ts(e.at.as_ref()), "status": enum_name(e.status, CaseStatus::as_str_name),
                "description": e.description, "description_en": e.description_en, "office_id": e.office_id,
            })
        })
        .collect()
}

fn checklist(items: &[ChecklistItem]) -> Value {
    items
        .iter()
        .map(|c| json!({ "review_point_code": c.review_point_code, "passed": c.passed, "note": c.note }))
        .collect()
}

/// A case as the window sees it.
pub fn case(c: &Case) -> Value {
    json!({
        "case_id": c.case_id, "case_number": c.case_number, "matter_code": c.matter_code,
        "matter_name": c.matter_name, "mode": enum_name(c.mode, Mode::as_str_name), "scope": enum_name(c.scope, Scope::as_str_name),
        "status": enum_name(c.status, CaseStatus::as_str_name), "window_office_id": c.window_office_id,
        "responsible_office_id": c.responsible_office_id, "agreement_id": c.agreement_id,
        "applicant": applicant(c.applicant.as_ref()), "home_division": c.home_division,
        "materials": c.materials.iter().map(material).collect::<Vec<_>>(),
        "delivery": delivery(c.delivery.as_ref()),
        "accepted_at": ts(c.accepted_at.as_ref()), "due_at": ts(c.due_at.as_ref()),
        "remaining_working_days": c.remaining_working_days,
        "decision": enum_name(c.decision, Decision::as_str_name), "decision_reason": c.decision_reason,
        "supplement_items": c.supplement_items, "supplement_reason": c.supplement_reason,
        "timeline": timeline(&c.timeline), "traceparent": c.traceparent,
        // The token holds the holder's ID number: only `--token-out` writes it.
        "result_certificate_identifier": c.result_certificate_identifier,
        "parts": parts(&c.parts), "destination_division": c.destination_division,
        "bundle": bundle_summary(c.bundle.as_ref()),
    })
}

/// An assignment as the responsible office sees it.
pub fn assignment(a: &Assignment) -> Value {
    json!({
        "case_id": a.case_id, "case_number": a.case_number, "office_id": a.office_id,
        "matter_code": a.matter_code, "matter_name": a.matter_name,
        "scope": enum_name(a.scope, Scope::as_str_name), "mode": enum_name(a.mode, Mode::as_str_name),
        "state": enum_name(a.state, AssignmentState::as_str_name), "case_status": enum_name(a.case_status, CaseStatus::as_str_name),
        "window_office_id": a.window_office_id, "applicant": applicant(a.applicant.as_ref()),
        "home_division": a.home_division,
        "materials": a.materials.iter().map(material).collect::<Vec<_>>(),
        "routed_at": ts(a.routed_at.as_ref()), "due_at": ts(a.due_at.as_ref()),
        "claimed_by": a.claimed_by, "decision": enum_name(a.decision, Decision::as_str_name),
        "decision_reason": a.decision_reason, "checklist": checklist(&a.checklist),
        "supplement_items": a.supplement_items, "supplement_reason": a.supplement_reason,
        "decided_at": ts(a.decided_at.as_ref()),
        "part_code": a.part_code, "part_name": a.part_name, "waiting_for": a.waiting_for,
        "review_point_codes": a.review_point_codes, "bundle": bundle_summary(a.bundle.as_ref()),
    })
}

/// The hotline's masked status view.
pub fn status_view(v: &CaseStatusView) -> Value {
    json!({
        "case_number": v.case_number, "matter_code": v.matter_code, "matter_name": v.matter_name,
        "scope": enum_name(v.scope, Scope::as_str_name), "mode": enum_name(v.mode, Mode::as_str_name),
        "window_office_id": v.window_office_id, "window_office_name": v.window_office_name,
        "responsible_office_id": v.responsible_office_id, "responsible_office_name": v.responsible_office_name,
        "status": enum_name(v.status, CaseStatus::as_str_name), "stage": v.stage, "stage_en": v.stage_en,
        "accepted_at": ts(v.accepted_at.as_ref()), "due_at": ts(v.due_at.as_ref()),
        "remaining_working_days": v.remaining_working_days, "overdue": v.overdue,
        "decision": enum_name(v.decision, Decision::as_str_name), "decision_reason": v.decision_reason,
        "timeline": timeline(&v.timeline), "applicant_name_masked": v.applicant_name_masked,
        "result_certificate_identifier": v.result_certificate_identifier,
        "waybills": v.waybills.iter().map(|w| json!({
            "tracking_number": w.tracking_number, "purpose": w.purpose, "status": w.status,
            "updated_at": ts(w.updated_at.as_ref()),
        })).collect::<Vec<_>>(),
        "parts": parts(&v.parts), "bundle": bundle_summary(v.bundle.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_proto_names_and_tokens_are_hidden() {
        let c = Case {
            case_number: "140922-20261128-00001-7".into(),
            scope: Scope::CrossProvince as i32,
            status: 99,
            materials: vec![PresentedMaterial {
                material_code: "hukou".into(),
                form: MaterialForm::Certificate as i32,
                certificate_token: "secret-token".into(),
                certificate_identifier: "1.2.156.3005.2.11100000000013338W.0001.001.Q".into(),
                ..Default::default()
            }],
            due_at: Some(Timestamp {
                seconds: 1_791_475_200,
                nanos: 0,
            }),
            ..Default::default()
        };
        let v = case(&c);
        assert_eq!(v["scope"], "SCOPE_CROSS_PROVINCE");
        assert_eq!(v["status"], 99);
        assert_eq!(v["materials"][0]["form"], "MATERIAL_FORM_CERTIFICATE");
        assert_eq!(v["materials"][0]["certificate_presented"], true);
        assert!(!v.to_string().contains("secret-token"));
        assert_eq!(v["due_at"], "2026-10-09T00:00:00+08:00");
        assert_eq!(v["accepted_at"], Value::Null);
        assert_eq!(v["parts"], json!([]));
        assert_eq!(v["bundle"], Value::Null);
    }

    #[test]
    fn parts_and_bundles_carry_proto_enum_names() {
        use tongban_proto::common::v1::BundleMember;
        let c = Case {
            parts: vec![CasePart {
                part_code: "QC".into(),
                state: PartState::Waiting as i32,
                scope: Scope::CrossProvince as i32,
                after: vec!["QR".into()],
                ..Default::default()
            }],
            bundle: Some(BundleSummary {
                bundle_number: "140922-20261102-00007-3".into(),
                status: BundleStatus::PartlyDenied as i32,
                members: vec![BundleMember {
                    matter_code: "RS-SBK-SL".into(),
                    status: CaseStatus::Denied as i32,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = case(&c);
        assert_eq!(v["parts"][0]["state"], "PART_STATE_WAITING");
        assert_eq!(v["parts"][0]["scope"], "SCOPE_CROSS_PROVINCE");
        assert_eq!(v["parts"][0]["after"], json!(["QR"]));
        assert_eq!(v["parts"][0]["decision"], "DECISION_UNSPECIFIED");
        assert_eq!(v["bundle"]["status"], "BUNDLE_STATUS_PARTLY_DENIED");
        assert_eq!(v["bundle"]["members"][0]["status"], "CASE_STATUS_DENIED");
        let b = Bundle {
            bundle_number: "140922-20261102-00007-3".into(),
            status: BundleStatus::InProgress as i32,
            cases: vec![Case::default()],
            ..Default::default()
        };
        let v = bundle_submitted(&b, "k-1");
        assert_eq!(v["status"], "BUNDLE_STATUS_IN_PROGRESS");
        assert_eq!(v["idempotency_key"], "k-1");
        assert_eq!(v["cases"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn bundles_carry_provided_materials_member_order_and_waiting_members() {
        use tongban_proto::common::v1::BundleMember;
        let b = crate::views::fixtures::ordered_birth_bundle();
        let v = bundle_definition(&b);
        assert_eq!(v["materials"][0]["provided_by"], "");
        assert_eq!(v["materials"][1]["provided_by"], "WJ-CSYXZM-QF");
        assert_eq!(v["materials"][1]["material"]["required"], false);
        assert_eq!(
            v["prerequisites"],
            json!([{ "matter_code": "WJ-SY-DJ", "after": ["WJ-CSYXZM-QF"] }])
        );
        let listed = bundles(&ListBundlesResponse {
            bundles: vec![b],
            catalog_version: "v".into(),
        });
        assert_eq!(
            listed["bundles"][0]["prerequisites"][0]["matter_code"],
            "WJ-SY-DJ"
        );

        let c = Case {
            bundle: Some(BundleSummary {
                members: vec![
                    BundleMember {
                        matter_code: "WJ-CSYXZM-QF".into(),
                        status: CaseStatus::Routed as i32,
                        ..Default::default()
                    },
                    BundleMember {
                        matter_code: "WJ-SY-DJ".into(),
                        status: CaseStatus::Submitted as i32,
                        waiting_for: vec!["出生医学证明首次签发".into()],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = case(&c);
        assert_eq!(v["bundle"]["members"][0]["waiting_for"], json!([]));
        assert_eq!(
            v["bundle"]["members"][1]["waiting_for"],
            json!(["出生医学证明首次签发"])
        );
        assert_eq!(v["bundle"]["members"][1]["status"], "CASE_STATUS_SUBMITTED");
    }

    #[test]
    fn notices_carry_parts_and_member_routes() {
        use tongban_proto::catalog::v1::BundleMemberRoute;
        let n = Notice {
            scope: Scope::CrossProvince as i32,
            parts: vec![CasePart {
                part_code: "QR".into(),
                office_id: "140922-gongan".into(),
                state: PartState::Routed as i32,
                ..Default::default()
            }],
            text: "一次性告知清单".into(),
            ..Default::default()
        };
        let v = notice(&n);
        assert_eq!(v["parts"][0]["office_id"], "140922-gongan");
        assert_eq!(v["parts"][0]["state"], "PART_STATE_ROUTED");
        assert_eq!(v["text"], "一次性告知清单");

        let b = BundleNotice {
            members: vec![
                BundleMemberRoute {
                    matter_code: "WJ-SY-DJ".into(),
                    scope: Scope::CrossProvince as i32,
                    responsible_office_id: "640100-weijian".into(),
                    promised_limit_days: 3,
                    ..Default::default()
                },
                BundleMemberRoute {
                    matter_code: "RS-SBK-SL".into(),
                    refusal: "不能通办".into(),
                    fee_fen: 500,
                    ..Default::default()
                },
            ],
            total_fee_fen: 500,
            longest_promised_limit_days: 10,
            ..Default::default()
        };
        let v = bundle_notice(&b);
        assert_eq!(v["bundle"], Value::Null);
        assert_eq!(v["members"][0]["scope"], "SCOPE_CROSS_PROVINCE");
        assert_eq!(v["members"][0]["responsible_office_id"], "640100-weijian");
        assert_eq!(v["members"][0]["promised_limit_days"], 3);
        assert_eq!(v["members"][1]["scope"], "SCOPE_UNSPECIFIED");
        assert_eq!(v["members"][1]["refusal"], "不能通办");
        assert_eq!(v["total_fee_fen"], 500);
        assert_eq!(v["longest_promised_limit_days"], 10);
    }
}
