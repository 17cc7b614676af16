//! The router against the venue simulator, end to end through the running engine: a client's order that cannot be
//! executed in-house goes to a venue as a child order, and the venue's report comes back
//! journaled and as the client's reply. Then the venue holding a child order drops
//! mid-order (re-routed or cancelled back, per configuration), and a venue that never
//! answers is timed out and dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::{config_text, entry, fresh_dir, set, Client, Engine, Stopped};
use crossline_matcher::{VenueCancel, VenueFill};
use crossline_net::Backend;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_protocol::frame::FLAG_RESENT;
use crossline_risk::Setting;
use crossline_sequencer::{Command, Record};
use crossline_types::{
    Capacity, ClientOrderId, LiquiditySource, OrderId, OrderType, Price, Quantity, Side, SymbolId,
    TimeInForce,
};
use crossline_venue::Simulator;
use toml::Table;

const AAPL: SymbolId = SymbolId::new(1);
/// The matcher's cancel reason code for routed shares that came back unfilled and may not
/// rest (`CancelReason::VenueCancelled`; every case in `docs/PROTOCOL.md`).
const VENUE_CANCELLED: u8 = 9;
/// Long enough that a held venue never answers within a test.
const HOLD: Duration = Duration::from_secs(3_600);

enum Control {
    Latency(u8, Duration),
    Down(u8),
}

/// The venues' names, by id (the default configuration's `[[venues]]`).
const VENUES: [(u8, &str); 3] = [(1, "XNYS"), (2, "XNAS"), (3, "BATS")];

/// The running engine and the venue simulator (on a thread of its own, taking controls).
struct World {
    engine: Engine,
    control: mpsc::Sender<Control>,
    stop: Arc<AtomicBool>,
    simulator: Option<thread::JoinHandle<()>>,
}

fn now_ns() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since.as_nanos()).unwrap()
}

/// The default configuration on free ports, AAPL agency-only (so an order goes to a
/// venue), every venue filling whatever it displays at once, and `edit` on top.
fn world_text(backend: Backend, edit: impl FnOnce(&mut Table)) -> String {
    config_text(|doc| {
        set(doc, "net.backend", backend_name(backend));
        set(doc, "router.ack_timeout_ms", 60_000);
        set(doc, "router.fill_timeout_ms", 60_000);
        set(doc, "simulator.quote_refresh_ms", 10);
        set(doc, "simulator.fill_probability", 1.0);
        set(doc, "simulator.latency_us", 0);
        doc.get_mut("simulator")
            .unwrap()
            .as_table_mut()
            .unwrap()
            .remove("venues");
        entry(doc, "symbols", 0).insert("mode".into(), "agency_only".into());
        edit(doc);
    })
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::IoUring => "io_uring",
        Backend::Epoll => "epoll",
    }
}

/// Starts the simulator on `text`'s venues, points the venues at it, and starts the
/// engine in `dir`.
fn start_in(dir: &Path, text: &str) -> World {
    let config = crossline_config::parse(text).unwrap();
    let placeholder = "127.0.0.1:9".parse().unwrap();
    let mut simulator = Simulator::new(&config, placeholder).expect("simulator");
    let text = venues_at(text, |id| simulator.venue_address(id).unwrap());
    let engine = Engine::try_start(dir, &text).expect("the engine starts");
    simulator.set_feed_to(engine.feed);
    let (control, commands) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            simulator
                .poll(now_ns(), Some(Duration::from_micros(200)))
                .expect("simulator poll");
            while let Ok(command) = commands.try_recv() {
                match command {
                    Control::Latency(id, latency) => simulator.set_venue_latency(id, latency),
                    Control::Down(id) => simulator.set_venue_down(id, true),
                }
            }
        }
    });
    let world = World {
        engine,
        control,
        stop,
        simulator: Some(handle),
    };
    // Every venue logged on, and quotes on the feed.
    world.engine.wait_for("every venue up", |engine| {
        VENUES
            .iter()
            .all(|(_, name)| engine.counter(&format!("venue.{name}.up")) == 1)
    });
    thread::sleep(Duration::from_millis(50));
    world
}

fn start(backend: Backend, edit: impl FnOnce(&mut Table)) -> World {
    start_in(&fresh_dir("routing"), &world_text(backend, edit))
}

/// `text` with each venue's address given by `address(id)`.
fn venues_at(text: &str, address: impl Fn(u8) -> SocketAddr) -> String {
    let mut doc: Table = toml::from_str(text).unwrap();
    for index in 0..VENUES.len() {
        let venue = entry(&mut doc, "venues", index);
        let id = u8::try_from(venue["id"].as_integer().unwrap()).unwrap();
        venue.insert("address".into(), address(id).to_string().into());
    }
    toml::to_string(&doc).unwrap()
}

impl World {
    /// The venue holding an open child order, once one does.
    fn venue_holding_the_child(&self) -> u8 {
        let open =
            |engine: &Engine, name: &str| engine.counter(&format!("venue.{name}.children_open"));
        self.engine
            .wait_for("a child order open at a venue", |engine| {
                VENUES.iter().any(|(_, name)| open(engine, name) == 1)
            });
        VENUES
            .iter()
            .find(|(_, name)| open(&self.engine, name) == 1)
            .map(|(id, _)| *id)
            .unwrap()
    }

    fn hold_every_venue(&self) {
        for (id, _) in VENUES {
            self.control.send(Control::Latency(id, HOLD)).unwrap();
        }
        // Let the control reach the simulator's thread before an order can.
        thread::sleep(Duration::from_millis(20));
    }

    /// Stops the engine, then the simulator (so no venue is lost while the engine runs),
    /// and reads back what the engine left; its journal directory is kept.
    fn finish_keeping_journal(self) -> (PathBuf, Stopped) {
        let World {
            engine,
            stop,
            simulator,
            ..
        } = self;
        let kept = engine.stop_keeping_journal();
        stop.store(true, Ordering::Relaxed);
        if let Some(handle) = simulator {
            handle.join().expect("simulator thread");
        }
        kept
    }

    fn finish(self) -> Stopped {
        let (dir, stopped) = self.finish_keeping_journal();
        let _ = std::fs::remove_dir_all(dir);
        stopped
    }
}

fn market_buy(id: u64) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: AAPL,
        quantity: Quantity::new(100),
        price: Price::ZERO,
        side: Side::Buy,
        order_type: OrderType::Market,
        time_in_force: TimeInForce::ImmediateOrCancel,
        capacity: Capacity::Agency,
    }
}

/// Sends a market buy and returns the engine's id for it.
fn send_order(client: &mut Client, id: u64) -> OrderId {
    client.send(&market_buy(id));
    match client.receive() {
        Outbound::Accepted { order_id, .. } => order_id,
        other => panic!("expected the order accepted, got {other:?}"),
    }
}

fn expect_venue_fill(client: &mut Client) {
    match client.receive() {
        Outbound::Filled {
            quantity,
            leaves,
            liquidity,
            price,
            ..
        } => {
            assert_eq!(liquidity, LiquiditySource::Venue);
            assert_eq!((quantity.shares(), leaves.shares()), (100, 0));
            assert!(price > Price::ZERO);
        }
        other => panic!("expected a venue fill, got {other:?}"),
    }
}

fn journaled(journal: &[Record], wanted: impl Fn(&Command) -> bool) -> usize {
    journal
        .iter()
        .filter(|record| wanted(&record.command))
        .count()
}

fn fills_for(order: OrderId) -> impl Fn(&Command) -> bool {
    move |command| matches!(command, Command::VenueFill(VenueFill { order_id, .. }) if *order_id == order)
}

fn cancels_for(order: OrderId) -> impl Fn(&Command) -> bool {
    move |command| matches!(command, Command::VenueCancel(VenueCancel { order_id, .. }) if *order_id == order)
}

fn routed_order_fills_at_a_venue(backend: Backend) {
    let world = start(backend, |_| {});
    let mut client = Client::logon(world.engine.address, 1);
    let order = send_order(&mut client, 1);
    expect_venue_fill(&mut client);
    let stopped = world.finish();
    assert_eq!(stopped.counter("router.children_sent"), 1);
    assert_eq!(stopped.counter("router.shares_filled"), 100);
    assert_eq!(stopped.counter("router.cancelled_back"), 0);
    // 100 shares taken at one of the venues' fees ($0.0030, $0.0029 or $0.0020 a share).
    let fees = stopped.counter("router.fees_paid_micros");
    assert!(
        [300_000, 290_000, 200_000].contains(&fees),
        "router.fees_paid_micros = {fees}"
    );
    assert_eq!(stopped.counter("router.rebates_micros"), 0);
    assert_eq!(
        journaled(&stopped.records, fills_for(order)),
        1,
        "the fill is journaled"
    );
}

#[test]
fn routed_order_fills_at_a_venue_io_uring() {
    routed_order_fills_at_a_venue(Backend::IoUring);
}

#[test]
fn routed_order_fills_at_a_venue_epoll() {
    routed_order_fills_at_a_venue(Backend::Epoll);
}

/// An engine whose `[router] on_venue_loss` is `on_loss`, every venue holding its
/// answers, and a client's market order out at one of them: the world, the client, the
/// order and the venue holding its child.
fn held_at_a_venue(on_loss: &str) -> (World, Client, OrderId, u8) {
    let world = start(Backend::IoUring, |doc| {
        set(doc, "router.on_venue_loss", on_loss);
    });
    let mut client = Client::logon(world.engine.address, 1);
    world.hold_every_venue();
    let order = send_order(&mut client, 1);
    let holder = world.venue_holding_the_child();
    (world, client, order, holder)
}

#[test]
fn a_venue_lost_mid_order_has_its_child_rerouted() {
    let (world, mut client, order, holder) = held_at_a_venue("reroute");
    // The holder drops; the others answer at once from now on.
    world.control.send(Control::Down(holder)).unwrap();
    for (id, _) in VENUES.into_iter().filter(|(id, _)| *id != holder) {
        world
            .control
            .send(Control::Latency(id, Duration::ZERO))
            .unwrap();
    }
    expect_venue_fill(&mut client);
    let stopped = world.finish();
    assert_eq!(stopped.counter("router.children_lost"), 1);
    assert_eq!(stopped.counter("router.reroutes"), 1);
    assert_eq!(stopped.counter("router.children_sent"), 2);
    assert!(stopped.counter("router.venues_lost") >= 1);
    assert_eq!(journaled(&stopped.records, fills_for(order)), 1);
    assert_eq!(journaled(&stopped.records, cancels_for(order)), 0);
}

#[test]
fn a_venue_lost_mid_order_has_its_child_cancelled_back_when_so_configured() {
    let (world, mut client, order, holder) = held_at_a_venue("cancel");
    world.control.send(Control::Down(holder)).unwrap();
    expect_cancelled_back(&mut client, 100);
    let stopped = world.finish();
    assert_eq!(stopped.counter("router.children_lost"), 1);
    assert_eq!(stopped.counter("router.reroutes"), 0);
    assert_eq!(stopped.counter("router.cancelled_back"), 1);
    let cancels = stopped
        .records
        .iter()
        .filter(|record| cancels_for(order)(&record.command))
        .map(|record| record.command)
        .collect::<Vec<_>>();
    assert_eq!(
        cancels,
        [Command::VenueCancel(VenueCancel {
            order_id: order,
            quantity: Quantity::new(100)
        })],
        "one journaled venue cancel of the whole child"
    );
}

fn expect_cancelled_back(client: &mut Client, shares: u32) {
    match client.receive() {
        Outbound::Cancelled {
            quantity, reason, ..
        } => {
            assert_eq!(reason, VENUE_CANCELLED);
            assert_eq!(quantity.shares(), shares);
        }
        other => panic!("expected the order cancelled back, got {other:?}"),
    }
}

#[test]
fn a_child_never_answered_is_cancelled_and_its_silent_venue_dropped() {
    let world = start(Backend::IoUring, |doc| {
        set(doc, "router.on_venue_loss", "cancel");
        set(doc, "router.ack_timeout_ms", 100);
        set(doc, "router.cancel_timeout_ms", 100);
    });
    let mut client = Client::logon(world.engine.address, 1);
    world.hold_every_venue();
    let started = Instant::now();
    send_order(&mut client, 1);
    expect_cancelled_back(&mut client, 100);
    // The ack timeout, then the cancel's: not before both ran out.
    assert!(started.elapsed() >= Duration::from_millis(200));
    let stopped = world.finish();
    assert_eq!(stopped.counter("router.timeouts"), 1);
    assert!(stopped.counter("router.venues_lost") >= 1);
    assert_eq!(stopped.counter("router.children_lost"), 1);
}

/// An engine stopped while an order was out at a venue shows it still out when it
/// restarts, but the venue session (and with it the child order, by the venue protocol's
/// cancel on disconnect) ended with the previous run: the restarted engine cancels such
/// routes back as it starts, journaled, and the client hears of it.
#[test]
fn orders_out_at_a_venue_when_the_engine_stopped_are_cancelled_back_at_start() {
    let dir = fresh_dir("routing-restart");
    let text = world_text(Backend::IoUring, |_| {});
    let world = start_in(&dir, &text);
    let mut client = Client::logon(world.engine.address, 1);
    world.hold_every_venue();
    let order = send_order(&mut client, 1);
    world.venue_holding_the_child();
    drop(client);
    // The engine stops with the order out at a held venue, then the venues go.
    let (dir, first) = world.finish_keeping_journal();
    assert_eq!(journaled(&first.records, cancels_for(order)), 0);

    // The same configuration, with the venues at addresses nothing listens at (an
    // operational change the journal accepts).
    let mut engine = Engine::try_start(&dir, &text).expect("the engine restarts");
    // The cancel-back is the restarted engine's first reply; once it is handed to the
    // order ingress, a logon finds it numbered and kept.
    engine.wait_for("the cancel-back's reply", |engine| {
        engine.counter("replies.sent") >= 1
    });
    let mut client = Client::logon(engine.address, 1);
    client.send(&Inbound::ResendRequest { from_sequence: 1 });
    assert!(matches!(client.receive(), Outbound::Accepted { .. }));
    expect_cancelled_back(&mut client, 100);
    assert_eq!(
        client.last_flags, FLAG_RESENT,
        "both replies come from the resend"
    );
    let stopped = engine.stop();
    assert_eq!(
        journaled(&stopped.records, cancels_for(order)),
        1,
        "one journaled venue cancel"
    );
}

/// Stalled venues (every one holds its child orders, answering nothing) with room for
/// few children: the engine backs up at the router's table, not in a queue. Each order is
/// answered: those that found room wait at a venue, the rest are cancelled back
/// (`router.table_full`); nothing is lost and no queue passes its bound.
#[test]
fn stalled_venues_back_up_at_the_child_table_and_lose_nothing() {
    const ORDERS: u64 = 20;
    const CHILDREN: u64 = 8;
    let world = start(Backend::IoUring, |doc| {
        set(doc, "router.children_max", CHILDREN as i64);
    });
    let mut client = Client::logon(world.engine.address, 1);
    world.hold_every_venue();
    for id in 1..=ORDERS {
        client.send(&market_buy(id));
    }
    let (mut accepted, mut cancelled) = (0, 0);
    while accepted < ORDERS || cancelled < ORDERS - CHILDREN {
        match client.receive() {
            Outbound::Accepted { .. } => accepted += 1,
            Outbound::Cancelled { quantity, .. } => {
                assert_eq!(quantity.shares(), 100);
                cancelled += 1;
            }
            other => panic!("unexpected reply {other:?}"),
        }
    }
    // The egress publishes the router's counters, then the venues' gauges: a reader
    // between the two sees the new count beside the old gauges, so wait for both.
    let open = |engine: &Engine| -> u64 {
        VENUES
            .iter()
            .map(|(_, name)| engine.counter(&format!("venue.{name}.children_open")))
            .sum()
    };
    world.engine.wait_for("every child counted", |engine| {
        engine.counter("router.table_full") == ORDERS - CHILDREN && open(engine) == CHILDREN
    });
    assert_eq!(
        open(&world.engine),
        CHILDREN,
        "the rest wait at the stalled venues"
    );
    assert_eq!(client.try_receive(Duration::from_millis(100)), None);
    let stopped = world.finish();
    assert_eq!(stopped.counter("queues.overflows"), 0);
    assert_eq!(
        journaled(&stopped.records, |c| matches!(c, Command::NewOrder(_))),
        usize::try_from(ORDERS).unwrap()
    );
}

/// The risk gate's reject reason for an order in a halted symbol (`docs/PROTOCOL.md`).
const HALTED: u16 = 141;

/// What one market buy came to: filled at a venue, or refused with a reason.
fn buy_outcome(client: &mut Client, id: u64) -> Result<(), u16> {
    client.send(&market_buy(id));
    match client.receive() {
        Outbound::Accepted { .. } => {
            expect_venue_fill(client);
            Ok(())
        }
        Outbound::Rejected { reason, .. } => Err(reason),
        other => panic!("order {id}: expected accepted or rejected, got {other:?}"),
    }
}

#[test]
fn a_halt_scheduled_on_the_feed_stops_execution_and_routing_until_it_lifts() {
    // AAPL halted 1.5 s after the simulator starts, for 1.5 s, announced on the feed.
    let world = start(Backend::IoUring, |doc| {
        let mut halt = Table::new();
        halt.insert("symbol".into(), 1.into());
        halt.insert("status".into(), "halt".into());
        halt.insert("at_ms".into(), 1_500.into());
        halt.insert("for_ms".into(), 1_500.into());
        set(
            doc,
            "simulator.schedule",
            toml::Value::Array(vec![halt.into()]),
        );
    });
    let mut client = Client::logon(world.engine.address, 1);
    let mut other = Client::logon(world.engine.address, 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    // Trading until the feed's halt reaches the gate.
    let mut filled_before = 0;
    let halted_at = loop {
        assert!(Instant::now() < deadline, "the scheduled halt never came");
        match buy_outcome(&mut client, next()) {
            Ok(()) => filled_before += 1,
            Err(HALTED) => break Instant::now(),
            Err(other) => panic!("refused with {other} before the halt"),
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert!(filled_before >= 1, "nothing traded before the halt");
    let children_at_halt = world.engine.counter("router.children_sent");
    // Halted: nothing is routed, and a resting order cannot be crossed in-house either,
    // as every new order in the symbol is refused.
    let sell = Inbound::NewOrder {
        client_order_id: ClientOrderId::new(1),
        symbol: AAPL,
        quantity: Quantity::new(100),
        price: Price::from_micros(1_000_000),
        side: Side::Sell,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    };
    other.send(&sell);
    match other.receive() {
        Outbound::Rejected { reason, .. } => assert_eq!(reason, HALTED),
        reply => panic!("a sell during the halt: {reply:?}"),
    }
    let mut refused_during = 1;
    let resumed_at = loop {
        assert!(Instant::now() < deadline, "the halt never lifted");
        match buy_outcome(&mut client, next()) {
            Err(HALTED) => refused_during += 1,
            Ok(()) => break Instant::now(),
            Err(other) => panic!("refused with {other} during the halt"),
        }
        thread::sleep(Duration::from_millis(20));
    };
    let halt = resumed_at - halted_at;
    assert!(
        halt >= Duration::from_millis(1_000) && refused_during >= 10,
        "halted for {halt:?}, {refused_during} orders refused"
    );
    let stopped = world.finish();
    // Nothing went to a venue while halted: one child per order that filled after it.
    assert_eq!(
        stopped.counter("router.children_sent"),
        children_at_halt + 1
    );
    assert!(stopped.counter("feed.status_changes") >= 2);
    // The market's halt and resume are journaled as admin changes from operator 0.
    let mut market_halts: Vec<(u32, Setting)> = stopped
        .records
        .iter()
        .filter_map(|record| match record.command {
            Command::Admin(change) if matches!(change.setting, Setting::MarketHalted(..)) => {
                Some((change.operator, change.setting))
            }
            _ => None,
        })
        .collect();
    // (A feed gap would have the ingress submit the current word again.)
    market_halts.dedup();
    assert_eq!(
        market_halts,
        [
            (0, Setting::MarketHalted(AAPL, false)),
            (0, Setting::MarketHalted(AAPL, true)),
            (0, Setting::MarketHalted(AAPL, false)),
        ]
    );
}
