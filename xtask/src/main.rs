//! `cargo xtask test`: install what the suite needs when missing, then run the whole suite.
//! `cargo xtask peers`: only install the test peers. `cargo xtask bench`: run the benchmarks.
//!
//! Peers: the wasm32-wasip2 Rust target (rustup), Debian packages (apt-get, when missing),
//! PyPI packages in a venv at target/peers/venv (xtask/peers/requirements.txt) and npm packages
//! in target/peers/node (tests/plugins/js/package.json and its lock).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Debian packages the suite starts as real peers: (binary that proves it is installed, package).
const DEBIAN_PEERS: &[(&str, &str)] = &[
    ("prometheus", "prometheus"),
    ("prometheus-alertmanager", "prometheus-alertmanager"),
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("test") => {
            peers(&root)?;
            test(&root, &args[1..])
        }
        Some("peers") => peers(&root),
        Some("bench") => {
            peers(&root)?;
            run(Command::new(cargo())
                .current_dir(&root)
                .args(["bench", "-p", "tocsin"])
                .args(&args[1..])
                .envs(peer_env(&root)))
        }
        _ => {
            eprintln!("usage: cargo xtask test [-- <test filter>] | peers | bench");
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn venv(root: &Path) -> PathBuf {
    root.join("target/peers/venv")
}

fn peer_env(root: &Path) -> Vec<(String, String)> {
    let bin = venv(root).join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    vec![
        ("PATH".into(), path),
        (
            "TOCSIN_PEER_PYTHON".into(),
            bin.join("python3").display().to_string(),
        ),
        ("TOCSIN_PEER_BIN".into(), bin.display().to_string()),
        (
            "TOCSIN_PEER_NODE".into(),
            root.join("target/peers/node").display().to_string(),
        ),
    ]
}

fn peers(root: &Path) -> Result<()> {
    // The toolchain file names the target, but older rustups only add targets on install.
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    if let Ok(out) = installed
        && !String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == "wasm32-wasip2")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    }

    let missing: Vec<&str> = DEBIAN_PEERS
        .iter()
        .filter(|(bin, _)| !on_path(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if !missing.is_empty() {
        eprintln!("xtask: installing Debian packages {missing:?}");
        let sudo = if is_root() { vec![] } else { vec!["sudo"] };
        let mut update = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            update.arg("apt-get");
        }
        run(update.args(["update", "-qq"]))?;
        let mut install = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            install.arg("apt-get");
        }
        run(install
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing))?;
    }

    let venv = venv(root);
    let requirements = root.join("xtask/peers/requirements.txt");
    let stamp = venv.join(".requirements.installed");
    let wanted =
        std::fs::read_to_string(&requirements).context("reading xtask/peers/requirements.txt")?;
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        if !venv.join("bin/python3").exists() {
            eprintln!("xtask: creating the test venv at {}", venv.display());
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
        eprintln!("xtask: installing PyPI test peers");
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements))?;
        std::fs::write(&stamp, wanted)?;
    }
    // componentize-js (npm), for the JavaScript plugin test, resolved from the committed lock
    // (`npm install` rather than `npm ci`: npm 11 rejects locks missing other platforms' optional deps).
    let node_dir = root.join("target/peers/node");
    let js = root.join("tests/plugins/js");
    let lock = std::fs::read_to_string(js.join("package-lock.json"))
        .context("reading tests/plugins/js/package-lock.json")?;
    let node_stamp = node_dir.join(".lock.installed");
    if std::fs::read_to_string(&node_stamp).ok().as_deref() != Some(lock.as_str()) {
        eprintln!(
            "xtask: installing npm test peers into {}",
            node_dir.display()
        );
        std::fs::create_dir_all(&node_dir)?;
        std::fs::copy(js.join("package.json"), node_dir.join("package.json"))?;
        std::fs::write(node_dir.join("package-lock.json"), &lock)?;
        run(Command::new("npm").current_dir(&node_dir).args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))?;
        std::fs::write(&node_stamp, lock)?;
    }
    Ok(())
}

fn test(root: &Path, extra: &[String]) -> Result<()> {
    let env = peer_env(root);
    // Plugins' own unit tests run on the host; the engine suite loads them as wasm components.
    run(Command::new(cargo())
        .current_dir(root)
        .args(["test", "--workspace", "--lib", "--bins", "--tests"])
        .args(extra)
        .envs(env.clone()))?;
    // Doc examples of the engine (the guest SDK's example is for wasm and marked ignore).
    run(Command::new(cargo())
        .current_dir(root)
        .args(["test", "-p", "tocsin", "--doc"])
        .envs(env))
}

fn on_path(bin: &str) -> bool {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .any(|dir| Path::new(dir).join(bin).is_file())
        || Path::new("/usr/sbin").join(bin).is_file()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}
