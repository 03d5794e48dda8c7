//! Secrets never reach the log (AU-4): values under secret-looking keys and
//! sensitive headers are replaced before anything is stored.

use serde_json::Value;

/// What a redacted value becomes.
pub const REDACTED: &str = "[redacted]";

/// Key names (compared case-insensitively, with `-` and `_` ignored) whose values
/// are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "password",
    "newpassword",
    "oldpassword",
    "passphrase",
    "secret",
    "clientsecret",
    "token",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "apikey",
    "apitoken",
    "code",
    "otp",
    "totp",
    "authorization",
    "cookie",
    "setcookie",
    "privatekey",
    "codeverifier",
    "assertion",
];

fn squash(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a field or header name carries a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = squash(key);
    SECRET_KEYS.contains(&k.as_str())
        || k.ends_with("password")
        || k.ends_with("secret")
        || k.ends_with("token")
}

/// Replaces, in place and at any depth, every value under a secret key.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn ordinary_keys_are_kept() {
        for key in [
            "name",
            "role",
            "tokenizer_version",
            "codec",
            "expires_in_seconds",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }
}
