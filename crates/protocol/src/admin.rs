//! The operator admin protocol over TCP (`[admin] listen`), in the frame of
//! [`crate::frame`]. Byte tables: `docs/PROTOCOL.md` ("Operator admin").
//!
//! A session opens with [`Inbound::OperatorLogon`] (sequence 1); every later frame
//! carries the next sequence number. A control command is sequenced and journaled by
//! the engine before it takes effect, and answered with [`Outbound::ControlAccepted`]
//! (carrying the journal sequence number) or [`Outbound::ControlRefused`] once its
//! record is on disk. The type codes do not overlap the client protocol's, so a client
//! logon sent to the admin port is recognised and refused by name.

use crossline_types::{ClientId, SymbolId};

use crate::frame::{messages, Secret};

messages! {
    /// A message from an operator.
    pub enum Inbound {
        /// Opens the session.
        OperatorLogon = 16, 40 bytes {
            /// The operator's id (`[[operators]] id`).
            operator: u32 = 0,
            /// The operator's secret, zero-padded.
            secret: Secret = 8,
        },
        /// Changes one risk limit or control (`docs/MESSAGES.md`, "Admin settings").
        Control = 17, 32 bytes {
            /// The client or symbol the setting is for (0 for the firm).
            target: u32 = 0,
            /// The setting's code (1 to 15).
            setting: u8 = 4,
            /// The on/off value (kill switch, halt, restricted list, Rule 201; for a
            /// band, whether one is set).
            on: bool = 5,
            /// The value: a price or notional in micro-dollars, a quantity, a rate, ppm,
            /// shares; a band's lower bound.
            value: i64 = 8,
            /// A band's upper bound, micro-dollars; otherwise 0.
            upper: i64 = 16,
            /// When the change reverts by itself, ns since the epoch (0: it stands).
            expires_at: u64 = 24,
        },
        /// Shares the stock-loan desk located for a client's short sales.
        Locate = 18, 32 bytes {
            /// The client.
            client: ClientId = 0,
            /// The symbol.
            symbol: SymbolId = 4,
            /// Shares located (1 or more).
            shares: u64 = 8,
            /// The desk's id for the locate.
            locate_id: u64 = 16,
            /// When the locate lapses, seconds since the epoch (0: at the end of the
            /// day); a locate that has lapsed when the engine takes it is refused (207).
            expires_s: u32 = 24,
        },
        /// Ends the trading day.
        EndOfDay = 19, 0 bytes {},
        /// Ends the session.
        Logout = 20, 0 bytes {},
        /// Asks for the state of a client, a symbol or the engine (any role; nothing is
        /// sequenced). Answered by [`Outbound::ClientStatus`], [`Outbound::SymbolStatus`]
        /// or [`Outbound::EngineStatus`], or refused.
        Status = 21, 8 bytes {
            /// What: [`STATUS_CLIENT`], [`STATUS_SYMBOL`] or [`STATUS_ENGINE`].
            scope: u8 = 0,
            /// The client or symbol id (0 for the engine).
            id: u32 = 4,
        },
    }
}

/// `Status` scope: one client.
pub const STATUS_CLIENT: u8 = 1;
/// `Status` scope: one symbol.
pub const STATUS_SYMBOL: u8 = 2;
/// `Status` scope: the engine.
pub const STATUS_ENGINE: u8 = 3;

/// `SymbolStatus` flag: an operator halted the symbol.
pub const SYMBOL_HALTED_BY_OPERATOR: u8 = 1;
/// `SymbolStatus` flag: the market halted it (the feed).
pub const SYMBOL_HALTED_BY_MARKET: u8 = 2;
/// `SymbolStatus` flag: Rule 201's short-sale price test is in force.
pub const SYMBOL_RULE_201: u8 = 4;
/// `SymbolStatus` flag: its kill switch is on.
pub const SYMBOL_KILLED: u8 = 8;
/// `SymbolStatus` flag: it is on the restricted list.
pub const SYMBOL_RESTRICTED: u8 = 16;

messages! {
    /// A message to an operator.
    pub enum Outbound {
        /// The logon succeeded.
        OperatorLogonAccepted = 80, 8 bytes {
            /// The operator.
            operator: u32 = 0,
            /// The operator's role: 1 view, 2 control.
            role: u8 = 4,
        },
        /// The logon failed; the connection closes.
        OperatorLogonRejected = 81, 8 bytes {
            /// Why (an [`AdminLogonRejectReason`] code).
            reason: u8 = 0,
        },
        /// A control command was journaled and applied.
        ControlAccepted = 82, 16 bytes {
            /// The request's frame sequence number.
            request: u32 = 0,
            /// The command's journal sequence number.
            sequence: u64 = 8,
        },
        /// A frame was refused: by the session (reasons 1 to 11, not sequenced) or by the
        /// risk gate (201 and up, sequenced and journaled).
        ControlRefused = 83, 16 bytes {
            /// The refused frame's sequence number.
            request: u32 = 0,
            /// Why (an [`AdminRefusal`] code, or a control error's code).
            reason: u16 = 4,
            /// The command's journal sequence number (0: not sequenced).
            sequence: u64 = 8,
        },
        /// A client's state, answering a `Status` request.
        ClientStatus = 84, 48 bytes {
            /// The request's frame sequence number.
            request: u32 = 0,
            /// The client.
            client: ClientId = 4,
            /// Its open orders.
            open_orders: u32 = 8,
            /// Its kill switch is on.
            killed: bool = 12,
            /// Credit used: open-order notional plus notional executed today,
            /// micro-dollars.
            credit_used: i64 = 16,
            /// Its credit limit, micro-dollars.
            credit_limit: i64 = 24,
            /// Its message rate limit, per second.
            messages_per_second: u32 = 32,
            /// Its burst: the most messages its rate bucket holds.
            message_burst: u32 = 36,
            /// Whole messages the bucket held after its last message.
            tokens: u32 = 40,
            /// Its price-improvement multiplier, ppm (1,000,000 unless an operator set
            /// one: admin setting 15).
            improvement_ppm: u32 = 44,
        },
        /// A symbol's state, answering a `Status` request.
        SymbolStatus = 85, 56 bytes {
            /// The request's frame sequence number.
            request: u32 = 0,
            /// The symbol.
            symbol: SymbolId = 4,
            /// [`SYMBOL_HALTED_BY_OPERATOR`], [`SYMBOL_HALTED_BY_MARKET`],
            /// [`SYMBOL_RULE_201`], [`SYMBOL_KILLED`], [`SYMBOL_RESTRICTED`].
            flags: u8 = 8,
            /// The firm's position, shares (negative: short).
            position: i64 = 16,
            /// Realized profit and loss today, micro-dollars.
            realized_pnl: i64 = 24,
            /// The open position at the NBBO midpoint less its cost, micro-dollars.
            unrealized_pnl: i64 = 32,
            /// The limit-up/limit-down band's lower bound, micro-dollars (both bounds 0:
            /// no band).
            band_lower: i64 = 40,
            /// The band's upper bound, micro-dollars.
            band_upper: i64 = 48,
        },
        /// The engine's state, answering a `Status` request.
        EngineStatus = 86, 56 bytes {
            /// The request's frame sequence number.
            request: u32 = 0,
            /// Open orders, every client.
            open_orders: u32 = 4,
            /// The journal's position: the sequence number of the last command
            /// sequenced.
            last_sequence: u64 = 8,
            /// The firm kill switch is on.
            firm_killed: bool = 16,
            /// Slots in use in each ring (`ring.<name>.depth` in the counters, sampled
            /// by its consumer): commands.
            commands_depth: u32 = 20,
            /// market_data.
            market_data_depth: u32 = 24,
            /// venue_reports.
            venue_reports_depth: u32 = 28,
            /// sequenced.
            sequenced_depth: u32 = 32,
            /// events_back.
            events_back_depth: u32 = 36,
            /// events_out.
            events_out_depth: u32 = 40,
            /// replies.
            replies_depth: u32 = 44,
            /// venue_tops.
            venue_tops_depth: u32 = 48,
        },
    }
}

/// Why an operator's logon failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AdminLogonRejectReason {
    /// No such operator is configured.
    UnknownOperator = 1,
    /// The secret does not match.
    BadSecret = 2,
    /// The operator already has a session open.
    AlreadyConnected = 3,
    /// The logon's sequence number is not 1.
    BadSequence = 4,
    /// A client's logon (client protocol type 1) sent to the admin port.
    ClientLogon = 5,
    /// The first frame was not a logon, or did not decode.
    NotALogon = 6,
    /// No logon arrived within `[admin] logon_timeout_ms`.
    Timeout = 7,
}

/// Why an operator's frame was refused by the session (the gate's refusals carry their
/// control error code, 201 and up, instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum AdminRefusal {
    /// A second logon on a session.
    AlreadyLoggedOn = 2,
    /// The sequence number is not one above the last (the frame is not acted on).
    SequenceGap = 3,
    /// No such message type from an operator.
    UnknownType = 4,
    /// The length does not match the type.
    WrongLength = 5,
    /// A field holds an invalid value (an undefined setting code, a value out of the
    /// setting's range, zero shares, a padding byte not zero).
    BadField = 6,
    /// Reserved flag bits are set.
    ReservedFlags = 7,
    /// The frame's length field is impossible; the connection closes.
    Framing = 8,
    /// The engine is stopping and takes no command.
    Stopping = 9,
    /// Too many commands waiting for their acknowledgement on this session.
    TooManyInFlight = 10,
    /// A `view` operator sent a control command.
    ViewOnly = 11,
    /// A status query cannot be answered now (the engine is stopping, or too many wait).
    StatusUnavailable = 12,
}

impl AdminRefusal {
    /// The refusal for a decode error.
    #[must_use]
    pub const fn of(error: &crate::frame::DecodeError) -> AdminRefusal {
        use crate::frame::DecodeError;
        match error {
            DecodeError::UnknownType { .. } => AdminRefusal::UnknownType,
            DecodeError::WrongLength { .. } => AdminRefusal::WrongLength,
            DecodeError::BadField { .. } => AdminRefusal::BadField,
            DecodeError::ReservedFlags { .. } => AdminRefusal::ReservedFlags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{split, FRAME_BYTES_MAX};

    #[test]
    fn every_inbound_message_round_trips() {
        let messages = [
            Inbound::OperatorLogon {
                operator: 7,
                secret: Secret::from_text("s3cret").expect("short"),
            },
            Inbound::Control {
                target: 3,
                setting: 8,
                on: true,
                value: 9_000_000,
                upper: 11_000_000,
                expires_at: u64::MAX,
            },
            Inbound::Locate {
                client: ClientId::new(2),
                symbol: SymbolId::new(5),
                shares: 1_000,
                locate_id: 42,
                expires_s: 1,
            },
            Inbound::EndOfDay {},
            Inbound::Logout {},
            Inbound::Status {
                scope: STATUS_SYMBOL,
                id: 9,
            },
        ];
        for message in messages {
            let mut frame = [0u8; FRAME_BYTES_MAX];
            let length = message.encode(9, 0, &mut frame);
            let (header, body) = split(&frame[..length]).unwrap().expect("whole");
            assert_eq!(Inbound::decode(&header, body), Ok(message));
        }
    }

    #[test]
    fn the_protocol_doc_tables_give_every_admin_type_its_code_and_length() {
        let doc = include_str!("../../../docs/PROTOCOL.md");
        let section = &doc[doc.find("## Operator admin").expect("the admin section")..];
        let mut seen = 0;
        for line in section.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (Some(kind), Some(length)) = (
                cells.get(1).and_then(|c| c.parse::<u8>().ok()),
                cells.get(3).and_then(|c| c.parse::<usize>().ok()),
            ) else {
                continue;
            };
            let body = Inbound::body_bytes(kind).or(Outbound::body_bytes(kind));
            assert_eq!(body.map(|b| b + 8), Some(length), "type {kind}: {line}");
            seen += 1;
        }
        assert_eq!(seen, 13, "one row per admin message type");
    }

    #[test]
    fn a_client_logon_is_no_admin_message() {
        // The client protocol's Logon is type 1: the admin port refuses it by name.
        assert_eq!(Inbound::body_bytes(1), None);
        assert_eq!(crate::client::Inbound::body_bytes(1), Some(40));
        for kind in 16..=21 {
            assert_eq!(crate::client::Inbound::body_bytes(kind), None, "{kind}");
        }
    }
}
