//! Cost of applying a streamed reply to the app state: every delta goes through
//! `App::update` (append, then the Markdown layout of the open block only).
//! 2,000 and 20,000 deltas must cost about 1:10 (linear), for prose and for a reply
//! full of Markdown and highlighted code, and a delta late in a 1 MiB reply must cost
//! the same as one early in it.
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tinychat::app::{App, Effect, Msg, StreamId};
use tinychat::provider::StreamEvent;

mod common;

/// A token-sized piece of text, with a newline now and then like real replies.
fn token(i: usize) -> String {
    match i % 40 {
        0 => "\n\n".to_owned(),
        7 => " `code`".to_owned(),
        _ => format!(" word{}", i % 13),
    }
}

/// One section of a typical Markdown answer: heading, prose with emphasis, a list, a
/// highlighted code block, a table and a quote.
const SECTION: &str = "## Step {n}\n\nFirst, **install** the tool with `cargo install` and check the *version* it prints; \
then read the [guide](https://example.com/guide) before going on.\n\n\
- make a new project\n- add the dependency to `Cargo.toml`\n- run the tests\n\n\
```rust\nuse std::collections::HashMap;\n\nfn count(words: &[&str]) -> HashMap<&str, usize> {\n    let mut seen = HashMap::new();\n    for w in words {\n        *seen.entry(*w).or_insert(0) += 1;\n    }\n    seen\n}\n```\n\n\
| option | default | meaning |\n|--------|---------|---------|\n| `-v` | off | say more |\n| `-q` | off | say less |\n\n\
> Note: the cache lives in `~/.cache`; delete it to start over.\n\n";

/// `count` token-sized pieces (about four characters, split after spaces and line
/// breaks as tokenizers do) of a long Markdown answer.
fn markdown_tokens(count: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(count);
    let mut n = 0;
    while tokens.len() < count {
        n += 1;
        let section = SECTION.replace("{n}", &n.to_string());
        let mut piece = String::new();
        for c in section.chars() {
            piece.push(c);
            if piece.len() >= 4 && (c == ' ' || c == '\n' || piece.len() >= 6) {
                tokens.push(std::mem::take(&mut piece));
            }
        }
        tokens.push(piece);
    }
    tokens.truncate(count);
    tokens
}

/// An app with a reply streaming, and the id of its stream.
fn streaming_app() -> (App, StreamId) {
    let mut app = common::app(None);
    for c in "write a long essay".chars() {
        app.update(Msg::Term(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        ))));
    }
    let effects = app.update(Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    ))));
    let id = effects
        .into_iter()
        .find_map(|e| match e {
            Effect::StartStream { id, .. } => Some(id),
            _ => None,
        })
        .expect("a stream starts");
    (app, id)
}

/// Benchmark group `name`: a whole reply of 2,000 and of 20,000 deltas made by
/// `tokens`, each applied through `App::update` to a fresh streaming app.
fn whole_replies(
    c: &mut Criterion,
    name: &str,
    sample_size: usize,
    tokens: impl Fn(usize) -> Vec<String>,
) {
    let mut group = c.benchmark_group(name);
    group.sample_size(sample_size);
    for deltas in [2_000usize, 20_000] {
        let tokens = tokens(deltas);
        group.bench_with_input(BenchmarkId::new("deltas", deltas), &tokens, |b, tokens| {
            b.iter_batched(
                streaming_app,
                |(mut app, id)| {
                    let at = Instant::now();
                    for t in tokens {
                        black_box(app.update(Msg::Stream {
                            id,
                            event: StreamEvent::Delta(t.clone()),
                            at,
                        }));
                    }
                    app
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn stream_append(c: &mut Criterion) {
    whole_replies(c, "reply", 20, |deltas| (0..deltas).map(token).collect());
    whole_replies(c, "markdown_reply", 10, markdown_tokens);

    // Per-delta cost early in a reply and after 1 MiB of it.
    let mut group = c.benchmark_group("delta");
    for prefix_kib in [1usize, 1024] {
        let (mut app, id) = streaming_app();
        let at = Instant::now();
        let mut i = 0;
        while app.conversation().messages[1].content.len() < prefix_kib * 1024 {
            app.update(Msg::Stream {
                id,
                event: StreamEvent::Delta(token(i)),
                at,
            });
            i += 1;
        }
        group.bench_function(BenchmarkId::new("after_kib", prefix_kib), |b| {
            b.iter(|| {
                black_box(app.update(Msg::Stream {
                    id,
                    event: StreamEvent::Delta(" word".to_owned()),
                    at,
                }));
            });
        });
    }
    group.finish();
}

/// A reply that is one code line, and one that is a list nested `levels` deep, each
/// streamed 4 bytes a delta with a layout after every delta (the worst case: the
/// runtime lays out once per batch). 4× the text must cost about 4× (issue 10).
fn long_lines(c: &mut Criterion) {
    use std::fmt::Write as _;

    use tinychat::view::highlight::CodeTheme;
    use tinychat::view::message_body::MarkdownBody;

    fn stream(text: &str) -> MarkdownBody {
        let mut body = MarkdownBody::new("", 100, CodeTheme::Dark, false);
        let mut end = 0;
        while end < text.len() {
            end = (end + 4).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            body.update(&text[..end], false);
        }
        body.update(text, true);
        body
    }

    let mut group = c.benchmark_group("long_lines");
    group.sample_size(10);
    for kb in [15usize, 60] {
        let code = format!(
            "```rust\n{}",
            "let x = foo(bar, baz); ".repeat(kb * 1000 / 23)
        );
        group.bench_with_input(BenchmarkId::new("code_line_kb", kb), &code, |b, text| {
            b.iter(|| black_box(stream(text)));
        });
    }
    for levels in [150usize, 300] {
        let mut list = String::new();
        for i in 0..levels {
            let _ = writeln!(list, "{}- item {i}", "  ".repeat(i));
        }
        group.bench_with_input(
            BenchmarkId::new("nested_levels", levels),
            &list,
            |b, text| {
                b.iter(|| black_box(stream(text)));
            },
        );
    }
    group.finish();
}

/// Issue 12: a reply that thinks for 20,000 tokens and then answers in 2,000 must cost
/// about what a 22,000-token answer costs (`thinking/think_20000_answer_2000` against
/// `thinking/answer_22000`): the thinking is wrapped as it grows, like a user message,
/// and folds to one row when the answer starts.
fn thinking(c: &mut Criterion) {
    let mut group = c.benchmark_group("thinking");
    group.sample_size(10);
    let think: Vec<StreamEvent> = (0..20_000)
        .map(|i| StreamEvent::Reasoning(token(i)))
        .chain((0..2_000).map(|i| StreamEvent::Delta(token(i))))
        .collect();
    let answer: Vec<StreamEvent> = (0..22_000).map(|i| StreamEvent::Delta(token(i))).collect();
    for (name, events) in [
        ("think_20000_answer_2000", &think),
        ("answer_22000", &answer),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                streaming_app,
                |(mut app, id)| {
                    let at = Instant::now();
                    for event in events {
                        black_box(app.update(Msg::Stream {
                            id,
                            event: event.clone(),
                            at,
                        }));
                    }
                    app
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, stream_append, long_lines, thinking);
criterion_main!(benches);
