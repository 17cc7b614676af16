//! The risk gate's state and checks.

use crossline_matcher::MassCancel;
use crossline_types::layout::{
    ExecutedLayout, PositionChangedLayout, ReleasedLayout, ReplacedLayout,
};
use crossline_types::{
    Cancel, ClientId, ClientOrderId, Message, NewOrder, OrderType, Price, Quantity, Quote, Replace,
    Side, SymbolId, Timestamp,
};

use crate::admin::{
    AdminCause, AdminChange, AdminRecord, Pending, Setting, IMPROVEMENT_PPM_DEFAULT,
};
use crate::config::{ClientLimits, CollarTier, RiskConfig, RiskConfigError, SymbolRisk, ID_MAX};
use crate::inventory::{Position, PositionView};
use crate::reject::{KillScope, RiskReject};
use crate::tables::{Locates, Open, OpenOrders, UsedIds};

const NO_ENTRY: u32 = u32::MAX;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
const PPM: u64 = 1_000_000;
const PPM_I64: i64 = 1_000_000;

/// One client's limits and running state.
#[derive(serde::Serialize, serde::Deserialize)]
struct Client {
    limits: ClientLimits,
    /// Token bucket, in billionths of a message (so refills are exact in nanoseconds).
    tokens: u64,
    refilled_at: u64,
    /// Client order ids used today.
    used_ids: UsedIds,
    /// Open-order notional plus notional executed today, in micro-dollars.
    exposure: i128,
    killed: bool,
    /// The client's price-improvement multiplier, ppm (admin setting 15): the gate keeps
    /// it for the audit record's old value and for status; the matcher prices with it.
    improvement_ppm: u32,
}

/// `Symbol::halted` bit: an operator halted the symbol (admin setting 7).
const HALTED_BY_OPERATOR: u8 = 1;
/// `Symbol::halted` bit: the market halted it (the feed's halt, admin setting 14).
const HALTED_BY_MARKET: u8 = 2;

/// One symbol's settings and market view.
#[derive(serde::Serialize, serde::Deserialize)]
struct Symbol {
    settings: SymbolRisk,
    /// Last national best bid and offer seen (zero: none on that side).
    bid: Price,
    ask: Price,
    /// Who halted trading: [`HALTED_BY_OPERATOR`], [`HALTED_BY_MARKET`] (either halts it).
    /// One byte, as the `bool` it replaced, so snapshots keep their bytes.
    halted: u8,
    /// Limit-up/limit-down band, if one is in force.
    band: Option<(Price, Price)>,
    /// Rule 201 short-sale price test in force.
    rule_201: bool,
    killed: bool,
    /// The firm's inventory accounting in the symbol.
    inventory: Position,
}

/// The pre-trade risk gate. See the crate documentation.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RiskGate {
    client_index: Vec<u32>,
    clients: Vec<Client>,
    symbol_index: Vec<u32>,
    symbols: Vec<Symbol>,
    collar: Vec<CollarTier>,
    open: OpenOrders,
    locates: Locates,
    locates_max: u32,
    firm_killed: bool,
    /// Temporary admin changes waiting for their expiry, in arrival order.
    #[serde(with = "crossline_types::serde_support::capacity")]
    pending: Vec<Pending>,
    /// The earliest expiry in `pending`.
    next_expiry: Option<Timestamp>,
}

/// Most temporary admin changes waiting for their expiry at once.
pub const PENDING_CHANGES_MAX: usize = 1_024;

/// The target of a kill switch.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillTarget {
    /// Every order.
    Firm,
    /// Orders in one symbol.
    Symbol(SymbolId),
    /// Orders of one client.
    Client(ClientId),
}

impl KillTarget {
    /// The matcher input that cancels the working orders in the switch's scope.
    #[must_use]
    pub fn mass_cancel(&self) -> MassCancel {
        match *self {
            KillTarget::Firm => MassCancel::default(),
            KillTarget::Symbol(symbol) => MassCancel {
                client: None,
                symbol: Some(symbol),
            },
            KillTarget::Client(client) => MassCancel {
                client: Some(client),
                symbol: None,
            },
        }
    }
}

fn negative_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    crossline_types::serde_support::one_of(d, &["credit_limit", "order_notional_max"])
}

/// Why a control change was refused.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, thiserror::Error,
)]
pub enum ControlError {
    /// The symbol is not configured.
    #[error("unknown symbol {0}")]
    UnknownSymbol(SymbolId),
    /// The client is not configured.
    #[error("unknown client {0}")]
    UnknownClient(ClientId),
    /// The locate table is full.
    #[error("the locate table is full ({0} client-symbol pairs)")]
    LocatesFull(u32),
    /// A band whose low edge is above its high edge.
    #[error("price band {0}–{1} is empty")]
    EmptyBand(Price, Price),
    /// A negative credit limit or order notional.
    #[error("{field} {value} must not be negative")]
    Negative {
        /// The setting.
        #[serde(deserialize_with = "negative_field")]
        field: crossline_types::serde_support::FieldName,
        /// The value.
        value: Price,
    },
    /// Too many temporary changes are waiting for their expiry.
    #[error("{PENDING_CHANGES_MAX} temporary changes are already waiting for their expiry")]
    TooManyTemporary,
    /// A temporary change whose expiry is not after the time it arrives.
    #[error("expiry {expires_at} is not after the change's time {now}")]
    ExpiryPassed {
        /// The expiry asked for.
        expires_at: Timestamp,
        /// The time of the admin message.
        now: Timestamp,
    },
}

impl ControlError {
    /// The error's stable code (201..=207), as the journal keeps it for a refused
    /// control message (`docs/JOURNAL.md`).
    #[must_use]
    pub const fn code(&self) -> u16 {
        match self {
            ControlError::UnknownSymbol(_) => 201,
            ControlError::UnknownClient(_) => 202,
            ControlError::LocatesFull(_) => 203,
            ControlError::EmptyBand(..) => 204,
            ControlError::Negative { .. } => 205,
            ControlError::TooManyTemporary => 206,
            ControlError::ExpiryPassed { .. } => 207,
        }
    }
}

fn dense_index(
    ids: impl Iterator<Item = u32>,
    what: &'static str,
) -> Result<Vec<u32>, RiskConfigError> {
    let ids: Vec<u32> = ids.collect();
    let max = ids.iter().copied().max().unwrap_or(0);
    if max > ID_MAX {
        return Err(RiskConfigError::IdTooLarge { what, id: max });
    }
    let mut index = vec![NO_ENTRY; max as usize + 1];
    for (position, id) in ids.into_iter().enumerate() {
        if index[id as usize] != NO_ENTRY {
            return Err(RiskConfigError::Twice { what, id });
        }
        index[id as usize] = u32::try_from(position).unwrap_or(NO_ENTRY);
    }
    Ok(index)
}

/// `value × ppm / 10^6`, in `i64` arithmetic when it fits (a multiply and a shift-and-
/// multiply division, a few nanoseconds) and `i128` only when it does not.
fn ppm_of(value: i64, ppm: u32) -> i64 {
    value.checked_mul(i64::from(ppm)).map_or_else(
        || {
            let scaled = i128::from(value) * i128::from(ppm) / i128::from(PPM);
            i64::try_from(scaled).unwrap_or(i64::MAX)
        },
        |scaled| scaled / PPM_I64,
    )
}

fn check_capacity(field: &'static str, value: u32, max: u32) -> Result<(), RiskConfigError> {
    if value == 0 || value > max {
        return Err(RiskConfigError::Capacity { field, value, max });
    }
    Ok(())
}

impl RiskGate {
    /// Builds a gate, allocating every table.
    ///
    /// # Errors
    /// [`RiskConfigError`] naming what is out of range.
    pub fn new(config: &RiskConfig) -> Result<RiskGate, RiskConfigError> {
        check_capacity("orders_max", config.orders_max, 1 << 24)?;
        check_capacity("locates_max", config.locates_max, 1 << 24)?;
        let ascending = config
            .collar
            .windows(2)
            .all(|pair| pair[0].below < pair[1].below);
        if !ascending
            || config
                .collar
                .last()
                .is_none_or(|tier| tier.below != Price::MAX)
        {
            return Err(RiskConfigError::CollarTiers);
        }
        let client_index = dense_index(config.clients.iter().map(|c| c.client.get()), "client")?;
        let symbol_index = dense_index(config.symbols.iter().map(|s| s.symbol.get()), "symbol")?;
        let mut clients = Vec::with_capacity(config.clients.len());
        for limits in &config.clients {
            limits.validate()?;
            clients.push(Client {
                limits: *limits,
                tokens: u64::from(limits.message_burst) * NANOS_PER_SECOND,
                refilled_at: 0,
                used_ids: UsedIds::new(limits.client_order_ids_max),
                exposure: 0,
                killed: false,
                improvement_ppm: IMPROVEMENT_PPM_DEFAULT,
            });
        }
        let symbols = config
            .symbols
            .iter()
            .map(|settings| Symbol {
                settings: *settings,
                bid: Price::ZERO,
                ask: Price::ZERO,
                halted: 0,
                band: None,
                rule_201: false,
                killed: false,
                inventory: Position::default(),
            })
            .collect();
        Ok(RiskGate {
            client_index,
            clients,
            symbol_index,
            symbols,
            collar: config.collar.clone(),
            open: OpenOrders::new(config.orders_max),
            locates: Locates::new(config.locates_max),
            locates_max: config.locates_max,
            firm_killed: false,
            pending: Vec::with_capacity(PENDING_CHANGES_MAX),
            next_expiry: None,
        })
    }

    fn client_slot(&self, client: ClientId) -> Option<usize> {
        let index = *self.client_index.get(client.get() as usize)?;
        (index != NO_ENTRY).then_some(index as usize)
    }

    fn symbol_slot(&self, symbol: SymbolId) -> Option<usize> {
        let index = *self.symbol_index.get(symbol.get() as usize)?;
        (index != NO_ENTRY).then_some(index as usize)
    }

    /// Checks a new order at `time` (the input's time, never a clock). On acceptance the
    /// order is booked: its client order id is remembered for the day, its notional
    /// counts against the client's credit, a short sale uses located shares.
    ///
    /// # Errors
    /// The first control that refuses it; nothing is booked then, except that the
    /// message still counts toward the client's rate.
    pub fn check_new_order(&mut self, time: Timestamp, order: &NewOrder) -> Result<(), RiskReject> {
        let client = self
            .client_slot(order.client)
            .ok_or(RiskReject::UnknownClient)?;
        let symbol = self
            .symbol_slot(order.symbol)
            .ok_or(RiskReject::UnknownSymbol)?;
        self.check_kill_switches(client, symbol)?;
        self.take_token(client, time)?;
        let state = &self.clients[client];
        if state.used_ids.contains(order.client_order_id.get()) {
            return Err(RiskReject::DuplicateClientOrderId);
        }
        if state.used_ids.is_full() {
            return Err(RiskReject::ClientOrderIdsFull {
                capacity: state.limits.client_order_ids_max,
            });
        }
        let market = &self.symbols[symbol];
        if market.settings.restricted {
            return Err(RiskReject::Restricted);
        }
        if market.halted != 0 {
            return Err(RiskReject::Halted);
        }
        if order.quantity > state.limits.order_quantity_max {
            return Err(RiskReject::QuantityAboveMax {
                quantity: order.quantity,
                max: state.limits.order_quantity_max,
            });
        }
        let price = self.valuation_price(symbol, order.side, order.order_type, order.price)?;
        if order.order_type == OrderType::Limit {
            self.check_collar(symbol, order.side, order.price)?;
            self.check_band(symbol, order.price)?;
        } else {
            self.check_adv(client, symbol, order.quantity)?;
        }
        let notional = i128::from(order.quantity.shares()) * i128::from(price.micros());
        if notional > i128::from(state.limits.order_notional_max.micros()) {
            return Err(RiskReject::NotionalAboveMax);
        }
        if order.side.is_short() {
            self.check_short_sale(order, symbol)?;
        }
        self.check_credit(client, notional)?;
        if self.open.is_full() {
            return Err(RiskReject::OrdersFull);
        }
        self.book(client, order, price, notional);
        Ok(())
    }

    fn check_kill_switches(&self, client: usize, symbol: usize) -> Result<(), RiskReject> {
        let scope = if self.firm_killed {
            KillScope::Firm
        } else if self.symbols[symbol].killed {
            KillScope::Symbol
        } else if self.clients[client].killed {
            KillScope::Client
        } else {
            return Ok(());
        };
        Err(RiskReject::KillSwitch { scope })
    }

    /// Refills the client's token bucket for the time since its last message and takes
    /// one token.
    fn take_token(&mut self, client: usize, time: Timestamp) -> Result<(), RiskReject> {
        let state = &mut self.clients[client];
        let capacity = u64::from(state.limits.message_burst) * NANOS_PER_SECOND;
        let elapsed = time.nanos().saturating_sub(state.refilled_at);
        let refill = elapsed.saturating_mul(u64::from(state.limits.messages_per_second));
        state.tokens = state.tokens.saturating_add(refill).min(capacity);
        state.refilled_at = state.refilled_at.max(time.nanos());
        if state.tokens < NANOS_PER_SECOND {
            return Err(RiskReject::RateLimited);
        }
        state.tokens -= NANOS_PER_SECOND;
        Ok(())
    }

    /// The price an order's shares are valued at: its limit, or the far side of the
    /// NBBO for a market order.
    fn valuation_price(
        &self,
        symbol: usize,
        side: Side,
        order_type: OrderType,
        limit: Price,
    ) -> Result<Price, RiskReject> {
        if order_type == OrderType::Limit {
            return Ok(limit);
        }
        let market = &self.symbols[symbol];
        let far = if side.is_buy() {
            market.ask
        } else {
            market.bid
        };
        if far <= Price::ZERO {
            return Err(RiskReject::NoReferencePrice);
        }
        Ok(far)
    }

    /// A buy may be at most the collar above the national best offer, a sell at most the
    /// collar below the national best bid; the collar's width depends on the price tier.
    fn check_collar(&self, symbol: usize, side: Side, price: Price) -> Result<(), RiskReject> {
        let market = &self.symbols[symbol];
        let reference = if side.is_buy() {
            market.ask
        } else {
            market.bid
        };
        if reference <= Price::ZERO {
            return Err(RiskReject::NoReferencePrice);
        }
        let tier = self
            .collar
            .iter()
            .find(|tier| reference < tier.below)
            .or(self.collar.last())
            .copied()
            .ok_or(RiskReject::NoReferencePrice)?;
        let width = ppm_of(reference.micros(), tier.ppm).max(tier.minimum.micros());
        let bound = if side.is_buy() {
            Price::from_micros(reference.micros().saturating_add(width))
        } else {
            Price::from_micros(reference.micros().saturating_sub(width))
        };
        let outside = if side.is_buy() {
            price > bound
        } else {
            price < bound
        };
        if outside {
            return Err(RiskReject::OutsideCollar { price, bound });
        }
        Ok(())
    }

    fn check_band(&self, symbol: usize, price: Price) -> Result<(), RiskReject> {
        if let Some((low, high)) = self.symbols[symbol].band {
            if price < low || price > high {
                return Err(RiskReject::OutsidePriceBand { price, low, high });
            }
        }
        Ok(())
    }

    fn check_adv(
        &self,
        client: usize,
        symbol: usize,
        quantity: Quantity,
    ) -> Result<(), RiskReject> {
        let ppm = self.clients[client].limits.market_order_adv_ppm;
        let adv = self.symbols[symbol].settings.average_daily_volume;
        let allowed = adv.checked_mul(u64::from(ppm)).map_or_else(
            || {
                u64::try_from(u128::from(adv) * u128::from(ppm) / u128::from(PPM))
                    .unwrap_or(u64::MAX)
            },
            |scaled| scaled / PPM,
        );
        if u64::from(quantity.shares()) > allowed {
            return Err(RiskReject::AboveAdvShare { ppm });
        }
        Ok(())
    }

    /// Reg SHO: a located quantity for every short sale (Rule 203(b)); under Rule 201 a
    /// non-exempt short sale must be priced above the national best bid.
    fn check_short_sale(&self, order: &NewOrder, symbol: usize) -> Result<(), RiskReject> {
        let located = self.locates.get(order.client, order.symbol);
        if u64::from(order.quantity.shares()) > located {
            return Err(RiskReject::NoLocate {
                quantity: order.quantity,
                located,
            });
        }
        let market = &self.symbols[symbol];
        if market.rule_201 && order.side == Side::SellShort {
            let above_bid = order.order_type == OrderType::Limit
                && market.bid > Price::ZERO
                && order.price > market.bid;
            if !above_bid {
                return Err(RiskReject::ShortSaleRestricted);
            }
        }
        Ok(())
    }

    fn check_credit(&self, client: usize, notional: i128) -> Result<(), RiskReject> {
        let state = &self.clients[client];
        let limit = i128::from(state.limits.credit_limit.micros());
        if state.exposure + notional > limit {
            return Err(RiskReject::CreditLimit {
                used: state.exposure,
                order: notional,
                limit,
            });
        }
        Ok(())
    }

    fn book(&mut self, client: usize, order: &NewOrder, price: Price, notional: i128) {
        let state = &mut self.clients[client];
        state.used_ids.insert(order.client_order_id.get());
        state.exposure += notional;
        if order.side.is_short() {
            self.locates.take(
                order.client,
                order.symbol,
                u64::from(order.quantity.shares()),
            );
        }
        // Room was checked before anything was booked.
        let _ = self.open.insert(Open {
            client: order.client,
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: order.side,
            price,
            ordered: order.quantity.shares(),
            filled: 0,
            live: true,
        });
    }
}

impl RiskGate {
    /// Checks a cancel/replace at `time`. Rule 15c3-5's controls apply to a replaced
    /// order as to a new one: the replace meets the kill switches, the rate, the
    /// duplicate check of its new client order id, the restricted list and the halt, the
    /// quantity limit on its new total quantity, the collar and band at its new price,
    /// the notional limit and a locate for added short shares on what it leaves open,
    /// and the credit check for the change in open notional. A replace of an order the
    /// gate does not know passes the order-level checks (the matcher refuses it with
    /// "unknown order"). Nothing is booked until the matcher reports `Replaced`
    /// ([`RiskGate::on_event`]), except the new client order id, which is used for the
    /// day either way.
    ///
    /// # Errors
    /// The first control that refuses it.
    pub fn check_replace(&mut self, time: Timestamp, replace: &Replace) -> Result<(), RiskReject> {
        let client = self
            .client_slot(replace.client)
            .ok_or(RiskReject::UnknownClient)?;
        let found = self
            .open
            .find(replace.client, replace.original_client_order_id)
            .map(|slot| *self.open.get(slot));
        let order = found.and_then(|open| Some((open, self.symbol_slot(open.symbol)?)));
        if let Some((_, symbol)) = order {
            self.check_kill_switches(client, symbol)?;
        }
        self.take_token(client, time)?;
        let state = &self.clients[client];
        let renamed = replace.client_order_id != replace.original_client_order_id;
        if renamed && state.used_ids.contains(replace.client_order_id.get()) {
            return Err(RiskReject::DuplicateClientOrderId);
        }
        if renamed && state.used_ids.is_full() {
            return Err(RiskReject::ClientOrderIdsFull {
                capacity: state.limits.client_order_ids_max,
            });
        }
        if let Some((open, symbol)) = order {
            self.check_replaced_order(client, symbol, &open, replace)?;
        }
        if renamed {
            self.clients[client]
                .used_ids
                .insert(replace.client_order_id.get());
        }
        Ok(())
    }

    /// The order-level controls of a replace of `open` (in the gate's `symbol` slot), in
    /// the order a new order meets them.
    fn check_replaced_order(
        &self,
        client: usize,
        symbol: usize,
        open: &Open,
        replace: &Replace,
    ) -> Result<(), RiskReject> {
        let limits = &self.clients[client].limits;
        let market = &self.symbols[symbol];
        if market.settings.restricted {
            return Err(RiskReject::Restricted);
        }
        if market.halted != 0 {
            return Err(RiskReject::Halted);
        }
        if replace.quantity > limits.order_quantity_max {
            return Err(RiskReject::QuantityAboveMax {
                quantity: replace.quantity,
                max: limits.order_quantity_max,
            });
        }
        self.check_collar(symbol, open.side, replace.price)?;
        self.check_band(symbol, replace.price)?;
        let leaves = replace.quantity.shares().saturating_sub(open.filled);
        let after = i128::from(leaves) * i128::from(replace.price.micros());
        if i128::from(replace.quantity.shares()) * i128::from(replace.price.micros())
            > i128::from(limits.order_notional_max.micros())
        {
            return Err(RiskReject::NotionalAboveMax);
        }
        if open.side.is_short() && replace.quantity.shares() > open.ordered {
            // The shares the order already holds were located when it was accepted; only
            // what the replace adds needs a locate now.
            let added = replace.quantity.shares() - open.ordered;
            let located = self.locates.get(open.client, open.symbol);
            if u64::from(added) > located {
                return Err(RiskReject::NoLocate {
                    quantity: Quantity::new(added),
                    located,
                });
            }
        }
        if market.rule_201 && open.side == Side::SellShort && replace.price <= market.bid {
            return Err(RiskReject::ShortSaleRestricted);
        }
        self.check_credit(client, after - open.open_notional())
    }

    /// Checks a cancel at `time`: only the message rate applies (a kill switch never
    /// blocks a cancel).
    ///
    /// # Errors
    /// [`RiskReject::UnknownClient`] or [`RiskReject::RateLimited`].
    pub fn check_cancel(&mut self, time: Timestamp, cancel: &Cancel) -> Result<(), RiskReject> {
        let client = self
            .client_slot(cancel.client)
            .ok_or(RiskReject::UnknownClient)?;
        self.take_token(client, time)
    }

    /// Records a new NBBO for a configured symbol (others are ignored).
    pub fn on_nbbo(&mut self, quote: &Quote) {
        if let Some(symbol) = self.symbol_slot(quote.symbol) {
            let market = &mut self.symbols[symbol];
            market.bid = quote.bid.max(Price::ZERO);
            market.ask = quote.ask.max(Price::ZERO);
            if market.bid > Price::ZERO && market.ask >= market.bid {
                let mid = (i128::from(market.bid.micros()) + i128::from(market.ask.micros())) / 2;
                // The mean of two `i64`s fits an `i64`.
                market
                    .inventory
                    .mark(Price::from_micros(i64::try_from(mid).unwrap_or(i64::MAX)));
            }
        }
    }

    /// Follows the matcher's events to keep credit usage exact, as they come back on
    /// `events_back` ([`crossline_matcher::Event::to_back_message`]): a rejected or
    /// cancelled order releases its open notional (`Released`), a fill moves shares
    /// from open (at the order's valuation price) to executed (at the execution price,
    /// `Executed`), a replace re-values the order (`Replaced`), a position change moves
    /// the symbol's inventory (`PositionChanged`). Any other message (a snapshot marker)
    /// changes nothing.
    pub fn on_event(&mut self, message: &Message) {
        if let Some(released) = message.view::<ReleasedLayout>() {
            self.release(
                ClientId::new(released.client.get()),
                ClientOrderId::new(released.client_order_id.get()),
            );
        } else if let Some(fill) = message.view::<ExecutedLayout>() {
            let client = ClientId::new(fill.client.get());
            let client_order_id = ClientOrderId::new(fill.client_order_id.get());
            let Some(slot) = self.open.find(client, client_order_id) else {
                return;
            };
            let open = self.open.get_mut(slot);
            // Executed shares count at the execution price; the open shares they came
            // out of stop counting at the valuation price. A fill larger than the
            // shares still open (a venue's over-fill) releases only those.
            let shares = fill.quantity.get();
            let released = shares.min(open.ordered - open.filled);
            let change = i128::from(shares) * i128::from(fill.price.get())
                - i128::from(released) * i128::from(open.price.micros());
            open.filled += released;
            if let Some(client) = self.client_slot(client) {
                self.clients[client].exposure += change;
            }
            if fill.leaves.get() == 0 {
                self.open.remove(slot);
            }
        } else if let Some(replaced) = message.view::<ReplacedLayout>() {
            let client = ClientId::new(replaced.client.get());
            let client_order_id = ClientOrderId::new(replaced.client_order_id.get());
            let original = ClientOrderId::new(replaced.original_client_order_id.get());
            let Some(slot) = self.open.find(client, original) else {
                return;
            };
            let quantity = replaced.quantity.get();
            let open = self.open.get_mut(slot);
            let before = open.open_notional();
            let added = quantity.saturating_sub(open.ordered);
            open.price = Price::from_micros(replaced.price.get());
            open.ordered = quantity.max(open.filled);
            let after = open.open_notional();
            let (side, symbol) = (open.side, open.symbol);
            if side.is_short() && added > 0 {
                // The replace was checked for a locate of the shares it adds.
                self.locates.take(client, symbol, u64::from(added));
            }
            if client_order_id != original {
                self.open.rename(slot, client_order_id);
            }
            if let Some(client) = self.client_slot(client) {
                self.clients[client].exposure += after - before;
            }
        } else if let Some(moved) = message.view::<PositionChangedLayout>() {
            if let Some(slot) = self.symbol_slot(SymbolId::new(moved.symbol.get())) {
                self.symbols[slot]
                    .inventory
                    .trade(moved.delta.get(), Price::from_micros(moved.price.get()));
            }
        }
    }

    /// Releases an order's open notional and forgets it.
    fn release(&mut self, client: ClientId, client_order_id: ClientOrderId) {
        let Some(slot) = self.open.find(client, client_order_id) else {
            return;
        };
        let open_notional = self.open.get(slot).open_notional();
        if let Some(client) = self.client_slot(client) {
            self.clients[client].exposure -= open_notional;
        }
        self.open.remove(slot);
    }

    // ---- controls ----

    /// Turns a kill switch on or off. The gate then refuses new orders and replaces in
    /// its scope (never cancels); cancelling the orders already working is the
    /// matcher's, through [`KillTarget::mass_cancel`], which the sequencer sends when a
    /// switch turns on: the matcher knows exactly which orders are working, whatever
    /// events are still on their way back to the gate.
    ///
    /// # Errors
    /// [`ControlError`] for an unknown client or symbol.
    pub fn set_kill_switch(&mut self, target: KillTarget, on: bool) -> Result<(), ControlError> {
        match target {
            KillTarget::Firm => self.firm_killed = on,
            KillTarget::Symbol(symbol) => {
                let slot = self
                    .symbol_slot(symbol)
                    .ok_or(ControlError::UnknownSymbol(symbol))?;
                self.symbols[slot].killed = on;
            }
            KillTarget::Client(client) => {
                let slot = self
                    .client_slot(client)
                    .ok_or(ControlError::UnknownClient(client))?;
                self.clients[slot].killed = on;
            }
        }
        Ok(())
    }

    /// Applies an admin message at `now` (the message's time): sets the value, and
    /// remembers a temporary one's old value for its expiry.
    ///
    /// # Errors
    /// [`ControlError`] naming what is wrong; nothing changes then.
    pub fn apply_admin(
        &mut self,
        now: Timestamp,
        change: &AdminChange,
    ) -> Result<AdminRecord, ControlError> {
        if let Some(expires_at) = change.expires_at {
            if expires_at <= now {
                return Err(ControlError::ExpiryPassed { expires_at, now });
            }
            if self.pending.len() >= PENDING_CHANGES_MAX {
                return Err(ControlError::TooManyTemporary);
            }
        }
        let old = self.setting(change.setting)?;
        self.set(change.setting)?;
        if let Some(expires_at) = change.expires_at {
            self.pending.push(Pending {
                expires_at,
                operator: change.operator,
                old,
                new: change.setting,
            });
            self.next_expiry = Some(
                self.next_expiry
                    .map_or(expires_at, |next| next.min(expires_at)),
            );
        }
        Ok(AdminRecord {
            operator: change.operator,
            old,
            new: change.setting,
            expires_at: change.expires_at,
            cause: AdminCause::Message,
        })
    }

    /// Reverts every temporary change whose expiry is at or before `now`, earliest first
    /// (arrival order among equal expiries), reporting each to `record`. A change whose
    /// value a later change replaced is not reverted ([`AdminCause::Superseded`]). The
    /// sequencer calls this with each input's time before the input itself.
    pub fn expire(&mut self, now: Timestamp, mut record: impl FnMut(AdminRecord)) {
        if self.next_expiry.is_none_or(|next| next > now) {
            return;
        }
        while let Some(index) = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, pending)| pending.expires_at <= now)
            .min_by_key(|(index, pending)| (pending.expires_at, *index))
            .map(|(index, _)| index)
        {
            let pending = self.pending.remove(index);
            // The target was known when the change was made, and targets never go away.
            let Ok(current) = self.setting(pending.new) else {
                continue;
            };
            let (new, cause) = if current == pending.new && self.set(pending.old).is_ok() {
                (pending.old, AdminCause::Expired)
            } else {
                (current, AdminCause::Superseded)
            };
            record(AdminRecord {
                operator: pending.operator,
                old: current,
                new,
                expires_at: None,
                cause,
            });
        }
        self.next_expiry = self.pending.iter().map(|pending| pending.expires_at).min();
    }

    /// The current value of the setting `like` names (its value is ignored).
    fn setting(&self, like: Setting) -> Result<Setting, ControlError> {
        let client = |id: ClientId| {
            self.client_slot(id)
                .map(|slot| &self.clients[slot])
                .ok_or(ControlError::UnknownClient(id))
        };
        let symbol = |id: SymbolId| {
            self.symbol_slot(id)
                .map(|slot| &self.symbols[slot])
                .ok_or(ControlError::UnknownSymbol(id))
        };
        Ok(match like {
            Setting::CreditLimit(id, _) => {
                Setting::CreditLimit(id, client(id)?.limits.credit_limit)
            }
            Setting::OrderQuantityMax(id, _) => {
                Setting::OrderQuantityMax(id, client(id)?.limits.order_quantity_max)
            }
            Setting::OrderNotionalMax(id, _) => {
                Setting::OrderNotionalMax(id, client(id)?.limits.order_notional_max)
            }
            Setting::MessagesPerSecond(id, _) => {
                Setting::MessagesPerSecond(id, client(id)?.limits.messages_per_second)
            }
            Setting::MarketOrderAdvPpm(id, _) => {
                Setting::MarketOrderAdvPpm(id, client(id)?.limits.market_order_adv_ppm)
            }
            Setting::Restricted(id, _) => Setting::Restricted(id, symbol(id)?.settings.restricted),
            Setting::Halted(id, _) => {
                Setting::Halted(id, symbol(id)?.halted & HALTED_BY_OPERATOR != 0)
            }
            Setting::MarketHalted(id, _) => {
                Setting::MarketHalted(id, symbol(id)?.halted & HALTED_BY_MARKET != 0)
            }
            Setting::Band(id, _) => Setting::Band(id, symbol(id)?.band),
            Setting::Rule201(id, _) => Setting::Rule201(id, symbol(id)?.rule_201),
            Setting::AverageDailyVolume(id, _) => {
                Setting::AverageDailyVolume(id, symbol(id)?.settings.average_daily_volume)
            }
            Setting::ImprovementMultiplier(id, _) => {
                Setting::ImprovementMultiplier(id, client(id)?.improvement_ppm)
            }
            Setting::KillSwitch(target, _) => {
                let on = match target {
                    KillTarget::Firm => self.firm_killed,
                    KillTarget::Symbol(id) => symbol(id)?.killed,
                    KillTarget::Client(id) => client(id)?.killed,
                };
                Setting::KillSwitch(target, on)
            }
        })
    }

    /// Sets a value (its target checked by [`RiskGate::setting`] first).
    fn set(&mut self, setting: Setting) -> Result<(), ControlError> {
        let negative = |field, value: Price| {
            if value < Price::ZERO {
                Err(ControlError::Negative { field, value })
            } else {
                Ok(())
            }
        };
        let client = |gate: &mut RiskGate, id: ClientId| {
            gate.client_slot(id).ok_or(ControlError::UnknownClient(id))
        };
        let symbol = |gate: &mut RiskGate, id: SymbolId| {
            gate.symbol_slot(id).ok_or(ControlError::UnknownSymbol(id))
        };
        match setting {
            Setting::CreditLimit(id, value) => {
                negative("credit_limit", value)?;
                let slot = client(self, id)?;
                self.clients[slot].limits.credit_limit = value;
            }
            Setting::OrderQuantityMax(id, value) => {
                let slot = client(self, id)?;
                self.clients[slot].limits.order_quantity_max = value;
            }
            Setting::OrderNotionalMax(id, value) => {
                negative("order_notional_max", value)?;
                let slot = client(self, id)?;
                self.clients[slot].limits.order_notional_max = value;
            }
            Setting::MessagesPerSecond(id, value) => {
                let slot = client(self, id)?;
                self.clients[slot].limits.messages_per_second = value;
            }
            Setting::MarketOrderAdvPpm(id, value) => {
                let slot = client(self, id)?;
                self.clients[slot].limits.market_order_adv_ppm = value;
            }
            Setting::Restricted(id, on) => {
                let slot = symbol(self, id)?;
                self.symbols[slot].settings.restricted = on;
            }
            Setting::Halted(id, on) => self.set_halt(id, HALTED_BY_OPERATOR, on)?,
            Setting::MarketHalted(id, on) => self.set_halt(id, HALTED_BY_MARKET, on)?,
            Setting::Band(id, band) => self.set_band(id, band)?,
            Setting::Rule201(id, on) => self.set_rule_201(id, on)?,
            Setting::AverageDailyVolume(id, value) => {
                let slot = symbol(self, id)?;
                self.symbols[slot].settings.average_daily_volume = value;
            }
            Setting::ImprovementMultiplier(id, ppm) => {
                let slot = client(self, id)?;
                self.clients[slot].improvement_ppm = ppm;
            }
            Setting::KillSwitch(target, on) => self.set_kill_switch(target, on)?,
        }
        Ok(())
    }

    /// Halts or resumes trading in a symbol, as an operator (the market's own halt,
    /// [`Setting::MarketHalted`], is separate: either one halts the symbol).
    ///
    /// # Errors
    /// [`ControlError::UnknownSymbol`].
    pub fn set_halted(&mut self, symbol: SymbolId, halted: bool) -> Result<(), ControlError> {
        self.set_halt(symbol, HALTED_BY_OPERATOR, halted)
    }

    fn set_halt(&mut self, symbol: SymbolId, by: u8, on: bool) -> Result<(), ControlError> {
        let slot = self
            .symbol_slot(symbol)
            .ok_or(ControlError::UnknownSymbol(symbol))?;
        let halted = &mut self.symbols[slot].halted;
        *halted = if on { *halted | by } else { *halted & !by };
        Ok(())
    }

    /// Sets (or clears) a symbol's limit-up/limit-down band.
    ///
    /// # Errors
    /// [`ControlError::UnknownSymbol`], or [`ControlError::EmptyBand`] when low > high.
    pub fn set_band(
        &mut self,
        symbol: SymbolId,
        band: Option<(Price, Price)>,
    ) -> Result<(), ControlError> {
        let slot = self
            .symbol_slot(symbol)
            .ok_or(ControlError::UnknownSymbol(symbol))?;
        if let Some((low, high)) = band {
            if low > high {
                return Err(ControlError::EmptyBand(low, high));
            }
        }
        self.symbols[slot].band = band;
        Ok(())
    }

    /// Puts a symbol under (or lifts) the Rule 201 short-sale price test.
    ///
    /// # Errors
    /// [`ControlError::UnknownSymbol`].
    pub fn set_rule_201(&mut self, symbol: SymbolId, on: bool) -> Result<(), ControlError> {
        let slot = self
            .symbol_slot(symbol)
            .ok_or(ControlError::UnknownSymbol(symbol))?;
        self.symbols[slot].rule_201 = on;
        Ok(())
    }

    /// Adds located shares a client may sell short in a symbol.
    ///
    /// # Errors
    /// [`ControlError`] for an unknown client or symbol, or a full locate table.
    pub fn add_locate(
        &mut self,
        client: ClientId,
        symbol: SymbolId,
        shares: u64,
    ) -> Result<(), ControlError> {
        self.client_slot(client)
            .ok_or(ControlError::UnknownClient(client))?;
        self.symbol_slot(symbol)
            .ok_or(ControlError::UnknownSymbol(symbol))?;
        if !self.locates.add(client, symbol, shares) {
            return Err(ControlError::LocatesFull(self.locates_max));
        }
        Ok(())
    }

    /// Starts a new trading day: client order ids may be reused, executed notional no
    /// longer counts against credit (open orders still do), located shares lapse.
    pub fn end_of_day(&mut self) {
        for state in &mut self.clients {
            state.exposure = 0;
            state.used_ids.clear();
        }
        // Orders still open keep counting against credit, and keep their client order
        // ids taken.
        for open in self.open.iter() {
            if let Some(client) = self.client_slot(open.client) {
                let state = &mut self.clients[client];
                state.exposure += open.open_notional();
                if !state.used_ids.contains(open.client_order_id.get()) {
                    state.used_ids.insert(open.client_order_id.get());
                }
            }
        }
        self.locates.clear();
        for symbol in &mut self.symbols {
            symbol.inventory.new_day();
        }
    }

    // ---- queries ----

    /// A client's credit usage: open-order notional plus notional executed today, in
    /// micro-dollars.
    #[must_use]
    pub fn exposure(&self, client: ClientId) -> Option<i128> {
        self.client_slot(client)
            .map(|slot| self.clients[slot].exposure)
    }

    /// Shares a client has located and not yet used in a symbol.
    #[must_use]
    pub fn located(&self, client: ClientId, symbol: SymbolId) -> u64 {
        self.locates.get(client, symbol)
    }

    /// The firm's inventory in a symbol: position, average cost, realized and
    /// mark-to-mid unrealized profit and loss.
    #[must_use]
    pub fn inventory(&self, symbol: SymbolId) -> Option<PositionView> {
        self.symbol_slot(symbol)
            .map(|slot| self.symbols[slot].inventory.view(symbol))
    }

    /// The firm's realized and unrealized profit and loss over every symbol,
    /// micro-dollars.
    #[must_use]
    pub fn firm_pnl(&self) -> (i128, i128) {
        self.symbols
            .iter()
            .map(|symbol| symbol.inventory.view(symbol.settings.symbol))
            .fold((0, 0), |(realized, unrealized), view| {
                (
                    realized + view.realized_pnl,
                    unrealized + view.unrealized_pnl,
                )
            })
    }

    /// Open orders the gate tracks.
    #[must_use]
    pub fn open_orders(&self) -> usize {
        self.open.len()
    }

    /// Whether the firm kill switch is on.
    #[must_use]
    pub fn firm_killed(&self) -> bool {
        self.firm_killed
    }

    /// A client's state, for an operator's status query (`None`: no such client). Counts
    /// its open orders by walking the open-order table: for queries, not the order path.
    #[must_use]
    pub fn client_state(&self, client: ClientId) -> Option<ClientState> {
        let slot = self.client_slot(client)?;
        let state = &self.clients[slot];
        let open_orders = self
            .open
            .iter()
            .filter(|open| open.client == client)
            .count();
        Some(ClientState {
            open_orders: u32::try_from(open_orders).unwrap_or(u32::MAX),
            exposure: state.exposure,
            limits: state.limits,
            killed: state.killed,
            tokens: state.tokens / 1_000_000_000,
            improvement_ppm: state.improvement_ppm,
        })
    }

    /// A symbol's state, for an operator's status query (`None`: no such symbol).
    #[must_use]
    pub fn symbol_state(&self, symbol: SymbolId) -> Option<SymbolState> {
        let slot = self.symbol_slot(symbol)?;
        let state = &self.symbols[slot];
        Some(SymbolState {
            halted_by_operator: state.halted & HALTED_BY_OPERATOR != 0,
            halted_by_market: state.halted & HALTED_BY_MARKET != 0,
            band: state.band,
            rule_201: state.rule_201,
            killed: state.killed,
            restricted: state.settings.restricted,
            inventory: state.inventory.view(symbol),
        })
    }
}

/// A client's state as [`RiskGate::client_state`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientState {
    /// Its open orders.
    pub open_orders: u32,
    /// Credit used: open-order notional plus notional executed today, micro-dollars.
    pub exposure: i128,
    /// Its limits now (with any temporary change in force).
    pub limits: ClientLimits,
    /// Its kill switch is on.
    pub killed: bool,
    /// Whole messages its rate bucket held after its last message (it refills at
    /// `limits.messages_per_second` up to `limits.message_burst`).
    pub tokens: u64,
    /// Its price-improvement multiplier, ppm (1,000,000 unless an operator set one).
    pub improvement_ppm: u32,
}

/// A symbol's state as [`RiskGate::symbol_state`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolState {
    /// An operator halted it.
    pub halted_by_operator: bool,
    /// The market halted it (the feed).
    pub halted_by_market: bool,
    /// Its limit-up/limit-down band, if one is in force.
    pub band: Option<(Price, Price)>,
    /// Rule 201's short-sale price test is in force.
    pub rule_201: bool,
    /// Its kill switch is on.
    pub killed: bool,
    /// It is on the restricted list.
    pub restricted: bool,
    /// The firm's position and profit and loss in it.
    pub inventory: PositionView,
}
