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

use super::{App, Focus, Viewport};

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
        let total = view.history.total_rows();
        let anchor = view
            .history
            .locate(view.viewport.top_for(total))
            .filter(|_| !view.viewport.follow);
        self.lay_out_history(width, self.view.history.code_theme());
        if let Some((index, row)) = anchor {
            let view = &mut self.view;
            let rows = view
                .history
                .message(index)
                .map_or(1, crate::view::history_layout::MessageLayout::height);
            view.viewport.top = view.history.start_of(index) + row.min(rows - 1);
        }
    }

    /// Picks the code highlighting colours for this terminal's theme (the runtime
    /// calls this once at start-up, before the first frame).
    pub fn set_code_theme(&mut self, theme: CodeTheme) {
        if theme != self.view.history.code_theme() {
            self.lay_out_history(self.view.history.width(), theme);
        }
    }

    /// Lays the whole conversation out again: a new width, theme or conversation.
    pub(crate) fn lay_out_history(&mut self, width: usize, theme: CodeTheme) {
        self.view.history = HistoryLayout::new(
            self.session.conversation.messages.iter().map(AsRef::as_ref),
            width,
            theme,
        );
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
