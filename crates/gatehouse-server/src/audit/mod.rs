//! The audit trail's server side: the writer that group-commits records, the
//! checkpoint key, conversion to the wire, verification and export, online and
//! offline (`offline`: the `gatehouse audit` commands).
//!
//! Every record goes through one writer task per process: callers queue their
//! records and wait; the writer takes everything queued (up to a batch), appends
//! it in one transaction, and only then answers each caller. Under load many
//! requests share one commit; alone, a request waits for one commit.

mod convert;
pub mod ingest;
mod keys;
pub mod offline;
pub mod stream;
mod trail;
mod witness;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_audit::{Record, Sealer};
use gatehouse_store::{Appended, BlockedRow, Store};
use tokio::sync::{mpsc, oneshot, watch};

pub use convert::{store_filter, to_wire, ExportFormat};
pub use keys::{load_or_create_sealer, load_sealer};
pub use trail::{verify_trail, write_export_header, write_export_rows};
pub use witness::{read_witness, write_witness};

use crate::clock::{to_micros, Clock};

/// Records per commit at most; more queued wait for the next one.
const MAX_BATCH: usize = 16_384;
/// Callers queued at most; beyond that, `append` waits for room.
const QUEUE: usize = 8192;

struct Job {
    records: Vec<Record>,
    blocked: Vec<BlockedRow>,
    reply: oneshot::Sender<Result<Vec<Appended>, AuditUnavailable>>,
}

/// The audit trail could not be written (the database is unavailable); nothing
/// of the job was stored.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the audit trail cannot be written")]
pub struct AuditUnavailable;

/// A handle on the writer. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    jobs: mpsc::Sender<Job>,
    appended: Arc<watch::Sender<u64>>,
    sealer: Arc<Sealer>,
    witness: Option<PathBuf>,
}

impl AuditLog {
    /// Starts the writer; it stops when the last handle is dropped. A checkpoint is
    /// signed every `seal_every` when records were appended since the last one,
    /// and the newest checkpoint is copied to the `witness` file.
    pub fn start(
        store: Arc<dyn Store>,
        sealer: Arc<Sealer>,
        clock: Arc<dyn Clock>,
        seal_every: Duration,
        witness: Option<PathBuf>,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let (appended, _) = watch::channel(0u64);
        let appended = Arc::new(appended);
        tokio::spawn(write_loop(
            rx,
            Sealing {
                store,
                sealer: sealer.clone(),
                clock,
                witness: witness.clone(),
            },
            seal_every,
            appended.clone(),
        ));
        Self {
            jobs,
            appended,
            sealer,
            witness,
        }
    }

    /// The witnessed checkpoint, for verification.
    pub fn witness(&self) -> Result<Option<gatehouse_audit::Checkpoint>, crate::ServerError> {
        match &self.witness {
            Some(path) => read_witness(path),
            None => Ok(None),
        }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The sealer, shared: for changes the server makes on its own
    /// (`SystemChange`).
    pub fn shared_sealer(&self) -> Arc<Sealer> {
        Arc::clone(&self.sealer)
    }

    /// Appends, and returns once committed.
    pub async fn append(
        &self,
        records: Vec<Record>,
        blocked: Vec<BlockedRow>,
    ) -> Result<Vec<Appended>, AuditUnavailable> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            records,
            blocked,
            reply,
        };
        self.jobs.send(job).await.map_err(|_| AuditUnavailable)?;
        answer.await.map_err(|_| AuditUnavailable)?
    }

    /// Tells live tails that records were appended outside the writer (a change
    /// committed together with its record).
    pub fn notify_appended(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes whenever records are committed (a count of commits).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }
}

struct Sealing {
    store: Arc<dyn Store>,
    sealer: Arc<Sealer>,
    clock: Arc<dyn Clock>,
    witness: Option<PathBuf>,
}

impl Sealing {
    /// Signs the head if new records came, then moves the witness forward to the
    /// newest checkpoint. Never backwards: a database whose checkpoints went back
    /// must not overwrite the evidence.
    async fn tick(&self, witnessed: &mut u64) {
        let now = to_micros(self.clock.now());
        if let Err(e) = self.store.audit().seal(now, &self.sealer).await {
            tracing::error!(error = %e, "cannot sign an audit checkpoint");
            return;
        }
        let Some(path) = &self.witness else { return };
        match self.store.audit().latest_checkpoint().await {
            Ok(Some(cp)) if cp.seq > *witnessed => match write_witness(path, &cp) {
                Ok(()) => *witnessed = cp.seq,
                Err(e) => tracing::error!(error = %e, path = %path.display(), "cannot write the audit witness"),
            },
            Ok(Some(cp)) if cp.seq < *witnessed => tracing::error!(
                witnessed = *witnessed,
                newest_in_database = cp.seq,
                "the database's newest audit checkpoint is older than the witness: run `gatehouse audit verify`"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the newest audit checkpoint"),
        }
    }
}

async fn write_loop(
    mut rx: mpsc::Receiver<Job>,
    sealing: Sealing,
    seal_every: Duration,
    appended: Arc<watch::Sender<u64>>,
) {
    let store = sealing.store.clone();
    let sealer = sealing.sealer.clone();
    let mut witnessed = match sealing.witness.as_deref().map(read_witness) {
        Some(Ok(Some(cp))) => cp.seq,
        Some(Err(e)) => {
            tracing::error!(error = %e, "the audit witness is unreadable; it will not be overwritten");
            u64::MAX
        }
        _ => 0,
    };
    let mut ticks: u64 = 0;
    let mut ticker = tokio::time::interval(seal_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            job = rx.recv() => {
                let Some(first) = job else { break };
                let mut jobs = vec![first];
                let mut n = jobs[0].records.len();
                while n < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => {
                            n += job.records.len();
                            jobs.push(job);
                        }
                        Err(_) => break,
                    }
                }
                commit(store.as_ref(), &sealer, jobs, &appended).await;
            }
            _ = ticker.tick() => {
                sealing.tick(&mut witnessed).await;
                ticks += 1;
                // About hourly at the default 10 s: keep the planner's statistics
                // in step with a growing trail.
                if ticks.is_multiple_of(360) {
                    if let Err(e) = store.optimize().await {
                        tracing::warn!(error = %e, "cannot refresh the planner's statistics");
                    }
                }
            }
        }
    }
}

async fn commit(store: &dyn Store, sealer: &Sealer, jobs: Vec<Job>, appended: &watch::Sender<u64>) {
    let mut records = Vec::new();
    let mut blocked = Vec::new();
    let mut replies = Vec::with_capacity(jobs.len());
    for job in jobs {
        replies.push((job.records.len(), job.reply));
        records.extend(job.records);
        blocked.extend(job.blocked);
    }
    match store.audit().append(&records, &blocked, sealer).await {
        Ok(result) => {
            appended.send_modify(|n| *n = n.wrapping_add(1));
            let mut rest = result.into_iter();
            for (n, reply) in replies {
                let _ = reply.send(Ok(rest.by_ref().take(n).collect()));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, records = records.len(), "cannot append to the audit trail");
            for (_, reply) in replies {
                let _ = reply.send(Err(AuditUnavailable));
            }
        }
    }
}
