//! Frame cost against conversation length: one full frame drawn into a `TestBackend`
//! with 10, 1,000 and 100,000 messages in the history. Design §5 requires these to stay
//! flat (only visible rows are touched).
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tinychat::app::App;
use tinychat::conversation::{Conversation, Finish, Message};
use tinychat::ui::{self, theme::Theme};

mod common;

const TEXT: &str = "Ownership in Rust means every value has a single owner; when the owner goes out of scope the value is dropped. Borrowing lets code use a value without taking it, and the borrow checker makes sure references never outlive what they point to.";

fn app_with(messages: usize) -> App {
    let mut conversation = Conversation::new(None);
    for i in 0..messages {
        let mut m = if i % 2 == 0 {
            Message::user(format!("question {i}: {}", &TEXT[..60]))
        } else {
            let mut m = Message::assistant_pending("local/m");
            TEXT.clone_into(&mut m.content);
            m.finish = Some(Finish::Stop);
            m
        };
        m.created_at = String::new();
        conversation.messages.push(Arc::new(m));
    }
    common::app(Some(conversation))
}

fn render_history(c: &mut Criterion) {
    let theme = Theme::dark();
    let mut group = c.benchmark_group("frame");
    for n in [10usize, 1_000, 100_000] {
        let app = app_with(n);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
        group.bench_with_input(BenchmarkId::new("messages", n), &app, |b, app| {
            b.iter(|| {
                terminal
                    .draw(|f| ui::draw(f, black_box(app), &theme))
                    .expect("draw");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, render_history);
criterion_main!(benches);
