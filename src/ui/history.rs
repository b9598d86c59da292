//! The conversation pane: draws only the visible rows of the pre-wrapped history.
//!
//! Finds the first visible message by binary search in the history layout and writes
//! rows with `Buffer::set_line` until the pane is full: O(log n + rows × width) per frame
//! whatever the conversation's length (design §5). Text is sanitized row by row here,
//! so nothing a model sends reaches the terminal as a control sequence.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::app::{App, Focus};
use crate::conversation::{Message, Role};
use crate::view::figures;
use crate::view::history_layout::{
    Body, FooterKind, RowKind, THINKING_GUTTER, ThinkingRows, ThinkingView,
};
use crate::view::wrap::{display_width, row_text, sanitize};

use super::panel::Panel;
use super::theme::Theme;

/// The live reply's cursor mark.
pub const LIVE_CURSOR: &str = "▌";

pub fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let focused = app.focus() == Focus::Conversation;
    let total = app.history().total_rows();
    let inner_height = usize::from(area.height.saturating_sub(2));
    let top = app.viewport().top_for(total);
    let below = total.saturating_sub(top + inner_height);
    let title = sanitize(&app.conversation().title).into_owned();
    let inner = Panel::inner(area);
    Panel {
        border_style: if focused {
            theme.border_focused
        } else {
            theme.border
        },
        title: Line::from(Span::styled(format!(" {title} "), theme.title)),
        bottom_right: (below > 0 && !app.viewport().follow).then(|| {
            Line::styled(format!(" ↓ {below} more rows · End follows "), theme.dim).right_aligned()
        }),
    }
    .render(area, buf);
    if app.conversation().messages.is_empty() {
        welcome(app, theme).render(inner, buf);
        return;
    }
    let width = usize::from(inner.width);
    let Some((mut index, mut row)) = app.history().locate(top) else {
        return;
    };
    for y in inner.top()..inner.bottom() {
        let Some(message) = app.conversation().messages.get(index) else {
            break;
        };
        // The app lays out every message on screen before a frame; one that is not
        // (yet) shows its header and blank rows rather than nothing.
        let layout = app.history().message(index);
        let labels = layout.map_or(&[][..], |l| l.code_labels());
        let line = match app.history().row_kind(index, row) {
            RowKind::Header => {
                let selected = focused && app.selected() == Some(index);
                let (label, style) = match message.role {
                    Role::User => ("You".to_owned(), theme.user_label),
                    Role::Assistant => (
                        match &message.model {
                            Some(m) => format!("Assistant · {}", sanitize(m)),
                            None => "Assistant".to_owned(),
                        },
                        theme.assistant_label,
                    ),
                };
                let (style, code_style) = if selected {
                    (
                        style.patch(theme.selected_message),
                        theme.dim.patch(theme.selected_message),
                    )
                } else {
                    (style, theme.dim)
                };
                let mut spans = vec![Span::styled(label, style)];
                if let Some(usage) = usage_text(message) {
                    spans.push(Span::styled(usage, code_style));
                }
                if !labels.is_empty() {
                    spans.push(Span::styled(code_labels(labels), code_style));
                }
                Line::from(spans)
            }
            RowKind::Thinking(i) => {
                let Some(thinking) = layout.and_then(|l| l.thinking.as_ref()) else {
                    break;
                };
                let selected = focused && app.selected() == Some(index);
                let live_secs = app
                    .stream()
                    .filter(|_| message.is_streaming())
                    .and_then(crate::app::ActiveStream::thinking_secs);
                thinking_line(message, thinking, i, width, live_secs, selected, theme)
            }
            RowKind::Body(i) => layout.map_or_else(Line::default, |l| {
                body_line(&l.body, message, i, width, theme)
            }),
            RowKind::Footer(i) => {
                let Some(layout) = layout else {
                    break;
                };
                let text = layout.footer.get(i).map_or("", String::as_str);
                let style = match layout.footer_kind {
                    FooterKind::Error => theme.error,
                    FooterKind::Note => theme.note,
                };
                Line::styled(row_text(text, width), style)
            }
            RowKind::Blank => Line::default(),
        };
        buf.set_line(inner.x, y, &line, inner.width);
        row += 1;
        if row >= app.history().height(index) {
            index += 1;
            row = 0;
        }
    }
}

/// Body row `i` of a message; the live reply's last row ends with the cursor mark.
fn body_line<'a>(
    body: &'a Body,
    message: &'a Message,
    i: usize,
    width: usize,
    theme: &Theme,
) -> Line<'a> {
    let mut spans: Vec<Span> = match body {
        Body::Plain { rows, .. } => {
            let range = rows.rows().get(i).cloned().unwrap_or(0..0);
            let text = message.content.get(range).unwrap_or_default();
            vec![Span::styled(row_text(text, width), theme.body)]
        }
        Body::Markdown(body) => body
            .row(i)
            .map(|(text, look)| Span::styled(text, theme.look(look)))
            .collect(),
    };
    if message.is_streaming() && i + 1 == body.len() {
        let used: usize = spans.iter().map(|s| display_width(&s.content)).sum();
        if used < width {
            spans.push(Span::styled(LIVE_CURSOR, theme.live_cursor));
        }
    }
    Line::from(spans)
}

/// What a reply used, for its header: ` · 312 in · 1,024 out (200 cached) · $0.0042`,
/// when the provider reported it.
fn usage_text(message: &Message) -> Option<String> {
    let usage = message.usage.as_deref()?;
    let mut text = format!(
        " · {} in · {} out",
        figures::grouped(usage.input_tokens),
        figures::grouped(usage.output_tokens)
    );
    if let Some(cached) = usage.cached_input_tokens.filter(|&c| c > 0) {
        text.push_str(" (");
        text.push_str(&figures::grouped(cached));
        text.push_str(" cached)");
    }
    if let Some(cost) = usage.cost {
        text.push_str(" · ");
        text.push_str(&figures::dollars(cost));
    }
    Some(text)
}

/// Thinking row `i` of a reply: its label (`Thinking… 12 s` while the model thinks,
/// then `▸ Thought for 14 s · 1,203 tokens`), or a row of the text behind a dim bar.
fn thinking_line<'a>(
    message: &'a Message,
    thinking: &ThinkingRows,
    i: usize,
    width: usize,
    live_secs: Option<u64>,
    selected: bool,
    theme: &Theme,
) -> Line<'a> {
    if i == 0 {
        let mut label = if let Some(secs) = live_secs {
            format!("Thinking… {secs} s")
        } else {
            let arrow = if thinking.view == ThinkingView::Open {
                "▾"
            } else {
                "▸"
            };
            let mut label = match message.reasoning_ms {
                Some(ms) => format!("{arrow} Thought for {}", figures::duration_ms(ms)),
                None => format!("{arrow} Thought"),
            };
            if let Some(n) = message.thinking_tokens() {
                label.push_str(" · ");
                label.push_str(&figures::tokens(n));
            }
            label
        };
        if selected {
            label.push_str(if thinking.view == ThinkingView::Open {
                " · t folds"
            } else {
                " · t opens"
            });
        }
        return Line::styled(row_text(&label, width), theme.thinking);
    }
    let row = thinking.first + i - 1;
    let range = thinking.text.rows().get(row).cloned().unwrap_or(0..0);
    let text = message
        .reasoning
        .as_deref()
        .and_then(|r| r.get(range))
        .unwrap_or_default();
    let text_width = width.saturating_sub(THINKING_GUTTER);
    let mut spans = vec![
        Span::styled("│ ", theme.dim),
        Span::styled(row_text(text, text_width), theme.thinking),
    ];
    if message.is_streaming() && message.content.is_empty() && row + 1 == thinking.end {
        let used: usize = spans.iter().map(|s| display_width(&s.content)).sum();
        if used < width {
            spans.push(Span::styled(LIVE_CURSOR, theme.live_cursor));
        }
    }
    Line::from(spans)
}

/// The header's code block numbers, as the `1`…`9` keys count them:
/// ` · code [1] rust [2]` (a language only where the fence names one).
fn code_labels(languages: &[String]) -> String {
    let mut text = String::from(" · code");
    for (i, language) in languages.iter().enumerate() {
        text.push_str(" [");
        text.push_str(&(i + 1).to_string());
        text.push(']');
        if !language.is_empty() {
            text.push(' ');
            text.push_str(language);
        }
    }
    text
}

/// What an empty conversation shows: how to start, or how to add a provider.
fn welcome<'a>(app: &App, theme: &Theme) -> Paragraph<'a> {
    let mut lines: Vec<Line> = vec![
        Line::styled("Welcome to tinychat.", theme.title),
        Line::default(),
    ];
    if app.catalog().any_enabled() {
        let model = app.active_model().unwrap_or("the model you pick");
        lines.push(Line::from(format!(
            "Type a message and press Enter: {model} answers."
        )));
        lines.push(Line::default());
        for hint in [
            "Tab moves the focus: input → conversation → models.",
            "Ctrl+P filters the models; Enter picks one, mid-conversation too.",
            "Esc stops a reply · Ctrl+S saves to a file · F1 lists every key.",
        ] {
            lines.push(Line::styled(hint, theme.dim));
        }
    } else {
        if let Some(first_run) = app.first_run().filter(|_| app.offers_download()) {
            lines.extend(super::first_run::lines(first_run, theme));
            lines.push(Line::default());
            lines.push(Line::from("Or add a provider, then start tinychat again:"));
        } else {
            lines.push(Line::from(
                "No provider is set up yet. Add one, then start tinychat again:",
            ));
        }
        lines.push(Line::default());
        lines.push(Line::from(
            "• set an API key: OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, MISTRAL_API_KEY, COHERE_API_KEY, GROQ_API_KEY, OPENROUTER_API_KEY or TOGETHER_API_KEY",
        ));
        lines.push(Line::from(
            "• or run Ollama (`ollama serve`, then `ollama pull llama3.2`): tinychat finds it on 127.0.0.1:11434 (OLLAMA_HOST)",
        ));
        lines.push(Line::from(format!(
            "• or add any OpenAI-compatible server (LM Studio, llama.cpp, vLLM) to {}:",
            app.config_path().display()
        )));
        for l in [
            "    [[providers]]",
            "    name = \"llamacpp\"",
            "    kind = \"openai\"",
            "    base_url = \"http://127.0.0.1:8080/v1\"",
        ] {
            lines.push(Line::styled(l, theme.note));
        }
    }
    if !app.recent().is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled(
            "Recent conversations (Ctrl+O opens or searches them):",
            theme.title,
        ));
        for entry in app.recent() {
            let date = entry
                .updated_at
                .get(..16)
                .unwrap_or(&entry.updated_at)
                .replace('T', " ");
            lines.push(Line::from(vec![
                Span::raw(format!("  {}", sanitize(&entry.title))),
                Span::styled(format!(" · {date}"), theme.dim),
            ]));
        }
    }
    Paragraph::new(lines).wrap(Wrap { trim: false })
}
