//! Loop detection for pointer chains in constant memory (Brent's algorithm): a chain that
//! comes back to a node it passed is reported as a loop once it has gone round at most
//! twice, long before a cap would end it, and without remembering the nodes.

/// Watches the nodes of one chain, in order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoopCheck {
    saved: u64,
    power: u32,
    steps: u32,
}

impl LoopCheck {
    /// A chain that starts at `first`.
    pub(crate) fn new(first: u64) -> Self {
        Self { saved: first, power: 1, steps: 0 }
    }

    /// The chain went on to `node`: true when `node` was passed before (a loop). Every node
    /// of a loop is reported within two turns of it.
    pub(crate) fn step(&mut self, node: u64) -> bool {
        if node == self.saved {
            return true;
        }
        self.steps = self.steps.saturating_add(1);
        if self.steps == self.power {
            self.saved = node;
            self.power = self.power.saturating_mul(2);
            self.steps = 0;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::LoopCheck;

    /// Follows `next` from `start` until it ends (0), loops, or 10 000 steps.
    fn run(next: &[u64], start: u64) -> (bool, u32) {
        let mut check = LoopCheck::new(start);
        let mut node = start;
        for steps in 1..10_000 {
            node = next[node as usize];
            if node == 0 {
                return (false, steps);
            }
            if check.step(node) {
                return (true, steps);
            }
        }
        panic!("no end and no loop found");
    }

    #[test]
    fn chains_end_and_loops_are_found_within_two_turns() {
        // 1 -> 2 -> 3 -> 0: ends.
        assert_eq!(run(&[0, 2, 3, 0], 1), (false, 3));
        // 1 -> 1: a node pointing at itself.
        assert!(run(&[0, 1], 1).0);
        // A tail of 5 into a loop of 7: found, in at most tail + 2 * (loop rounded up).
        let mut next: [u64; 13] = core::array::from_fn(|i| i as u64 + 1);
        next[0] = 0;
        next[12] = 6;
        let (looped, steps) = run(&next, 1);
        assert!(looped);
        assert!(steps <= 5 + 2 * 8 + 8, "{steps}");
    }
}
