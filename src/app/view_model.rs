//! The view model: everything derived for drawing — the terminal size, where each part
//! of the screen goes, the history laid out at the conversation pane's width, and the
//! scroll position over it (design §1, §5).
//!
//! Owned by [`App`](super::App) and brought up to date once at the end of every update
//! ([`App::sync`](super::App)), from what changed: the areas are computed again only
//! when the screen, the input's height or the sidebar's visibility changed, and the
//! history is laid out again only when its width did. `draw` only borrows it.

use ratatui::layout::Rect;

use crate::view::highlight::CodeTheme;
use crate::view::layout;
use crate::view::wrap::display_width_upto;

use crate::view::history_layout::HistoryLayout;
use crate::view::layout::Areas;

use super::{App, Effect, Focus, Viewport};

pub struct ViewModel {
    pub(super) screen: Rect,
    pub(super) areas: Areas,
    /// Wrapped rows of the history at the conversation pane's width.
    pub(super) history: HistoryLayout,
    pub(super) viewport: Viewport,
    /// Inside [`App::update_batch`](super::App::update_batch): the live reply's layout
    /// waits for the batch's end.
    pub(super) defer_live: bool,
    /// The live reply changed since it was last laid out.
    pub(super) live_stale: bool,
    /// What [`ViewModel::areas`] was computed from: the screen, the input's text rows
    /// and whether the sidebar has the focus.
    pub(super) areas_for: Option<(Rect, u16, bool)>,
}

impl ViewModel {
    pub(super) fn new(history: HistoryLayout) -> ViewModel {
        ViewModel {
            screen: Rect::default(),
            areas: Areas::default(),
            history,
            viewport: Viewport::default(),
            defer_live: false,
            live_stale: false,
            areas_for: None,
        }
    }
}

impl App {
    /// Applies a new terminal size (the runtime sends one before the first frame).
    pub fn resize(&mut self, width: u16, height: u16) {
        self.view.screen = Rect::new(0, 0, width, height);
        self.sync_view();
        self.lay_out_visible();
    }

    /// Brings everything derived up to date with what the update changed: the
    /// screen's areas (only when the screen, the input's height or the sidebar's
    /// visibility changed), the history's layout (only when its width changed; the
    /// live reply's once per batch), the sidebar's scroll and the input's cursor.
    /// Called once at the end of every update, so no handler refreshes anything itself.
    pub(super) fn sync(&mut self) {
        self.sync_view();
        if self.view.live_stale && !self.view.defer_live {
            self.refresh_live_layout();
        }
        // What the frame will show, laid out; the rest is measured in batches.
        self.lay_out_visible();
        self.chrome.sync_cursor();
    }

    pub(super) fn sync_view(&mut self) {
        let sidebar_focused = self.chrome.focus == Focus::Sidebar;
        let key = (self.view.screen, self.input_rows(), sidebar_focused);
        if self.view.areas_for != Some(key) {
            self.view.areas_for = Some(key);
            self.view.areas = layout::areas(key.0, key.1, key.2);
            let inner = layout::inner(self.view.areas.conversation);
            let width = usize::from(inner.width).max(1);
            if width != self.view.history.width() {
                self.rewrap_history(width);
            }
            self.view.viewport.height = usize::from(inner.height).max(1);
        }
        if let Some(sidebar) = self.view.areas.sidebar {
            let catalog = &mut self.session.catalog;
            catalog.set_width(usize::from(sidebar.width.saturating_sub(2)));
            // Rows of the list: the box minus its borders and the filter line.
            catalog.keep_in_view(usize::from(sidebar.height.saturating_sub(3)));
        }
    }

    /// Lays the history out at a new width, keeping the row at the top of the screen
    /// in view across the re-wrap.
    pub(super) fn rewrap_history(&mut self, width: usize) {
        let view = &mut self.view;
        let messages = &self.session.conversation.messages;
        let total = view.history.total_rows();
        let anchor = view
            .history
            .locate(view.viewport.top_for(total))
            .filter(|_| !view.viewport.follow);
        // Only the screen is laid out now; the rest is measured in batches.
        view.history.set_width(messages, width);
        if let Some((index, row)) = anchor {
            view.history.lay_out(messages, index);
            let rows = view.history.height(index).max(1);
            view.viewport.top = view.history.start_of(index) + row.min(rows - 1);
        }
    }

    /// Picks the code highlighting colours for this terminal's theme (the runtime
    /// calls this once at start-up, before the first frame). Dark ↔ light is a palette
    /// swap: the layout holds syntax classes, not colours.
    pub fn set_code_theme(&mut self, theme: CodeTheme) {
        self.view
            .history
            .set_code_theme(&self.session.conversation.messages, theme);
        self.lay_out_visible();
    }

    /// Lays the conversation out again (a new conversation): estimates for every
    /// message, the screen laid out now, the rest measured in batches.
    pub(crate) fn lay_out_history(&mut self, width: usize, theme: CodeTheme) {
        let messages = &self.session.conversation.messages;
        let mut history = HistoryLayout::lazy(messages, 0, theme);
        history.set_show_thinking(messages, self.session.config.show_thinking);
        history.set_width(messages, width);
        self.view.history = history;
        self.session.totals = super::Totals::of(messages);
        self.lay_out_visible();
    }

    /// Lays out the messages on screen (cheap when they are already): drawing reads
    /// rows only of laid-out messages, and every update, scroll or resize ends here.
    pub(super) fn lay_out_visible(&mut self) {
        let messages = &self.session.conversation.messages;
        let view = &mut self.view;
        let height = view.viewport.height;
        if view.viewport.follow {
            view.history.lay_out_bottom(messages, height);
            return;
        }
        // Exact heights may end the history sooner than the estimates did, which moves
        // a view near the bottom up onto messages not laid out yet: look again then.
        for _ in 0..8 {
            let top = view.viewport.top_for(view.history.total_rows());
            view.history.lay_out_rows(messages, top, height);
            if view.viewport.top_for(view.history.total_rows()) >= top {
                break;
            }
        }
    }

    /// Whether history heights are still being measured in the background: the
    /// runtime then calls [`App::lay_out_more`] once per loop turn, after the keys.
    pub fn layout_pending(&self) -> bool {
        self.view.history.pending()
    }

    /// Measures one bounded batch of the history ([`HistoryLayout::measure_batch`]),
    /// keeping the top of the screen on the same row of the same message while the
    /// heights above it change: the user sees no jump.
    pub fn lay_out_more(&mut self) -> Vec<Effect> {
        let view = &mut self.view;
        let total = view.history.total_rows();
        let anchor = if view.viewport.follow {
            None
        } else {
            view.history.locate(view.viewport.top_for(total))
        };
        view.history
            .measure_batch(&self.session.conversation.messages);
        if let Some((index, row)) = anchor {
            view.viewport.top = view.history.start_of(index) + row;
        }
        self.lay_out_visible();
        // The rows below the screen ("↓ n more rows") changed.
        if self.view.history.total_rows() == total {
            Vec::new()
        } else {
            vec![Effect::Redraw]
        }
    }

    /// Text rows the input needs at the input box's width (for its height), counted
    /// only up to the screen's height: the box never grows past a third of the screen,
    /// so a key in a big draft measures a screenful of it, not all of it.
    pub(super) fn input_rows(&self) -> u16 {
        // The box's width does not depend on its height.
        let input_box =
            layout::areas(self.view.screen, 1, self.chrome.focus == Focus::Sidebar).input;
        let width = usize::from(layout::inner(input_box).width).max(1);
        let most = usize::from(self.view.screen.height).max(1);
        let mut rows = 0usize;
        for line in self.chrome.input.lines() {
            rows += display_width_upto(line, width * (most - rows)) / width + 1;
            if rows >= most {
                break;
            }
        }
        rows.min(most) as u16
    }
}
