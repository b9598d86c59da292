//! Where every row of the conversation is, at the current width (design §5).
//!
//! Each message is laid out as a header row, its body, footer rows and one blank
//! separator (`message_layout.rs`). The heights sit in a Fenwick tree
//! (`row_index.rs`), so finding the first visible row and changing one message's height
//! are both O(log n), and a frame costs O(log n + visible rows) however long the
//! conversation is.
//!
//! Nothing is laid out ahead of need. A message's height is first an estimate from its
//! length (bytes ÷ width plus its line breaks), a few words per message. The messages on
//! screen are laid out at once (their rows are kept for drawing); the others are
//! measured in bounded batches ([`HistoryLayout::measure_batch`], driven by the runtime
//! while work is pending) whose rows are counted and dropped. So opening a long
//! conversation or resizing the terminal costs a screenful of layout before the next
//! frame, and memory holds rows only for what was shown. A short history (one batch's
//! worth) is laid out whole at once, so it never shows an estimate.
//!
//! Rows carry syntax classes rather than colours (`highlight.rs`): a dark ↔ light theme
//! change is a palette swap when drawing, never a re-layout.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::config::ShowThinking;
use crate::conversation::{Finish, Message};

use super::highlight::CodeTheme;
use super::message_layout::plain_code_labels;
pub use super::message_layout::{
    Body, CONTINUE_HINT, FooterKind, MessageLayout, THINKING_GUTTER, ThinkingRows, ThinkingView,
};
use super::row_index::RowIndex;

/// A background batch measures at most this many messages…
pub const BATCH_MESSAGES: usize = 128;
/// …or this much text, whichever comes first: 2–7 ms of layout on the machine the
/// README's figures come from (7 ms when every other message has highlighted code), so
/// a batch holds the loop well under a frame's time even when the machine is busy (one
/// message longer than this is still measured whole).
pub const BATCH_BYTES: usize = 32 * 1024;
/// Messages a batch looks at when most are measured already (laid out for the screen).
const BATCH_LOOKS: usize = 8 * BATCH_MESSAGES;

/// What an estimate of a message's height is made from, kept so a width change
/// estimates every message without reading it again.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    bytes: u32,
    /// Line breaks plus one.
    lines: u32,
    /// Bytes of the footer text (0: no footer).
    footer: u16,
    /// Cut off at the token limit: its footer changes when a message follows.
    cut_off: bool,
    /// Bytes of the thinking text.
    thinking_bytes: u32,
    /// Line breaks of the thinking plus one (0: no thinking).
    thinking_lines: u32,
}

impl Shape {
    fn of(message: &Message) -> Shape {
        let content = message.content.as_bytes();
        #[allow(
            clippy::naive_bytecount,
            reason = "one pass per message when a conversation is opened; the compiler vectorizes it"
        )]
        let breaks = content.iter().filter(|&&b| b == b'\n').count();
        let thinking = message.reasoning.as_deref().unwrap_or_default().as_bytes();
        #[allow(
            clippy::naive_bytecount,
            reason = "one pass per message when a conversation is opened"
        )]
        let thinking_breaks = thinking.iter().filter(|&&b| b == b'\n').count();
        let footer = match message.finish {
            None | Some(Finish::Stop) => 0,
            Some(_) => 16 + message.error.as_ref().map_or(0, String::len),
        };
        Shape {
            bytes: u32::try_from(content.len()).unwrap_or(u32::MAX),
            lines: u32::try_from(breaks + 1).unwrap_or(u32::MAX),
            footer: u16::try_from(footer).unwrap_or(u16::MAX),
            cut_off: message.finish == Some(Finish::Length),
            thinking_bytes: u32::try_from(thinking.len()).unwrap_or(u32::MAX),
            thinking_lines: if thinking.is_empty() {
                0
            } else {
                u32::try_from(thinking_breaks + 1).unwrap_or(u32::MAX)
            },
        }
    }

    /// Rows the message will probably take at `width`: header, body, footer, blank.
    /// Display width is taken as the byte count (exact for ASCII, high for CJK).
    fn estimate(self, width: usize, thinking: ThinkingView) -> usize {
        let body = self.lines as usize + self.bytes as usize / width;
        let footer = (self.footer as usize).div_ceil(width);
        let thinking = match thinking {
            ThinkingView::Hidden => 0,
            ThinkingView::Folded => 1,
            ThinkingView::Open => {
                let text_width = width.saturating_sub(THINKING_GUTTER).max(1);
                1 + self.thinking_lines as usize + self.thinking_bytes as usize / text_width
            }
        };
        1 + thinking + body.max(1) + footer + 1
    }
}

/// The whole history's rows.
#[derive(Debug, Default)]
pub struct HistoryLayout {
    width: usize,
    theme: CodeTheme,
    /// The messages laid out at `width` (rows kept for drawing); `None` for the rest.
    laid_out: Vec<Option<Box<MessageLayout>>>,
    laid_out_count: usize,
    /// Whether each message's height in `rows` is measured at `width` (else estimated).
    measured: Vec<bool>,
    shapes: Vec<Shape>,
    rows: RowIndex,
    /// Every message from here on is measured: batches work down from it.
    unmeasured_below: usize,
    /// How thinking shows unless the user flipped it on a reply.
    show_thinking: ShowThinking,
    /// The replies whose thinking the user opened or folded against `show_thinking`.
    flipped: BTreeSet<usize>,
}

impl HistoryLayout {
    /// Lays out every message at `width` columns, highlighting code unless `theme` is
    /// plain (benchmarks and tests; the app uses [`HistoryLayout::lazy`]).
    pub fn new<'a>(
        messages: impl IntoIterator<Item = &'a Message>,
        width: usize,
        theme: CodeTheme,
    ) -> Self {
        let mut layout = HistoryLayout {
            width: width.max(1),
            theme,
            ..HistoryLayout::default()
        };
        for m in messages {
            layout.push(m);
        }
        layout
    }

    /// Every message estimated, none laid out yet (a short history is laid out whole):
    /// O(n) in small numbers, plus one pass over the text for its line breaks. Width 0
    /// means the terminal's size is not known yet: nothing is laid out until
    /// [`HistoryLayout::set_width`] gives one.
    pub fn lazy(messages: &[Arc<Message>], width: usize, theme: CodeTheme) -> Self {
        let mut layout = HistoryLayout {
            width,
            theme,
            shapes: messages.iter().map(|m| Shape::of(m)).collect(),
            ..HistoryLayout::default()
        };
        layout.restart(messages);
        layout
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn code_theme(&self) -> CodeTheme {
        self.theme
    }

    pub fn len(&self) -> usize {
        self.laid_out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.laid_out.is_empty()
    }

    /// How many messages have their rows kept (the ones shown so far at this width).
    pub fn laid_out_count(&self) -> usize {
        self.laid_out_count
    }

    /// Whether some heights are still estimates: the runtime then calls
    /// [`HistoryLayout::measure_batch`] (through the app) between events.
    pub fn pending(&self) -> bool {
        self.width > 0 && self.unmeasured_below > 0
    }

    /// Messages whose height is measured at this width.
    pub fn measured_count(&self) -> usize {
        self.measured.iter().filter(|&&m| m).count()
    }

    /// Forgets every layout and measure and estimates each message again (a new width
    /// or a change between highlighting and not); a short history is laid out whole.
    fn restart(&mut self, messages: &[Arc<Message>]) {
        let n = messages.len().min(self.shapes.len());
        self.shapes.truncate(n);
        // Only the last message can have grown since its shape was taken (it streamed).
        if let (Some(shape), Some(m)) = (self.shapes.last_mut(), messages.get(n.wrapping_sub(1))) {
            *shape = Shape::of(m);
        }
        self.laid_out.clear();
        self.laid_out.resize_with(n, || None);
        self.laid_out_count = 0;
        self.measured = vec![false; n];
        let width = self.width.max(1);
        self.rows = RowIndex::from_heights(
            self.shapes
                .iter()
                .zip(messages)
                .enumerate()
                .map(|(i, (s, m))| {
                    u32::try_from(s.estimate(width, self.view_of(i, m))).unwrap_or(u32::MAX)
                })
                .collect(),
        );
        self.unmeasured_below = n;
        let bytes: usize = self
            .shapes
            .iter()
            .map(|s| s.bytes as usize + s.thinking_bytes as usize)
            .sum();
        if self.width > 0 && n <= BATCH_MESSAGES && bytes <= BATCH_BYTES {
            for i in 0..n {
                self.lay_out(messages, i);
            }
            self.unmeasured_below = 0;
        }
    }

    /// Lays the history out again at `width`: nothing is laid out at once but what
    /// [`HistoryLayout::lay_out`] is asked for next (the screen); the rest is estimated.
    pub fn set_width(&mut self, messages: &[Arc<Message>], width: usize) {
        let width = width.max(1);
        if width != self.width {
            self.width = width;
            self.restart(messages);
        }
    }

    /// Switches the code colours. Between dark and light the rows stay as they are
    /// (they hold syntax classes; drawing picks the colours); only turning highlighting
    /// on or off lays the history out again.
    pub fn set_code_theme(&mut self, messages: &[Arc<Message>], theme: CodeTheme) {
        let relayout = theme.highlights() != self.theme.highlights();
        self.theme = theme;
        if relayout {
            self.restart(messages);
        }
    }

    /// Sets how thinking shows by default (the config's `show_thinking`); the user's
    /// flips are kept. Lays the history out again when it changes.
    pub fn set_show_thinking(&mut self, messages: &[Arc<Message>], show: ShowThinking) {
        if show != self.show_thinking {
            self.show_thinking = show;
            self.restart(messages);
        }
    }

    /// How message `index`'s thinking shows now.
    pub fn view_of(&self, index: usize, message: &Message) -> ThinkingView {
        ThinkingView::of(message, self.show_thinking, self.flipped.contains(&index))
    }

    /// Opens or folds message `index`'s thinking (the user's key on it). Only its own
    /// height changes: O(log n). Returns whether it has thinking to show.
    pub fn flip_thinking(&mut self, messages: &[Arc<Message>], index: usize) -> bool {
        let Some(message) = messages.get(index) else {
            return false;
        };
        if message.reasoning.as_deref().is_none_or(str::is_empty) {
            return false;
        }
        if !self.flipped.remove(&index) {
            self.flipped.insert(index);
        }
        let view = self.view_of(index, message);
        let width = self.width.max(1);
        match self.laid_out.get_mut(index) {
            Some(Some(m)) => {
                m.set_thinking_view(view);
                self.rows.set(index, m.height());
            }
            Some(None) => {
                self.rows
                    .set(index, self.shapes[index].estimate(width, view));
                self.measured[index] = false;
                self.unmeasured_below = self.unmeasured_below.max(index + 1);
            }
            None => return false,
        }
        true
    }

    /// Adds a message at the end, laid out (it is the one the user is looking at).
    pub fn push(&mut self, message: &Message) {
        self.mark_last(false);
        let view = self.view_of(self.laid_out.len(), message);
        let m = MessageLayout::new(message, self.width.max(1), self.theme, true, view);
        self.rows.push(m.height());
        self.laid_out.push(Some(Box::new(m)));
        self.laid_out_count += 1;
        self.measured.push(true);
        self.shapes.push(Shape::of(message));
    }

    /// Removes the last message (regenerate replaces the last reply).
    pub fn pop(&mut self) {
        if let Some(m) = self.laid_out.pop() {
            self.laid_out_count -= usize::from(m.is_some());
            self.measured.pop();
            self.shapes.pop();
            self.rows.pop();
            self.flipped.remove(&self.laid_out.len());
            self.unmeasured_below = self.unmeasured_below.min(self.laid_out.len());
            self.mark_last(true);
        }
    }

    /// Tells the current last message whether it is still the last one, and moves the
    /// end of the history by the change in its footer's rows. A cut-off reply that is
    /// not laid out goes back to an estimate, to be measured again.
    fn mark_last(&mut self, last: bool) {
        let width = self.width.max(1);
        let Some(i) = self.laid_out.len().checked_sub(1) else {
            return;
        };
        match &mut self.laid_out[i] {
            Some(m) => {
                m.set_last(last, width);
                self.rows.set(i, m.height());
            }
            None if self.shapes[i].cut_off && self.measured[i] => {
                self.measured[i] = false;
                // A cut-off reply has ended: its view follows the default and flips.
                let view = if self.shapes[i].thinking_lines == 0 {
                    ThinkingView::Hidden
                } else {
                    match (self.show_thinking, self.flipped.contains(&i)) {
                        (ShowThinking::Folded, false) | (ShowThinking::Open, true) => {
                            ThinkingView::Folded
                        }
                        (ShowThinking::Hidden, false) => ThinkingView::Hidden,
                        _ => ThinkingView::Open,
                    }
                };
                self.rows.set(i, self.shapes[i].estimate(width, view));
                self.unmeasured_below = self.unmeasured_below.max(i + 1);
            }
            None => {}
        }
    }

    /// Updates the last message after its text grew or its ending changed.
    pub fn refresh_last(&mut self, message: &Message) {
        let width = self.width.max(1);
        let Some(i) = self.laid_out.len().checked_sub(1) else {
            return;
        };
        let view = self.view_of(i, message);
        let Some(last) = self.laid_out[i].as_mut() else {
            let m = MessageLayout::new(message, width, self.theme, true, view);
            self.rows.set(i, m.height());
            self.laid_out[i] = Some(Box::new(m));
            self.laid_out_count += 1;
            self.measured[i] = true;
            return;
        };
        match &mut last.body {
            Body::Plain { rows, code_labels } => {
                rows.follow(&message.content);
                *code_labels = plain_code_labels(&message.content);
            }
            Body::Markdown(body) => body.update(&message.content, !message.is_streaming()),
        }
        if message.reasoning.is_some() {
            last.refresh_thinking(message, width, view);
        }
        last.refresh_footer(message, width, true);
        self.rows.set(i, last.height());
        // The shape is taken again on a width change; the length is enough till then.
        self.shapes[i].bytes = u32::try_from(message.content.len()).unwrap_or(u32::MAX);
        if let Some(r) = &message.reasoning {
            self.shapes[i].thinking_bytes = u32::try_from(r.len()).unwrap_or(u32::MAX);
            self.shapes[i].thinking_lines = self.shapes[i].thinking_lines.max(1);
        }
    }

    /// Lays out message `index` (if it is not already) and keeps its rows: it is on
    /// screen, selected, or otherwise about to be read row by row. Returns whether it
    /// was laid out now.
    pub fn lay_out(&mut self, messages: &[Arc<Message>], index: usize) -> bool {
        let (Some(None), Some(message)) = (self.laid_out.get(index), messages.get(index)) else {
            return false;
        };
        if self.width == 0 {
            return false;
        }
        let last = index + 1 == self.laid_out.len();
        let view = self.view_of(index, message);
        let m = MessageLayout::new(message, self.width, self.theme, last, view);
        self.rows.set(index, m.height());
        self.laid_out[index] = Some(Box::new(m));
        self.laid_out_count += 1;
        self.measured[index] = true;
        true
    }

    /// Lays out the messages showing rows `first..first + rows`. The first of them
    /// keeps its start (only its own height and those below it change).
    pub fn lay_out_rows(&mut self, messages: &[Arc<Message>], first: usize, rows: usize) {
        let end = first.saturating_add(rows.max(1));
        let mut row = first;
        while row < end {
            let Some((index, _)) = self.rows.locate(row) else {
                break;
            };
            self.lay_out(messages, index);
            row = self.rows.start_of(index + 1).max(row + 1);
        }
    }

    /// Lays out the last messages, enough to fill `rows` rows from the bottom.
    pub fn lay_out_bottom(&mut self, messages: &[Arc<Message>], rows: usize) {
        let mut covered = 0;
        for index in (0..self.laid_out.len()).rev() {
            if covered >= rows.max(1) {
                break;
            }
            self.lay_out(messages, index);
            covered += self.rows.height(index);
        }
    }

    /// Measures the next batch of messages whose height is still an estimate, at most
    /// [`BATCH_MESSAGES`] or [`BATCH_BYTES`] of text, from the end up; their rows are
    /// counted and dropped. Returns how many were measured.
    pub fn measure_batch(&mut self, messages: &[Arc<Message>]) -> usize {
        let (mut measured, mut bytes, mut looked) = (0, 0, 0);
        while self.pending()
            && measured < BATCH_MESSAGES
            && bytes < BATCH_BYTES
            && looked < BATCH_LOOKS
        {
            let index = self.unmeasured_below - 1;
            self.unmeasured_below = index;
            looked += 1;
            let Some(message) = messages.get(index).filter(|_| !self.measured[index]) else {
                continue;
            };
            let last = index + 1 == self.laid_out.len();
            let view = self.view_of(index, message);
            let height = MessageLayout::new(message, self.width, self.theme, last, view).height();
            self.rows.set(index, height);
            self.measured[index] = true;
            measured += 1;
            bytes += message.content.len() + message.reasoning.as_ref().map_or(0, String::len);
        }
        measured
    }

    /// Total rows of the history (estimates included).
    pub fn total_rows(&self) -> usize {
        self.rows.total()
    }

    /// The first row of message `index`.
    pub fn start_of(&self, index: usize) -> usize {
        self.rows.start_of(index)
    }

    /// Rows of message `index`: measured, or an estimate until it is.
    pub fn height(&self, index: usize) -> usize {
        self.rows.height(index)
    }

    /// The rows of message `index`, when it is laid out ([`HistoryLayout::lay_out`]).
    pub fn message(&self, index: usize) -> Option<&MessageLayout> {
        self.laid_out.get(index).and_then(Option::as_deref)
    }

    /// The message holding absolute `row` and the row within it (O(log n)).
    pub fn locate(&self, row: usize) -> Option<(usize, usize)> {
        self.rows.locate(row)
    }

    /// What row `row_in_message` of message `index` shows. A message not laid out yet
    /// is taken as header, body rows and the blank separator.
    pub fn row_kind(&self, index: usize, row_in_message: usize) -> RowKind {
        let Some(m) = self.message(index) else {
            let height = self.rows.height(index);
            return match row_in_message {
                0 if height > 0 => RowKind::Header,
                r if r + 1 < height => RowKind::Body(r - 1),
                _ => RowKind::Blank,
            };
        };
        let thinking = m.thinking_rows();
        let body = m.body_rows();
        match row_in_message {
            0 => RowKind::Header,
            r if r <= thinking => RowKind::Thinking(r - 1),
            r if r <= thinking + body => RowKind::Body(r - 1 - thinking),
            r if r <= thinking + body + m.footer.len() => RowKind::Footer(r - 1 - thinking - body),
            _ => RowKind::Blank,
        }
    }
}

/// What a row of the history is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Header,
    /// Thinking row `n`: 0 is its label (`▸ Thought for 14 s`), then the text.
    Thinking(usize),
    /// Body row `n` of the message.
    Body(usize),
    /// Footer row `n`.
    Footer(usize),
    Blank,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Message;
    use pretty_assertions::assert_eq;

    /// Everything a frame reads from a layout, for comparing two layouts.
    fn dump(layout: &HistoryLayout) -> Vec<String> {
        let mut out = vec![format!("rows {}", layout.total_rows())];
        for m in layout.laid_out.iter().flatten() {
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

    /// `n` finished messages of a few lines each, some with code.
    fn conversation(n: usize) -> Vec<Arc<Message>> {
        (0..n)
            .map(|i| {
                let mut m = if i % 2 == 0 {
                    Message::user(format!("question {i}: how does this work, in a few words?"))
                } else {
                    let mut m = Message::assistant_pending("p/m");
                    m.content = format!(
                        "Answer {i}. A paragraph long enough to wrap a few times at forty columns.\n\n```rust\nfn f() -> u32 {{ {i} }}\n```\n"
                    );
                    m.finish = Some(Finish::Stop);
                    m
                };
                m.created_at = String::new();
                Arc::new(m)
            })
            .collect()
    }

    fn refs(messages: &[Arc<Message>]) -> impl Iterator<Item = &Message> {
        messages.iter().map(AsRef::as_ref)
    }

    /// Every message's first row, as the eager layout has them.
    fn starts(layout: &HistoryLayout) -> Vec<usize> {
        (0..=layout.len()).map(|i| layout.start_of(i)).collect()
    }

    /// Replies that thought (every third) among the usual conversation.
    fn thoughtful(n: usize) -> Vec<Arc<Message>> {
        conversation(n)
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let mut m = (*m).clone();
                if i % 6 == 1 {
                    m.reasoning = Some(format!(
                        "\nFirst I consider case {i}, which takes a long sentence to say at forty columns.\nThen the next.\n\n"
                    ));
                }
                Arc::new(m)
            })
            .collect()
    }

    fn thinking_rows(layout: &HistoryLayout, i: usize) -> usize {
        layout.message(i).map_or(0, MessageLayout::thinking_rows)
    }

    #[test]
    fn thinking_is_measured_in_batches_like_the_rest_and_flips_in_place() {
        let messages = thoughtful(2 * BATCH_MESSAGES);
        let whole = HistoryLayout::new(refs(&messages), 40, CodeTheme::Dark);
        // Folded: the label row only; blank rows at the ends of the text never show.
        assert_eq!(thinking_rows(&whole, 1), 1);
        assert_eq!(whole.row_kind(1, 1), RowKind::Thinking(0));
        assert_eq!(whole.row_kind(1, 2), RowKind::Body(0));
        let mut layout = HistoryLayout::lazy(&messages, 40, CodeTheme::Dark);
        while layout.pending() {
            layout.measure_batch(&messages);
        }
        assert_eq!(starts(&layout), starts(&whole));

        // Opening one not laid out moves only the rows below it, by its text's rows.
        let before = starts(&layout);
        assert!(layout.flip_thinking(&messages, 7));
        assert!(layout.pending());
        while layout.pending() {
            layout.measure_batch(&messages);
        }
        layout.lay_out(&messages, 7);
        let open = thinking_rows(&layout, 7);
        // "First I consider case 7, which takes a" / "long sentence to say at forty
        // columns." / "Then the next." in the 38 columns beside the bar, plus the label.
        assert_eq!(open, 4);
        let after = starts(&layout);
        assert_eq!(after[..=7], before[..=7]);
        assert_eq!(after[8], before[8] + open - 1);
        // A message without thinking does not flip.
        assert!(!layout.flip_thinking(&messages, 0));
        // Flipping back restores every row.
        assert!(layout.flip_thinking(&messages, 7));
        assert_eq!(starts(&layout), before);
    }

    #[test]
    fn a_long_history_starts_with_estimates_and_lays_out_nothing() {
        let messages = conversation(2 * BATCH_MESSAGES);
        let layout = HistoryLayout::lazy(&messages, 40, CodeTheme::Dark);
        assert_eq!(layout.laid_out_count(), 0);
        assert_eq!(layout.measured_count(), 0);
        assert!(layout.pending());
        // An estimate: header, line breaks plus bytes ÷ width, blank.
        let m = &messages[0];
        assert_eq!(layout.height(0), 1 + 1 + m.content.len() / 40 + 1);
        // Locate works on the estimates alone.
        let second = layout.start_of(1);
        assert_eq!(layout.locate(second), Some((1, 0)));
        assert_eq!(layout.locate(second - 1), Some((0, layout.height(0) - 1)));
        assert_eq!(layout.row_kind(1, 0), RowKind::Header);
        assert_eq!(layout.row_kind(1, 1), RowKind::Body(0));
        assert_eq!(layout.row_kind(1, layout.height(1) - 1), RowKind::Blank);
        assert!(layout.message(1).is_none());
    }

    #[test]
    fn batches_measure_heights_in_place_until_they_match_a_whole_layout() {
        let messages = conversation(2 * BATCH_MESSAGES + 7);
        let whole = HistoryLayout::new(refs(&messages), 40, CodeTheme::Dark);
        let mut layout = HistoryLayout::lazy(&messages, 40, CodeTheme::Dark);
        let mut batches = 0;
        while layout.pending() {
            let measured = layout.measure_batch(&messages);
            assert!(measured <= BATCH_MESSAGES, "{measured}");
            batches += 1;
            // Measured from the end up: the last batch's messages have exact heights.
            let done = layout.unmeasured_below;
            assert_eq!(layout.height(done), whole.height(done));
        }
        assert_eq!(batches, 3);
        assert_eq!(layout.measured_count(), messages.len());
        assert_eq!(starts(&layout), starts(&whole));
        // Measuring keeps no rows.
        assert_eq!(layout.laid_out_count(), 0);
        layout.lay_out(&messages, 5);
        assert_eq!(layout.laid_out_count(), 1);
        assert_eq!(
            dump_one(layout.message(5).unwrap()),
            dump_one(whole.message(5).unwrap())
        );
    }

    fn dump_one(m: &MessageLayout) -> Vec<String> {
        let mut out = vec![format!("{:?} {:?}", m.code_labels(), m.footer)];
        if let Body::Markdown(b) = &m.body {
            out.extend((0..b.len()).map(|i| format!("{:?}", b.row(i).collect::<Vec<_>>())));
        }
        out
    }

    #[test]
    fn the_screen_is_laid_out_from_its_top_row_which_stays_put() {
        let messages = conversation(2 * BATCH_MESSAGES);
        let mut layout = HistoryLayout::lazy(&messages, 40, CodeTheme::Dark);
        let at = BATCH_MESSAGES + BATCH_MESSAGES / 2;
        let top = layout.start_of(at) + 1;
        layout.lay_out_rows(&messages, top, 30);
        // The message holding the top row keeps its start; those after it that show
        // are laid out, and nothing else is.
        assert_eq!(layout.locate(top), Some((at, 1)));
        let mut shown = 0;
        let mut i = at;
        while layout.start_of(i) < top + 30 {
            assert!(layout.message(i).is_some(), "{i}");
            shown += 1;
            i += 1;
        }
        assert_eq!(layout.laid_out_count(), shown);
        assert!(layout.message(at - 1).is_none() && layout.message(i).is_none());
        // From the bottom: the last messages, just enough for 30 rows.
        let mut layout = HistoryLayout::lazy(&messages, 40, CodeTheme::Dark);
        layout.lay_out_bottom(&messages, 30);
        let first = (0..messages.len())
            .rev()
            .find(|&i| layout.total_rows() - layout.start_of(i) >= 30)
            .unwrap();
        assert_eq!(layout.laid_out_count(), messages.len() - first);
        assert!(layout.message(first).is_some() && layout.message(first - 1).is_none());
    }

    #[test]
    fn a_batch_moves_the_rows_below_measured_messages_but_not_their_own_rows() {
        let messages = conversation(2 * BATCH_MESSAGES);
        let mut layout = HistoryLayout::lazy(&messages, 40, CodeTheme::Dark);
        layout.lay_out(&messages, 10);
        let rows_before = layout.height(10);
        // The batch measures messages from the end up, changing nothing at or above 10…
        let start = layout.start_of(10);
        layout.measure_batch(&messages);
        assert_eq!(
            (layout.start_of(10), layout.height(10)),
            (start, rows_before)
        );
        // …then reaches the messages above it, whose heights move it.
        while layout.pending() {
            layout.measure_batch(&messages);
        }
        let whole = HistoryLayout::new(refs(&messages), 40, CodeTheme::Dark);
        assert_eq!(layout.start_of(10), whole.start_of(10));
        assert_eq!(layout.height(10), rows_before);
    }

    #[test]
    fn a_width_change_goes_back_to_estimates_and_a_theme_change_keeps_the_rows() {
        let messages = conversation(2 * BATCH_MESSAGES);
        let mut layout = HistoryLayout::lazy(&messages, 40, CodeTheme::Dark);
        layout.lay_out_bottom(&messages, 20);
        let kept = layout.laid_out_count();
        assert!(kept > 0);
        let row = layout.message(messages.len() - 1).map(dump_one);
        layout.set_code_theme(&messages, CodeTheme::Light);
        assert_eq!(layout.laid_out_count(), kept);
        assert_eq!(layout.message(messages.len() - 1).map(dump_one), row);
        assert_eq!(layout.code_theme(), CodeTheme::Light);
        // Turning highlighting off is a re-layout.
        layout.set_code_theme(&messages, CodeTheme::Plain);
        assert_eq!(layout.laid_out_count(), 0);
        layout.set_width(&messages, 60);
        assert_eq!((layout.width(), layout.measured_count()), (60, 0));
        assert!(layout.pending());
    }

    #[test]
    fn a_short_history_is_laid_out_whole_at_once() {
        let messages = conversation(12);
        let layout = HistoryLayout::lazy(&messages, 40, CodeTheme::Dark);
        assert!(!layout.pending());
        assert_eq!(layout.laid_out_count(), 12);
        assert_same(
            &layout,
            &HistoryLayout::new(refs(&messages), 40, CodeTheme::Dark),
        );
    }

    #[test]
    fn a_cut_off_reply_not_laid_out_is_measured_again_when_a_message_follows() {
        let mut messages = conversation(2 * BATCH_MESSAGES);
        let mut cut = Message::assistant_pending("p/m");
        cut.content = "partial".into();
        cut.finish = Some(Finish::Length);
        messages.push(Arc::new(cut));
        let mut layout = HistoryLayout::lazy(&messages, 30, CodeTheme::Dark);
        layout.measure_batch(&messages);
        let last = messages.len() - 1;
        // Header, body, three rows of hint, blank.
        assert_eq!(layout.height(last), 6);
        let next = Message::user("go on");
        layout.push(&next);
        messages.push(Arc::new(next));
        assert!(layout.pending());
        while layout.pending() {
            layout.measure_batch(&messages);
        }
        assert_eq!(layout.height(last), 4);
        let whole = HistoryLayout::new(refs(&messages), 30, CodeTheme::Dark);
        assert_eq!(starts(&layout), starts(&whole));
    }
}
