//! The one error type for loading reference-data files (divisions, holidays, catalog, directory,
//! agreements), and a helper that reads such a file.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::i18n::{Lang, Localized};

/// Why a reference-data file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file or directory could not be read.
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but its content is wrong.
    Invalid {
        /// The file name or a label naming the input (e.g. `deploy/catalog/matters.toml`).
        source_name: String,
        /// The 1-based line of the problem, when known.
        line: Option<usize>,
        /// What is wrong, naming the field or value.
        reason: String,
    },
}

impl DataError {
    /// An [`DataError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`DataError::Invalid`] for the input named `source_name`.
    pub fn invalid(
        source_name: impl Into<String>,
        line: Option<usize>,
        reason: impl Into<String>,
    ) -> Self {
        DataError::Invalid {
            source_name: source_name.into(),
            line,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for DataError {
    /// `deploy/catalog/matters.toml: line 12: <reason>`, or `<path>: <io error>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            DataError::Invalid {
                source_name,
                line: Some(line),
                reason,
            } => write!(f, "{source_name}: line {line}: {reason}"),
            DataError::Invalid {
                source_name,
                line: None,
                reason,
            } => write!(f, "{source_name}: {reason}"),
        }
    }
}

impl Localized for DataError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (DataError::Io { path, source }, Lang::Zh) => {
                format!("无法读取 {}：{source}", path.display())
            }
            (DataError::Io { path, source }, Lang::En) => {
                format!("cannot read {}: {source}", path.display())
            }
            (
                DataError::Invalid {
                    source_name,
                    line: Some(line),
                    reason,
                },
                Lang::Zh,
            ) => format!("{source_name}：第 {line} 行：{reason}"),
            (
                DataError::Invalid {
                    source_name,
                    line: None,
                    reason,
                },
                Lang::Zh,
            ) => format!("{source_name}：{reason}"),
            (DataError::Invalid { .. }, Lang::En) => self.to_string(),
        }
    }
}

/// Reads a UTF-8 reference-data file.
///
/// # Errors
/// [`DataError::Io`] naming `path` when it cannot be read or is not UTF-8.
pub fn read_text(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::io(path, source))
}

/// The files directly inside `dir` whose name ends in `.{extension}`, sorted by name.
///
/// # Errors
/// [`DataError::Io`] when the directory cannot be listed.
pub fn files_with_extension(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DataError::io(dir, source))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| DataError::io(dir, source))?.path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
