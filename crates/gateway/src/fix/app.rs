//! The application messages: D, F, G and H into the engine's requests, and the
//! engine's replies out as ExecutionReport (8) and OrderCancelReject (9).

use crossline_fix::{tags, Encoder, Message};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, LiquiditySource, NewOrder, OrderType, Price,
    Quantity, Replace, Side, SymbolId, TimeInForce,
};

use super::orders::{
    cancel_reject_reason, cancel_text, pack_cl_ord_id, reject_reason, status, unpack_cl_ord_id,
    ExecType, OrderState, Report, CL_ORD_ID_CHARS,
};
use crate::session::Request;

/// What the reports of one reply are written with.
pub(crate) struct ReportContext<'a> {
    pub(crate) client: ClientId,
    /// The client's orders come in on FIX: its client order ids are packed ClOrdIDs.
    pub(crate) fix_client: bool,
    pub(crate) market: &'a [u8],
    pub(crate) symbols: &'a [(SymbolId, Vec<u8>)],
    pub(crate) begin_string: &'a [u8],
    pub(crate) now_ns: u64,
}

impl ReportContext<'_> {
    fn version_44(&self) -> bool {
        self.begin_string == b"FIX.4.4"
    }

    fn ticker(&self, symbol: u32) -> Option<&[u8]> {
        self.symbols
            .iter()
            .find(|(id, _)| id.get() == symbol)
            .map(|(_, name)| name.as_slice())
    }
}

/// A message the session layer refuses with a Reject (3): SessionRejectReason, the tag,
/// the text.
pub(crate) struct FieldProblem {
    pub(crate) reason: u32,
    pub(crate) tag: u32,
    pub(crate) text: &'static str,
}

/// An order message refused at the edge, answered as the engine would: an
/// ExecutionReport rejecting a NewOrderSingle, an OrderCancelReject for F and G.
pub(crate) struct Refusal {
    /// OrderCancelReject (9) rather than ExecutionReport (8).
    pub(crate) cancel: bool,
    /// CxlRejResponseTo: a replace.
    pub(crate) replace: bool,
    /// OrdRejReason or CxlRejReason.
    pub(crate) reason: u8,
    pub(crate) text: &'static str,
}

/// What an order message is, once read.
pub(crate) enum Decoded {
    Request(Request),
    /// An OrderStatusRequest for this ClOrdID (`None`: not one this engine can hold).
    Status {
        client_order_id: Option<u64>,
    },
    Refused(Refusal),
}

fn required<'a>(
    message: &Message<'a>,
    tag: u32,
    text: &'static str,
) -> Result<&'a [u8], FieldProblem> {
    message.get(tag).ok_or(FieldProblem {
        reason: 1,
        tag,
        text,
    })
}

fn side(message: &Message<'_>) -> Result<Side, FieldProblem> {
    let problem = |reason, text| FieldProblem {
        reason,
        tag: tags::SIDE,
        text,
    };
    match required(message, tags::SIDE, "Side (54) is required")? {
        b"1" => Ok(Side::Buy),
        b"2" => Ok(Side::Sell),
        b"5" => Ok(Side::SellShort),
        b"6" => Ok(Side::SellShortExempt),
        _ => Err(problem(
            5,
            "Side (54) must be 1 (buy), 2 (sell), 5 (sell short) or 6 (sell short exempt)",
        )),
    }
}

fn quantity(message: &Message<'_>) -> Result<Quantity, FieldProblem> {
    required(message, tags::ORDER_QTY, "OrderQty (38) is required")?;
    let micros = message.micros(tags::ORDER_QTY).map_err(|_| FieldProblem {
        reason: 6,
        tag: tags::ORDER_QTY,
        text: "OrderQty (38) must be a number",
    })?;
    micros
        .filter(|m| m % 1_000_000 == 0)
        .and_then(|m| u32::try_from(m / 1_000_000).ok())
        .map(Quantity::new)
        .ok_or(FieldProblem {
            reason: 5,
            tag: tags::ORDER_QTY,
            text: "OrderQty (38) must be a whole number of shares from 0 to 4294967295",
        })
}

fn order_type(message: &Message<'_>) -> Result<OrderType, FieldProblem> {
    match required(message, tags::ORD_TYPE, "OrdType (40) is required")? {
        b"1" => Ok(OrderType::Market),
        b"2" => Ok(OrderType::Limit),
        _ => Err(FieldProblem {
            reason: 5,
            tag: tags::ORD_TYPE,
            text: "OrdType (40) must be 1 (market) or 2 (limit)",
        }),
    }
}

fn price(message: &Message<'_>, order_type: OrderType) -> Result<Price, FieldProblem> {
    if order_type == OrderType::Market {
        return Ok(Price::from_micros(0));
    }
    required(
        message,
        tags::PRICE,
        "Price (44) is required for a limit order",
    )?;
    match message.micros(tags::PRICE) {
        Ok(Some(micros)) => Ok(Price::from_micros(micros)),
        _ => Err(FieldProblem {
            reason: 6,
            tag: tags::PRICE,
            text: "Price (44) must be a decimal with at most six places",
        }),
    }
}

fn symbol(
    message: &Message<'_>,
    symbols: &[(SymbolId, Vec<u8>)],
) -> Result<Option<SymbolId>, FieldProblem> {
    let ticker = required(message, tags::SYMBOL, "Symbol (55) is required")?;
    Ok(symbols
        .iter()
        .find(|(_, name)| name == ticker)
        .map(|(id, _)| *id))
}

const CL_ORD_ID_TEXT: &str =
    "ClOrdID (11) and OrigClOrdID (41) must be 1 to 9 printable ASCII characters";

/// Reads an order message of the session's `client`.
pub(crate) fn decode(
    message: &Message<'_>,
    client: ClientId,
    symbols: &[(SymbolId, Vec<u8>)],
    version_44: bool,
) -> Result<Decoded, FieldProblem> {
    let msg_type = message.msg_type();
    let id = required(message, tags::CL_ORD_ID, "ClOrdID (11) is required")?;
    let packed = pack_cl_ord_id(id);
    if msg_type == b"H" {
        return Ok(Decoded::Status {
            client_order_id: packed,
        });
    }
    let cancel = msg_type != b"D";
    let replace = msg_type == b"G";
    let original = if cancel {
        let text = required(
            message,
            tags::ORIG_CL_ORD_ID,
            "OrigClOrdID (41) is required",
        )?;
        Some(pack_cl_ord_id(text))
    } else {
        None
    };
    let side = side(message)?;
    let symbol = symbol(message, symbols)?;
    let (quantity, order_type, price) = if cancel && !replace {
        (Quantity::new(0), OrderType::Limit, Price::from_micros(0))
    } else {
        let order_type = order_type(message)?;
        (quantity(message)?, order_type, price(message, order_type)?)
    };
    let Some(symbol) = symbol else {
        return Ok(Decoded::Refused(Refusal {
            cancel,
            replace,
            reason: 1, // OrdRejReason and CxlRejReason: unknown symbol / unknown order
            text: "unknown symbol: Symbol (55) is not one of this engine's tickers",
        }));
    };
    let (Some(client_order_id), Some(original)) = (packed, original.unwrap_or(Some(0))) else {
        return Ok(Decoded::Refused(Refusal {
            cancel,
            replace,
            reason: 99,
            text: CL_ORD_ID_TEXT,
        }));
    };
    let client_order_id = ClientOrderId::new(client_order_id);
    let original_client_order_id = ClientOrderId::new(original);
    let request = match msg_type {
        b"D" => {
            let time_in_force = match message.get(tags::TIME_IN_FORCE) {
                None | Some(b"0") => TimeInForce::Day,
                Some(b"1") => TimeInForce::GoodTillCancel,
                Some(b"3") => TimeInForce::ImmediateOrCancel,
                Some(b"4") => TimeInForce::FillOrKill,
                Some(_) => {
                    return Err(FieldProblem {
                        reason: 5,
                        tag: tags::TIME_IN_FORCE,
                        text: "TimeInForce (59) must be 0 (day), 1 (GTC), 3 (IOC) or 4 (FOK)",
                    })
                }
            };
            let (tag, text) = if version_44 {
                (tags::ORDER_CAPACITY, "OrderCapacity (528) must be A (agency), P (principal) or R (riskless principal)")
            } else {
                (
                    tags::RULE_80A,
                    "Rule80A (47) must be A (agency) or P (principal)",
                )
            };
            let capacity = match message.get(tag) {
                None | Some(b"A") => Capacity::Agency,
                Some(b"P") => Capacity::Principal,
                Some(b"R") if version_44 => Capacity::RisklessPrincipal,
                Some(_) => {
                    return Err(FieldProblem {
                        reason: 5,
                        tag,
                        text,
                    })
                }
            };
            Request::NewOrder(NewOrder {
                client,
                symbol,
                client_order_id,
                price,
                quantity,
                side,
                order_type,
                time_in_force,
                capacity,
            })
        }
        b"F" => Request::Cancel(Cancel {
            client,
            symbol,
            client_order_id,
            original_client_order_id,
        }),
        _ => Request::Replace(Replace {
            client,
            quantity,
            client_order_id,
            original_client_order_id,
            price,
        }),
    };
    Ok(Decoded::Request(request))
}

/// The MsgType a report goes out as.
pub(crate) fn report_type(report: &Report) -> &'static [u8] {
    match report {
        Report::Execution { .. } => b"8",
        Report::CancelReject { .. } => b"9",
    }
}

fn side_code(side: Side) -> u8 {
    match side {
        Side::Buy => b'1',
        Side::Sell => b'2',
        Side::SellShort => b'5',
        Side::SellShortExempt => b'6',
    }
}

/// Writes a client order id as the client knows it: the ClOrdID it sent (FIX clients),
/// or the number (binary-protocol clients, in the drop copy).
fn write_id(encoder: &mut Encoder<'_>, tag: u32, context: &ReportContext<'_>, id: u64) {
    let mut text = [0u8; CL_ORD_ID_CHARS];
    match unpack_cl_ord_id(id, &mut text).filter(|_| context.fix_client) {
        Some(text) => encoder.str(tag, text),
        None => encoder.uint(tag, id),
    };
}

/// Writes `a.b` (an ExecID).
fn write_pair(encoder: &mut Encoder<'_>, tag: u32, a: u64, b: u64) {
    let mut text = [0u8; 41];
    let mut at = text.len();
    for (index, mut value) in [b, a].into_iter().enumerate() {
        loop {
            at -= 1;
            text[at] = b'0' + u8::try_from(value % 10).unwrap_or(0);
            value /= 10;
            if value == 0 {
                break;
            }
        }
        if index == 0 {
            at -= 1;
            text[at] = b'.';
        }
    }
    encoder.str(tag, &text[at..]);
}

fn write_order(encoder: &mut Encoder<'_>, context: &ReportContext<'_>, order: &OrderState) {
    if let Some(ticker) = context.ticker(order.symbol) {
        encoder.str(tags::SYMBOL, ticker);
    }
    encoder
        .char(tags::SIDE, side_code(order.side))
        .uint(tags::ORDER_QTY, u64::from(order.quantity))
        .char(
            tags::ORD_TYPE,
            if order.order_type == OrderType::Market {
                b'1'
            } else {
                b'2'
            },
        );
    if order.order_type == OrderType::Limit {
        encoder.micros(tags::PRICE, order.price);
    }
    encoder.char(
        tags::TIME_IN_FORCE,
        match order.time_in_force {
            TimeInForce::Day => b'0',
            TimeInForce::GoodTillCancel => b'1',
            TimeInForce::ImmediateOrCancel => b'3',
            TimeInForce::FillOrKill => b'4',
        },
    );
}

fn write_order_id(encoder: &mut Encoder<'_>, order: Option<&OrderState>) {
    match order.filter(|o| o.order_id != 0) {
        Some(order) => encoder.uint(tags::ORDER_ID, order.order_id),
        None => encoder.str(tags::ORDER_ID, b"NONE"),
    };
}

/// Writes the body of the report for one reply.
pub(crate) fn write_report(
    encoder: &mut Encoder<'_>,
    context: &ReportContext<'_>,
    report: &Report,
) {
    encoder.uint(tags::ACCOUNT, u64::from(context.client.get()));
    match *report {
        Report::Execution {
            exec_type,
            order,
            client_order_id,
            original,
            reason,
        } => {
            write_order_id(encoder, order.as_ref());
            write_id(encoder, tags::CL_ORD_ID, context, client_order_id);
            if let Some(original) = original {
                write_id(encoder, tags::ORIG_CL_ORD_ID, context, original);
            }
            match &order {
                Some(order) => write_pair(
                    encoder,
                    tags::EXEC_ID,
                    order.order_id,
                    u64::from(order.reports),
                ),
                None => write_pair(
                    encoder,
                    tags::EXEC_ID,
                    u64::from(context.client.get()),
                    context.now_ns,
                ),
            }
            if !context.version_44() {
                encoder.char(tags::EXEC_TRANS_TYPE, b'0');
            }
            let leaves = order.map_or(0, |o| o.leaves());
            let (exec_code, ord_status) = match exec_type {
                ExecType::New => (b'0', status::NEW),
                ExecType::Rejected => (b'8', status::REJECTED),
                ExecType::Trade { .. } => {
                    let filled = leaves == 0;
                    let code = match (context.version_44(), filled) {
                        (true, _) => b'F',
                        (false, true) => b'2',
                        (false, false) => b'1',
                    };
                    (
                        code,
                        if filled {
                            status::FILLED
                        } else {
                            status::PARTIAL
                        },
                    )
                }
                ExecType::Canceled => (b'4', status::CANCELED),
                ExecType::Replaced => (b'5', order.map_or(status::NEW, |o| o.status)),
            };
            encoder
                .char(tags::EXEC_TYPE, exec_code)
                .char(tags::ORD_STATUS, ord_status);
            if let (ExecType::Rejected, Some(code)) = (exec_type, reason) {
                encoder.uint(tags::ORD_REJ_REASON, u64::from(reject_reason(code).0));
            }
            if let Some(order) = &order {
                write_order(encoder, context, order);
            }
            if let ExecType::Trade {
                price,
                quantity,
                improvement,
                liquidity,
                capacity,
                removed,
            } = exec_type
            {
                encoder
                    .uint(tags::LAST_SHARES, u64::from(quantity))
                    .micros(tags::LAST_PX, price)
                    .char(
                        tags::LAST_CAPACITY,
                        match (capacity, liquidity) {
                            (Capacity::Agency, LiquiditySource::InternalCross) => b'2',
                            (Capacity::Agency, _) => b'1',
                            (Capacity::Principal | Capacity::RisklessPrincipal, _) => b'4',
                        },
                    );
                if liquidity != LiquiditySource::Venue {
                    encoder.str(tags::LAST_MKT, context.market);
                }
                if context.version_44() {
                    encoder.char(
                        tags::LAST_LIQUIDITY_IND,
                        match (liquidity, removed) {
                            (LiquiditySource::Venue, _) => b'3',
                            (_, true) => b'2',
                            (_, false) => b'1',
                        },
                    );
                }
                encoder.micros(tags::PRICE_IMPROVEMENT, improvement);
            }
            let (executed, average) = order.map_or((0, 0), |o| (o.executed, o.average_price()));
            encoder
                .uint(tags::LEAVES_QTY, u64::from(leaves))
                .uint(tags::CUM_QTY, u64::from(executed))
                .micros(tags::AVG_PX, average)
                .timestamp(tags::TRANSACT_TIME, context.now_ns);
            match (exec_type, reason) {
                (ExecType::Rejected, Some(code)) => {
                    encoder
                        .str(tags::TEXT, reject_reason(code).1.as_bytes())
                        .uint(tags::CROSSLINE_REASON, u64::from(code));
                }
                (ExecType::Canceled, Some(code)) => {
                    encoder
                        .str(tags::TEXT, cancel_text(code).as_bytes())
                        .uint(tags::CROSSLINE_REASON, u64::from(code));
                }
                _ => {}
            }
        }
        Report::CancelReject {
            order,
            client_order_id,
            original,
            replace,
            reason,
        } => {
            write_order_id(encoder, order.as_ref());
            write_id(encoder, tags::CL_ORD_ID, context, client_order_id);
            write_id(encoder, tags::ORIG_CL_ORD_ID, context, original);
            let (code, text) = cancel_reject_reason(reason);
            encoder
                .char(
                    tags::ORD_STATUS,
                    order.map_or(status::REJECTED, |o| o.status),
                )
                .char(tags::CXL_REJ_RESPONSE_TO, if replace { b'2' } else { b'1' })
                .uint(tags::CXL_REJ_REASON, u64::from(code))
                .str(tags::TEXT, text.as_bytes())
                .uint(tags::CROSSLINE_REASON, u64::from(reason));
        }
    }
}

/// The ExecutionReport answering an OrderStatusRequest (ExecType I in 4.4; ExecTransType
/// 3, status, in 4.2).
pub(crate) fn write_status(
    encoder: &mut Encoder<'_>,
    context: &ReportContext<'_>,
    order: Option<OrderState>,
    message: &Message<'_>,
) {
    encoder.uint(tags::ACCOUNT, u64::from(context.client.get()));
    write_order_id(encoder, order.as_ref());
    encoder.str(
        tags::CL_ORD_ID,
        message.get(tags::CL_ORD_ID).unwrap_or(b"NONE"),
    );
    write_pair(
        encoder,
        tags::EXEC_ID,
        u64::from(context.client.get()),
        context.now_ns,
    );
    if context.version_44() {
        encoder.char(tags::EXEC_TYPE, b'I');
    } else {
        encoder.char(tags::EXEC_TRANS_TYPE, b'3');
    }
    match &order {
        Some(order) => {
            if !context.version_44() {
                encoder.char(tags::EXEC_TYPE, order.status);
            }
            encoder.char(tags::ORD_STATUS, order.status);
            write_order(encoder, context, order);
            encoder
                .uint(tags::LEAVES_QTY, u64::from(order.leaves()))
                .uint(tags::CUM_QTY, u64::from(order.executed))
                .micros(tags::AVG_PX, order.average_price());
        }
        None => {
            if !context.version_44() {
                encoder.char(tags::EXEC_TYPE, status::REJECTED);
            }
            encoder.char(tags::ORD_STATUS, status::REJECTED);
            encoder.uint(tags::ORD_REJ_REASON, 5);
            for tag in [tags::SYMBOL, tags::SIDE] {
                if let Some(value) = message.get(tag) {
                    encoder.str(tag, value);
                }
            }
            encoder
                .uint(tags::LEAVES_QTY, 0)
                .uint(tags::CUM_QTY, 0)
                .micros(tags::AVG_PX, 0)
                .str(
                    tags::TEXT,
                    b"unknown order: no order of this session has that ClOrdID (11)",
                );
        }
    }
    encoder.timestamp(tags::TRANSACT_TIME, context.now_ns);
}

/// The answer to an order message refused at the edge (it never reached the engine).
pub(crate) fn write_refusal(
    encoder: &mut Encoder<'_>,
    context: &ReportContext<'_>,
    message: &Message<'_>,
    refusal: &Refusal,
) {
    encoder.uint(tags::ACCOUNT, u64::from(context.client.get()));
    encoder.str(tags::ORDER_ID, b"NONE");
    for tag in [tags::CL_ORD_ID, tags::ORIG_CL_ORD_ID] {
        if let Some(value) = message.get(tag) {
            encoder.str(tag, value);
        }
    }
    if refusal.cancel {
        encoder
            .char(tags::ORD_STATUS, status::REJECTED)
            .char(
                tags::CXL_REJ_RESPONSE_TO,
                if refusal.replace { b'2' } else { b'1' },
            )
            .uint(tags::CXL_REJ_REASON, u64::from(refusal.reason))
            .str(tags::TEXT, refusal.text.as_bytes());
        return;
    }
    write_pair(
        encoder,
        tags::EXEC_ID,
        u64::from(context.client.get()),
        context.now_ns,
    );
    if !context.version_44() {
        encoder.char(tags::EXEC_TRANS_TYPE, b'0');
    }
    encoder
        .char(tags::EXEC_TYPE, b'8')
        .char(tags::ORD_STATUS, status::REJECTED)
        .uint(tags::ORD_REJ_REASON, u64::from(refusal.reason));
    for tag in [tags::SYMBOL, tags::SIDE, tags::ORDER_QTY, tags::ORD_TYPE] {
        if let Some(value) = message.get(tag) {
            encoder.str(tag, value);
        }
    }
    encoder
        .uint(tags::LEAVES_QTY, 0)
        .uint(tags::CUM_QTY, 0)
        .micros(tags::AVG_PX, 0)
        .timestamp(tags::TRANSACT_TIME, context.now_ns)
        .str(tags::TEXT, refusal.text.as_bytes());
}
