//! What the conversation has used so far: how full the context is (the last reply's
//! input and output, the size of everything the model saw then) and what its replies
//! cost, for the status line.
//!
//! Kept beside the conversation and updated as each reply ends, so the status line
//! reads two numbers instead of walking the history every frame; it is counted again
//! only when the conversation is replaced or its last reply removed.

use std::sync::Arc;

use crate::conversation::{Message, Role};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Tokens the conversation took at its last reported reply.
    pub context_used: Option<u64>,
    /// US dollars its replies cost, when any reply's cost is known.
    pub cost: Option<f64>,
}

impl Totals {
    pub fn of(messages: &[Arc<Message>]) -> Totals {
        let mut totals = Totals::default();
        for m in messages {
            totals.add(m);
        }
        totals
    }

    /// Counts a reply that has ended.
    pub fn add(&mut self, message: &Message) {
        if message.role != Role::Assistant {
            return;
        }
        if let Some(usage) = message.usage.as_deref() {
            self.context_used = Some(usage.input_tokens + usage.output_tokens);
            if let Some(cost) = usage.cost {
                *self.cost.get_or_insert(0.0) += cost;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Usage;

    fn reply(usage: Option<Usage>) -> Arc<Message> {
        let mut m = Message::assistant_pending("p/m");
        m.usage = usage.map(Into::into);
        Arc::new(m)
    }

    #[test]
    fn the_context_is_the_last_reported_reply_and_costs_add_up() {
        let priced = |i, o, c| Usage {
            cost: Some(c),
            ..Usage::new(i, o)
        };
        let totals = Totals::of(&[
            Arc::new(Message::user("hi")),
            reply(Some(priced(100, 20, 0.5))),
            reply(None),
            reply(Some(priced(300, 40, 0.25))),
            reply(None),
        ]);
        assert_eq!(totals.context_used, Some(340));
        assert_eq!(totals.cost, Some(0.75));
        let unpriced = Totals::of(&[reply(Some(Usage::new(5, 5)))]);
        assert_eq!(unpriced.cost, None);
        assert_eq!(unpriced.context_used, Some(10));
    }
}
