//! Compiled components on disk, keyed by the component's bytes and the
//! engine's configuration, so a restart skips Cranelift entirely.
//!
//! # Why loading native code from here is sound
//!
//! An entry is machine code the host runs, so whoever can make the host
//! accept an entry can run code as the host. Three rules keep that to the
//! host's own user (and root):
//!
//! 1. **The folder.** [`CompileCache::new`] creates it (and any missing
//!    parent) mode 0700. On unix an existing folder must be owned by the
//!    user the host runs as and must not be writable by group or others;
//!    otherwise `new` fails with [`UnsafeCacheDir`] and the host does not
//!    start (`switchboard serve` and `switchboard check` print the error and
//!    exit 1). There is no silent fallback to another folder. The default
//!    folder of a user without `HOME`/`XDG_CACHE_HOME` is per user
//!    (`<temp>/switchboard-<uid>`), so another user who creates it first
//!    only gets it refused, never used.
//! 2. **The key.** `hmac.key` holds 32 random bytes, created once, mode
//!    0600, and read into memory by `new`. A key file that is not a regular
//!    file owned by the host's user with no group/other permission (or has
//!    the wrong length) is replaced by a fresh key, which only turns every
//!    existing entry into a miss.
//! 3. **The entries.** Each entry is one file, written to a temporary name
//!    (mode 0600) and renamed into place:
//!    `MAGIC || name || artifact || HMAC-SHA256(key, MAGIC || name || artifact)`,
//!    where `MAGIC` names the format, `name` is the entry's file stem and
//!    `artifact` the output of `Engine::precompile_component`. Loading
//!    reads the whole file into memory, checks the tag in constant time and
//!    deserializes those same bytes, so the file cannot change between the
//!    check and the use. An entry that is unreadable, untagged (for example
//!    written by an older switchboard) or whose tag does not match is
//!    logged as a warning naming the file, recompiled, and overwritten.
//!
//! So a planted or altered entry is never run unless its author knows the
//! key, and the key is only readable by the host's user. Plugins never reach
//! the folder either: the sandbox refuses a grant that would expose it.
//!
//! A folder that cannot be created or written (a read-only file system, a
//! missing permission) is not a safety problem: the host warns once, then
//! compiles in memory ([`CacheOutcome::Unavailable`]).
//!
//! ```text
//! <cache_dir>/                     0700
//!   hmac.key                       0600  the key (32 random bytes)
//!   <sha256 hex>.cwasm             0600  one entry (precompiled component + tag)
//!   <…>.tmp<pid>-<n>               0600  an entry or key being written
//! ```

use std::fmt;
use std::fs::{File, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
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

/// The first bytes of every entry: names the format (and its version).
const MAGIC: &[u8; 16] = b"switchboard-cc1\n";
/// An HMAC-SHA256 tag.
const TAG_LEN: usize = 32;
const KEY_FILE: &str = "hmac.key";
const KEY_LEN: usize = 32;

/// A cache folder the host refuses to use: another local user could plant
/// native code in it. Fatal at start, naming the folder and the fix.
#[derive(Debug)]
pub struct UnsafeCacheDir {
    dir: PathBuf,
    problem: FolderProblem,
}

impl std::error::Error for UnsafeCacheDir {}

impl fmt::Display for UnsafeCacheDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.dir.display();
        let config = "or set `server.cache_dir` in the config to a folder of your own";
        match self.problem {
            FolderProblem::NotAFolder => write!(
                f,
                "compile cache folder {dir} is not a folder; remove it (switchboard \
                 creates the folder), {config}"
            ),
            FolderProblem::NotOwned {
                owner,
                mode,
                expected,
            } => write!(
                f,
                "compile cache folder {dir} is not safe: it is owned by uid {owner} \
                 (mode {mode:04o}), not by uid {expected} that switchboard runs as, so \
                 another local user could plant native code that switchboard would run; \
                 remove it (it only holds compiled components, and switchboard recreates \
                 it), or `chown -R {expected} {dir} && chmod 700 {dir}`, {config}"
            ),
            FolderProblem::WritableByOthers { owner, mode } => write!(
                f,
                "compile cache folder {dir} is not safe: it is writable by group or others \
                 (owner uid {owner}, mode {mode:04o}), so another local user could plant \
                 native code that switchboard would run; `chmod 700 {dir}`, {config}"
            ),
        }
    }
}

/// What makes an existing cache folder unusable.
#[cfg_attr(not(unix), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FolderProblem {
    NotAFolder,
    NotOwned {
        owner: u32,
        mode: u32,
        expected: u32,
    },
    WritableByOthers {
        owner: u32,
        mode: u32,
    },
}

/// The owner rule, apart from the file system: a folder of `owner` with
/// permission bits `mode` is fit for a host running as `expected` when it
/// is `expected`'s and nobody else may write to it.
#[cfg_attr(not(unix), allow(dead_code))]
fn folder_problem(owner: u32, mode: u32, expected: u32) -> Option<FolderProblem> {
    let mode = mode & 0o7777;
    if owner != expected {
        Some(FolderProblem::NotOwned {
            owner,
            mode,
            expected,
        })
    } else if mode & 0o022 != 0 {
        Some(FolderProblem::WritableByOthers { owner, mode })
    } else {
        None
    }
}

/// The user files the host creates belong to.
#[cfg(unix)]
fn host_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

pub struct CompileCache {
    dir: PathBuf,
    engine_key: u64,
    /// `None` when the folder could not be set up (warned in `new`):
    /// everything is compiled in memory.
    key: Option<hmac::Key>,
}

impl CompileCache {
    /// Opens (creating it if needed) the cache folder `dir`. Fails only for
    /// a folder that is not safe to load native code from; a folder that
    /// cannot be created or written disables the cache with a warning.
    pub fn new(dir: PathBuf, engine: &Engine) -> Result<Self, UnsafeCacheDir> {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        let key = match prepare_folder(&dir)? {
            Ok(()) => match load_or_create_key(&dir) {
                Ok(key) => Some(hmac::Key::new(hmac::HMAC_SHA256, &key)),
                Err(e) => {
                    tracing::warn!(
                        dir = %dir.display(),
                        "compile cache unavailable (cannot set up its key): {e}; \
                         compiling in memory"
                    );
                    None
                }
            },
            Err(e) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "compile cache unavailable (cannot create the folder): {e}; \
                     compiling in memory"
                );
                None
            }
        };
        Ok(Self {
            dir,
            engine_key: hasher.finish(),
            key,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry's file stem: covers the component and the engine.
    fn entry_name(&self, bytes: &[u8]) -> String {
        let mut digest = Sha256::new();
        digest.update(bytes);
        digest.update(self.engine_key.to_le_bytes());
        digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The compiled component for `bytes`, from the cache or freshly
    /// compiled (and then stored).
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(key) = &self.key else {
            let (component, _) = compile(engine, bytes)?;
            return Ok((component, CacheOutcome::Unavailable));
        };
        let name = self.entry_name(bytes);
        let path = self.dir.join(format!("{name}.cwasm"));
        match std::fs::read(&path) {
            Ok(entry) => match verified_artifact(key, &name, &entry) {
                Ok(artifact) => {
                    // SAFETY: `artifact` is the very bytes whose tag was just
                    // checked, held in memory, so the file changing since
                    // cannot matter. A valid tag needs the key, which only
                    // the host's user can read (a 0600 file of theirs, in a
                    // folder `new` checked is theirs and not writable by
                    // others), and the host only tags output of
                    // `Engine::precompile_component` (`store`). The tag covers
                    // the entry name, which covers the engine's compatibility
                    // hash, so an entry is not loaded by another
                    // configuration; one that still fails to load is
                    // recompiled.
                    match unsafe { Component::deserialize(engine, artifact) } {
                        Ok(component) => return Ok((component, CacheOutcome::Hit)),
                        Err(e) => tracing::warn!(
                            path = %path.display(),
                            "ignoring unusable compile cache entry: {e}; recompiling"
                        ),
                    }
                }
                Err(problem) => tracing::warn!(
                    path = %path.display(),
                    "ignoring compile cache entry: {problem}; recompiling"
                ),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                path = %path.display(),
                "cannot read compile cache entry: {e}; recompiling"
            ),
        }
        let (component, compiled) = compile(engine, bytes)?;
        let outcome = match store(key, &name, &path, &compiled) {
            Ok(()) => CacheOutcome::Miss,
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), "compile cache unavailable: {e}");
                CacheOutcome::Unavailable
            }
        };
        Ok((component, outcome))
    }
}

/// Compiles `bytes`: the component, and the artifact to store.
fn compile(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<(Component, Vec<u8>)> {
    let compiled = engine.precompile_component(bytes)?;
    // SAFETY: `compiled` was produced just now by this engine, in memory.
    let component = unsafe { Component::deserialize(engine, &compiled)? };
    Ok((component, compiled))
}

/// Creates the folder (mode 0700) if it is missing, then checks it.
/// `Err` is a folder not to use at all; `Ok(Err)` one that cannot be used
/// (created or inspected) for a reason that is no danger.
fn prepare_folder(dir: &Path) -> Result<io::Result<()>, UnsafeCacheDir> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    // An existing folder is fine here: whoever made it, the checks below
    // apply.
    let created = builder.create(dir);
    let metadata = match std::fs::metadata(dir) {
        Ok(metadata) => metadata,
        Err(e) => return Ok(Err(created.err().unwrap_or(e))),
    };
    let unsafe_dir = |problem| UnsafeCacheDir {
        dir: dir.to_owned(),
        problem,
    };
    if !metadata.is_dir() {
        return Err(unsafe_dir(FolderProblem::NotAFolder));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Some(problem) = folder_problem(metadata.uid(), metadata.mode(), host_uid()) {
            return Err(unsafe_dir(problem));
        }
    }
    Ok(Ok(()))
}

/// The folder's key: the existing one if it is sound, else a fresh one.
fn load_or_create_key(dir: &Path) -> io::Result<[u8; KEY_LEN]> {
    let path = dir.join(KEY_FILE);
    // Twice at most: another host starting on the same folder may create
    // the key between our look and our creation; then theirs is read.
    for _ in 0..2 {
        match read_key(&path)? {
            KeyFile::Sound(key) => return Ok(key),
            KeyFile::Missing => {
                let key = random_key()?;
                if place_key(&path, &key, false)? {
                    return Ok(key);
                }
            }
            KeyFile::Unsound(reason) => {
                tracing::warn!(
                    path = %path.display(),
                    "replacing the compile cache key ({reason}); every cached entry \
                     will be recompiled once"
                );
                let key = random_key()?;
                place_key(&path, &key, true)?;
                return Ok(key);
            }
        }
    }
    Err(io::Error::other(format!(
        "{} keeps changing under us",
        path.display()
    )))
}

enum KeyFile {
    Sound([u8; KEY_LEN]),
    Missing,
    Unsound(String),
}

fn read_key(path: &Path) -> io::Result<KeyFile> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(KeyFile::Missing),
        // Say, left by root in this user's folder: the folder is ours, so
        // the file can be replaced.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Ok(KeyFile::Unsound(format!("unreadable: {e}")));
        }
        Err(e) => return Err(e),
    };
    // The open file's own metadata: what is checked is what is read.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Ok(KeyFile::Unsound("not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let expected = host_uid();
        if metadata.uid() != expected {
            return Ok(KeyFile::Unsound(format!(
                "owned by uid {}, not {expected}",
                metadata.uid()
            )));
        }
        if metadata.mode() & 0o077 != 0 {
            return Ok(KeyFile::Unsound(format!(
                "mode {:04o} lets group or others at it",
                metadata.mode() & 0o7777
            )));
        }
    }
    let mut bytes = Vec::with_capacity(KEY_LEN + 1);
    file.take(KEY_LEN as u64 + 1).read_to_end(&mut bytes)?;
    Ok(match <[u8; KEY_LEN]>::try_from(bytes.as_slice()) {
        Ok(key) => KeyFile::Sound(key),
        Err(_) => KeyFile::Unsound(format!("{} bytes, not {KEY_LEN}", bytes.len())),
    })
}

fn random_key() -> io::Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| io::Error::other("the system's random number generator failed"))?;
    Ok(key)
}

/// Writes `key` to `path` (mode 0600, all at once). Without `replace`, a
/// key someone else placed meanwhile is kept and `false` returned.
fn place_key(path: &Path, key: &[u8; KEY_LEN], replace: bool) -> io::Result<bool> {
    let temp = write_temp(path, &[key])?;
    let placed = if replace {
        std::fs::rename(&temp, path)
    } else {
        // A link, unlike a rename, never replaces an existing file.
        match std::fs::hard_link(&temp, path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(&temp);
                return Ok(false);
            }
            // No hard links on this file system.
            Err(_) => std::fs::rename(&temp, path),
            Ok(()) => {
                let _ = std::fs::remove_file(&temp);
                Ok(())
            }
        }
    };
    placed.map(|()| true).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
    })
}

/// The tag of an entry: covers everything before it.
fn tag(key: &hmac::Key, name: &str, artifact: &[u8]) -> hmac::Tag {
    let mut context = hmac::Context::with_key(key);
    context.update(MAGIC);
    context.update(name.as_bytes());
    context.update(artifact);
    context.sign()
}

/// The artifact inside `entry` if its tag is right (checked in constant
/// time) and it is the entry `name`; else why not.
fn verified_artifact<'a>(key: &hmac::Key, name: &str, entry: &'a [u8]) -> Result<&'a [u8], String> {
    let header = MAGIC.len() + name.len();
    if entry.len() < header + TAG_LEN || &entry[..MAGIC.len()] != MAGIC {
        return Err("it has no integrity tag (written by an older switchboard?)".into());
    }
    let (tagged, tag) = entry.split_at(entry.len() - TAG_LEN);
    hmac::verify(key, tagged, tag)
        .map_err(|_| "its integrity tag does not match (altered or corrupt)".to_string())?;
    // Tagged by this host, but maybe under another name (renamed).
    if &tagged[MAGIC.len()..header] != name.as_bytes() {
        return Err("it is the entry of another component".into());
    }
    Ok(&tagged[header..])
}

/// Writes an entry (magic, name, artifact, tag) to a temporary file renamed
/// into place, so a concurrent start never reads half a file.
fn store(key: &hmac::Key, name: &str, path: &Path, artifact: &[u8]) -> io::Result<()> {
    let tag = tag(key, name, artifact);
    let temp = write_temp(path, &[MAGIC, name.as_bytes(), artifact, tag.as_ref()])?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// Writes `parts` to a new file (mode 0600) beside `path`, named uniquely
/// per write (identical components may be compiled at the same time, in
/// this process or another), and returns its path.
fn write_temp(path: &Path, parts: &[&[u8]]) -> io::Result<PathBuf> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let unique = WRITES.fetch_add(1, Ordering::Relaxed);
    let temp = path.with_extension(format!("tmp{}-{unique}", std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp)?;
    let written = parts.iter().try_for_each(|part| file.write_all(part));
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(temp)
}

// Modes and owners: unix only.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use wasmtime::Store;
    use wasmtime::component::Linker;

    /// `(component (core module (func (export "f") (result i32) i32.const
    /// N)) (core instance (instantiate 0)) (alias core export 0 "f" (core
    /// func)) (type (func (result u32))) (func (canon lift (core func 0))
    /// (type 0)) (export "answer" (func 0)))`, encoded by hand (the `wat`
    /// feature is off).
    fn component_answering(n: u8) -> Vec<u8> {
        assert!(n < 64, "one-byte LEB128");
        fn section(out: &mut Vec<u8>, id: u8, body: &[u8]) {
            out.push(id);
            out.push(u8::try_from(body.len()).expect("a short section"));
            out.extend_from_slice(body);
        }
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        section(&mut module, 0x01, &[0x01, 0x60, 0x00, 0x01, 0x7f]);
        section(&mut module, 0x03, &[0x01, 0x00]);
        section(&mut module, 0x07, &[0x01, 0x01, b'f', 0x00, 0x00]);
        section(&mut module, 0x0a, &[0x01, 0x04, 0x00, 0x41, n, 0x0b]);
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        section(&mut component, 0x01, &module);
        section(&mut component, 0x02, &[0x01, 0x00, 0x00, 0x00]);
        section(
            &mut component,
            0x06,
            &[0x01, 0x00, 0x00, 0x01, 0x00, 0x01, b'f'],
        );
        section(&mut component, 0x07, &[0x01, 0x40, 0x00, 0x00, 0x79]);
        section(&mut component, 0x08, &[0x01, 0x00, 0x00, 0x00, 0x00, 0x00]);
        let mut export = vec![0x01, 0x00, 0x06];
        export.extend_from_slice(b"answer");
        export.extend_from_slice(&[0x01, 0x00, 0x00]);
        section(&mut component, 0x0b, &export);
        component
    }

    fn answer(engine: &Engine, component: &Component) -> u32 {
        let mut store = Store::new(engine, ());
        let instance = Linker::new(engine)
            .instantiate(&mut store, component)
            .expect("instantiates");
        let func = instance
            .get_typed_func::<(), (u32,)>(&mut store, "answer")
            .expect("exports answer");
        func.call(&mut store, ()).expect("runs").0
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o7777
    }

    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// The one entry in `dir`.
    fn entry(dir: &Path) -> PathBuf {
        let entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("readable")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries[0].clone()
    }

    fn refusal(dir: &Path) -> String {
        match CompileCache::new(dir.to_owned(), &Engine::default()) {
            Ok(_) => panic!("{} was accepted", dir.display()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_folder_and_missing_parents_are_created_0700_and_the_key_0600() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a").join("cache");
        CompileCache::new(dir.clone(), &Engine::default()).expect("a fresh folder is fine");
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let key = dir.join(KEY_FILE);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(std::fs::read(&key).expect("key").len(), KEY_LEN);
    }

    #[test]
    fn the_owner_rule() {
        assert_eq!(folder_problem(1000, 0o40700, 1000), None);
        assert_eq!(folder_problem(1000, 0o755, 1000), None);
        assert_eq!(
            folder_problem(1001, 0o700, 1000),
            Some(FolderProblem::NotOwned {
                owner: 1001,
                mode: 0o700,
                expected: 1000
            })
        );
        assert_eq!(
            folder_problem(0, 0o700, 1000),
            Some(FolderProblem::NotOwned {
                owner: 0,
                mode: 0o700,
                expected: 1000
            })
        );
        for mode in [0o770, 0o702, 0o1777, 0o720] {
            assert_eq!(
                folder_problem(1000, mode, 1000),
                Some(FolderProblem::WritableByOthers { owner: 1000, mode }),
                "{mode:o}"
            );
        }
    }

    #[test]
    fn a_group_or_world_writable_folder_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        for (mode, shown) in [(0o777, "0777"), (0o770, "0770"), (0o1733, "1733")] {
            set_mode(root.path(), mode);
            let error = refusal(root.path());
            let dir = root.path().display().to_string();
            assert!(
                error.contains(&format!("folder {dir} is not safe")),
                "{error}"
            );
            assert!(error.contains(&format!("mode {shown}")), "{error}");
            assert!(error.contains(&format!("`chmod 700 {dir}`")), "{error}");
            assert!(error.contains("server.cache_dir"), "{error}");
        }
        // And nothing was written into it.
        set_mode(root.path(), 0o700);
        assert_eq!(std::fs::read_dir(root.path()).expect("dir").count(), 0);
    }

    #[test]
    fn a_folder_owned_by_another_user_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let uid = host_uid();
        if uid != 0 {
            // `the_owner_rule` covers the rule; giving a folder away needs root.
            eprintln!("not root: cannot chown a folder to another user; skipped");
            return;
        }
        std::os::unix::fs::chown(root.path(), Some(4242), None).expect("chown");
        let error = refusal(root.path());
        let dir = root.path().display().to_string();
        assert!(
            error.contains(&format!("folder {dir} is not safe")),
            "{error}"
        );
        assert!(error.contains("owned by uid 4242"), "{error}");
        assert!(error.contains("not by uid 0"), "{error}");
        assert!(error.contains(&format!("chown -R 0 {dir}")), "{error}");
    }

    #[test]
    fn a_file_in_place_of_the_folder_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let file = root.path().join("cache");
        std::fs::write(&file, b"").expect("file");
        let error = refusal(&file);
        assert!(
            error.contains(&format!("folder {} is not a folder", file.display())),
            "{error}"
        );
    }

    #[test]
    fn a_folder_that_cannot_be_created_compiles_in_memory() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("file"), b"").expect("file");
        let engine = Engine::default();
        let cache = CompileCache::new(root.path().join("file").join("cache"), &engine)
            .expect("not a safety problem");
        let (component, outcome) = cache
            .load_or_compile(&engine, &component_answering(42))
            .expect("compiles");
        assert_eq!(outcome, CacheOutcome::Unavailable);
        assert_eq!(answer(&engine, &component), 42);
    }

    #[test]
    fn a_miss_is_stored_0600_and_the_next_start_hits() {
        let root = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let bytes = component_answering(42);
        let first = CompileCache::new(root.path().to_owned(), &engine).expect("cache");
        let (component, outcome) = first.load_or_compile(&engine, &bytes).expect("compiles");
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(answer(&engine, &component), 42);
        let entry = entry(root.path());
        assert_eq!(mode(&entry), 0o600);
        // Only the key and the entry: no temporary file left behind.
        assert_eq!(std::fs::read_dir(root.path()).expect("dir").count(), 2);

        let second = CompileCache::new(root.path().to_owned(), &engine).expect("cache");
        let (component, outcome) = second.load_or_compile(&engine, &bytes).expect("loads");
        assert_eq!(outcome, CacheOutcome::Hit);
        assert_eq!(answer(&engine, &component), 42);
    }

    #[test]
    fn a_tampered_entry_is_recompiled_not_loaded() {
        let root = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let bytes = component_answering(42);
        let cache = CompileCache::new(root.path().to_owned(), &engine).expect("cache");
        cache.load_or_compile(&engine, &bytes).expect("compiles");
        let entry = entry(root.path());
        let good = std::fs::read(&entry).expect("entry");

        // One flipped byte in the artifact.
        let mut flipped = good.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        std::fs::write(&entry, &flipped).expect("tamper");
        let (component, outcome) = cache.load_or_compile(&engine, &bytes).expect("compiles");
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(answer(&engine, &component), 42);
        assert_eq!(std::fs::read(&entry).expect("entry"), good, "not rewritten");

        // Planted code: another component's artifact under this entry's
        // name, with a well-formed header and a tag made up without the key.
        let other = engine
            .precompile_component(&component_answering(7))
            .expect("compiles");
        let name = entry.file_stem().and_then(|s| s.to_str()).expect("a name");
        let forged = hmac::Key::new(hmac::HMAC_SHA256, &[0u8; KEY_LEN]);
        let tag = tag(&forged, name, &other);
        std::fs::write(
            &entry,
            [MAGIC, name.as_bytes(), &other, tag.as_ref()].concat(),
        )
        .expect("plant");
        let (component, outcome) = cache.load_or_compile(&engine, &bytes).expect("compiles");
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(answer(&engine, &component), 42, "the planted code ran");
    }

    #[test]
    fn an_entry_without_a_tag_is_a_miss() {
        let root = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let bytes = component_answering(42);
        let cache = CompileCache::new(root.path().to_owned(), &engine).expect("cache");
        cache.load_or_compile(&engine, &bytes).expect("compiles");
        let entry = entry(root.path());
        // What an older switchboard wrote: the bare artifact, here of
        // another component.
        let bare = engine
            .precompile_component(&component_answering(7))
            .expect("compiles");
        std::fs::write(&entry, &bare).expect("untagged");
        let (component, outcome) = cache.load_or_compile(&engine, &bytes).expect("compiles");
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(answer(&engine, &component), 42);
        assert!(std::fs::read(&entry).expect("entry").starts_with(MAGIC));
    }

    #[test]
    fn an_entry_of_another_component_is_a_miss() {
        let root = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let cache = CompileCache::new(root.path().to_owned(), &engine).expect("cache");
        let seven = component_answering(7);
        let forty_two = component_answering(42);
        cache.load_or_compile(&engine, &seven).expect("compiles");
        let seven_entry = entry(root.path());
        // A validly tagged entry, renamed to another component's name.
        let name = cache.entry_name(&forty_two);
        std::fs::rename(&seven_entry, root.path().join(format!("{name}.cwasm"))).expect("mv");
        let (component, outcome) = cache
            .load_or_compile(&engine, &forty_two)
            .expect("compiles");
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(answer(&engine, &component), 42);
    }

    #[test]
    fn a_key_others_can_read_is_replaced() {
        let root = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let bytes = component_answering(42);
        let cache = CompileCache::new(root.path().to_owned(), &engine).expect("cache");
        cache.load_or_compile(&engine, &bytes).expect("compiles");
        let key = root.path().join(KEY_FILE);
        let old = std::fs::read(&key).expect("key");
        set_mode(&key, 0o644);

        let cache = CompileCache::new(root.path().to_owned(), &engine).expect("cache");
        assert_eq!(mode(&key), 0o600);
        assert_ne!(std::fs::read(&key).expect("key"), old);
        let (_, outcome) = cache.load_or_compile(&engine, &bytes).expect("compiles");
        assert_eq!(outcome, CacheOutcome::Miss, "an entry under the old key");
    }

    #[test]
    fn a_key_of_another_user_is_replaced() {
        if host_uid() != 0 {
            eprintln!("not root: cannot chown a file to another user; skipped");
            return;
        }
        let root = tempfile::tempdir().expect("tempdir");
        CompileCache::new(root.path().to_owned(), &Engine::default()).expect("cache");
        let key = root.path().join(KEY_FILE);
        let old = std::fs::read(&key).expect("key");
        std::os::unix::fs::chown(&key, Some(4242), None).expect("chown");
        CompileCache::new(root.path().to_owned(), &Engine::default()).expect("cache");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&key).expect("key").uid(), 0);
        assert_ne!(std::fs::read(&key).expect("key"), old);
    }

    #[test]
    fn a_short_key_is_replaced() {
        let root = tempfile::tempdir().expect("tempdir");
        let key = root.path().join(KEY_FILE);
        std::fs::write(&key, b"short").expect("key");
        set_mode(&key, 0o600);
        CompileCache::new(root.path().to_owned(), &Engine::default()).expect("cache");
        assert_eq!(std::fs::read(&key).expect("key").len(), KEY_LEN);
    }
}
