//! Test-only plugin. `echo` is the well-behaved action the benches and concurrency tests use;
//! every other action misbehaves in one way the host must contain to that call alone.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use tocsin_plugin_sdk::http::{Request, send};
use tocsin_plugin_sdk::{Action, ActionError, Context, JsonSchema, Level, Plugin, PluginInfo};

struct Testbed;

#[derive(Deserialize, Serialize, JsonSchema)]
struct Echo {
    message: String,
    #[serde(default)]
    items: Vec<serde_json::Value>,
}

#[derive(Deserialize, JsonSchema)]
struct Empty {}

#[derive(Deserialize, JsonSchema)]
struct Target {
    /// A URL, a file path, an address or a secret name, depending on the action.
    target: String,
}

#[derive(Serialize, JsonSchema)]
struct Text {
    text: String,
}

impl Plugin for Testbed {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "testbed",
            env!("CARGO_PKG_VERSION"),
            "Test plugin: echo and hostile behaviours",
        )
        .http(&["*"])
        .tcp(&["*:*"])
        .secrets(&["token"])
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::new("echo", "Return the input unchanged", echo),
            Action::new("spin", "Loop forever", spin),
            Action::new("memory-bomb", "Allocate until memory runs out", memory_bomb),
            Action::new("stack-overflow", "Recurse without end", stack_overflow),
            Action::new(
                "shadow-stack-overflow",
                "Recurse with large frames",
                shadow_stack_overflow,
            ),
            Action::new("panic", "Panic (a trap)", panic),
            Action::new("huge-output", "Return 100 MB", huge_output),
            Action::new("http-get", "GET a URL", http_get),
            Action::new(
                "read-file",
                "Read a file from the host filesystem",
                read_file,
            ),
            Action::new("read-env", "List environment variables", read_env),
            Action::new(
                "tcp-connect",
                "Open a TCP connection to host:port",
                tcp_connect,
            ),
            Action::new("secret", "Read a secret and return its length", secret),
            Action::new("log-flood", "Write a million log lines", log_flood),
        ]
    }
}

fn echo(_: &Context, input: Echo) -> Result<Echo, ActionError> {
    Ok(input)
}

fn spin(_: &Context, _: Empty) -> Result<Text, ActionError> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn memory_bomb(_: &Context, _: Empty) -> Result<Text, ActionError> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 1024 * 1024]);
        std::hint::black_box(&hoard);
    }
}

/// Small frames: exhausts the engine's native wasm call stack.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))) + 1
}

/// Large address-taken frames: exhausts the guest's own stack in linear memory first.
#[allow(unconditional_recursion, clippy::only_used_in_recursion)]
fn recurse_padded(depth: u64, pad: [u8; 256]) -> u64 {
    let pad = std::hint::black_box(pad);
    recurse_padded(depth + 1, pad) + u64::from(pad[0])
}

fn stack_overflow(_: &Context, _: Empty) -> Result<Text, ActionError> {
    Ok(Text {
        text: recurse(0).to_string(),
    })
}

fn shadow_stack_overflow(_: &Context, _: Empty) -> Result<Text, ActionError> {
    Ok(Text {
        text: recurse_padded(0, [0; 256]).to_string(),
    })
}

fn panic(_: &Context, _: Empty) -> Result<Text, ActionError> {
    panic!("the testbed plugin panics on purpose")
}

fn huge_output(_: &Context, _: Empty) -> Result<Text, ActionError> {
    Ok(Text {
        text: "x".repeat(100 * 1024 * 1024),
    })
}

fn http_get(_: &Context, input: Target) -> Result<Text, ActionError> {
    let mut req = Request::new("GET", &input.target);
    req.timeout = Duration::from_secs(3600);
    let resp = send(&req)?;
    Ok(Text {
        text: format!("{} {}", resp.status, String::from_utf8_lossy(&resp.body)),
    })
}

fn read_file(_: &Context, input: Target) -> Result<Text, ActionError> {
    std::fs::read_to_string(&input.target)
        .map(|text| Text { text })
        .map_err(|e| ActionError::Denied(format!("reading {}: {e}", input.target)))
}

fn read_env(_: &Context, _: Empty) -> Result<Text, ActionError> {
    let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    let args: Vec<String> = std::env::args().collect();
    Ok(Text {
        text: format!("vars={vars:?} args={args:?}"),
    })
}

fn tcp_connect(_: &Context, input: Target) -> Result<Text, ActionError> {
    use wasi::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
    let (host, port) = input
        .target
        .rsplit_once(':')
        .ok_or_else(|| ActionError::InvalidInput("target must be a.b.c.d:port".into()))?;
    let octets: Vec<u8> = host.split('.').filter_map(|p| p.parse().ok()).collect();
    let port: u16 = port
        .parse()
        .map_err(|_| ActionError::InvalidInput("bad port".into()))?;
    let [a, b, c, d] = octets[..] else {
        return Err(ActionError::InvalidInput(
            "target must be a.b.c.d:port".into(),
        ));
    };
    let network = wasi::sockets::instance_network::instance_network();
    let socket = wasi::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4)
        .map_err(|e| ActionError::Denied(format!("create socket: {e:?}")))?;
    let addr = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (a, b, c, d),
    });
    socket
        .start_connect(&network, addr)
        .map_err(|e| ActionError::Denied(format!("connect to {}: {e:?}", input.target)))?;
    socket.subscribe().block();
    match socket.finish_connect() {
        Ok(_) => Ok(Text {
            text: format!("connected to {}", input.target),
        }),
        Err(e) => Err(ActionError::Denied(format!(
            "connect to {}: {e:?}",
            input.target
        ))),
    }
}

fn secret(_: &Context, input: Target) -> Result<Text, ActionError> {
    let value = tocsin_plugin_sdk::secret(&input.target)?;
    Ok(Text {
        text: format!("{} bytes", value.len()),
    })
}

fn log_flood(_: &Context, _: Empty) -> Result<Text, ActionError> {
    for i in 0..1_000_000 {
        tocsin_plugin_sdk::log(Level::Info, &format!("flood line {i}"));
    }
    Ok(Text {
        text: "done".into(),
    })
}

tocsin_plugin_sdk::export_plugin!(Testbed);
