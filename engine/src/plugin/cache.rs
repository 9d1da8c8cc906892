//! The on-disk cache of precompiled components.
//!
//! Key: sha256 of the component bytes + a hash of the engine's compatibility (wasmtime version,
//! target, compiler settings). Entry: `TOCSINC1` + sha256(payload) + payload. The envelope's
//! digest is checked before wasmtime sees a byte, so a truncated or bit-flipped entry is
//! rebuilt rather than trusted; a foreign entry (another engine build) fails wasmtime's own
//! compatibility check and is rebuilt too. The cache directory is part of the operator's data
//! directory: whoever can write there can already replace the binary's inputs.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"TOCSINC1";

/// How a component was obtained, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// No cache configured: compiled in memory.
    Compiled,
    /// Loaded from a valid cache entry.
    Hit,
    /// No entry: compiled and stored.
    Miss,
    /// An entry existed but was corrupt or foreign: compiled and replaced.
    Rebuilt,
}

#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CompileCache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn entry_path(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        let mut compat = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut compat);
        let wasm_hash = hex::encode(Sha256::digest(wasm));
        self.dir
            .join(format!("{wasm_hash}-{:016x}.cwasm", compat.finish()))
    }

    /// Load the component from the cache, or compile it and store it.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry_path(engine, wasm);
        let existed = path.exists();
        if existed {
            match std::fs::read(&path) {
                Ok(bytes) => match deserialize_verified(engine, &bytes) {
                    Ok(component) => return Ok((component, CacheOutcome::Hit)),
                    Err(reason) => {
                        tracing::warn!(path = %path.display(), %reason, "precompiled plugin cache entry rejected; recompiling");
                    }
                },
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read precompiled plugin cache entry")
                }
            }
        }
        let serialized = engine.precompile_component(wasm)?;
        if let Err(e) = write_entry(&path, &serialized) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write precompiled plugin cache entry");
        }
        let component = deserialize_trusted(engine, &serialized)?;
        Ok((
            component,
            if existed {
                CacheOutcome::Rebuilt
            } else {
                CacheOutcome::Miss
            },
        ))
    }
}

fn deserialize_verified(engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
    if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a Tocsin cache entry (bad header)".into());
    }
    let (digest, payload) = bytes[MAGIC.len()..].split_at(32);
    if Sha256::digest(payload).as_slice() != digest {
        return Err("content digest mismatch (corrupted entry)".into());
    }
    deserialize_trusted(engine, payload).map_err(|e| format!("incompatible with this engine: {e}"))
}

/// Only called on bytes this process produced, or whose digest our envelope verified.
#[allow(unsafe_code)]
fn deserialize_trusted(engine: &Engine, payload: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: wasmtime requires the bytes to come from `precompile_component` of a compatible
    // engine. They either were just produced by it, or were written by this cache (envelope
    // digest verified) and wasmtime rejects entries from an incompatible engine configuration.
    unsafe { Component::deserialize(engine, payload) }
}

fn write_entry(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = Vec::with_capacity(MAGIC.len() + 32 + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&Sha256::digest(payload));
    bytes.extend_from_slice(payload);
    // Write then rename: a crash never leaves a half-written entry under the final name.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, path)
}
