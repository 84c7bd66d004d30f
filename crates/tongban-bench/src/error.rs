//! Why a benchmark run could not start or finish. Each message is bilingual (中文 / English) like
//! the key errors of `tongban-access`; the binary prints the cause chain.

/// A run that could not be carried out (refusals of single calls during the load are counted in
/// the report, not raised).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A flag or setting is unusable.
    #[error("参数无效 / invalid setting: {0}")]
    Config(String),
    /// An address is not on this machine; the benchmark sends traffic to 127.0.0.1 only.
    #[error("只允许本机地址（127.0.0.1）/ only loopback addresses are allowed: {0}")]
    NotLoopback(String),
    /// The deployment's token signing key is not in the state directory.
    #[error(
        "找不到令牌签名密钥 {0}：请先用 deploy/up.sh 启动服务，或用 --state-dir 指定状态目录 / \
         no token signing key at {0}: start the suite with deploy/up.sh or pass --state-dir"
    )]
    NoSigningKey(String),
    /// The key could not be loaded or a token could not be minted.
    #[error("无法签发令牌 / cannot mint tokens")]
    Token(#[from] tongban_access::auth::AuthError),
    /// A set-up call (catalog look-ups, opening a watch) failed, so no load was started.
    #[error("准备阶段调用失败 / set-up call failed: {what}: {status}")]
    Setup {
        /// The call.
        what: String,
        /// What the service answered.
        status: Box<tonic::Status>,
    },
    /// The catalog says a chosen combination cannot run as a plain online lifecycle.
    #[error("事项组合不适用 / unsuitable matter combination: {0}")]
    Plan(String),
    /// The PostgreSQL floor could not be measured or cleaned up.
    #[error("PostgreSQL 基线测量失败 / PostgreSQL floor failed: {what}")]
    Database {
        /// The step.
        what: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// The JetStream floor could not be measured or cleaned up.
    #[error("JetStream 基线测量失败 / JetStream floor failed: {what}: {reason}")]
    Nats {
        /// The step.
        what: &'static str,
        /// The cause, as text (async-nats has one error type per operation).
        reason: String,
    },
}

impl BenchError {
    /// A failed set-up call.
    pub(crate) fn setup(what: impl Into<String>, status: tonic::Status) -> Self {
        Self::Setup {
            what: what.into(),
            status: Box::new(status),
        }
    }
}
