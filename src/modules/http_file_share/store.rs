//! Slot records and files where Prosody keeps them (reference §19.5): the `<request>` of
//! each slot in the host-level archive `uploads` (key = slot, `with` = uploader, `when` =
//! issue time), the running total in map `upload_stats` key `total`, and the file at
//! `<data>/<host>/http_file_share/<slot>.bin` (datamanager encoding). Every function here
//! blocks: callers run them on the storage executor or a blocking thread.

use std::path::PathBuf;

use crate::storage::driver::{ArchiveQuery, StoreResult};
use crate::storage::lua_value::{LuaKey, LuaValue};
use crate::storage::Storage;
use crate::xml::Element;

use super::options::{Settings, MODULE};

pub const UPLOADS: &str = "uploads";
pub const STATS: &str = "upload_stats";

/// One slot as the GET route needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub slot: String,
    pub filename: String,
    pub size: u64,
    pub filetype: Option<String>,
    /// Issue time (Unix seconds): `Last-Modified`.
    pub when: i64,
    pub uploader: String,
}

fn attr<'a>(item: &'a LuaValue, name: &str) -> Option<&'a str> {
    item.as_table()?
        .field("attr")?
        .as_table()?
        .field(name)?
        .as_str()
}

/// A stored archive item as a record; `None` when it is not a slot.
pub fn record_of(item: &LuaValue) -> Option<Record> {
    let t = item.as_table()?;
    let size = attr(item, "size")?.trim().parse::<f64>().ok()?;
    Some(Record {
        slot: t.field("key")?.as_str()?.to_owned(),
        filename: attr(item, "filename")?.to_owned(),
        size: size.max(0.0) as u64,
        filetype: attr(item, "content-type").map(str::to_owned),
        when: t.field("when").and_then(LuaValue::as_f64).unwrap_or(0.0) as i64,
        uploader: t
            .field("with")
            .and_then(LuaValue::as_str)
            .unwrap_or("")
            .to_owned(),
    })
}

/// Where a slot's file lives (`create`: make its directory).
pub fn file_path(store: &Storage, host: &str, slot: &str) -> StoreResult<PathBuf> {
    store
        .internal_driver()
        .file_path(host, Some(slot), MODULE, "bin")
}

/// Records an issued slot: the request element without children, as Prosody clones it.
pub fn append(
    store: &Storage,
    host: &str,
    slot: &str,
    request: &Element,
    when: i64,
    uploader: &str,
) -> StoreResult<()> {
    let mut bare = Element::new(&request.name, &request.ns);
    for (k, v) in &request.attrs {
        bare.set_attr(k.as_str(), v.as_str());
    }
    let value = crate::storage::stanza::preserialize(&bare);
    store.archive_append(host, None, UPLOADS, slot, when as f64, uploader, &value)
}

/// Bytes of the slots issued to `uploader` since `now - 86400`.
pub fn daily_usage(store: &Storage, host: &str, uploader: &str, now: i64) -> StoreResult<u64> {
    let q = ArchiveQuery {
        with: Some(uploader.to_owned()),
        start: Some((now - 86400) as f64),
        ..ArchiveQuery::default()
    };
    Ok(store
        .archive_find(host, None, UPLOADS, &q)?
        .iter()
        .filter_map(record_of)
        .map(|r| r.size)
        .sum())
}

/// The slot `slot`, if it is on record.
pub fn lookup(store: &Storage, host: &str, slot: &str) -> StoreResult<Option<Record>> {
    let q = ArchiveQuery {
        key: Some(slot.to_owned()),
        limit: Some(1),
        ..ArchiveQuery::default()
    };
    Ok(store
        .archive_find(host, None, UPLOADS, &q)?
        .iter()
        .find_map(record_of)
        .filter(|r| r.slot == slot))
}

/// The persisted total (0 when none is stored).
pub fn load_total(store: &Storage, host: &str) -> StoreResult<u64> {
    let v = store.map_get(host, None, STATS, &LuaKey::from("total"))?;
    Ok(v.and_then(|v| v.as_f64()).map_or(0, |n| n.max(0.0) as u64))
}

fn save_total(store: &Storage, host: &str, total: u64) -> StoreResult<()> {
    let n = i64::try_from(total).unwrap_or(i64::MAX);
    store.map_set(
        host,
        None,
        STATS,
        LuaKey::from("total"),
        Some(LuaValue::Int(n)),
    )
}

/// What one prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub expired: usize,
    pub removed: usize,
    pub bytes: u64,
}

/// The daily job: every slot issued before `now - expires_after` loses its file (a
/// missing file is fine) and, once the file is gone, its record. Returns what went, so
/// the caller can lower the running total.
pub fn prune(store: &Storage, settings: &Settings, now: i64) -> StoreResult<Pruned> {
    let host = settings.host.as_str();
    let boundary = now - settings.expires_after;
    let items = store.archive_list(host, None, UPLOADS)?;
    let mut keep = Vec::with_capacity(items.len());
    let mut done = Pruned::default();
    for item in items {
        let Some(rec) = record_of(&item).filter(|r| r.when <= boundary) else {
            keep.push(item);
            continue;
        };
        done.expired += 1;
        let gone = match std::fs::remove_file(file_path(store, host, &rec.slot)?) {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        if gone {
            done.removed += 1;
            done.bytes += rec.size;
        } else {
            tracing::error!(host, slot = %rec.slot, "could not prune expired upload");
            keep.push(item);
        }
    }
    if done.expired > 0 {
        store.archive_replace(host, None, UPLOADS, &keep)?;
    }
    Ok(done)
}

/// The weekly job: the total recomputed from the records, and stored.
pub fn recount(store: &Storage, host: &str) -> StoreResult<u64> {
    let total = store
        .archive_list(host, None, UPLOADS)?
        .iter()
        .filter_map(record_of)
        .map(|r| r.size)
        .sum();
    save_total(store, host, total)?;
    Ok(total)
}

/// Lowers the stored total by `bytes` from `total`, returning the new figure.
pub fn store_total(store: &Storage, host: &str, total: u64) -> StoreResult<()> {
    save_total(store, host, total)
}
