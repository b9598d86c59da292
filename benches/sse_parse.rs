//! Cost of reading a reply body, from bytes to `StreamEvent`s, through each kind's real
//! reader (`provider::read_body`, the code a response's body goes through, without
//! HTTP). Issue 10: one large event must cost time linear in its size (eventsource-stream
//! 0.2.3 was quadratic: 2 MB took ~3 s), and so must many small events.
//! `one_event/{1,8}MiB` should cost about 1:8, and `small_events/{10000,80000}` 1:8.
//! `ui_wakeup` is the worst the UI's loop spends between two looks at the keys while one
//! huge event arrives: one batch of 1 MiB of reply text (the runtime's bound, in 64 KiB
//! pieces) applied to a reply that already holds 15 MiB of one endless word.
#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use tinychat::app::{Effect, Msg};
use tinychat::provider::{ProviderKind, StreamEvent, read_body};

mod common;

/// How a fast server's body arrives: chunks of this many bytes.
const CHUNK: usize = 16 * 1024;

/// One OpenAI chunk whose text is `len` letters, then `[DONE]`.
fn one_event(len: usize) -> Bytes {
    let mut body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"".to_vec();
    body.resize(body.len() + len, b'a');
    body.extend_from_slice(b"\"},\"finish_reason\":null}]}\n\ndata: [DONE]\n\n");
    Bytes::from(body)
}

/// `count` token-sized OpenAI chunks, then `[DONE]`.
fn small_events(count: usize) -> Bytes {
    use std::fmt::Write as _;
    let mut body = String::new();
    for i in 0..count {
        let _ = write!(
            body,
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{}\"}},\"finish_reason\":null}}]}}\n\n",
            i % 13
        );
    }
    body.push_str("data: [DONE]\n\n");
    Bytes::from(body)
}

/// Reads `body` in [`CHUNK`]-byte slices and returns how many events came out.
fn read(runtime: &tokio::runtime::Runtime, body: &Bytes) -> usize {
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..body.len())
        .step_by(CHUNK)
        .map(|at| Ok(body.slice(at..body.len().min(at + CHUNK))))
        .collect();
    runtime.block_on(async {
        let events: Vec<StreamEvent> = read_body(
            ProviderKind::OpenAi,
            "bench",
            futures_util::stream::iter(chunks),
            Duration::from_secs(60),
        )
        .collect()
        .await;
        assert!(
            matches!(events.last(), Some(StreamEvent::Finished(_))),
            "{:?}",
            events.last()
        );
        events.len()
    })
}

fn sse_parse(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut group = c.benchmark_group("one_event");
    group.sample_size(10);
    for mib in [1usize, 8] {
        let body = one_event(mib << 20);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("MiB", mib), &body, |b, body| {
            b.iter(|| black_box(read(&runtime, body)));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("small_events");
    group.sample_size(10);
    for count in [10_000usize, 80_000] {
        let body = small_events(count);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("events", count), &body, |b, body| {
            b.iter(|| black_box(read(&runtime, body)));
        });
    }
    group.finish();
}

/// One batch as the runtime hands it over: 1 MiB of `x` in 64 KiB deltas.
fn batch(id: tinychat::app::StreamId) -> Vec<Msg> {
    let at = std::time::Instant::now();
    (0..16)
        .map(|_| Msg::Stream {
            id,
            event: StreamEvent::Delta("x".repeat(64 * 1024)),
            at,
        })
        .collect()
}

fn ui_wakeup(c: &mut Criterion) {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    let mut app = common::app(None);
    let key = |code| Msg::Term(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    app.update(key(KeyCode::Char('h')));
    let id = app
        .update(key(KeyCode::Enter))
        .into_iter()
        .find_map(|e| match e {
            Effect::StartStream { id, .. } => Some(id),
            _ => None,
        })
        .expect("a stream starts");
    for _ in 0..15 {
        app.update_batch(batch(id));
    }
    let mut group = c.benchmark_group("ui_wakeup");
    group.sample_size(10);
    group.bench_function("one_MiB_batch_after_15_MiB_of_one_word", |b| {
        b.iter_batched(
            || batch(id),
            |msgs| black_box(app.update_batch(msgs)),
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, sse_parse, ui_wakeup);
criterion_main!(benches);
