//! Crossline's network transport: poll-driven, with owned buffers allocated at start-up
//! and no allocation per message, over two interchangeable backends.
//!
//! **Guarantee.** After [`Transport::new`] nothing allocates: every connection slot, its
//! receive buffer and its send buffer, the io_uring submission and completion rings and the
//! provided-buffer pool exist from the start, sized by [`NetConfig`]. [`Transport::poll`]
//! never blocks unless it is given a timeout; an agent calls it from its duty cycle.
//!
//! - [`Backend::IoUring`] (the default): one ring per transport; the send and receive
//!   buffers are registered with the kernel, receives are multishot into a provided-buffer
//!   ring where the kernel has it (single-shot reads into each connection's registered
//!   buffer where it does not), and SQPOLL is optional. Busy polling reaps completions from
//!   shared memory with no system call.
//! - [`Backend::Epoll`]: non-blocking sockets and level-triggered epoll, for any Linux.
//!
//! Both deliver the same [`Handler`] calls, so the protocol code above them cannot tell
//! which one runs; the same test suite (`tests/backends.rs`) passes on both.
//! `docs/ARCHITECTURE.md` describes the interface a kernel-bypass backend (AF_XDP, DPDK,
//! ef_vi) would implement.
//!
//! ```
//! use crossline_net::{Backend, ConnId, Handler, NetConfig, Outbox, Transport};
//!
//! /// Echoes every byte back.
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize {
//!         out.send(conn, data).expect("room to echo");
//!         data.len()
//!     }
//! }
//!
//! let mut config = NetConfig::default();
//! config.backend = Backend::Epoll;
//! let mut net = Transport::new(&config)?;
//! let (_, address) = net.listen("127.0.0.1:0".parse().unwrap())?;
//! let mut client = std::net::TcpStream::connect(address)?;
//! use std::io::{Read, Write};
//! client.write_all(b"ping")?;
//! let mut reply = [0u8; 4];
//! let mut got = 0;
//! client.set_nonblocking(true)?;
//! while got < 4 {
//!     net.poll(&mut Echo, None)?;
//!     if let Ok(n) = client.read(&mut reply[got..]) { got += n; }
//! }
//! assert_eq!(&reply, b"ping");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod epoll;
mod outbox;
mod sys;
mod uring;

use std::net::SocketAddr;
use std::time::Duration;

pub use outbox::{Outbox, SendError};

/// Which backend a [`Transport`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// io_uring: registered buffers, multishot receive, optional SQPOLL.
    IoUring,
    /// Non-blocking sockets and epoll.
    Epoll,
}

/// A transport's fixed sizes and options, all applied at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// The backend.
    pub backend: Backend,
    /// TCP connections open at once (accepted and connected together).
    pub connections_max: usize,
    /// Listening sockets.
    pub listeners_max: usize,
    /// UDP sockets.
    pub udp_sockets_max: usize,
    /// Each connection's receive buffer: unconsumed bytes wait here for the rest of
    /// their frame, so it must hold the largest frame the protocol allows.
    pub receive_buffer_bytes: usize,
    /// Each connection's send buffer: replies queue here until the socket takes them; a
    /// send that does not fit is refused ([`SendError::Full`]).
    pub send_buffer_bytes: usize,
    /// io_uring: submission queue entries (the completion queue is twice this).
    pub ring_entries: u32,
    /// io_uring: provided buffers for multishot receive (a power of two, at most 32768).
    pub provided_buffers: u16,
    /// io_uring: bytes in each provided buffer (also the largest UDP datagram received).
    pub provided_buffer_bytes: u32,
    /// io_uring: multishot receives where the kernel has them; `false` forces the
    /// single-shot fallback (reads into each connection's registered buffer).
    pub multishot: bool,
    /// io_uring: a kernel thread polls the submission queue (costs a core), idling after
    /// this many milliseconds without work; `None` leaves it off.
    pub sqpoll_idle_ms: Option<u32>,
    /// `SO_BUSY_POLL` on every socket, in microseconds (0: off). Best effort: a kernel
    /// that refuses it is logged once and the socket works without.
    pub busy_poll_us: u32,
}

impl Default for NetConfig {
    fn default() -> NetConfig {
        NetConfig {
            backend: Backend::IoUring,
            connections_max: 64,
            listeners_max: 4,
            udp_sockets_max: 4,
            receive_buffer_bytes: 64 * 1024,
            send_buffer_bytes: 256 * 1024,
            ring_entries: 1024,
            provided_buffers: 1024,
            provided_buffer_bytes: 4096,
            multishot: true,
            sqpoll_idle_ms: None,
            busy_poll_us: 0,
        }
    }
}

impl NetConfig {
    /// Checks the sizes against each other and the kernel's limits.
    ///
    /// # Errors
    /// [`NetError::Config`] naming the field and its value.
    pub fn validate(&self) -> Result<(), NetError> {
        let bad = |field: &'static str, value: String, expected: &'static str| {
            Err(NetError::Config {
                field,
                value,
                expected,
            })
        };
        if self.connections_max == 0 || self.connections_max > SLOT_MAX {
            return bad(
                "connections_max",
                self.connections_max.to_string(),
                "1 to 8192",
            );
        }
        if self.listeners_max == 0 || self.listeners_max > 64 {
            return bad("listeners_max", self.listeners_max.to_string(), "1 to 64");
        }
        if self.udp_sockets_max > 64 {
            return bad(
                "udp_sockets_max",
                self.udp_sockets_max.to_string(),
                "0 to 64",
            );
        }
        if self.receive_buffer_bytes < 512 || self.receive_buffer_bytes > (1 << 26) {
            return bad(
                "receive_buffer_bytes",
                self.receive_buffer_bytes.to_string(),
                "512 bytes to 64 MiB",
            );
        }
        if self.send_buffer_bytes < 512 || self.send_buffer_bytes > (1 << 26) {
            return bad(
                "send_buffer_bytes",
                self.send_buffer_bytes.to_string(),
                "512 bytes to 64 MiB",
            );
        }
        if !self.ring_entries.is_power_of_two() || !(8..=32768).contains(&self.ring_entries) {
            return bad(
                "ring_entries",
                self.ring_entries.to_string(),
                "a power of two from 8 to 32768",
            );
        }
        if !self.provided_buffers.is_power_of_two() || self.provided_buffers > 32768 {
            return bad(
                "provided_buffers",
                self.provided_buffers.to_string(),
                "a power of two up to 32768",
            );
        }
        if !(512..=65536).contains(&self.provided_buffer_bytes) {
            return bad(
                "provided_buffer_bytes",
                self.provided_buffer_bytes.to_string(),
                "512 to 65536",
            );
        }
        Ok(())
    }
}

/// io_uring registers two buffers per connection, and a ring takes at most 16384.
const SLOT_MAX: usize = 8192;

/// A TCP connection. Slots are reused; the generation makes a stale id harmless (sends to
/// it are refused with [`SendError::Closed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    slot: u32,
    generation: u32,
}

impl ConnId {
    /// The slot index, below `connections_max`: a dense index for per-connection tables.
    #[must_use]
    pub const fn slot(self) -> usize {
        self.slot as usize
    }
}

/// A listening socket, numbered in the order [`Transport::listen`] opened them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub u32);

/// A UDP socket, numbered in the order [`Transport::bind_udp`] opened them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpId(pub u32);

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed it (end of stream).
    PeerClosed,
    /// This side asked for it ([`Outbox::close`]).
    Local,
    /// The socket failed; the value is the `errno`.
    Error(i32),
    /// The peer sent more unconsumed bytes than the receive buffer holds.
    ReceiveOverflow,
}

/// What a transport's user does with what arrives. Every method has a default that
/// ignores the call, so a handler implements only what it uses.
pub trait Handler {
    /// A listener accepted a connection.
    fn on_accept(&mut self, _out: &mut Outbox, _listener: ListenerId, _conn: ConnId) {}

    /// Bytes arrived on `conn`. `data` is every byte not yet consumed, oldest first; return
    /// how many were consumed (whole frames). The rest are offered again, with more, at the
    /// next arrival.
    fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize;

    /// A connection arrived on `listener` and every slot is in use. Return `true` after
    /// closing a connection (with [`Outbox::close`]) to make room: the transport holds the
    /// new connection, accepting no other, until a slot is free, then offers it to
    /// [`Handler::on_accept`]. Return `false` to refuse it: it is closed at once. The
    /// default logs the refusal and refuses; a handler facing the open internet
    /// overrides it (its own budget, a rate-limited log).
    fn make_room(&mut self, _out: &mut Outbox, listener: ListenerId) -> bool {
        eprintln!(
            "crossline-net: connection on listener {} refused: every slot is in use",
            listener.0
        );
        false
    }

    /// A connection ended; its id is stale from now on.
    fn on_close(&mut self, _conn: ConnId, _reason: CloseReason) {}

    /// A datagram arrived on a UDP socket.
    fn on_datagram(&mut self, _out: &mut Outbox, _socket: UdpId, _data: &[u8]) {}

    /// How many more arrivals (an [`Handler::on_data`] call with new bytes, or a
    /// datagram) the handler can take now; by default no limit. The transport asks
    /// before each one, and at zero it stops delivering for this poll: what has arrived
    /// waits where it is (in the completion queue, or in the socket for the next
    /// readiness), so the kernel's buffers and TCP flow control push back on the sender.
    /// A handler whose queue for what arrivals produce is bounded returns the arrivals
    /// that still fit.
    fn deliveries_max(&self) -> usize {
        usize::MAX
    }
}

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A system call failed.
    #[error("{operation}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// A configuration value is out of range.
    #[error("net.{field} = {value}: must be {expected}")]
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// Every slot of a kind is in use.
    #[error("all {max} {what} are in use")]
    Full {
        /// What ran out.
        what: &'static str,
        /// How many there are.
        max: usize,
    },
    /// The kernel lacks something the backend needs.
    #[error("io_uring unavailable: {0}")]
    Unsupported(String),
}

/// The index the next socket in a table of at most `max` gets, or [`NetError::Full`].
pub(crate) fn next_index(len: usize, max: usize, what: &'static str) -> Result<u32, NetError> {
    if len >= max {
        return Err(NetError::Full { what, max });
    }
    // Tables are at most 64 entries (checked in `NetConfig::validate`).
    u32::try_from(len).map_err(|_| NetError::Full { what, max })
}

pub(crate) fn io_error(operation: &'static str) -> impl FnOnce(std::io::Error) -> NetError {
    move |source| NetError::Io { operation, source }
}

/// A transport on either backend: the one interface the protocol code uses.
pub struct Transport {
    inner: Inner,
}

enum Inner {
    Uring(Box<uring::Uring>),
    Epoll(Box<epoll::Epoll>),
}

impl Transport {
    /// Allocates everything the transport will use.
    ///
    /// # Errors
    /// A bad configuration, or the kernel refusing the backend's set-up.
    pub fn new(config: &NetConfig) -> Result<Transport, NetError> {
        config.validate()?;
        let inner = match config.backend {
            Backend::IoUring => Inner::Uring(Box::new(uring::Uring::new(config)?)),
            Backend::Epoll => Inner::Epoll(Box::new(epoll::Epoll::new(config)?)),
        };
        Ok(Transport { inner })
    }

    /// Which backend runs.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Uring(_) => Backend::IoUring,
            Inner::Epoll(_) => Backend::Epoll,
        }
    }

    /// Listens for TCP connections on `address` (port 0 picks one); returns the listener
    /// and the address it is bound to.
    ///
    /// # Errors
    /// Bind or listen failed, or every listener slot is in use.
    pub fn listen(&mut self, address: SocketAddr) -> Result<(ListenerId, SocketAddr), NetError> {
        let listener = std::net::TcpListener::bind(address).map_err(io_error("bind"))?;
        let local = listener.local_addr().map_err(io_error("local_addr"))?;
        let id = match &mut self.inner {
            Inner::Uring(uring) => uring.add_listener(listener)?,
            Inner::Epoll(epoll) => epoll.add_listener(listener)?,
        };
        Ok((id, local))
    }

    /// Connects to `address`, waiting at most `timeout` (set-up work: this blocks).
    ///
    /// # Errors
    /// The connection was refused or timed out, or every connection slot is in use.
    pub fn connect(&mut self, address: SocketAddr, timeout: Duration) -> Result<ConnId, NetError> {
        let stream =
            std::net::TcpStream::connect_timeout(&address, timeout).map_err(io_error("connect"))?;
        match &mut self.inner {
            Inner::Uring(uring) => uring.add_stream(stream),
            Inner::Epoll(epoll) => epoll.add_stream(stream),
        }
    }

    /// Binds a UDP socket to receive datagrams on `address`, with a kernel receive buffer
    /// (`SO_RCVBUF`) of `buffer_bytes` (0: the system's default); returns its id and
    /// address. A buffer the kernel caps (`net.core.rmem_max`) is logged with what it
    /// granted.
    ///
    /// # Errors
    /// Bind failed, or every UDP slot is in use.
    pub fn bind_udp(
        &mut self,
        address: SocketAddr,
        buffer_bytes: usize,
    ) -> Result<(UdpId, SocketAddr), NetError> {
        let socket = std::net::UdpSocket::bind(address).map_err(io_error("bind udp"))?;
        if buffer_bytes > 0 {
            sys::set_receive_buffer(&socket, buffer_bytes);
        }
        let local = socket.local_addr().map_err(io_error("local_addr"))?;
        let id = match &mut self.inner {
            Inner::Uring(uring) => uring.add_udp(socket)?,
            Inner::Epoll(epoll) => epoll.add_udp(socket)?,
        };
        Ok((id, local))
    }

    /// Where sends and closes are queued outside a [`Handler`] call.
    pub fn outbox(&mut self) -> &mut Outbox {
        match &mut self.inner {
            Inner::Uring(uring) => uring.outbox(),
            Inner::Epoll(epoll) => epoll.outbox(),
        }
    }

    /// Whether any connection has bytes its peer has not yet received: queued here and
    /// not taken by the kernel, or in the kernel's send queue and not acknowledged, or a
    /// close still to carry out. A stop waits for them before the transport goes: closing
    /// a socket discards what its kernel still holds to send once the peer sends more.
    /// One `ioctl` per open connection: for stops, not for the hot path.
    #[must_use]
    pub fn has_unsent(&self) -> bool {
        match &self.inner {
            Inner::Uring(uring) => uring.outbox_ref().has_unsent() || uring.kernel_unsent(),
            Inner::Epoll(epoll) => epoll.outbox_ref().has_unsent() || epoll.kernel_unsent(),
        }
    }

    /// Does one round of I/O: hands queued sends and closes to the kernel, then delivers
    /// what has arrived to `handler`, then hands over what the handler queued. With
    /// `timeout` `None` it never blocks; otherwise it waits up to `timeout` for something
    /// to arrive when nothing has. Returns how many completions or readiness events it
    /// handled (zero: idle).
    ///
    /// # Errors
    /// The backend's own wait failed (not a connection's error: those close the
    /// connection and reach [`Handler::on_close`]).
    pub fn poll<H: Handler>(
        &mut self,
        handler: &mut H,
        timeout: Option<Duration>,
    ) -> Result<usize, NetError> {
        match &mut self.inner {
            Inner::Uring(uring) => uring.poll(handler, timeout),
            Inner::Epoll(epoll) => epoll.poll(handler, timeout),
        }
    }

    /// How receives are made: `"multishot"` or `"single-shot"` (io_uring), `"readiness"`
    /// (epoll). A kernel that refuses multishot switches the first to the second.
    #[must_use]
    pub fn receive_mode(&self) -> &'static str {
        match &self.inner {
            Inner::Uring(uring) if uring.multishot() => "multishot",
            Inner::Uring(_) => "single-shot",
            Inner::Epoll(_) => "readiness",
        }
    }

    /// Connections open now.
    #[must_use]
    pub fn connections_open(&self) -> usize {
        match &self.inner {
            Inner::Uring(uring) => uring.connections_open(),
            Inner::Epoll(epoll) => epoll.connections_open(),
        }
    }
}

/// What a completion or readiness event is about, packed into 64 bits with the slot and
/// its generation so that an event for a reused slot is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Accept = 1,
    Receive = 2,
    Send = 3,
    Datagram = 4,
}

pub(crate) const fn token(tag: Tag, slot: u32, generation: u32) -> u64 {
    ((tag as u64) << 56) | ((slot as u64) << 32) | generation as u64
}

pub(crate) fn untoken(token: u64) -> (Option<Tag>, u32, u32) {
    let tag = match token >> 56 {
        1 => Some(Tag::Accept),
        2 => Some(Tag::Receive),
        3 => Some(Tag::Send),
        4 => Some(Tag::Datagram),
        _ => None,
    };
    #[allow(clippy::cast_possible_truncation)] // masked to the field's width first
    let slot = ((token >> 32) & 0x00FF_FFFF) as u32;
    #[allow(clippy::cast_possible_truncation)]
    let generation = token as u32;
    (tag, slot, generation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for tag in [Tag::Accept, Tag::Receive, Tag::Send, Tag::Datagram] {
            let packed = token(tag, 65_535, u32::MAX);
            assert_eq!(untoken(packed), (Some(tag), 65_535, u32::MAX));
        }
        assert_eq!(untoken(0).0, None);
    }

    #[test]
    fn config_errors_name_the_field() {
        let mut config = NetConfig {
            ring_entries: 1000,
            ..NetConfig::default()
        };
        let error = config.validate().unwrap_err().to_string();
        assert_eq!(
            error,
            "net.ring_entries = 1000: must be a power of two from 8 to 32768"
        );
        config.ring_entries = 1024;
        config.receive_buffer_bytes = 10;
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("net.receive_buffer_bytes = 10"));
    }
}
