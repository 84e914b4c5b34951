//! A chat request, its canonical JSON (what is sent, what is hashed) and its cache key.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::LlmError;

/// Who speaks a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The user's turn.
    User,
    /// The model's turn (few-shot examples, earlier answers).
    Assistant,
}

/// One chat message. Fields are declared in alphabetical order: the canonical JSON relies on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The text.
    pub content: String,
    /// The speaker.
    pub role: Role,
}

impl Message {
    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message { content: content.into(), role }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
}

/// An OpenAI-style chat-completions request. The API key is not part of it.
///
/// Fields are declared in alphabetical order so that serde writes the keys sorted; with
/// serde_json's compact writer that makes [`ChatRequest::canonical_json`] one byte string per
/// request. `seed` is the server's sampling seed (sent when set); the per-sample seed of
/// [`ChatRequest::cache_key`] is PLSE's own and is not sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The most tokens the answer may have.
    pub max_tokens: u32,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// The model name the server knows.
    pub model: String,
    /// Structured output, sent as given (omitted when `None`): OpenAI's
    /// `{"type": "json_schema", "json_schema": {...}}`, or the `{"type": "json_object",
    /// "schema": {...}}` that llama.cpp, llama-cpp-python and vLLM also accept. Servers that
    /// constrain decoding to the schema make even a small base model answer in valid JSON.
    /// Its keys are written in the order the caller built them: build it deterministically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<serde_json::Value>,
    /// The server's sampling seed, when the run pins one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Stop sequences (omitted from the JSON when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus sampling mass.
    pub top_p: f64,
}

/// Bumped whenever the key derivation changes, so old cache entries miss instead of lying.
const KEY_VERSION: &str = "plse-llm/cache-key/v1";

impl ChatRequest {
    /// A request with OpenAI's defaults: temperature 1, top_p 1, 1024 tokens, no seed, no stop.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            max_tokens: 1024,
            messages,
            model: model.into(),
            response_format: None,
            seed: None,
            stop: Vec::new(),
            temperature: 1.0,
            top_p: 1.0,
        }
    }

    /// The request as compact JSON with sorted keys: the body that is sent, and what the cache
    /// key hashes.
    pub fn canonical_json(&self) -> String {
        // Strings, integers, floats and vectors of them: serde_json cannot fail on these.
        serde_json::to_string(self).expect("a ChatRequest always serialises")
    }

    /// Hex SHA-256 of a version tag, the canonical JSON and the per-sample seed.
    pub fn cache_key(&self, sample_seed: u64) -> String {
        let mut hasher = Sha256::new();
        hasher.update(KEY_VERSION.as_bytes());
        hasher.update(b"\n");
        hasher.update(self.canonical_json().as_bytes());
        hasher.update(b"\n");
        hasher.update(sample_seed.to_string().as_bytes());
        hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Refuses what no server should be sent: no model, no messages, no token budget, or a
    /// temperature or top_p that is not a finite number (serde_json would write `null`).
    pub fn validate(&self) -> Result<(), LlmError> {
        let reason = if self.model.trim().is_empty() {
            "the model name is empty"
        } else if self.messages.is_empty() {
            "there are no messages"
        } else if self.max_tokens == 0 {
            "max_tokens is 0"
        } else if !self.temperature.is_finite() || !self.top_p.is_finite() {
            "temperature and top_p must be finite numbers"
        } else {
            return Ok(());
        };
        Err(LlmError::InvalidRequest { reason: reason.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ChatRequest {
        let mut req = ChatRequest::new("qwen3-8b", vec![Message::system("Be brief."), Message::user("Say \"hi\"\n")]);
        req.temperature = 0.7;
        req.max_tokens = 256;
        req
    }

    #[test]
    fn canonical_json_is_compact_and_sorted() {
        let json = request().canonical_json();
        assert_eq!(
            json,
            r#"{"max_tokens":256,"messages":[{"content":"Be brief.","role":"system"},{"content":"Say \"hi\"\n","role":"user"}],"model":"qwen3-8b","temperature":0.7,"top_p":1.0}"#
        );
        let mut with_options = request();
        with_options.seed = Some(42);
        with_options.stop = vec!["</s>".to_owned()];
        assert!(with_options.canonical_json().contains(r#""model":"qwen3-8b","seed":42,"stop":["</s>"],"temperature""#));
        // A response format sits between the model and the seed, and changes the cache key.
        let mut schema = with_options.clone();
        schema.response_format = Some(serde_json::json!({ "type": "json_object", "schema": { "type": "object" } }));
        assert!(
            schema
                .canonical_json()
                .contains(r#""model":"qwen3-8b","response_format":{"type":"json_object","schema":{"type":"object"}},"seed":42"#)
        );
        assert_ne!(schema.cache_key(1), with_options.cache_key(1));
    }

    #[test]
    fn canonical_json_round_trips() {
        let mut req = request();
        req.seed = Some(7);
        let back: ChatRequest = serde_json::from_str(&req.canonical_json()).unwrap();
        assert_eq!(back, req);
        assert_eq!(back.canonical_json(), req.canonical_json());
    }

    #[test]
    fn cache_key_depends_on_request_and_sample_seed() {
        let key = request().cache_key(1);
        assert_eq!(key.len(), 64);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(key, request().cache_key(1));
        assert_ne!(key, request().cache_key(2));
        let mut warmer = request();
        warmer.temperature = 0.8;
        assert_ne!(key, warmer.cache_key(1));
        let mut other_text = request();
        other_text.messages[1].content.push(' ');
        assert_ne!(key, other_text.cache_key(1));
    }

    #[test]
    fn cache_key_is_pinned() {
        // A change here orphans every cache: bump KEY_VERSION rather than edit this value.
        // It is sha256("plse-llm/cache-key/v1\n" + canonical JSON + "\n9"), computed apart.
        let req = ChatRequest::new("m", vec![Message::user("hi")]);
        assert_eq!(
            req.canonical_json(),
            r#"{"max_tokens":1024,"messages":[{"content":"hi","role":"user"}],"model":"m","temperature":1.0,"top_p":1.0}"#
        );
        assert_eq!(req.cache_key(9), "ecd2c01f9b93adacc1b5c41e85bebf930e6daee4e50271c8744a6f1937ecc95d");
    }

    #[test]
    fn validate_refuses_unsendable_requests() {
        assert!(request().validate().is_ok());
        let cases: [fn(&mut ChatRequest); 4] =
            [|r| r.model.clear(), |r| r.messages.clear(), |r| r.max_tokens = 0, |r| r.temperature = f64::NAN];
        for break_it in cases {
            let mut req = request();
            break_it(&mut req);
            assert!(matches!(req.validate(), Err(LlmError::InvalidRequest { .. })), "{req:?}");
        }
    }
}
