//! Compiled components on disk, keyed by the component's bytes and the
//! engine's configuration, so a restart skips Cranelift entirely.
//!
//! The folder lives outside every plugin's sandbox: no plugin is ever given
//! a preopen of it, and entries are only read back by the host.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Whether a component came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
    /// The cache folder could not be used; compiled in memory only.
    Unavailable,
}

pub struct CompileCache {
    dir: PathBuf,
    engine_key: u64,
}

impl CompileCache {
    pub fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        Self {
            dir,
            engine_key: hasher.finish(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, bytes: &[u8]) -> PathBuf {
        let mut digest = Sha256::new();
        digest.update(bytes);
        digest.update(self.engine_key.to_le_bytes());
        let key: String = digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir.join(format!("{key}.cwasm"))
    }

    /// The compiled component for `bytes`, from the cache or freshly
    /// compiled (and then stored).
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry_path(bytes);
        if path.exists() {
            // SAFETY: entries are written only by `store` below, from
            // `Engine::precompile_component`, into a folder no plugin can
            // reach; the key covers the engine configuration, and a file
            // that fails to load is recompiled.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {e}")
                }
            }
        }
        let compiled = engine.precompile_component(bytes)?;
        // SAFETY: `compiled` was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        let outcome = match self.store(&path, &compiled) {
            Ok(()) => CacheOutcome::Miss,
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), "compile cache unavailable: {e}");
                CacheOutcome::Unavailable
            }
        };
        Ok((component, outcome))
    }

    fn store(&self, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        // Write then rename, so a concurrent start never reads half a file;
        // the temporary name is unique per write (identical components may
        // be compiled at the same time, in this process or another).
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let unique = WRITES.fetch_add(1, Ordering::Relaxed);
        let temp = path.with_extension(format!("tmp{}-{unique}", std::process::id()));
        std::fs::write(&temp, compiled)?;
        std::fs::rename(&temp, path)
    }
}
