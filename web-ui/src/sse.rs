//! Reading an OpenAI-style streamed chat answer (server-sent events) as it arrives.
//!
//! Chunks from the network split lines (and UTF-8 characters) anywhere; [`SseDecoder`] keeps
//! the unfinished tail and yields whole events. [`chat_delta`] pulls the text out of one event.

use serde_json::Value;

/// One event's meaning for the Try-it page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// More answer text.
    Text(String),
    /// The provider reported an error inside the stream.
    Error(String),
    /// `[DONE]`: the answer is complete.
    Done,
}

/// Splits a byte stream into SSE events and returns each event's `data`.
#[derive(Debug, Default)]
pub struct SseDecoder {
    pending: Vec<u8>,
    data: Vec<String>,
}

impl SseDecoder {
    /// Feeds `bytes`; returns the data of every event they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            // A line is complete, so its UTF-8 is too ('\n' never occurs inside a character).
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(self.data.join("\n"));
                    self.data.clear();
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data
                    .push(value.strip_prefix(' ').unwrap_or(value).to_owned());
            }
            // `event:`, `id:`, `retry:` and `:` comments carry nothing for us.
        }
        events
    }
}

/// What one event's `data` means in an OpenAI chat completion stream.
#[must_use]
pub fn chat_event(data: &str) -> Option<ChatEvent> {
    if data.trim() == "[DONE]" {
        return Some(ChatEvent::Done);
    }
    let value: Value = serde_json::from_str(data).ok()?;
    if let Some(error) = value.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the provider reported an error");
        return Some(ChatEvent::Error(message.to_owned()));
    }
    let text = value
        .get("choices")?
        .as_array()?
        .iter()
        .filter_map(|c| c.pointer("/delta/content").and_then(Value::as_str))
        .collect::<String>();
    (!text.is_empty()).then_some(ChatEvent::Text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = ": keep-alive\n\n\
        event: message\ndata: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hél\"}}]}\n\n\
        data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\r\n\r\n\
        data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
        data: [DONE]\n\n";

    fn decode_in_pieces(size: usize) -> Vec<ChatEvent> {
        let mut decoder = SseDecoder::default();
        STREAM
            .as_bytes()
            .chunks(size)
            .flat_map(|piece| decoder.push(piece))
            .filter_map(|data| chat_event(&data))
            .collect()
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let expected = vec![
            ChatEvent::Text("Hél".into()),
            ChatEvent::Text("lo".into()),
            ChatEvent::Done,
        ];
        // Size 1 splits the two-byte 'é' and every line ending.
        for size in [1, 2, 3, 7, 64, STREAM.len()] {
            assert_eq!(decode_in_pieces(size), expected, "pieces of {size}");
        }
    }

    #[test]
    fn an_unfinished_event_waits_for_its_blank_line() {
        let mut decoder = SseDecoder::default();
        assert!(decoder.push(b"data: [DO").is_empty());
        assert!(decoder.push(b"NE]\n").is_empty());
        assert_eq!(decoder.push(b"\n"), vec!["[DONE]".to_owned()]);
    }

    #[test]
    fn multi_line_data_is_joined() {
        let mut decoder = SseDecoder::default();
        assert_eq!(
            decoder.push(b"data: a\ndata:b\n\n"),
            vec!["a\nb".to_owned()]
        );
    }

    #[test]
    fn errors_in_the_stream_are_reported() {
        assert_eq!(
            chat_event(r#"{"error":{"message":"overloaded","type":"server_error"}}"#),
            Some(ChatEvent::Error("overloaded".into()))
        );
        assert_eq!(chat_event("not json"), None);
        assert_eq!(chat_event(r#"{"choices":[]}"#), None);
    }
}
