//! Host bindings of the `tocsin:plugin/action-plugin` world (wit/plugin.wit).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "action-plugin",
    exports: { default: async },
});
