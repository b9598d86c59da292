//! A 100 KB paste into the input (issue 5, item 8): the paste itself and the keystroke
//! after it must each stay well under 50 ms, so a big paste never makes typing lag.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tinychat::app::Msg;

mod common;

/// About 100 KB of code-like text: 2,000 lines of 50 bytes.
fn paste_text() -> String {
    let mut text = String::with_capacity(100_000);
    for i in 0..2_000 {
        let _ = writeln!(text, "    let value_{i:05} = compute(input, {i:05}); // ok");
    }
    text
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
            || common::app(None),
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
                let mut app = common::app(None);
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
