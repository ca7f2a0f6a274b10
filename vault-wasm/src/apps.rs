//! Connected apps: the web origins the user approved to send requests through the vault from
//! their own pages, without any of their scripts ever holding a key (the isolated mode).
//!
//! Each approval is a record of kind `app` under a random id (`app:<32 hex>`), sealed under
//! the vault key like a grant: storage shows neither the origin nor when it was approved. An
//! origin is written as browsers write `location.origin`: `https://host` or
//! `https://host:port`, lowercase. Plain `http` is accepted only on loopback (`localhost`,
//! `*.localhost`, `127.0.0.1`, `[::1]`), where browsers treat it as a secure context.

use serde::{Deserialize, Serialize};

use crate::error::{Result, VaultError};

/// The longest origin accepted.
pub const MAX_ORIGIN_LEN: usize = 253 + "https://".len() + ":65535".len();
/// How often a connected app's "last used" is written at most: every request would be a write.
pub const USE_RESOLUTION_MS: u64 = 10 * 60 * 1000;

/// An app the user connected. Times are milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectedApp {
    /// The app's origin, as [`normalize_origin`] writes it.
    pub origin: String,
    /// When the user approved it.
    pub approved_ms: u64,
    /// When it last sent a request through the vault (to [`USE_RESOLUTION_MS`]).
    #[serde(default)]
    pub last_used_ms: Option<u64>,
}

/// `text` as an origin: `https://host[:port]` (or `http://` on loopback), lowercase, with no
/// path, query, credentials or default port.
///
/// # Errors
///
/// [`VaultError::InvalidInput`] saying what is wrong.
pub fn normalize_origin(text: &str) -> Result<String> {
    let bad = |why: &str| VaultError::InvalidInput(format!("not a web origin: {why}"));
    if text.len() > MAX_ORIGIN_LEN {
        return Err(bad("too long"));
    }
    let lower = text.trim().to_ascii_lowercase();
    let (scheme, rest) = lower
        .split_once("://")
        .ok_or_else(|| bad("expected https://host"))?;
    let (host, port) = match rest.rsplit_once(':') {
        // An IPv6 address has colons of its own, inside its brackets.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (rest, None),
    };
    if host.is_empty() || !(host_ok(host) || host == "[::1]") {
        return Err(bad("the host must be a domain name or a loopback address"));
    }
    let default_port = match scheme {
        "https" => "443",
        "http" if loopback(host) => "80",
        "http" => return Err(bad("plain http is allowed only on localhost")),
        _ => return Err(bad("expected https://host")),
    };
    let port = match port {
        None => None,
        Some(p) if p == default_port => None,
        Some(p) => {
            let ok = !p.is_empty()
                && p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n > 0);
            if !ok {
                return Err(bad("the port must be a number from 1 to 65535"));
            }
            Some(p)
        }
    };
    Ok(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Whether `host` is a domain name (labels of letters, digits and inner hyphens) or an IPv4
/// address.
fn host_ok(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether `host` is a loopback name or address.
fn loopback(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost") || host == "127.0.0.1" || host == "[::1]"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_written_as_browsers_write_them() {
        for (given, origin) in [
            ("https://App.Example.com", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            (
                "https://app.example.com:8443",
                "https://app.example.com:8443",
            ),
            ("http://localhost:5173", "http://localhost:5173"),
            ("http://app.byok.localhost:80", "http://app.byok.localhost"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://[::1]:3000", "http://[::1]:3000"),
            (" https://a.b ", "https://a.b"),
        ] {
            assert_eq!(normalize_origin(given).as_deref(), Ok(origin), "{given}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "app.example.com",
            "https://",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://user@app.example.com",
            "http://app.example.com",
            "http://192.168.1.2",
            "ftp://app.example.com",
            "javascript://app.example.com",
            "https://app.example.com:0",
            "https://app.example.com:65536",
            "https://app.example.com:",
            "https://app..example.com",
            "https://-app.example.com",
            "https://app_example.com",
            "https://app.example.com.",
            "null",
            &format!("https://{}.com", "a".repeat(300)),
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }
}
