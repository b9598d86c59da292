//! The model sidebar: the filter line, provider headings, their models.
//!
//! Disabled providers are dimmed with the variable to set; the model that answers the
//! next message is marked `▸`; the highlighted row is reversed while the sidebar has the
//! focus. Reads the rows the catalog derived; computes nothing but clipping.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::models::{ListState, Row};
use crate::app::{App, Focus};
use crate::view::wrap::{display_width, row_text};

use super::panel::Panel;
use super::theme::Theme;

pub fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let focused = app.focus() == Focus::Sidebar;
    let inner = Panel::inner(area);
    Panel {
        border_style: if focused {
            theme.border_focused
        } else {
            theme.border
        },
        title: Line::from(Span::styled(" Models ", theme.title)),
        bottom_right: None,
    }
    .render(area, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let catalog = app.catalog();
    let filter_line = if catalog.filter.is_empty() {
        Line::styled(
            if focused {
                "type to filter…"
            } else {
                "Ctrl+P filter"
            },
            theme.dim,
        )
    } else {
        Line::from(vec![
            Span::styled("/ ", theme.dim),
            Span::raw(row_text(&catalog.filter, width.saturating_sub(3))),
            Span::styled(if focused { "▏" } else { "" }, theme.live_cursor),
        ])
    };
    buf.set_line(inner.x, inner.y, &filter_line, inner.width);
    let list = Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1);
    if catalog.rows.is_empty() {
        buf.set_line(
            list.x,
            list.y,
            &Line::styled("no model matches", theme.dim),
            list.width,
        );
        return;
    }
    for (offset, row) in catalog.rows.iter().skip(catalog.scroll).enumerate() {
        let Ok(dy) = u16::try_from(offset) else { break };
        if dy >= list.height {
            break;
        }
        let line = row_line(app, theme, *row, catalog.scroll + offset, focused, width);
        buf.set_line(list.x, list.y + dy, &line, list.width);
    }
}

fn row_line<'a>(
    app: &App,
    theme: &Theme,
    row: Row,
    index: usize,
    focused: bool,
    width: usize,
) -> Line<'a> {
    let catalog = app.catalog();
    match row {
        Row::Provider(pi) => {
            let p = &catalog.providers[pi];
            let mut spans = vec![Span::styled(
                row_text(&p.name, width),
                if p.disabled.is_some() {
                    theme.dim
                } else {
                    theme.provider
                },
            )];
            if let Some(note) = p.note {
                spans.push(Span::styled(format!(" {note}"), theme.dim));
            }
            if p.state == ListState::Loading {
                spans.push(Span::styled(" loading…", theme.dim));
            }
            Line::from(spans)
        }
        Row::Hint(pi, line) => {
            let text = catalog.hint_lines(pi).get(line).map_or("", String::as_str);
            Line::styled(clip(text, width), theme.dim)
        }
        Row::Model(..) => {
            let full = catalog.row_model(row).unwrap_or_default();
            let name = full.split_once('/').map_or(full.as_str(), |(_, m)| m);
            let active = app.active_model() == Some(full.as_str());
            let marker = if active { "▸ " } else { "  " };
            let mut style = if active {
                theme.active_model
            } else {
                theme.body
            };
            if focused && catalog.selected == Some(index) {
                style = style.patch(theme.highlight);
            }
            Line::styled(
                format!("{marker}{}", clip(name, width.saturating_sub(2))),
                style,
            )
        }
    }
}

/// `text` cut to `width` columns, with `…` when it did not fit.
fn clip(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return row_text(text, width);
    }
    let mut out = row_text(text, width.saturating_sub(1));
    out.push('…');
    out
}
