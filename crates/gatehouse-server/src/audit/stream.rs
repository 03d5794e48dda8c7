//! The live tail (`GET /v1/audit/stream`, server-sent events): one `audit` event
//! per record as it commits, its id the record's `seq`, resumable.
//!
//! A stream outlives the authorization the guard gave it when it opened, so it
//! is authorized again while it runs (AU-9, TK-5): every
//! `audit.stream.recheck_seconds`, and at once when this process revokes a
//! token or installs another policy version ([`Policies::recheck_all`]). The
//! token must still exist, be unexpired and unrevoked, and the active policies
//! must still permit it `audit.stream`. When they do not, or the check cannot be
//! made, the stream sends one `end` event, whose data is the error in the one
//! shape (`invalid_token`, `forbidden` or `unavailable`, with the stream's request
//! id; no `id`, so a client's `Last-Event-ID` stays on the last record), and
//! closes.
//!
//! Streams are capped per token and in total (429 `rate_limited` with
//! `Retry-After`); a [`Slot`] holds one place and gives it back when the stream
//! is dropped, however it ends. A stream starts at most
//! `audit.stream.max_replay_records` before the newest record: older history is
//! read through search and export, which policies govern on their own, so a
//! token forbidden to export cannot read the whole trail by streaming from 0.
//! A resume point further back is refused (400 naming it) rather than moved
//! forward: a client that silently skipped records would believe it had them.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::stream::{self, Stream};
use gatehouse_store::Store;
use gatehouse_types::{ApiError, ErrorCode};
use http::HeaderMap;
use tokio::sync::watch;
use tokio::time::Instant;

use super::to_wire;
use crate::app::AppState;
use crate::auth::Authenticator;
use crate::authz::{Action, Policies};
use crate::clock::Clock;
use crate::config::StreamConfig;
use crate::error::ApiFailure;
use crate::pipeline::{Principal, RequestFacts};

/// Records read per query while catching up.
const PAGE: u32 = 500;
/// What a client refused for the caps is told to wait, in seconds.
const RETRY_AFTER_SECONDS: u64 = 5;

/// The open streams, counted per token and in all.
#[derive(Debug)]
pub struct Streams {
    config: StreamConfig,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Holds only tokens with a stream open, so at most `max_total` entries.
    per_token: HashMap<String, usize>,
}

/// One stream's place under the caps, given back on drop.
#[derive(Debug)]
pub struct Slot {
    streams: Arc<Streams>,
    token: String,
}

impl Streams {
    pub fn new(config: StreamConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            open: Mutex::default(),
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        match self.open.lock() {
            Ok(o) => o,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A place for one more stream of `token`, if both caps allow it.
    fn take(self: &Arc<Self>, token: String) -> Result<Slot, ApiFailure> {
        let mut open = self.open();
        let mine = open.per_token.get(&token).copied().unwrap_or(0);
        let refusal = if mine >= self.config.max_per_token {
            Some("this token has as many live audit streams open as it may")
        } else if open.total >= self.config.max_total {
            Some("the server has as many live audit streams open as it may")
        } else {
            None
        };
        if let Some(message) = refusal {
            return Err(
                ApiFailure::new(ErrorCode::RateLimited, message).retry_after(RETRY_AFTER_SECONDS)
            );
        }
        open.total += 1;
        open.per_token.insert(token.clone(), mine + 1);
        Ok(Slot {
            streams: self.clone(),
            token,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.streams.open();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_token.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.per_token.remove(&self.token);
            }
        }
    }
}

/// Where a stream resumes: `?after=N`, else the `Last-Event-ID` header a
/// reconnecting `EventSource` sends, with the name to report it by.
pub fn resume_point(
    after: Option<u64>,
    headers: &HeaderMap,
) -> Result<Option<(u64, &'static str)>, ApiFailure> {
    if let Some(n) = after {
        return Ok(Some((n, "after")));
    }
    match headers.get("last-event-id") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(|n| Some((n, "last-event-id")))
            .ok_or_else(|| {
                ApiFailure::new(
                    ErrorCode::InvalidParameter,
                    "the last-event-id header must be a record's sequence number",
                )
            }),
        None => Ok(None),
    }
}

/// Opens a live tail for `caller`, whom the guard just authorized: after the
/// resume point, or at the newest record.
pub async fn open_stream(
    state: &AppState,
    caller: Principal,
    facts: &RequestFacts,
    from: Option<(u64, &'static str)>,
) -> Result<impl Stream<Item = Result<Event, Infallible>> + Send + 'static, ApiFailure> {
    let slot = state.streams.take(caller.id())?;
    let head = state.store.audit().last_seq().await?;
    let window = state.streams.config.max_replay_records;
    let start = match from {
        Some((n, name)) if n.saturating_add(window) < head => {
            return Err(ApiFailure::new(
                ErrorCode::InvalidParameter,
                format!(
                    "{name} is more than {window} records behind the newest ({head}): \
                     read older records with /v1/audit/events or /v1/audit/export"
                ),
            ));
        }
        Some((n, _)) => n,
        None => head,
    };
    let every = Duration::from_secs(state.streams.config.recheck_seconds);
    let tail = Tail {
        store: state.store.clone(),
        clock: state.clock.clone(),
        auth: state.auth.clone(),
        policies: state.policies.clone(),
        caller,
        source_ip: facts.source_ip.clone(),
        request_id: facts.request_id.clone(),
        pos: start,
        queue: VecDeque::new(),
        appended: state.audit.subscribe(),
        rechecks: state.policies.rechecks(),
        every,
        // Checked once more before the first event: a revocation between the
        // guard's decision and the subscription above bumped no epoch it saw.
        next_check: Instant::now(),
        is_ended: false,
        _slot: slot,
    };
    Ok(stream::unfold(tail, |mut tail| async move {
        let event = tail.next().await?;
        Some((Ok(event), tail))
    }))
}

struct Tail {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    auth: Arc<Authenticator>,
    policies: Arc<Policies>,
    caller: Principal,
    source_ip: String,
    request_id: String,
    /// The last sequence number read.
    pos: u64,
    queue: VecDeque<Event>,
    appended: watch::Receiver<u64>,
    rechecks: watch::Receiver<u64>,
    every: Duration,
    next_check: Instant,
    is_ended: bool,
    _slot: Slot,
}

impl Tail {
    async fn next(&mut self) -> Option<Event> {
        if self.is_ended {
            return None;
        }
        loop {
            // Before every event, so a backlog drained to a slow client stops
            // as soon as the caller loses its right to it.
            let is_epoch_new = self.rechecks.has_changed().unwrap_or(false);
            if is_epoch_new || Instant::now() >= self.next_check {
                self.rechecks.borrow_and_update();
                self.next_check = Instant::now() + self.every;
                if let Err(failure) = self.check().await {
                    return Some(self.end(failure));
                }
            }
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            match self.store.audit().read_after(self.pos, PAGE).await {
                Ok(rows) if !rows.is_empty() => {
                    for row in rows {
                        self.pos = row.seq;
                        let id = row.seq.to_string();
                        let data = serde_json::to_string(&to_wire(row)).unwrap_or_default();
                        self.queue
                            .push_back(Event::default().id(id).event("audit").data(data));
                    }
                }
                Ok(_) => self.wait().await,
                Err(e) => return Some(self.end(ApiFailure::from(e))),
            }
        }
    }

    /// Until a commit here, a new authorization epoch, or the next periodic
    /// check (which also picks up records other replicas appended).
    async fn wait(&mut self) {
        let mut epoch = self.rechecks.clone();
        let (appended, deadline) = (&mut self.appended, self.next_check);
        let committed = async {
            if appended.changed().await.is_err() {
                // The writer is gone (shutting down): the timer still ticks.
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = committed => {}
            // A clone, so the epoch stays unseen for the check at the top of `next`.
            _ = epoch.changed() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }

    /// Whether the caller may still watch: its token valid, `audit.stream`
    /// still permitted by the active policies.
    async fn check(&self) -> Result<(), ApiFailure> {
        let principal = self.auth.recheck(&self.caller).await?;
        let now_s = self.clock.now().timestamp();
        let (decision, _) = self.policies.decide(
            &principal,
            Action::StreamAudit,
            None,
            &self.source_ip,
            now_s,
            None,
        );
        if decision.is_allowed {
            Ok(())
        } else {
            Err(ApiFailure::forbidden())
        }
    }

    /// The last event: why the stream stops.
    fn end(&mut self, failure: ApiFailure) -> Event {
        self.is_ended = true;
        tracing::info!(
            request_id = %self.request_id,
            caller = %self.caller.id(),
            code = %failure.code,
            "live audit stream ended"
        );
        let error = ApiError {
            code: failure.code,
            message: failure.message.into_owned(),
            request_id: self.request_id.clone(),
        };
        Event::default()
            .event("end")
            .data(serde_json::to_string(&error).unwrap_or_default())
    }
}
