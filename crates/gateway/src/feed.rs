//! The market-data feed's ingress: packets checked and put in order, NBBO messages turned
//! into journaled commands, venue tops kept for routing, and gaps handled.
//!
//! **Market status** (halt and resume, the limit-up/limit-down band, Rule 201) becomes an
//! `Admin` command from operator 0, the market (settings 14, 8 and 9), sequenced and
//! journaled like a quote and applied by the risk gate. The publisher repeats each
//! symbol's status with its quotes, so the ingress submits a status only when it differs
//! from the last one it submitted for that symbol: an operator's band or Rule 201 setting
//! then stands until the market changes it. The market's halt is kept apart from an
//! operator's halt in the gate (either halts the symbol).
//!
//! **On a gap** (messages numbered past the next expected one): any lost message may have
//! been an NBBO change, so no symbol's NBBO can be trusted. The ingress submits an empty
//! NBBO (no bid, no offer) for every configured symbol, journaled like any quote. The
//! matcher treats an empty NBBO as unusable, so until a fresh quote for a symbol arrives
//! (the publisher refreshes every symbol periodically) the engine makes no principal fill
//! and no cross in it, and routes or rejects per `unusable_nbbo`. Venue tops are cleared
//! the same way. Late and duplicated packets are dropped; a packet that overlaps what was
//! seen contributes only its new messages. A malformed packet is dropped whole and
//! counted, and the gap it leaves is handled when the next good packet shows it.

use crossline_protocol::market_data::{
    decode_packet, Arrival, MarketData, Sequencer, ENTRIES_PER_PACKET_MAX,
};
use crossline_types::layout::{head, AdminLayout, VenueTopLayout};
use crossline_types::{
    Message, Price, Quantity, Quote, SequenceNumber, SymbolId, Timestamp, ValueError,
};
use zerocopy::little_endian::{I64, U32};

/// What a feed message asks of the engine: each becomes a journaled command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedCommand {
    /// A new NBBO (empty after a gap).
    Nbbo(Quote),
    /// A change of a symbol's market status: a [`MarketData::Halt`], [`MarketData::Band`]
    /// or [`MarketData::Rule201`].
    Status(MarketData),
}

impl FeedCommand {
    /// The command as its message on the sequencer's input ring (sequence zero): an
    /// `Nbbo`, or an `Admin` change from operator 0 (the market).
    #[must_use]
    pub fn to_message(&self, time: Timestamp) -> Message {
        let status = match *self {
            FeedCommand::Nbbo(quote) => return quote.to_message(SequenceNumber::new(0), time),
            FeedCommand::Status(status) => status,
        };
        let mut view = head::<AdminLayout>(SequenceNumber::new(0), time);
        view.target = U32::new(status.symbol().get());
        view.setting = match status {
            MarketData::Halt { halted, .. } => {
                view.flags = u8::from(halted) * AdminLayout::FLAG_ON;
                MARKET_HALT_SETTING
            }
            MarketData::Band { band, .. } => {
                if let Some((lower, upper)) = band {
                    view.flags = AdminLayout::FLAG_BAND;
                    view.a = I64::new(lower.micros());
                    view.b = I64::new(upper.micros());
                }
                BAND_SETTING
            }
            MarketData::Rule201 { on, .. } => {
                view.flags = u8::from(on) * AdminLayout::FLAG_ON;
                RULE_201_SETTING
            }
            MarketData::Nbbo(_) | MarketData::VenueTop { .. } => unreachable!("not a status"),
        };
        Message::from_view(&view)
    }
}

/// Admin setting codes (`docs/MESSAGES.md`, "Admin settings") the feed's status sets.
const BAND_SETTING: u8 = 8;
const RULE_201_SETTING: u8 = 9;
const MARKET_HALT_SETTING: u8 = 14;

/// The status the ingress last submitted for one symbol (`None`: nothing since the start
/// or the last gap, so the next word is submitted whatever it says).
#[derive(Debug, Clone, Copy, Default)]
struct StatusSeen {
    halted: Option<bool>,
    band: Option<Option<(Price, Price)>>,
    rule_201: Option<bool>,
}

impl StatusSeen {
    /// Records `status`; `true` when it differs from what was last submitted.
    fn changes(&mut self, status: &MarketData) -> bool {
        fn update<T: PartialEq + Copy>(slot: &mut Option<T>, value: T) -> bool {
            let changed = *slot != Some(value);
            *slot = Some(value);
            changed
        }
        match *status {
            MarketData::Halt { halted, .. } => update(&mut self.halted, halted),
            MarketData::Band { band, .. } => update(&mut self.band, band),
            MarketData::Rule201 { on, .. } => update(&mut self.rule_201, on),
            MarketData::Nbbo(_) | MarketData::VenueTop { .. } => false,
        }
    }
}

/// Gaps and malformed packets logged, each; later ones are only counted.
const LOGGED_MAX: u64 = 10;

/// What the feed has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Packets taken (in order, first, or overlapping).
    pub packets: u64,
    /// Messages taken.
    pub messages: u64,
    /// Gaps detected.
    pub gaps: u64,
    /// Messages lost in gaps.
    pub messages_lost: u64,
    /// Late or duplicated packets dropped.
    pub duplicates: u64,
    /// Malformed packets dropped.
    pub malformed: u64,
    /// Market-status changes submitted (halts, bands, Rule 201).
    pub status_changes: u64,
    /// Messages for symbols not configured, dropped.
    pub unknown_symbols: u64,
}

/// A change to the venue tops the feed keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopChange {
    /// `venue` now shows `quote` for `quote.symbol`.
    Set {
        /// The venue.
        venue: u8,
        /// Its top of book.
        quote: Quote,
    },
    /// A gap: every venue top is unknown until fresh ones arrive.
    ClearAll,
}

impl TopChange {
    /// The change as its 56-byte message on the `venue_tops` ring ([`VenueTopLayout`],
    /// sequence zero: venue tops are not journaled).
    #[must_use]
    pub fn to_message(&self, time: Timestamp) -> Message {
        let mut view = head::<VenueTopLayout>(SequenceNumber::new(0), time);
        match *self {
            TopChange::Set { venue, quote } => {
                view.venue = venue;
                view.symbol = U32::new(quote.symbol.get());
                view.bid = I64::new(quote.bid.micros());
                view.ask = I64::new(quote.ask.micros());
                view.bid_size = U32::new(quote.bid_size.shares());
                view.ask_size = U32::new(quote.ask_size.shares());
            }
            TopChange::ClearAll => view.flags = VenueTopLayout::FLAG_CLEAR_ALL,
        }
        Message::from_view(&view)
    }

    /// The change a [`VenueTopLayout`] message holds.
    ///
    /// # Errors
    /// [`ValueError::UnknownCode`] for a message of another kind or a flag bit not
    /// defined.
    pub fn from_message(message: &Message) -> Result<TopChange, ValueError> {
        let view = message
            .view::<VenueTopLayout>()
            .ok_or(ValueError::UnknownCode {
                what: "message kind (a VenueTop, 19, expected)",
                code: message.kind(),
            })?;
        match view.flags {
            0 => Ok(TopChange::Set {
                venue: view.venue,
                quote: Quote {
                    symbol: SymbolId::new(view.symbol.get()),
                    bid_size: Quantity::new(view.bid_size.get()),
                    bid: Price::from_micros(view.bid.get()),
                    ask: Price::from_micros(view.ask.get()),
                    ask_size: Quantity::new(view.ask_size.get()),
                },
            }),
            VenueTopLayout::FLAG_CLEAR_ALL => Ok(TopChange::ClearAll),
            flags => Err(ValueError::UnknownCode {
                what: "VenueTop flags",
                code: flags,
            }),
        }
    }
}

/// The venue tops, kept from a feed's [`TopChange`]s by a router on another thread.
pub struct VenueTops {
    symbols: Vec<SymbolId>,
    tops: Vec<[Option<Quote>; 256]>,
}

impl VenueTops {
    /// Empty tops for the configured `symbols`.
    #[must_use]
    pub fn new(mut symbols: Vec<SymbolId>) -> VenueTops {
        symbols.sort_unstable();
        symbols.dedup();
        VenueTops {
            tops: vec![[None; 256]; symbols.len()],
            symbols,
        }
    }

    /// Applies one change.
    pub fn apply(&mut self, change: TopChange) {
        match change {
            TopChange::Set { venue, quote } => {
                if let Ok(index) = self.symbols.binary_search(&quote.symbol) {
                    self.tops[index][usize::from(venue)] = Some(quote);
                }
            }
            TopChange::ClearAll => {
                for tops in &mut self.tops {
                    tops.fill(None);
                }
            }
        }
    }
}

impl crossline_router::Tops for VenueTops {
    fn venue_top(&self, venue: u8, symbol: SymbolId) -> Option<Quote> {
        let index = self.symbols.binary_search(&symbol).ok()?;
        self.tops[index][usize::from(venue)]
    }
}

/// The feed ingress.
pub struct Feed {
    sequencer: Sequencer,
    symbols: Vec<SymbolId>,
    /// The latest top of book per venue and symbol, for the router.
    tops: VenueTops,
    entries: [MarketData; ENTRIES_PER_PACKET_MAX],
    /// Per symbol (in `symbols`' order), the market status last submitted.
    status: Vec<StatusSeen>,
    stats: FeedStats,
}

impl Feed {
    /// Symbols configured: a gap submits one empty NBBO for each.
    #[must_use]
    pub fn symbols(&self) -> usize {
        self.symbols.len()
    }

    /// A feed for the configured `symbols`.
    #[must_use]
    pub fn new(mut symbols: Vec<SymbolId>) -> Feed {
        // Sorted: a message finds its symbol by binary search.
        symbols.sort_unstable();
        symbols.dedup();
        Feed {
            sequencer: Sequencer::default(),
            tops: VenueTops::new(symbols.clone()),
            status: vec![StatusSeen::default(); symbols.len()],
            symbols,
            entries: [MarketData::Nbbo(Quote::empty(SymbolId::new(0))); ENTRIES_PER_PACKET_MAX],
            stats: FeedStats::default(),
        }
    }

    /// What the feed has seen.
    #[must_use]
    pub fn stats(&self) -> FeedStats {
        self.stats
    }

    /// The latest top of book `venue` showed for `symbol`, if any since the last gap.
    #[must_use]
    pub fn venue_top(&self, venue: u8, symbol: SymbolId) -> Option<Quote> {
        crossline_router::Tops::venue_top(&self.tops, venue, symbol)
    }

    /// Takes one datagram; calls `submit` with each command it causes, in order (an NBBO,
    /// or a change of market status).
    pub fn on_datagram(&mut self, datagram: &[u8], submit: &mut impl FnMut(FeedCommand)) {
        self.on_datagram_tops(datagram, submit, &mut |_| {});
    }

    /// [`Feed::on_datagram`], also calling `top` with each change to the venue tops, for
    /// a router on another thread that keeps its own copy ([`VenueTops`]).
    pub fn on_datagram_tops(
        &mut self,
        datagram: &[u8],
        submit: &mut impl FnMut(FeedCommand),
        top: &mut impl FnMut(TopChange),
    ) {
        let header = match decode_packet(datagram, &mut self.entries) {
            Ok(header) => header,
            Err(error) => {
                self.stats.malformed += 1;
                if self.stats.malformed <= LOGGED_MAX {
                    eprintln!("crossline: market data: packet dropped: {error}");
                }
                return;
            }
        };
        let skip = match self.sequencer.arrive(&header) {
            Arrival::First | Arrival::InOrder => 0,
            Arrival::Overlap { skip } => skip,
            Arrival::Duplicate => {
                self.stats.duplicates += 1;
                return;
            }
            Arrival::Gap { from, to } => {
                self.stats.gaps += 1;
                self.stats.messages_lost += to - from;
                // Logged for the first few; the counters carry the rest (a flapping feed
                // must not turn the ingress into a log writer).
                if self.stats.gaps <= LOGGED_MAX {
                    eprintln!(
                        "crossline: market data: gap, messages {from} to {} lost; every NBBO \
                         is cleared until fresh quotes arrive",
                        to - 1
                    );
                }
                for &symbol in &self.symbols {
                    submit(FeedCommand::Nbbo(Quote::empty(symbol)));
                }
                // A lost message may have changed a status: the next word on each is
                // submitted whatever it says.
                self.status.fill(StatusSeen::default());
                self.tops.apply(TopChange::ClearAll);
                top(TopChange::ClearAll);
                0
            }
        };
        self.stats.packets += 1;
        for entry in &self.entries[skip..header.count] {
            let Ok(index) = self.symbols.binary_search(&entry.symbol()) else {
                self.stats.unknown_symbols += 1;
                continue;
            };
            self.stats.messages += 1;
            match *entry {
                MarketData::Nbbo(quote) => submit(FeedCommand::Nbbo(quote)),
                MarketData::VenueTop { venue, quote } => {
                    let change = TopChange::Set { venue, quote };
                    self.tops.apply(change);
                    top(change);
                }
                MarketData::Halt { .. } | MarketData::Band { .. } | MarketData::Rule201 { .. } => {
                    if self.status[index].changes(entry) {
                        self.stats.status_changes += 1;
                        submit(FeedCommand::Status(*entry));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossline_protocol::market_data::PacketWriter;
    use crossline_types::layout::Layout;

    fn quote(symbol: u32, bid: i64) -> Quote {
        Quote {
            symbol: SymbolId::new(symbol),
            bid_size: Quantity::new(100),
            bid: Price::from_micros(bid),
            ask: Price::from_micros(bid + 20_000),
            ask_size: Quantity::new(100),
        }
    }

    fn packet(sequence: u64, messages: &[MarketData]) -> Vec<u8> {
        let mut writer = PacketWriter::default();
        for message in messages {
            assert!(writer.push(message));
        }
        writer.finish(sequence, 0).to_vec()
    }

    fn commands(feed: &mut Feed, datagram: &[u8]) -> Vec<Quote> {
        let mut out = Vec::new();
        feed.on_datagram(datagram, &mut |command| match command {
            FeedCommand::Nbbo(quote) => out.push(quote),
            FeedCommand::Status(status) => panic!("unexpected {status:?}"),
        });
        out
    }

    fn statuses(feed: &mut Feed, datagram: &[u8]) -> Vec<FeedCommand> {
        let mut out = Vec::new();
        feed.on_datagram(datagram, &mut |command| out.push(command));
        out
    }

    #[test]
    fn a_status_is_submitted_when_it_changes_and_again_after_a_gap() {
        let symbol = SymbolId::new(1);
        let mut feed = Feed::new(vec![symbol]);
        let halt = MarketData::Halt {
            symbol,
            halted: true,
        };
        let band = MarketData::Band {
            symbol,
            band: Some((
                Price::from_micros(9_000_000),
                Price::from_micros(11_000_000),
            )),
        };
        let first = statuses(&mut feed, &packet(1, &[halt, band]));
        assert_eq!(
            first,
            vec![FeedCommand::Status(halt), FeedCommand::Status(band)]
        );
        // Repeated unchanged with the next refresh: nothing new.
        assert!(statuses(&mut feed, &packet(3, &[halt, band])).is_empty());
        let resume = MarketData::Halt {
            symbol,
            halted: false,
        };
        assert_eq!(
            statuses(&mut feed, &packet(5, &[resume])),
            vec![FeedCommand::Status(resume)]
        );
        // A gap: the NBBO is cleared and the next word on each status is taken again.
        let after_gap = statuses(&mut feed, &packet(9, &[resume]));
        assert_eq!(
            after_gap,
            vec![
                FeedCommand::Nbbo(Quote::empty(symbol)),
                FeedCommand::Status(resume)
            ]
        );
        assert_eq!(feed.stats().status_changes, 4);

        // Each becomes an Admin command from operator 0 with the documented setting.
        let message = FeedCommand::Status(halt).to_message(Timestamp::new(5));
        assert_eq!(message.kind(), AdminLayout::KIND);
        let view = message.view::<AdminLayout>().unwrap();
        assert_eq!(
            (
                view.setting,
                view.flags,
                view.operator.get(),
                view.target.get()
            ),
            (14, AdminLayout::FLAG_ON, 0, 1)
        );
        let message = FeedCommand::Status(band).to_message(Timestamp::new(5));
        let view = message.view::<AdminLayout>().unwrap();
        assert_eq!(
            (view.setting, view.flags, view.a.get(), view.b.get()),
            (8, AdminLayout::FLAG_BAND, 9_000_000, 11_000_000)
        );
    }

    #[test]
    fn a_top_change_crosses_its_ring_as_a_venue_top_message_and_back() {
        let set = TopChange::Set {
            venue: 3,
            quote: quote(7, 101_250_000),
        };
        let message = set.to_message(Timestamp::new(42));
        assert_eq!(message.kind(), VenueTopLayout::KIND);
        assert_eq!((message.sequence(), message.time()), (0, 42));
        assert_eq!(TopChange::from_message(&message), Ok(set));
        let clear = TopChange::ClearAll.to_message(Timestamp::new(43));
        assert_eq!(TopChange::from_message(&clear), Ok(TopChange::ClearAll));

        let mut bytes = *message.bytes();
        bytes[18] = 2; // a flag bit not defined
        assert_eq!(
            TopChange::from_message(&Message::from_bytes(bytes)),
            Err(ValueError::UnknownCode {
                what: "VenueTop flags",
                code: 2
            })
        );
        bytes[16] = 18; // a route, not a top
        assert!(matches!(
            TopChange::from_message(&Message::from_bytes(bytes)),
            Err(ValueError::UnknownCode { code: 18, .. })
        ));
    }

    #[test]
    fn a_gap_clears_every_nbbo_and_venue_top_before_the_new_quotes() {
        let mut feed = Feed::new(vec![SymbolId::new(1), SymbolId::new(2)]);
        let first = [
            MarketData::Nbbo(quote(1, 100)),
            MarketData::VenueTop {
                venue: 3,
                quote: quote(2, 50),
            },
        ];
        assert_eq!(commands(&mut feed, &packet(1, &first)), vec![quote(1, 100)]);
        assert_eq!(feed.venue_top(3, SymbolId::new(2)), Some(quote(2, 50)));
        // Messages 3 and 4 are lost; 5 arrives.
        let after_gap = commands(&mut feed, &packet(5, &[MarketData::Nbbo(quote(2, 70))]));
        assert_eq!(
            after_gap,
            vec![
                Quote::empty(SymbolId::new(1)),
                Quote::empty(SymbolId::new(2)),
                quote(2, 70),
            ]
        );
        assert_eq!(feed.venue_top(3, SymbolId::new(2)), None);
        let stats = feed.stats();
        assert_eq!((stats.gaps, stats.messages_lost), (1, 2));
        // The late packet is dropped whole; an overlapping one gives only what is new.
        assert!(commands(&mut feed, &packet(3, &[MarketData::Nbbo(quote(1, 1))])).is_empty());
        assert_eq!(feed.stats().duplicates, 1);
        let overlap = [
            MarketData::Nbbo(quote(2, 71)),
            MarketData::Nbbo(quote(1, 101)),
        ];
        assert_eq!(
            commands(&mut feed, &packet(5, &overlap)),
            vec![quote(1, 101)]
        );
    }

    #[test]
    fn malformed_packets_and_unknown_symbols_are_dropped_and_counted() {
        let mut feed = Feed::new(vec![SymbolId::new(1)]);
        let mut bad = packet(1, &[MarketData::Nbbo(quote(1, 100))]);
        bad[0] = b'X';
        assert!(commands(&mut feed, &bad).is_empty());
        assert!(commands(&mut feed, &packet(1, &[MarketData::Nbbo(quote(9, 100))])).is_empty());
        let stats = feed.stats();
        assert_eq!((stats.malformed, stats.unknown_symbols), (1, 1));
    }
}
