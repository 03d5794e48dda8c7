//! What the console holds between commands.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use gatehouse_client::{CaRoots, Client};
use gatehouse_types::ApiError;
use tokio::sync::Mutex;

use crate::commands::audit::RecordCache;
use crate::embedded::Embedded;
use crate::servers::ServerBook;
use crate::types::SessionInfo;
use crate::vault::Vault;

pub struct Session {
    pub client: Client,
    pub info: SessionInfo,
    /// A person signed in (CO-1): their refresh token and when the access
    /// token in `client` expires. `None` for an API token.
    pub person: Option<crate::person::PersonTokens>,
}

pub struct ConsoleState {
    pub dir: PathBuf,
    pub vault: Vault,
    pub servers: ServerBook,
    pub session: Mutex<Option<Session>>,
    pub embedded: Mutex<Option<Embedded>>,
    /// Full records of the audit rows sent to the window, for the detail pane.
    pub records: std::sync::Mutex<RecordCache>,
    /// The running "follow live" task.
    pub follow: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Whether an export is running, and whether it was asked to stop.
    pub exporting: AtomicBool,
    pub export_cancelled: AtomicBool,
    /// Bumped whenever the session changes: work a command started under an
    /// earlier session (a search in flight, a follow) must not leave its results
    /// in this one's cache or window.
    pub session_epoch: std::sync::atomic::AtomicU64,
    /// A sign-in waiting for its second factor.
    pub pending_sign_in: Mutex<Option<crate::person::PendingSignIn>>,
    /// Wakes a sign-in waiting for the browser, to stop waiting.
    pub browser_cancel: tokio::sync::Notify,
    /// The CAs "verify with system CAs" trusts: `None` is the system's own store,
    /// read at each connection (tests put their own CA here).
    pub trusted_cas: Option<CaRoots>,
}

impl ConsoleState {
    pub fn open(dir: PathBuf) -> Result<Self, String> {
        Self::open_with(dir, Vault::open)
    }

    /// As `open`, with the vault `vault` opens in the directory.
    pub fn open_with(
        dir: PathBuf,
        vault: impl FnOnce(&std::path::Path) -> Vault,
    ) -> Result<Self, String> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Self {
            vault: vault(&dir),
            servers: ServerBook::new(&dir),
            dir,
            session: Mutex::new(None),
            embedded: Mutex::new(None),
            records: std::sync::Mutex::new(RecordCache::default()),
            follow: Mutex::new(None),
            exporting: AtomicBool::new(false),
            export_cancelled: AtomicBool::new(false),
            session_epoch: std::sync::atomic::AtomicU64::new(0),
            pending_sign_in: Mutex::new(None),
            browser_cancel: tokio::sync::Notify::new(),
            trusted_cas: None,
        })
    }
}

impl ConsoleState {
    /// Forgets what the previous session fetched and stops what it started (the
    /// cached audit records, a live follow, a running export), so that the next
    /// identity, with its own permissions, starts clean.
    pub async fn forget_session_data(&self) {
        self.session_epoch
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut cache) = self.records.lock() {
            *cache = RecordCache::default();
        }
        if let Some(task) = self.follow.lock().await.take() {
            task.abort();
        }
        self.export_cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl ConsoleState {
    /// The certificate authorities a server verified "with system CAs" must chain to.
    pub fn trusted_cas(&self) -> Result<CaRoots, ApiError> {
        match &self.trusted_cas {
            Some(roots) => Ok(roots.clone()),
            None => CaRoots::system().map_err(crate::error::from_client),
        }
    }

    pub fn epoch(&self) -> u64 {
        self.session_epoch.load(std::sync::atomic::Ordering::SeqCst)
    }
}
