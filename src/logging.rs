//! Logging to `<state_dir>/tinychat.log`, never to the terminal (spec §3).
//!
//! `TINYCHAT_LOG` sets the filter (default `info`). Writes go through a non-blocking
//! writer so a slow disk never stalls the UI. Nothing here logs headers or keys: callers
//! log statuses, sizes and timings only.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// The log's file name in its folder (the appender never rotates it).
pub const LOG_FILE: &str = "tinychat.log";

/// Log lines that may wait for the writer thread.
const LOG_QUEUE_LINES: usize = 1024;

/// Starts logging into `dir`. Returns the guard that flushes on drop, or `None` when the
/// folder cannot be used (tinychat then runs without a log rather than not at all).
pub fn init(dir: &Path) -> Option<WorkerGuard> {
    std::fs::create_dir_all(dir).ok()?;
    private_log_file(&dir.join(LOG_FILE)).ok()?;
    let appender = tracing_appender::rolling::RollingFileAppender::builder()
        .filename_prefix(LOG_FILE)
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

/// Creates the log file readable and writable by its owner only (0600 on unix), or makes
/// an existing one so: it names servers, models and errors, which are nobody else's
/// business. The appender then opens it for appending and keeps the mode.
fn private_log_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // A file made by an older build (or another umask) keeps its mode on open.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    options.open(path)?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_log_file_is_private_new_or_old() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(LOG_FILE);
        private_log_file(&path).expect("new log");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        std::fs::write(&path, "old line\n").expect("write");
        private_log_file(&path).expect("old log");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "old line\n");
    }
}
