//! CertificateService handlers: verify (any authenticated caller), issue and change status
//! (发证机关 roles, for their own office's certificates), the trust list, one certificate.
//!
//! Every step that changes something goes through the one step executor: the status-change
//! rule is [`tongban_cert::status_change`]'s, and the handlers only load, apply and store.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use tongban_cert::certificate::{
    self as cert, Certificate, CertificateStatus, Draft, Field, HolderId,
};
use tongban_cert::identifier::{CertificateId, TypeCode};
use tongban_cert::issuance;
use tongban_cert::status_change::{self, Changer, Current};
use tongban_cert::token;
use tongban_cert::verify::{self, Expectations, Failure, StatusCheck};
use tongban_domain::directory::Office;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::validate::IdNumber;
use tongban_proto::certificate::v1 as pb;
use tongban_proto::certificate::v1::certificate_service_server::CertificateService;
use tongban_proto::events::v1::{
    CertificateIssued, CertificateKeyRotated, CertificateRevoked, event::Body,
};
use tongban_runtime::auth::{Claims, Role, caller};
use tongban_runtime::convert::{datetime, timestamp};
use tongban_runtime::lang::request_lang;
use tongban_runtime::status::FieldViolation;
use tongban_step::{Actor, CaseRef, Effects, Executor};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::CertificateError;
use crate::{SERVICE, State};

/// The one step executor of this service.
const EXECUTOR: Executor = Executor::new(SERVICE);
/// Roles that may issue certificates and change their status.
const ISSUER_ROLES: [Role; 3] = [Role::Issuer, Role::OfficeHead, Role::Admin];
/// Roles that may rotate an office's signing key: Admin any office, the others their own.
const ROTATE_ROLES: [Role; 3] = [Role::Admin, Role::OfficeHead, Role::Issuer];
/// How long the status look-up of a verification may take before it fails closed.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);
/// Purpose label of the holder ID digest.
const HOLDER_DIGEST: &str = "certificate-holder";

/// The CertificateService handlers.
pub struct Certificates {
    state: State,
}

impl Certificates {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// The person a bearer token names, acting for their office.
fn actor_of(claims: &Claims) -> Actor {
    Actor::person(&claims.user, claims.role.as_str(), &claims.office)
}

/// The case a certificate belongs to (nil when none): its events carry it.
fn case_of(case_id: Option<Uuid>) -> CaseRef {
    CaseRef::new(case_id.unwrap_or(Uuid::nil()), "", None)
}

/// The wire form of a status.
pub(crate) fn status_to_pb(status: CertificateStatus) -> pb::CertificateStatus {
    match status {
        CertificateStatus::Valid => pb::CertificateStatus::Valid,
        CertificateStatus::Suspended => pb::CertificateStatus::Suspended,
        CertificateStatus::Revoked => pb::CertificateStatus::Revoked,
        CertificateStatus::Cancelled => pb::CertificateStatus::Cancelled,
        CertificateStatus::Invalidated => pb::CertificateStatus::Invalidated,
        CertificateStatus::TransferredOut => pb::CertificateStatus::TransferredOut,
        CertificateStatus::Withdrawn => pb::CertificateStatus::Withdrawn,
    }
}

fn status_from_pb(status: pb::CertificateStatus) -> Option<CertificateStatus> {
    CertificateStatus::ALL
        .into_iter()
        .find(|s| status_to_pb(*s) == status)
}

fn failure_to_pb(failure: Failure) -> pb::VerificationFailure {
    use pb::VerificationFailure as F;
    match failure {
        Failure::Malformed => F::Malformed,
        Failure::BadCheckCharacter => F::BadCheckCharacter,
        Failure::BadSignature => F::BadSignature,
        Failure::UntrustedIssuer => F::UntrustedIssuer,
        // The wire enum has no value of its own for it yet: the key is not trusted for this
        // certificate.
        Failure::KeyRetired => F::UntrustedIssuer,
        Failure::NotYetValid => F::NotYetValid,
        Failure::Expired => F::Expired,
        Failure::Status(CertificateStatus::Valid) => F::Unspecified,
        Failure::Status(CertificateStatus::Suspended) => F::StatusSuspended,
        Failure::Status(CertificateStatus::Revoked) => F::StatusRevoked,
        Failure::Status(CertificateStatus::Cancelled) => F::StatusCancelled,
        Failure::Status(CertificateStatus::Invalidated) => F::StatusInvalidated,
        Failure::Status(CertificateStatus::TransferredOut) => F::StatusTransferredOut,
        Failure::Status(CertificateStatus::Withdrawn) => F::StatusWithdrawn,
        Failure::HolderMismatch => F::HolderMismatch,
        Failure::TypeMismatch => F::TypeMismatch,
        Failure::StatusUnavailable => F::StatusUnavailable,
    }
}

/// The wire form of a certificate, holder ID masked.
fn certificate_to_pb(
    certificate: &Certificate,
    status: Option<CertificateStatus>,
    lang: Lang,
) -> pb::Certificate {
    let type_code = certificate.type_code().as_str();
    let type_name = cert::type_name(type_code)
        .map(|(zh, en)| lang.pick(zh, en).to_owned())
        .unwrap_or_default();
    pb::Certificate {
        identifier: certificate.identifier().to_string(),
        type_code: type_code.to_owned(),
        type_name,
        holder_name: certificate.holder_name().as_str().to_owned(),
        holder_id_number: certificate.holder_id().masked(),
        issuer_office_id: certificate.issuer_office_id().to_owned(),
        issuer_credit_code: certificate.identifier().issuer().to_string(),
        issuer_name: certificate.issuer_name().to_owned(),
        valid_from: Some(timestamp(certificate.valid_from())),
        valid_until: Some(timestamp(certificate.valid_until())),
        status: status
            .map_or(pb::CertificateStatus::Unspecified, status_to_pb)
            .into(),
        fields: certificate
            .fields()
            .iter()
            .map(|f| pb::CertificateField {
                name: f.name.clone(),
                value: f.value.clone(),
            })
            .collect(),
        key_id: certificate.key_id().to_string(),
        issued_at: Some(timestamp(certificate.issued_at())),
    }
}

/// Typed fields that say nothing of the holder (a result notice's matter and decision); every
/// other field (a spouse's or child's name, an address, a card number, a case number) does.
const NON_PERSONAL_FIELDS: [&str; 3] = ["matter_code", "matter_name", "decision"];

/// Whether `claims` may see who holds a certificate `issuer_office_id` issued: the issuing
/// office and an admin. Anyone else learns its status and what is not personal.
fn sees_holder(claims: &Claims, issuer_office_id: &str) -> bool {
    claims.role == Role::Admin || claims.office == issuer_office_id
}

/// `certificate` without its holder: name, ID number and the fields that name them.
fn without_holder(mut certificate: pb::Certificate) -> pb::Certificate {
    certificate.holder_name.clear();
    certificate.holder_id_number.clear();
    certificate
        .fields
        .retain(|f| NON_PERSONAL_FIELDS.contains(&f.name.as_str()));
    certificate
}

/// The wire form of a trust-list issuer.
fn issuer_to_pb(issuer: &tongban_cert::trust::Issuer) -> pb::TrustedIssuer {
    pb::TrustedIssuer {
        office_id: issuer.office_id.clone(),
        name: issuer.name.clone(),
        credit_code: issuer.credit_code.to_string(),
        province: issuer.province.clone(),
        key_id: issuer.key_id.to_string(),
        public_key: issuer.public_key.to_hex(),
        valid_until: issuer.valid_until.map(timestamp),
        root_signature: tongban_cert::keys::hex(&issuer.root_signature),
    }
}

/// The stored status of `identifier`; `None` when there is no record.
///
/// # Errors
/// The database fails, or the stored code is none of 01–07 (never guessed).
async fn stored_status(
    pool: &sqlx::PgPool,
    identifier: &str,
) -> Result<Option<CertificateStatus>, CertificateError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT status FROM certificates WHERE identifier = $1")
            .bind(identifier)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(code,)| code.parse()).transpose()?)
}

impl Certificates {
    /// Verifies `token` (any failure listed), with the status from the registry. A status that
    /// cannot be had (the look-up fails, times out, or finds a code that does not decode)
    /// fails the verification closed.
    pub(crate) async fn verify_token(
        &self,
        token_text: &str,
        expect: Expectations<'_>,
    ) -> (verify::Verification, Option<CertificateStatus>) {
        let Ok(decoded) = token::decode(token_text) else {
            return (verify::Verification::malformed(), None);
        };
        let status = match decoded.identifier() {
            None => None,
            Some(id) => {
                match tokio::time::timeout(
                    STATUS_TIMEOUT,
                    stored_status(&self.state.pool, id.as_str()),
                )
                .await
                {
                    Ok(Ok(status)) => status,
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, "status look-up failed: failing closed");
                        None
                    }
                    Err(_) => {
                        tracing::warn!("status look-up timed out: failing closed");
                        None
                    }
                }
            }
        };
        let check = status.map_or(StatusCheck::Unavailable, StatusCheck::Known);
        let now = self.state.clock.now();
        let verification = self
            .state
            .keys
            .with_trust(|trust| verify::check(&decoded, trust, now, expect, check));
        (verification, status)
    }
}

/// A parsed issue request.
pub(crate) struct IssueInput {
    pub type_code: TypeCode,
    pub holder_name: String,
    pub holder_id: HolderId,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub fields: Vec<Field>,
    pub case_id: Option<Uuid>,
}

/// A certificate issued and stored, with what the step still has to apply.
pub(crate) struct Issued {
    /// The certificate.
    pub certificate: Certificate,
    /// Its compact signed token.
    pub token: String,
    /// `cert.issued` and the audit entry.
    pub effects: Effects,
}

/// The office's signing key, held `FOR SHARE` in `conn`'s transaction so that a rotation
/// waits for this certificate (and counts it when it dates the old key's retirement). A key
/// rotated out between the look-up and the lock is looked up once more.
async fn current_signer(
    state: &State,
    conn: &mut sqlx::PgConnection,
    office: &Office,
) -> Result<
    (
        std::sync::Arc<tongban_cert::keys::KeyPair>,
        tongban_cert::trust::Issuer,
    ),
    CertificateError,
> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (key, issuer) = state.keys.signer(&state.pool, office).await?;
        let held: Option<(String,)> = sqlx::query_as(
            "SELECT key_id FROM trust_issuers WHERE key_id = $1 AND valid_until IS NULL FOR SHARE",
        )
        .bind(key.id().as_str())
        .fetch_optional(&mut *conn)
        .await?;
        if held.is_some() {
            return Ok((key, issuer));
        }
        if attempts >= 2 {
            return Err(CertificateError::KeyRetired(key.id().to_string()));
        }
    }
}

/// Issues a certificate signed with `office`'s key at `now` inside `conn`'s transaction and
/// stores it; returns it with its effects (`cert.issued`, the token sealed when it is a case's
/// result, and the audit entry) for the step to apply.
pub(crate) async fn issue_in(
    state: &State,
    conn: &mut sqlx::PgConnection,
    office: &Office,
    input: IssueInput,
    now: DateTime<Utc>,
) -> Result<Issued, CertificateError> {
    let (key, issuer) = current_signer(state, conn, office).await?;
    let (serial,): (i64,) = sqlx::query_as("SELECT nextval('certificate_serial')")
        .fetch_one(&mut *conn)
        .await?;
    let identifier = CertificateId::new(
        input.type_code,
        issuer.credit_code.clone(),
        u64::try_from(serial).unwrap_or_default(),
        1,
    )?;
    let certificate = Certificate::new(Draft {
        identifier,
        holder_name: input.holder_name,
        holder_id: input.holder_id,
        issuer_office_id: office.id.clone(),
        issuer_name: office.name.clone(),
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        issued_at: now,
        fields: input.fields,
        key_id: key.id().clone(),
    })?;
    let token_text = token::encode(&certificate, &key)?;
    let id_text = certificate.identifier().to_string();
    let holder_id = certificate.holder_id().as_str();
    sqlx::query(
        "INSERT INTO certificates
             (identifier, type_code, issuer_office_id, key_id, holder_name, holder_id_sealed,
              holder_id_digest, valid_from, valid_until, issued_at, fields, status, case_id,
              token)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&id_text)
    .bind(certificate.type_code().as_str())
    .bind(&office.id)
    .bind(key.id().as_str())
    .bind(certificate.holder_name().as_str())
    .bind(state.pii.seal(holder_id, id_text.as_bytes()))
    .bind(state.pii.digest(HOLDER_DIGEST, holder_id))
    .bind(certificate.valid_from())
    .bind(certificate.valid_until())
    .bind(now)
    .bind(json!(
        certificate
            .fields()
            .iter()
            .map(|f| json!({"name": f.name, "value": f.value}))
            .collect::<Vec<_>>()
    ))
    .bind(CertificateStatus::Valid.code())
    .bind(input.case_id)
    .bind(&token_text)
    .execute(&mut *conn)
    .await?;
    // The token holds the holder's ID number: it travels sealed, bound to the case.
    let sealed_token = input
        .case_id
        .map(|case_id| state.pii.seal(&token_text, case_id.as_bytes()))
        .unwrap_or_default();
    let mut effects = Effects::new();
    effects
        .emit(
            &case_of(input.case_id),
            Body::CertificateIssued(CertificateIssued {
                identifier: id_text.clone(),
                type_code: certificate.type_code().to_string(),
                issuer_office_id: office.id.clone(),
                sealed_token,
            }),
        )
        .audit(
            "certificate.issue",
            "certificate",
            id_text.clone(),
            None,
            Some(json!({"status": CertificateStatus::Valid.code(),
                        "type_code": certificate.type_code().as_str(),
                        "holder": certificate.holder_id().masked()})),
        );
    tracing::info!(identifier = %id_text, key_id = %key.id(), "certificate issued");
    Ok(Issued {
        certificate,
        token: token_text,
        effects,
    })
}

impl Certificates {
    fn parse_issue(
        &self,
        request: &pb::IssueCertificateRequest,
        now: DateTime<Utc>,
        lang: Lang,
    ) -> Result<IssueInput, CertificateError> {
        let mut errors = Vec::new();
        let type_code = TypeCode::parse(request.type_code.trim())
            .ok()
            .filter(|t| cert::type_name(t.as_str()).is_some());
        if type_code.is_none() {
            errors.push(FieldViolation::new(
                "type_code",
                lang.pick("未知的证照类型代码", "unknown certificate type code"),
            ));
        }
        // The calendar day in Asia/Shanghai (UTC+8, no daylight saving).
        let today = (now + TimeDelta::hours(8)).date_naive();
        let holder_id = match IdNumber::parse(
            &request.holder_id_number,
            &self.state.reference.divisions,
            today,
        ) {
            Ok(id) => HolderId::parse(id.as_str()).ok(),
            Err(err) => {
                errors.push(FieldViolation::new("holder_id_number", err.text(lang)));
                None
            }
        };
        if tongban_domain::validate::PersonName::parse(&request.holder_name).is_err() {
            errors.push(FieldViolation::new(
                "holder_name",
                lang.pick("姓名应为 1 到 50 个字符", "name must be 1 to 50 characters"),
            ));
        }
        let valid_from = datetime(request.valid_from.as_ref()).unwrap_or(now);
        let valid_until = datetime(request.valid_until.as_ref())
            .unwrap_or_else(|| issuance::default_valid_until(valid_from));
        if valid_until <= valid_from {
            errors.push(FieldViolation::new(
                "valid_until",
                lang.pick("截止时间应晚于起始时间", "must be after valid_from"),
            ));
        }
        let case_id = if request.case_id.trim().is_empty() {
            None
        } else {
            let parsed = Uuid::parse_str(request.case_id.trim()).ok();
            if parsed.is_none() {
                errors.push(FieldViolation::new(
                    "case_id",
                    lang.pick("不是有效的 UUID", "not a UUID"),
                ));
            }
            parsed
        };
        let fields: Vec<Field> = request
            .fields
            .iter()
            .map(|f| Field {
                name: f.name.trim().to_owned(),
                value: f.value.trim().to_owned(),
            })
            .collect();
        if let Some(type_code) = &type_code {
            let allowed = cert::allowed_fields(type_code.as_str());
            for (i, field) in fields.iter().enumerate() {
                if !allowed.contains(&field.name.as_str()) {
                    errors.push(FieldViolation::new(
                        format!("fields[{i}].name"),
                        match lang {
                            Lang::Zh => format!("此类证照可用字段：{}", allowed.join("、")),
                            Lang::En => format!("fields of this type: {}", allowed.join(", ")),
                        },
                    ));
                }
            }
        }
        match (type_code, holder_id) {
            (Some(type_code), Some(holder_id)) if errors.is_empty() => Ok(IssueInput {
                type_code,
                holder_name: request.holder_name.trim().to_owned(),
                holder_id,
                valid_from,
                valid_until,
                fields,
                case_id,
            }),
            _ => Err(CertificateError::Invalid(errors)),
        }
    }

    /// IssueCertificate after its input was parsed: one step by the caller for their office.
    async fn issue(
        &self,
        claims: &Claims,
        input: IssueInput,
        lang: Lang,
    ) -> Result<pb::IssueCertificateResponse, CertificateError> {
        let office = self
            .state
            .reference
            .directory
            .office(&claims.office)
            .cloned()
            .ok_or(CertificateError::OfficeNotInDirectory)?;
        let now = self.state.clock.now();
        let mut step = EXECUTOR
            .begin(&self.state.pool, actor_of(claims), now)
            .await?;
        let result_case = match input.case_id {
            Some(case_id) => Some(
                crate::results::awaited(step.conn(), &self.state.reference, case_id)
                    .await?
                    .ok_or(CertificateError::NoResultAwaited)?,
            ),
            None => None,
        };
        self.state.reference.issuers.check(
            &office,
            input.type_code.as_str(),
            result_case
                .as_ref()
                .map(crate::results::AwaitedResult::as_case),
        )?;
        let issued = issue_in(&self.state, step.conn(), &office, input, now).await?;
        step.apply(issued.effects).await?;
        step.commit().await?;
        Ok(pb::IssueCertificateResponse {
            certificate: Some(certificate_to_pb(
                &issued.certificate,
                Some(CertificateStatus::Valid),
                lang,
            )),
            token: issued.token,
        })
    }

    /// The stored certificate `identifier` with its status.
    ///
    /// # Errors
    /// The database fails, or the stored status does not decode.
    async fn load(
        &self,
        identifier: &str,
    ) -> Result<Option<(Certificate, CertificateStatus)>, CertificateError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT token, status FROM certificates WHERE identifier = $1")
                .bind(identifier)
                .fetch_optional(&self.state.pool)
                .await?;
        let Some((token_text, code)) = row else {
            return Ok(None);
        };
        let status: CertificateStatus = code.parse()?;
        // The registry's own copy, written when it was issued: read, not re-verified (its
        // key may since have retired, and it is shown with the stored status).
        let certificate = token::decode(&token_text)
            .ok()
            .as_ref()
            .and_then(verify::content);
        Ok(certificate.map(|c| (c, status)))
    }

    /// RevokeCertificate: 证照状态变更 as one step. The rule is the domain's
    /// ([`status_change::change`]); this stores the new status and its history line and applies
    /// `cert.revoked` and the audit entry.
    async fn change_status(
        &self,
        claims: &Claims,
        request: pb::RevokeCertificateRequest,
        lang: Lang,
    ) -> Result<pb::Certificate, CertificateError> {
        let mut errors = Vec::new();
        let to = status_from_pb(request.status());
        if to.is_none() {
            errors.push(FieldViolation::new(
                "status",
                lang.pick("请给出新状态（01–07）", "give the new status (01-07)"),
            ));
        }
        let reason = status_change::reason(&request.reason);
        if reason.is_none() {
            errors.push(FieldViolation::new(
                "reason",
                lang.pick(
                    "请填写原因（最长 500 字）",
                    "a reason (at most 500 characters) is required",
                ),
            ));
        }
        let (Some(to), Some(reason), true) = (to, reason, errors.is_empty()) else {
            return Err(CertificateError::Invalid(errors));
        };
        let identifier = request.identifier.as_str();
        let now = self.state.clock.now();
        let mut step = EXECUTOR
            .begin(&self.state.pool, actor_of(claims), now)
            .await?;
        let row: Option<(String, String, Option<Uuid>)> = sqlx::query_as(
            "SELECT status, issuer_office_id, case_id FROM certificates
             WHERE identifier = $1 FOR UPDATE",
        )
        .bind(identifier)
        .fetch_optional(step.conn())
        .await?;
        let Some((code, issuer_office_id, case_id)) = row else {
            return Err(CertificateError::NotFound);
        };
        let changer = if claims.role == Role::Admin {
            Changer::Admin
        } else {
            Changer::Office(&claims.office)
        };
        let current = Current {
            status: code.parse()?,
            issuer_office_id: &issuer_office_id,
        };
        let changed = status_change::change(current, changer, to, reason).map_err(|refusal| {
            CertificateError::StatusChange {
                identifier: identifier.to_owned(),
                refusal,
            }
        })?;
        sqlx::query("UPDATE certificates SET status = $2 WHERE identifier = $1")
            .bind(identifier)
            .bind(changed.to.code())
            .execute(step.conn())
            .await?;
        sqlx::query(
            "INSERT INTO certificate_status_changes
                 (identifier, from_status, to_status, reason, actor, office_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(identifier)
        .bind(changed.from.code())
        .bind(changed.to.code())
        .bind(&changed.reason)
        .bind(&claims.user)
        .bind(&claims.office)
        .bind(now)
        .execute(step.conn())
        .await?;
        let mut effects = Effects::new();
        effects
            .emit(
                &case_of(case_id),
                Body::CertificateRevoked(CertificateRevoked {
                    identifier: identifier.to_owned(),
                    status: changed.to.code().to_owned(),
                    reason: changed.reason.clone(),
                }),
            )
            .audit(
                "certificate.status",
                "certificate",
                identifier,
                Some(json!({"status": changed.from.code()})),
                Some(json!({"status": changed.to.code(), "reason": changed.reason})),
            );
        step.apply(effects).await?;
        step.commit().await?;
        tracing::info!(identifier = %identifier, from = changed.from.code(), to = changed.to.code(), "certificate status changed");
        let (certificate, status) = self
            .load(identifier)
            .await?
            .ok_or(CertificateError::NotFound)?;
        Ok(certificate_to_pb(&certificate, Some(status), lang))
    }

    /// RotateIssuerKey: 密钥轮换 of the caller's office (an admin: any office), with
    /// `cert.key_rotated` and the audit entry applied in the rotation's transaction.
    async fn rotate(
        &self,
        claims: &Claims,
        request: pb::RotateIssuerKeyRequest,
        lang: Lang,
    ) -> Result<pb::RotateIssuerKeyResponse, CertificateError> {
        let wanted = request.office_id.trim().to_owned();
        let office_id = if wanted.is_empty() {
            claims.office.clone()
        } else {
            wanted
        };
        if office_id != claims.office && claims.role != Role::Admin {
            return Err(CertificateError::NotOwnOffice);
        }
        let office = self
            .state
            .reference
            .directory
            .office(&office_id)
            .cloned()
            .ok_or_else(|| {
                CertificateError::Invalid(vec![FieldViolation::new(
                    "office_id",
                    lang.pick("机构不在机构目录中", "the office is not in the directory"),
                )])
            })?;
        let now = self.state.clock.now();
        // The audit entry is the rotated office's, whoever rotated it.
        let actor = Actor::person(&claims.user, claims.role.as_str(), &office.id);
        let rotation = self
            .state
            .keys
            .rotate(&self.state.pool, &office, now, async |conn, rotation| {
                let previous = rotation.previous.as_ref();
                let mut effects = Effects::new();
                effects
                    .emit(
                        &CaseRef::none(),
                        Body::CertificateKeyRotated(CertificateKeyRotated {
                            office_id: office.id.clone(),
                            key_id: rotation.current.key_id.to_string(),
                            previous_key_id: previous
                                .map(|p| p.key_id.to_string())
                                .unwrap_or_default(),
                            previous_valid_until: previous
                                .and_then(|p| p.valid_until)
                                .map(timestamp),
                        }),
                    )
                    .audit(
                        "certificate.key_rotate",
                        "issuer_key",
                        office.id.clone(),
                        previous.map(|p| json!({"key_id": p.key_id.as_str()})),
                        Some(json!({
                            "key_id": rotation.current.key_id.as_str(),
                            "previous_valid_until": previous
                                .and_then(|p| p.valid_until)
                                .map(|t| t.to_rfc3339()),
                        })),
                    );
                // The keystore holds the rotation's transaction: apply inside it.
                tongban_step::apply(
                    conn,
                    EXECUTOR.producer(),
                    &actor,
                    now,
                    &tongban_step::Trace::current(),
                    effects,
                )
                .await
            })
            .await?;
        Ok(pb::RotateIssuerKeyResponse {
            current: Some(issuer_to_pb(&rotation.current)),
            previous: rotation.previous.as_ref().map(issuer_to_pb),
        })
    }
}

#[tonic::async_trait]
impl CertificateService for Certificates {
    #[tracing::instrument(name = "VerifyCertificate", skip_all)]
    async fn verify_certificate(
        &self,
        request: Request<pb::VerifyCertificateRequest>,
    ) -> Result<Response<pb::VerifyCertificateResponse>, Status> {
        let lang = request_lang(request.metadata());
        caller(&request)?;
        let request = request.into_inner();
        let (verification, status) = self
            .verify_token(
                &request.token,
                Expectations {
                    holder_id: Some(&request.expected_holder_id_number),
                    type_code: Some(&request.expected_type),
                },
            )
            .await;
        let valid = verification.is_valid();
        tracing::info!(valid, failures = ?verification.failures, "certificate verified");
        Ok(Response::new(pb::VerifyCertificateResponse {
            valid,
            failures: verification
                .failures
                .iter()
                .map(|f| failure_to_pb(*f).into())
                .collect(),
            certificate: verification
                .certificate
                .as_ref()
                .map(|c| certificate_to_pb(c, status, lang)),
        }))
    }

    #[tracing::instrument(name = "IssueCertificate", skip_all)]
    async fn issue_certificate(
        &self,
        request: Request<pb::IssueCertificateRequest>,
    ) -> Result<Response<pb::IssueCertificateResponse>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        claims.require(&ISSUER_ROLES, lang)?;
        let now = self.state.clock.now();
        let issued = match self.parse_issue(request.get_ref(), now, lang) {
            Ok(input) => self.issue(&claims, input, lang).await,
            Err(err) => Err(err),
        };
        issued.map(Response::new).map_err(|err| err.status(lang))
    }

    #[tracing::instrument(name = "RevokeCertificate", skip_all)]
    async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Result<Response<pb::Certificate>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        claims.require(&ISSUER_ROLES, lang)?;
        self.change_status(&claims, request.into_inner(), lang)
            .await
            .map(Response::new)
            .map_err(|err| err.status(lang))
    }

    #[tracing::instrument(name = "ListTrustedIssuers", skip_all)]
    async fn list_trusted_issuers(
        &self,
        request: Request<pb::ListTrustedIssuersRequest>,
    ) -> Result<Response<pb::ListTrustedIssuersResponse>, Status> {
        caller(&request)?;
        let province = request.into_inner().province.trim().to_owned();
        let wanted = |p: &str| province.is_empty() || province.starts_with(p) || p == province;
        let response = self
            .state
            .keys
            .with_trust(|trust| pb::ListTrustedIssuersResponse {
                roots: trust
                    .roots()
                    .filter(|r| wanted(&r.province))
                    .map(|r| pb::TrustedRoot {
                        province: r.province.clone(),
                        key_id: r.key_id.to_string(),
                        public_key: r.public_key.to_hex(),
                    })
                    .collect(),
                issuers: trust
                    .issuers()
                    .filter(|i| wanted(&i.province))
                    .map(issuer_to_pb)
                    .collect(),
            });
        Ok(Response::new(response))
    }

    #[tracing::instrument(name = "RotateIssuerKey", skip_all)]
    async fn rotate_issuer_key(
        &self,
        request: Request<pb::RotateIssuerKeyRequest>,
    ) -> Result<Response<pb::RotateIssuerKeyResponse>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        claims.require(&ROTATE_ROLES, lang)?;
        self.rotate(&claims, request.into_inner(), lang)
            .await
            .map(Response::new)
            .map_err(|err| err.status(lang))
    }

    #[tracing::instrument(name = "GetCertificate", skip_all)]
    async fn get_certificate(
        &self,
        request: Request<pb::GetCertificateRequest>,
    ) -> Result<Response<pb::Certificate>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        let identifier = request.into_inner().identifier;
        let found = async {
            if CertificateId::parse(identifier.trim()).is_err() {
                return Err(CertificateError::Invalid(vec![FieldViolation::new(
                    "identifier",
                    lang.pick(
                        "证照标识格式或校验位错误",
                        "malformed identifier or bad check character",
                    ),
                )]));
            }
            let (certificate, status) = self
                .load(identifier.trim())
                .await?
                .ok_or(CertificateError::NotFound)?;
            let shown = certificate_to_pb(&certificate, Some(status), lang);
            Ok(if sees_holder(&claims, certificate.issuer_office_id()) {
                shown
            } else {
                without_holder(shown)
            })
        };
        found
            .await
            .map(Response::new)
            .map_err(|err| err.status(lang))
    }
}
