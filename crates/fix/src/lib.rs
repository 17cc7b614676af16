//! Crossline's FIX codec: the tag=value syntax of FIX 4.2 and 4.4, with no I/O and no
//! session state (the sessions are `crossline-gateway`'s `fix` module).
//!
//! - [`frame_length`] finds where one message ends in a byte stream, from its
//!   BodyLength (9), without reading the body.
//! - [`Message::parse`] checks a whole message (BeginString first, BodyLength second and
//!   exact, MsgType third, every field `tag=value<SOH>`, CheckSum last and right) and
//!   indexes its fields in a fixed array on the stack: values are slices of the input,
//!   nothing is copied and nothing allocates.
//! - [`Encoder`] writes a message into a caller's buffer: the body first, then
//!   BeginString and BodyLength in front of it and CheckSum after it, so nothing moves.
//!
//! `docs/FIX.md` is the rules of engagement built on this.
//!
//! ```
//! use crossline_fix::{tags, Encoder, Message};
//!
//! let mut buffer = [0u8; 512];
//! let mut encoder = Encoder::new(&mut buffer, b"FIX.4.4", b"0");
//! encoder.str(tags::SENDER_COMP_ID, b"CROSSLINE");
//! encoder.str(tags::TARGET_COMP_ID, b"CLIENT1");
//! encoder.uint(tags::MSG_SEQ_NUM, 7);
//! let bytes = encoder.finish().unwrap();
//! let message = Message::parse(bytes).unwrap();
//! assert_eq!(message.msg_type(), b"0");
//! assert_eq!(message.uint(tags::MSG_SEQ_NUM), Ok(Some(7)));
//! ```
#![forbid(unsafe_code)]

mod encode;
mod parse;
pub mod tags;
pub mod time;

pub use encode::{EncodeError, Encoder, HEADER_ROOM};
pub use parse::{
    checksum, frame_length, parse_micros, parse_uint, FieldError, FrameError, Message, ParseError,
    FIELDS_MAX, MESSAGE_BYTES_MAX,
};

/// The field separator, SOH.
pub const SOH: u8 = 0x01;
