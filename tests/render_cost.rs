//! Rendering cost stays linear in the reply (issue 10): a code line that never ends, a
//! list nested hundreds of levels deep and a table of thousands of rows, streamed in small deltas, each cost about
//! four times as much for four times the text (the bound allows eight), and stay within
//! an absolute bound. Before, a 240 KB code line cost 15 s of CPU and 600 nested levels
//! 9 s; both grew with the square of the text or worse.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tinychat::view::highlight::CodeTheme;
use tinychat::view::message_body::MarkdownBody;

/// Held by each timing (see `assert_linear`).
static SERIAL: Mutex<()> = Mutex::new(());

/// Streams `text` in deltas of `step` bytes, laying it out after each, and returns how
/// long that took.
fn stream(text: &str, step: usize) -> Duration {
    let started = Instant::now();
    let mut body = MarkdownBody::new("", 100, CodeTheme::Dark, false);
    let mut end = 0;
    while end < text.len() {
        end = (end + step).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        body.update(&text[..end], false);
    }
    body.update(text, true);
    assert!(body.len() > 1);
    started.elapsed()
}

/// Asserts that `make(4 * n)` costs less than eight times `make(n)`, and at most
/// `limit` in all.
fn assert_linear(
    what: &str,
    make: impl Fn(usize) -> String,
    n: usize,
    step: usize,
    limit: Duration,
) {
    // One measurement at a time: tests run in parallel, and a neighbour's work in the
    // middle of one timing and not the other would skew the ratio.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let small = make(n);
    let big = make(4 * n);
    // Warm up (the grammars load on the first code block).
    stream(&make(n / 8), step);
    let small_time = stream(&small, step);
    let big_time = stream(&big, step);
    assert!(
        big_time < small_time * 8 + Duration::from_millis(50),
        "{what}: {} bytes took {small_time:?}, {} bytes {big_time:?}",
        small.len(),
        big.len()
    );
    assert!(
        big_time < limit,
        "{what}: {} bytes took {big_time:?}",
        big.len()
    );
}

#[test]
fn a_code_line_that_never_ends_costs_linear_time() {
    assert_linear(
        "one code line",
        |bytes| format!("```rust\n{}", "let x = foo(bar, baz); ".repeat(bytes / 23)),
        15_000,
        4,
        Duration::from_secs(30),
    );
}

#[test]
fn deeply_nested_lists_cost_linear_time() {
    // Levels × indentation: 4× the text is 2× the levels.
    assert_linear(
        "nested list",
        |bytes| {
            let levels = ((bytes as f64).sqrt() as usize).max(1);
            let mut text = String::new();
            for i in 0..levels {
                let _ = writeln!(text, "{}- item {i}", "  ".repeat(i));
            }
            text
        },
        20_000,
        8,
        Duration::from_secs(30),
    );
}

#[test]
fn deeply_nested_quotes_cost_linear_time() {
    assert_linear(
        "nested quotes",
        |bytes| {
            let levels = ((bytes as f64).sqrt() as usize).max(1);
            let mut text = String::new();
            for i in 0..levels {
                let _ = writeln!(text, "{} quote {i}", ">".repeat(i + 1));
            }
            text
        },
        20_000,
        8,
        Duration::from_secs(30),
    );
}

#[test]
fn a_line_of_text_without_spaces_costs_linear_time() {
    assert_linear(
        "CJK line",
        |bytes| "日本語のテキスト".repeat(bytes / 24),
        15_000,
        6,
        Duration::from_secs(30),
    );
}

#[test]
fn a_long_table_costs_linear_time() {
    assert_linear(
        "long table",
        |bytes| {
            let mut text = String::from("| n | name | note |\n|---|---|---|\n");
            for i in 0..bytes / 40 {
                let _ = writeln!(text, "| {i} | row number {i} | some words here |");
            }
            text
        },
        10_000,
        8,
        Duration::from_secs(30),
    );
}
