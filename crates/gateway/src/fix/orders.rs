//! What a FIX execution report needs that a reply does not carry: each order's symbol,
//! side, quantity, price, executed quantity and average price, kept from the requests
//! the ingress hands on and the replies that come back (for every client, so the drop
//! copy can describe any client's order), and the mapping of a reply to the report.

use std::collections::HashMap;

use crossline_protocol::client::Outbound;
use crossline_types::{Capacity, ClientId, LiquiditySource, OrderType, Side, TimeInForce};

use crate::session::Request;

/// FIX ClOrdID ↔ the engine's 64-bit client order id: up to [`CL_ORD_ID_CHARS`]
/// printable ASCII characters (`!` to `~`), seven bits each, as base-128 digits.
pub const CL_ORD_ID_CHARS: usize = 9;

/// The engine's client order id for the ClOrdID `text`; `None` when it is empty,
/// longer than [`CL_ORD_ID_CHARS`] or has a byte outside `!`..=`~`.
#[must_use]
pub fn pack_cl_ord_id(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > CL_ORD_ID_CHARS {
        return None;
    }
    text.iter().try_fold(0u64, |packed, &byte| {
        (0x21..=0x7e)
            .contains(&byte)
            .then(|| packed * 128 + u64::from(byte))
    })
}

/// The ClOrdID a packed id stands for, written into `out`; returns its bytes (`None`
/// when `packed` is no packed ClOrdID).
#[must_use]
pub fn unpack_cl_ord_id(mut packed: u64, out: &mut [u8; CL_ORD_ID_CHARS]) -> Option<&[u8]> {
    let mut at = CL_ORD_ID_CHARS;
    while packed != 0 {
        if at == 0 {
            return None;
        }
        // One base-128 digit: below 128.
        let byte = u8::try_from(packed % 128).unwrap_or(0);
        if !(0x21..=0x7e).contains(&byte) {
            return None;
        }
        at -= 1;
        out[at] = byte;
        packed /= 128;
    }
    (at < CL_ORD_ID_CHARS).then(|| &out[at..])
}

/// FIX OrdStatus (39).
pub(crate) mod status {
    pub(crate) const NEW: u8 = b'0';
    pub(crate) const PARTIAL: u8 = b'1';
    pub(crate) const FILLED: u8 = b'2';
    pub(crate) const CANCELED: u8 = b'4';
    pub(crate) const PENDING_NEW: u8 = b'A';
    pub(crate) const REJECTED: u8 = b'8';
}

/// One order as the FIX edge knows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderState {
    pub(crate) order_id: u64,
    /// The client's current id for it (a replace changes it).
    pub(crate) client_order_id: u64,
    pub(crate) symbol: u32,
    pub(crate) side: Side,
    pub(crate) order_type: OrderType,
    pub(crate) time_in_force: TimeInForce,
    pub(crate) price: i64,
    pub(crate) quantity: u32,
    pub(crate) executed: u32,
    /// Σ price × shares of its executions, micro-dollar-shares.
    pub(crate) notional: i128,
    pub(crate) status: u8,
    /// The journal sequence of the input that accepted (or last replaced) it: an
    /// execution caused by the same input took liquidity, a later one added it.
    pub(crate) arrived: u64,
    /// Execution reports sent for it (ExecIDs are `order_id.n`).
    pub(crate) reports: u32,
}

impl OrderState {
    /// AvgPx (6), micro-dollars (rounded down to the micro-dollar).
    pub(crate) fn average_price(&self) -> i64 {
        if self.executed == 0 {
            0
        } else {
            i64::try_from(self.notional / i128::from(self.executed)).unwrap_or(0)
        }
    }

    pub(crate) fn leaves(&self) -> u32 {
        match self.status {
            status::CANCELED | status::REJECTED | status::FILLED => 0,
            _ => self.quantity.saturating_sub(self.executed),
        }
    }
}

/// A cancel or replace request waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct PendingRequest {
    replace: bool,
    original: u64,
}

/// What one reply means for FIX.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Report {
    /// An ExecutionReport (8).
    Execution {
        exec_type: ExecType,
        /// The order (after the reply was applied); `None` for an order the table does
        /// not know (a reject of an order id it never saw).
        order: Option<OrderState>,
        /// ClOrdID (11): the request's id (a cancel's or replace's for their answers).
        client_order_id: u64,
        /// OrigClOrdID (41).
        original: Option<u64>,
        /// The reason code behind a reject or cancel.
        reason: Option<u16>,
    },
    /// An OrderCancelReject (9).
    CancelReject {
        order: Option<OrderState>,
        client_order_id: u64,
        original: u64,
        /// CxlRejResponseTo (434): true for a replace.
        replace: bool,
        reason: u16,
    },
}

/// The event an ExecutionReport reports.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ExecType {
    New,
    Rejected,
    Trade {
        price: i64,
        quantity: u32,
        improvement: i64,
        liquidity: LiquiditySource,
        capacity: Capacity,
        /// Whether the order took the liquidity (it executed on arrival).
        removed: bool,
    },
    Canceled,
    Replaced,
}

/// Every order of the day the FIX edge has seen, by (client, client order id).
#[derive(Default)]
pub struct OrderTable {
    orders: Vec<OrderState>,
    index: HashMap<(u32, u64), usize>,
    requests: HashMap<(u32, u64), PendingRequest>,
    /// Cancel requests waiting, by (client, the order's client order id): the request's
    /// id, found in one lookup when the order's `Cancelled` comes back.
    cancels: HashMap<(u32, u64), u64>,
}

impl OrderTable {
    /// Notes a request a session handed on (before the engine answers it).
    pub fn note_request(&mut self, request: &Request) {
        match *request {
            Request::NewOrder(order) => {
                let key = (order.client.get(), order.client_order_id.get());
                let state = OrderState {
                    order_id: 0,
                    client_order_id: order.client_order_id.get(),
                    symbol: order.symbol.get(),
                    side: order.side,
                    order_type: order.order_type,
                    time_in_force: order.time_in_force,
                    price: order.price.micros(),
                    quantity: order.quantity.shares(),
                    executed: 0,
                    notional: 0,
                    status: status::PENDING_NEW,
                    arrived: 0,
                    reports: 0,
                };
                // A duplicate id is refused by the engine; the working order keeps it.
                if let Some(&at) = self.index.get(&key) {
                    if matches!(
                        self.orders[at].status,
                        status::NEW | status::PARTIAL | status::PENDING_NEW
                    ) {
                        return;
                    }
                }
                self.index.insert(key, self.orders.len());
                self.orders.push(state);
            }
            Request::Cancel(cancel) => {
                self.cancels.insert(
                    (cancel.client.get(), cancel.original_client_order_id.get()),
                    cancel.client_order_id.get(),
                );
                self.requests.insert(
                    (cancel.client.get(), cancel.client_order_id.get()),
                    PendingRequest {
                        replace: false,
                        original: cancel.original_client_order_id.get(),
                    },
                );
            }
            Request::Replace(replace) => {
                self.requests.insert(
                    (replace.client.get(), replace.client_order_id.get()),
                    PendingRequest {
                        replace: true,
                        original: replace.original_client_order_id.get(),
                    },
                );
            }
        }
    }

    fn order(&mut self, client: ClientId, client_order_id: u64) -> Option<&mut OrderState> {
        let at = *self.index.get(&(client.get(), client_order_id))?;
        self.orders.get_mut(at)
    }

    /// The order `client` knows as `client_order_id`, if any.
    pub(crate) fn find(&self, client: ClientId, client_order_id: u64) -> Option<OrderState> {
        let at = *self.index.get(&(client.get(), client_order_id))?;
        self.orders.get(at).copied()
    }

    /// Applies `reply` to `client`'s orders, as a live reply would (`sequence`: the
    /// journal sequence of the input that caused it): how a restart rebuilds the table
    /// from the journal.
    pub fn apply_reply(&mut self, client: ClientId, reply: &Outbound, sequence: u64) {
        let _ = self.apply(client, reply, sequence);
    }

    /// Applies `reply` to `client`'s orders (`sequence`: the journal sequence of the
    /// input that caused it) and says what it means for FIX.
    pub(crate) fn apply(
        &mut self,
        client: ClientId,
        reply: &Outbound,
        sequence: u64,
    ) -> Option<Report> {
        let report = match *reply {
            Outbound::Accepted {
                client_order_id,
                order_id,
                ..
            } => {
                let order = self.order(client, client_order_id.get()).map(|order| {
                    order.order_id = order_id.get();
                    order.status = status::NEW;
                    order.arrived = sequence;
                    order.reports += 1;
                    *order
                });
                Report::Execution {
                    exec_type: ExecType::New,
                    order,
                    client_order_id: client_order_id.get(),
                    original: None,
                    reason: None,
                }
            }
            Outbound::Rejected {
                client_order_id,
                reason,
            } => {
                let order = self.order(client, client_order_id.get()).map(|order| {
                    if order.status == status::PENDING_NEW {
                        order.status = status::REJECTED;
                    }
                    order.reports += 1;
                    *order
                });
                Report::Execution {
                    exec_type: ExecType::Rejected,
                    order,
                    client_order_id: client_order_id.get(),
                    original: None,
                    reason: Some(reason),
                }
            }
            Outbound::Filled {
                client_order_id,
                price,
                price_improvement,
                quantity,
                leaves,
                liquidity,
                capacity,
                ..
            } => {
                let order = self.order(client, client_order_id.get()).map(|order| {
                    order.executed += quantity.shares();
                    order.notional += i128::from(price.micros()) * i128::from(quantity.shares());
                    order.status = if leaves.shares() == 0 {
                        status::FILLED
                    } else {
                        status::PARTIAL
                    };
                    // An order that can keep working after a fill has quantity = executed +
                    // leaves; keep the table's quantity honest if it was never seen.
                    order.quantity = order.quantity.max(order.executed + leaves.shares());
                    order.reports += 1;
                    *order
                });
                let removed = order.is_some_and(|order| order.arrived == sequence);
                Report::Execution {
                    exec_type: ExecType::Trade {
                        price: price.micros(),
                        quantity: quantity.shares(),
                        improvement: price_improvement.micros(),
                        liquidity,
                        capacity,
                        removed,
                    },
                    order,
                    client_order_id: client_order_id.get(),
                    original: None,
                    reason: None,
                }
            }
            Outbound::Cancelled {
                client_order_id,
                reason,
                ..
            } => {
                // A client's cancel answered: the report carries the cancel's id.
                let request = self.take_cancel(client, client_order_id.get());
                let order = self.order(client, client_order_id.get()).map(|order| {
                    order.status = status::CANCELED;
                    order.reports += 1;
                    *order
                });
                let (id, original) = match request {
                    Some(request_id) => (request_id, Some(client_order_id.get())),
                    None => (client_order_id.get(), None),
                };
                Report::Execution {
                    exec_type: ExecType::Canceled,
                    order,
                    client_order_id: id,
                    original,
                    reason: Some(u16::from(reason)),
                }
            }
            Outbound::Replaced {
                client_order_id,
                original_client_order_id,
                price,
                quantity,
                ..
            } => {
                self.requests.remove(&(client.get(), client_order_id.get()));
                let key = (client.get(), original_client_order_id.get());
                let order = self.index.get(&key).copied().map(|at| {
                    self.index.insert((client.get(), client_order_id.get()), at);
                    let order = &mut self.orders[at];
                    order.client_order_id = client_order_id.get();
                    order.price = price.micros();
                    order.quantity = quantity.shares();
                    order.arrived = sequence;
                    order.reports += 1;
                    *order
                });
                Report::Execution {
                    exec_type: ExecType::Replaced,
                    order,
                    client_order_id: client_order_id.get(),
                    original: Some(original_client_order_id.get()),
                    reason: None,
                }
            }
            Outbound::CancelRejected {
                client_order_id,
                original_client_order_id,
                reason,
            } => {
                let request = self.requests.remove(&(client.get(), client_order_id.get()));
                let replace = request.is_some_and(|request| request.replace);
                if let Some(request) = request.filter(|request| !request.replace) {
                    self.cancels.remove(&(client.get(), request.original));
                }
                let order = self.find(client, original_client_order_id.get());
                Report::CancelReject {
                    order,
                    client_order_id: client_order_id.get(),
                    original: original_client_order_id.get(),
                    replace,
                    reason: u16::from(reason),
                }
            }
            Outbound::LogonAccepted { .. }
            | Outbound::LogonRejected { .. }
            | Outbound::Heartbeat {}
            | Outbound::SessionReject { .. } => return None,
        };
        Some(report)
    }

    /// The cancel request (its id) waiting for the order `original`, taken.
    fn take_cancel(&mut self, client: ClientId, original: u64) -> Option<u64> {
        let request = self.cancels.remove(&(client.get(), original))?;
        self.requests.remove(&(client.get(), request));
        Some(request)
    }
}

/// OrdRejReason (103) and the Text (58) for a reject reason code (`docs/PROTOCOL.md`,
/// `docs/RISK.md`).
#[must_use]
pub(crate) fn reject_reason(code: u16) -> (u8, &'static str) {
    match code {
        1 => (1, "unknown symbol"),
        2 => (13, "quantity must be positive"),
        3 => (99, "limit price must be positive"),
        4 => (
            99,
            "limit price is in an increment finer than Rule 612 allows",
        ),
        5 => (99, "limit price is not on the symbol's book tick"),
        6 => (6, "client order id is already in use by a working order"),
        7 => (0, "the matcher's order table is full"),
        8 => (
            0,
            "the NBBO is unusable (missing, locked, crossed or stale)",
        ),
        101 => (0, "firm-wide kill switch on"),
        102 => (0, "kill switch on for the symbol"),
        103 => (0, "kill switch on for the client"),
        110 => (15, "unknown client"),
        111 => (1, "unknown symbol"),
        120 => (3, "message rate above the client's limit"),
        130 => (6, "client order id already used today"),
        131 => (3, "the client's daily client order id table is full"),
        140 => (0, "symbol is restricted"),
        141 => (2, "symbol is halted"),
        150 => (3, "quantity above the client's maximum"),
        160 => (0, "no reference price for the symbol"),
        161 => (0, "limit price outside the price collar"),
        162 => (0, "limit price outside the limit-up/limit-down band"),
        170 => (3, "order notional above the client's maximum"),
        171 => (
            3,
            "market order above the allowed share of average daily volume",
        ),
        180 => (0, "short sale without enough located shares (Reg SHO)"),
        181 => (
            0,
            "short sale not above the national best bid under Rule 201",
        ),
        190 => (3, "credit limit exceeded"),
        199 => (0, "the risk gate's open-order table is full"),
        _ => (99, "rejected"),
    }
}

/// The Text (58) for a cancel reason code (`docs/PROTOCOL.md`).
#[must_use]
pub(crate) fn cancel_text(code: u16) -> &'static str {
    match code {
        1 => "cancelled at the client's request",
        2 => "immediate-or-cancel remainder",
        3 => "fill-or-kill could not fill in full",
        4 => "market order remainder with no liquidity",
        5 => "self-match prevention",
        6 => "day order expired",
        7 => "resting would lock or cross the internal book",
        8 => "the symbol's book is full",
        9 => "the venue cancelled the routed remainder",
        10 => "cancelled by a kill switch",
        _ => "cancelled",
    }
}

/// CxlRejReason (102) and the Text (58) for a cancel-reject reason code (1 to 9 from
/// the matcher, 101 and up from the risk gate).
#[must_use]
pub(crate) fn cancel_reject_reason(code: u16) -> (u8, &'static str) {
    match code {
        1 => (1, "no working order with that client order id"),
        2 => (99, "the request's symbol is not the order's"),
        3 => (
            2,
            "the order is out at a venue; it can be changed when the venue reports back",
        ),
        4 => (6, "the replacement client order id is already in use"),
        5 => (
            99,
            "the replacement quantity does not exceed the executed quantity",
        ),
        6 => (99, "limit price must be positive"),
        7 => (
            99,
            "limit price is in an increment finer than Rule 612 allows",
        ),
        8 => (99, "limit price is not on the symbol's book tick"),
        9 => (99, "only a limit order can be replaced"),
        code => (99, reject_reason(code).1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cl_ord_ids_pack_into_the_engine_id_and_back() {
        let mut out = [0u8; CL_ORD_ID_CHARS];
        for text in [
            &b"A"[..],
            b"ORD-000017",
            b"~~~~~~~~~",
            b"!",
            b"1",
            b"x.y:z/9",
        ] {
            if text.len() > CL_ORD_ID_CHARS {
                assert_eq!(pack_cl_ord_id(text), None);
                continue;
            }
            let packed = pack_cl_ord_id(text).unwrap();
            assert!(packed < 1 << 63);
            assert_eq!(unpack_cl_ord_id(packed, &mut out), Some(text));
        }
        assert_eq!(pack_cl_ord_id(b""), None);
        assert_eq!(pack_cl_ord_id(b"a b"), None);
        assert_eq!(pack_cl_ord_id(b"0123456789"), None);
        assert_eq!(unpack_cl_ord_id(0, &mut out), None);
        // A binary client's plain number is not a packed id.
        assert_eq!(unpack_cl_ord_id(5, &mut out), None);
    }

    #[test]
    fn every_documented_reason_code_has_its_own_text() {
        for code in [
            1u16, 2, 3, 4, 5, 6, 7, 8, 101, 102, 103, 110, 111, 120, 130, 131, 140,
        ]
        .into_iter()
        .chain([141, 150, 160, 161, 162, 170, 171, 180, 181, 190, 199])
        {
            assert_ne!(reject_reason(code).1, "rejected", "{code}");
        }
        for code in 1..=10 {
            assert_ne!(cancel_text(code), "cancelled", "{code}");
        }
    }
}
