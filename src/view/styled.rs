//! Styled rows: text already in its display form, with a theme-free look per piece.
//!
//! Markdown and highlighted code are laid out into these once (design §5), so drawing a
//! frame only copies visible rows into the buffer. A [`Look`] names what a piece *is*
//! (a heading, inline code, a code token of some colour); `ui::theme` alone decides how
//! that looks on this terminal, so the layout never depends on the palette.

use unicode_segmentation::UnicodeSegmentation;

use super::wrap::grapheme_width;

/// An RGB colour picked by the code highlighting theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// A highlighted code token's class: how each code theme draws it is looked up with
/// [`super::highlight::token_look`] when drawing, so the layout holds no colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenClass(pub u16);

/// What a piece of text is, for the theme to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Tone {
    /// Body text.
    #[default]
    Text,
    /// A heading, `level` 1…6.
    Heading(u8),
    /// `inline code`.
    InlineCode,
    /// Code in a block that has no highlighting (unknown language, or none).
    Code,
    /// A highlighted code token.
    Token(TokenClass),
    /// A link's text.
    Link,
    /// A link's address, shown after its text.
    Url,
    /// Block quote text and its bar.
    Quote,
    /// List bullets and numbers, table rules, task boxes.
    Marker,
    /// Horizontal rules and the line of a code block's label.
    Rule,
    /// A code block's `[N] language` label.
    Label,
}

/// A piece's look: its tone plus the attributes Markdown asks for.
// The attributes combine freely (bold italic struck-through link text), so they are
// four independent flags rather than one enum.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Look {
    pub tone: Tone,
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub underline: bool,
}

impl Look {
    pub const fn tone(tone: Tone) -> Look {
        Look {
            tone,
            bold: false,
            italic: false,
            strike: false,
            underline: false,
        }
    }
}

/// A run of text with one look. The text is in display form: no control characters,
/// no tabs, no line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub look: Look,
}

impl Piece {
    pub fn new(text: impl Into<String>, look: Look) -> Piece {
        Piece {
            text: text.into(),
            look,
        }
    }
}

/// One screen row.
pub type Row = Vec<Piece>;

/// Display width of a row.
pub fn row_width(row: &[Piece]) -> usize {
    row.iter().map(|p| text_width(&p.text)).sum()
}

fn text_width(text: &str) -> usize {
    text.graphemes(true).map(grapheme_width).sum()
}

/// Appends `text` with `look` to `row`, joining it to the last piece when they look
/// the same (fewer, longer pieces draw faster).
pub fn push_piece(row: &mut Row, text: &str, look: Look) {
    if text.is_empty() {
        return;
    }
    match row.last_mut() {
        Some(last) if last.look == look => last.text.push_str(text),
        _ => row.push(Piece::new(text, look)),
    }
}

/// Word-wraps one logical line of pieces to `width` columns, pushing rows onto `out`.
///
/// `first` is drawn before the first row and `rest` before every other (a list bullet
/// and its hanging indent, or a quote bar on each). Breaks fall at spaces, and the
/// spaces at a break are dropped, so no row starts with the space that ended the one
/// before; spaces anywhere else are kept (code indentation). A word wider than a row is
/// cut at the edge.
pub fn wrap_line(
    line: &[Piece],
    width: usize,
    first: &[Piece],
    rest: &[Piece],
    out: &mut Vec<Row>,
) {
    let indent = row_width(first);
    let mut wrapper = Wrapper {
        out,
        width: width.max(1),
        rest,
        rest_width: row_width(rest),
        row: first.to_vec(),
        used: indent,
        indent,
        wrapped: false,
        spaces: Vec::new(),
        spaces_width: 0,
        word: Vec::new(),
        word_width: 0,
    };
    for piece in line {
        for (is_space, run) in runs(&piece.text) {
            if is_space {
                wrapper.place_word();
                push_piece(&mut wrapper.spaces, run, piece.look);
                wrapper.spaces_width += run.len();
            } else {
                wrapper.word_run(run, piece.look);
            }
        }
    }
    wrapper.place_word();
    wrapper.finish();
}

/// Splits text into alternating runs of spaces and of anything else.
fn runs(text: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.as_bytes().first()?;
        let is_space = *first == b' ';
        let end = rest
            .bytes()
            .position(|b| (b == b' ') != is_space)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some((is_space, run))
    })
}

/// The state of one [`wrap_line`] call.
struct Wrapper<'a> {
    out: &'a mut Vec<Row>,
    width: usize,
    rest: &'a [Piece],
    rest_width: usize,
    row: Row,
    used: usize,
    /// Width of the prefix at the start of the current row.
    indent: usize,
    /// Whether the line has broken onto a second row yet.
    wrapped: bool,
    /// Spaces waiting between the row and the next word.
    spaces: Row,
    spaces_width: usize,
    word: Row,
    word_width: usize,
}

impl Wrapper<'_> {
    /// Adds a run of word characters: whole when it fits on a row (ASCII is measured
    /// by its length), else grapheme by grapheme so it can be cut at the edge.
    fn word_run(&mut self, run: &str, look: Look) {
        let room = self.width.saturating_sub(self.rest_width).max(1);
        let width = if run.is_ascii() {
            run.len()
        } else {
            text_width(run)
        };
        if self.word_width + width <= room {
            push_piece(&mut self.word, run, look);
            self.word_width += width;
        } else {
            for g in run.graphemes(true) {
                self.word_grapheme(g, look);
            }
        }
    }

    fn word_grapheme(&mut self, g: &str, look: Look) {
        let gw = grapheme_width(g);
        // A word that cannot fit on a row of its own is cut at the edge.
        let room = self.width.saturating_sub(self.rest_width).max(1);
        if self.word_width > 0 && self.word_width + gw > room {
            self.place_word();
        }
        push_piece(&mut self.word, g, look);
        self.word_width += gw;
    }

    /// Puts the waiting spaces and word on the row, or on a new row when they do not fit.
    fn place_word(&mut self) {
        if self.word_width == 0 {
            return;
        }
        let mid_row = self.used > self.indent;
        // Spaces before the line's first word are indentation the text asked for.
        let leading = !mid_row && !self.wrapped;
        if mid_row || leading {
            if self.used + self.spaces_width + self.word_width <= self.width || leading {
                self.push_spaces();
            } else {
                self.new_row();
            }
        }
        self.spaces.clear();
        self.spaces_width = 0;
        if self.used > self.indent && self.used + self.word_width > self.width {
            self.new_row();
        }
        for p in self.word.drain(..) {
            push_piece(&mut self.row, &p.text, p.look);
        }
        self.used += self.word_width;
        self.word_width = 0;
    }

    fn new_row(&mut self) {
        let row = std::mem::replace(&mut self.row, self.rest.to_vec());
        self.out.push(row);
        self.used = self.rest_width;
        self.indent = self.rest_width;
        self.wrapped = true;
    }

    /// Moves the waiting spaces onto the row, as many as fit.
    fn push_spaces(&mut self) {
        let mut left = self.spaces_width.min(self.width.saturating_sub(self.used));
        self.used += left;
        for s in &self.spaces {
            let take = s.text.len().min(left);
            push_piece(&mut self.row, &s.text[..take], s.look);
            left -= take;
        }
    }

    /// Trailing spaces are kept when they fit (code keeps its shape).
    fn finish(mut self) {
        self.push_spaces();
        self.out.push(std::mem::take(&mut self.row));
    }
}

/// Rows kept compactly: the text of every row in one string, each piece as its end
/// offset and look. A long reply's laid-out rows then cost about their text plus 12
/// bytes a piece, rather than two allocations a piece (resident size is a target).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RowStore {
    text: String,
    /// Each piece: where its text ends in `text`, and its look.
    pieces: Vec<(u32, Look)>,
    /// Each row: where its pieces end in `pieces`.
    rows: Vec<u32>,
}

impl RowStore {
    pub fn push(&mut self, row: &[Piece]) {
        for piece in row {
            self.text.push_str(&piece.text);
            self.pieces.push((offset(self.text.len()), piece.look));
        }
        self.rows.push(offset(self.pieces.len()));
    }

    pub fn extend(&mut self, rows: &[Row]) {
        for row in rows {
            self.push(row);
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Gives back the room kept for growth (a reply that is complete will not grow).
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.pieces.shrink_to_fit();
        self.rows.shrink_to_fit();
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.pieces.clear();
        self.rows.clear();
    }

    /// The pieces of row `i` (none past the end).
    pub fn row(&self, i: usize) -> impl Iterator<Item = (&str, Look)> + '_ {
        let (first, end) = match self.rows.get(i) {
            Some(&end) => (i.checked_sub(1).map_or(0, |p| self.rows[p]), end),
            None => (0, 0),
        };
        (first as usize..end as usize).map(move |p| {
            let start = p.checked_sub(1).map_or(0, |q| self.pieces[q].0) as usize;
            let (end, look) = self.pieces[p];
            (&self.text[start..end as usize], look)
        })
    }
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn text(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| r.iter().map(|p| p.text.as_str()).collect())
            .collect()
    }

    fn wrap(line: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
        let mut out = Vec::new();
        let plain = Look::default();
        wrap_line(
            &[Piece::new(line, plain)],
            width,
            &[Piece::new(first, plain)],
            &[Piece::new(rest, plain)],
            &mut out,
        );
        text(&out)
    }

    #[test]
    fn wraps_at_spaces_and_hangs_under_the_prefix() {
        assert_eq!(
            wrap("one two three four", 10, "• ", "  "),
            ["• one two", "  three", "  four"]
        );
        assert_eq!(
            wrap("abcdefghij", 6, "> ", "> "),
            ["> abcd", "> efgh", "> ij"]
        );
        assert_eq!(
            wrap("日本語テキスト", 7, "", ""),
            ["日本語", "テキス", "ト"]
        );
    }

    #[test]
    fn indentation_and_inner_spaces_are_kept_but_not_at_breaks() {
        assert_eq!(wrap("    let  x = 1;", 40, "", ""), ["    let  x = 1;"]);
        assert_eq!(wrap("aaa bbb", 4, "", ""), ["aaa", "bbb"]);
        assert_eq!(wrap("", 4, "• ", "  "), ["• "]);
    }

    #[test]
    fn styles_survive_wrapping_and_adjacent_equal_looks_merge() {
        let bold = Look {
            bold: true,
            ..Look::default()
        };
        let line = [
            Piece::new("plain ", Look::default()),
            Piece::new("bold words", bold),
        ];
        let mut out = Vec::new();
        wrap_line(&line, 11, &[], &[], &mut out);
        assert_eq!(
            out,
            [
                vec![
                    Piece::new("plain ", Look::default()),
                    Piece::new("bold", bold)
                ],
                vec![Piece::new("words", bold)],
            ]
        );
    }

    #[test]
    fn the_store_gives_back_the_rows_it_was_given() {
        let mut store = RowStore::default();
        let rows = vec![
            vec![
                Piece::new("a", Look::default()),
                Piece::new("bc", Look::tone(Tone::Code)),
            ],
            Vec::new(),
            vec![Piece::new("d", Look::tone(Tone::Rule))],
        ];
        store.extend(&rows);
        assert_eq!(store.len(), 3);
        for (i, row) in rows.iter().enumerate() {
            let back: Vec<Piece> = store.row(i).map(|(t, l)| Piece::new(t, l)).collect();
            assert_eq!(&back, row);
        }
        assert_eq!(store.row(3).count(), 0);
        store.clear();
        assert!(store.is_empty());
    }
}
