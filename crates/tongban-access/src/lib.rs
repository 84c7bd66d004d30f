//! tongban-access: what a client of the public API shares with the services — signed bearer
//! tokens and the authentication interceptor, public gRPC errors and their google.rpc details,
//! the caller's language, per-deployment key files, and the mappings between the domain's types
//! and the protobuf enums.
//!
//! It links neither sqlx nor async-nats: the `tongban` command depends on it, and the services
//! reach it through `tongban-runtime`, which re-exports every module under the same path.

pub mod auth;
pub mod convert;
pub mod keyfile;
pub mod lang;
pub mod status;
pub mod tls;
