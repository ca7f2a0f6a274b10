//! The body that relays a provider's answer to the client.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Frame, SizeHint};
use secrecy::SecretString;
use tokio::time::{Instant, Sleep};

use crate::core::Provider;
use crate::http::UpstreamBody;
use crate::limits::Slot;
use crate::metrics::Shard;
use crate::scrub::stream::KeyFilter;
use crate::usage::Meter;
use crate::usage::strip::StripUsage;

/// A provider's answer on its way to the client: frames pass through untouched but for the
/// request's key (removed by a [`KeyFilter`]), bytes are counted, and a gap longer than the
/// idle timeout ends it with an error. Holds a concurrency
/// slot until dropped. Dropping it (the client went away) drops the upstream body, which closes
/// that connection and so cancels the provider's work.
pub struct Relay {
    inner: UpstreamBody,
    filter: Option<KeyFilter>,
    /// A frame that came while the filter still held bytes, sent after them.
    next: Option<Frame<Bytes>>,
    counters: Arc<Shard>,
    provider: Provider,
    idle: Duration,
    /// When the last frame arrived; the timer is only re-armed when it fires, not per frame.
    last: Instant,
    /// Set up the first time the provider keeps us waiting (many answers never do).
    timer: Option<Pin<Box<Sleep>>>,
    done: bool,
    /// Reads usage from the answer as it passes, and records it when the answer ends. Boxed:
    /// the relay is moved a few times on its way to hyper, and stays small that way.
    meter: Option<Box<Meter>>,
    /// Removes the usage chunk asked for on the client's behalf.
    strip: Option<StripUsage>,
    _slot: Slot,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("provider", &self.provider)
            .field("idle", &self.idle)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Relays `inner` for `provider`, with `key` (the one the request used) removed, counting
    /// into this worker's `counters`, ending it after `idle` without a frame, and read by
    /// `meter` if any.
    pub fn new(
        counters: Arc<Shard>,
        idle: Duration,
        provider: Provider,
        inner: UpstreamBody,
        key: SecretString,
        slot: Slot,
        meter: Option<Meter>,
    ) -> Self {
        Self {
            inner,
            filter: KeyFilter::new(key),
            next: None,
            counters,
            provider,
            idle,
            last: Instant::now(),
            timer: None,
            done: false,
            meter: meter.map(Box::new),
            strip: None,
            _slot: slot,
        }
    }

    /// Removes the final usage chunk of an OpenAI-compatible stream (see
    /// [`crate::usage::strip`]).
    #[must_use]
    pub fn strip_usage_chunk(mut self) -> Self {
        self.strip = Some(StripUsage::default());
        self
    }

    fn fail(
        &mut self,
        message: &'static str,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.done = true;
        if let Some(meter) = &mut self.meter {
            meter.finish(false);
        }
        Poll::Ready(Some(Err(std::io::Error::other(message))))
    }
}

impl http_body::Body for Relay {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(frame) = this.next.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.last = Instant::now();
                if let (Some(meter), Some(data)) = (&mut this.meter, frame.data_ref()) {
                    meter.feed(data);
                    // hyper stops polling a body once it is at its declared length, so the
                    // end is noticed here rather than by a final `None`.
                    if this.inner.is_end_stream() {
                        meter.finish(true);
                    }
                }
                let frame = match (frame.into_data(), &mut this.strip) {
                    (Ok(data), Some(strip)) => Frame::data(strip.push(data)),
                    (Ok(data), None) => Frame::data(data),
                    (Err(other), _) => other,
                };
                let frame = match (frame.into_data(), &mut this.filter) {
                    (Ok(data), Some(filter)) => Frame::data(filter.push(data)),
                    (Ok(data), None) => Frame::data(data),
                    (Err(other), filter) => {
                        // Trailers: what the filter held goes first.
                        match filter.as_mut().map(KeyFilter::finish) {
                            Some(held) if !held.is_empty() => {
                                this.next = Some(other);
                                Frame::data(held)
                            }
                            _ => other,
                        }
                    }
                };
                if let Some(data) = frame.data_ref() {
                    this.counters.bytes(this.provider, data.len());
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(provider = %this.provider, error = %e, "upstream stream failed");
                return this.fail("upstream stream failed");
            }
            Poll::Ready(None) => {
                this.done = true;
                if let Some(meter) = &mut this.meter {
                    meter.finish(true);
                }
                let tail = this
                    .strip
                    .as_mut()
                    .map(StripUsage::finish)
                    .unwrap_or_default();
                let held = match &mut this.filter {
                    Some(filter) => {
                        let mut held = filter.push(tail).to_vec();
                        held.extend_from_slice(&filter.finish());
                        Some(Bytes::from(held))
                    }
                    None => Some(tail),
                };
                return Poll::Ready(held.filter(|h| !h.is_empty()).map(|h| {
                    this.counters.bytes(this.provider, h.len());
                    Ok(Frame::data(h))
                }));
            }
            Poll::Pending => {}
        }
        let deadline = this.last + this.idle;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            ready!(timer.as_mut().poll(cx));
            let deadline = this.last + this.idle;
            if Instant::now() < deadline {
                // Frames arrived since the timer was armed: wait for the rest of the gap.
                timer.as_mut().reset(deadline);
                continue;
            }
            let idle_ms = u64::try_from(this.idle.as_millis()).unwrap_or(u64::MAX);
            tracing::warn!(provider = %this.provider, idle_ms, "upstream stream idle too long");
            return this.fail("upstream stream idle timeout");
        }
    }

    fn is_end_stream(&self) -> bool {
        self.next.is_none() && (self.done || self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        // The filter keeps the length (its mask is as long as the key).
        self.inner.size_hint()
    }
}
