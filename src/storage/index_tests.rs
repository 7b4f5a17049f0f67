//! The archive index follows its `.list` file: Lilt's appends, a Prosody appending
//! behind it, a rewrite under it, and queries that read only their page.

use std::io::Write;

use crate::storage::driver::{item_str, ArchiveQuery, Driver};
use crate::storage::internal::archive_item;
use crate::storage::{InternalStore, LuaTable, LuaValue};

const HOST: &str = "example.test";

fn message(n: usize) -> LuaValue {
    let mut t = LuaTable::new();
    t.set("name", "message");
    t.set("body", format!("message {n}\nwith a second line);"));
    LuaValue::Table(t)
}

fn item(n: usize) -> LuaValue {
    let with = if n.is_multiple_of(3) {
        "carol@x"
    } else {
        "bob@x"
    };
    archive_item(&format!("id{n}"), 1_000.0 + n as f64, with, &message(n))
}

fn keys(items: &[LuaValue]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| item_str(i, "key").map(str::to_owned))
        .collect()
}

fn store_with(n: usize) -> (tempfile::TempDir, InternalStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let st = InternalStore::new(dir.path().into());
    let items: Vec<LuaValue> = (0..n).map(item).collect();
    st.archive_append_items(HOST, Some("alice"), "archive", &items)
        .expect("append");
    (dir, st)
}

#[test]
fn a_page_by_id_time_with_and_from_the_end_matches_the_unindexed_filter() {
    let (_dir, st) = store_with(300);
    let all = st
        .archive_list(HOST, Some("alice"), "archive")
        .expect("list");
    let queries = [
        ArchiveQuery {
            after: Some("id120".into()),
            limit: Some(50),
            ..ArchiveQuery::default()
        },
        ArchiveQuery {
            before: Some("id200".into()),
            limit: Some(50),
            reverse: true,
            ..ArchiveQuery::default()
        },
        ArchiveQuery {
            start: Some(1_100.0),
            end: Some(1_180.0),
            with: Some("carol@x".into()),
            ..ArchiveQuery::default()
        },
        ArchiveQuery {
            limit: Some(50),
            reverse: true,
            ..ArchiveQuery::default()
        },
        ArchiveQuery {
            after: Some("nope".into()),
            ..ArchiveQuery::default()
        },
    ];
    for q in &queries {
        let indexed = Driver::archive_find(&st, HOST, Some("alice"), "archive", q).expect("find");
        let plain = crate::storage::driver::filter_items(all.clone(), q);
        assert_eq!(keys(&indexed), keys(&plain), "{q:?}");
        assert_eq!(indexed, plain, "{q:?}");
    }
    assert_eq!(
        Driver::archive_count(&st, HOST, Some("alice"), "archive").expect("count"),
        300
    );
}

#[test]
fn items_another_writer_appends_behind_the_index_are_found() {
    let (_dir, st) = store_with(10);
    assert_eq!(
        st.archive_index(HOST, Some("alice"), "archive")
            .unwrap()
            .unwrap()
            .len(),
        10
    );
    // A Prosody on the same data appends without telling us.
    let path = st
        .file_path(HOST, Some("alice"), "archive", "list")
        .expect("path");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    f.write_all(crate::storage::serialization::to_list_item(&item(10)).as_bytes())
        .expect("write");
    drop(f);
    let q = ArchiveQuery {
        after: Some("id9".into()),
        ..ArchiveQuery::default()
    };
    let found = Driver::archive_find(&st, HOST, Some("alice"), "archive", &q).expect("find");
    assert_eq!(keys(&found), ["id10"]);
    // And Lilt's own appends extend the index in place.
    st.archive_append_item(HOST, Some("alice"), "archive", &item(11))
        .expect("append");
    let ix = st
        .archive_index(HOST, Some("alice"), "archive")
        .unwrap()
        .unwrap();
    assert_eq!(ix.entries.last().map(|e| &*e.key), Some("id11"));
    assert_eq!(ix.len(), 12);
}

#[test]
fn a_file_rewritten_under_the_index_is_indexed_again() {
    let (_dir, st) = store_with(20);
    assert_eq!(
        st.archive_index(HOST, Some("alice"), "archive")
            .unwrap()
            .unwrap()
            .len(),
        20
    );
    // Rewritten by another program to a longer file with other items.
    let path = st
        .file_path(HOST, Some("alice"), "archive", "list")
        .expect("path");
    let text: String = (100..130)
        .map(|n| crate::storage::serialization::to_list_item(&item(n)))
        .collect();
    std::fs::write(&path, text).expect("rewrite");
    let ix = st
        .archive_index(HOST, Some("alice"), "archive")
        .unwrap()
        .unwrap();
    assert_eq!(ix.len(), 30);
    assert_eq!(ix.entries.first().map(|e| &*e.key), Some("id100"));
    // Our own rewrite forgets the index too.
    st.archive_replace(HOST, Some("alice"), "archive", &[item(7)])
        .expect("replace");
    let found = Driver::archive_find(
        &st,
        HOST,
        Some("alice"),
        "archive",
        &ArchiveQuery::default(),
    )
    .expect("find");
    assert_eq!(keys(&found), ["id7"]);
}

#[test]
fn a_half_written_last_item_is_left_for_later() {
    let (_dir, st) = store_with(3);
    let path = st
        .file_path(HOST, Some("alice"), "archive", "list")
        .expect("path");
    let whole = crate::storage::serialization::to_list_item(&item(3));
    let (head, tail) = whole.split_at(whole.len() / 2);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    f.write_all(head.as_bytes()).expect("write");
    f.flush().expect("flush");
    assert_eq!(
        st.archive_index(HOST, Some("alice"), "archive")
            .unwrap()
            .unwrap()
            .len(),
        3
    );
    f.write_all(tail.as_bytes()).expect("write");
    drop(f);
    assert_eq!(
        st.archive_index(HOST, Some("alice"), "archive")
            .unwrap()
            .unwrap()
            .len(),
        4
    );
}
