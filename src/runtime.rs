//! The event loop: terminal events, provider streams and background jobs in, frames out.
//!
//! One `tokio::select!` over crossterm's `EventStream`, a bounded channel from the stream
//! tasks (a slow UI applies back-pressure instead of growing memory), a channel for
//! background jobs, the signals, and a frame deadline that exists only while a frame is
//! pending (design §4). Nothing wakes the process while idle: no tick, no interval.
//! Effects returned by `App::update` are carried out here; this is the only place that
//! does I/O on the app's behalf.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::app::{App, DownloadUpdate, Effect, IndexChange, Msg, StreamId};
use crate::clipboard::Clipboard;
use crate::conversation::Conversation;
use crate::deadline::Deadline;
use crate::external_editor;
use crate::frames::FrameSchedule;
use crate::provider::{self, ProviderSpec};
use crate::save_queue::SaveQueue;
use crate::storage::export::{Replace, export_to_file_with};
use crate::storage::{ConversationStore, StorageError};
use crate::terminal::{TerminalGuard, Tui, draw_frame};
use crate::ui::{self, theme::Theme};

/// At most one frame per this period (~60 frames/s); deltas in between are coalesced.
pub const FRAME_PERIOD: Duration = Duration::from_millis(16);
/// Saved conversations listed in the welcome text.
const RECENT: usize = 5;
/// Room in the stream channel before a stream task waits for the UI.
const STREAM_CHANNEL: usize = 256;
/// Most stream events taken in one wake-up: a bound on the batch, so the loop gets
/// back to keys and frames even if the stream tasks kept the channel full.
const STREAM_BATCH: usize = 4096;
/// Most reply text taken in one wake-up, for the same reason: a server sending huge
/// events as fast as it can must not make one batch take long to apply (issue 10).
const STREAM_BATCH_BYTES: usize = 1024 * 1024;
/// Most terminal events taken in one wake-up. Keys that waited together are applied
/// together (typed text as one edit, `app::typing`), and the bound brings the loop
/// back to signals, streams and frames even while keys keep arriving.
const KEY_BATCH: usize = 1024;
/// Terminal events applied together when no quit key is among them.
const KEY_PIECE: usize = 256;

/// How long the loop waits for one more terminal event of a burst it is reading.
const BURST_GAP: Duration = Duration::from_millis(1);

/// The next terminal event if one is already waiting (read, or in the terminal's input
/// buffer). Polled directly rather than through the `EventStream`: crossterm's
/// level-triggered source (`use-dev-tty`) answers a zero-timeout poll without looking
/// at events it has already parsed, so the stream would hand over each event of a
/// burst through its wake-up thread, one turn of this loop each (about 150 µs a key).
/// The default source has the opposite bug: its edge-triggered epoll leaves what it
/// did not read in the terminal until the next key arrives, so a burst over 2 KiB
/// stopped being read (issue 10).
fn waiting_event() -> Poll<Option<std::io::Result<Event>>> {
    match crossterm::event::poll(BURST_GAP) {
        Ok(true) => Poll::Ready(Some(crossterm::event::read())),
        Ok(false) => Poll::Pending,
        Err(e) => Poll::Ready(Some(Err(e))),
    }
}

/// What background jobs report back.
enum Job {
    App(Msg),
    SaveDone(Result<Option<crate::storage::Saved>, StorageError>),
}

/// Carries out the saves [`SaveQueue`] lets start, each on a blocking thread that
/// reports back with [`Job::SaveDone`].
struct Saver {
    store: Arc<ConversationStore>,
    jobs: mpsc::UnboundedSender<Job>,
    queue: SaveQueue<Conversation>,
}

impl Saver {
    fn request(&mut self, conversation: Conversation) {
        let id = conversation.id.clone();
        if let Some(now) = self.queue.request(&id, conversation) {
            self.start(now);
        }
    }

    fn done(&mut self) {
        if let Some(next) = self.queue.done() {
            self.start(next);
        }
    }

    fn start(&self, conversation: Conversation) {
        start_save(&self.store, &self.jobs, conversation);
    }

    /// Waits for the running and the waiting saves, so nothing typed or received is
    /// lost on the way out.
    async fn finish(&mut self, job_rx: &mut mpsc::UnboundedReceiver<Job>) {
        let store = Arc::clone(&self.store);
        let jobs = self.jobs.clone();
        self.queue
            .drain(
                |next| start_save(&store, &jobs, next),
                async || loop {
                    match job_rx.recv().await {
                        Some(Job::SaveDone(_)) => return true,
                        Some(Job::App(_)) => {}
                        None => return false,
                    }
                },
            )
            .await;
    }
}

fn start_save(
    store: &Arc<ConversationStore>,
    jobs: &mpsc::UnboundedSender<Job>,
    conversation: Conversation,
) {
    let store = Arc::clone(store);
    let jobs = jobs.clone();
    tokio::task::spawn_blocking(move || {
        let result = store.save(&conversation);
        if let Err(e) = &result {
            tracing::warn!(error = %e, "autosave failed");
        }
        // The loop may be gone when quitting is abandoned; nothing to report then.
        let _ = jobs.send(Job::SaveDone(result));
    });
}

/// Runs the UI until the user quits or a signal arrives. The conversation is saved
/// before this returns. `started` is when the process began, for the first-frame log.
#[allow(
    clippy::too_many_lines,
    reason = "the one event loop reads best in one place (design §4)"
)]
pub async fn run(
    started: Instant,
    mut app: App,
    start_effects: Vec<Effect>,
    terminal: &mut Tui,
    guard: &mut TerminalGuard,
    store: ConversationStore,
) -> io::Result<()> {
    let theme = Theme::for_terminal(app.config().theme, &|name| std::env::var(name).ok());
    app.set_code_theme(theme.code_theme);
    let (stream_tx, mut stream_rx) = mpsc::channel::<Msg>(STREAM_CHANNEL);
    let (job_tx, mut job_rx) = mpsc::unbounded_channel::<Job>();
    let store = Arc::new(store);
    let mut saver = Saver {
        store: Arc::clone(&store),
        jobs: job_tx.clone(),
        queue: SaveQueue::default(),
    };
    let mut streams: HashMap<StreamId, AbortHandle> = HashMap::new();
    let mut download: Option<AbortHandle> = None;
    let mut events = EventStream::new();
    let mut signals = Signals::new();
    // Kept for the whole run: on X11 the owner of the selection serves it.
    let mut clipboard = Clipboard::from_env();

    let size = terminal.size()?;
    app.resize(size.width, size.height);
    terminal.draw(|f| ui::draw(f, &app, &theme))?;
    let mut frames = FrameSchedule::new(FRAME_PERIOD);
    frames.drawn(tokio::time::Instant::now());
    tracing::info!(
        since_start_us = started.elapsed().as_micros(),
        "first frame drawn"
    );
    // Built after the first frame: loading the system's root certificates takes a few
    // milliseconds that the user should not wait for.
    let client = match provider::http_client() {
        Ok(c) => c,
        Err(e) => return Err(io::Error::other(e.to_string())),
    };

    let ctx = Context {
        client,
        stream_tx,
        job_tx,
        store,
    };
    // A resize event arrived since the last frame: the next one asks the terminal for
    // its size (`terminal::draw_frame`).
    let mut resized = false;
    let mut tick = Deadline::default();
    let mut pending = start_effects;
    let mut queued: VecDeque<Msg> = VecDeque::new();
    // Background history batches since the history was last fully measured, and the
    // longest of them (logged at debug level when they are done).
    let mut batches: (u32, Duration) = (0, Duration::ZERO);

    loop {
        // Carry out what the last update asked for.
        for effect in std::mem::take(&mut pending) {
            match effect {
                Effect::Redraw => frames.request(tokio::time::Instant::now()),
                Effect::Save(conversation) => saver.request(conversation),
                Effect::StartStream {
                    id,
                    provider,
                    request,
                } => {
                    let handle = ctx.start_stream(id, &provider, request);
                    streams.insert(id, handle);
                    // The app has no clock: this tick tells it when the wait began, so
                    // the status line can count the seconds a silent model thinks.
                    let _ = ctx.job_tx.send(Job::App(Msg::Tick(Instant::now())));
                }
                Effect::CancelStream(id) => {
                    if let Some(handle) = streams.remove(&id) {
                        // Dropping the task drops the response: the connection closes now.
                        handle.abort();
                    }
                }
                Effect::Export {
                    path,
                    conversation,
                    replace,
                } => ctx.export(path, conversation, replace),
                Effect::LoadModels(spec) => ctx.load_models(spec),
                Effect::StartDownload(spec) => {
                    if let Some(old) = download.replace(ctx.download(spec)) {
                        old.abort();
                    }
                }
                Effect::CancelDownload => {
                    if let Some(running) = download.take() {
                        running.abort();
                    }
                }
                Effect::LoadIndex => ctx.on_disk(|store| Msg::IndexLoaded(store.index())),
                Effect::LoadRecent => ctx.on_disk(|store| {
                    let recent = store.list().into_iter().filter(|e| e.problem.is_none());
                    Msg::RecentLoaded(recent.take(RECENT).collect())
                }),
                Effect::OpenConversation { id } => {
                    ctx.on_disk(move |store| Msg::Opened(store.open(&id)));
                }
                Effect::DeleteConversation { id } => ctx.on_disk(move |store| {
                    let result = store.delete(&id).map(|()| IndexChange::Deleted);
                    Msg::IndexChanged { id, result }
                }),
                Effect::RenameConversation { id, title } => ctx.on_disk(move |store| {
                    let result = store
                        .rename(&id, &title)
                        .map(|()| IndexChange::Renamed(title));
                    Msg::IndexChanged { id, result }
                }),
                Effect::EditExternally(draft) => {
                    // The editor owns the terminal; stop reading keys until it returns.
                    drop(events);
                    let result = external_editor::edit(&draft, guard, terminal);
                    events = EventStream::new();
                    let size = terminal.size()?;
                    resized = true;
                    let mut more = app.update(Msg::Term(Event::Resize(size.width, size.height)));
                    more.extend(app.update(Msg::EditorDone(result)));
                    pending.extend(more);
                }
                Effect::Copy { text, what } => {
                    // OSC 52 goes out through the backend's stdout, between frames.
                    let result = clipboard.copy(&text, terminal.backend_mut());
                    match &result {
                        Ok(how) => tracing::info!(what, %how, bytes = text.len(), "copied"),
                        Err(e) => tracing::warn!(what, error = %e, "copy failed"),
                    }
                    pending.extend(app.update(Msg::Copied(result)));
                }
                Effect::Quit => {}
            }
        }
        if !pending.is_empty() {
            continue;
        }
        if app.is_quitting() {
            break;
        }

        // A signal comes first, however busy the loop is. The runtime notices a signal
        // only while this task is suspended, and a flood of keys or deltas could keep
        // every branch below ready for minutes: yielding here lets it look.
        tokio::task::yield_now().await;
        if let Poll::Ready(()) = futures_util::poll!(std::pin::pin!(signals.recv())) {
            pending.extend(app.update(Msg::Shutdown));
            continue;
        }
        // Terminal events waiting to be applied, for at most a frame's time per turn, so
        // a signal is seen between pieces however long the queue is. Up to a quit key
        // they go in one piece: the edits before it are then skipped (`app::typing`).
        if !queued.is_empty() {
            let started = Instant::now();
            while !queued.is_empty() && started.elapsed() < FRAME_PERIOD && !app.is_quitting() {
                let n = queued
                    .iter()
                    .rposition(|m| app.is_quit_key(m))
                    .map_or(KEY_PIECE.min(queued.len()), |quit| quit + 1);
                let piece: Vec<Msg> = queued.drain(..n).collect();
                pending.extend(app.update_batch(piece));
            }
            continue;
        }

        // A frame whose time has come is drawn now rather than by a turn of the select
        // below: while a reply streams at a steady pace that is every frame, and each
        // turn polls the terminal, the signals and the timers once more.
        if frames
            .due()
            .is_some_and(|due| due <= tokio::time::Instant::now())
        {
            draw_frame(terminal, std::mem::take(&mut resized), |f| {
                ui::draw(f, &app, &theme);
            })?;
            frames.drawn(tokio::time::Instant::now());
        }

        // Armed only while a retry countdown or an autosave deadline is pending: idle
        // has no timer (design §1.3).
        tick.set(app.next_tick().map(tokio::time::Instant::from_std));
        let msgs: Vec<Msg> = tokio::select! {
            event = events.next() => {
                let batch = &mut queued;
                let mut next = Poll::Ready(event);
                // Every event that is already waiting, up to the bound.
                while let Poll::Ready(event) = next {
                    match event {
                        Some(Ok(event)) => {
                            resized |= matches!(event, Event::Resize(..));
                            batch.push_back(Msg::Term(event));
                        }
                        Some(Err(e)) => {
                            tracing::error!(error = %e, "terminal input failed");
                            batch.push_back(Msg::Shutdown);
                            break;
                        }
                        None => {
                            batch.push_back(Msg::Shutdown);
                            break;
                        }
                    }
                    if batch.len() >= KEY_BATCH {
                        break;
                    }
                    next = waiting_event();
                }
                Vec::new()
            },
            Some(first) = stream_rx.recv() => {
                // Coalesce: apply every event already waiting before the next frame.
                let mut bytes = delta_bytes(&first);
                let mut batch = vec![first];
                while batch.len() < STREAM_BATCH && bytes < STREAM_BATCH_BYTES {
                    match stream_rx.try_recv() {
                        Ok(m) => {
                            bytes += delta_bytes(&m);
                            batch.push(m);
                        }
                        Err(_) => break,
                    }
                }
                batch
            }
            Some(job) = job_rx.recv() => match job {
                Job::App(msg) => vec![msg],
                Job::SaveDone(result) => {
                    saver.done();
                    vec![Msg::Saved(result)]
                }
            },
            () = frames.wait() => {
                draw_frame(terminal, std::mem::take(&mut resized), |f| {
                    ui::draw(f, &app, &theme);
                })?;
                frames.drawn(tokio::time::Instant::now());
                Vec::new()
            }
            () = tick.wait() => vec![Msg::Tick(Instant::now())],
            () = signals.recv() => vec![Msg::Shutdown],
            // History still being measured (a long conversation opened, a resize): one
            // bounded batch per turn, and only while no terminal event waits. Armed
            // only while work is pending, so idle stays silent.
            () = std::future::ready(()), if app.layout_pending() => {
                if !matches!(crossterm::event::poll(Duration::ZERO), Ok(true)) {
                    let started = Instant::now();
                    pending.extend(app.lay_out_more());
                    batches.0 += 1;
                    batches.1 = batches.1.max(started.elapsed());
                    if !app.layout_pending() {
                        let (count, longest) = std::mem::take(&mut batches);
                        tracing::debug!(count, longest_us = longest.as_micros(), "history measured");
                    }
                }
                Vec::new()
            }
        };
        for msg in &msgs {
            if let Msg::Stream { id, event, .. } = msg
                && event.is_terminal()
            {
                streams.remove(id);
            }
        }
        pending.extend(app.update_batch(msgs));
    }

    for (_, handle) in streams.drain() {
        handle.abort();
    }
    saver.finish(&mut job_rx).await;
    Ok(())
}

/// The most reply text one stream message carries. A server may put megabytes in one
/// event (up to `MAX_EVENT_BYTES`); cut into pieces, its text is applied a batch of at
/// most [`STREAM_BATCH_BYTES`] at a time, with keys read in between (issue 10).
const DELTA_PIECE: usize = 64 * 1024;

/// `event` as it goes to the UI: a long delta cut into pieces of at most
/// [`DELTA_PIECE`] bytes at character boundaries, anything else as it is.
fn in_pieces(event: provider::StreamEvent) -> Vec<provider::StreamEvent> {
    let provider::StreamEvent::Delta(text) = event else {
        return vec![event];
    };
    if text.len() <= DELTA_PIECE {
        return vec![provider::StreamEvent::Delta(text)];
    }
    let mut pieces = Vec::with_capacity(text.len() / DELTA_PIECE + 1);
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let mut end = rest.len().min(DELTA_PIECE);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        pieces.push(provider::StreamEvent::Delta(rest[..end].to_owned()));
        rest = &rest[end..];
    }
    pieces
}

/// The reply text a message carries (0 for anything but a delta).
fn delta_bytes(msg: &Msg) -> usize {
    match msg {
        Msg::Stream {
            event: provider::StreamEvent::Delta(text),
            ..
        } => text.len(),
        _ => 0,
    }
}

/// Handles the runtime hands to effects.
struct Context {
    client: reqwest::Client,
    stream_tx: mpsc::Sender<Msg>,
    job_tx: mpsc::UnboundedSender<Job>,
    store: Arc<ConversationStore>,
}

impl Context {
    /// Runs disk work on a blocking thread and reports its message to the loop.
    fn on_disk(&self, work: impl FnOnce(&ConversationStore) -> Msg + Send + 'static) {
        let store = Arc::clone(&self.store);
        let jobs = self.job_tx.clone();
        tokio::task::spawn_blocking(move || {
            let _ = jobs.send(Job::App(work(&store)));
        });
    }

    fn start_stream(
        &self,
        id: StreamId,
        spec: &ProviderSpec,
        request: provider::ChatRequest,
    ) -> AbortHandle {
        let mut stream = provider::stream_chat(&self.client, spec, request);
        let tx = self.stream_tx.clone();
        let provider_name = spec.name.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut deltas = 0u64;
            'events: while let Some(event) = stream.next().await {
                if matches!(event, provider::StreamEvent::Delta(_)) {
                    deltas += 1;
                }
                for event in in_pieces(event) {
                    let msg = Msg::Stream {
                        id,
                        event,
                        at: Instant::now(),
                    };
                    if tx.send(msg).await.is_err() {
                        break 'events;
                    }
                }
            }
            tracing::info!(
                provider = %provider_name,
                deltas,
                elapsed_ms = started.elapsed().as_millis(),
                "stream ended"
            );
        });
        task.abort_handle()
    }

    fn export(&self, path: String, conversation: Conversation, replace: Replace) {
        let jobs = self.job_tx.clone();
        tokio::task::spawn_blocking(move || {
            let msg = Msg::Exported(export_to_file_with(
                &conversation,
                Path::new(&path),
                None,
                replace,
            ));
            let _ = jobs.send(Job::App(msg));
        });
    }

    /// Runs the first-run download; progress and the outcome come back as messages.
    fn download(&self, spec: ProviderSpec) -> AbortHandle {
        let jobs = self.job_tx.clone();
        tokio::spawn(async move {
            let progress_jobs = jobs.clone();
            let mut report = move |p| {
                let _ = progress_jobs.send(Job::App(Msg::Download(DownloadUpdate::Progress(p))));
            };
            let result = provider::first_run::download(&spec, &mut report).await;
            if let Err(e) = &result {
                tracing::warn!(error = %e, "model download failed");
            }
            let _ = jobs.send(Job::App(Msg::Download(DownloadUpdate::Finished(result))));
        })
        .abort_handle()
    }

    fn load_models(&self, spec: ProviderSpec) {
        let jobs = self.job_tx.clone();
        let client = self.client.clone();
        tokio::spawn(async move {
            let (listing, error) = provider::discover_models(&client, &spec).await;
            // The list goes out first, so the sidebar fills at once; what the server
            // says per model (Ollama's `/api/show`) follows in a second message.
            let described = error.is_none().then(|| listing.models.clone());
            let _ = jobs.send(Job::App(Msg::ModelsLoaded {
                provider: spec.name.clone(),
                models: listing.models,
                info: listing.info,
                error,
            }));
            if let Some(models) = described {
                let info = provider::describe_models(&client, &spec, &models).await;
                if !info.is_empty() {
                    let _ = jobs.send(Job::App(Msg::ModelInfoLoaded {
                        provider: spec.name.clone(),
                        info,
                    }));
                }
            }
        });
    }
}

/// SIGTERM, SIGHUP and SIGINT, which save and quit like Ctrl+Q. In raw mode Ctrl+C is
/// a key, so a SIGINT comes from outside (`kill -INT`, a supervisor); left to its
/// default it would end the process with the terminal still in tinychat's modes.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                () = next_signal(&mut self.term) => {},
                () = next_signal(&mut self.hup) => {},
                () = next_signal(&mut self.int) => {},
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    }
}

/// The next delivery of `signal`; never, when it could not be installed.
#[cfg(unix)]
async fn next_signal(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::StreamEvent;

    #[test]
    fn a_long_delta_goes_to_the_ui_in_pieces_cut_at_characters() {
        let text = format!(
            "{}é{}",
            "a".repeat(DELTA_PIECE - 1),
            "b".repeat(DELTA_PIECE)
        );
        let pieces = in_pieces(StreamEvent::Delta(text.clone()));
        let texts: Vec<&str> = pieces
            .iter()
            .map(|p| match p {
                StreamEvent::Delta(t) => t.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts.concat(), text);
        assert_eq!(
            texts.iter().map(|t| t.len()).collect::<Vec<_>>(),
            [DELTA_PIECE - 1, DELTA_PIECE, 2]
        );
        assert_eq!(
            in_pieces(StreamEvent::Delta("short".into())),
            [StreamEvent::Delta("short".into())]
        );
    }
}
