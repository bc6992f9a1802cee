//! A SQLite [`Store`] for scim-core: one file, durable writes (WAL,
//! `synchronous=FULL`), optimistic concurrency on versions, uniqueness in a table of its own,
//! and filters, sorting and paging pushed down to SQL where that is exact.
//!
//! ```
//! use scim_core::{block_on, Query, Store};
//! use scim_filter::{CompiledFilter, Filter};
//! use scim_store_sqlite::SqliteStore;
//!
//! let registry = scim_schema::Registry::standard();
//! let store = SqliteStore::open_in_memory(registry.clone())?;
//! let created = block_on(store.create(
//!     "default",
//!     "User",
//!     serde_json::json!({"userName": "bjensen", "name": {"givenName": "Barbara"}}),
//!     Vec::new(),
//! ))?;
//! assert_eq!(created.version, 1);
//!
//! let filter = Filter::parse(r#"name.givenName sw "BAR""#)?;
//! let users = registry.resource_type("User").ok_or("no User")?;
//! let compiled = CompiledFilter::compile(&filter, &users)?;
//! let result = block_on(store.query("default", "User", Query {
//!     filter: Some(&filter),
//!     compiled: Some(&compiled),
//!     sort: None,
//!     start_index: 1,
//!     count: 10,
//!     attributes: None,
//! }))?;
//! assert!(result.filtered); // answered by SQL
//! assert_eq!(result.resources.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is pushed down
//!
//! The filter is translated node by node with the evaluator's exact semantics (RFC 7644
//! §3.4.2.2 as `scim_filter::CompiledFilter` implements it): attribute names
//! case-insensitive, multi-valued attributes match on any value, `pr`/`eq null`, `ne` as
//! `not eq`, valuePaths on one element, case folding by `caseExact`. Not translated (the
//! engine filters in memory): comparisons whose literal may be a dateTime (the evaluator
//! compares instants), attributes with a custom type, integers beyond 2^53. An `and` with
//! such a part is pushed down without it (a superset; `filtered: false`).
//!
//! Sorting is pushed down for single-valued string, number and boolean attributes; paging
//! only when both the filter and the sort were.
//!
//! The store must be given the same [`Registry`] as the engine: the translation resolves
//! attributes (type, caseExact, extension) as the engine's compiled filter does.

mod translate;

use std::future::{ready, Future};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use scim_core::{Query, QueryResult, Store, StoreError, StoredResource, UniqueKey};
use scim_schema::Registry;
use serde_json::{Map, Value};

use translate::{order_by, Frag, Params, Translator};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS resources (
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    id            TEXT NOT NULL,
    version       INTEGER NOT NULL,
    resource      TEXT NOT NULL,
    search        TEXT NOT NULL,
    ambiguous     INTEGER NOT NULL DEFAULT 0,
    created       TEXT,
    last_modified TEXT,
    PRIMARY KEY (tenant, resource_type, id)
);
CREATE INDEX IF NOT EXISTS resources_ambiguous
    ON resources (tenant, resource_type) WHERE ambiguous = 1;
CREATE TABLE IF NOT EXISTS unique_keys (
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    attribute     TEXT NOT NULL,
    value         TEXT NOT NULL,
    id            TEXT NOT NULL,
    PRIMARY KEY (tenant, resource_type, attribute, value)
);
CREATE INDEX IF NOT EXISTS unique_keys_owner ON unique_keys (tenant, resource_type, id);
";

/// A [`Store`] in a SQLite database.
///
/// Columns: `resource` is the JSON as given; `search` is the same JSON with every object key
/// ASCII-lower-cased (SCIM attribute names are case-insensitive) and is what filters read;
/// `ambiguous` marks a resource with two keys differing only in case, which turns push-down
/// off for its type in its tenant (the evaluator's choice between them depends on the
/// filter's spelling).
pub struct SqliteStore {
    conn: Mutex<Connection>,
    registry: Registry,
    seed: (u64, u64),
    counter: AtomicU64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, in WAL mode with `synchronous=FULL`: a
    /// write is on disk when the call returns.
    pub fn open(path: impl AsRef<Path>, registry: Registry) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        Self::init(conn, registry)
    }

    /// A private database in memory (for tests).
    pub fn open_in_memory(registry: Registry) -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?, registry)
    }

    fn init(conn: Connection, registry: Registry) -> Result<Self, StoreError> {
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(unavailable)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        // SCIM's case-insensitive comparisons fold with Unicode lower-casing (SQLite's
        // `lower` folds ASCII only).
        conn.create_scalar_function(
            "scim_lower",
            1,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| {
                Ok(match ctx.get_raw(0) {
                    rusqlite::types::ValueRef::Text(t) => {
                        Some(String::from_utf8_lossy(t).to_lowercase())
                    }
                    _ => None,
                })
            },
        )
        .map_err(unavailable)?;
        let rows: i64 = conn
            .query_row("SELECT COALESCE(MAX(rowid), 0) FROM resources", [], |r| {
                r.get(0)
            })
            .map_err(unavailable)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            registry,
            seed: seed(),
            counter: AtomicU64::new(u64::try_from(rows).unwrap_or(0)),
        })
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::Unavailable("sqlite store lock poisoned".into()))?;
        f(&mut conn)
    }

    /// A UUID-shaped (version 4 layout) id from the per-open random seed and a counter.
    fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let hi = splitmix(self.seed.0 ^ n);
        let lo = splitmix(self.seed.1 ^ n.rotate_left(32));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (hi >> 32) as u32,
            (hi >> 16) as u16,
            (hi & 0xfff) as u16,
            ((lo >> 48) as u16 & 0x3fff) | 0x8000,
            lo & 0xffff_ffff_ffff
        )
    }

    fn query_sync(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
    ) -> Result<QueryResult, StoreError> {
        let mut params = Params::default();
        params.push(tenant.to_owned());
        params.push(rt.to_owned());
        let schema = self.registry.resource_type(rt);
        let wants_pushdown = query.filter.is_some() || query.sort.is_some();
        let ambiguous = wants_pushdown
            && conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM resources WHERE tenant = ?1 \
                     AND resource_type = ?2 AND ambiguous = 1)",
                    params![tenant, rt],
                    |r| r.get::<_, bool>(0),
                )
                .map_err(unavailable)?;
        let schema = schema.filter(|_| !ambiguous);

        let frag = match (query.filter, &schema) {
            (None, _) if query.compiled.is_none() => Frag::Exact(String::new()),
            (Some(filter), Some(schema)) => Translator::new(schema, &mut params).translate(filter),
            _ => Frag::All,
        };
        let (where_sql, filtered) = match &frag {
            Frag::Exact(s) if s.is_empty() => (String::new(), true),
            Frag::Exact(s) => (format!(" AND {s}"), true),
            Frag::Superset(s) => (format!(" AND {s}"), false),
            Frag::All => (String::new(), false),
        };
        // The COUNT below binds only the filter's parameters.
        let filter_params = params.values.len();
        let order = match (query.sort, &schema) {
            (Some(sort), Some(schema)) => {
                order_by(schema, sort.path, sort.descending, &mut params).map(|o| format!("{o}, "))
            }
            (None, _) => Some(String::new()),
            _ => None,
        };
        let sorted = order.is_some();
        let paged = filtered && sorted;
        let base =
            format!("FROM resources AS r WHERE r.tenant = ?1 AND r.resource_type = ?2{where_sql}");
        let total = if paged {
            let n: i64 = conn
                .query_row(
                    &format!("SELECT COUNT(*) {base}"),
                    params_from_iter(params.values[..filter_params].iter()),
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            Some(usize::try_from(n).unwrap_or(0))
        } else {
            None
        };
        let mut sql = format!(
            "SELECT r.id, r.version, r.resource {base} ORDER BY {}r.id",
            order.unwrap_or_default()
        );
        if paged {
            let limit = params.push(i64::try_from(query.count).unwrap_or(-1));
            let offset =
                params.push(i64::try_from(query.start_index.max(1) - 1).unwrap_or(i64::MAX));
            sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        }
        let mut stmt = conn.prepare(&sql).map_err(unavailable)?;
        let rows = stmt
            .query_map(params_from_iter(params.values.iter()), |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(unavailable)?;
        let mut resources = Vec::new();
        for row in rows {
            let (id, version, text) = row.map_err(unavailable)?;
            resources.push(StoredResource {
                id,
                version: u64::try_from(version).unwrap_or(0),
                resource: serde_json::from_str(&text).map_err(unavailable)?,
            });
        }
        Ok(QueryResult {
            total_results: total.unwrap_or(resources.len()),
            resources,
            filtered,
            sorted,
            paged,
        })
    }
}

/// 128 bits from the OS (`/dev/urandom`), or from the clock and the process id where there
/// is none: ids only need to differ between the stores that share a database.
fn seed() -> (u64, u64) {
    use std::io::Read;
    let mut b = [0u8; 16];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !from_os {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = (nanos ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    let (hi, lo) = b.split_at(8);
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        u64::from_le_bytes(w)
    };
    (word(hi), word(lo))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The search document: object keys ASCII-lower-cased, recursively; and whether two keys of
/// one object collided.
fn search_doc(v: &Value) -> (Value, bool) {
    let mut ambiguous = false;
    let doc = lower_keys(v, &mut ambiguous);
    (doc, ambiguous)
}

fn lower_keys(v: &Value, ambiguous: &mut bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if out
                    .insert(k.to_ascii_lowercase(), lower_keys(v, ambiguous))
                    .is_some()
                {
                    *ambiguous = true;
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| lower_keys(i, ambiguous)).collect())
        }
        other => other.clone(),
    }
}

fn meta_time(resource: &Value, key: &str) -> Option<String> {
    resource
        .get("meta")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// What a write stores besides the id and version.
struct Row {
    resource: String,
    search: String,
    ambiguous: bool,
    created: Option<String>,
    last_modified: Option<String>,
}

impl Row {
    fn of(resource: &Value) -> Result<Row, StoreError> {
        let (search, ambiguous) = search_doc(resource);
        Ok(Row {
            resource: serde_json::to_string(resource).map_err(unavailable)?,
            search: serde_json::to_string(&search).map_err(unavailable)?,
            ambiguous,
            created: meta_time(resource, "created"),
            last_modified: meta_time(resource, "lastModified"),
        })
    }
}

fn check_unique(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    rt: &str,
    id: &str,
    unique: &[UniqueKey],
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT id FROM unique_keys WHERE tenant = ?1 AND resource_type = ?2 \
             AND attribute = ?3 AND value = ?4",
        )
        .map_err(unavailable)?;
    for key in unique {
        let owner: Option<String> = stmt
            .query_row(params![tenant, rt, key.attribute, key.value], |r| r.get(0))
            .optional()
            .map_err(unavailable)?;
        if owner.is_some_and(|o| o != id) {
            return Err(StoreError::Conflict {
                attribute: key.attribute.clone(),
            });
        }
    }
    Ok(())
}

fn index_unique(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    rt: &str,
    id: &str,
    unique: &[UniqueKey],
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM unique_keys WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
        params![tenant, rt, id],
    )
    .map_err(unavailable)?;
    let mut stmt = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO unique_keys (tenant, resource_type, attribute, value, id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(unavailable)?;
    for key in unique {
        stmt.execute(params![tenant, rt, key.attribute, key.value, id])
            .map_err(unavailable)?;
    }
    Ok(())
}

fn current_version(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    rt: &str,
    id: &str,
) -> Result<Option<i64>, StoreError> {
    tx.query_row(
        "SELECT version FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
        params![tenant, rt, id],
        |r| r.get(0),
    )
    .optional()
    .map_err(unavailable)
}

/// A version as SQLite stores it; one it cannot hold matches no row.
fn version_param(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(-1)
}

impl Store for SqliteStore {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        ready(self.with(|conn| {
            let row: Option<(i64, String)> = conn
                .query_row(
                    "SELECT version, resource FROM resources \
                     WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                    params![tenant, rt, id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            row.map(|(version, text)| {
                Ok(StoredResource {
                    id: id.to_owned(),
                    version: u64::try_from(version).unwrap_or(0),
                    resource: serde_json::from_str(&text).map_err(unavailable)?,
                })
            })
            .transpose()
        }))
    }

    fn create(
        &self,
        tenant: &str,
        rt: &str,
        mut resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        ready(self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            // Another store on the same file may have taken an id: draw again.
            let id = loop {
                let id = self.next_id();
                if current_version(&tx, tenant, rt, &id)?.is_none() {
                    break id;
                }
            };
            check_unique(&tx, tenant, rt, &id, &unique)?;
            if let Value::Object(m) = &mut resource {
                m.insert("id".into(), Value::String(id.clone()));
            }
            let row = Row::of(&resource)?;
            tx.execute(
                "INSERT INTO resources (tenant, resource_type, id, version, resource, search, \
                 ambiguous, created, last_modified) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8)",
                params![
                    tenant,
                    rt,
                    id,
                    row.resource,
                    row.search,
                    row.ambiguous,
                    row.created,
                    row.last_modified
                ],
            )
            .map_err(unavailable)?;
            index_unique(&tx, tenant, rt, &id, &unique)?;
            tx.commit().map_err(unavailable)?;
            Ok(StoredResource {
                id,
                version: 1,
                resource,
            })
        }))
    }

    fn replace(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        ready(self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let expected = version_param(expected_version);
            match current_version(&tx, tenant, rt, id)? {
                None => return Err(StoreError::NotFound),
                Some(v) if v != expected => return Err(StoreError::VersionMismatch),
                Some(_) => {}
            }
            check_unique(&tx, tenant, rt, id, &unique)?;
            let row = Row::of(&resource)?;
            let changed = tx
                .execute(
                    "UPDATE resources SET version = version + 1, resource = ?5, search = ?6, \
                     ambiguous = ?7, created = ?8, last_modified = ?9 \
                     WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3 AND version = ?4",
                    params![
                        tenant,
                        rt,
                        id,
                        expected,
                        row.resource,
                        row.search,
                        row.ambiguous,
                        row.created,
                        row.last_modified
                    ],
                )
                .map_err(unavailable)?;
            if changed == 0 {
                return Err(StoreError::VersionMismatch);
            }
            index_unique(&tx, tenant, rt, id, &unique)?;
            tx.commit().map_err(unavailable)?;
            Ok(StoredResource {
                id: id.to_owned(),
                version: expected_version + 1,
                resource,
            })
        }))
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        ready(self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let changed = match expected_version {
                Some(v) => tx.execute(
                    "DELETE FROM resources WHERE tenant = ?1 AND resource_type = ?2 \
                     AND id = ?3 AND version = ?4",
                    params![tenant, rt, id, version_param(v)],
                ),
                None => tx.execute(
                    "DELETE FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                    params![tenant, rt, id],
                ),
            }
            .map_err(unavailable)?;
            if changed == 0 {
                return Err(match current_version(&tx, tenant, rt, id)? {
                    None => StoreError::NotFound,
                    Some(_) => StoreError::VersionMismatch,
                });
            }
            index_unique(&tx, tenant, rt, id, &[])?;
            tx.commit().map_err(unavailable)?;
            Ok(())
        }))
    }

    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        ready(self.with(|conn| self.query_sync(conn, tenant, rt, &query)))
    }
}
