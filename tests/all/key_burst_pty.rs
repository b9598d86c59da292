//! A burst of keys larger than the terminal's input buffer (a paste from a terminal
//! without bracketed paste, keys typed while the machine was busy) is read whole and at
//! once by the real binary in a pseudo-terminal (issue 10). crossterm's default event
//! source read one 1 KiB buffer per readiness notice from an edge-triggered epoll, so
//! the rest of a burst waited until the next key arrived: the app stopped reading keys
//! at 2 KiB, Ctrl+Q included. The `use-dev-tty` source polls level-triggered, and the
//! runtime takes the rest of a burst with a short poll (`runtime::waiting_event`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use common::MockServer;
use common::pty::{CTRL_Q, ENTER, Sandbox, streamed_reply};
use pretty_assertions::assert_eq;

const CHAT: &str = "/v1/chat/completions";

#[test]
fn a_burst_of_keys_larger_than_the_input_buffer_is_read_whole_and_quit_still_works() {
    let server = MockServer::start_in_background(vec![(CHAT, streamed_reply(&["Got it."]))]);
    let sandbox = Sandbox::with_mock(&server);
    let mut app = sandbox.spawn(&[]);
    app.wait_for_text("Type a message");

    let burst = format!("{}END", "x".repeat(5000));
    let writer = app.send_in_background(burst.clone());
    // The last keys of the burst reach the input, with nothing typed after them.
    app.wait_for_text("xEND");
    writer.join().unwrap();
    app.send(ENTER);
    app.wait_for_text("Got it.");

    let bodies = server.json_bodies(CHAT);
    assert_eq!(bodies.len(), 1);
    let messages = bodies[0]["messages"].as_array().unwrap();
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "user");
    assert_eq!(last["content"].as_str().unwrap(), burst);

    // And right behind another burst, the quit key is read.
    let _writer = app.send_in_background(format!("{}{CTRL_Q}", "y".repeat(5000)));
    assert!(app.wait_exit().success());
}
