//! A streaming scanner that picks the values of chosen top-level keys out of a JSON document as
//! it passes, without holding the document: only the chosen values are copied.
//!
//! "Top level" is the root object's own keys, or, when the root is an array (Gemini's streamed
//! `generateContent` without `alt=sse`), the keys of each object in it. The scanner does not
//! validate JSON: it tracks strings, escapes and nesting, which is all it needs to find keys
//! and where their values end; a captured value is parsed afterwards by serde.
//!
//! Hand-written rather than a streaming JSON parser crate: the ones we looked at (struson,
//! actson) build every token, while this skips strings with `memchr` and copies nothing else,
//! which keeps reading usage within a few percent of relaying the bytes (see
//! `bench/instructions.sh`).

/// Longest key compared (ours are shorter; a longer one is simply not ours).
const MAX_KEY: usize = 32;
/// `key_len` when no key is being read.
const NO_KEY: usize = usize::MAX;

/// The bytes that can change the scanner's state outside strings.
static STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 7 {
        table[b"\"{}[],:"[i] as usize] = true;
        i += 1;
    }
    table
};

/// Longest value kept; a longer one is dropped (a usage object is a few hundred bytes).
pub const MAX_VALUE: usize = 64 * 1024;

/// Where the scanner is in the grammar, at the depth it watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Somewhere not at the watched depth, or in an array there.
    Other,
    /// A key (after `{` or `,` in an object at the watched depth).
    Key,
    /// The `:` after a key.
    Colon,
    /// Inside a value at the watched depth.
    Value,
}

/// See the module docs.
#[derive(Debug)]
pub struct Scanner {
    keys: &'static [&'static str],
    depth: u32,
    /// The depth whose keys are watched: 1 under an object root, 2 under an array root.
    watch: u32,
    root_closed: bool,
    in_string: bool,
    escaped: bool,
    expect: Expect,
    /// The key being read (its first `key_len` bytes), when `expect` was `Key` as its string
    /// began; `key_len` is [`NO_KEY`] otherwise.
    key: [u8; MAX_KEY],
    key_len: usize,
    /// The index in `keys` of the value being captured, and its bytes so far.
    capture: Option<(usize, Vec<u8>)>,
    /// A capture that outgrew [`MAX_VALUE`].
    overflow: bool,
}

impl Scanner {
    /// A scanner reporting the values of `keys`.
    #[must_use]
    pub fn new(keys: &'static [&'static str]) -> Self {
        Self {
            keys,
            depth: 0,
            watch: 1,
            root_closed: false,
            in_string: false,
            escaped: false,
            expect: Expect::Other,
            key: [0; MAX_KEY],
            key_len: NO_KEY,
            capture: None,
            overflow: false,
        }
    }

    /// Whether the root value has closed: the document is complete.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.root_closed
    }

    /// Scans `chunk`, calling `found(index into keys, raw value)` for each watched value that
    /// ends in it. The state lives in locals while a chunk is scanned (so it stays in
    /// registers), and bytes that cannot change it are skipped at once.
    pub fn feed(&mut self, chunk: &[u8], mut found: impl FnMut(usize, &[u8])) {
        let mut i = 0;
        // Where the current capture's bytes start in this chunk.
        let mut from = self.capture.as_ref().map(|_| 0);
        let (mut depth, mut in_string, mut escaped, mut expect) =
            (self.depth, self.in_string, self.escaped, self.expect);
        while i < chunk.len() {
            if in_string {
                if escaped {
                    // The byte after a backslash, whatever it is (a chunk may end between).
                    escaped = false;
                    self.key_bytes(&chunk[i..=i]);
                    i += 1;
                    continue;
                }
                // Most strings in an answer are short (ids, names, keys): a plain loop finds
                // their end sooner than setting up a vector search does.
                let rest = &chunk[i..];
                let near = rest.len().min(32);
                let mut at = 0;
                while at < near && rest[at] != b'"' && rest[at] != b'\\' {
                    at += 1;
                }
                let end = if at < near {
                    Some(at)
                } else {
                    memchr::memchr2(b'"', b'\\', &rest[at..]).map(|more| at + more)
                };
                let Some(at) = end else {
                    self.key_bytes(rest);
                    break;
                };
                self.key_bytes(&rest[..at]);
                i += at;
                if chunk[i] == b'\\' {
                    self.key_bytes(&chunk[i..=i]);
                    escaped = true;
                } else {
                    in_string = false;
                    if expect == Expect::Key {
                        expect = Expect::Colon;
                    }
                }
                i += 1;
                continue;
            }
            let byte = chunk[i];
            if !STRUCTURAL[usize::from(byte)] {
                i += 1; // whitespace, digits, `true`, `false`, `null`
                continue;
            }
            if expect == Expect::Value && depth == self.watch && matches!(byte, b',' | b'}' | b']')
            {
                if let (Some((index, mut value)), Some(start)) = (self.capture.take(), from.take())
                {
                    self.append(&mut value, &chunk[start..i]);
                    if !std::mem::take(&mut self.overflow) {
                        found(index, trim(&value));
                    }
                }
                // A comma there separates the object's members: a key comes next.
                expect = if byte == b',' {
                    Expect::Key
                } else {
                    Expect::Other
                };
            }
            match byte {
                b'"' => {
                    in_string = true;
                    self.key_len = if expect == Expect::Key { 0 } else { NO_KEY };
                }
                b'{' | b'[' => {
                    if depth == 0 && byte == b'[' {
                        self.watch = 2;
                    }
                    depth += 1;
                    if depth == self.watch {
                        expect = if byte == b'{' {
                            Expect::Key
                        } else {
                            Expect::Other
                        };
                    }
                }
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.root_closed = true;
                    }
                    if depth == self.watch {
                        // Back in the watched container, after a nested value.
                        expect = Expect::Value;
                    } else if depth + 1 == self.watch {
                        expect = Expect::Other;
                    }
                }
                b':' if expect == Expect::Colon && depth == self.watch => {
                    expect = Expect::Value;
                    let key = self.key.get(..self.key_len).unwrap_or_default();
                    if let Some(index) = self.keys.iter().position(|k| k.as_bytes() == key) {
                        self.capture = Some((index, Vec::new()));
                        from = Some(i + 1);
                    }
                    self.key_len = NO_KEY;
                }
                _ => {}
            }
            i += 1;
        }
        (self.depth, self.in_string, self.escaped, self.expect) =
            (depth, in_string, escaped, expect);
        if let Some(start) = from
            && let Some((index, mut value)) = self.capture.take()
        {
            self.append(&mut value, &chunk[start..]);
            self.capture = Some((index, value));
        }
    }

    /// Adds `bytes` to the key being read, if one is (a key longer than [`MAX_KEY`] is not
    /// ours, and is dropped).
    fn key_bytes(&mut self, bytes: &[u8]) {
        if self.key_len == NO_KEY {
            return;
        }
        match self.key.get_mut(self.key_len..self.key_len + bytes.len()) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.key_len += bytes.len();
            }
            None => self.key_len = NO_KEY,
        }
    }

    fn append(&mut self, value: &mut Vec<u8>, bytes: &[u8]) {
        if value.len() + bytes.len() > MAX_VALUE {
            self.overflow = true;
            value.clear();
        } else if !self.overflow {
            value.extend_from_slice(bytes);
        }
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["usage", "model"];

    /// Every value found, scanning `doc` cut into pieces at `cuts`.
    fn scan(doc: &str, cuts: &[usize]) -> (Vec<(usize, String)>, bool) {
        let mut scanner = Scanner::new(KEYS);
        let mut out = Vec::new();
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&doc.len())) {
            scanner.feed(&doc.as_bytes()[last..cut], |i, v| {
                out.push((i, String::from_utf8(v.to_vec()).unwrap()));
            });
            last = cut;
        }
        (out, scanner.complete())
    }

    /// The same document cut at every byte boundary gives the same values.
    fn everywhere(doc: &str) -> (Vec<(usize, String)>, bool) {
        let whole = scan(doc, &[]);
        for cut in 0..=doc.len() {
            assert_eq!(scan(doc, &[cut]), whole, "cut at {cut} of {doc}");
        }
        let every: Vec<usize> = (1..doc.len()).collect();
        assert_eq!(scan(doc, &every), whole, "one byte at a time: {doc}");
        whole
    }

    #[test]
    fn finds_top_level_keys_only() {
        let doc = r#"{"id":"x","choices":[{"usage":1,"model":"deep"}],"model" : "gpt-4o-mini" ,
            "meta":{"usage":{"no":1}},"usage":{"prompt_tokens":3,"details":{"a":[1,2]}}}"#;
        let (found, complete) = everywhere(doc);
        assert_eq!(
            found,
            vec![
                (1, r#""gpt-4o-mini""#.to_owned()),
                (0, r#"{"prompt_tokens":3,"details":{"a":[1,2]}}"#.to_owned()),
            ]
        );
        assert!(complete);
    }

    #[test]
    fn strings_with_quotes_braces_and_escapes_do_not_confuse_it() {
        let doc = r#"{"content":"a \"usage\": {\"x\":1} } ] \\","usage":{"k":"v\\\"}"},"model":"m\u0022"}"#;
        let (found, _) = everywhere(doc);
        assert_eq!(
            found,
            vec![
                (0, r#"{"k":"v\\\"}"}"#.to_owned()),
                (1, r#""m\u0022""#.to_owned())
            ]
        );
    }

    #[test]
    fn an_array_root_reports_each_element() {
        let doc = r#"[{"usageMetadata":0,"usage":{"n":1}}
,{"usage":{"n":2},"x":[{"usage":9}]}]"#;
        let (found, complete) = everywhere(doc);
        assert_eq!(
            found,
            vec![(0, r#"{"n":1}"#.to_owned()), (0, r#"{"n":2}"#.to_owned())]
        );
        assert!(complete);
    }

    #[test]
    fn a_document_cut_short_is_incomplete_and_its_open_value_unreported() {
        let (found, complete) = scan(r#"{"model":"a","usage":{"n":1"#, &[]);
        assert_eq!(found, vec![(1, r#""a""#.to_owned())]);
        assert!(!complete);
        let (found, complete) = scan(r#"{"usage":7}"#, &[]);
        assert_eq!(found, vec![(0, "7".to_owned())]);
        assert!(complete);
    }

    #[test]
    fn a_huge_value_is_dropped_not_kept() {
        let doc = format!(
            r#"{{"usage":"{}","model":"m"}}"#,
            "a".repeat(MAX_VALUE + 10)
        );
        let (found, complete) = scan(&doc, &[5, 1000, 60_000]);
        assert_eq!(found, vec![(1, r#""m""#.to_owned())]);
        assert!(complete);
    }
}
