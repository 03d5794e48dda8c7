//! Reading why a bind was refused, and whether a successful one comes with a condition.
//!
//! Active Directory answers every failed bind with result code 49 and puts the reason
//! in the diagnostic text (`... AcceptSecurityContext error, data 775, v3839`).
//! OpenLDAP's ppolicy overlay answers with a response control (draft-behera-ldap-
//! password-policy) when the bind asked for it.

use crate::DirectoryError;

/// LDAP result code `invalidCredentials`.
pub(crate) const INVALID_CREDENTIALS: u32 = 49;

/// The password policy request/response control's OID.
pub(crate) const PPOLICY_OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";

/// The sub-code after `data ` in an Active Directory bind diagnostic, as written (hex).
pub(crate) fn ad_data_code(text: &str) -> Option<u32> {
    let start = text.find("data ")? + "data ".len();
    let hex: String = text[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    if hex.is_empty() {
        return None;
    }
    u32::from_str_radix(&hex, 16).ok()
}

/// What an Active Directory bind sub-code means. Unknown codes, and "no such user",
/// are `InvalidCredentials`: the answer must not tell unknown users from wrong passwords.
pub(crate) fn from_ad_code(code: u32) -> DirectoryError {
    match code {
        0x530 => DirectoryError::NotPermitted {
            reason: "the directory does not permit sign-in at this time (AD data 530)".to_owned(),
        },
        0x531 => DirectoryError::NotPermitted {
            reason: "the directory does not permit sign-in from this workstation (AD data 531)"
                .to_owned(),
        },
        0x532 => DirectoryError::PasswordExpired {
            reason: "the password has expired (AD data 532)".to_owned(),
        },
        0x533 => DirectoryError::AccountDisabled,
        0x701 => DirectoryError::PasswordExpired {
            reason: "the account has expired (AD data 701)".to_owned(),
        },
        0x773 => DirectoryError::MustChangePassword,
        0x775 => DirectoryError::AccountLocked,
        // 0x525 no such user, 0x52e wrong password, and anything unknown.
        _ => DirectoryError::InvalidCredentials,
    }
}

/// The `error` of a password policy response control's value, if it has one.
///
/// ```text
/// PasswordPolicyResponseValue ::= SEQUENCE {
///     warning [0] CHOICE { timeBeforeExpiration [0] INTEGER, graceAuthNsRemaining [1] INTEGER } OPTIONAL,
///     error   [1] ENUMERATED { passwordExpired (0), accountLocked (1), changeAfterReset (2), ... } OPTIONAL }
/// ```
pub(crate) fn ppolicy_error(value: &[u8]) -> Option<u8> {
    let (tag, body, _) = tlv(value)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = body;
    while !rest.is_empty() {
        let (tag, content, after) = tlv(rest)?;
        if tag == 0x81 {
            return match content {
                [code] => Some(*code),
                _ => None,
            };
        }
        rest = after;
    }
    None
}

/// What a password policy `error` means for a sign-in; `None` when it does not stop one.
pub(crate) fn from_ppolicy_error(code: u8) -> Option<DirectoryError> {
    match code {
        0 => Some(DirectoryError::PasswordExpired {
            reason: "the password has expired (ppolicy passwordExpired)".to_owned(),
        }),
        1 => Some(DirectoryError::AccountLocked),
        2 => Some(DirectoryError::MustChangePassword),
        // The rest (passwordModNotAllowed, insufficientPasswordQuality, …) are about
        // changing a password, not about binding.
        _ => None,
    }
}

/// One BER tag-length-value: (tag, content, what follows). Definite lengths only.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]

    use super::*;

    /// Diagnostics as Active Directory (2008 R2 to 2022) writes them.
    const AD: &[(&str, &str)] = &[
        (
            "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 52e, v3839",
            "invalid_credentials",
        ),
        (
            "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 525, v1db1",
            "invalid_credentials",
        ),
        (
            "80090308: LdapErr: DSID-0C090334, comment: AcceptSecurityContext error, data 525, vece",
            "invalid_credentials",
        ),
        (
            "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 530, v3839",
            "not_permitted",
        ),
        (
            "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 531, v3839",
            "not_permitted",
        ),
        (
            "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 532, v3839",
            "password_expired",
        ),
        (
            "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 533, v3839",
            "account_disabled",
        ),
        (
            "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 701, v3839",
            "password_expired",
        ),
        (
            "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 773, v3839",
            "must_change_password",
        ),
        (
            "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 775, v3839",
            "account_locked",
        ),
        (
            "80090308: LdapErr: DSID-0C090447, comment: AcceptSecurityContext error, data 775, v4563\u{0}",
            "account_locked",
        ),
    ];

    #[test]
    fn active_directory_bind_diagnostics_are_read() {
        for (text, code) in AD {
            let error = ad_data_code(text).map_or(DirectoryError::InvalidCredentials, from_ad_code);
            assert_eq!(error.code(), *code, "{text}");
        }
    }

    #[test]
    fn account_expiry_says_so_in_its_reason() {
        match from_ad_code(0x701) {
            DirectoryError::PasswordExpired { reason } => assert!(reason.contains("account")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_without_a_data_code_is_none() {
        assert_eq!(ad_data_code(""), None);
        assert_eq!(ad_data_code("Invalid credentials"), None);
        assert_eq!(ad_data_code("comment: data , v1"), None);
        assert_eq!(ad_data_code("data 52e"), Some(0x52e));
    }

    #[test]
    fn ppolicy_response_values_are_read() {
        // error: accountLocked
        assert_eq!(ppolicy_error(&[0x30, 0x03, 0x81, 0x01, 0x01]), Some(1));
        // warning timeBeforeExpiration 300 then error changeAfterReset
        assert_eq!(
            ppolicy_error(&[0x30, 0x09, 0xa0, 0x04, 0x80, 0x02, 0x01, 0x2c, 0x81, 0x01, 0x02]),
            Some(2)
        );
        // warning only
        assert_eq!(
            ppolicy_error(&[0x30, 0x05, 0xa0, 0x03, 0x81, 0x01, 0x03]),
            None
        );
        // empty sequence, truncated, wrong outer tag
        assert_eq!(ppolicy_error(&[0x30, 0x00]), None);
        assert_eq!(ppolicy_error(&[0x30, 0x05, 0x81, 0x01]), None);
        assert_eq!(ppolicy_error(&[0x31, 0x03, 0x81, 0x01, 0x01]), None);
        // long-form length
        assert_eq!(
            ppolicy_error(&[0x30, 0x81, 0x03, 0x81, 0x01, 0x00]),
            Some(0)
        );
    }

    #[test]
    fn ppolicy_errors_map_to_sign_in_outcomes() {
        let code = |c| from_ppolicy_error(c).map(|e| e.code());
        assert_eq!(code(0), Some("password_expired"));
        assert_eq!(code(1), Some("account_locked"));
        assert_eq!(code(2), Some("must_change_password"));
        assert_eq!(code(5), None);
    }
}
