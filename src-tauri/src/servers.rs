//! The servers the console remembers, each with the certificate fingerprint pinned
//! on first use, and which one was used last.

use std::path::{Path, PathBuf};

use gatehouse_types::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::error::local;
use crate::files::{read_json, write_json};

/// The key of the embedded server in the book and the vault.
pub const EMBEDDED: &str = "embedded";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub url: String,
    pub fingerprint: String,
    pub first_seen_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Book {
    servers: Vec<Entry>,
    /// `embedded`, a server URL, or nothing.
    last: Option<String>,
}

pub struct ServerBook {
    path: PathBuf,
}

impl ServerBook {
    pub fn new(dir: &Path) -> Self {
        Self {
            path: dir.join("servers.json"),
        }
    }

    pub fn list(&self) -> Result<Vec<Entry>, ApiError> {
        Ok(read_json::<Book>(&self.path)?.servers)
    }

    pub fn find(&self, url: &str) -> Result<Option<Entry>, ApiError> {
        Ok(self.list()?.into_iter().find(|e| e.url == url))
    }

    /// Remembers a server with its pin; an existing entry keeps its first pin.
    pub fn remember(&self, url: &str, fingerprint: &str) -> Result<(), ApiError> {
        let mut book: Book = read_json(&self.path)?;
        if !book.servers.iter().any(|e| e.url == url) {
            book.servers.push(Entry {
                url: url.to_owned(),
                fingerprint: fingerprint.to_owned(),
                first_seen_at: chrono::Utc::now().to_rfc3339(),
            });
        }
        write_json(&self.path, &book)
    }

    pub fn forget(&self, url: &str) -> Result<(), ApiError> {
        let mut book: Book = read_json(&self.path)?;
        book.servers.retain(|e| e.url != url);
        if book.last.as_deref() == Some(url) {
            book.last = None;
        }
        write_json(&self.path, &book)
    }

    pub fn last(&self) -> Result<Option<String>, ApiError> {
        Ok(read_json::<Book>(&self.path)?.last)
    }

    pub fn set_last(&self, last: Option<&str>) -> Result<(), ApiError> {
        let mut book: Book = read_json(&self.path)?;
        book.last = last.map(str::to_owned);
        write_json(&self.path, &book)
    }
}

/// `https://host[:port]` from what a person typed; anything else is refused with
/// a message that says what to fix.
pub fn normalize_url(input: &str) -> Result<String, ApiError> {
    let bad = |m: &str| local(ErrorCode::InvalidServerUrl, m.to_owned());
    let input = input.trim();
    if input.is_empty() {
        return Err(bad(
            "enter the server's address, like https://gatehouse.example:8443",
        ));
    }
    let url = url::Url::parse(input).map_err(|e| {
        bad(&format!(
            "`{input}` is not a URL ({e}); use https://host:port"
        ))
    })?;
    if url.scheme() != "https" {
        return Err(bad(
            "only https:// addresses work: Gatehouse has no plain-HTTP listener",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the address has no host name"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "leave credentials out of the address; paste the token in its own field",
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "give only the server's address, without a path, query or fragment",
        ));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalise_or_are_refused_with_a_reason() {
        assert_eq!(
            normalize_url(" https://Example.org:8443/ ").unwrap(),
            "https://example.org:8443"
        );
        assert_eq!(
            normalize_url("https://127.0.0.1:9").unwrap(),
            "https://127.0.0.1:9"
        );
        assert_eq!(
            normalize_url("https://example.org:443").unwrap(),
            "https://example.org"
        );
        for bad in [
            "",
            "example.org",
            "http://example.org",
            "ftp://x",
            "https://u:p@example.org",
            "https://example.org/v1",
            "https://example.org/?a=1",
            "https://",
        ] {
            let e = normalize_url(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidServerUrl, "{bad}");
            assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn the_first_pin_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let book = ServerBook::new(dir.path());
        book.remember("https://a", "AA").unwrap();
        book.remember("https://a", "BB").unwrap();
        assert_eq!(book.find("https://a").unwrap().unwrap().fingerprint, "AA");
        book.set_last(Some("https://a")).unwrap();
        book.forget("https://a").unwrap();
        assert!(book.list().unwrap().is_empty());
        assert_eq!(book.last().unwrap(), None);
    }
}
