//! Cost of applying a streamed reply to the app state: every delta goes through
//! `App::update` (append, sanitize-free storage, incremental re-wrap of the last row).
//! 2,000 and 20,000 deltas must cost about 1:10 (linear), and a delta late in a 1 MiB
//! reply must cost the same as one early in it.
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tinychat::app::{App, AppOptions, Effect, Msg, StreamId};
use tinychat::config::Config;
use tinychat::provider::StreamEvent;

/// A token-sized piece of text, with a newline now and then like real replies.
fn token(i: usize) -> String {
    match i % 40 {
        0 => "\n\n".to_owned(),
        7 => " `code`".to_owned(),
        _ => format!(" word{}", i % 13),
    }
}

/// An app with a reply streaming, and the id of its stream.
fn streaming_app() -> (App, StreamId) {
    let config = Config::from_toml(
        "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"m\"]\n",
        Path::new("bench.toml"),
        &|_| None,
    )
    .expect("bench config parses");
    let (mut app, _) = App::new(AppOptions {
        config,
        model: Some("local/m".into()),
        conversation: None,
        config_path: PathBuf::from("bench.toml"),
    });
    app.resize(120, 40);
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

fn stream_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply");
    group.sample_size(20);
    for deltas in [2_000usize, 20_000] {
        let tokens: Vec<String> = (0..deltas).map(token).collect();
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

    // Per-delta cost early in a reply and after 1 MiB of it.
    let mut group = c.benchmark_group("delta");
    for prefix_kib in [1usize, 1024] {
        let (mut app, id) = streaming_app();
        let at = Instant::now();
        let mut i = 0;
        while app.conversation.messages[1].content.len() < prefix_kib * 1024 {
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

criterion_group!(benches, stream_append);
criterion_main!(benches);
