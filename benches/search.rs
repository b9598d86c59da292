//! The conversation browser's cost (issue 4): one keystroke's [`search`] over 1,000
//! conversations of 50 messages (about 25 MB of text) must stay well under 100 ms, and
//! [`ConversationStore::index`] of the same 1,000 files, which the UI runs in the
//! background, shows how long the browser waits before its first search.
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Map;
use tinychat::conversation::{Conversation, FORMAT_VERSION, Finish, Message, Role};
use tinychat::storage::ConversationStore;
use tinychat::storage::index::{IndexEntry, search};

const CONVERSATIONS: usize = 1_000;
const MESSAGES: usize = 50;

/// Words of the synthetic messages, some of them non-ASCII.
const WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "that",
    "for",
    "with",
    "as",
    "on",
    "be",
    "value",
    "owner",
    "scope",
    "borrow",
    "checker",
    "reference",
    "lifetime",
    "trait",
    "generic",
    "function",
    "closure",
    "iterator",
    "vector",
    "string",
    "slice",
    "thread",
    "channel",
    "mutex",
    "async",
    "await",
    "future",
    "runtime",
    "error",
    "result",
    "option",
    "match",
    "pattern",
    "module",
    "crate",
    "compile",
    "release",
    "memory",
    "heap",
    "stack",
    "pointer",
    "café",
    "naïve",
    "façade",
    "Straße",
    "ça",
    "déjà",
    "über",
    "smörgåsbord",
    "jalapeño",
    "Ελληνικά",
    "日本語",
    "ключ",
    "señor",
    "coöperate",
    "résumé",
    "piñata",
    "Ærø",
    "Œuvre",
    "quickly",
    "carefully",
    "because",
    "however",
    "therefore",
    "example",
    "explain",
    "question",
    "answer",
    "difference",
    "between",
    "without",
    "through",
    "database",
    "network",
    "request",
    "response",
    "timeout",
    "retry",
    "buffer",
    "stream",
    "token",
    "model",
    "prompt",
    "terminal",
];

/// Only in conversation 500.
const RARE: &str = "zyzzogeton";
/// In every conversation, in one message at a random place.
const EVERYWHERE: &str = "frobnicate";

fn message_text(rng: &mut fastrand::Rng) -> String {
    let target = rng.usize(400..=600);
    let mut text = String::with_capacity(target + 16);
    while text.len() < target {
        if !text.is_empty() {
            text.push(if rng.u8(..) < 12 { '\n' } else { ' ' });
        }
        text.push_str(WORDS[rng.usize(..WORDS.len())]);
    }
    text
}

fn conversation(i: usize, rng: &mut fastrand::Rng) -> Conversation {
    let everywhere_at = rng.usize(..MESSAGES);
    let messages = (0..MESSAGES)
        .map(|m| {
            let mut content = message_text(rng);
            if m == everywhere_at {
                content.push_str(" Let us ");
                content.push_str(EVERYWHERE);
                content.push_str(" it.");
            }
            if i == 500 && m == 30 {
                content.push(' ');
                content.push_str(RARE);
            }
            let assistant = m % 2 == 1;
            Arc::new(Message {
                role: if assistant {
                    Role::Assistant
                } else {
                    Role::User
                },
                content,
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
        })
        .collect();
    Conversation {
        version: FORMAT_VERSION,
        id: format!("20261129-{:06}-{i:04x}", 140_000 + i),
        title: format!("conversation {i} about {}", WORDS[rng.usize(..WORDS.len())]),
        created_at: "2026-11-29T14:05:12+01:00".to_owned(),
        updated_at: format!("2026-11-29T{:02}:{:02}:00+01:00", i / 60 % 24, i % 60),
        system_prompt: None,
        messages,
        extra: Map::new(),
    }
}

fn conversations() -> Vec<Conversation> {
    let mut rng = fastrand::Rng::with_seed(4);
    (0..CONVERSATIONS)
        .map(|i| conversation(i, &mut rng))
        .collect()
}

fn search_keystroke(c: &mut Criterion) {
    let entries: Vec<IndexEntry> = conversations()
        .iter()
        .map(|c| IndexEntry::from_conversation(c, PathBuf::from(format!("{}.json", c.id))))
        .collect();
    let mut group = c.benchmark_group("search_1000x50");
    for (name, query, expected) in [
        ("rare_word", "ZYZZOGETON", Some(1)),
        ("word_everywhere", "Frobnicate", Some(CONVERSATIONS)),
        ("absent_word", "quixotically", Some(0)),
        ("absent_non_ascii", "ÇAFÉTÉRIA", Some(0)),
        ("two_words_absent", "borrow quixotically", Some(0)),
        ("one_letter", "e", Some(CONVERSATIONS)),
        ("blank", " ", Some(CONVERSATIONS)),
    ] {
        if let Some(expected) = expected {
            assert_eq!(search(&entries, query).len(), expected, "{name}");
        }
        group.bench_function(name, |b| b.iter(|| search(black_box(&entries), query)));
    }
    group.finish();
}

fn index_folder(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp folder");
    let store = ConversationStore::new(dir.path().to_path_buf());
    for conversation in conversations() {
        store.save(&conversation).expect("bench file written");
    }
    assert_eq!(store.index().len(), CONVERSATIONS);
    let mut group = c.benchmark_group("index_1000x50_files");
    group.sample_size(10);
    group.bench_function("index", |b| b.iter(|| black_box(store.index())));
    group.finish();
}

criterion_group!(benches, search_keystroke, index_folder);
criterion_main!(benches);
