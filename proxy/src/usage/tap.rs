//! Reads the `model` a streamed request body names as the body goes up to the provider, so a
//! pass-through request can be priced without holding its body back.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};

use super::scan::Scanner;

const MODEL: &[&str] = &["model"];

/// A request body passed through unchanged, its top-level `model` string noted on the way.
#[derive(Debug)]
pub struct ModelTap {
    inner: Body,
    scanner: Option<Scanner>,
    model: Arc<OnceLock<String>>,
}

impl ModelTap {
    /// Taps `inner`; the model lands in the returned cell once the body has passed it.
    #[must_use]
    pub fn new(inner: Body) -> (Self, Arc<OnceLock<String>>) {
        let model = Arc::new(OnceLock::new());
        let tap = Self {
            inner,
            scanner: Some(Scanner::new(MODEL)),
            model: Arc::clone(&model),
        };
        (tap, model)
    }
}

impl http_body::Body for ModelTap {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
            && let Some(scanner) = &mut self.scanner
        {
            let mut found = None;
            scanner.feed(data, |_, value| {
                found = serde_json::from_slice::<String>(value).ok();
            });
            if let Some(model) = found {
                let _ = self.model.set(model);
                self.scanner = None; // the first top-level `model` is the one
            }
        }
        Poll::Ready(frame)
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
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn the_body_passes_unchanged_and_its_model_is_noted() {
        let chunks = [
            "{\"messages\":[{\"model\":\"no\"}],\"mo",
            "del\":\"gpt-4o-m",
            "ini\"}",
        ];
        let stream = futures_util::stream::iter(
            chunks.map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes()))),
        );
        let (tap, model) = ModelTap::new(Body::from_stream(stream));
        let bytes = tap.collect().await.unwrap().to_bytes();
        assert_eq!(bytes, chunks.concat().as_bytes());
        assert_eq!(model.get().map(String::as_str), Some("gpt-4o-mini"));
    }
}
