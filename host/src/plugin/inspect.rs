//! Telling a plugin author exactly what is wrong with a `.wasm` file.

use wasmtime::Engine;
use wasmtime::component::Component;

use super::wit::WitVersion;

/// The WIT package versions of `switchboard:plugin` this host accepts.
pub const ACCEPTED_WIT_VERSIONS: &[WitVersion] = WitVersion::ALL;
const PROVIDER_INTERFACE: &str = "switchboard:plugin/provider@";

/// Why a file is not a plugin this host can load.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InspectError {
    #[error("not a WebAssembly file (it does not start with the `\\0asm` header)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build the plugin with `cargo build --target wasm32-wasip2`, which writes a component"
    )]
    CoreModule,
    #[error(
        "targets switchboard:plugin@{found}, but this host accepts switchboard:plugin@{accepted}"
    )]
    UnsupportedVersion { found: String, accepted: String },
    #[error(
        "does not implement the world `switchboard:plugin/tool-provider` (it exports: {exports})"
    )]
    WrongWorld { exports: String },
}

/// Checks the header before handing bytes to the compiler, whose errors for
/// these cases are cryptic.
pub fn check_header(bytes: &[u8]) -> Result<(), InspectError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(InspectError::NotWasm);
    }
    // Core modules have version 1 and layer 0; components use layer 1.
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(InspectError::CoreModule);
    }
    Ok(())
}

/// Checks that a compiled component exports our provider interface in a
/// version this host accepts, and says which (the newest, should it export
/// several).
pub fn check_world(engine: &Engine, component: &Component) -> Result<WitVersion, InspectError> {
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let versions: Vec<&str> = exports
        .iter()
        .filter_map(|name| name.strip_prefix(PROVIDER_INTERFACE))
        .collect();
    if let Some(accepted) = ACCEPTED_WIT_VERSIONS
        .iter()
        .rev()
        .find(|accepted| versions.contains(&accepted.as_str()))
    {
        return Ok(*accepted);
    }
    if let Some(found) = versions.first() {
        return Err(InspectError::UnsupportedVersion {
            found: (*found).to_owned(),
            accepted: ACCEPTED_WIT_VERSIONS
                .iter()
                .map(|version| version.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Err(InspectError::WrongWorld {
        exports: if exports.is_empty() {
            "nothing".into()
        } else {
            exports.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(check_header(b"hello world"), Err(InspectError::NotWasm));
        assert_eq!(check_header(b"\0asm"), Err(InspectError::NotWasm));
        assert_eq!(
            check_header(b"\0asm\x01\0\0\0"),
            Err(InspectError::CoreModule)
        );
        assert_eq!(check_header(b"\0asm\x0d\0\x01\0"), Ok(()));
    }
}
