//! Signed checkpoints: every N records or T seconds the chain's head is signed with
//! an Ed25519 key kept apart from the audit table. Rewriting the chain from some
//! record on (recomputing every hash) is then caught at the next checkpoint, and
//! deleting the newest records is caught by a checkpoint that vouches for more.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::Hash;

const DOMAIN: &[u8] = b"gatehouse-audit-checkpoint-v1\0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The newest record the checkpoint covers.
    pub seq: u64,
    /// That record's chain hash.
    pub head: Hash,
    /// When it was signed, unix microseconds.
    pub time_us: i64,
    /// Which key signed it ([`key_id`]).
    pub key_id: String,
    pub signature: [u8; 64],
}

fn message(seq: u64, head: &Hash, time_us: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + 48);
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(head);
    m.extend_from_slice(&time_us.to_be_bytes());
    m
}

/// A short, stable name for a public key: the first 8 bytes of its SHA-256, in hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

#[derive(Clone)]
pub struct CheckpointSigner {
    key: SigningKey,
    key_id: String,
}

impl CheckpointSigner {
    /// From the 32-byte secret (generated from the OS CSPRNG and stored encrypted,
    /// apart from the audit table, by the caller).
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(secret);
        let key_id = key_id(&key.verifying_key());
        Self { key, key_id }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn sign(&self, seq: u64, head: Hash, time_us: i64) -> Checkpoint {
        let signature = self.key.sign(&message(seq, &head, time_us)).to_bytes();
        Checkpoint {
            seq,
            head,
            time_us,
            key_id: self.key_id.clone(),
            signature,
        }
    }
}

impl Checkpoint {
    /// Whether one of `keys` signed exactly this checkpoint.
    pub fn is_signed_by_any(&self, keys: &[VerifyingKey]) -> bool {
        let signature = Signature::from_bytes(&self.signature);
        let message = message(self.seq, &self.head, self.time_us);
        keys.iter()
            .filter(|k| key_id(k) == self.key_id)
            .any(|k| k.verify(&message, &signature).is_ok())
    }
}

/// When the next checkpoint is due: after `every_records` records or `every_us`
/// microseconds with at least one new record, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    pub every_records: u64,
    pub every_us: i64,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every_records: 10_000,
            every_us: 10_000_000,
        }
    }
}

impl CheckpointPolicy {
    pub fn is_due(&self, records_since: u64, us_since: i64) -> bool {
        records_since > 0 && (records_since >= self.every_records || us_since >= self.every_us)
    }
}

/// What seals a chain: the checkpoint key and when to use it.
pub struct Sealer {
    pub signer: CheckpointSigner,
    pub policy: CheckpointPolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_any_change_breaks_them() {
        let signer = CheckpointSigner::from_secret(&[7; 32]);
        let keys = [signer.verifying_key()];
        let cp = signer.sign(10, [1; 32], 1_000);
        assert!(cp.is_signed_by_any(&keys));
        for tampered in [
            Checkpoint {
                seq: 11,
                ..cp.clone()
            },
            Checkpoint {
                head: [2; 32],
                ..cp.clone()
            },
            Checkpoint {
                time_us: 1_001,
                ..cp.clone()
            },
        ] {
            assert!(!tampered.is_signed_by_any(&keys));
        }
        let other = CheckpointSigner::from_secret(&[8; 32]);
        assert!(!cp.is_signed_by_any(&[other.verifying_key()]));
        assert!(!other.sign(10, [1; 32], 1_000).is_signed_by_any(&keys));
    }

    #[test]
    fn policy() {
        let p = CheckpointPolicy {
            every_records: 100,
            every_us: 5_000_000,
        };
        assert!(!p.is_due(0, 10_000_000), "nothing new, nothing to sign");
        assert!(!p.is_due(99, 4_999_999));
        assert!(p.is_due(100, 0));
        assert!(p.is_due(1, 5_000_000));
    }
}
