//! The trigram index over the `attr_index` keys: substring filters (`co`, `ew`) on the
//! indexed attributes read it instead of every document.
//!
//! Two tables, written with the resource in the same transaction:
//!
//! - `attr_text (n, tenant, resource_type, attr, key, id)`: the `attr_index` rows of the
//!   [`INDEXED`] attributes again, each with a rowid `n` (the FTS5 table needs one; the
//!   `attr_index` table has none), indexed by owner for writes.
//! - `attr_trigram`: an FTS5 table with the `trigram` tokenizer, `case_sensitive 1` (the keys
//!   are already Unicode-lower-cased by Rust exactly as the evaluator folds; SQLite's own
//!   folding is not the same), contentless (`content=''`, `contentless_delete=1`: rows are
//!   deleted by rowid, the text is `attr_text.key`) and `detail=none` (rowids only: queries
//!   are conjunctions of single trigrams, never phrases). Its rowid is `attr_text.n`.
//!
//! A query looks up the literal's trigrams (some of them: any set of the literal's trigrams
//! finds a superset) and confirms every candidate on `attr_text.key` with the exact test, so
//! whatever the tokenizer does to a character (it reads U+FFFE as U+FFFD, say) can only widen
//! the candidates, never lose a match. A literal with no trigram the index can be asked for
//! (shorter than three characters, or each trigram holding a NUL, which FTS5 query strings
//! cannot carry) is tested against the keys of its attribute in `attr_index` instead: a scan
//! of one attribute's keys, still far cheaper than reading the documents.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection};
use scim_core::StoreError;

use crate::layout::INDEXED;
use crate::unavailable;

/// The tables (created when missing).
pub(crate) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS attr_text (
    n             INTEGER PRIMARY KEY,
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    attr          TEXT NOT NULL,
    key           TEXT NOT NULL,
    id            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attr_text_owner ON attr_text (tenant, resource_type, id);
CREATE VIRTUAL TABLE IF NOT EXISTS attr_trigram USING fts5(
    key,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = 'trigram case_sensitive 1'
);
";

/// At most this many trigrams are looked up for one literal (any subset finds a superset,
/// which the exact test narrows; a few spread over the literal are as selective as all).
const MAX_TRIGRAMS: usize = 8;

/// Whether `attr_index` rows with this label are also in the trigram index.
fn has_trigrams(label: &str) -> bool {
    INDEXED.iter().any(|(_, _, l)| *l == label)
}

/// Brings the trigram rows of `(tenant, rt, id)` to `keys` (the resource's `attr_index`
/// rows; labels not in [`INDEXED`] are left out): only the rows that changed are deleted or
/// inserted. `existing`: the resource may have rows already.
pub(crate) fn write(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    keys: &[(&'static str, String)],
    existing: bool,
) -> Result<(), StoreError> {
    let mut wanted: Vec<(&str, &str)> = Vec::with_capacity(keys.len());
    let mut seen = HashSet::with_capacity(keys.len());
    for (label, key) in keys {
        if has_trigrams(label) && seen.insert((*label, key.as_str())) {
            wanted.push((label, key.as_str()));
        }
    }
    if existing {
        let mut stored: HashMap<(String, String), i64> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT n, attr, key FROM attr_text \
                     WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![tenant, rt, id], |r| {
                    Ok(((r.get(1)?, r.get(2)?), r.get(0)?))
                })
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)?
        };
        // A row still wanted stays (and is not inserted again); the others go.
        wanted.retain(|(label, key)| {
            stored
                .remove(&((*label).to_owned(), (*key).to_owned()))
                .is_none()
        });
        let mut delete_text = tx
            .prepare_cached("DELETE FROM attr_text WHERE n = ?1")
            .map_err(unavailable)?;
        for n in stored.into_values() {
            delete_text.execute(params![n]).map_err(unavailable)?;
            grams(tx, Gram::Delete(n))?;
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let mut insert_text = tx
        .prepare_cached(
            "INSERT INTO attr_text (tenant, resource_type, attr, key, id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(unavailable)?;
    for (label, key) in wanted {
        insert_text
            .execute(params![tenant, rt, label, key, id])
            .map_err(unavailable)?;
        let n = tx.last_insert_rowid();
        grams(tx, Gram::Insert(n, key.to_owned()))?;
    }
    Ok(())
}

/// A change to the FTS5 table.
#[derive(Debug)]
enum Gram {
    Insert(i64, String),
    Delete(i64),
}

thread_local! {
    /// The FTS5 changes of the writer's open batch, when it defers them ([`defer`]).
    static DEFERRED: RefCell<Option<Vec<Gram>>> = const { RefCell::new(None) };
}

fn apply(tx: &Connection, gram: &Gram) -> Result<(), StoreError> {
    match gram {
        Gram::Insert(n, key) => tx
            .prepare_cached("INSERT INTO attr_trigram (rowid, key) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![n, key])),
        Gram::Delete(n) => tx
            .prepare_cached("DELETE FROM attr_trigram WHERE rowid = ?1")
            .and_then(|mut s| s.execute(params![n])),
    }
    .map(|_| ())
    .map_err(unavailable)
}

/// Applies `gram` now, or keeps it for the end of the batch when the batch defers.
fn grams(tx: &Connection, gram: Gram) -> Result<(), StoreError> {
    let gram = DEFERRED.with(|d| match d.borrow_mut().as_mut() {
        Some(pending) => {
            pending.push(gram);
            None
        }
        None => Some(gram),
    });
    match gram {
        Some(gram) => apply(tx, &gram),
        None => Ok(()),
    }
}

/// The writer's group commit, told to the trigram index: FTS5 writes what it holds in memory
/// to a new segment of its index at every savepoint, so with one savepoint per write a batch
/// would write (and later merge) one segment per write. Instead, the FTS5 changes of the
/// batch's writes are kept aside, those of a write rolled back to its savepoint dropped,
/// and the rest applied once, after the last savepoint, in the same transaction. Nothing in
/// a write reads the FTS5 table (queries do, and they run on other connections, or on
/// this one outside any batch that defers). Per writer thread.
pub(crate) mod deferral {
    use super::{apply, Connection, StoreError, DEFERRED};

    /// A batch starts: FTS5 changes wait.
    pub(crate) fn begin() {
        DEFERRED.with(|d| *d.borrow_mut() = Some(Vec::new()));
    }

    /// Where the next write's changes start.
    pub(crate) fn mark() -> usize {
        DEFERRED.with(|d| d.borrow().as_ref().map_or(0, Vec::len))
    }

    /// The write since `mark` was rolled back: its changes go.
    pub(crate) fn roll_back(mark: usize) {
        DEFERRED.with(|d| {
            if let Some(pending) = d.borrow_mut().as_mut() {
                pending.truncate(mark);
            }
        });
    }

    /// Applies the batch's changes, in order (before its commit), and stops deferring.
    pub(crate) fn finish(tx: &Connection) -> Result<(), StoreError> {
        let pending = DEFERRED.with(|d| d.borrow_mut().take()).unwrap_or_default();
        pending.iter().try_for_each(|g| apply(tx, g))
    }

    /// The batch failed: its changes go, and writes apply theirs at once again.
    pub(crate) fn abandon() {
        DEFERRED.with(|d| *d.borrow_mut() = None);
    }
}

/// Version 3 of the schema: the trigram rows of every resource, from its `attr_index` rows
/// (which hold the same keys).
pub(crate) fn backfill(tx: &Connection) -> Result<(), StoreError> {
    let labels: Vec<&str> = INDEXED.iter().map(|(_, _, l)| *l).collect();
    let labels = serde_json::Value::from(labels).to_string();
    tx.execute("DELETE FROM attr_text", [])
        .map_err(unavailable)?;
    tx.execute(
        "INSERT INTO attr_trigram (attr_trigram) VALUES ('delete-all')",
        [],
    )
    .map_err(unavailable)?;
    tx.execute(
        "INSERT INTO attr_text (tenant, resource_type, attr, key, id) \
         SELECT tenant, resource_type, attr, key, id FROM attr_index \
         WHERE attr IN (SELECT value FROM json_each(?1))",
        params![labels],
    )
    .map_err(unavailable)?;
    tx.execute(
        "INSERT INTO attr_trigram (rowid, key) SELECT n, key FROM attr_text",
        [],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// The FTS5 query that finds every key containing `lit` (and maybe others): a conjunction of
/// some of its trigrams, each a quoted string; `None` when it has none the index can answer
/// (fewer than three characters, or a NUL in each).
pub(crate) fn match_query(lit: &str) -> Option<String> {
    let chars: Vec<char> = lit.chars().collect();
    let mut grams: Vec<String> = Vec::new();
    for w in chars.windows(3) {
        if w.contains(&'\0') {
            continue;
        }
        let g: String = w.iter().collect();
        if !grams.contains(&g) {
            grams.push(g);
        }
    }
    if grams.is_empty() {
        return None;
    }
    if grams.len() > MAX_TRIGRAMS {
        // Spread over the literal, first and last included.
        let last = grams.len() - 1;
        grams = (0..MAX_TRIGRAMS)
            .map(|i| grams[i * last / (MAX_TRIGRAMS - 1)].clone())
            .collect();
    }
    let quoted: Vec<String> = grams
        .iter()
        .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
        .collect();
    Some(quoted.join(" AND "))
}

/// The trigram rows (label, key) of `(tenant, rt, id)`, for tests.
#[cfg(test)]
pub(crate) fn rows_of(
    conn: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT attr, key FROM attr_text WHERE tenant = ?1 AND resource_type = ?2 \
             AND id = ?3 ORDER BY attr, key",
        )
        .map_err(unavailable)?;
    let rows = stmt
        .query_map(params![tenant, rt, id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(unavailable)?;
    rows.collect::<Result<_, _>>().map_err(unavailable)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().expect("open");
        c.execute_batch(TABLES).expect("tables");
        c
    }

    fn found(c: &Connection, lit: &str) -> Vec<String> {
        let q = match_query(lit).expect("trigrams");
        let mut stmt = c
            .prepare(
                "SELECT t.key FROM attr_text AS t WHERE t.n IN \
                 (SELECT rowid FROM attr_trigram WHERE attr_trigram MATCH ?1) ORDER BY t.key",
            )
            .expect("prepare");
        let rows = stmt
            .query_map(params![q], |r| r.get::<_, String>(0))
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    #[test]
    fn match_queries_quote_and_skip_what_fts5_cannot_read() {
        assert_eq!(match_query("ab"), None);
        assert_eq!(match_query("a\0b"), None);
        assert_eq!(match_query("abc").as_deref(), Some("\"abc\""));
        assert_eq!(
            match_query("a\"bc").as_deref(),
            Some("\"a\"\"b\" AND \"\"\"bc\"")
        );
        assert_eq!(match_query("ab\0cde").as_deref(), Some("\"cde\""));
        assert_eq!(match_query("aaaa").as_deref(), Some("\"aaa\""));
        let long = "abcdefghijklmnopqrstuvwxyz";
        let q = match_query(long).expect("trigrams");
        assert_eq!(q.matches(" AND ").count(), MAX_TRIGRAMS - 1);
        assert!(q.starts_with("\"abc\"") && q.ends_with("\"xyz\""));
    }

    /// The tokenizer reads the keys as they are (no folding, special characters, NUL and
    /// 4-byte characters included), and rows deleted are gone.
    #[test]
    fn keys_are_found_by_their_trigrams_and_leave_when_rewritten() {
        let c = conn();
        let keys: Vec<(&'static str, String)> = [
            "x%_*?[\"'y",
            "a\0bcd",
            "straße",
            "ας σ",
            "😀abc\u{10ffff}",
            "ABC",
            "ab",
        ]
        .iter()
        .map(|k| ("displayname", (*k).to_owned()))
        .collect();
        write(&c, "t", "User", "u1", &keys, false).expect("write");
        assert_eq!(found(&c, "%_*?["), vec!["x%_*?[\"'y"]);
        assert_eq!(found(&c, "[\"'"), vec!["x%_*?[\"'y"]);
        assert_eq!(found(&c, "bcd"), vec!["a\0bcd"]);
        assert_eq!(found(&c, "raß"), vec!["straße"]);
        assert_eq!(found(&c, "ς σ"), vec!["ας σ"]);
        assert_eq!(found(&c, "bc\u{10ffff}"), vec!["😀abc\u{10ffff}"]);
        // Case-sensitive: the keys are folded before they get here, and so are literals. The
        // tokenizer skips NUL: "a\0bcd" is a candidate for "abc", which the exact test on
        // the key then drops (a trigram without NUL is never lost, only candidates added).
        assert_eq!(found(&c, "abc"), vec!["a\0bcd", "😀abc\u{10ffff}"]);
        assert_eq!(found(&c, "ABC"), vec!["ABC"]);

        // Rewritten with one key kept and one new: the others are gone from both tables.
        let kept = vec![
            ("displayname", "straße".to_owned()),
            ("emails.value", "new@x".to_owned()),
            ("id", "not indexed here".to_owned()),
        ];
        write(&c, "t", "User", "u1", &kept, true).expect("rewrite");
        assert!(found(&c, "%_*").is_empty());
        assert!(found(&c, "bcd").is_empty());
        assert_eq!(found(&c, "raß"), vec!["straße"]);
        assert_eq!(found(&c, "ew@"), vec!["new@x"]);
        assert_eq!(
            rows_of(&c, "t", "User", "u1").expect("rows"),
            vec![
                ("displayname".into(), "straße".into()),
                ("emails.value".into(), "new@x".into())
            ]
        );
        write(&c, "t", "User", "u1", &[], true).expect("delete");
        assert!(found(&c, "raß").is_empty());
        let grams: i64 = c
            .query_row("SELECT COUNT(*) FROM attr_trigram", [], |r| r.get(0))
            .expect("count");
        assert_eq!(grams, 0);
    }
}
