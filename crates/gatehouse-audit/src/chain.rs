//! The hash chain: each record's hash covers the previous hash, its sequence number
//! and its canonical bytes, so changing, dropping, adding or moving any record
//! changes every hash after it.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The "previous hash" of the first record.
pub const GENESIS: Hash = [0; 32];

const DOMAIN: &[u8] = b"gatehouse-audit-chain-v1\0";

/// `SHA-256(domain ‖ prev ‖ seq ‖ len ‖ canonical)`; the length prefix keeps the
/// encoding unambiguous.
pub fn link(prev: &Hash, seq: u64, canonical: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update((canonical.len() as u64).to_be_bytes());
    h.update(canonical);
    h.finalize().into()
}

/// The head of a chain being appended to. Sequence numbers start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    last_seq: u64,
    head: Hash,
}

impl Default for Chain {
    fn default() -> Self {
        Self {
            last_seq: 0,
            head: GENESIS,
        }
    }
}

impl Chain {
    /// Continues a stored chain whose newest record is `last_seq` with hash `head`.
    pub fn resume(last_seq: u64, head: Hash) -> Self {
        Self { last_seq, head }
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn head(&self) -> Hash {
        self.head
    }

    /// Links the next record; returns its sequence number and hash.
    pub fn append(&mut self, canonical: &[u8]) -> (u64, Hash) {
        self.last_seq += 1;
        self.head = link(&self.head, self.last_seq, canonical);
        (self.last_seq, self.head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_changes_the_hash() {
        let base = link(&GENESIS, 1, b"abc");
        assert_ne!(base, link(&[1; 32], 1, b"abc"));
        assert_ne!(base, link(&GENESIS, 2, b"abc"));
        assert_ne!(base, link(&GENESIS, 1, b"abd"));
        assert_eq!(base, link(&GENESIS, 1, b"abc"));
    }

    #[test]
    fn resume_continues_exactly() {
        let mut a = Chain::default();
        a.append(b"one");
        let mut b = Chain::resume(a.last_seq(), a.head());
        assert_eq!(a.append(b"two"), b.append(b"two"));
        assert_eq!(a.last_seq(), 2);
    }
}
