//! Per-call cost of the `email` plugin against a local aiosmtpd (from the test venv): `notify`
//! over plain SMTP through the sandbox next to the same SMTP transaction sent from the bench over
//! a std `TcpStream`, so the sandbox's share is visible; and `notify` with STARTTLS + AUTH, whose
//! extra cost is the TLS handshake done inside the component (rustls + RustCrypto in wasm).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::json;
use tocsin::plugin::{CallContext, HostOptions, InstanceSpec, PluginHost, PluginSource};

/// Writes ca.pem, server.pem and server.key (P-256, SAN 127.0.0.1) into the directory argv[1].
const MAKE_CERTS: &str = r#"
import datetime, ipaddress, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
d = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)
def build(subject, issuer, key, sign_key, ca):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return b.sign(sign_key, hashes.SHA256())
ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
ca = build(ca_name, ca_name, ca_key, ca_key, True)
leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, key, ca_key, False)
pem = serialization.Encoding.PEM
open(os.path.join(d, "ca.pem"), "wb").write(ca.public_bytes(pem))
open(os.path.join(d, "server.pem"), "wb").write(leaf.public_bytes(pem))
open(os.path.join(d, "server.key"), "wb").write(key.private_bytes(
    pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;

/// An aiosmtpd that accepts and discards mail; killed on drop.
struct Sink {
    child: Child,
    port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv_bin() -> PathBuf {
    match std::env::var_os("TOCSIN_PEER_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/peers/venv/bin"),
    }
}

/// Start `python -m aiosmtpd` with the Sink handler; with `tls_dir`, STARTTLS is required.
fn start_sink(tls_dir: Option<&Path>) -> Option<Sink> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let mut cmd = Command::new(venv_bin().join("python"));
    cmd.args(["-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"])
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"));
    if let Some(dir) = tls_dir {
        cmd.arg("--tlscert")
            .arg(dir.join("server.pem"))
            .arg("--tlskey")
            .arg(dir.join("server.key"));
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let sink = Sink { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            let mut greeting = String::new();
            if BufReader::new(stream).read_line(&mut greeting).is_ok()
                && greeting.starts_with("220")
            {
                return Some(sink);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// One SMTP transaction from the bench itself: the peer's own time for what the plugin sends.
fn direct_smtp(port: u16, message: &[u8]) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut expect = |code: &str| loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    };
    expect("220");
    for (command, code) in [
        ("EHLO bench.example.com\r\n", "250"),
        ("MAIL FROM:<tocsin@example.com>\r\n", "250"),
        ("RCPT TO:<alice@example.com>\r\n", "250"),
        ("DATA\r\n", "354"),
    ] {
        writer.write_all(command.as_bytes()).unwrap();
        expect(code);
    }
    // One write, as the plugin does (neither side sets TCP_NODELAY).
    writer.write_all(&[message, b"\r\n.\r\n"].concat()).unwrap();
    expect("250");
    writer.write_all(b"QUIT\r\n").unwrap();
    expect("221");
}

pub fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(venv_bin().join("python"))
        .arg("-c")
        .arg(MAKE_CERTS)
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    let (Some(plain), Some(tls)) = (
        made.then(|| start_sink(None)).flatten(),
        made.then(|| start_sink(Some(dir.path()))).flatten(),
    ) else {
        eprintln!("email bench skipped: no aiosmtpd in the test venv (run `cargo xtask peers`)");
        return;
    };
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let host = rt.block_on(async {
        let mut host = PluginHost::new(HostOptions::default()).unwrap();
        for (name, port, smtp) in [
            (
                "plain",
                plain.port,
                json!({"host": "127.0.0.1", "port": plain.port, "security": "none"}),
            ),
            (
                "starttls",
                tls.port,
                json!({"host": "127.0.0.1", "port": tls.port, "extra_ca_pem": ca}),
            ),
        ] {
            let mut spec = InstanceSpec::new(name, PluginSource::Builtin("email".into()));
            spec.config = json!({"from": "Tocsin <tocsin@example.com>", "smtp": smtp});
            spec.grant.tcp = vec![format!("127.0.0.1:{port}")];
            host.add_instance(spec).await.unwrap();
        }
        host
    });
    let input = json!({
        "recipient": "alice@example.com",
        "subject": "Panne — base de données",
        "message": "db-1 is down: primary not answering since 03:12 UTC.",
        "accept_code": "482913",
        "accept_url": "https://tocsin.example.com/ack/7?sig=a1b2",
    });
    for instance in ["plain", "starttls"] {
        rt.block_on(host.invoke(instance, "notify", &input, CallContext::default()))
            .unwrap();
    }
    // About the size of a page the plugin sends (two alternatives, ~2 KB).
    let message = format!(
        "From: tocsin@example.com\r\nTo: alice@example.com\r\nSubject: db-1 is down\r\n\r\n{}",
        "db-1 is down: primary not answering since 03:12 UTC.\r\n".repeat(36)
    );

    let mut group = c.benchmark_group("email");
    group.sample_size(30);
    group.bench_function("plugin_notify_smtp_plain", |b| {
        b.to_async(&rt).iter(|| async {
            host.invoke("plain", "notify", &input, CallContext::default())
                .await
                .unwrap()
        })
    });
    group.bench_function("direct_smtp_transaction_plain", |b| {
        b.iter(|| direct_smtp(plain.port, message.as_bytes()))
    });
    group.bench_function("plugin_notify_smtp_starttls", |b| {
        b.to_async(&rt).iter(|| async {
            host.invoke("starttls", "notify", &input, CallContext::default())
                .await
                .unwrap()
        })
    });
    group.finish();
}
