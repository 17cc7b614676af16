//! A small FIX initiator over a blocking socket, written from `docs/FIX.md` with the
//! codec: what `crossline demo --fix` runs as its FIX client and its middle office's
//! drop copy.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossline_fix::{frame_length, tags, Encoder, Message};
use hdrhistogram::Histogram;

/// Why a FIX session could not go on.
#[derive(Debug, thiserror::Error)]
pub enum FixClientError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The engine answered with something else than the protocol says.
    #[error("{0}")]
    Protocol(String),
}

/// One message received: its fields as (tag, value).
#[derive(Debug, Clone)]
pub struct Received(pub Vec<(u32, Vec<u8>)>);

impl Received {
    /// The first value of `tag`.
    #[must_use]
    pub fn get(&self, tag: u32) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_slice())
    }
}

/// A logged-on FIX session.
pub struct FixClient {
    stream: TcpStream,
    comp_id: String,
    target: String,
    begin_string: &'static [u8],
    next_out: u64,
    pending: Vec<u8>,
}

fn now_ns() -> u64 {
    crossline_gateway::wall_clock_ns()
}

impl FixClient {
    /// Connects to `address` and logs on as `comp_id` (to `target`) with `password`.
    ///
    /// # Errors
    /// [`FixClientError`] when the connection or the logon fails.
    pub fn logon(
        address: SocketAddr,
        begin_string: &'static [u8],
        comp_id: &str,
        target: &str,
        password: &str,
    ) -> Result<FixClient, FixClientError> {
        let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        let mut client = FixClient {
            stream,
            comp_id: comp_id.to_owned(),
            target: target.to_owned(),
            begin_string,
            next_out: 1,
            pending: Vec::new(),
        };
        client.send(
            b"A",
            &[
                (tags::ENCRYPT_METHOD, b"0"),
                (tags::HEART_BT_INT, b"30"),
                (tags::PASSWORD, password.as_bytes()),
                (tags::RESET_SEQ_NUM_FLAG, b"Y"),
            ],
        )?;
        let answer = client
            .receive(Duration::from_secs(5))?
            .ok_or_else(|| FixClientError::Protocol("no Logon answer within 5 s".into()))?;
        if answer.get(tags::MSG_TYPE) != Some(b"A") {
            let text = answer.get(tags::TEXT).unwrap_or_default();
            return Err(FixClientError::Protocol(format!(
                "logon refused: {}",
                String::from_utf8_lossy(text)
            )));
        }
        Ok(client)
    }

    /// Sends a message of `msg_type` with `fields` after the standard header.
    ///
    /// # Errors
    /// The socket failed.
    pub fn send(&mut self, msg_type: &[u8], fields: &[(u32, &[u8])]) -> Result<(), FixClientError> {
        let mut buffer = [0u8; 1024];
        let mut encoder = Encoder::new(&mut buffer, self.begin_string, msg_type);
        encoder
            .str(tags::SENDER_COMP_ID, self.comp_id.as_bytes())
            .str(tags::TARGET_COMP_ID, self.target.as_bytes())
            .uint(tags::MSG_SEQ_NUM, self.next_out)
            .timestamp(tags::SENDING_TIME, now_ns());
        for (tag, value) in fields {
            encoder.str(*tag, value);
        }
        let bytes = encoder
            .finish()
            .map_err(|e| FixClientError::Protocol(e.to_string()))?;
        self.next_out += 1;
        // A non-blocking socket (`try_receive`) may take the bytes in parts.
        let mut written = 0;
        while written < bytes.len() {
            match self.stream.write(&bytes[written..]) {
                Ok(0) => {
                    return Err(FixClientError::Protocol(
                        "the engine closed the session".into(),
                    ))
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The next message if one has arrived, without waiting (the socket is switched to
    /// non-blocking on the first call; `receive` must not be used after).
    ///
    /// # Errors
    /// The socket failed or closed, or the engine sent bytes that do not parse.
    pub fn try_receive(&mut self) -> Result<Option<Received>, FixClientError> {
        if let Some(message) = self.take_pending()? {
            return Ok(Some(message));
        }
        self.stream.set_nonblocking(true)?;
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                return Err(FixClientError::Protocol(
                    "the engine closed the session".into(),
                ))
            }
            Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        self.take_pending()
    }

    /// The first whole message of what has been read, if any.
    fn take_pending(&mut self) -> Result<Option<Received>, FixClientError> {
        match frame_length(&self.pending) {
            Ok(Some(length)) => {
                let bytes: Vec<u8> = self.pending.drain(..length).collect();
                let message = Message::parse(&bytes)
                    .map_err(|e| FixClientError::Protocol(format!("from the engine: {e}")))?;
                Ok(Some(Received(
                    message.fields().map(|(t, v)| (t, v.to_vec())).collect(),
                )))
            }
            Ok(None) => Ok(None),
            Err(error) => Err(FixClientError::Protocol(error.to_string())),
        }
    }

    /// The next message within `within` (`None`: none came); heartbeats included, and
    /// TestRequests answered.
    ///
    /// # Errors
    /// The socket failed or closed, or the engine sent bytes that do not parse.
    pub fn receive(&mut self, within: Duration) -> Result<Option<Received>, FixClientError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(received) = self.take_pending()? {
                if received.get(tags::MSG_TYPE) == Some(b"1") {
                    let id = received.get(tags::TEST_REQ_ID).unwrap_or_default().to_vec();
                    self.send(b"0", &[(tags::TEST_REQ_ID, &id)])?;
                }
                return Ok(Some(received));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_micros(100))))?;
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(FixClientError::Protocol(
                        "the engine closed the session".into(),
                    ))
                }
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends a Logout.
    ///
    /// # Errors
    /// The socket failed.
    pub fn logout(&mut self) -> Result<(), FixClientError> {
        self.send(b"5", &[])
    }
}

/// What the demo's FIX client saw.
#[derive(Debug, Clone)]
pub struct FixTally {
    /// NewOrderSingles sent.
    pub orders: u64,
    /// Execution reports by ExecType: new, trade, cancelled, rejected.
    pub new: u64,
    /// Trades.
    pub fills: u64,
    /// Cancels.
    pub cancels: u64,
    /// Rejects.
    pub rejects: u64,
    /// From sending a NewOrderSingle to its first ExecutionReport, ns.
    pub latency: Histogram<u64>,
}

/// One symbol as the demo's FIX client trades it: ticker, reference price, tick
/// (micro-dollars).
pub type Tradable = (String, i64, i64);

/// Trades as a FIX client until `trading` goes false: `per_second` NewOrderSingles,
/// buys and sells near each symbol's reference price, half of them IOC.
///
/// # Errors
/// [`FixClientError`] when the session fails.
pub fn trade(
    client: &mut FixClient,
    symbols: &[Tradable],
    per_second: f64,
    trading: &AtomicBool,
) -> Result<FixTally, FixClientError> {
    let mut tally = FixTally {
        orders: 0,
        new: 0,
        fills: 0,
        cancels: 0,
        rejects: 0,
        latency: Histogram::new(3).map_err(|e| FixClientError::Protocol(e.to_string()))?,
    };
    let interval = Duration::from_secs_f64(1.0 / per_second.max(0.1));
    let mut awaiting: std::collections::HashMap<Vec<u8>, Instant> =
        std::collections::HashMap::new();
    let mut next = Instant::now();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while trading.load(Ordering::Acquire) {
        if Instant::now() >= next {
            next += interval;
            let pick = usize::try_from(random() % symbols.len() as u64).unwrap_or(0);
            let (ticker, reference, tick) = &symbols[pick];
            let buy = random() % 2 == 0;
            // From two ticks through the reference to two ticks away from it.
            let offset = (random() % 5) as i64 - 2;
            let price = reference + if buy { offset } else { -offset } * tick.max(&10_000);
            let id = format!("D{}", tally.orders + 1);
            let price_text = format!("{}.{:02}", price / 1_000_000, (price % 1_000_000) / 10_000);
            let quantity = format!("{}", 100 * (1 + random() % 5));
            let tif: &[u8] = if random() % 2 == 0 { b"3" } else { b"0" };
            client.send(
                b"D",
                &[
                    (tags::CL_ORD_ID, id.as_bytes()),
                    (tags::SYMBOL, ticker.as_bytes()),
                    (tags::SIDE, if buy { b"1" } else { b"2" }),
                    (tags::ORDER_QTY, quantity.as_bytes()),
                    (tags::ORD_TYPE, b"2"),
                    (tags::PRICE, price_text.as_bytes()),
                    (tags::TIME_IN_FORCE, tif),
                ],
            )?;
            awaiting.insert(id.into_bytes(), Instant::now());
            tally.orders += 1;
        }
        let wait = next.saturating_duration_since(Instant::now());
        if let Some(message) = client.receive(wait.min(Duration::from_millis(20)))? {
            count(&message, &mut tally, &mut awaiting);
        }
    }
    // The last answers.
    while let Some(message) = client.receive(Duration::from_millis(200))? {
        count(&message, &mut tally, &mut awaiting);
    }
    client.logout()?;
    Ok(tally)
}

fn count(
    message: &Received,
    tally: &mut FixTally,
    awaiting: &mut std::collections::HashMap<Vec<u8>, Instant>,
) {
    if message.get(tags::MSG_TYPE) != Some(b"8") {
        return;
    }
    if let Some(sent) = message
        .get(tags::CL_ORD_ID)
        .and_then(|id| awaiting.remove(id))
    {
        let _ = tally
            .latency
            .record(u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    match message.get(tags::EXEC_TYPE) {
        Some(b"0") => tally.new += 1,
        Some(b"F" | b"1" | b"2") => tally.fills += 1,
        Some(b"4") => tally.cancels += 1,
        Some(b"8") => tally.rejects += 1,
        _ => {}
    }
}

/// Reads a drop-copy session until `trading` goes false and then for `linger`; returns
/// the execution reports (8) and cancel rejects (9) received.
///
/// # Errors
/// [`FixClientError`] when the session fails.
pub fn watch(
    client: &mut FixClient,
    trading: &AtomicBool,
    linger: Duration,
) -> Result<u64, FixClientError> {
    let mut reports = 0;
    let mut until: Option<Instant> = None;
    loop {
        if !trading.load(Ordering::Acquire) && until.is_none() {
            until = Some(Instant::now() + linger);
        }
        if until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        if let Some(message) = client.receive(Duration::from_millis(50))? {
            if matches!(message.get(tags::MSG_TYPE), Some(b"8" | b"9")) {
                reports += 1;
            }
        }
    }
    client.logout()?;
    Ok(reports)
}
