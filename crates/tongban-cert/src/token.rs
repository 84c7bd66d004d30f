//! The compact token (亮证): a certificate and its SM2 signature in a few hundred characters,
//! small enough for a QR code.
//!
//! Layout (then base64url without padding): `0x01` (format version), the identifier, holder
//! name, holder ID number, issuer office id, issuer name (each a length byte and UTF-8 bytes),
//! valid-from, valid-until and issued-at (Unix seconds, 8 bytes big-endian each), the number
//! of fields and each field's name and value, the key id; then the 64-byte SM2 signature
//! (r ‖ s) over everything before it. Decoding is strict: any leftover or missing byte,
//! non-canonical base64 or bad UTF-8 is malformed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::certificate::{Certificate, Field, MAX_FIELDS};
use crate::identifier::{CertificateId, IdentifierError};
use crate::keys::{KeyPair, SIGNATURE_LEN};

/// Format version byte.
const VERSION: u8 = 1;
/// Longest token text accepted before decoding.
pub const MAX_TOKEN_CHARS: usize = 2048;

/// The range of `google.protobuf.Timestamp` (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z),
/// in Unix seconds: a time outside it cannot be shown by standard clients, so a token carrying
/// one is malformed.
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// A token that cannot be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("证照令牌格式错误 / certificate token is malformed")]
pub struct Malformed;

/// Encodes and signs `certificate` with `key` (whose id the certificate names).
///
/// # Errors
/// [`Malformed`] when a text field is longer than 255 bytes (a checked certificate's are not)
/// or a time is outside the range of `google.protobuf.Timestamp`.
pub fn encode(certificate: &Certificate, key: &KeyPair) -> Result<String, Malformed> {
    let mut out = vec![VERSION];
    put_str(&mut out, certificate.identifier().as_str())?;
    put_str(&mut out, certificate.holder_name().as_str())?;
    put_str(&mut out, certificate.holder_id().as_str())?;
    put_str(&mut out, certificate.issuer_office_id())?;
    put_str(&mut out, certificate.issuer_name())?;
    for t in [
        certificate.valid_from(),
        certificate.valid_until(),
        certificate.issued_at(),
    ] {
        if !TIMESTAMP_SECONDS.contains(&t.timestamp()) {
            return Err(Malformed);
        }
        out.extend_from_slice(&t.timestamp().to_be_bytes());
    }
    let count = u8::try_from(certificate.fields().len()).map_err(|_| Malformed)?;
    out.push(count);
    for field in certificate.fields() {
        put_str(&mut out, &field.name)?;
        put_str(&mut out, &field.value)?;
    }
    put_str(&mut out, certificate.key_id().as_str())?;
    let signature = key.sign(&out);
    out.extend_from_slice(&signature);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

fn put_str(out: &mut Vec<u8>, text: &str) -> Result<(), Malformed> {
    let len = u8::try_from(text.len()).map_err(|_| Malformed)?;
    out.push(len);
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// A token read into its parts, nothing checked but the layout.
#[derive(Clone)]
pub struct Decoded {
    pub(crate) identifier_text: String,
    pub(crate) identifier: Result<CertificateId, IdentifierError>,
    pub(crate) holder_name: String,
    pub(crate) holder_id: String,
    pub(crate) issuer_office_id: String,
    pub(crate) issuer_name: String,
    pub(crate) valid_from: DateTime<Utc>,
    pub(crate) valid_until: DateTime<Utc>,
    pub(crate) issued_at: DateTime<Utc>,
    pub(crate) fields: Vec<Field>,
    pub(crate) key_id: String,
    pub(crate) signed: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("identifier", &self.identifier_text)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Decoded {
    /// The identifier, when it parses (to look up the certificate's status).
    pub fn identifier(&self) -> Option<&CertificateId> {
        self.identifier.as_ref().ok()
    }

    /// The identifier as written in the token.
    pub fn identifier_text(&self) -> &str {
        &self.identifier_text
    }
}

/// Reads a token's layout (the text is trimmed of surrounding whitespace first).
///
/// # Errors
/// [`Malformed`] for anything but an exact encoding.
pub fn decode(text: &str) -> Result<Decoded, Malformed> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_TOKEN_CHARS {
        return Err(Malformed);
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| Malformed)?;
    if bytes.len() <= SIGNATURE_LEN + 1 {
        return Err(Malformed);
    }
    let (signed, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let mut reader = Reader { rest: signed };
    if reader.byte()? != VERSION {
        return Err(Malformed);
    }
    let identifier_text = reader.string()?;
    let holder_name = reader.string()?;
    let holder_id = reader.string()?;
    let issuer_office_id = reader.string()?;
    let issuer_name = reader.string()?;
    let valid_from = reader.time()?;
    let valid_until = reader.time()?;
    let issued_at = reader.time()?;
    let count = usize::from(reader.byte()?);
    if count > MAX_FIELDS {
        return Err(Malformed);
    }
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let name = reader.string()?;
        let value = reader.string()?;
        fields.push(Field { name, value });
    }
    let key_id = reader.string()?;
    if !reader.rest.is_empty() {
        return Err(Malformed);
    }
    Ok(Decoded {
        identifier: CertificateId::parse(&identifier_text),
        identifier_text,
        holder_name,
        holder_id,
        issuer_office_id,
        issuer_name,
        valid_from,
        valid_until,
        issued_at,
        fields,
        key_id,
        signed: signed.to_vec(),
        signature: signature.to_vec(),
    })
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Malformed> {
        if self.rest.len() < n {
            return Err(Malformed);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    fn string(&mut self) -> Result<String, Malformed> {
        let len = usize::from(self.byte()?);
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Malformed)
    }

    fn time(&mut self) -> Result<DateTime<Utc>, Malformed> {
        let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| Malformed)?;
        let seconds = i64::from_be_bytes(bytes);
        if !TIMESTAMP_SECONDS.contains(&seconds) {
            return Err(Malformed);
        }
        DateTime::from_timestamp(seconds, 0).ok_or(Malformed)
    }
}
