//! Which conversation snapshot is saved next: [`SaveQueue`] runs saves one at a time
//! and keeps, per conversation, only the newest snapshot still waiting (gitui's
//! single-slot job, design §7). The runtime carries the saves out; this holds no I/O.

use std::collections::VecDeque;

/// Saves waiting for the one that runs.
///
/// A save is started at once when none runs. While one runs, a new snapshot waits;
/// a newer snapshot of the same conversation replaces the waiting one (it holds all
/// the older one had), keeping its place in the line, so at most one save of each
/// conversation runs and one waits. Snapshots of different conversations all wait
/// their turn: none replaces another's.
#[derive(Debug)]
pub struct SaveQueue<T> {
    running: bool,
    waiting: VecDeque<(String, T)>,
}

impl<T> Default for SaveQueue<T> {
    fn default() -> Self {
        SaveQueue {
            running: false,
            waiting: VecDeque::new(),
        }
    }
}

impl<T> SaveQueue<T> {
    /// `snapshot` of conversation `key` is to be saved. Returns it when it is to start
    /// now; otherwise it waits (replacing an older snapshot of `key`).
    #[must_use = "a returned snapshot is to be saved now"]
    pub fn request(&mut self, key: &str, snapshot: T) -> Option<T> {
        if !self.running {
            self.running = true;
            return Some(snapshot);
        }
        match self.waiting.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = snapshot,
            None => self.waiting.push_back((key.to_owned(), snapshot)),
        }
        None
    }

    /// The running save finished (well or not). Returns the snapshot to start next.
    #[must_use = "a returned snapshot is to be saved now"]
    pub fn done(&mut self) -> Option<T> {
        let next = self.waiting.pop_front().map(|(_, snapshot)| snapshot);
        self.running = next.is_some();
        next
    }

    /// Nothing runs and nothing waits: quitting loses nothing.
    pub fn idle(&self) -> bool {
        !self.running && self.waiting.is_empty()
    }

    /// Waits until every save has run, starting each waiting one with `start` as the
    /// one before it finishes. `finished` resolves when the running save reports back,
    /// with `false` when nothing can report any more (then this gives up).
    pub async fn drain(
        &mut self,
        mut start: impl FnMut(T),
        mut finished: impl AsyncFnMut() -> bool,
    ) {
        while !self.idle() {
            if !finished().await {
                return;
            }
            if let Some(next) = self.done() {
                start(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    #[test]
    fn a_save_starts_at_once_when_none_runs() {
        let mut queue = SaveQueue::default();
        assert!(queue.idle());
        assert_eq!(queue.request("a", 1), Some(1));
        assert!(!queue.idle());
        assert_eq!(queue.done(), None);
        assert!(queue.idle());
    }

    #[test]
    fn the_newest_waiting_snapshot_of_a_conversation_replaces_the_older_one() {
        let mut queue = SaveQueue::default();
        assert_eq!(queue.request("a", 1), Some(1));
        assert_eq!(queue.request("a", 2), None);
        assert_eq!(queue.request("a", 3), None);
        assert_eq!(queue.request("a", 4), None);
        // One save ran and one waited: 2 and 3 were never saved, 4 is.
        assert_eq!(queue.done(), Some(4));
        assert_eq!(queue.done(), None);
        assert!(queue.idle());
    }

    #[test]
    fn snapshots_of_other_conversations_wait_their_turn_in_order() {
        let mut queue = SaveQueue::default();
        assert_eq!(queue.request("a", "a1"), Some("a1"));
        assert_eq!(queue.request("a", "a2"), None);
        assert_eq!(queue.request("b", "b1"), None);
        // A newer snapshot of a keeps a's place in the line, before b.
        assert_eq!(queue.request("a", "a3"), None);
        assert_eq!(queue.done(), Some("a3"));
        assert_eq!(queue.request("a", "a4"), None);
        assert_eq!(queue.done(), Some("b1"));
        assert_eq!(queue.done(), Some("a4"));
        assert_eq!(queue.done(), None);
        assert!(queue.idle());
    }

    /// Saves as the runtime runs them: each takes 50 ms on its own task, records the
    /// snapshot it wrote and reports back on a channel.
    struct FakeStore {
        written: Arc<Mutex<Vec<u32>>>,
        report: mpsc::UnboundedSender<()>,
    }

    impl FakeStore {
        fn start(&self) -> impl FnMut(u32) + use<> {
            let written = Arc::clone(&self.written);
            let report = self.report.clone();
            move |snapshot| {
                let written = Arc::clone(&written);
                let report = report.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    written.lock().map(|mut w| w.push(snapshot)).ok();
                    let _ = report.send(());
                });
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_quit_waits_for_the_running_and_the_waiting_saves() {
        let (report, mut reports) = mpsc::unbounded_channel();
        let store = FakeStore {
            written: Arc::default(),
            report,
        };
        let mut start = store.start();
        let mut queue = SaveQueue::default();
        for snapshot in [1, 2, 3] {
            if let Some(now) = queue.request("a", snapshot) {
                start(now);
            }
        }
        // Quitting now: nothing is written yet.
        assert_eq!(*store.written.lock().unwrap(), Vec::<u32>::new());
        let began = tokio::time::Instant::now();
        queue
            .drain(store.start(), async || reports.recv().await.is_some())
            .await;
        assert_eq!(*store.written.lock().unwrap(), [1, 3]);
        assert_eq!(began.elapsed(), Duration::from_millis(100));
        assert!(queue.idle());
    }

    #[tokio::test(start_paused = true)]
    async fn a_drain_gives_up_when_nothing_can_report_any_more() {
        let mut queue = SaveQueue::default();
        assert_eq!(queue.request("a", 1), Some(1));
        assert_eq!(queue.request("a", 2), None);
        let mut started = Vec::new();
        queue.drain(|s| started.push(s), async || false).await;
        assert_eq!(started, Vec::<u32>::new());
    }

    #[tokio::test(start_paused = true)]
    async fn a_drain_with_nothing_to_save_returns_at_once() {
        let mut queue = SaveQueue::<u32>::default();
        let mut asked = 0;
        queue
            .drain(
                |_| {},
                async || {
                    asked += 1;
                    true
                },
            )
            .await;
        assert_eq!(asked, 0);
    }
}
