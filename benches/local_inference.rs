//! Speed of the in-process `local` provider: model load, prefill and decode tokens per
//! second on the tiny test model, and on a real GGUF when TINYCHAT_TEST_GGUF names one.
//! For a real model it first prints a summary measured through the engine itself:
//! load time, first-token latency of a short prompt (cold and warm), decode rate,
//! peak RSS, and the process's CPU use while idle after a reply.
//!
//! The kernels' thread count comes from CANDLE_NUM_THREADS (read once), e.g.
//! `CANDLE_NUM_THREADS=1 TINYCHAT_TEST_GGUF=model.gguf cargo bench --bench local_inference`.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "benchmark set-up: a failure is a broken bench; the summary is printed"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use futures_util::StreamExt;
use tinychat::conversation::Role;
use tinychat::provider::local::gguf::GgufHeader;
use tinychat::provider::local::model::Model;
use tinychat::provider::local::testing::{TinySpec, write_tiny_gguf};
use tinychat::provider::local::{LocalSettings, PREFILL_CHUNK, stream_chat};
use tinychat::provider::{ChatMessage, ChatRequest, DEFAULT_IDLE_TIMEOUT, StreamEvent};

const PREFILL_TOKENS: usize = 128;
const DECODE_TOKENS: usize = 32;
const CONTEXT: usize = 1024;

/// Ids spread over the low vocabulary (ordinary text tokens in every model).
fn tokens(n: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 37 + 11) % 250) as u32).collect()
}

fn load(path: &Path) -> Model {
    Model::load(&GgufHeader::read(path).expect("GGUF header"), CONTEXT).expect("model")
}

fn prefill(model: &mut Model, ids: &[u32]) {
    model.truncate(0);
    for (i, chunk) in ids.chunks(PREFILL_CHUNK).enumerate() {
        black_box(model.forward(chunk, i * PREFILL_CHUNK).expect("prefill"));
    }
}

fn bench_model(c: &mut Criterion, name: &str, path: &Path, samples: usize) {
    let mut group = c.benchmark_group("local");
    group.sample_size(samples);
    group.bench_function(BenchmarkId::new("load", name), |b| {
        b.iter(|| black_box(load(path)));
    });
    let mut model = load(path);
    let ids = tokens(PREFILL_TOKENS);
    group.throughput(Throughput::Elements(PREFILL_TOKENS as u64));
    group.bench_function(BenchmarkId::new("prefill", name), |b| {
        b.iter(|| prefill(&mut model, &ids));
    });
    group.throughput(Throughput::Elements(DECODE_TOKENS as u64));
    group.bench_function(BenchmarkId::new("decode", name), |b| {
        prefill(&mut model, &ids[..16]);
        b.iter(|| {
            model.truncate(16);
            let mut next = 42;
            for _ in 0..DECODE_TOKENS {
                let pos = model.len();
                let logits = model.forward(&[next], pos).expect("decode");
                next = tinychat::provider::local::sampler::argmax(&logits);
            }
            black_box(next)
        });
    });
    group.finish();
}

fn request(text: &str, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        model: "bench".to_owned(),
        system_prompt: Some("You are a helpful assistant.".to_owned()),
        messages: vec![ChatMessage {
            role: Role::User,
            content: text.to_owned(),
        }],
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        idle_timeout: DEFAULT_IDLE_TIMEOUT,
        max_retries: 0,
        reasoning_effort: None,
        thinking_budget: None,
    }
}

/// Time to the first reply text, and the decode rate after it.
async fn reply_timing(path: &Path, text: &str, max_tokens: u32) -> (Duration, f64, u64) {
    let started = Instant::now();
    let mut stream = stream_chat(
        "local",
        &LocalSettings::default(),
        path,
        request(text, max_tokens),
    );
    let mut first = None;
    let mut output = 0;
    while let Some(event) = stream.next().await {
        match event {
            StreamEvent::Delta(_) if first.is_none() => first = Some(Instant::now()),
            StreamEvent::Usage(u) => output = u.output_tokens,
            StreamEvent::Failed(e) => panic!("reply failed: {e}"),
            _ => {}
        }
    }
    let first = first.expect("some reply text");
    let rate = output.saturating_sub(1) as f64 / first.elapsed().as_secs_f64();
    (first - started, rate, output)
}

/// `VmHWM` (peak resident set) of this process, in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// utime + stime of this process, in clock ticks (100 per second per busy core).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The engine-level figures for a real model, printed once before the benches.
fn summary(path: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let threads = std::env::var("CANDLE_NUM_THREADS").unwrap_or_else(|_| "default".into());
        let (cold, _, _) = reply_timing(path, "What is the capital of France?", 8).await;
        let (warm, _, _) = reply_timing(path, "Name three colours.", 1).await;
        let (_, rate, n) = reply_timing(path, "Write a long story about a dragon.", 128).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = cpu_ticks();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = before.zip(cpu_ticks()).map(|(a, b)| b - a);
        eprintln!(
            "summary ({}; CANDLE_NUM_THREADS={threads}): first token cold (load + prompt) {:.0} ms, \
             warm {:.0} ms; decode {rate:.1} tok/s over {n} tokens; peak RSS {} MiB; \
             CPU while idle for 2 s after a reply: {} ticks",
            path.display(),
            cold.as_secs_f64() * 1000.0,
            warm.as_secs_f64() * 1000.0,
            peak_rss_mib().map_or("?".into(), |m| m.to_string()),
            idle.map_or("?".into(), |t| t.to_string()),
        );
    });
}

fn main() {
    let real = std::env::var_os("TINYCHAT_TEST_GGUF").map(PathBuf::from);
    if let Some(path) = &real {
        summary(path);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let tiny = dir.path().join("tiny.gguf");
    write_tiny_gguf(&tiny, &TinySpec::new("qwen2")).expect("tiny model");
    let mut c = Criterion::default().configure_from_args();
    bench_model(&mut c, "tiny", &tiny, 50);
    if let Some(path) = &real {
        let name = path
            .file_stem()
            .map_or_else(|| "real".to_owned(), |s| s.to_string_lossy().into_owned());
        bench_model(&mut c, &name, path, 10);
    }
    c.final_summary();
}
