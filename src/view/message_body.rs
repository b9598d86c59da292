//! An assistant reply's body as styled rows, laid out block by block as it streams.
//!
//! The text is cut into chunks at lines where Markdown cannot reach back: a line at
//! the left edge after a blank line, a heading, the next item of a list, and code
//! fences. A chunk is rendered once when the next one starts and is then frozen; only
//! the open chunk is rendered again as text arrives (design §5). Top-level fenced code
//! blocks are laid out here rather than by pulldown-cmark: each complete line is
//! highlighted once with the state carried from the line before, and the block gets
//! its `[N] language` label, numbered exactly as the copy keys count (same fence rules
//! as `code_blocks.rs`). So a streaming reply costs time linear in its length, however
//! long it grows, as long as its paragraphs stay paragraph-sized.

use super::code_blocks::{fence, first_word, opening};
use super::highlight::{CodeLines, CodeTheme};
use super::markdown::{self, CODE_INDENT};
use super::styled::{Look, Piece, Row, Tone, push_piece, row_width, wrap_line};
use super::wrap::sanitize;

/// What a chunk of text starts with, which decides where the next chunk may begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Nothing but blank lines so far.
    Empty,
    Paragraph,
    /// A list item at the left edge: the next item at the left edge starts a chunk.
    List,
    /// A one-line ATX heading: whatever follows starts a chunk.
    Heading,
}

/// The chunk still open.
#[derive(Debug)]
enum Open {
    Text {
        start: usize,
        kind: Kind,
        /// A blank line followed the chunk's last text line.
        blank_after: bool,
        /// It continues a list chunk with no blank line between: no separator row.
        joins_list: bool,
    },
    Code {
        mark: u8,
        len: usize,
        indent: usize,
        lines: CodeLines,
    },
}

/// Rows of one Markdown message at one width, kept up to date as the text grows.
#[derive(Debug)]
pub struct MarkdownBody {
    width: usize,
    theme: CodeTheme,
    /// Rows of the chunks that are finished.
    frozen: Vec<Row>,
    /// Rows of the open chunk.
    open_rows: Vec<Row>,
    open: Open,
    /// Bytes of the text already split into complete lines.
    scanned: usize,
    /// Length of the text last seen (a shorter text means it was replaced).
    seen: usize,
    /// Whether the last text was final (its last line counted as complete).
    complete: bool,
    /// Top-level code blocks so far, for their numbers.
    blocks: usize,
}

impl MarkdownBody {
    /// Lays out `text`; `complete` says no more will be appended (a finished or saved
    /// reply), so its last line counts even without a line break.
    pub fn new(text: &str, width: usize, theme: CodeTheme, complete: bool) -> MarkdownBody {
        let mut body = MarkdownBody {
            width: width.max(1),
            theme,
            frozen: Vec::new(),
            open_rows: Vec::new(),
            open: Open::Text {
                start: 0,
                kind: Kind::Empty,
                blank_after: false,
                joins_list: false,
            },
            scanned: 0,
            seen: 0,
            complete: false,
            blocks: 0,
        };
        body.update(text, complete);
        body
    }

    /// Brings the rows up to date with `text`, which must extend the text last seen
    /// (anything else lays the whole text out again).
    pub fn update(&mut self, text: &str, complete: bool) {
        if text.len() < self.seen || (self.complete && text.len() != self.seen) {
            *self = MarkdownBody::new(text, self.width, self.theme, complete);
            return;
        }
        self.seen = text.len();
        while let Some(nl) = text.get(self.scanned..).and_then(|rest| rest.find('\n')) {
            let start = self.scanned;
            self.scanned = start + nl + 1;
            self.line(text, start, start + nl);
        }
        if complete && self.scanned < text.len() {
            let start = self.scanned;
            self.scanned = text.len();
            self.line(text, start, text.len());
        }
        self.complete = complete;
        if !complete {
            self.start_chunk_early(text);
        }
        self.render_open(text);
    }

    /// Rows of the body (at least one, so an empty live reply has a row for its cursor).
    pub fn len(&self) -> usize {
        (self.frozen.len() + self.open_rows.len()).max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.frozen.is_empty() && self.open_rows.is_empty()
    }

    /// Row `i` of the body (an empty row past the end).
    pub fn row(&self, i: usize) -> &[Piece] {
        match self.frozen.get(i) {
            Some(row) => row,
            None => self
                .open_rows
                .get(i - self.frozen.len())
                .map_or(&[], Vec::as_slice),
        }
    }

    /// Handles the complete line `text[start..end]` (without its line break).
    fn line(&mut self, text: &str, start: usize, end: usize) {
        let raw = &text[start..end];
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let next = (end + 1).min(text.len());
        match &mut self.open {
            Open::Code {
                mark,
                len,
                indent,
                lines,
            } => {
                if closes(line, *mark, *len) {
                    self.open = Open::Text {
                        start: next,
                        kind: Kind::Empty,
                        blank_after: false,
                        joins_list: false,
                    };
                } else {
                    let spaces = line.bytes().take_while(|&b| b == b' ').count();
                    let row = lines.line(&line[spaces.min(*indent)..]);
                    wrap_code(&row, self.width, &mut self.frozen);
                }
            }
            Open::Text {
                start: chunk,
                kind,
                blank_after,
                ..
            } => {
                if let Some(f) = opening(line) {
                    let (chunk, kind) = (*chunk, *kind);
                    self.freeze_text(text, chunk, start, kind);
                    self.blocks += 1;
                    let language = first_word(f.info).to_owned();
                    self.separate();
                    self.frozen
                        .push(label_row(self.blocks, &language, self.width));
                    self.open = Open::Code {
                        mark: f.mark,
                        len: f.len,
                        indent: f.indent,
                        lines: CodeLines::new(&language, self.theme),
                    };
                } else if line.trim().is_empty() {
                    if *kind == Kind::Empty {
                        *chunk = next;
                    } else {
                        *blank_after = true;
                    }
                } else if *kind == Kind::Empty {
                    *kind = kind_of(line);
                } else {
                    let at_edge = !line.starts_with([' ', '\t']);
                    let new_kind = kind_of(line);
                    let boundary = (*blank_after && at_edge)
                        || *kind == Kind::Heading
                        || new_kind == Kind::Heading
                        || (*kind == Kind::List && new_kind == Kind::List && at_edge);
                    if boundary {
                        let joins_list = !*blank_after && *kind == Kind::List;
                        let (chunk, kind) = (*chunk, *kind);
                        self.freeze_text(text, chunk, start, kind);
                        self.open = Open::Text {
                            start,
                            kind: new_kind,
                            blank_after: false,
                            joins_list: joins_list && new_kind == Kind::List,
                        };
                    } else {
                        *blank_after = false;
                    }
                }
            }
        }
    }

    /// While streaming: a line that starts at the left edge after a blank line begins a
    /// new chunk before its line break arrives, so the paragraph above it is frozen now.
    fn start_chunk_early(&mut self, text: &str) {
        let Open::Text {
            start,
            kind,
            blank_after: true,
            ..
        } = self.open
        else {
            return;
        };
        let tail = &text[self.scanned..];
        if kind != Kind::Empty && tail.starts_with(|c: char| !c.is_whitespace()) {
            self.freeze_text(text, start, self.scanned, kind);
            self.open = Open::Text {
                start: self.scanned,
                kind: Kind::Empty,
                blank_after: false,
                joins_list: false,
            };
        }
    }

    /// Renders a finished text chunk onto the frozen rows.
    fn freeze_text(&mut self, text: &str, start: usize, end: usize, kind: Kind) {
        self.open_rows.clear();
        if kind == Kind::Empty || start >= end {
            return;
        }
        let joins = matches!(
            self.open,
            Open::Text {
                joins_list: true,
                ..
            }
        );
        let mut rows = Vec::new();
        markdown::render(&text[start..end], self.width, self.theme, &mut rows);
        if !rows.is_empty() {
            if !joins {
                self.separate();
            }
            self.frozen.append(&mut rows);
        }
    }

    /// A blank row between blocks (none before the first).
    fn separate(&mut self) {
        if !self.frozen.is_empty() {
            self.frozen.push(Row::new());
        }
    }

    /// Lays out the open chunk again. A last line that may be turning into a fence is
    /// left out until it is complete, so fence markers never flash on screen.
    fn render_open(&mut self, text: &str) {
        self.open_rows.clear();
        let tail = &text[self.scanned..];
        let tail = tail.strip_suffix('\r').unwrap_or(tail);
        match &self.open {
            Open::Code {
                mark,
                indent,
                lines,
                ..
            } => {
                if tail.is_empty() || could_close(tail, *mark) {
                    return;
                }
                let spaces = tail.bytes().take_while(|&b| b == b' ').count();
                let row = lines.peek(&tail[spaces.min(*indent)..]);
                wrap_code(&row, self.width, &mut self.open_rows);
            }
            Open::Text {
                start, joins_list, ..
            } => {
                let end = if could_open(tail) {
                    self.scanned
                } else {
                    text.len()
                };
                let source = text.get(*start..end).unwrap_or_default();
                if source.trim().is_empty() {
                    return;
                }
                let mut rows = Vec::new();
                markdown::render(source, self.width, self.theme, &mut rows);
                if !rows.is_empty() && !self.frozen.is_empty() && !joins_list {
                    self.open_rows.push(Row::new());
                }
                self.open_rows.append(&mut rows);
            }
        }
    }
}

/// What kind of chunk a non-blank line starts.
fn kind_of(line: &str) -> Kind {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    let rest = &line[indent..];
    if indent <= 3 && is_atx_heading(rest) {
        Kind::Heading
    } else if indent == 0 && is_list_item(rest) {
        Kind::List
    } else {
        Kind::Paragraph
    }
}

fn is_atx_heading(rest: &str) -> bool {
    let hashes = rest.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes) && matches!(rest.as_bytes().get(hashes), None | Some(b' ' | b'\t'))
}

fn is_list_item(rest: &str) -> bool {
    let bytes = rest.as_bytes();
    let after_marker = match bytes.first() {
        Some(b'-' | b'*' | b'+') => 1,
        Some(b'0'..=b'9') => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 9 || !matches!(bytes.get(digits), Some(b'.' | b')')) {
                return false;
            }
            digits + 1
        }
        _ => return false,
    };
    matches!(bytes.get(after_marker), None | Some(b' ' | b'\t'))
}

/// Whether `line` closes a block opened by `len` of `mark`.
fn closes(line: &str, mark: u8, len: usize) -> bool {
    fence(line).is_some_and(|f| f.mark == mark && f.len >= len && f.info.is_empty())
}

/// Whether an incomplete last line may still become a closing fence.
fn could_close(tail: &str, mark: u8) -> bool {
    let indent = tail.bytes().take_while(|&b| b == b' ').count();
    let rest = tail[indent..].trim_end_matches(' ');
    indent <= 3 && !rest.is_empty() && rest.bytes().all(|b| b == mark)
}

/// Whether an incomplete last line may still become an opening fence.
fn could_open(tail: &str) -> bool {
    let indent = tail.bytes().take_while(|&b| b == b' ').count();
    let rest = &tail[indent..];
    let Some(&mark) = rest.as_bytes().first() else {
        return false;
    };
    if indent > 3 || (mark != b'`' && mark != b'~') {
        return false;
    }
    let run = rest.bytes().take_while(|&b| b == mark).count();
    if run < 3 {
        run == rest.len()
    } else {
        opening(tail).is_some()
    }
}

/// Code rows: indented, wrapped at the width.
fn wrap_code(row: &Row, width: usize, out: &mut Vec<Row>) {
    let indent = [Piece::new(CODE_INDENT, Look::tone(Tone::Text))];
    wrap_line(row, width, &indent, &indent, out);
}

/// A code block's first row: `[2] rust ────────` (the number the copy keys use).
fn label_row(number: usize, language: &str, width: usize) -> Row {
    let mut row = Row::new();
    let label = if language.is_empty() {
        format!("[{number}]")
    } else {
        format!("[{number}] {}", sanitize(language))
    };
    push_piece(&mut row, &label, Look::tone(Tone::Label));
    let room = width.saturating_sub(row_width(&row) + 1);
    if room > 0 {
        push_piece(&mut row, " ", Look::tone(Tone::Text));
        push_piece(&mut row, &"─".repeat(room), Look::tone(Tone::Rule));
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn lines(body: &MarkdownBody) -> Vec<String> {
        (0..body.len())
            .map(|i| {
                body.row(i)
                    .iter()
                    .map(|p| p.text.as_str())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    fn rendered(text: &str, width: usize) -> Vec<String> {
        lines(&MarkdownBody::new(text, width, CodeTheme::Plain, true))
    }

    /// Streams `text` in pieces of `step` bytes and returns the rows at the end.
    fn streamed(text: &str, width: usize, step: usize, theme: CodeTheme) -> MarkdownBody {
        let mut body = MarkdownBody::new("", width, theme, false);
        let mut end = 0;
        while end < text.len() {
            end = (end + step).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            body.update(&text[..end], false);
        }
        body.update(text, true);
        body
    }

    const REPLY: &str = "# Plan\nHere is **the** idea:\n\n- first item\n- second *item*\n  continued\n\n1. one\n2. two\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\nAfter the code.\n\n> a quote\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~~\nplain\n~~~";

    #[test]
    fn a_reply_renders_block_by_block() {
        assert_eq!(
            rendered(REPLY, 30),
            [
                "Plan",
                "",
                "Here is the idea:",
                "",
                "• first item",
                "• second item",
                "  continued",
                "",
                "1. one",
                "2. two",
                "",
                "[1] rust ─────────────────────",
                "  fn main() {",
                "      println!(\"hi\");",
                "  }",
                "",
                "After the code.",
                "",
                "│ a quote",
                "",
                "a │ b",
                "──┼──",
                "1 │ 2",
                "",
                "[2] ──────────────────────────",
                "  plain",
            ]
        );
    }

    #[test]
    fn streaming_in_any_pieces_ends_as_one_layout() {
        let whole = MarkdownBody::new(REPLY, 30, CodeTheme::Dark, true);
        for step in [1, 2, 3, 7, 64] {
            let body = streamed(REPLY, 30, step, CodeTheme::Dark);
            assert_eq!(lines(&body), lines(&whole), "step {step}");
            let looks = |b: &MarkdownBody| -> Vec<Row> {
                (0..b.len()).map(|i| b.row(i).to_vec()).collect()
            };
            assert_eq!(looks(&body), looks(&whole), "step {step}");
        }
    }

    #[test]
    fn fence_markers_never_show_while_streaming() {
        let mut body = MarkdownBody::new("", 40, CodeTheme::Plain, false);
        for text in [
            "Text\n`",
            "Text\n``",
            "Text\n```",
            "Text\n```py",
            "Text\n```py\nx = 1\n`",
            "Text\n```py\nx = 1\n``",
        ] {
            body.update(text, false);
            let shown = lines(&body).join("|");
            assert!(!shown.contains('`'), "{text:?} shows {shown:?}");
        }
        body.update("Text\n```py\nx = 1\n```\n", false);
        assert_eq!(
            lines(&body),
            ["Text", "", &format!("[1] py {}", "─".repeat(33)), "  x = 1"]
        );
        // At the end, an unfinished fence that never became one is text after all.
        assert_eq!(rendered("a\n``", 40), ["a", "``"]);
    }

    #[test]
    fn finished_chunks_are_frozen_and_only_the_open_one_changes() {
        let mut body = MarkdownBody::new("", 40, CodeTheme::Plain, false);
        body.update("First paragraph.\n\nSecond", false);
        assert_eq!(
            body.frozen.len(),
            1,
            "the first paragraph froze when the second began"
        );
        body.update(
            "First paragraph.\n\nSecond one, longer.\n\n- a\n- b\n",
            false,
        );
        assert_eq!(
            lines(&body),
            [
                "First paragraph.",
                "",
                "Second one, longer.",
                "",
                "• a",
                "• b"
            ]
        );
        // The list's items freeze one by one; only the last is open.
        assert_eq!(
            body.open_rows,
            vec![vec![
                Piece::new("• ", Look::tone(Tone::Marker)),
                Piece::new("b", Look::tone(Tone::Text))
            ]]
        );
    }

    #[test]
    fn code_lines_are_highlighted_once_and_numbered_like_the_copy_keys() {
        let text = "```rust\nlet a = 1;\n```\n\n   ```sh\n   ls -l\n   ```\n";
        let body = MarkdownBody::new(text, 40, CodeTheme::Dark, true);
        let shown = lines(&body);
        assert_eq!(shown[0], format!("[1] rust {}", "─".repeat(31)));
        assert_eq!(shown[1], "  let a = 1;");
        assert_eq!(shown[3], format!("[2] sh {}", "─".repeat(33)));
        assert_eq!(shown[4], "  ls -l");
        assert!(
            body.row(1)
                .iter()
                .any(|p| matches!(p.look.tone, Tone::Token(_)))
        );
        let labels: Vec<String> = crate::view::code_blocks::code_blocks(text)
            .iter()
            .map(|b| b.language.clone())
            .collect();
        assert_eq!(labels, ["rust", "sh"]);
    }

    #[test]
    fn replacing_the_text_lays_it_out_again() {
        let mut body = MarkdownBody::new("old **text**", 40, CodeTheme::Plain, true);
        body.update("new", true);
        assert_eq!(lines(&body), ["new"]);
        body.update("", false);
        assert_eq!(body.len(), 1);
        assert!(body.is_empty());
    }

    #[test]
    fn long_code_lines_wrap_inside_the_indent() {
        assert_eq!(
            rendered("```\nabcdefghij\n```", 8),
            ["[1] ────", "  abcdef", "  ghij"]
        );
    }
}
