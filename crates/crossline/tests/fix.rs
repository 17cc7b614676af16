//! The FIX gateway through the real `crossline run`, as a FIX client and the middle
//! office's drop copy see it (docs/FIX.md): logon, orders accepted, replaced, cancelled
//! and crossed, a reject with its Text, a TestRequest answered, a bad CheckSum refused
//! without the session dropping, a gap while disconnected filled by PossDup resends,
//! and sequence numbers that go on after a kill -9 and restart.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{config, send_quote_read, start_all, Started};
use crossline::client::Client;
use crossline_fix::{frame_length, tags, Encoder, Message};
use crossline_protocol::client::{Inbound, Outbound};
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

const WAIT: Duration = Duration::from_secs(5);

const FIX_TABLES: &str = r#"
[[clients]]
id = 5

[fix]
listen = "127.0.0.1:0"

[[fix_sessions]]
comp_id = "FIXC5"
client = 5
version = "FIX.4.4"
secret = "fix-secret-5"

[[fix_sessions]]
comp_id = "MIDOFFICE"
role = "drop_copy"
version = "FIX.4.2"
secret = "dc-secret"
"#;

fn now_ns() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

/// One message as the test reads it: (tag, value) pairs, values as text.
#[derive(Debug, Clone)]
struct Fix(Vec<(u32, String)>);

impl Fix {
    fn get(&self, tag: u32) -> Option<&str> {
        self.0
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_str())
    }
    fn kind(&self) -> &str {
        self.get(tags::MSG_TYPE).unwrap()
    }
    fn seq(&self) -> u64 {
        self.get(tags::MSG_SEQ_NUM).unwrap().parse().unwrap()
    }
}

/// A FIX counterparty written from docs/FIX.md with the codec.
struct Counterparty {
    stream: TcpStream,
    comp_id: &'static str,
    begin: &'static [u8],
    next_out: u64,
    pending: Vec<u8>,
}

impl Counterparty {
    fn connect(address: SocketAddr, comp_id: &'static str, begin: &'static [u8]) -> Counterparty {
        let stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Counterparty {
            stream,
            comp_id,
            begin,
            next_out: 1,
            pending: Vec::new(),
        }
    }

    fn encode(&self, msg_type: &[u8], seq: u64, fields: &[(u32, &str)]) -> Vec<u8> {
        let mut buffer = [0u8; 1024];
        let mut encoder = Encoder::new(&mut buffer, self.begin, msg_type);
        encoder
            .str(tags::SENDER_COMP_ID, self.comp_id.as_bytes())
            .str(tags::TARGET_COMP_ID, b"CROSSLINE")
            .uint(tags::MSG_SEQ_NUM, seq)
            .timestamp(tags::SENDING_TIME, now_ns());
        for (tag, value) in fields {
            encoder.str(*tag, value.as_bytes());
        }
        encoder.finish().unwrap().to_vec()
    }

    fn send(&mut self, msg_type: &str, fields: &[(u32, &str)]) {
        let bytes = self.encode(msg_type.as_bytes(), self.next_out, fields);
        self.next_out += 1;
        self.stream.write_all(&bytes).unwrap();
    }

    fn logon(&mut self, secret: &str, reset: bool) -> Fix {
        let mut fields = vec![
            (tags::ENCRYPT_METHOD, "0"),
            (tags::HEART_BT_INT, "30"),
            (tags::PASSWORD, secret),
        ];
        if reset {
            fields.push((tags::RESET_SEQ_NUM_FLAG, "Y"));
        }
        self.send("A", &fields);
        let logon = self.next_message();
        assert_eq!(logon.kind(), "A", "{logon:?}");
        logon
    }

    /// The next message, whatever it is.
    #[track_caller]
    fn next_message(&mut self) -> Fix {
        self.try_next(WAIT).expect("a message within 5 s")
    }

    fn try_next(&mut self, within: Duration) -> Option<Fix> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(length)) = frame_length(&self.pending) {
                let bytes: Vec<u8> = self.pending.drain(..length).collect();
                let message = Message::parse(&bytes).expect("the engine's messages parse");
                let fields = message
                    .fields()
                    .map(|(t, v)| (t, String::from_utf8_lossy(v).into_owned()))
                    .collect();
                return Some(Fix(fields));
            }
            if Instant::now() > deadline {
                return None;
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(_) => {}
            }
        }
    }

    /// The next message of type `kind`, skipping heartbeats.
    #[track_caller]
    fn expect(&mut self, kind: &str) -> Fix {
        loop {
            let message = self.next_message();
            if message.kind() != "0" || kind == "0" {
                assert_eq!(message.kind(), kind, "{message:?}");
                return message;
            }
        }
    }
}

fn engine(dir: &std::path::Path) -> Started {
    let started = start_all(&dir.join("config.toml"), &dir.join("journal"));
    send_quote_read(started.feed, &dir.join("journal"), now_ns());
    started
}

fn binary_sell(clients: SocketAddr, id: u64, price: i64) -> Outbound {
    let (mut client, _) = Client::logon(clients, 1, "demo-secret-1", WAIT).unwrap();
    client
        .send(&Inbound::NewOrder {
            client_order_id: ClientOrderId::new(id),
            symbol: SymbolId::new(1),
            quantity: Quantity::new(100),
            price: Price::from_micros(price),
            side: Side::Sell,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::ImmediateOrCancel,
            capacity: Capacity::Agency,
        })
        .unwrap();
    loop {
        let (header, reply) = client.receive_within(WAIT).unwrap().expect("a reply");
        if header.sequence != 0 && !matches!(reply, Outbound::Accepted { .. }) {
            return reply;
        }
    }
}

#[test]
fn a_fix_client_trades_through_the_engine_and_the_drop_copy_sees_it() {
    let dir = std::env::temp_dir().join(format!("crossline-fix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), config(&[]) + FIX_TABLES).unwrap();
    let started = engine(&dir);
    let fix_address = started.fix.expect("crossline run printed its FIX port");

    let mut drop_copy = Counterparty::connect(fix_address, "MIDOFFICE", b"FIX.4.2");
    drop_copy.logon("dc-secret", false);
    let mut fix = Counterparty::connect(fix_address, "FIXC5", b"FIX.4.4");
    let logon = fix.logon("fix-secret-5", false);
    assert_eq!(logon.get(tags::HEART_BT_INT), Some("30"));
    assert_eq!(logon.seq(), 1);

    // A limit buy inside the spread rests: New.
    let order = [
        (tags::CL_ORD_ID, "B-1"),
        (tags::SYMBOL, "AAPL"),
        (tags::SIDE, "1"),
        (tags::ORDER_QTY, "100"),
        (tags::ORD_TYPE, "2"),
        (tags::PRICE, "189.995"),
        (tags::TIME_IN_FORCE, "0"),
        (tags::TRANSACT_TIME, "20261205-12:00:00.000"),
    ];
    fix.send("D", &order);
    let rejected = fix.expect("8");
    // 189.995 is a sub-penny limit: refused by Rule 612, with the reason in Text.
    assert_eq!(rejected.get(tags::EXEC_TYPE), Some("8"), "{rejected:?}");
    assert_eq!(rejected.get(tags::ORD_STATUS), Some("8"));
    assert_eq!(rejected.get(tags::CROSSLINE_REASON), Some("4"));
    assert!(
        rejected.get(tags::TEXT).unwrap().contains("Rule 612"),
        "{rejected:?}"
    );

    let mut order = order;
    order[5] = (tags::PRICE, "190.00");
    order[0] = (tags::CL_ORD_ID, "B-2");
    fix.send("D", &order);
    let new = fix.expect("8");
    assert_eq!(
        (new.get(tags::EXEC_TYPE), new.get(tags::ORD_STATUS)),
        (Some("0"), Some("0")),
        "{new:?}"
    );
    assert_eq!(new.get(tags::CL_ORD_ID), Some("B-2"));
    assert_eq!(new.get(tags::SYMBOL), Some("AAPL"));
    assert_eq!(new.get(tags::LEAVES_QTY), Some("100"));
    let order_id = new.get(tags::ORDER_ID).unwrap().to_owned();

    // An unknown symbol is refused at the edge with an ExecutionReport.
    fix.send(
        "D",
        &[
            (tags::CL_ORD_ID, "X-1"),
            (tags::SYMBOL, "NOPE"),
            (tags::SIDE, "1"),
            (tags::ORDER_QTY, "1"),
            (tags::ORD_TYPE, "1"),
        ],
    );
    let unknown = fix.expect("8");
    assert_eq!(unknown.get(tags::ORD_REJ_REASON), Some("1"), "{unknown:?}");

    // A missing required tag is a session Reject naming it.
    fix.send(
        "D",
        &[
            (tags::CL_ORD_ID, "X-2"),
            (tags::SYMBOL, "AAPL"),
            (tags::ORDER_QTY, "1"),
            (tags::ORD_TYPE, "1"),
        ],
    );
    let reject = fix.expect("3");
    assert_eq!(reject.get(tags::REF_TAG_ID), Some("54"), "{reject:?}");
    assert_eq!(reject.get(tags::SESSION_REJECT_REASON), Some("1"));

    // A TestRequest is answered with its id.
    fix.send("1", &[(tags::TEST_REQ_ID, "ping-7")]);
    let heartbeat = fix.next_message();
    assert_eq!(
        (heartbeat.kind(), heartbeat.get(tags::TEST_REQ_ID)),
        ("0", Some("ping-7"))
    );

    // A bad CheckSum: refused with a Reject, the session stays, the number is not used.
    let mut garbled = fix.encode(b"1", fix.next_out, &[(tags::TEST_REQ_ID, "bad")]);
    let at = garbled.len() - 2;
    garbled[at] = if garbled[at] == b'9' {
        b'0'
    } else {
        garbled[at] + 1
    };
    fix.stream.write_all(&garbled).unwrap();
    let reject = fix.expect("3");
    assert_eq!(reject.get(tags::REF_TAG_ID), Some("10"), "{reject:?}");
    assert!(
        reject.get(tags::TEXT).unwrap().contains("CheckSum"),
        "{reject:?}"
    );
    fix.send("1", &[(tags::TEST_REQ_ID, "after")]);
    assert_eq!(fix.expect("0").get(tags::TEST_REQ_ID), Some("after"));

    // Replace the price: Replaced, with OrigClOrdID.
    fix.send(
        "G",
        &[
            (tags::ORIG_CL_ORD_ID, "B-2"),
            (tags::CL_ORD_ID, "B-3"),
            (tags::SYMBOL, "AAPL"),
            (tags::SIDE, "1"),
            (tags::ORDER_QTY, "100"),
            (tags::ORD_TYPE, "2"),
            (tags::PRICE, "190.00"),
        ],
    );
    let replaced = fix.expect("8");
    assert_eq!(replaced.get(tags::EXEC_TYPE), Some("5"), "{replaced:?}");
    assert_eq!(replaced.get(tags::ORIG_CL_ORD_ID), Some("B-2"));
    assert_eq!(replaced.get(tags::ORDER_ID), Some(order_id.as_str()));

    // The order's status, asked for.
    fix.send(
        "H",
        &[
            (tags::CL_ORD_ID, "B-3"),
            (tags::SYMBOL, "AAPL"),
            (tags::SIDE, "1"),
        ],
    );
    let status = fix.expect("8");
    assert_eq!(
        (status.get(tags::EXEC_TYPE), status.get(tags::ORD_STATUS)),
        (Some("I"), Some("0")),
        "{status:?}"
    );

    // Disconnected, the order is crossed by a binary client's sell at 190.00.
    let before_gap = fix.next_out;
    drop(fix);
    std::thread::sleep(Duration::from_millis(100));
    let sold = binary_sell(started.clients, 900, 190_000_000);
    assert!(matches!(sold, Outbound::Filled { .. }), "{sold:?}");
    std::thread::sleep(Duration::from_millis(100));

    // Reconnected: the Logon shows the gap; a ResendRequest gets the fill as a PossDup.
    let mut fix = Counterparty::connect(fix_address, "FIXC5", b"FIX.4.4");
    fix.next_out = before_gap;
    let logon = fix.logon("fix-secret-5", false);
    let missed_from = status.seq() + 1;
    assert!(logon.seq() > missed_from, "{logon:?} after {status:?}");
    fix.send(
        "2",
        &[
            (tags::BEGIN_SEQ_NO, &missed_from.to_string()),
            (tags::END_SEQ_NO, "0"),
        ],
    );
    let mut resent = Vec::new();
    while let Some(message) = fix.try_next(Duration::from_millis(500)) {
        resent.push(message);
    }
    let fill = resent
        .iter()
        .find(|m| m.kind() == "8")
        .unwrap_or_else(|| panic!("a resent execution report in {resent:?}"));
    assert_eq!(fill.get(tags::POSS_DUP_FLAG), Some("Y"), "{fill:?}");
    assert!(fill.get(tags::ORIG_SENDING_TIME).is_some());
    assert_eq!(
        (fill.get(tags::EXEC_TYPE), fill.get(tags::ORD_STATUS)),
        (Some("F"), Some("2"))
    );
    assert_eq!(fill.get(tags::LAST_PX), Some("190"));
    assert_eq!(fill.get(tags::LAST_SHARES), Some("100"));
    assert_eq!(fill.get(tags::CUM_QTY), Some("100"));
    assert_eq!(
        fill.get(tags::LAST_CAPACITY),
        Some("2"),
        "an internal cross, as agent"
    );
    assert_eq!(
        fill.get(tags::LAST_LIQUIDITY_IND),
        Some("1"),
        "the resting order added liquidity"
    );
    assert_eq!(fill.get(tags::LAST_MKT), Some("XCRL"));

    // The drop copy saw every report: the FIX client's and the binary client's.
    let mut copies = Vec::new();
    while let Some(message) = drop_copy.try_next(Duration::from_millis(300)) {
        if message.kind() == "8" || message.kind() == "9" {
            copies.push(message);
        }
    }
    let accounts: Vec<(&str, &str)> = copies
        .iter()
        .map(|m| {
            (
                m.get(tags::ACCOUNT).unwrap(),
                m.get(tags::EXEC_TYPE).unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        accounts,
        [
            ("5", "8"),
            ("5", "0"),
            ("5", "5"),
            ("1", "0"),
            ("1", "2"),
            ("5", "2")
        ],
        "{copies:?}"
    );

    // kill -9 and restart: the session goes on with its numbers.
    let next_in = fix.next_out;
    let mut started = started;
    started.engine.0.kill().unwrap();
    started.engine.0.wait().unwrap();
    drop(fix);
    let started = engine(&dir);
    let mut fix = Counterparty::connect(started.fix.unwrap(), "FIXC5", b"FIX.4.4");
    fix.next_out = next_in;
    let logon = fix.logon("fix-secret-5", false);
    assert!(logon.seq() > 1, "the engine's numbers go on: {logon:?}");
    fix.send("1", &[(tags::TEST_REQ_ID, "restarted")]);
    assert_eq!(fix.expect("0").get(tags::TEST_REQ_ID), Some("restarted"));
    // The orders of the day are known again (rebuilt from the journal).
    fix.send(
        "H",
        &[
            (tags::CL_ORD_ID, "B-3"),
            (tags::SYMBOL, "AAPL"),
            (tags::SIDE, "1"),
        ],
    );
    let status = fix.expect("8");
    assert_eq!(status.get(tags::ORD_STATUS), Some("2"), "{status:?}");
    assert_eq!(status.get(tags::CUM_QTY), Some("100"));
    assert_eq!(status.get(tags::AVG_PX), Some("190"));
    assert_eq!(status.get(tags::ORDER_ID), Some(order_id.as_str()));
    drop(started);
    let _ = std::fs::remove_dir_all(&dir);
}
