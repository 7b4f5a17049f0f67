//! The internal driver behind the store seam: keyval and archive calls map onto
//! [`InternalStore`]'s files; listing users and stores walks the host directory and
//! decodes Prosody's `%xx` names.

use std::fs;
use std::io;

use super::driver::{ArchiveQuery, Driver, StoreKind, StoreResult};
use super::index::IndexEntry;
use super::internal::{encode_path_part, InternalStore, GLOBAL_DIR};
use super::lua_value::LuaValue;
use super::StorageError;

/// Reverses [`encode_path_part`] (`%2e` -> `.`); names that are not valid escapes stay.
pub fn decode_path_part(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl InternalStore {
    fn host_dir(&self, host: &str) -> std::path::PathBuf {
        if host.is_empty() {
            self.data_path().join(GLOBAL_DIR)
        } else {
            self.data_path().join(encode_path_part(host))
        }
    }
}

fn read_dir(path: &std::path::Path) -> StoreResult<Vec<fs::DirEntry>> {
    match fs::read_dir(path) {
        Ok(entries) => entries
            .collect::<io::Result<Vec<_>>>()
            .map_err(|e| StorageError::io(path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

fn ext_kind(name: &str) -> Option<(&str, StoreKind)> {
    if let Some(stem) = name.strip_suffix(".dat") {
        Some((stem, StoreKind::Keyval))
    } else {
        name.strip_suffix(".list")
            .map(|stem| (stem, StoreKind::Archive))
    }
}

/// [`filter_items`]'s semantics over index entries: `after`/`before` are positions in
/// the whole archive (an unknown one selects nothing), then the filters, the direction
/// and the limit.
fn find_in_index<'a>(entries: &'a [IndexEntry], q: &ArchiveQuery) -> Vec<&'a IndexEntry> {
    let position = |key: &str| entries.iter().position(|e| &*e.key == key);
    let lo = match &q.after {
        Some(k) => match position(k) {
            Some(p) => p + 1,
            None => return Vec::new(),
        },
        None => 0,
    };
    let hi = match &q.before {
        Some(k) => match position(k) {
            Some(p) => p,
            None => return Vec::new(),
        },
        None => entries.len(),
    };
    if lo >= hi {
        return Vec::new();
    }
    let matches = |e: &&IndexEntry| {
        q.start.is_none_or(|s| e.when >= s)
            && q.end.is_none_or(|end| e.when <= end)
            && q.with.as_deref().is_none_or(|w| &*e.with == w)
            && q.key.as_deref().is_none_or(|k| &*e.key == k)
    };
    let limit = q.limit.unwrap_or(usize::MAX);
    let window = entries[lo..hi].iter();
    if q.reverse {
        window.rev().filter(matches).take(limit).collect()
    } else {
        window.filter(matches).take(limit).collect()
    }
}

impl Driver for InternalStore {
    fn name(&self) -> &'static str {
        "internal"
    }

    fn get(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<Option<LuaValue>> {
        InternalStore::get(self, host, user, store)
    }

    fn set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        value: Option<&LuaValue>,
    ) -> StoreResult<()> {
        InternalStore::set(self, host, user, store, value)
    }

    fn add(&self, host: &str, user: &str, store: &str, value: &LuaValue) -> StoreResult<bool> {
        InternalStore::add(self, host, user, store, value)
    }

    fn archive_append_item(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        item: &LuaValue,
    ) -> StoreResult<()> {
        InternalStore::archive_append_item(self, host, user, store, item)
    }

    fn archive_append_items(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> StoreResult<()> {
        InternalStore::archive_append_items(self, host, user, store, items)
    }

    fn archive_list(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> StoreResult<Vec<LuaValue>> {
        InternalStore::archive_list(self, host, user, store)
    }

    fn archive_replace(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> StoreResult<()> {
        InternalStore::archive_replace(self, host, user, store, items)
    }

    /// Pages through the archive's index and reads only the items returned.
    fn archive_find(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        q: &ArchiveQuery,
    ) -> StoreResult<Vec<LuaValue>> {
        let Some(index) = self.archive_index(host, user, store)? else {
            return Ok(Vec::new());
        };
        let picked = find_in_index(&index.entries, q);
        self.archive_read(host, user, store, &picked)
    }

    fn archive_count(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<usize> {
        Ok(self
            .archive_index(host, user, store)?
            .map_or(0, |ix| ix.len()))
    }

    fn users(&self, host: &str, store: &str, kind: StoreKind) -> StoreResult<Vec<Option<String>>> {
        let host_dir = self.host_dir(host);
        let mut users = Vec::new();
        let store_name = super::internal::encode_store_name(store);
        let want = |k: StoreKind| k == kind;
        for entry in read_dir(&host_dir)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((stem, k)) = ext_kind(&name) {
                if stem == store_name && want(k) {
                    users.push(None);
                }
            }
        }
        for entry in read_dir(&host_dir.join(&store_name))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((stem, k)) = ext_kind(&name) {
                if want(k) {
                    users.push(Some(decode_path_part(stem)));
                }
            }
        }
        users.sort();
        Ok(users)
    }

    fn hosts(&self) -> StoreResult<Vec<String>> {
        let mut hosts: Vec<String> = read_dir(self.data_path())?
            .into_iter()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .map(|n| {
                if n == GLOBAL_DIR {
                    String::new()
                } else {
                    decode_path_part(&n)
                }
            })
            .collect();
        hosts.sort();
        Ok(hosts)
    }

    fn stores(&self, host: &str) -> StoreResult<Vec<(String, StoreKind)>> {
        let mut out = Vec::new();
        for entry in read_dir(&self.host_dir(host))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                let store = decode_path_part(&name);
                let mut kinds = Vec::new();
                for inner in read_dir(&entry.path())? {
                    let inner = inner.file_name().to_string_lossy().into_owned();
                    if let Some((_, k)) = ext_kind(&inner) {
                        if !kinds.contains(&k) {
                            kinds.push(k);
                        }
                    }
                }
                out.extend(kinds.into_iter().map(|k| (store.clone(), k)));
            } else if let Some((stem, k)) = ext_kind(&name) {
                out.push((decode_path_part(stem), k));
            }
        }
        out.sort_by(|a, b| (&a.0, a.1 as u8).cmp(&(&b.0, b.1 as u8)));
        out.dedup();
        Ok(out)
    }
}
