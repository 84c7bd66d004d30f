//! tongban-review
