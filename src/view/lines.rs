//! Walking the complete lines of a text that only grows (a streaming reply).
//!
//! The code block scanner and the Markdown layout both consume a reply one complete
//! line at a time as deltas arrive. Each remembers how far it has looked for a line
//! break, so a line that never ends is searched once in total rather than once per
//! delta (which would make an endless line quadratic).

use std::ops::Range;

/// How far a growing text has been consumed as complete lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCursor {
    /// Bytes of complete lines consumed.
    consumed: usize,
    /// The text from `consumed` up to here holds no line break.
    no_break_until: usize,
}

impl LineCursor {
    /// Where the line still arriving starts.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// The next complete line of `text` (without its line break), consumed.
    pub fn next_line(&mut self, text: &str) -> Option<Range<usize>> {
        let from = self
            .no_break_until
            .clamp(self.consumed, text.len().max(self.consumed));
        let Some(nl) = text.get(from..).and_then(|rest| rest.find('\n')) else {
            self.no_break_until = text.len();
            return None;
        };
        let line = self.consumed..from + nl;
        self.consumed = from + nl + 1;
        Some(line)
    }

    /// The last line of `text`, which has no line break (yet), consumed as complete.
    pub fn rest(&mut self, text: &str) -> Option<Range<usize>> {
        (self.consumed < text.len()).then(|| {
            let line = self.consumed..text.len();
            self.consumed = text.len();
            self.no_break_until = text.len();
            line
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn all_lines(cursor: &mut LineCursor, text: &str) -> Vec<String> {
        std::iter::from_fn(|| cursor.next_line(text))
            .map(|r| text[r].to_owned())
            .collect()
    }

    #[test]
    fn gives_each_complete_line_once_as_the_text_grows() {
        let mut cursor = LineCursor::default();
        assert_eq!(all_lines(&mut cursor, "one\ntw"), ["one"]);
        assert_eq!(cursor.consumed(), 4);
        assert_eq!(all_lines(&mut cursor, "one\ntwo"), Vec::<String>::new());
        assert_eq!(all_lines(&mut cursor, "one\ntwo\n\nthree"), ["two", ""]);
        assert_eq!(cursor.rest("one\ntwo\n\nthree").map(|r| r.start), Some(9));
        assert_eq!(cursor.rest("one\ntwo\n\nthree"), None);
    }
}
