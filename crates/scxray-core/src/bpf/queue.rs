//! The slots of a QUEUE or STACK map (`struct bpf_queue_stack`) in their order: a ring of
//! `size = max_entries + 1` slots, elements from `tail` up to `head` (exclusive).

/// Why a queue's indices cannot be the kernel's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// `size` is not `max_entries + 1`.
    BadSize {
        /// `bpf_queue_stack.size`.
        size: u32,
        /// `bpf_map.max_entries`.
        max_entries: u32,
    },
    /// `head` or `tail` is not below `size`.
    IndexOutOfRange {
        /// `bpf_queue_stack.head`.
        head: u32,
        /// `bpf_queue_stack.tail`.
        tail: u32,
        /// `bpf_queue_stack.size`.
        size: u32,
    },
}

/// The occupied slots, oldest first for a queue, top first for a stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSlots {
    next: u32,
    remaining: u32,
    size: u32,
    stack: bool,
}

impl QueueSlots {
    /// The slots of a queue (`stack == false`: `tail`, `tail + 1`, ... ) or stack (`head - 1`,
    /// `head - 2`, ...), after checking the indices against `size` and `max_entries`.
    ///
    /// # Errors
    /// The indices cannot be the kernel's.
    pub fn new(head: u32, tail: u32, size: u32, max_entries: u32, stack: bool) -> Result<Self, QueueError> {
        if max_entries.checked_add(1) != Some(size) {
            return Err(QueueError::BadSize { size, max_entries });
        }
        if head >= size || tail >= size {
            return Err(QueueError::IndexOutOfRange { head, tail, size });
        }
        // (head - tail) mod size, both below `size`.
        let count = u64::from(head)
            .checked_add(u64::from(size))
            .and_then(|v| v.checked_sub(u64::from(tail)))
            .and_then(|v| v.checked_rem(u64::from(size)))
            .unwrap_or(0);
        let remaining = u32::try_from(count).unwrap_or(0);
        let next = if stack { head } else { tail };
        Ok(Self { next, remaining, size, stack })
    }

    /// Elements held.
    #[must_use]
    pub fn len(&self) -> u32 {
        self.remaining
    }

    /// Whether the map holds nothing (`head == tail`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl Iterator for QueueSlots {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        self.remaining = self.remaining.checked_sub(1)?;
        let slot = if self.stack {
            // The top is the slot below `head`, wrapping to the ring's last slot.
            self.next = self.next.checked_sub(1).unwrap_or(self.size.saturating_sub(1));
            self.next
        } else {
            let slot = self.next;
            self.next = slot.saturating_add(1);
            if self.next >= self.size {
                self.next = 0;
            }
            slot
        };
        Some(slot)
    }
}
