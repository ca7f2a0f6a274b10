//! Prints `COUNT` sealed headers, one per line, for benchmarks (`bench/sealed.sh`): each seals
//! `KEY` to the proxy at `PROXY` (its first published key) for `POST TARGET` with `BODY`, now.
//!
//! Usage: `seal_many PROXY TARGET BODY KEY COUNT`
// A benchmark helper: it panics on bad input by design.
#![allow(clippy::unwrap_used)]

use std::io::{BufWriter, Read, Write};
use std::net::TcpStream;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [proxy, target, body, key, count] = &args[..] else {
        panic!("usage: seal_many PROXY_HOST:PORT TARGET BODY KEY COUNT");
    };
    let (id, public) = published(proxy);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let request = byok_seal::Request::new("POST", target, body.as_bytes());
    let mut out = BufWriter::new(std::io::stdout().lock());
    for _ in 0..count.parse::<usize>().unwrap() {
        let header = byok_seal::seal(&public, &id, &request, now, key.as_bytes()).unwrap();
        writeln!(out, "{header}").unwrap();
    }
}

/// The proxy's first published key, read from `GET /byok/seal-key` with a bare HTTP/1.0 GET.
fn published(proxy: &str) -> (String, byok_seal::PublicKey) {
    let mut stream = TcpStream::connect(proxy).unwrap();
    write!(
        stream,
        "GET /byok/seal-key HTTP/1.0\r\nHost: {proxy}\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let field = |name: &str| {
        let start = answer.find(&format!("\"{name}\":\"")).unwrap() + name.len() + 4;
        answer[start..start + answer[start..].find('"').unwrap()].to_owned()
    };
    let public = byok_seal::PublicKey::from_base64(&field("public_key")).unwrap();
    (field("id"), public)
}
