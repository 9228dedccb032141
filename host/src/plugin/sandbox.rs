//! The WASI capabilities one plugin is granted. Everything starts denied:
//! no files, an empty environment, no sockets or DNS, empty stdin, captured
//! stdout/stderr. Grants from the config open exactly what they name.

use std::path::{Path, PathBuf};

use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::output::CapturedOutput;
use crate::config::{ClientRequestGrants, DirGrant, DirMode, HttpGrant, PluginGrants};
use std::sync::Arc;

#[derive(Debug, Default, Clone)]
pub struct Sandbox {
    /// Granted variables with the values they had when the host started.
    env: Vec<(String, String)>,
    dirs: Vec<(PathBuf, String, FsPerms)>,
    http: Arc<[HttpGrant]>,
    client: ClientRequestGrants,
}

impl Sandbox {
    /// Resolves a plugin's grants; errors name the grant and the problem.
    pub fn from_grants(grants: &PluginGrants, cache_dir: &Path) -> Result<Self, String> {
        let mut env = Vec::new();
        for name in &grants.env {
            match std::env::var(name) {
                Ok(value) => env.push((name.clone(), value)),
                Err(_) => {
                    tracing::warn!(variable = %name, "granted environment variable is not set on the host")
                }
            }
        }
        let cache_dir = cache_dir
            .canonicalize()
            .unwrap_or_else(|_| cache_dir.to_owned());
        let mut dirs = Vec::new();
        for DirGrant { guest, host, mode } in &grants.dirs {
            let resolved = host.canonicalize().map_err(|e| {
                format!(
                    "grants.dirs \"{guest}\": cannot open host folder {}: {e}",
                    host.display()
                )
            })?;
            if !resolved.is_dir() {
                return Err(format!(
                    "grants.dirs \"{guest}\": {} is not a folder",
                    host.display()
                ));
            }
            if cache_dir.starts_with(&resolved) {
                return Err(format!(
                    "grants.dirs \"{guest}\": {} contains the compile cache ({}); plugins must never reach it",
                    host.display(),
                    cache_dir.display()
                ));
            }
            let perms = match mode {
                DirMode::ReadOnly => FsPerms::ReadOnly,
                DirMode::ReadWrite => FsPerms::ReadWrite,
            };
            dirs.push((resolved, guest.clone(), perms));
        }
        Ok(Self {
            env,
            dirs,
            http: grants.http.clone().into(),
            client: grants.client,
        })
    }

    /// Which requests to its client the plugin may send.
    pub fn client_grants(&self) -> ClientRequestGrants {
        self.client
    }

    pub fn http_grants(&self) -> Arc<[HttpGrant]> {
        self.http.clone()
    }

    /// A WASI context holding exactly these grants.
    pub fn wasi_ctx(
        &self,
        stdout: CapturedOutput,
        stderr: CapturedOutput,
    ) -> Result<WasiCtx, String> {
        let mut builder = WasiCtxBuilder::new();
        builder.stdout(stdout).stderr(stderr);
        for (name, value) in &self.env {
            builder.env(name, value);
        }
        for (host, guest, perms) in &self.dirs {
            builder.preopened_dir(host, guest, *perms).map_err(|e| {
                format!(
                    "cannot open granted folder {} for \"{guest}\": {e}",
                    host.display()
                )
            })?;
        }
        Ok(builder.build())
    }
}
