//! Scroll position of the conversation pane.
//!
//! The pane either follows the bottom (the live reply stays in view) or stays where the
//! user scrolled to (spec §5: following stops when the user scrolls up and resumes at
//! the bottom). Offsets are `usize` rows into the history layout, so very long
//! conversations cannot overflow them (unlike a `u16` paragraph scroll).

/// Scroll state of the history pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    /// Keep the bottom in view as text arrives.
    pub follow: bool,
    /// First visible row when not following.
    pub top: usize,
    /// Rows the pane shows.
    pub height: usize,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport {
            follow: true,
            top: 0,
            height: 1,
        }
    }
}

impl Viewport {
    /// The first visible row for a history of `total` rows.
    pub fn top_for(&self, total: usize) -> usize {
        let max_top = total.saturating_sub(self.height);
        if self.follow {
            max_top
        } else {
            self.top.min(max_top)
        }
    }

    /// Scrolls by `delta` rows; reaching the bottom resumes following.
    pub fn scroll_by(&mut self, delta: isize, total: usize) {
        let max_top = total.saturating_sub(self.height);
        let top = self
            .top_for(total)
            .saturating_add_signed(delta)
            .min(max_top);
        self.top = top;
        self.follow = top >= max_top;
    }

    pub fn to_top(&mut self) {
        self.top = 0;
        self.follow = false;
    }

    pub fn to_bottom(&mut self) {
        self.follow = true;
    }

    /// Scrolls just enough that rows `first..first + rows` are visible (top first).
    pub fn reveal(&mut self, first: usize, rows: usize, total: usize) {
        let top = self.top_for(total);
        let height = self.height.max(1);
        let new_top = if first < top {
            first
        } else if first + rows.min(height) > top + height {
            (first + rows.min(height)).saturating_sub(height)
        } else {
            top
        };
        let max_top = total.saturating_sub(height);
        self.top = new_top.min(max_top);
        self.follow = self.top >= max_top;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_up_stops_following_and_the_bottom_resumes_it() {
        let mut v = Viewport {
            height: 10,
            ..Viewport::default()
        };
        assert_eq!(v.top_for(100), 90);
        v.scroll_by(-5, 100);
        assert!(!v.follow);
        assert_eq!(v.top_for(120), 85);
        v.scroll_by(1000, 120);
        assert!(v.follow);
        assert_eq!(v.top_for(130), 120);
    }

    #[test]
    fn reveal_scrolls_to_show_rows() {
        let mut v = Viewport {
            height: 10,
            ..Viewport::default()
        };
        v.reveal(5, 3, 100);
        assert_eq!((v.top, v.follow), (5, false));
        v.reveal(30, 2, 100);
        assert_eq!(v.top, 22);
        v.reveal(95, 5, 100);
        assert!(v.follow);
    }
}
