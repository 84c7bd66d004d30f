//! tongban-runtime: what every tongban service needs at its boundary — signed bearer tokens and
//! the authentication interceptor, personal-data encryption, public gRPC errors, checks of the
//! request fields every service shares, the caller's language, and per-deployment key files.
//!
//! The pieces a client shares (tokens, public errors, language, key files, proto mappings) live
//! in `tongban-access`, which links neither sqlx nor async-nats; they are re-exported here under
//! their old paths so that a service names them as before.

pub use tongban_access::{auth, keyfile, lang, status, tls};

pub mod audit;
pub mod clock;
pub mod decode_status;
mod timeline;

/// Mappings between the domain's types and the protobuf enums of the public API: those of
/// `tongban_access::convert`, and the entry of a stored timeline line.
pub mod convert {
    pub use crate::timeline::timeline_entry;
    pub use tongban_access::convert::*;
}
pub mod input;
pub mod metrics;
pub mod ops;
pub mod parts;
pub mod pii;
pub mod platform;
pub mod server;
pub mod settings;
pub mod shutdown;
pub mod verification;
pub mod views;
