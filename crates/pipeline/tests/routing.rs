//! The router against the venue simulator, end to end: a client's order that cannot be
//! executed in-house goes to a venue as a child order, and the venue's report comes back
//! journaled and as the client's reply. Then the venue holding a child order drops
//! mid-order (re-routed or cancelled back, per configuration), and a venue that never
//! answers is timed out and dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::Client;
use crossline_config::Config;
use crossline_engine::Engine;
use crossline_gateway::Server;
use crossline_matcher::{Mode, VenueCancel, VenueFill};
use crossline_net::Backend;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_risk::{Command, Record};
use crossline_router::{RouterStats, VenueLoss, VenueState};
use crossline_types::{
    Capacity, ClientOrderId, LiquiditySource, OrderId, OrderType, Price, Quantity, Side, SymbolId,
    TimeInForce,
};
use crossline_venue::Simulator;

const AAPL: SymbolId = SymbolId::new(1);
/// The matcher's cancel reason code for "the venue cancelled the routed remainder".
const VENUE_CANCELLED: u8 = 9;
/// Long enough that a held venue never answers within a test.
const HOLD: Duration = Duration::from_secs(3_600);

enum Control {
    Latency(u8, Duration),
    Down(u8),
}

/// The engine's server and the venue simulator, polled in turn on one thread.
struct World {
    address: SocketAddr,
    control: mpsc::Sender<Control>,
    /// Open child orders per venue id (index), as the router sees them.
    open: Arc<[AtomicUsize; 4]>,
    venues_up: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<(Server<Vec<Record>>, Simulator)>,
}

fn now_ns() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since.as_nanos()).unwrap()
}

/// The default configuration on free ports, AAPL agency-only (so an order goes to a
/// venue), every venue filling whatever it displays, and `tweak` on top.
fn start(backend: Backend, tweak: impl FnOnce(&mut Config)) -> World {
    let mut config = crossline_config::parse(crossline_config::DEFAULT).unwrap();
    config.network.net.backend = backend;
    config.network.gateway.listen = "127.0.0.1:0".parse().unwrap();
    config.network.market_data.listen = "127.0.0.1:0".parse().unwrap();
    for venue in &mut config.router.venues {
        venue.address = "127.0.0.1:0".parse().unwrap();
    }
    config.router.ack_timeout_ms = 60_000;
    config.router.fill_timeout_ms = 60_000;
    config.simulator.quote_refresh_ms = 10;
    for venue in config.simulator.venues.values_mut() {
        venue.fill_ppm = 1_000_000;
        venue.latency_us = 0;
    }
    let aapl = config
        .matcher
        .symbols
        .iter_mut()
        .find(|symbol| symbol.symbol == AAPL)
        .unwrap();
    aapl.settings.mode = Mode::AgencyOnly;
    tweak(&mut config);
    let placeholder = "127.0.0.1:9".parse().unwrap();
    let mut simulator = Simulator::new(&config, placeholder).expect("simulator");
    for venue in &mut config.router.venues {
        venue.address = simulator.venue_address(venue.id).unwrap();
    }
    let engine = Engine::new(&config, Vec::<Record>::new()).unwrap();
    let mut server = Server::new(&config, engine).expect("server");
    simulator.set_feed_to(server.feed_address());
    let address = server.client_address();
    let (control, commands) = mpsc::channel();
    let open = Arc::new([const { AtomicUsize::new(0) }; 4]);
    let venues_up = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (open_seen, up_seen, flag) = (Arc::clone(&open), Arc::clone(&venues_up), Arc::clone(&stop));
    let handle = thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            simulator
                .poll(now_ns(), Some(Duration::ZERO))
                .expect("simulator poll");
            server
                .poll(Some(Duration::from_micros(200)))
                .expect("server poll");
            for id in 1..=3 {
                open_seen[usize::from(id)]
                    .store(server.router().open_children_at(id), Ordering::Relaxed);
            }
            let up = server
                .router()
                .venue_states()
                .filter(|(_, state)| *state == VenueState::Up)
                .count();
            up_seen.store(up, Ordering::Relaxed);
            while let Ok(command) = commands.try_recv() {
                match command {
                    Control::Latency(id, latency) => simulator.set_venue_latency(id, latency),
                    Control::Down(id) => simulator.set_venue_down(id, true),
                }
            }
        }
        (server, simulator)
    });
    let world = World {
        address,
        control,
        open,
        venues_up,
        stop,
        handle,
    };
    // Every venue logged on, and quotes on the feed.
    world.wait_for("every venue up", |world| {
        world.venues_up.load(Ordering::Relaxed) == 3
    });
    thread::sleep(Duration::from_millis(50));
    world
}

impl World {
    fn wait_for(&self, what: &str, done: impl Fn(&World) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// The venue holding an open child order, once one does.
    fn venue_holding_the_child(&self) -> u8 {
        let mut holder = 0;
        self.wait_for("a child order open at a venue", |world| {
            (1..=3u8).any(|id| world.open[usize::from(id)].load(Ordering::Relaxed) == 1)
        });
        for id in 1..=3u8 {
            if self.open[usize::from(id)].load(Ordering::Relaxed) == 1 {
                holder = id;
            }
        }
        holder
    }

    fn hold_every_venue(&self) {
        for id in 1..=3 {
            self.control.send(Control::Latency(id, HOLD)).unwrap();
        }
        // Let the control reach the polling thread before an order can.
        thread::sleep(Duration::from_millis(20));
    }

    fn finish(self) -> (RouterStats, Vec<Record>) {
        self.stop.store(true, Ordering::Relaxed);
        let (server, _simulator) = self.handle.join().expect("server thread");
        let journal = server.engine().sequencer().journal().clone();
        (server.router_stats(), journal)
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
    let mut client = Client::logon(world.address, 1);
    let order = send_order(&mut client, 1);
    expect_venue_fill(&mut client);
    let (stats, journal) = world.finish();
    assert_eq!(stats.children_sent, 1);
    assert_eq!(stats.shares_filled, 100);
    assert_eq!(stats.cancelled_back, 0);
    assert_eq!(
        journaled(&journal, fills_for(order)),
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

#[test]
fn a_venue_lost_mid_order_has_its_child_rerouted() {
    let world = start(Backend::IoUring, |config| {
        config.router.on_venue_loss = VenueLoss::Reroute;
    });
    let mut client = Client::logon(world.address, 1);
    world.hold_every_venue();
    let order = send_order(&mut client, 1);
    let holder = world.venue_holding_the_child();
    // The holder drops; the others answer at once from now on.
    world.control.send(Control::Down(holder)).unwrap();
    for id in (1..=3).filter(|&id| id != holder) {
        world
            .control
            .send(Control::Latency(id, Duration::ZERO))
            .unwrap();
    }
    expect_venue_fill(&mut client);
    let (stats, journal) = world.finish();
    assert_eq!(stats.children_lost, 1, "{stats:?}");
    assert_eq!(stats.reroutes, 1, "{stats:?}");
    assert_eq!(stats.children_sent, 2, "{stats:?}");
    assert!(stats.venues_lost >= 1);
    assert_eq!(journaled(&journal, fills_for(order)), 1);
    assert_eq!(journaled(&journal, cancels_for(order)), 0);
}

#[test]
fn a_venue_lost_mid_order_has_its_child_cancelled_back_when_so_configured() {
    let world = start(Backend::IoUring, |config| {
        config.router.on_venue_loss = VenueLoss::Cancel;
    });
    let mut client = Client::logon(world.address, 1);
    world.hold_every_venue();
    let order = send_order(&mut client, 1);
    let holder = world.venue_holding_the_child();
    world.control.send(Control::Down(holder)).unwrap();
    match client.receive() {
        Outbound::Cancelled {
            quantity, reason, ..
        } => {
            assert_eq!(reason, VENUE_CANCELLED);
            assert_eq!(quantity.shares(), 100);
        }
        other => panic!("expected the order cancelled back, got {other:?}"),
    }
    let (stats, journal) = world.finish();
    assert_eq!(stats.children_lost, 1, "{stats:?}");
    assert_eq!(stats.reroutes, 0, "{stats:?}");
    assert_eq!(stats.cancelled_back, 1, "{stats:?}");
    let cancels = journal
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

#[test]
fn a_child_never_answered_is_cancelled_and_its_silent_venue_dropped() {
    let world = start(Backend::IoUring, |config| {
        config.router.on_venue_loss = VenueLoss::Cancel;
        config.router.ack_timeout_ms = 100;
        config.router.cancel_timeout_ms = 100;
    });
    let mut client = Client::logon(world.address, 1);
    world.hold_every_venue();
    let started = Instant::now();
    send_order(&mut client, 1);
    match client.receive() {
        Outbound::Cancelled { reason, .. } => assert_eq!(reason, VENUE_CANCELLED),
        other => panic!("expected the order cancelled back, got {other:?}"),
    }
    // The ack timeout, then the cancel's: not before both ran out.
    assert!(started.elapsed() >= Duration::from_millis(200));
    let (stats, _) = world.finish();
    assert_eq!(stats.timeouts, 1, "{stats:?}");
    assert!(stats.venues_lost >= 1, "{stats:?}");
    assert_eq!(stats.children_lost, 1, "{stats:?}");
}

/// A recovered engine can show an order out at a venue whose child order died with the
/// previous run's venue session; the server cancels such routes back as it starts.
#[test]
fn orders_out_at_a_venue_when_the_engine_stopped_are_cancelled_back_at_start() {
    use crossline_risk::Stamped;
    use crossline_types::{ClientId, NewOrder, Quote, Timestamp};

    let mut config = crossline_config::parse(crossline_config::DEFAULT).unwrap();
    config.network.gateway.listen = "127.0.0.1:0".parse().unwrap();
    config.network.market_data.listen = "127.0.0.1:0".parse().unwrap();
    config.router.venues.clear();
    let aapl = config
        .matcher
        .symbols
        .iter_mut()
        .find(|s| s.symbol == AAPL)
        .unwrap();
    aapl.settings.mode = Mode::AgencyOnly;
    // The previous run: an NBBO, then a market order that went out to a venue.
    let mut engine = Engine::new(&config, Vec::<Record>::new()).unwrap();
    let time = Timestamp::new(now_ns());
    let quote = Quote {
        symbol: AAPL,
        bid: Price::from_micros(190_000_000),
        bid_size: Quantity::new(500),
        ask: Price::from_micros(190_020_000),
        ask_size: Quantity::new(500),
    };
    let order = NewOrder {
        client: ClientId::new(1),
        symbol: AAPL,
        client_order_id: ClientOrderId::new(7),
        price: Price::ZERO,
        quantity: Quantity::new(300),
        side: Side::Buy,
        order_type: OrderType::Market,
        time_in_force: TimeInForce::ImmediateOrCancel,
        capacity: Capacity::Agency,
    };
    for command in [Command::Nbbo(quote), Command::NewOrder(order)] {
        engine.submit(&Stamped { time, command }, &mut ()).unwrap();
    }
    let routed = engine
        .matcher()
        .order(ClientId::new(1), ClientOrderId::new(7))
        .expect("the order is working");
    assert_eq!(routed.routed.shares(), 300, "the order is out at a venue");
    // This run starts on that state.
    let server = Server::new(&config, engine).unwrap();
    let matcher = server.engine().matcher();
    assert!(
        matcher.order_by_id(routed.order_id).is_none(),
        "the IOC order's routed shares were cancelled back, and it is done"
    );
    let journal = server.engine().sequencer().journal();
    assert_eq!(
        journaled(journal, cancels_for(routed.order_id)),
        1,
        "one journaled venue cancel"
    );
}
