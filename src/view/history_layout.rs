//! Where every row of the conversation is, at the current width (design §5).
//!
//! Each message is laid out as a header row, its body, footer rows (how a reply ended,
//! in words) and one blank separator. A prefix sum of row counts gives the first row of
//! every message, so finding the first visible row is a binary search and a frame costs
//! O(log n + visible rows) however long the conversation is. The user's messages are
//! plain text wrapped as byte ranges, and appending re-wraps only the last row; replies
//! are Markdown laid out block by block (`message_body.rs`), where only the open block
//! is laid out again. Either way a delta moves only the last prefix-sum entry. Each
//! body also knows its code block labels for the header, so drawing never parses a
//! message.

use crate::conversation::{Finish, Message, Role};

use super::code_blocks::code_blocks;
use super::highlight::CodeTheme;
use super::message_body::MarkdownBody;
use super::wrap::{WrappedText, sanitize};

/// A message's body rows: plain wrapped text (what the user typed, shown as typed) or
/// Markdown (replies).
#[derive(Debug)]
pub enum Body {
    Plain {
        /// Byte ranges of the message content, sanitized when drawn.
        rows: WrappedText,
        /// The language of each fenced code block, sanitized.
        code_labels: Vec<String>,
    },
    Markdown(Box<MarkdownBody>),
}

impl Body {
    fn new(message: &Message, width: usize, theme: CodeTheme) -> Body {
        match message.role {
            Role::User => Body::Plain {
                rows: WrappedText::new(&message.content, width),
                code_labels: plain_code_labels(&message.content),
            },
            Role::Assistant => Body::Markdown(Box::new(MarkdownBody::new(
                &message.content,
                width,
                theme,
                !message.is_streaming(),
            ))),
        }
    }

    /// Rows of the body.
    pub fn len(&self) -> usize {
        match self {
            Body::Plain { rows, .. } => rows.len(),
            Body::Markdown(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The language of each code block, in the order the `1`…`9` keys number them
    /// ("" where the fence names none): the header shows them as `code [1] rust [2]`.
    pub fn code_labels(&self) -> &[String] {
        match self {
            Body::Plain { code_labels, .. } => code_labels,
            Body::Markdown(m) => m.code_labels(),
        }
    }
}

/// The code block labels of a text shown as typed (the user's messages do not stream,
/// so they are scanned whole).
fn plain_code_labels(text: &str) -> Vec<String> {
    code_blocks(text)
        .iter()
        .map(|b| sanitize(&b.language).into_owned())
        .collect()
}

/// How to continue a reply cut off at the token limit, shown under it while it is the
/// last message (the one an empty Enter continues) and in the status line.
pub const CONTINUE_HINT: &str = "Enter on an empty input continues";

/// What a footer row says, for styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FooterKind {
    /// The reply failed (error or incomplete).
    Error,
    /// A neutral note (stopped, cut off at the token limit).
    Note,
}

/// One message's rows at the layout width.
#[derive(Debug)]
pub struct MessageLayout {
    pub body: Body,
    /// Whether the body is shown at all (an empty finished reply shows only its footer).
    pub show_body: bool,
    /// Footer text, already sanitized and wrapped.
    pub footer: Vec<String>,
    pub footer_kind: FooterKind,
    /// The reply was cut off at the token limit: its footer shows [`CONTINUE_HINT`]
    /// only while it is the last message, so it changes when a message follows.
    cut_off: bool,
}

impl MessageLayout {
    fn new(message: &Message, width: usize, theme: CodeTheme, last: bool) -> Self {
        let mut layout = MessageLayout {
            body: Body::new(message, width, theme),
            show_body: true,
            footer: Vec::new(),
            footer_kind: FooterKind::Note,
            cut_off: false,
        };
        layout.refresh_footer(message, width, last);
        layout
    }

    /// The header's code block labels.
    pub fn code_labels(&self) -> &[String] {
        self.body.code_labels()
    }

    /// `last`: whether `message` is the conversation's last one (see [`CONTINUE_HINT`]).
    fn refresh_footer(&mut self, message: &Message, width: usize, last: bool) {
        self.show_body = !(message.content.is_empty() && message.finish.is_some());
        self.cut_off = message.finish == Some(Finish::Length);
        let (kind, text) = match message.finish {
            None | Some(Finish::Stop) => (FooterKind::Note, None),
            Some(Finish::Length) => (FooterKind::Note, Some(cut_off_footer(last))),
            Some(Finish::Cancelled) => (FooterKind::Note, Some("■ stopped".to_owned())),
            Some(f @ (Finish::Error | Finish::Incomplete)) => (
                FooterKind::Error,
                Some(match &message.error {
                    Some(e) if f == Finish::Error => format!("✗ {e}"),
                    Some(e) => format!("⚠ incomplete: {e}"),
                    None => format!("✗ {}", f.label()),
                }),
            ),
        };
        self.footer_kind = kind;
        self.footer = text.map_or_else(Vec::new, |t| wrap_footer(&t, width));
    }

    /// Another message now follows (or no longer follows) this one: only a cut-off
    /// reply's footer depends on that, and needs no more than this to be redrawn.
    fn set_last(&mut self, last: bool, width: usize) {
        if self.cut_off {
            self.footer = wrap_footer(&cut_off_footer(last), width);
        }
    }

    /// Header + body + footer + blank separator.
    pub fn height(&self) -> usize {
        1 + self.body_rows() + self.footer.len() + 1
    }

    pub fn body_rows(&self) -> usize {
        if self.show_body { self.body.len() } else { 0 }
    }
}

/// The footer of a reply cut off at the token limit; the last one says how to continue.
fn cut_off_footer(last: bool) -> String {
    let label = Finish::Length.label();
    if last {
        format!("⚠ {label} · {CONTINUE_HINT}")
    } else {
        format!("⚠ {label}")
    }
}

/// Footer text sanitized and wrapped at `width`, one string per row.
fn wrap_footer(text: &str, width: usize) -> Vec<String> {
    let t = sanitize(text).into_owned();
    WrappedText::new(&t, width)
        .rows()
        .iter()
        .map(|r| t[r.clone()].trim_end().to_owned())
        .collect()
}

/// What a row of the history is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Header,
    /// Body row `n` of the message.
    Body(usize),
    /// Footer row `n`.
    Footer(usize),
    Blank,
}

/// The whole history's rows.
#[derive(Debug, Default)]
pub struct HistoryLayout {
    width: usize,
    theme: CodeTheme,
    messages: Vec<MessageLayout>,
    /// `starts[i]` is the first row of message `i`; one extra entry holds the total.
    starts: Vec<usize>,
}

impl HistoryLayout {
    /// Lays out every message at `width` columns, highlighting code for `theme`.
    pub fn new<'a>(
        messages: impl IntoIterator<Item = &'a Message>,
        width: usize,
        theme: CodeTheme,
    ) -> Self {
        let mut layout = HistoryLayout {
            width: width.max(1),
            theme,
            messages: Vec::new(),
            starts: vec![0],
        };
        for m in messages {
            layout.push(m);
        }
        layout
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn code_theme(&self) -> CodeTheme {
        self.theme
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Adds a message at the end.
    pub fn push(&mut self, message: &Message) {
        self.mark_last(false);
        let m = MessageLayout::new(message, self.width, self.theme, true);
        let end = self.total_rows() + m.height();
        self.messages.push(m);
        self.starts.push(end);
    }

    /// Removes the last message (regenerate replaces the last reply).
    pub fn pop(&mut self) {
        if self.messages.pop().is_some() {
            self.starts.pop();
            self.mark_last(true);
        }
    }

    /// Tells the current last message whether it is still the last one, and moves the
    /// end of the history by the change in its footer's rows.
    fn mark_last(&mut self, last: bool) {
        let width = self.width;
        let n = self.messages.len();
        if let Some(m) = self.messages.last_mut() {
            m.set_last(last, width);
            self.starts[n] = self.starts[n - 1] + m.height();
        }
    }

    /// Updates the last message after its text grew or its ending changed.
    pub fn refresh_last(&mut self, message: &Message) {
        let width = self.width;
        let Some(last) = self.messages.last_mut() else {
            return;
        };
        match &mut last.body {
            Body::Plain { rows, code_labels } => {
                if message.content.len() >= rows.rows().last().map_or(0, |r| r.end) {
                    rows.append(&message.content);
                } else {
                    *rows = WrappedText::new(&message.content, width);
                }
                *code_labels = plain_code_labels(&message.content);
            }
            Body::Markdown(body) => body.update(&message.content, !message.is_streaming()),
        }
        last.refresh_footer(message, width, true);
        let n = self.messages.len();
        self.starts[n] = self.starts[n - 1] + self.messages[n - 1].height();
    }

    /// Total rows of the history.
    pub fn total_rows(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// The first row of message `index`.
    pub fn start_of(&self, index: usize) -> usize {
        self.starts
            .get(index)
            .copied()
            .unwrap_or_else(|| self.total_rows())
    }

    pub fn message(&self, index: usize) -> Option<&MessageLayout> {
        self.messages.get(index)
    }

    /// The message holding absolute `row` and the row within it (binary search).
    pub fn locate(&self, row: usize) -> Option<(usize, usize)> {
        if row >= self.total_rows() {
            return None;
        }
        let index = self.starts.partition_point(|&s| s <= row) - 1;
        Some((index, row - self.starts[index]))
    }

    /// What row `row_in_message` of message `index` shows.
    pub fn row_kind(&self, index: usize, row_in_message: usize) -> RowKind {
        let Some(m) = self.messages.get(index) else {
            return RowKind::Blank;
        };
        let body = m.body_rows();
        match row_in_message {
            0 => RowKind::Header,
            r if r <= body => RowKind::Body(r - 1),
            r if r <= body + m.footer.len() => RowKind::Footer(r - 1 - body),
            _ => RowKind::Blank,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Message;
    use pretty_assertions::assert_eq;

    /// Everything a frame reads from a layout, for comparing two layouts.
    fn dump(layout: &HistoryLayout) -> Vec<String> {
        let mut out = vec![format!("rows {}", layout.total_rows())];
        for m in &layout.messages {
            out.push(format!(
                "labels {:?} footer {:?}",
                m.code_labels(),
                m.footer
            ));
            match &m.body {
                Body::Plain { rows, .. } => out.push(format!("{:?}", rows.rows())),
                Body::Markdown(b) => {
                    out.extend((0..b.len()).map(|i| format!("{:?}", b.row(i).collect::<Vec<_>>())));
                }
            }
        }
        out
    }

    fn assert_same(a: &HistoryLayout, b: &HistoryLayout) {
        assert_eq!(dump(a), dump(b));
    }

    #[test]
    fn rows_are_header_body_footer_blank_and_locate_finds_them() {
        let user = Message::user("hello there");
        let mut reply = Message::assistant_pending("p/m");
        reply.content = "partial".into();
        reply.finish = Some(Finish::Cancelled);
        let layout = HistoryLayout::new([&user, &reply], 20, CodeTheme::Plain);
        // user: header, 1 body, blank = 3; reply: header, body, "■ stopped", blank = 4
        assert_eq!(layout.total_rows(), 7);
        assert_eq!(layout.locate(0), Some((0, 0)));
        assert_eq!(layout.locate(3), Some((1, 0)));
        assert_eq!(layout.locate(6), Some((1, 3)));
        assert_eq!(layout.locate(7), None);
        assert_eq!(layout.row_kind(1, 1), RowKind::Body(0));
        assert_eq!(layout.row_kind(1, 2), RowKind::Footer(0));
        assert_eq!(layout.message(1).unwrap().footer, ["■ stopped"]);
        assert_eq!(layout.row_kind(1, 3), RowKind::Blank);
    }

    #[test]
    fn live_reply_grows_in_place() {
        let mut reply = Message::assistant_pending("p/m");
        let mut layout = HistoryLayout::new([&reply], 10, CodeTheme::Plain);
        assert_eq!(layout.total_rows(), 3);
        reply.content.push_str("one two three four");
        layout.refresh_last(&reply);
        assert_eq!(layout.total_rows(), 4);
        reply.finish = Some(Finish::Error);
        reply.error = Some("boom".into());
        layout.refresh_last(&reply);
        assert_eq!(layout.message(0).unwrap().footer, ["✗ boom"]);
        assert_same(&layout, &HistoryLayout::new([&reply], 10, CodeTheme::Plain));
    }

    #[test]
    fn code_block_labels_follow_the_streaming_reply() {
        let mut reply = Message::assistant_pending("p/m");
        let mut layout = HistoryLayout::new([&reply], 40, CodeTheme::Plain);
        for piece in [
            "Try:\n``",
            "`rust\nfn main() {}\n```\n",
            "~~~\nls\n~~~\n```s",
            "h\n",
        ] {
            reply.content.push_str(piece);
            layout.refresh_last(&reply);
        }
        assert_eq!(layout.message(0).unwrap().code_labels(), ["rust", "", "sh"]);
        assert_same(&layout, &HistoryLayout::new([&reply], 40, CodeTheme::Plain));
        // A language with control characters is shown harmlessly.
        let odd = Message::user("```a\u{1b}[2J\nx\n```");
        let layout = HistoryLayout::new([&odd], 40, CodeTheme::Plain);
        assert_eq!(layout.message(0).unwrap().code_labels(), ["a␛[2J"]);
    }

    #[test]
    fn only_a_cut_off_reply_that_is_last_says_how_to_continue() {
        let mut cut = Message::assistant_pending("p/m");
        cut.content = "long answer".into();
        cut.finish = Some(Finish::Length);
        let hint = "⚠ cut off at the token limit · Enter on an empty input continues";
        let mut layout = HistoryLayout::new([&cut], 80, CodeTheme::Plain);
        assert_eq!(layout.message(0).unwrap().footer, [hint]);
        assert_eq!(layout.total_rows(), 4);

        // Once a message follows, the old reply keeps only its mark.
        let next = Message::user("Continue exactly where you stopped.");
        layout.push(&next);
        assert_eq!(
            layout.message(0).unwrap().footer,
            ["⚠ cut off at the token limit"]
        );
        assert_same(
            &layout,
            &HistoryLayout::new([&cut, &next], 80, CodeTheme::Plain),
        );
        // Removing it makes the reply last again.
        layout.pop();
        assert_eq!(layout.message(0).unwrap().footer, [hint]);
        assert_same(&layout, &HistoryLayout::new([&cut], 80, CodeTheme::Plain));
    }

    #[test]
    fn the_rows_after_a_cut_off_reply_move_when_its_hint_goes() {
        // At 30 columns the hint wraps to three footer rows; without it, one.
        let mut cut = Message::assistant_pending("p/m");
        cut.content = "partial".into();
        cut.finish = Some(Finish::Length);
        let mut layout = HistoryLayout::new([&cut], 30, CodeTheme::Plain);
        assert_eq!(
            layout.message(0).unwrap().footer,
            [
                "⚠ cut off at the token limit ·",
                "Enter on an empty input",
                "continues"
            ]
        );
        assert_eq!(layout.total_rows(), 6);
        let next = Message::user("go on");
        layout.push(&next);
        // The reply: header, body, one footer row, blank = 4; then the user message.
        assert_eq!(layout.start_of(1), 4);
        assert_eq!(layout.total_rows(), 7);
        assert_eq!(layout.locate(4), Some((1, 0)));
        assert_eq!(layout.row_kind(0, 2), RowKind::Footer(0));
        assert_eq!(layout.row_kind(0, 3), RowKind::Blank);
    }

    #[test]
    fn empty_failed_reply_shows_only_its_error() {
        let mut reply = Message::assistant_pending("p/m");
        reply.finish = Some(Finish::Error);
        reply.error = Some("openai: HTTP 401: bad key".into());
        let layout = HistoryLayout::new([&reply], 80, CodeTheme::Plain);
        assert_eq!(layout.total_rows(), 3);
        assert_eq!(layout.row_kind(0, 1), RowKind::Footer(0));
    }
}
