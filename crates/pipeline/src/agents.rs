//! The pipeline's agents other than the sequencer (which is
//! [`crate::SequencerAgent`]): the matcher, the order ingress, the market-data
//! ingress and the egress. Each owns its state alone; they meet only at rings.
//!
//! Every agent that cannot hand something on (its output ring is full) keeps it in a
//! [`Bounded`] queue sized at start and takes no new input until the queue is empty, so
//! a slow stage slows the stages before it and nothing is dropped. The I/O agents take no
//! more arrivals from their transports than their queues hold
//! (`Handler::deliveries_max`), so the kernel's buffers and TCP flow control push back on
//! the senders. `docs/ARCHITECTURE.md` lists each queue's bound.

use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use crate::queue::{overflows, AckGate, Bounded, Journaled};
use crate::snapshots::Piece;
use crossline_agent::Agent;
use crossline_counters::{Counter, CountersReader, Reading};
use crossline_engine::snapshot::encode_part;
use crossline_gateway::fix::FixSessions;
use crossline_gateway::replay::{Replay, DATAGRAMS_PER_POLL};
use crossline_gateway::{
    event_reply, reject_reply, wall_clock_ns, AdminRequest, Feed, Operators, Sessions, StatusQuery,
    TopChange, VenueTops,
};
use crossline_matcher::{Contra, Event, Input, Matcher, RouteInstruction};
use crossline_net::{CloseReason, ConnId, Handler, ListenerId, Outbox, Transport, UdpId};
use crossline_protocol::admin::{AdminRefusal, Outbound as AdminOutbound};
use crossline_protocol::client::Outbound;
use crossline_ring::{Consumer, Producer};
use crossline_router::{Router, VenueReport};
use crossline_sequencer::{admin_ack, barrier, Sequenced};
use crossline_types::{ClientId, Message, SequenceNumber, Timestamp};

use crate::meter::{
    feed_values, router_values, session_reason_values, session_values, Published, ReplyLatency,
    VenueGauges,
};

/// Inputs or messages an agent takes from one ring per duty cycle.
const BATCH: usize = 256;

/// Session and router upkeep (heartbeats, timeouts, reconnects) at most this often.
const HOUSEKEEPING_NS: u64 = 10_000_000;

/// Body bytes a [`Reply`] carries: every reply type's fields lie within them
/// (`Outbound::FIELD_BYTES_MAX`); the wire body's bytes past them are zero padding.
pub const REPLY_FIELD_BYTES: usize = 43;

/// A client reply on its way from the matcher agent to the order ingress, which owns the
/// client's session (its reply numbering and its socket), or a snapshot cut marker. 56
/// bytes, so one cache line with the ring's stamp: the reply travels as its wire type
/// code and the fields of its wire body (`docs/PROTOCOL.md`), which the ingress puts
/// behind the frame header with the client's next reply number, without decoding it.
/// The layout is in `docs/MESSAGES.md` ("The replies ring").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Reply {
    /// The journal sequence number it waits for (`crossline_sequencer::barrier`); for a
    /// cut marker, the cut.
    pub sequence: u64,
    /// The client (zero for a cut marker).
    pub client: ClientId,
    /// The reply's wire type code (`Outbound::kind`); [`Reply::CUT`] for a cut marker.
    pub kind: u8,
    /// The reply's body up to its last field (`Outbound::encode_fields`), zero after.
    pub fields: [u8; REPLY_FIELD_BYTES],
}

const _: () = assert!(Outbound::FIELD_BYTES_MAX <= REPLY_FIELD_BYTES);
const _: () = assert!(size_of::<Reply>() == crossline_types::MESSAGE_BYTES);

impl Reply {
    /// The type code of a cut marker: every reply the commands up to the snapshot cut
    /// caused is ahead of it, and the ingress hands its kept replies to the snapshot
    /// (`crate::snapshots`). No wire type has it.
    pub const CUT: u8 = 0;

    /// The type code of an operator's acknowledgement, for the admin port's session:
    /// `client` holds the operator, `sequence` the control command's record, the fields
    /// the request number (4 bytes) and the result (2 bytes: 0 applied, else the
    /// control error's code). No client wire type has it.
    pub const ADMIN_ACK: u8 = 255;

    /// An operator's acknowledgement of request `request` (record `sequence`).
    #[must_use]
    pub fn admin_ack(operator: u32, request: u32, result: u16, sequence: u64) -> Reply {
        let mut fields = [0; REPLY_FIELD_BYTES];
        fields[..4].copy_from_slice(&request.to_le_bytes());
        fields[4..6].copy_from_slice(&result.to_le_bytes());
        Reply {
            sequence,
            client: ClientId::new(operator),
            kind: Reply::ADMIN_ACK,
            fields,
        }
    }

    /// An acknowledgement's request number and result.
    fn ack_fields(&self) -> (u32, u16) {
        let f = &self.fields;
        (
            u32::from_le_bytes([f[0], f[1], f[2], f[3]]),
            u16::from_le_bytes([f[4], f[5]]),
        )
    }

    /// `reply` for `client`, waiting for the journal through `sequence`.
    #[must_use]
    pub fn client(client: ClientId, reply: &Outbound, sequence: u64) -> Reply {
        let mut fields = [0; REPLY_FIELD_BYTES];
        let kind = reply.encode_fields(&mut fields);
        Reply {
            sequence,
            client,
            kind,
            fields,
        }
    }

    /// The cut marker of the snapshot at `cut`.
    #[must_use]
    pub fn cut(cut: u64) -> Reply {
        Reply {
            sequence: cut,
            client: ClientId::new(0),
            kind: Reply::CUT,
            fields: [0; REPLY_FIELD_BYTES],
        }
    }

    /// The reply as the client will read it (`None` for a cut marker): for tests and
    /// benchmarks; the ingress sends the fields without decoding them.
    #[must_use]
    pub fn outbound(&self) -> Option<Outbound> {
        let mut frame = [0; crossline_protocol::frame::FRAME_BYTES_MAX];
        let length = Outbound::encode_fields_frame(self.kind, &self.fields, 0, 0, &mut frame)?;
        let (header, body) = crossline_protocol::frame::split(&frame[..length]).ok()??;
        Outbound::decode(&header, body).ok()
    }
}

impl Journaled for Reply {
    #[inline]
    fn sequence(&self) -> u64 {
        self.sequence
    }
}

/// The first fatal error any agent met; the pipeline's owner stops it.
#[derive(Clone, Default)]
pub struct Fault(Arc<Mutex<Option<String>>>);

impl Fault {
    /// Records `what` unless an earlier fault is recorded.
    pub fn raise(&self, what: String) {
        if let Ok(mut fault) = self.0.lock() {
            if fault.is_none() {
                eprintln!("crossline: {what}");
                *fault = Some(what);
            }
        }
    }

    /// The fault, if one was raised.
    #[must_use]
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|fault| fault.clone())
    }
}

/// Moves queued items into a ring; `true` when the queue is empty afterwards.
fn flush<T: Copy + Send>(queue: &mut Bounded<T>, ring: &mut Producer<T>) -> bool {
    while let Some(item) = queue.front() {
        if ring.try_push(*item).is_err() {
            return false;
        }
        queue.pop();
    }
    true
}

/// Pushes `item`, or queues it behind earlier ones when the ring is full (within the
/// queue's bound: the caller takes no more input than the bound covers).
fn send<T: Copy + Send>(queue: &mut Bounded<T>, ring: &mut Producer<T>, item: T) {
    if !queue.is_empty() || ring.try_push(item).is_err() {
        queue.push_past_bound(item);
    }
}

impl Journaled for Message {
    /// The journal position the message waits for: a route's command's
    /// ([`RouteLayout`](crossline_types::layout::RouteLayout)).
    #[inline]
    fn sequence(&self) -> u64 {
        Message::sequence(self)
    }
}

/// The rings the matcher agent joins.
pub struct MatcherRings {
    /// The sequencer's outputs, in sequence order: matcher inputs and risk rejects.
    pub inputs: Consumer<Message>,
    /// Every event, back to the sequencer (the gate follows positions and open orders).
    pub back: Producer<Message>,
    /// Routes, to the egress.
    pub out: Producer<Message>,
    /// Client replies, to the order ingress.
    pub replies: Producer<Reply>,
}

/// The matcher as an agent: the sequencer's outputs in, in sequence order. Matcher
/// inputs are applied: every event goes back to the sequencer, routes go on to the
/// egress, and every client reply (an event's, or a risk reject's passed through) goes
/// straight to the order ingress, so a client's replies leave in journal order and are
/// numbered the same live and when rebuilt from the journal. An acknowledgement so
/// crosses three rings from the order ingress back to it: commands, sequenced, replies.
pub struct MatcherAgent {
    /// Taken at close, to hand it back.
    matcher: Option<Matcher>,
    rings: MatcherRings,
    /// Each holds what one input made beyond what its ring took: at most
    /// [`Matcher::events_per_input_max`] (no input is taken while any is not empty).
    back_queue: Bounded<Message>,
    out_queue: Bounded<Message>,
    reply_queue: Bounded<Reply>,
    counters: Option<OrderCounters>,
    /// This duty cycle's inputs that caused a client reply: their stamps, nanoseconds,
    /// for the reply-latency histogram (kept only with counters).
    caused: Vec<u64>,
    closed: Option<Sender<Matcher>>,
    snapshots: Option<Sender<Piece>>,
}

impl MatcherAgent {
    /// Wires a matcher to its rings; at close it sends its final state to `closed`.
    #[must_use]
    pub fn new(
        matcher: Matcher,
        rings: MatcherRings,
        closed: Option<Sender<Matcher>>,
    ) -> MatcherAgent {
        let bound = matcher.events_per_input_max();
        MatcherAgent {
            matcher: Some(matcher),
            rings,
            back_queue: Bounded::new("matcher events_back", bound),
            out_queue: Bounded::new("matcher events_out", bound),
            reply_queue: Bounded::new("matcher replies", bound),
            counters: None,
            caused: Vec::with_capacity(BATCH),
            closed,
            snapshots: None,
        }
    }

    /// Counts orders, fills and replies into `counters` as it hands them on.
    #[must_use]
    pub fn with_counters(mut self, counters: OrderCounters) -> MatcherAgent {
        self.counters = Some(counters);
        self
    }

    /// Hands the matcher's part of each live snapshot to `pieces` (`None`: no live
    /// snapshots), and passes the cut on to the order ingress (`crate::snapshots`).
    #[must_use]
    pub fn with_snapshots(mut self, pieces: Option<Sender<Piece>>) -> MatcherAgent {
        self.snapshots = pieces;
        self
    }

    fn queues_empty(&self) -> bool {
        self.back_queue.is_empty() && self.out_queue.is_empty() && self.reply_queue.is_empty()
    }
}

/// Where the matcher agent's client replies go, for one input.
struct ToClient<'a> {
    queue: &'a mut Bounded<Reply>,
    ring: &'a mut Producer<Reply>,
    counters: Option<&'a OrderCounters>,
    /// The journal sequence number the input's replies wait for.
    sequence: u64,
    /// The input caused a client reply.
    replied: bool,
}

impl ToClient<'_> {
    fn reply(&mut self, client: ClientId, reply: Outbound) {
        if let Some(counters) = self.counters {
            counters.replies.add(1);
        }
        self.replied = true;
        self.send(Reply::client(client, &reply, self.sequence));
    }

    fn send(&mut self, reply: Reply) {
        send(self.queue, self.ring, reply);
    }
}

impl Agent for MatcherAgent {
    fn role_name(&self) -> &str {
        "matcher"
    }

    fn do_work(&mut self) -> usize {
        let MatcherRings {
            inputs,
            back,
            out,
            replies,
        } = &mut self.rings;
        let backed = flush(&mut self.back_queue, back);
        let routed = flush(&mut self.out_queue, out);
        if !(flush(&mut self.reply_queue, replies) && backed && routed) {
            return 1;
        }
        let Some(matcher) = self.matcher.as_mut() else {
            return 0;
        };
        let mut work = 0;
        while work < BATCH {
            let Some(message) = inputs.try_pop() else {
                break;
            };
            let (back_queue, out_queue) = (&mut self.back_queue, &mut self.out_queue);
            let (time, sequence) = (Timestamp::new(message.time()), barrier(&message));
            let mut to_client = ToClient {
                queue: &mut self.reply_queue,
                ring: replies,
                counters: self.counters.as_ref(),
                sequence,
                replied: false,
            };
            work += 1;
            if let Some(ack) = admin_ack(&message) {
                to_client.send(Reply::admin_ack(
                    ack.operator,
                    ack.request,
                    ack.result,
                    ack.sequence,
                ));
                if !self.reply_queue.is_empty() {
                    break;
                }
                continue;
            }
            if let Some((client, reply)) = reject_reply(&message) {
                if let Some(counters) = to_client.counters {
                    counters.rejected_by_risk.add(1);
                }
                to_client.reply(client, reply);
                if to_client.counters.is_some() {
                    self.caused.push(time.nanos());
                }
                if !self.reply_queue.is_empty() {
                    break;
                }
                continue;
            }
            let sequenced = match Sequenced::from_message(&message) {
                Ok(sequenced) => sequenced,
                Err(error) => {
                    // The sequencer agent encodes every message here, so this cannot
                    // happen unless it is wrong: say so, and apply nothing of it.
                    eprintln!("matcher: a message on the sequenced ring is no input: {error}");
                    continue;
                }
            };
            if sequenced.input == Input::Snapshot {
                if let Some(pieces) = &self.snapshots {
                    let cut = sequenced.sequence.get();
                    let _ = pieces.send(match encode_part(&*matcher) {
                        Ok(state) => Piece::Matcher { cut, state },
                        Err(why) => Piece::Failed { cut, why },
                    });
                }
            }
            let snapshots = self.snapshots.is_some();
            matcher.apply(
                sequenced.sequence,
                sequenced.time,
                &sequenced.input,
                &mut |event| {
                    if let Some(back_message) = event.to_back_message(sequenced.sequence, time) {
                        send(back_queue, back, back_message);
                    }
                    if let Some(counters) = to_client.counters {
                        counters.count(&event);
                    }
                    match event {
                        Event::Route(route) => {
                            send(
                                out_queue,
                                out,
                                route.to_message(SequenceNumber::new(sequence), time),
                            );
                        }
                        Event::Snapshot { sequence } if snapshots => {
                            to_client.send(Reply::cut(sequence.get()));
                        }
                        _ => {
                            if let Some((client, reply)) = event_reply(&event) {
                                to_client.reply(client, reply);
                            }
                        }
                    }
                },
            );
            if to_client.replied && to_client.counters.is_some() {
                self.caused.push(time.nanos());
            }
            if !(self.back_queue.is_empty()
                && self.out_queue.is_empty()
                && self.reply_queue.is_empty())
            {
                break;
            }
        }
        if let (Some(counters), false) = (&self.counters, self.caused.is_empty()) {
            // One clock read a duty cycle: each input's latency runs to the batch's end.
            let now = wall_clock_ns();
            for &stamp in &self.caused {
                counters.latency.record(now.saturating_sub(stamp));
            }
            self.caused.clear();
        }
        work
    }

    fn has_pending_work(&self) -> bool {
        !self.queues_empty()
    }

    fn on_close(&mut self) {
        if let (Some(closed), Some(matcher)) = (self.closed.take(), self.matcher.take()) {
            let _ = closed.send(matcher);
        }
    }
}

/// The counters the order ingress keeps.
pub struct IngressCounters {
    /// Client requests handed to the sequencer.
    pub requests: Counter,
    /// What the sessions did (`meter::SESSION_LABELS`).
    pub sessions: Published<7>,
    /// Their rejects by reason (`meter::SESSION_REASON_LABELS`).
    pub reasons: Published<15>,
    /// The journal's `msync`s, the replies that waited for them, and the queues'
    /// overflows (`meter::DURABILITY_LABELS`).
    pub durability: Published<3>,
}

/// Client order entry: accepts sessions, turns their requests into stamped commands for
/// the sequencer, and sends the replies the matcher agent hands it, numbered per client.
pub struct OrderIngress {
    net: Transport,
    side: IngressSide,
    commands: Producer<Message>,
    replies: Consumer<Reply>,
    /// Replies wait here until their journal records are on disk.
    gate: AckGate<Reply>,
    last_housekeeping_ns: u64,
    counters: IngressCounters,
    fault: Fault,
    snapshots: Option<Sender<Piece>>,
    status: Option<StatusLink>,
}

/// What the transport's handler borrows while the ingress polls.
struct IngressSide {
    listener: ListenerId,
    sessions: Sessions,
    /// The admin port's listener and its operators' sessions.
    admin_listener: ListenerId,
    operators: Operators,
    /// Commands read and not yet on the commands ring: what one poll's arrivals made,
    /// at most `frames_per_arrival` per arrival ([`Handler::deliveries_max`]).
    pending: Bounded<Message>,
    frames_per_arrival: usize,
    now_ns: u64,
    /// The engine is stopping: no connection is accepted and no request is taken (a
    /// request read and dropped was never acknowledged; the client sends it again after
    /// the restart).
    intake_closed: bool,
    /// Operators' status queries read and not yet handed to the sequencer.
    queries: Vec<StatusQuery>,
    /// The FIX port's listener (none without `[[fix_sessions]]`) and its sessions.
    fix_listener: Option<ListenerId>,
    fix: FixSessions,
}

/// The order ingress's end of the status-query channels to the sequencer agent
/// ([`SequencerAgent::with_status`](crate::SequencerAgent::with_status)), and the live
/// counters it reads ring depths from.
pub struct StatusLink {
    /// Queries to the sequencer (bounded: past it a query is refused, 12).
    pub queries: SyncSender<StatusQuery>,
    /// Its answers: the operator and the message.
    pub answers: Receiver<crate::sequencer::StatusAnswer>,
    /// The counters file, for `EngineStatus`'s ring depths.
    pub counters: Option<CountersReader>,
}

impl OrderIngress {
    /// The ingress on `net`, whose client listener is `listener`. `frames_per_arrival`
    /// bounds the commands one arrival of bytes makes (the frames a connection's receive
    /// buffer holds); `gate` holds replies until the journal has their records on disk.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        net: Transport,
        listener: ListenerId,
        sessions: Sessions,
        (admin_listener, operators): (ListenerId, Operators),
        commands: Producer<Message>,
        replies: Consumer<Reply>,
        gate: AckGate<Reply>,
        frames_per_arrival: usize,
        counters: IngressCounters,
        fault: Fault,
    ) -> OrderIngress {
        OrderIngress {
            net,
            side: IngressSide {
                listener,
                sessions,
                admin_listener,
                operators,
                pending: Bounded::new("order ingress commands", 2 * frames_per_arrival),
                frames_per_arrival,
                now_ns: 0,
                intake_closed: false,
                queries: Vec::new(),
                fix_listener: None,
                fix: FixSessions::none(),
            },
            status: None,
            commands,
            replies,
            gate,
            last_housekeeping_ns: 0,
            counters,
            fault,
            snapshots: None,
        }
    }

    /// Hands every client's kept replies to `pieces` at each live snapshot's cut
    /// (`None`: no live snapshots; `crate::snapshots`).
    #[must_use]
    pub fn with_snapshots(mut self, pieces: Option<Sender<Piece>>) -> OrderIngress {
        self.snapshots = pieces;
        self
    }

    /// Takes FIX sessions on `listener` (`docs/FIX.md`).
    #[must_use]
    pub fn with_fix(mut self, listener: Option<ListenerId>, fix: FixSessions) -> OrderIngress {
        self.side.fix_listener = listener;
        self.side.fix = fix;
        self
    }

    /// Answers operators' status queries through `link` (`None`: every query is refused,
    /// 12).
    #[must_use]
    pub fn with_status(mut self, link: Option<StatusLink>) -> OrderIngress {
        self.status = link;
        self
    }

    /// Hands the queries read to the sequencer (refusing those it cannot take) and sends
    /// the answers that came back.
    fn status_queries(&mut self) -> usize {
        let out = self.net.outbox();
        let operators = &mut self.side.operators;
        let mut work = self.side.queries.len();
        for query in self.side.queries.drain(..) {
            let sent = self
                .status
                .as_ref()
                .is_some_and(|link| link.queries.try_send(query).is_ok());
            if !sent {
                operators.refuse_request(
                    out,
                    query.operator,
                    query.request,
                    AdminRefusal::StatusUnavailable as u16,
                );
            }
        }
        let Some(link) = &self.status else {
            return work;
        };
        while let Ok((operator, mut message)) = link.answers.try_recv() {
            work += 1;
            if let (AdminOutbound::EngineStatus { .. }, Some(counters)) = (&message, &link.counters)
            {
                fill_ring_depths(&mut message, &counters.sample());
            }
            match message {
                AdminOutbound::ControlRefused {
                    request, reason, ..
                } => operators.refuse_request(out, operator, request, reason),
                answer => operators.answer(out, operator, &answer),
            }
        }
        work
    }

    fn publish(&self) {
        let stats = self.side.sessions.stats();
        self.counters.sessions.publish(session_values(&stats));
        self.counters.reasons.publish(session_reason_values(&stats));
        self.counters
            .durability
            .publish([self.gate.msyncs(), self.gate.held_total(), overflows()]);
    }

    fn flush(&mut self) -> bool {
        let before = self.side.pending.len();
        let empty = flush(&mut self.side.pending, &mut self.commands);
        self.counters
            .requests
            .add((before - self.side.pending.len()) as u64);
        empty
    }
}

impl Handler for IngressSide {
    fn on_accept(&mut self, out: &mut Outbox, listener: ListenerId, conn: ConnId) {
        if self.intake_closed {
            out.close(conn);
        } else if listener == self.listener {
            self.sessions.open(out, conn, self.now_ns);
        } else if listener == self.admin_listener {
            self.operators.open(out, conn, self.now_ns);
        } else if Some(listener) == self.fix_listener {
            self.fix.open_connection(out, conn, self.now_ns);
        }
    }

    fn make_room(&mut self, out: &mut Outbox, listener: ListenerId) -> bool {
        // Only the client listener exists on this transport; a stopping engine takes no
        // one (the newcomer is refused, as a closed intake refuses every accept).
        !self.intake_closed
            && listener == self.listener
            && self.sessions.make_room(out, self.now_ns)
    }

    fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize {
        if self.intake_closed {
            // Read and dropped, never answered (the client sends them again after the
            // restart): a socket closed with unread bytes resets the connection, and
            // the kernel would drop the replies it still holds for the client.
            return data.len();
        }
        let (now, pending, queries) = (self.now_ns, &mut self.pending, &mut self.queries);
        if self.operators.owns(conn) {
            return self
                .operators
                .on_data(out, conn, data, now, &mut |request| match request {
                    AdminRequest::Command(command) => pending.push_past_bound(command),
                    AdminRequest::Status(query) => queries.push(query),
                });
        }
        let fix = &mut self.fix;
        if fix.owns(conn) {
            return fix.on_data(out, conn, data, now, &mut |request| {
                pending.push_past_bound(request.to_message(now));
            });
        }
        self.sessions.on_data(out, conn, data, now, &mut |request| {
            // The drop copy describes every client's orders.
            fix.note_request(&request);
            pending.push_past_bound(request.to_message(now));
        })
    }

    fn deliveries_max(&self) -> usize {
        (self.pending.bound() - self.pending.len().min(self.pending.bound()))
            / self.frames_per_arrival
    }

    fn on_close(&mut self, conn: ConnId, _reason: CloseReason) {
        if self.operators.owns(conn) {
            self.operators.closed(conn);
        } else if self.fix.owns(conn) {
            self.fix.closed(conn);
        } else {
            self.sessions.closed(conn);
        }
    }
}

impl Agent for OrderIngress {
    fn role_name(&self) -> &str {
        "order_ingress"
    }

    fn do_work(&mut self) -> usize {
        self.side.now_ns = self.side.now_ns.max(wall_clock_ns());
        let now = self.side.now_ns;
        let (sessions, operators, fix, net, snapshots) = (
            &mut self.side.sessions,
            &mut self.side.operators,
            &mut self.side.fix,
            &mut self.net,
            &self.snapshots,
        );
        let mut work = self.gate.pump(&mut self.replies, BATCH, |reply| {
            if reply.kind == Reply::CUT {
                if let Some(pieces) = snapshots {
                    let mut replies = Vec::new();
                    sessions.export_replies(&mut replies);
                    let cut = reply.sequence;
                    let _ = pieces.send(Piece::Replies { cut, replies });
                }
            } else if reply.kind == Reply::ADMIN_ACK {
                let (request, result) = reply.ack_fields();
                operators.acknowledge(
                    net.outbox(),
                    reply.client.get(),
                    request,
                    result,
                    reply.sequence,
                );
            } else {
                if !fix.serves(reply.client) {
                    sessions.reply_fields(
                        net.outbox(),
                        reply.client,
                        reply.kind,
                        &reply.fields,
                        now,
                    );
                }
                if fix.configured() {
                    if let Some(outbound) = reply.outbound() {
                        fix.reply(net.outbox(), reply.client, &outbound, reply.sequence, now);
                    }
                }
            }
            true
        });
        // Resends go on as far as each client has read (their sends leave at the poll).
        work += self.side.sessions.pump_resends(self.net.outbox(), now);
        work += self.status_queries();
        if now.saturating_sub(self.last_housekeeping_ns) >= HOUSEKEEPING_NS {
            self.last_housekeeping_ns = now;
            self.side.sessions.tick(self.net.outbox(), now);
            self.side.operators.tick(self.net.outbox(), now);
            self.side.fix.tick(self.net.outbox(), now);
            self.publish();
        }
        // Requests still waiting for ring space: sends go out, nothing new is read.
        // (Its replies' sends wait for the next poll too: the sequencer is behind, and
        // will be taking requests again within a duty cycle.)
        if !self.flush() {
            return work.max(1);
        }
        match self.net.poll(&mut self.side, None) {
            // Once intake is closed, arrivals are dropped unanswered: not work to wait for.
            Ok(events) if !self.side.intake_closed => work += events,
            Ok(_) => {}
            Err(error) => self.fault.raise(format!("order ingress: {error}")),
        }
        self.flush();
        work
    }

    fn has_pending_work(&self) -> bool {
        // At stop, replies still in a send buffer are pending too: the connections
        // close only once the kernel has them.
        !self.side.pending.is_empty() || self.gate.held() > 0 || self.net.has_unsent()
    }

    fn close_intake(&mut self) {
        self.side.intake_closed = true;
    }

    fn on_close(&mut self) {
        self.publish();
    }
}

/// The market-data ingress: the feed's datagrams (from the UDP socket, or replayed from
/// a recorded file) checked and ordered, NBBOs to the sequencer as commands, venue tops
/// to the egress for routing.
pub struct MarketDataIngress {
    net: Transport,
    side: FeedSide,
    replay: Option<Replay>,
    nbbo: Producer<Message>,
    tops: Producer<Message>,
    published: Published<8>,
    last_published_ns: u64,
    fault: Fault,
}

struct FeedSide {
    feed: Feed,
    /// What one arrival's datagram made: at most `per_datagram` each
    /// ([`Handler::deliveries_max`]).
    pending: Bounded<Message>,
    pending_tops: Bounded<Message>,
    per_datagram: usize,
    now_ns: u64,
    /// The engine is stopping: datagrams are dropped (the feed is a stream of latest
    /// quotes, and a stopped engine quotes nothing) and a recorded feed is not replayed.
    intake_closed: bool,
}

impl FeedSide {
    fn take(&mut self, datagram: &[u8]) {
        let (now, pending, pending_tops) = (self.now_ns, &mut self.pending, &mut self.pending_tops);
        self.feed.on_datagram_tops(
            datagram,
            &mut |command| pending.push_past_bound(command.to_message(Timestamp::new(now))),
            &mut |change| pending_tops.push_past_bound(change.to_message(Timestamp::new(now))),
        );
    }
}

impl Handler for FeedSide {
    fn on_data(&mut self, _out: &mut Outbox, _conn: ConnId, data: &[u8]) -> usize {
        data.len()
    }

    fn on_datagram(&mut self, _out: &mut Outbox, _socket: UdpId, data: &[u8]) {
        if !self.intake_closed {
            self.take(data);
        }
    }

    fn deliveries_max(&self) -> usize {
        let used = self.pending.len().max(self.pending_tops.len());
        (self.pending.bound() - used.min(self.pending.bound())) / self.per_datagram
    }
}

impl MarketDataIngress {
    /// The ingress on `net` (its UDP socket bound), replaying `replay` if given.
    /// `per_datagram` bounds the commands (and venue-top changes) one datagram makes.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        net: Transport,
        feed: Feed,
        per_datagram: usize,
        replay: Option<Replay>,
        nbbo: Producer<Message>,
        tops: Producer<Message>,
        published: Published<8>,
        fault: Fault,
    ) -> MarketDataIngress {
        MarketDataIngress {
            net,
            side: FeedSide {
                feed,
                pending: Bounded::new("market data commands", 2 * per_datagram),
                pending_tops: Bounded::new("market data venue tops", 2 * per_datagram),
                per_datagram,
                now_ns: 0,
                intake_closed: false,
            },
            replay,
            nbbo,
            tops,
            published,
            last_published_ns: 0,
            fault,
        }
    }

    fn publish(&self) {
        self.published.publish(feed_values(&self.side.feed.stats()));
    }

    fn flush(&mut self) -> bool {
        flush_feed(&mut self.side, &mut self.nbbo, &mut self.tops)
    }
}

fn flush_feed(
    side: &mut FeedSide,
    nbbo: &mut Producer<Message>,
    tops: &mut Producer<Message>,
) -> bool {
    let tops = flush(&mut side.pending_tops, tops);
    flush(&mut side.pending, nbbo) && tops
}

impl Agent for MarketDataIngress {
    fn role_name(&self) -> &str {
        "market_data"
    }

    fn do_work(&mut self) -> usize {
        self.side.now_ns = self.side.now_ns.max(wall_clock_ns());
        if !self.flush() {
            return 1;
        }
        let mut work = 0;
        if let Some(replay) = self.replay.as_mut().filter(|_| !self.side.intake_closed) {
            while work < DATAGRAMS_PER_POLL {
                let Some(datagram) = replay.next_due(self.side.now_ns) else {
                    break;
                };
                self.side.take(datagram);
                work += 1;
                if !flush_feed(&mut self.side, &mut self.nbbo, &mut self.tops) {
                    return work;
                }
            }
        }
        match self.net.poll(&mut self.side, None) {
            Ok(events) if !self.side.intake_closed => work += events,
            Ok(_) => {}
            Err(error) => self.fault.raise(format!("market data: {error}")),
        }
        self.flush();
        // The feed's figures at the housekeeping pace, not per datagram.
        if self.side.now_ns.saturating_sub(self.last_published_ns) >= HOUSEKEEPING_NS {
            self.last_published_ns = self.side.now_ns;
            self.publish();
        }
        work
    }

    fn has_pending_work(&self) -> bool {
        !(self.side.pending.is_empty() && self.side.pending_tops.is_empty())
    }

    fn close_intake(&mut self) {
        self.side.intake_closed = true;
    }

    fn on_close(&mut self) {
        self.publish();
    }
}

/// Sets an `EngineStatus`'s ring depths from a sample of the live counters.
fn fill_ring_depths(message: &mut AdminOutbound, readings: &[Reading]) {
    let depth = |ring: &str| {
        let label = format!("ring.{ring}.depth");
        readings
            .iter()
            .find(|reading| reading.label == label)
            .map_or(0, |reading| {
                u32::try_from(reading.value).unwrap_or(u32::MAX)
            })
    };
    if let AdminOutbound::EngineStatus {
        commands_depth,
        market_data_depth,
        venue_reports_depth,
        sequenced_depth,
        events_back_depth,
        events_out_depth,
        replies_depth,
        venue_tops_depth,
        ..
    } = message
    {
        *commands_depth = depth("commands");
        *market_data_depth = depth("market_data");
        *venue_reports_depth = depth("venue_reports");
        *sequenced_depth = depth("sequenced");
        *events_back_depth = depth("events_back");
        *events_out_depth = depth("events_out");
        *replies_depth = depth("replies");
        *venue_tops_depth = depth("venue_tops");
    }
}

/// The counters of orders, fills and replies the matcher agent keeps as it hands events
/// on (see `meter::EGRESS_LABELS`).
pub struct OrderCounters {
    /// Orders accepted, by the matcher.
    pub accepted: Counter,
    /// Client requests the risk gate rejected.
    pub rejected_by_risk: Counter,
    /// Orders the matcher rejected.
    pub rejected_by_matcher: Counter,
    /// Orders cancelled (by request, IOC remainder, venue, kill switch).
    pub cancelled: Counter,
    /// Shares executed in internal crosses (each side counted).
    pub crossed_shares: Counter,
    /// Shares executed from the firm's inventory.
    pub principal_shares: Counter,
    /// Shares executed at venues.
    pub venue_shares: Counter,
    /// Executions of every kind.
    pub executions: Counter,
    /// Shares routed to venues.
    pub routed_shares: Counter,
    /// Client replies handed to the order ingress.
    pub replies: Counter,
    /// Price improvement on internal executions, micro-dollars.
    pub improvement_micros: Counter,
    /// Reply latency: from the stamp of the input that caused a client reply (the order
    /// ingress's, for a client's request; the feed's, for a quote that filled an order)
    /// to the reply's hand-off to the order ingress.
    pub latency: ReplyLatency,
}

/// The counters the egress keeps.
pub struct EgressCounters {
    /// Venue fills and cancels handed to the sequencer.
    pub venue_reports: Counter,
    /// Routes that waited for the journal's disk (`meter::DURABILITY_LABELS`).
    pub held: Published<1>,
    /// What the router did (`meter::ROUTER_LABELS`).
    pub router: Published<12>,
    /// Each venue's state.
    pub venues: VenueGauges,
}

impl OrderCounters {
    /// Takes the order counters and the egress's, in `EGRESS_LABELS` order and then the
    /// router's and the venues'; `held` counts the routes that waited for the disk.
    pub(crate) fn take(
        counters: &mut impl Iterator<Item = Counter>,
        venues: &[(u8, String)],
        held: Published<1>,
    ) -> Option<(OrderCounters, EgressCounters)> {
        let mut order = [(); 11].map(|()| counters.next());
        let mut next = |index: usize| order[index].take();
        let (accepted, rejected_by_risk, rejected_by_matcher, cancelled) =
            (next(0)?, next(1)?, next(2)?, next(3)?);
        let (crossed_shares, principal_shares, venue_shares, executions) =
            (next(4)?, next(5)?, next(6)?, next(7)?);
        let (routed_shares, replies, improvement_micros) = (next(8)?, next(9)?, next(10)?);
        let egress = EgressCounters {
            venue_reports: counters.next()?,
            held,
            router: Published::take(counters)?,
            venues: VenueGauges::take(venues, counters)?,
        };
        // The reply-latency histogram's labels come last in the file.
        let orders = OrderCounters {
            accepted,
            rejected_by_risk,
            rejected_by_matcher,
            cancelled,
            crossed_shares,
            principal_shares,
            venue_shares,
            executions,
            routed_shares,
            replies,
            improvement_micros,
            latency: ReplyLatency::take(counters)?,
        };
        Some((orders, egress))
    }

    fn count(&self, event: &Event) {
        match event {
            Event::Accepted { .. } => self.accepted.add(1),
            Event::Rejected { .. } => self.rejected_by_matcher.add(1),
            Event::Cancelled { .. } => self.cancelled.add(1),
            Event::Filled(execution) => {
                let shares = u64::from(execution.quantity.shares());
                self.executions.add(1);
                match execution.contra {
                    Contra::Order(_) => self.crossed_shares.add(shares),
                    Contra::Firm => self.principal_shares.add(shares),
                    Contra::Venue => self.venue_shares.add(shares),
                }
                if !matches!(execution.contra, Contra::Venue) {
                    let improvement = execution.price_improvement.micros().max(0);
                    self.improvement_micros
                        .add(improvement.unsigned_abs() * shares);
                }
            }
            Event::Route(route) => self.routed_shares.add(u64::from(route.quantity.shares())),
            _ => {}
        }
    }
}

/// Router and egress: the matcher's routes become child orders at venues; venue reports
/// come back as commands for the sequencer.
pub struct Egress {
    net: Transport,
    side: VenueSide,
    events: Consumer<Message>,
    /// Routes wait here until their journal records are on disk.
    gate: AckGate<Message>,
    top_changes: Consumer<Message>,
    venue_commands: Producer<Message>,
    last_housekeeping_ns: u64,
    counters: EgressCounters,
    fault: Fault,
}

/// What the venue transport's handler borrows while the egress polls.
struct VenueSide {
    router: Router,
    tops: VenueTops,
    /// Venue reports (and cancels back) not yet on the venue_reports ring: at most the
    /// start-up cancels back, a housekeeping round's (a cancel per child order) or
    /// `frames_per_arrival` per arrival ([`Handler::deliveries_max`]).
    commands: Bounded<Message>,
    frames_per_arrival: usize,
    now_ns: u64,
}

impl VenueSide {
    fn emit(commands: &mut Bounded<Message>, now: u64) -> impl FnMut(VenueReport) + '_ {
        move |report| {
            commands.push_past_bound(report.to_message(now));
        }
    }
}

impl Handler for VenueSide {
    fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize {
        let now = self.now_ns;
        self.router.on_data(
            out,
            conn,
            data,
            &self.tops,
            now,
            &mut VenueSide::emit(&mut self.commands, now),
        )
    }

    fn on_close(&mut self, conn: ConnId, _reason: CloseReason) {
        self.router.on_close(conn, self.now_ns);
    }

    fn deliveries_max(&self) -> usize {
        (self.commands.bound() - self.commands.len().min(self.commands.bound()))
            / self.frames_per_arrival
    }
}

/// Ring sizes and start-up work of the egress.
pub struct EgressRings {
    /// Routes from the matcher, and the sequencer outputs it passed on to log.
    pub events: Consumer<Message>,
    /// Holds routes until the journal has their records on disk.
    pub gate: AckGate<Message>,
    /// Venue-top changes from the market-data ingress.
    pub top_changes: Consumer<Message>,
    /// Venue fills and cancels to the sequencer.
    pub venue_commands: Producer<Message>,
}

impl Egress {
    /// The egress on `net` with `router`. `cancel_back` are venue cancels to send first
    /// (the routed shares a recovered engine shows out at venues of the previous run);
    /// `frames_per_arrival` bounds the venue reports one arrival of bytes makes.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        net: Transport,
        router: Router,
        frames_per_arrival: usize,
        tops: VenueTops,
        rings: EgressRings,
        cancel_back: Vec<VenueReport>,
        counters: EgressCounters,
        fault: Fault,
    ) -> Egress {
        let now = wall_clock_ns();
        let bound = cancel_back.len() + router.children_max() + 2 * frames_per_arrival;
        let mut commands = Bounded::new("egress venue reports", bound);
        cancel_back
            .into_iter()
            .for_each(VenueSide::emit(&mut commands, now));
        Egress {
            net,
            side: VenueSide {
                router,
                tops,
                commands,
                frames_per_arrival,
                now_ns: now,
            },
            events: rings.events,
            gate: rings.gate,
            top_changes: rings.top_changes,
            venue_commands: rings.venue_commands,
            last_housekeeping_ns: 0,
            counters,
            fault,
        }
    }

    fn publish(&self) {
        let router = &self.side.router;
        self.counters.router.publish(router_values(&router.stats()));
        self.counters.venues.publish(router);
        self.counters.held.publish([self.gate.held_total()]);
    }

    fn flush(&mut self) -> bool {
        let before = self.side.commands.len();
        let commands = flush(&mut self.side.commands, &mut self.venue_commands);
        self.counters
            .venue_reports
            .add((before - self.side.commands.len()) as u64);
        commands
    }

    fn take_events(&mut self) -> usize {
        let (side, outbox) = (&mut self.side, self.net.outbox());
        self.gate.pump(&mut self.events, BATCH, |message| {
            let route = match RouteInstruction::from_message(&message) {
                Ok(route) => route,
                Err(error) => {
                    // The matcher agent encodes every one, so this cannot happen unless
                    // it is wrong: say so, and route nothing of it.
                    eprintln!("egress: a message on events_out is no route: {error}");
                    return true;
                }
            };
            let now = side.now_ns;
            side.router.route(
                outbox,
                &route,
                &side.tops,
                now,
                &mut VenueSide::emit(&mut side.commands, now),
            );
            // Venue reports the router made wait for the sequencer's ring first.
            side.commands.is_empty()
        })
    }
}

impl Agent for Egress {
    fn role_name(&self) -> &str {
        "egress"
    }

    fn do_work(&mut self) -> usize {
        self.side.now_ns = self.side.now_ns.max(wall_clock_ns());
        let now = self.side.now_ns;
        let mut work = 0;
        while work < BATCH {
            let Some(message) = self.top_changes.try_pop() else {
                break;
            };
            match TopChange::from_message(&message) {
                Ok(change) => self.side.tops.apply(change),
                // The market-data ingress encodes every one, so this cannot happen
                // unless it is wrong: say so, and apply nothing of it.
                Err(error) => eprintln!("egress: a message on venue_tops is no top: {error}"),
            }
            work += 1;
        }
        if self.flush() {
            work += self.take_events();
        }
        if now.saturating_sub(self.last_housekeeping_ns) >= HOUSEKEEPING_NS
            && self.side.commands.is_empty()
        {
            self.last_housekeeping_ns = now;
            let side = &mut self.side;
            side.router.tick(
                &mut self.net,
                &side.tops,
                now,
                &mut VenueSide::emit(&mut side.commands, now),
            );
            self.publish();
        }
        // Venue reports wait while earlier ones wait for the sequencer's ring.
        if !self.side.commands.is_empty() {
            return work.max(1);
        }
        match self.net.poll(&mut self.side, None) {
            Ok(events) => work += events,
            Err(error) => self.fault.raise(format!("egress: {error}")),
        }
        self.flush();
        work
    }

    fn has_pending_work(&self) -> bool {
        !self.side.commands.is_empty() || self.gate.held() > 0 || self.net.has_unsent()
    }

    fn on_close(&mut self) {
        self.publish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of_val};
    use crossline_types::{Capacity, ClientOrderId, LiquiditySource, OrderId, Price, Quantity};

    #[test]
    fn the_replies_ring_table_is_the_struct() {
        let doc = include_str!("../../../docs/MESSAGES.md");
        let section = doc
            .split("\n## The replies ring\n")
            .nth(1)
            .expect("MESSAGES.md has a replies ring section");
        let rows: Vec<(usize, usize, String)> = section
            .lines()
            .skip_while(|line| !line.starts_with("| offset"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                (
                    cells[1].parse().unwrap(),
                    cells[2].parse().unwrap(),
                    cells[3].trim_matches('`').to_owned(),
                )
            })
            .collect();
        let reply = Reply::cut(0);
        let actual = vec![
            (
                offset_of!(Reply, sequence),
                size_of_val(&reply.sequence),
                "sequence".to_owned(),
            ),
            (
                offset_of!(Reply, client),
                size_of_val(&reply.client),
                "client".to_owned(),
            ),
            (
                offset_of!(Reply, kind),
                size_of_val(&reply.kind),
                "kind".to_owned(),
            ),
            (
                offset_of!(Reply, fields),
                size_of_val(&reply.fields),
                "fields".to_owned(),
            ),
        ];
        assert_eq!(rows, actual);
    }

    #[test]
    fn a_reply_crosses_the_ring_as_the_client_will_read_it() {
        let replies = [
            Outbound::Filled {
                client_order_id: ClientOrderId::new(u64::MAX),
                order_id: OrderId::new(2),
                price: Price::from_micros(-3),
                price_improvement: Price::from_micros(4),
                quantity: Quantity::new(u32::MAX),
                leaves: Quantity::new(6),
                liquidity: LiquiditySource::Venue,
                capacity: Capacity::RisklessPrincipal,
            },
            Outbound::Rejected {
                client_order_id: ClientOrderId::new(7),
                reason: 199,
            },
            Outbound::Replaced {
                client_order_id: ClientOrderId::new(8),
                original_client_order_id: ClientOrderId::new(7),
                order_id: OrderId::new(9),
                price: Price::from_micros(10),
                quantity: Quantity::new(11),
                priority_kept: true,
            },
        ];
        for outbound in replies {
            let reply = Reply::client(ClientId::new(5), &outbound, 12);
            assert_eq!((reply.client, reply.sequence), (ClientId::new(5), 12));
            assert_eq!(reply.kind, outbound.kind());
            assert_eq!(reply.outbound(), Some(outbound));
        }
        assert_eq!(Reply::cut(3).outbound(), None);
        assert_eq!(Reply::cut(3).sequence(), 3);
    }
}
