//! Helpers the providers' unit tests share: fake SSE events, replaying a recorded body
//! through the real SSE adapter at any chunking, and reading a reply back as its text,
//! usage and outcome. One copy here, so every provider's tests read replies the same
//! way (the integration tests have their own in `tests/common`, a separate crate).

use std::time::Duration;

use futures_util::{StreamExt, stream};

use super::StreamEvent;
use super::sse::{self, Event, EventReader};
use crate::conversation::Usage;

/// A request to `model` of one user turn, "hi", with every option unset and no
/// retries: the base the request-body tests lay their options over.
pub(crate) fn hi_request(model: &str) -> super::ChatRequest {
    super::ChatRequest {
        model: model.to_owned(),
        system_prompt: None,
        messages: vec![super::ChatMessage {
            role: crate::conversation::Role::User,
            content: "hi".into(),
        }],
        temperature: None,
        max_tokens: None,
        idle_timeout: Duration::from_secs(1),
        max_retries: 0,
        reasoning_effort: None,
        thinking_budget: None,
    }
}

/// An SSE event named `name` carrying `data`, as [`sse::events`] hands it over.
pub(crate) fn event(name: &str, data: &str) -> Event {
    Event {
        event: name.to_owned(),
        data: data.to_owned(),
    }
}

/// Feeds `body` split into `size`-byte chunks through the real SSE adapter and `reader`.
pub(crate) async fn replay<R: EventReader>(
    body: &[u8],
    size: usize,
    reader: R,
) -> Vec<StreamEvent> {
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(size)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let events = sse::events(stream::iter(chunks), Duration::from_secs(5));
    sse::drive(events, reader).collect().await
}

/// Joins the deltas and checks that exactly one terminal event comes, and comes last.
pub(crate) fn summary(events: &[StreamEvent]) -> (String, Option<Usage>, StreamEvent) {
    let usage = events.iter().rev().find_map(|e| match e {
        StreamEvent::Usage(u) => Some(*u),
        _ => None,
    });
    assert_eq!(
        events.iter().filter(|e| e.is_terminal()).count(),
        1,
        "{events:?}"
    );
    let last = events.last().cloned().expect("a terminal event");
    assert!(last.is_terminal(), "{events:?}");
    (text(events), usage, last)
}

/// The text of `events`: their deltas joined.
pub(crate) fn text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Delta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) fn delta(text: &str) -> StreamEvent {
    StreamEvent::Delta(text.to_owned())
}

pub(crate) fn usage(input_tokens: u64, output_tokens: u64) -> StreamEvent {
    StreamEvent::Usage(Usage::new(input_tokens, output_tokens))
}
