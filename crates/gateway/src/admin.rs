//! Operator sessions on the admin port (`docs/PROTOCOL.md`, "Operator admin"): logon with
//! an operator id and secret (compared in constant time), roles, and the translation of
//! control frames into the command messages the sequencer journals before they take
//! effect. Each command carries the operator's id and the frame's sequence number (its
//! *request* number), and the answer comes back through [`Operators::acknowledge`] once
//! the journal holds the record.
//!
//! Every refusal is answered and logged with the operator, the frame and the reason: a
//! compliance desk must be able to tell who tried what.

use std::collections::HashMap;

use crossline_net::{ConnId, Outbox};
use crossline_protocol::admin::{
    AdminLogonRejectReason, AdminRefusal, Inbound, Outbound, STATUS_CLIENT, STATUS_ENGINE,
    STATUS_SYMBOL,
};
use crossline_protocol::frame::{each_frame, Header, Secret, FRAME_BYTES_MAX};
use crossline_types::layout::{head, AdminLayout, EndOfDayLayout, LocateLayout};
use crossline_types::{ClientId, Message, SequenceNumber, SymbolId, Timestamp};
use zerocopy::little_endian::{I64, U32, U64};

/// What an operator's frame asks of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRequest {
    /// A control command: the message to sequence and journal.
    Command(Message),
    /// A status query, answered from the sequencer's state without sequencing.
    Status(StatusQuery),
}

/// An operator's status query (`Inbound::Status`), checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusQuery {
    /// The operator asking.
    pub operator: u32,
    /// The frame's sequence number.
    pub request: u32,
    /// What is asked about.
    pub scope: StatusScope,
}

/// What a status query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusScope {
    /// One client.
    Client(ClientId),
    /// One symbol.
    Symbol(SymbolId),
    /// The engine.
    Engine,
}

/// Frames a session may send that wait for their acknowledgement, at most: past it a
/// control frame is refused ([`AdminRefusal::TooManyInFlight`]) until answers arrive.
pub const IN_FLIGHT_MAX: usize = 1024;

/// One configured operator.
#[derive(Debug, Clone)]
pub struct OperatorAccount {
    /// The operator's id (1 or more).
    pub id: u32,
    /// The logon secret (`None`: the operator cannot log on).
    pub secret: Option<Secret>,
    /// May send control commands (`false`: status only).
    pub control: bool,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Pending { since_ns: u64 },
    Active { operator: usize },
}

#[derive(Debug, Clone, Copy)]
struct Session {
    state: State,
    next_inbound: u32,
    in_flight: usize,
}

/// The admin port's sessions.
pub struct Operators {
    accounts: Vec<OperatorAccount>,
    /// Each account's open session.
    conns: Vec<Option<ConnId>>,
    sessions: HashMap<ConnId, Session>,
    logon_timeout_ns: u64,
    pending_logons_max: usize,
    decoy: Secret,
}

impl Operators {
    /// Sessions for `accounts`: a connection must log on within `logon_timeout_ns`, and
    /// at most `pending_logons_max` may wait to (past it the oldest is closed).
    #[must_use]
    pub fn new(
        accounts: Vec<OperatorAccount>,
        logon_timeout_ns: u64,
        pending_logons_max: usize,
    ) -> Operators {
        Operators {
            conns: vec![None; accounts.len()],
            accounts,
            sessions: HashMap::new(),
            logon_timeout_ns,
            pending_logons_max: pending_logons_max.max(1),
            decoy: Secret([0x5a; 32]),
        }
    }

    /// Whether `conn` is an admin connection.
    #[must_use]
    pub fn owns(&self, conn: ConnId) -> bool {
        self.sessions.contains_key(&conn)
    }

    /// A connection arrived on the admin port; the oldest waiting to log on is closed if
    /// too many wait.
    pub fn open(&mut self, out: &mut Outbox, conn: ConnId, now_ns: u64) {
        let pending = || {
            self.sessions
                .iter()
                .filter_map(|(conn, session)| match session.state {
                    State::Pending { since_ns } => Some((since_ns, *conn)),
                    State::Active { .. } => None,
                })
        };
        if pending().count() >= self.pending_logons_max {
            if let Some((_, oldest)) = pending().min() {
                eprintln!(
                    "crossline: admin: too many connections waiting to log on; closing the oldest"
                );
                out.close(oldest);
                self.sessions.remove(&oldest);
            }
        }
        self.sessions.insert(
            conn,
            Session {
                state: State::Pending { since_ns: now_ns },
                next_inbound: 1,
                in_flight: 0,
            },
        );
    }

    /// A connection ended.
    pub fn closed(&mut self, conn: ConnId) {
        if let Some(Session {
            state: State::Active { operator },
            ..
        }) = self.sessions.remove(&conn)
        {
            if self.conns[operator] == Some(conn) {
                self.conns[operator] = None;
                eprintln!(
                    "crossline: admin: operator {} logged off",
                    self.accounts[operator].id
                );
            }
        }
    }

    /// Closes connections that did not log on in time.
    pub fn tick(&mut self, out: &mut Outbox, now_ns: u64) {
        let late: Vec<ConnId> = self
            .sessions
            .iter()
            .filter_map(|(conn, session)| match session.state {
                State::Pending { since_ns }
                    if now_ns.saturating_sub(since_ns) > self.logon_timeout_ns =>
                {
                    Some(*conn)
                }
                _ => None,
            })
            .collect();
        for conn in late {
            eprintln!("crossline: admin: a connection did not log on in time; closed");
            reject_logon(out, conn, AdminLogonRejectReason::Timeout);
            self.sessions.remove(&conn);
        }
    }

    /// Bytes arrived on an admin connection: each whole frame is checked and handed to
    /// `submit`: a control command as the command message to sequence (stamped
    /// `now_ns`), a status query as the query. Returns the bytes consumed.
    pub fn on_data(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        data: &[u8],
        now_ns: u64,
        submit: &mut impl FnMut(AdminRequest),
    ) -> usize {
        if !out.is_open(conn) {
            return data.len();
        }
        let framed = each_frame(data, |header, body| {
            self.on_frame(out, conn, header, body, now_ns, submit);
            out.is_open(conn)
        });
        framed.unwrap_or_else(|(at, error)| {
            let sequence = data
                .get(at + 4..at + 8)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            eprintln!("crossline: admin: {error}; closing the connection");
            refuse(out, conn, sequence, AdminRefusal::Framing as u16, 0);
            out.close(conn);
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
        submit: &mut impl FnMut(AdminRequest),
    ) {
        let Some(session) = self.sessions.get(&conn).copied() else {
            return;
        };
        let operator = match session.state {
            State::Pending { .. } => {
                self.logon(out, conn, header, body);
                return;
            }
            State::Active { operator } => operator,
        };
        let id = self.accounts[operator].id;
        let refuse_frame =
            |out: &mut Outbox, reason: AdminRefusal, detail: &dyn std::fmt::Display| {
                eprintln!(
                "crossline: admin: operator {id}: frame {} (type {}) refused: {reason:?}{detail}",
                header.sequence, header.kind
            );
                refuse(out, conn, header.sequence, reason as u16, 0);
            };
        let message = match Inbound::decode(header, body) {
            Ok(message) => message,
            Err(error) => {
                refuse_frame(out, AdminRefusal::of(&error), &format_args!(" ({error})"));
                return;
            }
        };
        if header.sequence != session.next_inbound {
            let expected = session.next_inbound;
            refuse_frame(
                out,
                AdminRefusal::SequenceGap,
                &format_args!(" (expected {expected})"),
            );
            return;
        }
        let request = header.sequence;
        if let Inbound::Status { scope, id: target } = message {
            let scope = match (scope, target) {
                (STATUS_CLIENT, id) => StatusScope::Client(ClientId::new(id)),
                (STATUS_SYMBOL, id) => StatusScope::Symbol(SymbolId::new(id)),
                (STATUS_ENGINE, 0) => StatusScope::Engine,
                (scope, id) => {
                    refuse_frame(
                        out,
                        AdminRefusal::BadField,
                        &format_args!(" (status scope {scope}, id {id})"),
                    );
                    return;
                }
            };
            if let Some(live) = self.sessions.get_mut(&conn) {
                live.next_inbound += 1;
            }
            submit(AdminRequest::Status(StatusQuery {
                operator: id,
                request,
                scope,
            }));
            return;
        }
        let time = Timestamp::new(now_ns);
        let command = match message {
            Inbound::OperatorLogon { .. } => {
                refuse_frame(out, AdminRefusal::AlreadyLoggedOn, &"");
                return;
            }
            Inbound::Logout {} => {
                eprintln!("crossline: admin: operator {id} logged out");
                out.close(conn);
                return;
            }
            Inbound::Status { .. } => unreachable!("answered above"),
            Inbound::Control {
                target,
                setting,
                on,
                value,
                upper,
                expires_at,
            } => {
                let mut view = head::<AdminLayout>(SequenceNumber::new(0), time);
                view.setting = setting;
                view.operator = U32::new(id);
                view.request = U32::new(request);
                view.target = U32::new(target);
                view.a = I64::new(value);
                view.b = I64::new(upper);
                if on {
                    // A band is set by `on`; every other setting reads it as its value.
                    view.flags |= if setting == BAND_SETTING {
                        AdminLayout::FLAG_BAND
                    } else {
                        AdminLayout::FLAG_ON
                    };
                }
                if expires_at != 0 {
                    view.flags |= AdminLayout::FLAG_EXPIRES;
                    view.expires_at = U64::new(expires_at);
                }
                if let Err((field, value)) = view.check() {
                    refuse_frame(
                        out,
                        AdminRefusal::BadField,
                        &format_args!(" (field {field} = {value})"),
                    );
                    return;
                }
                Message::from_view(&view)
            }
            Inbound::Locate {
                client,
                symbol,
                shares,
                locate_id,
                expires_s,
            } => {
                if shares == 0 {
                    refuse_frame(out, AdminRefusal::BadField, &" (field shares = 0)");
                    return;
                }
                let mut view = head::<LocateLayout>(SequenceNumber::new(0), time);
                view.client = U32::new(client.get());
                view.symbol = U32::new(symbol.get());
                view.shares = U64::new(shares);
                view.operator = U32::new(id);
                view.request = U32::new(request);
                view.expires_s = U32::new(expires_s);
                view.locate_id = U64::new(locate_id);
                Message::from_view(&view)
            }
            Inbound::EndOfDay {} => {
                let mut view = head::<EndOfDayLayout>(SequenceNumber::new(0), time);
                view.operator = U32::new(id);
                view.request = U32::new(request);
                Message::from_view(&view)
            }
        };
        // Decided before the number is taken: a refused frame leaves it unused.
        if !self.accounts[operator].control {
            refuse_frame(out, AdminRefusal::ViewOnly, &" (a view operator)");
            return;
        }
        if session.in_flight >= IN_FLIGHT_MAX {
            refuse_frame(out, AdminRefusal::TooManyInFlight, &"");
            return;
        }
        if let Some(live) = self.sessions.get_mut(&conn) {
            live.next_inbound += 1;
            live.in_flight += 1;
        }
        submit(AdminRequest::Command(command));
    }

    fn logon(&mut self, out: &mut Outbox, conn: ConnId, header: &Header, body: &[u8]) {
        let refused =
            |out: &mut Outbox, reason: AdminLogonRejectReason, who: &dyn std::fmt::Display| {
                eprintln!("crossline: admin: logon refused ({reason:?}){who}");
                reject_logon(out, conn, reason);
            };
        if header.kind == CLIENT_LOGON_KIND {
            refused(
                out,
                AdminLogonRejectReason::ClientLogon,
                &": a client logon on the admin port",
            );
            self.sessions.remove(&conn);
            return;
        }
        let Ok(Inbound::OperatorLogon { operator, secret }) = Inbound::decode(header, body) else {
            refused(
                out,
                AdminLogonRejectReason::NotALogon,
                &format_args!(": frame type {}", header.kind),
            );
            self.sessions.remove(&conn);
            return;
        };
        let index = self
            .accounts
            .iter()
            .position(|account| account.id == operator);
        let expected = index
            .and_then(|i| self.accounts[i].secret.as_ref())
            .unwrap_or(&self.decoy);
        // Compared before anything else is looked at, known operator or not.
        let secret_ok =
            expected.matches(&secret) && index.is_some_and(|i| self.accounts[i].secret.is_some());
        let reason = match index {
            None => Some(AdminLogonRejectReason::UnknownOperator),
            Some(_) if !secret_ok => Some(AdminLogonRejectReason::BadSecret),
            Some(_) if header.sequence != 1 => Some(AdminLogonRejectReason::BadSequence),
            Some(i) if self.conns[i].is_some() => Some(AdminLogonRejectReason::AlreadyConnected),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            refused(out, reason, &format_args!(": operator {operator}"));
            self.sessions.remove(&conn);
            return;
        }
        let index = index.unwrap_or_default();
        self.conns[index] = Some(conn);
        if let Some(session) = self.sessions.get_mut(&conn) {
            session.state = State::Active { operator: index };
            session.next_inbound = 2;
        }
        let account = &self.accounts[index];
        eprintln!(
            "crossline: admin: operator {} logged on ({})",
            account.id,
            if account.control { "control" } else { "view" }
        );
        send(
            out,
            conn,
            &Outbound::OperatorLogonAccepted {
                operator,
                role: if account.control { 2 } else { 1 },
            },
        );
    }

    /// Sends `message` (a status answer) to `operator`, if still connected.
    pub fn answer(&mut self, out: &mut Outbox, operator: u32, message: &Outbound) {
        if let Some(conn) = self.conn_of(operator) {
            send(out, conn, message);
        }
    }

    /// Refuses `operator`'s request `request` with `reason`, not sequenced (a status
    /// query the engine cannot take, an unknown client or symbol), and logs it.
    pub fn refuse_request(&mut self, out: &mut Outbox, operator: u32, request: u32, reason: u16) {
        eprintln!(
            "crossline: admin: operator {operator}: request {request} refused: reason {reason}"
        );
        if let Some(conn) = self.conn_of(operator) {
            refuse(out, conn, request, reason, 0);
        }
    }

    fn conn_of(&self, operator: u32) -> Option<ConnId> {
        let index = self
            .accounts
            .iter()
            .position(|account| account.id == operator)?;
        self.conns[index]
    }

    /// Answers an operator's control command once its record `sequence` is durable:
    /// `result` 0 is [`Outbound::ControlAccepted`], a control error's code
    /// [`Outbound::ControlRefused`]. An operator no longer connected is not answered (the
    /// audit trail has the outcome).
    pub fn acknowledge(
        &mut self,
        out: &mut Outbox,
        operator: u32,
        request: u32,
        result: u16,
        sequence: u64,
    ) {
        let Some(index) = self
            .accounts
            .iter()
            .position(|account| account.id == operator)
        else {
            return;
        };
        if result != 0 {
            eprintln!(
                "crossline: admin: operator {operator}: request {request} (record {sequence}) \
                 refused by the risk gate, code {result}"
            );
        }
        let Some(conn) = self.conns[index] else {
            return;
        };
        if let Some(session) = self.sessions.get_mut(&conn) {
            session.in_flight = session.in_flight.saturating_sub(1);
        }
        let reply = if result == 0 {
            Outbound::ControlAccepted { request, sequence }
        } else {
            Outbound::ControlRefused {
                request,
                reason: result,
                sequence,
            }
        };
        send(out, conn, &reply);
    }
}

/// The client protocol's `Logon` type code, refused by name on the admin port.
const CLIENT_LOGON_KIND: u8 = 1;
/// The admin setting code of a limit-up/limit-down band.
const BAND_SETTING: u8 = 8;

fn reject_logon(out: &mut Outbox, conn: ConnId, reason: AdminLogonRejectReason) {
    send(
        out,
        conn,
        &Outbound::OperatorLogonRejected {
            reason: reason as u8,
        },
    );
    out.close(conn);
}

fn refuse(out: &mut Outbox, conn: ConnId, request: u32, reason: u16, sequence: u64) {
    send(
        out,
        conn,
        &Outbound::ControlRefused {
            request,
            reason,
            sequence,
        },
    );
}

/// Sends one message; a full buffer closes the connection.
fn send(out: &mut Outbox, conn: ConnId, message: &Outbound) {
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let length = message.encode(0, 0, &mut frame);
    if out.send(conn, &frame[..length]).is_err() {
        out.close(conn);
    }
}
