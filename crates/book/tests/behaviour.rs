//! What a user of the book relies on, one behaviour per test.

use crossline_book::{Book, BookConfig, BookConfigError, BookError, BookSide, RestingOrder};
use crossline_types::{ClientId, OrderId, Price, Quantity};

const CONFIG: BookConfig = BookConfig {
    orders_max: 4,
    tick: Price::CENT,
    window_levels: 100,
    far_levels_max: 1,
};

fn book() -> Book {
    Book::new(&CONFIG, Price::from_micros(100_000_000)).unwrap()
}

fn order(id: u64, side: BookSide, micros: i64, shares: u32) -> RestingOrder {
    RestingOrder {
        order_id: OrderId::new(id),
        client: ClientId::new(1),
        side,
        price: Price::from_micros(micros),
        quantity: Quantity::new(shares),
        owner: 0,
    }
}

#[test]
fn bad_configuration_names_the_field() {
    let center = Price::from_micros(1_000_000);
    let zero_orders = BookConfig {
        orders_max: 0,
        ..CONFIG
    };
    let error = Book::new(&zero_orders, center).err().unwrap();
    assert!(matches!(
        error,
        BookConfigError::Capacity {
            field: "orders_max",
            value: 0,
            ..
        }
    ));
    assert!(error.to_string().contains("orders_max is 0"), "{error}");
    let bad_tick = BookConfig {
        tick: Price::ZERO,
        ..CONFIG
    };
    assert!(matches!(
        Book::new(&bad_tick, center),
        Err(BookConfigError::Tick { .. })
    ));
}

#[test]
fn prices_off_the_tick_and_empty_orders_are_refused() {
    let mut book = book();
    let error = book
        .add(order(1, BookSide::Bid, 99_995_000, 100))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "price 99.995 is not a positive multiple of the book's tick 0.01"
    );
    assert_eq!(
        book.add(order(1, BookSide::Bid, 0, 100)).unwrap_err(),
        BookError::PriceNotOnTick {
            price: Price::ZERO,
            tick: Price::CENT,
        }
    );
    assert_eq!(
        book.add(order(1, BookSide::Bid, 99_990_000, 0)),
        Err(BookError::ZeroQuantity)
    );
    assert!(book.is_empty());
}

#[test]
fn a_full_book_refuses_the_next_order_and_accepts_again_after_a_cancel() {
    let mut book = book();
    let handles: Vec<_> = (1..=4)
        .map(|id| book.add(order(id, BookSide::Ask, 100_010_000, 10)).unwrap())
        .collect();
    let error = book
        .add(order(5, BookSide::Ask, 100_010_000, 10))
        .unwrap_err();
    assert_eq!(error, BookError::Full { orders_max: 4 });
    assert_eq!(error.to_string(), "book full: it already holds 4 orders");
    book.cancel(handles[1]).unwrap();
    book.add(order(5, BookSide::Ask, 100_010_000, 10)).unwrap();
    assert_eq!(book.len(), 4);
}

#[test]
fn a_stale_handle_is_refused_even_after_its_slot_is_reused() {
    let mut book = book();
    let first = book.add(order(1, BookSide::Bid, 99_990_000, 10)).unwrap();
    book.cancel(first).unwrap();
    let second = book.add(order(2, BookSide::Bid, 99_980_000, 10)).unwrap();
    assert_eq!(book.cancel(first), Err(BookError::UnknownOrder));
    assert_eq!(
        book.reduce(first, Quantity::new(5)),
        Err(BookError::UnknownOrder)
    );
    assert_eq!(book.order(second).unwrap().order_id, OrderId::new(2));
}

#[test]
fn reducing_keeps_time_priority_and_only_goes_down() {
    let mut book = book();
    let first = book.add(order(1, BookSide::Bid, 99_990_000, 300)).unwrap();
    book.add(order(2, BookSide::Bid, 99_990_000, 300)).unwrap();
    book.reduce(first, Quantity::new(100)).unwrap();
    assert_eq!(
        book.front(BookSide::Bid).unwrap().1.order_id,
        OrderId::new(1)
    );
    assert_eq!(book.best(BookSide::Bid).unwrap().quantity, 400);
    let error = book.reduce(first, Quantity::new(100)).unwrap_err();
    assert_eq!(
        error,
        BookError::InvalidReduce {
            open: Quantity::new(100),
            requested: Quantity::new(100)
        }
    );
    assert!(book.reduce(first, Quantity::ZERO).is_err());
}

#[test]
fn fills_take_the_best_price_then_the_oldest_order() {
    let mut book = book();
    book.add(order(1, BookSide::Ask, 100_020_000, 100)).unwrap();
    book.add(order(2, BookSide::Ask, 100_010_000, 100)).unwrap();
    book.add(order(3, BookSide::Ask, 100_010_000, 100)).unwrap();
    let partial = book.fill_front(BookSide::Ask, Quantity::new(60)).unwrap();
    assert_eq!(
        (partial.order_id, partial.quantity, partial.completed),
        (OrderId::new(2), Quantity::new(60), false)
    );
    let rest = book
        .fill_front(BookSide::Ask, Quantity::new(1_000))
        .unwrap();
    assert_eq!(
        (rest.order_id, rest.quantity, rest.completed),
        (OrderId::new(2), Quantity::new(40), true)
    );
    assert_eq!(
        book.fill_front(BookSide::Ask, Quantity::new(1_000))
            .unwrap()
            .order_id,
        OrderId::new(3)
    );
    assert_eq!(
        book.best(BookSide::Ask).unwrap().price,
        Price::from_micros(100_020_000)
    );
    book.fill_front(BookSide::Ask, Quantity::new(1_000))
        .unwrap();
    assert_eq!(
        book.fill_front(BookSide::Ask, Quantity::new(1)),
        Err(BookError::UnknownOrder)
    );
}

#[test]
fn far_away_prices_rest_outside_the_window_and_count_for_best_price() {
    let mut book = book();
    // The window covers $99.50 to $100.49; $150 and $50 are far away.
    book.add(order(1, BookSide::Bid, 150_000_000, 10)).unwrap();
    book.add(order(2, BookSide::Bid, 99_990_000, 10)).unwrap();
    assert_eq!(
        book.best(BookSide::Bid).unwrap().price,
        Price::from_micros(150_000_000)
    );
    // One far level per side is allowed: a second far price is refused by name.
    let error = book
        .add(order(3, BookSide::Bid, 50_000_000, 10))
        .unwrap_err();
    assert_eq!(
        error,
        BookError::FarLevelsFull {
            price: Price::from_micros(50_000_000),
            far_levels_max: 1
        }
    );
    // Moving the window to the market brings $150 in and pushes $99.99 out.
    book.recenter(Price::from_micros(150_000_000)).unwrap();
    assert_eq!(book.window_center(), Price::from_micros(150_000_000));
    let mut prices = Vec::new();
    book.for_each_level(BookSide::Bid, |level| prices.push(level.price.micros()));
    assert_eq!(prices, [150_000_000, 99_990_000]);
    // A move that would need two far levels on one side is refused, book unchanged.
    book.add(order(4, BookSide::Bid, 149_990_000, 10)).unwrap();
    assert!(matches!(
        book.recenter(Price::from_micros(300_000_000)),
        Err(BookError::FarLevelsFull { .. })
    ));
    assert_eq!(book.window_center(), Price::from_micros(150_000_000));
    assert_eq!(book.len(), 3);
}
