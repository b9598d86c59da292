//! The in-process `local` provider on a tiny random-weight GGUF written at test time:
//! metadata to config, the forward pass (chunked prefill and cache reuse against a
//! one-shot run), and the engine's reply streams (stop at the end of the turn, token
//! limits, cancellation, context trimming, errors, UTF-8). Offline and fast; one smoke
//! test runs a real model when TINYCHAT_TEST_GGUF names one.

#![cfg(feature = "local")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use tinychat::conversation::{Finish, Role, Usage};
use tinychat::provider::local::gguf::GgufHeader;
use tinychat::provider::local::model::{Arch, Config, Model};
use tinychat::provider::local::template::ChatTemplate;
use tinychat::provider::local::testing::{TINY_CHATML, TinySpec, tiny_bos_id, write_tiny_gguf};
use tinychat::provider::local::tokenizer::Tokenizer;
use tinychat::provider::local::{LocalSettings, stream_chat};
use tinychat::provider::{
    ChatMessage, ChatRequest, DEFAULT_IDLE_TIMEOUT, Problem, ProviderError, ReplyStream,
    StreamEvent,
};
use tokio::sync::{Mutex, MutexGuard};

/// One engine thread serves the whole process: tests that time it or measure the
/// process's CPU must not overlap.
static SERIAL: Mutex<()> = Mutex::const_new(());

async fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// A tiny model file in a fresh directory (kept alive by the returned guard).
fn tiny(spec: &TinySpec) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("tiny-{}.gguf", spec.architecture));
    write_tiny_gguf(&path, spec).unwrap();
    (dir, path)
}

fn message(role: Role, content: &str) -> ChatMessage {
    ChatMessage {
        role,
        content: content.to_owned(),
    }
}

fn request(messages: Vec<ChatMessage>, max_tokens: Option<u32>) -> ChatRequest {
    ChatRequest {
        model: "tiny".to_owned(),
        system_prompt: None,
        messages,
        temperature: Some(0.0),
        max_tokens,
        idle_timeout: DEFAULT_IDLE_TIMEOUT,
        max_retries: 0,
        reasoning_effort: None,
        thinking_budget: None,
    }
}

fn ask(text: &str, max_tokens: Option<u32>) -> ChatRequest {
    request(vec![message(Role::User, text)], max_tokens)
}

fn start(path: &Path, context: Option<usize>, req: ChatRequest) -> ReplyStream {
    let settings = LocalSettings {
        context,
        ..LocalSettings::default()
    };
    stream_chat("local", &settings, path, req)
}

/// Every event of a reply, checking the stream's contract on the way: one terminal
/// event, last.
async fn events(stream: ReplyStream) -> Vec<StreamEvent> {
    let all: Vec<StreamEvent> = tokio::time::timeout(Duration::from_secs(120), stream.collect())
        .await
        .expect("the reply did not end within 2 minutes");
    let terminals = all.iter().filter(|e| e.is_terminal()).count();
    assert_eq!(terminals, 1, "{all:?}");
    assert!(all.last().is_some_and(StreamEvent::is_terminal), "{all:?}");
    all
}

fn text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Delta(d) => Some(d.as_str()),
            _ => None,
        })
        .collect()
}

fn usage(events: &[StreamEvent]) -> Option<Usage> {
    events.iter().find_map(|e| match e {
        StreamEvent::Usage(u) => Some(*u),
        _ => None,
    })
}

fn finish(events: &[StreamEvent]) -> Option<Finish> {
    events.iter().find_map(|e| match e {
        StreamEvent::Finished(f) => Some(*f),
        _ => None,
    })
}

fn failure(events: &[StreamEvent]) -> String {
    match events.last() {
        Some(StreamEvent::Failed(ProviderError {
            provider,
            problem: Problem::Local { message },
        })) => {
            assert_eq!(provider.as_deref(), Some("local"));
            message.clone()
        }
        other => panic!("expected a local failure, got {other:?} in {events:?}"),
    }
}

fn notices(events: &[StreamEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Notice(n) | StreamEvent::Preparing(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// The prompt the engine should build, computed here from the tokenizer and template.
fn prompt_ids(path: &Path, req: &ChatRequest) -> Vec<u32> {
    let header = GgufHeader::read(path).unwrap();
    let md = header.metadata();
    let tok = Tokenizer::from_metadata(&md).unwrap();
    let template = ChatTemplate::from_metadata(&md, &tok).unwrap();
    let text = template
        .render(req.system_prompt.as_deref(), &req.messages, true)
        .unwrap();
    tok.encode_with_special(&text).unwrap()
}

fn load(path: &Path, context: usize) -> Model {
    Model::load(&GgufHeader::read(path).unwrap(), context).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Token ids spread over the tiny vocabulary (bytes and merges, no control tokens).
fn some_tokens(n: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 37 + 11) % 270) as u32).collect()
}

#[test]
fn metadata_gives_the_config_and_the_loader_requantizes_q4_1() {
    for (name, arch) in [
        ("llama", Arch::Llama),
        ("qwen2", Arch::Qwen2),
        ("qwen3", Arch::Qwen3),
    ] {
        let (_dir, path) = tiny(&TinySpec::new(name));
        let header = GgufHeader::read(&path).unwrap();
        let config = Config::from_metadata(&path, header.metadata()).unwrap();
        assert_eq!(
            config,
            Config {
                arch,
                n_layer: 2,
                n_embd: 64,
                n_head: 4,
                n_kv_head: 2,
                head_dim: 16,
                n_ff: 128,
                rms_eps: 1e-6,
                rope_base: 10_000.0,
                context_length: 512,
            }
        );
        let model = Model::load(&header, 100).unwrap();
        assert_eq!(model.stats().requantized, 1, "{name}: the one Q4_1 tensor");
        assert_eq!(model.vocab_size(), 256 + 16 + 3);
        assert_eq!(model.context(), 100);
        assert!(model.is_empty());
    }
}

#[test]
fn chunked_prefill_gives_the_logits_of_one_shot_prefill() {
    for spec in [
        TinySpec::new("llama"),
        TinySpec {
            rope_freqs: true,
            ..TinySpec::new("llama")
        },
        TinySpec::new("qwen2"),
        TinySpec::new("qwen3"),
    ] {
        let (_dir, path) = tiny(&spec);
        let tokens = some_tokens(45);
        let mut model = load(&path, 64);
        let one_shot = model.forward(&tokens, 0).unwrap();
        assert_eq!(model.len(), 45);
        for chunk in [1, 5, 7, 32] {
            let mut model = load(&path, 64);
            let mut logits = Vec::new();
            for (i, c) in tokens.chunks(chunk).enumerate() {
                logits = model.forward(c, i * chunk).unwrap();
            }
            let diff = max_diff(&one_shot, &logits);
            assert!(
                diff < 1e-3,
                "{}: chunks of {chunk} differ by {diff}",
                spec.architecture
            );
        }
        // The comparison means something only if earlier tokens matter to the last.
        let mut other = tokens.clone();
        other[3] = (other[3] + 1) % 256;
        let mut model = load(&path, 64);
        let changed = model.forward(&other, 0).unwrap();
        assert!(
            max_diff(&one_shot, &changed) > 1e-2,
            "{}",
            spec.architecture
        );
    }
}

#[test]
fn a_truncated_cache_continues_like_a_fresh_one() {
    let (_dir, path) = tiny(&TinySpec::new("qwen2"));
    let first = some_tokens(30);
    let mut second = first[..20].to_vec();
    second.extend(some_tokens(47)[30..].iter().map(|t| (t + 3) % 256));
    let mut reused = load(&path, 128);
    reused.forward(&first, 0).unwrap();
    reused.truncate(20);
    assert_eq!(reused.len(), 20);
    let from_cache = reused.forward(&second[20..], 20).unwrap();
    let fresh = load(&path, 128).forward(&second, 0).unwrap();
    let diff = max_diff(&fresh, &from_cache);
    assert!(diff < 1e-3, "differs by {diff}");
    // Running from a position past the cache is refused, not garbage.
    assert!(reused.forward(&[1], reused.len() + 1).is_err());
    // So is running past the context.
    assert!(reused.forward(&some_tokens(100), 40).is_err());
}

#[tokio::test]
async fn greedy_replies_are_deterministic() {
    let _serial = serial().await;
    let (_dir, path) = tiny(&TinySpec::new("llama"));
    let req = ask("Hello there, how is the weather?", Some(12));
    let first = events(start(&path, None, req.clone())).await;
    let second = events(start(&path, None, req.clone())).await;
    assert_eq!(text(&first), text(&second));
    assert_eq!(
        notices(&first),
        ["loading tiny (1 MB)…"],
        "the first reply loads the model"
    );
    assert_eq!(
        notices(&second),
        Vec::<String>::new(),
        "the second reuses it"
    );
    assert_eq!(text(&first), GREEDY_TEXT);
}

/// What the tiny llama model (seed 1) says to the question above, greedily: random
/// byte tokens, so partly not UTF-8 (each broken sequence becomes one U+FFFD).
const GREEDY_TEXT: &str = "\u{fffd}? wor\u{788}\u{fa}/?`\u{fffd}";

#[tokio::test]
async fn the_reply_stops_at_the_end_of_turn_token() {
    let _serial = serial().await;
    for arch in ["llama", "qwen2", "qwen3"] {
        let (_dir, path) = tiny(&TinySpec::replying(arch, "Sure, thx!"));
        let req = ask("Can you help?", None);
        let all = events(start(&path, None, req.clone())).await;
        assert_eq!(text(&all), "Sure, thx!", "{arch}");
        assert_eq!(finish(&all), Some(Finish::Stop), "{arch}");
        assert_eq!(
            usage(&all),
            Some(Usage {
                input_tokens: prompt_ids(&path, &req).len() as u64,
                output_tokens: 10,
                ..Usage::default()
            }),
            "{arch}"
        );
    }
}

#[tokio::test]
async fn max_tokens_ends_the_reply_with_length_and_exact_usage() {
    let _serial = serial().await;
    let (_dir, path) = tiny(&TinySpec::replying("qwen3", "Sure, thx!"));
    let req = ask("Can you help?", Some(3));
    let all = events(start(&path, None, req.clone())).await;
    assert_eq!(text(&all), "Sur");
    assert_eq!(finish(&all), Some(Finish::Length));
    assert_eq!(
        usage(&all),
        Some(Usage {
            input_tokens: prompt_ids(&path, &req).len() as u64,
            output_tokens: 3,
            ..Usage::default()
        })
    );
}

#[tokio::test]
async fn the_reply_stops_at_the_end_of_the_context() {
    let _serial = serial().await;
    let (_dir, path) = tiny(&TinySpec::new("llama"));
    let req = ask("Hi", None);
    let prompt = prompt_ids(&path, &req).len();
    let context = 64;
    let all = events(start(&path, Some(context), req)).await;
    let u = usage(&all).unwrap();
    // Either the model ended its turn early, or it ran until the cache was full.
    if finish(&all) == Some(Finish::Length) {
        assert_eq!(u.input_tokens + u.output_tokens, context as u64 + 1);
    } else {
        assert_eq!(finish(&all), Some(Finish::Stop));
    }
    assert_eq!(u.input_tokens, prompt as u64);
}

#[tokio::test]
async fn bos_is_added_once_when_the_model_asks_for_it() {
    let _serial = serial().await;
    let req = ask("Can you help?", None);
    // The template does not write BOS: the engine puts it in front.
    let spec = TinySpec {
        add_bos: true,
        ..TinySpec::replying("llama", "ok")
    };
    let (_dir, path) = tiny(&spec);
    let all = events(start(&path, None, req.clone())).await;
    let prompt = prompt_ids(&path, &req);
    assert_eq!(text(&all), "ok");
    assert_eq!(
        usage(&all).map(|u| u.input_tokens),
        Some(prompt.len() as u64 + 1)
    );
    // The template writes it itself: not a second time.
    let spec = TinySpec {
        chat_template: format!("{{{{ bos_token }}}}{TINY_CHATML}"),
        ..spec
    };
    let (_dir, path) = tiny(&spec);
    let all = events(start(&path, None, req.clone())).await;
    let prompt = prompt_ids(&path, &req);
    assert_eq!(prompt.first(), Some(&tiny_bos_id()));
    assert_ne!(prompt.get(1), Some(&tiny_bos_id()));
    assert_eq!(
        usage(&all).map(|u| u.input_tokens),
        Some(prompt.len() as u64)
    );
}

#[tokio::test]
async fn characters_split_over_byte_tokens_arrive_whole() {
    let _serial = serial().await;
    let (_dir, path) = tiny(&TinySpec::replying("qwen2", "né😀!"));
    let all = events(start(&path, None, ask("Say it", None))).await;
    let deltas: Vec<&str> = all
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Delta(d) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, ["n", "é", "😀", "!"]);
    assert_eq!(
        usage(&all).map(|u| u.output_tokens),
        Some(8),
        "8 byte tokens"
    );
    assert_eq!(finish(&all), Some(Finish::Stop));
}

#[tokio::test]
async fn a_follow_up_reuses_the_cache_and_answers_like_a_fresh_engine() {
    let _serial = serial().await;
    let (_dir, path) = tiny(&TinySpec::new("qwen3"));
    let first = ask("Tell me a story about the sea.", Some(8));
    let answer = text(&events(start(&path, None, first.clone())).await);
    let mut follow_up = first.messages.clone();
    follow_up.push(message(Role::Assistant, &answer));
    follow_up.push(message(Role::User, "And then what happened?"));
    let follow_up = request(follow_up, Some(8));
    let t = Instant::now();
    let reused = events(start(&path, None, follow_up.clone())).await;
    let reused_time = t.elapsed();
    assert_eq!(notices(&reused), Vec::<String>::new(), "no reload");
    // The same file under another name is a fresh load with an empty cache.
    let copy = path.with_file_name("copy.gguf");
    std::fs::copy(&path, &copy).unwrap();
    let fresh = events(start(&copy, None, follow_up)).await;
    assert_eq!(notices(&fresh), ["loading tiny (1 MB)…"]);
    assert_eq!(text(&reused), text(&fresh));
    assert_eq!(usage(&reused), usage(&fresh));
    eprintln!("follow-up with the cache reused: {reused_time:?}");
}

/// A prompt of several thousand tokens: its prefill takes the tiny model seconds in
/// a debug build, long enough to be interrupted.
fn long_question(seed: &str) -> String {
    let mut s = String::from(seed);
    for i in 0..700 {
        let _ = write!(s, " word{i} is here.");
    }
    s
}

#[tokio::test]
async fn dropping_the_stream_cancels_prefill_and_decoding() {
    let _serial = serial().await;
    let spec = TinySpec {
        context_length: 16_384,
        ..TinySpec::new("llama")
    };
    let (_dir, path) = tiny(&spec);
    let context = Some(16_384);
    // Load and time one full long prefill (one token of reply).
    let warm = events(start(&path, context, ask("warm up", Some(1)))).await;
    assert!(finish(&warm).is_some(), "{warm:?}");
    let long = ask(&long_question("First:"), Some(1));
    assert!(prompt_ids(&path, &long).len() > 4000);
    let t = Instant::now();
    let all = events(start(&path, context, long)).await;
    let full_prefill = t.elapsed();
    assert!(finish(&all).is_some(), "{all:?}");

    // Mid-prefill: a different long prompt (no shared prefix), dropped after 50 ms.
    let stream = start(&path, context, ask(&long_question("Second:"), Some(1)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(stream);
    let t = Instant::now();
    let next = events(start(&path, context, ask("quick one", Some(2)))).await;
    let waited = t.elapsed();
    assert!(finish(&next).is_some(), "{next:?}");
    assert!(
        waited < full_prefill / 3,
        "the next reply took {waited:?}; a whole prefill takes {full_prefill:?}"
    );

    // Mid-decode: a reply allowed to run to the end of the context, dropped after a
    // few tokens; the next reply must not wait for it.
    let mut stream = start(&path, context, ask("Go on forever", None));
    let mut deltas = 0;
    while deltas < 3 {
        match stream.next().await {
            Some(StreamEvent::Delta(_)) => deltas += 1,
            Some(e) if e.is_terminal() => panic!("ended early: {e:?}"),
            Some(_) => {}
            None => panic!("ended without a terminal event"),
        }
    }
    drop(stream);
    let t = Instant::now();
    let next = events(start(&path, context, ask("quick two", Some(2)))).await;
    assert!(finish(&next).is_some(), "{next:?}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "the next reply waited {:?}",
        t.elapsed()
    );
}

/// The smallest number of leading messages to leave out so that the prompt of the
/// rest, starting with a user turn, fits `context - room` (computed the slow way).
fn expected_dropped(path: &Path, req: &ChatRequest, context: usize, room: usize) -> usize {
    (0..req.messages.len())
        .filter(|&i| req.messages[i].role == Role::User)
        .find(|&i| {
            let mut r = req.clone();
            r.messages.drain(..i);
            prompt_ids(path, &r).len() + room <= context
        })
        .unwrap()
}

#[tokio::test]
async fn old_turns_are_left_out_to_fit_the_context_with_a_notice() {
    let _serial = serial().await;
    let (_dir, path) = tiny(&TinySpec::replying("llama", "ok"));
    let mut messages = Vec::new();
    for i in 0..8 {
        messages.push(message(
            Role::User,
            &format!("question number {i} about the weather"),
        ));
        messages.push(message(
            Role::Assistant,
            &format!("answer number {i}, it is sunny"),
        ));
    }
    messages.push(message(Role::User, "and tomorrow?"));
    let mut req = request(messages, Some(16));
    req.system_prompt = Some("Be brief.".to_owned());
    let context = 160;
    let dropped = expected_dropped(&path, &req, context, 16);
    assert!(dropped >= 2, "the test needs trimming: {dropped}");
    let all = events(start(&path, Some(context), req.clone())).await;
    assert!(
        notices(&all).contains(&format!(
            "left out {dropped} old messages to fit the model's {context}-token context"
        )),
        "{all:?}"
    );
    assert_eq!(text(&all), "ok");
    let mut kept = req.clone();
    kept.messages.drain(..dropped);
    assert_eq!(
        usage(&all).map(|u| u.input_tokens),
        Some(prompt_ids(&path, &kept).len() as u64),
        "the system prompt and the newest turns are kept"
    );
}

#[tokio::test]
async fn a_last_turn_too_long_for_the_context_fails_clearly() {
    let _serial = serial().await;
    let (_dir, path) = tiny(&TinySpec::new("llama"));
    let all = events(start(&path, Some(64), ask(&"long words ".repeat(40), None))).await;
    let message = failure(&all);
    assert!(message.contains("do not fit"), "{message}");
    assert!(message.contains("64-token context"), "{message}");
}

#[tokio::test]
async fn files_that_are_not_usable_models_fail_with_their_reason() {
    let _serial = serial().await;
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("notes.gguf");
    std::fs::write(&junk, "these are my notes, not a model").unwrap();
    let message = failure(&events(start(&junk, None, ask("hi", None))).await);
    assert!(message.contains("not a GGUF model file"), "{message}");
    assert!(message.contains("notes.gguf"), "{message}");

    let (_dir, gemma) = tiny(&TinySpec::new("gemma3"));
    let message = failure(&events(start(&gemma, None, ask("hi", None))).await);
    assert!(message.contains("gemma3"), "{message}");
    assert!(message.contains("not supported"), "{message}");
    assert!(message.contains("tiny-gemma3.gguf"), "{message}");

    let missing = dir.path().join("missing.gguf");
    let message = failure(&events(start(&missing, None, ask("hi", None))).await);
    assert!(message.contains("missing.gguf"), "{message}");

    // A good model still works after the failures.
    let (_dir, good) = tiny(&TinySpec::replying("qwen2", "yes"));
    assert_eq!(
        text(&events(start(&good, None, ask("ok?", None))).await),
        "yes"
    );
}

/// utime + stime of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_process_is_idle_after_a_reply() {
    let _serial = serial().await;
    let (_dir, path) = tiny(&TinySpec::new("qwen2"));
    let all = events(start(
        &path,
        None,
        ask(&"Is the engine idle now? ".repeat(10), Some(16)),
    ))
    .await;
    assert!(finish(&all).is_some(), "{all:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_ticks() - before;
    // 100 ticks a second per busy core; a spinning worker would show ~100.
    assert!(used <= 5, "{used} ticks of CPU in 1 s of idling");
}

/// A real model, when TINYCHAT_TEST_GGUF names one (CI sets it): the greedy answer
/// to a factual question ends its turn and is right. With SmolLM2-135M the system
/// prompt matters: without one its template puts in its own ("You are a helpful AI
/// assistant named SmolLM…") and the greedy reply, in llama.cpp as here, rambles in
/// French ("L'Étoile, la …") until the limit; with this one both answer
/// "The capital of France is Paris." in 7 tokens.
#[tokio::test]
async fn smoke_test_with_a_real_model() {
    let Some(path) = std::env::var_os("TINYCHAT_TEST_GGUF") else {
        eprintln!("TINYCHAT_TEST_GGUF is not set; skipping");
        return;
    };
    let _serial = serial().await;
    let mut req = ask("What is the capital of France?", Some(64));
    req.system_prompt = Some("You are a helpful assistant.".to_owned());
    let all = events(start(Path::new(&path), None, req)).await;
    let answer = text(&all);
    eprintln!("{answer:?} {:?}", usage(&all));
    assert_eq!(finish(&all), Some(Finish::Stop), "{all:?}");
    assert!(answer.contains("Paris"), "{answer}");
    assert!(usage(&all).is_some_and(|u| u.output_tokens < 64));
}
