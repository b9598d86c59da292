//! A 100 KB paste into the input (issue 5, item 8): the paste itself and the keystroke
//! after it must each stay well under 50 ms, so a big paste never makes typing lag.
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tinychat::app::{App, AppOptions, Msg};
use tinychat::config::Config;

/// About 100 KB of code-like text: 2,000 lines of 50 bytes.
fn paste_text() -> String {
    let mut text = String::with_capacity(100_000);
    for i in 0..2_000 {
        let _ = writeln!(text, "    let value_{i:05} = compute(input, {i:05}); // ok");
    }
    text
}

fn empty_app() -> App {
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
    app
}

fn key(c: char) -> Msg {
    Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

fn paste(c: &mut Criterion) {
    let text = paste_text();
    assert!(text.len() >= 100_000, "{} bytes", text.len());
    let mut group = c.benchmark_group("paste_100kb");
    group.bench_function("paste_into_empty_input", |b| {
        b.iter_batched(
            empty_app,
            |mut app| {
                black_box(app.update(Msg::Term(Event::Paste(text.clone()))));
                app
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("keystroke_after_paste", |b| {
        b.iter_batched(
            || {
                let mut app = empty_app();
                app.update(Msg::Term(Event::Paste(text.clone())));
                app
            },
            |mut app| {
                black_box(app.update(key('x')));
                app
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, paste);
criterion_main!(benches);
