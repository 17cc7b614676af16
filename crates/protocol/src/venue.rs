//! The venue protocol over TCP, between the router and each venue (the simulator plays
//! them on loopback). Byte tables: `docs/PROTOCOL.md`. A venue cancels every open child
//! order of a session that disconnects (cancel on disconnect), so the router may treat
//! the orders on a lost venue as cancelled.

use crossline_types::{Price, Quantity, Side, SymbolId, TimeInForce};

use crate::frame::messages;

messages! {
    /// A message from the router to a venue.
    pub enum ToVenue {
        /// Opens the session.
        Logon = 1, 8 bytes {
            /// The firm's participant id at the venue.
            firm: u32 = 0,
        },
        /// Keeps an idle session alive.
        Heartbeat = 2, 0 bytes {},
        /// A child order.
        NewChild = 3, 32 bytes {
            /// The router's id for it (unique per router run).
            child_id: u64 = 0,
            /// The symbol.
            symbol: SymbolId = 8,
            /// Shares.
            quantity: Quantity = 12,
            /// Limit price in micro-dollars; 0 for a market order.
            price: Price = 16,
            /// Side (short sales stay marked short).
            side: Side = 24,
            /// Immediate-or-cancel or day.
            time_in_force: TimeInForce = 25,
        },
        /// Cancel what is left of a child order.
        CancelChild = 4, 8 bytes {
            /// The child.
            child_id: u64 = 0,
        },
    }
}

messages! {
    /// A message from a venue to the router.
    pub enum FromVenue {
        /// The logon succeeded.
        LogonAccepted = 64, 8 bytes {
            /// The venue's id.
            venue: u32 = 0,
        },
        /// The venue's heartbeat.
        Heartbeat = 66, 0 bytes {},
        /// A child order is working at the venue.
        ChildAccepted = 67, 8 bytes {
            /// The child.
            child_id: u64 = 0,
        },
        /// A child order was refused.
        ChildRejected = 68, 16 bytes {
            /// The child.
            child_id: u64 = 0,
            /// Why (venue-specific code).
            reason: u8 = 8,
        },
        /// An execution of a child order.
        ChildFilled = 69, 32 bytes {
            /// The child.
            child_id: u64 = 0,
            /// Execution price in micro-dollars.
            price: Price = 8,
            /// The venue's fee for it in micro-dollars (negative: a rebate).
            fee: i64 = 16,
            /// Shares executed.
            quantity: Quantity = 24,
            /// Shares still working at the venue.
            leaves: Quantity = 28,
        },
        /// What was left of a child order was cancelled; it is done.
        ChildCancelled = 70, 16 bytes {
            /// The child.
            child_id: u64 = 0,
            /// Shares cancelled.
            quantity: Quantity = 8,
            /// Why (1: requested, 2: immediate-or-cancel remainder, 3: no liquidity).
            reason: u8 = 12,
        },
    }
}
