//! The request target, made one unambiguous path before anything reads it
//! (GW-4): percent-decoded exactly once, refused when decoding leaves a
//! question the gateway and an upstream could answer differently.
//!
//! Refused (each with its own reason, all answered 400 `bad_input`):
//! - a target that is not a path (`*`, an absolute URI's authority that is
//!   not this gateway's is the listener's matter; here only the path counts);
//! - a `%` not followed by two hex digits;
//! - bytes that decode to something that is not UTF-8 (overlong encodings such
//!   as `%c0%ae` included: Rust's decoder refuses them);
//! - control characters, NUL and backslashes, raw or encoded;
//! - `.` and `..` segments, raw or encoded (traversal is refused, never
//!   resolved: a resolved `..` hides an attack from the record);
//! - an encoded `/`, `?` or `#` (CVE-2024-1019: libmodsecurity 3.0.9 decodes
//!   `%3F` into the query it inspects);
//! - what is still percent-encoded after one decoding (`%252e`: double
//!   encoding), and empty segments (`//`).
//!
//! What passes is forwarded re-encoded canonically, so the upstream receives
//! exactly the path that was checked.

/// Why a request target was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    NotAPath,
    BadEscape,
    NotUtf8,
    ControlCharacter,
    Backslash,
    DotSegment,
    EncodedDelimiter,
    DoubleEncoded,
    EmptySegment,
    TooLong,
}

impl PathProblem {
    /// The reason, as recorded and answered.
    pub fn as_str(self) -> &'static str {
        match self {
            PathProblem::NotAPath => "the request target is not a path",
            PathProblem::BadEscape => "a percent sign is not followed by two hex digits",
            PathProblem::NotUtf8 => "the path does not decode to UTF-8 (overlong or invalid bytes)",
            PathProblem::ControlCharacter => "the path holds a control character",
            PathProblem::Backslash => "the path holds a backslash",
            PathProblem::DotSegment => "the path holds a . or .. segment (traversal)",
            PathProblem::EncodedDelimiter => "the path holds an encoded /, ? or #",
            PathProblem::DoubleEncoded => "the path is percent-encoded twice",
            PathProblem::EmptySegment => "the path holds an empty segment (//)",
            PathProblem::TooLong => "the path is too long",
        }
    }
}

/// The longest path accepted, in bytes as sent.
pub const MAX_PATH_BYTES: usize = 4096;

/// A path that passed: `decoded` is what routes and policies see,
/// `encoded` what the upstream receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanPath {
    pub decoded: String,
    pub encoded: String,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `raw` (the path part of the target, without its query) once and
/// checks it.
pub fn normalize(raw: &str) -> Result<CleanPath, PathProblem> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathProblem::TooLong);
    }
    if !raw.starts_with('/') {
        return Err(PathProblem::NotAPath);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(PathProblem::BadEscape);
            };
            let value = hi << 4 | lo;
            match value {
                b'/' | b'?' | b'#' => return Err(PathProblem::EncodedDelimiter),
                b'%' => return Err(PathProblem::DoubleEncoded),
                _ => decoded.push(value),
            }
            i += 3;
        } else {
            decoded.push(b);
            i += 1;
        }
    }
    let decoded = String::from_utf8(decoded).map_err(|_| PathProblem::NotUtf8)?;
    if decoded.chars().any(char::is_control) {
        return Err(PathProblem::ControlCharacter);
    }
    if decoded.contains('\\') {
        return Err(PathProblem::Backslash);
    }
    let segments: Vec<&str> = decoded[1..].split('/').collect();
    let last = segments.len() - 1;
    for (n, segment) in segments.iter().enumerate() {
        match *segment {
            "." | ".." => return Err(PathProblem::DotSegment),
            // A trailing slash is a path of its own; an empty segment elsewhere is not.
            "" if n != last && decoded != "/" => return Err(PathProblem::EmptySegment),
            _ => {}
        }
    }
    let encoded = encode(&decoded);
    Ok(CleanPath { decoded, encoded })
}

/// Percent-encodes everything but RFC 3986's unreserved characters, its
/// sub-delimiters, `:`, `@` and `/`.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

/// Whether `path` is `prefix` or lies under it on a segment boundary.
pub fn is_under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    // proves: GW-4 (path traversal, encoded and double-encoded, overlong UTF-8)
    #[test]
    fn traversal_in_every_spelling_is_refused() {
        for (raw, problem) in [
            ("/api/../admin", PathProblem::DotSegment),
            ("/api/./x", PathProblem::DotSegment),
            ("/api/%2e%2e/admin", PathProblem::DotSegment),
            ("/api/%2E./admin", PathProblem::DotSegment),
            ("/api/%252e%252e/admin", PathProblem::DoubleEncoded),
            ("/api/%c0%ae%c0%ae/admin", PathProblem::NotUtf8),
            ("/api/%e0%80%ae/x", PathProblem::NotUtf8),
            ("/api/..%2fadmin", PathProblem::EncodedDelimiter),
            ("/api/..%5cadmin", PathProblem::Backslash),
            ("/api\\..\\admin", PathProblem::Backslash),
            ("/api//admin", PathProblem::EmptySegment),
            ("/api/x%3f.php", PathProblem::EncodedDelimiter),
            ("/api/x%23frag", PathProblem::EncodedDelimiter),
            ("/api/x%00.jpg", PathProblem::ControlCharacter),
            ("/api/x%0d%0aSet-Cookie:", PathProblem::ControlCharacter),
            ("/api/%zz", PathProblem::BadEscape),
            ("/api/%4", PathProblem::BadEscape),
            ("*", PathProblem::NotAPath),
            ("api", PathProblem::NotAPath),
        ] {
            assert_eq!(normalize(raw), Err(problem), "{raw}");
        }
        assert_eq!(
            normalize(&format!("/{}", "a".repeat(MAX_PATH_BYTES))),
            Err(PathProblem::TooLong)
        );
    }

    // proves: GW-4 (legitimate paths pass, forwarded as checked)
    #[test]
    fn ordinary_paths_pass_and_are_forwarded_canonically() {
        let clean = normalize("/api/orders/42").unwrap();
        assert_eq!(clean.decoded, "/api/orders/42");
        assert_eq!(clean.encoded, "/api/orders/42");
        let clean = normalize("/api/people/Zo%C3%AB%20Ng").unwrap();
        assert_eq!(clean.decoded, "/api/people/Zoë Ng");
        assert_eq!(clean.encoded, "/api/people/Zo%C3%AB%20Ng");
        let clean = normalize("/api/%7euser/file.tar.gz").unwrap();
        assert_eq!(clean.decoded, "/api/~user/file.tar.gz");
        assert_eq!(clean.encoded, "/api/~user/file.tar.gz");
        assert_eq!(normalize("/").unwrap().encoded, "/");
        assert_eq!(normalize("/api/").unwrap().decoded, "/api/");
        assert_eq!(normalize("/a/..b/c..").unwrap().decoded, "/a/..b/c..");
    }

    #[test]
    fn prefixes_match_on_segment_boundaries() {
        assert!(is_under("/api/orders", "/api/orders"));
        assert!(is_under("/api/orders/1", "/api/orders"));
        assert!(is_under("/api/orders/1", "/api/orders/"));
        assert!(!is_under("/api/ordersx", "/api/orders"));
        assert!(is_under("/anything", "/"));
    }
}
