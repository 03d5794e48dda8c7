//! Argon2 for async code (ID-6, ID-7): [`BoundedHasher`] runs hashes on a
//! pool of its own threads, as many as it is given (the number of cores by
//! default), each with one working memory (19 MiB at OWASP's parameters)
//! allocated once and reused. Hashes wait in a bounded queue, so a thread
//! starts the next one as soon as it is done, never waiting for an async
//! worker to hand it over: the pool hashes back to back, as a plain loop of
//! verifies would. Memory is bounded by the threads (working memories) and
//! the queue (waiting passwords); a caller who stops waiting leaves its hash
//! to finish, and its slot in the queue with it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use argon2::Block;
use rand::{CryptoRng, RngCore};
use tokio::sync::{oneshot, Semaphore};
use zeroize::Zeroizing;

use crate::password::{Hasher, Verified, SALT_BYTES};
use crate::IdentityError;

/// Hashes that may wait per thread; past that, callers wait for room.
const QUEUED_PER_THREAD: usize = 16;

/// A hash to run; what it returns answers the caller, once the thread no
/// longer counts the hash as running (so a caller who has its answer sees the
/// thread free).
type Job = Box<dyn FnOnce(&Hasher, &mut [Block]) -> Box<dyn FnOnce() + Send> + Send>;

#[derive(Debug)]
struct Shared {
    hasher: Arc<Hasher>,
    threads: usize,
    running: AtomicUsize,
    peak: AtomicUsize,
    memories: AtomicUsize,
}

/// A [`Hasher`] for async code: at most `threads` hashes at once, on threads
/// of its own, each in a working memory kept and reused.
#[derive(Debug, Clone)]
pub struct BoundedHasher {
    shared: Arc<Shared>,
    jobs: SyncSender<Job>,
    /// Room in the queue (and the hashes running): taken before a job is
    /// queued, given back when it ends.
    room: Arc<Semaphore>,
}

/// Counts a hash as running for as long as it runs, however it ends.
struct Running<'a>(&'a Shared);

impl<'a> Running<'a> {
    fn start(shared: &'a Shared) -> Running<'a> {
        let now = shared.running.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak.fetch_max(now, Ordering::SeqCst);
        Running(shared)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

fn work_loop(shared: Arc<Shared>, queue: Arc<Mutex<Receiver<Job>>>) {
    let mut memory: Option<Vec<Block>> = None;
    loop {
        let job = {
            let queue = match queue.lock() {
                Ok(q) => q,
                Err(poisoned) => poisoned.into_inner(),
            };
            queue.recv()
        };
        // Every sender gone: the hasher was dropped.
        let Ok(job) = job else { return };
        let memory = memory.get_or_insert_with(|| {
            shared.memories.fetch_add(1, Ordering::SeqCst);
            shared.hasher.new_memory()
        });
        let running = Running::start(&shared);
        let answer = job(&shared.hasher, memory);
        drop(running);
        answer();
    }
}

impl BoundedHasher {
    /// `threads` is at least 1; they are started now.
    pub fn new(hasher: Arc<Hasher>, threads: usize) -> Result<BoundedHasher, IdentityError> {
        let threads = threads.clamp(1, 256);
        let capacity = threads * QUEUED_PER_THREAD;
        let (jobs, queue) = sync_channel::<Job>(capacity);
        let queue = Arc::new(Mutex::new(queue));
        let shared = Arc::new(Shared {
            hasher,
            threads,
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            memories: AtomicUsize::new(0),
        });
        for i in 0..threads {
            let (shared, queue) = (Arc::clone(&shared), Arc::clone(&queue));
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work_loop(shared, queue))
                .map_err(|_| IdentityError::Hash)?;
        }
        Ok(BoundedHasher {
            shared,
            jobs,
            room: Arc::new(Semaphore::new(capacity)),
        })
    }

    /// Threads not hashing right now.
    pub fn available_permits(&self) -> usize {
        self.shared
            .threads
            .saturating_sub(self.shared.running.load(Ordering::SeqCst))
    }

    /// Working memories made so far (each 19 MiB at OWASP's parameters): never
    /// more than the threads.
    pub fn memories(&self) -> usize {
        self.shared.memories.load(Ordering::SeqCst)
    }

    /// The most hashes that have run at the same time (a gauge for metrics).
    pub fn peak_running(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Draws the salt now, so the rng never crosses into the pool.
    pub fn hash(
        &self,
        password: String,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> impl Future<Output = Result<String, IdentityError>> + Send + 'static {
        let password = Zeroizing::new(password);
        let mut salt = [0u8; SALT_BYTES];
        rng.fill_bytes(&mut salt);
        let work = self.run(move |hasher, memory| hasher.hash_in(&password, &salt, memory));
        async move { work.await? }
    }

    pub async fn verify(&self, phc: String, password: String) -> Result<Verified, IdentityError> {
        let password = Zeroizing::new(password);
        self.run(move |hasher, memory| hasher.verify_in(&phc, &password, memory))
            .await?
    }

    pub async fn verify_dummy(&self, password: String) {
        let password = Zeroizing::new(password);
        let _ = self
            .run(move |hasher, memory| hasher.verify_dummy_in(&password, memory))
            .await;
    }

    /// Queues `work` (once there is room) and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Hasher, &mut [Block]) -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, IdentityError>> + Send + 'static {
        let (room, jobs) = (Arc::clone(&self.room), self.jobs.clone());
        async move {
            let permit = room
                .acquire_owned()
                .await
                .map_err(|_| IdentityError::Hash)?;
            let (reply, answer) = oneshot::channel();
            let job: Job = Box::new(move |hasher, memory| {
                let result = work(hasher, memory);
                Box::new(move || {
                    drop(permit);
                    let _ = reply.send(result);
                })
            });
            // Never blocks: the room taken above is a place in the queue.
            jobs.send(job).map_err(|_| IdentityError::Hash)?;
            answer.await.map_err(|_| IdentityError::Hash)
        }
    }
}
