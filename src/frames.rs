//! When the event loop draws: [`FrameSchedule`] turns redraw requests into frames, at
//! most one per period, and keeps no timer while nothing asked for one (design §4).

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// Redraw requests coalesced into frames.
///
/// A request while no frame is due schedules one: at once if the last frame is at
/// least a period old, else a period after it. Requests while a frame is due are
/// absorbed by it: the frame draws the state as it is when it is drawn, so whatever
/// changed during the wait is on it, and nothing is lost. After a frame nothing is due
/// until the next request, so an idle loop has no deadline to wake up for.
#[derive(Debug)]
pub struct FrameSchedule {
    period: Duration,
    last_frame: Option<Instant>,
    due: Option<Instant>,
}

impl FrameSchedule {
    pub fn new(period: Duration) -> FrameSchedule {
        FrameSchedule {
            period,
            last_frame: None,
            due: None,
        }
    }

    /// Something visible changed at `now`: a frame will show it.
    pub fn request(&mut self, now: Instant) {
        if self.due.is_some() {
            return;
        }
        let earliest = self.last_frame.map_or(now, |last| last + self.period);
        self.due = Some(earliest.max(now));
    }

    /// When the next frame is to be drawn; `None` while nothing asked for one.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Resolves when the due frame's time has come; never while none is due (a branch
    /// of the loop's `select!` that costs nothing while idle). A frame whose time has
    /// already come needs no timer: registering one would wake the runtime's timer
    /// thread for nothing, once a frame.
    pub async fn wait(&self) {
        match self.due {
            Some(due) if due <= Instant::now() => {}
            Some(due) => sleep_until(due).await,
            None => std::future::pending().await,
        }
    }

    /// A frame was drawn at `now` (also the first one, which no request asked for).
    pub fn drawn(&mut self, now: Instant) {
        self.due = None;
        self.last_frame = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_millis(16);

    /// A loop as the runtime runs it: `changes` are (offset from start, new state)
    /// applied with a redraw request each; frames record the state they showed and when.
    async fn frames_for(changes: &[(u64, u32)]) -> Vec<(u64, u32)> {
        let start = Instant::now();
        let mut schedule = FrameSchedule::new(PERIOD);
        let mut state = 0;
        let mut drawn = Vec::new();
        let mut next = changes.iter().peekable();
        loop {
            let change_at = next
                .peek()
                .map(|(ms, _)| start + Duration::from_millis(*ms));
            // Biased: a change that falls on a frame's time is applied before it.
            tokio::select! {
                biased;
                () = async {
                    match change_at {
                        Some(at) => sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    if let Some((_, value)) = next.next() {
                        state = *value;
                        schedule.request(Instant::now());
                    }
                }
                () = schedule.wait() => {
                    drawn.push((start.elapsed().as_millis() as u64, state));
                    schedule.drawn(Instant::now());
                }
                // Nothing more will change and no frame is due: the loop would sleep.
                () = std::future::ready(()), if change_at.is_none() && schedule.due().is_none() => {
                    return drawn;
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_after_a_quiet_time_is_drawn_at_once() {
        assert_eq!(frames_for(&[(100, 1)]).await, [(100, 1)]);
    }

    #[tokio::test(start_paused = true)]
    async fn changes_closer_than_a_period_are_coalesced_and_the_last_one_is_drawn() {
        // One change every 2 ms for 40 ms: a frame at once, then one every 16 ms, and
        // the final state (20) on the last frame.
        let changes: Vec<(u64, u32)> = (1..=20).map(|i| (u64::from(i) * 2, i)).collect();
        assert_eq!(
            frames_for(&changes).await,
            [(2, 1), (18, 9), (34, 17), (50, 20)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn frames_never_come_closer_than_the_period() {
        let changes: Vec<(u64, u32)> = (0..1000).map(|i| (u64::from(i), i)).collect();
        let frames = frames_for(&changes).await;
        for pair in frames.windows(2) {
            assert!(pair[1].0 - pair[0].0 >= 16, "{pair:?}");
        }
        // 1 s of changes at most 60 frames a second, the last state included.
        assert!(frames.len() <= 64, "{}", frames.len());
        assert_eq!(frames.last(), Some(&(1008, 999)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_during_the_wait_is_shown_by_the_frame_that_was_due() {
        // The second change arrives while the frame for it is still waiting on the
        // period: that frame shows it, no later frame is needed.
        assert_eq!(
            frames_for(&[(0, 1), (5, 2), (10, 3)]).await,
            [(0, 1), (16, 3)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_due_while_idle_and_nothing_wakes_the_loop() {
        let mut schedule = FrameSchedule::new(PERIOD);
        assert_eq!(schedule.due(), None);
        schedule.request(Instant::now());
        schedule.drawn(Instant::now());
        assert_eq!(schedule.due(), None);
        // With the clock paused, a pending sleep would be run to by auto-advance; a
        // wait that never resolves shows no deadline exists.
        let waited = tokio::time::timeout(Duration::from_secs(3600), schedule.wait()).await;
        assert!(waited.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_soon_after_a_frame_waits_for_the_period_to_end() {
        let mut schedule = FrameSchedule::new(PERIOD);
        let start = Instant::now();
        schedule.drawn(start);
        tokio::time::advance(Duration::from_millis(3)).await;
        schedule.request(Instant::now());
        assert_eq!(schedule.due(), Some(start + PERIOD));
        // A second request keeps the deadline.
        tokio::time::advance(Duration::from_millis(5)).await;
        schedule.request(Instant::now());
        assert_eq!(schedule.due(), Some(start + PERIOD));
    }
}
