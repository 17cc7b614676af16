//! Client order-entry sessions: logon, sequence numbers, heartbeats, resend, and the
//! session-level rejects that keep one misbehaving client from touching anyone else.
//!
//! **Rules** (`docs/PROTOCOL.md` has the full text):
//! - A connection must log on within `logon_timeout_ms`, with sequence 1, a configured
//!   client id and its secret (compared in constant time). One session per client.
//! - Every later client frame carries the next sequence number. A frame that is refused
//!   (malformed, out of order, unauthenticated) gets a `SessionReject` naming why and does
//!   **not** use up its sequence number: the client sends the next message with it again.
//!   After `session_errors_max` refusals, or a frame whose length field is impossible
//!   (the stream cannot be re-split), the session is disconnected.
//! - A session acts only for its own client: the client id of every order comes from the
//!   logon, never from the frame.
//! - Order replies are numbered per client for the whole day and kept (the last
//!   `replies_max`), so a client that reconnects asks for them again from a number.
//! - A resend is paced by the connection's send buffer: each duty cycle sends the next
//!   kept replies that fit ([`Sessions::pump_resends`]), so it goes on as the client
//!   reads, through the whole kept range. Live replies that arrive meanwhile are kept and
//!   sent after it, in number order (not flagged resent): the client sees one numbered
//!   stream.
//! - A client that does not read its replies is disconnected: live, when a reply does not
//!   fit its send buffer; during a resend, when the next reply it is due is no longer kept
//!   (more than `replies_max` replies arrived since). Its replies stay kept for a resend.
//! - Admission: connections that have not logged on have their own budget,
//!   `pending_logons_max`. A connection past it, or one arriving when every slot is in
//!   use, closes the oldest connection still waiting to log on, never a logged-on one.
//!   Evictions and refusals are counted, and logged at most once a second.

use crossline_net::{ConnId, Outbox};
use crossline_protocol::client::{Inbound, LogonRejectReason, Outbound, SessionRejectReason};
use crossline_protocol::frame::{each_frame, Header, Secret, FLAG_RESENT, FRAME_BYTES_MAX};
use crossline_types::{Cancel, ClientId, Message, NewOrder, Replace, SequenceNumber, Timestamp};

/// The largest heartbeat interval a client may ask for.
const HEARTBEAT_MS_MAX: u32 = 60_000;

/// A client's order request as a session hands it on, the session's client id stamped
/// on it (never the frame's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A new order.
    NewOrder(NewOrder),
    /// A cancel.
    Cancel(Cancel),
    /// A cancel/replace.
    Replace(Replace),
}

impl Request {
    /// The request as the 56-byte command message the sequencer takes, stamped `now_ns`
    /// (`docs/MESSAGES.md`).
    #[must_use]
    pub fn to_message(&self, now_ns: u64) -> Message {
        let (sequence, time) = (SequenceNumber::new(0), Timestamp::new(now_ns));
        match self {
            Request::NewOrder(order) => order.to_message(sequence, time),
            Request::Cancel(cancel) => cancel.to_message(sequence, time),
            Request::Replace(replace) => replace.to_message(sequence, time),
        }
    }
}

/// Session limits, from `[gateway]`.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// How long a connection may take to log on, ns.
    pub logon_timeout_ns: u64,
    /// Refused frames before a disconnect.
    pub errors_max: u32,
    /// Replies kept per client.
    pub replies_max: usize,
    /// Connections not yet logged on, at most (the oldest is closed to make room).
    pub pending_logons_max: usize,
}

/// Bytes of a connection's send buffer a resend leaves free (at most a quarter of the
/// buffer), so the session messages sent meanwhile (heartbeats, rejects) fit.
const RESEND_HEADROOM_BYTES: usize = 16 * FRAME_BYTES_MAX;
/// Replies one session's resend queues per duty cycle, at most: a resend into a large
/// send buffer still leaves the cycle to the other sessions.
const RESEND_FRAMES_PER_CYCLE_MAX: usize = 4096;
/// The least time between two log lines about one kind of event a peer can cause at will.
const LOG_INTERVAL_NS: u64 = 1_000_000_000;

/// Counters of what sessions did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Successful logons.
    pub logons: u64,
    /// Refused logons.
    pub logons_refused: u64,
    /// Frames refused at the session level.
    pub frames_refused: u64,
    /// Sessions disconnected for misbehaviour, silence or slowness.
    pub disconnects: u64,
    /// Replies sent again on request.
    pub resent: u64,
    /// Connections not yet logged on, closed to make room for a newer one.
    pub pending_evicted: u64,
    /// Connections refused: every slot in use and none waiting to log on to close.
    pub connections_refused: u64,
    /// `SessionReject`s sent, by reason: entry `r - 1` for reason code `r` (PROTOCOL.md).
    pub rejects_by_reason: [u64; SESSION_REJECT_REASONS],
    /// `LogonRejected`s sent, by reason: entry `r - 1` for reason code `r`.
    pub logons_refused_by_reason: [u64; LOGON_REJECT_REASONS],
}

/// Session reject reason codes (1 to 10).
pub const SESSION_REJECT_REASONS: usize = 10;
/// Logon reject reason codes (1 to 5).
pub const LOGON_REJECT_REASONS: usize = 5;

impl SessionStats {
    fn rejected(&mut self, reason: SessionRejectReason) {
        if let Some(count) = self
            .rejects_by_reason
            .get_mut(usize::from(reason as u8) - 1)
        {
            *count += 1;
        }
    }
}

/// At most one log line per [`LOG_INTERVAL_NS`] for an event a peer can cause at will;
/// the next line says how many were left out.
#[derive(Debug, Clone, Copy, Default)]
struct LogLimit {
    last_ns: Option<u64>,
    suppressed: u64,
}

impl LogLimit {
    /// `Some(lines left out since the last one)` when a line may be written now.
    fn admit(&mut self, now_ns: u64) -> Option<u64> {
        if self
            .last_ns
            .is_some_and(|last| now_ns.saturating_sub(last) < LOG_INTERVAL_NS)
        {
            self.suppressed += 1;
            return None;
        }
        self.last_ns = Some(now_ns);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// One client's day: its secret, its session (if any) and its numbered replies.
struct Client {
    id: ClientId,
    secret: Secret,
    conn: Option<ConnId>,
    /// Reply frames, a ring of `replies_max`: reply `n` is at `(n - 1) % replies_max`.
    replies: Box<[[u8; FRAME_BYTES_MAX]]>,
    lengths: Box<[u8]>,
    /// The last reply's number (0: none yet).
    last_reply: u32,
}

impl Client {
    /// Why a resend from `from` cannot be served: `Some(oldest)`, the oldest reply number
    /// still kept (0 when no reply was sent yet), when `from` is 0, older than what is
    /// kept, or past the last reply; `None` when the replies from `from` on are all kept.
    fn resend_refusal(&self, from: u32, replies_max: usize) -> Option<u32> {
        if self.last_reply == 0 {
            return Some(0);
        }
        let kept = u32::try_from(replies_max).unwrap_or(u32::MAX);
        let oldest = self.last_reply.saturating_sub(kept) + 1;
        (from < oldest || from > self.last_reply).then_some(oldest)
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Connected, not logged on; since when (ns).
    Pending { since_ns: u64 },
    /// Logged on as the client at this index.
    Active { client: usize },
}

#[derive(Debug, Clone, Copy)]
struct Session {
    conn: ConnId,
    state: State,
    /// The sequence number the next client frame must carry.
    next_inbound: u32,
    errors: u32,
    heartbeat_ns: u64,
    last_inbound_ns: u64,
    last_outbound_ns: u64,
    /// The next reply number a resend in progress sends (0: none in progress); replies
    /// up to `resend_end` go flagged resent, later ones (live, kept meanwhile) plain.
    resend_next: u32,
    resend_end: u32,
}

/// Every session and every client's replies.
pub struct Sessions {
    limits: SessionLimits,
    clients: Vec<Client>,
    /// Sessions by connection slot.
    sessions: Vec<Option<Session>>,
    stats: SessionStats,
    /// Sessions with a resend in progress.
    resends_active: usize,
    evictions_log: LogLimit,
    refusals_log: LogLimit,
    /// Compared against when the client id is unknown, so a refusal takes the same time
    /// whether or not the id exists.
    decoy: Secret,
}

impl Sessions {
    /// Sessions for `secrets`' clients, with room for `connections_max` connections.
    #[must_use]
    pub fn new(
        limits: SessionLimits,
        secrets: &[(ClientId, Secret)],
        connections_max: usize,
    ) -> Sessions {
        let mut clients: Vec<Client> = secrets
            .iter()
            .map(|&(id, secret)| Client {
                id,
                secret,
                conn: None,
                replies: vec![[0u8; FRAME_BYTES_MAX]; limits.replies_max].into_boxed_slice(),
                lengths: vec![0u8; limits.replies_max].into_boxed_slice(),
                last_reply: 0,
            })
            .collect();
        // Sorted by id: a reply finds its client by binary search.
        clients.sort_by_key(|client| client.id);
        Sessions {
            limits,
            clients,
            sessions: vec![None; connections_max],
            stats: SessionStats::default(),
            resends_active: 0,
            evictions_log: LogLimit::default(),
            refusals_log: LogLimit::default(),
            decoy: Secret([0x5a; 32]),
        }
    }

    /// What sessions have done so far.
    #[must_use]
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    fn client_index(&self, client: ClientId) -> Option<usize> {
        self.clients.binary_search_by_key(&client, |c| c.id).ok()
    }

    /// A connection arrived. Past `pending_logons_max` connections waiting to log on, the
    /// oldest of them is closed.
    pub fn open(&mut self, out: &mut Outbox, conn: ConnId, now_ns: u64) {
        if let Some(stale) = self.sessions[conn.slot()] {
            // The transport reports every close before it reuses a slot; this only keeps
            // the books straight should it not.
            self.closed(stale.conn);
        }
        self.sessions[conn.slot()] = Some(Session {
            conn,
            state: State::Pending { since_ns: now_ns },
            next_inbound: 1,
            errors: 0,
            heartbeat_ns: 0,
            last_inbound_ns: now_ns,
            last_outbound_ns: now_ns,
            resend_next: 0,
            resend_end: 0,
        });
        let (pending, oldest) = self.oldest_pending(out, Some(conn));
        if pending > self.limits.pending_logons_max {
            if let Some((oldest, since_ns)) = oldest {
                self.evict(out, oldest, pending, now_ns, since_ns);
            }
        }
    }

    /// Every slot is in use and a connection waits for one: closes the oldest connection
    /// waiting to log on. Returns whether a slot will be free (one was closed now or is
    /// closing already); `false` refuses the newcomer (counted and logged).
    pub fn make_room(&mut self, out: &mut Outbox, now_ns: u64) -> bool {
        let (pending, oldest) = self.oldest_pending(out, None);
        if let Some((oldest, since_ns)) = oldest {
            self.evict(out, oldest, pending, now_ns, since_ns);
            return true;
        }
        let closing = self
            .sessions
            .iter()
            .flatten()
            .any(|session| !out.is_open(session.conn));
        if closing {
            return true;
        }
        self.stats.connections_refused += 1;
        if let Some(suppressed) = self.refusals_log.admit(now_ns) {
            eprintln!(
                "crossline: connection refused: every slot holds a logged-on session \
                 ({suppressed} such lines left out since the last)"
            );
        }
        false
    }

    /// How many connections wait to log on (open, not closing), and the oldest of them
    /// other than `except` with the time it connected.
    fn oldest_pending(
        &self,
        out: &Outbox,
        except: Option<ConnId>,
    ) -> (usize, Option<(ConnId, u64)>) {
        let mut count = 0;
        let mut oldest: Option<(ConnId, u64)> = None;
        for session in self.sessions.iter().flatten() {
            let State::Pending { since_ns } = session.state else {
                continue;
            };
            if !out.is_open(session.conn) {
                continue;
            }
            count += 1;
            if Some(session.conn) != except && oldest.is_none_or(|(_, since)| since_ns < since) {
                oldest = Some((session.conn, since_ns));
            }
        }
        (count, oldest)
    }

    /// Closes a connection waiting to log on to make room for a newer one.
    fn evict(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        pending: usize,
        now_ns: u64,
        since_ns: u64,
    ) {
        self.stats.pending_evicted += 1;
        out.close(conn);
        let waited_ns = now_ns.saturating_sub(since_ns);
        if let Some(suppressed) = self.evictions_log.admit(now_ns) {
            eprintln!(
                "crossline: {pending} connections waiting to log on (pending_logons_max {}): \
                 the oldest, waiting {} ms, closed to make room ({suppressed} such lines left \
                 out since the last)",
                self.limits.pending_logons_max,
                waited_ns / 1_000_000
            );
        }
    }

    /// A connection ended.
    pub fn closed(&mut self, conn: ConnId) {
        if let Some(session) = self.sessions[conn.slot()].take_if(|session| session.conn == conn) {
            if let State::Active { client } = session.state {
                self.clients[client].conn = None;
            }
            if session.resend_next != 0 {
                self.resends_active = self.resends_active.saturating_sub(1);
            }
        }
    }

    /// Handles whole frames from `data`; calls `submit` with each order request (the
    /// session's client id stamped on it). Returns the bytes consumed.
    pub fn on_data(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        data: &[u8],
        now_ns: u64,
        submit: &mut impl FnMut(Request),
    ) -> usize {
        if !out.is_open(conn) {
            return 0;
        }
        let framed = each_frame(data, |header, body| {
            self.on_frame(out, conn, header, body, now_ns, submit);
            out.is_open(conn)
        });
        framed.unwrap_or_else(|(at, _)| {
            // The length field is impossible: nothing after it can be framed.
            let kind = data.get(at + 2).copied().unwrap_or(0);
            self.refuse(out, conn, 0, kind, SessionRejectReason::Framing, 0);
            self.disconnect(out, conn);
            data.len()
        })
    }

    fn on_frame(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        header: &Header,
        body: &[u8],
        now_ns: u64,
        submit: &mut impl FnMut(Request),
    ) {
        let Some(session) = self.sessions[conn.slot()] else {
            return;
        };
        let message = match Inbound::decode(header, body) {
            Ok(message) => message,
            Err(error) => {
                let reason = SessionRejectReason::of(&error);
                self.refuse(out, conn, header.sequence, header.kind, reason, 0);
                return;
            }
        };
        let client = match session.state {
            State::Pending { .. } => {
                if let Inbound::Logon {
                    client,
                    heartbeat_ms,
                    secret,
                } = message
                {
                    self.logon(
                        out,
                        conn,
                        header.sequence,
                        client,
                        heartbeat_ms,
                        &secret,
                        now_ns,
                    );
                } else {
                    let reason = SessionRejectReason::NotLoggedOn;
                    self.refuse(out, conn, header.sequence, header.kind, reason, 0);
                }
                return;
            }
            State::Active { client } => client,
        };
        if header.sequence != session.next_inbound {
            let (sequence, kind) = (header.sequence, header.kind);
            let expected = session.next_inbound;
            self.refuse(
                out,
                conn,
                sequence,
                kind,
                SessionRejectReason::SequenceGap,
                expected,
            );
            return;
        }
        // Every refusal is decided before the number is taken: a refused frame leaves it
        // unused, so the client sends its next message with the same number.
        let refusal = match message {
            Inbound::Logon { .. } => Some((SessionRejectReason::AlreadyLoggedOn, 0)),
            Inbound::ResendRequest { from_sequence } => self.clients[client]
                .resend_refusal(from_sequence, self.limits.replies_max)
                .map(|oldest| (SessionRejectReason::ResendUnavailable, oldest)),
            _ => None,
        };
        if let Some((reason, detail)) = refusal {
            self.refuse(out, conn, header.sequence, header.kind, reason, detail);
            return;
        }
        if let Some(session) = self.sessions[conn.slot()].as_mut() {
            session.next_inbound += 1;
            session.last_inbound_ns = now_ns;
        }
        let id = self.clients[client].id;
        match message {
            // A logon here was refused above; a heartbeat only proves the client alive.
            Inbound::Logon { .. } | Inbound::Heartbeat {} => {}
            Inbound::Logout {} => out.close(conn),
            Inbound::ResendRequest { from_sequence } => {
                self.start_resend(out, conn, client, from_sequence, now_ns);
            }
            Inbound::NewOrder {
                client_order_id,
                symbol,
                quantity,
                price,
                side,
                order_type,
                time_in_force,
                capacity,
            } => submit(Request::NewOrder(NewOrder {
                client: id,
                symbol,
                client_order_id,
                price,
                quantity,
                side,
                order_type,
                time_in_force,
                capacity,
            })),
            Inbound::Cancel {
                client_order_id,
                original_client_order_id,
                symbol,
            } => submit(Request::Cancel(Cancel {
                client: id,
                symbol,
                client_order_id,
                original_client_order_id,
            })),
            Inbound::Replace {
                client_order_id,
                original_client_order_id,
                price,
                quantity,
            } => submit(Request::Replace(Replace {
                client: id,
                quantity,
                client_order_id,
                original_client_order_id,
                price,
            })),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn logon(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        sequence: u32,
        client: ClientId,
        heartbeat_ms: u32,
        secret: &Secret,
        now_ns: u64,
    ) {
        let index = self.client_index(client);
        let expected = index.map_or(&self.decoy, |i| &self.clients[i].secret);
        // Compared before anything else is looked at, known client or not.
        let secret_ok = expected.matches(secret) && index.is_some();
        let refusal = match index {
            None => Some(LogonRejectReason::UnknownClient),
            Some(_) if !secret_ok => Some(LogonRejectReason::BadSecret),
            Some(_) if sequence != 1 => Some(LogonRejectReason::BadSequence),
            Some(_) if heartbeat_ms == 0 || heartbeat_ms > HEARTBEAT_MS_MAX => {
                Some(LogonRejectReason::BadHeartbeat)
            }
            Some(i) if self.clients[i].conn.is_some() => Some(LogonRejectReason::AlreadyConnected),
            Some(_) => None,
        };
        if let Some(reason) = refusal {
            self.stats.logons_refused += 1;
            if let Some(count) = self
                .stats
                .logons_refused_by_reason
                .get_mut(usize::from(reason as u8) - 1)
            {
                *count += 1;
            }
            let reply = Outbound::LogonRejected {
                reason: reason as u8,
            };
            send(out, conn, &reply, 0, 0);
            out.close(conn);
            return;
        }
        let index = index.unwrap_or_default();
        self.clients[index].conn = Some(conn);
        if let Some(session) = self.sessions[conn.slot()].as_mut() {
            session.state = State::Active { client: index };
            session.next_inbound = 2;
            session.heartbeat_ns = u64::from(heartbeat_ms) * 1_000_000;
            session.last_inbound_ns = now_ns;
            session.last_outbound_ns = now_ns;
        }
        self.stats.logons += 1;
        let reply = Outbound::LogonAccepted {
            client,
            heartbeat_ms,
            last_reply_sequence: self.clients[index].last_reply,
        };
        send(out, conn, &reply, 0, 0);
    }

    /// Starts sending the kept replies from `from` to the last (the request was checked
    /// by [`Client::resend_refusal`]), and sends what fits now. A request while another
    /// resend is in progress starts over from its own number.
    fn start_resend(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        client: usize,
        from: u32,
        now_ns: u64,
    ) {
        debug_assert!(from >= 1 && from <= self.clients[client].last_reply);
        let last_reply = self.clients[client].last_reply;
        let Some(session) = self.sessions[conn.slot()].as_mut() else {
            return;
        };
        if session.resend_next == 0 {
            self.resends_active += 1;
        }
        session.resend_next = from;
        session.resend_end = last_reply;
        self.pump(out, conn.slot(), now_ns);
    }

    /// Goes on with every resend in progress as far as each connection's send buffer
    /// allows. Called each duty cycle; returns the replies queued (zero, at once, when no
    /// resend is in progress).
    pub fn pump_resends(&mut self, out: &mut Outbox, now_ns: u64) -> usize {
        if self.resends_active == 0 {
            return 0;
        }
        let mut queued = 0;
        for slot in 0..self.sessions.len() {
            if self.sessions[slot].is_some_and(|session| session.resend_next != 0) {
                queued += self.pump(out, slot, now_ns);
            }
        }
        queued
    }

    /// Queues the next replies of the resend on `slot` while they fit beside the
    /// headroom left for session messages; ends the resend when the last reply kept has
    /// gone, and the session when the next reply due is no longer kept. Returns the
    /// replies queued. Nothing is allocated: each frame is copied through the stack.
    fn pump(&mut self, out: &mut Outbox, slot: usize, now_ns: u64) -> usize {
        let Some(session) = self.sessions[slot] else {
            return 0;
        };
        let State::Active { client } = session.state else {
            return 0;
        };
        if session.resend_next == 0 || !out.is_open(session.conn) {
            return 0;
        }
        let conn = session.conn;
        let headroom = RESEND_HEADROOM_BYTES.min(out.buffer_bytes() / 4);
        let record = &self.clients[client];
        let kept = u32::try_from(self.limits.replies_max).unwrap_or(u32::MAX);
        let oldest = record.last_reply.saturating_sub(kept) + 1;
        let (mut next, mut queued, mut resent) = (session.resend_next, 0, 0);
        let behind = next < oldest;
        while !behind && next <= record.last_reply && queued < RESEND_FRAMES_PER_CYCLE_MAX {
            let index = (next as usize - 1) % self.limits.replies_max;
            let length = usize::from(record.lengths[index]);
            if out.room(conn) < length + headroom {
                break; // the rest when the client has read some
            }
            let mut frame = record.replies[index];
            if next <= session.resend_end {
                frame[3] |= FLAG_RESENT;
                resent += 1;
            }
            if out.send(conn, &frame[..length]).is_err() {
                break; // cannot happen: the room was checked
            }
            next += 1;
            queued += 1;
        }
        let done = next > record.last_reply;
        let client_id = record.id;
        self.stats.resent += resent;
        if behind {
            // The reply due was overwritten: the client fell more than replies_max
            // replies behind. It reconnects and asks again from what is kept.
            eprintln!(
                "crossline: client {client_id} fell behind its resend (reply {next} is no \
                 longer kept): disconnected; it may ask again from {oldest}"
            );
            self.disconnect(out, conn);
            return queued;
        }
        if let Some(session) = self.sessions[slot].as_mut() {
            session.resend_next = if done { 0 } else { next };
            if queued > 0 {
                session.last_outbound_ns = now_ns;
            }
        }
        if done {
            self.resends_active = self.resends_active.saturating_sub(1);
        }
        queued
    }

    /// Numbers and keeps an order reply without sending it (a replay of the journal
    /// rebuilding the replies of the day). Returns the client's index and the slot the
    /// reply is kept in; `None` for an account without a session (the firm's own).
    pub fn keep(&mut self, client: ClientId, reply: &Outbound) -> Option<(usize, usize)> {
        let mut fields = [0u8; Outbound::FIELD_BYTES_MAX];
        let kind = reply.encode_fields(&mut fields);
        self.keep_fields(client, kind, &fields)
    }

    /// [`Sessions::keep`] of the reply of type `kind` whose body starts with `fields`
    /// (`Outbound::encode_fields`: the form the replies ring carries). `None` also
    /// for a `kind` that is no reply type, which is logged.
    pub fn keep_fields(
        &mut self,
        client: ClientId,
        kind: u8,
        fields: &[u8],
    ) -> Option<(usize, usize)> {
        if Outbound::body_bytes(kind).is_none() {
            eprintln!("crossline: a reply of unknown type {kind} for client {client} dropped");
            return None;
        }
        let index = self.client_index(client)?;
        let record = &mut self.clients[index];
        record.last_reply += 1;
        let slot = (record.last_reply as usize - 1) % self.limits.replies_max;
        let length = Outbound::encode_fields_frame(
            kind,
            fields,
            record.last_reply,
            0,
            &mut record.replies[slot],
        )
        .unwrap_or(0);
        #[allow(clippy::cast_possible_truncation)] // at most FRAME_BYTES_MAX
        let stored = length as u8;
        record.lengths[slot] = stored;
        Some((index, slot))
    }

    /// Writes every client's kept replies into `out` (cleared first), for a snapshot:
    /// the layout is `docs/JOURNAL.md`'s "replies part". Clients in id order; each with
    /// its last reply number and the frames it keeps, oldest first.
    pub fn export_replies(&self, out: &mut Vec<u8>) {
        out.clear();
        let clients = u32::try_from(self.clients.len()).unwrap_or(u32::MAX);
        let replies_max = u32::try_from(self.limits.replies_max).unwrap_or(u32::MAX);
        out.extend_from_slice(&clients.to_le_bytes());
        for client in &self.clients {
            let kept = client.last_reply.min(replies_max);
            out.extend_from_slice(&client.id.get().to_le_bytes());
            out.extend_from_slice(&client.last_reply.to_le_bytes());
            out.extend_from_slice(&kept.to_le_bytes());
            let last = client.last_reply as usize;
            for number in last + 1 - kept as usize..=last {
                let slot = (number - 1) % self.limits.replies_max;
                let length = usize::from(client.lengths[slot]);
                out.extend_from_slice(&client.replies[slot][..length]);
            }
        }
    }

    /// Takes back replies written by [`Sessions::export_replies`], replacing what every
    /// client it names keeps. A client it names that is not configured, or more frames
    /// than `replies_max` keeps, is an error: the snapshot was made for other sessions.
    ///
    /// # Errors
    /// What is wrong with `bytes`, by offset.
    pub fn import_replies(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut cursor = 0usize;
        let mut read = |what: &str, size: usize| -> Result<&[u8], String> {
            let field = bytes
                .get(cursor..cursor + size)
                .ok_or_else(|| format!("replies part cut short at byte {cursor} ({what})"))?;
            cursor += size;
            Ok(field)
        };
        let word = |field: &[u8]| u32::from_le_bytes([field[0], field[1], field[2], field[3]]);
        let clients = word(read("client count", 4)?);
        for _ in 0..clients {
            let id = word(read("client id", 4)?);
            let last = word(read("last reply number", 4)?);
            let kept = word(read("kept frames", 4)?) as usize;
            let index = self
                .client_index(ClientId::new(id))
                .ok_or_else(|| format!("replies part names client {id}, which has no session"))?;
            let replies_max = self.limits.replies_max;
            if kept > replies_max || kept > last as usize {
                return Err(format!(
                    "replies part keeps {kept} replies for client {id} (last {last}); \
                     replies_max is {replies_max}"
                ));
            }
            let record = &mut self.clients[index];
            record.last_reply = last;
            for number in last as usize + 1 - kept..=last as usize {
                let prefix = read("frame length", 2)?;
                let prefix = [prefix[0], prefix[1]];
                let length = usize::from(u16::from_le_bytes(prefix));
                if !(8..=FRAME_BYTES_MAX).contains(&length) {
                    return Err(format!("replies part: a frame of {length} bytes"));
                }
                let rest = read("frame", length - 2)?;
                let slot = (number - 1) % replies_max;
                record.replies[slot][..2].copy_from_slice(&prefix);
                record.replies[slot][2..length].copy_from_slice(rest);
                #[allow(clippy::cast_possible_truncation)] // at most FRAME_BYTES_MAX
                let stored = length as u8;
                record.lengths[slot] = stored;
            }
        }
        if cursor != bytes.len() {
            return Err(format!(
                "replies part has {} bytes after its last client",
                bytes.len() - cursor
            ));
        }
        Ok(())
    }

    /// Numbers, keeps and (if the client is connected) sends an order reply.
    pub fn reply(&mut self, out: &mut Outbox, client: ClientId, reply: &Outbound, now_ns: u64) {
        let mut fields = [0u8; Outbound::FIELD_BYTES_MAX];
        let kind = reply.encode_fields(&mut fields);
        self.reply_fields(out, client, kind, &fields, now_ns);
    }

    /// [`Sessions::reply`] of the reply of type `kind` whose body starts with `fields`
    /// (`Outbound::encode_fields`: the form the replies ring carries).
    pub fn reply_fields(
        &mut self,
        out: &mut Outbox,
        client: ClientId,
        kind: u8,
        fields: &[u8],
        now_ns: u64,
    ) {
        let Some((index, slot)) = self.keep_fields(client, kind, fields) else {
            return; // the firm's own account, or a client without a session secret
        };
        let record = &self.clients[index];
        let length = usize::from(record.lengths[slot]);
        // Kept, not sent, while no session is open (or the one open is being closed).
        let Some(conn) = record.conn.filter(|&conn| out.is_open(conn)) else {
            return;
        };
        if self.sessions[conn.slot()].is_some_and(|session| session.resend_next != 0) {
            // A resend is in progress: it sends this reply after the ones before it.
            return;
        }
        if out.send(conn, &record.replies[slot][..length]).is_err() {
            // A client that does not read is cut off; the reply is kept for its resend.
            eprintln!(
                "crossline: client {client} is not reading its replies (its send buffer is \
                 full at reply {}): disconnected; the replies are kept for a resend",
                record.last_reply
            );
            self.stats.disconnects += 1;
            out.close(conn);
            return;
        }
        if let Some(session) = self.sessions[conn.slot()].as_mut() {
            session.last_outbound_ns = now_ns;
        }
    }

    /// Refuses a frame; disconnects past the error limit.
    fn refuse(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        sequence: u32,
        kind: u8,
        reason: SessionRejectReason,
        expected: u32,
    ) {
        self.stats.frames_refused += 1;
        self.stats.rejected(reason);
        let reply = Outbound::SessionReject {
            ref_sequence: sequence,
            related_sequence: expected,
            ref_kind: kind,
            reason: reason as u8,
        };
        send(out, conn, &reply, 0, 0);
        let Some(session) = self.sessions[conn.slot()].as_mut() else {
            return;
        };
        session.errors += 1;
        if session.errors >= self.limits.errors_max {
            let reply = Outbound::SessionReject {
                ref_sequence: sequence,
                related_sequence: 0,
                ref_kind: kind,
                reason: SessionRejectReason::TooManyErrors as u8,
            };
            self.stats.rejected(SessionRejectReason::TooManyErrors);
            send(out, conn, &reply, 0, 0);
            self.disconnect(out, conn);
        }
    }

    fn disconnect(&mut self, out: &mut Outbox, conn: ConnId) {
        self.stats.disconnects += 1;
        out.close(conn);
    }

    /// Housekeeping: closes connections that did not log on in time or fell silent for
    /// three heartbeat intervals, and sends heartbeats on idle sessions.
    pub fn tick(&mut self, out: &mut Outbox, now_ns: u64) {
        for index in 0..self.sessions.len() {
            let Some(session) = self.sessions[index] else {
                continue;
            };
            if !out.is_open(session.conn) {
                continue; // closing already: its end is counted once
            }
            match session.state {
                State::Pending { since_ns } => {
                    if now_ns.saturating_sub(since_ns) > self.limits.logon_timeout_ns {
                        self.disconnect(out, session.conn);
                    }
                }
                State::Active { .. } => {
                    if now_ns.saturating_sub(session.last_inbound_ns) > 3 * session.heartbeat_ns {
                        self.disconnect(out, session.conn);
                    } else if now_ns.saturating_sub(session.last_outbound_ns)
                        >= session.heartbeat_ns
                    {
                        send(out, session.conn, &Outbound::Heartbeat {}, 0, 0);
                        if let Some(live) = self.sessions[index].as_mut() {
                            live.last_outbound_ns = now_ns;
                        }
                    }
                }
            }
        }
    }
}

/// Sends one unsequenced session message; a full buffer closes the connection.
fn send(out: &mut Outbox, conn: ConnId, message: &Outbound, sequence: u32, flags: u8) {
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let length = message.encode(sequence, flags, &mut frame);
    if out.send(conn, &frame[..length]).is_err() {
        out.close(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossline_types::{ClientOrderId, OrderId, SymbolId};

    fn sessions(replies_max: usize) -> Sessions {
        let limits = SessionLimits {
            logon_timeout_ns: 1_000_000_000,
            errors_max: 3,
            replies_max,
            pending_logons_max: 2,
        };
        let secrets = [
            (ClientId::new(7), Secret([1; 32])),
            (ClientId::new(3), Secret([2; 32])),
        ];
        Sessions::new(limits, &secrets, 4)
    }

    fn accepted(n: u64) -> Outbound {
        Outbound::Accepted {
            client_order_id: ClientOrderId::new(n),
            order_id: OrderId::new(1_000 + n),
            symbol: SymbolId::new(1),
        }
    }

    /// The kept frames of client `index`, from the sessions themselves.
    fn kept(sessions: &Sessions, index: usize) -> Vec<Vec<u8>> {
        let client = &sessions.clients[index];
        let count = (client.last_reply as usize).min(sessions.limits.replies_max);
        (client.last_reply as usize + 1 - count..=client.last_reply as usize)
            .map(|number| {
                let slot = (number - 1) % sessions.limits.replies_max;
                client.replies[slot][..usize::from(client.lengths[slot])].to_vec()
            })
            .collect()
    }

    #[test]
    fn exported_replies_follow_the_documented_layout_and_come_back_whole() {
        let mut original = sessions(4);
        for n in 1..=6 {
            original.keep(ClientId::new(7), &accepted(n));
        }
        original.keep(ClientId::new(3), &accepted(99));
        let mut bytes = Vec::new();
        original.export_replies(&mut bytes);

        // docs/JOURNAL.md's replies part: clients, then per client in id order its id,
        // last reply number, kept count and the kept frames, oldest first.
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(word(0), 2);
        assert_eq!((word(4), word(8), word(12)), (3, 1, 1));
        let frame = usize::from(u16::from_le_bytes([bytes[16], bytes[17]]));
        let at = 16 + frame;
        assert_eq!(
            (word(at), word(at + 4), word(at + 8)),
            (7, 6, 4),
            "4 of 6 kept"
        );
        let frames_start = at + 12;
        assert_eq!(bytes.len(), frames_start + 4 * frame);
        // Oldest kept first: reply 3, whose frame carries its number.
        assert_eq!(word(frames_start + 4), 3);

        let mut restored = sessions(4);
        restored.import_replies(&bytes).unwrap();
        for index in 0..2 {
            assert_eq!(
                restored.clients[index].last_reply,
                original.clients[index].last_reply
            );
            assert_eq!(kept(&restored, index), kept(&original, index));
        }
        // Numbering goes on after the restored replies.
        let (index, slot) = restored.keep(ClientId::new(7), &accepted(7)).unwrap();
        assert_eq!(restored.clients[index].last_reply, 7);
        assert_eq!(
            u32::from_le_bytes(
                restored.clients[index].replies[slot][4..8]
                    .try_into()
                    .unwrap()
            ),
            7
        );
    }

    #[test]
    fn a_log_line_a_second_at_most_and_the_next_says_how_many_were_left_out() {
        let mut limit = LogLimit::default();
        assert_eq!(limit.admit(5), Some(0));
        for at in 1..=3 {
            assert_eq!(limit.admit(5 + at * 100_000_000), None);
        }
        assert_eq!(limit.admit(5 + LOG_INTERVAL_NS), Some(3));
        assert_eq!(limit.admit(5 + LOG_INTERVAL_NS + 1), None);
        // A clock that steps back leaves lines out rather than writing more.
        assert_eq!(limit.admit(0), None);
    }

    #[test]
    fn replies_for_other_sessions_are_refused_with_the_reason() {
        let mut original = sessions(4);
        original.keep(ClientId::new(7), &accepted(1));
        let mut bytes = Vec::new();
        original.export_replies(&mut bytes);
        let why = sessions(4)
            .import_replies(&bytes[..bytes.len() - 1])
            .unwrap_err();
        assert!(why.contains("cut short"), "{why}");
        let mut smaller = sessions(4);
        smaller.limits.replies_max = 0;
        let why = smaller.import_replies(&bytes).unwrap_err();
        assert!(why.contains("replies_max is 0"), "{why}");
        let mut unknown = bytes.clone();
        unknown[4..8].copy_from_slice(&5u32.to_le_bytes());
        let why = sessions(4).import_replies(&unknown).unwrap_err();
        assert!(why.contains("client 5, which has no session"), "{why}");
    }
}
