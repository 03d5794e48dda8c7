//! User types (ID-3): what kind of person a user is, the typed attributes they
//! carry, how they sign in, whether a second factor is required, and the Cedar
//! role they act with.
//!
//! Attributes become Cedar entity attributes, so their kinds are Cedar's
//! (`String`, `Long`, `Boolean`, a set of strings) and every value is checked
//! against its declaration here, before it is stored: a policy can then rely on
//! `principal.department` being a string, never a number or an object. Values
//! are one line (no control characters) because they are shown in the console
//! and written to audit records. Entitlements are the flat list of what a user
//! is entitled to, for policies to test with `contains`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::IdentityError;

const MAX_TYPE_NAME: usize = 32;
const MAX_ATTRIBUTE_NAME: usize = 64;
const MAX_ATTRIBUTES: usize = 32;
const MAX_DESCRIPTION_CHARS: usize = 256;
/// A string attribute's `max_length` when none is declared, and its ceiling.
pub const DEFAULT_STRING_CHARS: u32 = 256;
pub const MAX_STRING_CHARS: u32 = 1024;
const MAX_SET_ITEMS: usize = 32;
const MAX_SET_ITEM_CHARS: usize = 256;
const MAX_ENTITLEMENTS: usize = 64;
const MAX_ENTITLEMENT: usize = 64;
const MAX_ROLE: usize = 64;
/// The attributes every Cedar `User` already has (gatehouse-authz's schema),
/// and names close to them: a declared one would shadow a trusted value (a
/// person signing up with `has_mfa: true`), so none may be declared.
pub const RESERVED_ATTRIBUTES: [&str; 10] = [
    "name",
    "email",
    "phone",
    "user_type",
    "entitlements",
    "is_locked",
    "has_mfa",
    "role",
    "status",
    "id",
];

/// `[a-z][a-z0-9_]*`: the shape of type and attribute names, safe as Cedar
/// identifiers and in error messages.
fn is_identifier(name: &str, max: usize) -> bool {
    is_word(name, max, |b| b.is_ascii_lowercase(), b"_")
}

/// 1 to `max` bytes: the first one `first`, the rest lowercase ASCII letters,
/// digits or one of `extra`.
fn is_word(s: &str, max: usize, first: impl Fn(u8) -> bool, extra: &[u8]) -> bool {
    let mut bytes = s.bytes();
    s.len() <= max
        && bytes.next().is_some_and(first)
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
}

/// A user type's name: 1–32 of `[a-z][a-z0-9_]*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserTypeName(String);

impl UserTypeName {
    pub fn parse(name: &str) -> Result<Self, IdentityError> {
        if is_identifier(name, MAX_TYPE_NAME) {
            Ok(Self(name.to_owned()))
        } else {
            Err(IdentityError::invalid(
                "user_type",
                "must be 1 to 32 of a-z, 0-9 and _, starting with a letter",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UserTypeName {
    type Error = IdentityError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UserTypeName> for String {
    fn from(value: UserTypeName) -> Self {
        value.0
    }
}

/// One attribute a user type declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeDecl {
    pub name: String,
    pub kind: AttributeKind,
    #[serde(default)]
    pub is_required: bool,
    /// Longest value in characters, for `String` only (default 256, at most
    /// 1024). Set items have a fixed 256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

// The enums are the wire's (gatehouse-types), so the console, the API and
// the checks here cannot disagree on a name.
pub use gatehouse_types::{AttributeKind, SecondFactor, SignInMethod};

/// A kind of user, as an administrator declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserType {
    pub name: UserTypeName,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub attributes: Vec<AttributeDecl>,
    pub sign_in: Vec<SignInMethod>,
    pub second_factor: SecondFactor,
    /// The Cedar role users of this type act with (e.g. `auditor`); `None`:
    /// no console role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A checked attribute value. Untagged, so it is written as plain JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    String(String),
    Long(i64),
    Boolean(bool),
    StringSet(Vec<String>),
}

impl UserType {
    pub fn validate(&self) -> Result<(), IdentityError> {
        check_text(&self.description, MAX_DESCRIPTION_CHARS)
            .map_err(|m| IdentityError::invalid("description", m))?;
        if self.attributes.len() > MAX_ATTRIBUTES {
            return Err(IdentityError::invalid(
                "attributes",
                "a user type declares at most 32 attributes",
            ));
        }
        let mut names = BTreeSet::new();
        for decl in &self.attributes {
            decl.validate()?;
            if !names.insert(decl.name.as_str()) {
                return Err(IdentityError::invalid(
                    format!("attributes.{}", decl.name),
                    "is declared twice",
                ));
            }
        }
        if self.sign_in.is_empty() {
            return Err(IdentityError::invalid(
                "sign_in",
                "needs at least one sign-in method",
            ));
        }
        if self.sign_in.iter().collect::<BTreeSet<_>>().len() != self.sign_in.len() {
            return Err(IdentityError::invalid("sign_in", "lists a method twice"));
        }
        if let Some(role) = &self.role {
            if !is_word(role, MAX_ROLE, |b| b.is_ascii_lowercase(), b"_-") {
                return Err(IdentityError::invalid(
                    "role",
                    "must be 1 to 64 of a-z, 0-9, _ and -, starting with a letter",
                ));
            }
        }
        Ok(())
    }

    /// Whether users of this type may have a password.
    pub fn allows_password(&self) -> bool {
        self.sign_in.iter().any(|m| m.uses_password())
    }

    /// Checks a new user's attributes: every one declared, of its kind and
    /// size, and every required one present.
    pub fn check_attributes(
        &self,
        input: &Map<String, Value>,
    ) -> Result<BTreeMap<String, AttributeValue>, IdentityError> {
        let checked = self.check_partial(input)?;
        if let Some(missing) = self
            .attributes
            .iter()
            .find(|d| d.is_required && !checked.contains_key(&d.name))
        {
            return Err(IdentityError::invalid(
                format!("attributes.{}", missing.name),
                "is required",
            ));
        }
        Ok(checked)
    }

    /// Checks the attributes an update changes: the same rules, except that
    /// required ones may be absent (they keep their stored value).
    pub fn check_partial(
        &self,
        input: &Map<String, Value>,
    ) -> Result<BTreeMap<String, AttributeValue>, IdentityError> {
        let mut checked = BTreeMap::new();
        for (name, value) in input {
            let Some(decl) = self.attributes.iter().find(|d| &d.name == name) else {
                // The name is the caller's: echoed only when it has the safe
                // shape of a declared name, never as arbitrary text.
                let field = if is_identifier(name, MAX_ATTRIBUTE_NAME) {
                    format!("attributes.{name}")
                } else {
                    "attributes".to_owned()
                };
                return Err(IdentityError::invalid(
                    field,
                    "is not an attribute of this user type",
                ));
            };
            checked.insert(name.clone(), decl.check_value(value)?);
        }
        Ok(checked)
    }
}

impl AttributeDecl {
    fn field(&self) -> String {
        format!("attributes.{}", self.name)
    }

    fn validate(&self) -> Result<(), IdentityError> {
        if !is_identifier(&self.name, MAX_ATTRIBUTE_NAME) {
            return Err(IdentityError::invalid(
                "attributes",
                "a name must be 1 to 64 of a-z, 0-9 and _, starting with a letter",
            ));
        }
        if RESERVED_ATTRIBUTES.contains(&self.name.as_str()) {
            return Err(IdentityError::invalid(
                self.field(),
                "is a built-in attribute of every user",
            ));
        }
        match (self.kind, self.max_length) {
            (_, None) => Ok(()),
            (AttributeKind::String, Some(1..=MAX_STRING_CHARS)) => Ok(()),
            (AttributeKind::String, Some(_)) => Err(IdentityError::invalid(
                self.field(),
                "max_length must be 1 to 1024",
            )),
            (_, Some(_)) => Err(IdentityError::invalid(
                self.field(),
                "max_length applies to string attributes only",
            )),
        }
    }

    fn check_value(&self, value: &Value) -> Result<AttributeValue, IdentityError> {
        let wrong = |kind: &str| IdentityError::invalid(self.field(), format!("must be {kind}"));
        match self.kind {
            AttributeKind::String => {
                let Value::String(s) = value else {
                    return Err(wrong("a string"));
                };
                let max = self.max_length.unwrap_or(DEFAULT_STRING_CHARS) as usize;
                check_text(s, max).map_err(|m| IdentityError::invalid(self.field(), m))?;
                Ok(AttributeValue::String(s.clone()))
            }
            // `as_i64` is `None` for 1.5, for 1.0 (a float, whatever its
            // value) and for integers past i64: Cedar's `Long` is an i64.
            AttributeKind::Long => value
                .as_i64()
                .map(AttributeValue::Long)
                .ok_or_else(|| wrong("a whole number")),
            AttributeKind::Boolean => value
                .as_bool()
                .map(AttributeValue::Boolean)
                .ok_or_else(|| wrong("true or false")),
            AttributeKind::StringSet => {
                let Value::Array(items) = value else {
                    return Err(wrong("a list of strings"));
                };
                if items.len() > MAX_SET_ITEMS {
                    return Err(IdentityError::invalid(
                        self.field(),
                        "has more than 32 items",
                    ));
                }
                let mut set = BTreeSet::new();
                for item in items {
                    let Value::String(s) = item else {
                        return Err(wrong("a list of strings"));
                    };
                    check_text(s, MAX_SET_ITEM_CHARS).map_err(|m| {
                        IdentityError::invalid(self.field(), format!("an item {m}"))
                    })?;
                    set.insert(s.clone());
                }
                Ok(AttributeValue::StringSet(set.into_iter().collect()))
            }
        }
    }
}

fn check_text(s: &str, max_chars: usize) -> Result<(), String> {
    // Bytes first: a huge value is refused without counting its characters.
    if s.len() > max_chars * 4 || s.chars().count() > max_chars {
        return Err(format!("is longer than {max_chars} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

/// Checks a user's entitlements: each 1–64 of `[a-z0-9][a-z0-9:._-]*`, at
/// most 64; answered deduplicated and sorted, so two spellings of the same
/// list store the same.
pub fn check_entitlements(input: &[String]) -> Result<Vec<String>, IdentityError> {
    if input.len() > MAX_ENTITLEMENTS {
        return Err(IdentityError::invalid(
            "entitlements",
            "a user has at most 64 entitlements",
        ));
    }
    let mut set = BTreeSet::new();
    for entitlement in input {
        let is_valid = is_word(
            entitlement,
            MAX_ENTITLEMENT,
            |b| b.is_ascii_lowercase() || b.is_ascii_digit(),
            b":._-",
        );
        if !is_valid {
            return Err(IdentityError::invalid(
                "entitlements",
                "each must be 1 to 64 of a-z, 0-9, :, ., _ and -, starting with a letter or digit",
            ));
        }
        set.insert(entitlement.clone());
    }
    Ok(set.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits_count_characters_not_bytes() {
        // proves: ID-3 (max_length is in characters)
        assert!(check_text(&"é".repeat(256), 256).is_ok());
        assert!(check_text(&"é".repeat(257), 256).is_err());
        assert!(check_text("a\u{0}b", 256).is_err());
    }
}
