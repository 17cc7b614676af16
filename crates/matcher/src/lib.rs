//! Crossline's internalization matcher: a deterministic state machine from sequenced
//! inputs (orders, cancels, replaces, NBBO updates, venue reports, end of day, settings) to
//! output events (accepted, rejected, filled, cancelled, replaced, cancel rejected, route
//! instructions, position changes, firm quotes).
//!
//! Guarantee: no clock, no I/O, no randomness, no hash-map iteration, and no allocation
//! after [`Matcher::new`]. Time and ids come from the inputs, so replaying the same inputs
//! reproduces the same events, bit for bit. Bad input gets a specific reason
//! ([`RejectReason`], [`CancelRejectReason`], [`InputError`]) and changes nothing.
//!
//! # What happens to an arriving order
//!
//! 1. **Checks**: known symbol, positive quantity, a positive limit in Rule 612 increments
//!    (whole cents at $1.00 and above, hundredths of a cent below) and, if it may rest, on
//!    the book's tick; a client order id not already working; room in the order table.
//!    Pre-trade risk (credit, collars, Reg SHO, kill switches…) is the risk gate's job,
//!    before the matcher.
//! 2. **Protected bound** (Rule 611): a buy never executes in-house above the national
//!    best offer, a sell never below the national best bid. A missing, one-sided, locked,
//!    crossed or stale NBBO means no in-house execution at all; the configured
//!    [`UnusableNbbo`] policy routes or rejects orders that need the market.
//! 3. **Internal cross** against resting client orders on the other side, price-time
//!    priority, at the NBBO midpoint (or the resting limit) clamped to both limits and the
//!    NBBO. Self-match prevention cancels the resting or the arriving order.
//! 4. **Principal fill** from the firm's inventory at the NBBO less a price improvement (a
//!    fraction of the spread with a minimum, in whole increments, skewed by inventory),
//!    sized by the symbol's long/short limits, the firm's gross notional limit and the
//!    largest principal fill. Never at a price where a customer order rests on the firm's
//!    side (Manning).
//! 5. **Residual**: a marketable remainder is routed (when the symbol routes); a day or
//!    good-till-cancel limit rests; anything else is cancelled. A routed remainder the
//!    venue returns is worked again in-house and rests if it may.
//!
//! Fill-or-kill orders fill in full in-house or not at all (they are never routed). In
//! [`Mode::Active`] the firm also keeps a quote of its own (emitted as
//! [`Event::FirmQuote`]) and trades with resting orders that its quote reaches.
//!
//! ```
//! use crossline_book::BookConfig;
//! use crossline_matcher::*;
//! use crossline_types::*;
//!
//! let settings = SymbolSettings {
//!     mode: Mode::Passive, improvement_spread_ppm: 100_000, improvement_min: Price::HUNDREDTH_CENT,
//!     skew_ppm: 0, long_max: 10_000, short_max: 10_000, principal_size_max: 1_000,
//!     route_residual: true, soft_limit: 0, hedge: false,
//! };
//! let book = BookConfig { orders_max: 1024, tick: Price::CENT, window_levels: 1024, far_levels_max: 64 };
//! let symbol = SymbolId::new(1);
//! let config = MatcherConfig {
//!     orders_max: 1024, gross_notional_max: Price::from_micros(1_000_000_000_000),
//!     nbbo_stale_after_ns: 1_000_000_000, unusable_nbbo: UnusableNbbo::Reject,
//!     self_match: SelfMatch::CancelResting, cross_price: CrossPrice::Midpoint,
//!     improvement_increment: Price::HUNDREDTH_CENT,
//!     firm_account: ClientId::new(0),
//!     symbols: vec![SymbolConfig { symbol, reference_price: Price::from_micros(10_000_000), book, settings }],
//! };
//! let mut matcher = Matcher::new(&config).unwrap();
//! let mut events = Vec::new();
//! let mut emit = |event| events.push(event);
//! let nbbo = Quote { symbol, bid: Price::from_micros(10_000_000), bid_size: Quantity::new(500),
//!                    ask: Price::from_micros(10_020_000), ask_size: Quantity::new(500) };
//! matcher.apply(SequenceNumber::new(1), Timestamp::new(1), &Input::Nbbo(nbbo), &mut emit);
//! let buy = NewOrder { client: ClientId::new(7), symbol, client_order_id: ClientOrderId::new(1),
//!     price: Price::ZERO, quantity: Quantity::new(100), side: Side::Buy, order_type: OrderType::Market,
//!     time_in_force: TimeInForce::ImmediateOrCancel, capacity: Capacity::Agency };
//! matcher.apply(SequenceNumber::new(2), Timestamp::new(2), &Input::NewOrder(buy), &mut emit);
//! // Accepted, then filled from inventory 0.2 cents better than the offer.
//! let Event::Filled(fill) = events[1] else { panic!() };
//! assert_eq!(fill.liquidity, LiquiditySource::Principal);
//! assert_eq!(fill.price, Price::from_micros(10_018_000));
//! assert_eq!(fill.price_improvement, Price::from_micros(2_000));
//! assert_eq!(matcher.position(symbol), Some(-100));
//! ```
#![forbid(unsafe_code)]

mod config;
mod io;
mod matcher;
mod pricing;
mod state;

pub use config::{
    ConfigError, CrossPrice, MatcherConfig, Mode, SelfMatch, SettingsError, SymbolConfig,
    SymbolSettings, UnusableNbbo, ORDERS_MAX, PPM, SYMBOL_ID_MAX,
};
pub use io::{
    CancelReason, CancelRejectReason, ClientImprovement, Contra, Event, Execution, FirmQuote,
    Input, InputError, MassCancel, NbboPrices, RejectReason, RouteInstruction, SettingsChange,
    VenueCancel, VenueFill, IMPROVEMENT_MULTIPLIER_PPM_MAX,
};
pub use matcher::{Matcher, OrderState, PrefetchStage, HEDGE_ORDER_BIT, PREFETCH_STAGES};
