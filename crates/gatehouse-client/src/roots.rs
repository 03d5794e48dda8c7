//! Verification by certificate authorities: the server's chain must lead to one of
//! a set of trusted roots and name the host the client asked for (webpki, the
//! usual way). The set is the system's own (`CaRoots::system`), a PEM bundle, or
//! the public web roots. A refusal is remembered so that the caller learns why
//! (`CertificateUntrusted`), never a silent retry with pinning or without checks.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::pin::{fingerprint_of, tls13_provider};
use crate::ClientError;

/// A set of trusted certificate authorities; cheap to clone.
#[derive(Clone)]
pub struct CaRoots {
    store: Arc<RootCertStore>,
}

impl std::fmt::Debug for CaRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaRoots")
            .field("roots", &self.store.len())
            .finish()
    }
}

impl CaRoots {
    /// The certificate authorities this system trusts: its certificate store, as
    /// OpenSSL would find it (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured).
    /// None at all is an error, not an empty set that trusts nothing silently.
    pub fn system() -> Result<Self, ClientError> {
        let found = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            let why = found
                .errors
                .first()
                .map_or_else(|| "the store is empty".to_owned(), ToString::to_string);
            return Err(ClientError::TrustStore(why));
        }
        Ok(Self::from_store(store))
    }

    /// The roots in a PEM bundle (certificates only).
    pub fn from_pem(pem: &[u8]) -> Result<Self, ClientError> {
        let mut store = RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            let cert = cert.map_err(|e| ClientError::TrustStore(e.to_string()))?;
            store
                .add(cert)
                .map_err(|e| ClientError::TrustStore(e.to_string()))?;
        }
        if store.is_empty() {
            return Err(ClientError::TrustStore(
                "the bundle holds no certificate".into(),
            ));
        }
        Ok(Self::from_store(store))
    }

    /// The public web's roots (Mozilla's list, built in).
    pub fn web() -> Self {
        let mut store = RootCertStore::empty();
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::from_store(store)
    }

    fn from_store(store: RootCertStore) -> Self {
        Self {
            store: Arc::new(store),
        }
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

/// webpki's verifier over a set of roots, recording the presented certificate's
/// fingerprint (to show it) and why a certificate was refused (to say so).
#[derive(Debug)]
pub struct CaVerifier {
    inner: Arc<WebPkiServerVerifier>,
    last_seen: Mutex<Option<String>>,
    refused: Mutex<Option<String>>,
}

impl CaVerifier {
    pub fn new(roots: &CaRoots) -> Result<Self, ClientError> {
        let inner = WebPkiServerVerifier::builder_with_provider(
            roots.store.clone(),
            Arc::new(tls13_provider()),
        )
        .build()
        .map_err(|e| ClientError::TrustStore(e.to_string()))?;
        Ok(Self {
            inner,
            last_seen: Mutex::new(None),
            refused: Mutex::new(None),
        })
    }

    pub fn last_seen(&self) -> Option<String> {
        self.last_seen.lock().ok().and_then(|g| g.clone())
    }

    /// Why the last failed handshake refused the certificate, if it did.
    pub(crate) fn take_refusal(&self) -> Option<ClientError> {
        let why = self.refused.lock().ok()?.take()?;
        Some(ClientError::CertificateUntrusted(why))
    }
}

/// Why a certificate was refused, in words a person can act on.
fn describe(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                "it is not issued by a certificate authority this system trusts".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "it is not issued for this host name".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "it has expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet".into()
            }
            CertificateError::Revoked => "it has been revoked".into(),
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    }
}

impl ServerCertVerifier for CaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.last_seen.lock() {
            *seen = Some(fingerprint_of(end_entity));
        }
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if let Err(e) = &verdict {
            if let Ok(mut refused) = self.refused.lock() {
                *refused = Some(describe(e));
            }
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The client offers TLS 1.3 only, so a TLS 1.2 signature is never legitimate.
        Err(rustls::Error::General("TLS 1.2 is not accepted".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
