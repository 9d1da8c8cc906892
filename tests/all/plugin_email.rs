//! Tests of the `email` plugin against a real SMTP server (aiosmtpd from the test venv,
//! started by each test with a script that can require STARTTLS, implicit TLS and AUTH, using a
//! CA and certificate it generates) and against moto's SES v2. Every delivered message is parsed
//! by Python's `email` package and checked as a reader would see it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tocsin::plugin::{CallContext, InstanceSpec, InvokeError, PluginHost, PluginSource};

use crate::helpers::*;

const SMTP_PEER: &str = r##""""An aiosmtpd server for the email plugin's tests.

Usage: smtp_peer.py DIR MODE [USER:PASSWORD]
MODE: plain (no TLS), starttls (STARTTLS required before MAIL), tls (implicit TLS), or
parse (no server: print the summary of the message in file DIR as JSON).
Writes DIR/ca.pem (the test CA) and, per delivered message, DIR/message-N.json: the envelope,
the TLS/AUTH state of the session and the message as Python's email package parses it.
Recipients starting with `unknown@` get 550, `busy@` get 451. Prints `READY <port>` when
listening.
"""
import asyncio, datetime, email, email.policy, ipaddress, json, os, socket, ssl, sys

from aiosmtpd.smtp import SMTP, AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

directory, mode = sys.argv[1], sys.argv[2]
login = sys.argv[3].split(":", 1) if len(sys.argv) > 3 else None


def certificates():
    """A CA and a server certificate for localhost / 127.0.0.1, both P-256."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tocsin test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    with open(os.path.join(directory, "ca.pem"), "wb") as f:
        f.write(pem(ca))
    with open(os.path.join(directory, "server.pem"), "wb") as f:
        f.write(pem(cert))
    with open(os.path.join(directory, "server.key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.path.join(directory, "server.pem"),
                            os.path.join(directory, "server.key"))
    return context


def summarize(raw):
    """The message as a reader sees it: decoded headers, each leaf part's decoded content."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    raw_headers = email.message_from_bytes(raw, policy=email.policy.compat32)
    parts = {}
    for part in message.walk():
        if not part.is_multipart():
            parts[part.get_content_type()] = part.get_content()
    return {
        "headers": {k: str(v) for k, v in message.items()},
        "raw_subject": raw_headers["Subject"],
        "content_type": message.get_content_type(),
        "parts": parts,
        "longest_line": max(len(line) for line in raw.split(b"\r\n")),
        "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
    }


class Handler:
    delivered = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("unknown@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        Handler.delivered += 1
        summary = summarize(envelope.original_content)
        ssl_object = server.transport.get_extra_info("ssl_object")
        summary.update({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": ssl_object.version() if ssl_object else None,
            "authenticated_as": session.auth_data.login.decode() if session.authenticated else None,
            "auth_mechanism": getattr(session, "tocsin_mechanism", None),
        })
        path = os.path.join(directory, f"message-{Handler.delivered}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(summary, f)
        os.rename(path + ".tmp", path)
        return f"250 2.0.0 Ok: queued as Q{Handler.delivered}"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = login is not None and auth_data.login.decode() == login[0] \
        and auth_data.password.decode() == login[1]
    session.tocsin_mechanism = mechanism
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


def main():
    tls = certificates() if mode in ("starttls", "tls") else None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)

    def factory():
        return SMTP(
            Handler(),
            hostname="mail.test",
            tls_context=tls if mode == "starttls" else None,
            require_starttls=mode == "starttls",
            authenticator=authenticator if login else None,
            auth_required=login is not None,
            # With implicit TLS the whole session is encrypted already.
            auth_require_tls=mode == "starttls",
            loop=loop,
        )

    server = loop.run_until_complete(
        loop.create_server(factory, sock=sock, ssl=tls if mode == "tls" else None))
    print("READY", sock.getsockname()[1], flush=True)
    loop.run_forever()


if mode == "parse":
    with open(directory, "rb") as f:
        print(json.dumps(summarize(f.read())))
else:
    main()
"##;

/// An aiosmtpd child process and its directory (script, certificates, delivered messages);
/// killed on drop.
struct SmtpPeer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    peer_bin().join("python")
}

fn write_script(dir: &Path) -> PathBuf {
    let script = dir.join("smtp_peer.py");
    std::fs::write(&script, SMTP_PEER).unwrap();
    script
}

impl SmtpPeer {
    /// `mode`: `plain`, `starttls` (required before MAIL) or `tls` (implicit); `login`: the
    /// only user and password AUTH accepts (then AUTH is required).
    fn start(mode: &str, login: Option<(&str, &str)>) -> SmtpPeer {
        let dir = tempfile::tempdir().unwrap();
        let script = write_script(dir.path());
        let mut cmd = Command::new(python());
        cmd.arg(&script).arg(dir.path()).arg(mode);
        if let Some((user, password)) = login {
            cmd.arg(format!("{user}:{password}"));
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd from the test venv (run `cargo xtask peers`)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("aiosmtpd did not start within a minute");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("aiosmtpd did not start: {line:?}"));
        SmtpPeer { child, port, dir }
    }

    /// The test CA's certificate (PEM), for `smtp.extra_ca_pem`.
    fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ca.pem")).unwrap()
    }

    /// Every delivered message's summary, in delivery order.
    fn delivered(&self) -> Vec<Value> {
        let mut n = 1;
        let mut all = Vec::new();
        loop {
            let path = self.dir.path().join(format!("message-{n}.json"));
            let Ok(text) = std::fs::read_to_string(path) else {
                return all;
            };
            all.push(serde_json::from_str(&text).unwrap());
            n += 1;
        }
    }

    /// The one delivered message; the server wrote it before answering the final 250.
    fn only_message(&self) -> Value {
        let mut all = self.delivered();
        assert_eq!(all.len(), 1, "exactly one message delivered: {all:#?}");
        all.remove(0)
    }
}

fn builtin_email() -> PluginSource {
    PluginSource::Builtin("email".into())
}

/// An `email` instance for an SMTP relay on 127.0.0.1:`port`, with that address granted.
fn smtp_instance(name: &str, port: u16, smtp: Value) -> InstanceSpec {
    let mut s = spec(name, builtin_email());
    let mut smtp = smtp;
    smtp["port"] = json!(port);
    if smtp.get("host").is_none() {
        smtp["host"] = json!("127.0.0.1");
    }
    s.config = json!({
        "from": "Tocsin <tocsin@example.com>",
        "reply_to": "pages@example.com",
        "smtp": smtp,
    });
    s.grant.tcp = vec![format!("127.0.0.1:{port}")];
    s
}

fn with_password(mut s: InstanceSpec, password: &str) -> InstanceSpec {
    s.grant.secrets = vec!["SMTP_PASSWORD".into()];
    s.secret_values = vec![("SMTP_PASSWORD".into(), password.into())];
    s
}

async fn call(
    host: &PluginHost,
    instance: &str,
    action: &str,
    input: Value,
    invocation_id: &str,
) -> Result<Value, InvokeError> {
    host.invoke(
        instance,
        action,
        &input,
        CallContext {
            invocation_id: invocation_id.into(),
            attempt: 1,
            ..Default::default()
        },
    )
    .await
}

const SUBJECT: &str = "Panne — base de données";

fn page() -> Value {
    json!({
        "recipient": "Alice Martin <alice@example.com>",
        "subject": SUBJECT,
        "message": "La base primaire ne répond plus.\n.this line starts with a dot\nCheck db-1 now.",
        "accept_code": "482913",
        "accept_url": "https://tocsin.example.com/ack/7?sig=a1b2&c=3",
        "callback_url": "https://tocsin.example.com/v1/inbound/email",
        "incident_arn": "arn:tocsin:incident/db-down/7",
    })
}

fn header<'a>(message: &'a Value, name: &str) -> &'a str {
    message["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} header in {message:#}"))
}

/// What every delivered page must look like to its reader.
fn assert_is_the_page(message: &Value, out: &Value, key: &str) {
    assert_eq!(message["mail_from"], "tocsin@example.com");
    assert_eq!(message["rcpt_tos"], json!(["alice@example.com"]));
    assert_eq!(header(message, "Subject"), SUBJECT, "subject decodes");
    let raw_subject = message["raw_subject"].as_str().unwrap();
    assert!(
        raw_subject.to_ascii_lowercase().starts_with("=?utf-8?"),
        "subject is RFC 2047 encoded on the wire: {raw_subject}"
    );
    assert_eq!(header(message, "From"), "Tocsin <tocsin@example.com>");
    assert_eq!(header(message, "To"), "Alice Martin <alice@example.com>");
    assert_eq!(header(message, "Reply-To"), "pages@example.com");
    assert_eq!(header(message, "X-Tocsin-Idempotency-Key"), key);
    assert_eq!(
        header(message, "X-Tocsin-Incident"),
        "arn:tocsin:incident/db-down/7"
    );
    assert_eq!(header(message, "Auto-Submitted"), "auto-generated");
    assert!(!header(message, "Date").is_empty());
    let message_id = header(message, "Message-ID");
    assert_eq!(
        message_id,
        format!("<{}>", out["provider_id"].as_str().unwrap()),
        "provider_id is the Message-ID"
    );
    assert!(message_id.ends_with("@example.com>"), "{message_id}");
    assert_eq!(message["content_type"], "multipart/alternative");
    let text = message["parts"]["text/plain"]
        .as_str()
        .unwrap()
        .replace("\r\n", "\n");
    assert!(text.contains("La base primaire ne répond plus."), "{text}");
    assert!(
        text.contains("\n.this line starts with a dot\n"),
        "dot-stuffing is transparent: {text:?}"
    );
    assert!(text.contains("reply with the code 482913"), "{text}");
    assert!(
        text.contains("https://tocsin.example.com/ack/7?sig=a1b2&c=3"),
        "{text}"
    );
    let html = message["parts"]["text/html"].as_str().unwrap();
    assert!(
        html.contains("href=\"https://tocsin.example.com/ack/7?sig=a1b2&amp;c=3\""),
        "{html}"
    );
    assert!(html.contains(">Acknowledge</a>"), "{html}");
    assert!(html.contains("482913"), "{html}");
    assert!(message["longest_line"].as_u64().unwrap() <= 998);
    assert_eq!(message["bare_lf"], false, "CRLF line ends only");
}

#[tokio::test]
async fn notify_over_plain_smtp_delivers_a_readable_multipart_page() {
    let peer = SmtpPeer::start("plain", None);
    let host = host_with(vec![smtp_instance(
        "mail",
        peer.port,
        json!({"security": "none"}),
    )])
    .await;
    let out = call(&host, "mail", "notify", page(), "exec-7/page-alice#1/1")
        .await
        .unwrap();
    assert_eq!(out["provider"], "smtp");
    assert_eq!(out["status"], "SENT");
    assert!(
        out["detail"].as_str().unwrap().contains("queued as Q1"),
        "the server's final reply: {out}"
    );
    let message = peer.only_message();
    assert_is_the_page(&message, &out, "exec-7/page-alice#1/1");
    assert_eq!(message["tls"], Value::Null);
    assert_eq!(message["authenticated_as"], Value::Null);

    // A retry of the same attempt carries the same Message-ID, so receivers can drop it.
    let again = call(&host, "mail", "notify", page(), "exec-7/page-alice#1/1")
        .await
        .unwrap();
    assert_eq!(again["provider_id"], out["provider_id"]);
}

#[tokio::test]
async fn starttls_with_auth_plain_and_login_submits_encrypted_and_logged_in() {
    let peer = SmtpPeer::start("starttls", Some(("pager", "s3cret pw")));
    let ca = peer.ca_pem();
    // By name: `localhost` resolves (maybe to ::1 first, where nothing listens) and the
    // certificate is checked against the name.
    let mut plain = smtp_instance(
        "plain-auth",
        peer.port,
        json!({"host": "localhost", "username": "pager", "extra_ca_pem": ca}),
    );
    plain.grant.tcp = vec![format!("localhost:{}", peer.port)];
    let login = smtp_instance(
        "login-auth",
        peer.port,
        json!({"username": "pager", "auth": "login", "extra_ca_pem": ca}),
    );
    let host = host_with(vec![
        with_password(plain, "s3cret pw"),
        with_password(login, "s3cret pw"),
    ])
    .await;

    let out = call(&host, "plain-auth", "notify", page(), "k-plain")
        .await
        .unwrap();
    let out2 = call(&host, "login-auth", "notify", page(), "k-login")
        .await
        .unwrap();
    let delivered = peer.delivered();
    assert_eq!(delivered.len(), 2);
    for (message, out, key, mechanism) in [
        (&delivered[0], &out, "k-plain", "PLAIN"),
        (&delivered[1], &out2, "k-login", "LOGIN"),
    ] {
        assert_is_the_page(message, out, key);
        assert!(
            message["tls"].as_str().unwrap().starts_with("TLSv1."),
            "{message}"
        );
        assert_eq!(message["authenticated_as"], "pager");
        assert_eq!(message["auth_mechanism"], mechanism);
    }
}

#[tokio::test]
async fn send_gives_full_control_and_keeps_bcc_out_of_the_headers() {
    let peer = SmtpPeer::start("starttls", Some(("pager", "pw")));
    let inst = smtp_instance(
        "mail",
        peer.port,
        json!({"username": "pager", "extra_ca_pem": peer.ca_pem()}),
    );
    let host = host_with(vec![with_password(inst, "pw")]).await;
    let out = call(
        &host,
        "mail",
        "send",
        json!({
            "to": ["ops@example.com", "Bob <bob@example.com>"],
            "cc": ["lead@example.com"],
            "bcc": ["audit@example.com"],
            "from": "Incident Bot <bot@alerts.example.com>",
            "subject": "Résumé: 3 incidents",
            "text": "Three incidents today.",
            "html": "<p>Three <b>incidents</b> today.</p>",
        }),
        "report-1",
    )
    .await
    .unwrap();
    assert!(
        out["provider_id"]
            .as_str()
            .unwrap()
            .ends_with("@alerts.example.com")
    );
    let m = peer.only_message();
    assert_eq!(m["mail_from"], "bot@alerts.example.com");
    assert_eq!(
        m["rcpt_tos"],
        json!([
            "ops@example.com",
            "bob@example.com",
            "lead@example.com",
            "audit@example.com"
        ])
    );
    assert_eq!(header(&m, "Subject"), "Résumé: 3 incidents");
    assert_eq!(header(&m, "To"), "ops@example.com, Bob <bob@example.com>");
    assert_eq!(header(&m, "Cc"), "lead@example.com");
    assert!(m["headers"].get("Bcc").is_none(), "{m}");
    assert_eq!(header(&m, "Reply-To"), "pages@example.com");
    assert_eq!(m["parts"]["text/plain"], "Three incidents today.");
    assert_eq!(
        m["parts"]["text/html"],
        "<p>Three <b>incidents</b> today.</p>"
    );
}

#[tokio::test]
async fn implicit_tls_submits_over_tls_from_the_first_byte() {
    let peer = SmtpPeer::start("tls", Some(("pager", "pw")));
    let inst = smtp_instance(
        "smtps",
        peer.port,
        json!({"security": "tls", "username": "pager", "extra_ca_pem": peer.ca_pem()}),
    );
    let host = host_with(vec![with_password(inst, "pw")]).await;
    let out = call(&host, "smtps", "notify", page(), "k-smtps")
        .await
        .unwrap();
    let message = peer.only_message();
    assert_is_the_page(&message, &out, "k-smtps");
    assert!(message["tls"].as_str().unwrap().starts_with("TLSv1."));
    assert_eq!(message["authenticated_as"], "pager");
}

#[tokio::test]
async fn an_untrusted_certificate_fails_before_anything_is_sent() {
    let peer = SmtpPeer::start("starttls", Some(("pager", "pw")));
    // No extra CA: the test CA is not among the public roots.
    let inst = smtp_instance("mail", peer.port, json!({"username": "pager"}));
    let host = host_with(vec![with_password(inst, "pw")]).await;
    let err = call(&host, "mail", "notify", page(), "k")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "failed", "{err}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("TLS handshake"), "{text}");
    assert!(text.contains("certificate"), "{text}");
    assert!(peer.delivered().is_empty());
}

#[tokio::test]
async fn a_wrong_password_is_a_permanent_failure_with_the_servers_text() {
    let peer = SmtpPeer::start("starttls", Some(("pager", "right")));
    let inst = smtp_instance(
        "mail",
        peer.port,
        json!({"username": "pager", "extra_ca_pem": peer.ca_pem()}),
    );
    let host = host_with(vec![with_password(inst, "wrong-password-42")]).await;
    let err = call(&host, "mail", "notify", page(), "k")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "failed", "{err}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("authentication as `pager`"), "{text}");
    assert!(
        text.contains("535 5.7.8 Authentication credentials invalid"),
        "the server's own reply: {text}"
    );
    assert!(!text.contains("wrong-password-42"), "{text}");
    assert!(peer.delivered().is_empty());
}

#[tokio::test]
async fn a_rejected_recipient_is_invalid_input_and_a_busy_one_is_retryable() {
    let peer = SmtpPeer::start("plain", None);
    let host = host_with(vec![smtp_instance(
        "mail",
        peer.port,
        json!({"security": "none"}),
    )])
    .await;
    let mut input = page();
    input["recipient"] = json!("unknown@example.com");
    let err = call(&host, "mail", "notify", input, "k1")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    let text = err.to_string();
    assert!(text.contains("recipient `unknown@example.com`"), "{text}");
    assert!(text.contains("550 5.1.1"), "{text}");

    let mut input = page();
    input["recipient"] = json!("busy@example.com");
    let err = call(&host, "mail", "notify", input, "k2")
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("451 4.3.0 Mailbox busy"), "{err}");

    // One bad recipient among good ones: nobody gets a partial send.
    let err = call(
        &host,
        "mail",
        "send",
        json!({"to": ["ops@example.com", "unknown@example.com"], "subject": "s", "text": "t"}),
        "k3",
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(peer.delivered().is_empty());
}

#[tokio::test]
async fn a_server_that_is_down_or_silent_is_retryable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let silent = silent_peer().await;
    let host = host_with(vec![
        smtp_instance("down", closed_port, json!({"security": "none"})),
        smtp_instance(
            "silent",
            silent.port(),
            json!({"security": "none", "timeout_ms": 300}),
        ),
    ])
    .await;
    let err = call(&host, "down", "notify", page(), "k")
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("connection-refused"), "{err}");
    let err = call(&host, "silent", "notify", page(), "k")
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_missing_tcp_grant_or_password_secret_is_denied_naming_what_to_grant() {
    let peer = SmtpPeer::start("plain", None);
    // No TCP grant at all.
    let mut ungranted = smtp_instance("ungranted", peer.port, json!({"security": "none"}));
    ungranted.grant.tcp.clear();
    // A grant for another relay.
    let mut elsewhere = smtp_instance("elsewhere", peer.port, json!({"security": "none"}));
    elsewhere.grant.tcp = vec!["127.0.0.1:1".into()];
    // A username without the password secret.
    let no_secret = smtp_instance("no-secret", peer.port, json!({"username": "pager"}));
    let host = host_with(vec![ungranted, elsewhere, no_secret]).await;

    let target = format!("127.0.0.1:{}", peer.port);
    for instance in ["ungranted", "elsewhere"] {
        let err = call(&host, instance, "notify", page(), "k")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "denied", "{instance}: {err}");
        let text = err.to_string();
        assert!(text.contains("allow.tcp"), "{instance}: {text}");
        assert!(text.contains(&target), "{instance}: {text}");
    }
    let err = call(&host, "no-secret", "notify", page(), "k")
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Denied { .. }), "{err}");
    assert!(err.to_string().contains("SMTP_PASSWORD"), "{err}");
    assert!(err.to_string().contains("secrets:"), "{err}");
    assert!(peer.delivered().is_empty());
}

#[tokio::test]
async fn hostile_input_never_reaches_the_wire() {
    let peer = SmtpPeer::start("plain", None);
    let host = host_with(vec![smtp_instance(
        "mail",
        peer.port,
        json!({"security": "none"}),
    )])
    .await;
    let mut input = page();
    input["recipient"] = json!("a@example.com>\r\nRCPT TO:<evil@example.net");
    let err = call(&host, "mail", "notify", input, "k").await.unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    let mut input = page();
    input["accept_url"] = json!("javascript:alert(1)");
    let err = call(&host, "mail", "notify", input, "k").await.unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    // A subject with a line break stays one header.
    let mut input = page();
    input["subject"] = json!("db down\r\nBcc: evil@example.net");
    call(&host, "mail", "notify", input, "k").await.unwrap();
    let m = peer.only_message();
    assert_eq!(m["rcpt_tos"], json!(["alice@example.com"]));
    assert!(m["headers"].get("Bcc").is_none(), "{m}");
    // A password over a plaintext connection is a configuration error caught at the call.
    let mut clear = smtp_instance(
        "clear",
        peer.port,
        json!({"security": "none", "username": "u"}),
    );
    clear = with_password(clear, "pw");
    let host = host_with(vec![clear]).await;
    let err = call(&host, "clear", "notify", page(), "k")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("in clear"), "{err}");
}

// ---- Amazon SES v2 ----

/// A moto server; killed on drop.
struct Moto {
    child: Child,
    base: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fake SigV4 header: moto reads the region and service from it and checks nothing else.
const MOTO_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDTOCSINTEST/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=00";

impl Moto {
    fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(peer_bin().join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server from the test venv (run `cargo xtask peers`)");
        let moto = Moto {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while client
            .get(format!("{}/moto-api/data.json", moto.base))
            .send()
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "moto did not start within a minute"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Verify a sending domain, as an operator does once in SES.
    fn verify_domain(&self, domain: &str) {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/v2/email/identities", self.base))
            .header("authorization", MOTO_AUTH)
            .header("content-type", "application/json")
            .body(json!({"EmailIdentity": domain}).to_string())
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().unwrap());
    }

    /// The raw messages moto recorded as sent.
    fn sent(&self) -> Vec<Value> {
        let data: Value = reqwest::blocking::get(format!("{}/moto-api/data.json", self.base))
            .unwrap()
            .json()
            .unwrap();
        data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// Python's `email` package's reading of a raw message.
fn parse_with_python(raw: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(dir.path());
    let file = dir.path().join("message.eml");
    std::fs::write(&file, raw).unwrap();
    let out = Command::new(python())
        .arg(script)
        .arg(&file)
        .arg("parse")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ses_instance(name: &str, endpoint: &str) -> InstanceSpec {
    let mut s = spec(name, builtin_email());
    s.config = json!({
        "provider": "ses",
        "from": "Tocsin <tocsin@example.com>",
        "reply_to": "pages@example.com",
        "ses": {"region": "us-east-1", "endpoint_url": endpoint},
    });
    s.grant.http = vec![endpoint.to_owned()];
    // Long-term keys: AWS_SESSION_TOKEN is neither granted nor read.
    s.grant.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    s.secret_values = vec![
        ("AWS_ACCESS_KEY_ID".into(), "AKIDTOCSINTEST".into()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            "tocsin-test-secret-key".into(),
        ),
    ];
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_sends_the_same_mime_page_through_moto() {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let base = moto.base.clone();
    let moto = tokio::task::spawn_blocking(move || {
        moto.verify_domain("example.com");
        moto
    })
    .await
    .unwrap();
    let host = host_with(vec![ses_instance("ses", &base)]).await;
    let out = call(&host, "ses", "notify", page(), "exec-9/page/1")
        .await
        .unwrap();
    assert_eq!(out["provider"], "ses");
    assert_eq!(out["status"], "SENT");
    let ses_id = out["provider_id"].as_str().unwrap().to_owned();
    let sent = tokio::task::spawn_blocking(move || moto.sent())
        .await
        .unwrap();
    let recorded = sent
        .iter()
        .find(|m| m["id"] == ses_id)
        .unwrap_or_else(|| panic!("moto recorded no message {ses_id}: {sent:#?}"));
    assert_eq!(recorded["source"], "tocsin@example.com");
    let raw = recorded["raw_data"].as_str().unwrap().to_owned();
    let message = tokio::task::spawn_blocking(move || parse_with_python(&raw))
        .await
        .unwrap();
    assert_eq!(header(&message, "Subject"), SUBJECT);
    assert_eq!(
        header(&message, "X-Tocsin-Idempotency-Key"),
        "exec-9/page/1"
    );
    assert_eq!(message["content_type"], "multipart/alternative");
    assert!(
        message["parts"]["text/html"]
            .as_str()
            .unwrap()
            .contains(">Acknowledge</a>")
    );
    assert!(
        out["detail"]
            .as_str()
            .unwrap()
            .contains(header(&message, "Message-ID")),
        "detail names the Message-ID: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_rejecting_an_unverified_sender_is_not_retried_and_keeps_its_message() {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let host = host_with(vec![ses_instance("ses", &moto.base)]).await;
    let err = call(&host, "ses", "notify", page(), "k").await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    let text = err.to_string();
    assert!(text.contains("MessageRejected"), "{text}");
    assert!(
        text.contains("Did not have authority to send from email tocsin@example.com"),
        "{text}"
    );
}

#[tokio::test]
async fn ses_request_contract_and_throttling_with_retry_after() {
    let (addr, seen) = recording_peer(|req| {
        if req.body.contains("throttle@") {
            (
                429,
                vec![
                    ("retry-after", "7".to_owned()),
                    ("x-amzn-errortype", "TooManyRequestsException".to_owned()),
                    ("content-type", "application/json".to_owned()),
                ],
                r#"{"message":"Maximum sending rate exceeded."}"#.into(),
            )
        } else {
            (
                200,
                vec![("content-type", "application/json".to_owned())],
                r#"{"MessageId":"0100018f-ses-test-id"}"#.into(),
            )
        }
    })
    .await;
    let endpoint = format!("http://127.0.0.1:{}", addr.port());
    let host = host_with(vec![ses_instance("ses", &endpoint)]).await;
    let out = call(&host, "ses", "notify", page(), "k1").await.unwrap();
    assert_eq!(out["provider_id"], "0100018f-ses-test-id");
    {
        let seen = seen.lock().unwrap();
        let req = &seen[0];
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/v2/email/outbound-emails");
        assert_eq!(req.header("content-type"), Some("application/json"));
        let auth = req.header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTOCSINTEST/")
                && auth.contains("/us-east-1/ses/aws4_request"),
            "{auth}"
        );
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body["FromEmailAddress"], "tocsin@example.com");
        assert_eq!(
            body["Destination"]["ToAddresses"],
            json!(["alice@example.com"])
        );
        assert_eq!(body["ReplyToAddresses"], json!(["pages@example.com"]));
        assert!(
            body["Content"]["Raw"]["Data"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }

    let mut input = page();
    input["recipient"] = json!("throttle@example.com");
    let err = call(&host, "ses", "notify", input, "k2").await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(
        err.to_string().contains("Maximum sending rate exceeded."),
        "{err}"
    );
}

#[tokio::test]
async fn ses_without_credentials_is_denied_naming_the_secret() {
    let mut s = ses_instance("ses", "http://127.0.0.1:9");
    s.grant.secrets.clear();
    s.secret_values.clear();
    let host = host_with(vec![s]).await;
    let err = call(&host, "ses", "notify", page(), "k").await.unwrap_err();
    assert!(matches!(err, InvokeError::Denied { .. }), "{err}");
    assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");
}
