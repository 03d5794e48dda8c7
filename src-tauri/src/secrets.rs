//! What looks like a secret in text a person typed or an error carries: a
//! Gatehouse token (`gh_…`), a JWT, a bearer credential, a private key, or a long
//! random-looking word. The console never echoes such a value in an error, a log
//! line or a file: `redact` blanks it wherever a message is made (`error::local`),
//! and a field whose value looks like one is refused without repeating it.

/// What replaces a secret in a message.
pub const REDACTED: &str = "[redacted]";

/// Shortest random-looking word taken for a secret.
const MIN_RANDOM_LEN: usize = 24;

/// Whether `value` holds anything that looks like a secret.
pub fn looks_secret(value: &str) -> bool {
    redact(value) != value
}

/// `message` with every secret-looking word replaced by `[redacted]`.
pub fn redact(message: &str) -> String {
    if message.contains("PRIVATE KEY") {
        return REDACTED.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    let mut after_bearer = false;
    while let Some(start) = rest.find(is_word_char) {
        out.push_str(&rest[..start]);
        let word_len = rest[start..]
            .find(|c: char| !is_word_char(c))
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        if (after_bearer && word.len() >= 8) || is_secret_word(word) {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
        after_bearer = word.eq_ignore_ascii_case("bearer");
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    out
}

/// The characters of tokens, JWTs, base64 and hex: a word is a run of them.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=' | '.' | '~')
}

fn is_secret_word(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    // A Gatehouse token, whole or cut short, in any case (a host name is lower-cased).
    let is_token_char = |c: &char| c.is_ascii_alphanumeric() || *c == '-' || *c == '_';
    if lower
        .match_indices("gh_")
        .any(|(i, _)| word[i + 3..].chars().take_while(is_token_char).count() >= 8)
    {
        return true;
    }
    // A JWT: base64url of `{"…` (`eyJ`), then two more dotted parts.
    if lower.match_indices("eyj").any(|(i, _)| {
        let mut parts = word[i..].split('.');
        parts.next().is_some_and(|header| header.len() >= 10) && parts.count() >= 2
    }) {
        return true;
    }
    word.split('.').any(is_random)
}

/// Long, mixing letters with digits, and with the spread of characters random
/// text has; host names, UUIDs and words do not pass.
fn is_random(part: &str) -> bool {
    if part.len() < MIN_RANDOM_LEN || is_uuid(part) {
        return false;
    }
    let has = |f: fn(&char) -> bool| part.chars().any(|c| f(&c));
    let (lower, upper, digit) = (
        has(char::is_ascii_lowercase),
        has(char::is_ascii_uppercase),
        has(char::is_ascii_digit),
    );
    let is_hex = part.chars().all(|c| c.is_ascii_hexdigit());
    let mixed = digit && lower && upper || is_hex && digit && part.len() >= 32;
    mixed && entropy(part) >= 3.5
}

fn is_uuid(part: &str) -> bool {
    let groups: Vec<&str> = part.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Shannon entropy in bits per character.
fn entropy(text: &str) -> f64 {
    let mut counts = [0u32; 128];
    let mut total = 0u32;
    for b in text.bytes().filter(u8::is_ascii) {
        counts[usize::from(b)] += 1;
        total += 1;
    }
    let total = f64::from(total.max(1));
    counts
        .iter()
        .filter(|n| **n > 0)
        .map(|n| {
            let p = f64::from(*n) / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "gh_x7Kq2mP9vR4tY8wB3nC6dF1gH5jL0sA2eU7iO4zXq";
    const JWT: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTd9.c2lnbmF0dXJlLWJ5dGVz";

    // proves: CO-1
    #[test]
    fn secrets_are_recognised() {
        for secret in [
            TOKEN,
            &TOKEN.to_ascii_lowercase(),
            &TOKEN[..20],
            JWT,
            "Bearer abcdefghijkl",
            "aws_secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f",
            "-----BEGIN PRIVATE KEY-----",
            &format!("https://{TOKEN}:8443"),
            &format!("token={JWT}"),
        ] {
            assert!(looks_secret(secret), "not recognised: {secret}");
        }
    }

    // proves: CO-1
    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "https://gatehouse.example:8443",
            "https://gatehouse-prod-eu-west-1-node-42.internal.example.com:8443",
            "https://127.0.0.1:41234",
            "https://[::1]:8443",
            "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
            "api token 0190f5c2-7a8b-7cde-8f01-23456789abcd not found",
            "console-0190f5c2-7a8b-7cde-8f01-23456789abcd",
            "cannot reach the server: error sending request for url (https://127.0.0.1:9/v1/server): \
             client error (Connect): tcp connect error: Connection refused (os error 111)",
            "2026-11-23T12:00:00Z",
            "the policy builtin.administrator_can_do_everything does not validate",
            "gh_ alone, or gh_short",
            "",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    // proves: CO-1
    #[test]
    fn redaction_blanks_only_the_secret() {
        assert_eq!(
            redact(&format!(
                "`{TOKEN}` is not a URL (relative URL without a base)"
            )),
            "`[redacted]` is not a URL (relative URL without a base)"
        );
        // A URL holding a token goes whole (`/` belongs to base64 secrets too).
        assert_eq!(
            redact(&format!(
                "error sending request for url (https://{}/healthz)",
                TOKEN.to_ascii_lowercase()
            )),
            "error sending request for url (https:[redacted])"
        );
        assert_eq!(redact(&format!("a {JWT} b")), "a [redacted] b");
        assert_eq!(
            redact("Authorization: Bearer abcdefghijkl"),
            "Authorization: Bearer [redacted]"
        );
    }
}
