//! Secrets never reach the log (AU-4). Two nets, both applied to every JSON value
//! that is stored (a request's query, a record's `before`/`after`/`details`, an
//! ingested event's) and the second also to the free text of a request (its path
//! and user agent):
//!
//! 1. **By key.** The value under a key that names a secret is replaced whole,
//!    whatever its type ([`is_secret_key`]).
//! 2. **By value.** Any string (and any object key) anywhere is scanned for
//!    credentials by their shape: `Bearer …` and `Basic …` credentials, JWTs,
//!    Gatehouse API tokens and PEM private keys. Only the match is replaced, so
//!    the text around it survives ([`redact_text`]).
//!
//! Both put the same marker, [`REDACTED`], in place of what they remove.

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

/// What a redacted value, or the redacted part of one, becomes.
pub const REDACTED: &str = "[redacted]";

/// A key is a secret's when its squashed form (lower case, without `-`, `_`, `.`
/// and spaces) contains one of these.
const SECRET_STEMS: &[&str] = &[
    "token",
    "secret",
    "passw",
    "passphrase",
    "pwd",
    "apikey",
    "auth",
    "cookie",
    "session",
    "credential",
    "otp",
    "privatekey",
    "privkey",
    "assertion",
    "bearer",
    "codeverifier",
];

/// Words that contain a stem and name no secret: an occurrence of a stem that
/// starts one of these words (and none of its exceptions) does not count.
/// `author` is kept (a policy version's author), `authorization` is not.
const NOT_SECRET_WORDS: &[(&str, &[&str])] =
    &[("author", &["authoriz", "authoris"]), ("tokeniz", &[])];

/// Keys that are secrets only when they are the whole key.
const SECRET_EXACT: &[&str] = &["pin"];

/// A key ending in `code` (or `codes`) holds a one-time code, unless what comes
/// before `code` ends with one of these: codes that classify (a status, an
/// error, a country) or name an encoding, and prove nothing.
const CLASSIFYING_CODES: &[&str] = &[
    "status", "error", "exit", "return", "response", "result", "reason", "http", "country",
    "region", "language", "lang", "locale", "currency", "postal", "post", "zip", "area", "product",
    "bar", "uni", "op", "geo", "source",
];

fn squash(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.') && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a field or header name carries a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = squash(key);
    if SECRET_EXACT.contains(&k.as_str()) || is_one_time_code(&k) {
        return true;
    }
    let is_stem_at = |at: usize| {
        let rest = &k[at..];
        !NOT_SECRET_WORDS.iter().any(|(word, unless)| {
            rest.starts_with(word) && !unless.iter().any(|u| rest.starts_with(u))
        })
    };
    match stems() {
        // Every occurrence of every stem in one pass (a searcher built per
        // stem and key cost more than the rest of a gateway request's record).
        Some(stems) => stems
            .find_overlapping_iter(k.as_str())
            .any(|found| is_stem_at(found.start())),
        None => SECRET_STEMS
            .iter()
            .any(|stem| k.match_indices(stem).any(|(at, _)| is_stem_at(at))),
    }
}

/// The stems' automaton (fixed, short and few: it always builds).
fn stems() -> Option<&'static AhoCorasick> {
    static STEMS: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    STEMS
        .get_or_init(|| AhoCorasick::new(SECRET_STEMS).ok())
        .as_ref()
}

fn is_one_time_code(squashed: &str) -> bool {
    let k = squashed.strip_suffix('s').unwrap_or(squashed);
    match k.strip_suffix("code") {
        Some(before) => !CLASSIFYING_CODES.iter().any(|c| before.ends_with(c)),
        None => false,
    }
}

/// Replaces, in place and at any depth, every value under a secret key, and
/// every credential-shaped part of any string or object key.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.keys().any(|k| matches!(redact_text(k), Cow::Owned(_))) {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(redact_text(&k).into_owned(), v);
                }
            }
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(s) => {
            if let Cow::Owned(r) = redact_text(s) {
                *s = r;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// `text` with every credential-shaped part replaced by [`REDACTED`]: the
/// credential of a `Bearer` (or a `Basic` user:password), a JWT (`eyJ…` in three
/// or five dot-separated base64url parts), a Gatehouse API token (`gh_` and 43 or
/// more base64url characters), a PEM private key (through its END line, or to the
/// end of the text when that line is missing). Borrowed when nothing matched.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Every pattern starts and ends on an ASCII byte, so these are char
        // boundaries.
        match secret_at(text, i) {
            Some((start, end)) => {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(&text[copied..start]);
                o.push_str(REDACTED);
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// The byte range of a secret that starts to be recognisable at `i`.
fn secret_at(text: &str, i: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    match bytes[i] {
        b'B' | b'b' => scheme_credential(bytes, i),
        b'e' => jwt(bytes, i),
        b'g' => gatehouse_token(bytes, i),
        b'-' => pem_private_key(text, i),
        _ => None,
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// RFC 6750's `b64token`.
fn is_b64token(b: u8) -> bool {
    is_b64url(b) || matches!(b, b'.' | b'~' | b'+' | b'/')
}

/// The end of the run of bytes matching `pred` from `i`.
fn run(bytes: &[u8], i: usize, pred: fn(u8) -> bool) -> usize {
    i + bytes
        .get(i..)
        .map_or(0, |rest| rest.iter().take_while(|b| pred(**b)).count())
}

fn starts_with_ignore_case(bytes: &[u8], i: usize, word: &[u8]) -> bool {
    bytes
        .get(i..i + word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

/// `Bearer <credential>` (any credential) or `Basic <base64 of user:password>`:
/// the credential's range, the scheme name is kept.
fn scheme_credential(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0 && bytes[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let (is_bearer, word_len) = if starts_with_ignore_case(bytes, i, b"bearer") {
        (true, 6)
    } else if starts_with_ignore_case(bytes, i, b"basic") {
        (false, 5)
    } else {
        return None;
    };
    // Spaces and tabs, or `%20` in a raw path.
    let mut start = i + word_len;
    loop {
        match bytes.get(start) {
            Some(b' ' | b'\t') => start += 1,
            Some(b'%') if bytes.get(start + 1..start + 3) == Some(b"20") => start += 3,
            _ => break,
        }
    }
    if start == i + word_len {
        return None;
    }
    if is_bearer {
        let body = run(bytes, start, is_b64token);
        let end = run(bytes, body, |b| b == b'=');
        return (body > start).then_some((start, end));
    }
    let body = run(bytes, start, |b| {
        b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
    });
    let end = run(bytes, body, |b| b == b'=');
    let decoded = STANDARD.decode(&bytes[start..end]).ok()?;
    decoded.contains(&b':').then_some((start, end))
}

/// A JWS (`header.payload.signature`, the signature possibly empty) or a JWE
/// (five parts, the second possibly empty); the header is JSON, so `eyJ`.
fn jwt(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    if !bytes[i..].starts_with(b"eyJ") {
        return None;
    }
    let mut end = run(bytes, i, is_b64url);
    for part in 1..5 {
        if bytes.get(end) != Some(&b'.') {
            return (part >= 3).then_some((i, end));
        }
        let next = run(bytes, end + 1, is_b64url);
        // Parts beyond the third are only taken when not empty, so a JWS at the
        // end of a sentence keeps its full stop.
        if part >= 3 && next == end + 1 {
            return Some((i, end));
        }
        end = next;
    }
    Some((i, end))
}

/// `gh_` and the 43 base64url characters of 32 random bytes (longer runs too).
fn gatehouse_token(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    if !bytes[i..].starts_with(b"gh_") {
        return None;
    }
    let end = run(bytes, i + 3, is_b64url);
    (end - (i + 3) >= 43).then_some((i, end))
}

/// `-----BEGIN <label>-----` whose label names a private key, through the
/// matching END line, or to the end of the text.
fn pem_private_key(text: &str, i: usize) -> Option<(usize, usize)> {
    const BEGIN: &str = "-----BEGIN ";
    let rest = text.get(i..)?.strip_prefix(BEGIN)?;
    let label_len = rest
        .bytes()
        .take(64)
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b' ')
        .count();
    let label = &rest[..label_len];
    if !label.contains("PRIVATE KEY") || !rest[label_len..].starts_with("-----") {
        return None;
    }
    let after_header = i + BEGIN.len() + label_len + 5;
    let end_line = format!("-----END {label}-----");
    let end = text[after_header..]
        .find(&end_line)
        .map_or(text.len(), |at| after_header + at + end_line.len());
    Some((i, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // proves: AU-4
    #[test]
    fn secret_keys_are_recognised() {
        for key in [
            // token, secret, passw, pwd, apikey, auth, cookie, session, credential, otp
            "token",
            "access_token",
            "X-Auth-Token",
            "refreshToken",
            "token_id",
            "id_token",
            "secret",
            "client_secret",
            "SECRET_KEY",
            "aws_secret_access_key",
            "password",
            "Passwd",
            "new-password",
            "passphrase",
            "pwd",
            "db_pwd",
            "apikey",
            "api_key",
            "Api-Key",
            "x-api-key",
            "X_APIKEY",
            "authorization",
            "Authorization",
            "proxy-authorization",
            "auth",
            "x-auth",
            "oauth_state",
            "auth_header",
            "authentication",
            "is_authorized",
            "cookie",
            "Set-Cookie",
            "cookies",
            "session",
            "session_id",
            "SessionToken",
            "JSESSIONID",
            "credential",
            "credentials",
            "aws.credentials",
            "otp",
            "totp",
            "hotp",
            "otp_code",
            // a one-time code
            "code",
            "codes",
            "sms_code",
            "verification_code",
            "mfaCode",
            "email-code",
            "recovery_codes",
            "backup_code",
            "passcode",
            "pin_code",
            "user_code",
            "code_verifier",
            "decode",
            // other secrets
            "private_key",
            "privateKey",
            "assertion",
            "pin",
        ] {
            assert!(is_secret_key(key), "{key} should be redacted");
        }
    }

    // proves: AU-4
    #[test]
    fn ordinary_keys_are_kept() {
        for key in [
            "name",
            "role",
            "tokenizer_version",
            "codec",
            "code_challenge",
            "encoded",
            "expires_in_seconds",
            "author",
            "authored_by",
            "certificate_authority",
            // codes that classify rather than prove anything
            "status_code",
            "statusCode",
            "http_status_code",
            "error_code",
            "exit_code",
            "response_code",
            "reason_code",
            "country_code",
            "currency_code",
            "language_code",
            "postal_code",
            "zip_code",
            "area_code",
            "product_code",
            "barcode",
            "opcode",
            "unicode",
            "status_codes",
            // the server's own record keys
            "access_decision",
            "policy_version",
            "policies",
            "method",
            "path",
            "query",
            "error",
            "reason",
            "version",
            "sha256",
            "rolled_back_from",
            "text",
            "created_by",
            "occurred_at",
            "reported",
            "ingested",
        ] {
            assert!(!is_secret_key(key), "{key} should be kept");
        }
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let mut v = json!({
            "name": "ci",
            "password": "hunter2",
            "nested": {"Client-Secret": "s3", "items": [{"access_token": "t1"}, {"otp": 123456}]},
            "Authorization": "Bearer gh_x",
            "set-cookie": "sid=1",
            "resetToken": "r",
            "api_key": {"deep": "k"}
        });
        redact_json(&mut v);
        let text = v.to_string();
        for secret in [
            "hunter2", "s3", "t1", "123456", "gh_x", "sid=1", "\"r\"", "\"k\"",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(v["name"], "ci");
    }

    const GH_TOKEN: &str = "gh_Xy3k9Vb2Qm7Lp0Zr5Tn8Wc1Hd4Fg6Js2Ka9Pe3Ru7Yo";
    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.\
                       SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0w\n\
                       aWRlbnRpdHkgc2VjcmV0IGtleSBtYXRlcmlhbA==\n-----END PRIVATE KEY-----";
    const RSA_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n\
                           -----END RSA PRIVATE KEY-----";
    const BEARER: &str = "Bearer opaque.Credential-Value_42~+/==";

    fn redacted(value: serde_json::Value) -> String {
        let mut v = value;
        redact_json(&mut v);
        v.to_string()
    }

    // proves: AU-4
    #[test]
    fn credential_values_are_redacted_under_any_key() {
        assert_eq!(GH_TOKEN.len(), 46);
        let secrets = [
            GH_TOKEN,
            JWT,
            PEM,
            RSA_PEM,
            BEARER,
            "Basic dXNlcjpodW50ZXIy",
            // An unsecured JWT (empty signature) and an encrypted one (five parts,
            // the second empty).
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
            "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXYxMjM0NTY3OA.Y2lwaGVy.dGFnMTIzNA",
            // A private key cut off before its end line.
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk",
        ];
        for secret in secrets {
            let needle = secret_core(secret);
            let cases = [
                json!({"note": secret}),
                json!({"a": {"b": {"c": secret}}}),
                json!({"list": ["x", secret, {"deep": [secret]}]}),
                json!([secret]),
                json!(secret),
                json!({"message": format!("sent {secret} to the upstream")}),
                json!({"header": format!("Authorization: {secret}")}),
                json!({ secret: "used as a key" }),
            ];
            for case in cases {
                let text = redacted(case.clone());
                assert!(
                    !text.contains(needle),
                    "{needle} leaked from {case}: {text}"
                );
                assert!(text.contains(REDACTED), "{case}: {text}");
            }
        }
    }

    /// The part of a secret that must not survive (a Bearer or Basic credential
    /// keeps its scheme name).
    fn secret_core(secret: &str) -> &str {
        secret
            .strip_prefix("Bearer ")
            .or_else(|| secret.strip_prefix("Basic "))
            .unwrap_or(secret)
            .get(..24)
            .unwrap_or(secret)
    }

    // proves: AU-4
    #[test]
    fn surrounding_text_survives() {
        let text = redacted(json!({
            "message": format!("before {GH_TOKEN} after"),
            "auth_line": "ignored",
            "log": format!("got Bearer abc.def and {JWT}; key:\n{PEM}\ndone"),
        }));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["message"], "before [redacted] after");
        assert_eq!(v["auth_line"], "[redacted]");
        assert_eq!(
            v["log"],
            "got Bearer [redacted] and [redacted]; key:\n[redacted]\ndone"
        );
    }

    // proves: AU-4
    #[test]
    fn ordinary_values_are_kept() {
        for value in [
            "plain text",
            "gh_short",
            "gh_",
            "eyJ without dots",
            "eyJhbGciOiJIUzI1NiJ9.only-two-parts",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "Bearer",
            "Bearer ",
            "a forbearer of things",
            "Basic plan",
            "Basic dGVzdA==",
            "2026-01-31T12:00:00Z",
            "/v1/api-tokens/0190e4a8-5b1c-7c3e-9a2f-3d4e5f6a7b8c",
            "Mozilla/5.0 (X11; Linux x86_64) curl/8.5.0",
        ] {
            let text = redacted(json!({ "note": value }));
            assert_eq!(text, json!({ "note": value }).to_string(), "{value:?}");
        }
    }
}
