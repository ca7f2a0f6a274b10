//! The one rule both sides apply to a path before it goes to a provider: the proxy to every
//! request's path below the provider prefix, the vault to every path an app asks it to send.

/// Whether `path` holds something that could be turned into a different path further along,
/// by the proxy or by a lenient server behind a provider's base path: a dot segment (`.` or
/// `..`), an empty segment (`//`), a backslash, a `;` (path parameters: `..;/` is `..` to some
/// servers), or a percent sign that is not a plain ASCII escape (`%u002e`, a truncated `%2`, and
/// escaped bytes of 0x80 and up, which overlong UTF-8 forms of `.` and `/` need) or that
/// encodes a dot, slash, backslash, NUL or percent sign. No provider's API path contains any
/// of these. One pass over the bytes.
#[must_use]
pub fn disguised(path: &[u8]) -> bool {
    path.iter().enumerate().any(|(i, &byte)| {
        let rest = &path[i + 1..];
        match byte {
            b'\\' | b';' => true,
            // An empty segment, or a dot segment: `.` or `..`, last or followed by `/`.
            b'/' => matches!(
                rest,
                [b'/', ..] | [b'.'] | [b'.', b'.'] | [b'.', b'/', ..] | [b'.', b'.', b'/', ..]
            ),
            b'%' => match rest {
                [high, low, ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                    *high >= b'8'
                        || matches!(
                            (*high, low.to_ascii_lowercase()),
                            (b'2', b'e' | b'f' | b'5') | (b'3', b'b') | (b'5', b'c') | (b'0', b'0')
                        )
                }
                _ => true,
            },
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::disguised;

    #[test]
    fn plain_api_paths_are_not_disguised() {
        for path in [
            "/v1/chat/completions",
            "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
            "/v1/models/",
            "/v1/files/file-abc%20def",
            "/v1/a.b/c..d/.e",
        ] {
            assert!(!disguised(path.as_bytes()), "{path}");
        }
    }

    #[test]
    fn anything_that_could_become_another_path_is() {
        for path in [
            "/v1/../byok",
            "/v1/./models",
            "/v1/..",
            "/v1/.",
            "//v1/models",
            "/v1//models",
            "/v1\\models",
            "/v1/..;/models",
            "/v1/%2e%2e/byok",
            "/v1/%2E/x",
            "/v1%2fmodels",
            "/v1%5cmodels",
            "/v1/%25",
            "/v1/%00",
            "/v1/%3b",
            "/v1/%c0%ae",
            "/v1/%u002e",
            "/v1/%2",
            "/v1/%",
        ] {
            assert!(disguised(path.as_bytes()), "{path}");
        }
    }
}
