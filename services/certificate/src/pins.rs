//! 省级根 pinned in configuration: the provincial roots this deployment trusts, public keys
//! only, in `deploy/certificate/trust.toml` (other provinces' roots, as published by their
//! operators) and `$TONGBAN_STATE_DIR/certificate/trust.toml` (this deployment's own roots,
//! pinned when they are generated). The `trust_roots` table is a record, never a source of
//! trust: a root there that is not pinned here endorses nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tongban_cert::keys::{KeyId, PublicKey};
use tongban_cert::trust::{Root, root_owner};

use crate::keystore::KeystoreError;

/// Name of the pin file, in `deploy/certificate/` and `$TONGBAN_STATE_DIR/certificate/`.
pub const FILE: &str = "trust.toml";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinFile {
    #[serde(default)]
    root: Vec<PinnedRoot>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinnedRoot {
    /// Two-digit province code.
    province: String,
    /// Uncompressed SEC1 point, hex.
    public_key: String,
}

/// The pinned roots, by province.
#[derive(Debug, Clone, Default)]
pub struct Pins {
    roots: BTreeMap<String, Root>,
}

impl Pins {
    /// Reads both pin files (a missing file pins nothing).
    ///
    /// # Errors
    /// [`KeystoreError::Pin`] for a file that does not read or parse, a bad province or key,
    /// or two different roots pinned for one province.
    pub fn load(files: &[PathBuf]) -> Result<Self, KeystoreError> {
        let mut pins = Self::default();
        for file in files {
            for pinned in read(file)?.root {
                let root = to_root(&pinned).map_err(|why| pin_error(file, &why))?;
                if let Some(other) = pins.roots.get(&root.province)
                    && other.public_key != root.public_key
                {
                    return Err(pin_error(
                        file,
                        &format!(
                            "province {} is pinned to two different roots",
                            root.province
                        ),
                    ));
                }
                pins.roots.insert(root.province.clone(), root);
            }
        }
        Ok(pins)
    }

    /// The pinned root of `province`.
    pub fn root(&self, province: &str) -> Option<&Root> {
        self.roots.get(province)
    }

    /// Every pinned root.
    pub fn roots(&self) -> impl Iterator<Item = &Root> {
        self.roots.values()
    }

    /// Pins `public` as `province`'s root in `file` (written whole, then renamed into place).
    ///
    /// # Errors
    /// [`KeystoreError::Pin`] when the file cannot be read or written.
    pub fn pin(
        &mut self,
        file: &Path,
        province: &str,
        public: &PublicKey,
    ) -> Result<Root, KeystoreError> {
        let mut contents = read(file)?;
        contents.root.retain(|r| r.province != province);
        contents.root.push(PinnedRoot {
            province: province.to_owned(),
            public_key: public.to_hex(),
        });
        let text = toml::to_string(&contents).map_err(|err| pin_error(file, &err.to_string()))?;
        let text = format!(
            "# 省级根 pinned by this deployment when it generated them: public keys only.\n{text}"
        );
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|err| pin_error(file, &err.to_string()))?;
        }
        let partial = file.with_extension("toml.partial");
        std::fs::write(&partial, text).map_err(|err| pin_error(file, &err.to_string()))?;
        std::fs::rename(&partial, file).map_err(|err| pin_error(file, &err.to_string()))?;
        let root = Root {
            province: province.to_owned(),
            key_id: KeyId::of(&root_owner(province), public)?,
            public_key: public.clone(),
        };
        self.roots.insert(province.to_owned(), root.clone());
        Ok(root)
    }
}

fn read(file: &Path) -> Result<PinFile, KeystoreError> {
    match std::fs::read_to_string(file) {
        Ok(text) => toml::from_str(&text).map_err(|err| pin_error(file, &err.to_string())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(PinFile::default()),
        Err(err) => Err(pin_error(file, &err.to_string())),
    }
}

fn to_root(pinned: &PinnedRoot) -> Result<Root, String> {
    let province = pinned.province.trim();
    if province.len() != 2 || !province.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("province {province:?} is not two digits"));
    }
    let public_key = PublicKey::from_hex(pinned.public_key.trim())
        .map_err(|_| format!("the root of {province} is not an SM2 public key"))?;
    let key_id = KeyId::of(&root_owner(province), &public_key)
        .map_err(|_| format!("the root of {province} gives no key id"))?;
    Ok(Root {
        province: province.to_owned(),
        key_id,
        public_key,
    })
}

fn pin_error(file: &Path, why: &str) -> KeystoreError {
    KeystoreError::Pin(format!("{}: {why}", file.display()))
}
