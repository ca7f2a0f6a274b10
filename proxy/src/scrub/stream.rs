//! The request's key removed from a successful answer as it streams past, even when one read
//! ends inside the key and the next one finishes it.
//!
//! Nothing is held back unless a read ends with what could be the start of the key (an event
//! stream's reads end with a blank line, so in practice never); those few bytes wait for the
//! next read, or the end.
//!
//! The key is replaced by a mask of the same length (`[REDACTED]` padded with `*`, or `*`s
//! for a key shorter than that), so a `Content-Length` the provider sent stays true.
//!
//! ```
//! use byok_proxy::scrub::stream::KeyFilter;
//! use axum::body::Bytes;
//!
//! let mut filter = KeyFilter::new("sk-proj-0123456789".into()).unwrap();
//! let mut out = Vec::new();
//! out.extend_from_slice(&filter.push(Bytes::from_static(b"data: bad key sk-proj-01")));
//! out.extend_from_slice(&filter.push(Bytes::from_static(b"23456789\n\n")));
//! out.extend_from_slice(&filter.finish());
//! assert_eq!(out, b"data: bad key [REDACTED********]\n\n");
//! ```

use axum::body::Bytes;
use secrecy::{ExposeSecret, SecretString};

use super::REDACTED;

/// Keys shorter than this are not filtered from answers: a short custom token would match
/// ordinary text.
const MIN_KEY: usize = 8;

/// Removes one key from a stream of chunks.
pub struct KeyFilter {
    /// The request's own copy, moved here (wiped when the stream ends).
    key: SecretString,
    /// The end of the last chunk, when it could be the start of the key.
    held: Vec<u8>,
}

impl std::fmt::Debug for KeyFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFilter")
            .field("held", &self.held.len())
            .finish_non_exhaustive()
    }
}

impl KeyFilter {
    /// A filter for `key`; `None` when it is too short to tell from ordinary text.
    #[must_use]
    pub fn new(key: SecretString) -> Option<Self> {
        (key.expose_secret().len() >= MIN_KEY).then(|| Self {
            key,
            held: Vec::new(),
        })
    }

    /// Takes the next chunk; gives back what may be sent now (all of it, unless it holds the
    /// key or ends with what could be its start). Without either, the chunk itself, uncopied.
    pub fn push(&mut self, chunk: Bytes) -> Bytes {
        let data = if self.held.is_empty() {
            chunk
        } else {
            let mut joined = std::mem::take(&mut self.held);
            joined.extend_from_slice(&chunk);
            Bytes::from(joined)
        };
        let key = self.key.expose_secret().as_bytes();
        // Whole keys first, then what could start one at the end of what is left: a key that
        // ends the chunk may itself end with what could start another.
        let Some(first) = memchr::memmem::find(&data, key) else {
            let keep = data.len() - partial_key_at_end(&data, key);
            if keep == data.len() {
                return data;
            }
            self.held = data[keep..].to_vec();
            return data.slice(..keep);
        };
        let mask = mask(key.len());
        let mut out = Vec::with_capacity(data.len());
        let mut rest = &data[..];
        let mut at = Some(first);
        while let Some(found) = at {
            out.extend_from_slice(&rest[..found]);
            out.extend_from_slice(&mask);
            rest = &rest[found + key.len()..];
            at = memchr::memmem::find(rest, key);
        }
        let keep = rest.len() - partial_key_at_end(rest, key);
        out.extend_from_slice(&rest[..keep]);
        self.held = rest[keep..].to_vec();
        Bytes::from(out)
    }

    /// At the end of the stream: what was held back (it turned out not to be the key).
    pub fn finish(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.held))
    }
}

/// `[REDACTED]` padded with `*` to `len` bytes, or `len` `*`s when shorter.
fn mask(len: usize) -> Box<[u8]> {
    let mut mask = vec![b'*'; len];
    if len >= REDACTED.len() {
        mask[..REDACTED.len() - 1].copy_from_slice(&REDACTED.as_bytes()[..REDACTED.len() - 1]);
        mask[len - 1] = b']';
    }
    mask.into()
}

/// The length of the longest end of `data` that is a proper start of `key` (0 when none).
fn partial_key_at_end(data: &[u8], key: &[u8]) -> usize {
    let window = data.len().min(key.len() - 1);
    let tail = &data[data.len() - window..];
    // The earliest candidate is the longest.
    memchr::memchr_iter(key[0], tail)
        .find(|&i| key.starts_with(&tail[i..]))
        .map_or(0, |i| window - i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-proj-Xy7Qm2Lp9Rt4Vb8Nc3Kd";

    fn run(filter: &mut KeyFilter, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend_from_slice(&filter.push(Bytes::copy_from_slice(chunk)));
        }
        out.extend_from_slice(&filter.finish());
        out
    }

    #[test]
    fn a_key_cut_at_every_point_is_removed() {
        let text = format!("data: {{\"error\":\"bad key {KEY}, and {KEY}\"}}\n\ndata: [DONE]\n\n");
        let mask = format!("[REDACTED{}]", "*".repeat(KEY.len() - REDACTED.len()));
        let want = text.replace(KEY, &mask);
        let bytes = text.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let mut filter = KeyFilter::new(KEY.into()).unwrap();
                let out = run(&mut filter, &[&bytes[..i], &bytes[i..j], &bytes[j..]]);
                assert_eq!(String::from_utf8(out).unwrap(), want, "cut at {i} and {j}");
            }
        }
    }

    #[test]
    fn a_key_that_ends_with_its_own_start_is_removed_at_the_end_of_a_chunk() {
        // Found by the `scrub` fuzz target: the key's end ("sk-") could start another key, so
        // it was held back and the whole key before it was missed.
        let key = "sk-proj-Ab3sk-Ab3sk-";
        let mut filter = KeyFilter::new(key.into()).unwrap();
        let out = run(&mut filter, &[format!("x {key}").as_bytes()]);
        assert_eq!(out, b"x [REDACTED**********]");
    }

    #[test]
    fn text_without_the_key_passes_uncopied_and_unheld() {
        let mut filter = KeyFilter::new(KEY.into()).unwrap();
        let chunk = Bytes::from_static(b"data: {\"content\":\"sk-proj is a prefix\"}\n\n");
        let out = filter.push(chunk.clone());
        assert_eq!(out.as_ptr(), chunk.as_ptr(), "copied");
        assert_eq!(out, chunk);
        // A chunk ending with the key's start waits for the next one, then passes whole.
        assert_eq!(filter.push(Bytes::from_static(b"say sk-pr")), "say ");
        assert_eq!(filter.push(Bytes::from_static(b"ose")), "sk-prose");
        assert!(filter.finish().is_empty());
        // Held bytes come out at the end if nothing follows.
        assert_eq!(filter.push(Bytes::from_static(b"end sk-")), "end ");
        assert_eq!(filter.finish(), "sk-");
    }

    #[test]
    fn short_keys_are_not_filtered_and_masks_keep_the_length() {
        assert!(KeyFilter::new("sk-1234".into()).is_none());
        assert!(KeyFilter::new("sk-12345".into()).is_some());
        assert_eq!(&*mask(8), b"********");
        assert_eq!(&*mask(10), b"[REDACTED]");
        assert_eq!(&*mask(12), b"[REDACTED**]");
    }
}
