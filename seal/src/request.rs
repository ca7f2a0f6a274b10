//! The request a key is sealed for, and the associated data that binds the two.

use sha2::{Digest, Sha256};

use crate::INFO;

/// What of a request a sealed key is bound to: its method, its target as the proxy receives it
/// (path and query) and the SHA-256 of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    method: &'a str,
    target: &'a str,
    body_sha256: [u8; 32],
}

/// SHA-256 of a request body (of zero bytes when there is none).
#[must_use]
pub fn body_hash(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

impl<'a> Request<'a> {
    /// A request with `body` (empty when there is none).
    #[must_use]
    pub fn new(method: &'a str, target: &'a str, body: &[u8]) -> Self {
        Self::with_body_hash(method, target, body_hash(body))
    }

    /// A request whose body's SHA-256 is `body_sha256`.
    #[must_use]
    pub fn with_body_hash(method: &'a str, target: &'a str, body_sha256: [u8; 32]) -> Self {
        Self {
            method,
            target,
            body_sha256,
        }
    }

    /// The associated data for a seal made at `time` (Unix seconds) with `nonce` (as written
    /// in the header): `byok-seal v1\n<METHOD>\n<target>\n<hex SHA-256>\n<time>\n<nonce>`.
    #[must_use]
    pub fn aad(&self, time: u64, nonce: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(
            INFO.len() + self.method.len() + self.target.len() + 64 + 20 + nonce.len() + 5,
        );
        aad.extend_from_slice(INFO);
        for part in [self.method.as_bytes(), self.target.as_bytes()] {
            aad.push(b'\n');
            aad.extend_from_slice(part);
        }
        aad.push(b'\n');
        aad.extend_from_slice(hex_lower(&self.body_sha256).as_bytes());
        aad.push(b'\n');
        aad.extend_from_slice(time.to_string().as_bytes());
        aad.push(b'\n');
        aad.extend_from_slice(nonce.as_bytes());
        aad
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}"); // writing to a String cannot fail
            s
        })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn the_associated_data_is_the_documented_lines() {
        let request = Request::new("POST", "/openai/v1/chat/completions?x=1", b"");
        let aad = request.aad(1_700_000_000, "AAECAwQFBgcICQoLDA0ODw");
        assert_eq!(
            String::from_utf8(aad).unwrap(),
            "byok-seal v1\nPOST\n/openai/v1/chat/completions?x=1\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             1700000000\nAAECAwQFBgcICQoLDA0ODw"
        );
    }

    #[test]
    fn a_body_is_bound_by_its_hash() {
        let a = Request::new("POST", "/v1/x", b"{\"a\":1}");
        let b = Request::new("POST", "/v1/x", b"{\"a\":2}");
        assert_ne!(a.aad(1, "n"), b.aad(1, "n"));
        assert_eq!(
            a,
            Request::with_body_hash("POST", "/v1/x", body_hash(b"{\"a\":1}"))
        );
    }
}
