//! What the gateway's integration tests share: a client speaking the order-entry
//! protocol over a blocking socket.
#![allow(dead_code)] // each test binary uses its own part

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crossline_protocol::client::{Inbound, Outbound, SessionRejectReason};
use crossline_protocol::frame::{split, Secret, FRAME_BYTES_MAX};
use crossline_types::ClientId;

/// A test client speaking the order-entry protocol over a blocking socket.
pub(crate) struct Client {
    pub(crate) stream: TcpStream,
    pub(crate) buffer: Vec<u8>,
    pub(crate) sequence: u32,
    /// The flags of the last frame received.
    pub(crate) last_flags: u8,
}

impl Client {
    pub(crate) fn connect(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Client {
            stream,
            buffer: Vec::new(),
            sequence: 0,
            last_flags: 0,
        }
    }

    pub(crate) fn logon(address: SocketAddr, client: u32) -> Client {
        Client::logon_with(address, client, 30_000)
    }

    /// Logs on asking for heartbeats every `heartbeat_ms`.
    pub(crate) fn logon_with(address: SocketAddr, client: u32, heartbeat_ms: u32) -> Client {
        let mut session = Client::connect(address);
        let mut message = logon(client, &format!("demo-secret-{client}"));
        if let Inbound::Logon {
            heartbeat_ms: ms, ..
        } = &mut message
        {
            *ms = heartbeat_ms;
        }
        session.send(&message);
        match session.receive() {
            Outbound::LogonAccepted { .. } => session,
            other => panic!("logon refused: {other:?}"),
        }
    }

    /// Sends with the next sequence number.
    pub(crate) fn send(&mut self, message: &Inbound) {
        self.sequence += 1;
        self.send_as(message, self.sequence, 0);
    }

    pub(crate) fn send_as(&mut self, message: &Inbound, sequence: u32, flags: u8) {
        let mut frame = [0u8; FRAME_BYTES_MAX];
        let length = message.encode(sequence, flags, &mut frame);
        self.send_raw(&frame[..length]);
    }

    pub(crate) fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    pub(crate) fn try_receive(&mut self, wait: Duration) -> Option<Outbound> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some((header, body)) = split(&self.buffer).expect("engine framing") {
                let length = usize::from(header.length);
                let message = Outbound::decode(&header, body).expect("engine frame decodes");
                self.last_flags = header.flags;
                self.buffer.drain(..length);
                return Some(message);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(length) => self.buffer.extend_from_slice(&chunk[..length]),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    if Instant::now() > deadline {
                        return None;
                    }
                }
                Err(_) => return None,
            }
        }
    }

    pub(crate) fn receive(&mut self) -> Outbound {
        self.try_receive(Duration::from_secs(5))
            .expect("a reply within 5 s")
    }

    /// The next reply must be a session reject for `reason`.
    pub(crate) fn expect_reject(&mut self, reason: SessionRejectReason, what: &str) -> Outbound {
        let reply = self.receive();
        match reply {
            Outbound::SessionReject { reason: got, .. } if got == reason as u8 => reply,
            other => panic!("{what}: expected a {reason:?} reject, got {other:?}"),
        }
    }

    /// The server must close the connection (after any last replies).
    pub(crate) fn expect_closed(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.try_receive(Duration::from_millis(100)).is_none() {
                let mut byte = [0u8; 1];
                match self.stream.read(&mut byte) {
                    Ok(0) => return,
                    Err(error) if error.kind() == ErrorKind::ConnectionReset => return,
                    _ => {}
                }
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the connection stayed open"
            );
        }
    }
}

pub(crate) fn logon(client: u32, secret: &str) -> Inbound {
    Inbound::Logon {
        client: ClientId::new(client),
        heartbeat_ms: 30_000,
        secret: Secret::from_text(secret).unwrap(),
    }
}
