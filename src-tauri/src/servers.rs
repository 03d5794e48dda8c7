//! The servers the console remembers, each with how it is verified (the
//! certificate fingerprint the person confirmed, pinned; or the system's CAs),
//! and which one was used last. A server is remembered only once verified and
//! connected; nothing a person typed goes into the file unless it is a valid
//! server address.

use std::path::{Path, PathBuf};

use gatehouse_types::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::error::local;
use crate::files::{read_json, write_json};
use crate::secrets::looks_secret;
use crate::types::ServerTrust;

/// The key of the embedded server in the book and the vault.
pub const EMBEDDED: &str = "embedded";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub url: String,
    /// Files written before the choice existed hold pinned servers only.
    #[serde(default)]
    pub trust: ServerTrust,
    /// The pinned fingerprint (`None` for a server verified by the system's CAs).
    pub fingerprint: Option<String>,
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

    /// Remembers a server with how it is verified; an existing entry keeps its
    /// first.
    pub fn remember(
        &self,
        url: &str,
        trust: ServerTrust,
        fingerprint: Option<&str>,
    ) -> Result<(), ApiError> {
        let mut book: Book = read_json(&self.path)?;
        if !book.servers.iter().any(|e| e.url == url) {
            book.servers.push(Entry {
                url: url.to_owned(),
                trust,
                fingerprint: fingerprint.map(str::to_owned),
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
/// a message that says what to fix, and that repeats the input only when it does
/// not look like a secret (a token pasted into the address field).
pub fn normalize_url(input: &str) -> Result<String, ApiError> {
    let bad = |m: &str| local(ErrorCode::InvalidServerUrl, m.to_owned());
    let input = input.trim();
    if input.is_empty() {
        return Err(bad(
            "enter the server's address, like https://gatehouse.example:8443",
        ));
    }
    if looks_secret(input) {
        return Err(bad(
            "that looks like a token, not a server address: paste the token into the token \
             field, and the address (https://host:port) here",
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
        book.remember("https://a", ServerTrust::Pinned, Some("AA"))
            .unwrap();
        book.remember("https://a", ServerTrust::SystemCa, None)
            .unwrap();
        let entry = book.find("https://a").unwrap().unwrap();
        assert_eq!(entry.fingerprint.as_deref(), Some("AA"));
        assert_eq!(entry.trust, ServerTrust::Pinned);
        book.set_last(Some("https://a")).unwrap();
        book.forget("https://a").unwrap();
        assert!(book.list().unwrap().is_empty());
        assert_eq!(book.last().unwrap(), None);
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    const TOKEN: &str = "gh_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7aB3dE6gH9jK2mN5p";
    const JWT: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";

    // proves: CO-1
    #[test]
    fn a_token_in_the_address_field_is_never_echoed() {
        for input in [
            TOKEN.to_owned(),
            format!("https://{TOKEN}"),
            format!("https://{TOKEN}:8443"),
            format!("https://example.org/?token={TOKEN}"),
            format!("https://u:{TOKEN}@example.org"),
            format!("{TOKEN} https://example.org"),
            JWT.to_owned(),
            format!("https://{JWT}"),
        ] {
            let e = normalize_url(&input).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidServerUrl);
            for secret in [&TOKEN[3..], &JWT[..30]] {
                assert!(
                    !e.message.to_lowercase().contains(&secret.to_lowercase()),
                    "echoed a secret: {}",
                    e.message
                );
            }
        }
        // An ordinary mistake is still shown back, to say what to fix.
        let e = normalize_url("gatehouse.example").unwrap_err();
        assert!(e.message.contains("gatehouse.example"), "{}", e.message);
    }
}
