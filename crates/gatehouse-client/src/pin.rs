//! TLS for the client: TLS 1.3 only; exactly one certificate named by its SHA-256
//! fingerprint (here), or a chain to trusted certificate authorities (`roots.rs`).

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::ClientError;

/// `AB:CD:…` from what a person pasted: case, colons and white space do not
/// matter, nor a leading label (`sha256:`, `SHA256 Fingerprint=` as openssl prints,
/// `certificate SHA-256:` as `gatehouse init` prints); `None` if not 32 bytes of hex.
pub fn normalize_fingerprint(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let hex_part = [
        "certificatesha-256",
        "sha256fingerprint=",
        "sha-256",
        "sha256",
    ]
    .iter()
    .find_map(|label| compact.strip_prefix(label))
    .unwrap_or(&compact);
    let bytes = hex::decode(hex_part).ok()?;
    (bytes.len() == 32).then(|| format_fingerprint(&bytes))
}

/// The SHA-256 fingerprint of a certificate, `AB:CD:…`.
pub(crate) fn fingerprint_of(cert: &CertificateDer<'_>) -> String {
    format_fingerprint(&Sha256::digest(cert.as_ref()))
}

fn format_fingerprint(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Accepts exactly the certificate whose SHA-256 is pinned; signatures are still
/// checked with the certificate's key, so the server must hold its private key.
#[derive(Debug)]
pub struct PinnedVerifier {
    /// `None`: trust on first use, accepting any certificate and recording it.
    expected: Option<String>,
    algorithms: WebPkiSupportedAlgorithms,
    last_seen: Mutex<Option<String>>,
    mismatch: Mutex<Option<String>>,
}

impl PinnedVerifier {
    pub fn new(fingerprint: &str) -> Result<Self, ClientError> {
        let expected = normalize_fingerprint(fingerprint).ok_or(ClientError::InvalidFingerprint)?;
        Ok(Self::with_expected(Some(expected)))
    }

    /// Accepts whatever certificate the server presents and records its fingerprint,
    /// for the first contact with a server. Use it only to learn the fingerprint
    /// (`GET /healthz`, no token): anything secret goes over a pinned client.
    pub fn trust_on_first_use() -> Self {
        Self::with_expected(None)
    }

    fn with_expected(expected: Option<String>) -> Self {
        Self {
            expected,
            algorithms: ring::default_provider().signature_verification_algorithms,
            last_seen: Mutex::new(None),
            mismatch: Mutex::new(None),
        }
    }

    pub fn last_seen(&self) -> Option<String> {
        self.last_seen.lock().ok().and_then(|g| g.clone())
    }

    /// The mismatch the last failed handshake saw, if that is why it failed.
    pub(crate) fn take_mismatch(&self) -> Option<ClientError> {
        let actual = self.mismatch.lock().ok()?.take()?;
        let expected = self.expected.clone()?;
        Some(ClientError::CertificateMismatch { expected, actual })
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let actual = fingerprint_of(end_entity);
        if let Ok(mut seen) = self.last_seen.lock() {
            *seen = Some(actual.clone());
        }
        if self.expected.as_ref().is_none_or(|e| *e == actual) {
            Ok(ServerCertVerified::assertion())
        } else {
            if let Ok(mut m) = self.mismatch.lock() {
                *m = Some(actual);
            }
            Err(rustls::Error::General(
                "certificate fingerprint does not match the pin".into(),
            ))
        }
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
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

pub(crate) fn tls13_provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![
            ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
            ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
            ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ],
        ..ring::default_provider()
    }
}

/// The client's TLS configuration: TLS 1.3 only, pinned or on the public web roots.
pub fn client_config(
    pinned: Option<Arc<PinnedVerifier>>,
) -> Result<rustls::ClientConfig, ClientError> {
    match pinned {
        Some(verifier) => config_with(verifier),
        None => config_with(Arc::new(crate::roots::CaVerifier::new(
            &crate::CaRoots::web(),
        )?)),
    }
}

/// TLS 1.3 only, ALPN h2 then HTTP/1.1, the server verified by `verifier` alone.
pub(crate) fn config_with(
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<rustls::ClientConfig, ClientError> {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(tls13_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ClientError::Connect(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_normalise() {
        let colons = "AB:".repeat(31) + "AB";
        assert_eq!(
            normalize_fingerprint(&colons).as_deref(),
            Some(colons.as_str())
        );
        assert_eq!(
            normalize_fingerprint(&"ab".repeat(32)).as_deref(),
            Some(colons.as_str())
        );
        assert_eq!(
            normalize_fingerprint(&format!("sha256:{}", "ab".repeat(32))).as_deref(),
            Some(colons.as_str())
        );
        assert_eq!(
            normalize_fingerprint(&format!("certificate SHA-256:  {colons}")).as_deref(),
            Some(colons.as_str())
        );
        assert_eq!(
            normalize_fingerprint(&format!("sha256 Fingerprint={}", colons.to_lowercase()))
                .as_deref(),
            Some(colons.as_str())
        );
        assert_eq!(
            normalize_fingerprint(&format!(" {} ", colons.replace(':', " "))).as_deref(),
            Some(colons.as_str())
        );
        assert!(normalize_fingerprint("ab").is_none());
        assert!(normalize_fingerprint("").is_none());
        assert!(normalize_fingerprint(&format!("gh_{}", "a".repeat(64))).is_none());
        assert!(normalize_fingerprint(&"zz".repeat(32)).is_none());
        assert!(normalize_fingerprint(&"ab".repeat(33)).is_none());
    }
}
