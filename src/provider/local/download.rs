//! The first-run default model: one pinned GGUF fetched from the Hugging Face hub (or
//! a mirror named by `HF_ENDPOINT`), so a machine with no key and no server can chat
//! after a single download.
//!
//! A model is hundreds of megabytes, so the download is built to survive real
//! networks: it writes `<file>.part`, resumes it with a `Range` request (also across
//! runs: cancelling is dropping the future), resumes a connection cut mid-body by
//! itself a few times, and hashes as it writes. Nothing unverified ever gets the
//! final name: the SHA-256 and size are checked first, and a mismatch deletes the
//! `.part`. The store lists only `*.gguf`, so a `.part` is never mistaken for a model.
//!
//! The expected SHA-256 is pinned here when known. Otherwise it is the hub's own: its
//! redirect for an LFS file carries `X-Linked-Etag` (the quoted sha256 of the file)
//! and `X-Linked-Size`. reqwest's automatic redirects would drop those headers, so
//! [`download_client`] turns them off and [`download`] follows redirects itself.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_RANGE, ETAG, HeaderMap, LOCATION, RANGE};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

/// One GGUF file on the hub, pinned to a commit so "the default model" cannot change
/// under a user when the repository does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    /// What the first-run prompt calls it.
    pub label: &'static str,
    /// `owner/name` on the hub.
    pub repo: &'static str,
    /// A commit id (or a branch, which then is not pinned).
    pub revision: &'static str,
    /// The file's path in the repository.
    pub file: &'static str,
    /// Bytes; shown before the download starts and checked after it. `0` = unknown
    /// (the hub's `X-Linked-Size` or the response length is used instead).
    pub size: u64,
    /// Lower-case hex; `None` trusts the hub's published value instead.
    pub sha256: Option<&'static str>,
}

/// The model offered on first run: Qwen2.5 0.5B Instruct in Q8_0, from Qwen's own GGUF
/// repository. Small enough for any machine, and Q8_0 has fast AVX2 kernels in candle
/// (the Q4_K_M file is only a quarter smaller: 491 400 032 bytes). Size and SHA-256 are
/// the LFS object of this file at the pinned commit.
pub const DEFAULT_MODEL: ModelFile = ModelFile {
    label: "Qwen2.5 0.5B Instruct",
    repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
    revision: "9217f5db79a29953eb74d5343926648285ec7e67",
    file: "qwen2.5-0.5b-instruct-q8_0.gguf",
    size: 675_710_816,
    sha256: Some("ca59ca7f13d0e15a8cfa77bd17e65d24f6844b554a7b6c12e07a5f89ff76844e"),
};

/// How far a download is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes in the `.part` (including what an earlier run left).
    pub done: u64,
    /// The file's size; `0` when neither the pin nor the server says.
    pub total: u64,
    /// A moving average over the last seconds, so the number does not jitter.
    pub bytes_per_sec: f64,
    /// `None` until there is a rate (or when the total is unknown).
    pub eta: Option<Duration>,
}

/// Why a download failed, in one line a user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DownloadError {
    /// No connection could be made (offline, DNS, proxy, TLS).
    #[error("cannot reach {host} ({message}); check the network or HF_ENDPOINT / HTTPS_PROXY")]
    Offline { host: String, message: String },
    /// The hub (or its CDN) refused, with its own message.
    #[error("{url} answered HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    /// The bytes are not the pinned or published file.
    #[error(
        "{file} failed its checksum: expected sha256 {expected}, got {got}; the download was deleted"
    )]
    Checksum {
        file: String,
        expected: String,
        got: String,
    },
    /// The file is not the size it should be.
    #[error(
        "{file} has the wrong size: expected {expected} bytes, got {got}; the download was deleted"
    )]
    Size {
        file: String,
        expected: u64,
        got: u64,
    },
    /// Writing the file failed (no space left, no permission).
    #[error("cannot write {path}: {message}")]
    Disk { path: PathBuf, message: String },
    /// The connection kept breaking mid-body; the `.part` stays for the next run.
    #[error(
        "the download from {host} broke off {attempts} times (last: {message}); run it again to resume"
    )]
    Interrupted {
        host: String,
        attempts: u32,
        message: String,
    },
    /// Neither a pinned nor a published checksum is known: an unverifiable file is
    /// never accepted as a model.
    #[error(
        "no checksum is known for {file} (the hub sent no X-Linked-Etag and no sha256 ETag); refusing an unverified download"
    )]
    Unverified { file: String },
    /// The server spoke HTTP in a way a download cannot use (bad redirect, wrong range).
    #[error("{url}: {message}")]
    Protocol { url: String, message: String },
    /// The HTTP client could not be built (e.g. a malformed proxy variable).
    #[error("cannot set up the download: {0}")]
    Client(String),
}

/// The hub used when `HF_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Redirects followed before giving up (the hub uses one or two).
const MAX_REDIRECTS: usize = 10;
/// Mid-body cuts resumed automatically in a row before failing.
const MAX_CUTS: u32 = 5;
/// A cut after at least this much new data starts the count of cuts again: a long
/// download over a flaky link keeps going as long as it makes progress.
const FRESH_DATA: u64 = 1 << 20;
/// The wait before the n-th resume is n times this.
const BACKOFF_STEP: Duration = Duration::from_millis(100);
/// The least time between two progress callbacks.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// The span the transfer rate is averaged over.
const RATE_WINDOW: Duration = Duration::from_secs(5);
/// No byte for this long counts as a cut connection.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Writes reach the disk in pieces this large.
const WRITE_BUFFER: usize = 1 << 20;
/// At most this much of an error body is read for its message.
const ERROR_BODY_LIMIT: usize = 4096;

/// `HF_ENDPOINT` (trailing slash trimmed), default https://huggingface.co: the hub's
/// own variable, so mirrors and proxies configured for other tools work here too.
pub fn endpoint(env: &dyn Fn(&str) -> Option<String>) -> String {
    env("HF_ENDPOINT")
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
}

/// Where the finished file lives: `<dir>/<file>` (the file's last path segment, so a
/// file in a repository subfolder still lands where the store looks).
pub fn destination(dir: &Path, file: &ModelFile) -> PathBuf {
    dir.join(file_name(file))
}

/// Where the file grows until it is verified.
fn part_path(dir: &Path, file: &ModelFile) -> PathBuf {
    dir.join(format!("{}.part", file_name(file)))
}

fn file_name(file: &ModelFile) -> &'static str {
    file.file.rsplit('/').next().unwrap_or(file.file)
}

/// A client for downloads: the project's proxies from the environment
/// (`provider::http_client_builder`) and redirects followed by hand, so the hub's own
/// headers are seen. A stalled connection is cut after a while and then resumed.
pub fn download_client(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<reqwest::Client, DownloadError> {
    crate::provider::http_client_builder(env)
        .map_err(|e| DownloadError::Client(e.to_string()))?
        .redirect(reqwest::redirect::Policy::none())
        .read_timeout(READ_TIMEOUT)
        .build()
        .map_err(|e| DownloadError::Client(e.to_string()))
}

/// Downloads `{endpoint}/{repo}/resolve/{revision}/{file}` into `dir`; returns the
/// final path. Cancel = drop the future (the `.part` stays for a resume).
///
/// A file already at the final name is trusted (it was verified before it got the
/// name) unless its size contradicts the pin. `client` should come from
/// [`download_client`]: with automatic redirects the hub's checksum is not seen.
pub async fn download(
    client: &reqwest::Client,
    endpoint: &str,
    file: &ModelFile,
    dir: &Path,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<PathBuf, DownloadError> {
    let address = format!(
        "{}/{}/resolve/{}/{}",
        endpoint.trim_end_matches('/'),
        file.repo,
        file.revision,
        file.file
    );
    let url = Url::parse(&address).map_err(|e| DownloadError::Protocol {
        url: address.clone(),
        message: format!("not a valid URL ({e}); check HF_ENDPOINT"),
    })?;
    let target = destination(dir, file);
    let pinned_size = (file.size > 0).then_some(file.size);
    if let Ok(meta) = fs::metadata(&target)
        && meta.is_file()
        && pinned_size.is_none_or(|size| size == meta.len())
    {
        return Ok(target);
    }
    fs::create_dir_all(dir).map_err(|e| disk(dir, &e))?;
    let result = transfer(client, &url, file, dir, on_progress).await;
    if result.is_err() {
        // A failure before the first byte leaves no empty `.part` behind.
        let part = part_path(dir, file);
        if fs::metadata(&part).is_ok_and(|m| m.len() == 0) {
            let _ = fs::remove_file(part);
        }
    }
    result
}

/// [`download`] once the URL and the folder are ready.
async fn transfer(
    client: &reqwest::Client,
    url: &Url,
    file: &ModelFile,
    dir: &Path,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<PathBuf, DownloadError> {
    let target = destination(dir, file);
    let pinned_size = (file.size > 0).then_some(file.size);
    let mut part = Part::open(part_path(dir, file)).await?;
    let mut expected_sha = file.sha256.map(str::to_ascii_lowercase);
    let mut expected_size = pinned_size;
    let mut meter = Meter::new(on_progress);
    let mut cuts = 0u32;
    let mut connected = false;
    loop {
        let from = part.len;
        let cut = match fetch(client, url, from).await {
            Ok(mut answer) => {
                connected = true;
                let status = answer.response.status();
                if !status.is_success() && status != StatusCode::RANGE_NOT_SATISFIABLE {
                    return Err(status_error(answer).await);
                }
                if let Some(published) = &answer.sha256
                    && expected_sha
                        .as_ref()
                        .is_some_and(|pinned| pinned != published)
                {
                    tracing::warn!(file = file.file, %published, "the hub's checksum differs from the pinned one; the pinned one is used");
                }
                expected_sha = expected_sha.or_else(|| answer.sha256.take());
                if expected_sha.is_none() {
                    return Err(DownloadError::Unverified {
                        file: file.file.to_owned(),
                    });
                }
                match start_body(&mut answer, &mut part, from, expected_size, file)? {
                    Start::Body(total) => {
                        expected_size = total;
                        meter.begin(part.len);
                        read_body(&mut answer.response, &mut part, total, &mut meter).await?
                    }
                    Start::Complete => None,
                    Start::Again(reason) => Some(reason),
                }
            }
            // A failed reconnect after a cut is one more cut; the first connection
            // failing means the hub cannot be reached at all.
            Err(DownloadError::Offline { message, .. }) if connected => Some(message),
            Err(e) => return Err(e),
        };
        let Some(reason) = cut else { break };
        if part.len.saturating_sub(from) >= FRESH_DATA {
            cuts = 0;
        }
        cuts += 1;
        if cuts > MAX_CUTS {
            return Err(DownloadError::Interrupted {
                host: host_of(url),
                attempts: cuts,
                message: reason,
            });
        }
        tracing::info!(file = file.file, at = part.len, %reason, "download cut off; resuming");
        tokio::time::sleep(BACKOFF_STEP * cuts).await;
    }

    meter.finish(part.len, expected_size.unwrap_or(0));
    let (got_sha, got_size) = part.finish().await?;
    let part_file = part_path(dir, file);
    if let Some(expected) = expected_size
        && expected != got_size
    {
        let _ = fs::remove_file(&part_file);
        return Err(DownloadError::Size {
            file: file.file.to_owned(),
            expected,
            got: got_size,
        });
    }
    let expected = expected_sha.unwrap_or_default();
    if expected != got_sha {
        let _ = fs::remove_file(&part_file);
        return Err(DownloadError::Checksum {
            file: file.file.to_owned(),
            expected,
            got: got_sha,
        });
    }
    fs::rename(&part_file, &target).map_err(|e| disk(&target, &e))?;
    Ok(target)
}

/// What to do with an answer before reading its body.
enum Start {
    /// Read the body; the file's total size, when known.
    Body(Option<u64>),
    /// The `.part` already holds the whole file.
    Complete,
    /// Ask again (the `.part` was reset), for this reason.
    Again(String),
}

/// Checks the status and length of `answer` against what the `.part` holds and
/// prepares the `.part` for the body.
fn start_body(
    answer: &mut Answer,
    part: &mut Part,
    from: u64,
    expected_size: Option<u64>,
    file: &ModelFile,
) -> Result<Start, DownloadError> {
    let headers = answer.response.headers();
    let announced = match answer.response.status() {
        StatusCode::PARTIAL_CONTENT => {
            let (start, whole) = content_range(headers).ok_or_else(|| {
                protocol(
                    &answer.url,
                    "a partial answer without a valid Content-Range",
                )
            })?;
            if start != from {
                return Err(protocol(
                    &answer.url,
                    format!("asked to resume at byte {from}, the server sent from byte {start}"),
                ));
            }
            whole.or_else(|| answer.response.content_length().map(|n| from + n))
        }
        StatusCode::OK => {
            // A server that ignores `Range` sends the whole file again.
            if from > 0 {
                part.restart()?;
            }
            answer.response.content_length()
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            // Asked for bytes past the end: the `.part` may already be complete.
            let whole = unsatisfied_range(headers);
            if expected_size.or(whole) == Some(from) {
                return Ok(Start::Complete);
            }
            part.restart()?;
            return Ok(Start::Again(format!(
                "the partial file ({from} bytes) does not fit the server's file; starting over"
            )));
        }
        status => {
            return Err(protocol(
                &answer.url,
                format!("unexpected answer {status} to a download"),
            ));
        }
    };
    let announced = announced.or(answer.size);
    match (expected_size, announced) {
        (Some(expected), Some(got)) if expected != got => {
            part.discard();
            Err(DownloadError::Size {
                file: file.file.to_owned(),
                expected,
                got,
            })
        }
        (Some(expected), _) => Ok(Start::Body(Some(expected))),
        (None, got) => Ok(Start::Body(got)),
    }
}

/// Appends the body to the `.part`; `Some(reason)` when the connection was cut before
/// the end (the caller resumes), `None` when the body is complete.
async fn read_body(
    response: &mut reqwest::Response,
    part: &mut Part,
    total: Option<u64>,
    meter: &mut Meter<'_>,
) -> Result<Option<String>, DownloadError> {
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                if let Some(total) = total
                    && part.len + bytes.len() as u64 > total
                {
                    // More than the file's size: this is not the file. Start over.
                    part.restart()?;
                    return Ok(Some(format!("the server sent more than {total} bytes")));
                }
                part.append(&bytes)?;
                meter.tick(part.len, total.unwrap_or(0));
            }
            Ok(None) => {
                return Ok(match total {
                    Some(total) if part.len < total => {
                        Some(format!("the body ended at byte {} of {total}", part.len))
                    }
                    _ => None,
                });
            }
            Err(e) => return Ok(Some(innermost(&e))),
        }
    }
}

/// A response to a download request, after the redirects, with what the hub published
/// about the file on the way.
struct Answer {
    response: reqwest::Response,
    /// The URL that gave `response`.
    url: Url,
    /// `X-Linked-Etag` of a redirect, else a sha256 `ETag` of the final response.
    sha256: Option<String>,
    /// `X-Linked-Size` of a redirect.
    size: Option<u64>,
}

/// GETs `url` from byte `from`, following redirects by hand.
async fn fetch(client: &reqwest::Client, start: &Url, from: u64) -> Result<Answer, DownloadError> {
    let mut url = start.clone();
    let mut sha256 = None;
    let mut size = None;
    for _ in 0..=MAX_REDIRECTS {
        let mut request = client.get(url.clone());
        if from > 0 {
            request = request.header(RANGE, format!("bytes={from}-"));
        }
        let response = request.send().await.map_err(|e| DownloadError::Offline {
            host: host_of(&url),
            message: innermost(&e),
        })?;
        let headers = response.headers();
        sha256 = sha256.or_else(|| header(headers, "x-linked-etag").and_then(sha256_tag));
        size = size.or_else(|| header(headers, "x-linked-size").and_then(|s| s.parse().ok()));
        if response.status().is_redirection() {
            let location = header(headers, LOCATION.as_str())
                .ok_or_else(|| protocol(&url, "a redirect without a Location"))?;
            url = url
                .join(location)
                .map_err(|e| protocol(&url, format!("a redirect to a bad URL ({e})")))?;
            continue;
        }
        let sha256 = sha256.or_else(|| {
            header(response.headers(), ETAG.as_str())
                .and_then(sha256_tag)
                .filter(|_| response.status().is_success())
        });
        return Ok(Answer {
            response,
            url,
            sha256,
            size,
        });
    }
    Err(protocol(start, "too many redirects"))
}

/// The error for a refusing status, with the hub's message: its `X-Error-Message`
/// header, else the `error` of a JSON body, else the first line of the body.
async fn status_error(mut answer: Answer) -> DownloadError {
    let status = answer.response.status();
    let from_header = header(answer.response.headers(), "x-error-message").map(str::to_owned);
    let message = match from_header {
        Some(message) => message,
        None => error_body(&mut answer.response).await.unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_owned()
        }),
    };
    DownloadError::Status {
        url: without_query(&answer.url),
        status: status.as_u16(),
        message,
    }
}

/// The message of an error body, read up to [`ERROR_BODY_LIMIT`].
async fn error_body(response: &mut reqwest::Response) -> Option<String> {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(bytes)) => body.extend_from_slice(&bytes),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    let text = String::from_utf8_lossy(&body);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
        let error = json.get("error");
        let message = error
            .and_then(serde_json::Value::as_str)
            .or_else(|| error.and_then(|e| e.get("message")?.as_str()));
        if let Some(message) = message {
            return Some(message.to_owned());
        }
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(200).collect())
}

/// The `.part` file with the running hash of what it holds.
struct Part {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    hasher: Sha256,
    len: u64,
}

impl Part {
    /// Opens (or creates) the `.part` and hashes what an earlier run left in it, off
    /// the async threads: hundreds of megabytes take seconds.
    async fn open(path: PathBuf) -> Result<Part, DownloadError> {
        tokio::task::spawn_blocking(move || {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| disk(&path, &e))?;
            let mut hasher = Sha256::new();
            let mut len = 0u64;
            let mut buffer = vec![0u8; WRITE_BUFFER];
            loop {
                let n = file.read(&mut buffer).map_err(|e| disk(&path, &e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                len += n as u64;
            }
            file.seek(SeekFrom::Start(len))
                .map_err(|e| disk(&path, &e))?;
            Ok(Part {
                writer: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
                path,
                hasher,
                len,
            })
        })
        .await
        .map_err(|e| DownloadError::Disk {
            path: PathBuf::new(),
            message: e.to_string(),
        })?
    }

    fn writer(&mut self) -> Result<&mut BufWriter<File>, DownloadError> {
        let path = &self.path;
        self.writer.as_mut().ok_or_else(|| DownloadError::Disk {
            path: path.clone(),
            message: "the partial file was closed".to_owned(),
        })
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), DownloadError> {
        let path = self.path.clone();
        self.writer()?
            .write_all(bytes)
            .map_err(|e| disk(&path, &e))?;
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Empties the `.part` for a download from byte 0.
    fn restart(&mut self) -> Result<(), DownloadError> {
        let path = self.path.clone();
        let writer = self.writer()?;
        writer.flush().map_err(|e| disk(&path, &e))?;
        let file = writer.get_mut();
        file.set_len(0).map_err(|e| disk(&path, &e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| disk(&path, &e))?;
        self.hasher = Sha256::new();
        self.len = 0;
        Ok(())
    }

    /// Closes and deletes the `.part`.
    fn discard(&mut self) {
        self.writer = None;
        let _ = fs::remove_file(&self.path);
    }

    /// Flushes the `.part` to the disk (so the rename never publishes a file whose
    /// bytes are still in memory); the hex SHA-256 and the length.
    async fn finish(&mut self) -> Result<(String, u64), DownloadError> {
        let writer = self.writer.take();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || match writer {
            Some(writer) => {
                let file = writer.into_inner().map_err(|e| disk(&path, e.error()))?;
                file.sync_all().map_err(|e| disk(&path, &e))
            }
            None => Ok(()),
        })
        .await
        .map_err(|e| DownloadError::Disk {
            path: self.path.clone(),
            message: e.to_string(),
        })??;
        let digest = std::mem::take(&mut self.hasher).finalize();
        let mut hex = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        Ok((hex, self.len))
    }
}

/// Progress callbacks, at most one per [`PROGRESS_EVERY`], with a rate averaged over
/// [`RATE_WINDOW`].
struct Meter<'a> {
    on_progress: &'a mut (dyn FnMut(Progress) + Send),
    samples: VecDeque<(Instant, u64)>,
    last: Option<Instant>,
}

impl<'a> Meter<'a> {
    fn new(on_progress: &'a mut (dyn FnMut(Progress) + Send)) -> Self {
        Meter {
            on_progress,
            samples: VecDeque::new(),
            last: None,
        }
    }

    /// A new body starts at `done`: earlier bytes (and the pause) do not count toward
    /// the rate.
    fn begin(&mut self, done: u64) {
        self.samples.clear();
        self.samples.push_back((Instant::now(), done));
    }

    fn tick(&mut self, done: u64, total: u64) {
        let now = Instant::now();
        self.samples.push_back((now, done));
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| now.duration_since(*t) >= RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < PROGRESS_EVERY)
        {
            return;
        }
        self.emit(now, done, total);
    }

    /// The last callback, always made.
    fn finish(&mut self, done: u64, total: u64) {
        self.emit(Instant::now(), done, total);
    }

    fn emit(&mut self, now: Instant, done: u64, total: u64) {
        let bytes_per_sec = match self.samples.front() {
            Some((since, from)) if now > *since => {
                done.saturating_sub(*from) as f64 / now.duration_since(*since).as_secs_f64()
            }
            _ => 0.0,
        };
        let eta = if total > 0 && done >= total {
            Some(Duration::ZERO)
        } else if total > 0 && bytes_per_sec > 0.0 {
            Some(Duration::from_secs_f64(
                (total - done) as f64 / bytes_per_sec,
            ))
        } else {
            None
        };
        self.last = Some(now);
        (self.on_progress)(Progress {
            done,
            total,
            bytes_per_sec,
            eta,
        });
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL); TOTAL is `None` for `*`.
fn content_range(headers: &HeaderMap) -> Option<(u64, Option<u64>)> {
    let value = header(headers, CONTENT_RANGE.as_str())?;
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        n => Some(n.parse().ok()?),
    };
    Some((start, total))
}

/// `bytes */TOTAL` of a 416 answer.
fn unsatisfied_range(headers: &HeaderMap) -> Option<u64> {
    header(headers, CONTENT_RANGE.as_str())?
        .strip_prefix("bytes */")?
        .trim()
        .parse()
        .ok()
}

/// A quoted (possibly weak) entity tag that is a sha256 in hex, lower-cased.
fn sha256_tag(tag: &str) -> Option<String> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
    (tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| tag.to_ascii_lowercase())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok()
}

/// `host` or `host:port`, for messages.
fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("the server");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The URL without its query: CDN redirects carry long signatures nobody needs to read.
fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// The deepest cause of an error ("Connection refused (os error 111)"), which says
/// more than reqwest's "error sending request for url (…)".
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn protocol(url: &Url, message: impl Into<String>) -> DownloadError {
    DownloadError::Protocol {
        url: without_query(url),
        message: message.into(),
    }
}

fn disk(path: &Path, error: &io::Error) -> DownloadError {
    DownloadError::Disk {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_trims_the_slash_and_defaults_to_the_hub() {
        assert_eq!(endpoint(&|_| None), "https://huggingface.co");
        let mirror = |k: &str| (k == "HF_ENDPOINT").then(|| "https://hf-mirror.com/ ".to_owned());
        assert_eq!(endpoint(&mirror), "https://hf-mirror.com");
        let empty = |_: &str| Some(String::new());
        assert_eq!(endpoint(&empty), "https://huggingface.co");
    }

    #[test]
    fn entity_tags_count_only_when_they_are_sha256() {
        let hex = "CA59CA7F13D0E15A8CFA77BD17E65D24F6844B554A7B6C12E07A5F89FF76844E";
        assert_eq!(
            sha256_tag(&format!("\"{hex}\"")).as_deref(),
            Some(hex.to_ascii_lowercase().as_str())
        );
        assert!(sha256_tag(&format!("W/\"{hex}\"")).is_some());
        // A git blob id (sha1) is not a checksum of the file's bytes here.
        assert_eq!(
            sha256_tag("\"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678\""),
            None
        );
    }

    #[test]
    fn content_ranges_parse() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_RANGE, "bytes 100-199/200".parse().unwrap());
        assert_eq!(content_range(&headers), Some((100, Some(200))));
        headers.insert(CONTENT_RANGE, "bytes 100-199/*".parse().unwrap());
        assert_eq!(content_range(&headers), Some((100, None)));
        headers.insert(CONTENT_RANGE, "bytes */200".parse().unwrap());
        assert_eq!(unsatisfied_range(&headers), Some(200));
        assert_eq!(content_range(&headers), None);
    }

    #[test]
    fn the_default_model_is_pinned() {
        assert_eq!(DEFAULT_MODEL.revision.len(), 40);
        assert_eq!(DEFAULT_MODEL.sha256.map(str::len), Some(64));
        assert_eq!(
            destination(Path::new("/c"), &DEFAULT_MODEL),
            PathBuf::from("/c/qwen2.5-0.5b-instruct-q8_0.gguf")
        );
    }

    #[test]
    fn the_download_future_can_move_between_threads() {
        fn assert_send<T: Send>(_: &T) {}
        let client = download_client(&|_| None).unwrap();
        let mut progress = |_: Progress| {};
        let future = download(
            &client,
            "http://127.0.0.1:9",
            &DEFAULT_MODEL,
            Path::new("/nonexistent"),
            &mut progress,
        );
        assert_send(&future);
    }
}
