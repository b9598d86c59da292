//! Saving safety end to end (issue 10): the real binary in pseudo-terminals against a
//! loopback mock provider. Two tinychat processes on one data folder and one
//! conversation keep each other's messages; an unwritable data folder never loses a
//! conversation without a question; `--open` of an old export never overwrites the
//! newer saved conversation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::path::PathBuf;

use common::pty::{CTRL_N, CTRL_Q, CTRL_S, CTRL_U, ENTER, ESC, Sandbox, streamed_reply};
use common::{MockResponse, MockServer};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const CHAT: &str = "/v1/chat/completions";
const ID: &str = "20261129-140512-3fa2";

fn mock_with(replies: Vec<MockResponse>) -> (MockServer, Sandbox) {
    let server = MockServer::start_in_background(replies.into_iter().map(|r| (CHAT, r)).collect());
    let sandbox = Sandbox::with_mock(&server);
    (server, sandbox)
}

/// The saved conversation "colours" / "Red." with the extra `messages`, as text.
fn colours(more: &[(&str, &str)]) -> String {
    let mut messages = vec![
        json!({"role": "user", "content": "colours", "created_at": "2026-11-29T14:05:12+01:00"}),
        json!({"role": "assistant", "content": "Red.", "model": "mock/m1",
               "created_at": "2026-11-29T14:05:13+01:00", "finish": "stop"}),
    ];
    for (role, content) in more {
        let mut m = json!({"role": role, "content": content,
                            "created_at": "2026-11-29T14:06:00+01:00"});
        if *role == "assistant" {
            m["model"] = json!("mock/m1");
            m["finish"] = json!("stop");
        }
        messages.push(m);
    }
    json!({
        "version": 1, "id": ID, "title": "colours",
        "created_at": "2026-11-29T14:05:12+01:00", "updated_at": "2026-11-29T14:05:13+01:00",
        "system_prompt": null, "messages": messages
    })
    .to_string()
}

fn write_saved(sandbox: &Sandbox, text: &str) -> PathBuf {
    let dir = sandbox.conversations_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{ID}.json"));
    std::fs::write(&path, text).unwrap();
    path
}

fn contents(conversation: &Value) -> Vec<&str> {
    conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect()
}

/// Every saved conversation: (id, contents).
fn saved(sandbox: &Sandbox) -> Vec<(String, Vec<String>)> {
    sandbox
        .saved_conversations()
        .iter()
        .map(|(_, c)| {
            (
                c["id"].as_str().unwrap().to_owned(),
                contents(c).into_iter().map(str::to_owned).collect(),
            )
        })
        .collect()
}

#[test]
fn two_windows_on_one_conversation_keep_both_windows_messages() {
    let (_server, sandbox) = mock_with(vec![
        streamed_reply(&["From", " A."]),
        streamed_reply(&["From", " B."]),
        streamed_reply(&["Again", " B."]),
    ]);
    write_saved(&sandbox, &colours(&[]));
    let mut a = sandbox.spawn(&["--open", ID]);
    let mut b = sandbox.spawn(&["--open", ID]);
    a.wait_for_text("Red.");
    b.wait_for_text("Red.");

    a.say_and_wait_for_reply("question from A", "From A.");
    b.say_and_wait_for_reply("question from B", "From B.");
    b.wait_until("the notice that B continues as a copy", |t| {
        t.status_line().contains("continuing as copy 20")
    });
    // B goes on in its copy; A's file is not touched again.
    b.say_and_wait_for_reply("more from B", "Again B.");
    a.quit();
    b.quit();

    let all = saved(&sandbox);
    assert_eq!(all.len(), 2, "{all:?}");
    let (ours, copy): (Vec<_>, Vec<_>) = all.into_iter().partition(|(id, _)| id == ID);
    assert_eq!(
        ours[0].1,
        ["colours", "Red.", "question from A", "From A."],
        "window A's messages are in the conversation's file"
    );
    assert_eq!(
        copy[0].1,
        [
            "colours",
            "Red.",
            "question from B",
            "From B.",
            "more from B",
            "Again B."
        ],
        "window B's messages are in its copy"
    );
}

#[test]
fn with_an_unwritable_data_folder_nothing_is_discarded_without_a_question() {
    let (_server, mut sandbox) = mock_with(vec![streamed_reply(&["Hi", " there."])]);
    // Root ignores permissions; a folder under a regular file cannot be created by
    // anyone.
    let blocker = sandbox.path("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    sandbox.data_home = blocker.join("data");
    let mut app = sandbox.spawn(&[]);
    app.say_and_wait_for_reply("hello", "Hi there.");
    app.wait_until("NOT SAVED on the status line", |t| {
        t.status_line()
            .contains("NOT SAVED (Ctrl+S saves elsewhere)")
    });

    // Ctrl+N asks; Esc keeps the conversation.
    app.send(CTRL_N);
    app.wait_for_text("y: discard it and start a new one anyway");
    app.send(ESC);
    app.wait_until("the question gone, the conversation there", |t| {
        !t.screen_text().contains("Not saved ") && t.screen_text().contains("Hi there.")
    });
    assert!(app.status_line().contains("NOT SAVED"), "still not saved");

    // Quit asks too; `s` saves the conversation elsewhere.
    app.send(CTRL_Q);
    app.wait_for_text("y: discard it and quit anyway");
    assert!(!app.has_exited());
    app.send("s");
    app.wait_for_text("Save as · Enter write · Esc cancel");
    let out = sandbox.path("work").join("kept.txt");
    app.send(CTRL_U);
    app.send(out.to_str().unwrap());
    app.send(ENTER);
    app.wait_until("saved to kept.txt, and no more NOT SAVED", |t| {
        let status = t.status_line();
        status.contains("saved to ") && !status.contains("NOT SAVED")
    });
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "You: hello\n\nLLM: Hi there.\n"
    );
    // Now nothing would be lost: quit quits.
    app.quit();
}

#[test]
fn opening_an_old_export_continues_it_as_a_new_conversation_and_keeps_the_saved_one() {
    let (_server, sandbox) = mock_with(vec![streamed_reply(&["Green."])]);
    let newer = colours(&[("user", "newer"), ("assistant", "Blue.")]);
    let saved_path = write_saved(&sandbox, &newer);
    let export = sandbox.path("work").join("old-export.json");
    std::fs::write(&export, colours(&[])).unwrap();

    let mut app = sandbox.spawn(&["--open", export.to_str().unwrap()]);
    app.wait_for_text("Red.");
    app.wait_until("the notice that it continues as a new conversation", |t| {
        t.status_line()
            .contains("differs from the saved conversation")
    });
    app.say_and_wait_for_reply("after the export", "Green.");
    app.quit();

    assert_eq!(
        std::fs::read_to_string(&saved_path).unwrap(),
        newer,
        "untouched"
    );
    let all = saved(&sandbox);
    assert_eq!(all.len(), 2, "{all:?}");
    let copy = all.iter().find(|(id, _)| id != ID).unwrap();
    assert_eq!(copy.1, ["colours", "Red.", "after the export", "Green."]);
}

#[test]
fn ctrl_s_onto_an_existing_file_asks_and_keeps_it_unless_told_yes() {
    let (_server, sandbox) = mock_with(vec![streamed_reply(&["Hi."])]);
    let mut app = sandbox.spawn(&[]);
    app.say_and_wait_for_reply("hello", "Hi.");
    let out = sandbox.path("work").join("notes.txt");
    std::fs::write(&out, "my own notes\n").unwrap();
    let save_as = |app: &common::pty::Tinychat| {
        app.send(CTRL_S);
        app.wait_for_text("Save as · Enter write · Esc cancel");
        app.send(CTRL_U);
        app.send(out.to_str().unwrap());
        app.send(ENTER);
        app.wait_for_text("already exists. Replace it? (y/n)");
    };
    save_as(&app);
    app.send("n");
    app.wait_for_text("Save as · Enter write · Esc cancel");
    app.send(ESC);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "my own notes\n");
    save_as(&app);
    app.send("y");
    app.wait_until("saved to notes.txt", |t| {
        t.status_line().contains("saved to ")
    });
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "You: hello\n\nLLM: Hi.\n"
    );
    app.quit();
}
