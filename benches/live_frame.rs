//! Frame cost while a reply streams, at 120×40 into a `TestBackend`: what a paced
//! reply (one token a frame) costs per token on the UI side.
//!
//! - `live_reply/frame`: one frame of a screen showing a live reply, nothing changed
//!   since the last frame (the cost of drawing the whole screen again);
//! - `live_reply/delta_and_frame`: one delta applied through `App::update`, then the
//!   frame showing it (what each token of a 50 tokens/s reply costs).
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tinychat::app::{App, Effect, Msg, StreamId};
use tinychat::provider::StreamEvent;
use tinychat::ui::{self, theme::Theme};

mod common;

/// A token-sized piece of prose, with a paragraph break now and then.
fn token(i: usize) -> String {
    match i % 40 {
        0 => "\n\n".to_owned(),
        _ => format!(" word{}", i % 13),
    }
}

/// An app with a reply of `tokens` deltas streaming (paced: 20 ms apart, so the status
/// line shows tokens/s), the id of its stream and the time of its last delta.
fn live_reply(tokens: usize) -> (App, StreamId, Instant) {
    let mut app = common::app(None);
    for c in "tell me about ownership".chars() {
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
    let mut at = Instant::now();
    for i in 0..tokens {
        at += Duration::from_millis(20);
        app.update(Msg::Stream {
            id,
            event: StreamEvent::Delta(token(i)),
            at,
        });
    }
    (app, id, at)
}

fn live_frame(c: &mut Criterion) {
    let theme = Theme::dark();
    let mut group = c.benchmark_group("live_reply");

    let (app, _, _) = live_reply(150);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    terminal.draw(|f| ui::draw(f, &app, &theme)).expect("draw");
    group.bench_function("frame", |b| {
        b.iter(|| {
            terminal
                .draw(|f| ui::draw(f, black_box(&app), &theme))
                .expect("draw");
        });
    });

    let (mut app, id, mut at) = live_reply(150);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    let mut i = 150;
    group.bench_function("delta_and_frame", |b| {
        b.iter(|| {
            at += Duration::from_millis(20);
            i += 1;
            black_box(app.update(Msg::Stream {
                id,
                event: StreamEvent::Delta(token(i)),
                at,
            }));
            terminal.draw(|f| ui::draw(f, &app, &theme)).expect("draw");
        });
    });
    group.finish();
}

criterion_group!(benches, live_frame);
criterion_main!(benches);
