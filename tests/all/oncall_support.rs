//! Shared by the on-call tests: the real `tocsin serve` with its log captured to a file, the
//! follow-the-sun fixture (Los Angeles + Dublin), HTTP and CLI helpers, the peer Python.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::helpers::*;

pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
    client: reqwest::blocking::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tocsin serve` on a free loopback port; its stderr (info level) goes to `<data>/serve.log`.
pub fn start(data_dir: &Path, config_dir: Option<&Path>) -> Server {
    try_start(data_dir, config_dir).unwrap_or_else(|e| panic!("serve did not start: {e}"))
}

/// As [`start`], but returns the log when the server exits instead of listening.
pub fn try_start(data_dir: &Path, config_dir: Option<&Path>) -> Result<Server, String> {
    let log = data_dir.join(format!("serve-{}.log", std::process::id()));
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut cmd = Command::new(tocsin_bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    if let Some(c) = config_dir {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .env("TOCSIN_LOG", "info,wasmtime=warn,cranelift=warn")
        .env_remove("TOCSIN_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    match line.trim().strip_prefix("tocsin listening on ") {
        Some(base) => Ok(Server {
            child,
            base: base.to_owned(),
            log,
            client: reqwest::blocking::Client::new(),
        }),
        None => {
            let _ = child.wait();
            Err(std::fs::read_to_string(&log).unwrap_or_default())
        }
    }
}

impl Server {
    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn get_text(&self, path: &str) -> (u16, String, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, ct, r.text().unwrap())
    }

    pub fn send(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = self
            .client
            .request(m, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Runs `tocsin ARGS…` to completion.
pub fn tocsin(args: &[&str]) -> Output {
    Command::new(tocsin_bin())
        .args(args)
        .env("TOCSIN_LOG", "warn")
        .env_remove("TOCSIN_SERVER")
        .env_remove("TOCSIN_CONFIG")
        .env_remove("TOCSIN_DATA_DIR")
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn person(alias: &str, name: &str, phone: &str) -> String {
    format!(
        "kind: Contact\nalias: {alias}\ndisplayName: {name}\ntype: PERSONAL\nchannels:\n  - {{name: mobile, type: SMS, deliveryAddress: \"{phone}\"}}\n  - {{name: email, type: EMAIL, deliveryAddress: {alias}@example.com}}\nengagementPlan:\n  stages:\n    - {{channel: mobile, minutesAfterStart: 0}}\n    - {{channel: email, minutesAfterStart: 5}}\n"
    )
}

fn every_day(start: &str, end: &str) -> String {
    ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
        .iter()
        .map(|d| format!("        {d}: [{{start: \"{start}\", end: \"{end}\"}}]\n"))
        .collect()
}

/// The seed's follow-the-sun schedule: Dublin covers 08:00-20:00 Dublin time, Los Angeles
/// 12:00-00:00 Los Angeles time; seamless when the zones are 8 hours apart.
pub fn follow_the_sun_schedule() -> String {
    format!(
        "kind: OnCallSchedule
alias: follow-the-sun
displayName: Follow the sun
rotations:
  - name: dublin
    contacts: [aoife, ciaran]
    startTime: 2026-01-01T08:00:00Z
    timeZoneId: Europe/Dublin
    recurrence:
      dailySettings: [\"08:00\"]
      numberOfOnCalls: 1
      recurrenceMultiplier: 1
      shiftCoverages:
{}  - name: los-angeles
    contacts: [ana, ben]
    startTime: 2026-01-01T20:00:00Z
    timeZoneId: America/Los_Angeles
    recurrence:
      dailySettings: [\"12:00\"]
      numberOfOnCalls: 1
      recurrenceMultiplier: 1
      shiftCoverages:
{}",
        every_day("08:00", "20:00"),
        every_day("12:00", "00:00")
    )
}

pub fn people() -> String {
    [
        person("aoife", "Aoife Ní Bhriain", "+353861234567"),
        person("ciaran", "Ciarán Ó Briain", "+353861234568"),
        person("ana", "Ana García", "+14155550100"),
        person("ben", "Ben Okafor", "+14155550101"),
    ]
    .join("---\n")
}

/// A config directory with the four people (people.yaml) and the schedule (schedule.yaml).
pub fn follow_the_sun_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("people.yaml"), people()).unwrap();
    std::fs::write(dir.path().join("schedule.yaml"), follow_the_sun_schedule()).unwrap();
    dir
}

/// The peer Python with `icalendar` and `vobject` (made by `cargo xtask test`).
pub fn python() -> PathBuf {
    let path = match std::env::var_os("TOCSIN_PEER_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => workspace().join("target/peers/venv/bin/python3"),
    };
    assert!(
        path.exists(),
        "peer python not found at {}: run `cargo xtask test`, or set TOCSIN_PEER_PYTHON to a python with icalendar and vobject",
        path.display()
    );
    path
}

pub fn run_python(script: &str, stdin: &str) -> Value {
    use std::io::Write as _;
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// The member of `pair` who is not `who`.
pub fn other<'a>(pair: [&'a str; 2], who: &str) -> &'a str {
    if pair[0] == who { pair[1] } else { pair[0] }
}
