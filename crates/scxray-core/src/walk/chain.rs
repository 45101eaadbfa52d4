//! One `dsq_hash` bucket chain, measured before it is reported, so that each node is reported
//! once however the chain loops, without an allocator and in bounded reads.
//!
//! A chain the kernel builds holds at most `RHT_ELASTICITY` (16) entries and ends at its
//! bucket's nulls marker. The scan keeps the first [`CHAIN_BUFFER`] nodes on the stack: a
//! chain that ends or loops back within them is read once, and reported from the buffer. A
//! longer one (hostile memory) is measured from its head: Brent's cycle detection gives the
//! loop's length, a second walk the loop's start, and the chain is then reported up to its
//! last distinct node. Each step reads one `next`; the whole costs at most 6 reads per node
//! reported (the unit tests check it).

use crate::error::ReadError;
use crate::limits::CHAIN_BUFFER;

/// Whether `next` ends a chain: 0, or a nulls marker (bit 0 set).
#[inline]
pub(crate) const fn is_end(next: u64) -> bool {
    next == 0 || next & 1 != 0
}

/// How a chain ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChainEnd {
    /// At this value (0, or a nulls marker), read from the last node's `next`.
    End(u64),
    /// A node's `next` leads back to a node already in the chain.
    Loop,
    /// The chain holds more distinct nodes than the limit.
    Limit,
    /// A node's `next` could not be read (the node itself is in the chain).
    Broken(ReadError),
}

/// What a scan found: the chain's distinct nodes (the first ones in a buffer) and its end.
#[derive(Debug)]
pub(crate) struct ChainScan {
    buf: [u64; CHAIN_BUFFER],
    /// Nodes in `buf`.
    buffered: usize,
    /// Distinct nodes to report, at most the limit.
    pub(crate) distinct: u32,
    /// The node after the buffered ones, when there are more.
    after: u64,
    /// The last node reported, whose `next` ended the chain (for [`ChainEnd::End`] and
    /// [`ChainEnd::Broken`]).
    pub(crate) last: u64,
    /// How it ends.
    pub(crate) end: ChainEnd,
}

impl ChainScan {
    /// Calls `report` with each of the chain's distinct nodes in chain order, reading the ones
    /// past the buffer again with `next`. Returns the read error that cut it short, if one
    /// did (only memory that changes under the walk fails a read the scan made).
    pub(crate) fn report<E>(
        &self,
        mut next: impl FnMut(u64) -> Result<u64, E>,
        mut report: impl FnMut(u64) -> bool,
    ) -> Result<(), E> {
        for &node in self.buf.iter().take(self.buffered) {
            if !report(node) {
                return Ok(());
            }
        }
        let mut node = self.after;
        let mut left = self.distinct.saturating_sub(u32::try_from(self.buffered).unwrap_or(u32::MAX));
        while left > 0 {
            if !report(node) {
                return Ok(());
            }
            left = left.saturating_sub(1);
            if left > 0 {
                node = next(node)?;
            }
        }
        Ok(())
    }
}

/// Scans the chain starting at node `head` (not an end value) for at most `limit` distinct
/// nodes, `next(node)` reading a node's `next`.
pub(crate) fn scan_chain(
    head: u64,
    limit: u32,
    mut next: impl FnMut(u64) -> Result<u64, ReadError>,
) -> ChainScan {
    let mut s = ChainScan {
        buf: [0; CHAIN_BUFFER],
        buffered: 0,
        distinct: 0,
        after: 0,
        last: 0,
        end: ChainEnd::Limit,
    };
    let mut node = head;
    loop {
        let seen = s.buf.get(..s.buffered).unwrap_or(&[]);
        if is_end(node) {
            s.end = ChainEnd::End(node);
            break;
        }
        if seen.contains(&node) {
            s.end = ChainEnd::Loop;
            break;
        }
        if u32::try_from(s.buffered).map_or(true, |n| n >= limit) {
            break;
        }
        let Some(slot) = s.buf.get_mut(s.buffered) else {
            // More than the buffer holds, and still going: measure it from the head.
            s.after = node;
            measure(&mut s, head, limit, next);
            return s;
        };
        *slot = node;
        s.buffered = s.buffered.saturating_add(1);
        s.last = node;
        match next(node) {
            Ok(n) => node = n,
            Err(e) => {
                s.end = ChainEnd::Broken(e);
                break;
            }
        }
    }
    s.distinct = u32::try_from(s.buffered).unwrap_or(u32::MAX);
    s
}

/// The long path of [`scan_chain`]: the chain from `head` holds more than [`CHAIN_BUFFER`]
/// distinct nodes (all in `s.buf`, then `s.after`). Sets `s.distinct` and `s.end`.
fn measure(s: &mut ChainScan, head: u64, limit: u32, mut next: impl FnMut(u64) -> Result<u64, ReadError>) {
    // Brent: the tortoise jumps to the hare after 1, 2, 4, ... steps; the hare meets it once
    // the tortoise is in the loop and the jump span covers the loop's length. A chain of
    // `D = mu + lambda` distinct nodes is decided within 3 D steps, so one that is not
    // decided within 3 limit + 3 holds more than `limit`.
    let steps = limit.saturating_mul(3).saturating_add(3);
    // The hare is node `i` of the chain (the head is node 0): node `CHAIN_BUFFER`, `s.after`.
    // Nodes 0 to `i` are distinct, so a walk from the head would not have met before; its
    // state here is rebuilt from the buffer: the tortoise last jumped at node `power - 1`,
    // for the largest power of two `power <= i`, and `lambda` steps have been taken since.
    let mut i = u32::try_from(CHAIN_BUFFER).unwrap_or(u32::MAX);
    let mut power: u32 = 1;
    while power.saturating_mul(2) <= i {
        power = power.saturating_mul(2);
    }
    let jumped = power.saturating_sub(1);
    let mut tortoise = s.buf.get(usize::try_from(jumped).unwrap_or(usize::MAX)).copied().unwrap_or(head);
    let mut hare = s.after;
    let mut lambda = i.saturating_sub(jumped);
    let loop_len = loop {
        if is_end(hare) {
            s.end = ChainEnd::End(hare);
            s.distinct = i;
            break None;
        }
        if hare == tortoise {
            break Some(lambda);
        }
        if i >= steps {
            s.end = ChainEnd::Limit;
            s.distinct = limit;
            return;
        }
        if power == lambda {
            tortoise = hare;
            power = power.saturating_mul(2);
            lambda = 0;
        }
        s.last = hare;
        match next(hare) {
            Ok(n) => hare = n,
            Err(e) => {
                s.end = ChainEnd::Broken(e);
                s.distinct = i.saturating_add(1);
                break None;
            }
        }
        lambda = lambda.saturating_add(1);
        i = i.saturating_add(1);
    };
    if let Some(lambda) = loop_len {
        (s.distinct, s.end) = match loop_start(head, lambda, limit, &mut next) {
            Ok(Some(mu)) => (mu.saturating_add(lambda), ChainEnd::Loop),
            Ok(None) => (limit, ChainEnd::Limit),
            // Only memory that changes under the walk fails a read made before: keep what
            // the buffer holds for sure.
            Err(e) => (u32::try_from(s.buffered).unwrap_or(u32::MAX), ChainEnd::Broken(e)),
        };
    }
    if s.distinct > limit {
        s.distinct = limit;
        s.end = ChainEnd::Limit;
    }
}

/// The index of the first node of the loop of length `lambda` in the chain from `head`: two
/// walkers `lambda` nodes apart meet there. `None` when it lies past `limit - lambda` (the
/// chain then holds more than `limit` distinct nodes).
fn loop_start(
    head: u64,
    lambda: u32,
    limit: u32,
    next: &mut impl FnMut(u64) -> Result<u64, ReadError>,
) -> Result<Option<u32>, ReadError> {
    if lambda > limit {
        return Ok(None);
    }
    let (mut a, mut b) = (head, head);
    for _ in 0..lambda {
        b = next(b)?;
    }
    let mut mu: u32 = 0;
    while a != b {
        if mu >= limit.saturating_sub(lambda) {
            return Ok(None);
        }
        a = next(a)?;
        b = next(b)?;
        mu = mu.saturating_add(1);
    }
    Ok(Some(mu))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::VirtAddr;
    use crate::error::{Field, ReadCause};
    use core::cell::Cell;
    use std::vec::Vec;

    extern crate std;

    /// A chain of `mu` tail nodes then a loop of `lambda` nodes (0: no loop, the chain ends
    /// at a nulls marker), nodes at 0x1000 + 16 i. Returns the scan, the nodes reported and
    /// the `next` reads made.
    fn run(mu: u32, lambda: u32, limit: u32) -> (ChainScan, Vec<u64>, u32) {
        let len = mu + lambda;
        let addr = |i: u32| 0x1000 + 16 * u64::from(i);
        let reads = Cell::new(0u32);
        let next = |node: u64| -> Result<u64, ReadError> {
            reads.set(reads.get() + 1);
            let i = u32::try_from((node - 0x1000) / 16).unwrap();
            Ok(if i + 1 < len {
                addr(i + 1)
            } else if lambda == 0 {
                0xdead_0001
            } else {
                addr(mu)
            })
        };
        let s = scan_chain(addr(0), limit, next);
        let mut out = Vec::new();
        s.report(next, |n| {
            out.push(n);
            true
        })
        .unwrap();
        (s, out, reads.get())
    }

    #[test]
    fn every_chain_is_reported_once_up_to_the_limit_within_six_reads_a_node() {
        for limit in [1u32, 5, 31, 32, 33, 40, 64, 100] {
            for mu in 0..90 {
                for lambda in 0..90 {
                    if mu + lambda == 0 {
                        continue;
                    }
                    let (s, out, reads) = run(mu, lambda, limit);
                    let distinct = (mu + lambda).min(limit);
                    let want: Vec<u64> = (0..distinct).map(|i| 0x1000 + 16 * u64::from(i)).collect();
                    assert_eq!(out, want, "mu {mu} lambda {lambda} limit {limit}");
                    let end = if mu + lambda > limit {
                        ChainEnd::Limit
                    } else if lambda == 0 {
                        ChainEnd::End(0xdead_0001)
                    } else {
                        ChainEnd::Loop
                    };
                    assert_eq!(s.end, end, "mu {mu} lambda {lambda} limit {limit}");
                    assert!(
                        reads <= 6 * distinct.max(1) + 3,
                        "mu {mu} lambda {lambda} limit {limit}: {reads} reads"
                    );
                    if distinct as usize <= CHAIN_BUFFER && mu + lambda <= CHAIN_BUFFER as u32 {
                        assert!(reads <= distinct, "a buffered chain is read once: {reads}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_read_error_ends_the_chain_after_the_node_it_belongs_to() {
        for at in [0u64, 3, 31, 32, 33, 70] {
            let next = |node: u64| -> Result<u64, ReadError> {
                if node == 0x1000 + 16 * at {
                    Err(ReadError {
                        field: Field::RhashHeadNext,
                        kva: VirtAddr(node),
                        cause: ReadCause::NullPointer,
                    })
                } else {
                    Ok(node + 16)
                }
            };
            let s = scan_chain(0x1000, 1024, next);
            assert_eq!(s.distinct, u32::try_from(at).unwrap() + 1);
            assert!(matches!(s.end, ChainEnd::Broken(e) if e.kva.0 == 0x1000 + 16 * at), "{:?}", s.end);
            assert_eq!(s.last, 0x1000 + 16 * at);
        }
    }
}
