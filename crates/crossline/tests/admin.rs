//! The operator control plane through the real `crossline run` and its admin port, as an
//! operator and a compliance desk use it: logons and roles, the firm kill switch over
//! open orders, a halt and its resume, a short sale refused without a locate and
//! accepted after `crossline admin locates load`, every control action in
//! `crossline replay --audit` with the operator who made it, a view operator's status
//! queries, and per-client price-improvement multipliers set and loaded from a flow
//! classification file, pricing each client's principal fills.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{config, send_quote, send_quote_read, start_all, verify, Started, CROSSLINE};
use crossline::admin::{AdminError, AdminSession, Answer};
use crossline::client::Client;
use crossline_protocol::admin::{Inbound as Admin, Outbound as Admin2};
use crossline_protocol::client::{Inbound, Outbound};
use crossline_protocol::frame::{Secret, FRAME_BYTES_MAX};
use crossline_types::{
    Capacity, ClientId, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

const WAIT: Duration = Duration::from_secs(5);

fn engine(name: &str) -> (Started, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("crossline-admin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config(&[])).unwrap();
    let started = start_all(&config_path, &dir.join("journal"));
    // Symbol 1's NBBO, so orders in it can be checked and rest.
    send_quote(started.feed, 1);
    std::thread::sleep(Duration::from_millis(100));
    (started, dir)
}

fn control_operator(admin: SocketAddr) -> AdminSession {
    AdminSession::logon(admin, 1, "ops-secret-1", WAIT).expect("operator 1 logs on")
}

fn order(id: u64, side: Side, price: i64) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(1),
        quantity: Quantity::new(100),
        price: Price::from_micros(price),
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

/// A resting buy well below symbol 1's NBBO ($189.99 × $190.01).
fn resting(id: u64) -> Inbound {
    order(id, Side::Buy, 185_000_000)
}

/// The next order reply, skipping session messages.
fn reply(client: &mut Client) -> Outbound {
    loop {
        let (header, reply) = client
            .receive_within(WAIT)
            .unwrap()
            .expect("a reply within 5 s");
        if header.sequence != 0 {
            return reply;
        }
    }
}

fn halt(symbol: u32, on: bool) -> Admin {
    Admin::Control {
        target: symbol,
        setting: 7,
        on,
        value: 0,
        upper: 0,
        expires_at: 0,
    }
}

fn applied(answer: Answer) -> u64 {
    match answer {
        Answer::Accepted { sequence, .. } => sequence,
        refused => panic!("refused: {refused:?}"),
    }
}

/// Waits for a line of the engine's log containing `text`.
fn logged(started: &Started, text: &str) -> String {
    let deadline = Instant::now() + WAIT;
    while let Ok(line) = started
        .log
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        if line.contains(text) {
            return line;
        }
    }
    panic!("the engine logged no line with \"{text}\"");
}

fn admin_cli(admin: SocketAddr, args: &[&str]) -> Output {
    Command::new(CROSSLINE)
        .arg("admin")
        .arg("--address")
        .arg(admin.to_string())
        .args(args)
        .env("CROSSLINE_OPERATOR", "1")
        .env("CROSSLINE_ADMIN_SECRET", "ops-secret-1")
        .output()
        .unwrap()
}

#[test]
fn operators_are_authenticated_and_a_view_operator_cannot_control() {
    let (started, dir) = engine("logon");
    let admin = started.admin;
    let refused = |operator, secret| match AdminSession::logon(admin, operator, secret, WAIT) {
        Err(AdminError::Logon(why)) => why,
        Ok(_) => panic!("operator {operator} logged on with a bad logon"),
        Err(other) => panic!("{other}"),
    };
    assert!(refused(1, "not-the-secret").contains("wrong secret"));
    logged(&started, "logon refused (BadSecret): operator 1");
    assert!(refused(99, "ops-secret-1").contains("unknown operator"));
    logged(&started, "logon refused (UnknownOperator): operator 99");

    // A client's logon sent to the admin port is refused by name.
    let mut stream = TcpStream::connect(admin).unwrap();
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let logon = Inbound::Logon {
        client: ClientId::new(1),
        heartbeat_ms: 1000,
        secret: Secret::from_text("demo-secret-1").unwrap(),
    };
    let length = logon.encode(1, 0, &mut frame);
    std::io::Write::write_all(&mut stream, &frame[..length]).unwrap();
    let mut answer = [0u8; 16];
    std::io::Read::read_exact(&mut stream, &mut answer).unwrap();
    assert_eq!(
        (answer[2], answer[8]),
        (81, 5),
        "OperatorLogonRejected, reason 5"
    );
    logged(&started, "a client logon on the admin port");

    // A view operator logs on, and its control command is refused, not sequenced.
    let mut viewer = AdminSession::logon(admin, 2, "ops-secret-2", WAIT).unwrap();
    assert_eq!(viewer.role, 1);
    assert_eq!(
        viewer.request(&halt(1, true)).unwrap(),
        Answer::Refused {
            request: 2,
            reason: 11,
            sequence: 0
        }
    );
    logged(&started, "operator 2: frame 2 (type 17) refused: ViewOnly");
    // The refused frame left its number unused: the session goes on at 2.
    assert_eq!(
        viewer.request(&halt(1, true)).unwrap(),
        Answer::Refused {
            request: 2,
            reason: 11,
            sequence: 0
        }
    );
    // One session per operator.
    let _operator = control_operator(admin);
    assert!(refused(1, "ops-secret-1").contains("already has a session"));
    drop(started);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_firm_kill_switch_cancels_every_open_order_and_refuses_new_ones_until_off() {
    let (started, dir) = engine("kill");
    let (mut client, _) = Client::logon(started.clients, 1, "demo-secret-1", WAIT).unwrap();
    for id in 1..=3 {
        client.send(&resting(id)).unwrap();
        assert!(matches!(reply(&mut client), Outbound::Accepted { .. }));
    }
    let mut operator = control_operator(started.admin);
    let kill = |on| Admin::Control {
        target: 0,
        setting: 11,
        on,
        value: 0,
        upper: 0,
        expires_at: 0,
    };
    let sequence = applied(operator.request(&kill(true)).unwrap());
    assert!(sequence > 0);
    let mut cancelled = Vec::new();
    for _ in 1..=3 {
        match reply(&mut client) {
            Outbound::Cancelled {
                client_order_id,
                reason,
                quantity,
                ..
            } => {
                assert_eq!((reason, quantity), (10, Quantity::new(100)), "kill switch");
                cancelled.push(client_order_id.get());
            }
            other => panic!("expected a kill-switch cancel, got {other:?}"),
        }
    }
    cancelled.sort_unstable();
    assert_eq!(cancelled, [1, 2, 3]);
    client.send(&resting(4)).unwrap();
    assert_eq!(
        reply(&mut client),
        Outbound::Rejected {
            client_order_id: ClientOrderId::new(4),
            reason: 101
        }
    );
    let off = applied(operator.request(&kill(false)).unwrap());
    assert!(off > sequence);
    client.send(&resting(5)).unwrap();
    assert!(matches!(reply(&mut client), Outbound::Accepted { .. }));
    drop(started);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_halt_stops_orders_in_its_symbol_until_resumed_and_bad_commands_are_refused() {
    let (started, dir) = engine("halt");
    let (mut client, _) = Client::logon(started.clients, 2, "demo-secret-2", WAIT).unwrap();
    let mut operator = control_operator(started.admin);
    applied(operator.request(&halt(1, true)).unwrap());
    client.send(&resting(1)).unwrap();
    assert_eq!(
        reply(&mut client),
        Outbound::Rejected {
            client_order_id: ClientOrderId::new(1),
            reason: 141
        }
    );
    applied(operator.request(&halt(1, false)).unwrap());
    client.send(&resting(2)).unwrap();
    assert!(matches!(reply(&mut client), Outbound::Accepted { .. }));
    // The gate refuses an unknown symbol: journaled, with its code.
    match operator.request(&halt(77, true)).unwrap() {
        Answer::Refused {
            reason: 201,
            sequence,
            ..
        } => assert!(sequence > 0),
        other => panic!("expected unknown symbol (201), got {other:?}"),
    }
    // The session refuses an undefined setting code before it is sequenced.
    let undefined = Admin::Control {
        target: 1,
        setting: 99,
        on: true,
        value: 0,
        upper: 0,
        expires_at: 0,
    };
    assert!(matches!(
        operator.request(&undefined).unwrap(),
        Answer::Refused {
            reason: 6,
            sequence: 0,
            ..
        }
    ));
    logged(&started, "field setting = 99");
    drop(started);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_short_sale_is_refused_without_a_locate_and_accepted_after_locates_load() {
    let (started, dir) = engine("locates");
    let (mut client, _) = Client::logon(started.clients, 1, "demo-secret-1", WAIT).unwrap();
    let short = |id| order(id, Side::SellShort, 195_000_000);
    client.send(&short(1)).unwrap();
    assert_eq!(
        reply(&mut client),
        Outbound::Rejected {
            client_order_id: ClientOrderId::new(1),
            reason: 180
        }
    );

    // A file with a bad line is reported by line number, and nothing of it is sent.
    let bad = dir.join("bad-locates.csv");
    std::fs::write(&bad, "client,symbol,shares,locate_id,expiry\n1,1,500,7001,2099-12-31\n1,1,many,7002,2099-12-31\n").unwrap();
    let output = admin_cli(started.admin, &["locates", "load", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 3: shares \"many\" is not a whole number"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    client.send(&short(2)).unwrap();
    assert!(matches!(
        reply(&mut client),
        Outbound::Rejected { reason: 180, .. }
    ));

    let good = dir.join("locates.csv");
    std::fs::write(&good, "client,symbol,shares,locate_id,expiry\n1,1,500,7001,2099-12-31\n2,1,300,7002,2099-12-31T16:00:00Z\n").unwrap();
    let output = admin_cli(
        started.admin,
        &["--json", "locates", "load", good.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), 2, "{stdout}");
    assert!(answers
        .iter()
        .all(|a| a["accepted"] == true && a["sequence"].as_u64() > Some(0)));
    client.send(&short(3)).unwrap();
    assert!(matches!(reply(&mut client), Outbound::Accepted { .. }));
    // 400 located shares are left: a sale of 500 more is refused.
    client
        .send(&Inbound::NewOrder {
            client_order_id: ClientOrderId::new(4),
            symbol: SymbolId::new(1),
            quantity: Quantity::new(500),
            price: Price::from_micros(195_000_000),
            side: Side::SellShort,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Day,
            capacity: Capacity::Agency,
        })
        .unwrap();
    assert!(matches!(
        reply(&mut client),
        Outbound::Rejected { reason: 180, .. }
    ));

    // Human output and exit status for a refused command: a halt of an unknown symbol.
    let output = admin_cli(started.admin, &["halt", "77"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("refused by the risk gate, reason 201: unknown symbol"),
        "{stdout}"
    );
    // A kill switch from the command line, then the audit trail names every action's operator.
    let output = admin_cli(started.admin, &["kill", "on", "client", "2"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout)
        .starts_with("kill: applied (request 2, journal sequence "));
    drop(started);
    audit_names_the_operator(&dir.join("journal"));
    let _ = std::fs::remove_dir_all(dir);
}

fn audit_names_the_operator(journal: &Path) {
    let audit = journal.with_extension("audit.csv");
    let output = Command::new(CROSSLINE)
        .args(["replay", "--audit"])
        .arg(&audit)
        .arg(journal)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&audit).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|line| line.split(',').collect()).collect();
    assert!(
        rows[0].last() == Some(&"operator"),
        "{}",
        text.lines().next().unwrap()
    );
    let with =
        |event: &str| -> Vec<&Vec<&str>> { rows.iter().filter(|row| row[2] == event).collect() };
    let locates = with("locate");
    assert_eq!(locates.len(), 2, "{text}");
    assert!(locates.iter().all(|row| row.last() == Some(&"1")), "{text}");
    assert_eq!((locates[0][4], locates[0][9]), ("1", "500"), "{text}");
    let refused = with("admin_refused");
    assert_eq!(refused.len(), 1, "{text}");
    assert!(
        refused[0]
            .join(",")
            .contains("halted 77 on: unknown symbol 77"),
        "{text}"
    );
    let admin = with("admin");
    assert_eq!(admin.len(), 1, "{text}");
    assert!(
        admin[0]
            .join(",")
            .contains("kill_switch client 2 off -> kill_switch client 2 on"),
        "{text}"
    );
    assert_eq!(admin[0].last(), Some(&"1"));
    // Order events carry no operator.
    assert!(
        with("risk_reject")
            .iter()
            .all(|row| row.last() == Some(&"")),
        "{text}"
    );
}

#[test]
fn a_view_operator_sees_clients_symbols_and_the_engine_and_controls_show_in_them() {
    let (started, dir) = engine("status");
    let mut viewer = AdminSession::logon(started.admin, 2, "ops-secret-2", WAIT).unwrap();
    let (mut client, _) = Client::logon(started.clients, 1, "demo-secret-1", WAIT).unwrap();
    for id in 1..=3 {
        client.send(&resting(id)).unwrap();
        assert!(matches!(reply(&mut client), Outbound::Accepted { .. }));
    }
    let status = |viewer: &mut AdminSession, scope, id| {
        viewer
            .status(scope, id)
            .unwrap()
            .unwrap_or_else(|refused| panic!("status {scope} {id}: {refused:?}"))
    };

    // Client 1: its three resting buys, $185 × 100 each, against its $1B credit line.
    match status(&mut viewer, 1, 1) {
        Admin2::ClientStatus {
            client,
            open_orders,
            killed,
            credit_used,
            credit_limit,
            messages_per_second,
            ..
        } => {
            assert_eq!(client, ClientId::new(1));
            assert_eq!((open_orders, killed), (3, false));
            assert_eq!(credit_used, 3 * 100 * 185_000_000);
            assert_eq!(credit_limit, 1_000_000_000 * 1_000_000);
            assert_eq!(messages_per_second, 2000);
        }
        other => panic!("{other:?}"),
    }
    // A control operator halts symbol 1 and turns Rule 201 on: the viewer sees both.
    let mut operator = control_operator(started.admin);
    applied(operator.request(&halt(1, true)).unwrap());
    applied(
        operator
            .request(&Admin::Control {
                target: 1,
                setting: 9,
                on: true,
                value: 0,
                upper: 0,
                expires_at: 0,
            })
            .unwrap(),
    );
    match status(&mut viewer, 2, 1) {
        Admin2::SymbolStatus {
            symbol,
            flags,
            position,
            band_lower,
            band_upper,
            ..
        } => {
            assert_eq!(symbol, SymbolId::new(1));
            assert_eq!(flags, 1 | 4, "halted by an operator, Rule 201 on");
            assert_eq!((position, band_lower, band_upper), (0, 0, 0));
        }
        other => panic!("{other:?}"),
    }
    let halted_at = applied(operator.request(&halt(1, false)).unwrap());
    match status(&mut viewer, 3, 0) {
        Admin2::EngineStatus {
            open_orders,
            last_sequence,
            firm_killed,
            ..
        } => {
            assert_eq!((open_orders, firm_killed), (3, false));
            assert!(last_sequence >= halted_at, "{last_sequence} < {halted_at}");
        }
        other => panic!("{other:?}"),
    }
    // Unknown ids and scopes are refused, and nothing is sequenced.
    let refusal = |viewer: &mut AdminSession, scope, id| match viewer.status(scope, id).unwrap() {
        Err(Answer::Refused {
            reason, sequence, ..
        }) => (reason, sequence),
        Ok(status) => panic!("status {scope} {id} answered {status:?}"),
        Err(other) => panic!("{other:?}"),
    };
    assert_eq!(refusal(&mut viewer, 1, 77), (202, 0));
    assert_eq!(refusal(&mut viewer, 2, 77), (201, 0));
    assert_eq!(refusal(&mut viewer, 9, 1), (6, 0));
    assert_eq!(refusal(&mut viewer, 3, 1), (6, 0));
    // The session goes on after each (numbers stay in step).
    assert!(matches!(
        status(&mut viewer, 3, 0),
        Admin2::EngineStatus { .. }
    ));

    // The command line, as the view operator, in JSON and for people.
    let cli = |args: &[&str]| {
        Command::new(CROSSLINE)
            .arg("admin")
            .arg("--address")
            .arg(started.admin.to_string())
            .args(args)
            .env("CROSSLINE_OPERATOR", "2")
            .env("CROSSLINE_ADMIN_SECRET", "ops-secret-2")
            .output()
            .unwrap()
    };
    drop(viewer);
    std::thread::sleep(Duration::from_millis(50));
    let output = cli(&["--json", "status", "client", "1"]);
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["open_orders"], 3);
    assert_eq!(json["credit_used_micros"], 3 * 100 * 185_000_000_i64);
    std::thread::sleep(Duration::from_millis(50));
    let output = cli(&["status", "engine"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(text.starts_with("engine: journal at sequence "), "{text}");
    assert!(text.contains("3 open orders"), "{text}");
    std::thread::sleep(Duration::from_millis(50));
    let output = cli(&["status", "symbol", "77"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("unknown symbol"));
    drop(started);
    let _ = std::fs::remove_dir_all(dir);
}

/// An IOC buy of 100 shares of symbol 1 at the offer: the firm fills it as principal.
fn marketable_buy(id: u64) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(1),
        quantity: Quantity::new(100),
        price: Price::from_micros(190_010_000),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::ImmediateOrCancel,
        capacity: Capacity::Agency,
    }
}

/// The price and improvement of the principal fill an order got.
fn principal_fill(client: &mut Client) -> (i64, i64) {
    assert!(matches!(reply(client), Outbound::Accepted { .. }));
    match reply(client) {
        Outbound::Filled {
            price,
            price_improvement,
            quantity,
            liquidity,
            ..
        } => {
            assert_eq!(liquidity, crossline_types::LiquiditySource::Principal);
            assert_eq!(quantity, Quantity::new(100));
            (price.micros(), price_improvement.micros())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_multipliers_set_and_loaded_through_the_admin_port_price_principal_fills() {
    let (started, dir) = engine("improvement");
    let journal = dir.join("journal");
    let mut clients: Vec<Client> = (1..=3)
        .map(|id| {
            Client::logon(started.clients, id, &format!("demo-secret-{id}"), WAIT)
                .unwrap()
                .0
        })
        .collect();

    // One client by hand, the others from a classification file as `crossline report
    // markouts` writes it.
    let output = admin_cli(started.admin, &["improvement", "set", "1", "0.5"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A multiplier out of range is refused before anything is sent.
    let output = admin_cli(started.admin, &["improvement", "set", "2", "2.5"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("multiplier \"2.5\" is not a number from 0 to 2"),
        "{stderr}"
    );
    let bad = dir.join("bad-classes.csv");
    std::fs::write(
        &bad,
        "client,shares,markout_5s_bps,class,multiplier\n2,4000,-3.1000,uninformed,1.50\n3,4000,0.2,neutral,2.5\n",
    )
    .unwrap();
    let output = admin_cli(
        started.admin,
        &["improvement", "load", bad.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 3: multiplier \"2.5\" is not a number from 0 to 2"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    let classes = dir.join("markouts-2026-12-classes.csv");
    std::fs::write(
        &classes,
        "client,shares,markout_5s_bps,class,multiplier\n2,4000,-3.1000,uninformed,1.50\n3,300,,unclassified,1.00\n",
    )
    .unwrap();
    let output = admin_cli(
        started.admin,
        &["improvement", "load", classes.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("improvement load: 2 of 2 applied"),
        "{stdout}"
    );
    // The engine refuses a multiplier out of range on the wire too (reason 6).
    let mut operator = control_operator(started.admin);
    let refused = operator
        .request(&Admin::Control {
            target: 1,
            setting: 15,
            on: false,
            value: 2_000_001,
            upper: 0,
            expires_at: 0,
        })
        .unwrap();
    assert!(
        matches!(
            refused,
            Answer::Refused {
                reason: 6,
                sequence: 0,
                ..
            }
        ),
        "{refused:?}"
    );
    let _ = operator.logout();
    let output = admin_cli(started.admin, &["--json", "status", "client", "1"]);
    let status: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).unwrap();
    assert_eq!(status["improvement_multiplier_ppm"], 500_000);

    // 10% of the 2-cent spread is 0.2 cents: half for client 1, half again for client
    // 2, the symbol's own for client 3.
    send_quote_read(started.feed, &journal, 2);
    let mut got = Vec::new();
    for (index, client) in clients.iter_mut().enumerate() {
        client.send(&marketable_buy(10 + index as u64)).unwrap();
        got.push(principal_fill(client));
    }
    assert_eq!(
        got,
        [
            (190_009_000, 1_000),
            (190_007_000, 3_000),
            (190_008_000, 2_000)
        ]
    );
    drop(started);
    // The changes are in the audit trail with their operator, and replay prices the same.
    let audit = dir.join("audit.csv");
    let status = Command::new(CROSSLINE)
        .args(["replay", "--audit"])
        .arg(&audit)
        .arg(&journal)
        .status()
        .unwrap();
    assert!(status.success());
    let audit = std::fs::read_to_string(&audit).unwrap();
    assert!(
        audit.contains("improvement_multiplier_ppm client 1 500000"),
        "{audit}"
    );
    assert!(
        audit.contains("improvement_multiplier_ppm client 2 1500000"),
        "{audit}"
    );
    verify(&journal);
    let _ = std::fs::remove_dir_all(dir);
}
