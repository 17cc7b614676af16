//! Framing and parsing: where a message ends in a stream, and a checked, indexed view of
//! one message's fields.

use crate::{tags, SOH};

/// The longest message accepted, bytes (a longer one is garbled framing).
pub const MESSAGE_BYTES_MAX: usize = 4096;
/// The most fields one message may have (more is refused, [`ParseError::TooManyFields`]).
pub const FIELDS_MAX: usize = 128;
/// `10=ddd<SOH>`.
const TRAILER_BYTES: usize = 7;

/// The stream cannot be split into messages any more: the connection must close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The bytes do not start with `8=`.
    #[error("a message must start with BeginString (8=), found byte {found:#04x}")]
    NoBeginString {
        /// The first byte.
        found: u8,
    },
    /// The second field is not a BodyLength (9) of digits.
    #[error("the second field must be BodyLength (9=digits)")]
    NoBodyLength,
    /// BodyLength is larger than any message this engine takes, or no trailer was found
    /// within that many bytes.
    #[error("no message ends within {max} bytes (BodyLength {declared})")]
    TooLong {
        /// The BodyLength declared.
        declared: usize,
        /// [`MESSAGE_BYTES_MAX`].
        max: usize,
    },
}

/// Finds the first message in `data`: `Ok(Some(length))` when a whole message is
/// there, `Ok(None)` when more bytes are needed.
///
/// The end is where BodyLength (9) puts the trailer `10=ddd<SOH>`; when the trailer is
/// not there, the first trailer after the header ends the message (the message is then
/// refused by [`Message::parse`] for its BodyLength, and the stream goes on after it).
///
/// # Errors
/// [`FrameError`] when the stream cannot be split: it does not start with `8=`, the
/// second field is not `9=digits`, or no message ends within [`MESSAGE_BYTES_MAX`].
pub fn frame_length(data: &[u8]) -> Result<Option<usize>, FrameError> {
    if data.len() < 2 {
        return match data.first() {
            Some(&found) if found != b'8' => Err(FrameError::NoBeginString { found }),
            _ => Ok(None),
        };
    }
    if &data[..2] != b"8=" {
        return Err(FrameError::NoBeginString { found: data[0] });
    }
    let Some(begin_end) = position(data, SOH, 2) else {
        return if data.len() > 32 {
            Err(FrameError::NoBodyLength)
        } else {
            Ok(None)
        };
    };
    let length_start = begin_end + 1;
    let rest = &data[length_start..];
    if rest.len() < 2 {
        return Ok(None);
    }
    if &rest[..2] != b"9=" {
        return Err(FrameError::NoBodyLength);
    }
    let digits_start = length_start + 2;
    let Some(length_end) = position(data, SOH, digits_start) else {
        return if data.len() - digits_start > 6 {
            Err(FrameError::NoBodyLength)
        } else {
            Ok(None)
        };
    };
    let declared = parse_uint(&data[digits_start..length_end]).ok_or(FrameError::NoBodyLength)?;
    let declared = usize::try_from(declared).unwrap_or(usize::MAX);
    let body_start = length_end + 1;
    let too_long = FrameError::TooLong {
        declared,
        max: MESSAGE_BYTES_MAX,
    };
    if declared > MESSAGE_BYTES_MAX {
        return Err(too_long);
    }
    let end = body_start + declared + TRAILER_BYTES;
    if data.len() >= end && is_trailer(&data[end - TRAILER_BYTES..end]) {
        return Ok(Some(end));
    }
    // BodyLength is wrong (or the message is still arriving): the first trailer after
    // the header ends it.
    let mut from = body_start - 1; // the SOH that ends BodyLength
    while let Some(soh) = position(data, SOH, from) {
        let candidate = soh + 1;
        if candidate + TRAILER_BYTES > data.len() {
            break;
        }
        if is_trailer(&data[candidate..candidate + TRAILER_BYTES]) {
            return Ok(Some(candidate + TRAILER_BYTES));
        }
        from = candidate;
    }
    if data.len() > MESSAGE_BYTES_MAX + 64 {
        return Err(too_long);
    }
    Ok(None)
}

fn is_trailer(bytes: &[u8]) -> bool {
    bytes.len() == TRAILER_BYTES
        && &bytes[..3] == b"10="
        && bytes[3..6].iter().all(u8::is_ascii_digit)
        && bytes[6] == SOH
}

fn position(data: &[u8], byte: u8, from: usize) -> Option<usize> {
    data.get(from..)?
        .iter()
        .position(|&b| b == byte)
        .map(|at| at + from)
}

/// The FIX checksum of `bytes`: their sum modulo 256.
#[must_use]
pub fn checksum(bytes: &[u8]) -> u8 {
    // Summed in 32 bits (vectorised), then reduced: the same as wrapping 8-bit adds.
    let sum: u32 = bytes.iter().map(|&b| u32::from(b)).sum();
    sum.to_le_bytes()[0]
}

/// Why a framed message was refused. The session answers each with a Reject (3) whose
/// SessionRejectReason (373) [`ParseError::session_reject_reason`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The message does not start `8=value<SOH>9=digits<SOH>`.
    #[error("the message must start with BeginString (8) and BodyLength (9)")]
    Header,
    /// BodyLength does not count the bytes from after it to the CheckSum field.
    #[error("BodyLength (9) is {declared}, the body has {actual} bytes")]
    BodyLength {
        /// What the message says.
        declared: usize,
        /// What it has.
        actual: usize,
    },
    /// The message does not end with `10=ddd<SOH>`.
    #[error("the message must end with CheckSum (10=ddd)")]
    Trailer,
    /// CheckSum is not the sum of the bytes before it.
    #[error("CheckSum (10) is {declared:03}, the bytes sum to {computed:03}")]
    CheckSum {
        /// What the message says.
        declared: u16,
        /// What its bytes sum to.
        computed: u8,
    },
    /// The third field is not MsgType (35).
    #[error("the third field must be MsgType (35)")]
    MsgTypeNotThird,
    /// A field is not `digits=value<SOH>`.
    #[error("field {index} is not tag=value (at byte {offset})")]
    Syntax {
        /// Which field (0-based).
        index: usize,
        /// Where it starts.
        offset: usize,
    },
    /// A field has no value.
    #[error("tag {tag} has no value")]
    EmptyValue {
        /// The tag.
        tag: u32,
    },
    /// More than [`FIELDS_MAX`] fields.
    #[error("more than {FIELDS_MAX} fields")]
    TooManyFields,
    /// Longer than [`MESSAGE_BYTES_MAX`].
    #[error("the message is {length} bytes, more than {MESSAGE_BYTES_MAX}")]
    TooLong {
        /// Its length.
        length: usize,
    },
}

impl ParseError {
    /// The SessionRejectReason (373) this refusal is sent with, and the RefTagID (371)
    /// when one tag is to blame.
    #[must_use]
    pub fn session_reject_reason(&self) -> (u32, Option<u32>) {
        match *self {
            ParseError::EmptyValue { tag } => (4, Some(tag)),
            ParseError::Syntax { .. } => (0, None),
            ParseError::BodyLength { .. } => (5, Some(tags::BODY_LENGTH)),
            ParseError::CheckSum { .. } | ParseError::Trailer => (5, Some(tags::CHECK_SUM)),
            ParseError::MsgTypeNotThird => (14, Some(tags::MSG_TYPE)),
            ParseError::Header => (14, Some(tags::BODY_LENGTH)),
            ParseError::TooManyFields | ParseError::TooLong { .. } => (99, None),
        }
    }
}

/// A field's value is not in the form its type needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tag {tag} has a value in the wrong format")]
pub struct FieldError {
    /// The tag.
    pub tag: u32,
}

/// One field's place in the message: its tag and the value's byte range.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    tag: u32,
    start: u16,
    end: u16,
}

/// A checked message: its bytes and an index of its fields (on the stack; values are
/// slices of the bytes).
#[derive(Debug, Clone)]
pub struct Message<'a> {
    bytes: &'a [u8],
    fields: [Entry; FIELDS_MAX],
    count: usize,
    begin_string: (u16, u16),
}

impl<'a> Message<'a> {
    /// Checks and indexes one whole message (as [`frame_length`] cut it).
    ///
    /// # Errors
    /// [`ParseError`] naming the first thing wrong, in this order: the header, the
    /// trailer, BodyLength, CheckSum, then the fields.
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, ParseError> {
        if bytes.len() > MESSAGE_BYTES_MAX {
            return Err(ParseError::TooLong {
                length: bytes.len(),
            });
        }
        if bytes.len() < 2 || &bytes[..2] != b"8=" {
            return Err(ParseError::Header);
        }
        let begin_end = position(bytes, SOH, 2).ok_or(ParseError::Header)?;
        if begin_end == 2 || bytes.get(begin_end + 1..begin_end + 3) != Some(b"9=") {
            return Err(ParseError::Header);
        }
        let length_end = position(bytes, SOH, begin_end + 3).ok_or(ParseError::Header)?;
        let declared = parse_uint(&bytes[begin_end + 3..length_end]).ok_or(ParseError::Header)?;
        let body_start = length_end + 1;
        if bytes.len() < body_start + TRAILER_BYTES
            || !is_trailer(&bytes[bytes.len() - TRAILER_BYTES..])
        {
            return Err(ParseError::Trailer);
        }
        let trailer_start = bytes.len() - TRAILER_BYTES;
        let actual = trailer_start - body_start;
        let declared = usize::try_from(declared).unwrap_or(usize::MAX);
        if declared != actual {
            return Err(ParseError::BodyLength { declared, actual });
        }
        let digits = &bytes[trailer_start + 3..trailer_start + 6];
        let declared_sum = digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        let computed = checksum(&bytes[..trailer_start]);
        if declared_sum != u16::from(computed) {
            return Err(ParseError::CheckSum {
                declared: declared_sum,
                computed,
            });
        }
        let mut message = Message {
            bytes,
            fields: [Entry::default(); FIELDS_MAX],
            count: 0,
            begin_string: (2, u16::try_from(begin_end).unwrap_or(0)),
        };
        let body = &bytes[..trailer_start];
        let mut at = body_start;
        while at < trailer_start {
            let index = message.count;
            let syntax = ParseError::Syntax { index, offset: at };
            // The tag's digits, up to '='.
            let mut tag: u32 = 0;
            let mut cursor = at;
            while let Some(&digit) = body.get(cursor).filter(|d| d.is_ascii_digit()) {
                if cursor - at == 9 {
                    return Err(syntax);
                }
                tag = tag * 10 + u32::from(digit - b'0');
                cursor += 1;
            }
            if cursor == at || tag == 0 || body.get(cursor) != Some(&b'=') {
                return Err(syntax);
            }
            let start = cursor + 1;
            let end = position(body, SOH, start).ok_or(syntax)?;
            if end == start {
                return Err(ParseError::EmptyValue { tag });
            }
            if index == 0 && tag != tags::MSG_TYPE {
                return Err(ParseError::MsgTypeNotThird);
            }
            if index == FIELDS_MAX {
                return Err(ParseError::TooManyFields);
            }
            // At most MESSAGE_BYTES_MAX bytes (checked above): offsets fit 16 bits.
            message.fields[index] = Entry {
                tag,
                start: u16::try_from(start).unwrap_or(u16::MAX),
                end: u16::try_from(end).unwrap_or(u16::MAX),
            };
            message.count += 1;
            at = end + 1;
        }
        if message.count == 0 {
            return Err(ParseError::MsgTypeNotThird);
        }
        Ok(message)
    }

    /// The whole message's bytes.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// BeginString (8): `FIX.4.2`, `FIX.4.4`.
    #[must_use]
    pub fn begin_string(&self) -> &'a [u8] {
        &self.bytes[self.begin_string.0 as usize..self.begin_string.1 as usize]
    }

    /// MsgType (35).
    #[must_use]
    pub fn msg_type(&self) -> &'a [u8] {
        self.value_at(0)
    }

    fn value_at(&self, index: usize) -> &'a [u8] {
        let entry = self.fields[index];
        &self.bytes[entry.start as usize..entry.end as usize]
    }

    /// The first value of `tag`, if the message has it.
    #[must_use]
    pub fn get(&self, tag: u32) -> Option<&'a [u8]> {
        (0..self.count)
            .find(|&index| self.fields[index].tag == tag)
            .map(|index| self.value_at(index))
    }

    /// Every field in order, as `(tag, value)`.
    pub fn fields(&self) -> impl Iterator<Item = (u32, &'a [u8])> + '_ {
        (0..self.count).map(|index| (self.fields[index].tag, self.value_at(index)))
    }

    /// `tag` as an unsigned integer.
    ///
    /// # Errors
    /// [`FieldError`] when the value is not digits (or too large).
    pub fn uint(&self, tag: u32) -> Result<Option<u64>, FieldError> {
        self.get(tag)
            .map(|value| parse_uint(value).ok_or(FieldError { tag }))
            .transpose()
    }

    /// `tag` as one character.
    ///
    /// # Errors
    /// [`FieldError`] when the value is longer than one byte.
    pub fn char(&self, tag: u32) -> Result<Option<u8>, FieldError> {
        self.get(tag)
            .map(|value| match value {
                [byte] => Ok(*byte),
                _ => Err(FieldError { tag }),
            })
            .transpose()
    }

    /// `tag` as a decimal price or quantity, in millionths (`12.345` → 12,345,000).
    ///
    /// # Errors
    /// [`FieldError`] when the value is not a decimal with at most six places.
    pub fn micros(&self, tag: u32) -> Result<Option<i64>, FieldError> {
        self.get(tag)
            .map(|value| parse_micros(value).ok_or(FieldError { tag }))
            .transpose()
    }

    /// Whether `tag` is `Y`.
    #[must_use]
    pub fn flag(&self, tag: u32) -> bool {
        self.get(tag) == Some(b"Y")
    }
}

/// Digits as a `u64` (no sign, no spaces; at most 19 digits).
#[must_use]
pub fn parse_uint(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

/// A decimal (`-12.5`, `100`, `0.000001`) in millionths; `None` past six places or out
/// of range.
#[must_use]
pub fn parse_micros(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &[][..]),
    };
    if (whole.is_empty() && fraction.is_empty()) || whole.len() > 12 {
        return None;
    }
    // Trailing zeros past six places change nothing.
    let significant = fraction.len() - fraction.iter().rev().take_while(|&&b| b == b'0').count();
    if significant > 6 {
        return None;
    }
    let whole = if whole.is_empty() {
        0
    } else {
        parse_uint(whole)?
    };
    let mut micros = whole.checked_mul(1_000_000)?;
    let mut scale = 100_000;
    for &d in &fraction[..significant] {
        if !d.is_ascii_digit() {
            return None;
        }
        micros += u64::from(d - b'0') * scale;
        scale /= 10;
    }
    if fraction[significant..].iter().any(|&b| b != b'0') {
        return None;
    }
    let micros = i64::try_from(micros).ok()?;
    Some(if negative { -micros } else { micros })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(text: &str) -> Vec<u8> {
        text.replace('|', "\u{1}").into_bytes()
    }

    /// A message with its BodyLength and CheckSum filled in.
    fn message(begin: &str, body: &str) -> Vec<u8> {
        let body = body.replace('|', "\u{1}");
        let head = format!("8={begin}\u{1}9={}\u{1}", body.len());
        let mut bytes = format!("{head}{body}").into_bytes();
        let sum = checksum(&bytes);
        bytes.extend_from_slice(format!("10={sum:03}\u{1}").as_bytes());
        bytes
    }

    #[test]
    fn a_whole_message_parses_and_its_fields_are_slices_of_it() {
        let bytes = message(
            "FIX.4.4",
            "35=D|49=C1|56=CROSSLINE|34=2|11=A7|44=101.25|38=100|",
        );
        assert_eq!(frame_length(&bytes), Ok(Some(bytes.len())));
        let parsed = Message::parse(&bytes).unwrap();
        assert_eq!(parsed.begin_string(), b"FIX.4.4");
        assert_eq!(parsed.msg_type(), b"D");
        assert_eq!(parsed.get(tags::CL_ORD_ID), Some(&b"A7"[..]));
        assert_eq!(parsed.uint(tags::MSG_SEQ_NUM), Ok(Some(2)));
        assert_eq!(parsed.micros(tags::PRICE), Ok(Some(101_250_000)));
        assert_eq!(
            parsed.uint(tags::PRICE),
            Err(FieldError { tag: tags::PRICE })
        );
        assert_eq!(parsed.get(tags::TEXT), None);
        assert_eq!(parsed.fields().count(), 7);
    }

    #[test]
    fn framing_waits_for_the_rest_and_refuses_what_cannot_be_split() {
        let bytes = message("FIX.4.2", "35=0|49=C1|56=X|34=9|");
        for cut in 0..bytes.len() {
            assert_eq!(frame_length(&bytes[..cut]), Ok(None), "{cut}");
        }
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        assert_eq!(frame_length(&two), Ok(Some(bytes.len())));
        assert_eq!(
            frame_length(b"GET / HTTP/1.1"),
            Err(FrameError::NoBeginString { found: b'G' })
        );
        assert_eq!(
            frame_length(&wire("8=FIX.4.4|35=0|")),
            Err(FrameError::NoBodyLength)
        );
        assert!(matches!(
            frame_length(&wire("8=FIX.4.4|9=99999|")),
            Err(FrameError::TooLong { .. })
        ));
    }

    #[test]
    fn a_wrong_body_length_is_framed_by_its_trailer_and_refused() {
        let good = message("FIX.4.4", "35=0|49=C1|56=X|34=9|");
        let text = String::from_utf8(good.clone()).unwrap();
        let bad = text.replacen("9=21", "9=25", 1).into_bytes();
        // The next message follows; the bad one ends at its own trailer.
        let mut stream = bad.clone();
        stream.extend_from_slice(&good);
        assert_eq!(frame_length(&stream), Ok(Some(bad.len())));
        assert_eq!(
            Message::parse(&bad).unwrap_err(),
            ParseError::BodyLength {
                declared: 25,
                actual: 21
            }
        );
    }

    #[test]
    fn a_bad_checksum_names_both_sums() {
        let mut bytes = message("FIX.4.4", "35=0|49=C1|56=X|34=9|");
        let at = bytes.len() - 2;
        bytes[at] = if bytes[at] == b'9' {
            b'0'
        } else {
            bytes[at] + 1
        };
        let error = Message::parse(&bytes).unwrap_err();
        assert!(matches!(error, ParseError::CheckSum { .. }), "{error}");
        assert_eq!(
            error.session_reject_reason(),
            (5, Some(tags::CHECK_SUM)),
            "{error}"
        );
    }

    #[test]
    fn malformed_fields_are_named() {
        let cases = [
            ("49=C1|35=0|", ParseError::MsgTypeNotThird),
            ("35=0|49=|", ParseError::EmptyValue { tag: 49 }),
            (
                "35=0|x9=1|",
                ParseError::Syntax {
                    index: 1,
                    offset: 0,
                },
            ),
            (
                "35=0|0=1|",
                ParseError::Syntax {
                    index: 1,
                    offset: 0,
                },
            ),
        ];
        for (body, expected) in cases {
            let bytes = message("FIX.4.4", body);
            let error = Message::parse(&bytes).unwrap_err();
            match (error, expected) {
                (ParseError::Syntax { index, .. }, ParseError::Syntax { index: want, .. }) => {
                    assert_eq!(index, want, "{body}");
                }
                _ => assert_eq!(error, expected, "{body}"),
            }
        }
        let many: String = (0..=FIELDS_MAX)
            .map(|n| format!("{}=1|", 1000 + n))
            .collect();
        let bytes = message("FIX.4.4", &format!("35=0|{many}"));
        assert_eq!(
            Message::parse(&bytes).unwrap_err(),
            ParseError::TooManyFields
        );
    }

    #[test]
    fn decimals_parse_to_millionths_exactly() {
        assert_eq!(parse_micros(b"101.25"), Some(101_250_000));
        assert_eq!(parse_micros(b"0.000001"), Some(1));
        assert_eq!(parse_micros(b"-1.5"), Some(-1_500_000));
        assert_eq!(parse_micros(b"100"), Some(100_000_000));
        assert_eq!(parse_micros(b".5"), Some(500_000));
        assert_eq!(parse_micros(b"1.50000000"), Some(1_500_000));
        assert_eq!(parse_micros(b"1.0000001"), None);
        assert_eq!(parse_micros(b"1e5"), None);
        assert_eq!(parse_micros(b"."), None);
        assert_eq!(parse_micros(b""), None);
        assert_eq!(parse_micros(b"1.2.3"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_frame_and_parse_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = frame_length(&bytes);
            let _ = Message::parse(&bytes);
        }

        #[test]
        fn any_decimal_with_six_places_round_trips(micros in -1_000_000_000_000i64..1_000_000_000_000) {
            let text = format!("{}{}.{:06}", if micros < 0 { "-" } else { "" }, micros.unsigned_abs() / 1_000_000, micros.unsigned_abs() % 1_000_000);
            proptest::prop_assert_eq!(parse_micros(text.as_bytes()), Some(micros));
        }
    }
}
