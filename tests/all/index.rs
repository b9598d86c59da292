//! The conversation browser's data (issue 4) on a real file system (temp folders only):
//! the index of every file with its text, search with exact snippets, rename and delete.

// `allow-unwrap-in-tests` covers `#[test]` functions only; the helpers are test code too.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pretty_assertions::assert_eq;
use serde_json::{Map, json};
use tinychat::conversation::{Conversation, FORMAT_VERSION, Finish, Message, Role, UNTITLED};
use tinychat::storage::index::{IndexEntry, SearchHit, search};
use tinychat::storage::{ConversationStore, StorageError};

fn message(role: Role, content: &str) -> Arc<Message> {
    let assistant = role == Role::Assistant;
    Arc::new(Message {
        role,
        content: content.to_owned(),
        model: assistant.then(|| "openai/gpt-4o-mini".to_owned()),
        created_at: "2026-11-29T14:05:12+01:00".to_owned(),
        usage: None,
        finish: assistant.then_some(Finish::Stop),
        error: None,
        reasoning: None,
        reasoning_ms: None,
        reasoning_chunks: None,
        extra: Map::new(),
    })
}

/// A conversation alternating user and assistant messages.
fn conversation(id: &str, title: &str, updated_at: &str, texts: &[&str]) -> Conversation {
    Conversation {
        version: FORMAT_VERSION,
        id: id.to_owned(),
        title: title.to_owned(),
        created_at: "2026-11-29T14:05:12+01:00".to_owned(),
        updated_at: updated_at.to_owned(),
        system_prompt: None,
        messages: texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let role = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                message(role, text)
            })
            .collect(),
        extra: Map::new(),
    }
}

fn entry(title: &str, texts: &[&str]) -> IndexEntry {
    let c = conversation(
        "20261129-140512-0001",
        title,
        "2026-11-29T14:05:14+01:00",
        texts,
    );
    IndexEntry::from_conversation(&c, PathBuf::from("x.json"))
}

fn snippets(entries: &[IndexEntry], query: &str) -> Vec<(usize, Option<String>)> {
    search(entries, query)
        .into_iter()
        .map(|SearchHit { entry, snippet }| (entry, snippet))
        .collect()
}

fn store() -> (tempfile::TempDir, ConversationStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ConversationStore::new(dir.path().join("conversations"));
    (dir, store)
}

fn ids(entries: &[IndexEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

#[test]
fn index_is_newest_first_with_each_conversations_details() {
    let (_dir, store) = store();
    let texts = ["hello", "Hi!", "more"];
    store
        .save(&conversation(
            "a-old",
            "old",
            "2026-01-01T10:00:00+00:00",
            &texts,
        ))
        .unwrap();
    store
        .save(&conversation(
            "b-new",
            "new",
            "2026-03-01T10:00:00+00:00",
            &texts,
        ))
        .unwrap();
    // Same instant as b-new in another offset: ties are broken by id, newest first.
    store
        .save(&conversation(
            "c-tie",
            "tie",
            "2026-03-01T11:00:00+01:00",
            &texts,
        ))
        .unwrap();
    store
        .save(&conversation(
            "d-mid",
            "mid",
            "2026-02-01T10:00:00+00:00",
            &texts,
        ))
        .unwrap();

    let entries = store.index();
    assert_eq!(ids(&entries), ["c-tie", "b-new", "d-mid", "a-old"]);
    let list: Vec<String> = store.list().into_iter().map(|e| e.id).collect();
    assert_eq!(ids(&entries), list, "same order as `list`");

    let mid = &entries[2];
    assert_eq!(mid.title, "mid");
    assert_eq!(mid.model.as_deref(), Some("openai/gpt-4o-mini"));
    assert_eq!(mid.updated_at, "2026-02-01T10:00:00+00:00");
    assert_eq!(mid.message_count, 3);
    assert_eq!(mid.problem, None);
    assert_eq!(mid.path, store.path_for("d-mid").unwrap());
}

#[test]
fn a_missing_folder_is_an_empty_index() {
    let (_dir, store) = store();
    assert_eq!(store.index(), Vec::new());
}

#[test]
fn broken_files_are_listed_with_their_problem_and_found_by_id() {
    let (_dir, store) = store();
    store
        .save(&conversation(
            "good",
            "fine",
            "2026-01-01T10:00:00+00:00",
            &["hello corrupt world"],
        ))
        .unwrap();
    fs::write(store.dir().join("broken.json"), "{\"version\": 1, \"id\": ").unwrap();
    fs::write(
        store.dir().join("future.json"),
        json!({"version": 99, "id": "future"}).to_string(),
    )
    .unwrap();
    fs::write(store.dir().join(".tinychat-x.tmp"), "partial").unwrap();
    fs::write(store.dir().join("notes.txt"), "not a conversation").unwrap();

    let entries = store.index();
    let mut found: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|e| (e.id.as_str(), e.problem.as_deref()))
        .collect();
    found.sort_unstable();
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].0, "broken");
    assert!(
        found[0]
            .1
            .unwrap()
            .starts_with("not a valid conversation file (EOF while parsing"),
        "{found:?}"
    );
    assert_eq!(
        found[1],
        (
            "future",
            Some("written by a newer tinychat (format version 99)")
        )
    );
    assert_eq!(found[2], ("good", None));

    let broken = entries.iter().find(|e| e.id == "broken").unwrap();
    assert_eq!(broken.title, "");
    assert_eq!(broken.message_count, 0);
    assert!(!broken.updated_at.is_empty(), "modification time shown");

    // A broken file has no text: its id is what finds it, so it can be deleted.
    let position = |id: &str| entries.iter().position(|e| e.id == id).unwrap();
    assert_eq!(
        snippets(&entries, "BROKEN"),
        [(position("broken"), None)],
        "id of a broken file"
    );
    assert_eq!(
        snippets(&entries, "corrupt"),
        [(position("good"), Some("hello corrupt world".to_owned()))],
        "the text of good files, not the problem of broken ones"
    );
    assert_eq!(
        snippets(&entries, "good"),
        [],
        "ids of good files are not searched"
    );
}

#[test]
fn blank_query_returns_every_entry_in_order_without_snippets() {
    let entries = [
        entry("one", &["a"]),
        entry("two", &["b"]),
        entry("three", &[]),
    ];
    let all = vec![(0, None), (1, None), (2, None)];
    assert_eq!(snippets(&entries, ""), all);
    assert_eq!(snippets(&entries, " \t\n "), all);
}

#[test]
fn title_match_alone_has_no_snippet_and_a_body_match_shows_the_body() {
    let entries = [
        entry("Rust ownership", &["How do I move a value?", "Like this."]),
        entry("Cooking", &["What is rust on a pan?", "Oxidised iron."]),
        entry(
            "Rust lifetimes",
            &["Why does rust need them?", "To check borrows."],
        ),
        entry("Nothing here", &["at all"]),
    ];
    assert_eq!(
        snippets(&entries, "rust"),
        [
            (0, None),
            (1, Some("What is rust on a pan?".to_owned())),
            (2, Some("Why does rust need them?".to_owned())),
        ]
    );
}

#[test]
fn search_finds_the_body_of_any_message_and_nothing_else() {
    let entries = [
        entry("a", &["first question", "first answer"]),
        entry("b", &["second question", "the answer is 42"]),
    ];
    assert_eq!(
        snippets(&entries, "is 42"),
        [(1, Some("the answer is 42".to_owned()))]
    );
    assert_eq!(snippets(&entries, "absent"), []);
    assert_eq!(snippets(&entries, "openai"), [], "models are not text");
    assert_eq!(snippets(&entries, "2026"), [], "timestamps are not text");
    assert_eq!(
        snippets(&entries, "a.s"),
        [],
        "the query is literal, not a regex"
    );
}

#[test]
fn search_is_case_insensitive_including_non_ascii() {
    let entries = [
        entry("Déjà vu", &["Ça va très bien", "Merci"]),
        entry("Straße", &["ΑΘΗΝΑ is a city"]),
        entry("plain", &["HELLO World"]),
    ];
    assert_eq!(
        snippets(&entries, "ÇA VA"),
        [(0, Some("Ça va très bien".to_owned()))]
    );
    assert_eq!(snippets(&entries, "DÉJÀ"), [(0, None)]);
    assert_eq!(
        snippets(&entries, "STRASSE"),
        [],
        "simple case folding only"
    );
    assert_eq!(snippets(&entries, "straße"), [(1, None)]);
    assert_eq!(snippets(&entries, "STRAẞE"), [(1, None)], "capital sharp s");
    assert_eq!(
        snippets(&entries, "αθηνα"),
        [(1, Some("ΑΘΗΝΑ is a city".to_owned()))]
    );
    assert_eq!(
        snippets(&entries, "hello world"),
        [(2, Some("HELLO World".to_owned()))]
    );
}

#[test]
fn snippet_keeps_30_characters_before_and_50_after_with_ellipses() {
    let text = "The quick brown fox jumps over the lazy dog and then the fox runs far away into the deep dark forest where nobody can find it ever again.";
    let entries = [entry("t", &[text])];
    assert_eq!(
        snippets(&entries, "LAZY"),
        [(
            0,
            Some(
                "…uick brown fox jumps over the lazy dog and then the fox runs far away into the deep…"
                    .to_owned()
            )
        )]
    );
    assert_eq!(
        snippets(&entries, "quick"),
        [(
            0,
            Some("The quick brown fox jumps over the lazy dog and then the fo…".to_owned())
        )],
        "no ellipsis where nothing was cut"
    );
    assert_eq!(
        snippets(&entries, "again."),
        [(0, Some("…where nobody can find it ever again.".to_owned()))]
    );
}

#[test]
fn snippet_collapses_whitespace_and_cuts_non_ascii_at_char_boundaries() {
    let entries = [
        entry(
            "t",
            &["line one\n\n   line two has the NEEDLE here\tand\n more"],
        ),
        entry(
            "u",
            &[&format!("{}needle{}", "é".repeat(40), "日".repeat(60))],
        ),
    ];
    assert_eq!(
        snippets(&entries, "needle"),
        [
            (
                0,
                Some("line one line two has the NEEDLE here and more".to_owned())
            ),
            (
                1,
                Some(format!("…{}needle{}…", "é".repeat(30), "日".repeat(50)))
            ),
        ]
    );
}

#[test]
fn query_whitespace_matches_any_whitespace_but_never_spans_two_messages() {
    let entries = [
        entry("a", &["say hello", "world peace"]),
        entry("b", &["hello\n   world"]),
    ];
    assert_eq!(
        snippets(&entries, "  hello world "),
        [(1, Some("hello world".to_owned()))]
    );
    assert_eq!(
        snippets(&entries, "peace"),
        [(0, Some("world peace".to_owned()))],
        "the snippet holds only the matching message"
    );
}

#[test]
fn snippet_comes_from_the_first_matching_message() {
    let entries = [entry("t", &["no", "first match here", "second match here"])];
    assert_eq!(
        snippets(&entries, "match"),
        [(0, Some("first match here".to_owned()))]
    );
}

#[test]
fn rename_changes_only_the_title_and_keeps_the_rest_byte_for_byte() {
    let (_dir, store) = store();
    let mut c = conversation(
        "20261129-140512-3fa2",
        "old title",
        "2026-11-29T14:05:14+01:00",
        &["hello", "Hi!"],
    );
    c.extra.insert("pinned".to_owned(), json!(true));
    c.extra.insert("tags".to_owned(), json!(["a", {"b": 1.5}]));
    let mut streaming = Message::assistant_pending("openai/gpt-4o-mini");
    streaming.content = "half a rep".to_owned();
    streaming.created_at = "2026-11-29T14:05:15+01:00".to_owned();
    streaming.extra.insert("mood".to_owned(), json!("good"));
    c.messages.push(Arc::new(streaming));
    let path = store.save(&c).unwrap().unwrap().path;
    let before = fs::read_to_string(&path).unwrap();

    store
        .rename("20261129-140512-3fa2", "  a new\n title \t")
        .unwrap();

    let after = fs::read_to_string(&path).unwrap();
    assert_eq!(
        after,
        before.replace("\"title\": \"old title\",", "\"title\": \"a new title\",")
    );
    assert_ne!(after, before);
    let entry = &store.index()[0];
    assert_eq!(entry.title, "a new title");
    assert_eq!(
        entry.updated_at, "2026-11-29T14:05:14+01:00",
        "not reordered"
    );
}

#[test]
fn rename_to_a_blank_title_gives_the_default_title() {
    let (_dir, store) = store();
    let c = conversation("x", "t", "2026-11-29T14:05:14+01:00", &["hello"]);
    store.save(&c).unwrap();
    store.rename("x", " \n ").unwrap();
    assert_eq!(store.load("x").unwrap().title, UNTITLED);
}

#[test]
fn rename_refuses_corrupt_and_newer_files_and_leaves_them_untouched() {
    let (_dir, store) = store();
    fs::create_dir_all(store.dir()).unwrap();
    let corrupt = store.dir().join("bad.json");
    fs::write(&corrupt, "{\"title\": 3").unwrap();
    let newer = store.dir().join("new.json");
    let newer_text = json!({"version": 2, "title": "t"}).to_string();
    fs::write(&newer, &newer_text).unwrap();

    assert!(matches!(
        store.rename("bad", "x"),
        Err(StorageError::Corrupt { .. })
    ));
    assert!(matches!(
        store.rename("new", "x"),
        Err(StorageError::NewerVersion { version: 2, .. })
    ));
    assert_eq!(fs::read_to_string(&corrupt).unwrap(), "{\"title\": 3");
    assert_eq!(fs::read_to_string(&newer).unwrap(), newer_text);
}

#[test]
fn delete_removes_the_file() {
    let (_dir, store) = store();
    let c = conversation("x", "t", "2026-11-29T14:05:14+01:00", &["hello"]);
    let path = store.save(&c).unwrap().unwrap().path;
    store
        .save(&conversation(
            "y",
            "t",
            "2026-11-29T14:05:14+01:00",
            &["hi"],
        ))
        .unwrap();

    store.delete("x").unwrap();
    assert!(!path.exists());
    assert_eq!(ids(&store.index()), ["y"]);
    assert!(matches!(
        store.load("x"),
        Err(StorageError::NotFound { .. })
    ));
}

#[test]
fn a_broken_file_can_be_deleted() {
    let (_dir, store) = store();
    fs::create_dir_all(store.dir()).unwrap();
    fs::write(store.dir().join("broken.json"), "nonsense").unwrap();
    store.delete("broken").unwrap();
    assert_eq!(store.index(), Vec::new());
}

#[test]
fn rename_or_delete_of_a_missing_conversation_is_not_found() {
    let (_dir, store) = store();
    for result in [store.rename("nope", "t"), store.delete("nope")] {
        let error = result.unwrap_err();
        assert!(
            matches!(&error, StorageError::NotFound { what } if what == "nope"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "no saved conversation `nope` (see `tinychat list`)"
        );
    }
}

#[test]
fn rename_and_delete_refuse_ids_outside_the_folder() {
    let (dir, store) = store();
    fs::create_dir_all(store.dir()).unwrap();
    let outside = dir.path().join("victim.json");
    let text = fs::read_to_string(save_outside(&outside)).unwrap();

    for id in ["../victim", "a/b", ".hidden", "", "..\\victim"] {
        assert!(
            matches!(store.delete(id), Err(StorageError::InvalidId { .. })),
            "delete {id:?}"
        );
        assert!(
            matches!(store.rename(id, "t"), Err(StorageError::InvalidId { .. })),
            "rename {id:?}"
        );
    }
    assert_eq!(fs::read_to_string(&outside).unwrap(), text);
}

/// A valid conversation file next to (not inside) the conversations folder.
fn save_outside(path: &Path) -> &Path {
    let c = conversation("victim", "t", "2026-11-29T14:05:14+01:00", &["hello"]);
    let outside = ConversationStore::new(path.parent().unwrap().to_path_buf());
    outside.save(&c).unwrap();
    path
}
