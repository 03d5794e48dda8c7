//! Secrets kept in files beside the database, never in it (the audit
//! checkpoint key, the token key-encryption key): created owner-only and never
//! overwritten, refused when anyone else may read them.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::Zeroizing;

/// The file's text (trimmed). When it does not exist, `create()` makes the text,
/// which is written to a new 0600 file first. Errors say why, for the operator.
pub fn read_or_create(
    path: &Path,
    create: impl FnOnce() -> Zeroizing<String>,
) -> Result<Zeroizing<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            let mode = std::fs::metadata(path)
                .map_err(|e| e.to_string())?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(format!(
                    "is readable by others (mode {:o}); chmod 600 it",
                    mode & 0o777
                ));
            }
            Ok(Zeroizing::new(text.trim().to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = create();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| e.to_string())?;
            writeln!(file, "{}", text.as_str()).map_err(|e| e.to_string())?;
            file.sync_all().map_err(|e| e.to_string())?;
            Ok(text)
        }
        Err(e) => Err(e.to_string()),
    }
}
