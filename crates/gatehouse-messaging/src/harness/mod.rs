//! Test stand-ins, shared with the server's tests (feature `harness`):
//!
//! - [`SmtpServer`]: a real SMTP server, Debian's `aiosmtpd` (package
//!   `python3-aiosmtpd`, run by `/usr/bin/python3`), on a free port of 127.0.0.1,
//!   delivering to a Maildir in a temporary directory; or one that refuses
//!   ([`Refusal`]); or one that speaks STARTTLS or implicit TLS ([`ServerTls`]) with
//!   a certificate for `127.0.0.1` and `localhost` signed by a CA made here.
//! - [`SmsProvider`]: a Twilio-compatible provider's stand-in (no real provider is
//!   reachable from a test machine): a small HTTP server on 127.0.0.1, plain or
//!   HTTPS (`start_https`, a certificate from a CA made here), that records each
//!   form POST and answers as scripted ([`ProviderReply`]).
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use gatehouse_messaging::harness::{ProviderReply, SmsProvider, SmtpServer};
//! use gatehouse_messaging::{Sender, SmsWebhookSender, SmtpSender};
//!
//! let smtp = SmtpServer::start().await?; // cleartext on 127.0.0.1 only
//! let email = SmtpSender::new(&smtp.config())?;
//! // … email.send(&message).await?; then smtp.maildir_messages()
//!
//! let provider = SmsProvider::start().await?; // answers 201 {"sid": "SM…"}
//! provider.reply_with(ProviderReply::invalid_to()); // or unavailable(503), Hang
//! let sms = SmsWebhookSender::new(&provider.config())?;
//! // … sms.send(&message).await; then provider.posts()
//! # Ok(())
//! # }
//! ```
//!
//! Each is stopped when dropped (aiosmtpd is killed and reaped).

mod sms;
mod smtp;

pub use sms::{
    sign_callback, ProviderReply, RecordedPost, SmsProvider, ACCOUNT_SID, AUTH_TOKEN, FROM,
};
pub use smtp::{Refusal, ServerTls, SmtpServer};

use std::path::{Path, PathBuf};

use anyhow::Result;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

/// A CA, and a certificate it signs for `localhost` and `127.0.0.1`; returns the CA's path.
/// The server's certificate and key are `server.pem` and `server.key` beside it.
pub(crate) fn write_certificates(dir: &Path) -> Result<PathBuf> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Gatehouse test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;

    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key)?;

    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca_cert.pem())?;
    std::fs::write(dir.join("server.pem"), server_cert.pem())?;
    std::fs::write(dir.join("server.key"), server_key.serialize_pem())?;
    Ok(ca_path)
}
