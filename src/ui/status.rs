//! The status line: active model, reply state (with tokens/s while streaming), the last
//! notice, and the help key.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::{App, Outcome};
use crate::view::figures;
use crate::view::wrap::{display_width, row_text, sanitize};

use super::theme::Theme;

/// Shown on the status line while the conversation is not saved.
pub const NOT_SAVED: &str = "NOT SAVED (Ctrl+S saves elsewhere)";

/// The reply state in words, e.g. "streaming 48 tok/s · 312 tokens".
pub fn state_text(app: &App) -> String {
    let downloading = app.first_run().and_then(super::first_run::status);
    match app.stream() {
        Some(s) if s.retry.is_some() => s.retry.as_ref().map_or_else(String::new, |w| {
            format!(
                "{}, retrying in {} s ({} of {}) · Esc stops",
                w.reason, w.seconds_left, w.attempt, w.of
            )
        }),
        Some(s) if s.thinking_secs().is_some() => format!(
            "thinking {} s · {}",
            s.thinking_secs().unwrap_or(0),
            count(s.thinking_chunks)
        ),
        Some(s) => match (s.first_at, s.last_at) {
            (None, _) => match (s.preparing.as_deref(), s.waiting_secs()) {
                (Some(text), _) => sanitize(text).into_owned(),
                (None, Some(secs)) if secs > 0 => format!("waiting for the reply… {secs} s"),
                (None, _) => "waiting for the reply…".to_owned(),
            },
            (Some(first), Some(last)) => {
                let tokens = s.reported_tokens.unwrap_or(s.deltas);
                let secs = last.duration_since(first).as_secs_f64();
                if secs >= 0.25 {
                    format!(
                        "streaming {:.0} tok/s · {}",
                        tokens as f64 / secs,
                        count(tokens)
                    )
                } else {
                    format!("streaming · {}", count(tokens))
                }
            }
            (Some(_), None) => "streaming".to_owned(),
        },
        None => match app.outcome() {
            _ if downloading.is_some() => downloading.unwrap_or_default(),
            Outcome::Idle => "idle".to_owned(),
            Outcome::Stopped => "stopped".to_owned(),
            Outcome::Failed => "error".to_owned(),
        },
    }
}

/// "1 token", "1,312 tokens".
fn count(tokens: u64) -> String {
    figures::tokens(tokens)
}

/// Above this share of the window the context meter turns to the warning colour.
pub const CONTEXT_WARNING: f64 = 0.8;

/// The context meter, `ctx 12.4k / 128k`, and whether it is past [`CONTEXT_WARNING`];
/// `None` unless both the fill and the active model's window are known.
pub fn context_meter(app: &App) -> Option<(String, bool)> {
    let used = app.totals().context_used?;
    let window = app.model_info(app.active_model()?).context?;
    #[allow(clippy::cast_precision_loss, reason = "a share, shown as a colour")]
    let full = used as f64 > window as f64 * CONTEXT_WARNING;
    Some((
        format!(
            "ctx {} / {}",
            figures::compact(used),
            figures::compact(window)
        ),
        full,
    ))
}

pub fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let help = " F1 help ";
    let width = usize::from(area.width);
    let model = app.active_model().unwrap_or("no model");
    let mut left = format!(" {} · {}", sanitize(model), state_text(app));
    let mut spans = Vec::new();
    if let Some((meter, full)) = context_meter(app) {
        left.push_str(" · ");
        spans.push(Span::styled(std::mem::take(&mut left), theme.status));
        let style = if full {
            theme.status_warning
        } else {
            theme.status
        };
        spans.push(Span::styled(meter, style));
    }
    if let Some(cost) = app.totals().cost {
        left.push_str(" · ");
        left.push_str(&figures::dollars(cost));
    }
    // As long as some of the conversation is only in memory, whatever the notice says.
    if app.is_unsaved() {
        spans.push(Span::styled(left, theme.status));
        spans.push(Span::styled(" · ", theme.status));
        spans.push(Span::styled(NOT_SAVED, theme.status_error));
        left = String::new();
    }
    let notice_style;
    if let Some(notice) = app.notice() {
        left.push_str(" · ");
        notice_style = if notice.is_error {
            theme.status_error
        } else {
            theme.status
        };
        spans.push(Span::styled(left, theme.status));
        spans.push(Span::styled(
            sanitize(&notice.text).into_owned(),
            notice_style,
        ));
    } else {
        spans.push(Span::styled(left, theme.status));
    }
    // The help key keeps its place unless the line is very narrow.
    let room_for_help = width >= 30;
    let text_width = if room_for_help {
        width - help.len()
    } else {
        width
    };
    // Clip the left part, then right-align the help key.
    let mut clipped = Vec::new();
    let mut left_room = text_width;
    for span in spans {
        let t = row_text(&span.content, left_room);
        left_room -= display_width(&t);
        clipped.push(Span::styled(t, span.style));
    }
    buf.set_line(area.x, area.y, &Line::from(clipped), area.width);
    if room_for_help {
        let x = area.x + (width - help.len()) as u16;
        buf.set_line(
            x,
            area.y,
            &Line::styled(help, theme.key_hint),
            help.len() as u16,
        );
    }
}
