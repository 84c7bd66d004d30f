//! 证照核验: every check a verifier makes, each failure reported (not only the first), failing
//! closed: an unknown issuer, a status that cannot be learnt, a token that cannot be read are
//! all "not valid".

use chrono::{DateTime, Utc};

use crate::certificate::{Certificate, CertificateStatus, Draft, HolderId};
use crate::keys::KeyId;
use crate::token::Decoded;
use crate::trust::TrustList;

/// One reason a certificate is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The token cannot be read, or its content is not a well-formed certificate.
    Malformed,
    /// The identifier's (or the issuer credit code's) check character is wrong.
    BadCheckCharacter,
    /// The signature does not verify with the issuer's key.
    BadSignature,
    /// The key is not on the trust list (unknown, not endorsed by its province's root, past the
    /// end of its verification period, or not the key of the office and credit code the
    /// certificate names).
    UntrustedIssuer,
    /// The key was rotated out (密钥轮换) before the certificate says it was issued: a retired
    /// key verifies only what it signed while it was current.
    KeyRetired,
    /// Before its validity starts.
    NotYetValid,
    /// After its validity ends.
    Expired,
    /// Its status is not 01 有效.
    Status(CertificateStatus),
    /// Not the holder expected.
    HolderMismatch,
    /// Not the type expected.
    TypeMismatch,
    /// Its status could not be learnt.
    StatusUnavailable,
}

/// What the issuing registry says about a certificate's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCheck {
    /// The status on record.
    Known(CertificateStatus),
    /// No answer (unreachable, or no record: stale): fails closed.
    Unavailable,
}

/// What the verifier expects; empty means "no expectation".
#[derive(Debug, Clone, Copy, Default)]
pub struct Expectations<'a> {
    /// The holder's ID number (compared case-insensitively, trimmed).
    pub holder_id: Option<&'a str>,
    /// The 证照类型代码.
    pub type_code: Option<&'a str>,
}

/// The outcome: valid when there is a certificate and no failure.
#[derive(Debug, Clone)]
pub struct Verification {
    /// Every failure that applies, in the order checked.
    pub failures: Vec<Failure>,
    /// The certificate, only when the token holds a well-formed one whose signature verifies
    /// with a key the trust list vouches for. Content that is not authentic is never returned:
    /// any byte of it may be forged (a date thousands of years away, a name).
    pub certificate: Option<Certificate>,
}

impl Failure {
    /// Whether this failure means the content is not known to come from the issuer it names
    /// (so none of it may be shown).
    pub fn is_authenticity(self) -> bool {
        matches!(
            self,
            Failure::Malformed
                | Failure::BadCheckCharacter
                | Failure::BadSignature
                | Failure::UntrustedIssuer
                | Failure::KeyRetired
        )
    }
}

impl Verification {
    /// A token that cannot be read.
    pub fn malformed() -> Self {
        Self {
            failures: vec![Failure::Malformed],
            certificate: None,
        }
    }

    /// Whether the certificate is authentic, trusted, in force, of status 01 and as expected.
    pub fn is_valid(&self) -> bool {
        self.failures.is_empty() && self.certificate.is_some()
    }
}

/// The certificate a token holds when its content is well formed, *without* checking that it
/// is authentic. Only for a token this service stored itself (its registry); a presented token
/// goes through [`check`].
pub fn content(decoded: &Decoded) -> Option<Certificate> {
    let identifier = decoded.identifier.as_ref().ok()?;
    let holder_id = HolderId::parse(&decoded.holder_id).ok()?;
    let key_id = KeyId::parse(&decoded.key_id).ok()?;
    Certificate::new(Draft {
        identifier: identifier.clone(),
        holder_name: decoded.holder_name.clone(),
        holder_id,
        issuer_office_id: decoded.issuer_office_id.clone(),
        issuer_name: decoded.issuer_name.clone(),
        valid_from: decoded.valid_from,
        valid_until: decoded.valid_until,
        issued_at: decoded.issued_at,
        fields: decoded.fields.clone(),
        key_id,
    })
    .ok()
}

/// Checks a decoded token against the trust list at `now`, with the status the registry gave.
pub fn check(
    decoded: &Decoded,
    trust: &TrustList,
    now: DateTime<Utc>,
    expect: Expectations<'_>,
    status: StatusCheck,
) -> Verification {
    let mut failures = Vec::new();
    // Authenticity first: which key, trusted for this office, and does the signature hold.
    let issuer = KeyId::parse(&decoded.key_id)
        .ok()
        .and_then(|id| trust.issuer(&id))
        .filter(|issuer| {
            issuer.office_id == decoded.issuer_office_id
                && issuer.is_current_at(now)
                && decoded
                    .identifier()
                    .is_none_or(|id| id.issuer() == &issuer.credit_code)
        });
    let certificate = content(decoded);
    if decoded
        .identifier
        .as_ref()
        .is_err_and(|err| err.is_check_failure())
    {
        failures.push(Failure::BadCheckCharacter);
    }
    if decoded.identifier.is_ok() && certificate.is_none() {
        failures.push(Failure::Malformed);
    }
    match issuer {
        None => failures.push(Failure::UntrustedIssuer),
        Some(issuer) => {
            if !issuer
                .public_key
                .verifies(&decoded.signed, &decoded.signature)
            {
                failures.push(Failure::BadSignature);
            } else if issuer.retired_at.is_some_and(|r| decoded.issued_at > r) {
                failures.push(Failure::KeyRetired);
            }
        }
    }
    let Some(certificate) = certificate else {
        if failures.is_empty() {
            failures.push(Failure::Malformed);
        }
        return Verification {
            failures,
            certificate: None,
        };
    };
    if now < certificate.valid_from() {
        failures.push(Failure::NotYetValid);
    }
    if now > certificate.valid_until() {
        failures.push(Failure::Expired);
    }
    match status {
        StatusCheck::Known(CertificateStatus::Valid) => {}
        StatusCheck::Known(other) => failures.push(Failure::Status(other)),
        StatusCheck::Unavailable => failures.push(Failure::StatusUnavailable),
    }
    if let Some(expected) = expect.holder_id.map(str::trim).filter(|h| !h.is_empty())
        && !expected.eq_ignore_ascii_case(certificate.holder_id().as_str())
    {
        failures.push(Failure::HolderMismatch);
    }
    if let Some(expected) = expect.type_code.map(str::trim).filter(|t| !t.is_empty())
        && expected != certificate.type_code().as_str()
    {
        failures.push(Failure::TypeMismatch);
    }
    // Every failure that applies is listed, but nothing of a token that is not authentic is
    // returned: the failures only.
    let authentic = !failures.iter().any(|f| f.is_authenticity());
    Verification {
        failures,
        certificate: authentic.then_some(certificate),
    }
}
