//! What a long conversation costs before the user sees it and when the terminal
//! changes (issue 11): building the app state and drawing the first frame, a resize,
//! and a dark ↔ light theme change, at 1,000 and 100,000 messages. Only the screen is
//! laid out in each; the rest of the history is measured later in bounded batches
//! (`batch` measures one), so these stay flat as the history grows.
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tinychat::conversation::{Conversation, Finish, Message};
use tinychat::ui::{self, theme::Theme};
use tinychat::view::highlight::CodeTheme;

mod common;

const TEXT: &str = "Ownership in Rust means every value has a single owner; when the owner goes out of scope the value is dropped. Borrowing lets code use a value without taking it, and the borrow checker makes sure references never outlive what they point to.";

/// Questions and answers of about 390 bytes each, every answer with a code block (the
/// 39 MB conversation of the issue has 100,000 of these).
fn conversation(messages: usize) -> Conversation {
    let mut conversation = Conversation::new(None);
    for i in 0..messages {
        let mut m = if i % 2 == 0 {
            Message::user(format!("question {i}: {}", &TEXT[..60]))
        } else {
            let mut m = Message::assistant_pending("local/m");
            m.content = format!("{TEXT}\n\n```rust\nfn answer() -> u32 {{ {i} }}\n```\n");
            m.finish = Some(Finish::Stop);
            m
        };
        m.created_at = String::new();
        conversation.messages.push(Arc::new(m));
    }
    conversation
}

fn open_resize(c: &mut Criterion) {
    let theme = Theme::dark();
    for n in [1_000usize, 100_000] {
        let conversation = conversation(n);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
        c.bench_with_input(
            BenchmarkId::new("open_and_first_frame", n),
            &conversation,
            |b, conversation| {
                b.iter_batched(
                    || conversation.clone(),
                    |conversation| {
                        let app = common::app(Some(conversation));
                        terminal
                            .draw(|f| ui::draw(f, black_box(&app), &theme))
                            .expect("draw");
                        app
                    },
                    BatchSize::LargeInput,
                );
            },
        );

        let mut app = common::app(Some(conversation.clone()));
        let mut wide = true;
        c.bench_function(&format!("resize/{n}"), |b| {
            b.iter(|| {
                wide = !wide;
                app.resize(if wide { 120 } else { 100 }, 40);
            });
        });

        let mut light = true;
        c.bench_function(&format!("theme_change/{n}"), |b| {
            b.iter(|| {
                light = !light;
                app.set_code_theme(if light {
                    CodeTheme::Light
                } else {
                    CodeTheme::Dark
                });
            });
        });

        c.bench_function(&format!("batch/{n}"), |b| {
            b.iter_batched(
                || {
                    let mut app = common::app(Some(conversation.clone()));
                    app.resize(100, 40);
                    app
                },
                |mut app| {
                    black_box(app.lay_out_more());
                    app
                },
                BatchSize::LargeInput,
            );
        });
    }
}

criterion_group!(benches, open_resize);
criterion_main!(benches);
