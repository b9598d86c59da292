//! The generation thread: one long-lived std thread owns the loaded model, so the
//! weights are read once per session and the KV cache of the last prompt survives to
//! the next turn (only the new turn is prefilled). Replies are jobs on a channel; the
//! async side only ever waits on a tokio channel, so the UI never blocks on inference.
//!
//! Cancellation is cooperative: the stream handed to the UI carries a guard that raises
//! a flag when dropped, and the engine checks it between layers, chunks and tokens.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use futures_util::stream;
use tokio::sync::mpsc as tokio_mpsc;

use super::gguf::GgufHeader;
use super::model::{Config, Model};
use super::sampler::Sampler;
use super::template::ChatTemplate;
use super::tokenizer::{TokenText, Tokenizer};
use super::{DEFAULT_CONTEXT_CAP, LocalError, LocalSettings};
use crate::conversation::{Finish, Role, Usage};
use crate::provider::think_tags::ThinkSplitter;
use crate::provider::{ChatRequest, ProviderError, ReplyStream, StreamEvent, failed_reply};

/// Prompt tokens per forward call. Throughput levels off around here (SmolLM2-135M on
/// one core: 221 tok/s at 16, 231 at 32, 266 at 64), and a fixed size keeps greedy
/// replies independent of timing. Cancellation does not wait for a chunk: it is
/// checked between layers (a 32-token chunk of SmolLM2 takes ~140 ms, a layer ~5 ms).
pub const PREFILL_CHUNK: usize = 32;

/// Events in flight between the engine and the UI; the engine waits when it is full.
const EVENT_BUFFER: usize = 64;

/// Starts a reply from the GGUF model at `path`.
///
/// Never blocks; every problem arrives as `StreamEvent::Failed` with a
/// `Problem::Local { message }` named by `provider`. Dropping the stream cancels
/// generation within one token (within one layer during a long prompt), and the engine
/// moves on to the next job.
pub fn stream_chat(
    provider: &str,
    settings: &LocalSettings,
    path: &Path,
    request: ChatRequest,
) -> ReplyStream {
    let (events, rx) = tokio_mpsc::channel(EVENT_BUFFER);
    let cancel = Arc::new(AtomicBool::new(false));
    let job = Job {
        provider: provider.to_owned(),
        path: path.to_owned(),
        context: settings.context,
        request,
        events,
        cancel: Arc::clone(&cancel),
    };
    let provider = provider.to_owned();
    let guard = CancelOnDrop(cancel);
    if let Err(message) = submit(job) {
        return failed_reply(ProviderError::local(&provider, message));
    }
    Box::pin(stream::unfold(
        (rx, guard, provider, false),
        |(mut rx, guard, provider, ended)| async move {
            if ended {
                return None;
            }
            let event = rx.recv().await.unwrap_or_else(|| {
                failed(
                    &provider,
                    "the local engine stopped before the reply ended".to_owned(),
                )
            });
            let ended = event.is_terminal();
            Some((event, (rx, guard, provider, ended)))
        },
    ))
}

/// Raises the cancel flag when the reply stream is dropped (Esc, quit, a new reply).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// One reply to produce.
struct Job {
    provider: String,
    path: PathBuf,
    context: Option<usize>,
    request: ChatRequest,
    events: tokio_mpsc::Sender<StreamEvent>,
    cancel: Arc<AtomicBool>,
}

/// The engine's inbox; `None` until the first local reply starts the thread.
static ENGINE: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);

/// Hands `job` to the engine thread, starting it (again, if it died) when needed.
fn submit(job: Job) -> Result<(), String> {
    let mut engine = ENGINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let job = match engine.as_ref() {
        Some(tx) => match tx.send(job) {
            Ok(()) => return Ok(()),
            // The thread is gone (it panicked): start a new one.
            Err(mpsc::SendError(job)) => job,
        },
        None => job,
    };
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("tinychat-local".to_owned())
        .spawn(move || run(&rx))
        .map_err(|e| format!("cannot start the local engine: {e}"))?;
    tx.send(job)
        .map_err(|_| "the local engine stopped at once".to_owned())?;
    *engine = Some(tx);
    Ok(())
}

/// The engine thread: jobs one at a time, for the life of the process.
fn run(jobs: &mpsc::Receiver<Job>) {
    let mut loaded: Option<Loaded> = None;
    while let Ok(job) = jobs.recv() {
        if job.cancel.load(Ordering::Relaxed) {
            continue;
        }
        let out = Output {
            events: &job.events,
            cancel: &job.cancel,
        };
        match prepare(&mut loaded, &job, &out) {
            Ok(state) => {
                if let Err(e) = reply(state, &job.request, &out) {
                    out.send(failed(&job.provider, e.to_string()));
                }
            }
            Err(message) => {
                out.send(failed(&job.provider, message));
            }
        }
    }
}

fn failed(provider: &str, message: String) -> StreamEvent {
    StreamEvent::Failed(ProviderError::local(provider, message))
}

/// Where a job's events go, and whether anyone still listens.
struct Output<'a> {
    events: &'a tokio_mpsc::Sender<StreamEvent>,
    cancel: &'a AtomicBool,
}

impl Output<'_> {
    /// Sends `event`; false when the reply was dropped (cancelled).
    fn send(&self, event: StreamEvent) -> bool {
        !self.cancelled() && self.events.blocking_send(event).is_ok()
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// A model with everything built from its file, and the tokens its cache holds.
struct Loaded {
    path: PathBuf,
    /// Size and modification time: a file replaced on disk is loaded again.
    stamp: (u64, Option<SystemTime>),
    context_setting: Option<usize>,
    model: Model,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    /// Exactly the tokens in the model's KV cache, in order.
    cached: Vec<u32>,
}

fn file_stamp(path: &Path) -> (u64, Option<SystemTime>) {
    std::fs::metadata(path).map_or((0, None), |m| (m.len(), m.modified().ok()))
}

/// The loaded model for `job`, loading it (and announcing that) when it is not the
/// one in memory.
fn prepare<'a>(
    loaded: &'a mut Option<Loaded>,
    job: &Job,
    out: &Output<'_>,
) -> Result<&'a mut Loaded, String> {
    let stamp = file_stamp(&job.path);
    let reusable = loaded.as_ref().is_some_and(|l| {
        l.path == job.path && l.stamp == stamp && l.context_setting == job.context
    });
    if !reusable {
        // Free the old weights before reading new ones.
        *loaded = None;
        // The model's name as the user picked it (an Ollama blob's file name is a hash).
        let name = if job.request.model.is_empty() {
            job.path.file_name().map_or_else(
                || job.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        } else {
            job.request.model.clone()
        };
        let mb = stamp.0.div_ceil(1 << 20);
        out.send(StreamEvent::Preparing(format!("loading {name} ({mb} MB)…")));
        let started = Instant::now();
        let fresh = load(&job.path, job.context, stamp).map_err(|e| describe(&job.path, &e))?;
        tracing::info!(
            path = %job.path.display(),
            elapsed_ms = started.elapsed().as_millis(),
            weights_mb = fresh.model.stats().weight_bytes >> 20,
            requantized = fresh.model.stats().requantized,
            context = fresh.model.context(),
            "local model loaded"
        );
        *loaded = Some(fresh);
    }
    loaded
        .as_mut()
        .ok_or_else(|| "the local model is not loaded".to_owned())
}

fn load(
    path: &Path,
    context: Option<usize>,
    stamp: (u64, Option<SystemTime>),
) -> Result<Loaded, LocalError> {
    let header = GgufHeader::read(path)?;
    let md = header.metadata();
    let config = Config::from_metadata(path, md)?;
    let tokenizer = Tokenizer::from_metadata(&md)?;
    let template = ChatTemplate::from_metadata(&md, &tokenizer)?;
    let resolved = context
        .unwrap_or_else(|| config.context_length.min(DEFAULT_CONTEXT_CAP))
        .max(1);
    let model = Model::load(&header, resolved)?;
    Ok(Loaded {
        path: path.to_owned(),
        stamp,
        context_setting: context,
        model,
        tokenizer,
        template,
        cached: Vec::new(),
    })
}

/// A load error as one line that names the file.
fn describe(path: &Path, e: &LocalError) -> String {
    match e {
        LocalError::Io { .. } | LocalError::BadModel { .. } | LocalError::Unsupported { .. } => {
            e.to_string()
        }
        other => format!("{}: {other}", path.display()),
    }
}

/// The prompt as token ids, with the number of old messages left out to fit.
struct Prompt {
    ids: Vec<u32>,
    dropped: usize,
}

/// Renders and tokenizes the request, leaving out the oldest turns (never the system
/// prompt or the last user turn) until the prompt and `room` reply tokens fit.
fn build_prompt(
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    request: &ChatRequest,
    context: usize,
    room: usize,
) -> Result<Prompt, LocalError> {
    let encode = |start: usize| -> Result<Vec<u32>, LocalError> {
        let text = template.render(
            request.system_prompt.as_deref(),
            &request.messages[start..],
            true,
        )?;
        let mut ids = Vec::with_capacity(text.len() / 3 + 2);
        if tokenizer.add_bos()
            && let Some(bos) = tokenizer.bos_id()
            && !tokenizer.bos_text().is_some_and(|b| text.starts_with(b))
        {
            ids.push(bos);
        }
        ids.extend(tokenizer.encode_with_special(&text)?);
        Ok(ids)
    };
    let fits = |ids: &[u32]| ids.len() + room <= context;
    let ids = encode(0)?;
    if fits(&ids) {
        return Ok(Prompt { ids, dropped: 0 });
    }
    // A shorter history never renders longer, so the first start that fits is found
    // by bisection over the starts that begin with a user turn.
    let starts: Vec<usize> = request
        .messages
        .iter()
        .enumerate()
        .filter(|(i, m)| *i > 0 && m.role == Role::User)
        .map(|(i, _)| i)
        .collect();
    let Some(&last) = starts.last() else {
        return Err(too_long(ids.len(), room, context));
    };
    let last_ids = encode(last)?;
    if !fits(&last_ids) {
        return Err(too_long(last_ids.len(), room, context));
    }
    let (mut lo, mut hi) = (0, starts.len() - 1);
    let mut best = (last, last_ids);
    while lo < hi {
        let mid = usize::midpoint(lo, hi);
        let ids = encode(starts[mid])?;
        if fits(&ids) {
            best = (starts[mid], ids);
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(Prompt {
        ids: best.1,
        dropped: best.0,
    })
}

fn too_long(tokens: usize, room: usize, context: usize) -> LocalError {
    LocalError::Context(format!(
        "the last message needs {tokens} tokens and the reply {room} more, which do not fit \
         the model's {context}-token context; shorten the message or raise [local] context"
    ))
}

/// Generates one reply into `out`.
fn reply(state: &mut Loaded, request: &ChatRequest, out: &Output<'_>) -> Result<(), LocalError> {
    let Loaded {
        model,
        tokenizer,
        template,
        cached,
        ..
    } = state;
    let context = model.context();
    let max_tokens = request.max_tokens.map_or(usize::MAX, |m| m as usize);
    let room = max_tokens.min(context / 4).max(1);
    let prompt = build_prompt(tokenizer, template, request, context, room)?;
    if prompt.dropped > 0 {
        let mut notice = format!("left out {} old message", prompt.dropped);
        if prompt.dropped > 1 {
            notice.push('s');
        }
        let _ = write!(notice, " to fit the model's {context}-token context");
        if !out.send(StreamEvent::Notice(notice)) {
            return Ok(());
        }
    }
    let ids = prompt.ids;
    if ids.is_empty() {
        return Err(LocalError::Template("the prompt rendered empty".to_owned()));
    }

    // Reuse the cache for the prefix this prompt shares with what it holds; at least
    // the last prompt token is run again, for its logits.
    let shared = cached
        .iter()
        .zip(&ids)
        .take_while(|(a, b)| a == b)
        .count()
        .min(ids.len() - 1);
    model.truncate(shared);
    cached.truncate(shared);
    let stop = || out.cancelled();
    let mut logits = Vec::new();
    for chunk in ids[shared..].chunks(PREFILL_CHUNK) {
        let pos = cached.len();
        match model.forward_until(chunk, pos, &stop)? {
            Some(l) => logits = l,
            None => return Ok(()),
        }
        cached.extend_from_slice(chunk);
    }
    tracing::debug!(prompt = ids.len(), reused = shared, "local prompt ready");

    let mut sampler = Sampler::new(request.temperature, fastrand::u64(..));
    let mut text = TokenText::new(tokenizer);
    // Qwen3 and the R1 distills write their thinking as `<think>…</think>` first.
    let mut tags = ThinkSplitter::default();
    let mut pieces = Vec::new();
    let mut generated = 0usize;
    let finish = loop {
        let next = sampler.sample(&logits);
        if tokenizer.is_end_of_turn(next) {
            break Finish::Stop;
        }
        generated += 1;
        tags.push(text.push(next), &mut pieces);
        if !pieces.drain(..).all(|event| out.send(event)) {
            return Ok(());
        }
        if generated >= max_tokens || model.len() >= context {
            break Finish::Length;
        }
        let pos = model.len();
        match model.forward_until(&[next], pos, &stop)? {
            Some(l) => logits = l,
            None => return Ok(()),
        }
        cached.push(next);
    };
    tags.push(text.finish(), &mut pieces);
    tags.finish(&mut pieces);
    if !pieces.into_iter().all(|event| out.send(event)) {
        return Ok(());
    }
    let usage = Usage {
        input_tokens: ids.len() as u64,
        output_tokens: generated as u64,
        ..Usage::default()
    };
    if out.send(StreamEvent::Usage(usage)) {
        out.send(StreamEvent::Finished(finish));
    }
    Ok(())
}
