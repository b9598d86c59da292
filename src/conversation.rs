//! The conversation as data: what is saved to disk, exported, and sent to providers.
//!
//! This module owns the on-disk shape of spec §3 (`version` 1) and nothing else: no I/O,
//! no terminal types. Unknown fields are carried in `extra` maps so that a file written
//! by a newer tinychat round-trips without loss. Messages sit behind `Arc` so that the
//! snapshot handed to a background save is a copy of pointers, not of the text
//! (design §7); the live reply is mutated with `Arc::make_mut`, which copies it only
//! when a save still holds the old version.

use std::sync::Arc;

use chrono::{Local, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The file format version this build writes; files with a larger one are refused.
pub const FORMAT_VERSION: u32 = 1;

/// Title used until the first user message gives a better one.
pub const UNTITLED: &str = "New conversation";

/// Who wrote a message. The system prompt is not a message (it lives on the conversation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// How an assistant reply ended (spec §3). `None` on a message means it is still streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finish {
    /// The provider said the reply is complete.
    Stop,
    /// The provider stopped at the token limit.
    Length,
    /// The user stopped it (Esc).
    Cancelled,
    /// The provider or the connection reported an error.
    Error,
    /// The body ended before the provider's end-of-reply marker.
    Incomplete,
}

impl Finish {
    /// The word shown under a reply that did not end normally.
    pub fn label(self) -> &'static str {
        match self {
            Finish::Stop => "done",
            Finish::Length => "cut off at the token limit",
            Finish::Cancelled => "stopped",
            Finish::Error => "error",
            Finish::Incomplete => "incomplete: the connection ended before the reply did",
        }
    }
}

/// Token counts as the provider reported them (the last value seen, never a sum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache, where it reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_tokens: Option<u64>,
    /// Output tokens spent thinking, where the provider counts them apart (they are
    /// part of `output_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// What the reply cost in US dollars: the provider's own figure (OpenRouter), or
    /// the counts at the model's known prices when the reply ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl Usage {
    /// Counts with nothing else known.
    pub const fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens,
            output_tokens,
            cached_input_tokens: None,
            reasoning_tokens: None,
            cost: None,
        }
    }
}

/// A nested object of the file with the fields this build does not know kept beside
/// the ones it does, so that writing the file back loses nothing (spec §3). `known`
/// takes its fields first; `extra` gets every other field, in the order read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lossless<T> {
    #[serde(flatten)]
    pub known: T,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<T> From<T> for Lossless<T> {
    fn from(known: T) -> Self {
        Lossless {
            known,
            extra: Map::new(),
        }
    }
}

impl<T> std::ops::Deref for Lossless<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.known
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// `provider/model` that wrote an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub created_at: String,
    /// The provider's token counts, with any fields of a newer file kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Lossless<Usage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<Finish>,
    /// Why an errored or incomplete reply ended, in the provider's own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the model thought before answering, as it streamed (never sent back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// How long it thought, in milliseconds (from its first thinking to its answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_ms: Option<u64>,
    /// How many thinking chunks streamed (about one token each), kept for the folded
    /// line when the provider's usage does not count thinking tokens itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_chunks: Option<u64>,
    /// Fields this version does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
            model: None,
            created_at: now_rfc3339(),
            usage: None,
            finish: None,
            error: None,
            reasoning: None,
            reasoning_ms: None,
            reasoning_chunks: None,
            extra: Map::new(),
        }
    }

    /// An empty reply that is about to stream from `model` (`provider/model`).
    pub fn assistant_pending(model: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: String::new(),
            model: Some(model.into()),
            created_at: now_rfc3339(),
            usage: None,
            finish: None,
            error: None,
            reasoning: None,
            reasoning_ms: None,
            reasoning_chunks: None,
            extra: Map::new(),
        }
    }

    /// Thinking tokens as the folded line shows them: the provider's count, else the
    /// chunks that streamed.
    pub fn thinking_tokens(&self) -> Option<u64> {
        self.usage
            .as_ref()
            .and_then(|u| u.reasoning_tokens)
            .or(self.reasoning_chunks)
    }

    /// True while the reply is still arriving.
    pub fn is_streaming(&self) -> bool {
        self.role == Role::Assistant && self.finish.is_none()
    }
}

/// A whole conversation, exactly the JSON file of spec §3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub version: u32,
    pub id: String,
    pub title: String,
    pub created_at: String,
    pub updated_at: String,
    pub system_prompt: Option<String>,
    pub messages: Vec<Arc<Message>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Conversation {
    /// A fresh, empty conversation with a new id based on the local time.
    pub fn new(system_prompt: Option<String>) -> Self {
        let now = Local::now();
        let id = id_at(now);
        let stamp = now.to_rfc3339_opts(SecondsFormat::Secs, false);
        Conversation {
            version: FORMAT_VERSION,
            id,
            title: UNTITLED.to_owned(),
            created_at: stamp.clone(),
            updated_at: stamp,
            system_prompt,
            messages: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Marks the conversation as changed now.
    pub fn touch(&mut self) {
        self.updated_at = now_rfc3339();
    }

    /// Appends a user message and, for the first one, derives the title from it.
    pub fn push_user(&mut self, text: impl Into<String>) {
        let msg = Message::user(text);
        if self.title == UNTITLED && !self.messages.iter().any(|m| m.role == Role::User) {
            self.title = title_from(&msg.content);
        }
        self.messages.push(Arc::new(msg));
        self.touch();
    }

    /// The message that is still streaming, if the last one is.
    pub fn live_mut(&mut self) -> Option<&mut Message> {
        match self.messages.last_mut() {
            Some(m) if m.is_streaming() => Some(Arc::make_mut(m)),
            _ => None,
        }
    }

    /// The model that wrote the last assistant message (restored when reopening).
    pub fn last_model(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .and_then(|m| m.model.as_deref())
    }
}

/// A new conversation id: the local time and 16 random bits (`20261129-140512-3fa2`).
pub fn new_id() -> String {
    id_at(Local::now())
}

fn id_at(now: chrono::DateTime<Local>) -> String {
    format!("{}-{:04x}", now.format("%Y%m%d-%H%M%S"), fastrand::u16(..))
}

/// Current local time as RFC 3339 with whole seconds and the UTC offset.
pub fn now_rfc3339() -> String {
    Local::now().to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// About 50 display characters of the first line of `text`, cut at a word boundary.
pub fn title_from(text: &str) -> String {
    const MAX: usize = 50;
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return UNTITLED.to_owned();
    }
    if flat.chars().count() <= MAX {
        return flat;
    }
    let cut: String = flat.chars().take(MAX).collect();
    let at_word = match cut.rfind(' ') {
        Some(pos) if pos >= MAX / 2 => &cut[..pos],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn title_is_first_words_cut_at_a_word() {
        assert_eq!(title_from("  hello\n there  "), "hello there");
        assert_eq!(
            title_from(
                "Explain the difference between ownership and borrowing in Rust with examples"
            ),
            "Explain the difference between ownership and…"
        );
        assert_eq!(title_from("   "), UNTITLED);
    }

    #[test]
    fn first_user_message_sets_the_title_and_later_ones_do_not() {
        let mut c = Conversation::new(None);
        c.push_user("first question");
        c.push_user("second question");
        assert_eq!(c.title, "first question");
        assert_eq!(c.messages.len(), 2);
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let json = r#"{"version":1,"id":"x","title":"t","created_at":"a","updated_at":"b","system_prompt":null,"messages":[{"role":"user","content":"hi","created_at":"c","mood":"good"}],"pinned":true}"#;
        let c: Conversation = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
    }
}
