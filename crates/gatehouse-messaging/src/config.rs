//! The `[messaging]` configuration: at most one email sender, one SMS sender and
//! the development outbox. `validate` names the bad key; secrets never appear in
//! `Debug`.
//!
//! ```toml
//! [messaging]
//! outbox = false            # keep messages for the console instead of sending (development)
//! outbox_capacity = 200
//!
//! [messaging.email.smtp]
//! host = "smtp.example.com"
//! port = 587
//! tls = "starttls"          # or "implicit" (port 465), or "none_for_localhost_only"
//! from = "Gatehouse <no-reply@example.com>"
//! username = "gatehouse"    # optional, with password (GATEHOUSE_MESSAGING__EMAIL__SMTP__PASSWORD)
//!
//! [messaging.sms.webhook]
//! url = "https://sms.example.com/2010-04-01/Accounts/AC…/Messages.json"
//! account_sid = "AC…"
//! auth_token = "…"          # better from GATEHOUSE_MESSAGING__SMS__WEBHOOK__AUTH_TOKEN
//! from = "+15005550006"
//! status_callback_url = "https://gatehouse.example.com/v1/messaging/sms-status"
//! ```

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

pub const DEFAULT_OUTBOX_CAPACITY: usize = 200;
pub const MAX_OUTBOX_CAPACITY: usize = 10_000;
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
pub const MAX_TIMEOUT_MS: u64 = 120_000;
const MIN_TIMEOUT_MS: u64 = 100;
const HIDDEN: &str = "[hidden]";

/// The `[messaging]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendersConfig {
    /// How email goes out; none when absent (the outbox, if on, keeps it).
    pub email: Option<EmailSenderConfig>,
    /// How SMS goes out; none when absent (the outbox, if on, keeps it).
    pub sms: Option<SmsSenderConfig>,
    /// Keep messages in the server's outbox for development and the embedded
    /// console, for every channel with no sender; off unless set.
    pub outbox: bool,
    /// Messages the outbox keeps (1 to 10,000).
    pub outbox_capacity: usize,
}

impl Default for SendersConfig {
    fn default() -> Self {
        SendersConfig {
            email: None,
            sms: None,
            outbox: false,
            outbox_capacity: DEFAULT_OUTBOX_CAPACITY,
        }
    }
}

/// `[messaging.email.smtp]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EmailSenderConfig {
    Smtp(SmtpConfig),
}

/// `[messaging.sms.webhook]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SmsSenderConfig {
    Webhook(SmsWebhookConfig),
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
    /// No TLS at all: only to a mail server on this host (127.0.0.1, ::1,
    /// localhost); refused for any other host.
    NoneForLocalhostOnly,
}

/// An SMTP relay.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    /// Extra certificate authorities (PEM) trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The `From` header and envelope sender: `Gatehouse <no-reply@example.com>`.
    pub from: String,
    /// The name said in `EHLO`; `localhost` when absent.
    pub hello_name: Option<String>,
    /// Bound on one whole send, connection included.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

/// A Twilio-compatible SMS provider: a form POST with HTTP basic auth.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsWebhookConfig {
    /// The provider's messages endpoint; `https://` (plain `http://` only to
    /// this host, for tests).
    pub url: String,
    pub account_sid: String,
    /// Signs our requests (basic auth) and the provider's callbacks.
    pub auth_token: String,
    /// The sending number or sender id.
    pub from: String,
    /// Where the provider reports delivery (`StatusCallback`); none when absent.
    pub status_callback_url: Option<String>,
    /// Extra certificate authorities (PEM) trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Bound on one whole request, connection included.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

type Invalid = (&'static str, String);

impl SendersConfig {
    /// `Err((key, reason))` naming the bad key.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=MAX_OUTBOX_CAPACITY).contains(&self.outbox_capacity) {
            return Err((
                "messaging.outbox_capacity",
                format!("must be 1 to {MAX_OUTBOX_CAPACITY}"),
            ));
        }
        if let Some(EmailSenderConfig::Smtp(smtp)) = &self.email {
            smtp.validate()?;
        }
        if let Some(SmsSenderConfig::Webhook(webhook)) = &self.sms {
            webhook.validate()?;
        }
        Ok(())
    }
}

impl SmtpConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        let host = self.host.trim();
        if host.is_empty() || host != self.host || host.chars().any(char::is_control) {
            return Err(("messaging.email.smtp.host", "must be a host name".into()));
        }
        if self.port == 0 {
            return Err(("messaging.email.smtp.port", "must be 1 to 65535".into()));
        }
        if self.tls == SmtpTls::NoneForLocalhostOnly && !is_loopback_host(host) {
            return Err((
                "messaging.email.smtp.tls",
                format!(
                    "none_for_localhost_only is for 127.0.0.1, ::1 or localhost, not {host}: \
                     use starttls or implicit"
                ),
            ));
        }
        if self.username.is_some() != self.password.is_some() {
            return Err((
                "messaging.email.smtp.username",
                "set both username and password, or neither".into(),
            ));
        }
        if let Err(e) = self.from.parse::<lettre::message::Mailbox>() {
            return Err((
                "messaging.email.smtp.from",
                format!("must be an address like `Gatehouse <no-reply@example.com>`: {e}"),
            ));
        }
        if let Some(name) = &self.hello_name {
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err((
                    "messaging.email.smtp.hello_name",
                    "must be a host name".into(),
                ));
            }
        }
        check_timeout("messaging.email.smtp.timeout_ms", self.timeout_ms)
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| HIDDEN))
            .field("from", &self.from)
            .field("hello_name", &self.hello_name)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl SmsWebhookConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        check_url("messaging.sms.webhook.url", &self.url)?;
        for (key, value) in [
            ("messaging.sms.webhook.account_sid", &self.account_sid),
            ("messaging.sms.webhook.auth_token", &self.auth_token),
            ("messaging.sms.webhook.from", &self.from),
        ] {
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                return Err((key, "must be set, on one line".into()));
            }
        }
        if self.account_sid.contains(':') {
            return Err((
                "messaging.sms.webhook.account_sid",
                "must not contain `:` (it is the basic-auth user name)".into(),
            ));
        }
        if let Some(callback) = &self.status_callback_url {
            check_url("messaging.sms.webhook.status_callback_url", callback)?;
        }
        check_timeout("messaging.sms.webhook.timeout_ms", self.timeout_ms)
    }

    /// Checks a delivery-status callback's `X-Twilio-Signature` with this
    /// provider's auth token (see [`crate::verify_status_callback`]).
    pub fn verify_status_callback(
        &self,
        full_url: &str,
        form_params: &[(String, String)],
        signature_header: &str,
    ) -> bool {
        crate::verify_status_callback(&self.auth_token, full_url, form_params, signature_header)
    }
}

impl std::fmt::Debug for SmsWebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsWebhookConfig")
            .field("url", &self.url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &HIDDEN)
            .field("from", &self.from)
            .field("status_callback_url", &self.status_callback_url)
            .field("ca_file", &self.ca_file)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

fn check_timeout(key: &'static str, timeout_ms: u64) -> Result<(), Invalid> {
    if !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        return Err((key, format!("must be {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS}")));
    }
    Ok(())
}

/// An absolute `https://` URL without credentials in it; `http://` only to
/// this host.
fn check_url(key: &'static str, raw: &str) -> Result<(), Invalid> {
    let url = reqwest::Url::parse(raw).map_err(|e| (key, format!("must be a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err((key, "must not hold credentials".into()));
    }
    let is_loopback = match url.host() {
        Some(url::Host::Domain(name)) => is_loopback_host(name),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err((key, "must name a host".into())),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback => Ok(()),
        "http" => Err((
            key,
            "must be https:// (plain http:// only to 127.0.0.1, ::1 or localhost)".into(),
        )),
        other => Err((key, format!("must be https://, not {other}://"))),
    }
}

/// 127.0.0.0/8, ::1 or `localhost`: where clear text never leaves the host.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp() -> SmtpConfig {
        SmtpConfig {
            host: "smtp.example.com".into(),
            port: 587,
            tls: SmtpTls::Starttls,
            ca_file: None,
            username: Some("gatehouse".into()),
            password: Some("hunter2-smtp".into()),
            from: "Gatehouse <no-reply@example.test>".into(),
            hello_name: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }

    fn webhook() -> SmsWebhookConfig {
        SmsWebhookConfig {
            url: "https://api.example.test/2010-04-01/Accounts/AC1/Messages.json".into(),
            account_sid: "AC1".into(),
            auth_token: "token-secret-1".into(),
            from: "+15005550006".into(),
            status_callback_url: None,
            ca_file: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }

    fn key(result: Result<(), Invalid>) -> &'static str {
        result.err().map(|(k, _)| k).unwrap_or("ok")
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "LocalHost",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "example.com",
            "localhost.example.com",
            "::2",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn smtp_validation_names_the_key() {
        // proves: ID-11
        assert_eq!(key(smtp().validate()), "ok");
        let cleartext_off_host = SmtpConfig {
            tls: SmtpTls::NoneForLocalhostOnly,
            ..smtp()
        };
        assert_eq!(
            key(cleartext_off_host.validate()),
            "messaging.email.smtp.tls"
        );
        let cleartext_local = SmtpConfig {
            tls: SmtpTls::NoneForLocalhostOnly,
            host: "127.0.0.1".into(),
            ..smtp()
        };
        assert_eq!(key(cleartext_local.validate()), "ok");
        let half_credentials = SmtpConfig {
            password: None,
            ..smtp()
        };
        assert_eq!(
            key(half_credentials.validate()),
            "messaging.email.smtp.username"
        );
        let bad_from = SmtpConfig {
            from: "not an address".into(),
            ..smtp()
        };
        assert_eq!(key(bad_from.validate()), "messaging.email.smtp.from");
        let zero_timeout = SmtpConfig {
            timeout_ms: 0,
            ..smtp()
        };
        assert_eq!(
            key(zero_timeout.validate()),
            "messaging.email.smtp.timeout_ms"
        );
    }

    #[test]
    fn webhook_validation_names_the_key() {
        // proves: ID-11
        assert_eq!(key(webhook().validate()), "ok");
        for (url, expected) in [
            ("http://sms.example.com/send", "messaging.sms.webhook.url"),
            ("ftp://sms.example.com/send", "messaging.sms.webhook.url"),
            (
                "https://u:p@sms.example.com/send",
                "messaging.sms.webhook.url",
            ),
            ("not a url", "messaging.sms.webhook.url"),
            ("http://127.0.0.1:8080/send", "ok"),
            ("http://[::1]:8080/send", "ok"),
            ("http://localhost/send", "ok"),
        ] {
            let config = SmsWebhookConfig {
                url: url.into(),
                ..webhook()
            };
            assert_eq!(key(config.validate()), expected, "{url}");
        }
        let no_token = SmsWebhookConfig {
            auth_token: " ".into(),
            ..webhook()
        };
        assert_eq!(key(no_token.validate()), "messaging.sms.webhook.auth_token");
        let plain_callback = SmsWebhookConfig {
            status_callback_url: Some("http://gatehouse.example.com/cb".into()),
            ..webhook()
        };
        assert_eq!(
            key(plain_callback.validate()),
            "messaging.sms.webhook.status_callback_url"
        );
    }

    #[test]
    fn the_section_validates_capacity_and_its_senders() {
        // proves: ID-11
        let mut config = SendersConfig::default();
        assert_eq!(key(config.validate()), "ok");
        config.outbox_capacity = 10_001;
        assert_eq!(key(config.validate()), "messaging.outbox_capacity");
        config.outbox_capacity = 0;
        assert_eq!(key(config.validate()), "messaging.outbox_capacity");
        config.outbox_capacity = 10;
        config.email = Some(EmailSenderConfig::Smtp(SmtpConfig { port: 0, ..smtp() }));
        assert_eq!(key(config.validate()), "messaging.email.smtp.port");
    }

    #[test]
    fn debug_hides_secrets() {
        // proves: ID-11
        let both = format!(
            "{:?}",
            SendersConfig {
                email: Some(EmailSenderConfig::Smtp(smtp())),
                sms: Some(SmsSenderConfig::Webhook(webhook())),
                ..SendersConfig::default()
            }
        );
        assert!(
            !both.contains("hunter2-smtp") && !both.contains("token-secret-1"),
            "{both}"
        );
        assert!(
            both.contains("[hidden]") && both.contains("smtp.example.com"),
            "{both}"
        );
    }
}
