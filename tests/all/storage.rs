//! Conversation files and exports on a real file system (temp folders only, offline).
//!
//! Pins the on-disk bytes of spec §3: atomic saves, lossless round trips, clear errors
//! for corrupt, newer and unwritable files, and the exact bytes of each export format.

// `allow-unwrap-in-tests` covers `#[test]` functions only; the helpers below are test
// code too, and the root-skip note is meant for the test log.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use pretty_assertions::assert_eq;
use serde_json::{Map, json};
use tinychat::conversation::{Conversation, FORMAT_VERSION, Finish, Message, Role, Usage};
use tinychat::storage::export::{ExportFormat, export_to_file, render};
use tinychat::storage::{CUT_OFF_ERROR, ConversationStore, StorageError};

fn message(role: Role, content: &str, model: Option<&str>, finish: Option<Finish>) -> Message {
    Message {
        role,
        content: content.to_owned(),
        model: model.map(str::to_owned),
        created_at: "2026-11-29T14:05:12+01:00".to_owned(),
        usage: None,
        finish,
        error: None,
        reasoning: None,
        reasoning_ms: None,
        reasoning_chunks: None,
        extra: Map::new(),
    }
}

/// A conversation with fixed ids and timestamps, so exports can be compared byte for byte.
fn fixed_conversation() -> Conversation {
    let mut reply = message(
        Role::Assistant,
        "Hi!",
        Some("openai/gpt-4o-mini"),
        Some(Finish::Stop),
    );
    reply.usage = Some(
        Usage {
            input_tokens: 9,
            output_tokens: 3,
            ..Usage::default()
        }
        .into(),
    );
    Conversation {
        version: FORMAT_VERSION,
        id: "20261129-140512-3fa2".to_owned(),
        title: "hello".to_owned(),
        created_at: "2026-11-29T14:05:12+01:00".to_owned(),
        updated_at: "2026-11-29T14:05:14+01:00".to_owned(),
        system_prompt: None,
        messages: vec![
            Arc::new(message(Role::User, "hello", None, None)),
            Arc::new(reply),
        ],
        extra: Map::new(),
    }
}

fn with_updated_at(id: &str, updated_at: &str) -> Conversation {
    let mut c = fixed_conversation();
    id.clone_into(&mut c.id);
    c.title = format!("title of {id}");
    updated_at.clone_into(&mut c.updated_at);
    c
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The conversation file of `fixed_conversation()`, as the store writes it.
const FIXED_JSON: &str = r#"{
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
      "created_at": "2026-11-29T14:05:12+01:00"
    },
    {
      "role": "assistant",
      "content": "Hi!",
      "model": "openai/gpt-4o-mini",
      "created_at": "2026-11-29T14:05:12+01:00",
      "usage": {
        "input_tokens": 9,
        "output_tokens": 3
      },
      "finish": "stop"
    }
  ]
}
"#;

#[test]
fn save_writes_pretty_json_with_a_trailing_newline_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conversations");
    let store = ConversationStore::new(dir.clone());
    let path = store.save(&fixed_conversation()).unwrap().unwrap().path;
    assert_eq!(path, dir.join("20261129-140512-3fa2.json"));
    assert_eq!(fs::read_to_string(&path).unwrap(), FIXED_JSON);
    // The temporary file was renamed, not left behind.
    assert_eq!(file_names(&dir), ["20261129-140512-3fa2.json"]);
}

#[cfg(unix)]
#[test]
fn conversation_files_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().to_path_buf());
    let path = store.save(&fixed_conversation()).unwrap().unwrap().path;
    let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn unknown_fields_round_trip_byte_for_byte() {
    let original = r#"{
  "version": 1,
  "id": "20261129-140512-3fa2",
  "title": "hello",
  "created_at": "2026-11-29T14:05:12+01:00",
  "updated_at": "2026-11-29T14:05:14+01:00",
  "system_prompt": "be brief",
  "messages": [
    {
      "role": "user",
      "content": "hello\nwith \"quotes\" and ünïcödé 🦀",
      "created_at": "2026-11-29T14:05:12+01:00",
      "attachments": [
        {
          "name": "a.png",
          "bytes": 12
        }
      ]
    },
    {
      "role": "assistant",
      "content": "Hi!",
      "model": "openai/gpt-4o-mini",
      "created_at": "2026-11-29T14:05:12+01:00",
      "finish": "error",
      "error": "openai: 500 server_error: boom",
      "zeta": 1,
      "alpha": null
    }
  ],
  "pinned": true,
  "tags": [
    "b",
    "a"
  ]
}
"#;
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().to_path_buf());
    let path = tmp.path().join("20261129-140512-3fa2.json");
    fs::write(&path, original).unwrap();

    let loaded = store.load("20261129-140512-3fa2").unwrap();
    assert_eq!(loaded.extra.get("pinned"), Some(&json!(true)));
    assert_eq!(loaded.messages[1].extra.get("zeta"), Some(&json!(1)));
    store.save(&loaded).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
}

#[test]
fn concurrent_saves_of_one_conversation_always_leave_one_whole_version() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conversations");
    let store = ConversationStore::new(dir.clone());
    let id = "20261129-140512-3fa2";

    let writers: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            thread::spawn(move || {
                for round in 0..25 {
                    let mut c = fixed_conversation();
                    // Versions of very different sizes, so a torn write would show.
                    let text = format!("thread {t} round {round} ").repeat(1 + t * 400);
                    c.messages
                        .push(Arc::new(message(Role::User, &text, None, None)));
                    store.save(&c).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let store = store.clone();
        thread::spawn(move || {
            let mut reads = 0;
            for _ in 0..200 {
                match store.load(id) {
                    Ok(c) => {
                        assert_eq!(c.messages.len(), 3);
                        reads += 1;
                    }
                    // Before the first rename there is nothing to read yet.
                    Err(StorageError::NotFound { .. }) => {}
                    Err(e) => panic!("a reader saw a broken file: {e}"),
                }
            }
            reads
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();

    let last = store.load(id).unwrap();
    assert_eq!(last.messages.len(), 3);
    assert!(last.messages[2].content.starts_with("thread "));
    assert_eq!(file_names(&dir), [format!("{id}.json")]);
}

#[test]
fn a_conversation_without_messages_is_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conversations");
    let store = ConversationStore::new(dir.clone());
    let mut empty = fixed_conversation();
    empty.messages.clear();
    assert_eq!(store.save(&empty).unwrap(), None);
    assert!(
        !dir.exists(),
        "saving nothing must not even create the folder"
    );
}

#[test]
fn ids_that_would_escape_the_folder_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().join("conversations"));
    for bad in ["", "../evil", "a/b", "a\\b", ".hidden", "..", "x..y"] {
        let mut c = fixed_conversation();
        c.id = bad.to_owned();
        let err = store.save(&c).unwrap_err();
        assert!(
            matches!(&err, StorageError::InvalidId { id } if id == bad),
            "{bad:?}: {err}"
        );
    }
    let mut c = fixed_conversation();
    c.id = "../evil".to_owned();
    assert_eq!(
        store.save(&c).unwrap_err().to_string(),
        "cannot save conversation `../evil`: its id is not a safe file name (it must not be empty, start with `.`, or contain `/`, `\\` or `..`)"
    );
    assert!(!tmp.path().join("evil.json").exists());
}

#[test]
fn load_by_id_and_by_file_path() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().join("conversations"));
    let path = store.save(&fixed_conversation()).unwrap().unwrap().path;

    assert_eq!(
        store.load("20261129-140512-3fa2").unwrap(),
        fixed_conversation()
    );
    assert_eq!(
        store.load(path.to_str().unwrap()).unwrap(),
        fixed_conversation()
    );

    // A copy elsewhere, under another name, opens by its path.
    let copy = tmp.path().join("copy.JSON");
    fs::copy(&path, &copy).unwrap();
    assert_eq!(
        store.load(copy.to_str().unwrap()).unwrap(),
        fixed_conversation()
    );
}

#[test]
fn a_missing_conversation_says_where_to_look() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().join("conversations"));
    let err = store.load("20260101-000000-0000").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no saved conversation `20260101-000000-0000` (see `tinychat list`)"
    );
    let missing = tmp.path().join("nope.json");
    let err = store.load(missing.to_str().unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

#[test]
fn a_corrupt_file_is_reported_with_its_path_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().to_path_buf());
    let path = tmp.path().join("broken.json");
    fs::write(&path, "{\n  \"version\": 1,\n  \"id\": \n").unwrap();
    let err = store.load("broken").unwrap_err();
    match &err {
        StorageError::Corrupt { path: p, reason } => {
            assert_eq!(p, &path);
            assert_eq!(reason, "EOF while parsing a value at line 4 column 0");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open {}: it is not a valid conversation file (EOF while parsing a value at line 4 column 0); fix it in an editor or move it away",
            path.display()
        )
    );
    // Valid JSON that is not a conversation is corrupt too.
    fs::write(&path, "{\"version\": 1, \"id\": 7}").unwrap();
    assert!(matches!(
        store.load("broken").unwrap_err(),
        StorageError::Corrupt { .. }
    ));
    // The file was read, not repaired or replaced.
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "{\"version\": 1, \"id\": 7}"
    );
}

#[test]
fn a_file_from_a_newer_tinychat_asks_for_an_upgrade() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().to_path_buf());
    let path = tmp.path().join("future.json");
    // Structure this build does not understand: only the version is read.
    fs::write(&path, r#"{"version": 2, "turns": {"a": 1}}"#).unwrap();
    let err = store.load("future").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: written by a newer tinychat (format version 2; this one reads 1); upgrade tinychat to open it",
            path.display()
        )
    );
}

#[test]
fn a_reply_saved_while_streaming_loads_as_incomplete() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(tmp.path().to_path_buf());
    let mut c = fixed_conversation();
    c.messages[1] = Arc::new(message(
        Role::Assistant,
        "Hi! I was say",
        Some("openai/gpt-4o-mini"),
        None,
    ));
    assert!(c.messages[1].is_streaming());
    store.save(&c).unwrap();

    let loaded = store.load(&c.id).unwrap();
    let reply = &loaded.messages[1];
    assert_eq!(reply.content, "Hi! I was say");
    assert_eq!(reply.finish, Some(Finish::Incomplete));
    assert_eq!(reply.error.as_deref(), Some(CUT_OFF_ERROR));
    // User messages have no `finish` and are left alone.
    assert_eq!(loaded.messages[0].finish, None);
}

#[test]
fn a_folder_that_cannot_be_created_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    // A regular file where a folder should be: fails even for root.
    let blocker = tmp.path().join("data");
    fs::write(&blocker, "not a folder").unwrap();
    let dir = blocker.join("conversations");
    let store = ConversationStore::new(dir.clone());
    let err = store.save(&fixed_conversation()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot create folder {}: Not a directory (os error 20)",
            dir.display()
        )
    );
}

/// True when the file system lets us write into a read-only folder (running as root).
#[cfg(unix)]
fn permissions_are_bypassed(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let bypassed = fs::write(&probe, "x").is_ok();
    let _ = fs::remove_file(probe);
    if bypassed {
        println!("note: running with permission checks bypassed (root); skipping the assertion");
    }
    bypassed
}

#[cfg(unix)]
#[test]
fn a_read_only_folder_gives_a_permission_error_and_keeps_the_old_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conversations");
    let store = ConversationStore::new(dir.clone());
    let path = store.save(&fixed_conversation()).unwrap().unwrap().path;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();

    if !permissions_are_bypassed(&dir) {
        let mut changed = fixed_conversation();
        changed.title = "changed".to_owned();
        let err = store.save(&changed).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: Permission denied (os error 13)",
                path.display()
            )
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), FIXED_JSON);
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(file_names(&dir), ["20261129-140512-3fa2.json"]);
}

#[test]
fn list_is_newest_first_and_shows_broken_files_without_failing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conversations");
    let store = ConversationStore::new(dir.clone());
    assert_eq!(store.list(), [], "a missing folder is an empty list");

    store
        .save(&with_updated_at("a-old", "2001-01-01T10:00:00+00:00"))
        .unwrap();
    // Later in absolute time despite the smaller wall-clock hour: offsets are honoured.
    store
        .save(&with_updated_at("b-new", "2001-01-01T09:30:00-02:00"))
        .unwrap();
    store
        .save(&with_updated_at("c-mid", "2001-01-01T11:00:00+01:00"))
        .unwrap();
    fs::write(dir.join("d-broken.json"), "{ nope").unwrap();
    fs::write(dir.join(".tinychat-abc123.tmp"), "{ partial").unwrap();
    fs::write(dir.join(".hidden.json"), "{ partial").unwrap();
    fs::write(dir.join("notes.txt"), "ignored").unwrap();
    fs::create_dir(dir.join("folder.json")).unwrap();

    let list = store.list();
    let ids: Vec<&str> = list.iter().map(|e| e.id.as_str()).collect();
    // The broken file is dated by its modification time (now), so it comes first.
    assert_eq!(ids, ["d-broken", "b-new", "c-mid", "a-old"]);

    let broken = &list[0];
    assert_eq!(broken.path, dir.join("d-broken.json"));
    assert_eq!(
        broken.problem.as_deref(),
        Some("not a valid conversation file (key must be a string at line 1 column 3)")
    );
    assert_eq!(broken.title, "");
    assert!(!broken.updated_at.is_empty());

    let newest = &list[1];
    assert_eq!(newest.title, "title of b-new");
    assert_eq!(newest.model.as_deref(), Some("openai/gpt-4o-mini"));
    assert_eq!(newest.updated_at, "2001-01-01T09:30:00-02:00");
    assert_eq!(newest.message_count, 2);
    assert_eq!(newest.problem, None);
}

#[test]
fn markdown_export_is_exact() {
    let mut c = fixed_conversation();
    c.messages.push(Arc::new(message(
        Role::User,
        "and a list:\n\n- one\n- two",
        None,
        None,
    )));
    // An errored reply with no model and no text still gets its heading.
    let mut failed = message(Role::Assistant, "", None, Some(Finish::Error));
    failed.error = Some("openai: 500".to_owned());
    c.messages.push(Arc::new(failed));
    assert_eq!(
        render(&c, ExportFormat::Markdown).unwrap(),
        "# hello\n\n## You\n\nhello\n\n## Assistant (openai/gpt-4o-mini)\n\nHi!\n\n## You\n\nand a list:\n\n- one\n- two\n\n## Assistant\n\n\n\n"
    );
}

#[test]
fn text_export_is_exact() {
    let mut c = fixed_conversation();
    assert_eq!(
        render(&c, ExportFormat::Text).unwrap(),
        "You: hello\n\nLLM: Hi!\n"
    );
    // A cancelled reply keeps its partial text.
    c.messages
        .push(Arc::new(message(Role::User, "two\nlines", None, None)));
    c.messages.push(Arc::new(message(
        Role::Assistant,
        "partial",
        Some("openai/gpt-4o"),
        Some(Finish::Cancelled),
    )));
    assert_eq!(
        render(&c, ExportFormat::Text).unwrap(),
        "You: hello\n\nLLM: Hi!\n\nYou: two\nlines\n\nLLM: partial\n"
    );
    c.messages.clear();
    assert_eq!(render(&c, ExportFormat::Text).unwrap(), "");
}

#[test]
fn thinking_goes_into_a_details_block_in_markdown_only() {
    let mut c = fixed_conversation();
    let mut reply = message(
        Role::Assistant,
        "It is 4.",
        Some("ollama/deepseek-r1"),
        Some(Finish::Stop),
    );
    reply.reasoning = Some("\nTwo plus two:\n- 2 + 2 = 4\n\n".to_owned());
    reply.reasoning_ms = Some(1_500);
    c.messages
        .push(Arc::new(message(Role::User, "2+2?", None, None)));
    c.messages.push(Arc::new(reply));
    assert_eq!(
        render(&c, ExportFormat::Markdown).unwrap(),
        "# hello\n\n## You\n\nhello\n\n## Assistant (openai/gpt-4o-mini)\n\nHi!\n\n## You\n\n2+2?\n\n## Assistant (ollama/deepseek-r1)\n\n<details><summary>Thinking</summary>\n\n\nTwo plus two:\n- 2 + 2 = 4\n\n</details>\n\nIt is 4.\n\n"
    );
    assert_eq!(
        render(&c, ExportFormat::Text).unwrap(),
        "You: hello\n\nLLM: Hi!\n\nYou: 2+2?\n\nLLM: It is 4.\n"
    );
    let json = render(&c, ExportFormat::Json).unwrap();
    assert!(
        json.contains(r#""reasoning": "\nTwo plus two:\n- 2 + 2 = 4\n\n","#),
        "{json}"
    );
    assert!(json.contains(r#""reasoning_ms": 1500"#), "{json}");
}

#[test]
fn json_export_is_the_conversation_file() {
    assert_eq!(
        render(&fixed_conversation(), ExportFormat::Json).unwrap(),
        FIXED_JSON
    );
}

#[test]
fn export_to_file_follows_the_extension_or_the_given_format() {
    let tmp = tempfile::tempdir().unwrap();
    let c = fixed_conversation();
    let cases: [(&str, Option<ExportFormat>, &str); 4] = [
        (
            "a.md",
            None,
            "# hello\n\n## You\n\nhello\n\n## Assistant (openai/gpt-4o-mini)\n\nHi!\n\n",
        ),
        ("a.TXT", None, "You: hello\n\nLLM: Hi!\n"),
        ("a.json", None, FIXED_JSON),
        (
            "transcript",
            Some(ExportFormat::Text),
            "You: hello\n\nLLM: Hi!\n",
        ),
    ];
    for (name, format, expected) in cases {
        let path = tmp.path().join(name);
        let written = export_to_file(&c, &path, format).unwrap();
        assert_eq!(written, path);
        assert_eq!(fs::read_to_string(&path).unwrap(), expected, "{name}");
    }
    // Re-exporting replaces the file whole.
    export_to_file(&c, &tmp.path().join("a.md"), Some(ExportFormat::Text)).unwrap();
    assert_eq!(
        fs::read_to_string(tmp.path().join("a.md")).unwrap(),
        "You: hello\n\nLLM: Hi!\n"
    );
    assert_eq!(
        file_names(tmp.path()),
        ["a.TXT", "a.json", "a.md", "transcript"]
    );
}

#[test]
fn export_to_a_missing_folder_says_which_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("no/such/dir");
    let err = export_to_file(&fixed_conversation(), &folder.join("a.md"), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write {}/a.md: the folder {} does not exist",
            folder.display(),
            folder.display()
        )
    );
    assert!(!tmp.path().join("no").exists(), "no folder is created");
}

#[test]
fn export_type_errors_say_which_extensions_work() {
    let tmp = tempfile::tempdir().unwrap();
    let c = fixed_conversation();
    let err = export_to_file(&c, &tmp.path().join("a.xyz"), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown file type `.xyz`: use .md, .txt or .json"
    );
    let bare = tmp.path().join("transcript");
    let err = export_to_file(&c, &bare, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot tell the file type of {}: end the name with .md, .txt or .json",
            bare.display()
        )
    );
    let err = export_to_file(&c, tmp.path(), Some(ExportFormat::Markdown)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write {}: it is a folder; give a file name ending in .md, .txt or .json",
            tmp.path().display()
        )
    );
    let file = tmp.path().join("plain");
    fs::write(&file, "x").unwrap();
    let err = export_to_file(&c, &file.join("a.md"), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write {}/a.md: {} is not a folder",
            file.display(),
            file.display()
        )
    );
    assert_eq!(file_names(tmp.path()), ["plain"]);
}

#[cfg(unix)]
#[test]
fn export_into_a_read_only_folder_is_a_permission_error() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ro");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
    if !permissions_are_bypassed(&dir) {
        let target = dir.join("a.md");
        let err = export_to_file(&fixed_conversation(), &target, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: Permission denied (os error 13)",
                target.display()
            )
        );
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(file_names(&dir), Vec::<String>::new());
}

#[test]
fn relative_export_paths_are_returned_absolute() {
    // Only the path arithmetic is checked here: writing into the test's current folder
    // would leave files in the source tree.
    let resolved = tinychat::storage::export::resolve_user_path(Path::new("out/a.md")).unwrap();
    assert!(resolved.is_absolute());
    assert!(resolved.ends_with(PathBuf::from("out/a.md")));
}
