//! `chat`: work in progress.

use tocsin_plugin_sdk::{Action, Plugin, PluginInfo};

struct Skeleton;

impl Plugin for Skeleton {
    fn info() -> PluginInfo {
        PluginInfo::new("chat", env!("CARGO_PKG_VERSION"), "work in progress")
    }

    fn actions() -> Vec<Action> {
        vec![]
    }
}

tocsin_plugin_sdk::export_plugin!(Skeleton);
