//! FIX 4.4 venues: the router's venue messages written as FIX (the router is the
//! initiator) and the venue's FIX messages read back as the same venue messages, so
//! every rule of the router (timeouts, fill checks, re-routing, loss handling) is the
//! one code for both protocols. docs/FIX.md, "FIX to venues".

use crossline_fix::{tags, Encoder, Message};
use crossline_protocol::venue::{FromVenue, ToVenue};
use crossline_types::{OrderType, Price, Quantity, Side, SymbolId, TimeInForce};

use crate::config::FixVenue;

/// The buffer one message to a venue is written in.
pub(crate) const MESSAGE_BYTES: usize = 1024;

/// What a message needs beyond the venue message itself.
pub(crate) struct Context<'a> {
    heartbeat_s: u64,
    ticker: Option<&'a [u8]>,
    side: Option<Side>,
    test_request: Option<&'a [u8]>,
}

impl<'a> Context<'a> {
    /// Nothing more (a heartbeat).
    pub(crate) const NONE: Context<'static> = Context {
        heartbeat_s: 1,
        ticker: None,
        side: None,
        test_request: None,
    };

    /// A logon's HeartBtInt.
    pub(crate) fn logon(heartbeat_s: u64) -> Context<'static> {
        Context {
            heartbeat_s,
            ..Context::NONE
        }
    }

    /// A child order's ticker and side.
    pub(crate) fn child(
        tickers: &'a [(SymbolId, String)],
        symbol: SymbolId,
        side: Side,
    ) -> Context<'a> {
        Context {
            ticker: tickers
                .iter()
                .find(|(id, _)| *id == symbol)
                .map(|(_, name)| name.as_bytes()),
            side: Some(side),
            ..Context::NONE
        }
    }

    /// A heartbeat answering a TestRequest.
    pub(crate) fn test_request(id: &'a [u8]) -> Context<'a> {
        Context {
            test_request: Some(id),
            ..Context::NONE
        }
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

/// `message` as FIX 4.4, numbered `sequence`, into `buffer`; `None` when it does not
/// fit (it always does: the buffer holds any of these messages).
pub(crate) fn encode<'b>(
    session: &FixVenue,
    sequence: u32,
    message: &ToVenue,
    context: &Context<'_>,
    now_ns: u64,
    buffer: &'b mut [u8],
) -> Option<&'b [u8]> {
    let msg_type: &[u8] = match message {
        ToVenue::Logon { .. } => b"A",
        ToVenue::Heartbeat {} => b"0",
        ToVenue::NewChild { .. } => b"D",
        ToVenue::CancelChild { .. } => b"F",
    };
    let mut encoder = Encoder::new(buffer, b"FIX.4.4", msg_type);
    encoder
        .str(tags::SENDER_COMP_ID, session.sender_comp_id.as_bytes())
        .str(tags::TARGET_COMP_ID, session.target_comp_id.as_bytes())
        .uint(tags::MSG_SEQ_NUM, u64::from(sequence))
        .timestamp(tags::SENDING_TIME, now_ns);
    let ticker = |encoder: &mut Encoder<'_>, symbol: Option<SymbolId>| {
        match (context.ticker, symbol) {
            (Some(ticker), _) => encoder.str(tags::SYMBOL, ticker),
            (None, Some(symbol)) => encoder.uint(tags::SYMBOL, u64::from(symbol.get())),
            (None, None) => encoder,
        };
    };
    match *message {
        ToVenue::Logon { .. } => {
            encoder
                .uint(tags::ENCRYPT_METHOD, 0)
                .uint(tags::HEART_BT_INT, context.heartbeat_s)
                .flag(tags::RESET_SEQ_NUM_FLAG, true);
            if let Some(password) = &session.password {
                encoder.str(tags::PASSWORD, password.as_bytes());
            }
        }
        ToVenue::Heartbeat {} => {
            if let Some(id) = context.test_request {
                encoder.str(tags::TEST_REQ_ID, id);
            }
        }
        ToVenue::NewChild {
            child_id,
            symbol,
            quantity,
            price,
            side,
            time_in_force,
        } => {
            encoder
                .uint(tags::CL_ORD_ID, child_id)
                .char(tags::HANDL_INST, b'1');
            ticker(&mut encoder, Some(symbol));
            let order_type = if price > Price::ZERO {
                OrderType::Limit
            } else {
                OrderType::Market
            };
            encoder
                .char(tags::SIDE, side_code(side))
                .uint(tags::ORDER_QTY, u64::from(quantity.shares()))
                .char(
                    tags::ORD_TYPE,
                    if order_type == OrderType::Limit {
                        b'2'
                    } else {
                        b'1'
                    },
                );
            if order_type == OrderType::Limit {
                encoder.micros(tags::PRICE, price.micros());
            }
            encoder
                .char(
                    tags::TIME_IN_FORCE,
                    match time_in_force {
                        TimeInForce::Day => b'0',
                        TimeInForce::GoodTillCancel => b'1',
                        TimeInForce::ImmediateOrCancel => b'3',
                        TimeInForce::FillOrKill => b'4',
                    },
                )
                .char(tags::ORDER_CAPACITY, b'A')
                .timestamp(tags::TRANSACT_TIME, now_ns);
        }
        ToVenue::CancelChild { child_id } => {
            let mut id = [0u8; 21];
            id[0] = b'C';
            let digits = write_decimal(child_id, &mut id[1..]);
            encoder
                .str(tags::CL_ORD_ID, &id[..=digits])
                .uint(tags::ORIG_CL_ORD_ID, child_id);
            ticker(&mut encoder, None);
            if let Some(side) = context.side {
                encoder.char(tags::SIDE, side_code(side));
            }
            encoder.timestamp(tags::TRANSACT_TIME, now_ns);
        }
    }
    encoder.finish().ok()
}

/// Writes `value`'s digits at the start of `out`; returns how many.
fn write_decimal(value: u64, out: &mut [u8]) -> usize {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let length = digits.len() - at;
    out[..length].copy_from_slice(&digits[at..]);
    length
}

/// What one FIX message from a venue means to the router.
pub(crate) enum Decoded {
    /// A venue message.
    Message(FromVenue),
    /// A TestRequest: answer with a Heartbeat carrying this TestReqID.
    TestRequest(Vec<u8>),
    /// Nothing to do (a gap fill, an OrderCancelReject, a message type not used).
    Nothing,
}

/// Reads one whole FIX message from venue `venue_id`, checking its MsgSeqNum against
/// `heard` (the last one taken, moved on). `fee_per_share` is the venue's configured
/// fee, charged when an execution report carries no Commission (12).
///
/// # Errors
/// What is wrong, for the log: the venue is then disconnected.
pub(crate) fn decode(
    bytes: &[u8],
    heard: &mut u32,
    venue_id: u32,
    fee_per_share: Price,
) -> Result<Decoded, String> {
    let message = Message::parse(bytes).map_err(|e| format!("FIX: {e}"))?;
    let number = |tag| -> Result<u64, String> {
        message.uint(tag).ok().flatten().ok_or_else(|| {
            format!(
                "FIX: a {} without a number in tag {tag}",
                show(message.msg_type())
            )
        })
    };
    let sequence =
        u32::try_from(number(tags::MSG_SEQ_NUM)?).map_err(|_| "FIX: MsgSeqNum too large")?;
    let msg_type = message.msg_type();
    let gap_fill = message.flag(tags::GAP_FILL_FLAG);
    if msg_type == b"4" && !gap_fill {
        // SequenceReset-Reset: whatever its own number.
        let next =
            u32::try_from(number(tags::NEW_SEQ_NO)?).map_err(|_| "FIX: NewSeqNo too large")?;
        *heard = next.saturating_sub(1);
        return Ok(Decoded::Nothing);
    }
    let expected = heard.wrapping_add(1);
    if sequence > expected {
        return Err(format!(
            "FIX: MsgSeqNum {sequence}, expected {expected} (messages were lost)"
        ));
    }
    if sequence < expected {
        if message.flag(tags::POSS_DUP_FLAG) {
            return Ok(Decoded::Nothing);
        }
        return Err(format!(
            "FIX: MsgSeqNum {sequence}, expected {expected} (too low)"
        ));
    }
    *heard = sequence;
    let text = || show(message.get(tags::TEXT).unwrap_or_default());
    let decoded = match msg_type {
        b"A" => Decoded::Message(FromVenue::LogonAccepted { venue: venue_id }),
        b"0" => Decoded::Message(FromVenue::Heartbeat {}),
        b"1" => Decoded::TestRequest(message.get(tags::TEST_REQ_ID).unwrap_or_default().to_vec()),
        b"4" => {
            let next =
                u32::try_from(number(tags::NEW_SEQ_NO)?).map_err(|_| "FIX: NewSeqNo too large")?;
            *heard = next.saturating_sub(1).max(*heard);
            Decoded::Nothing
        }
        b"5" => return Err(format!("FIX: the venue logged out: {}", text())),
        b"3" => return Err(format!("FIX: the venue rejected a message: {}", text())),
        b"j" => {
            return Err(format!(
                "FIX: the venue rejected a message (BusinessMessageReject): {}",
                text()
            ))
        }
        b"8" => execution_report(&message, fee_per_share)?,
        _ => Decoded::Nothing,
    };
    Ok(decoded)
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn execution_report(message: &Message<'_>, fee_per_share: Price) -> Result<Decoded, String> {
    let id = message
        .get(tags::ORIG_CL_ORD_ID)
        .or_else(|| message.get(tags::CL_ORD_ID))
        .and_then(crossline_fix::parse_uint)
        .ok_or("FIX: an execution report without the child's ClOrdID")?;
    let shares = |tag| -> Result<u32, String> {
        message
            .uint(tag)
            .ok()
            .flatten()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                format!("FIX: an execution report of child {id} without a valid tag {tag}")
            })
    };
    let decoded = match message.get(tags::EXEC_TYPE) {
        Some(b"0") => FromVenue::ChildAccepted { child_id: id },
        Some(b"8") => FromVenue::ChildRejected {
            child_id: id,
            reason: message
                .uint(tags::ORD_REJ_REASON)
                .ok()
                .flatten()
                .and_then(|r| u8::try_from(r).ok())
                .unwrap_or(u8::MAX),
        },
        Some(b"F" | b"1" | b"2") => {
            let quantity = shares(tags::LAST_SHARES)?;
            let price = message
                .micros(tags::LAST_PX)
                .ok()
                .flatten()
                .ok_or_else(|| format!("FIX: a fill of child {id} without LastPx (31)"))?;
            let commission = message.micros(tags::COMMISSION).ok().flatten();
            let fee = match (commission, message.get(tags::COMM_TYPE)) {
                (Some(total), Some(b"3")) => total,
                (Some(per_share), Some(b"1")) => per_share.saturating_mul(i64::from(quantity)),
                _ => fee_per_share.micros().saturating_mul(i64::from(quantity)),
            };
            FromVenue::ChildFilled {
                child_id: id,
                price: Price::from_micros(price),
                fee,
                quantity: Quantity::new(quantity),
                leaves: Quantity::new(shares(tags::LEAVES_QTY)?),
            }
        }
        Some(b"4" | b"C") => {
            let ordered = shares(tags::ORDER_QTY)?;
            let executed = shares(tags::CUM_QTY)?;
            FromVenue::ChildCancelled {
                child_id: id,
                quantity: Quantity::new(ordered.saturating_sub(executed)),
                // Answering the router's cancel (it names the child in OrigClOrdID), or
                // the immediate-or-cancel remainder.
                reason: if message.get(tags::ORIG_CL_ORD_ID).is_some() {
                    1
                } else {
                    2
                },
            }
        }
        _ => return Ok(Decoded::Nothing),
    };
    Ok(Decoded::Message(decoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> FixVenue {
        FixVenue {
            sender_comp_id: "CROSSLINE".into(),
            target_comp_id: "XFIX".into(),
            password: Some("pw".into()),
        }
    }

    fn venue_message(sequence: u32, msg_type: &[u8], fields: &[(u32, &[u8])]) -> Vec<u8> {
        let mut buffer = [0u8; 1024];
        let mut encoder = Encoder::new(&mut buffer, b"FIX.4.4", msg_type);
        encoder
            .str(tags::SENDER_COMP_ID, b"XFIX")
            .str(tags::TARGET_COMP_ID, b"CROSSLINE")
            .uint(tags::MSG_SEQ_NUM, u64::from(sequence))
            .str(tags::SENDING_TIME, b"20261205-14:30:00.000");
        for (tag, value) in fields {
            encoder.str(*tag, value);
        }
        encoder.finish().unwrap().to_vec()
    }

    #[test]
    fn a_child_goes_out_as_a_new_order_single_and_its_cancel_names_it() {
        let tickers = vec![(SymbolId::new(1), "AAPL".to_owned())];
        let child = ToVenue::NewChild {
            child_id: (7 << 32) | 3,
            symbol: SymbolId::new(1),
            quantity: Quantity::new(300),
            price: Price::from_micros(190_010_000),
            side: Side::SellShort,
            time_in_force: TimeInForce::ImmediateOrCancel,
        };
        let context = Context::child(&tickers, SymbolId::new(1), Side::SellShort);
        let mut buffer = [0u8; MESSAGE_BYTES];
        let bytes = encode(&session(), 2, &child, &context, 0, &mut buffer).unwrap();
        let message = Message::parse(bytes).unwrap();
        assert_eq!(message.msg_type(), b"D");
        assert_eq!(message.uint(tags::CL_ORD_ID), Ok(Some((7 << 32) | 3)));
        assert_eq!(message.get(tags::SYMBOL), Some(&b"AAPL"[..]));
        assert_eq!(message.get(tags::SIDE), Some(&b"5"[..]));
        assert_eq!(message.get(tags::PRICE), Some(&b"190.01"[..]));
        assert_eq!(message.get(tags::TIME_IN_FORCE), Some(&b"3"[..]));
        let cancel = ToVenue::CancelChild { child_id: 42 };
        let bytes = encode(&session(), 3, &cancel, &context, 0, &mut buffer).unwrap();
        let message = Message::parse(bytes).unwrap();
        assert_eq!(message.get(tags::CL_ORD_ID), Some(&b"C42"[..]));
        assert_eq!(message.uint(tags::ORIG_CL_ORD_ID), Ok(Some(42)));
        let logon = encode(
            &session(),
            1,
            &ToVenue::Logon { firm: 1 },
            &Context::logon(1),
            0,
            &mut buffer,
        )
        .unwrap();
        let message = Message::parse(logon).unwrap();
        assert!(message.flag(tags::RESET_SEQ_NUM_FLAG));
        assert_eq!(message.get(tags::PASSWORD), Some(&b"pw"[..]));
    }

    #[test]
    fn execution_reports_become_venue_messages_and_numbers_are_checked() {
        let fee = Price::from_micros(3_000);
        let mut heard = 0;
        let logon = venue_message(1, b"A", &[(tags::HEART_BT_INT, b"1")]);
        assert!(matches!(
            decode(&logon, &mut heard, 9, fee),
            Ok(Decoded::Message(FromVenue::LogonAccepted { venue: 9 }))
        ));
        let fill = venue_message(
            2,
            b"8",
            &[
                (tags::CL_ORD_ID, b"42"),
                (tags::EXEC_TYPE, b"F"),
                (tags::LAST_PX, b"190.01"),
                (tags::LAST_SHARES, b"100"),
                (tags::LEAVES_QTY, b"200"),
            ],
        );
        match decode(&fill, &mut heard, 9, fee) {
            Ok(Decoded::Message(FromVenue::ChildFilled {
                child_id,
                price,
                fee,
                quantity,
                leaves,
            })) => {
                assert_eq!((child_id, price.micros(), fee), (42, 190_010_000, 300_000));
                assert_eq!((quantity.shares(), leaves.shares()), (100, 200));
            }
            _ => panic!("a fill"),
        }
        let cancelled = venue_message(
            3,
            b"8",
            &[
                (tags::CL_ORD_ID, b"C42"),
                (tags::ORIG_CL_ORD_ID, b"42"),
                (tags::EXEC_TYPE, b"4"),
                (tags::ORDER_QTY, b"300"),
                (tags::CUM_QTY, b"100"),
            ],
        );
        assert!(matches!(
            decode(&cancelled, &mut heard, 9, fee),
            Ok(Decoded::Message(FromVenue::ChildCancelled { child_id: 42, quantity, reason: 1 })) if quantity.shares() == 200
        ));
        // A gap is a protocol error: the router drops the venue and its children.
        let late = venue_message(5, b"0", &[]);
        let error = decode(&late, &mut heard, 9, fee).err().unwrap();
        assert!(error.contains("expected 4"), "{error}");
    }
}
