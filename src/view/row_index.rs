//! Message heights and the rows where messages start, for a history of any length.
//!
//! A Fenwick (binary indexed) tree over the heights: changing one message's height,
//! appending one, finding the first row of a message and finding the message that holds
//! a row are each O(log n), so a batch that measures a few hundred messages of a long
//! conversation never rebuilds an O(n) prefix-sum array (design §5). It holds only
//! numbers; what a message looks like is `history_layout`'s business.

/// Heights of the messages, in order, with their prefix sums.
#[derive(Debug, Default, Clone)]
pub struct RowIndex {
    heights: Vec<u32>,
    /// `tree[i - 1]` holds the sum of heights `(i - lowbit(i)) .. i` (1-based `i`).
    tree: Vec<usize>,
    total: usize,
}

/// The lowest set bit of `i`: how many heights tree node `i` sums.
fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl RowIndex {
    /// An index of these heights, built in O(n).
    pub fn from_heights(heights: Vec<u32>) -> RowIndex {
        let mut tree: Vec<usize> = heights.iter().map(|&h| h as usize).collect();
        for i in 1..=tree.len() {
            let parent = i + lowbit(i);
            if parent <= tree.len() {
                tree[parent - 1] += tree[i - 1];
            }
        }
        let total = heights.iter().map(|&h| h as usize).sum();
        RowIndex {
            heights,
            tree,
            total,
        }
    }

    pub fn len(&self) -> usize {
        self.heights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heights.is_empty()
    }

    /// Rows of all messages.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Height of message `i` (0 past the end).
    pub fn height(&self, i: usize) -> usize {
        self.heights.get(i).map_or(0, |&h| h as usize)
    }

    /// Gives message `i` a new height in O(log n).
    pub fn set(&mut self, i: usize, height: usize) {
        let Some(old) = self.heights.get_mut(i) else {
            return;
        };
        let height = u32::try_from(height).unwrap_or(u32::MAX);
        let (old_rows, new_rows) = (*old as usize, height as usize);
        *old = height;
        self.total = self.total - old_rows + new_rows;
        let mut node = i + 1;
        while node <= self.tree.len() {
            self.tree[node - 1] = self.tree[node - 1] - old_rows + new_rows;
            node += lowbit(node);
        }
    }

    /// Appends a message of `height` rows in O(log n).
    pub fn push(&mut self, height: usize) {
        let height = u32::try_from(height).unwrap_or(u32::MAX);
        let node = self.tree.len() + 1;
        // The new node sums the heights from `node - lowbit(node)`: its own plus those
        // of the nodes below it, which already exist.
        let below = self.start_of(node - 1) - self.start_of(node - lowbit(node));
        self.heights.push(height);
        self.tree.push(below + height as usize);
        self.total += height as usize;
    }

    /// Removes the last message (the nodes before it never include it).
    pub fn pop(&mut self) {
        if let Some(h) = self.heights.pop() {
            self.tree.pop();
            self.total -= h as usize;
        }
    }

    /// The first row of message `i` (the total for `i` past the end), in O(log n).
    pub fn start_of(&self, i: usize) -> usize {
        let mut node = i.min(self.tree.len());
        let mut sum = 0;
        while node > 0 {
            sum += self.tree[node - 1];
            node -= lowbit(node);
        }
        sum
    }

    /// The message holding `row` and the row within it, in O(log n).
    pub fn locate(&self, row: usize) -> Option<(usize, usize)> {
        if row >= self.total {
            return None;
        }
        // Walk down the tree: `index` messages end at or before `row`.
        let mut index = 0;
        let mut before = 0;
        let mut step = self.tree.len().checked_ilog2().map_or(0, |b| 1usize << b);
        while step > 0 {
            let next = index + step;
            if next <= self.tree.len() && before + self.tree[next - 1] <= row {
                index = next;
                before += self.tree[next - 1];
            }
            step /= 2;
        }
        Some((index, row - before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The plain prefix sums the index must agree with.
    fn starts(heights: &[u32]) -> Vec<usize> {
        let mut out = vec![0];
        for &h in heights {
            out.push(out.last().unwrap() + h as usize);
        }
        out
    }

    fn check(index: &RowIndex, heights: &[u32]) {
        let starts = starts(heights);
        assert_eq!(index.total(), *starts.last().unwrap());
        for (i, &s) in starts.iter().enumerate() {
            assert_eq!(index.start_of(i), s, "start of {i}");
        }
        for row in 0..index.total() {
            let i = starts.partition_point(|&s| s <= row) - 1;
            assert_eq!(index.locate(row), Some((i, row - starts[i])), "row {row}");
        }
        assert_eq!(index.locate(index.total()), None);
    }

    #[test]
    fn heights_change_in_place_and_starts_follow() {
        let mut heights = vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
        let mut index = RowIndex::from_heights(heights.clone());
        check(&index, &heights);
        for (i, h) in [(0, 7), (5, 1), (10, 2), (4, 4), (7, 6)] {
            index.set(i, h as usize);
            heights[i] = h;
            check(&index, &heights);
        }
        assert_eq!(index.height(5), 1);
        assert_eq!(index.height(99), 0);
    }

    #[test]
    fn pushing_and_popping_keep_the_sums() {
        let mut heights = Vec::new();
        let mut index = RowIndex::default();
        for h in 1..=20u32 {
            index.push(h as usize % 4 + 1);
            heights.push(h % 4 + 1);
            check(&index, &heights);
        }
        for _ in 0..7 {
            index.pop();
            heights.pop();
            check(&index, &heights);
        }
        index.set(3, 10);
        heights[3] = 10;
        index.push(2);
        heights.push(2);
        check(&index, &heights);
    }

    #[test]
    fn zero_heights_are_skipped_by_locate() {
        let heights = vec![0, 2, 0, 0, 1];
        let index = RowIndex::from_heights(heights.clone());
        check(&index, &heights);
        assert_eq!(index.locate(2), Some((4, 0)));
    }
}
