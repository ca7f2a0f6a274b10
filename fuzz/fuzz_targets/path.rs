//! A client's request target on a pass-through route: what `upstream_path` accepts never
//! climbs out of the provider's base path, however it is spelled, and never carries a key.
#![no_main]

use axum::http::Uri;
use byok_proxy::http::forward::{check_query, upstream_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|target: &str| {
    let Ok(uri) = target.parse::<Uri>() else {
        return;
    };
    let _ = check_query(&uri);
    let Ok(out) = upstream_path(&uri, uri.path()) else {
        return;
    };
    let path = out.split('?').next().unwrap_or_default();
    let decoded = decode(path.as_bytes());
    assert!(decoded.starts_with(b"/"), "{out:?}");
    assert!(
        !decoded.contains(&b'\\') && !decoded.contains(&b';'),
        "{out:?}"
    );
    let segments: Vec<&[u8]> = decoded[1..].split(|&b| b == b'/').collect();
    for (i, segment) in segments.iter().enumerate() {
        // Only the last may be empty: a trailing slash.
        assert!(
            !segment.is_empty() || i + 1 == segments.len(),
            "empty segment in {out:?}"
        );
        assert!(
            *segment != b"." && *segment != b"..",
            "dot segment in {out:?}"
        );
    }
    assert!(check_query(&uri).is_ok());
});

/// Percent-decoding as the most lenient server would, repeated until nothing changes.
fn decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    loop {
        let next = decode_once(&out);
        if next == out {
            return out;
        }
        out = next;
    }
}

fn decode_once(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: &u8| (*b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or_default());
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}
