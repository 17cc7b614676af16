//! The state machine: one input in, its events out.

use core::ops::ControlFlow;

use crossline_book::{Book, BookError, BookSide, RestingOrder};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, LiquiditySource, NewOrder, OrderId, OrderType,
    Price, Quantity, Quote, Replace, SequenceNumber, Side, SymbolId, TimeInForce, Timestamp,
};

use crate::config::{
    ConfigError, CrossPrice, MatcherConfig, Mode, SelfMatch, UnusableNbbo, ORDERS_MAX, PPM,
    SYMBOL_ID_MAX,
};
use crate::io::{
    CancelReason, CancelRejectReason, ClientImprovement, Contra, Event, Execution, FirmQuote,
    Input, InputError, MassCancel, NbboPrices, RejectReason, RouteInstruction, SettingsChange,
    VenueCancel, VenueFill, IMPROVEMENT_MULTIPLIER_PPM_MAX,
};
use crate::pricing::{self, Inventory, Nbbo};
use crate::state::{Order, Orders, Symbol};

/// Marks a symbol id with no symbol in the dense index.
const NO_SYMBOL: u32 = u32::MAX;

/// The internalization state machine. See the crate documentation.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Matcher {
    nbbo_stale_after_ns: u64,
    unusable_nbbo: UnusableNbbo,
    self_match: SelfMatch,
    cross_price: CrossPrice,
    improvement_increment: Price,
    firm_account: ClientId,
    gross_notional_max: i128,
    /// Dense index of each symbol id into `symbols`.
    symbol_index: Vec<u32>,
    /// Symbols in ascending id order.
    symbols: Vec<Symbol>,
    orders: Orders,
    /// Sum over symbols of |position| × mark, in micro-dollars.
    gross_notional: i128,
    /// Trading days ended so far.
    day: u32,
    /// Order-table slots collected at end of day, sized to the largest book.
    #[serde(with = "crossline_types::serde_support::capacity")]
    scratch: Vec<u32>,
    /// The symbol whose firm position or market the current input changed: the hedger
    /// looks at it once the input is done.
    touched: Option<usize>,
    /// Clients' price-improvement multipliers other than 1,000,000 ppm, in ascending
    /// client order (so the state serializes the same way every time).
    multipliers: Vec<(ClientId, u32)>,
}

/// Room for this many clients' multipliers is taken up front, so setting one does not
/// allocate until more clients than this have one.
const MULTIPLIERS_RESERVED: usize = 1_024;

/// Hedge orders' engine ids carry this bit, so they never collide with client orders'
/// (which are sequence numbers, far below it): the hedge for the input at sequence `s`
/// is `s | HEDGE_ORDER_BIT`.
pub const HEDGE_ORDER_BIT: u64 = 1 << 63;

/// The stages of [`Matcher::prefetch`], farthest ahead first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefetchStage {
    /// The symbol's state and the order index entries the input looks up.
    Index,
    /// The best level on each side of the symbol's book, and the order record a cancel or
    /// replace names (found through the index entry loaded by the first stage).
    Levels,
    /// The oldest order at each best level: what a cross reads next.
    Fronts,
}

/// How far ahead of the input it applies an agent draining a batch issues each
/// [`PrefetchStage`]: far enough for a miss to land before the next stage needs it, near
/// enough that the lines are still in cache when the input is applied.
pub const PREFETCH_STAGES: [(usize, PrefetchStage); 3] = [
    (12, PrefetchStage::Index),
    (8, PrefetchStage::Levels),
    (4, PrefetchStage::Fronts),
];

/// How an arriving order's crossing ended.
enum CrossEnd {
    /// Nothing left to fill.
    Complete,
    /// Self-match prevention cancels what is left.
    SelfMatch,
    /// No more contra orders within reach.
    Open,
}

/// A snapshot of one working order, for queries.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderState {
    /// The engine's id.
    pub order_id: OrderId,
    /// The symbol.
    pub symbol: SymbolId,
    /// Limit price (zero for market).
    pub price: Price,
    /// Total quantity (after any replace).
    pub ordered: Quantity,
    /// Shares executed.
    pub filled: Quantity,
    /// Shares still working (resting or out at a venue).
    pub leaves: Quantity,
    /// Of `leaves`, shares out at a venue.
    pub routed: Quantity,
    /// Whether it rests in the book.
    pub resting: bool,
}

impl Matcher {
    /// Builds a matcher, allocating every table.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field (and symbol) that is out of range.
    pub fn new(config: &MatcherConfig) -> Result<Matcher, ConfigError> {
        if config.orders_max == 0 || config.orders_max > ORDERS_MAX {
            return Err(ConfigError::OrdersMax {
                value: config.orders_max,
            });
        }
        if config.improvement_increment <= Price::ZERO {
            return Err(ConfigError::ImprovementIncrement {
                value: config.improvement_increment,
            });
        }
        if config.gross_notional_max < Price::ZERO {
            return Err(ConfigError::GrossNotional {
                value: config.gross_notional_max,
            });
        }
        let mut configs = config.symbols.clone();
        configs.sort_by_key(|symbol| symbol.symbol);
        let id_max = configs.last().map_or(0, |symbol| symbol.symbol.get());
        if id_max > SYMBOL_ID_MAX {
            return Err(ConfigError::SymbolId {
                symbol: SymbolId::new(id_max),
            });
        }
        let mut symbol_index = vec![NO_SYMBOL; id_max as usize + 1];
        let mut symbols = Vec::with_capacity(configs.len());
        let mut scratch_len = 0;
        for symbol in &configs {
            let id = symbol.symbol;
            if symbol_index[id.get() as usize] != NO_SYMBOL {
                return Err(ConfigError::SymbolTwice { symbol: id });
            }
            if symbol.reference_price <= Price::ZERO {
                return Err(ConfigError::ReferencePrice {
                    symbol: id,
                    price: symbol.reference_price,
                });
            }
            symbol
                .settings
                .validate()
                .map_err(|source| ConfigError::Settings { symbol: id, source })?;
            let book = Book::new(&symbol.book, symbol.reference_price)
                .map_err(|source| ConfigError::Book { symbol: id, source })?;
            scratch_len = scratch_len.max(symbol.book.orders_max as usize);
            symbol_index[id.get() as usize] = u32::try_from(symbols.len()).unwrap_or(NO_SYMBOL);
            symbols.push(Symbol {
                id,
                book,
                window_levels: symbol.book.window_levels,
                nbbo: Nbbo::default(),
                settings: symbol.settings,
                position: 0,
                hedging: false,
                mark: symbol.reference_price,
                quote: FirmQuote {
                    symbol: id,
                    ..FirmQuote::default()
                },
            });
        }
        Ok(Matcher {
            nbbo_stale_after_ns: config.nbbo_stale_after_ns,
            unusable_nbbo: config.unusable_nbbo,
            self_match: config.self_match,
            cross_price: config.cross_price,
            improvement_increment: config.improvement_increment,
            firm_account: config.firm_account,
            gross_notional_max: i128::from(config.gross_notional_max.micros()),
            symbol_index,
            symbols,
            orders: Orders::new(config.orders_max),
            gross_notional: 0,
            day: 0,
            scratch: Vec::with_capacity(scratch_len),
            touched: None,
            multipliers: Vec::with_capacity(MULTIPLIERS_RESERVED),
        })
    }

    /// Applies one sequenced input at `time` (taken from the input, never from a clock),
    /// passing every resulting event to `emit` in order. A new order's engine id is
    /// `sequence`. Never allocates, never panics on any input.
    pub fn apply(
        &mut self,
        sequence: SequenceNumber,
        time: Timestamp,
        input: &Input,
        emit: &mut impl FnMut(Event),
    ) {
        match input {
            Input::NewOrder(order) => {
                self.new_order(OrderId::new(sequence.get()), time, order, emit)
            }
            Input::Cancel(cancel) => self.cancel(cancel, emit),
            Input::Replace(replace) => self.replace(time, replace, emit),
            Input::Nbbo(quote) => self.nbbo(time, quote, emit),
            Input::VenueFill(fill) => self.venue_fill(time, fill, emit),
            Input::VenueCancel(cancel) => self.venue_cancel(time, cancel, emit),
            Input::EndOfDay => self.end_of_day(emit),
            Input::Settings(change) => self.settings(time, change, emit),
            Input::MassCancel(scope) => self.mass_cancel(scope, emit),
            Input::ClientImprovement(change) => self.client_improvement(change, emit),
            Input::Snapshot => emit(Event::Snapshot { sequence }),
        }
        if let Some(symbol) = self.touched.take() {
            self.hedge(sequence, symbol, time, emit);
        }
    }

    /// Starts loading memory that [`Matcher::apply`] will need for `input` at
    /// `sequence`, without waiting for it and without changing anything: a hint for an
    /// agent that drains inputs in batches. Each [`PrefetchStage`] needs the lines the
    /// previous one loaded, so an agent issues them at decreasing distances ahead of the
    /// input it applies (say twelve, eight and four inputs ahead), and several inputs'
    /// memory misses overlap instead of queueing.
    #[inline]
    pub fn prefetch(&self, sequence: SequenceNumber, input: &Input, stage: PrefetchStage) {
        match stage {
            PrefetchStage::Index => self.prefetch_index(sequence, input),
            PrefetchStage::Levels | PrefetchStage::Fronts => {
                let symbol = match input {
                    Input::NewOrder(order) => order.symbol,
                    Input::Cancel(cancel) => {
                        if stage == PrefetchStage::Levels {
                            self.orders.prefetch_client_order(
                                cancel.client,
                                cancel.original_client_order_id,
                            );
                        }
                        cancel.symbol
                    }
                    Input::Replace(replace) => {
                        if stage == PrefetchStage::Levels {
                            self.orders.prefetch_client_order(
                                replace.client,
                                replace.original_client_order_id,
                            );
                        }
                        return;
                    }
                    Input::Nbbo(quote) => quote.symbol,
                    Input::VenueFill(_)
                    | Input::VenueCancel(_)
                    | Input::Settings(_)
                    | Input::MassCancel(_)
                    | Input::ClientImprovement(_)
                    | Input::Snapshot
                    | Input::EndOfDay => return,
                };
                if let Some(state) = self.symbol(symbol) {
                    if stage == PrefetchStage::Levels {
                        state.book.prefetch_levels();
                    } else {
                        state.book.prefetch_fronts();
                    }
                }
            }
        }
    }

    /// The first prefetch stage: the symbol's state and the order index entries.
    fn prefetch_index(&self, sequence: SequenceNumber, input: &Input) {
        let symbol = match input {
            Input::NewOrder(order) => {
                self.orders
                    .prefetch_client(order.client, order.client_order_id);
                self.orders.prefetch_id(OrderId::new(sequence.get()));
                order.symbol
            }
            Input::Cancel(cancel) => {
                self.orders
                    .prefetch_client(cancel.client, cancel.original_client_order_id);
                cancel.symbol
            }
            Input::Replace(replace) => {
                self.orders
                    .prefetch_client(replace.client, replace.original_client_order_id);
                return;
            }
            Input::Nbbo(quote) => quote.symbol,
            Input::VenueFill(VenueFill { order_id, .. })
            | Input::VenueCancel(VenueCancel { order_id, .. }) => {
                self.orders.prefetch_id(*order_id);
                return;
            }
            Input::Settings(change) => change.symbol,
            Input::EndOfDay
            | Input::MassCancel(_)
            | Input::ClientImprovement(_)
            | Input::Snapshot => return,
        };
        if let Some(state) = self.symbol(symbol) {
            state.prefetch();
        }
    }

    // ---- queries ----

    /// The firm's position in `symbol`, in shares (negative: short).
    #[must_use]
    pub fn position(&self, symbol: SymbolId) -> Option<i64> {
        self.symbol(symbol).map(|symbol| symbol.position)
    }

    /// The firm's gross notional: the sum over symbols of |position| × mark, in
    /// micro-dollars.
    #[must_use]
    pub fn gross_notional_micros(&self) -> i128 {
        self.gross_notional
    }

    /// The best internal level on `side` of `symbol`: (price, shares).
    #[must_use]
    pub fn best(&self, symbol: SymbolId, side: BookSide) -> Option<(Price, u64)> {
        let level = self.symbol(symbol)?.book.best(side)?;
        Some((level.price, level.quantity))
    }

    /// Orders resting in `symbol`'s book, both sides.
    #[must_use]
    pub fn resting_orders(&self, symbol: SymbolId) -> Option<usize> {
        self.symbol(symbol).map(|symbol| symbol.book.len())
    }

    /// Calls `visit` with every resting order of `symbol` on `side`, in priority order.
    pub fn for_each_resting(
        &self,
        symbol: SymbolId,
        side: BookSide,
        mut visit: impl FnMut(&RestingOrder),
    ) {
        if let Some(symbol) = self.symbol(symbol) {
            let _ = symbol.book.try_for_each_order(side, |order| {
                visit(order);
                ControlFlow::Continue(())
            });
        }
    }

    /// The last firm quote published for `symbol` (active mode).
    #[must_use]
    pub fn firm_quote(&self, symbol: SymbolId) -> Option<FirmQuote> {
        self.symbol(symbol).map(|symbol| symbol.quote)
    }

    /// The working order `client_order_id` of `client`.
    #[must_use]
    pub fn order(&self, client: ClientId, client_order_id: ClientOrderId) -> Option<OrderState> {
        self.orders
            .find(client, client_order_id)
            .map(|slot| self.state_of(slot))
    }

    /// The working order with engine id `order_id`.
    #[must_use]
    pub fn order_by_id(&self, order_id: OrderId) -> Option<OrderState> {
        self.orders
            .find_id(order_id)
            .map(|slot| self.state_of(slot))
    }

    /// Calls `visit` with every working order that has shares out at a venue, in slot
    /// order (a scan of the whole order table: for start-up, not the hot path).
    pub fn for_each_routed(&self, mut visit: impl FnMut(OrderState)) {
        for slot in 0..self.orders.capacity() {
            if self.orders.live(slot).is_some_and(|order| order.routed > 0) {
                visit(self.state_of(slot));
            }
        }
    }

    /// Working orders, all symbols.
    #[must_use]
    pub fn working_orders(&self) -> u32 {
        self.orders.len()
    }

    /// An upper bound on the events one input makes, for sizing the queues that take
    /// them: an input touches each working order at most once, and each order it
    /// touches yields at most two events (a fill of each side, or a cancel and the
    /// cancel of its routed shares), beside a bounded number for the input's own order
    /// (its acceptance, a principal fill, a route, a remainder's cancel, a hedge).
    #[must_use]
    pub fn events_per_input_max(&self) -> usize {
        2 * self.orders.capacity() as usize + 64
    }

    fn state_of(&self, slot: u32) -> OrderState {
        let order = self.orders.get(slot);
        OrderState {
            order_id: order.id,
            symbol: order.symbol,
            price: order.price,
            ordered: Quantity::new(order.ordered),
            filled: Quantity::new(order.filled),
            leaves: Quantity::new(order.leaves()),
            routed: Quantity::new(order.routed),
            resting: order.handle.is_some(),
        }
    }

    fn symbol(&self, id: SymbolId) -> Option<&Symbol> {
        self.index_of(id).map(|index| &self.symbols[index])
    }

    fn index_of(&self, id: SymbolId) -> Option<usize> {
        let index = *self.symbol_index.get(id.get() as usize)?;
        (index != NO_SYMBOL).then_some(index as usize)
    }

    fn usable(&self, symbol: usize, now: Timestamp) -> bool {
        self.symbols[symbol]
            .nbbo
            .usable(now, self.nbbo_stale_after_ns)
    }

    // ---- new orders ----

    fn new_order(
        &mut self,
        id: OrderId,
        now: Timestamp,
        new: &NewOrder,
        emit: &mut impl FnMut(Event),
    ) {
        let symbol = match self.check_new(now, new) {
            Ok(symbol) => symbol,
            Err(reason) => {
                emit(Event::Rejected {
                    client: new.client,
                    client_order_id: new.client_order_id,
                    symbol: new.symbol,
                    reason,
                });
                return;
            }
        };
        let price = match new.order_type {
            OrderType::Limit => new.price,
            OrderType::Market => Price::ZERO,
        };
        let slot = self.orders.insert(
            Order {
                id,
                client_order_id: new.client_order_id,
                client: new.client,
                symbol: new.symbol,
                price,
                ordered: new.quantity.shares(),
                filled: 0,
                routed: 0,
                side: new.side,
                order_type: new.order_type,
                time_in_force: new.time_in_force,
                day: self.day,
                handle: None,
            },
            self.symbols[symbol].nbbo.prices,
        );
        emit(Event::Accepted {
            order_id: id,
            client: new.client,
            client_order_id: new.client_order_id,
            symbol: new.symbol,
        });
        self.arrive(slot, symbol, now, true, emit);
        self.refresh_active(symbol, now, emit);
    }

    /// Checks a new order and returns its symbol's index.
    fn check_new(&self, now: Timestamp, new: &NewOrder) -> Result<usize, RejectReason> {
        let symbol = self
            .index_of(new.symbol)
            .ok_or(RejectReason::UnknownSymbol)?;
        if new.quantity.is_zero() {
            return Err(RejectReason::ZeroQuantity);
        }
        let immediate = new.order_type == OrderType::Market
            || matches!(
                new.time_in_force,
                TimeInForce::ImmediateOrCancel | TimeInForce::FillOrKill
            );
        if new.order_type == OrderType::Limit {
            self.check_price(symbol, new.price, !immediate)
                .map_err(|reason| match reason {
                    PriceProblem::NotPositive => RejectReason::PriceNotPositive,
                    PriceProblem::Increment => RejectReason::SubPennyIncrement,
                    PriceProblem::Tick => RejectReason::PriceNotOnBookTick,
                })?;
        }
        if self.orders.find(new.client, new.client_order_id).is_some() {
            return Err(RejectReason::DuplicateClientOrderId);
        }
        if self.orders.is_full() {
            return Err(RejectReason::OrdersFull);
        }
        if immediate && self.unusable_nbbo == UnusableNbbo::Reject && !self.usable(symbol, now) {
            return Err(RejectReason::NbboUnusable);
        }
        Ok(symbol)
    }

    fn check_price(&self, symbol: usize, price: Price, may_rest: bool) -> Result<(), PriceProblem> {
        if price <= Price::ZERO {
            return Err(PriceProblem::NotPositive);
        }
        if !pricing::is_valid_increment(price) {
            return Err(PriceProblem::Increment);
        }
        if may_rest && !price.is_multiple_of(self.symbols[symbol].book.tick()) {
            return Err(PriceProblem::Tick);
        }
        Ok(())
    }

    /// Works an order that has just arrived (or been replaced, or come back from a venue):
    /// internal cross, principal fill, then the residual. Routes only if `may_route`.
    fn arrive(
        &mut self,
        slot: u32,
        symbol: usize,
        now: Timestamp,
        may_route: bool,
        emit: &mut impl FnMut(Event),
    ) {
        let usable = self.usable(symbol, now);
        let order = *self.orders.get(slot);
        if order.time_in_force == TimeInForce::FillOrKill
            && !(usable && self.fill_or_kill_fills(slot, symbol))
        {
            self.cancel_leaves(slot, symbol, CancelReason::FillOrKill, emit);
            return;
        }
        if usable {
            match self.cross(slot, symbol, emit) {
                CrossEnd::Complete => return self.orders.release(slot),
                CrossEnd::SelfMatch => {
                    return self.cancel_leaves(slot, symbol, CancelReason::SelfMatch, emit);
                }
                CrossEnd::Open => {}
            }
            self.principal_for_arrival(slot, symbol, emit);
            if self.orders.get(slot).leaves() == 0 {
                return self.orders.release(slot);
            }
        }
        self.residual(slot, symbol, usable, may_route, emit);
    }

    /// Whether a fill-or-kill order can fill in full now, from crosses and one principal
    /// fill, exactly as [`Matcher::cross`] and [`Matcher::principal_for_arrival`] would.
    fn fill_or_kill_fills(&self, slot: u32, symbol: usize) -> bool {
        let order = *self.orders.get(slot);
        let state = &self.symbols[symbol];
        let bound = pricing::protected_bound(order.side, order.limit(), state.nbbo.prices);
        let need = u64::from(order.leaves());
        let mut crossable = 0u64;
        let _ = state
            .book
            .try_for_each_order(order.book_side().contra(), |resting| {
                if !order.side.within(resting.price, bound) {
                    return ControlFlow::Break(());
                }
                if resting.client == order.client {
                    return match self.self_match {
                        SelfMatch::CancelResting => ControlFlow::Continue(()),
                        SelfMatch::CancelArriving => ControlFlow::Break(()),
                    };
                }
                if pricing::cross_price(
                    order.side,
                    order.limit(),
                    resting.price,
                    &state.nbbo,
                    self.cross_price,
                )
                .is_none()
                {
                    return ControlFlow::Break(());
                }
                crossable += u64::from(resting.quantity.shares());
                if crossable >= need {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
        if crossable >= need {
            return true;
        }
        let principal = self
            .principal_offer(&order, symbol, bound)
            .map_or(0, |(_, shares)| shares);
        crossable + principal >= need
    }

    /// Crosses an arriving order against resting client orders, best first, while they
    /// are within its protected bound.
    fn cross(&mut self, slot: u32, symbol: usize, emit: &mut impl FnMut(Event)) -> CrossEnd {
        loop {
            let order = *self.orders.get(slot);
            if order.leaves() == 0 {
                return CrossEnd::Complete;
            }
            let state = &mut self.symbols[symbol];
            let nbbo = state.nbbo;
            let contra_side = order.book_side().contra();
            let Some((_, resting)) = state.book.front(contra_side) else {
                return CrossEnd::Open;
            };
            let resting = *resting;
            let bound = pricing::protected_bound(order.side, order.limit(), nbbo.prices);
            if !order.side.within(resting.price, bound) {
                return CrossEnd::Open;
            }
            if resting.client == order.client {
                match self.self_match {
                    SelfMatch::CancelArriving => return CrossEnd::SelfMatch,
                    SelfMatch::CancelResting => {
                        self.cancel_leaves(resting.owner, symbol, CancelReason::SelfMatch, emit);
                        continue;
                    }
                }
            }
            let Some(price) = pricing::cross_price(
                order.side,
                order.limit(),
                resting.price,
                &nbbo,
                self.cross_price,
            ) else {
                return CrossEnd::Open;
            };
            let shares = Quantity::new(order.leaves().min(resting.quantity.shares()));
            let fill = state.book.fill_front(contra_side, shares);
            debug_assert!(fill.is_ok_and(|fill| fill.order_id == resting.order_id));
            let resting_slot = resting.owner;
            if fill.is_ok_and(|fill| fill.completed) {
                self.orders.get_mut(resting_slot).handle = None;
            }
            let nbbo = nbbo.prices;
            self.execute(
                slot,
                price,
                shares,
                LiquiditySource::InternalCross,
                Contra::Order(resting.order_id),
                nbbo,
                emit,
            );
            self.execute(
                resting_slot,
                price,
                shares,
                LiquiditySource::InternalCross,
                Contra::Order(order.id),
                nbbo,
                emit,
            );
            if self.orders.get(resting_slot).leaves() == 0 {
                self.orders.release(resting_slot);
            }
        }
    }

    /// The firm's price and size for a principal fill of an order, if it would give one:
    /// the mode allows it, the improved price is within the order's bound, and the firm
    /// has capacity. The NBBO must be usable (the caller checked).
    fn principal_offer(&self, order: &Order, symbol: usize, bound: Price) -> Option<(Price, u64)> {
        let state = &self.symbols[symbol];
        if state.settings.mode == Mode::AgencyOnly {
            return None;
        }
        let firm_buys = order.side.is_sell();
        // In active mode the firm's published quote is honoured for every client: a
        // multiplier may improve on it, never take from it.
        let multiplier = match state.settings.mode {
            Mode::Active => self.multiplier(order.client).max(PPM),
            _ => self.multiplier(order.client),
        };
        let price = self.firm_price(symbol, firm_buys, multiplier);
        if !order.side.within(price, bound) {
            return None;
        }
        let shares = self.firm_capacity(symbol, firm_buys);
        (shares > 0).then_some((price, shares))
    }

    /// The price the firm trades at on `symbol`: the NBBO side it must not trade through,
    /// improved toward the other side, for a client with the price-improvement multiplier
    /// `multiplier_ppm` (its quote, the same for everyone, takes [`PPM`]).
    fn firm_price(&self, symbol: usize, firm_buys: bool, multiplier_ppm: u32) -> Price {
        let state = &self.symbols[symbol];
        let NbboPrices { bid, ask } = state.nbbo.prices;
        let spread = Price::from_micros(ask.micros() - bid.micros());
        let improvement = pricing::improvement(
            spread,
            &state.settings,
            multiplier_ppm,
            state.position,
            firm_buys,
            self.improvement_increment,
        );
        if firm_buys {
            Price::from_micros(bid.micros() + improvement.micros())
        } else {
            Price::from_micros(ask.micros() - improvement.micros())
        }
    }

    /// The most shares the firm may trade in one principal fill on `symbol`.
    fn firm_capacity(&self, symbol: usize, firm_buys: bool) -> u64 {
        let state = &self.symbols[symbol];
        let inventory = Inventory {
            position: state.position,
            long_max: state.settings.long_max,
            short_max: state.settings.short_max,
            gross: self.gross_notional,
            gross_max: self.gross_notional_max,
            mark: state.mark,
        };
        inventory
            .capacity(firm_buys)
            .min(u64::from(state.settings.principal_size_max))
    }

    /// Fills what an arriving order has left from the firm's inventory, if the firm offers
    /// a price within its bound and no customer order rests at that price or better on the
    /// firm's side (Manning).
    fn principal_for_arrival(&mut self, slot: u32, symbol: usize, emit: &mut impl FnMut(Event)) {
        let order = *self.orders.get(slot);
        let nbbo = self.symbols[symbol].nbbo.prices;
        let bound = pricing::protected_bound(order.side, order.limit(), nbbo);
        let Some((price, shares)) = self.principal_offer(&order, symbol, bound) else {
            return;
        };
        // The firm takes the arriving order's contra side: a customer order resting on that
        // side at the firm's price or better has priority (FINRA Rule 5320).
        let firm_side = order.book_side().contra();
        if let Some(best) = self.symbols[symbol].book.best(firm_side) {
            if order.side.within(best.price, price) {
                return;
            }
        }
        let shares = shares.min(u64::from(order.leaves()));
        // `shares` is at most the order's leaves, a `u32`.
        let shares = Quantity::new(u32::try_from(shares).unwrap_or(0));
        self.principal_fill(slot, symbol, price, shares, nbbo, emit);
    }

    /// Executes a principal fill of `shares` at `price` against order `slot` and moves the
    /// firm's position.
    fn principal_fill(
        &mut self,
        slot: u32,
        symbol: usize,
        price: Price,
        shares: Quantity,
        nbbo: NbboPrices,
        emit: &mut impl FnMut(Event),
    ) {
        debug_assert!(!shares.is_zero());
        self.execute(
            slot,
            price,
            shares,
            LiquiditySource::Principal,
            Contra::Firm,
            nbbo,
            emit,
        );
        let firm_buys = self.orders.get(slot).side.is_sell();
        self.move_position(symbol, firm_buys, shares, price, emit);
    }

    /// Moves the firm's position on `symbol` by a trade of `shares` at `price`, keeps the
    /// gross notional in step, and reports it.
    fn move_position(
        &mut self,
        symbol: usize,
        firm_buys: bool,
        shares: Quantity,
        price: Price,
        emit: &mut impl FnMut(Event),
    ) {
        let delta = if firm_buys {
            i64::from(shares.shares())
        } else {
            -i64::from(shares.shares())
        };
        let state = &mut self.symbols[symbol];
        let mark = i128::from(state.mark.micros());
        self.gross_notional -= i128::from(state.position.unsigned_abs()) * mark;
        state.position += delta;
        self.gross_notional += i128::from(state.position.unsigned_abs()) * mark;
        self.touched = Some(symbol);
        emit(Event::PositionChanged {
            symbol: state.id,
            position: state.position,
            delta,
            price,
        });
    }

    /// The hedger: when `symbol`'s hedging is on, no hedge is out, and the firm's position
    /// is past the soft limit, sends a principal immediate-or-cancel order to a venue at
    /// the far side of a usable NBBO for the excess (at most `principal_size_max`). It
    /// holds back while a customer order rests in the book on the hedge's side at a price
    /// the hedge would satisfy: the customer goes first (FINRA Rule 5320, Manning).
    fn hedge(
        &mut self,
        sequence: SequenceNumber,
        symbol: usize,
        now: Timestamp,
        emit: &mut impl FnMut(Event),
    ) {
        let state = &self.symbols[symbol];
        let settings = state.settings;
        if !settings.hedge || state.hedging || self.orders.is_full() {
            return;
        }
        let excess = state
            .position
            .unsigned_abs()
            .saturating_sub(u64::from(settings.soft_limit))
            .min(u64::from(settings.principal_size_max));
        // At most `principal_size_max`, a `u32`.
        let shares = u32::try_from(excess).unwrap_or(0);
        if shares == 0 || !self.usable(symbol, now) {
            return;
        }
        let firm_sells = state.position > 0;
        let (side, book_side, price) = if firm_sells {
            (Side::Sell, BookSide::Ask, state.nbbo.prices.bid)
        } else {
            (Side::Buy, BookSide::Bid, state.nbbo.prices.ask)
        };
        if let Some(best) = state.book.best(book_side) {
            if side.within(price, best.price) {
                return;
            }
        }
        let id = OrderId::new(sequence.get() | HEDGE_ORDER_BIT);
        let order = Order {
            id,
            client_order_id: ClientOrderId::new(id.get()),
            client: self.firm_account,
            symbol: state.id,
            price,
            ordered: shares,
            filled: 0,
            routed: 0,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::ImmediateOrCancel,
            day: self.day,
            handle: None,
        };
        let slot = self.orders.insert(order, state.nbbo.prices);
        self.symbols[symbol].hedging = true;
        self.route(slot, symbol, emit);
    }

    /// Records an execution against order `slot` and emits it. Releases nothing: the
    /// caller decides what happens to a completed order.
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &mut self,
        slot: u32,
        price: Price,
        shares: Quantity,
        liquidity: LiquiditySource,
        contra: Contra,
        nbbo: NbboPrices,
        emit: &mut impl FnMut(Event),
    ) {
        let nbbo_at_receipt = self.orders.receipt(slot);
        let order = self.orders.get_mut(slot);
        debug_assert!(shares.shares() <= order.leaves());
        order.filled += shares.shares();
        let capacity = match liquidity {
            LiquiditySource::Principal => Capacity::Principal,
            _ if order.is_hedge() => Capacity::Principal,
            LiquiditySource::InternalCross | LiquiditySource::Venue => Capacity::Agency,
        };
        let price_improvement = if order.side.is_buy() {
            Price::from_micros(nbbo.ask.micros() - price.micros())
        } else {
            Price::from_micros(price.micros() - nbbo.bid.micros())
        };
        emit(Event::Filled(Execution {
            order_id: order.id,
            client: order.client,
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: order.side,
            price,
            quantity: shares,
            leaves: Quantity::new(order.leaves()),
            liquidity,
            capacity,
            contra,
            nbbo_at_receipt,
            nbbo_at_execution: nbbo,
            price_improvement,
        }));
    }

    /// What happens to an order's remainder after in-house execution: routed, rested or
    /// cancelled, by order type, time in force and the symbol's settings.
    fn residual(
        &mut self,
        slot: u32,
        symbol: usize,
        usable: bool,
        may_route: bool,
        emit: &mut impl FnMut(Event),
    ) {
        let order = *self.orders.get(slot);
        let routes = may_route && self.symbols[symbol].settings.route_residual;
        let blind_route = !usable && self.unusable_nbbo == UnusableNbbo::Route;
        match order.order_type {
            OrderType::Market => {
                if routes && (usable || blind_route) {
                    self.route(slot, symbol, emit);
                } else {
                    self.cancel_leaves(slot, symbol, CancelReason::NoLiquidity, emit);
                }
            }
            OrderType::Limit => {
                let nbbo = self.symbols[symbol].nbbo.prices;
                let far_side = if order.side.is_buy() {
                    nbbo.ask
                } else {
                    nbbo.bid
                };
                let marketable = usable && order.side.within(far_side, order.price);
                let immediate = order.time_in_force == TimeInForce::ImmediateOrCancel;
                if routes && (marketable || (blind_route && immediate)) {
                    self.route(slot, symbol, emit);
                } else if order.may_rest() {
                    self.rest(slot, symbol, emit);
                } else {
                    self.cancel_leaves(slot, symbol, CancelReason::ImmediateOrCancel, emit);
                }
            }
        }
    }

    fn route(&mut self, slot: u32, symbol: usize, emit: &mut impl FnMut(Event)) {
        let order = self.orders.get_mut(slot);
        order.routed = order.leaves();
        emit(Event::Route(RouteInstruction {
            order_id: order.id,
            symbol: self.symbols[symbol].id,
            side: order.side,
            quantity: Quantity::new(order.routed),
            limit: order.limit(),
            capacity: if order.is_hedge() {
                Capacity::Principal
            } else {
                Capacity::Agency
            },
        }));
    }

    /// Rests an order's remainder in the book, unless it would lock or cross the contra
    /// side (a contra order it could not cross inside the NBBO) or the book is full.
    fn rest(&mut self, slot: u32, symbol: usize, emit: &mut impl FnMut(Event)) {
        let order = *self.orders.get(slot);
        let book = &mut self.symbols[symbol].book;
        if let Some(contra) = book.best(order.book_side().contra()) {
            if order.side.within(contra.price, order.price) {
                return self.cancel_leaves(slot, symbol, CancelReason::WouldLockBook, emit);
            }
        }
        let added = book.add(RestingOrder {
            order_id: order.id,
            client: order.client,
            side: order.book_side(),
            price: order.price,
            quantity: Quantity::new(order.leaves()),
            owner: slot,
        });
        match added {
            Ok(handle) => self.orders.get_mut(slot).handle = Some(handle),
            Err(error) => {
                // The price was checked against the tick when the order arrived, so only
                // capacity can refuse it.
                debug_assert!(matches!(
                    error,
                    BookError::Full { .. } | BookError::FarLevelsFull { .. }
                ));
                self.cancel_leaves(slot, symbol, CancelReason::BookFull, emit);
            }
        }
    }

    /// Cancels everything an order has working that is not out at a venue, removes it
    /// from the book, and forgets it.
    fn cancel_leaves(
        &mut self,
        slot: u32,
        symbol: usize,
        reason: CancelReason,
        emit: &mut impl FnMut(Event),
    ) {
        let order = self.orders.get_mut(slot);
        debug_assert!(
            order.routed == 0,
            "routed shares are cancelled by the venue"
        );
        if let Some(handle) = order.handle.take() {
            let removed = self.symbols[symbol].book.cancel(handle);
            debug_assert!(removed.is_ok());
        }
        let shares = order.leaves();
        emit(Event::Cancelled {
            order_id: order.id,
            client: order.client,
            client_order_id: order.client_order_id,
            quantity: Quantity::new(shares),
            reason,
        });
        self.orders.release(slot);
    }

    // ---- cancel and replace ----

    fn cancel(&mut self, cancel: &Cancel, emit: &mut impl FnMut(Event)) {
        let reject = |reason| Event::CancelRejected {
            client: cancel.client,
            client_order_id: cancel.client_order_id,
            original_client_order_id: cancel.original_client_order_id,
            reason,
        };
        let Some(slot) = self
            .orders
            .find(cancel.client, cancel.original_client_order_id)
        else {
            return emit(reject(CancelRejectReason::UnknownOrder));
        };
        let order = *self.orders.get(slot);
        if order.symbol != cancel.symbol {
            return emit(reject(CancelRejectReason::SymbolMismatch));
        }
        if order.routed > 0 {
            return emit(reject(CancelRejectReason::OrderAtVenue));
        }
        let Some(symbol) = self.index_of(order.symbol) else {
            return emit(reject(CancelRejectReason::UnknownOrder));
        };
        self.cancel_leaves(slot, symbol, CancelReason::Requested, emit);
    }

    fn replace(&mut self, now: Timestamp, replace: &Replace, emit: &mut impl FnMut(Event)) {
        let (slot, symbol) = match self.check_replace(replace) {
            Ok(found) => found,
            Err(reason) => {
                return emit(Event::CancelRejected {
                    client: replace.client,
                    client_order_id: replace.client_order_id,
                    original_client_order_id: replace.original_client_order_id,
                    reason,
                });
            }
        };
        self.orders.rename(slot, replace.client_order_id);
        let order = *self.orders.get(slot);
        let leaves = replace.quantity.shares() - order.filled;
        let keeps_priority = replace.price == order.price && leaves <= order.leaves();
        if keeps_priority {
            if leaves < order.leaves() {
                if let Some(handle) = order.handle {
                    let reduced = self.symbols[symbol]
                        .book
                        .reduce(handle, Quantity::new(leaves));
                    debug_assert!(reduced.is_ok());
                }
            }
            self.orders.get_mut(slot).ordered = replace.quantity.shares();
        } else {
            if let Some(handle) = order.handle {
                let removed = self.symbols[symbol].book.cancel(handle);
                debug_assert!(removed.is_ok());
            }
            let receipt = self.symbols[symbol].nbbo.prices;
            let order = self.orders.get_mut(slot);
            order.handle = None;
            order.price = replace.price;
            order.ordered = replace.quantity.shares();
            self.orders.set_receipt(slot, receipt);
        }
        emit(Event::Replaced {
            order_id: order.id,
            client: order.client,
            client_order_id: replace.client_order_id,
            original_client_order_id: replace.original_client_order_id,
            price: replace.price,
            quantity: replace.quantity,
            priority_kept: keeps_priority,
        });
        if !keeps_priority {
            self.arrive(slot, symbol, now, true, emit);
        }
        self.refresh_active(symbol, now, emit);
    }

    /// Checks a replace request and returns the order's slot and symbol index.
    fn check_replace(&self, replace: &Replace) -> Result<(u32, usize), CancelRejectReason> {
        let slot = self
            .orders
            .find(replace.client, replace.original_client_order_id)
            .ok_or(CancelRejectReason::UnknownOrder)?;
        let order = self.orders.get(slot);
        let symbol = self
            .index_of(order.symbol)
            .ok_or(CancelRejectReason::UnknownOrder)?;
        if order.routed > 0 {
            return Err(CancelRejectReason::OrderAtVenue);
        }
        if order.order_type != OrderType::Limit {
            return Err(CancelRejectReason::NotALimitOrder);
        }
        if replace.client_order_id != replace.original_client_order_id
            && self
                .orders
                .find(replace.client, replace.client_order_id)
                .is_some()
        {
            return Err(CancelRejectReason::DuplicateClientOrderId);
        }
        if replace.quantity.shares() <= order.filled {
            return Err(CancelRejectReason::QuantityNotAboveFilled);
        }
        self.check_price(symbol, replace.price, true)
            .map_err(|problem| match problem {
                PriceProblem::NotPositive => CancelRejectReason::PriceNotPositive,
                PriceProblem::Increment => CancelRejectReason::SubPennyIncrement,
                PriceProblem::Tick => CancelRejectReason::PriceNotOnBookTick,
            })?;
        Ok((slot, symbol))
    }

    // ---- market data, venue reports, end of day, settings ----

    fn nbbo(&mut self, now: Timestamp, quote: &Quote, emit: &mut impl FnMut(Event)) {
        let Some(symbol) = self.index_of(quote.symbol) else {
            return emit(Event::InputRejected {
                reason: InputError::UnknownSymbol {
                    symbol: quote.symbol,
                },
            });
        };
        if quote.bid < Price::ZERO || quote.ask < Price::ZERO {
            return emit(Event::InputRejected {
                reason: InputError::NegativeNbboPrice {
                    symbol: quote.symbol,
                },
            });
        }
        let state = &mut self.symbols[symbol];
        state.nbbo = Nbbo {
            prices: NbboPrices {
                bid: quote.bid,
                ask: quote.ask,
            },
            time: now,
            seen: true,
        };
        if state.nbbo.usable(now, self.nbbo_stale_after_ns) {
            let mid = state.nbbo.midpoint();
            let size = i128::from(state.position.unsigned_abs());
            self.gross_notional += size * i128::from(mid.micros() - state.mark.micros());
            state.mark = mid;
            // Keep the array window over the market; a far-away level stays correct in
            // the overflow if the window cannot move.
            let drift = (mid.micros() - state.book.window_center().micros()).abs();
            let quarter = i64::from(state.window_levels / 4) * state.book.tick().micros();
            if drift > quarter {
                let _ = state.book.recenter(mid);
            }
        }
        self.touched = Some(symbol);
        self.refresh_active(symbol, now, emit);
    }

    fn venue_fill(&mut self, now: Timestamp, fill: &VenueFill, emit: &mut impl FnMut(Event)) {
        let (slot, symbol) = match self.check_venue_report(fill.order_id, fill.quantity, false) {
            Ok(found) => found,
            Err(reason) => return emit(Event::InputRejected { reason }),
        };
        let order = *self.orders.get(slot);
        let outside = order
            .limit()
            .is_some_and(|limit| !order.side.within(fill.price, limit));
        if fill.price <= Price::ZERO || outside {
            return emit(Event::InputRejected {
                reason: InputError::VenuePrice {
                    order_id: fill.order_id,
                    price: fill.price,
                },
            });
        }
        self.orders.get_mut(slot).routed -= fill.quantity.shares();
        let nbbo = self.symbols[symbol].nbbo.prices;
        self.execute(
            slot,
            fill.price,
            fill.quantity,
            LiquiditySource::Venue,
            Contra::Venue,
            nbbo,
            emit,
        );
        if order.is_hedge() {
            self.move_position(symbol, order.side.is_buy(), fill.quantity, fill.price, emit);
        }
        if self.orders.get(slot).leaves() == 0 {
            self.orders.release(slot);
            if order.is_hedge() {
                self.symbols[symbol].hedging = false;
            }
        }
        self.refresh_active(symbol, now, emit);
    }

    fn venue_cancel(&mut self, now: Timestamp, cancel: &VenueCancel, emit: &mut impl FnMut(Event)) {
        let (slot, symbol) = match self.check_venue_report(cancel.order_id, cancel.quantity, true) {
            Ok(found) => found,
            Err(reason) => return emit(Event::InputRejected { reason }),
        };
        let order = self.orders.get_mut(slot);
        order.routed = 0;
        if order.is_hedge() {
            self.symbols[symbol].hedging = false;
            // The hedger tries again at the next change of position or market, not now:
            // a venue that refuses at once must not make a loop.
            self.cancel_leaves(slot, symbol, CancelReason::VenueCancelled, emit);
        } else if order.may_rest() && order.day == self.day {
            // What the venue did not take is worked again in-house, and rests; it is not
            // routed again, so a route cannot loop.
            self.arrive(slot, symbol, now, false, emit);
        } else {
            self.cancel_leaves(slot, symbol, CancelReason::VenueCancelled, emit);
        }
        self.refresh_active(symbol, now, emit);
    }

    /// Finds the order a venue report names and checks its quantity: positive and no more
    /// than is out (`exact`: all of it).
    fn check_venue_report(
        &self,
        order_id: OrderId,
        quantity: Quantity,
        exact: bool,
    ) -> Result<(u32, usize), InputError> {
        let unknown = InputError::UnknownRoute { order_id };
        let slot = self.orders.find_id(order_id).ok_or(unknown)?;
        let order = self.orders.get(slot);
        if order.routed == 0 {
            return Err(unknown);
        }
        let shares = quantity.shares();
        if shares == 0 || shares > order.routed || (exact && shares != order.routed) {
            return Err(InputError::VenueQuantity {
                order_id,
                quantity,
                routed: Quantity::new(order.routed),
            });
        }
        let symbol = self.index_of(order.symbol).ok_or(unknown)?;
        Ok((slot, symbol))
    }

    /// A kill switch: cancels the client orders in scope, in order-table slot order
    /// (deterministic: slots are handed out in input order). An order out at a venue
    /// becomes immediate-or-cancel, so what the venue returns is cancelled, not rested.
    fn mass_cancel(&mut self, scope: &MassCancel, emit: &mut impl FnMut(Event)) {
        for slot in 0..self.orders.capacity() {
            let Some(order) = self.orders.live(slot).copied() else {
                continue;
            };
            let in_scope = scope.client.is_none_or(|client| client == order.client)
                && scope.symbol.is_none_or(|symbol| symbol == order.symbol);
            if !in_scope {
                continue;
            }
            if order.routed > 0 {
                self.orders.get_mut(slot).time_in_force = TimeInForce::ImmediateOrCancel;
            } else if let Some(symbol) = self.index_of(order.symbol) {
                self.cancel_leaves(slot, symbol, CancelReason::KillSwitch, emit);
            }
        }
    }

    /// Expires resting day orders, symbol by symbol in id order, bids then asks, each in
    /// priority order. Day orders out at a venue expire when the venue returns them.
    fn end_of_day(&mut self, emit: &mut impl FnMut(Event)) {
        for symbol in 0..self.symbols.len() {
            for side in [BookSide::Bid, BookSide::Ask] {
                self.scratch.clear();
                let scratch = &mut self.scratch;
                let orders = &self.orders;
                let _ = self.symbols[symbol]
                    .book
                    .try_for_each_order(side, |resting| {
                        if orders.get(resting.owner).time_in_force == TimeInForce::Day {
                            scratch.push(resting.owner);
                        }
                        ControlFlow::Continue(())
                    });
                for index in 0..self.scratch.len() {
                    let slot = self.scratch[index];
                    self.cancel_leaves(slot, symbol, CancelReason::EndOfDay, emit);
                }
            }
        }
        self.day += 1;
    }

    fn settings(&mut self, now: Timestamp, change: &SettingsChange, emit: &mut impl FnMut(Event)) {
        let Some(symbol) = self.index_of(change.symbol) else {
            return emit(Event::InputRejected {
                reason: InputError::UnknownSymbol {
                    symbol: change.symbol,
                },
            });
        };
        if let Err(source) = change.settings.validate() {
            return emit(Event::InputRejected {
                reason: InputError::Settings {
                    symbol: change.symbol,
                    source,
                },
            });
        }
        self.symbols[symbol].settings = change.settings;
        self.touched = Some(symbol);
        self.refresh_active(symbol, now, emit);
    }

    /// A client's price-improvement multiplier, ppm ([`PPM`] unless one was set).
    fn multiplier(&self, client: ClientId) -> u32 {
        if self.multipliers.is_empty() {
            return PPM;
        }
        self.multipliers
            .binary_search_by_key(&client, |&(id, _)| id)
            .map_or(PPM, |at| self.multipliers[at].1)
    }

    /// Sets a client's price-improvement multiplier (1,000,000 ppm forgets it).
    fn client_improvement(&mut self, change: &ClientImprovement, emit: &mut impl FnMut(Event)) {
        let ClientImprovement {
            client,
            multiplier_ppm,
        } = *change;
        if multiplier_ppm > IMPROVEMENT_MULTIPLIER_PPM_MAX {
            return emit(Event::InputRejected {
                reason: InputError::ImprovementMultiplier {
                    client,
                    multiplier_ppm,
                },
            });
        }
        match (
            self.multipliers
                .binary_search_by_key(&client, |&(id, _)| id),
            multiplier_ppm == PPM,
        ) {
            (Ok(at), true) => {
                self.multipliers.remove(at);
            }
            (Ok(at), false) => self.multipliers[at].1 = multiplier_ppm,
            (Err(_), true) => {}
            (Err(at), false) => self.multipliers.insert(at, (client, multiplier_ppm)),
        }
    }

    /// Every client's price-improvement multiplier other than 1,000,000 ppm, in client
    /// order.
    #[must_use]
    pub fn improvement_multipliers(&self) -> &[(ClientId, u32)] {
        &self.multipliers
    }

    // ---- active internalization ----

    /// In active mode, trades with resting client orders the firm's quote reaches, then
    /// publishes the quote if it moved. Outside active mode, withdraws a quote left over
    /// from it.
    fn refresh_active(&mut self, symbol: usize, now: Timestamp, emit: &mut impl FnMut(Event)) {
        let state = &self.symbols[symbol];
        let id = state.id;
        let active = state.settings.mode == Mode::Active;
        let withdrawn = FirmQuote {
            symbol: id,
            ..FirmQuote::default()
        };
        if !active && state.quote == withdrawn {
            return;
        }
        let usable = active && self.usable(symbol, now);
        if usable {
            self.sweep(symbol, true, emit);
            self.sweep(symbol, false, emit);
        }
        let quote = if usable {
            let size = |shares: u64| Quantity::new(u32::try_from(shares).unwrap_or(u32::MAX));
            FirmQuote {
                symbol: id,
                bid: self.firm_price(symbol, true, PPM),
                bid_size: size(self.firm_capacity(symbol, true)),
                ask: self.firm_price(symbol, false, PPM),
                ask_size: size(self.firm_capacity(symbol, false)),
            }
        } else {
            withdrawn
        };
        if quote != self.symbols[symbol].quote {
            self.symbols[symbol].quote = quote;
            emit(Event::FirmQuote(quote));
        }
    }

    /// Fills resting client orders at the firm's price while it reaches them: the firm
    /// buys (`firm_buys`) from resting sells at or below its bid, or sells to resting buys
    /// at or above its ask. The client gets the firm's price, which is at least as good as
    /// its limit and inside the NBBO.
    fn sweep(&mut self, symbol: usize, firm_buys: bool, emit: &mut impl FnMut(Event)) {
        let client_side = if firm_buys {
            BookSide::Ask
        } else {
            BookSide::Bid
        };
        loop {
            // The swept order rests at or through the firm's public quote, which is the
            // same for every client: it gets the quote's price, not its own multiplier's.
            let price = self.firm_price(symbol, firm_buys, PPM);
            let capacity = self.firm_capacity(symbol, firm_buys);
            let state = &mut self.symbols[symbol];
            let Some((_, resting)) = state.book.front(client_side) else {
                return;
            };
            let resting = *resting;
            let reaches = if firm_buys {
                resting.price <= price
            } else {
                resting.price >= price
            };
            if !reaches || capacity == 0 {
                return;
            }
            // At most the resting order's open quantity, a `u32`.
            let shares = Quantity::new(
                u32::try_from(capacity.min(u64::from(resting.quantity.shares()))).unwrap_or(0),
            );
            let fill = state.book.fill_front(client_side, shares);
            let nbbo = state.nbbo.prices;
            let slot = resting.owner;
            if fill.is_ok_and(|fill| fill.completed) {
                self.orders.get_mut(slot).handle = None;
            }
            self.principal_fill(slot, symbol, price, shares, nbbo, emit);
            if self.orders.get(slot).leaves() == 0 {
                self.orders.release(slot);
            }
        }
    }
}

/// What is wrong with a limit price.
enum PriceProblem {
    NotPositive,
    Increment,
    Tick,
}
