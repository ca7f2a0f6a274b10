//! A provider's answer, JSON or an event stream: reading its usage never panics, and reads the
//! same however the answer is cut into pieces; counts are never negative and cached input never
//! exceeds input.
#![no_main]

use byok_proxy::Provider;
use byok_proxy::usage::read::Reader;
use libfuzzer_sys::fuzz_target;

const TYPES: [&str; 3] = ["application/json", "text/event-stream", "text/plain"];

fuzz_target!(|input: (u8, u8, Vec<u8>, &[u8])| {
    let (which, kind, cuts, answer) = input;
    let provider = Provider::ALL[usize::from(which) % Provider::ALL.len()];
    let content_type = TYPES[usize::from(kind) % TYPES.len()].as_bytes();
    let whole = {
        let mut reader = Reader::new(provider, content_type);
        reader.feed(answer);
        reader.finish(true)
    };
    if let Some(t) = whole.tokens {
        assert!(
            t.cached_input <= t.input && t.cache_creation <= t.input - t.cached_input,
            "{t:?}"
        );
    }
    let mut reader = Reader::new(provider, content_type);
    let mut rest = answer;
    for size in cuts {
        let (chunk, tail) = rest.split_at(usize::from(size).min(rest.len()));
        reader.feed(chunk);
        rest = tail;
    }
    reader.feed(rest);
    assert_eq!(reader.finish(true), whole);
});
