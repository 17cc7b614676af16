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
            /// The setting's code (1 to 14).
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
    }
}

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
        assert_eq!(seen, 9, "one row per admin message type");
    }

    #[test]
    fn a_client_logon_is_no_admin_message() {
        // The client protocol's Logon is type 1: the admin port refuses it by name.
        assert_eq!(Inbound::body_bytes(1), None);
        assert_eq!(crate::client::Inbound::body_bytes(1), Some(40));
        for kind in 16..=20 {
            assert_eq!(crate::client::Inbound::body_bytes(kind), None, "{kind}");
        }
    }
}
