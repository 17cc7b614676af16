//! The few raw system calls the backends make that std does not wrap.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub(crate) fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1 takes no pointers; it returns a new descriptor or -1.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a descriptor epoll_create1 just returned; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `epoll_ctl` for `fd` with `events` and `token` as the event's data.
pub(crate) fn epoll_ctl(
    epoll: &OwnedFd,
    operation: i32,
    fd: RawFd,
    events: u32,
    token: u64,
) -> io::Result<()> {
    let mut event = libc::epoll_event { events, u64: token };
    // SAFETY: `event` is a valid epoll_event for the duration of the call; the kernel
    // copies it and keeps no pointer.
    let result = unsafe { libc::epoll_ctl(epoll.as_raw_fd(), operation, fd, &mut event) };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `epoll_wait` into `events`; returns how many were filled.
pub(crate) fn epoll_wait(
    epoll: &OwnedFd,
    events: &mut [libc::epoll_event],
    timeout_ms: i32,
) -> io::Result<usize> {
    let capacity = i32::try_from(events.len()).unwrap_or(i32::MAX);
    // SAFETY: the kernel writes at most `capacity` events into `events`, which has that
    // many elements.
    let count =
        unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), capacity, timeout_ms) };
    if count < 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(error);
    }
    Ok(usize::try_from(count).unwrap_or(0))
}

static BUSY_POLL_REFUSED: AtomicBool = AtomicBool::new(false);

/// Sets `SO_BUSY_POLL` (microseconds) on a socket. A refusal (it needs `CAP_NET_ADMIN` on
/// some kernels) is logged once; the socket works without it.
pub(crate) fn set_busy_poll(fd: RawFd, microseconds: u32) {
    if microseconds == 0 {
        return;
    }
    let value = i32::try_from(microseconds).unwrap_or(i32::MAX);
    let size = u32::try_from(size_of::<i32>()).unwrap_or(4);
    // SAFETY: `value` is an i32 the kernel reads `size` bytes of during the call.
    let result = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_BUSY_POLL,
            (&raw const value).cast(),
            size,
        )
    };
    if result < 0 && !BUSY_POLL_REFUSED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "crossline-net: SO_BUSY_POLL = {microseconds} refused ({}); sockets run without it",
            io::Error::last_os_error()
        );
    }
}

/// Sets `SO_RCVBUF` to `bytes` on a socket; when the kernel grants less (it caps the
/// request at `net.core.rmem_max`, and reports twice what it keeps, for its bookkeeping),
/// says so with what it granted. The socket works either way.
pub(crate) fn set_receive_buffer(socket: &impl std::os::fd::AsFd, bytes: usize) {
    use rustix::net::sockopt::{set_socket_recv_buffer_size, socket_recv_buffer_size};
    let granted =
        set_socket_recv_buffer_size(socket, bytes).and_then(|()| socket_recv_buffer_size(socket));
    match granted {
        Err(error) => eprintln!(
            "crossline-net: SO_RCVBUF = {bytes} refused ({error}); the socket keeps the default"
        ),
        Ok(granted) if granted / 2 < bytes => eprintln!(
            "crossline-net: SO_RCVBUF = {bytes} capped by the kernel at {} bytes (raise \
             net.core.rmem_max to grant more)",
            granted / 2
        ),
        Ok(_) => {}
    }
}

/// The `errno` of an I/O error, or `EIO` when it has none.
pub(crate) fn errno(error: &io::Error) -> i32 {
    error.raw_os_error().unwrap_or(libc::EIO)
}

/// Bytes in `fd`'s kernel send queue not yet acknowledged by the peer (`SIOCOUTQ`); zero
/// when the call fails (the socket is gone: nothing more will be sent on it).
pub(crate) fn unsent_bytes(fd: RawFd) -> usize {
    let mut queued: libc::c_int = 0;
    // SAFETY: `queued` is a valid c_int for the duration of the call; the kernel writes
    // the count into it and keeps no pointer.
    let result = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
    if result < 0 {
        return 0;
    }
    usize::try_from(queued).unwrap_or(0)
}

/// Whether any of `streams` has bytes in its kernel send queue ([`unsent_bytes`]).
pub(crate) fn any_unsent<'a>(mut streams: impl Iterator<Item = &'a std::net::TcpStream>) -> bool {
    streams.any(|stream| unsent_bytes(stream.as_raw_fd()) > 0)
}
