//! Refresh-token rotations committed together (TK-4): every rotation spends
//! one token and stores the next with its record, under the audit chain lock;
//! one commit each would cap rotations at the disk's commits per second. A
//! task takes every rotation queued (up to [`MAX_BATCH`]) and commits them in
//! one transaction, then answers each: under load many share a commit, alone
//! one waits for one. Each is still its own compare-and-swap: of two uses of
//! one token, in one batch or two, exactly one rotates.

use std::sync::Arc;

use gatehouse_audit::{Record, Sealer};
use gatehouse_store::{RefreshRow, Rotation, Store};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiFailure;

/// Rotations per commit at most.
const MAX_BATCH: usize = 512;
/// Rotations queued at most; beyond that, callers wait for room.
const QUEUE: usize = 4096;

struct Job {
    old_hash: Vec<u8>,
    next: RefreshRow,
    record: Record,
    reply: oneshot::Sender<Result<bool, ()>>,
}

/// A handle on the rotation task. Cheap to clone.
#[derive(Clone)]
pub struct Rotations {
    jobs: mpsc::Sender<Job>,
}

impl Rotations {
    /// Starts the task; it stops when the last handle is dropped.
    pub fn start(store: Arc<dyn Store>, sealer: Arc<Sealer>) -> Rotations {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, store, sealer));
        Rotations { jobs }
    }

    /// Spends `old_hash` and stores `next` with `record`, committed with the
    /// other rotations queued now; `false` when `old_hash` was spent already.
    pub async fn rotate(
        &self,
        old_hash: &[u8],
        next: &RefreshRow,
        record: Record,
    ) -> Result<bool, ApiFailure> {
        let unavailable = || {
            ApiFailure::new(
                gatehouse_types::ErrorCode::Unavailable,
                "the session store is unavailable; try again",
            )
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            old_hash: old_hash.to_vec(),
            next: next.clone(),
            record,
            reply,
        };
        self.jobs.send(job).await.map_err(|_| unavailable())?;
        answer
            .await
            .map_err(|_| unavailable())?
            .map_err(|()| unavailable())
    }
}

async fn run(mut rx: mpsc::Receiver<Job>, store: Arc<dyn Store>, sealer: Arc<Sealer>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let rotations: Vec<Rotation<'_>> = jobs
            .iter()
            .map(|j| Rotation {
                old_hash: &j.old_hash,
                next: &j.next,
                audit: &j.record,
            })
            .collect();
        let outcome = store.sessions().rotate_refreshes(&rotations, &sealer).await;
        drop(rotations);
        match outcome {
            Ok(done) => {
                for (job, is_rotated) in jobs.into_iter().zip(done) {
                    let _ = job.reply.send(Ok(is_rotated));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rotations = jobs.len(), "cannot rotate refresh tokens");
                for job in jobs {
                    let _ = job.reply.send(Err(()));
                }
            }
        }
    }
}
