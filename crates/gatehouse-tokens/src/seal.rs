//! Private signing keys at rest (TK-2): sealed with XChaCha20-Poly1305 under a
//! key-encryption key kept outside the database, the key id bound in as
//! associated data, so a sealed key copied onto another key's row does not open.
//!
//! Layout: `1 || nonce (24 bytes) || ciphertext and tag`. The leading version
//! lets a later algorithm live beside this one.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::rng::Random;
use crate::TokensError;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// Domain separation: this key-encryption key seals signing keys and nothing else.
const CONTEXT: &[u8] = b"gatehouse signing key v1\0";

/// The key-encryption key: 32 random bytes, wiped when dropped, never printed.
pub struct Kek(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    pub fn generate(rng: &mut dyn Random) -> Kek {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut());
        Kek(bytes)
    }

    /// From its text form: standard base64 of 32 bytes, surrounding whitespace
    /// ignored (a file's final newline).
    pub fn from_base64(text: &str) -> Result<Kek, TokensError> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| TokensError::Kek("not base64".into()))?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| TokensError::Kek("must be 32 bytes".into()))?;
        Ok(Kek(Zeroizing::new(bytes)))
    }

    /// The text form to write to the key file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_ref()))
    }

    /// A key for another use, derived from this one (HMAC-SHA256 of `label`),
    /// so one secret kept outside the database covers every server-side key:
    /// different labels give unrelated keys, and none reveals this one.
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        use hmac::Mac;
        // HMAC pads a short key with zeros to its 64-byte block: padding it
        // here makes the infallible fixed-size constructor usable.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(self.0.as_ref());
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(&(*block).into());
        mac.update(b"gatehouse derived key v1\0");
        mac.update(label.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// A key-encryption key from raw bytes (one [`Kek::derive`] made).
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Kek {
        Kek(bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }
}

fn associated(kid: &str) -> Vec<u8> {
    [CONTEXT, kid.as_bytes()].concat()
}

/// Seals `plaintext` (a private key's DER) for the key `kid`.
pub fn seal(
    kek: &Kek,
    kid: &str,
    plaintext: &[u8],
    rng: &mut dyn Random,
) -> Result<Vec<u8>, TokensError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let aad = associated(kid);
    let sealed = kek
        .cipher()
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| TokensError::Seal)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens what [`seal`] sealed for `kid`. A wrong key-encryption key, another
/// key's id, or any changed byte all fail the same way.
pub fn open(kek: &Kek, kid: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, TokensError> {
    let (version, rest) = sealed.split_first().ok_or(TokensError::Seal)?;
    if *version != VERSION || rest.len() < NONCE_LEN {
        return Err(TokensError::Seal);
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let aad = associated(kid);
    kek.cipher()
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| TokensError::Seal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_label_and_from_the_key() {
        // proves: ID-8 (the code key and the TOTP sealing key are separate keys)
        let kek = Kek::from_bytes(Zeroizing::new([5u8; 32]));
        let a = kek.derive("gatehouse.code-key.v1");
        let b = kek.derive("gatehouse.totp-seal.v1");
        assert_ne!(*a, *b);
        assert_ne!(*a, [5u8; 32]);
        assert_eq!(*a, *kek.derive("gatehouse.code-key.v1"));
        let other = Kek::from_bytes(Zeroizing::new([6u8; 32]));
        assert_ne!(*a, *other.derive("gatehouse.code-key.v1"));
    }
    use rand::SeedableRng;

    #[test]
    fn a_sealed_key_opens_only_with_its_kek_and_its_id() {
        // proves: TK-2
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let kek = Kek::generate(&mut rng);
        let secret = b"-- a private key --";
        let sealed = seal(&kek, "kid-a", secret, &mut rng).unwrap();
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        assert_eq!(open(&kek, "kid-a", &sealed).unwrap().as_slice(), secret);
        // Moved onto another key's row.
        assert!(open(&kek, "kid-b", &sealed).is_err());
        // Under another key-encryption key.
        assert!(open(&Kek::generate(&mut rng), "kid-a", &sealed).is_err());
        // Any byte changed, truncated, or another version.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(open(&kek, "kid-a", &bad).is_err(), "byte {i}");
        }
        assert!(open(&kek, "kid-a", &sealed[..20]).is_err());
        assert!(open(&kek, "kid-a", &[]).is_err());
        // Two seals of the same key differ (fresh nonce).
        assert_ne!(sealed, seal(&kek, "kid-a", secret, &mut rng).unwrap());
    }

    #[test]
    fn the_kek_round_trips_through_text_and_refuses_the_wrong_size() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let kek = Kek::generate(&mut rng);
        let text = kek.to_base64();
        let again = Kek::from_base64(&format!("{}\n", text.as_str())).unwrap();
        let sealed = seal(&kek, "k", b"x", &mut rng).unwrap();
        assert_eq!(open(&again, "k", &sealed).unwrap().as_slice(), b"x");
        assert!(Kek::from_base64("c2hvcnQ=").is_err());
        assert!(Kek::from_base64("not base64!").is_err());
        assert_eq!(format!("{kek:?}"), "Kek(..)");
    }
}
