//! Markdown text to styled rows (pulldown-cmark), for assistant replies.
//!
//! Renders one piece of Markdown (a chunk of a message: see `view/message_body.rs`) at a
//! width: headings, emphasis, lists, block quotes, tables, inline code, links as text
//! plus address, rules, and code blocks nested deeper than the top level. Markup is
//! never drawn raw. Line breaks inside a paragraph are kept as the model wrote them (a
//! terminal reader expects a poem or an address to keep its lines; CommonMark would
//! join them). Every piece of text is sanitized on the way in.

use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::highlight::{CodeLines, CodeTheme};
use super::styled::{Look, Row, Tone, push_piece, row_width, wrap_line};
use super::wrap::{display_width, sanitize};

/// Columns code is indented by inside a block.
pub const CODE_INDENT: &str = "  ";

/// The Markdown extensions models use: GitHub tables, strikethrough and task lists.
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Quotes and list items nested deeper than this are drawn at this depth, their text
/// kept: each level indents every row of it, so 600 levels would push the text past
/// any screen and make every row cost as much as its depth.
pub const MAX_NESTING: usize = 8;

/// Renders `text` at `width` columns, pushing rows onto `out`.
pub fn render(text: &str, width: usize, theme: CodeTheme, out: &mut Vec<Row>) {
    render_nested(text, width, theme, 0, out);
}

/// [`render`] for text that sits `nesting` list levels deep (a long list cut into
/// pieces by the message body): markers and the depth bound count those levels.
pub fn render_nested(
    text: &str,
    width: usize,
    theme: CodeTheme,
    nesting: usize,
    out: &mut Vec<Row>,
) {
    let mut r = Renderer {
        nesting,
        width: width.max(1),
        theme,
        out,
        line: Row::new(),
        containers: Vec::new(),
        lists: Vec::new(),
        pending_blank: false,
        strong: 0,
        emphasis: 0,
        strike: 0,
        heading: None,
        links: Vec::new(),
        code: None,
        table: None,
    };
    for event in Parser::new_ext(text, options()) {
        r.event(event);
    }
    r.flush();
}

/// A container that prefixes the rows inside it.
enum Container {
    Quote,
    /// A list item: its marker ("• ", "3. ") shows on its first row only.
    Item {
        marker: String,
        shown: bool,
    },
}

/// A code block nested inside other blocks (top-level fences are laid out by the
/// message body, which numbers them).
struct NestedCode {
    lines: CodeLines,
    text: String,
}

/// A table being collected: cells are laid out once every width is known.
struct Table {
    alignments: Vec<Alignment>,
    rows: Vec<Vec<Row>>,
    head_rows: usize,
    in_head: bool,
}

struct Renderer<'o> {
    /// Levels of nesting outside this text.
    nesting: usize,
    width: usize,
    theme: CodeTheme,
    out: &'o mut Vec<Row>,
    /// The logical line being built.
    line: Row,
    containers: Vec<Container>,
    /// The next number of each open list (`None` for bullets).
    lists: Vec<Option<u64>>,
    /// A block ended: the next one starts after a blank row.
    pending_blank: bool,
    strong: usize,
    emphasis: usize,
    strike: usize,
    heading: Option<u8>,
    /// Open links: their address and the text shown so far.
    links: Vec<(String, String)>,
    code: Option<NestedCode>,
    table: Option<Table>,
}

impl Renderer<'_> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => {
                let look = Look {
                    tone: Tone::InlineCode,
                    ..self.look()
                };
                self.push(&code, look);
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                let look = self.look();
                for (i, part) in html.split('\n').enumerate() {
                    if i > 0 {
                        self.flush();
                    }
                    self.push(part, look);
                }
            }
            Event::InlineMath(math) | Event::DisplayMath(math) => self.push(&math, self.look()),
            Event::FootnoteReference(label) => self.push(&format!("[^{label}]"), self.look()),
            Event::SoftBreak | Event::HardBreak => self.flush(),
            Event::Rule => {
                self.flush();
                self.blank_if_pending();
                let prefix = self.prefix(false);
                let room = self.width.saturating_sub(row_width(&prefix)).max(1);
                let mut row = prefix;
                push_piece(&mut row, &"─".repeat(room), Look::tone(Tone::Rule));
                self.out.push(row);
                self.pending_blank = true;
            }
            Event::TaskListMarker(done) => {
                self.push(if done { "[x] " } else { "[ ] " }, Look::tone(Tone::Marker));
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => self.blank_if_pending(),
            Tag::Heading { level, .. } => {
                self.flush();
                self.blank_if_pending();
                self.heading = Some(heading_level(level));
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.blank_if_pending();
                self.containers.push(Container::Quote);
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                self.blank_if_pending();
                let language = match &kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or(""),
                    CodeBlockKind::Indented => "",
                };
                self.code = Some(NestedCode {
                    lines: CodeLines::new(language, self.theme),
                    text: String::new(),
                });
            }
            Tag::List(start) => {
                self.flush();
                if !self.in_item() {
                    self.blank_if_pending();
                }
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let depth = self.lists.len() + self.nesting;
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let marker = format!("{n}. ");
                        *n += 1;
                        marker
                    }
                    _ => match depth {
                        0 | 1 => "• ",
                        2 => "◦ ",
                        _ => "▪ ",
                    }
                    .to_owned(),
                };
                self.containers.push(Container::Item {
                    marker,
                    shown: false,
                });
            }
            Tag::Table(alignments) => {
                self.flush();
                self.blank_if_pending();
                self.table = Some(Table {
                    alignments,
                    rows: Vec::new(),
                    head_rows: 0,
                    in_head: false,
                });
            }
            Tag::TableHead => {
                if let Some(t) = self.table.as_mut() {
                    t.in_head = true;
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableRow => {
                if let Some(t) = self.table.as_mut() {
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableCell => self.line.clear(),
            Tag::Emphasis => self.emphasis += 1,
            Tag::Strong => self.strong += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } => self.links.push((dest_url.into_string(), String::new())),
            Tag::Image { dest_url, .. } => {
                self.push("[image: ", Look::tone(Tone::Marker));
                self.links.push((dest_url.into_string(), String::new()));
            }
            Tag::FootnoteDefinition(label) => {
                self.flush();
                self.blank_if_pending();
                self.push(&format!("[^{label}]: "), Look::tone(Tone::Marker));
            }
            Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock | TagEnd::FootnoteDefinition => {
                self.flush();
                self.pending_blank = true;
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.heading = None;
                self.pending_blank = true;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.containers.pop();
                self.pending_blank = true;
            }
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    self.code_rows(code);
                }
                self.pending_blank = true;
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                if !self.in_item() {
                    self.pending_blank = true;
                }
            }
            TagEnd::Item => {
                self.flush();
                // An empty item still shows its marker.
                if let Some(Container::Item { shown: false, .. }) = self.containers.last() {
                    let row = self.prefix(true);
                    self.out.push(row);
                }
                self.containers.pop();
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.table_rows(&table);
                }
                self.pending_blank = true;
            }
            TagEnd::TableHead => {
                if let Some(t) = self.table.as_mut() {
                    t.in_head = false;
                    t.head_rows = t.rows.len();
                }
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.line);
                if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                    row.push(cell);
                }
            }
            TagEnd::Emphasis => self.emphasis = self.emphasis.saturating_sub(1),
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => {
                if let Some((url, text)) = self.links.pop() {
                    let plain_url = url.strip_prefix("mailto:").unwrap_or(&url);
                    if !url.is_empty() && text != url && text != plain_url {
                        self.push(&format!(" ({url})"), Look::tone(Tone::Url));
                    }
                }
            }
            TagEnd::Image => {
                if let Some((url, _)) = self.links.pop() {
                    self.push("]", Look::tone(Tone::Marker));
                    if !url.is_empty() {
                        self.push(&format!(" ({url})"), Look::tone(Tone::Url));
                    }
                }
            }
            TagEnd::TableRow
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::MetadataBlock(_) => {}
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(code) = self.code.as_mut() {
            code.text.push_str(text);
            return;
        }
        if let Some((_, shown)) = self.links.last_mut() {
            shown.push_str(text);
        }
        let look = self.look();
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                self.flush();
            }
            self.push(part, look);
        }
    }

    /// The look of text at this point: heading, link, quote or body, with emphasis.
    fn look(&self) -> Look {
        let quoted = self
            .containers
            .iter()
            .any(|c| matches!(c, Container::Quote));
        let tone = match self.heading {
            Some(level) => Tone::Heading(level),
            None if !self.links.is_empty() => Tone::Link,
            None if quoted => Tone::Quote,
            None => Tone::Text,
        };
        Look {
            tone,
            bold: self.strong > 0 || self.heading.is_some(),
            italic: self.emphasis > 0 || (quoted && self.heading.is_none()),
            strike: self.strike > 0,
            underline: !self.links.is_empty() || self.heading == Some(1),
        }
    }

    fn push(&mut self, text: &str, look: Look) {
        push_piece(&mut self.line, &sanitize(text), look);
    }

    fn in_item(&self) -> bool {
        self.containers
            .iter()
            .any(|c| matches!(c, Container::Item { .. }))
    }

    /// The prefix of a row: quote bars, and list markers (on an item's first row) or
    /// the spaces that hang under them.
    fn prefix(&self, first: bool) -> Row {
        let mut row = Row::new();
        let flat_from = MAX_NESTING.saturating_sub(self.nesting);
        for (depth, c) in self.containers.iter().enumerate() {
            let flat = depth >= flat_from;
            match c {
                // Past the bound: no more bars or hanging indents, only an item's marker.
                Container::Quote | Container::Item { shown: true, .. } if flat => {}
                Container::Item { .. } if flat && !first => {}
                Container::Quote => push_piece(&mut row, "│ ", Look::tone(Tone::Quote)),
                Container::Item { marker, shown } => {
                    if first && !shown {
                        push_piece(&mut row, marker, Look::tone(Tone::Marker));
                    } else {
                        push_piece(
                            &mut row,
                            &" ".repeat(display_width(marker)),
                            Look::tone(Tone::Text),
                        );
                    }
                }
            }
        }
        row
    }

    fn mark_markers_shown(&mut self) {
        for c in &mut self.containers {
            if let Container::Item { shown, .. } = c {
                *shown = true;
            }
        }
    }

    /// Lays out the logical line built so far.
    fn flush(&mut self) {
        if self.line.is_empty() || self.table.is_some() {
            return;
        }
        let line = std::mem::take(&mut self.line);
        let first = self.prefix(true);
        let rest = self.prefix(false);
        wrap_line(&line, self.width, &first, &rest, self.out);
        self.mark_markers_shown();
    }

    /// A blank row between blocks: only the quote bars show on it.
    fn blank_if_pending(&mut self) {
        if !self.pending_blank {
            return;
        }
        self.pending_blank = false;
        if self.out.is_empty() {
            return;
        }
        let mut row: Row = Row::new();
        for c in &self.containers {
            if matches!(c, Container::Quote) {
                push_piece(&mut row, "│", Look::tone(Tone::Quote));
                if self.containers.len() > 1 {
                    push_piece(&mut row, " ", Look::tone(Tone::Quote));
                }
            }
        }
        self.out.push(row);
    }

    fn code_rows(&mut self, mut code: NestedCode) {
        let text = code.text.strip_suffix('\n').unwrap_or(&code.text);
        let mut prefix = self.prefix(true);
        push_piece(&mut prefix, CODE_INDENT, Look::tone(Tone::Text));
        let mut rest = self.prefix(false);
        push_piece(&mut rest, CODE_INDENT, Look::tone(Tone::Text));
        for (i, line) in text.split('\n').enumerate() {
            let row = code.lines.line(line);
            wrap_line(
                &row,
                self.width,
                if i == 0 { &prefix } else { &rest },
                &rest,
                self.out,
            );
        }
        self.mark_markers_shown();
    }

    /// Lays out a table: columns as wide as their widest cell, shrunk to fit the width
    /// (cells then wrap inside their column), with a rule under the header.
    fn table_rows(&mut self, table: &Table) {
        let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        if columns == 0 {
            return;
        }
        let prefix = self.prefix(false);
        let room = self.width.saturating_sub(row_width(&prefix));
        let gaps = 3 * (columns - 1);
        let mut natural = vec![1usize; columns];
        for row in &table.rows {
            for (i, cell) in row.iter().enumerate() {
                natural[i] = natural[i].max(row_width(cell));
            }
        }
        let widths = fit_columns(&natural, room.saturating_sub(gaps).max(columns));
        let bar = Look::tone(Tone::Marker);
        for (r, row) in table.rows.iter().enumerate() {
            let is_head = r < table.head_rows;
            let mut cells: Vec<Vec<Row>> = Vec::with_capacity(columns);
            for (c, width) in widths.iter().enumerate() {
                let mut rows = Vec::new();
                let mut cell = row.get(c).cloned().unwrap_or_default();
                if is_head {
                    for p in &mut cell {
                        p.look.bold = true;
                    }
                }
                wrap_line(&cell, *width, &[], &[], &mut rows);
                cells.push(rows);
            }
            let height = cells.iter().map(Vec::len).max().unwrap_or(1);
            for line in 0..height {
                let mut out = prefix.clone();
                for (c, width) in widths.iter().enumerate() {
                    if c > 0 {
                        push_piece(&mut out, " │ ", bar);
                    }
                    let cell = cells[c].get(line).cloned().unwrap_or_default();
                    let pad = width.saturating_sub(row_width(&cell));
                    let (before, after) = match table.alignments.get(c) {
                        Some(Alignment::Right) => (pad, 0),
                        Some(Alignment::Center) => (pad / 2, pad - pad / 2),
                        _ => (0, pad),
                    };
                    push_piece(&mut out, &" ".repeat(before), Look::tone(Tone::Text));
                    for p in cell {
                        push_piece(&mut out, &p.text, p.look);
                    }
                    if c + 1 < columns {
                        push_piece(&mut out, &" ".repeat(after), Look::tone(Tone::Text));
                    }
                }
                self.out.push(out);
            }
            if is_head && r + 1 == table.head_rows {
                let mut rule = prefix.clone();
                for (c, width) in widths.iter().enumerate() {
                    if c > 0 {
                        push_piece(&mut rule, "─┼─", bar);
                    }
                    push_piece(&mut rule, &"─".repeat(*width), bar);
                }
                self.out.push(rule);
            }
        }
    }
}

/// Column widths that fit `room`: narrow columns keep their natural width and the
/// rest share what is left equally.
fn fit_columns(natural: &[usize], room: usize) -> Vec<usize> {
    if natural.iter().sum::<usize>() <= room {
        return natural.to_vec();
    }
    let mut widths = vec![0; natural.len()];
    let mut open: Vec<usize> = (0..natural.len()).collect();
    let mut left = room;
    loop {
        let share = (left / open.len().max(1)).max(1);
        let (fit, wide): (Vec<usize>, Vec<usize>) =
            open.iter().partition(|&&i| natural[i] <= share);
        if fit.is_empty() {
            for (k, &i) in wide.iter().enumerate() {
                let extra = usize::from(k < left % wide.len().max(1));
                widths[i] = (share + extra).max(1);
            }
            return widths;
        }
        for &i in &fit {
            widths[i] = natural[i];
            left = left.saturating_sub(natural[i]);
        }
        open = wide;
        if open.is_empty() {
            return widths;
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn lines(text: &str, width: usize) -> Vec<String> {
        let mut out = Vec::new();
        render(text, width, CodeTheme::Plain, &mut out);
        out.iter()
            .map(|row| {
                row.iter()
                    .map(|p| p.text.as_str())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    fn looks(text: &str) -> Vec<(String, Look)> {
        let mut out = Vec::new();
        render(text, 80, CodeTheme::Plain, &mut out);
        out.iter()
            .flatten()
            .map(|p| (p.text.clone(), p.look))
            .collect()
    }

    #[test]
    fn emphasis_and_inline_code_lose_their_markers() {
        assert_eq!(
            lines("Some **bold**, *italic*, ~~gone~~ and `code`.", 80),
            ["Some bold, italic, gone and code."]
        );
        let l = looks("**b** *i* `c`");
        assert_eq!(l[0].0, "b");
        assert!(l[0].1.bold);
        assert!(l.iter().any(|(t, look)| t == "i" && look.italic));
        assert!(
            l.iter()
                .any(|(t, look)| t == "c" && look.tone == Tone::InlineCode)
        );
    }

    #[test]
    fn headings_paragraphs_and_line_breaks() {
        assert_eq!(
            lines("# Title\nFirst line\nsecond line\n\n## Sub\ntext", 80),
            [
                "Title",
                "",
                "First line",
                "second line",
                "",
                "Sub",
                "",
                "text"
            ]
        );
        let l = looks("# Big");
        assert_eq!(l[0].1.tone, Tone::Heading(1));
        assert!(l[0].1.bold && l[0].1.underline);
    }

    #[test]
    fn lists_hang_their_text_under_the_marker() {
        assert_eq!(
            lines(
                "- one two three four\n- five\n  - nested\n\n3. three\n4. four",
                14
            ),
            [
                "• one two",
                "  three four",
                "• five",
                "  ◦ nested",
                "",
                "3. three",
                "4. four",
            ]
        );
        assert_eq!(
            lines("- [x] done\n- [ ] todo", 40),
            ["• [x] done", "• [ ] todo"]
        );
        assert_eq!(lines("-\n- b", 40), ["•", "• b"]);
    }

    #[test]
    fn quotes_rules_and_links() {
        assert_eq!(
            lines("> quoted text here\n>\n> more", 12),
            ["│ quoted", "│ text here", "│", "│ more"]
        );
        assert_eq!(lines("a\n\n---\n\nb", 5), ["a", "", "─────", "", "b"]);
        assert_eq!(
            lines("See [the docs](https://x.io/d) or <https://y.io>.", 80),
            ["See the docs (https://x.io/d) or https://y.io."]
        );
        assert_eq!(lines("![a cat](cat.png)", 80), ["[image: a cat] (cat.png)"]);
    }

    #[test]
    fn tables_align_columns_and_shrink_to_fit() {
        let table = "| Name | Qty |\n|:-----|----:|\n| apple | 3 |\n| kiwi | 12 |";
        assert_eq!(
            lines(table, 40),
            ["Name  │ Qty", "──────┼────", "apple │   3", "kiwi  │  12"]
        );
        let wide = "| a | b |\n|---|---|\n| one two three | x |";
        assert_eq!(
            lines(wide, 11),
            ["a       │ b", "────────┼──", "one two │ x", "three   │"]
        );
    }

    #[test]
    fn nested_code_blocks_keep_their_lines_and_html_shows_as_text() {
        assert_eq!(
            lines("1. step\n\n        let x = 1;\n        let y = 2;\n", 40),
            ["1. step", "", "      let x = 1;", "      let y = 2;"]
        );
        assert_eq!(lines("a <b>bold</b> c", 40), ["a <b>bold</b> c"]);
    }

    #[test]
    fn control_characters_in_markdown_are_shown_not_sent() {
        assert_eq!(
            lines("**\u{1b}]0;pwned\u{7}**", 40),
            ["\u{241b}]0;pwned\u{2407}"]
        );
    }

    #[test]
    fn fit_columns_shares_the_room() {
        assert_eq!(fit_columns(&[3, 4], 10), [3, 4]);
        assert_eq!(fit_columns(&[2, 20, 30], 20), [2, 9, 9]);
        assert_eq!(fit_columns(&[10, 10], 3), [2, 1]);
    }
}
