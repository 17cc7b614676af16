//! Back-pressure with every ring at its smallest: a client's burst of orders far larger
//! than the rings fills them, the agents' queues hold what their bounds allow, and the
//! rest waits in the kernel (TCP pushes back on the client). Nothing is lost (every order
//! is answered), no queue goes past its bound, and the agent threads allocate nothing
//! once started: the global allocator of this test counts every allocation made on a
//! thread named `cx-*` (the pipeline's threads) while the burst runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::{config_text, no_venues, publish_nbbo, set, unlimited_rates, Client, Engine};
use crossline_pipeline::RING_NAMES;
use crossline_protocol::client::Inbound;
use crossline_protocol::frame::{split, FRAME_BYTES_MAX};
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

/// Counts allocations on the pipeline's threads while `COUNTING` is set.
struct AgentAllocations;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread is one of the pipeline's (`None`: not known yet).
    static AGENT: Cell<Option<bool>> = const { Cell::new(None) };
    /// Inside the allocator already (finding the thread's name may allocate).
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

impl AgentAllocations {
    fn count(&self) {
        if !COUNTING.load(Ordering::Relaxed) {
            return;
        }
        let _ = INSIDE.try_with(|inside| {
            if inside.replace(true) {
                return;
            }
            let agent = AGENT.with(|agent| {
                *agent.get().get_or_insert_with(|| {
                    thread::current()
                        .name()
                        .is_some_and(|name| name.starts_with("cx-"))
                })
            });
            agent.then(|| ALLOCATIONS.fetch_add(1, Ordering::Relaxed));
            inside.set(false);
        });
    }
}

// SAFETY: every call is passed to the system allocator unchanged; the counting touches
// only atomics and thread-locals.
unsafe impl GlobalAlloc for AgentAllocations {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: AgentAllocations = AgentAllocations;

const ORDERS: u64 = 30_000;
const WARM_UP: u64 = 2_000;

/// A buy at a price below the market (it rests) or an IOC at the offer (it fills
/// against the firm's inventory or is cancelled), by `id`.
fn order(id: u64) -> Inbound {
    let cross = id % 3 == 0;
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(1),
        quantity: Quantity::new(100),
        price: Price::from_micros(if cross { 190_020_000 } else { 189_000_000 }),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: if cross {
            TimeInForce::ImmediateOrCancel
        } else {
            TimeInForce::Day
        },
        capacity: Capacity::Agency,
    }
}

/// Every order from `first` to `last`, framed from sequence number `sequence` on.
fn burst(first: u64, last: u64, sequence: &mut u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut frame = [0u8; FRAME_BYTES_MAX];
    for id in first..=last {
        *sequence += 1;
        let length = order(id).encode(*sequence, 0, &mut frame);
        bytes.extend_from_slice(&frame[..length]);
    }
    bytes
}

#[test]
fn a_burst_through_the_smallest_rings_loses_nothing_and_allocates_nothing() {
    let text = config_text(|doc| {
        no_venues(doc);
        for ring in RING_NAMES {
            set(doc, &format!("pipeline.rings.{ring}"), 64);
        }
        set(doc, "pipeline.placement", "shared");
        unlimited_rates(doc);
        set(doc, "journal.snapshot_every", 0);
        set(doc, "net.send_buffer_kib", 16_384);
    });
    let mut engine = Engine::start(&text);
    publish_nbbo(engine.feed, 1, 1, 190_000_000, 190_020_000);
    let client = Client::logon(engine.address, 1);
    let mut sequence = client.sequence;
    let mut stream = client.stream;
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let warm_up = burst(1, WARM_UP, &mut sequence);
    let load = burst(WARM_UP + 1, WARM_UP + ORDERS, &mut sequence);

    // Reads whole frames into a buffer made up front, counting the orders answered
    // (each order's first reply), until every order is.
    let mut reader = stream.try_clone().unwrap();
    let replies = thread::spawn(move || {
        let mut buffer = vec![0u8; 1 << 20];
        let (mut held, mut answered, mut last) = (0usize, 0u64, 0u64);
        let deadline = Instant::now() + Duration::from_secs(60);
        while answered < WARM_UP + ORDERS && Instant::now() < deadline {
            match reader.read(&mut buffer[held..]) {
                Ok(0) => break,
                Ok(n) => held += n,
                Err(_) => continue,
            }
            let mut at = 0;
            while let Ok(Some((header, body))) = split(&buffer[at..held]) {
                // Every reply to a new order starts with its client order id.
                if body.len() >= 8 {
                    let id = u64::from_le_bytes(body[..8].try_into().unwrap());
                    if id > last {
                        answered += 1;
                        last = id;
                    }
                }
                at += usize::from(header.length);
            }
            buffer.copy_within(at..held, 0);
            held -= at;
        }
        answered
    });
    stream.write_all(&warm_up).unwrap();
    engine.wait_for("the warm-up answered", |engine| {
        engine.counter("orders.accepted") + engine.counter("orders.rejected_by_risk") >= WARM_UP
    });

    COUNTING.store(true, Ordering::Release);
    let started = Instant::now();
    stream.write_all(&load).unwrap();
    let answered = replies.join().unwrap();
    COUNTING.store(false, Ordering::Release);
    let elapsed = started.elapsed();

    let stopped = engine.stop();
    assert_eq!(answered, WARM_UP + ORDERS, "every order answered");
    assert_eq!(stopped.counter("queues.overflows"), 0);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(
        allocations, 0,
        "the pipeline's threads allocated {allocations} times during the burst \
         ({ORDERS} orders in {elapsed:?})"
    );
}
