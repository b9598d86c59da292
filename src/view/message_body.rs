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

use std::sync::Arc;

use super::code_blocks::{Fence, fence, first_word, opening};
use super::highlight::{CodeLines, CodeTheme, plain};
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

/// A code line longer than this is drawn in one colour, in pieces of this many bytes,
/// each starting a row: highlighting such a line (minified code, a data dump) costs
/// more than it shows, and a line that never ends would otherwise be laid out again
/// whole with every delta. Editors make the same choice (VS Code stops at 20,000).
const LONG_CODE_LINE: usize = 4096;

/// A code line still arriving is highlighted again with every delta only while it is
/// this short (nearly every line of real code is); a longer one is drawn in one colour
/// until its line break arrives and it is highlighted once.
const PEEK_CODE_LINE: usize = 512;

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
        /// The indentation of its first line when it is the rest of a long list cut at
        /// a nested item: its lines are laid out that much less indented, and its rows
        /// are moved right by as much (see [`LONG_PARAGRAPH`]).
        base: usize,
        /// The header and delimiter rows of the table this chunk continues, when a
        /// long table was cut (see [`table_header`]): laid out before its rows.
        header: Option<Arc<str>>,
    },
    Code {
        mark: u8,
        len: usize,
        indent: usize,
        lines: CodeLines,
        /// Where the part of a long code line that is not laid out yet begins (the
        /// pieces before it are frozen); 0 while the line is not long.
        cut: usize,
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
                base: 0,
                header: None,
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
            self.cut_long_code_line(text);
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
                cut,
            } => {
                if closes(line, *mark, *len) {
                    self.open = Open::Text {
                        start: next,
                        kind: Kind::Empty,
                        blank_after: false,
                        joins: false,
                        base: 0,
                        header: None,
                    };
                } else {
                    let spaces = line.bytes().take_while(|&b| b == b' ').count();
                    let code = start + spaces.min(*indent)..start + line.len();
                    code_line(text, code, lines, cut, self.width, &mut self.frozen);
                }
            }
            Open::Text {
                start: chunk,
                kind,
                blank_after,
                base,
                header,
                ..
            } => {
                if let Some(f) = opening(line) {
                    let (chunk, kind) = (*chunk, *kind);
                    self.freeze_text(text, chunk, start, kind);
                    self.open_code(&f);
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
                    let (long, header) = long_cut(
                        *kind,
                        new_kind,
                        header.as_ref(),
                        text.get(*chunk..start).unwrap_or_default(),
                    );
                    let boundary = (*blank_after && starts_block(line, *kind))
                        || *kind == Kind::Heading
                        || new_kind == Kind::Heading
                        || (list_item && !line.starts_with(' '))
                        || (long && !*blank_after);
                    let nested = list_cut(*kind, line, start.saturating_sub(*chunk), *base);
                    if let (false, Some(indent)) = (boundary, nested) {
                        let joins = !*blank_after;
                        let (chunk, kind) = (*chunk, *kind);
                        self.freeze_text(text, chunk, start, kind);
                        self.open = Open::Text {
                            start,
                            kind: Kind::List,
                            blank_after: false,
                            joins,
                            base: indent,
                            header: None,
                        };
                    } else if boundary {
                        let joins = !*blank_after && (list_item || long);
                        let (chunk, kind) = (*chunk, *kind);
                        self.freeze_text(text, chunk, start, kind);
                        self.open = Open::Text {
                            start,
                            kind: new_kind,
                            blank_after: false,
                            joins,
                            base: 0,
                            header,
                        };
                    } else {
                        *blank_after = false;
                    }
                    self.cut_long_line(text, start, end);
                }
            }
        }
    }

    /// Opens the code block that fence `f` starts, under its label row.
    fn open_code(&mut self, f: &Fence<'_>) {
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
            cut: 0,
        };
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
            // Looked for within one more LONG_PARAGRAPH only, so a line without spaces
            // (CJK, a hash, a URL) is not searched again whole with every delta; past
            // that it is cut before a letter that follows a letter.
            let mut window_end = (search + LONG_PARAGRAPH).min(line_end);
            while !text.is_char_boundary(window_end) {
                window_end += 1;
            }
            let window = &text[search..window_end];
            let at_space = window
                .char_indices()
                .zip(window.chars().skip(1))
                .find(|((_, c), next)| *c == ' ' && next.is_alphabetic())
                .map(|((i, _), _)| search + i + 1);
            let hard = || {
                let mut rest_end = (window_end + LONG_PARAGRAPH).min(line_end);
                while !text.is_char_boundary(rest_end) {
                    rest_end += 1;
                }
                let rest = &text[window_end..rest_end];
                rest.char_indices()
                    .zip(rest.chars().skip(1))
                    .find(|((_, c), next)| c.is_alphabetic() && next.is_alphabetic())
                    .map(|((i, c), _)| window_end + i + c.len_utf8())
            };
            let Some(cut) = at_space.or_else(|| (window_end < line_end).then(hard).flatten())
            else {
                return;
            };
            self.freeze_text(text, start, cut, Kind::Paragraph);
            self.open = Open::Text {
                start: cut,
                kind: Kind::Paragraph,
                blank_after: false,
                joins: true,
                base: 0,
                header: None,
            };
        }
    }

    /// While streaming: freezes the pieces of a long code line that is still arriving
    /// (see [`LONG_CODE_LINE`]), so only its last piece is laid out again per delta.
    fn cut_long_code_line(&mut self, text: &str) {
        let consumed = self.lines.consumed();
        let Open::Code {
            indent, cut, mark, ..
        } = &mut self.open
        else {
            return;
        };
        let tail = &text[consumed..];
        // A closing fence padded with spaces is never code.
        if could_close(tail, *mark) {
            return;
        }
        let spaces = tail.bytes().take_while(|&b| b == b' ').count();
        let code_start = consumed + spaces.min(*indent);
        let from = code_start.max(*cut);
        if text.len() - from > LONG_CODE_LINE {
            *cut = freeze_code_pieces(text, from, text.len(), self.width, &mut self.frozen);
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
                base: 0,
                header: None,
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
        let base = match self.open {
            Open::Text { base, .. } => base,
            Open::Code { .. } => 0,
        };
        let mut rows = Vec::new();
        self.render_chunk(&text[start..end], base, &mut rows);
        if !rows.is_empty() {
            if !joins {
                self.separate();
            }
            self.frozen.extend(&rows);
        }
    }

    /// Renders one text chunk; a piece of a long list that began at a nested item
    /// (`base` > 0) is laid out without that indentation and its rows moved right by
    /// it (at most [`markdown::MAX_NESTING`] levels' worth).
    fn render_chunk(&self, source: &str, base: usize, rows: &mut Vec<Row>) {
        if let Open::Text {
            header: Some(header),
            ..
        } = &self.open
        {
            markdown::render(&format!("{header}{source}"), self.width, self.theme, rows);
            return;
        }
        if base == 0 {
            markdown::render(source, self.width, self.theme, rows);
            return;
        }
        let dedented: String = source
            .split_inclusive('\n')
            .map(|line| &line[line.bytes().take_while(|&b| b == b' ').count().min(base)..])
            .collect();
        let shift = base.min(2 * markdown::MAX_NESTING).min(self.width / 2);
        let mut inner = Vec::new();
        markdown::render_nested(
            &dedented,
            self.width - shift,
            self.theme,
            base / 2,
            &mut inner,
        );
        let pad = Piece::new(" ".repeat(shift), Look::tone(Tone::Text));
        rows.extend(inner.into_iter().map(|row| {
            let mut shifted = Row::with_capacity(row.len() + 1);
            shifted.push(pad.clone());
            shifted.extend(row);
            shifted
        }));
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
                cut,
                ..
            } => {
                if tail.is_empty() || could_close(tail, *mark) {
                    return;
                }
                let consumed = self.lines.consumed();
                let spaces = tail.bytes().take_while(|&b| b == b' ').count();
                let code_start = consumed + spaces.min(*indent);
                let code = text
                    .get(code_start.max(*cut)..consumed + tail.len())
                    .unwrap_or_default();
                let row = if *cut > code_start || code.len() > PEEK_CODE_LINE {
                    plain(code)
                } else {
                    lines.peek(code)
                };
                wrap_code(&row, self.width, &mut self.open_rows);
            }
            Open::Text {
                start, joins, base, ..
            } => {
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
                    self.render_chunk(source, *base, &mut rows);
                } else {
                    let closed = format!("{source}{closers}");
                    self.render_chunk(&closed, *base, &mut rows);
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

/// Where a long list is cut at a nested item too (its rows are then moved right by the
/// item's indentation), and a piece of one at an item less indented than the piece
/// began: the item's indentation, if `line` starts such a piece.
fn list_cut(kind: Kind, line: &str, chunk_len: usize, base: usize) -> Option<usize> {
    if kind != Kind::List {
        return None;
    }
    nested_item(line).filter(|&indent| chunk_len > LONG_PARAGRAPH || indent < base)
}

/// The indentation of a list item indented by at least one space, if `line` is one.
fn nested_item(line: &str) -> Option<usize> {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    (indent > 0 && is_list_item(&line[indent..])).then_some(indent)
}

/// Whether a chunk of `kind` that holds `chunk` is cut before a line of `new_kind`
/// because it is long, and the header the next piece repeats (a table's; `header` is
/// the header of the piece being cut, when it continues a table itself).
fn long_cut(
    kind: Kind,
    new_kind: Kind,
    header: Option<&Arc<str>>,
    chunk: &str,
) -> (bool, Option<Arc<str>>) {
    if kind != new_kind || chunk.len() <= LONG_PARAGRAPH {
        return (false, None);
    }
    match kind {
        Kind::Paragraph => (true, None),
        Kind::Table => {
            match header.map_or_else(|| table_cut(chunk), |h| TableCut::Header(Arc::clone(h))) {
                TableCut::Header(h) => (true, Some(h)),
                TableCut::Plain => (true, None),
                TableCut::Whole => (false, None),
            }
        }
        _ => (false, None),
    }
}

/// How a long chunk of table lines is cut: every [`LONG_PARAGRAPH`] bytes, as a long
/// paragraph is, each piece laid out as a table of its own under the same header and
/// delimiter lines (printed tables repeat the header on every page), so a row arriving
/// costs one piece's layout, not the whole table's.
enum TableCut {
    /// A table: each piece repeats these lines.
    Header(Arc<str>),
    /// Lines that only look like a table (no delimiter row): a paragraph, cut as one.
    Plain,
    /// The header is too long to repeat: the table stays whole.
    Whole,
}

fn table_cut(table: &str) -> TableCut {
    let mut ends = table.match_indices('\n').map(|(i, _)| i + 1);
    let (Some(first), Some(second)) = (ends.next(), ends.next()) else {
        return TableCut::Plain;
    };
    let delimiter = table[first..second].trim_end();
    let is_delimiter = delimiter.contains('-')
        && delimiter
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'));
    if !is_delimiter {
        TableCut::Plain
    } else if second <= LONG_PARAGRAPH {
        TableCut::Header(Arc::from(&table[..second]))
    } else {
        TableCut::Whole
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

/// Lays out the complete code line `text[code]`: highlighted when it is short, else in
/// pieces of one colour, after those frozen while it arrived (`cut`, reset here).
fn code_line(
    text: &str,
    code: std::ops::Range<usize>,
    lines: &mut CodeLines,
    cut: &mut usize,
    width: usize,
    frozen: &mut RowStore,
) {
    if code.len() <= LONG_CODE_LINE {
        wrap_code(&lines.line(&text[code]), width, frozen);
    } else {
        let from = freeze_code_pieces(text, code.start.max(*cut), code.end, width, frozen);
        if from < code.end || *cut <= code.start {
            wrap_code(&plain(&text[from..code.end]), width, frozen);
        }
    }
    *cut = 0;
}

/// Freezes `text[from..end]` in pieces of [`LONG_CODE_LINE`] bytes while more than
/// that is left, and returns where the rest begins. The pieces fall at the same places
/// whether the line is seen whole or while it arrives.
fn freeze_code_pieces(
    text: &str,
    mut from: usize,
    end: usize,
    width: usize,
    frozen: &mut RowStore,
) -> usize {
    while end - from > LONG_CODE_LINE {
        let mut cut = from + LONG_CODE_LINE;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        wrap_code(&plain(&text[from..cut]), width, frozen);
        from = cut;
    }
    from
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
    use std::fmt::Write as _;

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

    /// A table of `rows` rows of about 40 bytes each.
    fn long_table(rows: usize) -> String {
        let mut text = String::from("| n | name | note |\n|---|---|---|\n");
        for i in 0..rows {
            let _ = writeln!(text, "| {i} | row number {i} | some words here |");
        }
        text
    }

    #[test]
    fn a_long_table_is_cut_into_pieces_that_repeat_its_header() {
        let text = long_table(300);
        let rows = rendered(&text, 60);
        let headers: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.starts_with("n ") && r.contains("│ name"))
            .map(|(i, _)| i)
            .collect();
        // About 12.7 KB of table: cut after every 4 KB of rows, so four pieces, each under
        // the header.
        assert!((12_500..13_000).contains(&text.len()), "{}", text.len());
        assert_eq!(headers.len(), 4, "{rows:#?}");
        assert_eq!(headers[0], 0);
        // The piece before a repeated header ends with a row, with no blank row between.
        for &h in &headers[1..] {
            assert!(
                rows[h - 1].contains("some words here"),
                "{:?}",
                &rows[h - 2..h + 2]
            );
            assert!(rows[h + 1].starts_with("──"), "{:?}", &rows[h..h + 3]);
        }
        // Every row is there once, in order.
        let numbers: Vec<String> = rows
            .iter()
            .filter(|r| r.contains("row number"))
            .map(|r| r.split('│').next().unwrap().trim().to_owned())
            .collect();
        let expected: Vec<String> = (0..300).map(|i| i.to_string()).collect();
        assert_eq!(numbers, expected);
        // Streamed in any pieces, the same rows.
        for step in [1, 7, 64] {
            assert_eq!(
                lines(&streamed(&text, 60, step, CodeTheme::Plain)),
                rows,
                "step {step}"
            );
        }
    }

    #[test]
    fn lines_of_pipes_without_a_delimiter_row_are_cut_as_a_paragraph() {
        let mut text = String::new();
        for i in 0..300 {
            let _ = writeln!(text, "| not a table {i} | just text |");
        }
        let rows = rendered(&text, 60);
        assert_eq!(rows.len(), 300, "{:?}", &rows[..3]);
        assert_eq!(rows[0], "| not a table 0 | just text |");
        assert_eq!(rows[299], "| not a table 299 | just text |");
        for step in [1, 64] {
            assert_eq!(
                lines(&streamed(&text, 60, step, CodeTheme::Plain)),
                rows,
                "step {step}"
            );
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

    /// The text of every row and whether each piece is in a token colour.
    fn looks(body: &MarkdownBody) -> Vec<(String, bool)> {
        (0..body.len())
            .flat_map(|i| {
                body.row(i)
                    .map(|(text, look)| (text.to_owned(), matches!(look.tone, Tone::Token(_))))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn a_code_line_that_never_ends_is_laid_out_in_pieces_the_same_way_streamed_or_whole() {
        let long = "let x = call(a, b); ".repeat(1000);
        let text = format!("```rust\nfn short() {{}}\n{long}\n    indented();\n```\nafter");
        let whole = MarkdownBody::new(&text, 70, CodeTheme::Dark, true);
        for step in [3, 700, 5000] {
            let body = streamed(&text, 70, step, CodeTheme::Dark);
            assert_eq!(looks(&body), looks(&whole), "step {step}");
        }
        let rows = lines(&whole);
        // Short lines are highlighted; the long one is drawn in one colour, all of it.
        let all = looks(&whole);
        assert!(all.iter().any(|(t, token)| t.contains("short") && *token));
        assert!(
            all.iter()
                .any(|(t, token)| t.contains("indented") && *token)
        );
        assert!(
            all.iter()
                .filter(|(t, _)| t.contains("call"))
                .all(|(_, token)| !token)
        );
        let shown: String = rows.concat().replace(' ', "");
        assert!(
            shown.contains(&long.replace(' ', "")),
            "every character is shown"
        );
        assert_eq!(rows.last().map(String::as_str), Some("after"));
        // While it arrives, only its last piece is laid out again.
        let mut body = MarkdownBody::new("", 70, CodeTheme::Dark, false);
        body.update(&format!("```rust\n{long}"), false);
        assert!(
            body.open_rows.len() <= LONG_CODE_LINE / 60 + 2,
            "{}",
            body.open_rows.len()
        );
    }

    #[test]
    fn a_long_nested_list_is_cut_into_pieces_that_keep_their_indentation() {
        let mut text = String::new();
        for i in 0..60 {
            let _ = writeln!(
                text,
                "- item {i} with some words to make it longer than it is"
            );
            for depth in 1..4 {
                let indent = "  ".repeat(depth);
                let _ = writeln!(text, "{indent}- sub item {i}.{depth} with words");
            }
        }
        text.push_str("\nafter the list\n");
        let whole = MarkdownBody::new(&text, 80, CodeTheme::Plain, true);
        for step in [4, 333] {
            assert_eq!(
                lines(&streamed(&text, 80, step, CodeTheme::Plain)),
                lines(&whole)
            );
        }
        let rows = lines(&whole);
        assert_eq!(
            rows[0],
            "• item 0 with some words to make it longer than it is"
        );
        assert_eq!(rows[1], "  ◦ sub item 0.1 with words");
        assert_eq!(rows[3], "      ▪ sub item 0.3 with words");
        // Past the first cut, the nesting shows the same way.
        let at = rows
            .iter()
            .position(|r| r.contains("sub item 59.3"))
            .unwrap_or_default();
        assert_eq!(rows[at], "      ▪ sub item 59.3 with words");
        assert_eq!(rows[at - 2], "  ◦ sub item 59.1 with words");
        assert_eq!(rows.last().map(String::as_str), Some("after the list"));
    }

    #[test]
    fn hundreds_of_nested_levels_keep_their_text_at_a_bounded_depth() {
        let mut text = String::new();
        for i in 0..600 {
            let _ = writeln!(text, "{}- level {i}", "  ".repeat(i));
        }
        let whole = MarkdownBody::new(&text, 100, CodeTheme::Plain, true);
        let rows = lines(&whole);
        assert_eq!(rows.len(), 600, "one row a level");
        for (i, row) in rows.iter().enumerate() {
            assert!(row.ends_with(&format!("level {i}")), "{row:?}");
            assert!(row.len() <= 40, "{row:?}");
        }
        assert_eq!(lines(&streamed(&text, 100, 64, CodeTheme::Plain)), rows);
    }

    #[test]
    fn an_endless_line_without_spaces_is_cut_the_same_way_streamed_or_whole() {
        for text in ["x".repeat(30_000), "日本語のテキスト".repeat(1500)] {
            let whole = MarkdownBody::new(&text, 60, CodeTheme::Plain, true);
            let body = streamed(&text, 60, 7, CodeTheme::Plain);
            assert_eq!(lines(&body), lines(&whole));
            assert_eq!(lines(&whole).concat(), text, "every character, in order");
            assert!(
                body.open_rows.len() < 200,
                "{} open rows",
                body.open_rows.len()
            );
        }
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
