//! The Rust guest SDK for Tocsin action plugins.
//!
//! A plugin is a type implementing [`Plugin`] plus one [`export_plugin!`] line. Each action is a
//! plain function from a typed input to a typed output; the SDK derives the JSON Schemas of the
//! manifest from the types (schemars), parses the input and serialises the output.
//!
//! ```ignore
//! use tocsin_plugin_sdk::{Action, ActionError, Context, Plugin, PluginInfo};
//! struct Hello;
//! impl Plugin for Hello {
//!     fn info() -> PluginInfo { PluginInfo::new("hello", env!("CARGO_PKG_VERSION"), "Says hello") }
//!     fn actions() -> Vec<Action> { vec![Action::new("greet", "Greets someone", greet)] }
//! }
//! fn greet(_: &Context, who: String) -> Result<String, ActionError> { Ok(format!("hello {who}")) }
//! tocsin_plugin_sdk::export_plugin!(Hello);
//! ```

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "action-plugin",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "tocsin_plugin_sdk::bindings",
    });
}

pub mod aws;
pub mod http;

use std::collections::BTreeMap;

pub use bindings::tocsin::plugin::host::Level;
pub use bindings::tocsin::plugin::types::{
    ActionError, ActionInfo, Capabilities, Context, Manifest, RetryLater,
};
pub use schemars::{self, JsonSchema};
use serde::{Serialize, de::DeserializeOwned};
pub use serde_json;

type Handler = Box<dyn Fn(&Context, &str) -> Result<String, ActionError>>;

/// One action a plugin offers: its name, description, schemas and the function that runs it.
///
/// Schemas are generated only when the host asks for the manifest (`describe`, once per load),
/// never on the invocation path: every call is a fresh instance, so nothing is cached.
pub struct Action {
    name: String,
    description: String,
    input_schema: fn() -> String,
    output_schema: fn() -> String,
    run: Handler,
}

impl Action {
    /// An action whose input is parsed into `I` and whose output `O` is serialised to JSON.
    pub fn new<I, O>(
        name: &str,
        description: &str,
        run: fn(&Context, I) -> Result<O, ActionError>,
    ) -> Self
    where
        I: DeserializeOwned + JsonSchema + 'static,
        O: Serialize + JsonSchema + 'static,
    {
        let action = name.to_owned();
        let run = Box::new(move |ctx: &Context, input: &str| {
            let input: I = serde_json::from_str(input).map_err(|e| {
                ActionError::InvalidInput(format!("input of action `{action}` does not parse: {e}"))
            })?;
            let output = run(ctx, input)?;
            serde_json::to_string(&output).map_err(|e| {
                ActionError::Failed(format!(
                    "output of action `{action}` does not serialise: {e}"
                ))
            })
        });
        Action {
            name: name.to_owned(),
            description: description.to_owned(),
            input_schema: schema_text::<I>,
            output_schema: schema_text::<O>,
            run,
        }
    }

    fn info(&self) -> ActionInfo {
        ActionInfo {
            name: self.name.clone(),
            description: self.description.clone(),
            input_schema: (self.input_schema)(),
            output_schema: (self.output_schema)(),
        }
    }
}

fn schema_text<T: JsonSchema>() -> String {
    serde_json::to_string(&schemars::schema_for!(T)).unwrap_or_else(|_| "true".to_owned())
}

/// Name, version, description, configuration schema and requested capabilities of a plugin.
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub config_schema: String,
    pub requests: Capabilities,
}

impl PluginInfo {
    /// A plugin with no configuration and no capability requests.
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        PluginInfo {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            config_schema: r#"{"type":"object"}"#.to_owned(),
            requests: Capabilities {
                http: vec![],
                tcp: vec![],
                secrets: vec![],
            },
        }
    }

    /// The instance configuration is parsed into `C`; its schema is derived from `C`.
    pub fn config<C: JsonSchema>(mut self) -> Self {
        self.config_schema = schema_text::<C>();
        self
    }

    /// Ask for HTTP origins (`"https://api.example.com"`, `"https://*.example.com"`, or `"*"`).
    pub fn http(mut self, origins: &[&str]) -> Self {
        self.requests.http = origins.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Ask for TCP `host:port` pairs (`"*:*"` lets the operator choose).
    pub fn tcp(mut self, addresses: &[&str]) -> Self {
        self.requests.tcp = addresses.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Ask for secrets by name.
    pub fn secrets(mut self, names: &[&str]) -> Self {
        self.requests.secrets = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }
}

/// Implemented by a plugin type; exported with [`export_plugin!`].
pub trait Plugin {
    fn info() -> PluginInfo;
    fn actions() -> Vec<Action>;
}

#[doc(hidden)]
pub fn describe<P: Plugin>() -> Manifest {
    let info = P::info();
    Manifest {
        name: info.name,
        version: info.version,
        description: info.description,
        actions: P::actions().iter().map(Action::info).collect(),
        config_schema: info.config_schema,
        requests: info.requests,
    }
}

#[doc(hidden)]
pub fn invoke<P: Plugin>(ctx: &Context, action: &str, input: &str) -> Result<String, ActionError> {
    match P::actions().into_iter().find(|a| a.name == action) {
        Some(a) => (a.run)(ctx, input),
        None => Err(ActionError::InvalidInput(format!(
            "plugin `{}` has no action `{action}`",
            P::info().name
        ))),
    }
}

/// The instance configuration, parsed into `C`.
pub fn config<C: DeserializeOwned>() -> Result<C, ActionError> {
    let text = bindings::tocsin::plugin::host::config();
    serde_json::from_str(&text)
        .map_err(|e| ActionError::Failed(format!("plugin configuration is invalid: {e}")))
}

/// A granted secret; `Denied` when the operator did not grant it or it has no value.
pub fn secret(name: &str) -> Result<String, ActionError> {
    bindings::tocsin::plugin::host::secret(name).ok_or_else(|| {
        ActionError::Denied(format!(
            "secret `{name}` is not granted to this plugin instance; add it to `secrets:` in its kind: Plugin document"
        ))
    })
}

/// Milliseconds since the Unix epoch by the host's wall clock (wasi:clocks).
pub fn now_unix_ms() -> u64 {
    let now = wasi::clocks::wall_clock::now();
    now.seconds * 1000 + u64::from(now.nanoseconds / 1_000_000)
}

/// Log through the engine (recorded with the instance name and invocation id).
pub fn log(level: Level, message: &str) {
    bindings::tocsin::plugin::host::log(level, message);
}

/// A string map, the usual shape of HTTP headers in inputs and outputs.
pub type StringMap = BTreeMap<String, String>;

/// Export a [`Plugin`] implementation as the component's `describe` and `invoke`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        struct __TocsinGuest;
        impl $crate::bindings::Guest for __TocsinGuest {
            fn describe() -> $crate::Manifest {
                $crate::describe::<$plugin>()
            }
            fn invoke(
                ctx: $crate::Context,
                action: ::std::string::String,
                input: ::std::string::String,
            ) -> ::std::result::Result<::std::string::String, $crate::ActionError> {
                $crate::invoke::<$plugin>(&ctx, &action, &input)
            }
        }
        $crate::bindings::export!(__TocsinGuest with_types_in $crate::bindings);
    };
}
