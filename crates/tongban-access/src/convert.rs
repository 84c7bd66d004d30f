//! Mappings between the domain's types and the protobuf enums of the public API, in one place.

use tongban_domain::bundle::BundleStatus;
use tongban_domain::case::{CaseStatus, Decision};
use tongban_domain::catalog::{DeliveryMethod, Mode, Scope};
use tongban_domain::joint::PartState;
use tongban_domain::logistics::WaybillStatus;
use tongban_domain::materials::Form;
use tongban_proto::common::v1 as pb;
use tongban_proto::logistics::v1 as logistics_pb;

/// Proto scope of a domain scope.
#[must_use]
pub fn scope_to_pb(scope: Scope) -> pb::Scope {
    match scope {
        Scope::Local => pb::Scope::Local,
        Scope::ProvinceWide => pb::Scope::ProvinceWide,
        Scope::CrossProvince => pb::Scope::CrossProvince,
        Scope::Regional => pb::Scope::Regional,
    }
}

/// Domain scope of a proto scope (`None` when unspecified).
#[must_use]
pub fn scope_from_pb(scope: pb::Scope) -> Option<Scope> {
    match scope {
        pb::Scope::Unspecified => None,
        pb::Scope::Local => Some(Scope::Local),
        pb::Scope::ProvinceWide => Some(Scope::ProvinceWide),
        pb::Scope::CrossProvince => Some(Scope::CrossProvince),
        pb::Scope::Regional => Some(Scope::Regional),
    }
}

/// Proto mode of a domain mode.
#[must_use]
pub fn mode_to_pb(mode: Mode) -> pb::Mode {
    match mode {
        Mode::Online => pb::Mode::Online,
        Mode::Proxy => pb::Mode::Proxy,
        Mode::Joint => pb::Mode::Joint,
    }
}

/// Domain mode of a proto mode (`None` when unspecified).
#[must_use]
pub fn mode_from_pb(mode: pb::Mode) -> Option<Mode> {
    match mode {
        pb::Mode::Unspecified => None,
        pb::Mode::Online => Some(Mode::Online),
        pb::Mode::Proxy => Some(Mode::Proxy),
        pb::Mode::Joint => Some(Mode::Joint),
    }
}

/// Proto status of a domain status.
#[must_use]
pub fn status_to_pb(status: CaseStatus) -> pb::CaseStatus {
    match status {
        CaseStatus::Submitted => pb::CaseStatus::Submitted,
        CaseStatus::Accepted => pb::CaseStatus::Accepted,
        CaseStatus::Routed => pb::CaseStatus::Routed,
        CaseStatus::Claimed => pb::CaseStatus::Claimed,
        CaseStatus::SupplementRequested => pb::CaseStatus::SupplementRequested,
        CaseStatus::Supplemented => pb::CaseStatus::Supplemented,
        CaseStatus::Approved => pb::CaseStatus::Approved,
        CaseStatus::Denied => pb::CaseStatus::Denied,
        CaseStatus::Completed => pb::CaseStatus::Completed,
        CaseStatus::Withdrawn => pb::CaseStatus::Withdrawn,
    }
}

/// Domain status of a proto status (`None` when unspecified).
#[must_use]
pub fn status_from_pb(status: pb::CaseStatus) -> Option<CaseStatus> {
    match status {
        pb::CaseStatus::Unspecified => None,
        pb::CaseStatus::Submitted => Some(CaseStatus::Submitted),
        pb::CaseStatus::Accepted => Some(CaseStatus::Accepted),
        pb::CaseStatus::Routed => Some(CaseStatus::Routed),
        pb::CaseStatus::Claimed => Some(CaseStatus::Claimed),
        pb::CaseStatus::SupplementRequested => Some(CaseStatus::SupplementRequested),
        pb::CaseStatus::Supplemented => Some(CaseStatus::Supplemented),
        pb::CaseStatus::Approved => Some(CaseStatus::Approved),
        pb::CaseStatus::Denied => Some(CaseStatus::Denied),
        pb::CaseStatus::Completed => Some(CaseStatus::Completed),
        pb::CaseStatus::Withdrawn => Some(CaseStatus::Withdrawn),
    }
}

/// Proto part state of a domain one (多地联办).
#[must_use]
pub fn part_state_to_pb(state: PartState) -> pb::PartState {
    match state {
        PartState::Waiting => pb::PartState::Waiting,
        PartState::Routed => pb::PartState::Routed,
        PartState::Claimed => pb::PartState::Claimed,
        PartState::SupplementRequested => pb::PartState::SupplementRequested,
        PartState::Supplemented => pb::PartState::Supplemented,
        PartState::Approved => pb::PartState::Approved,
        PartState::Denied => pb::PartState::Denied,
        PartState::Cancelled => pb::PartState::Cancelled,
        PartState::Withdrawn => pb::PartState::Withdrawn,
    }
}

/// Domain part state of a proto one (`None` when unspecified).
#[must_use]
pub fn part_state_from_pb(state: pb::PartState) -> Option<PartState> {
    match state {
        pb::PartState::Unspecified => None,
        pb::PartState::Waiting => Some(PartState::Waiting),
        pb::PartState::Routed => Some(PartState::Routed),
        pb::PartState::Claimed => Some(PartState::Claimed),
        pb::PartState::SupplementRequested => Some(PartState::SupplementRequested),
        pb::PartState::Supplemented => Some(PartState::Supplemented),
        pb::PartState::Approved => Some(PartState::Approved),
        pb::PartState::Denied => Some(PartState::Denied),
        pb::PartState::Cancelled => Some(PartState::Cancelled),
        pb::PartState::Withdrawn => Some(PartState::Withdrawn),
    }
}

/// Proto bundle status of a domain one (一件事).
#[must_use]
pub fn bundle_status_to_pb(status: BundleStatus) -> pb::BundleStatus {
    match status {
        BundleStatus::InProgress => pb::BundleStatus::InProgress,
        BundleStatus::SupplementRequested => pb::BundleStatus::SupplementRequested,
        BundleStatus::Completed => pb::BundleStatus::Completed,
        BundleStatus::PartlyDenied => pb::BundleStatus::PartlyDenied,
        BundleStatus::Denied => pb::BundleStatus::Denied,
        BundleStatus::Withdrawn => pb::BundleStatus::Withdrawn,
    }
}

/// Domain bundle status of a proto one (`None` when unspecified).
#[must_use]
pub fn bundle_status_from_pb(status: pb::BundleStatus) -> Option<BundleStatus> {
    match status {
        pb::BundleStatus::Unspecified => None,
        pb::BundleStatus::InProgress => Some(BundleStatus::InProgress),
        pb::BundleStatus::SupplementRequested => Some(BundleStatus::SupplementRequested),
        pb::BundleStatus::Completed => Some(BundleStatus::Completed),
        pb::BundleStatus::PartlyDenied => Some(BundleStatus::PartlyDenied),
        pb::BundleStatus::Denied => Some(BundleStatus::Denied),
        pb::BundleStatus::Withdrawn => Some(BundleStatus::Withdrawn),
    }
}

/// Proto decision of a domain decision.
#[must_use]
pub fn decision_to_pb(decision: Decision) -> pb::Decision {
    match decision {
        Decision::Approve => pb::Decision::Approve,
        Decision::Deny => pb::Decision::Deny,
    }
}

/// Domain decision of a proto decision (`None` when unspecified).
#[must_use]
pub fn decision_from_pb(decision: pb::Decision) -> Option<Decision> {
    match decision {
        pb::Decision::Unspecified => None,
        pb::Decision::Approve => Some(Decision::Approve),
        pb::Decision::Deny => Some(Decision::Deny),
    }
}

/// Proto delivery method of a domain one.
#[must_use]
pub fn delivery_to_pb(method: DeliveryMethod) -> pb::DeliveryMethod {
    match method {
        DeliveryMethod::WindowPickup => pb::DeliveryMethod::WindowPickup,
        DeliveryMethod::Mail => pb::DeliveryMethod::Mail,
        DeliveryMethod::ECertificate => pb::DeliveryMethod::ECertificate,
    }
}

/// Domain delivery method of a proto one (`None` when unspecified).
#[must_use]
pub fn delivery_from_pb(method: pb::DeliveryMethod) -> Option<DeliveryMethod> {
    match method {
        pb::DeliveryMethod::Unspecified => None,
        pb::DeliveryMethod::WindowPickup => Some(DeliveryMethod::WindowPickup),
        pb::DeliveryMethod::Mail => Some(DeliveryMethod::Mail),
        pb::DeliveryMethod::ECertificate => Some(DeliveryMethod::ECertificate),
    }
}

/// Domain material form of a proto one (`None` when unspecified).
#[must_use]
pub fn form_from_pb(form: pb::MaterialForm) -> Option<Form> {
    match form {
        pb::MaterialForm::Unspecified => None,
        pb::MaterialForm::Electronic => Some(Form::Electronic),
        pb::MaterialForm::Paper => Some(Form::Paper),
        pb::MaterialForm::Certificate => Some(Form::Certificate),
    }
}

/// Domain waybill status of a proto one (运单状态; `None` when unspecified).
#[must_use]
pub fn waybill_status_from_pb(status: logistics_pb::WaybillStatus) -> Option<WaybillStatus> {
    match status {
        logistics_pb::WaybillStatus::Unspecified => None,
        logistics_pb::WaybillStatus::Created => Some(WaybillStatus::Created),
        logistics_pb::WaybillStatus::PickedUp => Some(WaybillStatus::PickedUp),
        logistics_pb::WaybillStatus::InTransit => Some(WaybillStatus::InTransit),
        logistics_pb::WaybillStatus::OutForDelivery => Some(WaybillStatus::OutForDelivery),
        logistics_pb::WaybillStatus::Delivered => Some(WaybillStatus::Delivered),
        logistics_pb::WaybillStatus::Exception => Some(WaybillStatus::Exception),
        logistics_pb::WaybillStatus::Returned => Some(WaybillStatus::Returned),
    }
}

/// Proto timestamp of a UTC time.
#[must_use]
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// UTC time of a proto timestamp (`None` when absent or out of range).
#[must_use]
pub fn datetime(ts: Option<&prost_types::Timestamp>) -> Option<chrono::DateTime<chrono::Utc>> {
    let ts = ts?;
    chrono::DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

/// Presented materials as stored in a JSONB column.
#[must_use]
pub fn materials_to_json(materials: &[pb::PresentedMaterial]) -> serde_json::Value {
    serde_json::Value::Array(
        materials
            .iter()
            .map(|m| {
                serde_json::json!({
                    "material_code": m.material_code,
                    "form": form_from_pb(m.form()).map(Form::as_str).unwrap_or_default(),
                    "certificate_token": m.certificate_token,
                    "sha256": m.sha256,
                    "pages": m.pages,
                    "certificate_identifier": m.certificate_identifier,
                    "certificate_type": m.certificate_type,
                })
            })
            .collect(),
    )
}

/// Presented materials of a JSONB column written by [`materials_to_json`].
#[must_use]
pub fn materials_from_json(value: &serde_json::Value) -> Vec<pb::PresentedMaterial> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|m| {
            let text = |k: &str| {
                m.get(k)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let form = match m.get("form").and_then(serde_json::Value::as_str) {
                Some(f) if f == Form::Paper.as_str() => pb::MaterialForm::Paper,
                Some(f) if f == Form::Certificate.as_str() => pb::MaterialForm::Certificate,
                Some(f) if f == Form::Electronic.as_str() => pb::MaterialForm::Electronic,
                _ => pb::MaterialForm::Unspecified,
            };
            pb::PresentedMaterial {
                material_code: text("material_code"),
                form: form.into(),
                certificate_token: text("certificate_token"),
                sha256: text("sha256"),
                pages: m
                    .get("pages")
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|p| u32::try_from(p).ok())
                    .unwrap_or(0),
                certificate_identifier: text("certificate_identifier"),
                certificate_type: text("certificate_type"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in CaseStatus::ALL {
            assert_eq!(status_from_pb(status_to_pb(status)), Some(status));
        }
        for status in BundleStatus::ALL {
            assert_eq!(
                bundle_status_from_pb(bundle_status_to_pb(status)),
                Some(status)
            );
        }
        assert_eq!(status_from_pb(pb::CaseStatus::Unspecified), None);
        assert_eq!(bundle_status_from_pb(pb::BundleStatus::Unspecified), None);
        let codes: Vec<_> = WaybillStatus::ALL
            .into_iter()
            .map(|s| {
                let name = s.code().to_ascii_uppercase();
                let proto = logistics_pb::WaybillStatus::from_str_name(&name).expect("same names");
                waybill_status_from_pb(proto).map(WaybillStatus::code)
            })
            .collect();
        let expected: Vec<_> = WaybillStatus::ALL
            .into_iter()
            .map(|s| Some(s.code()))
            .collect();
        assert_eq!(codes, expected);
    }
}
