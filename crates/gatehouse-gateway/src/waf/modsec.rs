//! The OWASP Core Rule Set run by libmodsecurity 3 (through the `modsecurity`
//! crate, 0.1 line: Debian 12 ships libmodsecurity 3.0.9).
//!
//! libmodsecurity's engine cannot move between threads and its rule parser
//! is not thread-safe, so the engine lives on threads of its own: each worker
//! owns an engine and the rules of the generation it last saw, and takes
//! requests from one bounded queue (full: the request is refused as
//! overloaded, never passed uninspected). A new configuration is parsed once
//! off the workers to prove it loads; only then does it become the current
//! generation, which each worker loads before its next request. A
//! configuration that does not load leaves the current one in force.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use modsecurity::{ModSecurity, Rules};
use tokio::sync::oneshot;

use super::conf::{anomaly_score, parse_matches, WafMode, WafSettings};
use super::{WafEngine, WafError, WafRequest, WafVerdict};

/// At most this many log lines are kept per request (a request matching
/// hundreds of rules is judged on its first ones).
const MAX_LINES: usize = 128;

struct Generation {
    id: u64,
    settings: WafSettings,
    text: Arc<str>,
}

struct Shared {
    current: Mutex<Arc<Generation>>,
    next_id: AtomicU64,
    /// Serialises reconfigurations (parsing is not thread-safe).
    reconfiguring: tokio::sync::Mutex<()>,
}

impl Shared {
    fn current(&self) -> Option<Arc<Generation>> {
        self.current.lock().ok().map(|g| g.clone())
    }
}

struct Job {
    request: WafRequest,
    reply: oneshot::Sender<Result<WafVerdict, WafError>>,
}

/// The CRS in libmodsecurity, on `threads` threads of its own.
pub struct ModSecurityWaf {
    jobs: SyncSender<Job>,
    queue: usize,
    shared: Arc<Shared>,
    version: String,
}

impl std::fmt::Debug for ModSecurityWaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModSecurityWaf")
            .field("version", &self.version)
            .finish()
    }
}

fn load(text: &str) -> Result<Rules, WafError> {
    let mut rules = Rules::new();
    rules
        .add_plain(text)
        .map_err(|e| WafError::Config(e.to_string()))?;
    Ok(rules)
}

impl ModSecurityWaf {
    /// Loads `settings` (refused if they do not load) and starts the workers.
    pub fn start(settings: WafSettings, threads: usize, queue: usize) -> Result<Self, WafError> {
        let text: Arc<str> = settings.text().map_err(WafError::Config)?.into();
        load(&text)?;
        let version = ModSecurity::default().whoami().to_owned();
        let shared = Arc::new(Shared {
            current: Mutex::new(Arc::new(Generation {
                id: 1,
                settings,
                text,
            })),
            next_id: AtomicU64::new(2),
            reconfiguring: tokio::sync::Mutex::new(()),
        });
        let queue = queue.max(1);
        let (jobs, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads.max(1) {
            let (rx, shared) = (rx.clone(), shared.clone());
            std::thread::Builder::new()
                .name(format!("gatehouse-waf-{n}"))
                .spawn(move || worker(&rx, &shared))
                .map_err(|e| WafError::Failed(format!("cannot start a WAF thread: {e}")))?;
        }
        Ok(ModSecurityWaf {
            jobs,
            queue,
            shared,
            version,
        })
    }
}

fn worker(rx: &Mutex<Receiver<Job>>, shared: &Shared) {
    let engine = ModSecurity::builder().with_log_callbacks().build();
    let mut loaded: Option<(u64, Rules)> = None;
    loop {
        let job = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let Some(generation) = shared.current() else {
            let _ = job
                .reply
                .send(Err(WafError::Failed("no configuration".into())));
            continue;
        };
        if loaded.as_ref().map(|(id, _)| *id) != Some(generation.id) {
            // Dropped before the next is parsed: one generation's rules at a time.
            loaded = None;
            match load(&generation.text) {
                Ok(rules) => loaded = Some((generation.id, rules)),
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                    continue;
                }
            }
        }
        let Some((_, rules)) = loaded.as_ref() else {
            continue;
        };
        let verdict = judge(&engine, rules, &job.request, &generation);
        let _ = job.reply.send(verdict);
    }
}

fn failed(e: impl std::fmt::Display) -> WafError {
    WafError::Failed(e.to_string())
}

fn judge(
    engine: &ModSecurity,
    rules: &Rules,
    request: &WafRequest,
    generation: &Generation,
) -> Result<WafVerdict, WafError> {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let mut tx = engine
        .transaction_builder()
        .with_rules(rules)
        // The request's id names the transaction (and spares libmodsecurity
        // generating one from a fresh random device per request).
        .with_id(&request.request_id)
        .with_logging(move |message| {
            if let (Some(message), Ok(mut lines)) = (message, sink.lock()) {
                if lines.len() < MAX_LINES {
                    lines.push(message.to_owned());
                }
            }
        })
        .build()
        .map_err(failed)?;
    let port = |p: u16| i32::from(p);
    tx.process_connection(
        &request.client.ip().to_string(),
        port(request.client.port()),
        &request.server.ip().to_string(),
        port(request.server.port()),
    )
    .map_err(failed)?;
    tx.process_uri(&request.uri, &request.method, request.http_version)
        .map_err(failed)?;
    for (name, value) in &request.headers {
        tx.add_request_header(name, value).map_err(failed)?;
    }
    tx.process_request_headers().map_err(failed)?;
    let mut intervention = tx.intervention();
    if intervention.is_none() {
        if !request.body.is_empty() {
            tx.append_request_body(&request.body).map_err(failed)?;
        }
        // The CRS decides in phase 2, so the body phase runs even without a body.
        tx.process_request_body().map_err(failed)?;
        intervention = tx.intervention();
    }
    let mut lines = lines.lock().map(|l| l.clone()).unwrap_or_default();
    let (is_blocked, status) = match &intervention {
        Some(i) => {
            if let Some(log) = i.log() {
                lines.push(log.to_owned());
            }
            (i.disruptive(), u16::try_from(i.status()).unwrap_or(403))
        }
        None => (false, 0),
    };
    let matches = parse_matches(&lines);
    let would_block = is_blocked || matches.iter().any(|m| m.id == 949110);
    let is_blocked = is_blocked && generation.settings.mode == WafMode::Blocking;
    Ok(WafVerdict {
        is_blocked,
        status: if is_blocked { status } else { 0 },
        would_block,
        anomaly_score: anomaly_score(&lines),
        matches,
        generation: generation.id,
    })
}

#[async_trait::async_trait]
impl WafEngine for ModSecurityWaf {
    fn name(&self) -> String {
        format!("{} with the OWASP Core Rule Set", self.version)
    }

    async fn inspect(&self, request: WafRequest) -> Result<WafVerdict, WafError> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job { request, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(WafError::Overloaded(self.queue)),
            Err(TrySendError::Disconnected(_)) => {
                return Err(WafError::Failed("the WAF threads stopped".into()))
            }
        }
        answer
            .await
            .map_err(|_| WafError::Failed("the WAF thread stopped".into()))?
    }

    async fn reconfigure(&self, settings: WafSettings) -> Result<u64, WafError> {
        let _one = self.shared.reconfiguring.lock().await;
        let text: Arc<str> = settings.text().map_err(WafError::Config)?.into();
        let parsed = text.clone();
        tokio::task::spawn_blocking(move || load(&parsed).map(drop))
            .await
            .map_err(failed)??;
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut current = self
            .shared
            .current
            .lock()
            .map_err(|_| WafError::Failed("the WAF's state is poisoned".into()))?;
        *current = Arc::new(Generation { id, settings, text });
        Ok(id)
    }

    fn mode(&self) -> WafMode {
        self.shared
            .current()
            .map_or(WafMode::Blocking, |g| g.settings.mode)
    }

    fn settings(&self) -> (WafSettings, u64) {
        self.shared
            .current()
            .map(|g| (g.settings.clone(), g.id))
            .unwrap_or_default()
    }
}
