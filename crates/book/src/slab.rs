//! Preallocated order storage with a free list and intrusive per-level FIFOs.

use crossline_types::{ClientId, OrderId, Price, Quantity};

use crate::half::Level;
use crate::{BookSide, RestingOrder};

/// "No node": the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

/// One order slot. While in use, `prev`/`next` link it into its level's FIFO; while free,
/// `next` links it into the free list.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Node {
    pub(crate) order: RestingOrder,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    /// Bumped each time the slot is freed, so handles to earlier occupants are refused.
    pub(crate) generation: u32,
    in_use: bool,
}

const VACANT: RestingOrder = RestingOrder {
    order_id: OrderId::new(0),
    client: ClientId::new(0),
    side: BookSide::Bid,
    price: Price::ZERO,
    quantity: Quantity::ZERO,
    owner: 0,
};

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Slab {
    nodes: Box<[Node]>,
    capacity: u32,
    free_head: u32,
    len: u32,
}

impl Slab {
    pub(crate) fn new(capacity: u32) -> Slab {
        let nodes: Box<[Node]> = (0..capacity)
            .map(|index| Node {
                order: VACANT,
                prev: NIL,
                next: if index + 1 < capacity { index + 1 } else { NIL },
                generation: 0,
                in_use: false,
            })
            .collect();
        Slab {
            nodes,
            capacity,
            free_head: 0,
            len: 0,
        }
    }

    pub(crate) fn capacity(&self) -> u32 {
        self.capacity
    }

    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    pub(crate) fn is_full(&self) -> bool {
        self.free_head == NIL
    }

    pub(crate) fn node(&self, index: u32) -> &Node {
        &self.nodes[index as usize]
    }

    pub(crate) fn generation(&self, index: u32) -> u32 {
        self.nodes[index as usize].generation
    }

    /// The order in slot `index` if it is in use by the `generation` a handle names.
    pub(crate) fn get(&self, index: u32, generation: u32) -> Option<&RestingOrder> {
        let node = self.nodes.get(index as usize)?;
        (node.in_use && node.generation == generation).then_some(&node.order)
    }

    /// Takes a free slot for `order` (the caller checked `!is_full()`).
    pub(crate) fn allocate(&mut self, order: RestingOrder) -> u32 {
        let index = self.free_head;
        assert!(index != NIL, "allocate on a full slab");
        let node = &mut self.nodes[index as usize];
        self.free_head = node.next;
        *node = Node {
            order,
            prev: NIL,
            next: NIL,
            generation: node.generation,
            in_use: true,
        };
        self.len += 1;
        index
    }

    /// Returns slot `index` (already unlinked) to the free list.
    pub(crate) fn free(&mut self, index: u32) {
        let node = &mut self.nodes[index as usize];
        debug_assert!(node.in_use);
        node.in_use = false;
        node.order = VACANT;
        node.generation = node.generation.wrapping_add(1);
        node.prev = NIL;
        node.next = self.free_head;
        self.free_head = index;
        self.len -= 1;
    }

    pub(crate) fn set_quantity(&mut self, index: u32, quantity: Quantity) {
        self.nodes[index as usize].order.quantity = quantity;
    }

    /// Appends node `index` to the back of `level`'s FIFO.
    pub(crate) fn push_back(&mut self, level: &mut Level, index: u32) {
        let tail = level.tail;
        {
            let node = &mut self.nodes[index as usize];
            node.prev = tail;
            node.next = NIL;
            level.quantity += u64::from(node.order.quantity.shares());
        }
        if tail == NIL {
            level.head = index;
        } else {
            self.nodes[tail as usize].next = index;
        }
        level.tail = index;
        level.count += 1;
    }

    /// Takes node `index` out of `level`'s FIFO.
    pub(crate) fn unlink(&mut self, level: &mut Level, index: u32) {
        let (prev, next, shares) = {
            let node = &self.nodes[index as usize];
            (node.prev, node.next, node.order.quantity.shares())
        };
        if prev == NIL {
            level.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            level.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
        level.count -= 1;
        level.quantity -= u64::from(shares);
    }
}
