//! tongban-e2e
