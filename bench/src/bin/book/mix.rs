//! The internalization mix: a recorded stream of matcher inputs across 1,000 symbols.
//!
//! The stream is generated once against a recording matcher, so that every cancel,
//! replace and venue report names an order that is really working at that point (the
//! generator looks at the matcher's state, never at the clock). Because the matcher is
//! deterministic, replaying the recorded inputs into a fresh matcher reproduces exactly
//! the same work, which is what each measured round does.
//!
//! How each input of the measured section is chosen (the measured composition, by input
//! kind, is written to the results as `internalization_mix_share_*`):
//! - if more than 256 routed children are out, a venue report (venues answer promptly);
//! - otherwise a symbol, then by a draw out of 100:
//!   - 0–49: an add or a cancel, whichever holds the symbol's book at 75 resting orders:
//!     below 75, a new passive day limit order, 0–4 ticks behind the NBBO on its side or
//!     one tick inside the spread when it is wider than a tick, 100–1,000 shares; at 75
//!     or more, a cancel of one of the symbol's resting orders;
//!   - 50–59: a cancel/replace of a resting order: half shrink it by 100 shares at the
//!     same price (keeps priority), half move it a tick (loses priority, may execute);
//!   - 60–79: a marketable order, 100–800 shares: 60% immediate-or-cancel limits 0–2
//!     ticks through the far side, 20% market orders, 20% day limits at the far side. They
//!     cross resting client orders at the midpoint, take principal fills, and route the
//!     rest;
//!   - 80–94: an NBBO update: the midpoint steps a cent a third of the time, the spread
//!     is 1–3 cents;
//!   - 95–99: a venue report for the oldest routed child: a 100-share fill, or the cancel
//!     of the rest.
//!
//!   A cancel, replace or venue report with nothing to name becomes a passive add.
//!
//! Symbols: 70% passive internalization, 20% active (firm quotes, sweeps of resting
//! orders), 10% agency only. Prices $10–$200; 500 clients. Inputs pick their symbol
//! uniformly (the headline figure: every symbol equally busy, the worst case for caches)
//! or Zipf-distributed (a secondary figure: real order flow concentrates on few names).

use crossline_book::BookConfig;
use crossline_matcher::{
    CrossPrice, Event, Input, Matcher, MatcherConfig, Mode, SelfMatch, SymbolConfig,
    SymbolSettings, UnusableNbbo, VenueCancel, VenueFill,
};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, NewOrder, OrderId, OrderType, Price, Quantity,
    Quote, Replace, SequenceNumber, Side, SymbolId, TimeInForce, Timestamp,
};

use crossline_testkit::Xorshift;

/// Symbols in the mix.
pub(crate) const SYMBOLS: u32 = 1_000;
/// Clients sending orders.
const CLIENTS: u64 = 500;
/// Resting orders per book the generator holds the mix at (the warm-up fills the books
/// to about this).
const RESTING_TARGET: usize = 75;
/// Routed children out at once before the generator makes the venues report.
const ROUTED_MAX: usize = 256;
/// Simulated time between inputs: 100 ns (10 million inputs per second of market time).
const NANOS_PER_INPUT: u64 = 100;
const CENT: i64 = 10_000;

/// A recorded stream: inputs with their times, and how many of them warm the matcher up
/// (the first input of each symbol's NBBO, and enough orders to fill the books) before
/// the measured section starts.
pub(crate) struct Recording {
    pub(crate) config: MatcherConfig,
    pub(crate) inputs: Vec<(Timestamp, Input)>,
    pub(crate) warmup: usize,
    /// Orders working when the measured section starts and when it ends: close, when
    /// the mix is in its steady state.
    pub(crate) working_at_start: u32,
    pub(crate) working_at_end: u32,
}

impl Recording {
    /// What the measured section is made of: (kind, share of inputs).
    pub(crate) fn composition(&self) -> Vec<(&'static str, f64)> {
        let measured = &self.inputs[self.warmup..];
        let mut counts: Vec<(&'static str, u64)> = Vec::new();
        for (_, input) in measured {
            let kind = match input {
                Input::NewOrder(order) => match (order.order_type, order.time_in_force) {
                    (OrderType::Market, _) => "new_market",
                    (OrderType::Limit, TimeInForce::ImmediateOrCancel) => "new_limit_ioc",
                    (OrderType::Limit, _) => "new_limit_day",
                },
                Input::Cancel(_) => "cancel",
                Input::Replace(_) => "replace",
                Input::Nbbo(_) => "nbbo",
                Input::VenueFill(_) => "venue_fill",
                Input::VenueCancel(_) => "venue_cancel",
                Input::EndOfDay => "end_of_day",
                Input::Settings(_) => "settings",
                Input::MassCancel(_) => "mass_cancel",
                Input::ClientImprovement(_) => "client_improvement",
                Input::Snapshot => "snapshot",
            };
            match counts.iter_mut().find(|(name, _)| *name == kind) {
                Some((_, count)) => *count += 1,
                None => counts.push((kind, 1)),
            }
        }
        counts.sort_unstable();
        counts
            .into_iter()
            .map(|(kind, count)| (kind, count as f64 / measured.len() as f64))
            .collect()
    }
}

/// The matcher configuration of the mix.
pub(crate) fn config() -> MatcherConfig {
    let modes = [Mode::Passive; 7]
        .into_iter()
        .chain([Mode::Active, Mode::Active, Mode::AgencyOnly])
        .collect::<Vec<_>>();
    MatcherConfig {
        orders_max: 1 << 17,
        gross_notional_max: Price::from_micros(200_000_000 * 1_000_000),
        nbbo_stale_after_ns: 1_000_000_000,
        unusable_nbbo: UnusableNbbo::Route,
        self_match: SelfMatch::CancelResting,
        cross_price: CrossPrice::Midpoint,
        improvement_increment: Price::HUNDREDTH_CENT,
        firm_account: ClientId::new(0),
        symbols: (0..SYMBOLS)
            .map(|index| SymbolConfig {
                symbol: SymbolId::new(index),
                reference_price: Price::from_micros(reference_micros(index)),
                book: BookConfig {
                    orders_max: 512,
                    tick: Price::CENT,
                    window_levels: 256,
                    far_levels_max: 256,
                },
                settings: SymbolSettings {
                    mode: modes[index as usize % modes.len()],
                    improvement_spread_ppm: 100_000,
                    improvement_min: Price::HUNDREDTH_CENT,
                    skew_ppm: 500_000,
                    long_max: 20_000,
                    short_max: 20_000,
                    principal_size_max: 500,
                    route_residual: true,
                    soft_limit: 0,
                    hedge: false,
                },
            })
            .collect(),
    }
}

/// $10 to $200, spread deterministically over the symbols, in whole cents.
fn reference_micros(symbol: u32) -> i64 {
    let cents = 1_000 + (i64::from(symbol) * 7_919) % 19_000;
    cents * CENT
}

/// How order flow spreads over the symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymbolSpread {
    /// Every symbol equally busy: the worst case for caches.
    Uniform,
    /// Zipf(1), as trading activity is: the busiest 10 symbols get 39% of the inputs, the
    /// busiest 100 get 69%.
    Zipf,
}

/// What the generator knows about the market and the working orders.
struct Generator {
    spread: SymbolSpread,
    matcher: Matcher,
    random: Xorshift,
    /// Per symbol: NBBO midpoint (micros, a multiple of half a cent) and spread in cents.
    mid: Vec<i64>,
    spread_cents: Vec<i64>,
    /// Per symbol: (client, client order id) of orders that may be working.
    working: Vec<Vec<(ClientId, ClientOrderId)>>,
    /// Orders routed to a venue, waiting for its report.
    routed: Vec<OrderId>,
    next_client_order_id: u64,
    sequence: u64,
}

/// Records `warmup + measured` inputs.
pub(crate) fn record(measured: usize, seed: u64, spread: SymbolSpread) -> Recording {
    let config = config();
    let mut generator = Generator {
        spread,
        matcher: Matcher::new(&config).expect("valid mix configuration"),
        random: Xorshift::new(seed),
        mid: (0..SYMBOLS)
            .map(|symbol| reference_micros(symbol) + CENT / 2)
            .collect(),
        spread_cents: vec![1; SYMBOLS as usize],
        working: vec![Vec::new(); SYMBOLS as usize],
        routed: Vec::new(),
        next_client_order_id: 1,
        sequence: 0,
    };
    let mut inputs = Vec::with_capacity(measured + 250_000);
    for symbol in 0..SYMBOLS {
        let input = generator.nbbo(symbol, false);
        generator.apply(input, &mut inputs);
    }
    // Warm-up: passive orders until the books are near the depth the measured mix
    // settles at (about 75 working orders per symbol).
    for _ in 0..(SYMBOLS as usize * 75) {
        let symbol = generator.symbol();
        let input = generator.passive(symbol);
        generator.apply(input, &mut inputs);
    }
    let warmup = inputs.len();
    let working_at_start = generator.matcher.working_orders();
    while inputs.len() < warmup + measured {
        let input = generator.next_input();
        generator.apply(input, &mut inputs);
    }
    Recording {
        config,
        inputs,
        warmup,
        working_at_start,
        working_at_end: generator.matcher.working_orders(),
    }
}

impl Generator {
    fn symbol(&mut self) -> u32 {
        match self.spread {
            SymbolSpread::Uniform => (self.random.next() % u64::from(SYMBOLS)) as u32,
            SymbolSpread::Zipf => {
                // Zipf(1): P(rank k) ∝ 1/k, by inverting the harmonic CDF
                // H(k) ≈ ln k + γ. Ranks are spread over the symbol ids by a fixed
                // permutation so busy symbols are not neighbours in memory.
                const EULER_GAMMA: f64 = 0.577_215_664_9;
                let uniform = (self.random.next() >> 11) as f64 / (1u64 << 53) as f64;
                let harmonic = f64::from(SYMBOLS).ln() + EULER_GAMMA;
                let rank =
                    ((uniform * harmonic - EULER_GAMMA).exp().floor() as u32).min(SYMBOLS - 1);
                (rank * 7_919) % SYMBOLS
            }
        }
    }

    fn apply(&mut self, input: Input, inputs: &mut Vec<(Timestamp, Input)>) {
        self.sequence += 1;
        let time = Timestamp::new(self.sequence * NANOS_PER_INPUT);
        let (working, routed) = (&mut self.working, &mut self.routed);
        self.matcher.apply(
            SequenceNumber::new(self.sequence),
            time,
            &input,
            &mut |event| {
                if let Event::Route(route) = event {
                    routed.push(route.order_id);
                }
            },
        );
        if let Input::NewOrder(order) = input {
            working[order.symbol.get() as usize].push((order.client, order.client_order_id));
        }
        inputs.push((time, input));
    }

    fn next_input(&mut self) -> Input {
        // Venues answer promptly: with more than `ROUTED_MAX` children out, the next input
        // is a venue report.
        if self.routed.len() > ROUTED_MAX {
            if let Some(report) = self.venue_report() {
                return report;
            }
        }
        let symbol = self.symbol();
        let pick = self.random.next() % 100;
        let fallback = |generator: &mut Generator| generator.passive(symbol);
        // Half the inputs add or cancel resting orders, whichever keeps the book at its
        // target depth: a cancel when it holds `RESTING_TARGET` orders or more, an add
        // below. The books stay at a steady depth, and the order table never fills (a
        // full table would turn adds into cheap rejects and flatter the figure).
        let deep = self
            .matcher
            .resting_orders(SymbolId::new(symbol))
            .is_some_and(|resting| resting >= RESTING_TARGET);
        match pick {
            0..=49 if deep => self.cancel(symbol).unwrap_or_else(|| fallback(self)),
            0..=49 => self.passive(symbol),
            50..=59 => self.replace(symbol).unwrap_or_else(|| fallback(self)),
            60..=79 => self.marketable(symbol),
            80..=94 => self.nbbo(symbol, true),
            _ => self.venue_report().unwrap_or_else(|| fallback(self)),
        }
    }

    fn client_order_id(&mut self) -> (ClientId, ClientOrderId) {
        let id = self.next_client_order_id;
        self.next_client_order_id += 1;
        (
            ClientId::new(1 + (id % CLIENTS) as u32),
            ClientOrderId::new(id),
        )
    }

    fn touch(&self, symbol: u32) -> (i64, i64) {
        let half = self.spread_cents[symbol as usize] * CENT / 2;
        let mid = self.mid[symbol as usize];
        (mid - half, mid + half)
    }

    fn new_order(
        &mut self,
        symbol: u32,
        side: Side,
        price: i64,
        shares: u32,
        order_type: OrderType,
        tif: TimeInForce,
    ) -> Input {
        let (client, client_order_id) = self.client_order_id();
        Input::NewOrder(NewOrder {
            client,
            symbol: SymbolId::new(symbol),
            client_order_id,
            price: Price::from_micros(price),
            quantity: Quantity::new(shares),
            side,
            order_type,
            time_in_force: tif,
            capacity: Capacity::Agency,
        })
    }

    fn passive(&mut self, symbol: u32) -> Input {
        let word = self.random.next();
        let (bid, ask) = self.touch(symbol);
        let buy = word & 1 == 0;
        let inside = self.spread_cents[symbol as usize] > 1 && word % 5 == 0;
        let behind = ((word >> 8) % 5) as i64 * CENT;
        let price = match (buy, inside) {
            (true, true) => bid + CENT,
            (false, true) => ask - CENT,
            (true, false) => bid - behind,
            (false, false) => ask + behind,
        };
        let side = if buy {
            Side::Buy
        } else {
            [Side::Sell, Side::SellShort][(word >> 16) as usize % 2]
        };
        let shares = 100 * (1 + ((word >> 20) % 10) as u32);
        self.new_order(
            symbol,
            side,
            price,
            shares,
            OrderType::Limit,
            TimeInForce::Day,
        )
    }

    fn marketable(&mut self, symbol: u32) -> Input {
        let word = self.random.next();
        let (bid, ask) = self.touch(symbol);
        let buy = word & 1 == 0;
        let through = ((word >> 8) % 3) as i64 * CENT;
        let shares = 100 * (1 + ((word >> 20) % 8) as u32);
        let side = if buy { Side::Buy } else { Side::Sell };
        let far = if buy { ask } else { bid };
        match (word >> 32) % 10 {
            0..=5 => {
                let price = if buy { ask + through } else { bid - through };
                self.new_order(
                    symbol,
                    side,
                    price,
                    shares,
                    OrderType::Limit,
                    TimeInForce::ImmediateOrCancel,
                )
            }
            6 | 7 => self.new_order(
                symbol,
                side,
                0,
                shares,
                OrderType::Market,
                TimeInForce::ImmediateOrCancel,
            ),
            _ => self.new_order(
                symbol,
                side,
                far,
                shares,
                OrderType::Limit,
                TimeInForce::Day,
            ),
        }
    }

    /// A working order of `symbol`, dropping ids that have finished since.
    fn pick_working(
        &mut self,
        symbol: u32,
    ) -> Option<(ClientId, ClientOrderId, crossline_matcher::OrderState)> {
        let list = &mut self.working[symbol as usize];
        for _ in 0..8 {
            if list.is_empty() {
                return None;
            }
            let index = (self.random.next() % list.len() as u64) as usize;
            let (client, client_order_id) = list[index];
            match self.matcher.order(client, client_order_id) {
                Some(state) if state.resting => return Some((client, client_order_id, state)),
                Some(_) => {}
                None => {
                    list.swap_remove(index);
                }
            }
        }
        None
    }

    fn cancel(&mut self, symbol: u32) -> Option<Input> {
        let (client, original, _) = self.pick_working(symbol)?;
        let (_, client_order_id) = self.client_order_id();
        Some(Input::Cancel(Cancel {
            client,
            symbol: SymbolId::new(symbol),
            client_order_id,
            original_client_order_id: original,
        }))
    }

    fn replace(&mut self, symbol: u32) -> Option<Input> {
        let (client, original, state) = self.pick_working(symbol)?;
        let (_, client_order_id) = self.client_order_id();
        let word = self.random.next();
        let leaves = state.leaves.shares();
        let (price, quantity) = if word % 2 == 0 && leaves > 100 {
            (state.price, state.filled.shares() + leaves - 100)
        } else {
            let step = if word & 2 == 0 { CENT } else { -CENT };
            (
                Price::from_micros(state.price.micros() + step),
                state.ordered.shares(),
            )
        };
        // The replacement carries the new client order id from now on.
        let list = &mut self.working[symbol as usize];
        if let Some(entry) = list.iter_mut().find(|entry| **entry == (client, original)) {
            entry.1 = client_order_id;
        }
        Some(Input::Replace(Replace {
            client,
            quantity: Quantity::new(quantity),
            client_order_id,
            original_client_order_id: original,
            price,
        }))
    }

    fn nbbo(&mut self, symbol: u32, moves: bool) -> Input {
        let word = self.random.next();
        let index = symbol as usize;
        if moves && word % 3 == 0 {
            self.mid[index] += if word & 8 == 0 { CENT } else { -CENT };
        }
        let spread = 1 + ((word >> 8) % 3) as i64;
        // Keep the touch on whole cents: an odd spread needs a half-cent midpoint.
        let offset = if spread % 2 == 1 { CENT / 2 } else { 0 };
        let whole = (self.mid[index] - CENT / 2) / CENT * CENT;
        self.mid[index] = whole + offset;
        self.spread_cents[index] = spread;
        let (bid, ask) = self.touch(symbol);
        Input::Nbbo(Quote {
            symbol: SymbolId::new(symbol),
            bid_size: Quantity::new(100 * (1 + ((word >> 16) % 10) as u32)),
            bid: Price::from_micros(bid),
            ask: Price::from_micros(ask),
            ask_size: Quantity::new(100 * (1 + ((word >> 24) % 10) as u32)),
        })
    }

    fn venue_report(&mut self) -> Option<Input> {
        while let Some(&order_id) = self.routed.first() {
            let Some(state) = self
                .matcher
                .order_by_id(order_id)
                .filter(|state| state.routed.shares() > 0)
            else {
                self.routed.swap_remove(0);
                continue;
            };
            let routed = state.routed.shares();
            let word = self.random.next();
            if word % 2 == 0 && routed > 100 {
                let symbol = state.symbol.get();
                let (bid, ask) = self.touch(symbol);
                let price = if state.price > Price::ZERO {
                    state.price
                } else {
                    Price::from_micros(if word & 2 == 0 { ask } else { bid })
                };
                return Some(Input::VenueFill(VenueFill {
                    order_id,
                    quantity: Quantity::new(100),
                    price,
                    venue: 0,
                    fee: Price::ZERO,
                }));
            }
            self.routed.swap_remove(0);
            return Some(Input::VenueCancel(VenueCancel {
                order_id,
                quantity: Quantity::new(routed),
            }));
        }
        None
    }
}
