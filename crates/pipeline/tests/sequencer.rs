//! The risk gate as the sequencer, end to end with the matcher: kill switches cancel
//! exactly the orders in their scope, and the journal alone rebuilds the gate and the
//! matcher — in a synchronous loop and in the two-thread pipeline joined by rings.

// Workload generators narrow random words on purpose.
#![allow(clippy::cast_possible_truncation)]

#[path = "../../risk/tests/common/mod.rs"]
mod risk_common;

use risk_common::{matcher_config, risk_config, CLIENTS, OTHER_SYMBOL, SYMBOL};
use std::collections::VecDeque;

use crossline_agent::Agent;
use crossline_matcher::{CancelReason, Event, Matcher, OrderState, VenueFill, HEDGE_ORDER_BIT};
use crossline_pipeline::SequencerAgent;
use crossline_risk::{AdminChange, KillTarget, RiskGate, Setting};
use crossline_sequencer::{
    barrier, Command, NoJournal, Output, Record, ReplayError, Sequenced, Sequencer, Stamped,
    Verdict,
};
use crossline_types::layout::RiskRejectedLayout;
use crossline_types::{
    Capacity, ClientId, ClientOrderId, Message, NewOrder, OrderType, Price, Quantity, Quote,
    SequenceNumber, Side, SymbolId, TimeInForce, Timestamp,
};

/// Sequencer and matcher in one loop: each matcher input is applied as soon as the
/// sequencer passes it on; its events reach the gate `lag` commands later, as they
/// would from a matcher on another core, but deterministically.
struct Loop {
    sequencer: Sequencer<Vec<Record>>,
    matcher: Matcher,
    outputs: Vec<Output>,
    events: Vec<Event>,
    /// Events on their way back (as the matcher agent sends them), per command.
    in_flight: VecDeque<Vec<Message>>,
    lag: usize,
    now: u64,
}

impl Loop {
    fn new(lag: usize) -> Loop {
        let gate = RiskGate::new(&risk_config()).unwrap();
        Loop {
            sequencer: Sequencer::new(gate, Vec::new(), SequenceNumber::new(1)),
            matcher: Matcher::new(&matcher_config()).unwrap(),
            outputs: Vec::new(),
            events: Vec::new(),
            in_flight: VecDeque::new(),
            lag,
            now: 0,
        }
    }

    /// Delivers every event still on its way back.
    fn settle(&mut self) {
        for events in self.in_flight.drain(..) {
            for event in &events {
                self.sequencer.on_event(event);
            }
        }
    }

    /// Submits `command` one millisecond after the previous one; returns the events it
    /// caused.
    fn submit(&mut self, command: Command) -> Vec<Event> {
        self.now += 1_000_000;
        let mut outputs = Vec::new();
        self.sequencer
            .submit(
                &Stamped {
                    time: Timestamp::new(self.now),
                    command,
                },
                &mut |output| outputs.push(output),
            )
            .expect("an in-memory journal never fails");
        self.apply(outputs)
    }

    fn apply(&mut self, outputs: Vec<Output>) -> Vec<Event> {
        let (mut caused, mut back) = (Vec::new(), Vec::new());
        for output in outputs {
            if let Output::Matcher(sequenced) = output {
                self.matcher.apply(
                    sequenced.sequence,
                    sequenced.time,
                    &sequenced.input,
                    &mut |event| {
                        back.extend(event.to_back_message(sequenced.sequence, sequenced.time));
                        caused.push(event);
                    },
                );
            }
            self.outputs.push(output);
        }
        self.events.extend(caused.iter().copied());
        self.in_flight.push_back(back);
        while self.in_flight.len() > self.lag {
            for event in self.in_flight.pop_front().unwrap_or_default() {
                self.sequencer.on_event(&event);
            }
        }
        caused
    }
}

fn nbbo(symbol: SymbolId) -> Command {
    Command::Nbbo(Quote {
        symbol,
        bid: Price::from_micros(10_000_000),
        bid_size: Quantity::new(500),
        ask: Price::from_micros(10_020_000),
        ask_size: Quantity::new(500),
    })
}

/// A day limit buy one cent under the bid: it rests.
fn resting(client: u32, symbol: SymbolId, coid: u64) -> Command {
    Command::NewOrder(NewOrder {
        client: ClientId::new(client),
        symbol,
        client_order_id: ClientOrderId::new(coid),
        price: Price::from_micros(9_990_000),
        quantity: Quantity::new(100),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    })
}

fn kill(target: KillTarget, on: bool) -> Command {
    Command::Admin(AdminChange {
        operator: 7,
        request: 0,
        setting: Setting::KillSwitch(target, on),
        expires_at: None,
    })
}

/// Each client rests one order in each symbol: (client, symbol) → client order id.
fn resting_everywhere(world: &mut Loop) -> Vec<(u32, SymbolId, u64)> {
    world.submit(nbbo(SYMBOL));
    world.submit(nbbo(OTHER_SYMBOL));
    let mut placed = Vec::new();
    for client in 1..=CLIENTS {
        for (index, symbol) in [SYMBOL, OTHER_SYMBOL].into_iter().enumerate() {
            let coid = 10 * u64::from(client) + index as u64;
            world.submit(resting(client, symbol, coid));
            placed.push((client, symbol, coid));
        }
    }
    for &(client, _, coid) in &placed {
        assert!(
            resting_state(world, client, coid).is_some_and(|state| state.resting),
            "order {coid} of client {client} rests"
        );
    }
    placed
}

fn resting_state(world: &Loop, client: u32, coid: u64) -> Option<OrderState> {
    world
        .matcher
        .order(ClientId::new(client), ClientOrderId::new(coid))
}

fn cancelled_by_request(events: &[Event]) -> Vec<(ClientId, ClientOrderId)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Cancelled {
                client,
                client_order_id,
                reason: CancelReason::KillSwitch,
                ..
            } => Some((*client, *client_order_id)),
            _ => None,
        })
        .collect()
}

#[test]
fn kill_switches_cancel_everything_in_scope_and_nothing_outside_it() {
    for (target, in_scope) in [
        (
            KillTarget::Client(ClientId::new(2)),
            Box::new(|client: u32, _: SymbolId| client == 2) as Box<dyn Fn(u32, SymbolId) -> bool>,
        ),
        (
            KillTarget::Symbol(OTHER_SYMBOL),
            Box::new(|_: u32, symbol: SymbolId| symbol == OTHER_SYMBOL),
        ),
        (KillTarget::Firm, Box::new(|_: u32, _: SymbolId| true)),
    ] {
        let mut world = Loop::new(0);
        let placed = resting_everywhere(&mut world);
        let events = world.submit(kill(target, true));
        let mut cancelled = cancelled_by_request(&events);
        cancelled.sort();
        let mut expected: Vec<_> = placed
            .iter()
            .filter(|(client, symbol, _)| in_scope(*client, *symbol))
            .map(|(client, _, coid)| (ClientId::new(*client), ClientOrderId::new(*coid)))
            .collect();
        expected.sort();
        assert_eq!(cancelled, expected, "{target:?}");
        for (client, symbol, coid) in &placed {
            let open = resting_state(&world, *client, *coid).is_some();
            assert_eq!(
                open,
                !in_scope(*client, *symbol),
                "{target:?}: order {coid}"
            );
        }
        // The gate released the cancelled orders' credit: it counts only what is open.
        assert_eq!(
            world.sequencer.gate().open_orders(),
            placed.len() - expected.len()
        );
        // New orders in scope are refused; out of scope they pass.
        for client in 1..=CLIENTS {
            for symbol in [SYMBOL, OTHER_SYMBOL] {
                let coid = 1_000 + u64::from(client) * 10 + u64::from(symbol.get());
                world.submit(resting(client, symbol, coid));
                let refused = world.outputs.last().is_some_and(|output| {
                    matches!(output, Output::Rejected { reason, .. } if reason.code() / 10 == 10)
                });
                assert_eq!(
                    refused,
                    in_scope(client, symbol),
                    "{target:?}: {client} {symbol}"
                );
            }
        }
        // Off again: orders flow.
        world.submit(kill(target, false));
        world.submit(resting(2, OTHER_SYMBOL, 5_000));
        assert!(resting_state(&world, 2, 5_000).is_some(), "{target:?}");
    }
}

/// A deterministic workload over every kind of command.
fn workload(steps: u64) -> Vec<Command> {
    let mut random = crossline_testkit::Xorshift::new(0x5EED_1234_ABCD_0001);
    let mut commands = vec![nbbo(SYMBOL), nbbo(OTHER_SYMBOL)];
    let mut routed: Vec<u64> = Vec::new();
    for step in 0..steps {
        let state = random.next();
        let client = 1 + (state % u64::from(CLIENTS)) as u32;
        let symbol = if (state >> 8) % 2 == 0 {
            SYMBOL
        } else {
            OTHER_SYMBOL
        };
        let coid = 100 + step;
        let command = match (state >> 16) % 12 {
            0..=5 => {
                let side = [Side::Buy, Side::Sell, Side::SellShort][((state >> 24) % 3) as usize];
                let price = 9_980_000 + ((state >> 32) % 5) as i64 * 10_000;
                let tif = [TimeInForce::Day, TimeInForce::ImmediateOrCancel]
                    [((state >> 40) % 2) as usize];
                Command::NewOrder(NewOrder {
                    client: ClientId::new(client),
                    symbol,
                    client_order_id: ClientOrderId::new(coid),
                    price: Price::from_micros(price),
                    quantity: Quantity::new(100 * (1 + ((state >> 44) % 5) as u32)),
                    side,
                    order_type: OrderType::Limit,
                    time_in_force: tif,
                    capacity: Capacity::Agency,
                })
            }
            6 => Command::Cancel(crossline_types::Cancel {
                client: ClientId::new(client),
                symbol,
                client_order_id: ClientOrderId::new(coid),
                original_client_order_id: ClientOrderId::new(100 + (state >> 24) % (step + 1)),
            }),
            7 => Command::Locate {
                client: ClientId::new(client),
                symbol,
                shares: 300,
                locate_id: 0,
                expires_s: 0,
                operator: 0,
                request: 0,
            },
            8 => {
                let bid = 9_990_000 + ((state >> 24) % 4) as i64 * 10_000;
                Command::Nbbo(Quote {
                    symbol,
                    bid: Price::from_micros(bid),
                    bid_size: Quantity::new(500),
                    ask: Price::from_micros(bid + 20_000),
                    ask_size: Quantity::new(500),
                })
            }
            9 if (state >> 56) % 2 == 0 => Command::Admin(AdminChange {
                operator: 3,
                request: 0,
                setting: Setting::ImprovementMultiplier(
                    ClientId::new(client),
                    ((state >> 24) % 5) as u32 * 500_000,
                ),
                expires_at: ((state >> 60) % 2 == 0)
                    .then(|| Timestamp::new((step + 30) * 1_000_000)),
            }),
            9 => Command::Admin(AdminChange {
                operator: 3,
                request: 0,
                setting: Setting::CreditLimit(
                    ClientId::new(client),
                    Price::from_micros(((state >> 24) % 40) as i64 * 1_000_000_000),
                ),
                expires_at: Some(Timestamp::new((step + 20) * 1_000_000)),
            }),
            10 => match routed.pop() {
                Some(order_id) => Command::VenueFill(VenueFill {
                    order_id: crossline_types::OrderId::new(order_id),
                    price: Price::from_micros(10_000_000),
                    quantity: Quantity::new(100),
                    venue: 0,
                    fee: Price::ZERO,
                }),
                None => nbbo(symbol),
            },
            _ => {
                if (state >> 24) % 40 == 0 {
                    Command::END_OF_DAY
                } else {
                    kill(
                        KillTarget::Client(ClientId::new(client)),
                        (state >> 30) % 2 == 0,
                    )
                }
            }
        };
        // Venue fills name routed orders by sequence number; guess a few recent ones (a
        // wrong guess is refused by the matcher, which is part of the workload too).
        if (state >> 50) % 3 == 0 {
            routed.push(step + 3);
        }
        commands.push(command);
    }
    commands
}

/// Everything a rebuilt engine must agree on.
fn state_of(sequencer_gate: &RiskGate, matcher: &Matcher) -> String {
    let mut out = String::new();
    for client in 1..=CLIENTS {
        out += &format!("{:?} ", sequencer_gate.exposure(ClientId::new(client)));
        for symbol in [SYMBOL, OTHER_SYMBOL] {
            out += &format!("{} ", sequencer_gate.located(ClientId::new(client), symbol));
        }
    }
    for symbol in [SYMBOL, OTHER_SYMBOL] {
        out += &format!(
            "{:?} {:?} {:?} {:?} ",
            sequencer_gate.inventory(symbol),
            matcher.position(symbol),
            matcher.best(symbol, crossline_book::BookSide::Bid),
            matcher.resting_orders(symbol)
        );
    }
    out += &format!(
        "{} {} {} {:?}",
        sequencer_gate.open_orders(),
        matcher.working_orders(),
        matcher.gross_notional_micros(),
        matcher.improvement_multipliers()
    );
    out
}

/// What a replay rebuilt: the state, the sequencer's outputs, the matcher's events.
struct Rebuilt {
    state: String,
    outputs: Vec<Output>,
    events: Vec<Event>,
}

/// Replays `journal` into a fresh gate and matcher, handing every matcher event back to
/// the sequencer, which applies it when the journal says.
fn rebuild(journal: &[Record]) -> Result<Rebuilt, ReplayError> {
    let gate = RiskGate::new(&risk_config()).unwrap();
    let mut sequencer = Sequencer::new(gate, NoJournal, SequenceNumber::new(1));
    let mut matcher = Matcher::new(&matcher_config()).unwrap();
    let (mut outputs, mut events) = (Vec::new(), Vec::new());
    for record in journal {
        let mut produced = Vec::new();
        let verdict = sequencer.replay(&record.into(), &mut |output| produced.push(output))?;
        assert_eq!(verdict, record.verdict, "replay answers the full verdict");
        for output in produced {
            if let Output::Matcher(sequenced) = output {
                matcher.apply(
                    sequenced.sequence,
                    sequenced.time,
                    &sequenced.input,
                    &mut |event| {
                        if let Some(back) =
                            event.to_back_message(sequenced.sequence, sequenced.time)
                        {
                            sequencer.replay_event(&back);
                        }
                        events.push(event);
                    },
                );
            }
            outputs.push(output);
        }
    }
    sequencer.finish_replay();
    Ok(Rebuilt {
        state: state_of(sequencer.gate(), &matcher),
        outputs,
        events,
    })
}

#[test]
fn the_journal_alone_rebuilds_gate_and_matcher() {
    // The gate hears of each command's events three commands later.
    let mut world = Loop::new(3);
    for command in workload(3_000) {
        world.submit(command);
    }
    world.settle();
    let journal = world.sequencer.journal().clone();
    assert_eq!(journal.len(), 3_002);
    // The workload exercised every verdict.
    assert!(journal
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Rejected(_))));
    assert!(journal
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Admin(_))));
    assert!(world
        .outputs
        .iter()
        .any(|o| matches!(o, Output::Admin(r) if r.cause != crossline_risk::AdminCause::Message)));
    // The hedger ran (OTHER_SYMBOL hedges past 200 shares), and replay reproduces it.
    assert!(world.events.iter().any(|event| matches!(
        event,
        Event::Route(route) if route.order_id.get() & HEDGE_ORDER_BIT != 0
    )));
    let rebuilt = rebuild(&journal).unwrap_or_else(|error| panic!("replay failed: {error}"));
    assert_eq!(
        rebuilt.state,
        state_of(world.sequencer.gate(), &world.matcher)
    );
    assert_eq!(rebuilt.outputs, world.outputs);
    assert_eq!(rebuilt.events, world.events);
    // Every command survives its journal form (the 56-byte message) unchanged.
    for record in &journal {
        let message = record.command.to_message(record.sequence, record.time);
        assert_eq!(message.sequence(), record.sequence.get());
        assert_eq!(message.time(), record.time.get());
        assert_eq!(Command::from_message(&message), Ok(record.command));
    }
    // A missing record is caught where it is missing, not silently replayed.
    let mut bad = journal.clone();
    let missing = bad.remove(100).sequence;
    assert!(matches!(
        rebuild(&bad),
        Err(ReplayError::Sequence { expected, .. }) if expected == missing
    ));
    // So is a record whose verdict the gate does not reproduce.
    let mut bad = journal.clone();
    let forged = bad
        .iter()
        .position(|record| matches!(record.verdict, Verdict::Rejected(_)))
        .unwrap();
    bad[forged].verdict = Verdict::Accepted;
    assert!(matches!(rebuild(&bad), Err(ReplayError::Verdict { .. })));
}

#[test]
fn the_pipeline_on_two_threads_rebuilds_from_its_journal() {
    let (mut commands_in, commands) = crossline_ring::channel::<Message>(64).unwrap();
    let (events_in, events) = crossline_ring::channel::<Message>(1_024).unwrap();
    let (to_matcher, mut matcher_inputs) = crossline_ring::channel::<Message>(64).unwrap();
    let (reports, mut reports_out) = crossline_ring::channel::<Message>(1_024).unwrap();
    let (commands_depth, matcher_depth) = (commands_in.monitor(), to_matcher.monitor());
    let gate = RiskGate::new(&risk_config()).unwrap();
    let sequencer = Sequencer::new(gate, Vec::new(), SequenceNumber::new(1));
    let mut agent = SequencerAgent::new(sequencer, vec![commands], events, to_matcher);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The matcher's thread: applies inputs in sequence order, sends the events the gate
    // follows back, as the matcher agent does.
    let matcher_stop = stop.clone();
    let matcher_thread = std::thread::spawn(move || {
        let mut matcher = Matcher::new(&matcher_config()).unwrap();
        let mut events_in = events_in;
        let mut reports = reports;
        let mut backlog: VecDeque<Message> = VecDeque::new();
        loop {
            while let Some(event) = backlog.front() {
                if events_in.try_push(*event).is_err() {
                    break;
                }
                backlog.pop_front();
            }
            match matcher_inputs.try_pop() {
                Some(message) => match Sequenced::from_message(&message) {
                    Ok(sequenced) => matcher.apply(
                        sequenced.sequence,
                        sequenced.time,
                        &sequenced.input,
                        &mut |event| {
                            backlog
                                .extend(event.to_back_message(sequenced.sequence, sequenced.time));
                        },
                    ),
                    // Risk rejects pass through the matcher's thread to the reports
                    // ring, in sequence order.
                    Err(_) => {
                        assert!(message.view::<RiskRejectedLayout>().is_some());
                        while reports.try_push(message).is_err() {
                            std::thread::yield_now();
                        }
                    }
                },
                None if matcher_stop.load(std::sync::atomic::Ordering::Acquire)
                    && backlog.is_empty() =>
                {
                    return matcher;
                }
                None => std::thread::yield_now(),
            }
        }
    });
    let workload = workload(3_000);
    let mut reports_seen = 0usize;
    let mut next = 0usize;
    let mut time = 0u64;
    while next < workload.len() {
        time += 1_000_000;
        let message = workload[next].to_message(SequenceNumber::new(0), Timestamp::new(time));
        if commands_in.try_push(message).is_ok() {
            next += 1;
        } else {
            time -= 1_000_000;
        }
        agent.do_work();
        while reports_out.try_pop().is_some() {
            reports_seen += 1;
        }
    }
    // Drain: every command sequenced and every input taken by the matcher; then the
    // matcher stops once its last events are on their way back, which the sequencer
    // keeps taking so the matcher never waits on a full ring.
    while commands_depth.depth() > 0 || agent.has_pending_work() || matcher_depth.depth() > 0 {
        agent.do_work();
        while reports_out.try_pop().is_some() {
            reports_seen += 1;
        }
        std::thread::yield_now();
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    while !matcher_thread.is_finished() {
        agent.do_work();
        std::thread::yield_now();
    }
    let matcher = matcher_thread.join().unwrap();
    while agent.do_work() > 0 {}
    assert!(!agent.has_pending_work());
    assert!(reports_seen > 0);
    let journal = agent.sequencer().journal().clone();
    assert_eq!(journal.len(), workload.len());
    let live = state_of(agent.sequencer().gate(), &matcher);
    let rebuilt = rebuild(&journal).unwrap_or_else(|error| panic!("replay failed: {error}"));
    assert_eq!(rebuilt.state, live);
}

fn marketable_buy(client: u32, coid: u64) -> Command {
    Command::NewOrder(NewOrder {
        client: ClientId::new(client),
        symbol: SYMBOL,
        client_order_id: ClientOrderId::new(coid),
        price: Price::from_micros(10_020_000),
        quantity: Quantity::new(100),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::ImmediateOrCancel,
        capacity: Capacity::Agency,
    })
}

/// The price improvement of the principal fill among `events`, micro-dollars per share.
fn principal_improvement(events: &[Event]) -> Option<i64> {
    events.iter().find_map(|event| match event {
        Event::Filled(fill) if fill.liquidity == crossline_types::LiquiditySource::Principal => {
            Some(fill.price_improvement.micros())
        }
        _ => None,
    })
}

/// An operator's price-improvement multiplier for a client reaches the matcher as an
/// input of its own, prices that client's principal fills and no other's, and its
/// expiry restores the old one; replay does all of it again from the journal.
#[test]
fn a_client_multiplier_prices_its_principal_fills_until_it_expires() {
    let mut world = Loop::new(0);
    world.submit(nbbo(SYMBOL));
    let multiplier = |client: u32, ppm: u32, expires_ms: Option<u64>| {
        Command::Admin(AdminChange {
            operator: 7,
            request: 0,
            setting: Setting::ImprovementMultiplier(ClientId::new(client), ppm),
            expires_at: expires_ms.map(|ms| Timestamp::new(ms * 1_000_000)),
        })
    };
    // 10% of the 2-cent spread is 0.2 cents; client 1 gets half, client 2 half again.
    world.submit(multiplier(1, 500_000, Some(10)));
    world.submit(multiplier(2, 1_500_000, None));
    assert_eq!(
        world.matcher.improvement_multipliers(),
        [(ClientId::new(1), 500_000), (ClientId::new(2), 1_500_000)]
    );
    let inputs: Vec<_> = world
        .outputs
        .iter()
        .filter_map(|output| match output {
            Output::Matcher(Sequenced {
                input: crossline_matcher::Input::ClientImprovement(change),
                sequence,
                ..
            }) => Some((sequence.get(), change.client.get(), change.multiplier_ppm)),
            _ => None,
        })
        .collect();
    // Each has its own sequence number, after its command's (2 and 4).
    assert_eq!(inputs, [(3, 1, 500_000), (5, 2, 1_500_000)]);
    assert_eq!(
        principal_improvement(&world.submit(marketable_buy(1, 1))),
        Some(1_000)
    );
    assert_eq!(
        principal_improvement(&world.submit(marketable_buy(2, 2))),
        Some(3_000)
    );
    assert_eq!(
        principal_improvement(&world.submit(marketable_buy(3, 3))),
        Some(2_000)
    );
    // The first command at or after 10 ms reverts client 1's first.
    while world.now < 9_000_000 {
        world.submit(nbbo(SYMBOL));
    }
    assert_eq!(
        principal_improvement(&world.submit(marketable_buy(1, 4))),
        Some(2_000)
    );
    assert_eq!(
        world.matcher.improvement_multipliers(),
        [(ClientId::new(2), 1_500_000)]
    );
    assert!(world.outputs.iter().any(|output| matches!(
        output,
        Output::Admin(record) if record.cause == crossline_risk::AdminCause::Expired
            && record.new == Setting::ImprovementMultiplier(ClientId::new(1), 1_000_000)
    )));
    world.settle();
    let journal = world.sequencer.journal().clone();
    let rebuilt = rebuild(&journal).unwrap_or_else(|error| panic!("replay failed: {error}"));
    assert_eq!(rebuilt.outputs, world.outputs);
    assert_eq!(rebuilt.events, world.events);
    assert_eq!(
        rebuilt.state,
        state_of(world.sequencer.gate(), &world.matcher)
    );
}

/// A temporary "off" of a kill switch that expires turns the switch back on, and its mass
/// cancel takes a sequence number before the record whose time let it expire: replay
/// expires first too, so it numbers the same and rebuilds the same.
#[test]
fn an_expiring_kill_switch_off_cancels_again_and_replays() {
    let mut world = Loop::new(0);
    world.submit(nbbo(SYMBOL));
    world.submit(kill(KillTarget::Client(ClientId::new(1)), true));
    world.submit(Command::Admin(AdminChange {
        operator: 7,
        request: 0,
        setting: Setting::KillSwitch(KillTarget::Client(ClientId::new(1)), false),
        expires_at: Some(Timestamp::new(10_000_000)),
    }));
    world.submit(resting(1, SYMBOL, 1));
    world.submit(resting(2, SYMBOL, 2));
    assert!(resting_state(&world, 1, 1).is_some_and(|state| state.resting));
    while world.now < 9_000_000 {
        world.submit(nbbo(SYMBOL));
    }
    let events = world.submit(nbbo(SYMBOL));
    assert_eq!(
        cancelled_by_request(&events),
        [(ClientId::new(1), ClientOrderId::new(1))]
    );
    assert!(resting_state(&world, 2, 2).is_some_and(|state| state.resting));
    world.settle();
    let journal = world.sequencer.journal().clone();
    let rebuilt = rebuild(&journal).unwrap_or_else(|error| panic!("replay failed: {error}"));
    assert_eq!(rebuilt.outputs, world.outputs);
    assert_eq!(rebuilt.events, world.events);
}

/// A kill switch's mass cancel has no journal record of its own: what it causes may leave
/// the process once the kill switch's record is durable, so a quiet engine does not hold
/// the cancels until some later command is journaled.
#[test]
fn every_output_waits_for_a_record_the_journal_has() {
    let (mut commands_in, commands) = crossline_ring::channel::<Message>(64).unwrap();
    let (_events_in, events) = crossline_ring::channel::<Message>(64).unwrap();
    let (to_matcher, mut matcher_inputs) = crossline_ring::channel::<Message>(64).unwrap();
    let gate = RiskGate::new(&risk_config()).unwrap();
    let sequencer = Sequencer::new(gate, Vec::new(), SequenceNumber::new(1));
    let mut agent = SequencerAgent::new(sequencer, vec![commands], events, to_matcher);
    let commands = [
        nbbo(SYMBOL),
        resting(1, SYMBOL, 10),
        kill(KillTarget::Firm, true),
        resting(2, SYMBOL, 20),
    ];
    for (index, command) in commands.iter().enumerate() {
        let time = Timestamp::new(1_000_000 * (index as u64 + 1));
        assert!(commands_in
            .try_push(command.to_message(SequenceNumber::new(0), time))
            .is_ok());
    }
    agent.do_work();
    let recorded: Vec<u64> = agent
        .sequencer()
        .journal()
        .iter()
        .map(|record| record.sequence.get())
        .collect();
    assert_eq!(recorded.len(), commands.len());
    let mut mass_cancels = 0;
    while let Some(message) = matcher_inputs.try_pop() {
        let waits_for = barrier(&message);
        assert!(
            recorded.contains(&waits_for),
            "message {} waits for {waits_for}, which has no record ({recorded:?})",
            message.sequence()
        );
        if let Ok(Sequenced {
            input: crossline_matcher::Input::MassCancel(scope),
            sequence,
            ..
        }) = Sequenced::from_message(&message)
        {
            assert_eq!(scope, crossline_matcher::MassCancel::default());
            assert_eq!(waits_for, recorded[2], "the kill switch's record");
            assert_eq!(sequence.get(), waits_for + 1);
            mass_cancels += 1;
        }
    }
    assert_eq!(mass_cancels, 1);
}
