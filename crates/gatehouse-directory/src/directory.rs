//! One sign-in, in order, all inside one `tokio::time::timeout`:
//! refuse impossible input (before any I/O) → connect with TLS → bind as the service
//! account → search for exactly one entry by the escaped login → bind as that entry with
//! the password (asking for the password policy control) → map the entry to a user.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use ldap3::controls::RawControl;
use ldap3::{ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult};
use ldap3::{Scope, SearchEntry, SearchOptions, SearchResult};
use rustls::{ClientConfig, RootCertStore};
use tokio::task::JoinHandle;

use crate::diagnostic::{self, INVALID_CREDENTIALS, PPOLICY_OID};
use crate::mapping::{requested_attributes, to_user};
use crate::{DirectoryConfig, DirectoryError, DirectoryUser};

/// The longest login accepted, in bytes; longer ones are refused before any I/O.
pub const MAX_LOGIN_BYTES: usize = 256;
/// The longest password accepted, in bytes; longer ones are refused before any I/O.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Where an unknown login's password is bound, so that an unknown login costs the same
/// round trips as a wrong password (ID-7); the answer is ignored.
const ABSENT_RDN: &str = "cn=gatehouse-absent-user";

/// A configured directory. Cheap to share; each sign-in opens its own connection.
pub struct Directory {
    config: DirectoryConfig,
    url: url::Url,
    tls: Arc<ClientConfig>,
}

impl fmt::Debug for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Directory")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// Validates the configuration and loads the CA; nothing is sent yet.
    pub fn new(config: DirectoryConfig) -> Result<Self, DirectoryError> {
        config.validate()?;
        let url = config.parsed_url()?;
        let tls = tls_config(&config.ca_file)?;
        Ok(Self { config, url, tls })
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.config
    }

    /// Checks `login` and `password` against the directory and maps the entry.
    ///
    /// An empty password, and an empty, over-long or NUL-holding login, are refused as
    /// `InvalidCredentials` before any connection is made. Unknown logins and wrong
    /// passwords give the same `InvalidCredentials`.
    pub async fn authenticate(
        &self,
        login: &str,
        password: &str,
    ) -> Result<DirectoryUser, DirectoryError> {
        check_input(login, password)?;
        let bound = self.config.timeout();
        match tokio::time::timeout(bound, self.sign_in(login, password)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(DirectoryError::unavailable(format!(
                "no answer within {} ms",
                self.config.timeout_ms
            ))),
        }
    }

    async fn sign_in(&self, login: &str, password: &str) -> Result<DirectoryUser, DirectoryError> {
        let mut session = self.connect().await?;
        let outcome = self.check(&mut session.ldap, login, password).await;
        // Best effort: the connection is dropped (and its task ended) either way.
        let _ = session.ldap.unbind().await;
        outcome
    }

    async fn connect(&self) -> Result<Session, DirectoryError> {
        let settings = LdapConnSettings::new()
            .set_config(Arc::clone(&self.tls))
            .set_starttls(self.config.starttls);
        let (conn, ldap) = LdapConnAsync::from_url_with_settings(settings, &self.url)
            .await
            .map_err(|e| transport("connect", &e))?;
        let driver = tokio::spawn(async move {
            // Its errors surface as the pending operation's error.
            let _ = conn.drive().await;
        });
        Ok(Session { ldap, driver })
    }

    async fn check(
        &self,
        ldap: &mut Ldap,
        login: &str,
        password: &str,
    ) -> Result<DirectoryUser, DirectoryError> {
        let config = &self.config;
        let bound = ldap
            .simple_bind(&config.bind_dn, &config.bind_password)
            .await
            .map_err(|e| transport("service bind", &e))?;
        match bound.rc {
            0 => {}
            INVALID_CREDENTIALS => {
                return Err(DirectoryError::misconfigured(format!(
                    "the service account's bind (bind_dn) was refused: {}",
                    describe(&bound)
                )))
            }
            _ => return Err(refusal("service bind", &bound)),
        }

        let Some(entry) = self.find(ldap, login).await? else {
            let absent = format!("{ABSENT_RDN},{}", config.search_base);
            let _ = ldap.simple_bind(&absent, password).await;
            return Err(DirectoryError::InvalidCredentials);
        };
        if entry.dn.trim().is_empty() {
            return Err(DirectoryError::InvalidCredentials);
        }

        let answer = ldap
            .with_controls(RawControl {
                ctype: PPOLICY_OID.to_owned(),
                crit: false,
                val: None,
            })
            .simple_bind(&entry.dn, password)
            .await
            .map_err(|e| transport("user bind", &e))?;
        user_bind_outcome(&answer)?;
        to_user(config, entry.dn, &entry.attrs, login)
    }

    /// The one entry the login names, or `None` for none or several.
    async fn find(
        &self,
        ldap: &mut Ldap,
        login: &str,
    ) -> Result<Option<SearchEntry>, DirectoryError> {
        let config = &self.config;
        let filter = format!(
            "(&{}({}={}))",
            config.user_filter,
            config.login_attribute,
            ldap_escape(login)
        );
        let SearchResult(entries, result) = ldap
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(
                &config.search_base,
                Scope::Subtree,
                &filter,
                requested_attributes(config),
            )
            .await
            .map_err(|e| transport("search", &e))?;
        match result.rc {
            0 => {}
            // sizeLimitExceeded: more than one entry matched.
            4 => return Ok(None),
            32 => {
                return Err(DirectoryError::misconfigured(format!(
                    "search_base {:?} does not exist: {}",
                    config.search_base,
                    describe(&result)
                )))
            }
            _ => return Err(refusal("search", &result)),
        }
        let mut entries = entries.into_iter();
        match (entries.next(), entries.next()) {
            (Some(only), None) => Ok(Some(SearchEntry::construct(only))),
            _ => Ok(None),
        }
    }
}

/// The connection's handle and the task that drives it; the task ends with the session.
struct Session {
    ldap: Ldap,
    driver: JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Refuses what could never be valid, before any I/O. An empty password would make
/// the bind anonymous, which succeeds.
fn check_input(login: &str, password: &str) -> Result<(), DirectoryError> {
    let login_ok = !login.is_empty() && login.len() <= MAX_LOGIN_BYTES && !login.contains('\0');
    let password_ok = !password.is_empty() && password.len() <= MAX_PASSWORD_BYTES;
    if login_ok && password_ok {
        Ok(())
    } else {
        Err(DirectoryError::InvalidCredentials)
    }
}

/// What the user's bind says: a success may still carry a password policy condition
/// (OpenLDAP's `changeAfterReset`); a refusal may say locked, expired or disabled.
fn user_bind_outcome(answer: &LdapResult) -> Result<(), DirectoryError> {
    let policy = answer
        .ctrls
        .iter()
        .find(|c| c.1.ctype == PPOLICY_OID)
        .and_then(|c| c.1.val.as_deref())
        .and_then(diagnostic::ppolicy_error)
        .and_then(diagnostic::from_ppolicy_error);
    match answer.rc {
        0 => policy.map_or(Ok(()), Err),
        INVALID_CREDENTIALS => Err(match policy {
            // "Must change" is news only to the one who knows the password.
            Some(DirectoryError::MustChangePassword) => DirectoryError::InvalidCredentials,
            Some(condition) => condition,
            None => diagnostic::ad_data_code(&answer.text)
                .map_or(DirectoryError::InvalidCredentials, diagnostic::from_ad_code),
        }),
        // inappropriateAuthentication, insufficientAccessRights, unwillingToPerform: the
        // directory refuses this entry a password bind; to the user that is a refusal.
        48 | 50 | 53 => Err(DirectoryError::InvalidCredentials),
        _ => Err(refusal("user bind", answer)),
    }
}

/// A result code that is neither success nor a verdict on the credentials.
fn refusal(step: &str, result: &LdapResult) -> DirectoryError {
    let reason = format!("{step}: {}", describe(result));
    match result.rc {
        // timeLimitExceeded, adminLimitExceeded, busy, unavailable, other
        3 | 11 | 51 | 52 | 80 => DirectoryError::unavailable(reason),
        _ => DirectoryError::misconfigured(reason),
    }
}

fn describe(result: &LdapResult) -> String {
    if result.text.is_empty() {
        format!("result code {}", result.rc)
    } else {
        format!(
            "result code {} ({})",
            result.rc,
            result.text.trim_end_matches('\0')
        )
    }
}

/// Connection refused, TLS refused, the connection lost: the directory is unavailable.
/// ldap3's errors name the step's failure, never the bind's password.
fn transport(step: &str, error: &LdapError) -> DirectoryError {
    DirectoryError::unavailable(format!("{step}: {error}"))
}

/// Trusts exactly the CA certificates in `ca_file`, with the ring provider.
fn tls_config(path: &Path) -> Result<Arc<ClientConfig>, DirectoryError> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| DirectoryError::misconfigured(format!("ca_file: cannot read {shown}: {e}")))?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| {
            DirectoryError::misconfigured(format!("ca_file: {shown} is not PEM: {e}"))
        })?;
        roots.add(cert).map_err(|e| {
            DirectoryError::misconfigured(format!("ca_file: a certificate in {shown}: {e}"))
        })?;
    }
    if roots.is_empty() {
        return Err(DirectoryError::misconfigured(format!(
            "ca_file: no certificate in {shown}"
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DirectoryError::misconfigured(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use ldap3::controls::Control;

    #[test]
    fn impossible_input_is_refused_as_invalid_credentials() {
        let refused = |login: &str, password: &str| check_input(login, password).unwrap_err();
        assert_eq!(refused("alice", ""), DirectoryError::InvalidCredentials);
        assert_eq!(refused("", "pw"), DirectoryError::InvalidCredentials);
        assert_eq!(refused("al\0ice", "pw"), DirectoryError::InvalidCredentials);
        assert_eq!(
            refused(&"a".repeat(257), "pw"),
            DirectoryError::InvalidCredentials
        );
        assert_eq!(
            refused("alice", &"p".repeat(1025)),
            DirectoryError::InvalidCredentials
        );
        check_input(&"a".repeat(256), "p").unwrap();
        check_input("*)(uid=*", " ").unwrap();
    }

    fn answer(rc: u32, text: &str, ppolicy: Option<&[u8]>) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: text.to_owned(),
            refs: Vec::new(),
            ctrls: ppolicy
                .map(|v| {
                    Control(
                        None,
                        RawControl {
                            ctype: PPOLICY_OID.to_owned(),
                            crit: false,
                            val: Some(v.to_vec()),
                        },
                    )
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn bind_answers_are_read() {
        let code = |a: LdapResult| user_bind_outcome(&a).err().map(|e| e.code());
        assert_eq!(code(answer(0, "", None)), None);
        assert_eq!(code(answer(49, "", None)), Some("invalid_credentials"));
        assert_eq!(
            code(answer(
                49,
                "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 775, v3839",
                None
            )),
            Some("account_locked")
        );
        assert_eq!(
            code(answer(0, "", Some(&[0x30, 0x03, 0x81, 0x01, 0x02]))),
            Some("must_change_password")
        );
        assert_eq!(
            code(answer(49, "", Some(&[0x30, 0x03, 0x81, 0x01, 0x01]))),
            Some("account_locked")
        );
        assert_eq!(
            code(answer(49, "", Some(&[0x30, 0x03, 0x81, 0x01, 0x02]))),
            Some("invalid_credentials")
        );
        assert_eq!(code(answer(53, "", None)), Some("invalid_credentials"));
        assert_eq!(code(answer(52, "", None)), Some("directory_unavailable"));
    }

    #[test]
    fn a_ca_file_without_certificates_is_misconfigured() {
        let dir = std::env::temp_dir().join(format!("gh-dir-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = tls_config(&path).unwrap_err();
        assert_eq!(err.code(), "directory_misconfigured");
        let err = tls_config(&dir.join("missing.pem")).unwrap_err();
        assert!(err.to_string().contains("ca_file"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
