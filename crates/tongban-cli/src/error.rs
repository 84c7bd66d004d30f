//! What can go wrong in a command, and how it is told to the person at the terminal.

use tongban_access::status::details;
use tonic::{Code, Status};

use crate::client::Service;
use crate::output::{Label, Lang, t};

/// Kind of a `PreconditionFailure` violation listing a missing material (一次性告知).
pub const MATERIAL_MISSING: &str = "MATERIAL_MISSING";

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad use of the command line that clap cannot catch (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The address of a service is not a URL.
    #[error("bad address for the {} service: {url}", service.name())]
    BadUrl {
        /// Which service.
        service: Service,
        /// The address as given.
        url: String,
    },
    /// The service could not be reached.
    #[error("cannot connect to the {} service at {url}: {cause}", service.name())]
    Connect {
        /// Which service.
        service: Service,
        /// The address tried.
        url: String,
        /// The innermost cause (e.g. connection refused).
        cause: String,
    },
    /// The service answered with an error status.
    #[error("{} service: {}", service.name(), status.message())]
    Rpc {
        /// Which service answered.
        service: Service,
        /// The status it returned.
        status: Box<Status>,
    },
    /// Something local failed (state directory, token keys …); the text is ready to print.
    #[error("{0}")]
    Local(String),
}

impl CliError {
    /// Wraps a status returned by `service`.
    pub fn rpc(service: Service) -> impl FnOnce(Status) -> CliError {
        move |status| CliError::Rpc {
            service,
            status: Box::new(status),
        }
    }

    /// The process exit code: 2 for usage errors, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::BadUrl { .. } => 2,
            _ => 1,
        }
    }

    /// The error as lines for stderr, in `lang`: the message, then one line per
    /// `google.rpc` detail (BadRequest field violations, PreconditionFailure violations).
    pub fn render(&self, lang: Lang) -> String {
        let prefix = t(lang, Label::ErrorPrefix);
        let colon = lang.colon();
        match self {
            CliError::Usage(message) | CliError::Local(message) => {
                format!("{prefix}{colon}{message}")
            }
            CliError::BadUrl { service, url } => format!(
                "{prefix}{colon}{}{colon}{url}{}",
                lang.pick(("服务地址无效", "invalid service address")),
                lang.paren(format!("{} / {}", service.flag(), service.env_var()))
            ),
            CliError::Connect {
                service,
                url,
                cause,
            } => format!(
                "{prefix}{colon}{} {}{}{colon}{cause}\n{}{}",
                t(lang, Label::ConnectFailed),
                lang.pick(service.title()),
                lang.paren(url),
                t(lang, Label::ConnectHint),
                lang.paren(format!("{} / {}", service.flag(), service.env_var()))
            ),
            CliError::Rpc { service, status } => render_status(lang, *service, status),
        }
    }
}

/// The status message, its code, then every detail on its own line.
fn render_status(lang: Lang, service: Service, status: &Status) -> String {
    let colon = lang.colon();
    let mut out = format!(
        "{}{colon}{}{}",
        t(lang, Label::ErrorPrefix),
        status.message(),
        lang.paren(format!(
            "{}{}{}",
            lang.pick(service.title()),
            lang.pick(("，", ", ")),
            code_name(status.code())
        ))
    );
    let (fields, preconditions) = details(status);
    for v in &fields {
        out.push_str(&format!(
            "\n  - {} {}{colon}{}",
            t(lang, Label::FieldPrefix),
            v.field,
            v.description
        ));
    }
    let (missing, other): (Vec<_>, Vec<_>) = preconditions
        .iter()
        .partition(|v| v.kind == MATERIAL_MISSING);
    if !missing.is_empty() {
        out.push('\n');
        out.push_str(t(lang, Label::MaterialsMissing));
        for v in missing {
            out.push_str(&format!("\n  - {}{colon}{}", v.subject, v.description));
        }
    }
    for v in other {
        let subject = if v.subject.is_empty() {
            v.kind.as_str()
        } else {
            v.subject.as_str()
        };
        out.push_str(&format!("\n  - {subject}{colon}{}", v.description));
    }
    match status.code() {
        Code::Unauthenticated => {
            out.push('\n');
            out.push_str(t(lang, Label::TokenHint));
        }
        Code::Unavailable => {
            out.push('\n');
            out.push_str(t(lang, Label::ConnectHint));
        }
        _ => {}
    }
    out
}

/// The canonical name of a gRPC status code (`INVALID_ARGUMENT` …).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_access::status::{
        FieldViolation, PreconditionViolation, failed_precondition, invalid_argument,
    };
    use tongban_domain::i18n::Lang as ServerLang;

    fn rpc(status: Status) -> CliError {
        CliError::rpc(Service::Intake)(status)
    }

    #[test]
    fn field_violations_each_on_a_line() {
        let status = invalid_argument(
            ServerLang::Zh,
            vec![FieldViolation::new("applicant.id_number", "校验码错误")],
        );
        let text = rpc(status).render(Lang::Zh);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("错误：请求参数有误"), "{text}");
        assert!(lines[0].contains("INVALID_ARGUMENT"), "{text}");
        assert_eq!(lines[1], "  - 字段 applicant.id_number：校验码错误");
    }

    #[test]
    fn missing_materials_are_listed_at_once() {
        let status = failed_precondition(
            "材料不齐".to_owned(),
            vec![
                PreconditionViolation::new(MATERIAL_MISSING, "id_card", "居民身份证"),
                PreconditionViolation::new(MATERIAL_MISSING, "hukou", "户口簿"),
                PreconditionViolation::new("ROUTE_REFUSED", "", "无合作协议"),
            ],
        );
        let err = rpc(status);
        assert_eq!(err.exit_code(), 1);
        let text = err.render(Lang::Zh);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "材料不齐，请一次性补齐以下材料：");
        assert_eq!(lines[2], "  - id_card：居民身份证");
        assert_eq!(lines[3], "  - hukou：户口簿");
        assert_eq!(lines[4], "  - ROUTE_REFUSED：无合作协议");
        let en = err.render(Lang::En);
        assert!(
            en.contains("please provide all of the following at once"),
            "{en}"
        );
    }

    #[test]
    fn unauthenticated_hints_at_the_token() {
        let text = rpc(Status::unauthenticated("未提供令牌")).render(Lang::Zh);
        assert!(
            text.contains("UNAUTHENTICATED") && text.contains("TONGBAN_TOKEN"),
            "{text}"
        );
    }

    #[test]
    fn connection_errors_name_service_flag_and_url() {
        let err = CliError::Connect {
            service: Service::Review,
            url: "http://127.0.0.1:1".into(),
            cause: "Connection refused (os error 111)".into(),
        };
        let text = err.render(Lang::Zh);
        assert!(
            text.contains("无法连接 审查服务（http://127.0.0.1:1）"),
            "{text}"
        );
        assert!(text.contains("--review / TONGBAN_REVIEW_URL"), "{text}");
        assert!(
            err.render(Lang::En)
                .contains("cannot connect to review service")
        );
        assert_eq!(CliError::Usage(String::new()).exit_code(), 2);
    }
}
