//! Identifiers and timestamps. Each is a distinct type so that a client id can never be
//! passed where a symbol id is expected.

/// Generates a transparent integer newtype with `new`/`get` and `Display`.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident($inner:ty)) => {
        $(#[$meta])*
        #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $name($inner);

        impl $name {
            /// Wraps a raw value.
            #[must_use]
            pub const fn new(value: $inner) -> Self {
                Self(value)
            }

            /// The raw value.
            #[must_use]
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(&self.0, formatter)
            }
        }
    };
}

id_type! {
    /// An instrument, as an index into the configured symbol table.
    SymbolId(u32)
}
id_type! {
    /// A client (an account with its own risk limits and sessions).
    ClientId(u32)
}
id_type! {
    /// The client's own id for an order, unique per client and day.
    ClientOrderId(u64)
}
id_type! {
    /// The engine's id for an order: the sequence number of the input that created it,
    /// so ids come from the journal, never from a counter outside it.
    OrderId(u64)
}
id_type! {
    /// The position of an input in the journal. Zero means "not yet sequenced".
    SequenceNumber(u64)
}
id_type! {
    /// Nanoseconds since the Unix epoch, as carried in a message. The deterministic core
    /// takes time only from these, never from a clock.
    Timestamp(u64)
}

impl Timestamp {
    /// Nanoseconds in one second.
    pub const NANOS_PER_SECOND: u64 = 1_000_000_000;

    /// The nanoseconds since the epoch.
    #[must_use]
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// Nanoseconds from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub const fn nanos_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}
