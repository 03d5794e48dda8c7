//! From a directory entry to a `DirectoryUser`: the configured attributes copied, the
//! groups matched against `group_mapping` for a user type and entitlements. Pure.

use std::collections::HashMap;

use crate::{DirectoryConfig, DirectoryError};

/// A user the directory vouched for: the password was right, and a user type follows
/// from the groups. The caller creates or updates the Gatehouse user from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The entry's distinguished name, as the directory returned it.
    pub dn: String,
    /// The login as the directory stores it (its case may differ from what was typed).
    pub login: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: Option<String>,
    /// DNs of the groups the entry belongs to, as the directory returned them.
    pub groups: Vec<String>,
    pub user_type: String,
    /// The union of the entitlements of every rule that matched, in rule order.
    pub entitlements: Vec<String>,
}

/// The attributes a search asks for: the login and the mapped ones that are set.
pub(crate) fn requested_attributes(config: &DirectoryConfig) -> Vec<String> {
    [
        &config.login_attribute,
        &config.email_attribute,
        &config.phone_attribute,
        &config.display_name_attribute,
        &config.group_attribute,
    ]
    .into_iter()
    .filter(|a| !a.is_empty())
    .cloned()
    .collect()
}

/// Builds the user from an entry found by the search; `typed` is the login as typed.
pub(crate) fn to_user(
    config: &DirectoryConfig,
    dn: String,
    attrs: &HashMap<String, Vec<String>>,
    typed: &str,
) -> Result<DirectoryUser, DirectoryError> {
    let groups = values(attrs, &config.group_attribute).to_vec();
    let (user_type, entitlements) = classify(config, &groups)?;
    Ok(DirectoryUser {
        login: first(attrs, &config.login_attribute).unwrap_or_else(|| typed.to_owned()),
        email: first(attrs, &config.email_attribute),
        phone: first(attrs, &config.phone_attribute),
        display_name: first(attrs, &config.display_name_attribute),
        dn,
        groups,
        user_type,
        entitlements,
    })
}

/// The user type (first matching rule with one, else the default) and the entitlements
/// (every matching rule's, without repeats).
fn classify(
    config: &DirectoryConfig,
    groups: &[String],
) -> Result<(String, Vec<String>), DirectoryError> {
    let member_of: Vec<String> = groups.iter().map(|g| normalize_dn(g)).collect();
    let mut user_type: Option<&str> = None;
    let mut entitlements: Vec<String> = Vec::new();
    for rule in &config.group_mapping {
        if !member_of.contains(&normalize_dn(&rule.group)) {
            continue;
        }
        if user_type.is_none() {
            user_type = rule.user_type.as_deref();
        }
        for entitlement in &rule.entitlements {
            if !entitlements.contains(entitlement) {
                entitlements.push(entitlement.clone());
            }
        }
    }
    match user_type.or(config.default_user_type.as_deref()) {
        Some(t) => Ok((t.to_owned(), entitlements)),
        None => Err(DirectoryError::NotPermitted {
            reason:
                "no group_mapping rule gives this user a type, and there is no default_user_type"
                    .to_owned(),
        }),
    }
}

/// Attribute names are case-insensitive; directories answer in their own case.
fn values<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> &'a [String] {
    if name.is_empty() {
        return &[];
    }
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map_or(&[], |(_, v)| v.as_slice())
}

fn first(attrs: &HashMap<String, Vec<String>>, name: &str) -> Option<String> {
    values(attrs, name)
        .iter()
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A DN for comparison: lowercase, no spaces around the `,` and `=` that separate its
/// parts (escaped ones, `\,`, are left alone). Good enough for the forms directories
/// return and administrators type; it does not unescape hex pairs.
pub(crate) fn normalize_dn(dn: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                current.push(c);
                escaped = true;
            }
            ',' | '=' => {
                parts.push(current.trim().to_owned());
                parts.push(c.to_string());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    parts.push(current.trim().to_owned());
    parts.concat().to_lowercase()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::GroupRule;

    fn config(default_user_type: Option<&str>) -> DirectoryConfig {
        DirectoryConfig {
            group_mapping: vec![
                GroupRule {
                    group: "CN=Researchers, OU=Groups, DC=example, DC=test".to_owned(),
                    user_type: None,
                    entitlements: vec!["research:read".to_owned()],
                },
                GroupRule {
                    group: "cn=clinicians,ou=groups,dc=example,dc=test".to_owned(),
                    user_type: Some("clinician".to_owned()),
                    entitlements: vec!["records:read".to_owned(), "research:read".to_owned()],
                },
                GroupRule {
                    group: "cn=operators,ou=groups,dc=example,dc=test".to_owned(),
                    user_type: Some("operator".to_owned()),
                    entitlements: vec!["console:use".to_owned()],
                },
            ],
            default_user_type: default_user_type.map(str::to_owned),
            ..DirectoryConfig::default()
        }
    }

    fn attrs(pairs: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn the_first_typed_rule_wins_and_entitlements_are_a_union() {
        let entry = attrs(&[
            ("UID", &["Alice"]),
            ("mail", &["alice@example.test"]),
            ("mobile", &[" ", "+15550100001"]),
            (
                "memberOf",
                &[
                    "cn=operators,ou=groups,dc=example,dc=test",
                    "cn=researchers,ou=groups,dc=example,dc=test",
                    "CN=Clinicians,OU=Groups,DC=example,DC=test",
                ],
            ),
        ]);
        let user = to_user(&config(None), "uid=Alice".to_owned(), &entry, "alice").unwrap();
        assert_eq!(user.login, "Alice");
        assert_eq!(user.email.as_deref(), Some("alice@example.test"));
        assert_eq!(user.phone.as_deref(), Some("+15550100001"));
        assert_eq!(user.display_name, None);
        // Rule order decides, not the order of the directory's values.
        assert_eq!(user.user_type, "clinician");
        assert_eq!(
            user.entitlements,
            ["research:read", "records:read", "console:use"]
        );
        assert_eq!(user.groups.len(), 3);
    }

    #[test]
    fn no_typed_match_uses_the_default_or_is_not_permitted() {
        let entry = attrs(&[("memberOf", &["cn=researchers,ou=groups,dc=example,dc=test"])]);
        let user = to_user(&config(Some("staff")), "uid=x".to_owned(), &entry, "x").unwrap();
        assert_eq!(user.user_type, "staff");
        assert_eq!(user.entitlements, ["research:read"]);
        assert_eq!(user.login, "x");
        let err = to_user(&config(None), "uid=x".to_owned(), &entry, "x").unwrap_err();
        assert_eq!(err.code(), "not_permitted");
        let err = to_user(&config(None), "uid=x".to_owned(), &attrs(&[]), "x").unwrap_err();
        assert_eq!(err.code(), "not_permitted");
    }

    #[test]
    fn dns_compare_without_case_or_spaces_but_keep_escapes() {
        assert_eq!(
            normalize_dn("CN=A B , OU=Groups,DC=x"),
            normalize_dn("cn=a b,ou=groups, dc = x")
        );
        assert_ne!(normalize_dn("cn=a\\,b,dc=x"), normalize_dn("cn=a,b,dc=x"));
        assert_ne!(
            normalize_dn("cn=clinicians,dc=x"),
            normalize_dn("cn=clinicians2,dc=x")
        );
    }

    #[test]
    fn only_set_attributes_are_requested() {
        let mut config = DirectoryConfig::default();
        config.phone_attribute.clear();
        assert_eq!(
            requested_attributes(&config),
            ["uid", "mail", "displayName", "memberOf"]
        );
    }
}
