//! tongban-e2e: helpers shared by the end-to-end tests in `tests/`. The tests use only the public
//! gRPC API, as a window clerk, a reviewer or a hotline operator would, plus NATS to inspect the
//! stream.

use tongban_proto::catalog::v1::GetMatterRequest;
use tongban_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tongban_proto::common::v1::{
    Applicant, Delivery, DeliveryMethod, MaterialForm, Mode, PresentedMaterial,
};
use tongban_proto::hotline::v1::hotline_service_client::HotlineServiceClient;
use tongban_proto::intake::v1::SubmitCaseRequest;
use tongban_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tongban_proto::review::v1::review_service_client::ReviewServiceClient;
use tongban_testkit::{Bearer, channel};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// 五台县政务服务中心: the 通办 window of the demo.
pub const WINDOW: &str = "140922-zwfw";
/// A valid 身份证号 (GB 11643 check digit X).
pub const ID_NUMBER: &str = "11010519491231002X";
/// A valid mobile number.
pub const PHONE: &str = "13812345678";
/// Applicant name used by the tests.
pub const NAME: &str = "王小明";

/// A channel with the bearer interceptor, as every client here uses.
pub type Authed = InterceptedService<Channel, Bearer>;

/// CatalogService client on `port` sending `token`.
#[must_use]
pub fn catalog(port: u16, token: &str) -> CatalogServiceClient<Authed> {
    CatalogServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// IntakeService client on `port` sending `token`.
#[must_use]
pub fn intake(port: u16, token: &str) -> IntakeServiceClient<Authed> {
    IntakeServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// ReviewService client on `port` sending `token`.
#[must_use]
pub fn review(port: u16, token: &str) -> ReviewServiceClient<Authed> {
    ReviewServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// HotlineService client on `port` sending `token`.
#[must_use]
pub fn hotline(port: u16, token: &str) -> HotlineServiceClient<Authed> {
    HotlineServiceClient::with_interceptor(channel(port), Bearer::new(token))
}

/// A 64-hex-digit stand-in for the SHA-256 of a scanned file, distinct per call.
#[must_use]
pub fn fake_sha256() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// How the clerk presents material `code` under `mode`: 异地代收代办 needs paper originals where the
/// catalog says so; everything else is an electronic scan.
#[must_use]
pub fn presented(code: &str, mode: Mode, paper_original_required: bool) -> PresentedMaterial {
    if mode == Mode::Proxy && paper_original_required {
        PresentedMaterial {
            material_code: code.to_owned(),
            form: MaterialForm::Paper.into(),
            pages: 1,
            ..Default::default()
        }
    } else {
        PresentedMaterial {
            material_code: code.to_owned(),
            form: MaterialForm::Electronic.into(),
            sha256: fake_sha256(),
            pages: 1,
            ..Default::default()
        }
    }
}

/// A complete SubmitCase request at [`WINDOW`] for `matter` and `home_division` under `mode`,
/// with every required material of the matter (read from CatalogService.GetMatter, as the
/// window's client would) and pick-up at the window.
///
/// # Errors
/// GetMatter failed.
pub async fn submit_request(
    catalog: &mut CatalogServiceClient<Authed>,
    key: &str,
    matter: &str,
    home_division: &str,
    mode: Mode,
) -> Result<SubmitCaseRequest, tonic::Status> {
    let found = catalog
        .get_matter(GetMatterRequest {
            code: matter.to_owned(),
        })
        .await?
        .into_inner();
    let materials = found
        .materials
        .iter()
        .filter(|m| m.required)
        .map(|m| presented(&m.code, mode, m.paper_original_required))
        .collect();
    Ok(SubmitCaseRequest {
        idempotency_key: key.to_owned(),
        window_office_id: WINDOW.to_owned(),
        matter_code: matter.to_owned(),
        mode: mode.into(),
        applicant: Some(Applicant {
            name: NAME.to_owned(),
            id_number: ID_NUMBER.to_owned(),
            phone: PHONE.to_owned(),
        }),
        home_division: home_division.to_owned(),
        materials,
        delivery: Some(Delivery {
            method: DeliveryMethod::WindowPickup.into(),
            address: String::new(),
        }),
    })
}

/// Where `text` shows personal data in full: the test ID number or phone, or any number of 11 or
/// more digits (an unmasked phone or ID number). `None` when it shows none.
#[must_use]
pub fn unmasked_personal_data(text: &str) -> Option<String> {
    if text.contains(ID_NUMBER) || text.contains(&ID_NUMBER.to_ascii_lowercase()) {
        return Some("the full ID number".to_owned());
    }
    if text.contains(PHONE) {
        return Some("the full phone number".to_owned());
    }
    // Whole tokens only: hex digests, UUIDs and trace ids may hold long runs of decimal digits
    // (the last group of a UUID is all digits about once in 300), so they are left out first.
    let tokens = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|t| uuid::Uuid::parse_str(t).is_err() && !is_traceparent(t))
        .flat_map(|t| t.split('-'));
    for token in tokens {
        let digits = token.strip_suffix(['X', 'x']).unwrap_or(token);
        if digits.len() >= 11 && digits.chars().all(|c| c.is_ascii_digit()) {
            return Some(format!(
                "a number of {} digits ({}…)",
                token.len(),
                &token[..4]
            ));
        }
    }
    None
}

/// Whether `value` is a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`, ids not all zero).
#[must_use]
pub fn is_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    };
    let nonzero = |s: &str| s.chars().any(|c| c != '0');
    matches!(parts.as_slice(), [version, trace, span, flags]
        if hex(version, 2) && *version != "ff" && hex(trace, 32) && nonzero(trace) && hex(span, 16) && nonzero(span) && hex(flags, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_found() {
        assert!(
            unmasked_personal_data("id: \"110105********002X\", phone: \"138****5678\"").is_none()
        );
        assert!(unmasked_personal_data("seconds: 1764000000, nanos: 123456789").is_none());
        assert!(
            unmasked_personal_data("case_id: \"01a2228c-6755-72c7-8207-813147758190\"").is_none()
        );
        assert!(unmasked_personal_data("phone: 13900001111").is_some());
        assert!(unmasked_personal_data("sha256: \"a684312345678901234b\"").is_none());
        assert!(unmasked_personal_data(&format!("x {ID_NUMBER} y")).is_some());
        assert!(unmasked_personal_data("tel 13900001111.").is_some());
        assert!(unmasked_personal_data("11010519491231002").is_some());
    }

    #[test]
    fn traceparents() {
        assert!(is_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(!is_traceparent(
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        ));
        assert!(!is_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
        ));
        assert!(!is_traceparent(
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"
        ));
    }
}
