//! A keystroke in a big draft (issue 10): the editor re-wraps its whole text on every
//! edit, so a key costs in proportion to the draft, which is why the input holds at
//! most 1 MiB (`app::typing::MAX_DRAFT_BYTES`). Measured: one key in a 100 KB and in a
//! 1 MiB draft, and 1,000 keys that arrived together on the 1 MiB draft (applied as
//! one edit, so about the cost of one key).
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tinychat::app::typing::MAX_DRAFT_BYTES;
use tinychat::app::{App, Msg};
use tinychat::config::ThemeChoice;
use tinychat::ui::theme::Theme;

mod common;

fn key(c: char) -> Msg {
    Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

/// An app whose input holds `bytes` of prose, drawn once (so the editor knows its
/// width and wraps, as on screen).
fn app_with_draft(bytes: usize) -> App {
    let line = "the quick brown fox jumps over the lazy dog 0123456789 ok\n";
    let mut text = line.repeat(bytes / line.len() + 1);
    text.truncate(bytes - 1);
    let mut app = common::app(None);
    app.update(Msg::Term(Event::Paste(text)));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test terminal");
    let theme = Theme::for_terminal(ThemeChoice::Dark, &|_| None);
    terminal
        .draw(|f| tinychat::ui::draw(f, &app, &theme))
        .expect("draw");
    app
}

fn typing(c: &mut Criterion) {
    let mut group = c.benchmark_group("keystroke");
    group.sample_size(20);
    for (name, bytes) in [("100kb", 100_000), ("1mib", MAX_DRAFT_BYTES - 1000)] {
        group.bench_function(BenchmarkId::new("draft", name), |b| {
            b.iter_batched(
                || app_with_draft(bytes),
                |mut app| {
                    black_box(app.update(key('x')));
                    app
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.bench_function("1000_queued_keys_1mib_draft", |b| {
        b.iter_batched(
            || {
                let keys: Vec<Msg> = (0..1000).map(|_| key('x')).collect();
                (app_with_draft(MAX_DRAFT_BYTES - 1000), keys)
            },
            |(mut app, keys)| {
                black_box(app.update_batch(keys));
                app
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, typing);
criterion_main!(benches);
