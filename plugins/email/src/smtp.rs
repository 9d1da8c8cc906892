//! SMTP submission (RFC 5321, 3207 STARTTLS, 4954 AUTH, 8314 implicit TLS), one message per call.
//!
//! Every reply is checked: 4xx is temporary (retryable), 5xx permanent (a rejected recipient is
//! invalid input naming it), and no message is sent to a subset of its recipients. Commands are
//! sent one at a time (no PIPELINING) so each failure names the command that caused it.

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tocsin_plugin_sdk::ActionError;

use crate::config::{AuthMechanism, Security};
use crate::tcp;
use crate::tls::{self, Transport};

/// How to reach and log in to the relay.
pub struct Settings<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: Security,
    /// User name and password for AUTH; none to submit without logging in.
    pub login: Option<(&'a str, &'a str)>,
    pub auth: AuthMechanism,
    pub hello_name: &'a str,
    pub extra_ca_pem: Option<&'a str>,
    /// Connect timeout and the longest wait for any single read or write.
    pub timeout: Duration,
}

/// Submit `message` (RFC 5322 text) from `sender` to `recipients`; returns the server's final
/// reply (e.g. `250 2.0.0 Ok: queued as 4Bq1`).
pub fn submit(
    settings: &Settings<'_>,
    sender: &str,
    recipients: &[String],
    message: &[u8],
) -> Result<String, ActionError> {
    // Before connecting: a message SMTP cannot carry must not leave a session mid-DATA.
    let data = data_block(message)?;
    let peer = tcp::endpoint(settings.host, settings.port);
    let tls_config = match settings.security {
        Security::None => None,
        _ => Some(tls::client_config(settings.extra_ca_pem)?),
    };
    let conn = tcp::connect(settings.host, settings.port, settings.timeout)?;
    let transport = match (&settings.security, &tls_config) {
        (Security::Tls, Some(config)) => Transport::Tls(Box::new(tls::handshake(
            conn,
            settings.host,
            config.clone(),
            &peer,
        )?)),
        _ => Transport::Plain(conn),
    };
    let mut session = Session {
        transport,
        buffered: Vec::new(),
        peer,
        broken: false,
    };
    let result = (|| {
        session.expect(&Step::Greeting, 2)?;
        let mut extensions = session.hello(settings.hello_name)?;
        if let (Security::StartTls, Some(config)) = (settings.security, &tls_config) {
            if !extensions.starttls {
                return Err(ActionError::Failed(format!(
                    "SMTP server {} does not offer STARTTLS; set `smtp.security: tls` if it expects TLS from the first byte (port 465), or `none` for a relay without TLS",
                    session.peer
                )));
            }
            session.start_tls(settings.host, config.clone())?;
            extensions = session.hello(settings.hello_name)?;
        }
        if let Some((user, password)) = settings.login {
            session.authenticate(&extensions, settings.auth, user, password)?;
        }
        session.command(&format!("MAIL FROM:<{sender}>"), &Step::MailFrom, 2)?;
        for recipient in recipients {
            session.command(
                &format!("RCPT TO:<{recipient}>"),
                &Step::Recipient(recipient),
                2,
            )?;
        }
        session.command("DATA", &Step::Data, 3)?;
        session.write_all(&data, &Step::Message)?;
        let accepted = session.expect(&Step::Message, 2)?;
        Ok(accepted.text())
    })();
    session.quit();
    result
}

/// What the client was doing when a reply or an error came: names it in messages.
enum Step<'a> {
    Greeting,
    Hello,
    StartTls,
    Auth(&'a str),
    MailFrom,
    Recipient(&'a str),
    Data,
    Message,
    Quit,
}

impl Step<'_> {
    fn describe(&self) -> String {
        match self {
            Step::Greeting => "the greeting".into(),
            Step::Hello => "EHLO".into(),
            Step::StartTls => "STARTTLS".into(),
            Step::Auth(_) => "AUTH".into(),
            Step::MailFrom => "MAIL FROM".into(),
            Step::Recipient(r) => format!("RCPT TO:<{r}>"),
            Step::Data => "DATA".into(),
            Step::Message => "the message".into(),
            Step::Quit => "QUIT".into(),
        }
    }
}

/// One (possibly multi-line) reply.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    /// `550 5.1.1 <x@example.com>: Recipient address rejected` (lines joined by spaces).
    fn text(&self) -> String {
        let mut text = self.code.to_string();
        for line in &self.lines {
            if !line.is_empty() {
                text.push(' ');
                text.push_str(line);
            }
        }
        text
    }
}

/// What EHLO told about the server.
#[derive(Debug, Default, PartialEq, Eq)]
struct Extensions {
    starttls: bool,
    /// AUTH mechanisms, upper case.
    auth: Vec<String>,
}

impl Extensions {
    fn parse(reply: &Reply) -> Self {
        let mut ext = Extensions::default();
        // The first line is the server's name and greeting, not an extension.
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let keyword = words.next().unwrap_or("").to_ascii_uppercase();
            if keyword == "STARTTLS" {
                ext.starttls = true;
            } else if keyword == "AUTH" || keyword.starts_with("AUTH=") {
                // `AUTH=PLAIN LOGIN` is the pre-standard form some servers still send.
                let first = keyword.strip_prefix("AUTH=").filter(|m| !m.is_empty());
                for mechanism in first
                    .into_iter()
                    .map(str::to_owned)
                    .chain(words.map(str::to_ascii_uppercase))
                {
                    if !ext.auth.contains(&mechanism) {
                        ext.auth.push(mechanism);
                    }
                }
            }
        }
        ext
    }
}

/// Longest reply line accepted (RFC 5321 says 512; some servers send more).
const MAX_REPLY_LINE: usize = 4096;
/// Most lines in one reply.
const MAX_REPLY_LINES: usize = 200;

struct Session {
    transport: Transport,
    /// Bytes read but not yet consumed as reply lines.
    buffered: Vec<u8>,
    peer: String,
    /// The connection failed: no polite QUIT.
    broken: bool,
}

impl Session {
    fn io_error(&mut self, e: &std::io::Error, step: &Step<'_>) -> ActionError {
        self.broken = true;
        let message = format!(
            "SMTP connection to {} failed during {}: {e}",
            self.peer,
            step.describe()
        );
        match e.kind() {
            // A TLS alert or a malformed record mid-session.
            ErrorKind::InvalidData => ActionError::Failed(message),
            _ => ActionError::Retryable(message),
        }
    }

    fn write_all(&mut self, bytes: &[u8], step: &Step<'_>) -> Result<(), ActionError> {
        let written = self
            .transport
            .write_all(bytes)
            .and_then(|()| self.transport.flush());
        written.map_err(|e| self.io_error(&e, step))
    }

    fn read_line(&mut self, step: &Step<'_>) -> Result<String, ActionError> {
        loop {
            if let Some(end) = self.buffered.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buffered.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buffered.len() > MAX_REPLY_LINE {
                self.broken = true;
                return Err(ActionError::Failed(format!(
                    "SMTP server {} sent a reply line longer than {MAX_REPLY_LINE} bytes during {}",
                    self.peer,
                    step.describe()
                )));
            }
            let mut chunk = [0u8; 4096];
            let n = match self.transport.read(&mut chunk) {
                Ok(n) => n,
                Err(e) => return Err(self.io_error(&e, step)),
            };
            if n == 0 {
                self.broken = true;
                return Err(ActionError::Retryable(format!(
                    "SMTP server {} closed the connection during {}",
                    self.peer,
                    step.describe()
                )));
            }
            self.buffered.extend_from_slice(&chunk[..n]);
        }
    }

    fn read_reply(&mut self, step: &Step<'_>) -> Result<Reply, ActionError> {
        let mut code = None;
        let mut lines = Vec::new();
        loop {
            let line = self.read_line(step)?;
            let parsed = parse_reply_line(&line);
            let Some((this_code, last, text)) = parsed else {
                self.broken = true;
                return Err(ActionError::Failed(format!(
                    "SMTP server {} sent a malformed reply during {}: {line:?}",
                    self.peer,
                    step.describe()
                )));
            };
            if *code.get_or_insert(this_code) != this_code || lines.len() >= MAX_REPLY_LINES {
                self.broken = true;
                return Err(ActionError::Failed(format!(
                    "SMTP server {} sent an inconsistent multi-line reply during {}",
                    self.peer,
                    step.describe()
                )));
            }
            lines.push(text.to_owned());
            if last {
                return Ok(Reply {
                    code: this_code,
                    lines,
                });
            }
        }
    }

    /// Read a reply and require its first digit to be `class` (2: done, 3: go on).
    fn expect(&mut self, step: &Step<'_>, class: u16) -> Result<Reply, ActionError> {
        let reply = self.read_reply(step)?;
        self.check(reply, step, class)
    }

    /// Map a reply of the wrong class to the error a caller can act on.
    fn check(&self, reply: Reply, step: &Step<'_>, class: u16) -> Result<Reply, ActionError> {
        if reply.code / 100 == class {
            return Ok(reply);
        }
        let peer = &self.peer;
        let what = step.describe();
        let text = reply.text();
        Err(match (reply.code / 100, step) {
            (4, _) => ActionError::Retryable(format!(
                "SMTP server {peer} answered {what} with a temporary failure: {text}"
            )),
            (5, Step::Recipient(recipient)) => ActionError::InvalidInput(format!(
                "recipient `{recipient}` was rejected by SMTP server {peer}: {text}"
            )),
            (5, Step::Auth(user)) => ActionError::Failed(format!(
                "SMTP authentication as `{user}` at {peer} failed: {text}"
            )),
            (5, _) => ActionError::Failed(format!("SMTP server {peer} rejected {what}: {text}")),
            _ => ActionError::Failed(format!(
                "SMTP server {peer} answered {what} unexpectedly: {text}"
            )),
        })
    }

    fn command(&mut self, line: &str, step: &Step<'_>, class: u16) -> Result<Reply, ActionError> {
        self.write_all(format!("{line}\r\n").as_bytes(), step)?;
        self.expect(step, class)
    }

    /// EHLO, falling back to HELO for servers that know no extensions.
    fn hello(&mut self, name: &str) -> Result<Extensions, ActionError> {
        self.write_all(format!("EHLO {name}\r\n").as_bytes(), &Step::Hello)?;
        let reply = self.read_reply(&Step::Hello)?;
        if reply.code / 100 == 2 {
            return Ok(Extensions::parse(&reply));
        }
        if matches!(reply.code, 500 | 502) {
            self.command(&format!("HELO {name}"), &Step::Hello, 2)?;
            return Ok(Extensions::default());
        }
        self.check(reply, &Step::Hello, 2)
            .map(|_| Extensions::default())
    }

    fn start_tls(
        &mut self,
        host: &str,
        config: std::sync::Arc<rustls::ClientConfig>,
    ) -> Result<(), ActionError> {
        self.command("STARTTLS", &Step::StartTls, 2)?;
        if !self.buffered.is_empty() {
            // Bytes after the 220 were sent before TLS and would be read as if protected
            // (the STARTTLS command-injection attack): refuse the server.
            self.broken = true;
            return Err(ActionError::Failed(format!(
                "SMTP server {} sent data after agreeing to STARTTLS; refusing the connection",
                self.peer
            )));
        }
        let Some(conn) = self.transport.take_plain() else {
            return Ok(());
        };
        let stream = tls::handshake(conn, host, config, &self.peer).inspect_err(|_| {
            self.broken = true;
        })?;
        self.transport = Transport::Tls(Box::new(stream));
        Ok(())
    }

    fn authenticate(
        &mut self,
        extensions: &Extensions,
        preferred: AuthMechanism,
        user: &str,
        password: &str,
    ) -> Result<(), ActionError> {
        if !self.transport.is_tls() {
            return Err(ActionError::Failed(
                "refusing to send the SMTP password over an unencrypted connection".into(),
            ));
        }
        let offers = |m: &str| extensions.auth.iter().any(|a| a == m);
        let mechanism = match preferred {
            AuthMechanism::Plain => AuthMechanism::Plain,
            AuthMechanism::Login => AuthMechanism::Login,
            AuthMechanism::Auto if offers("PLAIN") => AuthMechanism::Plain,
            AuthMechanism::Auto if offers("LOGIN") => AuthMechanism::Login,
            AuthMechanism::Auto if extensions.auth.is_empty() => {
                return Err(ActionError::Failed(format!(
                    "SMTP server {} offers no AUTH; remove `smtp.username` if the relay needs no login",
                    self.peer
                )));
            }
            AuthMechanism::Auto => {
                return Err(ActionError::Failed(format!(
                    "SMTP server {} offers AUTH {}; this plugin supports PLAIN and LOGIN",
                    self.peer,
                    extensions.auth.join(" ")
                )));
            }
        };
        let step = Step::Auth(user);
        match mechanism {
            AuthMechanism::Plain => {
                let token = BASE64.encode(format!("\0{user}\0{password}"));
                self.command(&format!("AUTH PLAIN {token}"), &step, 2)?;
            }
            _ => {
                self.command("AUTH LOGIN", &step, 3)?;
                self.command(&BASE64.encode(user), &step, 3)?;
                self.command(&BASE64.encode(password), &step, 2)?;
            }
        }
        Ok(())
    }

    /// Say goodbye when the connection still works; the outcome is already decided.
    fn quit(&mut self) {
        if !self.broken && self.write_all(b"QUIT\r\n", &Step::Quit).is_ok() {
            let _ = self.read_reply(&Step::Quit);
        }
        self.transport.close();
    }
}

/// `250-text` → (250, false, "text"); `250 text` and a bare `250` → (250, true, …).
fn parse_reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(b'2'..=b'5').contains(&code.as_bytes()[0]) {
        return None;
    }
    let code = code.parse().ok()?;
    match line.as_bytes().get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, &line[4..])),
        Some(b'-') => Some((code, false, &line[4..])),
        Some(_) => None,
    }
}

/// Longest line SMTP carries, without its CRLF (RFC 5321 §4.5.3.1.6).
const MAX_LINE: usize = 998;

/// The message as sent after DATA: CRLF line ends, dot-stuffed (RFC 5321 §4.5.2), and the
/// terminating `.` line.
fn data_block(message: &[u8]) -> Result<Vec<u8>, ActionError> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 32 + 8);
    let mut line_len = 0usize;
    let mut at_line_start = true;
    let mut bytes = message.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        match b {
            b'\r' | b'\n' => {
                // CRLF, a bare LF and a bare CR all end a line.
                if b == b'\r' && bytes.peek() == Some(&b'\n') {
                    bytes.next();
                }
                out.extend_from_slice(b"\r\n");
                line_len = 0;
                at_line_start = true;
            }
            _ => {
                out.push(b);
                line_len += 1;
                at_line_start = false;
                if line_len > MAX_LINE {
                    return Err(ActionError::InvalidInput(format!(
                        "the message has a line longer than {MAX_LINE} characters, which SMTP cannot carry"
                    )));
                }
            }
        }
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_with_crlf_line_ends() {
        let sent = data_block(b"Subject: x\n\n.hidden\r\n..two\rlast").unwrap();
        assert_eq!(
            sent,
            b"Subject: x\r\n\r\n..hidden\r\n...two\r\nlast\r\n.\r\n".to_vec()
        );
        assert_eq!(data_block(b"a\r\n").unwrap(), b"a\r\n.\r\n".to_vec());
        assert_eq!(data_block(b".").unwrap(), b"..\r\n.\r\n".to_vec());
    }

    #[test]
    fn overlong_lines_are_refused() {
        let long = vec![b'x'; 999];
        assert!(data_block(&long).is_err());
        assert!(data_block(&long[..998]).is_ok());
    }

    #[test]
    fn reply_lines_parse() {
        assert_eq!(
            parse_reply_line("250-PIPELINING"),
            Some((250, false, "PIPELINING"))
        );
        assert_eq!(parse_reply_line("250 ok"), Some((250, true, "ok")));
        assert_eq!(parse_reply_line("354"), Some((354, true, "")));
        assert_eq!(parse_reply_line("hello"), None);
        assert_eq!(parse_reply_line("250x"), None);
        assert_eq!(parse_reply_line("650 nope"), None);
    }

    #[test]
    fn extensions_from_ehlo() {
        let reply = Reply {
            code: 250,
            lines: vec![
                "mail.example.com Hello".into(),
                "STARTTLS".into(),
                "AUTH PLAIN login".into(),
                "AUTH=LOGIN".into(),
                "SIZE 1000".into(),
            ],
        };
        let ext = Extensions::parse(&reply);
        assert!(ext.starttls);
        assert_eq!(ext.auth, vec!["PLAIN".to_owned(), "LOGIN".to_owned()]);
    }
}
