//! One message's rows at one width: header, body, footer (how a reply ended) and a
//! blank separator.
//!
//! The user's messages are plain text wrapped as byte ranges, and appending re-wraps
//! only the last row; replies are Markdown laid out block by block (`message_body.rs`),
//! where only the open block is laid out again. Each body also knows its code block
//! labels for the header, so drawing never parses a message. Where the message sits in
//! the history is `history_layout`'s business.

use crate::config::ShowThinking;
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
    pub(super) fn new(message: &Message, width: usize, theme: CodeTheme) -> Body {
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
pub(super) fn plain_code_labels(text: &str) -> Vec<String> {
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

/// How a reply's thinking shows: not at all, as its one-line label, or as the label
/// and the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThinkingView {
    Hidden,
    Folded,
    Open,
}

impl ThinkingView {
    /// How `message`'s thinking shows under the config's `default`, `flipped` by the
    /// user's key on that reply. While the model is still thinking (no answer yet) the
    /// text streams open, unless the user folded it or the config hides thinking (then
    /// the label alone says it is thinking).
    pub fn of(message: &Message, default: ShowThinking, flipped: bool) -> ThinkingView {
        if message.reasoning.as_deref().is_none_or(str::is_empty) {
            return ThinkingView::Hidden;
        }
        let thinking_now = message.is_streaming() && message.content.is_empty();
        match (default, flipped) {
            (ShowThinking::Hidden, false) | (_, true) if thinking_now => ThinkingView::Folded,
            _ if thinking_now => ThinkingView::Open,
            (ShowThinking::Folded, false) | (ShowThinking::Open, true) => ThinkingView::Folded,
            (ShowThinking::Open, false) | (ShowThinking::Folded | ShowThinking::Hidden, true) => {
                ThinkingView::Open
            }
            (ShowThinking::Hidden, false) => ThinkingView::Hidden,
        }
    }
}

/// Columns the thinking text is indented by (a dim bar and a space).
pub const THINKING_GUTTER: usize = 2;

/// A reply's thinking rows: a label row, then (when open) the text wrapped as byte
/// ranges of `message.reasoning`, without the blank rows at its start and, once the
/// reply has ended, at its end. Appending re-wraps only the last row, like a user
/// message, so 20,000 streamed thinking tokens cost what as many answer tokens do.
#[derive(Debug)]
pub struct ThinkingRows {
    pub view: ThinkingView,
    /// Every row of the text (drawn or not).
    pub text: WrappedText,
    /// Leading rows that are blank.
    pub first: usize,
    /// One past the last row shown.
    pub end: usize,
}

impl ThinkingRows {
    fn new(message: &Message, width: usize, view: ThinkingView) -> Option<ThinkingRows> {
        let reasoning = message.reasoning.as_deref()?;
        let mut rows = ThinkingRows {
            view,
            text: WrappedText::new(reasoning, width.saturating_sub(THINKING_GUTTER).max(1)),
            first: 0,
            end: 0,
        };
        rows.trim(message);
        Some(rows)
    }

    /// Takes in text appended to the thinking.
    fn update(&mut self, message: &Message, view: ThinkingView) {
        let reasoning = message.reasoning.as_deref().unwrap_or_default();
        if self.text.follow(reasoning) {
            self.first = 0;
        }
        self.view = view;
        self.trim(message);
    }

    /// Finds the blank rows at the start (once a row has text they stay put) and, for
    /// a reply that has ended, at the end.
    fn trim(&mut self, message: &Message) {
        let reasoning = message.reasoning.as_deref().unwrap_or_default();
        let blank = |r: &std::ops::Range<usize>| {
            reasoning.get(r.clone()).is_none_or(|t| t.trim().is_empty())
        };
        let rows = self.text.rows();
        // While it streams, the last row may still get text.
        let settled = if message.is_streaming() {
            rows.len().saturating_sub(1)
        } else {
            rows.len()
        };
        while self.first < settled && blank(&rows[self.first]) {
            self.first += 1;
        }
        self.end = rows.len();
        if !message.is_streaming() {
            while self.end > self.first && blank(&rows[self.end - 1]) {
                self.end -= 1;
            }
        }
    }

    /// Rows of the text that are drawn when open.
    pub fn text_rows(&self) -> usize {
        self.end.saturating_sub(self.first)
    }

    /// Rows this block takes: none hidden, the label folded, label and text open.
    pub fn height(&self) -> usize {
        match self.view {
            ThinkingView::Hidden => 0,
            ThinkingView::Folded => 1,
            ThinkingView::Open => 1 + self.text_rows(),
        }
    }
}

/// One message's rows at the layout width.
#[derive(Debug)]
pub struct MessageLayout {
    /// The reply's thinking, between the header and the body.
    pub thinking: Option<ThinkingRows>,
    pub body: Body,
    /// Whether the body is shown at all (an empty finished reply shows only its footer).
    pub show_body: bool,
    /// Footer text, already sanitized and wrapped.
    pub footer: Vec<String>,
    pub footer_kind: FooterKind,
    /// The reply was cut off at the token limit: its footer shows [`CONTINUE_HINT`]
    /// only while it is the last message, so it changes when a message follows.
    pub(super) cut_off: bool,
}

impl MessageLayout {
    pub(super) fn new(
        message: &Message,
        width: usize,
        theme: CodeTheme,
        last: bool,
        thinking: ThinkingView,
    ) -> Self {
        let mut layout = MessageLayout {
            thinking: ThinkingRows::new(message, width, thinking),
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
    pub(super) fn refresh_footer(&mut self, message: &Message, width: usize, last: bool) {
        self.show_body = !(message.content.is_empty()
            && (message.finish.is_some() || message.reasoning.is_some()));
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
    pub(super) fn set_last(&mut self, last: bool, width: usize) {
        if self.cut_off {
            self.footer = wrap_footer(&cut_off_footer(last), width);
        }
    }

    /// Takes in the live reply's new thinking (or its view's change).
    pub(super) fn refresh_thinking(&mut self, message: &Message, width: usize, view: ThinkingView) {
        match &mut self.thinking {
            Some(rows) => rows.update(message, view),
            None => self.thinking = ThinkingRows::new(message, width, view),
        }
    }

    /// Shows the thinking as `view` (the user's key, or the answer starting).
    pub(super) fn set_thinking_view(&mut self, view: ThinkingView) {
        if let Some(rows) = &mut self.thinking {
            rows.view = view;
        }
    }

    /// Rows of the thinking block.
    pub fn thinking_rows(&self) -> usize {
        self.thinking.as_ref().map_or(0, ThinkingRows::height)
    }

    /// Header + thinking + body + footer + blank separator.
    pub fn height(&self) -> usize {
        1 + self.thinking_rows() + self.body_rows() + self.footer.len() + 1
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
