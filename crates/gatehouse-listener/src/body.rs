//! Request bodies with a deadline that grows with what has arrived: a body is cut
//! once `elapsed > grace + received / min_rate`, so a trickled body is cut as surely
//! as a stalled one, while a fast body is never timed.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Buf, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::{BoxError, ListenerError};

/// The rate a request body must keep after its grace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyRate {
    pub(crate) grace: Duration,
    pub(crate) min_bytes_per_second: u64,
}

/// A request body cut with [`ListenerError::BodyTooSlow`] when it falls under the
/// minimum rate. Handlers see it as a body read error; [`crate::is_body_too_slow`]
/// tells it from the others.
#[derive(Debug)]
pub struct MinRateBody<B> {
    inner: B,
    rate: BodyRate,
    started: Instant,
    received: u64,
    /// Armed the first time the body waits for bytes; a body that is already
    /// complete never touches the timer.
    timer: Option<Pin<Box<Sleep>>>,
    is_cut: bool,
}

impl<B> MinRateBody<B> {
    pub(crate) fn new(inner: B, rate: BodyRate) -> Self {
        Self {
            inner,
            rate,
            started: Instant::now(),
            received: 0,
            timer: None,
            is_cut: false,
        }
    }

    /// When the body is late, given what has arrived so far.
    fn deadline(&self) -> Instant {
        let rate = self.rate.min_bytes_per_second.max(1);
        let earned = Duration::from_nanos(self.received.saturating_mul(1_000_000_000) / rate);
        self.started + self.rate.grace + earned
    }

    fn cut<D>(&mut self) -> Poll<Option<Result<Frame<D>, BoxError>>> {
        self.is_cut = true;
        self.timer = None;
        Poll::Ready(Some(Err(Box::new(ListenerError::BodyTooSlow {
            min_bytes_per_second: self.rate.min_bytes_per_second,
        }))))
    }
}

impl<B> Body for MinRateBody<B>
where
    B: Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.is_cut {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.remaining() as u64);
                }
                let deadline = this.deadline();
                if Instant::now() > deadline {
                    return this.cut();
                }
                if let Some(timer) = &mut this.timer {
                    timer.as_mut().reset(deadline);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                this.timer = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let deadline = this.deadline();
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                ready!(timer.as_mut().poll(cx));
                this.cut()
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.is_cut || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use http_body_util::BodyExt;
    use hyper::body::Bytes;
    use tokio::sync::mpsc;

    /// A body fed by the test: each message is one chunk, or an error.
    struct Fed(mpsc::UnboundedReceiver<Result<Bytes, std::io::Error>>);

    impl Body for Fed {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            self.0.poll_recv(cx).map(|m| m.map(|r| r.map(Frame::data)))
        }
    }

    type Feed = mpsc::UnboundedSender<Result<Bytes, std::io::Error>>;

    fn body(grace_s: u64, rate: u64) -> (Feed, MinRateBody<Fed>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let rate = BodyRate {
            grace: Duration::from_secs(grace_s),
            min_bytes_per_second: rate,
        };
        (tx, MinRateBody::new(Fed(rx), rate))
    }

    /// Sends `chunk` every `every` for `times` in the background.
    fn trickle(tx: Feed, chunk: &'static [u8], every: Duration, times: usize) {
        tokio::spawn(async move {
            for _ in 0..times {
                tokio::time::sleep(every).await;
                if tx.send(Ok(Bytes::from_static(chunk))).is_err() {
                    return;
                }
            }
        });
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_the_rate_is_read_whole() {
        let (tx, body) = body(2, 100);
        // 100 bytes per second exactly, for 30 s: never ahead of the grace, never late.
        trickle(tx, &[b'x'; 10], Duration::from_millis(100), 300);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 3000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_body_is_cut_after_the_grace_and_what_it_earned() {
        let (tx, mut body) = body(10, 500);
        // 5 bytes a second: always arriving, never stalled, far too slow.
        trickle(tx, b"12345", Duration::from_secs(1), 1000);
        let started = Instant::now();
        let mut received = 0;
        let error = loop {
            match body.frame().await {
                Some(Ok(frame)) => received += frame.into_data().unwrap().len(),
                Some(Err(e)) => break e,
                None => panic!("the body must not end"),
            }
        };
        let elapsed = started.elapsed();
        assert!(crate::is_body_too_slow(error.as_ref()), "{error}");
        // Cut at 10 s plus what the bytes bought (50 bytes at 500 B/s = 0.1 s).
        assert!(elapsed >= Duration::from_secs(10), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(11), "{elapsed:?}");
        assert!((45..=55).contains(&received), "{received}");
        // Once cut, the body is over.
        assert!(body.frame().await.is_none());
        assert!(body.is_end_stream());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_is_cut_at_the_grace() {
        let (_tx, body) = body(3, 500);
        let started = Instant::now();
        let error = body.collect().await.unwrap_err();
        assert!(crate::is_body_too_slow(error.as_ref()));
        assert_eq!(started.elapsed().as_secs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_start_that_catches_up_is_not_cut() {
        let (tx, body) = body(5, 500);
        tokio::spawn(async move {
            // Silent for most of the grace, then 10 kB at once: 20 s of credit.
            tokio::time::sleep(Duration::from_secs(4)).await;
            tx.send(Ok(Bytes::from(vec![b'x'; 10_000]))).unwrap();
            tokio::time::sleep(Duration::from_secs(15)).await;
            tx.send(Ok(Bytes::from_static(b"end"))).unwrap();
        });
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 10_003);
    }

    #[tokio::test(start_paused = true)]
    async fn the_inner_bodys_errors_pass_through_as_themselves() {
        let (tx, body) = body(5, 500);
        tx.send(Err(std::io::Error::other("reset"))).unwrap();
        let error = body.collect().await.unwrap_err();
        assert!(!crate::is_body_too_slow(error.as_ref()));
        assert_eq!(error.to_string(), "reset");
    }
}
