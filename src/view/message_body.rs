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
use super::lines::LineCursor;
use super::markdown::{self, CODE_INDENT};
use super::styled::{Look, Piece, Row, RowStore, Tone, push_piece, row_width, wrap_line};
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
    /// A table (rows start with `|`): never cut, or its rows would lose their header.
    Table,
}

/// A paragraph longer than this is cut at its next line break, so a reply that never
/// leaves one paragraph still costs linear time. Lines are drawn as written (line breaks
/// are kept), so only emphasis spanning the cut would show its markers.
const LONG_PARAGRAPH: usize = 4096;

/// The chunk still open.
#[derive(Debug)]
enum Open {
    Text {
        start: usize,
        kind: Kind,
        /// A blank line followed the chunk's last text line.
        blank_after: bool,
        /// It continues the chunk before it with no blank line between (the next item
        /// of a list, the next lines of a long paragraph): no separator row.
        joins: bool,
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
    frozen: RowStore,
    /// Rows of the open chunk.
    open_rows: RowStore,
    open: Open,
    /// How far the text has been split into complete lines.
    lines: LineCursor,
    /// Length of the text last seen (a shorter text means it was replaced).
    seen: usize,
    /// Whether the last text was final (its last line counted as complete).
    complete: bool,
    /// The language of each top-level code block so far, sanitized: block N is
    /// `labels[N - 1]`. While streaming, the last may be `pending`: the language of an
    /// opening fence whose line is still arriving (the header shows it at once).
    labels: Vec<String>,
    pending_label: bool,
}

impl MarkdownBody {
    /// Lays out `text`; `complete` says no more will be appended (a finished or saved
    /// reply), so its last line counts even without a line break.
    pub fn new(text: &str, width: usize, theme: CodeTheme, complete: bool) -> MarkdownBody {
        let mut body = MarkdownBody {
            width: width.max(1),
            theme,
            frozen: RowStore::default(),
            open_rows: RowStore::default(),
            open: Open::Text {
                start: 0,
                kind: Kind::Empty,
                blank_after: false,
                joins: false,
            },
            lines: LineCursor::default(),
            seen: 0,
            complete: false,
            labels: Vec::new(),
            pending_label: false,
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
        if self.pending_label {
            self.labels.pop();
            self.pending_label = false;
        }
        while let Some(line) = self.lines.next_line(text) {
            self.line(text, line.start, line.end);
        }
        if complete && let Some(last) = self.lines.rest(text) {
            self.line(text, last.start, last.end);
        }
        self.complete = complete;
        if !complete {
            self.start_chunk_early(text);
            self.cut_long_line(text, self.lines.consumed(), text.len());
        }
        self.render_open(text);
        if complete {
            self.frozen.shrink_to_fit();
            self.open_rows.shrink_to_fit();
        }
    }

    /// The language of each code block ("" where the fence names none).
    pub fn code_labels(&self) -> &[String] {
        &self.labels
    }

    /// Rows of the body (at least one, so an empty live reply has a row for its cursor).
    pub fn len(&self) -> usize {
        (self.frozen.len() + self.open_rows.len()).max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.frozen.is_empty() && self.open_rows.is_empty()
    }

    /// The pieces of row `i` of the body (none past the end).
    pub fn row(&self, i: usize) -> impl Iterator<Item = (&str, Look)> + '_ {
        let frozen = self.frozen.len();
        let (store, i) = if i < frozen {
            (&self.frozen, i)
        } else {
            (&self.open_rows, i - frozen)
        };
        store.row(i)
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
                        joins: false,
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
                    let language = first_word(f.info).to_owned();
                    self.labels.push(sanitize(&language).into_owned());
                    self.separate();
                    self.frozen
                        .push(&label_row(self.labels.len(), &language, self.width));
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
                    self.cut_long_line(text, start, end);
                } else {
                    let new_kind = kind_of(line);
                    let list_item = *kind == Kind::List && new_kind == Kind::List;
                    let long = *kind == Kind::Paragraph
                        && new_kind == Kind::Paragraph
                        && start.saturating_sub(*chunk) > LONG_PARAGRAPH;
                    let boundary = (*blank_after && starts_block(line, *kind))
                        || *kind == Kind::Heading
                        || new_kind == Kind::Heading
                        || (list_item && !line.starts_with(' '))
                        || (long && !*blank_after);
                    if boundary {
                        let joins = !*blank_after && (list_item || long);
                        let (chunk, kind) = (*chunk, *kind);
                        self.freeze_text(text, chunk, start, kind);
                        self.open = Open::Text {
                            start,
                            kind: new_kind,
                            blank_after: false,
                            joins,
                        };
                    } else {
                        *blank_after = false;
                    }
                    self.cut_long_line(text, start, end);
                }
            }
        }
    }

    /// Cuts a paragraph line longer than [`LONG_PARAGRAPH`] into chunks, so one endless
    /// line costs linear time too. The cuts fall at the first space before a letter
    /// past each [`LONG_PARAGRAPH`] bytes, wherever the line is when it is seen (whole
    /// or still arriving), so streaming and reopening cut in the same places; a cut only
    /// ends a row early, and the letter after it cannot start a list, quote or heading.
    fn cut_long_line(&mut self, text: &str, line_start: usize, line_end: usize) {
        loop {
            let Open::Text { start, kind, .. } = self.open else {
                return;
            };
            let line = &text[line_start..line_end];
            let is_paragraph = match kind {
                Kind::Paragraph => kind_of(line) == Kind::Paragraph,
                Kind::Empty => start == line_start && kind_of(line) == Kind::Paragraph,
                _ => false,
            };
            let from = start.max(line_start);
            if !is_paragraph || line_end - from <= LONG_PARAGRAPH {
                return;
            }
            let mut search = from + LONG_PARAGRAPH;
            while !text.is_char_boundary(search) {
                search += 1;
            }
            let rest = &text[search..line_end];
            // A space before a letter within the next LONG_PARAGRAPH bytes, else (one
            // endless word: a hostile or broken server's) the first letter after them,
            // so no run of text keeps the open chunk growing (issue 10). Both depend
            // only on the text, so streaming and reopening still cut alike.
            let window = rest.len().min(LONG_PARAGRAPH + 1);
            let at_space = rest
                .char_indices()
                .zip(rest.chars().skip(1))
                .take_while(|((i, _), _)| *i < window)
                .find(|((_, c), next)| *c == ' ' && next.is_alphabetic())
                .map(|((i, _), _)| search + i + 1);
            let in_word = || {
                rest.char_indices()
                    .skip_while(|(i, _)| *i <= LONG_PARAGRAPH)
                    .find(|(_, c)| c.is_alphabetic())
                    .map(|(i, _)| search + i)
            };
            let Some(cut) = at_space.or_else(in_word) else {
                return;
            };
            self.freeze_text(text, start, cut, Kind::Paragraph);
            self.open = Open::Text {
                start: cut,
                kind: Kind::Paragraph,
                blank_after: false,
                joins: true,
            };
        }
    }

    /// While streaming: a line that starts a block after a blank line begins a new chunk
    /// before its line break arrives, so the paragraph above it is frozen now.
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
        let tail = &text[self.lines.consumed()..];
        let started = tail
            .trim_start_matches(' ')
            .starts_with(|c: char| !c.is_whitespace());
        if kind != Kind::Empty && started && starts_block(tail, kind) {
            self.freeze_text(text, start, self.lines.consumed(), kind);
            self.open = Open::Text {
                start: self.lines.consumed(),
                kind: Kind::Empty,
                blank_after: false,
                joins: false,
            };
        }
    }

    /// Renders a finished text chunk onto the frozen rows.
    fn freeze_text(&mut self, text: &str, start: usize, end: usize, kind: Kind) {
        self.open_rows.clear();
        if kind == Kind::Empty || start >= end {
            return;
        }
        let joins = matches!(self.open, Open::Text { joins: true, .. });
        let mut rows = Vec::new();
        markdown::render(&text[start..end], self.width, self.theme, &mut rows);
        if !rows.is_empty() {
            if !joins {
                self.separate();
            }
            self.frozen.extend(&rows);
        }
    }

    /// A blank row between blocks (none before the first).
    fn separate(&mut self) {
        if !self.frozen.is_empty() {
            self.frozen.push(&[]);
        }
    }

    /// Lays out the open chunk again. A last line that may be turning into a fence is
    /// left out until it is complete, so fence markers never flash on screen.
    fn render_open(&mut self, text: &str) {
        self.open_rows.clear();
        let tail = &text[self.lines.consumed()..];
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
            Open::Text { start, joins, .. } => {
                let end = if could_open(tail) {
                    if let Some(f) = opening(tail) {
                        self.labels.push(sanitize(first_word(f.info)).into_owned());
                        self.pending_label = true;
                    }
                    self.lines.consumed()
                } else {
                    text.len()
                };
                let source = text.get(*start..end).unwrap_or_default();
                if source.trim().is_empty() {
                    return;
                }
                let mut rows = Vec::new();
                let closers = if self.complete || end < text.len() {
                    ""
                } else {
                    closers(&text[(*start).max(self.lines.consumed())..])
                };
                if closers.is_empty() {
                    markdown::render(source, self.width, self.theme, &mut rows);
                } else {
                    let closed = format!("{source}{closers}");
                    markdown::render(&closed, self.width, self.theme, &mut rows);
                }
                if !rows.is_empty() && !self.frozen.is_empty() && !joins {
                    self.open_rows.push(&[]);
                }
                self.open_rows.extend(&rows);
            }
        }
    }
}

/// Whether a line after a blank line starts a new top-level block rather than
/// continuing a list item (which needs the item's indentation).
fn starts_block(line: &str, kind: Kind) -> bool {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    let tab = line.as_bytes().get(indent) == Some(&b'\t');
    match kind {
        Kind::List => indent == 0 && !tab,
        _ => indent <= 3 && !tab,
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
    } else if indent <= 3 && rest.starts_with('|') {
        Kind::Table
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

/// What closes the inline code and strong emphasis left open on a line still arriving,
/// so `Some **bo` shows as bold `bo` at once rather than with its `**` until the
/// closing marker comes.
fn closers(line: &str) -> &'static str {
    let mut in_code = false;
    let mut strong = false;
    let mut bytes = line.bytes().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => {
                bytes.next();
            }
            b'`' => in_code = !in_code,
            b'*' if !in_code && bytes.peek() == Some(&b'*') => {
                bytes.next();
                strong = !strong;
            }
            _ => {}
        }
    }
    match (in_code, strong) {
        (true, true) => "`**",
        (true, false) => "`",
        (false, true) => "**",
        (false, false) => "",
    }
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
fn wrap_code(row: &Row, width: usize, out: &mut RowStore) {
    let indent = [Piece::new(CODE_INDENT, Look::tone(Tone::Text))];
    let mut rows = Vec::new();
    wrap_line(row, width, &indent, &indent, &mut rows);
    out.extend(&rows);
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
                    .map(|(text, _)| text)
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
                (0..b.len())
                    .map(|i| b.row(i).map(|(t, l)| Piece::new(t, l)).collect())
                    .collect()
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
        let mut open = RowStore::default();
        open.push(&[
            Piece::new("• ", Look::tone(Tone::Marker)),
            Piece::new("b", Look::tone(Tone::Text)),
        ]);
        assert_eq!(body.open_rows, open);
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
                .any(|(_, look)| matches!(look.tone, Tone::Token(_)))
        );
        let labels: Vec<String> = crate::view::code_blocks::code_blocks(text)
            .iter()
            .map(|b| b.language.clone())
            .collect();
        assert_eq!(labels, ["rust", "sh"]);
    }

    #[test]
    fn paragraphs_indented_less_than_code_still_start_chunks() {
        let mut body = MarkdownBody::new("", 40, CodeTheme::Plain, false);
        body.update(" one\n\n two\n\n   three", false);
        assert_eq!(lines(&body), ["one", "", "two", "", "three"]);
        assert_eq!(body.frozen.len(), 3, "only the last paragraph is open");
        // In a list, an indented line after a blank continues the item.
        let mut body = MarkdownBody::new("", 40, CodeTheme::Plain, false);
        body.update("- item\n\n  more of it\n", false);
        assert!(body.frozen.is_empty());
        assert_eq!(lines(&body), ["• item", "", "  more of it"]);
    }

    #[test]
    fn a_paragraph_that_never_ends_is_cut_at_line_breaks() {
        let line = "a line of prose that goes on *and on*\n";
        let text = line.repeat(2000);
        let body = streamed(&text, 80, 97, CodeTheme::Plain);
        assert!(
            body.open_rows.len() < 200,
            "{} open rows",
            body.open_rows.len()
        );
        let shown = lines(&body);
        assert_eq!(shown.len(), 2000, "no separator rows where it was cut");
        assert!(
            shown
                .iter()
                .all(|l| l == "a line of prose that goes on and on")
        );
        // A table is never cut, however long.
        let table = format!("| a |\n|---|\n{}", "| cell value here |\n".repeat(400));
        let body = streamed(&table, 80, 97, CodeTheme::Plain);
        assert!(lines(&body).iter().all(|l| !l.contains('|')));
    }

    #[test]
    fn one_endless_word_is_cut_too_the_same_way_streamed_or_whole() {
        // A server's one token with no space in it (issue 10): without a cut, every
        // delta laid out the whole open chunk again (16 MiB: 0.6 s a delta).
        let text = "x".repeat(100_000) + " end";
        let whole = MarkdownBody::new(&text, 60, CodeTheme::Plain, true);
        let body = streamed(&text, 60, 997, CodeTheme::Plain);
        assert_eq!(lines(&body), lines(&whole));
        assert!(
            body.open_rows.len() < 200,
            "{} open rows",
            body.open_rows.len()
        );
        let shown = lines(&whole);
        assert_eq!(shown.concat(), text, "every letter shown, in order");
        assert!(shown.iter().all(|l| l.len() <= 60));
    }

    #[test]
    fn one_endless_line_is_cut_the_same_way_streamed_or_whole() {
        let text = "word ".repeat(5000) + "**bold** end";
        let whole = MarkdownBody::new(&text, 60, CodeTheme::Plain, true);
        let body = streamed(&text, 60, 5, CodeTheme::Plain);
        assert_eq!(lines(&body), lines(&whole));
        assert!(
            body.open_rows.len() < 100,
            "{} open rows",
            body.open_rows.len()
        );
        assert!(
            lines(&body)
                .last()
                .is_some_and(|l| l.ends_with("word bold end"))
        );
        // No row shows more than the width, and nothing but words.
        assert!(
            lines(&whole)
                .iter()
                .all(|l| l.len() <= 60 && !l.contains('*'))
        );
    }

    #[test]
    fn open_bold_and_code_on_the_arriving_line_show_styled_without_markers() {
        let mut body = MarkdownBody::new("", 40, CodeTheme::Plain, false);
        body.update("Some **bo", false);
        assert_eq!(lines(&body), ["Some bo"]);
        assert!(body.row(0).any(|(t, look)| t == "bo" && look.bold));
        body.update("Some **bold** and `co", false);
        assert_eq!(lines(&body), ["Some bold and co"]);
        assert!(
            body.row(0)
                .any(|(t, look)| t == "co" && look.tone == Tone::InlineCode)
        );
        // `**` inside inline code is code, not emphasis.
        assert_eq!(closers("a `x ** y"), "`");
        assert_eq!(closers("a \\** b"), "");
        // A finished reply is shown exactly as written.
        assert_eq!(rendered("Some **bo", 40), ["Some **bo"]);
    }

    #[test]
    fn the_labels_count_a_fence_whose_line_is_still_arriving() {
        let mut body = MarkdownBody::new("", 40, CodeTheme::Plain, false);
        body.update("see\n```ba", false);
        assert_eq!(body.code_labels(), ["ba"]);
        body.update("see\n```bash\nls\n", false);
        assert_eq!(body.code_labels(), ["bash"]);
        body.update("see\n```bash\nls\n```\n~~", false);
        assert_eq!(body.code_labels(), ["bash"]);
        body.update("see\n```bash\nls\n```\n~~~ py", false);
        assert_eq!(body.code_labels(), ["bash", "py"]);
        // A control character in a language is shown harmlessly.
        let odd = MarkdownBody::new("```a\u{1b}[2J\nx\n```", 40, CodeTheme::Plain, true);
        assert_eq!(odd.code_labels(), ["a␛[2J"]);
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
