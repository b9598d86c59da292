//! The welcome's offer of a model to download, and the download's progress bar.

use std::time::Duration;

use ratatui::text::{Line, Span};

use crate::app::{DownloadState, FirstRun};
use crate::provider::first_run::DownloadProgress;
use crate::view::wrap::sanitize;

use super::theme::Theme;

/// Cells of the progress bar.
const BAR: usize = 12;

/// The welcome lines for the offer in its current state.
pub fn lines(first_run: &FirstRun, theme: &Theme) -> Vec<Line<'static>> {
    let offer = first_run.offer;
    let mut lines = Vec::new();
    match &first_run.state {
        DownloadState::Offered | DownloadState::Done => {
            lines.push(key_then(
                "Enter",
                format!(
                    ": download {} (≈ {}) and chat offline.",
                    offer.label,
                    megabytes(offer.size)
                ),
                theme,
            ));
            lines.push(Line::styled(
                "It runs inside tinychat, on this computer's CPU: no key, no server. \
                 A stopped download resumes.",
                theme.dim,
            ));
        }
        DownloadState::Running(progress) => {
            lines.push(Line::from(vec![
                Span::raw(format!("Downloading {} · ", offer.label)),
                Span::styled("Esc", theme.active_model),
                Span::raw(" stops"),
            ]));
            lines.push(progress_line(progress.as_ref(), offer.size, theme));
        }
        DownloadState::Failed(reason) => {
            // The reason can quote the server: shown, never obeyed.
            lines.push(Line::styled(
                format!("The download failed: {}", sanitize(reason)),
                theme.error,
            ));
            lines.push(key_then(
                "Enter",
                format!(
                    " tries again ({}, ≈ {}; what arrived is kept).",
                    offer.label,
                    megabytes(offer.size)
                ),
                theme,
            ));
        }
    }
    lines
}

/// A key in the key colour, then what it does.
fn key_then(key: &'static str, text: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![Span::styled(key, theme.active_model), Span::raw(text)])
}

/// `██████░░░░░░ 48% · 325/676 MB · 12.3 MB/s · 28 s left`
fn progress_line(progress: Option<&DownloadProgress>, size: u64, theme: &Theme) -> Line<'static> {
    let (done, total) = progress.map_or((0, size), |p| (p.done, p.total.max(1)));
    let fraction = (done as f64 / total as f64).clamp(0.0, 1.0);
    let filled = (fraction * BAR as f64).round() as usize;
    let mut spans = vec![
        Span::styled("█".repeat(filled), theme.active_model),
        Span::styled("░".repeat(BAR - filled), theme.dim),
        Span::raw(format!(
            " {:.0}% · {}/{}",
            fraction * 100.0,
            megabytes_number(done),
            megabytes(total)
        )),
    ];
    match progress {
        Some(p) if p.bytes_per_sec > 0.0 => {
            let mut tail = format!(" · {}/s", megabytes(p.bytes_per_sec as u64));
            if let Some(eta) = p.eta {
                tail = format!("{tail} · {} left", duration(eta));
            }
            spans.push(Span::styled(tail, theme.dim));
        }
        _ => spans.push(Span::styled(" · connecting…", theme.dim)),
    }
    Line::from(spans)
}

/// The status line's word for a running download, e.g. "downloading 48% · Esc stops".
pub fn status(first_run: &FirstRun) -> Option<String> {
    let DownloadState::Running(progress) = &first_run.state else {
        return None;
    };
    Some(match progress {
        Some(p) if p.total > 0 => format!(
            "downloading {:.0}% · Esc stops",
            (p.done as f64 / p.total as f64 * 100.0).min(100.0)
        ),
        _ => "downloading · Esc stops".to_owned(),
    })
}

/// "676 MB", "1.2 MB" (decimal megabytes, as download sizes are usually given).
pub fn megabytes(bytes: u64) -> String {
    format!("{} MB", megabytes_number(bytes))
}

fn megabytes_number(bytes: u64) -> String {
    let mb = bytes as f64 / 1_000_000.0;
    if mb >= 100.0 {
        format!("{mb:.0}")
    } else {
        format!("{mb:.1}")
    }
}

/// "28 s", "4 min 10 s", "1 h 5 min".
fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_quoting_the_server_cannot_reach_the_terminal() {
        let first_run = FirstRun {
            offer: crate::provider::first_run::DownloadOffer {
                label: "M",
                file: "m.gguf",
                size: 1,
            },
            state: DownloadState::Failed("hub said \u{1b}]0;pwned\u{7}".into()),
        };
        let text: String = lines(&first_run, &Theme::dark())[0]
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(
            text.starts_with("The download failed: hub said "),
            "{text:?}"
        );
    }

    #[test]
    fn sizes_and_durations_read_as_people_say_them() {
        assert_eq!(megabytes(676_000_000), "676 MB");
        assert_eq!(megabytes(1_234_567), "1.2 MB");
        assert_eq!(duration(Duration::from_secs(28)), "28 s");
        assert_eq!(duration(Duration::from_secs(250)), "4 min 10 s");
        assert_eq!(duration(Duration::from_secs(3900)), "1 h 5 min");
    }
}
