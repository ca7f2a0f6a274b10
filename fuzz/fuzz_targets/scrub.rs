//! Text from a provider: `scrub` never lets the key through, and the stream filter, however the
//! stream is cut, sends exactly what it would for the whole text, as long, without the key.
#![no_main]

use axum::body::Bytes;
use byok_proxy::scrub::scrub;
use byok_proxy::scrub::stream::KeyFilter;
use libfuzzer_sys::fuzz_target;

const KEY: &str = "sk-proj-Ab3sk-Ab3sk-";

fuzz_target!(|input: (Vec<u8>, &str)| {
    let (cuts, text) = input;
    // The key may stand anywhere a `@` is (so it is there often enough to matter).
    let text = text.replace('@', KEY);
    let out = scrub(&text, Some(KEY));
    assert!(!out.contains(KEY), "{out:?}");

    let whole = {
        let mut filter = KeyFilter::new(KEY.into()).expect("long enough");
        let mut out = filter.push(Bytes::from(text.clone())).to_vec();
        out.extend_from_slice(&filter.finish());
        out
    };
    assert_eq!(whole.len(), text.len());
    assert!(!whole.windows(KEY.len()).any(|w| w == KEY.as_bytes()));
    let mut filter = KeyFilter::new(KEY.into()).expect("long enough");
    let mut cut = Vec::new();
    let mut rest = text.as_bytes();
    for size in cuts {
        let size = usize::from(size).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        cut.extend_from_slice(&filter.push(Bytes::copy_from_slice(chunk)));
        rest = tail;
    }
    cut.extend_from_slice(&filter.push(Bytes::copy_from_slice(rest)));
    cut.extend_from_slice(&filter.finish());
    assert_eq!(cut, whole);
});
