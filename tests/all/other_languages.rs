//! "Any language": plugins written in Python (componentize-py, PyPI) and JavaScript
//! (componentize-js, npm), built from tests/plugins/ against wit/, loaded and invoked by the
//! same host as the Rust plugins.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;
use tocsin::plugin::{InvokeError, PluginSource};

use crate::helpers::*;

/// Build the Python component (once per test run) into the target directory.
fn python_component() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = workspace().join("target/peers/python-plugin.wasm");
            let tool = peer_bin().join("componentize-py");
            assert!(
                tool.exists(),
                "componentize-py is not installed at {}; run `cargo xtask test` (it installs the test peers)",
                tool.display()
            );
            let status = Command::new(&tool)
                .current_dir(workspace().join("tests/plugins/python"))
                .args(["-d", "../../../wit", "-w", "action-plugin", "componentize", "app", "-o"])
                .arg(&out)
                .status()
                .expect("run componentize-py");
            assert!(status.success(), "componentize-py failed");
            out
        })
        .clone()
}

#[tokio::test]
async fn a_python_plugin_describes_itself_and_runs_actions() {
    let mut s = spec("greeter", PluginSource::Path(python_component()));
    s.config = json!({"greeting": "Bonjour"});
    let host = host_with(vec![s]).await;

    let manifest = host.manifest("greeter").unwrap();
    assert_eq!(manifest.name, "pygreeter");
    let actions: Vec<_> = manifest.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(actions, ["greet", "sum"]);

    let out = invoke(&host, "greeter", "greet", json!({"name": "Ada"}))
        .await
        .unwrap();
    assert_eq!(
        out["greeting"], "Bonjour, Ada!",
        "the operator's config reached the plugin"
    );
    assert!(!out["invocation"].as_str().unwrap().is_empty());
    let out = invoke(
        &host,
        "greeter",
        "greet",
        json!({"name": "Ada", "shout": true}),
    )
    .await
    .unwrap();
    assert_eq!(out["greeting"], "BONJOUR, ADA!");
    let out = invoke(&host, "greeter", "sum", json!({"values": [1, 2.5, 3]}))
        .await
        .unwrap();
    assert_eq!(out["sum"], 6.5);

    // The host checks the Python plugin's schemas exactly as it does a Rust plugin's.
    let err = invoke(&host, "greeter", "greet", json!({"name": ""}))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::InvalidInput { .. }), "{err}");
}

/// Build the JavaScript component with componentize-js (installed by `cargo xtask peers`).
fn js_component() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let node_dir = match std::env::var_os("TOCSIN_PEER_NODE") {
                Some(p) => PathBuf::from(p),
                None => workspace().join("target/peers/node"),
            };
            assert!(
                node_dir.join("node_modules/@bytecodealliance/componentize-js").exists(),
                "componentize-js is not installed in {}; run `cargo xtask test` (it installs the test peers)",
                node_dir.display()
            );
            // The build script resolves componentize-js from its own directory.
            std::fs::copy(workspace().join("tests/plugins/js/build.mjs"), node_dir.join("build.mjs")).unwrap();
            let out = workspace().join("target/peers/js-plugin.wasm");
            let status = Command::new("node")
                .arg(node_dir.join("build.mjs"))
                .arg(workspace().join("tests/plugins/js/plugin.js"))
                .arg(workspace().join("wit"))
                .arg(&out)
                .status()
                .expect("run node");
            assert!(status.success(), "componentize-js failed");
            out
        })
        .clone()
}

#[tokio::test]
async fn a_javascript_plugin_runs_actions_and_reports_typed_errors() {
    let host = host_with(vec![spec("adder", PluginSource::Path(js_component()))]).await;
    assert_eq!(host.manifest("adder").unwrap().name, "jsadder");
    let out = invoke(&host, "adder", "sum", json!({"values": [1, 2, 3.5]}))
        .await
        .unwrap();
    assert_eq!(out["sum"], 6.5);
    let err = invoke(&host, "adder", "sum", json!({"values": ["x"]}))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::InvalidInput { .. }), "{err}");
}
