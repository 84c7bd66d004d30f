//! tongban-runtime: what every tongban service needs at its boundary — signed bearer tokens and
//! the authentication interceptor, personal-data encryption, public gRPC errors, checks of the
//! request fields every service shares, the caller's language, and per-deployment key files.

pub mod auth;
pub mod clock;
pub mod convert;
pub mod input;
pub mod keyfile;
pub mod lang;
pub mod parts;
pub mod pii;
pub mod platform;
pub mod server;
pub mod settings;
pub mod shutdown;
pub mod status;
pub mod verification;
pub mod views;
