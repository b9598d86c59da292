//! The reply lifecycle inside `App::update`: send, continue, stream events, stop,
//! regenerate, new.
//!
//! Invariants: at most one reply streams at a time and it is always the last message;
//! every way a reply ends (stop, length, error, incomplete, Esc) sets its `finish` and
//! asks for a save; an event whose stream id is not the active one is dropped (a late
//! delta after Esc never lands).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::split_model;
use crate::conversation::{Conversation, Finish, Message, Role};
use crate::model_ref::{self, ModelError};
use crate::provider::{ChatRequest, ProviderSpec, StreamEvent};
use crate::view::history_layout::CONTINUE_HINT;

use super::{ActiveStream, App, Effect, Focus, Outcome, StreamId};

/// While a reply streams, the conversation is saved at least this often (spec §3).
pub const AUTOSAVE_PERIOD: Duration = Duration::from_secs(2);

/// The user message that asks for the rest of a reply cut off at the token limit. It is
/// an ordinary message (shown, saved, sent) because no provider API can resume a reply.
pub const CONTINUE_PROMPT: &str = "Continue exactly where you stopped.";

impl App {
    /// Enter in the input: sends the draft to the active model. An empty draft sends
    /// [`CONTINUE_PROMPT`] when the last reply was cut off (its footer says so), and
    /// nothing otherwise.
    pub(super) fn send(&mut self, fx: &mut Vec<Effect>) {
        if self.offers_download() {
            // Nothing can answer yet: Enter takes the offer; any draft stays typed.
            self.start_download(fx);
            return;
        }
        let draft = self.chrome.input.lines().join("\n");
        let text = if !draft.trim().is_empty() {
            draft
        } else if self.can_continue() {
            CONTINUE_PROMPT.to_owned()
        } else {
            return;
        };
        if self.session.stream.is_some() {
            self.set_error("a reply is still streaming: Esc stops it".into());
            return;
        }
        // Check the model before touching the conversation, so nothing is lost.
        let Some(provider) = self.ready_provider() else {
            return;
        };
        if let Some(problem) = self.would_not_fit(&text, &provider) {
            self.set_error(problem);
            return;
        }
        self.push_user(text);
        self.chrome.input = super::new_input();
        // Sending a recalled prompt gives back the draft it had put aside.
        if let Some(draft) = self
            .chrome
            .recall
            .take()
            .map(super::recall::Recall::into_draft)
        {
            self.chrome.input.insert_str(draft);
        }
        self.start_reply(provider, fx);
        // The input box shrinks back to one line.
    }

    /// `c` in the conversation: asks for the rest of the last reply, cut off at the token
    /// limit, with [`CONTINUE_PROMPT`]. The draft in the input stays as it is.
    pub(super) fn continue_reply(&mut self, fx: &mut Vec<Effect>) {
        if self.session.stream.is_some() {
            self.set_error("a reply is still streaming: Esc stops it".into());
            return;
        }
        if !self.can_continue() {
            self.set_error("nothing to continue: the last reply was not cut off".into());
            return;
        }
        let Some(provider) = self.ready_provider() else {
            return;
        };
        self.push_user(CONTINUE_PROMPT.to_owned());
        self.start_reply(provider, fx);
    }

    /// Why `text` cannot be sent to the active model, when the conversation as last
    /// reported plus about a token per 4 bytes of `text` is more than the model's
    /// known context window: said here, with the way out, rather than as the server's
    /// error after the request. Unknown windows and the in-process provider (which
    /// leaves old turns out to fit, and says so) are never refused.
    fn would_not_fit(&self, text: &str, provider: &ProviderSpec) -> Option<String> {
        if provider.kind == crate::provider::ProviderKind::Local {
            return None;
        }
        let full = self.session.active_model.as_deref()?;
        let window = self.model_info(full).context?;
        let used = self.session.totals.context_used.unwrap_or(0);
        let needed = used + (text.len() as u64).div_ceil(4);
        (needed > window).then(|| {
            format!(
                "this message would not fit {full}'s context window (about {} of {} tokens): start a new conversation (Ctrl+N) or pick a model with a larger window",
                crate::view::figures::compact(needed),
                crate::view::figures::compact(window)
            )
        })
    }

    /// Appends a user message to the conversation and its layout.
    fn push_user(&mut self, text: String) {
        self.session.conversation.push_user(text);
        self.view.history.push(
            self.session
                .conversation
                .messages
                .last()
                .map_or(&EMPTY, AsRef::as_ref),
        );
    }

    /// True when the last message is a reply cut off at the token limit and nothing
    /// streams: the one case where there is something to continue.
    fn can_continue(&self) -> bool {
        self.session.stream.is_none()
            && self
                .session
                .conversation
                .messages
                .last()
                .is_some_and(|m| m.role == Role::Assistant && m.finish == Some(Finish::Length))
    }

    /// Ctrl+R: replaces the last reply with a new one from the active model.
    pub(super) fn regenerate(&mut self, fx: &mut Vec<Effect>) {
        if self.session.stream.is_some() {
            self.set_error("a reply is still streaming: Esc stops it first".into());
            return;
        }
        let ends_with_reply = self
            .session
            .conversation
            .messages
            .last()
            .is_some_and(|m| m.role == Role::Assistant);
        let has_user = self
            .session
            .conversation
            .messages
            .iter()
            .any(|m| m.role == Role::User);
        if !has_user {
            self.set_error("nothing to regenerate yet".into());
            return;
        }
        let Some(provider) = self.ready_provider() else {
            return;
        };
        if ends_with_reply {
            self.session.conversation.messages.pop();
            self.view.history.pop();
            self.session.totals = super::Totals::of(&self.session.conversation.messages);
        }
        self.start_reply(provider, fx);
    }

    /// The provider of the active model, if it can be used; otherwise says why.
    fn ready_provider(&mut self) -> Option<ProviderSpec> {
        let Some(full) = self.session.active_model.clone() else {
            self.set_error(if self.session.catalog.any_enabled() {
                "no model chosen yet: pick one in the sidebar (Ctrl+P)".into()
            } else {
                "no provider is set up: see the welcome text for how to add one".into()
            });
            return None;
        };
        match model_ref::resolve(&self.session.config, &full) {
            Ok((spec, _)) => Some(spec.clone()),
            Err(e @ ModelError::UnknownProvider { .. }) => {
                self.set_error(format!("{e}: pick a model in the sidebar (Ctrl+P)"));
                None
            }
            Err(e) => {
                self.set_error(e.to_string());
                None
            }
        }
    }

    /// Appends an empty reply from the active model and starts its stream with
    /// `provider`, the active model's (from [`App::ready_provider`]).
    fn start_reply(&mut self, provider: ProviderSpec, fx: &mut Vec<Effect>) {
        let full = self.session.active_model.clone().unwrap_or_default();
        let model = split_model(&full).map_or("", |(_, m)| m).to_owned();
        let mut request = ChatRequest::from_conversation(&self.session.conversation, &model);
        request.temperature = self.session.config.temperature;
        request.max_tokens = self.session.config.max_tokens;
        request.idle_timeout = self.session.config.stream_timeout;
        let settings = provider.settings.for_model(&model);
        request.reasoning_effort = settings.reasoning_effort;
        request.thinking_budget = settings.thinking_budget;

        self.session
            .conversation
            .messages
            .push(Arc::new(Message::assistant_pending(full)));
        self.session.conversation.touch();
        self.view.history.push(
            self.session
                .conversation
                .messages
                .last()
                .map_or(&EMPTY, AsRef::as_ref),
        );
        self.session.next_stream_id += 1;
        let id = StreamId(self.session.next_stream_id);
        self.session.stream = Some(ActiveStream {
            id,
            first_at: None,
            last_at: None,
            deltas: 0,
            reported_tokens: None,
            unsaved_since: None,
            retry: None,
            preparing: None,
            thinking_since: None,
            thinking_chunks: 0,
            answering: false,
            clock: None,
            started_at: None,
        });
        self.session.outcome = super::Outcome::Idle;
        self.chrome.notice = None;
        self.view.viewport.to_bottom();
        self.chrome.selected = None;
        fx.push(Effect::Save(self.session.conversation.clone()));
        fx.push(Effect::StartStream {
            id,
            provider,
            request,
        });
    }

    /// Esc while streaming: drops the request; the partial reply stays, marked stopped.
    pub(super) fn stop(&mut self, fx: &mut Vec<Effect>) {
        let Some(stream) = self.session.stream.take() else {
            return;
        };
        fx.push(Effect::CancelStream(stream.id));
        self.finish_live(Finish::Cancelled, None);
        self.session.outcome = Outcome::Stopped;
        self.chrome.notice = None;
        fx.push(Effect::Save(self.session.conversation.clone()));
    }

    /// A provider event for stream `id`.
    pub(super) fn on_stream(
        &mut self,
        id: StreamId,
        event: StreamEvent,
        at: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let Some(stream) = self.session.stream.as_mut().filter(|s| s.id == id) else {
            // A late event from a stream that was stopped or replaced.
            return;
        };
        if let StreamEvent::Retrying {
            reason,
            delay,
            attempt,
            of,
        } = event
        {
            let until = at + delay;
            stream.retry = Some(super::RetryWait {
                reason,
                until,
                seconds_left: super::seconds_until(until, at),
                attempt,
                of,
            });
            fx.push(Effect::Redraw);
            return;
        }
        if let StreamEvent::Notice(text) = event {
            self.set_notice(text);
            fx.push(Effect::Redraw);
            return;
        }
        if let StreamEvent::Preparing(text) = event {
            stream.preparing = Some(text);
            fx.push(Effect::Redraw);
            return;
        }
        stream.retry = None;
        stream.preparing = None;
        stream.first_at.get_or_insert(at);
        stream.last_at = Some(at);
        stream.clock = Some(at);
        match event {
            StreamEvent::Delta(text) | StreamEvent::Reasoning(text) if text.is_empty() => {}
            StreamEvent::Delta(text) => self.on_answer_text(&text, at, fx),
            StreamEvent::Reasoning(text) => self.on_thinking_text(&text, at, fx),
            StreamEvent::Usage(usage) => {
                stream.reported_tokens = Some(usage.output_tokens);
                if let Some(live) = self.session.conversation.live_mut() {
                    live.usage = Some(usage.into());
                }
            }
            StreamEvent::Finished(finish) => {
                self.session.stream = None;
                self.finish_live(finish, None);
                self.session.outcome = Outcome::Idle;
                if finish == Finish::Length {
                    // Short enough for an 80-column status line; the footer says the rest.
                    self.set_notice(format!("cut off: {CONTINUE_HINT}"));
                }
                fx.push(Effect::Save(self.session.conversation.clone()));
            }
            StreamEvent::Retrying { .. } | StreamEvent::Notice(_) | StreamEvent::Preparing(_) => {}
            StreamEvent::Failed(error) => {
                self.session.stream = None;
                let text = error.to_string();
                self.finish_live(error.finish(), Some(text.clone()));
                self.session.outcome = Outcome::Failed;
                self.set_error(text);
                fx.push(Effect::Save(self.session.conversation.clone()));
            }
        }
        fx.push(Effect::Redraw);
    }

    /// More of the live reply's answer; the first ends its thinking, if it thought.
    fn on_answer_text(&mut self, text: &str, at: Instant, fx: &mut Vec<Effect>) {
        let Some(stream) = self.session.stream.as_mut() else {
            return;
        };
        stream.deltas += 1;
        let thought_for = stream
            .thinking_since
            .filter(|_| !stream.answering)
            .map(|since| at.saturating_duration_since(since));
        stream.answering = true;
        let save_now = stream.text_arrived(at);
        if let Some(live) = self.session.conversation.live_mut() {
            live.content.push_str(text);
            if let Some(d) = thought_for {
                live.reasoning_ms = Some(millis(d));
            }
        }
        self.after_live_text(save_now, fx);
    }

    /// More of the live reply's thinking, timed while no answer has started.
    fn on_thinking_text(&mut self, text: &str, at: Instant, fx: &mut Vec<Effect>) {
        let Some(stream) = self.session.stream.as_mut() else {
            return;
        };
        let since = *stream.thinking_since.get_or_insert(at);
        stream.thinking_chunks += 1;
        let chunks = stream.thinking_chunks;
        let still_thinking = !stream.answering;
        let save_now = stream.text_arrived(at);
        if let Some(live) = self.session.conversation.live_mut() {
            live.reasoning
                .get_or_insert_with(String::new)
                .push_str(text);
            live.reasoning_chunks = Some(chunks);
            if still_thinking {
                live.reasoning_ms = Some(millis(at.saturating_duration_since(since)));
            }
        }
        self.after_live_text(save_now, fx);
    }

    /// Lays out the grown live reply and saves it when its text is due on disk.
    fn after_live_text(&mut self, save_now: bool, fx: &mut Vec<Effect>) {
        self.refresh_live_layout();
        if save_now {
            self.session.conversation.touch();
            fx.push(Effect::Save(self.session.conversation.clone()));
        }
    }

    /// The autosave deadline passed while no new text arrived to trigger it.
    pub(super) fn save_if_due(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let due = self
            .session
            .stream
            .as_ref()
            .and_then(|s| s.unsaved_since)
            .is_some_and(|since| now.duration_since(since) >= AUTOSAVE_PERIOD);
        if due {
            if let Some(stream) = self.session.stream.as_mut() {
                stream.unsaved_since = None;
            }
            // The file changes now: its `updated_at` says so (the list sorts by it).
            self.session.conversation.touch();
            fx.push(Effect::Save(self.session.conversation.clone()));
        }
    }

    /// Marks the live reply as ended, prices it when its model's prices are known and
    /// the provider did not, and counts it in the conversation's totals.
    fn finish_live(&mut self, finish: Finish, error: Option<String>) {
        let info = self
            .session
            .conversation
            .messages
            .last()
            .and_then(|m| m.model.as_deref())
            .map(|model| self.model_info(model));
        if let Some(live) = self.session.conversation.live_mut() {
            live.finish = Some(finish);
            live.error = error;
            if let (Some(usage), Some(info)) = (live.usage.as_mut(), info)
                && usage.known.cost.is_none()
            {
                usage.known.cost = info.cost(usage.input_tokens, usage.output_tokens);
            }
        }
        if let Some(last) = self.session.conversation.messages.last() {
            self.session.totals.add(last);
        }
        self.session.conversation.touch();
        self.refresh_live_layout();
    }

    pub(super) fn refresh_live_layout(&mut self) {
        if self.view.defer_live {
            self.view.live_stale = true;
            return;
        }
        self.view.live_stale = false;
        if let Some(last) = self.session.conversation.messages.last() {
            self.view.history.refresh_last(last);
        }
    }

    /// Ctrl+N: an empty conversation with the same model; the old one is already saved.
    pub(super) fn new_conversation(&mut self, fx: &mut Vec<Effect>) {
        if self.session.stream.is_some() {
            self.stop(fx);
        }
        self.session.conversation = Conversation::new(self.session.config.system_prompt.clone());
        self.forget_saves();
        self.end_recall();
        self.lay_out_history(self.view.history.width(), self.view.history.code_theme());
        self.view.viewport.to_bottom();
        self.chrome.selected = None;
        self.session.outcome = Outcome::Idle;
        self.set_notice("new conversation".into());
        self.set_focus(Focus::Input);
    }
}

/// A duration in whole milliseconds, as the file keeps it.
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl ActiveStream {
    /// Notes that text (answer or thinking) arrived at `at` and says whether it must be
    /// saved now: text not on disk must be there within 2 s (spec §3), so it is saved
    /// now when the oldest unsaved text is that old, else by the tick at that deadline.
    fn text_arrived(&mut self, at: Instant) -> bool {
        let unsaved_since = *self.unsaved_since.get_or_insert(at);
        let save_now = at.duration_since(unsaved_since) >= AUTOSAVE_PERIOD;
        if save_now {
            self.unsaved_since = None;
        }
        save_now
    }
}

/// Placeholder for a message that is not there (never shown: lists are checked first).
static EMPTY: std::sync::LazyLock<Message> = std::sync::LazyLock::new(|| Message::user(""));
