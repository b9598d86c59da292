//! Reply bodies no well-behaved server sends, against every provider's reader (issue 10:
//! "nothing a server can send can crash tinychat, freeze it, leak through it or lose a
//! word"): a leading byte-order mark, CR-only line ends, `event: error`, an unasked-for
//! `Content-Encoding`, one huge event, endings other than `stop`, and credentials in the
//! base URL. Served chunk by chunk by the loopback server; the timing tests feed the
//! same reader code through `read_body`, so HTTP is not part of what they measure.

// Helpers outside #[test] fns fail loudly too.
#![allow(clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{MockResponse, MockServer, chat_request, delta, provider_spec, run, summary};
use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use tinychat::conversation::Finish;
use tinychat::provider::{
    MAX_EVENT_BYTES, Problem, ProviderKind, ProviderSpec, StreamEvent, read_body,
};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One provider kind as the mock server serves it: where its chat requests go, the model
/// that path is for, and a recorded complete reply.
#[derive(Clone, Copy)]
struct Server {
    name: &'static str,
    kind: ProviderKind,
    /// The chat path; `base` is what precedes it in the base URL.
    path: &'static str,
    base: &'static str,
    model: &'static str,
    fixture: &'static str,
    content_type: &'static str,
}

const OPENAI: Server = Server {
    name: "openai",
    kind: ProviderKind::OpenAi,
    path: "/v1/chat/completions",
    base: "/v1",
    model: "m1",
    fixture: "openai/stream-basic.sse",
    content_type: "text/event-stream",
};

const SSE_KINDS: [Server; 4] = [
    OPENAI,
    Server {
        name: "anthropic",
        kind: ProviderKind::Anthropic,
        path: "/v1/messages",
        base: "",
        model: "claude-test",
        fixture: "anthropic/stream-basic.sse",
        content_type: "text/event-stream",
    },
    Server {
        name: "gemini",
        kind: ProviderKind::Gemini,
        path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        base: "",
        model: "gemini-2.5-flash",
        fixture: "gemini/stream-basic-crlf.sse",
        content_type: "text/event-stream",
    },
    Server {
        name: "cohere",
        kind: ProviderKind::Cohere,
        path: "/v2/chat",
        base: "",
        model: "command-test",
        fixture: "cohere/stream-basic.sse",
        content_type: "text/event-stream",
    },
];

const OLLAMA: Server = Server {
    name: "ollama",
    kind: ProviderKind::Ollama,
    path: "/api/chat",
    base: "",
    model: "llama3.2",
    fixture: "ollama/chat-basic.ndjson",
    content_type: "application/x-ndjson",
};

fn all_kinds() -> Vec<Server> {
    let mut kinds = SSE_KINDS.to_vec();
    kinds.push(OLLAMA);
    kinds
}

impl Server {
    fn spec(&self, server: &MockServer) -> ProviderSpec {
        ProviderSpec {
            api_key: Some("fake-test-key-0000".to_owned()),
            ..provider_spec(self.name, self.kind, server.url(self.base))
        }
    }

    /// The events of `response` served on this kind's chat path.
    async fn reply(&self, response: MockResponse) -> Vec<StreamEvent> {
        let server = MockServer::start(vec![(self.path, response)]).await;
        run(&self.spec(&server), chat_request(self.model, "Hi")).await
    }

    fn body(&self, bytes: impl Into<Bytes>) -> MockResponse {
        MockResponse::sse(bytes).with_header("content-type", self.content_type)
    }

    fn fixture(&self) -> Vec<u8> {
        common::fixture(self.fixture)
    }
}

// ---------------------------------------------------------------------------------------
// 1. A leading byte-order mark

#[tokio::test]
async fn a_leading_bom_is_ignored_by_every_provider_at_every_chunking() {
    for kind in all_kinds() {
        let expected = kind.reply(kind.body(kind.fixture())).await;
        assert!(
            matches!(summary(&expected).2, StreamEvent::Finished(Finish::Stop)),
            "{}: {expected:?}",
            kind.name
        );
        let with_bom = [BOM, &kind.fixture()].concat();
        for size in [with_bom.len(), 1, 2, 4, 7] {
            let got = kind.reply(kind.body(with_bom.clone()).chunked(size)).await;
            assert_eq!(got, expected, "{}, chunk size {size}", kind.name);
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. SSE edge cases the spec allows

/// `body` with every line end (CRLF or LF) made a lone CR.
fn cr_only(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).expect("UTF-8 fixture");
    text.replace("\r\n", "\n").replace('\n', "\r").into_bytes()
}

#[tokio::test]
async fn cr_only_line_ends_read_like_lf_for_every_sse_provider() {
    for kind in SSE_KINDS {
        let expected = kind.reply(kind.body(kind.fixture())).await;
        let body = cr_only(&kind.fixture());
        for size in [body.len(), 1, 3, 64] {
            let got = kind.reply(kind.body(body.clone()).chunked(size)).await;
            assert_eq!(got, expected, "{}, chunk size {size}", kind.name);
        }
    }
}

#[tokio::test]
async fn an_error_event_ends_the_reply_with_the_servers_own_message() {
    let cases: [(&str, Option<&str>, &str); 3] = [
        (
            r#"{"error":{"message":"upstream overloaded","type":"overloaded_error"}}"#,
            Some("overloaded_error"),
            "upstream overloaded",
        ),
        (
            r#"{"message":"Internal server error","code":"internal"}"#,
            Some("internal"),
            "Internal server error",
        ),
        ("upstream timed out", None, "upstream timed out"),
    ];
    for kind in SSE_KINDS {
        for (data, code, message) in cases {
            let body = format!("event: error\ndata: {data}\n\n");
            let events = kind.reply(kind.body(body)).await;
            assert_eq!(
                events,
                vec![StreamEvent::Failed(
                    Problem::Stream {
                        code: code.map(str::to_owned),
                        message: message.to_owned()
                    }
                    .at(kind.name)
                )],
                "{}: {data}",
                kind.name
            );
        }
    }
}

#[tokio::test]
async fn a_compressed_reply_tinychat_did_not_ask_for_names_its_encoding() {
    // The first bytes of a gzip member: not text, not the protocol.
    let gzip: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00";
    for kind in all_kinds() {
        for encoding in ["gzip", "br"] {
            let events = kind
                .reply(kind.body(gzip).with_header("content-encoding", encoding))
                .await;
            assert_eq!(
                events,
                vec![StreamEvent::Failed(
                    Problem::Malformed {
                        message: format!(
                            "the server compressed its reply with {encoding} (Content-Encoding), which tinychat did not ask for and cannot read"
                        ),
                    }
                    .at(kind.name)
                )],
                "{} {encoding}",
                kind.name
            );
        }
    }
    // `identity` is no encoding at all.
    let events = OPENAI
        .reply(
            OPENAI
                .body(OPENAI.fixture())
                .with_header("content-encoding", "identity"),
        )
        .await;
    assert_eq!(summary(&events).2, StreamEvent::Finished(Finish::Stop));
}

// ---------------------------------------------------------------------------------------
// 2. One large event: linear cost and a bound

/// One chat-completion chunk whose content is `len` letters, as one SSE event.
fn openai_event_of(len: usize) -> Vec<u8> {
    let mut body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"".to_vec();
    body.resize(body.len() + len, b'a');
    body.extend_from_slice(b"\"},\"finish_reason\":null}]}\n\n");
    body
}

#[tokio::test]
async fn one_event_of_eight_mib_streams_whole_in_linear_time() {
    // eventsource-stream rescanned its buffer for every chunk: 2 MB cost ~3 s of CPU in
    // a release build, and this test did not end within its 10 s.
    const LEN: usize = 8 << 20;
    let mut body = openai_event_of(LEN);
    body.extend_from_slice(b"data: [DONE]\n\n");
    let started = Instant::now();
    let events = OPENAI.reply(OPENAI.body(body).chunked(16 * 1024)).await;
    let elapsed = started.elapsed();
    let (text, _, end) = summary(&events);
    assert_eq!(
        (text.len(), end),
        (LEN, StreamEvent::Finished(Finish::Stop))
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

/// `body` as the chunks a fast server's body arrives in, fed to `kind`'s reader.
async fn read_in_memory(kind: ProviderKind, body: Bytes, chunk: usize) -> Vec<StreamEvent> {
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..body.len())
        .step_by(chunk)
        .map(|at| Ok(body.slice(at..body.len().min(at + chunk))))
        .collect();
    read_body(
        kind,
        "p",
        futures_util::stream::iter(chunks),
        Duration::from_secs(5),
    )
    .collect()
    .await
}

fn too_large() -> StreamEvent {
    StreamEvent::Failed(
        Problem::Malformed {
            message: "the server sent more than 16 MiB without ending an event, the most tinychat reads in one event (MAX_EVENT_BYTES)".to_owned(),
        }
        .at("p")
    )
}

#[tokio::test]
async fn a_fifty_mb_event_is_refused_within_a_second_naming_the_limit() {
    assert_eq!(MAX_EVENT_BYTES, 16 * 1024 * 1024);
    let data = Bytes::from(openai_event_of(50_000_000));
    let mut ndjson = b"{\"message\":{\"content\":\"".to_vec();
    ndjson.resize(50_000_000, b'a');
    let ndjson = Bytes::from(ndjson);
    for kind in SSE_KINDS.iter().chain([&OLLAMA]) {
        let body = if kind.kind == ProviderKind::Ollama {
            ndjson.clone()
        } else {
            data.clone()
        };
        let started = Instant::now();
        let events = read_in_memory(kind.kind, body, 64 * 1024).await;
        let elapsed = started.elapsed();
        assert_eq!(events, vec![too_large()], "{}", kind.name);
        assert!(
            elapsed < Duration::from_secs(1),
            "{}: {elapsed:?}",
            kind.name
        );
    }
}

#[tokio::test]
async fn an_event_just_under_the_limit_is_read_whole_within_a_second() {
    let len = MAX_EVENT_BYTES - 1024;
    let mut body = openai_event_of(len);
    body.extend_from_slice(b"data: [DONE]\n\n");
    let started = Instant::now();
    let events = read_in_memory(ProviderKind::OpenAi, Bytes::from(body), 64 * 1024).await;
    let elapsed = started.elapsed();
    let (text, _, end) = summary(&events);
    assert_eq!(
        (text.len(), end),
        (len, StreamEvent::Finished(Finish::Stop))
    );
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
}

// ---------------------------------------------------------------------------------------
// 4. Every ending that is not `stop` shows

fn ended(provider: &str, field: &'static str, reason: &str, message: &str) -> StreamEvent {
    StreamEvent::Failed(
        Problem::Ended {
            field,
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
        .at(provider),
    )
}

#[tokio::test]
async fn a_content_filter_ending_keeps_the_text_and_fails_the_reply_in_words() {
    let body = format!(
        "{}{}",
        common::openai_delta("Here is part"),
        common::openai_finish("content_filter")
    );
    let events = OPENAI.reply(OPENAI.body(body)).await;
    assert_eq!(
        events,
        vec![
            delta("Here is part"),
            ended(
                "openai",
                "finish_reason",
                "content_filter",
                "the provider's content filter stopped the reply"
            )
        ]
    );
    let StreamEvent::Failed(error) = &events[1] else {
        unreachable!()
    };
    assert_eq!(error.finish(), Finish::Error);
    assert_eq!(
        error.to_string(),
        "openai: the provider's content filter stopped the reply (finish_reason \"content_filter\")"
    );
}

#[tokio::test]
async fn a_tool_call_ending_with_no_text_is_not_an_empty_complete_reply() {
    let tool_chunk = r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},"finish_reason":null}]}"#;
    let body = format!("{tool_chunk}\n\n{}", common::openai_finish("tool_calls"));
    let events = OPENAI.reply(OPENAI.body(body)).await;
    assert_eq!(
        events,
        vec![ended(
            "openai",
            "finish_reason",
            "tool_calls",
            "the model stopped to call a tool, which tinychat does not offer"
        )]
    );
}

#[tokio::test]
async fn each_providers_abnormal_ending_shows_with_its_own_field() {
    let anthropic = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n\
        event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\"},\"usage\":{\"output_tokens\":1}}\n\n\
        event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let cohere = "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"TOOL_CALL\"}}\n\n";
    let ollama = "{\"message\":{\"content\":\"\"},\"done\":true,\"done_reason\":\"unload\"}\n";
    let cases = [
        (
            SSE_KINDS[1],
            anthropic,
            ended(
                "anthropic",
                "stop_reason",
                "refusal",
                "the model refused to answer",
            ),
        ),
        (
            SSE_KINDS[3],
            cohere,
            ended(
                "cohere",
                "finish_reason",
                "TOOL_CALL",
                "the model stopped to call a tool, which tinychat does not offer",
            ),
        ),
        (
            OLLAMA,
            ollama,
            ended(
                "ollama",
                "done_reason",
                "unload",
                "the reply ended for a reason tinychat does not know",
            ),
        ),
    ];
    for (kind, body, end) in cases {
        let events = kind.reply(kind.body(body)).await;
        assert_eq!(events.last(), Some(&end), "{}: {events:?}", kind.name);
    }
}

// ---------------------------------------------------------------------------------------
// 5. Credentials in the base URL

#[tokio::test]
async fn a_password_in_the_base_url_never_reaches_an_error() {
    // A port nothing listens on: the connection is refused and the error names the URL.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let spec = ProviderSpec {
        ..provider_spec(
            "proxy",
            ProviderKind::OpenAi,
            format!("http://alice:s3cr3t-pass@127.0.0.1:{port}/v1"),
        )
    };
    let events = run(&spec, chat_request("m1", "Hi")).await;
    let StreamEvent::Failed(error) = summary(&events).2 else {
        panic!("{events:?}")
    };
    let shown = error.to_string();
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(!shown.contains("alice"), "{shown}");
    assert!(
        shown.starts_with(&format!(
            "proxy: cannot connect to http://***@127.0.0.1:{port}/v1: "
        )),
        "{shown}"
    );
}

#[test]
fn redacting_userinfo_covers_urls_inside_text_and_leaves_the_rest() {
    use tinychat::provider::redact_userinfo;
    assert_eq!(
        redact_userinfo("http://user:pass@host:8080/v1"),
        "http://***@host:8080/v1"
    );
    assert_eq!(
        redact_userinfo("token only https://ghp_abc@example.com?x=1 and http://plain/v1"),
        "token only https://***@example.com?x=1 and http://plain/v1"
    );
    assert_eq!(
        redact_userinfo("error sending request for url (http://a:b@c:1/v1/chat)"),
        "error sending request for url (http://***@c:1/v1/chat)"
    );
    assert_eq!(redact_userinfo("no url here: a@b"), "no url here: a@b");
    assert_eq!(redact_userinfo("http://x@"), "http://***@");
}

// ---------------------------------------------------------------------------------------
// 5. A field of the wrong type is named, not guessed around

#[tokio::test]
async fn a_wrong_type_in_a_read_field_fails_the_reply_naming_its_path_for_every_kind() {
    let cases: [(ProviderKind, &str, &str); 5] = [
        (
            ProviderKind::OpenAi,
            "data: {\"choices\":[{\"delta\":{\"content\":42}}]}\n\n",
            "an event has a wrong `choices[0].delta.content`: invalid type: integer `42`, expected a string at line 1 column 34",
        ),
        (
            ProviderKind::Anthropic,
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":42}}\n\n",
            "an event has a wrong `delta.text`: invalid type: integer `42`, expected a string at line 1 column 78",
        ),
        (
            ProviderKind::Gemini,
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":42}]}}]}\r\n\r\n",
            "an event has a wrong `candidates[0].content.parts[0].text`: invalid type: integer `42`, expected a string at line 1 column 46",
        ),
        (
            ProviderKind::Cohere,
            "event: content-delta\ndata: {\"type\":\"content-delta\",\"delta\":{\"message\":{\"content\":{\"text\":42}}}}\n\n",
            "an event has a wrong `delta.message.content.text`: invalid type: integer `42`, expected a string at line 1 column 64",
        ),
        (
            ProviderKind::Ollama,
            "{\"message\":{\"content\":42},\"done\":false}\n",
            "a line has a wrong `message.content`: invalid type: integer `42`, expected a string at line 1 column 24",
        ),
    ];
    for (kind, body, message) in cases {
        let events = read_in_memory(kind, Bytes::from(body), 7).await;
        assert_eq!(
            events,
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: message.to_owned()
                }
                .at("p")
            )],
            "{kind:?}"
        );
    }
}
