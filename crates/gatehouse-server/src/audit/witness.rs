//! The witness: the newest checkpoint, copied out of the database into a file
//! beside the checkpoint key. Checkpoints in the database vouch for the records
//! before them, but someone who can write the database can also delete the newest
//! records together with the checkpoints that cover them, or every checkpoint and
//! recompute the chain. The witness is out of their reach (as the key is), and
//! verification adds it to the checkpoints it checks, so either shows as a
//! truncation or a rewrite back to the witnessed record.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use gatehouse_audit::Checkpoint;
use serde::{Deserialize, Serialize};

use crate::error::ServerError;

#[derive(Serialize, Deserialize)]
struct WitnessFile {
    seq: u64,
    head: String,
    time_us: i64,
    key_id: String,
    signature: String,
}

fn witness_error(path: &Path, reason: impl std::fmt::Display) -> ServerError {
    ServerError::AuditKey {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The witnessed checkpoint, if one was written. A file that does not parse is
/// an error: it was written by the server, so only damage or tampering breaks it.
pub fn read_witness(path: &Path) -> Result<Option<Checkpoint>, ServerError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(witness_error(path, e)),
    };
    let bad = |_| witness_error(path, "is damaged: it is not a checkpoint this server wrote");
    let w: WitnessFile = serde_json::from_str(&text).map_err(bad)?;
    let head = hex::decode(&w.head)
        .ok()
        .and_then(|h| <[u8; 32]>::try_from(h).ok());
    let signature = hex::decode(&w.signature)
        .ok()
        .and_then(|s| <[u8; 64]>::try_from(s).ok());
    match (head, signature) {
        (Some(head), Some(signature)) => Ok(Some(Checkpoint {
            seq: w.seq,
            head,
            time_us: w.time_us,
            key_id: w.key_id,
            signature,
        })),
        _ => Err(witness_error(
            path,
            "is damaged: bad hash or signature encoding",
        )),
    }
}

/// Replaces the witness atomically (write, sync, rename), owner-only.
pub fn write_witness(path: &Path, cp: &Checkpoint) -> std::io::Result<()> {
    let w = WitnessFile {
        seq: cp.seq,
        head: hex::encode(cp.head),
        time_us: cp.time_us,
        key_id: cp.key_id.clone(),
        signature: hex::encode(cp.signature),
    };
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(
        serde_json::to_string(&w)
            .map_err(std::io::Error::other)?
            .as_bytes(),
    )?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_audit::CheckpointSigner;

    #[test]
    fn round_trip_absent_and_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        assert!(read_witness(&path).unwrap().is_none());
        let cp = CheckpointSigner::from_secret(&[1; 32]).sign(7, [3; 32], 99);
        write_witness(&path, &cp).unwrap();
        assert_eq!(read_witness(&path).unwrap(), Some(cp.clone()));
        let next = CheckpointSigner::from_secret(&[1; 32]).sign(9, [4; 32], 100);
        write_witness(&path, &next).unwrap();
        assert_eq!(read_witness(&path).unwrap(), Some(next));
        std::fs::write(&path, "{}").unwrap();
        assert!(read_witness(&path).is_err());
    }
}
