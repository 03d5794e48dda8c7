//! Contact points: the email address and the phone number a person is reached
//! by, for codes (ID-8) and for uniqueness.
//!
//! Both are parsed strictly rather than generously: they end up in SMTP
//! envelopes, SMS gateways, audit records and unique indexes, so anything a
//! header, a log line or a second spelling of the same person could hide in is
//! refused. What is accepted for an email: the dot-atom subset of RFC 5322 that
//! real mailboxes use, ASCII only (no quoted local parts, no comments, no IP
//! literals; internationalised domains must arrive in punycode, `xn--…`). The
//! whole address is stored lower-cased: this deployment treats `Ann@X.com` and
//! `ann@x.com` as one person, which is its uniqueness rule. Phones are E.164.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::IdentityError;

/// RFC 5321's limit on a forward path, less the angle brackets.
pub const MAX_EMAIL_BYTES: usize = 254;
const MAX_LOCAL_BYTES: usize = 64;
const MAX_LABEL_BYTES: usize = 63;
/// Longest phone input looked at, separators included: bounds the work an
/// anonymous sign-up makes the server do before refusing.
const MAX_PHONE_INPUT: usize = 32;
const MASK: &str = "•••";

/// An email address, checked and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, IdentityError> {
        let bad = |message: &str| IdentityError::invalid("email", message);
        let address = input.trim();
        if address.is_empty() {
            return Err(bad("is empty"));
        }
        if address.len() > MAX_EMAIL_BYTES {
            return Err(bad("is longer than 254 bytes"));
        }
        if !address.is_ascii() {
            return Err(bad(
                "must be ASCII; internationalised domains must be in punycode",
            ));
        }
        let address = address.to_ascii_lowercase();
        let mut parts = address.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("must contain exactly one @"));
        };
        check_local(local).map_err(bad)?;
        check_domain(domain).map_err(bad)?;
        Ok(Email(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form for audit records and "we sent a code to …" messages: enough
    /// for the owner to recognise, too little to harvest (`a•••@example.com`).
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first = local.chars().next().unwrap_or('•');
        format!("{first}{MASK}@{domain}")
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }
}

fn check_local(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("the part before @ is empty");
    }
    if local.len() > MAX_LOCAL_BYTES {
        return Err("the part before @ is longer than 64 bytes");
    }
    if !local.bytes().all(is_atext) {
        return Err("the part before @ has a character that is not allowed");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before @ has a misplaced dot");
    }
    Ok(())
}

/// RFC 5322's `atext`, plus the dot (checked for placement separately).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-.".contains(&b)
}

fn check_domain(domain: &str) -> Result<(), &'static str> {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("the domain needs at least two labels");
    }
    for label in &labels {
        if label.is_empty() || label.len() > MAX_LABEL_BYTES {
            return Err("a domain label is empty or longer than 63 bytes");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("the domain has a character that is not allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a domain label starts or ends with a hyphen");
        }
    }
    // An all-digit top label is an IP address written as a name (`1.2.3.4`).
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the domain must be a name, not an address");
    }
    Ok(())
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = IdentityError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Spaces, `-`, `.`, `(` and `)` are dropped, as people write them; nothing
    /// else is guessed: a missing `+` or a `00` prefix is refused rather than
    /// read under some country's dialling rules.
    pub fn parse(input: &str) -> Result<Phone, IdentityError> {
        let bad = |message: &str| IdentityError::invalid("phone", message);
        if input.len() > MAX_PHONE_INPUT {
            return Err(bad("is too long"));
        }
        // `+44 (0)20 …` would silently become another number once the
        // brackets go: the trunk 0 is not dialled from abroad.
        if input.contains("(0)") {
            return Err(bad(
                "drop the (0): it is not part of the international number",
            ));
        }
        let number: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let Some(digits) = number.strip_prefix('+') else {
            return Err(bad("must start with + and the country code"));
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("may only contain digits after the +"));
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(bad("must have 8 to 15 digits"));
        }
        if digits.starts_with('0') {
            return Err(bad("a country code never starts with 0"));
        }
        Ok(Phone(number))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+`, the first two digits, and the last two (`+44•••••••89`).
    pub fn masked(&self) -> String {
        let digits = self.0.get(1..).unwrap_or("");
        let hidden = digits.len().saturating_sub(4);
        let head = digits.get(..2).unwrap_or("");
        let tail = digits.get(digits.len().saturating_sub(2)..).unwrap_or("");
        format!("+{head}{}{tail}", "•".repeat(hidden))
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = IdentityError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_the_owner_recognises() {
        // proves: ID-7 (audit records do not harvest addresses)
        let email = Email::parse("Bob.Smith@Example.com").unwrap();
        assert_eq!(email.masked(), "b•••@example.com");
        assert_eq!(email.domain(), "example.com");
        let phone = Phone::parse("+44 207 946 089").unwrap();
        assert_eq!(phone.masked(), "+44•••••••89");
    }

    #[test]
    fn errors_never_echo_the_input() {
        let err = Email::parse("secret-person@bad..domain").unwrap_err();
        assert!(!err.to_string().contains("secret-person"));
        let err = Phone::parse("+00123456789").unwrap_err();
        assert!(!err.to_string().contains("123456789"));
    }
}
