//! Write Switchboard tool plugins in Rust.
//!
//! A plugin is a WebAssembly component implementing the WIT world
//! `switchboard:plugin/tool-provider@0.2.0`. With this crate you never see
//! the WIT: write plain functions over typed arguments, list them in a
//! [`ToolSet`], and call [`export_plugin!`]. The SDK derives each tool's
//! input JSON Schema from its arguments type (doc comments become
//! descriptions), the output schema for [`Json`] results, and maps errors
//! onto the WIT `tool-error`.
//!
//! The schemas are made portable (see [`input_schema_for`]): one `type` per
//! schema (clients that map tools onto a single-`type` dialect, such as
//! Gemini's function declarations, take them as they are), only standard
//! `format`s, and an `Option<T>` argument is not required and is
//! `{"anyOf": [T, {"type": "null"}]}` (no `type` array). The MCP Inspector's
//! `--strict` lint finds nothing in the example plugins' tools;
//! `tests/clients/run.sh` checks that.
//!
//! # A complete plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "greeter"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib", "rlib"]   # cdylib: the component; rlib: native unit tests
//!
//! [dependencies]
//! # Not on crates.io: a path to the `sdk` folder of a Switchboard clone
//! # (`cargo add switchboard-sdk --path /path/to/switchboard/sdk` writes it).
//! switchboard-sdk = { path = "/path/to/switchboard/sdk" }
//! serde = { version = "1", features = ["derive"] }
//! schemars = "1"
//! ```
//!
//! `src/lib.rs`:
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use schemars::JsonSchema;
//! use switchboard_sdk::{Context, Json, Plugin, Tool, ToolError, ToolSet, export_plugin};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct GreetArgs {
//!     /// Who to greet.
//!     name: String,
//!     /// How many exclamation marks (default 1).
//!     #[serde(default)]
//!     excitement: Option<u8>,
//! }
//!
//! fn greet(args: GreetArgs, cx: &Context) -> Result<String, ToolError> {
//!     if args.name.trim().is_empty() {
//!         return Err(ToolError::invalid_arguments("`name` must not be empty"));
//!     }
//!     cx.info(format_args!("greeting {}", args.name));
//!     let bangs = "!".repeat(args.excitement.unwrap_or(1).into());
//!     Ok(format!("Hello, {}{bangs}", args.name))
//! }
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct LenArgs {
//!     /// The text to measure.
//!     text: String,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Len {
//!     /// UTF-8 bytes.
//!     bytes: usize,
//!     /// Unicode scalar values.
//!     chars: usize,
//! }
//!
//! fn length(args: LenArgs, _cx: &Context) -> Result<Json<Len>, ToolError> {
//!     Ok(Json(Len { bytes: args.text.len(), chars: args.text.chars().count() }))
//! }
//!
//! struct Greeter;
//!
//! impl Plugin for Greeter {
//!     fn tools() -> ToolSet {
//!         ToolSet::new()
//!             .tool(Tool::new("greet", "Greet someone by name", greet).pure())
//!             .tool(Tool::new("length", "Length of a text in bytes and characters", length)
//!                 .title("Text length")
//!                 .pure())
//!     }
//! }
//!
//! export_plugin!(Greeter);
//!
//! #[cfg(test)]
//! mod tests {
//!     use super::*;
//!     use switchboard_sdk::testing::MockHost;
//!
//!     #[test]
//!     fn greets() {
//!         let tools = Greeter::tools();
//!         tools.list(); // panics on a bad schema
//!         let host = MockHost::new();
//!         let out = tools
//!             .call_json("greet", &serde_json::json!({ "name": "Ada" }), &host.context("greet"))
//!             .unwrap();
//!         assert_eq!(out.first_text(), Some("Hello, Ada!"));
//!         assert_eq!(host.logs().len(), 1);
//!     }
//! }
//! ```
//!
//! # Building
//!
//! ```sh
//! rustup target add wasm32-wasip2
//! cargo build --target wasm32-wasip2 --release
//! # -> target/wasm32-wasip2/release/greeter.wasm, a component (no cargo-component needed)
//! ```
//!
//! Drop the `.wasm` where the Switchboard config points (`component = "..."`).
//! `cargo test` runs the unit tests natively: host imports are not reachable
//! there, so test through [`testing::MockHost`].
//!
//! # Results and errors
//!
//! A tool returns `Result<O, E>` with `O:` [`IntoToolOutput`]:
//!
//! - `String` / `&str`: one text block;
//! - [`Json<T>`]: structured content, the same JSON as text, and `T`'s schema
//!   as the tool's output schema (`T` must be a struct or map);
//! - [`CallResult`]: full control (text, image, audio, embedded resources,
//!   resource links, structured content, `is_error`).
//!
//! `E` is anything `Into<`[`ToolError`]`>`. Every `std::error::Error`
//! converts with `?` into [`ToolError::Failed`]; use
//! [`ToolError::invalid_arguments`] for bad input. Unknown tool names answer
//! `not-found`; arguments that do not deserialize answer `invalid-arguments`
//! with serde's message. A panic traps the plugin instance: return errors
//! instead.
//!
//! # Calling the host
//!
//! Each tool gets a [`Context`]: [`Context::log`] (and `debug`/`info`/
//! `notice`/`warn`/`error`), [`Context::progress`], [`Context::call_tool`] /
//! [`Context::call_tool_as`] to call tools the admin granted this plugin (by
//! the names clients see), and [`Context::list_tools`].
//!
//! The raw WIT bindings are in [`bindings`] for anything the typed API does
//! not cover.
//!
//! # Files, environment variables and outbound HTTP
//!
//! A plugin has none of these until the admin grants them in the host's
//! config (`grants.dirs`, `grants.env`, `grants.http`; see the admin guide).
//! Once granted they are plain WASI, so the standard library works:
//!
//! ```no_run
//! use switchboard_sdk::ToolError;
//!
//! // grants.dirs = { "/data" = { path = "./notes", mode = "rw" } }
//! fn save(name: &str, text: &str) -> Result<String, ToolError> {
//!     std::fs::create_dir_all("/data/saved")?;
//!     std::fs::write(format!("/data/saved/{name}.txt"), text)?;
//!     // Folders outside the grants do not exist in the sandbox.
//!     Ok(std::fs::read_to_string(format!("/data/saved/{name}.txt"))?)
//! }
//!
//! // grants.env = ["LANG"]: the value it had when the host started; every
//! // other variable is unset.
//! fn language() -> String {
//!     std::env::var("LANG").unwrap_or_else(|_| "C".into())
//! }
//! # let _ = (save("a", "b"), language());
//! ```
//!
//! Outbound HTTP goes through `wasi:http/outgoing-handler`, e.g. with the
//! [`wasip2`](https://docs.rs/wasip2) crate (`wasip2 = "2"`). A request to
//! an origin the grants do not name fails with `HTTP-request-denied`:
//!
//! ```no_run
//! use wasip2::http::outgoing_handler;
//! use wasip2::http::types::{Fields, OutgoingRequest, Scheme};
//!
//! // grants.http = ["https://api.example.com"]
//! fn status_of(path: &str) -> Result<u16, String> {
//!     let request = OutgoingRequest::new(Fields::new());
//!     request.set_scheme(Some(&Scheme::Https)).map_err(|()| "bad scheme")?;
//!     request.set_authority(Some("api.example.com")).map_err(|()| "bad authority")?;
//!     request.set_path_with_query(Some(path)).map_err(|()| "bad path")?;
//!     let response = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
//!     response.subscribe().block();
//!     match response.get() {
//!         Some(Ok(Ok(response))) => Ok(response.status()),
//!         Some(Ok(Err(e))) => Err(format!("{e:?}")),
//!         Some(Err(())) | None => Err("no response".into()),
//!     }
//! }
//! # let _ = status_of("/");
//! ```
//!
//! The host's end-to-end tests exercise each of these through a real plugin
//! (`tests/fixtures/hostile`), granted and not.

#![warn(missing_docs)]

pub mod ask;
mod context;
mod error;
mod export;
mod result;
mod schema;
mod serve;
pub mod testing;
mod tool;

/// The raw bindings `wit-bindgen` generates for the `tool-provider` world.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.2.0",
        world: "tool-provider",
        pub_export_macro: true,
        default_bindings_module: "switchboard_sdk::bindings",
        export_macro_name: "export",
    });
}

pub use ask::{Elicited, Root, Sampled, Sampling};
pub use context::{Change, Context, Host, Level};
// Re-exported so plugins can match the SDK's versions.
pub use error::ToolError;
#[doc(hidden)]
pub use export::__private;
pub use result::{CallResult, Content, EmbeddedResource, ResourceContents, ResourceLink};
pub use serve::{
    Completion, Prompt, PromptArgumentInfo, PromptInfo, PromptMessage, PromptSet, Resource,
    ResourceInfo, ResourceRequest, ResourceSet, Role,
};
pub use tool::{
    Annotations, IntoToolOutput, Json, NoArgs, Plugin, Tool, ToolInfo, ToolSet, input_schema_for,
    is_valid_tool_name, output_schema_for,
};
pub use {schemars, serde, serde_json};

/// Export a [`Plugin`] as the component's `provider` interface.
///
/// Use once per plugin crate, at the crate root or in any module:
///
/// ```ignore
/// struct MyPlugin;
/// impl switchboard_sdk::Plugin for MyPlugin {
///     fn tools() -> switchboard_sdk::ToolSet { switchboard_sdk::ToolSet::new() }
/// }
/// switchboard_sdk::export_plugin!(MyPlugin);
/// ```
///
/// The tool set is built once per plugin instance, on first use; schemas are
/// generated only when the host lists tools.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            #[allow(dead_code)]
            struct __SwitchboardExport;

            #[allow(dead_code)]
            fn __switchboard_tools() -> &'static $crate::ToolSet {
                static TOOLS: ::std::sync::OnceLock<$crate::ToolSet> = ::std::sync::OnceLock::new();
                TOOLS.get_or_init(<$plugin as $crate::Plugin>::tools)
            }

            #[allow(dead_code)]
            fn __switchboard_resources() -> &'static $crate::ResourceSet {
                static RESOURCES: ::std::sync::OnceLock<$crate::ResourceSet> =
                    ::std::sync::OnceLock::new();
                RESOURCES.get_or_init(<$plugin as $crate::Plugin>::resources)
            }

            #[allow(dead_code)]
            fn __switchboard_prompts() -> &'static $crate::PromptSet {
                static PROMPTS: ::std::sync::OnceLock<$crate::PromptSet> =
                    ::std::sync::OnceLock::new();
                PROMPTS.get_or_init(<$plugin as $crate::Plugin>::prompts)
            }

            impl $crate::__private::ResourcesGuest for __SwitchboardExport {
                fn list_resources() -> ::std::vec::Vec<$crate::__private::ResourceInfo> {
                    $crate::__private::list_resources(__switchboard_resources())
                }

                fn list_resource_templates() -> ::std::vec::Vec<$crate::__private::ResourceTemplate>
                {
                    $crate::__private::list_resource_templates(__switchboard_resources())
                }

                fn read_resource(
                    uri: ::std::string::String,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::__private::EmbeddedResource>,
                    $crate::__private::ToolError,
                > {
                    $crate::__private::read_resource(__switchboard_resources(), uri)
                }
            }

            impl $crate::__private::PromptsGuest for __SwitchboardExport {
                fn list_prompts() -> ::std::vec::Vec<$crate::__private::Prompt> {
                    $crate::__private::list_prompts(__switchboard_prompts())
                }

                fn get_prompt(
                    name: ::std::string::String,
                    arguments: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ) -> ::std::result::Result<
                    $crate::__private::PromptResult,
                    $crate::__private::ToolError,
                > {
                    $crate::__private::get_prompt(__switchboard_prompts(), name, arguments)
                }
            }

            impl $crate::__private::CompletionsGuest for __SwitchboardExport {
                fn complete(
                    reference: $crate::__private::CompletionRef,
                    argument: $crate::__private::CompletionArgument,
                    context: ::std::vec::Vec<$crate::__private::CompletionArgument>,
                ) -> ::std::result::Result<
                    $crate::__private::Completion,
                    $crate::__private::ToolError,
                > {
                    $crate::__private::complete(
                        __switchboard_resources(),
                        __switchboard_prompts(),
                        reference,
                        argument,
                        context,
                    )
                }
            }

            impl $crate::__private::Guest for __SwitchboardExport {
                fn list_tools() -> ::std::vec::Vec<$crate::__private::Tool> {
                    $crate::__private::list_tools(__switchboard_tools())
                }

                fn call_tool(
                    name: ::std::string::String,
                    arguments: ::std::string::String,
                ) -> ::std::result::Result<
                    $crate::__private::CallResult,
                    $crate::__private::ToolError,
                > {
                    $crate::__private::call_tool(__switchboard_tools(), name, arguments)
                }
            }

            $crate::__export_component!(__SwitchboardExport);
        };
    };
}

// Native builds (unit tests) type-check the glue but export nothing: the
// component's export names are not valid native symbols.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[macro_export]
macro_rules! __export_component {
    ($ty:ident) => {
        $crate::bindings::export!($ty with_types_in $crate::bindings);
    };
}

#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __export_component {
    ($ty:ident) => {};
}
