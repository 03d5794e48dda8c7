//! The console's own small files: JSON, owner-only, replaced atomically so a crash
//! mid-write never leaves half a file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use gatehouse_types::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::local;

pub fn read_json<T: DeserializeOwned + Default>(path: &Path) -> Result<T, ApiError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            local(
                ErrorCode::StorageFailed,
                format!("{} is damaged: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(local(
            ErrorCode::StorageFailed,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ApiError> {
    let fail = |e: std::io::Error| {
        local(
            ErrorCode::StorageFailed,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| local(ErrorCode::StorageFailed, format!("cannot encode: {e}")))?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    file.write_all(&bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
