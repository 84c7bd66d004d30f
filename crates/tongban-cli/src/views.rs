//! Human views of the proto messages, in the chosen language, one module per audience. Each
//! returns the text to print.

pub mod catalog;
mod common;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod hotline;
pub mod office;
pub mod supervision;
pub mod window;

pub use common::{MatterNames, OfficeNames, parts_section};
