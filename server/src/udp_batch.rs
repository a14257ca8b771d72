//! Batched UDP system calls (Linux `recvmmsg` and `sendmmsg`): many datagrams per system call, where
//! one `recvfrom` or `sendto` each would make the system calls the server's main cost.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Datagrams one call takes at most.
pub(crate) const BATCH: usize = 32;

/// Buffers for receiving up to [`BATCH`] datagrams of up to `size` bytes in one call.
pub(crate) struct RecvBatch {
    data: Vec<u8>,
    size: usize,
    addresses: Vec<libc::sockaddr_storage>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers in `iovecs` and `headers` point into the batch's own buffers and are
// rebuilt before every call; nothing else ever reads them.
unsafe impl Send for RecvBatch {}

impl RecvBatch {
    pub(crate) fn new(size: usize) -> Self {
        RecvBatch {
            data: vec![0; size * BATCH],
            size,
            // SAFETY: all-zero is a valid sockaddr_storage, iovec and mmsghdr.
            addresses: vec![unsafe { std::mem::zeroed() }; BATCH],
            iovecs: vec![unsafe { std::mem::zeroed() }; BATCH],
            headers: vec![unsafe { std::mem::zeroed() }; BATCH],
        }
    }

    /// Receives what is waiting without blocking: the number of datagrams (an error of kind
    /// WouldBlock when there is none).
    pub(crate) fn receive(&mut self, fd: RawFd) -> io::Result<usize> {
        for index in 0..BATCH {
            self.iovecs[index] =
                libc::iovec { iov_base: self.data[index * self.size..].as_mut_ptr().cast(), iov_len: self.size };
            let header = &mut self.headers[index].msg_hdr;
            header.msg_name = (&mut self.addresses[index] as *mut libc::sockaddr_storage).cast();
            header.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_iov = &mut self.iovecs[index];
            header.msg_iovlen = 1;
            header.msg_control = std::ptr::null_mut();
            header.msg_controllen = 0;
            header.msg_flags = 0;
            self.headers[index].msg_len = 0;
        }
        // SAFETY: BATCH headers, each naming a buffer of `size` bytes and an address slot of the length
        // given, all owned by `self` and alive for the call.
        let received = unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(received as usize)
    }

    /// Datagram `index` of the last [`receive`](Self::receive): its bytes (cut at `size`; a longer one
    /// is reported truncated) and its source.
    pub(crate) fn get(&self, index: usize) -> (&[u8], Option<SocketAddr>, bool) {
        let header = &self.headers[index];
        let len = (header.msg_len as usize).min(self.size);
        let truncated = header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        let start = index * self.size;
        (&self.data[start..start + len], to_socket_addr(&self.addresses[index]), truncated)
    }
}

/// Up to [`BATCH`] datagrams for one destination, sent in one call.
pub(crate) struct SendBatch {
    buffers: Vec<Vec<u8>>,
    filled: usize,
}

impl SendBatch {
    pub(crate) fn new() -> Self {
        SendBatch { buffers: (0..BATCH).map(|_| Vec::with_capacity(1500)).collect(), filled: 0 }
    }

    /// The next buffer to fill (its contents are replaced by the caller).
    pub(crate) fn next_buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buffers[self.filled]
    }

    /// Keeps the buffer [`next_buffer`](Self::next_buffer) returned. Returns whether the batch is full.
    pub(crate) fn commit(&mut self) -> bool {
        self.filled += 1;
        self.filled == BATCH
    }

    /// Sends what was committed to `to`. Returns the bytes and the datagrams sent; what the kernel did
    /// not take is dropped (the link sends again what mattered).
    pub(crate) fn send(&mut self, fd: RawFd, to: SocketAddr) -> (usize, usize) {
        let count = std::mem::take(&mut self.filled);
        if count == 0 {
            return (0, 0);
        }
        let (mut address, address_len) = to_storage(to);
        // SAFETY: all-zero is a valid iovec and mmsghdr.
        let mut iovecs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for index in 0..count {
            let buffer = &mut self.buffers[index];
            iovecs[index] = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
            let header = &mut headers[index].msg_hdr;
            header.msg_name = (&mut address as *mut libc::sockaddr_storage).cast();
            header.msg_namelen = address_len;
            header.msg_iov = &mut iovecs[index];
            header.msg_iovlen = 1;
        }
        let mut sent = 0;
        while sent < count {
            // SAFETY: `count - sent` headers naming buffers and an address alive for the call.
            let result = unsafe {
                libc::sendmmsg(fd, headers[sent..].as_mut_ptr(), (count - sent) as libc::c_uint, libc::MSG_DONTWAIT)
            };
            if result <= 0 {
                if result < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            sent += result as usize;
        }
        let bytes = self.buffers[..sent].iter().map(Vec::len).sum();
        (bytes, sent)
    }
}

fn to_socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in, which fits in sockaddr_storage.
            let address = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(address.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(address.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6, which fits in sockaddr_storage.
            let address = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(address.sin6_addr.s6_addr);
            let port = u16::from_be(address.sin6_port);
            Some(SocketAddr::V6(SocketAddrV6::new(ip, port, address.sin6_flowinfo, address.sin6_scope_id)))
        }
        _ => None,
    }
}

fn to_storage(address: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match address {
        SocketAddr::V4(v4) => {
            // SAFETY: a sockaddr_in fits in sockaddr_storage.
            let out = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            out.sin_family = libc::AF_INET as libc::sa_family_t;
            out.sin_port = v4.port().to_be();
            out.sin_addr = libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: a sockaddr_in6 fits in sockaddr_storage.
            let out = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            out.sin6_port = v6.port().to_be();
            out.sin6_addr = libc::in6_addr { s6_addr: v6.ip().octets() };
            out.sin6_flowinfo = v6.flowinfo();
            out.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_batch_goes_out_in_one_call_and_comes_back_in_one() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = SendBatch::new();
        for n in 0..5u8 {
            let buffer = batch.next_buffer();
            buffer.clear();
            buffer.extend(std::iter::repeat_n(n, 100 + n as usize));
            assert!(!batch.commit());
        }
        let (bytes, datagrams) = batch.send(sender.as_raw_fd(), receiver.local_addr().unwrap());
        assert_eq!((bytes, datagrams), (510, 5));
        let mut receive = RecvBatch::new(2048);
        let mut got = Vec::new();
        while got.len() < 5 {
            match receive.receive(receiver.as_raw_fd()) {
                Ok(count) => {
                    for index in 0..count {
                        let (data, from, truncated) = receive.get(index);
                        assert_eq!(from, Some(sender.local_addr().unwrap()));
                        assert!(!truncated);
                        got.push(data.to_vec());
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(error) => panic!("{error}"),
            }
        }
        for (n, data) in got.iter().enumerate() {
            assert_eq!(data, &vec![n as u8; 100 + n]);
        }
    }

    #[test]
    fn addresses_convert_both_ways() {
        for address in ["192.0.2.7:5055", "[2001:db8::1]:4530"] {
            let address: SocketAddr = address.parse().unwrap();
            let (storage, _) = to_storage(address);
            assert_eq!(to_socket_addr(&storage), Some(address));
        }
    }
}
