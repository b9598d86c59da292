//! Fenced code blocks of a message: where they are and what language they say.
//!
//! Owns the CommonMark-style fence rules tinychat uses to number code blocks (on the
//! header row, and for the `1`…`9` copy keys): a fence is a line of at least three
//! backticks or tildes indented by at most three spaces; a backtick fence's info string
//! holds no backtick; the block ends at a line of the same character, at least as long,
//! with nothing after it but blanks; an unclosed block runs to the end of the message.
//! Pure text in, byte ranges out: no styling, no I/O. The Markdown layout of a reply
//! (`message_body.rs`) applies the same rules line by line as the reply streams, through
//! [`opening`] and [`fence`], so the numbers on screen are the ones the keys copy.

use std::borrow::Cow;
use std::ops::Range;

use super::lines::LineCursor;

/// One fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The first word of the fence's info string ("" when there is none).
    pub language: String,
    /// The lines between the fences, as bytes of the message, without the line break
    /// that ends the last one (pasting into a shell must not run the last line).
    pub content: Range<usize>,
    /// Spaces before the opening fence; CommonMark removes as many from each line.
    pub indent: usize,
}

impl CodeBlock {
    /// The block's text as a reader sees it: its lines, less the fence's indentation.
    pub fn text<'a>(&self, source: &'a str) -> Cow<'a, str> {
        let raw = source.get(self.content.clone()).unwrap_or_default();
        if self.indent == 0 {
            return Cow::Borrowed(raw);
        }
        let lines: Vec<&str> = raw
            .split('\n')
            .map(|line| {
                let spaces = line.bytes().take_while(|&b| b == b' ').count();
                &line[spaces.min(self.indent)..]
            })
            .collect();
        Cow::Owned(lines.join("\n"))
    }
}

/// Every fenced code block of `text`, in order.
pub fn code_blocks(text: &str) -> Vec<CodeBlock> {
    let mut scanner = FenceScanner::default();
    scanner.feed(text);
    scanner.finish(text)
}

/// An opening fence not closed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenFence {
    mark: u8,
    len: usize,
    indent: usize,
    language: String,
    content_start: usize,
}

/// Scans a text one complete line at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FenceScanner {
    /// How far the text has been scanned, line by line.
    lines: LineCursor,
    open: Option<OpenFence>,
    closed: Vec<CodeBlock>,
}

impl FenceScanner {
    /// Scans the complete lines of `text`.
    fn feed(&mut self, text: &str) {
        while let Some(line) = self.lines.next_line(text) {
            let next = line.end + 1;
            self.line(text, line, next);
        }
    }

    /// Applies the line `range` of `text`; `next` is where the line after it starts.
    fn line(&mut self, text: &str, range: Range<usize>, next: usize) {
        let start = range.start;
        let line = text.get(range).unwrap_or_default();
        let line = line.strip_suffix('\r').unwrap_or(line);
        match &self.open {
            None => {
                if let Some(fence) = opening(line) {
                    self.open = Some(OpenFence {
                        mark: fence.mark,
                        len: fence.len,
                        indent: fence.indent,
                        language: first_word(fence.info).to_owned(),
                        content_start: next,
                    });
                }
            }
            Some(open) => {
                let closes = fence(line)
                    .is_some_and(|f| f.mark == open.mark && f.len >= open.len && f.info.is_empty());
                if closes {
                    let content = open.content_start..content_end(text, open.content_start, start);
                    self.close(content);
                }
            }
        }
    }

    fn close(&mut self, content: Range<usize>) {
        if let Some(open) = self.open.take() {
            self.closed.push(CodeBlock {
                language: open.language,
                content,
                indent: open.indent,
            });
        }
    }

    /// Every block of `text`: the last line counts even without its line break, and a
    /// block still open runs to the end.
    fn finish(mut self, text: &str) -> Vec<CodeBlock> {
        if let Some(last) = self.lines.rest(text) {
            self.line(text, last, text.len());
        }
        if let Some(open) = &self.open {
            let start = open.content_start.min(text.len());
            let end = content_end(text, start, text.len()).max(start);
            self.close(start..end);
        }
        self.closed
    }
}

/// A fence line's parts.
pub(crate) struct Fence<'a> {
    pub mark: u8,
    pub len: usize,
    pub indent: usize,
    /// What follows the fence characters, trimmed.
    pub info: &'a str,
}

pub(crate) fn fence(line: &str) -> Option<Fence<'_>> {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let mark = *rest.as_bytes().first()?;
    if mark != b'`' && mark != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == mark).count();
    if len < 3 {
        return None;
    }
    Some(Fence {
        mark,
        len,
        indent,
        info: rest[len..].trim(),
    })
}

/// A fence that can open a block: a backtick fence's info string holds no backtick
/// (so inline code like ```` ```a`b ```` is not one).
pub(crate) fn opening(line: &str) -> Option<Fence<'_>> {
    fence(line).filter(|f| f.mark == b'~' || !f.info.contains('`'))
}

pub(crate) fn first_word(info: &str) -> &str {
    info.split_whitespace().next().unwrap_or_default()
}

/// Where content starting at `start` ends when the next thing begins at `next`: before
/// the line break (and its carriage return) that precedes `next`.
fn content_end(text: &str, start: usize, next: usize) -> usize {
    let before = text.get(start..next).unwrap_or_default();
    let trimmed = before.strip_suffix('\n').unwrap_or(before);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    start + trimmed.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// (language, text) of every block.
    fn blocks(text: &str) -> Vec<(String, String)> {
        code_blocks(text)
            .iter()
            .map(|b| (b.language.clone(), b.text(text).into_owned()))
            .collect()
    }

    fn pair(language: &str, text: &str) -> (String, String) {
        (language.to_owned(), text.to_owned())
    }

    #[test]
    fn backtick_and_tilde_fences_with_and_without_a_language() {
        let text = "Intro\n```rust\nfn main() {}\nlet x = 1;\n```\nmiddle\n~~~\necho hi\n~~~\n```sh  extra words\nls\n```";
        assert_eq!(
            blocks(text),
            [
                pair("rust", "fn main() {}\nlet x = 1;"),
                pair("", "echo hi"),
                pair("sh", "ls"),
            ]
        );
        let first = &code_blocks(text)[0];
        assert_eq!(&text[first.content.clone()], "fn main() {}\nlet x = 1;");
    }

    #[test]
    fn an_unclosed_fence_runs_to_the_end() {
        assert_eq!(
            blocks("a\n```python\nprint(1)\n\nprint(2)\n"),
            [pair("python", "print(1)\n\nprint(2)")]
        );
        assert_eq!(blocks("```js"), [pair("js", "")]);
        assert_eq!(blocks("```\n"), [pair("", "")]);
    }

    #[test]
    fn a_closing_fence_needs_the_same_mark_and_at_least_its_length() {
        let text = "````md\n```rust\ninner\n```\n~~~\n````\nafter";
        assert_eq!(blocks(text), [pair("md", "```rust\ninner\n```\n~~~")]);
        // A closing fence may be longer; one with words after it is content.
        assert_eq!(
            blocks("```\na\n``` not closing\nb\n`````\nc"),
            [pair("", "a\n``` not closing\nb")]
        );
    }

    #[test]
    fn indented_text_is_not_a_fence_and_fence_indentation_is_removed() {
        assert_eq!(blocks("    ```\n    code\n    ```\n"), []);
        assert_eq!(blocks("\t```\ncode\n"), []);
        assert_eq!(
            blocks("  ```toml\n  a = 1\n    b = 2\nc = 3\n  ```"),
            [pair("toml", "a = 1\n  b = 2\nc = 3")]
        );
    }

    #[test]
    fn short_fences_inline_backticks_and_backticks_in_the_info_are_not_fences() {
        assert_eq!(blocks("``\nnot code\n``\nuse `x` here"), []);
        assert_eq!(blocks("``` a`b\ncode"), []);
        // ...so a bare fence after it opens a block rather than closing one.
        assert_eq!(blocks("``` a`b\ncode\n```\nmore"), [pair("", "more")]);
        // A tilde fence's info may hold backticks.
        assert_eq!(blocks("~~~ a`b\ncode\n~~~"), [pair("a`b", "code")]);
    }

    #[test]
    fn crlf_line_breaks_and_empty_blocks() {
        assert_eq!(
            blocks("```c\r\nint x;\r\n```\r\n```\n```\n"),
            [pair("c", "int x;"), pair("", "")]
        );
    }
}
