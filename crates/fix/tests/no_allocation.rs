//! Parsing a message and encoding one allocate nothing: a counting allocator watches
//! the hot path of the FIX gateway (a NewOrderSingle in, an ExecutionReport out).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use crossline_fix::{frame_length, tags, Encoder, Message};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed straight to the system allocator; the counter is the only
// addition.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the pointer came from `alloc` above, which is the system allocator's.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn parsing_and_encoding_allocate_nothing() {
    let mut order = [0u8; 512];
    let mut encoder = Encoder::new(&mut order, b"FIX.4.4", b"D");
    encoder
        .str(tags::SENDER_COMP_ID, b"OMS1")
        .str(tags::TARGET_COMP_ID, b"CROSSLINE")
        .uint(tags::MSG_SEQ_NUM, 2)
        .str(tags::SENDING_TIME, b"20261205-14:30:00.000123")
        .str(tags::CL_ORD_ID, b"B-2")
        .str(tags::SYMBOL, b"AAPL")
        .char(tags::SIDE, b'1')
        .uint(tags::ORDER_QTY, 100)
        .char(tags::ORD_TYPE, b'2')
        .str(tags::PRICE, b"190.00");
    let wire = encoder.finish().unwrap().to_vec();
    let mut report = [0u8; 1024];

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut checksum = 0u64;
    for round in 0..1_000u64 {
        let length = frame_length(&wire).unwrap().unwrap();
        let message = Message::parse(&wire[..length]).unwrap();
        checksum += message.micros(tags::PRICE).unwrap().unwrap() as u64;
        checksum += message.uint(tags::ORDER_QTY).unwrap().unwrap();
        let mut encoder = Encoder::new(&mut report, b"FIX.4.4", b"8");
        encoder
            .str(tags::SENDER_COMP_ID, b"CROSSLINE")
            .str(tags::TARGET_COMP_ID, b"OMS1")
            .uint(tags::MSG_SEQ_NUM, round)
            .timestamp(tags::SENDING_TIME, 1_796_471_130_123_456_000)
            .str(tags::CL_ORD_ID, message.get(tags::CL_ORD_ID).unwrap())
            .micros(tags::LAST_PX, 190_005_000)
            .micros(tags::AVG_PX, 190_005_000)
            .uint(tags::CUM_QTY, 100);
        checksum += encoder.finish().unwrap().len() as u64;
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(checksum > 0);
    assert_eq!(allocations, 0, "parsing and encoding allocated");
}
