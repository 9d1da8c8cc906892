//! TLS inside the component: rustls with the pure-Rust RustCrypto provider.
//!
//! The host grants plain TCP only, so the component does its own TLS. rustls needs a crypto
//! provider; `ring` and `aws-lc-rs` need a C compiler targeting wasm, RustCrypto does not.
//! Trust: the Mozilla roots (webpki-roots, compiled in: the sandbox has no filesystem) plus the
//! operator's `extra_ca_pem` for relays with an internal CA. Certificates are always verified.

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use tocsin_plugin_sdk::ActionError;

use crate::tcp::Connection;

/// A TLS session over a TCP connection.
pub type TlsStream = StreamOwned<ClientConnection, Connection>;

/// The client configuration: Mozilla's roots plus the operator's extra CA certificates.
pub fn client_config(extra_ca_pem: Option<&str>) -> Result<Arc<ClientConfig>, ActionError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| {
                ActionError::Failed(format!(
                    "config `smtp.extra_ca_pem` is not valid PEM certificates: {e}"
                ))
            })?;
            roots.add(cert).map_err(|e| {
                ActionError::Failed(format!(
                    "config `smtp.extra_ca_pem` holds a certificate that cannot be a trust anchor: {e}"
                ))
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(ActionError::Failed(
                "config `smtp.extra_ca_pem` holds no `-----BEGIN CERTIFICATE-----` block".into(),
            ));
        }
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls_rustcrypto::provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ActionError::Failed(format!("TLS configuration failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Run the TLS handshake with `server_name` over `tcp` and return the encrypted stream.
///
/// The handshake completes here, not lazily on first use, so a certificate problem is reported
/// as such instead of as a failed SMTP command.
pub fn handshake(
    tcp: Connection,
    server_name: &str,
    config: Arc<ClientConfig>,
    peer: &str,
) -> Result<TlsStream, ActionError> {
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| {
        ActionError::Failed(format!(
            "`{server_name}` cannot be checked against a TLS certificate: {e}"
        ))
    })?;
    let conn = ClientConnection::new(config, name)
        .map_err(|e| ActionError::Failed(format!("starting TLS with {peer} failed: {e}")))?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| handshake_error(&e, peer))?;
    }
    Ok(stream)
}

/// A TLS error (bad certificate, no common protocol) is permanent; a network one is not.
fn handshake_error(e: &io::Error, peer: &str) -> ActionError {
    let is_tls = e
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
    if is_tls {
        ActionError::Failed(format!("TLS handshake with {peer} failed: {e}"))
    } else {
        ActionError::Retryable(format!("TLS handshake with {peer} failed: {e}"))
    }
}

/// Close the TLS session politely (best effort).
pub fn close(stream: &mut TlsStream) {
    stream.conn.send_close_notify();
    let _ = stream.conn.complete_io(&mut stream.sock);
    stream.sock.shutdown();
}

/// Plain TCP before STARTTLS (or with `security: none`), TLS after.
pub enum Transport {
    Plain(Connection),
    Tls(Box<TlsStream>),
    /// Between taking the plain connection and finishing the TLS handshake.
    Closed,
}

impl Transport {
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// The plain connection, leaving `Closed` in its place (for the TLS handshake); `None`
    /// (and nothing changed) when the transport is not plain.
    pub fn take_plain(&mut self) -> Option<Connection> {
        match std::mem::replace(self, Transport::Closed) {
            Transport::Plain(conn) => Some(conn),
            other => {
                *self = other;
                None
            }
        }
    }

    pub fn close(&mut self) {
        match self {
            Transport::Plain(c) => c.shutdown(),
            Transport::Tls(s) => close(s),
            Transport::Closed => {}
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(c) => c.read(buf),
            Transport::Tls(s) => s.read(buf),
            Transport::Closed => Err(closed()),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(c) => c.write(buf),
            Transport::Tls(s) => s.write(buf),
            Transport::Closed => Err(closed()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(c) => c.flush(),
            Transport::Tls(s) => s.flush(),
            Transport::Closed => Err(closed()),
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection is closed")
}
