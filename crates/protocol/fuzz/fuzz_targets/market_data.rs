//! The market-data packet decoder and the feed sequencer: the input is split into
//! datagrams by a length byte, each decoded and, when valid, re-encoded to the same bytes
//! and run through the gap tracker.
#![no_main]

use crossline_protocol::market_data::{
    decode_packet, MarketData, PacketWriter, Sequencer, ENTRIES_PER_PACKET_MAX,
};
use crossline_types::{Quote, SymbolId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let empty = MarketData::Nbbo(Quote::empty(SymbolId::new(0)));
    let mut out = [empty; ENTRIES_PER_PACKET_MAX];
    let mut sequencer = Sequencer::default();
    let mut rest = data;
    while let Some((&length, tail)) = rest.split_first() {
        // A length byte, scaled so that whole packets (up to 1304 bytes) can occur.
        let length = (usize::from(length) * 8).min(tail.len());
        let (datagram, next) = tail.split_at(length);
        if let Ok(header) = decode_packet(datagram, &mut out) {
            let mut writer = PacketWriter::default();
            for message in &out[..header.count] {
                assert!(writer.push(message));
            }
            assert_eq!(writer.finish(header.sequence, header.send_time_ns), datagram);
            let _ = sequencer.arrive(&header);
        }
        rest = next;
    }
});
