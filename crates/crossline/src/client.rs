//! A client of the order-entry protocol over a non-blocking socket: what the demo's
//! simulated clients, the end-to-end benchmark and the integration tests speak.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crossline_protocol::client::{Inbound, Outbound};
use crossline_protocol::frame::{split, Header, Secret, FRAME_BYTES_MAX};
use crossline_types::ClientId;

/// Why a client session failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket failed.
    #[error("client socket: {0}")]
    Io(#[from] std::io::Error),
    /// The engine refused the logon or answered with something else.
    #[error("logon refused: {0}")]
    Logon(String),
    /// The engine's byte stream did not split into frames, or a frame did not decode.
    #[error("engine sent an unreadable frame: {0}")]
    Protocol(String),
    /// The engine closed the connection.
    #[error("the engine closed the connection")]
    Closed,
}

/// One client session.
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
    start: usize,
    sequence: u32,
    outgoing: Vec<u8>,
}

impl Client {
    /// Connects to `address` and logs on as `client` with `secret`; returns the session
    /// and the last reply number the engine holds for this client today.
    ///
    /// # Errors
    /// [`ClientError`] when the connection or the logon fails within `timeout`.
    pub fn logon(
        address: SocketAddr,
        client: u32,
        secret: &str,
        timeout: Duration,
    ) -> Result<(Client, u32), ClientError> {
        let stream = TcpStream::connect_timeout(&address, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut session = Client {
            stream,
            buffer: Vec::with_capacity(1 << 16),
            start: 0,
            sequence: 0,
            outgoing: Vec::with_capacity(1 << 12),
        };
        let secret = Secret::from_text(secret)
            .ok_or_else(|| ClientError::Logon("the secret is longer than 32 bytes".to_owned()))?;
        session.send(&Inbound::Logon {
            client: ClientId::new(client),
            heartbeat_ms: 30_000,
            secret,
        })?;
        let deadline = Instant::now() + timeout;
        loop {
            match session.receive()? {
                Some((
                    _,
                    Outbound::LogonAccepted {
                        last_reply_sequence,
                        ..
                    },
                )) => return Ok((session, last_reply_sequence)),
                Some((_, other)) => return Err(ClientError::Logon(format!("{other:?}"))),
                None if Instant::now() > deadline => {
                    return Err(ClientError::Logon("no answer".to_owned()))
                }
                None => std::thread::sleep(Duration::from_micros(100)),
            }
        }
    }

    /// Sends `message` with the next sequence number.
    ///
    /// # Errors
    /// [`ClientError::Io`] when the socket fails.
    pub fn send(&mut self, message: &Inbound) -> Result<(), ClientError> {
        self.sequence += 1;
        let mut frame = [0u8; FRAME_BYTES_MAX];
        let length = message.encode(self.sequence, 0, &mut frame);
        self.outgoing.extend_from_slice(&frame[..length]);
        self.flush()
    }

    /// Writes what the socket takes of the bytes waiting to go.
    fn flush(&mut self) -> Result<(), ClientError> {
        while !self.outgoing.is_empty() {
            match self.stream.write(&self.outgoing) {
                Ok(0) => return Err(ClientError::Closed),
                Ok(written) => {
                    self.outgoing.drain(..written);
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// The next reply with its header, if one has arrived (never blocks).
    ///
    /// # Errors
    /// [`ClientError`] when the socket fails, closes, or carries an unreadable frame.
    pub fn receive(&mut self) -> Result<Option<(Header, Outbound)>, ClientError> {
        self.flush()?;
        read_frame(&mut self.stream, &mut self.buffer, &mut self.start)
    }

    /// Hands the reading of replies to another thread: the returned [`Replies`] reads
    /// this session's replies with blocking reads (so each is seen, and can be
    /// timestamped, the moment it arrives), while this half only sends. The socket turns
    /// blocking: a send waits for room rather than queueing.
    ///
    /// # Errors
    /// The socket could not be duplicated or reconfigured.
    pub fn split_replies(&mut self, wait: Duration) -> Result<Replies, ClientError> {
        self.flush()?;
        self.stream.set_nonblocking(false)?;
        let stream = self.stream.try_clone()?;
        stream.set_read_timeout(Some(wait))?;
        Ok(Replies {
            stream,
            buffer: std::mem::take(&mut self.buffer),
            start: std::mem::take(&mut self.start),
        })
    }

    /// Waits up to `timeout` for the next reply.
    ///
    /// # Errors
    /// As [`Client::receive`].
    pub fn receive_within(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<(Header, Outbound)>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(reply) = self.receive()? {
                return Ok(Some(reply));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

/// The reading half of a session split by [`Client::split_replies`].
pub struct Replies {
    stream: TcpStream,
    buffer: Vec<u8>,
    start: usize,
}

impl Replies {
    /// The next reply, waiting for it up to the read timeout given at the split
    /// (`None`: nothing arrived in that time).
    ///
    /// # Errors
    /// As [`Client::receive`].
    pub fn wait(&mut self) -> Result<Option<(Header, Outbound)>, ClientError> {
        read_frame(&mut self.stream, &mut self.buffer, &mut self.start)
    }
}

/// The next whole frame in `buffer` from `start`, reading `stream` for more when there
/// is none; `None` when the socket has nothing now (non-blocking) or within its read
/// timeout (blocking).
fn read_frame(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    start: &mut usize,
) -> Result<Option<(Header, Outbound)>, ClientError> {
    loop {
        match split(&buffer[*start..]) {
            Ok(Some((header, body))) => {
                let message = Outbound::decode(&header, body)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                *start += usize::from(header.length);
                return Ok(Some((header, message)));
            }
            Ok(None) => {}
            Err(error) => return Err(ClientError::Protocol(error.to_string())),
        }
        if *start > 0 {
            buffer.drain(..*start);
            *start = 0;
        }
        let mut chunk = [0u8; 16 << 10];
        match stream.read(&mut chunk) {
            Ok(0) => return Err(ClientError::Closed),
            Ok(length) => buffer.extend_from_slice(&chunk[..length]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(None)
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error.into()),
        }
    }
}
