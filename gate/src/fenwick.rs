//! A growable Fenwick tree (binary indexed tree) of small counts: the order-statistics structure
//! behind queue positions.
//!
//! Slot `i` (1-based) holds 1 when the ticket in that slot is live. A position is a prefix sum,
//! so it costs O(log n); a new ticket is appended in O(log n) without rebuilding the tree.

/// Prefix sums over a growable array of `u32` counts, 1-indexed.
#[derive(Debug, Clone)]
pub(crate) struct Fenwick {
    /// `tree[0]` is unused so that the classic 1-based index arithmetic applies unchanged.
    tree: Vec<u32>,
}

/// The lowest set bit of `i`: the width of the range that `tree[i]` sums.
fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl Fenwick {
    /// An empty tree.
    pub(crate) fn new() -> Self {
        Fenwick { tree: vec![0] }
    }

    /// How many slots the tree holds.
    pub(crate) fn len(&self) -> usize {
        self.tree.len() - 1
    }

    /// The sum of slots `1..=i`.
    pub(crate) fn prefix(&self, mut i: usize) -> u64 {
        debug_assert!(i <= self.len());
        let mut sum = 0u64;
        while i > 0 {
            sum += u64::from(self.tree[i]);
            i -= lowbit(i);
        }
        sum
    }

    /// Adds `delta` to slot `i`.
    pub(crate) fn add(&mut self, mut i: usize, delta: i32) {
        debug_assert!(i >= 1 && i <= self.len());
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(delta);
            i += lowbit(i);
        }
    }

    /// Appends a slot holding `value`.
    ///
    /// `tree[i]` sums the slots `i - lowbit(i) + 1 ..= i`; all but the last are already in the
    /// tree, and their sum is `prefix(i - 1) - prefix(i - lowbit(i))`.
    pub(crate) fn push(&mut self, value: u32) {
        let i = self.tree.len();
        let before = self.prefix(i - 1) - self.prefix(i - lowbit(i));
        // The covered range holds at most `i` unit counts, so it fits in u32 for any queue that
        // fits in memory.
        self.tree.push(value + before as u32);
    }

    /// Replaces the whole content with `values`, in O(n), reusing the allocation.
    pub(crate) fn rebuild(&mut self, values: impl Iterator<Item = u32>) {
        self.tree.truncate(1);
        self.tree.extend(values);
        let n = self.len();
        for i in 1..=n {
            let parent = i + lowbit(i);
            if parent <= n {
                self.tree[parent] += self.tree[i];
            }
        }
    }

    /// Bytes held by the tree's allocation.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.tree.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_slots_and_updates_give_the_same_sums_as_a_plain_array() {
        let mut fenwick = Fenwick::new();
        let mut plain = Vec::new();
        for k in 0..300u32 {
            let v = (k * 7 + 3) % 3;
            fenwick.push(v);
            plain.push(v);
            if k % 5 == 0 && plain[(k / 2) as usize] > 0 {
                plain[(k / 2) as usize] -= 1;
                fenwick.add((k / 2) as usize + 1, -1);
            }
        }
        for i in 0..=plain.len() {
            let expected: u64 = plain[..i].iter().map(|&v| u64::from(v)).sum();
            assert_eq!(fenwick.prefix(i), expected, "prefix({i})");
        }
    }

    #[test]
    fn rebuild_matches_incremental_pushes() {
        let values: Vec<u32> = (0..1000).map(|k| (k % 3 == 0) as u32).collect();
        let mut pushed = Fenwick::new();
        values.iter().for_each(|&v| pushed.push(v));
        let mut rebuilt = Fenwick::new();
        rebuilt.push(5);
        rebuilt.rebuild(values.iter().copied());
        assert_eq!(pushed.tree, rebuilt.tree);
    }
}
