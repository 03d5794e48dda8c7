//! Session writes committed together (ID-9, TK-4): opening a session (a
//! sign-in) and rotating a refresh token each write rows and their record
//! under the audit chain lock; one commit each would cap them at the disk's
//! commits per second, and spend the CPU of a commit (WAL pages, checksums,
//! the sync) on each. A task takes every write queued (up to [`MAX_BATCH`])
//! and commits them in one transaction, then answers each: under load many
//! share a commit, alone one waits for one. A rotation is still its own
//! compare-and-swap: of two uses of one token, in one batch or two, exactly
//! one rotates.

use std::sync::Arc;

use gatehouse_audit::{Record, Sealer};
use gatehouse_store::{
    RefreshRow, Rotation, SessionEnd, SessionRow, SessionWrite, SessionWritten, Store,
};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiFailure;

/// Writes per commit at most.
const MAX_BATCH: usize = 512;
/// Writes queued at most; beyond that, callers wait for room.
const QUEUE: usize = 4096;

/// A session to open, with what ends with it.
struct Opening {
    session: SessionRow,
    refresh: Option<RefreshRow>,
    /// For deployments without concurrent sessions: the reason and horizon
    /// the user's other sessions end with.
    end_others: Option<(&'static str, i64, i64)>,
}

enum Work {
    Open(Box<Opening>),
    Rotate { old_hash: Vec<u8>, next: RefreshRow },
}

struct Job {
    work: Work,
    record: Record,
    reply: oneshot::Sender<Result<SessionWritten, ()>>,
}

/// A handle on the writing task. Cheap to clone.
#[derive(Clone)]
pub struct SessionWriter {
    jobs: mpsc::Sender<Job>,
}

fn unavailable() -> ApiFailure {
    ApiFailure::new(
        gatehouse_types::ErrorCode::Unavailable,
        "the session store is unavailable; try again",
    )
}

impl SessionWriter {
    /// Starts the task; it stops when the last handle is dropped.
    pub fn start(store: Arc<dyn Store>, sealer: Arc<Sealer>) -> SessionWriter {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, store, sealer));
        SessionWriter { jobs }
    }

    async fn submit(&self, work: Work, record: Record) -> Result<SessionWritten, ApiFailure> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work,
            record,
            reply,
        };
        self.jobs.send(job).await.map_err(|_| unavailable())?;
        answer
            .await
            .map_err(|_| unavailable())?
            .map_err(|()| unavailable())
    }

    /// Opens `session` with its first refresh token and `record`; with
    /// `end_others` (`(reason, at_us, event_not_after_us)`), the user's other
    /// open sessions end with it. Returns the ids ended.
    pub async fn open(
        &self,
        session: SessionRow,
        refresh: Option<RefreshRow>,
        end_others: Option<(&'static str, i64, i64)>,
        record: Record,
    ) -> Result<Vec<String>, ApiFailure> {
        let opening = Opening {
            session,
            refresh,
            end_others,
        };
        match self.submit(Work::Open(Box::new(opening)), record).await? {
            SessionWritten::Opened { ended } => Ok(ended),
            SessionWritten::Rotated(_) => Err(ApiFailure::internal()),
        }
    }

    /// Spends `old_hash` and stores `next` with `record`; `false` when
    /// `old_hash` was spent already (nothing written).
    pub async fn rotate(
        &self,
        old_hash: &[u8],
        next: &RefreshRow,
        record: Record,
    ) -> Result<bool, ApiFailure> {
        let work = Work::Rotate {
            old_hash: old_hash.to_vec(),
            next: next.clone(),
        };
        match self.submit(work, record).await? {
            SessionWritten::Rotated(is_rotated) => Ok(is_rotated),
            SessionWritten::Opened { .. } => Err(ApiFailure::internal()),
        }
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
        let ends: Vec<Option<SessionEnd<'_>>> = jobs
            .iter()
            .map(|j| match &j.work {
                Work::Open(o) => o
                    .end_others
                    .map(|(reason, at_us, not_after_us)| SessionEnd {
                        reason,
                        at_us,
                        event_not_after_us: not_after_us,
                    }),
                Work::Rotate { .. } => None,
            })
            .collect();
        let writes: Vec<SessionWrite<'_>> = jobs
            .iter()
            .zip(&ends)
            .map(|(j, end)| match &j.work {
                Work::Open(o) => SessionWrite::Open {
                    session: &o.session,
                    refresh: o.refresh.as_ref(),
                    end_others: end.as_ref(),
                    audit: &j.record,
                },
                Work::Rotate { old_hash, next } => SessionWrite::Rotate(Rotation {
                    old_hash,
                    next,
                    audit: &j.record,
                }),
            })
            .collect();
        let outcome = store.sessions().write_sessions(&writes, &sealer).await;
        drop(writes);
        drop(ends);
        match outcome {
            Ok(done) => {
                for (job, written) in jobs.into_iter().zip(done) {
                    let _ = job.reply.send(Ok(written));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, writes = jobs.len(), "cannot write sessions");
                for job in jobs {
                    let _ = job.reply.send(Err(()));
                }
            }
        }
    }
}
