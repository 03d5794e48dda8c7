//! What the console holds between commands.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use gatehouse_client::Client;
use tokio::sync::Mutex;

use crate::embedded::Embedded;
use crate::servers::ServerBook;
use crate::types::SessionInfo;
use crate::vault::Vault;

pub struct Session {
    pub client: Client,
    pub info: SessionInfo,
}

pub struct ConsoleState {
    pub dir: PathBuf,
    pub vault: Vault,
    pub servers: ServerBook,
    pub session: Mutex<Option<Session>>,
    pub embedded: Mutex<Option<Embedded>>,
}

impl ConsoleState {
    pub fn open(dir: PathBuf) -> Result<Self, String> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Self {
            vault: Vault::open(&dir),
            servers: ServerBook::new(&dir),
            dir,
            session: Mutex::new(None),
            embedded: Mutex::new(None),
        })
    }
}
