//! Logging to `<state_dir>/tinychat.log`, never to the terminal (spec §3).
//!
//! `TINYCHAT_LOG` sets the filter (default `info`). Writes go through a non-blocking
//! writer so a slow disk never stalls the UI. Nothing here logs headers or keys: callers
//! log statuses, sizes and timings only.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Log lines that may wait for the writer thread.
const LOG_QUEUE_LINES: usize = 1024;

/// Starts logging into `dir`. Returns the guard that flushes on drop, or `None` when the
/// folder cannot be used (tinychat then runs without a log rather than not at all).
pub fn init(dir: &Path) -> Option<WorkerGuard> {
    std::fs::create_dir_all(dir).ok()?;
    let appender = tracing_appender::rolling::RollingFileAppender::builder()
        .filename_prefix("tinychat.log")
        .build(dir)
        .ok()?;
    // The default queue preallocates 128,000 lines (4 MB resident); a chat client logs a
    // few lines a second. Lossy: a full queue drops lines rather than block the UI.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(true)
        .finish(appender);
    let filter = EnvFilter::try_from_env("TINYCHAT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
