//! The audit trail's core (PRODUCT.md AU-2, AU-4, AU-6): the SHA-256 hash chain,
//! Ed25519-signed checkpoints, a streaming verifier that names the first record at
//! which the trail was modified, deleted, inserted into, reordered or truncated,
//! redaction of secrets, and spreadsheet-safe CSV cells.
//!
//! It does no I/O beyond `Write`: storage appends and reads, this crate decides
//! what the bytes mean. It must never offer a way to rewrite a chain, and never let
//! a secret through redaction.

mod chain;
mod checkpoint;
pub mod csv;
mod record;
pub mod redact;
mod verify;

pub use chain::{link, Chain, Hash, GENESIS};
pub use checkpoint::{key_id, Checkpoint, CheckpointPolicy, CheckpointSigner, Sealer};
pub use ed25519_dalek::VerifyingKey;
pub use record::{Outcome, Record, RecordRef};
pub use verify::{Finding, Report, StoredEntry, Tamper, Verifier};
