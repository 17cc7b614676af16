//! The market-data feed over UDP: the NBBO and each venue's top of book, in
//! sequence-numbered packets, and the file format that records a feed for replay.
//! Byte tables: `docs/PROTOCOL.md`.
//!
//! Sequence numbers count messages, not packets (as MoldUDP64 does): a packet carries
//! `count` messages numbered from its header's `sequence`, and a packet with no messages
//! is a heartbeat announcing the next number. [`Sequencer`] turns arrivals into in-order
//! messages, duplicates and gaps.

use std::io::{self, Read, Write};

use crossline_types::{Price, Quantity, Quote, SymbolId};

/// The packet magic.
pub const MAGIC: [u8; 4] = *b"CXMD";
/// The packet layout's version.
pub const VERSION: u8 = 1;
/// Bytes in a packet header.
pub const PACKET_HEADER_BYTES: usize = 24;
/// Bytes in one message.
pub const ENTRY_BYTES: usize = 32;
/// Messages in one packet, at most (the packet stays under a 1500-byte MTU).
pub const ENTRIES_PER_PACKET_MAX: usize = 40;
/// The largest packet.
pub const PACKET_BYTES_MAX: usize = PACKET_HEADER_BYTES + ENTRIES_PER_PACKET_MAX * ENTRY_BYTES;

const _: () = assert!(PACKET_BYTES_MAX <= 1472);

/// One market-data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketData {
    /// The national best bid and offer.
    Nbbo(Quote),
    /// One venue's best bid and offer.
    VenueTop {
        /// The venue (1 to 255).
        venue: u8,
        /// Its quote.
        quote: Quote,
    },
    /// The listing market halted trading in the symbol, or resumed it.
    Halt {
        /// The symbol.
        symbol: SymbolId,
        /// `true`: halted; `false`: trading resumed.
        halted: bool,
    },
    /// The symbol's limit-up/limit-down price band, or none.
    Band {
        /// The symbol.
        symbol: SymbolId,
        /// The lower and upper bound (`None`: no band in force).
        band: Option<(Price, Price)>,
    },
    /// Reg SHO Rule 201's short-sale price test was triggered for the symbol, or lifted.
    Rule201 {
        /// The symbol.
        symbol: SymbolId,
        /// `true`: the price test is in force.
        on: bool,
    },
}

impl MarketData {
    /// The message's symbol.
    #[must_use]
    pub const fn symbol(&self) -> SymbolId {
        match self {
            MarketData::Nbbo(quote) | MarketData::VenueTop { quote, .. } => quote.symbol,
            MarketData::Halt { symbol, .. }
            | MarketData::Band { symbol, .. }
            | MarketData::Rule201 { symbol, .. } => *symbol,
        }
    }
}

/// A packet's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHeader {
    /// The first message's sequence number (a heartbeat: the next one's).
    pub sequence: u64,
    /// Messages in the packet.
    pub count: usize,
    /// When the publisher sent it, nanoseconds since the epoch (its clock).
    pub send_time_ns: u64,
}

/// Why a datagram was refused. The whole packet is dropped, and its sequence numbers
/// count as missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Shorter than a header.
    #[error("datagram of {length} bytes is shorter than the {PACKET_HEADER_BYTES}-byte header")]
    Short {
        /// Its length.
        length: usize,
    },
    /// Not this feed.
    #[error("bad magic {magic:02x?}")]
    Magic {
        /// The first four bytes.
        magic: [u8; 4],
    },
    /// Another layout version.
    #[error("version {version}, expected {VERSION}")]
    Version {
        /// The version byte.
        version: u8,
    },
    /// The length is not the header plus `count` messages.
    #[error("{length} bytes for {count} messages (expected {expected})")]
    Length {
        /// The datagram's length.
        length: usize,
        /// The count field.
        count: u8,
        /// The length that count needs.
        expected: usize,
    },
    /// A field is outside its domain.
    #[error("message {index}: field {field} has the invalid value {value}")]
    BadField {
        /// Which message in the packet (0 for the header).
        index: usize,
        /// The field's name.
        field: &'static str,
        /// The value read.
        value: i64,
    },
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut array = [0u8; 8];
    array.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(array)
}

/// Decodes a datagram into `out` (no allocation); returns the header. Every message is
/// checked before any is handed back, so a packet is taken whole or not at all.
///
/// # Errors
/// A [`PacketError`] naming the first thing wrong.
pub fn decode_packet(
    datagram: &[u8],
    out: &mut [MarketData; ENTRIES_PER_PACKET_MAX],
) -> Result<PacketHeader, PacketError> {
    if datagram.len() < PACKET_HEADER_BYTES {
        return Err(PacketError::Short {
            length: datagram.len(),
        });
    }
    let magic = [datagram[0], datagram[1], datagram[2], datagram[3]];
    if magic != MAGIC {
        return Err(PacketError::Magic { magic });
    }
    if datagram[4] != VERSION {
        return Err(PacketError::Version {
            version: datagram[4],
        });
    }
    let count = datagram[5];
    let expected = PACKET_HEADER_BYTES + usize::from(count) * ENTRY_BYTES;
    if usize::from(count) > ENTRIES_PER_PACKET_MAX || datagram.len() != expected {
        return Err(PacketError::Length {
            length: datagram.len(),
            count,
            expected,
        });
    }
    if datagram[6] != 0 || datagram[7] != 0 {
        return Err(PacketError::BadField {
            index: 0,
            field: "reserved",
            value: i64::from(u16::from_le_bytes([datagram[6], datagram[7]])),
        });
    }
    for (index, entry) in datagram[PACKET_HEADER_BYTES..]
        .chunks_exact(ENTRY_BYTES)
        .enumerate()
    {
        out[index] = decode_entry(index, entry)?;
    }
    Ok(PacketHeader {
        sequence: u64_at(datagram, 8),
        count: usize::from(count),
        send_time_ns: u64_at(datagram, 16),
    })
}

fn decode_entry(index: usize, entry: &[u8]) -> Result<MarketData, PacketError> {
    let bad = |field: &'static str, value: i64| PacketError::BadField {
        index,
        field,
        value,
    };
    if entry[2] != 0 || entry[3] != 0 {
        return Err(bad(
            "reserved",
            i64::from(entry[2]) << 8 | i64::from(entry[3]),
        ));
    }
    if (3..=5).contains(&entry[0]) {
        return decode_status(entry, &bad);
    }
    #[allow(clippy::cast_possible_wrap)] // prices are signed micro-dollars on the wire
    let (bid, ask) = (u64_at(entry, 8) as i64, u64_at(entry, 16) as i64);
    if bid < 0 {
        return Err(bad("bid", bid));
    }
    if ask < 0 {
        return Err(bad("ask", ask));
    }
    let quote = Quote {
        symbol: SymbolId::new(u32_at(entry, 4)),
        bid_size: Quantity::new(u32_at(entry, 24)),
        bid: Price::from_micros(bid),
        ask: Price::from_micros(ask),
        ask_size: Quantity::new(u32_at(entry, 28)),
    };
    match (entry[0], entry[1]) {
        (1, 0) => Ok(MarketData::Nbbo(quote)),
        (1, venue) => Err(bad("venue", i64::from(venue))),
        (2, 0) => Err(bad("venue", 0)),
        (2, venue) => Ok(MarketData::VenueTop { venue, quote }),
        (kind, _) => Err(bad("kind", i64::from(kind))),
    }
}

/// A market-status entry (kinds 3 to 5): byte 1 zero; a halt or Rule 201 entry holds
/// its on/off value in byte 8 and zeros after it; a band entry its lower and upper bound
/// at 8 and 16 (both zero: no band) and zeros after them.
fn decode_status(
    entry: &[u8],
    bad: &impl Fn(&'static str, i64) -> PacketError,
) -> Result<MarketData, PacketError> {
    let symbol = SymbolId::new(u32_at(entry, 4));
    if entry[1] != 0 {
        return Err(bad("venue", i64::from(entry[1])));
    }
    let zeros_from = |start: usize| -> Result<(), PacketError> {
        match entry[start..].iter().position(|&byte| byte != 0) {
            None => Ok(()),
            Some(at) => Err(bad("reserved", i64::from(entry[start + at]))),
        }
    };
    let flag = |name| match entry[8] {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(bad(name, i64::from(other))),
    };
    match entry[0] {
        3 => {
            let halted = flag("halted")?;
            zeros_from(9)?;
            Ok(MarketData::Halt { symbol, halted })
        }
        4 => {
            zeros_from(24)?;
            #[allow(clippy::cast_possible_wrap)] // prices are signed micro-dollars on the wire
            let (lower, upper) = (u64_at(entry, 8) as i64, u64_at(entry, 16) as i64);
            let band = match (lower, upper) {
                (0, 0) => None,
                _ if lower <= 0 => return Err(bad("lower", lower)),
                _ if upper < lower => return Err(bad("upper", upper)),
                _ => Some((Price::from_micros(lower), Price::from_micros(upper))),
            };
            Ok(MarketData::Band { symbol, band })
        }
        _ => {
            let on = flag("on")?;
            zeros_from(9)?;
            Ok(MarketData::Rule201 { symbol, on })
        }
    }
}

/// Builds packets without allocating.
pub struct PacketWriter {
    bytes: [u8; PACKET_BYTES_MAX],
    count: usize,
}

impl Default for PacketWriter {
    fn default() -> PacketWriter {
        PacketWriter {
            bytes: [0u8; PACKET_BYTES_MAX],
            count: 0,
        }
    }
}

impl PacketWriter {
    /// Adds a message; `false` when the packet is full (send it first).
    pub fn push(&mut self, message: &MarketData) -> bool {
        if self.count == ENTRIES_PER_PACKET_MAX {
            return false;
        }
        let start = PACKET_HEADER_BYTES + self.count * ENTRY_BYTES;
        let entry = &mut self.bytes[start..start + ENTRY_BYTES];
        entry.fill(0);
        let (kind, venue, quote) = match *message {
            MarketData::Nbbo(ref quote) => (1, 0, quote),
            MarketData::VenueTop { venue, ref quote } => (2, venue, quote),
            MarketData::Halt { symbol, halted } => {
                Self::status(entry, 3, symbol, u8::from(halted), None);
                self.count += 1;
                return true;
            }
            MarketData::Band { symbol, band } => {
                Self::status(entry, 4, symbol, 0, band);
                self.count += 1;
                return true;
            }
            MarketData::Rule201 { symbol, on } => {
                Self::status(entry, 5, symbol, u8::from(on), None);
                self.count += 1;
                return true;
            }
        };
        entry[0] = kind;
        entry[1] = venue;
        entry[4..8].copy_from_slice(&quote.symbol.get().to_le_bytes());
        entry[8..16].copy_from_slice(&quote.bid.micros().to_le_bytes());
        entry[16..24].copy_from_slice(&quote.ask.micros().to_le_bytes());
        entry[24..28].copy_from_slice(&quote.bid_size.shares().to_le_bytes());
        entry[28..32].copy_from_slice(&quote.ask_size.shares().to_le_bytes());
        self.count += 1;
        true
    }

    /// Writes a market-status entry (`entry` zeroed).
    fn status(
        entry: &mut [u8],
        kind: u8,
        symbol: SymbolId,
        flag: u8,
        band: Option<(Price, Price)>,
    ) {
        entry[0] = kind;
        entry[4..8].copy_from_slice(&symbol.get().to_le_bytes());
        entry[8] = flag;
        if let Some((lower, upper)) = band {
            entry[8..16].copy_from_slice(&lower.micros().to_le_bytes());
            entry[16..24].copy_from_slice(&upper.micros().to_le_bytes());
        }
    }

    /// Messages in the packet so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the packet has no messages (a heartbeat).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Finishes the packet with its first message's sequence number and send time,
    /// returns its bytes, and starts a new packet.
    pub fn finish(&mut self, sequence: u64, send_time_ns: u64) -> &[u8] {
        self.bytes[0..4].copy_from_slice(&MAGIC);
        self.bytes[4] = VERSION;
        #[allow(clippy::cast_possible_truncation)] // at most ENTRIES_PER_PACKET_MAX
        let count = self.count as u8;
        self.bytes[5] = count;
        self.bytes[6] = 0;
        self.bytes[7] = 0;
        self.bytes[8..16].copy_from_slice(&sequence.to_le_bytes());
        self.bytes[16..24].copy_from_slice(&send_time_ns.to_le_bytes());
        let length = PACKET_HEADER_BYTES + self.count * ENTRY_BYTES;
        self.count = 0;
        &self.bytes[..length]
    }
}

/// What a packet's sequence numbers say, given what came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The first packet seen: the feed starts here.
    First,
    /// Next in order.
    InOrder,
    /// Messages `from..to` were never seen (`to` is this packet's first); this packet's
    /// messages are new.
    Gap {
        /// The first missing sequence number.
        from: u64,
        /// One past the last missing.
        to: u64,
    },
    /// Every message was seen before (a late or duplicated packet); drop it.
    Duplicate,
    /// The first `skip` messages were seen before; the rest are new.
    Overlap {
        /// Messages to skip.
        skip: usize,
    },
}

/// Tracks the feed's sequence numbers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sequencer {
    expected: Option<u64>,
}

impl Sequencer {
    /// Classifies a packet and moves the expected number past it.
    pub fn arrive(&mut self, header: &PacketHeader) -> Arrival {
        let count = header.count as u64;
        let end = header.sequence.saturating_add(count);
        let Some(expected) = self.expected else {
            self.expected = Some(end);
            return Arrival::First;
        };
        if header.sequence == expected {
            self.expected = Some(end);
            Arrival::InOrder
        } else if header.sequence > expected {
            self.expected = Some(end);
            Arrival::Gap {
                from: expected,
                to: header.sequence,
            }
        } else if end <= expected {
            Arrival::Duplicate
        } else {
            self.expected = Some(end);
            #[allow(clippy::cast_possible_truncation)] // less than count
            Arrival::Overlap {
                skip: (expected - header.sequence) as usize,
            }
        }
    }

    /// The next sequence number expected, once the feed has started.
    #[must_use]
    pub const fn expected(&self) -> Option<u64> {
        self.expected
    }
}

/// The recorded-feed file's magic.
pub const FILE_MAGIC: [u8; 8] = *b"CXMDFILE";
/// The recorded-feed file's version.
pub const FILE_VERSION: u32 = 1;

/// Why a recorded feed could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading failed.
    #[error("reading the feed file: {0}")]
    Io(#[from] io::Error),
    /// Not a feed file, or another version.
    #[error("not a Crossline feed file (version {FILE_VERSION}): bad header")]
    Header,
    /// A record is cut short or has an impossible length.
    #[error("record at byte {offset}: {what}")]
    Record {
        /// Where the record starts.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
}

/// Writes a recorded feed: a 16-byte header, then for each datagram its receive time
/// (u64 ns), its length (u32) and its bytes.
pub struct FileWriter<W: Write> {
    out: W,
}

impl<W: Write> FileWriter<W> {
    /// Writes the header.
    ///
    /// # Errors
    /// The write's error.
    pub fn new(mut out: W) -> io::Result<FileWriter<W>> {
        out.write_all(&FILE_MAGIC)?;
        out.write_all(&FILE_VERSION.to_le_bytes())?;
        out.write_all(&[0u8; 4])?;
        Ok(FileWriter { out })
    }

    /// Appends one datagram.
    ///
    /// # Errors
    /// The write's error.
    pub fn append(&mut self, receive_time_ns: u64, datagram: &[u8]) -> io::Result<()> {
        let length = u32::try_from(datagram.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "datagram too long"))?;
        self.out.write_all(&receive_time_ns.to_le_bytes())?;
        self.out.write_all(&length.to_le_bytes())?;
        self.out.write_all(datagram)
    }

    /// Flushes and returns the writer.
    ///
    /// # Errors
    /// The flush's error.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a recorded feed, one datagram at a time, into one reused buffer.
pub struct FileReader<R: Read> {
    input: R,
    buffer: Vec<u8>,
    offset: u64,
}

impl<R: Read> FileReader<R> {
    /// Checks the header.
    ///
    /// # Errors
    /// [`FileError::Header`] for another format or version.
    pub fn new(mut input: R) -> Result<FileReader<R>, FileError> {
        let mut header = [0u8; 16];
        input
            .read_exact(&mut header)
            .map_err(|_| FileError::Header)?;
        if header[..8] != FILE_MAGIC || header[8..12] != FILE_VERSION.to_le_bytes() {
            return Err(FileError::Header);
        }
        Ok(FileReader {
            input,
            buffer: vec![0u8; PACKET_BYTES_MAX.max(65_536)],
            offset: 16,
        })
    }

    /// The next datagram and its receive time; `None` at a clean end.
    ///
    /// # Errors
    /// [`FileError::Record`] for a record cut short or longer than any datagram.
    pub fn next_datagram(&mut self) -> Result<Option<(u64, &[u8])>, FileError> {
        let start = self.offset;
        let mut prefix = [0u8; 12];
        let got = read_up_to(&mut self.input, &mut prefix)?;
        if got == 0 {
            return Ok(None);
        }
        let cut = |what| FileError::Record {
            offset: start,
            what,
        };
        if got < prefix.len() {
            return Err(cut("cut short in its header"));
        }
        let time = u64_at(&prefix, 0);
        let length = u32_at(&prefix, 8) as usize;
        if length > self.buffer.len() {
            return Err(cut("length is longer than any datagram"));
        }
        if read_up_to(&mut self.input, &mut self.buffer[..length])? < length {
            return Err(cut("cut short in its datagram"));
        }
        self.offset += 12 + length as u64;
        Ok(Some((time, &self.buffer[..length])))
    }
}

fn read_up_to(input: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buffer.len() {
        match input.read(&mut buffer[got..]) {
            Ok(0) => break,
            Ok(length) => got += length,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(got)
}
