//! The recorded-feed file reader, and every datagram it yields through the packet decoder.
#![no_main]

use crossline_protocol::market_data::{decode_packet, FileReader, MarketData, ENTRIES_PER_PACKET_MAX};
use crossline_types::{Quote, SymbolId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = FileReader::new(data) else {
        return;
    };
    let empty = MarketData::Nbbo(Quote::empty(SymbolId::new(0)));
    let mut out = [empty; ENTRIES_PER_PACKET_MAX];
    while let Ok(Some((_, datagram))) = reader.next_datagram() {
        let _ = decode_packet(datagram, &mut out);
    }
});
