//! The FIX gateway: FIX 4.2 and 4.4 acceptor sessions for clients' order entry and for
//! the middle office's drop copy, on the order ingress's transport. `docs/FIX.md` is the
//! rules of engagement.
//!
//! **Session layer.** A connection must log on (Logon, 35=A) within the logon timeout,
//! as a configured SenderCompID, to the engine's CompID, in the session's version, with
//! its Password (554) and a HeartBtInt of 1 to 300 seconds. Every later message is
//! checked: BodyLength and CheckSum (a garbled message gets a Reject naming the sums and
//! does not use up its MsgSeqNum), the CompIDs, SendingTime within the tolerance, and
//! MsgSeqNum: a gap is answered with a ResendRequest and the messages past it are
//! dropped until the gap is filled; a number lower than expected without PossDupFlag
//! ends the session. Heartbeats go out when the engine has sent nothing for HeartBtInt;
//! a silent counterparty gets a TestRequest, then a Logout.
//!
//! **Numbers and resends.** Each session's next incoming and outgoing MsgSeqNum and
//! every application message it sent are in its [`Store`], so an engine restart goes
//! on with the same numbers. Execution reports for a client that is not logged on are
//! numbered and kept all the same: the client's Logon reply shows the gap, and its
//! ResendRequest gets them with PossDupFlag=Y and OrigSendingTime; session messages in
//! the range are gap-filled (SequenceReset 123=Y).
//!
//! **Orders.** NewOrderSingle (D), OrderCancelRequest (F), OrderCancelReplaceRequest (G)
//! become the engine's commands for the session's client (never a client named in the
//! message); OrderStatusRequest (H) is answered from the [`OrderTable`]. Every reply the
//! engine makes for the client becomes an ExecutionReport (8) or OrderCancelReject (9),
//! and a copy goes to every drop-copy session.

mod app;
mod orders;
mod settings;
mod store;

use crossline_fix::{frame_length, tags, time, Encoder, Message, ParseError, HEADER_ROOM};
use crossline_net::{ConnId, Outbox};
use crossline_protocol::client::Outbound;
use crossline_types::{ClientId, SymbolId};

pub use orders::{pack_cl_ord_id, unpack_cl_ord_id, OrderTable, CL_ORD_ID_CHARS};
pub use settings::{FixRole, FixSession, FixSettings, FixVersion};
pub use store::{Store, StoreError, STORE_VERSION};

use crate::session::Request;

/// The longest HeartBtInt (108) a session may ask for, seconds.
pub const HEARTBEAT_S_MAX: u64 = 300;
/// Bytes of the buffer one outgoing message is encoded in.
const MESSAGE_BUFFER_BYTES: usize = 2048;
/// The least time between two log lines about one session.
const LOG_INTERVAL_NS: u64 = 1_000_000_000;

/// Counters of what FIX sessions did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FixStats {
    /// Successful logons.
    pub logons: u64,
    /// Logons refused (a Logout sent and the connection closed).
    pub logons_refused: u64,
    /// Messages refused with a Reject (3).
    pub rejects: u64,
    /// Messages refused with a BusinessMessageReject (j).
    pub business_rejects: u64,
    /// Messages sent again on a ResendRequest.
    pub resent: u64,
    /// Execution reports and cancel rejects sent (or kept for a client not logged on).
    pub reports: u64,
    /// Sessions ended by the engine (a Logout for a protocol error, silence, slowness).
    pub disconnects: u64,
}

/// One configured session.
struct Account {
    comp_id: Vec<u8>,
    role: FixRole,
    begin_string: &'static [u8],
    secret: Option<Vec<u8>>,
    store: Store,
    conn: Option<ConnId>,
    heartbeat_ns: u64,
    /// A TestRequest is out since then (ns).
    test_sent_ns: Option<u64>,
    /// A ResendRequest is out for numbers up to this one (0: none).
    gap_until: u32,
    last_log_ns: u64,
}

#[derive(Debug, Clone, Copy)]
enum Link {
    Pending { since_ns: u64 },
    Active { account: usize },
}

#[derive(Debug, Clone, Copy)]
struct Connection {
    conn: ConnId,
    link: Link,
    last_in_ns: u64,
    last_out_ns: u64,
}

/// The engine's side of every FIX session, and the order table their reports come from.
pub struct FixSessions {
    comp_id: Vec<u8>,
    market: Vec<u8>,
    logon_timeout_ns: u64,
    pending_logons_max: usize,
    tolerance_ns: u64,
    accounts: Vec<Account>,
    connections: Vec<Option<Connection>>,
    orders: OrderTable,
    /// Tickers by symbol id.
    symbols: Vec<(SymbolId, Vec<u8>)>,
    stats: FixStats,
    buffer: Box<[u8; MESSAGE_BUFFER_BYTES]>,
}

/// What a message asks of the session, once checked.
enum Next {
    /// Go on.
    Continue,
    /// Send a Logout with this text and close.
    Logout(&'static str),
}

impl FixSessions {
    /// The sessions `settings` configures, their stores in `store_dir` (created if
    /// missing), for `connections_max` connection slots; `symbols` are the tickers.
    ///
    /// # Errors
    /// [`StoreError`] when a store cannot be opened.
    pub fn open(
        settings: &FixSettings,
        store_dir: &std::path::Path,
        symbols: &[(SymbolId, String)],
        connections_max: usize,
    ) -> Result<FixSessions, StoreError> {
        if !settings.sessions.is_empty() {
            std::fs::create_dir_all(store_dir).map_err(|error| StoreError::Io {
                path: store_dir.to_owned(),
                error,
            })?;
        }
        let mut accounts = Vec::with_capacity(settings.sessions.len());
        for session in &settings.sessions {
            let store = Store::open(&store_dir.join(format!("{}.fixstore", session.comp_id)))?;
            accounts.push(Account {
                comp_id: session.comp_id.as_bytes().to_vec(),
                role: session.role,
                begin_string: session.version.begin_string().as_bytes(),
                secret: session.secret.as_ref().map(|s| s.as_bytes().to_vec()),
                store,
                conn: None,
                heartbeat_ns: 30_000_000_000,
                test_sent_ns: None,
                gap_until: 0,
                last_log_ns: 0,
            });
        }
        Ok(FixSessions {
            comp_id: settings.comp_id.as_bytes().to_vec(),
            market: settings.market.as_bytes().to_vec(),
            logon_timeout_ns: settings.logon_timeout_ms * 1_000_000,
            pending_logons_max: settings.pending_logons_max,
            tolerance_ns: settings.sending_time_tolerance_ms * 1_000_000,
            accounts,
            connections: vec![None; connections_max],
            orders: OrderTable::default(),
            symbols: symbols
                .iter()
                .map(|(id, name)| (*id, name.as_bytes().to_vec()))
                .collect(),
            stats: FixStats::default(),
            buffer: Box::new([0u8; MESSAGE_BUFFER_BYTES]),
        })
    }

    /// No sessions: the FIX port is not open.
    #[must_use]
    pub fn none() -> FixSessions {
        FixSessions {
            comp_id: Vec::new(),
            market: Vec::new(),
            logon_timeout_ns: 0,
            pending_logons_max: 0,
            tolerance_ns: 0,
            accounts: Vec::new(),
            connections: Vec::new(),
            orders: OrderTable::default(),
            symbols: Vec::new(),
            stats: FixStats::default(),
            buffer: Box::new([0u8; MESSAGE_BUFFER_BYTES]),
        }
    }

    /// Starts from `orders` (the day's orders rebuilt from the journal at a restart).
    #[must_use]
    pub fn with_orders(mut self, orders: OrderTable) -> FixSessions {
        self.orders = orders;
        self
    }

    /// Whether any session is configured (with none, nothing here does any work).
    #[must_use]
    pub fn configured(&self) -> bool {
        !self.accounts.is_empty()
    }

    /// What the sessions did.
    #[must_use]
    pub fn stats(&self) -> FixStats {
        self.stats
    }

    /// Whether `conn` is one of the FIX port's connections.
    #[must_use]
    pub fn owns(&self, conn: ConnId) -> bool {
        self.connections
            .get(conn.slot())
            .and_then(|c| c.as_ref())
            .is_some_and(|c| c.conn == conn)
    }

    /// A new connection on the FIX port: it must log on within the timeout. Past
    /// `pending_logons_max` connections waiting, the oldest is closed.
    pub fn open_connection(&mut self, out: &mut Outbox, conn: ConnId, now_ns: u64) {
        let waiting: Vec<(u64, ConnId)> = self
            .connections
            .iter()
            .flatten()
            .filter_map(|c| match c.link {
                Link::Pending { since_ns } if out.is_open(c.conn) => Some((since_ns, c.conn)),
                _ => None,
            })
            .collect();
        if waiting.len() >= self.pending_logons_max {
            if let Some(&(_, oldest)) = waiting.iter().min() {
                out.close(oldest);
            }
        }
        if let Some(slot) = self.connections.get_mut(conn.slot()) {
            *slot = Some(Connection {
                conn,
                link: Link::Pending { since_ns: now_ns },
                last_in_ns: now_ns,
                last_out_ns: now_ns,
            });
        } else {
            out.close(conn);
        }
    }

    /// The connection closed.
    pub fn closed(&mut self, conn: ConnId) {
        let Some(slot) = self.connections.get_mut(conn.slot()) else {
            return;
        };
        if let Some(connection) = slot.take_if(|c| c.conn == conn) {
            if let Link::Active { account } = connection.link {
                let account = &mut self.accounts[account];
                account.conn = None;
                account.test_sent_ns = None;
                account.gap_until = 0;
            }
        }
    }

    /// Notes a request a session (FIX or binary) handed to the engine, for the reports
    /// its replies become.
    pub fn note_request(&mut self, request: &Request) {
        if self.configured() {
            self.orders.note_request(request);
        }
    }

    /// Whether `client`'s orders come in on FIX (its replies go out here).
    #[must_use]
    pub fn serves(&self, client: ClientId) -> bool {
        self.accounts
            .iter()
            .any(|account| account.role == FixRole::Orders(client))
    }

    /// A reply the engine made for `client` (the input at journal `sequence` caused
    /// it): an execution report to the client's FIX session, if it has one, and to
    /// every drop-copy session.
    pub fn reply(
        &mut self,
        out: &mut Outbox,
        client: ClientId,
        reply: &Outbound,
        sequence: u64,
        now_ns: u64,
    ) {
        if !self.configured() {
            return;
        }
        let Some(report) = self.orders.apply(client, reply, sequence) else {
            return;
        };
        let fix_client = self.serves(client);
        for index in 0..self.accounts.len() {
            let to = match self.accounts[index].role {
                FixRole::Orders(owner) => owner == client,
                FixRole::DropCopy => true,
            };
            if !to {
                continue;
            }
            let msg_type = app::report_type(&report);
            self.send_report(
                out,
                index,
                (client, fix_client),
                msg_type,
                now_ns,
                |encoder, context| {
                    app::write_report(encoder, context, &report);
                },
            );
        }
    }

    /// Handles whole messages from `data`, handing each order request to `submit`.
    /// Returns the bytes consumed.
    pub fn on_data(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        data: &[u8],
        now_ns: u64,
        submit: &mut impl FnMut(Request),
    ) -> usize {
        let mut consumed = 0;
        while out.is_open(conn) && self.owns(conn) {
            let rest = &data[consumed..];
            match frame_length(rest) {
                Ok(Some(length)) => {
                    let bytes = &rest[..length];
                    consumed += length;
                    self.on_message(out, conn, bytes, now_ns, submit);
                }
                Ok(None) => break,
                Err(error) => {
                    self.end(
                        out,
                        conn,
                        now_ns,
                        "the byte stream cannot be split into messages",
                    );
                    self.log(conn, now_ns, &format!("framing: {error}"));
                    return data.len();
                }
            }
        }
        if !out.is_open(conn) {
            return data.len();
        }
        consumed
    }

    fn connection(&mut self, conn: ConnId) -> Option<&mut Connection> {
        self.connections
            .get_mut(conn.slot())?
            .as_mut()
            .filter(|c| c.conn == conn)
    }

    fn log(&mut self, conn: ConnId, now_ns: u64, what: &str) {
        let account = match self.connection(conn).map(|c| c.link) {
            Some(Link::Active { account }) => Some(account),
            _ => None,
        };
        let name = account.map_or_else(
            || "(not logged on)".to_owned(),
            |a| String::from_utf8_lossy(&self.accounts[a].comp_id).into_owned(),
        );
        if let Some(a) = account {
            let account = &mut self.accounts[a];
            if now_ns.saturating_sub(account.last_log_ns) < LOG_INTERVAL_NS {
                return;
            }
            account.last_log_ns = now_ns;
        }
        eprintln!("crossline: FIX session {name}: {what}");
    }

    fn on_message(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        bytes: &[u8],
        now_ns: u64,
        submit: &mut impl FnMut(Request),
    ) {
        let Some(connection) = self.connection(conn) else {
            return;
        };
        connection.last_in_ns = now_ns;
        let link = connection.link;
        let message = match Message::parse(bytes) {
            Ok(message) => message,
            Err(error) => {
                match link {
                    Link::Pending { .. } => {
                        self.refuse_logon(out, conn, now_ns, "garbled Logon");
                        self.log(conn, now_ns, &format!("garbled Logon: {error}"));
                    }
                    Link::Active { account } => {
                        self.garbled(out, account, bytes, error, now_ns);
                    }
                }
                return;
            }
        };
        let next = match link {
            Link::Pending { .. } => self.logon(out, conn, &message, now_ns),
            Link::Active { account } => {
                if let Some(account) = self.accounts.get_mut(account) {
                    account.test_sent_ns = None;
                }
                self.active(out, account, &message, now_ns, submit)
            }
        };
        if let Next::Logout(text) = next {
            self.log(conn, now_ns, text);
            match link {
                Link::Pending { .. } => self.refuse_logon(out, conn, now_ns, text),
                Link::Active { .. } => self.end(out, conn, now_ns, text),
            }
        }
    }

    /// A message whose BodyLength, CheckSum or syntax is wrong: a Reject saying why;
    /// its MsgSeqNum is not used up (the counterparty sends it again).
    fn garbled(
        &mut self,
        out: &mut Outbox,
        account: usize,
        bytes: &[u8],
        error: ParseError,
        now_ns: u64,
    ) {
        let reference = peek(bytes, tags::MSG_SEQ_NUM)
            .and_then(crossline_fix::parse_uint)
            .unwrap_or(0);
        let (reason, tag) = error.session_reject_reason();
        let text = error.to_string();
        self.send_reject(out, account, reference, None, reason, tag, &text, now_ns);
    }

    /// Sends a Reject (3).
    #[allow(clippy::too_many_arguments)]
    fn send_reject(
        &mut self,
        out: &mut Outbox,
        account: usize,
        ref_seq: u64,
        ref_msg_type: Option<&[u8]>,
        reason: u32,
        tag: Option<u32>,
        text: &str,
        now_ns: u64,
    ) {
        self.stats.rejects += 1;
        let version_44 = self.accounts[account].begin_string == b"FIX.4.4";
        self.send_session(out, account, b"3", now_ns, |encoder| {
            encoder.uint(tags::REF_SEQ_NUM, ref_seq);
            if let Some(tag) = tag {
                encoder.uint(tags::REF_TAG_ID, u64::from(tag));
            }
            if let Some(kind) = ref_msg_type {
                encoder.str(tags::REF_MSG_TYPE, kind);
            }
            // SessionRejectReason 99 (Other) is FIX 4.4's; 4.2 stops at 17.
            if version_44 || reason <= 17 {
                encoder.uint(tags::SESSION_REJECT_REASON, u64::from(reason));
            }
            encoder.str(tags::TEXT, text.as_bytes());
        });
    }

    /// A Logout with `text` to a connection that is not logged on, and the close.
    fn refuse_logon(&mut self, out: &mut Outbox, conn: ConnId, now_ns: u64, text: &str) {
        self.stats.logons_refused += 1;
        // Not numbered in any session's store: the counterparty is not known (or not
        // trusted) yet.
        let mut encoder = Encoder::new(&mut self.buffer[..], b"FIX.4.4", b"5");
        encoder
            .str(tags::SENDER_COMP_ID, &self.comp_id)
            .str(tags::TARGET_COMP_ID, b"UNKNOWN")
            .uint(tags::MSG_SEQ_NUM, 1)
            .timestamp(tags::SENDING_TIME, now_ns)
            .str(tags::TEXT, text.as_bytes());
        if let Ok(bytes) = encoder.finish() {
            let _ = out.send(conn, bytes);
        }
        out.close(conn);
    }

    /// A Logout with `text` on a logged-on session, and the close.
    fn end(&mut self, out: &mut Outbox, conn: ConnId, now_ns: u64, text: &str) {
        self.stats.disconnects += 1;
        if let Some(Link::Active { account }) = self.connection(conn).map(|c| c.link) {
            self.send_session(out, account, b"5", now_ns, |encoder| {
                encoder.str(tags::TEXT, text.as_bytes());
            });
        }
        out.close(conn);
    }

    fn logon(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        message: &Message<'_>,
        now_ns: u64,
    ) -> Next {
        if message.msg_type() != b"A" {
            return Next::Logout("the first message must be a Logon (35=A)");
        }
        let Some(sender) = message.get(tags::SENDER_COMP_ID) else {
            return Next::Logout("Logon without SenderCompID (49)");
        };
        let Some(index) = self.accounts.iter().position(|a| a.comp_id == sender) else {
            return Next::Logout("unknown SenderCompID (49)");
        };
        if message.get(tags::TARGET_COMP_ID) != Some(&self.comp_id[..]) {
            return Next::Logout("TargetCompID (56) is not this engine's CompID");
        }
        let account = &self.accounts[index];
        if message.begin_string() != account.begin_string {
            return Next::Logout("BeginString (8) is not the version configured for this session");
        }
        let Some(secret) = &account.secret else {
            return Next::Logout("this session has no secret configured and cannot log on");
        };
        let password = message.get(tags::PASSWORD).unwrap_or_default();
        if !constant_time_eq(password, secret) {
            return Next::Logout("Password (554) does not match");
        }
        if account.conn.is_some() {
            return Next::Logout("this session is already logged on");
        }
        if message.get(tags::ENCRYPT_METHOD).is_some_and(|m| m != b"0") {
            return Next::Logout("EncryptMethod (98) must be 0");
        }
        let heartbeat = match message.uint(tags::HEART_BT_INT) {
            Ok(Some(seconds)) if (1..=HEARTBEAT_S_MAX).contains(&seconds) => seconds,
            _ => return Next::Logout("HeartBtInt (108) must be 1 to 300 seconds"),
        };
        let Ok(Some(seq)) = message.uint(tags::MSG_SEQ_NUM) else {
            return Next::Logout("Logon without a valid MsgSeqNum (34)");
        };
        if !self.sending_time_ok(message, now_ns) {
            return Next::Logout("SendingTime (52) is missing or too far from the engine's clock");
        }
        let reset = message.flag(tags::RESET_SEQ_NUM_FLAG);
        let account = &mut self.accounts[index];
        if reset {
            if seq != 1 {
                return Next::Logout("a Logon with ResetSeqNumFlag must have MsgSeqNum 1");
            }
            if account.store.reset().is_err() {
                return Next::Logout("the session's store cannot be written");
            }
        }
        let expected = u64::from(account.store.next_in());
        if seq < expected {
            return Next::Logout("MsgSeqNum (34) is lower than expected");
        }
        account.conn = Some(conn);
        account.heartbeat_ns = heartbeat * 1_000_000_000;
        account.test_sent_ns = None;
        account.gap_until = 0;
        if let Some(connection) = self.connection(conn) {
            connection.link = Link::Active { account: index };
        }
        self.stats.logons += 1;
        self.send_session(out, index, b"A", now_ns, |encoder| {
            encoder
                .uint(tags::ENCRYPT_METHOD, 0)
                .uint(tags::HEART_BT_INT, heartbeat);
            if reset {
                encoder.flag(tags::RESET_SEQ_NUM_FLAG, true);
            }
        });
        if seq > expected {
            self.request_resend(out, index, expected, seq, now_ns);
        } else {
            self.advance_in(index, seq + 1);
        }
        Next::Continue
    }

    fn sending_time_ok(&self, message: &Message<'_>, now_ns: u64) -> bool {
        message
            .get(tags::SENDING_TIME)
            .and_then(time::parse)
            .is_some_and(|sent| sent.abs_diff(now_ns) <= self.tolerance_ns)
    }

    fn advance_in(&mut self, account: usize, next: u64) {
        let next = u32::try_from(next).unwrap_or(u32::MAX);
        let account = &mut self.accounts[account];
        if account.store.set_next_in(next).is_err() {
            eprintln!(
                "crossline: FIX store {}: the incoming sequence number could not be written",
                account.store.path().display()
            );
        }
        if account.gap_until != 0 && next > account.gap_until {
            account.gap_until = 0;
        }
    }

    fn request_resend(
        &mut self,
        out: &mut Outbox,
        account: usize,
        from: u64,
        received: u64,
        now_ns: u64,
    ) {
        let pending = self.accounts[account].gap_until;
        if pending != 0 && u64::from(pending) >= received.saturating_sub(1) {
            return; // already asked
        }
        self.accounts[account].gap_until =
            u32::try_from(received.saturating_sub(1)).unwrap_or(u32::MAX);
        self.send_session(out, account, b"2", now_ns, |encoder| {
            encoder
                .uint(tags::BEGIN_SEQ_NO, from)
                .uint(tags::END_SEQ_NO, 0);
        });
    }

    fn active(
        &mut self,
        out: &mut Outbox,
        index: usize,
        message: &Message<'_>,
        now_ns: u64,
        submit: &mut impl FnMut(Request),
    ) -> Next {
        let account = &self.accounts[index];
        if message.begin_string() != account.begin_string {
            return Next::Logout("BeginString (8) changed within the session");
        }
        let Ok(Some(seq)) = message.uint(tags::MSG_SEQ_NUM) else {
            return Next::Logout("a message without a valid MsgSeqNum (34)");
        };
        let msg_type = message.msg_type();
        if message.get(tags::SENDER_COMP_ID) != Some(&account.comp_id[..])
            || message.get(tags::TARGET_COMP_ID) != Some(&self.comp_id[..])
        {
            self.send_reject(
                out,
                index,
                seq,
                Some(msg_type),
                9,
                None,
                "CompID problem",
                now_ns,
            );
            return Next::Logout("SenderCompID (49) or TargetCompID (56) is not this session's");
        }
        if !self.sending_time_ok(message, now_ns) {
            self.send_reject(
                out,
                index,
                seq,
                Some(msg_type),
                10,
                Some(tags::SENDING_TIME),
                "SendingTime (52) is missing or too far from the engine's clock",
                now_ns,
            );
            return Next::Logout("SendingTime accuracy problem");
        }
        let expected = u64::from(self.accounts[index].store.next_in());
        let gap_fill = msg_type == b"4" && message.flag(tags::GAP_FILL_FLAG);
        // SequenceReset-Reset ignores MsgSeqNum.
        if msg_type == b"4" && !gap_fill {
            return self.sequence_reset(out, index, message, seq, expected, now_ns);
        }
        if seq > expected {
            if msg_type == b"2" {
                self.resend(out, index, message, seq, now_ns);
            }
            if msg_type == b"5" {
                return Next::Logout("Logout received");
            }
            self.request_resend(out, index, expected, seq, now_ns);
            return Next::Continue;
        }
        if seq < expected {
            if message.flag(tags::POSS_DUP_FLAG) {
                return Next::Continue; // seen already
            }
            return Next::Logout("MsgSeqNum (34) is lower than expected");
        }
        if gap_fill {
            return self.sequence_reset(out, index, message, seq, expected, now_ns);
        }
        self.advance_in(index, seq + 1);
        match msg_type {
            b"0" => {}
            b"1" => {
                let id = message.get(tags::TEST_REQ_ID).unwrap_or(b"");
                self.send_session(out, index, b"0", now_ns, |encoder| {
                    encoder.str(tags::TEST_REQ_ID, id);
                });
            }
            b"2" => self.resend(out, index, message, seq, now_ns),
            b"3" => {
                let text = message.get(tags::TEXT).unwrap_or(b"");
                let what = format!("Reject received: {}", String::from_utf8_lossy(text));
                if let Some(conn) = self.accounts[index].conn {
                    self.log(conn, now_ns, &what);
                }
            }
            b"5" => {
                if let Some(conn) = self.accounts[index].conn {
                    self.send_session(out, index, b"5", now_ns, |_| {});
                    out.close(conn);
                }
            }
            b"A" => {
                self.send_reject(
                    out,
                    index,
                    seq,
                    Some(msg_type),
                    99,
                    None,
                    "already logged on",
                    now_ns,
                );
            }
            b"D" | b"F" | b"G" | b"H" => {
                let FixRole::Orders(client) = self.accounts[index].role else {
                    self.business_reject(
                        out,
                        index,
                        message,
                        seq,
                        4,
                        "a drop-copy session takes no orders",
                        now_ns,
                    );
                    return Next::Continue;
                };
                self.order_message(out, index, client, message, seq, now_ns, submit);
            }
            kind if kind.len() <= 2 && kind.iter().all(u8::is_ascii_alphanumeric) => {
                self.business_reject(
                    out,
                    index,
                    message,
                    seq,
                    3,
                    "unsupported message type",
                    now_ns,
                );
            }
            _ => {
                self.send_reject(
                    out,
                    index,
                    seq,
                    Some(msg_type),
                    11,
                    Some(tags::MSG_TYPE),
                    "invalid MsgType",
                    now_ns,
                );
            }
        }
        Next::Continue
    }

    fn sequence_reset(
        &mut self,
        out: &mut Outbox,
        index: usize,
        message: &Message<'_>,
        seq: u64,
        expected: u64,
        now_ns: u64,
    ) -> Next {
        match message.uint(tags::NEW_SEQ_NO) {
            Ok(Some(new)) if new >= expected => {
                self.advance_in(index, new);
                Next::Continue
            }
            Ok(Some(_)) => {
                if message.flag(tags::GAP_FILL_FLAG) {
                    // A gap fill that would move the number back: refused, and counted.
                    self.advance_in(index, expected + u64::from(seq == expected));
                }
                self.send_reject(
                    out,
                    index,
                    seq,
                    Some(b"4"),
                    5,
                    Some(tags::NEW_SEQ_NO),
                    "NewSeqNo (36) is lower than the next expected MsgSeqNum",
                    now_ns,
                );
                Next::Continue
            }
            _ => {
                if seq == expected {
                    self.advance_in(index, expected + 1);
                }
                self.send_reject(
                    out,
                    index,
                    seq,
                    Some(b"4"),
                    1,
                    Some(tags::NEW_SEQ_NO),
                    "NewSeqNo (36) is missing or not a number",
                    now_ns,
                );
                Next::Continue
            }
        }
    }

    /// Answers a ResendRequest: kept application messages again with PossDupFlag and
    /// OrigSendingTime, everything else in the range gap-filled.
    fn resend(
        &mut self,
        out: &mut Outbox,
        index: usize,
        message: &Message<'_>,
        seq: u64,
        now_ns: u64,
    ) {
        let (Ok(Some(begin)), Ok(Some(end))) = (
            message.uint(tags::BEGIN_SEQ_NO),
            message.uint(tags::END_SEQ_NO),
        ) else {
            self.send_reject(
                out,
                index,
                seq,
                Some(b"2"),
                1,
                Some(tags::BEGIN_SEQ_NO),
                "BeginSeqNo (7) and EndSeqNo (16) are required numbers",
                now_ns,
            );
            return;
        };
        let last = u64::from(self.accounts[index].store.next_out()) - 1;
        let end = if end == 0 || end > last { last } else { end };
        if begin == 0 || begin > end {
            if begin > last {
                return; // nothing was sent in that range
            }
            self.send_reject(
                out,
                index,
                seq,
                Some(b"2"),
                5,
                Some(tags::BEGIN_SEQ_NO),
                "BeginSeqNo (7) is after EndSeqNo (16)",
                now_ns,
            );
            return;
        }
        let (from, to) = (
            u32::try_from(begin).unwrap_or(u32::MAX),
            u32::try_from(end).unwrap_or(u32::MAX),
        );
        let kept = match self.accounts[index].store.kept(from, to) {
            Ok(kept) => kept,
            Err(error) => {
                eprintln!("crossline: FIX store read failed: {error}");
                Vec::new()
            }
        };
        let Some(conn) = self.accounts[index].conn else {
            return;
        };
        let mut next = from;
        for (number, sending_ns, bytes) in &kept {
            if *number > next {
                self.gap_fill(out, index, conn, next, *number, now_ns);
            }
            self.resend_one(out, index, conn, *number, *sending_ns, bytes, now_ns);
            next = number + 1;
        }
        if next <= to {
            self.gap_fill(out, index, conn, next, to + 1, now_ns);
        }
    }

    fn gap_fill(
        &mut self,
        out: &mut Outbox,
        index: usize,
        conn: ConnId,
        from: u32,
        to: u32,
        now_ns: u64,
    ) {
        let account = &self.accounts[index];
        let mut encoder = Encoder::new(&mut self.buffer[..], account.begin_string, b"4");
        encoder
            .str(tags::SENDER_COMP_ID, &self.comp_id)
            .str(tags::TARGET_COMP_ID, &account.comp_id)
            .uint(tags::MSG_SEQ_NUM, u64::from(from))
            .flag(tags::POSS_DUP_FLAG, true)
            .timestamp(tags::SENDING_TIME, now_ns)
            .timestamp(tags::ORIG_SENDING_TIME, now_ns)
            .flag(tags::GAP_FILL_FLAG, true)
            .uint(tags::NEW_SEQ_NO, u64::from(to));
        if let Ok(bytes) = encoder.finish() {
            transmit(
                out,
                &mut self.connections,
                &mut self.stats,
                conn,
                bytes,
                now_ns,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn resend_one(
        &mut self,
        out: &mut Outbox,
        index: usize,
        conn: ConnId,
        number: u32,
        sending_ns: u64,
        bytes: &[u8],
        now_ns: u64,
    ) {
        let Ok(original) = Message::parse(bytes) else {
            self.gap_fill(out, index, conn, number, number + 1, now_ns);
            return;
        };
        let account = &self.accounts[index];
        let mut encoder = Encoder::new(
            &mut self.buffer[..],
            account.begin_string,
            original.msg_type(),
        );
        encoder
            .str(tags::SENDER_COMP_ID, &self.comp_id)
            .str(tags::TARGET_COMP_ID, &account.comp_id)
            .uint(tags::MSG_SEQ_NUM, u64::from(number))
            .flag(tags::POSS_DUP_FLAG, true)
            .timestamp(tags::SENDING_TIME, now_ns)
            .timestamp(tags::ORIG_SENDING_TIME, sending_ns);
        for (tag, value) in original.fields().skip(1) {
            if !matches!(
                tag,
                tags::SENDER_COMP_ID
                    | tags::TARGET_COMP_ID
                    | tags::MSG_SEQ_NUM
                    | tags::SENDING_TIME
                    | tags::POSS_DUP_FLAG
                    | tags::ORIG_SENDING_TIME
            ) {
                encoder.str(tag, value);
            }
        }
        if let Ok(bytes) = encoder.finish() {
            self.stats.resent += 1;
            transmit(
                out,
                &mut self.connections,
                &mut self.stats,
                conn,
                bytes,
                now_ns,
            );
        }
    }

    /// Sends a session message (numbered, not kept: a resend gap-fills it).
    fn send_session(
        &mut self,
        out: &mut Outbox,
        index: usize,
        msg_type: &[u8],
        now_ns: u64,
        body: impl FnOnce(&mut Encoder<'_>),
    ) {
        let account = &mut self.accounts[index];
        let Some(conn) = account.conn else {
            return;
        };
        let Ok(number) = account.store.take_out() else {
            eprintln!(
                "crossline: FIX store {}: write failed",
                account.store.path().display()
            );
            return;
        };
        let mut encoder = Encoder::new(&mut self.buffer[..], account.begin_string, msg_type);
        encoder
            .str(tags::SENDER_COMP_ID, &self.comp_id)
            .str(tags::TARGET_COMP_ID, &account.comp_id)
            .uint(tags::MSG_SEQ_NUM, u64::from(number))
            .timestamp(tags::SENDING_TIME, now_ns);
        body(&mut encoder);
        if let Ok(bytes) = encoder.finish() {
            transmit(
                out,
                &mut self.connections,
                &mut self.stats,
                conn,
                bytes,
                now_ns,
            );
        }
    }

    /// Sends a report (an ExecutionReport or OrderCancelReject) for `client` (whose
    /// orders come in on FIX when the flag is set) on session `index`, its body written
    /// by `body` with the report's context, and counts it.
    fn send_report(
        &mut self,
        out: &mut Outbox,
        index: usize,
        (client, fix_client): (ClientId, bool),
        msg_type: &[u8],
        now_ns: u64,
        body: impl FnOnce(&mut Encoder<'_>, &app::ReportContext<'_>),
    ) {
        let context = app::ReportContext {
            client,
            fix_client,
            market: &self.market,
            symbols: &self.symbols,
            begin_string: self.accounts[index].begin_string,
            now_ns,
        };
        let mut parts = Parts {
            comp_id: &self.comp_id,
            buffer: &mut self.buffer[..],
            connections: &mut self.connections,
            stats: &mut self.stats,
        };
        parts.send_app(
            out,
            &mut self.accounts[index],
            msg_type,
            now_ns,
            |encoder| {
                body(encoder, &context);
            },
        );
        self.stats.reports += 1;
    }

    /// Sends an application message (numbered and kept, and only kept when the
    /// counterparty is not logged on).
    fn send_app(
        &mut self,
        out: &mut Outbox,
        index: usize,
        msg_type: &[u8],
        now_ns: u64,
        body: impl FnOnce(&mut Encoder<'_>),
    ) {
        let mut parts = Parts {
            comp_id: &self.comp_id,
            buffer: &mut self.buffer[..],
            connections: &mut self.connections,
            stats: &mut self.stats,
        };
        parts.send_app(out, &mut self.accounts[index], msg_type, now_ns, body);
    }

    #[allow(clippy::too_many_arguments)]
    fn business_reject(
        &mut self,
        out: &mut Outbox,
        index: usize,
        message: &Message<'_>,
        seq: u64,
        reason: u32,
        text: &str,
        now_ns: u64,
    ) {
        self.stats.business_rejects += 1;
        let msg_type = message.msg_type();
        let reference = message.get(tags::CL_ORD_ID);
        self.send_app(out, index, b"j", now_ns, |encoder| {
            encoder
                .uint(tags::REF_SEQ_NUM, seq)
                .str(tags::REF_MSG_TYPE, msg_type);
            if let Some(id) = reference {
                encoder.str(tags::BUSINESS_REJECT_REF_ID, id);
            }
            encoder
                .uint(tags::BUSINESS_REJECT_REASON, u64::from(reason))
                .str(tags::TEXT, text.as_bytes());
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn order_message(
        &mut self,
        out: &mut Outbox,
        index: usize,
        client: ClientId,
        message: &Message<'_>,
        seq: u64,
        now_ns: u64,
        submit: &mut impl FnMut(Request),
    ) {
        let version_44 = self.accounts[index].begin_string == b"FIX.4.4";
        match app::decode(message, client, &self.symbols, version_44) {
            Ok(app::Decoded::Request(request)) => {
                self.orders.note_request(&request);
                submit(request);
            }
            Ok(app::Decoded::Status { client_order_id }) => {
                let order = client_order_id.and_then(|id| self.orders.find(client, id));
                self.send_report(
                    out,
                    index,
                    (client, true),
                    b"8",
                    now_ns,
                    |encoder, context| {
                        app::write_status(encoder, context, order, message);
                    },
                );
            }
            Ok(app::Decoded::Refused(refusal)) => {
                let msg_type: &[u8] = if refusal.cancel { b"9" } else { b"8" };
                self.send_report(
                    out,
                    index,
                    (client, true),
                    msg_type,
                    now_ns,
                    |encoder, context| {
                        app::write_refusal(encoder, context, message, &refusal);
                    },
                );
            }
            Err(app::FieldProblem { reason, tag, text }) => {
                self.send_reject(
                    out,
                    index,
                    seq,
                    Some(message.msg_type()),
                    reason,
                    Some(tag),
                    text,
                    now_ns,
                );
            }
        }
    }

    /// Housekeeping, every few milliseconds: logon timeouts, heartbeats, TestRequests
    /// and silent sessions.
    pub fn tick(&mut self, out: &mut Outbox, now_ns: u64) {
        for slot in 0..self.connections.len() {
            let Some(connection) = self.connections[slot] else {
                continue;
            };
            if !out.is_open(connection.conn) {
                continue;
            }
            match connection.link {
                Link::Pending { since_ns } => {
                    if now_ns.saturating_sub(since_ns) > self.logon_timeout_ns {
                        self.refuse_logon(
                            out,
                            connection.conn,
                            now_ns,
                            "no Logon within the logon timeout",
                        );
                    }
                }
                Link::Active { account } => {
                    let heartbeat = self.accounts[account].heartbeat_ns;
                    let silent = now_ns.saturating_sub(connection.last_in_ns);
                    match self.accounts[account].test_sent_ns {
                        Some(sent) if now_ns.saturating_sub(sent) > heartbeat => {
                            self.end(out, connection.conn, now_ns, "no answer to a TestRequest");
                            continue;
                        }
                        None if silent > heartbeat + heartbeat / 5 => {
                            self.accounts[account].test_sent_ns = Some(now_ns);
                            let id = time::format_micros(now_ns);
                            self.send_session(out, account, b"1", now_ns, |encoder| {
                                encoder.str(tags::TEST_REQ_ID, &id);
                            });
                        }
                        _ => {}
                    }
                    if now_ns.saturating_sub(connection.last_out_ns) >= heartbeat {
                        self.send_session(out, account, b"0", now_ns, |_| {});
                    }
                }
            }
        }
    }
}

/// What sending an application message borrows, apart from what its body is written
/// from.
struct Parts<'s> {
    comp_id: &'s [u8],
    buffer: &'s mut [u8],
    connections: &'s mut [Option<Connection>],
    stats: &'s mut FixStats,
}

impl Parts<'_> {
    fn send_app(
        &mut self,
        out: &mut Outbox,
        account: &mut Account,
        msg_type: &[u8],
        now_ns: u64,
        body: impl FnOnce(&mut Encoder<'_>),
    ) {
        let number = account.store.next_out();
        let mut encoder = Encoder::new(self.buffer, account.begin_string, msg_type);
        encoder
            .str(tags::SENDER_COMP_ID, self.comp_id)
            .str(tags::TARGET_COMP_ID, &account.comp_id)
            .uint(tags::MSG_SEQ_NUM, u64::from(number))
            .timestamp(tags::SENDING_TIME, now_ns);
        body(&mut encoder);
        let Ok(bytes) = encoder.finish() else {
            eprintln!("crossline: FIX: a message did not fit its buffer and was not sent");
            return;
        };
        if let Err(error) = account.store.keep(number, now_ns, bytes) {
            eprintln!(
                "crossline: FIX store {}: {error}",
                account.store.path().display()
            );
        }
        if let Some(conn) = account.conn {
            // Kept either way: a counterparty disconnected for not reading gets it by a
            // resend when it reconnects.
            transmit(out, self.connections, self.stats, conn, bytes, now_ns);
        }
    }
}

/// Sends bytes on `conn`; a counterparty that does not read them is disconnected.
fn transmit(
    out: &mut Outbox,
    connections: &mut [Option<Connection>],
    stats: &mut FixStats,
    conn: ConnId,
    bytes: &[u8],
    now_ns: u64,
) {
    if out.send(conn, bytes).is_err() {
        stats.disconnects += 1;
        out.close(conn);
        return;
    }
    if let Some(connection) = connections
        .get_mut(conn.slot())
        .and_then(|c| c.as_mut())
        .filter(|c| c.conn == conn)
    {
        connection.last_out_ns = now_ns;
    }
}

/// The value of the first `tag` in bytes that do not parse (for a Reject's RefSeqNum).
fn peek(bytes: &[u8], tag: u32) -> Option<&[u8]> {
    let mut digits = [0u8; 12];
    let prefix_length = {
        let text = tag.to_string();
        digits[0] = crossline_fix::SOH;
        digits[1..=text.len()].copy_from_slice(text.as_bytes());
        digits[text.len() + 1] = b'=';
        text.len() + 2
    };
    let prefix = &digits[..prefix_length];
    let start = bytes.windows(prefix.len()).position(|w| w == prefix)? + prefix.len();
    let end = bytes[start..]
        .iter()
        .position(|&b| b == crossline_fix::SOH)?
        + start;
    Some(&bytes[start..end])
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (index, &byte) in b.iter().enumerate() {
        difference |= usize::from(byte ^ a.get(index).copied().unwrap_or(0));
    }
    difference == 0
}

const _: () = assert!(HEADER_ROOM < MESSAGE_BUFFER_BYTES);
