//! The one place that builds public gRPC errors (STYLE habit 5: typed errors inside, opaque
//! errors on the wire).
//!
//! Every message is in the caller's language (简体中文 by default, English on request), and
//! machine-readable `google.rpc` details ride along: `BadRequest` field violations for bad input,
//! `PreconditionFailure` for a refused precondition (一次性告知: every missing material at once,
//! or a routing refusal). Internal causes are logged once with their source chain and replaced
//! by a reference number; they never reach the caller.

use tongban_domain::i18n::Lang;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One bad input field (`google.rpc.BadRequest.FieldViolation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The request field path, e.g. `applicant.id_number`.
    pub field: String,
    /// What is wrong with it, in the caller's language.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field` described by `description`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// One failed precondition (`google.rpc.PreconditionFailure.Violation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreconditionViolation {
    /// The kind of failure, e.g. `MATERIAL_MISSING`, `ROUTE_REFUSED`, `CERTIFICATE_INVALID`.
    pub kind: String,
    /// What failed, relative to the kind (e.g. a material code).
    pub subject: String,
    /// How it failed, in the caller's language.
    pub description: String,
}

impl PreconditionViolation {
    /// A violation of `kind` about `subject`, described by `description`.
    pub fn new(
        kind: impl Into<String>,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            subject: subject.into(),
            description: description.into(),
        }
    }
}

/// INVALID_ARGUMENT with a `BadRequest` detail listing every violation.
///
/// Message: `请求参数有误：<field>：<desc>；…` or `invalid request: <field>: <desc>; …`.
pub fn invalid_argument(lang: Lang, violations: Vec<FieldViolation>) -> Status {
    let (head, field_sep, item_sep) = if matches!(lang, Lang::En) {
        ("invalid request", ": ", "; ")
    } else {
        ("请求参数有误", "：", "；")
    };
    let listed = violations
        .iter()
        .map(|v| format!("{}{field_sep}{}", v.field, v.description))
        .collect::<Vec<_>>()
        .join(item_sep);
    let message = if listed.is_empty() {
        head.to_owned()
    } else {
        format!("{head}{field_sep}{listed}")
    };
    let details = ErrorDetails::with_bad_request(
        violations
            .into_iter()
            .map(|v| tonic_types::FieldViolation::new(v.field, v.description))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// FAILED_PRECONDITION with `message` and a `PreconditionFailure` detail listing every violation
/// (一次性告知: all missing materials at once).
pub fn failed_precondition(message: String, violations: Vec<PreconditionViolation>) -> Status {
    let details = ErrorDetails::with_precondition_failure(
        violations
            .into_iter()
            .map(|v| tonic_types::PreconditionViolation::new(v.kind, v.subject, v.description))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::FailedPrecondition, message, details)
}

/// FAILED_PRECONDITION `CASE_STATE`: the state of the case (or of the part of it `subject`
/// names: `status`, `state`, `occasion`) does not allow the step; `text` says why.
pub fn case_state(text: String, subject: &str) -> Status {
    failed_precondition(
        text.clone(),
        vec![PreconditionViolation::new("CASE_STATE", subject, text)],
    )
}

/// NOT_FOUND: `未找到<what_zh>` or `<what_en> not found`.
///
/// Also used when the caller may not learn that the thing exists (another office's case).
pub fn not_found(lang: Lang, what_zh: &str, what_en: &str) -> Status {
    let message = if matches!(lang, Lang::En) {
        format!("{what_en} not found")
    } else {
        format!("未找到{what_zh}")
    };
    Status::not_found(message)
}

/// ALREADY_EXISTS, e.g. an idempotency key reused with a different request.
pub fn already_exists(lang: Lang, message_zh: &str, message_en: &str) -> Status {
    Status::already_exists(lang.pick(message_zh, message_en))
}

/// PERMISSION_DENIED with the given explanation.
pub fn permission_denied(lang: Lang, message_zh: &str, message_en: &str) -> Status {
    Status::permission_denied(lang.pick(message_zh, message_en))
}

/// UNAUTHENTICATED: no valid bearer token.
pub fn unauthenticated(lang: Lang) -> Status {
    unauthenticated_because(
        lang,
        "未认证：缺少或无效的访问令牌（authorization: Bearer <令牌>）",
        "unauthenticated: missing or invalid bearer token (authorization: Bearer <token>)",
    )
}

/// UNAUTHENTICATED with a specific reason (e.g. the token has expired).
pub fn unauthenticated_because(lang: Lang, message_zh: &str, message_en: &str) -> Status {
    Status::unauthenticated(lang.pick(message_zh, message_en))
}

/// UNAVAILABLE, e.g. a dependency is down or the service is shutting down; the caller may retry.
pub fn unavailable(lang: Lang, message_zh: &str, message_en: &str) -> Status {
    Status::unavailable(lang.pick(message_zh, message_en))
}

/// Logs `err` once with its source chain at error level and returns an opaque INTERNAL status
/// carrying only a reference number that links the caller's report to the log line.
pub fn internal(lang: Lang, err: &(dyn std::error::Error + 'static)) -> Status {
    let reference = uuid::Uuid::new_v4();
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error.reference = %reference, error.chain = %chain, "internal error");
    let message = if matches!(lang, Lang::En) {
        format!("internal error, please retry (ref {reference})")
    } else {
        format!("内部错误，请稍后重试（参考编号 {reference}）")
    };
    Status::internal(message)
}

/// The field and precondition violations carried in `status`'s details (for clients such as
/// the CLI); empty lists when there are none or the details cannot be decoded.
pub fn details(status: &Status) -> (Vec<FieldViolation>, Vec<PreconditionViolation>) {
    let fields = status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| FieldViolation::new(v.field, v.description))
                .collect()
        })
        .unwrap_or_default();
    let preconditions = status
        .get_details_precondition_failure()
        .map(|failure| {
            failure
                .violations
                .into_iter()
                .map(|v| PreconditionViolation::new(v.r#type, v.subject, v.description))
                .collect()
        })
        .unwrap_or_default();
    (fields, preconditions)
}

/// A `map_err` adapter for handlers: logs any error once, with its chain, and answers with the
/// opaque INTERNAL status of [`internal`].
pub fn internal_for<E: std::error::Error + 'static>(lang: Lang) -> impl Fn(E) -> Status {
    move |err| internal(lang, &err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failure")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn invalid_argument_lists_every_field_and_round_trips() {
        let status = invalid_argument(
            Lang::Zh,
            vec![
                FieldViolation::new("applicant.id_number", "校验位错误"),
                FieldViolation::new("applicant.phone", "不是有效的手机号"),
            ],
        );
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "请求参数有误：applicant.id_number：校验位错误；applicant.phone：不是有效的手机号"
        );
        let (fields, preconditions) = details(&status);
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].field, "applicant.phone");
        assert!(preconditions.is_empty());

        let en = invalid_argument(Lang::En, vec![FieldViolation::new("pages", "too many")]);
        assert_eq!(en.message(), "invalid request: pages: too many");
    }

    #[test]
    fn failed_precondition_round_trips() {
        let status = failed_precondition(
            "材料不全".to_owned(),
            vec![
                PreconditionViolation::new("MATERIAL_MISSING", "M01", "缺少身份证"),
                PreconditionViolation::new("MATERIAL_MISSING", "M02", "缺少户口簿"),
            ],
        );
        assert_eq!(status.code(), Code::FailedPrecondition);
        let (fields, preconditions) = details(&status);
        assert!(fields.is_empty());
        assert_eq!(
            preconditions,
            vec![
                PreconditionViolation::new("MATERIAL_MISSING", "M01", "缺少身份证"),
                PreconditionViolation::new("MATERIAL_MISSING", "M02", "缺少户口簿"),
            ]
        );
    }

    #[test]
    fn internal_is_opaque() {
        let err = Outer(std::io::Error::other("db password wrong"));
        let status = internal(Lang::Zh, &err);
        assert_eq!(status.code(), Code::Internal);
        assert!(
            status
                .message()
                .starts_with("内部错误，请稍后重试（参考编号 ")
        );
        assert!(!status.message().contains("password"));
        let en = internal(Lang::En, &err);
        assert!(
            en.message()
                .starts_with("internal error, please retry (ref ")
        );
    }

    #[test]
    fn simple_messages_follow_language() {
        assert_eq!(not_found(Lang::Zh, "办件", "case").message(), "未找到办件");
        assert_eq!(
            not_found(Lang::En, "办件", "case").message(),
            "case not found"
        );
        assert_eq!(unauthenticated(Lang::En).code(), Code::Unauthenticated);
        assert_eq!(unavailable(Lang::En, "稍后", "later").message(), "later");
    }
}
