//! TCP round trips over loopback, open-loop at a fixed rate, against an echo server:
//! the measurement behind `scripts/bench.sh net`, and the loopback baseline that
//! `scripts/bench.sh e2e` sets beside the engine's wire-to-wire latency.
//!
//! One client, pinned to one core, holds one TCP connection to an echo server pinned to
//! the other. It sends a [`FRAME_BYTES`]-byte frame when each falls due
//! (`start + i / rate`), whatever has come back, and reads echoes (non-blocking) while it
//! waits; each echo's round trip is `arrival - due`, so a stall is charged to every frame
//! it delays (no coordinated omission). The client is the same code for every server.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use crossline_net::{Backend, ConnId, Handler, NetConfig, Outbox, Transport};
use hdrhistogram::Histogram;

use crate::clock::Clock;
use crate::run_pinned_pair;
use crate::stats::latency_histogram;

/// Bytes per frame: the size of an order-entry message.
pub const FRAME_BYTES: usize = 64;

/// The echo server a run is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchoServer {
    /// A crossline-net transport on the io_uring backend, busy polling.
    IoUring,
    /// A crossline-net transport on the epoll backend, busy polling.
    Epoll,
    /// `std::net::TcpStream`, blocking `read` then `write_all`: what the kernel's
    /// loopback costs with the plainest code.
    Baseline,
}

impl EchoServer {
    /// Every server, in the order the net benchmark interleaves them.
    pub const ALL: [EchoServer; 3] = [EchoServer::IoUring, EchoServer::Epoll, EchoServer::Baseline];

    /// Its name in results.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            EchoServer::IoUring => "io_uring",
            EchoServer::Epoll => "epoll",
            EchoServer::Baseline => "loopback_baseline",
        }
    }
}

/// One run's round trips.
pub struct Outcome {
    /// Round trips in nanoseconds, warm-up excluded.
    pub histogram: Histogram<u64>,
    /// Frames that never came back.
    pub lost: u64,
    /// The io_uring transport's receive mode, for the transports.
    pub receive_mode: Option<&'static str>,
}

/// One open-loop run of `messages` frames (after `warmup` unrecorded ones) at
/// `rate_per_s` against a fresh `subject` server; the client on `cores.0`, the server on
/// `cores.1`.
///
/// # Errors
/// A message naming what failed: a socket, or a transport that could not start.
pub fn run_one(
    clock: &Clock,
    cores: (usize, usize),
    subject: EchoServer,
    rate_per_s: u64,
    messages: u64,
    warmup: u64,
) -> Result<Outcome, String> {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let (server, address, receive_mode): (Server, SocketAddr, Option<&'static str>) = match subject
    {
        EchoServer::Baseline => {
            let listener = TcpListener::bind(any).map_err(|e| format!("bind: {e}"))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            (Server::Blocking(listener), address, None)
        }
        EchoServer::IoUring | EchoServer::Epoll => {
            let backend = if subject == EchoServer::IoUring {
                Backend::IoUring
            } else {
                Backend::Epoll
            };
            let config = NetConfig {
                backend,
                connections_max: 4,
                ..NetConfig::default()
            };
            let mut net =
                Transport::new(&config).map_err(|e| format!("{}: {e}", subject.name()))?;
            let (_, address) = net.listen(any).map_err(|e| e.to_string())?;
            let mode = net.receive_mode();
            (Server::Transport(Box::new(net)), address, Some(mode))
        }
    };
    let (outcome, ()) = run_pinned_pair(
        cores,
        move |barrier| client(clock, address, barrier, rate_per_s, messages, warmup),
        move |barrier| server.serve(barrier),
    );
    let (histogram, lost) = outcome?;
    Ok(Outcome {
        histogram,
        lost,
        receive_mode,
    })
}

enum Server {
    Blocking(TcpListener),
    Transport(Box<Transport>),
}

/// Echoes whole frames; notes when the client has gone.
struct Echo {
    closed: bool,
}

impl Handler for Echo {
    fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize {
        let whole = data.len() / FRAME_BYTES * FRAME_BYTES;
        if out.send(conn, &data[..whole]).is_err() {
            out.close(conn);
        }
        whole
    }

    fn on_close(&mut self, _conn: ConnId, _reason: crossline_net::CloseReason) {
        self.closed = true;
    }
}

impl Server {
    fn serve(self, barrier: &std::sync::Barrier) {
        match self {
            Server::Blocking(listener) => {
                barrier.wait();
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let mut buffer = [0u8; 64 * FRAME_BYTES];
                let mut held = 0;
                loop {
                    match stream.read(&mut buffer[held..]) {
                        Ok(0) | Err(_) => return,
                        Ok(length) => held += length,
                    }
                    let whole = held / FRAME_BYTES * FRAME_BYTES;
                    if stream.write_all(&buffer[..whole]).is_err() {
                        return;
                    }
                    buffer.copy_within(whole..held, 0);
                    held -= whole;
                }
            }
            Server::Transport(mut net) => {
                barrier.wait();
                let mut echo = Echo { closed: false };
                while !echo.closed {
                    if net.poll(&mut echo, None).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The open-loop client: sends frame `i` at its due time, reads echoes in between.
fn client(
    clock: &Clock,
    address: SocketAddr,
    barrier: &std::sync::Barrier,
    rate_per_s: u64,
    messages: u64,
    warmup: u64,
) -> Result<(Histogram<u64>, u64), String> {
    barrier.wait();
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream.set_nonblocking(true).map_err(|e| e.to_string())?;
    let total = warmup + messages;
    let interval_ticks = clock.ticks_per_second() / rate_per_s as f64;
    let mut histogram = latency_histogram();
    let mut reader = FrameReader::default();
    let mut received = 0u64;
    // One socket, two handles: the read half is polled while a write waits for room.
    let mut read_half = stream.try_clone().map_err(|e| e.to_string())?;
    let start = clock.now() + clock.ticks(5_000_000.0);
    for sequence in 0..total {
        let due = start + (sequence as f64 * interval_ticks) as u64;
        while clock.now() < due {
            received += reader.take(&mut read_half, clock, warmup, &mut histogram)?;
        }
        let mut frame = [0u8; FRAME_BYTES];
        frame[..8].copy_from_slice(&sequence.to_le_bytes());
        frame[8..16].copy_from_slice(&due.to_le_bytes());
        let mut bytes = &frame[..];
        while !bytes.is_empty() {
            match stream.write(bytes) {
                Ok(written) => bytes = &bytes[written..],
                // While the socket is full, keep reading, or both sides wait forever.
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    received += reader.take(&mut read_half, clock, warmup, &mut histogram)?;
                }
                Err(error) => return Err(format!("send: {error}")),
            }
        }
    }
    let deadline = clock.now() + clock.ticks(2e9);
    while received < total && clock.now() < deadline {
        received += reader.take(&mut read_half, clock, warmup, &mut histogram)?;
    }
    Ok((histogram, total - received))
}

#[derive(Default)]
struct FrameReader {
    buffer: Vec<u8>,
    next: u64,
}

impl FrameReader {
    /// Reads what has arrived; records each whole echo. Returns how many came back.
    fn take(
        &mut self,
        stream: &mut TcpStream,
        clock: &Clock,
        warmup: u64,
        histogram: &mut Histogram<u64>,
    ) -> Result<u64, String> {
        let mut chunk = [0u8; 16 * FRAME_BYTES];
        let length = match stream.read(&mut chunk) {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(length) => length,
            Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(0),
            Err(error) => return Err(format!("receive: {error}")),
        };
        let now = clock.now();
        self.buffer.extend_from_slice(&chunk[..length]);
        let mut count = 0;
        let whole = self.buffer.len() / FRAME_BYTES * FRAME_BYTES;
        for frame in self.buffer[..whole].chunks_exact(FRAME_BYTES) {
            let sequence = u64::from_le_bytes(frame[..8].try_into().expect("8 bytes"));
            let due = u64::from_le_bytes(frame[8..16].try_into().expect("8 bytes"));
            if sequence != self.next {
                return Err(format!(
                    "echo {sequence} arrived when {} was next",
                    self.next
                ));
            }
            self.next += 1;
            if sequence >= warmup {
                let nanos = clock.nanos(now.saturating_sub(due)).max(1.0) as u64;
                histogram.record(nanos).map_err(|e| e.to_string())?;
            }
            count += 1;
        }
        self.buffer.drain(..whole);
        Ok(count)
    }
}
