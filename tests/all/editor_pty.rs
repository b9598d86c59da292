//! Ctrl+X hands the draft to `$EDITOR` (the real binary in a pseudo-terminal). What the
//! editor leaves becomes the draft; a result the input cannot hold (over its 1 MiB, or
//! not UTF-8) is refused with a message, read no further than the limit, and the file
//! is kept where the message says, so the user's editing is never lost (issue 10). An
//! empty `$VISUAL` falls through to `$EDITOR`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::MockServer;
use common::pty::{Sandbox, Tinychat};
use pretty_assertions::assert_eq;

const CTRL_X: &str = "\x18";

/// A sandbox whose `$EDITOR` is a script running `body` on the file (`$1`), with its
/// own temporary folder.
fn with_editor(body: &str) -> (MockServer, Sandbox, Tinychat, PathBuf) {
    let server = MockServer::start_in_background(vec![]);
    let sandbox = Sandbox::with_mock(&server);
    let script = sandbox.path("work/editor.sh");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = sandbox.path("work/tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let app = sandbox.spawn_with_env(
        &[],
        &[
            ("EDITOR", script.to_str().unwrap()),
            ("VISUAL", ""),
            ("TMPDIR", tmp.to_str().unwrap()),
        ],
    );
    app.wait_for_text("Type a message");
    (server, sandbox, app, tmp)
}

fn drafts_in(dir: &Path) -> Vec<(PathBuf, u64)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path(), e.metadata().unwrap().len())
        })
        .filter(|(p, _)| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tinychat-draft-")
        })
        .collect()
}

#[test]
fn the_edited_text_becomes_the_draft_and_no_file_is_left() {
    let (_server, _sandbox, mut app, tmp) = with_editor("printf 'edited in the editor' > \"$1\"");
    app.send("hello");
    app.wait_for_text("hello");
    app.send(CTRL_X);
    app.wait_for_text("edited in the editor");
    assert_eq!(drafts_in(&tmp), []);
    app.quit();
}

#[test]
fn an_edited_draft_too_large_for_the_input_is_refused_and_kept() {
    let (_server, _sandbox, mut app, tmp) =
        with_editor("head -c 2000000 /dev/zero | tr '\\0' x > \"$1\"");
    app.send("hello");
    app.wait_for_text("hello");
    app.send(CTRL_X);
    app.wait_for_text("not taken");
    let screen = app.screen_text();
    assert!(screen.contains("larger than 1 MiB"), "{screen}");
    // The draft is as it was, and the editor's text is on disk, whole.
    assert!(screen.contains("hello"), "{screen}");
    let kept = drafts_in(&tmp);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].1, 2_000_000);
    app.quit();
}
