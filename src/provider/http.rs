//! HTTP plumbing every provider shares: authenticating a request, and turning a failed
//! request or an error status into a [`ProviderError`] the user can act on.
//!
//! Owns: adding the key (in the header the provider's dialect names) and the config's
//! extra headers, reading an error body (bounded), the parsing of
//! the error-body shapes in protocols.md (OpenAI, Mistral old and new, Cohere, FastAPI
//! `detail`, Ollama's string `error`), the hints, and the wording of connection failures.
//! Must not: parse reply streams, log or print a header or key, or import any UI.

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Serialize;
use serde_json::Value;

use super::{Problem, ProviderError, ProviderSpec, RetryHint};

/// The most of an error body that is read; the rest is left unread.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// How much of a non-JSON error body is shown.
const ERROR_TEXT_CHARS: usize = 300;

/// Adds the provider's authentication, in the header its dialect names (only when a
/// key is configured: a server without auth must not receive an empty one), and the
/// extra headers from the config.
pub(crate) fn authorize(
    builder: reqwest::RequestBuilder,
    provider: &ProviderSpec,
) -> reqwest::RequestBuilder {
    let key = provider.api_key.as_deref();
    let mut builder = match provider.kind.dialect() {
        Some(dialect) => dialect.authorize(builder, key),
        None => match key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        },
    };
    for (name, value) in &provider.headers {
        builder = builder.header(name, value);
    }
    builder
}

/// A provider's own reading of a failed request, applied on top of the shared one: it
/// gets the error and, for an error response, its body parsed as JSON. Every error of
/// [`post_json`] passes through it (a send error with `None`).
pub(crate) type Refine<'a> = &'a (dyn Fn(ProviderError, Option<&Value>) -> ProviderError + Sync);

/// No refinement: the shared reading as it is.
pub(crate) fn as_is(error: ProviderError, _body: Option<&Value>) -> ProviderError {
    error
}

/// POSTs `body` as JSON to `url` with the provider's authentication and returns the
/// response once its status says success. Waiting for the response headers counts
/// against `idle`. Every failure here happens before the first token, so the retry loop
/// may try again; `refine` adds what the provider's own error shapes say.
pub(crate) async fn post_json<B: Serialize + ?Sized>(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    url: &str,
    body: &B,
    idle: Duration,
    refine: Refine<'_>,
) -> Result<reqwest::Response, ProviderError> {
    let started = std::time::Instant::now();
    let bytes = serde_json::to_vec(body)
        .map_err(|e| ProviderError::client(format!("cannot encode the request: {e}")))?;
    tracing::debug!(provider = %provider.name, bytes = bytes.len(), "sending chat request");
    let builder = authorize(client.post(url), provider)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(bytes);
    let response = match tokio::time::timeout(idle, builder.send()).await {
        Err(_) => {
            let timeout = Problem::Timeout {
                seconds: super::sse::whole_seconds(idle),
            }
            .at(&provider.name);
            return Err(refine(timeout, None));
        }
        Ok(Err(e)) => return Err(refine(send_error(provider, &e), None)),
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    tracing::debug!(
        provider = %provider.name,
        status = status.as_u16(),
        elapsed_ms = started.elapsed().as_millis(),
        "response headers"
    );
    if !status.is_success() {
        return Err(error_from_response_with(provider, response, idle, refine).await);
    }
    Ok(response)
}

/// Reads at most 64 KiB of an error response (waiting at most `wait`) and builds the
/// `Http` error from it.
pub(crate) async fn error_from_response(
    provider: &ProviderSpec,
    response: reqwest::Response,
    wait: Duration,
) -> ProviderError {
    error_from_response_with(provider, response, wait, &as_is).await
}

/// [`error_from_response`] with the provider's `refine` applied to the result.
pub(crate) async fn error_from_response_with(
    provider: &ProviderSpec,
    mut response: reqwest::Response,
    wait: Duration,
    refine: Refine<'_>,
) -> ProviderError {
    let status = response.status();
    let retry = retry_hint(response.headers());
    let mut body = Vec::new();
    let read = async {
        while body.len() < ERROR_BODY_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(provider = %provider.name, cause = %root_cause(&e), "error body broke off");
                    break;
                }
            }
        }
    };
    if tokio::time::timeout(wait, read).await.is_err() {
        tracing::debug!(provider = %provider.name, "gave up reading the error body");
    }
    body.truncate(ERROR_BODY_LIMIT);
    if let Some(encoding) = content_encoding(response.headers()) {
        // Compressed bytes are no message; say what they are instead of showing them.
        body =
            format!("(the error body is compressed with {encoding}, which tinychat cannot read)")
                .into_bytes();
    }
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let mut error = http_error(provider, status, &body);
    if let Problem::Http { retry: r, .. } = &mut error.problem {
        *r = retry;
    }
    refine(error, parsed.as_ref())
}

/// The retry advice in response headers, as the official SDKs read it: `retry-after-ms`,
/// then `retry-after` (seconds or an HTTP date), and `x-should-retry: true|false`.
pub(crate) fn retry_hint(headers: &reqwest::header::HeaderMap) -> RetryHint {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let after_ms = text("retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok());
    let after = after_ms.or_else(|| {
        let value = text("retry-after")?;
        if let Ok(secs) = value.parse::<f64>() {
            // Negative, NaN or absurdly large values are no hint at all.
            return Duration::try_from_secs_f64(secs).ok();
        }
        let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        let wait = when.signed_duration_since(chrono::Utc::now());
        Some(wait.to_std().unwrap_or(Duration::ZERO))
    });
    let allowed = match text("x-should-retry") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    RetryHint { after, allowed }
}

/// Builds a [`Problem::Http`] error from a status and the (possibly partial) body, with the
/// provider's own message and code and a hint for the statuses users can fix.
pub(crate) fn http_error(
    provider: &ProviderSpec,
    status: StatusCode,
    body: &[u8],
) -> ProviderError {
    let (code, message) = match serde_json::from_slice::<Value>(body) {
        Ok(value) => error_fields(&value, Some(status.as_u16())),
        Err(_) => None,
    }
    .unwrap_or_else(|| (None, plain_text(status, body)));
    let hint = match status.as_u16() {
        401 | 403 => Some(key_hint(provider)),
        404 => Some("run `tinychat models` to see the available models".to_owned()),
        429 => Some("rate limited; wait and try again".to_owned()),
        _ => None,
    };
    Problem::Http {
        status: status.as_u16(),
        code,
        message: redact(provider, &message),
        hint,
        retry: RetryHint::default(),
    }
    .at(&provider.name)
}

/// What to check when the server rejects the key: the variable it comes from, else the
/// config's `api_key`. Shared by the generic 401/403 hint and the providers that signal
/// a bad key another way (Gemini's 400 `API_KEY_INVALID`, Cohere's 498).
pub(crate) fn key_hint(provider: &ProviderSpec) -> String {
    match &provider.key_env {
        Some(var) => format!("check {var}"),
        None => "check the provider's api_key".to_owned(),
    }
}

/// The `(code, message)` of an error payload in any of the shapes providers use, or
/// `None` when `value` carries no error. Used for HTTP error bodies and for error
/// frames inside a stream.
///
/// `code` prefers `code` over `type`; a numeric code equal to `status` (OpenRouter,
/// Gemini repeat the HTTP status there) says nothing new and falls back to `type`.
///
/// Unlike reply events, error payloads are read as a JSON value, not a wire struct:
/// they are a union of shapes whose every field may be a string, a number or an object,
/// and an object without a `message` is shown as its own JSON, which only the value
/// still has. Each provider's extra fields (Gemini's `details`, Anthropic's
/// `error_code`) are typed in its module.
pub(crate) fn error_fields(value: &Value, status: Option<u16>) -> Option<(Option<String>, String)> {
    let obj = value.as_object()?;
    match obj.get("error") {
        // {"error":{"message","type","code"}}: OpenAI, Groq, OpenRouter, Gemini, Ollama /v1.
        Some(Value::Object(inner)) => {
            let message = inner
                .get("message")
                .filter(|m| !m.is_null())
                .map_or_else(|| Value::Object(inner.clone()).to_string(), text_of);
            Some((code_of(inner, status), message))
        }
        // {"error":"..."}: Ollama native and assorted proxies.
        Some(Value::String(s)) if !s.is_empty() => Some((code_of(obj, status), s.clone())),
        _ => {
            // {"message":...} (Mistral older, Cohere) and {"object":"error","message",
            // "type","code"} (Mistral newer); {"detail":...} (FastAPI servers).
            let message = obj
                .get("message")
                .or_else(|| obj.get("detail"))
                .filter(|m| !m.is_null())?;
            Some((code_of(obj, status), text_of(message)))
        }
    }
}

/// `code` (string or number), else `type`, skipping empty values and a code that only
/// repeats the HTTP status.
fn code_of(obj: &serde_json::Map<String, Value>, status: Option<u16>) -> Option<String> {
    let code = match obj.get("code") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) if n.as_u64() != status.map(u64::from) => Some(n.to_string()),
        _ => None,
    };
    // `type` (OpenAI, Anthropic), else `status` (Gemini's RPC code, e.g. INVALID_ARGUMENT).
    code.or_else(|| {
        ["type", "status"]
            .iter()
            .find_map(|key| match obj.get(*key) {
                Some(Value::String(s)) if !s.is_empty() && s != "error" => Some(s.clone()),
                _ => None,
            })
    })
}

/// A message field as one line of text: strings as they are, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A body that is not JSON: its trimmed text (first 300 characters), or the status's
/// reason phrase when empty.
fn plain_text(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return status.canonical_reason().unwrap_or("no details").to_owned();
    }
    let mut out: String = text.chars().take(ERROR_TEXT_CHARS).collect();
    if text.chars().nth(ERROR_TEXT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Removes our own key, and the user name and password of every URL, from text a server
/// echoed back or that names our base URL, so none can ever be shown, logged or saved.
pub(crate) fn redact(provider: &ProviderSpec, text: &str) -> String {
    let text = redact_userinfo(text);
    match &provider.api_key {
        Some(key) if key.len() >= 4 && text.contains(key.as_str()) => {
            text.replace(key.as_str(), "<redacted>")
        }
        _ => text,
    }
}

/// What stands in for the `user:password` of a URL once it is redacted.
pub const REDACTED_USERINFO: &str = "***";

/// `text` with the userinfo (`user:password@`) of every URL in it replaced by `***@`:
/// `http://me:s3cret@host/v1` → `http://***@host/v1`. The one function every URL goes
/// through before it becomes error text, a log field or part of a saved file (issue
/// 10): a base URL may carry Basic-auth credentials, and a user name alone can be a
/// token. Text without `://` comes back unchanged, so it is cheap on every message.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let authority_start = at + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        // The authority ends at the path, query or fragment, or where the URL does in text.
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#')
                    || c.is_whitespace()
                    || matches!(c, '"' | '\'' | '`' | ')' | '>' | ']' | ',')
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                out.push_str(REDACTED_USERINFO);
                out.push_str(&authority[userinfo_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The error for a successful response whose body is compressed (`Content-Encoding`
/// gzip, br, zstd…) although tinychat asked for no encoding and decodes none: its bytes
/// are not the protocol, and the message names the encoding instead of calling them
/// garbage. `None` for an identity (or absent) encoding.
pub(crate) fn unsupported_encoding(
    provider: &ProviderSpec,
    headers: &HeaderMap,
) -> Option<ProviderError> {
    let encoding = content_encoding(headers)?;
    let message = format!(
        "the server compressed its reply with {encoding} (Content-Encoding), which tinychat did not ask for and cannot read"
    );
    Some(Problem::Malformed { message }.at(&provider.name))
}

/// The body's encodings other than `identity`, as the header lists them (at most 60
/// characters of visible ASCII), or `None`.
fn content_encoding(headers: &HeaderMap) -> Option<String> {
    let names: Vec<&str> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .map(|v| v.to_str().unwrap_or("(unreadable)"))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"))
        .collect();
    if names.is_empty() {
        return None;
    }
    let joined = names.join(", ");
    Some(joined.chars().take(60).collect())
}

/// The error for a request that got no HTTP response: `cannot connect to URL: cause`,
/// with "is the server running?" for loopback hosts.
pub(crate) fn send_error(provider: &ProviderSpec, err: &reqwest::Error) -> ProviderError {
    let base = &redact_userinfo(&provider.base_url);
    let cause = root_cause(err);
    let message = if err.is_builder() {
        format!("cannot build a request for {base}: {cause}")
    } else if err.is_connect() {
        format!("cannot connect to {base}: {cause}")
    } else {
        format!("no response from {base}: {cause}")
    };
    let hint = (err.is_connect() && is_loopback(&provider.base_url))
        .then(|| "is the server running?".to_owned());
    Problem::Connect {
        message: redact(provider, &message),
        hint,
    }
    .at(&provider.name)
}

/// The innermost cause of an error in plain words (`connection refused`), never a Debug
/// dump. I/O errors are named by their kind, which reads the same on every platform.
pub(crate) fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut current: &(dyn StdError + 'static) = err;
    let mut io_kind = None;
    loop {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        match current.source() {
            Some(next) => current = next,
            None => break,
        }
    }
    if let Some(word) = io_kind.and_then(io_kind_words) {
        return word.to_owned();
    }
    let text = current.to_string();
    // "Connection refused (os error 111)" → "connection refused".
    let text = match text.find(" (os error") {
        Some(pos) => &text[..pos],
        None => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_owned(),
    }
}

fn io_kind_words(kind: std::io::ErrorKind) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    Some(match kind {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset by the server",
        K::ConnectionAborted => "connection aborted",
        K::NotConnected => "not connected",
        K::TimedOut => "timed out",
        K::UnexpectedEof => "the connection closed unexpectedly",
        K::AddrNotAvailable => "address not available",
        _ => return None,
    })
}

/// True when `base_url` points at this machine (`localhost`, 127.0.0.0/8, `::1`).
pub(crate) fn is_loopback(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let hint = retry_hint(&headers(&[
            ("retry-after-ms", "1500"),
            ("retry-after", "9"),
        ]));
        assert_eq!(hint.after, Some(Duration::from_millis(1500)));
        let hint = retry_hint(&headers(&[("retry-after", "7")]));
        assert_eq!(hint.after, Some(Duration::from_secs(7)));
    }

    #[test]
    fn absurd_retry_values_are_ignored_not_fatal() {
        let hint = retry_hint(&headers(&[("retry-after", "1e300")]));
        assert_eq!(hint.after, None);
        let hint = retry_hint(&headers(&[
            ("retry-after-ms", "-5"),
            ("retry-after", "NaN"),
        ]));
        assert_eq!(hint.after, None);
    }

    #[test]
    fn retry_after_as_a_past_http_date_means_now() {
        let hint = retry_hint(&headers(&[(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT",
        )]));
        assert_eq!(hint.after, Some(Duration::ZERO));
    }

    #[test]
    fn x_should_retry_is_read_and_garbage_ignored() {
        assert_eq!(
            retry_hint(&headers(&[("x-should-retry", "false")])).allowed,
            Some(false)
        );
        assert_eq!(
            retry_hint(&headers(&[("x-should-retry", "true")])).allowed,
            Some(true)
        );
        let hint = retry_hint(&headers(&[
            ("x-should-retry", "maybe"),
            ("retry-after", "soon"),
        ]));
        assert_eq!(hint, RetryHint::default());
    }
}
