//! The `[tokens]` section: access tokens, their signing keys, OAuth clients'
//! secrets (TK-1, TK-2, ID-10).

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;

/// The variable that may hold the key-encryption key itself (base64 of 32
/// bytes), for deployments that keep secrets in the environment. It is read
/// directly, never through the config struct, so it is never printed with it.
pub const KEK_VAR: &str = "GATEHOUSE_TOKEN_KEK";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    /// The `iss` of every token, and the issuer discovery names: an https URL
    /// without a query or fragment. Default: `https://` and the listen address.
    pub issuer: Option<String>,
    /// The `aud` of access tokens: Gatehouse's own API.
    pub audience: String,
    /// Access token lifetime (60 to 3600 seconds).
    pub access_token_ttl_seconds: u64,
    /// Clock skew allowed on `exp`, `nbf` and `iat` (0 to 60 seconds).
    pub clock_skew_seconds: u64,
    /// Algorithm of new signing keys: `EdDSA`, `ES256` or `RS256`.
    pub algorithm: String,
    /// The current key is replaced after this many days (1 to 365).
    pub rotation_days: u64,
    /// The key-encryption key that seals signing keys at rest: a 0600 file,
    /// created in `data_dir` on first start when absent. `GATEHOUSE_TOKEN_KEK`
    /// (the key itself) takes precedence. Replicas must share it.
    pub kek_file: Option<PathBuf>,
    /// After a client secret is rotated, the old one still works this long
    /// (0 to 30 days, in seconds), so deployments can roll it out.
    pub secret_grace_seconds: u64,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: "gatehouse".into(),
            access_token_ttl_seconds: 300,
            clock_skew_seconds: 30,
            algorithm: "EdDSA".into(),
            rotation_days: 30,
            kek_file: None,
            secret_grace_seconds: 24 * 3600,
        }
    }
}

impl TokensConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if let Some(issuer) = &self.issuer {
            let ok = url::Url::parse(issuer).is_ok_and(|u| {
                u.scheme() == "https"
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty()
            });
            if !ok {
                return invalid(
                    "tokens.issuer",
                    "must be an https URL with a host and no query or fragment",
                );
            }
        }
        if self.audience.is_empty() || self.audience.len() > 200 {
            return invalid("tokens.audience", "must be 1 to 200 characters");
        }
        if !(60..=3600).contains(&self.access_token_ttl_seconds) {
            return invalid(
                "tokens.access_token_ttl_seconds",
                "must be between 60 and 3600",
            );
        }
        if self.clock_skew_seconds > 60 {
            return invalid("tokens.clock_skew_seconds", "must be between 0 and 60");
        }
        if gatehouse_tokens::KeyAlgorithm::parse(&self.algorithm).is_none() {
            return invalid("tokens.algorithm", "must be EdDSA, ES256 or RS256");
        }
        if !(1..=365).contains(&self.rotation_days) {
            return invalid("tokens.rotation_days", "must be between 1 and 365");
        }
        if self.secret_grace_seconds > 30 * 86_400 {
            return invalid(
                "tokens.secret_grace_seconds",
                "must be between 0 and 2592000",
            );
        }
        Ok(())
    }

    pub fn key_algorithm(&self) -> gatehouse_tokens::KeyAlgorithm {
        gatehouse_tokens::KeyAlgorithm::parse(&self.algorithm)
            .unwrap_or(gatehouse_tokens::KeyAlgorithm::EdDsa)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn load(toml: &str) -> Result<Config, super::ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(Some(&path), std::iter::empty())
    }

    #[test]
    fn the_example_file_documents_the_section_at_its_defaults() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config.example.toml");
        let c = Config::load(Some(std::path::Path::new(example)), Vec::new()).unwrap();
        assert_eq!(c.tokens, super::TokensConfig::default());
        let text = std::fs::read_to_string(example).unwrap();
        for key in [
            "issuer",
            "audience",
            "access_token_ttl_seconds",
            "clock_skew_seconds",
            "algorithm",
            "rotation_days",
            "kek_file",
            "secret_grace_seconds",
        ] {
            assert!(text.contains(&format!("# {key} = ")), "{key}");
        }
    }

    #[test]
    fn token_settings_are_bounded_and_name_their_key() {
        let c = load("[tokens]\nalgorithm = \"ES256\"\nissuer = \"https://id.example\"\n").unwrap();
        assert_eq!(
            c.tokens.key_algorithm(),
            gatehouse_tokens::KeyAlgorithm::Es256
        );
        assert_eq!(c.effective_issuer(), "https://id.example");
        for (toml, key) in [
            ("[tokens]\nalgorithm = \"HS256\"\n", "tokens.algorithm"),
            ("[tokens]\nalgorithm = \"none\"\n", "tokens.algorithm"),
            (
                "[tokens]\nclock_skew_seconds = 61\n",
                "tokens.clock_skew_seconds",
            ),
            (
                "[tokens]\naccess_token_ttl_seconds = 86400\n",
                "tokens.access_token_ttl_seconds",
            ),
            (
                "[tokens]\nissuer = \"http://id.example\"\n",
                "tokens.issuer",
            ),
            (
                "[tokens]\nissuer = \"https://id.example/?a=b\"\n",
                "tokens.issuer",
            ),
            ("[tokens]\nrotation_days = 0\n", "tokens.rotation_days"),
        ] {
            let e = load(toml).unwrap_err().to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
    }
}
