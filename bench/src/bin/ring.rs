//! `scripts/bench.sh ring [--quick]`: crossline-ring against rtrb, crossbeam's ArrayQueue
//! and a bounded crossbeam channel, and against the machine's core-to-core latency.
//!
//! Every subject moves the same stream of `crossline_types::Message` values (56 bytes: a
//! sequence number, a timestamp and a new-order body) from a producer pinned to one core
//! to a consumer pinned to another, and each occupies one 64-byte cache line per message:
//! crossline-ring's slot is its 8-byte stamp plus the message; the peers carry the message
//! in a 64-byte-aligned wrapper, their best layout (no slot straddles two lines).
//!
//! Throughput: `messages` as fast as possible, each subject through its fastest API
//! (crossline-ring claim/drain batches, rtrb write/read chunks, ArrayQueue push/pop,
//! channel try_send/try_recv), the consumer checking every sequence number.
//! Latency: open-loop at a fixed offered rate; each message carries the time it was due,
//! so the consumer's histogram charges every delay to every message it held up.
//! Subjects are interleaved round by round and ratios are medians of per-round ratios.
// Measurement arithmetic converts between f64 and integer nanoseconds, ticks and counts
// that are far inside both ranges; truncation there is rounding, on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crossline_bench::clock::Clock;
use crossline_bench::core_to_core;
use crossline_bench::echo::{open_loop_echo, EchoLatency, EchoSource, Echoer, Schedule};
use crossline_bench::stats::{latency_histogram, median, Percentiles};
use crossline_bench::{report, run_pinned_pair, Options};
use crossline_types::layout::NewOrderLayout;
use crossline_types::{Capacity, Message, OrderType, Side, TimeInForce};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use zerocopy::little_endian::{I64, U32, U64};

/// Slots in every queue.
const CAPACITY: usize = 4096;
/// Largest batch for the batch APIs (crossline-ring, rtrb).
const BATCH_MAX: usize = 64;
/// Default offered rate for latency: every message crosses twice (there and back), so the
/// rate must sit far below what the echo path sustains on a slow or contended machine, or
/// the figure becomes queueing delay rather than hand-off latency (at 1M msg/s it did, on
/// this VM under load: p50 in milliseconds).
const LATENCY_RATE_PER_S: u64 = 100_000;

/// The settings of one run.
#[derive(Debug, Clone, Copy)]
struct Settings {
    rounds: usize,
    throughput_messages: u64,
    latency_messages: u64,
    latency_warmup: u64,
    rate_per_s: u64,
    round_trips: u64,
}

impl Settings {
    fn from_options(options: &Options) -> Settings {
        let (rounds, throughput_messages, latency_messages, round_trips) = if options.quick {
            (5, 10_000_000, 20_000, 50_000)
        } else {
            (7, 20_000_000, 200_000, 500_000)
        };
        Settings {
            rounds: options.rounds.unwrap_or(rounds),
            throughput_messages,
            latency_messages,
            latency_warmup: latency_messages / 10,
            rate_per_s: options.rate_per_s.unwrap_or(LATENCY_RATE_PER_S),
            round_trips,
        }
    }
}

/// The message every subject carries: a realistic new order, numbered.
#[inline(always)]
fn message(sequence: u64, due_ticks: u64) -> Message {
    Message::from_view(&NewOrderLayout {
        sequence: U64::new(sequence),
        time: U64::new(due_ticks),
        kind: 0, // from_view sets it
        side: Side::Buy.code(),
        order_type: OrderType::Limit.code(),
        time_in_force: TimeInForce::ImmediateOrCancel.code(),
        client: U32::new(7),
        client_order_id: U64::new(sequence),
        price: I64::new(101_250_000),
        quantity: U32::new(100),
        symbol: U32::new(42),
        capacity: Capacity::Agency.code(),
        padding: [0; 7],
    })
}

/// A peer's slot: the same message, alone on its cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line(Message);

const _: () = assert!(size_of::<Line>() == 64);
const _: () = assert!(crossline_ring::slot_bytes::<Message>() == 64);

/// Checks that messages arrive in order, without the compiler skipping the read.
struct Checker {
    expected: u64,
}

impl Checker {
    #[inline(always)]
    fn check(&mut self, message: &Message) {
        assert_eq!(message.sequence(), self.expected, "message out of order");
        self.expected += 1;
    }
}

/// One queue under test, through its best API for each measurement.
trait Subject {
    const NAME: &'static str;
    const KEY: &'static str;
    type Sender: Send;
    type Receiver: Send;
    fn build() -> (Self::Sender, Self::Receiver);
    /// Sends one message, or hands it back if the queue is full.
    fn try_send(sender: &mut Self::Sender, message: Message) -> Result<(), Message>;
    /// Receives one message if one is waiting.
    fn try_receive(receiver: &mut Self::Receiver) -> Option<Message>;

    /// Sends one message, spinning while the queue is full.
    fn send_one(sender: &mut Self::Sender, message: Message) {
        let mut pending = message;
        while let Err(back) = Self::try_send(sender, pending) {
            pending = back;
            std::hint::spin_loop();
        }
    }

    /// Sends messages `0..count` as fast as possible: one at a time unless the queue has
    /// a faster batch API, which its implementation then uses instead.
    fn send_stream(sender: &mut Self::Sender, count: u64) {
        for sequence in 0..count {
            Self::send_one(sender, message(sequence, 0));
        }
    }

    /// Receives `count` messages, checking each: one at a time unless overridden.
    fn receive_stream(receiver: &mut Self::Receiver, count: u64) {
        let mut checker = Checker { expected: 0 };
        while checker.expected < count {
            match Self::try_receive(receiver) {
                Some(message) => checker.check(&message),
                None => std::hint::spin_loop(),
            }
        }
    }
}

struct Crossline;

impl Subject for Crossline {
    const NAME: &'static str = "crossline-ring";
    const KEY: &'static str = "crossline_ring";
    type Sender = crossline_ring::Producer<Message>;
    type Receiver = crossline_ring::Consumer<Message>;

    fn build() -> (Self::Sender, Self::Receiver) {
        crossline_ring::channel(CAPACITY).expect("capacity is a power of two")
    }

    fn send_stream(sender: &mut Self::Sender, count: u64) {
        let mut next = 0;
        while next < count {
            let mut claim = sender.claim(BATCH_MAX.min((count - next) as usize));
            while claim.remaining() > 0 {
                let _ = claim.write(message(next, 0));
                next += 1;
            }
            if claim.publish() == 0 {
                std::hint::spin_loop();
            }
        }
    }

    fn receive_stream(receiver: &mut Self::Receiver, count: u64) {
        let mut checker = Checker { expected: 0 };
        while checker.expected < count {
            if receiver.drain(BATCH_MAX, |message| checker.check(message)) == 0 {
                std::hint::spin_loop();
            }
        }
    }

    fn try_send(sender: &mut Self::Sender, message: Message) -> Result<(), Message> {
        sender.try_push(message)
    }

    fn try_receive(receiver: &mut Self::Receiver) -> Option<Message> {
        receiver.try_pop()
    }
}

struct Rtrb;

impl Subject for Rtrb {
    const NAME: &'static str = "rtrb";
    const KEY: &'static str = "rtrb";
    type Sender = rtrb::Producer<Line>;
    type Receiver = rtrb::Consumer<Line>;

    fn build() -> (Self::Sender, Self::Receiver) {
        rtrb::RingBuffer::new(CAPACITY)
    }

    fn send_stream(sender: &mut Self::Sender, count: u64) {
        let mut next = 0;
        while next < count {
            let want = BATCH_MAX.min((count - next) as usize);
            // `write_chunk_uninit` checks a cached index first; `slots()` always re-reads
            // the consumer's shared index, so call it only when the cached view falls short.
            let chunk = match sender.write_chunk_uninit(want) {
                Ok(chunk) => chunk,
                Err(_) => match sender.slots().min(want) {
                    0 => {
                        std::hint::spin_loop();
                        continue;
                    }
                    free => sender.write_chunk_uninit(free).expect("slots were counted"),
                },
            };
            let (first, length) = (next, chunk.len() as u64);
            next += chunk
                .fill_from_iter((first..first + length).map(|sequence| Line(message(sequence, 0))))
                as u64;
        }
    }

    fn receive_stream(receiver: &mut Self::Receiver, count: u64) {
        let mut checker = Checker { expected: 0 };
        while checker.expected < count {
            // As for the producer: the cached path first, the shared index only when short.
            let chunk = match receiver.read_chunk(BATCH_MAX) {
                Ok(chunk) => chunk,
                Err(_) => match receiver.slots().min(BATCH_MAX) {
                    0 => {
                        std::hint::spin_loop();
                        continue;
                    }
                    ready => receiver.read_chunk(ready).expect("slots were counted"),
                },
            };
            let (first, second) = chunk.as_slices();
            first
                .iter()
                .chain(second)
                .for_each(|line| checker.check(&line.0));
            chunk.commit_all();
        }
    }

    fn try_send(sender: &mut Self::Sender, message: Message) -> Result<(), Message> {
        sender
            .push(Line(message))
            .map_err(|rtrb::PushError::Full(line)| line.0)
    }

    fn try_receive(receiver: &mut Self::Receiver) -> Option<Message> {
        receiver.pop().ok().map(|line| line.0)
    }
}

struct ArrayQueue;

impl Subject for ArrayQueue {
    const NAME: &'static str = "crossbeam ArrayQueue";
    const KEY: &'static str = "crossbeam_array_queue";
    type Sender = Arc<crossbeam_queue::ArrayQueue<Line>>;
    type Receiver = Arc<crossbeam_queue::ArrayQueue<Line>>;

    fn build() -> (Self::Sender, Self::Receiver) {
        let queue = Arc::new(crossbeam_queue::ArrayQueue::new(CAPACITY));
        (Arc::clone(&queue), queue)
    }

    fn try_send(sender: &mut Self::Sender, message: Message) -> Result<(), Message> {
        sender.push(Line(message)).map_err(|line| line.0)
    }

    fn try_receive(receiver: &mut Self::Receiver) -> Option<Message> {
        receiver.pop().map(|line| line.0)
    }
}

struct Channel;

impl Subject for Channel {
    const NAME: &'static str = "crossbeam-channel";
    const KEY: &'static str = "crossbeam_channel";
    type Sender = crossbeam_channel::Sender<Line>;
    type Receiver = crossbeam_channel::Receiver<Line>;

    fn build() -> (Self::Sender, Self::Receiver) {
        crossbeam_channel::bounded(CAPACITY)
    }

    fn try_send(sender: &mut Self::Sender, message: Message) -> Result<(), Message> {
        sender
            .try_send(Line(message))
            .map_err(|error| error.into_inner().0)
    }

    fn try_receive(receiver: &mut Self::Receiver) -> Option<Message> {
        receiver.try_recv().ok().map(|line| line.0)
    }
}

/// Messages per second from the producer's first send to the consumer's last receive.
fn throughput<S: Subject>(cores: (usize, usize), count: u64) -> f64 {
    let (mut sender, mut receiver) = S::build();
    // `move`: each end lives on its own thread's stack. Captured by reference, both ends
    // would sit side by side on this thread's stack and falsely share a cache line.
    let (started, finished) = run_pinned_pair(
        cores,
        move |barrier| {
            barrier.wait();
            let started = std::time::Instant::now();
            S::send_stream(&mut sender, count);
            started
        },
        move |barrier| {
            barrier.wait();
            S::receive_stream(&mut receiver, count);
            std::time::Instant::now()
        },
    );
    count as f64 / finished.duration_since(started).as_secs_f64()
}

/// Core A's end of a subject in the echo harness: the outbound sender and the return
/// receiver.
struct SubjectSource<S: Subject> {
    sender: S::Sender,
    echoes: S::Receiver,
}

impl<S: Subject> EchoSource for SubjectSource<S> {
    fn try_send(&mut self, sequence: u64, due_ticks: u64) -> bool {
        S::try_send(&mut self.sender, message(sequence, due_ticks)).is_ok()
    }

    fn try_receive(&mut self) -> Option<(u64, u64)> {
        S::try_receive(&mut self.echoes).map(|echo| (echo.sequence(), echo.time()))
    }
}

/// Core B's end of a subject in the echo harness: the outbound receiver and the return
/// sender.
struct SubjectEchoer<S: Subject> {
    receiver: S::Receiver,
    echoes: S::Sender,
}

impl<S: Subject> Echoer for SubjectEchoer<S> {
    fn try_echo(&mut self) -> bool {
        match S::try_receive(&mut self.receiver) {
            Some(message) => {
                S::send_one(&mut self.echoes, message);
                true
            }
            None => false,
        }
    }
}

/// One-way latency, open-loop at `settings.rate_per_s`, as half of each scheduled round
/// trip through two queues of the subject's kind ([`crossline_bench::echo`]).
fn latency<S: Subject>(clock: &Clock, cores: (usize, usize), settings: &Settings) -> EchoLatency {
    let (sender, receiver) = S::build();
    let (echo_sender, echo_receiver) = S::build();
    let schedule = Schedule {
        rate_per_s: settings.rate_per_s,
        messages: settings.latency_messages,
        warmup: settings.latency_warmup,
    };
    let source = SubjectSource::<S> {
        sender,
        echoes: echo_receiver,
    };
    let echoer = SubjectEchoer::<S> {
        receiver,
        echoes: echo_sender,
    };
    open_loop_echo(clock, cores, schedule, source, echoer)
}

/// Everything measured for one subject over all rounds.
struct Measured {
    name: &'static str,
    key: &'static str,
    throughput_by_round: Vec<f64>,
    latency: Histogram<u64>,
    p50_by_round: Vec<f64>,
    p99_by_round: Vec<f64>,
}

impl Measured {
    fn new(name: &'static str, key: &'static str) -> Measured {
        Measured {
            name,
            key,
            throughput_by_round: Vec::new(),
            latency: latency_histogram(),
            p50_by_round: Vec::new(),
            p99_by_round: Vec::new(),
        }
    }

    fn run_round<S: Subject>(&mut self, clock: &Clock, cores: (usize, usize), settings: &Settings) {
        self.throughput_by_round
            .push(throughput::<S>(cores, settings.throughput_messages));
        let EchoLatency { histogram, lost } = latency::<S>(clock, cores, settings);
        assert_eq!(lost, 0, "{} lost {lost} messages", self.name);
        self.p50_by_round
            .push(histogram.value_at_quantile(0.5) as f64);
        self.p99_by_round
            .push(histogram.value_at_quantile(0.99) as f64);
        self.latency
            .add(&histogram)
            .expect("histograms share bounds");
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert(
            "throughput_msgs_per_s".into(),
            json!(median(&self.throughput_by_round)),
        );
        object.insert(
            "throughput_msgs_per_s_by_round".into(),
            json!(self.throughput_by_round),
        );
        if let Value::Object(latency) = Percentiles::of(&self.latency).to_json("latency_") {
            object.extend(latency);
        }
        object.insert("latency_p50_ns_by_round".into(), json!(self.p50_by_round));
        Value::Object(object)
    }
}

/// Median over rounds of `numerator[round] / denominator[round]`.
fn median_ratio(numerator: &[f64], denominator: &[f64]) -> f64 {
    let ratios: Vec<f64> = numerator
        .iter()
        .zip(denominator)
        .map(|(a, b)| a / b)
        .collect();
    median(&ratios)
}

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("ring benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let cores = match options.pick_cores() {
        Ok(cores) => cores,
        Err(error) => {
            eprintln!("ring benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let settings = Settings::from_options(&options);
    let clock = Clock::calibrate(Duration::from_millis(200));
    let cpu_share = report::CpuShare::start(2);
    println!(
        "ring benchmark: {} rounds, producer on core {}, consumer on core {}, {} slots, \
         throughput over {} messages, latency over {} messages at {} msg/s{}",
        settings.rounds,
        cores.0,
        cores.1,
        CAPACITY,
        settings.throughput_messages,
        settings.latency_messages,
        settings.rate_per_s,
        if clock.hardware { " (TSC clock)" } else { "" },
    );

    let mut subjects = [
        Measured::new(Crossline::NAME, Crossline::KEY),
        Measured::new(Rtrb::NAME, Rtrb::KEY),
        Measured::new(ArrayQueue::NAME, ArrayQueue::KEY),
        Measured::new(Channel::NAME, Channel::KEY),
    ];
    let mut core_to_core = latency_histogram();
    let mut core_to_core_p50_by_round = Vec::new();
    let mut streaming_by_round = Vec::new();
    let mut open_loop_line = latency_histogram();
    let mut open_loop_line_p50_by_round = Vec::new();
    let schedule = Schedule {
        rate_per_s: settings.rate_per_s,
        messages: settings.latency_messages,
        warmup: settings.latency_warmup,
    };
    for round in 1..=settings.rounds {
        let ping_pong = core_to_core::measure(
            &clock,
            cores,
            settings.round_trips,
            settings.round_trips / 10,
        );
        core_to_core_p50_by_round.push(ping_pong.one_way.p50_ns as f64);
        core_to_core
            .add(&ping_pong.histogram)
            .expect("histograms share bounds");
        let line = core_to_core::open_loop_line(&clock, cores, schedule).histogram;
        open_loop_line_p50_by_round.push(line.value_at_quantile(0.5) as f64);
        open_loop_line.add(&line).expect("histograms share bounds");
        streaming_by_round.push(core_to_core::line_streaming(
            cores,
            settings.throughput_messages,
        ));
        subjects[0].run_round::<Crossline>(&clock, cores, &settings);
        subjects[1].run_round::<Rtrb>(&clock, cores, &settings);
        subjects[2].run_round::<ArrayQueue>(&clock, cores, &settings);
        subjects[3].run_round::<Channel>(&clock, cores, &settings);
        eprintln!(
            "  round {round}/{}: core-to-core {} ns; crossline {:.1} M msg/s, p50 {} ns",
            settings.rounds,
            ping_pong.one_way.p50_ns,
            subjects[0].throughput_by_round[round - 1] / 1e6,
            subjects[0].p50_by_round[round - 1],
        );
    }

    let [crossline, rtrb, array_queue, channel] = &subjects;
    let ratios = json!({
        "throughput_vs_rtrb": median_ratio(&crossline.throughput_by_round, &rtrb.throughput_by_round),
        "throughput_vs_crossbeam_array_queue": median_ratio(&crossline.throughput_by_round, &array_queue.throughput_by_round),
        "throughput_vs_crossbeam_channel": median_ratio(&crossline.throughput_by_round, &channel.throughput_by_round),
        "latency_p50_vs_core_to_core": median_ratio(&crossline.p50_by_round, &core_to_core_p50_by_round),
        "latency_p50_vs_rtrb": median_ratio(&crossline.p50_by_round, &rtrb.p50_by_round),
        "latency_p99_vs_rtrb": median_ratio(&crossline.p99_by_round, &rtrb.p99_by_round),
        "rtrb_latency_p50_vs_core_to_core": median_ratio(&rtrb.p50_by_round, &core_to_core_p50_by_round),
        "latency_p50_vs_open_loop_line": median_ratio(&crossline.p50_by_round, &open_loop_line_p50_by_round),
        "rtrb_latency_p50_vs_open_loop_line": median_ratio(&rtrb.p50_by_round, &open_loop_line_p50_by_round),
        "throughput_vs_line_streaming_limit": median_ratio(&crossline.throughput_by_round, &streaming_by_round),
        "rtrb_throughput_vs_line_streaming_limit": median_ratio(&rtrb.throughput_by_round, &streaming_by_round),
    });
    let core_to_core_percentiles = Percentiles::of(&core_to_core);
    print_table(
        &subjects,
        &core_to_core_percentiles,
        &Percentiles::of(&open_loop_line),
        median(&streaming_by_round),
        &settings,
        &ratios,
    );

    let mut results = Map::new();
    for subject in &subjects {
        results.insert(subject.key.into(), subject.to_json());
    }
    let mut core_to_core_json = core_to_core_percentiles.to_json("one_way_");
    core_to_core_json["one_way_p50_ns_by_round"] = json!(core_to_core_p50_by_round);
    results.insert("core_to_core".into(), core_to_core_json);
    let mut open_loop_line_json = Percentiles::of(&open_loop_line).to_json("one_way_");
    open_loop_line_json["one_way_p50_ns_by_round"] = json!(open_loop_line_p50_by_round);
    results.insert("open_loop_line".into(), open_loop_line_json);
    results.insert(
        "line_streaming_limit".into(),
        json!({
            "throughput_lines_per_s": median(&streaming_by_round),
            "throughput_lines_per_s_by_round": streaming_by_round,
        }),
    );
    results.insert(
        "settings".into(),
        json!({
            "rounds": settings.rounds,
            "capacity_slots": CAPACITY,
            "batch_max": BATCH_MAX,
            "message_bytes": size_of::<Message>(),
            "slot_bytes": 64,
            "throughput_messages": settings.throughput_messages,
            "latency_messages": settings.latency_messages,
            "latency_warmup_messages": settings.latency_warmup,
            "latency_rate_per_s": settings.rate_per_s,
            "core_to_core_round_trips": settings.round_trips,
            "clock": if clock.hardware { "tsc" } else { "monotonic" },
        }),
    );
    let mut machine = report::machine(&[cores.0, cores.1]);
    let share = cpu_share.share();
    machine["cpu_share"] = json!(share);
    if let Some(share) = share.filter(|share| *share < report::CPU_SHARE_MIN) {
        eprintln!(
            "WARNING: the two benchmark threads got only {:.0}% of their cores' time: the \
             machine was starved by something else, and these figures measure that, not \
             the code. Run again when it is idle.",
            share * 100.0
        );
    }
    match report::write("ring", Value::Object(results), ratios, machine) {
        Ok(path) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ring benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}

fn print_table(
    subjects: &[Measured],
    core_to_core: &Percentiles,
    open_loop_line: &Percentiles,
    streaming_lines_per_s: f64,
    settings: &Settings,
    ratios: &Value,
) {
    println!();
    println!(
        "{:<28} {:>9} | one-way latency (ns) at {} msg/s",
        "subject", "M msg/s", settings.rate_per_s
    );
    println!(
        "{:<28} {:>9} | {:>6} {:>7} {:>8} {:>8} {:>8}",
        "", "", "p50", "p99", "p99.9", "p99.99", "max"
    );
    let row = |name: &str, throughput: String, latency: &Percentiles| {
        println!(
            "{name:<28} {throughput:>9} | {:>6} {:>7} {:>8} {:>8} {:>8}",
            latency.p50_ns, latency.p99_ns, latency.p999_ns, latency.p9999_ns, latency.max_ns
        );
    };
    for subject in subjects {
        let throughput = format!("{:.1}", median(&subject.throughput_by_round) / 1e6);
        row(subject.name, throughput, &Percentiles::of(&subject.latency));
    }
    row("limit: core-to-core line", "-".into(), core_to_core);
    row("limit: line, open-loop", "-".into(), open_loop_line);
    println!(
        "{:<28} {:>9.1} | -",
        "limit: line streaming",
        streaming_lines_per_s / 1e6
    );
    println!();
    println!("ratios (median of per-round ratios):");
    if let Value::Object(ratios) = ratios {
        for (name, value) in ratios {
            println!("  {name:<40} {:.3}", value.as_f64().unwrap_or(f64::NAN));
        }
    }
}
