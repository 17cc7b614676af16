//! The encoder: a message written straight into a caller's buffer.

use crate::parse::checksum;
use crate::{tags, time, SOH};

/// Bytes an [`Encoder`] keeps free at the front of its buffer for BeginString and
/// BodyLength (written last, in front of the body).
pub const HEADER_ROOM: usize = 32;

/// The buffer is too small for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message does not fit the {capacity}-byte buffer")]
pub struct EncodeError {
    /// The buffer's size.
    pub capacity: usize,
}

/// Writes one message: MsgType first (from [`Encoder::new`]), then the fields in the
/// order they are added, then [`Encoder::finish`] puts BeginString and BodyLength in
/// front and CheckSum after. Nothing allocates; a field that does not fit makes
/// `finish` fail.
pub struct Encoder<'a> {
    buf: &'a mut [u8],
    at: usize,
    begin_string: &'a [u8],
    full: bool,
}

impl<'a> Encoder<'a> {
    /// Starts a message of type `msg_type` (35) under `begin_string` (8) in `buf`.
    pub fn new(buf: &'a mut [u8], begin_string: &'a [u8], msg_type: &[u8]) -> Encoder<'a> {
        let mut encoder = Encoder {
            buf,
            at: HEADER_ROOM,
            begin_string,
            full: false,
        };
        if encoder.buf.len() < HEADER_ROOM || begin_string.len() > HEADER_ROOM - 12 {
            encoder.full = true;
        }
        encoder.str(tags::MSG_TYPE, msg_type);
        encoder
    }

    fn put(&mut self, bytes: &[u8]) {
        if self.full {
            return;
        }
        match self.buf.get_mut(self.at..self.at + bytes.len()) {
            Some(slot) => {
                slot.copy_from_slice(bytes);
                self.at += bytes.len();
            }
            None => self.full = true,
        }
    }

    fn tag(&mut self, tag: u32) {
        let mut digits = [0u8; 10];
        let text = decimal(u64::from(tag), &mut digits);
        self.put(text);
        self.put(b"=");
    }

    /// `tag=value`.
    pub fn str(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        self.tag(tag);
        self.put(value);
        self.put(&[SOH]);
        self
    }

    /// `tag=c`.
    pub fn char(&mut self, tag: u32, value: u8) -> &mut Self {
        self.str(tag, &[value])
    }

    /// `tag=Y` or `tag=N`.
    pub fn flag(&mut self, tag: u32, value: bool) -> &mut Self {
        self.char(tag, if value { b'Y' } else { b'N' })
    }

    /// `tag=digits`.
    pub fn uint(&mut self, tag: u32, value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let text = decimal(value, &mut digits);
        self.tag(tag);
        self.put(text);
        self.put(&[SOH]);
        self
    }

    /// `tag=decimal` of a count of millionths (a price in micro-dollars, 12.345 →
    /// `12.345`), with no trailing zeros past the point and no point for a whole number.
    pub fn micros(&mut self, tag: u32, value: i64) -> &mut Self {
        let mut text = [0u8; 32];
        let mut at = 0;
        if value < 0 {
            text[0] = b'-';
            at = 1;
        }
        let magnitude = value.unsigned_abs();
        let mut whole = [0u8; 20];
        let whole = decimal(magnitude / 1_000_000, &mut whole);
        text[at..at + whole.len()].copy_from_slice(whole);
        at += whole.len();
        let mut fraction = magnitude % 1_000_000;
        if fraction != 0 {
            text[at] = b'.';
            at += 1;
            let mut places = 6;
            while fraction % 10 == 0 {
                fraction /= 10;
                places -= 1;
            }
            for index in (0..places).rev() {
                // A digit: always below 10.
                text[at + index] = b'0' + u8::try_from(fraction % 10).unwrap_or(0);
                fraction /= 10;
            }
            at += places;
        }
        self.str(tag, &text[..at])
    }

    /// `tag=YYYYMMDD-HH:MM:SS.ffffff` of `ns` since the Unix epoch (UTC).
    pub fn timestamp(&mut self, tag: u32, ns: u64) -> &mut Self {
        self.str(tag, &time::format_micros(ns))
    }

    /// Puts BeginString and BodyLength in front of the body and CheckSum after it, and
    /// returns the whole message.
    ///
    /// # Errors
    /// [`EncodeError`] when the message did not fit the buffer.
    pub fn finish(self) -> Result<&'a [u8], EncodeError> {
        let capacity = self.buf.len();
        if self.full || self.at + 7 > capacity {
            return Err(EncodeError { capacity });
        }
        let body_length = self.at - HEADER_ROOM;
        let mut digits = [0u8; 20];
        let length = decimal(body_length as u64, &mut digits);
        let header_length = 2 + self.begin_string.len() + 1 + 2 + length.len() + 1;
        let start = HEADER_ROOM - header_length;
        let header = &mut self.buf[start..HEADER_ROOM];
        header[..2].copy_from_slice(b"8=");
        let mut at = 2;
        header[at..at + self.begin_string.len()].copy_from_slice(self.begin_string);
        at += self.begin_string.len();
        header[at] = SOH;
        header[at + 1..at + 3].copy_from_slice(b"9=");
        at += 3;
        header[at..at + length.len()].copy_from_slice(length);
        header[at + length.len()] = SOH;
        let sum = checksum(&self.buf[start..self.at]);
        let trailer = &mut self.buf[self.at..self.at + 7];
        trailer[..3].copy_from_slice(b"10=");
        trailer[3] = b'0' + sum / 100;
        trailer[4] = b'0' + sum / 10 % 10;
        trailer[5] = b'0' + sum % 10;
        trailer[6] = SOH;
        let end = self.at + 7;
        Ok(&self.buf[start..end])
    }
}

/// `value` in decimal, written at the end of `out`; returns the digits.
fn decimal(mut value: u64, out: &mut [u8]) -> &[u8] {
    let mut at = out.len();
    loop {
        at -= 1;
        // A digit: always below 10.
        out[at] = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
        if value == 0 || at == 0 {
            break;
        }
    }
    &out[at..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    use proptest::strategy::Strategy;

    #[test]
    fn an_encoded_message_parses_back_with_its_values() {
        let mut buf = [0u8; 512];
        let mut encoder = Encoder::new(&mut buf, b"FIX.4.2", b"8");
        encoder
            .str(tags::SENDER_COMP_ID, b"CROSSLINE")
            .uint(tags::MSG_SEQ_NUM, 1234)
            .micros(tags::PRICE, 101_250_000)
            .micros(tags::AVG_PX, 100_000_000)
            .micros(tags::LAST_PX, 1)
            .micros(tags::PRICE_IMPROVEMENT, -2_500)
            .char(tags::SIDE, b'1')
            .flag(tags::POSS_DUP_FLAG, true)
            .timestamp(tags::SENDING_TIME, 1_796_471_130_123_456_000);
        let bytes = encoder.finish().unwrap();
        let text = String::from_utf8_lossy(bytes).replace('\u{1}', "|");
        assert!(text.starts_with("8=FIX.4.2|9="), "{text}");
        assert!(
            text.contains("|44=101.25|6=100|31=0.000001|20001=-0.0025|54=1|43=Y|"),
            "{text}"
        );
        let message = Message::parse(bytes).unwrap();
        assert_eq!(message.msg_type(), b"8");
        assert_eq!(message.micros(tags::PRICE), Ok(Some(101_250_000)));
        assert_eq!(message.micros(tags::PRICE_IMPROVEMENT), Ok(Some(-2_500)));
        assert_eq!(
            message.get(tags::SENDING_TIME),
            Some(&b"20261205-11:45:30.123456"[..])
        );
    }

    #[test]
    fn a_message_too_large_for_its_buffer_is_refused() {
        let mut buf = [0u8; 64];
        let mut encoder = Encoder::new(&mut buf, b"FIX.4.4", b"0");
        encoder.str(tags::TEXT, &[b'x'; 40]);
        assert_eq!(encoder.finish().unwrap_err(), EncodeError { capacity: 64 });
    }

    proptest::proptest! {
        #[test]
        fn any_price_encodes_to_a_decimal_that_parses_back(micros in proptest::num::i64::ANY.prop_map(|v| v / 1_000)) {
            let mut buf = [0u8; 128];
            let mut encoder = Encoder::new(&mut buf, b"FIX.4.4", b"0");
            encoder.micros(tags::PRICE, micros);
            let bytes = encoder.finish().unwrap();
            let message = Message::parse(bytes).unwrap();
            proptest::prop_assert_eq!(message.micros(tags::PRICE), Ok(Some(micros)));
        }
    }
}
