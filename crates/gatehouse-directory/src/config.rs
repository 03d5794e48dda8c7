//! One serde struct with defaults: where the directory is, how to trust it, the
//! service account that searches it, and how its entries become Gatehouse users.
//! `validate` names the bad key; TLS is required (ldaps://, or ldap:// with StartTLS).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::DirectoryError;

/// The longest a sign-in may wait for the directory, in milliseconds.
pub const MAX_TIMEOUT_MS: u64 = 30_000;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryConfig {
    /// `ldaps://host:port` or `ldap://host:port` with `starttls = true`. Cleartext is refused.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before anything is sent.
    pub starttls: bool,
    /// PEM file with the CA certificate(s) the directory's certificate must chain to.
    /// The host name (or IP address) in `url` is verified against the certificate.
    pub ca_file: PathBuf,
    /// The service account that searches for the user's entry.
    pub bind_dn: String,
    /// Its password. Never printed by `Debug`.
    pub bind_password: String,
    /// Where user entries are searched (subtree).
    pub search_base: String,
    /// The attribute the user signs in with: `uid` (OpenLDAP) or `sAMAccountName` (AD).
    pub login_attribute: String,
    /// An extra filter every user entry must match, e.g. `(objectClass=inetOrgPerson)`;
    /// for Active Directory `(&(objectCategory=person)(objectClass=user))`.
    pub user_filter: String,
    /// Attribute copied into the user's email; empty to copy none.
    pub email_attribute: String,
    /// Attribute copied into the user's phone number; empty to copy none.
    pub phone_attribute: String,
    /// Attribute copied into the user's display name; empty to copy none.
    pub display_name_attribute: String,
    /// Multi-valued attribute on the user's entry holding the DNs of its groups:
    /// `memberOf` in Active Directory, and in OpenLDAP with the `memberof` overlay or
    /// (as the test harness does) the `dynlist` overlay's `member+memberOf@groupOfNames`.
    pub group_attribute: String,
    /// Rules from group DN to user type and entitlements, in order.
    pub group_mapping: Vec<GroupRule>,
    /// The type of a user whose groups match no rule with a type; none: refused.
    pub default_user_type: Option<String>,
    /// The whole sign-in (connect, TLS, both binds, search) must finish within this.
    pub timeout_ms: u64,
}

/// Members of `group` get `user_type` (the first rule with a type that matches wins)
/// and `entitlements` (the union over every rule that matches).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    /// The group's DN, compared without regard to case or spaces around `,` and `=`.
    pub group: String,
    #[serde(default)]
    pub user_type: Option<String>,
    #[serde(default)]
    pub entitlements: Vec<String>,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            starttls: false,
            ca_file: PathBuf::new(),
            bind_dn: String::new(),
            bind_password: String::new(),
            search_base: String::new(),
            login_attribute: "uid".to_owned(),
            user_filter: "(objectClass=person)".to_owned(),
            email_attribute: "mail".to_owned(),
            phone_attribute: "mobile".to_owned(),
            display_name_attribute: "displayName".to_owned(),
            group_attribute: "memberOf".to_owned(),
            group_mapping: Vec::new(),
            default_user_type: None,
            timeout_ms: 5_000,
        }
    }
}

impl fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("ca_file", &self.ca_file)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &"<redacted>")
            .field("search_base", &self.search_base)
            .field("login_attribute", &self.login_attribute)
            .field("user_filter", &self.user_filter)
            .field("email_attribute", &self.email_attribute)
            .field("phone_attribute", &self.phone_attribute)
            .field("display_name_attribute", &self.display_name_attribute)
            .field("group_attribute", &self.group_attribute)
            .field("group_mapping", &self.group_mapping)
            .field("default_user_type", &self.default_user_type)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl DirectoryConfig {
    /// The bounded wait for one sign-in.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Checks every key; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DirectoryError> {
        self.parsed_url()?;
        if self.ca_file.as_os_str().is_empty() {
            return Err(bad(
                "ca_file",
                "is required: the CA the directory's certificate chains to",
            ));
        }
        if self.bind_dn.trim().is_empty() {
            return Err(bad(
                "bind_dn",
                "is required: the service account that searches",
            ));
        }
        // An empty password makes the service bind anonymous, which would succeed.
        if self.bind_password.is_empty() {
            return Err(bad(
                "bind_password",
                "is required (an empty one binds anonymously)",
            ));
        }
        if self.search_base.trim().is_empty() {
            return Err(bad("search_base", "is required"));
        }
        if !is_attribute_name(&self.login_attribute) {
            return Err(bad("login_attribute", "is not an attribute name"));
        }
        check_filter(&self.user_filter)?;
        for (key, value) in [
            ("email_attribute", &self.email_attribute),
            ("phone_attribute", &self.phone_attribute),
            ("display_name_attribute", &self.display_name_attribute),
            ("group_attribute", &self.group_attribute),
        ] {
            if !value.is_empty() && !is_attribute_name(value) {
                return Err(bad(key, "is not an attribute name"));
            }
        }
        for (i, rule) in self.group_mapping.iter().enumerate() {
            if rule.group.trim().is_empty() {
                return Err(bad(&format!("group_mapping[{i}].group"), "is empty"));
            }
            if rule
                .user_type
                .as_deref()
                .is_some_and(|t| t.trim().is_empty())
            {
                return Err(bad(&format!("group_mapping[{i}].user_type"), "is empty"));
            }
            if rule.entitlements.iter().any(|e| e.trim().is_empty()) {
                return Err(bad(
                    &format!("group_mapping[{i}].entitlements"),
                    "holds an empty entitlement",
                ));
            }
        }
        if !self.group_mapping.is_empty() && self.group_attribute.is_empty() {
            return Err(bad(
                "group_attribute",
                "is required when group_mapping is set",
            ));
        }
        if self
            .default_user_type
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(bad("default_user_type", "is empty"));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return Err(bad(
                "timeout_ms",
                &format!("must be between 1 and {MAX_TIMEOUT_MS}"),
            ));
        }
        Ok(())
    }

    /// The URL, checked: ldaps://, or ldap:// with StartTLS; a host; nothing after it.
    pub(crate) fn parsed_url(&self) -> Result<url::Url, DirectoryError> {
        let url = url::Url::parse(&self.url).map_err(|e| bad("url", &e.to_string()))?;
        match (url.scheme(), self.starttls) {
            ("ldaps", false) | ("ldap", true) => {}
            ("ldaps", true) => {
                return Err(bad("starttls", "must be false with ldaps:// (already TLS)"));
            }
            ("ldap", false) => {
                return Err(bad(
                    "url",
                    "ldap:// without starttls = true is cleartext; use ldaps:// or StartTLS",
                ));
            }
            _ => return Err(bad("url", "must start with ldaps:// or ldap://")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("url", "has no host"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                "url",
                "must be scheme://host:port, with no DN or query",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("url", "must not carry credentials"));
        }
        Ok(url)
    }
}

fn bad(key: &str, reason: &str) -> DirectoryError {
    DirectoryError::Misconfigured {
        reason: format!("{key}: {reason}"),
    }
}

/// An attribute description as RFC 4512 allows it: a name, or a numeric OID.
fn is_attribute_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        Some(c) if c.is_ascii_digit() => name
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())),
        _ => false,
    }
}

/// The user filter is ANDed with the login clause, so it must itself be one whole,
/// parseable filter in parentheses.
fn check_filter(filter: &str) -> Result<(), DirectoryError> {
    if filter.is_empty() {
        return Ok(());
    }
    if !(filter.starts_with('(') && filter.ends_with(')')) {
        return Err(bad("user_filter", "must be one filter in parentheses"));
    }
    let mut depth = 0i32;
    for (i, c) in filter.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i + 1 != filter.len() {
                    return Err(bad("user_filter", "must be one filter in parentheses"));
                }
            }
            _ => {}
        }
        if depth < 0 {
            return Err(bad("user_filter", "has unbalanced parentheses"));
        }
    }
    if depth != 0 {
        return Err(bad("user_filter", "has unbalanced parentheses"));
    }
    ldap3::parse_filter(filter).map_err(|_| bad("user_filter", "is not a valid LDAP filter"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn good() -> DirectoryConfig {
        DirectoryConfig {
            url: "ldaps://dc1.example.test:636".to_owned(),
            ca_file: PathBuf::from("/etc/gatehouse/directory-ca.pem"),
            bind_dn: "cn=gatehouse,ou=services,dc=example,dc=test".to_owned(),
            bind_password: "service-secret".to_owned(),
            search_base: "ou=people,dc=example,dc=test".to_owned(),
            ..DirectoryConfig::default()
        }
    }

    fn reason(config: &DirectoryConfig) -> String {
        match config.validate() {
            Err(DirectoryError::Misconfigured { reason }) => reason,
            other => panic!("expected Misconfigured, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_config_is_valid() {
        good().validate().unwrap();
        let starttls = DirectoryConfig {
            url: "ldap://dc1.example.test".to_owned(),
            starttls: true,
            ..good()
        };
        starttls.validate().unwrap();
    }

    #[test]
    fn cleartext_ldap_is_refused_and_the_key_named() {
        let config = DirectoryConfig {
            url: "ldap://dc1.example.test:389".to_owned(),
            ..good()
        };
        assert!(reason(&config).starts_with("url: "), "{}", reason(&config));
        let both = DirectoryConfig {
            starttls: true,
            ..good()
        };
        assert!(reason(&both).starts_with("starttls: "));
        let http = DirectoryConfig {
            url: "https://dc1.example.test".to_owned(),
            ..good()
        };
        assert!(reason(&http).starts_with("url: "));
    }

    #[test]
    fn each_required_key_is_named_when_missing() {
        let cases: Vec<(&str, DirectoryConfig)> = vec![
            (
                "ca_file",
                DirectoryConfig {
                    ca_file: PathBuf::new(),
                    ..good()
                },
            ),
            (
                "bind_dn",
                DirectoryConfig {
                    bind_dn: String::new(),
                    ..good()
                },
            ),
            (
                "bind_password",
                DirectoryConfig {
                    bind_password: String::new(),
                    ..good()
                },
            ),
            (
                "search_base",
                DirectoryConfig {
                    search_base: " ".to_owned(),
                    ..good()
                },
            ),
            (
                "login_attribute",
                DirectoryConfig {
                    login_attribute: "uid)(x".to_owned(),
                    ..good()
                },
            ),
            (
                "user_filter",
                DirectoryConfig {
                    user_filter: "objectClass=person".to_owned(),
                    ..good()
                },
            ),
            (
                "user_filter",
                DirectoryConfig {
                    user_filter: "(a=b))(|(c=d)".to_owned(),
                    ..good()
                },
            ),
            (
                "phone_attribute",
                DirectoryConfig {
                    phone_attribute: "mo bile".to_owned(),
                    ..good()
                },
            ),
            (
                "timeout_ms",
                DirectoryConfig {
                    timeout_ms: 0,
                    ..good()
                },
            ),
            (
                "timeout_ms",
                DirectoryConfig {
                    timeout_ms: 30_001,
                    ..good()
                },
            ),
            (
                "default_user_type",
                DirectoryConfig {
                    default_user_type: Some(String::new()),
                    ..good()
                },
            ),
        ];
        for (key, config) in cases {
            let reason = reason(&config);
            assert!(reason.starts_with(&format!("{key}: ")), "{key}: {reason}");
        }
    }

    #[test]
    fn the_url_carries_no_dn_and_no_credentials() {
        for url in [
            "ldaps://dc1.example.test/dc=example,dc=test",
            "ldaps://user:pw@dc1.example.test",
            "ldaps://dc1.example.test/?uid",
            "ldaps://",
        ] {
            let config = DirectoryConfig {
                url: url.to_owned(),
                ..good()
            };
            assert!(reason(&config).starts_with("url: "), "{url}");
        }
    }

    #[test]
    fn attribute_names_and_oids_are_accepted() {
        assert!(is_attribute_name("sAMAccountName"));
        assert!(is_attribute_name("x-custom-1"));
        assert!(is_attribute_name("2.5.4.3"));
        assert!(!is_attribute_name(""));
        assert!(!is_attribute_name("1uid"));
        assert!(!is_attribute_name("uid=*"));
        assert!(!is_attribute_name("2..5"));
    }

    #[test]
    fn debug_never_prints_the_service_password() {
        let printed = format!("{:?}", good());
        assert!(!printed.contains("service-secret"));
        assert!(printed.contains("<redacted>"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        use serde::de::value::{Error, MapDeserializer};
        use serde::de::IntoDeserializer;
        let pairs = [("url", "ldaps://x"), ("bind_pasword", "typo")];
        let de: MapDeserializer<'_, _, Error> = MapDeserializer::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into_deserializer(), v.into_deserializer())),
        );
        let err = DirectoryConfig::deserialize(de).unwrap_err().to_string();
        assert!(err.contains("bind_pasword"), "{err}");
    }
}
