//! The view model: everything derived for drawing — the terminal size, where each part
//! of the screen goes, the history laid out at the conversation pane's width, and the
//! scroll position over it (design §1, §5).
//!
//! Owned by [`App`](super::App) and brought up to date once at the end of every update
//! ([`App::sync`](super::App)), from what changed: the areas are computed again only
//! when the screen, the input's height or the sidebar's visibility changed, and the
//! history is laid out again only when its width did. `draw` only borrows it.

use ratatui::layout::Rect;

use crate::view::history_layout::HistoryLayout;
use crate::view::layout::Areas;

use super::Viewport;

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
