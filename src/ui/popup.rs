//! Popups drawn over the screen: save-as prompt, system prompt editor, key help.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::app::bindings::{MAIN, Slot, hints};
use crate::app::{Context, Popup, SaveAs};
use crate::view::wrap::{row_text, sanitize};

use super::theme::Theme;

pub fn draw(popup: &Popup, theme: &Theme, screen: Rect, buf: &mut Buffer) {
    match popup {
        Popup::SaveAs(save) => draw_save_as(save, theme, screen, buf),
        Popup::Leave { action, reason } => {
            let inner = frame(
                (screen, 72, 9),
                &title("Not saved", Context::Leave),
                bottom("", Context::Leave).as_deref(),
                theme,
                buf,
            );
            let text = format!(
                "This conversation is not saved: {}\n\ns: save it to a file first (Ctrl+S)\ny: discard it and {}\nn or Esc: stay",
                sanitize(reason),
                action.words()
            );
            Paragraph::new(text)
                .style(theme.error)
                .wrap(Wrap { trim: false })
                .render(inner, buf);
        }
        Popup::SystemPrompt(prompt) => {
            let inner = frame(
                (screen, 80, 12),
                &title("System prompt", Context::SystemPrompt),
                bottom("", Context::SystemPrompt).as_deref(),
                theme,
                buf,
            );
            prompt.editor.render(inner, buf);
        }
        Popup::Browser(browser) => super::browser::draw(browser, theme, screen, buf),
        Popup::Help => {
            let rows = MAIN.len() as u16 + 2;
            let inner = frame(
                (screen, 86, rows + 2),
                &title("Keys", Context::Help),
                bottom("", Context::Help).as_deref(),
                theme,
                buf,
            );
            let keys_width = MAIN.iter().map(|b| b.keys.len()).max().unwrap_or(0) + 2;
            let place_width = 14;
            let width = usize::from(inner.width);
            for (i, b) in MAIN.iter().enumerate() {
                let Ok(dy) = u16::try_from(i) else { break };
                if dy >= inner.height {
                    break;
                }
                let line = Line::from(vec![
                    Span::styled(format!("{:<keys_width$}", b.keys), theme.title),
                    Span::styled(format!("{:<place_width$}", b.place), theme.dim),
                    Span::raw(row_text(
                        b.action,
                        width.saturating_sub(keys_width + place_width),
                    )),
                ]);
                buf.set_line(inner.x, inner.y + dy, &line, inner.width);
            }
        }
    }
}

/// The save-as prompt: the path being typed, or the question about an existing file.
fn draw_save_as(save: &SaveAs, theme: &Theme, screen: Rect, buf: &mut Buffer) {
    match save {
        SaveAs {
            editor,
            confirm: None,
        } => {
            let inner = frame(
                (screen, 70, 5),
                &title("Save as", Context::SaveAs),
                bottom(".md · .txt · .json", Context::SaveAs).as_deref(),
                theme,
                buf,
            );
            let field = Rect::new(
                inner.x,
                inner.y + inner.height.saturating_sub(1) / 2,
                inner.width,
                1.min(inner.height),
            );
            editor.render(field, buf);
        }
        SaveAs {
            confirm: Some(path),
            ..
        } => {
            let inner = frame(
                (screen, 70, 6),
                &title("Save as · the file exists", Context::ReplaceFile),
                bottom("", Context::ReplaceFile).as_deref(),
                theme,
                buf,
            );
            let lines = [
                Line::styled(
                    row_text(
                        &sanitize(&path.display().to_string()),
                        usize::from(inner.width),
                    ),
                    theme.title,
                ),
                Line::styled("already exists. Replace it? (y/n)", theme.error),
            ];
            for (dy, line) in (0u16..).zip(lines.iter()) {
                if dy < inner.height {
                    buf.set_line(inner.x, inner.y + dy, line, inner.width);
                }
            }
        }
    }
}

/// A popup's top border: its name, then the hints its binding table gives the title.
pub(super) fn title(name: &str, context: Context) -> String {
    let hints = hints(context, Slot::Title);
    if hints.is_empty() {
        format!(" {name} ")
    } else {
        format!(" {name} · {hints} ")
    }
}

/// A popup's bottom border: `lead` (words that are not keys), then the hints its binding
/// table gives the bottom; `None` when there is neither.
pub(super) fn bottom(lead: &str, context: Context) -> Option<String> {
    let hints = hints(context, Slot::Bottom);
    match (lead.is_empty(), hints.is_empty()) {
        (true, true) => None,
        (true, false) => Some(format!(" {hints} ")),
        (false, true) => Some(format!(" {lead} ")),
        (false, false) => Some(format!(" {lead} · {hints} ")),
    }
}

/// Clears a centred box of at most `width`×`height` and draws its border and titles;
/// returns the area inside.
pub(super) fn frame(
    (screen, width, height): (Rect, u16, u16),
    title: &str,
    bottom: Option<&str>,
    theme: &Theme,
    buf: &mut Buffer,
) -> Rect {
    let area = centered(screen, width, height);
    Clear.render(area, buf);
    let mut block = Block::bordered()
        .border_style(theme.border_focused)
        .title(Span::styled(title.to_owned(), theme.title));
    if let Some(bottom) = bottom {
        block = block.title_bottom(Line::styled(bottom.to_owned(), theme.dim));
    }
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// A box at most `width`×`height`, centred in `screen` and never larger than it.
fn centered(screen: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(screen.width);
    let h = height.min(screen.height);
    Rect::new(
        screen.x + (screen.width - w) / 2,
        screen.y + (screen.height - h) / 2,
        w,
        h,
    )
}
