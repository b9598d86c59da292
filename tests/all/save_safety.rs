//! Nothing a file or a second tinychat does may lose a word (issue 10, storage part):
//! lossless round trips at every level of the file, bounded reads of user files,
//! `--open` of an external file next to a saved version, and two stores (as two
//! processes would) saving the same conversation.
//!
//! The storage layer is tested directly on temporary folders; the command-line paths
//! run the real binary (without a terminal) in a sandbox.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use crate::common;

use std::fs;
use std::path::Path;

use common::pty::Sandbox;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tinychat::conversation::Conversation;
use tinychat::storage::ConversationStore;
use tinychat::user_file::{CONFIG_LIMIT, CONVERSATION_LIMIT};

const ID: &str = "20261129-140512-3fa2";

/// A conversation file with unknown fields at every level tinychat reads: the file,
/// each message, and the `usage` object inside a reply (with nested values of its own).
const EVERY_LEVEL: &str = r#"{
  "version": 1,
  "id": "20261129-140512-3fa2",
  "title": "hello",
  "created_at": "2026-11-29T14:05:12+01:00",
  "updated_at": "2026-11-29T14:05:14+01:00",
  "system_prompt": null,
  "messages": [
    {
      "role": "user",
      "content": "hello",
      "created_at": "2026-11-29T14:05:12+01:00",
      "attachments": [
        {
          "name": "a.png",
          "sha256": "ab12"
        }
      ]
    },
    {
      "role": "assistant",
      "content": "Hi!",
      "model": "openai/gpt-4o-mini",
      "created_at": "2026-11-29T14:05:13+01:00",
      "usage": {
        "input_tokens": 9,
        "output_tokens": 3,
        "cache_read_tokens": 4,
        "details": {
          "reasoning_tokens": 2,
          "audio": [
            1,
            2
          ]
        },
        "billing": null
      },
      "finish": "stop",
      "reasoning": "think"
    }
  ],
  "active_path": [
    0,
    1
  ]
}
"#;

fn store_with(text: &str) -> (tempfile::TempDir, ConversationStore) {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().join("conversations"));
    fs::create_dir_all(store.dir()).unwrap();
    fs::write(store.dir().join(format!("{ID}.json")), text).unwrap();
    (tmp, store)
}

// ---------------------------------------------------------------------------------------
// Lossless files (spec §3: unknown fields are kept)
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_fields_at_every_level_survive_a_save_byte_for_byte() {
    let (_tmp, store) = store_with(EVERY_LEVEL);
    let loaded = store.load(ID).unwrap();
    assert_eq!(loaded.messages[1].usage.as_ref().unwrap().output_tokens, 3);
    store.save(&loaded).unwrap();
    let written = fs::read_to_string(store.dir().join(format!("{ID}.json"))).unwrap();
    assert_eq!(written, EVERY_LEVEL);
}

#[test]
fn a_new_usage_report_keeps_the_unknown_usage_fields_of_the_file_out_of_other_replies() {
    // The `usage` of a reply read from a file keeps its extra fields when the
    // conversation goes on and is saved with a new reply of its own.
    let (_tmp, store) = store_with(EVERY_LEVEL);
    let mut loaded = store.load(ID).unwrap();
    loaded.push_user("more");
    store.save(&loaded).unwrap();
    let written: Value =
        serde_json::from_slice(&fs::read(store.dir().join(format!("{ID}.json"))).unwrap()).unwrap();
    assert_eq!(
        written["messages"][1]["usage"],
        json!({"input_tokens": 9, "output_tokens": 3, "cache_read_tokens": 4,
               "details": {"reasoning_tokens": 2, "audio": [1, 2]}, "billing": null})
    );
    assert_eq!(written["messages"][0]["attachments"][0]["sha256"], "ab12");
    assert_eq!(written["active_path"], json!([0, 1]));
}

#[test]
fn json_export_of_a_file_with_unknown_fields_is_the_file_itself() {
    let (tmp, store) = store_with(EVERY_LEVEL);
    let loaded = store.load(ID).unwrap();
    let out = tmp.path().join("copy.json");
    tinychat::storage::export::export_to_file(&loaded, &out, None).unwrap();
    assert_eq!(fs::read_to_string(out).unwrap(), EVERY_LEVEL);
}

// ---------------------------------------------------------------------------------------
// Reading user files: regular files only, bounded
// ---------------------------------------------------------------------------------------

#[cfg(unix)]
fn make_fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn export_of_a_device_is_refused_with_the_files_name() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["export", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "cannot read /dev/zero: it is a character device, not a regular file\n"
    );
    assert!(out.stdout.is_empty());
}

#[cfg(unix)]
#[test]
fn open_and_export_of_a_named_pipe_are_refused_at_once() {
    let sandbox = Sandbox::new();
    let fifo = sandbox.path("work").join("pipe.json");
    make_fifo(&fifo);
    for args in [
        vec!["--open", fifo.to_str().unwrap()],
        vec!["export", fifo.to_str().unwrap()],
    ] {
        // `run` fails the test if tinychat blocks waiting for a writer.
        let out = sandbox.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "cannot read {}: it is a named pipe (FIFO), not a regular file\n",
                fifo.display()
            ),
            "{args:?}"
        );
    }
}

#[test]
fn a_conversation_file_over_the_limit_is_refused_naming_the_file_and_the_limit() {
    let sandbox = Sandbox::new();
    let big = sandbox.path("work").join("big.json");
    let file = fs::File::create(&big).unwrap();
    // Sparse: the size is past the limit without writing 64 MiB.
    file.set_len(CONVERSATION_LIMIT.bytes + 1).unwrap();
    let out = sandbox.run(&["export", big.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "cannot read {}: it is larger than 64 MiB, the most tinychat reads from a conversation file\n",
            big.display()
        )
    );
}

#[test]
fn a_config_that_is_a_folder_or_too_large_is_one_line_naming_it() {
    let sandbox = Sandbox::new();
    let config = sandbox.config_path();
    fs::remove_file(&config).unwrap();
    fs::create_dir(&config).unwrap();
    let out = sandbox.run(&["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{}: cannot read the config file: it is a folder, not a regular file\n",
            config.display()
        )
    );
    fs::remove_dir(&config).unwrap();
    fs::File::create(&config)
        .unwrap()
        .set_len(CONFIG_LIMIT.bytes + 1)
        .unwrap();
    let out = sandbox.run(&["list"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{}: cannot read the config file: it is larger than 1 MiB, the most tinychat reads from the config file\n",
            config.display()
        )
    );
}

#[test]
fn a_saved_conversation_over_the_limit_is_listed_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().to_path_buf());
    fs::File::create(tmp.path().join("big.json"))
        .unwrap()
        .set_len(CONVERSATION_LIMIT.bytes + 1)
        .unwrap();
    let list = store.list();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].problem.as_deref(),
        Some("it is larger than 64 MiB, the most tinychat reads from a conversation file")
    );
}

// ---------------------------------------------------------------------------------------
// Two writers of one conversation (two windows, an editor): nobody's words are dropped
// ---------------------------------------------------------------------------------------

fn conversation_with(id: &str, texts: &[&str]) -> Conversation {
    let mut c = Conversation::new(None);
    id.clone_into(&mut c.id);
    for t in texts {
        c.push_user(*t);
    }
    c
}

fn contents(store: &ConversationStore, id: &str) -> Vec<String> {
    store
        .load(id)
        .unwrap()
        .messages
        .iter()
        .map(|m| m.content.clone())
        .collect()
}

fn json_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn two_stores_saving_one_conversation_keep_both_ones_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conversations");
    // Two stores on one folder, as two tinychat processes have.
    let (a, b) = (
        ConversationStore::new(dir.clone()),
        ConversationStore::new(dir.clone()),
    );
    let first = conversation_with(ID, &["hello"]);
    let saved = a.save(&first).unwrap().unwrap();
    assert_eq!((saved.id.as_str(), saved.forked_from), (ID, None));

    let mut in_a = a.open(ID).unwrap().conversation;
    let mut in_b = b.open(ID).unwrap().conversation;
    in_a.push_user("from A");
    in_b.push_user("from B");

    // A saves first: the file is the version it read, so it is replaced.
    let saved_a = a.save(&in_a).unwrap().unwrap();
    assert_eq!((saved_a.id.as_str(), saved_a.forked_from), (ID, None));
    // B's save finds a version it never saw: A's words stay, B's go to a new id.
    let saved_b = b.save(&in_b).unwrap().unwrap();
    assert_eq!(saved_b.forked_from.as_deref(), Some(ID));
    assert_ne!(saved_b.id, ID);
    assert_eq!(contents(&a, ID), ["hello", "from A"]);
    assert_eq!(contents(&a, &saved_b.id), ["hello", "from B"]);
    assert_eq!(
        b.load(&saved_b.id).unwrap().id,
        saved_b.id,
        "the copy has its own id"
    );

    // B's next save under the old id (already queued) follows the fork.
    in_b.push_user("more from B");
    let again = b.save(&in_b).unwrap().unwrap();
    assert_eq!(
        (again.id.as_str(), again.forked_from),
        (saved_b.id.as_str(), None)
    );
    assert_eq!(
        contents(&a, &saved_b.id),
        ["hello", "from B", "more from B"]
    );
    // A goes on replacing its own file.
    in_a.push_user("more from A");
    assert_eq!(a.save(&in_a).unwrap().unwrap().forked_from, None);
    assert_eq!(contents(&a, ID), ["hello", "from A", "more from A"]);
    assert_eq!(json_files(&dir).len(), 2);
}

#[test]
fn a_file_changed_in_place_by_an_editor_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().to_path_buf());
    let mut c = conversation_with(ID, &["hello"]);
    let path = store.save(&c).unwrap().unwrap().path;
    // Same inode, new bytes (an editor saving in place).
    let edited = fs::read_to_string(&path)
        .unwrap()
        .replace("\"hello\"", "\"hello, edited by hand\"");
    fs::write(&path, &edited).unwrap();
    c.push_user("next");
    let saved = store.save(&c).unwrap().unwrap();
    assert_eq!(saved.forked_from.as_deref(), Some(ID));
    assert_eq!(fs::read_to_string(&path).unwrap(), edited);
    assert_eq!(contents(&store, &saved.id), ["hello", "next"]);
}

#[test]
fn a_new_conversation_whose_id_is_taken_is_saved_under_a_new_id() {
    let (_tmp, store) = store_with(EVERY_LEVEL);
    let saved = store
        .save(&conversation_with(ID, &["unrelated"]))
        .unwrap()
        .unwrap();
    assert_eq!(saved.forked_from.as_deref(), Some(ID));
    assert_eq!(
        fs::read_to_string(store.dir().join(format!("{ID}.json"))).unwrap(),
        EVERY_LEVEL
    );
}

#[test]
fn a_file_deleted_meanwhile_is_written_again_and_a_rename_by_the_same_store_is_no_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().to_path_buf());
    let mut c = conversation_with(ID, &["hello"]);
    let path = store.save(&c).unwrap().unwrap().path;
    store.rename(ID, "renamed").unwrap();
    c.title = "renamed".into();
    c.push_user("two");
    assert_eq!(store.save(&c).unwrap().unwrap().forked_from, None);
    fs::remove_file(&path).unwrap();
    c.push_user("three");
    let saved = store.save(&c).unwrap().unwrap();
    assert_eq!((saved.id.as_str(), saved.forked_from), (ID, None));
    assert_eq!(contents(&store, ID), ["hello", "two", "three"]);
}

// ---------------------------------------------------------------------------------------
// `--open FILE.json` next to a saved version of the same conversation
// ---------------------------------------------------------------------------------------

#[test]
fn opening_an_old_export_never_replaces_the_newer_saved_conversation() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().join("conversations"));
    let mut c = conversation_with(ID, &["hello"]);
    store.save(&c).unwrap();
    let export = tmp.path().join("export.json");
    tinychat::storage::export::export_to_file(&c, &export, None).unwrap();
    c.push_user("newer, saved after the export");
    store.save(&c).unwrap();

    // A second process (a new store) opens the export.
    let other = ConversationStore::new(store.dir().to_path_buf());
    let opened = other.open(export.to_str().unwrap()).unwrap();
    let new_id = opened.conversation.id.clone();
    assert_ne!(new_id, ID);
    assert_eq!(
        opened.notice.as_deref(),
        Some(
            format!(
                "{} differs from the saved conversation {ID}, which is kept as it is: continuing as a new conversation {new_id}",
                export.display()
            )
            .as_str()
        )
    );
    let mut continued = opened.conversation;
    continued.push_user("after opening the export");
    let saved = other.save(&continued).unwrap().unwrap();
    assert_eq!(
        (saved.id.as_str(), saved.forked_from),
        (new_id.as_str(), None)
    );
    assert_eq!(
        contents(&store, ID),
        ["hello", "newer, saved after the export"]
    );
    assert_eq!(
        contents(&store, &new_id),
        ["hello", "after opening the export"]
    );
}

#[test]
fn opening_an_export_identical_to_the_saved_one_continues_the_saved_one() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().join("conversations"));
    let c = conversation_with(ID, &["hello"]);
    store.save(&c).unwrap();
    let export = tmp.path().join("export.json");
    tinychat::storage::export::export_to_file(&c, &export, None).unwrap();

    let other = ConversationStore::new(store.dir().to_path_buf());
    let opened = other.open(export.to_str().unwrap()).unwrap();
    assert_eq!(opened.conversation.id, ID);
    assert_eq!(
        opened.notice,
        Some(format!(
            "{} is the saved conversation {ID}: continuing it",
            export.display()
        ))
    );
    let mut continued = opened.conversation;
    continued.push_user("two");
    assert_eq!(other.save(&continued).unwrap().unwrap().forked_from, None);
    assert_eq!(contents(&store, ID), ["hello", "two"]);
}

#[test]
fn opening_a_file_with_no_saved_version_saves_it_under_its_own_id() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().join("conversations"));
    let file = tmp.path().join("from-a-friend.json");
    fs::write(&file, EVERY_LEVEL).unwrap();
    let opened = store.open(file.to_str().unwrap()).unwrap();
    assert_eq!(opened.conversation.id, ID);
    assert_eq!(
        opened.notice,
        Some(format!(
            "opened {}; it is saved as conversation {ID}",
            file.display()
        ))
    );
    let saved = store.save(&opened.conversation).unwrap().unwrap();
    assert_eq!((saved.id.as_str(), saved.forked_from), (ID, None));
    assert_eq!(
        fs::read_to_string(file).unwrap(),
        EVERY_LEVEL,
        "the file is only read"
    );
}

#[test]
fn opening_the_saved_file_by_its_path_is_opening_it_by_id() {
    let (_tmp, store) = store_with(EVERY_LEVEL);
    let path = store.dir().join(format!("{ID}.json"));
    let opened = store.open(path.to_str().unwrap()).unwrap();
    assert_eq!((opened.conversation.id.as_str(), opened.notice), (ID, None));
    let mut c = opened.conversation;
    c.push_user("two");
    assert_eq!(store.save(&c).unwrap().unwrap().forked_from, None);
}

#[test]
fn three_stores_racing_on_one_conversation_never_lose_a_message() {
    const ROUNDS: usize = 40;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conversations");
    ConversationStore::new(dir.clone())
        .save(&conversation_with(ID, &["start"]))
        .unwrap();
    let writers: Vec<_> = ["A", "B", "C"]
        .into_iter()
        .map(|who| {
            // One store per thread: as separate processes, they share only the folder.
            let store = ConversationStore::new(dir.clone());
            std::thread::spawn(move || {
                let mut id = ID.to_owned();
                for round in 0..ROUNDS {
                    // Read the newest version, add a message, save: the read and the
                    // save of the others interleave freely.
                    let mut c = store.open(&id).unwrap().conversation;
                    c.push_user(format!("{who} {round}"));
                    id = store.save(&c).unwrap().unwrap().id;
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let reader = ConversationStore::new(dir.clone());
    let mut all: Vec<String> = reader
        .list()
        .iter()
        .flat_map(|e| contents(&reader, &e.id))
        .collect();
    all.sort();
    all.dedup();
    for who in ["A", "B", "C"] {
        for round in 0..ROUNDS {
            let text = format!("{who} {round}");
            assert!(all.contains(&text), "{text:?} was lost; kept: {all:?}");
        }
    }
}

#[test]
fn reopening_the_original_after_a_fork_saves_to_the_original_and_keeps_the_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conversations");
    let (a, b) = (
        ConversationStore::new(dir.clone()),
        ConversationStore::new(dir.clone()),
    );
    a.save(&conversation_with(ID, &["hello"])).unwrap();
    let mut in_b = b.open(ID).unwrap().conversation;
    let mut in_a = a.open(ID).unwrap().conversation;
    in_a.push_user("A");
    a.save(&in_a).unwrap();
    in_b.push_user("B");
    let copy = b.save(&in_b).unwrap().unwrap().id;
    assert_ne!(copy, ID);

    // B opens the original again (Ctrl+O) and goes on there.
    let mut again = b.open(ID).unwrap().conversation;
    again.push_user("B in the original");
    let saved = b.save(&again).unwrap().unwrap();
    assert_eq!((saved.id.as_str(), saved.forked_from), (ID, None));
    assert_eq!(contents(&b, ID), ["hello", "A", "B in the original"]);
    assert_eq!(contents(&b, &copy), ["hello", "B"]);
}
