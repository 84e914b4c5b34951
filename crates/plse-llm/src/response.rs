//! A chat completion read from the OpenAI chat-completions JSON, reasoning split off.
use serde::{Deserialize, Serialize};

use crate::LlmError;
use crate::error::snippet;

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    Stop,
    /// `max_tokens` ran out: the answer is cut.
    Length,
    /// The server's content filter removed the answer.
    ContentFilter,
    /// The model asked for tools.
    ToolCalls,
    /// Anything else, as the server wrote it (empty when it wrote none).
    Other(String),
}

impl FinishReason {
    fn from_wire(reason: Option<&str>) -> Self {
        match reason {
            Some("stop") => FinishReason::Stop,
            Some("length") => FinishReason::Length,
            Some("content_filter") => FinishReason::ContentFilter,
            Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
            other => FinishReason::Other(other.unwrap_or_default().to_owned()),
        }
    }
}

/// Token counts as the server reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens in the answer (reasoning included, where the server counts it).
    pub completion_tokens: u64,
    /// Their sum, as reported.
    pub total_tokens: u64,
}

/// The first choice of a chat completion.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatResponse {
    /// The answer, without any leading `<think>` block.
    pub content: String,
    /// The reasoning trace, from `message.reasoning_content` (or `message.reasoning`) or from a
    /// leading `<think>…</think>` block of the content.
    pub reasoning: Option<String>,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Token counts, when the server sent them.
    pub usage: Option<Usage>,
    /// The model that answered, as the server names it (may be empty).
    pub model: String,
}

#[derive(Deserialize)]
struct WireCompletion {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
}

const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";

impl ChatResponse {
    /// Reads a chat-completions body. Invalid JSON, no `choices` or an empty list is
    /// [`LlmError::MalformedResponse`] with the start of the body.
    pub fn from_json(body: &str) -> Result<Self, LlmError> {
        Self::parse(body).map_err(|reason| LlmError::MalformedResponse { reason, snippet: snippet(body) })
    }

    /// Whether `max_tokens` cut the answer.
    pub fn is_truncated(&self) -> bool {
        self.finish_reason == FinishReason::Length
    }

    /// The parse, with the reason of a failure; callers build the error (and scrub the body).
    pub(crate) fn parse(body: &str) -> Result<Self, String> {
        let wire: WireCompletion = serde_json::from_str(body).map_err(|e| e.to_string())?;
        let usage = wire.usage;
        let model = wire.model.unwrap_or_default();
        let choice = wire.choices.into_iter().next().ok_or("`choices` is empty")?;
        let (content, reasoning) = split_reasoning(choice.message);
        Ok(ChatResponse { content, reasoning, finish_reason: FinishReason::from_wire(choice.finish_reason.as_deref()), usage, model })
    }
}

/// The content and the reasoning: the server's reasoning field when it is non-empty, else a
/// leading `<think>` block of the content (unclosed when the budget ran out while thinking).
fn split_reasoning(message: WireMessage) -> (String, Option<String>) {
    let content = message.content.unwrap_or_default();
    let field = message.reasoning_content.or(message.reasoning).filter(|r| !r.trim().is_empty());
    if field.is_some() {
        return (content, field);
    }
    let Some(after_open) = content.trim_start().strip_prefix(THINK_OPEN) else {
        return (content, None);
    };
    match after_open.split_once(THINK_CLOSE) {
        Some((thought, rest)) => (rest.trim_start().to_owned(), Some(thought.trim().to_owned())),
        None => (String::new(), Some(after_open.trim().to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(message: &str, finish: &str) -> String {
        format!(
            r#"{{"id":"x","object":"chat.completion","model":"m1","choices":[{{"index":0,"message":{message},"finish_reason":{finish}}}],"usage":{{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}}}"#
        )
    }

    #[test]
    fn plain_answer() {
        let r = ChatResponse::from_json(&body(r#"{"role":"assistant","content":"hello"}"#, r#""stop""#)).unwrap();
        assert_eq!(r.content, "hello");
        assert_eq!(r.reasoning, None);
        assert_eq!(r.finish_reason, FinishReason::Stop);
        assert_eq!(r.usage, Some(Usage { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 }));
        assert_eq!(r.model, "m1");
        assert!(!r.is_truncated());
    }

    #[test]
    fn reasoning_content_field() {
        let msg = r#"{"role":"assistant","content":"42","reasoning_content":"6 times 7"}"#;
        let r = ChatResponse::from_json(&body(msg, r#""stop""#)).unwrap();
        assert_eq!((r.content.as_str(), r.reasoning.as_deref()), ("42", Some("6 times 7")));
        let msg = r#"{"role":"assistant","content":"42","reasoning":"six sevens"}"#;
        let r = ChatResponse::from_json(&body(msg, r#""stop""#)).unwrap();
        assert_eq!(r.reasoning.as_deref(), Some("six sevens"));
    }

    #[test]
    fn leading_think_block_is_stripped() {
        let msg = r#"{"role":"assistant","content":"\n<think>\nLet me add.\n</think>\n\nThe sum is 3."}"#;
        let r = ChatResponse::from_json(&body(msg, r#""stop""#)).unwrap();
        assert_eq!(r.content, "The sum is 3.");
        assert_eq!(r.reasoning.as_deref(), Some("Let me add."));
    }

    #[test]
    fn think_elsewhere_is_content() {
        let msg = r#"{"role":"assistant","content":"Use <think> tags like <think>x</think>."}"#;
        let r = ChatResponse::from_json(&body(msg, r#""stop""#)).unwrap();
        assert_eq!(r.content, "Use <think> tags like <think>x</think>.");
        assert_eq!(r.reasoning, None);
    }

    #[test]
    fn unclosed_think_when_cut() {
        let msg = r#"{"role":"assistant","content":"<think>still going"}"#;
        let r = ChatResponse::from_json(&body(msg, r#""length""#)).unwrap();
        assert_eq!(r.content, "");
        assert_eq!(r.reasoning.as_deref(), Some("still going"));
        assert!(r.is_truncated());
    }

    #[test]
    fn finish_reasons() {
        let cases = [
            (r#""length""#, FinishReason::Length),
            (r#""content_filter""#, FinishReason::ContentFilter),
            (r#""tool_calls""#, FinishReason::ToolCalls),
            (r#""eos""#, FinishReason::Other("eos".to_owned())),
            ("null", FinishReason::Other(String::new())),
        ];
        for (wire, expected) in cases {
            let r = ChatResponse::from_json(&body(r#"{"role":"assistant","content":null}"#, wire)).unwrap();
            assert_eq!(r.finish_reason, expected, "{wire}");
            assert_eq!(r.content, "");
        }
    }

    #[test]
    fn malformed_bodies_are_typed_errors_with_a_snippet() {
        for bad in ["<html>502 Bad Gateway</html>", r#"{"choices":[]}"#, r#"{"error":{"message":"overloaded"}}"#, r#"{"choices":[{}]}"#] {
            match ChatResponse::from_json(bad) {
                Err(LlmError::MalformedResponse { snippet, .. }) => assert_eq!(snippet, bad),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let huge = format!(r#"{{"choices": {}"#, "x".repeat(10_000));
        let Err(LlmError::MalformedResponse { snippet, .. }) = ChatResponse::from_json(&huge) else { panic!() };
        assert!(snippet.len() < 300 && snippet.ends_with('…'));
    }
}
