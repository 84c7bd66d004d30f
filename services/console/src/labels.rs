//! Names for people of the protobuf enums, reusing the domain's own labels (中文 / English).

use tongban_access::convert;
use tongban_domain::i18n::{Lang, Localized};
use tongban_proto::common::v1 as pb;

/// 办件状态 of a wire value.
#[must_use]
pub fn status(value: i32, lang: Lang) -> String {
    pb::CaseStatus::try_from(value)
        .ok()
        .and_then(convert::status_from_pb)
        .map(|s| s.text(lang))
        .unwrap_or_default()
}

/// 通办范围 of a wire value.
#[must_use]
pub fn scope(value: i32, lang: Lang) -> String {
    pb::Scope::try_from(value)
        .ok()
        .and_then(convert::scope_from_pb)
        .map(|s| s.text(lang))
        .unwrap_or_default()
}

/// 办理模式 of a wire value.
#[must_use]
pub fn mode(value: i32, lang: Lang) -> String {
    pb::Mode::try_from(value)
        .ok()
        .and_then(convert::mode_from_pb)
        .map(|m| m.text(lang))
        .unwrap_or_default()
}

/// 发证方式 of a wire value.
#[must_use]
pub fn delivery(value: i32, lang: Lang) -> String {
    pb::DeliveryMethod::try_from(value)
        .ok()
        .and_then(convert::delivery_from_pb)
        .map(|m| m.text(lang))
        .unwrap_or_default()
}

/// 审批决定 of a wire value (empty while undecided).
#[must_use]
pub fn decision(value: i32, lang: Lang) -> String {
    pb::Decision::try_from(value)
        .ok()
        .and_then(convert::decision_from_pb)
        .map(|d| d.text(lang))
        .unwrap_or_default()
}

/// 材料形式 of a wire value.
#[must_use]
pub fn form(value: i32, lang: Lang) -> String {
    pb::MaterialForm::try_from(value)
        .ok()
        .and_then(convert::form_from_pb)
        .map(|f| f.text(lang))
        .unwrap_or_default()
}

/// 收费: `免费` or yuan with two decimals.
#[must_use]
pub fn fee(fen: i64, lang: Lang) -> String {
    if fen == 0 {
        lang.pick("免费", "Free").to_owned()
    } else {
        format!("{}.{:02} {}", fen / 100, fen % 100, lang.pick("元", "yuan"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_domain() {
        assert_eq!(status(pb::CaseStatus::Routed as i32, Lang::Zh), "已分派");
        assert_eq!(status(pb::CaseStatus::Routed as i32, Lang::En), "Routed");
        assert_eq!(status(999, Lang::Zh), "");
        assert_eq!(fee(0, Lang::Zh), "免费");
        assert_eq!(fee(1050, Lang::En), "10.50 yuan");
    }
}
