//! A small, obviously correct reference model of the matcher: the same rules, written
//! with the plainest data structures (a vector of working orders scanned linearly, books
//! rebuilt by sorting, the gross notional recomputed from scratch, capacities found by
//! counting share by share). Slow, and easy to check by reading.

use crossline_matcher::{
    CancelReason, CancelRejectReason, Contra, CrossPrice, Event, Execution, FirmQuote, Input,
    InputError, MatcherConfig, Mode, NbboPrices, RejectReason, RouteInstruction, SelfMatch,
    SymbolSettings, UnusableNbbo,
};
use crossline_types::{
    Capacity, ClientId, ClientOrderId, LiquiditySource, NewOrder, OrderId, OrderType, Price,
    Quantity, SymbolId, TimeInForce,
};

#[derive(Clone, Copy, Debug)]
struct Order {
    id: OrderId,
    coid: ClientOrderId,
    client: ClientId,
    symbol: SymbolId,
    price: i64,
    ordered: u32,
    filled: u32,
    cancelled: u32,
    routed: u32,
    buy: bool,
    market: bool,
    tif: TimeInForce,
    day: u32,
    /// Time priority while resting: smaller is older.
    resting: Option<u64>,
    receipt: NbboPrices,
    side: crossline_types::Side,
}

impl Order {
    fn leaves(&self) -> u32 {
        self.ordered - self.filled - self.cancelled
    }
    fn limit(&self) -> Option<i64> {
        (!self.market).then_some(self.price)
    }
    fn may_rest(&self) -> bool {
        !self.market && matches!(self.tif, TimeInForce::Day | TimeInForce::GoodTillCancel)
    }
}

struct Symbol {
    id: SymbolId,
    tick: i64,
    book_orders_max: usize,
    nbbo: Option<(i64, i64, u64)>,
    settings: SymbolSettings,
    position: i64,
    mark: i64,
    quote: FirmQuote,
}

/// The reference model.
pub(crate) struct Model {
    config: MatcherConfig,
    symbols: Vec<Symbol>,
    orders: Vec<Order>,
    day: u32,
    clock: u64,
    /// Clients' price-improvement multipliers, ppm (absent: 1,000,000).
    multipliers: std::collections::BTreeMap<ClientId, u32>,
}

impl Model {
    pub(crate) fn new(config: &MatcherConfig) -> Model {
        let mut symbols: Vec<Symbol> = config
            .symbols
            .iter()
            .map(|symbol| Symbol {
                id: symbol.symbol,
                tick: symbol.book.tick.micros(),
                book_orders_max: symbol.book.orders_max as usize,
                nbbo: None,
                settings: symbol.settings,
                position: 0,
                mark: symbol.reference_price.micros(),
                quote: FirmQuote {
                    symbol: symbol.symbol,
                    ..FirmQuote::default()
                },
            })
            .collect();
        symbols.sort_by_key(|symbol| symbol.id);
        Model {
            config: config.clone(),
            symbols,
            orders: Vec::new(),
            day: 0,
            clock: 0,
            multipliers: std::collections::BTreeMap::new(),
        }
    }

    pub(crate) fn position(&self, symbol: SymbolId) -> i64 {
        self.symbols[self.sym(symbol).unwrap()].position
    }

    pub(crate) fn apply(&mut self, sequence: u64, now: u64, input: &Input, out: &mut Vec<Event>) {
        match input {
            Input::NewOrder(order) => self.new_order(sequence, now, order, out),
            Input::Cancel(cancel) => {
                let reject = |reason| Event::CancelRejected {
                    client: cancel.client,
                    client_order_id: cancel.client_order_id,
                    original_client_order_id: cancel.original_client_order_id,
                    reason,
                };
                match self.find(cancel.client, cancel.original_client_order_id) {
                    None => out.push(reject(CancelRejectReason::UnknownOrder)),
                    Some(o) if self.orders[o].symbol != cancel.symbol => {
                        out.push(reject(CancelRejectReason::SymbolMismatch))
                    }
                    Some(o) if self.orders[o].routed > 0 => {
                        out.push(reject(CancelRejectReason::OrderAtVenue))
                    }
                    Some(o) => self.cancel_leaves(self.orders[o].id, CancelReason::Requested, out),
                }
            }
            Input::Replace(replace) => self.replace(now, replace, out),
            Input::Nbbo(quote) => {
                let Some(s) = self.sym(quote.symbol) else {
                    return out.push(Event::InputRejected {
                        reason: InputError::UnknownSymbol {
                            symbol: quote.symbol,
                        },
                    });
                };
                if quote.bid.micros() < 0 || quote.ask.micros() < 0 {
                    return out.push(Event::InputRejected {
                        reason: InputError::NegativeNbboPrice {
                            symbol: quote.symbol,
                        },
                    });
                }
                self.symbols[s].nbbo = Some((quote.bid.micros(), quote.ask.micros(), now));
                if self.usable(s, now) {
                    let (bid, ask, _) = self.symbols[s].nbbo.unwrap();
                    self.symbols[s].mark = bid + (ask - bid) / 2;
                }
                self.refresh_active(s, now, out);
            }
            Input::VenueFill(fill) => {
                let o = match self.venue_order(fill.order_id, fill.quantity, false) {
                    Ok(o) => o,
                    Err(reason) => return out.push(Event::InputRejected { reason }),
                };
                let order = self.orders[o];
                let price = fill.price.micros();
                let outside = match order.limit() {
                    Some(limit) if order.buy => price > limit,
                    Some(limit) => price < limit,
                    None => false,
                };
                if price <= 0 || outside {
                    return out.push(Event::InputRejected {
                        reason: InputError::VenuePrice {
                            order_id: fill.order_id,
                            price: fill.price,
                        },
                    });
                }
                self.orders[o].routed -= fill.quantity.shares();
                let s = self.sym(order.symbol).unwrap();
                let nbbo = self.prices(s);
                self.execute(
                    order.id,
                    price,
                    fill.quantity.shares(),
                    LiquiditySource::Venue,
                    Contra::Venue,
                    nbbo,
                    out,
                );
                self.forget_if_done(order.id);
                self.refresh_active(s, now, out);
            }
            Input::VenueCancel(cancel) => {
                let o = match self.venue_order(cancel.order_id, cancel.quantity, true) {
                    Ok(o) => o,
                    Err(reason) => return out.push(Event::InputRejected { reason }),
                };
                self.orders[o].routed = 0;
                let order = self.orders[o];
                let s = self.sym(order.symbol).unwrap();
                if order.may_rest() && order.day == self.day {
                    self.arrive(order.id, now, false, out);
                } else {
                    self.cancel_leaves(order.id, CancelReason::VenueCancelled, out);
                }
                self.refresh_active(s, now, out);
            }
            // Mass cancels are tested end to end through the sequencer
            // (crates/risk/tests/sequencer.rs); the model's command generator never
            // produces one.
            Input::MassCancel(_) => panic!("the reference model does not model mass cancels"),
            Input::ClientImprovement(change) => {
                if change.multiplier_ppm > 2_000_000 {
                    return out.push(Event::InputRejected {
                        reason: InputError::ImprovementMultiplier {
                            client: change.client,
                            multiplier_ppm: change.multiplier_ppm,
                        },
                    });
                }
                self.multipliers
                    .insert(change.client, change.multiplier_ppm);
            }
            Input::Snapshot => out.push(Event::Snapshot {
                sequence: crossline_types::SequenceNumber::new(sequence),
            }),
            Input::EndOfDay => {
                for s in 0..self.symbols.len() {
                    for buy in [true, false] {
                        let ids: Vec<OrderId> = self
                            .book(s, buy)
                            .into_iter()
                            .filter(|id| self.orders[self.index(*id)].tif == TimeInForce::Day)
                            .collect();
                        for id in ids {
                            self.cancel_leaves(id, CancelReason::EndOfDay, out);
                        }
                    }
                }
                self.day += 1;
            }
            Input::Settings(change) => {
                let Some(s) = self.sym(change.symbol) else {
                    return out.push(Event::InputRejected {
                        reason: InputError::UnknownSymbol {
                            symbol: change.symbol,
                        },
                    });
                };
                if let Err(source) = change.settings.validate() {
                    return out.push(Event::InputRejected {
                        reason: InputError::Settings {
                            symbol: change.symbol,
                            source,
                        },
                    });
                }
                self.symbols[s].settings = change.settings;
                self.refresh_active(s, now, out);
            }
        }
    }

    // ---- lookups ----

    fn sym(&self, id: SymbolId) -> Option<usize> {
        self.symbols.iter().position(|symbol| symbol.id == id)
    }

    fn find(&self, client: ClientId, coid: ClientOrderId) -> Option<usize> {
        self.orders
            .iter()
            .position(|o| o.client == client && o.coid == coid)
    }

    fn index(&self, id: OrderId) -> usize {
        self.orders.iter().position(|o| o.id == id).unwrap()
    }

    fn usable(&self, s: usize, now: u64) -> bool {
        match self.symbols[s].nbbo {
            Some((bid, ask, time)) => {
                bid > 0 && bid < ask && now.saturating_sub(time) <= self.config.nbbo_stale_after_ns
            }
            None => false,
        }
    }

    fn prices(&self, s: usize) -> NbboPrices {
        let (bid, ask, _) = self.symbols[s].nbbo.unwrap_or((0, 0, 0));
        NbboPrices {
            bid: Price::from_micros(bid),
            ask: Price::from_micros(ask),
        }
    }

    /// Resting order ids on one side, best first, oldest first within a price.
    fn book(&self, s: usize, buy: bool) -> Vec<OrderId> {
        let id = self.symbols[s].id;
        let mut resting: Vec<&Order> = self
            .orders
            .iter()
            .filter(|o| o.symbol == id && o.buy == buy && o.resting.is_some())
            .collect();
        resting.sort_by_key(|o| (if buy { -o.price } else { o.price }, o.resting.unwrap()));
        resting.into_iter().map(|o| o.id).collect()
    }

    fn best(&self, s: usize, buy: bool) -> Option<i64> {
        self.book(s, buy)
            .first()
            .map(|id| self.orders[self.index(*id)].price)
    }

    fn venue_order(
        &self,
        id: OrderId,
        quantity: Quantity,
        exact: bool,
    ) -> Result<usize, InputError> {
        let o = self
            .orders
            .iter()
            .position(|o| o.id == id && o.routed > 0)
            .ok_or(InputError::UnknownRoute { order_id: id })?;
        let routed = self.orders[o].routed;
        let q = quantity.shares();
        if q == 0 || q > routed || (exact && q != routed) {
            return Err(InputError::VenueQuantity {
                order_id: id,
                quantity,
                routed: Quantity::new(routed),
            });
        }
        Ok(o)
    }

    // ---- orders ----

    fn new_order(&mut self, sequence: u64, now: u64, new: &NewOrder, out: &mut Vec<Event>) {
        let reject = |reason| Event::Rejected {
            client: new.client,
            client_order_id: new.client_order_id,
            symbol: new.symbol,
            reason,
        };
        let Some(s) = self.sym(new.symbol) else {
            return out.push(reject(RejectReason::UnknownSymbol));
        };
        if new.quantity.shares() == 0 {
            return out.push(reject(RejectReason::ZeroQuantity));
        }
        let market = new.order_type == OrderType::Market;
        let immediate = market
            || matches!(
                new.time_in_force,
                TimeInForce::ImmediateOrCancel | TimeInForce::FillOrKill
            );
        if !market {
            if let Err(reason) = self.check_price(s, new.price.micros(), !immediate) {
                return out.push(reject(match reason {
                    0 => RejectReason::PriceNotPositive,
                    1 => RejectReason::SubPennyIncrement,
                    _ => RejectReason::PriceNotOnBookTick,
                }));
            }
        }
        if self.find(new.client, new.client_order_id).is_some() {
            return out.push(reject(RejectReason::DuplicateClientOrderId));
        }
        if self.orders.len() == self.config.orders_max as usize {
            return out.push(reject(RejectReason::OrdersFull));
        }
        if immediate && self.config.unusable_nbbo == UnusableNbbo::Reject && !self.usable(s, now) {
            return out.push(reject(RejectReason::NbboUnusable));
        }
        let id = OrderId::new(sequence);
        self.orders.push(Order {
            id,
            coid: new.client_order_id,
            client: new.client,
            symbol: new.symbol,
            price: if market { 0 } else { new.price.micros() },
            ordered: new.quantity.shares(),
            filled: 0,
            cancelled: 0,
            routed: 0,
            buy: new.side.is_buy(),
            market,
            tif: new.time_in_force,
            day: self.day,
            resting: None,
            receipt: self.prices(s),
            side: new.side,
        });
        out.push(Event::Accepted {
            order_id: id,
            client: new.client,
            client_order_id: new.client_order_id,
            symbol: new.symbol,
        });
        self.arrive(id, now, true, out);
        self.refresh_active(s, now, out);
    }

    /// 0: not positive, 1: Rule 612, 2: book tick.
    fn check_price(&self, s: usize, price: i64, may_rest: bool) -> Result<(), u8> {
        if price <= 0 {
            return Err(0);
        }
        let increment = if price >= 1_000_000 { 10_000 } else { 100 };
        if price % increment != 0 {
            return Err(1);
        }
        if may_rest && price % self.symbols[s].tick != 0 {
            return Err(2);
        }
        Ok(())
    }

    fn replace(&mut self, now: u64, replace: &crossline_types::Replace, out: &mut Vec<Event>) {
        let reject = |reason| Event::CancelRejected {
            client: replace.client,
            client_order_id: replace.client_order_id,
            original_client_order_id: replace.original_client_order_id,
            reason,
        };
        let Some(o) = self.find(replace.client, replace.original_client_order_id) else {
            return out.push(reject(CancelRejectReason::UnknownOrder));
        };
        let order = self.orders[o];
        let s = self.sym(order.symbol).unwrap();
        let problem = if order.routed > 0 {
            Some(CancelRejectReason::OrderAtVenue)
        } else if order.market {
            Some(CancelRejectReason::NotALimitOrder)
        } else if replace.client_order_id != replace.original_client_order_id
            && self.find(replace.client, replace.client_order_id).is_some()
        {
            Some(CancelRejectReason::DuplicateClientOrderId)
        } else if replace.quantity.shares() <= order.filled {
            Some(CancelRejectReason::QuantityNotAboveFilled)
        } else {
            self.check_price(s, replace.price.micros(), true)
                .err()
                .map(|code| match code {
                    0 => CancelRejectReason::PriceNotPositive,
                    1 => CancelRejectReason::SubPennyIncrement,
                    _ => CancelRejectReason::PriceNotOnBookTick,
                })
        };
        if let Some(reason) = problem {
            return out.push(reject(reason));
        }
        let leaves = replace.quantity.shares() - order.filled;
        let keeps = replace.price.micros() == order.price && leaves <= order.leaves();
        let receipt = self.prices(s);
        let o = &mut self.orders[o];
        o.coid = replace.client_order_id;
        o.ordered = replace.quantity.shares();
        if !keeps {
            o.price = replace.price.micros();
            o.resting = None;
            o.receipt = receipt;
        }
        out.push(Event::Replaced {
            order_id: order.id,
            client: order.client,
            client_order_id: replace.client_order_id,
            original_client_order_id: replace.original_client_order_id,
            price: replace.price,
            quantity: replace.quantity,
            priority_kept: keeps,
        });
        if !keeps {
            self.arrive(order.id, now, true, out);
        }
        self.refresh_active(s, now, out);
    }

    fn arrive(&mut self, id: OrderId, now: u64, may_route: bool, out: &mut Vec<Event>) {
        let order = self.orders[self.index(id)];
        let s = self.sym(order.symbol).unwrap();
        let usable = self.usable(s, now);
        if order.tif == TimeInForce::FillOrKill && !(usable && self.fok_fills(&order, s)) {
            return self.cancel_leaves(id, CancelReason::FillOrKill, out);
        }
        if usable {
            // Internal cross.
            loop {
                let order = self.orders[self.index(id)];
                if order.leaves() == 0 {
                    return self.forget_if_done(id);
                }
                let Some(&front) = self.book(s, !order.buy).first() else {
                    break;
                };
                let resting = self.orders[self.index(front)];
                if !self.reachable(&order, s, resting.price) {
                    break;
                }
                if resting.client == order.client {
                    match self.config.self_match {
                        SelfMatch::CancelArriving => {
                            return self.cancel_leaves(id, CancelReason::SelfMatch, out)
                        }
                        SelfMatch::CancelResting => {
                            self.cancel_leaves(front, CancelReason::SelfMatch, out);
                            continue;
                        }
                    }
                }
                let Some(price) = self.cross_price(&order, s, resting.price) else {
                    break;
                };
                let shares = order.leaves().min(resting.leaves());
                let nbbo = self.prices(s);
                self.execute(
                    id,
                    price,
                    shares,
                    LiquiditySource::InternalCross,
                    Contra::Order(front),
                    nbbo,
                    out,
                );
                self.execute(
                    front,
                    price,
                    shares,
                    LiquiditySource::InternalCross,
                    Contra::Order(id),
                    nbbo,
                    out,
                );
                self.forget_if_done(front);
            }
            // Principal.
            let order = self.orders[self.index(id)];
            if let Some((price, shares)) = self.principal_offer(&order, s) {
                let firm_side_best = self.best(s, !order.buy);
                let manning = firm_side_best.is_some_and(|best| {
                    if order.buy {
                        best <= price
                    } else {
                        best >= price
                    }
                });
                if !manning {
                    let shares = shares.min(order.leaves());
                    self.principal_fill(id, s, price, shares, out);
                }
            }
            if self.orders[self.index(id)].leaves() == 0 {
                return self.forget_if_done(id);
            }
        }
        self.residual(id, s, usable, may_route, out);
    }

    fn reachable(&self, order: &Order, s: usize, price: i64) -> bool {
        let (bid, ask, _) = self.symbols[s].nbbo.unwrap();
        if order.buy {
            price <= order.limit().unwrap_or(ask).min(ask)
        } else {
            price >= order.limit().unwrap_or(bid).max(bid)
        }
    }

    fn cross_price(&self, order: &Order, s: usize, resting: i64) -> Option<i64> {
        let (bid, ask, _) = self.symbols[s].nbbo.unwrap();
        let (buy_limit, sell_limit) = if order.buy {
            (order.limit().unwrap_or(ask), resting)
        } else {
            (resting, order.limit().unwrap_or(bid))
        };
        let low = sell_limit.max(bid);
        let high = buy_limit.min(ask);
        if low > high {
            return None;
        }
        let base = match self.config.cross_price {
            CrossPrice::Midpoint => bid + (ask - bid) / 2,
            CrossPrice::RestingLimit => resting,
        };
        Some(base.max(low).min(high))
    }

    fn fok_fills(&self, order: &Order, s: usize) -> bool {
        let mut crossable = 0u64;
        for id in self.book(s, !order.buy) {
            let resting = self.orders[self.index(id)];
            if !self.reachable(order, s, resting.price) {
                break;
            }
            if resting.client == order.client {
                if self.config.self_match == SelfMatch::CancelResting {
                    continue;
                }
                break;
            }
            if self.cross_price(order, s, resting.price).is_none() {
                break;
            }
            crossable += u64::from(resting.leaves());
            if crossable >= u64::from(order.leaves()) {
                return true;
            }
        }
        let principal = self
            .principal_offer(order, s)
            .map_or(0, |(_, shares)| shares);
        crossable + u64::from(principal) >= u64::from(order.leaves())
    }

    // ---- the firm ----

    fn principal_offer(&self, order: &Order, s: usize) -> Option<(i64, u32)> {
        if self.symbols[s].settings.mode == Mode::AgencyOnly {
            return None;
        }
        let firm_buys = !order.buy;
        // Active mode honours the firm's quote: a multiplier only adds to it there.
        let multiplier = self
            .multipliers
            .get(&order.client)
            .copied()
            .unwrap_or(1_000_000);
        let multiplier = if self.symbols[s].settings.mode == Mode::Active {
            multiplier.max(1_000_000)
        } else {
            multiplier
        };
        let price = self.firm_price(s, firm_buys, multiplier);
        if !self.reachable(order, s, price) {
            return None;
        }
        let shares = self.firm_capacity(s, firm_buys);
        (shares > 0).then_some((price, shares))
    }

    fn firm_price(&self, s: usize, firm_buys: bool, multiplier: u32) -> i64 {
        let symbol = &self.symbols[s];
        let settings = &symbol.settings;
        let (bid, ask, _) = symbol.nbbo.unwrap();
        let spread = i128::from(ask - bid);
        let fraction = spread * i128::from(settings.improvement_spread_ppm) / 1_000_000;
        let mut improvement = (fraction * i128::from(multiplier) / 1_000_000)
            .max(i128::from(settings.improvement_min.micros()));
        let position = symbol.position;
        if position != 0 {
            let limit = if position > 0 {
                settings.long_max
            } else {
                settings.short_max
            };
            let fullness = if limit == 0 {
                1_000_000
            } else {
                (i128::from(position.unsigned_abs()) * 1_000_000 / i128::from(limit)).min(1_000_000)
            };
            let skew = i128::from(settings.skew_ppm) * fullness / 1_000_000;
            let reduces = (position > 0) != firm_buys;
            let factor = if reduces {
                1_000_000 + skew
            } else {
                1_000_000 - skew
            };
            improvement = improvement * factor / 1_000_000;
        }
        let increment = i128::from(self.config.improvement_increment.micros());
        // Skew never takes it below the minimum, rounded up to whole increments.
        let minimum =
            (i128::from(settings.improvement_min.micros()) + increment - 1) / increment * increment;
        improvement = (improvement / increment * increment)
            .max(minimum)
            .min(spread);
        let improvement = i64::try_from(improvement).unwrap();
        if firm_buys {
            bid + improvement
        } else {
            ask - improvement
        }
    }

    /// Counts, share by share, how far the position may move (up to the largest principal
    /// fill).
    fn firm_capacity(&self, s: usize, firm_buys: bool) -> u32 {
        let symbol = &self.symbols[s];
        let others: i128 = self
            .symbols
            .iter()
            .filter(|other| other.id != symbol.id)
            .map(|other| i128::from(other.position.unsigned_abs()) * i128::from(other.mark))
            .sum();
        let gross_max = i128::from(self.config.gross_notional_max.micros());
        let allowed = |position: i64| -> bool {
            let toward_zero = if symbol.position >= 0 {
                (0..=symbol.position).contains(&position)
            } else {
                (symbol.position..=0).contains(&position)
            };
            let within = position <= i64::from(symbol.settings.long_max)
                && -position <= i64::from(symbol.settings.short_max)
                && others + i128::from(position.unsigned_abs()) * i128::from(symbol.mark)
                    <= gross_max;
            toward_zero || within
        };
        let step = if firm_buys { 1 } else { -1 };
        let mut shares = 0u32;
        while shares < symbol.settings.principal_size_max
            && allowed(symbol.position + step * (i64::from(shares) + 1))
        {
            shares += 1;
        }
        shares
    }

    fn principal_fill(
        &mut self,
        id: OrderId,
        s: usize,
        price: i64,
        shares: u32,
        out: &mut Vec<Event>,
    ) {
        let nbbo = self.prices(s);
        self.execute(
            id,
            price,
            shares,
            LiquiditySource::Principal,
            Contra::Firm,
            nbbo,
            out,
        );
        let firm_buys = !self.orders[self.index(id)].buy;
        let delta = if firm_buys {
            i64::from(shares)
        } else {
            -i64::from(shares)
        };
        let symbol = &mut self.symbols[s];
        symbol.position += delta;
        out.push(Event::PositionChanged {
            symbol: symbol.id,
            position: symbol.position,
            delta,
            price: Price::from_micros(price),
        });
    }

    fn refresh_active(&mut self, s: usize, now: u64, out: &mut Vec<Event>) {
        let active = self.symbols[s].settings.mode == Mode::Active;
        let usable = active && self.usable(s, now);
        if usable {
            for firm_buys in [true, false] {
                loop {
                    let price = self.firm_price(s, firm_buys, 1_000_000);
                    let capacity = self.firm_capacity(s, firm_buys);
                    let Some(&front) = self.book(s, !firm_buys).first() else {
                        break;
                    };
                    let resting = self.orders[self.index(front)];
                    let reaches = if firm_buys {
                        resting.price <= price
                    } else {
                        resting.price >= price
                    };
                    if !reaches || capacity == 0 {
                        break;
                    }
                    let shares = capacity.min(resting.leaves());
                    self.principal_fill(front, s, price, shares, out);
                    self.forget_if_done(front);
                }
            }
        }
        let id = self.symbols[s].id;
        let quote = if usable {
            FirmQuote {
                symbol: id,
                bid: Price::from_micros(self.firm_price(s, true, 1_000_000)),
                bid_size: Quantity::new(self.firm_capacity(s, true)),
                ask: Price::from_micros(self.firm_price(s, false, 1_000_000)),
                ask_size: Quantity::new(self.firm_capacity(s, false)),
            }
        } else {
            FirmQuote {
                symbol: id,
                ..FirmQuote::default()
            }
        };
        if quote != self.symbols[s].quote {
            self.symbols[s].quote = quote;
            out.push(Event::FirmQuote(quote));
        }
    }

    // ---- residuals and bookkeeping ----

    fn residual(
        &mut self,
        id: OrderId,
        s: usize,
        usable: bool,
        may_route: bool,
        out: &mut Vec<Event>,
    ) {
        let order = self.orders[self.index(id)];
        let routes = may_route && self.symbols[s].settings.route_residual;
        let blind = !usable && self.config.unusable_nbbo == UnusableNbbo::Route;
        if order.market {
            if routes && (usable || blind) {
                return self.route(id, s, out);
            }
            return self.cancel_leaves(id, CancelReason::NoLiquidity, out);
        }
        let (bid, ask, _) = self.symbols[s].nbbo.unwrap_or((0, 0, 0));
        let marketable = usable
            && if order.buy {
                ask <= order.price
            } else {
                bid >= order.price
            };
        let immediate = order.tif == TimeInForce::ImmediateOrCancel;
        if routes && (marketable || (blind && immediate)) {
            self.route(id, s, out);
        } else if order.may_rest() {
            let locks = self.best(s, !order.buy).is_some_and(|contra| {
                if order.buy {
                    contra <= order.price
                } else {
                    contra >= order.price
                }
            });
            let resting_count = self
                .orders
                .iter()
                .filter(|o| o.symbol == order.symbol && o.resting.is_some())
                .count();
            if locks {
                self.cancel_leaves(id, CancelReason::WouldLockBook, out);
            } else if resting_count == self.symbols[s].book_orders_max {
                self.cancel_leaves(id, CancelReason::BookFull, out);
            } else {
                self.clock += 1;
                let o = self.index(id);
                self.orders[o].resting = Some(self.clock);
            }
        } else {
            self.cancel_leaves(id, CancelReason::ImmediateOrCancel, out);
        }
    }

    fn route(&mut self, id: OrderId, s: usize, out: &mut Vec<Event>) {
        let o = self.index(id);
        self.orders[o].routed = self.orders[o].leaves();
        let order = self.orders[o];
        out.push(Event::Route(RouteInstruction {
            order_id: id,
            symbol: self.symbols[s].id,
            side: order.side,
            quantity: Quantity::new(order.routed),
            limit: order.limit().map(Price::from_micros),
            capacity: Capacity::Agency,
        }));
    }

    fn cancel_leaves(&mut self, id: OrderId, reason: CancelReason, out: &mut Vec<Event>) {
        let o = self.index(id);
        let shares = self.orders[o].leaves();
        self.orders[o].cancelled += shares;
        self.orders[o].resting = None;
        let order = self.orders[o];
        out.push(Event::Cancelled {
            order_id: id,
            client: order.client,
            client_order_id: order.coid,
            quantity: Quantity::new(shares),
            reason,
        });
        self.orders.remove(o);
    }

    #[allow(clippy::too_many_arguments)]
    fn execute(
        &mut self,
        id: OrderId,
        price: i64,
        shares: u32,
        liquidity: LiquiditySource,
        contra: Contra,
        nbbo: NbboPrices,
        out: &mut Vec<Event>,
    ) {
        let o = self.index(id);
        self.orders[o].filled += shares;
        let order = self.orders[o];
        let improvement = if order.buy {
            nbbo.ask.micros() - price
        } else {
            price - nbbo.bid.micros()
        };
        out.push(Event::Filled(Execution {
            order_id: id,
            client: order.client,
            client_order_id: order.coid,
            symbol: order.symbol,
            side: order.side,
            price: Price::from_micros(price),
            quantity: Quantity::new(shares),
            leaves: Quantity::new(order.leaves()),
            liquidity,
            capacity: if liquidity == LiquiditySource::Principal {
                Capacity::Principal
            } else {
                Capacity::Agency
            },
            contra,
            nbbo_at_receipt: order.receipt,
            nbbo_at_execution: nbbo,
            price_improvement: Price::from_micros(improvement),
        }));
    }

    fn forget_if_done(&mut self, id: OrderId) {
        let o = self.index(id);
        if self.orders[o].leaves() == 0 {
            self.orders.remove(o);
        }
    }

    /// Working orders, for the invariant checks: (id, ordered, filled, cancelled, leaves).
    pub(crate) fn working(&self) -> Vec<(OrderId, u32, u32, u32, u32)> {
        self.orders
            .iter()
            .map(|o| (o.id, o.ordered, o.filled, o.cancelled, o.leaves()))
            .collect()
    }
}
