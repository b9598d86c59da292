//! Retrying requests that fail before the first token, against a real server on
//! 127.0.0.1: which failures are retried, how long the waits are, that the server's
//! hints are honoured, and that nothing is retried once text has arrived.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use tinychat::conversation::Finish;
use tinychat::provider::{
    ChatRequest, ProviderKind, ProviderSpec, StreamEvent, http_client, stream_chat,
};

use common::{End, MockResponse, MockServer, chat_request, provider_spec};

const CHAT: &str = "/v1/chat/completions";

const GOOD: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n\
data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

fn spec(base_url: String) -> ProviderSpec {
    ProviderSpec {
        api_key: Some("sk-test-fake".to_owned()),
        key_env: Some("LOCAL_KEY".to_owned()),
        ..provider_spec("local", ProviderKind::OpenAi, base_url)
    }
}

fn request(max_retries: u32) -> ChatRequest {
    ChatRequest {
        max_retries,
        ..chat_request("m", "Hi")
    }
}

async fn run(provider: &ProviderSpec, max_retries: u32) -> Vec<StreamEvent> {
    common::run(provider, request(max_retries)).await
}

fn retrying(events: &[StreamEvent]) -> Vec<(String, u32, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Retrying {
                reason,
                attempt,
                of,
                ..
            } => Some((reason.clone(), *attempt, *of)),
            _ => None,
        })
        .collect()
}

fn rate_limited(wait_ms: &str) -> MockResponse {
    MockResponse::json(
        429,
        r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
    )
    .with_header("retry-after-ms", wait_ms)
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_servers_wait_and_then_succeed() {
    let server = MockServer::start(vec![
        (CHAT, rate_limited("40")),
        (CHAT, rate_limited("40")),
        (CHAT, MockResponse::sse(GOOD)),
    ])
    .await;
    let started = Instant::now();
    let events = run(&spec(server.url("/v1")), 2).await;
    let elapsed = started.elapsed();
    assert_eq!(
        retrying(&events),
        [
            ("rate limited".to_owned(), 1, 2),
            ("rate limited".to_owned(), 2, 2)
        ]
    );
    match &events[0] {
        StreamEvent::Retrying { delay, .. } => assert_eq!(*delay, Duration::from_millis(40)),
        other => panic!("expected a retry first, got {other:?}"),
    }
    assert_eq!(
        &events[2..],
        [
            StreamEvent::Delta("Hello".into()),
            StreamEvent::Finished(Finish::Stop)
        ]
    );
    assert_eq!(server.requests().len(), 3);
    assert!(elapsed >= Duration::from_millis(80), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn server_errors_back_off_exponentially_then_fail_with_the_last_error() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::json(503, r#"{"error":{"message":"busy","type":"server_error"}}"#),
    )])
    .await;
    let started = Instant::now();
    let events = run(&spec(server.url("/v1")), 2).await;
    let elapsed = started.elapsed();
    assert_eq!(
        retrying(&events),
        [("HTTP 503".to_owned(), 1, 2), ("HTTP 503".to_owned(), 2, 2)]
    );
    let delays: Vec<Duration> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Retrying { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    // 0.5 s then 1 s, each minus up to 25 % jitter.
    assert!(delays[0] >= Duration::from_millis(375) && delays[0] <= Duration::from_millis(500));
    assert!(delays[1] >= Duration::from_millis(750) && delays[1] <= Duration::from_secs(1));
    assert!(elapsed >= delays[0] + delays[1], "{elapsed:?}");
    match events.last() {
        Some(StreamEvent::Failed(e)) => {
            assert_eq!(e.to_string(), "local: HTTP 503 server_error: busy");
        }
        other => panic!("expected the last error, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn auth_errors_are_never_retried() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::json(
            401,
            r#"{"error":{"message":"bad key","code":"invalid_api_key"}}"#,
        ),
    )])
    .await;
    let events = run(&spec(server.url("/v1")), 2).await;
    assert!(retrying(&events).is_empty());
    assert_eq!(events.len(), 1);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_server_can_say_not_to_retry() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::json(503, r#"{"error":{"message":"no"}}"#)
            .with_header("x-should-retry", "false"),
    )])
    .await;
    let events = run(&spec(server.url("/v1")), 2).await;
    assert!(retrying(&events).is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn nothing_is_retried_after_the_first_token() {
    let partial =
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n";
    let server =
        MockServer::start(vec![(CHAT, MockResponse::sse(partial).ending(End::Abort))]).await;
    let events = run(&spec(server.url("/v1")), 2).await;
    assert!(retrying(&events).is_empty());
    assert_eq!(events[0], StreamEvent::Delta("Hel".into()));
    match events.last() {
        Some(StreamEvent::Failed(e)) => assert_eq!(e.finish(), Finish::Incomplete),
        other => panic!("expected an incomplete reply, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn refused_connections_are_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let events = run(&spec(format!("http://127.0.0.1:{port}/v1")), 1).await;
    assert_eq!(retrying(&events), [("cannot connect".to_owned(), 1, 1)]);
    match events.last() {
        Some(StreamEvent::Failed(e)) => assert!(
            e.to_string()
                .ends_with("connection refused (is the server running?)"),
            "{e}"
        ),
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_stream_during_the_wait_sends_nothing_more() {
    // The wait must end well within the sleep below, or a retry the drop failed to stop
    // would come too late to be seen and this test could not fail.
    let server = MockServer::start(vec![(CHAT, rate_limited("200"))]).await;
    let client = http_client().unwrap();
    let mut stream = stream_chat(&client, &spec(server.url("/v1")), request(2));
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(
        matches!(first, Some(StreamEvent::Retrying { .. })),
        "{first:?}"
    );
    // Esc: the app drops the stream while the status line counts down.
    drop(stream);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(server.requests().len(), 1);
}
