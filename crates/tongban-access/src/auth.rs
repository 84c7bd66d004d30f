//! Signed bearer tokens (访问令牌) and the gRPC authentication interceptor (DESIGN §6, §8).
//!
//! A token is `tb1.<payload>.<signature>`: the payload is the base64url (no padding) JSON of
//! [`Claims`], the signature is Ed25519 over the ASCII text `tb1.<payload>`, base64url as well.
//! The signing key is a 32-byte seed generated per deployment into the state directory.
//!
//! Verification (issue 13 item 13) accepts a token only if it is signed by this deployment's key
//! and its key id (`kid`, the first 16 hex digits of SM3 of the public key) names that key, it
//! was issued by [`ISSUER`] for [`AUDIENCE`], it lives at most [`MAX_TOKEN_LIFETIME_SECS`]
//! (12 h, every role is a person: there is no machine role), it is neither expired nor from the
//! future, its office is admitted by the directory when the keys carry one
//! ([`TokenKeys::with_directory`], see [`office_admitted`]), and its token id (`jti`) is not in
//! the revocation list `<state_dir>/revoked-tokens.txt` (re-read whenever its size or
//! modification time changes; checked with one `stat` per verification).

use std::collections::HashSet;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sm3::{Digest as _, Sm3};
use tongban_domain::i18n::Lang;
use tongban_domain::reference::ReferenceData;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use crate::keyfile::{self, KeyFileError};
use crate::lang::request_lang;
use crate::status;

/// Version prefix of every token this module mints.
const TOKEN_PREFIX: &str = "tb1";
/// Clock skew tolerated between the minting and the verifying machine, in seconds.
const LEEWAY_SECS: i64 = 60;
/// Longer tokens are rejected before any decoding (a token is a few hundred bytes).
const MAX_TOKEN_LEN: usize = 4096;
/// File name of the signing seed inside the state directory.
const SIGNING_KEY_FILE: &str = "token-signing.key";
/// File name of the revocation list (one revoked token id per line) inside the state directory.
pub const REVOCATION_FILE: &str = "revoked-tokens.txt";
/// Who issues tokens (`iss`): the deployment.
pub const ISSUER: &str = "tongban";
/// Whom tokens are for (`aud`): the services of the deployment.
pub const AUDIENCE: &str = "tongban-services";
/// The longest a token may live (`exp - iat`): 12 hours. Every role is a member of staff.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 12 * 3600;
/// The national 12345 hotline, an office id admin, supervisor and hotline tokens may name.
pub const HOTLINE_OFFICE: &str = "12345";

/// What a caller may do (角色).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 窗口人员: accepts cases at a 通办 window.
    Clerk,
    /// 属地审批人员: reviews and decides cases routed to their office.
    Reviewer,
    /// 12345 热线: masked status queries, complaints, 好差评.
    Hotline,
    /// 督办: overdue cases, 13710 tickets, statistics.
    Supervisor,
    /// 寄递: records courier tracking events.
    Carrier,
    /// 管理员: operates the deployment.
    Admin,
    /// 负责人: head of an office (approves extensions and the like).
    OfficeHead,
    /// 发证机关: issues and revokes e-certificates (电子证照).
    Issuer,
    /// 审计人员: reads the hash-chained audit of every service and verifies it.
    Auditor,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 9] = [
        Role::Clerk,
        Role::Reviewer,
        Role::Hotline,
        Role::Supervisor,
        Role::Carrier,
        Role::Admin,
        Role::OfficeHead,
        Role::Issuer,
        Role::Auditor,
    ];

    /// The wire name: `clerk`, `reviewer`, `hotline`, `supervisor`, `carrier`, `admin`,
    /// `office_head`, `issuer`, `auditor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Reviewer => "reviewer",
            Role::Hotline => "hotline",
            Role::Supervisor => "supervisor",
            Role::Carrier => "carrier",
            Role::Admin => "admin",
            Role::OfficeHead => "office_head",
            Role::Issuer => "issuer",
            Role::Auditor => "auditor",
        }
    }

    /// The Chinese name of the role, for messages.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Clerk => "窗口人员",
            Role::Reviewer => "审批人员",
            Role::Hotline => "12345热线",
            Role::Supervisor => "督办人员",
            Role::Carrier => "寄递人员",
            Role::Admin => "管理员",
            Role::OfficeHead => "单位负责人",
            Role::Issuer => "发证机关",
            Role::Auditor => "审计人员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "未知角色 \"{0}\"，可选：clerk、reviewer、hotline、supervisor、carrier、admin、office_head、issuer、auditor / unknown role \"{0}\"; valid roles: clerk, reviewer, hotline, supervisor, carrier, admin, office_head, issuer, auditor"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Who a token speaks for (令牌声明). Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who issued the token (`iss`), [`ISSUER`].
    #[serde(rename = "iss")]
    pub issuer: String,
    /// Whom the token is for (`aud`), [`AUDIENCE`].
    #[serde(rename = "aud")]
    pub audience: String,
    /// The id of the key that signed it (`kid`); [`TokenKeys::mint`] sets it.
    #[serde(rename = "kid")]
    pub key_id: String,
    /// The person's login name (staff account, not personal data of applicants).
    pub user: String,
    /// What they may do.
    pub role: Role,
    /// The office they act for (office directory id).
    pub office: String,
    /// When the token was minted.
    pub issued_at: i64,
    /// When the token stops being accepted (plus a 60 s leeway).
    pub expires_at: i64,
    /// A random id (`jti`) for audit records and revocation lists.
    #[serde(rename = "jti")]
    pub token_id: String,
}

impl Claims {
    /// Claims for `user` acting as `role` for `office`, valid for `ttl` from `now` (Unix seconds),
    /// with a fresh random token id.
    pub fn new(
        user: impl Into<String>,
        role: Role,
        office: impl Into<String>,
        ttl: Duration,
        now: i64,
    ) -> Self {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Self {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            key_id: String::new(),
            user: user.into(),
            role,
            office: office.into(),
            issued_at: now,
            expires_at: now.saturating_add(ttl),
            token_id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// Whether the caller holds one of `allowed`.
    ///
    /// # Errors
    ///
    /// PERMISSION_DENIED (in `lang`) naming the caller's role and the roles allowed.
    pub fn require(&self, allowed: &[Role], lang: Lang) -> Result<(), Status> {
        if allowed.contains(&self.role) {
            return Ok(());
        }
        let allowed_zh = allowed
            .iter()
            .map(|role| format!("{}（{}）", role.label_zh(), role.as_str()))
            .collect::<Vec<_>>()
            .join("、");
        let allowed_en = allowed
            .iter()
            .map(|role| role.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let zh = format!(
            "无权执行此操作：当前角色为{}（{}），允许的角色：{}",
            self.role.label_zh(),
            self.role.as_str(),
            allowed_zh
        );
        let en = format!(
            "permission denied: role {} may not do this; allowed roles: {}",
            self.role.as_str(),
            allowed_en
        );
        Err(status::permission_denied(lang, &zh, &en))
    }
}

/// Why a token could not be minted or was not accepted, or the key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The signing key file could not be loaded or created.
    #[error("无法加载令牌签名密钥 / cannot load the token signing key")]
    KeyFile(#[from] KeyFileError),
    /// The operating system's random number generator failed.
    #[error("无法生成随机数 / the random number generator failed: {0}")]
    Random(getrandom::Error),
    /// The claims could not be encoded.
    #[error("无法编码令牌声明 / cannot encode token claims")]
    Encode(#[source] serde_json::Error),
    /// The token is not `tb1.<payload>.<signature>` with valid base64url and JSON.
    #[error("令牌格式无效 / malformed token")]
    Malformed,
    /// The signature does not match (tampered, or minted with another deployment's key).
    #[error("令牌签名无效 / token signature is invalid")]
    BadSignature,
    /// The token expired (more than 60 s ago).
    #[error("令牌已过期 / token has expired")]
    Expired,
    /// The token claims to be issued in the future (more than 60 s ahead).
    #[error("令牌尚未生效 / token is not valid yet")]
    NotYetValid,
    /// A claim that must not be empty is empty.
    #[error("令牌缺少 {0} / token has an empty {0}")]
    EmptyClaim(&'static str),
    /// The token names another signing key (another deployment, or a rotated key).
    #[error(
        "令牌由另一把密钥签发（密钥编号 {found}，本服务为 {expected}）/ token was signed by another key (key id {found}, this service uses {expected})"
    )]
    KeyMismatch {
        /// The `kid` of the token.
        found: String,
        /// The `kid` of these keys.
        expected: String,
    },
    /// The token was issued by someone else or for someone else.
    #[error("令牌的签发者或受众不符（{0}）/ token issuer or audience does not match ({0})")]
    WrongIssuerOrAudience(String),
    /// The token lives longer than 12 hours.
    #[error(
        "令牌有效期为 {hours} 小时，超过上限 12 小时 / token lifetime of {hours} h exceeds the 12 h limit"
    )]
    TooLong {
        /// `exp - iat` in hours, rounded up.
        hours: i64,
    },
    /// The token's office is not in the directory.
    #[error("机构目录中没有部门 \"{0}\" / office \"{0}\" is not in the directory")]
    UnknownOffice(String),
    /// The token id is in the revocation list.
    #[error("令牌已被吊销 / token has been revoked")]
    Revoked,
    /// The revocation list cannot be read (tokens are refused until it can).
    #[error("无法读取令牌吊销列表 {path} / cannot read the token revocation list {path}")]
    RevocationList {
        /// The list's path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A token id to revoke is not 32 lower-case hex digits.
    #[error(
        "令牌编号 \"{0}\" 无效，应为 32 位十六进制 / invalid token id \"{0}\": expected 32 hex digits"
    )]
    BadTokenId(String),
}

/// Whether `office` may be named by a token of `role`, per `reference` (decision for issue 13
/// item 13, documented in the README):
///
/// - every office of the directory (机构目录) is admitted for every role;
/// - admins, supervisors, auditors and the hotline act for a whole division, not one office: they may also
///   name a current division code (`140922`), its 政务服务 body `<division>-zwfw` (`140000-zwfw`)
///   or its 12345 centre `<division>-12345`, or the national [`HOTLINE_OFFICE`] (`12345`);
/// - a carrier's "office" is its carrier id (`simulated`), checked by logistics, not here.
pub fn office_admitted(reference: &ReferenceData, role: Role, office: &str) -> bool {
    if role == Role::Carrier || reference.directory.office(office).is_some() {
        return true;
    }
    let division = |code: &str| reference.divisions.parse_current(code).is_ok();
    match role {
        Role::Admin | Role::Supervisor | Role::Hotline | Role::Auditor => {
            office == HOTLINE_OFFICE
                || division(office)
                || office.strip_suffix("-zwfw").is_some_and(division)
                || office.strip_suffix("-12345").is_some_and(division)
        }
        Role::Clerk | Role::Reviewer | Role::OfficeHead | Role::Issuer | Role::Carrier => false,
    }
}

/// The revocation list file and what it held when last read.
struct RevocationList {
    path: PathBuf,
    seen: Mutex<Seen>,
}

/// The list as last read, with the size and modification time it had then.
#[derive(Default)]
struct Seen {
    stamp: Option<(SystemTime, u64)>,
    ids: HashSet<String>,
}

impl RevocationList {
    /// Whether `token_id` is revoked, re-reading the file when its size or mtime changed.
    fn contains(&self, token_id: &str) -> Result<bool, AuthError> {
        let unreadable = |source| AuthError::RevocationList {
            path: self.path.display().to_string(),
            source,
        };
        let stamp = match std::fs::metadata(&self.path) {
            Ok(meta) => Some((meta.modified().map_err(unreadable)?, meta.len())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(unreadable(err)),
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.stamp != stamp {
            let ids = match stamp {
                None => HashSet::new(),
                Some(_) => std::fs::read_to_string(&self.path)
                    .map_err(unreadable)?
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#'))
                    .map(str::to_owned)
                    .collect(),
            };
            *seen = Seen { stamp, ids };
        }
        Ok(seen.ids.contains(token_id))
    }
}

/// Adds `token_id` to the revocation list of the deployment whose state directory is
/// `state_dir`; services refuse the token from their next request on.
///
/// # Errors
///
/// [`AuthError::BadTokenId`] unless `token_id` is 32 hex digits;
/// [`AuthError::RevocationList`] if the file cannot be appended to.
pub fn revoke(state_dir: &Path, token_id: &str) -> Result<PathBuf, AuthError> {
    let token_id = token_id.trim().to_ascii_lowercase();
    if token_id.len() != 32 || !token_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::BadTokenId(token_id));
    }
    let path = state_dir.join(REVOCATION_FILE);
    let failed = |source| AuthError::RevocationList {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(failed)?;
    file.write_all(format!("{token_id}\n").as_bytes())
        .map_err(failed)?;
    file.sync_all().map_err(failed)?;
    Ok(path)
}

/// The Ed25519 key pair that mints and verifies tokens of one deployment.
pub struct TokenKeys {
    signing: SigningKey,
    verifying: VerifyingKey,
    key_id: String,
    reference: Option<Arc<ReferenceData>>,
    revoked: Option<RevocationList>,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The public key is not secret and identifies which deployment's key this is.
        f.debug_struct("TokenKeys")
            .field(
                "public_key",
                &keyfile::hex_encode(self.verifying.as_bytes()),
            )
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let verifying = signing.verifying_key();
        let digest = Sm3::digest(verifying.as_bytes());
        let mut key_id = keyfile::hex_encode(&digest);
        key_id.truncate(16);
        Self {
            signing,
            verifying,
            key_id,
            reference: None,
            revoked: None,
        }
    }

    /// These keys, refusing tokens whose office `reference` does not admit
    /// ([`office_admitted`]).
    #[must_use]
    pub fn with_directory(mut self, reference: Arc<ReferenceData>) -> Self {
        self.reference = Some(reference);
        self
    }

    /// These keys, refusing tokens whose id is listed in the file `path` (one id per line; a
    /// missing file lists none).
    #[must_use]
    pub fn with_revocation_list(mut self, path: PathBuf) -> Self {
        self.revoked = Some(RevocationList {
            path,
            seen: Mutex::new(Seen::default()),
        });
        self
    }

    /// The key id (`kid`): the first 16 hex digits of SM3 of the public key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Fresh random keys that live only in memory (tests, one-off tools).
    ///
    /// # Errors
    ///
    /// [`AuthError::Random`] if the operating system cannot supply randomness.
    pub fn generate() -> Result<Self, AuthError> {
        Ok(Self::from_seed(random_seed()?))
    }

    /// The deployment's keys from `<state_dir>/token-signing.key` (a 32-byte seed as hex),
    /// generating the file on first use (never in production, `TONGBAN_MODE=production`),
    /// honouring the revocation list `<state_dir>/revoked-tokens.txt`.
    ///
    /// # Errors
    ///
    /// [`AuthError::KeyFile`] if the file cannot be read or created, has the wrong size, is
    /// readable by group or others, or is missing in production;
    /// [`AuthError::Random`] if no randomness is available.
    pub fn load_or_create(state_dir: &Path) -> Result<Self, AuthError> {
        let fresh = random_seed()?;
        let path = state_dir.join(SIGNING_KEY_FILE);
        let bytes = keyfile::load_or_create_exact_in(keyfile::Mode::from_env(), &path, 32, || {
            fresh.to_vec()
        })?;
        let seed: [u8; 32] =
            bytes
                .try_into()
                .map_err(|bytes: Vec<u8>| KeyFileError::WrongLength {
                    path: path.clone(),
                    expected: 32,
                    actual: bytes.len(),
                })?;
        Ok(Self::from_seed(seed).with_revocation_list(state_dir.join(REVOCATION_FILE)))
    }

    /// The public key (hex), e.g. to compare deployments.
    pub fn public_key_hex(&self) -> String {
        keyfile::hex_encode(self.verifying.as_bytes())
    }

    /// A signed token carrying `claims`, its key id set to these keys'.
    ///
    /// # Errors
    ///
    /// [`AuthError::TooLong`] if the token would live more than 12 hours;
    /// [`AuthError::Encode`] if the claims cannot be serialised (they always can in practice).
    pub fn mint(&self, claims: &Claims) -> Result<String, AuthError> {
        check_lifetime(claims)?;
        let mut claims = claims.clone();
        claims.key_id.clone_from(&self.key_id);
        let json = serde_json::to_vec(&claims).map_err(AuthError::Encode)?;
        let signed = format!("{TOKEN_PREFIX}.{}", URL_SAFE_NO_PAD.encode(json));
        let signature = self.signing.sign(signed.as_bytes());
        Ok(format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }

    /// The claims of `token` if it is well formed, names these keys' id and is signed by them,
    /// was issued by [`ISSUER`] for [`AUDIENCE`], lives at most 12 hours, is not expired at `now`
    /// (Unix seconds, 60 s leeway either way), names a user and an office (admitted by the
    /// directory, when these keys carry one) and is not revoked.
    ///
    /// # Errors
    ///
    /// [`AuthError::Malformed`], [`AuthError::KeyMismatch`], [`AuthError::BadSignature`],
    /// [`AuthError::WrongIssuerOrAudience`], [`AuthError::TooLong`], [`AuthError::Expired`],
    /// [`AuthError::NotYetValid`], [`AuthError::EmptyClaim`], [`AuthError::UnknownOffice`],
    /// [`AuthError::Revoked`] or [`AuthError::RevocationList`].
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(AuthError::Malformed)?;
        let payload = signed
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|rest| rest.strip_prefix('.'))
            .filter(|payload| !payload.is_empty() && !payload.contains('.'))
            .ok_or(AuthError::Malformed)?;

        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(AuthError::Malformed)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| AuthError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| AuthError::Malformed)?;
        if claims.key_id != self.key_id {
            return Err(AuthError::KeyMismatch {
                found: claims.key_id.chars().take(32).collect(),
                expected: self.key_id.clone(),
            });
        }
        // Nothing of the payload is trusted before the signature is checked.
        self.verifying
            .verify_strict(signed.as_bytes(), &Signature::from_bytes(&signature))
            .map_err(|_| AuthError::BadSignature)?;

        if claims.issuer != ISSUER {
            return Err(AuthError::WrongIssuerOrAudience("iss".to_owned()));
        }
        if claims.audience != AUDIENCE {
            return Err(AuthError::WrongIssuerOrAudience("aud".to_owned()));
        }
        check_lifetime(&claims)?;

        if claims.expires_at.saturating_add(LEEWAY_SECS) < now {
            return Err(AuthError::Expired);
        }
        if claims.issued_at > now.saturating_add(LEEWAY_SECS) {
            return Err(AuthError::NotYetValid);
        }
        if claims.user.trim().is_empty() {
            return Err(AuthError::EmptyClaim("user"));
        }
        if claims.office.trim().is_empty() {
            return Err(AuthError::EmptyClaim("office"));
        }
        if claims.token_id.trim().is_empty() {
            return Err(AuthError::EmptyClaim("jti"));
        }
        if let Some(reference) = &self.reference
            && !office_admitted(reference, claims.role, &claims.office)
        {
            return Err(AuthError::UnknownOffice(claims.office));
        }
        if let Some(revoked) = &self.revoked
            && revoked.contains(&claims.token_id)?
        {
            return Err(AuthError::Revoked);
        }
        Ok(claims)
    }
}

/// [`AuthError::TooLong`] if `claims` live more than [`MAX_TOKEN_LIFETIME_SECS`].
fn check_lifetime(claims: &Claims) -> Result<(), AuthError> {
    let lifetime = claims.expires_at.saturating_sub(claims.issued_at);
    if lifetime > MAX_TOKEN_LIFETIME_SECS {
        return Err(AuthError::TooLong {
            hours: lifetime.saturating_add(3599) / 3600,
        });
    }
    Ok(())
}

fn random_seed() -> Result<[u8; 32], AuthError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(AuthError::Random)?;
    Ok(seed)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The token of an `authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A tonic interceptor: reads `authorization: Bearer <token>`, verifies it, and puts the
/// [`Claims`] into the request extensions; UNAUTHENTICATED otherwise (message in Chinese or
/// English per `accept-language`).
pub fn interceptor(
    keys: Arc<TokenKeys>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static {
    move |mut request: Request<()>| {
        let lang = request_lang(request.metadata());
        let Some(token) = bearer_token(request.metadata()) else {
            return Err(status::unauthenticated(lang));
        };
        match keys.verify(token, unix_now()) {
            Ok(claims) => {
                request.extensions_mut().insert(claims);
                Ok(request)
            }
            Err(AuthError::Expired) => Err(status::unauthenticated_because(
                lang,
                "访问令牌已过期，请重新签发（tongban token mint）",
                "bearer token has expired; mint a new one (tongban token mint)",
            )),
            Err(AuthError::KeyMismatch { found, expected }) => {
                Err(status::unauthenticated_because(
                    lang,
                    &format!(
                        "访问令牌由另一把密钥签发（密钥编号 {found}），本服务的密钥编号为 {expected}；请用本部署的密钥重新签发"
                    ),
                    &format!(
                        "bearer token was signed by another key (key id {found}); this service uses key id {expected}: mint one with this deployment's key"
                    ),
                ))
            }
            Err(AuthError::Revoked) => Err(status::unauthenticated_because(
                lang,
                "访问令牌已被吊销",
                "bearer token has been revoked",
            )),
            Err(AuthError::TooLong { .. }) => Err(status::unauthenticated_because(
                lang,
                "访问令牌有效期超过 12 小时，不予接受",
                "bearer token lives longer than 12 hours and is not accepted",
            )),
            Err(AuthError::UnknownOffice(office)) => Err(status::unauthenticated_because(
                lang,
                &format!("访问令牌的部门 \"{office}\" 不在机构目录中"),
                &format!("the bearer token's office \"{office}\" is not in the directory"),
            )),
            Err(err) => {
                // The token itself is a credential: log only why it was refused.
                tracing::info!(reason = %err, "rejected bearer token");
                Err(status::unauthenticated(lang))
            }
        }
    }
}

/// The verified caller of a request that passed [`interceptor`].
///
/// # Errors
///
/// UNAUTHENTICATED if the request carries no verified claims (the service was wired without
/// the interceptor, or this is a request built by hand).
pub fn caller<T>(request: &Request<T>) -> Result<Claims, Status> {
    request
        .extensions()
        .get::<Claims>()
        .cloned()
        .ok_or_else(|| status::unauthenticated(request_lang(request.metadata())))
}

/// The verified caller of a request and the language they asked for (`accept-language`): how
/// every handler starts.
///
/// # Errors
///
/// UNAUTHENTICATED, as [`caller`].
pub fn caller_and_lang<T>(request: &Request<T>) -> Result<(Claims, Lang), Status> {
    let lang = request_lang(request.metadata());
    Ok((caller(request)?, lang))
}

/// [`caller_and_lang`] for a handler open to `roles` only.
///
/// # Errors
///
/// UNAUTHENTICATED, as [`caller`]; PERMISSION_DENIED, as [`Claims::require`].
pub fn authorize<T>(request: &Request<T>, roles: &[Role]) -> Result<(Claims, Lang), Status> {
    let (claims, lang) = caller_and_lang(request)?;
    claims.require(roles, lang)?;
    Ok((claims, lang))
}

/// Answers a request whose whole work is `handler`, called with the service's `state`, the
/// verified caller, the request message and the caller's language.
///
/// # Errors
///
/// UNAUTHENTICATED, as [`caller`], or what `handler` returns.
pub async fn delegate<S, Req, Res>(
    state: &S,
    request: Request<Req>,
    handler: impl AsyncFnOnce(&S, &Claims, &Req, Lang) -> Result<Res, Status>,
) -> Result<tonic::Response<Res>, Status> {
    let (claims, lang) = caller_and_lang(&request)?;
    handler(state, &claims, request.get_ref(), lang)
        .await
        .map(tonic::Response::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        let err = "boss".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("office_head"));
    }

    #[test]
    fn require_names_roles() {
        let claims = Claims::new(
            "wang",
            Role::Hotline,
            "140922-zwfw",
            Duration::from_secs(60),
            0,
        );
        assert!(claims.require(&[Role::Hotline], Lang::Zh).is_ok());
        let denied = claims
            .require(&[Role::Clerk, Role::Admin], Lang::En)
            .unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert_eq!(
            denied.message(),
            "permission denied: role hotline may not do this; allowed roles: clerk, admin"
        );
    }

    /// A request as the interceptor passes it on: verified claims, an `accept-language`.
    fn verified_request(role: Role, accept_language: &str) -> Request<String> {
        let mut request = Request::new("GetThing".to_owned());
        request.metadata_mut().insert(
            "accept-language",
            accept_language.parse().expect("ASCII header value"),
        );
        request.extensions_mut().insert(Claims::new(
            "li",
            role,
            "640100-gongan",
            Duration::from_secs(60),
            0,
        ));
        request
    }

    #[test]
    fn handlers_start_with_caller_language_and_roles() {
        let request = verified_request(Role::Reviewer, "en-US");
        let (claims, lang) = caller_and_lang(&request).unwrap();
        assert_eq!((claims.user.as_str(), claims.role), ("li", Role::Reviewer));
        assert!(matches!(lang, Lang::En));

        let (claims, _) = authorize(&request, &[Role::Reviewer, Role::OfficeHead]).unwrap();
        assert_eq!(claims.office, "640100-gongan");
        let denied = authorize(&request, &[Role::OfficeHead]).unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(
            denied
                .message()
                .starts_with("permission denied: role reviewer")
        );

        let mut anonymous = Request::new(());
        anonymous
            .metadata_mut()
            .insert("accept-language", "en".parse().expect("ASCII header value"));
        let refused = authorize(&anonymous, &Role::ALL).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        assert!(refused.message().starts_with("unauthenticated"));
    }

    #[tokio::test]
    async fn delegate_hands_the_caller_to_the_handler() {
        let answered = delegate(
            &"state",
            verified_request(Role::Hotline, "zh-CN"),
            async |state: &&str, claims: &Claims, req: &String, lang: Lang| {
                Ok(format!(
                    "{state} {} {req} {}",
                    claims.user,
                    lang.pick("中文", "English")
                ))
            },
        )
        .await
        .unwrap();
        assert_eq!(answered.into_inner(), "state li GetThing 中文");

        let refused = delegate(
            &"state",
            verified_request(Role::Hotline, "en"),
            async |_: &&str, claims: &Claims, _: &String, lang: Lang| -> Result<(), Status> {
                claims.require(&[Role::Admin], lang)
            },
        )
        .await
        .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn bearer_header_parsing() {
        let mut metadata = MetadataMap::new();
        assert_eq!(bearer_token(&metadata), None);
        metadata.insert("authorization", "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&metadata), Some("abc"));
        metadata.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&metadata), None);
    }

    #[test]
    fn debug_hides_the_seed() {
        let keys = TokenKeys::from_seed([7; 32]);
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&keyfile::hex_encode(&[7; 32])));
        assert!(shown.contains(&keys.public_key_hex()));
    }
}
