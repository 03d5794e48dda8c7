//! Verification, streaming: records are pushed in stored order (by sequence
//! number), so a trail of any length verifies in constant memory. The first
//! problem found is reported with the sequence number where it shows.

use ed25519_dalek::VerifyingKey;

use crate::{link, Checkpoint, Hash, GENESIS};

/// A record as read back from storage.
#[derive(Debug, Clone, Copy)]
pub struct StoredEntry<'a> {
    pub seq: u64,
    pub canonical: &'a [u8],
    /// The chain hash stored with the record.
    pub hash: Hash,
}

/// What kind of tampering the verifier saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// The record's content or stored hash no longer matches the chain.
    Modified,
    /// Records are missing: the sequence jumps past this number.
    Deleted,
    /// A record appears twice under one sequence number.
    Inserted,
    /// A sequence number goes backwards.
    Reordered,
    /// The chain was recomputed from some record on: hashes agree with each other
    /// but not with a signed checkpoint. The finding names the first record after
    /// the last checkpoint that still matched.
    Rewritten,
    /// The newest records are gone: a checkpoint vouches for more than is stored.
    Truncated,
    /// A checkpoint's signature is not valid under any trusted key.
    ForgedCheckpoint,
}

impl Tamper {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Modified => "modified",
            Self::Deleted => "deleted",
            Self::Inserted => "inserted",
            Self::Reordered => "reordered",
            Self::Rewritten => "rewritten",
            Self::Truncated => "truncated",
            Self::ForgedCheckpoint => "forged_checkpoint",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The first record at which the problem shows.
    pub seq: u64,
    pub kind: Tamper,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub records: u64,
    pub last_seq: u64,
    /// Checkpoints that matched the recomputed chain.
    pub checkpoints_matched: u64,
    /// `None`: the trail verifies.
    pub finding: Option<Finding>,
}

pub struct Verifier {
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    /// The sequence number after the last checkpoint that matched.
    trusted_up_to: u64,
    expected_seq: u64,
    prev_hash: Hash,
    records: u64,
    matched: u64,
    finding: Option<Finding>,
}

impl Verifier {
    /// Checkpoints in any order; each must carry a valid signature of one of
    /// `keys`, or the report says which one is forged.
    pub fn new(mut checkpoints: Vec<Checkpoint>, keys: &[VerifyingKey]) -> Self {
        checkpoints.sort_by_key(|c| c.seq);
        let finding = checkpoints
            .iter()
            .find(|c| !c.is_signed_by_any(keys))
            .map(|c| Finding {
                seq: c.seq,
                kind: Tamper::ForgedCheckpoint,
                detail: format!("the checkpoint at record {} has no valid signature", c.seq),
            });
        Self {
            checkpoints,
            next_checkpoint: 0,
            trusted_up_to: 0,
            expected_seq: 1,
            prev_hash: GENESIS,
            records: 0,
            matched: 0,
            finding,
        }
    }

    pub fn is_broken(&self) -> bool {
        self.finding.is_some()
    }

    /// Checks the next stored record; after the first finding, the rest are ignored.
    pub fn push(&mut self, entry: StoredEntry<'_>) {
        if self.finding.is_some() {
            return;
        }
        if let Some(finding) = self.check(entry) {
            self.finding = Some(finding);
        }
    }

    fn check(&mut self, entry: StoredEntry<'_>) -> Option<Finding> {
        let seq = entry.seq;
        if seq != self.expected_seq {
            let last = self.expected_seq - 1;
            let (kind, at, detail) = if seq > self.expected_seq {
                (
                    Tamper::Deleted,
                    self.expected_seq,
                    format!("records {} to {} are missing", self.expected_seq, seq - 1),
                )
            } else if seq == last {
                (Tamper::Inserted, seq, format!("record {seq} appears twice"))
            } else {
                (
                    Tamper::Reordered,
                    seq,
                    format!("record {seq} comes after record {last}"),
                )
            };
            return Some(Finding {
                seq: at,
                kind,
                detail,
            });
        }
        let hash = link(&self.prev_hash, seq, entry.canonical);
        if hash != entry.hash {
            return Some(Finding {
                seq,
                kind: Tamper::Modified,
                detail: format!("record {seq} does not match its chain hash"),
            });
        }
        self.prev_hash = hash;
        self.expected_seq = seq + 1;
        self.records += 1;
        while let Some(cp) = self
            .checkpoints
            .get(self.next_checkpoint)
            .filter(|c| c.seq <= seq)
        {
            if cp.seq == seq && cp.head != hash {
                let from = self.trusted_up_to + 1;
                return Some(Finding {
                    seq: from,
                    kind: Tamper::Rewritten,
                    detail: format!(
                        "the chain between records {from} and {seq} was recomputed: it no longer \
                         matches the checkpoint signed at record {seq}"
                    ),
                });
            }
            self.matched += 1;
            self.trusted_up_to = cp.seq;
            self.next_checkpoint += 1;
        }
        None
    }

    pub fn finish(mut self) -> Report {
        let last_seq = self.expected_seq - 1;
        if self.finding.is_none() {
            if let Some(cp) = self.checkpoints.last().filter(|c| c.seq > last_seq) {
                self.finding = Some(Finding {
                    seq: last_seq + 1,
                    kind: Tamper::Truncated,
                    detail: format!(
                        "records {} to {} are gone: a checkpoint vouches for record {}",
                        last_seq + 1,
                        cp.seq,
                        cp.seq
                    ),
                });
            }
        }
        Report {
            records: self.records,
            last_seq,
            checkpoints_matched: self.matched,
            finding: self.finding,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Chain, CheckpointSigner};

    struct Trail {
        rows: Vec<(u64, Vec<u8>, Hash)>,
        checkpoints: Vec<Checkpoint>,
        signer: CheckpointSigner,
    }

    /// `n` records with a checkpoint every `every` records.
    fn trail(n: u64, every: u64) -> Trail {
        let signer = CheckpointSigner::from_secret(&[3; 32]);
        let mut chain = Chain::default();
        let mut rows = Vec::new();
        let mut checkpoints = Vec::new();
        for i in 1..=n {
            let body = format!("{{\"action\":\"a{i}\"}}").into_bytes();
            let (seq, hash) = chain.append(&body);
            rows.push((seq, body, hash));
            if seq % every == 0 {
                checkpoints.push(signer.sign(seq, hash, seq as i64));
            }
        }
        Trail {
            rows,
            checkpoints,
            signer,
        }
    }

    fn verify(t: &Trail) -> Report {
        let mut v = Verifier::new(t.checkpoints.clone(), &[t.signer.verifying_key()]);
        for (seq, body, hash) in &t.rows {
            v.push(StoredEntry {
                seq: *seq,
                canonical: body,
                hash: *hash,
            });
        }
        v.finish()
    }

    fn finding(t: &Trail) -> (Tamper, u64) {
        let f = verify(t).finding.expect("tampering must be found");
        (f.kind, f.seq)
    }

    /// Recomputes every stored hash, as an attacker without the checkpoint key
    /// would after changing the rows.
    fn recompute(t: &mut Trail) {
        let mut prev = GENESIS;
        for (seq, body, hash) in &mut t.rows {
            *hash = link(&prev, *seq, body);
            prev = *hash;
        }
    }

    #[test]
    fn an_intact_trail_verifies() {
        let r = verify(&trail(100, 10));
        assert_eq!(
            r,
            Report {
                records: 100,
                last_seq: 100,
                checkpoints_matched: 10,
                finding: None
            }
        );
        assert!(verify(&trail(0, 10)).finding.is_none());
    }

    #[test]
    fn modification_is_named() {
        let mut t = trail(100, 10);
        t.rows[41].1 = b"{\"action\":\"changed\"}".to_vec();
        assert_eq!(finding(&t), (Tamper::Modified, 42));
    }

    #[test]
    fn deletion_is_named() {
        let mut t = trail(100, 10);
        t.rows.remove(56);
        assert_eq!(finding(&t), (Tamper::Deleted, 57));
    }

    #[test]
    fn insertion_and_reordering_are_named() {
        let mut t = trail(100, 10);
        let copy = t.rows[20].clone();
        t.rows.insert(21, copy);
        assert_eq!(finding(&t), (Tamper::Inserted, 21));
        let mut t = trail(100, 10);
        t.rows.swap(30, 31);
        assert_eq!(finding(&t), (Tamper::Deleted, 31), "31 is skipped first");
        let mut t = trail(100, 10);
        let moved = t.rows.remove(10);
        t.rows.insert(20, moved);
        let (kind, _) = finding(&t);
        assert!(
            matches!(kind, Tamper::Deleted | Tamper::Reordered),
            "{kind:?}"
        );
    }

    #[test]
    fn a_recomputed_chain_is_caught_at_the_next_checkpoint() {
        let mut t = trail(100, 10);
        t.rows[44].1 = b"{\"action\":\"hidden\"}".to_vec();
        recompute(&mut t);
        // Records 41..=50 are now untrustworthy; 1..=40 are vouched for.
        assert_eq!(finding(&t), (Tamper::Rewritten, 41));
        // Deleting a record and renumbering the rest is the same attack.
        let mut t = trail(100, 10);
        t.rows.remove(62);
        for (i, row) in t.rows.iter_mut().enumerate() {
            row.0 = i as u64 + 1;
        }
        recompute(&mut t);
        assert_eq!(finding(&t), (Tamper::Rewritten, 61));
    }

    #[test]
    fn deleting_the_newest_records_is_truncation() {
        let mut t = trail(100, 10);
        t.rows.truncate(93);
        assert_eq!(
            finding(&t),
            (Tamper::Truncated, 94),
            "records 94..=100 are vouched for by checkpoint 100"
        );
        let mut t = trail(100, 10);
        t.rows.truncate(85);
        assert_eq!(finding(&t), (Tamper::Truncated, 86));
    }

    #[test]
    fn a_forged_or_altered_checkpoint_is_named() {
        let mut t = trail(30, 10);
        t.checkpoints[1].head = [9; 32];
        assert_eq!(finding(&t), (Tamper::ForgedCheckpoint, 20));
        let mut t = trail(30, 10);
        let forger = CheckpointSigner::from_secret(&[4; 32]);
        t.checkpoints.push(forger.sign(30, [0; 32], 0));
        assert_eq!(finding(&t), (Tamper::ForgedCheckpoint, 30));
    }
}
