//! A blocking TCP client over wasi:sockets with deadlines, as `std::io::Read + Write`.
//!
//! The SDK has no TCP helper and std's sockets on wasip2 have no connect timeout, so this module
//! talks to wasi:sockets directly: every wait polls the socket or stream together with a
//! monotonic-clock timer, which is how a connect or read gets a timeout inside the component.
//! The host decides what may be reached (`allow.tcp`); a refused grant surfaces as
//! `access-denied` and becomes [`ActionError::Denied`].

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use tocsin_plugin_sdk::ActionError;
use wasi::clocks::monotonic_clock;
use wasi::io::poll::{Pollable, poll};
use wasi::io::streams::{InputStream, OutputStream, StreamError};
use wasi::sockets::instance_network::instance_network;
use wasi::sockets::ip_name_lookup::resolve_addresses;
use wasi::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use wasi::sockets::tcp::{ShutdownType, TcpSocket};
use wasi::sockets::tcp_create_socket::create_tcp_socket;

/// An open TCP connection. Reads and writes wait at most `io_timeout` for progress.
///
/// Writes are buffered until `flush` (or a read): wasi:sockets has no TCP_NODELAY, so two small
/// writes in a row (a TLS ChangeCipherSpec and Finished, a command and its data) would wait for
/// the peer's delayed ACK, ~40 ms on Linux. One write per flush avoids that stall.
pub struct Connection {
    // Field order is drop order: the streams are children of the socket and must go first.
    input: InputStream,
    output: OutputStream,
    socket: TcpSocket,
    io_timeout: Duration,
    unsent: Vec<u8>,
}

/// Buffered bytes beyond which a write sends without waiting for `flush`.
const MAX_UNSENT: usize = 64 * 1024;

/// Where a connection goes, for messages: `host:port`.
pub fn endpoint(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Open a connection to `host:port`, trying each resolved address in turn, within `timeout`.
pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<Connection, ActionError> {
    let target = endpoint(host, port);
    let deadline = Deadline::after(timeout);
    let network = instance_network();
    // Without any TCP grant the host refuses socket creation; say which grant is missing
    // (the host only explains denials it sees at connect time).
    if let Err(ErrorCode::AccessDenied) = create_tcp_socket(IpAddressFamily::Ipv4) {
        return Err(not_granted(&target));
    }
    let addresses = resolve(&network, host, &target, &deadline)?;
    let mut last_error = None;
    for address in addresses {
        match connect_one(&network, address, port, &deadline) {
            Ok((socket, input, output)) => {
                return Ok(Connection {
                    input,
                    output,
                    socket,
                    io_timeout: timeout,
                    unsent: Vec::new(),
                });
            }
            Err(ErrorCode::AccessDenied) => return Err(not_granted(&target)),
            Err(ErrorCode::Timeout) => {
                return Err(ActionError::Retryable(format!(
                    "connecting to {target} timed out after {} ms",
                    timeout.as_millis()
                )));
            }
            Err(e) => last_error = Some(e),
        }
    }
    let reason = last_error.map_or("no address", |e| e.name());
    Err(ActionError::Retryable(format!(
        "could not connect to {target}: {reason}"
    )))
}

fn not_granted(target: &str) -> ActionError {
    ActionError::Denied(format!(
        "the host denied a TCP connection to {target}: add `{target}` to `allow.tcp` in this instance's kind: Plugin document"
    ))
}

fn resolve(
    network: &Network,
    host: &str,
    target: &str,
    deadline: &Deadline,
) -> Result<Vec<IpAddress>, ActionError> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                IpAddress::Ipv4((a, b, c, d))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddress::Ipv6((s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]))
            }
        }]);
    }
    let lookup_error = |e: ErrorCode| match e {
        ErrorCode::AccessDenied => not_granted(target),
        ErrorCode::NameUnresolvable => {
            ActionError::Failed(format!("the host name of {target} does not resolve"))
        }
        other => ActionError::Retryable(format!(
            "resolving the host name of {target} failed: {}",
            other.name()
        )),
    };
    let stream = resolve_addresses(network, host).map_err(lookup_error)?;
    let mut addresses = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(address)) => addresses.push(address),
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => {
                if !deadline.wait(&stream.subscribe()) {
                    return Err(ActionError::Retryable(format!(
                        "resolving the host name of {target} timed out"
                    )));
                }
            }
            Err(e) => return Err(lookup_error(e)),
        }
    }
    Ok(addresses)
}

fn connect_one(
    network: &Network,
    address: IpAddress,
    port: u16,
    deadline: &Deadline,
) -> Result<(TcpSocket, InputStream, OutputStream), ErrorCode> {
    let (family, remote) = match address {
        IpAddress::Ipv4(address) => (
            IpAddressFamily::Ipv4,
            IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
        ),
        IpAddress::Ipv6(address) => (
            IpAddressFamily::Ipv6,
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port,
                address,
                flow_info: 0,
                scope_id: 0,
            }),
        ),
    };
    let socket = create_tcp_socket(family)?;
    socket.start_connect(network, remote)?;
    loop {
        match socket.finish_connect() {
            Ok((input, output)) => return Ok((socket, input, output)),
            Err(ErrorCode::WouldBlock) => {
                if !deadline.wait(&socket.subscribe()) {
                    return Err(ErrorCode::Timeout);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

impl Connection {
    /// Close the sending side (best effort: the peer may already be gone).
    pub fn shutdown(&self) {
        let _ = self.socket.shutdown(ShutdownType::Both);
    }
}

impl io::Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // The peer may be waiting for what we buffered before it answers.
        self.send_unsent()?;
        let deadline = Deadline::after(self.io_timeout);
        loop {
            match self.input.read(buf.len() as u64) {
                Ok(bytes) if bytes.is_empty() => {
                    if !deadline.wait(&self.input.subscribe()) {
                        return Err(timed_out("reading", self.io_timeout));
                    }
                }
                Ok(bytes) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    return Ok(bytes.len());
                }
                Err(StreamError::Closed) => return Ok(0),
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        e.to_debug_string(),
                    ));
                }
            }
        }
    }
}

impl Connection {
    /// Hand every buffered byte to the host's stream, as budget allows.
    fn send_unsent(&mut self) -> io::Result<()> {
        let deadline = Deadline::after(self.io_timeout);
        let mut sent = 0;
        while sent < self.unsent.len() {
            let room = self.output.check_write().map_err(stream_error)?;
            if room == 0 {
                if !deadline.wait(&self.output.subscribe()) {
                    return Err(timed_out("writing", self.io_timeout));
                }
                continue;
            }
            let n = (self.unsent.len() - sent).min(usize::try_from(room).unwrap_or(usize::MAX));
            self.output
                .write(&self.unsent[sent..sent + n])
                .map_err(stream_error)?;
            sent += n;
        }
        self.unsent.clear();
        Ok(())
    }
}

impl io::Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.unsent.len() >= MAX_UNSENT {
            self.send_unsent()?;
        }
        self.unsent.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_unsent()?;
        let deadline = Deadline::after(self.io_timeout);
        self.output.flush().map_err(stream_error)?;
        // A flush is complete when the stream is writable again.
        loop {
            if self.output.check_write().map_err(stream_error)? > 0 {
                return Ok(());
            }
            if !deadline.wait(&self.output.subscribe()) {
                return Err(timed_out("flushing", self.io_timeout));
            }
        }
    }
}

fn stream_error(e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::Error::new(
            io::ErrorKind::BrokenPipe,
            "the connection was closed by the server",
        ),
        StreamError::LastOperationFailed(e) => {
            io::Error::new(io::ErrorKind::ConnectionReset, e.to_debug_string())
        }
    }
}

fn timed_out(what: &str, after: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} timed out after {} ms", after.as_millis()),
    )
}

/// An instant on the monotonic clock.
struct Deadline(u64);

impl Deadline {
    fn after(timeout: Duration) -> Self {
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        Deadline(monotonic_clock::now().saturating_add(nanos))
    }

    /// Wait until `ready` fires (true) or the deadline passes (false).
    fn wait(&self, ready: &Pollable) -> bool {
        let timer = monotonic_clock::subscribe_instant(self.0);
        let fired = poll(&[ready, &timer]);
        fired.contains(&0)
    }
}
