//! Issue 12 end to end: the real binary in a pseudo-terminal watches an
//! OpenAI-compatible server think (`delta.reasoning_content`, as DeepSeek, vLLM and
//! llama.cpp send it), then answer; the thinking folds, `t` opens it, the header and
//! status line show what the reply used, and the file keeps the thinking.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::Duration;

use common::pty::{ENTER, Sandbox};
use common::{MockResponse, MockServer, openai_delta, openai_finish};
use serde_json::json;

const CHAT: &str = "/v1/chat/completions";

fn thinking_delta(text: &str) -> String {
    let chunk = json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_767_225_600,
        "model": "m1",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": null, "reasoning_content": text}, "finish_reason": null}],
    });
    format!("data: {chunk}\n\n")
}

fn usage_chunk() -> String {
    let chunk = json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_767_225_600,
        "model": "m1", "choices": [],
        "usage": {"prompt_tokens": 312, "completion_tokens": 1024, "total_tokens": 1336,
                  "completion_tokens_details": {"reasoning_tokens": 1203}},
    });
    format!("data: {chunk}\n\n")
}

#[test]
fn the_user_watches_the_model_think_then_reads_a_clean_answer() {
    // Thinking for about 1.5 s, then the answer; the last thinking chunk holds until
    // the screen has been read.
    let mut chunks: Vec<String> = ["Let me", " check:", " 1001 = 7 × 143", " = 7 × 11 × 13."]
        .iter()
        .map(|t| thinking_delta(t))
        .collect();
    chunks.push(openai_delta("No: 1,001 = 7 × 11 × 13."));
    chunks.push(
        openai_finish("stop").replace("data: [DONE]", &format!("{}data: [DONE]", usage_chunk())),
    );
    let chunks: Vec<&[u8]> = chunks.iter().map(String::as_bytes).collect();
    let reply = MockResponse::sse("")
        .with_chunks(&chunks)
        .with_pause(Duration::from_millis(400));
    let server = MockServer::start_in_background(vec![(CHAT, reply)]);
    let sandbox = Sandbox::with_mock_config(
        &server,
        "context_window = 128000\nprice_in = 3.0\nprice_out = 15.0\n",
    );
    let app = sandbox.spawn(&[]);
    app.wait_for_text("Type a message");
    app.send("Is 1,001 prime?");
    app.send(ENTER);

    app.wait_until("the thinking streaming", |t| {
        let screen = t.screen_text();
        screen.contains("Thinking… ") && screen.contains("│ Let me check:")
    });
    app.wait_until("thinking on the status line", |t| {
        t.status_line().contains("· thinking ")
    });
    app.wait_until("the answer", |t| {
        t.screen_text().contains("No: 1,001 = 7 × 11 × 13.") && t.status_line().contains("idle")
    });
    let screen = app.screen_text();
    assert!(
        screen.contains("▸ Thought for 1 s · 1,203 tokens")
            || screen.contains("▸ Thought for 2 s · 1,203 tokens"),
        "{screen}"
    );
    assert!(!screen.contains("Let me check"), "folded:\n{screen}");
    assert!(
        screen.contains("Assistant · mock/m1 · 312 in · 1,024 out · $0.016"),
        "{screen}"
    );
    assert!(
        app.status_line()
            .contains("mock/m1 · idle · ctx 1.34k / 128k · $0.016"),
        "{}",
        app.status_line()
    );

    // `t` in the conversation opens it.
    app.send("\t");
    app.send("t");
    app.wait_until("the thinking open", |t| {
        t.screen_text()
            .contains("│ Let me check: 1001 = 7 × 143 = 7 × 11 × 13.")
    });

    // The file keeps the thinking apart from the answer; it was not sent back.
    let saved = sandbox.saved_conversations();
    let reply = &saved[0].1["messages"][1];
    assert_eq!(reply["content"], "No: 1,001 = 7 × 11 × 13.");
    assert_eq!(
        reply["reasoning"],
        "Let me check: 1001 = 7 × 143 = 7 × 11 × 13."
    );
    assert_eq!(reply["usage"]["reasoning_tokens"], 1203);
    let body = &server.json_bodies(CHAT)[0];
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "Is 1,001 prime?"}])
    );
}
