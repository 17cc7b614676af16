//! The engine's message vocabulary as bytes: every command the sequencer takes, and
//! what it passes on to the matcher agent, in one fixed 56-byte layout per kind, the
//! same bytes in the rings and in the journal.
//!
//! A [`Message`] is 56 bytes, so with a ring's 8-byte publication stamp it fills exactly
//! one 64-byte cache line. Every kind starts with the same 17 bytes (sequence number,
//! time, kind code) and lays out its own fields after them; all integers are
//! little-endian, every byte is a named field or zero padding, and the layouts are
//! `#[repr(C)]` of byte-aligned fields, so no byte is left undefined. `zerocopy`'s
//! derives check that at compile time and give the byte views: a [`Message`] is read as
//! its kind's struct with [`Message::view`] (no copy, no `unsafe`) and built from one
//! with [`Message::from_view`].
//!
//! The structs hold raw codes (a side is its `u8` code, a price its micro-dollars), so
//! any 56 bytes are a valid view; what the codes mean is checked where the message is
//! turned into the engine's own types (`crossline_sequencer::Command::from_message`),
//! which answers bad bytes with an error naming the field and the value.
//!
//! `docs/MESSAGES.md` has a byte table for every kind; a test checks each against
//! [`Layout::FIELDS`].

use core::mem::{align_of, offset_of, size_of};

use zerocopy::little_endian::{I64, U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::CACHE_LINE_BYTES;

/// Size of a [`Message`] in bytes.
pub const MESSAGE_BYTES: usize = 56;

/// Where the kind code sits in every message.
pub const KIND_OFFSET: usize = 16;

/// One message of any kind: 56 bytes, 8-aligned.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct Message {
    bytes: [u8; MESSAGE_BYTES],
}

impl Message {
    /// The message's kind code (byte 16): one of the `KIND` constants of the layouts
    /// here, or anything else for bytes that are not a message.
    #[must_use]
    pub const fn kind(&self) -> u8 {
        self.bytes[KIND_OFFSET]
    }

    /// The sequence number (bytes 0..8): zero until the sequencer gives it one.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        u64::from_le_bytes(self.word(0))
    }

    /// The time (bytes 8..16): nanoseconds since the epoch, stamped on arrival.
    #[must_use]
    pub fn time(&self) -> u64 {
        u64::from_le_bytes(self.word(8))
    }

    /// Sets the sequence number.
    pub fn set_sequence(&mut self, sequence: u64) {
        self.bytes[0..8].copy_from_slice(&sequence.to_le_bytes());
    }

    /// Sets the time.
    pub fn set_time(&mut self, time: u64) {
        self.bytes[8..16].copy_from_slice(&time.to_le_bytes());
    }

    fn word(&self, at: usize) -> [u8; 8] {
        let mut word = [0; 8];
        word.copy_from_slice(&self.bytes[at..at + 8]);
        word
    }

    /// The message as its kind's layout, if it is of that kind.
    #[must_use]
    pub fn view<T: Layout>(&self) -> Option<&T> {
        if self.kind() != T::KIND {
            return None;
        }
        T::ref_from_bytes(&self.bytes).ok()
    }

    /// The message as its kind's layout to change in place, if it is of that kind.
    #[must_use]
    pub fn view_mut<T: Layout>(&mut self) -> Option<&mut T> {
        if self.kind() != T::KIND {
            return None;
        }
        T::mut_from_bytes(&mut self.bytes).ok()
    }

    /// A message holding `view`'s bytes, its kind code set to `T::KIND`.
    #[must_use]
    pub fn from_view<T: Layout>(view: &T) -> Message {
        let mut message = Message::new_zeroed();
        message.bytes.copy_from_slice(view.as_bytes());
        message.bytes[KIND_OFFSET] = T::KIND;
        message
    }

    /// The message's bytes.
    #[must_use]
    pub const fn bytes(&self) -> &[u8; MESSAGE_BYTES] {
        &self.bytes
    }

    /// A message from exactly [`MESSAGE_BYTES`] bytes (any bytes: what they mean is
    /// checked when the message is decoded).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; MESSAGE_BYTES]) -> Message {
        Message { bytes }
    }
}

impl core::fmt::Debug for Message {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Message")
            .field("sequence", &self.sequence())
            .field("time", &self.time())
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

/// A kind's fixed layout: 56 bytes, byte-aligned, any bytes valid.
pub trait Layout: FromBytes + IntoBytes + KnownLayout + Immutable + Unaligned {
    /// The kind code at byte 16.
    const KIND: u8;
    /// The kind's name, as `docs/MESSAGES.md` heads its table.
    const NAME: &'static str;
    /// Every field: name, offset, size in bytes (what `docs/MESSAGES.md` tables).
    const FIELDS: &'static [(&'static str, usize, usize)];
}

/// A layout with its common header set (`sequence`, `time`, the kind code) and every
/// other byte zero: the start of every encoder.
#[must_use]
pub fn head<T: Layout>(sequence: crate::SequenceNumber, time: crate::Timestamp) -> T {
    let mut view = T::new_zeroed();
    let bytes = view.as_mut_bytes();
    bytes[0..8].copy_from_slice(&sequence.get().to_le_bytes());
    bytes[8..16].copy_from_slice(&time.nanos().to_le_bytes());
    bytes[KIND_OFFSET] = T::KIND;
    view
}

macro_rules! layouts {
    ($(
        $(#[$meta:meta])*
        $name:ident = $kind:literal, $label:literal {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    )*) => {
        $(
            $(#[$meta])*
            #[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
            #[repr(C)]
            pub struct $name {
                /// The sequence number (zero until sequenced).
                pub sequence: U64,
                /// Arrival time, nanoseconds since the epoch.
                pub time: U64,
                /// The kind code.
                pub kind: u8,
                $( $(#[$field_meta])* pub $field: $ty, )*
            }

            impl Layout for $name {
                const KIND: u8 = $kind;
                const NAME: &'static str = $label;
                const FIELDS: &'static [(&'static str, usize, usize)] = &[
                    ("sequence", offset_of!($name, sequence), 8),
                    ("time", offset_of!($name, time), 8),
                    ("kind", offset_of!($name, kind), 1),
                    $( (stringify!($field), offset_of!($name, $field), size_of::<$ty>()), )*
                ];
            }

            const _: () = assert!(size_of::<$name>() == MESSAGE_BYTES);
            const _: () = assert!(offset_of!($name, kind) == KIND_OFFSET);
        )*

        /// Every kind's code, name and fields, in code order (for documentation checks
        /// and tools).
        pub const KINDS: &[(u8, &str, &[(&str, usize, usize)])] = &[
            $( ($kind, $label, <$name as Layout>::FIELDS), )*
        ];
    };
}

layouts! {
    /// A client's new order.
    NewOrderLayout = 1, "NewOrder" {
        /// Side code (1 buy, 2 sell, 3 sell short, 4 sell short exempt).
        side: u8,
        /// Order type code (1 market, 2 limit).
        order_type: u8,
        /// Time-in-force code (1 day, 2 IOC, 3 GTC, 4 FOK).
        time_in_force: u8,
        /// The client.
        client: U32,
        /// The client's id for the order.
        client_order_id: U64,
        /// Limit price, micro-dollars (ignored for a market order).
        price: I64,
        /// Shares.
        quantity: U32,
        /// The symbol.
        symbol: U32,
        /// Capacity code (1 agency, 2 principal, 3 riskless principal).
        capacity: u8,
        /// Zero.
        padding: [u8; 7],
    }
    /// A client's cancel of its order `original_client_order_id`.
    CancelLayout = 2, "Cancel" {
        /// Zero.
        padding_a: [u8; 3],
        /// The client.
        client: U32,
        /// The client's id for this cancel.
        client_order_id: U64,
        /// The client's id of the order to cancel.
        original_client_order_id: U64,
        /// The order's symbol.
        symbol: U32,
        /// Zero.
        padding_b: [u8; 12],
    }
    /// A client's cancel/replace: a new price and total quantity.
    ReplaceLayout = 3, "Replace" {
        /// Zero.
        padding_a: [u8; 3],
        /// The client.
        client: U32,
        /// The client's id for the replacement.
        client_order_id: U64,
        /// The client's id of the order to replace.
        original_client_order_id: U64,
        /// The new limit price, micro-dollars.
        price: I64,
        /// The new total quantity.
        quantity: U32,
        /// Zero.
        padding_b: [u8; 4],
    }
    /// The national best bid and offer of one symbol.
    NbboLayout = 4, "Nbbo" {
        /// Zero.
        padding_a: [u8; 3],
        /// The symbol.
        symbol: U32,
        /// Best bid, micro-dollars (0: none).
        bid: I64,
        /// Best offer, micro-dollars (0: none).
        ask: I64,
        /// Shares at the best bid.
        bid_size: U32,
        /// Shares at the best offer.
        ask_size: U32,
        /// Zero.
        padding_b: [u8; 8],
    }
    /// A venue's fill of a routed order.
    VenueFillLayout = 5, "VenueFill" {
        /// The venue's configured id (0: not known).
        venue: u8,
        /// Zero.
        padding_a: [u8; 2],
        /// Shares executed.
        quantity: U32,
        /// The parent order's engine id.
        order_id: U64,
        /// Execution price, micro-dollars.
        price: I64,
        /// The venue's fee for the whole fill, micro-dollars (negative: a rebate).
        fee: I64,
        /// Zero.
        padding_b: [u8; 8],
    }
    /// A venue returning what is left of a routed order.
    VenueCancelLayout = 6, "VenueCancel" {
        /// Zero.
        padding_a: [u8; 3],
        /// Shares returned.
        quantity: U32,
        /// The parent order's engine id.
        order_id: U64,
        /// Zero.
        padding_b: [u8; 24],
    }
    /// Shares the stock loan desk located for a client's short sales.
    LocateLayout = 7, "Locate" {
        /// Zero.
        padding_a: [u8; 3],
        /// The client.
        client: U32,
        /// Shares located.
        shares: U64,
        /// The symbol.
        symbol: U32,
        /// The operator who loaded it (0: the engine's own, e.g. a test or the demo).
        operator: U32,
        /// The operator's request number on the admin port (0: not from the port).
        request: U32,
        /// When the locate lapses, seconds since the epoch (0: at the end of the day); a
        /// locate that has lapsed by its time is refused.
        expires_s: U32,
        /// The stock-loan desk's id for the locate.
        locate_id: U64,
    }
    /// An operator's change of a risk limit or control.
    AdminLayout = 8, "Admin" {
        /// Which setting (`docs/MESSAGES.md`, "Admin settings").
        setting: u8,
        /// Bit 0: the on/off value; bit 1: `expires_at` is set; bit 2: a band is set
        /// (`a`, `b`); other bits zero.
        flags: u8,
        /// Zero.
        padding_a: u8,
        /// The operator.
        operator: U32,
        /// The client or symbol the setting is for (0 for the firm).
        target: U32,
        /// The operator's request number on the admin port (0: not from the port).
        request: U32,
        /// The value (a price, quantity, rate, ppm or share count), or a band's lower
        /// bound.
        a: I64,
        /// A band's upper bound; otherwise zero.
        b: I64,
        /// When the change reverts, nanoseconds since the epoch (flag bit 1).
        expires_at: U64,
    }
    /// New internalization settings of one symbol.
    SettingsLayout = 9, "Settings" {
        /// Mode code (0 agency only, 1 passive, 2 active).
        mode: u8,
        /// Bit 0: route a marketable residual; bit 1: hedge; other bits zero.
        flags: u8,
        /// Zero.
        padding: u8,
        /// The symbol.
        symbol: U32,
        /// Least price improvement on a principal fill, micro-dollars.
        improvement_min: I64,
        /// Improvement as a fraction of the spread, parts per million.
        improvement_spread_ppm: U32,
        /// Inventory skew, parts per million.
        skew_ppm: U32,
        /// Largest long position, shares.
        long_max: U32,
        /// Largest short position, shares.
        short_max: U32,
        /// Largest principal fill, shares.
        principal_size_max: U32,
        /// Inventory soft limit, shares.
        soft_limit: U32,
    }
    /// The trading day ends.
    EndOfDayLayout = 10, "EndOfDay" {
        /// Zero.
        padding_a: [u8; 3],
        /// The operator who ended the day (0: the engine's own).
        operator: U32,
        /// The operator's request number on the admin port (0: not from the port).
        request: U32,
        /// Zero.
        padding_b: [u8; 28],
    }
    /// Take a snapshot at this sequence number.
    SnapshotLayout = 11, "Snapshot" {
        /// Zero.
        padding: [u8; 39],
    }
    /// A kill switch's mass cancel, which the sequencer makes for the matcher when a
    /// switch turns on (never journaled: replay makes it again from `caused_by`).
    MassCancelLayout = 12, "MassCancel" {
        /// Bit 0: only `client`'s orders; bit 1: only `symbol`'s; other bits zero.
        flags: u8,
        /// Zero.
        padding_a: [u8; 2],
        /// The client, when flag bit 0 is set; otherwise zero.
        client: U32,
        /// The sequence number of the journaled command that turned the switch on (or
        /// whose time let a temporary change expire): the record whose durability
        /// makes the mass cancel's effects durable.
        caused_by: U64,
        /// The symbol, when flag bit 1 is set; otherwise zero.
        symbol: U32,
        /// Zero.
        padding_b: [u8; 20],
    }
    /// A client message the risk gate refused, as the sequencer passes it on for the
    /// client's reply (never journaled: the command's record holds the verdict).
    RiskRejectedLayout = 13, "RiskRejected" {
        /// Bit 0: the refused message was a cancel or replace of
        /// `original_client_order_id`; other bits zero.
        flags: u8,
        /// The reject reason code (101..=199, `docs/RISK.md`).
        reason: U16,
        /// The client.
        client: U32,
        /// The client's id of the refused message.
        client_order_id: U64,
        /// The order the cancel or replace was for (flag bit 0); otherwise zero.
        original_client_order_id: U64,
        /// Zero.
        padding: [u8; 16],
    }
    /// A matcher event the risk gate follows, on the ring back to the sequencer
    /// (`events_back`; never journaled): an order the matcher ended without a fill, so
    /// the gate releases its open notional.
    ReleasedLayout = 14, "Released" {
        /// Why it ended: 1 the matcher rejected it, 2 its working shares were cancelled.
        cause: u8,
        /// Zero.
        padding_a: [u8; 2],
        /// The client.
        client: U32,
        /// The client's id for the order.
        client_order_id: U64,
        /// Zero.
        padding_b: [u8; 24],
    }
    /// An execution as the risk gate follows it (`events_back`): the shares move from
    /// open to executed. The client's full execution report goes out on `replies`.
    ExecutedLayout = 15, "Executed" {
        /// Zero.
        padding_a: [u8; 3],
        /// The client.
        client: U32,
        /// The client's id for the order.
        client_order_id: U64,
        /// Execution price, micro-dollars.
        price: I64,
        /// Shares executed.
        quantity: U32,
        /// Shares still working after this execution (0: the order is done).
        leaves: U32,
        /// The symbol.
        symbol: U32,
        /// Zero.
        padding_b: [u8; 4],
    }
    /// A replace the matcher applied, as the risk gate follows it (`events_back`).
    ReplacedLayout = 16, "Replaced" {
        /// Zero.
        padding_a: [u8; 3],
        /// The client.
        client: U32,
        /// The client's new id for the order.
        client_order_id: U64,
        /// The client's previous id for it.
        original_client_order_id: U64,
        /// Its limit price now, micro-dollars.
        price: I64,
        /// Its total quantity now (executed shares included).
        quantity: U32,
        /// Zero.
        padding_b: [u8; 4],
    }
    /// The firm's position in a symbol changed (`events_back`).
    PositionChangedLayout = 17, "PositionChanged" {
        /// Zero.
        padding_a: [u8; 3],
        /// The symbol.
        symbol: U32,
        /// The position now, shares (negative: short).
        position: I64,
        /// The change, shares.
        delta: I64,
        /// The execution price, micro-dollars.
        price: I64,
        /// Zero.
        padding_b: [u8; 8],
    }
    /// A child order the matcher hands the egress (`events_out`; never journaled: the
    /// command that caused it is). `sequence` is that command's, the journal position
    /// the egress waits for before the venues hear of it; `time` is its time.
    RouteLayout = 18, "Route" {
        /// Side code (as in `NewOrder`; short sales stay marked short).
        side: u8,
        /// Capacity code (1 agency for a client's order, 2 principal for the hedger's).
        capacity: u8,
        /// Bit 0: `limit` holds a limit price (clear: a market order); other bits zero.
        flags: u8,
        /// The symbol.
        symbol: U32,
        /// The parent order (the engine's order id; venue reports name it).
        order_id: U64,
        /// Limit price, micro-dollars (zero when flag bit 0 is clear).
        limit: I64,
        /// Shares to route.
        quantity: U32,
        /// Zero.
        padding: [u8; 12],
    }
    /// A change to the venue tops the router prices against, from the market-data
    /// ingress to the egress (`venue_tops`; never journaled). `sequence` is zero; `time`
    /// is when the feed packet was taken.
    VenueTopLayout = 19, "VenueTop" {
        /// The venue (its index in the configuration).
        venue: u8,
        /// Bit 0: a feed gap, every venue's top is unknown until fresh ones arrive (the
        /// other fields are zero); other bits zero.
        flags: u8,
        /// Zero.
        padding_a: u8,
        /// The symbol.
        symbol: U32,
        /// The venue's best bid, micro-dollars (0: none).
        bid: I64,
        /// Its best offer, micro-dollars (0: none).
        ask: I64,
        /// Shares at its best bid.
        bid_size: U32,
        /// Shares at its best offer.
        ask_size: U32,
        /// Zero.
        padding_b: [u8; 8],
    }
    /// The outcome of an operator's control command, from the sequencer to the matcher
    /// agent, which hands it on to the order ingress for the operator's admin session
    /// (`sequenced` ring; never journaled: the command's record is). `sequence` is the
    /// command's record.
    AdminAckLayout = 20, "AdminAck" {
        /// Zero.
        padding_a: u8,
        /// 0: applied; otherwise the control error's code (201..=299, `docs/RISK.md`).
        result: U16,
        /// The operator.
        operator: U32,
        /// The operator's request number on the admin port.
        request: U32,
        /// Zero.
        padding_b: [u8; 28],
    }
    /// A routed child order's end at its venue (journaled for the routing reports; the
    /// matcher takes no input from it).
    VenueChildLayout = 21, "VenueChild" {
        /// The venue's configured id.
        venue: u8,
        /// Bit 0: the child ended because its venue was lost (disconnected or timed out)
        /// rather than by the venue's own answer; other bits zero.
        flags: u8,
        /// Zero.
        padding_a: u8,
        /// Shares the child was sent for.
        quantity: U32,
        /// The parent order's engine id.
        order_id: U64,
        /// Shares the venue executed of it.
        filled: U32,
        /// Zero.
        padding_b: [u8; 20],
    }
    /// A client's price-improvement multiplier, which the sequencer makes for the matcher
    /// when an admin change (setting 15) sets it or its expiry reverts it (never
    /// journaled: replay makes it again from `caused_by`).
    ClientImprovementLayout = 22, "ClientImprovement" {
        /// Zero.
        padding_a: [u8; 3],
        /// The client.
        client: U32,
        /// The sequence number of the journaled command that set it (or whose time let a
        /// temporary change expire).
        caused_by: U64,
        /// The multiplier, parts per million (1,000,000: the symbol's own improvement).
        multiplier_ppm: U32,
        /// Zero.
        padding_b: [u8; 20],
    }
}

impl VenueChildLayout {
    /// `flags` bit 0: the venue was lost.
    pub const FLAG_LOST: u8 = 1;
}

impl AdminLayout {
    /// `flags` bit 0: the on/off value.
    pub const FLAG_ON: u8 = 1;
    /// `flags` bit 1: `expires_at` is set.
    pub const FLAG_EXPIRES: u8 = 2;
    /// `flags` bit 2: a band is set (`a`, `b`).
    pub const FLAG_BAND: u8 = 4;
    /// The highest setting code (`docs/MESSAGES.md`, "Admin settings").
    pub const SETTING_MAX: u8 = 15;
    /// Setting 15: a client's price-improvement multiplier, `a` in parts per million.
    pub const SETTING_IMPROVEMENT_MULTIPLIER: u8 = 15;
    /// The largest price-improvement multiplier, ppm (×2.0).
    pub const IMPROVEMENT_MULTIPLIER_PPM_MAX: u32 = 2_000_000;

    /// Checks the codes and ranges every admin message must keep: only defined flag
    /// bits, a defined setting, for a quantity, rate or ppm an `a` that fits 32 bits,
    /// and for a price-improvement multiplier an `a` from 0 to 2,000,000. On failure, the field's name and value.
    ///
    /// # Errors
    /// The first field out of its domain.
    pub fn check(&self) -> Result<(), (&'static str, i128)> {
        if self.flags & !(Self::FLAG_ON | Self::FLAG_EXPIRES | Self::FLAG_BAND) != 0 {
            return Err(("flags", self.flags.into()));
        }
        if !(1..=Self::SETTING_MAX).contains(&self.setting) {
            return Err(("setting", self.setting.into()));
        }
        let a = self.a.get();
        if matches!(self.setting, 2 | 4 | 5) && u32::try_from(a).is_err() {
            return Err(("a", a.into()));
        }
        if self.setting == Self::SETTING_IMPROVEMENT_MULTIPLIER
            && !(0..=i64::from(Self::IMPROVEMENT_MULTIPLIER_PPM_MAX)).contains(&a)
        {
            return Err(("a", a.into()));
        }
        Ok(())
    }
}

impl RouteLayout {
    /// `flags` bit 0: `limit` holds a limit price.
    pub const FLAG_LIMIT: u8 = 1;
}

impl VenueTopLayout {
    /// `flags` bit 0: a feed gap clears every venue's top.
    pub const FLAG_CLEAR_ALL: u8 = 1;
}

impl ReleasedLayout {
    /// `cause`: the matcher rejected the order.
    pub const CAUSE_REJECTED: u8 = 1;
    /// `cause`: the order's working shares were cancelled.
    pub const CAUSE_CANCELLED: u8 = 2;
}

impl RiskRejectedLayout {
    /// `flags` bit 0: the refused message was a cancel or replace.
    pub const FLAG_ORIGINAL: u8 = 1;

    /// The order a refused cancel or replace was for (flag bit 0), if it was one.
    #[must_use]
    pub fn original_client_order_id(&self) -> Option<u64> {
        (self.flags & Self::FLAG_ORIGINAL != 0).then(|| self.original_client_order_id.get())
    }
}

const _: () = assert!(MESSAGE_BYTES + 8 == CACHE_LINE_BYTES);
const _: () = assert!(size_of::<Message>() == MESSAGE_BYTES);
const _: () = assert!(align_of::<Message>() == 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_round_trips_through_a_message() {
        let mut order = NewOrderLayout::new_zeroed();
        order.time = U64::new(7);
        order.client = U32::new(3);
        order.price = I64::new(-5);
        let mut message = Message::from_view(&order);
        message.set_sequence(9);
        assert_eq!(message.kind(), 1);
        assert_eq!(message.sequence(), 9);
        assert_eq!(message.time(), 7);
        let view = message.view::<NewOrderLayout>().unwrap();
        assert_eq!(view.client.get(), 3);
        assert_eq!(view.price.get(), -5);
        assert!(message.view::<CancelLayout>().is_none());
    }

    #[test]
    fn kinds_are_distinct_and_fields_tile_each_layout() {
        for (index, (kind, name, fields)) in KINDS.iter().enumerate() {
            assert_eq!(usize::from(*kind), index + 1, "{name}");
            let mut at = 0;
            for (field, offset, size) in *fields {
                assert_eq!(*offset, at, "{name}.{field}");
                at += size;
            }
            assert_eq!(at, MESSAGE_BYTES, "{name}");
        }
    }
}
