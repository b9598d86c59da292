//! The conversation browser popup: search line, answer line, then the matching
//! conversations (title, model, date, message count) with the matching snippet under
//! each when searching. Reads the browser state; decides nothing.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::{Browser, BrowserFocus, Context, Pending};
use crate::view::wrap::{display_width, row_text, sanitize};

use super::popup::{bottom, frame, title};
use super::theme::Theme;

pub fn draw(browser: &Browser, theme: &Theme, screen: Rect, buf: &mut Buffer) {
    let height = screen.height.saturating_sub(4).min(40);
    // The hints of the browser's part that takes keys (its questions have their own).
    let keys = match browser.focus {
        BrowserFocus::Search => Context::BrowserSearch,
        BrowserFocus::List => Context::BrowserList,
    };
    let inner = frame(
        (screen, 100, height),
        &title("Conversations", keys),
        bottom("", keys).as_deref(),
        theme,
        buf,
    );
    if inner.height < 3 || inner.width < 10 {
        return;
    }
    let width = usize::from(inner.width);
    let searching = browser.focus == BrowserFocus::Search && browser.pending.is_none();
    let search = Line::from(vec![
        Span::styled("Search: ", theme.dim),
        Span::raw(row_text(&browser.query, width.saturating_sub(10))),
        Span::styled(if searching { "▏" } else { "" }, theme.live_cursor),
    ]);
    buf.set_line(inner.x, inner.y, &search, inner.width);

    draw_answer(
        browser,
        theme,
        Rect::new(inner.x, inner.y + 1, inner.width, 1),
        buf,
    );
    let Some(entries) = &browser.entries else {
        return;
    };
    let list = Rect::new(
        inner.x,
        inner.y + 3,
        inner.width,
        inner.height.saturating_sub(3),
    );
    draw_hits(browser, entries, theme, list, buf);
}

/// The line under the search: the question being asked, the rename field, or counts.
fn draw_answer(browser: &Browser, theme: &Theme, answer_row: Rect, buf: &mut Buffer) {
    let width = usize::from(answer_row.width);
    let inner = answer_row;
    match (&browser.pending, &browser.entries) {
        (Some(Pending::Delete(entry)), Some(entries)) => {
            let Some(entry) = entries.get(*entry) else {
                return;
            };
            let file = entry
                .path
                .file_name()
                .map_or_else(|| entry.id.clone(), |f| f.to_string_lossy().into_owned());
            // An unreadable file has no title: the question names the file alone.
            let what = if entry.problem.is_some() {
                format!("the unreadable file {}", sanitize(&file))
            } else {
                format!("“{}” ({})", sanitize(&entry.title), sanitize(&file))
            };
            let question = format!("Delete {what}? (y/n)");
            buf.set_line(
                answer_row.x,
                answer_row.y,
                &Line::styled(row_text(&question, width), theme.error),
                inner.width,
            );
        }
        (Some(Pending::Rename(_, editor)), _) => {
            let label = "New title: ";
            buf.set_line(
                answer_row.x,
                answer_row.y,
                &Line::styled(label, theme.title),
                inner.width,
            );
            let x = answer_row.x + label.len() as u16;
            let field = Rect::new(
                x,
                answer_row.y,
                inner.width.saturating_sub(label.len() as u16),
                1,
            );
            editor.render(field, buf);
        }
        (_, None) => {
            buf.set_line(
                answer_row.x,
                answer_row.y,
                &Line::styled("loading…", theme.dim),
                inner.width,
            );
        }
        (None, Some(entries)) => {
            let count = if browser.query.trim().is_empty() {
                format!("{} saved conversations", entries.len())
            } else {
                format!("{} of {} match", browser.hits.len(), entries.len())
            };
            buf.set_line(
                answer_row.x,
                answer_row.y,
                &Line::styled(count, theme.dim),
                inner.width,
            );
        }
    }
}

/// The matching conversations from the browser's scroll position down.
fn draw_hits(
    browser: &Browser,
    entries: &[crate::storage::index::IndexEntry],
    theme: &Theme,
    list: Rect,
    buf: &mut Buffer,
) {
    let width = usize::from(list.width);
    if browser.hits.is_empty() {
        let empty = if entries.is_empty() {
            "No saved conversations yet."
        } else {
            "No conversation matches."
        };
        buf.set_line(list.x, list.y, &Line::styled(empty, theme.dim), list.width);
        return;
    }
    let mut y = list.y;
    for (i, hit) in browser.hits.iter().enumerate().skip(browser.scroll) {
        if y >= list.bottom() {
            break;
        }
        let Some(entry) = entries.get(hit.entry) else {
            continue;
        };
        let selected = i == browser.selected;
        let marker = if selected { "▸ " } else { "  " };
        let line = entry_line(entry, marker, width, theme);
        let line = if selected {
            line.patch_style(theme.highlight)
        } else {
            line
        };
        buf.set_line(list.x, y, &line, list.width);
        y += 1;
        if let Some(snippet) = &hit.snippet
            && y < list.bottom()
        {
            let text = row_text(&format!("    {}", sanitize(snippet)), width);
            buf.set_line(list.x, y, &Line::styled(text, theme.dim), list.width);
            y += 1;
        }
    }
}

/// One conversation: title, then model, date and message count on the right; or the
/// reason an unreadable file cannot be opened.
fn entry_line<'a>(
    entry: &crate::storage::index::IndexEntry,
    marker: &'a str,
    width: usize,
    theme: &Theme,
) -> Line<'a> {
    if let Some(problem) = &entry.problem {
        let text = format!("{marker}⚠ {}: {}", entry.id, sanitize(problem));
        return Line::styled(row_text(&text, width), theme.error);
    }
    let mut meta = format!(
        "  {} · {} · {} msgs",
        entry.model.as_deref().map_or_else(|| "-".into(), sanitize),
        short_date(&entry.updated_at),
        entry.message_count
    );
    if let Some(cost) = entry.cost {
        meta.push_str(" · ");
        meta.push_str(&crate::view::figures::dollars(cost));
    }
    let room = width.saturating_sub(display_width(&meta) + 2);
    let title = row_text(&sanitize(&entry.title), room);
    let pad = room.saturating_sub(display_width(&title));
    Line::from(vec![
        Span::styled(marker, theme.active_model),
        Span::styled(title, theme.title),
        Span::raw(" ".repeat(pad)),
        Span::styled(meta, theme.dim),
    ])
}

/// `2026-11-29T14:05:12+01:00` → `2026-11-29 14:05`; anything else as it is.
fn short_date(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) if rfc3339.as_bytes().get(10) == Some(&b'T') => {
            format!("{day} {time}")
        }
        _ => rfc3339.to_owned(),
    }
}
