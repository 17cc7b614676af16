//! The frame both TCP protocols share: an 8-byte header, then a fixed-layout body.
//!
//! | offset | size | field | meaning |
//! | --- | --- | --- | --- |
//! | 0 | 2 | `length` | the whole frame in bytes, header included (8 to [`FRAME_BYTES_MAX`]) |
//! | 2 | 1 | `kind` | the message type |
//! | 3 | 1 | `flags` | bit 0: [`FLAG_RESENT`]; the other bits must be zero |
//! | 4 | 4 | `sequence` | the sender's sequence number for the message (0: unsequenced) |

use crossline_types::{
    Capacity, ClientId, ClientOrderId, LiquiditySource, OrderId, OrderType, Price, Quantity, Side,
    SymbolId, TimeInForce,
};

/// Bytes in a frame header.
pub const HEADER_BYTES: usize = 8;
/// The largest frame either protocol defines; a longer `length` is a framing error.
pub const FRAME_BYTES_MAX: usize = 64;
/// Flag bit: this message was sent before and is sent again (a resend after reconnect).
pub const FLAG_RESENT: u8 = 1;

/// A frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The whole frame's length in bytes.
    pub length: u16,
    /// The message type.
    pub kind: u8,
    /// Flag bits.
    pub flags: u8,
    /// The sender's sequence number.
    pub sequence: u32,
}

/// The byte stream cannot be split into frames any more: the length field is impossible,
/// so where the next frame starts is unknown. The connection must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The length is shorter than a header.
    #[error("frame length {length} is shorter than the 8-byte header")]
    TooShort {
        /// The length field.
        length: u16,
    },
    /// The length is longer than any message.
    #[error("frame length {length} is longer than the largest message ({FRAME_BYTES_MAX} bytes)")]
    TooLong {
        /// The length field.
        length: u16,
    },
}

/// A whole frame with a length that made sense, but a body that does not. The frame is
/// skipped; the stream goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No message of this type exists (in this direction).
    #[error("unknown message type {kind}")]
    UnknownType {
        /// The type byte.
        kind: u8,
    },
    /// The length does not match the type's fixed layout.
    #[error("message type {kind} is {expected} bytes, not {length}")]
    WrongLength {
        /// The type byte.
        kind: u8,
        /// The frame's length.
        length: u16,
        /// The type's length.
        expected: u16,
    },
    /// Flag bits that are reserved are set.
    #[error("reserved flag bits set: {flags:#04x}")]
    ReservedFlags {
        /// The flags byte.
        flags: u8,
    },
    /// A field holds a value outside its domain (an unknown code, a non-zero padding
    /// byte).
    #[error("field {field} has the invalid value {value}")]
    BadField {
        /// The field's name (`padding` for padding bytes).
        field: &'static str,
        /// The value as read (for padding: the byte's offset in the body).
        value: u64,
    },
}

/// Splits the first frame off `bytes`: `Ok(None)` until a whole frame has arrived.
///
/// # Errors
/// [`FramingError`] when the length field is impossible.
pub fn split(bytes: &[u8]) -> Result<Option<(Header, &[u8])>, FramingError> {
    if bytes.len() < 2 {
        return Ok(None);
    }
    let length = u16::from_le_bytes([bytes[0], bytes[1]]);
    if usize::from(length) < HEADER_BYTES {
        return Err(FramingError::TooShort { length });
    }
    if usize::from(length) > FRAME_BYTES_MAX {
        return Err(FramingError::TooLong { length });
    }
    if bytes.len() < usize::from(length) {
        return Ok(None);
    }
    let header = Header {
        length,
        kind: bytes[2],
        flags: bytes[3],
        sequence: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
    };
    Ok(Some((header, &bytes[HEADER_BYTES..usize::from(length)])))
}

/// Takes whole frames off the front of `bytes`, handing each to `frame` while it returns
/// `true`; returns the bytes taken (a partial frame at the end waits for more bytes).
///
/// # Errors
/// An impossible length field, with the offset of its frame: the stream cannot be split
/// past it, and the connection must end.
pub fn each_frame(
    bytes: &[u8],
    mut frame: impl FnMut(&Header, &[u8]) -> bool,
) -> Result<usize, (usize, FramingError)> {
    let mut consumed = 0;
    loop {
        match split(&bytes[consumed..]) {
            Ok(None) => return Ok(consumed),
            Ok(Some((header, body))) => {
                consumed += usize::from(header.length);
                if !frame(&header, body) {
                    return Ok(consumed);
                }
            }
            Err(error) => return Err((consumed, error)),
        }
    }
}

pub(crate) fn write_header(out: &mut [u8], length: usize, kind: u8, flags: u8, sequence: u32) {
    #[allow(clippy::cast_possible_truncation)] // every frame is at most FRAME_BYTES_MAX
    let length = length as u16;
    out[0..2].copy_from_slice(&length.to_le_bytes());
    out[2] = kind;
    out[3] = flags;
    out[4..8].copy_from_slice(&sequence.to_le_bytes());
}

/// Checks a frame's length and flags against its type's layout.
pub(crate) fn expect(header: &Header, body_bytes: usize) -> Result<(), DecodeError> {
    let expected = HEADER_BYTES + body_bytes;
    if usize::from(header.length) != expected {
        #[allow(clippy::cast_possible_truncation)] // at most FRAME_BYTES_MAX
        return Err(DecodeError::WrongLength {
            kind: header.kind,
            length: header.length,
            expected: expected as u16,
        });
    }
    if header.flags & !FLAG_RESENT != 0 {
        return Err(DecodeError::ReservedFlags {
            flags: header.flags,
        });
    }
    Ok(())
}

/// Every byte of `body` outside the fields must be zero, so that a later version can give
/// padding a meaning without old readers misreading it.
pub(crate) fn check_padding(body: &[u8], fields: &[(usize, usize)]) -> Result<(), DecodeError> {
    for (index, byte) in body.iter().enumerate() {
        let covered = fields
            .iter()
            .any(|&(offset, size)| (offset..offset + size).contains(&index));
        if !covered && *byte != 0 {
            return Err(DecodeError::BadField {
                field: "padding",
                value: index as u64,
            });
        }
    }
    Ok(())
}

/// Whether fields lie inside the body, aligned, without overlapping (checked at compile time for
/// every message layout).
pub(crate) const fn layout_is_sound(fields: &[(usize, usize)], body_bytes: usize) -> bool {
    let mut i = 0;
    while i < fields.len() {
        let (offset, size) = fields[i];
        // Naturally aligned (arrays of bytes at eight), so a reader may load in place.
        let align = if size > 8 { 8 } else { size };
        if offset + size > body_bytes || offset % align != 0 {
            return false;
        }
        let mut j = i + 1;
        while j < fields.len() {
            let (other, other_size) = fields[j];
            if offset < other + other_size && other < offset + size {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    HEADER_BYTES + body_bytes <= FRAME_BYTES_MAX
}

/// A fixed-width little-endian field.
pub trait Field: Copy {
    /// Its width in bytes.
    const BYTES: usize;
    /// Reads it at `offset` of `body` (which the caller has length-checked).
    ///
    /// # Errors
    /// [`DecodeError::BadField`] naming `field` when the bytes are not a valid value.
    fn get(body: &[u8], offset: usize, field: &'static str) -> Result<Self, DecodeError>;
    /// Writes it at `offset` of `body`.
    fn put(self, body: &mut [u8], offset: usize);
}

fn bytes<const N: usize>(body: &[u8], offset: usize) -> [u8; N] {
    let mut array = [0u8; N];
    array.copy_from_slice(&body[offset..offset + N]);
    array
}

macro_rules! integer_field {
    ($($int:ty),*) => {$(
        impl Field for $int {
            const BYTES: usize = size_of::<$int>();
            fn get(body: &[u8], offset: usize, _field: &'static str) -> Result<$int, DecodeError> {
                Ok(<$int>::from_le_bytes(bytes(body, offset)))
            }
            fn put(self, body: &mut [u8], offset: usize) {
                body[offset..offset + Self::BYTES].copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
integer_field!(u8, u16, u32, u64, i64);

macro_rules! newtype_field {
    ($($name:ty => $int:ty, $new:path, $get:ident;)*) => {$(
        impl Field for $name {
            const BYTES: usize = size_of::<$int>();
            fn get(body: &[u8], offset: usize, field: &'static str) -> Result<$name, DecodeError> {
                Ok($new(<$int>::get(body, offset, field)?))
            }
            fn put(self, body: &mut [u8], offset: usize) {
                self.$get().put(body, offset);
            }
        }
    )*};
}
newtype_field! {
    ClientId => u32, ClientId::new, get;
    SymbolId => u32, SymbolId::new, get;
    ClientOrderId => u64, ClientOrderId::new, get;
    OrderId => u64, OrderId::new, get;
    Price => i64, Price::from_micros, micros;
    Quantity => u32, Quantity::new, shares;
}

macro_rules! code_field {
    ($($name:ty),*) => {$(
        impl Field for $name {
            const BYTES: usize = 1;
            fn get(body: &[u8], offset: usize, field: &'static str) -> Result<$name, DecodeError> {
                <$name>::try_from(body[offset])
                    .map_err(|_| DecodeError::BadField { field, value: u64::from(body[offset]) })
            }
            fn put(self, body: &mut [u8], offset: usize) {
                body[offset] = self.code();
            }
        }
    )*};
}
code_field!(Side, OrderType, TimeInForce, Capacity, LiquiditySource);

impl Field for bool {
    const BYTES: usize = 1;
    fn get(body: &[u8], offset: usize, field: &'static str) -> Result<bool, DecodeError> {
        match body[offset] {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::BadField {
                field,
                value: u64::from(other),
            }),
        }
    }
    fn put(self, body: &mut [u8], offset: usize) {
        body[offset] = u8::from(self);
    }
}

/// A logon secret: 32 bytes, compared in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret(pub [u8; 32]);

impl Secret {
    /// The secret from text (at most 32 bytes, zero-padded), or `None` if it is longer.
    #[must_use]
    pub fn from_text(text: &str) -> Option<Secret> {
        let bytes = text.as_bytes();
        if bytes.len() > 32 {
            return None;
        }
        let mut secret = [0u8; 32];
        secret[..bytes.len()].copy_from_slice(bytes);
        Some(Secret(secret))
    }

    /// Compares two secrets in time that does not depend on where they differ, so a
    /// client cannot learn a secret byte by byte from reply times.
    #[must_use]
    pub fn matches(&self, other: &Secret) -> bool {
        let difference = self
            .0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        // black_box keeps the optimiser from turning the fold into an early exit.
        std::hint::black_box(difference) == 0
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print a secret.
        formatter.write_str("Secret(..)")
    }
}

impl Field for Secret {
    const BYTES: usize = 32;
    fn get(body: &[u8], offset: usize, _field: &'static str) -> Result<Secret, DecodeError> {
        Ok(Secret(bytes(body, offset)))
    }
    fn put(self, body: &mut [u8], offset: usize) {
        body[offset..offset + 32].copy_from_slice(&self.0);
    }
}

/// Declares a direction's messages: the enum, its encoder and its decoder, from one table
/// of type codes, body sizes and field offsets (checked for overlap at compile time).
macro_rules! messages {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $kind:literal, $body:literal bytes {
                    $( $(#[$field_meta:meta])* $field:ident : $ty:ty = $offset:literal ),* $(,)?
                }
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant { $( $(#[$field_meta])* $field: $ty ),* }
            ),*
        }

        $(
            const _: () = assert!($crate::frame::layout_is_sound(
                &[$( ($offset, <$ty as $crate::frame::Field>::BYTES) ),*],
                $body
            ));
        )*

        impl $name {
            /// The message's type code.
            #[must_use]
            pub const fn kind(&self) -> u8 {
                match self { $( $name::$variant { .. } => $kind ),* }
            }

            /// The type's name, for logs.
            #[must_use]
            pub const fn label(&self) -> &'static str {
                match self { $( $name::$variant { .. } => stringify!($variant) ),* }
            }

            /// The body length of the message type `kind`, if it is one of this
            /// direction's types.
            #[must_use]
            pub const fn body_bytes(kind: u8) -> Option<usize> {
                match kind {
                    $( $kind => Some($body), )*
                    _ => None,
                }
            }

            /// The furthest any type's fields reach into its body: every body byte
            /// from here on is zero padding.
            pub const FIELD_BYTES_MAX: usize = {
                let mut max = 0;
                $( $(
                    let end = $offset + <$ty as $crate::frame::Field>::BYTES;
                    if end > max {
                        max = end;
                    }
                )* )*
                max
            };

            /// Writes the message's fields at their body offsets into `fields`
            /// (zeroed by the caller, at least [`Self::FIELD_BYTES_MAX`] long); returns
            /// its type code. [`Self::encode_fields_frame`] makes the frame from them.
            pub fn encode_fields(&self, fields: &mut [u8]) -> u8 {
                match *self {
                    $(
                        $name::$variant { $($field),* } => {
                            $( $crate::frame::Field::put($field, fields, $offset); )*
                            let _ = &fields;
                            $kind
                        }
                    ),*
                }
            }

            /// Writes the frame of type `kind` whose body starts with `fields` (the rest
            /// of the body zero) into `out`; returns its length, or `None` when `kind` is
            /// not one of this direction's types. With `fields` from
            /// [`Self::encode_fields`] the frame is exactly [`Self::encode`]'s.
            pub fn encode_fields_frame(
                kind: u8,
                fields: &[u8],
                sequence: u32,
                flags: u8,
                out: &mut [u8; $crate::frame::FRAME_BYTES_MAX],
            ) -> Option<usize> {
                let body = Self::body_bytes(kind)?;
                let length = $crate::frame::HEADER_BYTES + body;
                out[..length].fill(0);
                $crate::frame::write_header(out, length, kind, flags, sequence);
                let copied = fields.len().min(body);
                out[$crate::frame::HEADER_BYTES..$crate::frame::HEADER_BYTES + copied]
                    .copy_from_slice(&fields[..copied]);
                Some(length)
            }

            /// Writes the frame (header and body) into `out`; returns its length.
            pub fn encode(
                &self,
                sequence: u32,
                flags: u8,
                out: &mut [u8; $crate::frame::FRAME_BYTES_MAX],
            ) -> usize {
                match *self {
                    $(
                        $name::$variant { $($field),* } => {
                            let length = $crate::frame::HEADER_BYTES + $body;
                            out[..length].fill(0);
                            $crate::frame::write_header(out, length, $kind, flags, sequence);
                            let _body = &mut out[$crate::frame::HEADER_BYTES..length];
                            $( $crate::frame::Field::put($field, _body, $offset); )*
                            length
                        }
                    ),*
                }
            }

            /// Reads a frame's body according to its header.
            ///
            /// # Errors
            /// A [`DecodeError`] naming what is wrong.
            pub fn decode(
                header: &$crate::frame::Header,
                body: &[u8],
            ) -> Result<$name, $crate::frame::DecodeError> {
                match header.kind {
                    $(
                        $kind => {
                            $crate::frame::expect(header, $body)?;
                            let message = $name::$variant {
                                $( $field: <$ty as $crate::frame::Field>::get(
                                    body, $offset, stringify!($field))? ),*
                            };
                            $crate::frame::check_padding(
                                body,
                                &[$( ($offset, <$ty as $crate::frame::Field>::BYTES) ),*],
                            )?;
                            Ok(message)
                        }
                    )*
                    kind => Err($crate::frame::DecodeError::UnknownType { kind }),
                }
            }
        }
    };
}
pub(crate) use messages;
