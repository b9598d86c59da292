//! Proxies from the environment: a request to a remote host goes through
//! `HTTP_PROXY`; `NO_PROXY` and loopback hosts (Ollama, local servers) go direct.
//! The "remote" host is a name pointed at a second loopback server, so nothing leaves
//! the machine; the environment is passed in, never set on this process.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use pretty_assertions::assert_eq;
use tinychat::conversation::Finish;
use tinychat::provider::{ProviderKind, StreamEvent, http_client_builder};

use common::{MockResponse, MockServer, chat_request, provider_spec, run_with};

const CHAT: &str = "/v1/chat/completions";
const HOST: &str = "api.example.test";

const GOOD: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"via\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

/// A proxy and a "remote" server, both on loopback, and a client whose DNS sends
/// `api.example.test` to the remote one.
async fn setup(env: &[(&str, String)]) -> (MockServer, MockServer, reqwest::Client) {
    let proxy = MockServer::start(vec![(CHAT, MockResponse::sse(GOOD))]).await;
    let remote = MockServer::start(vec![(CHAT, MockResponse::sse(GOOD))]).await;
    let remote_addr: std::net::SocketAddr = remote
        .url("")
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let vars: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.replace("{proxy}", &proxy.url(""))))
        .collect();
    let lookup = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let client = http_client_builder(&lookup)
        .unwrap()
        .resolve(HOST, remote_addr)
        .build()
        .unwrap();
    (proxy, remote, client)
}

async fn reply(client: &reqwest::Client, base_url: String) -> Vec<StreamEvent> {
    let provider = provider_spec("remote", ProviderKind::OpenAi, base_url);
    run_with(client, &provider, chat_request("m", "Hi")).await
}

fn ok() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Delta("via".into()),
        StreamEvent::Finished(Finish::Stop),
    ]
}

#[tokio::test]
async fn http_proxy_carries_requests_to_remote_hosts() {
    let (proxy, remote, client) = setup(&[("HTTP_PROXY", "{proxy}".to_owned())]).await;
    let port = remote.url("").rsplit(':').next().unwrap().to_owned();
    let events = reply(&client, format!("http://{HOST}:{port}/v1")).await;
    assert_eq!(events, ok());
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, CHAT);
    assert_eq!(seen[0].header("host"), Some(format!("{HOST}:{port}")));
    assert!(remote.requests().is_empty());
}

#[tokio::test]
async fn lower_case_variables_work_too() {
    let (proxy, remote, client) = setup(&[("http_proxy", "{proxy}".to_owned())]).await;
    let port = remote.url("").rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        reply(&client, format!("http://{HOST}:{port}/v1")).await,
        ok()
    );
    assert_eq!(proxy.requests().len(), 1);
}

#[tokio::test]
async fn no_proxy_sends_matching_hosts_direct() {
    let (proxy, remote, client) = setup(&[
        ("HTTP_PROXY", "{proxy}".to_owned()),
        ("NO_PROXY", format!("other.test,{HOST}")),
    ])
    .await;
    let port = remote.url("").rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        reply(&client, format!("http://{HOST}:{port}/v1")).await,
        ok()
    );
    assert!(proxy.requests().is_empty());
    assert_eq!(remote.requests().len(), 1);
}

#[tokio::test]
async fn loopback_hosts_never_go_through_a_proxy() {
    let (proxy, remote, client) = setup(&[
        ("HTTP_PROXY", "{proxy}".to_owned()),
        ("ALL_PROXY", "{proxy}".to_owned()),
    ])
    .await;
    assert_eq!(reply(&client, remote.url("/v1")).await, ok());
    let localhost = remote.url("/v1").replace("127.0.0.1", "localhost");
    assert_eq!(reply(&client, localhost).await, ok());
    assert!(proxy.requests().is_empty());
    assert_eq!(remote.requests().len(), 2);
}

#[test]
fn a_malformed_proxy_variable_is_a_clear_error() {
    let env = |name: &str| (name == "HTTPS_PROXY").then(|| "http://[not a url".to_owned());
    let error = http_client_builder(&env).expect_err("rejected");
    assert!(
        error.to_string().starts_with(
            "cannot start the HTTP client: HTTPS_PROXY is not a proxy URL (http://[not a url)"
        ),
        "{error}"
    );
}
