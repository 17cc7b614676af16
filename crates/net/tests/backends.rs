//! The transport's behaviour, run identically on both backends (and on io_uring's
//! single-shot fallback): every test body takes the set-up as its argument and the `both!`
//! macro makes one test per set-up.
#![allow(clippy::cast_possible_truncation)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crossline_net::{
    Backend, CloseReason, ConnId, Handler, ListenerId, NetConfig, Outbox, SendError, Transport,
    UdpId,
};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod io_uring {
            $(#[test] fn $name() { super::$name(super::Setup::IoUring) })*
        }
        mod io_uring_single_shot {
            $(#[test] fn $name() { super::$name(super::Setup::IoUringSingleShot) })*
        }
        mod epoll {
            $(#[test] fn $name() { super::$name(super::Setup::Epoll) })*
        }
    };
}

/// The backends, and io_uring's fallback receive path.
#[derive(Debug, Clone, Copy)]
enum Setup {
    IoUring,
    IoUringSingleShot,
    Epoll,
}

both!(
    echoes_frames_in_order_across_clients,
    reassembles_bytes_arriving_one_at_a_time,
    reports_peer_close,
    local_close_sends_what_was_queued_first,
    refuses_a_send_that_does_not_fit,
    connects_out_and_talks_both_ways,
    receives_datagrams,
    refuses_connections_past_the_maximum,
    holds_a_connection_while_the_handler_makes_room,
    room_grows_as_the_peer_reads,
    closes_a_connection_whose_frame_outgrows_the_buffer,
    a_stale_id_cannot_send,
    a_full_handler_gets_no_arrivals_until_it_has_room,
);

const DEADLINE: Duration = Duration::from_secs(10);

fn config(setup: Setup) -> NetConfig {
    let (backend, multishot) = match setup {
        Setup::IoUring => (Backend::IoUring, true),
        Setup::IoUringSingleShot => (Backend::IoUring, false),
        Setup::Epoll => (Backend::Epoll, true),
    };
    NetConfig {
        backend,
        multishot,
        connections_max: 8,
        receive_buffer_bytes: 1024,
        send_buffer_bytes: 4096,
        ring_entries: 64,
        provided_buffers: 64,
        provided_buffer_bytes: 1024,
        ..NetConfig::default()
    }
}

/// Echoes whole 8-byte frames; records what happened.
#[derive(Default)]
struct Recorder {
    accepted: Vec<ConnId>,
    closed: Vec<(ConnId, CloseReason)>,
    datagrams: Vec<Vec<u8>>,
    frame_bytes: usize,
    echo: bool,
    /// Asked for room with every slot in use: close the oldest connection still open.
    evict_oldest: bool,
    room_asked: usize,
    /// Arrivals it can still take (`None`: no limit); each `on_data` or datagram takes one.
    deliveries: Option<usize>,
    arrivals: usize,
}

impl Handler for Recorder {
    fn on_accept(&mut self, _out: &mut Outbox, _listener: ListenerId, conn: ConnId) {
        self.accepted.push(conn);
    }
    fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize {
        self.arrivals += 1;
        if let Some(left) = self.deliveries.as_mut() {
            assert!(*left > 0, "an arrival the handler had no room for");
            *left -= 1;
        }
        if self.frame_bytes == 0 {
            return 0;
        }
        let whole = data.len() / self.frame_bytes * self.frame_bytes;
        if self.echo {
            out.send(conn, &data[..whole]).expect("echo fits");
        }
        whole
    }
    fn on_close(&mut self, conn: ConnId, reason: CloseReason) {
        self.closed.push((conn, reason));
    }
    fn make_room(&mut self, out: &mut Outbox, _listener: ListenerId) -> bool {
        self.room_asked += 1;
        let oldest = self
            .accepted
            .iter()
            .copied()
            .find(|&conn| out.is_open(conn));
        match oldest {
            Some(conn) if self.evict_oldest => {
                out.close(conn);
                true
            }
            _ => false,
        }
    }
    fn on_datagram(&mut self, _out: &mut Outbox, _socket: UdpId, data: &[u8]) {
        self.arrivals += 1;
        if let Some(left) = self.deliveries.as_mut() {
            assert!(*left > 0, "a datagram the handler had no room for");
            *left -= 1;
        }
        self.datagrams.push(data.to_vec());
    }
    fn deliveries_max(&self) -> usize {
        self.deliveries.unwrap_or(usize::MAX)
    }
}

fn echo_recorder() -> Recorder {
    Recorder {
        frame_bytes: 8,
        echo: true,
        ..Recorder::default()
    }
}

fn server(setup: Setup) -> (Transport, SocketAddr) {
    let mut net = Transport::new(&config(setup)).expect("transport");
    let expected = match setup {
        Setup::IoUring => "multishot",
        Setup::IoUringSingleShot => "single-shot",
        Setup::Epoll => "readiness",
    };
    assert_eq!(net.receive_mode(), expected);
    let (_, address) = net.listen("127.0.0.1:0".parse().unwrap()).expect("listen");
    (net, address)
}

/// Polls until `done` holds, failing the test after the deadline.
fn poll_until(
    net: &mut Transport,
    handler: &mut Recorder,
    mut done: impl FnMut(&Recorder) -> bool,
) {
    let start = Instant::now();
    while !done(handler) {
        net.poll(handler, Some(Duration::from_millis(1)))
            .expect("poll");
        assert!(start.elapsed() < DEADLINE, "timed out waiting");
    }
}

fn client(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    stream
}

/// Reads exactly `length` bytes from `stream`, polling the transport meanwhile.
fn read_exact(
    net: &mut Transport,
    handler: &mut Recorder,
    stream: &mut TcpStream,
    length: usize,
) -> Vec<u8> {
    let mut bytes = vec![0u8; length];
    let mut got = 0;
    let start = Instant::now();
    while got < length {
        net.poll(handler, None).expect("poll");
        match stream.read(&mut bytes[got..]) {
            Ok(0) => panic!("closed after {got} of {length} bytes"),
            Ok(n) => got += n,
            Err(_) => {}
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {got} of {length} bytes"
        );
    }
    bytes
}

fn echoes_frames_in_order_across_clients(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = echo_recorder();
    let mut clients: Vec<TcpStream> = (0..4).map(|_| client(address)).collect();
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 4);
    for round in 0u32..200 {
        for (index, stream) in clients.iter_mut().enumerate() {
            let mut frame = [0u8; 8];
            frame[..4].copy_from_slice(&round.to_le_bytes());
            frame[4..].copy_from_slice(&(index as u32).to_le_bytes());
            stream.write_all(&frame).unwrap();
        }
    }
    for (index, stream) in clients.iter_mut().enumerate() {
        let bytes = read_exact(&mut net, &mut handler, stream, 200 * 8);
        for (round, frame) in bytes.chunks(8).enumerate() {
            assert_eq!(frame[..4], (round as u32).to_le_bytes());
            assert_eq!(frame[4..], (index as u32).to_le_bytes());
        }
    }
    assert_eq!(net.connections_open(), 4);
}

fn reassembles_bytes_arriving_one_at_a_time(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = echo_recorder();
    let mut stream = client(address);
    stream.set_nodelay(true).unwrap();
    let message: Vec<u8> = (0u8..24).collect();
    for byte in &message {
        stream.write_all(&[*byte]).unwrap();
        net.poll(&mut handler, None).unwrap();
    }
    assert_eq!(read_exact(&mut net, &mut handler, &mut stream, 24), message);
}

fn reports_peer_close(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = echo_recorder();
    let stream = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 1);
    drop(stream);
    poll_until(&mut net, &mut handler, |h| h.closed.len() == 1);
    assert_eq!(
        handler.closed[0],
        (handler.accepted[0], CloseReason::PeerClosed)
    );
    assert_eq!(net.connections_open(), 0);
}

fn local_close_sends_what_was_queued_first(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = echo_recorder();
    let mut stream = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 1);
    let conn = handler.accepted[0];
    let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    net.outbox().send(conn, &payload).unwrap();
    net.outbox().close(conn);
    assert_eq!(net.outbox().send(conn, b"late"), Err(SendError::Closed));
    poll_until(&mut net, &mut handler, |h| h.closed.len() == 1);
    assert_eq!(handler.closed[0], (conn, CloseReason::Local));
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    assert_eq!(received, payload);
}

fn refuses_a_send_that_does_not_fit(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = echo_recorder();
    let _stream = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 1);
    let conn = handler.accepted[0];
    net.outbox().send(conn, &[7u8; 4000]).unwrap();
    assert_eq!(
        net.outbox().send(conn, &[7u8; 200]),
        Err(SendError::Full {
            queued: 4000,
            capacity: 4096,
            wanted: 200
        })
    );
    // The refused send queued nothing: the connection is still usable.
    assert_eq!(net.outbox().queued(conn), 4000);
    assert!(net.outbox().is_open(conn));
}

fn connects_out_and_talks_both_ways(setup: Setup) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let mut net = Transport::new(&config(setup)).unwrap();
    let mut handler = Recorder {
        frame_bytes: 8,
        ..Recorder::default()
    };
    let conn = net.connect(address, Duration::from_secs(1)).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    net.outbox().send(conn, b"outbound").unwrap();
    net.poll(&mut handler, None).unwrap();
    let mut got = [0u8; 8];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"outbound");
    peer.write_all(b"inbound!").unwrap();
    drop(peer);
    poll_until(&mut net, &mut handler, |h| !h.closed.is_empty());
    assert_eq!(handler.closed, vec![(conn, CloseReason::PeerClosed)]);
}

fn receives_datagrams(setup: Setup) {
    let mut net = Transport::new(&config(setup)).unwrap();
    let (_, address) = net.bind_udp("127.0.0.1:0".parse().unwrap(), 0).unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut handler = Recorder::default();
    for index in 0u8..10 {
        sender.send_to(&[index; 100], address).unwrap();
    }
    poll_until(&mut net, &mut handler, |h| h.datagrams.len() == 10);
    for (index, datagram) in handler.datagrams.iter().enumerate() {
        assert_eq!(datagram, &vec![index as u8; 100]);
    }
}

fn refuses_connections_past_the_maximum(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = echo_recorder();
    let mut clients: Vec<TcpStream> = (0..8).map(|_| client(address)).collect();
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 8);
    let mut extra = client(address);
    extra
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let start = Instant::now();
    let mut buffer = [0u8; 8];
    loop {
        net.poll(&mut handler, None).unwrap();
        match extra.read(&mut buffer) {
            Ok(0) => break,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            _ => {}
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the ninth connection was not refused"
        );
    }
    // The eight admitted connections are untouched.
    clients[3].write_all(&[3u8; 8]).unwrap();
    assert_eq!(
        read_exact(&mut net, &mut handler, &mut clients[3], 8),
        vec![3u8; 8]
    );
    assert_eq!(net.connections_open(), 8);
}

fn holds_a_connection_while_the_handler_makes_room(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = Recorder {
        evict_oldest: true,
        ..echo_recorder()
    };
    let mut clients: Vec<TcpStream> = (0..8).map(|_| client(address)).collect();
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 8);
    let first = handler.accepted[0];
    // A ninth: the handler closes the oldest, and the ninth gets its slot.
    let mut ninth = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 9);
    assert_eq!(handler.room_asked, 1);
    assert_eq!(handler.closed, vec![(first, CloseReason::Local)]);
    assert_eq!(handler.accepted[8].slot(), first.slot());
    ninth.write_all(&[9u8; 8]).unwrap();
    assert_eq!(
        read_exact(&mut net, &mut handler, &mut ninth, 8),
        vec![9u8; 8]
    );
    let mut byte = [0u8; 1];
    let start = Instant::now();
    loop {
        match clients[0].read(&mut byte) {
            Ok(0) => break,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            _ => {}
        }
        net.poll(&mut handler, None).unwrap();
        assert!(start.elapsed() < DEADLINE, "the oldest was not closed");
    }
    assert_eq!(net.connections_open(), 8);
}

fn room_grows_as_the_peer_reads(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = Recorder::default();
    let mut peer = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 1);
    let conn = handler.accepted[0];
    let capacity = net.outbox().buffer_bytes();
    assert_eq!(net.outbox().room(conn), capacity);
    // Far more than the send buffer holds, sent only as room allows: all of it arrives
    // in order, and no send is refused.
    let total = capacity * 64;
    let mut sent = 0usize;
    let mut received = Vec::with_capacity(total);
    let start = Instant::now();
    while received.len() < total {
        let room = net.outbox().room(conn);
        let chunk = room.min(total - sent);
        if chunk > 0 {
            let bytes: Vec<u8> = (sent..sent + chunk).map(|i| i as u8).collect();
            net.outbox()
                .send(conn, &bytes)
                .expect("what room allows fits");
            sent += chunk;
        }
        net.poll(&mut handler, None).unwrap();
        let mut chunk = [0u8; 1024];
        if let Ok(n) = peer.read(&mut chunk) {
            received.extend_from_slice(&chunk[..n]);
        }
        assert!(start.elapsed() < DEADLINE, "stalled at {}", received.len());
    }
    assert!(received.iter().enumerate().all(|(i, &b)| b == i as u8));
    net.outbox().close(conn);
    assert_eq!(net.outbox().room(conn), 0);
}

fn closes_a_connection_whose_frame_outgrows_the_buffer(setup: Setup) {
    let (mut net, address) = server(setup);
    // Consumes nothing: the bytes pile up in the 1 KiB receive buffer.
    let mut handler = Recorder::default();
    let mut stream = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 1);
    let _ = stream.write_all(&[0u8; 2048]);
    poll_until(&mut net, &mut handler, |h| !h.closed.is_empty());
    assert_eq!(handler.closed[0].1, CloseReason::ReceiveOverflow);
}

fn a_stale_id_cannot_send(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = echo_recorder();
    let stream = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 1);
    let first = handler.accepted[0];
    drop(stream);
    poll_until(&mut net, &mut handler, |h| h.closed.len() == 1);
    let _second = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 2);
    assert_eq!(handler.accepted[1].slot(), first.slot());
    assert_eq!(net.outbox().send(first, b"x"), Err(SendError::Closed));
    net.outbox().send(handler.accepted[1], b"y").unwrap();
}

fn a_full_handler_gets_no_arrivals_until_it_has_room(setup: Setup) {
    let (mut net, address) = server(setup);
    let mut handler = echo_recorder();
    let (_, udp_address) = net.bind_udp("127.0.0.1:0".parse().unwrap(), 0).unwrap();
    let mut stream = client(address);
    poll_until(&mut net, &mut handler, |h| h.accepted.len() == 1);
    // Full: frames and datagrams arrive, and wait.
    handler.deliveries = Some(0);
    stream.write_all(&[7u8; 64]).unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.send_to(b"datagram", udp_address).unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(200) {
        net.poll(&mut handler, Some(Duration::from_millis(5)))
            .unwrap();
    }
    assert_eq!(
        handler.arrivals, 0,
        "nothing was delivered to a full handler"
    );
    assert!(handler.closed.is_empty(), "waiting is not an error");
    // Room again: everything arrives, the frames echoed whole and in order.
    handler.deliveries = None;
    poll_until(&mut net, &mut handler, |h| h.datagrams.len() == 1);
    let echoed = read_exact(&mut net, &mut handler, &mut stream, 64);
    assert_eq!(echoed, vec![7u8; 64]);
}
