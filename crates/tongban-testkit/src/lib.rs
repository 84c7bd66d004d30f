//! tongban-testkit
