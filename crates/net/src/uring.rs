//! The io_uring backend. One ring per transport.
//!
//! - **Registered buffers**: every connection's send buffer (indexes `0..n`) and receive
//!   buffer (`n..2n`) are registered at start-up, so the kernel pins them once instead of
//!   per operation; sends are `WRITE_FIXED` from the send buffer.
//! - **Multishot receive** into a provided-buffer ring: one armed receive per socket
//!   delivers every arrival until it ends. Where the kernel refuses multishot, the backend
//!   falls back, for good, to single-shot `READ_FIXED` into each connection's registered
//!   receive buffer (UDP then uses plain single-shot receives into one buffer per socket).
//! - **Completions are reaped from shared memory**: a poll with nothing to submit and no
//!   timeout makes no system call. SQPOLL (optional) moves submission to a kernel thread.
//! - **Closing**: `shutdown(2)` ends the socket's operations; the descriptor is closed and
//!   the slot freed only when the last of them has completed, so a completion never names
//!   a reused slot.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use crate::outbox::{Outbox, SlotState};
use crate::sys;
use crate::{
    io_error, next_index, token, untoken, CloseReason, ConnId, Handler, ListenerId, NetConfig,
    NetError, Tag, UdpId,
};

/// The provided-buffer group every multishot receive draws from.
const BUFFER_GROUP: u16 = 0;
/// Completions taken per round of a poll.
const COMPLETIONS_PER_ROUND_MAX: usize = 256;

struct Connection {
    stream: Option<TcpStream>,
    receive: Box<[u8]>,
    received: usize,
    /// Operations submitted and not yet finished (a multishot receive counts once).
    operations: u32,
    receive_armed: bool,
    /// The connection is ending; freed when `operations` reaches zero.
    closing: Option<CloseReason>,
}

struct Listener {
    listener: TcpListener,
    armed: bool,
}

struct Udp {
    socket: UdpSocket,
    armed: bool,
    /// The single-shot fallback's buffer.
    buffer: Box<[u8]>,
}

/// The provided-buffer ring: `entries` buffers the kernel picks from for multishot
/// receives; each is handed back after its data has been delivered.
struct BufferRing {
    ring: *mut types::BufRingEntry,
    layout: Layout,
    mask: u16,
    tail: u16,
    buffers: Box<[u8]>,
    buffer_bytes: u32,
}

impl BufferRing {
    fn new(entries: u16, buffer_bytes: u32) -> Result<BufferRing, NetError> {
        let size = usize::from(entries) * size_of::<types::BufRingEntry>();
        let layout = Layout::from_size_align(size.max(4096), 4096)
            .map_err(|_| NetError::Unsupported("buffer ring layout".into()))?;
        // SAFETY: the layout has a non-zero size.
        let ring = unsafe { alloc_zeroed(layout) }.cast::<types::BufRingEntry>();
        if ring.is_null() {
            return Err(NetError::Unsupported(
                "buffer ring allocation failed".into(),
            ));
        }
        let buffers = vec![0u8; usize::from(entries) * buffer_bytes as usize].into_boxed_slice();
        let mut ring = BufferRing {
            ring,
            layout,
            mask: entries - 1,
            tail: 0,
            buffers,
            buffer_bytes,
        };
        for id in 0..entries {
            ring.give_back(id);
        }
        Ok(ring)
    }

    fn buffer(&self, id: u16, length: usize) -> &[u8] {
        let start = usize::from(id) * self.buffer_bytes as usize;
        &self.buffers[start..start + length]
    }

    /// Puts buffer `id` back in the ring for the kernel to fill again.
    fn give_back(&mut self, id: u16) {
        let index = usize::from(self.tail & self.mask);
        let address = self.buffers.as_ptr() as u64 + u64::from(id) * u64::from(self.buffer_bytes);
        // SAFETY: `index` is below the ring's entry count (masked), and the ring holds
        // that many entries.
        let entry = unsafe { self.ring.add(index) };
        // SAFETY: `entry` points into the ring, which only this thread writes; the kernel
        // reads an entry only after the tail below publishes it.
        let entry = unsafe { &mut *entry };
        entry.set_addr(address);
        entry.set_len(self.buffer_bytes);
        entry.set_bid(id);
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the ring's base is its first entry, which is initialised.
        let tail = unsafe { types::BufRingEntry::tail(self.ring) };
        // SAFETY: the tail field is a naturally aligned u16 inside the ring, shared with
        // the kernel, which reads it atomically.
        let tail = unsafe { AtomicU16::from_ptr(tail.cast_mut()) };
        // Release: the entry's contents are visible before the kernel sees the new tail.
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for BufferRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; the ring is unregistered (the
        // io_uring instance is dropped first) before this runs.
        unsafe { dealloc(self.ring.cast(), self.layout) };
    }
}

pub(crate) struct Uring {
    // Dropped first: the kernel lets go of the registered and provided buffers before
    // they are freed.
    ring: IoUring,
    buffer_ring: BufferRing,
    multishot: bool,
    /// Set up with `COOP_TASKRUN` and `TASKRUN_FLAG`.
    cooperative: bool,
    outbox: Outbox,
    connections: Vec<Connection>,
    listeners: Vec<Listener>,
    listeners_max: usize,
    udp: Vec<Udp>,
    udp_max: usize,
    completions: Vec<(u64, i32, u32)>,
    dirty: Vec<u32>,
    busy_poll_us: u32,
    /// A connection accepted while every slot was in use, after the handler made room
    /// ([`Handler::make_room`]), and the listener it came from: it gets the first slot
    /// freed, and its listener's accept is re-armed only then.
    parked: Option<(TcpStream, u32)>,
}

// SAFETY: the raw buffer-ring pointer is owned by this value alone (no alias leaves it),
// so moving the transport to another thread moves sole access with it.
unsafe impl Send for Uring {}

impl Uring {
    pub(crate) fn new(config: &NetConfig) -> Result<Uring, NetError> {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(config.ring_entries * 2);
        if let Some(idle_ms) = config.sqpoll_idle_ms {
            builder.setup_sqpoll(idle_ms);
        }
        // Cooperative task running: a completion's work waits for this thread's next entry
        // to the kernel instead of interrupting it with an inter-processor interrupt, and
        // the kernel raises a flag in shared memory when such work waits, so a busy poll
        // enters the kernel exactly when there is something to reap (kernels before 5.19
        // lack both; the ring then runs without them).
        let mut cooperative = builder.clone();
        cooperative.setup_coop_taskrun().setup_taskrun_flag();
        let (ring, cooperative) = match cooperative.build(config.ring_entries) {
            Ok(ring) => (ring, true),
            Err(_) => (
                builder
                    .build(config.ring_entries)
                    .map_err(|error| NetError::Unsupported(format!("io_uring_setup: {error}")))?,
                false,
            ),
        };
        let mut outbox = Outbox::new(config.connections_max, config.send_buffer_bytes);
        let mut connections: Vec<Connection> = (0..config.connections_max)
            .map(|_| Connection {
                stream: None,
                receive: vec![0u8; config.receive_buffer_bytes].into_boxed_slice(),
                received: 0,
                operations: 0,
                receive_armed: false,
                closing: None,
            })
            .collect();
        let mut iovecs = Vec::with_capacity(config.connections_max * 2);
        for slot in 0..outbox.slots_len() {
            let (base, length) = outbox.buffer_region(slot);
            iovecs.push(libc::iovec {
                iov_base: base.cast(),
                iov_len: length,
            });
        }
        for connection in &mut connections {
            iovecs.push(libc::iovec {
                iov_base: connection.receive.as_mut_ptr().cast(),
                iov_len: connection.receive.len(),
            });
        }
        // SAFETY: every iovec names a boxed buffer that lives, unmoved, as long as this
        // transport, and the ring (dropped first) releases them before they are freed.
        unsafe { ring.submitter().register_buffers(&iovecs) }.map_err(|error| {
            let bytes =
                (config.send_buffer_bytes + config.receive_buffer_bytes) * config.connections_max;
            let mib = bytes >> 20;
            NetError::Unsupported(format!(
                "registering {mib} MiB of buffers: {error} (raise RLIMIT_MEMLOCK, shrink the \
                 buffers, or set backend = \"epoll\")"
            ))
        })?;
        let buffer_ring = BufferRing::new(config.provided_buffers, config.provided_buffer_bytes)?;
        let entries = config.provided_buffers;
        // SAFETY: the ring memory lives, unmoved, in `buffer_ring` for as long as the
        // io_uring instance, which is dropped first.
        let registered = unsafe {
            ring.submitter().register_buf_ring_with_flags(
                buffer_ring.ring as u64,
                entries,
                BUFFER_GROUP,
                0,
            )
        };
        Ok(Uring {
            ring,
            buffer_ring,
            multishot: config.multishot && registered.is_ok(),
            cooperative,
            outbox,
            connections,
            listeners: Vec::with_capacity(config.listeners_max),
            listeners_max: config.listeners_max,
            udp: Vec::with_capacity(config.udp_sockets_max),
            udp_max: config.udp_sockets_max,
            completions: Vec::with_capacity(COMPLETIONS_PER_ROUND_MAX),
            dirty: Vec::with_capacity(config.connections_max),
            busy_poll_us: config.busy_poll_us,
            parked: None,
        })
    }

    pub(crate) fn multishot(&self) -> bool {
        self.multishot
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
        self.listeners.push(Listener {
            listener,
            armed: false,
        });
        self.arm_accept(index);
        Ok(ListenerId(index))
    }

    pub(crate) fn add_udp(&mut self, socket: UdpSocket) -> Result<UdpId, NetError> {
        let index = next_index(self.udp.len(), self.udp_max, "UDP sockets")?;
        sys::set_busy_poll(socket.as_raw_fd(), self.busy_poll_us);
        let buffer_bytes = self.buffer_ring.buffer_bytes as usize;
        self.udp.push(Udp {
            socket,
            armed: false,
            buffer: vec![0u8; buffer_bytes].into_boxed_slice(),
        });
        self.arm_datagram(index);
        Ok(UdpId(index))
    }

    pub(crate) fn add_stream(&mut self, stream: TcpStream) -> Result<ConnId, NetError> {
        stream.set_nodelay(true).map_err(io_error("TCP_NODELAY"))?;
        sys::set_busy_poll(stream.as_raw_fd(), self.busy_poll_us);
        let conn = self.outbox.open().ok_or(NetError::Full {
            what: "connections",
            max: self.connections.len(),
        })?;
        let connection = &mut self.connections[conn.slot()];
        connection.stream = Some(stream);
        connection.received = 0;
        connection.operations = 0;
        connection.receive_armed = false;
        connection.closing = None;
        self.arm_receive(conn);
        Ok(conn)
    }

    /// Queues a submission, submitting what is queued first when the queue is full.
    fn push(&mut self, entry: &squeue::Entry) {
        loop {
            // SAFETY: every entry pushed names buffers owned by this transport that stay
            // valid until its completion is reaped (the slot is not freed before then).
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return;
            }
            if let Err(error) = self.ring.submit() {
                eprintln!("crossline-net: io_uring submit failed: {error}");
            }
        }
    }

    fn arm_accept(&mut self, index: u32) {
        let Some(listener) = self.listeners.get_mut(index as usize) else {
            return;
        };
        if listener.armed {
            return;
        }
        listener.armed = true;
        let fd = types::Fd(listener.listener.as_raw_fd());
        let entry = opcode::Accept::new(fd, std::ptr::null_mut(), std::ptr::null_mut())
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(token(Tag::Accept, index, 0));
        self.push(&entry);
    }

    fn arm_datagram(&mut self, index: u32) {
        let Some(udp) = self.udp.get_mut(index as usize) else {
            return;
        };
        if udp.armed {
            return;
        }
        udp.armed = true;
        let fd = types::Fd(udp.socket.as_raw_fd());
        let entry = if self.multishot {
            opcode::RecvMulti::new(fd, BUFFER_GROUP).build()
        } else {
            #[allow(clippy::cast_possible_truncation)] // at most 64 KiB
            let length = udp.buffer.len() as u32;
            opcode::Recv::new(fd, udp.buffer.as_mut_ptr(), length).build()
        };
        self.push(&entry.user_data(token(Tag::Datagram, index, 0)));
    }

    fn arm_receive(&mut self, conn: ConnId) {
        let slots = self.connections.len();
        let connection = &mut self.connections[conn.slot()];
        let Some(stream) = connection.stream.as_ref() else {
            return;
        };
        if connection.receive_armed || connection.closing.is_some() {
            return;
        }
        let fd = types::Fd(stream.as_raw_fd());
        let entry = if self.multishot {
            opcode::RecvMulti::new(fd, BUFFER_GROUP).build()
        } else {
            let free = &mut connection.receive[connection.received..];
            #[allow(clippy::cast_possible_truncation)] // buffers are at most 64 MiB
            let (length, index) = (free.len() as u32, (slots + conn.slot()) as u16);
            opcode::ReadFixed::new(fd, free.as_mut_ptr(), length, index).build()
        };
        connection.receive_armed = true;
        connection.operations += 1;
        let key = token(Tag::Receive, conn.slot, conn.generation);
        self.push(&entry.user_data(key));
    }

    pub(crate) fn poll<H: Handler>(
        &mut self,
        handler: &mut H,
        timeout: Option<Duration>,
    ) -> Result<usize, NetError> {
        self.flush(handler);
        self.place_parked(handler);
        self.submit(timeout)?;
        let mut handled = 0;
        loop {
            self.completions.clear();
            // Each completion delivers at most one arrival: take no more than the
            // handler can take; the rest wait in the completion queue (their provided
            // buffers with them, so the kernel stops receiving once those run out).
            let take = COMPLETIONS_PER_ROUND_MAX.min(handler.deliveries_max());
            for entry in self.ring.completion().take(take) {
                self.completions
                    .push((entry.user_data(), entry.result(), entry.flags()));
            }
            if self.completions.is_empty() {
                break;
            }
            handled += self.completions.len();
            for index in 0..self.completions.len() {
                let (key, result, flags) = self.completions[index];
                self.complete(handler, key, result, flags);
            }
            if handled >= COMPLETIONS_PER_ROUND_MAX * 4 {
                // Bounded work per poll; the rest is there next time.
                break;
            }
        }
        self.flush(handler);
        self.place_parked(handler);
        if !self.ring.submission().is_empty() {
            self.submit(None)?;
        }
        Ok(handled)
    }

    fn submit(&mut self, timeout: Option<Duration>) -> Result<(), NetError> {
        let result = match timeout {
            Some(wait) if self.ring.completion().is_empty() => {
                let timespec = types::Timespec::from(wait);
                let arguments = types::SubmitArgs::new().timespec(&timespec);
                self.ring.submitter().submit_with_args(1, &arguments)
            }
            // Nothing to submit: enter the kernel only when completion work waits there.
            _ if self.ring.submission().is_empty() => {
                let waiting = self.cooperative && self.ring.submission().taskrun();
                if !waiting && !self.ring.submission().cq_overflow() {
                    return Ok(());
                }
                self.ring.submitter().submit_and_wait(0)
            }
            _ => self.ring.submit(),
        };
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if matches!(
                    error.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(io_error("io_uring_enter")(error)),
        }
    }

    fn complete<H: Handler>(&mut self, handler: &mut H, key: u64, result: i32, flags: u32) {
        let (tag, slot, generation) = untoken(key);
        match tag {
            Some(Tag::Accept) => self.accepted(handler, slot, result),
            Some(Tag::Datagram) => self.datagram(handler, slot, result, flags),
            Some(Tag::Receive) => self.received(handler, slot, generation, result, flags),
            Some(Tag::Send) => {
                let connection = &mut self.connections[slot as usize];
                connection.operations -= 1;
                match usize::try_from(result) {
                    Ok(written) => {
                        self.outbox.sent(slot, written);
                        self.outbox.redirty(slot);
                    }
                    Err(_) => self.begin_close(slot, CloseReason::Error(-result)),
                }
                self.finish_close(handler, slot);
            }
            None => {}
        }
    }

    fn accepted<H: Handler>(&mut self, handler: &mut H, index: u32, result: i32) {
        if let Some(listener) = self.listeners.get_mut(index as usize) {
            listener.armed = false;
        }
        if result >= 0 {
            // SAFETY: a successful accept's result is a new descriptor owned by no one else.
            let fd = unsafe { OwnedFd::from_raw_fd(result) };
            let stream = TcpStream::from(fd);
            if !self.outbox.has_free_slot() {
                if handler.make_room(&mut self.outbox, ListenerId(index)) {
                    // The accept is re-armed once the parked connection has its slot.
                    self.parked = Some((stream, index));
                    return;
                }
                // Dropped (closed): the peer sees the refusal at once.
            } else {
                self.admit(handler, index, stream);
            }
        } else if result != -libc::ECANCELED {
            eprintln!(
                "crossline-net: accept failed: {}",
                std::io::Error::from_raw_os_error(-result)
            );
        }
        self.arm_accept(index);
    }

    fn admit<H: Handler>(&mut self, handler: &mut H, index: u32, stream: TcpStream) {
        match self.add_stream(stream) {
            Ok(conn) => handler.on_accept(&mut self.outbox, ListenerId(index), conn),
            Err(error) => eprintln!("crossline-net: connection refused: {error}"),
        }
    }

    /// Gives the parked connection the slot it waits for, if one is free now, and
    /// re-arms its listener's accept.
    fn place_parked<H: Handler>(&mut self, handler: &mut H) {
        if self.parked.is_none() || !self.outbox.has_free_slot() {
            return;
        }
        if let Some((stream, index)) = self.parked.take() {
            self.admit(handler, index, stream);
            self.arm_accept(index);
        }
    }

    fn datagram<H: Handler>(&mut self, handler: &mut H, index: u32, result: i32, flags: u32) {
        let more = cqueue::more(flags);
        if let Ok(length) = usize::try_from(result) {
            if let Some(id) = cqueue::buffer_select(flags) {
                let data = self.buffer_ring.buffer(id, length);
                handler.on_datagram(&mut self.outbox, UdpId(index), data);
                self.buffer_ring.give_back(id);
            } else if let Some(udp) = self.udp.get(index as usize) {
                handler.on_datagram(&mut self.outbox, UdpId(index), &udp.buffer[..length]);
            }
        } else if result == -libc::EINVAL && self.multishot {
            self.multishot = false;
        }
        if !more {
            if let Some(udp) = self.udp.get_mut(index as usize) {
                udp.armed = false;
            }
            self.arm_datagram(index);
        }
    }

    fn received<H: Handler>(
        &mut self,
        handler: &mut H,
        slot: u32,
        generation: u32,
        result: i32,
        flags: u32,
    ) {
        let more = cqueue::more(flags);
        if !more {
            let connection = &mut self.connections[slot as usize];
            connection.operations -= 1;
            connection.receive_armed = false;
        }
        let live = self.outbox.id(slot).filter(|c| c.generation == generation);
        match (live, usize::try_from(result)) {
            (Some(conn), Ok(0)) => {
                self.release_buffer(flags);
                self.begin_close(conn.slot, CloseReason::PeerClosed);
            }
            (Some(conn), Ok(length)) => self.deliver(handler, conn, length, flags),
            (Some(conn), Err(_)) if result == -libc::EINVAL && self.multishot => {
                // The kernel has no multishot receive: single-shot reads from now on.
                self.multishot = false;
                self.arm_receive(conn);
            }
            (Some(conn), Err(_)) if result == -libc::ENOBUFS => self.arm_receive(conn),
            (Some(conn), Err(_)) => self.begin_close(conn.slot, CloseReason::Error(-result)),
            (None, _) => self.release_buffer(flags),
        }
        if let Some(conn) = live {
            if !more && self.connections[conn.slot()].closing.is_none() {
                self.arm_receive(conn);
            }
        }
        self.finish_close(handler, slot);
    }

    fn release_buffer(&mut self, flags: u32) {
        if let Some(id) = cqueue::buffer_select(flags) {
            self.buffer_ring.give_back(id);
        }
    }

    /// Hands `length` new bytes to the handler: straight from the provided buffer when
    /// nothing older waits, else after the older bytes in the connection's buffer.
    fn deliver<H: Handler>(&mut self, handler: &mut H, conn: ConnId, length: usize, flags: u32) {
        let connection = &mut self.connections[conn.slot()];
        let capacity = connection.receive.len();
        match cqueue::buffer_select(flags) {
            Some(id) if connection.received == 0 => {
                let data = self.buffer_ring.buffer(id, length);
                let consumed = handler.on_data(&mut self.outbox, conn, data).min(length);
                let rest = length - consumed;
                if rest > capacity {
                    self.buffer_ring.give_back(id);
                    self.begin_close(conn.slot, CloseReason::ReceiveOverflow);
                    return;
                }
                connection.receive[..rest].copy_from_slice(&data[consumed..]);
                connection.received = rest;
                self.buffer_ring.give_back(id);
            }
            Some(id) => {
                if connection.received + length > capacity {
                    self.buffer_ring.give_back(id);
                    self.begin_close(conn.slot, CloseReason::ReceiveOverflow);
                    return;
                }
                let data = self.buffer_ring.buffer(id, length);
                connection.receive[connection.received..connection.received + length]
                    .copy_from_slice(data);
                connection.received += length;
                self.buffer_ring.give_back(id);
                self.consume(handler, conn);
            }
            None => {
                // Single-shot read: the bytes are already in the connection's buffer.
                connection.received += length;
                self.consume(handler, conn);
                if self.connections[conn.slot()].received == capacity {
                    self.begin_close(conn.slot, CloseReason::ReceiveOverflow);
                }
            }
        }
    }

    fn consume<H: Handler>(&mut self, handler: &mut H, conn: ConnId) {
        let connection = &mut self.connections[conn.slot()];
        let received = connection.received;
        let consumed = handler
            .on_data(&mut self.outbox, conn, &connection.receive[..received])
            .min(received);
        connection.receive.copy_within(consumed..received, 0);
        connection.received = received - consumed;
    }

    fn flush<H: Handler>(&mut self, handler: &mut H) {
        let mut dirty = std::mem::take(&mut self.dirty);
        self.outbox.swap_dirty(&mut dirty);
        for &slot in &dirty {
            self.flush_slot(handler, slot);
        }
        dirty.clear();
        self.dirty = dirty;
    }

    fn flush_slot<H: Handler>(&mut self, handler: &mut H, slot: u32) {
        let Some(conn) = self.outbox.id(slot) else {
            return;
        };
        let connection = &self.connections[conn.slot()];
        let Some(stream) = connection.stream.as_ref() else {
            return;
        };
        if connection.closing.is_some() || self.outbox.in_flight(slot) {
            // One send in flight per connection keeps bytes in order; its completion
            // marks the slot dirty again.
            return;
        }
        let fd = types::Fd(stream.as_raw_fd());
        let (offset, waiting) = self.outbox.waiting(slot);
        if waiting.is_empty() {
            if self.outbox.slot(slot).state == SlotState::Closing {
                self.begin_close(slot, CloseReason::Local);
                self.finish_close(handler, slot);
            }
            return;
        }
        let length = waiting.len();
        let (base, _) = self.outbox.buffer_region(conn.slot());
        #[allow(clippy::cast_possible_truncation)] // buffers are at most 64 MiB; slots < 8192
        let entry =
            opcode::WriteFixed::new(fd, base.wrapping_add(offset), length as u32, slot as u16)
                .build()
                .user_data(token(Tag::Send, slot, conn.generation));
        self.outbox.start_send(slot, length);
        self.connections[conn.slot()].operations += 1;
        self.push(&entry);
    }

    /// Starts ending a connection: `shutdown(2)` makes its pending operations complete.
    fn begin_close(&mut self, slot: u32, reason: CloseReason) {
        let connection = &mut self.connections[slot as usize];
        if connection.closing.is_some() {
            return;
        }
        connection.closing = Some(reason);
        if let Some(stream) = connection.stream.as_ref() {
            // ENOTCONN (the peer already went) is fine: the operations end either way.
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Frees a closing connection once none of its operations is left in the kernel.
    fn finish_close<H: Handler>(&mut self, handler: &mut H, slot: u32) {
        let connection = &mut self.connections[slot as usize];
        let Some(reason) = connection.closing else {
            return;
        };
        if connection.operations > 0 {
            return;
        }
        let Some(conn) = self.outbox.id(slot) else {
            return;
        };
        connection.stream = None;
        connection.received = 0;
        connection.closing = None;
        self.outbox.free(slot);
        handler.on_close(conn, reason);
    }
}
