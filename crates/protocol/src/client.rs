//! The client order-entry protocol over TCP. Byte tables: `docs/PROTOCOL.md`.
//!
//! A session opens with [`Inbound::Logon`]; every client message carries a sequence
//! number one above the last (the logon is 1). Replies about orders ([`Outbound`]
//! `Accepted` to `CancelRejected`) carry the client's reply sequence number, which runs
//! across reconnects for the whole day, so after a reconnect [`Inbound::ResendRequest`]
//! asks for them again; session messages (logon replies, heartbeats, session rejects)
//! carry sequence 0.

use crossline_types::{
    Capacity, ClientId, ClientOrderId, LiquiditySource, OrderId, OrderType, Price, Quantity, Side,
    SymbolId, TimeInForce,
};

use crate::frame::{messages, Secret};

messages! {
    /// A message from a client.
    pub enum Inbound {
        /// Opens the session.
        Logon = 1, 40 bytes {
            /// The client's id.
            client: ClientId = 0,
            /// The heartbeat interval the client will keep, in milliseconds (1 to 60000).
            heartbeat_ms: u32 = 4,
            /// The client's secret, zero-padded.
            secret: Secret = 8,
        },
        /// Keeps an idle session alive.
        Heartbeat = 2, 0 bytes {},
        /// A new order.
        NewOrder = 3, 32 bytes {
            /// The client's id for the order (unique for the day).
            client_order_id: ClientOrderId = 0,
            /// What to trade.
            symbol: SymbolId = 8,
            /// Shares.
            quantity: Quantity = 12,
            /// Limit price in micro-dollars (ignored for market orders).
            price: Price = 16,
            /// Side.
            side: Side = 24,
            /// Market or limit.
            order_type: OrderType = 25,
            /// Time in force.
            time_in_force: TimeInForce = 26,
            /// The capacity the client asks for.
            capacity: Capacity = 27,
        },
        /// Cancel an order.
        Cancel = 4, 24 bytes {
            /// The client's id for this request.
            client_order_id: ClientOrderId = 0,
            /// The client's id of the order to cancel.
            original_client_order_id: ClientOrderId = 8,
            /// The order's symbol.
            symbol: SymbolId = 16,
        },
        /// Replace an order's price and quantity (the symbol and side stay).
        Replace = 5, 32 bytes {
            /// The client's new id for the order.
            client_order_id: ClientOrderId = 0,
            /// The client's current id of the order.
            original_client_order_id: ClientOrderId = 8,
            /// The new limit price in micro-dollars.
            price: Price = 16,
            /// The new total quantity (executed shares included).
            quantity: Quantity = 24,
        },
        /// Send the order replies again from this reply sequence number on.
        ResendRequest = 6, 8 bytes {
            /// The first reply sequence number wanted (1 or more).
            from_sequence: u32 = 0,
        },
        /// Ends the session.
        Logout = 7, 0 bytes {},
    }
}

messages! {
    /// A message to a client.
    pub enum Outbound {
        /// The logon succeeded.
        LogonAccepted = 64, 16 bytes {
            /// The client.
            client: ClientId = 0,
            /// The heartbeat interval agreed, in milliseconds.
            heartbeat_ms: u32 = 4,
            /// The last reply sequence number sent to this client today (0: none).
            last_reply_sequence: u32 = 8,
        },
        /// The logon failed; the connection closes.
        LogonRejected = 65, 8 bytes {
            /// Why (a [`LogonRejectReason`] code).
            reason: u8 = 0,
        },
        /// The engine's heartbeat.
        Heartbeat = 66, 0 bytes {},
        /// An order was accepted.
        Accepted = 67, 24 bytes {
            /// The client's id for it.
            client_order_id: ClientOrderId = 0,
            /// The engine's id for it.
            order_id: OrderId = 8,
            /// Its symbol.
            symbol: SymbolId = 16,
        },
        /// An order was rejected.
        Rejected = 68, 16 bytes {
            /// The client's id for it.
            client_order_id: ClientOrderId = 0,
            /// Why: 1 to 99 from the matcher, 101 and up from the risk gate.
            reason: u16 = 8,
        },
        /// An execution.
        Filled = 69, 48 bytes {
            /// The client's id for the order.
            client_order_id: ClientOrderId = 0,
            /// The engine's id for the order.
            order_id: OrderId = 8,
            /// Execution price in micro-dollars (may be sub-penny).
            price: Price = 16,
            /// Price improvement per share over the NBBO at execution, micro-dollars.
            price_improvement: Price = 24,
            /// Shares executed.
            quantity: Quantity = 32,
            /// Shares still working.
            leaves: Quantity = 36,
            /// Internal cross, principal or venue.
            liquidity: LiquiditySource = 40,
            /// The capacity the firm acted in.
            capacity: Capacity = 41,
        },
        /// Open quantity was cancelled.
        Cancelled = 70, 24 bytes {
            /// The client's id for the order.
            client_order_id: ClientOrderId = 0,
            /// The engine's id for the order.
            order_id: OrderId = 8,
            /// Shares cancelled.
            quantity: Quantity = 16,
            /// Why (a cancel reason code).
            reason: u8 = 20,
        },
        /// An order was replaced.
        Replaced = 71, 40 bytes {
            /// The client's new id for the order.
            client_order_id: ClientOrderId = 0,
            /// The client's previous id.
            original_client_order_id: ClientOrderId = 8,
            /// The engine's id (unchanged).
            order_id: OrderId = 16,
            /// The limit price now.
            price: Price = 24,
            /// The total quantity now.
            quantity: Quantity = 32,
            /// Whether the order kept its time priority.
            priority_kept: bool = 36,
        },
        /// A cancel or replace was refused.
        CancelRejected = 72, 24 bytes {
            /// The client's id for the request.
            client_order_id: ClientOrderId = 0,
            /// The client's id of the order it named.
            original_client_order_id: ClientOrderId = 8,
            /// Why (a cancel-reject reason code).
            reason: u8 = 16,
        },
        /// A frame was refused at the session level.
        SessionReject = 73, 16 bytes {
            /// The refused frame's sequence number (as sent).
            ref_sequence: u32 = 0,
            /// The number the reason points to: for `SequenceGap` the sequence number
            /// expected next; for `ResendUnavailable` the oldest reply number kept (0 when no
            /// reply was sent yet); else 0.
            related_sequence: u32 = 4,
            /// The refused frame's type byte.
            ref_kind: u8 = 8,
            /// Why (a [`SessionRejectReason`] code).
            reason: u8 = 9,
        },
    }
}

/// Why a logon failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LogonRejectReason {
    /// No such client is configured.
    UnknownClient = 1,
    /// The secret does not match.
    BadSecret = 2,
    /// The client already has a session open.
    AlreadyConnected = 3,
    /// The heartbeat interval is outside 1 to 60000 ms.
    BadHeartbeat = 4,
    /// The logon's sequence number is not 1.
    BadSequence = 5,
}

/// Why a frame was refused at the session level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SessionRejectReason {
    /// A message other than a logon before the logon.
    NotLoggedOn = 1,
    /// A second logon on a session.
    AlreadyLoggedOn = 2,
    /// The sequence number is not one above the last (the frame is not acted on).
    SequenceGap = 3,
    /// No such message type from a client.
    UnknownType = 4,
    /// The length does not match the type.
    WrongLength = 5,
    /// A field holds an invalid value.
    BadField = 6,
    /// Reserved flag bits are set.
    ReservedFlags = 7,
    /// The frame's length field is impossible; the connection closes.
    Framing = 8,
    /// The replies asked for are older than the engine keeps (or not sent yet).
    ResendUnavailable = 9,
    /// Too many refused frames; the connection closes.
    TooManyErrors = 10,
}

impl SessionRejectReason {
    /// The reason for a decode error.
    #[must_use]
    pub const fn of(error: &crate::frame::DecodeError) -> SessionRejectReason {
        use crate::frame::DecodeError;
        match error {
            DecodeError::UnknownType { .. } => SessionRejectReason::UnknownType,
            DecodeError::WrongLength { .. } => SessionRejectReason::WrongLength,
            DecodeError::ReservedFlags { .. } => SessionRejectReason::ReservedFlags,
            DecodeError::BadField { .. } => SessionRejectReason::BadField,
        }
    }
}
