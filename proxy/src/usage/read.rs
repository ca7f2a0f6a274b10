//! Reading token usage from a provider's answer as it streams past: JSON bodies through the
//! [`Scanner`]; server-sent events from their last few KiB, kept as they pass and read once
//! when the stream ends (every provider puts its usage in the last event; Anthropic puts its
//! input counts in the first, kept too). Nothing is held back or changed; only the usage
//! objects and the last event are looked at.
//!
//! Where each provider puts usage, and which event ends a stream:
//!
//! | answer | usage | final event |
//! |---|---|---|
//! | OpenAI chat / embeddings JSON (and every OpenAI-compatible endpoint) | `usage` | the document closes |
//! | OpenAI chat SSE with `stream_options.include_usage` | the last chunk's `usage` | `data: [DONE]` |
//! | OpenAI Responses JSON / SSE | `usage` / `response.usage` of `response.completed` | `response.completed`, `.incomplete`, `.failed` |
//! | Anthropic JSON | `usage` | the document closes |
//! | Anthropic SSE | `message_start`'s `message.usage`, then each `message_delta`'s `usage` (cumulative: the last of each field wins) | `message_stop` |
//! | Gemini JSON, JSON array stream, SSE | `usageMetadata` (the last one wins whole) | a candidate's `finishReason` |
//! | OpenRouter | `usage`, with `cost`, `is_byok`, `cost_details.upstream_inference_cost` | as OpenAI |

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::Deserialize;

use super::scan::{MAX_VALUE, Scanner};
use crate::core::ledger::Tokens;
use crate::core::{Dialect, Provider};

/// The top-level keys a JSON answer carries usage in. (A JSON answer is complete when its
/// document closes, so nothing else is needed from it.)
const USAGE_KEYS: &[&str] = &["usage", "usageMetadata"];

/// Usage as the providers write it: every field any of them uses, all optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct RawUsage {
    // OpenAI chat and embeddings, and every OpenAI-compatible endpoint.
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<Details>,
    // OpenAI Responses and Anthropic.
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    input_tokens_details: Option<Details>,
    // Anthropic.
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    // Gemini.
    #[serde(rename = "promptTokenCount")]
    prompt_token_count: Option<u64>,
    #[serde(rename = "candidatesTokenCount")]
    candidates_token_count: Option<u64>,
    #[serde(rename = "thoughtsTokenCount")]
    thoughts_token_count: Option<u64>,
    #[serde(rename = "cachedContentTokenCount")]
    cached_content_token_count: Option<u64>,
    // OpenRouter.
    cost: Option<f64>,
    is_byok: Option<bool>,
    cost_details: Option<CostDetails>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Details {
    cached_tokens: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct CostDetails {
    upstream_inference_cost: Option<f64>,
}

impl RawUsage {
    /// Overwrites each field `newer` has (Anthropic's deltas are cumulative, per field).
    fn merge(&mut self, newer: RawUsage) {
        macro_rules! take {
            ($($f:ident),*) => { $( if newer.$f.is_some() { self.$f = newer.$f; } )* };
        }
        take!(
            prompt_tokens,
            completion_tokens,
            prompt_tokens_details,
            input_tokens,
            output_tokens,
            input_tokens_details,
            cache_creation_input_tokens,
            cache_read_input_tokens,
            prompt_token_count,
            candidates_token_count,
            thoughts_token_count,
            cached_content_token_count,
            cost,
            is_byok,
            cost_details
        );
    }

    /// The counts in our terms (see [`Tokens`]), for an answer from `provider`.
    #[must_use]
    pub fn tokens(&self, provider: Provider) -> Tokens {
        let cached = |d: &Option<Details>| d.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0);
        let mut tokens = if let Some(prompt) = self.prompt_token_count {
            Tokens {
                input: prompt,
                cached_input: self.cached_content_token_count.unwrap_or(0),
                cache_creation: 0,
                output: self.candidates_token_count.unwrap_or(0)
                    + self.thoughts_token_count.unwrap_or(0),
                provider_cost: None,
            }
        } else if let Some(prompt) = self.prompt_tokens {
            Tokens {
                input: prompt,
                cached_input: cached(&self.prompt_tokens_details),
                cache_creation: 0,
                output: self.completion_tokens.unwrap_or(0),
                provider_cost: None,
            }
        } else if provider.dialect() == Dialect::Anthropic {
            // Anthropic's input_tokens leaves out what was read from or written to the cache.
            let read = self.cache_read_input_tokens.unwrap_or(0);
            let written = self.cache_creation_input_tokens.unwrap_or(0);
            Tokens {
                input: self.input_tokens.unwrap_or(0) + read + written,
                cached_input: read,
                cache_creation: written,
                output: self.output_tokens.unwrap_or(0),
                provider_cost: None,
            }
        } else {
            Tokens {
                input: self.input_tokens.unwrap_or(0),
                cached_input: cached(&self.input_tokens_details),
                cache_creation: 0,
                output: self.output_tokens.unwrap_or(0),
                provider_cost: None,
            }
        };
        // A count that contradicts another (more cached than input) is clamped, never negative.
        tokens.cached_input = tokens.cached_input.min(tokens.input);
        tokens.cache_creation = tokens
            .cache_creation
            .min(tokens.input - tokens.cached_input);
        if provider.reports_cost() {
            tokens.provider_cost = self.cost.map(|cost| {
                let upstream = self
                    .cost_details
                    .as_ref()
                    .and_then(|d| d.upstream_inference_cost)
                    .filter(|_| self.is_byok == Some(true))
                    .unwrap_or(0.0);
                cost + upstream
            });
        }
        tokens
    }
}

/// How the answer is framed.
#[derive(Debug)]
enum Framing {
    Json(Scanner),
    /// An event stream: its usage and its end are read from its last bytes when it ends (see
    /// [`Tail`]), and for Anthropic also from its first event.
    Sse {
        head: Option<Head>,
        tail: Tail,
    },
    /// Neither: nothing to read.
    Opaque,
}

/// Reads one answer's usage (see the module docs).
#[derive(Debug)]
pub struct Reader {
    provider: Provider,
    framing: Framing,
    usage: Option<RawUsage>,
    finished: bool,
}

/// What a finished reading found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// The counts, when the answer carried usage.
    pub tokens: Option<Tokens>,
    /// Whether the answer reached its end (see the module docs for what ends each kind).
    pub complete: bool,
}

static DONE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("[DONE]"));
static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"usage"));
static FINISH: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"finishReason\""));
static STOP: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"message_stop\""));
static RESPONSE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"response."));

/// Whether `data`, the last event of a stream from `provider`, is one of its final events:
/// OpenAI's chat streams end with `[DONE]`, its Responses streams with `response.completed`,
/// `.incomplete` or `.failed`; Anthropic's with `message_stop`; Gemini's last chunk carries a
/// `finishReason`.
fn ends(provider: Provider, data: &[u8]) -> bool {
    match provider.dialect() {
        Dialect::Gemini => FINISH.find(data).is_some(),
        Dialect::Anthropic => STOP.find(data).is_some(),
        Dialect::Openai => {
            data.len() < 16 && DONE.find(data).is_some()
                || RESPONSE.find(data).is_some_and(|at| {
                    let rest = &data[at + RESPONSE.needle().len()..];
                    [&b"completed\""[..], b"incomplete\"", b"failed\""]
                        .iter()
                        .any(|end| rest.starts_with(end))
                })
        }
    }
}

/// How much of a stream's end is kept at least: every provider's usage is in its last event,
/// and what follows the usage object in that event (Gemini's `modelVersion`) and after it
/// (`[DONE]`, `message_stop`) is a few hundred bytes.
pub const TAIL: usize = 4 * 1024;

/// The end of an event stream, copied as it passes: usage is read from it once, when the
/// stream ends, rather than searched for in every event as it goes (which cost 9% more
/// instructions per streamed request than the same stream without usage,
/// `bench/instructions.sh`; now 2.8%).
///
/// It keeps the last [`TAIL`] bytes and, when the last line with content is longer, that whole
/// line up to [`MAX_VALUE`]: OpenAI Responses repeats the whole answer in its final event,
/// type first and usage near the end, followed by the request's `metadata`. Short lines keep
/// it at most one and a half times [`TAIL`] (6 KiB), each byte copied in once and moved a few
/// times at most.
#[derive(Debug, Default)]
struct Tail {
    bytes: Vec<u8>,
    /// Where the last line with content starts in `bytes` (0 when it started before them).
    line_start: usize,
    /// Whether `bytes` may begin inside a line (the first line kept is then not read).
    trimmed: bool,
}

impl Tail {
    fn push(&mut self, mut chunk: &[u8]) {
        if chunk.len() > MAX_VALUE {
            // Nothing before the chunk's last MAX_VALUE bytes can be kept.
            self.bytes.clear();
            self.line_start = 0;
            self.trimmed = true;
            chunk = &chunk[chunk.len() - MAX_VALUE..];
        }
        let base = self.bytes.len();
        // The chunk's last content byte ends the last line with content; the line starts after
        // the newline before it, or continues the line the bytes before ended in.
        if let Some(last) = chunk.iter().rposition(|b| !matches!(b, b'\n' | b'\r')) {
            if let Some(newline) = memchr::memrchr(b'\n', &chunk[..last]) {
                self.line_start = base + newline + 1;
            } else if self.bytes.last().is_none_or(|b| *b == b'\n') {
                self.line_start = base;
            }
        }
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() <= TAIL + TAIL / 2 {
            return;
        }
        let len = self.bytes.len();
        let whole_line = len - self.line_start <= MAX_VALUE;
        let from = if whole_line {
            self.line_start.min(len - TAIL)
        } else {
            len - TAIL
        };
        if from > 0 {
            self.bytes.drain(..from);
            // A line's start is kept whole; anything else may cut a line.
            self.trimmed = from != self.line_start;
            self.line_start = self.line_start.saturating_sub(from);
        }
    }

    /// The whole lines kept.
    fn lines(&self) -> &[u8] {
        if !self.trimmed {
            return &self.bytes;
        }
        memchr::memchr(b'\n', &self.bytes).map_or(&[], |at| &self.bytes[at + 1..])
    }
}

/// Anthropic's first event (`message_start`, with the input counts), kept until it ends.
#[derive(Debug, Default)]
struct Head {
    bytes: Vec<u8>,
    /// The first event is whole (or too long to be one, and given up).
    done: bool,
}

impl Head {
    fn push(&mut self, chunk: &[u8]) {
        if self.done {
            return;
        }
        let before = self.bytes.len().saturating_sub(2);
        self.bytes.extend_from_slice(chunk);
        // A blank line ends an event; search only where the end could newly be.
        let fresh = &self.bytes[before..];
        if let Some(end) =
            memchr::memmem::find(fresh, b"\n\n").or_else(|| memchr::memmem::find(fresh, b"\n\r\n"))
        {
            self.bytes.truncate(before + end + 1);
            self.done = true;
        } else if self.bytes.len() > MAX_VALUE {
            self.bytes = Vec::new();
            self.done = true;
        }
    }
}

impl Reader {
    /// A reader for an answer from `provider` with this `Content-Type`.
    #[must_use]
    pub fn new(provider: Provider, content_type: &[u8]) -> Self {
        let framing = if starts_with_ignore_case(content_type, b"text/event-stream") {
            Framing::Sse {
                head: (provider.dialect() == Dialect::Anthropic).then(Head::default),
                tail: Tail::default(),
            }
        } else if contains_ignore_case(content_type, b"json") {
            Framing::Json(Scanner::new(USAGE_KEYS))
        } else {
            Framing::Opaque
        };
        Self {
            provider,
            framing,
            usage: None,
            finished: false,
        }
    }

    /// Reads the next piece of the answer.
    pub fn feed(&mut self, chunk: &[u8]) {
        let provider = self.provider;
        let usage = &mut self.usage;
        match &mut self.framing {
            Framing::Json(scanner) => scanner.feed(chunk, |_, value| {
                if let Ok(raw) = serde_json::from_slice::<RawUsage>(value) {
                    take(usage, Some(raw), provider);
                }
            }),
            Framing::Sse { head, tail } => {
                if let Some(head) = head {
                    head.push(chunk);
                }
                tail.push(chunk);
            }
            Framing::Opaque => {}
        }
    }

    /// What was read. `ended` says whether the provider's body reached its end (rather than
    /// failing or being dropped).
    #[must_use]
    pub fn finish(mut self, ended: bool) -> Reading {
        if let Framing::Sse { head, tail } = &self.framing {
            if let Some(head) = head {
                // Anthropic's input counts are in its first event; the last one's usage is
                // merged over them.
                let events = head.bytes.rsplit(|b| *b == b'\n').filter_map(data_of);
                read_usage(self.provider, events, &mut self.usage);
            }
            self.finished = read_end(self.provider, tail.lines(), &mut self.usage);
        }
        let complete = ended
            && match &self.framing {
                Framing::Json(scanner) => scanner.complete(),
                Framing::Sse { .. } => self.finished,
                Framing::Opaque => true,
            };
        Reading {
            tokens: self.usage.map(|u| u.tokens(self.provider)),
            complete,
        }
    }
}

/// Keeps `newer`: merged field by field for Anthropic (cumulative deltas), else whole.
fn take(usage: &mut Option<RawUsage>, newer: Option<RawUsage>, provider: Provider) {
    let Some(newer) = newer else { return };
    match usage {
        Some(old) if provider.dialect() == Dialect::Anthropic => old.merge(newer),
        _ => *usage = Some(newer),
    }
}

/// An event stream line's data, if it is a `data:` line (`event:`, `id:`, comments and blank
/// lines are not).
fn data_of(line: &[u8]) -> Option<&[u8]> {
    let data = line.strip_prefix(b"data:")?;
    let data = data.strip_suffix(b"\r").unwrap_or(data);
    Some(data.strip_prefix(b" ").unwrap_or(data))
}

/// Reads the usage of the first of `events` (each a `data:` line's data, given last first)
/// that carries a usage object. Only that object is parsed, from where its key is found to its
/// end.
fn read_usage<'a>(
    provider: Provider,
    events: impl Iterator<Item = &'a [u8]>,
    usage: &mut Option<RawUsage>,
) {
    for data in events {
        if let Some(at) = usage_object(data) {
            let mut de = serde_json::Deserializer::from_slice(&data[at..]);
            if let Ok(raw) = RawUsage::deserialize(&mut de) {
                take(usage, Some(raw), provider);
                return;
            }
        }
    }
}

/// Reads the end of a stream (whole `lines`): the last usage it carries, and whether its last
/// event is a final one (see [`ends`]).
fn read_end(provider: Provider, lines: &[u8], usage: &mut Option<RawUsage>) -> bool {
    let mut events = lines.rsplit(|b| *b == b'\n').filter_map(data_of);
    let last = events.next();
    let ended = last.is_some_and(|data| ends(provider, data));
    // The last event may carry the usage itself (Gemini, OpenAI Responses).
    read_usage(provider, last.into_iter().chain(events), usage);
    ended
}

/// Where the first `"usage…":` with an object for its value starts that object (OpenAI puts
/// `"usage":null` in every chunk once usage is asked for; Anthropic nests `usage` in
/// `message`, the Responses API in `response`: wherever it is, it is the one).
fn usage_object(data: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = USAGE.find(&data[from..]) {
        let key_end = from + at + USAGE.needle().len();
        let after = &data[key_end..];
        // The rest of a key such as `usageMetadata`, its closing quote, then `:` and a value.
        let name_end = after
            .iter()
            .position(|b| !b.is_ascii_alphanumeric() && *b != b'_')
            .unwrap_or(after.len());
        if let Some(rest) = after[name_end..].strip_prefix(b"\"")
            && let Some(value) = rest.trim_ascii_start().strip_prefix(b":")
        {
            let value = value.trim_ascii_start();
            if value.starts_with(b"{") {
                return Some(data.len() - value.len());
            }
        }
        from += at + 1;
    }
    None
}

#[cfg(test)]
fn has_usage_object(data: &[u8]) -> bool {
    usage_object(data).is_some()
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len())
        .is_some_and(|t| t.eq_ignore_ascii_case(prefix))
}

fn contains_ignore_case(text: &[u8], needle: &[u8]) -> bool {
    text.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixture: its file, where its shape comes from, the provider, its `Content-Type`, and
    /// what must be read from it.
    struct Fixture {
        file: &'static str,
        text: &'static str,
        source: &'static str,
        provider: Provider,
        content_type: &'static str,
        tokens: Tokens,
        complete: bool,
    }

    fn t(input: u64, cached_input: u64, cache_creation: u64, output: u64) -> Tokens {
        Tokens {
            input,
            cached_input,
            cache_creation,
            output,
            provider_cost: None,
        }
    }

    macro_rules! fixture {
        ($file:literal, $source:literal, $provider:ident, $ct:literal, $tokens:expr, $complete:expr) => {
            Fixture {
                file: $file,
                text: include_str!(concat!("fixtures/", $file)),
                source: $source,
                provider: Provider::$provider,
                content_type: $ct,
                tokens: $tokens,
                complete: $complete,
            }
        };
    }

    fn fixtures() -> Vec<Fixture> {
        vec![
            fixture!(
                "openai_chat.json",
                "platform.openai.com/docs/api-reference/chat/object (a content string that mentions usage added)",
                Openai,
                "application/json",
                t(1117, 1024, 0, 46),
                true
            ),
            fixture!(
                "openai_chat_stream.sse",
                "platform.openai.com/docs/api-reference/chat-streaming, with stream_options.include_usage",
                Openai,
                "text/event-stream; charset=utf-8",
                t(19, 0, 0, 10),
                true
            ),
            fixture!(
                "openai_embeddings.json",
                "platform.openai.com/docs/api-reference/embeddings/create",
                Openai,
                "application/json",
                t(8, 0, 0, 0),
                true
            ),
            fixture!(
                "openai_responses.json",
                "platform.openai.com/docs/api-reference/responses/object",
                Openai,
                "application/json",
                t(328, 128, 0, 52),
                true
            ),
            fixture!(
                "openai_responses_stream.sse",
                "platform.openai.com/docs/api-reference/responses-streaming",
                Openai,
                "text/event-stream",
                t(37, 0, 0, 11),
                true
            ),
            fixture!(
                "anthropic_message.json",
                "docs.anthropic.com/en/api/messages and the prompt-caching guide",
                Anthropic,
                "application/json",
                t(2095 + 1800 + 2048, 1800, 2048, 503),
                true
            ),
            fixture!(
                "anthropic_stream.sse",
                "docs.anthropic.com/en/docs/build-with-claude/streaming (two message_delta events: cumulative)",
                Anthropic,
                "text/event-stream; charset=utf-8",
                t(40, 10, 5, 15),
                true
            ),
            fixture!(
                "gemini.json",
                "ai.google.dev/api/generate-content#UsageMetadata, with thinking and a cache",
                Gemini,
                "application/json; charset=UTF-8",
                t(4000, 3000, 0, 500),
                true
            ),
            fixture!(
                "gemini_stream.sse",
                "ai.google.dev/api/generate-content#method:-models.streamgeneratecontent with alt=sse (CRLF line ends)",
                Gemini,
                "text/event-stream",
                t(9, 0, 0, 6),
                true
            ),
            fixture!(
                "gemini_stream_array.json",
                "streamGenerateContent without alt=sse: one JSON array, written as it goes",
                Gemini,
                "application/json; charset=UTF-8",
                t(9, 0, 0, 6),
                true
            ),
            fixture!(
                "openrouter.json",
                "openrouter.ai/docs/use-cases/usage-accounting, a BYOK answer",
                Openrouter,
                "application/json",
                Tokens {
                    provider_cost: Some(0.000_031_6),
                    ..t(194, 0, 0, 2)
                },
                true
            ),
        ]
    }

    fn read(f: &Fixture, cuts: &[usize]) -> Reading {
        let mut reader = Reader::new(f.provider, f.content_type.as_bytes());
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&f.text.len())) {
            reader.feed(&f.text.as_bytes()[last..cut]);
            last = cut;
        }
        reader.finish(true)
    }

    fn same(a: &Reading, b: &Tokens) -> bool {
        let Some(t) = a.tokens else { return false };
        let cost = match (t.provider_cost, b.provider_cost) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-12,
            (x, y) => x.is_none() && y.is_none(),
        };
        cost && Tokens {
            provider_cost: None,
            ..t
        } == Tokens {
            provider_cost: None,
            ..*b
        }
    }

    #[test]
    fn every_fixture_reads_the_same_however_it_is_cut() {
        for f in fixtures() {
            let whole = read(&f, &[]);
            assert!(
                same(&whole, &f.tokens),
                "{} ({}): {whole:?}",
                f.file,
                f.source
            );
            assert_eq!(whole.complete, f.complete, "{}", f.file);
            for cut in 0..=f.text.len() {
                assert_eq!(read(&f, &[cut]), whole, "{} cut at {cut}", f.file);
            }
            let every: Vec<usize> = (1..f.text.len()).collect();
            assert_eq!(read(&f, &every), whole, "{} a byte at a time", f.file);
        }
    }

    #[test]
    fn an_answer_cut_short_keeps_what_arrived_and_says_so() {
        for f in fixtures() {
            let mut reader = Reader::new(f.provider, f.content_type.as_bytes());
            reader.feed(f.text.as_bytes());
            let dropped = reader.finish(false);
            assert!(
                !dropped.complete,
                "{}: the client left or the body failed",
                f.file
            );
            assert!(same(&dropped, &f.tokens), "{}", f.file);
        }
        // A stream without its final event, that ended cleanly, is incomplete too.
        let anthropic = include_str!("fixtures/anthropic_stream.sse");
        let before_stop = &anthropic[..anthropic.find("event: message_stop").unwrap()];
        let mut reader = Reader::new(Provider::Anthropic, b"text/event-stream");
        reader.feed(before_stop.as_bytes());
        let cut = reader.finish(true);
        assert!(!cut.complete);
        assert_eq!(cut.tokens.unwrap().output, 15, "what had arrived is kept");
        // Before any usage: nothing counted, still one answer.
        let mut reader = Reader::new(Provider::Openai, b"application/json");
        reader.feed(br#"{"id":"x","choices":[{"mess"#);
        assert_eq!(
            reader.finish(true),
            Reading {
                tokens: None,
                complete: false
            }
        );
    }

    #[test]
    fn anthropic_output_is_the_last_count_never_a_sum() {
        let text = include_str!("fixtures/anthropic_stream.sse");
        let mut reader = Reader::new(Provider::Anthropic, b"text/event-stream");
        reader.feed(text.as_bytes());
        let tokens = reader.finish(true).tokens.unwrap();
        assert_eq!(tokens.output, 15, "7 then 15 cumulative: 15, not 22 or 23");
        assert_eq!(tokens.input, 40, "25 fresh + 10 read + 5 written");
    }

    #[test]
    fn gemini_takes_the_last_chunk_whole() {
        let text = include_str!("fixtures/gemini_stream.sse");
        let mut reader = Reader::new(Provider::Gemini, b"text/event-stream");
        reader.feed(text.as_bytes());
        // The second chunk said 4 thinking tokens; the last chunk says none: its word stands.
        assert_eq!(reader.finish(true).tokens.unwrap().output, 6);
    }

    #[test]
    fn a_stream_without_usage_or_an_opaque_body_counts_no_tokens() {
        let mut reader = Reader::new(Provider::Openai, b"text/event-stream");
        reader.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\ndata: [DONE]\n\n");
        assert_eq!(
            reader.finish(true),
            Reading {
                tokens: None,
                complete: true
            }
        );
        let mut reader = Reader::new(Provider::Openai, b"audio/mpeg");
        reader.feed(b"\xff\xfb\x90\x00{\"usage\":{\"prompt_tokens\":5}}");
        assert_eq!(
            reader.finish(true),
            Reading {
                tokens: None,
                complete: true
            }
        );
    }

    #[test]
    fn a_long_stream_is_read_from_its_first_event_and_its_tail() {
        // Anthropic: input counts in `message_start`, output in the last `message_delta`,
        // with far more than the tail between them, in reads of every size.
        let text = include_str!("fixtures/anthropic_stream.sse");
        let first_end = text.find("\n\n").unwrap() + 2;
        let filler = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"usage \\\"usage\\\": {}\"}}\n\n";
        let long = format!(
            "{}{}{}",
            &text[..first_end],
            filler.repeat(3 * TAIL / filler.len()),
            &text[first_end..]
        );
        for size in [1, 7, 100, 4096, TAIL, 3 * TAIL] {
            let mut reader = Reader::new(Provider::Anthropic, b"text/event-stream");
            for piece in long.as_bytes().chunks(size) {
                reader.feed(piece);
            }
            let reading = reader.finish(true);
            let tokens = reading.tokens.unwrap();
            assert_eq!((tokens.input, tokens.output), (40, 15), "reads of {size}");
            assert!(reading.complete, "reads of {size}");
        }
        // OpenAI chat: `"usage":null` in every chunk, the counts in the last before `[DONE]`.
        let chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
        let long = format!(
            "{}data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":2}}}}\n\ndata: [DONE]\n\n",
            chunk.repeat(2 * TAIL / chunk.len())
        );
        let mut reader = Reader::new(Provider::Openai, b"text/event-stream");
        for piece in long.as_bytes().chunks(333) {
            reader.feed(piece);
        }
        let reading = reader.finish(true);
        assert_eq!(reading.tokens.unwrap().output, 2);
        assert!(reading.complete);
        // Cut before its last event: what had arrived, and incomplete.
        let mut reader = Reader::new(Provider::Openai, b"text/event-stream");
        reader.feed(chunk.repeat(2 * TAIL / chunk.len()).as_bytes());
        assert_eq!(
            reader.finish(true),
            Reading {
                tokens: None,
                complete: false
            }
        );
    }

    #[test]
    fn a_final_event_longer_than_the_tail_is_read_whole() {
        // OpenAI Responses repeats the whole answer in `response.completed`: its type first,
        // then the output, the usage, and the request's `metadata` (up to 16 values of 512
        // characters) after that.
        let text = include_str!("fixtures/openai_responses_stream.sse");
        let output = format!("\"output\":[{{\"text\":\"{}\"}}]", "x".repeat(3 * TAIL));
        let metadata = (0..16)
            .map(|i| format!("\"k{i}\":\"{}\"", "v".repeat(512)))
            .collect::<Vec<_>>()
            .join(",");
        let after_usage =
            format!("\"total_tokens\":48}},\"user\":null,\"metadata\":{{{metadata}}}}}}}");
        let long = text
            .replace("\"output\":[]", &output)
            .replace("\"total_tokens\":48}}}", &after_usage);
        assert!(long.contains(&after_usage), "the fixture changed");
        for size in [1, 100, 4096, 3 * TAIL, long.len()] {
            let mut reader = Reader::new(Provider::Openai, b"text/event-stream");
            for piece in long.as_bytes().chunks(size) {
                reader.feed(piece);
            }
            let reading = reader.finish(true);
            assert_eq!(
                reading.tokens.map(|t| (t.input, t.output)),
                Some((37, 11)),
                "reads of {size}"
            );
            assert!(reading.complete, "reads of {size}");
        }
    }

    #[test]
    fn a_huge_line_is_skipped_and_reading_goes_on() {
        let mut reader = Reader::new(Provider::Openai, b"text/event-stream");
        let huge = format!(
            "data: {{\"usage\":{{\"prompt_tokens\":999}},\"pad\":\"{}\"}}\n\n",
            "a".repeat(MAX_VALUE)
        );
        for piece in huge.as_bytes().chunks(1000) {
            reader.feed(piece);
        }
        reader.feed(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n");
        let reading = reader.finish(true);
        assert_eq!(reading.tokens.unwrap().input, 3);
        assert!(reading.complete);
    }

    #[test]
    fn usage_null_is_not_a_usage_object() {
        assert!(!has_usage_object(br#"{"a":1,"usage":null}"#));
        assert!(!has_usage_object(br#"{"usage" :  null, "b": "usage"}"#));
        assert!(has_usage_object(br#"{"usage" : {"prompt_tokens":1}}"#));
        assert!(has_usage_object(
            br#"{"usageMetadata":{"promptTokenCount":1}}"#
        ));
        assert!(!has_usage_object(br#"{"text":"the usage of words"}"#));
    }
}
