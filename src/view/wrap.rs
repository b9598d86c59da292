//! Word wrap by display width, and the safe display form of untrusted text.
//!
//! Owns the two text rules of design §5: every grapheme takes its true terminal width
//! (CJK and emoji two columns, combining marks none), and nothing from a model reaches
//! the terminal as a control character. Rows are byte ranges into the original text, so
//! the text itself stays verbatim (it is saved and exported as sent) and only the drawn
//! form is sanitized. Greedy wrapping makes appends cheap: text added at the end can
//! only change the last row, so [`WrappedText::append`] re-wraps from that row's start.

use std::borrow::Cow;
use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Columns a tab expands to. Tabs are drawn as this many spaces wherever they fall, so a
/// row's width never depends on where it starts.
pub const TAB_WIDTH: usize = 4;

/// The display form of one grapheme: control characters become visible symbols (the
/// Unicode "control pictures"), a tab becomes spaces, anything else is itself.
pub fn display_grapheme(g: &str) -> Cow<'_, str> {
    let mut chars = g.chars();
    let Some(first) = chars.next() else {
        return Cow::Borrowed(g);
    };
    if first == '\t' {
        return Cow::Borrowed(&"        "[..TAB_WIDTH]);
    }
    if !g.chars().any(is_unsafe) {
        return Cow::Borrowed(g);
    }
    Cow::Owned(g.chars().map(visible_char).collect())
}

/// Display width of one grapheme in its display form.
pub fn grapheme_width(g: &str) -> usize {
    if g == "\t" {
        TAB_WIDTH
    } else if g.chars().any(is_unsafe) {
        g.chars().count()
    } else {
        UnicodeWidthStr::width(g)
    }
}

/// Display width of a whole string (no newlines expected).
pub fn display_width(s: &str) -> usize {
    s.graphemes(true).map(grapheme_width).sum()
}

/// Display width of `s`, measured only until it reaches `limit`: the cost is bounded
/// by the limit, not by the length of `s`.
pub fn display_width_upto(s: &str, limit: usize) -> usize {
    let mut width = 0;
    for g in s.graphemes(true) {
        if width >= limit {
            break;
        }
        width += grapheme_width(g);
    }
    width
}

/// Replaces every control character except newline with a visible symbol, and tabs with
/// spaces: the form in which model text may be drawn or printed to a terminal.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c == '\t' || (c != '\n' && is_unsafe(c)))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str(&"        "[..TAB_WIDTH]),
            c => out.push(visible_char(c)),
        }
    }
    Cow::Owned(out)
}

/// The form in which the command line prints untrusted text to a terminal: the same
/// symbols as [`sanitize`] for every control character, but a tab, a newline and a
/// `\r\n` line end stay as they are, because a terminal lays those out without side
/// effects (and `tinychat list` separates its columns with tabs). A lone `\r`, which
/// would let text overwrite what was printed before it, is shown as `␍`.
pub fn sanitize_for_print(text: &str) -> Cow<'_, str> {
    let harmless = |(i, c): (usize, char)| match c {
        '\n' | '\t' => true,
        '\r' => text[i + 1..].starts_with('\n'),
        c => !is_unsafe(c),
    };
    if text.char_indices().all(harmless) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        out.push(if harmless((i, c)) { c } else { visible_char(c) });
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn visible_char(c: char) -> char {
    match c {
        // C0 controls map onto U+2400..U+241F, DEL onto U+2421.
        '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if is_unsafe(c) => '\u{fffd}',
        c => c,
    }
}

/// A text wrapped to a width: the byte range of every row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WrappedText {
    width: usize,
    rows: Vec<Range<usize>>,
}

impl WrappedText {
    /// Wraps all of `text` to `width` columns (at least 1).
    pub fn new(text: &str, width: usize) -> Self {
        let mut w = WrappedText {
            width: width.max(1),
            rows: Vec::new(),
        };
        w.wrap_from(text, 0);
        w
    }

    /// Re-wraps after `text` grew at its end (the old text must be a prefix of it).
    /// Only the last row and the new ones are touched: O(appended + width).
    pub fn append(&mut self, text: &str) {
        let start = self.rows.pop().map_or(0, |r| r.start);
        self.wrap_from(text, start);
    }

    /// Follows `text` after it changed: appended to when it only grew at its end (as
    /// far as the rows can tell), wrapped again otherwise. Returns whether it was
    /// wrapped again from the start.
    pub fn follow(&mut self, text: &str) -> bool {
        if text.len() >= self.rows.last().map_or(0, |r| r.end) {
            self.append(text);
            false
        } else {
            *self = WrappedText::new(text, self.width);
            true
        }
    }

    pub fn rows(&self) -> &[Range<usize>] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Wraps `text[start..]`, where `start` is the start of a row, pushing rows.
    fn wrap_from(&mut self, text: &str, start: usize) {
        let width = self.width;
        let mut row_start = start;
        let mut row_width = 0usize;
        // Byte offset where the row could break (start of a word after spaces).
        let mut break_at: Option<usize> = None;
        // Width of the row up to `break_at`.
        let mut width_at_break = 0usize;
        let mut prev_space = false;
        for (offset, g) in text[start..].grapheme_indices(true) {
            let pos = start + offset;
            if g == "\n" || g == "\r\n" {
                self.rows.push(row_start..pos);
                row_start = pos + g.len();
                row_width = 0;
                break_at = None;
                prev_space = false;
                continue;
            }
            let is_space = g == " " || g == "\t";
            if prev_space && !is_space && pos > row_start {
                break_at = Some(pos);
                width_at_break = row_width;
            }
            prev_space = is_space;
            let gw = grapheme_width(g);
            // Spaces may hang past the edge (they are clipped when drawn): a row never
            // starts with the space that ended the previous one.
            if !is_space && row_width + gw > width && pos > row_start {
                match break_at {
                    Some(b) if b > row_start => {
                        self.rows.push(row_start..b);
                        row_start = b;
                        row_width -= width_at_break;
                    }
                    _ => {
                        self.rows.push(row_start..pos);
                        row_start = pos;
                        row_width = 0;
                    }
                }
                break_at = None;
            }
            row_width += gw;
        }
        self.rows.push(row_start..text.len());
    }
}

/// The display form of one row, clipped to `width` columns.
pub fn row_text(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut used = 0;
    for g in text.graphemes(true) {
        if g == "\n" || g == "\r\n" {
            continue;
        }
        let gw = grapheme_width(g);
        if used + gw > width {
            break;
        }
        used += gw;
        out.push_str(&display_grapheme(g));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn lines(text: &str, width: usize) -> Vec<String> {
        WrappedText::new(text, width)
            .rows()
            .iter()
            .map(|r| row_text(&text[r.clone()], width).trim_end().to_owned())
            .collect()
    }

    #[test]
    fn wraps_on_word_boundaries() {
        assert_eq!(
            lines("the quick brown fox jumps", 10),
            ["the quick", "brown fox", "jumps"]
        );
    }

    #[test]
    fn long_word_is_cut_at_the_width() {
        assert_eq!(lines("abcdefghij klm", 4), ["abcd", "efgh", "ij", "klm"]);
    }

    #[test]
    fn newlines_are_hard_breaks_and_empty_lines_stay() {
        assert_eq!(lines("a\n\nb\n", 10), ["a", "", "b", ""]);
        assert_eq!(lines("", 10), [""]);
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(lines("日本語のテキスト", 6), ["日本語", "のテキ", "スト"]);
        assert_eq!(display_width("a😀b"), 4);
        assert_eq!(display_width("e\u{301}"), 1);
    }

    #[test]
    fn control_characters_become_visible_and_escapes_never_pass() {
        assert_eq!(sanitize("a\x1b[2Jb\x07\n"), "a\u{241b}[2Jb\u{2407}\n");
        assert_eq!(sanitize("\x1b]0;title\x07"), "\u{241b}]0;title\u{2407}");
        assert_eq!(row_text("x\ty\u{9b}z", 20), "x    y\u{fffd}z");
        assert_eq!(sanitize("plain"), "plain");
    }

    #[test]
    fn printing_keeps_tabs_and_line_ends_and_shows_every_other_control() {
        assert_eq!(
            sanitize_for_print("a\tb\r\nc\n\x1b]52;c;aGk=\x07\x1b[2J\rd\u{9b}1m\u{202e}"),
            "a\tb\r\nc\n\u{241b}]52;c;aGk=\u{2407}\u{241b}[2J\u{240d}d\u{fffd}1m\u{fffd}"
        );
        assert!(matches!(
            sanitize_for_print("plain\tline\r\n"),
            Cow::Borrowed(_)
        ));
        assert_eq!(sanitize_for_print("ends in \r"), "ends in \u{240d}");
    }

    #[test]
    fn appending_matches_wrapping_from_scratch() {
        let text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit,\nsed do eiusmod tempor incididunt ut labore 日本語 et dolore magna aliqua. Ut enim ad minim veniam";
        for width in [1, 3, 7, 12, 40] {
            let mut w = WrappedText::new("", width);
            let mut end = 0;
            for (i, _) in text.char_indices().skip(1) {
                if i % 3 == 0 {
                    w.append(&text[..i]);
                    end = i;
                }
            }
            let _ = end;
            w.append(text);
            assert_eq!(w, WrappedText::new(text, width), "width {width}");
        }
    }
}
