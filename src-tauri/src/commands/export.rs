//! Export to CSV (CO-8): the audit trail with the window's filters, the
//! blocked-request breakdowns and the permissions matrix, each the server's own
//! CSV (formula-like cells neutralised there) streamed into the file the user
//! chose in the native save dialog. The file appears whole or not at all: the
//! bytes go to a hidden partial file beside it, renamed into place at the end and
//! removed on failure or cancel.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gatehouse_client::Client;
use gatehouse_types::{ApiError, AuditQuery, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use super::{audit, connected_client, parse_time};
use crate::error::{from_client, local};
use crate::state::ConsoleState;

/// Set (to a directory) to skip the save dialog and write there under the
/// suggested file name: for unattended use and the end-to-end tests, which
/// cannot click in a GTK dialog.
pub const EXPORT_DIR_ENV: &str = "GATEHOUSE_CONSOLE_EXPORT_DIR";

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportRequest {
    /// The audit trail with these filters, oldest first.
    Audit { query: Box<AuditQuery> },
    /// The blocked-request breakdowns for a time range (the last 24 hours when
    /// unset).
    Blocked {
        from: Option<String>,
        to: Option<String>,
    },
    /// The permissions matrix of the active policies.
    Matrix,
    /// Every user the Users page's filters match.
    Users { query: super::users::UserListQuery },
    /// One user's sessions, ended ones too.
    Sessions { user_id: String },
}

/// How far a running export has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportProgress {
    #[ts(type = "number")]
    pub bytes: u64,
    /// Lines written so far (rows, give or take a line break inside a cell).
    #[ts(type = "number")]
    pub lines: u64,
}

/// How an export ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ExportOutcome {
    /// The file is complete.
    Saved {
        path: String,
        #[ts(type = "number")]
        bytes: u64,
        #[ts(type = "number")]
        lines: u64,
    },
    /// The user closed the save dialog without choosing a file.
    NotChosen,
    /// Cancelled while running; nothing was left behind.
    Cancelled,
}

/// An export's server path, query and suggested file name.
type Plan = (String, Vec<(String, String)>, String);

/// The plan of an export, checked before any dialog opens.
fn plan(request: &ExportRequest, today: &str) -> Result<Plan, ApiError> {
    match request {
        ExportRequest::Audit { query } => {
            // The whole filtered view: the window's page does not apply.
            let (query, _) = audit::checked(AuditQuery {
                limit: None,
                cursor: None,
                ..(**query).clone()
            })?;
            let encoded = [("format", "csv".to_owned())]
                .into_iter()
                .chain(query.to_pairs())
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            Ok((
                "/v1/audit/export".into(),
                encoded,
                format!("audit-{today}.csv"),
            ))
        }
        ExportRequest::Blocked { from, to } => {
            let from = parse_time("from", from.clone())?;
            let to = parse_time("to", to.clone())?;
            let mut q = vec![
                ("format".to_owned(), "csv".to_owned()),
                ("top".to_owned(), "100".to_owned()),
            ];
            if let Some(f) = from {
                q.push(("from".into(), f.to_rfc3339()));
            }
            if let Some(t) = to {
                q.push(("to".into(), t.to_rfc3339()));
            }
            Ok((
                "/v1/blocked/summary".into(),
                q,
                format!("blocked-{today}.csv"),
            ))
        }
        ExportRequest::Matrix => Ok((
            "/v1/policies/matrix".into(),
            vec![("format".to_owned(), "csv".to_owned())],
            format!("permissions-{today}.csv"),
        )),
        ExportRequest::Users { query } => {
            let filters = super::users::filters_of(query.clone(), None, 1)?;
            let mut q = Vec::new();
            let status = filters.status.map(|s| s.as_str().to_owned());
            for (name, value) in [
                ("user_type", filters.user_type),
                ("status", status),
                ("attribute", filters.attribute),
                ("entitlement", filters.entitlement),
                ("q", filters.q),
            ] {
                if let Some(value) = value {
                    q.push((name.to_owned(), value));
                }
            }
            Ok(("/v1/users/export".into(), q, format!("users-{today}.csv")))
        }
        ExportRequest::Sessions { user_id } => {
            let id = uuid::Uuid::parse_str(user_id.trim())
                .map_err(|_| local(ErrorCode::InvalidInput, "a user id is a UUID"))?;
            Ok((
                format!("/v1/users/{id}/sessions/export"),
                Vec::new(),
                format!("sessions-{id}-{today}.csv"),
            ))
        }
    }
}

async fn choose_path(app: &tauri::AppHandle, suggested: &str) -> Result<Option<PathBuf>, ApiError> {
    if let Some(dir) = std::env::var_os(EXPORT_DIR_ENV) {
        return Ok(Some(PathBuf::from(dir).join(suggested)));
    }
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Export to CSV")
        .add_filter("CSV", &["csv"])
        .set_file_name(suggested)
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let chosen = rx
        .await
        .map_err(|_| local(ErrorCode::Internal, "the save dialog closed unexpectedly"))?;
    match chosen {
        None => Ok(None),
        Some(path) => path.into_path().map(Some).map_err(|e| {
            local(
                ErrorCode::InvalidInput,
                format!("the chosen location is not a file on this computer: {e}"),
            )
        }),
    }
}

fn write_error(path: &Path, e: &std::io::Error) -> ApiError {
    let place = path.parent().unwrap_or(path).display();
    let what = match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            format!("{place} cannot be written to (permission denied); choose a folder you can write to")
        }
        std::io::ErrorKind::NotFound => format!("{place} does not exist; choose another folder"),
        std::io::ErrorKind::StorageFull => {
            format!("{place} is full; free some space or choose another disk")
        }
        _ => format!("cannot write to {place}: {e}; choose another folder"),
    };
    local(ErrorCode::StorageFailed, what)
}

/// Streams `path?query` into `target` through a partial file; `Ok(None)` when
/// cancelled.
async fn stream_to_file(
    client: &Client,
    server_path: &str,
    query: &[(String, String)],
    target: &Path,
    cancel: &std::sync::atomic::AtomicBool,
    progress: &Channel<ExportProgress>,
) -> Result<Option<ExportProgress>, ApiError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| local(ErrorCode::InvalidInput, "choose a file name, not a folder"))?;
    // Short enough for any file system's 255-byte names, whatever was chosen.
    let stem: String = name.chars().take(64).collect();
    let partial = target.with_file_name(format!(".{stem}.{}.partial", uuid::Uuid::new_v4()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .map_err(|e| write_error(target, &e))?;
    let result = async {
        let download = client.download(server_path, query, Duration::from_secs(6 * 3600));
        // Cancel is honoured while waiting for the server too, not only between
        // chunks: a stalled server must not hold the export (and the next one).
        let download = tokio::select! {
            d = download => d,
            () = cancelled(cancel) => return Ok(None),
        };
        let mut download = download.map_err(from_client)?;
        let mut done = ExportProgress { bytes: 0, lines: 0 };
        let mut last = Instant::now();
        loop {
            let chunk = tokio::select! {
                c = download.chunk() => c.map_err(from_client)?,
                () = cancelled(cancel) => return Ok(None),
            };
            let Some(chunk) = chunk else { break };
            file.write_all(&chunk)
                .map_err(|e| write_error(target, &e))?;
            done.bytes += chunk.len() as u64;
            done.lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            if last.elapsed() >= Duration::from_millis(100) {
                last = Instant::now();
                let _ = progress.send(done);
            }
        }
        file.sync_all().map_err(|e| write_error(target, &e))?;
        let _ = progress.send(done);
        Ok(Some(done))
    }
    .await;
    match result {
        Ok(Some(done)) => match std::fs::rename(&partial, target) {
            Ok(()) => Ok(Some(done)),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(write_error(target, &e))
            }
        },
        other => {
            let _ = std::fs::remove_file(&partial);
            other
        }
    }
}

/// Resolves once the export is asked to stop.
async fn cancelled(flag: &std::sync::atomic::AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clears the "export running" mark however the export ends.
struct Running<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[tauri::command]
pub async fn export_csv(
    app: tauri::AppHandle,
    state: State<'_, ConsoleState>,
    request: ExportRequest,
    progress: Channel<ExportProgress>,
) -> Result<ExportOutcome, ApiError> {
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (server_path, query, suggested) = plan(&request, &today)?;
    let client = connected_client(&state).await?;
    if state.exporting.swap(true, Ordering::SeqCst) {
        return Err(local(
            ErrorCode::Conflict,
            "an export is already running; wait for it or cancel it first",
        ));
    }
    let _running = Running(&state.exporting);
    state.export_cancelled.store(false, Ordering::SeqCst);
    let Some(target) = choose_path(&app, &suggested).await? else {
        return Ok(ExportOutcome::NotChosen);
    };
    match stream_to_file(
        &client,
        &server_path,
        &query,
        &target,
        &state.export_cancelled,
        &progress,
    )
    .await?
    {
        Some(done) => Ok(ExportOutcome::Saved {
            path: target.display().to_string(),
            bytes: done.bytes,
            lines: done.lines,
        }),
        None => Ok(ExportOutcome::Cancelled),
    }
}

/// Stops the running export (if any) at its next chunk.
#[tauri::command]
pub async fn cancel_export(state: State<'_, ConsoleState>) -> Result<(), ApiError> {
    state.export_cancelled.store(true, Ordering::SeqCst);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_planned_from_checked_filters() {
        let (path, query, name) = plan(
            &ExportRequest::Audit {
                query: Box::new(AuditQuery {
                    actor: Some(" alice ".into()),
                    from: Some("2026-01-01T00:00:00Z".into()),
                    ..Default::default()
                }),
            },
            "2026-11-23",
        )
        .expect("valid");
        assert_eq!(
            (path.as_str(), name.as_str()),
            ("/v1/audit/export", "audit-2026-11-23.csv")
        );
        assert!(query.contains(&("format".into(), "csv".into())));
        assert!(query.contains(&("actor".into(), "alice".into())));
        assert!(query.contains(&("from".into(), "2026-01-01T00:00:00Z".into())));
        assert_eq!(query.len(), 3, "{query:?}");
        let bad = plan(
            &ExportRequest::Audit {
                query: Box::new(AuditQuery {
                    outcome: Some("maybe".into()),
                    ..Default::default()
                }),
            },
            "x",
        )
        .expect_err("refused");
        assert_eq!(bad.code, ErrorCode::InvalidInput);
        let bad = plan(
            &ExportRequest::Blocked {
                from: Some("soon".into()),
                to: None,
            },
            "x",
        )
        .expect_err("refused");
        assert!(bad.message.contains("from"));
        let (path, query, _) = plan(&ExportRequest::Matrix, "x").expect("valid");
        assert_eq!((path.as_str(), query.len()), ("/v1/policies/matrix", 1));
        // Users with the page's filters (trimmed, empty ones left out).
        let (path, query, name) = plan(
            &ExportRequest::Users {
                query: super::super::users::UserListQuery {
                    q: Some(" ann ".into()),
                    user_type: Some(String::new()),
                    ..Default::default()
                },
            },
            "d",
        )
        .expect("valid");
        assert_eq!(
            (path.as_str(), name.as_str()),
            ("/v1/users/export", "users-d.csv")
        );
        assert_eq!(query, vec![("q".to_owned(), "ann".to_owned())]);
        let id = "018f0000-0000-7000-8000-000000000001";
        let (path, _, _) =
            plan(&ExportRequest::Sessions { user_id: id.into() }, "d").expect("valid");
        assert_eq!(path, format!("/v1/users/{id}/sessions/export"));
        let bad = plan(
            &ExportRequest::Sessions {
                user_id: "../x".into(),
            },
            "d",
        )
        .expect_err("refused");
        assert_eq!(bad.code, ErrorCode::InvalidInput);
    }

    #[test]
    fn write_errors_say_what_to_do() {
        let e = write_error(
            Path::new("/read-only/audit.csv"),
            &std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.code, ErrorCode::StorageFailed);
        assert!(
            e.message.contains("/read-only cannot be written to"),
            "{}",
            e.message
        );
        assert!(e.message.contains("choose a folder you can write to"));
    }
}

#[cfg(test)]
mod cancel_tests {
    use super::*;

    /// A server that accepts connections and never answers: cancelling stops the
    /// export while it waits, and leaves no file behind.
    #[tokio::test]
    async fn cancel_stops_an_export_waiting_on_a_stalled_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket); // never read, never answered
            }
        });
        let client = Client::builder(format!("https://127.0.0.1:{port}"))
            .pin_sha256("ab".repeat(32))
            .token("t")
            .build()
            .expect("client");
        let dir = tempfile::tempdir().expect("dir");
        let target = dir.path().join("audit.csv");
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let progress: Channel<ExportProgress> = Channel::new(|_| Ok(()));
        let started = Instant::now();
        let (result, ()) = tokio::join!(
            stream_to_file(
                &client,
                "/v1/audit/export",
                &[],
                &target,
                &cancel,
                &progress
            ),
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                cancel.store(true, Ordering::SeqCst);
            }
        );
        assert_eq!(result.expect("not an error"), None, "cancelled");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
        assert!(left.is_empty(), "nothing left behind: {left:?}");
        held.abort();
    }
}
