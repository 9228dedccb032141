//! Host-side bindings of the WIT world `switchboard:plugin/tool-provider`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "tool-provider",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::switchboard::plugin::{host, types};
