//! Users and sessions as CSV (CO-8): every user the filters match (the same
//! filters as `GET /v1/users`), streamed page by page in creation order, and
//! one user's sessions. Cells are written by `gatehouse-audit`'s CSV writer,
//! which neutralises anything a spreadsheet would run as a formula. The
//! columns are listed once here; the header and every row follow the list.

use std::sync::Arc;

use axum::body::Bytes;
use futures_util::stream::{self, Stream};
use gatehouse_audit::csv::write_row;
use gatehouse_store::{SessionRow, Store, UserFilter, UserRow};

use crate::clock::from_micros;

/// Users per page read from the store while streaming.
const PAGE: u32 = 500;

pub const USER_COLUMNS: [&str; 14] = [
    "id",
    "display_name",
    "user_type",
    "status",
    "email",
    "is_email_verified",
    "phone",
    "is_phone_verified",
    "entitlements",
    "attributes",
    "source",
    "locked_until",
    "created_at",
    "updated_at",
];

pub const SESSION_COLUMNS: [&str; 10] = [
    "id",
    "user_id",
    "client_id",
    "started_at",
    "last_seen_at",
    "ended_at",
    "end_reason",
    "amr",
    "source_ip",
    "user_agent",
];

fn time(us: i64) -> String {
    from_micros(us).to_rfc3339()
}

fn user_cells(row: &UserRow) -> [String; 14] {
    [
        row.id.clone(),
        row.display_name.clone(),
        row.user_type.clone(),
        row.status.clone(),
        row.email.clone().unwrap_or_default(),
        row.is_email_verified.to_string(),
        row.phone.clone().unwrap_or_default(),
        row.is_phone_verified.to_string(),
        serde_json::from_str::<Vec<String>>(&row.entitlements)
            .unwrap_or_default()
            .join(" "),
        row.attributes.clone(),
        row.source.clone(),
        row.locked_until_us.map(time).unwrap_or_default(),
        time(row.created_at_us),
        time(row.updated_at_us),
    ]
}

fn session_cells(row: &SessionRow) -> [String; 10] {
    [
        row.id.clone(),
        row.user_id.clone(),
        row.client_id.clone(),
        time(row.created_at_us),
        time(row.last_seen_at_us),
        row.ended_at_us.map(time).unwrap_or_default(),
        row.end_reason.clone().unwrap_or_default(),
        serde_json::from_str::<Vec<String>>(&row.amr)
            .unwrap_or_default()
            .join(" "),
        row.source_ip.clone(),
        row.user_agent.clone(),
    ]
}

/// The sessions as one CSV document.
pub fn sessions_csv(rows: &[SessionRow]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256 * (rows.len() + 1));
    write_row(&mut out, &SESSION_COLUMNS)?;
    for row in rows {
        write_row(&mut out, &session_cells(row))?;
    }
    Ok(out)
}

/// Every user `filter` matches, as CSV: the header, then a chunk per page.
pub fn users_csv(
    store: Arc<dyn Store>,
    mut filter: UserFilter,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    filter.limit = PAGE;
    let mut header = Vec::new();
    let header = write_row(&mut header, &USER_COLUMNS).map(|()| header);
    stream::unfold((Some(header), Some(filter)), move |(header, filter)| {
        let store = store.clone();
        async move {
            if let Some(header) = header {
                return Some((header.map(Bytes::from), (None, filter)));
            }
            let mut filter = filter?;
            let rows = match store.users().list(&filter).await {
                Ok(rows) => rows,
                Err(e) => {
                    // The headers are gone: ending the body early is the signal.
                    tracing::error!(error = %e, "users export failed mid-stream");
                    return Some((Err(std::io::Error::other("export failed")), (None, None)));
                }
            };
            if rows.is_empty() {
                return None;
            }
            let mut chunk = Vec::with_capacity(rows.len() * 256);
            for row in &rows {
                if let Err(e) = write_row(&mut chunk, &user_cells(row)) {
                    return Some((Err(e), (None, None)));
                }
            }
            let is_full = rows.len() == PAGE as usize;
            filter.after = rows.last().map(|r| r.id.clone());
            Some((Ok(Bytes::from(chunk)), (None, is_full.then_some(filter))))
        }
    })
}
