//! CertificateService handlers: verify (any authenticated caller), issue and change status
//! (发证机关 roles, for their own office's certificates), the trust list, one certificate.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use tongban_cert::certificate::{
    self as cert, Certificate, CertificateStatus, Draft, Field, HolderId,
};
use tongban_cert::identifier::{CertificateId, TypeCode};
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
use tongban_runtime::status::{self, FieldViolation};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{SERVICE, State};

/// Roles that may issue certificates and change their status.
const ISSUER_ROLES: [Role; 3] = [Role::Issuer, Role::OfficeHead, Role::Admin];
/// Roles that may rotate an office's signing key: Admin any office, the others their own.
const ROTATE_ROLES: [Role; 3] = [Role::Admin, Role::OfficeHead, Role::Issuer];
/// How long the status look-up of a verification may take before it fails closed.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);
/// Validity when the issuer gives no end (years).
const DEFAULT_VALIDITY_YEARS: i64 = 20;
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

fn internal<E: std::error::Error + 'static>(lang: Lang) -> impl Fn(E) -> Status {
    move |err| status::internal(lang, &err)
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
async fn stored_status(
    pool: &sqlx::PgPool,
    identifier: &str,
) -> Result<Option<CertificateStatus>, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT status FROM certificates WHERE identifier = $1")
            .bind(identifier)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(code,)| CertificateStatus::from_code(&code)))
}

impl Certificates {
    /// Verifies `token` (any failure listed), with the status from the registry.
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

    /// Publishes `body` for `case_id` (nil when none) in `conn`'s transaction.
    async fn publish(
        conn: &mut sqlx::PgConnection,
        case_id: Option<Uuid>,
        actor: &str,
        at: DateTime<Utc>,
        body: Body,
    ) -> Result<(), tongban_store::StoreError> {
        let case = tongban_step::CaseRef::new(case_id.unwrap_or(Uuid::nil()), "", None);
        let mut effects = tongban_step::Effects::new();
        effects.emit(&case, body);
        tongban_step::apply(
            conn,
            SERVICE,
            &tongban_step::Actor::person(actor, "", ""),
            at,
            &tongban_step::Trace::current(),
            effects,
        )
        .await
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

/// Who issues: the caller of IssueCertificate, or this service for a case's result certificate.
pub(crate) struct Issuing<'a> {
    /// User from the token, or the service.
    pub actor: &'a str,
    /// Role of the actor (for the audit log).
    pub role: &'a str,
    /// The issuing office: its key signs.
    pub office: &'a Office,
}

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IssueError {
    /// The office's signing key could not be had.
    #[error("signing key")]
    Keys(#[from] crate::keystore::KeystoreError),
    /// The database failed.
    #[error("database")]
    Database(#[from] sqlx::Error),
    /// The outbox or audit log failed.
    #[error("store")]
    Store(#[from] tongban_store::StoreError),
    /// The identifier could not be formed.
    #[error("identifier")]
    Identifier(#[from] tongban_cert::identifier::IdentifierError),
    /// The certificate's content is not acceptable.
    #[error("certificate: {0}")]
    Certificate(#[from] tongban_cert::certificate::CertificateError),
    /// The token could not be encoded.
    #[error("token")]
    Token(#[from] token::Malformed),
    /// The signing key was rotated out while issuing, twice in a row.
    #[error("signing key {0} was rotated out")]
    KeyRetired(String),
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
    IssueError,
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
            return Err(IssueError::KeyRetired(key.id().to_string()));
        }
    }
}

/// Issues a certificate signed with `who.office`'s key inside `conn`'s transaction: stores it,
/// publishes `cert.issued` (with the token sealed when it is a case's result) and audits it.
pub(crate) async fn issue_in(
    state: &State,
    conn: &mut sqlx::PgConnection,
    who: &Issuing<'_>,
    input: IssueInput,
) -> Result<(Certificate, String), IssueError> {
    let office = who.office;
    let (key, issuer) = current_signer(state, conn, office).await?;
    let now = state.clock.now();
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
    Certificates::publish(
        conn,
        input.case_id,
        who.actor,
        now,
        Body::CertificateIssued(CertificateIssued {
            identifier: id_text.clone(),
            type_code: certificate.type_code().to_string(),
            issuer_office_id: office.id.clone(),
            sealed_token,
        }),
    )
    .await?;
    tongban_store::audit(
        conn,
        &tongban_store::AuditRecord {
            actor: who.actor,
            role: who.role,
            office_id: &office.id,
            action: "certificate.issue",
            entity: "certificate",
            entity_id: &id_text,
            before: None,
            after: Some(json!({"status": CertificateStatus::Valid.code(),
                               "type_code": certificate.type_code().as_str(),
                               "holder": certificate.holder_id().masked()})),
        },
    )
    .await?;
    tracing::info!(identifier = %id_text, key_id = %key.id(), "certificate issued");
    Ok((certificate, token_text))
}

impl Certificates {
    fn parse_issue(
        &self,
        request: &pb::IssueCertificateRequest,
        now: DateTime<Utc>,
        lang: Lang,
    ) -> Result<IssueInput, Status> {
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
            .unwrap_or(valid_from + TimeDelta::days(365 * DEFAULT_VALIDITY_YEARS));
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
            _ => Err(status::invalid_argument(lang, errors)),
        }
    }

    async fn issue(
        &self,
        claims: &Claims,
        input: IssueInput,
        lang: Lang,
    ) -> Result<pb::IssueCertificateResponse, Status> {
        let office = self
            .state
            .reference
            .directory
            .office(&claims.office)
            .cloned()
            .ok_or_else(|| {
                status::permission_denied(
                    lang,
                    "令牌所属机构不在机构目录中，不能发证",
                    "the token's office is not in the directory; it cannot issue certificates",
                )
            })?;
        let mut tx = self.state.pool.begin().await.map_err(internal(lang))?;
        let issuing = Issuing {
            actor: &claims.user,
            role: claims.role.as_str(),
            office: &office,
        };
        let issued = issue_in(&self.state, &mut tx, &issuing, input).await;
        let (certificate, token_text) = match issued {
            Ok(done) => done,
            Err(IssueError::Certificate(err)) => {
                return Err(status::invalid_argument(
                    lang,
                    vec![FieldViolation::new("certificate", err.to_string())],
                ));
            }
            Err(err) => return Err(status::internal(lang, &err)),
        };
        tx.commit().await.map_err(internal(lang))?;
        Ok(pb::IssueCertificateResponse {
            certificate: Some(certificate_to_pb(
                &certificate,
                Some(CertificateStatus::Valid),
                lang,
            )),
            token: token_text,
        })
    }

    /// The stored certificate `identifier` with its status.
    async fn load(
        &self,
        identifier: &str,
        lang: Lang,
    ) -> Result<Option<(Certificate, CertificateStatus)>, Status> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT token, status FROM certificates WHERE identifier = $1")
                .bind(identifier)
                .fetch_optional(&self.state.pool)
                .await
                .map_err(internal(lang))?;
        let Some((token_text, code)) = row else {
            return Ok(None);
        };
        let status = CertificateStatus::from_code(&code).unwrap_or(CertificateStatus::Invalidated);
        let (verification, _) = self
            .verify_token(&token_text, Expectations::default())
            .await;
        Ok(verification.certificate.map(|c| (c, status)))
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
        let input = self.parse_issue(request.get_ref(), now, lang)?;
        Ok(Response::new(self.issue(&claims, input, lang).await?))
    }

    #[tracing::instrument(name = "RevokeCertificate", skip_all)]
    async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Result<Response<pb::Certificate>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        claims.require(&ISSUER_ROLES, lang)?;
        let request = request.into_inner();
        let mut errors = Vec::new();
        let to = status_from_pb(request.status());
        if to.is_none() {
            errors.push(FieldViolation::new(
                "status",
                lang.pick("请给出新状态（01–07）", "give the new status (01-07)"),
            ));
        }
        let reason = request.reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            errors.push(FieldViolation::new(
                "reason",
                lang.pick(
                    "请填写原因（最长 500 字）",
                    "a reason (at most 500 characters) is required",
                ),
            ));
        }
        let (Some(to), true) = (to, errors.is_empty()) else {
            return Err(status::invalid_argument(lang, errors));
        };
        let not_found = || status::not_found(lang, "证照", "certificate");
        let mut tx = self.state.pool.begin().await.map_err(internal(lang))?;
        let row: Option<(String, String, Option<Uuid>)> = sqlx::query_as(
            "SELECT status, issuer_office_id, case_id FROM certificates
             WHERE identifier = $1 FOR UPDATE",
        )
        .bind(&request.identifier)
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal(lang))?;
        let Some((from_code, office_id, case_id)) = row else {
            return Err(not_found());
        };
        // Another office's certificate is not the caller's to change, nor to learn about.
        if office_id != claims.office && claims.role != Role::Admin {
            return Err(not_found());
        }
        let from =
            CertificateStatus::from_code(&from_code).unwrap_or(CertificateStatus::Invalidated);
        let allowed = match from {
            CertificateStatus::Valid => to != CertificateStatus::Valid,
            CertificateStatus::Suspended => to != CertificateStatus::Suspended,
            _ => false,
        };
        if !allowed {
            let zh = format!(
                "证照状态为 {} {}，不能改为 {} {}",
                from.code(),
                from.label_zh(),
                to.code(),
                to.label_zh()
            );
            let en = format!(
                "the certificate is {} ({}); it cannot become {} ({})",
                from.code(),
                from.label_en(),
                to.code(),
                to.label_en()
            );
            return Err(status::failed_precondition(
                lang.pick(&zh, &en).to_owned(),
                vec![status::PreconditionViolation::new(
                    "CERTIFICATE_STATUS",
                    request.identifier.clone(),
                    lang.pick(&zh, &en),
                )],
            ));
        }
        let now = self.state.clock.now();
        sqlx::query("UPDATE certificates SET status = $2 WHERE identifier = $1")
            .bind(&request.identifier)
            .bind(to.code())
            .execute(&mut *tx)
            .await
            .map_err(internal(lang))?;
        sqlx::query(
            "INSERT INTO certificate_status_changes
                 (identifier, from_status, to_status, reason, actor, office_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&request.identifier)
        .bind(from.code())
        .bind(to.code())
        .bind(reason)
        .bind(&claims.user)
        .bind(&claims.office)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal(lang))?;
        Self::publish(
            &mut tx,
            case_id,
            &claims.user,
            now,
            Body::CertificateRevoked(CertificateRevoked {
                identifier: request.identifier.clone(),
                status: to.code().to_owned(),
                reason: reason.to_owned(),
            }),
        )
        .await
        .map_err(internal(lang))?;
        tongban_store::audit(
            &mut tx,
            &tongban_store::AuditRecord {
                actor: &claims.user,
                role: claims.role.as_str(),
                office_id: &claims.office,
                action: "certificate.status",
                entity: "certificate",
                entity_id: &request.identifier,
                before: Some(json!({"status": from.code()})),
                after: Some(json!({"status": to.code(), "reason": reason})),
            },
        )
        .await
        .map_err(internal(lang))?;
        tx.commit().await.map_err(internal(lang))?;
        tracing::info!(identifier = %request.identifier, from = from.code(), to = to.code(), "certificate status changed");
        let (certificate, status) = self
            .load(&request.identifier, lang)
            .await?
            .ok_or_else(not_found)?;
        Ok(Response::new(certificate_to_pb(
            &certificate,
            Some(status),
            lang,
        )))
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
        let wanted = request.into_inner().office_id.trim().to_owned();
        let office_id = if wanted.is_empty() {
            claims.office.clone()
        } else {
            wanted
        };
        if office_id != claims.office && claims.role != Role::Admin {
            return Err(status::permission_denied(
                lang,
                "只能轮换本机构的签名密钥",
                "only your own office's signing key can be rotated",
            ));
        }
        let office = self
            .state
            .reference
            .directory
            .office(&office_id)
            .cloned()
            .ok_or_else(|| {
                status::invalid_argument(
                    lang,
                    vec![FieldViolation::new(
                        "office_id",
                        lang.pick("机构不在机构目录中", "the office is not in the directory"),
                    )],
                )
            })?;
        let now = self.state.clock.now();
        let rotation = self
            .state
            .keys
            .rotate(&self.state.pool, &office, now, async |conn, rotation| {
                let previous = rotation.previous.as_ref();
                Self::publish(
                    conn,
                    None,
                    &claims.user,
                    now,
                    Body::CertificateKeyRotated(CertificateKeyRotated {
                        office_id: office.id.clone(),
                        key_id: rotation.current.key_id.to_string(),
                        previous_key_id: previous.map(|p| p.key_id.to_string()).unwrap_or_default(),
                        previous_valid_until: previous.and_then(|p| p.valid_until).map(timestamp),
                    }),
                )
                .await?;
                tongban_store::audit(
                    conn,
                    &tongban_store::AuditRecord {
                        actor: &claims.user,
                        role: claims.role.as_str(),
                        office_id: &office.id,
                        action: "certificate.key_rotate",
                        entity: "issuer_key",
                        entity_id: &office.id,
                        before: previous.map(|p| json!({"key_id": p.key_id.as_str()})),
                        after: Some(json!({
                            "key_id": rotation.current.key_id.as_str(),
                            "previous_valid_until": previous
                                .and_then(|p| p.valid_until)
                                .map(|t| t.to_rfc3339()),
                        })),
                    },
                )
                .await
            })
            .await
            .map_err(internal(lang))?;
        Ok(Response::new(pb::RotateIssuerKeyResponse {
            current: Some(issuer_to_pb(&rotation.current)),
            previous: rotation.previous.as_ref().map(issuer_to_pb),
        }))
    }

    #[tracing::instrument(name = "GetCertificate", skip_all)]
    async fn get_certificate(
        &self,
        request: Request<pb::GetCertificateRequest>,
    ) -> Result<Response<pb::Certificate>, Status> {
        let lang = request_lang(request.metadata());
        caller(&request)?;
        let identifier = request.into_inner().identifier;
        if CertificateId::parse(identifier.trim()).is_err() {
            return Err(status::invalid_argument(
                lang,
                vec![FieldViolation::new(
                    "identifier",
                    lang.pick(
                        "证照标识格式或校验位错误",
                        "malformed identifier or bad check character",
                    ),
                )],
            ));
        }
        let (certificate, status) = self
            .load(identifier.trim(), lang)
            .await?
            .ok_or_else(|| status::not_found(lang, "证照", "certificate"))?;
        Ok(Response::new(certificate_to_pb(
            &certificate,
            Some(status),
            lang,
        )))
    }
}
