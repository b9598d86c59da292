//! Downloading the default model against a scripted hub on 127.0.0.1: progress,
//! resuming (after a cut, after a cancel, against a server that ignores `Range`),
//! checksums (pinned, `X-Linked-Etag` on a redirect, `ETag`) and the error messages.

#![cfg(feature = "local")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use pretty_assertions::assert_eq;
use sha2::{Digest, Sha256};
use tinychat::provider::local::download::{
    DownloadError, ModelFile, Progress, destination, download, download_client, endpoint,
};
use tokio::sync::mpsc;

const REPO: &str = "Org/Tiny-GGUF";
const REVISION: &str = "0123456789abcdef0123456789abcdef01234567";
const FILE: &str = "tiny-q8_0.gguf";
const RESOLVE: &str =
    "/Org/Tiny-GGUF/resolve/0123456789abcdef0123456789abcdef01234567/tiny-q8_0.gguf";
const CDN: &str = "/cdn/objects/tiny";
const CHUNK: usize = 1024;

/// Bytes no two offsets of which repeat in a short window, so a misplaced byte shows.
fn model_bytes(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

fn sha_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

fn leak(s: String) -> &'static str {
    s.leak()
}

/// The file as the tests pin it: size and sha256 of `data`.
fn pinned(data: &[u8]) -> ModelFile {
    ModelFile {
        label: "Tiny",
        repo: REPO,
        revision: REVISION,
        file: FILE,
        size: data.len() as u64,
        sha256: Some(leak(sha_hex(data))),
    }
}

/// The same file with nothing pinned: only the hub's headers can verify it.
fn unpinned() -> ModelFile {
    ModelFile {
        size: 0,
        sha256: None,
        ..pinned(b"")
    }
}

/// How one data response ends.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// The connection breaks once the file's byte offset reaches this.
    At(usize),
    /// Nothing more is sent after this offset; the connection stays open.
    StallAt(usize),
}

/// A refusing answer: status, headers, body.
type Failure = (u16, Vec<(String, String)>, String);

#[derive(Default)]
struct Script {
    data: Vec<u8>,
    /// Answer 200 with the whole file even to a `Range` request.
    ignore_range: bool,
    /// The resolve route answers 302 to [`CDN`] with these headers.
    redirect: Option<Vec<(String, String)>>,
    /// Extra headers on the data response (an `ETag`).
    data_headers: Vec<(String, String)>,
    /// The resolve route answers this status, headers and body instead.
    fail: Option<Failure>,
    /// How the next data responses end, one each; afterwards they complete.
    cuts: VecDeque<Cut>,
}

impl Script {
    /// A hub that serves `data` and nothing unusual.
    fn serving(data: &[u8]) -> Script {
        Script {
            data: data.to_vec(),
            ..Script::default()
        }
    }
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
}

#[derive(Default)]
struct Shared {
    script: Mutex<Script>,
    seen: Mutex<Vec<Seen>>,
}

struct Hub {
    base: String,
    shared: Arc<Shared>,
}

impl Hub {
    async fn start(script: Script) -> Hub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            seen: Mutex::default(),
        });
        let app = Router::new().fallback(serve).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hub { base, shared }
    }

    fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    fn ranges(&self) -> Vec<Option<String>> {
        self.seen().into_iter().map(|s| s.range).collect()
    }
}

async fn serve(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let range = request
        .headers()
        .get(header::RANGE)
        .map(|v| v.to_str().unwrap().to_owned());
    shared.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        range: range.clone(),
    });
    let mut script = shared.script.lock().unwrap();
    if path == RESOLVE {
        if let Some((status, headers, body)) = script.fail.clone() {
            return respond(status, &headers, Body::from(body));
        }
        if let Some(headers) = script.redirect.clone() {
            let mut headers = headers;
            headers.push(("location".into(), CDN.into()));
            return respond(302, &headers, Body::empty());
        }
    } else if path != CDN || script.redirect.is_none() {
        return respond(404, &[], Body::from("no such route"));
    }

    let len = script.data.len();
    let from = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .map(|n| n.parse::<usize>().unwrap())
        .filter(|_| !script.ignore_range);
    let mut headers = script.data_headers.clone();
    let (status, start) = match from {
        Some(from) if from >= len => {
            headers.push(("content-range".into(), format!("bytes */{len}")));
            return respond(416, &headers, Body::empty());
        }
        Some(from) => {
            headers.push((
                "content-range".into(),
                format!("bytes {from}-{}/{len}", len - 1),
            ));
            (206, from)
        }
        None => (200, 0),
    };
    headers.push(("content-length".into(), (len - start).to_string()));
    let cut = script.cuts.pop_front();
    let data = Bytes::from(script.data[start..].to_vec());
    drop(script);

    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        let stop = match cut {
            Some(Cut::At(at) | Cut::StallAt(at)) => at.saturating_sub(start),
            None => data.len(),
        };
        let mut sent = 0;
        while sent < stop {
            let end = (sent + CHUNK).min(stop);
            if tx.send(Ok(data.slice(sent..end))).await.is_err() {
                return;
            }
            sent = end;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        match cut {
            Some(Cut::At(_)) => {
                // Let the bytes reach the client before the connection breaks.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = tx.send(Err(std::io::Error::other("cut"))).await;
            }
            Some(Cut::StallAt(_)) => tx.closed().await,
            None => {}
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    respond(status, &headers, Body::from_stream(body))
}

fn respond(status: u16, headers: &[(String, String)], body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().insert(
            header::HeaderName::try_from(name.as_str()).unwrap(),
            HeaderValue::try_from(value.as_str()).unwrap(),
        );
    }
    response
}

fn client() -> reqwest::Client {
    download_client(&|_| None).unwrap()
}

fn part(dir: &Path) -> std::path::PathBuf {
    dir.join(format!("{FILE}.part"))
}

/// Downloads `file` from `hub` into `dir`, collecting the progress reports.
async fn fetch(
    hub: &Hub,
    file: &ModelFile,
    dir: &Path,
) -> (Result<std::path::PathBuf, DownloadError>, Vec<Progress>) {
    let mut reports = Vec::new();
    let mut on_progress = |p: Progress| reports.push(p);
    let result = download(&client(), &hub.base, file, dir, &mut on_progress).await;
    (result, reports)
}

#[tokio::test]
async fn a_full_download_reports_progress_up_to_the_total() {
    let data = model_bytes(100 * 1024);
    let hub = Hub::start(Script::serving(&data)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = pinned(&data);

    let started = Instant::now();
    let (result, reports) = fetch(&hub, &file, dir.path()).await;
    let elapsed = started.elapsed();

    let path = result.unwrap();
    assert_eq!(path, destination(dir.path(), &file));
    assert_eq!(path, dir.path().join(FILE));
    assert!(std::fs::read(&path).unwrap() == data, "the bytes differ");
    assert!(!part(dir.path()).exists());
    assert_eq!(hub.ranges(), [None]);

    let total = data.len() as u64;
    assert!(reports.len() >= 2, "{reports:?}");
    assert!(reports.iter().all(|p| p.total == total));
    assert!(reports.windows(2).all(|w| w[0].done <= w[1].done));
    let last = reports.last().unwrap();
    assert_eq!(last.done, total);
    assert_eq!(last.eta, Some(Duration::ZERO));
    assert!(reports.iter().any(|p| p.bytes_per_sec > 0.0), "{reports:?}");
    // At most ten a second, plus the first and the last.
    let allowed = (elapsed.as_secs_f64() * 10.0).ceil() as usize + 2;
    assert!(
        reports.len() <= allowed,
        "{} reports in {elapsed:?}",
        reports.len()
    );
}

#[tokio::test]
async fn a_cut_connection_is_resumed_with_a_range_request() {
    let data = model_bytes(40 * 1024);
    let hub = Hub::start(Script {
        cuts: VecDeque::from([Cut::At(15 * 1024)]),
        ..Script::serving(&data)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let (result, reports) = fetch(&hub, &pinned(&data), dir.path()).await;

    let path = result.unwrap();
    assert!(std::fs::read(path).unwrap() == data, "the bytes differ");
    assert_eq!(hub.ranges(), [None, Some(format!("bytes={}-", 15 * 1024))]);
    assert!(reports.windows(2).all(|w| w[0].done <= w[1].done));
    assert_eq!(reports.last().unwrap().done, data.len() as u64);
    assert!(!part(dir.path()).exists());
}

#[tokio::test]
async fn endless_cuts_fail_after_a_few_resumes_and_keep_the_part() {
    let data = model_bytes(40 * 1024);
    let hub = Hub::start(Script {
        cuts: (1..=10).map(|k| Cut::At(k * 2048)).collect(),
        ..Script::serving(&data)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let (result, _) = fetch(&hub, &pinned(&data), dir.path()).await;

    let error = result.unwrap_err();
    assert!(
        matches!(error, DownloadError::Interrupted { attempts: 6, .. }),
        "{error:?}"
    );
    let host = hub.base.trim_start_matches("http://");
    assert!(
        error.to_string().starts_with(&format!(
            "the download from {host} broke off 6 times (last: "
        )),
        "{error}"
    );
    assert!(error.to_string().ends_with("run it again to resume"));
    // One first request and five resumes.
    assert_eq!(hub.seen().len(), 6);
    let kept = std::fs::read(part(dir.path())).unwrap();
    assert!(
        kept == data[..6 * 2048],
        "the part holds {} bytes",
        kept.len()
    );
    assert!(!dir.path().join(FILE).exists());
}

#[tokio::test]
async fn a_server_ignoring_range_restarts_from_zero() {
    let data = model_bytes(30 * 1024);
    let hub = Hub::start(Script {
        ignore_range: true,
        ..Script::serving(&data)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // A stale part from some other file: appending to it would corrupt the model.
    std::fs::write(part(dir.path()), vec![0xEE; 5000]).unwrap();

    let (result, reports) = fetch(&hub, &pinned(&data), dir.path()).await;

    let path = result.unwrap();
    assert!(std::fs::read(path).unwrap() == data, "the bytes differ");
    assert_eq!(hub.ranges(), [Some("bytes=5000-".to_owned())]);
    assert_eq!(reports.last().unwrap().done, data.len() as u64);
}

#[tokio::test]
async fn a_complete_part_is_checked_and_renamed_after_416() {
    let data = model_bytes(8 * 1024);
    let hub = Hub::start(Script::serving(&data)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(part(dir.path()), &data).unwrap();

    let (result, _) = fetch(&hub, &pinned(&data), dir.path()).await;

    assert!(std::fs::read(result.unwrap()).unwrap() == data);
    assert_eq!(hub.ranges(), [Some(format!("bytes={}-", data.len()))]);
    assert!(!part(dir.path()).exists());
}

#[tokio::test]
async fn a_checksum_mismatch_leaves_nothing_behind() {
    let data = model_bytes(20 * 1024);
    let hub = Hub::start(Script::serving(&data)).await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = sha_hex(b"some other file");
    let file = ModelFile {
        sha256: Some(leak(wrong.clone())),
        ..pinned(&data)
    };

    let (result, _) = fetch(&hub, &file, dir.path()).await;

    let error = result.unwrap_err();
    assert_eq!(
        error,
        DownloadError::Checksum {
            file: FILE.into(),
            expected: wrong.clone(),
            got: sha_hex(&data),
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{FILE} failed its checksum: expected sha256 {wrong}, got {}; the download was deleted",
            sha_hex(&data)
        )
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_wrong_size_is_refused_before_the_body() {
    let data = model_bytes(20 * 1024);
    let hub = Hub::start(Script::serving(&data)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = ModelFile {
        size: 12345,
        ..pinned(&data)
    };

    let (result, _) = fetch(&hub, &file, dir.path()).await;

    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "{FILE} has the wrong size: expected 12345 bytes, got {}; the download was deleted",
            data.len()
        )
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn linked(sha: &str, size: usize) -> Vec<(String, String)> {
    vec![
        ("x-linked-etag".into(), format!("\"{sha}\"")),
        ("x-linked-size".into(), size.to_string()),
        (
            "etag".into(),
            "\"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678\"".into(),
        ),
    ]
}

#[tokio::test]
async fn the_hubs_linked_etag_on_a_redirect_verifies_the_file() {
    let data = model_bytes(25 * 1024);
    let hub = Hub::start(Script {
        redirect: Some(linked(&sha_hex(&data), data.len())),
        ..Script::serving(&data)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let (result, reports) = fetch(&hub, &unpinned(), dir.path()).await;

    assert!(std::fs::read(result.unwrap()).unwrap() == data);
    let paths: Vec<String> = hub.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, [RESOLVE, CDN]);
    // X-Linked-Size gave the total before the CDN said anything.
    assert!(reports.iter().all(|p| p.total == data.len() as u64));
}

#[tokio::test]
async fn a_wrong_linked_etag_is_a_checksum_failure() {
    let data = model_bytes(25 * 1024);
    let published = sha_hex(b"what the hub says");
    let hub = Hub::start(Script {
        redirect: Some(linked(&published, data.len())),
        ..Script::serving(&data)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let (result, _) = fetch(&hub, &unpinned(), dir.path()).await;

    assert_eq!(
        result.unwrap_err(),
        DownloadError::Checksum {
            file: FILE.into(),
            expected: published,
            got: sha_hex(&data),
        }
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_sha256_etag_verifies_when_nothing_else_does() {
    let data = model_bytes(10 * 1024);
    let hub = Hub::start(Script {
        data_headers: vec![("etag".into(), format!("\"{}\"", sha_hex(&data)))],
        ..Script::serving(&data)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let (result, _) = fetch(&hub, &unpinned(), dir.path()).await;

    assert!(std::fs::read(result.unwrap()).unwrap() == data);
}

#[tokio::test]
async fn an_unverifiable_file_is_refused_before_downloading() {
    let data = model_bytes(10 * 1024);
    let hub = Hub::start(Script {
        data,
        data_headers: vec![("etag".into(), "\"not-a-sha256\"".into())],
        ..Script::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let (result, reports) = fetch(&hub, &unpinned(), dir.path()).await;

    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "no checksum is known for {FILE} (the hub sent no X-Linked-Etag and no sha256 ETag); refusing an unverified download"
        )
    );
    assert!(reports.is_empty());
    assert!(!dir.path().join(FILE).exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_closed_port_is_an_offline_error_naming_the_host() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let mut on_progress = |_: Progress| {};

    let error = download(
        &client(),
        &format!("http://127.0.0.1:{port}/"),
        &pinned(b"x"),
        dir.path(),
        &mut on_progress,
    )
    .await
    .unwrap_err();

    assert!(
        matches!(&error, DownloadError::Offline { host, .. } if *host == format!("127.0.0.1:{port}")),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot reach 127.0.0.1:{port} (")),
        "{message}"
    );
    assert!(
        message.ends_with("); check the network or HF_ENDPOINT / HTTPS_PROXY"),
        "{message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn an_http_error_carries_the_hubs_message() {
    let hub = Hub::start(Script {
        fail: Some((
            404,
            vec![("x-error-message".into(), "Entry not found".into())],
            "Entry not found".into(),
        )),
        ..Script::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let (result, _) = fetch(&hub, &pinned(b"x"), dir.path()).await;

    assert_eq!(
        result.unwrap_err().to_string(),
        format!("{}{RESOLVE} answered HTTP 404: Entry not found", hub.base)
    );
    assert!(!dir.path().join(FILE).exists());
}

#[tokio::test]
async fn a_json_error_body_gives_the_message_when_no_header_does() {
    let hub = Hub::start(Script {
        fail: Some((
            401,
            vec![],
            r#"{"error":"Invalid username or password."}"#.into(),
        )),
        ..Script::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let (result, _) = fetch(&hub, &pinned(b"x"), dir.path()).await;

    assert_eq!(
        result.unwrap_err(),
        DownloadError::Status {
            url: format!("{}{RESOLVE}", hub.base),
            status: 401,
            message: "Invalid username or password.".into(),
        }
    );
}

#[tokio::test]
async fn dropping_the_future_keeps_the_part_for_the_next_call() {
    let data = model_bytes(48 * 1024);
    let hub = Hub::start(Script {
        cuts: VecDeque::from([Cut::StallAt(20 * 1024)]),
        ..Script::serving(&data)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = pinned(&data);

    let client = client();
    let mut ignore = |_: Progress| {};
    let first = download(&client, &hub.base, &file, dir.path(), &mut ignore);
    assert!(
        tokio::time::timeout(Duration::from_millis(700), first)
            .await
            .is_err(),
        "the stalled download should still be running"
    );
    let kept = std::fs::read(part(dir.path())).unwrap();
    assert!(
        kept == data[..20 * 1024],
        "the part holds {} bytes",
        kept.len()
    );
    assert!(!dir.path().join(FILE).exists());

    let (result, reports) = fetch(&hub, &file, dir.path()).await;

    assert!(std::fs::read(result.unwrap()).unwrap() == data);
    assert_eq!(hub.ranges(), [None, Some(format!("bytes={}-", 20 * 1024))]);
    assert!(reports.iter().all(|p| p.done >= 20 * 1024));
}

#[tokio::test]
async fn a_finished_file_is_not_fetched_again() {
    let data = model_bytes(4096);
    let hub = Hub::start(Script::serving(&data)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(FILE), &data).unwrap();

    let (result, _) = fetch(&hub, &pinned(&data), dir.path()).await;

    assert_eq!(result.unwrap(), dir.path().join(FILE));
    assert!(hub.seen().is_empty());
}

#[test]
fn hf_endpoint_points_the_download_elsewhere() {
    let env = |k: &str| (k == "HF_ENDPOINT").then(|| "http://127.0.0.1:8080/".to_owned());
    assert_eq!(endpoint(&env), "http://127.0.0.1:8080");
    assert_eq!(endpoint(&|_| None), "https://huggingface.co");
}
