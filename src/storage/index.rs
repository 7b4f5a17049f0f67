//! An index of an internal archive (`.list` file): per item its key, time, `with` and
//! where its text lies in the file, so a query pages through the index and reads only the
//! items it returns. The `.list` file stays exactly Prosody's; the index is derived from
//! it and kept in memory per archive. It follows the file: items appended behind it (by
//! Lilt or by a Prosody on the same data) are indexed from where it stopped, and a file
//! rewritten under it (a quota trim, a purge, another program) is indexed again.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::driver::{item_str, item_when, StoreResult};
use super::error::StorageError;
use super::lua_value::LuaValue;
use super::serialization::parse_list_source;

/// How many archives keep their index in memory at once.
const CACHED_ARCHIVES: usize = 64;

/// One archive item as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub key: Box<str>,
    pub when: f64,
    pub with: Box<str>,
    /// Where the item's `item(...);` text starts in the file, and its length.
    pub offset: u64,
    pub len: u32,
}

/// The index of one `.list` file, up to `covered` bytes.
#[derive(Debug, Clone, Default)]
pub struct ArchiveIndex {
    pub entries: Vec<IndexEntry>,
    covered: u64,
    /// The text of the last indexed item, to tell a grown file from a rewritten one.
    last_item: Vec<u8>,
}

impl ArchiveIndex {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Indexes kept per `.list` path (shared by the storage threads).
#[derive(Debug, Clone, Default)]
pub struct IndexCache {
    by_path: Arc<Mutex<HashMap<PathBuf, Arc<ArchiveIndex>>>>,
}

impl IndexCache {
    /// The index of `path` as the file is now (`None`: no such file).
    pub fn get(&self, path: &Path) -> StoreResult<Option<Arc<ArchiveIndex>>> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.forget(path);
                return Ok(None);
            }
            Err(e) => return Err(StorageError::io(path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| StorageError::io(path, e))?
            .len();
        let cached = self.lock().get(path).cloned();
        let index = match cached {
            Some(ix) if ix.covered == len && still_there(&mut file, &ix) => return Ok(Some(ix)),
            Some(ix) if ix.covered < len && still_there(&mut file, &ix) => {
                let mut grown = (*ix).clone();
                scan(&mut file, path, &mut grown, len)?;
                grown
            }
            _ => {
                let mut fresh = ArchiveIndex::default();
                scan(&mut file, path, &mut fresh, len)?;
                fresh
            }
        };
        let index = Arc::new(index);
        let mut map = self.lock();
        if map.len() >= CACHED_ARCHIVES && !map.contains_key(path) {
            if let Some(evict) = map.keys().next().cloned() {
                map.remove(&evict);
            }
        }
        map.insert(path.to_owned(), index.clone());
        Ok(Some(index))
    }

    /// Extends a cached index with items just appended at `offset` (when the index
    /// covered the file up to there; otherwise the next `get` catches up by itself).
    pub fn appended(&self, path: &Path, offset: u64, items: &[LuaValue], texts: &[String]) {
        let mut map = self.lock();
        let Some(ix) = map.get_mut(path) else {
            return;
        };
        if ix.covered != offset {
            map.remove(path);
            return;
        }
        let ix = Arc::make_mut(ix);
        let mut at = offset;
        for (item, text) in items.iter().zip(texts) {
            ix.entries.push(entry(item, at, text.len()));
            at += text.len() as u64;
            ix.last_item = text.as_bytes().to_vec();
        }
        ix.covered = at;
    }

    /// Drops the index of a file that was rewritten or removed.
    pub fn forget(&self, path: &Path) {
        self.lock().remove(path);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Arc<ArchiveIndex>>> {
        // A panic while holding the map leaves at worst a stale index, which `get`
        // checks against the file anyway.
        self.by_path.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn entry(item: &LuaValue, offset: u64, len: usize) -> IndexEntry {
    IndexEntry {
        key: item_str(item, "key").unwrap_or("").into(),
        when: item_when(item).unwrap_or(0.0),
        with: item_str(item, "with").unwrap_or("").into(),
        offset,
        len: u32::try_from(len).unwrap_or(u32::MAX),
    }
}

/// Whether the file still holds the last indexed item where the index says it is.
fn still_there(file: &mut File, ix: &ArchiveIndex) -> bool {
    let Some(last) = ix.entries.last() else {
        return ix.covered == 0;
    };
    let mut buf = vec![0; ix.last_item.len()];
    file.seek(SeekFrom::Start(last.offset)).is_ok()
        && file.read_exact(&mut buf).is_ok()
        && buf == ix.last_item
}

/// Indexes the items between `ix.covered` and `len`: an item ends at a line ending in
/// `);` where the text so far parses (as [`super::internal_driver`] streams them).
fn scan(file: &mut File, path: &Path, ix: &mut ArchiveIndex, len: u64) -> StoreResult<()> {
    file.seek(SeekFrom::Start(ix.covered))
        .map_err(|e| StorageError::io(path, e))?;
    let mut reader = BufReader::new(file.take(len - ix.covered));
    let mut chunk = String::new();
    let mut start = ix.covered;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| StorageError::io(path, e))?;
        if n == 0 {
            break;
        }
        chunk.push_str(&line);
        if !line.trim_end().ends_with(");") {
            continue;
        }
        let Ok(mut items) = parse_list_source(&chunk) else {
            continue;
        };
        if let Some(item) = items.pop() {
            ix.entries.push(entry(&item, start, chunk.len()));
            ix.last_item = chunk.as_bytes().to_vec();
        }
        start += chunk.len() as u64;
        chunk.clear();
    }
    // A partly written item at the end (a writer still at it) is indexed next time.
    ix.covered = start;
    Ok(())
}

/// Reads the items the index entries point at, in the order given.
pub fn read_items(path: &Path, entries: &[&IndexEntry]) -> StoreResult<Vec<LuaValue>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut file = File::open(path).map_err(|e| StorageError::io(path, e))?;
    let mut out = Vec::with_capacity(entries.len());
    let mut buf = Vec::new();
    for e in entries {
        buf.resize(e.len as usize, 0);
        file.seek(SeekFrom::Start(e.offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|err| StorageError::io(path, err))?;
        let text = std::str::from_utf8(&buf).map_err(|_| StorageError::BadData {
            file: path.display().to_string(),
            line: 0,
            reason: "archive item is not valid UTF-8".to_owned(),
        })?;
        let mut items = parse_list_source(text).map_err(|err| err.in_file(path))?;
        match items.pop() {
            Some(item) => out.push(item),
            None => {
                return Err(StorageError::BadData {
                    file: path.display().to_string(),
                    line: 0,
                    reason: "the archive changed under its index".to_owned(),
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
