//! Kill -9 under load of the real engine: `crossline run` takes orders and cancels from
//! two clients, is killed with SIGKILL at a random moment, and is started again on its
//! journal, trial after trial. After every kill:
//!
//! - every request a client got a reply to (an acknowledged order or cancel) is in the
//!   journal, and no request left without a reply is;
//! - `crossline replay --verify` passes on the journal: two replays agree, and every
//!   snapshot the running engine took (one every 64 commands, so restarts load them
//!   and restarted engines take them) holds the state a clean replay reaches there;
//! - each client logs on again, is told a last reply number no lower than the last it
//!   saw, and asks for a resend from up to four replies before the first it missed: the
//!   replies it had come again unchanged, the missed ones follow, all flagged resent and
//!   numbered with no gap; then a new order is accepted, and the live replies go on with
//!   the next numbers.
//!
//! Trials run 20 to a journal, as production runs one journal a day: each restart
//! recovers what the earlier kills on that journal left (a torn tail, a snapshot cut
//! short, 1 MiB segments rolled mid-trial), and reply numbers must run on across every
//! restart of the day, which a fresh journal per trial would never test. The next 20
//! start a new journal because `replay --verify` after each kill replays the whole
//! journal: on one journal for all 200 trials its cost grows with every trial (the
//! first 200-trial run took 480 s, mostly in it), on 20 it stays a fraction of a second.
//!
//! 2 trials here; `scripts/crash-test.sh --engine 200` runs 200
//! (`CROSSLINE_CRASH_ENGINE_TRIALS`). The seed printed first
//! (`CROSSLINE_CRASH_ENGINE_SEED` sets it) repeats the orders and the kill moments; the
//! threads' timing does not repeat.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{config, send_quote, start, verify, Engine};
use crossline::client::{Client, ClientError};
use crossline_engine::{codec, recovery};
use crossline_journal::Reader;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_protocol::frame::{Header, FLAG_RESENT};
use crossline_sequencer::Command as Cmd;
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

/// Trials on one journal before the next trial starts a new one: enough restarts for
/// reply numbers to run on across many, few enough that `replay --verify` after each
/// kill stays quick (it replays the whole journal twice, and hashes the whole state at
/// each of its snapshot records, one every [`SNAPSHOT_EVERY`] commands).
const TRIALS_PER_JOURNAL: u64 = 20;
/// Commands between the running engine's snapshots. It counts from its start, and a
/// run here is a few hundred commands long, so most runs take some and most restarts
/// load one.
const SNAPSHOT_EVERY: u64 = 64;
/// The clients that send the load (two clients with the default limits).
const CLIENTS: [(u32, &str); 2] = [(1, "demo-secret-1"), (2, "demo-secret-2")];
/// Requests one client has out without a reply at once.
const IN_FLIGHT_MAX: usize = 8;
/// Between one client's requests: about 1,700 a second, inside its 2,000-message rate
/// limit, so the load is orders and cancels rather than rate rejects.
const SEND_INTERVAL: Duration = Duration::from_micros(600);
/// The kill lands up to this long after the load starts.
const KILL_AFTER_US_MAX: u64 = 150_000;
/// How long a client waits for a reply it is owed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a load may run without the kill ending it.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Between the feed's quotes: well inside the 1 s after which the NBBO is stale.
const QUOTE_INTERVAL: Duration = Duration::from_millis(50);
/// The resend starts up to this many replies before the first one missed.
const RESEND_OVERLAP_MAX: u32 = 4;
/// A buy at $189.50 rests below the $189.99 bid and crosses nothing the load sends
/// (its sells are at $189.92 and up), so it changes no other client's replies.
const PROBE_PRICE_MICROS: i64 = 189_500_000;
/// Orders refused before the engine has an NBBO: no reference price (risk gate), NBBO
/// unusable (matcher).
const NO_PRICE_YET: [u16; 2] = [160, 8];
/// Probes sent before the restarted engine must have had a quote.
const PROBE_TRIES_MAX: u32 = 50;
/// The midpoint of the feed's NBBO ($189.99 × $190.01), where orders cross in-house.
const MIDPOINT_MICROS: i64 = 190_000_000;
/// Cancel requests are answered by a `Cancelled` with this reason.
const CANCEL_REASON_REQUESTED: u8 = 1;

#[test]
fn kill_nine_of_crossline_run_under_load_loses_nothing_acknowledged() {
    let trials: u64 = environment("CROSSLINE_CRASH_ENGINE_TRIALS").unwrap_or(2);
    let seed = environment("CROSSLINE_CRASH_ENGINE_SEED").unwrap_or_else(|| {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        u64::try_from(since_epoch.as_nanos() % u128::from(u64::MAX)).unwrap()
    });
    let dir = std::env::temp_dir().join(format!("crossline-crash-engine-{}", std::process::id()));
    println!(
        "crash_engine: seed {seed} (CROSSLINE_CRASH_ENGINE_SEED={seed} repeats it), {trials} \
         trials, journals in {}",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("crossline.toml");
    std::fs::write(&config, engine_config()).unwrap();

    let mut random = fastrand::Rng::with_seed(seed);
    let feed = Feed::start();
    let mut run = Run::default();
    let mut sessions = Vec::new();
    let started = Instant::now();
    let mut trial = 0;
    while trial < trials {
        let count = TRIALS_PER_JOURNAL.min(trials - trial);
        let journal = dir.join(format!("journal-{trial}"));
        let day_seed = random.u64(..);
        sessions.extend(kill_on_one_journal(
            &config, &journal, &feed, trial, count, day_seed, &mut run,
        ));
        trial += count;
    }
    feed.stop();
    run.report(trials, &sessions, started.elapsed(), seed);
    std::fs::remove_dir_all(&dir).ok();
}

/// Trials `first` to `first + count - 1`, all on `journal`, a new one (a trading day):
/// the engine starts on it, then each trial reconnects the clients, loads, kills and
/// checks, and restarts the engine; after the last the clients reconnect once more
/// and the engine is stopped. Returns the day's clients, for the totals.
fn kill_on_one_journal(
    config: &Path,
    journal: &Path,
    feed: &Feed,
    first: u64,
    count: u64,
    seed: u64,
    run: &mut Run,
) -> Vec<Session> {
    let mut random = fastrand::Rng::with_seed(seed);
    let mut sessions: Vec<Session> = CLIENTS
        .iter()
        .map(|&(client, secret)| Session::new(client, secret, seed ^ u64::from(client)))
        .collect();
    let (mut engine, mut address) = restart(config, journal, feed, run);
    let mut journaled = Journaled::default();
    for trial in first..first + count {
        reconnect_all(&mut sessions, address, &journaled);
        let delay = Duration::from_micros(random.u64(0..KILL_AFTER_US_MAX));
        load_and_kill(&mut sessions, &mut engine, delay);
        journaled = Journaled::read(journal);
        for session in &sessions {
            session.check_journaled(&journaled, trial);
        }
        run.snapshots_checked += verify(journal)
            .matches("recorded state equals the replay's")
            .count();
        (engine, address) = restart(config, journal, feed, run);
    }
    // After the last kill too: the resends, and a new order accepted.
    reconnect_all(&mut sessions, address, &journaled);
    stop(engine);
    let journaled = Journaled::read(journal);
    for session in &sessions {
        session.check_journaled(&journaled, first + count);
    }
    verify(journal);
    sessions
}

/// A number from the environment variable `name`, if it is set.
fn environment(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text}: not a number")),
    )
}

/// The default configuration on free ports, with 1 MiB segments (so the journal rolls
/// during the run), a snapshot every [`SNAPSHOT_EVERY`] commands (so restarts load
/// snapshots the running engine took), and its venues on ports 1 to 3, where nothing listens: a venue
/// simulator someone runs on the default ports must not answer this engine's routes,
/// which are cancelled back at once instead, the same every run.
fn engine_config() -> String {
    let snapshot_every = format!("snapshot_every = {SNAPSHOT_EVERY}");
    config(&[
        ("segment_mib = 64", "segment_mib = 1"),
        ("snapshot_every = 1000000", &snapshot_every),
        ("address = \"127.0.0.1:9301\"", "address = \"127.0.0.1:1\""),
        ("address = \"127.0.0.1:9302\"", "address = \"127.0.0.1:2\""),
        ("address = \"127.0.0.1:9303\"", "address = \"127.0.0.1:3\""),
    ])
}

/// What the run counted, for its closing line.
#[derive(Default)]
struct Run {
    restarts: u64,
    from_snapshot: u64,
    torn: u64,
    snapshots_checked: usize,
}

impl Run {
    fn report(&self, trials: u64, sessions: &[Session], elapsed: Duration, seed: u64) {
        let sum = |count: fn(&Session) -> usize| sessions.iter().map(count).sum::<usize>();
        let orders = sum(|session| session.acknowledged_of(Request::is_order));
        let cancels =
            sum(|session| session.acknowledged_of(|request: &Request| !request.is_order()));
        let replies = sum(|session| session.replies.len());
        let lost = sum(|session| session.lost);
        let resent_new = sum(|session| session.resent_new);
        let resent_again = sum(|session| session.resent_again);
        println!(
            "{trials} kills of crossline run ({} journals) in {:.1} s: {orders} acknowledged orders and \
             {cancels} acknowledged cancels, all in the journal after every kill ({lost} \
             requests unanswered at a kill, none of them journaled); {replies} replies \
             numbered with no gap, {resent_new} first received in a resend after a \
             restart, {resent_again} resent unchanged; {} of {} restarts from a snapshot, {} \
             cleared a torn record; replay --verify passed after every kill, {} snapshot \
             states equal to a clean replay; seed {seed}",
            trials.div_ceil(TRIALS_PER_JOURNAL),
            elapsed.as_secs_f64(),
            self.from_snapshot,
            self.restarts,
            self.torn,
            self.snapshots_checked,
        );
        // Beyond the one order each client sends after each restart.
        let probes = (usize::try_from(trials).unwrap() + 1) * sessions.len();
        assert!(
            orders > probes,
            "the load never got going: {orders} orders acknowledged"
        );
    }
}

/// Starts `crossline run` on `journal`, points the feed at it and publishes a quote.
fn restart(config: &Path, journal: &Path, feed: &Feed, run: &mut Run) -> (Engine, SocketAddr) {
    let (engine, address, feed_address, recovery) = start(config, journal);
    feed.point_at(feed_address);
    run.restarts += 1;
    run.from_snapshot += u64::from(recovery.contains("loaded snapshot"));
    run.torn += u64::from(recovery.contains("torn"));
    (engine, address)
}

/// Stops the engine with SIGTERM, which must end it cleanly.
fn stop(mut engine: Engine) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(engine.0.id().to_string())
        .status();
    let status = engine.0.wait().unwrap();
    assert!(status.success(), "a SIGTERM stops it cleanly: {status:?}");
}

/// Every client logs on, catches up on its replies and has a new order accepted; all of
/// them before any sends load, so no one's catch-up sees replies the load causes.
fn reconnect_all(sessions: &mut [Session], address: SocketAddr, journaled: &Journaled) {
    std::thread::scope(|scope| {
        for session in sessions.iter_mut() {
            scope.spawn(move || session.reconnect(address, journaled));
        }
    });
}

/// Every client sends load until the engine, killed after `delay`, is gone.
fn load_and_kill(sessions: &mut [Session], engine: &mut Engine, delay: Duration) {
    std::thread::scope(|scope| {
        for session in sessions.iter_mut() {
            scope.spawn(move || session.load());
        }
        std::thread::sleep(delay);
        engine.0.kill().unwrap(); // SIGKILL
        engine.0.wait().unwrap();
    });
}

/// The quotes a feed would publish: symbol 1's NBBO every [`QUOTE_INTERVAL`], to
/// whichever engine runs now, numbered on across restarts (a restarted engine sees a
/// gap, publishes an empty NBBO, then takes the next quote).
#[derive(Clone)]
struct Feed(Arc<FeedState>);

struct FeedState {
    address: Mutex<Option<SocketAddr>>,
    sequence: AtomicU64,
    stopping: AtomicBool,
}

impl Feed {
    fn start() -> Feed {
        let feed = Feed(Arc::new(FeedState {
            address: Mutex::new(None),
            sequence: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
        }));
        let publisher = feed.clone();
        std::thread::spawn(move || {
            while !publisher.0.stopping.load(Ordering::Relaxed) {
                publisher.publish();
                std::thread::sleep(QUOTE_INTERVAL);
            }
        });
        feed
    }

    /// Sends quotes to `address` from now on, the first at once.
    fn point_at(&self, address: SocketAddr) {
        *self.0.address.lock().unwrap() = Some(address);
        self.publish();
    }

    fn publish(&self) {
        let address = *self.0.address.lock().unwrap();
        if let Some(address) = address {
            send_quote(address, self.0.sequence.fetch_add(1, Ordering::Relaxed));
        }
    }

    fn stop(&self) {
        self.0.stopping.store(true, Ordering::Relaxed);
    }
}

/// The client requests in the journal: (client, client order id) of each new order
/// and of each cancel.
#[derive(Default)]
struct Journaled {
    orders: HashSet<(u32, u64)>,
    cancels: HashSet<(u32, u64)>,
}

impl Journaled {
    fn read(dir: &Path) -> Journaled {
        let mut reader = Reader::open(dir, recovery::PAYLOAD_MAX).unwrap();
        let mut journaled = Journaled::default();
        while let Some(entry) = reader.next().unwrap() {
            if entry.kind != codec::KIND_COMMAND {
                continue;
            }
            match codec::decode(&entry).unwrap().command {
                Cmd::NewOrder(order) => {
                    journaled
                        .orders
                        .insert((order.client.get(), order.client_order_id.get()));
                }
                Cmd::Cancel(cancel) => {
                    journaled
                        .cancels
                        .insert((cancel.client.get(), cancel.client_order_id.get()));
                }
                _ => {}
            }
        }
        journaled
    }

    fn holds(&self, client: u32, id: u64, request: Request) -> bool {
        match request {
            Request::Order => self.orders.contains(&(client, id)),
            Request::Cancel { .. } => self.cancels.contains(&(client, id)),
        }
    }
}

/// A request a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Order,
    Cancel { original: u64 },
}

impl Request {
    fn is_order(&self) -> bool {
        *self == Request::Order
    }
}

/// One client across the whole run: what it sent, every reply it got, what it expects.
struct Session {
    client: u32,
    secret: &'static str,
    random: fastrand::Rng,
    connection: Option<Client>,
    /// Every reply of the day: reply number n at index n - 1.
    replies: Vec<Outbound>,
    /// Replies sent live ahead of the resend that must contain them, by number.
    early: BTreeMap<u32, Outbound>,
    next_id: u64,
    requests: HashMap<u64, Request>,
    /// Requests sent and not answered yet.
    unanswered: HashSet<u64>,
    /// Requests answered: the acknowledged ones.
    acknowledged: HashSet<u64>,
    /// Orders accepted and not finished (filled in full or cancelled): what cancels name.
    working: Vec<u64>,
    /// The cancel request out for each order that has one.
    cancels_out: HashMap<u64, u64>,
    /// Requests a kill took before the journal had them (never answered).
    lost: usize,
    /// Replies first received in a resend, and replies received again unchanged.
    resent_new: usize,
    resent_again: usize,
}

impl Session {
    fn new(client: u32, secret: &'static str, seed: u64) -> Session {
        Session {
            client,
            secret,
            random: fastrand::Rng::with_seed(seed),
            connection: None,
            replies: Vec::new(),
            early: BTreeMap::new(),
            next_id: 1,
            requests: HashMap::new(),
            unanswered: HashSet::new(),
            acknowledged: HashSet::new(),
            working: Vec::new(),
            cancels_out: HashMap::new(),
            lost: 0,
            resent_new: 0,
            resent_again: 0,
        }
    }

    fn last_seen(&self) -> u32 {
        u32::try_from(self.replies.len()).unwrap()
    }

    /// Logs on to the engine at `address`, catches up through a resend, writes off the
    /// requests the kill took (which must not be in `journaled`, the journal the kill
    /// left), and has a new order accepted.
    fn reconnect(&mut self, address: SocketAddr, journaled: &Journaled) {
        let client = self.client;
        let (mut connection, last) = Client::logon(address, client, self.secret, REPLY_TIMEOUT)
            .unwrap_or_else(|error| panic!("client {client}: logon: {error}"));
        let seen = self.last_seen();
        assert!(
            last >= seen,
            "client {client}: the engine's last reply is {last}, the client saw {seen}"
        );
        if last > 0 {
            let from = (seen + 1)
                .saturating_sub(self.random.u32(0..=RESEND_OVERLAP_MAX))
                .clamp(1, last);
            connection
                .send(&Inbound::ResendRequest {
                    from_sequence: from,
                })
                .unwrap();
            // The resend runs in order from `from` through the last reply numbered when
            // the request arrived: `last` at least, and any reply sent live after the
            // logon and before the request (a quote cancelling a resting order, say),
            // which comes before the resent ones and then again in the resend.
            let (mut resend_next, mut through) = (from, last);
            while resend_next <= through || !self.early.is_empty() {
                let (header, reply) = next_reply(&mut connection, client);
                if header.flags & FLAG_RESENT != 0 {
                    assert_eq!(
                        header.sequence, resend_next,
                        "client {client}: a resend from {from} sent reply {} where {resend_next} \
                         was due",
                        header.sequence
                    );
                    resend_next += 1;
                } else if resend_next <= through {
                    through = through.max(header.sequence);
                }
                self.take(&header, reply, last);
            }
        }
        // Every request the journal held is answered now: the rest never reached it.
        for id in std::mem::take(&mut self.unanswered) {
            assert!(
                !journaled.holds(client, id, self.requests[&id]),
                "client {client}: request {id} is in the journal but was never answered"
            );
            self.lost += 1;
            if let Request::Cancel { original } = self.requests[&id] {
                self.cancels_out.remove(&original);
            }
        }
        self.probe(&mut connection);
        self.connection = Some(connection);
    }

    /// Sends a new order, which must be accepted. A restarted engine has no NBBO until
    /// the feed's next quote arrives, which may take longer than this client's logon:
    /// until then the order is refused for want of a price, and sent again.
    fn probe(&mut self, connection: &mut Client) {
        let client = self.client;
        for _ in 0..PROBE_TRIES_MAX {
            let probe = self.send(connection, limit(Side::Buy, PROBE_PRICE_MICROS));
            while !self.acknowledged.contains(&probe) {
                let (header, reply) = next_reply(connection, client);
                self.take(&header, reply, 0);
            }
            match self.replies.last() {
                Some(Outbound::Accepted { .. }) => return,
                Some(Outbound::Rejected { reason, .. }) if NO_PRICE_YET.contains(reason) => {
                    std::thread::sleep(QUOTE_INTERVAL / 5);
                }
                other => panic!("client {client}: a new order after a restart: {other:?}"),
            }
        }
        panic!("client {client}: no NBBO {PROBE_TRIES_MAX} tries after a restart");
    }

    /// Sends orders and cancels at a steady pace, taking replies as they come, until
    /// the connection ends with the engine.
    fn load(&mut self) {
        let client = self.client;
        let mut connection = self.connection.take().unwrap();
        let deadline = Instant::now() + LOAD_TIMEOUT;
        let mut next_send = Instant::now();
        loop {
            let now = Instant::now();
            assert!(now < deadline, "client {client}: the engine was not killed");
            if now >= next_send && self.unanswered.len() < IN_FLIGHT_MAX {
                let request = self.next_request();
                self.send(&mut connection, request);
                next_send = now + SEND_INTERVAL;
            }
            match connection.receive() {
                Ok(Some((header, reply))) if header.sequence == 0 => {
                    session_message(client, &reply)
                }
                Ok(Some((header, reply))) => self.take(&header, reply, 0),
                Ok(None) => std::thread::sleep(Duration::from_micros(100)),
                Err(ClientError::Protocol(error)) => panic!("client {client}: {error}"),
                // The kill: the engine's end of the connection is gone.
                Err(_) => return,
            }
        }
    }

    /// Sends `request` with the next client order id (a send that fails finds the
    /// engine gone; the reads see it next); returns the id.
    fn send(&mut self, connection: &mut Client, request: Inbound) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let (message, kind) = match request {
            Inbound::NewOrder {
                symbol,
                quantity,
                price,
                side,
                order_type,
                time_in_force,
                capacity,
                ..
            } => (
                Inbound::NewOrder {
                    client_order_id: ClientOrderId::new(id),
                    symbol,
                    quantity,
                    price,
                    side,
                    order_type,
                    time_in_force,
                    capacity,
                },
                Request::Order,
            ),
            Inbound::Cancel {
                original_client_order_id,
                symbol,
                ..
            } => {
                let original = original_client_order_id.get();
                self.cancels_out.insert(original, id);
                (
                    Inbound::Cancel {
                        client_order_id: ClientOrderId::new(id),
                        original_client_order_id,
                        symbol,
                    },
                    Request::Cancel { original },
                )
            }
            other => panic!("not a request the load sends: {other:?}"),
        };
        self.requests.insert(id, kind);
        self.unanswered.insert(id);
        let _ = connection.send(&message);
        id
    }

    /// The next request of the load (its client order id is set by [`Session::send`]):
    /// cancels of working orders; buys below the bid, which rest; buys and sells at the
    /// midpoint, inside the spread, which rest or cross one another (or, when both
    /// sides are one client's, cancel the resting one); sells below the bid, which the
    /// firm fills as principal until its position limit, then are routed and come back.
    fn next_request(&mut self) -> Inbound {
        let roll = self.random.u32(0..100);
        let cancellable: Vec<u64> = if roll < 25 {
            self.working
                .iter()
                .copied()
                .filter(|id| !self.cancels_out.contains_key(id))
                .collect()
        } else {
            Vec::new()
        };
        if !cancellable.is_empty() {
            let original = cancellable[self.random.usize(0..cancellable.len())];
            return Inbound::Cancel {
                client_order_id: ClientOrderId::new(0),
                original_client_order_id: ClientOrderId::new(original),
                symbol: SymbolId::new(1),
            };
        }
        // In $0.01 steps: the NBBO is $189.99 × $190.01.
        let below_bid = 189_920_000 + 10_000 * i64::from(self.random.u32(0..7));
        match roll {
            0..=34 => limit(Side::Buy, below_bid),
            35..=49 => limit(Side::Buy, MIDPOINT_MICROS),
            50..=64 => limit(Side::Sell, MIDPOINT_MICROS),
            _ => limit(Side::Sell, below_bid),
        }
    }

    /// Takes reply `header.sequence`. Numbers run on with no gap: a reply is the next
    /// number, or one already taken and now resent unchanged. While catching up to
    /// `last` (0: live), replies up to `last` must be flagged resent; a reply the engine
    /// sent live past the next number (it came before the resend request did) must then
    /// come again in the resend. Live, nothing is flagged resent.
    fn take(&mut self, header: &Header, reply: Outbound, last: u32) {
        let client = self.client;
        let number = header.sequence;
        let resent = header.flags & FLAG_RESENT != 0;
        let seen = self.last_seen();
        if last == 0 {
            assert!(
                !resent,
                "client {client}: live reply {number} flagged resent: {reply:?}"
            );
        } else if number <= last {
            assert!(
                resent,
                "client {client}: reply {number} (of a resend through {last}) not flagged \
                 resent: {reply:?}"
            );
        }
        if number <= seen {
            assert!(
                resent,
                "client {client}: reply {number} came twice, the second time not a \
                 resend: {reply:?}"
            );
            let first = &self.replies[usize::try_from(number).unwrap() - 1];
            assert_eq!(
                *first, reply,
                "client {client}: reply {number} resent different from its first sending"
            );
            self.resent_again += 1;
            return;
        }
        if number > seen + 1 && last != 0 && !resent {
            self.early.insert(number, reply);
            return;
        }
        assert_eq!(
            number,
            seen + 1,
            "client {client}: reply {number} after reply {seen}: a gap ({reply:?})"
        );
        if let Some(early) = self.early.remove(&number) {
            assert_eq!(
                early, reply,
                "client {client}: reply {number} resent different from its live sending"
            );
        }
        self.resent_new += usize::from(resent);
        self.replies.push(reply);
        self.note(reply);
    }

    /// What a new reply tells about the requests: which one it answers, which orders
    /// work.
    fn note(&mut self, reply: Outbound) {
        match reply {
            Outbound::Accepted {
                client_order_id, ..
            } => {
                self.answered(client_order_id.get());
                self.working.push(client_order_id.get());
            }
            Outbound::Rejected {
                client_order_id, ..
            } => self.answered(client_order_id.get()),
            Outbound::Filled {
                client_order_id,
                leaves,
                ..
            } => {
                self.answered(client_order_id.get());
                if leaves.is_zero() {
                    self.finished(client_order_id.get());
                }
            }
            Outbound::Cancelled {
                client_order_id,
                reason,
                ..
            } => {
                let id = client_order_id.get();
                self.answered(id);
                self.finished(id);
                if reason == CANCEL_REASON_REQUESTED {
                    let cancel = self.cancels_out.remove(&id);
                    self.answered(cancel.unwrap_or_else(|| {
                        panic!(
                            "client {}: order {id} cancelled as requested, but no cancel was out",
                            self.client
                        )
                    }));
                }
            }
            Outbound::CancelRejected {
                client_order_id,
                original_client_order_id,
                ..
            } => {
                self.answered(client_order_id.get());
                self.cancels_out.remove(&original_client_order_id.get());
            }
            other => panic!(
                "client {}: a reply the load cannot cause: {other:?}",
                self.client
            ),
        }
    }

    fn answered(&mut self, id: u64) {
        assert!(
            self.requests.contains_key(&id),
            "client {}: a reply names client order id {id}, never sent",
            self.client
        );
        self.unanswered.remove(&id);
        self.acknowledged.insert(id);
    }

    fn finished(&mut self, id: u64) {
        if let Some(index) = self.working.iter().position(|&working| working == id) {
            self.working.swap_remove(index);
        }
    }

    /// Every acknowledged request must be in the journal.
    fn check_journaled(&self, journaled: &Journaled, trial: u64) {
        for &id in &self.acknowledged {
            assert!(
                journaled.holds(self.client, id, self.requests[&id]),
                "after kill {trial}: client {}'s acknowledged {:?} {id} is not in the journal",
                self.client,
                self.requests[&id]
            );
        }
    }

    fn acknowledged_of(&self, kind: fn(&Request) -> bool) -> usize {
        self.acknowledged
            .iter()
            .filter(|id| kind(&self.requests[id]))
            .count()
    }
}

/// The next numbered reply, within [`REPLY_TIMEOUT`].
fn next_reply(connection: &mut Client, client: u32) -> (Header, Outbound) {
    loop {
        let (header, reply) = connection
            .receive_within(REPLY_TIMEOUT)
            .unwrap_or_else(|error| panic!("client {client}: {error}"))
            .unwrap_or_else(|| panic!("client {client}: no reply within {REPLY_TIMEOUT:?}"));
        if header.sequence != 0 {
            return (header, reply);
        }
        session_message(client, &reply);
    }
}

/// An unnumbered message: a heartbeat is fine, anything else means the test sent
/// something the engine refused.
fn session_message(client: u32, reply: &Outbound) {
    assert!(
        matches!(reply, Outbound::Heartbeat { .. }),
        "client {client}: {reply:?}"
    );
}

/// A day limit order for 100 shares of symbol 1, its client order id set when it is
/// sent. Sells are long sales: short sales would need locates.
fn limit(side: Side, price_micros: i64) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(0),
        symbol: SymbolId::new(1),
        quantity: Quantity::new(100),
        price: Price::from_micros(price_micros),
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}
