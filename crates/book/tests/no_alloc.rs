//! After construction, the book never touches the heap: a counting global allocator
//! fails the test if a single allocation happens during a long mixed workload.

use crossline_book::{Book, BookConfig, BookSide, RestingOrder};
use crossline_testkit::{count_allocations, CountingAllocator};
use crossline_types::{ClientId, OrderId, Price, Quantity};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn a_long_mixed_workload_allocates_nothing_after_construction() {
    let config = BookConfig {
        orders_max: 4096,
        tick: Price::CENT,
        window_levels: 512,
        far_levels_max: 64,
    };
    let mut book = Book::new(&config, Price::from_micros(100_000_000)).unwrap();
    let mut handles = [None; 4096];
    // A deterministic pseudo-random walk: adds near and far, cancels, fills, recentres.
    let mut random = crossline_testkit::Xorshift::new(0x2545_F491_4F6C_DD1Du64);
    let (mut added, mut far_added, mut recentred) = (0u64, 0u64, 0u64);
    let allocations = count_allocations(|| {
        for step in 0..200_000u64 {
            let state = random.next();
            let slot = (state % 4096) as usize;
            let side = if state & 1 == 0 {
                BookSide::Bid
            } else {
                BookSide::Ask
            };
            match (state >> 8) % 8 {
                0..=3 => {
                    // A slot is free once its order has left the book (filled or cancelled).
                    if handles[slot].is_none_or(|handle| book.order(handle).is_none()) {
                        let far = (state >> 20) % 50 == 0;
                        let offset =
                            ((state >> 24) % 300) as i64 - 150 + if far { 5_000 } else { 0 };
                        let order = RestingOrder {
                            order_id: OrderId::new(step),
                            client: ClientId::new(1),
                            side,
                            price: Price::from_micros(100_000_000 + offset * 10_000),
                            quantity: Quantity::new(100),
                            owner: 0,
                        };
                        handles[slot] = book.add(order).ok();
                        added += u64::from(handles[slot].is_some());
                        far_added += u64::from(far && handles[slot].is_some());
                    }
                }
                4 | 5 => {
                    if let Some(handle) = handles[slot].take() {
                        let _ = book.cancel(handle);
                    }
                }
                6 => {
                    let _ = book.fill_front(side, Quantity::new(50));
                }
                _ => {
                    let center = 100_000_000 + (((state >> 30) % 200) as i64 - 100) * 10_000;
                    recentred += u64::from(book.recenter(Price::from_micros(center)).is_ok());
                }
            }
        }
    });
    // The workload really exercised the book: many orders, far levels, window moves.
    assert!(
        added > 10_000 && far_added > 100 && recentred > 1_000,
        "{added} {far_added} {recentred}"
    );
    assert!(!book.is_empty());
    assert_eq!(allocations, 0, "the book allocated after construction");
}
