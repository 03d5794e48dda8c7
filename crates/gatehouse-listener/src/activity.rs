//! Whether a connection is busy: requests in flight (until their response body is
//! sent or dropped), and since when it has been idle.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct State {
    in_flight: usize,
    idle_since: Instant,
    has_served: bool,
}

/// One connection's activity, shared by its requests and its idle watch.
#[derive(Debug, Clone)]
pub(crate) struct Activity(Arc<watch::Sender<State>>);

/// A request in flight; dropped when its response is done.
#[derive(Debug)]
pub(crate) struct InFlight(Activity);

impl Activity {
    pub(crate) fn new() -> Self {
        let (tx, _) = watch::channel(State {
            in_flight: 0,
            idle_since: Instant::now(),
            has_served: false,
        });
        Self(Arc::new(tx))
    }

    pub(crate) fn start(&self) -> InFlight {
        self.0.send_modify(|s| {
            s.in_flight += 1;
            s.has_served = true;
        });
        InFlight(self.clone())
    }

    /// Completes once the connection has had no request in flight for `first`
    /// (before its first request) or `then` (after it).
    pub(crate) async fn idle(&self, first: Duration, then: Duration) {
        let mut rx = self.0.subscribe();
        loop {
            let state = *rx.borrow_and_update();
            if state.in_flight > 0 {
                // The sender lives as long as `self`: this cannot fail.
                let _ = rx.changed().await;
                continue;
            }
            let limit = if state.has_served { then } else { first };
            tokio::select! {
                () = tokio::time::sleep_until(state.idle_since + limit) => return,
                _ = rx.changed() => {}
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0 .0.send_modify(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            if s.in_flight == 0 {
                s.idle_since = Instant::now();
            }
        });
    }
}

/// A response body that keeps its request in flight until it is sent or dropped.
#[derive(Debug)]
pub(crate) struct TrackedBody<B> {
    inner: B,
    in_flight: Option<InFlight>,
}

impl<B> TrackedBody<B> {
    pub(crate) fn new(inner: B, in_flight: InFlight) -> Self {
        Self {
            inner,
            in_flight: Some(in_flight),
        }
    }
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(poll, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.in_flight = None;
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_counts_from_the_last_response_and_not_during_one() {
        let activity = Activity::new();
        let started = Instant::now();
        let request = activity.start();
        let watch = {
            let activity = activity.clone();
            tokio::spawn(async move {
                activity
                    .idle(Duration::from_secs(1), Duration::from_secs(5))
                    .await
            })
        };
        // In flight for 20 s: far past both limits, and not idle.
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert!(!watch.is_finished());
        drop(request);
        let _ = watch.await;
        assert_eq!(started.elapsed(), Duration::from_secs(25));
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_never_asks_is_idle_after_the_first_limit() {
        let activity = Activity::new();
        let started = Instant::now();
        activity
            .idle(Duration::from_secs(2), Duration::from_secs(60))
            .await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }
}
