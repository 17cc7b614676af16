//! The FIX gateway against the engine the industry tests against: QuickFIX C++ (Debian's
//! `libquickfix-dev`, which `scripts/test.sh` installs) plays a client and the middle
//! office's drop copy against the real `crossline run`, with QuickFIX's own session
//! layer: its logon, sequence numbers, gap detection and resend requests, heartbeats
//! and file store. The client's orders are accepted, replaced, cancelled, rejected with
//! a readable Text, filled from the firm's inventory and crossed with another client;
//! a disconnect leaves a gap that QuickFIX fills with PossDup resends; a TestRequest is
//! answered; after a kill -9 and restart of the engine QuickFIX logs on again with the
//! sequence numbers going on; the drop copy gets every execution report. And a QuickFIX
//! acceptor plays a FIX 4.4 venue for the router: routed children are filled there, and
//! the router logs on again after the venue restarts.
//!
//! Without QuickFIX (no headers or no C++ compiler) the test says so and passes, unless
//! `CROSSLINE_REQUIRE_QUICKFIX` is set (the test script sets it).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::{config, send_quote_read, start_all, Started};
use crossline::client::Client;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

const WAIT: Duration = Duration::from_secs(10);

/// Builds the initiator (once per target directory); `None` without QuickFIX.
fn initiator() -> Option<PathBuf> {
    build("initiator")
}

/// Builds `tests/quickfix/<name>.cpp` against QuickFIX (once per target directory, and
/// again when the source changes); `None` without QuickFIX.
fn build(name: &str) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/quickfix/{name}.cpp"));
    let binary = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("quickfix-{name}"));
    let required = std::env::var_os("CROSSLINE_REQUIRE_QUICKFIX").is_some();
    if !Path::new("/usr/include/quickfix/Session.h").exists() {
        assert!(
            !required,
            "QuickFIX headers missing: install libquickfix-dev (scripts/test.sh does)"
        );
        eprintln!("skipped: QuickFIX (libquickfix-dev) is not installed");
        return None;
    }
    let fresh = binary.exists()
        && std::fs::metadata(&binary).unwrap().modified().unwrap()
            >= std::fs::metadata(&source).unwrap().modified().unwrap();
    if !fresh {
        // QuickFIX 1.15's headers need C++14 (dynamic exception specifications).
        let built = Command::new("g++")
            .args(["-std=c++14", "-O1", "-Wno-deprecated", "-o"])
            .arg(&binary)
            .arg(&source)
            .args(["-lquickfix", "-lpthread"])
            .status();
        match built {
            Ok(status) if status.success() => {}
            other => {
                assert!(
                    !required,
                    "building the QuickFIX initiator failed: {other:?}"
                );
                eprintln!("skipped: the QuickFIX initiator did not build ({other:?})");
                return None;
            }
        }
    }
    Some(binary)
}

/// Starts `command` with its standard input held open and its output read line by line.
fn spawn(command: &mut Command) -> (Child, ChildStdin, Receiver<String>) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = child.stdin.take().unwrap();
    let (sender, lines) = channel();
    let output = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in output.lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    (child, input, lines)
}

/// A running QuickFIX initiator.
struct QuickFix {
    child: Child,
    input: ChildStdin,
    lines: Receiver<String>,
    name: &'static str,
}

impl Drop for QuickFix {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl QuickFix {
    fn start(
        binary: &Path,
        dir: &Path,
        port: u16,
        name: &'static str,
        version: &str,
        password: &str,
    ) -> QuickFix {
        let settings = dir.join(format!("{name}.cfg"));
        std::fs::write(
            &settings,
            format!(
                "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=1\nFileStorePath={}\n\
                 StartTime=00:00:00\nEndTime=00:00:00\nUseDataDictionary=N\nHeartBtInt=30\n\
                 SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n\
                 [SESSION]\nBeginString={version}\nSenderCompID={name}\nTargetCompID=CROSSLINE\n",
                dir.join(format!("{name}-store")).display()
            ),
        )
        .unwrap();
        let (child, input, lines) = spawn(Command::new(binary).arg(&settings).arg(password));
        QuickFix {
            child,
            input,
            lines,
            name,
        }
    }

    fn command(&mut self, line: &str) {
        writeln!(self.input, "{line}").unwrap();
        self.input.flush().unwrap();
    }

    /// The first line `wanted` accepts, within the wait; every line before it is
    /// returned too.
    fn until(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> (String, Vec<String>) {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return (line, seen),
                Ok(line) => {
                    assert!(!line.starts_with("ERROR"), "{}: {line}", self.name);
                    seen.push(line);
                }
                Err(_) => panic!("{}: no {what} within {WAIT:?}; saw {seen:#?}", self.name),
            }
        }
    }

    /// The next application message of type `kind` with `tag=value` among its fields.
    fn app(&mut self, kind: &str, tag: u32, value: &str) -> Fields {
        let (line, _) = self.until(&format!("35={kind} with {tag}={value}"), |line| {
            line.strip_prefix("APP ").is_some_and(|m| {
                let fields = Fields::of(m);
                fields.get(35) == Some(kind) && fields.get(tag) == Some(value)
            })
        });
        Fields::of(line.strip_prefix("APP ").unwrap())
    }
}

/// A message's fields, as QuickFIX printed them.
#[derive(Debug)]
struct Fields(Vec<(u32, String)>);

impl Fields {
    fn of(text: &str) -> Fields {
        Fields(
            text.split('|')
                .filter_map(|field| field.split_once('='))
                .filter_map(|(tag, value)| Some((tag.parse().ok()?, value.to_owned())))
                .collect(),
        )
    }
    fn get(&self, tag: u32) -> Option<&str> {
        self.0
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_str())
    }
}

fn now_ns() -> u64 {
    u64::try_from(std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos()).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn engine(dir: &Path) -> Started {
    let started = start_all(&dir.join("config.toml"), &dir.join("journal"));
    send_quote_read(started.feed, &dir.join("journal"), now_ns());
    started
}

fn binary_sell(clients: SocketAddr, id: u64) {
    let (mut client, _) = Client::logon(clients, 1, "demo-secret-1", WAIT).unwrap();
    client
        .send(&Inbound::NewOrder {
            client_order_id: ClientOrderId::new(id),
            symbol: SymbolId::new(1),
            quantity: Quantity::new(100),
            price: Price::from_micros(190_000_000),
            side: Side::Sell,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::ImmediateOrCancel,
            capacity: Capacity::Agency,
        })
        .unwrap();
    loop {
        let (header, reply) = client.receive_within(WAIT).unwrap().expect("a reply");
        match reply {
            Outbound::Filled { .. } => return,
            Outbound::Accepted { .. } | Outbound::Heartbeat {} => {}
            _ if header.sequence == 0 => {}
            other => panic!("the binary client's sell was not filled: {other:?}"),
        }
    }
}

#[test]
fn quickfix_trades_through_crossline_and_survives_a_gap_and_a_restart() {
    let Some(binary) = initiator() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("crossline-quickfix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let tables = format!(
        "\n[[clients]]\nid = 5\n\n[fix]\nlisten = \"127.0.0.1:{port}\"\n\n\
         [[fix_sessions]]\ncomp_id = \"QF1\"\nclient = 5\nversion = \"FIX.4.4\"\nsecret = \"qf-secret\"\n\n\
         [[fix_sessions]]\ncomp_id = \"QFDC\"\nrole = \"drop_copy\"\nversion = \"FIX.4.2\"\nsecret = \"dc-secret\"\n"
    );
    std::fs::write(dir.join("config.toml"), config(&[]) + &tables).unwrap();
    let started = engine(&dir);
    assert_eq!(started.fix.map(|a| a.port()), Some(port));

    let mut drop_copy = QuickFix::start(&binary, &dir, port, "QFDC", "FIX.4.2", "dc-secret");
    drop_copy.until("LOGON", |l| l == "LOGON");
    let mut fix = QuickFix::start(&binary, &dir, port, "QF1", "FIX.4.4", "qf-secret");
    fix.until("LOGON", |l| l == "LOGON");

    // Accepted, then replaced (a size increase).
    fix.command("D Q1 AAPL 1 100 2 190.00 0");
    let new = fix.app("8", 11, "Q1");
    assert_eq!(
        (new.get(150), new.get(39), new.get(151)),
        (Some("0"), Some("0"), Some("100")),
        "{new:?}"
    );
    fix.command("G Q2 Q1 AAPL 1 200 190.00");
    let replaced = fix.app("8", 11, "Q2");
    assert_eq!(
        (replaced.get(150), replaced.get(41), replaced.get(38)),
        (Some("5"), Some("Q1"), Some("200")),
        "{replaced:?}"
    );

    // A sub-penny limit: rejected, with the reason in words.
    fix.command("D Q3 AAPL 1 100 2 189.995 0");
    let rejected = fix.app("8", 11, "Q3");
    assert_eq!(rejected.get(150), Some("8"), "{rejected:?}");
    assert!(
        rejected.get(58).unwrap().contains("Rule 612"),
        "{rejected:?}"
    );

    // A marketable IOC buy: filled from the firm's inventory, with price improvement.
    fix.command("D Q4 AAPL 1 100 2 190.01 3");
    let principal = fix.app("8", 150, "F");
    assert_eq!(principal.get(11), Some("Q4"), "{principal:?}");
    assert_eq!(
        principal.get(29),
        Some("4"),
        "principal capacity: {principal:?}"
    );
    assert_eq!(
        principal.get(851),
        Some("2"),
        "it took liquidity: {principal:?}"
    );
    let improvement: f64 = principal.get(20001).unwrap().parse().unwrap();
    assert!(improvement > 0.0, "{principal:?}");

    // Cancelled at the client's request.
    fix.command("F Q5 Q2 AAPL 1");
    let cancelled = fix.app("8", 11, "Q5");
    assert_eq!(
        (cancelled.get(150), cancelled.get(41)),
        (Some("4"), Some("Q2")),
        "{cancelled:?}"
    );

    // A cancel of an order that is gone: an OrderCancelReject with its reason.
    fix.command("F Q7 Q2 AAPL 1");
    let refused = fix.app("9", 11, "Q7");
    assert_eq!(refused.get(434), Some("1"), "{refused:?}");
    assert!(refused.get(58).is_some(), "{refused:?}");

    // A TestRequest is answered with its id.
    fix.command("TEST ping-1");
    fix.until("the Heartbeat answering the TestRequest", |l| {
        l.starts_with("ADMIN") && l.contains("|112=ping-1|")
    });

    // A resting order crossed while QuickFIX is disconnected: on its next logon it sees
    // the gap, asks for a resend and gets the fill as a PossDup.
    fix.command("D Q6 AAPL 1 100 2 190.00 0");
    fix.app("8", 11, "Q6");
    fix.command("STOP");
    fix.until("LOGOUT", |l| l == "LOGOUT");
    send_quote_read(started.feed, &dir.join("journal"), now_ns());
    binary_sell(started.clients, 901);
    fix.command("START");
    fix.until("LOGON", |l| l == "LOGON");
    let resent = fix.app("8", 11, "Q6");
    assert_eq!(
        (resent.get(150), resent.get(43)),
        (Some("F"), Some("Y")),
        "{resent:?}"
    );
    assert!(resent.get(122).is_some(), "OrigSendingTime: {resent:?}");
    assert_eq!(
        (resent.get(29), resent.get(851)),
        (Some("2"), Some("1")),
        "{resent:?}"
    );

    // kill -9: QuickFIX reconnects by itself and the numbers go on.
    fix.command("SEQ");
    let (before, _) = fix.until("SEQ", |l| l.starts_with("SEQ "));
    let mut started = started;
    started.engine.0.kill().unwrap();
    started.engine.0.wait().unwrap();
    fix.until("LOGOUT", |l| l == "LOGOUT");
    let started = engine(&dir);
    fix.until("LOGON after the restart", |l| l == "LOGON");
    fix.command("SEQ");
    let (after, _) = fix.until("SEQ", |l| l.starts_with("SEQ "));
    let numbers = |line: &str| -> Vec<u64> {
        line.split(' ')
            .skip(1)
            .map(|n| n.parse().unwrap())
            .collect()
    };
    let (before, after) = (numbers(&before), numbers(&after));
    assert!(
        after[0] > before[0] && after[1] > before[1],
        "{before:?} then {after:?}"
    );
    fix.command("H Q6 AAPL 1");
    let status = fix.app("8", 150, "I");
    assert_eq!(
        (status.get(39), status.get(14)),
        (Some("2"), Some("100")),
        "{status:?}"
    );

    // The drop copy (FIX 4.2) got every execution report: each of the client's orders'
    // and the binary client's.
    let (_, mut copies) = drop_copy.until("LOGON after the restart", |l| l == "LOGON");
    fix.command("D Q8 AAPL 1 100 2 190.00 0");
    fix.app("8", 11, "Q8");
    copies.extend(
        drop_copy
            .until("the copy of Q8", |l| l.contains("|11=Q8|"))
            .1,
    );
    let copied: Vec<Fields> = copies
        .iter()
        .filter_map(|l| l.strip_prefix("APP "))
        .map(Fields::of)
        .filter(|m| m.get(35) == Some("8") || m.get(35) == Some("9"))
        .collect();
    for id in ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "901"] {
        assert!(
            copied.iter().any(|m| m.get(11) == Some(id)),
            "no copy for {id}: {copied:?}"
        );
    }
    assert!(
        copied
            .iter()
            .all(|m| m.get(20) == Some("0") || m.get(35) == Some("9")),
        "FIX 4.2 ExecTransType: {copied:?}"
    );
    drop(started);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A QuickFIX acceptor playing an exchange (`tests/quickfix/venue.cpp`).
struct QuickFixVenue {
    child: Child,
    _input: ChildStdin,
    lines: Receiver<String>,
}

impl Drop for QuickFixVenue {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl QuickFixVenue {
    fn start(binary: &Path, dir: &Path, port: u16) -> QuickFixVenue {
        let settings = dir.join("venue.cfg");
        std::fs::write(
            &settings,
            format!(
                "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\nFileStorePath={}\n\
                 StartTime=00:00:00\nEndTime=00:00:00\nUseDataDictionary=N\n\
                 [SESSION]\nBeginString=FIX.4.4\nSenderCompID=XFIX\nTargetCompID=CROSSLINE\n",
                dir.join("venue-store").display()
            ),
        )
        .unwrap();
        let (child, input, lines) = spawn(Command::new(binary).arg(&settings).arg("190.01"));
        let venue = QuickFixVenue {
            child,
            _input: input,
            lines,
        };
        venue.until("LISTENING", |l| l == "LISTENING");
        venue
    }

    fn until(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if wanted(&line) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("venue: no {what} within {WAIT:?}; saw {seen:#?}"),
            }
        }
    }
}

/// Buys 2,500 AAPL at the offer (IOC) as binary client 1: the firm fills what its
/// inventory allows and routes the rest; returns the shares filled at a venue.
fn buy_through_the_venue(clients: SocketAddr, id: u64) -> u32 {
    let (mut client, _) = Client::logon(clients, 1, "demo-secret-1", WAIT).unwrap();
    client
        .send(&Inbound::NewOrder {
            client_order_id: ClientOrderId::new(id),
            symbol: SymbolId::new(1),
            quantity: Quantity::new(2_500),
            price: Price::from_micros(190_010_000),
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::ImmediateOrCancel,
            capacity: Capacity::Agency,
        })
        .unwrap();
    let mut at_venue = 0;
    loop {
        let (header, reply) = client.receive_within(WAIT).unwrap().expect("a reply");
        match reply {
            Outbound::Filled {
                quantity,
                leaves,
                liquidity,
                ..
            } => {
                if liquidity == crossline_types::LiquiditySource::Venue {
                    at_venue += quantity.shares();
                }
                if leaves.shares() == 0 {
                    return at_venue;
                }
            }
            Outbound::Cancelled { .. } => return at_venue,
            Outbound::Rejected { reason, .. } => panic!("order {id} rejected: {reason}"),
            _ if header.sequence == 0 => {}
            _ => {}
        }
    }
}

#[test]
fn a_quickfix_venue_fills_routed_children_and_the_router_logs_on_again_after_it_restarts() {
    let Some(binary) = build("venue") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("crossline-quickfix-venue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let venue = QuickFixVenue::start(&binary, &dir, port);
    // The default's three binary venues stay down (nothing listens there); the FIX venue
    // is the only one up, so every child goes to it.
    let tables = format!(
        "\n[[venues]]\nid = 4\nname = \"XFIX\"\naddress = \"127.0.0.1:{port}\"\n\
         fee_per_share = \"0.0010\"\nprotocol = \"fix44\"\ntarget_comp_id = \"XFIX\"\n"
    );
    std::fs::write(dir.join("config.toml"), config(&[]) + &tables).unwrap();
    let started = engine(&dir);
    venue.until("the router's logon", |l| l == "LOGON");

    let filled = buy_through_the_venue(started.clients, 1);
    assert!(filled > 0, "nothing filled at the FIX venue");
    let order = venue.until("a NewOrderSingle", |l| {
        l.starts_with("APP ") && l.contains("|35=D|")
    });
    let fields = Fields::of(order.strip_prefix("APP ").unwrap());
    assert_eq!(
        (fields.get(49), fields.get(56)),
        (Some("CROSSLINE"), Some("XFIX")),
        "{order}"
    );
    assert_eq!(
        (fields.get(55), fields.get(54)),
        (Some("AAPL"), Some("1")),
        "{order}"
    );
    assert_eq!(
        (fields.get(40), fields.get(44), fields.get(59)),
        (Some("2"), Some("190.01"), Some("3")),
        "{order}"
    );
    assert_eq!(
        fields.get(38).and_then(|q| q.parse::<u32>().ok()),
        Some(filled),
        "{order}"
    );

    // The venue goes away and comes back: the router logs on again (numbers reset) and
    // routes to it again.
    drop(venue);
    std::thread::sleep(Duration::from_millis(300));
    let venue = QuickFixVenue::start(&binary, &dir, port);
    venue.until("the router's logon after the venue's restart", |l| {
        l == "LOGON"
    });
    send_quote_read(started.feed, &dir.join("journal"), now_ns());
    let filled = buy_through_the_venue(started.clients, 2);
    assert!(
        filled > 0,
        "nothing filled at the FIX venue after its restart"
    );
    drop(started);
    let _ = std::fs::remove_dir_all(&dir);
}
