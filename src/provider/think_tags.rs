//! Thinking written inline as `<think>…</think>` at the start of a reply's text, as
//! Qwen3 and the DeepSeek-R1 distills emit it on servers that run no reasoning parser
//! (protocols.md §10): one splitter that every reader with such text feeds.
//!
//! Owns: telling the thinking from the answer in a text that arrives in pieces, with a
//! tag split across pieces at any byte. Cost is linear in the text: each byte is looked
//! at a bounded number of times, and what is held back between pieces is never more
//! than a possible partial tag (plus the whitespace before the opening one), so nothing
//! held is rescanned.
//!
//! Must not: know any wire format, or sanitize (the app does that for both kinds).

use super::StreamEvent;

const OPEN: &[u8] = b"<think>";
const CLOSE: &str = "</think>";

/// Where the splitter is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing but whitespace and a growing prefix of `<think>` seen yet; `matched`
    /// bytes of the tag are in `held`, after the whitespace.
    Start { matched: usize },
    /// Inside the thinking; `held` is a tail that may be the start of `</think>`.
    Thinking,
    /// Just after `</think>`: newlines here separate the thinking from the answer and
    /// belong to neither.
    AfterThinking,
    /// The answer: everything passes through as it comes.
    Answer,
}

/// Splits one reply's text into [`StreamEvent::Reasoning`] and [`StreamEvent::Delta`].
///
/// Text that does not begin (after whitespace) with `<think>` is answer at once: only
/// the bytes that could still turn out to be the tag are held, and released as answer
/// as soon as a byte rules the tag out. A `<think>` later in the text is answer too
/// (a model quoting the tag). [`ThinkSplitter::finish`] releases what is held when the
/// reply ends, so a reply that is only thinking is all reasoning, and no text is lost.
#[derive(Debug)]
pub(crate) struct ThinkSplitter {
    state: State,
    held: String,
}

impl Default for ThinkSplitter {
    fn default() -> Self {
        ThinkSplitter {
            state: State::Start { matched: 0 },
            held: String::new(),
        }
    }
}

impl ThinkSplitter {
    /// The events `text` (the next piece of the reply's text) yields, appended to `out`.
    pub(crate) fn push(&mut self, text: String, out: &mut Vec<StreamEvent>) {
        if text.is_empty() {
            return;
        }
        match self.state {
            State::Answer => out.push(StreamEvent::Delta(text)),
            State::Start { matched } => self.start(matched, &text, out),
            State::Thinking => self.thinking(&text, out),
            State::AfterThinking => self.after_thinking(&text, out),
        }
    }

    /// The reply ended: what is held is released as what it was part of (an unclosed
    /// thinking stays thinking; an opening tag never completed was answer text).
    pub(crate) fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return;
        }
        match self.state {
            State::Thinking => out.push(StreamEvent::Reasoning(held)),
            _ => out.push(StreamEvent::Delta(held)),
        }
        self.state = State::Answer;
    }

    fn start(&mut self, mut matched: usize, text: &str, out: &mut Vec<StreamEvent>) {
        for (at, &byte) in text.as_bytes().iter().enumerate() {
            if matched == 0 && byte.is_ascii_whitespace() {
                continue;
            }
            if byte == OPEN[matched] {
                matched += 1;
                if matched == OPEN.len() {
                    // The whitespace before the tag goes with it: it is layout.
                    self.held.clear();
                    self.state = State::Thinking;
                    // `at` is the tag's last byte, ASCII, so `at + 1` is a boundary.
                    self.thinking(&text[at + 1..], out);
                    return;
                }
                continue;
            }
            // Not the tag: everything held and everything after is answer.
            self.state = State::Answer;
            let mut answer = std::mem::take(&mut self.held);
            answer.push_str(text);
            out.push(StreamEvent::Delta(answer));
            return;
        }
        self.held.push_str(text);
        self.state = State::Start { matched };
    }

    fn thinking(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        // `held` is at most `CLOSE.len() - 1` bytes, so this copy is bounded by the
        // piece itself: linear over the reply.
        let mut piece = std::mem::take(&mut self.held);
        piece.push_str(text);
        if let Some(at) = piece.find(CLOSE) {
            if at > 0 {
                out.push(StreamEvent::Reasoning(piece[..at].to_owned()));
            }
            self.state = State::AfterThinking;
            self.after_thinking(&piece[at + CLOSE.len()..], out);
            return;
        }
        let keep = partial_close(&piece);
        let thought = piece.len() - keep;
        if keep > 0 {
            // The tail starts with `<` (ASCII), so `thought` is a char boundary.
            self.held.push_str(&piece[thought..]);
            piece.truncate(thought);
        }
        if !piece.is_empty() {
            out.push(StreamEvent::Reasoning(piece));
        }
    }

    fn after_thinking(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        let answer = text.trim_start_matches(['\n', '\r']);
        if !answer.is_empty() {
            self.state = State::Answer;
            out.push(StreamEvent::Delta(answer.to_owned()));
        }
    }
}

/// How many bytes at the end of `text` are a proper prefix of `</think>` (0 when none):
/// the bytes that must wait for the next piece.
fn partial_close(text: &str) -> usize {
    (1..CLOSE.len())
        .rev()
        .find(|&k| text.ends_with(&CLOSE[..k]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The reasoning and the answer of `pieces` fed in order, each joined, and the
    /// events in order (adjacent ones of a kind merged) to check nothing is reordered.
    fn split(pieces: &[&str]) -> (String, String) {
        let mut splitter = ThinkSplitter::default();
        let mut out = Vec::new();
        for piece in pieces {
            splitter.push((*piece).to_owned(), &mut out);
        }
        splitter.finish(&mut out);
        let mut reasoning = String::new();
        let mut answer = String::new();
        let mut answer_started = false;
        for event in out {
            match event {
                StreamEvent::Reasoning(t) => {
                    assert!(!answer_started, "thinking after the answer began");
                    reasoning.push_str(&t);
                }
                StreamEvent::Delta(t) => {
                    answer_started = true;
                    answer.push_str(&t);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        (reasoning, answer)
    }

    /// Every way of cutting `text` in two, and byte by byte (by char).
    fn every_split(text: &str) -> Vec<Vec<String>> {
        let mut ways: Vec<Vec<String>> = text
            .char_indices()
            .map(|(at, _)| vec![text[..at].to_owned(), text[at..].to_owned()])
            .collect();
        ways.push(text.chars().map(String::from).collect());
        ways
    }

    #[test]
    fn a_think_block_at_the_start_is_reasoning_at_every_split() {
        let text = "<think>Let me see… 2+2 is 4.</think>\n\nThe answer is 4.";
        for pieces in every_split(text) {
            let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
            assert_eq!(
                split(&pieces),
                ("Let me see… 2+2 is 4.".into(), "The answer is 4.".into()),
                "{pieces:?}"
            );
        }
    }

    #[test]
    fn whitespace_before_the_opening_tag_is_allowed_and_dropped() {
        assert_eq!(
            split(&["\n  <thi", "nk>x</think>y"]),
            ("x".into(), "y".into())
        );
    }

    #[test]
    fn text_that_does_not_start_with_the_tag_is_answer_at_once() {
        let mut splitter = ThinkSplitter::default();
        let mut out = Vec::new();
        splitter.push("Hello <think>not a tag</think>".into(), &mut out);
        assert_eq!(
            out,
            vec![StreamEvent::Delta("Hello <think>not a tag</think>".into())]
        );
        // Only a possible partial tag is held, and released by the first byte that
        // rules it out.
        let mut splitter = ThinkSplitter::default();
        let mut out = Vec::new();
        splitter.push(" <th".into(), &mut out);
        assert_eq!(out, vec![]);
        splitter.push("e end".into(), &mut out);
        assert_eq!(out, vec![StreamEvent::Delta(" <the end".into())]);
    }

    #[test]
    fn a_reply_that_is_only_thinking_is_all_reasoning_with_its_held_tail() {
        assert_eq!(
            split(&["<think>still thinking </thi"]),
            ("still thinking </thi".into(), String::new())
        );
        assert_eq!(split(&["<think>"]), (String::new(), String::new()));
    }

    #[test]
    fn an_unfinished_opening_tag_at_the_end_is_answer() {
        assert_eq!(split(&["  <thin"]), (String::new(), "  <thin".into()));
        assert_eq!(split(&["\n\n"]), (String::new(), "\n\n".into()));
    }

    #[test]
    fn only_the_newlines_right_after_the_closing_tag_are_dropped() {
        assert_eq!(
            split(&["<think>a</think>", "\r\n", "\n", "  b\n\nc"]),
            ("a".into(), "  b\n\nc".into())
        );
        // Thinking that ends the reply with only newlines after it leaves no answer.
        assert_eq!(
            split(&["<think>a</think>\n\n"]),
            ("a".into(), String::new())
        );
    }

    #[test]
    fn a_lone_angle_bracket_inside_thinking_is_held_only_until_ruled_out() {
        let mut splitter = ThinkSplitter::default();
        let mut out = Vec::new();
        splitter.push("<think>a <".into(), &mut out);
        assert_eq!(out, vec![StreamEvent::Reasoning("a ".into())]);
        out.clear();
        splitter.push("b".into(), &mut out);
        assert_eq!(out, vec![StreamEvent::Reasoning("<b".into())]);
    }

    #[test]
    fn a_megabyte_of_thinking_fed_byte_by_byte_costs_linear_time() {
        let thought = "x".repeat(1 << 20);
        let started = std::time::Instant::now();
        let mut splitter = ThinkSplitter::default();
        let mut out = Vec::new();
        let mut reasoning = 0;
        let mut answer = String::new();
        let text = format!("<think>{thought}</think>\nok");
        for c in text.chars() {
            splitter.push(c.to_string(), &mut out);
            for event in out.drain(..) {
                match event {
                    StreamEvent::Reasoning(t) => reasoning += t.len(),
                    StreamEvent::Delta(t) => answer.push_str(&t),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        splitter.finish(&mut out);
        assert_eq!(out, vec![]);
        assert_eq!((reasoning, answer.as_str()), (1 << 20, "ok"));
        let elapsed = started.elapsed();
        assert!(
            elapsed < std::time::Duration::from_secs(1),
            "took {elapsed:?}"
        );
    }
}
