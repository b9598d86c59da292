//! A timer for a deadline that is asked for again on every turn of the event loop:
//! [`Deadline`] keeps one registered timer and moves it only when the deadline moves.
//!
//! A fresh `sleep_until` each turn registers a timer with the runtime and removes it
//! again when the turn ends; while a reply streams (the autosave deadline is armed)
//! that is twice a token for a deadline that changes every two seconds.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};

/// One timer, re-armed when [`Deadline::set`] is given a different time.
#[derive(Debug)]
pub struct Deadline {
    sleep: Pin<Box<Sleep>>,
    at: Option<Instant>,
}

impl Default for Deadline {
    fn default() -> Self {
        Deadline {
            // Never polled while `at` is `None`; the time is only a placeholder.
            sleep: Box::pin(sleep_until(Instant::now() + Duration::from_secs(86_400))),
            at: None,
        }
    }
}

impl Deadline {
    /// Arms the timer for `at` (`None`: disarmed); the same time as before keeps the
    /// registered timer.
    pub fn set(&mut self, at: Option<Instant>) {
        if at == self.at {
            return;
        }
        self.at = at;
        if let Some(at) = at {
            self.sleep.as_mut().reset(at);
        }
    }

    /// Resolves when the armed time comes, never while disarmed. Once it resolved the
    /// timer is disarmed: the same time set again fires again.
    pub async fn wait(&mut self) {
        if self.at.is_none() {
            std::future::pending::<()>().await;
        }
        self.sleep.as_mut().await;
        self.at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_deadline_fires_at_its_time_and_a_moved_one_at_the_new_time() {
        let start = Instant::now();
        let mut deadline = Deadline::default();
        deadline.set(Some(start + Duration::from_millis(100)));
        deadline.wait().await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));

        deadline.set(Some(start + Duration::from_millis(500)));
        deadline.set(Some(start + Duration::from_millis(300)));
        deadline.wait().await;
        assert_eq!(start.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_time_set_again_after_it_fired_fires_again() {
        let at = Instant::now() + Duration::from_millis(50);
        let mut deadline = Deadline::default();
        deadline.set(Some(at));
        deadline.wait().await;
        deadline.set(Some(at));
        let again = tokio::time::timeout(Duration::from_millis(1), deadline.wait()).await;
        assert!(again.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_disarmed_deadline_never_fires() {
        let mut deadline = Deadline::default();
        deadline.set(Some(Instant::now() + Duration::from_millis(10)));
        deadline.set(None);
        let waited = tokio::time::timeout(Duration::from_secs(3600), deadline.wait()).await;
        assert!(waited.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_cut_short_keeps_the_deadline_armed() {
        let start = Instant::now();
        let mut deadline = Deadline::default();
        deadline.set(Some(start + Duration::from_millis(40)));
        // Another branch of the loop's select wins first, several times.
        for _ in 0..3 {
            let cut = tokio::time::timeout(Duration::from_millis(10), deadline.wait()).await;
            assert!(cut.is_err());
            deadline.set(Some(start + Duration::from_millis(40)));
        }
        deadline.wait().await;
        assert_eq!(start.elapsed(), Duration::from_millis(40));
    }
}
