//! The checkpoint key: 32 random bytes, hex, in a file only the owner can read,
//! never in the database whose checkpoints it signs.

use std::path::Path;

use gatehouse_audit::{CheckpointPolicy, CheckpointSigner, Sealer};
use rand::RngCore;

use crate::config::Config;
use crate::error::ServerError;

/// Loads the configured key, creating it on first start.
pub fn load_or_create_sealer(config: &Config) -> Result<Sealer, ServerError> {
    let path = config.effective_audit_key_file();
    Ok(sealer(config, load_or_create(&path)?))
}

/// Loads the configured key for an offline command, which appends its own record
/// (and may sign a checkpoint); never creates one.
pub fn load_sealer(config: &Config) -> Result<Sealer, ServerError> {
    let path = config.effective_audit_key_file();
    if !path.exists() {
        return Err(key_error(
            &path,
            "does not exist (the trail is signed with the key the server created: \
             run `gatehouse serve` or `gatehouse init` once, or point [audit] key_file at it)",
        ));
    }
    Ok(sealer(config, load_or_create(&path)?))
}

fn sealer(config: &Config, signer: CheckpointSigner) -> Sealer {
    Sealer {
        signer,
        policy: CheckpointPolicy {
            every_records: config.audit.checkpoint_every_records,
            every_us: i64::try_from(config.audit.checkpoint_every_seconds)
                .unwrap_or(3600)
                .saturating_mul(1_000_000),
        },
    }
}

fn key_error(path: &Path, reason: impl std::fmt::Display) -> ServerError {
    ServerError::AuditKey {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn load_or_create(path: &Path) -> Result<CheckpointSigner, ServerError> {
    let text = crate::secret_file::read_or_create(path, || {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(secret.as_mut());
        zeroize::Zeroizing::new(hex::encode(secret.as_ref()))
    })
    .map_err(|e| key_error(path, e))?;
    let bytes = hex::decode(text.as_str()).map_err(|_| key_error(path, "is not hex"))?;
    let secret = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| key_error(path, "must hold 32 bytes (64 hex digits)"))?;
    Ok(CheckpointSigner::from_secret(&secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_then_reused_and_loose_permissions_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a.verifying_key(), b.verifying_key());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_or_create(&path).is_err());
        std::fs::write(dir.path().join("bad"), "zz").unwrap();
        std::fs::set_permissions(
            dir.path().join("bad"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let e = load_or_create(&dir.path().join("bad")).err().unwrap();
        assert!(e.to_string().contains("not hex"), "{e}");
    }
}
