//! Per-deployment secret files (密钥文件) in the state directory.
//!
//! Secrets are generated at first start, never committed: the first process that needs a key
//! writes it to a private temporary file and hard-links it into place. `hard_link` fails with
//! `AlreadyExists` when another process won the race, in which case the winner's key is read,
//! so every process of a deployment ends up with the same key. The file holds the key as
//! lower-case hex text with a trailing newline.
//!
//! The deployment's own secrets (token signing, personal data) are loaded with [`Mode`]: in
//! production (`TONGBAN_MODE=production`) a missing one is an error, never a new key — the
//! deployment provisions them, and a service that found none would otherwise start with a key
//! nobody else has. Keys a service makes as part of its work (an issuing office's first
//! certificate key, a rotation) are created in every mode. A key file that its group or others
//! may read is refused in every mode (`chmod 600` it).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tongban_domain::hex::decode as hex_decode;

/// Why a key file could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading, writing or linking the file (or creating its directory) failed.
    #[error("密钥文件 {path} 读写失败 / key file {path} could not be accessed: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The file exists but does not hold non-empty hex text.
    #[error("密钥文件 {path} 内容无效（应为十六进制文本） / key file {path} is not valid hex")]
    Malformed {
        /// The offending file.
        path: PathBuf,
    },
    /// The file holds a key of the wrong size for its purpose.
    #[error(
        "密钥文件 {path} 长度为 {actual} 字节，应为 {expected} 字节 / key file {path} holds {actual} bytes, expected {expected}"
    )]
    WrongLength {
        /// The offending file.
        path: PathBuf,
        /// The size the caller needs.
        expected: usize,
        /// The size found.
        actual: usize,
    },
    /// The file may be read by its group or others.
    #[error(
        "密钥文件 {path} 的权限为 {mode:o}，组或其他用户可读；请执行 chmod 600 / key file {path} has mode {mode:o}, readable by group or others: chmod 600 it"
    )]
    Exposed {
        /// The offending file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Production mode and the file does not exist.
    #[error(
        "生产模式下密钥文件 {path} 不存在，不会自动生成 / key file {path} is missing and production mode (TONGBAN_MODE=production) does not create keys"
    )]
    Missing {
        /// The missing file.
        path: PathBuf,
    },
}

/// Whether missing key files may be created (`TONGBAN_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Development and tests: a missing key is created at first start.
    Development,
    /// Production (`TONGBAN_MODE=production`): a missing key is a start-up error.
    Production,
}

impl Mode {
    /// The mode named by `TONGBAN_MODE` (`production`, else development).
    #[must_use]
    pub fn from_env() -> Self {
        match std::env::var("TONGBAN_MODE") {
            Ok(mode) if mode.trim().eq_ignore_ascii_case("production") => Mode::Production,
            _ => Mode::Development,
        }
    }
}

/// Reads the key stored at `path`, or creates it with `generate` if the file does not exist.
///
/// Missing parent directories are created with mode 0700 and the key file gets mode 0600.
/// Safe to call from several threads or processes at once: all of them return the same key.
///
/// # Errors
///
/// [`KeyFileError::Io`] when the directory or file cannot be created, written or read;
/// [`KeyFileError::Malformed`] when an existing file is not non-empty hex text;
/// [`KeyFileError::Exposed`] when it is readable by group or others.
pub fn load_or_create(
    path: &Path,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, KeyFileError> {
    load_or_create_in(Mode::Development, path, generate)
}

/// [`load_or_create`] in `mode`: in [`Mode::Production`] a missing file is
/// [`KeyFileError::Missing`] and nothing is created.
///
/// # Errors
/// As [`load_or_create`], plus [`KeyFileError::Missing`].
pub fn load_or_create_in(
    mode: Mode,
    path: &Path,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, KeyFileError> {
    match read_private(path) {
        Ok(text) => return decode_file(path, &text),
        Err(KeyFileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    if mode == Mode::Production {
        return Err(KeyFileError::Missing {
            path: path.to_path_buf(),
        });
    }

    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir)?;

    let key = generate();
    let tmp = temp_path(&dir, path);
    write_private(&tmp, &key).inspect_err(|_| {
        // Best effort: a half-written temp file must not linger; its removal error adds nothing.
        let _ = fs::remove_file(&tmp);
    })?;

    let linked = fs::hard_link(&tmp, path);
    // The temp name is only a staging area; once linked (or refused) it is no longer needed.
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            // Another process or thread won the race; its file is complete because it was
            // written and synced before being linked into place.
            let text = read_private(path)?;
            decode_file(path, &text)
        }
        Err(source) => Err(io_error(path, source)),
    }
}

/// Like [`load_or_create`], and also checks that the key is exactly `expected_len` bytes.
///
/// # Errors
///
/// As [`load_or_create`], plus [`KeyFileError::WrongLength`].
pub fn load_or_create_exact(
    path: &Path,
    expected_len: usize,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, KeyFileError> {
    load_or_create_exact_in(Mode::Development, path, expected_len, generate)
}

/// [`load_or_create_exact`] in `mode` (see [`load_or_create_in`]).
///
/// # Errors
/// As [`load_or_create_in`], plus [`KeyFileError::WrongLength`].
pub fn load_or_create_exact_in(
    mode: Mode,
    path: &Path,
    expected_len: usize,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, KeyFileError> {
    let key = load_or_create_in(mode, path, generate)?;
    if key.len() == expected_len {
        Ok(key)
    } else {
        Err(KeyFileError::WrongLength {
            path: path.to_path_buf(),
            expected: expected_len,
            actual: key.len(),
        })
    }
}

/// Lower-case hex encoding (also the lookup digest of personal data in `tongban-runtime`).
pub use tongban_domain::hex::encode as hex_encode;

/// The text of the key file at `path`, refused when its group or others may read it.
fn read_private(path: &Path) -> Result<String, KeyFileError> {
    let file = fs::File::open(path).map_err(|source| io_error(path, source))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|source| io_error(path, source))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed {
                path: path.to_path_buf(),
                mode: mode & 0o7777,
            });
        }
    }
    io::read_to_string(file).map_err(|source| io_error(path, source))
}

fn decode_file(path: &Path, text: &str) -> Result<Vec<u8>, KeyFileError> {
    match hex_decode(text.trim()) {
        Some(key) if !key.is_empty() => Ok(key),
        _ => Err(KeyFileError::Malformed {
            path: path.to_path_buf(),
        }),
    }
}

fn io_error(path: &Path, source: io::Error) -> KeyFileError {
    KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A name in the same directory (so `hard_link` stays on one file system) that no other
/// thread or process uses.
fn temp_path(dir: &Path, path: &Path) -> PathBuf {
    let stem = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "key".to_owned());
    let unique = uuid::Uuid::new_v4().simple();
    dir.join(format!(".{stem}.{}.{unique}.tmp", std::process::id()))
}

fn create_private_dir(dir: &Path) -> Result<(), KeyFileError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| io_error(dir, source))
}

fn write_private(tmp: &Path, key: &[u8]) -> Result<(), KeyFileError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(tmp).map_err(|source| io_error(tmp, source))?;
    let mut text = hex_encode(key);
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| io_error(tmp, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let bytes = [0x00, 0x01, 0xab, 0xff, 0x7f];
        let text = hex_encode(&bytes);
        assert_eq!(text, "0001abff7f");
        assert_eq!(hex_decode(&text).as_deref(), Some(&bytes[..]));
        assert_eq!(hex_decode("ABFF").as_deref(), Some(&[0xab, 0xff][..]));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
    }

    #[test]
    fn creates_then_reads_the_same_key() {
        let dir = std::env::temp_dir().join(format!("tongban-keyfile-{}", uuid::Uuid::new_v4()));
        let path = dir.join("nested").join("test.key");
        let first = load_or_create(&path, || vec![1, 2, 3]).unwrap();
        let second = load_or_create(&path, || vec![9, 9, 9]).unwrap();
        assert_eq!(first, vec![1, 2, 3]);
        assert_eq!(second, first);
        assert_eq!(fs::read_to_string(&path).unwrap(), "010203\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let wrong = load_or_create_exact(&path, 4, || vec![0; 4]);
        assert!(matches!(
            wrong,
            Err(KeyFileError::WrongLength { actual: 3, .. })
        ));
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn refuses_a_key_readable_by_others() {
        let dir = std::env::temp_dir().join(format!("tongban-keyfile-{}", uuid::Uuid::new_v4()));
        let path = dir.join("open.key");
        load_or_create(&path, || vec![1, 2, 3]).unwrap();
        for mode in [0o644, 0o640, 0o604] {
            chmod(&path, mode);
            let err = load_or_create(&path, || vec![9]).unwrap_err();
            assert!(
                matches!(err, KeyFileError::Exposed { mode: m, .. } if m == mode),
                "{err:?}"
            );
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        chmod(&path, 0o400);
        assert_eq!(load_or_create(&path, || vec![9]).unwrap(), vec![1, 2, 3]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn production_never_creates_a_key() {
        let dir = std::env::temp_dir().join(format!("tongban-keyfile-{}", uuid::Uuid::new_v4()));
        let path = dir.join("prod.key");
        let err = load_or_create_in(Mode::Production, &path, || vec![1]).unwrap_err();
        assert!(matches!(err, KeyFileError::Missing { .. }), "{err:?}");
        assert!(err.to_string().contains("TONGBAN_MODE=production"), "{err}");
        assert!(!path.exists());
        // A provisioned key is read as in development.
        load_or_create_in(Mode::Development, &path, || vec![4, 5]).unwrap();
        assert_eq!(
            load_or_create_in(Mode::Production, &path, || vec![1]).unwrap(),
            vec![4, 5]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_malformed_file() {
        let dir = std::env::temp_dir().join(format!("tongban-keyfile-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.key");
        fs::write(&path, "not hex\n").unwrap();
        chmod(&path, 0o600);
        assert!(matches!(
            load_or_create(&path, Vec::new),
            Err(KeyFileError::Malformed { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
