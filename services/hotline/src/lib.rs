//! tongban-hotline
