//! With `BYOK_STREAM_USAGE=on` the unified route asks for usage on streams whose client did not;
//! this removes, from what that client receives, only the event the provider then adds: the
//! final chunk with `"choices": []` and a usage object. Every other byte passes unchanged
//! (including the `"usage": null` the provider adds to the other chunks).
//!
//! Events are passed on whole: bytes after the last event boundary of a read wait for the rest
//! of their event (providers write one or more whole events per read, so this rarely holds
//! anything back).

use axum::body::Bytes;
use memchr::memmem;

/// The longest event held while waiting for its end; a longer one is passed on as it is.
const MAX_EVENT: usize = 64 * 1024;

/// See the module docs.
#[derive(Debug, Default)]
pub struct StripUsage {
    pending: Vec<u8>,
    /// The usage chunk was removed: nothing more to look for.
    done: bool,
}

impl StripUsage {
    /// What to send of the next read `chunk`.
    pub fn push(&mut self, chunk: Bytes) -> Bytes {
        if self.done {
            if self.pending.is_empty() {
                return chunk;
            }
            let mut out = std::mem::take(&mut self.pending);
            out.extend_from_slice(&chunk);
            return Bytes::from(out);
        }
        if self.pending.is_empty()
            && ends_an_event(&chunk)
            && memmem::find(&chunk, b"\"choices\":[]").is_none()
        {
            return chunk; // the usual read: whole events, none of them ours
        }
        self.pending.extend_from_slice(&chunk);
        let Some(end) = last_boundary(&self.pending) else {
            if self.pending.len() > MAX_EVENT {
                return Bytes::from(std::mem::take(&mut self.pending));
            }
            return Bytes::new();
        };
        let rest = self.pending.split_off(end);
        let events = std::mem::replace(&mut self.pending, rest);
        let mut out = Vec::with_capacity(events.len());
        let mut start = 0;
        while start < events.len() {
            let len = next_boundary(&events[start..]).unwrap_or(events.len() - start);
            let event = &events[start..start + len];
            if !self.done && is_usage_chunk(event) {
                self.done = true;
            } else {
                out.extend_from_slice(event);
            }
            start += len;
        }
        Bytes::from(out)
    }

    /// What is still held when the stream ends.
    pub fn finish(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.pending))
    }
}

fn ends_an_event(bytes: &[u8]) -> bool {
    bytes.ends_with(b"\n\n") || bytes.ends_with(b"\r\n\r\n")
}

/// The length of the first event in `bytes`, boundary included.
fn next_boundary(bytes: &[u8]) -> Option<usize> {
    let lf = memmem::find(bytes, b"\n\n").map(|i| i + 2);
    let crlf = memmem::find(bytes, b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Where the last complete event in `bytes` ends.
fn last_boundary(bytes: &[u8]) -> Option<usize> {
    let lf = memmem::rfind(bytes, b"\n\n").map(|i| i + 2);
    let crlf = memmem::rfind(bytes, b"\r\n\r\n").map(|i| i + 4);
    lf.max(crlf)
}

/// The final usage chunk of an OpenAI-compatible stream: one `data:` line whose JSON has an
/// empty `choices` and a usage object.
fn is_usage_chunk(event: &[u8]) -> bool {
    let text = event.trim_ascii();
    let Some(data) = text.strip_prefix(b"data:") else {
        return false;
    };
    if data.contains(&b'\n') {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Chunk {
        choices: Vec<serde_json::Value>,
        usage: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Chunk>(data.trim_ascii())
        .is_ok_and(|c| c.choices.is_empty() && c.usage.is_some_and(|u| u.is_object()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
        ": comment\n\n",
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n",
        "data: [DONE]\n\n",
    );

    fn run(cuts: &[usize]) -> String {
        let mut strip = StripUsage::default();
        let mut out = Vec::new();
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&STREAM.len())) {
            out.extend_from_slice(
                &strip.push(Bytes::copy_from_slice(&STREAM.as_bytes()[last..cut])),
            );
            last = cut;
        }
        out.extend_from_slice(&strip.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn only_the_usage_chunk_goes_however_the_stream_is_cut() {
        let want = STREAM.replace(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n",
            "",
        );
        assert_eq!(run(&[]), want);
        for cut in 0..=STREAM.len() {
            assert_eq!(run(&[cut]), want, "cut at {cut}");
        }
        let every: Vec<usize> = (1..STREAM.len()).collect();
        assert_eq!(run(&every), want);
    }

    #[test]
    fn a_stream_without_one_passes_whole() {
        let mut strip = StripUsage::default();
        let text = "data: {\"choices\":[],\"usage\":null}\n\ndata: x\r\n\r\ndata: [DONE]";
        let mut out = strip.push(Bytes::from_static(text.as_bytes())).to_vec();
        out.extend_from_slice(&strip.finish());
        assert_eq!(out, text.as_bytes());
    }
}
