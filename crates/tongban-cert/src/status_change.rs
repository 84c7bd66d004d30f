//! 证照状态变更: which status a certificate may move to, who may move it, and what results.
//!
//! A valid (01 有效) certificate may become any other status; a suspended (02 暂扣) one may be
//! restored to 有效 or ended (撤销, 注销, 失效, 办理转出, 吊销); every other status is final. Only
//! the issuing office (发证机关) changes its own certificates, an administrator any office's;
//! another office's certificate is as good as absent to the caller. A change always carries a
//! reason and results in one `cert.revoked` event (the status it moved to, the reason).

use crate::certificate::CertificateStatus;

/// Longest reason of a status change, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Who asks for the change (already known to hold an issuing role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changer<'a> {
    /// Staff of office `0` (发证机关): only that office's certificates.
    Office(&'a str),
    /// An administrator: any office's certificates.
    Admin,
}

/// The certificate as stored: its status and the office that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current<'a> {
    /// Its status now.
    pub status: CertificateStatus,
    /// The issuing office.
    pub issuer_office_id: &'a str,
}

/// A status change that happened: the new status to store and the event to publish
/// (`cert.revoked` with `to` and `reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChanged {
    /// The status before.
    pub from: CertificateStatus,
    /// The status after.
    pub to: CertificateStatus,
    /// Why (trimmed).
    pub reason: String,
}

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Another office's certificate: not the caller's to change, nor to learn about.
    #[error("not the caller's certificate")]
    NotVisible,
    /// `from` may not become `to`.
    #[error("证照状态为 {} {}，不能改为 {} {} (the certificate is {}; it cannot become {})",
        .from.code(), .from.label_zh(), .to.code(), .to.label_zh(), .from.label_en(), .to.label_en())]
    NotAllowed {
        /// The status now.
        from: CertificateStatus,
        /// The status asked for.
        to: CertificateStatus,
    },
}

/// The reason as kept: trimmed, `None` when empty or longer than [`MAX_REASON_CHARS`].
#[must_use]
pub fn reason(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty() && text.chars().count() <= MAX_REASON_CHARS).then_some(text)
}

/// Whether a certificate in `from` may move to `to`.
#[must_use]
pub fn may_move(from: CertificateStatus, to: CertificateStatus) -> bool {
    match from {
        CertificateStatus::Valid => to != CertificateStatus::Valid,
        CertificateStatus::Suspended => to != CertificateStatus::Suspended,
        _ => false,
    }
}

/// Decides a status change of `current` to `to` asked by `changer`, with `reason` (already
/// checked with [`reason`]).
///
/// # Errors
/// [`Refusal::NotVisible`] for another office's certificate (checked first, so a refusal
/// never tells its status); [`Refusal::NotAllowed`] when the move is not allowed.
pub fn change(
    current: Current<'_>,
    changer: Changer<'_>,
    to: CertificateStatus,
    reason: &str,
) -> Result<StatusChanged, Refusal> {
    if let Changer::Office(office) = changer
        && office != current.issuer_office_id
    {
        return Err(Refusal::NotVisible);
    }
    let from = current.status;
    if !may_move(from, to) {
        return Err(Refusal::NotAllowed { from, to });
    }
    Ok(StatusChanged {
        from,
        to,
        reason: reason.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFICE: &str = "640100-gongan";

    fn current(status: CertificateStatus) -> Current<'static> {
        Current {
            status,
            issuer_office_id: OFFICE,
        }
    }

    #[test]
    fn valid_and_suspended_move_the_rest_are_final() {
        use CertificateStatus as S;
        for from in S::ALL {
            for to in S::ALL {
                let expected = match from {
                    S::Valid => to != S::Valid,
                    S::Suspended => to != S::Suspended,
                    _ => false,
                };
                assert_eq!(may_move(from, to), expected, "{from:?} → {to:?}");
            }
        }
    }

    #[test]
    fn only_the_issuing_office_or_an_admin() {
        let suspended = change(
            current(CertificateStatus::Valid),
            Changer::Office(OFFICE),
            CertificateStatus::Suspended,
            " 涉嫌伪造 ",
        );
        assert_eq!(
            suspended,
            Ok(StatusChanged {
                from: CertificateStatus::Valid,
                to: CertificateStatus::Suspended,
                reason: "涉嫌伪造".to_owned(),
            })
        );
        assert_eq!(
            change(
                current(CertificateStatus::Revoked),
                Changer::Office("140922-gongan"),
                CertificateStatus::Valid,
                "x",
            ),
            Err(Refusal::NotVisible),
            "another office's certificate is not visible, whatever its status"
        );
        assert!(
            change(
                current(CertificateStatus::Suspended),
                Changer::Admin,
                CertificateStatus::Valid,
                "x"
            )
            .is_ok()
        );
        assert_eq!(
            change(
                current(CertificateStatus::Revoked),
                Changer::Admin,
                CertificateStatus::Valid,
                "x"
            ),
            Err(Refusal::NotAllowed {
                from: CertificateStatus::Revoked,
                to: CertificateStatus::Valid
            })
        );
    }

    #[test]
    fn reasons() {
        assert_eq!(reason("  撤销 "), Some("撤销"));
        assert_eq!(reason("   "), None);
        assert_eq!(reason(&"字".repeat(500)).map(str::len), Some(1500));
        assert_eq!(reason(&"字".repeat(501)), None);
    }
}
