//! The certificate authorities the senders trust: the system's store (as OpenSSL
//! would find it; `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured) plus the
//! configured `ca_file`. Verification is always on: there is no setting that
//! accepts any certificate.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::SendError;

/// The trusted roots, as DER; an unreadable `ca_file`, or no root at all, is a
/// configuration error naming `key`.
pub(crate) fn trusted_roots(
    ca_file: Option<&Path>,
    key: &str,
) -> Result<Vec<CertificateDer<'static>>, SendError> {
    let mut roots: Vec<CertificateDer<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .filter(|cert| RootCertStore::empty().add(cert.clone()).is_ok())
        .collect();
    if let Some(path) = ca_file {
        let shown = path.display();
        let pem = std::fs::read(path)
            .map_err(|e| SendError::misconfigured(format!("{key}: cannot read {shown}: {e}")))?;
        let mut found = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert
                .map_err(|e| SendError::misconfigured(format!("{key}: {shown} is not PEM: {e}")))?;
            RootCertStore::empty().add(cert.clone()).map_err(|e| {
                SendError::misconfigured(format!("{key}: a certificate in {shown}: {e}"))
            })?;
            roots.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(SendError::misconfigured(format!(
                "{key}: no certificate in {shown}"
            )));
        }
    }
    if roots.is_empty() {
        return Err(SendError::misconfigured(format!(
            "no trusted certificate authority: the system's store is empty; set {key}"
        )));
    }
    Ok(roots)
}

/// A rustls client configuration over `roots`, with the ring provider.
pub(crate) fn client_config(
    roots: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, SendError> {
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(roots);
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SendError::misconfigured(format!("tls: {e}")))?
    .with_root_certificates(store)
    .with_no_client_auth();
    Ok(config)
}

/// Whether `error` (or what it wraps) is a certificate the peer presented and we
/// do not trust: a configuration matter (`ca_file`), not one to retry.
pub(crate) fn untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(rustls::Error::InvalidCertificate(why)) = e.downcast_ref::<rustls::Error>() {
            return Some(format!("{why:?}"));
        }
        // An `io::Error`'s `source()` skips the error it wraps: look inside instead.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_or_empty_ca_file_is_misconfigured_and_named() {
        let dir =
            std::env::temp_dir().join(format!("gatehouse-messaging-tls-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let missing = dir.join("missing.pem");
        let err = trusted_roots(Some(&missing), "messaging.email.smtp.ca_file").err();
        assert!(
            matches!(&err, Some(SendError::Misconfigured { reason }) if reason.contains("ca_file")),
            "{err:?}"
        );
        let empty = dir.join("empty.pem");
        let _ = std::fs::write(&empty, "no certificates here\n");
        let err = trusted_roots(Some(&empty), "messaging.email.smtp.ca_file").err();
        assert!(
            matches!(&err, Some(SendError::Misconfigured { reason }) if reason.contains("no certificate")),
            "{err:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_certificate_refusal_is_found_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        assert!(untrusted_certificate(&io).is_some());
        // As hyper-util hands it to reqwest: one io::Error inside another.
        let nested = std::io::Error::other(io);
        assert!(untrusted_certificate(&nested).is_some());
        let other = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(untrusted_certificate(&other).is_none());
    }
}
