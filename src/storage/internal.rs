//! Prosody's `internal` storage driver on disk: one Lua file per (host, user, store) under
//! `data_path`, written atomically, plus append-only `.list` files for archives.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use super::error::StorageError;
use super::index::{ArchiveIndex, IndexCache, IndexEntry};
use super::lua_value::{LuaTable, LuaValue};
use super::serialization::{parse_list_source, parse_lua_source, to_list_item, to_lua_source};

/// The host name under which host-less ("global") data is stored.
pub const GLOBAL_DIR: &str = "_global";

/// `%xx` (lowercase hex) for every byte that is not an ASCII letter or digit, as Prosody's
/// datamanager encodes host and user names.
pub fn encode_path_part(s: &str) -> String {
    encode_keeping(s, |_| false)
}

/// Store names additionally keep `_`.
pub fn encode_store_name(s: &str) -> String {
    encode_keeping(s, |b| b == b'_')
}

fn encode_keeping(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// Files under `data_path`. Host `""` means host-less data (`_global`).
#[derive(Debug, Clone)]
pub struct InternalStore {
    data_path: PathBuf,
    /// Archive indexes (see [`super::index`]).
    index: IndexCache,
}

impl InternalStore {
    pub fn new(data_path: PathBuf) -> InternalStore {
        InternalStore {
            data_path,
            index: IndexCache::default(),
        }
    }

    /// The index of an archive as its file is now (`None`: no archive).
    pub fn archive_index(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> Result<Option<Arc<ArchiveIndex>>, StorageError> {
        self.index.get(&self.file_path(host, user, store, "list")?)
    }

    /// The items `entries` (from [`Self::archive_index`]) point at, in that order.
    pub fn archive_read(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        entries: &[&IndexEntry],
    ) -> Result<Vec<LuaValue>, StorageError> {
        super::index::read_items(&self.file_path(host, user, store, "list")?, entries)
    }

    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// Where `(host, user, store)` lives, with extension `dat` or `list`.
    pub fn file_path(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        ext: &str,
    ) -> Result<PathBuf, StorageError> {
        if store.is_empty() {
            return Err(StorageError::Invalid("empty store name"));
        }
        let host_dir = if host.is_empty() {
            GLOBAL_DIR.to_owned()
        } else {
            encode_path_part(host)
        };
        let store = encode_store_name(store);
        let mut path = self.data_path.join(host_dir);
        match user {
            Some(user) => {
                path.push(store);
                path.push(format!("{}.{ext}", encode_path_part(user)));
            }
            None => path.push(format!("{store}.{ext}")),
        }
        Ok(path)
    }

    /// Loads a `.dat` file; `None` when it does not exist.
    pub fn get(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> Result<Option<LuaValue>, StorageError> {
        let path = self.file_path(host, user, store, "dat")?;
        let Some(text) = read_text(&path)? else {
            return Ok(None);
        };
        match parse_lua_source(&text).map_err(|e| e.in_file(&path))? {
            LuaValue::Nil => Ok(None),
            value => Ok(Some(value)),
        }
    }

    /// Replaces a `.dat` file atomically; `None` or an empty table deletes it.
    pub fn set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        value: Option<&LuaValue>,
    ) -> Result<(), StorageError> {
        let path = self.file_path(host, user, store, "dat")?;
        match value {
            None | Some(LuaValue::Nil) => remove_file(&path),
            Some(LuaValue::Table(t)) if t.is_empty() => remove_file(&path),
            Some(value) => write_atomic(&path, to_lua_source(value).as_bytes()),
        }
    }

    /// Creates a `.dat` file only if it does not exist: the new file is written beside
    /// it, then hard-linked into place, which fails (and changes nothing) when another
    /// writer got there first. `Ok(false)` when the file already existed.
    pub fn add(
        &self,
        host: &str,
        user: &str,
        store: &str,
        value: &LuaValue,
    ) -> Result<bool, StorageError> {
        let path = self.file_path(host, Some(user), store, "dat")?;
        ensure_parent(&path)?;
        let tmp = write_temp(&path, to_lua_source(value).as_bytes())?;
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => sync_dir(&path).map(|()| true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(StorageError::io(&path, e)),
        }
    }

    /// Appends one archive entry: `value`'s fields plus `key`, `when` (Unix seconds) and
    /// `with`, as one `item({...});` line, flushed to disk before returning.
    #[allow(clippy::too_many_arguments)]
    pub fn archive_append(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        key: &str,
        when: f64,
        with: &str,
        value: &LuaValue,
    ) -> Result<(), StorageError> {
        let item = archive_item(key, when, with, value);
        self.archive_append_item(host, user, store, &item)
    }

    /// Appends an already assembled `item(...)` value.
    pub fn archive_append_item(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        item: &LuaValue,
    ) -> Result<(), StorageError> {
        self.archive_append_items(host, user, store, std::slice::from_ref(item))
    }

    /// Appends assembled items in order with one write and one flush to disk: all of them
    /// are durable when it returns, or (on error) none is left half-written.
    pub fn archive_append_items(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> Result<(), StorageError> {
        if items.is_empty() {
            return Ok(());
        }
        let path = self.file_path(host, user, store, "list")?;
        ensure_parent(&path)?;
        let texts: Vec<String> = items.iter().map(to_list_item).collect();
        let line = texts.concat();
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        let len_before = file.metadata().map(|m| m.len()).ok();
        let written = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data());
        if let Err(e) = written {
            // Cut a partial line so the list stays parseable; a list this call created
            // goes again (an empty list is no list, and a full disk must not leave files).
            match len_before {
                Some(0) => {
                    let _ = fs::remove_file(&path);
                }
                Some(len) => {
                    let _ = file.set_len(len);
                }
                None => {}
            }
            self.index.forget(&path);
            return Err(StorageError::io(&path, e));
        }
        match len_before {
            Some(offset) => self.index.appended(&path, offset, items, &texts),
            None => self.index.forget(&path),
        }
        Ok(())
    }

    /// All entries of a `.list` file in append order (empty when it does not exist).
    pub fn archive_list(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> Result<Vec<LuaValue>, StorageError> {
        let path = self.file_path(host, user, store, "list")?;
        match read_text(&path)? {
            None => Ok(Vec::new()),
            Some(text) => parse_list_source(&text).map_err(|e| e.in_file(&path)),
        }
    }

    /// Rewrites a `.list` file atomically with `items`; an empty slice deletes it.
    pub fn archive_replace(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> Result<(), StorageError> {
        let path = self.file_path(host, user, store, "list")?;
        self.index.forget(&path);
        if items.is_empty() {
            return remove_file(&path);
        }
        let text: String = items.iter().map(to_list_item).collect();
        write_atomic(&path, text.as_bytes())
    }
}

/// An archive entry as Prosody's internal driver writes it: the value's fields (a
/// non-table value under `value`) plus `key`, `when` and `with`.
pub fn archive_item(key: &str, when: f64, with: &str, value: &LuaValue) -> LuaValue {
    let mut item = match value {
        LuaValue::Table(t) => t.clone(),
        other => {
            let mut t = LuaTable::new();
            t.set("value", other.clone());
            t
        }
    };
    item.set("key", key);
    item.set("when", when_value(when));
    item.set("with", with);
    LuaValue::Table(item)
}

/// Whole seconds are stored as integers, as Lua's `os.time()` gives them.
fn when_value(when: f64) -> LuaValue {
    match LuaValue::Num(when).as_int() {
        Some(i) => LuaValue::Int(i),
        None => LuaValue::Num(when),
    }
}

fn read_text(path: &Path) -> Result<Option<String>, StorageError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| StorageError::BadData {
                file: path.display().to_string(),
                line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count(),
                reason: "file is not valid UTF-8".to_owned(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

fn remove_file(path: &Path) -> Result<(), StorageError> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

fn ensure_parent(path: &Path) -> Result<(), StorageError> {
    let dir = path
        .parent()
        .ok_or(StorageError::Invalid("path has no parent"))?;
    DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .map_err(|e| StorageError::io(dir, e))
}

/// Writes a sibling temporary file, fsyncs it, renames it over `path`, then fsyncs the
/// directory so the rename itself survives a crash.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StorageError> {
    ensure_parent(path)?;
    let tmp = write_temp(path, data)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(StorageError::io(path, e));
    }
    sync_dir(path)
}

/// Writes and fsyncs a uniquely named sibling of `path`; answers its path.
fn write_temp(path: &Path, data: &[u8]) -> Result<PathBuf, StorageError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}~{:016x}", rand::random::<u64>()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StorageError::io(path, e));
    }
    Ok(tmp)
}

fn sync_dir(path: &Path) -> Result<(), StorageError> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StorageError::io(dir, e))
}

#[cfg(test)]
#[path = "internal_tests.rs"]
mod tests;
