#![allow(clippy::cast_possible_truncation)]

use crossline_types::{
    Capacity, ClientId, ClientOrderId, LiquiditySource, OrderId, OrderType, Price, Quantity, Quote,
    Side, SymbolId, TimeInForce,
};
use proptest::prelude::*;

use crate::client::{Inbound, Outbound};
use crate::frame::{split, DecodeError, FramingError, Secret, FLAG_RESENT, FRAME_BYTES_MAX};
use crate::market_data::{
    decode_packet, Arrival, FileError, FileReader, FileWriter, MarketData, PacketError,
    PacketHeader, PacketWriter, Sequencer, ENTRIES_PER_PACKET_MAX,
};
use crate::venue::{FromVenue, ToVenue};

fn new_order(quantity: u32) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(77),
        symbol: SymbolId::new(3),
        quantity: Quantity::new(quantity),
        price: Price::from_micros(11_200_000),
        side: Side::SellShort,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::ImmediateOrCancel,
        capacity: Capacity::Agency,
    }
}

fn encode(message: &Inbound, sequence: u32) -> Vec<u8> {
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let length = message.encode(sequence, 0, &mut frame);
    frame[..length].to_vec()
}

fn decode(bytes: &[u8]) -> Result<Inbound, DecodeError> {
    let (header, body) = split(bytes).unwrap().unwrap();
    Inbound::decode(&header, body)
}

#[test]
fn every_message_round_trips() {
    let inbound = [
        Inbound::Logon {
            client: ClientId::new(4),
            heartbeat_ms: 1000,
            secret: Secret::from_text("s3cret").unwrap(),
        },
        Inbound::Heartbeat {},
        new_order(100),
        Inbound::Cancel {
            client_order_id: ClientOrderId::new(1),
            original_client_order_id: ClientOrderId::new(2),
            symbol: SymbolId::new(9),
        },
        Inbound::Replace {
            client_order_id: ClientOrderId::new(1),
            original_client_order_id: ClientOrderId::new(2),
            price: Price::from_micros(5),
            quantity: Quantity::new(6),
        },
        Inbound::ResendRequest { from_sequence: 17 },
        Inbound::Logout {},
    ];
    for message in inbound {
        assert_eq!(
            decode(&encode(&message, 5)),
            Ok(message),
            "{}",
            message.label()
        );
    }
    let outbound = [
        Outbound::Filled {
            client_order_id: ClientOrderId::new(1),
            order_id: OrderId::new(2),
            price: Price::from_micros(190_005_000),
            price_improvement: Price::from_micros(-1),
            quantity: Quantity::new(100),
            leaves: Quantity::new(0),
            liquidity: LiquiditySource::Principal,
            capacity: Capacity::Principal,
        },
        Outbound::Replaced {
            client_order_id: ClientOrderId::new(3),
            original_client_order_id: ClientOrderId::new(2),
            order_id: OrderId::new(9),
            price: Price::from_micros(1),
            quantity: Quantity::new(10),
            priority_kept: true,
        },
        Outbound::SessionReject {
            ref_sequence: 4,
            related_sequence: 3,
            ref_kind: 3,
            reason: 3,
        },
    ];
    for message in outbound {
        let mut frame = [0u8; FRAME_BYTES_MAX];
        let length = message.encode(9, FLAG_RESENT, &mut frame);
        let (header, body) = split(&frame[..length]).unwrap().unwrap();
        assert_eq!(header.flags, FLAG_RESENT);
        assert_eq!(Outbound::decode(&header, body), Ok(message));
        // The fields alone (as the replies ring carries them) make the same frame.
        let mut fields = [0xAAu8; Outbound::FIELD_BYTES_MAX];
        fields.fill(0);
        let kind = message.encode_fields(&mut fields);
        assert_eq!(kind, message.kind());
        assert_eq!(Outbound::body_bytes(kind), Some(length - 8));
        let mut again = [0xFFu8; FRAME_BYTES_MAX];
        let length_again = Outbound::encode_fields_frame(kind, &fields, 9, FLAG_RESENT, &mut again);
        assert_eq!(length_again, Some(length));
        assert_eq!(again[..length], frame[..length], "{}", message.label());
    }
    // Every field of every reply lies in its first 42 body bytes (a fill's reach).
    assert_eq!(Outbound::FIELD_BYTES_MAX, 42);
    assert_eq!(Outbound::body_bytes(1), None);
    assert_eq!(
        Outbound::encode_fields_frame(1, &[], 0, 0, &mut [0; FRAME_BYTES_MAX]),
        None
    );
    let child = ToVenue::NewChild {
        child_id: 1 << 40,
        symbol: SymbolId::new(2),
        quantity: Quantity::new(300),
        price: Price::from_micros(0),
        side: Side::Buy,
        time_in_force: TimeInForce::ImmediateOrCancel,
    };
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let length = child.encode(0, 0, &mut frame);
    let (header, body) = split(&frame[..length]).unwrap().unwrap();
    assert_eq!(ToVenue::decode(&header, body), Ok(child));
    let fill = FromVenue::ChildFilled {
        child_id: 5,
        price: Price::from_micros(10),
        fee: -3,
        quantity: Quantity::new(1),
        leaves: Quantity::new(2),
    };
    let length = fill.encode(0, 0, &mut frame);
    let (header, body) = split(&frame[..length]).unwrap().unwrap();
    assert_eq!(FromVenue::decode(&header, body), Ok(fill));
}

#[test]
fn framing_waits_for_whole_frames_and_refuses_impossible_lengths() {
    let bytes = encode(&new_order(1), 1);
    for cut in 0..bytes.len() {
        assert_eq!(split(&bytes[..cut]), Ok(None), "cut at {cut}");
    }
    assert_eq!(
        split(&[7, 0, 3, 0]),
        Err(FramingError::TooShort { length: 7 })
    );
    assert_eq!(split(&[65, 0]), Err(FramingError::TooLong { length: 65 }));
}

#[test]
fn each_body_error_is_named() {
    let mut bytes = encode(&new_order(1), 1);
    bytes[2] = 99;
    assert_eq!(decode(&bytes), Err(DecodeError::UnknownType { kind: 99 }));

    let mut bytes = encode(&new_order(1), 1);
    bytes[3] = 0x82;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::ReservedFlags { flags: 0x82 })
    );

    let mut bytes = encode(&new_order(1), 1);
    bytes[8 + 24] = 9; // side
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::BadField {
            field: "side",
            value: 9
        })
    );

    let mut bytes = encode(&new_order(1), 1);
    bytes[8 + 29] = 1; // padding after capacity
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::BadField {
            field: "padding",
            value: 29
        })
    );

    // A heartbeat's length on a new-order type.
    let mut bytes = encode(&Inbound::Heartbeat {}, 1);
    bytes[2] = 3;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::WrongLength {
            kind: 3,
            length: 8,
            expected: 40
        })
    );
    // An engine-to-client type sent by a client is unknown in that direction.
    let mut bytes = encode(&Inbound::Heartbeat {}, 1);
    bytes[2] = 66;
    assert_eq!(decode(&bytes), Err(DecodeError::UnknownType { kind: 66 }));
}

#[test]
fn secrets_compare_whole_and_never_print() {
    let secret = Secret::from_text("alpha").unwrap();
    assert!(secret.matches(&Secret::from_text("alpha").unwrap()));
    assert!(!secret.matches(&Secret::from_text("alphb").unwrap()));
    assert!(!secret.matches(&Secret::from_text("alpha\0x").unwrap()));
    assert!(Secret::from_text(&"x".repeat(33)).is_none());
    assert_eq!(format!("{secret:?}"), "Secret(..)");
}

fn quote(symbol: u32, bid: i64, ask: i64) -> Quote {
    Quote {
        symbol: SymbolId::new(symbol),
        bid_size: Quantity::new(100),
        bid: Price::from_micros(bid),
        ask: Price::from_micros(ask),
        ask_size: Quantity::new(200),
    }
}

#[test]
fn market_status_messages_round_trip_and_bad_ones_name_their_field() {
    let symbol = SymbolId::new(7);
    let messages = [
        MarketData::Halt {
            symbol,
            halted: true,
        },
        MarketData::Halt {
            symbol,
            halted: false,
        },
        MarketData::Band {
            symbol,
            band: Some((
                Price::from_micros(9_500_000),
                Price::from_micros(10_500_000),
            )),
        },
        MarketData::Band { symbol, band: None },
        MarketData::Rule201 { symbol, on: true },
        MarketData::Rule201 { symbol, on: false },
    ];
    let mut writer = PacketWriter::default();
    for message in &messages {
        assert!(writer.push(message));
    }
    let packet = writer.finish(1, 0).to_vec();
    let mut out = [MarketData::Nbbo(quote(0, 0, 0)); ENTRIES_PER_PACKET_MAX];
    assert_eq!(
        decode_packet(&packet, &mut out).unwrap().count,
        messages.len()
    );
    assert_eq!(&out[..messages.len()], &messages);
    // The halt entry's bytes, as docs/PROTOCOL.md gives them.
    assert_eq!(&packet[24..33], &[3, 0, 0, 0, 7, 0, 0, 0, 1]);
    assert!(packet[33..56].iter().all(|&byte| byte == 0));

    let field = |offset: usize, value: u8| {
        let mut bad = packet.clone();
        bad[offset] = value;
        let mut out = [MarketData::Nbbo(quote(0, 0, 0)); ENTRIES_PER_PACKET_MAX];
        match decode_packet(&bad, &mut out) {
            Err(PacketError::BadField { field, .. }) => field,
            other => panic!("byte {offset} = {value}: {other:?}"),
        }
    };
    assert_eq!(field(24 + 8, 2), "halted");
    assert_eq!(field(24 + 9, 1), "reserved");
    assert_eq!(field(24 + 1, 1), "venue");
    assert_eq!(field(24 + 4 * 32 + 8, 9), "on");
    // A band whose upper bound is below its lower one, and one with a lower bound of
    // zero but an upper bound.
    assert_eq!(field(2 * 32 + 24 + 18, 0), "upper");
    let mut no_lower = packet.clone();
    no_lower[2 * 32 + 24 + 8..2 * 32 + 24 + 16].fill(0);
    assert!(matches!(
        decode_packet(&no_lower, &mut out),
        Err(PacketError::BadField { field: "lower", .. })
    ));
    assert_eq!(field(24, 6), "kind");
}

#[test]
fn packets_round_trip_and_bad_ones_are_refused_whole() {
    let mut writer = PacketWriter::default();
    let messages = [
        MarketData::Nbbo(quote(1, 10, 11)),
        MarketData::VenueTop {
            venue: 2,
            quote: quote(1, 9, 11),
        },
    ];
    for message in &messages {
        assert!(writer.push(message));
    }
    let packet = writer.finish(42, 7).to_vec();
    let mut out = [MarketData::Nbbo(quote(0, 0, 0)); ENTRIES_PER_PACKET_MAX];
    let header = decode_packet(&packet, &mut out).unwrap();
    assert_eq!(
        header,
        PacketHeader {
            sequence: 42,
            count: 2,
            send_time_ns: 7
        }
    );
    assert_eq!(&out[..2], &messages);

    let mut bad = packet.clone();
    bad[24 + 32 + 1] = 0; // a venue top with venue 0
    assert_eq!(
        decode_packet(&bad, &mut out),
        Err(PacketError::BadField {
            index: 1,
            field: "venue",
            value: 0
        })
    );
    let mut bad = packet.clone();
    bad[24 + 15] = 0x80; // a negative bid
    assert!(matches!(
        decode_packet(&bad, &mut out),
        Err(PacketError::BadField { field: "bid", .. })
    ));
    assert_eq!(
        decode_packet(&packet[..packet.len() - 1], &mut out),
        Err(PacketError::Length {
            length: packet.len() - 1,
            count: 2,
            expected: packet.len()
        })
    );
    assert!(matches!(
        decode_packet(b"CXMQ", &mut out),
        Err(PacketError::Short { length: 4 })
    ));
    let mut bad = packet.clone();
    bad[4] = 2;
    assert_eq!(
        decode_packet(&bad, &mut out),
        Err(PacketError::Version { version: 2 })
    );
}

#[test]
fn the_sequencer_names_gaps_duplicates_and_overlaps() {
    let packet = |sequence, count| PacketHeader {
        sequence,
        count,
        send_time_ns: 0,
    };
    let mut sequencer = Sequencer::default();
    assert_eq!(sequencer.arrive(&packet(10, 3)), Arrival::First);
    assert_eq!(sequencer.arrive(&packet(13, 2)), Arrival::InOrder);
    assert_eq!(sequencer.arrive(&packet(15, 0)), Arrival::InOrder); // heartbeat
    assert_eq!(
        sequencer.arrive(&packet(18, 1)),
        Arrival::Gap { from: 15, to: 18 }
    );
    assert_eq!(sequencer.arrive(&packet(16, 2)), Arrival::Duplicate);
    assert_eq!(
        sequencer.arrive(&packet(17, 4)),
        Arrival::Overlap { skip: 2 }
    );
    assert_eq!(sequencer.expected(), Some(21));
}

#[test]
fn a_recorded_feed_reads_back_and_damage_is_located() {
    let mut file = FileWriter::new(Vec::new()).unwrap();
    file.append(100, b"first").unwrap();
    file.append(200, b"second!").unwrap();
    let bytes = file.finish().unwrap();
    let mut reader = FileReader::new(&bytes[..]).unwrap();
    assert_eq!(reader.next_datagram().unwrap(), Some((100, &b"first"[..])));
    assert_eq!(
        reader.next_datagram().unwrap(),
        Some((200, &b"second!"[..]))
    );
    assert!(reader.next_datagram().unwrap().is_none());

    let cut = &bytes[..bytes.len() - 2];
    let mut reader = FileReader::new(cut).unwrap();
    reader.next_datagram().unwrap();
    let error = reader.next_datagram().unwrap_err();
    assert_eq!(
        error.to_string(),
        "record at byte 33: cut short in its datagram"
    );
    assert!(matches!(
        FileReader::new(&b"CXMDFILX\x01\0\0\0\0\0\0\0"[..]),
        Err(FileError::Header)
    ));
}

proptest! {
    /// Any bytes at all: the decoders answer, never panic, and whatever decodes encodes
    /// back to the same bytes (so nothing is silently changed on the way in).
    #[test]
    fn decoders_take_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(Some((header, body))) = split(&bytes) {
            let frame = &bytes[..usize::from(header.length)];
            let mut out = [0u8; FRAME_BYTES_MAX];
            if let Ok(message) = Inbound::decode(&header, body) {
                let length = message.encode(header.sequence, header.flags, &mut out);
                prop_assert_eq!(&out[..length], frame);
            }
            if let Ok(message) = Outbound::decode(&header, body) {
                let length = message.encode(header.sequence, header.flags, &mut out);
                prop_assert_eq!(&out[..length], frame);
            }
            let _ = ToVenue::decode(&header, body);
            let _ = FromVenue::decode(&header, body);
            if let Ok(message) = crate::admin::Inbound::decode(&header, body) {
                let length = message.encode(header.sequence, header.flags, &mut out);
                prop_assert_eq!(&out[..length], frame);
            }
            if let Ok(message) = crate::admin::Outbound::decode(&header, body) {
                let length = message.encode(header.sequence, header.flags, &mut out);
                prop_assert_eq!(&out[..length], frame);
            }
        }
        let mut out = [MarketData::Nbbo(quote(0, 0, 0)); ENTRIES_PER_PACKET_MAX];
        let _ = decode_packet(&bytes, &mut out);
    }
}
