//! Where tokens live: the OS keyring (Secret Service) when one answers, otherwise
//! a JSON file readable only by the user. Never the web view, never the log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use gatehouse_types::{ApiError, ErrorCode};

use crate::error::local;
use crate::files::{read_json, write_json};
use crate::types::{TokenStorage, TokenStorageKind};

const SERVICE: &str = "dev.gatehouse.console";

pub struct Vault {
    storage: TokenStorage,
    file: PathBuf,
    /// Serialises read-modify-write of the file.
    lock: Mutex<()>,
}

impl Vault {
    /// Uses the keyring if it works within a few seconds (set, read back, delete a
    /// probe), else the file. `GATEHOUSE_CONSOLE_VAULT=file` forces the file.
    pub fn open(dir: &Path) -> Vault {
        let forced_file = std::env::var("GATEHOUSE_CONSOLE_VAULT").as_deref() == Ok("file");
        let mut vault = Vault::file(dir);
        if !forced_file && keyring_works() {
            vault.storage = TokenStorage {
                kind: TokenStorageKind::Keyring,
                location: format!("OS keyring, service {SERVICE}"),
            };
        }
        let storage = &vault.storage;
        tracing::info!(kind = ?storage.kind, location = %storage.location, "token vault");
        vault
    }

    /// The owner-only file in `dir`, without asking the keyring.
    pub fn file(dir: &Path) -> Vault {
        let file = dir.join("tokens.json");
        Vault {
            storage: TokenStorage {
                kind: TokenStorageKind::File,
                location: file.display().to_string(),
            },
            file,
            lock: Mutex::new(()),
        }
    }

    pub fn storage(&self) -> &TokenStorage {
        &self.storage
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.storage.kind {
            TokenStorageKind::Keyring => match entry(key)?.get_password() {
                Ok(token) => Ok(Some(token)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(local(ErrorCode::StorageFailed, format!("keyring: {e}"))),
            },
            TokenStorageKind::File => {
                let _guard = self.lock.lock();
                let map: BTreeMap<String, String> = read_json(&self.file)?;
                Ok(map.get(key).cloned())
            }
        }
    }

    pub fn set(&self, key: &str, token: &str) -> Result<(), ApiError> {
        match self.storage.kind {
            TokenStorageKind::Keyring => entry(key)?
                .set_password(token)
                .map_err(|e| local(ErrorCode::StorageFailed, format!("keyring: {e}"))),
            TokenStorageKind::File => {
                let _guard = self.lock.lock();
                let mut map: BTreeMap<String, String> = read_json(&self.file)?;
                map.insert(key.to_owned(), token.to_owned());
                write_json(&self.file, &map)
            }
        }
    }

    pub fn delete(&self, key: &str) -> Result<(), ApiError> {
        match self.storage.kind {
            TokenStorageKind::Keyring => match entry(key)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(local(ErrorCode::StorageFailed, format!("keyring: {e}"))),
            },
            TokenStorageKind::File => {
                let _guard = self.lock.lock();
                let mut map: BTreeMap<String, String> = read_json(&self.file)?;
                if map.remove(key).is_some() {
                    write_json(&self.file, &map)?;
                }
                Ok(())
            }
        }
    }
}

fn entry(key: &str) -> Result<keyring::Entry, ApiError> {
    keyring::Entry::new(SERVICE, key)
        .map_err(|e| local(ErrorCode::StorageFailed, format!("keyring: {e}")))
}

/// A keyring that is missing, locked or slow must not hang the console: probe it
/// on a thread with a deadline.
fn keyring_works() -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let probe = || -> Result<bool, keyring::Error> {
            let entry = keyring::Entry::new(SERVICE, "probe")?;
            let value = uuid::Uuid::new_v4().to_string();
            entry.set_password(&value)?;
            let ok = entry.get_password()? == value;
            entry.delete_credential()?;
            Ok(ok)
        };
        let _ = tx.send(probe().unwrap_or(false));
    });
    rx.recv_timeout(Duration::from_secs(3)).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_vault_round_trip_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::file(dir.path());
        assert_eq!(vault.get("a").unwrap(), None);
        vault.set("a", "gh_secret").unwrap();
        vault.set("b", "gh_other").unwrap();
        assert_eq!(vault.get("a").unwrap().as_deref(), Some("gh_secret"));
        let mode = std::fs::metadata(dir.path().join("tokens.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
        vault.delete("a").unwrap();
        vault.delete("a").unwrap();
        assert_eq!(vault.get("a").unwrap(), None);
        assert_eq!(vault.get("b").unwrap().as_deref(), Some("gh_other"));
        std::fs::write(dir.path().join("tokens.json"), "{not json").unwrap();
        assert_eq!(vault.get("b").unwrap_err().code, ErrorCode::StorageFailed);
    }
}
