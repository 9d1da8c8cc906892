//! `tocsin serve`: the real binary on a loopback port with a temporary data directory.

use std::process::Command;

use crate::helpers::*;
use crate::runbook_exec::Server;

fn start(data_dir: &std::path::Path, config_dir: Option<&std::path::Path>) -> Server {
    Server::start(data_dir, config_dir, None)
}

#[test]
fn serve_answers_healthz_and_invokes_plugins_over_http() {
    let data = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("p.yaml"),
        "kind: Plugin\nname: pager-console\nplugin: console\n",
    )
    .unwrap();
    let server = start(data.path(), Some(config.path()));
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );

    let client = reqwest::blocking::Client::new();
    let health: serde_json::Value = client
        .get(format!("{}/healthz", server.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok");
    let instances = health["plugin_instances"].as_array().unwrap();
    assert!(
        instances.iter().any(|i| i == "console") && instances.iter().any(|i| i == "pager-console"),
        "{health}"
    );
    assert!(data.path().join("tocsin.redb").exists());
    assert!(
        std::fs::read_dir(data.path().join("plugin-cache"))
            .unwrap()
            .count()
            >= 1,
        "plugins were precompiled"
    );

    let resp = client
        .post(format!("{}/v1/plugins/console/actions/notify", server.base))
        .body(r#"{"message":"page: db-1 down"}"#)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().unwrap();
    assert_eq!(v["output"]["delivered"], true);

    let resp = client
        .post(format!("{}/v1/plugins/console/actions/notify", server.base))
        .body(r#"{"nope":1}"#)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 422);
    let v: serde_json::Value = resp.json().unwrap();
    assert_eq!(v["error"], "invalid-input");
    assert!(v["message"].as_str().unwrap().contains("message"), "{v}");

    let resp = client
        .post(format!("{}/v1/plugins/console/actions/notify", server.base))
        .body("not json")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = client
        .post(format!("{}/v1/plugins/sms/actions/send", server.base))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused_clearly() {
    let data = tempfile::tempdir().unwrap();
    let _first = start(data.path(), None);
    let out = Command::new(tocsin_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("TOCSIN_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tocsin.redb") && err.contains("another `tocsin serve`"),
        "{err}"
    );
}
