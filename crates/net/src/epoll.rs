//! The portable backend: non-blocking sockets, level-triggered epoll. A read goes straight
//! into the connection's own receive buffer; a send writes what the outbox holds and, when
//! the socket is full, waits for `EPOLLOUT`.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use crate::outbox::{Outbox, SlotState};
use crate::sys;
use crate::{
    io_error, next_index, token, untoken, CloseReason, ConnId, Handler, ListenerId, NetConfig,
    NetError, Tag, UdpId,
};

/// Datagrams read from one socket per poll, at most: one busy feed must not starve the
/// connections.
const DATAGRAMS_PER_POLL_MAX: usize = 64;
/// Readiness events taken per `epoll_wait`.
const EVENTS_MAX: usize = 256;
/// The largest datagram received (larger ones are truncated by the kernel).
const DATAGRAM_BYTES_MAX: usize = 65536;

struct Connection {
    stream: Option<TcpStream>,
    receive: Box<[u8]>,
    received: usize,
    /// `EPOLLOUT` is armed: the socket refused bytes and the rest wait for room.
    waiting_for_room: bool,
}

pub(crate) struct Epoll {
    epoll: OwnedFd,
    events: Vec<libc::epoll_event>,
    outbox: Outbox,
    connections: Vec<Connection>,
    listeners: Vec<TcpListener>,
    listeners_max: usize,
    udp: Vec<UdpSocket>,
    udp_max: usize,
    datagram: Box<[u8]>,
    dirty: Vec<u32>,
    busy_poll_us: u32,
    /// A connection accepted while every slot was in use, after the handler made room
    /// ([`Handler::make_room`]), and the listener it came from: it gets the first slot
    /// freed, and no other connection is accepted before it.
    parked: Option<(TcpStream, u32)>,
}

impl Epoll {
    pub(crate) fn new(config: &NetConfig) -> Result<Epoll, NetError> {
        let connections = (0..config.connections_max)
            .map(|_| Connection {
                stream: None,
                receive: vec![0u8; config.receive_buffer_bytes].into_boxed_slice(),
                received: 0,
                waiting_for_room: false,
            })
            .collect();
        Ok(Epoll {
            epoll: sys::epoll_create().map_err(io_error("epoll_create1"))?,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS_MAX],
            outbox: Outbox::new(config.connections_max, config.send_buffer_bytes),
            connections,
            listeners: Vec::with_capacity(config.listeners_max),
            listeners_max: config.listeners_max,
            udp: Vec::with_capacity(config.udp_sockets_max),
            udp_max: config.udp_sockets_max,
            datagram: vec![0u8; DATAGRAM_BYTES_MAX].into_boxed_slice(),
            dirty: Vec::with_capacity(config.connections_max),
            busy_poll_us: config.busy_poll_us,
            parked: None,
        })
    }

    pub(crate) fn outbox_ref(&self) -> &Outbox {
        &self.outbox
    }

    /// Whether a connection's kernel send queue still holds bytes the peer has not
    /// acknowledged.
    pub(crate) fn kernel_unsent(&self) -> bool {
        sys::any_unsent(self.connections.iter().filter_map(|c| c.stream.as_ref()))
    }

    pub(crate) fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    pub(crate) fn connections_open(&self) -> usize {
        self.outbox.open_count()
    }

    pub(crate) fn add_listener(&mut self, listener: TcpListener) -> Result<ListenerId, NetError> {
        let index = next_index(self.listeners.len(), self.listeners_max, "listeners")?;
        listener
            .set_nonblocking(true)
            .map_err(io_error("set_nonblocking"))?;
        self.watch(listener.as_raw_fd(), token(Tag::Accept, index, 0))?;
        self.listeners.push(listener);
        Ok(ListenerId(index))
    }

    pub(crate) fn add_udp(&mut self, socket: UdpSocket) -> Result<UdpId, NetError> {
        let index = next_index(self.udp.len(), self.udp_max, "UDP sockets")?;
        socket
            .set_nonblocking(true)
            .map_err(io_error("set_nonblocking"))?;
        sys::set_busy_poll(socket.as_raw_fd(), self.busy_poll_us);
        self.watch(socket.as_raw_fd(), token(Tag::Datagram, index, 0))?;
        self.udp.push(socket);
        Ok(UdpId(index))
    }

    /// Adds `fd` to the epoll set for reading, with `key` as its event data.
    fn watch(&self, fd: std::os::fd::RawFd, key: u64) -> Result<(), NetError> {
        let events = libc::EPOLLIN as u32;
        sys::epoll_ctl(&self.epoll, libc::EPOLL_CTL_ADD, fd, events, key)
            .map_err(io_error("epoll_ctl add"))
    }

    pub(crate) fn add_stream(&mut self, stream: TcpStream) -> Result<ConnId, NetError> {
        stream
            .set_nonblocking(true)
            .map_err(io_error("set_nonblocking"))?;
        stream.set_nodelay(true).map_err(io_error("TCP_NODELAY"))?;
        sys::set_busy_poll(stream.as_raw_fd(), self.busy_poll_us);
        let conn = self.outbox.open().ok_or(NetError::Full {
            what: "connections",
            max: self.connections.len(),
        })?;
        let key = token(Tag::Receive, conn.slot, conn.generation);
        if let Err(error) = self.watch(stream.as_raw_fd(), key) {
            self.outbox.free(conn.slot);
            return Err(error);
        }
        let connection = &mut self.connections[conn.slot()];
        connection.stream = Some(stream);
        connection.received = 0;
        connection.waiting_for_room = false;
        Ok(conn)
    }

    pub(crate) fn poll<H: Handler>(
        &mut self,
        handler: &mut H,
        timeout: Option<Duration>,
    ) -> Result<usize, NetError> {
        self.flush(handler);
        self.place_parked(handler);
        let timeout_ms = timeout.map_or(0, |wait| {
            i32::try_from(wait.as_millis().max(1)).unwrap_or(i32::MAX)
        });
        let count = sys::epoll_wait(&self.epoll, &mut self.events, timeout_ms)
            .map_err(io_error("epoll_wait"))?;
        for index in 0..count {
            let event = self.events[index];
            let (tag, slot, generation) = untoken(event.u64);
            if handler.deliveries_max() == 0 && matches!(tag, Some(Tag::Datagram | Tag::Receive)) {
                // The handler is full: level-triggered, the event comes back next time
                // (its sends wait for the next flush too).
                continue;
            }
            match tag {
                Some(Tag::Accept) => self.accept(handler, slot),
                Some(Tag::Datagram) => self.receive_datagrams(handler, slot),
                Some(Tag::Receive) => {
                    let Some(conn) = self.outbox.id(slot).filter(|c| c.generation == generation)
                    else {
                        continue;
                    };
                    if event.events & libc::EPOLLOUT as u32 != 0 {
                        self.write(handler, conn);
                    }
                    let readable = (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32;
                    if event.events & readable != 0 {
                        self.read(handler, conn);
                    }
                }
                Some(Tag::Send) | None => {}
            }
        }
        self.flush(handler);
        self.place_parked(handler);
        Ok(count)
    }

    fn accept<H: Handler>(&mut self, handler: &mut H, index: u32) {
        loop {
            // A parked connection goes first; while it waits, the rest wait in the
            // kernel's backlog (the listener stays readable).
            if !self.place_parked(handler) {
                return;
            }
            let Some(listener) = self.listeners.get(index as usize) else {
                return;
            };
            match listener.accept() {
                Ok((stream, _)) => self.admit(handler, index, stream),
                Err(error) if error.kind() == ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => {
                    // EMFILE and friends: log, and try again at the next readiness.
                    eprintln!("crossline-net: accept failed: {error}");
                    return;
                }
            }
        }
    }

    /// Gives `stream` a slot; with none free, parks it if the handler makes room, else
    /// drops it (closed: the peer sees the refusal at once).
    fn admit<H: Handler>(&mut self, handler: &mut H, index: u32, stream: TcpStream) {
        if !self.outbox.has_free_slot() {
            if handler.make_room(&mut self.outbox, ListenerId(index)) {
                self.parked = Some((stream, index));
            }
            return;
        }
        match self.add_stream(stream) {
            Ok(conn) => handler.on_accept(&mut self.outbox, ListenerId(index), conn),
            Err(error) => eprintln!("crossline-net: connection refused: {error}"),
        }
    }

    /// Gives the parked connection the slot it waits for, if one is free now. Returns
    /// whether nothing is parked any more.
    fn place_parked<H: Handler>(&mut self, handler: &mut H) -> bool {
        if self.parked.is_none() {
            return true;
        }
        if !self.outbox.has_free_slot() {
            return false;
        }
        if let Some((stream, index)) = self.parked.take() {
            self.admit(handler, index, stream);
        }
        true
    }

    fn receive_datagrams<H: Handler>(&mut self, handler: &mut H, index: u32) {
        for _ in 0..DATAGRAMS_PER_POLL_MAX {
            if handler.deliveries_max() == 0 {
                return;
            }
            let Some(socket) = self.udp.get(index as usize) else {
                return;
            };
            match socket.recv(&mut self.datagram) {
                Ok(length) => {
                    handler.on_datagram(&mut self.outbox, UdpId(index), &self.datagram[..length]);
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// One read per readiness event keeps connections fair (level-triggered epoll reports
    /// the rest next time).
    fn read<H: Handler>(&mut self, handler: &mut H, conn: ConnId) {
        let connection = &mut self.connections[conn.slot()];
        let Some(stream) = connection.stream.as_mut() else {
            return;
        };
        if connection.received == connection.receive.len() {
            self.close(handler, conn, CloseReason::ReceiveOverflow);
            return;
        }
        match stream.read(&mut connection.receive[connection.received..]) {
            Ok(0) => self.close(handler, conn, CloseReason::PeerClosed),
            Ok(length) => {
                connection.received += length;
                let consumed = handler.on_data(
                    &mut self.outbox,
                    conn,
                    &connection.receive[..connection.received],
                );
                debug_assert!(consumed <= connection.received);
                let consumed = consumed.min(connection.received);
                connection
                    .receive
                    .copy_within(consumed..connection.received, 0);
                connection.received -= consumed;
            }
            Err(error)
                if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(error) => self.close(handler, conn, CloseReason::Error(sys::errno(&error))),
        }
    }

    fn flush<H: Handler>(&mut self, handler: &mut H) {
        let mut dirty = std::mem::take(&mut self.dirty);
        self.outbox.swap_dirty(&mut dirty);
        for &slot in &dirty {
            if let Some(conn) = self.outbox.id(slot) {
                self.write(handler, conn);
            }
        }
        dirty.clear();
        self.dirty = dirty;
    }

    /// Writes what waits on `conn`; closes it if a close was asked for and all is sent.
    fn write<H: Handler>(&mut self, handler: &mut H, conn: ConnId) {
        let slot = conn.slot;
        let connection = &mut self.connections[conn.slot()];
        let Some(stream) = connection.stream.as_mut() else {
            return;
        };
        let (_, waiting) = self.outbox.waiting(slot);
        if !waiting.is_empty() {
            match stream.write(waiting) {
                Ok(written) => self.outbox.sent(slot, written),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(error) => {
                    self.close(handler, conn, CloseReason::Error(sys::errno(&error)));
                    return;
                }
            }
        }
        let left = !self.outbox.waiting(slot).1.is_empty();
        if left != connection.waiting_for_room {
            // Arm EPOLLOUT while bytes wait, disarm once they are gone.
            let events = if left {
                (libc::EPOLLIN | libc::EPOLLOUT) as u32
            } else {
                libc::EPOLLIN as u32
            };
            let key = token(Tag::Receive, slot, conn.generation);
            let fd = stream.as_raw_fd();
            if let Err(error) = sys::epoll_ctl(&self.epoll, libc::EPOLL_CTL_MOD, fd, events, key) {
                self.close(handler, conn, CloseReason::Error(sys::errno(&error)));
                return;
            }
            connection.waiting_for_room = left;
        }
        if !left && self.outbox.slot(slot).state == SlotState::Closing {
            self.close(handler, conn, CloseReason::Local);
        }
    }

    fn close<H: Handler>(&mut self, handler: &mut H, conn: ConnId, reason: CloseReason) {
        let connection = &mut self.connections[conn.slot()];
        if let Some(stream) = connection.stream.take() {
            // Deregistration cannot fail for a registered descriptor; closing it below
            // removes it from the epoll set in any case.
            let _ = sys::epoll_ctl(&self.epoll, libc::EPOLL_CTL_DEL, stream.as_raw_fd(), 0, 0);
            drop(stream);
        }
        connection.received = 0;
        connection.waiting_for_room = false;
        self.outbox.free(conn.slot);
        handler.on_close(conn, reason);
    }
}
