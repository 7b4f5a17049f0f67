//! An archive query over stored entries with the semantics of Prosody's internal archive
//! driver (`archive:find`): filters by key set, `with` and time, then a page after or
//! before an id, newest first when reversed. Ids that are not in the (filtered) archive
//! are `item-not-found`, as in Prosody.

/// One stored archive entry, as the query sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    pub key: String,
    pub when: f64,
    pub with: String,
    pub value: T,
}

/// What a query needs of an entry: stored entries and the internal driver's index
/// entries (which point at their item in the `.list` file) both answer it.
pub trait Indexed {
    fn key(&self) -> &str;
    fn when(&self) -> f64;
    fn with(&self) -> &str;
}

impl<T> Indexed for Entry<T> {
    fn key(&self) -> &str {
        &self.key
    }
    fn when(&self) -> f64 {
        self.when
    }
    fn with(&self) -> &str {
        &self.with
    }
}

impl Indexed for crate::storage::index::IndexEntry {
    fn key(&self) -> &str {
        &self.key
    }
    fn when(&self) -> f64 {
        self.when
    }
    fn with(&self) -> &str {
        &self.with
    }
}

/// What a query asks for (Prosody's query table).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub with: Option<String>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub ids: Option<Vec<String>>,
    pub after: Option<String>,
    pub before: Option<String>,
    pub limit: Option<usize>,
    pub reverse: bool,
}

/// Why a query found nothing to page from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FindError {
    /// An `after`/`before` id that is not in the archive (the client's mistake).
    #[error("item-not-found")]
    ItemNotFound,
}

/// The matching entries in the order they are returned, and the total count of
/// entries that matched the filters (before paging).
pub fn find<'a, E: Indexed>(entries: &'a [E], q: &Query) -> Result<(Vec<&'a E>, usize), FindError> {
    let mut items: Vec<&E> = entries
        .iter()
        .filter(|e| {
            q.ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|i| i == e.key()))
        })
        .filter(|e| q.with.as_deref().is_none_or(|w| e.with() == w))
        .filter(|e| q.start.is_none_or(|s| e.when() >= s))
        .filter(|e| q.end.is_none_or(|end| e.when() <= end))
        .collect();
    let total = items.len();
    let position = |items: &[&E], key: &str| items.iter().position(|e| e.key() == key);
    // `skip` items are passed over; iteration stops at `stop_key`.
    let (skip, stop_key) = if q.reverse {
        items.reverse();
        let skip = match &q.before {
            Some(b) => position(&items, b).ok_or(FindError::ItemNotFound)? + 1,
            None => 0,
        };
        (skip, q.after.as_deref())
    } else if let Some(a) = &q.after {
        let skip = position(&items, a).ok_or(FindError::ItemNotFound)? + 1;
        (skip, q.before.as_deref())
    } else {
        (0, q.before.as_deref())
    };
    let mut out = Vec::new();
    for e in items.into_iter().skip(skip) {
        if q.limit.is_some_and(|l| out.len() >= l) || stop_key == Some(e.key()) {
            break;
        }
        out.push(e);
    }
    Ok((out, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(n: usize) -> Vec<Entry<()>> {
        (1..=n)
            .map(|i| Entry {
                key: format!("k{i}"),
                when: i as f64 * 10.0,
                with: if i % 2 == 0 {
                    "b@x".into()
                } else {
                    "c@x".into()
                },
                value: (),
            })
            .collect()
    }

    fn keys(r: &[&Entry<()>]) -> Vec<String> {
        r.iter().map(|e| e.key.clone()).collect()
    }

    #[test]
    fn a_page_after_an_id_starts_behind_it_and_stops_at_the_limit() {
        let a = archive(10);
        let q = Query {
            after: Some("k3".into()),
            limit: Some(3),
            ..Query::default()
        };
        let (r, total) = find(&a, &q).expect("found");
        assert_eq!(keys(&r), ["k4", "k5", "k6"]);
        assert_eq!(total, 10);
    }

    #[test]
    fn a_reversed_page_before_an_id_is_newest_first() {
        let a = archive(10);
        let q = Query {
            before: Some("k8".into()),
            limit: Some(2),
            reverse: true,
            ..Query::default()
        };
        let (r, _) = find(&a, &q).expect("found");
        assert_eq!(keys(&r), ["k7", "k6"]);
        let last_page = Query {
            limit: Some(2),
            reverse: true,
            ..Query::default()
        };
        assert_eq!(keys(&find(&a, &last_page).expect("found").0), ["k10", "k9"]);
    }

    #[test]
    fn filters_by_with_and_time_apply_before_the_total() {
        let a = archive(10);
        let q = Query {
            with: Some("b@x".into()),
            start: Some(30.0),
            end: Some(80.0),
            ..Query::default()
        };
        let (r, total) = find(&a, &q).expect("found");
        assert_eq!(keys(&r), ["k4", "k6", "k8"]);
        assert_eq!(total, 3);
    }

    #[test]
    fn an_unknown_after_or_before_id_is_item_not_found() {
        let a = archive(3);
        let after = Query {
            after: Some("nope".into()),
            ..Query::default()
        };
        assert_eq!(find(&a, &after).err(), Some(FindError::ItemNotFound));
        let before = Query {
            before: Some("nope".into()),
            reverse: true,
            ..Query::default()
        };
        assert_eq!(find(&a, &before).err(), Some(FindError::ItemNotFound));
    }

    #[test]
    fn a_before_id_without_reverse_ends_the_page_there() {
        let a = archive(5);
        let q = Query {
            before: Some("k3".into()),
            ..Query::default()
        };
        assert_eq!(keys(&find(&a, &q).expect("found").0), ["k1", "k2"]);
    }

    #[test]
    fn ids_select_exactly_those_entries() {
        let a = archive(5);
        let q = Query {
            ids: Some(vec!["k2".into(), "k5".into()]),
            ..Query::default()
        };
        assert_eq!(keys(&find(&a, &q).expect("found").0), ["k2", "k5"]);
    }
}
