//! Each connection's send buffer, shared by both backends: callers queue bytes here, the
//! backend hands them to the kernel at the end of a poll.

use crate::ConnId;

/// Why a send was refused. Nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The connection is closed or closing (or the id is from a slot since reused).
    #[error("connection closed")]
    Closed,
    /// The connection's send buffer has no room: the peer is not reading fast enough.
    #[error("send buffer full: {queued} of {capacity} bytes queued, {wanted} more wanted")]
    Full {
        /// Bytes already queued.
        queued: usize,
        /// The buffer's size.
        capacity: usize,
        /// The refused send's size.
        wanted: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    Free,
    Open,
    /// Close requested: queued bytes are still sent, nothing new is accepted.
    Closing,
}

pub(crate) struct SendSlot {
    pub(crate) generation: u32,
    pub(crate) state: SlotState,
    buffer: Box<[u8]>,
    /// Bytes before `head` are sent; `head..head + in_flight` are with the kernel;
    /// the rest up to `tail` wait.
    head: usize,
    in_flight: usize,
    tail: usize,
    dirty: bool,
}

/// Every connection's send buffer. A [`crate::Handler`] gets it with each call, so replies
/// are queued while a request is handled; [`crate::Transport::outbox`] gives it outside.
pub struct Outbox {
    slots: Vec<SendSlot>,
    /// Slots with bytes to hand over or a close to carry out, each listed once.
    dirty: Vec<u32>,
}

impl Outbox {
    pub(crate) fn new(connections_max: usize, buffer_bytes: usize) -> Outbox {
        let slots = (0..connections_max)
            .map(|_| SendSlot {
                generation: 0,
                state: SlotState::Free,
                buffer: vec![0u8; buffer_bytes].into_boxed_slice(),
                head: 0,
                in_flight: 0,
                tail: 0,
                dirty: false,
            })
            .collect();
        Outbox {
            slots,
            dirty: Vec::with_capacity(connections_max),
        }
    }

    /// Queues `bytes` on `conn`, whole or not at all.
    ///
    /// # Errors
    /// [`SendError::Closed`] for a closed or stale connection, [`SendError::Full`] when
    /// the bytes do not fit beside what is queued.
    pub fn send(&mut self, conn: ConnId, bytes: &[u8]) -> Result<(), SendError> {
        let slot = self.open_slot(conn)?;
        let capacity = slot.buffer.len();
        if slot.tail + bytes.len() > capacity && slot.in_flight == 0 && slot.head > 0 {
            // Compact only when the kernel holds no part of the buffer.
            slot.buffer.copy_within(slot.head..slot.tail, 0);
            slot.tail -= slot.head;
            slot.head = 0;
        }
        if slot.tail + bytes.len() > capacity {
            return Err(SendError::Full {
                queued: slot.tail - slot.head,
                capacity,
                wanted: bytes.len(),
            });
        }
        slot.buffer[slot.tail..slot.tail + bytes.len()].copy_from_slice(bytes);
        slot.tail += bytes.len();
        self.mark_dirty(conn.slot);
        Ok(())
    }

    /// Closes `conn` once what is queued has been sent; later sends are refused. Closing a
    /// closed or stale connection does nothing.
    pub fn close(&mut self, conn: ConnId) {
        if let Ok(slot) = self.open_slot(conn) {
            slot.state = SlotState::Closing;
            self.mark_dirty(conn.slot);
        }
    }

    /// Bytes queued on `conn` and not yet taken by the kernel (zero when closed).
    #[must_use]
    pub fn queued(&self, conn: ConnId) -> usize {
        match self.slots.get(conn.slot()) {
            Some(slot) if slot.generation == conn.generation && slot.state != SlotState::Free => {
                slot.tail - slot.head
            }
            _ => 0,
        }
    }

    /// The largest send `conn` takes now: [`Outbox::send`] of this many bytes or fewer
    /// succeeds (zero when closed, closing or stale). Both backends share this buffer, so
    /// the figure means the same on each: it grows as the kernel takes queued bytes, that
    /// is, as the peer reads. A caller with more to send than fits (a resend) sends what
    /// fits and comes back for the rest, instead of overrunning the buffer.
    #[must_use]
    pub fn room(&self, conn: ConnId) -> usize {
        match self.slots.get(conn.slot()) {
            Some(slot) if slot.generation == conn.generation && slot.state == SlotState::Open => {
                // `send` compacts the buffer when the kernel holds none of it, so then
                // the sent bytes before `head` are room too.
                let used = if slot.in_flight == 0 {
                    slot.tail - slot.head
                } else {
                    slot.tail
                };
                slot.buffer.len() - used
            }
            _ => 0,
        }
    }

    /// Whether any connection has bytes not yet taken by the kernel, or a close to carry
    /// out.
    #[must_use]
    pub fn has_unsent(&self) -> bool {
        !self.dirty.is_empty()
            || self
                .slots
                .iter()
                .any(|slot| slot.state != SlotState::Free && slot.tail > slot.head)
    }

    /// Each connection's send buffer size, bytes (`NetConfig::send_buffer_bytes`).
    #[must_use]
    pub fn buffer_bytes(&self) -> usize {
        self.slots.first().map_or(0, |slot| slot.buffer.len())
    }

    /// Whether a connection slot is free: an accept now would find room.
    pub(crate) fn has_free_slot(&self) -> bool {
        self.slots.iter().any(|slot| slot.state == SlotState::Free)
    }

    /// Whether `conn` is open (not closing, closed or stale).
    #[must_use]
    pub fn is_open(&self, conn: ConnId) -> bool {
        self.slots
            .get(conn.slot())
            .is_some_and(|slot| slot.generation == conn.generation && slot.state == SlotState::Open)
    }

    fn open_slot(&mut self, conn: ConnId) -> Result<&mut SendSlot, SendError> {
        match self.slots.get_mut(conn.slot()) {
            Some(slot) if slot.generation == conn.generation && slot.state == SlotState::Open => {
                Ok(slot)
            }
            _ => Err(SendError::Closed),
        }
    }

    fn mark_dirty(&mut self, slot: u32) {
        let entry = &mut self.slots[slot as usize];
        if !entry.dirty {
            entry.dirty = true;
            self.dirty.push(slot);
        }
    }

    // ---- the backends' side ----

    /// Takes a free slot and opens it under a new generation.
    pub(crate) fn open(&mut self) -> Option<ConnId> {
        let slot = self.slots.iter().position(|s| s.state == SlotState::Free)?;
        let entry = &mut self.slots[slot];
        entry.generation = entry.generation.wrapping_add(1);
        entry.state = SlotState::Open;
        entry.head = 0;
        entry.in_flight = 0;
        entry.tail = 0;
        #[allow(clippy::cast_possible_truncation)] // slots are fewer than SLOT_MAX
        Some(ConnId {
            slot: slot as u32,
            generation: entry.generation,
        })
    }

    /// The slot's current id, if it is not free.
    pub(crate) fn id(&self, slot: u32) -> Option<ConnId> {
        let entry = self.slots.get(slot as usize)?;
        (entry.state != SlotState::Free).then_some(ConnId {
            slot,
            generation: entry.generation,
        })
    }

    pub(crate) fn slot(&self, slot: u32) -> &SendSlot {
        &self.slots[slot as usize]
    }

    /// Frees the slot: queued bytes are dropped, the id goes stale.
    pub(crate) fn free(&mut self, slot: u32) {
        let entry = &mut self.slots[slot as usize];
        entry.state = SlotState::Free;
        entry.head = 0;
        entry.in_flight = 0;
        entry.tail = 0;
    }

    /// Swaps the dirty list with `scratch` (empty, with room for every slot), clearing
    /// every listed slot's mark; slots marked while the caller works through the list go
    /// on the fresh one. Neither list ever grows past its capacity, so no poll allocates.
    pub(crate) fn swap_dirty(&mut self, scratch: &mut Vec<u32>) {
        debug_assert!(scratch.is_empty());
        std::mem::swap(&mut self.dirty, scratch);
        for &slot in scratch.iter() {
            self.slots[slot as usize].dirty = false;
        }
    }

    /// Marks the slot for the backend to look at again on the next poll.
    pub(crate) fn redirty(&mut self, slot: u32) {
        self.mark_dirty(slot);
    }

    /// The bytes waiting to be handed to the kernel (after those in flight), and the
    /// offset of the first of them in the slot's buffer.
    pub(crate) fn waiting(&self, slot: u32) -> (usize, &[u8]) {
        let entry = &self.slots[slot as usize];
        let start = entry.head + entry.in_flight;
        (start, &entry.buffer[start..entry.tail])
    }

    /// Whether the kernel holds part of the slot's buffer.
    pub(crate) fn in_flight(&self, slot: u32) -> bool {
        self.slots[slot as usize].in_flight > 0
    }

    /// The kernel took `bytes` more (io_uring: a send was submitted).
    pub(crate) fn start_send(&mut self, slot: u32, bytes: usize) {
        let entry = &mut self.slots[slot as usize];
        debug_assert!(entry.head + entry.in_flight + bytes <= entry.tail);
        entry.in_flight += bytes;
    }

    /// `bytes` of the in-flight (or, for epoll, waiting) bytes were sent; any in-flight
    /// remainder goes back to waiting.
    pub(crate) fn sent(&mut self, slot: u32, bytes: usize) {
        let entry = &mut self.slots[slot as usize];
        debug_assert!(entry.head + bytes <= entry.tail);
        entry.head += bytes;
        entry.in_flight = 0;
        if entry.head == entry.tail {
            entry.head = 0;
            entry.tail = 0;
        }
    }

    /// The base address of the slot's buffer and its length (for io_uring registration).
    pub(crate) fn buffer_region(&mut self, slot: usize) -> (*mut u8, usize) {
        let buffer = &mut self.slots[slot].buffer;
        (buffer.as_mut_ptr(), buffer.len())
    }

    pub(crate) fn slots_len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn open_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.state != SlotState::Free)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_does_not_fit_and_compacts_when_it_can() {
        let mut outbox = Outbox::new(2, 16);
        let conn = outbox.open().unwrap();
        outbox.send(conn, &[1; 10]).unwrap();
        assert_eq!(
            outbox.send(conn, &[2; 10]),
            Err(SendError::Full {
                queued: 10,
                capacity: 16,
                wanted: 10
            })
        );
        outbox.start_send(conn.slot, 8);
        outbox.sent(conn.slot, 8);
        // Eight bytes sent: compaction makes room for ten more.
        outbox.send(conn, &[2; 10]).unwrap();
        assert_eq!(outbox.room(conn), 4);
        assert_eq!(
            outbox.waiting(conn.slot).1,
            &[1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]
        );
    }

    #[test]
    fn room_is_exactly_the_largest_send_that_fits() {
        let mut outbox = Outbox::new(1, 16);
        let conn = outbox.open().unwrap();
        assert_eq!((outbox.room(conn), outbox.buffer_bytes()), (16, 16));
        outbox.send(conn, &[1; 10]).unwrap();
        assert_eq!(outbox.room(conn), 6);
        // Four bytes with the kernel: the buffer cannot be compacted under them.
        outbox.start_send(conn.slot, 4);
        assert_eq!(outbox.room(conn), 6);
        assert!(outbox.send(conn, &[2; 7]).is_err());
        outbox.sent(conn.slot, 4);
        // Nothing in flight: the four sent bytes are room again (by compaction).
        assert_eq!(outbox.room(conn), 10);
        outbox.send(conn, &[2; 10]).unwrap();
        assert_eq!(outbox.room(conn), 0);
        outbox.close(conn);
        assert_eq!(outbox.room(conn), 0, "a closing connection takes nothing");
    }

    #[test]
    fn a_stale_id_is_refused() {
        let mut outbox = Outbox::new(1, 16);
        let first = outbox.open().unwrap();
        outbox.free(first.slot);
        let second = outbox.open().unwrap();
        assert_eq!(first.slot, second.slot);
        assert_eq!(outbox.send(first, b"x"), Err(SendError::Closed));
        outbox.send(second, b"x").unwrap();
        outbox.close(second);
        assert_eq!(outbox.send(second, b"y"), Err(SendError::Closed));
        assert_eq!(outbox.queued(second), 1);
    }
}
