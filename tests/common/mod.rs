//! A scripted HTTP server on `127.0.0.1:0` for provider, CLI and end-to-end tests.
//!
//! Owns: serving queued responses per path (status, headers, a body sent chunk by chunk
//! with optional pauses, ending cleanly, with a broken connection, or by stalling),
//! recording every request, and noticing when a client goes away mid-body. It must not
//! reach the network beyond loopback, and holds no real keys.
//!
//! ```ignore
//! let server = MockServer::start(vec![("/v1/chat/completions", MockResponse::sse(body))]).await;
//! let base_url = server.url("/v1");
//! // ... run the client ...
//! assert_eq!(server.requests()[0].json()["model"], "m");
//! ```
//! Provider tests also share [`provider_spec`] and [`chat_request`] (the defaults every
//! provider file would otherwise spell out field by field), [`run`], [`summary`],
//! [`failed`] and friends to read a reply stream, and [`list`] for model discovery.
//! A test without a runtime (e.g. one that drives the binary in a PTY) uses
//! [`MockServer::start_in_background`], which runs the server on its own runtime.

#![allow(dead_code)]
// Test support: a broken fixture or socket should fail the test loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use tinychat::conversation::{Finish, Role, Usage};
use tinychat::provider::{
    ChatMessage, ChatRequest, Problem, ProviderError, ProviderKind, ProviderSpec, StreamEvent,
    http_client, list_models, stream_chat,
};
use tokio::sync::{Notify, mpsc};

pub mod pty;

/// How a scripted body ends after its last chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The body ends normally.
    Close,
    /// The connection breaks (the body stream fails), as a crashed upstream would.
    Abort,
    /// Nothing more is sent and the connection stays open until the client leaves.
    Stall,
}

/// One scripted response.
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<Bytes>,
    /// Wait before each chunk (forces chunks onto the wire one by one).
    pub pause: Duration,
    pub end: End,
}

impl MockResponse {
    /// Status 200, `text/event-stream`, `body` in one chunk.
    pub fn sse(body: impl Into<Bytes>) -> Self {
        MockResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            chunks: vec![body.into()],
            pause: Duration::ZERO,
            end: End::Close,
        }
    }

    /// `status` with an `application/json` body.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        MockResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            chunks: vec![body.into()],
            pause: Duration::ZERO,
            end: End::Close,
        }
    }

    /// A fixture error body `DIR/NAME.status-NNN.json` with its `.headers` sidecar when
    /// there is one (fixtures/README.md).
    pub fn fixture_error(path: &str) -> Self {
        let status = path
            .rsplit(".status-")
            .next()
            .and_then(|s| s.strip_suffix(".json"))
            .and_then(|s| s.parse().ok())
            .expect("fixture name ends in .status-NNN.json");
        let mut response = MockResponse::json(status, fixture(path));
        let sidecar = path.replace(".json", ".headers");
        let sidecar = fixture_path(&sidecar);
        if sidecar.exists() {
            response.headers = std::fs::read_to_string(sidecar)
                .expect("readable headers sidecar")
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
        }
        response
    }

    /// The same body cut into pieces of `size` bytes.
    pub fn chunked(mut self, size: usize) -> Self {
        let all: Vec<u8> = self.chunks.iter().flat_map(|c| c.iter().copied()).collect();
        self.chunks = all
            .chunks(size.max(1))
            .map(Bytes::copy_from_slice)
            .collect();
        self
    }

    /// The body as exactly these chunks.
    pub fn with_chunks(mut self, chunks: &[&[u8]]) -> Self {
        self.chunks = chunks.iter().map(|c| Bytes::copy_from_slice(c)).collect();
        self
    }

    pub fn with_pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// Sets a header, replacing any of the same name.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn ending(mut self, end: End) -> Self {
        self.end = end;
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path without the query.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON (`Null` when it is empty or not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A header as text, if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
    }
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, VecDeque<MockResponse>>>,
    requests: Mutex<Vec<Recorded>>,
    /// Bodies whose client went away before the body was done.
    disconnects: AtomicUsize,
    changed: Notify,
}

/// A running mock server; it stops when dropped with its runtime.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl MockServer {
    /// Starts serving `routes` on the current tokio runtime. Each path has a queue: each
    /// request takes the next response, and the last one is repeated. Unknown paths get
    /// a 404 with an OpenAI-style error body.
    pub async fn start(routes: Vec<(&str, MockResponse)>) -> MockServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::serve(listener, routes, None)
    }

    /// Starts the server on a runtime of its own, for tests that are not async.
    pub fn start_in_background(routes: Vec<(&str, MockResponse)>) -> MockServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("mock runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let _guard = runtime.enter();
        Self::serve(listener, routes, Some(runtime))
    }

    fn serve(
        listener: tokio::net::TcpListener,
        routes: Vec<(&str, MockResponse)>,
        runtime: Option<tokio::runtime::Runtime>,
    ) -> MockServer {
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        for (path, response) in routes {
            shared
                .routes
                .lock()
                .unwrap()
                .entry(path.to_owned())
                .or_default()
                .push_back(response);
        }
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("mock server");
        });
        MockServer {
            addr,
            shared,
            runtime,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path` (e.g. `/v1` for a base URL).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Queues one more response for `path`.
    pub fn push(&self, path: &str, response: MockResponse) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .entry(path.to_owned())
            .or_default()
            .push_back(response);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The JSON bodies of the requests to `path`, in arrival order.
    pub fn json_bodies(&self, path: &str) -> Vec<serde_json::Value> {
        self.requests()
            .iter()
            .filter(|r| r.path == path)
            .map(Recorded::json)
            .collect()
    }

    /// How many bodies were abandoned by their client before they were done.
    pub fn disconnects(&self) -> usize {
        self.shared.disconnects.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` bodies were abandoned; false after `timeout`.
    pub async fn wait_for_disconnects(&self, n: usize, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let changed = self.shared.changed.notified();
                if self.disconnects() >= n {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    shared.requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    });
    shared.changed.notify_waiters();
    let scripted = {
        let mut routes = shared.routes.lock().unwrap();
        routes.get_mut(&path).and_then(|queue| {
            if queue.len() > 1 {
                queue.pop_front()
            } else {
                queue.front().cloned()
            }
        })
    };
    let scripted = scripted.unwrap_or_else(|| {
        MockResponse::json(
            404,
            format!(r#"{{"error":{{"message":"no mock response for {path}"}}}}"#),
        )
    });
    respond(shared, scripted)
}

fn respond(shared: Arc<Shared>, scripted: MockResponse) -> Response {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    let MockResponse {
        status,
        headers,
        chunks,
        pause,
        end,
    } = scripted;
    tokio::spawn(async move {
        let gone = |shared: &Shared| {
            shared.disconnects.fetch_add(1, Ordering::SeqCst);
            shared.changed.notify_waiters();
        };
        for chunk in chunks {
            if !pause.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = tx.closed() => return gone(&shared),
                }
            }
            if tx.send(Ok(chunk)).await.is_err() {
                return gone(&shared);
            }
        }
        match end {
            End::Close => {}
            End::Abort => {
                let _ = tx
                    .send(Err(std::io::Error::other(
                        "mock server broke the connection",
                    )))
                    .await;
            }
            End::Stall => {
                tx.closed().await;
                gone(&shared);
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::from_u16(status).expect("valid status");
    for (name, value) in headers {
        response.headers_mut().append(
            HeaderName::try_from(name).expect("header name"),
            HeaderValue::try_from(value).expect("header value"),
        );
    }
    response
}

/// The path of a file under `tests/fixtures/`.
pub fn fixture_path(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// The bytes of a file under `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixture_path(path)).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

// ---------------------------------------------------------------------------------------
// Scripting OpenAI-style replies for the binary (CLI and PTY tests)

/// One streamed chat-completion chunk carrying `text`, framed as an SSE event.
pub fn openai_delta(text: &str) -> String {
    let chunk = serde_json::json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_767_225_600,
        "model": "m1",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}],
    });
    format!("data: {chunk}\n\n")
}

/// The chunk that finishes a reply with `reason` (e.g. "stop", "length"), then `[DONE]`.
pub fn openai_finish(reason: &str) -> String {
    let chunk = serde_json::json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_767_225_600,
        "model": "m1",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
    });
    format!("data: {chunk}\n\ndata: [DONE]\n\n")
}

// ---------------------------------------------------------------------------------------
// Building provider requests

/// A provider with only a name, kind and base URL: no key, no extra headers, no listed or
/// fallback models. Each test file adds what its provider really has (key, key variable,
/// `optional`, ...) with `..provider_spec(..)`, so the provider data stays visible there.
pub fn provider_spec(name: &str, kind: ProviderKind, base_url: String) -> ProviderSpec {
    ProviderSpec {
        name: name.to_owned(),
        kind,
        base_url,
        api_key: None,
        key_env: None,
        disabled: None,
        headers: BTreeMap::new(),
        models: None,
        fallback_models: Vec::new(),
        include_usage: false,
        optional: false,
        local: None,
        settings: tinychat::model_settings::ProviderSettings::default(),
    }
}

/// One user turn for `model`, no system prompt or options, a 5 s idle timeout (a stuck
/// test fails fast) and no retries (retries have their own tests).
pub fn chat_request(model: &str, prompt: &str) -> ChatRequest {
    ChatRequest {
        model: model.to_owned(),
        system_prompt: None,
        messages: vec![user(prompt)],
        temperature: None,
        max_tokens: None,
        idle_timeout: Duration::from_secs(5),
        max_retries: 0,
        reasoning_effort: None,
        thinking_budget: None,
    }
}

/// The request every provider's "sent exactly" test checks: the system prompt
/// "Be brief.", the turns "Hi", "Hello!", `last`, temperature 0.25 and 256 tokens.
pub fn three_turns(model: &str, last: &str) -> ChatRequest {
    ChatRequest {
        system_prompt: Some("Be brief.".to_owned()),
        messages: vec![user("Hi"), assistant("Hello!"), user(last)],
        temperature: Some(0.25),
        max_tokens: Some(256),
        ..chat_request(model, "Hi")
    }
}

pub fn user(text: &str) -> ChatMessage {
    ChatMessage {
        role: Role::User,
        content: text.to_owned(),
    }
}

pub fn assistant(text: &str) -> ChatMessage {
    ChatMessage {
        role: Role::Assistant,
        content: text.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// Reading a reply stream in provider tests

/// Every event of one reply, bounded in time.
pub async fn run(provider: &ProviderSpec, request: ChatRequest) -> Vec<StreamEvent> {
    let client = http_client().expect("client");
    run_with(&client, provider, request).await
}

/// [`run`] with a client of the test's own (e.g. one that resolves a fake host).
pub async fn run_with(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    request: ChatRequest,
) -> Vec<StreamEvent> {
    let stream = stream_chat(client, provider, request);
    tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
        .await
        .expect("the stream ends within 10 s")
}

/// The events of `response` served whole and then cut into pieces of each of `sizes`
/// bytes, each with its piece size (the whole length first): where the body is split
/// (inside a frame, a line, a character) must never change what a provider reads.
pub async fn split_replies<F, Fut>(
    response: MockResponse,
    sizes: &[usize],
    mut reply: F,
) -> Vec<(usize, Vec<StreamEvent>)>
where
    F: FnMut(MockResponse) -> Fut,
    Fut: Future<Output = Vec<StreamEvent>>,
{
    let whole = response.chunks.iter().map(Bytes::len).sum();
    let mut replies = Vec::new();
    for size in std::iter::once(whole).chain(sizes.iter().copied()) {
        replies.push((size, reply(response.clone().chunked(size)).await));
    }
    replies
}

/// Runs `request` to a clean finish and returns the one request the server saw, checked
/// to be a JSON POST to `path`: the start every provider's "sent exactly" test shares
/// before it compares the provider's own headers and body.
pub async fn sent_exactly_once(
    server: &MockServer,
    provider: &ProviderSpec,
    request: ChatRequest,
    path: &str,
) -> Recorded {
    let events = run(provider, request).await;
    assert_eq!(summary(&events).2, StreamEvent::Finished(Finish::Stop));
    let mut requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = requests.remove(0);
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", path));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    r
}

/// Starts `request`, reads its first event (within 5 s), then drops the stream as the app
/// does on Esc. Returns that event and how many bodies the server had seen abandoned
/// before the drop, so a test can tell the drop itself closed the connection.
pub async fn first_event_then_drop(
    server: &MockServer,
    provider: &ProviderSpec,
    request: ChatRequest,
) -> (Option<StreamEvent>, usize) {
    let client = http_client().expect("client");
    let mut stream = stream_chat(&client, provider, request);
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("first event within 5 s");
    let before = server.disconnects();
    drop(stream);
    (first, before)
}

/// Model discovery for `provider`, bounded in time.
pub async fn list(provider: &ProviderSpec) -> Result<Vec<String>, ProviderError> {
    let client = http_client().expect("client");
    tokio::time::timeout(Duration::from_secs(10), list_models(&client, provider))
        .await
        .expect("discovery ends within 10 s")
}

/// Joined text, last usage and the terminal event; asserts exactly one terminal, last.
pub fn summary(events: &[StreamEvent]) -> (String, Option<Usage>, StreamEvent) {
    let text = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Delta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let usage = events.iter().rev().find_map(|e| match e {
        StreamEvent::Usage(u) => Some(*u),
        _ => None,
    });
    let terminals = events.iter().filter(|e| e.is_terminal()).count();
    assert_eq!(terminals, 1, "{events:?}");
    let last = events.last().cloned().expect("events");
    assert!(last.is_terminal(), "{events:?}");
    (text, usage, last)
}

pub fn failed(events: &[StreamEvent]) -> ProviderError {
    match summary(events).2 {
        StreamEvent::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

pub fn delta(text: &str) -> StreamEvent {
    StreamEvent::Delta(text.to_owned())
}

pub fn usage(input_tokens: u64, output_tokens: u64) -> StreamEvent {
    StreamEvent::Usage(Usage::new(input_tokens, output_tokens))
}

/// The end of a reply whose body stopped before the provider's end marker.
pub fn incomplete(provider: &str) -> StreamEvent {
    StreamEvent::Failed(Problem::Incomplete.at(provider))
}
